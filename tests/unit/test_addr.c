/*
 * Tests of lib/mail/addr.c: RFC 5322 address lists (the cases DMARC depends on
 * first), their errors and limits, RFC 5321 paths, domain normalisation.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "arena.h"
#include "buf.h"
#include "t.h"

/* Renders a list as "[display]local@domain{group}, ..." (display/group if set). */
static void render(const struct addr_list *l, struct buf *b)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct addr *a = &l->v[i];
		if (i > 0)
			buf_puts(b, ", ");
		if (a->display != NULL)
			buf_printf(b, "[%s]", a->display);
		buf_printf(b, "%s@%s", a->local, a->domain);
		if (a->group != NULL)
			buf_printf(b, "{%s}", a->group);
	}
}

struct list_case {
	const char *in;
	const char *want;	/* rendered list, or the error text */
	size_t groups;
};

static void check_lists(const struct list_case *c, size_t n, bool ok)
{
	for (size_t i = 0; i < n; i++) {
		struct arena *a = arena_new();
		struct addr_list l;
		const char *err = NULL;
		int rc = addr_list_parse(a, c[i].in, strlen(c[i].in), &l, &err);
		struct buf b;
		buf_init(&b, 0);
		if (rc == 0)
			render(&l, &b);
		else
			buf_puts(&b, err);
		if (rc != (ok ? 0 : -1) || strcmp(b.p, c[i].want) != 0 ||
		    (ok && l.groups != c[i].groups) || (!ok && l.n != 0))
			t_fail(__FILE__, __LINE__, "'%s': rc %d, got '%s' (groups %zu), want '%s'",
			       c[i].in, rc, b.p, l.groups, c[i].want);
		buf_free(&b);
		arena_free(&a);
	}
}

static void test_list_dmarc_cases(void)
{
	static const struct list_case c[] = {
		{ "\"a@evil.com, b\" <x@good.com>", "[a@evil.com, b]x@good.com", 0 },
		{ "a@x.com, b@y.com", "a@x.com, b@y.com", 0 },
		{ "(comment a@evil.com) x@good.com", "x@good.com", 0 },
		{ "undisclosed-recipients:;", "", 1 },
		{ "a@evil.com, b <x@good.com>", "a@evil.com, [b]x@good.com", 0 },
		{ "x@good.com (a@evil.com)", "x@good.com", 0 },
		{ "\"x@good.com\" <y@evil.com>", "[x@good.com]y@evil.com", 0 },
	};
	check_lists(c, ARRAY_LEN(c), true);
}

static void test_list_forms(void)
{
	static const struct list_case c[] = {
		{ "a@x.com", "a@x.com", 0 },
		{ "A@X.COM", "A@x.com", 0 },
		{ "<a@x.com>", "a@x.com", 0 },
		{ "John Q. Public <jqp@example.com>", "[John Q. Public]jqp@example.com", 0 },
		{ "\"Joe Q. Public\" <john.q.public@example.com>",
		  "[Joe Q. Public]john.q.public@example.com", 0 },
		{ "Joe \"the man\"  Smith <j@x>", "[Joe the man Smith]j@x", 0 },
		{ "\"Last, First\" <f@x>", "[Last, First]f@x", 0 },
		{ "=?utf-8?q?Caf=C3=A9?= <a@b.c>", "[=?utf-8?q?Caf=C3=A9?=]a@b.c", 0 },
		{ "M\xc3\xbcller <m@example.de>", "[M\xc3\xbcller]m@example.de", 0 },
		{ "\"john doe\"@example.com", "john doe@example.com", 0 },
		{ "\"a\\\"b\"@x", "a\"b@x", 0 },
		{ "\"\"@x", "@x", 0 },
		{ "x@example.com.", "x@example.com", 0 },
		{ "  x@y  ", "x@y", 0 },
		{ "a@b\r\n\t, c@d", "a@b, c@d", 0 },
	};
	check_lists(c, ARRAY_LEN(c), true);
}

static void test_list_groups(void)
{
	static const struct list_case c[] = {
		{ "team: a@x, b@y;", "a@x{team}, b@y{team}", 1 },
		{ "team: a@x, b@y;, c@z", "a@x{team}, b@y{team}, c@z", 1 },
		{ "Undisclosed recipients:;", "", 1 },
		{ "a:;, b:;", "", 2 },
		{ "g: ,, a@x ,;", "a@x{g}", 1 },
		{ "g: (nobody) ;", "", 1 },
		{ "g: A <a@x>;", "[A]a@x{g}", 1 },
		/* RFC 5322 A.1.3 */
		{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
		  "[Ed Jones]c@a.test{A Group}, joe@where.test{A Group}, [John]jdoe@one.test{A Group}", 1 },
		/* RFC 5322 A.5, comments everywhere */
		{ "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
		  "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
		  "[Chris Jones]c@public.example{A Group}, joe@example.org{A Group}, [John]jdoe@one.test{A Group}",
		  1 },
	};
	check_lists(c, ARRAY_LEN(c), true);
}

