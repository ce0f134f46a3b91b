/*
 * Rate-limit counters: GCRA buckets kept in memory (with a snapshot file)
 * or in Redis (shared by every MX host).  The algorithm, its exact
 * semantics, and why it has no window edges are in ratelimit.h.
 *
 * A bucket is (key, interval T, capacity N): it holds a "theoretical
 * arrival time" TAT.  Taking `cost` tokens at time now is allowed iff
 * max(TAT, now) + cost*T - now <= N*T; taking them sets TAT to
 * max(TAT, now) + cost*T.  store_apply() checks every bucket of a request
 * and takes the tokens from all of them at once, or from none, in one
 * step (Redis: one server-side script, so two servers never interleave).
 *
 * The memory store holds at most max_entries keys; when full it drops the
 * expired ones (TAT in the past: the bucket is full again and equal to a
 * missing key) and, if still full, reports a store error.  Keys are
 * printable ASCII without blanks (ratelimit.c escapes them).
 *
 * Each kind of store fills in a table of operations (store_impl.h);
 * store.c dispatches.
 */
#ifndef CACHET_STORE_H
#define CACHET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_MAX_KEY 512
#define STORE_MAX_BUCKETS 64
/* seconds between reconnection attempts to an unreachable Redis */
#define STORE_RETRY_SECONDS 1

struct bucket {
	const char *key;
	int64_t interval_us;	/* T: the period divided by N */
	int64_t capacity;	/* N */
	int64_t cost;		/* tokens this request takes */
	bool hard;		/* when it does not fit, nothing is taken */
	bool fits_r;		/* out: the cost fits */
};

struct store;

/*
 * spec: "memory", "redis://HOST[:PORT][/DB]" or "unix:PATH[?db=N]".  Redis
 * is connected lazily (a Redis that is down at start-up is an error only
 * per request).  NULL and *error_r (free() it) on a bad spec.
 */
struct store *store_open(const char *spec, unsigned timeout_ms, size_t max_entries,
			 char **error_r);
void store_close(struct store **s);
bool store_is_memory(const struct store *s);

/*
 * Checks the buckets; when `commit` and every hard bucket fits, takes the
 * tokens from all of them (soft ones too, fitting or not) and sets
 * *committed_r.  Returns 0, or -1 when the store cannot answer (logged
 * once per outage; nothing taken).
 */
int store_apply(struct store *s, struct bucket *b, size_t n, bool commit, bool *committed_r);

/* Memory store: save to path (atomically, through a temp file) / load. */
int store_save(struct store *s, const char *path);
int store_load(struct store *s, const char *path);

/*
 * Single keys, for blocks and the admin commands.  STORE_FOREVER as a
 * value never expires (a block); other values are TATs and expire with
 * them.  Each returns 0, or -1 when the store cannot answer (logged).
 */
#define STORE_FOREVER INT64_MAX
int store_get(struct store *s, const char *key, int64_t *value_r);	/* 0 when absent */
int store_set(struct store *s, const char *key, int64_t value);
/* *deleted_r: the key existed */
int store_del(struct store *s, const char *key, bool *deleted_r);
/*
 * Calls fn for every live key starting with prefix (at most `max`; the
 * rest are dropped and *truncated_r set).  The current time goes to
 * *now_r (the store's clock: Redis TIME for Redis).
 */
int store_scan(struct store *s, const char *prefix, size_t max,
	       void (*fn)(void *arg, const char *key, int64_t value), void *arg,
	       int64_t *now_r, bool *truncated_r);

/* Tests: replace the memory store's clock (microseconds since the epoch). */
void store_set_clock(struct store *s, int64_t (*now_us)(void));

#endif
