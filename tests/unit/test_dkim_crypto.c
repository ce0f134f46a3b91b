/*
 * Tests for DKIM header hashing, verification and signing
 * (lib/mail/dkim_crypto.c), on the RFC 8463 Appendix A vector in
 * tests/unit/data/dkim/ (messages read with lib/mail/header.h's reader, keys
 * from the zone file's records through dkim_key_parse).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "dkim.h"
#include "header.h"
#include "t.h"
#include "xalloc.h"

#define MAX_FIELDS 64
#define RFC8463_T 1528637909
#define RFC8463_BH "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="

/* The A.2 records, as the zone file has them (TXT strings joined). */
static const char ed_record[] =
	"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char rsa_record[] =
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6"
	"Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+P"
	"L6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

struct msg {
	struct arena *a;
	struct dkim_field f[MAX_FIELDS];
	size_t count;
	struct buf body;
};

static char *data_path(const char *name)
{
	const char *slash = strrchr(__FILE__, '/');
	struct buf b;
	buf_init(&b, 0);
	if (slash != NULL)
		buf_append(&b, __FILE__, (size_t)(slash - __FILE__ + 1));
	buf_printf(&b, "data/dkim/%s", name);
	return buf_steal(&b);
}

static bool on_field(void *ctx, const char *name, size_t name_len, const char *value,
		     size_t value_len)
{
	struct msg *m = ctx;
	(void)name_len;
	if (m->count == MAX_FIELDS)
		return false;
	/* Keep the raw bytes: WSP before the colon belongs to the name. */
	size_t raw_len = (size_t)(value + value_len - name);
	char *raw = arena_memdup(m->a, name, raw_len);
	size_t colon = (size_t)(value - name) - 1;
	m->f[m->count].name = slice_make(raw, colon);
	m->f[m->count].value = slice_make(raw + colon + 1, value_len);
	m->count++;
	return true;
}

static bool on_body(void *ctx, const uint8_t *p, size_t n)
{
	struct msg *m = ctx;
	buf_append(&m->body, p, n);
	return true;
}

static void msg_from_bytes(struct msg *m, const char *p, size_t n)
{
	static const struct hdr_callbacks cb = { on_field, NULL, on_body };
	m->a = arena_new();
	m->count = 0;
	buf_init(&m->body, 0);
	struct hdr_reader *r = hdr_reader_new(&hdr_limits_default, &cb, m);
	hdr_reader_feed(r, (const uint8_t *)p, n);
	hdr_reader_finish(r);
	hdr_reader_free(&r);
}

static void msg_load(struct msg *m, const char *name)
{
	char *path = data_path(name);
	FILE *f = fopen(path, "rb");
	struct buf raw;
	char tmp[4096];
	size_t n;
	buf_init(&raw, 0);
	T_CHECK(f != NULL);
	while (f != NULL && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&raw, tmp, n);
	if (f != NULL)
		fclose(f);
	msg_from_bytes(m, raw.p, raw.len);
	buf_free(&raw);
	free(path);
}

static void msg_free(struct msg *m)
{
	arena_free(&m->a);
	buf_free(&m->body);
}

static struct dkim_bodyhash *hash_body(const struct msg *m, enum dkim_canon c, bool has_l,
				       uint64_t l)
{
	struct dkim_bodyhash *bh = dkim_bodyhash_new(c, DKIM_HASH_SHA256, has_l, l);
	dkim_bodyhash_update(bh, (const uint8_t *)m->body.p, m->body.len);
	return bh;
}

static struct dkim_privkey *load_priv(const char *name)
{
	char *path = data_path(name), *err = NULL;
	/* The fixture's mode depends on the checkout: do not test it here. */
	struct dkim_privkey *k = dkim_privkey_load_file(path, true, &err);
	if (k == NULL)
		printf("#   %s\n", err);
	free(err);
	free(path);
	return k;
}

static struct dkim_key *load_pub(const char *record)
{
	struct dkim_key *k = NULL;
	T_EQ_INT(dkim_key_parse(record, strlen(record), &k), DKIM_OK);
	return k;
}

