/*
 * dkim_bench: how many DKIM signatures cachet verifies and makes per second
 * on one thread, and how much of that time is the public-key operation
 * itself.  bench/run.sh runs it next to `openssl speed` and prints the
 * ratios; see bench/README.md for how to read the figures.
 *
 * For each message size and each key given on the command line it
 * measures, each for a fixed time after a short warm-up:
 *  - verify: the per-signature path of the dkim_verify check: parse the
 *    DKIM-Signature, check its times, get the key from the cache of parsed
 *    key records (lib/mail/dkim_keycache.h, as the check does: what a
 *    message from a sender seen before costs), stream the body into a
 *    dkim_bodyhash in 64 KiB chunks, dkim_verify; over a message signed
 *    once up front;
 *  - verify-new: the same with the key record parsed, as for the first
 *    message from a sender (or a record with TTL 0);
 *  - sign: the per-message path of the dkim_sign check with the key loaded
 *    once: body hash, dkim_sign_select_headers, dkim_sign;
 *  - crypto-verify / crypto-sign: the public-key operation alone on a
 *    fixed header hash, made the way lib/mail/dkim_crypto.c makes it (for
 *    RSA verify the context made with the key, else a fresh OpenSSL context
 *    per operation), for the "crypto share" column;
 *  - key-parse, sig-parse: dkim_key_parse and dkim_sig_parse alone;
 *  - header-hash: dkim_header_hash alone (the fields signed, canonicalized);
 *  - bodyhash: relaxed canonicalization + SHA-256 of the body alone;
 *  - sha256 (key "raw"): the same body's SHA-256 in one EVP_Digest call, as
 *    `openssl speed sha256` hashes: bodyhash's peer, timed in alternating
 *    rounds with it (bodyhash, sha256, bodyhash, ...), so that both meet
 *    the same moments of a busy machine and their ratio holds.
 * Rates are per CPU-second of this process (what `openssl speed` counts by
 * default, so the ratios compare like with like); the wall-clock rate is
 * printed beside them.  Output is one tab-separated line per figure.
 *
 * Limits: single thread, synthetic plain-text messages, no DNS, no milter
 * protocol.  It measures the DKIM core, not the milter.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "arena.h"
#include "buf.h"
#include "dkim.h"
#include "dkim_keycache.h"
#include "xalloc.h"

#define BENCH_CHUNK (64 * 1024)		/* body bytes per dkim_bodyhash_update */
#define BENCH_KEYS_MAX 8		/* keys on one command line */
#define BENCH_SIZES_MAX 8		/* message sizes on one command line */
#define BENCH_FIELDS_MAX 16		/* header fields of a message, signature included */
#define BENCH_RECORD_MAX 8192		/* bytes of a key record file */
#define BENCH_SIZE_MAX ((size_t)64 << 20)
#define BENCH_DOMAIN "example.com"
#define BENCH_SELECTOR "bench"

/* What dkim_sign's callers sign by default (milterd/dkim_sign.c's lists). */
static const char *const sign_names[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To",
	"References", "Sender", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-ID", "Content-Description", "List-Id",
	"List-Unsubscribe", "List-Unsubscribe-Post",
};

static const char *const oversign_names[] = {
	"From", "To", "Cc", "Subject", "Date", "Reply-To", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding",
};

/* Thirteen fields, the kind a message carries when it reaches a verifier. */
static const char *const header_text[][2] = {
	{ "Return-Path", " <alice.sender@example.com>" },
	{ "Received", " from mail.example.com (mail.example.com [192.0.2.25])\r\n"
		      "\tby mx.example.net (Postfix) with ESMTPS id 4Tq9Zk1XyBz3c\r\n"
		      "\tfor <bob@example.net>; Tue, 03 Mar 2026 10:15:02 +0000 (UTC)" },
	{ "Received", " from [198.51.100.7] (unknown [198.51.100.7])\r\n"
		      "\tby mail.example.com (Postfix) with ESMTPSA id 8F2A1C0042\r\n"
		      "\tfor <bob@example.net>; Tue, 03 Mar 2026 10:15:01 +0000 (UTC)" },
	{ "From", " Alice Sender <alice.sender@example.com>" },
	{ "To", " Bob Receiver <bob@example.net>" },
	{ "Cc", " Carol <carol@example.org>, dave@example.org" },
	{ "Subject", " Re: figures for the quarter and the plan  for next month" },
	{ "Date", " Tue, 03 Mar 2026 11:15:00 +0100" },
	{ "Message-ID", " <20260303101500.8F2A1C0042@mail.example.com>" },
	{ "MIME-Version", " 1.0" },
	{ "Content-Type", " text/plain; charset=utf-8; format=flowed" },
	{ "Content-Transfer-Encoding", " 8bit" },
	{ "User-Agent", " Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Thunderbird/128.7.0" },
};

