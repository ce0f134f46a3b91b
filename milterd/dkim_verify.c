/*
 * The dkim_verify check: every DKIM-Signature of a message (up to
 * MaximumSignaturesToVerify) gets its own dkim= result in
 * Authentication-Results (RFC 8601 2.7.1), with header.d, header.i,
 * header.s, header.a and header.b (RFC 6008: the first 8 characters of b=)
 * and the key's type and size as a comment.
 *
 * Work starts as soon as its inputs exist: signatures are parsed and their
 * key lookups started at end of header, all in flight together; the body is
 * hashed as it streams, one running hash per distinct (canonicalization,
 * hash, l=) shared by the signatures that use it; end of message only waits
 * for the keys and checks.  Parsed keys are kept for the TTL of their DNS
 * answer (lib/mail/dkim_keycache.h), so the next message from a sender
 * costs the signature check, not the key's decoding.
 *
 * Results: pass; fail with reason "body hash did not verify" or "signature
 * did not verify"; permerror for syntax, missing or revoked keys, unsupported
 * algorithms (rsa-sha1, RFC 8301), expired or future signatures (RFC 6376
 * 6.1.1); temperror when the key lookup failed temporarily; policy when
 * the signature verifies but is not acceptable here: an RSA key below
 * MinimumKeyBits, or l= shorter than the body (RFC 6376 8.2: content after
 * l= is unsigned, so the signature must not vouch for the message).  A
 * signature that fails under a key in testing mode (t=y) is fail like any
 * other: RFC 8601 2.7.1 defines fail for a signature that did not verify,
 * and t=y changes what a receiver does with that (RFC 6376 3.6.1: treat
 * the message as unsigned), not the result; the comment says "in testing
 * mode" so the reader of the header knows.
 * A message without signatures gets dkim=none.
 *
 * With the configuration's `explain` (cachet check, never the milter),
 * each typed result also carries why (struct dkim_sig_explain): h=, the
 * key's name and what the lookup found, the key record's problems in the
 * words of dkim_keycheck (lib/mail/dkim_publish.c), and for a signature
 * that does not verify whether the body changed, a signed header field
 * changed, or the published key is not the one that signed
 * (dkim_verify_diagnose).  That work is done only then, after the verdict.
 */
#include "dkim_verify.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "dkim_fields.h"
#include "dkim_keycache.h"
#include "dns.h"
#include "log.h"
#include "pipeline.h"
#include "xalloc.h"

#define KEY_NAME_MAX 300
/* parsed key records kept per snapshot (see lib/mail/dkim_keycache.h) */
#define KEY_CACHE_ENTRIES 2000

/* What every message of a snapshot shares. */
struct verify_data {
	struct dkim_keycache *keys;
};

struct sig_state {
	size_t header_index;		/* in m->headers */
	struct dkim_sig *sig;
	enum dkim_err err;		/* parse or time error, else DKIM_OK */
	struct dns_lookup *lookup;	/* the key, while in flight */
	struct dkim_bodyhash *body;	/* shared; owned by verify_state */
};

struct verify_state {
	const struct dkim_verify_options *opts;
	struct dkim_keycache *keys;
	struct sig_state *sigs;
	size_t n_sigs, cap;
	size_t ignored;			/* signatures beyond the cap */
	struct dkim_bodyhash **bodies;
	size_t n_bodies;
	struct dkim_verify_result result;
	struct dkim_sig_result *results;	/* one per signature */
};

static const struct conffile_bounds max_signatures_bounds = { 1, 64 };
/* RFC 8301 3.2: keys under 1024 bits never verify, whatever is configured */
static const struct conffile_bounds key_bits_bounds = { 1024, 8192 };
static const struct conffile_bounds clock_skew_bounds = { 0, 86400000 };

#define OPT(name, type, def, field, extra)                                      \
	CONFFILE_OPT(struct dkim_verify_options, name, type, def, field, extra)

static const struct conffile_option verify_option_table[] = {
	OPT("MaximumSignaturesToVerify", &conffile_uint, "8", max_signatures,
	    &max_signatures_bounds),
	OPT("MinimumKeyBits", &conffile_uint, "1024", minimum_key_bits, &key_bits_bounds),
	OPT("ClockSkew", &conffile_duration, "300s", clock_skew_ms, &clock_skew_bounds),
};

static const struct conffile_schema verify_options = {
	verify_option_table, ARRAY_LEN(verify_option_table), sizeof(struct dkim_verify_options),
};

