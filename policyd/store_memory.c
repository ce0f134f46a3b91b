/*
 * The memory store (store.h, store_impl.h): a chained hash table of key ->
 * TAT (microseconds since the epoch, so a snapshot stays meaningful across
 * a restart).  Its snapshot (StateFile) and journal are journal.c's: with
 * a journal attached, every change (a committed bucket, a set, a delete)
 * is appended to it.  At most max_entries keys; when
 * full, the expired ones are dropped (a bucket whose TAT is past is full
 * again, the same as a missing key) and, if it is still full, the call is
 * a store error.  A block is the value STORE_FOREVER, never expired.
 * Every call is answered at once.
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler.h"
#include "journal.h"
#include "log.h"
#include "xalloc.h"


struct entry {
	struct entry *next;
	int64_t tat;
	char key[];
};

struct memory_store {
	struct store base;
	struct entry **slots;
	size_t n_slots, n_entries, max_entries;
	struct journal *journal;	/* every change is appended, or NULL */
};

static struct memory_store *mem(struct store *s)
{
	return (struct memory_store *)s;
}

static uint64_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

static struct entry **find_slot(struct memory_store *m, const char *key)
{
	struct entry **e = &m->slots[hash(key) & (m->n_slots - 1)];
	while (*e != NULL && strcmp((*e)->key, key) != 0)
		e = &(*e)->next;
	return e;
}

static void grow(struct memory_store *m)
{
	size_t n = m->n_slots * 2;
	struct entry **slots = xcalloc(n, sizeof(*slots));
	for (size_t i = 0; i < m->n_slots; i++) {
		for (struct entry *e = m->slots[i], *next; e != NULL; e = next) {
			next = e->next;
			struct entry **d = &slots[hash(e->key) & (n - 1)];
			e->next = *d;
			*d = e;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->n_slots = n;
}

/* Drops every key whose TAT is before `now` (a full bucket = no key). */
static void purge(struct memory_store *m, int64_t now)
{
	for (size_t i = 0; i < m->n_slots; i++) {
		for (struct entry **e = &m->slots[i]; *e != NULL;) {
			if ((*e)->tat <= now) {
				struct entry *dead = *e;
				*e = dead->next;
				free(dead);
				m->n_entries--;
			} else {
				e = &(*e)->next;
			}
		}
	}
}

static int64_t mem_get(struct memory_store *m, const char *key)
{
	struct entry *e = *find_slot(m, key);
	return e != NULL ? e->tat : 0;
}

static bool mem_set(struct memory_store *m, const char *key, int64_t tat, int64_t now)
{
	struct entry **e = find_slot(m, key);
	if (*e != NULL) {
		(*e)->tat = tat;
		return true;
	}
	if (m->n_entries >= m->max_entries) {
		purge(m, now);
		if (m->n_entries >= m->max_entries)
			return false;
		e = find_slot(m, key);
	}
	size_t len = strlen(key);
	struct entry *n = xmalloc(sizeof(*n) + len + 1);
	memcpy(n->key, key, len + 1);
	n->tat = tat;
	n->next = NULL;
	*e = n;
	if (++m->n_entries > m->n_slots)
		grow(m);
	return true;
}

static void log_full(const struct memory_store *m)
{
	log_msg(LOG_ERR, NULL, "rate-limit table full (MaxEntries %zu)", m->max_entries);
}

/* The GCRA step for one bucket; returns the new TAT. */
static int64_t gcra(struct bucket *b, int64_t tat, int64_t now)
{
	if (tat < now)
		tat = now;
	int64_t next = tat + b->cost * b->interval_us;
	b->fits_r = next - now <= b->capacity * b->interval_us;
	return next;
}

static int memory_apply(struct store *s, struct store_call *call)
{
	struct memory_store *m = mem(s);
	struct bucket *b = call->b;
	int64_t now = s->now_us(), next[STORE_MAX_BUCKETS];
	bool ok = true;
	if (call->gate != NULL && mem_get(m, call->gate) > now) {
		call->gated_r = true;
		return 0;
	}
	for (size_t i = 0; i < call->n; i++) {
		next[i] = gcra(&b[i], mem_get(m, b[i].key), now);
		if (b[i].hard && !b[i].fits_r)
			ok = false;
	}
	if (!call->commit || !ok)
		return 0;
	for (size_t i = 0; i < call->n; i++) {
		if (!mem_set(m, b[i].key, next[i], now)) {
			log_full(m);
			return -1;
		}
		if (m->journal != NULL)
			journal_append(m->journal, b[i].key, next[i]);
	}
	call->committed_r = true;
	return 0;
}

static int memory_get(struct store *s, const char *key, int64_t *value_r)
{
	int64_t v = mem_get(mem(s), key);
	*value_r = v > s->now_us() ? v : 0;
	return 0;
}

static int memory_set(struct store *s, const char *key, int64_t value)
{
	if (mem_set(mem(s), key, value, s->now_us())) {
		if (mem(s)->journal != NULL)
			journal_append(mem(s)->journal, key, value);
		return 0;
	}
	log_full(mem(s));
	return -1;
}

static int memory_del(struct store *s, const char *key, bool *deleted_r)
{
	struct memory_store *m = mem(s);
	struct entry **e = find_slot(m, key);
	if (*e != NULL) {
		struct entry *dead = *e;
		*deleted_r = dead->tat > s->now_us();
		*e = dead->next;
		free(dead);
		m->n_entries--;
		if (m->journal != NULL)
			journal_append(m->journal, key, 0);
	}
	return 0;
}

static int memory_scan(struct store *s, const char *prefix, size_t max,
		       void (*fn)(void *arg, const char *key, int64_t value), void *arg,
		       int64_t *now_r, bool *truncated_r)
{
	struct memory_store *m = mem(s);
	int64_t now = s->now_us();
	size_t seen = 0, plen = strlen(prefix);
	*now_r = now;
	for (size_t i = 0; i < m->n_slots; i++) {
		for (struct entry *e = m->slots[i]; e != NULL; e = e->next) {
			if (e->tat <= now || strncmp(e->key, prefix, plen) != 0)
				continue;
			if (seen++ >= max)
				*truncated_r = true;
			else
				fn(arg, e->key, e->tat);
		}
	}
	return 0;
}

static void memory_close(struct store *s)
{
	struct memory_store *m = mem(s);
	for (size_t i = 0; i < m->n_slots; i++) {
		for (struct entry *e = m->slots[i], *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->slots);
	free(m);
}

void store_memory_set_journal(struct store *s, struct journal *j)
{
	ASSERT(store_is_memory(s));
	mem(s)->journal = j;
}

const struct store_ops store_memory_ops = {
	.name = "memory",
	.apply = memory_apply,
	.get = memory_get,
	.set = memory_set,
	.del = memory_del,
	.scan = memory_scan,
	.close = memory_close,
};

struct store *store_memory_new(size_t max_entries)
{
	struct memory_store *m = xcalloc(1, sizeof(*m));
	m->base.ops = &store_memory_ops;
	m->base.now_us = store_real_now_us;
	m->n_slots = 1024;
	m->slots = xcalloc(m->n_slots, sizeof(*m->slots));
	m->max_entries = max_entries;
	return &m->base;
}
