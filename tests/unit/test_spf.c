/*
 * Unit tests of the SPF check (milterd/spf.c over milterd/spf_dns.c): the
 * RFC 7208 results and edge cases written as our own cases against the
 * zone in tests/unit/data/spf/zone, through the pipeline as the milter
 * drives it, plus the record checker (the CVE-2023-42118 guard) directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pipeline.h"
#include "runtime.h"
#include "spf.h"
#include "spf_dns.h"
#include "t.h"

#define BASE_CONF "AuthservID mx.example.net\nTestDNSData tests/unit/data/spf/zone\n"

static const struct check *const table[] = { &check_spf };

static struct runtime *make_rt(const char *extra)
{
	char conf[512];
	snprintf(conf, sizeof(conf), "%s%s", BASE_CONF, extra ? extra : "");
	char *err = NULL;
	struct config *cfg = config_parse_with("test.conf", conf, strlen(conf), table, 1, &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	if (rt == NULL)
		printf("# setup: %s\n", err);
	free(err);
	return rt;
}

/* What one message got. */
struct run {
	char *ar;
	char *bare;		/* ar without its comments */
	char *received;		/* Received-SPF value, or NULL */
	int action;
	char *xcode;
};

static void run_free(struct run *r)
{
	free(r->ar);
	free(r->bare);
	free(r->received);
	free(r->xcode);
}

/* The AR value without comments (and the space before each). */
static char *strip_comments(const char *s)
{
	char *out = malloc(strlen(s) + 1);
	size_t o = 0;
	int depth = 0;
	for (; *s != '\0'; s++) {
		if (depth > 0 && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !(*s == ' ' && s[1] == '('))
			out[o++] = *s;
	}
	out[o] = '\0';
	return out;
}

static struct run run_msg(const char *extra, const char *ip, const char *helo,
			  const char *from, const char *auth)
{
	struct run out = { 0 };
	struct runtime *rt = make_rt(extra);
	if (rt == NULL)
		return out;
	struct conn *c = pipeline_conn_new_text(rt, "client.example", ip);
	if (helo != NULL)
		pipeline_helo(c, helo);
	struct msg *m = pipeline_msg_begin(c, from, auth);
	pipeline_rcpt(m, "<rcpt@mx.example.net>");
	pipeline_header(m, "From", " a@example.com", 14);
	pipeline_eoh(m);
	const struct eom_result *r = pipeline_eom(m);
	out.ar = strdup(r->ar_value);
	out.bare = strip_comments(r->ar_value);
	out.action = (int)r->action;
	out.xcode = r->smtp_xcode ? strdup(r->smtp_xcode) : NULL;
	for (size_t i = 0; i < r->n_edits; i++)
		if (r->edits[i].value != NULL && strcmp(r->edits[i].name, "Received-SPF") == 0)
			out.received = strdup(r->edits[i].value);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
	return out;
}

static bool has(const char *s, const char *needle)
{
	bool ok = s != NULL && strstr(s, needle) != NULL;
	if (!ok)
		printf("# \"%s\" not in \"%s\"\n", needle, s ? s : "(null)");
	return ok;
}

struct mfrom_case {
	const char *from;
	const char *ip;
	const char *want;	/* "spf=RESULT smtp.mailfrom=..." */
};

static void check_cases(const struct mfrom_case *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct run r = run_msg(NULL, cs[i].ip, "client.example", cs[i].from, NULL);
		T_CHECK(has(r.bare, cs[i].want));
		run_free(&r);
	}
}

