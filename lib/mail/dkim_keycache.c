/*
 * The cache of parsed DKIM public keys (see dkim_keycache.h): a chained
 * hash table of entries, also linked in insertion order for eviction.
 */
#include "dkim_keycache.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "xalloc.h"

struct entry {
	struct entry *next_hash;	/* the bucket's chain */
	struct entry *older, *newer;	/* insertion order */
	uint64_t hash;
	char *text;
	size_t len;
	time_t expires;		/* monotonic seconds */
	enum dkim_err err;
	struct dkim_key *key;	/* DKIM_OK: the parsed key, shared by copies */
};

struct dkim_keycache {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t n_buckets, n, max;
	struct entry *oldest, *newest;
	uint64_t seed;
	uint64_t hits;
};

static time_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* FNV-1a over the text, started from the cache's random seed. */
static uint64_t hash_text(const struct dkim_keycache *c, const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ c->seed;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

struct dkim_keycache *dkim_keycache_new(size_t max_entries)
{
	struct dkim_keycache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->max = max_entries > 0 ? max_entries : 1;
	c->n_buckets = 2 * c->max;
	c->buckets = xcalloc(c->n_buckets, sizeof(*c->buckets));
	if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
		c->seed = (uint64_t)now() * 0x9e3779b97f4a7c15ULL;
	return c;
}

static void entry_free(struct entry *e)
{
	dkim_key_free(&e->key);
	free(e->text);
	free(e);
}

/* Unlinks e from its bucket and the order list, and frees it. */
static void remove_entry(struct dkim_keycache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash % c->n_buckets];
	while (*pp != e)
		pp = &(*pp)->next_hash;
	*pp = e->next_hash;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	c->n--;
	entry_free(e);
}

void dkim_keycache_free(struct dkim_keycache **cp)
{
	struct dkim_keycache *c = *cp;
	if (c == NULL)
		return;
	while (c->oldest != NULL)
		remove_entry(c, c->oldest);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
	*cp = NULL;
}

static struct entry *find(struct dkim_keycache *c, uint64_t h, const char *txt, size_t len,
			  time_t t)
{
	for (struct entry *e = c->buckets[h % c->n_buckets]; e != NULL; e = e->next_hash)
		if (e->hash == h && e->len == len && memcmp(e->text, txt, len) == 0) {
			if (e->expires > t)
				return e;
			remove_entry(c, e);
			return NULL;
		}
	return NULL;
}

/* Room for one more: expired entries first, then the oldest. */
static void make_room(struct dkim_keycache *c, time_t t)
{
	for (struct entry *e = c->oldest, *next; e != NULL && c->n >= c->max; e = next) {
		next = e->newer;
		if (e->expires <= t)
			remove_entry(c, e);
	}
	while (c->n >= c->max)
		remove_entry(c, c->oldest);
}

static void insert(struct dkim_keycache *c, uint64_t h, const char *txt, size_t len,
		   time_t expires, enum dkim_err err, struct dkim_key *key)
{
	struct entry *e = xcalloc(1, sizeof(*e));
	e->hash = h;
	e->text = xmalloc(len + 1);
	memcpy(e->text, txt, len);
	e->text[len] = '\0';
	e->len = len;
	e->expires = expires;
	e->err = err;
	e->key = key;
	struct entry **b = &c->buckets[h % c->n_buckets];
	e->next_hash = *b;
	*b = e;
	e->older = c->newest;
	if (c->newest != NULL)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
	c->n++;
}

enum dkim_err dkim_keycache_parse(struct dkim_keycache *c, const char *txt, size_t len,
				  uint32_t ttl, struct dkim_key **key_r)
{
	*key_r = NULL;
	if (c == NULL || len > DKIM_KEYCACHE_MAX_TEXT)
		return dkim_key_parse(txt, len, key_r);
	time_t t = now();
	uint64_t h = hash_text(c, txt, len);
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, h, txt, len, t);
	if (e != NULL) {
		enum dkim_err err = e->err;
		if (err == DKIM_OK)
			*key_r = dkim_key_dup(e->key);
		c->hits++;
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	pthread_mutex_unlock(&c->lock);
	/* parsed outside the lock: it is the slow part */
	struct dkim_key *key = NULL;
	enum dkim_err err = dkim_key_parse(txt, len, &key);
	if (ttl == 0) {
		*key_r = key;
		return err;
	}
	if (ttl > DKIM_KEYCACHE_MAX_TTL)
		ttl = DKIM_KEYCACHE_MAX_TTL;
	pthread_mutex_lock(&c->lock);
	/* another thread may have put it there meanwhile: keep one entry */
	e = find(c, h, txt, len, t);
	if (e == NULL) {
		make_room(c, t);
		insert(c, h, txt, len, t + (time_t)ttl, err, key);
		e = c->newest;
	} else {
		dkim_key_free(&key);
	}
	if (e->err == DKIM_OK)
		*key_r = dkim_key_dup(e->key);
	err = e->err;
	pthread_mutex_unlock(&c->lock);
	return err;
}

size_t dkim_keycache_size(struct dkim_keycache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

uint64_t dkim_keycache_hits(struct dkim_keycache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t n = c->hits;
	pthread_mutex_unlock(&c->lock);
	return n;
}
