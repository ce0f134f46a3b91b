/*
 * Tests for lib/dns/zone.c: the master-file reader (every syntax feature and
 * every error, through zone_parse) and the lookups that answer from it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "t.h"
#include "zone.h"

/* The records of an answer as text, joined by "|"; NULs shown as "\0". */
static void answer_text(const struct dns_answer *a, struct buf *out)
{
	char addr[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (i > 0)
			buf_putc(out, '|');
		switch (a->type) {
		case DNS_T_A:
			buf_puts(out, inet_ntop(AF_INET, &rr->u.a, addr, sizeof(addr)));
			break;
		case DNS_T_AAAA:
			buf_puts(out, inet_ntop(AF_INET6, &rr->u.aaaa, addr, sizeof(addr)));
			break;
		case DNS_T_MX:
			buf_printf(out, "%u %s", rr->u.mx.preference, rr->u.mx.exchange);
			break;
		case DNS_T_TXT:
			for (size_t j = 0; j < rr->u.txt.len; j++)
				if (rr->u.txt.data[j] == '\0')
					buf_puts(out, "\\0");
				else
					buf_putc(out, rr->u.txt.data[j]);
			break;
		default:
			buf_puts(out, rr->u.ptr);
			break;
		}
	}
}

struct lookup_case {
	const char *zone;
	const char *name;
	enum dns_type type;
	enum dns_status status;
	const char *records;	/* answer_text(), for DNS_OK */
	long ttl;		/* -1: not checked */
};

static void check_lookup(const struct lookup_case *c, const struct zone *z)
{
	struct dns_answer a;
	zone_lookup(z, c->name, c->type, &a);
	if (a.status != c->status)
		printf("#   %s %s\n", c->name, a.why ? a.why : "");
	T_EQ_INT(a.status, c->status);
	T_EQ_INT(a.type, c->type);
	if (c->status == DNS_OK) {
		struct buf b;
		buf_init(&b, 0);
		answer_text(&a, &b);
		T_EQ_STR(b.p, c->records);
		buf_free(&b);
	} else {
		T_EQ_INT(a.count, 0);
	}
	if (c->ttl >= 0)
		T_EQ_INT(a.ttl, c->ttl);
	T_CHECK(!a.secure);
	dns_answer_clear(&a);
	T_CHECK(a.rr == NULL && a.count == 0);
}

static void run_lookup_cases(const struct lookup_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *error = NULL;
		struct zone *z = zone_parse("t.zone", cases[i].zone, strlen(cases[i].zone), &error);
		if (z == NULL) {
			printf("#   case %zu: %s\n", i, error);
			T_CHECK(z != NULL);
			free(error);
			continue;
		}
		check_lookup(&cases[i], z);
		zone_free(&z);
		T_CHECK(z == NULL);
	}
}

