/*
 * Tests for lib/util/dataset.c and lib/mail/keytable.c: the data set forms, KeyTable
 * and SigningTable syntax and errors, OpenDKIM's lookup order for file:
 * tables, refile: patterns, "%" substitution, MultipleSignatures, the
 * algorithm field, the single-key form and the key file safety check.
 * Fixtures in OpenDKIM's syntax live in tests/unit/data/keytable/; files
 * a test needs to create (long lines, key files) go to a private folder
 * under /tmp, removed at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "dataset.h"
#include "keytable.h"
#include "log.h"
#include "t.h"
#include "xalloc.h"

/*
 * The fixture folder: tests/unit/data/keytable beside this file, as an
 * absolute path (a bare relative name would be read as a csl: list).
 */
static char *data_path(const char *name)
{
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	struct buf b;
	buf_init(&b, 0);
	if (file[0] != '/') {
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)) != NULL)
			buf_printf(&b, "%s/", cwd);
	}
	if (slash != NULL)
		buf_append(&b, file, (size_t)(slash - file + 1));
	buf_printf(&b, "data/keytable/%s", name);
	return buf_steal(&b);
}

static char *spec_of(const char *prefix, const char *name)
{
	char *path = data_path(name);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s%s", prefix, path);
	free(path);
	return buf_steal(&b);
}

static bool contains(const char *s, const char *part)
{
	return s != NULL && strstr(s, part) != NULL;
}

#define T_CONTAINS(s, part)                                                 \
	do {                                                                \
		const char *t_s_ = (s);                                     \
		if (!contains(t_s_, (part)))                                \
			t_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
			       t_s_ ? t_s_ : "(null)", (part));             \
	} while (0)

/* A private scratch folder for files a test writes. */
static char scratch[64];

static char *scratch_file(const char *name, const char *text, mode_t mode)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s/%s", scratch, name);
	FILE *f = fopen(b.p, "w");
	T_CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	T_CHECK(chmod(b.p, mode) == 0);
	return buf_steal(&b);
}

static struct keytable *fixture_keytable(void)
{
	char *spec = spec_of("file:", "keytable");
	char *error = NULL;
	struct keytable *kt = keytable_load(spec, &error);
	T_CHECK(kt != NULL);
	if (error != NULL)
		t_fail(__FILE__, __LINE__, "%s", error);
	free(error);
	free(spec);
	return kt;
}

static struct signtable *load_st(const char *prefix, const char *name, const struct keytable *kt)
{
	char *spec = spec_of(prefix, name);
	char *error = NULL;
	struct signtable *st = signtable_load(spec, kt, &error);
	T_CHECK(st != NULL);
	if (error != NULL)
		t_fail(__FILE__, __LINE__, "%s", error);
	free(error);
	free(spec);
	return st;
}

/*
 * Runs a lookup and describes the result: key names joined by ",", "-" for
 * no key, "ERR: words" for an error.  The text is valid until the next call.
 */
static const char *describe(const struct signtable *st, const struct keytable *kt,
			    const char *local, const char *domain, bool multiple)
{
	static char out[1024];
	struct arena *a = arena_new();
	struct signing_key keys[KEYTABLE_MAX_SIGNATURES];
	const char *error = NULL;
	int n = signtable_lookup(st, kt, local, domain, multiple, a, keys, ARRAY_LEN(keys), &error);
	if (n < 0) {
		snprintf(out, sizeof(out), "ERR: %s", error);
	} else if (n == 0) {
		snprintf(out, sizeof(out), "-");
	} else {
		out[0] = '\0';
		for (int i = 0; i < n; i++) {
			if (i > 0)
				strcat(out, ",");
			strncat(out, keys[i].name, sizeof(out) - strlen(out) - 2);
		}
	}
	arena_free(&a);
	return out;
}

/* ---- data sets ---- */

static void test_dataset_forms_pick_the_type(void)
{
	char *file = data_path("keytable");
	char *file_spec = spec_of("file:", "keytable");
	char *refile_spec = spec_of("refile:", "signingtable.re");
	static const struct {
		const char *spec;	/* NULL: the fixture specs above */
		enum dataset_type type;
		size_t n;
	} cases[] = {
		{ "csl:a=1,b=2", DATASET_CSL, 2 },
		{ "a, b ,c", DATASET_CSL, 3 },
		{ "csl:", DATASET_CSL, 0 },
		{ "csl:a,,b,", DATASET_CSL, 2 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct dataset *ds = dataset_load("T", cases[i].spec, &error);
		T_CHECK(ds != NULL);
		if (ds != NULL) {
			T_EQ_INT(ds->type, cases[i].type);
			T_EQ_INT(ds->n, cases[i].n);
		}
		dataset_free(&ds);
		free(error);
	}
	const char *paths[] = { file, file_spec, refile_spec };
	const enum dataset_type types[] = { DATASET_FILE, DATASET_FILE, DATASET_REFILE };
	for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
		char *error = NULL;
		struct dataset *ds = dataset_load("T", paths[i], &error);
		T_CHECK(ds != NULL && ds->type == types[i] && ds->n > 0);
		dataset_free(&ds);
		free(error);
	}
	free(file);
	free(file_spec);
	free(refile_spec);
}

