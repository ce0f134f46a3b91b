/*
 * One SPF evaluation (RFC 7208 check_host()), ours from the record's ABNF
 * to the result, its DNS through our own layer: lib/dns (so TestDNSData,
 * the cache and DNSTimeout apply) or, for the fuzz target, a zone in
 * memory.
 *
 * Every record is parsed against the ABNF of RFC 7208 section 12 and its
 * MUSTs first (any syntax error is permerror, 4.6; spf_record.c), then its
 * terms are evaluated in order, each macro expanded when its term is.
 * Around it: at most SPF_MAX_DNS_TERMS DNS-querying terms for the whole
 * evaluation including nested includes, at most SPF_MAX_VOID_LOOKUPS void
 * lookups (4.6.4), a wall-clock deadline, a size cap on records, and our
 * own limits on term arguments (see spf_dns.c).
 *
 * Synchronous, and sharing nothing between calls: the SPF check runs it
 * in the milter's thread when every answer is cached, else on a pool of
 * worker threads (spf_pool.c).
 */
#ifndef CACHET_SPF_DNS_H
#define CACHET_SPF_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "dns.h"
#include "zone.h"

/* RFC 7208 4.6.4: DNS-querying terms (include a mx ptr exists redirect). */
#define SPF_MAX_DNS_TERMS 10
/* RFC 7208 4.6.4: lookups answering NXDOMAIN or no records. */
#define SPF_MAX_VOID_LOOKUPS 2
/* An SPF record longer than this is a permerror (our limit). */
#define SPF_MAX_RECORD_LEN 2048
/* One term's argument (domain-spec) and the macros in it (our limits). */
#define SPF_MAX_TERM_ARG_LEN 128
#define SPF_MAX_TERM_MACROS 8
/* Terms in one record (our limit). */
#define SPF_MAX_TERMS 64
/* An explanation (exp= TXT) longer than this is ignored (our limit). */
#define SPF_MAX_EXP_LEN 256
/* A local-part longer than this is not printed in smtp.mailfrom (RFC 5321 4.5.3.1.1). */
#define SPF_MAX_LOCAL_LEN 64
/* RFC 7208 4.6.4: names of one MX answer (more is permerror) and of one
 * PTR answer (the rest are ignored). */
#define SPF_MAX_MX_NAMES 10
#define SPF_MAX_PTR_NAMES 10

enum spf_res {
	SPF_RES_NONE,
	SPF_RES_NEUTRAL,
	SPF_RES_PASS,
	SPF_RES_FAIL,
	SPF_RES_SOFTFAIL,
	SPF_RES_TEMPERROR,
	SPF_RES_PERMERROR,
};

/* Where the answers come from: dns when non-NULL, else zone. */
struct spf_backend {
	struct dns *dns;
	const struct zone *zone;
};

/* What is evaluated. */
struct spf_query {
	const char *ip;		/* client IP, text */
	const char *helo;	/* HELO/EHLO name when it is a domain name, or NULL */
	/*
	 * The HELO/EHLO argument as the client sent it, whatever it is, for
	 * %{h} (RFC 7208 7.3); NULL: helo, or "unknown" when there is none.
	 */
	const char *helo_text;
	/*
	 * The sender "local@domain" for the MAIL FROM identity (local-part
	 * without its SMTP quoting, anything but NUL; after the last "@" the
	 * domain), or NULL to evaluate the HELO identity (sender
	 * postmaster@helo, RFC 7208 2.3; the null sender's too, 2.4).
	 */
	const char *sender;
	const char *receiver;	/* our name, for %{r} and the comment */
	uint64_t deadline_ms;	/* on spf_clock_ms()'s clock */
	const int *cancel;	/* non-zero (read atomically) stops it; or NULL */
	/*
	 * Only answers there at once (lib/dns's cache, the test zone): the
	 * first lookup that would wait for a server stops the evaluation,
	 * which is then incomplete, its result meaningless.
	 */
	bool cached_only;
	/*
	 * Also say why (spf_outcome.explain): which record, which term
	 * decided or broke it.  For `cachet check`; the milter leaves it off.
	 */
	bool explain;
};

/* ---- why: the reasons for a person (cachet check) ---- */

/* Records an explanation follows down includes and redirects. */
#define SPF_EXPLAIN_MAX_STEPS 12

/* What decided the result. */
enum spf_decided {
	SPF_DECIDED_IDENTITY,	/* none without a lookup: no usable domain or client address */
	SPF_DECIDED_NO_RECORD,	/* none: no SPF record at the domain */
	SPF_DECIDED_TERM,	/* a mechanism matched: its qualifier is the result */
	SPF_DECIDED_DEFAULT,	/* no mechanism matched, no redirect=: neutral (RFC 7208 4.7) */
	SPF_DECIDED_ERROR,	/* permerror or temperror: why, at the term being evaluated */
};

