/*
 * The DNS layer (see dns.h): lookups answered by libunbound or by a test zone.
 *
 * libunbound back end: one ub_ctx per struct dns, in threaded async mode,
 * driven by one thread of ours that polls ub_fd() and calls ub_process();
 * libunbound calls our callback from that thread.  A lookup is shared
 * between its caller and libunbound: it holds a reference for each, and
 * one mutex per struct dns guards every lookup's state.  Whoever drops the
 * last reference frees it, so a callback that comes after the caller gave
 * up (deadline passed, lookup freed) finds live memory and is ignored.  A
 * lookup whose deadline passes is cancelled with ub_cancel(); when that
 * succeeds libunbound will never call back (the cancel flag is checked under
 * its own lock before a callback is taken), so we drop its reference
 * ourselves.
 *
 * Test back end: every lookup is answered by zone_lookup() at start, so it
 * is done at once.  A TIMEOUT record gives DNS_TIMEOUT at once too: tests
 * need the outcome, not the wait.
 *
 * Limits: names of at most 253 bytes and 63-byte labels, printable ASCII
 * only; at most DNS_MAX_RECORDS records per answer (the rest are dropped);
 * TXT records of at most DNS_MAX_TXT bytes.  Records whose data is malformed
 * are skipped.  No DNSSEC trust anchor is configured, so `secure` is false.
 */
#include "dns.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "dns_cache.h"
#include "dns_wire.h"
#include "log.h"
#include "xalloc.h"
#include "zone.h"

#define DNS_DEFAULT_TIMEOUT_MS 5000
#define DNS_MAX_TIMEOUT_MS 600000
#define DNS_CLASS_IN 1

struct dns {
	struct zone *zone;	/* the test back end, or NULL */
	struct ub_ctx *ctx;	/* the libunbound back end, or NULL */
	unsigned timeout_ms;
	pthread_t thread;
	int stop_pipe[2];	/* written to stop the thread */
	pthread_mutex_t mu;	/* guards the lookups below and their state */
	pthread_condattr_t condattr;
	struct dns_lookup *lookups;	/* every libunbound lookup not yet freed */
	struct dns_cache *cache;	/* answers kept for their TTL */
};

struct dns_lookup {
	struct dns *d;		/* NULL: done for good (test zone, dns_free) */
	struct dns_lookup *prev, *next;
	pthread_cond_t cond;
	bool has_cond;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	int refs;		/* the caller's, plus libunbound's while pending */
	bool pending;		/* libunbound owes us a callback */
	bool cancelled;		/* ub_cancel was tried */
	bool have_id;
	int async_id;
	bool done;
	char *name;		/* what was asked (for the cache) */
	struct dns_answer answer;
};

/* ---- names ---- */

/* RFC 1035 2.3.4 lengths; no empty label except a final dot. */
static bool name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!dns_label_byte_ok((uint8_t)name[i]) || ++label > DNS_LABEL_MAX) {
			return false;
		}
	}
	return label > 0;
}

static bool type_supported(enum dns_type t)
{
	return t == DNS_T_A || t == DNS_T_AAAA || t == DNS_T_MX || t == DNS_T_TXT ||
	       t == DNS_T_PTR || t == DNS_T_CNAME;
}

/* ---- lookups ---- */

static void lookup_destroy(struct dns_lookup *l)
{
	dns_answer_clear(&l->answer);
	free(l->name);
	if (l->has_cond)
		pthread_cond_destroy(&l->cond);
	free(l);
}

