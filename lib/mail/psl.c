/*
 * The Public Suffix List and the Organizational Domain (see psl.h).
 *
 * Rules live in one open-addressing hash table keyed by the rule's name
 * without its "*." or "!" (A-labels, lower case); each key carries flags
 * saying which kinds of rule name it.  A lookup walks the domain's
 * suffixes from the shortest up, so it costs one probe per label.
 */
#include "psl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"

#define RULE_NORMAL 0x1		/* "example.com" */
#define RULE_WILDCARD 0x2	/* "*.example.com": key "example.com" */
#define RULE_EXCEPTION 0x4	/* "!www.example.com" */

#define PSL_MAX_FILE ((size_t)64 << 20)

/* RFC 3492 5: Punycode parameters for IDNA */
#define PC_BASE 36u
#define PC_TMIN 1u
#define PC_TMAX 26u
#define PC_SKEW 38u
#define PC_DAMP 700u
#define PC_INITIAL_BIAS 72u
#define PC_INITIAL_N 128u
#define PC_MAX_CODEPOINTS 256

struct psl_entry {
	const char *key;	/* NULL: empty slot */
	unsigned flags;
};

struct psl {
	struct arena *arena;	/* the keys */
	struct psl_entry *table;
	size_t cap;		/* a power of two */
	size_t n_keys, n_rules;
};

static uint64_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037u;	/* FNV-1a */
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211u;
	}
	return h;
}

static struct psl_entry *slot_for(const struct psl *p, const char *key)
{
	size_t mask = p->cap - 1;
	for (size_t i = (size_t)hash_name(key) & mask;; i = (i + 1) & mask)
		if (p->table[i].key == NULL || strcmp(p->table[i].key, key) == 0)
			return &p->table[i];
}

static unsigned rule_flags(const struct psl *p, const char *key)
{
	const struct psl_entry *e = slot_for(p, key);
	return e->key != NULL ? e->flags : 0;
}

static void grow(struct psl *p)
{
	struct psl_entry *old = p->table;
	size_t old_cap = p->cap;
	p->cap = old_cap ? old_cap * 2 : 1024;
	p->table = xcalloc(p->cap, sizeof(*p->table));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key != NULL)
			*slot_for(p, old[i].key) = old[i];
	free(old);
}

static void add_rule(struct psl *p, const char *key, unsigned flag)
{
	if ((p->n_keys + 1) * 2 > p->cap)
		grow(p);
	struct psl_entry *e = slot_for(p, key);
	if (e->key == NULL) {
		e->key = arena_strdup(p->arena, key);
		p->n_keys++;
	}
	e->flags |= flag;
	p->n_rules++;
}

/* ---- Punycode (RFC 3492) ---- */

