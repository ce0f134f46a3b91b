/*
 * A spool: bytes written once, in order, and read back at any offset, kept
 * in memory up to a limit and beyond it in a temporary file.  The pipeline
 * keeps a whole message in one when a check asks for it (AV, spam, failure
 * reports), so a 50 MB message costs at most the memory limit, not 50 MB.
 *
 * The file is created in the spool's directory with mode 0600 and never
 * has a name (O_TMPFILE; where the file system cannot do that, a mkstemp()
 * name unlinked right after opening), so nothing is left behind whatever
 * happens to the process; spool_free() closes it.  Writes after a failure
 * keep failing (the first error is kept); the spool never loses bytes
 * silently.
 *
 * Limits: SPOOL_MAX_SIZE bytes in all; memory_limit bytes in memory.
 */
#ifndef CACHET_SPOOL_H
#define CACHET_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Larger than any message an MTA accepts; past it writes fail. */
#define SPOOL_MAX_SIZE ((uint64_t)4 << 30)

struct spool;

/* dir is used only when the memory limit is passed.  Free with spool_free(). */
struct spool *spool_new(size_t memory_limit, const char *dir);
void spool_free(struct spool **s);

/*
 * Appends n bytes.  Returns 0, or -1 when they could not be kept (the
 * temporary file cannot be made or written, or SPOOL_MAX_SIZE is passed);
 * spool_error() then says why, and every later write fails too.
 */
int spool_write(struct spool *s, const void *p, size_t n);
/* Why the spool failed ("SpoolDirectory /x: ..."), or NULL. */
const char *spool_error(const struct spool *s);

/* Bytes written so far. */
uint64_t spool_size(const struct spool *s);
/* Is it in a file (past the memory limit)? */
bool spool_in_file(const struct spool *s);

/*
 * Copies up to len bytes from offset off into buf.  Returns the number
 * copied (0 at the end), or -1 on a read error.  Safe from any thread once
 * writing is over; reads do not move any shared position.
 */
ssize_t spool_read_at(const struct spool *s, uint64_t off, void *buf, size_t len);

#endif
