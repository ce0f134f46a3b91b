/*
 * The push-style message reader of header.h: a small state machine that
 * takes bytes in chunks of any size, splits the header into fields and
 * streams the body, with line ends normalised to CRLF.  Results depend only
 * on the bytes, never on how they were cut into chunks: every decision and
 * every limit is taken at a byte or at a line end, and body data is handed
 * on at the end of each feed (the split of body callbacks may differ, the
 * bytes do not).
 *
 * Memory is bounded by the limits: one header line (max_line), one pending
 * field (max_field) and a fixed body staging area (HDR_BODY_CHUNK); the body
 * itself is never held.
 *
 * Choices the RFCs leave to us, written down here:
 *  - A field name is every byte before the colon up to the first SP or HTAB;
 *    SP/HTAB between the name and the colon (RFC 5322 4.5.1 obsolete syntax,
 *    "Subject : x") is tolerated and not part of the name.  A line whose
 *    text before the first colon is empty, holds a CR, or has SP/HTAB
 *    followed by more name bytes is not a field line and ends the header.
 *  - max_line applies to header lines only (bytes without the line end).
 *    Body lines of any length are streamed: DKIM hashes long body lines
 *    fine, and refusing them would only break signatures.
 *  - max_block counts every header line with its CRLF (not the empty line
 *    that ends the header); max_field counts name, colon and value as
 *    folded, folds as CRLF.
 *  - Callbacks may be NULL (that event is then dropped).
 *  - The name and value given to the field callback point into one buffer
 *    holding the field exactly as read (folds as CRLF), so the bytes from
 *    name to value + value_len are the raw field, WSP before the colon
 *    included (what DKIM "simple" header canonicalisation needs).
 */
#include "header.h"

#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "xalloc.h"

const struct hdr_limits hdr_limits_default = {
	.max_count = 1000,
	.max_field = (size_t)64 << 10,
	.max_block = (size_t)1 << 20,
	.max_line = (size_t)64 << 10,
};

/* Body bytes are staged up to this size so callbacks are not per line. */
#define HDR_BODY_CHUNK 8192

enum hdr_phase {
	PHASE_HEADER,	/* reading header lines */
	PHASE_BODY,	/* streaming body bytes */
	PHASE_STOPPED,	/* a callback said stop, or a limit was hit */
	PHASE_DONE,	/* finished */
};

enum line_kind {
	LINE_EMPTY,	/* the end of the header */
	LINE_CONT,	/* starts with WSP: continues the previous field */
	LINE_FIELD,	/* name [WSP] ":" value */
	LINE_OTHER,	/* anything else: not header, so the body starts here */
};

struct hdr_reader {
	struct hdr_limits lim;
	struct hdr_callbacks cb;
	void *ctx;
	enum hdr_phase phase;
	enum hdr_error err;

	struct buf line;	/* current header line without its line end */
	bool pending_cr;	/* a CR was the last byte: maybe half a CRLF */
	struct buf field;	/* pending field "name[WSP]:value" with folds */
	bool have_field;
	size_t name_len;	/* pending field's name, without WSP */
	size_t colon;		/* offset of the pending field's colon */
	size_t count;		/* fields started */
	size_t block;		/* header bytes so far */

	bool body_last_cr;	/* the last body byte was a CR */
	size_t out_len;
	uint8_t out[HDR_BODY_CHUNK];
};

static const char *const error_text[] = {
	[HDR_OK] = "no error",
	[HDR_ERR_COUNT] = "too many header fields",
	[HDR_ERR_FIELD] = "header field too large",
	[HDR_ERR_BLOCK] = "header too large",
	[HDR_ERR_LINE] = "header line too long",
};

const char *hdr_error_text(enum hdr_error e)
{
	if ((size_t)e >= ARRAY_LEN(error_text) || error_text[e] == NULL)
		return "unknown header error";
	return error_text[e];
}

struct hdr_reader *hdr_reader_new(const struct hdr_limits *limits,
				  const struct hdr_callbacks *cb, void *ctx)
{
	struct hdr_reader *r = xcalloc(1, sizeof(*r));
	r->lim = limits != NULL ? *limits : hdr_limits_default;
	r->cb = *cb;
	r->ctx = ctx;
	r->phase = PHASE_HEADER;
	/* Limits are checked here, not by buf, so buf may grow to any size. */
	buf_init(&r->line, SIZE_MAX);
	buf_init(&r->field, SIZE_MAX);
	return r;
}

void hdr_reader_free(struct hdr_reader **r)
{
	if (*r == NULL)
		return;
	buf_free(&(*r)->line);
	buf_free(&(*r)->field);
	free(*r);
	*r = NULL;
}

