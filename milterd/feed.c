/*
 * The message feeder (see feed.h): lib/mail/header.h's reader, whose
 * callbacks are the pipeline's stages.
 */
#include "feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct feed {
	struct msg *m;
	struct hdr_reader *reader;
	enum hdr_error error;	/* the first limit the header went over */
};

static bool on_field(void *ctx, const char *name, size_t name_len, const char *value,
		     size_t value_len)
{
	struct msg *m = ctx;
	pipeline_header(m, arena_memdup(m->arena, name, name_len), value, value_len);
	return true;
}

static bool on_eoh(void *ctx)
{
	pipeline_eoh(ctx);
	return true;
}

static bool on_body(void *ctx, const uint8_t *data, size_t len)
{
	pipeline_body(ctx, data, len);
	return true;
}

struct feed *feed_new(struct msg *m)
{
	static const struct hdr_callbacks cb = { on_field, on_eoh, on_body };
	const struct config *cfg = m->cfg;
	struct hdr_limits limits = { cfg->max_header_count, cfg->max_header_size,
				     cfg->max_header_block, cfg->max_line_length };
	struct feed *f = xcalloc(1, sizeof(*f));
	f->m = m;
	f->reader = hdr_reader_new(&limits, &cb, m);
	return f;
}

void feed_bytes(struct feed *f, const void *p, size_t n)
{
	/* past a header limit the reader stops; the pipeline is told at the end */
	if (f->error == HDR_OK)
		f->error = hdr_reader_feed(f->reader, p, n);
}

void feed_finish(struct feed **fp)
{
	struct feed *f = *fp;
	if (f == NULL)
		return;
	if (f->error == HDR_OK)
		f->error = hdr_reader_finish(f->reader);
	pipeline_header_limit(f->m, f->error);
	if (!f->m->eoh_done)
		pipeline_eoh(f->m);
	hdr_reader_free(&f->reader);
	free(f);
	*fp = NULL;
}

void feed_message(struct msg *m, const void *p, size_t n)
{
	struct feed *f = feed_new(m);
	const uint8_t *b = p;
	/* in MTA-sized pieces, as the milter would get them */
	for (size_t off = 0; off < n; off += FEED_CHUNK)
		feed_bytes(f, b + off, n - off < FEED_CHUNK ? n - off : FEED_CHUNK);
	feed_finish(&f);
}

int feed_file(struct msg *m, const char *path, char **error_r)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *fp = is_stdin ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	struct feed *f = feed_new(m);
	uint8_t *chunk = xmalloc(FEED_CHUNK);
	size_t n;
	/* past a header limit the rest is not read: the verdict is already known */
	while (f->error == HDR_OK && (n = fread(chunk, 1, FEED_CHUNK, fp)) > 0)
		feed_bytes(f, chunk, n);
	int rc = ferror(fp) ? -1 : 0;
	if (rc < 0)
		*error_r = xasprintf("%s: read error", path);
	feed_finish(&f);
	free(chunk);
	if (!is_stdin)
		fclose(fp);
	return rc;
}
