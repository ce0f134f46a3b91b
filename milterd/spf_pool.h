/*
 * The SPF check's worker threads: libspf2 is synchronous, so evaluations
 * run off the milter's threads, on a pool that grows with demand and
 * shrinks when idle.  Each worker owns one spf_engine for its whole life
 * (making one costs more than an evaluation from cached answers); the
 * pool also lends engines to the milter's own threads for evaluations
 * that need no wait (spf.c).
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

typedef void spf_pool_fn(struct spf_engine *engine, void *arg);

struct spf_pool *spf_pool_new(unsigned max_workers, unsigned idle_ms);
/* Waits for every queued and running job, then for the workers' exit. */
void spf_pool_free(struct spf_pool **pool);

/*
 * Queues fn(engine, arg) for a worker.  Returns 0, or an errno value when
 * no worker runs and none can be started (nothing is queued then).
 */
int spf_pool_submit(struct spf_pool *pool, spf_pool_fn *fn, void *arg);

/*
 * An engine for the caller's own thread, for an evaluation that cannot
 * block (from cached answers); give it back with spf_pool_give_back().
 * Spare engines are kept for the next caller and freed with the pool.
 */
struct spf_engine *spf_pool_borrow(struct spf_pool *pool);
void spf_pool_give_back(struct spf_pool *pool, struct spf_engine *engine);

/* Workers alive now (tests, the status line). */
unsigned spf_pool_workers(struct spf_pool *pool);

#endif