static char pc_digit(unsigned d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* RFC 3492 6.1 */
static unsigned pc_adapt(unsigned delta, unsigned numpoints, bool first)
{
	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / numpoints;
	unsigned k = 0;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

/* Appends the Punycode of cp[0..n) (RFC 3492 6.3); false on overflow. */
static bool pc_encode(const uint32_t *cp, size_t n, struct buf *out)
{
	unsigned h = 0;
	for (size_t i = 0; i < n; i++)
		if (cp[i] < 0x80) {
			buf_putc(out, (char)cp[i]);
			h++;
		}
	unsigned b = h;
	if (b > 0)
		buf_putc(out, '-');
	unsigned code = PC_INITIAL_N, delta = 0, bias = PC_INITIAL_BIAS;
	while (h < n) {
		uint32_t m = UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			if (cp[i] >= code && cp[i] < m)
				m = cp[i];
		if ((uint64_t)(m - code) * (h + 1) + delta > UINT32_MAX)
			return false;
		delta += (m - code) * (h + 1);
		code = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < code && ++delta == 0)
				return false;
			if (cp[i] != code)
				continue;
			unsigned q = delta;
			for (unsigned k = PC_BASE;; k += PC_BASE) {
				unsigned t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
				if (q < t)
					break;
				buf_putc(out, pc_digit(t + (q - t) % (PC_BASE - t)));
				q = (q - t) / (PC_BASE - t);
			}
			buf_putc(out, pc_digit(q));
			bias = pc_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		code++;
	}
	return !out->overflow;
}

/* Decodes one UTF-8 sequence at s (< end); returns its length or 0. */
static size_t utf8_decode(const unsigned char *s, const unsigned char *end, uint32_t *cp_r)
{
	unsigned char c = s[0];
	size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
		 : (c & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || (size_t)(end - s) < n)
		return 0;
	uint32_t cp = n == 1 ? c : c & (0x7Fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3Fu);
	}
	static const uint32_t min_for_len[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*cp_r = cp;
	return n;
}

/* Appends one label [s, end) as an A-label; false if it is not UTF-8. */
static bool label_to_ascii(const char *s, const char *end, struct buf *out)
{
	bool ascii = true;
	for (const char *q = s; q < end; q++)
		if ((unsigned char)*q >= 0x80)
			ascii = false;
	if (ascii) {
		for (const char *q = s; q < end; q++)
			buf_putc(out, (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q));
		return true;
	}
	uint32_t cp[PC_MAX_CODEPOINTS];
	size_t n = 0;
	const unsigned char *u = (const unsigned char *)s, *uend = (const unsigned char *)end;
	while (u < uend) {
		if (n == PC_MAX_CODEPOINTS)
			return false;
		size_t len = utf8_decode(u, uend, &cp[n]);
		if (len == 0)
			return false;
		if (cp[n] >= 'A' && cp[n] <= 'Z')
			cp[n] += 32;
		n++;
		u += len;
	}
	buf_puts(out, "xn--");
	return pc_encode(cp, n, out);
}

char *psl_to_ascii(struct arena *a, const char *domain)
{
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len > PSL_MAX_LINE)
		return NULL;
	struct buf out;
	buf_init(&out, PSL_MAX_DOMAIN);
	const char *p = domain, *end = domain + len;
	bool ok = true;
	while (ok && p <= end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		const char *lend = dot != NULL ? dot : end;
		ok = label_to_ascii(p, lend, &out);
		if (dot == NULL)
			break;
		buf_putc(&out, '.');
		p = dot + 1;
	}
	char *r = ok && !out.overflow ? arena_strdup(a, out.p) : NULL;
	buf_free(&out);
	return r;
}

/* ---- loading ---- */

static char *line_error(const char *name, size_t line, const char *what)
{
	struct buf b;
	buf_init(&b, 1024);
	buf_printf(&b, "%s:%zu: %s", name, line, what);
	return buf_steal(&b);
}

/* One rule (the first word of a line); NULL or a static error text. */
static const char *parse_rule(struct psl *p, struct arena *tmp, const char *word)
{
	unsigned flag = RULE_NORMAL;
	if (word[0] == '!') {
		flag = RULE_EXCEPTION;
		word++;
	} else if (word[0] == '*' && word[1] == '.') {
		flag = RULE_WILDCARD;
		word += 2;
	}
	/* the format has wildcards only leftmost; anything else is skipped */
	if (strchr(word, '*') != NULL)
		return NULL;
	if (word[0] == '\0' || word[0] == '.' || strstr(word, "..") != NULL ||
	    word[strlen(word) - 1] == '.')
		return "empty label in rule";
	char *key = psl_to_ascii(tmp, word);
	if (key == NULL)
		return "rule is not a valid UTF-8 domain name";
	if (p->n_rules == PSL_MAX_RULES)
		return "too many rules";
	add_rule(p, key, flag);
	return NULL;
}

struct psl *psl_parse(const char *name, const char *text, size_t len, char **error_r)
{
	struct psl *p = xcalloc(1, sizeof(*p));
	p->arena = arena_new();
	grow(p);
	struct arena *tmp = arena_new();
	size_t lineno = 0;
	const char *s = text, *end = text + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *lend = nl != NULL ? nl : end;
		lineno++;
		if ((size_t)(lend - s) > PSL_MAX_LINE) {
			*error_r = line_error(name, lineno, "line too long");
			goto fail;
		}
		size_t wlen = 0;
		while (s + wlen < lend && s[wlen] != ' ' && s[wlen] != '\t' && s[wlen] != '\r' &&
		       s[wlen] != '\0')
			wlen++;
		if (wlen > 0 && !(wlen >= 2 && s[0] == '/' && s[1] == '/')) {
			char word[PSL_MAX_LINE + 1];
			memcpy(word, s, wlen);
			word[wlen] = '\0';
			const char *e = parse_rule(p, tmp, word);
			if (e != NULL) {
				*error_r = line_error(name, lineno, e);
				goto fail;
			}
		}
		s = nl != NULL ? nl + 1 : end;
	}
	arena_free(&tmp);
	if (p->n_rules == 0) {
		*error_r = line_error(name, lineno, "no rules in the list");
		psl_list_free(&p);
	}
	return p;
