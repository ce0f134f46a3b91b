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
