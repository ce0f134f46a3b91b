/*
 * cachet-policyd: the Postfix SMTP access policy delegation server (rate
 * limits).  One process, one libevent loop; Postfix keeps its connections
 * open and sends request after request on each (closing after a reply
 * would cost Postfix a one-second retry), so a connection lives until the
 * peer closes it, stays idle longer than POLICYD_IDLE_SECONDS, or sends
 * something we cannot parse (then it is closed with a log line: a reply to
 * a request we did not understand could be misread).  A request whose
 * decision waits for Redis holds up only its own connection (the next
 * requests on it wait, so replies keep their order), never the loop.
 *
 *	cachet-policyd [-c FILE] [-f] [-n] [-V] | -h | --help
 *	cachet-policyd [-c FILE] list | reset KEY | block USER | unblock USER
 *
 * The admin commands from the command line are admin_client.c's; this
 * file serves the daemon's side of them, the AdminSocket (admin.h).
 *
 * Signals: HUP reloads the configuration (rules change, counters stay);
 * TERM and INT save the memory store's snapshot (StateFile) and exit.
 * Exit status: 0 success, 1 configuration or start-up error or a final
 * snapshot that failed (admin commands: the command failed), 2 usage.
 *
 * Start-up order: the configuration (paths made absolute, the Redis
 * password read), the store (StateFile and journals loaded), daemon(),
 * the sockets, the PidFile, the journal's first file, then UserID; as
 * that user, the StateFile's directory is checked and a first snapshot
 * written.  At the descriptor limit, accept() pauses (accept_error).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "admin_client.h"
#include "journal.h"
#include "notify.h"

#include "buf.h"
#include "log.h"
#include "pconf.h"
#include "proto.h"
#include "ratelimit.h"
#include "store.h"
#include "store_impl.h"
#include "xalloc.h"

#define DEFAULT_CONFIG "/etc/cachet/cachet-policyd.conf"
#define VERSION "0.1.0"
#define POLICYD_IDLE_SECONDS 1800
#define POLICYD_MAX_REPLY 1024
/*
 * accept() out of descriptors (EMFILE, ENFILE) or memory: the listener
 * pauses this long (the connection stays in the kernel's backlog and is
 * taken when a descriptor is free), and one line is logged per
 * POLICYD_ACCEPT_LOG_SECONDS with the count since the last one.
 */
#define POLICYD_ACCEPT_PAUSE_MS 200
#define POLICYD_ACCEPT_LOG_SECONDS 10

struct server {
	struct event_base *base;
	const char *config_path;
	struct pconf *conf;
	struct store *store;
	struct ratelimit rl;
	struct evconnlistener *listener;
	struct evconnlistener *admin;	/* AdminSocket, or NULL */
	struct notify *notify;
	struct event *timer;
	struct event *accept_resume;	/* re-enables the listeners after a pause */
	struct journal *journal;	/* of the memory store, or NULL */
	struct event *journal_timer;	/* hands the journal's lines to its writer */
	uint64_t gen;			/* the StateFile's generation (journal.h) */
	time_t accept_logged;		/* the last line about accept() failing */
	unsigned long accept_failed;	/* failures since that line */
	struct conn *conns;		/* open connections (freed at exit) */
	const struct timeval *idle;	/* the connections' common idle timeout */
	size_t n_conns;
	unsigned long refused;
};

/*
 * A Postfix connection.  Its socket is read and written directly (one
 * read() per readable event, one write() per reply; libevent only tells
 * when the socket is ready): a request costs two system calls, not the
 * five of a bufferevent (ioctl, readv, writev, and adding and removing
 * the write event).  The idle timeout is libevent's common timeout (a
 * queue, not a heap, as all connections share it), renewed by each read.
 */
struct conn {
	struct conn *prev, *next;
	struct server *srv;
	int fd;
	struct event *rev;		/* readable, persistent, with the idle timeout */
	struct event *wev;		/* writable: only while a reply is partly sent */
	struct proto_req req;
	struct rl_conn rl;
	struct buf out;			/* the reply being decided */
	char *in;			/* what was read, not yet taken: in[in_off, in_len) */
	size_t in_off, in_len;
	char *pend;			/* a reply the socket did not take at once */
	size_t pend_off, pend_len;
	bool waiting;			/* for the store: the next request waits */
	bool reading;			/* rev is added */
	char peer[INET6_ADDRSTRLEN + 8];
};

