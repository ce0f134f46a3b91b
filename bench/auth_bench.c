/*
 * auth_bench: how many inbound messages per second cachet's authentication
 * checks evaluate on one thread, through the real pipeline, with DNS
 * answered three ways; and libspf2's own SPF evaluation beside it as the
 * peer.  bench/run.sh starts the DNS servers and prints the ratios; see
 * bench/README.md for how to read the figures.
 *
 *	auth_bench zone TTL RECORD
 *		prints the zone (RFC 1035 master format) every figure uses, with
 *		TTL on every record and RECORD (text or @FILE) as the DKIM key;
 *	auth_bench run [-t S] [-w S] -k KEY.pem [-z ZONE] [-c NS] [-u NS] [-r]
 *		[-C spf|all|lookup] [-n] [-f]
 *
 * `run` signs one message once up front (KEY.pem, d=bench.example,
 * s=bench, relaxed/relaxed), then for each figure it can measure drives
 * pipeline_msg_begin, the header fields and body as the milter hands them
 * (or with -f the raw message through feed.c, the driver `cachet check`
 * uses, header reader included), eom and msg_end over that
 * message in a loop for -t seconds after -w seconds of warm-up, on one
 * connection of a runtime built by runtime_new (the production check
 * table) from configuration text:
 *  - checks "spf": SPF only (Mode s without keys, DMARC no);
 *  - checks "all": dkim_verify, spf and dmarc (dkim_sign is in the table
 *    but has no key, so stays off, as on a receive-only MX);
 *  - DNS "zone" (-z ZONE): TestDNSData, answers from memory: the floor;
 *  - DNS "cached" (-c NS): Nameservers NS (the loopback NSD), after the
 *    warm-up every answer comes from libunbound's cache;
 *  - DNS "server" (-u NS): Nameservers NS, a server whose records all have
 *    TTL 0, so libunbound keeps nothing and every lookup of every message
 *    goes to the server (run.sh counts the server's queries to show it).
 * The peer, libspf2 1.2.10 as spfquery uses it (one SPF_server_t kept, a
 * request per identity), evaluates the same two identities (MAIL FROM,
 * then HELO) with the same client IP:
 *  - DNS "zone": its SPF_DNS_ZONE layer holding the same records;
 *  - with -r, the C library's resolver (resolv.conf must name the loopback
 *    server: run.sh runs us in a network namespace for that): "cached" is
 *    SPF_DNS_CACHE over it (spfquery's default), "server" SPF_DNS_RESOLV,
 *    which has no cache and asks the server every time.
 * -C lookup (with -u) gives two other rows, the cost of one lookup at that server,
 * rotating through the names a message asks for: "dns" is lib/dns alone
 * (dns_lookup_sync, its cache finding nothing to keep), "libunbound" is
 * the peer, libunbound 1.17 alone as a program would use it
 * (ub_resolve_async on a context with its own thread, then ub_wait);
 * their rows count lookups, not messages.
 * Every figure checks its first result (spf=pass, and dkim=pass and
 * dmarc=pass for "all") and refuses to time a path that does not pass.
 *
 * Output: one tab-separated line per figure:
 *	impl checks dns msgs cpu_s wall_s msgs_per_wall_s cpu_us_per_msg wall_us_per_msg
 *	msgs_with_warmup
 * -C runs one set of checks only, -n leaves out the libspf2 figures (so
 * run.sh can count the server's queries per figure).
 * Rates are per wall-clock second: a message waits for DNS without using
 * CPU, and waiting is what the server modes measure.  CPU time is the
 * process's (libunbound's and the SPF worker's threads included).
 *
 * Limits: one thread, one message at a time, one message shape (4 KB body,
 * one signature), records that all pass.  No milter protocol, no MTA.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spf2/spf.h>
#include <spf2/spf_dns_zone.h>
#include <unbound.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "dns.h"
#include "feed.h"
#include "log.h"
#include "pipeline.h"
#include "runtime.h"
#include "xalloc.h"

#define BENCH_DOMAIN "bench.example"
#define BENCH_SELECTOR "bench"
#define BENCH_SENDER "user@bench.example"
#define BENCH_HELO "mail.bench.example"
#define BENCH_CLIENT_IP "192.0.2.25"
#define BENCH_BODY_SIZE 4096
#define BENCH_RECORD_MAX 8192	/* bytes of a DKIM key record */
#define BENCH_CONF_MAX 4096	/* bytes of one figure's configuration text */

