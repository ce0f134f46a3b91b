/*
 * KeyTable and SigningTable (see keytable.h).  Both are read through
 * dataset.c and then checked entry by entry, so every mistake is reported
 * at start-up with its file and line rather than at the first message.
 *
 * Layout: a KeyTable is an array in definition order plus an index sorted
 * by name (binary search).  A file:/csl: SigningTable is an array sorted by
 * lower-cased key, ties kept in file order, so each of the few lookup keys
 * of OpenDKIM's order costs one binary search.  A refile: SigningTable
 * stays in file order and is matched entry by entry with glob_match(), an
 * iterative "*"-only matcher that remembers one star to resume from: at
 * worst pattern length times address length steps, never exponential.
 *
 * Decisions the header leaves open, made here:
 *  - a KeyTable name defined twice: the first definition wins (OpenDKIM
 *    walks its list from the top); the later one is logged and dropped;
 *  - DOMAIN and SELECTOR must be ASCII host-name-like (letters, digits,
 *    '-', '_', dot-separated labels of 1..63), so a typo fails at load;
 *  - a KEY that is not a file name must look like base64: OpenDKIM would
 *    take "keys/a.private" (no "./") for an inline key and fail per
 *    message; we say so at load instead;
 *  - a "%" in a key file name becomes the signing domain, as in OpenDKIM,
 *    for "./" and "../" names too (OpenDKIM only does it for "/");
 *  - the sender's domain must be an ASCII host name before it is put into
 *    a file name: a hostile From: domain like "../../x" never reaches a path;
 *  - a file: SigningTable key with a "*" that can never match ("*@x.org")
 *    loads, with a warning that wildcards need refile:.
 */
#include "keytable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "buf.h"
#include "compiler.h"
#include "log.h"
#include "xalloc.h"

struct keytable {
	char *origin;			/* file name, "csl" or "Domain" */
	struct keytable_entry *v;	/* definition order, names unique */
	size_t n;
	size_t cap;
	const struct keytable_entry **by_name;	/* into v, sorted by name */
};

struct sign_entry {
	char *key;		/* lower case for file:/csl:; the pattern for refile: */
	char *keyname;		/* KeyTable name, or "%" */
	char *identity;		/* SIGNER, or NULL */
	unsigned line;
	size_t order;		/* position in the data set */
};

struct signtable {
	enum dataset_type type;
	char *origin;
	struct sign_entry *v;
	size_t n, cap;
};

/* Algorithm names of the optional fourth KeyTable field. */
static const struct {
	const char *name;
	enum keytable_alg alg;
} alg_names[] = {
	{ "rsa-sha256", KEYTABLE_ALG_RSA_SHA256 },
	{ "ed25519-sha256", KEYTABLE_ALG_ED25519_SHA256 },
};

const char *keytable_alg_name(enum keytable_alg alg)
{
	for (size_t i = 0; i < ARRAY_LEN(alg_names); i++)
		if (alg_names[i].alg == alg)
			return alg_names[i].name;
	return NULL;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void lower_in_place(char *s)
{
	for (; *s != '\0'; s++)
		*s = lower(*s);
}

const char *keytable_name_problem(const char *s, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len > KEYTABLE_MAX_DOMAIN)
		return "is longer than 253 characters";
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return "has an empty label";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return "has a label longer than 63 characters";
		} else {
			return "holds a character other than letters, digits, '-', '_' and '.'";
		}
	}
	if (label == 0)
		return "ends with a dot";
	return NULL;
}

static bool is_base64(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
			return false;
	}
	return true;
}

/* opendkim.conf(5), KeyTable: these starts mean a file, anything else a key. */
static bool is_file_name(const char *s)
{
	return s[0] == '/' || strncmp(s, "./", 2) == 0 || strncmp(s, "../", 3) == 0;
}

/* ---- KeyTable ---- */

static void free_entry(struct keytable_entry *e)
{
	free(e->name);
	free(e->domain);
	free(e->selector);
	free(e->key);
}

