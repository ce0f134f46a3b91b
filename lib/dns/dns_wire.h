/*
 * libunbound's answers as our records: the rcode and flags of a
 * struct ub_result as a dns_status, and the uncompressed rdata of its
 * records as struct dns_rr (A, AAAA, TXT with its character-strings
 * joined, MX and PTR/CNAME names as lower-case text without the root dot).
 * A record whose rdata does not parse (an overrun, a compression pointer,
 * a name byte text cannot carry) is dropped; an answer with none left is
 * a SERVFAIL ("malformed records in the answer"), never NODATA.
 *
 * Limits: DNS_MAX_RECORDS records per answer (the rest dropped), TXT data
 * of at most DNS_MAX_TXT bytes, names of DNS_NAME_MAX bytes and labels of
 * DNS_LABEL_MAX.  Separate from dns.c so the conversion can be fuzzed
 * without a resolver (tests/fuzz/fuzz_dns_wire.c).
 */
#ifndef CACHET_DNS_WIRE_H
#define CACHET_DNS_WIRE_H

#include <stdbool.h>
#include <stdint.h>
#include <unbound.h>

#include "dns.h"

#define DNS_MAX_RECORDS 100
#define DNS_MAX_TXT 65536
#define DNS_NAME_MAX 253	/* RFC 1035 2.3.4, as text without the root dot */
#define DNS_LABEL_MAX 63

/* Fills a (whose type is set) from libunbound's err and res (res may be NULL). */
void dns_answer_from_unbound(int err, const struct ub_result *res, struct dns_answer *a);

/* May this byte stand in a label written as text? */
bool dns_label_byte_ok(uint8_t c);

#endif
