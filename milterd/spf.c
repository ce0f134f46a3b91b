/*
 * The SPF check (RFC 7208): both identities, MAIL FROM and HELO, evaluated
 * by our check_host() through our DNS layer and limits (spf_dns.c).
 *
 * Timing: an evaluation is synchronous.  msg_begin (MAIL FROM) first evaluates
 * both identities at once in its own thread from cached answers alone
 * (lib/dns's cache or the test zone): most mail comes from senders seen
 * within their records' TTL, and a hand-over to another thread costs more
 * than such an evaluation.  The first answer that is not cached stops that
 * attempt; the job then goes to the runtime's worker pool (spf_pool.c),
 * which evaluates MAIL FROM and then
 * HELO while the message streams in, and end of message collects the
 * outcome, waiting at most until SPFTimeout after MAIL FROM; whatever is not
 * done by then is temperror.  The worker and the message share a
 * reference-counted job: the last of the two to let go frees it, so an
 * aborted message (msg_end without eom) neither blocks nor leaks, and the
 * worker sees a cancel flag at its next lookup (or before it starts, if the
 * job waited in the queue).  The pool is the runtime's setup data; teardown
 * drains it (each job is bounded by SPFTimeout plus one DNSTimeout), so a
 * worker never outlives the DNS resolver it uses.
 *
 * Results (Authentication-Results, RFC 8601 2.7.2): one spf= entry for
 * MAIL FROM (smtp.mailfrom, scope "mfrom") and one for HELO (smtp.helo,
 * scope "helo") when the HELO name is a domain name; the null sender has no
 * MAIL FROM entry, its identity being the HELO one (RFC 7208 2.4).  The
 * comment says in words what the result means, with the domain's
 * explanation (exp=) on fail.  Internal and authenticated clients are not
 * checked at all.  SPFRejectFail rejects a fail of the MAIL FROM identity
 * (HELO for <>) with 550 5.7.23 (RFC 7372); never a temperror.
 * AddReceivedSPF prepends a Received-SPF field (RFC 7208 9.1) for that
 * identity.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline.h"
#include "spf_dns.h"
#include "spf_pool.h"
#include "xalloc.h"

/* The HELO argument kept for %{h} (our limit). */
#define SPF_MAX_HELO_TEXT 255

/*
 * Worker threads per runtime at most: one per message in flight with a slow
 * DNS answer outstanding; more messages than this wait in the queue.
 */
#define SPF_MAX_WORKERS 256

struct spf_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* CLOCK_MONOTONIC */
	int refs;		/* the message and the worker */
	bool done;
	int cancel;		/* atomic */
	struct spf_backend be;
	char *ip, *helo, *helo_text, *sender, *receiver;
	uint64_t deadline_ms;
	bool do_mfrom, do_helo;
	bool explain;		/* cachet check: keep why (spf_outcome.explain) */
	struct spf_outcome mfrom, helo_out;
};

struct spf_state {
	const struct spf_options *opts;
	struct spf_pool *pool;
	struct spf_job *job;	/* NULL when nothing was started */
	const char *sender;	/* "local@domain", or NULL for <> or a bad path */
	const char *helo;	/* lower-cased, when it is a domain name, else NULL */
	bool sender_bad;	/* MAIL FROM did not parse */
	struct spf_result result;
};

static const struct conffile_bounds spf_timeout_bounds = { 100, 25000 };

#define OPT(name, type, def, field, extra)                                      \
	CONFFILE_OPT(struct spf_options, name, type, def, field, extra)

static const struct conffile_option spf_option_table[] = {
	OPT("SPF", &conffile_bool, "yes", spf, NULL),
	OPT("SPFRejectFail", &conffile_bool, "no", reject_fail, NULL),
	OPT("AddReceivedSPF", &conffile_bool, "no", add_received_spf, NULL),
	OPT("SPFTimeout", &conffile_duration, "10s", timeout_ms, &spf_timeout_bounds),
};

