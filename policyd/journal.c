/*
 * The StateFile and its journal (see journal.h for the files, the order
 * of a snapshot and the guarantee).  The snapshot and the loads run in the
 * caller's thread; the journal has one writer thread, fed batches through
 * a mutex-protected queue, so the event loop only formats lines into a
 * buffer.  Directory scans find the journals and the temporary files by
 * name: BASENAME.journal.DIGITS, BASENAME.tmp.DIGITS.
 */
#include "journal.h"
#include "store_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "file.h"
#include "log.h"
#include "xalloc.h"

#define STATEFILE_HEADER "# cachet-policyd counters: KEY TAT(us since the epoch)\n"
#define STATEFILE_GENERATION "# generation "
#define JOURNAL_MAX_FILES 100000

/* -- reading -- */

static bool key_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* "KEY VALUE" without its LF: key into key (NUL-ended), VALUE decimal. */
static bool parse_line(const char *line, size_t len, char *key, int64_t *value_r)
{
	const char *sp = memchr(line, ' ', len);
	if (sp == NULL)
		return false;
	size_t klen = (size_t)(sp - line), vlen = len - klen - 1;
	if (klen == 0 || klen >= STORE_MAX_KEY || vlen == 0 || vlen > 19)
		return false;
	for (size_t i = 0; i < klen; i++)
		if (!key_byte((unsigned char)line[i]))
			return false;
	uint64_t v = 0;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)sp[1 + i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (uint64_t)(c - '0');	/* 19 digits: no overflow of uint64 */
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	memcpy(key, line, klen);
	key[klen] = '\0';
	*value_r = (int64_t)v;
	return true;
}

/* "# generation G" */
static void parse_generation(const char *line, size_t len, uint64_t *gen_r)
{
	size_t plen = strlen(STATEFILE_GENERATION);
	if (gen_r == NULL || len <= plen || len - plen > 19 ||
	    strncmp(line, STATEFILE_GENERATION, plen) != 0)
		return;
	uint64_t g = 0;
	for (size_t i = plen; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return;
		g = g * 10 + (uint64_t)(line[i] - '0');
	}
	*gen_r = g;
}

void statefile_read(struct store *s, FILE *f, bool journal, uint64_t *gen_r,
		    struct statefile_stats *st)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	char key[STORE_MAX_KEY];
	int64_t now = s->now_us();
	memset(st, 0, sizeof(*st));
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)n;
		int64_t v;
		if (line[len - 1] != '\n') {
			st->torn++;	/* only the last line can lack it */
			break;
		}
		len--;
		if (len > 0 && line[0] == '#') {
			if (!journal)
				parse_generation(line, len, gen_r);
			continue;
		}
		if (len > STATEFILE_MAX_LINE || !parse_line(line, len, key, &v)) {
			st->bad++;
			continue;
		}
		if (v > now) {
			if (store_set(s, key, v) == 0)
				st->loaded++;
		} else if (journal) {
			bool deleted;
			store_del(s, key, &deleted);
			st->loaded++;
		}
	}
	free(line);
}

/* -- file names -- */

/* dir and base name of path ("." for a bare name); free() both. */
static void split_path(const char *path, char **dir_r, char **base_r)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		*dir_r = xstrdup(".");
		*base_r = xstrdup(path);
	} else {
		*dir_r = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
		*base_r = xstrdup(slash + 1);
	}
}

/* name is BASE + suffix + DIGITS: the number, else false. */
static bool numbered(const char *name, const char *base, const char *suffix, uint64_t *n_r)
{
	size_t bl = strlen(base), sl = strlen(suffix);
	if (strncmp(name, base, bl) != 0 || strncmp(name + bl, suffix, sl) != 0)
		return false;
	const char *d = name + bl + sl;
	if (*d == '\0' || strlen(d) > 19)
		return false;
	uint64_t n = 0;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return false;
		n = n * 10 + (uint64_t)(*d - '0');
	}
	*n_r = n;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * The generations of path's journal files, ascending (free() *gens_r);
 * with remove_tmp, also removes the temporary files of killed writers.
 */
