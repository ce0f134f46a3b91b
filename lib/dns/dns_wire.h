/*
 * Answer packets as our records.  libunbound's event interface hands over
 * the answer as a DNS message (RFC 1035 4.1); this reads its rcode, follows
 * the CNAME chain from the question through the answer section, and turns
 * the records of the type asked for into struct dns_rr (A, AAAA, TXT with
 * its character-strings joined, MX and PTR/CNAME names as lower-case text
 * without the root dot).  Names may be compressed (4.1.4).  A record whose
 * rdata does not parse (an overrun, a name byte text cannot carry) is
 * dropped; an answer with none left is a SERVFAIL ("malformed records in
 * the answer"), never NODATA, and so is a packet that does not parse.  The
 * TTL is the least of the records' and the chain's; for NXDOMAIN and
 * NODATA, the lesser of the SOA's TTL and MINIMUM (RFC 2308 5), 0 if none.
 *
 * Limits: DNS_MAX_RECORDS records per answer (the rest dropped), TXT data
 * of at most DNS_MAX_TXT bytes, names of DNS_NAME_MAX bytes and labels of
 * DNS_LABEL_MAX, CNAME chains of 16 links.  Separate from dns.c so the
 * conversion can be fuzzed without a resolver (tests/fuzz/fuzz_dns_wire.c).
 */
#ifndef CACHET_DNS_WIRE_H
#define CACHET_DNS_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "dns.h"

#define DNS_MAX_RECORDS 100
#define DNS_MAX_TXT 65536
#define DNS_NAME_MAX 253	/* RFC 1035 2.3.4, as text without the root dot */
#define DNS_LABEL_MAX 63

/* DNSSEC states, as libunbound's event callback gives them. */
enum { DNS_SEC_INSECURE = 0, DNS_SEC_BOGUS = 1, DNS_SEC_SECURE = 2 };

/*
 * Fills a (whose type is set) from libunbound's rcode (0, or a failure:
 * the packet is then not read), the answer packet and its DNSSEC state.
 */
void dns_answer_from_packet(int rcode, const uint8_t *packet, size_t len, int sec,
			    struct dns_answer *a);

/* May this byte stand in a label written as text? */
bool dns_label_byte_ok(uint8_t c);

#endif