/*
 * The zone.  The SPF record is an ordinary one: the client IP matches its
 * mx term (TXT + MX + A), and the HELO name has an "a" record of its own
 * (TXT + A).  DMARC p=reject at the From domain, which is its own
 * Organizational Domain.  "@KEY" is replaced with the DKIM key record.
 */
struct zone_rr {
	const char *owner;	/* relative to BENCH_DOMAIN, "@" for the apex */
	const char *type;
	ns_type spf_type;	/* for libspf2's zone; 0 = not an SPF lookup */
	const char *data;	/* as written in the zone file */
	const char *spf_data;	/* as libspf2's zone wants it (no quotes) */
};

static const struct zone_rr zone_rrs[] = {
	/* MINIMUM is the zone's TTL too: negative answers are kept as long */
	{ "@", "SOA", 0, "ns.bench.example. hostmaster.bench.example. 1 3600 600 86400 @TTL", NULL },
	{ "@", "NS", 0, "ns.bench.example.", NULL },
	{ "ns", "A", 0, "127.0.0.1", NULL },
	{ "@", "MX", ns_t_mx, "10 mail.bench.example.", "mail.bench.example" },
	{ "@", "TXT", ns_t_txt, "\"v=spf1 mx ip4:198.51.100.0/24 -all\"",
	  "v=spf1 mx ip4:198.51.100.0/24 -all" },
	{ "mail", "A", ns_t_a, "192.0.2.25", "192.0.2.25" },
	{ "mail", "TXT", ns_t_txt, "\"v=spf1 a -all\"", "v=spf1 a -all" },
	{ "_dmarc", "TXT", 0, "\"v=DMARC1; p=reject; adkim=r; aspf=r\"", NULL },
	{ "bench._domainkey", "TXT", 0, "@KEY", NULL },
};

/* Thirteen fields of an ordinary inbound message, the signature goes first. */
static const char *const header_text[][2] = {
	{ "Return-Path", " <user@bench.example>" },
	{ "Received", " from mail.bench.example (mail.bench.example [192.0.2.25])\r\n"
		      "\tby mx.example.net (Postfix) with ESMTPS id 4Tq9Zk1XyBz3c\r\n"
		      "\tfor <bob@example.net>; Tue, 03 Mar 2026 10:15:02 +0000 (UTC)" },
	{ "Received", " from [198.51.100.7] (unknown [198.51.100.7])\r\n"
		      "\tby mail.bench.example (Postfix) with ESMTPSA id 8F2A1C0042\r\n"
		      "\tfor <bob@example.net>; Tue, 03 Mar 2026 10:15:01 +0000 (UTC)" },
	{ "From", " A User <user@bench.example>" },
	{ "To", " Bob Receiver <bob@example.net>" },
	{ "Cc", " Carol <carol@example.org>" },
	{ "Subject", " figures for the quarter and the plan for next month" },
	{ "Date", " Tue, 03 Mar 2026 11:15:00 +0100" },
	{ "Message-ID", " <20260303101500.8F2A1C0042@mail.bench.example>" },
	{ "MIME-Version", " 1.0" },
	{ "Content-Type", " text/plain; charset=utf-8; format=flowed" },
	{ "Content-Transfer-Encoding", " 8bit" },
	{ "User-Agent", " Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Thunderbird/128.7.0" },
};

#define N_FIELDS (ARRAY_LEN(header_text) + 1)	/* with the signature */

struct message {
	struct dkim_field fields[N_FIELDS];	/* [0] is DKIM-Signature */
	struct buf body;
	struct buf raw;		/* the whole message, as `cachet check` reads it */
};

