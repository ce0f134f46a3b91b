/*
 * Tests for the counter store behind its table of operations
 * (policyd/store.c, store_memory.c, store_redis.c): what the dispatch does
 * for every kind (outputs reset, the empty call answered without the
 * kind, an operation a kind lacks), the memory store's step with a gate,
 * and the daemon's Redis store against a fake Redis (a loopback listener
 * on the test's own event loop that speaks just enough RESP): a reply, a
 * silent server (StoreTimeout), a closed connection, a refused
 * connection, a failed SELECT, a reply that comes after the timeout (it
 * is dropped and the next call still gets its own), a cancelled call, and
 * store_close with a call pending.
 */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "compiler.h"
#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "t.h"

#define SEC 1000000LL
#define TIMEOUT_MS 100

/* -- the dispatch, through a fake kind -- */

static int fake_applied;

static int fake_apply(struct store *s UNUSED, struct store_call *call)
{
	fake_applied++;
	/* the dispatch reset the outputs before */
	T_CHECK(!call->committed_r && !call->gated_r);
	for (size_t i = 0; i < call->n; i++)
		T_CHECK(!call->b[i].fits_r);
	call->committed_r = true;
	return 0;
}

static void fake_close(struct store *s)
{
	free(s);
}

static const struct store_ops fake_ops = {
	.name = "fake", .apply = fake_apply, .close = fake_close,
};

static void test_dispatch(void)
{
	struct store *s = calloc(1, sizeof(*s));
	struct bucket b = { "k", SEC, 1, 1, true, true };
	static const struct {
		size_t n;
		const char *gate;
		bool reaches_kind;
	} cases[] = {
		{ 0, NULL, false },	/* nothing to ask: answered by store.c */
		{ 0, "cachet:!block:u=a", true },
		{ 1, NULL, true },
		{ 1, "cachet:!block:u=a", true },
	};
	s->ops = &fake_ops;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct store_call call = { .b = &b, .n = cases[i].n, .gate = cases[i].gate };
		call.committed_r = call.gated_r = true;
		b.fits_r = true;
		fake_applied = 0;
		T_EQ_INT(store_apply(s, &call), 0);
		T_EQ_INT(fake_applied, cases[i].reaches_kind);
		T_EQ_INT(call.committed_r, cases[i].reaches_kind);
		T_CHECK(!call.gated_r);
	}
	/* what the kind lacks fails, it does not crash */
	int64_t v = 1;
	bool deleted = true, truncated = false;
	T_EQ_INT(store_get(s, "k", &v), -1);
	T_EQ_INT(v, 0);
	T_EQ_INT(store_set(s, "k", 1), -1);
	T_EQ_INT(store_del(s, "k", &deleted), -1);
	T_CHECK(!deleted);
	T_EQ_INT(store_scan(s, "cachet:", 10, NULL, NULL, &v, &truncated), -1);
	T_CHECK(!store_is_memory(s));
	store_close(&s);
	T_CHECK(s == NULL);
}

/* -- the memory store's step -- */

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

static void test_memory_gate_and_buckets(void)
{
	static const struct {
		const char *gate;	/* a key set to STORE_FOREVER first, or NULL */
		bool commit;
		int64_t cost;
		bool fits, committed, gated;
	} cases[] = {
		{ NULL, true, 1, true, true, false },
		{ NULL, false, 1, true, false, false },		/* only checked */
		{ NULL, true, 3, false, false, false },		/* over capacity 2 */
		{ "cachet:!block:u=a", true, 1, false, false, true },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct store *s = store_open("memory", 0, 100, NULL, &error);
		store_set_clock(s, fake_clock);
		fake_now = 1000 * SEC;
		T_CHECK(store_is_memory(s));
		if (cases[i].gate != NULL)
			T_EQ_INT(store_set(s, cases[i].gate, STORE_FOREVER), 0);
		struct bucket b = { "cachet:u:m:u=a", SEC, 2, cases[i].cost, true, false };
		struct store_call call = { .b = &b, .n = 1, .commit = cases[i].commit,
					   .gate = "cachet:!block:u=a" };
		T_EQ_INT(store_apply(s, &call), 0);
		T_EQ_INT(b.fits_r, cases[i].fits);
		T_EQ_INT(call.committed_r, cases[i].committed);
		T_EQ_INT(call.gated_r, cases[i].gated);
		int64_t v = 0;
		T_EQ_INT(store_get(s, "cachet:u:m:u=a", &v), 0);
		T_EQ_INT(v != 0, cases[i].committed);
		store_close(&s);
	}
}