static bool verify_enabled(const struct config *cfg, const void *opts)
{
	(void)opts;
	return (cfg->mode & MODE_VERIFY) != 0;
}

static int verify_setup(const struct config *cfg, const void *opts, void **data_r,
			char **error_r)
{
	(void)cfg;
	(void)opts;
	(void)error_r;
	struct verify_data *d = xcalloc(1, sizeof(*d));
	d->keys = dkim_keycache_new(KEY_CACHE_ENTRIES);
	*data_r = d;
	return 0;
}

static void verify_teardown(void *data)
{
	struct verify_data *d = data;
	dkim_keycache_free(&d->keys);
	free(d);
}

/*
 * Inbound mail is verified; internal mail too when this host does not sign
 * (Mode v), since nothing else would look at its signatures.
 */
static int verify_begin(struct msg *m, struct check_ctx *cx)
{
	if (m->internal && (m->cfg->mode & MODE_SIGN))
		return 0;
	struct verify_state *st = arena_alloc(m->arena, sizeof(*st));
	st->opts = cx->opts;
	st->keys = ((struct verify_data *)cx->data)->keys;
	st->cap = st->opts->max_signatures;
	st->sigs = arena_alloc_array(m->arena, st->cap, sizeof(*st->sigs));
	st->results = arena_alloc_array(m->arena, st->cap, sizeof(*st->results));
	cx->state = st;
	return 1;
}

static int verify_header(struct msg *m, struct check_ctx *cx, const struct msg_header *h)
{
	struct verify_state *st = cx->state;
	if (strcasecmp(h->name, "DKIM-Signature") != 0)
		return 0;
	if (st->n_sigs == st->cap) {
		st->ignored++;
		return 0;
	}
	st->sigs[st->n_sigs++].header_index = m->headers.n - 1;
	return 0;
}

/* The running body hash this signature needs, shared where possible. */
static struct dkim_bodyhash *body_for(struct msg *m, struct verify_state *st,
				      const struct dkim_sig *sig)
{
	enum dkim_hash hash = dkim_alg_hash(sig->alg);
	for (size_t i = 0; i < st->n_bodies; i++)
		if (dkim_bodyhash_same(st->bodies[i], sig->canon_body, hash, sig->has_l, sig->l))
			return st->bodies[i];
	if (st->bodies == NULL)
		st->bodies = arena_alloc_array(m->arena, st->cap, sizeof(*st->bodies));
	struct dkim_bodyhash *bh = dkim_bodyhash_new(sig->canon_body, hash, sig->has_l, sig->l);
	st->bodies[st->n_bodies++] = bh;
	return bh;
}

static void start_signature(struct msg *m, struct verify_state *st, struct sig_state *s)
{
	const struct msg_header *h = &m->headers.v[s->header_index];
	s->err = dkim_sig_parse(m->arena, h->value, h->value_len, &s->sig);
	if (s->err == DKIM_OK)
		s->err = dkim_sig_check_time(s->sig, (uint64_t)m->now,
					     st->opts->clock_skew_ms / 1000);
	if (s->err != DKIM_OK)
		return;
	char name[KEY_NAME_MAX];
	snprintf(name, sizeof(name), "%s._domainkey.%s", s->sig->s, s->sig->d);
	s->lookup = dns_lookup_start(m->rt->dns, name, DNS_T_TXT);
	s->body = body_for(m, st, s->sig);
}

static int verify_eoh(struct msg *m, struct check_ctx *cx)
{
	struct verify_state *st = cx->state;
	if (st->ignored > 0)
		log_msg(LOG_NOTICE, m->qid, "dkim: %zu signatures beyond "
			"MaximumSignaturesToVerify (%zu) not checked", st->ignored, st->cap);
	for (size_t i = 0; i < st->n_sigs; i++)
		start_signature(m, st, &st->sigs[i]);
	return 0;
}

static int verify_body(struct msg *m, struct check_ctx *cx, const uint8_t *data, size_t len)
{
	(void)m;
	struct verify_state *st = cx->state;
	for (size_t i = 0; i < st->n_bodies; i++)
		dkim_bodyhash_update(st->bodies[i], data, len);
	return 0;
}

/* header.b: the first 8 characters of b= (RFC 6008), FWS removed. */
static char *b_prefix(struct arena *a, const struct dkim_sig *sig)
{
	char *out = arena_alloc(a, 9);
	size_t n = 0;
	for (size_t i = sig->b_cut; i < sig->b_end && n < 8; i++) {
		char c = sig->raw[i];
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			out[n++] = c;
	}
	return out;
}

