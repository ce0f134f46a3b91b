/*
 * `cachet doctor DOMAIN` (see doctor.h): the options, the resolver (the
 * system's, --nameserver, or --dns-zone for a zone file not yet loaded),
 * the run, and the output: one line per finding with its mark and a
 * sentence, more sentences indented below it, then "Records to publish"
 * in master-file syntax, then a count.  --json prints the same findings
 * and records as one object.  Marks are ✓ ✗ ! · on a UTF-8 terminal
 * (nl_langinfo(CODESET) after setlocale(LC_CTYPE, "")), [ok] [FAIL] [warn]
 * [info] otherwise or with --ascii.
 *
 * Exit status: 0 nothing failed (warnings allowed), 1 something failed,
 * 2 usage, a zone file or KeyTable that does not load, or no resolver.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "doctor.h"
#include "json.h"
#include "keytable.h"
#include "xalloc.h"
#include "zone.h"

#define MAX_NAMESERVERS 8

struct doctor_opts {
	const char *zone, *keytable, *domain;
	const char *nameservers[MAX_NAMESERVERS + 1];
	size_t n_nameservers;
	bool json, ascii;
};

/* ---- what the checks call ---- */

const struct dns_answer *doctor_lookup(struct doctor *d, const char *name, enum dns_type type)
{
	struct dns_lookup *l;
	const struct dns_answer *a = dns_lookup_sync(d->dns, name, type, &l);
	*ARRAY_PUSH(&d->lookups) = l;
	d->queries++;
	return a;
}

struct doctor_finding *doctor_say(struct doctor *d, const char *area, const char *id,
				  enum doctor_mark mark, const char *fmt, ...)
{
	struct doctor_finding *f = ARRAY_PUSH(&d->findings);
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	f->area = area;
	f->id = id;
	f->mark = mark;
	f->text = arena_strdup(d->a, text);
	free(text);
	return f;
}

void doctor_detail(struct doctor *d, struct doctor_finding *f, const char *fmt, ...)
{
	if (f->n_detail == DOCTOR_MAX_DETAILS)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	f->detail[f->n_detail++] = arena_strdup(d->a, text);
	free(text);
}

static const char *absolute(struct doctor *d, const char *name)
{
	size_t n = strlen(name);
	return n > 0 && name[n - 1] == '.' ? arena_strdup(d->a, name)
					    : arena_printf(d->a, "%s.", name);
}

static void publish(struct doctor *d, const char *area, const char *name, const char *type,
		    const char *text, const char *zone, const char *note)
{
	/* one record per name and type: the first reason to publish it wins */
	const char *owner = absolute(d, name);
	for (size_t i = 0; i < d->records.n; i++)
		if (strcasecmp(d->records.v[i].name, owner) == 0 &&
		    strcmp(d->records.v[i].type, type) == 0)
			return;
	struct doctor_record *r = ARRAY_PUSH(&d->records);
	r->area = area;
	r->name = owner;
	r->type = type;
	r->text = arena_strdup(d->a, text);
	r->zone = arena_strdup(d->a, zone);
	r->note = arena_strdup(d->a, note);
}

void doctor_publish_zone(struct doctor *d, const char *area, const char *name,
			 const char *text, const char *zone, const char *note)
{
	publish(d, area, name, "TXT", text, zone, note);
}

void doctor_publish_rr(struct doctor *d, const char *area, const char *name, const char *type,
		       const char *data, const char *note)
{
	publish(d, area, name, type, data,
		arena_printf(d->a, "%s IN %s %s\n", absolute(d, name), type, data), note);
}

void doctor_publish(struct doctor *d, const char *area, const char *name,
		    const struct slice *parts, size_t n, const char *note)
{
	struct buf zone, text;
	buf_init(&zone, 0);
	buf_init(&text, 0);
	zone_txt_record(&zone, absolute(d, name), parts, n);
	for (size_t i = 0; i < n; i++)
		buf_append(&text, parts[i].p, parts[i].len);
	doctor_publish_zone(d, area, name, text.p, zone.p, note);
	buf_free(&zone);
	buf_free(&text);
}

bool doctor_txt_starts(const struct dns_rr *rr, const char *word)
{
	size_t n = strlen(word);
	return rr->u.txt.len >= n && strncasecmp(rr->u.txt.data, word, n) == 0 &&
	       (rr->u.txt.len == n || rr->u.txt.data[n] == ' ');
}

