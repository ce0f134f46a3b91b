/*
 * Whole-file reads with a size limit, regular files only: see file.h.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool file_read_regular(const char *path, size_t max, struct buf *out, struct buf *err)
{
	struct stat st;
	return file_read_stat(path, max, out, &st, err);
}

bool file_read_stat(const char *path, size_t max, struct buf *out, struct stat *st_r,
		    struct buf *err)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		buf_printf(err, "%s: cannot open: %s", path, strerror(errno));
		return false;
	}
	bool ok = fstat(fd, st_r) == 0 && S_ISREG(st_r->st_mode);
	if (!ok)
		buf_printf(err, "%s: not a regular file", path);
	char chunk[8192];
	while (ok) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_printf(err, "%s: cannot read: %s", path, strerror(errno));
			ok = false;
		} else if (n == 0) {
			break;
		} else if (out->len + (size_t)n > max || !buf_append(out, chunk, (size_t)n)) {
			buf_printf(err, "%s: larger than %zu bytes", path, max);
			ok = false;
		}
	}
	close(fd);
	return ok;
}

bool file_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return false;
		}
		c += n;
		len -= (size_t)n;
	}
	return true;
}