/* Verifies fields[idx] of m with key; returns the result. */
static enum dkim_err verify_field(const struct msg *m, size_t idx, const struct dkim_key *key)
{
	struct dkim_sig *sig;
	enum dkim_err e = dkim_sig_parse(m->a, m->f[idx].value.p, m->f[idx].value.len, &sig);
	if (e != DKIM_OK)
		return e;
	struct dkim_bodyhash *bh = hash_body(m, sig->canon_body, sig->has_l, sig->l);
	e = dkim_verify(sig, key, m->f, m->count, idx, bh);
	dkim_bodyhash_free(&bh);
	return e;
}

static void test_rfc8463_signatures_verify(void)
{
	struct msg m;
	msg_load(&m, "signed.eml");
	struct dkim_key *ed = load_pub(ed_record), *rsa = load_pub(rsa_record);
	T_EQ_INT(m.count, 7);
	T_CHECK(dkim_field_is(&m.f[0], "DKIM-Signature"));
	T_EQ_INT(verify_field(&m, 0, ed), DKIM_OK);
	T_EQ_INT(verify_field(&m, 1, rsa), DKIM_OK);
	/* Crossed keys: type mismatch, not a crypto failure. */
	T_EQ_INT(verify_field(&m, 0, rsa), DKIM_ERR_KEY_ALG_MISMATCH);
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
	msg_free(&m);
}

static void test_rfc8463_body_hash(void)
{
	struct msg m;
	msg_load(&m, "unsigned.eml");
	struct dkim_bodyhash *bh = hash_body(&m, DKIM_CANON_RELAXED, false, 0);
	uint8_t d[DKIM_HASH_MAX];
	struct buf b;
	buf_init(&b, 0);
	dkim_base64_encode(d, dkim_bodyhash_final(bh, d), &b);
	T_EQ_STR(b.p, RFC8463_BH);
	buf_free(&b);
	dkim_bodyhash_free(&bh);
	msg_free(&m);
}

/*
 * Signing with the A.1 keys over the A.3 field layout gives A.3's b=
 * (both algorithms are deterministic).
 */
static void test_rfc8463_signatures_reproduced(void)
{
	struct msg m;
	msg_load(&m, "signed.eml");
	static const char *const keys[] = { "brisbane.ed25519.pem", "test.rsa.pem" };
	for (size_t i = 0; i < 2; i++) {
		struct dkim_privkey *k = load_priv(keys[i]);
		struct dkim_sig *sig;
		T_CHECK(k != NULL);
		if (k == NULL)
			continue;
		T_EQ_INT(dkim_sig_parse(m.a, m.f[i].value.p, m.f[i].value.len, &sig), DKIM_OK);
		uint8_t hh[DKIM_HASH_MAX], out[DKIM_SIG_BYTES_MAX];
		size_t hh_len = dkim_header_hash(sig, m.f, m.count, i, hh), out_len = 0;
		T_EQ_INT(dkim_sign_digest(k, hh, hh_len, out, &out_len), DKIM_OK);
		T_EQ_INT(out_len, sig->b_len);
		T_CHECK(out_len == sig->b_len && memcmp(out, sig->b, out_len) == 0);
		dkim_privkey_free(&k);
	}
	msg_free(&m);
}

static const char *const rfc8463_h[] = { "from", "to", "subject", "date", "message-id",
					 "from", "subject", "date" };

/* Signs m with key, returns the new field value (malloc'd). */
static char *sign_msg(const struct msg *m, const struct dkim_privkey *k,
		      enum dkim_canon hc, enum dkim_canon bc, const char *const *h,
		      size_t h_count)
{
	struct dkim_sign_params p = {
		.domain = "football.example.com", .selector = "test",
		.canon_header = hc, .canon_body = bc, .h = h, .h_count = h_count,
		.has_t = true, .t = RFC8463_T,
	};
	if (k->type == DKIM_KEY_ED25519)
		p.selector = "brisbane";
	struct dkim_bodyhash *bh = hash_body(m, bc, false, 0);
	struct buf v;
	buf_init(&v, 0);
	T_EQ_INT(dkim_sign(k, &p, m->f, m->count, bh, &v), DKIM_OK);
	dkim_bodyhash_free(&bh);
	return buf_steal(&v);
}

