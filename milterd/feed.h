/*
 * Feeding a whole message (a file, stdin, or bytes in memory) through the
 * pipeline the way the milter would: header fields, end of header, body in
 * chunks.  The one driver behind `cachet check`, the unit tests and the
 * benchmarks.  The raw message is read with lib/mail/header.h's reader
 * (line ends normalised to CRLF, the configured header limits: a header
 * over them is reported to the pipeline, which applies OnHeaderLimit).
 */
#ifndef CACHET_FEED_H
#define CACHET_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"

/* Body bytes handed to the pipeline at a time (about what an MTA sends). */
#define FEED_CHUNK 65536

struct feed;

/* Starts feeding the message m (after pipeline_msg_begin). */
struct feed *feed_new(struct msg *m);
/* More of the raw message, in pieces of any size. */
void feed_bytes(struct feed *f, const void *p, size_t n);
/* The end of the message: the last line, end of header if not yet seen. */
void feed_finish(struct feed **f);

/* The whole of p. */
void feed_message(struct msg *m, const void *p, size_t n);
/*
 * The whole of a file ("-" is stdin).  Returns 0, or -1 with *error_r
 * (free() it) when it cannot be opened or read; then the message is
 * incomplete and should not be judged.
 */
int feed_file(struct msg *m, const char *path, char **error_r);

#endif
