/*
 * The admin commands from the command line (see admin_client.h): pick
 * where the command runs, run it, print what it says.  The AdminSocket
 * protocol (one line in; "RC\n" and the output back) is admin.h's.
 */
#include "admin_client.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "buf.h"
#include "compiler.h"
#include "journal.h"
#include "log.h"
#include "pconf.h"
#include "store.h"
#include "store_impl.h"

bool admin_client_is_command(const char *word)
{
	static const char *const cmds[] = { "list", "reset", "block", "unblock" };
	for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcmp(word, cmds[i]) == 0)
			return true;
	return false;
}
/* true when PidFile names a live process */
static bool daemon_running(const struct pconf *c)
{
	long pid = 0;
	FILE *f = c->pid_file != NULL ? fopen(c->pid_file, "r") : NULL;
	if (f == NULL)
		return false;
	bool ok = fscanf(f, "%ld", &pid) == 1 && pid > 0;
	fclose(f);
	return ok && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* 0 connected, -1 nobody listens (ENOENT, ECONNREFUSED), -2 other error */
static int admin_connect(const char *path, int *fd_r)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -2;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*fd_r = fd;
		return 0;
	}
	int e = errno;
	close(fd);
	errno = e;
	return e == ENOENT || e == ECONNREFUSED ? -1 : -2;
}

/* Sends line, prints the output; the daemon's RC. */
static int admin_remote(int fd, const char *path, const char *line)
{
	struct buf in;
	char chunk[4096];
	ssize_t n;
	struct timeval tv = { 30, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	dprintf(fd, "%s\n", line);
	buf_init(&in, 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&in, chunk, (size_t)n);
	close(fd);
	int rc = ADMIN_FAIL;
	const char *nl = in.p != NULL ? strchr(in.p, '\n') : NULL;
	if (n < 0 || nl == NULL || nl == in.p || (in.p[0] < '0' || in.p[0] > '2')) {
		fprintf(stderr, "cachet-policyd: AdminSocket %s: %s\n", path,
			n < 0 ? strerror(errno) : "no reply from the daemon");
	} else {
		rc = in.p[0] - '0';
		fputs(nl + 1, rc == ADMIN_OK ? stdout : stderr);
	}
	buf_free(&in);
	return rc;
}

/* Runs the command on a store we open here (Redis, or the StateFile). */
static int admin_local(const struct pconf *c, const char *line)
{
	char *error = NULL;
	/* no event loop here: a Redis store with blocking calls (store_redis_sync.c) */
	struct store *s = store_open(c->store, c->store_timeout_ms, c->max_entries, NULL, &error);
	if (s == NULL) {
		fprintf(stderr, "cachet-policyd: %s\n", error);
		free(error);
		return ADMIN_FAIL;
	}
	store_redis_set_auth(s, c->redis_user, c->redis_password);
	/* the snapshot and its journals; the new snapshot covers them all */
	uint64_t gen = 0;
	if (store_is_memory(s) && c->state_file != NULL && statefile_load(s, c->state_file, &gen) < 0) {
		store_close(&s);
		return ADMIN_FAIL;
	}
	struct buf out;
	buf_init(&out, 0);
	int rc = admin_exec(s, c, line, &out);
	if (rc == ADMIN_OK && store_is_memory(s) && strcmp(line, "list") != 0 &&
	    statefile_save(s, c->state_file, gen, NULL) < 0) {
		buf_reset(&out);
		buf_printf(&out, "error: cannot write %s\n", c->state_file);
		rc = ADMIN_FAIL;
	}
	if (rc != ADMIN_OK && strstr(out.p, "cannot answer") != NULL && !store_is_memory(s))
		buf_printf(&out, "(RateLimitStore %s is unreachable)\n", c->store);
	fputs(out.p != NULL ? out.p : "", rc == ADMIN_OK ? stdout : stderr);
	buf_free(&out);
	store_close(&s);
	return rc;
}

int admin_client_main(const char *config_path, int argc, char **argv, void (*usage)(FILE *f))
{
	struct buf line;
	buf_init(&line, ADMIN_MAX_LINE);
	for (int i = 0; i < argc; i++)
		buf_printf(&line, "%s%s", i > 0 ? " " : "", argv[i]);
	if (line.overflow || (argc != 1 && argc != 2) || strchr(line.p, '\n') != NULL ||
	    (argc == 2 && strchr(argv[1], ' ') != NULL)) {
		usage(stderr);
		buf_free(&line);
		return ADMIN_USAGE;
	}
	log_open("cachet-policyd", true, LOG_MAIL);
	log_set_level(LOG_WARNING);
	char *error = NULL;
	struct pconf *c = pconf_load(config_path, &error);
	int rc = ADMIN_FAIL, fd = -1, conn = -1;
	if (c == NULL) {
		fprintf(stderr, "cachet-policyd: %s\n", error);
		free(error);
	} else if (strcmp(c->store, "memory") != 0 && pconf_read_secret(c, &error) < 0) {
		fprintf(stderr, "cachet-policyd: %s\n", error);
		free(error);
	} else if (strcmp(c->store, "memory") != 0) {
		rc = admin_local(c, line.p);
	} else if (c->admin_socket != NULL &&
		   (conn = admin_connect(c->admin_socket, &fd)) == 0) {
		rc = admin_remote(fd, c->admin_socket, line.p);
	} else if (conn == -2) {
		fprintf(stderr, "cachet-policyd: AdminSocket %s: %s\n", c->admin_socket,
			strerror(errno));
	} else if (daemon_running(c)) {
		fprintf(stderr, "cachet-policyd: the daemon runs (PidFile %s) but %s; refusing to "
				"edit its StateFile behind its back\n", c->pid_file,
			c->admin_socket != NULL ? "its AdminSocket does not answer"
						: "has no AdminSocket");
	} else if (c->state_file == NULL) {
		fprintf(stderr, "cachet-policyd: the memory store needs a running daemon with "
				"AdminSocket, or a StateFile\n");
	} else {
		rc = admin_local(c, line.p);
	}
	pconf_free(&c);
	buf_free(&line);
	return rc;
}

