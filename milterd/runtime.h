/*
 * The runtime snapshot: everything a connection needs that comes from the
 * configuration (the config itself, the DNS resolver, the check table).
 * Immutable and reference-counted: each connection takes a reference at
 * connect and drops it at close, so a reload can build a new snapshot and
 * swap it in while messages in flight finish on the old one.
 */
#ifndef CACHET_RUNTIME_H
#define CACHET_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dns.h"

struct check;

struct runtime {
	int refcount;	/* atomic */
	struct config *cfg;	/* one reference */
	struct dns *dns;
	const struct check *const *checks;	/* in the order they run */
	size_t n_checks;
	void **check_data;	/* per check: what its setup built, or NULL */
};

/*
 * Builds a snapshot from cfg (takes a reference of its own) with the
 * production check table.  Returns NULL and sets *error_r (free() it).
 */
struct runtime *runtime_new(struct config *cfg, char **error_r);
/* Same with a given check table (tests). */
struct runtime *runtime_new_with_checks(struct config *cfg, const struct check *const *checks,
					size_t n_checks, char **error_r);
struct runtime *runtime_ref(struct runtime *rt);
void runtime_unref(struct runtime **rt);

/* The live snapshot of this process (milter): a new reference, or NULL. */
struct runtime *runtime_current(void);
/* Installs rt as the live snapshot (takes over the caller's reference). */
void runtime_set_current(struct runtime *rt);

#endif
