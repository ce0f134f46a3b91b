/*
 * The Public Suffix List and the Organizational Domain (see psl.h): a thin
 * layer over libpsl (the list, the lookups) and libidn2 (U-labels to
 * A-labels).  What stays ours is the interface's contract: which names are
 * usable, lower case, no trailing dot, the answer in the input's form.
 *
 * Lookups are made on the A-label form (libpsl stores U-label rules as
 * A-labels too), so the IDNA conversion is ours, with our flags, and the
 * answer is mapped back to the input by counting labels from the right.
 */
#include "psl.h"

#include <errno.h>
#include <idn2.h>
#include <libpsl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "file.h"
#include "xalloc.h"

/* bytes of a name before conversion: UTF-8 takes at most 4 a code point */
#define MAX_INPUT (PSL_MAX_DOMAIN * 4)

/* UTS #46 non-transitional (implies NFC): see psl_to_ascii() in psl.h */
#define IDN_FLAGS IDN2_NONTRANSITIONAL

struct psl {
	psl_ctx_t *ctx;
	size_t n_rules;		/* 0: not known (DAFSA) */
};

static char *error_text(const char *name, const char *fmt, ...) PRINTF(2, 3);
static char *error_text(const char *name, const char *fmt, ...)
{
	struct buf b;
	buf_init(&b, 1024);
	buf_printf(&b, "%s: ", name);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b);
}

/* libpsl has no limit of its own: a line is at most one rule (or a few,
   if it is long: see psl.h), so this bounds its memory */
static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;
	for (const char *end = s + len, *nl; s < end; s = nl + 1, n++)
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			return n + 1;
	return n;
}

struct psl *psl_parse(const char *name, const char *text, size_t len, char **error_r)
{
	if (len > PSL_MAX_FILE) {
		*error_r = error_text(name, "larger than %zu bytes", PSL_MAX_FILE);
		return NULL;
	}
	if (len == 0) {	/* libpsl refuses it without saying why */
		*error_r = error_text(name, "no rules in the list");
		return NULL;
	}
	if (count_lines(text, len) > PSL_MAX_LINES) {
		*error_r = error_text(name, "more than %d lines", PSL_MAX_LINES);
		return NULL;
	}
	/* fmemopen() wants a writable buffer even to read */
	char *copy = xmalloc(len + 1);
	memcpy(copy, text, len);
	FILE *f = fmemopen(copy, len, "r");
	if (f == NULL) {
		*error_r = error_text(name, "%s", strerror(errno));
		free(copy);
		return NULL;
	}
	psl_ctx_t *ctx = psl_load_fp(f);
	fclose(f);
	free(copy);
	if (ctx == NULL) {
		*error_r = error_text(name, "libpsl cannot load the public suffix list");
		return NULL;
	}
	/* -1 for a DAFSA, which does not say */
	int suffixes = psl_suffix_count(ctx), exceptions = psl_suffix_exception_count(ctx);
	if (suffixes == 0 && exceptions <= 0) {
		psl_free(ctx);
		*error_r = error_text(name, "no rules in the list");
		return NULL;
	}
	struct psl *p = xcalloc(1, sizeof(*p));
	p->ctx = ctx;
	if (suffixes > 0)
		p->n_rules = (size_t)suffixes + (size_t)(exceptions > 0 ? exceptions : 0);
	return p;
}

struct psl *psl_load(const char *path, char **error_r)
{
	struct buf text, err;
	buf_init(&text, PSL_MAX_FILE);
	buf_init(&err, 1024);
	struct psl *p = NULL;
	if (file_read_regular(path, PSL_MAX_FILE, &text, &err))
		p = psl_parse(path, text.p, text.len, error_r);
	else
		*error_r = buf_steal(&err);
	buf_free(&text);
	buf_free(&err);
	return p;
}

void psl_list_free(struct psl **pp)
{
	struct psl *p = *pp;
	if (p == NULL)
		return;
	psl_free(p->ctx);	/* libpsl's */
	free(p);
	*pp = NULL;
}

size_t psl_rule_count(const struct psl *p)
{
	return p->n_rules;
}

/* ---- A-labels ---- */

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* Appends one label [s, end) as an A-label; false if IDNA2008 refuses it. */
static bool label_to_ascii(const char *s, const char *end, struct buf *out)
{
	size_t len = (size_t)(end - s);
	if (is_ascii(s, len)) {
		for (size_t i = 0; i < len; i++)
			buf_putc(out, (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]));
		return true;
	}
	char label[MAX_INPUT + 1];
	memcpy(label, s, len);
	label[len] = '\0';
	uint8_t *alabel = NULL;
	if (idn2_lookup_u8((const uint8_t *)label, &alabel, IDN_FLAGS) != IDN2_OK)
		return false;
	buf_puts(out, (const char *)alabel);	/* already lower case */
	idn2_free(alabel);
	return true;
}

char *psl_to_ascii(struct arena *a, const char *domain)
{
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len > MAX_INPUT)
		return NULL;
	struct buf out;
	buf_init(&out, PSL_MAX_DOMAIN);
	const char *p = domain, *end = domain + len;
	bool ok = true;
	while (ok) {
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

/* ---- lookup ---- */

/*
 * Offsets where the labels of d start, rightmost first: starts[0] is the
 * last label.  Returns the number of labels, or 0 for a bad name (empty,
 * an empty label, more than PSL_MAX_LABELS).
 */
static size_t label_starts(const char *d, size_t len, size_t *starts)
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

static size_t count_labels(const char *s)
{
	size_t n = 1;
	for (; *s != '\0'; s++)
		n += *s == '.';
	return n;
}

char *psl_org_domain(const struct psl *p, struct arena *a, const char *domain)
{
	if (domain == NULL)
		return NULL;
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len > MAX_INPUT)
		return NULL;
	char *orig = arena_memdup(a, domain, len);
	for (char *q = orig; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	char *ascii = is_ascii(orig, len) ? orig : psl_to_ascii(a, orig);
	if (ascii == NULL || strlen(ascii) > PSL_MAX_DOMAIN)
		return NULL;
	size_t starts[PSL_MAX_LABELS], ostarts[PSL_MAX_LABELS];
	size_t n = label_starts(ascii, strlen(ascii), starts);
	/* UTS #46 maps "。" to a dot: such a name has no label-for-label answer */
	if (n == 0 || label_starts(orig, len, ostarts) != n)
		return NULL;
	/* RFC 7489 3.2: NULL when the name is itself a public suffix */
	const char *reg = psl_registrable_domain(p->ctx, ascii);
	if (reg == NULL)
		return NULL;
	return orig + ostarts[count_labels(reg) - 1];
}