static void test_basic_results(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@pass.example>", "192.0.2.1", "spf=pass smtp.mailfrom=u@pass.example" },
		{ "<u@fail.example>", "192.0.2.1", "spf=fail smtp.mailfrom=u@fail.example" },
		{ "<u@softfail.example>", "192.0.2.1", "spf=softfail smtp.mailfrom" },
		{ "<u@neutral.example>", "192.0.2.1", "spf=neutral smtp.mailfrom" },
		{ "<u@bare.example>", "192.0.2.1", "spf=neutral smtp.mailfrom" },
		{ "<u@norecord.example>", "192.0.2.1", "spf=none smtp.mailfrom" },
		{ "<u@nxdomain.example>", "192.0.2.1", "spf=none smtp.mailfrom" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_pass_comment_is_readable(void)
{
	struct run r = run_msg(NULL, "192.0.2.1", NULL, "<u@pass.example>", NULL);
	T_CHECK(has(r.ar, "spf=pass (mx.example.net: domain of u@pass.example designates "
		    "192.0.2.1 as permitted sender) smtp.mailfrom=u@pass.example"));
	run_free(&r);
}

static void test_errors(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@multi.example>", "192.0.2.1", "spf=permerror" },
		{ "<u@syntax.example>", "192.0.2.1", "spf=permerror" },
		{ "<u@servfail.example>", "192.0.2.1", "spf=temperror" },
		{ "<u@timeout.example>", "192.0.2.1", "spf=temperror" },
		{ "<u@incservfail.example>", "192.0.2.1", "spf=temperror" },
		{ "<u@incnone.example>", "192.0.2.1", "spf=permerror" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_include_redirect_multistring(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@inc.example>", "192.0.2.1", "spf=pass" },
		{ "<u@inc.example>", "203.0.113.9", "spf=fail" },
		{ "<u@redir.example>", "192.0.2.1", "spf=pass" },
		{ "<u@redir.example>", "203.0.113.9", "spf=fail" },
		{ "<u@multistr.example>", "192.0.2.1", "spf=pass" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_a_mx_ptr(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@a.example>", "192.0.2.1", "spf=pass" },
		{ "<u@a.example>", "192.0.2.2", "spf=fail" },
		{ "<u@mx.example>", "192.0.2.1", "spf=pass" },
		{ "<u@mx.example>", "192.0.2.2", "spf=fail" },
		{ "<u@ptr.example>", "192.0.2.1", "spf=pass" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_macros(void)
{
	static const struct mfrom_case cs[] = {
		{ "<strong-bad@macro-l.example>", "192.0.2.1", "spf=pass" },
		{ "<weak-bad@macro-l.example>", "192.0.2.1", "spf=fail" },
		{ "<u@macro-o.example>", "192.0.2.1", "spf=pass" },
		{ "<u@macro-d.example>", "192.0.2.1", "spf=pass" },
		{ "<u@macro-i.example>", "192.0.2.1", "spf=pass" },
		{ "<u@macro-v.example>", "192.0.2.1", "spf=pass" },
		{ "<u@macro-ir.example>", "192.0.2.1", "spf=pass" },
	};
	check_cases(cs, ARRAY_LEN(cs));
	/* %{h} is the HELO name */
	struct run r = run_msg(NULL, "192.0.2.1", "mail.helo.example", "<u@macro-h.example>", NULL);
	T_CHECK(has(r.bare, "spf=pass smtp.mailfrom=u@macro-h.example"));
	run_free(&r);
}

static void test_dns_term_limit(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@ten.example>", "192.0.2.1", "spf=pass" },
		{ "<u@eleven.example>", "192.0.2.1", "spf=permerror" },
		/* counted across includes: 3+1, 3+1, 3 = 11 */
		{ "<u@n1.example>", "192.0.2.1", "spf=permerror" },
		{ "<u@n2.example>", "192.0.2.1", "spf=pass" },
		{ "<u@loop1.example>", "192.0.2.1", "spf=permerror" },
	};
	check_cases(cs, ARRAY_LEN(cs));
	struct run r = run_msg(NULL, "192.0.2.1", NULL, "<u@eleven.example>", NULL);
	T_CHECK(has(r.ar, "more than 10 DNS-querying terms"));
	run_free(&r);
}

static void test_void_lookup_limit(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@twovoid.example>", "192.0.2.1", "spf=pass" },
		{ "<u@threevoid.example>", "192.0.2.1", "spf=permerror" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_exp_in_fail_comment(void)
{
	struct run r = run_msg("SPFRejectFail yes\n", "192.0.2.1", NULL, "<u@exp.example>", NULL);
	T_CHECK(has(r.ar, "spf=fail"));
	T_CHECK(has(r.ar, "192.0.2.1 is not one of exp.example's designated mail servers."));
	T_EQ_INT(r.action, ACTION_REJECT);
	T_EQ_STR(r.xcode, "5.7.23");
	run_free(&r);
}

static void test_ipv6(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@ip6.example>", "2001:db8:1:2::99", "spf=pass" },
		{ "<u@ip6.example>", "2001:db9::1", "spf=fail" },
		{ "<u@a6.example>", "2001:db8:1:2::99", "spf=pass" },
		{ "<u@a6.example>", "2001:db8:1:3::1", "spf=fail" },
		{ "<u@pass.example>", "::ffff:192.0.2.1", "spf=pass" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_guard_refuses_hostile_records(void)
{
	static const struct mfrom_case cs[] = {
		{ "<u@cve.example>", "192.0.2.1", "spf=permerror" },
		{ "<u@longarg.example>", "192.0.2.1", "spf=permerror" },
		{ "<u@badmacro.example>", "192.0.2.1", "spf=permerror" },
		{ "<u@lonepct.example>", "192.0.2.1", "spf=permerror" },
	};
	check_cases(cs, ARRAY_LEN(cs));
}

static void test_record_check_table(void)
{
	static const struct {
		const char *rec;
		bool ok;
	} cs[] = {
		{ "v=spf1 -all", true },
		{ "v=spf1 include:_spf.example.com ~all", true },
		{ "v=spf1 exists:%{i}._ip.%{h}._ehlo.%{d}._spf.vali.email ~all", true },
		{ "v=spf1 exists:%{l1r-}.%{d} -all", true },
		{ "v=spf1 exists:%%%_%-.x -all", true },
		{ "v=spf1 exists:%{d129}.x -all", true },
		{ "v=spf1 exists:%{d0}.x -all", false },
		{ "v=spf1 exists:%{c}.x -all", false },
		{ "v=spf1 exists:%{d", false },
		{ "v=spf1 exists:%", false },
		{ "v=spf1 a:\x01.x -all", false },
		{ "v=spf1 a:\xc3\xa9.x -all", false },
		{ "v=spf1 exists:%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d} -all", true },
		{ "v=spf1 exists:%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d} -all", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
		const char *err = spf_dns_record_check(cs[i].rec, strlen(cs[i].rec));
		if ((err == NULL) != cs[i].ok)
			printf("# %s: %s\n", cs[i].rec, err ? err : "accepted");
		T_CHECK((err == NULL) == cs[i].ok);
	}
	char big[SPF_MAX_RECORD_LEN + 20];
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "v=spf1 ", 7);
	big[sizeof(big) - 1] = '\0';
	T_CHECK(spf_dns_record_check(big, strlen(big)) != NULL);
}

static void test_local_part_bounds(void)
{
	T_CHECK(spf_dns_local_ok("strong-bad"));
	T_CHECK(spf_dns_local_ok("a.b+c"));
	T_CHECK(!spf_dns_local_ok("a..b"));
	T_CHECK(!spf_dns_local_ok("a b"));
	T_CHECK(spf_dns_local_ok("a%b"));
	T_CHECK(!spf_dns_local_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	/* printed as the domain alone, but evaluated */
	struct run r = run_msg(NULL, "192.0.2.1", NULL, "<\"a b\"@fail.example>", NULL);
	T_CHECK(has(r.bare, "spf=fail smtp.mailfrom=fail.example"));
	run_free(&r);
}

static void test_helo_identity_reported(void)
{
	struct run r = run_msg(NULL, "192.0.2.1", "mail.helo.example", "<u@fail.example>", NULL);
	T_CHECK(has(r.ar, "spf=fail"));
	T_CHECK(has(r.ar, "smtp.mailfrom=u@fail.example"));
	T_CHECK(has(r.ar, "spf=pass"));
	T_CHECK(has(r.ar, "smtp.helo=mail.helo.example"));
	run_free(&r);
}

static void test_null_sender_uses_helo(void)
{
	struct run r = run_msg("SPFRejectFail yes\nAddReceivedSPF yes\n", "192.0.2.1",
			       "bad.helo.example", "<>", NULL);
	T_CHECK(has(r.ar, "spf=fail"));
	T_CHECK(has(r.ar, "smtp.helo=bad.helo.example"));
	T_CHECK(r.ar != NULL && strstr(r.ar, "smtp.mailfrom") == NULL);
	T_EQ_INT(r.action, ACTION_REJECT);
	run_free(&r);
	r = run_msg(NULL, "192.0.2.1", "[192.0.2.1]", "<>", NULL);
	T_CHECK(has(r.ar, "spf=none"));
	run_free(&r);
}

static void test_reject_fail_off_by_default(void)
{
	struct run r = run_msg(NULL, "192.0.2.1", NULL, "<u@fail.example>", NULL);
	T_EQ_INT(r.action, ACTION_ACCEPT);
	run_free(&r);
	/* temperror never rejects */
	r = run_msg("SPFRejectFail yes\n", "192.0.2.1", NULL, "<u@servfail.example>", NULL);
	T_EQ_INT(r.action, ACTION_ACCEPT);
	run_free(&r);
}

static void test_received_spf_header(void)
{
	struct run r = run_msg("AddReceivedSPF yes\n", "192.0.2.1", "mail.helo.example",
			       "<u@pass.example>", NULL);
	T_CHECK(has(r.received, "pass ("));
	T_CHECK(has(r.received, "client-ip=192.0.2.1; envelope-from=\"u@pass.example\"; "
		    "helo=mail.helo.example; receiver=mx.example.net; identity=mailfrom"));
	run_free(&r);
	r = run_msg(NULL, "192.0.2.1", NULL, "<u@pass.example>", NULL);
	T_CHECK(r.received == NULL);
	run_free(&r);
}

static void test_internal_clients_skipped(void)
{
	struct run r = run_msg("SPFRejectFail yes\n", "192.0.2.1", NULL, "<u@fail.example>",
			       "someuser");
	T_CHECK(r.ar != NULL && strstr(r.ar, "spf=") == NULL);
	T_EQ_INT(r.action, ACTION_ACCEPT);
	run_free(&r);
	r = run_msg("InternalHosts 192.0.2.0/24\n", "192.0.2.1", NULL, "<u@fail.example>", NULL);
	T_CHECK(r.ar != NULL && strstr(r.ar, "spf=") == NULL);
	run_free(&r);
}

static void test_disabled(void)
{
	struct run r = run_msg("SPF no\n", "192.0.2.1", NULL, "<u@fail.example>", NULL);
	T_CHECK(r.ar != NULL && strstr(r.ar, "spf=") == NULL);
	run_free(&r);
}

/* msg_end right after msg_begin: no wait, no leak (ASan). */
static void test_abort_path(void)
{
	struct runtime *rt = make_rt(NULL);
	T_CHECK(rt != NULL);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, "client.example", "192.0.2.1");
	pipeline_helo(c, "mail.helo.example");
	for (int i = 0; i < 20; i++) {
		pipeline_msg_begin(c, "<u@n2.example>", NULL);
		pipeline_msg_end(c);
	}
	pipeline_msg_begin(c, "<u@pass.example>", NULL);
	pipeline_conn_free(&c);	/* ends the message in progress */
	runtime_unref(&rt);	/* waits for the workers */
	T_CHECK(rt == NULL);
}

/* A direct evaluation with a deadline already past is temperror. */
static void test_deadline_is_temperror(void)
{
	char *err = NULL;
	const char *text = "x.example. TXT \"v=spf1 a -all\"\nx.example. A 192.0.2.1\n";
	struct zone *z = zone_parse("t.zone", text, strlen(text), &err);
	T_CHECK(z != NULL);
	free(err);
	struct spf_backend be = { .zone = z };
	struct spf_query q = { .ip = "192.0.2.1", .sender = "u@x.example",
			       .receiver = "mx.example.net", .deadline_ms = spf_clock_ms() - 1 };
	struct spf_outcome o;
	spf_dns_evaluate(&be, &q, &o);
	T_EQ_STR(spf_res_name(o.result), "temperror");
	spf_outcome_clear(&o);
	q.deadline_ms = spf_clock_ms() + 5000;
	spf_dns_evaluate(&be, &q, &o);
	T_EQ_STR(spf_res_name(o.result), "pass");
	T_EQ_INT(o.dns_terms, 1);
	spf_outcome_clear(&o);
	zone_free(&z);
}

/*
 * RFC 7208, section by section: each case is one check_host() through
 * spf_dns_evaluate() on the zone tests/unit/data/spf/zone, written from the
 * RFC's text and examples (the expectations agree with the public RFC 7208
 * test suite where it has a case).  sender NULL is the HELO identity.
 */
struct rfc_case {
	const char *sect;	/* the RFC 7208 section the case comes from */
	const char *ip;
	const char *sender;
	const char *helo;	/* the HELO argument as sent */
	const char *want;	/* result */
	const char *exp;	/* the explanation (exactly), or NULL */
};

static void run_rfc_cases(const struct rfc_case *cs, size_t n)
{
	char *err = NULL;
	struct zone *z = zone_load("tests/unit/data/spf/zone", &err);
	T_CHECK(z != NULL);
	if (z == NULL) {
		printf("# %s\n", err);
		free(err);
		return;
	}
	struct spf_backend be = { .zone = z };
	for (size_t i = 0; i < n; i++) {
		const struct rfc_case *c = &cs[i];
		const char *h = c->helo != NULL ? c->helo : "client.example";
		bool dom = strchr(h, '.') != NULL && h[0] != '[' && strchr(h, ' ') == NULL;
		struct spf_query q = { .ip = c->ip, .helo = dom ? h : NULL, .helo_text = h,
				       .sender = c->sender, .receiver = "mx.example.net",
				       .deadline_ms = spf_clock_ms() + 5000 };
		struct spf_outcome o;
		spf_dns_evaluate(&be, &q, &o);
		const char *got = spf_res_name(o.result);
		bool ok = strcmp(got, c->want) == 0 &&
			  (c->exp == NULL || (o.explanation != NULL && strcmp(o.explanation, c->exp) == 0));
		if (!ok)
			printf("# %s %s from %s helo %s: got %s (%s) exp [%s], want %s [%s]\n", c->sect,
			       c->ip, c->sender ? c->sender : "<>", h, got, o.comment,
			       o.explanation ? o.explanation : "", c->want, c->exp ? c->exp : "");
		T_CHECK(ok);
		/* asking why changes nothing, and always gets an answer */
		struct spf_outcome x;
		q.explain = true;
		spf_dns_evaluate(&be, &q, &x);
		T_CHECK(x.result == o.result && strcmp(x.comment, o.comment) == 0);
		T_CHECK(x.explain != NULL && o.explain == NULL);
		spf_outcome_clear(&x);
		spf_outcome_clear(&o);
	}
	zone_free(&z);
}

/* 2.3, 2.4, 4.3: the identities and initial processing. */
static void test_rfc7208_identities(void)
{
	static const struct rfc_case cs[] = {
		/* 2.3: the HELO identity is checked as postmaster@HELO */
		{ "2.3", "192.0.2.1", NULL, "mail.helo.example", "pass", NULL },
		{ "2.3", "192.0.2.2", NULL, "mail.helo.example", "fail", NULL },
		{ "2.3", "192.0.2.1", NULL, "helo-macro.example", "pass", NULL },
		/* 4.3: a HELO that is no multi-label domain name: none */
		{ "4.3", "192.0.2.1", NULL, "nodots", "none", NULL },
		{ "4.3", "192.0.2.1", NULL, "[192.0.2.1]", "none", NULL },
		/* 4.3: malformed sender domains are none; 63-octet labels are fine */
		{ "4.3", "192.0.2.1", "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", NULL, "none", NULL },
		{ "4.3", "192.0.2.1", "u@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", NULL, "fail", NULL },
		{ "4.3", "192.0.2.1", "u@a..example", NULL, "none", NULL },
		{ "4.3", "192.0.2.1", "u@[192.0.2.1]", NULL, "none", NULL },
		{ "4.3", "192.0.2.1", "u@localhost", NULL, "none", NULL },
		/* 4.3: no local-part is "postmaster" */
		{ "4.3", "192.0.2.1", "@nolocal.example", NULL, "pass", NULL },
		/* 4.4: DNS trouble fetching the record is temperror */
		{ "4.4", "192.0.2.1", "u@timeout.example", NULL, "temperror", NULL },
		{ "4.4", "192.0.2.1", "u@servfail.example", NULL, "temperror", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/* 4.5, 4.6, 4.7: selecting and evaluating the record, its syntax. */
static void test_rfc7208_records(void)
{
	static const struct rfc_case cs[] = {
		{ "4.5", "192.0.2.1", "u@norecord.example", NULL, "none", NULL },
		{ "4.5", "192.0.2.1", "u@multi.example", NULL, "permerror", NULL },
		{ "4.5", "192.0.2.1", "u@v10.example", NULL, "fail", NULL },
		{ "4.5", "192.0.2.1", "u@nospace.example", NULL, "none", NULL },
		{ "4.5", "192.0.2.1", "u@casever.example", NULL, "softfail", NULL },
		{ "4.5", "192.0.2.1", "u@bare.example", NULL, "neutral", NULL },
		{ "4.5", "192.0.2.1", "u@otherjunk.example", NULL, "fail", NULL },
		{ "4.5", "192.0.2.1", "u@multistr.example", NULL, "pass", NULL },
		/* 4.6: a syntax error anywhere is permerror, even after a match */
		{ "4.6", "192.0.2.1", "u@late-error.example", NULL, "permerror", NULL },
		{ "4.6.1", "192.0.2.1", "u@twospace.example", NULL, "pass", NULL },
		{ "4.6.1", "192.0.2.1", "u@ctrl.example", NULL, "permerror", NULL },
		{ "4.6.1", "192.0.2.1", "u@nl.example", NULL, "permerror", NULL },
		{ "3.1", "192.0.2.1", "u@nonascii.example", NULL, "permerror", NULL },
		/* 4.6.1, 12: unknown modifiers: valid name and macro-string, ignored */
		{ "4.6.1", "192.0.2.1", "u@mod-good.example", NULL, "pass", NULL },
		{ "4.6.1", "192.0.2.1", "u@mod-slash.example", NULL, "permerror", NULL },
		{ "12", "192.0.2.1", "u@mod-digit.example", NULL, "permerror", NULL },
		{ "12", "192.0.2.1", "u@mod-empty.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@mod-macro.example", NULL, "permerror", NULL },
		{ "7.3", "192.0.2.1", "u@mod-exponly.example", NULL, "permerror", NULL },
		/* 4.6.1: redirect is a modifier, "redirect:" an unknown mechanism */
		{ "4.6.1", "192.0.2.1", "u@redir-colon.example", NULL, "permerror", NULL },
		{ "4.6.1", "192.0.2.1", "u@syntax.example", NULL, "permerror", NULL },
		/* 4.6.3, 6.1: redirect after every mechanism, and not with all */
		{ "4.6.3", "192.0.2.1", "u@redir-last.example", NULL, "pass", NULL },
		{ "4.6.3", "192.0.2.2", "u@redir-last.example", NULL, "fail", NULL },
		{ "6.1", "192.0.2.1", "u@redir-all.example", NULL, "softfail", NULL },
		/* 4.7: nothing matched and no redirect: neutral */
		{ "4.7", "192.0.2.1", "u@nomatch.example", NULL, "neutral", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/* 4.6.4: the limits. */
static void test_rfc7208_limits(void)
{
	static const char long_local[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@void-bad.example";
	static const char long_local2[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@void-bad2.example";
	static const struct rfc_case cs[] = {
		{ "4.6.4", "192.0.2.1", "u@ten.example", NULL, "pass", NULL },
		{ "4.6.4", "192.0.2.1", "u@eleven.example", NULL, "permerror", NULL },
		{ "4.6.4", "192.0.2.1", "u@n1.example", NULL, "permerror", NULL },
		{ "4.6.4", "192.0.2.1", "u@loop1.example", NULL, "permerror", NULL },
		{ "4.6.4", "192.0.2.1", "u@twovoid.example", NULL, "pass", NULL },
		{ "4.6.4", "192.0.2.1", "u@threevoid.example", NULL, "permerror", NULL },
		/* more than 10 MX names: permerror; 10 are looked at */
		{ "4.6.4", "192.0.2.1", "u@mx11.example", NULL, "permerror", NULL },
		{ "4.6.4", "192.0.2.1", "u@mx10.example", NULL, "pass", NULL },
		/* PTR names past the tenth are ignored, not an error */
		{ "4.6.4", "192.0.2.11", "u@ptr11.example", NULL, "fail", NULL },
		/* a target that is no valid domain is a void lookup */
		{ "4.6.4", "192.0.2.1", long_local, NULL, "permerror", NULL },
		{ "4.6.4", "192.0.2.1", long_local2, NULL, "pass", NULL },
		/* the lookups behind %{p} are not terms: ten terms still pass */
		{ "4.6.4", "192.0.2.1", "u@p-notterm.example", NULL, "pass", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/* 5.1 - 5.7: the mechanisms, their syntax and their targets. */
static void test_rfc7208_mechanisms(void)
{
	static const char long_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@a-long.example";
	static const struct rfc_case cs[] = {
		/* 5.1 all */
		{ "5.1", "192.0.2.1", "u@all-dot.example", NULL, "permerror", NULL },
		{ "5.1", "192.0.2.1", "u@all-arg.example", NULL, "permerror", NULL },
		{ "5.1", "192.0.2.1", "u@all-cidr.example", NULL, "permerror", NULL },
		{ "5.1", "192.0.2.1", "u@all-first.example", NULL, "pass", NULL },
		/* 5.2 include: pass matches, fail/softfail/neutral do not */
		{ "5.2", "192.0.2.1", "u@inc.example", NULL, "pass", NULL },
		{ "5.2", "192.0.2.1", "u@inc-soft.example", NULL, "pass", NULL },
		{ "5.2", "192.0.2.1", "u@inc-neutral.example", NULL, "fail", NULL },
		{ "5.2", "192.0.2.1", "u@incservfail.example", NULL, "temperror", NULL },
		{ "5.2", "192.0.2.1", "u@inc-perm.example", NULL, "permerror", NULL },
		{ "5.2", "192.0.2.1", "u@incnone.example", NULL, "permerror", NULL },
		{ "5.2", "192.0.2.1", "u@inc-bare.example", NULL, "permerror", NULL },
		{ "5.2", "192.0.2.1", "u@inc-empty.example", NULL, "permerror", NULL },
		{ "5.2", "192.0.2.1", "u@inc-cidr.example", NULL, "permerror", NULL },
		/* an include target that is no domain: its check_host() is none */
		{ "5.2", "192.0.2.1", "a b@inc-bad.example", NULL, "permerror", NULL },
		/* 5.3 a, dual-cidr-length */
		{ "5.3", "192.0.2.1", "u@a24.example", NULL, "pass", NULL },
		{ "5.3", "198.51.100.1", "u@a24.example", NULL, "fail", NULL },
		{ "5.3", "198.51.100.1", "u@a0.example", NULL, "pass", NULL },
		{ "5.3", "2001:db8::9", "u@a0.example", NULL, "fail", NULL },
		{ "5.3", "2001:db8::9", "u@a6-0.example", NULL, "pass", NULL },
		{ "5.3", "192.0.2.1", "u@a6-0.example", NULL, "fail", NULL },
		{ "5.3", "192.0.2.1", "u@adual.example", NULL, "pass", NULL },
		{ "5.3", "2001:db8:1:ff::1", "u@adual.example", NULL, "pass", NULL },
		{ "5.3", "2001:db8:2::1", "u@adual.example", NULL, "fail", NULL },
		{ "5.3", "192.0.2.1", "u@a33.example", NULL, "permerror", NULL },
		{ "5.3", "192.0.2.1", "u@a129.example", NULL, "permerror", NULL },
		{ "5.3", "192.0.2.1", "u@a24-64.example", NULL, "permerror", NULL },
		{ "5.3", "192.0.2.1", "u@a032.example", NULL, "permerror", NULL },
		{ "5.3", "192.0.2.1", "u@a-empty.example", NULL, "permerror", NULL },
		/* 7.1 domain-end: "." toplabel, alphanumeric with a letter or LDH */
		{ "7.1", "192.0.2.1", "u@a-dashtop.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@a-numtop.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@a-dash1.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@a-onelabel.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@a-onelabel2.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@a-idn.example", NULL, "pass", NULL },
		{ "7.1", "192.0.2.1", "u@a-colon.example", NULL, "pass", NULL },
		/* 4.8: targets DNS cannot ask for do not match; never temperror */
		{ "4.8", "192.0.2.1", "u@a-dots.example", NULL, "fail", NULL },
		{ "4.8", "192.0.2.1", long_a, NULL, "fail", NULL },
		{ "4.8", "192.0.2.1", "u@a-space.example", NULL, "fail", NULL },
		/* 5.4 mx: CIDR 0, no implicit MX, the null MX */
		{ "5.4", "192.0.2.1", "u@mx.example", NULL, "pass", NULL },
		{ "5.4", "192.0.2.1", "u@mx0.example", NULL, "pass", NULL },
		{ "5.4", "192.0.2.1", "u@mx-noimplicit.example", NULL, "fail", NULL },
		{ "5.4", "192.0.2.1", "u@mx-null.example", NULL, "neutral", NULL },
		/* 5.5 ptr */
		{ "5.5", "192.0.2.1", "u@ptr.example", NULL, "pass", NULL },
		{ "5.5", "192.0.2.1", "u@ptr-other.example", NULL, "pass", NULL },
		{ "5.5", "192.0.2.12", "u@ptr-nomatch.example", NULL, "fail", NULL },
		{ "5.5", "192.0.2.1", "u@ptr-cidr.example", NULL, "permerror", NULL },
		{ "5.5", "192.0.2.1", "u@ptr-empty.example", NULL, "permerror", NULL },
		/* a DNS error on the PTR lookup is no match; on a name, skip it */
		{ "5.5", "192.0.2.13", "u@ptr-servfail.example", NULL, "neutral", NULL },
		{ "5.5", "192.0.2.14", "u@ptr-skip.example", NULL, "pass", NULL },
		/* 5.6 ip4, ip6; 5: an IPv4-mapped client is IPv4 */
		{ "5.6", "198.51.100.7", "u@ip4-0.example", NULL, "pass", NULL },
		{ "5.6", "2001:db8::1", "u@ip4-0.example", NULL, "fail", NULL },
		{ "5.6", "2001:db9::1", "u@ip6-0.example", NULL, "pass", NULL },
		{ "5.6", "192.0.2.1", "u@ip6-0.example", NULL, "fail", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-33.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-032.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-short.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-port.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-zero.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-dual.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip4-bare.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip6-129.example", NULL, "permerror", NULL },
		{ "5.6", "192.0.2.1", "u@ip6-bad.example", NULL, "permerror", NULL },
		{ "5", "::ffff:192.0.2.1", "u@mapped.example", NULL, "pass", NULL },
		{ "5", "::ffff:192.0.2.2", "u@mapped.example", NULL, "fail", NULL },
		/* 5.7 exists: an A lookup, whatever the client */
		{ "5.7", "192.0.2.1", "u@macro-d.example", NULL, "pass", NULL },
		{ "5.7", "2001:db8::1", "u@exists-aaaa.example", NULL, "fail", NULL },
		{ "5.7", "192.0.2.1", "u@exists-bare.example", NULL, "permerror", NULL },
		{ "5.7", "192.0.2.1", "u@exists-cidr.example", NULL, "permerror", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/* 6.1, 6.2: redirect= and exp=. */
static void test_rfc7208_modifiers(void)
{
	static const struct rfc_case cs[] = {
		{ "6.1", "192.0.2.1", "u@redir.example", NULL, "pass", NULL },
		{ "6", "192.0.2.1", "u@redir-twice.example", NULL, "permerror", NULL },
		{ "6.1", "192.0.2.1", "u@redir-empty.example", NULL, "permerror", NULL },
		{ "6.1", "192.0.2.1", "u@redir-none.example", NULL, "permerror", NULL },
		{ "6.1", "192.0.2.1", "a b@redir-bad.example", NULL, "permerror", NULL },
		{ "6.2", "192.0.2.1", "u@exp.example", NULL, "fail",
		  "192.0.2.1 is not one of exp.example's designated mail servers." },
		/* no explanation, or more than one, or a bad one: no exp */
		{ "6.2", "192.0.2.1", "u@exp-two.example", NULL, "fail", NULL },
		{ "6.2", "192.0.2.1", "u@exp-none.example", NULL, "fail", NULL },
		{ "6.2", "192.0.2.1", "u@exp-syntax.example", NULL, "fail", NULL },
		{ "6.2", "192.0.2.1", "u@exp-timeout.example", NULL, "fail", NULL },
		{ "6.2", "192.0.2.1", "u@exp-nonascii.example", NULL, "fail", NULL },
		{ "6.2", "192.0.2.1", "u@exp-empty.example", NULL, "permerror", NULL },
		{ "6", "192.0.2.1", "u@exp-twice.example", NULL, "permerror", NULL },
		/* the included record's exp= is not used; redirect's target's is */
		{ "6.2", "192.0.2.1", "u@exp-inc.example", NULL, "fail", "parent says no" },
		{ "6.2", "192.0.2.1", "u@exp-redir.example", NULL, "fail",
		  "192.0.2.1 is not one of exp.example's designated mail servers." },
		/* c, r, t only in explanation text */
		{ "7.3", "192.0.2.1", "u@exp-r.example", NULL, "permerror", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
	struct spf_outcome o;
	char *err = NULL;
	struct zone *z = zone_load("tests/unit/data/spf/zone", &err);
	struct spf_backend be = { .zone = z };
	struct spf_query q = { .ip = "192.0.2.1", .sender = "u@exp-two.example",
			       .receiver = "mx.example.net", .deadline_ms = spf_clock_ms() + 5000 };
	spf_dns_evaluate(&be, &q, &o);
	T_CHECK(o.explanation == NULL);
	spf_outcome_clear(&o);
	zone_free(&z);
	free(err);
}

/* 7.1 - 7.4: macros, with the RFC's own examples of 7.4. */
static void test_rfc7208_macros(void)
{
	static const struct rfc_case cs[] = {
		/* 7.4, sender strong-bad@email.example.com, client 192.0.2.3 */
		{ "7.4", "192.0.2.3", "strong-bad@email.example.com", "set1", "fail",
		  "s=strong-bad@email.example.com o=email.example.com d=email.example.com "
		  "d4=email.example.com d3=email.example.com d2=example.com d1=com "
		  "dr=com.example.email" },
		{ "7.4", "192.0.2.3", "strong-bad@email.example.com", "set2", "fail",
		  "d2r=example.email l=strong-bad l-=strong.bad lr=strong-bad lr-=bad.strong "
		  "l1r-=strong" },
		{ "7.4", "192.0.2.3", "strong-bad@email.example.com", "set3", "fail",
		  "3.2.0.192.in-addr._spf.example.com bad.strong.lp._spf.example.com "
		  "example.com.trusted-domains.example.net" },
		{ "7.4", "192.0.2.3", "strong-bad@email.example.com", "set4", "fail",
		  "bad.strong.lp.3.2.0.192.in-addr._spf.example.com "
		  "3.2.0.192.in-addr.strong.lp._spf.example.com" },
		/* 7.3: i is dot-format for IPv6, c is RFC 5952; uppercase is URL-escaped */
		{ "7.3", "2001:db8::cb01", "strong-bad@email.example.com", "set5", "fail",
		  "c=2001:db8::cb01 i=2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1 "
		  "v=ip6 r=mx.example.net L=strong-bad S=strong-bad%40email.example.com %   %20" },
		{ "7.4", "2001:db8::cb01", "u@v6macro.example", NULL, "pass", NULL },
		{ "7.4", "192.0.2.1", "strong-bad@macro-l.example", NULL, "pass", NULL },
		/* %{d2} of a two-label domain is the whole of it (libspf2: "2.example") */
		{ "7.3", "192.0.2.1", "u@d2.example", NULL, "fail", "d2.example|d2.example|d2" },
		{ "7.3", "192.0.2.1", "jack&jill=up@upper.example", NULL, "fail", "l=jack%26jill%3Dup" },
		{ "7.1", "192.0.2.1", "u@macro-mania.example", NULL, "pass", NULL },
		/* 7.1: "%" must start a valid macro */
		{ "7.1", "192.0.2.1", "u@bad-pct.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@bad-pct2.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@lonepct.example", NULL, "permerror", NULL },
		{ "7.1", "192.0.2.1", "u@bad-letter.example", NULL, "permerror", NULL },
		{ "7.3", "192.0.2.1", "u@bad-zero.example", NULL, "permerror", NULL },
		{ "7.3", "192.0.2.1", "u@bad-exp-letter.example", NULL, "permerror", NULL },
		/* 7.3: a name over 253 octets loses labels on the left */
		{ "7.3", "192.0.2.1", "u@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example", NULL, "pass", NULL },
		/* 7.3: h is the HELO argument as sent, domain name or not */
		{ "7.3", "192.0.2.1", "u@helo-raw.example", "mail.helo.example", "pass", NULL },
		{ "7.3", "192.0.2.1", "u@helo-raw.example", "[192.0.2.1]", "fail", NULL },
		{ "7.3", "192.0.2.1", "u@helo-raw.example", "two words", "fail", NULL },
		/* 7.3: p is a validated name of the client */
		{ "7.3", "192.0.2.1", "u@p-macro.example", NULL, "pass", NULL },
		{ "7.3", "192.0.2.12", "u@p-macro.example", NULL, "fail", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/* Local-parts SMTP allows are all evaluated; %{l} is the unquoted local-part. */
static void test_local_parts_evaluated(void)
{
	static const struct rfc_case cs[] = {
		{ "4.3", "192.0.2.1", "a%b@lp.example", NULL, "fail", "l=a%b o=lp.example" },
		{ "4.3", "192.0.2.1", "john smith@lp.example", NULL, "fail",
		  "l=john smith o=lp.example" },
		{ "4.3", "192.0.2.1", "user+tag@lp.example", NULL, "fail", "l=user+tag o=lp.example" },
		{ "4.3", "192.0.2.1", "user=tag@lp.example", NULL, "fail", "l=user=tag o=lp.example" },
		{ "4.3", "192.0.2.1", "a@b@lp.example", NULL, "fail", "l=a@b o=lp.example" },
		{ "4.3", "192.0.2.1", "\xc3\xa9@lp.example", NULL, "fail", "l=?? o=lp.example" },
		{ "4.3", "198.51.100.99", "a%b@lp.example", NULL, "pass", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/* The record decides for loopback clients too (libspf2 passes them unlooked). */
static void test_loopback_follows_record(void)
{
	static const struct rfc_case cs[] = {
		{ "5", "127.0.0.1", "u@fail.example", NULL, "fail", NULL },
		{ "5", "127.1.2.3", "u@fail.example", NULL, "fail", NULL },
		{ "5", "::1", "u@fail.example", NULL, "fail", NULL },
		{ "5", "127.0.0.1", "u@neutral.example", NULL, "neutral", NULL },
	};
	run_rfc_cases(cs, ARRAY_LEN(cs));
}

/*
 * Why (spf_explain): the decision as records and terms from the top down,
 * "DOMAIN:TERM" joined by " > " ("-" for no term).
 */
struct why_case {
	const char *ip;
	const char *sender;	/* NULL: HELO identity mail.helo.example */
	const char *want;	/* result */
	enum spf_decided decided;
	const char *path;
	const char *why;	/* words in why, or NULL for none */
};

static char *path_of(const struct spf_explain *x)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < x->n_steps; i++)
		buf_printf(&b, "%s%s:%s", i > 0 ? " > " : "", x->step[i].domain,
			   x->step[i].term != NULL ? x->step[i].term : "-");
	return buf_steal(&b);
}

static void test_explain_names_the_term(void)
{
	static const struct why_case cs[] = {
		{ "192.0.2.1", "u@pass.example", "pass", SPF_DECIDED_TERM,
		  "pass.example:ip4:192.0.2.1", NULL },
		{ "192.0.2.1", "u@fail.example", "fail", SPF_DECIDED_TERM, "fail.example:-all", NULL },
		{ "192.0.2.1", "u@softfail.example", "softfail", SPF_DECIDED_TERM,
		  "softfail.example:~all", NULL },
		{ "192.0.2.1", "u@bare.example", "neutral", SPF_DECIDED_DEFAULT, "bare.example:-", NULL },
		{ "192.0.2.1", "u@nomatch.example", "neutral", SPF_DECIDED_DEFAULT,
		  "nomatch.example:-", NULL },
		{ "192.0.2.1", "u@norecord.example", "none", SPF_DECIDED_NO_RECORD,
		  "norecord.example:-", "no SPF record at norecord.example" },
		{ "192.0.2.1", "u@multi.example", "permerror", SPF_DECIDED_ERROR, "multi.example:-",
		  "more than one SPF record" },
		{ "192.0.2.1", "u@syntax.example", "permerror", SPF_DECIDED_ERROR,
		  "syntax.example:foo:bar", "unknown mechanism" },
		{ "192.0.2.1", "u@late-error.example", "permerror", SPF_DECIDED_ERROR,
		  "late-error.example:bogus", "unknown mechanism" },
		{ "192.0.2.1", "u@servfail.example", "temperror", SPF_DECIDED_ERROR,
		  "servfail.example:-", "servfail" },
		{ "192.0.2.1", "u@inc.example", "pass", SPF_DECIDED_TERM,
		  "inc.example:include:pass.example > pass.example:ip4:192.0.2.1", NULL },
		{ "192.0.2.9", "u@inc.example", "fail", SPF_DECIDED_TERM, "inc.example:-all", NULL },
		{ "192.0.2.1", "u@inc-soft.example", "pass", SPF_DECIDED_TERM,
		  "inc-soft.example:ip4:192.0.2.1", NULL },
		{ "192.0.2.1", "u@redir.example", "pass", SPF_DECIDED_TERM,
		  "redir.example:redirect=pass.example > pass.example:ip4:192.0.2.1", NULL },
		{ "192.0.2.1", "u@redir-all.example", "softfail", SPF_DECIDED_TERM,
		  "redir-all.example:~all", NULL },
		{ "192.0.2.1", "u@incnone.example", "permerror", SPF_DECIDED_ERROR,
		  "incnone.example:include:norecord.example > norecord.example:-", "no SPF record" },
		{ "192.0.2.1", "u@incservfail.example", "temperror", SPF_DECIDED_ERROR,
		  "incservfail.example:include:servfail.example > servfail.example:-", "servfail" },
		{ "192.0.2.1", "u@inc-perm.example", "permerror", SPF_DECIDED_ERROR,
		  "inc-perm.example:include:syntax.example > syntax.example:foo:bar",
		  "unknown mechanism" },
		{ "192.0.2.1", "u@a.example", "pass", SPF_DECIDED_TERM, "a.example:a", NULL },
		{ "192.0.2.2", "u@a.example", "fail", SPF_DECIDED_TERM, "a.example:-all", NULL },
		{ "192.0.2.1", "u@a24.example", "pass", SPF_DECIDED_TERM, "a24.example:a/24", NULL },
		{ "192.0.2.1", "u@mx.example", "pass", SPF_DECIDED_TERM, "mx.example:mx", NULL },
		{ "192.0.2.1", "u@mx0.example", "pass", SPF_DECIDED_TERM, "mx0.example:mx/0", NULL },
		{ "192.0.2.1", "u@ip4-0.example", "pass", SPF_DECIDED_TERM,
		  "ip4-0.example:ip4:203.0.113.0/0", NULL },
		{ "192.0.2.1", "u@exists-aaaa.example", "fail", SPF_DECIDED_TERM,
		  "exists-aaaa.example:-all", NULL },
		{ "192.0.2.1", "u@ten.example", "pass", SPF_DECIDED_TERM,
		  "ten.example:ip4:192.0.2.1", NULL },
		{ "192.0.2.1", "u@eleven.example", "permerror", SPF_DECIDED_ERROR,
		  "eleven.example:a:h.many.example", "more than 10 DNS-querying terms" },
		{ "192.0.2.1", "u@threevoid.example", "permerror", SPF_DECIDED_ERROR,
		  "threevoid.example:a:v3.void.example", "more than 2 void lookups" },
		{ "2001:db8:1:2::99", "u@ip6.example", "pass", SPF_DECIDED_TERM,
		  "ip6.example:ip6:2001:db8::/32", NULL },
		{ "2001:db8:1:2::99", "u@a6.example", "pass", SPF_DECIDED_TERM, "a6.example:a//64", NULL },
		{ "192.0.2.1", NULL, "pass", SPF_DECIDED_TERM, "mail.helo.example:ip4:192.0.2.1", NULL },
		{ "192.0.2.1", "u@ptr.example", "pass", SPF_DECIDED_TERM, "ptr.example:ptr", NULL },
		{ "192.0.2.9", "u@ptr.example", "fail", SPF_DECIDED_TERM, "ptr.example:-all", NULL },
		{ "192.0.2.1", "u@nodot", "none", SPF_DECIDED_IDENTITY, "", "not a usable domain" },
	};
	char *err = NULL;
	struct zone *z = zone_load("tests/unit/data/spf/zone", &err);
	T_CHECK(z != NULL);
	free(err);
	struct spf_backend be = { .zone = z };
	for (size_t i = 0; z != NULL && i < ARRAY_LEN(cs); i++) {
		const struct why_case *c = &cs[i];
		struct spf_query q = { .ip = c->ip, .helo = "mail.helo.example", .sender = c->sender,
				       .receiver = "mx.example.net",
				       .deadline_ms = spf_clock_ms() + 5000, .explain = true };
		struct spf_outcome o;
		spf_dns_evaluate(&be, &q, &o);
		const struct spf_explain *x = o.explain;
		char *path = x != NULL ? path_of(x) : strdup("(none)");
		bool ok = strcmp(spf_res_name(o.result), c->want) == 0 && x != NULL &&
			  x->decided == c->decided && strcmp(path, c->path) == 0 &&
			  (c->why == NULL ? x->why == NULL
					  : x->why != NULL && strstr(x->why, c->why) != NULL);
		if (!ok)
			printf("# %s %s: got %s %s [%s] why \"%s\"; want %s %s [%s]\n", c->ip,
			       c->sender ? c->sender : "(helo)", spf_res_name(o.result),
			       x ? spf_decided_name(x->decided) : "-", path,
			       x && x->why ? x->why : "", c->want, spf_decided_name(c->decided),
			       c->path);
		T_CHECK(ok);
		/* the top record is given as published */
		if (x != NULL && x->n_steps > 0 && strcmp(c->want, "none") != 0 &&
		    x->decided != SPF_DECIDED_ERROR)
			T_CHECK(x->step[0].record != NULL && strncmp(x->step[0].record, "v=spf1", 6) == 0);
		free(path);
		spf_outcome_clear(&o);
	}
	zone_free(&z);
}

int main(void)
{
	T_RUN(test_basic_results);
	T_RUN(test_pass_comment_is_readable);
	T_RUN(test_errors);
	T_RUN(test_include_redirect_multistring);
	T_RUN(test_a_mx_ptr);
	T_RUN(test_macros);
	T_RUN(test_dns_term_limit);
	T_RUN(test_void_lookup_limit);
	T_RUN(test_exp_in_fail_comment);
	T_RUN(test_ipv6);
	T_RUN(test_guard_refuses_hostile_records);
	T_RUN(test_record_check_table);
	T_RUN(test_local_part_bounds);
	T_RUN(test_helo_identity_reported);
	T_RUN(test_null_sender_uses_helo);
	T_RUN(test_reject_fail_off_by_default);
	T_RUN(test_received_spf_header);
	T_RUN(test_internal_clients_skipped);
	T_RUN(test_disabled);
	T_RUN(test_abort_path);
	T_RUN(test_deadline_is_temperror);
	T_RUN(test_rfc7208_identities);
	T_RUN(test_rfc7208_records);
	T_RUN(test_rfc7208_limits);
	T_RUN(test_rfc7208_mechanisms);
	T_RUN(test_rfc7208_modifiers);
	T_RUN(test_rfc7208_macros);
	T_RUN(test_local_parts_evaluated);
	T_RUN(test_loopback_follows_record);
	T_RUN(test_explain_names_the_term);
	return t_done();
}
