/*
 * Message header handling shared by every check: reading a raw message
 * (a file, or stdin) into header fields and body, unfolding, and the hard
 * limits that keep hostile input bounded.
 *
 * The reader is push-style: feed it bytes in chunks of any size (one byte at
 * a time works) and it calls back once per complete header field, once at
 * the end of the header, and with body data as it arrives.  Line ends are
 * normalised to CRLF (a bare LF becomes CRLF; a bare CR is kept as data),
 * which is what the MTA hands a milter and what DKIM canonicalises.
 *
 * Malformed input is not a crash and not a silent loss:
 *  - a header line without a colon (and not a continuation) ends the header
 *    at that line, which becomes the first body line (RFC 5322 has no other
 *    place for it; this is also what Postfix does);
 *  - a continuation line before any field is treated the same way;
 *  - NUL bytes are kept (values carry their length);
 *  - exceeding a limit stops the reader with an error naming the limit
 *    (HDR_ERR_*); what was read so far has been delivered.
 */
#ifndef CACHET_HEADER_H
#define CACHET_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

struct hdr_limits {
	size_t max_count;	/* header fields */
	size_t max_field;	/* bytes of one field, name + value, as folded */
	size_t max_block;	/* bytes of the whole header */
	size_t max_line;	/* bytes of one physical header line (body lines
				   are not limited: they stream to the checks) */
};

/* Defaults: 1000 fields, 64 KiB a field, 1 MiB in all, 64 KiB a line. */
extern const struct hdr_limits hdr_limits_default;

enum hdr_error {
	HDR_OK = 0,
	HDR_ERR_COUNT,		/* too many header fields */
	HDR_ERR_FIELD,		/* one field too large */
	HDR_ERR_BLOCK,		/* the header as a whole too large */
	HDR_ERR_LINE,		/* a line too long */
};

/* "too many header fields" etc.; static text (the caller knows the limit). */
const char *hdr_error_text(enum hdr_error e);

struct hdr_callbacks {
	/*
	 * One complete field.  name is the field name without the colon (not
	 * NUL-checked: it may hold any byte except ':' and whitespace);
	 * value is everything after the colon, folds kept as CRLF + WSP,
	 * without the final CRLF.  name and value point into one buffer:
	 * the bytes from name to value + value_len are the field exactly as
	 * read (what DKIM's "simple" canonicalization needs), even when
	 * whitespace before the colon was stripped from name_len.  Return
	 * false to stop reading.
	 */
	bool (*field)(void *ctx, const char *name, size_t name_len,
		      const char *value, size_t value_len);
	bool (*end_of_header)(void *ctx);
	bool (*body)(void *ctx, const uint8_t *data, size_t len);
};

struct hdr_reader;

/* Free with hdr_reader_free(). */
struct hdr_reader *hdr_reader_new(const struct hdr_limits *limits,
				  const struct hdr_callbacks *cb, void *ctx);
void hdr_reader_free(struct hdr_reader **r);
/*
 * Feeds bytes.  Returns HDR_OK, or the limit that was exceeded (further
 * calls return the same error).  A callback returning false stops the reader
 * quietly (HDR_OK, further input ignored).
 */
enum hdr_error hdr_reader_feed(struct hdr_reader *r, const uint8_t *p, size_t n);
/*
 * End of input: delivers a last field or line without its line end, and
 * end_of_header if the message had no body.
 */
enum hdr_error hdr_reader_finish(struct hdr_reader *r);

/* Is it a valid RFC 5322 field name (printable US-ASCII except ':')? */
bool hdr_name_valid(const char *name, size_t len);
/*
 * Unfolds a value (RFC 5322 2.2.3: removes each CRLF or LF that precedes
 * WSP), dropping leading and trailing whitespace.  Returns an arena string;
 * NUL bytes in the value are kept and counted in *len_r (len_r may be NULL).
 */
char *hdr_unfold(struct arena *a, const char *value, size_t len, size_t *len_r);

#endif