struct options {
	double seconds;
	double warmup;
	const char *key_path;
	const char *zone_path;	/* -z */
	const char *ns_cached;	/* -c */
	const char *ns_server;	/* -u */
	bool resolver;		/* -r */
	const char *checks;	/* -C: "spf", "all", or NULL for both */
	bool no_peer;		/* -n: no libspf2 figures */
	bool file_path;		/* -f: the raw message through feed.c, as `cachet check` */
};

struct measure {
	uint64_t warm_ops;	/* during the warm-up */
	uint64_t ops;
	double cpu;
	double wall;
};

/* One figure's loop: op(ctx) must be one message (or evaluation). */
typedef void (*bench_op)(void *ctx);

static void die(const char *fmt, ...) PRINTF(1, 2);

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("auth_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double clock_seconds(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct measure run_timed(bench_op op, void *ctx, const struct options *o)
{
	struct measure m = { 0, 0, 0, 0 };
	double start = clock_seconds(CLOCK_MONOTONIC);
	while (clock_seconds(CLOCK_MONOTONIC) - start < o->warmup) {
		op(ctx);
		m.warm_ops++;
	}
	double wall0 = clock_seconds(CLOCK_MONOTONIC);
	double cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	do {
		op(ctx);
		m.ops++;
		m.wall = clock_seconds(CLOCK_MONOTONIC) - wall0;
	} while (m.wall < o->seconds);
	m.cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	return m;
}

static void report(const char *impl, const char *checks, const char *dns, struct measure m)
{
	printf("%s\t%s\t%s\t%llu\t%.3f\t%.3f\t%.1f\t%.2f\t%.2f\t%llu\n", impl, checks,
	       dns, (unsigned long long)m.ops, m.cpu, m.wall, (double)m.ops / m.wall,
	       m.cpu * 1e6 / (double)m.ops, m.wall * 1e6 / (double)m.ops,
	       (unsigned long long)(m.ops + m.warm_ops));
	fflush(stdout);
}

/* "text" or "@FILE" (first line); the caller frees. */
static char *read_record(const char *arg)
{
	if (arg[0] != '@')
		return xstrdup(arg);
	FILE *f = fopen(arg + 1, "r");
	if (f == NULL)
		die("%s: %s", arg + 1, strerror(errno));
	char *line = xmalloc(BENCH_RECORD_MAX);
	if (fgets(line, BENCH_RECORD_MAX, f) == NULL)
		die("%s: empty", arg + 1);
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* ---- `zone`: the zone file ---- */

/* A TXT value as quoted character-strings of at most 255 bytes (RFC 1035 3.3). */
static void print_txt(const char *text)
{
	size_t len = strlen(text);
	for (size_t off = 0; off < len; off += 255) {
		size_t n = len - off < 255 ? len - off : 255;
		printf("%s\"%.*s\"", off > 0 ? " " : "", (int)n, text + off);
	}
}

static int cmd_zone(int argc, char **argv)
{
	if (argc != 3)
		die("usage: auth_bench zone TTL RECORD");
	char *end;
	unsigned long ttl = strtoul(argv[1], &end, 10);
	if (*end != '\0' || ttl > 86400)
		die("zone: bad TTL \"%s\"", argv[1]);
	char *record = read_record(argv[2]);
	printf("$ORIGIN %s.\n$TTL %lu\n", BENCH_DOMAIN, ttl);
	for (size_t i = 0; i < ARRAY_LEN(zone_rrs); i++) {
		const struct zone_rr *r = &zone_rrs[i];
		printf("%s\t%lu\tIN\t%s\t", r->owner, ttl, r->type);
		const char *at = strstr(r->data, "@TTL");
		if (strcmp(r->data, "@KEY") == 0)
			print_txt(record);
		else if (at != NULL)
			printf("%.*s%lu", (int)(at - r->data), r->data, ttl);
		else
			fputs(r->data, stdout);
		putchar('\n');
	}
	free(record);
	return 0;
}

/* ---- the message ---- */

/* A plain-text body of about size bytes, CRLF lines, the same every run. */
static void make_body(size_t size, struct buf *out)
{
	static const char *const words[] = {
		"the", "message", "of", "and", "figures", "quarter", "we", "to", "a",
		"plan", "next", "month", "in", "meeting", "budget", "for", "is", "team",
		"report", "that", "please", "review", "attached", "numbers", "with",
	};
	uint32_t x = 0x9e3779b9u;
	size_t col = 0;
	while (out->len + 4 < size) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		const char *w = words[x % ARRAY_LEN(words)];
		if (col > 0 && col + 1 + strlen(w) > 72) {
			buf_puts(out, "\r\n");
			col = 0;
		} else if (col > 0) {
			buf_putc(out, ' ');
			col++;
		}
		buf_puts(out, w);
		col += strlen(w);
	}
	buf_puts(out, "\r\n");
}

/* Builds the message and signs it once, as the sending domain would. */
static void make_message(struct arena *a, const char *key_path, struct message *m)
{
	char *err = NULL;
	struct dkim_privkey *key = dkim_privkey_load_file(key_path, true, &err);
	if (key == NULL)
		die("%s", err);
	for (size_t i = 0; i < ARRAY_LEN(header_text); i++) {
		m->fields[i + 1].name = slice_cstr(header_text[i][0]);
		m->fields[i + 1].value = slice_cstr(header_text[i][1]);
	}
	buf_init(&m->body, BENCH_BODY_SIZE * 2);
	make_body(BENCH_BODY_SIZE, &m->body);

	struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_RELAXED, DKIM_HASH_SHA256,
						     false, 0);
	dkim_bodyhash_update(bh, (const uint8_t *)m->body.p, m->body.len);
	struct dkim_sign_params p = {
		.domain = BENCH_DOMAIN,
		.selector = BENCH_SELECTOR,
		.canon_header = DKIM_CANON_RELAXED,
		.canon_body = DKIM_CANON_RELAXED,
		.has_t = true,
		.t = (uint64_t)time(NULL),
	};
	p.h = dkim_sign_select_headers(a, m->fields + 1, N_FIELDS - 1,
				       dkim_default_sign_headers,
				       dkim_default_sign_headers_count,
				       dkim_default_oversign_headers,
				       dkim_default_oversign_headers_count, &p.h_count);
	struct buf value;
	buf_init(&value, 0);
	buf_putc(&value, ' ');
	enum dkim_err e = dkim_sign(key, &p, m->fields + 1, N_FIELDS - 1, bh, &value);
	if (e != DKIM_OK)
		die("dkim_sign: %s", dkim_err_text(e));
	m->fields[0].name = slice_cstr("DKIM-Signature");
	m->fields[0].value = slice_make(arena_memdup(a, value.p, value.len), value.len);
	buf_free(&value);
	dkim_bodyhash_free(&bh);
	dkim_privkey_free(&key);
	buf_init(&m->raw, 0);
	for (size_t i = 0; i < N_FIELDS; i++)
		buf_printf(&m->raw, "%.*s:%.*s\r\n", (int)m->fields[i].name.len,
			   m->fields[i].name.p, (int)m->fields[i].value.len, m->fields[i].value.p);
	buf_puts(&m->raw, "\r\n");
	buf_append(&m->raw, m->body.p, m->body.len);
}