/* Adds the dkim= result of one signature, and its typed result (returned). */
static struct dkim_sig_result *report(struct msg *m, struct verify_state *st,
				      const struct sig_state *s, const char *result,
				      const char *reason, const struct dkim_key *key)
{
	struct ar_result r = { .method = "dkim", .result = result, .reason = reason };
	const struct dkim_sig *sig = s->sig;
	struct dkim_sig_result *t = &st->results[st->result.n++];
	t->domain = sig != NULL ? sig->d : NULL;
	t->selector = sig != NULL ? sig->s : NULL;
	t->result = result;
	t->reason = reason != NULL ? arena_strdup(m->arena, reason) : NULL;
	if (sig != NULL && sig->d != NULL)
		r.props = arena_printf(m->arena, "header.d=%s%s%s header.s=%s header.a=%s "
					"header.b=%s", sig->d, sig->i ? " header.i=" : "",
					sig->i ? sig->i : "", sig->s ? sig->s : "",
					dkim_alg_name(sig->alg), b_prefix(m->arena, sig));
	if (key != NULL)
		r.comment = arena_printf(m->arena, "%d-bit %s key%s", key->bits,
					 dkim_key_type_name(key->type),
					 key->testing ? " in testing mode, t=y" : "");
	verdict_add_result(m->arena, &m->verdict, &r);
	log_msg(LOG_DEBUG, m->qid, "dkim: d=%s s=%s %s%s%s",
		sig != NULL && sig->d ? sig->d : "?", sig != NULL && sig->s ? sig->s : "?",
		result, reason ? ": " : "", reason ? reason : "");
	return t;
}

/* ---- why (cachet check: the configuration's explain) ---- */

const char *dkim_why_name(enum dkim_why w)
{
	static const char *const names[] = {
		[DKIM_WHY_PASS] = "pass", [DKIM_WHY_SIGNATURE_SYNTAX] = "signature syntax",
		[DKIM_WHY_TIME] = "signature time", [DKIM_WHY_KEY_TEMP] = "key lookup failed",
		[DKIM_WHY_NO_KEY] = "no key", [DKIM_WHY_KEY_SYNTAX] = "key record unusable",
		[DKIM_WHY_KEY_UNFIT] = "key unfit", [DKIM_WHY_BODY_CHANGED] = "body changed",
		[DKIM_WHY_HEADER_CHANGED] = "header changed",
		[DKIM_WHY_KEY_MISMATCH] = "key mismatch",
		[DKIM_WHY_SIGNATURE] = "signature mismatch", [DKIM_WHY_POLICY] = "policy",
		[DKIM_WHY_INTERNAL] = "internal error",
	};
	return (size_t)w < ARRAY_LEN(names) ? names[w] : "internal error";
}

static char *base64_of(struct arena *a, const uint8_t *p, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	dkim_base64_encode(p, n, &b);
	char *r = arena_strdup(a, b.p);
	buf_free(&b);
	return r;
}

/* What the signature says about itself, and what its key lookup found. */
static struct dkim_sig_explain *explain_new(struct msg *m, const struct sig_state *s,
					    enum dkim_why why)
{
	struct dkim_sig_explain *x = arena_alloc(m->arena, sizeof(*x));
	x->why = why;
	const struct dkim_sig *sig = s->sig;
	if (sig == NULL)
		return x;
	if (sig->alg != DKIM_ALG_UNKNOWN)
		x->algorithm = dkim_alg_name(sig->alg);
	x->canon = arena_printf(m->arena, "%s/%s", dkim_canon_name(sig->canon_header),
				dkim_canon_name(sig->canon_body));
	x->auid = sig->i;
	x->headers = sig->h;
	x->n_headers = sig->h_count;
	x->has_t = sig->has_t;
	x->t = sig->t;
	x->has_x = sig->has_x;
	x->x = sig->x;
	x->has_l = sig->has_l;
	x->l = sig->l;
	if (sig->bh != NULL)
		x->body_hash = base64_of(m->arena, sig->bh, sig->bh_len);
	if (sig->d != NULL && sig->s != NULL)
		x->key_name = arena_printf(m->arena, "%s._domainkey.%s", sig->s, sig->d);
	if (s->lookup == NULL)
		return x;
	const struct dns_answer *a = dns_lookup_wait(s->lookup);
	x->key_status = dns_status_name(a->status);
	x->key_records = a->status == DNS_OK ? a->count : 0;
	if (x->key_records > 0)
		x->key_record = arena_memdup(m->arena, a->rr[0].u.txt.data, a->rr[0].u.txt.len);
	if (why == DKIM_WHY_KEY_SYNTAX || why == DKIM_WHY_KEY_UNFIT) {
		/* the words cachet doctor and cachet-keys use for the same record */
		struct dkim_keycheck kc;
		dkim_keycheck_answer(a, &kc);
		const char **p = arena_alloc_array(m->arena, kc.n_problems + 1, sizeof(*p));
		for (size_t i = 0; i < kc.n_problems; i++)
			p[i] = arena_strdup(m->arena, kc.problem[i]);
		x->key_problems = p;
		x->n_key_problems = kc.n_problems;
		dkim_keycheck_clear(&kc);
	}
	return x;
}

