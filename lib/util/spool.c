/*
 * The memory-then-file spool (see spool.h).
 */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "xalloc.h"

struct spool {
	size_t memory_limit;
	char *dir;
	struct buf mem;		/* the bytes, while they fit */
	int fd;			/* the file, once they do not; else -1 */
	uint64_t size;
	char *error;		/* the first failure, or NULL */
};

struct spool *spool_new(size_t memory_limit, const char *dir)
{
	struct spool *s = xcalloc(1, sizeof(*s));
	s->memory_limit = memory_limit;
	s->dir = xstrdup(dir);
	/* one byte over the limit fails the append: that is when to move */
	buf_init(&s->mem, memory_limit > 0 ? memory_limit : 1);
	s->fd = -1;
	return s;
}

void spool_free(struct spool **sp)
{
	struct spool *s = *sp;
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	buf_free(&s->mem);
	free(s->dir);
	free(s->error);
	free(s);
	*sp = NULL;
}

static int failed(struct spool *s, const char *what, int err)
{
	if (s->error == NULL)
		s->error = xasprintf("SpoolDirectory %s: %s: %s", s->dir, what, strerror(err));
	return -1;
}

/* An unnamed file in dir, mode 0600. */
static int open_unnamed(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	/* a file system without O_TMPFILE: a name, gone as soon as it exists */
	char *path = xasprintf("%s/cachet-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0 && unlink(path) < 0) {
		int e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	free(path);
	return fd;
}

/* Moves what is in memory to a new file. */
static int to_file(struct spool *s)
{
	s->fd = open_unnamed(s->dir);
	if (s->fd < 0)
		return failed(s, "cannot create a temporary file", errno);
	if (!file_write_all(s->fd, s->mem.p, s->mem.len))
		return failed(s, "cannot write", errno);
	buf_free(&s->mem);
	return 0;
}

int spool_write(struct spool *s, const void *p, size_t n)
{
	if (s->error != NULL)
		return -1;
	if (n > SPOOL_MAX_SIZE - s->size)
		return failed(s, "message larger than the spool's limit", EFBIG);
	if (s->fd < 0 && s->memory_limit > 0 && buf_append(&s->mem, p, n)) {
		s->size += n;
		return 0;
	}
	if (s->fd < 0 && to_file(s) < 0)
		return -1;
	if (!file_write_all(s->fd, p, n))
		return failed(s, "cannot write", errno);
	s->size += n;
	return 0;
}

const char *spool_error(const struct spool *s)
{
	return s->error;
}

uint64_t spool_size(const struct spool *s)
{
	return s->size;
}

bool spool_in_file(const struct spool *s)
{
	return s->fd >= 0;
}

ssize_t spool_read_at(const struct spool *s, uint64_t off, void *buf, size_t len)
{
	if (off >= s->size)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	if (s->fd < 0) {
		memcpy(buf, s->mem.p + off, len);
		return (ssize_t)len;
	}
	ssize_t r;
	do
		r = pread(s->fd, buf, len, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}
