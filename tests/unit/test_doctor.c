/*
 * Tests for `cachet doctor` (cli/doctor*.c): one lab domain per behaviour
 * in tests/unit/data/lab/doctor.zone, each run through every check; a
 * case names findings (id, mark, words in the sentence or its details)
 * that must be there, and records that must be offered.  The whole
 * broken and correct lab domains are tests/integration/t_doctor.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "doctor.h"
#include "t.h"
#include "xalloc.h"

static char *data_path(const char *name)
{
	const char *slash = strrchr(__FILE__, '/');
	struct buf b;
	buf_init(&b, 0);
	if (slash != NULL)
		buf_append(&b, __FILE__, (size_t)(slash - __FILE__ + 1));
	buf_printf(&b, "data/%s", name);
	return buf_steal(&b);
}

struct want {
	const char *id;
	enum doctor_mark mark;
	const char *words;	/* in the text or a detail; NULL: any */
};

struct dcase {
	const char *domain;
	const char *ip, *selector, *key;	/* --ip, --selector, --key (data/ path) */
	struct want want[4];
	const char *record;	/* a record offered at this name, or NULL */
	const char *record_type; /* and of this type (NULL: any) */
	const char *record_data; /* with this data (NULL: any) */
	bool no_fail;		/* and nothing fails */
};

static bool finding_matches(const struct doctor_finding *f, const struct want *w)
{
	if (strcmp(f->id, w->id) != 0 || f->mark != w->mark)
		return false;
	if (w->words == NULL || strstr(f->text, w->words) != NULL)
		return true;
	for (size_t i = 0; i < f->n_detail; i++)
		if (strstr(f->detail[i], w->words) != NULL)
			return true;
	return false;
}

static void dump(const struct doctor *d)
{
	for (size_t i = 0; i < d->findings.n; i++) {
		printf("#     %s %d %s\n", d->findings.v[i].id, (int)d->findings.v[i].mark,
		       d->findings.v[i].text);
		for (size_t k = 0; k < d->findings.v[i].n_detail; k++)
			printf("#         %s\n", d->findings.v[i].detail[k]);
	}
	for (size_t i = 0; i < d->records.n; i++)
		printf("#     record %s %s %s\n", d->records.v[i].name, d->records.v[i].type,
		       d->records.v[i].text);
}

static void run_case(const struct dcase *c, char *zone)
{
	struct doctor d = { 0 };
	d.a = arena_new();
	d.domain = c->domain;
	char *key = c->key != NULL ? data_path(c->key) : NULL;
	if (c->ip != NULL)
		d.ips[d.n_ips++] = c->ip;
	if (c->selector != NULL)
		d.selectors[d.n_selectors++] = (struct doctor_selector){ c->selector, key };
	d.key_path = key;
	struct dns_options o = { .test_zone = zone };
	char *err = NULL;
	d.dns = dns_new(&o, &err);
	T_CHECK(d.dns != NULL);
	if (d.dns == NULL) {
		free(err);
		return;
	}
	doctor_run(&d);
	bool bad = false;
	for (size_t k = 0; k < 4 && c->want[k].id != NULL; k++) {
		bool found = false;
		for (size_t i = 0; i < d.findings.n && !found; i++)
			found = finding_matches(&d.findings.v[i], &c->want[k]);
		if (!found) {
			t_fail(__FILE__, __LINE__, "%s: no %s (mark %d) with \"%s\"", c->domain,
			       c->want[k].id, (int)c->want[k].mark,
			       c->want[k].words != NULL ? c->want[k].words : "");
			bad = true;
		}
	}
	if (c->record != NULL) {
		bool found = false;
		for (size_t i = 0; i < d.records.n && !found; i++)
			found = strcmp(d.records.v[i].name, c->record) == 0 &&
				(c->record_type == NULL ||
				 strcmp(d.records.v[i].type, c->record_type) == 0) &&
				(c->record_data == NULL ||
				 strcmp(d.records.v[i].text, c->record_data) == 0);
		if (!found) {
			t_fail(__FILE__, __LINE__, "%s: no %s record offered at %s", c->domain,
			       c->record_type != NULL ? c->record_type : "", c->record);
			bad = true;
		}
	}
	for (size_t i = 0; c->no_fail && i < d.findings.n; i++)
		if (d.findings.v[i].mark == DOCTOR_FAIL) {
			t_fail(__FILE__, __LINE__, "%s: %s failed: %s", c->domain, d.findings.v[i].id,
			       d.findings.v[i].text);
			bad = true;
		}
	if (bad)
		dump(&d);
	doctor_clear(&d);
	free(key);
}

static void run_cases(const struct dcase *cases, size_t n)
{
	char *zone = data_path("lab/doctor.zone");
	for (size_t i = 0; i < n; i++)
		run_case(&cases[i], zone);
	free(zone);
}

