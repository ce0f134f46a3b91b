/*
 * Fuzz target: reading Authentication-Results and
 * ARC-Authentication-Results values (lib/mail/ar.c): ar_parse in both
 * modes, and ar_authserv_id on the same bytes.  What is read holds
 * together: within the limits, methods and property names lower case,
 * every result found again by its method, and the same authserv-id as
 * ar_authserv_id when both read one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lower(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	const char *v = (const char *)data;
	for (int arc = 0; arc < 2; arc++) {
		struct ar_field f;
		const char *error = NULL;
		if (ar_parse(a, v, size, arc == 1, &f, &error) < 0) {
			if (error == NULL)
				abort();
			continue;
		}
		if (f.authserv_id == NULL || f.n > AR_MAX_RESULTS)
			abort();
		for (size_t i = 0; i < f.n; i++) {
			const struct ar_resinfo *r = &f.res[i];
			if (r->method == NULL || r->result == NULL || r->n_props > AR_MAX_PROPS)
				abort();
			lower(r->method);
			lower(r->result);
			if (ar_field_find(&f, r->method) == NULL)
				abort();
			for (size_t k = 0; k < r->n_props; k++) {
				lower(r->props[k].name);
				if (strchr(r->props[k].name, '.') == NULL ||
				    ar_resinfo_prop(r, r->props[k].name) == NULL)
					abort();
			}
		}
		const char *id = ar_authserv_id(a, v, size);
		if (arc == 0 && id != NULL && strcmp(id, f.authserv_id) != 0 &&
		    memchr(v, '\0', size) == NULL)
			abort();
	}
	arena_free(&a);
	return 0;
}
