/*
 * DKIM header hashing, verification and signing (RFC 6376 3.7, 5, 6.1.3;
 * RFC 8463 3 for Ed25519).
 *
 * The header hash is computed here with SHA-256 and the signature made or
 * checked over that digest: for RSA, PKCS#1 v1.5 with the SHA-256
 * DigestInfo (EVP_PKEY_verify/sign with the signature md set, the same
 * bytes EVP_DigestVerify with SHA-256 would check); for Ed25519, PureEdDSA
 * over the 32 digest bytes, as RFC 8463 specifies.  OpenSSL failures on
 * hostile data (a b= of the wrong size) are signature failures; the error
 * queue is always cleared so no thread inherits stale errors.
 */
#include "dkim.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "compiler.h"
#include "xalloc.h"

#define FOLD_WIDTH 78
#define SIG_FIELD_NAME "DKIM-Signature"

static EVP_MD_CTX *sha256_begin(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ASSERT(md != NULL);
	ASSERT(EVP_DigestInit_ex(md, dkim_hash_md(DKIM_HASH_SHA256), NULL) == 1);
	return md;
}

static size_t sha256_end(EVP_MD_CTX *md, uint8_t out[DKIM_HASH_MAX])
{
	unsigned int len = 0;
	ASSERT(EVP_DigestFinal_ex(md, out, &len) == 1);
	EVP_MD_CTX_free(md);
	return len;
}

static void hash_buf(EVP_MD_CTX *md, const struct buf *b)
{
	ASSERT(EVP_DigestUpdate(md, b->p, b->len) == 1);
}

/*
 * RFC 6376 5.4.2: each listed name takes the last instance not yet taken;
 * a name listed more often than present contributes nothing.  The field at
 * skip (the signature itself) is never taken.
 */
static void hash_selected(EVP_MD_CTX *md, enum dkim_canon c, const char *const *h,
			  size_t h_count, const struct dkim_field *fields, size_t count,
			  size_t skip, struct buf *tmp)
{
	bool *used = xcalloc(count + 1, sizeof(*used));
	if (skip < count)
		used[skip] = true;
	/* every selected field into one buffer, hashed once */
	buf_reset(tmp);
	for (size_t k = 0; k < h_count; k++) {
		for (size_t j = count; j-- > 0;) {
			if (used[j] || !dkim_field_is(&fields[j], h[k]))
				continue;
			used[j] = true;
			dkim_canon_header(c, &fields[j], true, tmp);
			break;
		}
	}
	hash_buf(md, tmp);
	free(used);
}

/* The signature field itself, canonicalized, without its CRLF. */
static void hash_sig_field(EVP_MD_CTX *md, enum dkim_canon c, struct slice name,
			   struct slice value, struct buf *tmp)
{
	struct dkim_field f = { name, value };
	buf_reset(tmp);
	dkim_canon_header(c, &f, false, tmp);
	hash_buf(md, tmp);
}

size_t dkim_header_hash(const struct dkim_sig *sig, const struct dkim_field *fields,
			size_t count, size_t sig_index, uint8_t out[DKIM_HASH_MAX])
{
	ASSERT(sig_index < count && sig->b_cut <= sig->b_end && sig->b_end <= sig->raw_len);
	struct buf tmp, value;
	buf_init(&tmp, 0);
	buf_init(&value, 0);
	EVP_MD_CTX *md = sha256_begin();
	hash_selected(md, sig->canon_header, sig->h, sig->h_count, fields, count,
		      sig_index, &tmp);
	/* RFC 6376 3.7 step 2.2: the value with b='s value cut out. */
	buf_append(&value, sig->raw, sig->b_cut);
	buf_append(&value, sig->raw + sig->b_end, sig->raw_len - sig->b_end);
	hash_sig_field(md, sig->canon_header, fields[sig_index].name,
		       slice_make(value.p, value.len), &tmp);
	buf_free(&tmp);
	buf_free(&value);
	return sha256_end(md, out);
}

static enum dkim_err verify_digest(const struct dkim_key *key, const uint8_t *hash,
				   size_t hash_len, const uint8_t *sig, size_t sig_len)
{
	int r;
	if (key->type == DKIM_KEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (md == NULL)
			return DKIM_ERR_INTERNAL;
		r = EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, key->pkey, NULL);
		if (r == 1)
			r = EVP_DigestVerify(md, sig, sig_len, hash, hash_len) == 1 ? 1 : 0;
		else
			r = -1;
		EVP_MD_CTX_free(md);
	} else if (key->verify != NULL) {
		r = EVP_PKEY_verify(key->verify, sig, sig_len, hash, hash_len) == 1 ? 1 : 0;
	} else {
		r = -1;		/* OpenSSL would not make the key's context (dkim_key.c) */
	}
	ERR_clear_error();
	if (r < 0)
		return DKIM_ERR_INTERNAL;
	return r == 1 ? DKIM_OK : DKIM_ERR_SIGNATURE;
}