#define RUN_CASES(c) run_cases((c), sizeof(c) / sizeof((c)[0]))

static void test_mx(void)
{
	static const struct dcase cases[] = {
		{ "nomx.lab.example", .want = { { "mx.present", DOCTOR_FAIL, "no MX record" } },
		  .record = "nomx.lab.example.", .record_type = "MX",
		  .record_data = "10 mail.nomx.lab.example." },
		/* with --ip, the suggested host's address too */
		{ "nomx.lab.example", .ip = "192.0.2.77",
		  .want = { { "mx.present", DOCTOR_FAIL, "no MX record" } },
		  .record = "mail.nomx.lab.example.", .record_type = "A", .record_data = "192.0.2.77" },
		{ "gone.lab.example", .want = { { "mx.present", DOCTOR_FAIL, "does not exist" } },
		  .record = "gone.lab.example.", .record_type = "MX" },
		{ "nullmx.lab.example", .want = { { "mx.null", DOCTOR_WARN, "RFC 7505" } } },
		{ "noaddr.lab.example", .want = { { "mx.host", DOCTOR_FAIL, "has no address" },
						  { "mx.host", DOCTOR_FAIL, "or give --ip" } } },
		{ "noaddr.lab.example", .ip = "2001:db8::25",
		  .want = { { "mx.host", DOCTOR_FAIL, "has no address" } },
		  .record = "mx.noaddr.lab.example.", .record_type = "AAAA", .record_data = "2001:db8::25" },
		/* by preference, each host's address said */
		{ "twomx.lab.example", .want = { { "mx.host", DOCTOR_OK, "MX 10 a.twomx.lab.example has an address: 192.0.2.1" },
						 { "mx.host", DOCTOR_OK, "MX 20 b.twomx" } } },
	};
	RUN_CASES(cases);
}

static void test_spf_records(void)
{
	static const struct dcase cases[] = {
		{ "several.lab.example", .ip = "192.0.2.9",
		  .want = { { "spf.present", DOCTOR_FAIL, "several SPF records" } },
		  .record = "several.lab.example." },
		{ "quoted.lab.example", .want = { { "spf.lookalike", DOCTOR_FAIL, "does not start with it" },
						  { "spf.present", DOCTOR_FAIL, "no SPF record" } } },
		{ "plusall.lab.example", .want = { { "spf.all", DOCTOR_WARN, "+all" } } },
		{ "qall.lab.example", .want = { { "spf.all", DOCTOR_WARN, "?all" },
						{ "spf.ptr", DOCTOR_WARN, "RFC 7208 5.5" } } },
		{ "noall.lab.example", .want = { { "spf.all", DOCTOR_WARN, "no \"all\"" } } },
		{ "ph1.lab.example", .want = { { "spf.placeholder", DOCTOR_FAIL, "\"ip4:x.x.x.x\"" } } },
		{ "ph2.lab.example", .want = { { "spf.placeholder", DOCTOR_FAIL, "\"a:YOUR_IP\"" } } },
		{ "ph3.lab.example", .want = { { "spf.placeholder", DOCTOR_FAIL, "\"ip4:<ip>\"" },
					       { "spf.syntax", DOCTOR_FAIL, "does not parse" } } },
	};
	RUN_CASES(cases);
}

static void test_spf_lookups(void)
{
	static const struct dcase cases[] = {
		{ "voids.lab.example", .want = { { "spf.lookups", DOCTOR_FAIL, "3 void lookups" },
						 { "spf.lookups", DOCTOR_FAIL, "more than the 2 allowed" },
						 { "spf.lookups", DOCTOR_FAIL, "mx:nx3.voids.lab.example" } } },
		{ "noinc.lab.example", .want = { { "spf.lookups", DOCTOR_FAIL,
						   "nothing.noinc.lab.example has no SPF record" } } },
		{ "loop.lab.example", .want = { { "spf.lookups", DOCTOR_FAIL, "a loop" } } },
		{ "macro.lab.example", .want = { { "spf.lookups", DOCTOR_OK, "2 of the 10" },
						 { "spf.lookups", DOCTOR_OK, "counted but not followed" } } },
	};
	RUN_CASES(cases);
}

static void test_spf_evaluation(void)
{
	static const struct dcase cases[] = {
		/* --ip must pass; the MX then only may */
		{ "ipfail.lab.example", .ip = "203.0.113.7",
		  .want = { { "spf.pass", DOCTOR_FAIL, "203.0.113.7 (--ip) gets SPF fail" },
			    { "spf.pass", DOCTOR_WARN, "192.0.2.50 (MX mx.ipfail.lab.example) gets SPF fail" } },
		  .record = "ipfail.lab.example." },
		/* without --ip, the MX hosts are the senders */
		{ "ipfail.lab.example", .want = { { "spf.pass", DOCTOR_FAIL, "192.0.2.50" } } },
		{ "match.lab.example", .want = { { "spf.pass", DOCTOR_OK, "192.0.2.60 (MX mx.match.lab.example) passes" } } },
	};
	RUN_CASES(cases);
}