/* A message = "DKIM-Signature: " value CRLF + the unsigned message. */
static void msg_with_sig(struct msg *out, const char *value, const char *unsigned_name,
			 const char *extra_header)
{
	char *path = data_path(unsigned_name);
	FILE *f = fopen(path, "rb");
	struct buf raw;
	char tmp[4096];
	size_t n;
	buf_init(&raw, 0);
	buf_printf(&raw, "DKIM-Signature: %s\r\n", value);
	if (extra_header != NULL)
		buf_puts(&raw, extra_header);
	while (f != NULL && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&raw, tmp, n);
	if (f != NULL)
		fclose(f);
	msg_from_bytes(out, raw.p, raw.len);
	buf_free(&raw);
	free(path);
}

static void test_sign_then_verify_all_canons(void)
{
	struct msg m;
	msg_load(&m, "unsigned.eml");
	static const char *const keys[] = { "brisbane.ed25519.pem", "test.rsa.pem" };
	static const char *const records[] = { ed_record, rsa_record };
	for (size_t i = 0; i < 2; i++) {
		struct dkim_privkey *k = load_priv(keys[i]);
		struct dkim_key *pub = load_pub(records[i]);
		for (int hc = 0; hc < 2 && k != NULL; hc++) {
			for (int bc = 0; bc < 2; bc++) {
				char *v = sign_msg(&m, k, (enum dkim_canon)hc, (enum dkim_canon)bc,
						   rfc8463_h, ARRAY_LEN(rfc8463_h));
				struct msg s;
				msg_with_sig(&s, v, "unsigned.eml", NULL);
				T_EQ_INT(verify_field(&s, 0, pub), DKIM_OK);
				/* Lines stay within 78 columns ("DKIM-Signature: " first). */
				size_t col = 16;
				for (const char *c = v; *c != '\0'; c++) {
					col = *c == '\n' ? 0 : col + (*c == '\t' ? 8 : 1);
					T_CHECK(col <= 78 + 1);
				}
				msg_free(&s);
				free(v);
			}
		}
		dkim_privkey_free(&k);
		dkim_key_free(&pub);
	}
	msg_free(&m);
}

/* With the A.3 parameters our builder yields A.3's bh= and a valid b=. */
static void test_sign_rfc8463_parameters(void)
{
	struct msg m;
	msg_load(&m, "unsigned.eml");
	struct dkim_privkey *k = load_priv("brisbane.ed25519.pem");
	T_CHECK(k != NULL);
	if (k != NULL) {
		char *v = sign_msg(&m, k, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, rfc8463_h,
				   ARRAY_LEN(rfc8463_h));
		T_CHECK(strstr(v, "bh=" RFC8463_BH ";") != NULL);
		T_CHECK(strncmp(v, "v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n\t"
				   "d=football.example.com; s=brisbane; t=1528637909; h=from:to:subject:\r\n\t"
				   "date:message-id:from:subject:date;\r\n\t"
				   "bh=" RFC8463_BH ";\r\n\tb=", 182) == 0);
		free(v);
	}
	dkim_privkey_free(&k);
	msg_free(&m);
}

static void test_tampering_detected(void)
{
	struct msg m;
	msg_load(&m, "signed.eml");
	struct dkim_key *ed = load_pub(ed_record);
	/* Body changed: body hash. */
	buf_puts(&m.body, "P.S.\r\n");
	T_EQ_INT(verify_field(&m, 0, ed), DKIM_ERR_BODY_HASH);
	msg_free(&m);
	/* A signed header changed: signature. */
	msg_load(&m, "signed.eml");
	m.f[4].value = slice_cstr(" Is dinner ready? No.");
	T_EQ_INT(verify_field(&m, 0, ed), DKIM_ERR_SIGNATURE);
	msg_free(&m);
	dkim_key_free(&ed);
}

