/*
 * Tests of lib/mail/ar.c: finding the authserv-id of an Authentication-Results
 * value, comparing it with ours, and checking our own id.
 */
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "arena.h"
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

int main(void)
{
	T_RUN(test_authserv_id_extracted);
	T_RUN(test_authserv_id_nul_and_length);
	T_RUN(test_authserv_id_is);
	T_RUN(test_authserv_id_valid);
	return t_done();
}
