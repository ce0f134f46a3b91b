/*
 * Tests for DKIM canonicalization and the streaming body hash
 * (lib/mail/dkim_canon.c): RFC 6376 3.4.5 examples, body tables for both
 * algorithms, the empty-body hashes of 3.4.3 / 3.4.4, chunking
 * independence and l=.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dkim.h"
#include "t.h"

static struct dkim_field field(const char *name, const char *value)
{
	struct dkim_field f = { slice_cstr(name), slice_cstr(value) };
	return f;
}

static char *canon_header(enum dkim_canon c, const char *name, const char *value)
{
	struct dkim_field f = field(name, value);
	struct buf b;
	buf_init(&b, 0);
	dkim_canon_header(c, &f, true, &b);
	return buf_steal(&b);
}

/* Canonical body of in, fed in chunks of chunk bytes (0: all at once). */
static char *canon_body(enum dkim_canon c, const char *in, size_t len, size_t chunk)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(c, DKIM_HASH_SHA256, false, 0);
	struct buf b;
	uint8_t d[DKIM_HASH_MAX];
	buf_init(&b, 0);
	dkim_bodyhash_copy_to(bh, &b);
	if (chunk == 0)
		chunk = len + 1;
	for (size_t i = 0; i < len; i += chunk)
		dkim_bodyhash_update(bh, (const uint8_t *)in + i,
				     len - i < chunk ? len - i : chunk);
	dkim_bodyhash_final(bh, d);
	dkim_bodyhash_free(&bh);
	return buf_steal(&b);
}

/* RFC 6376 3.4.5, headers "A: X" and "B : Y<TAB><CRLF><TAB>Z  ". */
static void test_rfc6376_example_headers(void)
{
	char *r;
	r = canon_header(DKIM_CANON_RELAXED, "A", " X");
	T_EQ_STR(r, "a:X\r\n");
	free(r);
	r = canon_header(DKIM_CANON_RELAXED, "B ", " Y\t\r\n\tZ  ");
	T_EQ_STR(r, "b:Y Z\r\n");
	free(r);
	r = canon_header(DKIM_CANON_SIMPLE, "A", " X");
	T_EQ_STR(r, "A: X\r\n");
	free(r);
	r = canon_header(DKIM_CANON_SIMPLE, "B ", " Y\t\r\n\tZ  ");
	T_EQ_STR(r, "B : Y\t\r\n\tZ  \r\n");
	free(r);
}

static const char example_body[] = " C \r\nD \t E\r\n\r\n\r\n";

static void test_rfc6376_example_body(void)
{
	char *r = canon_body(DKIM_CANON_RELAXED, example_body, strlen(example_body), 0);
	T_EQ_STR(r, " C\r\nD E\r\n");
	free(r);
	r = canon_body(DKIM_CANON_SIMPLE, example_body, strlen(example_body), 0);
	T_EQ_STR(r, " C \r\nD \t E\r\n");
	free(r);
}

static void test_relaxed_header_cases(void)
{
	static const struct {
		const char *name, *value, *out;
	} cases[] = {
		{ "SUBJect", " AbC", "subject:AbC\r\n" },
		{ "X", "", "x:\r\n" },
		{ "X", "   ", "x:\r\n" },
		{ "X", "a\r\n b", "x:a b\r\n" },
		{ "X", "a \r\n\t b  ", "x:a b\r\n" },
		{ "X", "\r\n a", "x:a\r\n" },
		{ "X\t ", "\tv", "x:v\r\n" },
		{ "X", " a\rb", "x:a\rb\r\n" },	/* bare CR is data */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *r = canon_header(DKIM_CANON_RELAXED, cases[i].name, cases[i].value);
		T_EQ_STR(r, cases[i].out);
		free(r);
	}
}

struct body_case {
	const char *in, *simple, *relaxed;
};