static size_t scan_dir(const char *path, bool remove_tmp, uint64_t **gens_r)
{
	char *dir, *base;
	size_t n = 0;
	*gens_r = NULL;
	split_path(path, &dir, &base);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		uint64_t g;
		if (numbered(e->d_name, base, ".journal.", &g) && n < JOURNAL_MAX_FILES) {
			*gens_r = xreallocarray(*gens_r, n + 1, sizeof(**gens_r));
			(*gens_r)[n++] = g;
		} else if (remove_tmp && numbered(e->d_name, base, ".tmp.", &g)) {
			struct buf p;
			buf_init(&p, 0);
			buf_printf(&p, "%s/%s", dir, e->d_name);
			if (unlink(p.p) == 0)
				log_msg(LOG_NOTICE, NULL, "StateFile %s: removed %s, left by a "
					"writer that was stopped", path, p.p);
			buf_free(&p);
		}
	}
	if (d != NULL)
		closedir(d);
	if (n > 1)
		qsort(*gens_r, n, sizeof(**gens_r), cmp_u64);
	free(dir);
	free(base);
	return n;
}

static void journal_name(struct buf *b, const char *path, uint64_t gen)
{
	buf_reset(b);
	buf_printf(b, "%s.journal.%llu", path, (unsigned long long)gen);
}

static void remove_journals_below(const char *path, uint64_t gen)
{
	uint64_t *gens;
	size_t n = scan_dir(path, false, &gens);
	struct buf name;
	buf_init(&name, 0);
	for (size_t i = 0; i < n && gens[i] < gen; i++) {
		journal_name(&name, path, gens[i]);
		if (unlink(name.p) < 0 && errno != ENOENT)
			log_msg(LOG_WARNING, NULL, "journal %s: cannot remove: %s", name.p,
				strerror(errno));
	}
	buf_free(&name);
	free(gens);
}

/* -- load and save -- */

int statefile_load(struct store *s, const char *path, uint64_t *next_gen_r)
{
	struct statefile_stats st;
	uint64_t gen = 0, *gens;
	size_t n = scan_dir(path, true, &gens);
	int rc = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL && errno != ENOENT) {
		log_msg(LOG_ERR, NULL, "snapshot %s: %s", path, strerror(errno));
		free(gens);
		return -1;
	}
	if (f != NULL) {
		statefile_read(s, f, false, &gen, &st);
		fclose(f);
		log_msg(LOG_INFO, NULL, "snapshot %s: %zu counters loaded (generation %llu)%s", path,
			st.loaded, (unsigned long long)gen, st.bad + st.torn > 0 ? " (bad lines skipped)" : "");
	}
	uint64_t next = gen > 1 ? gen : 1;
	struct buf name;
	buf_init(&name, 0);
	for (size_t i = 0; i < n; i++) {
		journal_name(&name, path, gens[i]);
		if (gens[i] < gen) {	/* the snapshot holds it: a removal cut short */
			unlink(name.p);
			continue;
		}
		if (gens[i] >= next)
			next = gens[i] + 1;
		f = fopen(name.p, "r");
		if (f == NULL) {
			log_msg(LOG_ERR, NULL, "journal %s: %s", name.p, strerror(errno));
			rc = -1;
			continue;
		}
		statefile_read(s, f, true, NULL, &st);
		fclose(f);
		log_msg(LOG_INFO, NULL, "journal %s: %zu changes replayed%s%s", name.p, st.loaded,
			st.bad > 0 ? " (bad lines skipped)" : "",
			st.torn > 0 ? " (an incomplete last line ignored)" : "");
	}
	buf_free(&name);
	free(gens);
	*next_gen_r = next;
	return rc;
}

struct writer {
	FILE *f;
	size_t n;
};

static void write_key(void *arg, const char *key, int64_t value)
{
	struct writer *w = arg;
	fprintf(w->f, "%s %lld\n", key, (long long)value);
	w->n++;
}

static void sync_dir(const char *path)
{
	char *dir, *base;
	split_path(path, &dir, &base);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
	free(base);
}

static void journal_remove_below(struct journal *j, uint64_t gen);

