/*
 * `cachet check`: feeds a message file through the same pipeline the milter
 * runs, without libmilter, and prints the verdict: the steps a receiver
 * takes, explained (check_explain.c), then the exact Authentication-Results
 * field the milter would add and one line per check (or, with --json, one
 * JSON object).  The envelope comes from the options, or with
 * --from-received from what another receiver recorded in the message
 * (check_received.c); without a client address the client is unknown and
 * so external.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "check.h"
#include "cli.h"
#include "config.h"
#include "explain.h"
#include "feed.h"
#include "json.h"
#include "log.h"
#include "pipeline.h"
#include "runtime.h"
#include "xalloc.h"

#define MAX_RCPTS 1000
#define MAX_NAMESERVERS 16
/* A message --from-received reads into memory at most. */
#define MESSAGE_MAX ((size_t)64 << 20)

/* The checks a report always shows, by AR method and check name. */
static const struct {
	const char *method;	/* key in the output and AR method */
	const char *check;	/* name in the check table */
	bool list;		/* one entry per result (DKIM signatures) */
} report_methods[] = {
	{ "dkim", "dkim_verify", true }, { "spf", "spf", false }, { "dmarc", "dmarc", false },
	{ "arc", "arc", false },	 { "av", "av", false },	  { "spam", "spam", false },
};

struct check_opts {
	const char *config_path, *zone, *client_ip, *helo, *mail_from, *authserv_id;
	const char *auth_user, *input, *receiver_id;
	const char *nameservers[MAX_NAMESERVERS + 1];
	size_t n_nameservers;
	const char *rcpts[MAX_RCPTS];
	size_t n_rcpts;
	long long now;
	bool have_now, json, from_received;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cachet check [options] FILE|-\n"
		"  -c FILE                configuration file (default: built-in defaults)\n"
		"  --dns-zone FILE        answer every DNS lookup from this zone file\n"
		"  --nameserver IP[@PORT] send DNS lookups there (repeatable)\n"
		"  --client-ip IP         the SMTP client's address\n"
		"  --helo NAME            the HELO/EHLO name\n"
		"  --mail-from ADDR       the envelope sender (MAIL FROM)\n"
		"  --rcpt ADDR            an envelope recipient (repeatable)\n"
		"  --auth-user NAME       the client authenticated (SASL) as NAME\n"
		"  --authserv-id ID       the authserv-id to write (default: AuthservID)\n"
		"  --now UNIXTIME         fix the clock (signature times, expiry)\n"
		"  --from-received        client IP, HELO and MAIL FROM from the Received and\n"
		"                         Return-Path fields a receiver added; its\n"
		"                         Authentication-Results shown beside ours\n"
		"  --receiver-id ID       that receiver's authserv-id (default: the first\n"
		"                         Authentication-Results field's)\n"
		"  --json                 print one JSON object instead of text\n"
		"exit status: 0 evaluated, 1 unreadable input, 2 usage or configuration error\n"
		"(or no Received field by that receiver)\n");
}

enum { OPT_ZONE = 256, OPT_NS, OPT_IP, OPT_HELO, OPT_FROM, OPT_RCPT, OPT_AUTH, OPT_ID,
       OPT_NOW, OPT_JSON, OPT_FROM_RECEIVED, OPT_RECEIVER_ID };

static int add_repeat(const char **v, size_t *n, size_t max, const char *s, const char *what)
{
	if (*n >= max) {
		fprintf(stderr, "cachet check: too many %s (at most %zu)\n", what, max);
		return -1;
	}
	v[(*n)++] = s;
	return 0;
}

