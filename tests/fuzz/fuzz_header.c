/*
 * Fuzz target for the header reader (lib/mail/header.c) and hdr_unfold.
 *
 * The first two bytes choose the limits (small ones, to reach every limit)
 * and a chunk pattern; the rest is the message.  It is read twice, all at
 * once and in chunks, and the two transcripts (fields, end of header, body
 * bytes, error) must be identical: results may not depend on chunking.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct transcript {
	struct buf b;
	struct arena *a;
	bool eoh;
	bool in_body;
};

static void put_len(struct buf *b, char tag, const void *p, size_t n)
{
	buf_printf(b, "%c%zu:", tag, n);
	buf_append(b, p, n);
}

static bool on_field(void *ctx, const char *name, size_t name_len,
		     const char *value, size_t value_len)
{
	struct transcript *t = ctx;
	if (t->eoh)
		abort();
	put_len(&t->b, 'N', name, name_len);
	put_len(&t->b, 'V', value, value_len);
	size_t ulen;
	char *u = hdr_unfold(t->a, value, value_len, &ulen);
	if (ulen > value_len || u[ulen] != '\0')
		abort();
	buf_putc(&t->b, hdr_name_valid(name, name_len) ? 'y' : 'n');
	return true;
}

static bool on_eoh(void *ctx)
{
	struct transcript *t = ctx;
	if (t->eoh)
		abort();
	t->eoh = true;
	buf_putc(&t->b, 'E');
	return true;
}

/* Body bytes are appended raw after a single 'B' so chunking cannot show. */
static bool on_body(void *ctx, const uint8_t *p, size_t n)
{
	struct transcript *t = ctx;
	if (!t->eoh || n == 0)
		abort();
	if (!t->in_body)
		buf_putc(&t->b, 'B');
	t->in_body = true;
	buf_append(&t->b, p, n);
	return true;
}

static const struct hdr_callbacks callbacks = { on_field, on_eoh, on_body };

static void run(const struct hdr_limits *lim, const uint8_t *p, size_t n,
		uint8_t pattern, struct transcript *t)
{
	struct hdr_reader *r = hdr_reader_new(lim, &callbacks, t);
	enum hdr_error e = HDR_OK;
	size_t i = 0, k = 0;
	while (i < n && e == HDR_OK) {
		/* pattern 0: all at once; otherwise sizes 1..8 from its bits */
		size_t c = pattern == 0 ? n - i : (size_t)((pattern >> (k++ % 6)) & 7) + 1;
		if (c > n - i)
			c = n - i;
		e = hdr_reader_feed(r, p + i, c);
		i += c;
	}
	if (e == HDR_OK)
		e = hdr_reader_finish(r);
	buf_printf(&t->b, "R%d", (int)e);
	if (hdr_error_text(e) == NULL)
		abort();
	hdr_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t sel = data[0], pattern = data[1];
	data += 2;
	size -= 2;
	struct hdr_limits lim = hdr_limits_default;
	if (sel & 1) {
		lim.max_count = (size_t)(sel >> 1 & 7);
		lim.max_field = (size_t)(sel >> 4) * 8 + 4;
		lim.max_block = (size_t)(sel >> 2) * 16;
		lim.max_line = (size_t)(sel >> 3) * 4 + 2;
	}
	struct transcript whole = { .a = arena_new() }, chunked = { .a = arena_new() };
	buf_init(&whole.b, 0);
	buf_init(&chunked.b, 0);
	run(&lim, data, size, 0, &whole);
	run(&lim, data, size, pattern | 1, &chunked);
	if (whole.b.len != chunked.b.len ||
	    memcmp(whole.b.p, chunked.b.p, whole.b.len) != 0)
		abort();
	size_t ulen;
	hdr_unfold(whole.a, (const char *)data, size, &ulen);
	buf_free(&whole.b);
	buf_free(&chunked.b);
	arena_free(&whole.a);
	arena_free(&chunked.a);
	return 0;
}
