/*
 * The interface of a check module.  A check is an entry in a table: a name,
 * the checks whose results it reads (which must run before it; the table is
 * validated at start-up), and a hook for each stage it needs (NULL for the
 * others).  A check keeps its per-message state in the slot the pipeline
 * gives it and allocates it from the message arena where it can; anything
 * else (DNS lookups, hash contexts) it releases in msg_end, which runs on
 * every path.  Checks never reach into each other's state: they meet in the
 * message's verdict.
 *
 * Hooks return 0 to go on, or -1 on an internal error (after logging it with
 * the queue id); the pipeline then applies OnInternalError.
 */
#ifndef CACHET_CHECK_H
#define CACHET_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pipeline.h"

struct check {
	const char *name;
	/* names of checks that must run earlier; NULL-terminated, or NULL */
	const char *const *needs;
	/* is it on at all with this configuration?  NULL = always */
	bool (*enabled)(const struct config *cfg);
	/*
	 * At configuration time (start-up, reload, `-n`): builds what every
	 * message will share (key tables, loaded keys) into *data_r, which
	 * the hooks get back with check_data().  Returns 0, or -1 with
	 * *error_r (free() it) naming the file and what is wrong.  NULL =
	 * nothing to build.  teardown frees it when the snapshot goes.
	 */
	int (*setup)(const struct config *cfg, void **data_r, char **error_r);
	void (*teardown)(void *data);
	/*
	 * At MAIL FROM: 1 = take part in this message, 0 = not for this one
	 * (no other hook runs for it), -1 = internal error.  NULL = take part.
	 */
	int (*msg_begin)(struct msg *m, void **state_r);
	int (*header)(struct msg *m, void *state, const struct msg_header *h);
	int (*eoh)(struct msg *m, void *state);
	int (*body)(struct msg *m, void *state, const uint8_t *data, size_t len);
	int (*eom)(struct msg *m, void *state);
	void (*msg_end)(struct msg *m, void *state);
};

/* What setup built for check ck in the message's snapshot (or NULL). */
void *check_data(const struct msg *m, const struct check *ck);

/* The production table (checks.c). */
extern const struct check *const check_table[];
extern const size_t check_table_len;

/*
 * Checks a table: names unique and non-empty, every `needs` names a check
 * that comes earlier.  Returns 0 or -1 with *error_r (free() it).
 */
int check_table_validate(const struct check *const *t, size_t n, char **error_r);

#endif