static void unlink_locked(struct dns *d, struct dns_lookup *l)
{
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		d->lookups = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

/* Drops one reference; frees the lookup (and returns true) on the last. */
static bool unref_locked(struct dns *d, struct dns_lookup *l)
{
	ASSERT(l->refs > 0);
	if (--l->refs > 0)
		return false;
	unlink_locked(d, l);
	return true;
}

static void finish_locked(struct dns_lookup *l, enum dns_status status, const char *why)
{
	l->answer.status = status;
	l->answer.why = why;
	l->done = true;
	pthread_cond_broadcast(&l->cond);
}

static void ub_callback(void *arg, int err, struct ub_result *res)
{
	struct dns_lookup *l = arg;
	struct dns *d = l->d;
	struct dns_answer a = { .type = l->answer.type };
	dns_answer_from_unbound(err, res, &a);
	if (res != NULL)
		ub_resolve_free(res);
	dns_cache_put(d->cache, l->name, a.type, &a);
	pthread_mutex_lock(&d->mu);
	if (!l->done) {
		l->answer = a;
		finish_locked(l, a.status, a.why);
	} else {
		dns_answer_clear(&a);	/* too late: the caller gave up */
	}
	l->pending = false;
	bool last = unref_locked(d, l);
	pthread_mutex_unlock(&d->mu);
	if (last)
		lookup_destroy(l);
}

/* Asks libunbound to forget the query; the caller holds its reference. */
static void lookup_cancel(struct dns_lookup *l)
{
	struct dns *d = l->d;
	pthread_mutex_lock(&d->mu);
	bool try = l->pending && l->have_id && !l->cancelled;
	int id = l->async_id;
	l->cancelled = true;
	pthread_mutex_unlock(&d->mu);
	/*
	 * Not under d->mu: ub_cancel takes libunbound's lock, which our
	 * callback never holds, but keep the two locks apart all the same.
	 * UB_NOID means the callback is coming or came: it drops its own ref.
	 */
	if (try && ub_cancel(d->ctx, id) == UB_NOERROR) {
		pthread_mutex_lock(&d->mu);
		l->pending = false;
		(void)unref_locked(d, l);	/* not the last: the caller's is held */
		pthread_mutex_unlock(&d->mu);
	}
}

static bool deadline_passed(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void lookup_expire_locked(struct dns_lookup *l)
{
	finish_locked(l, DNS_TIMEOUT, "no answer before the deadline");
}

static struct dns_lookup *lookup_new(enum dns_type type)
{
	struct dns_lookup *l = xcalloc(1, sizeof(*l));
	l->answer.type = type;
	l->refs = 1;
	return l;
}

static void lookup_start_unbound(struct dns *d, struct dns_lookup *l, const char *name)
{
	pthread_cond_init(&l->cond, &d->condattr);
	l->has_cond = true;
	clock_gettime(CLOCK_MONOTONIC, &l->deadline);
	l->deadline.tv_sec += d->timeout_ms / 1000;
	l->deadline.tv_nsec += (long)(d->timeout_ms % 1000) * 1000000;
	if (l->deadline.tv_nsec >= 1000000000) {
		l->deadline.tv_sec++;
		l->deadline.tv_nsec -= 1000000000;
	}
	l->d = d;
	l->name = xstrdup(name);
	l->refs = 2;
	l->pending = true;
	pthread_mutex_lock(&d->mu);
	l->next = d->lookups;
	if (d->lookups != NULL)
		d->lookups->prev = l;
	d->lookups = l;
	pthread_mutex_unlock(&d->mu);

	/* The callback may run (in our thread) before this returns. */
	int id = 0;
	int r = ub_resolve_async(d->ctx, name, (int)l->answer.type, DNS_CLASS_IN, l,
				 ub_callback, &id);
	pthread_mutex_lock(&d->mu);
	if (r != 0) {
		l->pending = false;
		(void)unref_locked(d, l);
		if (!l->done)
			finish_locked(l, DNS_ERROR, ub_strerror(r));
	} else {
		l->async_id = id;
		l->have_id = true;
	}
	pthread_mutex_unlock(&d->mu);
}

/* The answer there is without asking a server, into l; false if none. */
static bool answer_at_once(struct dns *d, struct dns_lookup *l, const char *name)
{
	enum dns_type type = l->answer.type;
	if (!name_valid(name)) {
		l->answer.status = DNS_ERROR;
		l->answer.why = "invalid name";
	} else if (!type_supported(type)) {
		l->answer.status = DNS_ERROR;
		l->answer.why = "unsupported record type";
	} else if (d->zone != NULL) {
		zone_lookup(d->zone, name, type, &l->answer);
	} else if (!dns_cache_get(d->cache, name, type, &l->answer)) {
		return false;
	}
	l->done = true;
	return true;
}

struct dns_lookup *dns_lookup_start(struct dns *d, const char *name, enum dns_type type)
{
	struct dns_lookup *l = lookup_new(type);
	if (!answer_at_once(d, l, name))
		lookup_start_unbound(d, l, name);
	return l;
}

struct dns_lookup *dns_lookup_cached(struct dns *d, const char *name, enum dns_type type)
{
	struct dns_lookup *l = lookup_new(type);
	if (answer_at_once(d, l, name))
		return l;
	lookup_destroy(l);
	return NULL;
}

const struct dns_answer *dns_lookup_wait(struct dns_lookup *l)
{
	struct dns *d = l->d;
	if (d == NULL)
		return &l->answer;
	bool expired = false;
	pthread_mutex_lock(&d->mu);
	while (!l->done) {
		int r = pthread_cond_timedwait(&l->cond, &d->mu, &l->deadline);
		if (r == ETIMEDOUT && !l->done) {
			lookup_expire_locked(l);
			expired = true;
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (expired)
		lookup_cancel(l);
	return &l->answer;
}

bool dns_lookup_done(struct dns_lookup *l)
{
	struct dns *d = l->d;
	if (d == NULL)
		return true;
	bool expired = false;
	pthread_mutex_lock(&d->mu);
	if (!l->done && deadline_passed(&l->deadline)) {
		lookup_expire_locked(l);
		expired = true;
	}
	bool done = l->done;
	pthread_mutex_unlock(&d->mu);
	if (expired)
		lookup_cancel(l);
	return done;
}

void dns_lookup_free(struct dns_lookup **lp)
{
	struct dns_lookup *l = *lp;
	if (l == NULL)
		return;
	*lp = NULL;
	struct dns *d = l->d;
	if (d == NULL) {
		lookup_destroy(l);
		return;
	}
	lookup_cancel(l);
	pthread_mutex_lock(&d->mu);
	bool last = unref_locked(d, l);
	pthread_mutex_unlock(&d->mu);
	if (last)
		lookup_destroy(l);
}

const struct dns_answer *dns_lookup_sync(struct dns *d, const char *name,
					 enum dns_type type, struct dns_lookup **l_r)
{
	*l_r = dns_lookup_start(d, name, type);
	return dns_lookup_wait(*l_r);
}

/* ---- the resolver ---- */

static void *dns_thread(void *arg)
{
	struct dns *d = arg;
	struct pollfd pfd[2] = {
		{ .fd = ub_fd(d->ctx), .events = POLLIN },
		{ .fd = d->stop_pipe[0], .events = POLLIN },
	};
	bool logged = false;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR && !logged) {
				log_msg(LOG_ERR, NULL, "dns: poll: %s", strerror(errno));
				logged = true;
			}
			continue;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		int r = ub_process(d->ctx);
		if (r != 0) {
			/* lookups will reach their deadlines; don't spin */
			log_msg(LOG_ERR, NULL, "dns: libunbound: %s", ub_strerror(r));
			struct timespec pause = { 0, 100 * 1000000 };
			nanosleep(&pause, NULL);
		}
	}
	return NULL;
}

static char *error_text(const char *fmt, ...) PRINTF(1, 2);

static char *error_text(const char *fmt, ...)
{
	struct buf b;
	buf_init(&b, 1024);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b);
}

/* Sets up libunbound: threads, forwarders or resolv.conf, no /etc/hosts. */
static bool unbound_setup(struct dns *d, const struct dns_options *opts, char **error_r)
{
	d->ctx = ub_ctx_create();
	if (d->ctx == NULL) {
		*error_r = error_text("dns: cannot create a libunbound context");
		return false;
	}
	int r = ub_ctx_async(d->ctx, 1);
	/* Loopback forwarders (a local cache, a test server) are normal here. */
	if (r == 0)
		r = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no");
	if (r != 0) {
		*error_r = error_text("dns: libunbound: %s", ub_strerror(r));
		return false;
	}
	if (opts->nameservers == NULL) {
		r = ub_ctx_resolvconf(d->ctx, NULL);
		if (r != 0) {
			*error_r = error_text("dns: cannot use /etc/resolv.conf: %s",
					      ub_strerror(r));
			return false;
		}
		return true;
	}
	if (opts->nameservers[0] == NULL) {
		*error_r = error_text("dns: Nameservers: the list is empty");
		return false;
	}
	for (size_t i = 0; opts->nameservers[i] != NULL; i++) {
		r = ub_ctx_set_fwd(d->ctx, opts->nameservers[i]);
		if (r != 0) {
			*error_r = error_text("dns: Nameservers: bad address \"%s\": %s",
					      opts->nameservers[i], ub_strerror(r));
			return false;
		}
	}
	return true;
}

/* Our thread takes no signals: the programs handle them in their main thread. */
static bool thread_start(struct dns *d, char **error_r)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&d->thread, NULL, dns_thread, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		*error_r = error_text("dns: cannot start a thread: %s", strerror(r));
		return false;
	}
	return true;
}