static void explain_key(struct dkim_sig_explain *x, const struct dkim_key *key)
{
	x->key_bits = key->bits;
	x->key_type = dkim_key_type_name(key->type);
	x->key_testing = key->testing;
}

/* What a signature error means, in one word. */
static enum dkim_why why_of(enum dkim_err e)
{
	switch (e) {
	case DKIM_OK:
		return DKIM_WHY_PASS;
	case DKIM_ERR_EXPIRED:
	case DKIM_ERR_FUTURE:
		return DKIM_WHY_TIME;
	case DKIM_ERR_KEY_SYNTAX:
	case DKIM_ERR_KEY_VERSION:
	case DKIM_ERR_KEY_MISSING_P:
	case DKIM_ERR_KEY_REVOKED:
	case DKIM_ERR_KEY_TYPE:
	case DKIM_ERR_KEY_DECODE:
	case DKIM_ERR_KEY_SERVICE:
		return DKIM_WHY_KEY_SYNTAX;
	case DKIM_ERR_KEY_HASH:
	case DKIM_ERR_KEY_ALG_MISMATCH:
	case DKIM_ERR_KEY_STRICT:
	case DKIM_ERR_KEY_TOO_SHORT:
	case DKIM_ERR_KEY_TOO_LONG:
		return DKIM_WHY_KEY_UNFIT;
	case DKIM_ERR_BODY_HASH:
		return DKIM_WHY_BODY_CHANGED;
	case DKIM_ERR_SIGNATURE:
		return DKIM_WHY_SIGNATURE;
	case DKIM_ERR_INTERNAL:
	case DKIM_ERR_PRIVKEY:
		return DKIM_WHY_INTERNAL;
	default:
		return DKIM_WHY_SIGNATURE_SYNTAX;
	}
}

/* A signature checked with its key: what the verification's answer means. */
static struct dkim_sig_explain *explain_verified(struct msg *m, const struct sig_state *s,
						 enum dkim_err e, const struct dkim_key *key,
						 bool policy, const struct dkim_field *f, size_t n)
{
	enum dkim_why why = policy ? DKIM_WHY_POLICY : why_of(e);
	enum dkim_diag d = DKIM_DIAG_UNKNOWN;
	if (e == DKIM_ERR_SIGNATURE || e == DKIM_ERR_BODY_HASH)
		d = dkim_verify_diagnose(s->sig, key, f, n, s->header_index);
	if (e == DKIM_ERR_SIGNATURE)
		why = d == DKIM_DIAG_HEADERS	 ? DKIM_WHY_HEADER_CHANGED
		      : d == DKIM_DIAG_OTHER_KEY ? DKIM_WHY_KEY_MISMATCH
						 : DKIM_WHY_SIGNATURE;
	struct dkim_sig_explain *x = explain_new(m, s, why);
	explain_key(x, key);
	if (s->body != NULL && e != DKIM_OK && why != DKIM_WHY_KEY_UNFIT) {
		uint8_t bh[DKIM_HASH_MAX];
		size_t len = dkim_bodyhash_final(s->body, bh);
		x->body_length = dkim_bodyhash_length(s->body);
		if (e == DKIM_ERR_BODY_HASH) {
			x->body_hash_computed = base64_of(m->arena, bh, len);
			x->headers_verify = d == DKIM_DIAG_VERIFIES;
			x->other_key = d == DKIM_DIAG_OTHER_KEY;
		}
	} else if (s->body != NULL && e == DKIM_OK) {
		x->body_length = dkim_bodyhash_length(s->body);
	}
	return x;
}