static void test_list_obsolete_syntax(void)
{
	static const struct list_case c[] = {
		{ "<@relay1,@relay2:user@example.com>", "user@example.com", 0 },
		{ "Mary Smith <@node.test:mary@example.net>", "[Mary Smith]mary@example.net", 0 },
		{ "<,@a,,@b:u@c>", "u@c", 0 },
		{ "user@[192.0.2.1]", "user@[192.0.2.1]", 0 },
		{ "user@[ 192.0.2.1 ]", "user@[192.0.2.1]", 0 },
		{ "u@[IPv6:2001:DB8::1]", "u@[ipv6:2001:db8::1]", 0 },
		{ "john . doe @ example . com", "john.doe@example.com", 0 },
		{ "\"a\" . \"b\"@x", "a.b@x", 0 },
		{ "abc..def.@docomo.ne.jp", "abc..def.@docomo.ne.jp", 0 },
		{ ", , a@b ,,", "a@b", 0 },
		{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
		  "[Pete]pete@silly.test", 0 },
		{ "((a(b)c)) x@y", "x@y", 0 },
		{ "\"a\r\n b\"@x", "a b@x", 0 },
	};
	check_lists(c, ARRAY_LEN(c), true);
}

static void test_list_empty_is_zero_addresses(void)
{
	static const struct list_case c[] = {
		{ "", "", 0 },
		{ "   (just a comment)  ", "", 0 },
		{ ",,", "", 0 },
	};
	check_lists(c, ARRAY_LEN(c), true);
}

static void test_list_errors(void)
{
	static const struct list_case c[] = {
		{ "garbage", "address without '@'", 0 },
		{ "john doe", "address without '@'", 0 },
		{ "a@", "missing domain", 0 },
		{ "a@.b", "missing domain", 0 },
		{ "@x", "missing local part", 0 },
		{ "john doe@x", "invalid local part", 0 },
		{ "\"a\"b@x", "invalid local part", 0 },
		{ "a@x.com b@y.com", "expected ',' between addresses", 0 },
		{ "x@good.com <y@evil.com>", "expected ',' between addresses", 0 },
		{ "<a@b>>", "expected ',' between addresses", 0 },
		{ "a@b;", "expected ',' between addresses", 0 },
		{ "a@b..c", "expected ',' between addresses", 0 },
		{ "\"unterminated@x", "unterminated quoted string", 0 },
		{ "\"a\\", "unterminated quoted string", 0 },
		{ "(unterminated x@y", "unterminated comment", 0 },
		{ "(a\\", "unterminated comment", 0 },
		{ "x@y (a (b)", "unterminated comment", 0 },
		{ "<x@y", "unterminated angle address", 0 },
		{ "Name <x@y", "unterminated angle address", 0 },
		{ "<x@y z>", "expected '>'", 0 },
		{ "<x>", "address without '@'", 0 },
		{ "x@[1.2.3.4", "unterminated domain literal", 0 },
		{ "x@[1.[2]", "'[' inside a domain literal", 0 },
		{ "<>", "empty address <>", 0 },
		{ "<@relay>", "invalid route in angle address", 0 },
		{ "<@>", "missing domain", 0 },
		{ "team: a@x", "group without ';'", 0 },
		{ "team:", "group without ';'", 0 },
		{ "team: a@x b@y;", "expected ',' or ';' after address", 0 },
		{ "a: b: c@d;;", "group inside a group", 0 },
		{ ": a@b;", "group without a name", 0 },
		{ "x@y)", "unbalanced ')'", 0 },
		{ "x@y]", "unbalanced ']'", 0 },
		{ "a\\b@c", "backslash outside quotes", 0 },
		{ "a\x01" "b@c", "invalid character", 0 },
		{ "a@b\x7f", "invalid character", 0 },
		{ ";", "expected an address", 0 },
		{ ">", "expected an address", 0 },
		{ ". <a@b>", "display name without a word", 0 },
		{ ". .", "address without '@'", 0 },
	};
	check_lists(c, ARRAY_LEN(c), false);
}

/* Parses s (len given) expecting an error; returns it ("" if none). */
static const char *list_error(const char *s, size_t len)
{
	struct arena *a = arena_new();
	struct addr_list l;
	const char *err = "";
	int rc = addr_list_parse(a, s, len, &l, &err);
	if (rc == 0)
		err = "";
	arena_free(&a);
	return err;
}

