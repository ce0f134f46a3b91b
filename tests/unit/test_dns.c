/*
 * Tests for lib/dns/dns.c: the test-zone back end through the dns API (also
 * from many threads), and the libunbound back end against a real
 * authoritative NSD that this program starts on loopback, in its own
 * temporary directory, and kills at the end.  The timeout test forwards to
 * a loopback port where a socket is bound but never answers.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"
#include "t.h"
#include "zone.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records as text, sorted (servers may rotate them), joined by "|". */
static char *answer_text(const struct dns_answer *a)
{
	char **parts = calloc(a->count + 1, sizeof(*parts));
	char addr[INET6_ADDRSTRLEN];
	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *rr = &a->rr[i];
		struct buf b;
		buf_init(&b, 0);
		switch (a->type) {
		case DNS_T_A:
			buf_puts(&b, inet_ntop(AF_INET, &rr->u.a, addr, sizeof(addr)));
			break;
		case DNS_T_AAAA:
			buf_puts(&b, inet_ntop(AF_INET6, &rr->u.aaaa, addr, sizeof(addr)));
			break;
		case DNS_T_MX:
			buf_printf(&b, "%u %s", rr->u.mx.preference, rr->u.mx.exchange);
			break;
		case DNS_T_TXT:
			buf_append(&b, rr->u.txt.data, rr->u.txt.len);
			T_EQ_INT(rr->u.txt.data[rr->u.txt.len], '\0');
			break;
		default:
			buf_puts(&b, rr->u.ptr);
			break;
		}
		parts[i] = buf_steal(&b);
	}
	qsort(parts, a->count, sizeof(*parts), cmp_str);
	struct buf out;
	buf_init(&out, 0);
	for (size_t i = 0; i < a->count; i++) {
		buf_printf(&out, "%s%s", i > 0 ? "|" : "", parts[i]);
		free(parts[i]);
	}
	free(parts);
	return buf_steal(&out);
}

struct lookup_case {
	const char *name;
	enum dns_type type;
	enum dns_status status;
	const char *records;	/* for DNS_OK */
};

static void check_answer(const struct lookup_case *c, const struct dns_answer *a)
{
	if (a->status != c->status)
		printf("#   %s %s: %s (%s)\n", c->name, dns_type_name(c->type),
		       dns_status_name(a->status), a->why ? a->why : "");
	T_EQ_INT(a->status, c->status);
	T_EQ_INT(a->type, c->type);
	T_CHECK(!a->secure);
	if (c->status == DNS_OK) {
		char *text = answer_text(a);
		T_EQ_STR(text, c->records);
		free(text);
	} else {
		T_EQ_INT(a->count, 0);
	}
}