enum dkim_err dkim_verify(const struct dkim_sig *sig, const struct dkim_key *key,
			  const struct dkim_field *fields, size_t count,
			  size_t sig_index, struct dkim_bodyhash *body)
{
	enum dkim_err e = dkim_key_check_sig(key, sig);
	if (e != DKIM_OK)
		return e;
	ASSERT(dkim_bodyhash_same(body, sig->canon_body, dkim_alg_hash(sig->alg),
				  sig->has_l, sig->l));
	uint8_t bh[DKIM_HASH_MAX], hh[DKIM_HASH_MAX];
	size_t bh_len = dkim_bodyhash_final(body, bh);
	/* RFC 6376 6.1.3: a body hash mismatch fails before the crypto. */
	if (bh_len != sig->bh_len || CRYPTO_memcmp(bh, sig->bh, bh_len) != 0)
		return DKIM_ERR_BODY_HASH;
	size_t hh_len = dkim_header_hash(sig, fields, count, sig_index, hh);
	return verify_digest(key, hh, hh_len, sig->b, sig->b_len);
}

/* RFC 8017 9.2 note 1: the DER DigestInfo prefix of a SHA-256 digest. */
static const uint8_t sha256_digest_info[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
};

enum dkim_diag dkim_verify_diagnose(const struct dkim_sig *sig, const struct dkim_key *key,
				    const struct dkim_field *fields, size_t count,
				    size_t sig_index)
{
	uint8_t hh[DKIM_HASH_MAX];
	size_t hh_len = dkim_header_hash(sig, fields, count, sig_index, hh);
	if (verify_digest(key, hh, hh_len, sig->b, sig->b_len) == DKIM_OK)
		return DKIM_DIAG_VERIFIES;
	if (key->type != DKIM_KEY_RSA)
		return DKIM_DIAG_UNKNOWN;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (ctx == NULL)
		return DKIM_DIAG_UNKNOWN;
	uint8_t out[DKIM_SIG_BYTES_MAX];
	size_t out_len = sizeof(out);
	enum dkim_diag d = DKIM_DIAG_UNKNOWN;
	if (EVP_PKEY_verify_recover_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) {
		if (EVP_PKEY_verify_recover(ctx, out, &out_len, sig->b, sig->b_len) != 1)
			d = DKIM_DIAG_OTHER_KEY;	/* no valid padding: not this key */
		else if (out_len == sizeof(sha256_digest_info) + 32 &&
			 memcmp(out, sha256_digest_info, sizeof(sha256_digest_info)) == 0)
			d = DKIM_DIAG_HEADERS;
	}
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return d;
}

enum dkim_err dkim_sign_digest(const struct dkim_privkey *key, const uint8_t *hash,
			       size_t hash_len, uint8_t *sig_r, size_t *sig_len_r)
{
	int r;
	size_t len = DKIM_SIG_BYTES_MAX;
	if (key->type == DKIM_KEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (md == NULL)
			return DKIM_ERR_INTERNAL;
		r = EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, key->pkey, NULL) == 1 &&
		    EVP_DigestSign(md, sig_r, &len, hash, hash_len) == 1;
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
		if (ctx == NULL)
			return DKIM_ERR_INTERNAL;
		r = EVP_PKEY_sign_init(ctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(ctx, dkim_hash_md(DKIM_HASH_SHA256)) == 1 &&
		    EVP_PKEY_sign(ctx, sig_r, &len, hash, hash_len) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	ERR_clear_error();
	if (!r)
		return DKIM_ERR_PRIVKEY;
	*sig_len_r = len;
	return DKIM_OK;
}

const char **dkim_sign_select_headers(struct arena *a, const struct dkim_field *fields,
				      size_t count, const char *const *names,
				      size_t nnames, const char *const *oversign,
				      size_t noversign, size_t *count_r)
{
	size_t n = 0, cap = 16;
	const char **list = arena_alloc_array(a, cap, sizeof(*list));
	for (size_t k = 0; k < nnames; k++) {
		size_t times = 0;
		for (size_t j = 0; j < count; j++)
			if (dkim_field_is(&fields[j], names[k]))
				times++;
		for (size_t o = 0; o < noversign; o++)
			if (strcasecmp(oversign[o], names[k]) == 0) {
				times++;
				break;
			}
		if (n + times > cap) {
			size_t ncap = (n + times) * 2;
			const char **bigger = arena_alloc_array(a, ncap, sizeof(*bigger));
			memcpy(bigger, list, n * sizeof(*list));
			list = bigger;
			cap = ncap;
		}
		while (times-- > 0)
			list[n++] = names[k];
	}
	*count_r = n;
	return list;
}

/* Writes words into a field value, folding before FOLD_WIDTH columns. */
struct folder {
	struct buf *out;
	size_t col;
};

static void fold_word(struct folder *f, const char *w, size_t len, bool space)
{
	if (f->col + len + (space ? 1 : 0) > FOLD_WIDTH && f->col > 8) {
		buf_append(f->out, "\r\n\t", 3);
		f->col = 8;
	} else if (space) {
		buf_putc(f->out, ' ');
		f->col++;
	}
	buf_append(f->out, w, len);
	f->col += len;
}

static void fold_tag(struct folder *f, const char *tag, const char *value)
{
	struct buf w;
	buf_init(&w, 0);
	buf_printf(&w, "%s=%s;", tag, value);
	fold_word(f, w.p, w.len, f->out->len > 0);
	buf_free(&w);
}

/* h= folds after colons (RFC 6376 3.5 allows FWS around them). */
static void fold_h(struct folder *f, const char *const *h, size_t n)
{
	struct buf w;
	buf_init(&w, 0);
	for (size_t k = 0; k < n; k++) {
		buf_reset(&w);
		buf_printf(&w, "%s%s%s", k == 0 ? "h=" : "", h[k], k + 1 < n ? ":" : ";");
		fold_word(f, w.p, w.len, k == 0);
	}
	buf_free(&w);
}

/* Everything up to and including "b=", the part that is hashed. */
static void build_unsigned(const struct dkim_privkey *key, const struct dkim_sign_params *p,
			   const uint8_t *bh, size_t bh_len, struct buf *out)
{
	struct folder f = { out, sizeof(SIG_FIELD_NAME ": ") - 1 };
	char num[32];
	struct buf b64;
	buf_init(&b64, 0);
	fold_tag(&f, "v", "1");
	fold_tag(&f, "a", key->type == DKIM_KEY_ED25519 ? "ed25519-sha256" : "rsa-sha256");
	buf_printf(&b64, "%s/%s", dkim_canon_name(p->canon_header),
		   dkim_canon_name(p->canon_body));
	fold_tag(&f, "c", b64.p);
	fold_tag(&f, "d", p->domain);
	if (p->auid != NULL)
		fold_tag(&f, "i", p->auid);
	fold_tag(&f, "s", p->selector);
	if (p->has_t) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)p->t);
		fold_tag(&f, "t", num);
	}
	if (p->has_x) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)p->x);
		fold_tag(&f, "x", num);
	}
	fold_h(&f, p->h, p->h_count);
	buf_reset(&b64);
	dkim_base64_encode(bh, bh_len, &b64);
	fold_tag(&f, "bh", b64.p);
	/* b= on a line of its own: some verifiers mishandle a fold between
	   bh= and b= on one line (dkimpy does the same). */
	buf_append(out, "\r\n\tb=", 5);
	buf_free(&b64);
}

