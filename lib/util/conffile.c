/*
 * The configuration-file engine (see conffile.h): reading files, the line
 * syntax, Include, the shared value types and the error words.  A program's
 * options live in its own table (milterd/config.c for the milter,
 * policyd/pconf.c for the policy server); nothing here knows any option.
 * Defaults are applied by feeding the default text through the same parser
 * as the file, so a default can never be a value the file could not hold.
 */
#include "conffile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "file.h"
#include "log.h"
#include "netlist.h"
#include "xalloc.h"

/* keys longer than this are shown shortened and get no suggestion */
#define CONFFILE_MAX_KEY_SHOWN 64

/* -- small helpers -- */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

char *conffile_path_join(const char *dir, const char *rel)
{
	if (dir == NULL || rel[0] == '/')
		return xstrdup(rel);
	return xasprintf("%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", rel);
}

/* The folder of path, or NULL when path has none (then: the cwd). */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return NULL;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Stores v into an unsigned field of 4 or 8 bytes (the table check keeps v in range). */
static void store_unsigned(void *field, size_t size, unsigned long long v)
{
	if (size == sizeof(uint32_t)) {
		ASSERT(v <= UINT32_MAX);
		uint32_t x = (uint32_t)v;
		memcpy(field, &x, sizeof(x));
	} else {
		ASSERT(size == sizeof(uint64_t));
		uint64_t x = v;
		memcpy(field, &x, sizeof(x));
	}
}

bool conffile_parse_digits(const char **s, unsigned long long *v_r)
{
	const char *p = *s;
	unsigned long long v = 0;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*s = p;
	*v_r = v;
	return true;
}

/* A port number 1..65535 as the whole of s. */
static bool parse_port(const char *s)
{
	unsigned long long v;
	return conffile_parse_digits(&s, &v) && *s == '\0' && v >= 1 && v <= 65535;
}

/* RFC 1123 2.1 host name (letters, digits, '-', '_' for real-world names). */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = ascii_lower(s[i]);
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static void free_string(void *field)
{
	char **f = field;
	free(*f);
	*f = NULL;
}

static void replace_string(void *field, char *value)
{
	free_string(field);
	*(char **)field = value;
}

/* -- the types -- */

static bool set_string(const struct conffile_option *o UNUSED, void *field, const char *value,
		       const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	if (value[0] == '\0') {
		buf_puts(why, "expected a non-empty value");
		return false;
	}
	replace_string(field, xstrdup(value));
	return true;
}

static bool set_path(const struct conffile_option *o UNUSED, void *field, const char *value,
		     const struct conffile_ctx *ctx, struct buf *why)
{
	if (value[0] == '\0') {
		buf_puts(why, "expected a file name");
		return false;
	}
	char *path = conffile_path_join(ctx->dir, value);
	struct stat st;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		buf_printf(why, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(why, "%s is not a regular file", path);
		free(path);
		return false;
	}
	replace_string(field, path);
	return true;
}

static bool set_bool(const struct conffile_option *o UNUSED, void *field, const char *value,
		     const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		bool v = strcasecmp(value, yes[i]) == 0;
		if (v || strcasecmp(value, no[i]) == 0) {
			memcpy(field, &v, sizeof(v));
			return true;
		}
	}
	buf_puts(why, "expected yes or no (or true/false, on/off, 1/0)");
	return false;
}

static bool set_uint(const struct conffile_option *o, void *field, const char *value,
		     const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	const struct conffile_bounds *b = o->extra;
	unsigned long long v;
	const char *p = value;
	if (!conffile_parse_digits(&p, &v) || *p != '\0' || v < b->min || v > b->max) {
		buf_printf(why, "expected a whole number from %llu to %llu", b->min, b->max);
		return false;
	}
	store_unsigned(field, o->size, v);
	return true;
}

/* Writes v with the largest suffix of `units` that divides it exactly. */
static void put_with_unit(struct buf *out, unsigned long long v,
			  const struct conffile_name_value *units)
{
	const struct conffile_name_value *best = &units[0];
	for (const struct conffile_name_value *u = units; u->name != NULL; u++)
		if (v != 0 && v % (unsigned long long)u->value == 0)
			best = u;
	buf_printf(out, "%llu%s", v / (unsigned long long)best->value, best->name);
}

