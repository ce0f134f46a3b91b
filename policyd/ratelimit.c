/*
 * The rate-limit decision (see ratelimit.h for the algorithm and its exact
 * semantics).  Rules are walked in configuration order; each rule that
 * applies to the request contributes up to two buckets (messages,
 * recipients) to one store_apply() call, so all of a request's counters
 * move together or not at all.  Key parts taken from the request are
 * escaped (%XX outside a safe set) so no request value can forge another
 * key, a blank in a snapshot line, or a Redis glob.
 */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compiler.h"
#include "log.h"
#include "xalloc.h"

/* Safe bytes in a key part; everything else is %XX. */
static bool key_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
	       c == '_' || c == '@' || c == '/' || c == ':';
}

static void put_part(struct buf *out, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (key_safe(c))
			buf_putc(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

/* A prefix length (0 to 128) in decimal: keys are built per request, without printf. */
static void put_number(struct buf *out, unsigned n)
{
	if (n >= 100)
		buf_putc(out, (char)('0' + n / 100));
	if (n >= 10)
		buf_putc(out, (char)('0' + n / 10 % 10));
	buf_putc(out, (char)('0' + n % 10));
}

/* client_address masked to the rule's prefix, as "ADDR/NN". */
static bool put_client(struct buf *out, const struct limit_rule *rule, const char *addr)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, a) != 1)
		return false;
	unsigned bits = family == AF_INET ? rule->v4_prefix : rule->v6_prefix;
	size_t n = family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < n; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		a[i] &= (unsigned char)(0xff00u >> keep);
	}
	inet_ntop(family, a, text, sizeof(text));
	buf_puts(out, text);
	buf_putc(out, '/');
	put_number(out, bits);
	return true;
}

bool ratelimit_key(const struct limit_rule *rule, const struct proto_req *r, char kind,
		   struct buf *out)
{
	const char *sasl = proto_get(r, PA_SASL_USERNAME);
	const char *sender = proto_get(r, PA_SENDER);
	const char *at = strrchr(sender, '@');
	buf_puts(out, "cachet:");
	buf_puts(out, rule->name);
	buf_putc(out, ':');
	buf_putc(out, kind);
	if (rule->keys & LK_SASL_USERNAME) {
		if (sasl[0] == '\0')
			return false;
		buf_puts(out, ":u=");
		put_part(out, sasl, strlen(sasl));
	}
	if (rule->keys & LK_SENDER) {
		if (sender[0] == '\0' || at == NULL || at == sender)
			return false;
		/* local+extension@domain counts as local@domain */
		const char *plus = memchr(sender, '+', (size_t)(at - sender));
		buf_puts(out, ":s=");
		put_part(out, sender, (size_t)((plus != NULL ? plus : at) - sender));
		put_part(out, at, strlen(at));
	}
	if (rule->keys & LK_SENDER_DOMAIN) {
		if (at == NULL || at[1] == '\0')
			return false;
		buf_puts(out, ":d=");
		put_part(out, at + 1, strlen(at + 1));
	}
	if (rule->keys & LK_CLIENT_ADDRESS) {
		buf_puts(out, ":c=");
		if (!put_client(out, rule, proto_get(r, PA_CLIENT_ADDRESS)))
			return false;
	}
	if (rule->keys & LK_RECIPIENT_DOMAIN) {
		const char *rat = strrchr(proto_get(r, PA_RECIPIENT), '@');
		if (rat == NULL || rat[1] == '\0')
			return false;
		buf_puts(out, ":rd=");
		put_part(out, rat + 1, strlen(rat + 1));
	}
	return !out->overflow;
}

bool ratelimit_block_key(const char *user, struct buf *out)
{
	if (user[0] == '\0')
		return false;
	buf_puts(out, RATELIMIT_BLOCK_PREFIX);
	put_part(out, user, strlen(user));
	return !out->overflow;
}

void ratelimit_init(struct ratelimit *rl, struct pconf *conf, struct store *store)
{
	char *error = NULL;
	rl->conf = conf;
	rl->store = store;
	rl->logged = store_open("memory", 0, 100000, NULL, &error);
	ASSERT(rl->logged != NULL);
}