int statefile_save(struct store *s, const char *path, uint64_t gen, struct journal *j)
{
	struct buf tmp;
	buf_init(&tmp, 0);
	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	/* 0600 from the start: the counters name users and senders */
	int fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		log_msg(LOG_ERR, NULL, "snapshot %s: %s", tmp.p, strerror(errno));
		if (fd >= 0)
			close(fd);
		buf_free(&tmp);
		return -1;
	}
	struct writer w = { f, 0 };
	int64_t now;
	bool truncated;
	fprintf(f, STATEFILE_HEADER STATEFILE_GENERATION "%llu\n", (unsigned long long)gen);
	store_scan(s, "", SIZE_MAX, write_key, &w, &now, &truncated);
	bool ok = !ferror(f) && fflush(f) == 0 && fsync(fileno(f)) == 0;
	int e = errno;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp.p, path) == 0) {
		sync_dir(path);
		log_msg(LOG_DEBUG, NULL, "snapshot %s: %zu counters (generation %llu)", path, w.n,
			(unsigned long long)gen);
		buf_free(&tmp);
		if (j != NULL)
			journal_remove_below(j, gen);
		else
			remove_journals_below(path, gen);
		return 0;
	}
	if (ok)
		e = errno;
	log_msg(LOG_ERR, NULL, "snapshot %s: %s", path, strerror(e));
	unlink(tmp.p);
	buf_free(&tmp);
	return -1;
}

/* -- the journal -- */

struct batch {
	struct batch *next;
	uint64_t gen;
	uint64_t remove_below;	/* not 0: remove the journals < this, in turn */
	size_t len;
	char data[];
};

struct journal {
	char *path;
	/* the event loop's */
	char *buf;
	size_t len, cap;
	uint64_t gen;
	int64_t last_ms;	/* the last hand-over */
	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;	/* for the writer: a batch, or stop */
	pthread_cond_t idle;	/* for journal_sync: the queue is written */
	struct batch *head, *tail;
	bool busy;		/* the writer is writing batches it took */
	bool stop;
	pthread_t thread;
	/* the writer's */
	int fd;
	uint64_t fd_gen;
	bool failing;		/* logged once per outage */
};

