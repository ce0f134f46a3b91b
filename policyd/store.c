/*
 * The counter store's interface (store.h): opening a store by its spec and
 * dispatching each call through the kind's operations table
 * (store_impl.h).  What every kind shares lives here: the outputs reset
 * before a call, the empty request answered without asking anyone, and
 * the error for an operation a kind does not have.
 */
#include "store_impl.h"

#include <string.h>
#include <time.h>

#include "compiler.h"
#include "log.h"

int64_t store_real_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct store *store_open(const char *spec, unsigned timeout_ms, size_t max_entries,
			 struct event_base *base, char **error_r)
{
	if (strcmp(spec, "memory") == 0)
		return store_memory_new(max_entries);
	if (base != NULL)
		return store_redis_new(spec, timeout_ms, base, error_r);
	return store_redis_sync_new(spec, timeout_ms, error_r);
}

void store_close(struct store **sp)
{
	struct store *s = *sp;
	*sp = NULL;
	if (s != NULL)
		s->ops->close(s);
}

bool store_is_memory(const struct store *s)
{
	return s->ops == &store_memory_ops;
}

void store_set_clock(struct store *s, int64_t (*now_us)(void))
{
	s->now_us = now_us;
}

/* An operation this kind of store does not have. */
static int missing(const struct store *s, const char *op)
{
	log_msg(LOG_ERR, NULL, "rate-limit store %s: %s is not available here", s->ops->name, op);
	return -1;
}

int store_apply(struct store *s, struct store_call *call)
{
	ASSERT(call->pending == NULL);
	call->committed_r = false;
	call->gated_r = false;
	for (size_t i = 0; i < call->n; i++)
		call->b[i].fits_r = false;
	if (call->n == 0 && call->gate == NULL)
		return 0;
	ASSERT(call->n <= STORE_MAX_BUCKETS);
	if (s->ops->apply == NULL)
		return missing(s, "apply");
	call->store = s;
	int rc = s->ops->apply(s, call);
	ASSERT(rc != STORE_PENDING || call->pending != NULL);
	return rc;
}

void store_cancel(struct store_call *call)
{
	if (call->pending != NULL)
		call->store->ops->cancel(call->store, call);
	call->pending = NULL;
}

int store_get(struct store *s, const char *key, int64_t *value_r)
{
	*value_r = 0;
	return s->ops->get != NULL ? s->ops->get(s, key, value_r) : missing(s, "get");
}

int store_set(struct store *s, const char *key, int64_t value)
{
	return s->ops->set != NULL ? s->ops->set(s, key, value) : missing(s, "set");
}

int store_del(struct store *s, const char *key, bool *deleted_r)
{
	*deleted_r = false;
	return s->ops->del != NULL ? s->ops->del(s, key, deleted_r) : missing(s, "del");
}

int store_scan(struct store *s, const char *prefix, size_t max,
	       void (*fn)(void *arg, const char *key, int64_t value), void *arg,
	       int64_t *now_r, bool *truncated_r)
{
	*truncated_r = false;
	if (s->ops->scan == NULL)
		return missing(s, "scan");
	return s->ops->scan(s, prefix, max, fn, arg, now_r, truncated_r);
}

void store_redis_set_auth(struct store *s, const char *user, const char *password)
{
	if (s->ops->set_auth != NULL)
		s->ops->set_auth(s, user, password);
}