static void test_dataset_splits_key_value_comments_blank_lines(void)
{
	const char *text = "# comment\r\n\n  key1   value one  \r\n"
			   "key2\t\tv2 # trailing comment\nkeyonly\n   # only comment\nlast v";
	char *error = NULL;
	struct dataset *ds = dataset_parse("T", DATASET_FILE, "t", text, strlen(text), &error);
	T_CHECK(ds != NULL);
	if (ds == NULL)
		return;
	T_EQ_INT(ds->n, 4);
	T_EQ_STR(ds->v[0].key, "key1");
	T_EQ_STR(ds->v[0].value, "value one");
	T_EQ_INT(ds->v[0].line, 3);
	T_EQ_STR(ds->v[1].value, "v2");
	T_EQ_STR(ds->v[2].key, "keyonly");
	T_CHECK(ds->v[2].value == NULL);
	T_EQ_STR(ds->v[3].key, "last");
	T_EQ_INT(ds->v[3].line, 7);
	dataset_free(&ds);
}

static void test_dataset_csl_splits_at_first_equals(void)
{
	const char *text = " k1 = a:b=c , k2=, k3";
	char *error = NULL;
	struct dataset *ds = dataset_parse("T", DATASET_CSL, "csl", text, strlen(text), &error);
	T_CHECK(ds != NULL && ds->n == 3);
	if (ds == NULL || ds->n != 3)
		return;
	T_EQ_STR(ds->v[0].key, "k1");
	T_EQ_STR(ds->v[0].value, "a:b=c");
	T_EQ_STR(ds->v[1].value, "");
	T_CHECK(ds->v[2].value == NULL);
	T_EQ_INT(ds->v[2].line, 3);
	dataset_free(&ds);
}

static void test_dataset_refuses_database_forms(void)
{
	static const char *const specs[] = {
		"db:/etc/dkim/keys.db", "dsn:mysql://u:p@3306+h/db/table=t?keycol=k?datacol=v",
		"ldap://ldap.example.com/dc=example,dc=com", "ldaps://h/", "lua:/etc/t.lua",
		"memcache:localhost/x", "/etc/dkim/keytable.db", "keytable.db",
	};
	for (size_t i = 0; i < ARRAY_LEN(specs); i++) {
		char *error = NULL;
		struct dataset *ds = dataset_load("KeyTable", specs[i], &error);
		T_CHECK(ds == NULL);
		T_CONTAINS(error, "KeyTable: ");
		T_CONTAINS(error, "not supported by cachet");
		dataset_free(&ds);
		free(error);
	}
}

static void test_dataset_missing_file_names_it(void)
{
	static const char *const specs[] = {
		"file:/nonexistent/keytable", "/nonexistent/keytable", "refile:/nonexistent/keytable",
	};
	for (size_t i = 0; i < ARRAY_LEN(specs); i++) {
		char *error = NULL;
		struct dataset *ds = dataset_load("KeyTable", specs[i], &error);
		T_CHECK(ds == NULL);
		T_CONTAINS(error, "KeyTable /nonexistent/keytable: cannot open");
		free(error);
	}
	char *error = NULL;
	T_CHECK(dataset_load("KeyTable", "file:", &error) == NULL);
	T_CONTAINS(error, "no file name");
	free(error);
	error = NULL;
	T_CHECK(dataset_load("KeyTable", "file:/", &error) == NULL);
	T_CONTAINS(error, "not a regular file");
	free(error);
}

static void test_dataset_too_long_line_is_an_error(void)
{
	struct buf text;
	buf_init(&text, 0);
	buf_puts(&text, "short example.com:s:/k\nlong ");
	for (int i = 0; i < DATASET_MAX_LINE; i++)
		buf_putc(&text, 'x');
	buf_puts(&text, "\n");
	char *path = scratch_file("long", text.p, 0600);
	buf_free(&text);
	char *error = NULL;
	struct keytable *kt = keytable_load(path, &error);
	T_CHECK(kt == NULL);
	T_CONTAINS(error, ":2: line longer than 8192 bytes");
	T_CONTAINS(error, path);
	free(error);
	unlink(path);
	free(path);
}

static void test_dataset_limits_key_length_and_nul(void)
{
	struct buf text;
	buf_init(&text, 0);
	for (int i = 0; i <= DATASET_MAX_KEY; i++)
		buf_putc(&text, 'k');
	buf_puts(&text, " v\n");
	char *error = NULL;
	T_CHECK(dataset_parse("T", DATASET_FILE, "t", text.p, text.len, &error) == NULL);
	T_CONTAINS(error, "T t:1: key longer than 1024 bytes");
	free(error);
	buf_free(&text);
	error = NULL;
	T_CHECK(dataset_parse("T", DATASET_FILE, "t", "a b\nc\0d e\n", 10, &error) == NULL);
	T_CONTAINS(error, "T t:2: NUL byte");
	free(error);
	error = NULL;
	T_CHECK(dataset_parse("T", DATASET_CSL, "csl", "a=1,=2", 6, &error) == NULL);
	T_CONTAINS(error, "T csl entry 2: expected KEY=VALUE");
	free(error);
}

/* ---- KeyTable ---- */

