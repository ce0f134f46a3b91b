/*
 * Fuzz target for the DKIM tag-list parser and DKIM-Signature parsing
 * (lib/mail/dkim_tags.c, lib/mail/dkim_sig.c).  The input is a DKIM-Signature value.
 * Checks: every slice lies inside the input, the b= cut lies inside the
 * value, and a parsed signature's header hash can be computed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_in(struct slice s, const char *p, size_t len)
{
	if (s.p < p || s.p + s.len > p + len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy so ASan sees reads past the end. */
	char *p = malloc(size + 1);
	memcpy(p, data, size);
	struct dkim_tags tags;
	if (dkim_tags_parse(p, size, &tags) == DKIM_OK) {
		for (size_t i = 0; i < tags.count; i++) {
			check_in(tags.tag[i].name, p, size);
			check_in(tags.tag[i].value, p, size);
		}
	}
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	enum dkim_err e = dkim_sig_parse(a, p, size, &sig);
	if (dkim_err_text(e) == NULL)
		abort();
	if (e == DKIM_OK) {
		if (sig->b_cut > sig->b_end || sig->b_end > size)
			abort();
		struct dkim_field f[2] = {
			{ slice_cstr("From"), slice_cstr(" a@example.com") },
			{ slice_cstr("DKIM-Signature"), slice_make(p, size) },
		};
		uint8_t h[DKIM_HASH_MAX];
		dkim_header_hash(sig, f, 2, 1, h);
		dkim_sig_check_time(sig, 1700000000, 300);
	}
	arena_free(&a);
	free(p);
	return 0;
}