static const struct body_case body_cases[] = {
	{ "", "\r\n", "" },
	{ "\r\n", "\r\n", "" },
	{ "\r\n\r\n\r\n", "\r\n", "" },
	{ "abc", "abc\r\n", "abc\r\n" },
	{ "abc\r\n", "abc\r\n", "abc\r\n" },
	{ "abc\r\n\r\n", "abc\r\n", "abc\r\n" },
	{ "abc  ", "abc  \r\n", "abc\r\n" },
	{ "\r\nabc", "\r\nabc\r\n", "\r\nabc\r\n" },
	{ "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n" },
	{ "  \r\n", "  \r\n", "" },
	{ " \t \r\n \r\nx", " \t \r\n \r\nx\r\n", "\r\n\r\nx\r\n" },
	{ "a \t b\t\r\n", "a \t b\t\r\n", "a b\r\n" },
	{ "\ta", "\ta\r\n", " a\r\n" },
	{ "a\rb", "a\rb\r\n", "a\rb\r\n" },
	{ "a\r", "a\r\r\n", "a\r\r\n" },
	{ "a \r", "a \r\r\n", "a \r\r\n" },
	{ "a\nb", "a\nb\r\n", "a\nb\r\n" },
	{ "a\r\r\n", "a\r\r\n", "a\r\r\n" },
	{ "a\r\n \r\n\r\n", "a\r\n \r\n", "a\r\n" },
	{ "x \r\n\r\n y \r\n\r\n", "x \r\n\r\n y \r\n", "x\r\n\r\n y\r\n" },
};

static void test_body_tables(void)
{
	for (size_t i = 0; i < ARRAY_LEN(body_cases); i++) {
		const struct body_case *c = &body_cases[i];
		for (size_t chunk = 0; chunk <= 3; chunk++) {
			char *s = canon_body(DKIM_CANON_SIMPLE, c->in, strlen(c->in), chunk);
			char *r = canon_body(DKIM_CANON_RELAXED, c->in, strlen(c->in), chunk);
			if (strcmp(s, c->simple) != 0 || strcmp(r, c->relaxed) != 0)
				printf("#   case %zu chunk %zu\n", i, chunk);
			T_EQ_STR(s, c->simple);
			T_EQ_STR(r, c->relaxed);
			free(s);
			free(r);
		}
	}
}

static char *body_hash_b64(enum dkim_canon c, const char *in)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(c, DKIM_HASH_SHA256, false, 0);
	uint8_t d[DKIM_HASH_MAX];
	struct buf b;
	buf_init(&b, 0);
	dkim_bodyhash_update(bh, (const uint8_t *)in, strlen(in));
	size_t n = dkim_bodyhash_final(bh, d);
	dkim_base64_encode(d, n, &b);
	dkim_bodyhash_free(&bh);
	return buf_steal(&b);
}

