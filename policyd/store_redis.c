/*
 * The Redis store of the daemon (store.h, store_impl.h): hiredis's
 * asynchronous API on the daemon's libevent loop, so a slow or silent
 * Redis delays only the requests that wait for it and never the loop.
 * One connection, pipelined: each request's script goes out at once and
 * the replies come back in order.  The script reads the request's gate
 * (a block) and every bucket, decides, and writes them all, on Redis's
 * own clock (TIME), so MX hosts with skewed clocks still share one limit.
 *
 * A command somebody waits for (a "wait" below) has a deadline of
 * StoreTimeout (one timer for all: they expire in issue order).  When it fires the waiter is answered -1 (OnStoreError)
 * and detached; the wait itself stays with hiredis until its reply comes
 * or the connection goes, and a reply with nobody waiting is dropped.  A
 * cancelled call is detached the same way.  So every call is answered
 * exactly once and no reply reaches a waiter that has gone.
 *
 * The connection is made lazily, at the first command, and again after a
 * loss, at most once per STORE_RETRY_SECONDS; in between, commands fail
 * at once.  Each connection is set up first: AUTH (RedisUser and the
 * password of RedisPasswordFile, when configured), SELECT for a database
 * other than 0; commands queue until every set-up command has answered
 * (pipelined behind a failed AUTH or SELECT they would be refused, or
 * write to database 0), and a refusal drops the connection (logged once
 * per outage, with Redis's words: requests get OnStoreError).  A Redis that answers nothing for
 * STORE_STALL_SECONDS while commands wait (checked when one times out, so
 * StoreTimeout if that is longer) is taken for gone (a half-open
 * connection, a connect that hangs): the connection is dropped and made
 * again.  At most STORE_MAX_WAITS commands wait at once; more fail at once.
 *
 * Limits: hiredis 0.14 resolves a host name with a blocking getaddrinfo
 * at each connection attempt, so HOST should be an address.  hiredis
 * 0.14 has no command timeouts of its own: the timers here are ours.
 */
#include "store_impl.h"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "log.h"
#include "xalloc.h"

/* hiredis's adapter: static functions, defined in this file only */
#include <hiredis/adapters/libevent.h>

/* a Redis silent this long while commands wait is taken for gone */
#define STORE_STALL_SECONDS 2
/* commands in flight or queued, at most */
#define STORE_MAX_WAITS 20000

/*
 * KEYS: the buckets' keys, then the gate when ARGV[2] is '1'.  ARGV: commit
 * ('1' or '0'), gate ('1' or '0'), then T, capacity, cost, hard per bucket.
 * Returns n + 2 integers: each bucket fits (1/0), committed, gated.
 */
static const char script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local n = #KEYS\n"
	"local out, new, ok = {}, {}, true\n"
	"if ARGV[2] == '1' then\n"
	"  n = n - 1\n"
	"  if (tonumber(redis.call('GET', KEYS[#KEYS]) or '0') or 0) > 0 then\n"
	"    for i = 1, n + 1 do out[i] = 0 end\n"
	"    out[n + 2] = 1\n"
	"    return out\n"
	"  end\n"
	"end\n"
	"for i = 1, n do\n"
	"  local b = 3 + (i - 1) * 4\n"
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
	"  for i = 1, n do\n"
	"    redis.call('SET', KEYS[i], string.format('%.0f', new[i]), 'PX',\n"
	"               math.floor((new[i] - now) / 1000) + 1000)\n"
	"  end\n"
	"end\n"
	"out[n + 1] = committed\n"
	"out[n + 2] = 0\n"
	"return out\n";

struct redis_store;

/* One command: queued (not yet sent) or with hiredis until its reply. */
struct wait {
	struct wait *prev, *next;	/* the queue, while not sent; the free list */
	struct wait *dprev, *dnext;	/* the deadline list, while its waiter waits */
	struct redis_store *rs;
	struct store_call *call;	/* the waiter, or NULL (none, gone, answered) */
	char *cmd;			/* formatted, until sent */
	size_t len;
	int64_t since_ms;		/* issued (monotonic) */
	bool sent;
	bool timed;			/* it had a waiter (else: a block's SET) */
	bool evalsha;			/* EVALSHA: NOSCRIPT is retried as EVAL */
};

