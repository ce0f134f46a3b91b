/*
 * Tests of the header reader (lib/mail/header.c): every case is fed all at once,
 * one byte at a time and in random chunks, and the three transcripts must
 * agree with the expected one.  Also the limits, the stop paths, unfolding
 * and field-name validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "header.h"
#include "t.h"

/* ---- a recorder: fields and end of header as text, body bytes apart ---- */

struct rec {
	struct buf log;		/* "F[name][value]\n" ... "E\n", escaped */
	struct buf body;
	bool eoh;
	bool body_before_eoh;
	size_t fields;
	size_t body_calls;
	size_t stop_after_fields;	/* field returns false after this many (0: never) */
	bool stop_at_eoh;
	bool stop_at_body;
};

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->log, 0);
	buf_init(&r->body, 0);
}

static void rec_free(struct rec *r)
{
	buf_free(&r->log);
	buf_free(&r->body);
}

/* Escapes CR, LF, NUL and other controls so expectations stay readable. */
static void put_escaped(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r')
			buf_puts(b, "\\r");
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, (char)c);
	}
}

static bool on_field(void *ctx, const char *name, size_t name_len,
		     const char *value, size_t value_len)
{
	struct rec *r = ctx;
	buf_puts(&r->log, "F[");
	put_escaped(&r->log, name, name_len);
	buf_puts(&r->log, "][");
	put_escaped(&r->log, value, value_len);
	buf_puts(&r->log, "]\n");
	r->fields++;
	return r->stop_after_fields == 0 || r->fields < r->stop_after_fields;
}

static bool on_eoh(void *ctx)
{
	struct rec *r = ctx;
	buf_puts(&r->log, "E\n");
	r->eoh = true;
	return !r->stop_at_eoh;
}

static bool on_body(void *ctx, const uint8_t *data, size_t len)
{
	struct rec *r = ctx;
	if (!r->eoh)
		r->body_before_eoh = true;
	buf_append(&r->body, data, len);
	r->body_calls++;
	return !r->stop_at_body;
}

static const struct hdr_callbacks callbacks = { on_field, on_eoh, on_body };

enum mode { ALL, BYTES, RANDOM };

/* Feeds in the mode; returns the first error of feed or finish. */
static enum hdr_error run(const struct hdr_limits *lim, const char *in, size_t len,
			  enum mode mode, unsigned seed, struct rec *rec)
{
	struct hdr_reader *r = hdr_reader_new(lim, &callbacks, rec);
	enum hdr_error e = HDR_OK;
	size_t i = 0;
	srand(seed);
	while (i < len && e == HDR_OK) {
		size_t n = len - i;
		if (mode == BYTES)
			n = 1;
		else if (mode == RANDOM && n > 1)
			n = 1 + (size_t)rand() % (n < 17 ? n : 17);
		e = hdr_reader_feed(r, (const uint8_t *)in + i, n);
		i += n;
	}
	if (e == HDR_OK)
		e = hdr_reader_finish(r);
	hdr_reader_free(&r);
	T_CHECK(r == NULL);
	return e;
}

/* Runs every mode and checks each against the expectation. */
static void check_modes(const struct hdr_limits *lim, const char *in, size_t len,
			enum hdr_error want_err, const char *want_log,
			const char *want_body, size_t want_body_len)
{
	static const enum mode modes[] = { ALL, BYTES, RANDOM, RANDOM, RANDOM };
	for (size_t m = 0; m < ARRAY_LEN(modes); m++) {
		struct rec rec;
		rec_init(&rec);
		enum hdr_error e = run(lim, in, len, modes[m], (unsigned)m, &rec);
		if (e != want_err || strcmp(rec.log.p, want_log) != 0 ||
		    rec.body.len != want_body_len ||
		    memcmp(rec.body.p, want_body, want_body_len) != 0 ||
		    rec.body_before_eoh) {
			struct buf b;
			buf_init(&b, 0);
			put_escaped(&b, rec.body.p, rec.body.len);
			t_fail(__FILE__, __LINE__,
			       "mode %zu input \"%.40s\": err %d (want %d)\nlog:\n%sbody: \"%s\"",
			       m, in, (int)e, (int)want_err, rec.log.p, b.p);
			buf_free(&b);
		}
		rec_free(&rec);
	}
}

