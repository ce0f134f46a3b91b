/*
 * Reading Authentication-Results fields (RFC 8601): enough to find the
 * authserv-id of an existing field, so the milter can remove fields that
 * claim to come from us (RFC 8601 5: a border MTA must delete or rename
 * them) and leave every other authserv-id alone.
 */
#ifndef CACHET_AR_H
#define CACHET_AR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/*
 * Extracts the authserv-id from an Authentication-Results value (folded or
 * not): leading CFWS and comments skipped, a token or a quoted-string, then
 * an optional authres-version.  Returns an arena string or NULL if there is
 * none.
 */
char *ar_authserv_id(struct arena *a, const char *value, size_t len);
/*
 * Is this the authserv-id `ours`?  Case-insensitive (RFC 8601 2.5 compares
 * it as a domain name when it is one), trailing dot ignored.
 */
bool ar_authserv_id_is(const char *value, size_t len, const char *ours);
/* Is `id` usable as our own authserv-id (a value: token or domain)? */
bool ar_authserv_id_valid(const char *id);

#endif
