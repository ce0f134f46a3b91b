/*
 * cachet-milterd: the daemon.  Parses the command line, loads and checks
 * the configuration (everything it names: zone files, host lists), and
 * either reports the result (-n) or listens, drops privileges (UserID),
 * writes the PidFile and serves libmilter connections until told to stop.
 *
 *	cachet-milterd [-c FILE] [-f] [-n] [-V]
 *
 * Exit status: 0 success, 1 configuration or start-up error, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
	fprintf(f, "usage: cachet-milterd [-c FILE] [-f] [-n] [-V]\n"
		   "  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		   "  -f       stay in the foreground and log to stderr\n"
		   "  -n       check the configuration and everything it names, then exit\n"
		   "  -V       print the version and exit\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int ch;
	o->config_path = DEFAULT_CONFIG;
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
	return 0;
}

/* Loads the configuration and builds a runtime from it, or says why not. */
static struct runtime *load(const char *path)
{
	char *error = NULL;
	struct config *cfg = config_load(path, &error);
	if (cfg == NULL) {
		log_msg(LOG_ERR, NULL, "%s", error);
		free(error);
		return NULL;
	}
	struct runtime *rt = runtime_new(cfg, &error);
	config_unref(&cfg);
	if (rt == NULL) {
		log_msg(LOG_ERR, NULL, "%s: %s", path, error);
		free(error);
	}
	return rt;
}

static const char *local_socket_path(const char *spec)
{
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	return spec[0] == '/' ? spec : NULL;
}

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

/* Does UserID name a real user (and group)?  Part of -n's checks. */
static int check_user(const struct config *cfg)
{
	if (cfg->user_id == NULL)
		return 0;
	uid_t uid;
	gid_t gid;
	char *name;
	if (lookup_user(cfg->user_id, &uid, &gid, &name) < 0)
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
	if (lookup_user(cfg->user_id, &uid, &gid, &name) < 0)
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
	if (milter_open(cfg->socket) < 0)
		goto out;
	if (cfg->pid_file != NULL && write_pid_file(cfg->pid_file) < 0)
		goto out;
	if (drop_privileges(cfg) < 0)
		goto out;
	struct runtime *rt = load(o->config_path);
	if (rt == NULL)
		goto out;
	runtime_set_current(rt);
	log_msg(LOG_INFO, NULL, "cachet-milterd %s listening on %s, authserv-id %s", VERSION,
		cfg->socket, cfg->authserv_id);
	rc = milter_run() == 0 ? 0 : 1;
	log_msg(LOG_INFO, NULL, "cachet-milterd stopping");
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
