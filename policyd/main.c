/*
 * cachet-policyd: the Postfix SMTP access policy delegation server (rate
 * limits).  One process, one libevent loop; Postfix's connections are
 * conn.c's, the rate-limit decision ratelimit.c's.
 *
 *	cachet-policyd [-c FILE] [-f] [-n] [-V] | -h | --help
 *	cachet-policyd [-c FILE] list | reset KEY | block USER | unblock USER
 *
 * This file: the options, the start-up order, the signals and the event
 * loop.  The rest of the daemon: listen.c (the sockets), conn.c (Postfix's
 * connections; accept() paused at the descriptor limit), admin_server.c
 * (the AdminSocket), privs.c (UserID), state.c (snapshots and journal),
 * reload.c (the configuration, read at start and on SIGHUP); they share
 * one struct server (server.h).  The admin commands from the command line
 * are admin_client.c's.
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
 * written.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_client.h"
#include "conn.h"
#include "listen.h"
#include "notify.h"
#include "privs.h"
#include "reload.h"
#include "server.h"
#include "state.h"

#include "log.h"
#include "pconf.h"
#include "ratelimit.h"
#include "store.h"

#define DEFAULT_CONFIG "/etc/cachet/cachet-policyd.conf"
#define VERSION "0.1.0"

/* libevent's own warnings go through our log, not raw to stderr. */
static void libevent_log(int severity, const char *msg)
{
	int prio = severity >= EVENT_LOG_ERR ? LOG_ERR
		   : severity == EVENT_LOG_WARN ? LOG_WARNING
		   : severity == EVENT_LOG_MSG ? LOG_INFO : LOG_DEBUG;
	log_msg(prio, NULL, "libevent: %s", msg);
}

