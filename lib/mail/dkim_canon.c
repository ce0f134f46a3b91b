/*
 * DKIM canonicalization (RFC 6376 3.4): header fields simple and relaxed,
 * and the streaming body hash.
 *
 * The body canonicalizer is a small state machine fed chunks of any size;
 * its output depends only on the bytes, never on the chunking.  What it
 * holds between chunks: a count of CRLFs not yet hashed (they are hashed
 * only when data follows, because empty lines at the end of the body are
 * dropped, 3.4.3 / 3.4.4 b), a flag for a CR that may start a CRLF, and for
 * relaxed a flag for a whitespace run that becomes one SP if data follows
 * on the same line (3.4.4 a).  A CR not followed by LF, and an LF not
 * preceded by CR, are data.  With l= the hash stops after l canonical bytes
 * and the object remembers whether more would have followed.
 */
#include "dkim.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__) && defined(__SSE2__)
#include <immintrin.h>
#define SCAN_WIDE 1
#endif

#include "compiler.h"
#include "xalloc.h"

#define STAGE_SIZE 4096

struct dkim_bodyhash {
	enum dkim_canon canon;
	enum dkim_hash hash;
	bool has_l;
	uint64_t l;
	EVP_MD_CTX *md;
	struct buf *copy;	/* optional, not owned */
	uint64_t hashed;	/* canonical bytes hashed so far */
	uint64_t crlfs;		/* CRLFs held back */
	bool cr;		/* a CR held back */
	bool wsp;		/* relaxed: a WSP run held back */
	bool data;		/* some data (not only line ends) was output */
	bool over;		/* output beyond l was dropped */
	bool done;
	bool wide;		/* the 64-byte scan (stage_run64) is usable */
	uint8_t digest[DKIM_HASH_MAX];
	size_t digest_len;
	/*
	 * Canonical output is staged here and hashed in blocks: relaxed
	 * canonicalization emits word by word, and one EVP_DigestUpdate per
	 * word cost 8 times the hashing itself (bench/, 100 KB bodies).
	 */
	size_t staged;
	uint8_t stage[STAGE_SIZE];
};

static bool scan_wide_usable(void);

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The name without the WSP that may precede the colon. */
static struct slice field_name(const struct dkim_field *f)
{
	struct slice n = f->name;
	while (n.len > 0 && is_wsp((unsigned char)n.p[n.len - 1]))
		n.len--;
	return n;
}

bool dkim_field_is(const struct dkim_field *f, const char *name)
{
	return slice_eq_ci(field_name(f), name);
}

/*
 * RFC 6376 3.4.2: unfold, WSP runs to one SP, none at either end.  Text
 * between WSP goes out a span at a time (this runs for every signed field
 * of every signature).
 */
static void relaxed_value(struct slice v, struct buf *out)
{
	const char *p = v.p, *end = v.p + v.len;
	bool pending = false, started = false;
	while (p < end) {
		const char *q = p;
		while (q < end && *q != ' ' && *q != '\t' &&
		       !(*q == '\r' && q + 1 < end && q[1] == '\n'))
			q++;
		if (q > p) {
			if (pending)
				buf_putc(out, ' ');
			buf_append(out, p, (size_t)(q - p));
			pending = false;
			started = true;
			p = q;
		} else if (*p == '\r') {
			p += 2;		/* a fold: the CRLF goes, its WSP counts */
		} else {
			pending = started;
			p++;
		}
	}
}

void dkim_canon_header(enum dkim_canon c, const struct dkim_field *f, bool crlf,
		       struct buf *out)
{
	if (c == DKIM_CANON_SIMPLE) {
		/* RFC 6376 3.4.1: exactly as received. */
		buf_append(out, f->name.p, f->name.len);
		buf_putc(out, ':');
		buf_append(out, f->value.p, f->value.len);
	} else {
		struct slice n = field_name(f);
		size_t at = out->len;
		if (buf_append(out, n.p, n.len))
			for (size_t i = 0; i < n.len; i++)
				out->p[at + i] = lower(out->p[at + i]);
		buf_putc(out, ':');
		relaxed_value(f->value, out);
	}
	if (crlf)
		buf_append(out, "\r\n", 2);
}