void ratelimit_fini(struct ratelimit *rl)
{
	store_close(&rl->logged);
}

static bool rule_applies(const struct limit_rule *rule, const struct proto_req *r)
{
	if (rule->only_authenticated && proto_get(r, PA_SASL_USERNAME)[0] == '\0')
		return false;
	if (rule->port != 0 && strtoul(proto_get(r, PA_SERVER_PORT), NULL, 10) != rule->port)
		return false;
	if (rule->context != NULL && strcmp(proto_get(r, PA_POLICY_CONTEXT), rule->context) != 0)
		return false;
	return true;
}

static bool allowed(const struct pconf *c, const struct proto_req *r)
{
	const char *client = proto_get(r, PA_CLIENT_ADDRESS);
	const char *sasl = proto_get(r, PA_SASL_USERNAME);
	const char *at = strrchr(proto_get(r, PA_SENDER), '@');
	if (c->allow_clients != NULL && client[0] != '\0' &&
	    netlist_match_text(c->allow_clients, client, NULL))
		return true;
	if (sasl[0] != '\0' && word_list_has(c->allow_sasl_users, sasl))
		return true;
	return at != NULL && word_list_has(c->allow_sender_domains, at + 1);
}

/* One request's buckets: keys live in `keys`, one per bucket. */
struct plan {
	struct bucket b[STORE_MAX_BUCKETS];
	const struct limit_rule *rule[STORE_MAX_BUCKETS];
	struct buf keys[STORE_MAX_BUCKETS];
	size_t n;
};

static void plan_add(struct plan *p, const struct limit_rule *rule, const struct proto_req *r,
		     char kind, uint64_t n, uint64_t period_ms, int64_t cost, bool hard)
{
	if (n == 0 || cost <= 0 || p->n >= STORE_MAX_BUCKETS)
		return;
	struct buf *k = &p->keys[p->n];
	buf_init(k, STORE_MAX_KEY);
	if (!ratelimit_key(rule, r, kind, k)) {
		buf_free(k);
		return;
	}
	struct bucket *b = &p->b[p->n];
	b->key = k->p;
	b->interval_us = (int64_t)(period_ms * 1000 / n);
	b->capacity = (int64_t)n;
	b->cost = cost;
	b->hard = hard;
	p->rule[p->n++] = rule;
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		buf_free(&p->keys[i]);
}

/* Logs a tripped rule once per its period (a capacity-1 bucket per key). */
static void log_trip(struct ratelimit *rl, const struct bucket *b, const struct limit_rule *rule,
		     const struct proto_req *r)
{
	uint64_t period = rule->messages_period_ms > rule->recipients_period_ms
				  ? rule->messages_period_ms
				  : rule->recipients_period_ms;
	struct bucket once = { b->key, (int64_t)period * 1000, 1, 1, true, false };
	struct store_call call = { .b = &once, .n = 1, .commit = true };
	int rc = store_apply(rl->logged, &call);
	ASSERT(rc != STORE_PENDING);	/* a memory store */
	bool first = rc == 0 && call.committed_r;
	if (first && rl->on_trip != NULL)
		rl->on_trip(rl->trip_arg, rule, b->key, r);
	if (rule->block && proto_get(r, PA_SASL_USERNAME)[0] != '\0') {
		struct buf k;
		buf_init(&k, STORE_MAX_KEY);
		if (ratelimit_block_key(proto_get(r, PA_SASL_USERNAME), &k) &&
		    store_set(rl->store, k.p, STORE_FOREVER) == 0 && first)
			log_msg(LOG_NOTICE, NULL, "limit %s: SASL user %.100s blocked until an "
				"admin runs: cachet-policyd unblock", rule->name,
				proto_get(r, PA_SASL_USERNAME));
		buf_free(&k);
	}
	const char *qid = proto_get(r, PA_QUEUE_ID);
	log_msg(first ? LOG_NOTICE : LOG_DEBUG, qid[0] != '\0' ? qid : NULL,
		"limit %s exceeded: %s (%s; sasl_username=%.100s client=%.64s sender=%.200s)",
		rule->name, b->key, limit_action_name(rule->action),
		proto_get(r, PA_SASL_USERNAME), proto_get(r, PA_CLIENT_ADDRESS),
		proto_get(r, PA_SENDER));
}

