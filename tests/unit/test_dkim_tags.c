/*
 * Tests for the DKIM tag-list parser and base64 (lib/mail/dkim_tags.c).
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dkim.h"
#include "t.h"

/* "name=value|name=value" for comparison. */
static char *render(const struct dkim_tags *t)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < t->count; i++) {
		if (i > 0)
			buf_putc(&b, '|');
		buf_append(&b, t->tag[i].name.p, t->tag[i].name.len);
		buf_putc(&b, '=');
		buf_append(&b, t->tag[i].value.p, t->tag[i].value.len);
	}
	return buf_steal(&b);
}

static void test_tags_valid_lists(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a=1", "a=1" },
		{ "a=1;", "a=1" },
		{ "a=1; ", "a=1" },
		{ "a=1;b=2", "a=1|b=2" },
		{ " a = 1 ; b\t=\t2 ;", "a=1|b=2" },
		{ "a=", "a=" },
		{ "a=;b=", "a=|b=" },
		{ "a=x y", "a=x y" },
		{ "a=x \r\n y", "a=x \r\n y" },
		{ "\r\n a=1;\r\n\tb=2\r\n ", "a=1|b=2" },
		{ "a\r\n =\r\n 1", "a=1" },
		{ "tag_1=v;T2=w", "tag_1=v|T2=w" },
		{ "a=!:<>=~", "a=!:<>=~" },
		{ "a=1;A=2", "a=1|A=2" },	/* case-sensitive names */
	};
	struct dkim_tags t;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum dkim_err e = dkim_tags_parse(cases[i].in, strlen(cases[i].in), &t);
		T_EQ_INT(e, DKIM_OK);
		if (e != DKIM_OK)
			continue;
		char *r = render(&t);
		T_EQ_STR(r, cases[i].out);
		free(r);
	}
}

static void test_tags_errors(void)
{
	static const struct {
		const char *in;
		enum dkim_err err;
	} cases[] = {
		{ "", DKIM_ERR_SYNTAX },
		{ " ", DKIM_ERR_SYNTAX },
		{ ";", DKIM_ERR_SYNTAX },
		{ "a=1;;", DKIM_ERR_SYNTAX },
		{ "a", DKIM_ERR_SYNTAX },
		{ "=1", DKIM_ERR_SYNTAX },
		{ "1a=1", DKIM_ERR_SYNTAX },
		{ "_a=1", DKIM_ERR_SYNTAX },
		{ "a-b=1", DKIM_ERR_SYNTAX },
		{ "a b=1", DKIM_ERR_SYNTAX },
		{ "a=1\r\nb=2", DKIM_ERR_SYNTAX },	/* CRLF without WSP */
		{ "a=1\n b=2", DKIM_ERR_SYNTAX },	/* bare LF */
		{ "a=1\r b=2", DKIM_ERR_SYNTAX },	/* bare CR */
		{ "a=1\r\n", DKIM_ERR_SYNTAX },	/* fold needs WSP after */
		{ "a=\x01", DKIM_ERR_SYNTAX },
		{ "a=caf\xc3\xa9", DKIM_ERR_SYNTAX },	/* 8-bit */
		{ "a=1;b=2;a=3", DKIM_ERR_DUP_TAG },
		{ "a=1;a=1", DKIM_ERR_DUP_TAG },
	};
	struct dkim_tags t;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		enum dkim_err e = dkim_tags_parse(cases[i].in, strlen(cases[i].in), &t);
		if (e != cases[i].err)
			printf("#   case %zu: \"%s\"\n", i, cases[i].in);
		T_EQ_INT(e, cases[i].err);
	}
}

static void test_tags_limit_count(void)
{
	struct buf b;
	struct dkim_tags t;
	buf_init(&b, 0);
	for (int i = 0; i < DKIM_TAGS_MAX; i++)
		buf_printf(&b, "t%d=%d;", i, i);
	T_EQ_INT(dkim_tags_parse(b.p, b.len, &t), DKIM_OK);
	T_EQ_INT(t.count, DKIM_TAGS_MAX);
	buf_puts(&b, "one=more");
	T_EQ_INT(dkim_tags_parse(b.p, b.len, &t), DKIM_ERR_TOO_MANY_TAGS);
	buf_free(&b);
}

static void test_tags_limit_value_length(void)
{
	struct buf b;
	struct dkim_tags t;
	buf_init(&b, 0);
	buf_puts(&b, "a=");
	for (int i = 0; i < DKIM_TAG_VALUE_MAX; i++)
		buf_putc(&b, 'x');
	T_EQ_INT(dkim_tags_parse(b.p, b.len, &t), DKIM_OK);
	buf_putc(&b, 'x');
	T_EQ_INT(dkim_tags_parse(b.p, b.len, &t), DKIM_ERR_TAG_TOO_LONG);
	buf_free(&b);
}