/* RFC 6376 3.4.3 and 3.4.4 give the SHA-256 of the empty body. */
static void test_empty_body_hashes(void)
{
	char *s = body_hash_b64(DKIM_CANON_SIMPLE, "");
	char *r = body_hash_b64(DKIM_CANON_RELAXED, "");
	T_EQ_STR(s, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	T_EQ_STR(r, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(s);
	free(r);
}

static void test_final_is_idempotent(void)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_SIMPLE, DKIM_HASH_SHA256,
						     false, 0);
	uint8_t a[DKIM_HASH_MAX], b[DKIM_HASH_MAX];
	dkim_bodyhash_update(bh, (const uint8_t *)"x\r\n", 3);
	size_t na = dkim_bodyhash_final(bh, a);
	size_t nb = dkim_bodyhash_final(bh, b);
	T_EQ_INT(na, 32);
	T_EQ_INT(na, nb);
	T_CHECK(memcmp(a, b, na) == 0);
	T_EQ_INT(dkim_bodyhash_length(bh), 3);
	dkim_bodyhash_free(&bh);
	T_CHECK(bh == NULL);
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/* A body made of the bytes that matter: CR, LF, SP, HTAB, data. */
static void random_body(uint8_t *p, size_t n)
{
	static const uint8_t alphabet[] = "\r\n\r\n \t\t ab";
	for (size_t i = 0; i < n; i++)
		p[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
}

/*
 * Mode 0: all at once (the widest scan the CPU has); 1: a byte at a time
 * (the byte loop only); 2: chunks of 1-7 bytes; 3: all at once with the
 * 16-byte scan; 4: chunks of 1-200 bytes.
 */
static void digest_chunked(enum dkim_canon c, bool has_l, uint64_t l, const uint8_t *p,
			   size_t n, int mode, uint8_t out[DKIM_HASH_MAX], bool *over_r)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(c, DKIM_HASH_SHA256, has_l, l);
	if (mode == 3)
		dkim_bodyhash_narrow_scan(bh);
	size_t i = 0;
	while (i < n) {
		size_t k = mode == 0 || mode == 3 ? n
			   : mode == 1		  ? 1
			   : mode == 2		  ? 1 + rng() % 7
						  : 1 + rng() % 200;
		if (k > n - i)
			k = n - i;
		dkim_bodyhash_update(bh, p + i, k);
		i += k;
	}
	dkim_bodyhash_final(bh, out);
	*over_r = dkim_bodyhash_truncated(bh);
	dkim_bodyhash_free(&bh);
}

static void test_streaming_equivalence(void)
{
	uint8_t body[300];
	for (int round = 0; round < 200; round++) {
		size_t n = rng() % sizeof(body);
		random_body(body, n);
		for (int c = 0; c < 2; c++) {
			bool has_l = round % 3 == 0;
			uint64_t l = rng() % 200;
			uint8_t d0[DKIM_HASH_MAX], d1[DKIM_HASH_MAX], d2[DKIM_HASH_MAX];
			bool o0, o1, o2;
			digest_chunked((enum dkim_canon)c, has_l, l, body, n, 0, d0, &o0);
			digest_chunked((enum dkim_canon)c, has_l, l, body, n, 1, d1, &o1);
			digest_chunked((enum dkim_canon)c, has_l, l, body, n, 2, d2, &o2);
			T_CHECK(memcmp(d0, d1, 32) == 0 && memcmp(d0, d2, 32) == 0);
			T_CHECK(o0 == o1 && o0 == o2);
		}
	}
}

/*
 * Text as mail has it, in runs long enough for the wide scans: words, and
 * now and then each thing that stops a scan (WSP runs, tabs, WSP at a line
 * end, empty lines, lines of WSP only, a bare CR or LF, a line starting
 * with WSP), and one of the ways a body ends.
 */
static size_t text_body(uint8_t *p, size_t n)
{
	static const char *const bits[] = { "  ", "\t", " \r\n", "\r\n\r\n", "\r", "\n",
					    "\r\n ", "\t\r\n", "\r\n\r\n\r\n",
					    "\r\n\r\n \t\r\n", "\r\n\r\n\r" };
	/* how a body ends: trailing empty lines, and lines of WSP only, go */
	static const char *const ends[] = { "", "\r\n", "\r\n\r\n", " \r\n \r\n",
					    "\r\n\t \r\n\r\n", "\r\n\r\n \r\n" };
	size_t len = 0;
	while (len + 32 < n) {
		uint32_t r = rng();
		const char *add = r % 9 == 0	? bits[(r >> 4) % ARRAY_LEN(bits)]
				  : r % 7 == 0	? "\r\n"
				  : r % 3 == 0	? "mailing-list"
						: " word";
		size_t k = strlen(add);
		memcpy(p + len, add, k);
		len += k;
	}
	const char *end = ends[rng() % ARRAY_LEN(ends)];
	memcpy(p + len, end, strlen(end));
	return len + strlen(end);
}

/* Every scan and every chunking give the same digest, length and l= flag. */
static void test_scans_agree(void)
{
	static uint8_t body[10000];
	for (int round = 0; round < 60; round++) {
		size_t n = text_body(body, 1 + rng() % sizeof(body));
		for (int c = 0; c < 2; c++) {
			bool has_l = round % 4 == 0;
			uint64_t l = rng() % (n + 100);
			uint8_t d[5][DKIM_HASH_MAX];
			bool over[5];
			for (int mode = 0; mode < 5; mode++)
				digest_chunked((enum dkim_canon)c, has_l, l, body, n, mode, d[mode],
					       &over[mode]);
			for (int mode = 1; mode < 5; mode++) {
				T_CHECK(memcmp(d[0], d[mode], 32) == 0);
				T_CHECK(over[0] == over[mode]);
			}
		}
	}
}

/* l= counts canonical bytes; more canonical bytes than l are flagged. */
static void test_l_truncates_and_flags(void)
{
	static const char body[] = "hello\r\nworld\r\n\r\n";
	static const struct {
		uint64_t l;
		bool over;
		const char *hashed;
	} cases[] = {
		{ 0, true, "" },
		{ 5, true, "hello" },
		{ 13, true, "hello\r\nworld\r" },
		{ 14, false, "hello\r\nworld\r\n" },
		{ 1000, false, "hello\r\nworld\r\n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_SIMPLE,
							     DKIM_HASH_SHA256, true, cases[i].l);
		struct buf copy;
		uint8_t d[DKIM_HASH_MAX];
		buf_init(&copy, 0);
		dkim_bodyhash_copy_to(bh, &copy);
		dkim_bodyhash_update(bh, (const uint8_t *)body, strlen(body));
		dkim_bodyhash_final(bh, d);
		T_EQ_INT(dkim_bodyhash_truncated(bh), cases[i].over);
		T_EQ_STR(copy.p, cases[i].hashed);
		T_EQ_INT(dkim_bodyhash_length(bh), strlen(cases[i].hashed));
		buf_free(&copy);
		dkim_bodyhash_free(&bh);
	}
}

static void test_bodyhash_same(void)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_RELAXED, DKIM_HASH_SHA256,
						     true, 10);
	T_CHECK(dkim_bodyhash_same(bh, DKIM_CANON_RELAXED, DKIM_HASH_SHA256, true, 10));
	T_CHECK(!dkim_bodyhash_same(bh, DKIM_CANON_RELAXED, DKIM_HASH_SHA256, true, 11));
	T_CHECK(!dkim_bodyhash_same(bh, DKIM_CANON_RELAXED, DKIM_HASH_SHA256, false, 0));
	T_CHECK(!dkim_bodyhash_same(bh, DKIM_CANON_SIMPLE, DKIM_HASH_SHA256, true, 10));
	T_CHECK(!dkim_bodyhash_same(bh, DKIM_CANON_RELAXED, DKIM_HASH_SHA1, true, 10));
	dkim_bodyhash_free(&bh);
}

