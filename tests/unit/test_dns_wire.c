/*
 * Unit tests of answer packets into records (lib/dns/dns_wire.c), with
 * packets built here: what NSD never sends (pointer loops, overruns, long
 * CNAME chains, TTLs with the top bit set) and the cases whose figures
 * matter (negative TTLs, the chain's TTL).  NSD's real answers are in
 * test_dns.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"
#include "t.h"
#include "zone.h"

struct pkt {
	uint8_t b[1024];
	size_t len;
};

static void put(struct pkt *p, const void *data, size_t n)
{
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

static void put16(struct pkt *p, unsigned v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(p, b, 2);
}

static void put32(struct pkt *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

/* "a.example" as labels; returns where it starts. */
static size_t put_name(struct pkt *p, const char *name)
{
	size_t at = p->len;
	while (*name != '\0') {
		size_t n = strcspn(name, ".");
		uint8_t len = (uint8_t)n;
		put(p, &len, 1);
		put(p, name, n);
		name += n + (name[n] == '.');
	}
	put(p, "", 1);
	return at;
}

static void put_pointer(struct pkt *p, size_t to)
{
	put16(p, 0xC000 | (unsigned)to);
}

#define QNAME 12	/* where the question's name starts */

/* Header with counts, then the question (its name at QNAME). */
static void start(struct pkt *p, unsigned rcode, unsigned an, unsigned ns, const char *qname,
		  enum dns_type type)
{
	p->len = 0;
	put16(p, 0x1234);
	put16(p, 0x8180 | rcode);
	put16(p, 1);
	put16(p, an);
	put16(p, ns);
	put16(p, 0);
	put_name(p, qname);
	put16(p, type);
	put16(p, 1);
}

/* An RR's header, its owner a pointer to the name at offset owner. */
static void rr_header(struct pkt *p, size_t owner, unsigned type, uint32_t ttl, unsigned rdlen)
{
	put_pointer(p, owner);
	put16(p, type);
	put16(p, 1);
	put32(p, ttl);
	put16(p, rdlen);
}

static struct dns_answer read_packet(const struct pkt *p, enum dns_type type)
{
	struct dns_answer a = { .type = type };
	dns_answer_from_packet(0, p->b, p->len, DNS_SEC_INSECURE, &a);
	return a;
}

static void test_a_record_and_ttl(void)
{
	struct pkt p;
	start(&p, 0, 1, 0, "mail.example", DNS_T_A);
	rr_header(&p, QNAME, DNS_T_A, 300, 4);
	put(&p, "\xc0\x00\x02\x19", 4);
	struct dns_answer a = read_packet(&p, DNS_T_A);
	T_EQ_INT(a.status, DNS_OK);
	T_EQ_INT(a.count, 1);
	T_EQ_INT(a.ttl, 300);
	dns_answer_clear(&a);
}

/* An MX whose exchange is compressed, pointing into the question. */
static void test_compressed_mx(void)
{
	struct pkt p;
	start(&p, 0, 1, 0, "example", DNS_T_MX);
	rr_header(&p, QNAME, DNS_T_MX, 60, 2 + 5 + 2);
	put16(&p, 10);
	put(&p, "\x04mail", 5);
	put_pointer(&p, QNAME);
	struct dns_answer a = read_packet(&p, DNS_T_MX);
	T_EQ_INT(a.status, DNS_OK);
	T_EQ_INT(a.count, 1);
	if (a.count == 1)
		T_EQ_STR(a.rr[0].u.mx.exchange, "mail.example");
	dns_answer_clear(&a);
}

/* Pointers that loop or point forward, and RRs that overrun: SERVFAIL, not NODATA. */
static void test_malformed_packets(void)
{
	struct pkt p;
	/* the owner points to itself */
	start(&p, 0, 1, 0, "example", DNS_T_A);
	rr_header(&p, p.len, DNS_T_A, 60, 4);
	put(&p, "\x01\x02\x03\x04", 4);
	struct dns_answer a = read_packet(&p, DNS_T_A);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	T_EQ_STR(a.why, "malformed answer packet");
	/* a label, then a pointer back to it: each pass grows the name */
	start(&p, 0, 1, 0, "example", DNS_T_A);
	size_t at = p.len;
	put(&p, "\x01x", 2);
	put_pointer(&p, at);
	a = read_packet(&p, DNS_T_A);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	/* rdata longer than the packet */
	start(&p, 0, 1, 0, "example", DNS_T_TXT);
	rr_header(&p, QNAME, DNS_T_TXT, 60, 200);
	put(&p, "\x03" "abc", 4);
	a = read_packet(&p, DNS_T_TXT);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	/* a header alone, and nothing */
	a = (struct dns_answer){ .type = DNS_T_A };
	dns_answer_from_packet(0, p.b, 11, DNS_SEC_INSECURE, &a);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	a = (struct dns_answer){ .type = DNS_T_A };
	dns_answer_from_packet(0, NULL, 0, DNS_SEC_INSECURE, &a);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	/* an MX whose rdata does not parse: dropped; none left is SERVFAIL */
	start(&p, 0, 1, 0, "example", DNS_T_MX);
	rr_header(&p, QNAME, DNS_T_MX, 60, 2);
	put16(&p, 10);
	a = read_packet(&p, DNS_T_MX);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	T_EQ_STR(a.why, "malformed records in the answer");
	T_EQ_INT(a.count, 0);
}

