/*
 * The Public Suffix List (https://publicsuffix.org/list/), as Debian ships
 * it in /usr/share/publicsuffix/public_suffix_list.dat, and the
 * Organizational Domain of RFC 7489 3.2 computed from it.
 *
 * Rules are read as the list's format says: one rule per line (the first
 * word of it), "//" comments, "*." wildcards in the leftmost label, "!"
 * exceptions; the ICANN and the private sections both count (DMARC treats
 * two github.io sites as two organizations).  Rules written in U-labels are
 * stored as A-labels (Punycode, RFC 3492), so lookups match either form;
 * there is no Unicode case folding or normalisation (the list is already in
 * lower case NFC, and DMARC works on A-labels, RFC 7489 6.6.1).
 *
 * Limits: PSL_MAX_RULES rules, PSL_MAX_LINE bytes a line; going over either
 * is an error naming the file and line.  A loaded list is immutable and may
 * be shared by any number of threads.
 */
#ifndef CACHET_PSL_H
#define CACHET_PSL_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define PSL_MAX_RULES 200000
#define PSL_MAX_LINE 1024
#define PSL_MAX_DOMAIN 253	/* bytes of a domain looked up (A-label form) */
#define PSL_MAX_LABELS 127

struct psl;

/* Returns NULL and sets *error_r ("FILE: ..." or "FILE:LINE: ..."; free() it). */
struct psl *psl_load(const char *path, char **error_r);
/* Parses text as if it were the file `name` (tests, fuzzing). */
struct psl *psl_parse(const char *name, const char *text, size_t len, char **error_r);
/* Not psl_free(): libpsl exports that name, for its own context. */
void psl_list_free(struct psl **p);
size_t psl_rule_count(const struct psl *p);

/*
 * The Organizational Domain of `domain` (RFC 7489 3.2: the public suffix
 * plus one label), in lower case without a trailing dot, as an arena
 * string in the form the input used (A- or U-labels).  NULL when the domain
 * is itself a public suffix, or is not a usable name (empty, empty labels,
 * a leading dot, too long).
 */
char *psl_org_domain(const struct psl *p, struct arena *a, const char *domain);

/*
 * Converts a domain to A-labels (UTF-8 labels to "xn--" Punycode), lower
 * case ASCII, trailing dot removed.  Returns an arena string, or NULL if it
 * is not valid UTF-8 or grows beyond PSL_MAX_DOMAIN.
 */
char *psl_to_ascii(struct arena *a, const char *domain);

#endif
