/*
 * Fuzz target for the memory store's StateFile and journal reader
 * (policyd/journal.c statefile_read): the input is read as a snapshot and
 * as a journal (through fmemopen, as the daemon reads its files through
 * stdio).  What it loads must be keys we could have written (printable,
 * shorter than STORE_MAX_KEY) with live values, and must survive a round
 * trip: written out as snapshot lines and read back, the same keys and
 * values.  Nothing here writes a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "journal.h"
#include "log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct dump {
	struct buf text;
	size_t n;
	uint64_t sum;
};

static void dump_key(void *arg, const char *key, int64_t value)
{
	struct dump *d = arg;
	size_t len = strlen(key);
	if (len == 0 || len >= STORE_MAX_KEY || value <= 0)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
			abort();
	buf_printf(&d->text, "%s %lld\n", key, (long long)value);
	d->n++;
	d->sum ^= (uint64_t)value + len;
}

static void read_as(const uint8_t *data, size_t size, bool journal)
{
	char *error = NULL;
	struct store *s = store_open("memory", 0, 100000, NULL, &error);
	struct statefile_stats st;
	uint64_t gen = 0;
	FILE *f = fmemopen((void *)(uintptr_t)data, size, "r");
	if (f == NULL)
		abort();
	statefile_read(s, f, journal, &gen, &st);
	fclose(f);
	struct dump d;
	int64_t now;
	bool truncated;
	buf_init(&d.text, 0);
	d.n = 0;
	d.sum = 0;
	store_scan(s, "", SIZE_MAX, dump_key, &d, &now, &truncated);
	/* round trip */
	struct store *t = store_open("memory", 0, 100000, NULL, &error);
	f = fmemopen(d.text.p, d.text.len > 0 ? d.text.len : 1, "r");
	if (f == NULL)
		abort();
	statefile_read(t, f, false, NULL, &st);
	fclose(f);
	struct dump e;
	buf_init(&e.text, 0);
	e.n = 0;
	e.sum = 0;
	store_scan(t, "", SIZE_MAX, dump_key, &e, &now, &truncated);
	if (d.text.len > 0 && (e.n != d.n || e.sum != d.sum || st.bad != 0))
		abort();
	buf_free(&d.text);
	buf_free(&e.text);
	store_close(&s);
	store_close(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_CRIT);
	if (size == 0)
		return 0;
	read_as(data, size, false);
	read_as(data, size, true);
	return 0;
}