/* example -> a.example (TTL 30) -> the A records; the chain's TTL counts. */
static void test_cname_chain(void)
{
	struct pkt p;
	start(&p, 0, 2, 0, "example", DNS_T_A);
	rr_header(&p, QNAME, DNS_T_CNAME, 30, 4);
	size_t target = p.len;
	put(&p, "\x01" "a", 2);
	put_pointer(&p, QNAME);
	rr_header(&p, target, DNS_T_A, 300, 4);
	put(&p, "\x01\x02\x03\x04", 4);
	struct dns_answer a = read_packet(&p, DNS_T_A);
	T_EQ_INT(a.status, DNS_OK);
	T_EQ_INT(a.count, 1);
	T_EQ_INT(a.ttl, 30);
	dns_answer_clear(&a);
	/* asked for the CNAME itself: not followed */
	a = read_packet(&p, DNS_T_CNAME);
	T_EQ_INT(a.status, DNS_OK);
	if (a.count == 1)
		T_EQ_STR(a.rr[0].u.ptr, "a.example");
	dns_answer_clear(&a);
}

/* RFC 2308 5: the lesser of the SOA's TTL and MINIMUM; none: 0. */
static void test_negative_ttls(void)
{
	struct pkt p;
	for (int rcode = 0; rcode <= 3; rcode += 3) {
		start(&p, (unsigned)rcode, 0, 1, "nope.example", DNS_T_TXT);
		rr_header(&p, QNAME + 5, 6, 900, 2 + 20);	/* SOA of "example" */
		put(&p, "\x00\x00", 2);	/* mname, rname: the root */
		put32(&p, 1);
		put32(&p, 3600);
		put32(&p, 600);
		put32(&p, 86400);
		put32(&p, 120);		/* MINIMUM */
		struct dns_answer a = read_packet(&p, DNS_T_TXT);
		T_EQ_INT(a.status, rcode == 3 ? DNS_NXDOMAIN : DNS_NODATA);
		T_EQ_INT(a.ttl, 120);
	}
	start(&p, 3, 0, 0, "nope.example", DNS_T_TXT);
	struct dns_answer a = read_packet(&p, DNS_T_TXT);
	T_EQ_INT(a.status, DNS_NXDOMAIN);
	T_EQ_INT(a.ttl, 0);
}

/* libunbound's own rcode and DNSSEC state win over the packet. */
static void test_rcode_and_dnssec(void)
{
	struct pkt p;
	start(&p, 0, 1, 0, "example", DNS_T_A);
	rr_header(&p, QNAME, DNS_T_A, 0x80000000u, 4);	/* RFC 2181 8: counts as 0 */
	put(&p, "\x01\x02\x03\x04", 4);
	struct dns_answer a = { .type = DNS_T_A };
	dns_answer_from_packet(2, p.b, p.len, DNS_SEC_INSECURE, &a);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	T_EQ_STR(a.why, "server failure (SERVFAIL)");
	a = (struct dns_answer){ .type = DNS_T_A };
	dns_answer_from_packet(0, p.b, p.len, DNS_SEC_BOGUS, &a);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	T_EQ_STR(a.why, "DNSSEC bogus");
	a = (struct dns_answer){ .type = DNS_T_A };
	dns_answer_from_packet(0, p.b, p.len, DNS_SEC_SECURE, &a);
	T_EQ_INT(a.status, DNS_OK);
	T_CHECK(a.secure);
	T_EQ_INT(a.ttl, 0);
	dns_answer_clear(&a);
	start(&p, 5, 0, 0, "example", DNS_T_A);
	a = read_packet(&p, DNS_T_A);
	T_EQ_INT(a.status, DNS_SERVFAIL);
	T_EQ_STR(a.why, "query refused (REFUSED)");
}

int main(void)
{
	T_RUN(test_a_record_and_ttl);
	T_RUN(test_compressed_mx);
	T_RUN(test_malformed_packets);
	T_RUN(test_cname_chain);
	T_RUN(test_negative_ttls);
	T_RUN(test_rcode_and_dnssec);
	return t_done();
}