/* The same for text without NUL bytes. */
static void check_str(const struct hdr_limits *lim, const char *in,
		      enum hdr_error want_err, const char *want_log, const char *want_body)
{
	check_modes(lim, in, strlen(in), want_err, want_log, want_body,
		    strlen(want_body));
}

#define CASE(in, log, body) { in, sizeof(in) - 1, log, body, sizeof(body) - 1 }

struct hcase {
	const char *in;
	size_t len;
	const char *log;
	const char *body;
	size_t body_len;
};

static void check_table(const struct hcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_modes(NULL, c[i].in, c[i].len, HDR_OK, c[i].log, c[i].body,
			    c[i].body_len);
}

static void test_reads_fields_and_body(void)
{
	static const struct hcase c[] = {
		CASE("From: a@b\r\nSubject: hi\r\n\r\nbody\r\n",
		     "F[From][ a@b]\nF[Subject][ hi]\nE\n", "body\r\n"),
		CASE("X:\r\n\r\n", "F[X][]\nE\n", ""),
		CASE("Subject:\tx\r\n\r\n", "F[Subject][\\tx]\nE\n", ""),
		CASE("A: 1\r\n\r\n\r\n", "F[A][ 1]\nE\n", "\r\n"),
		CASE("A: 1\r\nA: 2\r\n\r\nx", "F[A][ 1]\nF[A][ 2]\nE\n", "x"),
		CASE("A:b:c\r\n\r\n", "F[A][b:c]\nE\n", ""),
	};
	check_table(c, ARRAY_LEN(c));
}

static void test_normalises_line_ends(void)
{
	static const struct hcase c[] = {
		/* bare LF becomes CRLF, in header and body */
		CASE("From: a\nSubject: b\n\nx\ny\n", "F[From][ a]\nF[Subject][ b]\nE\n",
		     "x\r\ny\r\n"),
		CASE("From: a\n\nbody", "F[From][ a]\nE\n", "body"),
		/* mixed */
		CASE("A: 1\r\n\na\r\nb\nc\r\r\n", "F[A][ 1]\nE\n", "a\r\nb\r\nc\r\r\n"),
		/* bare CR is data, in a value and in the body */
		CASE("Subject: a\rb\r\n\r\n", "F[Subject][ a\\rb]\nE\n", ""),
		CASE("\r\na\rb\r\n", "E\n", "a\rb\r\n"),
		CASE("\r\nabc\r", "E\n", "abc\r"),
		CASE("\r\n\r", "E\n", "\r"),
		CASE("\r\n\r\r\r\n\n", "E\n", "\r\r\r\n\r\n"),
		/* a CR before CRLF is not a blank line */
		CASE("From: a\r\n\r\r\nb", "F[From][ a]\nE\n", "\r\r\nb"),
	};
	check_table(c, ARRAY_LEN(c));
}

static void test_keeps_folds(void)
{
	static const struct hcase c[] = {
		CASE("Subject: a\r\n\tb\r\n c\r\n\r\n", "F[Subject][ a\\r\\n\\tb\\r\\n c]\nE\n", ""),
		CASE("Subject: a\n b\n\n", "F[Subject][ a\\r\\n b]\nE\n", ""),
		/* a fold of whitespace only (RFC 5322 4.2 obs-FWS) */
		CASE("From: a\r\n \r\n\r\n", "F[From][ a\\r\\n ]\nE\n", ""),
		CASE("A: 1\r\n 2\r\nB: 3\r\n\r\n", "F[A][ 1\\r\\n 2]\nF[B][ 3]\nE\n", ""),
	};
	check_table(c, ARRAY_LEN(c));
}

static void test_strips_space_before_colon(void)
{
	static const struct hcase c[] = {
		CASE("Subject : x\r\n\r\n", "F[Subject][ x]\nE\n", ""),
		CASE("Subject\t \t: x\r\n\r\n", "F[Subject][ x]\nE\n", ""),
	};
	check_table(c, ARRAY_LEN(c));
}

