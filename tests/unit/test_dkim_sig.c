/*
 * Tests for DKIM-Signature parsing and validation (lib/mail/dkim_sig.c).
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "dkim.h"
#include "t.h"

#define BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
#define B "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus" \
	  "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
#define BASE "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; bh=" BH "; b=" B

static enum dkim_err parse(struct arena *a, const char *v, struct dkim_sig **sig_r)
{
	return dkim_sig_parse(a, v, strlen(v), sig_r);
}

/* The first DKIM-Signature of RFC 8463 A.3, as folded there. */
static const char rfc8463_ed25519[] =
	" v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=football.example.com; i=@football.example.com;\r\n"
	" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	" subject : date : message-id : from : subject : date;\r\n"
	" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";

static void test_parses_rfc8463_signature(void)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, rfc8463_ed25519, &sig), DKIM_OK);
	T_EQ_INT(sig->alg, DKIM_ALG_ED25519_SHA256);
	T_EQ_INT(sig->canon_header, DKIM_CANON_RELAXED);
	T_EQ_INT(sig->canon_body, DKIM_CANON_RELAXED);
	T_EQ_STR(sig->d, "football.example.com");
	T_EQ_STR(sig->s, "brisbane");
	T_EQ_STR(sig->i, "@football.example.com");
	T_EQ_STR(sig->i_domain, "football.example.com");
	T_EQ_INT(sig->h_count, 8);
	T_EQ_STR(sig->h[0], "from");
	T_EQ_STR(sig->h[4], "message-id");
	T_EQ_STR(sig->h[7], "date");
	T_CHECK(sig->has_t && sig->t == 1528637909);
	T_CHECK(!sig->has_x && !sig->has_l);
	T_EQ_INT(sig->bh_len, 32);
	T_EQ_INT(sig->b_len, 64);
	/* The b= cut leaves "b=" at the very end. */
	T_EQ_INT(sig->b_end, sizeof(rfc8463_ed25519) - 1);
	T_CHECK(memcmp(rfc8463_ed25519 + sig->b_cut - 2, "b=/", 3) == 0);
	arena_free(&a);
}

static void test_defaults(void)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, BASE, &sig), DKIM_OK);
	T_EQ_INT(sig->canon_header, DKIM_CANON_SIMPLE);
	T_EQ_INT(sig->canon_body, DKIM_CANON_SIMPLE);
	T_EQ_STR(sig->i, "@example.com");
	T_EQ_INT(parse(a, BASE "; c=relaxed", &sig), DKIM_OK);
	T_EQ_INT(sig->canon_header, DKIM_CANON_RELAXED);
	T_EQ_INT(sig->canon_body, DKIM_CANON_SIMPLE);
	T_EQ_INT(parse(a, BASE "; c=simple/relaxed", &sig), DKIM_OK);
	T_EQ_INT(sig->canon_header, DKIM_CANON_SIMPLE);
	T_EQ_INT(sig->canon_body, DKIM_CANON_RELAXED);
	arena_free(&a);
}

static void test_valid_variants(void)
{
	static const char *const cases[] = {
		BASE "; i=user@example.com",
		BASE "; i=@mail.Example.COM",
		BASE "; i=a.b@sub.sub.example.com",
		BASE "; q=dns/txt",
		BASE "; q=other/x : dns/txt",
		BASE "; l=0",
		BASE "; t=1; x=2",
		BASE "; unknown=whatever; z=From:x|To:y",
		"v=1; a=rsa-sha256; d=example.com; s=s_1.x-y; h=From; bh=" BH "; b=" B,
		"v=1; a=rsa-sha256; d=example.com; s=sel; h = to : FROM ; bh=" BH "; b=" B,
	};
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum dkim_err e = parse(a, cases[i], &sig);
		if (e != DKIM_OK)
			printf("#   case %zu: %s\n", i, dkim_err_text(e));
		T_EQ_INT(e, DKIM_OK);
	}
	arena_free(&a);
}