/* -- a fake Redis -- */

struct fake_redis {
	struct evconnlistener *listener;
	struct bufferevent *bev;	/* the last connection */
	int port;
	int accepted;
	int commands;			/* EVAL and SET commands seen */
	bool silent;			/* swallow commands */
	bool hold;			/* keep the replies until released */
	bool close_at_command;
	bool fail_select;
	const char *password;		/* AUTH must give it (NULL: no AUTH wanted) */
	int auths;			/* AUTH commands seen */
	int evalshas;			/* EVALSHA commands seen */
	int noscript;			/* EVALSHAs still to refuse with NOSCRIPT */
	char auth_arg[64];		/* the last AUTH's last argument */
	struct evbuffer *held;
	int fits;			/* the next EVAL's answer: 1 or 0 */
};

/*
 * One complete RESP command at the start of in: its first argument (up to
 * 15 bytes) in name and true, the command drained; false when incomplete.
 */
static bool take_command(struct evbuffer *in, char name[16], char last[64])
{
	size_t len = evbuffer_get_length(in), pos = 0;
	const char *p = (const char *)evbuffer_pullup(in, -1);
	const char *nl = len >= 4 ? memchr(p, '\n', len) : NULL;
	long n, k;
	if (nl == NULL || p[0] != '*')
		return false;
	n = strtol(p + 1, NULL, 10);
	pos = (size_t)(nl - p) + 1;
	name[0] = '\0';
	for (long i = 0; i < n; i++) {
		nl = pos < len ? memchr(p + pos, '\n', len - pos) : NULL;
		if (nl == NULL || p[pos] != '$')
			return false;
		k = strtol(p + pos + 1, NULL, 10);
		pos = (size_t)(nl - p) + 1;
		if (pos + (size_t)k + 2 > len)
			return false;
		if (i == 0)
			snprintf(name, 16, "%.*s", (int)(k < 15 ? k : 15), p + pos);
		snprintf(last, 64, "%.*s", (int)(k < 63 ? k : 63), p + pos);
		pos += (size_t)k + 2;
	}
	evbuffer_drain(in, pos);
	return true;
}

static void fake_answer(struct fake_redis *f, const char *name, const char *last)
{
	struct evbuffer *out = f->hold ? f->held : bufferevent_get_output(f->bev);
	if (strcmp(name, "AUTH") == 0) {
		f->auths++;
		snprintf(f->auth_arg, sizeof(f->auth_arg), "%s", last);
		evbuffer_add_printf(out, "%s\r\n", f->password != NULL &&
				    strcmp(last, f->password) == 0 ? "+OK"
				    : "-WRONGPASS invalid username-password pair");
		return;
	}
	if (f->password != NULL && f->auths == 0) {
		evbuffer_add_printf(out, "-NOAUTH Authentication required.\r\n");
		return;
	}
	if (strcmp(name, "SELECT") == 0) {
		evbuffer_add_printf(out, "%s\r\n", f->fail_select ? "-ERR DB index is out of range"
								   : "+OK");
		return;
	}
	if (strcmp(name, "SCRIPT") == 0) {	/* LOAD: a SHA1 of 40 hex digits */
		evbuffer_add_printf(out, "$40\r\n%040d\r\n", 7);
		return;
	}
	f->commands++;
	if (f->silent)
		return;
	if (strcmp(name, "EVALSHA") == 0) {
		f->evalshas++;
		if (f->noscript > 0) {
			f->noscript--;
			evbuffer_add_printf(out, "-NOSCRIPT No matching script.\r\n");
			return;
		}
	}
	if (strcmp(name, "EVAL") == 0 || strcmp(name, "EVALSHA") == 0)
		/* one bucket: fits, committed, gated */
		evbuffer_add_printf(out, "*3\r\n:%d\r\n:%d\r\n:0\r\n", f->fits, f->fits);
	else
		evbuffer_add_printf(out, "+OK\r\n");
}

static void fake_read(struct bufferevent *bev, void *arg)
{
	struct fake_redis *f = arg;
	char name[16], last[64];
	while (take_command(bufferevent_get_input(bev), name, last)) {
		if (f->close_at_command && strcmp(name, "SELECT") != 0 &&
		    strcmp(name, "SCRIPT") != 0) {
			bufferevent_free(bev);
			f->bev = NULL;
			return;
		}
		fake_answer(f, name, last);
	}
}