static void test_keytable_fixture_fields(void)
{
	struct keytable *kt = fixture_keytable();
	if (kt == NULL)
		return;
	static const struct {
		const char *name, *domain, *selector, *key;
		bool is_file;
		enum keytable_alg alg;
	} cases[] = {
		{ "rsa-example", "example.com", "s2024", "/etc/dkim/example.com.rsa.private",
		  true, KEYTABLE_ALG_AUTO },
		{ "ed-example", "example.com", "e2024", "/etc/dkim/example.com.ed25519.private",
		  true, KEYTABLE_ALG_ED25519_SHA256 },
		{ "sub-example", "example.com", "sub", "./keys/sub.example.com.private",
		  true, KEYTABLE_ALG_AUTO },
		{ "any-domain", "%", "mail", "/etc/dkim/keys/%.private", true, KEYTABLE_ALG_AUTO },
		{ "example.net", "example.net", "net", "../dkim/example.net.private",
		  true, KEYTABLE_ALG_RSA_SHA256 },
		{ "inline-key", "example.org", "inline",
		  "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA", false, KEYTABLE_ALG_AUTO },
	};
	T_EQ_INT(keytable_count(kt), ARRAY_LEN(cases));
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const struct keytable_entry *e = keytable_find(kt, cases[i].name);
		T_CHECK(e != NULL);
		if (e == NULL)
			continue;
		T_CHECK(e == keytable_entry_at(kt, i));
		T_EQ_STR(e->domain, cases[i].domain);
		T_EQ_STR(e->selector, cases[i].selector);
		T_EQ_STR(e->key, cases[i].key);
		T_EQ_INT(e->key_is_file, cases[i].is_file);
		T_EQ_INT(e->alg, cases[i].alg);
	}
	T_CHECK(keytable_find(kt, "RSA-EXAMPLE") == NULL);	/* names are case-sensitive */
	T_CHECK(keytable_find(kt, "nope") == NULL);
	keytable_free(&kt);
	T_CHECK(kt == NULL);
}

static void test_keytable_errors_name_line_and_problem(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "a example.com:s1:/k\nb\n", "KeyTable t:2: expected DOMAIN:SELECTOR:KEYPATH after 'b'" },
		{ "a example.com\n", "KeyTable t:1: expected DOMAIN:SELECTOR:KEYPATH after 'a'" },
		{ "a example.com:s1\n", "expected DOMAIN:SELECTOR:KEYPATH" },
		{ "a :s1:/k\n", "domain '' is empty" },
		{ "a exa mple.com:s1:/k\n", "domain 'exa mple.com' holds a character" },
		{ "a ex/ample.com:s1:/k\n", "domain 'ex/ample.com' holds a character" },
		{ "a example..com:s1:/k\n", "has an empty label" },
		{ "a example.com::/k\n", "selector '' is empty" },
		{ "a example.com:s 1:/k\n", "selector 's 1' holds a character" },
		{ "a example.com:s1:\n", "KEYPATH is empty" },
		{ "a example.com:s1:keys/a.private\n", "must start with '/', './' or '../'" },
		{ "a example.com:s1:/k:rsa-sha1\n", "rsa-sha1 may not be used" },
		{ "a example.com:s1:/k:ed25519-sha256:x\n", NULL },	/* a file named so */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct keytable *kt = keytable_parse(DATASET_FILE, "t", cases[i].text,
						     strlen(cases[i].text), &error);
		if (cases[i].error == NULL) {
			T_CHECK(kt != NULL);
		} else {
			T_CHECK(kt == NULL);
			T_CONTAINS(error, cases[i].error);
		}
		keytable_free(&kt);
		free(error);
	}
}

static void test_keytable_file_errors_name_file_and_line(void)
{
	char *spec = spec_of("", "keytable-bad-line");
	char *error = NULL;
	T_CHECK(keytable_load(spec, &error) == NULL);
	T_CONTAINS(error, "KeyTable ");
	T_CONTAINS(error, "keytable-bad-line:3: expected DOMAIN:SELECTOR:KEYPATH after 'bad'");
	free(error);
	free(spec);
	error = NULL;
	T_CHECK(keytable_load("refile:/etc/whatever", &error) == NULL);
	T_CONTAINS(error, "cannot open");
	free(error);
	char *re = spec_of("refile:", "keytable");
	error = NULL;
	T_CHECK(keytable_load(re, &error) == NULL);
	T_CONTAINS(error, "refile: is for a SigningTable");
	free(error);
	free(re);
}

static void test_keytable_csl_form(void)
{
	char *error = NULL;
	struct keytable *kt = keytable_load("csl:k1=example.com:s1:/k1, k2=%:s2:/k/%.pem:rsa-sha256",
					    &error);
	T_CHECK(kt != NULL);
	if (kt == NULL)
		return;
	T_EQ_INT(keytable_count(kt), 2);
	const struct keytable_entry *e = keytable_find(kt, "k2");
	T_CHECK(e != NULL && strcmp(e->key, "/k/%.pem") == 0 && e->alg == KEYTABLE_ALG_RSA_SHA256);
	keytable_free(&kt);
	T_CHECK(keytable_load("csl:k1=example.com:s1", &error) == NULL);
	T_CONTAINS(error, "KeyTable csl entry 1: expected DOMAIN:SELECTOR:KEYPATH");
	free(error);
}

