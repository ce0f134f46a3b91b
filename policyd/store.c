/*
 * The two counter stores behind store.h.  Memory: a chained hash table of
 * key -> TAT (microseconds since the epoch, so a snapshot stays meaningful
 * across a restart), saved as "KEY TAT" lines.  Redis: hiredis, blocking
 * calls bounded by the configured timeout, and one Lua script per request
 * that reads every bucket, decides, and writes them all, using Redis's own
 * clock (TIME), so MX hosts with skewed clocks still share one limit.
 *
 * Blocks and the admin commands use single keys (store_get/set/del/scan);
 * a block is the value STORE_FOREVER, which the memory store never purges
 * and Redis keeps without expiry.
 *
 * XXX: Redis calls block the event loop for up to StoreTimeout; with a
 * healthy Redis on the LAN that is well under a millisecond per request.
 * An unreachable Redis costs one failed connect per STORE_RETRY_SECONDS,
 * and requests in between get a store error at once.
 */
#include "store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "log.h"
#include "xalloc.h"

#define STORE_MAX_SNAPSHOT_LINE 1024

struct entry {
	struct entry *next;
	int64_t tat;
	char key[];
};

struct store {
	bool memory;
	int64_t (*now_us)(void);
	/* memory */
	struct entry **slots;
	size_t n_slots, n_entries, max_entries;
	/* redis */
	char *host;		/* or NULL with path */
	char *path;		/* unix socket */
	int port;
	int db;
	struct timeval timeout;
	redisContext *rc;
	time_t next_try;	/* no connection attempt before this */
	bool down_logged;
};

static int64_t real_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void store_set_clock(struct store *s, int64_t (*now_us)(void))
{
	s->now_us = now_us;
}

bool store_is_memory(const struct store *s)
{
	return s->memory;
}

/* -- memory -- */

static uint64_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

static struct entry **find_slot(struct store *s, const char *key)
{
	struct entry **e = &s->slots[hash(key) & (s->n_slots - 1)];
	while (*e != NULL && strcmp((*e)->key, key) != 0)
		e = &(*e)->next;
	return e;
}

static void grow(struct store *s)
{
	size_t n = s->n_slots * 2;
	struct entry **slots = xcalloc(n, sizeof(*slots));
	for (size_t i = 0; i < s->n_slots; i++) {
		for (struct entry *e = s->slots[i], *next; e != NULL; e = next) {
			next = e->next;
			struct entry **d = &slots[hash(e->key) & (n - 1)];
			e->next = *d;
			*d = e;
		}
	}
	free(s->slots);
	s->slots = slots;
	s->n_slots = n;
}

/* Drops every key whose TAT is before `now` (a full bucket = no key). */
static void purge(struct store *s, int64_t now)
{
	for (size_t i = 0; i < s->n_slots; i++) {
		for (struct entry **e = &s->slots[i]; *e != NULL;) {
			if ((*e)->tat <= now) {
				struct entry *dead = *e;
				*e = dead->next;
				free(dead);
				s->n_entries--;
			} else {
				e = &(*e)->next;
			}
		}
	}
}

static int64_t mem_get(struct store *s, const char *key)
{
	struct entry *e = *find_slot(s, key);
	return e != NULL ? e->tat : 0;
}