/* Starts every case, then waits for each: several lookups in flight. */
static void run_cases(struct dns *d, const struct lookup_case *cases, size_t n)
{
	struct dns_lookup **l = calloc(n, sizeof(*l));
	for (size_t i = 0; i < n; i++)
		l[i] = dns_lookup_start(d, cases[i].name, cases[i].type);
	for (size_t i = 0; i < n; i++) {
		check_answer(&cases[i], dns_lookup_wait(l[i]));
		T_CHECK(dns_lookup_done(l[i]));
		dns_lookup_free(&l[i]);
		T_CHECK(l[i] == NULL);
	}
	free(l);
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* ---- the test-zone back end ---- */

static char *fixture(const char *name)
{
	/* fixtures live beside this file; __FILE__ is relative to the build's cwd */
	struct buf b;
	buf_init(&b, 0);
	const char *slash = strrchr(__FILE__, '/');
	if (slash != NULL)
		buf_append(&b, __FILE__, (size_t)(slash - __FILE__ + 1));
	buf_printf(&b, "data/dns/%s", name);
	return buf_steal(&b);
}

static struct dns *zone_dns(void)
{
	char *path = fixture("test.zone");
	struct dns_options opts = { .test_zone = path };
	char *error = NULL;
	struct dns *d = dns_new(&opts, &error);
	if (d == NULL)
		printf("#   %s\n", error);
	free(error);
	free(path);
	return d;
}

static const struct lookup_case zone_cases[] = {
	{ "example.com", DNS_T_MX, DNS_OK, "10 mail.example.com" },
	{ "example.com.", DNS_T_TXT, DNS_OK, "v=spf1 mx -all" },
	{ "www.example.com", DNS_T_A, DNS_OK, "192.0.2.25" },
	{ "WWW.Example.Com", DNS_T_AAAA, DNS_OK, "2001:db8::25" },
	{ "sel._domainkey.example.com", DNS_T_TXT, DNS_OK,
	  "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC" },
	{ "25.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "mail.example.com" },
	{ "example.net", DNS_T_MX, DNS_OK, "0 " },
	{ "nothere.example.com", DNS_T_A, DNS_NXDOMAIN, NULL },
	{ "mail.example.com", DNS_T_TXT, DNS_NODATA, NULL },
	{ "broken.example.com", DNS_T_TXT, DNS_SERVFAIL, NULL },
	{ "slow.example.com", DNS_T_TXT, DNS_TIMEOUT, NULL },
};

static void test_zone_backend_answers(void)
{
	struct dns *d = zone_dns();
	T_CHECK(d != NULL);
	if (d == NULL)
		return;
	run_cases(d, zone_cases, ARRAY_LEN(zone_cases));
	dns_free(&d);
	T_CHECK(d == NULL);
}

/* The TIMEOUT hook answers at once: tests want the outcome, not the wait. */
static void test_zone_backend_timeout_is_immediate(void)
{
	struct dns *d = zone_dns();
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct dns_lookup *l = dns_lookup_start(d, "slow.example.com", DNS_T_TXT);
	T_CHECK(dns_lookup_done(l));
	T_EQ_INT(dns_lookup_wait(l)->status, DNS_TIMEOUT);
	T_CHECK(elapsed_ms(&start) < 100);
	dns_lookup_free(&l);
	dns_free(&d);
}

static void test_sync_lookup(void)
{
	struct dns *d = zone_dns();
	struct dns_lookup *l = NULL;
	const struct dns_answer *a = dns_lookup_sync(d, "mail.example.com", DNS_T_A, &l);
	T_EQ_INT(a->status, DNS_OK);
	T_EQ_INT(a->count, 1);
	T_CHECK(l != NULL);
	dns_lookup_free(&l);
	dns_free(&d);
}

/* Checked before any query, whatever the back end. */
static void test_invalid_names_are_errors(void)
{
	static char long_label[80], long_name[300], max_name[300];
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".example");
	max_name[0] = long_name[0] = '\0';
	for (int i = 0; i < 63; i++)
		strcat(max_name, "abc.");
	strcat(max_name, "e");				/* 253 bytes: the longest */
	strcpy(long_name, max_name);
	strcat(long_name, "x");				/* 254 */
	const char *bad[] = {
		"", ".", "..", "a..example", ".example", long_label, long_name,
		"a b.example", "a\\.example", "tab\t.example", "\x80.example",
	};
	struct dns *d = zone_dns();
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct dns_lookup *l = dns_lookup_start(d, bad[i], DNS_T_A);
		const struct dns_answer *a = dns_lookup_wait(l);
		T_EQ_INT(a->status, DNS_ERROR);
		T_EQ_STR(a->why, "invalid name");
		dns_lookup_free(&l);
	}
	struct dns_lookup *l = dns_lookup_start(d, max_name, DNS_T_A);
	T_EQ_INT(dns_lookup_wait(l)->status, DNS_NXDOMAIN);
	dns_lookup_free(&l);
	dns_free(&d);
}

static void test_bad_zone_fails_dns_new(void)
{
	char *path = fixture("bad.zone");
	struct dns_options opts = { .test_zone = path };
	char *error = NULL;
	struct dns *d = dns_new(&opts, &error);
	T_CHECK(d == NULL);
	T_CHECK(error != NULL && strstr(error, "bad.zone:4: unknown record type WKS") != NULL);
	free(error);
	free(path);
}

struct worker {
	struct dns *d;
	int ok;
};

static void *zone_worker(void *arg)
{
	struct worker *w = arg;
	enum { BATCH = 10 };
	for (int round = 0; round < 200 / BATCH; round++) {
		struct dns_lookup *l[BATCH];
		for (int i = 0; i < BATCH; i++) {
			const struct lookup_case *c = &zone_cases[(round + i) % ARRAY_LEN(zone_cases)];
			l[i] = dns_lookup_start(w->d, c->name, c->type);
		}
		for (int i = 0; i < BATCH; i++) {
			const struct lookup_case *c = &zone_cases[(round + i) % ARRAY_LEN(zone_cases)];
			w->ok += dns_lookup_wait(l[i])->status == c->status;
			dns_lookup_free(&l[i]);
		}
	}
	return NULL;
}