static void test_errors(void)
{
	static const struct {
		const char *in;
		enum dkim_err err;
	} cases[] = {
		{ BASE "; x", DKIM_ERR_SYNTAX },
		{ BASE "; d=example.com", DKIM_ERR_DUP_TAG },
		{ "a=rsa-sha256; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_MISSING_TAG },
		{ "v=1; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_MISSING_TAG },
		{ "v=1; a=rsa-sha256; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_MISSING_TAG },
		{ "v=1; a=rsa-sha256; d=example.com; h=from; bh=" BH "; b=" B, DKIM_ERR_MISSING_TAG },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; bh=" BH "; b=" B, DKIM_ERR_MISSING_TAG },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; b=" B, DKIM_ERR_MISSING_TAG },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=" BH, DKIM_ERR_MISSING_TAG },
		{ "v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_VERSION },
		{ "v=01; a=rsa-sha256; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_VERSION },
		{ "v=1; a=rsa-sha512; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_ALGORITHM },
		{ "v=1; a=RSA-SHA256; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_ALGORITHM },
		{ "v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_RSA_SHA1 },
		{ BASE "; c=loose", DKIM_ERR_CANON },
		{ BASE "; c=relaxed/", DKIM_ERR_CANON },
		{ BASE "; c=relaxed/simple/x", DKIM_ERR_CANON },
		{ BASE "; q=http", DKIM_ERR_QUERY },
		{ "v=1; a=rsa-sha256; d=com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_DOMAIN },
		{ "v=1; a=rsa-sha256; d=-x.com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_DOMAIN },
		{ "v=1; a=rsa-sha256; d=x..com; s=sel; h=from; bh=" BH "; b=" B, DKIM_ERR_DOMAIN },
		{ "v=1; a=rsa-sha256; d=example.com; s=; h=from; bh=" BH "; b=" B, DKIM_ERR_SELECTOR },
		{ "v=1; a=rsa-sha256; d=example.com; s=a/b; h=from; bh=" BH "; b=" B, DKIM_ERR_SELECTOR },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=to:subject; bh=" BH "; b=" B, DKIM_ERR_H_NO_FROM },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from::to; bh=" BH "; b=" B, DKIM_ERR_H_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from:; bh=" BH "; b=" B, DKIM_ERR_H_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=; bh=" BH "; b=" B, DKIM_ERR_H_SYNTAX },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=fr om; bh=" BH "; b=" B, DKIM_ERR_H_SYNTAX },
		{ BASE "; i=user", DKIM_ERR_AUID },
		{ BASE "; i=user@", DKIM_ERR_AUID },
		{ BASE "; i=@example.org", DKIM_ERR_AUID_DOMAIN },
		{ BASE "; i=@badexample.com", DKIM_ERR_AUID_DOMAIN },
		{ BASE "; i=@com", DKIM_ERR_AUID_DOMAIN },
		{ BASE "; l=", DKIM_ERR_NUMBER },
		{ BASE "; l=-1", DKIM_ERR_NUMBER },
		{ BASE "; l=1 2", DKIM_ERR_NUMBER },
		{ BASE "; t=x", DKIM_ERR_NUMBER },
		{ BASE "; l=12345678901234567890123456789012345678901234567890123456789012345678901234567",
		  DKIM_ERR_NUMBER },
		{ BASE "; t=100; x=99", DKIM_ERR_X_BEFORE_T },
		{ BASE "; t=100; x=100", DKIM_ERR_X_BEFORE_T },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=" BH "; b=a!==", DKIM_ERR_BASE64 },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=abc; b=" B, DKIM_ERR_BASE64 },
		{ "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=" BH "; b=", DKIM_ERR_BASE64 },
	};
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum dkim_err e = parse(a, cases[i].in, &sig);
		if (e != cases[i].err)
			printf("#   case %zu: got %s\n", i, dkim_err_text(e));
		T_EQ_INT(e, cases[i].err);
		T_CHECK(sig != NULL);
	}
	arena_free(&a);
}

/* d= and s= are kept even when a later check fails (for header.d). */
static void test_partial_result_on_error(void)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, "v=1; a=rsa-sha256; d=example.com; s=sel; h=to; bh=" BH "; b=" B,
		       &sig), DKIM_ERR_H_NO_FROM);
	T_EQ_STR(sig->d, "example.com");
	T_EQ_STR(sig->s, "sel");
	arena_free(&a);
}

static void test_rsa_sha1_recognised(void)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, "v=1; a=rsa-sha1; d=example.com; s=sel; h=from; bh=" BH "; b=" B,
		       &sig), DKIM_ERR_RSA_SHA1);
	T_EQ_INT(sig->alg, DKIM_ALG_RSA_SHA1);
	T_EQ_INT(dkim_alg_hash(sig->alg), DKIM_HASH_SHA1);
	T_EQ_STR(dkim_alg_name(sig->alg), "rsa-sha1");
	arena_free(&a);
}

