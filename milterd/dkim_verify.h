/*
 * The dkim_verify check (dkim_verify.c): every DKIM-Signature of inbound
 * mail, its result in Authentication-Results and, for later checks
 * (DMARC, reports), in a typed result.
 */
#ifndef CACHET_DKIM_VERIFY_H
#define CACHET_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"

#define DKIM_VERIFY_CHECK "dkim_verify"

/* Its options (MaximumSignaturesToVerify, MinimumKeyBits, ClockSkew). */
struct dkim_verify_options {
	unsigned max_signatures;	/* MaximumSignaturesToVerify */
	unsigned minimum_key_bits;	/* MinimumKeyBits (never below 1024) */
	unsigned clock_skew_ms;		/* ClockSkew: how far t= may lie ahead */
};

/* Why a signature ended as it did (cachet check), one word each. */
enum dkim_why {
	DKIM_WHY_PASS,		/* it verified */
	DKIM_WHY_SIGNATURE_SYNTAX,	/* the DKIM-Signature field itself (a tag missing or wrong) */
	DKIM_WHY_TIME,		/* expired (x=), or made in the future (t=) */
	DKIM_WHY_KEY_TEMP,	/* the key lookup failed temporarily */
	DKIM_WHY_NO_KEY,	/* no TXT record at S._domainkey.D */
	DKIM_WHY_KEY_SYNTAX,	/* a record there, but no key a verifier can use */
	DKIM_WHY_KEY_UNFIT,	/* a key that cannot verify this signature (k=, h=, t=s, size) */
	DKIM_WHY_BODY_CHANGED,	/* bh= is not the body's hash */
	DKIM_WHY_HEADER_CHANGED,	/* made with the published key over other header fields */
	DKIM_WHY_KEY_MISMATCH,	/* not made with the published key (rotated? wrong key?) */
	DKIM_WHY_SIGNATURE,	/* b= does not verify; which of the two cannot be told (Ed25519) */
	DKIM_WHY_POLICY,	/* it verified but is not accepted here (short key, l=) */
	DKIM_WHY_INTERNAL,	/* OpenSSL failed */
};

/*
 * The reasons behind one signature's result, for a person: filled only
 * with the configuration's `explain` (cachet check).  Arena memory.
 */
struct dkim_sig_explain {
	enum dkim_why why;
	const char *algorithm;	/* a=, or NULL */
	const char *canon;	/* c= as "header/body" */
	const char *auid;	/* i= (or its default "@d"), or NULL */
	const char *const *headers;	/* h=, as written */
	size_t n_headers;
	bool has_t, has_x, has_l;
	uint64_t t, x, l;
	const char *key_name;	/* S._domainkey.D, or NULL (no d= or s=) */
	const char *key_status;	/* the lookup: "ok", "nxdomain", "nodata", ...; NULL: not made */
	const char *key_record;	/* the TXT record found (the first), or NULL */
	size_t key_records;	/* TXT records at key_name */
	const char *const *key_problems;	/* what is wrong with the record, in words */
	size_t n_key_problems;
	int key_bits;		/* 0 when no key parsed */
	const char *key_type;	/* "rsa", "ed25519", or NULL */
	bool key_testing;	/* t=y */
	const char *body_hash;	/* bh= as signed, base64 */
	const char *body_hash_computed;	/* the body's, base64 (BODY_CHANGED), or NULL */
	uint64_t body_length;	/* canonical body bytes hashed (once the body was hashed) */
	/* BODY_CHANGED: does b= still verify over the header fields?  Or was it
	   not made with the published key at all (RSA only, see dkim.h)? */
	bool headers_verify;
	bool other_key;
};

/* One signature's outcome. */
struct dkim_sig_result {
	const char *domain;	/* d=, or NULL when the signature did not parse that far */
	const char *selector;	/* s=, or NULL */
	const char *result;	/* RFC 8601: pass, fail, neutral, policy, temperror, permerror */
	const char *reason;	/* why not pass, or NULL */
	const struct dkim_sig_explain *explain;	/* with `explain` only, else NULL */
};

/* "pass", "body changed", ... (the JSON words of enum dkim_why). */
const char *dkim_why_name(enum dkim_why w);

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