static void test_non_field_line_starts_body(void)
{
	static const struct hcase c[] = {
		CASE("From: a\r\nnot a header\r\nmore\r\n", "F[From][ a]\nE\n",
		     "not a header\r\nmore\r\n"),
		CASE("Foo Bar: x\r\n\r\n", "E\n", "Foo Bar: x\r\n\r\n"),
		CASE(":novalue\r\nA: b\r\n", "E\n", ":novalue\r\nA: b\r\n"),
		CASE("Sub\rject: x\r\n\r\n", "E\n", "Sub\rject: x\r\n\r\n"),
		CASE("From: a\nnocolon\nTo: b\n\nx", "F[From][ a]\nE\n",
		     "nocolon\r\nTo: b\r\n\r\nx"),
		/* a continuation before any field is not header either */
		CASE(" leading\r\nFrom: a\r\n\r\n", "E\n", " leading\r\nFrom: a\r\n\r\n"),
		CASE("\tx\n", "E\n", "\tx\r\n"),
	};
	check_table(c, ARRAY_LEN(c));
}

static void test_handles_missing_parts(void)
{
	static const struct hcase c[] = {
		CASE("", "E\n", ""),
		CASE("\r\n", "E\n", ""),
		CASE("\n", "E\n", ""),
		CASE("\r\nbody", "E\n", "body"),
		CASE("\nbody\n", "E\n", "body\r\n"),
		/* only headers, no blank line */
		CASE("From: a\r\nTo: b\r\n", "F[From][ a]\nF[To][ b]\nE\n", ""),
		/* last line without a line end */
		CASE("From: a\r\nTo: b", "F[From][ a]\nF[To][ b]\nE\n", ""),
		CASE("From: a\r\n b", "F[From][ a\\r\\n b]\nE\n", ""),
		CASE("From: a\r\nxyz", "F[From][ a]\nE\n", "xyz"),
		CASE("From: a\r", "F[From][ a\\r]\nE\n", ""),
		CASE("x", "E\n", "x"),
	};
	check_table(c, ARRAY_LEN(c));
}

static void test_keeps_nul_bytes(void)
{
	static const struct hcase c[] = {
		CASE("X\0Y: a\0b\r\n\r\nc\0d", "F[X\\x00Y][ a\\x00b]\nE\n", "c\0d"),
		CASE("\0\r\n", "E\n", "\0\r\n"),
	};
	check_table(c, ARRAY_LEN(c));
}

static struct hdr_limits limits(size_t count, size_t field, size_t block, size_t line)
{
	struct hdr_limits l = { count, field, block, line };
	return l;
}

/* Builds n copies of `line` (freed by caller). */
static char *repeat(const char *line, size_t n, size_t *len_r)
{
	size_t l = strlen(line);
	char *s = malloc(l * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * l, line, l);
	s[l * n] = '\0';
	*len_r = l * n;
	return s;
}

static void test_limits_field_count(void)
{
	struct hdr_limits lim = limits(1000, 1000, 1 << 20, 1000);
	size_t len;
	char *s = repeat("X: y\r\n", 10000, &len);
	struct rec rec;
	rec_init(&rec);
	T_EQ_INT(run(&lim, s, len, ALL, 0, &rec), HDR_ERR_COUNT);
	/* what was read before the limit was delivered; no end of header */
	T_EQ_INT(rec.fields, 1000);
	T_CHECK(!rec.eoh);
	rec_free(&rec);

	/* exactly at the limit is fine */
	rec_init(&rec);
	T_EQ_INT(run(&lim, s, 1000 * 6, BYTES, 0, &rec), HDR_OK);
	T_EQ_INT(rec.fields, 1000);
	T_CHECK(rec.eoh);
	rec_free(&rec);
	free(s);
}

static void test_limits_line_length(void)
{
	struct hdr_limits lim = limits(10, 100, 1000, 10);
	/* 10 bytes and a line end are fine, in every mode (CR held back) */
	check_str(&lim, "A: 3456789\r\n\r\n", HDR_OK, "F[A][ 3456789]\nE\n", "");
	check_str(&lim, "A: 3456789\r", HDR_ERR_LINE, "", "");
	check_str(&lim, "A: 34567890\r\n", HDR_ERR_LINE, "", "");
	check_str(&lim, "A: 3456789\rx", HDR_ERR_LINE, "", "");
	check_str(&lim, "A: 1\r\nB: 34567890", HDR_ERR_LINE, "", "");
	/* the pending field is not delivered: the long line might continue it */
	check_str(&lim, "A: 1\r\n 2345678901", HDR_ERR_LINE, "", "");
	/* body lines have no limit */
	check_modes(&lim, "\r\n12345678901234567890\r\n", 24, HDR_OK, "E\n",
		    "12345678901234567890\r\n", 22);
}