void keytable_free(struct keytable **kt)
{
	if (*kt == NULL)
		return;
	for (size_t i = 0; i < (*kt)->n; i++)
		free_entry(&(*kt)->v[i]);
	free((*kt)->v);
	free((*kt)->by_name);
	free((*kt)->origin);
	free(*kt);
	*kt = NULL;
}

size_t keytable_count(const struct keytable *kt)
{
	return kt->n;
}

const struct keytable_entry *keytable_entry_at(const struct keytable *kt, size_t i)
{
	ASSERT(i < kt->n);
	return &kt->v[i];
}

const struct keytable_entry *keytable_find(const struct keytable *kt, const char *name)
{
	size_t lo = 0, hi = kt->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct keytable_entry *e = kt->by_name[mid];
		int c = strcmp(name, e->name);
		if (c == 0)
			return e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* By name; one name defined twice: the earlier definition first. */
static int cmp_by_name(const void *a, const void *b)
{
	const struct keytable_entry *x = *(const struct keytable_entry *const *)a;
	const struct keytable_entry *y = *(const struct keytable_entry *const *)b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return x < y ? -1 : x > y;	/* both point into the same array */
}

/* Builds the name index, dropping (and logging) later definitions of a name. */
static void index_names(struct keytable *kt, const char *origin)
{
	kt->by_name = xreallocarray(NULL, kt->n + 1, sizeof(kt->by_name[0]));
	for (size_t i = 0; i < kt->n; i++)
		kt->by_name[i] = &kt->v[i];
	qsort(kt->by_name, kt->n, sizeof(kt->by_name[0]), cmp_by_name);
	bool *drop = xcalloc(kt->n + 1, sizeof(bool));
	size_t dropped = 0;
	for (size_t i = 1; i < kt->n; i++) {
		const struct keytable_entry *prev = kt->by_name[i - 1], *e = kt->by_name[i];
		if (strcmp(prev->name, e->name) != 0)
			continue;
		/* prev is the first definition or itself a dropped repeat of it */
		log_msg(LOG_WARNING, NULL, "KeyTable %s:%u: key name '%s' is already defined; "
			"this definition is ignored", origin, e->line, e->name);
		drop[e - kt->v] = true;
		dropped++;
	}
	if (dropped > 0) {
		size_t w = 0;
		for (size_t i = 0; i < kt->n; i++) {
			if (drop[i])
				free_entry(&kt->v[i]);
			else
				kt->v[w++] = kt->v[i];
		}
		kt->n = w;
		/* v moved: index it again (sorted, and now without repeats) */
		for (size_t i = 0; i < kt->n; i++)
			kt->by_name[i] = &kt->v[i];
		qsort(kt->by_name, kt->n, sizeof(kt->by_name[0]), cmp_by_name);
	}
	free(drop);
}

/* Takes ":rsa-sha256" / ":ed25519-sha256" off the end of key, if there. */
static enum keytable_alg take_alg(char *key)
{
	char *colon = strrchr(key, ':');
	if (colon == NULL)
		return KEYTABLE_ALG_AUTO;
	for (size_t i = 0; i < ARRAY_LEN(alg_names); i++) {
		if (strcasecmp(colon + 1, alg_names[i].name) == 0) {
			*colon = '\0';
			return alg_names[i].alg;
		}
	}
	return KEYTABLE_ALG_AUTO;
}

/* Fills e from "DOMAIN:SELECTOR:KEY[:ALG]"; returns NULL or the reason. */
static const char *parse_key_value(const char *value, struct keytable_entry *e, struct buf *why)
{
	const char *c1 = value != NULL ? strchr(value, ':') : NULL;
	const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	if (c2 == NULL) {
		buf_printf(why, "expected DOMAIN:SELECTOR:KEYPATH after '%s'", e->name);
		return why->p;
	}
	e->domain = xstrndup(value, (size_t)(c1 - value));
	e->selector = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
	e->key = xstrdup(c2 + 1);
	e->alg = take_alg(e->key);
	const char *bad;
	if (strcmp(e->domain, "%") != 0 &&
	    (bad = keytable_name_problem(e->domain, strlen(e->domain))) != NULL) {
		buf_printf(why, "key '%s': domain '%s' %s", e->name, e->domain, bad);
		return why->p;
	}
	if ((bad = keytable_name_problem(e->selector, strlen(e->selector))) != NULL) {
		buf_printf(why, "key '%s': selector '%s' %s", e->name, e->selector, bad);
		return why->p;
	}
	if (e->key[0] == '\0') {
		buf_printf(why, "key '%s': KEYPATH is empty", e->name);
		return why->p;
	}
	e->key_is_file = is_file_name(e->key);
	if (e->key_is_file && strlen(e->key) > KEYTABLE_MAX_PATH) {
		buf_printf(why, "key '%s': KEYPATH longer than %d bytes", e->name, KEYTABLE_MAX_PATH);
		return why->p;
	}
	if (!e->key_is_file && !is_base64(e->key)) {
		buf_printf(why, "key '%s': KEYPATH '%s' must start with '/', './' or '../' "
			   "(anything else is read as an inline base64 key, and this is not one)",
			   e->name, e->key);
		return why->p;
	}
	if (strcasecmp(e->key, "rsa-sha1") == 0 || (strlen(e->key) > 9 &&
	    strcasecmp(e->key + strlen(e->key) - 9, ":rsa-sha1") == 0)) {
		/* RFC 8301 3.1: signers MUST NOT sign with rsa-sha1 */
		buf_printf(why, "key '%s': rsa-sha1 may not be used for signing (RFC 8301)", e->name);
		return why->p;
	}
	return NULL;
}

static struct keytable_entry *keytable_add(struct keytable *kt)
{
	return ARRAY_PUSH(kt);
}

static struct keytable *keytable_from_dataset(const struct dataset *ds, char **error_r)
{
	if (ds->type == DATASET_REFILE) {
		struct buf err;
		buf_init(&err, 4096);
		buf_printf(&err, "KeyTable %s: refile: is for a SigningTable; a KeyTable "
			   "maps exact key names (use file:)", ds->origin);
		*error_r = buf_steal(&err);
		return NULL;
	}
	struct keytable *kt = xcalloc(1, sizeof(*kt));
	kt->origin = xstrdup(ds->origin);
	struct buf why;
	buf_init(&why, 4096 + KEYTABLE_MAX_PATH);
	for (size_t i = 0; i < ds->n; i++) {
		const struct dataset_entry *d = &ds->v[i];
		struct keytable_entry *e = keytable_add(kt);
		e->name = xstrdup(d->key);
		e->line = d->line;
		if (parse_key_value(d->value, e, &why) != NULL) {
			struct buf err;
			buf_init(&err, 8192 + KEYTABLE_MAX_PATH);
			buf_puts(&err, "KeyTable ");
			dataset_where(ds, d, &err);
			buf_printf(&err, ": %s", why.p);
			*error_r = buf_steal(&err);
			buf_free(&why);
			keytable_free(&kt);
			return NULL;
		}
	}
	buf_free(&why);
	index_names(kt, ds->origin);
	return kt;
}

struct keytable *keytable_load(const char *spec, char **error_r)
{
	struct dataset *ds = dataset_load("KeyTable", spec, error_r);
	if (ds == NULL)
		return NULL;
	struct keytable *kt = keytable_from_dataset(ds, error_r);
	dataset_free(&ds);
	return kt;
}

struct keytable *keytable_parse(enum dataset_type type, const char *origin, const char *text,
				size_t len, char **error_r)
{
	struct dataset *ds = dataset_parse("KeyTable", type, origin, text, len, error_r);
	if (ds == NULL)
		return NULL;
	struct keytable *kt = keytable_from_dataset(ds, error_r);
	dataset_free(&ds);
	return kt;
}

/* ---- key file safety ---- */

static bool in_group(gid_t gid)
{
	if (gid == getegid())
		return true;
	int n = getgroups(0, NULL);
	if (n <= 0)
		return false;
	gid_t *list = xreallocarray(NULL, (size_t)n, sizeof(gid_t));
	n = getgroups(n, list);
	bool found = false;
	for (int i = 0; i < n && !found; i++)
		found = list[i] == gid;
	free(list);
	return found;
}

bool keytable_check_key_file(const char *path, bool require_safe, char **error_r)
{
	struct stat st;
	struct buf err;
	buf_init(&err, 4096 + KEYTABLE_MAX_PATH);
	bool usable = false;	/* there, but maybe not safe */
	if (stat(path, &st) < 0) {
		buf_printf(&err, "%s: cannot stat: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		buf_printf(&err, "%s: not a regular file", path);
	} else if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
		usable = true;
		buf_printf(&err, "%s: readable or writable by others (mode %04o)", path,
			   (unsigned)(st.st_mode & 07777));
	} else if ((st.st_mode & (S_IRGRP | S_IWGRP)) != 0 && !in_group(st.st_gid)) {
		usable = true;
		buf_printf(&err, "%s: readable or writable by group %u, which this process "
			   "is not in (mode %04o)", path, (unsigned)st.st_gid,
			   (unsigned)(st.st_mode & 07777));
	} else {
		buf_free(&err);
		return true;
	}
	if (usable && !require_safe) {
		log_msg(LOG_WARNING, NULL, "%s (RequireSafeKeys is off)", err.p);
		buf_free(&err);
		return true;
	}
	*error_r = buf_steal(&err);
	return false;
}

bool keytable_check_keys(const struct keytable *kt, bool require_safe, char **error_r)
{
	for (size_t i = 0; i < kt->n; i++) {
		const struct keytable_entry *e = &kt->v[i];
		if (!e->key_is_file || strchr(e->key, '%') != NULL)
			continue;
		char *why = NULL;
		if (!keytable_check_key_file(e->key, require_safe, &why)) {
			struct buf err;
			buf_init(&err, 8192 + KEYTABLE_MAX_PATH);
			buf_printf(&err, "KeyTable %s:%u: key '%s': %s", kt->origin, e->line,
				   e->name, why);
			free(why);
			*error_r = buf_steal(&err);
			return false;
		}
	}
	return true;
}

/* ---- SigningTable ---- */

void signtable_free(struct signtable **st)
{
	if (*st == NULL)
		return;
	for (size_t i = 0; i < (*st)->n; i++) {
		free((*st)->v[i].key);
		free((*st)->v[i].keyname);
		free((*st)->v[i].identity);
	}
	free((*st)->v);
	free((*st)->origin);
	free(*st);
	*st = NULL;
}

size_t signtable_count(const struct signtable *st)
{
	return st->n;
}

static int cmp_sign_entry(const void *a, const void *b)
{
	const struct sign_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* In a file: table only "*" and "user@*" may hold a star (see lookup order). */
static bool star_can_match(const char *key)
{
	const char *star = strchr(key, '*');
	if (star == NULL || strcmp(key, "*") == 0)
		return true;
	size_t n = strlen(key);
	return star == key + n - 1 && n >= 2 && key[n - 2] == '@';
}

static struct signtable *signtable_from_dataset(const struct dataset *ds,
						const struct keytable *kt, char **error_r)
{
	struct signtable *st = xcalloc(1, sizeof(*st));
	st->type = ds->type;
	st->origin = xstrdup(ds->origin);
	st->v = xreallocarray(NULL, ds->n + 1, sizeof(st->v[0]));
	struct buf err;
	buf_init(&err, 8192);
	for (size_t i = 0; i < ds->n; i++) {
		const struct dataset_entry *d = &ds->v[i];
		const char *colon = d->value != NULL ? strchr(d->value, ':') : NULL;
		size_t namelen = d->value == NULL ? 0
			       : colon != NULL ? (size_t)(colon - d->value) : strlen(d->value);
		struct sign_entry *e = &st->v[st->n++];
		e->key = xstrdup(d->key);
		e->keyname = xstrndup(d->value != NULL ? d->value : "", namelen);
		e->identity = colon != NULL && colon[1] != '\0' ? xstrdup(colon + 1) : NULL;
		e->line = d->line;
		e->order = i;
		if (e->keyname[0] == '\0') {
			buf_puts(&err, "SigningTable ");
			dataset_where(ds, d, &err);
			buf_printf(&err, ": expected a KeyTable key name after '%s'", d->key);
			break;
		}
		if (strcmp(e->keyname, "%") != 0 && keytable_find(kt, e->keyname) == NULL) {
			buf_puts(&err, "SigningTable ");
			dataset_where(ds, d, &err);
			buf_printf(&err, ": key name '%s' is not in the KeyTable", e->keyname);
			break;
		}
		if (ds->type != DATASET_REFILE) {
			lower_in_place(e->key);
			if (!star_can_match(e->key))
				log_msg(LOG_WARNING, NULL, "SigningTable %s:%u: '%s' can never match "
					"in a %s: table (wildcard patterns need refile:)",
					ds->origin, d->line, d->key, dataset_type_name(ds->type));
		}
	}
	if (err.len > 0) {
		*error_r = buf_steal(&err);
		signtable_free(&st);
		return NULL;
	}
	buf_free(&err);
	if (st->type != DATASET_REFILE)
		qsort(st->v, st->n, sizeof(st->v[0]), cmp_sign_entry);
	return st;
}

struct signtable *signtable_load(const char *spec, const struct keytable *kt, char **error_r)
{
	struct dataset *ds = dataset_load("SigningTable", spec, error_r);
	if (ds == NULL)
		return NULL;
	struct signtable *st = signtable_from_dataset(ds, kt, error_r);
	dataset_free(&ds);
	return st;
}

struct signtable *signtable_parse(enum dataset_type type, const char *origin, const char *text,
				  size_t len, const struct keytable *kt, char **error_r)
{
	struct dataset *ds = dataset_parse("SigningTable", type, origin, text, len, error_r);
	if (ds == NULL)
		return NULL;
	struct signtable *st = signtable_from_dataset(ds, kt, error_r);
	dataset_free(&ds);
	return st;
}

/* ---- the single-key form ---- */

static void simple_add(struct signtable *st, const char *key, const char *name)
{
	struct sign_entry *e = ARRAY_PUSH(st);
	e->key = xstrdup(key);
	e->keyname = xstrdup(name);
	e->order = st->n - 1;
}

struct signtable *signtable_simple(const char *domains, const char *selector,
				   const char *key_file, bool subdomains,
				   struct keytable **kt_r, char **error_r)
{
	struct buf err;
	buf_init(&err, 8192 + KEYTABLE_MAX_PATH);
	const char *bad = keytable_name_problem(selector, strlen(selector));
	if (bad != NULL) {
		buf_printf(&err, "Selector: '%s' %s", selector, bad);
		*error_r = buf_steal(&err);
		return NULL;
	}
	if (key_file[0] == '\0' || strlen(key_file) > KEYTABLE_MAX_PATH) {
		buf_printf(&err, "KeyFile: expected a file name of 1 to %d bytes", KEYTABLE_MAX_PATH);
		*error_r = buf_steal(&err);
		return NULL;
	}
	struct dataset *ds = dataset_load("Domain", domains, error_r);
	if (ds == NULL) {
		buf_free(&err);
		return NULL;
	}
	struct keytable *kt = xcalloc(1, sizeof(*kt));
	kt->origin = xstrdup("Domain");
	struct signtable *st = xcalloc(1, sizeof(*st));
	st->type = DATASET_FILE;
	st->origin = xstrdup("Domain");
	for (size_t i = 0; i < ds->n && err.len == 0; i++) {
		const struct dataset_entry *d = &ds->v[i];
		bool any = strcmp(d->key, "*") == 0;
		if (!any && (bad = keytable_name_problem(d->key, strlen(d->key))) != NULL) {
			buf_puts(&err, "Domain ");
			dataset_where(ds, d, &err);
			buf_printf(&err, ": '%s' %s", d->key, bad);
			break;
		}
		struct keytable_entry *e = keytable_add(kt);
		e->name = xstrdup(d->key);
		lower_in_place(e->name);
		e->domain = xstrdup(any ? "%" : e->name);
		e->selector = xstrdup(selector);
		e->key = xstrdup(key_file);
		/* KeyFile is always a file, whatever its name looks like */
		e->key_is_file = true;
		e->alg = KEYTABLE_ALG_AUTO;
		e->line = d->line;
		simple_add(st, e->name, e->name);
		if (subdomains && !any) {
			char *dotted = xmalloc(strlen(e->name) + 2);
			dotted[0] = '.';
			strcpy(dotted + 1, e->name);
			simple_add(st, dotted, e->name);
			free(dotted);
		}
	}
	dataset_free(&ds);
	if (err.len > 0) {
		*error_r = buf_steal(&err);
		keytable_free(&kt);
		signtable_free(&st);
		return NULL;
	}
	buf_free(&err);
	index_names(kt, "Domain");
	qsort(st->v, st->n, sizeof(st->v[0]), cmp_sign_entry);
	*kt_r = kt;
	return st;
}

/* ---- lookup ---- */

/*
 * Does the "*"-only pattern match s, ASCII case ignored?  On a mismatch
 * after a star, the star takes one more character and matching resumes:
 * only the latest star needs remembering, since an earlier one can never
 * do better than the latest can.
 */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s != '\0') {
		if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (*pat != '\0' && lower(*pat) == lower(*s)) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

struct lookup {
	const struct signtable *st;
	const struct keytable *kt;
	const char *domain;	/* lower case, checked */
	bool multiple;
	struct arena *a;
	struct signing_key *out;
	size_t max;
	size_t count;
	const char *error;
};

/* Replaces every "%" in s with with; NULL if the result exceeds max bytes. */
static const char *subst(struct arena *a, const char *s, const char *with, size_t max)
{
	if (strchr(s, '%') == NULL)
		return arena_strdup(a, s);
	struct buf b;
	buf_init(&b, max);
	for (; *s != '\0'; s++) {
		if (*s == '%')
			buf_puts(&b, with);
		else
			buf_putc(&b, *s);
	}
	const char *r = b.overflow ? NULL : arena_memdup(a, b.p, b.len);
	buf_free(&b);
	return r;
}

/* Adds the key e names; false when the lookup is finished (or failed). */
static bool take(struct lookup *lk, const struct sign_entry *e)
{
	const char *name = strcmp(e->keyname, "%") == 0 ? lk->domain : e->keyname;
	const struct keytable_entry *k = keytable_find(lk->kt, name);
	if (k == NULL) {
		lk->error = arena_printf(lk->a, "SigningTable %s:%u: key name '%s' (from '%%') "
					 "is not in the KeyTable", lk->st->origin, e->line, name);
		return false;
	}
	for (size_t i = 0; i < lk->count; i++)
		if (strcmp(lk->out[i].name, k->name) == 0)
			return true;
	struct signing_key *o = &lk->out[lk->count];
	o->name = k->name;
	o->domain = strcmp(k->domain, "%") == 0 ? lk->domain : k->domain;
	o->selector = k->selector;
	o->alg = k->alg;
	o->key_path = NULL;
	o->key_data = NULL;
	if (k->key_is_file) {
		o->key_path = subst(lk->a, k->key, o->domain, KEYTABLE_MAX_PATH);
		if (o->key_path == NULL) {
			lk->error = arena_printf(lk->a, "KeyTable %s:%u: key '%s': file name "
						 "longer than %d bytes for domain %s",
						 lk->kt->origin, k->line, k->name,
						 KEYTABLE_MAX_PATH, o->domain);
			return false;
		}
	} else {
		o->key_data = k->key;
	}
	o->identity = NULL;
	if (e->identity != NULL) {
		o->identity = subst(lk->a, e->identity, lk->domain, KEYTABLE_MAX_IDENTITY);
		if (o->identity == NULL) {
			lk->error = arena_printf(lk->a, "SigningTable %s:%u: signer identity "
						 "longer than %d bytes for domain %s",
						 lk->st->origin, e->line, KEYTABLE_MAX_IDENTITY,
						 lk->domain);
			return false;
		}
	}
	lk->count++;
	return lk->multiple && lk->count < lk->max;
}

/* Every entry whose key is cand (lower case), in file order. */
static bool take_exact(struct lookup *lk, const char *cand)
{
	const struct signtable *st = lk->st;
	size_t lo = 0, hi = st->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(st->v[mid].key, cand) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < st->n && strcmp(st->v[i].key, cand) == 0; i++)
		if (!take(lk, &st->v[i]))
			return false;
	return true;
}

/*
 * OpenDKIM's order for file-like tables (opendkim.conf(5), SigningTable;
 * the parent loop interleaves user@.P and .P as opendkim.c does).
 */
static void lookup_keys(struct lookup *lk, const char *local)
{
	char cand[KEYTABLE_MAX_LOCAL + 1 + KEYTABLE_MAX_DOMAIN + 2];
	snprintf(cand, sizeof(cand), "%s@%s", local, lk->domain);
	lower_in_place(cand);
	size_t at = strlen(cand) - strlen(lk->domain);	/* just after '@' */
	if (!take_exact(lk, cand) || !take_exact(lk, lk->domain))
		return;
	for (const char *p = strchr(lk->domain, '.'); p != NULL; p = strchr(p + 1, '.')) {
		snprintf(cand + at, sizeof(cand) - at, "%s", p);
		if (!take_exact(lk, cand) || !take_exact(lk, p))
			return;
	}
	snprintf(cand + at, sizeof(cand) - at, "*");
	if (!take_exact(lk, cand))
		return;
	(void)take_exact(lk, "*");
}

static void lookup_patterns(struct lookup *lk, const char *local)
{
	char addr[KEYTABLE_MAX_LOCAL + 1 + KEYTABLE_MAX_DOMAIN + 1];
	snprintf(addr, sizeof(addr), "%s@%s", local, lk->domain);
	for (size_t i = 0; i < lk->st->n; i++)
		if (glob_match(lk->st->v[i].key, addr) && !take(lk, &lk->st->v[i]))
			return;
}

int signtable_lookup(const struct signtable *st, const struct keytable *kt,
		     const char *local, const char *domain, bool multiple,
		     struct arena *a, struct signing_key *out, size_t max,
		     const char **error_r)
{
	if (max == 0)
		return 0;
	size_t dlen = strlen(domain);
	if (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;		/* "example.com." is example.com */
	const char *bad = keytable_name_problem(domain, dlen);
	if (bad != NULL) {
		*error_r = arena_printf(a, "sender domain '%.300s' %s", domain, bad);
		return -1;
	}
	if (strlen(local) > KEYTABLE_MAX_LOCAL) {
		*error_r = arena_printf(a, "sender local part longer than %d bytes",
					KEYTABLE_MAX_LOCAL);
		return -1;
	}
	char *dom = arena_memdup(a, domain, dlen);
	lower_in_place(dom);
	struct lookup lk = { st, kt, dom, multiple, a, out, max, 0, NULL };
	if (st->type == DATASET_REFILE)
		lookup_patterns(&lk, local);
	else
		lookup_keys(&lk, local);
	if (lk.error != NULL) {
		*error_r = lk.error;
		return -1;
	}
	return (int)lk.count;
}
