/*
 * The parts of `cachet check` that share data: check.c (options, the run,
 * the summary), check_explain.c (the walk-through a receiver makes, from
 * the checks' typed reasons) and check_received.c (--from-received: the
 * envelope from what another receiver recorded, and its
 * Authentication-Results set beside ours).
 */
#ifndef CACHET_CLI_EXPLAIN_H
#define CACHET_CLI_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ar.h"
#include "buf.h"
#include "pipeline.h"
#include "received.h"

/* What another receiver recorded, read from the message's header. */
struct rx_source {
	const char *receiver_id;	/* whose fields (--receiver-id, or the first AR's) */
	size_t received_field;		/* the Received field used: 1-based header field number */
	struct received rcv;
	const char *mail_from;		/* from the topmost Return-Path, no <>; "" for <>; or NULL */
	size_t ar_field;		/* their topmost Authentication-Results: field number, or 0 */
	const char *ar_text;		/* its value, unfolded; or NULL */
	bool have_ar;			/* it was read into `theirs` */
	const char *ar_error;		/* else why it does not read, or NULL */
	struct ar_field theirs;
	/*
	 * The clock was set to that Received field's date (no --now), so that
	 * signature times are judged as the receiver judged them.
	 */
	bool clock_from_date;
};

/*
 * Reads the header of the message (p, n) and fills src for receiver_id
 * (NULL: the authserv-id of the topmost Authentication-Results field, or
 * with none the `by` of the topmost Received field with a from clause).
 * Returns 0; or -1 with *error_r (an arena string) and *status_r: 2 when
 * no Received field was added by that receiver, 1 when a Received field
 * that had to be read does not parse (the error names it).
 */
int rx_read(struct arena *a, const uint8_t *p, size_t n, const char *receiver_id,
	    struct rx_source *src, const char **error_r, int *status_r);

/* How their result and ours compare (JSON words: rx_diff_name). */
enum rx_diff {
	RX_SAME,		/* the same result */
	RX_THEIRS_ONLY,		/* a method they report and we do not check (arc, ...) */
	RX_OURS_ONLY,		/* a result of ours they do not mention */
	RX_BODY_CHANGED,	/* they pass a DKIM signature whose body hash fails now */
	RX_HEADER_CHANGED,	/* ... whose signed header fields changed */
	RX_KEY_GONE,		/* ... whose key is not found now */
	RX_KEY_CHANGED,		/* ... whose published key is another now */
	RX_KEY_TEMP,		/* ... whose key lookup fails temporarily now */
	RX_EXPIRED,		/* ... which has expired since (x=) */
	RX_SPF_DNS,		/* SPF differs for the same envelope: DNS then and now */
	RX_FOLLOWS,		/* DMARC differs because SPF or DKIM did */
	RX_DMARC_DNS,		/* DMARC differs on its own: the record then and now */
	RX_DIFFERENT,		/* differs, for a reason these data cannot tell */
};

struct rx_row {
	const char *method;	/* "spf", "dkim", "dmarc", ... */
	const char *what;	/* the identifier compared ("d=example.com s=sel"), or NULL */
	const char *theirs;	/* their result, or NULL */
	const char *ours;	/* ours, or NULL */
	enum rx_diff diff;
	const char *why;	/* in words, for the text output; NULL when the same */
};

/* Their results beside ours; rows in the arena.  Returns how many. */
size_t rx_compare(struct msg *m, const struct rx_source *src, struct rx_row **rows_r);
const char *rx_diff_name(enum rx_diff d);	/* "same", "body changed", ... */

/* Where the envelope came from, for the walk-through. */
struct explain_envelope {
	const struct rx_source *rx;	/* --from-received, or NULL (options) */
};

/* The walk-through in text, then nothing else (check.c prints the AR). */
void explain_print_text(struct msg *m, const struct explain_envelope *env);
/* The reasons as JSON members (",\"envelope\":{...},\"explain\":{...}"). */
void explain_put_json(struct buf *b, struct msg *m, const struct explain_envelope *env);
/* Their fields beside ours: text, and a JSON member ",\"received\":{...}". */
void rx_print_text(struct msg *m, const struct rx_source *src);
void rx_put_json(struct buf *b, struct msg *m, const struct rx_source *src);

#endif
