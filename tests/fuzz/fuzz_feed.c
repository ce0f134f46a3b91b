/*
 * Fuzz target: what `cachet check` does with a file (milterd/feed.c into
 * the pipeline with the production checks): the envelope taken apart
 * (MAIL FROM and HELO as the MTA would pass them), the message split into
 * header fields and body by lib/mail/header.h's reader in chunks of any
 * size, and every check's header, body and end-of-message hooks on what
 * comes out (DKIM-Signature and From: parsing, DMARC's tree walk, SPF),
 * answered by an empty test zone: no network.
 *
 * Input: byte 0 picks the chunk size, byte 1 the length of the MAIL FROM
 * that follows, then a HELO of byte 2's length, then the message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed.h"
#include "log.h"
#include "pipeline.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct runtime *rt;

/* The production checks over an empty zone, built once. */
static void setup(void)
{
	char zone[] = "/tmp/cachet-fuzz-zone.XXXXXX";
	int fd = mkstemp(zone);
	if (fd < 0)
		abort();
	close(fd);
	char conf[256];
	snprintf(conf, sizeof(conf), "AuthservID fuzz.example\nTestDNSData %s\n"
		 "InternalHosts 192.0.2.1\nSyslog no\n", zone);
	char *err = NULL;
	struct config *cfg = config_parse("fuzz.conf", conf, strlen(conf), &err);
	rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	unlink(zone);	/* the zone is read; the file can go */
	if (rt == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	log_set_level(LOG_CRIT);
}

/* A NUL-terminated copy of the next n bytes (at most what is left). */
static char *take(const uint8_t **p, size_t *left, size_t n)
{
	if (n > *left)
		n = *left;
	char *s = malloc(n + 1);
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n;
	*left -= n;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rt == NULL)
		setup();
	if (size < 3)
		return 0;
	size_t chunk = (size_t)data[0] * 37 + 1, from_len = data[1], helo_len = data[2];
	const uint8_t *p = data + 3;
	size_t left = size - 3;
	char *from = take(&p, &left, from_len);
	char *helo = take(&p, &left, helo_len);
	struct conn *c = pipeline_conn_new_text(rt, helo, "203.0.113.9");
	pipeline_helo(c, helo);
	struct msg *m = pipeline_msg_begin(c, from, NULL);
	pipeline_rcpt(m, "<rcpt@example.net>");
	struct feed *f = feed_new(m);
	for (size_t off = 0; off < left; off += chunk)
		feed_bytes(f, p + off, left - off < chunk ? left - off : chunk);
	feed_finish(&f);
	/* bare LFs become CRLF: the body may grow, never past twice the input */
	if (!m->eoh_done || m->body_bytes > 2 * left)
		abort();
	const struct eom_result *r = pipeline_eom(m);
	if (r->ar_value == NULL || strncmp(r->ar_value, "fuzz.example;", 13) != 0)
		abort();
	pipeline_conn_free(&c);
	free(from);
	free(helo);
	return 0;
}
