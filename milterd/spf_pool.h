/*
 * The SPF check's worker threads: an evaluation that waits for DNS answers
 * (spf_dns.c is synchronous) runs off the milter's threads, on a pool that
 * grows with demand and shrinks when idle; one that needs no wait runs in
 * the milter's own thread (spf.c).
 *
 * Jobs run in the order submitted.  A job is started on an idle worker, or
 * on a new one while fewer than the maximum run; past that it waits in the
 * queue (its submitter's deadline still runs, see spf.c).  A worker idle
 * for idle_ms (SPF_POOL_IDLE_MS in the milter) exits.  spf_pool_free() lets the workers finish
 * every queued job, then waits for them all to exit.
 */
#ifndef CACHET_SPF_POOL_H
#define CACHET_SPF_POOL_H

#include "spf_dns.h"

/* A worker with nothing to do for this long exits. */
#define SPF_POOL_IDLE_MS 30000

struct spf_pool;

typedef void spf_pool_fn(void *arg);

struct spf_pool *spf_pool_new(unsigned max_workers, unsigned idle_ms);
/* Waits for every queued and running job, then for the workers' exit. */
void spf_pool_free(struct spf_pool **pool);

/*
 * Queues fn(arg) for a worker.  Returns 0, or an errno value when
 * no worker runs and none can be started (nothing is queued then).
 */
int spf_pool_submit(struct spf_pool *pool, spf_pool_fn *fn, void *arg);

/* Workers alive now (tests, the status line). */
unsigned spf_pool_workers(struct spf_pool *pool);

#endif
