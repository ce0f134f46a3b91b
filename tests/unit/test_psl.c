/*
 * Unit tests of lib/mail/psl.c: Debian's test_psl.txt cases (parsed at test time)
 * against the installed list (and its DAFSA form), wildcard and exception
 * rules of a small list, A-label conversion, the load errors, and what
 * libpsl accepts without an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psl.h"
#include "t.h"

#define LIST "/usr/share/publicsuffix/public_suffix_list.dat"
#define CASES "/usr/share/doc/publicsuffix/examples/test_psl.txt"
#define DAFSA "/usr/share/publicsuffix/public_suffix_list.dafsa"

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
	{ "BÜCHER.de", "xn--bcher-kva.de" },		/* UTS #46 maps case */
	{ "ａｂｃ.com", "abc.com" },			/* and width */
	{ "食狮。公司。cn", "xn--85x722f.xn--55qx5d.cn" },	/* and dots */
	{ "faß.de", "xn--fa-hia.de" },			/* non-transitional */
	{ "r3---sn-x.googlevideo.com", "r3---sn-x.googlevideo.com" },	/* ASCII as is */
	{ "_dmarc.Bücher.de", "_dmarc.xn--bcher-kva.de" },
	{ "xn--zz.example", "xn--zz.example" },	/* a fake A-label is DNS's business */
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
	/* IDNA2008 refuses these U-labels (RFC 5892 DISALLOWED, CONTEXTJ) */
	T_CHECK(psl_to_ascii(a, "\xf0\x9f\x98\x80.ws") == NULL);	/* an emoji */
	T_CHECK(psl_to_ascii(a, "a\xe2\x80\x8d" "b.com") == NULL);	/* ZWJ */
	arena_free(&a);
}

struct bad_list {
	const char *text, *error;
};

static const struct bad_list bad_lists[] = {
	{ "// only comments\n\n", "bad: no rules in the list" },
	{ "", "bad: no rules in the list" },
};

static void test_lists_without_rules_are_errors_naming_the_file(void)
{
	for (size_t i = 0; i < ARRAY_LEN(bad_lists); i++) {
		char *err = NULL;
		struct psl *p = psl_parse("bad", bad_lists[i].text, strlen(bad_lists[i].text), &err);
		T_CHECK(p == NULL);
		T_EQ_STR(err, bad_lists[i].error);
		free(err);
		psl_list_free(&p);
	}
}

static void test_lists_over_the_limits_are_errors(void)
{
	char *err = NULL;
	char *big = calloc(1, PSL_MAX_FILE + 1);
	T_CHECK(psl_parse("big", big, PSL_MAX_FILE + 1, &err) == NULL);
	T_CHECK(err != NULL && strncmp(err, "big: larger than ", 17) == 0);
	free(err);
	memset(big, '\n', PSL_MAX_LINES + 1);
	T_CHECK(psl_parse("long", big, PSL_MAX_LINES + 1, &err) == NULL);
	T_CHECK(err != NULL && strncmp(err, "long: more than ", 16) == 0);
	free(err);
	free(big);
}

/*
 * libpsl reports no syntax error (see psl.h): each list below loads, and
 * its malformed "co.uk" matches nothing (a.b.co.uk would give b.co.uk).
 */
static const char *const lenient_lists[] = {
	"..co.uk\ncom\n", ".co.uk\ncom\n", "co..uk\ncom\n", "co.uk.\ncom\n",
	"CO.UK\ncom\n", "\xff.co.uk\ncom\n",
};

static void test_malformed_rules_load_and_match_nothing(void)
{
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(lenient_lists); i++) {
		char *err = NULL;
		struct psl *p = psl_parse("lenient", lenient_lists[i], strlen(lenient_lists[i]), &err);
		T_CHECK(p != NULL && err == NULL);
		if (p == NULL) {
			free(err);
			continue;
		}
		T_EQ_INT(psl_rule_count(p), 2);
		T_EQ_STR(psl_org_domain(p, a, "a.b.co.uk"), "co.uk");
		T_EQ_STR(psl_org_domain(p, a, "a.b.com"), "b.com");
		psl_list_free(&p);
	}
	arena_free(&a);
}

static void test_unreadable_file_error_names_it(void)
{
	char *err = NULL;
	T_CHECK(psl_load("/nonexistent/psl.dat", &err) == NULL);
	T_CHECK(err != NULL && strncmp(err, "/nonexistent/psl.dat: ", 22) == 0);
	free(err);
	err = NULL;
	T_CHECK(psl_load("/", &err) == NULL);
	T_EQ_STR(err, "/: not a regular file");
	free(err);
}

/* libpsl also reads its binary form, which Debian ships beside the text. */
static void test_debian_dafsa_list_gives_the_same_answers(void)
{
	char *err = NULL;
	struct psl *p = psl_load(DAFSA, &err);
	struct psl *text = load_list();
	T_CHECK(p != NULL && text != NULL);
	if (p == NULL || text == NULL) {
		printf("# %s\n", err ? err : "");
		free(err);
		psl_list_free(&p);
		psl_list_free(&text);
		return;
	}
	T_EQ_INT(psl_rule_count(p), 0);	/* a DAFSA does not say */
	struct arena *a = arena_new();
	static const char *const names[] = {
		"a.b.example.co.uk", "foo.github.io", "github.io", "b.c.mm", "c.mm",
		"a.www.ck", "www.xn--85x722f.xn--55qx5d.cn", "a.unlisted", "unlisted",
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		const char *want = psl_org_domain(text, a, names[i]);
		const char *got = psl_org_domain(p, a, names[i]);
		if ((want == NULL) != (got == NULL) || (want != NULL && strcmp(want, got) != 0))
			t_fail(__FILE__, __LINE__, "%s: got %s, want %s", names[i],
			       got ? got : "null", want ? want : "null");
	}
	arena_free(&a);
	psl_list_free(&p);
	psl_list_free(&text);
}

int main(void)
{
	T_RUN(test_debian_test_psl_cases_pass);
	T_RUN(test_wildcards_exceptions_and_idn_of_a_small_list);
	T_RUN(test_very_long_and_many_label_names_are_refused);
	T_RUN(test_to_ascii_encodes_punycode);
	T_RUN(test_lists_without_rules_are_errors_naming_the_file);
	T_RUN(test_lists_over_the_limits_are_errors);
	T_RUN(test_malformed_rules_load_and_match_nothing);
	T_RUN(test_unreadable_file_error_names_it);
	T_RUN(test_debian_dafsa_list_gives_the_same_answers);
	return t_done();
}
