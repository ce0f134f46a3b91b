/*
 * Addresses: RFC 5322 address lists (From:, To:, Sender:, ...) and RFC 5321
 * envelope paths (MAIL FROM / RCPT TO), plus domain normalisation.
 *
 * The header parser follows RFC 5322 3.4 with the obsolete forms of 4.4 that
 * real mail still carries: display names as phrases or quoted strings,
 * comments anywhere CFWS is allowed (nested, with quoted-pairs), groups
 * ("undisclosed-recipients:;", "team: a@x, b@y;"), angle addresses, route
 * syntax ("<@relay:user@dom>"), and domain literals.  Input is the unfolded
 * field value.  Anything it cannot parse is an error with a reason, never a
 * guess: DMARC depends on there being exactly one author domain.
 */
#ifndef CACHET_ADDR_H
#define CACHET_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* Hard limits: addresses in one list, bytes of one local part/domain. */
#define ADDR_MAX_LIST 1000
#define ADDR_MAX_LOCAL 256
#define ADDR_MAX_DOMAIN 255

struct addr {
	char *display;	/* decoded display name, or NULL */
	char *local;	/* local part as written minus quoting, "" for <> */
	char *domain;	/* lower-cased, no trailing dot, or "" when none */
	char *group;	/* name of the group it appeared in, or NULL */
};

struct addr_list {
	struct addr *v;
	size_t n;		/* addresses (members of groups included) */
	size_t cap;
	size_t groups;		/* groups seen, even empty ones */
};

/*
 * Parses an address list.  Returns 0, or -1 with *error_r set to static
 * text ("unterminated quoted string", "too many addresses", ...).  All
 * memory comes from the arena.
 */
int addr_list_parse(struct arena *a, const char *s, size_t len, struct addr_list *out,
		    const char **error_r);

/*
 * Parses an SMTP path as a milter sees it: "<user@example.com>",
 * "user@example.com", "<>" (null sender: local and domain ""), with ESMTP
 * parameters after the path ignored.  Returns 0 or -1 with *error_r.
 */
int addr_parse_path(struct arena *a, const char *s, struct addr *out, const char **error_r);

/*
 * Normalises a domain for comparison: lower-case ASCII, no trailing dot.
 * Returns an arena string, or NULL if it is not a syntactically valid
 * domain name (labels of 1..63 letters, digits, hyphens or underscores,
 * total <= 253; U-labels are refused, A-labels accepted).
 */
char *addr_domain_normalize(struct arena *a, const char *d, size_t len);

#endif
