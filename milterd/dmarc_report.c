/*
 * The DMARC reporting hook (see dmarc_report.h).  The hook and its context
 * are read under a mutex, so registering one while messages are in flight
 * is safe; the call itself runs outside the lock.
 */
#include "dmarc_report.h"

#include <pthread.h>

#include "compiler.h"

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*hook_fn)(const struct dmarc_report_record *r, void *ctx);
static void *hook_ctx;

void dmarc_report_set_hook(void (*hook)(const struct dmarc_report_record *r, void *ctx),
			   void *ctx)
{
	pthread_mutex_lock(&hook_lock);
	hook_fn = hook;
	hook_ctx = ctx;
	pthread_mutex_unlock(&hook_lock);
}

void dmarc_report_emit(const struct dmarc_report_record *r)
{
	pthread_mutex_lock(&hook_lock);
	void (*fn)(const struct dmarc_report_record *, void *) = hook_fn;
	void *ctx = hook_ctx;
	pthread_mutex_unlock(&hook_lock);
	if (fn != NULL)
		fn(r, ctx);
}

const char *dmarc_disposition_name(enum dmarc_disposition d)
{
	static const char *const names[] = { "none", "quarantine", "reject" };
	return (size_t)d < ARRAY_LEN(names) ? names[d] : "none";
}

const char *dmarc_override_name(enum dmarc_override o)
{
	static const char *const names[] = { "forwarded", "sampled_out", "trusted_forwarder",
					     "mailing_list", "local_policy", "other" };
	return (size_t)o < ARRAY_LEN(names) ? names[o] : "other";
}