/*
 * A number with an optional unit suffix (case-insensitive) from `units`;
 * "" in units is the unit of a plain number.  false on overflow or a bad
 * suffix.
 */
static bool parse_with_unit(const char *value, const struct conffile_name_value *units,
			    unsigned long long *v_r)
{
	unsigned long long v;
	const char *p = value;
	if (!conffile_parse_digits(&p, &v))
		return false;
	for (const struct conffile_name_value *u = units; u->name != NULL; u++) {
		if (strcasecmp(p, u->name) != 0)
			continue;
		unsigned long long mul = (unsigned long long)u->value;
		if (v > ULLONG_MAX / mul)
			return false;
		*v_r = v * mul;
		return true;
	}
	return false;
}

static const struct conffile_name_value size_units[] = {
	{ "", 1 }, { "k", 1 << 10 }, { "m", 1 << 20 }, { "g", 1 << 30 }, { NULL, 0 },
};
/* parsing: a plain number is seconds */
static const struct conffile_name_value duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
};
/* showing bounds: the same units, without the plain form */
static const struct conffile_name_value duration_units_shown[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
};

static bool set_size(const struct conffile_option *o, void *field, const char *value,
		     const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	const struct conffile_bounds *b = o->extra;
	unsigned long long v;
	if (parse_with_unit(value, size_units, &v) && v >= b->min && v <= b->max) {
		store_unsigned(field, o->size, v);
		return true;
	}
	buf_puts(why, "expected a size in bytes (suffix k, m or g allowed) from ");
	put_with_unit(why, b->min, size_units);
	buf_puts(why, " to ");
	put_with_unit(why, b->max, size_units);
	return false;
}

static bool set_duration(const struct conffile_option *o, void *field, const char *value,
			 const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	const struct conffile_bounds *b = o->extra;
	unsigned long long v;
	if (parse_with_unit(value, duration_units, &v) && v >= b->min && v <= b->max) {
		store_unsigned(field, o->size, v);
		return true;
	}
	buf_puts(why, "expected a duration (seconds, or suffix ms, s, m or h) from ");
	put_with_unit(why, b->min, duration_units_shown);
	buf_puts(why, " to ");
	put_with_unit(why, b->max, duration_units_shown);
	return false;
}

static bool set_octal(const struct conffile_option *o, void *field, const char *value,
		      const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	const struct conffile_bounds *b = o->extra;
	unsigned long long v = 0;
	size_t n = strlen(value);
	bool ok = n > 0 && n <= 8;
	for (size_t i = 0; ok && i < n; i++) {
		ok = value[i] >= '0' && value[i] <= '7';
		v = v * 8 + (unsigned)(value[i] - '0');
	}
	if (!ok || v < b->min || v > b->max) {
		buf_printf(why, "expected an octal mode from %llo to 0%llo", b->min, b->max);
		return false;
	}
	store_unsigned(field, o->size, v);
	return true;
}

/* "a, b or c" from a name list. */
static void put_alternatives(struct buf *out, const struct conffile_name_value *names)
{
	for (size_t i = 0; names[i].name != NULL; i++) {
		if (i > 0)
			buf_puts(out, names[i + 1].name == NULL ? " or " : ", ");
		buf_puts(out, names[i].name);
	}
}

static bool set_enum(const struct conffile_option *o, void *field, const char *value,
		     const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	const struct conffile_name_value *names = o->extra;
	for (size_t i = 0; names[i].name != NULL; i++) {
		if (strcasecmp(value, names[i].name) == 0) {
			memcpy(field, &names[i].value, sizeof(int));
			return true;
		}
	}
	buf_puts(why, "expected ");
	put_alternatives(why, names);
	return false;
}

