/*
 * The dmarc check (RFC 7489): evaluates the DMARC policy of the RFC5322.From
 * domain of external mail against the SPF and DKIM results of the earlier
 * checks, enforces it, writes dmarc= into Authentication-Results, and
 * leaves the evaluation record as its typed result (struct dmarc_result):
 * the raw material of aggregate reports, for any later check that `needs`
 * dmarc (the report store).  See dmarc.c for what is decided where.
 */
#ifndef CACHET_DMARC_H
#define CACHET_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "check.h"
#include "dmarc_record.h"
#include "netlist.h"
#include "psl.h"

#define DMARC_CHECK "dmarc"

/* The header a DMARCQuarantine "header" disposition adds: "X-Cachet-DMARC: quarantine". */
#define DMARC_QUARANTINE_HEADER_NAME "X-Cachet-DMARC"
#define DMARC_QUARANTINE_HEADER_VALUE "quarantine"

/* DMARCQuarantine: what p=quarantine does to a failing message */
enum dmarc_quarantine {
	DMARC_QUARANTINE_HOLD,		/* the MTA's quarantine (Postfix: hold queue) */
	DMARC_QUARANTINE_HEADER,	/* accept, with a header for the MDA to file as junk */
};

/* Its options. */
struct dmarc_options {
	bool dmarc;			/* DMARC: evaluate DMARC */
	bool enforce;			/* DMARCEnforce */
	char *public_suffix_list;	/* PublicSuffixList */
	bool reject_multi_from;		/* RejectMultiFrom */
	int quarantine;			/* DMARCQuarantine: enum dmarc_quarantine */
	struct netlist *trusted_forwarders;	/* DMARCTrustedForwarders, or NULL */
	int on_temperror;		/* DMARCOnTempError: ON_ERROR_ACCEPT or _TEMPFAIL */
};

/* RFC 7489 Appendix C DispositionType: what was applied */
enum dmarc_disposition {
	DMARC_DIS_NONE,
	DMARC_DIS_QUARANTINE,
	DMARC_DIS_REJECT,
};

/* RFC 7489 Appendix C PolicyOverrideType */
enum dmarc_override {
	DMARC_OVERRIDE_FORWARDED,
	DMARC_OVERRIDE_SAMPLED_OUT,
	DMARC_OVERRIDE_TRUSTED_FORWARDER,
	DMARC_OVERRIDE_MAILING_LIST,
	DMARC_OVERRIDE_LOCAL_POLICY,
	DMARC_OVERRIDE_OTHER,
};

#define DMARC_MAX_REASONS 4

struct dmarc_reason {
	enum dmarc_override type;
	const char *comment;	/* or NULL */
};

/* One DKIM result the message carried (every signature, passing or not). */
struct dmarc_dkim {
	const char *domain;	/* d=, or NULL if the signature had none */
	const char *selector;	/* s=, or NULL */
	const char *result;	/* "pass", "fail", ... (RFC 8601 words) */
	bool aligned;		/* domain aligned with header_from under adkim */
};

/*
 * The typed result: one evaluation, everything an aggregate report row
 * needs.  It lives in the message's arena: a consumer copies what it keeps.
 */
struct dmarc_result {
	const char *qid;
	time_t when;
	const char *source_ip;		/* the client, "" if unknown */
	const char *envelope_from;	/* RFC5321.MailFrom domain, "" for <> */
	const char *header_from;	/* RFC5322.From domain, NULL if none usable */
	const char *result;		/* dmarc= result: pass, fail, none, temperror, permerror */

	/* the policy (RFC 7489 Appendix C PolicyPublishedType) */
	const char *policy_domain;	/* where the record was found, or NULL */
	const struct dmarc_record *policy;	/* NULL when there is none */
	bool used_sp;			/* sp= applied (From is a subdomain) */

	/* the identifiers evaluated */
	const char *spf_domain;		/* or NULL when SPF gave no result */
	const char *spf_result;		/* "pass", "fail", ...; or NULL */
	const char *spf_scope;		/* "mfrom" or "helo"; or NULL */
	bool spf_aligned;		/* SPF passed with an aligned domain */
	const struct dmarc_dkim *dkim;
	size_t n_dkim;
	bool dkim_aligned;		/* some DKIM signature passed, aligned */

	/* what was done (RFC 7489 Appendix C PolicyEvaluatedType) */
	enum dmarc_disposition disposition;
	struct dmarc_reason reasons[DMARC_MAX_REASONS];
	size_t n_reasons;
};

extern const struct check check_dmarc;

/* The evaluation of this message, or NULL (not evaluated, or not yet). */
static inline const struct dmarc_result *dmarc_result_of(const struct msg *m)
{
	return msg_result(m, DMARC_CHECK);
}

/*
 * Identifier alignment (RFC 7489 3.1): strict is an exact match, relaxed
 * the same Organizational Domain; case-insensitive, a trailing dot ignored.
 * A public suffix never aligns with anything but itself (RFC 7489 3.1.1:
 * d=com).  Scratch memory comes from the arena.
 */
bool dmarc_aligned(const struct psl *psl, struct arena *a, const char *from_domain,
		   const char *auth_domain, bool strict);

/*
 * The random source of pct= sampling (RFC 7489 6.6.4) of one snapshot: `data`
 * is what the check's setup built (struct check_ctx's data); fn returns
 * 0..99 (values above are taken modulo 100); NULL restores the default
 * (arc4random_uniform).  For tests, from a setup of their own that wraps
 * the check's (see tests/unit/test_dmarc.c).
 */
void dmarc_set_sampler(void *data, unsigned (*fn)(void *ctx), void *ctx);

const char *dmarc_disposition_name(enum dmarc_disposition d);	/* "none", ... */
const char *dmarc_override_name(enum dmarc_override o);	/* "sampled_out", ... */

#endif