/* The key record, or the result that ends the signature. */
static struct dkim_key *fetch_key(struct msg *m, struct verify_state *st, struct sig_state *s)
{
	const struct dns_answer *a = dns_lookup_wait(s->lookup);
	if (dns_status_temporary(a->status)) {
		report(m, st, s, "temperror", arena_printf(m->arena, "key lookup: %s",
						       dns_status_name(a->status)), NULL);
		return NULL;
	}
	if (a->status != DNS_OK) {
		report(m, st, s, "permerror", "no key for signature", NULL);
		return NULL;
	}
	/* RFC 6376 3.6.2.2: one key record expected; the first one is used */
	struct dkim_key *key = NULL;
	enum dkim_err e = dkim_keycache_parse(st->keys, a->rr[0].u.txt.data, a->rr[0].u.txt.len,
					      a->ttl, &key);
	if (e != DKIM_OK) {
		report(m, st, s, dkim_err_result(e), dkim_err_text(e), NULL);
		return NULL;
	}
	return key;
}

static void finish_signature(struct msg *m, struct verify_state *st, struct sig_state *s,
			     const struct dkim_field *f, size_t n)
{
	bool explain = m->cfg->explain;
	struct dkim_sig_result *r;
	if (s->err != DKIM_OK) {
		r = report(m, st, s, dkim_err_result(s->err), dkim_err_text(s->err), NULL);
		if (explain)
			r->explain = explain_new(m, s, why_of(s->err));
		return;
	}
	size_t before = st->result.n;
	struct dkim_key *key = fetch_key(m, st, s);
	if (key == NULL) {
		/* fetch_key reported it */
		if (explain && st->result.n > before) {
			const struct dns_answer *a = dns_lookup_wait(s->lookup);
			enum dkim_why why = dns_status_temporary(a->status) ? DKIM_WHY_KEY_TEMP
					    : a->status != DNS_OK	       ? DKIM_WHY_NO_KEY
									       : DKIM_WHY_KEY_SYNTAX;
			st->results[before].explain = explain_new(m, s, why);
		}
		return;
	}
	enum dkim_err e = dkim_verify(s->sig, key, f, n, s->header_index, s->body);
	unsigned min_bits = st->opts->minimum_key_bits;
	bool policy = false;
	if (e != DKIM_OK) {
		r = report(m, st, s, dkim_err_result(e), dkim_err_text(e), key);
	} else if (key->type == DKIM_KEY_RSA && (unsigned)key->bits < min_bits) {
		r = report(m, st, s, "policy", arena_printf(m->arena, "key shorter than %u bits",
							min_bits), key);
		policy = true;
	} else if (dkim_bodyhash_truncated(s->body)) {
		r = report(m, st, s, "policy", "l= does not cover the whole body", key);
		policy = true;
	} else {
		r = report(m, st, s, "pass", NULL, key);
	}
	if (explain)
		r->explain = explain_verified(m, s, e, key, policy, f, n);
	dkim_key_free(&key);
}

static int verify_eom(struct msg *m, struct check_ctx *cx)
{
	struct verify_state *st = cx->state;
	st->result.sigs = st->results;
	cx->result = &st->result;
	if (st->n_sigs == 0) {
		struct ar_result r = { .method = "dkim", .result = "none",
				       .comment = "message not signed" };
		verdict_add_result(m->arena, &m->verdict, &r);
		return 0;
	}
	const struct dkim_field *f = dkim_fields_of(m->arena, m->headers.v, m->headers.n);
	for (size_t i = 0; i < st->n_sigs; i++)
		finish_signature(m, st, &st->sigs[i], f, m->headers.n);
	return 0;
}

static void verify_end(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	struct verify_state *st = cx->state;
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n_sigs; i++)
		dns_lookup_free(&st->sigs[i].lookup);
	for (size_t i = 0; i < st->n_bodies; i++)
		dkim_bodyhash_free(&st->bodies[i]);
}

const struct check check_dkim_verify = {
	.name = DKIM_VERIFY_CHECK,
	.options = &verify_options,
	.enabled = verify_enabled,
	.setup = verify_setup,
	.teardown = verify_teardown,
	.msg_begin = verify_begin,
	.header = verify_header,
	.eoh = verify_eoh,
	.body = verify_body,
	.eom = verify_eom,
	.msg_end = verify_end,
};
