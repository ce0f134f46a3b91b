/*
 * The runtime snapshot (see runtime.h) and the process's live one, swapped
 * under a mutex so a connection always takes a whole snapshot.
 */
#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "xalloc.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;

/* Each enabled check builds its shared data; the first failure stops it. */
static int setup_checks(struct runtime *rt, char **error_r)
{
	for (size_t i = 0; i < rt->n_checks; i++) {
		const struct check *ck = rt->checks[i];
		if (ck->setup == NULL || (ck->enabled != NULL && !ck->enabled(rt->cfg)))
			continue;
		if (ck->setup(rt->cfg, &rt->check_data[i], error_r) < 0)
			return -1;
	}
	return 0;
}

static void teardown_checks(struct runtime *rt)
{
	for (size_t i = 0; i < rt->n_checks; i++)
		if (rt->check_data[i] != NULL && rt->checks[i]->teardown != NULL)
			rt->checks[i]->teardown(rt->check_data[i]);
	free(rt->check_data);
}

struct runtime *runtime_new_with_checks(struct config *cfg, const struct check *const *checks,
					size_t n_checks, char **error_r)
{
	if (check_table_validate(checks, n_checks, error_r) < 0)
		return NULL;
	struct dns_options opts = {
		.nameservers = (const char *const *)cfg->nameservers,
		.test_zone = cfg->test_dns_data,
		.timeout_ms = cfg->dns_timeout_ms,
	};
	struct dns *dns = dns_new(&opts, error_r);
	if (dns == NULL)
		return NULL;
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	rt->refcount = 1;
	rt->cfg = config_ref(cfg);
	rt->dns = dns;
	rt->checks = checks;
	rt->n_checks = n_checks;
	rt->check_data = xcalloc(n_checks + 1, sizeof(void *));
	if (setup_checks(rt, error_r) < 0) {
		runtime_unref(&rt);
		return NULL;
	}
	return rt;
}

struct runtime *runtime_new(struct config *cfg, char **error_r)
{
	return runtime_new_with_checks(cfg, check_table, check_table_len, error_r);
}

struct runtime *runtime_ref(struct runtime *rt)
{
	__atomic_add_fetch(&rt->refcount, 1, __ATOMIC_RELAXED);
	return rt;
}

void runtime_unref(struct runtime **rtp)
{
	struct runtime *rt = *rtp;
	*rtp = NULL;
	if (rt == NULL || __atomic_sub_fetch(&rt->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	teardown_checks(rt);
	dns_free(&rt->dns);
	config_unref(&rt->cfg);
	free(rt);
}

struct runtime *runtime_current(void)
{
	pthread_mutex_lock(&current_lock);
	struct runtime *rt = current != NULL ? runtime_ref(current) : NULL;
	pthread_mutex_unlock(&current_lock);
	return rt;
}

void runtime_set_current(struct runtime *rt)
{
	pthread_mutex_lock(&current_lock);
	struct runtime *old = current;
	current = rt;
	pthread_mutex_unlock(&current_lock);
	runtime_unref(&old);
}
