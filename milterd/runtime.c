/*
 * The runtime snapshot (see runtime.h) and the process's live one, swapped
 * under a mutex so a connection always takes a whole snapshot.
 */
#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "xalloc.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;
static unsigned long generations;	/* snapshots installed so far (under current_lock) */

static bool is_enabled(const struct config *cfg, size_t i)
{
	const struct check *ck = cfg->checks[i];
	return ck->enabled == NULL || ck->enabled(cfg, cfg->check_opts[i]);
}

/* A check that is on needs every check it `needs` to be on too. */
static int check_needs(const struct config *cfg, char **error_r)
{
	for (size_t i = 0; i < cfg->n_checks; i++) {
		const struct check *ck = cfg->checks[i];
		if (!is_enabled(cfg, i))
			continue;
		for (const char *const *d = ck->needs; d != NULL && *d != NULL; d++) {
			ptrdiff_t j = check_table_find(cfg->checks, cfg->n_checks, *d);
			if (j >= 0 && !is_enabled(cfg, (size_t)j)) {
				*error_r = xasprintf("check %s needs %s, which this "
						     "configuration turns off", ck->name, *d);
				return -1;
			}
		}
	}
	return 0;
}

/* The enabled checks in run order. */
static int pick_checks(struct runtime *rt, char **error_r)
{
	const struct config *cfg = rt->cfg;
	size_t *order = xcalloc(cfg->n_checks + 1, sizeof(*order));
	int rc = check_table_order(cfg->checks, cfg->n_checks, order, error_r);
	if (rc == 0)
		rc = check_needs(cfg, error_r);
	rt->checks = xcalloc(cfg->n_checks + 1, sizeof(*rt->checks));
	for (size_t k = 0; rc == 0 && k < cfg->n_checks; k++) {
		size_t i = order[k];
		if (!is_enabled(cfg, i))
			continue;
		struct runtime_check *rc_ = &rt->checks[rt->n_checks++];
		rc_->ck = cfg->checks[i];
		rc_->opts = cfg->check_opts[i];
		rt->wants_body |= rc_->ck->body != NULL;
		rt->wants_spool |= (rc_->ck->flags & CHECK_SPOOL) != 0;
		rt->wants_rcpt |= (rc_->ck->flags & CHECK_RCPT) != 0;
	}
	free(order);
	return rc;
}

/* Each check builds its shared data; every failure is reported, one per line. */
static int setup_checks(struct runtime *rt, char **error_r)
{
	struct buf errors;
	buf_init(&errors, 0);
	for (size_t i = 0; i < rt->n_checks; i++) {
		struct runtime_check *c = &rt->checks[i];
		char *err = NULL;
		if (c->ck->setup == NULL || c->ck->setup(rt->cfg, c->opts, &c->data, &err) == 0)
			continue;
		buf_printf(&errors, "%s%s", errors.len > 0 ? "\n" : "", err);
		free(err);
	}
	if (errors.len == 0) {
		buf_free(&errors);
		return 0;
	}
	*error_r = buf_steal(&errors);
	return -1;
}

static void teardown_checks(struct runtime *rt)
{
	for (size_t i = 0; i < rt->n_checks; i++)
		if (rt->checks[i].data != NULL && rt->checks[i].ck->teardown != NULL)
			rt->checks[i].ck->teardown(rt->checks[i].data);
	free(rt->checks);
}

struct runtime *runtime_new(struct config *cfg, char **error_r)
{
	struct dns_options opts = {
		.nameservers = (const char *const *)cfg->nameservers,
		.test_zone = cfg->test_dns_data,
		.timeout_ms = cfg->dns_timeout_ms,
	};
	struct runtime *rt = xcalloc(1, sizeof(*rt));
	rt->refcount = 1;
	rt->cfg = config_ref(cfg);
	if (pick_checks(rt, error_r) < 0) {
		runtime_unref(&rt);
		return NULL;
	}
	rt->dns = dns_new(&opts, error_r);
	if (rt->dns == NULL || setup_checks(rt, error_r) < 0) {
		runtime_unref(&rt);
		return NULL;
	}
	return rt;
}

/* "path: " before every line of text. */
static char *prefix_lines(const char *path, const char *text)
{
	struct buf b;
	buf_init(&b, 0);
	for (const char *p = text; *p != '\0';) {
		size_t len = strcspn(p, "\n");
		buf_printf(&b, "%s%s: %.*s", b.len > 0 ? "\n" : "", path, (int)len, p);
		p += len + (p[len] == '\n');
	}
	return buf_steal(&b);
}

struct runtime *runtime_load(const char *path, char **error_r)
{
	struct config *cfg = config_load(path, error_r);
	if (cfg == NULL)
		return NULL;
	char *err = NULL;
	struct runtime *rt = runtime_new(cfg, &err);
	config_unref(&cfg);
	if (rt == NULL) {
		*error_r = prefix_lines(path, err);
		free(err);
	}
	return rt;
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

ptrdiff_t runtime_check_index(const struct runtime *rt, const char *name)
{
	for (size_t i = 0; i < rt->n_checks; i++)
		if (strcmp(rt->checks[i].ck->name, name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

const struct runtime_check *runtime_check(const struct runtime *rt, const char *name)
{
	ptrdiff_t i = runtime_check_index(rt, name);
	return i >= 0 ? &rt->checks[i] : NULL;
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
	if (rt != NULL)
		rt->generation = ++generations;
	current = rt;
	pthread_mutex_unlock(&current_lock);
	runtime_unref(&old);
}
