/*
 * Fuzz target for the KeyTable / SigningTable parsers and the lookup.
 * Input layout: the first byte chooses the SigningTable's form (bits 0-1:
 * file, refile, csl) and MultipleSignatures (bit 2); the rest, up to the
 * first NUL, is a KeyTable in file: form, and what follows the NUL is the
 * SigningTable.  Both tables are built from memory (nothing is read or
 * written on disk), then a few senders are looked up, one of them taken
 * from the input itself.  The KeyTable text is also parsed as a csl: list.
 * Nothing may crash, leak, hang or break what keytable.h promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "keytable.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_keys(const struct signing_key *k, int n, size_t max)
{
	if (n < -1 || n > (int)max)
		abort();
	for (int i = 0; i < n; i++) {
		/* exactly one of key_path and key_data, and the rest set */
		if ((k[i].key_path == NULL) == (k[i].key_data == NULL))
			abort();
		if (k[i].name == NULL || k[i].domain == NULL || k[i].selector == NULL)
			abort();
		if (strcmp(k[i].domain, "%") == 0)
			abort();
	}
}

static void lookups(const struct signtable *st, const struct keytable *kt, bool multiple,
		    const char *text)
{
	static const char *const senders[][2] = {
		{ "user", "example.com" },
		{ "ceo", "a.b.example.com" },
		{ "", "localhost" },
		{ "postmaster", "EXAMPLE.NET." },
	};
	struct arena *a = arena_new();
	struct signing_key k[KEYTABLE_MAX_SIGNATURES];
	const char *error = NULL;
	for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		int n = signtable_lookup(st, kt, senders[i][0], senders[i][1], multiple, a, k,
					 KEYTABLE_MAX_SIGNATURES, &error);
		check_keys(k, n, KEYTABLE_MAX_SIGNATURES);
		if (n < 0 && error == NULL)
			abort();
	}
	/* the input's first line as a sender, split at its last '@' */
	size_t len = strcspn(text, "\n");
	if (len > 600)
		len = 600;
	char *addr = strndup(text, len);
	if (addr != NULL) {
		char *at = strrchr(addr, '@');
		const char *local = "x", *domain = addr;
		if (at != NULL) {
			*at = '\0';
			local = addr;
			domain = at + 1;
		}
		int n = signtable_lookup(st, kt, local, domain, multiple, a, k, 2, &error);
		check_keys(k, n, 2);
		free(addr);
	}
	arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	if (!quiet) {
		log_open("fuzz_keytable", true, LOG_MAIL);
		log_set_level(LOG_CRIT);	/* duplicate-name warnings are noise here */
		quiet = true;
	}
	if (size < 1)
		return 0;
	static const enum dataset_type types[] = { DATASET_FILE, DATASET_REFILE, DATASET_CSL,
						   DATASET_FILE };
	enum dataset_type st_type = types[data[0] & 3];
	bool multiple = (data[0] & 4) != 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	const char *nul = memchr(text, '\0', len);
	size_t kt_len = nul != NULL ? (size_t)(nul - text) : len;
	const char *st_text = nul != NULL ? nul + 1 : "";
	size_t st_len = nul != NULL ? len - kt_len - 1 : 0;

	char *error = NULL;
	struct keytable *kt = keytable_parse(DATASET_FILE, "kt", text, kt_len, &error);
	if (kt == NULL && error == NULL)
		abort();
	free(error);
	error = NULL;
	if (kt != NULL) {
		for (size_t i = 0; i < keytable_count(kt); i++) {
			const struct keytable_entry *e = keytable_entry_at(kt, i);
			if (keytable_find(kt, e->name) != e)
				abort();
		}
		struct signtable *st = signtable_parse(st_type, "st", st_text, st_len, kt, &error);
		if (st == NULL && error == NULL)
			abort();
		if (st != NULL) {
			char *copy = strndup(st_text, st_len);
			if (copy != NULL)
				lookups(st, kt, multiple, copy);
			free(copy);
		}
		signtable_free(&st);
		free(error);
		error = NULL;
	}
	keytable_free(&kt);

	kt = keytable_parse(DATASET_CSL, "csl", text, kt_len, &error);
	keytable_free(&kt);
	free(error);
	return 0;
}
