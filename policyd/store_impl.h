/*
 * Inside the counter store (store.h): the table of operations each kind
 * of store fills in, and the head of struct store they share.  store.c
 * dispatches through the table; a kind leaves NULL what it cannot do, and
 * the caller then gets -1 and a log line.
 *
 * A kind's own struct starts with `struct store base`, so a struct store
 * pointer is also a pointer to it.  Kinds: store_memory.c (in-process
 * table, snapshots), store_redis.c (Redis on the daemon's event loop),
 * store_redis_sync.c (Redis, blocking calls, for the command line).
 *
 * apply gets a call with at least one bucket or a gate, its outputs
 * reset; it answers at once (0, -1) or returns STORE_PENDING having set
 * call->pending (store.c sets call->store).  cancel gets a pending call.
 */
#ifndef CACHET_STORE_IMPL_H
#define CACHET_STORE_IMPL_H

#include "store.h"

struct store_ops {
	const char *name;	/* for log lines */
	int (*apply)(struct store *s, struct store_call *call);
	void (*cancel)(struct store *s, struct store_call *call);
	int (*get)(struct store *s, const char *key, int64_t *value_r);
	int (*set)(struct store *s, const char *key, int64_t value);
	int (*del)(struct store *s, const char *key, bool *deleted_r);
	int (*scan)(struct store *s, const char *prefix, size_t max,
		    void (*fn)(void *arg, const char *key, int64_t value), void *arg,
		    int64_t *now_r, bool *truncated_r);
	void (*set_auth)(struct store *s, const char *user, const char *password);
	/* frees everything, s included */
	void (*close)(struct store *s);
};

struct store {
	const struct store_ops *ops;
	int64_t (*now_us)(void);	/* the memory store's clock */
};

extern const struct store_ops store_memory_ops;

/* A Redis spec, parsed: host and port, or path (a unix socket); db. */
struct store_redis_spec {
	char *host;
	char *path;
	int port;
	int db;
};

/* false and *error_r (free() it) when spec is not one */
bool store_redis_spec_parse(struct store_redis_spec *r, const char *spec, char **error_r);
void store_redis_spec_free(struct store_redis_spec *r);

/* Each returns a store whose ops and clock are set; free it with store_close(). */
struct store *store_memory_new(size_t max_entries);
/* NULL and *error_r (free() it) when spec is not a Redis spec */
struct store *store_redis_new(const char *spec, unsigned timeout_ms, struct event_base *base,
			      char **error_r);
struct store *store_redis_sync_new(const char *spec, unsigned timeout_ms, char **error_r);

/*
 * Redis credentials: AUTH [user] password on every (re)connection.  The
 * store keeps its own copies; NULL password: no AUTH.  A kind without
 * Redis ignores them.
 */
void store_redis_set_auth(struct store *s, const char *user, const char *password);

/*
 * Redis replies, read apart from any connection (store_redis_reply.c).
 * Each takes any reply tree, NULL included, and refuses what it does not
 * expect.
 */
struct redisReply;
/* The script's reply into call's outputs: 0, or -1 (logged) when it is not one. */
int store_redis_read_script(struct store_call *call, const struct redisReply *r);
/* EVALSHA's "NOSCRIPT ..." error: the script is not (or no longer) loaded. */
bool store_redis_is_noscript(const struct redisReply *r);
/* A +OK-style status (AUTH, SELECT); else false and why ("AUTH failed: ..."). */
bool store_redis_status_ok(const struct redisReply *r, const char *what, char *why, size_t n);
/* SCRIPT LOAD's reply: 40 lowercase hex digits into sha. */
bool store_redis_script_sha(const struct redisReply *r, char sha[41]);
/* TIME: microseconds since the epoch. */
bool store_redis_parse_time(const struct redisReply *r, int64_t *now_us_r);
/* SCAN: the next cursor (NUL-ended) and the array of keys. */
bool store_redis_parse_scan(const struct redisReply *r, char cursor[32],
			    const struct redisReply **keys_r);
/* An element of SCAN's keys that is a key we could have written. */
bool store_redis_scan_key(const struct redisReply *k);
/* GET: nil is 0; else a decimal of at most 19 digits. */
bool store_redis_parse_value(const struct redisReply *r, int64_t *value_r);

/* The real clock: microseconds since the epoch. */
int64_t store_real_now_us(void);

#endif
