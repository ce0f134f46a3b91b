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

#include "buf.h"
#include "dns.h"

#define ZONE_MAX_RECORDS 100000
#define ZONE_MAX_CNAME_CHAIN 8

struct zone;

/* Returns NULL and sets *error_r ("FILE:LINE: message"; free() it). */
struct zone *zone_load(const char *path, char **error_r);
/*
 * The same, with relative names taken relative to origin until a $ORIGIN
 * says otherwise, as a name server does with the zone its configuration
 * names (a zone file written for BIND or NSD often has no $ORIGIN).
 */
struct zone *zone_load_at(const char *path, const char *origin, char **error_r);
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

/*
 * Writing, for tools that print records to publish (cachet-keys, cachet
 * doctor): appends one TXT record in master-file syntax, with a final
 * newline, e.g.
 *
 *	sel._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; "
 *		"p=MIIBIjANBgkqh..."
 *		"...IDAQAB" )
 *
 * owner is written as given (pass it with its final dot).  Each of the n
 * parts starts a new character-string and is cut into character-strings
 * of at most 255 octets (RFC 1035 3.3), never inside an escape; a single
 * character-string stays on the owner's line without parentheses.  '"'
 * and '\' are escaped, bytes outside printable ASCII written as \DDD.
 * The strings concatenate back to the parts (RFC 7208 3.3, RFC 6376
 * 3.6.2.2).
 */
void zone_txt_record(struct buf *out, const char *owner, const struct slice *parts, size_t n);

#endif
