/*
 * Fuzz target: an SPF record as if it came from DNS, and a sender
 * local-part, through our check_host() (milterd/spf_dns.c).
 * Input: "LOCAL\nRECORD".  The record is published at fuzz.example in a
 * test zone built around it (quoted with \DDD escapes, split into
 * 255-byte character-strings), with a few names its terms can reach.  The
 * same record also goes through spf_dns_record_terms() (cachet doctor),
 * which must agree with the checker and stay inside the record.  Each
 * input is evaluated twice, the second time asking why (spf_explain): the
 * result must not change.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "spf_dns.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed[] =
	"a.fuzz.example. A 192.0.2.1\n"
	"a.fuzz.example. AAAA 2001:db8::1\n"
	"fuzz.example. MX 10 a.fuzz.example.\n"
	"1.2.0.192.in-addr.arpa. PTR a.fuzz.example.\n"
	"inc.fuzz.example. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
	"exp.fuzz.example. TXT \"%{i} is not allowed for %{l} at %{d}\"\n"
	"bad.fuzz.example. TXT SERVFAIL\n";

static void quote(struct buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 255) {
		size_t end = i + 255 < n ? i + 255 : n;
		buf_puts(b, " \"");
		for (size_t k = i; k < end; k++) {
			if (p[k] < 0x20 || p[k] > 0x7e || p[k] == '"' || p[k] == '\\')
				buf_printf(b, "\\%03u", p[k]);
			else
				buf_putc(b, (char)p[k]);
		}
		buf_putc(b, '"');
	}
}

static void check_terms(const uint8_t *rec, size_t len)
{
	const char *txt = (const char *)rec;
	struct spf_term terms[SPF_MAX_RECORD_TERMS];
	size_t n = 99;
	const char *why = spf_dns_record_terms(txt, len, terms, &n);
	if ((why == NULL) != (spf_dns_record_check(txt, len) == NULL))
		abort();
	if (n > SPF_MAX_RECORD_TERMS || (why != NULL && n != 0))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct slice *sl[] = { &terms[i].spec, &terms[i].net };
		for (size_t k = 0; k < 2; k++)
			if (sl[k]->p != NULL &&
			    (sl[k]->p < txt || sl[k]->p + sl[k]->len > txt + len))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log_open("fuzz", true, 0);
		log_set_level(LOG_EMERG);
		quiet = 1;
	}
	const uint8_t *nl = memchr(data, '\n', size);
	size_t local_len = nl != NULL ? (size_t)(nl - data) : 0;
	const uint8_t *rec = nl != NULL ? nl + 1 : data;
	size_t rec_len = size - (size_t)(rec - data);
	if (local_len > 80 || rec_len > 4096)
		return 0;
	check_terms(rec, rec_len);
	struct buf z;
	buf_init(&z, 0);
	buf_puts(&z, fixed);
	buf_puts(&z, "fuzz.example. TXT");
	quote(&z, rec, rec_len);
	buf_puts(&z, "\n");
	char *err = NULL;
	struct zone *zone = zone_parse("fuzz.zone", z.p, z.len, &err);
	free(err);
	buf_free(&z);
	if (zone == NULL)
		return 0;
	char sender[200];
	snprintf(sender, sizeof(sender), "%.*s@fuzz.example", (int)local_len, (const char *)data);
	if (strlen(sender) != local_len + 13)
		snprintf(sender, sizeof(sender), "x@fuzz.example");
	struct spf_backend be = { .zone = zone };
	struct spf_query q = { .ip = size % 2 ? "192.0.2.1" : "2001:db8::1",
			       .helo = "a.fuzz.example", .sender = sender,
			       .receiver = "mx.example.net", .deadline_ms = spf_clock_ms() + 2000 };
	struct spf_outcome o, x;
	spf_dns_evaluate(&be, &q, &o);
	/* asking why (cachet check) must change nothing, and name terms of the record */
	q.explain = true;
	spf_dns_evaluate(&be, &q, &x);
	if (x.result != o.result || x.explain == NULL || o.explain != NULL ||
	    x.explain->n_steps > SPF_EXPLAIN_MAX_STEPS)
		abort();
	for (size_t i = 0; i < x.explain->n_steps; i++)
		if (x.explain->step[i].domain == NULL)
			abort();
	spf_outcome_clear(&x);
	spf_outcome_clear(&o);
	zone_free(&zone);
	return 0;
}