static void reply_action(struct buf *out, const struct limit_rule *rule)
{
	switch (rule->action) {
	case LA_DEFER:
		buf_printf(out, "action=DEFER_IF_PERMIT 4.7.1 %s\n\n", rule->text);
		return;
	case LA_REJECT:
		buf_printf(out, "action=REJECT 5.7.1 %s\n\n", rule->text);
		return;
	case LA_HOLD:
		buf_printf(out, "action=HOLD %s\n\n", rule->text);
		return;
	case LA_PREPEND:
		buf_printf(out, "action=PREPEND X-Cachet-Rate-Limit: %s\n\n", rule->name);
		return;
	}
	ASSERT(0);
}

enum stage { ST_OTHER, ST_RCPT, ST_COUNT };

static enum stage stage_of(const struct proto_req *r)
{
	const char *s = proto_get(r, PA_PROTOCOL_STATE);
	if (strcasecmp(s, "RCPT") == 0)
		return ST_RCPT;
	if (strcasecmp(s, "END-OF-MESSAGE") == 0 || strcasecmp(s, "DATA") == 0)
		return ST_COUNT;
	return ST_OTHER;
}

static void reply_blocked(struct buf *out, const struct proto_req *r)
{
	const char *qid = proto_get(r, PA_QUEUE_ID);
	log_msg(LOG_INFO, qid[0] != '\0' ? qid : NULL, "blocked SASL user %.100s refused",
		proto_get(r, PA_SASL_USERNAME));
	buf_puts(out, "action=REJECT 5.7.1 " RATELIMIT_BLOCK_TEXT "\n\n");
}

/* recipient_domain: was the recipient's domain counted in this transaction? */
static bool rd_seen(const struct rl_conn *conn, const struct proto_req *r)
{
	const char *at = strrchr(proto_get(r, PA_RECIPIENT), '@');
	if (at == NULL || strcmp(conn->rd_instance, proto_get(r, PA_INSTANCE)) != 0)
		return false;
	for (size_t i = 0; i < conn->n_rd; i++)
		if (strcasecmp(conn->rd_domains[i], at + 1) == 0)
			return true;
	return false;
}

static void rd_remember(struct rl_conn *conn, const struct proto_req *r)
{
	const char *inst = proto_get(r, PA_INSTANCE);
	const char *at = strrchr(proto_get(r, PA_RECIPIENT), '@');
	if (strlen(inst) > RATELIMIT_MAX_INSTANCE || at == NULL ||
	    strlen(at + 1) > RATELIMIT_MAX_DOMAIN)
		return;
	if (strcmp(conn->rd_instance, inst) != 0) {
		strcpy(conn->rd_instance, inst);
		conn->n_rd = 0;
	}
	if (conn->n_rd < RATELIMIT_MAX_RCPT_DOMAINS && !rd_seen(conn, r))
		strcpy(conn->rd_domains[conn->n_rd++], at + 1);
}

/*
 * The buckets of the rules that count now: at END-OF-MESSAGE the others
 * (recipient_domain rules are counted at RCPT), at RCPT either the hard
 * other rules (check only) or the recipient_domain ones (counted).
 */
static void plan_rules(struct plan *p, const struct pconf *c, const struct rl_conn *conn,
		       const struct proto_req *r, enum stage st, bool rd)
{
	int64_t rcpts = 1;
	if (st == ST_COUNT)
		rcpts = (int64_t)strtoul(proto_get(r, PA_RECIPIENT_COUNT), NULL, 10);
	for (size_t i = 0; i < c->limits->n; i++) {
		const struct limit_rule *rule = &c->limits->v[i];
		bool hard = rule->action >= LA_DEFER;
		bool is_rd = (rule->keys & LK_RECIPIENT_DOMAIN) != 0;
		if (!rule_applies(rule, r) || is_rd != rd || (st == ST_RCPT && !hard && !rd))
			continue;
		plan_add(p, rule, r, 'm', rule->messages, rule->messages_period_ms,
			 rd && rd_seen(conn, r) ? 0 : 1, hard);
		plan_add(p, rule, r, 'r', rule->recipients, rule->recipients_period_ms,
			 rcpts > 1000000 ? 1000000 : rcpts, hard);
	}
}