static bool set_letters(const struct conffile_option *o, void *field, const char *value,
			const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	const struct conffile_name_value *letters = o->extra;
	unsigned long long v = 0;
	bool ok = value[0] != '\0';
	for (const char *p = value; ok && *p != '\0'; p++) {
		ok = false;
		for (size_t i = 0; letters[i].name != NULL; i++) {
			if (ascii_lower(*p) == letters[i].name[0]) {
				v |= (unsigned)letters[i].value;
				ok = true;
			}
		}
	}
	if (!ok) {
		buf_puts(why, "expected one or more of the letters ");
		put_alternatives(why, letters);
		return false;
	}
	store_unsigned(field, o->size, v);
	return true;
}

/* inet:PORT[@ADDR] / inet6:PORT[@ADDR]; s is after the colon. */
static bool check_inet(const char *s, int family, struct buf *why)
{
	const char *at = strchr(s, '@');
	char port[8];
	size_t plen = at != NULL ? (size_t)(at - s) : strlen(s);
	if (plen == 0 || plen >= sizeof(port)) {
		buf_puts(why, "expected a port from 1 to 65535 before @");
		return false;
	}
	memcpy(port, s, plen);
	port[plen] = '\0';
	if (!parse_port(port)) {
		buf_puts(why, "expected a port from 1 to 65535 before @");
		return false;
	}
	if (at == NULL)
		return true;	/* every local address */
	char addr[256];
	const char *a = at + 1;
	size_t alen = strlen(a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	unsigned char bin[sizeof(struct in6_addr)];
	if (alen > 0 && alen < sizeof(addr)) {
		memcpy(addr, a, alen);
		addr[alen] = '\0';
		if (inet_pton(family, addr, bin) == 1 || valid_hostname(addr))
			return true;
	}
	buf_printf(why, "expected an %s address or a host name after @",
		   family == AF_INET ? "IPv4" : "IPv6");
	return false;
}

static bool check_local(const char *path, struct buf *why)
{
	struct sockaddr_un sun;
	if (path[0] == '\0') {
		buf_puts(why, "expected a socket path after local:");
		return false;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		buf_printf(why, "expected a socket path shorter than %zu bytes",
			   sizeof(sun.sun_path));
		return false;
	}
	return true;
}

/* libmilter's socket syntax; the text is kept as written. */
static bool set_socket(const struct conffile_option *o UNUSED, void *field, const char *value,
		       const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	bool ok;
	if (strncasecmp(value, "inet:", 5) == 0)
		ok = check_inet(value + 5, AF_INET, why);
	else if (strncasecmp(value, "inet6:", 6) == 0)
		ok = check_inet(value + 6, AF_INET6, why);
	else if (strncasecmp(value, "local:", 6) == 0)
		ok = check_local(value + 6, why);
	else if (strncasecmp(value, "unix:", 5) == 0)
		ok = check_local(value + 5, why);
	else if (value[0] == '/')
		ok = check_local(value, why);
	else {
		buf_puts(why, "expected inet:PORT@ADDR, inet:PORT, inet6:PORT@ADDR, "
			      "local:PATH or an absolute path");
		ok = false;
	}
	if (ok)
		replace_string(field, xstrdup(value));
	return ok;
}

/* "192.0.2.1", "2001:db8::1", "192.0.2.1@5353" (Unbound's forward syntax). */
static bool valid_nameserver(const char *s)
{
	char ip[INET6_ADDRSTRLEN];
	const char *at = strchr(s, '@');
	size_t len = at != NULL ? (size_t)(at - s) : strlen(s);
	if (len == 0 || len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	unsigned char bin[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)
		return false;
	return at == NULL || parse_port(at + 1);
}

static size_t list_len(char **v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

static void free_list(void *field)
{
	char ***f = field;
	for (size_t i = 0; *f != NULL && (*f)[i] != NULL; i++)
		free((*f)[i]);
	free(*f);
	*f = NULL;
}

static bool set_addr_list(const struct conffile_option *o UNUSED, void *field, const char *value,
			  const struct conffile_ctx *ctx, struct buf *why)
{
	char ***f = field;
	char **v = NULL;
	size_t n = 0;
	bool ok = true;
	for (const char *p = value; ok && *p != '\0';) {
		size_t len = strcspn(p, ", \t");
		if (len > 0) {
			char *tok = xstrndup(p, len);
			if (!valid_nameserver(tok)) {
				buf_printf(why, "expected IP addresses with an optional @PORT, "
						"not \"%s\"", tok);
				ok = false;
			}
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = tok;
			v[n] = NULL;
		}
		p += len;
		p += strspn(p, ", \t");
	}
	size_t old = ctx->replace ? 0 : list_len(*f);
	if (ok && old + n > CONFFILE_MAX_NAMESERVERS) {
		buf_printf(why, "expected at most %d addresses", CONFFILE_MAX_NAMESERVERS);
		ok = false;
	}
	if (ok && n == 0) {
		buf_puts(why, "expected IP addresses with an optional @PORT");
		ok = false;
	}
	if (!ok) {
		free_list(&v);
		return false;
	}
	if (ctx->replace)
		free_list(f);
	*f = xreallocarray(*f, old + n + 1, sizeof(**f));
	memcpy(*f + old, v, (n + 1) * sizeof(*v));
	free(v);
	return true;
}

static void free_netlist(void *field)
{
	netlist_free(field);
}

static bool set_netlist(const struct conffile_option *o UNUSED, void *field, const char *value,
			const struct conffile_ctx *ctx, struct buf *why)
{
	char *spec = NULL, *error = NULL;
	/* a relative file: is relative to the configuration file, like Include */
	if (strncmp(value, "file:", 5) == 0 && value[5] != '/' && ctx->dir != NULL) {
		char *path = conffile_path_join(ctx->dir, value + 5);
		spec = xasprintf("file:%s", path);
		free(path);
	}
	struct netlist *l = netlist_from_spec(spec != NULL ? spec : value, &error);
	free(spec);
	if (l == NULL) {
		buf_puts(why, error);
		free(error);
		return false;
	}
	free_netlist(field);
	*(struct netlist **)field = l;
	return true;
}

static bool set_facility(const struct conffile_option *o UNUSED, void *field, const char *value,
			 const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	int f = log_facility_from_name(value);
	if (f < 0) {
		buf_puts(why, "expected mail, daemon, user or local0 to local7");
		return false;
	}
	memcpy(field, &f, sizeof(f));
	return true;
}

#define TYPE(name, size_, bounded_, extra_, set_, drop_)                       \
	const struct conffile_type name = { .size = (size_), .bounded = (bounded_),  \
					    .needs_extra = (extra_), .set = (set_),  \
					    .drop = (drop_) }

TYPE(conffile_string, sizeof(char *), false, false, set_string, free_string);
TYPE(conffile_path, sizeof(char *), false, false, set_path, free_string);
TYPE(conffile_bool, sizeof(bool), false, false, set_bool, NULL);
TYPE(conffile_uint, 0, true, true, set_uint, NULL);
TYPE(conffile_size, 0, true, true, set_size, NULL);
TYPE(conffile_duration, 0, true, true, set_duration, NULL);
TYPE(conffile_octal, 0, true, true, set_octal, NULL);
TYPE(conffile_enum, sizeof(int), false, true, set_enum, NULL);
TYPE(conffile_letters, 0, false, true, set_letters, NULL);
TYPE(conffile_socket, sizeof(char *), false, false, set_socket, free_string);
TYPE(conffile_addr_list, sizeof(char **), false, false, set_addr_list, free_list);
TYPE(conffile_netlist, sizeof(struct netlist *), false, false, set_netlist, free_netlist);
TYPE(conffile_facility, sizeof(int), false, false, set_facility, NULL);

/* A mistake in a table is a bug: catch it on first use, not in production. */
static void check_schema(const struct conffile_schema *sc)
{
	for (size_t i = 0; i < sc->n_options; i++) {
		const struct conffile_option *o = &sc->options[i];
		const struct conffile_type *t = o->type;
		ASSERT(t != NULL && t->set != NULL);
		ASSERT(o->offset + o->size <= sc->size);
		if (t->size == 0)
			ASSERT(o->size == sizeof(uint32_t) || o->size == sizeof(uint64_t));
		else
			ASSERT(o->size == t->size);
		if (t->bounded) {
			const struct conffile_bounds *b = o->extra;
			ASSERT(b != NULL && b->min <= b->max);
			ASSERT(o->size == sizeof(uint64_t) || b->max <= UINT32_MAX);
		}
		if (t->needs_extra)
			ASSERT(o->extra != NULL);
		ASSERT(strcasecmp(o->name, "Include") != 0);
	}
}

/* -- loading -- */

/* One option of one schema fragment, as a load sees it. */
struct slot {
	const struct conffile_option *o;
	void *obj;		/* the struct of its fragment */
	bool set;		/* given in a file (not just defaulted) */
	char *default_error;	/* a default that failed (see apply_defaults) */
};

struct load {
	struct slot *slots;		/* every option of every fragment */
	size_t n_slots;
	void **objs;			/* per fragment: its struct */
	const struct conffile_schema *const *frags;
	size_t n_frags;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[CONFFILE_MAX_INCLUDE_DEPTH + 1];	/* files being read, for cycles */
	size_t depth;			/* entries in stack (text given directly has none) */
	unsigned nesting;		/* Include levels above the current file */
	size_t total;			/* bytes read over all files */
	unsigned errors;		/* errors met so far */
	bool failed;			/* any at all */
	struct buf error;		/* each error on a line of its own */
};

/* One file (or text) being read. */
struct src {
	const char *name;	/* "" when the error text names the file itself */
	const char *dir;	/* for relative paths; NULL = cwd */
	unsigned line;		/* 0 = no line (file-level error) */
};

static void fail(struct load *ld, const struct src *s, const char *key, size_t key_len,
		 const char *fmt, ...) PRINTF(5, 6);

/*
 * Records an error as "NAME[:LINE]: [KEY: ]text", on a line of its own
 * after the earlier ones; past CONFFILE_MAX_ERRORS, only that some were
 * left out.
 */
static void fail(struct load *ld, const struct src *s, const char *key, size_t key_len,
		 const char *fmt, ...)
{
	ld->failed = true;
	if (++ld->errors > CONFFILE_MAX_ERRORS) {
		if (ld->errors == CONFFILE_MAX_ERRORS + 1)
			buf_printf(&ld->error, "\n(more errors not shown)");
		return;
	}
	if (ld->errors > 1)
		buf_putc(&ld->error, '\n');
	if (s->name[0] != '\0') {	/* "" for errors that name the file themselves */
		buf_puts(&ld->error, s->name);
		if (s->line > 0)
			buf_printf(&ld->error, ":%u", s->line);
		buf_puts(&ld->error, ": ");
	}
	if (key != NULL) {
		int shown = key_len > CONFFILE_MAX_KEY_SHOWN ? CONFFILE_MAX_KEY_SHOWN : (int)key_len;
		buf_printf(&ld->error, "%.*s%s: ", shown, key,
			   key_len > CONFFILE_MAX_KEY_SHOWN ? "..." : "");
	}
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&ld->error, fmt, ap);
	va_end(ap);
}

/* Case-insensitive Levenshtein distance; both shorter than CONFFILE_MAX_KEY_SHOWN + 1. */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	size_t prev[CONFFILE_MAX_KEY_SHOWN + 1], cur[CONFFILE_MAX_KEY_SHOWN + 1];
	ASSERT(alen <= CONFFILE_MAX_KEY_SHOWN && blen <= CONFFILE_MAX_KEY_SHOWN);
	for (size_t j = 0; j <= blen; j++)
		prev[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t sub = prev[j - 1] + (ascii_lower(a[i - 1]) != ascii_lower(b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (blen + 1) * sizeof(prev[0]));
	}
	return prev[blen];
}

/* The known name closest to key, if within 2 edits; else NULL. */
static const char *closest_name(const struct load *ld, const char *key, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3;
	if (len > CONFFILE_MAX_KEY_SHOWN)
		return NULL;
	for (size_t i = 0; i <= ld->n_slots; i++) {
		const char *name = i < ld->n_slots ? ld->slots[i].o->name : "Include";
		size_t d = edit_distance(key, len, name);
		if (d < best_d) {
			best_d = d;
			best = name;
		}
	}
	return best;
}

static struct slot *find_slot(const struct load *ld, const char *key, size_t len)
{
	for (size_t i = 0; i < ld->n_slots; i++)
		if (slice_eq_ci(slice_make(key, len), ld->slots[i].o->name))
			return &ld->slots[i];
	return NULL;
}

static void parse_text(struct load *ld, struct src *s, const char *text, size_t len);

static void include_file(struct load *ld, const struct src *s, const char *value)
{
	static const char key[] = "Include";
	char *path = conffile_path_join(s->dir, value);
	struct buf data, why;
	struct stat st;
	buf_init(&data, CONFFILE_MAX_FILE + 1);
	buf_init(&why, 4096);
	if (!file_read_stat(path, CONFFILE_MAX_FILE, &data, &st, &why)) {
		fail(ld, s, key, strlen(key), "%s", why.p);
		goto out;
	}
	for (size_t i = 0; i < ld->depth; i++) {
		if (ld->stack[i].dev == st.st_dev && ld->stack[i].ino == st.st_ino) {
			fail(ld, s, key, strlen(key), "%s includes itself", path);
			goto out;
		}
	}
	if (ld->nesting >= CONFFILE_MAX_INCLUDE_DEPTH) {
		fail(ld, s, key, strlen(key), "%s: nested more than %d deep", path,
		     CONFFILE_MAX_INCLUDE_DEPTH);
		goto out;
	}
	ld->total += data.len;
	if (ld->total > CONFFILE_MAX_TOTAL) {
		fail(ld, s, key, strlen(key), "%s: all files together larger than %zu bytes",
		     path, CONFFILE_MAX_TOTAL);
		goto out;
	}
	char *dir = path_dir(path);
	struct src sub = { path, dir, 0 };
	ld->stack[ld->depth].dev = st.st_dev;
	ld->stack[ld->depth].ino = st.st_ino;
	ld->depth++;
	ld->nesting++;
	parse_text(ld, &sub, data.p, data.len);
	ld->nesting--;
	ld->depth--;
	free(dir);
out:
	buf_free(&why);
	buf_free(&data);
	free(path);
}

/*
 * The value after the key: `#` starts a comment outside double quotes,
 * quotes are removed (with `\"` and `\\` inside them), and white space is
 * trimmed at both ends except where quoted.  *quoted_r says whether quotes
 * were seen (`Key ""` is an empty value, not a missing one).
 */
static bool extract_value(const char *p, size_t len, bool raw, struct buf *out,
			  bool *quoted_r)
{
	bool in_quotes = false;
	size_t keep = 0;	/* out's first `keep` bytes are quoted or followed by them */
	size_t i = 0;
	*quoted_r = false;
	while (i < len && is_blank(p[i]))
		i++;
	for (; i < len; i++) {
		char c = p[i];
		if (!in_quotes && c == '#')
			break;
		if (c == '"') {
			in_quotes = !in_quotes;
			*quoted_r = true;
			keep = out->len;
			if (!raw)
				continue;
		}
		if (in_quotes && c == '\\' && i + 1 < len && (p[i + 1] == '"' || p[i + 1] == '\\')) {
			if (raw)
				buf_putc(out, c);
			c = p[++i];
		}
		buf_putc(out, c);
		if (in_quotes)
			keep = out->len;
	}
	if (in_quotes)
		return false;
	while (out->len > keep && is_blank(out->p[out->len - 1]))
		buf_truncate(out, out->len - 1);
	return true;
}

static void apply_option(struct load *ld, const struct src *s, struct slot *sl, const char *value)
{
	const struct conffile_option *o = sl->o;
	struct conffile_ctx ctx = { s->dir, !sl->set };
	struct buf why;
	buf_init(&why, 4096);
	if (o->type->set(o, (char *)sl->obj + o->offset, value, &ctx, &why))
		sl->set = true;
	else
		fail(ld, s, o->name, strlen(o->name), "%s", why.p);
	buf_free(&why);
}

/* One line, without its line end. */
static void parse_line(struct load *ld, const struct src *s, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			if (c == 0)
				fail(ld, s, NULL, 0, "NUL byte");
			else
				fail(ld, s, NULL, 0, "control character 0x%02x", c);
			return;
		}
	}
	size_t i = 0;
	while (i < len && is_blank(p[i]))
		i++;
	if (i == len || p[i] == '#')
		return;
	const char *key = p + i;
	while (i < len && !is_blank(p[i]) && p[i] != '#')
		i++;
	size_t key_len = (size_t)(p + i - key);

	bool include = slice_eq_ci(slice_make(key, key_len), "Include");
	struct slot *sl = include ? NULL : find_slot(ld, key, key_len);
	if (!include && sl == NULL) {
		const char *near = closest_name(ld, key, key_len);
		if (near != NULL)
			fail(ld, s, key, key_len, "unknown option; did you mean %s?", near);
		else
			fail(ld, s, key, key_len, "unknown option");
		return;
	}
	struct buf value;
	bool quoted;
	buf_init(&value, CONFFILE_MAX_LINE);
	if (!extract_value(p + i, len - i, sl != NULL && sl->o->type->raw, &value, &quoted))
		fail(ld, s, key, key_len, "unterminated double quote");
	else if (value.len == 0 && !quoted)
		fail(ld, s, key, key_len, "missing value");
	else if (include)
		include_file(ld, s, value.p);
	else
		apply_option(ld, s, sl, value.p);
	buf_free(&value);
}

