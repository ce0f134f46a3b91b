/*
 * Tests for policyd/ratelimit.c and the memory store (policyd/store.c):
 * the GCRA semantics on a fake clock (burst of N, one more every P/N, no
 * double burst at any edge), which requests count and when (RCPT checks,
 * END-OF-MESSAGE/DATA take, one count per instance), keys (+extension
 * folding, client prefixes), conditions, allow lists, actions, the
 * snapshot round trip, and the outcome when the store cannot answer.
 * Decisions that wait for the store (RL_PENDING) are driven through a
 * store that answers later (the memory store's answers, given when the
 * test says): the same replies as at once, a reload while one waits, a
 * cancelled one.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "journal.h"
#include "pconf.h"
#include "proto.h"
#include "ratelimit.h"
#include "store.h"
#include "store_impl.h"
#include "t.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

#define SEC 1000000LL

/*
 * A store that answers later: each call waits until later_answer() gives
 * it the memory store's answer.  One call at a time.
 */
struct later_store {
	struct store base;
	struct store *mem;
	struct store_call *waiting;
	int calls, cancels;
};

static int later_apply(struct store *s, struct store_call *call)
{
	struct later_store *l = (struct later_store *)s;
	ASSERT(l->waiting == NULL);
	l->waiting = call;
	l->calls++;
	call->pending = l;
	return STORE_PENDING;
}

static void later_cancel(struct store *s, struct store_call *call)
{
	struct later_store *l = (struct later_store *)s;
	ASSERT(l->waiting == call);
	l->waiting = NULL;
	l->cancels++;
}

static int later_set(struct store *s, const char *key, int64_t value)
{
	return store_set(((struct later_store *)s)->mem, key, value);
}

static void later_close(struct store *s)
{
	struct later_store *l = (struct later_store *)s;
	store_close(&l->mem);
	free(l);
}

static const struct store_ops later_ops = {
	.name = "later", .apply = later_apply, .cancel = later_cancel, .set = later_set,
	.close = later_close,
};

/* Answers the waiting call as the memory store does. */
static void later_answer(struct later_store *l)
{
	struct store_call *call = l->waiting, now = *call;
	l->waiting = NULL;
	now.pending = NULL;
	int rc = store_apply(l->mem, &now);	/* the buckets are shared */
	call->committed_r = now.committed_r;
	call->gated_r = now.gated_r;
	call->pending = NULL;
	call->done(call, rc);
}

struct fixture {
	struct event_base *base;	/* for a Redis store */
	struct later_store *later;	/* or NULL */
	struct pconf *conf;
	struct store *store;
	struct ratelimit rl;
	struct rl_conn conn;
	int n;		/* instances so far */
};

static void setup(struct fixture *f, const char *conf_text)
{
	char *error = NULL;
	memset(f, 0, sizeof(*f));
	f->conf = pconf_parse("t.conf", conf_text, strlen(conf_text), &error);
	if (f->conf == NULL) {
		t_fail(__FILE__, __LINE__, "%s", error);
		free(error);
		abort();
	}
	f->base = event_base_new();
	f->store = store_open(f->conf->store, f->conf->store_timeout_ms, 1000, f->base, &error);
	ASSERT(f->store != NULL);
	if (store_is_memory(f->store))
		store_set_clock(f->store, fake_clock);
	fake_now = 1700000000 * SEC;
	ratelimit_init(&f->rl, f->conf, f->store);
}

/* setup(), then the memory store answers later */
static void setup_later(struct fixture *f, const char *conf_text)
{
	setup(f, conf_text);
	f->later = calloc(1, sizeof(*f->later));
	f->later->base.ops = &later_ops;
	f->later->mem = f->store;
	f->store = &f->later->base;
	f->rl.store = f->store;
}

static void teardown(struct fixture *f)
{
	ratelimit_fini(&f->rl);
	store_close(&f->store);
	event_base_free(f->base);
	pconf_free(&f->conf);
}

