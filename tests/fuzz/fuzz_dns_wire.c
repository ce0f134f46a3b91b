/*
 * Fuzz target: libunbound's answers into records (lib/dns/dns_wire.c).
 * The input describes a struct ub_result: byte 0 the query type (A, AAAA,
 * MX, TXT, PTR, CNAME), byte 1 flags (havedata, nxdomain, bogus, secure),
 * byte 2 the rcode, byte 3 whether libunbound reported an error; then
 * records, each a 2-byte big-endian length and that many rdata bytes.
 * Checks what dns.h promises of any answer: a status, at most the record
 * limit, TXT no longer than its limit, names as text a resolver accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"
#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 300	/* records read from one input */

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
	if (size < 4)
		return 0;
	struct ub_result res;
	memset(&res, 0, sizeof(res));
	char *rd[MAX_IN + 1];
	int len[MAX_IN + 1];
	size_t n = 0, off = 4;
	while (n < MAX_IN && off + 2 <= size) {
		size_t l = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (l > size - off)
			l = size - off;
		rd[n] = malloc(l + 1);	/* its own block: an overrun is ASan's to see */
		memcpy(rd[n], data + off, l);
		len[n++] = (int)l;
		off += l;
	}
	rd[n] = NULL;
	len[n] = 0;
	res.data = rd;
	res.len = len;
	res.havedata = (data[1] & 1) && n > 0;
	res.nxdomain = (data[1] & 2) != 0;
	res.bogus = (data[1] & 4) != 0;
	res.secure = (data[1] & 8) != 0;
	res.rcode = data[2] % 8;
	res.ttl = 300;
	struct dns_answer a;
	memset(&a, 0, sizeof(a));
	a.type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
	dns_answer_from_unbound(data[3] == 0xff ? -1 : 0, data[3] == 0xfe ? NULL : &res, &a);
	check(&a);
	dns_answer_clear(&a);
	for (size_t i = 0; i < n; i++)
		free(rd[i]);
	return 0;
}