/* a line, its LF and one more byte: a longer line is refused before it ends */
#define CONN_IN_SIZE (PROTO_MAX_LINE + 2)

static int save_state(struct server *srv);

static void conn_close(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->srv->n_conns--;
	ratelimit_cancel(&c->rl);
	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	proto_req_reset(&c->req);
	buf_free(&c->out);
	free(c->in);
	free(c->pend);
	free(c);
}

static void conn_fail(struct conn *c, const char *why)
{
	log_msg(LOG_WARNING, NULL, "policy client %s: %s; closing the connection", c->peer, why);
	conn_close(c);
}

static void conn_read_on(struct conn *c, bool on)
{
	if (on == c->reading)
		return;
	if (on)
		event_add(c->rev, c->srv->idle);
	else
		event_del(c->rev);
	c->reading = on;
}

/* Sends what the socket takes; false if c was closed. */
static bool conn_flush(struct conn *c)
{
	while (c->pend_off < c->pend_len) {
		ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(c->wev, NULL);
			return true;
		}
		if (n <= 0) {
			log_msg(LOG_DEBUG, NULL, "policy client %s: %s", c->peer, strerror(errno));
			conn_close(c);
			return false;
		}
		c->pend_off += (size_t)n;
	}
	c->pend_off = c->pend_len = 0;
	return true;
}

/* The reply goes out (at once, in the common case); false if c was closed. */
static bool conn_reply(struct conn *c)
{
	if (c->out.overflow) {
		buf_reset(&c->out);
		buf_puts(&c->out, "action=DUNNO\n\n");
	}
	proto_req_reset(&c->req);
	size_t off = 0;
	if (c->pend_len == 0) {
		ssize_t n = send(c->fd, c->out.p, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_msg(LOG_DEBUG, NULL, "policy client %s: %s", c->peer, strerror(errno));
			conn_close(c);
			return false;
		}
		off = n > 0 ? (size_t)n : 0;
	}
	if (off < c->out.len) {
		size_t rest = c->out.len - off;
		c->pend = xrealloc(c->pend, c->pend_len + rest);
		memcpy(c->pend + c->pend_len, c->out.p + off, rest);
		c->pend_len += rest;
		if (!event_pending(c->wev, EV_WRITE, NULL))
			event_add(c->wev, NULL);
	}
	buf_reset(&c->out);
	return true;
}

static bool conn_serve(struct conn *c);

/* The store answered: reply, then go on with what the client sent meanwhile. */
static void on_decided(void *arg)
{
	struct conn *c = arg;
	c->waiting = false;
	if (!conn_reply(c))
		return;
	conn_read_on(c, true);
	conn_serve(c);
}

/*
 * Answers every complete request in the input, in order; false if c was
 * closed.  While a request waits for the store, the next ones stay in the
 * input (and reading pauses), so replies go out in request order: Postfix
 * may send the next request before the reply to the last one.
 */
static bool conn_serve(struct conn *c)
{
	while (!c->waiting) {
		char *line = c->in + c->in_off;
		size_t have = c->in_len - c->in_off;
		char *nl = memchr(line, '\n', have);
		if (nl == NULL) {
			if (have > PROTO_MAX_LINE + 1) {
				conn_fail(c, "line too long");
				return false;
			}
			/* keep the partial line at the start of the buffer */
			if (c->in_off > 0) {
				memmove(c->in, line, have);
				c->in_off = 0;
				c->in_len = have;
			}
			return true;
		}
		size_t len = (size_t)(nl - line);
		c->in_off += len + 1;
		if (len > PROTO_MAX_LINE + 1) {
			conn_fail(c, "line too long");
			return false;
		}
		const char *error = NULL;
		enum proto_result res = proto_line(&c->req, line, len, &error);
		if (res == PROTO_ERROR) {
			conn_fail(c, error);
			return false;
		}
		if (res == PROTO_DONE) {
			if (ratelimit_decide(&c->srv->rl, &c->rl, &c->req, &c->out, on_decided, c) ==
			    RL_PENDING) {
				/* reading goes on, into the buffer, until it is full */
				c->waiting = true;
				return true;
			}
			if (!conn_reply(c))
				return false;
		}
	}
	return true;
}