static void test_tags_get_is_case_sensitive(void)
{
	struct dkim_tags t;
	T_EQ_INT(dkim_tags_parse("bh=1; B=2", 9, &t), DKIM_OK);
	T_CHECK(dkim_tags_get(&t, "bh") != NULL);
	T_CHECK(dkim_tags_get(&t, "b") == NULL);
	T_CHECK(dkim_tags_get(&t, "BH") == NULL);
	T_CHECK(slice_eq(dkim_tags_get(&t, "B")->value, "2"));
}

static void test_base64_decode(void)
{
	static const struct {
		const char *in, *out;
		enum dkim_err err;
	} cases[] = {
		{ "", "", DKIM_OK },
		{ "Zm9v", "foo", DKIM_OK },
		{ "Zm9vYg==", "foob", DKIM_OK },
		{ "Zm9vYmE=", "fooba", DKIM_OK },
		{ " Zm9v\r\n\tYmFy ", "foobar", DKIM_OK },
		{ "Zm 9v YmE =", "fooba", DKIM_OK },
		{ "Zm9vY", NULL, DKIM_ERR_BASE64 },
		{ "Zm9vYg=", NULL, DKIM_ERR_BASE64 },
		{ "Zm9vYg===", NULL, DKIM_ERR_BASE64 },
		{ "Zm9v=Yg=", NULL, DKIM_ERR_BASE64 },
		{ "Zm9vYg==Zm9v", NULL, DKIM_ERR_BASE64 },
		{ "Zm9v!", NULL, DKIM_ERR_BASE64 },
		{ "Zm-_", NULL, DKIM_ERR_BASE64 },	/* URL alphabet is not base64 */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint8_t out[16];
		size_t len = 99;
		enum dkim_err e = dkim_base64_decode(slice_cstr(cases[i].in), out,
						     sizeof(out), &len);
		T_EQ_INT(e, cases[i].err);
		if (e == DKIM_OK && cases[i].out != NULL) {
			T_EQ_INT(len, strlen(cases[i].out));
			T_CHECK(memcmp(out, cases[i].out, len) == 0);
		}
	}
}

static void test_base64_decode_refuses_overflow(void)
{
	uint8_t out[3];
	size_t len;
	T_EQ_INT(dkim_base64_decode(slice_cstr("Zm9v"), out, 3, &len), DKIM_OK);
	T_EQ_INT(dkim_base64_decode(slice_cstr("Zm9vYg=="), out, 3, &len), DKIM_ERR_BASE64);
}

static void test_base64_round_trip(void)
{
	uint8_t in[64], out[64];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		struct buf b;
		size_t len;
		buf_init(&b, 0);
		dkim_base64_encode(in, n, &b);
		T_EQ_INT(b.len, (n + 2) / 3 * 4);
		T_EQ_INT(dkim_base64_decode(slice_make(b.p, b.len), out, sizeof(out), &len),
			 DKIM_OK);
		T_EQ_INT(len, n);
		T_CHECK(memcmp(in, out, n) == 0);
		buf_free(&b);
	}
}

static void test_err_texts_and_results(void)
{
	for (int e = 0; e < DKIM_ERR_COUNT_; e++) {
		T_CHECK(dkim_err_text((enum dkim_err)e) != NULL);
		T_CHECK(dkim_err_result((enum dkim_err)e) != NULL);
	}
	T_EQ_STR(dkim_err_result(DKIM_OK), "pass");
	T_EQ_STR(dkim_err_result(DKIM_ERR_SIGNATURE), "fail");
	T_EQ_STR(dkim_err_result(DKIM_ERR_BODY_HASH), "fail");
	T_EQ_STR(dkim_err_result(DKIM_ERR_SYNTAX), "permerror");
	T_EQ_STR(dkim_err_result(DKIM_ERR_EXPIRED), "permerror");
	T_EQ_STR(dkim_err_result(DKIM_ERR_INTERNAL), "temperror");
	T_EQ_STR(dkim_err_text(DKIM_ERR_EXPIRED), "signature expired");
}

int main(void)
{
	T_RUN(test_tags_valid_lists);
	T_RUN(test_tags_errors);
	T_RUN(test_tags_limit_count);
	T_RUN(test_tags_limit_value_length);
	T_RUN(test_tags_get_is_case_sensitive);
	T_RUN(test_base64_decode);
	T_RUN(test_base64_decode_refuses_overflow);
	T_RUN(test_base64_round_trip);
	T_RUN(test_err_texts_and_results);
	return t_done();
}
