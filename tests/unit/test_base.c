/*
 * Unit tests of the base types: struct buf (bounded growth, overflow),
 * slices, arenas, and JSON string quoting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "json.h"
#include "t.h"

static void test_buf_grows_and_stays_terminated(void)
{
	struct buf b;
	buf_init(&b, 0);
	T_EQ_STR(b.p, "");
	for (int i = 0; i < 1000; i++)
		T_CHECK(buf_printf(&b, "%d,", i));
	T_EQ_INT(b.p[b.len], '\0');
	T_CHECK(strncmp(b.p, "0,1,2,", 6) == 0);
	T_CHECK(buf_append(&b, "a\0b", 3));
	T_EQ_INT(b.p[b.len - 2], '\0');
	buf_free(&b);
	T_EQ_STR(b.p, "");
}

static void test_buf_refuses_past_max_whole(void)
{
	struct buf b;
	buf_init(&b, 8);
	T_CHECK(buf_puts(&b, "12345"));
	T_CHECK(!buf_puts(&b, "6789"));
	T_EQ_STR(b.p, "12345");
	T_CHECK(b.overflow);
	T_CHECK(buf_puts(&b, "678"));
	T_CHECK(!buf_putc(&b, '9'));
	T_CHECK(!buf_printf(&b, "%s", "x"));
	T_EQ_INT(b.len, 8);
	char *s = buf_steal(&b);
	T_EQ_STR(s, "12345678");
	free(s);
	T_EQ_INT(b.len, 0);
	buf_free(&b);
}

static void test_slices_trim_and_compare(void)
{
	struct slice s = slice_trim(slice_cstr(" \t Value\r\n"));
	T_EQ_INT(s.len, 5);
	T_CHECK(slice_eq(s, "Value"));
	T_CHECK(!slice_eq(s, "value"));
	T_CHECK(slice_eq_ci(s, "VALUE"));
	T_CHECK(!slice_eq_ci(s, "VALUES"));
	T_EQ_INT(slice_trim(slice_cstr("   ")).len, 0);
}

static void test_arena_allocations_are_zeroed_aligned_and_freed(void)
{
	struct arena *a = arena_new();
	for (int i = 1; i < 3000; i += 7) {
		unsigned char *p = arena_alloc(a, (size_t)i);
		T_EQ_INT((uintptr_t)p % _Alignof(max_align_t), 0);
		for (int k = 0; k < i; k++)
			if (p[k] != 0)
				T_CHECK(!"arena memory not zeroed");
		memset(p, 0xab, (size_t)i);
	}
	char *big = arena_alloc(a, 1 << 20); /* a chunk of its own */
	big[(1 << 20) - 1] = 'x';
	T_EQ_STR(arena_printf(a, "%s-%d", "id", 42), "id-42");
	T_EQ_STR(arena_memdup(a, "abc", 2), "ab");
	T_CHECK(arena_used(a) > (1 << 20));
	arena_free(&a);
	T_CHECK(a == NULL);
	arena_free(&a); /* freeing NULL is harmless */
}

static void test_json_quotes_controls_and_invalid_utf8(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\", "\"q\\\"b\\\\\"" },
		{ "tab\tnl\n", "\"tab\\u0009nl\\u000a\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "bad\xff\xc3", "\"bad\\ufffd\\ufffd\"" },
		{ "overlong\xc0\xaf", "\"overlong\\ufffd\\ufffd\"" },
		{ "surrogate\xed\xa0\x80", "\"surrogate\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\"" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct buf b;
		buf_init(&b, 0);
		json_put_string(&b, cases[i].in);
		T_EQ_STR(b.p, cases[i].out);
		buf_free(&b);
	}
	struct buf b;
	buf_init(&b, 0);
	json_put_string(&b, NULL);
	T_EQ_STR(b.p, "null");
	buf_free(&b);
}

int main(void)
{
	T_RUN(test_buf_grows_and_stays_terminated);
	T_RUN(test_buf_refuses_past_max_whole);
	T_RUN(test_slices_trim_and_compare);
	T_RUN(test_arena_allocations_are_zeroed_aligned_and_freed);
	T_RUN(test_json_quotes_controls_and_invalid_utf8);
	return t_done();
}
