/*
 * DMARC policy discovery and Organizational Domains, for one message, by
 * either method an aggregate report can name (RFC 9990 discovery_method):
 *
 *  - "treewalk" (RFC 9989 4.10, the default): TXT lookups at _dmarc.D for
 *    the author domain and its parents, at most DMARC_WALK_MAX_QUERIES
 *    names per walk (a long name is shortened to 7 labels after its own
 *    lookup, RFC 9989 4.10 step 4), stopping at a record with psd=y or
 *    psd=n; the Organizational Domain is chosen among the records found
 *    (psd=n, one below a psd=y, else the shortest name: RFC 9989 4.10.2).
 *  - "psl" (RFC 7489 6.6.3, kept for comparison and for sites that need
 *    its answers): _dmarc at the author domain, then at its Organizational
 *    Domain from the Public Suffix List.
 *
 * Every lookup of a message goes through one table keyed by name, so the
 * walks for the author domain and for the SPF and DKIM domains (relaxed
 * alignment) never ask twice; the author domain's are started as soon as
 * From: arrives (dmarc_walk_prefetch), the others when alignment needs
 * them.  At a name, TXT records that do not start with v=DMARC1 are
 * discarded and several DMARC records count as none (RFC 9989 4.10 step 2).
 * Everything lives in the message arena; dmarc_walk_free() releases the
 * DNS lookups on every path.
 */
#ifndef CACHET_DMARC_WALK_H
#define CACHET_DMARC_WALK_H

#include <stdbool.h>

#include "arena.h"
#include "dmarc_record.h"
#include "dns.h"
#include "psl.h"

/* RFC 9989 4.10: a walk queries at most 8 names */
#define DMARC_WALK_MAX_QUERIES 8
/* lookups one message may start, over every walk and the np= check */
#define DMARC_WALK_MAX_LOOKUPS 48

enum dmarc_discovery {
	DMARC_DISCOVERY_TREEWALK,
	DMARC_DISCOVERY_PSL,
};

enum dmarc_policy_status {
	DMARC_DISC_FOUND,
	DMARC_DISC_NONE,		/* no record applies: DMARC does not apply */
	DMARC_DISC_MALFORMED,		/* the record that applies does not parse */
	DMARC_DISC_TEMPERROR,		/* a lookup that decides it failed temporarily */
};

/* The DMARC Policy Record that applies to an author domain. */
struct dmarc_policy {
	enum dmarc_policy_status status;
	const char *domain;	/* where the record was found (FOUND, MALFORMED) */
	const char *org_domain;	/* the author domain's Organizational Domain, when known */
	bool at_author;		/* the author domain's own record: p= applies */
	struct dmarc_record rec;	/* FOUND */
	const char *why;	/* for the others, in words */
};

struct dmarc_walk;

struct dmarc_walk *dmarc_walk_new(struct arena *a, struct dns *dns, enum dmarc_discovery how,
				  const struct psl *psl);
/* Starts the lookups that discovery for `author` (A-labels, lower case) needs. */
void dmarc_walk_prefetch(struct dmarc_walk *w, const char *author);
/* Finds the policy of `author`, waiting for the lookups it needs. */
void dmarc_walk_discover(struct dmarc_walk *w, const char *author, struct dmarc_policy *out);
/*
 * The Organizational Domain of `domain` (RFC 9989 4.10.2, or the PSL's),
 * waiting for the lookups it needs.  NULL with *temp_r set when a lookup
 * that decides it failed temporarily.
 */
const char *dmarc_walk_org_domain(struct dmarc_walk *w, const char *domain, bool *temp_r);
/*
 * Does `domain` exist (RFC 9989 3.2.13: not NXDOMAIN, RFC 8020)?  1 yes,
 * 0 no, -1 could not tell (a temporary failure).  For np=.
 */
int dmarc_walk_exists(struct dmarc_walk *w, const char *domain);
/* Releases every lookup still in flight. */
void dmarc_walk_free(struct dmarc_walk *w);

/* A name discovery read, and what it held (cachet check). */
struct dmarc_seen {
	const char *domain;	/* the name is _dmarc.DOMAIN */
	bool asked;		/* false: not looked up (over the limit, or too long a name) */
	enum dns_status status;	/* when asked */
	const char **txt;	/* the TXT records there, as published */
	size_t n_txt;
};

#define DMARC_SEEN_MAX (DMARC_WALK_MAX_QUERIES + 1)

/*
 * The names discovery for `author` read, in its order, with what each held:
 * for the tree walk, the author domain and its parents up to the first one
 * that stopped it (the author's own record, or a record with psd=y or
 * psd=n); for the PSL, the author domain and its Organizational Domain.
 * Only answers already there are read (after dmarc_walk_discover); nothing
 * is looked up.  Fills out (DMARC_SEEN_MAX at most), arena memory; returns
 * how many.
 */
size_t dmarc_walk_seen(struct dmarc_walk *w, const char *author, struct dmarc_seen *out);

const char *dmarc_discovery_name(enum dmarc_discovery d);	/* "treewalk", "psl" */

/*
 * The names a walk from `start` queries, longest first: start itself, then
 * (after shortening a name of more than 8 labels to 7) each parent down to
 * the last label.  Fills out[] and returns how many: at most
 * DMARC_WALK_MAX_QUERIES.  Pointers into start.
 */
size_t dmarc_walk_targets(const char *start, const char **out);

/* Is `sub` equal to `domain` or one of its subdomains? */
bool dmarc_domain_under(const char *sub, const char *domain);

#endif
