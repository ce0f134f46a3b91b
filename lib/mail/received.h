/*
 * Reading trace fields (RFC 5321 4.4, RFC 5322 3.6.7): who handed a
 * message to whom.  For `cachet check --from-received`, which takes the
 * client's address, its HELO name and the envelope sender from what a
 * receiver recorded in a message saved from a webmail's "show original".
 *
 * What receivers write varies, so the reader is lenient about order and
 * extras and strict about structure:
 *
 *	from HELO (RDNS [IP]) by HOST with PROTO id ID for <RCPT>; DATE   Postfix, Google
 *	from HELO (user@RDNS [IP]) (may be forged) by HOST (8.17.1/8.17.1) ...  Sendmail
 *	from RDNS ([IP]:PORT helo=HELO) by HOST with esmtps (TLS1.3) ...      Exim
 *	from [IP] (helo=HELO) by HOST ...                                      Exim, no rDNS
 *	from HOST (2603:10a6::8) by HOST (2603:...) with Microsoft SMTP ...   Exchange
 *	by 2002:a05:6a10::1 with SMTP id ID; DATE                             internal hops
 *
 * Clauses (from, by, via, with, id, for) come in any order, unknown words
 * and comments anywhere are skipped, an address literal may be "[IPv6:...]"
 * or a bare address in the comment, and the date is what follows the last
 * ";" outside comments.  Comments nested deeper than RECEIVED_COMMENT_DEPTH
 * and a comment, quoted string, literal or angle address that does not end
 * are errors.  Nothing is looked up: the names are as the receiver wrote
 * them.
 */
#ifndef CACHET_RECEIVED_H
#define CACHET_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"

/* Comments nested deeper than this are refused (hostile input only). */
#define RECEIVED_COMMENT_DEPTH 16
/* A field longer than this is refused (header limits keep them far smaller). */
#define RECEIVED_MAX_LEN 65536

struct received {
	/*
	 * The from clause's domain or address literal as written: the name the
	 * client gave in HELO/EHLO (Postfix, Google, Sendmail) or its reverse
	 * DNS name (Exim, which then adds "helo=").  NULL: no from clause.
	 */
	const char *from;
	const char *from_comment;	/* the from clause's comment(s), unfolded, or NULL */
	const char *rdns;	/* the name in that comment ("unknown" kept), or NULL */
	const char *ip;		/* the client's address, normalised (no "IPv6:"), or NULL */
	const char *helo;	/* "helo=NAME" in the comment, else `from` unless a literal; or NULL */
	const char *by;		/* the host that added the field, or NULL */
	const char *via, *with, *id, *for_;	/* as written, or NULL */
	const char *date;	/* after the last ";" outside comments, trimmed, or NULL */
};

/*
 * Parses a Received field's value (after the colon, folded or not).
 * Returns 0, or -1 with *error_r (static text).  Strings come from the
 * arena, unfolded.
 */
int received_parse(struct arena *a, const char *value, size_t len, struct received *out,
		   const char **error_r);

/* Do two host names match: ASCII case ignored, one trailing dot ignored? */
bool received_host_is(const char *host, const char *name);

/*
 * A date-time of RFC 5322 3.3 (a Received field's date), with the obsolete
 * forms of 4.3 receivers still write: two- or three-digit years, zone
 * names (UT, GMT, EST ... PDT; military letters count as -0000, "unknown"),
 * seconds left out, comments anywhere ("(UTC)").  Sets *out (seconds since
 * 1970, UTC) and returns 0, or -1 when it is not one or is before 1970.
 */
int received_date_parse(const char *date, time_t *out);

#endif