static void parse_text(struct load *ld, struct src *s, const char *text, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t line_len = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
		size_t next = i + line_len + 1;
		s->line++;
		if (line_len > 0 && text[i + line_len - 1] == '\r')
			line_len--;	/* CRLF */
		if (line_len > CONFFILE_MAX_LINE)
			fail(ld, s, NULL, 0, "line longer than %d bytes", CONFFILE_MAX_LINE);
		else
			parse_line(ld, s, text + i, line_len);
		i = next;
	}
}
/*
 * Feeds every default through its parser.  A default can fail only through
 * its environment (a host name); that is kept and reported only if the
 * file does not set the option.
 */
static void apply_defaults(struct load *ld)
{
	for (size_t i = 0; i < ld->n_slots; i++) {
		const struct conffile_option *o = ld->slots[i].o;
		if (o->def == NULL)
			continue;
		struct conffile_ctx ctx = { NULL, true };
		struct buf why;
		buf_init(&why, 4096);
		if (!o->type->set(o, (char *)ld->slots[i].obj + o->offset, o->def, &ctx, &why))
			ld->slots[i].default_error = buf_steal(&why);
		buf_free(&why);
	}
}

/* Option names are unique across the fragments of one file. */
static void check_unique(const struct load *ld)
{
	for (size_t i = 0; i < ld->n_slots; i++)
		for (size_t j = 0; j < i; j++)
			ASSERT(strcasecmp(ld->slots[i].o->name, ld->slots[j].o->name) != 0);
}

