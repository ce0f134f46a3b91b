/*
 * Unit tests of DMARC (RFC 9989): the record parser
 * (lib/mail/dmarc_record.c), the tree walk's names, identifier alignment,
 * and the dmarc check as a pipeline module (milterd/dmarc.c, dmarc_walk.c)
 * with stand-in "dkim_verify" and "spf" checks that leave scripted typed
 * results, against the zone tests/unit/data/dmarc/test.zone.  The
 * evaluation record is read the way a report writer would: by a check of
 * our own that `needs` dmarc.  A table of cases where RFC 7489's discovery
 * (DMARCDiscovery psl) and RFC 9989's tree walk differ runs in both modes.
 * libopendmarc runs as a differential check over every case of the table
 * (what it is asked: the record as we parsed it, and the aligned passes we
 * found; its verdict must be ours), and the evidence for not trusting its
 * alignment is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendmarc/dmarc.h>

#include "check.h"
#include "dmarc.h"
#include "dkim_verify.h"
#include "dmarc_record.h"
#include "dmarc_walk.h"
#include "pipeline.h"
#include "spf.h"
#include "runtime.h"
#include "t.h"

#define DATA "tests/unit/data/dmarc/"
#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"
#define BASE_CONF "AuthservID mx.example.net\nTestDNSData " DATA "test.zone\n"

/* ---- the record parser ---- */

struct rec_case {
	const char *text;
	enum dmarc_p p, sp, np;
	bool sp_given, np_given, p_assumed, strict, testing;
	enum dmarc_psd psd;
	unsigned fo, historic;
	size_t n_rua, n_ruf, n_warnings;
};

#define N DMARC_P_NONE
#define Q DMARC_P_QUARANTINE
#define R DMARC_P_REJECT
#define PSD_U DMARC_PSD_U
#define FO0 DMARC_FO_0

static const struct rec_case rec_cases[] = {
	{ "v=DMARC1; p=none", N, N, N, false, false, false, false, false, PSD_U, FO0, 0, 0, 0, 0 },
	{ "v=DMARC1;p=reject;", R, R, R, false, false, false, false, false, PSD_U, FO0, 0, 0,
	  0, 0 },
	/* np= defaults to sp=, sp= to p= (RFC 9989 4.7) */
	{ " v = DMARC1 ;  P = Quarantine ; sp=none;adkim=s; aspf=S", Q, N, N, true, false,
	  false, true, false, PSD_U, FO0, 0, 0, 0, 0 },
	{ "v=DMARC1; p=reject; np=quarantine; t=y; psd=n", R, R, Q, false, true, false, false,
	  true, DMARC_PSD_N, FO0, 0, 0, 0, 0 },
	{ "v=DMARC1; p=none; psd=y; t=n", N, N, N, false, false, false, false, false,
	  DMARC_PSD_Y, FO0, 0, 0, 0, 0 },
	{ "v=DMARC1; rua=mailto:a@example.com; p=reject", R, R, R, false, false, false, false,
	  false, PSD_U, FO0, 0, 1, 0, 0 },
	/* RFC 9989 C.5.2: pct, rf and ri are historic: ignored, noted */
	{ "v=DMARC1; p=none; fo=1:d:s; rf=afrf; ri=3600; pct=0; x_unknown=what-ever", N, N, N,
	  false, false, false, false, false, PSD_U, DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S,
	  DMARC_HISTORIC_PCT | DMARC_HISTORIC_RF | DMARC_HISTORIC_RI, 0, 0, 0 },
	{ "v=DMARC1; p=none; rua=mailto:a@x.example!10m, https://r.example/x ; "
	  "ruf=mailto:f@x.example", N, N, N, false, false, false, false, false, PSD_U, FO0, 0,
	  2, 1, 0 },
	/* RFC 9989 4.10.1: no valid p= (or a bad sp=/np=), but a valid rua= */
	{ "v=DMARC1; rua=mailto:r@example.com", N, N, N, false, false, true, false, false,
	  PSD_U, FO0, 0, 1, 0, 0 },
	{ "v=DMARC1; p=reject; sp=bad; rua=mailto:r@example.com", N, N, N, false, false, true,
	  false, false, PSD_U, FO0, 0, 1, 0, 0 },
	{ "v=DMARC1; p=reject; np=bad; rua=mailto:r@example.com", N, N, N, false, false, true,
	  false, false, PSD_U, FO0, 0, 1, 0, 0 },
	/* RFC 9989 4.8: bad values give way to defaults; bad tag-specs are dropped */
	{ "v=DMARC1; p=reject; pct=101; adkim=x; aspf=; fo=2; t=maybe; psd=x; junk; 9x=1",
	  R, R, R, false, false, false, false, false, PSD_U, FO0, DMARC_HISTORIC_PCT, 0, 0, 7 },
	{ "v=DMARC1; p=none; rua=mailto:nobody, ftp, mailto:ok@example.com!99x", N, N, N,
	  false, false, false, false, false, PSD_U, FO0, 0, 0, 0, 3 },
};

#undef N
#undef Q
#undef R

static void test_record_parses_valid_records(void)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(rec_cases); i++) {
		const struct rec_case *c = &rec_cases[i];
		struct dmarc_record r;
		const char *err = NULL;
		int rc = dmarc_record_parse(a, c->text, strlen(c->text), &r, &err);
		if (rc != 0) {
			t_fail(__FILE__, __LINE__, "%s: %s", c->text, err);
			continue;
		}
		if (r.p != c->p || r.sp != c->sp || r.np != c->np || r.sp_given != c->sp_given ||
		    r.np_given != c->np_given || r.p_assumed != c->p_assumed ||
		    r.adkim_strict != c->strict || r.aspf_strict != c->strict ||
		    r.testing != c->testing || r.psd != c->psd || r.fo != c->fo ||
		    r.historic != c->historic || r.n_rua != c->n_rua || r.n_ruf != c->n_ruf ||
		    r.n_warnings != c->n_warnings)
			t_fail(__FILE__, __LINE__, "%s: p=%d sp=%d np=%d t=%d psd=%d fo=%u "
			       "historic=%u rua=%zu ruf=%zu warnings=%zu", c->text, r.p, r.sp, r.np,
			       r.testing, r.psd, r.fo, r.historic, r.n_rua, r.n_ruf, r.n_warnings);
	}
	arena_free(&a);
}

/* A record over 4 KB (long lists of report URIs) is no error: the first URIs are kept. */
static void test_record_over_4k_keeps_the_first_uris(void)
{
	struct arena *a = arena_new();
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "v=DMARC1; p=reject; rua=");
	for (int i = 0; i < 150; i++)
		buf_printf(&b, "%smailto:dmarc-%03d@reports.example", i ? ", " : "", i);
	buf_puts(&b, "; ruf=mailto:f@reports.example");
	T_CHECK(b.len > 4096);
	struct dmarc_record r;
	const char *err = NULL;
	T_EQ_INT(dmarc_record_parse(a, b.p, b.len, &r, &err), 0);
	T_EQ_INT(r.p, DMARC_P_REJECT);
	T_EQ_INT(r.n_rua, DMARC_RECORD_MAX_URIS);
	T_EQ_STR(r.rua[0], "mailto:dmarc-000@reports.example");
	T_EQ_INT(r.n_ruf, 1);
	T_CHECK(r.warning != NULL && strstr(r.warning, "beyond the limit") != NULL);
	buf_free(&b);
	arena_free(&a);
}