struct redis_store {
	struct store base;
	struct store_redis_spec spec;
	struct event_base *ev;
	unsigned timeout_ms;
	redisAsyncContext *ac;		/* NULL: down (or not yet connected) */
	bool ready;			/* set up (AUTH, SELECT): commands go out at once */
	int setup_left;			/* set-up commands not yet answered */
	char *auth_user;		/* RedisUser, or NULL */
	char *auth_password;		/* from RedisPasswordFile, or NULL: no AUTH */
	struct wait *queue_head, *queue_tail;	/* until ready */
	/*
	 * Waits whose waiter waits, oldest first: all have the same
	 * StoreTimeout, so issue order is deadline order, and one timer, set
	 * for the oldest, serves them all.
	 */
	struct wait *dl_head, *dl_tail;
	struct event *timer;
	/*
	 * Activated by the first command of a loop iteration, run after the
	 * iteration's other callbacks: hiredis writes all its commands then,
	 * in one write(), and the adapter's add and removal of the write
	 * event cancel out in libevent's change list (no epoll_ctl).
	 */
	struct event *flush;
	struct wait *free_waits;	/* kept for reuse (no malloc per command) */
	size_t n_free;
	char sha[41];			/* the script's SHA1, loaded: EVALSHA; "" EVAL */
	size_t n_waits;			/* alive, sent or queued */
	int64_t next_try_ms;		/* no connection attempt before this */
	int64_t stall_since_ms;		/* a command timed out, no reply since; or 0 */
	bool down_logged;
	bool full_logged;
	bool closing;
};

