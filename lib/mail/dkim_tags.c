/*
 * DKIM tag=value lists (RFC 6376 3.2), base64 with folding whitespace, and
 * the error words shared by every dkim_*.c file.
 *
 * The parser is strict: tag names are ALPHA *(ALPHA / DIGIT / "_"), values
 * are VALCHARs (%x21-3A / %x3C-7E) separated by FWS, a CR or LF that is not
 * part of a fold (CRLF followed by WSP) is an error, and so is any 8-bit
 * byte (RFC 8616 UTF-8 values are not accepted).  Results are slices of the
 * input; nothing is allocated.  Limits: DKIM_TAGS_MAX tags,
 * DKIM_TAG_VALUE_MAX bytes per value.
 */
#include "dkim.h"

#include <string.h>

#include "compiler.h"

struct err_info {
	const char *text;
	const char *result;
};

static const struct err_info err_table[DKIM_ERR_COUNT_] = {
	[DKIM_OK] = { "ok", "pass" },
	[DKIM_ERR_SYNTAX] = { "tag-list syntax error", "permerror" },
	[DKIM_ERR_DUP_TAG] = { "duplicate tag", "permerror" },
	[DKIM_ERR_TOO_MANY_TAGS] = { "too many tags", "permerror" },
	[DKIM_ERR_TAG_TOO_LONG] = { "tag value too long", "permerror" },
	[DKIM_ERR_BASE64] = { "bad base64 value", "permerror" },
	[DKIM_ERR_MISSING_TAG] = { "signature missing required tag", "permerror" },
	[DKIM_ERR_VERSION] = { "incompatible version", "permerror" },
	[DKIM_ERR_ALGORITHM] = { "unknown signing algorithm", "permerror" },
	[DKIM_ERR_RSA_SHA1] = { "rsa-sha1 refused (RFC 8301)", "permerror" },
	[DKIM_ERR_CANON] = { "unknown canonicalization", "permerror" },
	[DKIM_ERR_QUERY] = { "no known query method", "permerror" },
	[DKIM_ERR_DOMAIN] = { "bad d= domain", "permerror" },
	[DKIM_ERR_SELECTOR] = { "bad s= selector", "permerror" },
	[DKIM_ERR_H_SYNTAX] = { "bad h= list", "permerror" },
	[DKIM_ERR_H_NO_FROM] = { "From field not signed", "permerror" },
	[DKIM_ERR_AUID] = { "bad i= identity", "permerror" },
	[DKIM_ERR_AUID_DOMAIN] = { "domain mismatch (i= not within d=)", "permerror" },
	[DKIM_ERR_NUMBER] = { "bad number in l=, t= or x=", "permerror" },
	[DKIM_ERR_X_BEFORE_T] = { "x= not after t=", "permerror" },
	[DKIM_ERR_EXPIRED] = { "signature expired", "permerror" },
	[DKIM_ERR_FUTURE] = { "signature timestamp in the future", "permerror" },
	[DKIM_ERR_KEY_SYNTAX] = { "key record syntax error", "permerror" },
	[DKIM_ERR_KEY_VERSION] = { "key record version not DKIM1", "permerror" },
	[DKIM_ERR_KEY_MISSING_P] = { "key record without p=", "permerror" },
	[DKIM_ERR_KEY_REVOKED] = { "key revoked", "permerror" },
	[DKIM_ERR_KEY_TYPE] = { "unknown key type", "permerror" },
	[DKIM_ERR_KEY_DECODE] = { "invalid public key", "permerror" },
	[DKIM_ERR_KEY_SERVICE] = { "key not for email service", "permerror" },
	[DKIM_ERR_KEY_HASH] = { "key does not allow the signature's hash", "permerror" },
	[DKIM_ERR_KEY_ALG_MISMATCH] = { "key type does not match algorithm", "permerror" },
	[DKIM_ERR_KEY_STRICT] = { "key requires i= domain equal to d= (t=s)", "permerror" },
	[DKIM_ERR_KEY_TOO_SHORT] = { "RSA key too short", "permerror" },
	[DKIM_ERR_KEY_TOO_LONG] = { "RSA key too long", "permerror" },
	[DKIM_ERR_BODY_HASH] = { "body hash did not verify", "fail" },
	[DKIM_ERR_SIGNATURE] = { "signature did not verify", "fail" },
	[DKIM_ERR_PRIVKEY] = { "private key unusable", "temperror" },
	[DKIM_ERR_INTERNAL] = { "internal crypto error", "temperror" },
};

const char *dkim_err_text(enum dkim_err e)
{
	if ((unsigned)e >= DKIM_ERR_COUNT_)
		return "unknown error";
	return err_table[e].text;
}

const char *dkim_err_result(enum dkim_err e)
{
	if ((unsigned)e >= DKIM_ERR_COUNT_)
		return "temperror";
	return err_table[e].result;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnumpunc(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static bool is_valchar(char c)
{
	unsigned char u = (unsigned char)c;
	return u >= 0x21 && u <= 0x7e && u != ';';
}

/*
 * Skips FWS (WSP, and CRLF only when WSP follows: RFC 5322 3.2.2).  Returns
 * false at a CR that does not start a fold.
 */
static bool skip_fws(const char *p, size_t len, size_t *pos)
{
	size_t i = *pos;
	while (i < len) {
		if (is_wsp(p[i])) {
			i++;
		} else if (p[i] == '\r') {
			if (i + 2 >= len || p[i + 1] != '\n' || !is_wsp(p[i + 2]))
				return false;
			i += 3;
		} else {
			break;
		}
	}
	*pos = i;
	return true;
}

static bool tag_seen(const struct dkim_tags *t, struct slice name)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->tag[i].name.len == name.len &&
		    memcmp(t->tag[i].name.p, name.p, name.len) == 0)
			return true;
	return false;
}

