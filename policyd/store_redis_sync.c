/*
 * The Redis store of the admin command line (store.h, store_impl.h):
 * blocking hiredis calls, each bounded by StoreTimeout.  A blocking
 * context is right here: `cachet-policyd list` and friends run outside
 * any event loop and wait for each answer anyway.  The daemon uses
 * store_redis.c, which never blocks.  Single keys only (get, set, del,
 * scan): the counters move in the daemon's script.  A block is the value
 * STORE_FOREVER, kept without expiry.  Each connection first sends AUTH
 * (when a password is set) and SELECT (a database other than 0).
 *
 * Also here: the parser of the Redis specs (redis://HOST[:PORT][/DB],
 * unix:PATH[?db=N]), which both Redis stores use.
 */
#include "store_impl.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"
#include "compiler.h"
#include "log.h"
#include "xalloc.h"

struct redis_sync {
	struct store base;
	struct store_redis_spec spec;
	struct timeval timeout;
	redisContext *rc;
	time_t next_try;	/* no connection attempt before this */
	bool down_logged;
	char *auth_user;	/* RedisUser, or NULL */
	char *auth_password;	/* or NULL: no AUTH */
};

static struct redis_sync *rsync(struct store *s)
{
	return (struct redis_sync *)s;
}

static void redis_drop(struct redis_sync *r, const char *why)
{
	if (!r->down_logged)
		log_msg(LOG_ERR, NULL, "Redis %s:%d: %s; rate limits use OnStoreError until it is back",
			r->spec.path != NULL ? r->spec.path : r->spec.host, r->spec.port, why);
	r->down_logged = true;
	if (r->rc != NULL)
		redisFree(r->rc);
	r->rc = NULL;
	r->next_try = time(NULL) + STORE_RETRY_SECONDS;
}

static bool redis_connect(struct redis_sync *r)
{
	if (r->rc != NULL)
		return true;
	if (time(NULL) < r->next_try)
		return false;
	r->rc = r->spec.path != NULL
			? redisConnectUnixWithTimeout(r->spec.path, r->timeout)
			: redisConnectWithTimeout(r->spec.host, r->spec.port, r->timeout);
	if (r->rc == NULL || r->rc->err) {
		redis_drop(r, r->rc != NULL ? r->rc->errstr : "cannot connect");
		return false;
	}
	redisSetTimeout(r->rc, r->timeout);
	char why[256];
	if (r->auth_password != NULL) {
		const char *argv[3] = { "AUTH" };
		size_t len[3] = { 4 };
		int argc = 1;
		if (r->auth_user != NULL) {
			argv[argc] = r->auth_user;
			len[argc++] = strlen(r->auth_user);
		}
		argv[argc] = r->auth_password;
		len[argc++] = strlen(r->auth_password);
		redisReply *reply = redisCommandArgv(r->rc, argc, argv, len);
		bool ok = store_redis_status_ok(reply, "AUTH", why, sizeof(why));
		if (reply != NULL)
			freeReplyObject(reply);
		if (!ok) {
			redis_drop(r, why);
			return false;
		}
	}
	if (r->spec.db != 0) {
		redisReply *reply = redisCommand(r->rc, "SELECT %d", r->spec.db);
		bool ok = store_redis_status_ok(reply, "SELECT", why, sizeof(why));
		if (reply != NULL)
			freeReplyObject(reply);
		if (!ok) {
			redis_drop(r, why);
			return false;
		}
	}
	if (r->down_logged)
		log_msg(LOG_NOTICE, NULL, "Redis %s:%d: connected again",
			r->spec.path != NULL ? r->spec.path : r->spec.host, r->spec.port);
	r->down_logged = false;
	return true;
}

