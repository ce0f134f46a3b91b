/*
 * libunbound's answers as our records (see dns_wire.h).
 */
#include "dns_wire.h"

#include <string.h>

#include "buf.h"
#include "xalloc.h"

bool dns_label_byte_ok(uint8_t c)
{
	/* printable ASCII but space, '.' and '\\': a label as text, unescaped */
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

/*
 * An uncompressed wire-format name (libunbound hands out uncompressed
 * rdata) to lower-case text without the root dot.  Fails on compression
 * pointers, overruns and bytes that text cannot carry.
 */
static bool wire_name(const uint8_t *p, size_t len, size_t *used_r, char out[DNS_NAME_MAX + 1])
{
	size_t off = 0, n = 0;
	for (;;) {
		if (off >= len)
			return false;
		size_t lab = p[off++];
		if (lab == 0)
			break;
		if (lab > DNS_LABEL_MAX || lab > len - off || n + lab + (n > 0) > DNS_NAME_MAX)
			return false;
		if (n > 0)
			out[n++] = '.';
		for (size_t i = 0; i < lab; i++) {
			uint8_t c = p[off++];
			if (!dns_label_byte_ok(c))
				return false;
			out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
		}
	}
	out[n] = '\0';
	*used_r = off;
	return true;
}

/* RFC 1035 3.3.14: one or more <character-string>s, concatenated. */
static bool rdata_txt(const uint8_t *p, size_t len, struct dns_rr *rr)
{
	struct buf b;
	buf_init(&b, DNS_MAX_TXT);
	size_t off = 0;
	while (off < len) {
		size_t n = p[off++];
		if (n > len - off || !buf_append(&b, p + off, n)) {
			buf_free(&b);
			return false;
		}
		off += n;
	}
	rr->u.txt.len = b.len;
	rr->u.txt.data = buf_steal(&b);
	return true;
}

/* Decodes one record's rdata; false if it is malformed. */
static bool rdata_parse(enum dns_type type, const uint8_t *p, size_t len, struct dns_rr *rr)
{
	char name[DNS_NAME_MAX + 1];
	size_t used;
	switch (type) {
	case DNS_T_A:
		if (len != sizeof(rr->u.a))
			return false;
		memcpy(&rr->u.a, p, len);
		return true;
	case DNS_T_AAAA:
		if (len != sizeof(rr->u.aaaa))
			return false;
		memcpy(&rr->u.aaaa, p, len);
		return true;
	case DNS_T_TXT:
		return rdata_txt(p, len, rr);
	case DNS_T_MX:
		if (len < 3 || !wire_name(p + 2, len - 2, &used, name) || used != len - 2)
			return false;
		rr->u.mx.preference = (uint16_t)(p[0] << 8 | p[1]);
		rr->u.mx.exchange = xstrdup(name);
		return true;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		if (!wire_name(p, len, &used, name) || used != len)
			return false;
		rr->u.ptr = xstrdup(name);
		return true;
	}
	return false;
}

static void answer_records(const struct ub_result *res, struct dns_answer *a)
{
	size_t n = 0;
	while (res->data[n] != NULL)
		n++;
	if (n > DNS_MAX_RECORDS)
		n = DNS_MAX_RECORDS;
	a->rr = xcalloc(n, sizeof(*a->rr));
	for (size_t i = 0; i < n; i++) {
		if (res->len[i] >= 0 &&
		    rdata_parse(a->type, (const uint8_t *)res->data[i], (size_t)res->len[i],
				&a->rr[a->count]))
			a->count++;
	}
	if (a->count == 0) {
		a->status = DNS_SERVFAIL;
		a->why = "malformed records in the answer";
		return;
	}
	a->status = DNS_OK;
	a->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
}

/*
 * How long a "no such name" or "no such record" may be kept: libunbound's
 * TTL of the negative answer, which comes from the zone's SOA (RFC 2308 5:
 * the lesser of its TTL and its MINIMUM); 0, never kept, if it has none.
 */
static uint32_t negative_ttl(const struct ub_result *res)
{
	return res->ttl > 0 ? (uint32_t)res->ttl : 0;
}

static const char *rcode_why(int rcode)
{
	switch (rcode) {
	case 2:
		return "server failure (SERVFAIL)";
	case 5:
		return "query refused (REFUSED)";
	case 1:
		return "format error (FORMERR)";
	case 4:
		return "not implemented (NOTIMP)";
	default:
		return "error response from the server";
	}
}

/* Maps libunbound's result to an answer (type already set). */
void dns_answer_from_unbound(int err, const struct ub_result *res, struct dns_answer *a)
{
	if (err != 0 || res == NULL) {
		a->status = DNS_ERROR;
		a->why = ub_strerror(err);
	} else if (res->bogus) {
		a->status = DNS_SERVFAIL;
		a->why = "DNSSEC bogus";
	} else if (res->rcode == 3 || res->nxdomain) {
		a->status = DNS_NXDOMAIN;
		a->ttl = negative_ttl(res);
	} else if (res->rcode != 0) {
		a->status = DNS_SERVFAIL;
		a->why = rcode_why(res->rcode);
	} else if (res->havedata) {
		answer_records(res, a);
	} else {
		a->status = DNS_NODATA;
		a->ttl = negative_ttl(res);
	}
	if (res != NULL)
		a->secure = res->secure && !res->bogus;
}

