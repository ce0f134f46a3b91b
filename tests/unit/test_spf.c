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
	return t_done();
}