static const struct conffile_schema spf_options = {
	spf_option_table, ARRAY_LEN(spf_option_table), sizeof(struct spf_options),
};

static bool spf_enabled(const struct config *cfg, const void *opts)
{
	(void)cfg;
	return ((const struct spf_options *)opts)->spf;
}

static int spf_setup(const struct config *cfg, const void *opts, void **data_r, char **error_r)
{
	(void)cfg;
	(void)opts;
	(void)error_r;
	*data_r = spf_pool_new(SPF_MAX_WORKERS, SPF_POOL_IDLE_MS);
	return 0;
}

static void spf_teardown(void *data)
{
	struct spf_pool *pool = data;
	spf_pool_free(&pool);
}

static void job_free(struct spf_job *j)
{
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j->ip);
	free(j->helo);
	free(j->helo_text);
	free(j->sender);
	free(j->receiver);
	spf_outcome_clear(&j->mfrom);
	spf_outcome_clear(&j->helo_out);
	free(j);
}

/* Drops one reference; the last one frees the job. */
static void job_release(struct spf_job *j)
{
	pthread_mutex_lock(&j->lock);
	bool last = --j->refs == 0;
	pthread_mutex_unlock(&j->lock);
	if (last)
		job_free(j);
}

/* Both identities; false if cached_only and an answer was not there. */
static bool run_job(struct spf_job *j, bool cached_only)
{
	struct spf_query q = {
		.ip = j->ip, .helo = j->helo, .helo_text = j->helo_text, .sender = j->sender,
		.receiver = j->receiver,
		.deadline_ms = j->deadline_ms, .cancel = &j->cancel,
		.cached_only = cached_only, .explain = j->explain,
	};
	if (j->do_mfrom) {
		spf_dns_evaluate(&j->be, &q, &j->mfrom);
		if (j->mfrom.incomplete)
			return false;
	}
	q.sender = NULL;
	if (j->do_helo) {
		spf_dns_evaluate(&j->be, &q, &j->helo_out);
		if (j->helo_out.incomplete)
			return false;
	}
	return true;
}

/* In a worker. */
static void evaluate(void *arg)
{
	struct spf_job *j = arg;
	/* a job the message gave up on while it waited in the queue is skipped */
	if (!__atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE))
		run_job(j, false);
	pthread_mutex_lock(&j->lock);
	j->done = true;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	job_release(j);
}

static bool ip_ok(const char *ip)
{
	struct in6_addr a;
	return inet_pton(AF_INET, ip, &a) == 1 || inet_pton(AF_INET6, ip, &a) == 1;
}

static struct spf_job *job_new(struct msg *m, const struct spf_state *st)
{
	const struct runtime *rt = m->rt;
	struct spf_job *j = xcalloc(1, sizeof(*j));
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	j->refs = 2;
	j->be.dns = rt->dns;
	j->ip = xstrdup(m->conn->client_ip);
	j->helo = st->helo != NULL ? xstrdup(st->helo) : NULL;
	/* %{h} is the HELO argument as sent, domain name or not (RFC 7208 7.3) */
	j->helo_text = m->conn->helo != NULL ? xstrndup(m->conn->helo, SPF_MAX_HELO_TEXT) : NULL;
	j->sender = st->sender != NULL ? xstrdup(st->sender) : NULL;
	j->receiver = xstrdup(rt->cfg->authserv_id);
	j->deadline_ms = spf_clock_ms() + st->opts->timeout_ms;
	j->do_mfrom = st->sender != NULL;
	j->do_helo = st->helo != NULL;
	j->explain = rt->cfg->explain;
	return j;
}

/*
 * With every answer cached, in this thread at once: no hand-over to a
 * worker and back.  False (and the job as it was) when one is missing.
 */
static bool run_at_once(struct spf_job *j)
{
	bool complete = run_job(j, true);
	if (complete) {
		j->done = true;
		j->refs = 1;	/* the message's only */
		return true;
	}
	spf_outcome_clear(&j->mfrom);
	spf_outcome_clear(&j->helo_out);
	memset(&j->mfrom, 0, sizeof(j->mfrom));
	memset(&j->helo_out, 0, sizeof(j->helo_out));
	return false;
}