static void test_list_nul_bytes(void)
{
	T_EQ_STR(list_error("a\0b@c", 5), "NUL byte");
	T_EQ_STR(list_error("\"a\0\"@c", 6), "NUL byte");
	T_EQ_STR(list_error("(a\0) a@c", 8), "NUL byte");
	T_EQ_STR(list_error("(\\\0) a@c", 8), "NUL byte");
	T_EQ_STR(list_error("a@c\0", 4), "NUL byte");
}

static char *repeat(const char *s, size_t n)
{
	size_t l = strlen(s);
	char *r = malloc(l * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(r + i * l, s, l);
	r[l * n] = '\0';
	return r;
}

static void test_list_comment_depth_limit(void)
{
	char *open = repeat("(", 64), *close = repeat(")", 64);
	char s[200];
	snprintf(s, sizeof(s), "%sx%s a@b", open, close);
	T_EQ_STR(list_error(s, strlen(s)), "");
	snprintf(s, sizeof(s), "(%sx)%s a@b", open, close);
	T_EQ_STR(list_error(s, strlen(s)), "comments nested too deeply");
	free(open);
	free(close);
	/* a megabyte of '(' stops at the limit */
	char *deep = repeat("(", 1 << 20);
	T_EQ_STR(list_error(deep, 1 << 20), "comments nested too deeply");
	free(deep);
}

static void test_list_size_limits(void)
{
	char *many = repeat("a@b,", ADDR_MAX_LIST);
	T_EQ_STR(list_error(many, strlen(many)), "");
	free(many);
	many = repeat("a@b,", ADDR_MAX_LIST + 1);
	T_EQ_STR(list_error(many, strlen(many)), "too many addresses");
	free(many);
	many = repeat("g:;,", ADDR_MAX_LIST + 1);
	T_EQ_STR(list_error(many, strlen(many)), "too many groups");
	free(many);
	many = repeat("g:a@b;,", 600);
	T_EQ_STR(list_error(many, strlen(many)), "");
	free(many);

	char s[600];
	char *l = repeat("l", ADDR_MAX_LOCAL);
	snprintf(s, sizeof(s), "%s@x", l);
	T_EQ_STR(list_error(s, strlen(s)), "");
	snprintf(s, sizeof(s), "%sl@x", l);
	T_EQ_STR(list_error(s, strlen(s)), "local part too long");
	free(l);
	char *d = repeat("d", ADDR_MAX_DOMAIN);
	snprintf(s, sizeof(s), "x@%s", d);
	T_EQ_STR(list_error(s, strlen(s)), "");
	snprintf(s, sizeof(s), "x@%s.d", d);
	T_EQ_STR(list_error(s, strlen(s)), "domain too long");
	snprintf(s, sizeof(s), "x@[%s]", d + 2);
	T_EQ_STR(list_error(s, strlen(s)), "");
	snprintf(s, sizeof(s), "x@[%s]", d);
	T_EQ_STR(list_error(s, strlen(s)), "domain too long");
	free(d);

	/* a megabyte atom without '@', and a megabyte quoted string */
	char *big = repeat("a", 1 << 20);
	T_EQ_STR(list_error(big, 1 << 20), "address without '@'");
	big[0] = '"';
	T_EQ_STR(list_error(big, 1 << 20), "unterminated quoted string");
	free(big);
}

static void test_list_result_fields(void)
{
	struct arena *a = arena_new();
	struct addr_list l;
	const char *err = NULL;
	T_EQ_INT(addr_list_parse(a, "x@Y.org", 7, &l, &err), 0);
	T_EQ_INT(l.n, 1);
	T_CHECK(l.v[0].display == NULL);
	T_CHECK(l.v[0].group == NULL);
	T_EQ_STR(l.v[0].local, "x");
	T_EQ_STR(l.v[0].domain, "y.org");
	/* on error the list is empty */
	T_EQ_INT(addr_list_parse(a, "a@b, c", 6, &l, &err), -1);
	T_EQ_INT(l.n, 0);
	T_CHECK(l.v == NULL);
	arena_free(&a);
}

/* ---- paths ---- */

static void test_path(void)
{
	static const struct {
		const char *in;
		const char *want;	/* "local|domain" or the error */
	} c[] = {
		{ "<user@example.com>", "user|example.com" },
		{ "user@example.com", "user|example.com" },
		{ "<>", "|" },
		{ "<> SIZE=100", "|" },
		{ "<User@Example.COM> SIZE=100 BODY=8BITMIME", "User|example.com" },
		{ "user@example.com SIZE=1", "user|example.com" },
		{ "<@a.example,@b.example:user@c.example>", "user|c.example" },
		{ "<\"john doe\"@example.com>", "john doe|example.com" },
		{ "<\"a\\\"b\"@x>", "a\"b|x" },
		{ "<postmaster>", "postmaster|" },
		{ "  <a@b.c>  ", "a|b.c" },
		{ "<user@[192.0.2.1]>", "user|[192.0.2.1]" },
		{ "<user@example.com.>", "user|example.com" },
		{ "<a..b.@x>", "a..b.|x" },
		{ "", "empty path" },
		{ "   ", "empty path" },
		{ "<", "empty path" },
		{ "<user@example.com", "missing '>'" },
		{ "<user@>", "missing domain" },
		{ "<user@.>", "missing domain" },
		{ "<user@example.com>x", "garbage after path" },
		{ "user@example.com>", "garbage after path" },
		{ "<@a.example user@b>", "invalid source route" },
		{ "<\"abc>", "unterminated quoted string" },
		{ "<\"abc\\", "unterminated quoted string" },
		{ "<user@[1.2.3.4>", "unterminated address literal" },
		{ "<(x)@y>", "invalid local part" },
		{ "<a@b@c>", "missing '>'" },
		{ "<a b@c>", "missing '>'" },
	};
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		struct arena *a = arena_new();
		struct addr ad;
		const char *err = NULL;
		char *got;
		if (addr_parse_path(a, c[i].in, &ad, &err) == 0) {
			T_CHECK(ad.display == NULL && ad.group == NULL);
			got = arena_printf(a, "%s|%s", ad.local, ad.domain);
		} else {
			T_CHECK(ad.local == NULL && ad.domain == NULL);
			got = arena_strdup(a, err);
		}
		if (strcmp(got, c[i].want) != 0)
			t_fail(__FILE__, __LINE__, "'%s': got '%s', want '%s'",
			       c[i].in, got, c[i].want);
		arena_free(&a);
	}
}