static void set_flag(void *arg)
{
	*(bool *)arg = true;
}

/* The request the tests send: state, instance i<n>, and extra lines. */
static void build(struct fixture *f, struct proto_req *r, const char *state, const char *extra)
{
	struct buf text;
	const char *error = NULL;
	proto_req_init(r);
	buf_init(&text, 0);
	buf_printf(&text, "request=smtpd_access_policy\nprotocol_state=%s\ninstance=i%d\n"
			  "client_address=203.0.113.5\nserver_port=25\n%s\n",
		   state, f->n, extra);
	for (const char *p = text.p; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		if (proto_line(r, p, (size_t)(nl - p), &error) != PROTO_MORE)
			break;
		p = nl + 1;
	}
	buf_free(&text);
}

/* The action of a whole reply, without "action=" (static). */
static const char *action_of(const struct buf *out)
{
	static char result[256];
	T_CHECK(out->len > 9 && strncmp(out->p, "action=", 7) == 0 &&
		strcmp(out->p + out->len - 2, "\n\n") == 0);
	T_CHECK(strstr(out->p, "action=OK") == NULL);
	snprintf(result, sizeof(result), "%.*s", out->len > 9 ? (int)(out->len - 9) : 0,
		 out->p + 7);
	return result;
}

/* One request; returns the action line without "action=" (static). */
static const char *ask(struct fixture *f, const char *state, const char *extra)
{
	struct proto_req r;
	struct buf out;
	build(f, &r, state, extra);
	buf_init(&out, 0);
	bool answered = false;
	if (ratelimit_decide(&f->rl, &f->conn, &r, &out, set_flag, &answered) == RL_PENDING) {
		while (!answered) {
			if (f->later != NULL)
				later_answer(f->later);
			else	/* a Redis store answers from the event loop */
				event_base_loop(f->base, EVLOOP_ONCE);
		}
	}
	const char *result = action_of(&out);
	buf_free(&out);
	proto_req_reset(&r);
	return result;
}

/* A whole message: RCPT check, then END-OF-MESSAGE; returns the EOM action. */
static const char *send_msg(struct fixture *f, const char *user, int rcpts)
{
	char extra[256];
	f->n++;
	snprintf(extra, sizeof(extra), "sasl_username=%s\nsender=%s@example.org\nrecipient_count=0\n",
		 user, user);
	const char *a = ask(f, "RCPT", extra);
	if (strcmp(a, "DUNNO") != 0)
		return a;
	snprintf(extra, sizeof(extra), "sasl_username=%s\nsender=%s@example.org\nrecipient_count=%d\n",
		 user, user, rcpts);
	return ask(f, "END-OF-MESSAGE", extra);
}

static void test_burst_then_one_per_interval(void)
{
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=3/30s action=defer text=\"slow down\"\n");
	for (int i = 0; i < 3; i++)
		T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 1), "DEFER_IF_PERMIT 4.7.1 slow down");
	T_EQ_STR(send_msg(&f, "bob", 1), "DUNNO");	/* another user is unaffected */
	fake_now += 10 * SEC - 1;			/* just before P/N */
	T_EQ_STR(send_msg(&f, "alice", 1), "DEFER_IF_PERMIT 4.7.1 slow down");
	fake_now += 1;					/* P/N: one token back */
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 1), "DEFER_IF_PERMIT 4.7.1 slow down");
	fake_now += 30 * SEC;				/* a whole period: the full burst */
	for (int i = 0; i < 3; i++)
		T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 1), "DEFER_IF_PERMIT 4.7.1 slow down");
	teardown(&f);
}

