/*
 * Parsed DKIM public keys, kept by the text of the DNS record they came
 * from, so a second message from a sender costs the signature check alone
 * (decoding an RSA key record costs several times the RSA verification).
 * The text is the key: a record that changes is a new entry, so a cached
 * key can never be a stale one; an entry lives as long as the TTL of the
 * DNS answer that brought it (TTL 0: not kept), and records that do not
 * parse are kept the same way, with their error, so a broken record costs
 * its parse once too.
 *
 * Shared by every thread of a snapshot (one mutex; a lookup is a hash and
 * a compare).  Bounded: at most max_entries; when full, expired entries go
 * first, then the oldest.  A key handed out is the caller's own (its
 * EVP_PKEY is a new reference): eviction never frees what a message uses.
 * Hashes are seeded at random per cache, so records chosen by a sender
 * cannot be made to collide.
 */
#ifndef CACHET_DKIM_KEYCACHE_H
#define CACHET_DKIM_KEYCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dkim.h"

#define DKIM_KEYCACHE_MAX_TTL 86400	/* seconds an entry is kept at most */
#define DKIM_KEYCACHE_MAX_TEXT 8192	/* longer records are parsed, not kept */

struct dkim_keycache;

struct dkim_keycache *dkim_keycache_new(size_t max_entries);
void dkim_keycache_free(struct dkim_keycache **c);

/*
 * Parses the key record txt (as dkim_key_parse does), from the cache when
 * it holds that text, else now, keeping the result for ttl seconds.  On
 * DKIM_OK *key_r is the caller's (free with dkim_key_free); otherwise
 * NULL.  c may be NULL: then it is dkim_key_parse.
 */
enum dkim_err dkim_keycache_parse(struct dkim_keycache *c, const char *txt, size_t len,
				  uint32_t ttl, struct dkim_key **key_r);

/* Entries held, and lookups answered from the cache so far (tests, logs). */
size_t dkim_keycache_size(struct dkim_keycache *c);
uint64_t dkim_keycache_hits(struct dkim_keycache *c);

#endif
