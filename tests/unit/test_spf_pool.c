/*
 * Tests of the SPF worker pool (milterd/spf_pool.c): every job runs once,
 * never more workers than the maximum, a worker is reused rather than a new
 * one started, idle workers exit, freeing drains the queue, and one
 * worker gives the same answers evaluation after evaluation.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spf_dns.h"
#include "spf_pool.h"
#include "t.h"

struct tally {
	pthread_mutex_t lock;
	unsigned ran, running, most;
	unsigned sleep_us;
};

static void count_job(void *arg)
{
	struct tally *t = arg;
	pthread_mutex_lock(&t->lock);
	t->running++;
	if (t->running > t->most)
		t->most = t->running;
	pthread_mutex_unlock(&t->lock);
	if (t->sleep_us > 0)
		usleep(t->sleep_us);
	pthread_mutex_lock(&t->lock);
	t->running--;
	t->ran++;
	pthread_mutex_unlock(&t->lock);
}

static unsigned ran(struct tally *t)
{
	pthread_mutex_lock(&t->lock);
	unsigned n = t->ran;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Waits up to ~2 s for cond(pool) to hold. */
static bool eventually(struct spf_pool *p, unsigned workers)
{
	for (int i = 0; i < 400; i++) {
		if (spf_pool_workers(p) == workers)
			return true;
		usleep(5000);
	}
	return false;
}

static void test_every_job_runs_within_the_maximum(void)
{
	struct tally t = { .lock = PTHREAD_MUTEX_INITIALIZER, .sleep_us = 2000 };
	struct spf_pool *p = spf_pool_new(4, 60000);
	for (int i = 0; i < 200; i++)
		T_EQ_INT(spf_pool_submit(p, count_job, &t), 0);
	T_CHECK(spf_pool_workers(p) <= 4);
	spf_pool_free(&p);	/* drains the queue */
	T_CHECK(p == NULL);
	T_EQ_INT(t.ran, 200);
	T_CHECK(t.most <= 4);
	T_CHECK(t.most >= 2);	/* the jobs sleep: more than one ran at once */
}

static void test_idle_worker_is_reused(void)
{
	struct tally t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct spf_pool *p = spf_pool_new(8, 60000);
	for (unsigned i = 1; i <= 20; i++) {
		T_EQ_INT(spf_pool_submit(p, count_job, &t), 0);
		while (ran(&t) < i)
			usleep(200);
		usleep(1000);	/* the worker is back waiting */
	}
	T_EQ_INT(spf_pool_workers(p), 1);
	spf_pool_free(&p);
	T_EQ_INT(t.ran, 20);
}

static void test_idle_workers_exit(void)
{
	struct tally t = { .lock = PTHREAD_MUTEX_INITIALIZER, .sleep_us = 5000 };
	struct spf_pool *p = spf_pool_new(3, 50);
	for (int i = 0; i < 3; i++)
		spf_pool_submit(p, count_job, &t);
	T_CHECK(spf_pool_workers(p) >= 1);
	T_CHECK(eventually(p, 0));
	T_EQ_INT(ran(&t), 3);
	/* and the pool starts workers again afterwards */
	spf_pool_submit(p, count_job, &t);
	spf_pool_free(&p);
	T_EQ_INT(t.ran, 4);
}

static void test_free_of_an_unused_pool(void)
{
	struct spf_pool *p = spf_pool_new(2, 1000);
	T_EQ_INT(spf_pool_workers(p), 0);
	spf_pool_free(&p);
	spf_pool_free(&p);	/* NULL: nothing */
	T_CHECK(p == NULL);
}

/* One worker, one zone, many evaluations in a row: the same answers. */
struct eval_job {
	const struct spf_backend *be;
	const char *sender;
	enum spf_res want;
	enum spf_res got;
};

static void eval_job(void *arg)
{
	struct eval_job *j = arg;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct spf_query q = {
		.ip = "192.0.2.1", .helo = "mail.example", .sender = j->sender,
		.receiver = "mx.example.net", .deadline_ms = spf_clock_ms() + 5000,
	};
	struct spf_outcome out;
	spf_dns_evaluate(j->be, &q, &out);
	j->got = out.result;
	spf_outcome_clear(&out);
}

static void test_one_worker_many_evaluations(void)
{
	static const char zone_text[] =
		"pass.example. TXT \"v=spf1 ip4:192.0.2.1 -all\"\n"
		"fail.example. TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
		"soft.example. TXT \"v=spf1 ~all\"\n"
		"perm.example. TXT \"v=spf1 foo:bar -all\"\n";
	char *err = NULL;
	struct zone *z = zone_parse("pool-zone", zone_text, strlen(zone_text), &err);
	T_CHECK(z != NULL);
	if (z == NULL) {
		free(err);
		return;
	}
	struct spf_backend be = { .zone = z };
	static const struct { const char *sender; enum spf_res want; } cases[] = {
		{ "a@pass.example", SPF_RES_PASS },
		{ "b@fail.example", SPF_RES_FAIL },
		{ "c@soft.example", SPF_RES_SOFTFAIL },
		{ "d@perm.example", SPF_RES_PERMERROR },
		{ "e@none.example", SPF_RES_NONE },
	};
	enum { N = 100 };
	struct eval_job jobs[N];
	struct spf_pool *p = spf_pool_new(1, 60000);	/* one worker for all */
	for (int i = 0; i < N; i++) {
		size_t c = (size_t)i % (sizeof(cases) / sizeof(cases[0]));
		jobs[i] = (struct eval_job){ &be, cases[c].sender, cases[c].want, -1 };
		spf_pool_submit(p, eval_job, &jobs[i]);
	}
	spf_pool_free(&p);
	int wrong = 0;
	for (int i = 0; i < N; i++)
		wrong += jobs[i].got != jobs[i].want;
	T_EQ_INT(wrong, 0);
	zone_free(&z);
}

int main(void)
{
	T_RUN(test_every_job_runs_within_the_maximum);
	T_RUN(test_idle_worker_is_reused);
	T_RUN(test_idle_workers_exit);
	T_RUN(test_free_of_an_unused_pool);
	T_RUN(test_one_worker_many_evaluations);
	return t_done();
}