static void fake_event(struct bufferevent *bev, short what UNUSED, void *arg)
{
	struct fake_redis *f = arg;
	if (f->bev == bev)
		f->bev = NULL;
	bufferevent_free(bev);
}

static void fake_accept(struct evconnlistener *l UNUSED, evutil_socket_t fd,
			struct sockaddr *sa UNUSED, int len UNUSED, void *arg)
{
	struct fake_redis *f = arg;
	struct event_base *base = evconnlistener_get_base(f->listener);
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	f->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	f->accepted++;
	bufferevent_setcb(f->bev, fake_read, NULL, fake_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
}

static void fake_start(struct fake_redis *f, struct event_base *base)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	memset(f, 0, sizeof(*f));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->listener = evconnlistener_new_bind(base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE, 16,
					      (struct sockaddr *)&sin, sizeof(sin));
	ASSERT(f->listener != NULL);
	getsockname(evconnlistener_get_fd(f->listener), (struct sockaddr *)&sin, &len);
	f->port = ntohs(sin.sin_port);
	f->held = evbuffer_new();
	f->fits = 1;
}

/* Sends what was held, in order. */
static void fake_release(struct fake_redis *f)
{
	f->hold = false;
	if (f->bev != NULL)
		evbuffer_add_buffer(bufferevent_get_output(f->bev), f->held);
}

static void fake_stop(struct fake_redis *f)
{
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	evconnlistener_free(f->listener);
	evbuffer_free(f->held);
}

/* -- the daemon's Redis store against it -- */

