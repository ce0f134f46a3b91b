/*
 * Tests of lib/mail/received.c: Received fields as real receivers write
 * them (Postfix, a big provider, Sendmail, Exim, Exchange, internal hops)
 * read into client address, HELO name, reverse DNS name and clauses; and
 * the fields that must be refused.
 */
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "compiler.h"
#include "received.h"
#include "t.h"

static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* "ip|helo|rdns|from|by|with|id|for|date" */
static const char *summary(struct arena *a, const struct received *r)
{
	return arena_printf(a, "%s|%s|%s|%s|%s|%s|%s|%s|%s", or_dash(r->ip), or_dash(r->helo),
			    or_dash(r->rdns), or_dash(r->from), or_dash(r->by), or_dash(r->with),
			    or_dash(r->id), or_dash(r->for_), or_dash(r->date));
}

static void test_received_read(void)
{
	static const struct {
		const char *value;
		const char *want;	/* summary, or "error: TEXT" */
	} c[] = {
		/* Postfix */
		{ "from mail.example.com (mail.example.com [192.0.2.1])\r\n\tby mx.example.net "
		  "(Postfix) with ESMTPS id 4QK2p1\r\n\tfor <bob@example.net>; Thu, 4 Dec 2025 "
		  "17:12:00 +0000 (UTC)",
		  "192.0.2.1|mail.example.com|mail.example.com|mail.example.com|mx.example.net|"
		  "ESMTPS|4QK2p1|<bob@example.net>|Thu, 4 Dec 2025 17:12:00 +0000 (UTC)" },
		/* a big provider: rDNS with its trailing dot, a TLS comment after for */
		{ "from mx.good.example (mx.good.example. [192.0.2.25])\r\n        by "
		  "mx.bigmail.example with ESMTPS id 5b1f17b1\r\n        for <bob@bigmail.example>"
		  "\r\n        (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256);\r\n  "
		  "      Thu, 04 Dec 2025 09:12:02 -0800 (PST)",
		  "192.0.2.25|mx.good.example|mx.good.example|mx.good.example|mx.bigmail.example|"
		  "ESMTPS|5b1f17b1|<bob@bigmail.example>|Thu, 04 Dec 2025 09:12:02 -0800 (PST)" },
		/* the HELO name differs from the rDNS name */
		{ "from laptop (dsl-7.isp.example [198.51.100.7]) by mx.example.net; Mon, 1 Jan 2024",
		  "198.51.100.7|laptop|dsl-7.isp.example|laptop|mx.example.net|-|-|-|"
		  "Mon, 1 Jan 2024" },
		/* Postfix with no rDNS */
		{ "from helo.example (unknown [IPv6:2001:DB8::1]) by mx; date",
		  "2001:db8::1|helo.example|unknown|helo.example|mx|-|-|-|date" },
		/* Sendmail */
		{ "from client.example (user@host.example [192.0.2.9]) (may be forged) by "
		  "mx.example.org (8.17.1/8.17.1) with ESMTP id 5B4H; Thu, 4 Dec 2025",
		  "192.0.2.9|client.example|host.example|client.example|mx.example.org|ESMTP|5B4H|-|"
		  "Thu, 4 Dec 2025" },
		/* Exim: rDNS first, helo= in the comment */
		{ "from rdns.example ([192.0.2.5]:41234 helo=client.example) by mx.exim.example "
		  "with esmtps (TLS1.3) id 1vQ-00; Thu, 4 Dec 2025",
		  "192.0.2.5|client.example|rdns.example|rdns.example|mx.exim.example|esmtps|1vQ-00|"
		  "-|Thu, 4 Dec 2025" },
		/* Exim without rDNS */
		{ "from [198.51.100.77] (helo=alice-laptop.home.example) by mx.good.example "
		  "(Postfix) with ESMTPSA id 4dMk; Thu, 4 Dec 2025",
		  "198.51.100.77|alice-laptop.home.example|-|[198.51.100.77]|mx.good.example|"
		  "ESMTPSA|4dMk|-|Thu, 4 Dec 2025" },
		/* Exchange: a bare address in the comment */
		{ "from AM0PR01.eurprd01.prod.example (2603:10a6:208::8) by "
		  "AM9PR02.eurprd02.prod.example (2603:10a6:20b::3) with Microsoft SMTP Server "
		  "id 15.20.8207.10; Thu, 4 Dec 2025",
		  "2603:10a6:208::8|AM0PR01.eurprd01.prod.example|-|AM0PR01.eurprd01.prod.example|"
		  "AM9PR02.eurprd02.prod.example|Microsoft|15.20.8207.10|-|Thu, 4 Dec 2025" },
		/* an internal hop: no from clause */
		{ "by 2001:db8:40:7a1::2 with SMTP id q7csp55;\r\n        Thu, 4 Dec 2025",
		  "-|-|-|-|2001:db8:40:7a1::2|SMTP|q7csp55|-|Thu, 4 Dec 2025" },
		/* clauses in another order, case ignored */
		{ "BY mx.example ID x FROM h.example ([192.0.2.3]); d",
		  "192.0.2.3|h.example|-|h.example|mx.example|-|x|-|d" },
		/* an address literal that is not an address gives no client */
		{ "from h ([not.an.ip]) by mx; d", "-|h|-|h|mx|-|-|-|d" },
		/* a nested comment is no reverse DNS name */
		{ "from h (a (nested (comment)) [192.0.2.1]) by mx; d",
		  "192.0.2.1|h|-|h|mx|-|-|-|d" },
		{ "", "error: neither a from nor a by clause nor a date" },
		{ "from h (unended [192.0.2.1] by mx; d", "error: a comment does not end" },
		{ "from h ) by mx; d", "error: a \")\" without its \"(\"" },
		{ "from [192.0.2.1 by mx; d", "error: an address literal does not end" },
		{ "from h by mx for <bob@example; d", "error: an angle address does not end" },
		{ "from h \"quoted by mx; d", "error: a quoted string does not end" },
		{ "from h ((((((((((((((((((x)))))))))))))))))) by mx; d",
		  "error: comments nested too deep" },
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct received r;
		const char *error = NULL;
		const char *got = received_parse(a, c[i].value, strlen(c[i].value), &r, &error) == 0
					  ? summary(a, &r)
					  : arena_printf(a, "error: %s", error);
		if (strcmp(got, c[i].want) != 0)
			t_fail(__FILE__, __LINE__, "'%s':\n got  %s\n want %s", c[i].value, got,
			       c[i].want);
	}
	arena_free(&a);
}

