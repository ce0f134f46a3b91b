/*
 * The DNS layer (see dns.h): lookups answered by libunbound or by a test zone.
 *
 * libunbound back end: one ub_ctx per struct dns on libunbound's event
 * interface (ub_ctx_create_event), run by one thread of ours in a libevent
 * loop: it sends the queries, reads the answers and calls our callback,
 * all in that thread, with no hand-off to a libunbound thread (whose pipe
 * round trips cost about half the CPU of a lookup, bench/, December 2026).
 * Callers hand lookups to the thread through a queue and a byte on a pipe;
 * the thread calls ub_resolve_event() and, for a lookup its caller gave up,
 * ub_cancel().  A lookup is shared between its caller, the resolver (while
 * an answer is owed) and the queue (while queued): it holds a reference for
 * each, and one mutex per struct dns guards every lookup's state.  Whoever
 * drops the last reference frees it, so a callback that comes after the
 * caller gave up (deadline passed, lookup freed) finds live memory and is
 * ignored.  ub_cancel() runs in the thread that takes the callbacks, so when
 * it succeeds no callback can come, and the resolver's reference is dropped
 * there.
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
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

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
	struct event_base *base;	/* our thread's loop, libunbound's too */
	struct event *wake;	/* wake_pipe readable: look at the queue */
	pthread_t thread;
	bool have_thread;
	int wake_pipe[2];	/* a byte: there is work in the queue */
	pthread_mutex_t mu;	/* guards the lookups below and their state */
	pthread_condattr_t condattr;
	struct dns_lookup *lookups;	/* every libunbound lookup not yet freed */
	struct dns_lookup *queue, *queue_tail;	/* for the thread to start or cancel */
	bool stopping;		/* dns_free: the thread ends its loop */
	struct dns_cache *cache;	/* answers kept for their TTL */
};

