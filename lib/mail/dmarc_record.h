/*
 * DMARC Policy Records (RFC 9989 4.7, 4.8): our own parser, strict about
 * what decides whether a record exists and what it asks for, lenient where
 * RFC 9989 4.8 says syntax errors are to be discarded.
 *
 * A record is an error (no policy) when: "v=DMARC1" is not its first tag
 * (exact, case-sensitive, RFC 9989 4.7 "v"); a tag appears twice (the
 * DKIM tag-list rule RFC 9989 4.7 refers to, RFC 6376 3.2, makes the whole
 * list invalid); it has more than DMARC_RECORD_MAX_TAGS tags; or p= is
 * missing or invalid, or sp= or np= is invalid, and rua= holds no valid
 * URI (RFC 9989 4.10.1).  With a valid rua=, those read as "p=none"
 * without sp= or np= (ibid.).  p= may come anywhere after v=.
 *
 * Everything else that is wrong is discarded in favour of the default
 * (RFC 9989 4.8), and the record carries a warning for the log: a bad
 * value of adkim, aspf, fo, t or psd, an invalid URI in rua/ruf, a
 * tag-spec that is not "name=value".  Unknown tags are ignored.  The tags
 * RFC 9989 removed (pct, rf, ri: "historic", RFC 9989 9.3 and C.5.2) are
 * ignored too, but noted, so a record written for RFC 7489 can be named
 * as such ("pct=0" meant what "t=y" means now, RFC 9989 A.6; we do not
 * read it so).  rua/ruf URIs are kept as written, an obsolete size suffix
 * included ("mailto:a@example.com!10m", RFC 9989 4.8 obs-dmarc-uri).
 *
 * Limits: a record of up to DMARC_RECORD_MAX_LEN bytes (what one DNS TXT
 * record can carry, so long lists of report URIs are no error); the first
 * DMARC_RECORD_MAX_URIS valid URIs of rua and of ruf are kept, the rest
 * dropped with a warning.
 */
#ifndef CACHET_DMARC_RECORD_H
#define CACHET_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

#define DMARC_RECORD_MAX_LEN 65535	/* bytes of one record: a TXT record's RDATA */
#define DMARC_RECORD_MAX_TAGS 64	/* tag-specs of one record */
#define DMARC_RECORD_MAX_URIS 8		/* kept per rua/ruf */

/* p=, sp= and np= (names chosen not to clash with libopendmarc's macros) */
enum dmarc_p {
	DMARC_P_NONE,
	DMARC_P_QUARANTINE,
	DMARC_P_REJECT,
};

/* psd= (RFC 9989 4.7) */
enum dmarc_psd {
	DMARC_PSD_U,	/* the default: may or may not be an Organizational Domain */
	DMARC_PSD_Y,	/* a Public Suffix Domain */
	DMARC_PSD_N,	/* the Organizational Domain of itself and its subdomains */
};

/* Tags RFC 9989 removed, seen in a record (RFC 7489's) */
#define DMARC_HISTORIC_PCT 0x1
#define DMARC_HISTORIC_RF 0x2
#define DMARC_HISTORIC_RI 0x4

/* fo= bits */
#define DMARC_FO_0 0x1
#define DMARC_FO_1 0x2
#define DMARC_FO_D 0x4
#define DMARC_FO_S 0x8

struct dmarc_record {
	enum dmarc_p p;
	bool p_assumed;		/* p=none taken from RFC 9989 4.10.1 (bad p=, valid rua=) */
	enum dmarc_p sp;	/* p when sp= is absent */
	bool sp_given;
	enum dmarc_p np;	/* sp when np= is absent */
	bool np_given;
	bool testing;		/* t=y */
	enum dmarc_psd psd;
	bool adkim_strict, aspf_strict;
	unsigned fo;		/* DMARC_FO_* bits, default DMARC_FO_0 */
	unsigned historic;	/* DMARC_HISTORIC_* tags seen (ignored) */
	const char **rua, **ruf;	/* valid URIs as written */
	size_t n_rua, n_ruf;
	const char *warning;	/* the first value discarded for its default, or NULL */
	size_t n_warnings;
};

/*
 * Does this TXT record announce DMARC (starts with a v=DMARC1 tag)?  RFC
 * 9989 4.10 steps 2 and 6: the others are discarded before counting.
 */
bool dmarc_record_is_dmarc(const char *text, size_t len);

/*
 * Why a TXT record at a _dmarc name is not a DMARC record, in words for a
 * person (static text: "v=DMARC1 is not its first tag", ...), or NULL when
 * it is one (dmarc_record_is_dmarc).  For cachet check and doctor.
 */
const char *dmarc_record_why_not(const char *text, size_t len);

/*
 * Parses a record.  Returns 0, or -1 with *error_r set to static text.
 * Strings come from the arena.
 */
int dmarc_record_parse(struct arena *a, const char *text, size_t len, struct dmarc_record *out,
		       const char **error_r);

const char *dmarc_p_name(enum dmarc_p p);	/* "none", "quarantine", "reject" */
const char *dmarc_psd_name(enum dmarc_psd p);	/* "u", "y", "n" */

#endif