static void test_path_limits(void)
{
	struct arena *a = arena_new();
	struct addr ad;
	const char *err = NULL;
	char *l = repeat("l", ADDR_MAX_LOCAL + 1), *d = repeat("d", ADDR_MAX_DOMAIN + 1);
	T_EQ_INT(addr_parse_path(a, arena_printf(a, "<%s@x>", l), &ad, &err), -1);
	T_EQ_STR(err, "local part too long");
	T_EQ_INT(addr_parse_path(a, arena_printf(a, "<x@%s>", d), &ad, &err), -1);
	T_EQ_STR(err, "domain too long");
	T_EQ_INT(addr_parse_path(a, arena_printf(a, "<%s@%s>", l + 1, d + 1), &ad, &err), 0);
	free(l);
	free(d);
	arena_free(&a);
}

/* ---- domains ---- */

static void test_domain_normalize(void)
{
	char *l63 = repeat("a", 63), *l64 = repeat("a", 64);
	/* 4 labels of 63 = 255 with dots; 61 in the last makes 253 */
	char *d253 = repeat("a", 253), *d254 = repeat("a", 254);
	for (size_t i = 63; i < 253; i += 64)
		d253[i] = d254[i] = '.';
	static const struct {
		const char *in;
		const char *want;	/* NULL: refused */
	} c[] = {
		{ "Example.COM", "example.com" },
		{ "example.com.", "example.com" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "_dmarc.Example.com", "_dmarc.example.com" },
		{ "a-b.c", "a-b.c" },
		{ "localhost", "localhost" },
		{ "", NULL },
		{ ".", NULL },
		{ "a..b", NULL },
		{ ".a", NULL },
		{ "a.b..", NULL },
		{ "b\xc3\xbc" "cher.example", NULL },
		{ "a b", NULL },
		{ "[192.0.2.1]", NULL },
		{ "a@b", NULL },
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		char *got = addr_domain_normalize(a, c[i].in, strlen(c[i].in));
		if (c[i].want == NULL)
			T_CHECK(got == NULL);
		else
			T_EQ_STR(got, c[i].want);
	}
	T_CHECK(addr_domain_normalize(a, l63, 63) != NULL);
	T_CHECK(addr_domain_normalize(a, l64, 64) == NULL);
	T_CHECK(addr_domain_normalize(a, d253, 253) != NULL);
	T_CHECK(addr_domain_normalize(a, d254, 254) == NULL);
	T_CHECK(addr_domain_normalize(a, "a\0b", 3) == NULL);
	/* only the given length counts */
	T_EQ_STR(addr_domain_normalize(a, "ABC.def", 3), "abc");
	arena_free(&a);
	free(l63);
	free(l64);
	free(d253);
	free(d254);
}

int main(void)
{
	T_RUN(test_list_dmarc_cases);
	T_RUN(test_list_forms);
	T_RUN(test_list_groups);
	T_RUN(test_list_obsolete_syntax);
	T_RUN(test_list_empty_is_zero_addresses);
	T_RUN(test_list_errors);
	T_RUN(test_list_nul_bytes);
	T_RUN(test_list_comment_depth_limit);
	T_RUN(test_list_size_limits);
	T_RUN(test_list_result_fields);
	T_RUN(test_path);
	T_RUN(test_path_limits);
	T_RUN(test_domain_normalize);
	return t_done();
}