struct dns_lookup {
	struct dns *d;		/* NULL: done for good (test zone, dns_free) */
	struct dns_lookup *prev, *next;
	pthread_cond_t cond;
	bool has_cond;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	int refs;		/* the caller's, the resolver's, the queue's */
	bool pending;		/* the resolver owes us an answer */
	bool cancelled;		/* the caller gave up: the thread cancels */
	bool queued;
	struct dns_lookup *qnext;
	bool started;		/* ub_resolve_event was called (thread only) */
	int async_id;		/* its id (thread only) */
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

static void ub_callback(void *arg, int rcode, void *packet, int len, int sec, char *why_bogus,
			int ratelimited)
{
	(void)why_bogus;
	(void)ratelimited;
	struct dns_lookup *l = arg;
	struct dns *d = l->d;
	struct dns_answer a = { .type = l->answer.type };
	dns_answer_from_packet(rcode, packet, len > 0 ? (size_t)len : 0, sec, &a);
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

static void wake_thread(struct dns *d)
{
	ssize_t w;
	do
		w = write(d->wake_pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	/* EAGAIN: the pipe is full of wake-ups already; the thread will look */
}

/* Queues l for the thread (a reference for the queue); true: wake it. */
static bool enqueue_locked(struct dns *d, struct dns_lookup *l)
{
	if (l->queued)
		return false;
	l->queued = true;
	l->refs++;
	l->qnext = NULL;
	bool was_empty = d->queue == NULL;
	if (was_empty)
		d->queue = l;
	else
		d->queue_tail->qnext = l;
	d->queue_tail = l;
	return was_empty;
}

/* The caller gives up on l: the thread will cancel it; the caller keeps its reference. */
static void lookup_cancel(struct dns_lookup *l)
{
	struct dns *d = l->d;
	pthread_mutex_lock(&d->mu);
	bool wake = false;
	if (l->pending && !l->cancelled) {
		l->cancelled = true;
		wake = enqueue_locked(d, l);
	}
	pthread_mutex_unlock(&d->mu);
	if (wake)
		wake_thread(d);
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
	bool wake = enqueue_locked(d, l);
	pthread_mutex_unlock(&d->mu);
	if (wake)
		wake_thread(d);
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

/* In our thread: a queued lookup's query sent (the callback may come at once). */
static void query_start(struct dns *d, struct dns_lookup *l)
{
	int id = 0;
	l->started = true;
	int r = ub_resolve_event(d->ctx, l->name, (int)l->answer.type, DNS_CLASS_IN, l,
				 ub_callback, &id);
	l->async_id = id;
	if (r == 0)
		return;
	pthread_mutex_lock(&d->mu);
	if (l->pending) {
		l->pending = false;
		(void)unref_locked(d, l);	/* not the last: the queue's is held */
		if (!l->done)
			finish_locked(l, DNS_ERROR, ub_strerror(r));
	}
	pthread_mutex_unlock(&d->mu);
}

/* In our thread: starts or cancels a queued lookup, then drops the queue's reference. */
static void serve(struct dns *d, struct dns_lookup *l)
{
	pthread_mutex_lock(&d->mu);
	l->queued = false;
	bool pending = l->pending, cancelled = l->cancelled;
	pthread_mutex_unlock(&d->mu);
	if (pending && !cancelled && !l->started) {
		query_start(d, l);
	} else if (pending && cancelled) {
		/* Callbacks run in this thread only: pending means none came yet. */
		if (!l->started || ub_cancel(d->ctx, l->async_id) == UB_NOERROR) {
			pthread_mutex_lock(&d->mu);
			l->pending = false;
			(void)unref_locked(d, l);
			pthread_mutex_unlock(&d->mu);
		}
	}
	pthread_mutex_lock(&d->mu);
	bool last = unref_locked(d, l);
	pthread_mutex_unlock(&d->mu);
	if (last)
		lookup_destroy(l);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct dns *d = arg;
	/* One read: a byte is written only when the queue was empty, and any
	   left over wakes the loop again (level-triggered), to an empty queue. */
	char drain[64];
	(void)!read(fd, drain, sizeof(drain));
	pthread_mutex_lock(&d->mu);
	struct dns_lookup *l = d->queue;
	d->queue = d->queue_tail = NULL;
	bool stop = d->stopping;
	pthread_mutex_unlock(&d->mu);
	while (l != NULL) {
		struct dns_lookup *next = l->qnext;
		serve(d, l);
		l = next;
	}
	if (stop)
		event_base_loopbreak(d->base);
}

static void *dns_thread(void *arg)
{
	struct dns *d = arg;
	if (event_base_dispatch(d->base) < 0)
		log_msg(LOG_ERR, NULL, "dns: the event loop failed; lookups will time out");
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

/* Sets up libunbound: its event loop, forwarders or resolv.conf, no /etc/hosts. */
static bool unbound_setup(struct dns *d, const struct dns_options *opts, char **error_r)
{
	d->base = event_base_new();
	d->ctx = d->base != NULL ? ub_ctx_create_event(d->base) : NULL;
	if (d->ctx == NULL) {
		*error_r = error_text("dns: cannot create a libunbound context");
		return false;
	}
	/* Loopback forwarders (a local cache, a test server) are normal here. */
	int r = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no");
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
	d->have_thread = true;
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
	d->wake_pipe[0] = d->wake_pipe[1] = -1;
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
	if (pipe2(d->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		*error_r = error_text("dns: pipe: %s", strerror(errno));
		dns_free(&d);
		return NULL;
	}
	d->wake = event_new(d->base, d->wake_pipe[0], EV_READ | EV_PERSIST, on_wake, d);
	if (d->wake == NULL || event_add(d->wake, NULL) != 0) {
		*error_r = error_text("dns: cannot watch the wake-up pipe");
		dns_free(&d);
		return NULL;
	}
	if (!thread_start(d, error_r)) {
		dns_free(&d);
		return NULL;
	}
	return d;
}

static void finish_all(struct dns *d, const char *why)
{
	pthread_mutex_lock(&d->mu);
	for (struct dns_lookup *l = d->lookups; l != NULL; l = l->next)
		if (!l->done)
			finish_locked(l, DNS_ERROR, why);
	pthread_mutex_unlock(&d->mu);
}

/*
 * After our thread and libunbound's context are gone no callback can come:
 * every lookup still held by a caller is finished, detached and left for
 * dns_lookup_free(); one held only by the resolver or the queue is freed
 * here.
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
		if (l->queued) {
			l->queued = false;
			l->refs--;
		}
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
	if (d->have_thread) {
		pthread_mutex_lock(&d->mu);
		d->stopping = true;
		pthread_mutex_unlock(&d->mu);
		wake_thread(d);
		pthread_join(d->thread, NULL);
	}
	/*
	 * Deleting the context ends its queries, with a SERVFAIL callback for
	 * each (here, in this thread): the lookups are finished first, so
	 * their callers see why.
	 */
	finish_all(d, "resolver shut down");
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);
	detach_lookups(d);
	if (d->wake != NULL)
		event_free(d->wake);
	if (d->base != NULL)
		event_base_free(d->base);
	for (int i = 0; i < 2; i++)
		if (d->wake_pipe[i] >= 0)
			close(d->wake_pipe[i]);
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
