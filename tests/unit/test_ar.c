/*
 * Tests of lib/mail/ar.c: finding the authserv-id of an Authentication-Results
 * value, comparing it with ours, checking our own id, and reading whole
 * fields (ar_parse).
 */
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "arena.h"
#include "buf.h"
#include "compiler.h"
#include "t.h"

static void test_authserv_id_extracted(void)
{
	static const struct {
		const char *value;
		const char *want;	/* NULL: none */
	} c[] = {
		{ "mx.example.net; spf=pass", "mx.example.net" },
		{ "  MX.Example.NET ; none", "MX.Example.NET" },
		{ "(comment) mx.example.net 1; dkim=pass", "mx.example.net" },
		{ "\"mx.example.net\"; none", "mx.example.net" },
		{ "\"mx.exa\\mple.net\"; none", "mx.example.net" },
		{ "\"mx.\r\n example.net\"; none", "mx. example.net" },
		{ "mx.example.net\r\n\t; spf=pass", "mx.example.net" },
		{ "\r\n mx.example.net; spf=pass", "mx.example.net" },
		{ "mx.example.net.; none", "mx.example.net." },
		{ "mx.example.net(comment); none", "mx.example.net" },
		{ "((nested) (comments)) mx; none", "mx" },
		{ "(a \\) b) mx; none", "mx" },
		{ "mx.example.net.evil; none", "mx.example.net.evil" },
		{ "mx.example.net", "mx.example.net" },
		/* the id ends where a token ends; what follows is not ours to judge */
		{ "mx.example.net/x; none", "mx.example.net" },
		{ "mx.example.net spf=pass", "mx.example.net" },
		{ "", NULL },
		{ "   \r\n\t ", NULL },
		{ "(only a comment)", NULL },
		{ "(unterminated mx.example.net", NULL },
		{ "(a \\", NULL },
		{ "; spf=pass", NULL },
		{ "@@@", NULL },
		{ "\"unterminated", NULL },
		{ "\"\"; none", NULL },
		{ "\"a\x01\"; none", NULL },
		{ "\xc3\xa9x; none", NULL },
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		char *id = ar_authserv_id(a, c[i].value, strlen(c[i].value));
		if (c[i].want == NULL) {
			if (id != NULL)
				t_fail(__FILE__, __LINE__, "'%s': got '%s', want none",
				       c[i].value, id);
		} else {
			T_EQ_STR(id, c[i].want);
		}
	}
	arena_free(&a);
}

static void test_authserv_id_nul_and_length(void)
{
	struct arena *a = arena_new();
	T_CHECK(ar_authserv_id(a, "\0mx; none", 9) == NULL);
	T_EQ_STR(ar_authserv_id(a, "mx\0; none", 9), "mx");
	T_CHECK(ar_authserv_id(a, "\"m\0x\"; none", 11) == NULL);
	/* only len bytes are read */
	T_EQ_STR(ar_authserv_id(a, "mx.example.net; none", 2), "mx");
	/* a deep comment nest is refused, not recursed into */
	size_t n = 100000;
	char *deep = malloc(n + 4);
	memset(deep, '(', n);
	memcpy(deep + n, " mx", 4);
	T_CHECK(ar_authserv_id(a, deep, n + 3) == NULL);
	T_CHECK(!ar_authserv_id_is(deep, n + 3, "mx"));
	free(deep);
	arena_free(&a);
}