static const char *const words[] = {
	"the", "message", "of", "and", "figures", "quarter", "we", "to", "a", "plan",
	"next", "month", "in", "meeting", "budget", "for", "is", "team", "report",
	"that", "please", "review", "attached", "numbers", "with", "on", "customer",
	"delivery", "schedule", "thanks", "regards", "question", "update", "Monday",
};

struct message {
	struct dkim_field fields[BENCH_FIELDS_MAX];	/* [0] is DKIM-Signature */
	size_t n_fields;				/* with the signature */
	uint8_t *body;
	size_t body_len;
};

struct bench_key {
	const char *label;
	struct dkim_privkey *priv;
	char *record;
};

struct options {
	double seconds;
	double warmup;
	size_t sizes[BENCH_SIZES_MAX];
	size_t n_sizes;
};

/* What one timed loop did. */
struct measure {
	uint64_t ops;
	double cpu;	/* seconds of process CPU time */
	double wall;	/* seconds */
};

/* Everything one timed operation needs. */
struct bench_case {
	const struct message *msg;
	const struct bench_key *key;
	uint64_t now;
	uint8_t hash[DKIM_HASH_MAX];		/* header hash, for the crypto-only ops */
	uint8_t sig[DKIM_SIG_BYTES_MAX];	/* its signature */
	size_t sig_len;
	struct dkim_key *pub;			/* parsed once, for crypto-verify */
	struct dkim_sig *sig_parsed;		/* field [0] parsed once, for header-hash */
	struct dkim_keycache *keys;		/* verify's cache of parsed records, or NULL */
};

static void die(const char *fmt, ...) PRINTF(1, 2);

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("dkim_bench: ", stderr);
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

/* Runs op for warmup seconds untimed, then for seconds timed. */
static struct measure run_timed(void (*op)(struct bench_case *), struct bench_case *c,
				const struct options *o);

#define PAIR_ROUNDS 4

static void add_measure(struct measure *sum, struct measure m)
{
	sum->ops += m.ops;
	sum->cpu += m.cpu;
	sum->wall += m.wall;
}

/* a and b in alternating rounds, each a share of the figure's time. */
static void run_pair(void (*a)(struct bench_case *), void (*b)(struct bench_case *),
		     struct bench_case *c, const struct options *o, struct measure *ma,
		     struct measure *mb)
{
	struct options part = *o;
	part.seconds = o->seconds / PAIR_ROUNDS;
	*ma = *mb = (struct measure){ 0, 0, 0 };
	for (int round = 0; round < PAIR_ROUNDS; round++) {
		add_measure(ma, run_timed(a, c, &part));
		add_measure(mb, run_timed(b, c, &part));
		part.warmup = 0;	/* once is enough */
	}
}

static struct measure run_timed(void (*op)(struct bench_case *), struct bench_case *c,
				const struct options *o)
{
	double start = clock_seconds(CLOCK_MONOTONIC);
	while (clock_seconds(CLOCK_MONOTONIC) - start < o->warmup)
		op(c);
	struct measure m = { 0, 0, 0 };
	double wall0 = clock_seconds(CLOCK_MONOTONIC);
	double cpu0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
	do {
		op(c);
		m.ops++;
		m.wall = clock_seconds(CLOCK_MONOTONIC) - wall0;
	} while (m.wall < o->seconds);
	m.cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	return m;
}

/* ---- the synthetic message ---- */

/* xorshift: the same body on every run and machine. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/*
 * Plain text of about size bytes (CRLF lines up to 72 columns, paragraphs,
 * now and then a double space or trailing blank for relaxed
 * canonicalization to fold), ending with two empty lines it strips.
 */
