/*
 * The SPF check's two paths with real DNS (libunbound through lib/dns),
 * against a small authoritative responder this program runs on a loopback
 * port: a sender whose record is not cached goes to a worker (spf_pool.c)
 * and the answer is cached; the next message from it is evaluated at once
 * from the cache, with no query; a server that never answers gives
 * temperror at SPFTimeout, and the runtime still goes away cleanly with
 * the worker stuck in its lookup.
 *
 * The responder answers every TXT query with one SPF record (TTL 300) and
 * every other type with no data; in "silent" mode it reads and drops.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "pipeline.h"
#include "runtime.h"
#include "spf.h"
#include "t.h"

#define RECORD "v=spf1 ip4:192.0.2.0/24 -all"

struct responder {
	int fd;
	int port;
	int stop;	/* atomic */
	int silent;	/* atomic */
	int queries;	/* atomic */
	pthread_t thread;
};

/* The question's end (after QTYPE and QCLASS), or 0 if malformed. */
static size_t question_end(const uint8_t *q, size_t n, uint16_t *qtype_r)
{
	size_t i = 12;
	while (i < n && q[i] != 0) {
		if (q[i] > 63)
			return 0;
		i += (size_t)q[i] + 1;
	}
	if (i + 5 > n)
		return 0;
	*qtype_r = (uint16_t)(q[i + 1] << 8 | q[i + 2]);
	return i + 5;
}

static size_t answer(const uint8_t *q, size_t n, uint8_t *out)
{
	uint16_t qtype;
	size_t qend = question_end(q, n, &qtype);
	if (qend == 0 || qend > 300)
		return 0;
	memcpy(out, q, qend);
	out[2] = 0x84 | (q[2] & 0x01);	/* QR, AA, RD as asked */
	out[3] = 0x00;			/* NOERROR */
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	out[4] = 0;
	out[5] = 1;
	size_t o = qend;
	if (qtype != 16)
		return o;		/* no data */
	out[7] = 1;			/* one answer */
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 16, 0, 1, 0, 0, 0x01, 0x2c };
	memcpy(out + o, rr, sizeof(rr));
	o += sizeof(rr);
	size_t len = strlen(RECORD);
	out[o++] = (uint8_t)((len + 1) >> 8);
	out[o++] = (uint8_t)(len + 1);
	out[o++] = (uint8_t)len;
	memcpy(out + o, RECORD, len);
	return o + len;
}

static void *respond(void *arg)
{
	struct responder *r = arg;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		if (poll(&p, 1, 50) != 1)
			continue;
		uint8_t q[512], out[600];
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(r->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 12 || __atomic_load_n(&r->silent, __ATOMIC_ACQUIRE))
			continue;
		__atomic_add_fetch(&r->queries, 1, __ATOMIC_RELEASE);
		size_t len = answer(q, (size_t)n, out);
		if (len > 0)
			sendto(r->fd, out, len, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static bool responder_start(struct responder *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(r->fd, (struct sockaddr *)&sa, &len) != 0)
		return false;
	r->port = ntohs(sa.sin_port);
	return pthread_create(&r->thread, NULL, respond, r) == 0;
}

static void responder_stop(struct responder *r)
{
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	pthread_join(r->thread, NULL);
	close(r->fd);
}

static const struct check *const table[] = { &check_spf };

static struct runtime *make_rt(int port, const char *extra)
{
	char conf[512];
	snprintf(conf, sizeof(conf), "AuthservID mx.example.net\nNameservers 127.0.0.1@%d\n%s",
		 port, extra);
	char *err = NULL;
	struct config *cfg = config_parse_with("test.conf", conf, strlen(conf), table, 1, &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	if (rt == NULL)
		printf("# setup: %s\n", err);
	free(err);
	return rt;
}

/* One message from from; the Authentication-Results value (free()). */
static char *one_message(struct runtime *rt, const char *from)
{
	struct conn *c = pipeline_conn_new_text(rt, "client.example", "192.0.2.1");
	struct msg *m = pipeline_msg_begin(c, from, NULL);
	pipeline_header(m, "From", " a@example.com", 14);
	pipeline_eoh(m);
	char *ar = strdup(pipeline_eom(m)->ar_value);
	pipeline_conn_free(&c);
	return ar;
}

static bool has(const char *s, const char *needle)
{
	bool ok = s != NULL && strstr(s, needle) != NULL;
	if (!ok)
		printf("# \"%s\" not in \"%s\"\n", needle, s ? s : "(null)");
	return ok;
}

static void test_worker_then_cache(void)
{
	struct responder r;
	T_CHECK(responder_start(&r));
	struct runtime *rt = make_rt(r.port, "");
	if (rt != NULL) {
		char *ar = one_message(rt, "<u@async.example>");
		T_CHECK(has(ar, "spf=pass"));
		free(ar);
		int after_first = __atomic_load_n(&r.queries, __ATOMIC_ACQUIRE);
		T_EQ_INT(after_first, 1);
		for (int i = 0; i < 5; i++) {
			ar = one_message(rt, "<v@async.example>");
			T_CHECK(has(ar, "spf=pass"));
			free(ar);
		}
		/* all from the cache: no query more */
		T_EQ_INT(__atomic_load_n(&r.queries, __ATOMIC_ACQUIRE), after_first);
		/* another domain: not cached, one query more */
		ar = one_message(rt, "<u@other.example>");
		T_CHECK(has(ar, "spf=pass"));
		free(ar);
		T_EQ_INT(__atomic_load_n(&r.queries, __ATOMIC_ACQUIRE), after_first + 1);
	}
	runtime_unref(&rt);
	responder_stop(&r);
}

static void test_silent_server_is_temperror_at_spf_timeout(void)
{
	struct responder r;
	T_CHECK(responder_start(&r));
	__atomic_store_n(&r.silent, 1, __ATOMIC_RELEASE);
	struct runtime *rt = make_rt(r.port, "SPFTimeout 300ms\nDNSTimeout 1s\n");
	if (rt != NULL) {
		char *ar = one_message(rt, "<u@slow.example>");
		T_CHECK(has(ar, "spf=temperror"));
		T_CHECK(has(ar, "did not finish within SPFTimeout"));
		free(ar);
		/* a message abandoned while its worker waits, then the runtime goes */
		struct conn *c = pipeline_conn_new_text(rt, "client.example", "192.0.2.1");
		pipeline_msg_begin(c, "<w@slow2.example>", NULL);
		pipeline_conn_free(&c);
	}
	runtime_unref(&rt);	/* waits for the workers (bounded by DNSTimeout) */
	T_CHECK(rt == NULL);
	responder_stop(&r);
}

int main(void)
{
	T_RUN(test_worker_then_cache);
	T_RUN(test_silent_server_is_temperror_at_spf_timeout);
	return t_done();
}
