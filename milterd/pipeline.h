/*
 * The message pipeline: what cachet does with a connection and its
 * messages, independent of libmilter.  Two thin drivers feed it: the milter
 * (milter.c, one thread per SMTP connection) and `cachet check` (a message
 * file, through feed.c).  Unit tests drive it directly or through feed.c.
 *
 *	connect -> helo -> envfrom -> envrcpt* -> header* -> eoh -> body* -> eom
 *
 * Checks are modules (struct check, see check.h) with a hook per stage they
 * need.  The pipeline calls the enabled ones in the runtime's order,
 * collects their results into the message's verdict (verdict.h), and ends
 * the message in three steps: the checks decide (eom), the verdict becomes
 * final (action, Authentication-Results value), then the checks that must
 * see the header as it will leave run (seal: signing), and everything
 * becomes header edits and an action for the driver to apply.
 *
 * The spool: when an enabled check has CHECK_SPOOL, the pipeline keeps the
 * raw message as it streams (header fields as received with CRLF line ends,
 * the empty line, the body): in memory up to SpoolMemoryLimit, beyond that
 * in an unnamed temporary file in SpoolDirectory (lib/util/spool.h), and
 * checks read it through msg_spool() whatever the backing.  When no check
 * asks, nothing is kept: body hashes stream as the body passes.
 *
 * Order: a driver may call the stages in any order and any number of
 * times (a hostile or broken MTA): a header field after end of header is
 * ignored (logged once), a body or end of message without end of header
 * ends the header first, a second end of message returns the first's
 * result.  Every hook still runs at most once per stage it belongs to.
 *
 * Lifetimes: a connection owns an arena freed by pipeline_conn_free(); a
 * message owns an arena (and its spool) freed by pipeline_msg_end(), which
 * drivers call on every path (end of message, abort, close, error).
 * Nothing per-message outlives its message.
 */
#ifndef CACHET_PIPELINE_H
#define CACHET_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "arena.h"
#include "array.h"
#include "check.h"
#include "header.h"
#include "runtime.h"
#include "spool.h"
#include "verdict.h"

/* A header field as the message carried it. */
struct msg_header {
	const char *name;
	const char *value;	/* after the colon, folds as CRLF+WSP, no final CRLF */
	size_t value_len;
};

struct msg_headers {
	struct msg_header *v;
	size_t n, cap;
};

struct conn {
	struct arena *arena;
	struct runtime *rt;	/* snapshot taken at connect; one reference */
	const char *client_ip;	/* text, or "" when the MTA gave none */
	const char *client_host;	/* as the MTA names it, or "unknown" */
	bool internal;		/* client in InternalHosts */
	const char *helo;	/* or NULL */
	unsigned messages;	/* messages started on this connection */
	struct msg *msg;	/* the message in progress, or NULL */
};

struct msg_private;

struct msg {
	struct arena *arena;
	struct conn *conn;
	const struct runtime *rt;	/* the connection's snapshot */
	const struct config *cfg;	/* rt->cfg */
	const char *qid;	/* queue id, or "NOQUEUE" until the MTA gives one */
	const char *auth_user;	/* SASL login name, or NULL */
	bool internal;		/* internal client or authenticated sender */
	const char *mail_from_raw;	/* as given */
	struct addr mail_from;	/* parsed; local = domain = "" for <> */
	bool mail_from_valid;
	struct {
		const char **v;
		size_t n, cap;
	} rcpts;		/* RCPT TO as given; the milter's only for CHECK_RCPT (check.h) */

	struct msg_headers headers;	/* stored fields, in order */
	size_t header_fields_seen;	/* including any beyond the limit */
	size_t header_bytes_seen;
	enum hdr_error header_limit;	/* first limit exceeded, or HDR_OK */
	bool eoh_done;

	uint64_t body_bytes;
	time_t now;		/* the message's clock (fixed by `cachet check --now`) */
	struct verdict verdict;
	struct check_ctx *cx;	/* per check of rt, in run order */
	struct msg_private *priv;	/* the pipeline's own bookkeeping */
};

/* What the driver must do at end of message. */
struct eom_result {
	enum action action;
	const char *smtp_code;	/* "550", or NULL for the MTA's default */
	const char *smtp_xcode;	/* "5.7.1", or NULL */
	const char *smtp_text;	/* or NULL */
	const struct header_edit *edits;	/* in the order to apply them */
	size_t n_edits;
	const char *ar_value;	/* our Authentication-Results value (added only on delivery) */
};

/*
 * Starts a connection.  rt gets one more reference (dropped at free).
 * addr may be NULL (unknown); hostname may be NULL.
 */
struct conn *pipeline_conn_new(struct runtime *rt, const char *hostname,
			       const struct sockaddr *addr);
/* Same, with the address as text (the CLI's --client-ip). */
struct conn *pipeline_conn_new_text(struct runtime *rt, const char *hostname,
				    const char *ip);
/* Ends the message in progress (if any) and frees the connection. */
void pipeline_conn_free(struct conn **c);

void pipeline_helo(struct conn *c, const char *helo);

/*
 * Starts a message (ending any previous one).  mail_from is the envelope
 * sender as the MTA gives it ("<a@b>"), auth_user the SASL login or NULL.
 * Returns the message, owned by the connection.
 */
struct msg *pipeline_msg_begin(struct conn *c, const char *mail_from, const char *auth_user);
void pipeline_msg_set_qid(struct msg *m, const char *qid);
void pipeline_rcpt(struct msg *m, const char *rcpt);
/* One header field; value as after the colon (LF or CRLF folds). */
void pipeline_header(struct msg *m, const char *name, const char *value, size_t value_len);
void pipeline_eoh(struct msg *m);
void pipeline_body(struct msg *m, const uint8_t *data, size_t len);
/*
 * Ends the message: decide, final verdict, seal (see the top).  The result
 * lives in the message's arena: use it before pipeline_msg_end().
 */
const struct eom_result *pipeline_eom(struct msg *m);
/* Frees the message in progress, whatever stage it reached. */
void pipeline_msg_end(struct conn *c);

/*
 * Records that the header went over a limit before the pipeline saw all of
 * it (a driver's reader stopped early); the first limit reported stays.
 */
void pipeline_header_limit(struct msg *m, enum hdr_error e);

/* Has the header already gone over a limit?  (The milter can stop early.) */
bool pipeline_over_limit(const struct msg *m);

/* ---- for checks ---- */

/*
 * The raw message so far (the whole of it at end of message), or NULL when
 * no enabled check has CHECK_SPOOL or the spool failed (then the message
 * gets OnInternalError).  Read it with spool_read_at().
 */
const struct spool *msg_spool(const struct msg *m);

/*
 * In the seal phase: the header as it will leave, top to bottom: the
 * fields received minus the forged Authentication-Results fields removed,
 * with the header edits of the decide phase applied, our
 * Authentication-Results field on top, and the edits of earlier seal hooks.
 * Values as in struct msg_header (a leading space, CRLF folds).  The array
 * lives in the message arena; NULL outside the seal phase.
 */
const struct msg_headers *pipeline_final_header(struct msg *m);

#endif