static void on_readable(evutil_socket_t fd UNUSED, short what, void *arg)
{
	struct conn *c = arg;
	if (what & EV_TIMEOUT) {
		log_msg(LOG_DEBUG, NULL, "policy client %s: idle, closing", c->peer);
		conn_close(c);
		return;
	}
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
	} else if (c->waiting && c->in_off > 0) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	if (c->in_len == CONN_IN_SIZE) {
		/* waiting, and the client sent a whole line more: it waits too */
		conn_read_on(c, false);
		return;
	}
	ssize_t n = read(c->fd, c->in + c->in_len, CONN_IN_SIZE - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			log_msg(LOG_DEBUG, NULL, "policy client %s: %s", c->peer, strerror(errno));
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	if (!c->waiting)
		conn_serve(c);
}

static void on_writable(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	conn_flush(arg);
}

static void on_accept(struct evconnlistener *l UNUSED, evutil_socket_t fd, struct sockaddr *sa,
		      int salen UNUSED, void *arg)
{
	struct server *srv = arg;
	if (srv->n_conns >= srv->conf->max_connections) {
		if (srv->refused++ % 1000 == 0)
			log_msg(LOG_WARNING, NULL, "MaxConnections (%u) reached; refusing connections",
				srv->conf->max_connections);
		evutil_closesocket(fd);
		return;
	}
	struct conn *c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	proto_req_init(&c->req);
	buf_init(&c->out, POLICYD_MAX_REPLY);
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, c->peer,
			  sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, c->peer,
			  sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "unix");
	c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, c);
	c->wev = event_new(srv->base, fd, EV_WRITE, on_writable, c);
	if (c->rev == NULL || c->wev == NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		evutil_closesocket(fd);
		buf_free(&c->out);
		free(c);
		return;
	}
	c->in = xmalloc(CONN_IN_SIZE);
	srv->n_conns++;
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	conn_read_on(c, true);
}

/* -- accept() failures: pause, log once per interval -- */

static void accept_resume(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	evconnlistener_enable(srv->listener);
	if (srv->admin != NULL)
		evconnlistener_enable(srv->admin);
}

/*
 * libevent calls this when accept() fails with anything but EAGAIN or
 * EINTR.  Without it, it logs a warning and calls accept() again at once:
 * at the descriptor limit that is a busy loop.  We stop listening for
 * POLICYD_ACCEPT_PAUSE_MS instead (both listeners: they share the limit).
 */
static void accept_error(struct evconnlistener *l UNUSED, void *arg)
{
	struct server *srv = arg;
	int e = EVUTIL_SOCKET_ERROR();
	time_t now = time(NULL);
	srv->accept_failed++;
	if (now - srv->accept_logged >= POLICYD_ACCEPT_LOG_SECONDS) {
		log_msg(LOG_WARNING, NULL, "accept: %s; pausing for %d ms each time (%lu times "
			"since the last such line, at most one every %d s)", strerror(e),
			POLICYD_ACCEPT_PAUSE_MS, srv->accept_failed, POLICYD_ACCEPT_LOG_SECONDS);
		srv->accept_logged = now;
		srv->accept_failed = 0;
	}
	evconnlistener_disable(srv->listener);
	if (srv->admin != NULL)
		evconnlistener_disable(srv->admin);
	struct timeval tv = { 0, POLICYD_ACCEPT_PAUSE_MS * 1000 };
	event_add(srv->accept_resume, &tv);
}

/* libevent's own warnings go through our log, not raw to stderr. */
static void libevent_log(int severity, const char *msg)
{
	int prio = severity >= EVENT_LOG_ERR ? LOG_ERR
		   : severity == EVENT_LOG_WARN ? LOG_WARNING
		   : severity == EVENT_LOG_MSG ? LOG_INFO : LOG_DEBUG;
	log_msg(prio, NULL, "libevent: %s", msg);
}

/* -- AdminSocket: one command line, "RC\n" + output, close -- */

static void admin_done(struct bufferevent *bev, void *arg UNUSED)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void admin_event(struct bufferevent *bev, short what UNUSED, void *arg UNUSED)
{
	bufferevent_free(bev);
}