/* The strongest action among the buckets that did not fit, or NULL. */
static const struct limit_rule *worst_of(const struct plan *p, size_t *worst_r)
{
	const struct limit_rule *worst = NULL;
	for (size_t i = 0; i < p->n; i++) {
		if (p->b[i].fits_r)
			continue;
		if (worst == NULL || p->rule[i]->action > worst->action) {
			worst = p->rule[i];
			*worst_r = i;
		}
	}
	return worst;
}

static void plan_done(struct plan **p)
{
	plan_free(*p);
	free(*p);
	*p = NULL;
}

/*
 * A decision waiting for the store.  Steps: MAIN, the block and the rules
 * that count now (one store call); RD, at RCPT, the recipient_domain
 * rules (one more).  The job holds a reference to the configuration its
 * plans point into, as a reload may swap rl->conf meanwhile.
 */
enum step { STEP_MAIN, STEP_RD };

/* the job is over: beyond store_apply's 0, -1 and STORE_PENDING */
#define JOB_OVER 2

struct rl_job {
	struct ratelimit *rl;
	struct rl_conn *conn;
	const struct proto_req *r;
	struct buf *out;
	struct pconf *conf;
	enum stage st;
	enum step step;
	bool nothing_to_count;		/* no rules, or counted already: only the block */
	struct plan p;
	struct plan *q;			/* RD's, or NULL */
	const struct limit_rule *worst;	/* MAIN's strongest refusal, or NULL */
	size_t worst_i;
	struct buf gate;		/* the user's block key */
	struct store_call call;
	void (*done)(void *arg);
	void *arg;
};

static void job_free(struct rl_job *j)
{
	plan_free(&j->p);
	if (j->q != NULL)
		plan_done(&j->q);
	buf_free(&j->gate);
	pconf_free(&j->conf);
	free(j);
}

static void on_store(struct store_call *call, int rc);

/* One store call for a plan; store_apply's result. */
static int job_apply(struct rl_job *j, struct plan *p, bool commit, const char *gate)
{
	struct store_call *call = &j->call;
	memset(call, 0, sizeof(*call));
	call->b = p->b;
	call->n = p->n;
	call->commit = commit;
	call->gate = gate;
	call->done = on_store;
	call->arg = j;
	return store_apply(j->rl->store, call);
}

static int finish(struct rl_job *j, const struct limit_rule *rule, const struct bucket *b)
{
	if (rule == NULL) {
		buf_puts(j->out, "action=DUNNO\n\n");
		return JOB_OVER;
	}
	log_trip(j->rl, b, rule, j->r);
	reply_action(j->out, rule);
	return JOB_OVER;
}

static int store_error(struct rl_job *j)
{
	if (j->conf->on_store_error == SE_DEFER)
		buf_puts(j->out, "action=DEFER_IF_PERMIT 4.7.1 Rate limit service "
				 "temporarily unavailable\n\n");
	else
		buf_puts(j->out, "action=DUNNO\n\n");
	return JOB_OVER;
}

