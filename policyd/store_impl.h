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

/* The real clock: microseconds since the epoch. */
int64_t store_real_now_us(void);

#endif