struct waiter {
	struct store_call call;
	struct bucket b;
	int answers;
	int rc;
	int64_t at_ms;		/* when answered */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answered(struct store_call *call, int rc)
{
	struct waiter *w = call->arg;
	w->answers++;
	w->rc = rc;
	w->at_ms = mono_ms();
}

/* A call of one bucket; store_apply's result. */
static int ask(struct store *s, struct waiter *w)
{
	memset(w, 0, sizeof(*w));
	w->b = (struct bucket){ "cachet:u:m:u=a", SEC, 5, 1, true, false };
	w->call.b = &w->b;
	w->call.n = 1;
	w->call.commit = true;
	w->call.done = answered;
	w->call.arg = w;
	return store_apply(s, &w->call);
}

/* Runs the loop until w is answered or ms have passed. */
static void run_until_answered(struct event_base *base, const struct waiter *w, int ms)
{
	int64_t end = mono_ms() + ms;
	struct timeval tick = { 0, 10000 };
	while (w->answers == 0 && mono_ms() < end) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
}

/* Runs the loop for ms. */
static void run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct store *open_redis(struct event_base *base, int port, int db)
{
	char spec[64], *error = NULL;
	snprintf(spec, sizeof(spec), "redis://127.0.0.1:%d/%d", port, db);
	struct store *s = store_open(spec, TIMEOUT_MS, 0, base, &error);
	ASSERT(s != NULL);
	return s;
}

enum server { ANSWERS, ANSWERS_NO, SILENT, CLOSES, SELECT_FAILS, NOBODY };

static void test_redis_outcomes(void)
{
	static const struct {
		const char *name;
		enum server server;
		int db;
		int rc;
		int fits;
		int min_ms, max_ms;	/* from the call to its answer */
	} cases[] = {
		{ "a reply", ANSWERS, 0, 0, 1, 0, TIMEOUT_MS / 2 },
		{ "a reply, not fitting", ANSWERS_NO, 0, 0, 0, 0, TIMEOUT_MS / 2 },
		{ "a reply after SELECT", ANSWERS, 3, 0, 1, 0, TIMEOUT_MS / 2 },
		{ "a silent server: StoreTimeout", SILENT, 0, -1, 0, TIMEOUT_MS * 8 / 10,
		  TIMEOUT_MS * 3 },
		{ "the connection closed", CLOSES, 0, -1, 0, 0, TIMEOUT_MS / 2 },
		{ "SELECT refused", SELECT_FAILS, 3, -1, 0, 0, TIMEOUT_MS / 2 },
		{ "nobody listens", NOBODY, 0, -1, 0, 0, TIMEOUT_MS / 2 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct event_base *base = event_base_new();
		struct fake_redis f;
		struct waiter w;
		fake_start(&f, base);
		f.silent = cases[i].server == SILENT;
		f.close_at_command = cases[i].server == CLOSES;
		f.fail_select = cases[i].server == SELECT_FAILS;
		f.fits = cases[i].server != ANSWERS_NO;
		int port = f.port;
		if (cases[i].server == NOBODY)
			fake_stop(&f);
		struct store *s = open_redis(base, port, cases[i].db);
		int64_t start = mono_ms();
		int rc = ask(s, &w);
		if (rc == STORE_PENDING)
			run_until_answered(base, &w, TIMEOUT_MS * 5);
		else
			w.rc = rc, w.answers = 1, w.at_ms = mono_ms();
		if (w.answers != 1 || w.rc != cases[i].rc || w.b.fits_r != cases[i].fits ||
		    w.at_ms - start < cases[i].min_ms || w.at_ms - start > cases[i].max_ms)
			t_fail(__FILE__, __LINE__, "%s: %d answers, rc %d, fits %d, after %lld ms",
			       cases[i].name, w.answers, w.rc, w.b.fits_r,
			       (long long)(w.at_ms - start));
		/* down: the next call fails at once (no new attempt within the retry) */
		if (cases[i].rc < 0 && cases[i].server != SILENT)
			T_EQ_INT(ask(s, &w), -1);
		store_close(&s);
		if (cases[i].server != NOBODY)
			fake_stop(&f);
		event_base_free(base);
	}
}

/* A reply after the timeout is dropped; the next call still gets its own. */
static void test_redis_late_reply_dropped(void)
{
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w1, w2;
	fake_start(&f, base);
	struct store *s = open_redis(base, f.port, 0);
	f.hold = true;
	f.fits = 0;				/* the late reply says "does not fit" */
	T_EQ_INT(ask(s, &w1), STORE_PENDING);
	run_until_answered(base, &w1, TIMEOUT_MS * 5);
	T_EQ_INT(w1.answers, 1);
	T_EQ_INT(w1.rc, -1);
	f.fits = 1;
	T_EQ_INT(ask(s, &w2), STORE_PENDING);
	run_for(base, 20);
	fake_release(&f);			/* both replies, in order */
	run_until_answered(base, &w2, TIMEOUT_MS * 5);
	T_EQ_INT(w2.answers, 1);
	T_EQ_INT(w2.rc, 0);
	T_CHECK(w2.b.fits_r);			/* its own reply, not the late one */
	T_EQ_INT(w1.answers, 1);		/* never answered twice */
	T_EQ_INT(f.accepted, 1);		/* the connection was kept */
	store_close(&s);
	fake_stop(&f);
	event_base_free(base);
}

static void test_redis_cancel(void)
{
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w1, w2;
	fake_start(&f, base);
	struct store *s = open_redis(base, f.port, 0);
	f.hold = true;
	T_EQ_INT(ask(s, &w1), STORE_PENDING);
	store_cancel(&w1.call);
	T_CHECK(w1.call.pending == NULL);
	run_for(base, TIMEOUT_MS * 2);		/* past its timeout: still nothing */
	fake_release(&f);
	T_EQ_INT(ask(s, &w2), STORE_PENDING);
	run_until_answered(base, &w2, TIMEOUT_MS * 5);
	T_EQ_INT(w1.answers, 0);
	T_EQ_INT(w2.rc, 0);
	store_close(&s);
	fake_stop(&f);
	event_base_free(base);
}

/* Also cancelled before the connection is ready (queued behind SELECT). */
static void test_redis_cancel_queued(void)
{
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w1, w2;
	fake_start(&f, base);
	struct store *s = open_redis(base, f.port, 5);
	T_EQ_INT(ask(s, &w1), STORE_PENDING);
	T_EQ_INT(ask(s, &w2), STORE_PENDING);
	store_cancel(&w1.call);
	run_until_answered(base, &w2, TIMEOUT_MS * 5);
	T_EQ_INT(w1.answers, 0);
	T_EQ_INT(w2.answers, 1);
	T_EQ_INT(w2.rc, 0);
	T_EQ_INT(f.commands, 1);		/* the cancelled one was never sent */
	store_close(&s);
	fake_stop(&f);
	event_base_free(base);
}

/* store_close answers what is pending (-1), at once. */
static void test_redis_close_answers_pending(void)
{
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w1, w2;
	fake_start(&f, base);
	struct store *s = open_redis(base, f.port, 0);
	f.silent = true;
	T_EQ_INT(ask(s, &w1), STORE_PENDING);
	run_for(base, 20);			/* sent */
	struct store *q = open_redis(base, f.port, 7);
	T_EQ_INT(ask(q, &w2), STORE_PENDING);	/* queued behind SELECT */
	store_close(&s);
	store_close(&q);
	T_EQ_INT(w1.answers, 1);
	T_EQ_INT(w1.rc, -1);
	T_EQ_INT(w2.answers, 1);
	T_EQ_INT(w2.rc, -1);
	fake_stop(&f);
	event_base_free(base);
}

/* AUTH goes first on every connection; a wrong password is a store error. */
static void test_redis_auth(void)
{
	static const struct {
		const char *given, *wanted;
		int rc;
	} cases[] = {
		{ "right", "right", 0 },
		{ "wrong", "right", -1 },
		{ NULL, "right", -1 },	/* NOAUTH */
		{ "unused", NULL, -1 },	/* AUTH to a Redis without a password: refused */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct event_base *base = event_base_new();
		struct fake_redis f;
		struct waiter w;
		fake_start(&f, base);
		f.password = cases[i].wanted;
		struct store *s = open_redis(base, f.port, 3);
		store_redis_set_auth(s, NULL, cases[i].given);
		int rc = ask(s, &w);
		if (rc == STORE_PENDING)
			run_until_answered(base, &w, TIMEOUT_MS * 5);
		else
			w.rc = rc;
		if (w.rc != cases[i].rc || f.auths != (cases[i].given != NULL))
			t_fail(__FILE__, __LINE__, "case %zu: rc %d, %d AUTHs", i, w.rc, f.auths);
		store_close(&s);
		fake_stop(&f);
		event_base_free(base);
	}
	/* with an ACL user: AUTH user password, the password last */
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w;
	fake_start(&f, base);
	f.password = "pw";
	struct store *s = open_redis(base, f.port, 0);
	store_redis_set_auth(s, "cachet", "pw");
	T_EQ_INT(ask(s, &w), STORE_PENDING);
	run_until_answered(base, &w, TIMEOUT_MS * 5);
	T_EQ_INT(w.rc, 0);
	T_EQ_STR(f.auth_arg, "pw");
	store_close(&s);
	fake_stop(&f);
	event_base_free(base);
}

/* EVALSHA once the script is loaded; NOSCRIPT: the same call again as EVAL. */
static void test_redis_evalsha_noscript(void)
{
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w;
	fake_start(&f, base);
	struct store *s = open_redis(base, f.port, 0);
	T_EQ_INT(ask(s, &w), STORE_PENDING);	/* queued until set up: EVAL */
	run_until_answered(base, &w, TIMEOUT_MS * 5);
	T_EQ_INT(w.rc, 0);
	T_EQ_INT(f.evalshas, 0);
	T_EQ_INT(ask(s, &w), STORE_PENDING);	/* set up: EVALSHA */
	run_until_answered(base, &w, TIMEOUT_MS * 5);
	T_EQ_INT(w.rc, 0);
	T_EQ_INT(f.evalshas, 1);
	f.noscript = 1;
	T_EQ_INT(ask(s, &w), STORE_PENDING);	/* NOSCRIPT, then EVAL */
	run_until_answered(base, &w, TIMEOUT_MS * 5);
	T_EQ_INT(w.answers, 1);
	T_EQ_INT(w.rc, 0);
	T_CHECK(w.b.fits_r);
	T_EQ_INT(f.evalshas, 2);
	T_EQ_INT(f.commands, 4);
	store_close(&s);
	fake_stop(&f);
	event_base_free(base);
}

/* Many waits, one timer: each still gets its own StoreTimeout. */
static void test_redis_many_timeouts(void)
{
	struct event_base *base = event_base_new();
	struct fake_redis f;
	struct waiter w[20];
	fake_start(&f, base);
	f.silent = true;
	struct store *s = open_redis(base, f.port, 0);
	int64_t start = mono_ms();
	for (int i = 0; i < 20; i++) {
		T_EQ_INT(ask(s, &w[i]), STORE_PENDING);
		if (i == 9)
			run_for(base, TIMEOUT_MS / 2);
	}
	run_until_answered(base, &w[19], TIMEOUT_MS * 5);
	for (int i = 0; i < 20; i++) {
		int64_t took = w[i].at_ms - start;
		int64_t min = i <= 9 ? TIMEOUT_MS * 8 / 10 : TIMEOUT_MS * 13 / 10;
		if (w[i].answers != 1 || w[i].rc != -1 || took < min || took > TIMEOUT_MS * 4)
			t_fail(__FILE__, __LINE__, "wait %d: %d answers, rc %d, after %lld ms", i,
			       w[i].answers, w[i].rc, (long long)took);
	}
	store_close(&s);
	fake_stop(&f);
	event_base_free(base);
}

/* -- Redis replies, read apart from any connection -- */

static redisReply *rr(int type, const char *str, long long integer)
{
	redisReply *r = calloc(1, sizeof(*r));
	r->type = type;
	r->integer = integer;
	if (str != NULL) {
		r->str = strdup(str);
		r->len = strlen(str);
	}
	return r;
}

static redisReply *rarr(size_t n, ...)
{
	va_list ap;
	redisReply *r = rr(REDIS_REPLY_ARRAY, NULL, 0);
	r->elements = n;
	r->element = calloc(n, sizeof(*r->element));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void test_redis_replies(void)
{
	struct bucket b[2] = { { "a", SEC, 5, 1, true, false }, { "b", SEC, 5, 1, true, false } };
	struct store_call call = { .b = b, .n = 2 };
	redisReply *r = rarr(4, rr(REDIS_REPLY_INTEGER, NULL, 1), rr(REDIS_REPLY_INTEGER, NULL, 0),
			     rr(REDIS_REPLY_INTEGER, NULL, 1), rr(REDIS_REPLY_INTEGER, NULL, 0));
	T_EQ_INT(store_redis_read_script(&call, r), 0);
	T_CHECK(b[0].fits_r && !b[1].fits_r && call.committed_r && !call.gated_r);
	call.n = 1;	/* the same reply for one bucket: the wrong shape */
	T_EQ_INT(store_redis_read_script(&call, r), -1);
	freeReplyObject(r);
	T_EQ_INT(store_redis_read_script(&call, NULL), -1);
	r = rr(REDIS_REPLY_ERROR, "NOSCRIPT No matching script", 0);
	T_CHECK(store_redis_is_noscript(r));
	char why[128], sha[41], cursor[32];
	T_CHECK(!store_redis_status_ok(r, "AUTH", why, sizeof(why)));
	T_EQ_STR(why, "AUTH failed: NOSCRIPT No matching script");
	freeReplyObject(r);
	r = rr(REDIS_REPLY_STATUS, "OK", 0);
	T_CHECK(store_redis_status_ok(r, "SELECT", why, sizeof(why)));
	T_CHECK(!store_redis_script_sha(r, sha));
	freeReplyObject(r);
	r = rr(REDIS_REPLY_STRING, "a42059b356c875f0717db19a51f6aaca9ae659ea", 0);
	T_CHECK(store_redis_script_sha(r, sha));
	freeReplyObject(r);
	int64_t v;
	r = rarr(2, rr(REDIS_REPLY_STRING, "1700000000", 0), rr(REDIS_REPLY_STRING, "250", 0));
	T_CHECK(store_redis_parse_time(r, &v));
	T_EQ_INT(v, 1700000000000250LL);
	freeReplyObject(r);
	r = rarr(2, rr(REDIS_REPLY_STRING, "1700000000", 0), rr(REDIS_REPLY_STRING, "-1", 0));
	T_CHECK(!store_redis_parse_time(r, &v));
	freeReplyObject(r);
	const redisReply *keys;
	r = rarr(2, rr(REDIS_REPLY_STRING, "42", 0),
		 rarr(2, rr(REDIS_REPLY_STRING, "cachet:u:m:u=a", 0), rr(REDIS_REPLY_INTEGER, NULL, 3)));
	T_CHECK(store_redis_parse_scan(r, cursor, &keys));
	T_EQ_STR(cursor, "42");
	T_CHECK(store_redis_scan_key(keys->element[0]) && !store_redis_scan_key(keys->element[1]));
	freeReplyObject(r);
	r = rr(REDIS_REPLY_STRING, "12x", 0);
	T_CHECK(!store_redis_parse_value(r, &v));
	freeReplyObject(r);
	T_CHECK(store_redis_parse_value(NULL, &v) && v == 0);
}

int main(void)
{
	T_RUN(test_redis_replies);
	log_set_level(LOG_CRIT);	/* the failures are meant */
	T_RUN(test_dispatch);
	T_RUN(test_memory_gate_and_buckets);
	T_RUN(test_redis_outcomes);
	T_RUN(test_redis_late_reply_dropped);
	T_RUN(test_redis_cancel);
	T_RUN(test_redis_cancel_queued);
	T_RUN(test_redis_close_answers_pending);
	T_RUN(test_redis_auth);
	T_RUN(test_redis_evalsha_noscript);
	T_RUN(test_redis_many_timeouts);
	return t_done();
}
