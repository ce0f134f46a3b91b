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
 * The same step first reads the request's gate, a SASL user's block key:
 * a blocked user takes nothing.
 *
 * Three kinds of store, each a table of operations (store_impl.h) that
 * store.c dispatches to:
 *   - memory: answers at once.  It holds at most max_entries keys; when
 *     full it drops the expired ones (TAT in the past: the bucket is full
 *     again and equal to a missing key) and, if still full, reports a
 *     store error.
 *   - Redis in the daemon (an event_base given): asynchronous; a request
 *     waits for Redis at most StoreTimeout, and the event loop never
 *     waits (store_redis.c).
 *   - Redis on the command line (no event_base): blocking calls bounded by
 *     StoreTimeout, for the admin commands (store_redis_sync.c).
 * Keys are printable ASCII without blanks (ratelimit.c escapes them).
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

struct event_base;

struct bucket {
	const char *key;
	int64_t interval_us;	/* T: the period divided by N */
	int64_t capacity;	/* N */
	int64_t cost;		/* tokens this request takes */
	bool hard;		/* when it does not fit, nothing is taken */
	bool fits_r;		/* out: the cost fits */
};

/*
 * One request's step (store_apply).  The caller fills in the first part
 * and owns the call, its buckets and its keys until it is answered.
 */
struct store_call {
	struct bucket *b;
	size_t n;
	bool commit;		/* take the tokens (else only check) */
	const char *gate;	/* a block key, or NULL: set = refuse, take nothing */
	/* out */
	bool committed_r;	/* the tokens were taken */
	bool gated_r;		/* the gate key is set */
	/* after STORE_PENDING: called once, from the event loop, rc 0 or -1 */
	void (*done)(struct store_call *call, int rc);
	void *arg;
	/* the store's, while pending */
	struct store *store;
	void *pending;
};

/* store_apply(): answered later, through call->done */
#define STORE_PENDING 1

struct store;

/*
 * spec: "memory", "redis://HOST[:PORT][/DB]" or "unix:PATH[?db=N]".  With
 * a Redis spec, base is the daemon's event loop (asynchronous calls), or
 * NULL for blocking calls (the admin command line).  Redis is connected
 * lazily (a Redis that is down at start-up is an error only per request).
 * NULL and *error_r (free() it) on a bad spec.
 */
struct store *store_open(const char *spec, unsigned timeout_ms, size_t max_entries,
			 struct event_base *base, char **error_r);
/*
 * Pending calls are answered with -1 first (their done may start calls on
 * another store, never on this one).  Not from inside a store callback.
 */
void store_close(struct store **s);
bool store_is_memory(const struct store *s);

/*
 * Checks the gate and the buckets; when the gate is clear, `commit` is set
 * and every hard bucket fits, takes the tokens from all of them (soft ones
 * too, fitting or not) and sets committed_r.  Returns 0 (answered), -1
 * when the store cannot answer (logged once per outage; nothing taken), or
 * STORE_PENDING: call->done follows, never before store_apply returns,
 * within about StoreTimeout.  A call with no bucket and no gate is
 * answered at once.
 */
int store_apply(struct store *s, struct store_call *call);
/* Forgets a pending call (its caller goes away): done is not called. */
void store_cancel(struct store_call *call);

/*
 * Memory store: every change goes to j from now on (NULL: none).  The
 * snapshot and the journal are journal.h's.
 */
struct journal;
void store_memory_set_journal(struct store *s, struct journal *j);

/*
 * Single keys, for blocks and the admin commands.  STORE_FOREVER as a
 * value never expires (a block); other values are TATs and expire with
 * them.  Each returns 0, or -1 when the store cannot answer (logged).
 * The daemon's Redis store has only store_set, and does not wait for it:
 * 0 means sent, a failure is logged when Redis answers.
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
