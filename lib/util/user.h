/*
 * The UserID option of both daemons ("user[:group]"): the account the
 * daemon switches to after start-up.  Each daemon does the switch itself
 * (its order of chown, initgroups, setgid and setuid); this is the lookup.
 */
#ifndef CACHET_USER_H
#define CACHET_USER_H

#include <sys/types.h>

/*
 * spec's uid and gid (the user's own group, or the group named after ":"),
 * and the user's name in *name_r (free() it).  -1 after logging which of
 * the two does not exist.
 */
int user_lookup(const char *spec, uid_t *uid_r, gid_t *gid_r, char **name_r);

#endif
