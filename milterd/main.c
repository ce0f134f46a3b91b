/*
 * cachet-milterd: the daemon.  Parses the command line, loads and checks
 * the configuration (everything it names: zone files, host lists, keys),
 * and either reports the result (-n) or listens, drops privileges
 * (UserID), writes the PidFile and serves libmilter connections until
 * SIGTERM or SIGINT.
 *
 * SIGHUP reloads: a reloader thread reads the configuration file and every
 * file a check loads into a new runtime snapshot, as the user the daemon
 * runs as, and swaps it in (runtime_set_current); connections in flight
 * finish on the snapshot they started with.  A configuration that fails to
 * load leaves the running one in force, and every error is logged.  What
 * cannot change without a restart (Socket, UserID, PidFile, Syslog,
 * SyslogFacility) keeps its old value, with a warning.
 *
 *	cachet-milterd [-c FILE] [-f] [-n] [-V] [-h|--help]
 *
 * Exit status: 0 success, 1 configuration or start-up error, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "milter.h"
#include "runtime.h"
#include "user.h"
#include "xalloc.h"

#define DEFAULT_CONFIG "/etc/cachet/cachet.conf"
#define VERSION "0.1.0"

struct options {
	const char *config_path;
	bool foreground;
	bool check_only;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet-milterd [-c FILE] [-f] [-n] [-V] [-h]\n"
		   "  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		   "  -f       stay in the foreground and log to stderr\n"
		   "  -n       check the configuration and everything it names, then exit\n"
		   "  -V       print the version and exit\n"
		   "  -h, --help  print this and exit\n"
		   "Signals: HUP reloads the configuration, TERM and INT stop.\n"
		   "Options of the file: man -l doc/cachet.conf.5 (cachet.conf(5)).\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int ch;
	o->config_path = DEFAULT_CONFIG;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			exit(0);
		}
	while ((ch = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (ch) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'V':
			printf("cachet-milterd %s\n", VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cachet-milterd: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	/* a reload after daemonize's chdir("/") must find the same file */
	char *abs = o->config_path[0] != '/' ? realpath(o->config_path, NULL) : NULL;
	if (abs != NULL)
		o->config_path = abs;	/* kept for the life of the process */
	return 0;
}

/* Logs text one line at a time (an error list has one error a line). */
static void log_lines(int prio, const char *text)
{
	for (const char *p = text; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		log_msg(prio, NULL, "%.*s", (int)len, p);
		p += len + (p[len] == '\n');
	}
}

/* Loads the configuration and builds a runtime from it, or says why not. */
static struct runtime *load(const char *path)
{
	char *error = NULL;
	struct runtime *rt = runtime_load(path, &error);
	if (rt == NULL) {
		log_lines(LOG_ERR, error);
		free(error);
	}
	return rt;
}

/* ---- reload (SIGHUP) ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	unsigned requests;	/* SIGHUPs not yet acted on */
	bool stop;
	const char *path;
	pthread_t thread;
} reloader = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* From libmilter's signal thread: only hands the work over. */
static void request_reload(void)
{
	pthread_mutex_lock(&reloader.lock);
	reloader.requests++;
	pthread_cond_signal(&reloader.wake);
	pthread_mutex_unlock(&reloader.lock);
}

static bool same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* What only a restart changes: say so when the file says otherwise. */
static void warn_fixed(const struct config *run, const struct config *next)
{
	static const char *const what = "%s changed in the file; it takes effect at restart";
	if (!same_text(run->socket, next->socket))
		log_msg(LOG_WARNING, NULL, what, "Socket");
	if (!same_text(run->user_id, next->user_id))
		log_msg(LOG_WARNING, NULL, what, "UserID");
	if (!same_text(run->pid_file, next->pid_file))
		log_msg(LOG_WARNING, NULL, what, "PidFile");
	if (run->syslog != next->syslog || run->syslog_facility != next->syslog_facility)
		log_msg(LOG_WARNING, NULL, what, "Syslog or SyslogFacility");
}

static void reload(void)
{
	struct runtime *old = runtime_current();
	log_msg(LOG_INFO, NULL, "reloading %s (generation %lu in force)", reloader.path,
		old != NULL ? old->generation : 0);
	struct runtime *rt = load(reloader.path);
	if (rt == NULL) {
		log_msg(LOG_ERR, NULL, "reload of %s failed; generation %lu stays in force",
			reloader.path, old != NULL ? old->generation : 0);
		runtime_unref(&old);
		return;
	}
	if (old != NULL)
		warn_fixed(old->cfg, rt->cfg);
	runtime_unref(&old);
	log_set_level(rt->cfg->log_debug ? LOG_DEBUG : LOG_INFO);
	const char *id = rt->cfg->authserv_id;
	runtime_set_current(rt);	/* the snapshot is the live one's now: do not use rt */
	struct runtime *now = runtime_current();
	log_msg(LOG_INFO, NULL, "reloaded %s: generation %lu, authserv-id %s", reloader.path,
		now != NULL ? now->generation : 0, now != NULL ? now->cfg->authserv_id : id);
	runtime_unref(&now);
}

