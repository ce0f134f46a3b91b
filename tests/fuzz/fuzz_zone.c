/*
 * Fuzz target for lib/dns/zone.c: parses the input as a zone file, then asks
 * the zone for a few names (fixed ones, and the first owner-looking word of
 * the input) of every type, so the lookup and CNAME-chasing paths run on
 * whatever the parser accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zone.h"

static void ask(const struct zone *z, const char *name)
{
	static const enum dns_type types[] = {
		DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_PTR, DNS_T_CNAME,
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct dns_answer a;
		zone_lookup(z, name, types[i], &a);
		dns_answer_clear(&a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *error = NULL;
	struct zone *z = zone_parse("fuzz.zone", (const char *)data, size, &error);
	if (z == NULL) {
		free(error);
		return 0;
	}
	static const char *const names[] = {
		"example.com", "www.example.com", "a.example", "b.example", "example",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ask(z, names[i]);
	/* the input's first word, as the owner of the first record often is */
	char first[300];
	size_t n = 0;
	while (n < size && n < sizeof(first) - 1 && data[n] > ' ' && data[n] != ';')
		n++;
	memcpy(first, data, n);
	first[n] = '\0';
	ask(z, first);
	(void)zone_record_count(z);
	zone_free(&z);
	return 0;
}
