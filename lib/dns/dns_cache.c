/*
 * The in-process DNS answer cache: see dns_cache.h.  A chained hash table
 * under one mutex; keys are the lower-cased name without its trailing dot
 * and the type; expiry uses CLOCK_MONOTONIC seconds.
 */
#include "dns_cache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zone.h"
#include "xalloc.h"

#define BUCKETS 4096

struct entry {
	struct entry *next;
	char *name;
	enum dns_type type;
	time_t expires;
	struct dns_answer answer;
};

struct dns_cache {
	pthread_mutex_t mu;
	size_t count;
	struct entry *bucket[BUCKETS];
};

static time_t now_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

/* name lower-cased, without a trailing dot; NULL if too long */
static bool key_of(const char *name, char out[256])
{
	size_t n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	return true;
}

static size_t hash(const char *key, enum dns_type type)
{
	uint32_t h = 2166136261u ^ (uint32_t)type;	/* FNV-1a */
	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % BUCKETS;
}

static void copy_answer(struct dns_answer *dst, const struct dns_answer *src)
{
	*dst = *src;
	dst->rr = src->count > 0 ? xcalloc(src->count, sizeof(*dst->rr)) : NULL;
	for (size_t i = 0; i < src->count; i++) {
		const struct dns_rr *s = &src->rr[i];
		struct dns_rr *d = &dst->rr[i];
		*d = *s;
		switch (src->type) {
		case DNS_T_MX:
			d->u.mx.exchange = xstrdup(s->u.mx.exchange);
			break;
		case DNS_T_TXT:
			d->u.txt.data = xmalloc(s->u.txt.len + 1);
			memcpy(d->u.txt.data, s->u.txt.data, s->u.txt.len + 1);
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
			d->u.ptr = xstrdup(s->u.ptr);
			break;
		default:
			break;
		}
	}
}

static void entry_free(struct entry *e)
{
	dns_answer_clear(&e->answer);
	free(e->name);
	free(e);
}

struct dns_cache *dns_cache_new(void)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void dns_cache_free(struct dns_cache **cp)
{
	struct dns_cache *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	for (size_t i = 0; i < BUCKETS; i++)
		while (c->bucket[i] != NULL) {
			struct entry *e = c->bucket[i];
			c->bucket[i] = e->next;
			entry_free(e);
		}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Removes expired entries of one chain. */
static void sweep_chain_locked(struct dns_cache *c, size_t b, time_t now)
{
	struct entry **pp = &c->bucket[b];
	while (*pp != NULL) {
		struct entry *e = *pp;
		if (e->expires <= now) {
			*pp = e->next;
			entry_free(e);
			c->count--;
		} else {
			pp = &e->next;
		}
	}
}

bool dns_cache_get(struct dns_cache *c, const char *name, enum dns_type type,
		   struct dns_answer *a)
{
	char key[256];
	if (!key_of(name, key))
		return false;
	size_t b = hash(key, type);
	bool hit = false;
	pthread_mutex_lock(&c->mu);
	sweep_chain_locked(c, b, now_seconds());
	for (struct entry *e = c->bucket[b]; e != NULL; e = e->next)
		if (e->type == type && strcmp(e->name, key) == 0) {
			copy_answer(a, &e->answer);
			hit = true;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	return hit;
}

void dns_cache_put(struct dns_cache *c, const char *name, enum dns_type type,
		   const struct dns_answer *a)
{
	char key[256];
	bool cacheable = a->status == DNS_OK || a->status == DNS_NXDOMAIN ||
			 a->status == DNS_NODATA;
	if (!cacheable || a->ttl == 0 || !key_of(name, key))
		return;
	time_t now = now_seconds();
	size_t b = hash(key, type);
	struct entry *e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(key);
	e->type = type;
	e->expires = now + (a->ttl < DNS_CACHE_MAX_TTL ? a->ttl : DNS_CACHE_MAX_TTL);
	copy_answer(&e->answer, a);
	pthread_mutex_lock(&c->mu);
	if (c->count >= DNS_CACHE_MAX_ENTRIES)
		for (size_t i = 0; i < BUCKETS; i++)
			sweep_chain_locked(c, i, now);
	bool keep = c->count < DNS_CACHE_MAX_ENTRIES;
	if (keep) {
		sweep_chain_locked(c, b, now);
		/* a concurrent lookup of the same name may have won: keep one */
		struct entry **pp = &c->bucket[b];
		while (*pp != NULL && !((*pp)->type == type && strcmp((*pp)->name, key) == 0))
			pp = &(*pp)->next;
		if (*pp != NULL) {
			struct entry *old = *pp;
			*pp = old->next;
			entry_free(old);
			c->count--;
		}
		e->next = c->bucket[b];
		c->bucket[b] = e;
		c->count++;
	}
	pthread_mutex_unlock(&c->mu);
	if (!keep)
		entry_free(e);
}