static void test_record_keeps_uris_as_written(void)
{
	struct arena *a = arena_new();
	struct dmarc_record r;
	const char *err;
	const char *t = "v=DMARC1; p=none; rua=mailto:a@x.example!10m , mailto:b@y.example";
	T_EQ_INT(dmarc_record_parse(a, t, strlen(t), &r, &err), 0);
	T_EQ_INT(r.n_rua, 2);
	T_EQ_STR(r.rua[0], "mailto:a@x.example!10m");
	T_EQ_STR(r.rua[1], "mailto:b@y.example");
	arena_free(&a);
}

struct bad_rec {
	const char *text, *error;
};

static const struct bad_rec bad_recs[] = {
	{ "", "record does not start with v=DMARC1" },
	{ "v=DMARC2; p=none", "record does not start with v=DMARC1" },
	{ "v=dmarc1; p=none", "record does not start with v=DMARC1" },
	{ "p=none; v=DMARC1", "record does not start with v=DMARC1" },
	{ "v=DMARC1", "no p= tag" },
	{ "v=DMARC1; p=rej", "invalid p= value" },
	{ "v=DMARC1; p=none; sp=rej", "invalid sp= value" },
	{ "v=DMARC1; p=none; np=rej", "invalid np= value" },
	{ "v=DMARC1; p=none; p=reject", "tag given twice" },
	{ "v=DMARC1; p=none; v=DMARC1", "tag given twice" },
	{ "v=DMARC1; p=none; PCT=5; pct=6", "tag given twice" },
	{ "v=DMARC1; p=rej; junk", "invalid p= value" },
	{ "v=DMARC1; rua=notauri", "no p= tag" },
};

static void test_record_errors_have_reasons(void)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(bad_recs); i++) {
		struct dmarc_record r;
		const char *err = NULL;
		T_EQ_INT(dmarc_record_parse(a, bad_recs[i].text, strlen(bad_recs[i].text), &r,
					    &err), -1);
		T_EQ_STR(err, bad_recs[i].error);
	}
	struct dmarc_record r;
	const char *err = NULL;
	T_EQ_INT(dmarc_record_parse(a, "v=DMARC1; p=none\0x", 18, &r, &err), -1);
	T_EQ_STR(err, "NUL byte in record");
	size_t size = DMARC_RECORD_MAX_LEN + 20;
	char *big = malloc(size);
	snprintf(big, size, "v=DMARC1; p=none; x=");
	memset(big + strlen(big), 'a', size - strlen(big) - 1);
	big[size - 1] = '\0';
	T_EQ_INT(dmarc_record_parse(a, big, strlen(big), &r, &err), -1);
	T_EQ_STR(err, "record too long");
	free(big);
	arena_free(&a);
}

struct is_case {
	const char *text;
	bool want;
};

static const struct is_case is_cases[] = {
	{ "v=DMARC1; p=none", true }, { "v=DMARC1", true }, { "  v = DMARC1 ;", true },
	{ "V=DMARC1; p=none", true }, { "v=DMARC10; p=none", false },
	{ "v=spf1 -all", false }, { "p=none; v=DMARC1", false }, { "", false },
};

static void test_record_is_dmarc_needs_v_first(void)
{
	for (size_t i = 0; i < ARRAY_LEN(is_cases); i++)
		if (dmarc_record_is_dmarc(is_cases[i].text, strlen(is_cases[i].text)) !=
		    is_cases[i].want)
			t_fail(__FILE__, __LINE__, "%s", is_cases[i].text);
}

/* ---- the tree walk's names (RFC 9989 4.10) ---- */

static void test_walk_names_as_rfc_9989_lists_them(void)
{
	const char *t[DMARC_WALK_MAX_QUERIES];
	/* the example of RFC 9989 4.10: eight queries for a 13-label name */
	size_t n = dmarc_walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com", t);
	static const char *const want[] = {
		"a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com",
		"h.i.j.mail.example.com", "i.j.mail.example.com", "j.mail.example.com",
		"mail.example.com", "example.com", "com",
	};
	T_EQ_INT(n, 8);
	for (size_t i = 0; i < n && i < ARRAY_LEN(want); i++)
		T_EQ_STR(t[i], want[i]);
	/* up to 8 labels, every parent; one label, itself */
	n = dmarc_walk_targets("a.mail.example.com", t);
	T_EQ_INT(n, 4);
	T_EQ_STR(t[3], "com");
	T_EQ_INT(dmarc_walk_targets("1.2.3.4.5.6.7.8", t), 8);
	T_EQ_STR(t[1], "2.3.4.5.6.7.8");
	T_EQ_INT(dmarc_walk_targets("1.2.3.4.5.6.7.8.9", t), 8);
	T_EQ_STR(t[1], "3.4.5.6.7.8.9");
	T_EQ_INT(dmarc_walk_targets("com", t), 1);
	/* never more than 8, however long */
	char deep[256] = "";
	for (int i = 0; i < 60; i++)
		strcat(deep, "x.");
	strcat(deep, "example.com");
	T_EQ_INT(dmarc_walk_targets(deep, t), DMARC_WALK_MAX_QUERIES);
	T_EQ_STR(t[1], "x.x.x.x.x.example.com");
}

/* ---- alignment with the PSL (DMARCDiscovery psl) ---- */

struct align_case {
	const char *from, *auth;
	bool strict, want;
};

static const struct align_case align_cases[] = {
	{ "example.com", "example.com", true, true },
	{ "example.com", "EXAMPLE.com.", true, true },
	{ "example.com", "mail.example.com", true, false },
	{ "mail.example.com", "example.com", true, false },
	{ "example.com", "mail.example.com", false, true },
	{ "a.b.example.com", "c.example.com", false, true },
	{ "example.com", "example.net", false, false },
	{ "example.com", "com", false, false },		/* d=com never aligns */
	{ "example.com", "notexample.com", false, false },
	{ "a.example.co.uk", "b.example.co.uk", false, true },
	{ "example.co.uk", "other.co.uk", false, false },
	{ "example.co.uk", "co.uk", false, false },
	{ "a.b.c.mm", "b.c.mm", false, true },		/* wildcard *.mm */
	{ "b.c.mm", "d.c.mm", false, false },
	{ "a.www.ck", "www.ck", false, true },		/* exception !www.ck */
	{ "me.github.io", "you.github.io", false, false },	/* private section */
	{ "x.me.github.io", "me.github.io", false, true },
	{ "example.com", "", false, false },
	{ "example.com", NULL, false, false },
};

static struct psl *load_psl(void)
{
	char *err = NULL;
	struct psl *p = psl_load(PSL_FILE, &err);
	if (p == NULL)
		printf("# %s\n", err);
	free(err);
	return p;
}

static void test_alignment_relaxed_and_strict(void)
{
	struct psl *psl = load_psl();
	struct arena *a = arena_new();
	for (size_t i = 0; psl != NULL && i < ARRAY_LEN(align_cases); i++) {
		const struct align_case *c = &align_cases[i];
		if (dmarc_aligned(psl, a, c->from, c->auth, c->strict) != c->want)
			t_fail(__FILE__, __LINE__, "%s vs %s (%s): want %d", c->from,
			       c->auth ? c->auth : "(null)", c->strict ? "strict" : "relaxed",
			       c->want);
	}
	arena_free(&a);
	psl_list_free(&psl);
}

/* ---- the check in a pipeline ---- */

struct stub_result {
	const char *method, *result, *domain, *scope;
};

static struct stub_result stubs[4];