static int parse_opt(int ch, struct check_opts *o)
{
	switch (ch) {
	case 'c': o->config_path = optarg; return 0;
	case OPT_ZONE: o->zone = optarg; return 0;
	case OPT_NS: return add_repeat(o->nameservers, &o->n_nameservers, MAX_NAMESERVERS,
				       optarg, "nameservers");
	case OPT_IP: o->client_ip = optarg; return 0;
	case OPT_HELO: o->helo = optarg; return 0;
	case OPT_FROM: o->mail_from = optarg; return 0;
	case OPT_RCPT: return add_repeat(o->rcpts, &o->n_rcpts, MAX_RCPTS, optarg, "recipients");
	case OPT_AUTH: o->auth_user = optarg; return 0;
	case OPT_ID: o->authserv_id = optarg; return 0;
	case OPT_NOW:
		o->have_now = true;
		if (cli_parse_count(optarg, &o->now) == 0)
			return 0;
		fprintf(stderr, "cachet check: --now: expected seconds since 1970, not %s\n", optarg);
		return -1;
	case OPT_JSON: o->json = true; return 0;
	case OPT_FROM_RECEIVED: o->from_received = true; return 0;
	case OPT_RECEIVER_ID: o->receiver_id = optarg; return 0;
	case 'h': usage(stdout); exit(0);
	default: return -1;
	}
}

static int parse_args(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{ "dns-zone", required_argument, NULL, OPT_ZONE },
		{ "nameserver", required_argument, NULL, OPT_NS },
		{ "client-ip", required_argument, NULL, OPT_IP },
		{ "helo", required_argument, NULL, OPT_HELO },
		{ "mail-from", required_argument, NULL, OPT_FROM },
		{ "rcpt", required_argument, NULL, OPT_RCPT },
		{ "auth-user", required_argument, NULL, OPT_AUTH },
		{ "authserv-id", required_argument, NULL, OPT_ID },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "from-received", no_argument, NULL, OPT_FROM_RECEIVED },
		{ "receiver-id", required_argument, NULL, OPT_RECEIVER_ID },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1)
		if (parse_opt(ch, o) < 0) {
			usage(stderr);
			return -1;
		}
	if (optind != argc - 1) {
		fprintf(stderr, "cachet check: expected one message file (or - for stdin)\n");
		usage(stderr);
		return -1;
	}
	o->input = argv[optind];
	if (o->receiver_id != NULL && !o->from_received) {
		fprintf(stderr, "cachet check: --receiver-id goes with --from-received\n");
		return -1;
	}
	return 0;
}

static void replace_string(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* Command-line options override the file's (before anything shares cfg). */
static void apply_overrides(struct config *cfg, const struct check_opts *o)
{
	/* the reasons behind each result, for the walk-through */
	cfg->explain = true;
	if (o->zone != NULL)
		replace_string(&cfg->test_dns_data, o->zone);
	if (o->authserv_id != NULL)
		replace_string(&cfg->authserv_id, o->authserv_id);
	if (o->n_nameservers > 0) {
		for (char **p = cfg->nameservers; p != NULL && *p != NULL; p++)
			free(*p);
		free(cfg->nameservers);
		cfg->nameservers = xcalloc(o->n_nameservers + 1, sizeof(char *));
		for (size_t i = 0; i < o->n_nameservers; i++)
			cfg->nameservers[i] = xstrdup(o->nameservers[i]);
	}
}

static struct runtime *make_runtime(const struct check_opts *o)
{
	char *error = NULL;
	struct config *cfg = o->config_path != NULL ? config_load(o->config_path, &error)
						    : config_defaults();
	if (cfg == NULL) {
		fprintf(stderr, "cachet check: %s\n", error);
		free(error);
		return NULL;
	}
	apply_overrides(cfg, o);
	if (o->authserv_id != NULL && !ar_authserv_id_valid(o->authserv_id)) {
		fprintf(stderr, "cachet check: --authserv-id: not a valid authserv-id: %s\n",
			o->authserv_id);
		config_unref(&cfg);
		return NULL;
	}
	struct runtime *rt = runtime_new(cfg, &error);
	config_unref(&cfg);
	if (rt == NULL) {
		fprintf(stderr, "cachet check: %s\n", error);
		free(error);
	}
	return rt;
}

static bool check_enabled(const struct runtime *rt, const char *name)
{
	return runtime_check(rt, name) != NULL;
}

/* Value of `key=` in a props string ("header.d=x header.s=y"), or NULL. */
static char *prop(struct arena *a, const char *props, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = props; p != NULL && *p != '\0';) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
			return arena_memdup(a, p + klen + 1, len - klen - 1);
		p += len;
	}
	return NULL;
}

