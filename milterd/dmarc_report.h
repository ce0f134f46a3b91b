/*
 * The DMARC reporting hook: every DMARC evaluation (every external message
 * the dmarc check runs on) ends in one report record, the raw material of
 * RFC 7489 7.2 aggregate reports, handed to the hook registered here.  By
 * default none is registered and records are dropped; the report store
 * (a later module) registers one at start-up.
 *
 * The record and everything it points to live only during the call (they
 * belong to the message's arena): a hook copies what it keeps.  Hooks run
 * on the message's thread, inside end of message, so they must be quick
 * (queue the record, do not send anything).
 */
#ifndef CACHET_DMARC_REPORT_H
#define CACHET_DMARC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dmarc_record.h"

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

#define DMARC_REPORT_MAX_REASONS 4

struct dmarc_report_reason {
	enum dmarc_override type;
	const char *comment;	/* or NULL */
};

/* One DKIM result the message carried (every signature, passing or not). */
struct dmarc_report_dkim {
	const char *domain;	/* d=, or NULL if the signature had none */
	const char *selector;	/* s=, or NULL */
	const char *result;	/* "pass", "fail", ... (RFC 8601 words) */
	bool aligned;		/* domain aligned with header_from under adkim */
};

struct dmarc_report_record {
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
	const struct dmarc_report_dkim *dkim;
	size_t n_dkim;
	bool dkim_aligned;		/* some DKIM signature passed, aligned */

	/* what was done (RFC 7489 Appendix C PolicyEvaluatedType) */
	enum dmarc_disposition disposition;
	struct dmarc_report_reason reasons[DMARC_REPORT_MAX_REASONS];
	size_t n_reasons;
};

/*
 * Registers the hook (NULL removes it).  Meant for start-up, but safe at
 * any time: records in flight go to the hook that was registered when
 * they were emitted.
 */
void dmarc_report_set_hook(void (*hook)(const struct dmarc_report_record *r, void *ctx),
			   void *ctx);
/* Hands a record to the hook, if any (called by the dmarc check). */
void dmarc_report_emit(const struct dmarc_report_record *r);

const char *dmarc_disposition_name(enum dmarc_disposition d);	/* "none", ... */
const char *dmarc_override_name(enum dmarc_override o);	/* "sampled_out", ... */

#endif
