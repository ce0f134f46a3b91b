/*
 * Fuzz target for the key record explainer (lib/mail/dkim_publish.c, used
 * by cachet doctor and cachet-keys testkey): any bytes as one record's
 * text.  The status is one of the four, the problems fit their slots and
 * end in NUL, and a usable record has a key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	memcpy(p, data, size);
	p[size] = '\0';
	struct dkim_keycheck kc;
	dkim_keycheck_record(p, size, &kc);
	switch (kc.status) {
	case DKIM_KEYCHECK_USABLE:
		if (kc.key == NULL)
			abort();
		break;
	case DKIM_KEYCHECK_ABSENT:
	case DKIM_KEYCHECK_TEMP:
	case DKIM_KEYCHECK_BAD:
		break;
	default:
		abort();
	}
	if (kc.n_problems > DKIM_KEYCHECK_MAX_PROBLEMS)
		abort();
	for (size_t i = 0; i < kc.n_problems; i++)
		if (memchr(kc.problem[i], '\0', DKIM_KEYCHECK_PROBLEM_LEN) == NULL)
			abort();
	dkim_keycheck_clear(&kc);
	free(p);
	return 0;
}