/* Whatever the timing, no window of length P ever holds 2N (fixed windows would). */
static void test_no_double_burst_at_any_edge(void)
{
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=10/60s action=defer\n");
	int64_t start = fake_now;
	int64_t accepted_at[200];
	int n = 0;
	for (int step = 0; step < 400; step++) {
		fake_now = start + step * 500000LL;	/* 5 tries every 0.5 s */
		for (int k = 0; k < 5; k++)
			if (strcmp(send_msg(&f, "alice", 1), "DUNNO") == 0 && n < 200)
				accepted_at[n++] = fake_now;
	}
	/* any window of W: at most N + N*W/P (1 s: 10; 60 s: 20) */
	int worst_short = 0, worst_period = 0;
	for (int i = 0; i < n; i++) {
		int in_short = 0, in_period = 0;
		for (int j = i; j < n && accepted_at[j] < accepted_at[i] + 60 * SEC; j++) {
			in_period++;
			if (accepted_at[j] < accepted_at[i] + SEC)
				in_short++;
		}
		if (in_short > worst_short)
			worst_short = in_short;
		if (in_period > worst_period)
			worst_period = in_period;
	}
	T_EQ_INT(worst_short, 10);
	T_CHECK(worst_period <= 20);
	/* 200 s of hammering: 10 + 200 s / 6 s = 43 (one per 6 s after the burst) */
	T_EQ_INT(n, 10 + 33);
	teardown(&f);
}

static void test_recipients_counted_at_end_of_message(void)
{
	struct fixture f;
	setup(&f, "Limit r key=sasl_username recipients=10/1h action=reject\n");
	T_EQ_STR(send_msg(&f, "alice", 6), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 5), "REJECT 5.7.1 Rate limit exceeded, try again later");
	T_EQ_STR(send_msg(&f, "alice", 4), "DUNNO");	/* the refused one took nothing */
	T_EQ_STR(send_msg(&f, "alice", 1), "REJECT 5.7.1 Rate limit exceeded, try again later");
	T_EQ_STR(send_msg(&f, "bob", 11), "REJECT 5.7.1 Rate limit exceeded, try again later");
	teardown(&f);
}

static void test_instance_counted_once(void)
{
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=2/1h action=defer\n");
	f.n = 1;
	T_EQ_STR(ask(&f, "DATA", "sasl_username=a\nrecipient_count=1\n"), "DUNNO");
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "sasl_username=a\nrecipient_count=1\n"), "DUNNO");
	T_EQ_STR(ask(&f, "RCPT", "sasl_username=a\n"), "DUNNO");	/* RCPT only checks */
	T_EQ_STR(ask(&f, "RCPT", "sasl_username=a\n"), "DUNNO");
	f.n = 2;
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "sasl_username=a\nrecipient_count=1\n"), "DUNNO");
	f.n = 3;
	T_CHECK(strncmp(ask(&f, "RCPT", "sasl_username=a\n"), "DEFER_IF_PERMIT", 15) == 0);
	T_EQ_STR(ask(&f, "MAIL", "sasl_username=a\n"), "DUNNO");	/* other stages pass */
	teardown(&f);
}

static void test_soft_actions_pass_and_count(void)
{
	struct fixture f;
	setup(&f, "Limit h key=sasl_username messages=1/1h action=hold text=\"held\"\n"
		  "Limit p key=sender_domain messages=2/1h action=prepend\n");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 1), "HOLD held");
	T_EQ_STR(send_msg(&f, "bob", 1), "PREPEND X-Cachet-Rate-Limit: p");
	teardown(&f);
}