/* h= lists Subject twice (oversigned): a second Subject breaks it. */
static void test_oversigned_header_added(void)
{
	struct msg m;
	msg_load(&m, "unsigned.eml");
	struct dkim_privkey *k = load_priv("test.rsa.pem");
	struct dkim_key *pub = load_pub(rsa_record);
	static const char *const names[] = { "from", "to", "subject", "cc" };
	static const char *const over[] = { "subject", "from" };
	size_t n;
	const char **h = dkim_sign_select_headers(m.a, m.f, m.count, names, 4, over, 2, &n);
	T_EQ_INT(n, 5);	/* from from to subject subject; cc absent */
	char *v = sign_msg(&m, k, DKIM_CANON_RELAXED, DKIM_CANON_SIMPLE, h, n);
	struct msg s;
	msg_with_sig(&s, v, "unsigned.eml", NULL);
	T_EQ_INT(verify_field(&s, 0, pub), DKIM_OK);
	msg_free(&s);
	msg_with_sig(&s, v, "unsigned.eml", "Subject: free money\r\n");
	T_EQ_INT(verify_field(&s, 0, pub), DKIM_ERR_SIGNATURE);
	msg_free(&s);
	/* Cc was not present and not oversigned: adding it is allowed. */
	msg_with_sig(&s, v, "unsigned.eml", "Cc: x@example.net\r\n");
	T_EQ_INT(verify_field(&s, 0, pub), DKIM_OK);
	msg_free(&s);
	free(v);
	dkim_privkey_free(&k);
	dkim_key_free(&pub);
	msg_free(&m);
}

/* l= shorter than the body: verifies, and the body hash says so. */
static void test_l_tag_partial_coverage(void)
{
	struct msg m;
	msg_load(&m, "unsigned.eml");
	struct dkim_bodyhash *bh = hash_body(&m, DKIM_CANON_RELAXED, true, 5);
	uint8_t d[DKIM_HASH_MAX];
	dkim_bodyhash_final(bh, d);
	T_CHECK(dkim_bodyhash_truncated(bh));
	T_EQ_INT(dkim_bodyhash_length(bh), 5);
	dkim_bodyhash_free(&bh);
	msg_free(&m);
}

/* A weak key never passes, whatever the signature. */
static void test_short_key_never_passes(void)
{
	struct msg m;
	msg_load(&m, "signed.eml");
	struct dkim_key *rsa = load_pub(rsa_record);
	rsa->bits = 512;	/* as a 512-bit key would report */
	T_EQ_INT(verify_field(&m, 1, rsa), DKIM_ERR_KEY_TOO_SHORT);
	dkim_key_free(&rsa);
	msg_free(&m);
}

/* A b= of the wrong size is a signature failure, not an internal error. */
static void test_garbage_signature_is_fail(void)
{
	struct msg m;
	msg_load(&m, "signed.eml");
	struct dkim_key *ed = load_pub(ed_record), *rsa = load_pub(rsa_record);
	struct dkim_sig *sig;
	for (size_t i = 0; i < 2; i++) {
		T_EQ_INT(dkim_sig_parse(m.a, m.f[i].value.p, m.f[i].value.len, &sig), DKIM_OK);
		sig->b_len = 3;
		struct dkim_bodyhash *bh = hash_body(&m, sig->canon_body, false, 0);
		T_EQ_INT(dkim_verify(sig, i == 0 ? ed : rsa, m.f, m.count, i, bh),
			 DKIM_ERR_SIGNATURE);
		dkim_bodyhash_free(&bh);
	}
	dkim_key_free(&ed);
	dkim_key_free(&rsa);
	msg_free(&m);
}

int main(void)
{
	T_RUN(test_rfc8463_signatures_verify);
	T_RUN(test_rfc8463_body_hash);
	T_RUN(test_rfc8463_signatures_reproduced);
	T_RUN(test_sign_then_verify_all_canons);
	T_RUN(test_sign_rfc8463_parameters);
	T_RUN(test_tampering_detected);
	T_RUN(test_oversigned_header_added);
	T_RUN(test_l_tag_partial_coverage);
	T_RUN(test_short_key_never_passes);
	T_RUN(test_garbage_signature_is_fail);
	return t_done();
}
