/*
 * Fuzz target for DKIM canonicalization (lib/mail/dkim_canon.c).
 *
 * Byte 0 picks the body canonicalization and an l= (or none), byte 1 seeds
 * the chunk sizes; the rest is a body, hashed all at once (the widest SIMD
 * scan the CPU has), all at once with the 16-byte SSE2 scan, one byte at a
 * time (the scalar one) and in input-driven chunks: digests,
 * length and the l= flag must be identical, and equal to those of a
 * reference canonicalizer written the plain way from RFC 6376 3.4.3/3.4.4
 * (lines, WSP runs, trailing empty lines), hashed with OpenSSL directly.
 * The same bytes are also canonicalized as a header field value both
 * ways; relaxed output must hold no WSP runs, no HTAB, no final SP.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	uint8_t d[DKIM_HASH_MAX];
	uint64_t len;
	bool over;
};

static void run(enum dkim_canon c, bool has_l, uint64_t l, const uint8_t *p, size_t n,
		int mode, uint8_t seed, struct result *r)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(c, DKIM_HASH_SHA256, has_l, l);
	if (mode == 3)
		dkim_bodyhash_narrow_scan(bh);
	size_t i = 0;
	while (i < n) {
		size_t k = mode == 0 || mode == 3 ? n
			   : mode == 1		  ? 1
						  : 1 + (size_t)((p[i] ^ seed) % 13);
		if (k > n - i)
			k = n - i;
		dkim_bodyhash_update(bh, p + i, k);
		i += k;
	}
	dkim_bodyhash_final(bh, r->d);
	r->len = dkim_bodyhash_length(bh);
	r->over = dkim_bodyhash_truncated(bh);
	dkim_bodyhash_free(&bh);
}

/* RFC 6376 3.4.3 / 3.4.4, line by line, without any cleverness. */
static void reference(enum dkim_canon c, const uint8_t *p, size_t n, struct buf *out)
{
	size_t nonempty_end = 0;	/* out's length after the last non-empty line */
	size_t i = 0;
	while (i < n) {
		size_t e = i;
		while (e < n && !(p[e] == '\r' && e + 1 < n && p[e + 1] == '\n'))
			e++;
		size_t start = out->len;
		for (size_t k = i; k < e; k++) {
			bool ws = p[k] == ' ' || p[k] == '\t';
			if (c == DKIM_CANON_RELAXED && ws) {
				if (out->len == start || out->p[out->len - 1] != ' ')
					buf_putc(out, ' ');
			} else {
				buf_putc(out, (char)p[k]);
			}
		}
		if (c == DKIM_CANON_RELAXED && out->len > start && out->p[out->len - 1] == ' ')
			buf_truncate(out, out->len - 1);
		bool empty = out->len == start;
		buf_append(out, "\r\n", 2);
		if (!empty)
			nonempty_end = out->len;
		i = e < n ? e + 2 : n;
	}
	buf_truncate(out, nonempty_end);	/* trailing empty lines go */
	if (out->len == 0 && c == DKIM_CANON_SIMPLE)
		buf_append(out, "\r\n", 2);
}

static void check_reference(enum dkim_canon c, bool has_l, uint64_t l, const uint8_t *p,
			    size_t n, const struct result *r)
{
	struct buf b;
	buf_init(&b, 0);
	reference(c, p, n, &b);
	size_t len = has_l && b.len > l ? (size_t)l : b.len;
	uint8_t d[DKIM_HASH_MAX] = { 0 };
	unsigned int dl = 0;
	EVP_Digest(b.p, len, d, &dl, EVP_sha256(), NULL);
	if (memcmp(d, r->d, dl) != 0 || r->len != len || r->over != (has_l && b.len > l))
		abort();
	buf_free(&b);
}

static void check_header(const uint8_t *p, size_t n)
{
	struct dkim_field f = { slice_cstr("X-Fuzz"), slice_make((const char *)p, n) };
	struct buf b;
	buf_init(&b, 0);
	dkim_canon_header(DKIM_CANON_SIMPLE, &f, true, &b);
	if (b.len != n + 9)
		abort();
	buf_reset(&b);
	dkim_canon_header(DKIM_CANON_RELAXED, &f, false, &b);
	for (size_t i = 0; i < b.len; i++) {
		if (b.p[i] == '\t' || (b.p[i] == ' ' && (i + 1 == b.len || b.p[i + 1] == ' ')))
			abort();
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum dkim_canon c = (data[0] & 1) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	bool has_l = (data[0] & 2) != 0;
	uint64_t l = data[0] >> 2;
	uint8_t seed = data[1];
	const uint8_t *p = data + 2;
	size_t n = size - 2;
	struct result r[4];
	for (int mode = 0; mode < 4; mode++)
		run(c, has_l, l, p, n, mode, seed, &r[mode]);
	for (int mode = 1; mode < 4; mode++)
		if (memcmp(r[0].d, r[mode].d, sizeof(r[0].d)) != 0 || r[0].len != r[mode].len ||
		    r[0].over != r[mode].over)
			abort();
	if (has_l && r[0].len > l)
		abort();
	check_reference(c, has_l, l, p, n, &r[0]);
	check_header(p, n);
	return 0;
}
