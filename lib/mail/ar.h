/*
 * Reading Authentication-Results fields (RFC 8601): enough to find the
 * authserv-id of an existing field, so the milter can remove fields that
 * claim to come from us (RFC 8601 5: a border MTA must delete or rename
 * them) and leave every other authserv-id alone; and, for `cachet check
 * --from-received`, a whole field read into its results (ar_parse), to set
 * another receiver's verdict beside ours.
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

/* Results read from one field at most (our limit). */
#define AR_MAX_RESULTS 64
/* Properties of one result at most (our limit). */
#define AR_MAX_PROPS 16

struct ar_prop {
	const char *name;	/* "ptype.property", lower case: "smtp.mailfrom", "header.d" */
	const char *value;	/* as written, quoting removed */
};

/* One resinfo (RFC 8601 2.2), as read. */
struct ar_resinfo {
	const char *method;	/* lower case, without its "/version" */
	const char *result;	/* lower case */
	const char *reason;	/* reason=, or NULL */
	const char *comment;	/* the first comment after the result, or NULL */
	struct ar_prop props[AR_MAX_PROPS];
	size_t n_props;
};

struct ar_field {
	const char *authserv_id;
	unsigned instance;	/* ARC-Authentication-Results: i=; else 0 */
	struct ar_resinfo *res;	/* arena array */
	size_t n;
	size_t skipped;		/* resinfos that could not be read (skipped to the next ";") */
};

/*
 * Reads an Authentication-Results value (or, with arc, an
 * ARC-Authentication-Results value: "i=N;" first, RFC 8617 4.1.1): the
 * authserv-id, an optional version, then "none" or each resinfo.  A
 * resinfo that does not read is skipped to the next ";" and counted; past
 * AR_MAX_RESULTS the rest is skipped too.  Returns 0, or -1 with *error_r
 * (static text) when there is no authserv-id, or a comment or quoted
 * string does not end.  Strings come from the arena.
 */
int ar_parse(struct arena *a, const char *value, size_t len, bool arc, struct ar_field *out,
	     const char **error_r);
/* The first result of `method` in f, or NULL. */
const struct ar_resinfo *ar_field_find(const struct ar_field *f, const char *method);
/* The value of property `name` ("header.d") of r, or NULL. */
const char *ar_resinfo_prop(const struct ar_resinfo *r, const char *name);

#endif