/* ---- body ---- */

/*
 * The digests, fetched once: EVP_sha256() makes OpenSSL 3 fetch the
 * implementation again at every EVP_DigestInit_ex, a fixed cost per body
 * and header hash that is not small next to hashing 4 KB.
 */
static EVP_MD *fetched_sha1, *fetched_sha256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	fetched_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ASSERT(fetched_sha1 != NULL && fetched_sha256 != NULL);
}

const EVP_MD *dkim_hash_md(enum dkim_hash h)
{
	pthread_once(&fetch_once, fetch_digests);
	return h == DKIM_HASH_SHA1 ? fetched_sha1 : fetched_sha256;
}

struct dkim_bodyhash *dkim_bodyhash_new(enum dkim_canon canon, enum dkim_hash hash,
					bool has_l, uint64_t l)
{
	/* all but the stage zeroed: 4 KB of memset was 3% of a 4 KB body's cost */
	struct dkim_bodyhash *bh = xmalloc(sizeof(*bh));
	memset(bh, 0, offsetof(struct dkim_bodyhash, stage));
	bh->canon = canon;
	bh->hash = hash;
	bh->has_l = has_l;
	bh->l = has_l ? l : 0;
	bh->wide = scan_wide_usable();
	bh->md = EVP_MD_CTX_new();
	/* Only allocation can fail here; treat it like xmalloc does. */
	ASSERT(bh->md != NULL);
	ASSERT(EVP_DigestInit_ex(bh->md, dkim_hash_md(hash), NULL) == 1);
	return bh;
}

void dkim_bodyhash_free(struct dkim_bodyhash **bh)
{
	if (*bh == NULL)
		return;
	EVP_MD_CTX_free((*bh)->md);
	free(*bh);
	*bh = NULL;
}

bool dkim_bodyhash_same(const struct dkim_bodyhash *bh, enum dkim_canon canon,
			enum dkim_hash hash, bool has_l, uint64_t l)
{
	return bh->canon == canon && bh->hash == hash && bh->has_l == has_l &&
	       (!has_l || bh->l == l);
}

void dkim_bodyhash_copy_to(struct dkim_bodyhash *bh, struct buf *out)
{
	bh->copy = out;
}

void dkim_bodyhash_narrow_scan(struct dkim_bodyhash *bh)
{
	bh->wide = false;
}

/*
 * Hashes the stage.  l= is applied here, not byte by byte as output is
 * made: what goes past l is dropped and remembered.
 */
static void stage_flush(struct dkim_bodyhash *bh)
{
	size_t n = bh->staged;
	bh->staged = 0;
	if (bh->has_l && n > bh->l - bh->hashed) {
		bh->over = true;
		n = (size_t)(bh->l - bh->hashed);
	}
	if (n == 0)
		return;
	bh->hashed += n;
	if (bh->copy != NULL)
		buf_append(bh->copy, bh->stage, n);
	ASSERT(EVP_DigestUpdate(bh->md, bh->stage, n) == 1);
}

/* Stages canonical output made by the state machine (a few bytes). */
static void emit(struct dkim_bodyhash *bh, const void *p, size_t n)
{
	const uint8_t *s = p;
	while (n > 0) {
		if (bh->staged == STAGE_SIZE)
			stage_flush(bh);
		size_t k = STAGE_SIZE - bh->staged;
		if (k > n)
			k = n;
		memcpy(bh->stage + bh->staged, s, k);
		bh->staged += k;
		s += k;
		n -= k;
	}
}

static const char crlf_block[] =
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

/* Data follows: what was held back was not the end of the body. */
static void flush_pending(struct dkim_bodyhash *bh)
{
	while (bh->crlfs > 0 && !bh->over) {
		uint64_t n = bh->crlfs < 16 ? bh->crlfs : 16;
		emit(bh, crlf_block, (size_t)n * 2);
		bh->crlfs -= n;
	}
	bh->crlfs = 0;
	if (bh->wsp)
		emit(bh, " ", 1);
	bh->wsp = false;
}