static void run_workers(struct dns *d, void *(*fn)(void *), int per_thread)
{
	enum { THREADS = 8 };
	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ d, 0 };
		T_EQ_INT(pthread_create(&t[i], NULL, fn, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		T_EQ_INT(w[i].ok, per_thread);
	}
}

static void test_zone_backend_threads(void)
{
	struct dns *d = zone_dns();
	run_workers(d, zone_worker, 200);
	dns_free(&d);
}

static void test_names_for_logs(void)
{
	static const struct {
		enum dns_status s;
		const char *name;
		bool temporary;
	} cases[] = {
		{ DNS_OK, "ok", false },	     { DNS_NXDOMAIN, "nxdomain", false },
		{ DNS_NODATA, "nodata", false },     { DNS_SERVFAIL, "servfail", true },
		{ DNS_TIMEOUT, "timeout", true },    { DNS_ERROR, "error", true },
		{ (enum dns_status)99, "unknown", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		T_EQ_STR(dns_status_name(cases[i].s), cases[i].name);
		T_EQ_INT(dns_status_temporary(cases[i].s), cases[i].temporary);
	}
	T_EQ_STR(dns_type_name(DNS_T_TXT), "TXT");
	T_EQ_STR(dns_type_name(DNS_T_AAAA), "AAAA");
	T_EQ_STR(dns_type_name(DNS_T_MX), "MX");
	T_EQ_STR(dns_type_name(DNS_T_PTR), "PTR");
	T_EQ_STR(dns_type_name(DNS_T_A), "A");
	T_EQ_STR(dns_type_name(DNS_T_CNAME), "CNAME");
}

static void test_bad_options_fail_dns_new(void)
{
	static const char *const bad_ns[] = { "not-an-address", NULL };
	static const char *const no_ns[] = { NULL };
	const struct {
		struct dns_options opts;
		const char *error;
	} cases[] = {
		{ { .nameservers = bad_ns }, "dns: Nameservers: bad address \"not-an-address\"" },
		{ { .nameservers = no_ns }, "dns: Nameservers: the list is empty" },
		{ { .timeout_ms = 600001 }, "dns: timeout 600001 ms is more than 600000" },
		{ { .test_zone = "/nonexistent.zone" },
		  "/nonexistent.zone: cannot open: No such file or directory" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct dns *d = dns_new(&cases[i].opts, &error);
		T_CHECK(d == NULL);
		T_CHECK(error != NULL && strncmp(error, cases[i].error, strlen(cases[i].error)) == 0);
		if (error != NULL && strncmp(error, cases[i].error, strlen(cases[i].error)) != 0)
			printf("#   got: %s\n", error);
		free(error);
	}
}

/* ---- the libunbound back end against NSD on loopback ---- */

static char nsd_dir[64];
static pid_t nsd_pid = -1;
static int nsd_port;

static const char nsd_zone[] =
	"$ORIGIN example.com.\n"
	"$TTL 300\n"
	"@ SOA ns1 hostmaster 1 3600 900 604800 60\n"
	"@ NS ns1\n"
	"@ MX 10 mail\n"
	"@ MX 20 mail2.example.net.\n"
	"ns1 A 127.0.0.1\n"
	"mail A 192.0.2.25\n"
	"mail A 192.0.2.26\n"
	"mail AAAA 2001:db8::25\n"
	"www CNAME mail\n"
	"multi TXT \"v=spf1 \" \"ip4:192.0.2.0/24 \" \"-all\"\n"
	"empty TXT \"\"\n"
	"ptr PTR Mail.Example.COM.\n"
	"nullmx MX 0 .\n"
	/* valid DNS that text cannot carry: such records are skipped */
	"space PTR a\\032b.example.com.\n"
	"mixmx MX 10 ok.example.com.\n"
	"mixmx MX 20 bad\\032mx.example.com.\n"
	"nul TXT \"a\\000b\" \"c\"\n";

static bool write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* A port free on 127.0.0.1 for both UDP and TCP, found by binding port 0. */
static int free_port(void)
{
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(sa);
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		int t = socket(AF_INET, SOCK_STREAM, 0);
		int port = 0;
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    getsockname(u, (struct sockaddr *)&sa, &len) == 0 &&
		    bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			port = ntohs(sa.sin_port);
		close(u);
		close(t);
		if (port != 0)
			return port;
	}
	return -1;
}

/* Sends an SOA query for example.com; true if any reply comes. */
static bool nsd_answers(int port)
{
	static const uint8_t query[] = {
		0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 6, 0, 1,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	bool ok = false;
	if (sendto(s, query, sizeof(query), 0, (struct sockaddr *)&sa, sizeof(sa)) > 0) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		uint8_t reply[512];
		ok = poll(&p, 1, 100) == 1 && recv(s, reply, sizeof(reply), 0) >= 12;
	}
	close(s);
	return ok;
}

static const char *nsd_path(void)
{
	static const char *const paths[] = { "/usr/sbin/nsd", "/usr/local/sbin/nsd", "/sbin/nsd" };
	for (size_t i = 0; i < ARRAY_LEN(paths); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Everything NSD writes stays in nsd_dir: never /etc/nsd or /var/lib/nsd. */
static bool nsd_start(const char *zone_text)
{
	const char *nsd = nsd_path();
	if (nsd == NULL) {
		printf("#   nsd not found (Debian package nsd)\n");
		return false;
	}
	strcpy(nsd_dir, "/tmp/cachet-test-dns-XXXXXX");
	if (mkdtemp(nsd_dir) == NULL)
		return false;
	nsd_port = free_port();
	struct buf conf;
	buf_init(&conf, 0);
	buf_printf(&conf,
		   "server:\n"
		   "\tip-address: 127.0.0.1\n\tport: %d\n\tdo-ip6: no\n"
		   "\tusername: \"\"\n\tchroot: \"\"\n"
		   "\tpidfile: \"%s/nsd.pid\"\n\tzonesdir: \"%s\"\n\tdatabase: \"\"\n"
		   "\tzonelistfile: \"%s/zone.list\"\n\txfrdfile: \"%s/xfrd.state\"\n"
		   "\txfrdir: \"%s\"\n\tlogfile: \"%s/nsd.log\"\n"
		   "\tserver-count: 1\n\treuseport: no\n\tverbosity: 0\n"
		   "remote-control:\n\tcontrol-enable: no\n"
		   "zone:\n\tname: \"example.com\"\n\tzonefile: \"example.com.zone\"\n",
		   nsd_port, nsd_dir, nsd_dir, nsd_dir, nsd_dir, nsd_dir, nsd_dir);
	bool ok = write_file(nsd_dir, "nsd.conf", conf.p) &&
		  write_file(nsd_dir, "example.com.zone", zone_text);
	buf_free(&conf);
	if (!ok)
		return false;
	char conf_path[128];
	snprintf(conf_path, sizeof(conf_path), "%s/nsd.conf", nsd_dir);
	nsd_pid = fork();
	if (nsd_pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(nsd, "nsd", "-d", "-c", conf_path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && nsd_pid > 0; i++) {
		if (nsd_answers(nsd_port))
			return true;
		if (waitpid(nsd_pid, NULL, WNOHANG) == nsd_pid) {
			nsd_pid = -1;
			break;
		}
	}
	printf("#   nsd did not start (see %s/nsd.log)\n", nsd_dir);
	return false;
}

static void nsd_stop(void)
{
	if (nsd_pid > 0) {
		kill(nsd_pid, SIGTERM);
		waitpid(nsd_pid, NULL, 0);
		nsd_pid = -1;
	}
	if (nsd_dir[0] == '\0')
		return;
	DIR *dir = opendir(nsd_dir);
	struct dirent *e;
	while (dir != NULL && (e = readdir(dir)) != NULL) {
		char path[512];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", nsd_dir, e->d_name);
		unlink(path);
	}
	if (dir != NULL)
		closedir(dir);
	rmdir(nsd_dir);
	nsd_dir[0] = '\0';
}

static struct dns *nsd_dns(unsigned timeout_ms)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "127.0.0.1@%d", nsd_port);
	const char *const servers[] = { ns, NULL };
	struct dns_options opts = { .nameservers = servers, .timeout_ms = timeout_ms };
	char *error = NULL;
	struct dns *d = dns_new(&opts, &error);
	if (d == NULL)
		printf("#   %s\n", error);
	free(error);
	return d;
}

static const struct lookup_case nsd_cases[] = {
	{ "mail.example.com", DNS_T_A, DNS_OK, "192.0.2.25|192.0.2.26" },
	{ "www.example.com.", DNS_T_A, DNS_OK, "192.0.2.25|192.0.2.26" },
	{ "WWW.EXAMPLE.COM", DNS_T_AAAA, DNS_OK, "2001:db8::25" },
	{ "www.example.com", DNS_T_CNAME, DNS_OK, "mail.example.com" },
	{ "example.com", DNS_T_MX, DNS_OK, "10 mail.example.com|20 mail2.example.net" },
	{ "nullmx.example.com", DNS_T_MX, DNS_OK, "0 " },
	{ "multi.example.com", DNS_T_TXT, DNS_OK, "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "empty.example.com", DNS_T_TXT, DNS_OK, "" },
	{ "ptr.example.com", DNS_T_PTR, DNS_OK, "mail.example.com" },
	{ "nothere.example.com", DNS_T_A, DNS_NXDOMAIN, NULL },
	{ "a.b.nothere.example.com", DNS_T_TXT, DNS_NXDOMAIN, NULL },
	{ "mail.example.com", DNS_T_TXT, DNS_NODATA, NULL },
	{ "ptr.example.com", DNS_T_A, DNS_NODATA, NULL },
	{ "space.example.com", DNS_T_PTR, DNS_SERVFAIL, NULL },
	{ "mixmx.example.com", DNS_T_MX, DNS_OK, "10 ok.example.com" },
	/* NSD refuses zones it does not serve: a temporary failure */
	{ "www.example.net", DNS_T_A, DNS_SERVFAIL, NULL },
};

static void test_unbound_answers_from_nsd(void)
{
	struct dns *d = nsd_dns(0);
	T_CHECK(d != NULL);
	if (d == NULL)
		return;
	run_cases(d, nsd_cases, ARRAY_LEN(nsd_cases));
	/* again, from libunbound's cache */
	run_cases(d, nsd_cases, ARRAY_LEN(nsd_cases));
	dns_free(&d);
}

/*
 * Negative answers are kept for the zone's negative TTL (RFC 2308 5: the
 * SOA's MINIMUM, 60 here), so dns_lookup_cached() has them afterwards;
 * a temporary failure is never kept.
 */
static void test_unbound_negative_answers_cached(void)
{
	struct dns *d = nsd_dns(0);
	if (d == NULL)
		return;
	static const struct { const char *name; enum dns_type type; enum dns_status want; } cs[] = {
		{ "neg1.example.com", DNS_T_TXT, DNS_NXDOMAIN },
		{ "mail.example.com", DNS_T_MX, DNS_NODATA },
		{ "mail.example.com", DNS_T_A, DNS_OK },
	};
	for (size_t i = 0; i < ARRAY_LEN(cs); i++) {
		T_CHECK(dns_lookup_cached(d, cs[i].name, cs[i].type) == NULL);	/* not yet */
		struct dns_lookup *l = NULL;
		const struct dns_answer *a = dns_lookup_sync(d, cs[i].name, cs[i].type, &l);
		T_EQ_INT(a->status, cs[i].want);
		T_CHECK(a->ttl > 0 && a->ttl <= (cs[i].want == DNS_OK ? 300u : 60u));
		dns_lookup_free(&l);
		l = dns_lookup_cached(d, cs[i].name, cs[i].type);
		T_CHECK(l != NULL);
		if (l != NULL)
			T_EQ_INT(dns_lookup_wait(l)->status, cs[i].want);
		dns_lookup_free(&l);
	}
	/* NSD refuses a zone it does not serve: SERVFAIL, asked again next time */
	struct dns_lookup *l = NULL;
	T_EQ_INT(dns_lookup_sync(d, "www.example.net", DNS_T_A, &l)->status, DNS_SERVFAIL);
	dns_lookup_free(&l);
	T_CHECK(dns_lookup_cached(d, "www.example.net", DNS_T_A) == NULL);
	/* a bad name needs no server: an answer at once */
	l = dns_lookup_cached(d, "bad..name", DNS_T_A);
	T_CHECK(l != NULL && dns_lookup_wait(l)->status == DNS_ERROR);
	dns_lookup_free(&l);
	dns_free(&d);
}

/* A TXT record longer than a UDP answer: truncated, then asked over TCP. */
static void test_unbound_long_txt_over_tcp(void)
{
	struct dns *d = nsd_dns(0);
	if (d == NULL)
		return;
	struct dns_lookup *l = NULL;
	const struct dns_answer *a = dns_lookup_sync(d, "long.example.com", DNS_T_TXT, &l);
	T_EQ_INT(a->status, DNS_OK);
	T_EQ_INT(a->count, 1);
	if (a->count == 1) {
		T_EQ_INT(a->rr[0].u.txt.len, 8 * 255);
		T_EQ_INT(a->rr[0].u.txt.data[0], '0');
	}
	dns_lookup_free(&l);
	dns_free(&d);
}

static void test_unbound_txt_keeps_nul_bytes(void)
{
	struct dns *d = nsd_dns(0);
	if (d == NULL)
		return;
	struct dns_lookup *l = NULL;
	const struct dns_answer *a = dns_lookup_sync(d, "nul.example.com", DNS_T_TXT, &l);
	T_EQ_INT(a->status, DNS_OK);
	T_EQ_INT(a->count, 1);
	if (a->count == 1) {
		T_EQ_INT(a->rr[0].u.txt.len, 4);
		T_CHECK(memcmp(a->rr[0].u.txt.data, "a\0bc", 5) == 0);
	}
	dns_lookup_free(&l);
	dns_free(&d);
}

/* An answer holds at most 100 records; this one also needs TCP. */
static void test_unbound_record_cap(void)
{
	struct dns *d = nsd_dns(0);
	if (d == NULL)
		return;
	struct dns_lookup *l = NULL;
	const struct dns_answer *a = dns_lookup_sync(d, "many.example.com", DNS_T_A, &l);
	T_EQ_INT(a->status, DNS_OK);
	T_EQ_INT(a->count, 100);
	dns_lookup_free(&l);
	dns_free(&d);
}

static void *nsd_worker(void *arg)
{
	struct worker *w = arg;
	enum { BATCH = 5 };
	for (int round = 0; round < 10; round++) {
		struct dns_lookup *l[BATCH];
		for (int i = 0; i < BATCH; i++) {
			const struct lookup_case *c = &nsd_cases[(round + i) % ARRAY_LEN(nsd_cases)];
			l[i] = dns_lookup_start(w->d, c->name, c->type);
		}
		for (int i = 0; i < BATCH; i++) {
			const struct lookup_case *c = &nsd_cases[(round + i) % ARRAY_LEN(nsd_cases)];
			w->ok += dns_lookup_wait(l[i])->status == c->status;
			dns_lookup_free(&l[i]);
		}
	}
	return NULL;
}

static void test_unbound_threads(void)
{
	struct dns *d = nsd_dns(0);
	if (d == NULL)
		return;
	run_workers(d, nsd_worker, 50);
	dns_free(&d);
}

/* A loopback port where a bound socket (UDP, and TCP) never answers. */
static int silent_port(int fds_r[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	fds_r[0] = socket(AF_INET, SOCK_DGRAM, 0);
	fds_r[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fds_r[0], (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fds_r[0], (struct sockaddr *)&sa, &len) != 0)
		return -1;
	if (bind(fds_r[1], (struct sockaddr *)&sa, sizeof(sa)) == 0)
		listen(fds_r[1], 16);
	return ntohs(sa.sin_port);
}

static struct dns *silent_dns(int fds_r[2], unsigned timeout_ms)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "127.0.0.1@%d", silent_port(fds_r));
	const char *const servers[] = { ns, NULL };
	struct dns_options opts = { .nameservers = servers, .timeout_ms = timeout_ms };
	char *error = NULL;
	struct dns *d = dns_new(&opts, &error);
	T_CHECK(d != NULL);
	free(error);
	return d;
}

static void test_unbound_timeout(void)
{
	int fds[2];
	struct dns *d = silent_dns(fds, 300);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct dns_lookup *l = dns_lookup_start(d, "www.example.com", DNS_T_A);
	T_CHECK(!dns_lookup_done(l));
	const struct dns_answer *a = dns_lookup_wait(l);
	long ms = elapsed_ms(&start);
	T_EQ_INT(a->status, DNS_TIMEOUT);
	T_CHECK(ms >= 290 && ms < 1000);
	T_CHECK(dns_lookup_done(l));
	dns_lookup_free(&l);
	dns_free(&d);
	close(fds[0]);
	close(fds[1]);
}

/* dns_lookup_done() notices the deadline by itself, without a wait. */
static void test_unbound_done_sees_deadline(void)
{
	int fds[2];
	struct dns *d = silent_dns(fds, 100);
	struct dns_lookup *l = dns_lookup_start(d, "poll.example.com", DNS_T_TXT);
	int polls = 0;
	while (!dns_lookup_done(l) && polls++ < 100) {
		struct timespec pause = { 0, 10 * 1000000 };
		nanosleep(&pause, NULL);
	}
	T_CHECK(polls >= 5 && polls < 100);
	T_EQ_INT(dns_lookup_wait(l)->status, DNS_TIMEOUT);
	dns_lookup_free(&l);
	dns_free(&d);
	close(fds[0]);
	close(fds[1]);
}

/*
 * Lookups freed while in flight, and lookups outliving dns_free(): nothing
 * leaks or is touched after free (ASan watches).
 */
static void test_unbound_free_in_flight(void)
{
	int fds[2];
	struct dns *d = silent_dns(fds, 5000);
	struct dns_lookup *early = dns_lookup_start(d, "a.example.com", DNS_T_A);
	struct dns_lookup *late = dns_lookup_start(d, "b.example.com", DNS_T_TXT);
	dns_lookup_free(&early);
	T_CHECK(early == NULL);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	dns_free(&d);
	T_CHECK(elapsed_ms(&start) < 2000);
	T_CHECK(dns_lookup_done(late));
	T_EQ_INT(dns_lookup_wait(late)->status, DNS_ERROR);
	dns_lookup_free(&late);
	close(fds[0]);
	close(fds[1]);
}

/* Answers that come after their lookups were freed are dropped safely. */
static void test_unbound_late_answers(void)
{
	struct dns *d = nsd_dns(0);
	if (d == NULL)
		return;
	for (int i = 0; i < 50; i++) {
		char name[64];
		snprintf(name, sizeof(name), "late%d.example.com", i);
		struct dns_lookup *l = dns_lookup_start(d, name, DNS_T_A);
		dns_lookup_free(&l);
	}
	/* one more, waited for, so most of the above have been answered */
	struct dns_lookup *l = NULL;
	T_EQ_INT(dns_lookup_sync(d, "mail.example.com", DNS_T_A, &l)->status, DNS_OK);
	dns_lookup_free(&l);
	dns_free(&d);
}

/* The zone gets a TXT record too long for a UDP answer (and a readable literal). */
static void test_nsd_starts(void)
{
	struct buf zone;
	buf_init(&zone, 0);
	buf_puts(&zone, nsd_zone);
	buf_puts(&zone, "long TXT (");
	for (int i = 0; i < 8; i++)
		buf_printf(&zone, " \"%0255d\"", 0);
	buf_puts(&zone, " )\n");
	for (int i = 1; i <= 120; i++)
		buf_printf(&zone, "many A 10.0.0.%d\n", i);
	T_CHECK(nsd_start(zone.p));
	buf_free(&zone);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	T_RUN(test_zone_backend_answers);
	T_RUN(test_zone_backend_timeout_is_immediate);
	T_RUN(test_sync_lookup);
	T_RUN(test_invalid_names_are_errors);
	T_RUN(test_bad_zone_fails_dns_new);
	T_RUN(test_zone_backend_threads);
	T_RUN(test_names_for_logs);
	T_RUN(test_bad_options_fail_dns_new);
	T_RUN(test_unbound_timeout);
	T_RUN(test_unbound_done_sees_deadline);
	T_RUN(test_unbound_free_in_flight);
	T_RUN(test_nsd_starts);
	if (nsd_pid > 0) {
		T_RUN(test_unbound_answers_from_nsd);
		T_RUN(test_unbound_negative_answers_cached);
		T_RUN(test_unbound_long_txt_over_tcp);
		T_RUN(test_unbound_txt_keeps_nul_bytes);
		T_RUN(test_unbound_record_cap);
		T_RUN(test_unbound_threads);
		T_RUN(test_unbound_late_answers);
	}
	nsd_stop();
	return t_done();
}
