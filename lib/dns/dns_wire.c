/*
 * Answer packets as our records (see dns_wire.h).
 */
#include "dns_wire.h"

#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "zone.h"

bool dns_label_byte_ok(uint8_t c)
{
	/* printable ASCII but space, '.' and '\\': a label as text, unescaped */
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

/* An answer packet (RFC 1035 4.1) and where its sections are. */
struct packet {
	const uint8_t *p;
	size_t len;
	unsigned rcode;
	size_t counts[4];	/* question, answer, authority, additional */
	size_t answer;		/* offset of the answer section */
};

/* One resource record: its owner as text (if text can carry it) and its rdata. */
struct rr {
	char owner[DNS_NAME_MAX + 1];
	bool owner_ok;
	uint16_t type;
	uint32_t ttl;
	size_t rdata, rdlen;	/* offset and length in the packet */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The name at off (compression pointers allowed, RFC 1035 4.1.4) as
 * lower-case text without the root dot; *next_r is where the name ends
 * in place.  Fails on overruns, pointers that do not point back, other
 * label types, and bytes that text cannot carry (*next_r is still set when
 * only the bytes are at fault, so the record can be skipped).  Termination:
 * each pointer goes back, and the name may not outgrow DNS_NAME_MAX.
 */
static bool packet_name(const struct packet *pk, size_t off, size_t *next_r,
			char out[DNS_NAME_MAX + 1])
{
	size_t n = 0;
	bool jumped = false, text_ok = true;
	for (;;) {
		if (off >= pk->len)
			return false;
		size_t lab = pk->p[off];
		if ((lab & 0xC0) == 0xC0) {
			if (pk->len - off < 2)
				return false;
			size_t to = (lab & 0x3F) << 8 | pk->p[off + 1];
			if (to >= off)
				return false;
			if (!jumped)
				*next_r = off + 2;
			jumped = true;
			off = to;
			continue;
		}
		if (lab > DNS_LABEL_MAX)
			return false;
		off++;
		if (lab == 0)
			break;
		if (lab > pk->len - off || n + lab + (n > 0) > DNS_NAME_MAX)
			return false;
		if (n > 0)
			out[n++] = '.';
		for (size_t i = 0; i < lab; i++) {
			uint8_t c = pk->p[off++];
			text_ok = text_ok && dns_label_byte_ok(c);
			out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (char)c;
		}
	}
	out[n] = '\0';
	if (!jumped)
		*next_r = off;
	return text_ok;
}

/* A name in rdata: it must parse and end exactly where the rdata does. */
static bool rdata_name(const struct packet *pk, size_t off, size_t end, char out[DNS_NAME_MAX + 1])
{
	size_t next = 0;
	return off < end && packet_name(pk, off, &next, out) && next == end;
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
static bool rdata_parse(enum dns_type type, const struct packet *pk, const struct rr *r,
			struct dns_rr *rr)
{
	char name[DNS_NAME_MAX + 1];
	const uint8_t *p = pk->p + r->rdata;
	size_t len = r->rdlen, end = r->rdata + r->rdlen;
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
		if (len < 3 || !rdata_name(pk, r->rdata + 2, end, name))
			return false;
		rr->u.mx.preference = get16(p);
		rr->u.mx.exchange = xstrdup(name);
		return true;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		if (!rdata_name(pk, r->rdata, end, name))
			return false;
		rr->u.ptr = xstrdup(name);
		return true;
	}
	return false;
}

/* Reads the record at *off and moves past it; false if the packet ends inside it. */
static bool next_rr(const struct packet *pk, size_t *off, struct rr *r)
{
	size_t at = 0;
	r->owner_ok = packet_name(pk, *off, &at, r->owner);
	if (at == 0 || at <= *off || pk->len - at < 10)
		return false;
	const uint8_t *p = pk->p + at;
	r->type = get16(p);
	r->ttl = get32(p + 4);
	if (r->ttl > 0x7fffffffu)
		r->ttl = 0;	/* RFC 2181 8: a TTL with the top bit set counts as 0 */
	r->rdlen = get16(p + 8);
	r->rdata = at + 10;
	if (r->rdlen > pk->len - r->rdata)
		return false;
	*off = r->rdata + r->rdlen;
	return true;
}

/* The header and the question: false if the packet is malformed. */
static bool packet_open(struct packet *pk, char qname[DNS_NAME_MAX + 1])
{
	if (pk->len < 12)
		return false;
	pk->rcode = pk->p[3] & 0x0F;
	for (int i = 0; i < 4; i++)
		pk->counts[i] = get16(pk->p + 4 + 2 * i);
	if (pk->counts[0] != 1)
		return false;
	size_t next = 0;
	if (!packet_name(pk, 12, &next, qname) || pk->len - next < 4)
		return false;
	pk->answer = next + 4;
	return true;
}

/*
 * The name the answer is for: the question, or the end of the CNAME chain
 * in the answer section (at most 16 links); *ttl_r is lowered to each
 * link's TTL.  A question for CNAME itself is not followed.
 */
static bool chain_end(const struct packet *pk, enum dns_type type, char name[DNS_NAME_MAX + 1],
		      uint32_t *ttl_r)
{
	for (int link = 0; link < 16 && type != DNS_T_CNAME; link++) {
		size_t off = pk->answer;
		struct rr r;
		bool moved = false;
		for (size_t i = 0; i < pk->counts[1] && !moved; i++) {
			if (!next_rr(pk, &off, &r))
				return false;
			if (r.type != DNS_T_CNAME || !r.owner_ok || strcmp(r.owner, name) != 0)
				continue;
			char target[DNS_NAME_MAX + 1];
			if (!rdata_name(pk, r.rdata, r.rdata + r.rdlen, target))
				return false;
			strcpy(name, target);
			*ttl_r = r.ttl < *ttl_r ? r.ttl : *ttl_r;
			moved = true;
		}
		if (!moved)
			return true;
	}
	return true;
}

/* Is r a record of the type asked for, at the end of the chain? */
static bool wanted(const struct rr *r, enum dns_type type, const char *name)
{
	return r->type == type && r->owner_ok && strcmp(r->owner, name) == 0;
}

/*
 * The records of the type asked for, at the end of the chain, into a (at
 * most DNS_MAX_RECORDS).  Returns how many there were, parsed or not, or
 * -1 if the packet is malformed.
 */
static long answer_records(const struct packet *pk, const char *name, uint32_t ttl,
			   struct dns_answer *a)
{
	size_t off = pk->answer, seen = 0;
	struct rr r;
	size_t room = pk->counts[1] < DNS_MAX_RECORDS ? pk->counts[1] : DNS_MAX_RECORDS;
	a->rr = room > 0 ? xcalloc(room, sizeof(*a->rr)) : NULL;
	for (size_t i = 0; i < pk->counts[1]; i++) {
		if (!next_rr(pk, &off, &r))
			return -1;
		if (!wanted(&r, a->type, name) || seen++ >= DNS_MAX_RECORDS)
			continue;
		if (rdata_parse(a->type, pk, &r, &a->rr[a->count])) {
			a->count++;
			ttl = r.ttl < ttl ? r.ttl : ttl;
		}
	}
	a->ttl = ttl;
	return (long)seen;
}

/*
 * How long a "no such name" or "no such record" may be kept: the lesser of
 * the SOA's TTL and its MINIMUM, from the authority section (RFC 2308 5);
 * 0, never kept, if there is none.
 */
static uint32_t negative_ttl(const struct packet *pk)
{
	size_t off = pk->answer;
	struct rr r;
	for (size_t i = 0; i < pk->counts[1] + pk->counts[2]; i++) {
		if (!next_rr(pk, &off, &r))
			return 0;
		if (i < pk->counts[1] || r.type != 6 || r.rdlen < 22)
			continue;
		uint32_t minimum = get32(pk->p + r.rdata + r.rdlen - 4);
		return r.ttl < minimum ? r.ttl : minimum;
	}
	return 0;
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

static void malformed(struct dns_answer *a, const char *why)
{
	dns_answer_clear(a);
	a->status = DNS_SERVFAIL;
	a->why = why;
}

void dns_answer_from_packet(int rcode, const uint8_t *packet, size_t len, int sec,
			    struct dns_answer *a)
{
	struct packet pk = { .p = packet, .len = len };
	char name[DNS_NAME_MAX + 1];
	a->secure = sec == DNS_SEC_SECURE;
	if (sec == DNS_SEC_BOGUS) {
		a->status = DNS_SERVFAIL;
		a->why = "DNSSEC bogus";
		return;
	}
	/* The packet is only there to read when libunbound's rcode is 0. */
	bool readable = rcode == 0 && packet != NULL && packet_open(&pk, name);
	if (rcode == 0 && !readable) {
		malformed(a, "malformed answer packet");
		return;
	}
	if (rcode == 0)
		rcode = (int)pk.rcode;
	if (rcode == 3) {
		a->status = DNS_NXDOMAIN;
		a->ttl = readable ? negative_ttl(&pk) : 0;
		return;
	}
	if (rcode != 0) {
		a->status = DNS_SERVFAIL;
		a->why = rcode_why(rcode);
		return;
	}
	uint32_t ttl = 0x7fffffffu;
	long seen = 0;
	if (!chain_end(&pk, a->type, name, &ttl) || (seen = answer_records(&pk, name, ttl, a)) < 0) {
		malformed(a, "malformed answer packet");
	} else if (seen == 0) {
		dns_answer_clear(a);
		a->status = DNS_NODATA;
		a->ttl = negative_ttl(&pk);
	} else if (a->count == 0) {
		malformed(a, "malformed records in the answer");
	} else {
		a->status = DNS_OK;
	}
}