static void test_limits_hostile_sizes(void)
{
	/* a 100k value against the default 64k line limit */
	size_t len;
	char *v = repeat("x", 100000, &len);
	memcpy(v, "Subject: ", 9);
	struct rec rec;
	rec_init(&rec);
	T_EQ_INT(run(NULL, v, len, RANDOM, 1, &rec), HDR_ERR_LINE);
	T_EQ_INT(rec.fields, 0);
	rec_free(&rec);
	free(v);

	/* a 1 MB line, no line end: in the header an error, in the body data */
	char *m = repeat("a", 1 << 20, &len);
	rec_init(&rec);
	T_EQ_INT(run(NULL, m, len, ALL, 0, &rec), HDR_ERR_LINE);
	rec_free(&rec);
	m[0] = '\n';
	rec_init(&rec);
	T_EQ_INT(run(NULL, m, len, RANDOM, 2, &rec), HDR_OK);
	T_EQ_INT(rec.body.len, len - 1);
	rec_free(&rec);
	free(m);
}

static void test_limits_field_size(void)
{
	struct hdr_limits lim = limits(10, 20, 1000, 100);
	/* one line over max_field */
	check_str(&lim, "A: 345678901234567890\r\n", HDR_ERR_FIELD, "", "");
	/* 20 bytes as folded: "A: 1", CRLF, " 3456789012345" = 4 + 2 + 14 */
	check_str(&lim, "A: 1\r\n 3456789012345\r\n\r\n", HDR_OK,
		  "F[A][ 1\\r\\n 3456789012345]\nE\n", "");
	check_str(&lim, "A: 1\r\n 34567890123456\r\n\r\n", HDR_ERR_FIELD, "", "");
	/* many short folds */
	check_str(&lim, "B: 1\r\nA: 1\r\n 2\r\n 3\r\n 4\r\n 5\r\n 6\r\n", HDR_ERR_FIELD, "F[B][ 1]\n", "");
}

static void test_limits_block_size(void)
{
	struct hdr_limits lim = limits(100, 100, 18, 100);
	/* each line counts with its CRLF: 6 + 6 + 6 = 18 fits */
	check_str(&lim, "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", HDR_OK, "F[A][ 1]\nF[B][ 2]\nF[C][ 3]\nE\n", "");
	check_str(&lim, "A: 1\r\nB: 2\r\nC: 3\r\n 4\r\n\r\n", HDR_ERR_BLOCK, "F[A][ 1]\nF[B][ 2]\n", "");
	check_str(&lim, "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", HDR_ERR_BLOCK, "F[A][ 1]\nF[B][ 2]\nF[C][ 3]\n", "");
}

static void test_error_is_sticky(void)
{
	struct hdr_limits lim = limits(1, 100, 100, 100);
	struct rec rec;
	rec_init(&rec);
	struct hdr_reader *r = hdr_reader_new(&lim, &callbacks, &rec);
	const char *in = "A: 1\r\nB: 2\r\n";
	T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)in, strlen(in)), HDR_ERR_COUNT);
	T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)"\r\n", 2), HDR_ERR_COUNT);
	T_EQ_INT(hdr_reader_finish(r), HDR_ERR_COUNT);
	T_EQ_STR(rec.log.p, "F[A][ 1]\n");
	hdr_reader_free(&r);
	hdr_reader_free(&r);
	rec_free(&rec);
}