const char *doctor_excerpt(struct doctor *d, const char *s, size_t len, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < len && i < n; i++)
		buf_putc(&b, (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?');
	if (len > n)
		buf_puts(&b, "...");
	const char *r = arena_strdup(d->a, b.p);
	buf_free(&b);
	return r;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cachet doctor [options] DOMAIN\n"
		"  --dns-zone FILE        answer every lookup from this zone file (one not yet\n"
		"                         published)\n"
		"  --nameserver IP[@PORT] ask this server (repeatable; default: the system's)\n"
		"  --ip ADDRESS           an address your mail leaves from (repeatable): it must\n"
		"                         pass SPF (default: the MX hosts' addresses)\n"
		"  --selector S           a DKIM selector you sign with (repeatable)\n"
		"  --keytable FILE        the selectors (and key files) of DOMAIN in this KeyTable\n"
		"  --key FILE             the private key of --selector: it must match the\n"
		"                         published one, and gives the record to publish\n"
		"  --json                 one JSON object instead of text\n"
		"  --ascii                [ok] [FAIL] [warn] marks even on a UTF-8 terminal\n"
		"exit status: 0 nothing failed (warnings allowed), 1 something failed, 2 usage\n");
}

enum { O_ZONE = 256, O_NS, O_IP, O_SEL, O_KT, O_KEY, O_JSON, O_ASCII };

static int parse_args(int argc, char **argv, struct doctor_opts *o, struct doctor *d)
{
	static const struct option longopts[] = {
		{ "dns-zone", required_argument, NULL, O_ZONE },
		{ "nameserver", required_argument, NULL, O_NS },
		{ "ip", required_argument, NULL, O_IP },
		{ "selector", required_argument, NULL, O_SEL },
		{ "keytable", required_argument, NULL, O_KT },
		{ "key", required_argument, NULL, O_KEY },
		{ "json", no_argument, NULL, O_JSON },
		{ "ascii", no_argument, NULL, O_ASCII },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_ZONE: o->zone = optarg; break;
		case O_KT: o->keytable = optarg; break;
		case O_KEY: d->key_path = optarg; break;
		case O_JSON: o->json = true; break;
		case O_ASCII: o->ascii = true; break;
		case O_NS:
			if (o->n_nameservers == MAX_NAMESERVERS) {
				fprintf(stderr, "cachet doctor: at most %d --nameserver\n", MAX_NAMESERVERS);
				return -1;
			}
			o->nameservers[o->n_nameservers++] = optarg;
			break;
		case O_IP: {
			struct in6_addr a6;
			struct in_addr a4;
			if (inet_pton(AF_INET, optarg, &a4) != 1 && inet_pton(AF_INET6, optarg, &a6) != 1) {
				fprintf(stderr, "cachet doctor: --ip: not an IP address: %s\n", optarg);
				return -1;
			}
			if (d->n_ips == DOCTOR_MAX_IPS) {
				fprintf(stderr, "cachet doctor: at most %d --ip\n", DOCTOR_MAX_IPS);
				return -1;
			}
			d->ips[d->n_ips++] = optarg;
			break;
		}
		case O_SEL:
			if (d->n_selectors == DOCTOR_MAX_SELECTORS) {
				fprintf(stderr, "cachet doctor: at most %d selectors\n", DOCTOR_MAX_SELECTORS);
				return -1;
			}
			d->selectors[d->n_selectors++].selector = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "cachet doctor: expected one domain\n");
		usage(stderr);
		return -1;
	}
	if (o->zone != NULL && o->n_nameservers > 0) {
		fprintf(stderr, "cachet doctor: --dns-zone or --nameserver, not both\n");
		return -1;
	}
	o->domain = argv[optind];
	return 0;
}

/* The domain as looked up: lower case, no final dot, a plausible name. */
static const char *domain_arg(struct arena *a, const char *s)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return NULL;
	char *d = arena_memdup(a, s, n);
	for (size_t i = 0; i < n; i++) {
		char c = d[i];
		if (c >= 'A' && c <= 'Z')
			d[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_' || c == '.') || (c == '.' && (i == 0 || d[i - 1] == '.')))
			return NULL;
	}
	return d;
}

