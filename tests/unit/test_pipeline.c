/*
 * Unit tests of the message pipeline (milterd/pipeline.c, check.c,
 * runtime.c): the check table's run order (needs, after, cycles), per-check
 * options, hook order and lifetimes, typed results, the seal phase and its
 * view of the final header, internal errors, header limits, origin
 * classification, and the Authentication-Results edits.  The spool has its
 * own file (test_spool.c).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "pipeline.h"
#include "runtime.h"
#include "t.h"

/* A recording check: appends "name:stage" to a shared trace. */
static char trace[4096];
static int fail_at_eoh, fail_at_seal;
static char state_a[] = "a";

static void record(const char *who, const char *stage)
{
	size_t len = strlen(trace);
	snprintf(trace + len, sizeof(trace) - len, "%s%s:%s", len ? " " : "", who, stage);
}

/* check a: every hook, leaves a typed result (a string) for b */
static int a_begin(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	cx->state = state_a;
	record("a", "begin");
	return 1;
}

static int a_header(struct msg *m, struct check_ctx *cx, const struct msg_header *h)
{
	(void)m;
	T_CHECK(strcmp(cx->state, "a") == 0);
	record("a", h->name);
	return 0;
}

static int a_eoh(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	(void)cx;
	record("a", "eoh");
	return fail_at_eoh ? -1 : 0;
}

static int a_body(struct msg *m, struct check_ctx *cx, const uint8_t *data, size_t len)
{
	(void)m;
	(void)cx;
	(void)data;
	record("a", len > 0 ? "body" : "empty");
	return 0;
}

static int a_eom(struct msg *m, struct check_ctx *cx)
{
	record("a", "eom");
	struct ar_result r = { .method = "dkim", .result = "pass", .comment = "test",
			       .props = "header.d=example.com" };
	verdict_add_result(m->arena, &m->verdict, &r);
	cx->result = "result of a";
	return 0;
}

static void a_end(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	(void)cx;
	record("a", "end");
}

/* check b: inbound only, needs a and reads its result */
static int b_begin(struct msg *m, struct check_ctx *cx)
{
	(void)cx;
	record("b", "begin");
	return m->internal ? 0 : 1;
}

static int b_eom(struct msg *m, struct check_ctx *cx)
{
	(void)cx;
	const char *from_a = msg_result(m, "a");
	record("b", from_a != NULL ? from_a : "no result of a");
	struct ar_result r = { .method = "dmarc", .result = "fail", .reason = "no aligned id",
			       .props = "header.from=example.com" };
	verdict_add_result(m->arena, &m->verdict, &r);
	return 0;
}

static void b_end(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	(void)cx;
	record("b", "end");
}

static const char *const b_needs[] = { "a", NULL };
static const struct check check_a = { .name = "a", .msg_begin = a_begin, .header = a_header,
				      .eoh = a_eoh, .body = a_body, .eom = a_eom,
				      .msg_end = a_end };
static const struct check check_b = { .name = "b", .needs = b_needs, .msg_begin = b_begin,
				      .eom = b_eom, .msg_end = b_end };
static const struct check *const two_checks[] = { &check_a, &check_b };

/* check opt: has an option of its own (TestLevel, TestSwitch) */
struct opt_options {
	unsigned level;
	bool on;
};
static const struct conffile_bounds level_bounds = { 1, 9 };
static const struct conffile_option opt_table[] = {
	CONFFILE_OPT(struct opt_options, "TestLevel", &conffile_uint, "3", level, &level_bounds),
	CONFFILE_OPT(struct opt_options, "TestSwitch", &conffile_bool, "yes", on, NULL),
};
static const struct conffile_schema opt_schema = { opt_table, 2, sizeof(struct opt_options) };

static bool opt_enabled(const struct config *cfg, const void *opts)
{
	(void)cfg;
	return ((const struct opt_options *)opts)->on;
}

static int opt_eom(struct msg *m, struct check_ctx *cx)
{
	const struct opt_options *o = cx->opts;
	char stage[32];
	snprintf(stage, sizeof(stage), "level%u", o->level);
	record("opt", stage);
	(void)m;
	return 0;
}

static const struct check check_opt = { .name = "opt", .options = &opt_schema,
					.enabled = opt_enabled, .eom = opt_eom };

