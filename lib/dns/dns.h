/*
 * The DNS layer: asynchronous TXT/A/AAAA/MX/PTR lookups for every check.
 *
 * Two back ends behind one interface:
 *  - libunbound (the system resolver's servers from /etc/resolv.conf by
 *    default, or forwarding to `Nameservers`), with an in-process answer
 *    cache in front of it (dns_cache.h) so repeated lookups do not pay for
 *    the trip through the resolver's thread;
 *  - a test zone (TestDNSData, see zone.h) answering every lookup from a
 *    zone file in memory, unknown names NXDOMAIN, so tests never need the
 *    internet.
 *
 * A lookup is started with dns_lookup_start() and collected with
 * dns_lookup_wait(); several can be in flight at once from any thread, so a
 * message waits for its slowest lookup, not the sum.  Every lookup has a
 * deadline (DNSTimeout, default 5 s: well under Postfix's 30 s
 * milter_command_timeout); one that misses it is DNS_TIMEOUT.
 *
 * Outcomes are kept apart because the RFCs treat them differently: a
 * temporary failure (SERVFAIL, timeout) must never be reported as "none".
 */
#ifndef CACHET_DNS_H
#define CACHET_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_type {
	DNS_T_A = 1,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_status {
	DNS_OK,		/* at least one record of the type asked for */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NODATA,	/* the name exists, no record of that type */
	DNS_SERVFAIL,	/* the server failed or refused: temporary */
	DNS_TIMEOUT,	/* no answer before the deadline: temporary */
	DNS_ERROR,	/* local failure (bad name, resolver error): temporary */
};

struct dns_rr {
	union {
		struct in_addr a;
		struct in6_addr aaaa;
		struct {
			uint16_t preference;
			char *exchange;	/* no trailing dot; "" for the null MX */
		} mx;
		char *ptr;		/* no trailing dot */
		struct {
			/*
			 * The character-strings of one TXT record concatenated
			 * (RFC 7208 3.3, RFC 6376 3.6.2.2), NUL-terminated;
			 * len counts bytes, which may include NULs.
			 */
			char *data;
			size_t len;
		} txt;
	} u;
};

struct dns_answer {
	enum dns_status status;
	enum dns_type type;
	size_t count;		/* records in rr[] (0 unless DNS_OK) */
	struct dns_rr *rr;
	uint32_t ttl;		/* smallest TTL of the answer */
	bool secure;		/* DNSSEC-validated (libunbound with a trust anchor) */
	const char *why;	/* text for logs on failure (static), or NULL */
};

struct dns_options {
	const char *const *nameservers;	/* "IP" or "IP@PORT"; NULL-terminated; NULL = system */
	const char *test_zone;		/* path of a zone file, or NULL */
	const char *test_zone_origin;	/* its names relative to this, or NULL (zone_load_at) */
	unsigned timeout_ms;		/* 0 = default 5000 */
};

struct dns;
struct dns_lookup;

/*
 * Creates a resolver (and the thread that drives libunbound).  Returns NULL
 * and sets *error_r (free() it) if the options are bad or the zone file does
 * not load; zone errors name the file and the line.
 */
struct dns *dns_new(const struct dns_options *opts, char **error_r);
/* Cancels lookups still in flight; none may be waited for afterwards. */
void dns_free(struct dns **d);

/*
 * Starts a lookup; never blocks, never fails (a bad name gives an answer
 * with DNS_ERROR when collected).  The name may end with a dot or not.
 * Free with dns_lookup_free(), whether or not it was waited for.
 */
struct dns_lookup *dns_lookup_start(struct dns *d, const char *name, enum dns_type type);
/*
 * The same when the answer is there at once (the cache, the test zone, a
 * name or type refused); NULL, and nothing started, when it would take a
 * server's answer.  For work that runs only when it cannot block.
 */
struct dns_lookup *dns_lookup_cached(struct dns *d, const char *name, enum dns_type type);
/*
 * Waits until the answer is there or the lookup's deadline passes.  The
 * answer belongs to the lookup and lives until dns_lookup_free().
 */
const struct dns_answer *dns_lookup_wait(struct dns_lookup *l);
/* Has the answer arrived (or the deadline passed)?  Never blocks. */
bool dns_lookup_done(struct dns_lookup *l);
void dns_lookup_free(struct dns_lookup **l);

/* Start + wait + copy, for callers that need one answer now. */
const struct dns_answer *dns_lookup_sync(struct dns *d, const char *name,
					 enum dns_type type, struct dns_lookup **l_r);

const char *dns_status_name(enum dns_status s); /* "ok", "nxdomain", ... */
const char *dns_type_name(enum dns_type t);	 /* "TXT", ... */
/* Is it a temporary failure (SERVFAIL, timeout, local error)? */
bool dns_status_temporary(enum dns_status s);

#endif