static void load_init(struct load *ld, const struct conffile_schema *const *frags, size_t n)
{
	memset(ld, 0, sizeof(*ld));
	buf_init(&ld->error, 8192);
	ld->frags = frags;
	ld->n_frags = n;
	ld->objs = xcalloc(n + 1, sizeof(void *));
	for (size_t f = 0; f < n; f++) {
		check_schema(frags[f]);
		ld->objs[f] = xcalloc(1, frags[f]->size);
		ld->n_slots += frags[f]->n_options;
	}
	ld->slots = xcalloc(ld->n_slots + 1, sizeof(*ld->slots));
	size_t k = 0;
	for (size_t f = 0; f < n; f++)
		for (size_t i = 0; i < frags[f]->n_options; i++)
			ld->slots[k++] = (struct slot){ .o = &frags[f]->options[i], .obj = ld->objs[f] };
	check_unique(ld);
	apply_defaults(ld);
}

static void load_free_slots(struct load *ld)
{
	for (size_t i = 0; i < ld->n_slots; i++)
		free(ld->slots[i].default_error);
	free(ld->slots);
}

/* Ends a load: returns the structs, or NULL and the error. */
static void **load_finish(struct load *ld, const char *name, char **error_r)
{
	struct src top = { name, NULL, 0 };
	for (size_t i = 0; i < ld->n_slots; i++) {
		const struct slot *sl = &ld->slots[i];
		if (sl->default_error != NULL && !sl->set)
			fail(ld, &top, sl->o->name, strlen(sl->o->name), "%s", sl->default_error);
	}
	load_free_slots(ld);
	if (ld->failed) {
		conffile_free_multi(ld->frags, ld->n_frags, &ld->objs);
		*error_r = buf_steal(&ld->error);
		return NULL;
	}
	buf_free(&ld->error);
	return ld->objs;
}

