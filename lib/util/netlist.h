/*
 * Host lists in OpenDKIM's dataset style, for InternalHosts and the like:
 * IPv4 and IPv6 addresses and CIDR blocks ("10.0.0.0/8", "2001:db8::/32",
 * "[::1]"), host names ("mail.example.com") and domain suffixes
 * (".example.com", matching every name below it), each optionally negated
 * with a leading "!".  The last matching entry decides (OpenDKIM's rule:
 * "!10.1.1.1" after "10.0.0.0/8" excludes that host).
 *
 * A list is built from a comma- or whitespace-separated string, or from a
 * file ("file:/path" or a bare absolute path) with one or more entries per
 * line and `#` comments.  Immutable once built; safe to share across threads.
 */
#ifndef CACHET_NETLIST_H
#define CACHET_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct netlist;

/* Returns NULL and sets *error_r (free() it) naming the bad entry. */
struct netlist *netlist_parse(const char *text, char **error_r);
/* Reads a file; errors name the file and the line. */
struct netlist *netlist_load(const char *path, char **error_r);
/* "file:/path", "/path" -> netlist_load; anything else -> netlist_parse. */
struct netlist *netlist_from_spec(const char *spec, char **error_r);
void netlist_free(struct netlist **l);

/*
 * Does the client match?  addr is the client's address (NULL when unknown),
 * hostname the name the MTA gave for it (NULL or "[1.2.3.4]" when none).
 */
bool netlist_match(const struct netlist *l, const struct sockaddr *addr,
		   const char *hostname);
/* Same, from an address in text form ("192.0.2.1", "2001:db8::1"). */
bool netlist_match_text(const struct netlist *l, const char *ip, const char *hostname);
size_t netlist_count(const struct netlist *l);
/* Are the first `prefix` bits of a and b (network byte order) the same? */
bool netlist_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix);

#endif