static struct redis_store *rstore(struct store *s)
{
	return (struct redis_store *)s;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *where(const struct redis_store *rs)
{
	return rs->spec.path != NULL ? rs->spec.path : rs->spec.host;
}

/* -- waits -- */

static void queue_unlink(struct redis_store *rs, struct wait *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		rs->queue_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		rs->queue_tail = w->prev;
	w->prev = w->next = NULL;
}

#define STORE_MAX_FREE_WAITS 1024

static void wait_free(struct wait *w)
{
	struct redis_store *rs = w->rs;
	redisFreeCommand(w->cmd);
	w->cmd = NULL;
	rs->n_waits--;
	if (rs->n_free >= STORE_MAX_FREE_WAITS) {
		free(w);
		return;
	}
	w->next = rs->free_waits;
	rs->free_waits = w;
	rs->n_free++;
}

static void deadline_unlink(struct redis_store *rs, struct wait *w)
{
	if (w->dprev != NULL)
		w->dprev->dnext = w->dnext;
	else
		rs->dl_head = w->dnext;
	if (w->dnext != NULL)
		w->dnext->dprev = w->dprev;
	else
		rs->dl_tail = w->dprev;
	w->dprev = w->dnext = NULL;
}

/* Takes the waiter off w (it will not be answered through w again). */
static struct store_call *detach(struct wait *w)
{
	struct store_call *call = w->call;
	w->call = NULL;
	if (call != NULL) {
		deadline_unlink(w->rs, w);
		call->pending = NULL;
	}
	return call;
}

/* -- the connection -- */

static void fail_queue(struct redis_store *rs)
{
	struct wait *w;
	while ((w = rs->queue_head) != NULL) {
		queue_unlink(rs, w);
		struct store_call *call = detach(w);
		wait_free(w);
		if (call != NULL)
			call->done(call, -1);
	}
}

/*
 * The connection is lost or given up (the caller frees it, or hiredis
 * does): requests use OnStoreError until a reconnection works.
 */
static void went_down(struct redis_store *rs, const char *why)
{
	if (!rs->down_logged)
		log_msg(LOG_ERR, NULL, "Redis %s:%d: %s; rate limits use OnStoreError until it is back",
			where(rs), rs->spec.port, why != NULL && why[0] != '\0' ? why : "connection lost");
	rs->down_logged = true;
	rs->ac = NULL;
	rs->ready = false;
	rs->stall_since_ms = 0;
	rs->next_try_ms = now_ms() + STORE_RETRY_SECONDS * 1000;
	fail_queue(rs);
}

/* Redis answered something: it is there. */
static void heard_from(struct redis_store *rs)
{
	rs->stall_since_ms = 0;
	if (rs->down_logged)
		log_msg(LOG_NOTICE, NULL, "Redis %s:%d: connected again", where(rs), rs->spec.port);
	rs->down_logged = false;
}

/* Drops a live connection (from a timer, never inside a hiredis callback). */
static void drop(struct redis_store *rs, const char *why)
{
	redisAsyncContext *ac = rs->ac;
	went_down(rs, why);
	/* every wait still with hiredis gets its NULL reply now */
	redisAsyncFree(ac);
}

static bool issue(struct redis_store *rs, struct wait *w);
static int format_script(const struct redis_store *rs, const struct store_call *call, bool sha,
			 char **cmd_r);

/*
 * EVALSHA answered NOSCRIPT (Redis lost its script cache: SCRIPT FLUSH, a
 * fail-over): the same call goes again as EVAL, which also loads the
 * script for the next EVALSHA.  It keeps its place in the deadline list.
 */
static bool retry_as_eval(struct redis_store *rs, struct wait *w)
{
	char *cmd = NULL;
	int len = format_script(rs, w->call, false, &cmd);
	ASSERT(len > 0);
	w->cmd = cmd;
	w->len = (size_t)len;
	w->sent = false;
	w->evalsha = false;
	return rs->ac != NULL && issue(rs, w);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct wait *w = privdata;
	struct redis_store *rs = w->rs;
	const redisReply *r = reply;
	if (r == NULL && ac == rs->ac)
		went_down(rs, ac->errstr);
	else if (r != NULL)
		heard_from(rs);
	if (w->call != NULL && w->evalsha && store_redis_is_noscript(r) && ac == rs->ac &&
	    retry_as_eval(rs, w))
		return;
	struct store_call *call = detach(w);
	bool nobody_waited = !w->timed;	/* a block's SET */
	wait_free(w);
	if (call != NULL) {
		call->done(call, r != NULL ? store_redis_read_script(call, r) : -1);
	} else if (nobody_waited && r != NULL && r->type == REDIS_REPLY_ERROR) {
		log_msg(LOG_ERR, NULL, "Redis %s:%d: a block was not stored: %s", where(rs),
			rs->spec.port, r->str);
	}
}

/* Sends w (ready) or queues it; false when the connection refuses it. */
static bool issue(struct redis_store *rs, struct wait *w)
{
	if (!rs->ready) {
		w->prev = rs->queue_tail;
		if (rs->queue_tail != NULL)
			rs->queue_tail->next = w;
		else
			rs->queue_head = w;
		rs->queue_tail = w;
		return true;
	}
	if (redisAsyncFormattedCommand(rs->ac, on_reply, w, w->cmd, w->len) != REDIS_OK)
		return false;
	if (!event_pending(rs->flush, EV_TIMEOUT, NULL))
		event_active(rs->flush, EV_TIMEOUT, 0);
	w->sent = true;
	redisFreeCommand(w->cmd);
	w->cmd = NULL;
	return true;
}

/* Set up: send what waited, in order. */
static void become_ready(struct redis_store *rs)
{
	rs->ready = true;
	struct wait *w;
	while ((w = rs->queue_head) != NULL) {
		queue_unlink(rs, w);
		if (!issue(rs, w)) {
			struct store_call *call = detach(w);
			wait_free(w);
			if (call != NULL)
				call->done(call, -1);
		}
	}
}

/*
 * A set-up command answered (AUTH, SELECT): the last one makes the
 * connection ready.  A refusal gives the connection up: commands queued
 * behind a failed AUTH or SELECT would be refused or go to database 0.
 */
static void setup_answered(redisAsyncContext *ac, const redisReply *r, struct redis_store *rs,
			   const char *what)
{
	char why[256];
	if (ac != rs->ac)
		return;		/* a connection we gave up, being freed */
	if (r == NULL) {
		went_down(rs, ac->errstr);
		return;
	}
	if (!store_redis_status_ok(r, what, why, sizeof(why))) {
		went_down(rs, why);
		redisAsyncFree(ac);	/* in a callback: hiredis frees it on return */
		return;
	}
	if (--rs->setup_left > 0)
		return;
	heard_from(rs);
	become_ready(rs);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
	setup_answered(ac, reply, privdata, "AUTH");
}

static void on_select(redisAsyncContext *ac, void *reply, void *privdata)
{
	setup_answered(ac, reply, privdata, "SELECT");
}

/* SCRIPT LOAD answered: EVALSHA from now on; if refused, EVAL (logged once). */
static void on_script_load(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_store *rs = privdata;
	const redisReply *r = reply;
	if (ac != rs->ac)
		return;
	if (r == NULL) {
		went_down(rs, ac->errstr);
		return;
	}
	if (!store_redis_script_sha(r, rs->sha)) {
		if (!rs->full_logged)
			log_msg(LOG_WARNING, NULL, "Redis %s:%d: SCRIPT LOAD refused (%.100s); the "
				"script goes whole with each request (EVAL)", where(rs), rs->spec.port,
				r->type == REDIS_REPLY_ERROR && r->str != NULL ? r->str : "?");
		rs->sha[0] = '\0';
	}
	if (--rs->setup_left > 0)
		return;
	heard_from(rs);
	become_ready(rs);
}

/* AUTH and SELECT, pipelined ahead of everything else; false if not sent. */
static bool send_setup(struct redis_store *rs, redisAsyncContext *ac)
{
	rs->setup_left = 0;
	if (rs->auth_password != NULL) {
		const char *argv[3] = { "AUTH" };
		size_t len[3] = { 4 };
		int argc = 1;
		if (rs->auth_user != NULL) {
			argv[argc] = rs->auth_user;
			len[argc++] = strlen(rs->auth_user);
		}
		argv[argc] = rs->auth_password;
		len[argc++] = strlen(rs->auth_password);
		if (redisAsyncCommandArgv(ac, on_auth, rs, argc, argv, len) != REDIS_OK)
			return false;
		rs->setup_left++;
	}
	if (rs->spec.db != 0) {
		if (redisAsyncCommand(ac, on_select, rs, "SELECT %d", rs->spec.db) != REDIS_OK)
			return false;
		rs->setup_left++;
	}
	/* the script once per connection; each request then sends its SHA1 only */
	rs->sha[0] = '\0';
	if (redisAsyncCommand(ac, on_script_load, rs, "SCRIPT LOAD %s", script) != REDIS_OK)
		return false;
	rs->setup_left++;
	rs->ready = false;
	return true;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_store *rs = ac->data;
	/* on failure hiredis frees ac when this returns */
	if (status != REDIS_OK && ac == rs->ac)
		went_down(rs, ac->errstr);
}

static void on_disconnect(const redisAsyncContext *ac, int status UNUSED)
{
	struct redis_store *rs = ac->data;
	if (ac == rs->ac)
		went_down(rs, ac->errstr);
}

/* A connection to send on, made if need be; false while Redis is down. */
static bool connected(struct redis_store *rs)
{
	if (rs->ac != NULL)
		return true;
	if (rs->closing || now_ms() < rs->next_try_ms)
		return false;
	redisAsyncContext *ac = rs->spec.path != NULL ? redisAsyncConnectUnix(rs->spec.path)
						      : redisAsyncConnect(rs->spec.host, rs->spec.port);
	if (ac == NULL || ac->err) {
		went_down(rs, ac != NULL ? ac->errstr : "cannot connect");
		if (ac != NULL)
			redisAsyncFree(ac);
		return false;
	}
	ac->data = rs;
	redisLibeventAttach(ac, rs->ev);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	rs->ac = ac;
	if (!send_setup(rs, ac))
		drop(rs, "cannot send AUTH or SELECT");
	return rs->ac != NULL;
}

static void arm_timer(struct redis_store *rs, int64_t now)
{
	if (rs->dl_head == NULL)
		return;
	int64_t ms = rs->dl_head->since_ms + rs->timeout_ms - now;
	if (ms < 0)
		ms = 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(rs->timer, &tv);
}

/* StoreTimeout for the oldest command: its waiter gets -1 now. */
static void expire(struct redis_store *rs, struct wait *w, int64_t now)
{
	if (rs->stall_since_ms == 0) {
		rs->stall_since_ms = w->since_ms;
		if (!rs->down_logged)	/* not again and again in one outage */
			log_msg(LOG_WARNING, NULL, "Redis %s:%d: no answer within StoreTimeout "
				"(%u ms); waiting requests get OnStoreError", where(rs),
				rs->spec.port, rs->timeout_ms);
	}
	struct store_call *call = detach(w);
	if (!w->sent) {
		queue_unlink(rs, w);
		wait_free(w);
	}
	/* w may be gone from here on (drop() frees what hiredis holds) */
	if (rs->ac != NULL && now - rs->stall_since_ms >= STORE_STALL_SECONDS * 1000) {
		char why[80];
		snprintf(why, sizeof(why), "no answer for %d s", STORE_STALL_SECONDS);
		drop(rs, why);
	}
	call->done(call, -1);
}

/*
 * The one timer: every wait past its deadline expires, oldest first; then
 * the timer is set for the next one.  (A wait answered meanwhile left the
 * list: the timer may come early, and is set again.)
 */
static void on_timer(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct redis_store *rs = arg;
	int64_t now = now_ms();
	while (rs->dl_head != NULL && rs->dl_head->since_ms + rs->timeout_ms <= now)
		expire(rs, rs->dl_head, now);
	if (!evtimer_pending(rs->timer, NULL))
		arm_timer(rs, now);
}

static void on_flush(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct redis_store *rs = arg;
	if (rs->ac != NULL && rs->ready)
		redisAsyncHandleWrite(rs->ac);
}

/* A new wait for a formatted command; call may be NULL (nobody waits). */
static struct wait *wait_new(struct redis_store *rs, struct store_call *call, char *cmd, int len)
{
	struct wait *w = rs->free_waits;
	if (w != NULL) {
		rs->free_waits = w->next;
		rs->n_free--;
		memset(w, 0, sizeof(*w));
	} else {
		w = xcalloc(1, sizeof(*w));
	}
	w->rs = rs;
	w->call = call;
	w->cmd = cmd;
	w->len = (size_t)len;
	w->since_ms = now_ms();
	w->timed = call != NULL;
	rs->n_waits++;
	if (call != NULL) {
		w->dprev = rs->dl_tail;
		if (rs->dl_tail != NULL)
			rs->dl_tail->dnext = w;
		else
			rs->dl_head = w;
		rs->dl_tail = w;
		if (!evtimer_pending(rs->timer, NULL))
			arm_timer(rs, w->since_ms);
	}
	return w;
}

/* The way to Redis for one more command, or false (logged). */
static bool can_send(struct redis_store *rs)
{
	if (!connected(rs))
		return false;
	if (rs->n_waits < STORE_MAX_WAITS) {
		rs->full_logged = false;
		return true;
	}
	if (!rs->full_logged)
		log_msg(LOG_ERR, NULL, "Redis %s:%d: %d commands wait already; more get "
			"OnStoreError at once", where(rs), rs->spec.port, STORE_MAX_WAITS);
	rs->full_logged = true;
	return false;
}

/*
 * EVALSHA sha (or EVAL script) numkeys keys... [gate] commit gate
 * (T cap cost hard)...  On the stack: at most STORE_MAX_BUCKETS buckets.
 */
static int format_script(const struct redis_store *rs, const struct store_call *call, bool sha,
			 char **cmd_r)
{
	size_t n = call->n, g = call->gate != NULL;
	size_t argc = 3 + n + g + 2 + 4 * n;
	const char *argv[3 + STORE_MAX_BUCKETS + 1 + 2 + 4 * STORE_MAX_BUCKETS];
	size_t argvlen[ARRAY_LEN(argv)];
	char nums[3 * STORE_MAX_BUCKETS + 1][24];
	size_t k = 0, m = 0;
	ASSERT(n <= STORE_MAX_BUCKETS);
	argv[k++] = sha ? "EVALSHA" : "EVAL";
	argv[k++] = sha ? rs->sha : script;
	snprintf(nums[m], sizeof(nums[m]), "%zu", n + g);
	argv[k++] = nums[m++];
	for (size_t i = 0; i < n; i++)
		argv[k++] = call->b[i].key;
	if (g)
		argv[k++] = call->gate;
	argv[k++] = call->commit ? "1" : "0";
	argv[k++] = g ? "1" : "0";
	for (size_t i = 0; i < n; i++) {
		const struct bucket *b = &call->b[i];
		snprintf(nums[m], sizeof(nums[m]), "%lld", (long long)b->interval_us);
		argv[k++] = nums[m++];
		snprintf(nums[m], sizeof(nums[m]), "%lld", (long long)b->capacity);
		argv[k++] = nums[m++];
		snprintf(nums[m], sizeof(nums[m]), "%lld", (long long)b->cost);
		argv[k++] = nums[m++];
		argv[k++] = b->hard ? "1" : "0";
	}
	ASSERT(k == argc);
	for (size_t i = 0; i < argc; i++)
		argvlen[i] = strlen(argv[i]);
	return redisFormatCommandArgv(cmd_r, (int)argc, argv, argvlen);
}

static int redis_apply(struct store *s, struct store_call *call)
{
	struct redis_store *rs = rstore(s);
	char *cmd = NULL;
	if (!can_send(rs))
		return -1;
	/* the SHA1 is known once the connection is set up; queued ones go whole */
	bool sha = rs->ready && rs->sha[0] != '\0';
	int len = format_script(rs, call, sha, &cmd);
	ASSERT(len > 0);
	struct wait *w = wait_new(rs, call, cmd, len);
	w->evalsha = sha;
	if (!issue(rs, w)) {
		detach(w);
		wait_free(w);
		return -1;
	}
	call->pending = w;
	return STORE_PENDING;
}

static void redis_cancel(struct store *s UNUSED, struct store_call *call)
{
	struct wait *w = call->pending;
	detach(w);
	if (!w->sent) {
		queue_unlink(w->rs, w);
		wait_free(w);
	}
}

/* Blocks only: sent, not waited for; a refusal is logged when it comes. */
static int redis_set(struct store *s, const char *key, int64_t value)
{
	struct redis_store *rs = rstore(s);
	char num[24], *cmd = NULL;
	if (!can_send(rs))
		return -1;
	snprintf(num, sizeof(num), "%lld", (long long)value);
	const char *argv[] = { "SET", key, num };
	size_t argvlen[] = { 3, strlen(key), strlen(num) };
	int len = redisFormatCommandArgv(&cmd, 3, argv, argvlen);
	ASSERT(len > 0);
	struct wait *w = wait_new(rs, NULL, cmd, len);
	if (issue(rs, w))
		return 0;
	wait_free(w);
	return -1;
}

static void forget_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	*p = NULL;
}