/* Many trailing empty lines cost no memory and are dropped. */
static void test_long_blank_run_then_data(void)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_SIMPLE, DKIM_HASH_SHA256,
						     false, 0);
	uint8_t d[DKIM_HASH_MAX];
	for (int i = 0; i < 100000; i++)
		dkim_bodyhash_update(bh, (const uint8_t *)"\r\n", 2);
	dkim_bodyhash_update(bh, (const uint8_t *)"x", 1);
	dkim_bodyhash_final(bh, d);
	T_EQ_INT(dkim_bodyhash_length(bh), 200003);
	dkim_bodyhash_free(&bh);
}

static void test_field_is(void)
{
	struct dkim_field f = field("From \t", " x");
	T_CHECK(dkim_field_is(&f, "from"));
	T_CHECK(dkim_field_is(&f, "FROM"));
	T_CHECK(!dkim_field_is(&f, "fro"));
}

int main(void)
{
	T_RUN(test_rfc6376_example_headers);
	T_RUN(test_rfc6376_example_body);
	T_RUN(test_relaxed_header_cases);
	T_RUN(test_body_tables);
	T_RUN(test_empty_body_hashes);
	T_RUN(test_final_is_idempotent);
	T_RUN(test_streaming_equivalence);
	T_RUN(test_scans_agree);
	T_RUN(test_l_truncates_and_flags);
	T_RUN(test_bodyhash_same);
	T_RUN(test_long_blank_run_then_data);
	T_RUN(test_field_is);
	return t_done();
}