/* The stand-in dkim_verify: the scripted signatures as its typed result. */
static int stub_dkim_eom(struct msg *m, struct check_ctx *cx)
{
	struct dkim_verify_result *r = arena_alloc(m->arena, sizeof(*r));
	struct dkim_sig_result *sigs = arena_alloc_array(m->arena, ARRAY_LEN(stubs), sizeof(*sigs));
	for (size_t i = 0; i < ARRAY_LEN(stubs) && stubs[i].method != NULL; i++) {
		if (strcmp(stubs[i].method, "dkim") != 0)
			continue;
		sigs[r->n++] = (struct dkim_sig_result){ .domain = stubs[i].domain,
							  .selector = "sel",
							  .result = stubs[i].result };
	}
	r->sigs = sigs;
	cx->result = r;
	return 0;
}

/* The stand-in spf: the scripted identities as its typed result. */
static int stub_spf_eom(struct msg *m, struct check_ctx *cx)
{
	struct spf_result *r = arena_alloc(m->arena, sizeof(*r));
	for (size_t i = 0; i < ARRAY_LEN(stubs) && stubs[i].method != NULL; i++) {
		if (strcmp(stubs[i].method, "spf") != 0)
			continue;
		struct spf_identity_result *id = arena_alloc(m->arena, sizeof(*id));
		id->result = stubs[i].result;
		id->domain = stubs[i].domain;
		if (strcmp(stubs[i].scope, "helo") == 0)
			r->helo = id;
		else
			r->mfrom = id;
	}
	cx->result = r;
	return 0;
}

static const struct check stub_dkim = { .name = DKIM_VERIFY_CHECK, .eom = stub_dkim_eom };
static const struct check stub_spf = { .name = SPF_CHECK, .eom = stub_spf_eom };

/* What the evaluation record said last (copied: it lives in the message). */
struct seen_report {
	int calls;
	char result[16], header_from[64], policy_domain[64], reason[32];
	enum dmarc_disposition disposition;
	size_t n_reasons, n_dkim;
	bool spf_aligned, dkim_aligned, have_policy, testing;
	enum dmarc_policy_from policy_from;
	enum dmarc_p applied;
	enum dmarc_discovery discovery;
	char org_domain[64];
	struct dmarc_record policy;	/* scalars only: no URIs */
	/* why (explain) */
	enum dmarc_align spf_align, dkim_align[3];
	size_t n_seen;
	char seen_domain[DMARC_SEEN_MAX][64];
	char seen_txt0[DMARC_SEEN_MAX][128];	/* the first TXT, or "" */
	bool seen_asked[DMARC_SEEN_MAX];
};

static struct seen_report seen;

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

/* A stand-in for the report writer: a check that needs dmarc. */
static int report_eom(struct msg *m, struct check_ctx *cx)
{
	(void)cx;
	const struct dmarc_result *r = dmarc_result_of(m);
	if (r == NULL)
		return 0;
	struct seen_report *s = &seen;
	s->calls++;
	copy(s->result, sizeof(s->result), r->result);
	copy(s->header_from, sizeof(s->header_from), r->header_from);
	copy(s->policy_domain, sizeof(s->policy_domain), r->policy_domain);
	copy(s->reason, sizeof(s->reason),
	     r->n_reasons > 0 ? dmarc_override_name(r->reasons[0].type) : NULL);
	s->disposition = r->disposition;
	s->n_reasons = r->n_reasons;
	s->n_dkim = r->n_dkim;
	s->policy_from = r->policy_from;
	s->discovery = r->discovery;
	s->applied = r->applied;
	s->testing = r->testing;
	copy(s->org_domain, sizeof(s->org_domain), r->org_domain);
	s->spf_aligned = r->spf_aligned;
	s->dkim_aligned = r->dkim_aligned;
	s->have_policy = r->policy != NULL;
	s->spf_align = r->spf_align;
	for (size_t i = 0; i < r->n_dkim && i < ARRAY_LEN(s->dkim_align); i++)
		s->dkim_align[i] = r->dkim[i].align;
	s->n_seen = r->n_seen;
	for (size_t i = 0; i < r->n_seen; i++) {
		copy(s->seen_domain[i], sizeof(s->seen_domain[i]), r->seen[i].domain);
		copy(s->seen_txt0[i], sizeof(s->seen_txt0[i]),
		     r->seen[i].n_txt > 0 ? r->seen[i].txt[0] : NULL);
		s->seen_asked[i] = r->seen[i].asked;
	}
	memset(&s->policy, 0, sizeof(s->policy));
	if (r->policy != NULL) {
		s->policy = *r->policy;
		s->policy.rua = s->policy.ruf = NULL;
		s->policy.warning = NULL;
	}
	return 0;
}

static const char *const report_needs[] = { DMARC_CHECK, NULL };
static const struct check report_check = { .name = "report", .needs = report_needs,
					   .eom = report_eom };

static const struct check *const table[] = { &report_check, &stub_dkim, &stub_spf,
					      &check_dmarc };

