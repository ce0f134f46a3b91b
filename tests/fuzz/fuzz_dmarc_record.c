/*
 * Fuzz target: the DMARC record parser (lib/mail/dmarc_record.c), the words
 * for a TXT record that is not one (dmarc_record_why_not), and, on the
 * same bytes read as a domain, the Public Suffix List lookup and A-label
 * conversion (lib/mail/psl.c) against the installed list (loaded once).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dmarc_record.h"
#include "psl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct psl *list;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (list == NULL) {
		char *err = NULL;
		list = psl_load("/usr/share/publicsuffix/public_suffix_list.dat", &err);
		if (list == NULL) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
	}
	struct arena *a = arena_new();
	const char *text = (const char *)data;
	struct dmarc_record r;
	const char *err = NULL;
	/* a record is one exactly when there is no reason it is not */
	if (dmarc_record_is_dmarc(text, size) != (dmarc_record_why_not(text, size) == NULL))
		abort();
	if (dmarc_record_parse(a, text, size, &r, &err) == 0) {
		if (r.p > DMARC_P_REJECT || r.np > DMARC_P_REJECT || r.psd > DMARC_PSD_N ||
		    r.n_rua > DMARC_RECORD_MAX_URIS ||
		    r.n_ruf > DMARC_RECORD_MAX_URIS)
			abort();
		for (size_t i = 0; i < r.n_rua; i++)
			(void)strlen(r.rua[i]);
	} else if (err == NULL) {
		abort();
	}
	char *domain = arena_memdup(a, data, size);	/* stops at the first NUL */
	char *org = psl_org_domain(list, a, domain);
	if (org != NULL && psl_org_domain(list, a, org) == NULL)
		abort();	/* an organizational domain is never a public suffix */
	(void)psl_to_ascii(a, domain);
	arena_free(&a);
	return 0;
}