fail:
	arena_free(&tmp);
	psl_list_free(&p);
	return NULL;
}

struct psl *psl_load(const char *path, char **error_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		struct buf b;
		buf_init(&b, 1024);
		buf_printf(&b, "%s: cannot open the public suffix list: %s", path, strerror(errno));
		*error_r = buf_steal(&b);
		return NULL;
	}
	struct buf text;
	buf_init(&text, PSL_MAX_FILE);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && buf_append(&text, chunk, n))
		;
	bool failed = ferror(f) != 0;
	fclose(f);
	struct psl *p = NULL;
	if (failed || text.overflow) {
		struct buf b;
		buf_init(&b, 1024);
		buf_printf(&b, "%s: %s", path, failed ? "read error" : "file too large");
		*error_r = buf_steal(&b);
	} else {
		p = psl_parse(path, text.p, text.len, error_r);
	}
	buf_free(&text);
	return p;
}

void psl_list_free(struct psl **pp)
{
	struct psl *p = *pp;
	if (p == NULL)
		return;
	arena_free(&p->arena);
	free(p->table);
	free(p);
	*pp = NULL;
}

size_t psl_rule_count(const struct psl *p)
{
	return p->n_rules;
}

/* ---- lookup ---- */

/*
 * Offsets where each suffix of d starts, shortest first: starts[0] is the
 * last label.  Returns the number of labels, or 0 for a bad name.
 */
static size_t suffix_starts(const char *d, size_t len, size_t *starts)
{
	if (len == 0 || d[0] == '.')
		return 0;
	size_t n = 0;
	size_t label_end = len;
	for (size_t i = len; i > 0; i--) {
		if (d[i - 1] != '.')
			continue;
		if (i == label_end || n == PSL_MAX_LABELS)	/* empty label */
			return 0;
		starts[n++] = i;
		label_end = i - 1;
	}
	if (n == PSL_MAX_LABELS)
		return 0;
	starts[n++] = 0;
	return n;
}

/* Labels of the public suffix of the A-label name d (RFC 7489 3.2 step 3). */
static size_t public_suffix_labels(const struct psl *p, const char *d, const size_t *starts,
				   size_t n)
{
	size_t best = 1;	/* the implicit "*" rule */
	for (size_t k = 1; k <= n; k++) {
		unsigned f = rule_flags(p, d + starts[k - 1]);
		/* an exception prevails over every other match (it is the
		   most specific thing the list says about this name) */
		if (f & RULE_EXCEPTION)
			return k - 1;
		if ((f & RULE_NORMAL) && k > best)
			best = k;
		if ((f & RULE_WILDCARD) && k + 1 > best)
			best = k + 1;
	}
	return best;
}

char *psl_org_domain(const struct psl *p, struct arena *a, const char *domain)
{
	if (domain == NULL)
		return NULL;
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len > PSL_MAX_LINE)
		return NULL;
	char *orig = arena_memdup(a, domain, len);
	for (char *q = orig; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	char *ascii = psl_to_ascii(a, orig);
	if (ascii == NULL)
		return NULL;
	size_t starts[PSL_MAX_LABELS], ostarts[PSL_MAX_LABELS];
	size_t n = suffix_starts(ascii, strlen(ascii), starts);
	if (n == 0 || suffix_starts(orig, len, ostarts) != n)
		return NULL;
	size_t ps = public_suffix_labels(p, ascii, starts, n);
	if (ps >= n)
		return NULL;
	return orig + ostarts[ps];
}
