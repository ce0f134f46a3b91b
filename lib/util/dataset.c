/*
 * OpenDKIM-style data sets (see dataset.h): the spec prefix decides the
 * form, a file is read whole (bounded by DATASET_MAX_FILE) and cut into
 * lines, each line into a key and a value.  Entries keep file order, which
 * matters for refile: (first match wins) and for duplicate keys.
 *
 * Decisions the header leaves open, made here:
 *  - a CR before the LF is dropped (tables edited on other systems);
 *  - white space is ASCII space, tab, CR, VT and FF, as OpenDKIM's
 *    isspace() in the C locale;
 *  - an over-long line is an error, not silently cut as OpenDKIM's
 *    fixed 1024-byte line buffer does (a cut line would sign with a
 *    wrong key, or none, with no word of why);
 *  - in a csl list, an entry's value starts after its first '=', both
 *    sides trimmed; empty entries ("a,,b") are skipped.
 */
#include "dataset.h"

#include "array.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "xalloc.h"

/* The database forms OpenDKIM knows and cachet does not read. */
static const char *const unsupported_prefixes[] = {
	"db:", "dsn:", "ldap:", "ldaps:", "ldapi:", "lua:", "memcache:",
	"mdb:", "erlang:", "repute:", "socket:",
};

const char *dataset_type_name(enum dataset_type type)
{
	switch (type) {
	case DATASET_FILE:
		return "file";
	case DATASET_REFILE:
		return "refile";
	case DATASET_CSL:
		return "csl";
	}
	return "?";
}

void dataset_free(struct dataset **ds)
{
	if (*ds == NULL)
		return;
	for (size_t i = 0; i < (*ds)->n; i++) {
		free((*ds)->v[i].key);
		free((*ds)->v[i].value);
	}
	free((*ds)->v);
	free((*ds)->origin);
	free(*ds);
	*ds = NULL;
}