/* check seal: in the seal phase, records the final header and signs it */
static char seen_final[2048];

static int seal_begin(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	(void)cx;
	return 1;
}

static int seal_eom(struct msg *m, struct check_ctx *cx)
{
	(void)cx;
	record("seal", "eom");
	/* a decide-phase edit: it must be in the final header */
	verdict_add_edit(m->arena, &m->verdict, EDIT_ADD, "X-Decided", "yes", 0);
	T_CHECK(pipeline_final_header(m) == NULL);
	return 0;
}

static int seal_seal(struct msg *m, struct check_ctx *cx)
{
	(void)cx;
	record("seal", "seal");
	const struct msg_headers *h = pipeline_final_header(m);
	seen_final[0] = '\0';
	for (size_t i = 0; h != NULL && i < h->n; i++) {
		size_t len = strlen(seen_final);
		snprintf(seen_final + len, sizeof(seen_final) - len, "%s:%.*s|", h->v[i].name,
			 (int)h->v[i].value_len, h->v[i].value);
	}
	verdict_add_edit(m->arena, &m->verdict, EDIT_INSERT, "X-Sealed", "yes", 0);
	return fail_at_seal ? -1 : 0;
}

static const struct check check_seal = { .name = "seal", .msg_begin = seal_begin,
					 .eom = seal_eom, .seal = seal_seal };

static struct runtime *make_rt(const char *conf, const struct check *const *checks, size_t n)
{
	char *err = NULL;
	struct config *cfg = config_parse_with("test.conf", conf, strlen(conf), checks, n, &err);
	if (cfg == NULL) {
		printf("# config: %s\n", err);
		free(err);
		return NULL;
	}
	struct runtime *rt = runtime_new(cfg, &err);
	config_unref(&cfg);
	if (rt == NULL) {
		printf("# runtime: %s\n", err);
		free(err);
	}
	return rt;
}

#define BASE_CONF "AuthservID mx.example.net\nNameservers 127.0.0.1@1\n"