/* Data follows: output what was held back, if anything. */
static inline void data_follows(struct dkim_bodyhash *bh)
{
	if (bh->crlfs > 0 || bh->wsp)
		flush_pending(bh);
	bh->data = true;
}

/* Is c a byte a run of plain data stops at? */
static bool is_special(const struct dkim_bodyhash *bh, uint8_t c)
{
	return c == '\r' || (bh->canon == DKIM_CANON_RELAXED && is_wsp(c));
}

/*
 * Where a run of bytes that canonicalize to themselves, starting at j,
 * ends.  Simple: at a CR, unless it is a CRLF followed by a byte other than
 * CR (a line end that is not followed by an empty line, which might be the
 * last).  Relaxed: at a tab; at a space followed by a space, a tab or a CR
 * (a WSP run, or WSP at the end of a line); at a CR, unless it is a CRLF
 * followed by a byte above SP (a line end with text after it).  So ordinary
 * text goes through many lines at a time.  A stop may be early (the state
 * machine then outputs the byte itself), never late.
 */
static bool starts_line(const struct dkim_bodyhash *bh, uint8_t c)
{
	return bh->canon == DKIM_CANON_SIMPLE ? c != '\r' : c > ' ';
}

static bool crlf_text(const struct dkim_bodyhash *bh, const uint8_t *p, size_t j, size_t n)
{
	return n - j >= 3 && p[j + 1] == '\n' && starts_line(bh, p[j + 2]);
}

static size_t scalar_run_end(const struct dkim_bodyhash *bh, const uint8_t *p, size_t j,
			     size_t n)
{
	bool relaxed = bh->canon == DKIM_CANON_RELAXED;
	while (j < n) {
		uint8_t c = p[j];
		if (c == '\r' && !crlf_text(bh, p, j, n))
			break;
		if (relaxed && c == '\t')
			break;
		if (relaxed && c == ' ' &&
		    (j + 1 == n || p[j + 1] == ' ' || p[j + 1] == '\t' || p[j + 1] == '\r'))
			break;	/* a space last in the chunk: what follows decides */
		j++;
	}
	return j;
}

/* Stages the run from j a byte at a time; returns where it ends. */
static size_t stage_tail(struct dkim_bodyhash *bh, const uint8_t *p, size_t j, size_t n)
{
	size_t e = scalar_run_end(bh, p, j, n);
	emit(bh, p + j, e - j);
	return e;
}

/*
 * The same, many bytes at a time.  Each step stores all the bytes it
 * looked at in the stage and keeps those before the stop: the run is
 * copied as it is scanned, and the common stops are settled on the way
 * (settle_stop).  The last bytes of the chunk, fewer than a step and its
 * two bytes of look-ahead, go to the narrower scan.
 */
#ifdef __SSE2__
/*
 * A stop inside a run, in the forms ordinary text has, settled without
 * leaving the scan: a WSP run between words (relaxed: one SP), WSP at the
 * end of a line with text on the next (relaxed: dropped), and line ends
 * followed by empty lines and then text (not the end of the body: output
 * as they are).  Returns where the run goes on (a byte that is not a
 * stop), or j to leave the stop to the state machine: any other form, or
 * the chunk ends before it is clear.  bench/'s 4 KB body: 2 % faster.
 */
static size_t settle_stop(struct dkim_bodyhash *bh, const uint8_t *p, size_t j, size_t n)
{
	size_t e = j;
	if (bh->canon == DKIM_CANON_RELAXED && is_wsp(p[j])) {
		while (e < n && is_wsp(p[e]))
			e++;
		if (e < n && p[e] > ' ') {
			emit(bh, " ", 1);
			return e;
		}
	}
	size_t crlfs = e;
	while (n - e >= 2 && p[e] == '\r' && p[e + 1] == '\n')
		e += 2;
	if (e == crlfs || e == n || !starts_line(bh, p[e]))
		return j;
	emit(bh, p + crlfs, e - crlfs);
	return e;
}

