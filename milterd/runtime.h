/*
 * The runtime snapshot: everything a connection needs that comes from the
 * configuration: the config itself, the DNS resolver, and the enabled
 * checks in run order, each with its options and what its setup built
 * (loaded keys, tables).  Immutable and reference-counted: each connection
 * takes a reference at connect and drops it at close, so a reload builds a
 * new snapshot and swaps it in (runtime_set_current) while messages in
 * flight finish on the old one.  Each snapshot installed as the live one
 * gets a generation number, counted from 1 in this process, that log lines
 * name (0: never installed, as in `cachet check`).
 */
#ifndef CACHET_RUNTIME_H
#define CACHET_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dns.h"

struct check;

/* An enabled check of a snapshot. */
struct runtime_check {
	const struct check *ck;
	const void *opts;	/* its option struct, or NULL */
	void *data;		/* what its setup built, or NULL */
};

struct runtime {
	int refcount;	/* atomic */
	unsigned long generation;	/* set by runtime_set_current(); 0 before */
	struct config *cfg;	/* one reference */
	struct dns *dns;
	struct runtime_check *checks;	/* the enabled ones, in run order */
	size_t n_checks;
	bool wants_body;	/* some check has a body hook */
	bool wants_spool;	/* some check has CHECK_SPOOL */
	bool wants_rcpt;	/* some check has CHECK_RCPT */
};

/*
 * Builds a snapshot from cfg (takes a reference of its own) and the check
 * table cfg was loaded with: orders the table, keeps the enabled checks,
 * refuses a check whose `needs` is off, runs every setup.  Returns NULL
 * and sets *error_r (free() it) on failure: every setup error, one per
 * line.
 */
struct runtime *runtime_new(struct config *cfg, char **error_r);
/* config_load() + runtime_new(); every error, one per line, names the file. */
struct runtime *runtime_load(const char *path, char **error_r);
struct runtime *runtime_ref(struct runtime *rt);
void runtime_unref(struct runtime **rt);

/* The enabled check named `name`, or NULL. */
const struct runtime_check *runtime_check(const struct runtime *rt, const char *name);
/* Its index in rt->checks, or -1. */
ptrdiff_t runtime_check_index(const struct runtime *rt, const char *name);

/* The live snapshot of this process (milter): a new reference, or NULL. */
struct runtime *runtime_current(void);
/* Installs rt as the live snapshot (takes over the caller's reference). */
void runtime_set_current(struct runtime *rt);

#endif
