/* UserID "user[:group]" looked up in the system's accounts (user.h). */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "user.h"

#include "log.h"
#include "xalloc.h"

int user_lookup(const char *spec, uid_t *uid_r, gid_t *gid_r, char **name_r)
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