static void test_keys(void)
{
	char *error = NULL;
	const char *conf =
		"Limit s key=sender messages=1/1h action=defer\n"
		"Limit c key=client_address/24 messages=1/1h action=defer ipv6_prefix=48\n"
		"Limit uc key=sasl_username+client_address messages=1/1h action=defer\n";
	struct pconf *c = pconf_parse("t.conf", conf, strlen(conf), &error);
	static const struct {
		size_t rule;
		const char *req;
		const char *key;	/* NULL = no key */
	} cases[] = {
		{ 0, "sender=Alice+News@Example.ORG\n", "cachet:s:m:s=alice@example.org" },
		{ 0, "sender=a+b+c@x.y\n", "cachet:s:m:s=a@x.y" },
		{ 0, "sender=\n", NULL },
		{ 0, "sender=weird user@x\n", "cachet:s:m:s=weird%20user@x" },
		{ 1, "client_address=203.0.113.77\n", "cachet:c:m:c=203.0.113.0/24" },
		{ 1, "client_address=2001:db8:1:2::5\n", "cachet:c:m:c=2001:db8:1::/48" },
		{ 1, "client_address=unknown\n", NULL },
		{ 2, "client_address=192.0.2.1\nsasl_username=Bob\n",
		  "cachet:uc:m:u=bob:c=192.0.2.1/32" },
		{ 2, "client_address=192.0.2.1\n", NULL },
	};
	T_CHECK(c != NULL);
	for (size_t i = 0; c != NULL && i < ARRAY_LEN(cases); i++) {
		struct proto_req r;
		struct buf text, key;
		proto_req_init(&r);
		buf_init(&text, 0);
		buf_init(&key, STORE_MAX_KEY);
		buf_printf(&text, "request=smtpd_access_policy\n%s", cases[i].req);
		for (const char *p = text.p; *p != '\0';) {
			const char *nl = strchr(p, '\n');
			const char *why = NULL;
			proto_line(&r, p, (size_t)(nl - p), &why);
			p = nl + 1;
		}
		bool ok;
		ok = ratelimit_key(&c->limits->v[cases[i].rule], &r, 'm', &key);
		if (cases[i].key == NULL)
			T_CHECK(!ok);
		else
			T_EQ_STR(ok ? key.p : "(none)", cases[i].key);
		buf_free(&key);
		buf_free(&text);
		proto_req_reset(&r);
	}
	pconf_free(&c);
}

static void test_conditions_and_allow_lists(void)
{
	struct fixture f;
	setup(&f, "AllowSASLUsers vip\nAllowClients 198.51.100.0/24\n"
		  "AllowSenderDomains lists.example\n"
		  "Limit a key=client_address messages=1/1h action=defer only=authenticated\n"
		  "Limit p key=client_address recipients=1/1h action=reject port=587\n"
		  "Limit x key=client_address messages=1/1h action=reject context=special\n");
	/* not authenticated, port 25, no context: no rule applies */
	for (int i = 0; i < 3; i++) {
		f.n++;
		T_EQ_STR(ask(&f, "END-OF-MESSAGE", "recipient_count=1\n"), "DUNNO");
	}
	f.n++;
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "sasl_username=u\nrecipient_count=1\n"), "DUNNO");
	f.n++;
	T_CHECK(strncmp(ask(&f, "END-OF-MESSAGE", "sasl_username=u\nrecipient_count=1\n"),
			"DEFER_IF_PERMIT", 15) == 0);
	f.n++;
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "sasl_username=vip\nrecipient_count=1\n"), "DUNNO");
	f.n++;
	T_EQ_STR(ask(&f, "END-OF-MESSAGE",
		     "sasl_username=u\nsender=x@lists.example\nrecipient_count=1\n"), "DUNNO");
	f.n++;
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "policy_context=special\nrecipient_count=1\n"),
		 "DUNNO");
	f.n++;
	T_CHECK(strncmp(ask(&f, "END-OF-MESSAGE", "policy_context=special\nrecipient_count=1\n"),
			"REJECT", 6) == 0);
	teardown(&f);
}

static void test_snapshot_round_trip(void)
{
	char path[] = "/tmp/cachet-test-snapshot.XXXXXX";
	int fd = mkstemp(path);
	T_CHECK(fd >= 0);
	close(fd);
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=2/1h action=defer\n");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_INT(statefile_save(f.store, path, 1, NULL), 0);
	teardown(&f);

	setup(&f, "Limit u key=sasl_username messages=2/1h action=defer\n");
	uint64_t gen;
	T_EQ_INT(statefile_load(f.store, path, &gen), 0);
	T_CHECK(strncmp(send_msg(&f, "alice", 1), "DEFER", 5) == 0);
	T_EQ_STR(send_msg(&f, "bob", 1), "DUNNO");
	teardown(&f);
	unlink(path);
}

