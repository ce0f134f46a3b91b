/*
 * Growable, bounded string buffer and borrowed slices: see buf.h.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

static char empty[1];

void buf_init(struct buf *b, size_t max)
{
	b->p = empty;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : BUF_MAX_DEFAULT;
	b->overflow = false;
}

void buf_free(struct buf *b)
{
	if (b->cap > 0)
		free(b->p);
	buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->overflow = false;
	if (b->cap > 0)
		b->p[0] = '\0';
}

static bool reserve(struct buf *b, size_t n)
{
	if (n > b->max - b->len) {
		b->overflow = true;
		return false;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->cap == 0) {
		b->p = xmalloc(cap);
		b->p[0] = '\0';
	} else {
		b->p = xrealloc(b->p, cap);
	}
	b->cap = cap;
	return true;
}

bool buf_append(struct buf *b, const void *p, size_t n)
{
	if (!reserve(b, n))
		return false;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	if (b->cap > 0)
		b->p[b->len] = '\0';
	return true;
}

bool buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

bool buf_putc_slow(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

/* Formats straight into the room there is; only a text that does not fit
   is formatted a second time, after the buffer grew. */
bool buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	size_t room = b->cap > 0 ? b->cap - b->len : 0;
	if (room > b->max - b->len + 1)
		room = b->max - b->len + 1;
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(room > 0 ? b->p + b->len : NULL, room, fmt, aq);
	va_end(aq);
	if (n >= 0 && (size_t)n < room) {
		b->len += (size_t)n;
		return true;
	}
	if (room > 0)
		b->p[b->len] = '\0';	/* what did not fit is not kept */
	if (n < 0 || !reserve(b, (size_t)n))
		return false;
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return true;
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool ok = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ok;
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->p[len] = '\0';
	}
}

char *buf_steal(struct buf *b)
{
	char *p = b->cap > 0 ? b->p : xstrdup("");
	buf_init(b, b->max);
	return p;
}

struct slice slice_cstr(const char *s)
{
	return slice_make(s, strlen(s));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct slice slice_trim(struct slice s)
{
	while (s.len > 0 && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

bool slice_eq(struct slice s, const char *cstr)
{
	return strlen(cstr) == s.len && memcmp(s.p, cstr, s.len) == 0;
}

bool slice_eq_ci(struct slice s, const char *cstr)
{
	return strlen(cstr) == s.len && strncasecmp(s.p, cstr, s.len) == 0;
}