static void test_syntax_features(void)
{
	static const struct lookup_case cases[] = {
		/* absolute owner, TTL, class */
		{ "www.example.com. 300 IN A 192.0.2.1\n", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.1", 300 },
		/* class before TTL */
		{ "www.example.com. IN 300 A 192.0.2.1\n", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.1", 300 },
		/* neither: the default TTL */
		{ "www.example.com. A 192.0.2.1", "www.example.com", DNS_T_A, DNS_OK, "192.0.2.1",
		  3600 },
		/* $TTL */
		{ "$TTL 60\nwww.example.com. A 192.0.2.1", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.1", 60 },
		/* TTL units */
		{ "www.example.com. 1h30m A 192.0.2.1", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.1", 5400 },
		{ "$TTL 1W\nwww.example.com. A 192.0.2.1", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.1", 604800 },
		/* an omitted TTL is the last one given */
		{ "a.example. 120 A 192.0.2.1\nb.example. A 192.0.2.2", "b.example", DNS_T_A,
		  DNS_OK, "192.0.2.2", 120 },
		/* $ORIGIN and relative names */
		{ "$ORIGIN example.com.\nwww A 192.0.2.2\n", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.2", -1 },
		/* relative $ORIGIN */
		{ "$ORIGIN example.\n$ORIGIN sub\nwww A 192.0.2.2\n", "www.sub.example", DNS_T_A,
		  DNS_OK, "192.0.2.2", -1 },
		/* "@" and a relative MX exchange */
		{ "$ORIGIN example.com.\n@ MX 10 mx\n", "example.com", DNS_T_MX, DNS_OK,
		  "10 mx.example.com", -1 },
		/* blank owner repeats the previous one */
		{ "a.example. A 192.0.2.1\n\tTXT \"hi\"\n", "a.example", DNS_T_TXT, DNS_OK, "hi",
		  -1 },
		/* parentheses across lines, comments inside */
		{ "a.example. TXT ( \"one\" ; first\n  \"two\" ) ; done\n", "a.example",
		  DNS_T_TXT, DNS_OK, "onetwo", -1 },
		/* ";" inside quotes is text */
		{ "a.example. TXT \"x;y\" ; comment\n", "a.example", DNS_T_TXT, DNS_OK, "x;y",
		  -1 },
		/* unquoted words are separate character-strings */
		{ "a.example. TXT v=spf1 -all\n", "a.example", DNS_T_TXT, DNS_OK, "v=spf1-all",
		  -1 },
		/* quoted strings keep their spaces */
		{ "a.example. TXT \"v=spf1 \" \"-all\"\n", "a.example", DNS_T_TXT, DNS_OK,
		  "v=spf1 -all", -1 },
		/* \X and \DDD escapes */
		{ "a.example. TXT \"a\\\"b\\\\c\\065\\;\"\n", "a.example", DNS_T_TXT, DNS_OK,
		  "a\"b\\cA;", -1 },
		{ "a.example. TXT a\\ b \"x\\000y\"\n", "a.example", DNS_T_TXT, DNS_OK,
		  "a bx\\0y", -1 },
		{ "a.example. TXT \"\"\n", "a.example", DNS_T_TXT, DNS_OK, "", -1 },
		/* several TXT records in file order */
		{ "a.example. TXT one\na.example. TXT two\n", "a.example", DNS_T_TXT, DNS_OK,
		  "one|two", -1 },
		/* SPF is stored as TXT */
		{ "a.example. SPF \"v=spf1 -all\"\n", "a.example", DNS_T_TXT, DNS_OK,
		  "v=spf1 -all", -1 },
		{ "a.example. AAAA 2001:db8::1\n", "a.example", DNS_T_AAAA, DNS_OK, "2001:db8::1",
		  -1 },
		{ "1.2.0.192.in-addr.arpa. PTR host.example.\n", "1.2.0.192.in-addr.arpa",
		  DNS_T_PTR, DNS_OK, "host.example", -1 },
		/* the null MX (RFC 7505) */
		{ "a.example. MX 0 .\n", "a.example", DNS_T_MX, DNS_OK, "0 ", -1 },
		/* type, class and directive names in any case */
		{ "$origin example.\na in txt x\n", "a.example", DNS_T_TXT, DNS_OK, "x", -1 },
		/* names are stored lower-cased; escapes decoded */
		{ "WWW.Example.COM. A 192.0.2.1\n", "www.example.com", DNS_T_A, DNS_OK,
		  "192.0.2.1", -1 },
		{ "\\087ww.example. A 192.0.2.1\n", "www.example", DNS_T_A, DNS_OK, "192.0.2.1",
		  -1 },
		/* CR LF line ends, blank and comment-only lines */
		{ "; zone\r\n\r\n   \r\na.example. A 192.0.2.1\r\n", "a.example", DNS_T_A, DNS_OK,
		  "192.0.2.1", -1 },
		/* SOA over several lines and NS are accepted and make a name exist */
		{ "$ORIGIN example.\n@ SOA ns hostmaster ( 1 1h 15m 1w 5m )\n@ NS ns\n",
		  "example", DNS_T_A, DNS_NODATA, NULL, -1 },
		/* a CNAME asked for as such */
		{ "a.example. CNAME b.example.\n", "a.example", DNS_T_CNAME, DNS_OK, "b.example",
		  -1 },
		/* no newline at the end */
		{ "a.example. TXT last", "a.example", DNS_T_TXT, DNS_OK, "last", -1 },
	};
	run_lookup_cases(cases, ARRAY_LEN(cases));
}

struct error_case {
	const char *zone;
	const char *error;
};

static void test_syntax_errors(void)
{
	static char long_string[400], long_line[17000], long_label[100], long_name[300];
	if (long_string[0] == '\0') {
		/* "a.example. TXT "<256 x's>"" */
		snprintf(long_string, sizeof(long_string), "a.example. TXT \"%0256d\"", 0);
		snprintf(long_line, sizeof(long_line), "a.example. TXT \"%016500d\"", 0);
		snprintf(long_label, sizeof(long_label), "%064d.example. A 192.0.2.1", 0);
		snprintf(long_name, sizeof(long_name), "%s", "");
		for (int i = 0; i < 26; i++)
			strcat(long_name, "abcdefghi.");
		strcat(long_name, " A 192.0.2.1");
	}
	const struct error_case cases[] = {
		{ "a.example. FOO x\n", "t.zone:1: unknown record type FOO" },
		{ "a.example. IN\n", "t.zone:1: record type missing" },
		{ "$INCLUDE other.zone\n", "t.zone:1: $INCLUDE is not supported" },
		{ "$FOO bar\n", "t.zone:1: unknown directive $FOO" },
		{ "$ORIGIN\n", "t.zone:1: $ORIGIN needs one name" },
		{ "$TTL 1 2\n", "t.zone:1: $TTL needs one value" },
		{ "$TTL 1x\n", "t.zone:1: bad TTL \"1x\"" },
		{ "$TTL h\n", "t.zone:1: bad TTL \"h\"" },
		{ "a.example. 2147483648 A 192.0.2.1\n", "t.zone:1: bad TTL \"2147483648\"" },
		{ "a.example. 99999999999999999999 A 192.0.2.1\n",
		  "t.zone:1: bad TTL \"99999999999999999999\"" },
		{ long_string, "t.zone:1: character-string longer than 255 bytes (RFC 1035 3.3)" },
		{ long_line, "t.zone:1: line too long (limit 16384 bytes)" },
		{ long_label, "t.zone:1: label longer than 63 bytes" },
		{ long_name, "t.zone:1: name longer than 253 bytes" },
		{ "a..example. A 192.0.2.1\n", "t.zone:1: empty label in name" },
		{ "a\\.b.example. A 192.0.2.1\n",
		  "t.zone:1: name \"a\\.b.example.\": byte 0x2e cannot be used here" },
		{ "a\\032b.example. A 192.0.2.1\n",
		  "t.zone:1: name \"a\\032b.example.\": byte 0x20 cannot be used here" },
		{ "a.example. TXT \"\\256\"\n", "t.zone:1: bad \\DDD escape: 256 is more than 255" },
		{ "a.example. TXT \"\\12x\"\n",
		  "t.zone:1: bad \\DDD escape (three digits are needed)" },
		{ "a.example. TXT \\1\n", "t.zone:1: bad \\DDD escape (three digits are needed)" },
		{ "a.example. TXT a\\\n", "t.zone:1: backslash at end of line" },
		{ "a.example. TXT \"abc\n", "t.zone:1: unterminated quoted string" },
		{ "a.example. TXT \"abc\\\"", "t.zone:1: unterminated quoted string" },
		{ "\n\na.example. TXT ( x\n y\n", "t.zone:3: missing \")\"" },
		{ "a.example. TXT x )\n", "t.zone:1: \")\" without \"(\"" },
		{ "a.example. TXT ( ( x ) )\n", "t.zone:1: nested \"(\"" },
		{ "a.example. CNAME b.example.\na.example. A 192.0.2.1\n",
		  "t.zone:2: CNAME and other data at a.example (RFC 1034 3.6.2)" },
		{ "a.example. TXT x\na.example. CNAME b.example.\n",
		  "t.zone:2: CNAME and other data at a.example (RFC 1034 3.6.2)" },
		{ "a.example. CNAME b.example.\na.example. CNAME c.example.\n",
		  "t.zone:2: more than one CNAME at a.example" },
		{ "www A 192.0.2.1\n", "t.zone:1: relative name \"www\" without $ORIGIN" },
		{ "@ A 192.0.2.1\n", "t.zone:1: relative name \"@\" without $ORIGIN" },
		{ "  A 192.0.2.1\n", "t.zone:1: no owner name (and no previous one)" },
		{ "\"a.example.\" A 192.0.2.1\n", "t.zone:1: name \"a.example.\" must not be quoted" },
		{ "a.example. A 192.0.2.300\n", "t.zone:1: bad address \"192.0.2.300\"" },
		{ "a.example. A 192.0.2\n", "t.zone:1: bad address \"192.0.2\"" },
		{ "a.example. AAAA 192.0.2.1\n", "t.zone:1: bad address \"192.0.2.1\"" },
		{ "a.example. A 192.0.2.1 192.0.2.2\n", "t.zone:1: wrong number of fields for A" },
		{ "a.example. MX 10\n", "t.zone:1: wrong number of fields for MX" },
		{ "a.example. MX 65536 mx.example.\n", "t.zone:1: bad number \"65536\" (0 to 65535)" },
		{ "a.example. MX ten mx.example.\n", "t.zone:1: bad number \"ten\" (0 to 65535)" },
		{ "a.example. SOA ns. host. 1 2 3 4\n", "t.zone:1: wrong number of fields for SOA" },
		{ "a.example. SOA ns. host. 1 2 3 4 x\n", "t.zone:1: bad TTL \"x\"" },
		{ "a.example. CH TXT x\n", "t.zone:1: unsupported class CH" },
		{ "a.example. TXT\n", "t.zone:1: wrong number of fields for TXT" },
		/* the line of the entry, after multi-line entries and comments */
		{ "; c\na.example. TXT ( x\n y )\nb.example. BAD\n", "t.zone:4: unknown record type BAD" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct zone *z = zone_parse("t.zone", cases[i].zone, strlen(cases[i].zone), &error);
		T_CHECK(z == NULL);
		T_EQ_STR(error, cases[i].error);
		zone_free(&z);
		free(error);
	}
}

static void test_nul_byte_is_an_error(void)
{
	static const char text[] = "a.example. TXT x\0y\n";
	char *error = NULL;
	struct zone *z = zone_parse("t.zone", text, sizeof(text) - 1, &error);
	T_CHECK(z == NULL);
	T_EQ_STR(error, "t.zone:1: NUL byte in text");
	free(error);
}

/* zone_parse reads len bytes, not up to a NUL (ASan checks the bounds). */
static void test_parse_respects_length(void)
{
	static const char text[] = "a.example. TXT abc\nb.example. TXT def";
	char *copy = malloc(sizeof(text) - 1);
	memcpy(copy, text, sizeof(text) - 1);
	char *error = NULL;
	struct zone *z = zone_parse("t.zone", copy, sizeof(text) - 1, &error);
	T_CHECK(z != NULL);
	/* and a cut in the middle of a word gives the shorter word */
	struct zone *z2 = zone_parse("t.zone", copy, sizeof(text) - 3, &error);
	T_CHECK(z2 != NULL);
	if (z != NULL && z2 != NULL) {
		struct lookup_case whole = { NULL, "b.example", DNS_T_TXT, DNS_OK, "def", -1 };
		struct lookup_case cut = { NULL, "b.example", DNS_T_TXT, DNS_OK, "d", -1 };
		check_lookup(&whole, z);
		check_lookup(&cut, z2);
	}
	zone_free(&z);
	zone_free(&z2);
	free(copy);
}

static const char lookup_zone[] =
	"$ORIGIN example.\n"
	"$TTL 300\n"
	"a        A     192.0.2.1\n"
	"         A     192.0.2.2\n"
	"         TXT   \"v=spf1 -all\"\n"
	"alias    60 CNAME a\n"
	"c1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\n"
	"c5 CNAME c6\nc6 CNAME c7\nc7 CNAME c8\nc8 CNAME a\n"
	"c0 CNAME c1\n"
	"loop1 CNAME loop2\nloop2 CNAME loop1\n"
	"self CNAME self\n"
	"dangling CNAME nowhere\n"
	"broken   TXT   SERVFAIL\n"
	"broken   A     192.0.2.9\n"
	"slow     TXT   TIMEOUT\n"
	"quoted   TXT   \"SERVFAIL\"\n"
	"notmagic TXT   SERVFAIL x\n"
	"notmagic2 TXT  servfail\n"
	"mx       MX    20 mx2\n"
	"         MX    10 mx1.example.net.\n";

static void test_lookups(void)
{
#define L(name, type, status, records, ttl) { lookup_zone, name, type, status, records, ttl }
	static const struct lookup_case cases[] = {
		L("a.example", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", 300),
		L("a.example.", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", 300),
		L("A.EXAMPLE", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", 300),
		L("a.example", DNS_T_TXT, DNS_OK, "v=spf1 -all", 300),
		L("a.example", DNS_T_AAAA, DNS_NODATA, NULL, -1),
		L("a.example", DNS_T_MX, DNS_NODATA, NULL, -1),
		L("nothere.example", DNS_T_A, DNS_NXDOMAIN, NULL, -1),
		L("example", DNS_T_A, DNS_NXDOMAIN, NULL, -1),
		L("b.a.example", DNS_T_A, DNS_NXDOMAIN, NULL, -1),
		L("mx.example", DNS_T_MX, DNS_OK, "20 mx2.example|10 mx1.example.net", -1),
		/* CNAMEs: followed, TTL the smallest on the way */
		L("alias.example", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", 60),
		L("alias.example", DNS_T_TXT, DNS_OK, "v=spf1 -all", -1),
		L("alias.example", DNS_T_MX, DNS_NODATA, NULL, -1),
		L("alias.example", DNS_T_CNAME, DNS_OK, "a.example", -1),
		L("c1.example", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", -1),	/* 8 CNAMEs */
		L("c0.example", DNS_T_A, DNS_SERVFAIL, NULL, -1),		/* 9 */
		L("loop1.example", DNS_T_A, DNS_SERVFAIL, NULL, -1),
		L("self.example", DNS_T_TXT, DNS_SERVFAIL, NULL, -1),
		L("dangling.example", DNS_T_A, DNS_NXDOMAIN, NULL, -1),
		/* the test hooks */
		L("broken.example", DNS_T_TXT, DNS_SERVFAIL, NULL, -1),
		L("BROKEN.example", DNS_T_TXT, DNS_SERVFAIL, NULL, -1),
		L("broken.example", DNS_T_A, DNS_OK, "192.0.2.9", -1),
		L("slow.example", DNS_T_TXT, DNS_TIMEOUT, NULL, -1),
		L("slow.example", DNS_T_A, DNS_NODATA, NULL, -1),
		L("quoted.example", DNS_T_TXT, DNS_SERVFAIL, NULL, -1),
		L("notmagic.example", DNS_T_TXT, DNS_OK, "SERVFAILx", -1),
		L("notmagic2.example", DNS_T_TXT, DNS_OK, "servfail", -1),
		/* names no zone can hold */
		L("", DNS_T_A, DNS_ERROR, NULL, -1),
		L(".", DNS_T_A, DNS_ERROR, NULL, -1),
	};
#undef L
	run_lookup_cases(cases, ARRAY_LEN(cases));
}

static void test_lookup_unsupported_type_is_error(void)
{
	char *error = NULL;
	struct zone *z = zone_parse("t.zone", lookup_zone, strlen(lookup_zone), &error);
	struct dns_answer a;
	zone_lookup(z, "example", (enum dns_type)6, &a);	/* SOA */
	T_EQ_INT(a.status, DNS_ERROR);
	dns_answer_clear(&a);
	zone_free(&z);
}

/* Many thousands of names: every one is found (the hash table grows). */
static void test_many_names(void)
{
	enum { N = 20000 };
	struct buf text;
	buf_init(&text, 0);
	for (int i = 0; i < N; i++)
		buf_printf(&text, "n%d.example. A 10.%d.%d.%d\n", i, i >> 16, (i >> 8) & 255,
			   i & 255);
	char *error = NULL;
	struct zone *z = zone_parse("big.zone", text.p, text.len, &error);
	T_CHECK(z != NULL);
	T_EQ_INT(zone_record_count(z), N);
	int found = 0;
	for (int i = 0; i < N; i++) {
		char name[64], want[32];
		struct dns_answer a;
		snprintf(name, sizeof(name), "N%d.example", i);
		snprintf(want, sizeof(want), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		zone_lookup(z, name, DNS_T_A, &a);
		struct buf b;
		buf_init(&b, 0);
		answer_text(&a, &b);
		found += a.status == DNS_OK && strcmp(b.p, want) == 0;
		buf_free(&b);
		dns_answer_clear(&a);
	}
	T_EQ_INT(found, N);
	zone_free(&z);
	buf_free(&text);
}

static void test_record_limit(void)
{
	struct buf text;
	buf_init(&text, 0);
	for (int i = 0; i <= ZONE_MAX_RECORDS; i++)
		buf_puts(&text, "a.example. TXT x\n");
	char *error = NULL;
	struct zone *z = zone_parse("t.zone", text.p, text.len, &error);
	T_CHECK(z == NULL);
	T_EQ_STR(error, "t.zone:100001: too many records (limit 100000)");
	free(error);
	buf_free(&text);
}

/* An answer holds at most 100 records, like the libunbound back end's. */
static void test_answer_record_cap(void)
{
	struct buf text;
	buf_init(&text, 0);
	for (int i = 0; i < 150; i++)
		buf_printf(&text, "a.example. TXT r%d\n", i);
	char *error = NULL;
	struct zone *z = zone_parse("t.zone", text.p, text.len, &error);
	struct dns_answer a;
	zone_lookup(z, "a.example", DNS_T_TXT, &a);
	T_EQ_INT(a.status, DNS_OK);
	T_EQ_INT(a.count, 100);
	dns_answer_clear(&a);
	zone_free(&z);
	buf_free(&text);
}

/* The longest TXT record: 64 KiB of 255-byte strings, then one byte too many. */
static void test_txt_record_limit(void)
{
	struct buf text;
	buf_init(&text, 0);
	buf_puts(&text, "a.example. TXT (\n");
	char s[256];
	memset(s, 'x', 255);
	s[255] = '\0';
	for (int i = 0; i < 257; i++)
		buf_printf(&text, "\"%s\"\n", s);	/* 65535 bytes */
	buf_puts(&text, ")\n");
	char *error = NULL;
	struct zone *z = zone_parse("t.zone", text.p, text.len, &error);
	T_CHECK(z != NULL);
	struct dns_answer a;
	zone_lookup(z, "a.example", DNS_T_TXT, &a);
	T_EQ_INT(a.status, DNS_OK);
	T_EQ_INT(a.count == 1 ? a.rr[0].u.txt.len : 0, 65535);
	dns_answer_clear(&a);
	zone_free(&z);
	buf_truncate(&text, text.len - 2);
	buf_puts(&text, "y )\n");
	z = zone_parse("t.zone", text.p, text.len, &error);
	T_CHECK(z == NULL);
	T_EQ_STR(error, "t.zone:1: TXT record longer than 65535 bytes");
	free(error);
	buf_free(&text);
}

static char *fixture(const char *name)
{
	/* the fixtures live beside this file; __FILE__ is relative to the build's cwd */
	struct buf b;
	buf_init(&b, 0);
	const char *slash = strrchr(__FILE__, '/');
	if (slash != NULL)
		buf_append(&b, __FILE__, (size_t)(slash - __FILE__ + 1));
	buf_printf(&b, "data/dns/%s", name);
	return buf_steal(&b);
}

static void test_load_file(void)
{
	char *path = fixture("test.zone");
	char *error = NULL;
	struct zone *z = zone_load(path, &error);
	if (z == NULL)
		printf("#   %s\n", error);
	T_CHECK(z != NULL);
	if (z != NULL) {
		struct lookup_case c = { NULL, "example.com", DNS_T_MX, DNS_OK,
					 "10 mail.example.com", -1 };
		check_lookup(&c, z);
		T_CHECK(zone_record_count(z) > 10);
	}
	zone_free(&z);
	free(error);
	free(path);
}

static void test_load_errors_name_the_file(void)
{
	char *path = fixture("bad.zone");
	char *error = NULL;
	struct zone *z = zone_load(path, &error);
	T_CHECK(z == NULL);
	struct buf want;
	buf_init(&want, 0);
	buf_printf(&want, "%s:4: unknown record type WKS", path);
	T_EQ_STR(error, want.p);
	buf_free(&want);
	free(error);
	free(path);

	error = NULL;
	z = zone_load("/nonexistent/x.zone", &error);
	T_CHECK(z == NULL);
	T_EQ_STR(error, "/nonexistent/x.zone: cannot open: No such file or directory");
	free(error);
}

/* A zone file without $ORIGIN: the origin given, as a name server's configuration does. */
static void test_load_with_default_origin(void)
{
	char *path = fixture("relative.zone");
	char *error = NULL;
	struct zone *z = zone_load(path, &error);
	T_CHECK(z == NULL);
	T_CHECK(error != NULL && strstr(error, ":4: relative name \"@\" without $ORIGIN") != NULL);
	free(error);
	error = NULL;
	z = zone_load_at(path, "Lab.Example.", &error);
	if (z == NULL)
		printf("#   %s\n", error);
	T_CHECK(z != NULL);
	if (z != NULL) {
		static const struct lookup_case cases[] = {
			{ NULL, "lab.example", DNS_T_MX, DNS_OK, "10 mail.lab.example", -1 },
			{ NULL, "mail.lab.example", DNS_T_A, DNS_OK, "192.0.2.25", -1 },
			/* a $ORIGIN in the file takes over */
			{ NULL, "www.other.example", DNS_T_A, DNS_OK, "192.0.2.80", -1 },
			{ NULL, "www.lab.example", DNS_T_A, DNS_NXDOMAIN, NULL, -1 },
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			check_lookup(&cases[i], z);
	}
	zone_free(&z);
	free(error);
	free(path);
}

int main(void)
{
	T_RUN(test_syntax_features);
	T_RUN(test_syntax_errors);
	T_RUN(test_nul_byte_is_an_error);
	T_RUN(test_parse_respects_length);
	T_RUN(test_lookups);
	T_RUN(test_lookup_unsupported_type_is_error);
	T_RUN(test_many_names);
	T_RUN(test_record_limit);
	T_RUN(test_answer_record_cap);
	T_RUN(test_txt_record_limit);
	T_RUN(test_load_file);
	T_RUN(test_load_errors_name_the_file);
	T_RUN(test_load_with_default_origin);
	return t_done();
}
