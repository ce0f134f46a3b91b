/*
 * Fuzz target for DKIM key record parsing (lib/mail/dkim_key.c): any bytes as
 * a TXT record; a key that parses must be usable in dkim_key_check_sig.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	memcpy(p, data, size);
	struct dkim_key *key = NULL;
	enum dkim_err e = dkim_key_parse(p, size, &key);
	if ((e == DKIM_OK) != (key != NULL))
		abort();
	if (key != NULL) {
		if (key->pkey == NULL || key->bits <= 0)
			abort();
		static const char sigv[] =
			"v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA";
		struct arena *a = arena_new();
		struct dkim_sig *sig;
		dkim_sig_parse(a, sigv, sizeof(sigv) - 1, &sig);
		dkim_key_check_sig(key, sig);
		arena_free(&a);
		dkim_key_free(&key);
	}
	free(p);
	return 0;
}
