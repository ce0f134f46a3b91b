/*
 * SPF records read against the ABNF of RFC 7208 section 12, with our
 * limits (spf_record.c); for the SPF module only (spf_dns.c), which
 * expands and evaluates what this reads.  The public entry points
 * (spf_dns_record_check, spf_dns_record_terms, spf_dns_local_ok) are
 * declared in spf_dns.h.
 */
#ifndef CACHET_SPF_RECORD_H
#define CACHET_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "spf_dns.h"

enum spf_rterm_kind { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };

struct spf_rterm {
	enum spf_rterm_kind kind;
	char qual;		/* '+', '-', '~' or '?' */
	struct slice spec;	/* domain-spec; p == NULL when absent */
	struct slice net;	/* ip4/ip6 network */
	int cidr4, cidr6;	/* -1 when absent */
	struct slice text;	/* the whole term as written (explanations) */
};

struct spf_rec {
	struct spf_rterm t[SPF_MAX_TERMS];
	size_t n;
	struct slice redirect, exp;	/* p == NULL when absent */
	struct slice redirect_term;	/* "redirect=..." as written */
	bool has_all;
};

static inline bool spf_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool spf_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool spf_is_alnum(char c)
{
	return spf_is_alpha(c) || spf_is_digit(c);
}

/*
 * The length of the macro-expand at s[i] == '%' (RFC 7208 7.1: "%%", "%_",
 * "%-", or "%{" letter *DIGIT ["r"] *delimiter "}", a DIGIT value nonzero),
 * 0 when there is none; in_exp allows the c, r and t letters of
 * explain-strings.
 */
size_t spf_macro_len(const char *s, size_t len, size_t i, bool in_exp);
/*
 * Checks a macro-string; NULL or why not.  Counts macros into *n; on
 * success *last_macro_r says whether it ends with a macro-expand and
 * *tail_r is where its last run of literals starts (either may be NULL).
 */
const char *spf_macro_string_check(const char *s, size_t len, bool in_exp, size_t *n,
				   bool *last_macro_r, size_t *tail_r);
/* RFC 7208's toplabel: alphanumeric with a letter, or LDH not at its ends. */
bool spf_toplabel_ok(const char *s, size_t len);
/* Does the TXT record start with "v=spf1" and then a space or its end (RFC 7208 4.5)? */
bool spf_record_is_v1(const char *txt, size_t len);
/*
 * Parses an SPF record ("v=spf1 ...") into r.  NULL, or why it is a
 * permerror (RFC 7208 4.6); then *bad_r (when not NULL) is the offending
 * term, else its p is NULL.
 */
const char *spf_record_parse(const char *txt, size_t len, struct spf_rec *r, struct slice *bad_r);

#endif