static void admin_read(struct bufferevent *bev, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const char *p = (const char *)evbuffer_pullup(in, -1);
	char line[ADMIN_MAX_LINE + 1];
	int rc = ADMIN_OK;
	struct buf out;
	buf_init(&out, 0);
	size_t took = admin_socket_input(srv->store, srv->conf, p != NULL ? p : "", len, &out, &rc,
					 line);
	if (took == 0) {
		buf_free(&out);
		return;
	}
	evbuffer_drain(in, took);
	if (line[0] != '\0' || rc != ADMIN_USAGE)
		log_msg(rc == ADMIN_OK ? LOG_INFO : LOG_WARNING, NULL, "admin: %.100s: %s", line,
			rc == ADMIN_OK ? "done" : "failed");
	/* blocks and resets should be in the snapshot at once, not wait for the timer */
	if (rc == ADMIN_OK && strcmp(line, "list") != 0)
		save_state(srv);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, admin_done, admin_event, srv);
	bufferevent_write(bev, out.p, out.len);
	buf_free(&out);
}

static void admin_accept(struct evconnlistener *l UNUSED, evutil_socket_t fd,
			 struct sockaddr *sa UNUSED, int salen UNUSED, void *arg)
{
	struct server *srv = arg;
	struct bufferevent *bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	struct timeval tv = { 10, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, admin_read, NULL, admin_event, srv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Mode 0600 from the start (umask), not after a chmod race. */
static int admin_listen(struct server *srv)
{
	const char *path = srv->conf->admin_socket;
	struct sockaddr_un sun;
	if (path == NULL)
		return 0;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg(LOG_ERR, NULL, "AdminSocket %s: path too long", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	mode_t old = umask(0177);
	srv->admin = evconnlistener_new_bind(srv->base, admin_accept, srv,
					     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					     (struct sockaddr *)&sun, (int)sizeof(sun));
	umask(old);
	if (srv->admin == NULL) {
		log_msg(LOG_ERR, NULL, "AdminSocket %s: cannot listen: %s", path, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->admin, accept_error);
	return 0;
}

static void on_trip(void *arg, const struct limit_rule *rule, const char *key,
		    const struct proto_req *r)
{
	struct server *srv = arg;
	notify_trip(srv->notify, srv->conf, rule, key, r);
}

static const char *unix_path(const char *spec)
{
	if (strncasecmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncasecmp(spec, "local:", 6) == 0)
		return spec + 6;
	return spec[0] == '/' ? spec : NULL;
}

/* inet:PORT[@ADDR], inet6:PORT[@ADDR] (addresses only, no host names here) */
static int inet_addr_of(const char *spec, struct sockaddr_storage *ss, socklen_t *len_r)
{
	bool v6 = strncasecmp(spec, "inet6:", 6) == 0;
	const char *p = spec + (v6 ? 6 : 5);
	const char *at = strchr(p, '@');
	int port = atoi(p);
	char addr[INET6_ADDRSTRLEN + 2] = "";
	if (at != NULL) {
		snprintf(addr, sizeof(addr), "%s", at + 1);
		size_t n = strlen(addr);
		if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
			memmove(addr, addr + 1, n - 2);
			addr[n - 2] = '\0';
		}
	}
	memset(ss, 0, sizeof(*ss));
	if (!v6) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (addr[0] != '\0' && inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -1;
		*len_r = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (addr[0] != '\0' && inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return -1;
		*len_r = sizeof(*sin6);
	}
	return 0;
}

static int listen_on(struct server *srv)
{
	const char *spec = srv->conf->socket;
	const char *path = unix_path(spec);
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
	if (path != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		memset(&ss, 0, sizeof(ss));
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
		len = sizeof(*sun);
		unlink(path);
	} else if (inet_addr_of(spec, &ss, &len) < 0) {
		log_msg(LOG_ERR, NULL, "Socket %s: expected an IP address after @", spec);
		return -1;
	}
	srv->listener = evconnlistener_new_bind(srv->base, on_accept, srv, flags, 128,
						(struct sockaddr *)&ss, (int)len);
	if (srv->listener == NULL) {
		log_msg(LOG_ERR, NULL, "Socket %s: cannot listen: %s", spec, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(srv->listener, accept_error);
	if (path != NULL && chmod(path, srv->conf->socket_mode) < 0) {
		log_msg(LOG_ERR, NULL, "Socket %s: chmod: %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

/* -- paths and privileges -- */

/* The working directory at start: daemon() moves to "/", a reload must not. */
static char *start_dir;

/* A relative path from the file is taken from the start directory. */
static void absolute_path(char **p)
{
	if (*p == NULL || (*p)[0] == '/' || start_dir == NULL)
		return;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s/%s", start_dir, *p);
	free(*p);
	*p = buf_steal(&b);
}

/*
 * pconf_load, with the paths made absolute and the Redis password read.
 * On a reload (old given), a password file that the daemon, no longer
 * root, cannot read again keeps the password read at start.
 */
static struct pconf *load_conf(const char *path, const struct pconf *old, char **error_r)
{
	struct pconf *c = pconf_load(path, error_r);
	if (c == NULL)
		return NULL;
	absolute_path(&c->state_file);
	absolute_path(&c->pid_file);
	absolute_path(&c->redis_password_file);
	if (pconf_read_secret(c, error_r) == 0)
		return c;
	if (old != NULL && old->redis_password != NULL && errno == EACCES &&
	    strcmp(old->redis_password_file, c->redis_password_file) == 0) {
		log_msg(LOG_NOTICE, NULL, "reload: %s; keeping the Redis password read at start",
			*error_r);
		free(*error_r);
		*error_r = NULL;
		c->redis_password = xstrdup(old->redis_password);
		return c;
	}
	pconf_free(&c);
	return NULL;
}

/* UserID "user[:group]": its uid and gid (the user's own, or the group's). */
static int lookup_user(const char *spec, uid_t *uid_r, gid_t *gid_r, char **name_r)
{
	char *user = xstrdup(spec), *group = strchr(user, ':');
	if (group != NULL)
		*group++ = '\0';
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		log_msg(LOG_ERR, NULL, "UserID %s: no such user", user);
		free(user);
		return -1;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	if (group != NULL) {
		struct group *gr = getgrnam(group);
		if (gr == NULL) {
			log_msg(LOG_ERR, NULL, "UserID %s: no such group %s", spec, group);
			free(user);
			return -1;
		}
		*gid_r = gr->gr_gid;
	}
	*name_r = user;
	return 0;
}

/* Root only with UserID (dropped after start-up) or AllowRoot yes. */
static int check_root(const struct pconf *c)
{
	if (geteuid() != 0 || c->user_id != NULL || c->allow_root)
		return 0;
	log_msg(LOG_ERR, NULL, "%s: refusing to run as root: set UserID (the daemon switches to "
		"that user after start-up) or, to keep root, AllowRoot yes", c->path);
	return -1;
}

/*
 * Becomes UserID (from root; otherwise only checks it exists).  The
 * sockets given are chowned to it first: Socket (a unix one), so that
 * SocketMode means what it says, and AdminSocket.
 */
static int switch_user(const struct pconf *c, const char *const *sockets, size_t n)
{
	uid_t uid;
	gid_t gid;
	char *name;
	if (c->user_id == NULL)
		return 0;
	if (lookup_user(c->user_id, &uid, &gid, &name) < 0)
		return -1;
	int rc = 0;
	if (geteuid() != 0) {
		if (geteuid() != uid)
			log_msg(LOG_WARNING, NULL, "UserID %s: not started as root; running as uid %ld",
				c->user_id, (long)geteuid());
		free(name);
		return 0;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (sockets[i] != NULL && chown(sockets[i], uid, gid) < 0) {
			log_msg(LOG_ERR, NULL, "%s: chown: %s", sockets[i], strerror(errno));
			rc = -1;
		}
	}
	if (rc == 0 && (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) {
		log_msg(LOG_ERR, NULL, "UserID %s: cannot switch: %s", c->user_id, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && uid != 0 && setuid(0) == 0) {
		log_msg(LOG_ERR, NULL, "UserID %s: could become root again", c->user_id);
		rc = -1;
	}
	free(name);
	return rc;
}

/*
 * The StateFile's directory takes the snapshots (a temporary file renamed
 * over the StateFile) and the journal: it must be writable by the user
 * the daemon runs as.
 */
static int check_state_dir(const struct pconf *c)
{
	if (c->state_file == NULL || strcmp(c->store, "memory") != 0)
		return 0;
	char *copy = xstrdup(c->state_file);
	char *slash = strrchr(copy, '/');
	const char *dir = slash == copy ? "/" : copy;
	if (slash != NULL && slash != copy)
		*slash = '\0';
	int rc = access(dir, W_OK | X_OK);
	if (rc < 0)
		log_msg(LOG_ERR, NULL, "StateFile %s: its directory %s is not writable by uid %ld: %s",
			c->state_file, dir, (long)geteuid(), strerror(errno));
	free(copy);
	return rc;
}

/* -n: what the daemon checks once it runs as UserID, checked as that user. */
static int check_as_user(const struct pconf *c)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, NULL, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(switch_user(c, NULL, 0) == 0 && check_state_dir(c) == 0 ? 0 : 1);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The store; a memory store gets the StateFile and its journals (*gen_r). */
static struct store *open_store(const struct pconf *c, struct event_base *base, uint64_t *gen_r)
{
	char *error = NULL;
	struct store *s = store_open(c->store, c->store_timeout_ms, c->max_entries, base, &error);
	if (s == NULL) {
		log_msg(LOG_ERR, NULL, "%s: %s", c->path, error);
		free(error);
		return NULL;
	}
	*gen_r = 1;
	store_redis_set_auth(s, c->redis_user, c->redis_password);
	if (store_is_memory(s) && c->state_file != NULL)
		statefile_load(s, c->state_file, gen_r);
	return s;
}

/*
 * A snapshot of the memory store: the journal moves to the next
 * generation first, so the snapshot holds every line of the journals
 * before it (journal.h).  0, or -1 (logged).
 */
static int save_state(struct server *srv)
{
	if (!store_is_memory(srv->store) || srv->conf->state_file == NULL)
		return 0;
	if (srv->journal != NULL)
		srv->gen = journal_rotate(srv->journal);
	return statefile_save(srv->store, srv->conf->state_file, srv->gen, srv->journal);
}

static void on_journal_timer(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	if (srv->journal != NULL)
		journal_tick(srv->journal);
}

/*
 * Before the privileges go: the journal's first file.  After: the first
 * snapshot, which holds what was loaded (and proves the directory
 * writable), then the store writes every change to the journal.
 */
static int journal_start(struct server *srv)
{
	const struct pconf *c = srv->conf;
	if (!store_is_memory(srv->store) || c->state_file == NULL || !c->journal)
		return 0;
	srv->journal = journal_open(c->state_file, srv->gen);
	return srv->journal != NULL ? 0 : -1;
}

static int state_start(struct server *srv)
{
	const struct pconf *c = srv->conf;
	if (!store_is_memory(srv->store) || c->state_file == NULL)
		return 0;
	/* the journal is still empty: this snapshot, of its generation, holds the rest */
	if (statefile_save(srv->store, c->state_file, srv->gen, srv->journal) < 0)
		return -1;
	if (srv->journal != NULL) {
		store_memory_set_journal(srv->store, srv->journal);
		srv->journal_timer = event_new(srv->base, -1, EV_PERSIST, on_journal_timer, srv);
		struct timeval tv = { JOURNAL_COMMIT_MS / 1000, (JOURNAL_COMMIT_MS % 1000) * 1000 };
		event_add(srv->journal_timer, &tv);
	}
	return 0;
}

/* The journal stops (after a final snapshot, or with the store). */
static void journal_stop(struct server *srv)
{
	if (srv->journal == NULL)
		return;
	store_memory_set_journal(srv->store, NULL);
	journal_close(&srv->journal);
	if (srv->journal_timer != NULL)
		event_free(srv->journal_timer);
	srv->journal_timer = NULL;
}

static void arm_timer(struct server *srv)
{
	event_del(srv->timer);
	unsigned ms = srv->conf->snapshot_interval_ms;
	if (ms == 0 || !store_is_memory(srv->store) || srv->conf->state_file == NULL)
		return;
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	event_add(srv->timer, &tv);
}

static void on_timer(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	save_state(srv);
	arm_timer(srv);
}

/* SIGHUP: new rules, same counters (unless the store itself changed). */
static void on_hup(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	char *error = NULL;
	struct pconf *c = load_conf(srv->config_path, srv->conf, &error);
	if (c == NULL) {
		log_msg(LOG_ERR, NULL, "reload: %s; keeping the old configuration", error);
		free(error);
		return;
	}
	if ((c->user_id == NULL) != (srv->conf->user_id == NULL) ||
	    (c->user_id != NULL && strcmp(c->user_id, srv->conf->user_id) != 0) ||
	    c->allow_root != srv->conf->allow_root)
		log_msg(LOG_WARNING, NULL, "reload: UserID and AllowRoot changes need a restart");
	if (strcmp(c->store, srv->conf->store) != 0 ||
	    c->store_timeout_ms != srv->conf->store_timeout_ms) {
		uint64_t gen;
		struct store *s = open_store(c, srv->base, &gen), *old = srv->store;
		if (s == NULL) {
			pconf_free(&c);
			return;
		}
		save_state(srv);
		journal_stop(srv);
		srv->gen = gen;
		if (store_is_memory(s) && c->state_file != NULL && c->journal)
			log_msg(LOG_WARNING, NULL, "reload: the new memory store has no journal "
				"until a restart (snapshots only)");
		/* swapped first: requests the old store answers now go on with the new */
		srv->store = s;
		srv->rl.store = s;
		store_close(&old);
	} else {
		/* the same Redis: new credentials from the next connection on */
		store_redis_set_auth(srv->store, c->redis_user, c->redis_password);
	}
	if (strcmp(c->socket, srv->conf->socket) != 0)
		log_msg(LOG_WARNING, NULL, "reload: Socket changes need a restart");
	/* the journal's files are named after the StateFile: both stay */
	if ((c->state_file == NULL) != (srv->conf->state_file == NULL) ||
	    (c->state_file != NULL && strcmp(c->state_file, srv->conf->state_file) != 0) ||
	    c->journal != srv->conf->journal) {
		log_msg(LOG_WARNING, NULL, "reload: StateFile and Journal changes need a restart");
		free(c->state_file);
		c->state_file = srv->conf->state_file != NULL ? xstrdup(srv->conf->state_file) : NULL;
		c->journal = srv->conf->journal;
	}
	if ((c->admin_socket == NULL) != (srv->conf->admin_socket == NULL) ||
	    (c->admin_socket != NULL && strcmp(c->admin_socket, srv->conf->admin_socket) != 0)) {
		log_msg(LOG_WARNING, NULL, "reload: AdminSocket changes need a restart");
		free(c->admin_socket);
		c->admin_socket = srv->conf->admin_socket != NULL
					  ? xstrdup(srv->conf->admin_socket) : NULL;
	}
	pconf_free(&srv->conf);
	srv->conf = c;
	srv->rl.conf = c;
	log_set_level(c->log_debug ? LOG_DEBUG : LOG_INFO);
	arm_timer(srv);
	log_msg(LOG_INFO, NULL, "reloaded %s: %zu limit rules", c->path,
		c->limits != NULL ? c->limits->n : 0);
}

static void on_term(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	event_base_loopbreak(srv->base);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet-policyd [-c FILE] [-f] [-n] [-V]\n"
		   "  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		   "  -f       stay in the foreground and log to stderr\n"
		   "  -n       check the configuration, then exit\n"
		   "  -V       print the version and exit (also --version)\n"
		   "  -h       print this help and exit (also --help)\n"
		   "       cachet-policyd [-c FILE] list | reset KEY | block USER | unblock USER\n"
		   "  admin commands; exit 0 done, 1 failed, 2 usage\n");
}

static int write_pid(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		log_msg(LOG_ERR, NULL, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int serve(struct server *srv, bool foreground)
{
	if (!foreground && (daemon(0, 0) < 0 || event_reinit(srv->base) < 0)) {
		log_msg(LOG_ERR, NULL, "daemon: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (listen_on(srv) < 0 || admin_listen(srv) < 0)
		return 1;
	if (srv->conf->pid_file != NULL && write_pid(srv->conf->pid_file) < 0)
		return 1;
	const char *socks[] = { unix_path(srv->conf->socket), srv->conf->admin_socket };
	if (journal_start(srv) < 0 || switch_user(srv->conf, socks, ARRAY_LEN(socks)) < 0 ||
	    check_root(srv->conf) < 0 || check_state_dir(srv->conf) < 0 || state_start(srv) < 0)
		return 1;
	event_set_log_callback(libevent_log);
	srv->accept_resume = evtimer_new(srv->base, accept_resume, srv);
	struct timeval idle = { POLICYD_IDLE_SECONDS, 0 };
	srv->idle = event_base_init_common_timeout(srv->base, &idle);
	ratelimit_init(&srv->rl, srv->conf, srv->store);
	srv->notify = notify_new(srv->base);
	srv->rl.on_trip = on_trip;
	srv->rl.trip_arg = srv;
	struct event *hup = evsignal_new(srv->base, SIGHUP, on_hup, srv);
	struct event *term = evsignal_new(srv->base, SIGTERM, on_term, srv);
	struct event *intr = evsignal_new(srv->base, SIGINT, on_term, srv);
	srv->timer = evtimer_new(srv->base, on_timer, srv);
	event_add(hup, NULL);
	event_add(term, NULL);
	event_add(intr, NULL);
	arm_timer(srv);
	log_msg(LOG_INFO, NULL, "cachet-policyd %s listening on %s, store %s, %zu limit rules",
		VERSION, srv->conf->socket, srv->conf->store,
		srv->conf->limits != NULL ? srv->conf->limits->n : 0);
	event_base_dispatch(srv->base);
	log_msg(LOG_INFO, NULL, "stopping");
	int rc = 0;
	if (save_state(srv) < 0) {
		log_msg(LOG_ERR, NULL, "the final snapshot failed; exiting with status 1 (the "
			"journal, if on, still holds the changes)");
		rc = 1;
	}
	journal_stop(srv);
	while (srv->conns != NULL)
		conn_close(srv->conns);
	event_free(hup);
	event_free(term);
	event_free(intr);
	event_free(srv->timer);
	event_free(srv->accept_resume);
	evconnlistener_free(srv->listener);
	if (srv->admin != NULL) {
		evconnlistener_free(srv->admin);
		unlink(srv->conf->admin_socket);
	}
	notify_free(&srv->notify);
	ratelimit_fini(&srv->rl);
	const char *path = unix_path(srv->conf->socket);
	if (path != NULL)
		unlink(path);
	if (srv->conf->pid_file != NULL)
		unlink(srv->conf->pid_file);
	return rc;
}

int main(int argc, char **argv)
{
	struct server srv;
	bool foreground = false, check_only = false;
	/* getopt_long only for --help and --version: plain getopt reads "--help" as "-" */
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	memset(&srv, 0, sizeof(srv));
	srv.config_path = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:fnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			srv.config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'V':
			printf("cachet-policyd %s\n", VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		if (admin_client_is_command(argv[optind]))
			return admin_client_main(srv.config_path, argc - optind, argv + optind, usage);
		fprintf(stderr, "cachet-policyd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_open("cachet-policyd", foreground || check_only, LOG_MAIL);
	start_dir = getcwd(NULL, 0);
	/* a reload after daemon()'s chdir("/") must find the same file */
	char *abs_config = srv.config_path[0] != '/' ? realpath(srv.config_path, NULL) : NULL;
	if (abs_config != NULL)
		srv.config_path = abs_config;
	char *error = NULL;
	srv.conf = load_conf(srv.config_path, NULL, &error);
	if (srv.conf == NULL) {
		log_msg(LOG_ERR, NULL, "%s", error);
		free(error);
		free(abs_config);
		free(start_dir);
		return 1;
	}
	if (check_only && (check_root(srv.conf) < 0 || check_as_user(srv.conf) < 0)) {
		pconf_free(&srv.conf);
		free(abs_config);
		free(start_dir);
		return 1;
	}
	if (!foreground && !check_only)
		log_open("cachet-policyd", !srv.conf->syslog, srv.conf->syslog_facility);
	log_set_level(srv.conf->log_debug ? LOG_DEBUG : LOG_INFO);
	/*
	 * before daemon() (serve() reinitialises it in the child): the store
	 * needs it.  The change list: an event added and removed within one
	 * loop iteration (hiredis's write event, see store_redis.c) costs no
	 * epoll_ctl.
	 */
	struct event_config *cfg = event_config_new();
	if (cfg != NULL)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	srv.base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
	if (cfg != NULL)
		event_config_free(cfg);
	if (srv.base == NULL) {
		log_msg(LOG_ERR, NULL, "event_base_new failed");
		pconf_free(&srv.conf);
		return 1;
	}
	srv.store = open_store(srv.conf, srv.base, &srv.gen);
	int rc = 1;
	if (srv.store != NULL && check_only) {
		printf("%s: configuration OK (%zu limit rules)\n", srv.config_path,
		       srv.conf->limits != NULL ? srv.conf->limits->n : 0);
		rc = 0;
	} else if (srv.store != NULL) {
		rc = serve(&srv, foreground);
	}
	store_close(&srv.store);
	event_base_free(srv.base);
	pconf_free(&srv.conf);
	free(abs_config);
	free(start_dir);
	return rc;
}
