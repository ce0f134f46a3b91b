/*
 * Unit tests of lib/mail/psl.c: Debian's test_psl.txt cases (parsed at test time)
 * against the installed list, wildcard and exception rules of a small list,
 * Punycode conversion, and the load errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psl.h"
#include "t.h"

#define LIST "/usr/share/publicsuffix/public_suffix_list.dat"
#define CASES "/usr/share/doc/publicsuffix/examples/test_psl.txt"

static struct psl *load_list(void)
{
	char *err = NULL;
	struct psl *p = psl_load(LIST, &err);
	if (p == NULL)
		printf("# %s\n", err);
	free(err);
	return p;
}

/* One argument of checkPublicSuffix(): 'text' or null; returns the rest. */
static const char *js_arg(const char *s, char *out, size_t size, bool *null_r)
{
	while (*s == ' ' || *s == '(' || *s == ',')
		s++;
	*null_r = strncmp(s, "null", 4) == 0;
	if (*null_r)
		return s + 4;
	if (*s != '\'')
		return NULL;
	const char *end = strchr(s + 1, '\'');
	if (end == NULL || (size_t)(end - s) > size)
		return NULL;
	memcpy(out, s + 1, (size_t)(end - s - 1));
	out[end - s - 1] = '\0';
	return end + 1;
}

static void test_debian_test_psl_cases_pass(void)
{
	struct psl *p = load_list();
	FILE *f = fopen(CASES, "r");
	T_CHECK(p != NULL && f != NULL);
	if (p == NULL || f == NULL) {
		psl_list_free(&p);
		if (f != NULL)
			fclose(f);
		return;
	}
	char line[1024];
	int cases = 0;
	struct arena *a = arena_new();
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *s = strstr(line, "checkPublicSuffix(");
		if (s == NULL || strncmp(line, "//", 2) == 0)
			continue;
		char in[256], want[256];
		bool in_null, want_null;
		s = js_arg(s + strlen("checkPublicSuffix"), in, sizeof(in), &in_null);
		s = s != NULL ? js_arg(s, want, sizeof(want), &want_null) : NULL;
		T_CHECK(s != NULL);
		if (s == NULL)
			continue;
		cases++;
		const char *got = psl_org_domain(p, a, in_null ? NULL : in);
		if (want_null && got != NULL)
			t_fail(__FILE__, __LINE__, "%s: got %s, want null", in, got);
		else if (!want_null && (got == NULL || strcmp(got, want) != 0))
			t_fail(__FILE__, __LINE__, "%s: got %s, want %s", in, got ? got : "null",
			       want);
	}
	T_EQ_INT(cases, 78);	/* the lines not commented out */
	arena_free(&a);
	fclose(f);
	psl_list_free(&p);
}

static const char small_list[] =
	"// comment line\n"
	"com\n"
	"co.uk   trailing words are ignored\n"
	"uk\n"
	"*.ck\n"
	"!www.ck\n"
	"*.kawasaki.jp\n"
	"!city.kawasaki.jp\n"
	"jp\n"
	"github.io\r\n"
	"\n"
	"公司.cn\n"
	"cn\n";

struct org_case {
	const char *in, *want;	/* want NULL: a public suffix or a bad name */
};

static const struct org_case org_cases[] = {
	{ "example.com", "example.com" },
	{ "a.b.Example.COM", "example.com" },
	{ "example.com.", "example.com" },
	{ "com", NULL },
	{ "foo.co.uk", "foo.co.uk" },
	{ "x.foo.co.uk", "foo.co.uk" },
	{ "co.uk", NULL },
	{ "ck", NULL },
	{ "test.ck", NULL },		/* wildcard */
	{ "b.test.ck", "b.test.ck" },
	{ "www.ck", "www.ck" },		/* exception */
	{ "a.www.ck", "www.ck" },
	{ "x.kawasaki.jp", NULL },
	{ "city.kawasaki.jp", "city.kawasaki.jp" },
	{ "a.city.kawasaki.jp", "city.kawasaki.jp" },
	{ "a.b.kawasaki.jp", "a.b.kawasaki.jp" },
	{ "me.github.io", "me.github.io" },
	{ "you.me.github.io", "me.github.io" },
	{ "github.io", NULL },
	{ "unlisted", NULL },		/* the implicit "*" rule */
	{ "a.unlisted", "a.unlisted" },
	{ "食狮.公司.cn", "食狮.公司.cn" },
	{ "www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn" },
	{ "xn--55qx5d.cn", NULL },
	{ "", NULL },
	{ ".", NULL },
	{ ".example.com", NULL },
	{ "a..example.com", NULL },
	{ "example..", NULL },
	{ "\xff.example.com", NULL },	/* not UTF-8 */
};