static void fail(struct hdr_reader *r, enum hdr_error e)
{
	r->err = e;
	r->phase = PHASE_STOPPED;
}

static void stop(struct hdr_reader *r)
{
	r->phase = PHASE_STOPPED;
}

/* ---- body ---- */

static bool body_call(struct hdr_reader *r, const void *p, size_t n)
{
	if (!r->cb.body(r->ctx, p, n)) {
		stop(r);
		return false;
	}
	return true;
}

static bool body_flush(struct hdr_reader *r)
{
	if (r->out_len == 0)
		return true;
	size_t n = r->out_len;
	r->out_len = 0;
	return body_call(r, r->out, n);
}

/* Hands body bytes on, through the staging area unless they are large. */
static bool body_emit(struct hdr_reader *r, const void *p, size_t n)
{
	if (r->cb.body == NULL || n == 0)
		return true;
	if (n > sizeof(r->out) - r->out_len) {
		if (!body_flush(r))
			return false;
		if (n >= sizeof(r->out))
			return body_call(r, p, n);
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
	return true;
}

/* Streams body bytes, turning each bare LF into CRLF; a bare CR is data. */
static void body_feed(struct hdr_reader *r, const uint8_t *p, size_t n)
{
	while (n > 0 && r->phase == PHASE_BODY) {
		const uint8_t *lf = memchr(p, '\n', n);
		if (lf == NULL) {
			if (body_emit(r, p, n))
				r->body_last_cr = p[n - 1] == '\r';
			return;
		}
		size_t seg = (size_t)(lf - p);
		bool cr = seg > 0 ? p[seg - 1] == '\r' : r->body_last_cr;
		bool ok = cr ? body_emit(r, p, seg + 1)
			     : body_emit(r, p, seg) && body_emit(r, "\r\n", 2);
		if (!ok)
			return;
		r->body_last_cr = false;
		p += seg + 1;
		n -= seg + 1;
	}
}

/* ---- header ---- */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static enum line_kind classify(const char *p, size_t len, size_t *name_len_r,
			       size_t *colon_r)
{
	if (len == 0)
		return LINE_EMPTY;
	if (is_wsp(p[0]))
		return LINE_CONT;
	size_t i = 0;
	while (i < len && p[i] != ':' && p[i] != '\r' && !is_wsp(p[i]))
		i++;
	size_t name_len = i;
	while (i < len && is_wsp(p[i]))
		i++;
	if (name_len == 0 || i == len || p[i] != ':')
		return LINE_OTHER;
	*name_len_r = name_len;
	*colon_r = i;
	return LINE_FIELD;
}

static bool flush_field(struct hdr_reader *r)
{
	if (!r->have_field)
		return true;
	r->have_field = false;
	if (r->cb.field == NULL)
		return true;
	const char *f = r->field.p;
	size_t value = r->colon + 1;
	if (!r->cb.field(r->ctx, f, r->name_len, f + value, r->field.len - value)) {
		stop(r);
		return false;
	}
	return true;
}

static bool end_header(struct hdr_reader *r)
{
	if (!flush_field(r))
		return false;
	if (r->cb.end_of_header != NULL && !r->cb.end_of_header(r->ctx)) {
		stop(r);
		return false;
	}
	r->phase = PHASE_BODY;
	return true;
}

/* Counts a header line (with its line end, if it had one) against max_block. */
static bool add_block(struct hdr_reader *r, size_t len, bool has_end)
{
	size_t n = len + (has_end ? 2 : 0);
	if (n > r->lim.max_block - r->block) {
		fail(r, HDR_ERR_BLOCK);
		return false;
	}
	r->block += n;
	return true;
}

/* A line that is not header: the header ends and the line starts the body. */
static void line_to_body(struct hdr_reader *r, bool has_end)
{
	size_t len = r->line.len;
	if (!end_header(r) || !body_emit(r, r->line.p, len))
		return;
	if (!has_end)
		r->body_last_cr = len > 0 && r->line.p[len - 1] == '\r';
	else if (body_emit(r, "\r\n", 2))
		r->body_last_cr = false;
}

static void line_continue(struct hdr_reader *r, bool has_end)
{
	size_t len = r->line.len;
	/* Folded: the field grows by CRLF + the line. */
	if (len + 2 > r->lim.max_field || r->field.len > r->lim.max_field - len - 2) {
		fail(r, HDR_ERR_FIELD);
		return;
	}
	if (!add_block(r, len, has_end))
		return;
	buf_append(&r->field, "\r\n", 2);
	buf_append(&r->field, r->line.p, len);
}

static void line_field(struct hdr_reader *r, bool has_end, size_t name_len,
		       size_t colon)
{
	if (!flush_field(r))
		return;
	if (r->count >= r->lim.max_count) {
		fail(r, HDR_ERR_COUNT);
		return;
	}
	r->count++;
	if (r->line.len > r->lim.max_field) {
		fail(r, HDR_ERR_FIELD);
		return;
	}
	if (!add_block(r, r->line.len, has_end))
		return;
	/* The line becomes the pending field: swap instead of copying. */
	struct buf tmp = r->field;
	r->field = r->line;
	r->line = tmp;
	r->have_field = true;
	r->name_len = name_len;
	r->colon = colon;
}

/* One complete header line is in r->line; has_end: it had a line end. */
static void header_line(struct hdr_reader *r, bool has_end)
{
	size_t name_len = 0, colon = 0;
	switch (classify(r->line.p, r->line.len, &name_len, &colon)) {
	case LINE_EMPTY:
		end_header(r);
		break;
	case LINE_CONT:
		/* RFC 5322 2.2.3: WSP after a line end is a fold, if there
		 * is a field to continue; before any field it is not header. */
		if (r->have_field)
			line_continue(r, has_end);
		else
			line_to_body(r, has_end);
		break;
	case LINE_FIELD:
		line_field(r, has_end, name_len, colon);
		break;
	case LINE_OTHER:
		line_to_body(r, has_end);
		break;
	}
	buf_reset(&r->line);
}

static bool line_add(struct hdr_reader *r, const void *p, size_t n)
{
	if (n > r->lim.max_line - r->line.len) {
		fail(r, HDR_ERR_LINE);
		return false;
	}
	buf_append(&r->line, p, n);
	return true;
}

/* Consumes header bytes; returns how many (the rest belongs to the body). */
static size_t header_feed(struct hdr_reader *r, const uint8_t *p, size_t n)
{
	size_t used = 0;
	while (used < n && r->phase == PHASE_HEADER) {
		const uint8_t *s = p + used;
		size_t left = n - used;
		const uint8_t *lf = memchr(s, '\n', left);
		size_t seg = lf != NULL ? (size_t)(lf - s) : left;
		if (seg > 0) {
			/* A CR just before the end of a chunk may be half of a
			 * CRLF: hold it until the next byte says which. */
			bool cr_end = s[seg - 1] == '\r';
			if (r->pending_cr && !line_add(r, "\r", 1))
				break;
			if (!line_add(r, s, seg - cr_end))
				break;
			r->pending_cr = cr_end;
		}
		if (lf == NULL) {
			used = n;
			break;
		}
		r->pending_cr = false;
		used += seg + 1;
		header_line(r, true);
	}
	return used;
}

enum hdr_error hdr_reader_feed(struct hdr_reader *r, const uint8_t *p, size_t n)
{
	if (r->phase == PHASE_HEADER && n > 0) {
		size_t used = header_feed(r, p, n);
		p += used;
		n -= used;
	}
	if (r->phase == PHASE_BODY) {
		if (n > 0)
			body_feed(r, p, n);
		if (r->phase == PHASE_BODY)
			body_flush(r);
	}
	return r->err;
}

enum hdr_error hdr_reader_finish(struct hdr_reader *r)
{
	if (r->phase == PHASE_HEADER) {
		if (r->pending_cr) {
			/* Input ended after a CR: a bare CR, kept as data. */
			r->pending_cr = false;
			line_add(r, "\r", 1);
		}
		if (r->phase == PHASE_HEADER && r->line.len > 0)
			header_line(r, false);
		if (r->phase == PHASE_HEADER)
			end_header(r);
	}
	if (r->phase == PHASE_BODY && body_flush(r))
		r->phase = PHASE_DONE;
	return r->err;
}

bool hdr_name_valid(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		/* RFC 5322 3.6.8: ftext is %d33-57 / %d59-126. */
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *hdr_unfold(struct arena *a, const char *value, size_t len, size_t *len_r)
{
	char *out = arena_alloc(a, len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		/* RFC 5322 2.2.3: a line end followed by WSP is removed. */
		if (value[i] == '\r' && i + 2 < len && value[i + 1] == '\n' &&
		    is_wsp(value[i + 2])) {
			i++;
			continue;
		}
		if (value[i] == '\n' && i + 1 < len && is_wsp(value[i + 1]))
			continue;
		out[o++] = value[i];
	}
	size_t start = 0;
	while (start < o && is_space(out[start]))
		start++;
	while (o > start && is_space(out[o - 1]))
		o--;
	if (start > 0)
		memmove(out, out + start, o - start);
	o -= start;
	out[o] = '\0';
	if (len_r != NULL)
		*len_r = o;
	return out;
}
