/*
 * The dmarc check (RFC 9989): evaluates the DMARC policy of the
 * RFC5322.From domain of external mail against the SPF and DKIM results of
 * the earlier checks, enforces it, writes dmarc= into
 * Authentication-Results, and leaves the evaluation record as its typed
 * result (struct dmarc_result): the raw material of aggregate reports
 * (RFC 9990), for any later check that `needs` dmarc (the report store).
 * See dmarc.c for what is decided where, dmarc_walk.h for discovery.
 */
#ifndef CACHET_DMARC_H
#define CACHET_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "check.h"
#include "dmarc_record.h"
#include "dmarc_walk.h"
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
	int discovery;			/* DMARCDiscovery: enum dmarc_discovery */
	int reject_as;			/* DMARCRejectAs: DMARC_P_REJECT or DMARC_P_QUARANTINE */
	struct netlist *trusted_forwarders;	/* DMARCTrustedForwarders, or NULL */
	int on_temperror;		/* DMARCOnTempError: ON_ERROR_ACCEPT or _TEMPFAIL */
};

/* RFC 9990 A DispositionType: what was applied */
enum dmarc_disposition {
	DMARC_DIS_NONE,
	DMARC_DIS_QUARANTINE,
	DMARC_DIS_REJECT,
};

/* RFC 9990 A PolicyOverrideType: why the policy was not applied as published */
enum dmarc_override {
	DMARC_OVERRIDE_LOCAL_POLICY,
	DMARC_OVERRIDE_MAILING_LIST,
	DMARC_OVERRIDE_OTHER,
	DMARC_OVERRIDE_POLICY_TEST_MODE,
	DMARC_OVERRIDE_TRUSTED_FORWARDER,
};

/* Which tag of the record gave the policy (RFC 9989 4.10.1). */
enum dmarc_policy_from {
	DMARC_FROM_P,	/* the author domain's own record */
	DMARC_FROM_SP,	/* an existing subdomain of the policy domain */
	DMARC_FROM_NP,	/* a subdomain that does not exist (RFC 9989 3.2.13) */
};

#define DMARC_MAX_REASONS 4
/* the SPF and DKIM domains one message may walk for relaxed alignment */
#define DMARC_MAX_ALIGN_WALKS 6

struct dmarc_reason {
	enum dmarc_override type;
	const char *comment;	/* or NULL */
};

/* How an identifier's domain compares with the Author Domain (RFC 9989 4.4). */
enum dmarc_align {
	DMARC_ALIGN_NOT_EVALUATED,	/* no policy: alignment was not looked at */
	DMARC_ALIGN_EXACT,		/* the same name (aligned in either mode) */
	DMARC_ALIGN_RELAXED,		/* the same Organizational Domain (relaxed mode) */
	DMARC_ALIGN_STRICT_DIFFERS,	/* strict mode, another name: not aligned */
	DMARC_ALIGN_OTHER_ORG,		/* outside the Author Domain's Organizational Domain */
	DMARC_ALIGN_NOT_WALKED,		/* under it, but it did not pass: not looked up */
	DMARC_ALIGN_UNKNOWN,		/* a lookup failed, or too many walks */
	DMARC_ALIGN_NO_DOMAIN,		/* the identifier had no domain */
};

/* One DKIM result the message carried (every signature, passing or not). */
struct dmarc_dkim {
	const char *domain;	/* d=, or NULL if the signature had none */
	const char *selector;	/* s=, or NULL */
	const char *result;	/* "pass", "fail", ... (RFC 8601 words) */
	bool aligned;		/* domain aligned with header_from under adkim */
	enum dmarc_align align;	/* how it compared */
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

	/* the policy (RFC 9990 A PolicyPublishedType) */
	enum dmarc_discovery discovery;	/* how it was found (discovery_method) */
	const char *policy_domain;	/* where the record was found, or NULL */
	const char *org_domain;		/* the author domain's Organizational Domain, or NULL */
	const struct dmarc_record *policy;	/* NULL when there is none */
	enum dmarc_policy_from policy_from;	/* p, sp or np */
	enum dmarc_p policy_value;	/* that tag's value, as published */
	bool testing;			/* t=y: the policy is applied one level lower */
	enum dmarc_p applied;		/* what a failure gets after t= (policy.dmarc) */

	/* the identifiers evaluated */
	const char *spf_domain;		/* or NULL when SPF gave no result */
	const char *spf_result;		/* "pass", "fail", ...; or NULL */
	const char *spf_scope;		/* "mfrom" or "helo"; or NULL */
	bool spf_aligned;		/* SPF passed with an aligned domain */
	enum dmarc_align spf_align;	/* how the SPF domain compared */
	const struct dmarc_dkim *dkim;
	size_t n_dkim;
	bool dkim_aligned;		/* some DKIM signature passed, aligned */

	/* what was done (RFC 9990 A PolicyEvaluatedType) */
	enum dmarc_disposition disposition;
	struct dmarc_reason reasons[DMARC_MAX_REASONS];
	size_t n_reasons;

	/* why (with the configuration's explain, cachet check; else NULL, 0) */
	const struct dmarc_seen *seen;	/* the _dmarc names discovery read, and their TXT */
	size_t n_seen;
	const char *why_none;		/* result none, permerror or temperror: in words */
};

extern const struct check check_dmarc;

/* The evaluation of this message, or NULL (not evaluated, or not yet). */
static inline const struct dmarc_result *dmarc_result_of(const struct msg *m)
{
	return msg_result(m, DMARC_CHECK);
}

/*
 * Identifier alignment with Organizational Domains from the Public Suffix
 * List (RFC 7489 3.1, DMARCDiscovery psl): strict is an exact match,
 * relaxed the same Organizational Domain; case-insensitive, a trailing dot
 * ignored.  A public suffix never aligns with anything but itself (d=com).
 * Scratch memory comes from the arena.  (The tree walk's alignment needs
 * DNS: dmarc.c, over dmarc_walk.h.)
 */
bool dmarc_aligned(const struct psl *psl, struct arena *a, const char *from_domain,
		   const char *auth_domain, bool strict);

const char *dmarc_disposition_name(enum dmarc_disposition d);	/* "none", ... */
const char *dmarc_override_name(enum dmarc_override o);	/* "policy_test_mode", ... */
const char *dmarc_policy_from_name(enum dmarc_policy_from f);	/* "p", "sp", "np" */
const char *dmarc_align_name(enum dmarc_align a);	/* "exact", "relaxed", ... */

#endif