struct dns *dns_new(const struct dns_options *opts, char **error_r)
{
	static const struct dns_options defaults;
	if (opts == NULL)
		opts = &defaults;
	*error_r = NULL;
	if (opts->timeout_ms > DNS_MAX_TIMEOUT_MS) {
		*error_r = error_text("dns: timeout %u ms is more than %u", opts->timeout_ms,
				      DNS_MAX_TIMEOUT_MS);
		return NULL;
	}
	struct dns *d = xcalloc(1, sizeof(*d));
	d->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
	d->stop_pipe[0] = d->stop_pipe[1] = -1;
	if (opts->test_zone != NULL) {
		d->zone = zone_load_at(opts->test_zone, opts->test_zone_origin, error_r);
		if (d->zone == NULL) {
			free(d);
			return NULL;
		}
		return d;
	}
	pthread_mutex_init(&d->mu, NULL);
	d->cache = dns_cache_new();
	pthread_condattr_init(&d->condattr);
	pthread_condattr_setclock(&d->condattr, CLOCK_MONOTONIC);
	if (!unbound_setup(d, opts, error_r)) {
		dns_free(&d);
		return NULL;
	}
	if (pipe2(d->stop_pipe, O_CLOEXEC) != 0) {
		*error_r = error_text("dns: pipe: %s", strerror(errno));
		dns_free(&d);
		return NULL;
	}
	if (!thread_start(d, error_r)) {
		close(d->stop_pipe[1]);
		d->stop_pipe[1] = -1;	/* tells dns_free there is no thread */
		dns_free(&d);
		return NULL;
	}
	return d;
}

