/*
 * The message verdict: results, action, and our Authentication-Results
 * value (RFC 8601).  See verdict.h.
 */
#include "verdict.h"

#include <string.h>

#include "xalloc.h"

#define AR_MAX_LEN 65536

const char *action_name(enum action a)
{
	switch (a) {
	case ACTION_ACCEPT:
		return "accept";
	case ACTION_QUARANTINE:
		return "quarantine";
	case ACTION_DISCARD:
		return "discard";
	case ACTION_TEMPFAIL:
		return "tempfail";
	case ACTION_REJECT:
		return "reject";
	}
	return "accept";
}

static const char *dup_or_null(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

void verdict_add_result(struct arena *a, struct verdict *v, const struct ar_result *r)
{
	struct ar_result *d = ARRAY_PUSH_ARENA(a, &v->results);
	d->method = arena_strdup(a, r->method);
	d->result = arena_strdup(a, r->result);
	d->reason = dup_or_null(a, r->reason);
	d->comment = dup_or_null(a, r->comment);
	d->props = dup_or_null(a, r->props);
}

void verdict_add_edit(struct arena *a, struct verdict *v, enum edit_op op, const char *name,
		      const char *value, size_t index)
{
	struct header_edit *e = ARRAY_PUSH_ARENA(a, &v->edits);
	e->op = op;
	e->name = arena_strdup(a, name);
	e->value = dup_or_null(a, value);
	e->index = index;
}

void verdict_note(struct arena *a, struct verdict *v, const char *note)
{
	*ARRAY_PUSH_ARENA(a, &v->notes) = arena_strdup(a, note);
}

void verdict_propose(struct arena *a, struct verdict *v, enum action act, const char *by,
		     const char *code, const char *xcode, const char *text)
{
	/* the enum is ordered by severity; an equal proposal keeps the first */
	if (act < v->action || (act == v->action && v->action_by != NULL))
		return;
	v->action = act;
	v->action_by = dup_or_null(a, by);
	v->smtp_code = dup_or_null(a, code);
	v->smtp_xcode = dup_or_null(a, xcode);
	v->smtp_text = dup_or_null(a, text);
}

/* RFC 2045 token characters: printable ASCII minus SP and tspecials. */
static bool is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A reason value: a token if it is one, else a quoted-string (RFC 8601 2.2). */
static void put_value(struct buf *b, const char *s)
{
	bool token = *s != '\0';
	for (const char *p = s; *p != '\0'; p++)
		if (!is_token_char((unsigned char)*p))
			token = false;
	if (token) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
	}
	buf_putc(b, '"');
}

/* A comment: parentheses and backslashes escaped, controls made spaces. */
static void put_comment(struct buf *b, const char *s)
{
	static const char special[] = "()\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
		"\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
		"\x1d\x1e\x1f\x7f";
	buf_putc(b, '(');
	for (;;) {
		size_t run = strcspn(s, special);
		buf_append(b, s, run);
		s += run;
		if (*s == '\0')
			break;
		if (*s == '(' || *s == ')' || *s == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, *s);
		} else {
			buf_putc(b, ' ');
		}
		s++;
	}
	buf_putc(b, ')');
}

char *verdict_ar_value(struct arena *a, const char *authserv_id, const struct verdict *v)
{
	struct buf b;
	buf_init(&b, AR_MAX_LEN);
	buf_puts(&b, authserv_id);
	if (v->results.n == 0)
		buf_puts(&b, "; none"); /* RFC 8601 2.2: no-result */
	for (size_t i = 0; i < v->results.n; i++) {
		const struct ar_result *r = &v->results.v[i];
		buf_puts(&b, "; ");
		buf_puts(&b, r->method);
		buf_putc(&b, '=');
		buf_puts(&b, r->result);
		if (r->comment != NULL) {
			buf_putc(&b, ' ');
			put_comment(&b, r->comment);
		}
		if (r->reason != NULL) {
			buf_puts(&b, " reason=");
			put_value(&b, r->reason);
		}
		if (r->props != NULL && r->props[0] != '\0') {
			buf_putc(&b, ' ');
			buf_puts(&b, r->props);
		}
	}
	char *s = arena_memdup(a, b.p, b.len);
	buf_free(&b);
	return s;
}
