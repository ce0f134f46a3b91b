/*
 * The Public Suffix List (https://publicsuffix.org/list/), as Debian ships
 * it in /usr/share/publicsuffix/public_suffix_list.dat, and the
 * Organizational Domain of RFC 7489 3.2 computed from it.  libpsl reads
 * the list and answers the lookups; libidn2 converts U-labels to A-labels.
 *
 * The list is the file the configuration names (never libpsl's built-in
 * copy), in the publicsuffix.org text format or libpsl's binary DAFSA form
 * (Debian ships public_suffix_list.dafsa beside the text).  The ICANN and
 * the private sections both count (DMARC treats two github.io sites as two
 * organizations); wildcard ("*.ck") and exception ("!www.ck") rules apply;
 * a TLD the list does not name is a public suffix (the implicit "*" rule).
 *
 * Load errors: a file that cannot be opened or read, is not a regular file,
 * has more than PSL_MAX_FILE bytes or PSL_MAX_LINES lines, or holds no
 * rule at all is an error naming it (and no line: libpsl does not count
 * them).  libpsl accepts everything else without a word: a rule with empty
 * labels, bytes that are not UTF-8 or upper case letters is kept as
 * written (and so matches nothing), a "*" that is not the leftmost label
 * is ignored, and a line longer than libpsl's line buffer (about 250
 * bytes; the real list's longest is under 150) is cut into several rules.
 *
 * Limits: libpsl keeps about 170 bytes a rule (1.7 MiB for Debian 12's
 * list: 9,506 rules, 14,238 lines, 246 kB), so PSL_MAX_FILE and
 * PSL_MAX_LINES (14 times today's list) bound a list to about 35 MiB.  A
 * lookup takes about 0.3 us for an A-label name, 2 us with U-labels (the
 * IDNA mapping); loading takes 5 to 10 ms.
 *
 * A loaded list is immutable and may be shared by any number of threads
 * (libpsl's lookups are thread-safe).
 */
#ifndef CACHET_PSL_H
#define CACHET_PSL_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define PSL_MAX_FILE ((size_t)4 << 20)	/* bytes of a list file */
#define PSL_MAX_LINES 200000
#define PSL_MAX_DOMAIN 253	/* bytes of a domain looked up (A-label form) */
#define PSL_MAX_LABELS 127

struct psl;

/* Returns NULL and sets *error_r ("FILE: ..."; free() it). */
struct psl *psl_load(const char *path, char **error_r);
/* Parses text as if it were the file `name` (tests, fuzzing). */
struct psl *psl_parse(const char *name, const char *text, size_t len, char **error_r);
/* Not psl_free(): libpsl exports that name, for its own context. */
void psl_list_free(struct psl **p);
/* Rules of a text list (exceptions and wildcards included); 0 for a DAFSA. */
size_t psl_rule_count(const struct psl *p);

/*
 * The Organizational Domain of `domain` (RFC 7489 3.2: the public suffix
 * plus one label), in lower case without a trailing dot, as an arena
 * string in the form the input used (A- or U-labels).  NULL when the domain
 * is itself a public suffix, or is not a usable name (empty, empty labels,
 * a leading dot, too long, U-labels psl_to_ascii() refuses or splits, as it
 * does "。").
 */
char *psl_org_domain(const struct psl *p, struct arena *a, const char *domain);

/*
 * Converts a domain to A-labels, lower case ASCII, trailing dot removed.
 * ASCII labels are only lowered (they are DNS names, not IDNA's business:
 * "r3---sn-x.googlevideo.com" must pass); labels with UTF-8 go through
 * IDNA2008 (RFC 5891) after UTS #46 non-transitional mapping (case, width,
 * "。" to ".", NFC), as Postfix >= 3.2 does by default
 * (enable_idna2003_compatibility = no): "faß.de" is xn--fa-hia.de, not
 * fass.de.  Returns an arena string, or NULL if it is not valid UTF-8, not
 * valid IDNA2008 (a DISALLOWED code point such as an emoji, a joiner out
 * of context, a label over 63 bytes) or grows beyond PSL_MAX_DOMAIN.
 */
char *psl_to_ascii(struct arena *a, const char *domain);

#endif