static int start(struct msg *m, struct spf_state *st)
{
	struct spf_job *j = job_new(m, st);
	if (run_at_once(j)) {
		st->job = j;
		return 0;
	}
	int e = spf_pool_submit(st->pool, evaluate, j);
	if (e != 0) {
		log_msg(LOG_ERR, m->qid, "spf: cannot start a worker thread: %s", strerror(e));
		job_free(j);
		return -1;
	}
	st->job = j;
	return 0;
}

static int spf_begin(struct msg *m, struct check_ctx *cx)
{
	if (m->internal)
		return 0;
	if (!ip_ok(m->conn->client_ip)) {
		log_msg(LOG_INFO, m->qid, "spf: no client IP address; not checked");
		return 0;
	}
	struct spf_state *st = arena_alloc(m->arena, sizeof(*st));
	st->opts = cx->opts;
	st->pool = cx->data;
	const char *helo = m->conn->helo;
	if (helo != NULL) {
		char *h = addr_domain_normalize(m->arena, helo, strlen(helo));
		st->helo = h != NULL && strchr(h, '.') != NULL ? h : NULL;
	}
	if (!m->mail_from_valid)
		st->sender_bad = true;
	else if (m->mail_from.domain[0] != '\0')
		st->sender = arena_printf(m->arena, "%s@%s", m->mail_from.local,
					  m->mail_from.domain);
	cx->state = st;
	if (st->sender == NULL && st->helo == NULL)
		return 1;	/* nothing to evaluate; eom says so */
	return start(m, st) < 0 ? -1 : 1;
}

/* Waits for the worker until the deadline; true if it finished. */
static bool wait_job(struct spf_job *j)
{
	struct timespec ts = { .tv_sec = (time_t)(j->deadline_ms / 1000),
			       .tv_nsec = (long)(j->deadline_ms % 1000) * 1000000 };
	pthread_mutex_lock(&j->lock);
	while (!j->done && pthread_cond_timedwait(&j->cond, &j->lock, &ts) == 0)
		;
	bool done = j->done;
	pthread_mutex_unlock(&j->lock);
	if (!done)
		__atomic_store_n(&j->cancel, 1, __ATOMIC_RELEASE);
	return done;
}

/* A Received-SPF value (RFC 7208 9.1); the comment loses its parentheses. */
static char *received_spf(struct msg *m, const struct spf_state *st, const char *result,
			  const char *comment, bool helo_identity)
{
	char *c = arena_strdup(m->arena, comment != NULL ? comment : "");
	for (char *p = c; *p != '\0'; p++)
		if (*p == '(' || *p == ')' || *p == '\\')
			*p = *p == '(' ? '[' : *p == ')' ? ']' : '/';
	const char *from = st->sender != NULL ? st->sender : "";
	return arena_printf(m->arena, "%s (%s) client-ip=%s; envelope-from=\"%s\";%s%s%s "
			    "receiver=%s; identity=%s", result, c, m->conn->client_ip, from,
			    st->helo ? " helo=" : "", st->helo ? st->helo : "", st->helo ? ";" : "",
			    m->cfg->authserv_id, helo_identity ? "helo" : "mailfrom");
}

/* The typed result of one identity. */
static struct spf_identity_result *keep_result(struct msg *m, struct spf_state *st,
					       bool helo_scope, const char *result,
					       const char *domain)
{
	struct spf_identity_result *r = arena_alloc(m->arena, sizeof(*r));
	r->result = arena_strdup(m->arena, result);
	r->domain = domain;
	if (helo_scope)
		st->result.helo = r;
	else
		st->result.mfrom = r;
	return r;
}