static void json_result(struct buf *b, struct arena *a, const struct ar_result *r, bool dkim)
{
	buf_putc(b, '{');
	json_put_member(b, "result", r->result);
	buf_putc(b, ',');
	json_put_member(b, "reason", r->reason);
	buf_putc(b, ',');
	json_put_member(b, "comment", r->comment);
	if (dkim) {
		buf_putc(b, ',');
		json_put_member(b, "domain", prop(a, r->props, "header.d"));
		buf_putc(b, ',');
		json_put_member(b, "selector", prop(a, r->props, "header.s"));
		buf_putc(b, ',');
		json_put_member(b, "algorithm", prop(a, r->props, "header.a"));
	}
	buf_putc(b, ',');
	json_put_member(b, "properties", r->props);
	buf_putc(b, '}');
}

static void json_method(struct buf *b, struct msg *m, size_t k)
{
	const struct verdict *v = &m->verdict;
	bool list = report_methods[k].list, any = false;
	json_put_string(b, report_methods[k].method);
	buf_puts(b, list ? ":[" : ":");
	for (size_t i = 0; i < v->results.n; i++) {
		if (strcmp(v->results.v[i].method, report_methods[k].method) != 0)
			continue;
		if (any && !list)
			break;
		if (any)
			buf_putc(b, ',');
		json_result(b, m->arena, &v->results.v[i], list);
		any = true;
	}
	if (!any) {
		struct ar_result none = { .method = report_methods[k].method, .result = "none",
					  .reason = check_enabled(m->conn->rt, report_methods[k].check)
							    ? "nothing to check"
							    : "check not enabled" };
		json_result(b, m->arena, &none, list);
	}
	if (list)
		buf_putc(b, ']');
}

static void print_json(struct msg *m, const struct eom_result *r, const struct rx_source *rx)
{
	struct buf b;
	buf_init(&b, 0);
	buf_putc(&b, '{');
	json_put_member(&b, "authentication_results", r->ar_value);
	buf_putc(&b, ',');
	json_put_member(&b, "action", action_name(r->action));
	buf_putc(&b, ',');
	json_put_member(&b, "origin", m->internal ? "internal" : "external");
	buf_puts(&b, ",\"smtp_reply\":");
	if (r->smtp_code != NULL) {
		buf_putc(&b, '{');
		json_put_member(&b, "code", r->smtp_code);
		buf_putc(&b, ',');
		json_put_member(&b, "xcode", r->smtp_xcode);
		buf_putc(&b, ',');
		json_put_member(&b, "text", r->smtp_text);
		buf_putc(&b, '}');
	} else {
		buf_puts(&b, "null");
	}
	for (size_t k = 0; k < ARRAY_LEN(report_methods); k++) {
		buf_putc(&b, ',');
		json_method(&b, m, k);
	}
	struct explain_envelope env = { rx };
	explain_put_json(&b, m, &env);
	if (rx != NULL)
		rx_put_json(&b, m, rx);
	buf_puts(&b, "}\n");
	fwrite(b.p, 1, b.len, stdout);
	buf_free(&b);
}

static void print_text(struct msg *m, const struct eom_result *r, const struct rx_source *rx)
{
	const struct verdict *v = &m->verdict;
	struct explain_envelope env = { rx };
	explain_print_text(m, &env);
	printf("6. Authentication-Results\n");
	printf("Authentication-Results: %s\n", r->ar_value);
	printf("action: %s", action_name(r->action));
	if (r->smtp_code != NULL)
		printf(" (%s %s %s)", r->smtp_code, r->smtp_xcode ? r->smtp_xcode : "",
		       r->smtp_text ? r->smtp_text : "");
	printf("; origin: %s\n", m->internal ? "internal" : "external");
	for (size_t k = 0; k < ARRAY_LEN(report_methods); k++) {
		bool any = false;
		for (size_t i = 0; i < v->results.n; i++) {
			const struct ar_result *res = &v->results.v[i];
			if (strcmp(res->method, report_methods[k].method) != 0)
				continue;
			any = true;
			printf("%s: %s", res->method, res->result);
			if (res->comment != NULL)
				printf(" (%s)", res->comment);
			if (res->props != NULL)
				printf(" %s", res->props);
			if (res->reason != NULL)
				printf("; %s", res->reason);
			printf("\n");
		}
		if (!any)
			printf("%s: none (%s)\n", report_methods[k].method,
			       check_enabled(m->conn->rt, report_methods[k].check)
				       ? "nothing to check" : "check not enabled");
	}
	if (rx != NULL)
		rx_print_text(m, rx);
}