/* Used from the next connection on. */
static void redis_set_auth(struct store *s, const char *user, const char *password)
{
	struct redis_store *rs = rstore(s);
	forget_secret(&rs->auth_user);
	forget_secret(&rs->auth_password);
	rs->auth_user = user != NULL ? xstrdup(user) : NULL;
	rs->auth_password = password != NULL ? xstrdup(password) : NULL;
}

static void redis_close(struct store *s)
{
	struct redis_store *rs = rstore(s);
	redisAsyncContext *ac = rs->ac;
	rs->closing = true;
	rs->ac = NULL;
	fail_queue(rs);
	if (ac != NULL)
		redisAsyncFree(ac);	/* answers what was sent: NULL replies */
	ASSERT(rs->n_waits == 0);
	while (rs->free_waits != NULL) {
		struct wait *w = rs->free_waits;
		rs->free_waits = w->next;
		free(w);
	}
	event_free(rs->timer);
	event_free(rs->flush);
	forget_secret(&rs->auth_user);
	forget_secret(&rs->auth_password);
	store_redis_spec_free(&rs->spec);
	free(rs);
}

static const struct store_ops redis_ops = {
	.name = "redis",
	.apply = redis_apply,
	.cancel = redis_cancel,
	.set = redis_set,
	.set_auth = redis_set_auth,
	.close = redis_close,
};

struct store *store_redis_new(const char *spec, unsigned timeout_ms, struct event_base *base,
			      char **error_r)
{
	struct redis_store *rs = xcalloc(1, sizeof(*rs));
	if (!store_redis_spec_parse(&rs->spec, spec, error_r)) {
		free(rs);
		return NULL;
	}
	rs->base.ops = &redis_ops;
	rs->base.now_us = store_real_now_us;
	rs->ev = base;
	rs->timeout_ms = timeout_ms;
	rs->timer = evtimer_new(base, on_timer, rs);
	rs->flush = event_new(base, -1, 0, on_flush, rs);
	ASSERT(rs->timer != NULL && rs->flush != NULL);
	return &rs->base;
}
