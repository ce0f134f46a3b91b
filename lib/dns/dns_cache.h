/*
 * An in-process cache of DNS answers in front of libunbound.  libunbound
 * has its own cache, but reaching it costs a round trip through its
 * resolver thread and ours (70-80 us a lookup, measured by bench/); a hit
 * here is a hash lookup and a copy.  Answers are kept for their TTL (at
 * most DNS_CACHE_MAX_TTL), positive and negative (NXDOMAIN, NODATA) alike;
 * temporary failures never.  Bounded: at most DNS_CACHE_MAX_ENTRIES; when
 * full, expired entries are swept and, failing that, nothing new is kept.
 * Thread-safe.
 */
#ifndef CACHET_DNS_CACHE_H
#define CACHET_DNS_CACHE_H

#include <stdbool.h>

#include "dns.h"

#define DNS_CACHE_MAX_ENTRIES 20000
#define DNS_CACHE_MAX_TTL 3600

struct dns_cache;

struct dns_cache *dns_cache_new(void);
void dns_cache_free(struct dns_cache **c);
/* On a hit copies the answer into *a (release with dns_answer_clear). */
bool dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type,
		   struct dns_answer *a);
/* Keeps a copy of a if it is cacheable (OK, NXDOMAIN or NODATA, ttl > 0). */
void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
		   const struct dns_answer *a);

#endif