static void test_keytable_duplicate_name_first_wins(void)
{
	const char *text = "k example.com:first:/k1\nother example.com:o:/o\nk example.com:second:/k2\n";
	char *error = NULL;
	struct keytable *kt = keytable_parse(DATASET_FILE, "t", text, strlen(text), &error);
	T_CHECK(kt != NULL);
	if (kt == NULL)
		return;
	T_EQ_INT(keytable_count(kt), 2);
	T_EQ_STR(keytable_find(kt, "k")->selector, "first");
	T_EQ_STR(keytable_find(kt, "other")->selector, "o");
	keytable_free(&kt);
}

static void test_keytable_alg_field(void)
{
	static const struct {
		const char *value;
		enum keytable_alg alg;
		const char *key;
	} cases[] = {
		{ "example.com:s:/k", KEYTABLE_ALG_AUTO, "/k" },
		{ "example.com:s:/k:rsa-sha256", KEYTABLE_ALG_RSA_SHA256, "/k" },
		{ "example.com:s:/k:ed25519-sha256", KEYTABLE_ALG_ED25519_SHA256, "/k" },
		{ "example.com:s:/k:ED25519-SHA256", KEYTABLE_ALG_ED25519_SHA256, "/k" },
		/* OpenDKIM reads all after the second colon as KEY: keep that */
		{ "example.com:s:/k:v2", KEYTABLE_ALG_AUTO, "/k:v2" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char text[128];
		snprintf(text, sizeof(text), "name %s\n", cases[i].value);
		char *error = NULL;
		struct keytable *kt = keytable_parse(DATASET_FILE, "t", text, strlen(text), &error);
		T_CHECK(kt != NULL);
		if (kt != NULL) {
			T_EQ_INT(keytable_find(kt, "name")->alg, cases[i].alg);
			T_EQ_STR(keytable_find(kt, "name")->key, cases[i].key);
		}
		keytable_free(&kt);
		free(error);
	}
	T_EQ_STR(keytable_alg_name(KEYTABLE_ALG_ED25519_SHA256), "ed25519-sha256");
	T_CHECK(keytable_alg_name(KEYTABLE_ALG_AUTO) == NULL);
}

/* ---- SigningTable ---- */

static void test_signtable_unknown_key_name_fails_at_load(void)
{
	struct keytable *kt = fixture_keytable();
	char *spec = spec_of("file:", "signingtable-unknown-key");
	char *error = NULL;
	T_CHECK(signtable_load(spec, kt, &error) == NULL);
	T_CONTAINS(error, "SigningTable ");
	T_CONTAINS(error, "signingtable-unknown-key:3: key name 'no-such-key' is not in the KeyTable");
	free(error);
	free(spec);
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "example.com\n", "SigningTable t:1: expected a KeyTable key name after 'example.com'" },
		{ "a rsa-example\nb :signer@b\n", "SigningTable t:2: expected a KeyTable key name" },
		{ "a RSA-EXAMPLE\n", "key name 'RSA-EXAMPLE' is not in the KeyTable" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		error = NULL;
		T_CHECK(signtable_parse(DATASET_FILE, "t", cases[i].text, strlen(cases[i].text),
					kt, &error) == NULL);
		T_CONTAINS(error, cases[i].error);
		free(error);
	}
	error = NULL;
	T_CHECK(signtable_load("csl:example.com=rsa-example,example.org=gone", kt, &error) == NULL);
	T_CONTAINS(error, "SigningTable csl entry 2: key name 'gone' is not in the KeyTable");
	free(error);
	error = NULL;
	T_CHECK(signtable_load("dsn:mysql://x", kt, &error) == NULL);
	T_CONTAINS(error, "SigningTable: data set type \"dsn\" is not supported");
	free(error);
	keytable_free(&kt);
}

