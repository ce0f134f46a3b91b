/*
 * The SPF check (RFC 7208) as a pipeline module: see spf.c.  Its results
 * are "spf" entries in Authentication-Results and, for later checks
 * (DMARC), a typed result: one outcome per identity evaluated, MAIL FROM
 * and HELO.
 */
#ifndef CACHET_SPF_H
#define CACHET_SPF_H

#include <stdbool.h>

#include "check.h"

#define SPF_CHECK "spf"

/* Its options. */
struct spf_options {
	bool spf;			/* SPF: evaluate SPF */
	bool reject_fail;		/* SPFRejectFail */
	bool add_received_spf;		/* AddReceivedSPF */
	unsigned timeout_ms;		/* SPFTimeout: wall-clock budget of one evaluation */
};

struct spf_explain;

/* The outcome for one identity. */
struct spf_identity_result {
	const char *result;	/* RFC 8601: pass, fail, softfail, neutral, none, temperror, permerror */
	const char *domain;	/* the identity's domain, or NULL (MAIL FROM that did not parse) */
	/*
	 * Why (spf_dns.h), in message memory: with the configuration's
	 * `explain` only, and only for an evaluation that finished; else NULL.
	 */
	const struct spf_explain *explain;
};

/*
 * The typed result.  mfrom is NULL for the null sender (its identity is
 * HELO's, RFC 7208 2.4); helo is NULL when HELO was not a domain name.
 */
struct spf_result {
	const struct spf_identity_result *mfrom;
	const struct spf_identity_result *helo;
};

extern const struct check check_spf;

/* The result of this message, or NULL (not evaluated, or not yet). */
static inline const struct spf_result *spf_result_of(const struct msg *m)
{
	return msg_result(m, SPF_CHECK);
}

#endif