static void test_store_error_outcome(void)
{
	struct fixture f;
	/* port 1 on loopback: nothing listens, the connect fails at once */
	setup(&f, "RateLimitStore redis://127.0.0.1:1/0\n"
		  "Limit u key=sasl_username messages=1/1h action=defer\n");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	teardown(&f);
	setup(&f, "RateLimitStore redis://127.0.0.1:1/0\nOnStoreError defer\n"
		  "Limit u key=sasl_username messages=1/1h action=defer\n");
	T_EQ_STR(send_msg(&f, "alice", 1),
		 "DEFER_IF_PERMIT 4.7.1 Rate limit service temporarily unavailable");
	teardown(&f);
	/* no counter to check (the rule is for port 587): the unreadable block is none */
	setup(&f, "RateLimitStore redis://127.0.0.1:1/0\nOnStoreError defer\n"
		  "Limit u key=sasl_username messages=1/1h action=defer port=587\n");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	teardown(&f);
}

static void test_memory_store_full_is_store_error(void)
{
	char *error = NULL;
	struct store *s = store_open("memory", 0, 2, NULL, &error);
	store_set_clock(s, fake_clock);
	fake_now = 1000 * SEC;
	struct bucket b = { "k1", SEC, 5, 1, true, false };
	struct store_call call = { .b = &b, .n = 1, .commit = true };
	T_EQ_INT(store_apply(s, &call), 0);
	b.key = "k2";
	T_EQ_INT(store_apply(s, &call), 0);
	b.key = "k3";
	T_EQ_INT(store_apply(s, &call), -1);
	fake_now += 10 * SEC;	/* k1 and k2 are full again: purged to make room */
	T_EQ_INT(store_apply(s, &call), 0);
	T_CHECK(call.committed_r);
	store_close(&s);
	T_CHECK(store_open("redis://", 100, 10, NULL, &error) == NULL);
	T_CHECK(error != NULL);
	free(error);
}

static int trips;
static char trip_key[STORE_MAX_KEY];

static void count_trip(void *arg UNUSED, const struct limit_rule *rule UNUSED, const char *key,
		       const struct proto_req *r UNUSED)
{
	trips++;
	snprintf(trip_key, sizeof(trip_key), "%s", key);
}

static void test_trip_hook_once_per_period(void)
{
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=1/1m action=defer\n");
	f.rl.on_trip = count_trip;
	store_set_clock(f.rl.logged, fake_clock);
	trips = 0;
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_CHECK(strncmp(send_msg(&f, "alice", 1), "DEFER", 5) == 0);
	T_CHECK(strncmp(send_msg(&f, "alice", 1), "DEFER", 5) == 0);
	T_EQ_INT(trips, 1);
	T_EQ_STR(trip_key, "cachet:u:m:u=alice");
	fake_now += 61 * SEC;
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_CHECK(strncmp(send_msg(&f, "alice", 1), "DEFER", 5) == 0);
	T_EQ_INT(trips, 2);	/* a new period: notified again */
	teardown(&f);
}

#define BLOCKED "REJECT 5.7.1 " RATELIMIT_BLOCK_TEXT

static void test_block_yes_blocks_until_cleared(void)
{
	struct fixture f;
	bool deleted = false;
	setup(&f, "Limit u key=sasl_username messages=1/1m action=defer block=yes\n");
	T_EQ_STR(send_msg(&f, "Alice", 1), "DUNNO");
	T_CHECK(strncmp(send_msg(&f, "Alice", 1), "DEFER", 5) == 0);
	fake_now += 30 * 86400 * SEC;	/* long after the window: still blocked */
	T_EQ_STR(send_msg(&f, "alice", 1), BLOCKED);
	T_EQ_STR(send_msg(&f, "bob", 1), "DUNNO");
	T_EQ_INT(store_del(f.store, RATELIMIT_BLOCK_PREFIX "alice", &deleted), 0);
	T_CHECK(deleted);
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	teardown(&f);
}