/* The run order of a table as "name name ...", or "error: ..." */
static void order_of(const struct check *const *t, size_t n, char *out, size_t size)
{
	size_t order[16];
	char *err = NULL;
	out[0] = '\0';
	if (check_table_order(t, n, order, &err) < 0) {
		snprintf(out, size, "error: %s", err);
		free(err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(out);
		snprintf(out + len, size - len, "%s%s", i ? " " : "", t[order[i]]->name);
	}
}

static const char *const after_x[] = { "x", NULL };
static const char *const after_b[] = { "b", NULL };
static const char *const needs_c[] = { "c", NULL };
static const char *const needs_missing[] = { "missing", NULL };

static void test_order_moves_a_check_after_what_it_needs(void)
{
	const struct check *const t[] = { &check_b, &check_a };
	char got[256];
	order_of(t, 2, got, sizeof(got));
	T_EQ_STR(got, "a b");
	order_of(two_checks, 2, got, sizeof(got));
	T_EQ_STR(got, "a b");
}

static void test_order_after_is_soft_and_absent_is_fine(void)
{
	/* x runs after b when b is in the table; "after x" with no x is fine */
	const struct check x = { .name = "x", .after = after_b };
	const struct check y = { .name = "y", .after = after_x };
	const struct check *const t[] = { &x, &y, &check_a, &check_b };
	char got[256];
	order_of(t, 4, got, sizeof(got));
	T_EQ_STR(got, "a b x y");
	const struct check *const u[] = { &y, &check_a };
	order_of(u, 2, got, sizeof(got));
	T_EQ_STR(got, "y a");
}

static void test_order_refuses_cycles_duplicates_and_unknown_needs(void)
{
	const struct check c = { .name = "c", .after = after_b };
	const struct check b = { .name = "b", .needs = needs_c };
	const struct check *const cycle[] = { &b, &c };
	char got[256];
	order_of(cycle, 2, got, sizeof(got));
	T_EQ_STR(got, "error: the checks' needs and after form a cycle: b c");
	const struct check *const dup[] = { &check_a, &check_a };
	order_of(dup, 2, got, sizeof(got));
	T_EQ_STR(got, "error: check a is listed twice");
	const struct check m = { .name = "m", .needs = needs_missing };
	const struct check *const unknown[] = { &m };
	order_of(unknown, 1, got, sizeof(got));
	T_EQ_STR(got, "error: check m needs missing, which does not exist");
}

static void test_production_table_orders(void)
{
	char got[256];
	order_of(check_table, check_table_len, got, sizeof(got));
	T_EQ_STR(got, "dkim_verify spf dmarc dkim_sign");
}

static void test_needs_a_check_that_is_off_is_refused(void)
{
	const struct check *const t[] = { &check_opt, &check_b, &check_a };
	const char *const needs_opt[] = { "opt", NULL };
	struct check needy = { .name = "needy", .needs = needs_opt };
	const struct check *const u[] = { &check_opt, &needy };
	char *err = NULL;
	struct config *cfg = config_parse_with("t.conf", "TestSwitch no\n", 14, u, 2, &err);
	T_CHECK(cfg != NULL);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	T_CHECK(rt == NULL);
	T_EQ_STR(err, "check needy needs opt, which this configuration turns off");
	free(err);
	config_unref(&cfg);
	/* off and not needed: simply not in the snapshot */
	rt = make_rt("TestSwitch no\n", t, 3);
	T_CHECK(rt != NULL && rt->n_checks == 2 && runtime_check(rt, "opt") == NULL);
	runtime_unref(&rt);
}

static void test_check_options_live_in_the_same_file(void)
{
	const struct check *const t[] = { &check_opt };
	struct runtime *rt = make_rt("AuthservID mx.example.net\nTestLevel 7\n", t, 1);
	T_CHECK(rt != NULL);
	if (rt == NULL)
		return;
	const struct opt_options *o = config_check_options(rt->cfg, "opt");
	T_CHECK(o != NULL && o->level == 7 && o->on);
	T_EQ_STR(rt->cfg->authserv_id, "mx.example.net");
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_eoh(c->msg);
	pipeline_eom(c->msg);
	T_EQ_STR(trace, "opt:level7");
	pipeline_conn_free(&c);
	runtime_unref(&rt);
	/* the check's defaults, its errors in the usual words, its name suggested */
	char *err = NULL;
	struct config *cfg = config_parse_with("t.conf", "", 0, t, 1, &err);
	T_CHECK(cfg != NULL && ((const struct opt_options *)config_check_options(cfg, "opt"))
					       ->level == 3);
	config_unref(&cfg);
	const char *bad = "Mode sv\nTestLevel 12\n";
	cfg = config_parse_with("t.conf", bad, strlen(bad), t, 1, &err);
	T_CHECK(cfg == NULL);
	T_EQ_STR(err, "t.conf:2: TestLevel: expected a whole number from 1 to 9");
	free(err);
	cfg = config_parse_with("t.conf", "TestLevle 2\n", 12, t, 1, &err);
	T_EQ_STR(err, "t.conf:1: TestLevle: unknown option; did you mean TestLevel?");
	free(err);
	/* and the production table does not know it */
	cfg = config_parse("t.conf", "TestLevel 2\n", 12, &err);
	T_CHECK(cfg == NULL && strstr(err, "unknown option") != NULL);
	free(err);
}

static void test_hooks_run_in_order_for_every_stage(void)
{
	struct runtime *rt = make_rt(BASE_CONF, two_checks, 2);
	T_CHECK(rt != NULL);
	if (rt == NULL)
		return;
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_header(m, "From", " a@example.com", 14);
	pipeline_eoh(m);
	pipeline_body(m, (const uint8_t *)"hi\r\n", 4);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_ACCEPT);
	T_EQ_STR(r->ar_value, "mx.example.net; dkim=pass (test) header.d=example.com; "
			      "dmarc=fail reason=\"no aligned id\" header.from=example.com");
	pipeline_msg_end(c);
	T_EQ_STR(trace, "a:begin b:begin a:From a:eoh a:body a:eom b:result of a a:end b:end");
	pipeline_conn_free(&c);
	T_CHECK(c == NULL);
	runtime_unref(&rt);
}