static bool mem_set(struct store *s, const char *key, int64_t tat, int64_t now)
{
	struct entry **e = find_slot(s, key);
	if (*e != NULL) {
		(*e)->tat = tat;
		return true;
	}
	if (s->n_entries >= s->max_entries) {
		purge(s, now);
		if (s->n_entries >= s->max_entries)
			return false;
		e = find_slot(s, key);
	}
	size_t len = strlen(key);
	struct entry *n = xmalloc(sizeof(*n) + len + 1);
	memcpy(n->key, key, len + 1);
	n->tat = tat;
	n->next = NULL;
	*e = n;
	if (++s->n_entries > s->n_slots)
		grow(s);
	return true;
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

static int mem_apply(struct store *s, struct bucket *b, size_t n, bool commit,
		     bool *committed_r)
{
	int64_t now = s->now_us(), next[STORE_MAX_BUCKETS];
	bool ok = true;
	ASSERT(n <= STORE_MAX_BUCKETS);
	for (size_t i = 0; i < n; i++) {
		next[i] = gcra(&b[i], mem_get(s, b[i].key), now);
		if (b[i].hard && !b[i].fits_r)
			ok = false;
	}
	*committed_r = false;
	if (!commit || !ok)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!mem_set(s, b[i].key, next[i], now)) {
			log_msg(LOG_ERR, NULL, "rate-limit table full (MaxEntries %zu)",
				s->max_entries);
			return -1;
		}
	}
	*committed_r = true;
	return 0;
}

int store_save(struct store *s, const char *path)
{
	ASSERT(s->memory);
	struct buf tmp;
	buf_init(&tmp, 0);
	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp.p, "w");
	if (f == NULL) {
		log_msg(LOG_ERR, NULL, "snapshot %s: %s", tmp.p, strerror(errno));
		buf_free(&tmp);
		return -1;
	}
	int64_t now = s->now_us();
	size_t saved = 0;
	fprintf(f, "# cachet-policyd counters: KEY TAT(us since the epoch)\n");
	for (size_t i = 0; i < s->n_slots; i++) {
		for (struct entry *e = s->slots[i]; e != NULL; e = e->next) {
			if (e->tat > now) {
				fprintf(f, "%s %lld\n", e->key, (long long)e->tat);
				saved++;
			}
		}
	}
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp.p, path) == 0) {
		log_msg(LOG_DEBUG, NULL, "snapshot %s: %zu counters", path, saved);
		buf_free(&tmp);
		return 0;
	}
	log_msg(LOG_ERR, NULL, "snapshot %s: %s", path, strerror(errno));
	unlink(tmp.p);
	buf_free(&tmp);
	return -1;
}

int store_load(struct store *s, const char *path)
{
	ASSERT(s->memory);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		log_msg(LOG_ERR, NULL, "snapshot %s: %s", path, strerror(errno));
		return -1;
	}
	char line[STORE_MAX_SNAPSHOT_LINE];
	char key[STORE_MAX_SNAPSHOT_LINE];
	long long tat;
	size_t loaded = 0, bad = 0;
	int64_t now = s->now_us();
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%1023s %lld", key, &tat) != 2 || strlen(key) >= STORE_MAX_KEY) {
			bad++;
			continue;
		}
		if (tat > now && mem_set(s, key, tat, now))
			loaded++;
	}
	fclose(f);
	log_msg(LOG_INFO, NULL, "snapshot %s: %zu counters loaded%s", path, loaded,
		bad > 0 ? " (bad lines skipped)" : "");
	return 0;
}

/* -- redis -- */

static const char gcra_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local out, new, ok = {}, {}, true\n"
	"for i = 1, #KEYS do\n"
	"  local b = 2 + (i - 1) * 4\n"
	"  local T, cap, cost = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])\n"
	"  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0\n"
	"  if tat < now then tat = now end\n"
	"  new[i] = tat + cost * T\n"
	"  if new[i] - now <= cap * T then out[i] = 1 else\n"
	"    out[i] = 0\n"
	"    if ARGV[b + 3] == '1' then ok = false end\n"
	"  end\n"
	"end\n"
	"local committed = 0\n"
	"if ARGV[1] == '1' and ok then\n"
	"  committed = 1\n"
	"  for i = 1, #KEYS do\n"
	"    redis.call('SET', KEYS[i], string.format('%.0f', new[i]), 'PX',\n"
	"               math.floor((new[i] - now) / 1000) + 1000)\n"
	"  end\n"
	"end\n"
	"out[#KEYS + 1] = committed\n"
	"return out\n";

