/*
 * The authserv-id of an Authentication-Results field (RFC 8601 2.2): leading
 * CFWS (nested comments, at most AR_COMMENT_DEPTH deep), then a token or a
 * quoted-string (RFC 2045 "value").
 *
 * The id ends at the first byte that cannot be part of a token; what follows
 * (authres-version, ";", results) is not checked.  This is deliberate: the
 * milter uses the id to delete fields that claim to be ours (RFC 8601 5),
 * and a malformed field that begins with our id is exactly the kind a
 * forger would send and a lax reader downstream might trust, so it must
 * still be recognised.  "mx.example.net.evil" is one token and never
 * matches "mx.example.net".  The returned id is as written (quoting
 * removed); comparison ignores case and one trailing dot.
 */
#include "ar.h"

#include <string.h>
#include <strings.h>

#include "buf.h"
#include "header.h"

/* Deeper comment nesting than this is refused (hostile input only). */
#define AR_COMMENT_DEPTH 64
/* Longest id ar_authserv_id_valid accepts (a domain name is at most 253). */
#define AR_ID_MAX 255

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1 token: US-ASCII printable except SPACE and tspecials. */
static bool is_token(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Skips CFWS from *pos; false on an unterminated or too deep comment. */
static bool skip_cfws(const char *v, size_t len, size_t *pos)
{
	size_t i = *pos;
	unsigned depth = 0;
	while (i < len) {
		unsigned char c = (unsigned char)v[i];
		if (depth == 0 && is_ws(c)) {
			i++;
		} else if (c == '(') {
			if (++depth > AR_COMMENT_DEPTH)
				return false;
			i++;
		} else if (depth == 0) {
			break;
		} else if (c == ')') {
			depth--;
			i++;
		} else {
			/* Comment text; a quoted-pair takes the next byte. */
			i += c == '\\' ? 2 : 1;
		}
	}
	*pos = i;
	return depth == 0 && i <= len;
}

/* Decodes the authserv-id into out; false if there is none. */
static bool scan_id(const char *v, size_t len, struct buf *out)
{
	size_t i = 0;
	if (!skip_cfws(v, len, &i) || i >= len)
		return false;
	if (v[i] != '"') {
		size_t start = i;
		while (i < len && is_token((unsigned char)v[i]))
			i++;
		buf_append(out, v + start, i - start);
		return i > start;
	}
	/* RFC 5322 3.2.4 quoted-string: folds dropped, quoted-pairs decoded. */
	for (i++; i < len && v[i] != '"'; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\' && ++i < len)
			c = (unsigned char)v[i];
		if (c < ' ' && c != '\t')
			return false;
		buf_putc(out, (char)c);
	}
	return i < len && out->len > 0;
}

char *ar_authserv_id(struct arena *a, const char *value, size_t len)
{
	struct buf b;
	buf_init(&b, SIZE_MAX);
	char *id = NULL;
	if (scan_id(value, len, &b))
		id = arena_memdup(a, b.p, b.len);
	buf_free(&b);
	return id;
}

/* Length without one trailing dot (RFC 1034 3.1: absolute form is equal). */
static size_t undotted(const char *s, size_t len)
{
	return len > 1 && s[len - 1] == '.' ? len - 1 : len;
}

bool ar_authserv_id_is(const char *value, size_t len, const char *ours)
{
	size_t ours_len = undotted(ours, strlen(ours));
	if (ours_len == 0)
		return false;
	/* An id longer than ours plus a dot cannot match: cap the copy. */
	struct buf b;
	buf_init(&b, ours_len + 1);
	bool same = false;
	if (scan_id(value, len, &b) && !b.overflow) {
		size_t id_len = undotted(b.p, b.len);
		same = id_len == ours_len && strncasecmp(b.p, ours, id_len) == 0;
	}
	buf_free(&b);
	return same;
}

bool ar_authserv_id_valid(const char *id)
{
	size_t len = strlen(id);
	if (len == 0 || len > AR_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_token((unsigned char)id[i]))
			return false;
	return true;
}

/* ---- whole fields (ar_parse) ---- */

struct cursor {
	struct arena *a;
	const char *v;
	size_t len, i;
	const char *error;	/* static text, once something does not end */
};

static bool at(const struct cursor *c, char ch)
{
	return c->i < c->len && c->v[c->i] == ch;
}

/* The end of the comment at v[i] == '(' (past its ")"), or 0: it does not end, or nests too deep. */
static size_t comment_end(const char *v, size_t len, size_t i)
{
	unsigned depth = 0;
	while (i < len) {
		char ch = v[i];
		if (ch == '\\') {
			i += 2;
			continue;
		}
		if (ch == '(' && ++depth > AR_COMMENT_DEPTH)
			return 0;
		if (ch == ')' && --depth == 0)
			return i + 1;
		i++;
	}
	return 0;
}

/* Skips CFWS; the first comment's text goes to *comment_r when it is NULL. */
static bool cfws(struct cursor *c, const char **comment_r)
{
	while (c->i < c->len) {
		if (is_ws((unsigned char)c->v[c->i])) {
			c->i++;
			continue;
		}
		if (c->v[c->i] != '(')
			break;
		size_t end = comment_end(c->v, c->len, c->i);
		if (end == 0) {
			c->error = "a comment does not end, or nests too deep";
			c->i = c->len;
			return false;
		}
		if (comment_r != NULL && *comment_r == NULL && end > c->i + 2)
			*comment_r = hdr_unfold(c->a, c->v + c->i + 1, end - c->i - 2, NULL);
		c->i = end;
	}
	return true;
}

/* A token (RFC 2045), lower-cased when asked; NULL when there is none. */
static const char *token(struct cursor *c, bool lower)
{
	size_t start = c->i;
	while (c->i < c->len && is_token((unsigned char)c->v[c->i]))
		c->i++;
	if (c->i == start)
		return NULL;
	char *t = arena_memdup(c->a, c->v + start, c->i - start);
	for (char *p = t; lower && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return t;
}

/* A quoted-string at c->i (decoded), or NULL with c->error when it does not end. */
static const char *quoted(struct cursor *c)
{
	struct buf b;
	buf_init(&b, 0);
	size_t i = c->i + 1;
	for (; i < c->len && c->v[i] != '"'; i++) {
		char ch = c->v[i];
		if (ch == '\r' || ch == '\n')
			continue;
		if (ch == '\\' && i + 1 < c->len)
			ch = c->v[++i];
		buf_putc(&b, ch);
	}
	const char *r = NULL;
	if (i >= c->len) {
		c->error = "a quoted string does not end";
		c->i = c->len;
	} else {
		c->i = i + 1;
		r = arena_memdup(c->a, b.p, b.len);
	}
	buf_free(&b);
	return r;
}

/* RFC 2045 value: a token or a quoted-string. */
static const char *value(struct cursor *c)
{
	return at(c, '"') ? quoted(c) : token(c, false);
}

/* pvalue (RFC 8601 2.2): a value, or [[local-part] "@"] domain: up to CFWS or ";". */
static const char *pvalue(struct cursor *c)
{
	struct buf b;
	buf_init(&b, 0);
	while (c->i < c->len) {
		char ch = c->v[c->i];
		if (ch == '"') {
			const char *q = quoted(c);
			if (q == NULL)
				break;
			buf_puts(&b, q);
			continue;
		}
		if (is_ws((unsigned char)ch) || ch == '(' || ch == ';')
			break;
		buf_putc(&b, ch);
		c->i++;
	}
	const char *r = c->error == NULL && b.len > 0 ? arena_memdup(c->a, b.p, b.len) : NULL;
	buf_free(&b);
	return r;
}

/* Moves past the next ";" outside comments and quotes (or to the end). */
static void skip_to_semi(struct cursor *c)
{
	while (c->i < c->len && c->error == NULL) {
		char ch = c->v[c->i];
		if (ch == ';')
			return;
		if (ch == '(')
			cfws(c, NULL);
		else if (ch == '"')
			quoted(c);
		else
			c->i++;
	}
}

static bool expect(struct cursor *c, char ch)
{
	if (!at(c, ch))
		return false;
	c->i++;
	return cfws(c, NULL);
}

/* resinfo after its ";" (RFC 8601 2.2); false when it does not read. */
static bool resinfo(struct cursor *c, struct ar_resinfo *r)
{
	memset(r, 0, sizeof(*r));
	r->method = token(c, true);
	if (r->method == NULL || !cfws(c, NULL))
		return false;
	if (at(c, '/')) {
		c->i++;
		if (!cfws(c, NULL) || token(c, false) == NULL || !cfws(c, NULL))
			return false;
	}
	if (!expect(c, '='))
		return false;
	r->result = token(c, true);
	if (r->result == NULL || !cfws(c, &r->comment))
		return false;
	while (c->i < c->len && !at(c, ';')) {
		const char *name = token(c, true);
		if (name == NULL || !cfws(c, &r->comment))
			return false;
		if (strcmp(name, "reason") == 0) {
			if (!expect(c, '=') || (r->reason = value(c)) == NULL ||
			    !cfws(c, &r->comment))
				return false;
			continue;
		}
		/* a token may hold ".": "smtp.mailfrom" is one, "smtp . mailfrom" three */
		const char *dot = strchr(name, '.'), *full = name;
		if (dot == NULL) {
			if (!expect(c, '.'))
				return false;
			const char *prop = token(c, true);
			if (prop == NULL || strchr(prop, '.') != NULL || !cfws(c, NULL))
				return false;
			full = arena_printf(c->a, "%s.%s", name, prop);
		} else if (dot == name || dot[1] == '\0' || strchr(dot + 1, '.') != NULL) {
			return false;
		}
		if (!expect(c, '='))
			return false;
		const char *v = pvalue(c);
		if (v == NULL || !cfws(c, &r->comment))
			return false;
		if (r->n_props < AR_MAX_PROPS)
			r->props[r->n_props++] =
				(struct ar_prop){ full, v };
	}
	return true;
}

/* RFC 8617 4.1.1: "i=" 1*DIGIT ";" before an ARC-Authentication-Results payload. */
static bool arc_instance(struct cursor *c, unsigned *i_r)
{
	const char *name = token(c, true);
	if (name == NULL || strcmp(name, "i") != 0 || !cfws(c, NULL) || !expect(c, '='))
		return false;
	unsigned v = 0;
	size_t start = c->i;
	while (c->i < c->len && c->v[c->i] >= '0' && c->v[c->i] <= '9' && c->i - start < 6)
		v = v * 10 + (unsigned)(c->v[c->i++] - '0');
	*i_r = v;
	return c->i > start && cfws(c, NULL) && expect(c, ';');
}

int ar_parse(struct arena *a, const char *value_, size_t len, bool arc, struct ar_field *out,
	     const char **error_r)
{
	memset(out, 0, sizeof(*out));
	struct cursor c = { .a = a, .v = value_, .len = len };
	if (!cfws(&c, NULL) || (arc && !arc_instance(&c, &out->instance))) {
		*error_r = c.error != NULL ? c.error : "no i= instance tag (RFC 8617 4.1.1)";
		return -1;
	}
	out->authserv_id = value(&c);
	if (out->authserv_id == NULL || !cfws(&c, NULL)) {
		*error_r = c.error != NULL ? c.error : "no authserv-id";
		return -1;
	}
	/* authres-version */
	while (c.i < c.len && c.v[c.i] >= '0' && c.v[c.i] <= '9')
		c.i++;
	out->res = arena_alloc_array(a, AR_MAX_RESULTS, sizeof(*out->res));
	while (cfws(&c, NULL) && c.i < c.len) {
		if (!at(&c, ';')) {
			/* something the syntax has no room for: skip it */
			out->skipped++;
			skip_to_semi(&c);
			continue;
		}
		c.i++;
		if (!cfws(&c, NULL))
			break;
		size_t start = c.i;
		struct ar_resinfo r;
		const char *none = token(&c, true);
		if (none != NULL && strcmp(none, "none") == 0 && cfws(&c, NULL) && c.i == c.len)
			break;
		c.i = start;
		if (c.i < c.len && !at(&c, ';') && resinfo(&c, &r) && out->n < AR_MAX_RESULTS) {
			out->res[out->n++] = r;
		} else if (c.i < c.len || c.i != start) {
			out->skipped++;
			if (c.error == NULL)
				skip_to_semi(&c);
		}
	}
	if (c.error != NULL) {
		*error_r = c.error;
		return -1;
	}
	return 0;
}

const struct ar_resinfo *ar_field_find(const struct ar_field *f, const char *method)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->res[i].method, method) == 0)
			return &f->res[i];
	return NULL;
}

const char *ar_resinfo_prop(const struct ar_resinfo *r, const char *name)
{
	for (size_t i = 0; i < r->n_props; i++)
		if (strcasecmp(r->props[i].name, name) == 0)
			return r->props[i].value;
	return NULL;
}