static redisReply *redis_cmd(struct redis_sync *r, const char *what, int argc,
			     const char **argv)
{
	if (!redis_connect(r)) {
		if (r->rc == NULL && !r->down_logged)
			log_msg(LOG_ERR, NULL, "Redis: cannot connect (%s)", what);
		return NULL;
	}
	size_t len[8];
	ASSERT(argc <= 8);
	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	redisReply *reply = redisCommandArgv(r->rc, argc, argv, len);
	if (reply == NULL) {
		redis_drop(r, r->rc->errstr[0] != '\0' ? r->rc->errstr : "no reply");
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		log_msg(LOG_ERR, NULL, "Redis %s: %s", what, reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

static int redis_get(struct store *s, const char *key, int64_t *value_r)
{
	const char *argv[] = { "GET", key };
	redisReply *r = redis_cmd(rsync(s), "GET", 2, argv);
	if (r == NULL)
		return -1;
	bool ok = store_redis_parse_value(r, value_r);
	freeReplyObject(r);
	if (!ok)
		log_msg(LOG_WARNING, NULL, "Redis GET %.100s: not a counter; taken as none", key);
	return 0;
}

static int redis_set(struct store *s, const char *key, int64_t value)
{
	/* only blocks are set this way; counters move in the script */
	char num[24];
	snprintf(num, sizeof(num), "%lld", (long long)value);
	const char *argv[] = { "SET", key, num };
	redisReply *r = redis_cmd(rsync(s), "SET", 3, argv);
	if (r == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}

static int redis_del(struct store *s, const char *key, bool *deleted_r)
{
	const char *argv[] = { "DEL", key };
	redisReply *r = redis_cmd(rsync(s), "DEL", 2, argv);
	if (r == NULL)
		return -1;
	*deleted_r = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
	freeReplyObject(r);
	return 0;
}

static int redis_now(struct redis_sync *rs, int64_t *now_r)
{
	const char *argv[] = { "TIME" };
	redisReply *r = redis_cmd(rs, "TIME", 1, argv);
	if (r == NULL)
		return -1;
	bool ok = store_redis_parse_time(r, now_r);
	freeReplyObject(r);
	return ok ? 0 : -1;
}

/* SCAN with MATCH prefix*, then GET each key (admin use: not hot). */
static int redis_scan(struct store *s, const char *prefix, size_t max,
		      void (*fn)(void *arg, const char *key, int64_t value), void *arg,
		      int64_t *now_r, bool *truncated_r)
{
	struct redis_sync *rs = rsync(s);
	struct buf pat;
	char cursor[32] = "0";
	size_t seen = 0;
	int rv = 0;
	if (redis_now(rs, now_r) < 0)
		return -1;
	buf_init(&pat, 0);
	/* keys are escaped (ratelimit.c): no glob characters in the prefix */
	buf_printf(&pat, "%s*", prefix);
	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", pat.p, "COUNT", "1000" };
		redisReply *r = redis_cmd(rs, "SCAN", 6, argv);
		const redisReply *keys;
		if (r == NULL || !store_redis_parse_scan(r, cursor, &keys)) {
			if (r != NULL)
				freeReplyObject(r);
			rv = -1;
			break;
		}
		for (size_t i = 0; i < keys->elements; i++) {
			const redisReply *k = keys->element[i];
			int64_t v = 0;
			if (!store_redis_scan_key(k))
				continue;
			if (seen >= max) {
				*truncated_r = true;
				continue;
			}
			if (redis_get(s, k->str, &v) < 0) {
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

static void forget_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	*p = NULL;
}

static void redis_set_auth(struct store *s, const char *user, const char *password)
{
	struct redis_sync *rs = rsync(s);
	forget_secret(&rs->auth_user);
	forget_secret(&rs->auth_password);
	rs->auth_user = user != NULL ? xstrdup(user) : NULL;
	rs->auth_password = password != NULL ? xstrdup(password) : NULL;
}

static void redis_close(struct store *s)
{
	struct redis_sync *rs = rsync(s);
	forget_secret(&rs->auth_user);
	forget_secret(&rs->auth_password);
	if (rs->rc != NULL)
		redisFree(rs->rc);
	store_redis_spec_free(&rs->spec);
	free(rs);
}

static const struct store_ops redis_sync_ops = {
	.name = "redis (blocking)",
	.get = redis_get,
	.set = redis_set,
	.del = redis_del,
	.scan = redis_scan,
	.set_auth = redis_set_auth,
	.close = redis_close,
};

static bool parse_db(const char *p, int *db_r)
{
	char *end;
	errno = 0;
	unsigned long db = strtoul(p, &end, 10);
	if (errno != 0 || *end != '\0' || end == p || db > 65535)
		return false;
	*db_r = (int)db;
	return true;
}

/* unix:PATH[?db=N] */
static bool parse_unix(struct store_redis_spec *r, const char *spec)
{
	const char *q = strstr(spec, "?db=");
	size_t len = q != NULL ? (size_t)(q - spec - 5) : strlen(spec + 5);
	if (len == 0 || spec[5] != '/')
		return false;
	r->path = xstrndup(spec + 5, len);
	return q == NULL || parse_db(q + 4, &r->db);
}

/* redis://HOST[:PORT][/DB] */
static bool parse_url(struct store_redis_spec *r, const char *spec)
{
	const char *h = spec + 8;
	size_t hlen = strcspn(h, ":/");
	if (hlen == 0)
		return false;
	r->host = xstrndup(h, hlen);
	r->port = 6379;
	const char *p = h + hlen;
	if (*p == ':') {
		char *end;
		errno = 0;
		unsigned long port = strtoul(p + 1, &end, 10);
		if (errno != 0 || end == p + 1 || port < 1 || port > 65535)
			return false;
		r->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1] != '\0')
		return parse_db(p + 1, &r->db);
	return *p == '\0' || strcmp(p, "/") == 0;
}

bool store_redis_spec_parse(struct store_redis_spec *r, const char *spec, char **error_r)
{
	bool ok = false;
	memset(r, 0, sizeof(*r));
	if (strncmp(spec, "unix:", 5) == 0)
		ok = parse_unix(r, spec);
	else if (strncmp(spec, "redis://", 8) == 0)
		ok = parse_url(r, spec);
	if (ok)
		return true;
	store_redis_spec_free(r);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "RateLimitStore: cannot parse \"%.200s\" (expected memory, "
		       "redis://HOST[:PORT][/DB] or unix:PATH[?db=N])", spec);
	*error_r = buf_steal(&b);
	return false;
}

void store_redis_spec_free(struct store_redis_spec *r)
{
	free(r->host);
	free(r->path);
	r->host = NULL;
	r->path = NULL;
}

struct store *store_redis_sync_new(const char *spec, unsigned timeout_ms, char **error_r)
{
	struct redis_sync *rs = xcalloc(1, sizeof(*rs));
	if (!store_redis_spec_parse(&rs->spec, spec, error_r)) {
		free(rs);
		return NULL;
	}
	rs->base.ops = &redis_sync_ops;
	rs->base.now_us = store_real_now_us;
	rs->timeout.tv_sec = timeout_ms / 1000;
	rs->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	return &rs->base;
}