void **conffile_parse_multi(const struct conffile_schema *const *frags, size_t n,
			    const char *name, const char *text, size_t len, char **error_r)
{
	struct load ld;
	load_init(&ld, frags, n);
	struct src s = { name, NULL, 0 };
	if (len > CONFFILE_MAX_FILE) {
		fail(&ld, &s, NULL, 0, "larger than %zu bytes", CONFFILE_MAX_FILE);
	} else {
		ld.total = len;
		parse_text(&ld, &s, text, len);
	}
	return load_finish(&ld, name, error_r);
}

void **conffile_load_multi(const struct conffile_schema *const *frags, size_t n,
			   const char *path, char **error_r)
{
	struct load ld;
	load_init(&ld, frags, n);
	struct buf data, why;
	struct stat st;
	struct src s = { path, NULL, 0 };
	buf_init(&data, CONFFILE_MAX_FILE + 1);
	buf_init(&why, 4096);
	if (!file_read_stat(path, CONFFILE_MAX_FILE, &data, &st, &why)) {
		/* the error names the file already */
		struct src bare = { "", NULL, 0 };
		fail(&ld, &bare, NULL, 0, "%s", why.p);
	} else {
		char *dir = path_dir(path);
		s.dir = dir;
		ld.stack[0].dev = st.st_dev;
		ld.stack[0].ino = st.st_ino;
		ld.depth = 1;
		ld.total = data.len;
		parse_text(&ld, &s, data.p, data.len);
		free(dir);
	}
	buf_free(&why);
	buf_free(&data);
	return load_finish(&ld, path, error_r);
}