/* Where the next step of a scan stores: o, or 0 once a full stage is hashed. */
static inline size_t stage_room(struct dkim_bodyhash *bh, size_t o, size_t step)
{
	if (STAGE_SIZE - o >= step)
		return o;
	bh->staged = o;
	stage_flush(bh);
	return 0;
}

/*
 * The step at j, stored at o, found stops: keeps what is before the first
 * and settles it if it can.  True: the scan goes on at *j, storing at *o.
 * False: the run ends at *j.
 */
static inline bool stop_settled(struct dkim_bodyhash *bh, const uint8_t *p, size_t n,
				uint64_t mask, size_t *o, size_t *j)
{
	size_t at = *j + (unsigned)__builtin_ctzll(mask);
	bh->staged = *o + (at - *j);
	*j = settle_stop(bh, p, at, n);
	*o = bh->staged;
	return *j != at;
}

/* 16 bytes: bit k is set when byte j+k stops, given a = bytes j.., b = j+1.., c = j+2.. */
static unsigned stop_mask16(bool relaxed, __m128i a, __m128i b, __m128i c)
{
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	__m128i is_cr = _mm_cmpeq_epi8(a, cr);
	__m128i line_on;	/* a CRLF with a line after it that needs nothing */
	if (!relaxed) {
		line_on = _mm_andnot_si128(_mm_cmpeq_epi8(c, cr), _mm_cmpeq_epi8(b, lf));
		return (unsigned)_mm_movemask_epi8(_mm_andnot_si128(line_on, is_cr));
	}
	const __m128i tab = _mm_set1_epi8('\t'), sp = _mm_set1_epi8(' ');
	/* bytes of c above SP (SSE2 has no unsigned compare: max does it) */
	const __m128i floor = _mm_set1_epi8(0x21);
	__m128i c_text = _mm_cmpeq_epi8(_mm_max_epu8(c, floor), c);
	line_on = _mm_and_si128(_mm_cmpeq_epi8(b, lf), c_text);
	__m128i stop = _mm_or_si128(_mm_andnot_si128(line_on, is_cr), _mm_cmpeq_epi8(a, tab));
	__m128i next_ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, sp), _mm_cmpeq_epi8(b, tab)),
				       _mm_cmpeq_epi8(b, cr));
	stop = _mm_or_si128(stop, _mm_and_si128(_mm_cmpeq_epi8(a, sp), next_ws));
	return (unsigned)_mm_movemask_epi8(stop);
}

static size_t stage_run16(struct dkim_bodyhash *bh, const uint8_t *p, size_t j, size_t n)
{
	bool relaxed = bh->canon == DKIM_CANON_RELAXED;
	size_t o = bh->staged;
	while (n - j >= 16 + 2) {
		o = stage_room(bh, o, 16);
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + j));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + j + 1));
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + j + 2));
		unsigned mask = stop_mask16(relaxed, a, b, c);
		_mm_storeu_si128((__m128i *)(void *)(bh->stage + o), a);
		if (mask == 0) {
			o += 16;
			j += 16;
		} else if (!stop_settled(bh, p, n, mask, &o, &j)) {
			return j;
		}
	}
	bh->staged = o;
	return stage_tail(bh, p, j, n);
}
#endif

#ifdef SCAN_WIDE
/*
 * 64 bytes, where AVX-512BW is there: compares into mask registers do in
 * one instruction what SSE2 needs two or three for.  bench/'s 4 KB body
 * went from 0.79 to 0.82 of SHA-256's own rate, 100 KB from 0.80 to 0.84
 * (before settle_stop); 32 bytes a step (AVX-512VL) gave 0.82 and 0.83
 * (December 2026).
 */