/* Appends the signature's base64, folded anywhere (RFC 6376 3.5 b=). */
static void append_b(struct buf *out, const uint8_t *sig, size_t sig_len)
{
	struct buf b64;
	buf_init(&b64, 0);
	dkim_base64_encode(sig, sig_len, &b64);
	/* Column of the end of out: bytes since the last LF (TAB as 8). */
	size_t col = sizeof(SIG_FIELD_NAME ": ") - 1;
	const char *nl = memrchr(out->p, '\n', out->len);
	if (nl != NULL)
		col = 8 + (size_t)(out->p + out->len - nl - 2);
	else
		col += out->len;
	size_t i = 0;
	while (i < b64.len) {
		if (col >= FOLD_WIDTH) {
			buf_append(out, "\r\n\t", 3);
			col = 8;
		}
		size_t n = FOLD_WIDTH - col;
		if (n > b64.len - i)
			n = b64.len - i;
		buf_append(out, b64.p + i, n);
		col += n;
		i += n;
	}
	buf_free(&b64);
}

enum dkim_err dkim_sign(const struct dkim_privkey *key, const struct dkim_sign_params *p,
			const struct dkim_field *fields, size_t count,
			struct dkim_bodyhash *body, struct buf *value_r)
{
	ASSERT(dkim_bodyhash_same(body, p->canon_body, DKIM_HASH_SHA256, false, 0));
	uint8_t bh[DKIM_HASH_MAX], hh[DKIM_HASH_MAX], sig[DKIM_SIG_BYTES_MAX];
	size_t bh_len = dkim_bodyhash_final(body, bh), sig_len;
	struct buf value, tmp;
	buf_init(&value, 0);
	buf_init(&tmp, 0);
	build_unsigned(key, p, bh, bh_len, &value);

	EVP_MD_CTX *md = sha256_begin();
	hash_selected(md, p->canon_header, p->h, p->h_count, fields, count, SIZE_MAX, &tmp);
	/* The field as it will be inserted: "DKIM-Signature: " + value. */
	buf_reset(&tmp);
	buf_putc(&tmp, ' ');
	buf_append(&tmp, value.p, value.len);
	struct buf canon;
	buf_init(&canon, 0);
	hash_sig_field(md, p->canon_header, slice_cstr(SIG_FIELD_NAME),
		       slice_make(tmp.p, tmp.len), &canon);
	buf_free(&canon);
	size_t hh_len = sha256_end(md, hh);

	enum dkim_err e = dkim_sign_digest(key, hh, hh_len, sig, &sig_len);
	if (e == DKIM_OK) {
		append_b(&value, sig, sig_len);
		buf_append(value_r, value.p, value.len);
	}
	buf_free(&value);
	buf_free(&tmp);
	return e;
}