static void test_block_without_block_yes_is_not_set(void)
{
	struct fixture f;
	int64_t v = 1;
	setup(&f, "Limit u key=sasl_username messages=1/1m action=defer\n");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	T_CHECK(strncmp(send_msg(&f, "alice", 1), "DEFER", 5) == 0);
	T_EQ_INT(store_get(f.store, RATELIMIT_BLOCK_PREFIX "alice", &v), 0);
	T_EQ_INT(v, 0);
	teardown(&f);
}

static void test_block_survives_snapshot(void)
{
	char path[] = "/tmp/cachet-test-block.XXXXXX";
	int fd = mkstemp(path);
	T_CHECK(fd >= 0);
	close(fd);
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=5/1m action=defer\n");
	T_EQ_INT(store_set(f.store, RATELIMIT_BLOCK_PREFIX "alice", STORE_FOREVER), 0);
	T_EQ_INT(statefile_save(f.store, path, 1, NULL), 0);
	teardown(&f);
	setup(&f, "Limit u key=sasl_username messages=5/1m action=defer\n");
	uint64_t gen;
	T_EQ_INT(statefile_load(f.store, path, &gen), 0);
	T_EQ_STR(send_msg(&f, "alice", 1), BLOCKED);
	teardown(&f);
	unlink(path);
}

static void test_block_applies_without_rules(void)
{
	struct fixture f;
	setup(&f, "AllowSASLUsers boss\n");
	T_EQ_INT(store_set(f.store, RATELIMIT_BLOCK_PREFIX "alice", STORE_FOREVER), 0);
	T_EQ_INT(store_set(f.store, RATELIMIT_BLOCK_PREFIX "boss", STORE_FOREVER), 0);
	T_EQ_STR(send_msg(&f, "alice", 1), BLOCKED);
	T_EQ_STR(send_msg(&f, "boss", 1), "DUNNO");	/* the allow lists come first */
	teardown(&f);
}

static void test_block_key_escapes_user(void)
{
	struct buf k;
	buf_init(&k, STORE_MAX_KEY);
	T_CHECK(ratelimit_block_key("Bob Smith*", &k));
	T_EQ_STR(k.p, RATELIMIT_BLOCK_PREFIX "bob%20smith%2A");
	buf_reset(&k);
	T_CHECK(!ratelimit_block_key("", &k));
	buf_free(&k);
}

/* RCPT requests of one transaction; returns the last action. */
static const char *rcpts(struct fixture *f, const char *user, const char *const *to, size_t n)
{
	char extra[512];
	const char *a = "DUNNO";
	f->n++;
	for (size_t i = 0; i < n; i++) {
		snprintf(extra, sizeof(extra), "sasl_username=%s\nsender=%s@example.org\n"
			 "recipient=%s\n", user, user, to[i]);
		a = ask(f, "RCPT", extra);
	}
	return a;
}

static void test_recipient_domain_counts_at_rcpt(void)
{
	struct fixture f;
	setup(&f, "Limit rd key=recipient_domain messages=2/1h recipients=3/1h action=defer\n");
	/* one message to 2 recipients at a.example: 1 message, 2 recipients */
	const char *const two[] = { "x@a.example", "y@A.example" };
	T_EQ_STR(rcpts(&f, "alice", two, 2), "DUNNO");
	/* a second message, another user, to a.example and b.example */
	const char *const mixed[] = { "z@b.example", "w@a.example" };
	T_EQ_STR(rcpts(&f, "bob", mixed, 2), "DUNNO");
	/* a.example: messages 2/2 used, recipients 3/3: the next is deferred */
	const char *const one[] = { "v@a.example" };
	T_CHECK(strncmp(rcpts(&f, "carol", one, 1), "DEFER", 5) == 0);
	const char *const other[] = { "v@b.example" };
	T_EQ_STR(rcpts(&f, "carol", other, 1), "DUNNO");
	/* END-OF-MESSAGE does not count recipient_domain rules again */
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "recipient_count=1\n"), "DUNNO");
	teardown(&f);
}