static void on_trip(void *arg, const struct limit_rule *rule, const char *key,
		    const struct proto_req *r)
{
	struct server *srv = arg;
	notify_trip(srv->notify, srv->conf, rule, key, r);
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

/*
 * daemon(), then what needs root (the sockets, the PidFile, the journal's
 * first file), then UserID and what is checked as that user.  0 or -1.
 */
static int serve_start(struct server *srv, bool foreground)
{
	if (!foreground && (daemon(0, 0) < 0 || event_reinit(srv->base) < 0)) {
		log_msg(LOG_ERR, NULL, "daemon: %s", strerror(errno));
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (listen_start(srv) < 0)
		return -1;
	if (srv->conf->pid_file != NULL && write_pid(srv->conf->pid_file) < 0)
		return -1;
	const char *socks[] = { listen_unix_path(srv->conf->socket), srv->conf->admin_socket };
	if (state_journal_start(srv) < 0 ||
	    privs_switch_user(srv->conf, socks, ARRAY_LEN(socks)) < 0 ||
	    privs_check_root(srv->conf) < 0 || privs_check_state_dir(srv->conf) < 0 ||
	    state_start(srv) < 0)
		return -1;
	return 0;
}

/*
 * After the loop: the final snapshot, then everything closed; the exit
 * status.  The signals' events go after the snapshot: until then a
 * second TERM or INT is caught (and ignored), not fatal.
 */
static int serve_stop(struct server *srv, struct event **sigs, size_t n_sigs)
{
	int rc = state_stop(srv) < 0 ? 1 : 0;
	conn_fini(srv);
	for (size_t i = 0; i < n_sigs; i++)
		event_free(sigs[i]);
	listen_stop(srv);
	notify_free(&srv->notify);
	ratelimit_fini(&srv->rl);
	const char *path = listen_unix_path(srv->conf->socket);
	if (path != NULL)
		unlink(path);
	if (srv->conf->pid_file != NULL)
		unlink(srv->conf->pid_file);
	return rc;
}

/* Runs the daemon until TERM or INT; the exit status. */
static int serve(struct server *srv, bool foreground)
{
	if (serve_start(srv, foreground) < 0)
		return 1;
	event_set_log_callback(libevent_log);
	conn_init(srv);
	ratelimit_init(&srv->rl, srv->conf, srv->store);
	srv->notify = notify_new(srv->base);
	srv->rl.on_trip = on_trip;
	srv->rl.trip_arg = srv;
	struct event *sigs[] = {
		evsignal_new(srv->base, SIGHUP, reload_on_hup, srv),
		evsignal_new(srv->base, SIGTERM, on_term, srv),
		evsignal_new(srv->base, SIGINT, on_term, srv),
	};
	for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
		event_add(sigs[i], NULL);
	state_timer_start(srv);
	log_msg(LOG_INFO, NULL, "cachet-policyd %s listening on %s, store %s, %zu limit rules",
		VERSION, srv->conf->socket, srv->conf->store,
		srv->conf->limits != NULL ? srv->conf->limits->n : 0);
	event_base_dispatch(srv->base);
	log_msg(LOG_INFO, NULL, "stopping");
	return serve_stop(srv, sigs, ARRAY_LEN(sigs));
}

/*
 * The options.  -1 to go on; otherwise the exit status (-h, -V, a usage
 * error, or an admin command, which runs here).
 */
static int parse_args(int argc, char **argv, struct server *srv, bool *foreground_r,
		      bool *check_only_r)
{
	/* getopt_long only for --help and --version: plain getopt reads "--help" as "-" */
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:fnVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			srv->config_path = optarg;
			break;
		case 'f':
			*foreground_r = true;
			break;
		case 'n':
			*check_only_r = true;
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
	if (optind == argc)
		return -1;
	if (admin_client_is_command(argv[optind]))
		return admin_client_main(srv->config_path, argc - optind, argv + optind, usage);
	fprintf(stderr, "cachet-policyd: unexpected argument: %s\n", argv[optind]);
	usage(stderr);
	return 2;
}

/*
 * The event base, made before daemon() (serve() reinitialises it in the
 * child): the store needs it.  The change list: an event added and
 * removed within one loop iteration (hiredis's write event, see
 * store_redis.c) costs no epoll_ctl.  NULL on failure.
 */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	struct event_base *base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* From the configuration to the exit status: -n checks, otherwise serves. */
static int run(struct server *srv, bool foreground, bool check_only)
{
	char *error = NULL;
	srv->conf = reload_read(srv, NULL, &error);
	if (srv->conf == NULL) {
		log_msg(LOG_ERR, NULL, "%s", error);
		free(error);
		return 1;
	}
	if (check_only && (privs_check_root(srv->conf) < 0 || privs_check_as_user(srv->conf) < 0)) {
		pconf_free(&srv->conf);
		return 1;
	}
	if (!foreground && !check_only)
		log_open("cachet-policyd", !srv->conf->syslog, srv->conf->syslog_facility);
	log_set_level(srv->conf->log_debug ? LOG_DEBUG : LOG_INFO);
	srv->base = new_base();
	if (srv->base == NULL) {
		log_msg(LOG_ERR, NULL, "event_base_new failed");
		pconf_free(&srv->conf);
		return 1;
	}
	srv->store = state_store_open(srv->conf, srv->base, &srv->gen);
	int rc = 1;
	if (srv->store != NULL && check_only) {
		printf("%s: configuration OK (%zu limit rules)\n", srv->config_path,
		       srv->conf->limits != NULL ? srv->conf->limits->n : 0);
		rc = 0;
	} else if (srv->store != NULL) {
		rc = serve(srv, foreground);
	}
	store_close(&srv->store);
	event_base_free(srv->base);
	pconf_free(&srv->conf);
	return rc;
}

int main(int argc, char **argv)
{
	struct server srv;
	bool foreground = false, check_only = false;
	memset(&srv, 0, sizeof(srv));
	srv.config_path = DEFAULT_CONFIG;
	int rc = parse_args(argc, argv, &srv, &foreground, &check_only);
	if (rc >= 0)
		return rc;
	log_open("cachet-policyd", foreground || check_only, LOG_MAIL);
	srv.start_dir = getcwd(NULL, 0);
	/* a reload after daemon()'s chdir("/") must find the same file */
	char *abs_config = srv.config_path[0] != '/' ? realpath(srv.config_path, NULL) : NULL;
	if (abs_config != NULL)
		srv.config_path = abs_config;
	rc = run(&srv, foreground, check_only);
	free(abs_config);
	free(srv.start_dir);
	return rc;
}
