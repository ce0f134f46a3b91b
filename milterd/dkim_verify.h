/*
 * The dkim_verify check (dkim_verify.c): every DKIM-Signature of inbound
 * mail, its result in Authentication-Results and, for later checks
 * (DMARC, reports), in a typed result.
 */
#ifndef CACHET_DKIM_VERIFY_H
#define CACHET_DKIM_VERIFY_H

#include <stddef.h>

#include "check.h"

#define DKIM_VERIFY_CHECK "dkim_verify"

/* Its options (MaximumSignaturesToVerify, MinimumKeyBits, ClockSkew). */
struct dkim_verify_options {
	unsigned max_signatures;	/* MaximumSignaturesToVerify */
	unsigned minimum_key_bits;	/* MinimumKeyBits (never below 1024) */
	unsigned clock_skew_ms;		/* ClockSkew: how far t= may lie ahead */
};

/* One signature's outcome. */
struct dkim_sig_result {
	const char *domain;	/* d=, or NULL when the signature did not parse that far */
	const char *selector;	/* s=, or NULL */
	const char *result;	/* RFC 8601: pass, fail, neutral, policy, temperror, permerror */
	const char *reason;	/* why not pass, or NULL */
};

/* The typed result: every signature checked, in header order. */
struct dkim_verify_result {
	const struct dkim_sig_result *sigs;
	size_t n;
};

extern const struct check check_dkim_verify;

/* The result of this message, or NULL (not verified, or not yet). */
static inline const struct dkim_verify_result *dkim_verify_result_of(const struct msg *m)
{
	return msg_result(m, DKIM_VERIFY_CHECK);
}

#endif