static void make_body(size_t size, struct buf *out)
{
	uint32_t rnd = 0x9e3779b9u;
	size_t col = 0;
	while (out->len + 4 < size) {
		uint32_t r = next_random(&rnd);
		const char *w = words[r % ARRAY_LEN(words)];
		if (col > 0 && col + 1 + strlen(w) > 72) {
			buf_puts(out, (r >> 8) % 16 == 0 ? " \r\n" : "\r\n");
			if ((r >> 12) % 8 == 0)
				buf_puts(out, "\r\n");
			col = 0;
		}
		if (col > 0) {
			buf_puts(out, (r >> 16) % 32 == 0 ? "  " : " ");
			col++;
		}
		buf_puts(out, w);
		col += strlen(w);
	}
	buf_puts(out, "\r\n\r\n\r\n");
	if (out->overflow)
		die("message body of %zu bytes is over the buffer limit", size);
}

/* Fields [1..] and the body; field [0] is left for the signature. */
static void make_message(struct arena *a, size_t size, struct message *m)
{
	memset(m, 0, sizeof(*m));
	m->n_fields = 1;
	for (size_t i = 0; i < ARRAY_LEN(header_text); i++) {
		m->fields[m->n_fields].name = slice_cstr(header_text[i][0]);
		m->fields[m->n_fields].value = slice_cstr(header_text[i][1]);
		m->n_fields++;
	}
	struct buf body;
	buf_init(&body, BENCH_SIZE_MAX + 4096);
	make_body(size, &body);
	m->body = (uint8_t *)arena_memdup(a, body.p, body.len);
	m->body_len = body.len;
	buf_free(&body);
}

static void feed_body(struct dkim_bodyhash *bh, const struct message *m)
{
	for (size_t off = 0; off < m->body_len; off += BENCH_CHUNK) {
		size_t n = m->body_len - off < BENCH_CHUNK ? m->body_len - off : BENCH_CHUNK;
		dkim_bodyhash_update(bh, m->body + off, n);
	}
}

/* ---- the operations timed ---- */

/*
 * The sign path of one message; the signature field value (leading SP
 * included, as the field is inserted) goes to value_r when not NULL.
 */
static void sign_message(const struct bench_case *c, struct buf *value_r)
{
	const struct message *m = c->msg;
	struct arena *a = arena_new();
	/* The message as received has no signature: fields from [1]. */
	const struct dkim_field *f = m->fields + 1;
	size_t n = m->n_fields - 1;
	struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_RELAXED, DKIM_HASH_SHA256,
						     false, 0);
	feed_body(bh, m);
	struct dkim_sign_params p = {
		.domain = BENCH_DOMAIN,
		.selector = BENCH_SELECTOR,
		.canon_header = DKIM_CANON_RELAXED,
		.canon_body = DKIM_CANON_RELAXED,
		.has_t = true,
		.t = c->now,
	};
	p.h = dkim_sign_select_headers(a, f, n, sign_names, ARRAY_LEN(sign_names),
				       oversign_names, ARRAY_LEN(oversign_names), &p.h_count);
	struct buf value;
	buf_init(&value, 0);
	buf_putc(&value, ' ');
	enum dkim_err e = dkim_sign(c->key->priv, &p, f, n, bh, &value);
	if (e != DKIM_OK)
		die("dkim_sign with the %s key: %s", c->key->label, dkim_err_text(e));
	if (value_r != NULL)
		buf_append(value_r, value.p, value.len);
	buf_free(&value);
	dkim_bodyhash_free(&bh);
	arena_free(&a);
}

static void op_sign(struct bench_case *c)
{
	sign_message(c, NULL);
}

/* The per-signature verify path; the result, which must be DKIM_OK. */
static enum dkim_err verify_message(const struct bench_case *c)
{
	const struct message *m = c->msg;
	struct arena *a = arena_new();
	/* The milter gathers the fields into an arena array at end of message. */
	struct dkim_field *f = arena_alloc_array(a, m->n_fields, sizeof(*f));
	memcpy(f, m->fields, m->n_fields * sizeof(*f));
	struct dkim_sig *sig = NULL;
	struct dkim_key *key = NULL;
	enum dkim_err e = dkim_sig_parse(a, f[0].value.p, f[0].value.len, &sig);
	if (e == DKIM_OK)
		e = dkim_sig_check_time(sig, c->now, 300);
	if (e == DKIM_OK)
		e = dkim_keycache_parse(c->keys, c->key->record, strlen(c->key->record), 3600,
					&key);
	if (e == DKIM_OK) {
		struct dkim_bodyhash *bh = dkim_bodyhash_new(sig->canon_body,
							     dkim_alg_hash(sig->alg),
							     sig->has_l, sig->l);
		feed_body(bh, m);
		e = dkim_verify(sig, key, f, m->n_fields, 0, bh);
		dkim_bodyhash_free(&bh);
	}
	dkim_key_free(&key);
	arena_free(&a);
	return e;
}

