/*
 * DMARC policy records (RFC 7489 6.3, 6.4): our own parser, strict about
 * what decides whether a record exists and what it asks for, and about the
 * tag-list syntax it shares with DKIM (RFC 6376 3.2).
 *
 * A record is an error (no policy) when: "v=DMARC1" is not its first tag
 * (exact, case-sensitive, RFC 7489 6.3 "v"); a tag-spec is not
 * "name = value" with a valid name and value characters; a tag appears
 * twice (RFC 6376 3.2 makes the whole list invalid); or p= is missing or
 * invalid, or sp= is invalid, and rua= holds no valid URI.  With a valid
 * rua=, a missing or invalid p= (or invalid sp=) reads as "p=none" without
 * sp= (RFC 7489 6.6.3 step 6).  p= may come anywhere after v=.
 *
 * A bad value of any other known tag (adkim, aspf, pct, fo, rf, ri, an
 * invalid URI in rua/ruf) does not void the record: RFC 7489 6.3 says such
 * errors SHOULD be discarded in favour of the default, so the tag takes its
 * default and the record carries a warning for the log.  Unknown tags are
 * ignored (RFC 7489 6.3).  rua/ruf URIs are kept as written, size suffix
 * included ("mailto:a@example.com!10m").
 */
#ifndef CACHET_DMARC_RECORD_H
#define CACHET_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define DMARC_RECORD_MAX_LEN 4096	/* bytes of one record */
#define DMARC_RECORD_MAX_TAGS 64	/* tag-specs of one record */
#define DMARC_RECORD_MAX_URIS 8		/* kept per rua/ruf (RFC 7489 6.2: at least 2) */

/* p= and sp= (names chosen not to clash with libopendmarc's macros) */
enum dmarc_p {
	DMARC_P_NONE,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT,
};

/* fo= bits */
#define DMARC_FO_0 0x1
#define DMARC_FO_1 0x2
#define DMARC_FO_D 0x4
#define DMARC_FO_S 0x8

struct dmarc_record {
	enum dmarc_p p;
	bool p_assumed;		/* p=none taken from RFC 7489 6.6.3 step 6 */
	enum dmarc_p sp;	/* p when sp= is absent */
	bool sp_given;
	bool adkim_strict, aspf_strict;
	unsigned pct;		/* 0..100, default 100 */
	unsigned fo;		/* DMARC_FO_* bits, default DMARC_FO_0 */
	bool rf_afrf;		/* rf= names afrf (the default, and the only known format) */
	uint32_t ri;		/* seconds, default 86400 */
	const char **rua, **ruf;	/* valid URIs as written */
	size_t n_rua, n_ruf;
	const char *warning;	/* the first value discarded for its default, or NULL */
	size_t n_warnings;
};

/*
 * Does this TXT record announce DMARC (starts with a v=DMARC1 tag)?  RFC
 * 7489 6.6.3 steps 2 and 4: the others are discarded before counting.
 */
bool dmarc_record_is_dmarc(const char *text, size_t len);

/*
 * Parses a record.  Returns 0, or -1 with *error_r set to static text.
 * Strings come from the arena.
 */
int dmarc_record_parse(struct arena *a, const char *text, size_t len, struct dmarc_record *out,
		       const char **error_r);

const char *dmarc_p_name(enum dmarc_p p);	/* "none", "quarantine", "reject" */

#endif