static void *reloader_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&reloader.lock);
	for (;;) {
		while (reloader.requests == 0 && !reloader.stop)
			pthread_cond_wait(&reloader.wake, &reloader.lock);
		if (reloader.stop)
			break;
		/* several SIGHUPs while one reload runs make one more reload */
		reloader.requests = 0;
		pthread_mutex_unlock(&reloader.lock);
		reload();
		pthread_mutex_lock(&reloader.lock);
	}
	pthread_mutex_unlock(&reloader.lock);
	return NULL;
}

static int reloader_start(const char *path)
{
	reloader.path = path;
	int e = pthread_create(&reloader.thread, NULL, reloader_main, NULL);
	if (e != 0)
		log_msg(LOG_ERR, NULL, "cannot start the reload thread: %s", strerror(e));
	return e == 0 ? 0 : -1;
}

static void reloader_stop(void)
{
	pthread_mutex_lock(&reloader.lock);
	reloader.stop = true;
	pthread_cond_signal(&reloader.wake);
	pthread_mutex_unlock(&reloader.lock);
	pthread_join(reloader.thread, NULL);
}

static const char *local_socket_path(const char *spec)
{
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	return spec[0] == '/' ? spec : NULL;
}

/* Does UserID name a real user (and group)?  Part of -n's checks. */
static int check_user(const struct config *cfg)
{
	if (cfg->user_id == NULL)
		return 0;
	uid_t uid;
	gid_t gid;
	char *name;
	if (user_lookup(cfg->user_id, &uid, &gid, &name) < 0)
		return -1;
	free(name);
	return 0;
}

/* The local socket gets SocketMode and, under UserID, that owner. */
static int prepare_socket(const struct config *cfg, bool have_user, uid_t uid, gid_t gid)
{
	const char *path = local_socket_path(cfg->socket);
	if (path == NULL)
		return 0;
	if (chmod(path, cfg->socket_mode) < 0) {
		log_msg(LOG_ERR, NULL, "Socket %s: chmod: %s", path, strerror(errno));
		return -1;
	}
	if (have_user && chown(path, uid, gid) < 0) {
		log_msg(LOG_ERR, NULL, "Socket %s: chown: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int drop_privileges(const struct config *cfg)
{
	if (cfg->user_id == NULL) {
		if (getuid() == 0)
			log_msg(LOG_WARNING, NULL, "running as root: set UserID");
		return prepare_socket(cfg, false, 0, 0);
	}
	uid_t uid;
	gid_t gid;
	char *name;
	if (user_lookup(cfg->user_id, &uid, &gid, &name) < 0)
		return -1;
	int rc = prepare_socket(cfg, getuid() == 0, uid, gid);
	if (rc == 0 && getuid() == 0 &&
	    (initgroups(name, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) {
		log_msg(LOG_ERR, NULL, "UserID %s: cannot switch: %s", cfg->user_id,
			strerror(errno));
		rc = -1;
	}
	free(name);
	return rc;
}

static int write_pid_file(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		log_msg(LOG_ERR, NULL, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		log_msg(LOG_ERR, NULL, "PidFile %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, NULL, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() < 0 || chdir("/") < 0)
		return -1;
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

static int serve(const struct options *o, struct runtime *checked)
{
	struct config *cfg = config_ref(checked->cfg);
	int rc = 1;
	runtime_unref(&checked); /* its resolver thread does not survive fork() */
	log_open("cachet-milterd", o->foreground || !cfg->syslog, cfg->syslog_facility);
	if (cfg->log_debug)
		log_set_level(LOG_DEBUG);
	if (!o->foreground && daemonize() < 0)
		goto out;
	/* before any thread: only libmilter's signal thread takes these */
	milter_block_signals();
	if (milter_open(cfg->socket, request_reload) < 0)
		goto out;
	if (cfg->pid_file != NULL && write_pid_file(cfg->pid_file) < 0)
		goto out;
	if (drop_privileges(cfg) < 0)
		goto out;
	struct runtime *rt = load(o->config_path);
	if (rt == NULL)
		goto out;
	runtime_set_current(rt);
	if (reloader_start(o->config_path) < 0) {
		runtime_set_current(NULL);
		goto out;
	}
	log_msg(LOG_INFO, NULL, "cachet-milterd %s listening on %s, authserv-id %s, "
		"generation 1", VERSION, cfg->socket, cfg->authserv_id);
	rc = milter_run() == 0 ? 0 : 1;
	log_msg(LOG_INFO, NULL, "cachet-milterd stopping");
	reloader_stop();
	runtime_set_current(NULL);
	if (cfg->pid_file != NULL)
		unlink(cfg->pid_file);
out:
	config_unref(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_open("cachet-milterd", true, LOG_MAIL);
	signal(SIGPIPE, SIG_IGN);
	struct runtime *rt = load(o.config_path);
	if (rt == NULL)
		return 1;
	if (check_user(rt->cfg) < 0) {
		runtime_unref(&rt);
		return 1;
	}
	if (o.check_only) {
		printf("%s: configuration OK\n", o.config_path);
		runtime_unref(&rt);
		return 0;
	}
	return serve(&o, rt);
}