static void op_verify(struct bench_case *c)
{
	enum dkim_err e = verify_message(c);
	if (e != DKIM_OK)
		die("verify with the %s key: %s", c->key->label, dkim_err_text(e));
}

/* Without the cache: the key record parsed for this message. */
static void op_verify_new(struct bench_case *c)
{
	struct dkim_keycache *keys = c->keys;
	c->keys = NULL;
	op_verify(c);
	c->keys = keys;
}

static void op_crypto_sign(struct bench_case *c)
{
	uint8_t sig[DKIM_SIG_BYTES_MAX];
	size_t len;
	if (dkim_sign_digest(c->key->priv, c->hash, sizeof(c->hash), sig, &len) != DKIM_OK)
		die("dkim_sign_digest with the %s key failed", c->key->label);
}

/*
 * The public-key check alone, as lib/mail/dkim_crypto.c does it: RSA PKCS#1
 * v1.5 over the SHA-256 DigestInfo, or PureEdDSA over the 32 hash bytes
 * (RFC 8463 3), each with a context made for the one operation.
 */
static bool crypto_verify(const struct bench_case *c)
{
	int r;
	if (c->pub->type == DKIM_KEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		r = md != NULL &&
		    EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, c->pub->pkey, NULL) == 1 &&
		    EVP_DigestVerify(md, c->sig, c->sig_len, c->hash, sizeof(c->hash)) == 1;
		EVP_MD_CTX_free(md);
	} else {
		/* the context made with the key, as dkim_crypto.c uses it */
		r = c->pub->verify != NULL &&
		    EVP_PKEY_verify(c->pub->verify, c->sig, c->sig_len, c->hash,
				    sizeof(c->hash)) == 1;
	}
	return r;
}

static void op_crypto_verify(struct bench_case *c)
{
	if (!crypto_verify(c))
		die("raw verify with the %s key failed", c->key->label);
}

/* The key record as if just answered by DNS, alone. */
static void op_key_parse(struct bench_case *c)
{
	struct dkim_key *key = NULL;
	enum dkim_err e = dkim_key_parse(c->key->record, strlen(c->key->record), &key);
	if (e != DKIM_OK)
		die("the %s key record: %s", c->key->label, dkim_err_text(e));
	dkim_key_free(&key);
}

/* The DKIM-Signature field alone (as the milter does, into an arena). */
static void op_sig_parse(struct bench_case *c)
{
	struct arena *a = arena_new();
	struct dkim_sig *sig;
	const struct dkim_field *f = &c->msg->fields[0];
	enum dkim_err e = dkim_sig_parse(a, f->value.p, f->value.len, &sig);
	if (e != DKIM_OK)
		die("the %s signature: %s", c->key->label, dkim_err_text(e));
	arena_free(&a);
}

/* The header hash dkim_verify computes (canonicalized fields + SHA-256). */
static void op_header_hash(struct bench_case *c)
{
	uint8_t out[DKIM_HASH_MAX];
	dkim_header_hash(c->sig_parsed, c->msg->fields, c->msg->n_fields, 0, out);
}

static void op_bodyhash(struct bench_case *c)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(DKIM_CANON_RELAXED, DKIM_HASH_SHA256,
						     false, 0);
	feed_body(bh, c->msg);
	uint8_t out[DKIM_HASH_MAX];
	dkim_bodyhash_final(bh, out);
	dkim_bodyhash_free(&bh);
}

static void op_sha256(struct bench_case *c)
{
	uint8_t out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_Digest(c->msg->body, c->msg->body_len, out, &len,
		       dkim_hash_md(DKIM_HASH_SHA256), NULL) != 1)
		die("EVP_Digest failed");
}

/* ---- setup and report ---- */