/*
 * One record on the way to what decided: the identity's own first, then
 * the target of the include or redirect term it names, and so on.
 */
struct spf_explain_step {
	char *domain;	/* whose record */
	char *record;	/* the record as published, or NULL (none there, or not read) */
	/*
	 * The term of this record that leads on (include:, redirect=), that
	 * matched, or that broke it (a syntax error: the term the parser
	 * refused), as written; NULL for none (the record as a whole).
	 */
	char *term;
};

/*
 * Why an evaluation came out as it did: the records from the identity's
 * down to where it was decided, as the evaluation walked them (the first
 * term that matched, RFC 7208 4.6.2; the end of a record without one; or
 * the error that stopped it).
 */
struct spf_explain {
	enum spf_decided decided;
	struct spf_explain_step step[SPF_EXPLAIN_MAX_STEPS];
	size_t n_steps;		/* 0 only for IDENTITY */
	char *why;		/* ERROR, NO_RECORD, IDENTITY: in words (the comment's); else NULL */
};

struct spf_outcome {
	enum spf_res result;
	char *comment;		/* human-readable, for the AR comment (free()) */
	char *explanation;	/* the domain's exp= text on fail, or NULL (free()) */
	unsigned dns_terms;	/* DNS-querying terms evaluated */
	unsigned void_lookups;
	bool incomplete;	/* cached_only, and an answer was not there */
	struct spf_explain *explain;	/* q->explain: why (freed with the outcome); else NULL */
};

/* Evaluates q; always fills *out (release with spf_outcome_clear()). */
void spf_dns_evaluate(const struct spf_backend *be, const struct spf_query *q,
		      struct spf_outcome *out);
void spf_outcome_clear(struct spf_outcome *out);

/* A copy of x in the arena (the SPF check's typed result), or NULL for NULL. */
const struct spf_explain *spf_explain_copy(struct arena *a, const struct spf_explain *x);
/* "term", "no record", ... (the JSON words of enum spf_decided). */
const char *spf_decided_name(enum spf_decided d);

/* "pass", "fail", ... (RFC 8601 / RFC 7208 words). */
const char *spf_res_name(enum spf_res r);

/* Monotonic milliseconds. */
uint64_t spf_clock_ms(void);

/*
 * Checks an SPF record ("v=spf1 ...") the way this layer does before
 * anything evaluates it: the ABNF of RFC 7208 section 12 and the MUSTs of
 * sections 4.6, 5, 6 and 7 (printable ASCII terms separated by spaces,
 * known mechanisms with their arguments, domain-specs that end in a
 * toplabel or a macro, CIDR lengths, at most one redirect= and one exp=,
 * unknown modifiers with a valid name and macro-string, macro syntax), and
 * our limits: at most SPF_MAX_RECORD_LEN bytes, SPF_MAX_TERMS terms, term
 * arguments within SPF_MAX_TERM_ARG_LEN and SPF_MAX_TERM_MACROS.  Returns
 * NULL if it may go on, else why not (static text): permerror.
 */
const char *spf_dns_record_check(const char *txt, size_t len);

/* The terms of a record, for tools that look inside one (cachet doctor). */
enum spf_term_type {
	SPF_TERM_ALL,
	SPF_TERM_INCLUDE,
	SPF_TERM_A,
	SPF_TERM_MX,
	SPF_TERM_PTR,
	SPF_TERM_IP4,
	SPF_TERM_IP6,
	SPF_TERM_EXISTS,
	SPF_TERM_REDIRECT,	/* the modifier */
	SPF_TERM_EXP,		/* the modifier */
};

struct spf_term {
	enum spf_term_type type;
	char qualifier;		/* '+', '-', '~' or '?' ('+' for the modifiers) */
	struct slice spec;	/* the domain-spec as written; p == NULL when absent */
	struct slice net;	/* ip4/ip6: the network without its CIDR length */
	int cidr4, cidr6;	/* -1 when absent */
};

/* Mechanisms and modifiers of one record at most. */
#define SPF_MAX_RECORD_TERMS (SPF_MAX_TERMS + 2)

/*
 * spf_dns_record_check() that also hands back the record's terms: the
 * mechanisms in their order, then redirect= and exp= when present
 * (unknown modifiers are left out).  terms has room for
 * SPF_MAX_RECORD_TERMS; *n_r is how many were filled.  Slices point into
 * txt.  Returns NULL, or why the record is a permerror (then *n_r is 0).
 */
const char *spf_dns_record_terms(const char *txt, size_t len, struct spf_term *terms,
				 size_t *n_r);

/*
 * Is the local-part a plain dot-atom (RFC 5322 atext and single dots, at
 * most SPF_MAX_LOCAL_LEN bytes), so "local@domain" can be printed as it is
 * in smtp.mailfrom (RFC 8601 2.7.2)?  It decides nothing about evaluation:
 * every local-part is evaluated.
 */
bool spf_dns_local_ok(const char *local);

#endif