/* The whole input ("-": stdin) into b.  0, or -1 with a message printed. */
static int read_input(const char *path, struct buf *b)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *fp = is_stdin ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "cachet check: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char chunk[65536];
	size_t n;
	bool fits = true;
	while (fits && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fits = buf_append(b, chunk, n);
	int rc = 0;
	if (ferror(fp) || !fits) {
		fprintf(stderr, "cachet check: %s: %s\n", path,
			fits ? "read error" : "larger than 64 MB");
		rc = -1;
	}
	if (!is_stdin)
		fclose(fp);
	return rc;
}

/*
 * --from-received: the envelope from the receiver's trace fields, unless
 * an option gives it.  Returns 0, or the exit status.
 */
static int envelope_from_received(const struct check_opts *o, struct arena *a,
				  const struct buf *raw, struct check_opts *eff,
				  struct rx_source *rx)
{
	const char *error;
	int status;
	if (rx_read(a, (const uint8_t *)raw->p, raw->len, o->receiver_id, rx, &error,
		    &status) < 0) {
		fprintf(stderr, "cachet check: %s: %s\n", o->input, error);
		return status;
	}
	if (eff->client_ip == NULL)
		eff->client_ip = rx->rcv.ip;
	if (eff->helo == NULL)
		eff->helo = rx->rcv.helo;
	if (eff->mail_from == NULL)
		eff->mail_from = rx->mail_from;
	if (eff->client_ip == NULL)
		fprintf(stderr, "cachet check: warning: the Received field %s added (header "
			"field %zu) names no client address\n", rx->receiver_id,
			rx->received_field);
	return 0;
}

static int run(const struct check_opts *o, struct runtime *rt)
{
	struct check_opts eff = *o;
	struct buf raw;
	buf_init(&raw, MESSAGE_MAX);
	struct arena *a = arena_new();
	struct rx_source rx_store, *rx = NULL;
	if (o->from_received) {
		if (read_input(o->input, &raw) < 0) {
			buf_free(&raw);
			arena_free(&a);
			return 1;
		}
		int status = envelope_from_received(o, a, &raw, &eff, &rx_store);
		if (status != 0) {
			buf_free(&raw);
			arena_free(&a);
			return status;
		}
		rx = &rx_store;
	}
	struct conn *c = pipeline_conn_new_text(rt, NULL, eff.client_ip);
	if (eff.helo != NULL)
		pipeline_helo(c, eff.helo);
	struct msg *m = pipeline_msg_begin(c, eff.mail_from, eff.auth_user);
	if (o->have_now)
		m->now = (time_t)o->now;
	else if (rx != NULL && rx->rcv.date != NULL) {
		time_t t;
		if (received_date_parse(rx->rcv.date, &t) == 0) {
			m->now = t;
			rx->clock_from_date = true;
		} else {
			fprintf(stderr, "cachet check: warning: the date of the Received field %s "
				"added (\"%s\") does not read as RFC 5322 says: the clock is now\n",
				rx->receiver_id, rx->rcv.date);
		}
	}
	for (size_t i = 0; i < o->n_rcpts; i++)
		pipeline_rcpt(m, o->rcpts[i]);
	char *error = NULL;
	int rc = 0;
	if (rx != NULL)
		feed_message(m, raw.p, raw.len);
	else
		rc = feed_file(m, o->input, &error);
	if (rc < 0) {
		fprintf(stderr, "cachet check: %s\n", error);
		free(error);
	} else {
		const struct eom_result *r = pipeline_eom(m);
		if (o->json)
			print_json(m, r, rx);
		else
			print_text(m, r, rx);
	}
	pipeline_conn_free(&c);
	arena_free(&a);
	buf_free(&raw);
	return rc == 0 ? 0 : 1;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = { 0 };
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	struct runtime *rt = make_runtime(&o);
	if (rt == NULL)
		return 2;
	int rc = run(&o, rt);
	runtime_unref(&rt);
	return rc;
}
