/*
 * OpenDKIM's "data sets" (opendkim(8), DATA SETS), the forms cachet reads:
 *
 *	file:/path	one entry per line: a key, white space, a value
 *	/path		the same (a bare absolute path)
 *	refile:/path	the same layout; the keys are `*` wildcard patterns
 *	csl:a,b=c	a comma-separated list; "key=value" entries carry a value
 *	a,b=c		anything else without a known prefix is a csl: too
 *
 * In a file, `#` starts a comment anywhere on a line, blank lines are
 * skipped, the key runs to the first white space and the value is the rest
 * of the line with surrounding white space removed (a line with a key only
 * has no value).  The database forms (db:, dsn:, ldap:, lua:, memcache:,
 * mdb:, erlang:, a bare "*.db" path, ...) are refused with an error that
 * says so.
 *
 * This module only splits the text into (key, value, line) entries, in file
 * order; what keys and values mean is the caller's business (keytable.c).
 * Limits: DATASET_MAX_LINE bytes per line (or csl entry), DATASET_MAX_KEY
 * bytes per key, DATASET_MAX_ENTRIES entries, DATASET_MAX_FILE bytes per
 * file; a file must be a regular file without NUL bytes.  A loaded data set
 * is never changed, so threads may share it.
 */
#ifndef CACHET_DATASET_H
#define CACHET_DATASET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define DATASET_MAX_LINE 8192
#define DATASET_MAX_KEY 1024
#define DATASET_MAX_ENTRIES (1u << 20)
#define DATASET_MAX_FILE ((size_t)64 << 20)

enum dataset_type {
	DATASET_FILE,
	DATASET_REFILE,
	DATASET_CSL,
};

struct dataset_entry {
	char *key;	/* never NULL or empty */
	char *value;	/* NULL when the entry had no value */
	unsigned line;	/* line in the file, or position in a csl list (from 1) */
};

struct dataset {
	enum dataset_type type;
	char *origin;	/* the file's path; "csl" for a list */
	struct dataset_entry *v;
	size_t n, cap;
};

/*
 * Reads the data set `spec` names.  `what` names the option for error
 * messages ("KeyTable"): "KeyTable /etc/k:3: line longer than 8192 bytes".
 * Returns NULL and sets *error_r (free() it) on failure.
 */
struct dataset *dataset_load(const char *what, const char *spec, char **error_r);
/*
 * Parses `len` bytes of text as a data set of `type` whose origin is
 * `origin` (a path for messages; for DATASET_CSL the text is the list,
 * without "csl:").  Same conventions as dataset_load(); used by tests and
 * the fuzz target.
 */
struct dataset *dataset_parse(const char *what, enum dataset_type type, const char *origin,
			      const char *text, size_t len, char **error_r);
void dataset_free(struct dataset **ds);

/* Appends where e came from: "/etc/k:3" or "csl entry 3". */
void dataset_where(const struct dataset *ds, const struct dataset_entry *e, struct buf *out);

/* "file", "refile", "csl". */
const char *dataset_type_name(enum dataset_type type);

#endif
