/*
 * The SPF worker pool (see spf_pool.h).  One lock guards the queue and the
 * counts; workers wait on `work`, spf_pool_free() on `gone`.
 *
 * Counting: `workers` are the threads that will still take jobs, `idle`
 * those of them waiting for one, `exiting` those that left the loop and
 * have not yet let go of the pool.  A submit wakes an idle worker when
 * there are at least as many idle workers as queued jobs (a woken worker
 * counts as idle until it runs), else starts one.
 */
#include "spf_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "xalloc.h"

struct pool_job {
	spf_pool_fn *fn;
	void *arg;
	struct pool_job *next;
};

struct spf_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;	/* CLOCK_MONOTONIC */
	pthread_cond_t gone;
	struct pool_job *head, *tail;
	unsigned queued;
	unsigned workers, idle, exiting, max;
	unsigned idle_ms;
	bool stopping;
};

struct spf_pool *spf_pool_new(unsigned max_workers, unsigned idle_ms)
{
	struct spf_pool *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&p->gone, NULL);
	p->max = max_workers > 0 ? max_workers : 1;
	p->idle_ms = idle_ms;
	return p;
}

static struct pool_job *pop(struct spf_pool *p)
{
	struct pool_job *j = p->head;
	p->head = j->next;
	if (p->head == NULL)
		p->tail = NULL;
	p->queued--;
	return j;
}

static struct timespec idle_deadline(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* With the lock held: waits for a job; NULL when this worker should exit. */
static struct pool_job *next_job(struct spf_pool *p)
{
	struct timespec until = idle_deadline(p->idle_ms);
	while (p->head == NULL && !p->stopping) {
		p->idle++;
		int rc = pthread_cond_timedwait(&p->work, &p->lock, &until);
		p->idle--;
		if (rc == ETIMEDOUT && p->head == NULL)
			return NULL;
	}
	return p->head != NULL ? pop(p) : NULL;
}

static void *worker(void *arg)
{
	struct spf_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	struct pool_job *j;
	while ((j = next_job(p)) != NULL) {
		pthread_mutex_unlock(&p->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	p->workers--;
	p->exiting++;
	pthread_mutex_unlock(&p->lock);
	/* last touch of the pool: spf_pool_free() may free it after this */
	pthread_mutex_lock(&p->lock);
	if (--p->exiting == 0 && p->workers == 0)
		pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* With the lock held. */
static int start_worker(struct spf_pool *p)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	int e = pthread_create(&t, &attr, worker, p);
	pthread_attr_destroy(&attr);
	if (e == 0)
		p->workers++;
	return e;
}

int spf_pool_submit(struct spf_pool *p, spf_pool_fn *fn, void *arg)
{
	struct pool_job *j = xcalloc(1, sizeof(*j));
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	int e = 0;
	if (p->idle >= p->queued)
		pthread_cond_signal(&p->work);
	else if (p->workers < p->max)
		e = start_worker(p);
	if (e != 0 && p->workers > 0) {
		log_msg(LOG_WARNING, NULL, "spf: cannot start another worker thread (%s); "
			"the job waits for a running one", strerror(e));
		e = 0;
	} else if (e != 0) {
		/* no worker: the queue held only this job; nobody will take it */
		ASSERT(p->head == j && p->tail == j);
		p->head = p->tail = NULL;
		p->queued--;
		free(j);
	}
	pthread_mutex_unlock(&p->lock);
	return e;
}

unsigned spf_pool_workers(struct spf_pool *p)
{
	pthread_mutex_lock(&p->lock);
	unsigned n = p->workers;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void spf_pool_free(struct spf_pool **pp)
{
	struct spf_pool *p = *pp;
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	while (p->workers > 0 || p->exiting > 0)
		pthread_cond_wait(&p->gone, &p->lock);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->gone);
	free(p);
	*pp = NULL;
}
