/*
 * Zone files in RFC 1035 master format (section 5), as used by TestDNSData
 * and `cachet check --dns-zone`: $ORIGIN, $TTL, $INCLUDE is refused,
 * relative and absolute owner names, "@", a blank owner repeating the last
 * one, optional TTL and class (IN) in either order, parentheses spanning
 * lines, ";" comments, quoted and unquoted character-strings with \X and
 * \DDD escapes.  Unlike a real zone, no SOA is required and names of several
 * domains may be mixed in one file.  Types understood: A, AAAA, TXT, SPF
 * (stored as TXT), MX, PTR, CNAME, NS and SOA (accepted and ignored for
 * lookups except that they make a name exist).  Anything else is an error
 * naming the file and the line.
 *
 * Lookups are exact and case-insensitive; a name with records of other types
 * only is NODATA, an unknown name NXDOMAIN.  CNAMEs are followed (at most 8)
 * inside the zone.  A TXT value that is the single word SERVFAIL or TIMEOUT
 * is not data: it makes lookups of that name and type fail that way, so tests
 * can reach the temporary-failure paths:
 *
 *	broken.example.  TXT  SERVFAIL
 */
#ifndef CACHET_ZONE_H
#define CACHET_ZONE_H

#include <stddef.h>

#include "dns.h"

#define ZONE_MAX_RECORDS 100000
#define ZONE_MAX_CNAME_CHAIN 8

struct zone;

/* Returns NULL and sets *error_r ("FILE:LINE: message"; free() it). */
struct zone *zone_load(const char *path, char **error_r);
/* Parses text as if it were the file `name` (tests, fuzzing). */
struct zone *zone_parse(const char *name, const char *text, size_t len, char **error_r);
void zone_free(struct zone **z);

/*
 * Answers a lookup.  The answer's records are allocated for the caller:
 * release them with dns_answer_clear().
 */
void zone_lookup(const struct zone *z, const char *name, enum dns_type type,
		 struct dns_answer *answer_r);
void dns_answer_clear(struct dns_answer *a);
size_t zone_record_count(const struct zone *z);

#endif