static void test_wildcards_exceptions_and_idn_of_a_small_list(void)
{
	char *err = NULL;
	struct psl *p = psl_parse("small", small_list, strlen(small_list), &err);
	T_CHECK(p != NULL);
	if (p == NULL) {
		printf("# %s\n", err);
		free(err);
		return;
	}
	T_EQ_INT(psl_rule_count(p), 11);
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(org_cases); i++) {
		const char *got = psl_org_domain(p, a, org_cases[i].in);
		const char *want = org_cases[i].want;
		if ((want == NULL) != (got == NULL) || (want != NULL && strcmp(want, got) != 0))
			t_fail(__FILE__, __LINE__, "%s: got %s, want %s", org_cases[i].in,
			       got ? got : "null", want ? want : "null");
	}
	arena_free(&a);
	psl_list_free(&p);
}

static void test_very_long_and_many_label_names_are_refused(void)
{
	struct psl *p = psl_parse("l", "com\n", 4, &(char *){ NULL });
	struct arena *a = arena_new();
	char name[2100];
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	T_CHECK(psl_org_domain(p, a, name) == NULL);
	for (size_t i = 1; i < 400; i += 2)
		name[i] = '.';
	name[400] = '\0';
	T_CHECK(psl_org_domain(p, a, name) == NULL);	/* 200 labels */
	arena_free(&a);
	psl_list_free(&p);
}

struct puny_case {
	const char *in, *want;
};

static const struct puny_case puny_cases[] = {
	{ "食狮.com.cn", "xn--85x722f.com.cn" },
	{ "公司", "xn--55qx5d" },
	{ "中国", "xn--fiqs8s" },
	{ "aéroport.ci", "xn--aroport-bya.ci" },
	{ "Bücher.DE.", "xn--bcher-kva.de" },
	{ "plain.example", "plain.example" },
};

static void test_to_ascii_encodes_punycode(void)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(puny_cases); i++) {
		const char *got = psl_to_ascii(a, puny_cases[i].in);
		T_EQ_STR(got, puny_cases[i].want);
	}
	T_CHECK(psl_to_ascii(a, "\xc0\x80.com") == NULL);	/* overlong */
	T_CHECK(psl_to_ascii(a, "\xed\xa0\x80.com") == NULL);	/* surrogate */
	T_CHECK(psl_to_ascii(a, "\xe4\xb8") == NULL);		/* truncated */
	arena_free(&a);
}

struct bad_list {
	const char *text, *error;
};

static const struct bad_list bad_lists[] = {
	{ "com\n..uk\n", "bad:2: empty label in rule" },
	{ "com\nfoo.\n", "bad:2: empty label in rule" },
	{ "\xff\xfe\n", "bad:1: rule is not a valid UTF-8 domain name" },
	{ "// only comments\n\n", "bad:2: no rules in the list" },
};

static void test_bad_lists_are_errors_with_the_line(void)
{
	for (size_t i = 0; i < ARRAY_LEN(bad_lists); i++) {
		char *err = NULL;
		struct psl *p = psl_parse("bad", bad_lists[i].text, strlen(bad_lists[i].text), &err);
		T_CHECK(p == NULL);
		T_EQ_STR(err, bad_lists[i].error);
		free(err);
		psl_list_free(&p);
	}
	char *big = malloc(PSL_MAX_LINE + 10);
	memset(big, 'a', PSL_MAX_LINE + 9);
	big[PSL_MAX_LINE + 9] = '\0';
	char *err = NULL;
	T_CHECK(psl_parse("big", big, strlen(big), &err) == NULL);
	T_EQ_STR(err, "big:1: line too long");
	free(err);
	free(big);
}

static void test_unreadable_file_error_names_it(void)
{
	char *err = NULL;
	T_CHECK(psl_load("/nonexistent/psl.dat", &err) == NULL);
	T_CHECK(err != NULL && strncmp(err, "/nonexistent/psl.dat: ", 22) == 0);
	free(err);
}

int main(void)
{
	T_RUN(test_debian_test_psl_cases_pass);
	T_RUN(test_wildcards_exceptions_and_idn_of_a_small_list);
	T_RUN(test_very_long_and_many_label_names_are_refused);
	T_RUN(test_to_ascii_encodes_punycode);
	T_RUN(test_bad_lists_are_errors_with_the_line);
	T_RUN(test_unreadable_file_error_names_it);
	return t_done();
}