static void test_recipient_domain_not_counted_when_other_rule_refuses(void)
{
	struct fixture f;
	setup(&f, "Limit u key=sasl_username messages=1/1h action=reject\n"
		  "Limit rd key=recipient_domain recipients=100/1h action=defer\n");
	T_EQ_STR(send_msg(&f, "alice", 1), "DUNNO");
	const char *const to[] = { "x@a.example" };
	T_CHECK(strncmp(rcpts(&f, "alice", to, 1), "REJECT", 6) == 0);
	int64_t v = 1;
	T_EQ_INT(store_get(f.store, "cachet:rd:r:rd=a.example", &v), 0);
	T_EQ_INT(v, 0);
	T_EQ_STR(rcpts(&f, "bob", to, 1), "DUNNO");
	T_EQ_INT(store_get(f.store, "cachet:rd:r:rd=a.example", &v), 0);
	T_CHECK(v > 0);
	teardown(&f);
}

/* The same requests give the same replies whether the store answers at once or later. */
static void test_answers_later_same_replies(void)
{
	static const char conf[] =
		"Limit u key=sasl_username messages=2/1h action=defer text=\"u\"\n"
		"Limit rd key=recipient_domain recipients=3/1h action=reject text=\"rd\"\n";
	static const struct {
		const char *state;
		const char *extra;
		bool next_instance;
	} steps[] = {
		{ "RCPT", "sasl_username=alice\nrecipient=x@a.example\n", true },
		{ "RCPT", "sasl_username=alice\nrecipient=y@a.example\n", false },
		{ "END-OF-MESSAGE", "sasl_username=alice\nrecipient_count=2\n", false },
		{ "RCPT", "sasl_username=alice\nrecipient=z@b.example\n", true },
		{ "END-OF-MESSAGE", "sasl_username=alice\nrecipient_count=1\n", false },
		{ "RCPT", "sasl_username=alice\nrecipient=z@b.example\n", true },	/* u: defer */
		{ "RCPT", "sasl_username=bob\nrecipient=w@a.example\n", true },
		{ "RCPT", "sasl_username=bob\nrecipient=v@a.example\n", false },	/* rd: reject */
		{ "RCPT", "sasl_username=carol\nrecipient=v@c.example\n", true },	/* blocked */
		{ "MAIL", "sasl_username=carol\n", false },
		{ "RCPT", "recipient=v@c.example\n", true },		/* no user: no block */
	};
	struct fixture now, later;
	setup(&now, conf);
	setup_later(&later, conf);
	T_EQ_INT(store_set(now.store, RATELIMIT_BLOCK_PREFIX "carol", STORE_FOREVER), 0);
	T_EQ_INT(store_set(later.store, RATELIMIT_BLOCK_PREFIX "carol", STORE_FOREVER), 0);
	for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
		char a[256];
		now.n += steps[i].next_instance;
		later.n += steps[i].next_instance;
		snprintf(a, sizeof(a), "%s", ask(&now, steps[i].state, steps[i].extra));
		const char *b = ask(&later, steps[i].state, steps[i].extra);
		if (strcmp(a, b) != 0)
			t_fail(__FILE__, __LINE__, "step %zu: at once \"%s\", later \"%s\"", i, a, b);
	}
	/* the replies that matter did come, and through the waiting path */
	T_EQ_STR(ask(&later, "RCPT", "sasl_username=carol\n"),
		 "REJECT 5.7.1 " RATELIMIT_BLOCK_TEXT);
	T_CHECK(later.later->calls >= 10);
	teardown(&now);
	teardown(&later);
}

