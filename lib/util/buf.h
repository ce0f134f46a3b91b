/*
 * The one growable string type (struct buf) and the one borrowed string type
 * (struct slice).  A buf is always NUL-terminated, may hold NUL bytes, and has
 * a hard maximum: appending past it fails as a whole (nothing is appended)
 * and sets the sticky `overflow` flag, so a caller can build a whole string
 * and check once at the end.  Nothing else in cachet builds strings by hand.
 */
#ifndef CACHET_BUF_H
#define CACHET_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

/* Default maximum of a buf whose creator gave none: 16 MiB. */
#define BUF_MAX_DEFAULT ((size_t)16 << 20)

struct slice {
	const char *p;
	size_t len;
};

struct buf {
	char *p;	/* NUL-terminated; "" (static) until the first append */
	size_t len;
	size_t cap;
	size_t max;	/* hard limit on len */
	bool overflow;	/* an append was refused */
};

/* max 0 means BUF_MAX_DEFAULT.  Free with buf_free(). */
void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Returns false (and appends nothing) when the result would exceed max. */
bool buf_append(struct buf *b, const void *p, size_t n);
bool buf_puts(struct buf *b, const char *s);
bool buf_putc_slow(struct buf *b, char c);
static inline bool buf_putc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap && b->len < b->max) {
		b->p[b->len++] = c;
		b->p[b->len] = '\0';
		return true;
	}
	return buf_putc_slow(b, c);
}
bool buf_printf(struct buf *b, const char *fmt, ...) PRINTF(2, 3);
bool buf_vprintf(struct buf *b, const char *fmt, va_list ap) PRINTF(2, 0);
/* Shortens to len (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);
/* Hands the string to the caller, who frees it with free(); b is reset. */
char *buf_steal(struct buf *b);

static inline struct slice slice_make(const char *p, size_t len)
{
	struct slice s = { p, len };
	return s;
}

struct slice slice_cstr(const char *s);
/* Removes leading and trailing SP, HTAB, CR and LF. */
struct slice slice_trim(struct slice s);
bool slice_eq(struct slice s, const char *cstr);
bool slice_eq_ci(struct slice s, const char *cstr);

#endif