static void test_numbers_cap_at_uint64(void)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, BASE "; l=18446744073709551615", &sig), DKIM_OK);
	T_CHECK(sig->has_l && sig->l == UINT64_MAX);
	T_EQ_INT(parse(a, BASE "; l=18446744073709551616", &sig), DKIM_OK);
	T_CHECK(sig->l == UINT64_MAX);
	T_EQ_INT(parse(a, BASE "; l=1234567890123456789012345678901234567890123456789012345678901234567890123456",
		       &sig), DKIM_OK);
	T_CHECK(sig->l == UINT64_MAX);
	T_EQ_INT(parse(a, BASE "; l=18446744073709551614", &sig), DKIM_OK);
	T_CHECK(sig->l == UINT64_MAX - 1);
	arena_free(&a);
}

static void test_time_checks(void)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, BASE "; t=1000; x=2000", &sig), DKIM_OK);
	T_EQ_INT(dkim_sig_check_time(sig, 1500, 0), DKIM_OK);
	T_EQ_INT(dkim_sig_check_time(sig, 2000, 0), DKIM_OK);
	T_EQ_INT(dkim_sig_check_time(sig, 2001, 0), DKIM_ERR_EXPIRED);
	T_EQ_INT(dkim_sig_check_time(sig, 999, 0), DKIM_ERR_FUTURE);
	T_EQ_INT(dkim_sig_check_time(sig, 900, 100), DKIM_OK);
	T_EQ_INT(dkim_sig_check_time(sig, 899, 100), DKIM_ERR_FUTURE);
	T_EQ_INT(dkim_sig_check_time(sig, 1, UINT64_MAX), DKIM_OK);
	T_EQ_INT(parse(a, BASE, &sig), DKIM_OK);
	T_EQ_INT(dkim_sig_check_time(sig, UINT64_MAX, 0), DKIM_OK);
	arena_free(&a);
}

static void test_b_cut_keeps_everything_else(void)
{
	static const char v[] = "v=1; a=rsa-sha256; b = \r\n " B " ; d=example.com; s=sel; "
				"h=from; bh=" BH;
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	T_EQ_INT(parse(a, v, &sig), DKIM_OK);
	char cut[sizeof(v)];
	size_t n = sig->b_cut;
	memcpy(cut, v, n);
	memcpy(cut + n, v + sig->b_end, sizeof(v) - sig->b_end);
	T_EQ_STR(cut, "v=1; a=rsa-sha256; b = ; d=example.com; s=sel; h=from; bh=" BH);
	arena_free(&a);
}

int main(void)
{
	T_RUN(test_parses_rfc8463_signature);
	T_RUN(test_defaults);
	T_RUN(test_valid_variants);
	T_RUN(test_errors);
	T_RUN(test_partial_result_on_error);
	T_RUN(test_rsa_sha1_recognised);
	T_RUN(test_numbers_cap_at_uint64);
	T_RUN(test_time_checks);
	T_RUN(test_b_cut_keeps_everything_else);
	return t_done();
}