/* --selector's key is --key; the KeyTable's selectors of the domain bring their files. */
static int add_keytable(struct doctor *d, const char *spec)
{
	char *err = NULL;
	/* a relative file name is a file here, not a csl: list as in cachet.conf */
	char *abs = spec[0] != '/' && strchr(spec, ':') == NULL ? realpath(spec, NULL) : NULL;
	struct keytable *kt = keytable_load(abs != NULL ? abs : spec, &err);
	free(abs);
	if (kt == NULL) {
		fprintf(stderr, "cachet doctor: %s\n", err);
		free(err);
		return -1;
	}
	size_t found = 0;
	for (size_t i = 0; i < keytable_count(kt); i++) {
		const struct keytable_entry *e = keytable_entry_at(kt, i);
		if (strcasecmp(e->domain, d->domain) != 0 && strcmp(e->domain, "%") != 0)
			continue;
		found++;
		bool dup = false;
		for (size_t k = 0; k < d->n_selectors && !dup; k++)
			dup = strcmp(d->selectors[k].selector, e->selector) == 0;
		if (dup || d->n_selectors == DOCTOR_MAX_SELECTORS)
			continue;
		struct doctor_selector *s = &d->selectors[d->n_selectors++];
		s->selector = arena_strdup(d->a, e->selector);
		/* "%" in a file name is the signing domain (keytable.h) */
		if (e->key_is_file) {
			struct buf path;
			buf_init(&path, 0);
			for (const char *p = e->key; *p != '\0'; p++)
				if (*p == '%')
					buf_puts(&path, d->domain);
				else
					buf_putc(&path, *p);
			s->key_path = arena_strdup(d->a, path.p);
			buf_free(&path);
		}
	}
	if (found == 0)
		fprintf(stderr, "cachet doctor: warning: KeyTable %s has no key for %s\n", spec,
			d->domain);
	keytable_free(&kt);
	return 0;
}

static struct dns *open_dns(const struct doctor_opts *o)
{
	struct dns_options opts = { 0 };
	opts.test_zone = o->zone;
	opts.test_zone_origin = o->domain;
	if (o->n_nameservers > 0)
		opts.nameservers = o->nameservers;
	char *err = NULL;
	struct dns *dns = dns_new(&opts, &err);
	if (dns == NULL) {
		fprintf(stderr, "cachet doctor: %s\n", err);
		free(err);
	}
	return dns;
}

void doctor_run(struct doctor *d)
{
	doctor_mx(d);
	if (d->no_answer)
		return;
	doctor_spf(d);
	doctor_dkim(d);
	doctor_dmarc(d);
	doctor_transport(d);
}

void doctor_clear(struct doctor *d)
{
	for (size_t i = 0; i < d->lookups.n; i++)
		dns_lookup_free(&d->lookups.v[i]);
	ARRAY_FREE(&d->lookups);
	ARRAY_FREE(&d->findings);
	ARRAY_FREE(&d->records);
	ARRAY_FREE(&d->mx_addrs);
	dns_free(&d->dns);
	arena_free(&d->a);
}

/* ---- output ---- */

static const char *const utf8_marks[] = {
	[DOCTOR_OK] = "\xe2\x9c\x93", [DOCTOR_WARN] = "!", [DOCTOR_FAIL] = "\xe2\x9c\x97",
	[DOCTOR_INFO] = "\xc2\xb7",
};
static const char *const ascii_marks[] = {
	[DOCTOR_OK] = "[ok]  ", [DOCTOR_WARN] = "[warn]", [DOCTOR_FAIL] = "[FAIL]",
	[DOCTOR_INFO] = "[info]",
};
static const char *const mark_words[] = {
	[DOCTOR_OK] = "ok", [DOCTOR_WARN] = "warn", [DOCTOR_FAIL] = "fail", [DOCTOR_INFO] = "info",
};

static const struct {
	const char *area;
	const char *title;
} areas[] = {
	{ "mx", "MX" }, { "spf", "SPF" }, { "dkim", "DKIM" }, { "dmarc", "DMARC" },
	{ "mta-sts", "MTA-STS and TLS-RPT (information)" }, { "tls-rpt", NULL },
};

static void count(const struct doctor *d, size_t n_r[4])
{
	memset(n_r, 0, 4 * sizeof(n_r[0]));
	for (size_t i = 0; i < d->findings.n; i++)
		n_r[d->findings.v[i].mark]++;
}