/* The fixture signingtable: file: lookups in OpenDKIM's order. */
static void test_signtable_file_lookup_order(void)
{
	struct keytable *kt = fixture_keytable();
	struct signtable *st = load_st("file:", "signingtable", kt);
	if (kt == NULL || st == NULL)
		return;
	static const struct {
		const char *local, *domain;
		bool multiple;
		const char *want;
	} cases[] = {
		/* full address first */
		{ "ceo", "example.com", false, "rsa-example" },
		{ "CEO", "Example.COM", false, "rsa-example" },
		/* then the domain; two lines, first one without MultipleSignatures */
		{ "bob", "example.com", false, "rsa-example" },
		{ "bob", "example.com", true, "rsa-example,ed-example,any-domain" },
		/* ceo matches address, domain (rsa again, dropped), ed, then "*" */
		{ "ceo", "example.com", true, "rsa-example,ed-example,any-domain" },
		/* a subdomain: ".example.com" (parent), never the domain itself */
		{ "bob", "mail.example.com", false, "sub-example" },
		{ "bob", "a.b.example.com", true, "sub-example,any-domain" },
		/* user@* comes after the parents, before "*" */
		{ "postmaster", "example.org", false, "any-domain" },
		{ "postmaster", "mail.example.com", true, "sub-example,any-domain" },
		/* "%" key name: the KeyTable entry named like the domain */
		{ "x", "example.net", false, "example.net" },
		{ "x", "EXAMPLE.net.", false, "example.net" },
		/* "*" catches the rest */
		{ "someone", "elsewhere.test", false, "any-domain" },
		{ "", "elsewhere.test", false, "any-domain" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *got = describe(st, kt, cases[i].local, cases[i].domain, cases[i].multiple);
		if (strcmp(got, cases[i].want) != 0)
			t_fail(__FILE__, __LINE__, "%s@%s%s: got %s, want %s", cases[i].local,
			       cases[i].domain, cases[i].multiple ? " (multiple)" : "", got,
			       cases[i].want);
	}
	signtable_free(&st);
	T_CHECK(st == NULL);
	keytable_free(&kt);
}

/* user@.P and .P alternate per parent, nearest parent first (opendkim.c). */
static void test_signtable_parent_domains_interleave(void)
{
	const char *keys = "k1 example.com:a:/1\nk2 example.com:b:/2\nk3 example.com:c:/3\n"
			   "k4 example.com:d:/4\nk5 example.com:e:/5\n";
	const char *sign = "*  k5\n.com k4\nuser@.com k3\n.example.com k2\nuser@.example.com k1\n";
	char *error = NULL;
	struct keytable *kt = keytable_parse(DATASET_FILE, "k", keys, strlen(keys), &error);
	struct signtable *st = kt == NULL ? NULL
			     : signtable_parse(DATASET_FILE, "s", sign, strlen(sign), kt, &error);
	T_CHECK(st != NULL);
	if (st != NULL) {
		T_EQ_STR(describe(st, kt, "user", "a.example.com", true), "k1,k2,k3,k4,k5");
		T_EQ_STR(describe(st, kt, "other", "a.example.com", true), "k2,k4,k5");
		T_EQ_STR(describe(st, kt, "user", "example.com", true), "k3,k4,k5");
		T_EQ_STR(describe(st, kt, "user", "localhost", true), "k5");
	}
	signtable_free(&st);
	keytable_free(&kt);
	free(error);
}

static void test_signtable_refile_first_match_and_multiple(void)
{
	struct keytable *kt = fixture_keytable();
	struct signtable *st = load_st("refile:", "signingtable.re", kt);
	if (kt == NULL || st == NULL)
		return;
	static const struct {
		const char *local, *domain;
		bool multiple;
		const char *want;
	} cases[] = {
		{ "ceo", "example.com", false, "rsa-example" },
		{ "ceo", "example.com", true, "rsa-example,ed-example,any-domain" },
		{ "Bob", "EXAMPLE.com", false, "rsa-example" },
		{ "bob", "example.com", true, "rsa-example,ed-example,any-domain" },
		{ "bob", "mail.example.com", false, "sub-example" },
		{ "bob", "notexample.com", false, "any-domain" },
		{ "bob", "example.com.evil.test", false, "any-domain" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *got = describe(st, kt, cases[i].local, cases[i].domain, cases[i].multiple);
		if (strcmp(got, cases[i].want) != 0)
			t_fail(__FILE__, __LINE__, "%s@%s: got %s, want %s", cases[i].local,
			       cases[i].domain, got, cases[i].want);
	}
	signtable_free(&st);
	keytable_free(&kt);
}

static void test_signtable_refile_patterns(void)
{
	static const struct {
		const char *pattern, *addr;
		bool match;
	} cases[] = {
		{ "*", "a@b.c", true },
		{ "*@example.com", "x@example.com", true },
		{ "*@example.com", "x@sub.example.com", false },
		{ "*example.com", "x@sub.example.com", true },
		{ "a*b*c@d", "aXXbYYc@d", true },
		{ "a*b*c@d", "acb@d", false },
		{ "*@*.*", "u@h.t", true },
		{ "user+tag@x.org", "user+tag@x.org", true },	/* '+' is literal */
		{ "u.er@x.org", "uxer@x.org", false },		/* '.' is literal */
		{ "**@x.org", "u@x.org", true },
		{ "*a", "b@bb", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char text[256];
		snprintf(text, sizeof(text), "%s k\n", cases[i].pattern);
		const char *keys = "k example.com:s:/k\n";
		char *error = NULL;
		struct keytable *kt = keytable_parse(DATASET_FILE, "k", keys, strlen(keys), &error);
		struct signtable *st = signtable_parse(DATASET_REFILE, "r", text, strlen(text),
						       kt, &error);
		T_CHECK(st != NULL);
		if (st != NULL) {
			char local[64];
			const char *at = strrchr(cases[i].addr, '@');
			snprintf(local, sizeof(local), "%.*s", (int)(at - cases[i].addr),
				 cases[i].addr);
			const char *got = describe(st, kt, local, at + 1, false);
			if (strcmp(got, cases[i].match ? "k" : "-") != 0)
				t_fail(__FILE__, __LINE__, "%s vs %s: got %s", cases[i].pattern,
				       cases[i].addr, got);
		}
		signtable_free(&st);
		keytable_free(&kt);
		free(error);
	}
}

/* Many stars against a long near-miss: must finish at once, not explode. */
static void test_signtable_refile_matching_is_not_exponential(void)
{
	struct buf pat;
	buf_init(&pat, 0);
	for (int i = 0; i < 100; i++)
		buf_puts(&pat, "*a");
	buf_puts(&pat, "*b k\n");
	char local[KEYTABLE_MAX_LOCAL + 1];
	memset(local, 'a', KEYTABLE_MAX_LOCAL);
	local[KEYTABLE_MAX_LOCAL] = '\0';
	const char *keys = "k example.com:s:/k\n";
	char *error = NULL;
	struct keytable *kt = keytable_parse(DATASET_FILE, "k", keys, strlen(keys), &error);
	struct signtable *st = signtable_parse(DATASET_REFILE, "r", pat.p, pat.len, kt, &error);
	T_CHECK(st != NULL);
	clock_t start = clock();
	if (st != NULL)
		T_EQ_STR(describe(st, kt, local, "aaaa.aaaa", false), "-");
	T_CHECK(clock() - start < CLOCKS_PER_SEC);
	buf_free(&pat);
	signtable_free(&st);
	keytable_free(&kt);
	free(error);
}

static void test_signtable_csl_form(void)
{
	struct keytable *kt = fixture_keytable();
	char *error = NULL;
	struct signtable *st = signtable_load("csl:example.com=rsa-example, *=any-domain", kt, &error);
	T_CHECK(st != NULL);
	if (st != NULL) {
		T_EQ_INT(signtable_count(st), 2);
		T_EQ_STR(describe(st, kt, "a", "example.com", false), "rsa-example");
		T_EQ_STR(describe(st, kt, "a", "example.org", false), "any-domain");
	}
	signtable_free(&st);
	keytable_free(&kt);
	free(error);
}

/* "%" in DOMAIN, in the key file name, in the key name and in SIGNER. */
static void test_percent_substitution(void)
{
	struct keytable *kt = fixture_keytable();
	struct signtable *st = load_st("file:", "signingtable", kt);
	if (kt == NULL || st == NULL)
		return;
	struct arena *a = arena_new();
	struct signing_key k[KEYTABLE_MAX_SIGNATURES];
	const char *error = NULL;
	/* postmaster@* -> any-domain:postmaster@% ; any-domain is %:mail:/etc/dkim/keys/%.private */
	int n = signtable_lookup(st, kt, "postmaster", "Shop.Example.ORG", false, a, k, 8, &error);
	T_EQ_INT(n, 1);
	if (n == 1) {
		T_EQ_STR(k[0].name, "any-domain");
		T_EQ_STR(k[0].domain, "shop.example.org");
		T_EQ_STR(k[0].selector, "mail");
		T_EQ_STR(k[0].key_path, "/etc/dkim/keys/shop.example.org.private");
		T_CHECK(k[0].key_data == NULL);
		T_EQ_STR(k[0].identity, "postmaster@shop.example.org");
		T_EQ_INT(k[0].alg, KEYTABLE_ALG_AUTO);
	}
	/* a fixed domain, an identity without "%" */
	n = signtable_lookup(st, kt, "ceo", "example.com", false, a, k, 8, &error);
	T_EQ_INT(n, 1);
	if (n == 1) {
		T_EQ_STR(k[0].domain, "example.com");
		T_EQ_STR(k[0].key_path, "/etc/dkim/example.com.rsa.private");
		T_EQ_STR(k[0].identity, "ceo@example.com");
	}
	/* "%" key name resolved per message */
	n = signtable_lookup(st, kt, "x", "example.net", false, a, k, 8, &error);
	T_EQ_INT(n, 1);
	if (n == 1) {
		T_EQ_STR(k[0].name, "example.net");
		T_EQ_STR(k[0].key_path, "../dkim/example.net.private");
		T_EQ_INT(k[0].alg, KEYTABLE_ALG_RSA_SHA256);
		T_CHECK(k[0].identity == NULL);
	}
	arena_free(&a);
	signtable_free(&st);
	keytable_free(&kt);
}

static void test_percent_key_name_missing_is_an_error(void)
{
	const char *keys = "example.com example.com:s:/k\n";
	const char *sign = "* %\n";
	char *error = NULL;
	struct keytable *kt = keytable_parse(DATASET_FILE, "k", keys, strlen(keys), &error);
	struct signtable *st = signtable_parse(DATASET_FILE, "s", sign, strlen(sign), kt, &error);
	T_CHECK(st != NULL);
	if (st != NULL) {
		T_EQ_STR(describe(st, kt, "a", "example.com", false), "example.com");
		const char *got = describe(st, kt, "a", "example.org", false);
		T_CONTAINS(got, "ERR: SigningTable s:1: key name 'example.org' (from '%') "
				"is not in the KeyTable");
	}
	signtable_free(&st);
	keytable_free(&kt);
	free(error);
}

static void test_inline_key_is_handed_over(void)
{
	struct keytable *kt = fixture_keytable();
	char *error = NULL;
	struct signtable *st = signtable_load("csl:example.org=inline-key", kt, &error);
	struct arena *a = arena_new();
	struct signing_key k[2];
	const char *why = NULL;
	T_CHECK(st != NULL);
	if (st != NULL && signtable_lookup(st, kt, "a", "example.org", false, a, k, 2, &why) == 1) {
		T_CHECK(k[0].key_path == NULL);
		T_EQ_STR(k[0].key_data, "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA");
	} else {
		T_CHECK(false);
	}
	arena_free(&a);
	signtable_free(&st);
	keytable_free(&kt);
	free(error);
}

/* Hostile or broken From: domains never reach a lookup or a file name. */
static void test_lookup_refuses_bad_sender_domains(void)
{
	struct keytable *kt = fixture_keytable();
	struct signtable *st = load_st("file:", "signingtable", kt);
	if (kt == NULL || st == NULL)
		return;
	char long_domain[300];
	memset(long_domain, 'a', sizeof(long_domain) - 1);
	long_domain[sizeof(long_domain) - 1] = '\0';
	char long_local[KEYTABLE_MAX_LOCAL + 2];
	memset(long_local, 'l', sizeof(long_local) - 1);
	long_local[sizeof(long_local) - 1] = '\0';
	static const char *const domains[] = {
		"", ".", "../../etc", "a/b.example", "exa mple.com", "b\303\274cher.example",
		"a..b", ".example.com",
	};
	for (size_t i = 0; i < ARRAY_LEN(domains); i++)
		T_CONTAINS(describe(st, kt, "u", domains[i], true), "ERR: sender domain");
	T_CONTAINS(describe(st, kt, "u", long_domain, true), "longer than 253");
	T_CONTAINS(describe(st, kt, long_local, "example.com", true), "ERR: sender local part");
	signtable_free(&st);
	keytable_free(&kt);
}

static void test_lookup_stops_at_max(void)
{
	struct keytable *kt = fixture_keytable();
	struct signtable *st = load_st("file:", "signingtable", kt);
	if (kt == NULL || st == NULL)
		return;
	struct arena *a = arena_new();
	struct signing_key k[3];
	const char *error = NULL;
	T_EQ_INT(signtable_lookup(st, kt, "bob", "example.com", true, a, k, 2, &error), 2);
	T_EQ_INT(signtable_lookup(st, kt, "bob", "example.com", true, a, k, 0, &error), 0);
	arena_free(&a);
	signtable_free(&st);
	keytable_free(&kt);
}

static void test_empty_signtable_signs_nothing(void)
{
	struct keytable *kt = fixture_keytable();
	char *error = NULL;
	struct signtable *st = signtable_parse(DATASET_FILE, "s", "# nothing\n", 10, kt, &error);
	T_CHECK(st != NULL);
	if (st != NULL)
		T_EQ_STR(describe(st, kt, "a", "example.com", true), "-");
	signtable_free(&st);
	st = signtable_parse(DATASET_REFILE, "s", "", 0, kt, &error);
	T_CHECK(st != NULL);
	if (st != NULL)
		T_EQ_STR(describe(st, kt, "a", "example.com", true), "-");
	signtable_free(&st);
	keytable_free(&kt);
	free(error);
}

/* ---- Domain / Selector / KeyFile ---- */

static void test_simple_form(void)
{
	char *domains = spec_of("file:", "domains");
	static const struct {
		bool subdomains;
		const char *domain;
		const char *want_d;	/* NULL: not signed */
	} cases[] = {
		{ false, "example.com", "example.com" },
		{ false, "EXAMPLE.net", "example.net" },
		{ false, "mail.example.com", NULL },
		{ false, "example.org", NULL },
		{ true, "mail.example.com", "example.com" },
		{ true, "a.b.example.net", "example.net" },
		{ true, "example.com", "example.com" },
		{ true, "badexample.com", NULL },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct keytable *kt = NULL;
		char *error = NULL;
		struct signtable *st = signtable_simple(domains, "sel", "/etc/dkim/the.key",
							cases[i].subdomains, &kt, &error);
		T_CHECK(st != NULL && kt != NULL);
		if (st == NULL || kt == NULL) {
			free(error);
			continue;
		}
		struct arena *a = arena_new();
		struct signing_key k[2];
		const char *why = NULL;
		int n = signtable_lookup(st, kt, "u", cases[i].domain, true, a, k, 2, &why);
		if (cases[i].want_d == NULL) {
			T_EQ_INT(n, 0);
		} else {
			T_EQ_INT(n, 1);
			if (n == 1) {
				T_EQ_STR(k[0].domain, cases[i].want_d);
				T_EQ_STR(k[0].selector, "sel");
				T_EQ_STR(k[0].key_path, "/etc/dkim/the.key");
			}
		}
		arena_free(&a);
		signtable_free(&st);
		keytable_free(&kt);
	}
	free(domains);
}

static void test_simple_form_any_domain_and_errors(void)
{
	struct keytable *kt = NULL;
	char *error = NULL;
	/* KeyFile is always a file, even without "/" in front */
	struct signtable *st = signtable_simple("*", "sel", "keys/default.private", false, &kt, &error);
	T_CHECK(st != NULL);
	if (st != NULL) {
		struct arena *a = arena_new();
		struct signing_key k[1];
		const char *why = NULL;
		T_EQ_INT(signtable_lookup(st, kt, "u", "Any.Example", false, a, k, 1, &why), 1);
		T_EQ_STR(k[0].domain, "any.example");
		T_EQ_STR(k[0].key_path, "keys/default.private");
		arena_free(&a);
	}
	signtable_free(&st);
	keytable_free(&kt);
	static const struct {
		const char *domains, *selector, *key, *error;
	} cases[] = {
		{ "example.com", "bad sel", "/k", "Selector: 'bad sel'" },
		{ "example.com", "sel", "", "KeyFile: expected a file name" },
		{ "example.com,ex ample.org", "sel", "/k", "Domain csl entry 2: 'ex ample.org'" },
		{ "ldap://x", "sel", "/k", "Domain: data set type \"ldap\" is not supported" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		error = NULL;
		kt = NULL;
		T_CHECK(signtable_simple(cases[i].domains, cases[i].selector, cases[i].key, true,
					 &kt, &error) == NULL);
		T_CHECK(kt == NULL);
		T_CONTAINS(error, cases[i].error);
		free(error);
	}
}

/* ---- key files ---- */

static void test_check_key_file_modes(void)
{
	static const struct {
		mode_t mode;
		bool ok;
		const char *error;
	} cases[] = {
		{ 0600, true, NULL },
		{ 0400, true, NULL },
		{ 0640, true, NULL },	/* our own group may read */
		{ 0644, false, "readable or writable by others (mode 0644)" },
		{ 0602, false, "readable or writable by others (mode 0602)" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *path = scratch_file("key", "secret\n", cases[i].mode);
		char *error = NULL;
		T_EQ_INT(keytable_check_key_file(path, true, &error), cases[i].ok);
		if (!cases[i].ok) {
			T_CONTAINS(error, path);
			T_CONTAINS(error, cases[i].error);
			free(error);
			error = NULL;
			/* RequireSafeKeys off: a warning, not an error */
			T_CHECK(keytable_check_key_file(path, false, &error));
		}
		free(error);
		unlink(path);
		free(path);
	}
	char *error = NULL;
	T_CHECK(!keytable_check_key_file("/nonexistent/key", false, &error));
	T_CONTAINS(error, "/nonexistent/key: cannot stat");
	free(error);
	error = NULL;
	T_CHECK(!keytable_check_key_file("/", false, &error));
	T_CONTAINS(error, "/: not a regular file");
	free(error);
}

static void test_check_key_file_foreign_group(void)
{
	if (geteuid() != 0) {
		printf("# skipped: needs root to give a file a foreign group\n");
		return;
	}
	char *path = scratch_file("gkey", "secret\n", 0640);
	gid_t foreign = 54321;	/* a group root is not in */
	T_CHECK(chown(path, 0, foreign) == 0);
	char *error = NULL;
	T_CHECK(!keytable_check_key_file(path, true, &error));
	T_CONTAINS(error, "readable or writable by group 54321, which this process is not in");
	free(error);
	unlink(path);
	free(path);
}

static void test_check_keys_walks_the_keytable(void)
{
	char *good = scratch_file("good.key", "k\n", 0600);
	char *bad = scratch_file("bad.key", "k\n", 0644);
	struct buf text;
	buf_init(&text, 0);
	buf_printf(&text, "good example.com:s:%s\n"
			  "percent %%:s:/nonexistent/%%.key\n"
			  "inline example.com:s:QUJD\n"
			  "bad example.com:s:%s\n", good, bad);
	char *error = NULL;
	struct keytable *kt = keytable_parse(DATASET_FILE, "kt", text.p, text.len, &error);
	T_CHECK(kt != NULL);
	if (kt != NULL) {
		T_CHECK(!keytable_check_keys(kt, true, &error));
		T_CONTAINS(error, "KeyTable kt:4: key 'bad': ");
		T_CONTAINS(error, "bad.key: readable or writable by others");
		free(error);
		error = NULL;
		T_CHECK(keytable_check_keys(kt, false, &error));
	}
	keytable_free(&kt);
	buf_free(&text);
	unlink(good);
	unlink(bad);
	free(good);
	free(bad);
	free(error);
}

int main(void)
{
	log_open("test_keytable", true, LOG_MAIL);
	log_set_level(LOG_ERR);	/* the warnings tests provoke are expected */
	snprintf(scratch, sizeof(scratch), "/tmp/test_keytable.XXXXXX");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_dataset_forms_pick_the_type);
	T_RUN(test_dataset_splits_key_value_comments_blank_lines);
	T_RUN(test_dataset_csl_splits_at_first_equals);
	T_RUN(test_dataset_refuses_database_forms);
	T_RUN(test_dataset_missing_file_names_it);
	T_RUN(test_dataset_too_long_line_is_an_error);
	T_RUN(test_dataset_limits_key_length_and_nul);
	T_RUN(test_keytable_fixture_fields);
	T_RUN(test_keytable_errors_name_line_and_problem);
	T_RUN(test_keytable_file_errors_name_file_and_line);
	T_RUN(test_keytable_csl_form);
	T_RUN(test_keytable_duplicate_name_first_wins);
	T_RUN(test_keytable_alg_field);
	T_RUN(test_signtable_unknown_key_name_fails_at_load);
	T_RUN(test_signtable_file_lookup_order);
	T_RUN(test_signtable_parent_domains_interleave);
	T_RUN(test_signtable_refile_first_match_and_multiple);
	T_RUN(test_signtable_refile_patterns);
	T_RUN(test_signtable_refile_matching_is_not_exponential);
	T_RUN(test_signtable_csl_form);
	T_RUN(test_percent_substitution);
	T_RUN(test_percent_key_name_missing_is_an_error);
	T_RUN(test_inline_key_is_handed_over);
	T_RUN(test_lookup_refuses_bad_sender_domains);
	T_RUN(test_lookup_stops_at_max);
	T_RUN(test_empty_signtable_signs_nothing);
	T_RUN(test_simple_form);
	T_RUN(test_simple_form_any_domain_and_errors);
	T_RUN(test_check_key_file_modes);
	T_RUN(test_check_key_file_foreign_group);
	T_RUN(test_check_keys_walks_the_keytable);
	rmdir(scratch);
	return t_done();
}
