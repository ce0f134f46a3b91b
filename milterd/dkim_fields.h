/*
 * The message's header fields as lib/mail/dkim.h takes them, for the two
 * DKIM checks (verification over the header as received, signing over the
 * header as it will leave).
 */
#ifndef CACHET_DKIM_FIELDS_H
#define CACHET_DKIM_FIELDS_H

#include "dkim.h"
#include "pipeline.h"

/* An arena array of n fields pointing into h. */
static inline const struct dkim_field *dkim_fields_of(struct arena *a,
						      const struct msg_header *h, size_t n)
{
	struct dkim_field *f = arena_alloc_array(a, n + 1, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		f[i].name = slice_cstr(h[i].name);
		f[i].value = slice_make(h[i].value, h[i].value_len);
	}
	return f;
}

#endif