__attribute__((target("avx512bw")))
static uint64_t stop_mask64(bool relaxed, __m512i a, __m512i b, __m512i c)
{
	const __m512i cr = _mm512_set1_epi8('\r'), lf = _mm512_set1_epi8('\n');
	uint64_t is_cr = _mm512_cmpeq_epi8_mask(a, cr);
	uint64_t line_on = _mm512_cmpeq_epi8_mask(b, lf);
	if (!relaxed)
		return is_cr & ~(line_on & ~(uint64_t)_mm512_cmpeq_epi8_mask(c, cr));
	const __m512i tab = _mm512_set1_epi8('\t'), sp = _mm512_set1_epi8(' ');
	line_on &= _mm512_cmpgt_epu8_mask(c, sp);
	uint64_t next_ws = _mm512_cmpeq_epi8_mask(b, sp) | _mm512_cmpeq_epi8_mask(b, tab) |
			   _mm512_cmpeq_epi8_mask(b, cr);
	return (is_cr & ~line_on) | _mm512_cmpeq_epi8_mask(a, tab) |
	       (_mm512_cmpeq_epi8_mask(a, sp) & next_ws);
}

__attribute__((target("avx512bw")))
static size_t stage_run64(struct dkim_bodyhash *bh, const uint8_t *p, size_t j, size_t n)
{
	bool relaxed = bh->canon == DKIM_CANON_RELAXED;
	size_t o = bh->staged;
	while (n - j >= 64 + 2) {
		o = stage_room(bh, o, 64);
		__m512i a = _mm512_loadu_si512((const void *)(p + j));
		__m512i b = _mm512_loadu_si512((const void *)(p + j + 1));
		__m512i c = _mm512_loadu_si512((const void *)(p + j + 2));
		uint64_t mask = stop_mask64(relaxed, a, b, c);
		_mm512_storeu_si512((void *)(bh->stage + o), a);
		if (mask == 0) {
			o += 64;
			j += 64;
		} else if (!stop_settled(bh, p, n, mask, &o, &j)) {
			return j;
		}
	}
	bh->staged = o;
	return stage_run16(bh, p, j, n);
}

static bool scan_wide_usable(void)
{
	return __builtin_cpu_supports("avx512bw");
}
#else
static bool scan_wide_usable(void)
{
	return false;
}
#endif

static size_t stage_run(struct dkim_bodyhash *bh, const uint8_t *p, size_t j, size_t n)
{
#ifdef SCAN_WIDE
	if (bh->wide)
		return stage_run64(bh, p, j, n);
#endif
#ifdef __SSE2__
	return stage_run16(bh, p, j, n);
#else
	return stage_tail(bh, p, j, n);
#endif
}

void dkim_bodyhash_update(struct dkim_bodyhash *bh, const uint8_t *p, size_t n)
{
	ASSERT(!bh->done);
	for (size_t i = 0; i < n && !bh->over; i++) {
		uint8_t c = p[i];
		if (bh->cr) {
			bh->cr = false;
			if (c == '\n') {
				/* Line end: WSP before it is dropped (3.4.4 a). */
				bh->crlfs++;
				bh->wsp = false;
				continue;
			}
			data_follows(bh);
			emit(bh, "\r", 1);
		}
		if (c == '\r') {
			bh->cr = true;
			continue;
		}
		if (is_special(bh, c)) {
			bh->wsp = true;
			continue;
		}
		/* Data: p[i] is not a stop, so the run holds at least it. */
		data_follows(bh);
		i = stage_run(bh, p, i, n) - 1;
	}
}

size_t dkim_bodyhash_final(struct dkim_bodyhash *bh, uint8_t out[DKIM_HASH_MAX])
{
	if (!bh->done) {
		if (bh->cr && !bh->over) {
			data_follows(bh);
			emit(bh, "\r", 1);
		}
		/* Trailing empty lines are dropped; a last line gets its CRLF
		   (3.4.3); simple turns an empty body into one CRLF, relaxed
		   leaves it empty (3.4.4 b). */
		if (bh->canon == DKIM_CANON_SIMPLE || bh->data)
			emit(bh, "\r\n", 2);
		stage_flush(bh);
		unsigned int len = 0;
		ASSERT(EVP_DigestFinal_ex(bh->md, bh->digest, &len) == 1);
		bh->digest_len = len;
		bh->done = true;
	}
	memcpy(out, bh->digest, bh->digest_len);
	return bh->digest_len;
}

uint64_t dkim_bodyhash_length(const struct dkim_bodyhash *bh)
{
	return bh->hashed;
}

bool dkim_bodyhash_truncated(const struct dkim_bodyhash *bh)
{
	return bh->over;
}
