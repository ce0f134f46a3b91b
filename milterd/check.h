/*
 * The interface of a check, and the check table.
 *
 * A check is a module with a `struct check`: a name, what it reads from
 * other checks, its own configuration options, and a hook per stage it
 * needs (NULL for the others).  The production table lists them
 * (check.c); the runtime (runtime.c) orders the enabled ones and builds
 * what they share; the pipeline (pipeline.c) calls their hooks.
 *
 * Order.  `needs` names checks whose results this one cannot do without:
 * they must exist, be enabled whenever this one is (else the configuration
 * is refused, naming both), and they run first.  `after` names checks
 * whose results this one reads when they are there (DMARC reads ARC when
 * ARC is on): they run first when enabled, and may be absent.  The run
 * order is the table's order, moved only as far as these edges require; a
 * cycle is refused at start-up.
 *
 * Options.  A check that has options owns them: `options` is a schema
 * fragment (lib/util/conffile.h) with its own struct, read from the same
 * configuration file as everything else.  Its hooks get that struct as
 * cx->opts, and what `setup` built from it as cx->data.
 *
 * Phases at end of message: every check's `eom` runs (the decide phase:
 * results, proposed actions, header edits), then the verdict is final
 * (action and the Authentication-Results value), then, for a message that
 * will be delivered, every check's `seal` runs and sees the header as it
 * will leave (pipeline_final_header(): our Authentication-Results field
 * included).  Signing and sealing belong there.
 *
 * Results.  A check leaves a typed result for later checks in cx->result
 * (its own struct, declared in its header, in message memory); readers
 * get it with msg_result() through the check's typed accessor.  It also
 * reports RFC 8601 results for the Authentication-Results field through
 * the verdict (verdict.h).  Checks never reach into each other's state.
 *
 * Memory: per-message state comes from the message arena where it can;
 * anything else (DNS lookups, hash contexts, threads) is released in
 * msg_end, which runs on every path (end of message, abort, close).
 *
 * Hooks return 0 to go on, or -1 on an internal error (after logging it
 * with the queue id); the check then takes no further part in the message
 * and the pipeline applies OnInternalError.
 */
#ifndef CACHET_CHECK_H
#define CACHET_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conffile.h"
#include "config.h"

struct msg;
struct msg_header;

/* What a hook gets about its own check, besides the message. */
struct check_ctx {
	const void *opts;	/* the check's option struct, or NULL */
	void *data;		/* what setup built, or NULL */
	void *state;		/* this message's state, set by msg_begin */
	const void *result;	/* its typed result for later checks, or NULL */
};

/* flags */
#define CHECK_SPOOL 0x1	/* reads the whole raw message (msg_spool()) at end of message */
/*
 * Reads the envelope recipients (m->rcpts).  The milter asks the MTA for
 * RCPT TO only when an enabled check has it; otherwise m->rcpts stays
 * empty there (`cachet check` fills it from --rcpt either way).
 */
#define CHECK_RCPT 0x2

struct check {
	const char *name;
	const char *const *needs;	/* NULL-terminated names, or NULL */
	const char *const *after;	/* NULL-terminated names, or NULL */
	unsigned flags;
	const struct conffile_schema *options;	/* its options, or NULL */

	/* Is it on with this configuration?  NULL = always. */
	bool (*enabled)(const struct config *cfg, const void *opts);
	/*
	 * When a snapshot is built (start-up, reload, `-n`), for an enabled
	 * check: builds what every message shares (key tables, loaded keys)
	 * into *data_r.  Returns 0, or -1 with *error_r (free() it) naming
	 * the file and what is wrong.  teardown frees it with the snapshot.
	 */
	int (*setup)(const struct config *cfg, const void *opts, void **data_r, char **error_r);
	void (*teardown)(void *data);

	/*
	 * At MAIL FROM: 1 = take part in this message, 0 = not for this one
	 * (no other hook runs for it), -1 = internal error.  NULL = take part.
	 */
	int (*msg_begin)(struct msg *m, struct check_ctx *cx);
	int (*header)(struct msg *m, struct check_ctx *cx, const struct msg_header *h);
	int (*eoh)(struct msg *m, struct check_ctx *cx);
	int (*body)(struct msg *m, struct check_ctx *cx, const uint8_t *data, size_t len);
	int (*eom)(struct msg *m, struct check_ctx *cx);
	int (*seal)(struct msg *m, struct check_ctx *cx);
	void (*msg_end)(struct msg *m, struct check_ctx *cx);
};

/*
 * The typed result the check named `check` left (cx->result), or NULL when
 * that check is off, did not take part, or has not finished (pipeline.c).
 * Each check wraps it in a typed accessor (spf_result_of(), ...).
 */
const void *msg_result(const struct msg *m, const char *check);

/* The production table (check.c), in its preferred order. */
extern const struct check *const check_table[];
extern const size_t check_table_len;

/*
 * Checks a table and computes the run order: names unique and non-empty,
 * every `needs` names a check of the table, no cycle of needs and after.
 * Fills order_r[0..n) with the table's indices in run order.  Returns 0 or
 * -1 with *error_r (free() it).
 */
int check_table_order(const struct check *const *t, size_t n, size_t *order_r,
		      char **error_r);

/* Index of the check named `name` in t, or -1. */
ptrdiff_t check_table_find(const struct check *const *t, size_t n, const char *name);

#endif
