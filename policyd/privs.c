/*
 * UserID and the checks around it (privs.h).  The switch is initgroups,
 * setgid, setuid, and then a setuid(0) that must fail.  -n checks as
 * UserID in a child process, so that the check itself drops nothing.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"

#include "log.h"
#include "user.h"
#include "xalloc.h"

int privs_check_root(const struct pconf *c)
{
	if (geteuid() != 0 || c->user_id != NULL || c->allow_root)
		return 0;
	log_msg(LOG_ERR, NULL, "%s: refusing to run as root: set UserID (the daemon switches to "
		"that user after start-up) or, to keep root, AllowRoot yes", c->path);
	return -1;
}

/* The sockets become UserID's, before the switch (NULL entries skipped). */
static int chown_sockets(const char *const *sockets, size_t n, uid_t uid, gid_t gid)
{
	for (size_t i = 0; i < n; i++) {
		if (sockets[i] != NULL && chown(sockets[i], uid, gid) < 0) {
			log_msg(LOG_ERR, NULL, "%s: chown: %s", sockets[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

int privs_switch_user(const struct pconf *c, const char *const *sockets, size_t n)
{
	uid_t uid;
	gid_t gid;
	char *name;
	if (c->user_id == NULL)
		return 0;
	if (user_lookup(c->user_id, &uid, &gid, &name) < 0)
		return -1;
	if (geteuid() != 0) {
		if (geteuid() != uid)
			log_msg(LOG_WARNING, NULL, "UserID %s: not started as root; running as uid %ld",
				c->user_id, (long)geteuid());
		free(name);
		return 0;
	}
	int rc = chown_sockets(sockets, n, uid, gid);
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

int privs_check_state_dir(const struct pconf *c)
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

int privs_check_as_user(const struct pconf *c)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		log_msg(LOG_ERR, NULL, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(privs_switch_user(c, NULL, 0) == 0 && privs_check_state_dir(c) == 0 ? 0 : 1);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