static void test_check_that_declines_gets_no_hooks(void)
{
	struct runtime *rt = make_rt(BASE_CONF, two_checks, 2);
	if (rt == NULL)
		return;
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "127.0.0.1"); /* internal */
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	T_CHECK(m->internal);
	pipeline_eoh(m);
	pipeline_eom(m);
	pipeline_conn_free(&c);
	T_EQ_STR(trace, "a:begin b:begin a:eoh a:eom a:end");
	runtime_unref(&rt);
}

static void test_abort_and_close_free_message_on_every_path(void)
{
	struct runtime *rt = make_rt(BASE_CONF, two_checks, 2);
	if (rt == NULL)
		return;
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	pipeline_msg_begin(c, "<a@example.com>", NULL);
	/* a second MAIL FROM without end of message (abort came first) */
	struct msg *m = pipeline_msg_begin(c, "<b@example.com>", NULL);
	pipeline_header(m, "Subject", " x", 2);
	/* close in the middle of the header */
	pipeline_conn_free(&c);
	T_EQ_STR(trace, "a:begin b:begin a:end b:end a:begin b:begin a:Subject a:end b:end");
	/* close with no message at all */
	c = pipeline_conn_new_text(rt, NULL, NULL);
	T_CHECK(!c->internal);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_internal_error_tempfails_by_default(void)
{
	struct runtime *rt = make_rt(BASE_CONF, two_checks, 2);
	if (rt == NULL)
		return;
	fail_at_eoh = 1;
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_eoh(m);
	pipeline_body(m, (const uint8_t *)"x", 1);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_TEMPFAIL);
	T_EQ_STR(r->smtp_code, "451");
	T_EQ_STR(r->smtp_xcode, "4.3.0");
	T_EQ_INT(r->n_edits, 0);
	pipeline_conn_free(&c);
	/* the failed check took no further part, but was still ended */
	T_EQ_STR(trace, "a:begin b:begin a:eoh b:no result of a a:end b:end");
	fail_at_eoh = 0;
	runtime_unref(&rt);
}

static void test_internal_error_accepts_when_configured(void)
{
	struct runtime *rt = make_rt(BASE_CONF "OnInternalError accept\n", two_checks, 2);
	if (rt == NULL)
		return;
	fail_at_eoh = 1;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_eoh(m);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_ACCEPT);
	T_EQ_STR(r->ar_value, "mx.example.net; dmarc=fail reason=\"no aligned id\" "
			      "header.from=example.com");
	pipeline_conn_free(&c);
	fail_at_eoh = 0;
	runtime_unref(&rt);
}

/* Runs one message with these header fields through no checks. */
static const struct eom_result *run_headers(struct conn *c, const char *const *fields)
{
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	for (size_t i = 0; fields[i] != NULL; i += 2)
		pipeline_header(m, fields[i], fields[i + 1], strlen(fields[i + 1]));
	pipeline_eoh(m);
	return pipeline_eom(m);
}