/* Signs the message once and puts the signature in as field [0]. */
static void presign(struct arena *a, struct bench_case *c, struct message *m)
{
	struct buf value;
	buf_init(&value, 0);
	sign_message(c, &value);
	m->fields[0].name = slice_cstr("DKIM-Signature");
	m->fields[0].value = slice_make(arena_memdup(a, value.p, value.len), value.len);
	buf_free(&value);
	enum dkim_err e = dkim_sig_parse(a, m->fields[0].value.p, m->fields[0].value.len,
					 &c->sig_parsed);
	if (e == DKIM_OK)
		e = verify_message(c);
	if (e != DKIM_OK)
		die("the message signed with the %s key does not verify: %s", c->key->label,
		    dkim_err_text(e));
}

/* A fixed header hash and its signature, for the crypto-only operations. */
static void prepare_crypto(struct bench_case *c)
{
	for (size_t i = 0; i < sizeof(c->hash); i++)
		c->hash[i] = (uint8_t)(i * 7 + 1);
	if (dkim_sign_digest(c->key->priv, c->hash, sizeof(c->hash), c->sig, &c->sig_len)
	    != DKIM_OK)
		die("dkim_sign_digest with the %s key failed", c->key->label);
	enum dkim_err e = dkim_key_parse(c->key->record, strlen(c->key->record), &c->pub);
	if (e != DKIM_OK)
		die("the %s key record: %s", c->key->label, dkim_err_text(e));
	if (c->pub->type != c->key->priv->type || !crypto_verify(c))
		die("the %s key record does not hold the private key's public half",
		    c->key->label);
}

/* One output line: op key size ops cpu_s wall_s ops/cpu-s us/op ops/wall-s share */
static void report(const char *op, const char *key, size_t size, struct measure m,
		   double crypto_us)
{
	double cpu = m.cpu > 0 ? m.cpu : m.wall;
	double us = cpu * 1e6 / (double)m.ops;
	printf("%s\t%s\t%zu\t%llu\t%.3f\t%.3f\t%.1f\t%.2f\t%.1f\t", op, key, size,
	       (unsigned long long)m.ops, m.cpu, m.wall, (double)m.ops / cpu, us,
	       (double)m.ops / m.wall);
	if (crypto_us > 0)
		printf("%.3f\n", crypto_us / us);
	else
		printf("-\n");
	fflush(stdout);
}

static double crypto_us_of(struct measure m)
{
	return (m.cpu > 0 ? m.cpu : m.wall) * 1e6 / (double)m.ops;
}

static void bench_key(const struct options *o, const struct bench_key *k,
		      struct message *msgs)
{
	struct bench_case c = { .key = k, .now = (uint64_t)time(NULL), .msg = &msgs[0] };
	c.keys = dkim_keycache_new(16);
	prepare_crypto(&c);
	struct measure cs = run_timed(op_crypto_sign, &c, o);
	report("crypto-sign", k->label, 0, cs, 0);
	struct measure cv = run_timed(op_crypto_verify, &c, o);
	report("crypto-verify", k->label, 0, cv, 0);
	dkim_key_free(&c.pub);
	report("key-parse", k->label, 0, run_timed(op_key_parse, &c, o), 0);
	for (size_t i = 0; i < o->n_sizes; i++) {
		struct arena *a = arena_new();
		c.msg = &msgs[i];
		presign(a, &c, &msgs[i]);
		/* The field does not depend on the body size: once is enough. */
		if (i == 0) {
			report("sig-parse", k->label, 0, run_timed(op_sig_parse, &c, o), 0);
			report("header-hash", k->label, 0, run_timed(op_header_hash, &c, o), 0);
		}
		report("verify-new", k->label, o->sizes[i], run_timed(op_verify_new, &c, o),
		       crypto_us_of(cv));
		report("verify", k->label, o->sizes[i], run_timed(op_verify, &c, o),
		       crypto_us_of(cv));
		report("sign", k->label, o->sizes[i], run_timed(op_sign, &c, o),
		       crypto_us_of(cs));
		arena_free(&a);
	}
	dkim_keycache_free(&c.keys);
}

static char *read_record(const char *arg)
{
	if (arg[0] != '@')
		return xstrdup(arg);
	FILE *fp = fopen(arg + 1, "r");
	if (fp == NULL)
		die("%s: %s", arg + 1, strerror(errno));
	char *text = xmalloc(BENCH_RECORD_MAX + 1);
	size_t n = fread(text, 1, BENCH_RECORD_MAX, fp);
	bool bad = ferror(fp) || !feof(fp);
	fclose(fp);
	if (bad)
		die("%s: unreadable or over %d bytes", arg + 1, BENCH_RECORD_MAX);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	text[n] = '\0';
	return text;
}

