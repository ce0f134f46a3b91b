/*
 * Postfix's policy connections (conn.h).  One process, one libevent loop;
 * Postfix keeps its connections open and sends request after request on
 * each (closing after a reply would cost Postfix a one-second retry), so a
 * connection lives until the peer closes it, stays idle longer than
 * POLICYD_IDLE_SECONDS, or sends something we cannot parse (then it is
 * closed with a log line: a reply to a request we did not understand
 * could be misread).  A request whose decision waits for Redis holds up
 * only its own connection (the next requests on it wait, so replies keep
 * their order), never the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

#include "buf.h"
#include "log.h"
#include "pconf.h"
#include "proto.h"
#include "ratelimit.h"
#include "xalloc.h"

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
	proto_req_next(&c->req);
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
 * One request line, taken from the input: fed to the request, which is
 * decided when it is complete.  False if c was closed.
 */
static bool conn_line(struct conn *c, const char *line, size_t len)
{
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
	if (res != PROTO_DONE)
		return true;
	if (ratelimit_decide(&c->srv->rl, &c->rl, &c->req, &c->out, on_decided, c) == RL_PENDING) {
		/* reading goes on, into the buffer, until it is full */
		c->waiting = true;
		return true;
	}
	return conn_reply(c);
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
		if (!conn_line(c, line, len))
			return false;
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

/* The peer's address for the log: IPv4, IPv6, or "unix". */
static void conn_name_peer(struct conn *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  c->peer, sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  c->peer, sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "unix");
}

/* A new connection, or NULL (fd closed) when libevent has no event for it. */
static struct conn *conn_new(struct server *srv, evutil_socket_t fd, const struct sockaddr *sa)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	proto_req_init(&c->req);
	buf_init(&c->out, POLICYD_MAX_REPLY);
	conn_name_peer(c, sa);
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
		return NULL;
	}
	c->in = xmalloc(CONN_IN_SIZE);
	return c;
}

void conn_accept(struct evconnlistener *l UNUSED, evutil_socket_t fd, struct sockaddr *sa,
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
	struct conn *c = conn_new(srv, fd, sa);
	if (c == NULL)
		return;
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
void conn_accept_error(struct evconnlistener *l UNUSED, void *arg)
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

void conn_init(struct server *srv)
{
	srv->accept_resume = evtimer_new(srv->base, accept_resume, srv);
	struct timeval idle = { POLICYD_IDLE_SECONDS, 0 };
	srv->idle = event_base_init_common_timeout(srv->base, &idle);
}

void conn_fini(struct server *srv)
{
	while (srv->conns != NULL)
		conn_close(srv->conns);
	event_free(srv->accept_resume);
	srv->accept_resume = NULL;
}