static void test_callback_false_stops_quietly(void)
{
	const char *in = "A: 1\r\nB: 2\r\n\r\nbody\r\n";
	struct rec rec;

	rec_init(&rec);
	rec.stop_after_fields = 1;
	T_EQ_INT(run(NULL, in, strlen(in), BYTES, 0, &rec), HDR_OK);
	T_EQ_STR(rec.log.p, "F[A][ 1]\n");
	rec_free(&rec);

	/* a stop from the last field, delivered at the end of the header */
	rec_init(&rec);
	rec.stop_after_fields = 2;
	T_EQ_INT(run(NULL, in, strlen(in), ALL, 0, &rec), HDR_OK);
	T_EQ_STR(rec.log.p, "F[A][ 1]\nF[B][ 2]\n");
	rec_free(&rec);

	rec_init(&rec);
	rec.stop_at_eoh = true;
	T_EQ_INT(run(NULL, in, strlen(in), ALL, 0, &rec), HDR_OK);
	T_EQ_STR(rec.log.p, "F[A][ 1]\nF[B][ 2]\nE\n");
	T_EQ_INT(rec.body.len, 0);
	rec_free(&rec);

	rec_init(&rec);
	rec.stop_at_body = true;
	T_EQ_INT(run(NULL, in, strlen(in), BYTES, 0, &rec), HDR_OK);
	T_EQ_INT(rec.body_calls, 1);
	rec_free(&rec);

	/* stopping from a non-field line that starts the body */
	rec_init(&rec);
	rec.stop_at_eoh = true;
	T_EQ_INT(run(NULL, "nocolon\r\n", 9, ALL, 0, &rec), HDR_OK);
	T_EQ_INT(rec.body.len, 0);
	rec_free(&rec);
}

static void test_body_staged_in_bounded_chunks(void)
{
	struct buf in, want;
	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_puts(&in, "A: 1\n\n");
	for (int i = 0; i < 3000; i++) {
		buf_puts(&in, "abcdefghij\n");
		buf_puts(&want, "abcdefghij\r\n");
	}
	for (int i = 0; i < 20000; i++) {
		buf_putc(&in, 'x');
		buf_putc(&want, 'x');
	}
	buf_puts(&in, "\n");
	buf_puts(&want, "\r\n");
	check_modes(NULL, in.p, in.len, HDR_OK, "F[A][ 1]\nE\n", want.p, want.len);

	/* many callbacks, none larger than the staging area or one run */
	struct rec rec;
	rec_init(&rec);
	T_EQ_INT(run(NULL, in.p, in.len, ALL, 0, &rec), HDR_OK);
	T_CHECK(rec.body_calls > 4);
	rec_free(&rec);

	/* a stop from the body callback while staging */
	rec_init(&rec);
	rec.stop_at_body = true;
	T_EQ_INT(run(NULL, in.p, in.len, ALL, 0, &rec), HDR_OK);
	T_EQ_INT(rec.body_calls, 1);
	T_CHECK(rec.body.len <= 8192);
	rec_free(&rec);
	buf_free(&in);
	buf_free(&want);
}

static void test_streams_body_before_finish(void)
{
	struct rec rec;
	rec_init(&rec);
	struct hdr_reader *r = hdr_reader_new(NULL, &callbacks, &rec);
	size_t len;
	char *body = repeat("line of body\n", 100000, &len);
	T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)"A: 1\n\n", 6), HDR_OK);
	for (size_t i = 0; i < len; i += 4096)
		T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)body + i,
					 len - i < 4096 ? len - i : 4096), HDR_OK);
	/* everything was handed on during feed, nothing waits for finish */
	T_EQ_INT(rec.body.len, len + 100000);
	T_EQ_INT(hdr_reader_finish(r), HDR_OK);
	T_EQ_INT(rec.body.len, len + 100000);
	/* finish twice, and feed after finish, are harmless */
	T_EQ_INT(hdr_reader_finish(r), HDR_OK);
	T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)"x", 1), HDR_OK);
	T_EQ_INT(rec.body.len, len + 100000);
	hdr_reader_free(&r);
	free(body);
	rec_free(&rec);
}

static void test_null_callbacks_are_skipped(void)
{
	struct hdr_callbacks none = { NULL, NULL, NULL };
	struct hdr_reader *r = hdr_reader_new(NULL, &none, NULL);
	const char *in = "A: 1\r\nB: 2\r\n\r\nbody\r\nmore";
	T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)in, strlen(in)), HDR_OK);
	T_EQ_INT(hdr_reader_finish(r), HDR_OK);
	hdr_reader_free(&r);
}

static bool on_field_raw(void *ctx, const char *name, size_t name_len,
			 const char *value, size_t value_len)
{
	(void)name_len;
	buf_append(ctx, name, (size_t)(value + value_len - name));
	return true;
}