void **conffile_defaults_multi(const struct conffile_schema *const *frags, size_t n)
{
	struct load ld;
	load_init(&ld, frags, n);
	for (size_t i = 0; i < ld.n_slots; i++)
		if (ld.slots[i].default_error != NULL)
			log_msg(LOG_WARNING, NULL, "%s: %s", ld.slots[i].o->name,
				ld.slots[i].default_error);
	load_free_slots(&ld);
	buf_free(&ld.error);
	return ld.objs;
}

void conffile_free_multi(const struct conffile_schema *const *frags, size_t n, void ***objs)
{
	if (*objs == NULL)
		return;
	for (size_t f = 0; f < n; f++) {
		conffile_drop(frags[f], (*objs)[f]);
		free((*objs)[f]);
	}
	free(*objs);
	*objs = NULL;
}

/* The single-schema forms: one fragment. */
static void *single(void **objs)
{
	if (objs == NULL)
		return NULL;
	void *obj = objs[0];
	free(objs);
	return obj;
}

void *conffile_parse(const struct conffile_schema *sc, const char *name, const char *text,
		     size_t len, char **error_r)
{
	return single(conffile_parse_multi(&sc, 1, name, text, len, error_r));
}

void *conffile_load(const struct conffile_schema *sc, const char *path, char **error_r)
{
	return single(conffile_load_multi(&sc, 1, path, error_r));
}

void *conffile_defaults(const struct conffile_schema *sc)
{
	return single(conffile_defaults_multi(&sc, 1));
}

void conffile_drop(const struct conffile_schema *sc, void *obj)
{
	if (obj == NULL)
		return;
	for (size_t i = 0; i < sc->n_options; i++)
		if (sc->options[i].type->drop != NULL)
			sc->options[i].type->drop((char *)obj + sc->options[i].offset);
}
