/*
 * Editing OpenDKIM KeyTable and SigningTable files in place (see keys.h),
 * for rotate and retire.  The tables are what cachet-milterd (and
 * OpenDKIM) read, so an edit keeps everything it does not mean to change
 * byte for byte (comments, blank lines, order, the white space of other
 * lines) and replaces the file atomically: a reader sees the old file or
 * the new one, never half of one.  Limits: the data set limits
 * (DATASET_MAX_FILE, lines of DATASET_MAX_LINE); only file: and refile:
 * tables (and bare paths) can be edited.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "keys.h"
#include "xalloc.h"

#define SWITCH_TAG "# cachet-keys: switched "

int keys_table_read(struct keys_table *t, const char *what, const char *spec, const char *cmd)
{
	memset(t, 0, sizeof(*t));
	const char *path = spec;
	t->type = DATASET_FILE;
	if (strncmp(spec, "file:", 5) == 0) {
		path = spec + 5;
	} else if (strncmp(spec, "refile:", 7) == 0) {
		path = spec + 7;
		t->type = DATASET_REFILE;
	} else if (spec[0] != '/' && strpbrk(spec, ":,=") != NULL) {
		/* csl: and the other data set forms have no file to edit */
		fprintf(stderr, "cachet-keys %s: %s %s: only a file (file:, refile: or a "
				"path) can be edited\n", cmd, what, spec);
		return -1;
	}
	t->spec = xstrdup(spec);
	t->path = realpath(path, NULL);
	if (t->path == NULL) {
		fprintf(stderr, "cachet-keys %s: %s %s: %s\n", cmd, what, path, strerror(errno));
		keys_table_free(t);
		return -1;
	}
	struct stat st;
	struct buf err;
	buf_init(&t->text, DATASET_MAX_FILE);
	buf_init(&err, 0);
	bool ok = file_read_stat(t->path, DATASET_MAX_FILE, &t->text, &st, &err);
	if (!ok)
		fprintf(stderr, "cachet-keys %s: %s %s\n", cmd, what, err.p);
	buf_free(&err);
	if (!ok) {
		keys_table_free(t);
		return -1;
	}
	t->mode = st.st_mode & 07777;
	t->uid = st.st_uid;
	t->gid = st.st_gid;
	return 0;
}

void keys_table_free(struct keys_table *t)
{
	free(t->spec);
	free(t->path);
	buf_free(&t->text);
	memset(t, 0, sizeof(*t));
}

int keys_table_replace(const struct keys_table *t, const char *text, size_t len,
		       const char *cmd)
{
	char *tmp = xasprintf("%s.cachet-keys.XXXXXX", t->path);
	char *dircopy = xstrdup(t->path);
	const char *dir = dirname(dircopy);
	const char *step = "create a temporary file";
	int fd = mkstemp(tmp);
	bool ok = fd >= 0;
	if (ok) {
		step = "set its mode";
		ok = fchmod(fd, t->mode) == 0;
	}
	/* the milter may run as another user: keep the owner (only root can) */
	if (ok && geteuid() == 0) {
		step = "set its owner";
		ok = fchown(fd, t->uid, t->gid) == 0;
	}
	if (ok) {
		step = "write it";
		ok = file_write_all(fd, text, len) && fsync(fd) == 0;
	}
	if (fd >= 0 && close(fd) != 0 && ok) {
		step = "write it";
		ok = false;
	}
	if (ok) {
		step = "rename it over the table";
		ok = rename(tmp, t->path) == 0;
	}
	if (!ok) {
		fprintf(stderr, "cachet-keys %s: %s: cannot %s (%s): %s; the table is unchanged\n",
			cmd, t->path, step, tmp, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
	} else {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	free(dircopy);
	free(tmp);
	return ok ? 0 : -1;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Where the value's key name lies in a line (as dataset.c splits it); false if none. */
static bool keyname_span(const char *p, size_t len, size_t *start_r, size_t *end_r)
{
	const char *hash = memchr(p, '#', len);
	if (hash != NULL)
		len = (size_t)(hash - p);
	size_t i = 0;
	while (i < len && is_ws(p[i]))
		i++;
	while (i < len && !is_ws(p[i]))
		i++;
	while (i < len && is_ws(p[i]))
		i++;
	size_t start = i;
	while (i < len && !is_ws(p[i]) && p[i] != ':')
		i++;
	if (i == start)
		return false;
	*start_r = start;
	*end_r = i;
	return true;
}

void keys_table_edit(const struct keys_table *t, const struct keys_edit *edits, size_t n,
		     const char *append, struct buf *out)
{
	const char *p = t->text.p, *end = t->text.p + t->text.len;
	for (unsigned line = 1; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const struct keys_edit *e = NULL;
		for (size_t i = 0; i < n && e == NULL; i++)
			if (edits[i].line == line)
				e = &edits[i];
		size_t ks, ke;
		if (e != NULL && e->keyname != NULL && keyname_span(p, len, &ks, &ke)) {
			buf_append(out, p, ks);
			buf_puts(out, e->keyname);
			buf_append(out, p + ke, len - ke);
		} else if (e == NULL || e->keyname != NULL) {
			buf_append(out, p, len);
		}
		p += len;
	}
	if (append != NULL) {
		if (out->len > 0 && out->p[out->len - 1] != '\n')
			buf_putc(out, '\n');
		buf_puts(out, append);
	}
}

void keys_switch_comment(struct buf *out, const char *domain, const char *const *old,
			 size_t n_old, const char *new_name, time_t when)
{
	struct tm tm;
	char date[32];
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	buf_printf(out, SWITCH_TAG "%s from ", domain);
	for (size_t i = 0; i < n_old; i++)
		buf_printf(out, "%s%s", i > 0 ? "," : "", old[i]);
	buf_printf(out, " to %s at %lld (%s UTC)\n", new_name, (long long)when, date);
}

/* Is name one of the comma-separated names in list[0..len)? */
static bool list_has(const char *list, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i <= len;) {
		size_t start = i;
		while (i < len && list[i] != ',')
			i++;
		if (i - start == nlen && memcmp(list + start, name, nlen) == 0)
			return true;
		i++;
	}
	return false;
}

int keys_switch_time(const struct keys_table *t, const char *name, time_t *when_r)
{
	const char *p = t->text.p, *end = t->text.p + t->text.len;
	bool found = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = xstrndup(p, len);
		p += len + 1;
		if (strncmp(line, SWITCH_TAG, strlen(SWITCH_TAG)) != 0) {
			free(line);
			continue;
		}
		/* DOMAIN from OLD,... to NEW at UNIXTIME (...) */
		char *save = NULL, *w[7];
		size_t nw = 0;
		for (char *tok = strtok_r(line + strlen(SWITCH_TAG), " ", &save); tok != NULL && nw < 7;
		     tok = strtok_r(NULL, " ", &save))
			w[nw++] = tok;
		char *stop = NULL;
		long long at = nw == 7 ? strtoll(w[6], &stop, 10) : 0;
		if (nw == 7 && strcmp(w[1], "from") == 0 && strcmp(w[3], "to") == 0 &&
		    strcmp(w[5], "at") == 0 && *stop == '\0' && at > 0 &&
		    list_has(w[2], strlen(w[2]), name) && (!found || (time_t)at > *when_r)) {
			*when_r = (time_t)at;
			found = true;
		}
		free(line);
	}
	return found ? 0 : -1;
}