/* ---- cachet: the pipeline ---- */

struct cachet_case {
	const struct message *msg;
	struct runtime *rt;
	struct conn *conn;
	const char *want[3];	/* substrings the A-R value must hold */
	bool checked;
	bool file_path;
};

static void cachet_message(void *ctx)
{
	struct cachet_case *c = ctx;
	struct msg *m = pipeline_msg_begin(c->conn, "<" BENCH_SENDER ">", NULL);
	pipeline_rcpt(m, "<bob@example.net>");
	if (c->file_path) {
		feed_message(m, c->msg->raw.p, c->msg->raw.len);
	} else {
		/* as libmilter hands them: fields, end of header, body */
		for (size_t i = 0; i < N_FIELDS; i++) {
			const struct dkim_field *f = &c->msg->fields[i];
			pipeline_header(m, f->name.p, f->value.p, f->value.len);
		}
		pipeline_eoh(m);
		pipeline_body(m, (const uint8_t *)c->msg->body.p, c->msg->body.len);
	}
	const struct eom_result *r = pipeline_eom(m);
	if (!c->checked) {
		for (size_t i = 0; i < ARRAY_LEN(c->want) && c->want[i] != NULL; i++)
			if (r->ar_value == NULL || strstr(r->ar_value, c->want[i]) == NULL)
				die("the message does not get %s: Authentication-Results: %s",
				    c->want[i], r->ar_value != NULL ? r->ar_value : "(none)");
		if (r->action != ACTION_ACCEPT)
			die("the message is not accepted: %s", r->ar_value);
		c->checked = true;
	}
	pipeline_msg_end(c->conn);
}

