/*
 * One SPF evaluation (RFC 7208 check_host()) by libspf2, with every DNS
 * lookup it makes going through our own layer: lib/dns (so TestDNSData, the
 * cache and DNSTimeout apply) or, for the fuzz target, a zone in memory.
 *
 * libspf2 evaluates; this layer guards it.  It enforces what libspf2 does
 * not: at most SPF_MAX_DNS_TERMS DNS-querying terms for the whole
 * evaluation including nested includes and at most SPF_MAX_VOID_LOOKUPS
 * void lookups (RFC 7208 4.6.4), a wall-clock deadline, a size cap on SPF
 * records, and a check of every record's macros and term lengths before
 * libspf2 compiles it (libspf2 1.2.10 underflows its buffer arithmetic on
 * long macro domain-specs, CVE-2023-42118; see spf_dns.c).  The inputs
 * (client IP, HELO name, sender) are validated here too, so libspf2 never
 * sees anything it was not written for.
 *
 * Synchronous: the SPF check runs it in a worker thread (spf.c).  Each call
 * builds its own libspf2 server object, so calls in different threads share
 * nothing but libspf2's global log hooks (set once).
 */
#ifndef CACHET_SPF_DNS_H
#define CACHET_SPF_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* The sender's local-part (RFC 5321 4.5.3.1.1). */
#define SPF_MAX_LOCAL_LEN 64

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
	const char *helo;	/* HELO/EHLO name, or NULL */
	/*
	 * The sender "local@domain" for the MAIL FROM identity, or NULL to
	 * evaluate the HELO identity (sender postmaster@helo, RFC 7208 2.3).
	 */
	const char *sender;
	const char *receiver;	/* our name, for %{r} and the comment */
	uint64_t deadline_ms;	/* on spf_clock_ms()'s clock */
	const int *cancel;	/* non-zero (read atomically) stops it; or NULL */
};

struct spf_outcome {
	enum spf_res result;
	char *comment;		/* human-readable, for the AR comment (free()) */
	char *explanation;	/* the domain's exp= text on fail, or NULL (free()) */
	unsigned dns_terms;	/* DNS-querying terms evaluated */
	unsigned void_lookups;
};

/* Evaluates q; always fills *out (release with spf_outcome_clear()). */
void spf_dns_evaluate(const struct spf_backend *be, const struct spf_query *q,
		      struct spf_outcome *out);
void spf_outcome_clear(struct spf_outcome *out);

/* "pass", "fail", ... (RFC 8601 / RFC 7208 words). */
const char *spf_res_name(enum spf_res r);

/* Monotonic milliseconds. */
uint64_t spf_clock_ms(void);

/*
 * Checks an SPF record the way this layer does before handing it to
 * libspf2: printable ASCII, at most SPF_MAX_RECORD_LEN bytes and
 * SPF_MAX_TERMS terms, RFC 7208 7.1 macro syntax, term arguments within
 * SPF_MAX_TERM_ARG_LEN and SPF_MAX_TERM_MACROS.  Returns NULL if it may go
 * on, else why not (static text).
 */
const char *spf_dns_record_check(const char *txt, size_t len);

/* Is it a sender local-part we evaluate (dot-atom text, <= 64 bytes)? */
bool spf_dns_local_ok(const char *local);

#endif
