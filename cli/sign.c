/*
 * `cachet sign`: signs one message with one key and prints it with the new
 * DKIM-Signature field on top.  Useful on its own (signing a test message
 * for a new selector) and the way tests reach the signer directly.  It uses
 * the same DKIM code as the milter; the default header list and
 * oversigning are the milter's unless --headers gives h= verbatim.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "dkim.h"
#include "header.h"
#include "xalloc.h"

#define MESSAGE_MAX ((size_t)64 << 20)
#define MAX_FIELDS 10000
#define MAX_H 256

struct sign_opts {
	const char *key, *domain, *selector, *identity, *headers, *input;
	enum dkim_canon canon_h, canon_b;
	const char *algorithm;
	bool have_time;
	long long time, expire;
};

struct reader_ctx {
	struct arena *a;
	struct dkim_field *fields;
	size_t n;
	struct dkim_bodyhash *body;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet sign --key FILE --domain D --selector S [options] FILE|-\n"
		   "  --canon H/B            canonicalization (default relaxed/relaxed)\n"
		   "  --algorithm A          rsa-sha256 or ed25519-sha256 (default: the key's)\n"
		   "  --headers A:B:C        h= exactly as given (default: cachet's list,\n"
		   "                         with the usual fields oversigned)\n"
		   "  --identity I           i= (default none)\n"
		   "  --time T               t= (default now)\n"
		   "  --expire SECONDS       x= = t= + SECONDS\n"
		   "exit status: 0 signed, 1 unreadable input or key, 2 usage\n");
}

static int parse_canon(const char *s, struct sign_opts *o)
{
	static const char *const names[] = { "simple", "relaxed" };
	char h[16], b[16] = "simple";
	if (sscanf(s, "%15[a-z]/%15[a-z]", h, b) < 1)
		return -1;
	int hi = -1, bi = -1;
	for (int i = 0; i < 2; i++) {
		if (strcmp(h, names[i]) == 0)
			hi = i;
		if (strcmp(b, names[i]) == 0)
			bi = i;
	}
	if (hi < 0 || bi < 0)
		return -1;
	o->canon_h = hi ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	o->canon_b = bi ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	return 0;
}

enum { O_KEY = 256, O_DOMAIN, O_SEL, O_CANON, O_ALG, O_HEADERS, O_ID, O_TIME, O_EXPIRE };

static int parse_opt(int ch, struct sign_opts *o)
{
	switch (ch) {
	case O_KEY: o->key = optarg; return 0;
	case O_DOMAIN: o->domain = optarg; return 0;
	case O_SEL: o->selector = optarg; return 0;
	case O_CANON: return parse_canon(optarg, o);
	case O_ALG: o->algorithm = optarg; return 0;
	case O_HEADERS: o->headers = optarg; return 0;
	case O_ID: o->identity = optarg; return 0;
	case O_TIME: o->have_time = true; return cli_parse_count(optarg, &o->time);
	case O_EXPIRE: return cli_parse_count(optarg, &o->expire);
	case 'h': usage(stdout); exit(0);
	default: return -1;
	}
}

static int parse_args(int argc, char **argv, struct sign_opts *o)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "canon", required_argument, NULL, O_CANON },
		{ "algorithm", required_argument, NULL, O_ALG },
		{ "headers", required_argument, NULL, O_HEADERS },
		{ "identity", required_argument, NULL, O_ID },
		{ "time", required_argument, NULL, O_TIME },
		{ "expire", required_argument, NULL, O_EXPIRE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	o->canon_h = o->canon_b = DKIM_CANON_RELAXED;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (parse_opt(ch, o) < 0) {
			fprintf(stderr, "cachet sign: bad value for an option\n");
			usage(stderr);
			return -1;
		}
	}
	if (o->key == NULL || o->domain == NULL || o->selector == NULL || optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	if (o->algorithm != NULL && strcmp(o->algorithm, "rsa-sha256") != 0 &&
	    strcmp(o->algorithm, "ed25519-sha256") != 0) {
		fprintf(stderr, "cachet sign: --algorithm: rsa-sha256 or ed25519-sha256\n");
		return -1;
	}
	o->input = argv[optind];
	return 0;
}

static int read_all(const char *input, struct buf *out)
{
	FILE *f = strcmp(input, "-") == 0 ? stdin : fopen(input, "rb");
	if (f == NULL) {
		fprintf(stderr, "cachet sign: %s: %s\n", input, strerror(errno));
		return -1;
	}
	char chunk[65536];
	size_t n;
	int rc = 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!buf_append(out, chunk, n)) {
			fprintf(stderr, "cachet sign: %s: larger than %zu bytes\n", input,
				(size_t)MESSAGE_MAX);
			rc = -1;
			break;
		}
	if (ferror(f)) {
		fprintf(stderr, "cachet sign: %s: read error\n", input);
		rc = -1;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

static bool on_field(void *ctx, const char *name, size_t name_len, const char *value,
		     size_t value_len)
{
	struct reader_ctx *r = ctx;
	if (r->n == MAX_FIELDS)
		return false;
	r->fields[r->n].name = slice_make(arena_memdup(r->a, name, name_len), name_len);
	r->fields[r->n].value = slice_make(arena_memdup(r->a, value, value_len), value_len);
	r->n++;
	return true;
}

static bool on_body(void *ctx, const uint8_t *data, size_t len)
{
	struct reader_ctx *r = ctx;
	dkim_bodyhash_update(r->body, data, len);
	return true;
}

/* Splits --headers "a:b:c" into the h= list. */
static const char **split_headers(struct arena *a, const char *list, size_t *n_r)
{
	const char **v = arena_alloc_array(a, MAX_H, sizeof(*v));
	char *copy = arena_strdup(a, list), *save = NULL;
	*n_r = 0;
	for (char *t = strtok_r(copy, ": \t", &save); t != NULL && *n_r < MAX_H;
	     t = strtok_r(NULL, ": \t", &save))
		v[(*n_r)++] = t;
	return v;
}