/* MAIN answered: the block, the counted instance, then RD or the reply. */
static int main_answered(struct rl_job *j)
{
	const char *instance = proto_get(j->r, PA_INSTANCE);
	if (j->call.gated_r) {
		reply_blocked(j->out, j->r);
		return JOB_OVER;
	}
	if (j->nothing_to_count) {
		buf_puts(j->out, "action=DUNNO\n\n");
		return JOB_OVER;
	}
	j->worst = worst_of(&j->p, &j->worst_i);
	if (j->call.committed_r && instance[0] != '\0') {
		size_t len = strlen(instance);
		if (len > RATELIMIT_MAX_INSTANCE)
			len = RATELIMIT_MAX_INSTANCE;
		memcpy(j->conn->counted, instance, len);
		j->conn->counted[len] = '\0';
	}
	/* recipient_domain rules count at RCPT, unless another rule refused */
	if (j->st == ST_RCPT && (j->worst == NULL || j->worst->action < LA_DEFER)) {
		j->q = xcalloc(1, sizeof(*j->q));
		plan_rules(j->q, j->conf, j->conn, j->r, j->st, true);
		j->step = STEP_RD;
		return job_apply(j, j->q, true, NULL);
	}
	return finish(j, j->worst, j->worst != NULL ? &j->p.b[j->worst_i] : NULL);
}

/* RD answered: the stronger of the two refusals, if any. */
static int rd_answered(struct rl_job *j)
{
	size_t qi = 0;
	if (j->call.committed_r)
		rd_remember(j->conn, j->r);
	const struct limit_rule *qw = worst_of(j->q, &qi);
	if (qw != NULL && (j->worst == NULL || qw->action > j->worst->action))
		return finish(j, qw, &j->q->b[qi]);
	return finish(j, j->worst, j->worst != NULL ? &j->p.b[j->worst_i] : NULL);
}

/* Goes on from a store result as far as it can: STORE_PENDING or JOB_OVER. */
static int job_run(struct rl_job *j, int rc)
{
	while (rc != STORE_PENDING && rc != JOB_OVER) {
		/* a block alone that cannot be read is no block (the outputs say none) */
		if (rc < 0 && j->step == STEP_MAIN && j->p.n == 0)
			rc = 0;
		if (rc < 0)
			rc = store_error(j);
		else if (j->step == STEP_MAIN)
			rc = main_answered(j);
		else
			rc = rd_answered(j);
	}
	return rc;
}

static void on_store(struct store_call *call, int rc)
{
	struct rl_job *j = call->arg;
	if (job_run(j, rc) == STORE_PENDING)
		return;
	void (*done)(void *arg) = j->done;
	void *arg = j->arg;
	j->conn->job = NULL;
	job_free(j);
	done(arg);
}

static struct rl_job *job_new(struct ratelimit *rl, struct rl_conn *conn,
			      const struct proto_req *r, struct buf *out, enum stage st)
{
	struct rl_job *j = xcalloc(1, sizeof(*j));
	const char *instance = proto_get(r, PA_INSTANCE);
	j->rl = rl;
	j->conn = conn;
	j->r = r;
	j->out = out;
	j->conf = pconf_ref(rl->conf);
	j->st = st;
	j->step = STEP_MAIN;
	j->nothing_to_count = j->conf->limits == NULL ||
		(st == ST_COUNT && instance[0] != '\0' && strcmp(conn->counted, instance) == 0);
	if (!j->nothing_to_count)
		plan_rules(&j->p, j->conf, conn, r, st, false);
	buf_init(&j->gate, STORE_MAX_KEY);
	return j;
}

int ratelimit_decide(struct ratelimit *rl, struct rl_conn *conn, const struct proto_req *r,
		     struct buf *out, void (*done)(void *arg), void *arg)
{
	enum stage st = stage_of(r);
	ASSERT(conn->job == NULL);
	if (st == ST_OTHER || allowed(rl->conf, r)) {
		buf_puts(out, "action=DUNNO\n\n");
		return RL_DONE;
	}
	struct rl_job *j = job_new(rl, conn, r, out, st);
	j->done = done;
	j->arg = arg;
	bool user = ratelimit_block_key(proto_get(r, PA_SASL_USERNAME), &j->gate);
	int rc = job_run(j, job_apply(j, &j->p, st == ST_COUNT, user ? j->gate.p : NULL));
	if (rc == STORE_PENDING) {
		conn->job = j;
		return RL_PENDING;
	}
	job_free(j);
	return RL_DONE;
}

void ratelimit_cancel(struct rl_conn *conn)
{
	if (conn->job == NULL)
		return;
	store_cancel(&conn->job->call);
	job_free(conn->job);
	conn->job = NULL;
}