/*
 * After our thread and libunbound's are gone no callback can come: every
 * lookup still held by a caller is finished, detached and left for
 * dns_lookup_free(); one held only for libunbound is freed here.
 */
static void detach_lookups(struct dns *d)
{
	pthread_mutex_lock(&d->mu);
	while (d->lookups != NULL) {
		struct dns_lookup *l = d->lookups;
		unlink_locked(d, l);
		if (l->pending) {
			l->pending = false;
			l->refs--;
		}
		if (!l->done)
			finish_locked(l, DNS_ERROR, "resolver shut down");
		l->d = NULL;
		if (l->refs == 0)
			lookup_destroy(l);
	}
	pthread_mutex_unlock(&d->mu);
}

void dns_free(struct dns **dp)
{
	struct dns *d = *dp;
	if (d == NULL)
		return;
	*dp = NULL;
	if (d->zone != NULL) {
		zone_free(&d->zone);
		free(d);
		return;
	}
	if (d->stop_pipe[1] >= 0) {
		ssize_t w;
		do
			w = write(d->stop_pipe[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(d->thread, NULL);
	}
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);	/* stops libunbound's thread; no callbacks */
	detach_lookups(d);
	for (int i = 0; i < 2; i++)
		if (d->stop_pipe[i] >= 0)
			close(d->stop_pipe[i]);
	dns_cache_free(&d->cache);
	pthread_condattr_destroy(&d->condattr);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* ---- names for logs ---- */

const char *dns_status_name(enum dns_status s)
{
	static const char *const names[] = {
		[DNS_OK] = "ok",	     [DNS_NXDOMAIN] = "nxdomain", [DNS_NODATA] = "nodata",
		[DNS_SERVFAIL] = "servfail", [DNS_TIMEOUT] = "timeout",	  [DNS_ERROR] = "error",
	};
	return (unsigned)s < ARRAY_LEN(names) ? names[s] : "unknown";
}

const char *dns_type_name(enum dns_type t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_CNAME:
		return "CNAME";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	}
	return "unknown";
}

bool dns_status_temporary(enum dns_status s)
{
	return s == DNS_SERVFAIL || s == DNS_TIMEOUT || s == DNS_ERROR;
}
