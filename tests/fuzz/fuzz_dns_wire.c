/*
 * Fuzz target: answer packets into records (lib/dns/dns_wire.c).
 * Byte 0 picks the query type (A, AAAA, MX, TXT, PTR, CNAME), byte 1 the
 * rcode libunbound reports (low 3 bits: 0 most of the time, else a
 * failure) and the DNSSEC state (bits 4-5); the rest is the answer packet
 * (RFC 1035 4.1, compression and all).  Checks what dns.h promises of any
 * answer: a status, at most the record limit, TXT no longer than its
 * limit, names as text a resolver accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT,
				       DNS_T_PTR, DNS_T_CNAME };

static void check_name(const char *s)
{
	size_t n = strlen(s);
	if (n > DNS_NAME_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] != '.' && !dns_label_byte_ok((uint8_t)s[i]))
			abort();
}

static void check(const struct dns_answer *a)
{
	if (a->status != DNS_OK) {
		if (a->count != 0)
			abort();
		return;
	}
	if (a->count == 0 || a->count > DNS_MAX_RECORDS)
		abort();
	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rr[i];
		if (a->type == DNS_T_TXT && rr->u.txt.len > DNS_MAX_TXT)
			abort();
		if (a->type == DNS_T_MX)
			check_name(rr->u.mx.exchange);
		if (a->type == DNS_T_PTR || a->type == DNS_T_CNAME)
			check_name(rr->u.ptr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct dns_answer a;
	memset(&a, 0, sizeof(a));
	a.type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	int rcode = (data[1] & 7) < 5 ? 0 : (data[1] & 7) - 3;	/* 0, or 2, 3, 4 */
	int sec = (data[1] >> 4) & 3;
	/* the packet in its own block: an overrun is ASan's to see */
	size_t n = size - 2;
	uint8_t *packet = malloc(n > 0 ? n : 1);
	memcpy(packet, data + 2, n);
	dns_answer_from_packet(rcode, n > 0 ? packet : NULL, n, sec, &a);
	check(&a);
	dns_answer_clear(&a);
	free(packet);
	return 0;
}