static int64_t coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_journal(const char *path, uint64_t gen, struct buf *name)
{
	journal_name(name, path, gen);
	return open(name->p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void writer_failed(struct journal *j, const char *what, const char *name)
{
	if (!j->failing)
		log_msg(LOG_ERR, NULL, "journal %s: %s: %s; changes since the last snapshot are "
			"only in memory until it works again", name, what, strerror(errno));
	j->failing = true;
}

static void write_batch(struct journal *j, const struct batch *b, struct buf *name)
{
	if (j->fd < 0 || j->fd_gen != b->gen) {
		if (j->fd >= 0) {
			fdatasync(j->fd);
			close(j->fd);
		}
		j->fd = open_journal(j->path, b->gen, name);
		j->fd_gen = b->gen;
		if (j->fd < 0) {
			writer_failed(j, "cannot open", name->p);
			return;
		}
	}
	if (!file_write_all(j->fd, b->data, b->len)) {
		journal_name(name, j->path, b->gen);
		writer_failed(j, "cannot write", name->p);
		return;
	}
	if (j->failing)
		log_msg(LOG_NOTICE, NULL, "journal of %s: written again", j->path);
	j->failing = false;
}

static void *writer_main(void *arg)
{
	struct journal *j = arg;
	struct buf name;
	buf_init(&name, 0);
	pthread_mutex_lock(&j->lock);
	for (;;) {
		while (j->head == NULL && !j->stop)
			pthread_cond_wait(&j->wake, &j->lock);
		if (j->head == NULL)
			break;	/* stop, and everything written */
		struct batch *b = j->head;
		j->head = j->tail = NULL;
		j->busy = true;
		pthread_mutex_unlock(&j->lock);
		bool wrote = false;
		while (b != NULL) {
			struct batch *next = b->next;
			if (b->remove_below != 0)
				remove_journals_below(j->path, b->remove_below);
			if (b->len > 0) {
				write_batch(j, b, &name);
				wrote = true;
			}
			free(b);
			b = next;
		}
		/* one fdatasync per hand-over: the group commit */
		if (wrote && j->fd >= 0 && fdatasync(j->fd) < 0)
			writer_failed(j, "fdatasync", j->path);
		pthread_mutex_lock(&j->lock);
		j->busy = false;
		pthread_cond_broadcast(&j->idle);
	}
	pthread_mutex_unlock(&j->lock);
	buf_free(&name);
	return NULL;
}

static void enqueue(struct journal *j, struct batch *b)
{
	pthread_mutex_lock(&j->lock);
	if (j->tail != NULL)
		j->tail->next = b;
	else
		j->head = b;
	j->tail = b;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->lock);
}

/* Hands what collected to the writer. */
static void commit(struct journal *j)
{
	j->last_ms = coarse_ms();
	if (j->len == 0)
		return;
	struct batch *b = xmalloc(sizeof(*b) + j->len);
	b->next = NULL;
	b->gen = j->gen;
	b->remove_below = 0;
	b->len = j->len;
	memcpy(b->data, j->buf, j->len);
	j->len = 0;
	enqueue(j, b);
}

static void journal_remove_below(struct journal *j, uint64_t gen)
{
	commit(j);
	struct batch *b = xcalloc(1, sizeof(*b));
	b->gen = j->gen;
	b->remove_below = gen;
	enqueue(j, b);
}

struct journal *journal_open(const char *path, uint64_t gen)
{
	struct buf name;
	buf_init(&name, 0);
	/* a fresh file: nothing of an older run may precede our lines */
	journal_name(&name, path, gen);
	int fd = open(name.p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_msg(LOG_ERR, NULL, "journal %s: %s", name.p, strerror(errno));
		buf_free(&name);
		return NULL;
	}
	buf_free(&name);
	struct journal *j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(path);
	j->gen = gen;
	j->fd = fd;
	j->fd_gen = gen;
	j->last_ms = coarse_ms();
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->wake, NULL);
	pthread_cond_init(&j->idle, NULL);
	int e = pthread_create(&j->thread, NULL, writer_main, j);
	if (e != 0) {
		log_msg(LOG_ERR, NULL, "journal of %s: cannot start its writer: %s", path,
			strerror(e));
		close(fd);
		free(j->path);
		free(j);
		return NULL;
	}
	return j;
}

/* Decimal digits of v (>= 0) at p; their count. */
static size_t put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

void journal_append(struct journal *j, const char *key, int64_t value)
{
	size_t klen = strlen(key);
	if (j->len + klen + 24 > j->cap) {
		j->cap = (j->len + klen + 24) * 2;
		j->buf = xrealloc(j->buf, j->cap);
	}
	memcpy(j->buf + j->len, key, klen);
	j->len += klen;
	j->buf[j->len++] = ' ';
	j->len += put_u64(j->buf + j->len, value > 0 ? (uint64_t)value : 0);
	j->buf[j->len++] = '\n';
	/* the timer may come late under load: the bound holds all the same */
	if (j->len >= JOURNAL_BATCH_BYTES || coarse_ms() - j->last_ms >= JOURNAL_COMMIT_MS)
		commit(j);
}

void journal_tick(struct journal *j)
{
	commit(j);
}

uint64_t journal_rotate(struct journal *j)
{
	commit(j);
	return ++j->gen;
}

void journal_sync(struct journal *j)
{
	commit(j);
	pthread_mutex_lock(&j->lock);
	while (j->head != NULL || j->busy)
		pthread_cond_wait(&j->idle, &j->lock);
	pthread_mutex_unlock(&j->lock);
}

void journal_close(struct journal **jp)
{
	struct journal *j = *jp;
	*jp = NULL;
	if (j == NULL)
		return;
	commit(j);
	pthread_mutex_lock(&j->lock);
	j->stop = true;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	if (j->fd >= 0) {
		fdatasync(j->fd);
		close(j->fd);
	}
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->wake);
	pthread_cond_destroy(&j->idle);
	free(j->buf);
	free(j->path);
	free(j);
}
