/*
 * cachet-policyd's privileges: UserID ("user[:group]"), which the daemon
 * becomes once its sockets, PidFile and first journal exist (from root;
 * not started as root, it only checks the user exists), the refusal to
 * stay root without UserID or AllowRoot yes, and the check that the
 * StateFile's directory is writable by the user the daemon runs as.
 * Every failure is logged; the callers stop start-up on it.
 */
#ifndef CACHET_PRIVS_H
#define CACHET_PRIVS_H

#include <stddef.h>

#include "pconf.h"

/* Root only with UserID (dropped after start-up) or AllowRoot yes.  0 or -1. */
int privs_check_root(const struct pconf *c);

/*
 * Becomes UserID (from root; otherwise only checks it exists).  The
 * sockets given (NULL entries skipped) are chowned to it first: Socket (a
 * unix one), so that SocketMode means what it says, and AdminSocket.
 * 0 or -1.
 */
int privs_switch_user(const struct pconf *c, const char *const *sockets, size_t n);

/*
 * The StateFile's directory takes the snapshots (a temporary file renamed
 * over the StateFile) and the journal: it must be writable by the user
 * the daemon runs as (checked for the memory store only).  0 or -1.
 */
int privs_check_state_dir(const struct pconf *c);

/* -n: what the daemon checks once it runs as UserID, checked as that user. */
int privs_check_as_user(const struct pconf *c);

#endif
