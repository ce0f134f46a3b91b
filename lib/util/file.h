/*
 * Reading small configuration-side files (host lists, tables, zone files)
 * whole.  Only regular files: a FIFO or a device named by mistake (or by a
 * fuzzer) must not block start-up or stream forever.  And writing a buffer
 * whole to a descriptor.
 */
#ifndef CACHET_FILE_H
#define CACHET_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "buf.h"

/*
 * Appends the file to out.  On failure returns false and appends to err
 * "PATH: cannot open: ...", "PATH: not a regular file", "PATH: cannot read:
 * ..." or "PATH: larger than MAX bytes".
 */
bool file_read_regular(const char *path, size_t max, struct buf *out, struct buf *err);

/*
 * The same, also giving the file's identity in *st_r (device and inode:
 * what Include uses to find cycles).
 */
bool file_read_stat(const char *path, size_t max, struct buf *out, struct stat *st_r,
		    struct buf *err);

/*
 * Writes all len bytes to fd, again after EINTR and short writes.  False
 * on failure, errno saying why (EIO for a write that wrote nothing).
 */
bool file_write_all(int fd, const void *p, size_t len);

#endif