/* Writes the field in the input's line-end style, then the input itself. */
static void print_signed(const struct buf *msg, const char *value)
{
	const char *nl = memchr(msg->p, '\n', msg->len);
	bool crlf = nl != NULL && nl > msg->p && nl[-1] == '\r';
	fputs("DKIM-Signature: ", stdout);
	for (const char *p = value; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n' && !crlf)
			continue;
		putchar(*p);
	}
	fputs(crlf ? "\r\n" : "\n", stdout);
	fwrite(msg->p, 1, msg->len, stdout);
}

static int sign_message(const struct sign_opts *o, struct dkim_privkey *key,
			const struct buf *msg)
{
	struct arena *a = arena_new();
	struct reader_ctx r = { .a = a, .fields = arena_alloc_array(a, MAX_FIELDS, sizeof(*r.fields)),
				.body = dkim_bodyhash_new(o->canon_b, DKIM_HASH_SHA256, false, 0) };
	struct hdr_limits lim = { MAX_FIELDS, MESSAGE_MAX, MESSAGE_MAX, MESSAGE_MAX };
	struct hdr_callbacks cb = { .field = on_field, .body = on_body };
	struct hdr_reader *rd = hdr_reader_new(&lim, &cb, &r);
	hdr_reader_feed(rd, (const uint8_t *)msg->p, msg->len);
	hdr_reader_finish(rd);
	hdr_reader_free(&rd);
	long long t = o->have_time ? o->time : (long long)time(NULL);
	struct dkim_sign_params p = {
		.domain = o->domain, .selector = o->selector, .auid = o->identity,
		.canon_header = o->canon_h, .canon_body = o->canon_b,
		.has_t = true, .t = (uint64_t)t,
		.has_x = o->expire > 0, .x = (uint64_t)(t + o->expire),
	};
	if (o->headers != NULL)
		p.h = split_headers(a, o->headers, &p.h_count);
	else
		p.h = dkim_sign_select_headers(a, r.fields, r.n, dkim_default_sign_headers,
					       dkim_default_sign_headers_count,
					       dkim_default_oversign_headers,
					       dkim_default_oversign_headers_count, &p.h_count);
	struct buf value;
	buf_init(&value, 0);
	enum dkim_err e = dkim_sign(key, &p, r.fields, r.n, r.body, &value);
	if (e == DKIM_OK)
		print_signed(msg, value.p);
	else
		fprintf(stderr, "cachet sign: %s\n", dkim_err_text(e));
	buf_free(&value);
	dkim_bodyhash_free(&r.body);
	arena_free(&a);
	return e == DKIM_OK ? 0 : 1;
}

int cmd_sign(int argc, char **argv)
{
	struct sign_opts o = { 0 };
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	char *err = NULL;
	/* a key file others can read still signs here, with a warning */
	struct dkim_privkey *key = dkim_privkey_load_file(o.key, false, &err);
	if (key == NULL) {
		key = dkim_privkey_load_file(o.key, true, &err);
		if (key != NULL)
			fprintf(stderr, "cachet sign: warning: %s is readable by others; "
					"cachet-milterd would refuse it\n", o.key);
	}
	if (key == NULL) {
		fprintf(stderr, "cachet sign: %s\n", err);
		free(err);
		return 1;
	}
	bool want_ed = o.algorithm != NULL && strcmp(o.algorithm, "ed25519-sha256") == 0;
	if (o.algorithm != NULL && want_ed != (key->type == DKIM_KEY_ED25519)) {
		fprintf(stderr, "cachet sign: --algorithm %s does not fit the %s key in %s\n",
			o.algorithm, dkim_key_type_name(key->type), o.key);
		dkim_privkey_free(&key);
		return 2;
	}
	struct buf msg;
	buf_init(&msg, MESSAGE_MAX);
	int rc = read_all(o.input, &msg) == 0 ? sign_message(&o, key, &msg) : 1;
	buf_free(&msg);
	dkim_privkey_free(&key);
	return rc;
}
