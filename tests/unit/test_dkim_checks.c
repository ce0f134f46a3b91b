/*
 * Unit tests of the DKIM checks as pipeline modules (milterd/dkim_verify.c,
 * milterd/dkim_sign.c): results and their Authentication-Results
 * properties, the failure paths, signing internal mail and verifying what
 * was signed.  Keys and records are RFC 8463 Appendix A's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "dkim_verify.h"
#include "feed.h"
#include "pipeline.h"
#include "runtime.h"
#include "t.h"

#define DATA "tests/unit/data/dkim_checks/"
/* DKIM alone: the other checks have tests of their own */
#define ZONE_CONF "AuthservID mx.example.net\nTestDNSData " DATA "test.zone\nSPF no\nDMARC no\n"

static struct runtime *make_rt(const char *conf)
{
	char *err = NULL;
	struct config *cfg = config_parse("test.conf", conf, strlen(conf), &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	if (rt == NULL)
		printf("# setup: %s\n", err);
	free(err);
	return rt;
}

/* Runs text through a message of c, as `cachet check` would. */
static const struct eom_result *run_text(struct conn *c, const char *text, size_t len)
{
	struct msg *m = pipeline_msg_begin(c, "<joe@football.example.com>", NULL);
	m->now = 1528637909 + 60;
	feed_message(m, text, len);
	return pipeline_eom(m);
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *p = malloc(1 << 16);
	*len_r = fread(p, 1, (1 << 16) - 1, f);
	p[*len_r] = '\0';
	fclose(f);
	return p;
}

/* The message of file, with `from` replaced by `to` (once). */
static char *mutate(const char *file, const char *from, const char *to, size_t *len_r)
{
	size_t len;
	char *s = slurp(file, &len);
	char *at = s != NULL ? strstr(s, from) : NULL;
	if (at == NULL) {
		free(s);
		return NULL;
	}
	char *out = malloc(len + strlen(to) + 1);
	size_t pre = (size_t)(at - s);
	memcpy(out, s, pre);
	strcpy(out + pre, to);
	strcat(out, at + strlen(from));
	*len_r = strlen(out);
	free(s);
	return out;
}

static const struct eom_result *run_file(struct conn *c, const char *path)
{
	size_t len;
	char *text = slurp(path, &len);
	T_CHECK(text != NULL);
	const struct eom_result *r = text != NULL ? run_text(c, text, len) : NULL;
	free(text);
	return r;
}

static void test_rfc8463_signatures_both_pass_with_properties(void)
{
	struct runtime *rt = make_rt(ZONE_CONF);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	const struct eom_result *r = run_file(c, DATA "signed.eml");
	T_EQ_STR(r->ar_value,
		 "mx.example.net; dkim=pass (256-bit ed25519 key) header.d=football.example.com "
		 "header.i=@football.example.com header.s=brisbane header.a=ed25519-sha256 "
		 "header.b=/gCrinpc; dkim=pass (1024-bit rsa key) header.d=football.example.com "
		 "header.i=@football.example.com header.s=test header.a=rsa-sha256 "
		 "header.b=F45dVWDf");
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

struct case_ {
	const char *name, *from, *to;
	const char *want[2];	/* the two dkim= results, in order */
};

static const struct case_ cases[] = {
	{ "body changed", "Joe.", "Joe!", { "dkim=fail", "dkim=fail" } },
	{ "signed header changed", "Subject: Is dinner", "Subject: Is lunch", { "dkim=fail", "dkim=fail" } },
	{ "unsigned header added", "Subject:", "X-Added: 1\r\nSubject:",
	  { "dkim=pass", "dkim=pass" } },
	{ "key lookup fails temporarily", "s=test;", "s=broken;",
	  { "dkim=pass", "dkim=temperror" } },
	{ "no key record", "s=brisbane;", "s=nokey;", { "dkim=permerror", "dkim=pass" } },
	{ "revoked key", "s=brisbane;", "s=revoked;", { "dkim=permerror", "dkim=pass" } },
	{ "rsa-sha1 refused", "a=rsa-sha256", "a=rsa-sha1", { "dkim=pass", "dkim=permerror" } },
	/* RFC 8601 2.7.1: a signature that did not verify is fail, t=y or not */
	{ "failing under a testing key", "s=test;", "s=testing;",
	  { "dkim=pass", "dkim=fail (1024-bit rsa key in testing mode, t=y)" } },
	{ "expired", "t=1528637909;", "t=1528637909; x=1528637910;",
	  { "dkim=permerror", "dkim=pass" } },
};

/* Does the AR value hold these results in this order? */
static bool results_in_order(const char *ar, const char *const want[2])
{
	const char *first = strstr(ar, want[0]);
	return first != NULL && strstr(first + strlen(want[0]), want[1]) != NULL;
}

static void test_mutations_and_failures_give_rfc_results(void)
{
	struct runtime *rt = make_rt(ZONE_CONF);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len;
		char *text = mutate(DATA "signed.eml", cases[i].from, cases[i].to, &len);
		T_CHECK(text != NULL);
		if (text == NULL)
			continue;
		const struct eom_result *r = run_text(c, text, len);
		if (!results_in_order(r->ar_value, cases[i].want))
			printf("#   %s: %s\n", cases[i].name, r->ar_value);
		T_CHECK(results_in_order(r->ar_value, cases[i].want));
		free(text);
	}
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_body_and_signature_failures_have_different_reasons(void)
{
	struct runtime *rt = make_rt(ZONE_CONF);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	size_t len;
	char *body = mutate(DATA "signed.eml", "Joe.", "Joe!", &len);
	char *ar1 = strdup(run_text(c, body, len)->ar_value);
	char *hdr = mutate(DATA "signed.eml", "Subject: Is dinner", "Subject: Is lunch", &len);
	const char *ar2 = run_text(c, hdr, len)->ar_value;
	T_CHECK(strstr(ar1, "reason=") != NULL && strstr(ar2, "reason=") != NULL);
	T_CHECK(strcmp(strstr(ar1, "reason="), strstr(ar2, "reason=")) != 0);
	free(ar1);
	free(body);
	free(hdr);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_unsigned_message_gets_dkim_none(void)
{
	struct runtime *rt = make_rt(ZONE_CONF);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	const struct eom_result *r = run_file(c, DATA "unsigned.eml");
	T_EQ_STR(r->ar_value, "mx.example.net; dkim=none (message not signed)");
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_signature_cap_is_honoured(void)
{
	struct runtime *rt = make_rt(ZONE_CONF "MaximumSignaturesToVerify 1\n");
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	const struct eom_result *r = run_file(c, DATA "signed.eml");
	T_CHECK(strstr(r->ar_value, "dkim=pass") != NULL);
	T_CHECK(strstr(strstr(r->ar_value, "dkim=pass") + 1, "dkim=") == NULL);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_minimum_key_bits_gives_policy(void)
{
	struct runtime *rt = make_rt(ZONE_CONF "MinimumKeyBits 2048\n");
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	const struct eom_result *r = run_file(c, DATA "signed.eml");
	T_CHECK(strstr(r->ar_value, "dkim=pass (256-bit ed25519 key)") != NULL);
	T_CHECK(strstr(r->ar_value, "dkim=policy (1024-bit rsa key) reason=\"key shorter "
				    "than 2048 bits\"") != NULL);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

#define SIGN_CONF ZONE_CONF "Mode sv\nRequireSafeKeys no\nDomain football.example.com\n"

/* Signs unsigned.eml as internal mail, then verifies the result as inbound. */
static void sign_and_verify(const char *conf, const char *want)
{
	struct runtime *rt = make_rt(conf);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "127.0.0.1");
	const struct eom_result *r = run_file(c, DATA "unsigned.eml");
	const struct header_edit *sig = NULL;
	for (size_t i = 0; i < r->n_edits; i++)
		if (strcmp(r->edits[i].name, "DKIM-Signature") == 0)
			sig = &r->edits[i];
	T_CHECK(sig != NULL && sig->op == EDIT_INSERT);
	/* the message's log line says it was signed, with what */
	const struct verdict *vd = &c->msg->verdict;
	T_EQ_INT(vd->notes.n, 1);
	if (vd->notes.n == 1)
	{
		static const char note[] = "signed=\"d=football.example.com s=";
		T_CHECK(strncmp(vd->notes.v[0], note, sizeof(note) - 1) == 0);
	}
	/* our AR goes on last, so it ends up above the signature */
	T_EQ_STR(r->edits[r->n_edits - 1].name, "Authentication-Results");
	if (sig != NULL) {
		T_CHECK(strstr(sig->value, "c=relaxed/relaxed") != NULL);
		T_CHECK(strstr(sig->value, "l=") == NULL);
		size_t len;
		char *body = slurp(DATA "unsigned.eml", &len);
		char *text = malloc(len + strlen(sig->value) + 32);
		sprintf(text, "DKIM-Signature: %s\r\n%s", sig->value, body);
		struct conn *in = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
		const struct eom_result *v = run_text(in, text, strlen(text));
		if (strstr(v->ar_value, want) == NULL)
			printf("#   got %s\n", v->ar_value);
		T_CHECK(strstr(v->ar_value, want) != NULL);
		pipeline_conn_free(&in);
		free(text);
		free(body);
	}
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_internal_mail_signed_rsa_verifies(void)
{
	sign_and_verify(SIGN_CONF "Selector test\nKeyFile " DATA "test.rsa.pem\n",
			"dkim=pass (1024-bit rsa key) header.d=football.example.com");
}

static void test_internal_mail_signed_ed25519_verifies(void)
{
	sign_and_verify(SIGN_CONF "Selector brisbane\nKeyFile " DATA "brisbane.ed25519.pem\n",
			"dkim=pass (256-bit ed25519 key) header.d=football.example.com");
}

static void test_sign_headers_and_oversign_override_defaults(void)
{
	struct runtime *rt = make_rt(SIGN_CONF "Selector test\nKeyFile " DATA "test.rsa.pem\n"
				     "SignHeaders From, Subject\nOversignHeaders From\n");
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "127.0.0.1");
	const struct eom_result *r = run_file(c, DATA "unsigned.eml");
	const char *value = NULL;
	for (size_t i = 0; i < r->n_edits; i++)
		if (strcmp(r->edits[i].name, "DKIM-Signature") == 0)
			value = r->edits[i].value;
	T_CHECK(value != NULL);
	if (value != NULL) {
		const char *h = strstr(value, "h=");
		if (h == NULL || strncasecmp(h, "h=From:From:Subject;", 20) != 0)
			printf("#   %s\n", value);
		T_CHECK(h != NULL && strncasecmp(h, "h=From:From:Subject;", 20) == 0);
	}
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_unsafe_key_file_refused_at_setup(void)
{
	const char *conf = ZONE_CONF "Mode sv\nDomain football.example.com\nSelector test\n"
				     "KeyFile " DATA "test.rsa.pem\n";
	char *err = NULL;
	struct config *cfg = config_parse("test.conf", conf, strlen(conf), &err);
	T_CHECK(cfg != NULL);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	T_CHECK(rt == NULL);
	T_CHECK(err != NULL && strstr(err, "test.rsa.pem") != NULL);
	free(err);
	runtime_unref(&rt);
	config_unref(&cfg);
}

static void test_keytable_without_signingtable_refused(void)
{
	const char *conf = ZONE_CONF "Mode sv\nKeyTable csl:k=football.example.com:test:"
				     "/nonexistent\n";
	char *err = NULL;
	struct config *cfg = config_parse("test.conf", conf, strlen(conf), &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	T_CHECK(rt == NULL);
	T_CHECK(err != NULL && strstr(err, "SigningTable") != NULL);
	free(err);
	runtime_unref(&rt);
	config_unref(&cfg);
}

static void test_two_from_addresses_not_signed(void)
{
	struct runtime *rt = make_rt(SIGN_CONF "Selector test\nKeyFile " DATA "test.rsa.pem\n");
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "127.0.0.1");
	size_t len;
	char *text = mutate(DATA "unsigned.eml", "From: Joe SixPack <joe@football.example.com>",
			    "From: joe@football.example.com, eve@example.net", &len);
	T_CHECK(text != NULL);
	if (text != NULL) {
		const struct eom_result *r = run_text(c, text, len);
		for (size_t i = 0; i < r->n_edits; i++)
			T_CHECK(strcmp(r->edits[i].name, "DKIM-Signature") != 0);
		T_EQ_INT(r->action, ACTION_ACCEPT);
	}
	free(text);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

/*
 * With `explain` (cachet check) each signature's typed result says why:
 * the category, and for a signature that does not verify whether the body
 * changed, a signed header field changed or the key is not the signer's.
 */
struct why_case {
	const char *name, *from, *to;
	enum dkim_why want[2];	/* ed25519 (brisbane), rsa (test) */
};

static void test_explain_gives_the_reason_per_signature(void)
{
	static const struct why_case cs[] = {
		{ "as signed", "Joe.", "Joe.", { DKIM_WHY_PASS, DKIM_WHY_PASS } },
		{ "body changed", "Joe.", "Joe!", { DKIM_WHY_BODY_CHANGED, DKIM_WHY_BODY_CHANGED } },
		/* an Ed25519 signature cannot be opened: which of the two is not known */
		{ "signed header changed", "Subject: Is dinner", "Subject: Is lunch",
		  { DKIM_WHY_SIGNATURE, DKIM_WHY_HEADER_CHANGED } },
		{ "key lookup fails temporarily", "s=test;", "s=broken;",
		  { DKIM_WHY_PASS, DKIM_WHY_KEY_TEMP } },
		{ "no key record", "s=brisbane;", "s=nokey;", { DKIM_WHY_NO_KEY, DKIM_WHY_PASS } },
		{ "revoked key", "s=brisbane;", "s=revoked;", { DKIM_WHY_KEY_SYNTAX, DKIM_WHY_PASS } },
		{ "rsa-sha1 refused", "a=rsa-sha256", "a=rsa-sha1",
		  { DKIM_WHY_PASS, DKIM_WHY_SIGNATURE_SYNTAX } },
		{ "expired", "t=1528637909;", "t=1528637909; x=1528637910;",
		  { DKIM_WHY_TIME, DKIM_WHY_PASS } },
		/* s= is signed too, so the field changed; the testing key is the signer's */
		{ "other selector, same key", "s=test;", "s=testing;",
		  { DKIM_WHY_PASS, DKIM_WHY_HEADER_CHANGED } },
		{ "other selector, other key", "s=test;", "s=other;",
		  { DKIM_WHY_PASS, DKIM_WHY_KEY_MISMATCH } },
	};
	char *err = NULL;
	struct config *cfg = config_parse("test.conf", ZONE_CONF, strlen(ZONE_CONF), &err);
	T_CHECK(cfg != NULL);
	cfg->explain = true;
	struct runtime *rt = runtime_new(cfg, &err);
	config_unref(&cfg);
	free(err);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
		size_t len;
		char *text = mutate(DATA "signed.eml", cs[i].from, cs[i].to, &len);
		T_CHECK(text != NULL);
		if (text == NULL)
			continue;
		struct msg *m = pipeline_msg_begin(c, "<joe@football.example.com>", NULL);
		m->now = 1528637909 + 60;
		feed_message(m, text, len);
		pipeline_eom(m);
		const struct dkim_verify_result *dr = dkim_verify_result_of(m);
		bool ok = dr != NULL && dr->n == 2;
		for (size_t k = 0; ok && k < 2; k++) {
			const struct dkim_sig_explain *x = dr->sigs[k].explain;
			/* a signature refused at a= is not read further (no h=) */
			bool whole = cs[i].want[k] != DKIM_WHY_SIGNATURE_SYNTAX;
			ok = x != NULL && x->why == cs[i].want[k] && (!whole || x->n_headers > 0) &&
			     x->key_name != NULL && strstr(x->key_name, "._domainkey.football.") != NULL;
			if (!ok)
				printf("#   %s, signature %zu: %s\n", cs[i].name, k + 1,
				       x != NULL ? dkim_why_name(x->why) : "no explanation");
		}
		T_CHECK(ok);
		if (ok && cs[i].want[0] == DKIM_WHY_BODY_CHANGED) {
			/* the header fields are as signed; the body's hash is given */
			T_CHECK(dr->sigs[1].explain->headers_verify);
			T_CHECK(dr->sigs[1].explain->body_hash_computed != NULL &&
				strcmp(dr->sigs[1].explain->body_hash_computed,
				       dr->sigs[1].explain->body_hash) != 0);
		}
		if (ok && cs[i].want[0] == DKIM_WHY_NO_KEY) {
			T_EQ_STR(dr->sigs[0].explain->key_name, "nokey._domainkey.football.example.com");
			T_EQ_STR(dr->sigs[0].explain->key_status, "nxdomain");
		}
		if (ok && cs[i].want[0] == DKIM_WHY_KEY_SYNTAX)
			T_CHECK(dr->sigs[0].explain->n_key_problems > 0);
		free(text);
	}
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

/* Without `explain` (the milter) nothing of it is made. */
static void test_no_explanation_without_explain(void)
{
	struct runtime *rt = make_rt(ZONE_CONF);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.1");
	size_t len;
	char *text = slurp(DATA "signed.eml", &len);
	struct msg *m = pipeline_msg_begin(c, "<joe@football.example.com>", NULL);
	m->now = 1528637909 + 60;
	feed_message(m, text, len);
	pipeline_eom(m);
	const struct dkim_verify_result *dr = dkim_verify_result_of(m);
	T_CHECK(dr != NULL && dr->n == 2 && dr->sigs[0].explain == NULL &&
		dr->sigs[1].explain == NULL);
	free(text);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

int main(void)
{
	T_RUN(test_rfc8463_signatures_both_pass_with_properties);
	T_RUN(test_mutations_and_failures_give_rfc_results);
	T_RUN(test_body_and_signature_failures_have_different_reasons);
	T_RUN(test_unsigned_message_gets_dkim_none);
	T_RUN(test_signature_cap_is_honoured);
	T_RUN(test_minimum_key_bits_gives_policy);
	T_RUN(test_internal_mail_signed_rsa_verifies);
	T_RUN(test_internal_mail_signed_ed25519_verifies);
	T_RUN(test_sign_headers_and_oversign_override_defaults);
	T_RUN(test_unsafe_key_file_refused_at_setup);
	T_RUN(test_keytable_without_signingtable_refused);
	T_RUN(test_two_from_addresses_not_signed);
	T_RUN(test_explain_gives_the_reason_per_signature);
	T_RUN(test_no_explanation_without_explain);
	return t_done();
}