static void redis_drop(struct store *s, const char *why)
{
	if (!s->down_logged)
		log_msg(LOG_ERR, NULL, "Redis %s:%d: %s; rate limits use OnStoreError until it is back",
			s->path != NULL ? s->path : s->host, s->port, why);
	s->down_logged = true;
	if (s->rc != NULL)
		redisFree(s->rc);
	s->rc = NULL;
	s->next_try = time(NULL) + STORE_RETRY_SECONDS;
}

static bool redis_connect(struct store *s)
{
	if (s->rc != NULL)
		return true;
	if (time(NULL) < s->next_try)
		return false;
	s->rc = s->path != NULL ? redisConnectUnixWithTimeout(s->path, s->timeout)
				: redisConnectWithTimeout(s->host, s->port, s->timeout);
	if (s->rc == NULL || s->rc->err) {
		redis_drop(s, s->rc != NULL ? s->rc->errstr : "cannot connect");
		return false;
	}
	redisSetTimeout(s->rc, s->timeout);
	if (s->db != 0) {
		redisReply *r = redisCommand(s->rc, "SELECT %d", s->db);
		bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		if (r != NULL)
			freeReplyObject(r);
		if (!ok) {
			redis_drop(s, "SELECT failed");
			return false;
		}
	}
	if (s->down_logged)
		log_msg(LOG_NOTICE, NULL, "Redis %s:%d: connected again",
			s->path != NULL ? s->path : s->host, s->port);
	s->down_logged = false;
	return true;
}

static int redis_apply(struct store *s, struct bucket *b, size_t n, bool commit,
		       bool *committed_r)
{
	/* EVAL script numkeys keys... commit (T cap cost hard)... */
	size_t argc = 3 + n + 1 + 4 * n;
	const char **argv = xcalloc(argc, sizeof(*argv));
	size_t *argvlen = xcalloc(argc, sizeof(*argvlen));
	char (*nums)[24] = xcalloc(4 * n + 1, sizeof(*nums));
	size_t k = 0, m = 0;
	argv[k++] = "EVAL";
	argv[k++] = gcra_script;
	snprintf(nums[m], sizeof(nums[m]), "%zu", n);
	argv[k++] = nums[m++];
	for (size_t i = 0; i < n; i++)
		argv[k++] = b[i].key;
	argv[k++] = commit ? "1" : "0";
	for (size_t i = 0; i < n; i++) {
		snprintf(nums[m], sizeof(nums[m]), "%lld", (long long)b[i].interval_us);
		argv[k++] = nums[m++];
		snprintf(nums[m], sizeof(nums[m]), "%lld", (long long)b[i].capacity);
		argv[k++] = nums[m++];
		snprintf(nums[m], sizeof(nums[m]), "%lld", (long long)b[i].cost);
		argv[k++] = nums[m++];
		argv[k++] = b[i].hard ? "1" : "0";
	}
	ASSERT(k == argc);
	for (size_t i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	int rv = -1;
	if (redis_connect(s)) {
		redisReply *r = redisCommandArgv(s->rc, (int)argc, argv, argvlen);
		if (r == NULL) {
			redis_drop(s, s->rc->errstr[0] != '\0' ? s->rc->errstr : "no reply");
		} else if (r->type != REDIS_REPLY_ARRAY || r->elements != n + 1) {
			log_msg(LOG_ERR, NULL, "Redis: unexpected reply to the rate-limit script%s%s",
				r->type == REDIS_REPLY_ERROR ? ": " : "",
				r->type == REDIS_REPLY_ERROR ? r->str : "");
		} else {
			for (size_t i = 0; i < n; i++)
				b[i].fits_r = r->element[i]->type == REDIS_REPLY_INTEGER &&
					      r->element[i]->integer == 1;
			*committed_r = r->element[n]->type == REDIS_REPLY_INTEGER &&
				       r->element[n]->integer == 1;
			rv = 0;
		}
		if (r != NULL)
			freeReplyObject(r);
	}
	free(nums);
	free(argvlen);
	free(argv);
	return rv;
}

/* redis://HOST[:PORT][/DB] or unix:PATH[?db=N] */
static bool parse_redis(struct store *s, const char *spec)
{
	unsigned long db = 0;
	char *end;
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *q = strstr(spec, "?db=");
		size_t len = q != NULL ? (size_t)(q - spec - 5) : strlen(spec + 5);
		if (len == 0 || spec[5] != '/')
			return false;
		s->path = xstrndup(spec + 5, len);
		if (q != NULL) {
			errno = 0;
			db = strtoul(q + 4, &end, 10);
			if (errno != 0 || *end != '\0' || end == q + 4 || db > 65535)
				return false;
		}
		s->db = (int)db;
		return true;
	}
	if (strncmp(spec, "redis://", 8) != 0)
		return false;
	const char *h = spec + 8;
	size_t hlen = strcspn(h, ":/");
	if (hlen == 0)
		return false;
	s->host = xstrndup(h, hlen);
	s->port = 6379;
	const char *p = h + hlen;
	if (*p == ':') {
		errno = 0;
		unsigned long port = strtoul(p + 1, &end, 10);
		if (errno != 0 || end == p + 1 || port < 1 || port > 65535)
			return false;
		s->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1] != '\0') {
		errno = 0;
		db = strtoul(p + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == p + 1 || db > 65535)
			return false;
		s->db = (int)db;
	} else if (*p != '\0' && strcmp(p, "/") != 0) {
		return false;
	}
	return true;
}

