/*
 * Fuzz target for address and Authentication-Results parsing: the input is
 * given to addr_list_parse, addr_parse_path, addr_domain_normalize and the
 * ar_* functions, and their results are checked against their promises
 * (limits respected, ids found are recognised, normalising is idempotent).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ar.h"
#include "arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_addr(const struct addr *a)
{
	if (a->local == NULL || a->domain == NULL)
		abort();
	if (strlen(a->local) > ADDR_MAX_LOCAL || strlen(a->domain) > ADDR_MAX_DOMAIN)
		abort();
	for (const char *d = a->domain; *d != '\0'; d++)
		if (*d >= 'A' && *d <= 'Z')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct arena *a = arena_new();
	char *cstr = arena_memdup(a, data, size);

	struct addr_list l;
	const char *err = NULL;
	if (addr_list_parse(a, s, size, &l, &err) == 0) {
		if (l.n > ADDR_MAX_LIST || l.groups > ADDR_MAX_LIST)
			abort();
		for (size_t i = 0; i < l.n; i++)
			check_addr(&l.v[i]);
	} else if (err == NULL || l.n != 0) {
		abort();
	}

	struct addr path;
	err = NULL;
	if (addr_parse_path(a, cstr, &path, &err) == 0)
		check_addr(&path);
	else if (err == NULL)
		abort();

	char *d = addr_domain_normalize(a, s, size);
	if (d != NULL) {
		char *again = addr_domain_normalize(a, d, strlen(d));
		if (again == NULL || strcmp(again, d) != 0)
			abort();
	}

	char *id = ar_authserv_id(a, s, size);
	if (id != NULL && !ar_authserv_id_is(s, size, id))
		abort();
	ar_authserv_id_is(s, size, "mx.example.net");
	ar_authserv_id_valid(cstr);

	arena_free(&a);
	return 0;
}