/* One tag-spec at *pos; leaves *pos after its trailing FWS. */
static enum dkim_err parse_spec(const char *p, size_t len, size_t *pos,
				struct dkim_tag *tag_r)
{
	size_t i = *pos;
	if (i >= len || !is_alpha(p[i]))
		return DKIM_ERR_SYNTAX;
	size_t name_start = i++;
	while (i < len && is_alnumpunc(p[i]))
		i++;
	tag_r->name = slice_make(p + name_start, i - name_start);
	if (!skip_fws(p, len, &i) || i >= len || p[i] != '=')
		return DKIM_ERR_SYNTAX;
	i++;
	if (!skip_fws(p, len, &i))
		return DKIM_ERR_SYNTAX;
	size_t vstart = i, vend = i;
	while (i < len) {
		if (is_valchar(p[i])) {
			vend = ++i;
		} else if (is_wsp(p[i]) || p[i] == '\r') {
			if (!skip_fws(p, len, &i))
				return DKIM_ERR_SYNTAX;
		} else {
			break;
		}
	}
	if (vend - vstart > DKIM_TAG_VALUE_MAX)
		return DKIM_ERR_TAG_TOO_LONG;
	tag_r->value = slice_make(p + vstart, vend - vstart);
	*pos = i;
	return DKIM_OK;
}

enum dkim_err dkim_tags_parse(const char *p, size_t len, struct dkim_tags *tags_r)
{
	size_t pos = 0;
	tags_r->count = 0;
	for (;;) {
		if (!skip_fws(p, len, &pos))
			return DKIM_ERR_SYNTAX;
		/* RFC 6376 3.2: a final ";" may end the list (not an empty one). */
		if (pos == len && tags_r->count > 0)
			return DKIM_OK;
		struct dkim_tag tag;
		enum dkim_err e = parse_spec(p, len, &pos, &tag);
		if (e != DKIM_OK)
			return e;
		if (tag_seen(tags_r, tag.name))
			return DKIM_ERR_DUP_TAG;
		if (tags_r->count == DKIM_TAGS_MAX)
			return DKIM_ERR_TOO_MANY_TAGS;
		tags_r->tag[tags_r->count++] = tag;
		if (pos == len)
			return DKIM_OK;
		if (p[pos] != ';')
			return DKIM_ERR_SYNTAX;
		pos++;
	}
}

const struct dkim_tag *dkim_tags_get(const struct dkim_tags *tags, const char *name)
{
	for (size_t i = 0; i < tags->count; i++)
		if (slice_eq(tags->tag[i].name, name))
			return &tags->tag[i];
	return NULL;
}

/* ---- base64 ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Each byte's base64 value; B64_SPACE for FWS, B64_PAD for "=", B64_BAD else. */
#define B64_SPACE 0x40
#define B64_PAD 0x41
#define B64_BAD 0xff
static const uint8_t b64_values[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x40, 0x40, 0xff, 0xff, 0x40, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0x41, 0xff, 0xff,
	0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

enum dkim_err dkim_base64_decode(struct slice in, uint8_t *out, size_t out_max,
				 size_t *len_r)
{
	uint32_t acc = 0;
	size_t nchars = 0, npad = 0, n = 0;
	for (size_t i = 0; i < in.len; i++) {
		uint8_t v = b64_values[(uint8_t)in.p[i]];
		if (v == B64_SPACE)
			continue;
		if (v == B64_PAD) {
			/* At most two, and only at the end of a quantum. */
			if (++npad > 2)
				return DKIM_ERR_BASE64;
			nchars++;
			continue;
		}
		if (v == B64_BAD || npad > 0)
			return DKIM_ERR_BASE64;
		acc = (acc << 6) | v;
		if (++nchars % 4 == 0) {
			if (n + 3 > out_max)
				return DKIM_ERR_BASE64;
			out[n++] = (uint8_t)(acc >> 16);
			out[n++] = (uint8_t)(acc >> 8);
			out[n++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (nchars % 4 != 0)
		return DKIM_ERR_BASE64;
	if (npad > 0) {
		/* The last quantum: 4 - npad chars were data. */
		size_t data = 4 - npad;
		size_t bytes = data - 1;
		acc <<= 6 * npad;
		if (n + bytes > out_max)
			return DKIM_ERR_BASE64;
		out[n++] = (uint8_t)(acc >> 16);
		if (bytes == 2)
			out[n++] = (uint8_t)(acc >> 8);
	}
	*len_r = n;
	return DKIM_OK;
}

void dkim_base64_encode(const uint8_t *p, size_t n, struct buf *out)
{
	char quad[4];
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		quad[0] = b64_alphabet[(v >> 18) & 63];
		quad[1] = b64_alphabet[(v >> 12) & 63];
		quad[2] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		quad[3] = i + 2 < n ? b64_alphabet[v & 63] : '=';
		buf_append(out, quad, 4);
	}
}

bool dkim_tag_value_lists(struct slice v, const char *word)
{
	size_t i = 0;
	while (i <= v.len) {
		size_t start = i;
		while (i < v.len && v.p[i] != ':')
			i++;
		if (slice_eq(slice_trim(slice_make(v.p + start, i - start)), word))
			return true;
		i++;
	}
	return false;
}