static void test_no_checks_gives_ar_none_inserted_at_top(void)
{
	struct runtime *rt = make_rt(BASE_CONF, NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	const char *const fields[] = { "From", " a@example.com", NULL };
	const struct eom_result *r = run_headers(c, fields);
	T_EQ_STR(r->ar_value, "mx.example.net; none");
	T_EQ_INT(r->n_edits, 1);
	T_EQ_INT(r->edits[0].op, EDIT_INSERT);
	T_EQ_INT(r->edits[0].index, 0);
	T_EQ_STR(r->edits[0].name, "Authentication-Results");
	T_EQ_STR(r->edits[0].value, "mx.example.net; none");
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

struct forged_case {
	const char *name;
	const char *fields[16];
	size_t deletes[8]; /* expected DELETE indices, in order; 0 ends */
};

static const struct forged_case forged_cases[] = {
	{ "one forged", { "Authentication-Results", " mx.example.net; spf=pass", NULL }, { 1 } },
	{ "two forged",
	  { "Authentication-Results", " mx.example.net; spf=pass", "Subject", " s",
	    "authentication-results", " mx.example.net; dkim=pass", NULL },
	  { 2, 1 } },
	{ "five forged, mixed case, folded, commented",
	  { "Authentication-Results", " MX.EXAMPLE.NET; spf=pass",
	    "Authentication-Results", "\n mx.example.net;\n\tdkim=pass",
	    "AUTHENTICATION-RESULTS", " (c) mx.example.net; none",
	    "Authentication-Results", " mx.example.net. ; dmarc=pass",
	    "Authentication-Results", "\r\n\tmx.example.net\r\n\t; arc=pass", NULL },
	  { 5, 4, 3, 2, 1 } },
	{ "foreign kept, forged removed around it",
	  { "Authentication-Results", " other.example; spf=pass",
	    "Authentication-Results", " mx.example.net; spf=pass",
	    "Authentication-Results", " mx.example.net.evil; spf=pass", NULL },
	  { 2 } },
	{ "foreign only", { "Authentication-Results", " other.example; dkim=pass", NULL }, { 0 } },
};

static void test_forged_ar_fields_deleted_last_first(void)
{
	struct runtime *rt = make_rt(BASE_CONF, NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	for (size_t k = 0; k < ARRAY_LEN(forged_cases); k++) {
		const struct forged_case *fc = &forged_cases[k];
		const struct eom_result *r = run_headers(c, fc->fields);
		size_t n = 0;
		while (n < ARRAY_LEN(fc->deletes) && fc->deletes[n] != 0)
			n++;
		T_EQ_INT(r->n_edits, n + 1);
		for (size_t i = 0; i < n && i < r->n_edits; i++) {
			if (r->edits[i].op != EDIT_DELETE || r->edits[i].index != fc->deletes[i])
				printf("#   case: %s, edit %zu\n", fc->name, i);
			T_EQ_INT(r->edits[i].op, EDIT_DELETE);
			T_EQ_INT(r->edits[i].index, fc->deletes[i]);
		}
		/* ours goes in last, at the top */
		T_EQ_INT(r->edits[r->n_edits - 1].op, EDIT_INSERT);
		T_EQ_INT(r->edits[r->n_edits - 1].index, 0);
	}
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_too_many_headers_rejected_with_552(void)
{
	struct runtime *rt = make_rt(BASE_CONF "MaximumHeaderCount 10\n", NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	for (int i = 0; i < 10000; i++)
		pipeline_header(m, "X-Junk", " y", 2);
	pipeline_eoh(m);
	T_CHECK(pipeline_over_limit(m));
	T_EQ_INT(m->headers.n, 10);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_REJECT);
	T_EQ_STR(r->smtp_code, "552");
	T_EQ_STR(r->smtp_xcode, "5.3.4");
	T_CHECK(r->smtp_text != NULL && strstr(r->smtp_text, "too many") != NULL);
	T_EQ_INT(r->n_edits, 0);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_header_limit_accept_still_removes_forged_past_limit(void)
{
	struct runtime *rt = make_rt(BASE_CONF "MaximumHeaderCount 3\nOnHeaderLimit accept\n",
				     NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	for (int i = 0; i < 5; i++)
		pipeline_header(m, "X-Junk", " y", 2);
	pipeline_header(m, "Authentication-Results", " mx.example.net; dkim=pass", 26);
	pipeline_eoh(m);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_ACCEPT);
	T_EQ_INT(r->n_edits, 2);
	T_EQ_INT(r->edits[0].op, EDIT_DELETE);
	T_EQ_INT(r->edits[0].index, 1);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_oversized_field_and_line_are_limits(void)
{
	struct runtime *rt = make_rt(BASE_CONF "MaximumHeaderSize 2000\n", NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	char *big = malloc(100001);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_header(m, "Subject", big, 100000);
	T_EQ_INT(m->header_limit, HDR_ERR_FIELD);
	T_EQ_INT(pipeline_eom(m)->action, ACTION_REJECT);
	pipeline_conn_free(&c);
	runtime_unref(&rt);

	rt = make_rt(BASE_CONF "MaximumLineLength 1000\n", NULL, 0);
	T_CHECK(rt != NULL);
	if (rt != NULL) {
		c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
		m = pipeline_msg_begin(c, "<a@example.com>", NULL);
		pipeline_header(m, "Subject", big, 2000);
		T_EQ_INT(m->header_limit, HDR_ERR_LINE);
		pipeline_conn_free(&c);
		runtime_unref(&rt);
	}
	free(big);
}

static void test_header_values_get_crlf_folds(void)
{
	struct runtime *rt = make_rt(BASE_CONF, NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_header(m, "Subject", " a\n\tb\r\n c", 10);
	T_EQ_INT(m->headers.n, 1);
	T_EQ_STR(m->headers.v[0].value, " a\r\n\tb\r\n c");
	T_EQ_INT(m->headers.v[0].value_len, 11);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_origin_internal_hosts_and_sasl(void)
{
	struct runtime *rt = make_rt(BASE_CONF "InternalHosts 192.0.2.0/24\n", NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "192.0.2.77");
	T_CHECK(c->internal);
	T_CHECK(pipeline_msg_begin(c, "<a@example.com>", NULL)->internal);
	pipeline_conn_free(&c);
	c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	T_CHECK(!c->internal);
	T_CHECK(!pipeline_msg_begin(c, "<a@example.com>", NULL)->internal);
	T_CHECK(!pipeline_msg_begin(c, "<a@example.com>", "")->internal);
	T_CHECK(pipeline_msg_begin(c, "<a@example.com>", "alice")->internal);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_envelope_parsed_and_null_sender(void)
{
	struct runtime *rt = make_rt(BASE_CONF, NULL, 0);
	if (rt == NULL)
		return;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<User@Example.COM>", NULL);
	T_CHECK(m->mail_from_valid);
	T_EQ_STR(m->mail_from.domain, "example.com");
	m = pipeline_msg_begin(c, "<>", NULL);
	T_CHECK(m->mail_from_valid);
	T_EQ_STR(m->mail_from.domain, "");
	pipeline_rcpt(m, "<b@example.net>");
	pipeline_rcpt(m, "<c@example.net>");
	T_EQ_INT(m->rcpts.n, 2);
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_seal_sees_the_header_as_it_will_leave(void)
{
	const struct check *const t[] = { &check_a, &check_seal };
	struct runtime *rt = make_rt(BASE_CONF, t, 2);
	if (rt == NULL)
		return;
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_header(m, "Authentication-Results", " mx.example.net; spf=pass", 25);
	pipeline_header(m, "From", " a@example.com", 14);
	pipeline_eoh(m);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_ACCEPT);
	/* ours on top, the forged one gone, the decide-phase edit at the end */
	T_EQ_STR(seen_final, "Authentication-Results: mx.example.net; dkim=pass (test) "
			     "header.d=example.com|From: a@example.com|X-Decided: yes|");
	T_EQ_STR(trace, "a:begin a:Authentication-Results a:From a:eoh a:eom seal:eom "
			"seal:seal");
	/* edits: delete the forged field, decide, seal, then ours on top */
	T_EQ_INT(r->n_edits, 4);
	T_EQ_INT(r->edits[0].op, EDIT_DELETE);
	T_EQ_STR(r->edits[1].name, "X-Decided");
	T_EQ_STR(r->edits[2].name, "X-Sealed");
	T_EQ_STR(r->edits[3].name, "Authentication-Results");
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_seal_does_not_run_for_a_rejected_message(void)
{
	const struct check *const t[] = { &check_seal };
	struct runtime *rt = make_rt(BASE_CONF "MaximumHeaderCount 1\n", t, 1);
	if (rt == NULL)
		return;
	trace[0] = '\0';
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_header(m, "From", " a@example.com", 14);
	pipeline_header(m, "To", " b@example.com", 14);
	pipeline_eoh(m);
	T_EQ_INT(pipeline_eom(m)->action, ACTION_REJECT);
	T_EQ_STR(trace, "");
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_seal_failure_is_an_internal_error(void)
{
	const struct check *const t[] = { &check_seal };
	struct runtime *rt = make_rt(BASE_CONF, t, 1);
	if (rt == NULL)
		return;
	fail_at_seal = 1;
	struct conn *c = pipeline_conn_new_text(rt, NULL, "203.0.113.5");
	struct msg *m = pipeline_msg_begin(c, "<a@example.com>", NULL);
	pipeline_eoh(m);
	const struct eom_result *r = pipeline_eom(m);
	T_EQ_INT(r->action, ACTION_TEMPFAIL);
	T_EQ_STR(r->smtp_xcode, "4.3.0");
	T_EQ_INT(r->n_edits, 0);
	fail_at_seal = 0;
	pipeline_conn_free(&c);
	runtime_unref(&rt);
}

static void test_installed_snapshots_count_generations(void)
{
	struct runtime *a = make_rt(BASE_CONF, NULL, 0);
	struct runtime *b = make_rt(BASE_CONF, NULL, 0);
	T_CHECK(a != NULL && b != NULL);
	if (a == NULL || b == NULL)
		return;
	T_EQ_INT(a->generation, 0);
	runtime_set_current(a);	/* takes a's reference */
	unsigned long first = a->generation;
	T_CHECK(first > 0);
	struct runtime *cur = runtime_current();
	T_CHECK(cur == a);
	runtime_set_current(b);
	T_EQ_INT(b->generation, first + 1);
	/* the old snapshot lives on while someone holds it */
	T_EQ_INT(cur->generation, first);
	runtime_unref(&cur);
	runtime_set_current(NULL);
}

static void test_verdict_most_severe_action_wins(void)
{
	struct arena *a = arena_new();
	struct verdict v = { 0 };
	verdict_propose(a, &v, ACTION_QUARANTINE, "x", NULL, NULL, "q");
	verdict_propose(a, &v, ACTION_ACCEPT, "y", NULL, NULL, NULL);
	T_EQ_INT(v.action, ACTION_QUARANTINE);
	verdict_propose(a, &v, ACTION_REJECT, "dmarc", "550", "5.7.1", "r1");
	verdict_propose(a, &v, ACTION_TEMPFAIL, "spf", "451", "4.4.3", "t");
	verdict_propose(a, &v, ACTION_REJECT, "other", "554", "5.7.0", "r2");
	T_EQ_INT(v.action, ACTION_REJECT);
	T_EQ_STR(v.action_by, "dmarc");
	T_EQ_STR(v.smtp_text, "r1");
	arena_free(&a);
}

static void test_ar_value_quotes_reasons_and_escapes_comments(void)
{
	struct arena *a = arena_new();
	struct verdict v = { 0 };
	struct ar_result r = { .method = "dkim", .result = "fail", .reason = "bad \"sig\"",
			       .comment = "1024-bit (rsa) key", .props = "header.d=x.example" };
	verdict_add_result(a, &v, &r);
	struct ar_result t = { .method = "spf", .result = "pass", .reason = "token" };
	verdict_add_result(a, &v, &t);
	T_EQ_STR(verdict_ar_value(a, "mx", &v),
		 "mx; dkim=fail (1024-bit \\(rsa\\) key) reason=\"bad \\\"sig\\\"\" "
		 "header.d=x.example; spf=pass reason=token");
	arena_free(&a);
}

int main(void)
{
	T_RUN(test_order_moves_a_check_after_what_it_needs);
	T_RUN(test_order_after_is_soft_and_absent_is_fine);
	T_RUN(test_order_refuses_cycles_duplicates_and_unknown_needs);
	T_RUN(test_production_table_orders);
	T_RUN(test_needs_a_check_that_is_off_is_refused);
	T_RUN(test_check_options_live_in_the_same_file);
	T_RUN(test_hooks_run_in_order_for_every_stage);
	T_RUN(test_check_that_declines_gets_no_hooks);
	T_RUN(test_abort_and_close_free_message_on_every_path);
	T_RUN(test_internal_error_tempfails_by_default);
	T_RUN(test_internal_error_accepts_when_configured);
	T_RUN(test_no_checks_gives_ar_none_inserted_at_top);
	T_RUN(test_forged_ar_fields_deleted_last_first);
	T_RUN(test_too_many_headers_rejected_with_552);
	T_RUN(test_header_limit_accept_still_removes_forged_past_limit);
	T_RUN(test_oversized_field_and_line_are_limits);
	T_RUN(test_header_values_get_crlf_folds);
	T_RUN(test_origin_internal_hosts_and_sasl);
	T_RUN(test_envelope_parsed_and_null_sender);
	T_RUN(test_seal_sees_the_header_as_it_will_leave);
	T_RUN(test_seal_does_not_run_for_a_rejected_message);
	T_RUN(test_seal_failure_is_an_internal_error);
	T_RUN(test_installed_snapshots_count_generations);
	T_RUN(test_verdict_most_severe_action_wins);
	T_RUN(test_ar_value_quotes_reasons_and_escapes_comments);
	return t_done();
}