/* Reports one identity's result; returns its typed result. */
static struct spf_identity_result *report(struct msg *m, struct spf_state *st, bool helo_scope,
					  const char *result, const char *comment,
					  const char *explanation)
{
	const struct spf_options *opts = st->opts;
	struct ar_result r = { .method = "spf", .result = result, .comment = comment };
	const char *domain = NULL;
	if (helo_scope && st->helo != NULL) {
		r.props = arena_printf(m->arena, "smtp.helo=%s", st->helo);
		domain = st->helo;
	} else if (!helo_scope && st->sender != NULL) {
		domain = strrchr(st->sender, '@') + 1;
		/* RFC 8601 2.7.2: the domain alone when the local-part is not plain */
		r.props = arena_printf(m->arena, "smtp.mailfrom=%s",
				       spf_dns_local_ok(m->mail_from.local) ? st->sender : domain);
	}
	struct spf_identity_result *kept = keep_result(m, st, helo_scope, result, domain);
	verdict_add_result(m->arena, &m->verdict, &r);
	log_msg(LOG_DEBUG, m->qid, "spf: %s %s: %s", helo_scope ? "helo" : "mfrom", result,
		comment ? comment : "");
	/* the identity that stands for the message: MAIL FROM, or HELO for <> */
	bool main_identity = helo_scope == (st->sender == NULL);
	if (!main_identity)
		return kept;
	if (opts->add_received_spf)
		verdict_add_edit(m->arena, &m->verdict, EDIT_INSERT, "Received-SPF",
				 received_spf(m, st, result, comment, helo_scope), 0);
	if (opts->reject_fail && strcmp(result, "fail") == 0) {
		const char *who = st->sender != NULL ? st->sender : st->helo;
		char *text = arena_printf(m->arena, "SPF: %s is not allowed to send mail from %s%s%s",
					  m->conn->client_ip, who, explanation ? ": " : "",
					  explanation ? explanation : "");
		/* RFC 7372 3.2: 5.7.23 SPF validation failed */
		verdict_propose(m->arena, &m->verdict, ACTION_REJECT, "spf", "550", "5.7.23", text);
	}
	return kept;
}

static void report_outcome(struct msg *m, struct spf_state *st, bool helo_scope,
			   bool done, const struct spf_outcome *o)
{
	if (!done) {
		report(m, st, helo_scope, "temperror",
		       arena_printf(m->arena, "%s: SPF evaluation did not finish within "
				    "SPFTimeout", m->cfg->authserv_id), NULL);
		return;
	}
	struct spf_identity_result *r = report(m, st, helo_scope, spf_res_name(o->result),
					       o->comment, o->explanation);
	r->explain = spf_explain_copy(m->arena, o->explain);
}

static int spf_eom(struct msg *m, struct check_ctx *cx)
{
	struct spf_state *st = cx->state;
	const char *me = m->cfg->authserv_id;
	cx->result = &st->result;
	bool done = st->job == NULL || wait_job(st->job);
	if (st->sender_bad)
		report(m, st, false, "none",
		       arena_printf(m->arena, "%s: MAIL FROM address could not be parsed", me),
		       NULL);
	else if (st->sender != NULL)
		report_outcome(m, st, false, done, &st->job->mfrom);
	if (st->helo != NULL)
		report_outcome(m, st, true, done, &st->job->helo_out);
	else if (st->sender == NULL && !st->sender_bad)
		report(m, st, true, "none",
		       arena_printf(m->arena, "%s: null sender and no usable HELO name", me),
		       NULL);
	return 0;
}

static void spf_end(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	struct spf_state *st = cx->state;
	if (st == NULL || st->job == NULL)
		return;
	__atomic_store_n(&st->job->cancel, 1, __ATOMIC_RELEASE);
	job_release(st->job);
	st->job = NULL;
}

const struct check check_spf = {
	.name = SPF_CHECK,
	.options = &spf_options,
	.enabled = spf_enabled,
	.setup = spf_setup,
	.teardown = spf_teardown,
	.msg_begin = spf_begin,
	.eom = spf_eom,
	.msg_end = spf_end,
};