/* -- common -- */

struct store *store_open(const char *spec, unsigned timeout_ms, size_t max_entries,
			 char **error_r)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->now_us = real_now_us;
	s->timeout.tv_sec = timeout_ms / 1000;
	s->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	if (strcmp(spec, "memory") == 0) {
		s->memory = true;
		s->n_slots = 1024;
		s->slots = xcalloc(s->n_slots, sizeof(*s->slots));
		s->max_entries = max_entries;
		return s;
	}
	if (!parse_redis(s, spec)) {
		struct buf b;
		buf_init(&b, 0);
		buf_printf(&b, "RateLimitStore: cannot parse \"%.200s\" (expected memory, "
			       "redis://HOST[:PORT][/DB] or unix:PATH[?db=N])", spec);
		*error_r = buf_steal(&b);
		store_close(&s);
		return NULL;
	}
	return s;
}

void store_close(struct store **sp)
{
	struct store *s = *sp;
	*sp = NULL;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_slots; i++) {
		for (struct entry *e = s->slots[i], *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(s->slots);
	if (s->rc != NULL)
		redisFree(s->rc);
	free(s->host);
	free(s->path);
	free(s);
}

int store_apply(struct store *s, struct bucket *b, size_t n, bool commit, bool *committed_r)
{
	*committed_r = false;
	for (size_t i = 0; i < n; i++)
		b[i].fits_r = false;
	if (n == 0)
		return 0;
	return s->memory ? mem_apply(s, b, n, commit, committed_r)
			 : redis_apply(s, b, n, commit, committed_r);
}

/* -- single keys (blocks, admin) -- */

static redisReply *redis_cmd(struct store *s, const char *what, int argc, const char **argv)
{
	if (!redis_connect(s)) {
		if (s->rc == NULL && !s->down_logged)
			log_msg(LOG_ERR, NULL, "Redis: cannot connect (%s)", what);
		return NULL;
	}
	size_t len[8];
	ASSERT(argc <= 8);
	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	redisReply *r = redisCommandArgv(s->rc, argc, argv, len);
	if (r == NULL) {
		redis_drop(s, s->rc->errstr[0] != '\0' ? s->rc->errstr : "no reply");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_msg(LOG_ERR, NULL, "Redis %s: %s", what, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static int64_t parse_value(const char *p)
{
	long long v = strtoll(p, NULL, 10);
	return v > 0 ? (int64_t)v : 0;
}

int store_get(struct store *s, const char *key, int64_t *value_r)
{
	*value_r = 0;
	if (s->memory) {
		int64_t v = mem_get(s, key);
		*value_r = v > s->now_us() ? v : 0;
		return 0;
	}
	const char *argv[] = { "GET", key };
	redisReply *r = redis_cmd(s, "GET", 2, argv);
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_STRING)
		*value_r = parse_value(r->str);
	freeReplyObject(r);
	return 0;
}

int store_set(struct store *s, const char *key, int64_t value)
{
	if (s->memory) {
		if (mem_set(s, key, value, s->now_us()))
			return 0;
		log_msg(LOG_ERR, NULL, "rate-limit table full (MaxEntries %zu)", s->max_entries);
		return -1;
	}
	/* only blocks are set this way; counters move in the script */
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)value);
	const char *argv[] = { "SET", key, num };
	redisReply *r = redis_cmd(s, "SET", 3, argv);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

int store_del(struct store *s, const char *key, bool *deleted_r)
{
	*deleted_r = false;
	if (s->memory) {
		struct entry **e = find_slot(s, key);
		if (*e != NULL) {
			struct entry *dead = *e;
			*deleted_r = dead->tat > s->now_us();
			*e = dead->next;
			free(dead);
			s->n_entries--;
		}
		return 0;
	}
	const char *argv[] = { "DEL", key };
	redisReply *r = redis_cmd(s, "DEL", 2, argv);
	if (r == NULL)
		return -1;
	*deleted_r = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return 0;
}

static int redis_now(struct store *s, int64_t *now_r)
{
	const char *argv[] = { "TIME" };
	redisReply *r = redis_cmd(s, "TIME", 1, argv);
	if (r == NULL)
		return -1;
	bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		  r->element[0]->type == REDIS_REPLY_STRING &&
		  r->element[1]->type == REDIS_REPLY_STRING;
	if (ok)
		*now_r = parse_value(r->element[0]->str) * 1000000 + parse_value(r->element[1]->str);
	freeReplyObject(r);
	return ok ? 0 : -1;
}

/* SCAN with MATCH prefix*, then GET each key (admin use: not hot). */
static int redis_scan(struct store *s, const char *prefix, size_t max,
		      void (*fn)(void *arg, const char *key, int64_t value), void *arg,
		      bool *truncated_r)
{
	struct buf pat;
	char cursor[32] = "0";
	size_t seen = 0;
	int rv = 0;
	buf_init(&pat, 0);
	/* keys are escaped (ratelimit.c): no glob characters in the prefix */
	buf_printf(&pat, "%s*", prefix);
	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pat.p, "COUNT", "1000" };
		redisReply *r = redis_cmd(s, "SCAN", 6, argv);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			if (r != NULL)
				freeReplyObject(r);
			rv = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *k = r->element[1]->element[i];
			int64_t v = 0;
			if (k->type != REDIS_REPLY_STRING)
				continue;
			if (seen >= max) {
				*truncated_r = true;
				continue;
			}
			if (store_get(s, k->str, &v) < 0) {
				rv = -1;
				break;
			}
			if (v > 0) {
				fn(arg, k->str, v);
				seen++;
			}
		}
		freeReplyObject(r);
	} while (rv == 0 && strcmp(cursor, "0") != 0);
	buf_free(&pat);
	return rv;
}

int store_scan(struct store *s, const char *prefix, size_t max,
	       void (*fn)(void *arg, const char *key, int64_t value), void *arg,
	       int64_t *now_r, bool *truncated_r)
{
	*truncated_r = false;
	if (!s->memory) {
		if (redis_now(s, now_r) < 0)
			return -1;
		return redis_scan(s, prefix, max, fn, arg, truncated_r);
	}
	int64_t now = s->now_us();
	size_t seen = 0, plen = strlen(prefix);
	*now_r = now;
	for (size_t i = 0; i < s->n_slots; i++) {
		for (struct entry *e = s->slots[i]; e != NULL; e = e->next) {
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
