/*
 * The verdict of one message: the results checks report (in RFC 8601
 * terms) for the Authentication-Results field, the action, and at end of
 * message the header edits that carry it:
 * the removal of forged Authentication-Results fields that claim our
 * authserv-id, and our own field at the top of the header.
 *
 * Actions combine by severity, so a check can never weaken another's
 * decision: reject > tempfail > discard > quarantine > accept.  A temporary
 * failure never turns into a reject (STYLE: "A temporary failure never
 * becomes a reject") because checks report temperror results and only
 * choose `reject` on a definite answer.
 */
#ifndef CACHET_VERDICT_H
#define CACHET_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "array.h"
#include "buf.h"

enum action {
	ACTION_ACCEPT,
	ACTION_QUARANTINE,
	ACTION_DISCARD,
	ACTION_TEMPFAIL,
	ACTION_REJECT,
};

/* One resinfo of RFC 8601 2.2: method=result [reason=...] (comment) props. */
struct ar_result {
	const char *method;	/* "dkim", "spf", ... */
	const char *result;	/* "pass", "fail", ... */
	const char *reason;	/* or NULL */
	const char *comment;	/* or NULL: put in parentheses after the result */
	const char *props;	/* "header.d=example.com header.s=sel", or NULL */
};

enum edit_op {
	EDIT_INSERT,	/* insert name: value at `index` (0 = top) */
	EDIT_DELETE,	/* delete the index-th (1-based) field of this name */
	EDIT_ADD,	/* append name: value at the end of the header */
};

struct header_edit {
	enum edit_op op;
	const char *name;
	const char *value;	/* NULL for EDIT_DELETE */
	size_t index;
};

struct verdict {
	ARRAY(struct ar_result) results;	/* in the order reported */
	enum action action;
	const char *action_by;	/* the check that chose it */
	const char *smtp_code, *smtp_xcode, *smtp_text;
	bool internal_error;	/* a check failed internally */
	ARRAY(struct header_edit) edits;	/* header changes checks asked for */
	ARRAY(const char *) notes;	/* for the message's log line */
};

const char *action_name(enum action a);

/* Records a result (strings are copied into the arena). */
void verdict_add_result(struct arena *a, struct verdict *v, const struct ar_result *r);
/*
 * Proposes an action; the most severe proposal wins (see above).  code,
 * xcode and text go with it (copied; any may be NULL).
 */
void verdict_propose(struct arena *a, struct verdict *v, enum action act, const char *by,
		     const char *code, const char *xcode, const char *text);

/*
 * Asks for a header change at end of message (a Received-SPF field, a
 * DKIM-Signature in the seal phase).  Applied in the order asked, after
 * forged Authentication-Results fields are deleted and before ours goes on
 * top.  Strings are copied.
 */
void verdict_add_edit(struct arena *a, struct verdict *v, enum edit_op op, const char *name,
		      const char *value, size_t index);

/*
 * Adds a word to the one log line of the message (copied), beyond what the
 * Authentication-Results value says: `signed="d=... s=..."` from the signer.
 */
void verdict_note(struct arena *a, struct verdict *v, const char *note);

/*
 * The value of our Authentication-Results field, on one line:
 * "mx.example.net; none" or "mx.example.net; spf=pass smtp.mailfrom=...; ...".
 * Returns an arena string.
 */
char *verdict_ar_value(struct arena *a, const char *authserv_id, const struct verdict *v);

#endif