static void bench_cachet(const struct options *o, const struct message *msg,
			 const char *checks, const char *dns_label, const char *dns_conf)
{
	bool all = strcmp(checks, "all") == 0;
	char text[BENCH_CONF_MAX];
	int n = snprintf(text, sizeof(text),
			 "AuthservID mx.example.net\n"
			 "Syslog no\n"
			 "InternalHosts 127.0.0.1\n"
			 "Mode %s\n"
			 "SPF yes\n"
			 "DMARC %s\n"
			 "%s\n",
			 all ? "sv" : "s", all ? "yes" : "no", dns_conf);
	if (n < 0 || (size_t)n >= sizeof(text))
		die("configuration text too long");
	char *err = NULL;
	struct config *cfg = config_parse("auth_bench.conf", text, (size_t)n, &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	if (rt == NULL)
		die("%s/%s: %s", checks, dns_label, err);
	struct cachet_case c = {
		.msg = msg,
		.rt = rt,
		.want = { "spf=pass", all ? "dkim=pass" : NULL, all ? "dmarc=pass" : NULL },
		.file_path = o->file_path,
	};
	c.conn = pipeline_conn_new_text(rt, BENCH_HELO, BENCH_CLIENT_IP);
	pipeline_helo(c.conn, BENCH_HELO);
	report("cachet", checks, dns_label, run_timed(cachet_message, &c, o));
	pipeline_conn_free(&c.conn);
	runtime_unref(&rt);
}

/* ---- libspf2: the peer ---- */

struct spf2_case {
	SPF_server_t *server;
	bool checked;
};

static SPF_result_t spf2_query(SPF_server_t *server, const char *sender)
{
	SPF_request_t *req = SPF_request_new(server);
	SPF_response_t *resp = NULL;
	SPF_request_set_ipv4_str(req, BENCH_CLIENT_IP);
	SPF_request_set_helo_dom(req, BENCH_HELO);
	if (sender != NULL)
		SPF_request_set_env_from(req, sender);
	SPF_request_query_mailfrom(req, &resp);
	SPF_result_t r = resp != NULL ? SPF_response_result(resp) : SPF_RESULT_INVALID;
	SPF_response_free(resp);
	SPF_request_free(req);
	return r;
}

/* MAIL FROM, then HELO (no sender: libspf2 checks postmaster@HELO). */
static void spf2_message(void *ctx)
{
	struct spf2_case *c = ctx;
	SPF_result_t mfrom = spf2_query(c->server, BENCH_SENDER);
	SPF_result_t helo = spf2_query(c->server, NULL);
	if (!c->checked) {
		if (mfrom != SPF_RESULT_PASS || helo != SPF_RESULT_PASS)
			die("libspf2: MAIL FROM %s, HELO %s (want pass, pass)",
			    SPF_strresult(mfrom), SPF_strresult(helo));
		c->checked = true;
	}
}

static void spf2_fill_zone(SPF_server_t *server)
{
	for (size_t i = 0; i < ARRAY_LEN(zone_rrs); i++) {
		const struct zone_rr *r = &zone_rrs[i];
		if (r->spf_type == 0)
			continue;
		char name[256];
		if (strcmp(r->owner, "@") == 0)
			snprintf(name, sizeof(name), "%s", BENCH_DOMAIN);
		else
			snprintf(name, sizeof(name), "%s.%s", r->owner, BENCH_DOMAIN);
		if (SPF_dns_zone_add_str(server->resolver, name, r->spf_type, NETDB_SUCCESS,
					 r->spf_data) != SPF_E_SUCCESS)
			die("libspf2: cannot add %s %s to its zone", name, r->type);
	}
}

static void bench_spf2(const struct options *o, const char *dns_label,
		       SPF_server_dnstype_t type)
{
	struct spf2_case c = { .server = SPF_server_new(type, 0) };
	if (c.server == NULL)
		die("libspf2: SPF_server_new failed");
	if (type == SPF_DNS_ZONE)
		spf2_fill_zone(c.server);
	report("libspf2", "spf", dns_label, run_timed(spf2_message, &c, o));
	SPF_server_free(c.server);
}

/* ---- one lookup at the server: lib/dns alone, and libunbound alone ---- */

static const struct { const char *name; int type; } lookups[] = {
	{ "bench.example", 16 }, { "bench.example", 15 }, { "mail.bench.example", 1 },
	{ "mail.bench.example", 16 }, { "_dmarc.bench.example", 16 },
	{ "bench._domainkey.bench.example", 16 }, { "_dmarc.example", 16 },
};

struct lookup_case {
	struct dns *dns;
	struct ub_ctx *ub;
	size_t next;
	int pending;
};

static void dns_one(void *ctx)
{
	struct lookup_case *c = ctx;
	size_t i = c->next++ % ARRAY_LEN(lookups);
	struct dns_lookup *l = NULL;
	const struct dns_answer *a = dns_lookup_sync(c->dns, lookups[i].name,
						     (enum dns_type)lookups[i].type, &l);
	if (dns_status_temporary(a->status))
		die("lib/dns: %s: %s", lookups[i].name, dns_status_name(a->status));
	dns_lookup_free(&l);
}

static void ub_done(void *arg, int err, struct ub_result *res)
{
	struct lookup_case *c = arg;
	if (err != 0 || res == NULL || (res->rcode != 0 && res->rcode != 3))
		die("libunbound: %s", err != 0 ? ub_strerror(err) : "bad answer");
	ub_resolve_free(res);
	c->pending--;
}

static void ub_one(void *ctx)
{
	struct lookup_case *c = ctx;
	size_t i = c->next++ % ARRAY_LEN(lookups);
	c->pending++;
	if (ub_resolve_async(c->ub, lookups[i].name, lookups[i].type, 1, c, ub_done, NULL) != 0)
		die("libunbound: ub_resolve_async failed");
	while (c->pending > 0)
		ub_wait(c->ub);
}

static void bench_lookups(const struct options *o)
{
	struct lookup_case c = { 0 };
	const char *const servers[] = { o->ns_server, NULL };
	struct dns_options dopts = { .nameservers = servers };
	char *err = NULL;
	c.dns = dns_new(&dopts, &err);
	if (c.dns == NULL)
		die("lib/dns: %s", err);
	report("cachet", "lookup", "dns", run_timed(dns_one, &c, o));
	dns_free(&c.dns);

	c.ub = ub_ctx_create();
	char fwd[80];
	snprintf(fwd, sizeof(fwd), "%s", o->ns_server);
	if (c.ub == NULL || ub_ctx_async(c.ub, 1) != 0 || ub_ctx_set_fwd(c.ub, fwd) != 0 ||
	    ub_ctx_set_option(c.ub, "do-ip6:", "no") != 0)
		die("libunbound: cannot set up a context forwarding to %s", fwd);
	c.next = 0;
	report("libunbound", "lookup", "dns", run_timed(ub_one, &c, o));
	ub_ctx_delete(c.ub);
}

/* ---- `run` ---- */

static double parse_seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (*end != '\0' || !(v >= 0 && v <= 3600))
		die("bad number of seconds \"%s\"", s);
	return v;
}