static void test_authserv_id_is(void)
{
	static const struct {
		const char *value;
		const char *ours;
		bool same;
	} c[] = {
		{ "mx.example.net; spf=pass", "mx.example.net", true },
		{ "  MX.Example.NET ; none", "mx.example.net", true },
		{ "mx.example.net.; none", "mx.example.net", true },
		{ "mx.example.net; none", "mx.example.net.", true },
		{ "mx.example.net.; none", "MX.EXAMPLE.NET.", true },
		{ "\"mx.example.net\"; none", "mx.example.net", true },
		{ "(c) mx.example.net 1; dkim=pass", "mx.example.net", true },
		{ "mx.example.net(comment); none", "mx.example.net", true },
		{ "mx.example.net\r\n\t; spf=pass", "mx.example.net", true },
		{ "mx.example.net.evil; none", "mx.example.net", false },
		{ "mx.example.ne; none", "mx.example.net", false },
		{ "evil.mx.example.net; none", "mx.example.net", false },
		{ "mx.example.net..; none", "mx.example.net", false },
		{ "\"mx.example.net \"; none", "mx.example.net", false },
		{ "mx.example.com; none", "mx.example.net", false },
		{ "; none", "mx.example.net", false },
		{ "", "mx.example.net", false },
		{ "mx; none", "", false },
		{ "x.; none", "x..", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		if (ar_authserv_id_is(c[i].value, strlen(c[i].value), c[i].ours) != c[i].same)
			t_fail(__FILE__, __LINE__, "'%s' is '%s': want %d", c[i].value,
			       c[i].ours, c[i].same);
}

static void test_authserv_id_valid(void)
{
	char longest[257];
	memset(longest, 'a', 256);
	longest[256] = '\0';
	T_CHECK(!ar_authserv_id_valid(longest));
	longest[255] = '\0';
	T_CHECK(ar_authserv_id_valid(longest));

	static const struct {
		const char *id;
		bool ok;
	} c[] = {
		{ "mx.example.net", true },
		{ "mx.example.net.", true },
		{ "MX-1_a", true },
		{ "", false },
		{ "mx example", false },
		{ "mx;", false },
		{ "mx(", false },
		{ "\"mx\"", false },
		{ "m@x", false },
		{ "mx\t", false },
		{ "m\xc3\xa9", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		if (ar_authserv_id_valid(c[i].id) != c[i].ok)
			t_fail(__FILE__, __LINE__, "'%s': want %d", c[i].id, c[i].ok);
}

/* A field as one line: "ID|method=result(comment)[reason]{prop=value ...};..." */
static const char *summary(struct arena *a, const struct ar_field *f)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s|", f->authserv_id);
	if (f->instance > 0)
		buf_printf(&b, "i=%u|", f->instance);
	for (size_t i = 0; i < f->n; i++) {
		const struct ar_resinfo *r = &f->res[i];
		buf_printf(&b, "%s%s=%s", i > 0 ? ";" : "", r->method, r->result);
		if (r->comment != NULL)
			buf_printf(&b, "(%s)", r->comment);
		if (r->reason != NULL)
			buf_printf(&b, "[%s]", r->reason);
		if (r->n_props > 0) {
			buf_putc(&b, '{');
			for (size_t k = 0; k < r->n_props; k++)
				buf_printf(&b, "%s%s=%s", k > 0 ? " " : "", r->props[k].name,
					   r->props[k].value);
			buf_putc(&b, '}');
		}
	}
	if (f->skipped > 0)
		buf_printf(&b, "|skipped %zu", f->skipped);
	const char *s = arena_strdup(a, b.p);
	buf_free(&b);
	return s;
}

static void test_parse_fields(void)
{
	static const struct {
		bool arc;
		const char *value;
		const char *want;	/* summary, or "error: TEXT" */
	} c[] = {
		{ false, "mx.example.net; none", "mx.example.net|" },
		{ false, "mx.example.net 1; none", "mx.example.net|" },
		{ false, "mx.example.net; spf=pass smtp.mailfrom=a@example.com",
		  "mx.example.net|spf=pass{smtp.mailfrom=a@example.com}" },
		/* what a big provider writes: folded, comments, header.i with "@" */
		{ false, "mx.bigmail.example;\r\n       dkim=pass header.i=@good.example "
			 "header.s=s1 header.b=FCC9fCKd;\r\n       spf=pass (bigmail.example: "
			 "domain of b@good.example designates 192.0.2.25 as permitted sender) "
			 "smtp.mailfrom=b@good.example;\r\n       dmarc=pass (p=QUARANTINE "
			 "sp=QUARANTINE dis=NONE) header.from=good.example",
		  "mx.bigmail.example|dkim=pass{header.i=@good.example header.s=s1 "
		  "header.b=FCC9fCKd};spf=pass(bigmail.example: domain of b@good.example "
		  "designates 192.0.2.25 as permitted sender){smtp.mailfrom=b@good.example};"
		  "dmarc=pass(p=QUARANTINE sp=QUARANTINE dis=NONE){header.from=good.example}" },
		{ false, "MX; DKIM/1=Fail reason=\"bad sig\" Header.D=x", "MX|dkim=fail[bad sig]{header.d=x}" },
		{ false, "mx; spf = pass ( c ) smtp . mailfrom = \"a b\"@x",
		  "mx|spf=pass(c){smtp.mailfrom=a b@x}" },
		/* a resinfo that does not read is skipped to the next ";" */
		{ false, "mx; garbage here; dkim=pass", "mx|dkim=pass|skipped 1" },
		{ false, "mx; spf=; dkim=pass header.d=(c)x", "mx|dkim=pass{header.d=x}|skipped 1" },
		{ false, "mx; dkim=pass (a \"quoted ; semi\") header.d=x; spf=fail",
		  "mx|dkim=pass(a \"quoted ; semi\"){header.d=x};spf=fail" },
		{ true, "i=1; mx.example; arc=none", "mx.example|i=1|arc=none" },
		{ true, "i = 12 ; mx; dkim=pass", "mx|i=12|dkim=pass" },
		{ true, "mx; dkim=pass", "error: no i= instance tag (RFC 8617 4.1.1)" },
		{ false, "", "error: no authserv-id" },
		{ false, "; spf=pass", "error: no authserv-id" },
		{ false, "mx; spf=pass (unended", "error: a comment does not end, or nests too deep" },
		{ false, "mx; spf=pass reason=\"unended", "error: a quoted string does not end" },
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct ar_field f;
		const char *error = NULL;
		const char *got = ar_parse(a, c[i].value, strlen(c[i].value), c[i].arc, &f,
					   &error) == 0
					  ? summary(a, &f)
					  : arena_printf(a, "error: %s", error);
		if (strcmp(got, c[i].want) != 0)
			t_fail(__FILE__, __LINE__, "'%s':\n got  %s\n want %s", c[i].value, got,
			       c[i].want);
	}
	arena_free(&a);
}

/* A resinfo found by method, a property by name; more results than the limit. */
static void test_parse_find_and_limits(void)
{
	struct arena *a = arena_new();
	struct ar_field f;
	const char *error;
	const char *v = "mx; spf=fail smtp.mailfrom=x; dkim=pass header.d=d1; dkim=fail header.d=d2";
	T_EQ_INT(ar_parse(a, v, strlen(v), false, &f, &error), 0);
	T_EQ_STR(ar_field_find(&f, "dkim")->result, "pass");
	T_CHECK(ar_field_find(&f, "dmarc") == NULL);
	T_EQ_STR(ar_resinfo_prop(ar_field_find(&f, "dkim"), "HEADER.D"), "d1");
	T_CHECK(ar_resinfo_prop(ar_field_find(&f, "spf"), "header.d") == NULL);

	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "mx");
	for (int i = 0; i < AR_MAX_RESULTS + 10; i++)
		buf_printf(&b, "; dkim=pass header.d=d%d", i);
	T_EQ_INT(ar_parse(a, b.p, b.len, false, &f, &error), 0);
	T_EQ_INT(f.n, AR_MAX_RESULTS);
	T_EQ_INT(f.skipped, 10);
	buf_reset(&b);
	buf_puts(&b, "mx; dkim=pass");
	for (int i = 0; i < AR_MAX_PROPS + 5; i++)
		buf_printf(&b, " header.p%d=v", i);
	T_EQ_INT(ar_parse(a, b.p, b.len, false, &f, &error), 0);
	T_EQ_INT(f.res[0].n_props, AR_MAX_PROPS);
	buf_free(&b);
	arena_free(&a);
}

int main(void)
{
	T_RUN(test_parse_fields);
	T_RUN(test_parse_find_and_limits);
	T_RUN(test_authserv_id_extracted);
	T_RUN(test_authserv_id_nul_and_length);
	T_RUN(test_authserv_id_is);
	T_RUN(test_authserv_id_valid);
	return t_done();
}