void dataset_where(const struct dataset *ds, const struct dataset_entry *e, struct buf *out)
{
	if (ds->type == DATASET_CSL)
		buf_printf(out, "csl entry %u", e->line);
	else
		buf_printf(out, "%s:%u", ds->origin, e->line);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static struct slice trim(const char *p, size_t len)
{
	while (len > 0 && is_ws(p[0])) {
		p++;
		len--;
	}
	while (len > 0 && is_ws(p[len - 1]))
		len--;
	return slice_make(p, len);
}

/* Adds an entry; false (with words in err) when a limit is reached. */
static bool add_entry(struct dataset *ds, struct slice key, struct slice value,
		      bool has_value, unsigned line, struct buf *err)
{
	if (key.len > DATASET_MAX_KEY) {
		buf_printf(err, "key longer than %d bytes", DATASET_MAX_KEY);
		return false;
	}
	if (ds->n == DATASET_MAX_ENTRIES) {
		buf_printf(err, "more than %u entries", DATASET_MAX_ENTRIES);
		return false;
	}
	struct dataset_entry *e = ARRAY_PUSH(ds);
	e->key = xstrndup(key.p, key.len);
	e->value = has_value ? xstrndup(value.p, value.len) : NULL;
	e->line = line;
	return true;
}

/* One line of a file: comment, key, white space, value. */
static bool parse_line(struct dataset *ds, const char *p, size_t len,
		       unsigned line, struct buf *err)
{
	if (len > DATASET_MAX_LINE) {
		buf_printf(err, "line longer than %d bytes", DATASET_MAX_LINE);
		return false;
	}
	if (memchr(p, '\0', len) != NULL) {
		buf_puts(err, "NUL byte");
		return false;
	}
	/* OpenDKIM cuts a line at the first '#', wherever it is */
	const char *hash = memchr(p, '#', len);
	if (hash != NULL)
		len = (size_t)(hash - p);
	struct slice s = trim(p, len);
	if (s.len == 0)
		return true;
	size_t k = 0;
	while (k < s.len && !is_ws(s.p[k]))
		k++;
	struct slice value = trim(s.p + k, s.len - k);
	return add_entry(ds, slice_make(s.p, k), value, value.len > 0, line, err);
}

static bool parse_lines(struct dataset *ds, const char *text, size_t len, struct buf *err,
			unsigned *line_r)
{
	const char *p = text, *end = text + len;
	for (unsigned line = 1; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		*line_r = line;
		if (!parse_line(ds, p, n, line, err))
			return false;
		p += n + 1;
	}
	return true;
}

/* "a, b=c ,d": entries split at commas, "key=value" split at the first '='. */
static bool parse_csl(struct dataset *ds, const char *text, size_t len, struct buf *err,
		      unsigned *line_r)
{
	const char *p = text, *end = text + len;
	unsigned pos = 0;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma != NULL ? (size_t)(comma - p) : (size_t)(end - p);
		pos++;
		*line_r = pos;
		if (n > DATASET_MAX_LINE) {
			buf_printf(err, "entry longer than %d bytes", DATASET_MAX_LINE);
			return false;
		}
		if (memchr(p, '\0', n) != NULL) {
			buf_puts(err, "NUL byte");
			return false;
		}
		const char *eq = memchr(p, '=', n);
		struct slice key = trim(p, eq != NULL ? (size_t)(eq - p) : n);
		struct slice value = slice_make("", 0);
		if (eq != NULL)
			value = trim(eq + 1, n - (size_t)(eq + 1 - p));
		if (key.len == 0 && eq != NULL) {
			buf_puts(err, "expected KEY=VALUE, found no key before '='");
			return false;
		}
		if (key.len > 0 && !add_entry(ds, key, value, eq != NULL, pos, err))
			return false;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return true;
}

struct dataset *dataset_parse(const char *what, enum dataset_type type, const char *origin,
			      const char *text, size_t len, char **error_r)
{
	struct dataset *ds = xcalloc(1, sizeof(*ds));
	ds->type = type;
	ds->origin = xstrdup(type == DATASET_CSL ? "csl" : origin);
	struct buf err;
	buf_init(&err, 4096);
	unsigned line = 0;
	bool ok = type == DATASET_CSL ? parse_csl(ds, text, len, &err, &line)
				      : parse_lines(ds, text, len, &err, &line);
	if (ok) {
		buf_free(&err);
		return ds;
	}
	char *why = buf_steal(&err);
	buf_init(&err, 4096);
	struct dataset_entry at = { NULL, NULL, line };
	buf_printf(&err, "%s ", what);
	dataset_where(ds, &at, &err);
	buf_printf(&err, ": %s", why);
	free(why);
	dataset_free(&ds);
	*error_r = buf_steal(&err);
	return NULL;
}

static struct dataset *load_file(const char *what, enum dataset_type type, const char *path,
				 char **error_r)
{
	struct buf data, err;
	buf_init(&err, 4096);
	if (path[0] == '\0') {
		buf_printf(&err, "%s: %s: no file name after the prefix", what,
			   dataset_type_name(type));
		*error_r = buf_steal(&err);
		return NULL;
	}
	buf_init(&data, DATASET_MAX_FILE + 1);
	struct dataset *ds = NULL;
	buf_printf(&err, "%s ", what);
	if (file_read_regular(path, DATASET_MAX_FILE, &data, &err)) {
		ds = dataset_parse(what, type, path, data.p, data.len, error_r);
		buf_free(&err);
	} else {
		*error_r = buf_steal(&err);
	}
	buf_free(&data);
	return ds;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

struct dataset *dataset_load(const char *what, const char *spec, char **error_r)
{
	if (strncmp(spec, "file:", 5) == 0)
		return load_file(what, DATASET_FILE, spec + 5, error_r);
	if (strncmp(spec, "refile:", 7) == 0)
		return load_file(what, DATASET_REFILE, spec + 7, error_r);
	if (strncmp(spec, "csl:", 4) == 0)
		return dataset_parse(what, DATASET_CSL, "csl", spec + 4, strlen(spec + 4), error_r);
	for (size_t i = 0; i < ARRAY_LEN(unsupported_prefixes); i++) {
		const char *pre = unsupported_prefixes[i];
		if (strncmp(spec, pre, strlen(pre)) == 0) {
			struct buf err;
			buf_init(&err, 4096);
			buf_printf(&err, "%s: data set type \"%.*s\" is not supported by cachet "
				   "(use file:, refile:, csl: or an absolute path)",
				   what, (int)(strlen(pre) - 1), pre);
			*error_r = buf_steal(&err);
			return NULL;
		}
	}
	/* opendkim(8): no prefix and a ".db" ending means a Berkeley DB file */
	if (!has_suffix(spec, ".db") && spec[0] == '/')
		return load_file(what, DATASET_FILE, spec, error_r);
	if (has_suffix(spec, ".db")) {
		struct buf err;
		buf_init(&err, 4096);
		buf_printf(&err, "%s: %s: Berkeley DB data sets (\"db:\", \"*.db\") are not "
			   "supported by cachet (use file:, refile:, csl: or an absolute path)",
			   what, spec);
		*error_r = buf_steal(&err);
		return NULL;
	}
	return dataset_parse(what, DATASET_CSL, "csl", spec, strlen(spec), error_r);
}