/* A reload while a decision waits: it finishes with the rules it was planned with. */
static void test_reload_while_waiting(void)
{
	struct fixture f;
	struct proto_req r;
	struct buf out;
	bool answered = false;
	char *error = NULL;
	setup_later(&f, "Limit u key=sasl_username messages=1/1h action=defer text=\"old\"\n");
	f.n = 1;
	T_EQ_STR(ask(&f, "END-OF-MESSAGE", "sasl_username=a\nrecipient_count=1\n"), "DUNNO");
	f.n = 2;
	build(&f, &r, "RCPT", "sasl_username=a\n");
	buf_init(&out, 0);
	T_EQ_INT(ratelimit_decide(&f.rl, &f.conn, &r, &out, set_flag, &answered), RL_PENDING);
	/* what on_hup does: the new configuration in, the old one dropped */
	static const char fresh[] = "Limit v key=sasl_username messages=9/1h action=reject\n";
	struct pconf *c = pconf_parse("t.conf", fresh, strlen(fresh), &error);
	pconf_free(&f.conf);
	f.conf = c;
	f.rl.conf = c;
	later_answer(f.later);
	T_CHECK(answered);
	T_EQ_STR(action_of(&out), "DEFER_IF_PERMIT 4.7.1 old");
	buf_free(&out);
	proto_req_reset(&r);
	T_EQ_STR(ask(&f, "RCPT", "sasl_username=a\n"), "DUNNO");	/* now rule v */
	teardown(&f);
}

/* A connection that goes while its decision waits: cancelled, never answered. */
static void test_cancel_while_waiting(void)
{
	struct fixture f;
	struct proto_req r;
	struct buf out;
	bool answered = false;
	setup_later(&f, "Limit u key=sasl_username messages=1/1h action=defer\n");
	f.n = 1;
	build(&f, &r, "RCPT", "sasl_username=a\n");
	buf_init(&out, 0);
	T_EQ_INT(ratelimit_decide(&f.rl, &f.conn, &r, &out, set_flag, &answered), RL_PENDING);
	ratelimit_cancel(&f.conn);
	T_EQ_INT(f.later->cancels, 1);
	T_CHECK(f.later->waiting == NULL && f.conn.job == NULL && !answered);
	ratelimit_cancel(&f.conn);		/* nothing waits: nothing happens */
	T_EQ_INT(f.later->cancels, 1);
	buf_free(&out);
	proto_req_reset(&r);
	T_EQ_STR(ask(&f, "RCPT", "sasl_username=a\n"), "DUNNO");
	teardown(&f);
}

int main(void)
{
	T_RUN(test_burst_then_one_per_interval);
	T_RUN(test_no_double_burst_at_any_edge);
	T_RUN(test_recipients_counted_at_end_of_message);
	T_RUN(test_instance_counted_once);
	T_RUN(test_soft_actions_pass_and_count);
	T_RUN(test_keys);
	T_RUN(test_conditions_and_allow_lists);
	T_RUN(test_snapshot_round_trip);
	T_RUN(test_store_error_outcome);
	T_RUN(test_memory_store_full_is_store_error);
	T_RUN(test_trip_hook_once_per_period);
	T_RUN(test_block_yes_blocks_until_cleared);
	T_RUN(test_block_without_block_yes_is_not_set);
	T_RUN(test_block_survives_snapshot);
	T_RUN(test_block_applies_without_rules);
	T_RUN(test_block_key_escapes_user);
	T_RUN(test_recipient_domain_counts_at_rcpt);
	T_RUN(test_recipient_domain_not_counted_when_other_rule_refuses);
	T_RUN(test_answers_later_same_replies);
	T_RUN(test_reload_while_waiting);
	T_RUN(test_cancel_while_waiting);
	return t_done();
}