static int cmd_run(int argc, char **argv)
{
	struct options o = { .seconds = 2, .warmup = 0.3 };
	int ch;
	while ((ch = getopt(argc, argv, "t:w:k:z:c:u:rC:nf")) != -1) {
		switch (ch) {
		case 't': o.seconds = parse_seconds(optarg); break;
		case 'w': o.warmup = parse_seconds(optarg); break;
		case 'k': o.key_path = optarg; break;
		case 'z': o.zone_path = optarg; break;
		case 'c': o.ns_cached = optarg; break;
		case 'u': o.ns_server = optarg; break;
		case 'r': o.resolver = true; break;
		case 'C': o.checks = optarg; break;
		case 'n': o.no_peer = true; break;
		case 'f': o.file_path = true; break;
		default:
			die("usage: auth_bench run [-t S] [-w S] -k KEY.pem [-z ZONE] "
			    "[-c NS] [-u NS] [-r] [-C spf|all] [-n] [-f]");
		}
	}
	if (o.key_path == NULL)
		die("run: -k KEY.pem is required");
	if (o.seconds <= 0)
		die("run: -t must be above 0");
	bool lookups_only = o.checks != NULL && strcmp(o.checks, "lookup") == 0;
	if (o.checks != NULL && strcmp(o.checks, "spf") != 0 && strcmp(o.checks, "all") != 0 &&
	    !lookups_only)
		die("run: -C takes spf, all or lookup");
	if (lookups_only && o.ns_server == NULL)
		die("run: -C lookup needs -u NS");

	struct arena *a = arena_new();
	struct message msg;
	memset(&msg, 0, sizeof(msg));
	make_message(a, o.key_path, &msg);
	printf("# impl\tchecks\tdns\tmsgs\tcpu_s\twall_s\tmsgs_per_wall_s\tcpu_us\twall_us"
	       "\tmsgs_with_warmup\n");

	static const char *const checks[] = { "spf", "all" };
	struct { const char *label, *arg, *key; } dns[] = {
		{ "zone", o.zone_path, "TestDNSData" },
		{ "cached", o.ns_cached, "Nameservers" },
		{ "server", o.ns_server, "Nameservers" },
	};
	for (size_t d = 0; d < ARRAY_LEN(dns); d++) {
		if (dns[d].arg == NULL)
			continue;
		char conf[BENCH_CONF_MAX];
		snprintf(conf, sizeof(conf), "%s %s", dns[d].key, dns[d].arg);
		for (size_t k = 0; k < ARRAY_LEN(checks); k++)
			if (o.checks == NULL || strcmp(o.checks, checks[k]) == 0)
				bench_cachet(&o, &msg, checks[k], dns[d].label, conf);
	}
	if (!o.no_peer)
		bench_spf2(&o, "zone", SPF_DNS_ZONE);
	if (lookups_only)
		bench_lookups(&o);
	if (!o.no_peer && o.resolver) {
		bench_spf2(&o, "cached", SPF_DNS_CACHE);
		bench_spf2(&o, "server", SPF_DNS_RESOLV);
	}
	buf_free(&msg.body);
	buf_free(&msg.raw);
	arena_free(&a);
	return 0;
}

int main(int argc, char **argv)
{
	log_open("auth_bench", true, LOG_MAIL);
	log_set_level(LOG_WARNING);
	if (argc >= 2 && strcmp(argv[1], "zone") == 0)
		return cmd_zone(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	die("usage: auth_bench zone TTL RECORD | auth_bench run [-t S] [-w S] -k KEY.pem "
	    "[-z ZONE] [-c NS] [-u NS] [-r] [-C spf|all] [-n] [-f]");
}