static struct runtime *make_rt(const char *extra)
{
	char conf[1024];
	snprintf(conf, sizeof(conf), "%s%s", BASE_CONF, extra != NULL ? extra : "");
	char *err = NULL;
	struct config *cfg = config_parse_with("test.conf", conf, strlen(conf), table,
					       ARRAY_LEN(table), &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	if (rt == NULL)
		printf("# setup: %s\n", err);
	free(err);
	return rt;
}

struct outcome {
	char ar[1024];
	enum action action;
	char code[8], xcode[8], text[256];
	bool junk_header;
};

/* Sends one message with the given From fields (NULL-terminated list). */
static void run(struct runtime *rt, const char *ip, const char *mail_from,
		const char *const *froms, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	struct conn *c = pipeline_conn_new_text(rt, "client.example", ip);
	pipeline_helo(c, "client.example");
	struct msg *m = pipeline_msg_begin(c, mail_from, NULL);
	pipeline_rcpt(m, "<rcpt@example.net>");
	for (size_t i = 0; froms != NULL && froms[i] != NULL; i++)
		pipeline_header(m, "From", froms[i], strlen(froms[i]));
	pipeline_header(m, "Subject", " hello", 6);
	pipeline_eoh(m);
	pipeline_body(m, (const uint8_t *)"hi\r\n", 4);
	const struct eom_result *r = pipeline_eom(m);
	copy(o->ar, sizeof(o->ar), r->ar_value);
	o->action = r->action;
	copy(o->code, sizeof(o->code), r->smtp_code);
	copy(o->xcode, sizeof(o->xcode), r->smtp_xcode);
	copy(o->text, sizeof(o->text), r->smtp_text);
	for (size_t i = 0; i < r->n_edits; i++)
		if (strcmp(r->edits[i].name, DMARC_QUARANTINE_HEADER_NAME) == 0 &&
		    strcmp(r->edits[i].value, DMARC_QUARANTINE_HEADER_VALUE) == 0)
			o->junk_header = true;
	pipeline_conn_free(&c);
}

struct pcase {
	const char *name;
	const char *from[3];		/* From field values */
	const char *mail_from;
	struct stub_result res[3];
	const char *want_dmarc;		/* the dmarc resinfo, up to the next ";" */
	enum action want_action;
};

#define EX "<bounce@example.com>"
#define DKIM(r, d) { "dkim", r, d, NULL }
#define SPF(r, d, s) { "spf", r, d, s }

#define TW ", treewalk at "
static const struct pcase pcases[] = {
	{ "aligned DKIM pass", { " a@example.com" }, EX, { DKIM("pass", "example.com") },
	  "dmarc=pass (p=reject sp=reject np=reject t=n dis=none" TW "example.com) "
	  "header.from=example.com policy.dmarc=reject", ACTION_ACCEPT },
	{ "relaxed SPF pass from a subdomain", { " a@example.com" }, "<b@bounce.example.com>",
	  { SPF("pass", "bounce.example.com", "mfrom") },
	  "dmarc=pass (p=reject sp=reject np=reject t=n dis=none" TW "example.com) "
	  "header.from=example.com policy.dmarc=reject", ACTION_ACCEPT },
	{ "unaligned passes fail and reject", { " a@example.com" }, "<x@evil.test>",
	  { DKIM("pass", "evil.test"), SPF("pass", "evil.test", "mfrom"), DKIM("fail",
	    "example.com") },
	  "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject" TW "example.com) "
	  "header.from=example.com policy.dmarc=reject", ACTION_REJECT },
	{ "HELO result does not count with a sender", { " a@example.com" }, "<x@evil.test>",
	  { SPF("pass", "example.com", "helo") }, "dmarc=fail", ACTION_REJECT },
	{ "HELO result counts for the null sender", { " a@example.com" }, "<>",
	  { SPF("pass", "mx.example.com", "helo") }, "dmarc=pass", ACTION_ACCEPT },
	{ "subdomain uses the organizational record", { " a@sub.example.com" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject" TW "example.com) "
	  "header.from=sub.example.com policy.dmarc=reject", ACTION_REJECT },
	{ "sp= applies to subdomains", { " a@x.sp.test" }, EX, { { 0 } },
	  "dmarc=fail (p=none sp=quarantine np=quarantine t=n dis=quarantine" TW "sp.test) "
	  "header.from=x.sp.test policy.dmarc=quarantine", ACTION_QUARANTINE },
	{ "p= applies to the domain itself", { " a@sp.test" }, EX, { { 0 } },
	  "dmarc=fail (p=none sp=quarantine np=quarantine t=n dis=none" TW "sp.test) "
	  "header.from=sp.test policy.dmarc=none", ACTION_ACCEPT },
	{ "a subdomain's own record: its p=, sp= ignored", { " a@own.sp.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=none np=none t=n dis=reject" TW "own.sp.test) "
	  "header.from=own.sp.test policy.dmarc=reject", ACTION_REJECT },
	{ "strict: exact DKIM domain passes", { " a@strict.test" }, EX,
	  { DKIM("pass", "strict.test") }, "dmarc=pass", ACTION_ACCEPT },
	{ "strict: DKIM subdomain does not align (libopendmarc 1.4.2 says pass)",
	  { " a@strict.test" }, EX, { DKIM("pass", "mail.strict.test") }, "dmarc=fail",
	  ACTION_REJECT },
	{ "strict: SPF subdomain does not align (libopendmarc 1.4.2 says pass)",
	  { " a@strict.test" }, "<b@bounce.strict.test>",
	  { SPF("pass", "bounce.strict.test", "mfrom") }, "dmarc=fail", ACTION_REJECT },
	{ "strict: parent domain does not align", { " a@sub.strict.test" }, EX,
	  { DKIM("pass", "strict.test") }, "dmarc=fail", ACTION_REJECT },
	{ "d=com never aligns (libopendmarc 1.4.2 says pass)", { " a@example.com" }, EX,
	  { DKIM("pass", "com") }, "dmarc=fail", ACTION_REJECT },
	{ "p=quarantine holds", { " a@quar.test" }, EX, { { 0 } },
	  "dmarc=fail (p=quarantine sp=quarantine np=quarantine t=n dis=quarantine,",
	  ACTION_QUARANTINE },
	{ "p=none is monitoring only", { " a@none.test" }, EX, { { 0 } },
	  "dmarc=fail (p=none sp=none np=none t=n dis=none,", ACTION_ACCEPT },
	/* RFC 9989 4.10 step 2: several records at one name are all discarded */
	{ "several records: none of them counts", { " a@multi.test" }, EX, { { 0 } },
	  "dmarc=none header.from=multi.test", ACTION_ACCEPT },
	{ "other TXT records are discarded", { " a@mixed.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject", ACTION_REJECT },
	{ "character-strings are joined", { " a@split.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject", ACTION_REJECT },
	{ "malformed record: no policy", { " a@bad.test" }, EX, { { 0 } },
	  "dmarc=permerror reason=\"bad DMARC record at _dmarc.bad.test: invalid p= value\"",
	  ACTION_ACCEPT },
	{ "duplicate tag: no policy", { " a@twice.test" }, EX, { { 0 } }, "dmarc=permerror",
	  ACTION_ACCEPT },
	{ "v= not first: not a DMARC record", { " a@notfirst.test" }, EX, { { 0 } },
	  "dmarc=none header.from=", ACTION_ACCEPT },
	{ "rua= only reads as p=none", { " a@ruaonly.test" }, EX, { { 0 } },
	  "dmarc=fail (p=none sp=none np=none t=n dis=none,", ACTION_ACCEPT },
	{ "bad optional values take defaults", { " a@lenient.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject,", ACTION_REJECT },
	{ "record behind a CNAME", { " a@cname.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject", ACTION_REJECT },
	{ "no record anywhere", { " a@nothing.test" }, EX, { { 0 } },
	  "dmarc=none header.from=", ACTION_ACCEPT },
	{ "SERVFAIL is temperror, accepted", { " a@servfail.test" }, EX, { { 0 } },
	  "dmarc=temperror reason=\"DMARC record lookup failed temporarily\" "
	  "header.from=servfail.test", ACTION_ACCEPT },
	{ "timeout is temperror", { " a@timeout.test" }, EX, { { 0 } }, "dmarc=temperror",
	  ACTION_ACCEPT },
	{ "a SERVFAIL on the walk is temperror", { " a@x.orgfail.test" }, EX,
	  { { 0 } }, "dmarc=temperror", ACTION_ACCEPT },
	/* RFC 9989: the tree walk, psd=, np=, t= */
	{ "a deep name: the walk shortens it and finds walk.test",
	  { " x@a.b.c.d.e.f.g.h.i.walk.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=quarantine np=reject t=n dis=quarantine" TW "walk.test)",
	  ACTION_QUARANTINE },
	{ "np= for a subdomain that does not exist", { " x@nowhere.walk.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=quarantine np=reject t=n dis=reject" TW "walk.test, no such "
	  "domain) header.from=nowhere.walk.test policy.dmarc=reject", ACTION_REJECT },
	{ "sp= for a subdomain that exists", { " x@exists.walk.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=quarantine np=reject t=n dis=quarantine" TW "walk.test)",
	  ACTION_QUARANTINE },
	{ "psd=n makes its own Organizational Domain", { " x@mail.psdn.walk.test" }, EX,
	  { { 0 } }, "dmarc=fail (p=none sp=none np=none t=n dis=none" TW "psdn.walk.test)",
	  ACTION_ACCEPT },
	{ "psd=y: without an Organizational Domain record, the PSD's applies",
	  { " x@brand.psdtest" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject" TW "psdtest)",
	  ACTION_REJECT },
	{ "psd=y: the Organizational Domain's own record wins", { " x@a.brand2.psdtest" }, EX,
	  { { 0 } }, "dmarc=fail (p=none sp=none np=none t=n dis=none" TW "brand2.psdtest)",
	  ACTION_ACCEPT },
	{ "t=y: reject is applied as quarantine", { " x@testing.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=reject np=reject t=y dis=quarantine" TW "testing.test) "
	  "header.from=testing.test policy.dmarc=quarantine", ACTION_QUARANTINE },
	{ "t=y: quarantine is applied as none", { " x@testingq.test" }, EX, { { 0 } },
	  "dmarc=fail (p=quarantine sp=quarantine np=quarantine t=y dis=none,", ACTION_ACCEPT },
	{ "RFC 7489 tags are ignored: pct=0 is not t=y", { " x@old.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject,", ACTION_REJECT },
	{ "a record over 4 KB is read", { " x@long.test" }, EX, { { 0 } },
	  "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject" TW "long.test)",
	  ACTION_REJECT },
	{ "relaxed: a DKIM subdomain aligns through the walk", { " a@walk.test" }, EX,
	  { DKIM("pass", "mail.walk.test") }, "dmarc=pass", ACTION_ACCEPT },
	{ "relaxed: a psd=n subdomain is another organization", { " a@walk.test" }, EX,
	  { DKIM("pass", "psdn.walk.test") }, "dmarc=fail", ACTION_REJECT },
	{ "aligned DKIM temperror: policy not applied", { " a@example.com" }, EX,
	  { DKIM("temperror", "example.com") }, "dmarc=temperror", ACTION_ACCEPT },
	{ "unaligned temperror does not matter", { " a@example.com" }, EX,
	  { DKIM("temperror", "evil.test") }, "dmarc=fail", ACTION_REJECT },
	{ "quoted comma is one address", { " \"a@evil.com, b\" <x@example.com>" }, EX,
	  { DKIM("pass", "example.com") }, "dmarc=pass", ACTION_ACCEPT },
	{ "comment is not an address", { " x@example.com (a@evil.com, b@evil.com)" }, EX,
	  { DKIM("pass", "example.com") }, "dmarc=pass", ACTION_ACCEPT },
	{ "domain case and trailing dot", { " X@Example.COM." }, EX,
	  { DKIM("pass", "example.com") }, "dmarc=pass", ACTION_ACCEPT },
	{ "two addresses are refused", { " a@example.com, b@evil.test" }, EX,
	  { DKIM("pass", "evil.test") },
	  "dmarc=permerror reason=\"From field with 2 addresses\"", ACTION_REJECT },
	{ "two From fields are refused", { " a@evil.test", " b@example.com" }, EX,
	  { DKIM("pass", "evil.test") }, "dmarc=permerror reason=\"2 From fields\"",
	  ACTION_REJECT },
	{ "no From field is refused", { NULL }, EX, { { 0 } },
	  "dmarc=permerror reason=\"no From field\"", ACTION_REJECT },
	{ "unparseable From is refused", { " <<a@example.com" }, EX, { { 0 } },
	  "dmarc=permerror reason=\"unusable From field", ACTION_REJECT },
	{ "empty group is ignored", { " undisclosed-senders:;" }, EX, { { 0 } },
	  "dmarc=none reason=\"From field has no address\"", ACTION_ACCEPT },
	{ "domain literal is permerror, not refused", { " a@[192.0.2.1]" }, EX, { { 0 } },
	  "dmarc=permerror", ACTION_ACCEPT },
};

/* The dmarc resinfo of an Authentication-Results value. */
static const char *dmarc_part(const char *ar, char *out, size_t size)
{
	const char *p = strstr(ar, "dmarc=");
	if (p == NULL)
		return "";
	const char *end = strchr(p, ';');
	size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
	snprintf(out, size, "%.*s", (int)n, p);
	return out;
}

/* ---- libopendmarc as a differential check ---- */

/* The record as we understood it, in words every libopendmarc reads alike. */
static void canonical_record(const struct dmarc_record *r, char *out, size_t size)
{
	snprintf(out, size, "v=DMARC1; p=%s; adkim=%c; aspf=%c%s%s",
		 dmarc_p_name(r->p), r->adkim_strict ? 's' : 'r', r->aspf_strict ? 's' : 'r',
		 r->sp_given ? "; sp=" : "", r->sp_given ? dmarc_p_name(r->sp) : "");
}

/*
 * libopendmarc's verdict on the evaluation we made: our record, and an SPF
 * or DKIM pass only where we found an aligned one, named by the From domain
 * itself (an exact match aligns in every mode of every version).  No public
 * suffix list: its alignment is not what is compared (see dmarc.c).
 */
static int lib_verdict_of(const struct seen_report *s)
{
	char ip[] = "198.51.100.1", rec[256], from[64], org[64], sel[] = "aligned";
	canonical_record(&s->policy, rec, sizeof(rec));
	copy(from, sizeof(from), s->header_from);
	copy(org, sizeof(org), s->policy_domain);
	DMARC_POLICY_T *p = opendmarc_policy_connect_init((u_char *)ip, 0);
	if (p == NULL)
		return -1;
	int v = -1;
	if (opendmarc_policy_store_dmarc(p, (u_char *)rec, (u_char *)from,
					 s->policy_from != DMARC_FROM_P ? (u_char *)org : NULL) ==
		    DMARC_PARSE_OKAY &&
	    (!s->spf_aligned ||
	     opendmarc_policy_store_spf(p, (u_char *)from, DMARC_POLICY_SPF_OUTCOME_PASS,
					DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL) == DMARC_PARSE_OKAY) &&
	    (!s->dkim_aligned ||
	     opendmarc_policy_store_dkim(p, (u_char *)from, (u_char *)sel,
					 DMARC_POLICY_DKIM_OUTCOME_PASS, NULL) == DMARC_PARSE_OKAY))
		v = opendmarc_get_policy_to_enforce(p);
	opendmarc_policy_connect_shutdown(p);
	return v;
}

/*
 * Our verdict in libopendmarc's terms, or -1 when there is nothing it
 * could say: no policy applied, or np= (RFC 9989 only).  The policy is
 * compared as published, before t=, which libopendmarc does not know.
 */
static int our_verdict_of(const struct seen_report *s)
{
	static const int as_lib[] = { DMARC_POLICY_NONE, DMARC_POLICY_QUARANTINE,
				      DMARC_POLICY_REJECT };
	if (strcmp(s->result, "pass") == 0)
		return DMARC_POLICY_PASS;
	if (strcmp(s->result, "fail") != 0 || s->policy_from == DMARC_FROM_NP)
		return -1;
	return as_lib[s->policy_from == DMARC_FROM_P ? s->policy.p : s->policy.sp];
}

/* Compares the last evaluation with libopendmarc's; 1 when compared. */
static int differential(const char *name)
{
	int ours = our_verdict_of(&seen);
	if (ours < 0)
		return 0;
	int lib = lib_verdict_of(&seen);
	if (lib != ours)
		t_fail(__FILE__, __LINE__, "%s: libopendmarc says %d, we say %d", name, lib, ours);
	return 1;
}

static void test_pipeline_cases(void)
{
	struct runtime *rt = make_rt(NULL);
	T_CHECK(rt != NULL);
	int compared = 0;
	for (size_t i = 0; rt != NULL && i < ARRAY_LEN(pcases); i++) {
		const struct pcase *c = &pcases[i];
		memcpy(stubs, c->res, sizeof(c->res));
		stubs[3].method = NULL;
		struct outcome o;
		memset(&seen, 0, sizeof(seen));
		run(rt, "198.51.100.1", c->mail_from, c->from, &o);
		compared += differential(c->name);
		char part[512];
		dmarc_part(o.ar, part, sizeof(part));
		if (strncmp(part, c->want_dmarc, strlen(c->want_dmarc)) != 0)
			t_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", c->name, part,
			       c->want_dmarc);
		if (o.action != c->want_action)
			t_fail(__FILE__, __LINE__, "%s: action %s, want %s", c->name,
			       action_name(o.action), action_name(c->want_action));
	}
	/* every case with a policy that was applied (pass or fail) was compared */
	printf("# libopendmarc agreed on %d of %zu cases (the others have no policy "
	       "to apply)\n", compared, ARRAY_LEN(pcases));
	T_CHECK(compared >= 25);
	runtime_unref(&rt);
	memset(stubs, 0, sizeof(stubs));
}

/*
 * Where RFC 7489 (Organizational Domains from the PSL) and RFC 9989 (the
 * tree walk) answer differently: each case in both modes.
 */
struct diff_case {
	const char *name, *from, *mail_from;
	struct stub_result res[3];
	const char *want_walk, *want_psl;	/* the dmarc resinfo begins so */
};

static const struct diff_case diff_cases[] = {
	{ "psd=n: its own organization, not walk.test's", " x@mail.psdn.walk.test", EX,
	  { { 0 } },
	  "dmarc=fail (p=none sp=none np=none t=n dis=none, treewalk at psdn.walk.test)",
	  "dmarc=fail (p=reject sp=quarantine np=reject t=n dis=reject, psl at walk.test, "
	  "no such domain)" },
	{ "psd=y: the PSD's policy, where the PSL finds none", " x@brand.psdtest", EX,
	  { { 0 } }, "dmarc=fail (p=reject sp=reject np=reject t=n dis=reject, treewalk at "
	  "psdtest)", "dmarc=none" },
	{ "relaxed alignment across a psd=n boundary", " a@walk.test", EX,
	  { DKIM("pass", "psdn.walk.test") }, "dmarc=fail", "dmarc=pass" },
	{ "relaxed alignment below a psd=y PSD", " a@brand2.psdtest", EX,
	  { DKIM("pass", "mail.brand2.psdtest") }, "dmarc=pass", "dmarc=pass" },
	{ "the same answer where both agree", " a@sub.example.com", EX,
	  { SPF("pass", "bounce.example.com", "mfrom") }, "dmarc=pass", "dmarc=pass" },
};

static void test_rfc7489_and_rfc9989_differ(void)
{
	struct runtime *walk = make_rt(NULL);
	struct runtime *psl = make_rt("DMARCDiscovery psl\n");
	T_CHECK(walk != NULL && psl != NULL);
	for (size_t i = 0; walk != NULL && psl != NULL && i < ARRAY_LEN(diff_cases); i++) {
		const struct diff_case *c = &diff_cases[i];
		for (int mode = 0; mode < 2; mode++) {
			memcpy(stubs, c->res, sizeof(c->res));
			stubs[3].method = NULL;
			const char *from[] = { c->from, NULL };
			struct outcome o;
			memset(&seen, 0, sizeof(seen));
			run(mode == 0 ? walk : psl, "198.51.100.1", c->mail_from, from, &o);
			const char *want = mode == 0 ? c->want_walk : c->want_psl;
			char part[512];
			dmarc_part(o.ar, part, sizeof(part));
			if (strncmp(part, want, strlen(want)) != 0)
				t_fail(__FILE__, __LINE__, "%s (%s): got \"%s\", want \"%s\"",
				       c->name, mode == 0 ? "treewalk" : "psl", part, want);
			if (strcmp(seen.result, "none") != 0)
				T_EQ_INT(seen.discovery, mode == 0 ? DMARC_DISCOVERY_TREEWALK
								  : DMARC_DISCOVERY_PSL);
		}
	}
	memset(stubs, 0, sizeof(stubs));
	runtime_unref(&walk);
	runtime_unref(&psl);
}

/* The evaluation record carries what an RFC 9990 report needs. */
static void test_record_carries_rfc9990_fields(void)
{
	struct runtime *rt = make_rt(NULL);
	struct outcome o;
	const char *t[] = { " x@testing.test", NULL };
	memset(&seen, 0, sizeof(seen));
	run(rt, "198.51.100.1", EX, t, &o);
	T_EQ_STR(seen.result, "fail");
	T_CHECK(seen.testing);
	T_EQ_INT(seen.discovery, DMARC_DISCOVERY_TREEWALK);
	T_EQ_STR(seen.policy_domain, "testing.test");
	T_EQ_INT(seen.policy_from, DMARC_FROM_P);
	T_EQ_INT(seen.applied, DMARC_P_QUARANTINE);
	T_EQ_STR(seen.reason, "policy_test_mode");
	T_EQ_INT(seen.disposition, DMARC_DIS_QUARANTINE);
	const char *np[] = { " x@nowhere.walk.test", NULL };
	run(rt, "198.51.100.1", EX, np, &o);
	T_EQ_INT(seen.policy_from, DMARC_FROM_NP);
	T_EQ_STR(seen.policy_domain, "walk.test");
	T_EQ_STR(seen.org_domain, "walk.test");
	T_EQ_INT(seen.applied, DMARC_P_REJECT);
	runtime_unref(&rt);
}

/* RFC 9989 7.4: without other evidence, p=reject is treated as quarantine. */
static void test_reject_as_quarantine(void)
{
	struct runtime *rt = make_rt("DMARCRejectAs quarantine\n");
	const char *from[] = { " a@example.com", NULL };
	struct outcome o;
	memset(&seen, 0, sizeof(seen));
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_QUARANTINE);
	T_CHECK(strstr(o.ar, "dis=quarantine") != NULL);
	T_CHECK(strstr(o.ar, "policy.dmarc=reject") != NULL);
	T_EQ_STR(seen.reason, "local_policy");
	runtime_unref(&rt);
}

static void test_reject_names_the_domain(void)
{
	struct runtime *rt = make_rt(NULL);
	const char *from[] = { " a@example.com", NULL };
	struct outcome o;
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_REJECT);
	T_EQ_STR(o.code, "550");
	T_EQ_STR(o.xcode, "5.7.1");
	T_EQ_STR(o.text, "Mail claiming to come from example.com failed DMARC "
		 "authentication, and that domain's policy asks us to refuse it");
	runtime_unref(&rt);
}

static void test_multi_from_without_reject_option_is_permerror_only(void)
{
	struct runtime *rt = make_rt("RejectMultiFrom no\n");
	const char *from[] = { " a@evil.test", " b@example.com", NULL };
	struct outcome o;
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	T_CHECK(strstr(o.ar, "dmarc=permerror reason=\"2 From fields\"") != NULL);
	const char *none[] = { NULL };
	run(rt, "198.51.100.1", EX, none, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	runtime_unref(&rt);
}

static void test_multi_from_reject_text(void)
{
	struct runtime *rt = make_rt(NULL);
	const char *from[] = { " a@evil.test", " b@example.com", NULL };
	struct outcome o;
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_STR(o.code, "550");
	T_EQ_STR(o.xcode, "5.7.1");
	T_EQ_STR(o.text, "Message refused: 2 From fields (DMARC needs exactly one author "
		 "address)");
	runtime_unref(&rt);
}

static void test_quarantine_hold_vs_header(void)
{
	const char *from[] = { " a@quar.test", NULL };
	struct outcome o;
	struct runtime *rt = make_rt("DMARCQuarantine hold\n");
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_QUARANTINE);
	T_CHECK(!o.junk_header);
	runtime_unref(&rt);
	rt = make_rt("DMARCQuarantine header\n");
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	T_CHECK(o.junk_header);
	T_CHECK(strstr(o.ar, "dis=quarantine") != NULL);
	runtime_unref(&rt);
}

static void test_trusted_forwarder_is_not_rejected_and_recorded(void)
{
	struct runtime *rt = make_rt("DMARCTrustedForwarders 192.0.2.0/24\n");
	const char *from[] = { " a@example.com", NULL };
	struct outcome o;
	memset(&seen, 0, sizeof(seen));
	run(rt, "192.0.2.7", EX, from, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	T_CHECK(strstr(o.ar, "dmarc=fail (p=reject sp=reject np=reject t=n dis=none,") != NULL);
	T_EQ_STR(seen.reason, "trusted_forwarder");
	T_EQ_INT(seen.disposition, DMARC_DIS_NONE);
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_REJECT);
	runtime_unref(&rt);
}

static void test_enforcement_off_accepts_as_local_policy(void)
{
	struct runtime *rt = make_rt("DMARCEnforce no\n");
	const char *from[] = { " a@example.com", NULL };
	struct outcome o;
	memset(&seen, 0, sizeof(seen));
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	T_CHECK(strstr(o.ar, "dmarc=fail (p=reject sp=reject np=reject t=n dis=none,") != NULL);
	T_EQ_STR(seen.reason, "local_policy");
	runtime_unref(&rt);
}

static void test_temperror_tempfails_when_configured(void)
{
	struct runtime *rt = make_rt("DMARCOnTempError tempfail\n");
	const char *from[] = { " a@servfail.test", NULL };
	struct outcome o;
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(o.action, ACTION_TEMPFAIL);
	T_EQ_STR(o.code, "451");
	T_EQ_STR(o.xcode, "4.4.3");
	/* an aligned temperror under p=none has nothing to protect */
	memcpy(stubs, (struct stub_result[4]){ DKIM("temperror", "none.test") }, sizeof(stubs));
	const char *none[] = { " a@none.test", NULL };
	run(rt, "198.51.100.1", EX, none, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	T_CHECK(strstr(o.ar, "dmarc=temperror") != NULL);
	memset(stubs, 0, sizeof(stubs));
	runtime_unref(&rt);
}

static void test_internal_mail_is_not_evaluated(void)
{
	struct runtime *rt = make_rt("InternalHosts 192.0.2.0/24\n");
	const char *from[] = { " a@example.com", NULL };
	struct outcome o;
	memset(&seen, 0, sizeof(seen));
	run(rt, "192.0.2.9", EX, from, &o);
	T_EQ_INT(o.action, ACTION_ACCEPT);
	T_CHECK(strstr(o.ar, "dmarc=") == NULL);
	T_EQ_INT(seen.calls, 0);
	runtime_unref(&rt);
}

static void test_dmarc_off_does_nothing(void)
{
	/* a consumer that needs dmarc refuses the configuration, saying why */
	const char *conf = BASE_CONF "DMARC no\nPublicSuffixList /nonexistent\n";
	char *err = NULL;
	struct config *cfg = config_parse_with("test.conf", conf, strlen(conf), table,
					       ARRAY_LEN(table), &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	T_CHECK(rt == NULL);
	T_EQ_STR(err, "check report needs dmarc, which this configuration turns off");
	free(err);
	config_unref(&cfg);
	/* without one, DMARC is simply not there */
	const struct check *const bare[] = { &stub_dkim, &stub_spf, &check_dmarc };
	cfg = config_parse_with("test.conf", conf, strlen(conf), bare, 3, &err);
	rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	T_CHECK(rt != NULL);
	if (rt == NULL)
		return;
	const char *from[] = { " a@example.com", NULL };
	struct outcome o;
	run(rt, "198.51.100.1", EX, from, &o);
	T_CHECK(strstr(o.ar, "dmarc=") == NULL);
	runtime_unref(&rt);
}

static void test_every_evaluation_reports_once_with_contents(void)
{
	struct runtime *rt = make_rt(NULL);
	memcpy(stubs, (struct stub_result[4]){ DKIM("pass", "sub.example.com"),
					       DKIM("fail", "evil.test"),
					       SPF("fail", "bounce.example.com", "mfrom") },
	       sizeof(stubs));
	const char *from[] = { " a@sub.example.com", NULL };
	struct outcome o;
	memset(&seen, 0, sizeof(seen));
	run(rt, "198.51.100.1", "<x@bounce.example.com>", from, &o);
	T_EQ_INT(seen.calls, 1);
	T_EQ_STR(seen.result, "pass");
	T_EQ_STR(seen.header_from, "sub.example.com");
	T_EQ_STR(seen.policy_domain, "example.com");
	T_EQ_INT(seen.policy_from, DMARC_FROM_SP);
	T_EQ_STR(seen.org_domain, "example.com");
	T_CHECK(seen.have_policy);
	T_CHECK(seen.dkim_aligned);
	T_CHECK(!seen.spf_aligned);
	T_EQ_INT(seen.n_dkim, 2);
	T_EQ_INT(seen.disposition, DMARC_DIS_NONE);
	T_EQ_INT(seen.n_reasons, 0);
	/* failures are reported too, with what was done */
	const char *none[] = { NULL };
	run(rt, "198.51.100.1", EX, none, &o);
	T_EQ_INT(seen.calls, 2);
	T_EQ_STR(seen.result, "permerror");
	T_EQ_INT(seen.disposition, DMARC_DIS_REJECT);
	T_EQ_STR(seen.reason, "local_policy");
	T_CHECK(!seen.have_policy);
	memset(stubs, 0, sizeof(stubs));
	runtime_unref(&rt);
}

static void test_unreadable_public_suffix_list_stops_setup(void)
{
	/* the list is read only when discovery uses it */
	const char *conf = BASE_CONF "DMARCDiscovery psl\nPublicSuffixList /nonexistent/psl.dat\n";
	char *err = NULL;
	struct config *cfg = config_parse_with("test.conf", conf, strlen(conf), table,
					       ARRAY_LEN(table), &err);
	struct runtime *rt = runtime_new(cfg, &err);
	T_CHECK(rt == NULL);
	T_CHECK(err != NULL && strstr(err, "/nonexistent/psl.dat") != NULL);
	free(err);
	config_unref(&cfg);
	conf = BASE_CONF "PublicSuffixList /nonexistent/psl.dat\n";
	cfg = config_parse_with("test.conf", conf, strlen(conf), table, ARRAY_LEN(table), &err);
	rt = runtime_new(cfg, &err);
	T_CHECK(rt != NULL);
	runtime_unref(&rt);
	config_unref(&cfg);
}

/*
 * The evidence (see milterd/dmarc.c): the installed libopendmarc, given a
 * public suffix list and the raw domains, passes what RFC 7489 fails.
 * Printed, not asserted: a fixed library must not fail our build; what we
 * assert is that our check fails the same messages (test_pipeline_cases).
 */
static int lib_verdict(const char *rec, const char *from, const char *spf, const char *dkim)
{
	char ip[] = "192.0.2.1", r[128], f[64], s[64], d[64], sel[] = "sel";
	DMARC_POLICY_T *p = opendmarc_policy_connect_init((u_char *)ip, 0);
	snprintf(r, sizeof(r), "%s", rec);
	snprintf(f, sizeof(f), "%s", from);
	opendmarc_policy_store_dmarc(p, (u_char *)r, (u_char *)f, NULL);
	if (spf != NULL) {
		snprintf(s, sizeof(s), "%s", spf);
		opendmarc_policy_store_spf(p, (u_char *)s, DMARC_POLICY_SPF_OUTCOME_PASS,
					   DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	}
	if (dkim != NULL) {
		snprintf(d, sizeof(d), "%s", dkim);
		opendmarc_policy_store_dkim(p, (u_char *)d, (u_char *)sel,
					    DMARC_POLICY_DKIM_OUTCOME_PASS, NULL);
	}
	int v = opendmarc_get_policy_to_enforce(p);
	opendmarc_policy_connect_shutdown(p);
	return v;
}

static void test_libopendmarc_alignment_evidence(void)
{
	OPENDMARC_LIB_T lib;
	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)lib.tld_source_file, sizeof(lib.tld_source_file), "%s", PSL_FILE);
	T_EQ_INT(opendmarc_policy_library_init(&lib), 0);
	const char *strict = "v=DMARC1; p=reject; adkim=s; aspf=s";
	printf("# libopendmarc, strict, From example.com, SPF sub.example.com: %s\n",
	       lib_verdict(strict, "example.com", "sub.example.com", NULL) == DMARC_POLICY_PASS
	       ? "PASS (the known false pass)" : "fail (fixed)");
	printf("# libopendmarc, strict, From example.com, DKIM sub.example.com: %s\n",
	       lib_verdict(strict, "example.com", NULL, "sub.example.com") == DMARC_POLICY_PASS
	       ? "PASS (the known false pass)" : "fail (fixed)");
	printf("# libopendmarc, relaxed, From example.com, DKIM d=com: %s\n",
	       lib_verdict("v=DMARC1; p=reject", "example.com", NULL, "com") == DMARC_POLICY_PASS
	       ? "PASS (false pass)" : "fail (fixed)");
	/* fed as the check feeds it, it agrees with RFC 7489 */
	T_EQ_INT(lib_verdict(strict, "example.com", NULL, NULL), DMARC_POLICY_REJECT);
	T_EQ_INT(lib_verdict(strict, "example.com", "example.com", NULL), DMARC_POLICY_PASS);
	opendmarc_policy_library_shutdown(&lib);
}

/* Why a TXT record at _dmarc is no DMARC record, in words. */
static void test_record_why_not(void)
{
	static const struct {
		const char *text, *words;	/* words NULL: it is a record */
	} cs[] = {
		{ "v=DMARC1; p=none", NULL },
		{ "p=none; v=DMARC1; rua=mailto:a@b.example", "v=DMARC1 is not its first tag" },
		{ "v=dmarc1; p=none", "in capitals" },
		{ "v=DMARC2; p=none", "its v= is not DMARC1" },
		{ "v=spf1 -all", "does not start with v=DMARC1" },
		{ "", "does not start with v=DMARC1" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
		const char *w = dmarc_record_why_not(cs[i].text, strlen(cs[i].text));
		bool ok = cs[i].words == NULL ? w == NULL : w != NULL && strstr(w, cs[i].words) != NULL;
		if (!ok)
			t_fail(__FILE__, __LINE__, "%s: %s", cs[i].text, w ? w : "(a record)");
	}
}

/*
 * With `explain` (cachet check): the names discovery read with their TXT
 * records, and how each identifier's domain compared with the author's.
 */
static void test_explain_names_and_alignment(void)
{
	struct runtime *rt = make_rt(NULL);
	T_CHECK(rt != NULL);
	if (rt == NULL)
		return;
	rt->cfg->explain = true;
	struct outcome o;
	const char *from[] = { " x@a.notfirst.test", NULL };
	memset(&seen, 0, sizeof(seen));
	memset(stubs, 0, sizeof(stubs));
	run(rt, "198.51.100.1", EX, from, &o);
	/* the walk: a.notfirst.test, notfirst.test (v= not first: no record), test */
	T_EQ_INT(seen.n_seen, 3);
	T_EQ_STR(seen.seen_domain[0], "a.notfirst.test");
	T_CHECK(seen.seen_asked[0] && seen.seen_txt0[0][0] == '\0');
	T_EQ_STR(seen.seen_domain[1], "notfirst.test");
	T_EQ_STR(seen.seen_txt0[1], "p=reject; v=DMARC1");
	T_EQ_STR(seen.seen_domain[2], "test");
	/* the author's own record stops the walk */
	const char *from2[] = { " x@example.com", NULL };
	struct stub_result res[] = { DKIM("pass", "evil.test"), DKIM("fail", "example.com"),
				     SPF("pass", "bounce.example.com", "mfrom"), { 0 } };
	memcpy(stubs, res, sizeof(res));
	memset(&seen, 0, sizeof(seen));
	run(rt, "198.51.100.1", EX, from2, &o);
	T_EQ_INT(seen.n_seen, 1);
	T_EQ_STR(seen.seen_txt0[0], "v=DMARC1; p=reject; rua=mailto:dmarc@example.com");
	T_EQ_INT(seen.dkim_align[0], DMARC_ALIGN_OTHER_ORG);
	T_EQ_INT(seen.dkim_align[1], DMARC_ALIGN_EXACT);
	T_EQ_INT(seen.spf_align, DMARC_ALIGN_RELAXED);
	/* strict mode: another name never aligns; a failing subdomain is not walked */
	const char *from3[] = { " x@strict.test", NULL };
	struct stub_result res3[] = { DKIM("pass", "mail.strict.test"), { 0 } };
	memcpy(stubs, res3, sizeof(res3));
	run(rt, "198.51.100.1", EX, from3, &o);
	T_EQ_INT(seen.dkim_align[0], DMARC_ALIGN_STRICT_DIFFERS);
	const char *from4[] = { " x@walk.test", NULL };
	struct stub_result res4[] = { DKIM("fail", "mail.walk.test"), { 0 } };
	memcpy(stubs, res4, sizeof(res4));
	run(rt, "198.51.100.1", EX, from4, &o);
	T_EQ_INT(seen.dkim_align[0], DMARC_ALIGN_NOT_WALKED);
	runtime_unref(&rt);
	memset(stubs, 0, sizeof(stubs));
	/* without explain: nothing read for it */
	rt = make_rt(NULL);
	memset(&seen, 0, sizeof(seen));
	run(rt, "198.51.100.1", EX, from, &o);
	T_EQ_INT(seen.calls, 1);
	T_EQ_INT(seen.n_seen, 0);
	runtime_unref(&rt);
}

int main(void)
{
	/* libopendmarc for the differential check: no suffix list (see above) */
	OPENDMARC_LIB_T lib;
	memset(&lib, 0, sizeof(lib));
	lib.tld_type = OPENDMARC_TLD_TYPE_NONE;
	opendmarc_policy_library_init(&lib);
	T_RUN(test_record_parses_valid_records);
	T_RUN(test_record_over_4k_keeps_the_first_uris);
	T_RUN(test_record_keeps_uris_as_written);
	T_RUN(test_record_errors_have_reasons);
	T_RUN(test_record_is_dmarc_needs_v_first);
	T_RUN(test_walk_names_as_rfc_9989_lists_them);
	T_RUN(test_alignment_relaxed_and_strict);
	T_RUN(test_pipeline_cases);
	T_RUN(test_rfc7489_and_rfc9989_differ);
	T_RUN(test_record_carries_rfc9990_fields);
	T_RUN(test_reject_as_quarantine);
	T_RUN(test_reject_names_the_domain);
	T_RUN(test_multi_from_without_reject_option_is_permerror_only);
	T_RUN(test_multi_from_reject_text);
	T_RUN(test_quarantine_hold_vs_header);
	T_RUN(test_trusted_forwarder_is_not_rejected_and_recorded);
	T_RUN(test_enforcement_off_accepts_as_local_policy);
	T_RUN(test_temperror_tempfails_when_configured);
	T_RUN(test_internal_mail_is_not_evaluated);
	T_RUN(test_dmarc_off_does_nothing);
	T_RUN(test_every_evaluation_reports_once_with_contents);
	T_RUN(test_unreadable_public_suffix_list_stops_setup);
	T_RUN(test_libopendmarc_alignment_evidence);
	T_RUN(test_record_why_not);
	T_RUN(test_explain_names_and_alignment);
	return t_done();
}