static void test_field_raw_bytes_contiguous(void)
{
	struct hdr_callbacks cb = { on_field_raw, NULL, NULL };
	struct buf raw;
	buf_init(&raw, 0);
	struct hdr_reader *r = hdr_reader_new(NULL, &cb, &raw);
	const char *in = "Subject \t: a\n b\n\n";
	T_EQ_INT(hdr_reader_feed(r, (const uint8_t *)in, strlen(in)), HDR_OK);
	T_EQ_INT(hdr_reader_finish(r), HDR_OK);
	T_EQ_STR(raw.p, "Subject \t: a\r\n b");
	hdr_reader_free(&r);
	buf_free(&raw);
}

static void test_error_text_names_limit(void)
{
	T_EQ_STR(hdr_error_text(HDR_OK), "no error");
	T_EQ_STR(hdr_error_text(HDR_ERR_COUNT), "too many header fields");
	T_EQ_STR(hdr_error_text(HDR_ERR_FIELD), "header field too large");
	T_EQ_STR(hdr_error_text(HDR_ERR_BLOCK), "header too large");
	T_EQ_STR(hdr_error_text(HDR_ERR_LINE), "header line too long");
	T_EQ_STR(hdr_error_text((enum hdr_error)99), "unknown header error");
	T_EQ_INT(hdr_limits_default.max_count, 1000);
	T_EQ_INT(hdr_limits_default.max_block, 1 << 20);
}

static void test_unfold(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
		size_t out_len;
	} c[] = {
#define U(in, out) { in, sizeof(in) - 1, out, sizeof(out) - 1 }
		U("a\r\n b", "a b"),
		U(" a\r\n\tb \r\n", "a\tb"),
		U("a\n b", "a b"),
		U("a\r\nb", "a\r\nb"),
		U("a\r b", "a\r b"),
		U("\r\n x", "x"),
		U("", ""),
		U("  \t ", ""),
		U("a\0b", "a\0b"),
		U(" x\r\n \r\n y ", "x  y"),
#undef U
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_LEN(c); i++) {
		size_t len = 99;
		char *s = hdr_unfold(a, c[i].in, c[i].len, &len);
		T_EQ_INT(len, c[i].out_len);
		T_CHECK(memcmp(s, c[i].out, c[i].out_len) == 0 && s[len] == '\0');
	}
	T_EQ_STR(hdr_unfold(a, " a\r\n b ", 7, NULL), "a b");
	arena_free(&a);
}

static void test_name_valid(void)
{
	static const struct {
		const char *name;
		size_t len;
		bool ok;
	} c[] = {
		{ "Subject", 7, true },
		{ "!#~", 3, true },
		{ "X-Mailer", 8, true },
		{ "", 0, false },
		{ "a:b", 3, false },
		{ "a b", 3, false },
		{ "a\tb", 3, false },
		{ "\x7f", 1, false },
		{ "X-\xc3\x9c", 4, false },
		{ "a\0b", 3, false },
	};
	for (size_t i = 0; i < ARRAY_LEN(c); i++)
		T_EQ_INT(hdr_name_valid(c[i].name, c[i].len), c[i].ok);
}

int main(void)
{
	T_RUN(test_reads_fields_and_body);
	T_RUN(test_normalises_line_ends);
	T_RUN(test_keeps_folds);
	T_RUN(test_strips_space_before_colon);
	T_RUN(test_non_field_line_starts_body);
	T_RUN(test_handles_missing_parts);
	T_RUN(test_keeps_nul_bytes);
	T_RUN(test_limits_field_count);
	T_RUN(test_limits_line_length);
	T_RUN(test_limits_hostile_sizes);
	T_RUN(test_limits_field_size);
	T_RUN(test_limits_block_size);
	T_RUN(test_error_is_sticky);
	T_RUN(test_callback_false_stops_quietly);
	T_RUN(test_body_staged_in_bounded_chunks);
	T_RUN(test_streams_body_before_finish);
	T_RUN(test_null_callbacks_are_skipped);
	T_RUN(test_field_raw_bytes_contiguous);
	T_RUN(test_error_text_names_limit);
	T_RUN(test_unfold);
	T_RUN(test_name_valid);
	return t_done();
}