static double parse_seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end != '\0' || !(v >= 0 && v <= 3600))
		die("'%s' is not a number of seconds (0 to 3600)", s);
	return v;
}

/* "4096,102400" or "4k,100k". */
static void parse_sizes(const char *s, struct options *o)
{
	o->n_sizes = 0;
	while (*s != '\0') {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		if (end == s || errno != 0)
			die("bad size list '%s'", s);
		if (*end == 'k' || *end == 'K') {
			v *= 1024;
			end++;
		}
		if (v == 0 || v > BENCH_SIZE_MAX || o->n_sizes == BENCH_SIZES_MAX)
			die("sizes: up to %d sizes of 1 to %zu bytes", BENCH_SIZES_MAX,
			    BENCH_SIZE_MAX);
		o->sizes[o->n_sizes++] = (size_t)v;
		if (*end == ',')
			end++;
		else if (*end != '\0')
			die("bad size list '%s'", s);
		s = end;
	}
	if (o->n_sizes == 0)
		die("no sizes given");
}

static void usage(void)
{
	fputs("usage: dkim_bench [-t SECONDS] [-w SECONDS] [-s SIZE,...] "
	      "LABEL KEY.pem RECORD [LABEL KEY.pem RECORD]...\n"
	      "  RECORD is the DNS key record text, or @FILE holding it.\n"
	      "  Defaults: -t 2 -w 0.3 -s 4k,100k.\n", stderr);
	exit(2);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	o->seconds = 2;
	o->warmup = 0.3;
	o->sizes[0] = 4 * 1024;
	o->sizes[1] = 100 * 1024;
	o->n_sizes = 2;
	int ch;
	while ((ch = getopt(argc, argv, "t:w:s:")) != -1) {
		switch (ch) {
		case 't':
			o->seconds = parse_seconds(optarg);
			break;
		case 'w':
			o->warmup = parse_seconds(optarg);
			break;
		case 's':
			parse_sizes(optarg, o);
			break;
		default:
			usage();
		}
	}
	int left = argc - optind;
	if (left == 0 || left % 3 != 0 || left / 3 > BENCH_KEYS_MAX)
		usage();
	return left / 3;
}

int main(int argc, char **argv)
{
	struct options o;
	int n_keys = parse_args(argc, argv, &o);
	struct bench_key keys[BENCH_KEYS_MAX];
	for (int i = 0; i < n_keys; i++) {
		char **arg = argv + optind + 3 * i;
		char *err = NULL;
		keys[i].label = arg[0];
		keys[i].priv = dkim_privkey_load_file(arg[1], true, &err);
		if (keys[i].priv == NULL)
			die("%s", err);
		keys[i].record = read_record(arg[2]);
		/* A mismatched key and record stop the run before any timing. */
		struct bench_case check = { .key = &keys[i] };
		prepare_crypto(&check);
		dkim_key_free(&check.pub);
	}
	struct arena *a = arena_new();
	struct message msgs[BENCH_SIZES_MAX];
	for (size_t i = 0; i < o.n_sizes; i++)
		make_message(a, o.sizes[i], &msgs[i]);

	printf("# dkim_bench: %g s per figure after %g s warm-up, one thread; "
	       "rates per CPU-second\n", o.seconds, o.warmup);
	printf("# op\tkey\tsize\tops\tcpu_s\twall_s\tops_per_s\tus_per_op\t"
	       "wall_ops_per_s\tcrypto_share\n");
	for (size_t i = 0; i < o.n_sizes; i++) {
		struct bench_case c = { .msg = &msgs[i] };
		printf("# message %zu: %zu header fields, body %zu bytes\n", o.sizes[i],
		       msgs[i].n_fields - 1, msgs[i].body_len);
		struct measure canon, raw;
		run_pair(op_bodyhash, op_sha256, &c, &o, &canon, &raw);
		report("bodyhash", "relaxed", o.sizes[i], canon, 0);
		report("sha256", "raw", o.sizes[i], raw, 0);
	}
	for (int i = 0; i < n_keys; i++)
		bench_key(&o, &keys[i], msgs);

	for (int i = 0; i < n_keys; i++) {
		dkim_privkey_free(&keys[i].priv);
		free(keys[i].record);
	}
	arena_free(&a);
	return 0;
}