static void test_received_limits(void)
{
	struct arena *a = arena_new();
	struct received r;
	const char *error;
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 600; i++)
		buf_puts(&b, "x ");
	T_EQ_INT(received_parse(a, b.p, b.len, &r, &error), -1);
	T_EQ_STR(error, "too many words");
	buf_reset(&b);
	for (int i = 0; i < RECEIVED_MAX_LEN + 1; i++)
		buf_putc(&b, 'x');
	T_EQ_INT(received_parse(a, b.p, b.len, &r, &error), -1);
	T_EQ_STR(error, "field too long");
	buf_free(&b);
	arena_free(&a);
}

static void test_received_host_is(void)
{
	T_CHECK(received_host_is("MX.Example.NET.", "mx.example.net"));
	T_CHECK(received_host_is("mx.example.net", "mx.example.net."));
	T_CHECK(!received_host_is("mx.example.net", "example.net"));
	T_CHECK(!received_host_is("evil-mx.example.net", "mx.example.net"));
	T_CHECK(!received_host_is("", ""));
}

static void test_received_date(void)
{
	static const struct {
		const char *text;
		long long want;	/* -1: refused */
	} cases[] = {
		{ "Thu, 04 Dec 2025 17:11:58 +0000", 1764868318 },
		{ "Thu, 4 Dec 2025 17:11:58 +0000 (UTC)", 1764868318 },
		{ "4 Dec 2025 18:11:58 +0100", 1764868318 },
		{ "Thu, 04 Dec 2025 09:11:58 -0800 (PST)", 1764868318 },
		{ "Thu, 04 Dec 2025 09:11:58 PST", 1764868318 },
		{ "Thu, 04 Dec 2025 12:11:58 EST", 1764868318 },
		{ "Thu, 04 Dec 2025 17:11:58 GMT", 1764868318 },
		{ "Thu, 04 Dec 2025 17:11:58 Z", 1764868318 },
		{ "Thu, 04 Dec 2025 17:11 +0000", 1764868260 },
		{ " (a comment) Thu , 04 Dec 2025 17:11:58 +0000", 1764868318 },
		{ "Thu, 04 Dec 25 17:11:58 +0000", 1764868318 },	/* 4.3: 2-digit year */
		{ "Thu, 04 Dec 125 17:11:58 +0000", 1764868318 },	/* 3-digit: + 1900 */
		{ "Sat, 31 Dec 2016 23:59:60 +0000", 1483228800 },	/* a leap second */
		{ "Thu, 31 Feb 2025 17:11:58 +0000", -1 },
		{ "Thu, 04 Foo 2025 17:11:58 +0000", -1 },
		{ "Thu, 04 Dec 2025 24:00:00 +0000", -1 },
		{ "Thu, 04 Dec 2025 17:11:58 +0099", -1 },
		{ "Thu, 04 Dec 2025 17:11:58 CEST", -1 },
		{ "Thu, 04 Dec 2025 17:11:58 J", -1 },
		{ "Thu, 04 Dec 2025 17:11:58", -1 },
		{ "Thu, 04 Dec 2025 17:11:58 +0000 trailing", -1 },
		{ "Thu, 04 Dec 2025 17:11:58 +0000 (unended", -1 },
		{ "Thu 04 Dec 2025 17:11:58 +0000", -1 },
		{ "", -1 },
		{ "2025-12-04T17:11:58Z", -1 },
		{ "Thu, 01 Jan 1970 00:30:00 +0100", -1 },	/* before 1970 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 0;
		int r = received_date_parse(cases[i].text, &t);
		long long got = r == 0 ? (long long)t : -1;
		if (got != cases[i].want)
			t_fail(__FILE__, __LINE__, "\"%s\": %lld, want %lld", cases[i].text, got,
			       cases[i].want);
	}
}

int main(void)
{
	T_RUN(test_received_read);
	T_RUN(test_received_limits);
	T_RUN(test_received_host_is);
	T_RUN(test_received_date);
	return t_done();
}
