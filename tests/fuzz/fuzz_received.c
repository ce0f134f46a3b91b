/*
 * Fuzz target: the Received field reader (lib/mail/received.c).  Any bytes
 * are read or refused with words; what is read holds together: a client
 * address is a valid, normalised address, a HELO name never an address
 * literal, and the matcher agrees with itself.  The date reader gets the
 * field's date and the whole input: it never gives a time before 1970.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "received.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct received r;
	const char *error = NULL;
	if (received_parse(a, (const char *)data, size, &r, &error) < 0) {
		if (error == NULL || *error == '\0')
			abort();
	} else {
		unsigned char bin[16];
		if (r.ip != NULL && inet_pton(strchr(r.ip, ':') ? AF_INET6 : AF_INET, r.ip, bin) != 1)
			abort();
		if (r.helo != NULL && r.helo[0] == '[')
			abort();
		if (r.from == NULL && r.by == NULL && r.date == NULL)
			abort();
		if (r.by != NULL && r.by[0] != '\0' && !received_host_is(r.by, r.by))
			abort();
		time_t t;
		if (r.date != NULL && received_date_parse(r.date, &t) == 0 && t < 0)
			abort();
	}
	/* the input as a date alone */
	char *text = arena_alloc(a, size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	time_t t;
	if (received_date_parse(text, &t) == 0 && t < 0)
		abort();
	arena_free(&a);
	return 0;
}