static void print_text(const struct doctor *d, const struct doctor_opts *o, bool utf8)
{
	const char *const *marks = utf8 ? utf8_marks : ascii_marks;
	if (o->zone != NULL)
		printf("cachet doctor %s (DNS: the zone file %s)\n", d->domain, o->zone);
	else
		printf("cachet doctor %s (DNS: %s)\n", d->domain,
		       o->n_nameservers > 0 ? "the --nameserver given" : "the system's resolver");
	for (size_t k = 0; k < ARRAY_LEN(areas); k++) {
		bool first = true;
		for (size_t i = 0; i < d->findings.n; i++) {
			const struct doctor_finding *f = &d->findings.v[i];
			if (strcmp(f->area, areas[k].area) != 0)
				continue;
			if (first && areas[k].title != NULL)
				printf("\n%s\n", areas[k].title);
			first = false;
			printf("  %s %s\n", marks[f->mark], f->text);
			for (size_t j = 0; j < f->n_detail; j++)
				printf("  %*s %s\n", utf8 ? 1 : 6, "", f->detail[j]);
		}
	}
	if (d->records.n > 0) {
		printf("\nRecords to publish\n");
		for (size_t i = 0; i < d->records.n; i++) {
			const struct doctor_record *r = &d->records.v[i];
			printf("\n; %s\n%s", r->note, r->zone);
		}
	}
	size_t n[4];
	count(d, n);
	printf("\n%zu failed, %zu warning%s, %zu ok (%u DNS queries)\n", n[DOCTOR_FAIL],
	       n[DOCTOR_WARN], n[DOCTOR_WARN] == 1 ? "" : "s", n[DOCTOR_OK], d->queries);
}

static void print_json(const struct doctor *d)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "{\"domain\":");
	json_put_string(&b, d->domain);
	buf_puts(&b, ",\"checks\":[");
	for (size_t i = 0; i < d->findings.n; i++) {
		const struct doctor_finding *f = &d->findings.v[i];
		buf_puts(&b, i > 0 ? ",{\"area\":" : "{\"area\":");
		json_put_string(&b, f->area);
		buf_puts(&b, ",\"id\":");
		json_put_string(&b, f->id);
		buf_puts(&b, ",\"status\":");
		json_put_string(&b, mark_words[f->mark]);
		buf_puts(&b, ",\"text\":");
		json_put_string(&b, f->text);
		buf_puts(&b, ",\"details\":[");
		for (size_t j = 0; j < f->n_detail; j++) {
			if (j > 0)
				buf_putc(&b, ',');
			json_put_string(&b, f->detail[j]);
		}
		buf_puts(&b, "]}");
	}
	buf_puts(&b, "],\"records\":[");
	for (size_t i = 0; i < d->records.n; i++) {
		const struct doctor_record *r = &d->records.v[i];
		buf_puts(&b, i > 0 ? ",{\"area\":" : "{\"area\":");
		json_put_string(&b, r->area);
		buf_puts(&b, ",\"name\":");
		json_put_string(&b, r->name);
		buf_puts(&b, ",\"type\":");
		json_put_string(&b, r->type);
		buf_puts(&b, ",\"text\":");
		json_put_string(&b, r->text);
		buf_puts(&b, ",\"zone\":");
		json_put_string(&b, r->zone);
		buf_puts(&b, ",\"note\":");
		json_put_string(&b, r->note);
		buf_putc(&b, '}');
	}
	size_t n[4];
	count(d, n);
	buf_printf(&b, "],\"failed\":%zu,\"warnings\":%zu,\"ok\":%zu,\"queries\":%u}\n",
		   n[DOCTOR_FAIL], n[DOCTOR_WARN], n[DOCTOR_OK], d->queries);
	fputs(b.p, stdout);
	buf_free(&b);
}

static bool terminal_utf8(void)
{
	setlocale(LC_CTYPE, "");
	const char *cs = nl_langinfo(CODESET);
	return cs != NULL && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor d = { 0 };
	struct doctor_opts o = { 0 };
	d.a = arena_new();
	int rc = 2;
	if (parse_args(argc, argv, &o, &d) < 0)
		goto out;
	d.domain = domain_arg(d.a, o.domain);
	if (d.domain == NULL) {
		fprintf(stderr, "cachet doctor: not a domain name: %s\n", o.domain);
		goto out;
	}
	for (size_t i = 0; i < d.n_selectors; i++)
		d.selectors[i].key_path = d.key_path;
	if (o.keytable != NULL && add_keytable(&d, o.keytable) < 0)
		goto out;
	d.dns = open_dns(&o);
	if (d.dns == NULL)
		goto out;
	doctor_run(&d);
	if (o.json)
		print_json(&d);
	else
		print_text(&d, &o, !o.ascii && terminal_utf8());
	size_t n[4];
	count(&d, n);
	rc = n[DOCTOR_FAIL] > 0 ? 1 : 0;
out:
	doctor_clear(&d);
	return rc;
}