static void test_dkim(void)
{
	static const struct dcase cases[] = {
		{ "match.lab.example", .selector = "test", .key = "dkim/test.rsa.pem",
		  .want = { { "dkim.key", DOCTOR_WARN, "a 1024-bit RSA key published (2048 bits recommended" },
			    { "dkim.match", DOCTOR_OK, "it is the public half of" } } },
		{ "match.lab.example", .selector = "testing",
		  .want = { { "dkim.testing", DOCTOR_WARN, "t=y" } } },
		{ "match.lab.example", .selector = "other", .key = "dkim/test.rsa.pem",
		  .want = { { "dkim.key", DOCTOR_OK, "an Ed25519 key published" },
			    { "dkim.match", DOCTOR_FAIL, "is not" } },
		  .record = "other._domainkey.match.lab.example." },
		/* absent, but a key under a common selector: said, and whether it is ours */
		{ "match.lab.example", .selector = "s2025", .key = "dkim/test.rsa.pem",
		  .want = { { "dkim.present", DOCTOR_FAIL, "no key at s2025._domainkey.match.lab.example" },
			    { "dkim.present", DOCTOR_FAIL, "published under 'selector1' instead" },
			    { "dkim.present", DOCTOR_FAIL, "and it is the local key" } },
		  .record = "s2025._domainkey.match.lab.example." },
		{ "ipfail.lab.example", .selector = "x",
		  .want = { { "dkim.present", DOCTOR_FAIL, "no key under 14 other common selectors" } } },
		/* no selector given: the guesses, as information */
		{ "match.lab.example", .want = { { "dkim.guess", DOCTOR_INFO, "under 'selector1'" } } },
		{ "ipfail.lab.example", .want = { { "dkim.present", DOCTOR_FAIL, "under 14 common selectors" } } },
	};
	RUN_CASES(cases);
}

static void test_dmarc(void)
{
	static const struct dcase cases[] = {
		{ "dsev.lab.example", .want = { { "dmarc.present", DOCTOR_FAIL, "2 DMARC records" } },
		  .record = "_dmarc.dsev.lab.example." },
		{ "hist.lab.example", .want = { { "dmarc.policy", DOCTOR_OK, "p=reject" },
						{ "dmarc.historic", DOCTOR_WARN, "pct= is from RFC 7489" },
						{ "dmarc.historic", DOCTOR_WARN, "ri= is from RFC 7489" } } },
		{ "bad.lab.example", .want = { { "dmarc.syntax", DOCTOR_FAIL, "does not parse" } } },
		{ "ext.lab.example", .want = { { "dmarc.uri", DOCTOR_OK, "auth.collector.example agrees" },
					       { "dmarc.uri", DOCTOR_FAIL, "noauth.collector.example is outside" } },
		  .record = "ext.lab.example._report._dmarc.noauth.collector.example." },
		/* a subdomain without a record: the parent's applies, by the tree walk */
		{ "sub.parent.lab.example", .want = { { "dmarc.policy", DOCTOR_WARN, "p=quarantine" },
						      { "dmarc.policy", DOCTOR_WARN, "_dmarc.parent.lab.example applies" } } },
		{ "norua.lab.example", .want = { { "dmarc.rua", DOCTOR_WARN, "no rua=" } } },
		{ "nomx.lab.example", .want = { { "dmarc.present", DOCTOR_FAIL, "no DMARC record" } },
		  .record = "_dmarc.nomx.lab.example." },
	};
	RUN_CASES(cases);
}

static void test_transport(void)
{
	static const struct dcase cases[] = {
		{ "sts.lab.example", .want = { { "mta-sts", DOCTOR_OK, "MTA-STS is announced" },
					       { "tls-rpt", DOCTOR_OK, "TLS-RPT is announced" } } },
		{ "nomx.lab.example", .want = { { "mta-sts", DOCTOR_INFO, "no MTA-STS" },
						{ "tls-rpt", DOCTOR_INFO, "no TLS-RPT" } } },
	};
	RUN_CASES(cases);
}

int main(void)
{
	T_RUN(test_mx);
	T_RUN(test_spf_records);
	T_RUN(test_spf_lookups);
	T_RUN(test_spf_evaluation);
	T_RUN(test_dkim);
	T_RUN(test_dmarc);
	T_RUN(test_transport);
	return t_done();
}
