/*
 * Tests of the cache of parsed DKIM keys (lib/mail/dkim_keycache.c): a
 * record parsed once answers later lookups, its key is the caller's to
 * free; errors are kept too; TTL 0 keeps nothing and an expired entry is
 * parsed again; the text is the key; the cache stays within its size;
 * threads share it safely (run under ASan by make check); and the RSA
 * verify context each copy carries checks signatures in parallel threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "dkim_keycache.h"
#include "t.h"

#define ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_P "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6w" \
	"y5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3r" \
	"G4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

static const char rsa[] = "v=DKIM1; k=rsa; p=" RSA_P;
static const char ed[] = "v=DKIM1; k=ed25519; p=" ED_P;

static enum dkim_err get(struct dkim_keycache *c, const char *txt, uint32_t ttl,
			 struct dkim_key **k)
{
	return dkim_keycache_parse(c, txt, strlen(txt), ttl, k);
}

static void test_second_lookup_is_a_hit_and_the_key_is_ours(void)
{
	struct dkim_keycache *c = dkim_keycache_new(10);
	struct dkim_key *a = NULL, *b = NULL;
	T_EQ_INT(get(c, rsa, 300, &a), DKIM_OK);
	T_EQ_INT(dkim_keycache_hits(c), 0);
	T_EQ_INT(get(c, rsa, 300, &b), DKIM_OK);
	T_EQ_INT(dkim_keycache_hits(c), 1);
	T_CHECK(a != NULL && b != NULL && a != b && a->pkey == b->pkey);
	T_EQ_INT(b->bits, 1024);
	dkim_key_free(&a);
	dkim_keycache_free(&c);	/* b outlives the cache that gave it */
	T_EQ_INT(b->type, DKIM_KEY_RSA);
	dkim_key_free(&b);
}

static void test_errors_are_kept_too(void)
{
	struct dkim_keycache *c = dkim_keycache_new(10);
	struct dkim_key *k = NULL;
	enum dkim_err want = dkim_key_parse("v=DKIM1; p=", 11, &k);
	T_CHECK(want != DKIM_OK && k == NULL);
	T_EQ_INT(get(c, "v=DKIM1; p=", 300, &k), want);
	T_EQ_INT(get(c, "v=DKIM1; p=", 300, &k), want);
	T_CHECK(k == NULL);
	T_EQ_INT(dkim_keycache_hits(c), 1);
	dkim_keycache_free(&c);
}

static void test_ttl_zero_and_expiry(void)
{
	struct dkim_keycache *c = dkim_keycache_new(10);
	struct dkim_key *k = NULL;
	T_EQ_INT(get(c, ed, 0, &k), DKIM_OK);
	dkim_key_free(&k);
	T_EQ_INT(dkim_keycache_size(c), 0);
	T_EQ_INT(get(c, ed, 1, &k), DKIM_OK);
	dkim_key_free(&k);
	T_EQ_INT(dkim_keycache_size(c), 1);
	sleep(2);
	T_EQ_INT(get(c, ed, 1, &k), DKIM_OK);	/* expired: parsed again */
	dkim_key_free(&k);
	T_EQ_INT(dkim_keycache_hits(c), 0);
	dkim_keycache_free(&c);
}

static void test_the_text_is_the_key(void)
{
	struct dkim_keycache *c = dkim_keycache_new(10);
	struct dkim_key *k = NULL;
	T_EQ_INT(get(c, ed, 300, &k), DKIM_OK);
	dkim_key_free(&k);
	/* a record that changed (here: t=y added) is a new entry, never the old key */
	T_EQ_INT(get(c, "v=DKIM1; k=ed25519; t=y; p=" ED_P, 300, &k), DKIM_OK);
	T_CHECK(k != NULL && k->testing);
	dkim_key_free(&k);
	T_EQ_INT(dkim_keycache_hits(c), 0);
	T_EQ_INT(dkim_keycache_size(c), 2);
	dkim_keycache_free(&c);
}

static void test_bounded(void)
{
	struct dkim_keycache *c = dkim_keycache_new(3);
	char rec[256];
	for (int i = 0; i < 10; i++) {
		struct dkim_key *k = NULL;
		snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; n=%d; p=" ED_P, i);
		T_EQ_INT(get(c, rec, 300, &k), DKIM_OK);
		dkim_key_free(&k);
	}
	T_EQ_INT(dkim_keycache_size(c), 3);
	/* the newest stayed, the oldest went */
	struct dkim_key *k = NULL;
	T_EQ_INT(get(c, rec, 300, &k), DKIM_OK);
	dkim_key_free(&k);
	T_EQ_INT(dkim_keycache_hits(c), 1);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; n=%d; p=" ED_P, 0);
	T_EQ_INT(get(c, rec, 300, &k), DKIM_OK);
	dkim_key_free(&k);
	T_EQ_INT(dkim_keycache_hits(c), 1);
	dkim_keycache_free(&c);
}

static int hammer_failed;

static void *hammer(void *arg)
{
	struct dkim_keycache *c = arg;
	char rec[256];
	for (int i = 0; i < 2000; i++) {
		struct dkim_key *k = NULL;
		snprintf(rec, sizeof(rec), "v=DKIM1; k=ed25519; n=%d; p=" ED_P, i % 40);
		if (get(c, rec, 300, &k) != DKIM_OK || k == NULL || k->type != DKIM_KEY_ED25519)
			__atomic_store_n(&hammer_failed, 1, __ATOMIC_RELAXED);
		dkim_key_free(&k);
	}
	return NULL;
}

static void test_threads_share_it(void)
{
	struct dkim_keycache *c = dkim_keycache_new(16);	/* smaller than the set: evictions */
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, c);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_EQ_INT(hammer_failed, 0);
	T_CHECK(dkim_keycache_size(c) <= 16);
	dkim_keycache_free(&c);
}

/* An RSA key made here, its record, and a signature of a fixed hash. */
struct rsa_case {
	struct dkim_keycache *cache;
	char record[1024];
	uint8_t hash[32];
	uint8_t sig[512];
	size_t sig_len;
	int failed;
};

static bool rsa_case_make(struct rsa_case *rc)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	unsigned char *der = NULL;
	int der_len = pkey != NULL ? i2d_PUBKEY(pkey, &der) : -1;
	bool ok = der_len > 0 && (size_t)der_len * 4 / 3 + 40 < sizeof(rc->record);
	if (ok) {
		int n = snprintf(rc->record, sizeof(rc->record), "v=DKIM1; k=rsa; p=");
		EVP_EncodeBlock((unsigned char *)rc->record + n, der, der_len);
		memset(rc->hash, 0x5a, sizeof(rc->hash));
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		rc->sig_len = sizeof(rc->sig);
		ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
		     EVP_PKEY_sign(ctx, rc->sig, &rc->sig_len, rc->hash, sizeof(rc->hash)) == 1;
		EVP_PKEY_CTX_free(ctx);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	return ok;
}

static void *rsa_verifier(void *arg)
{
	struct rsa_case *rc = arg;
	uint8_t other[32];
	memset(other, 0xa5, sizeof(other));
	for (int i = 0; i < 300; i++) {
		struct dkim_key *k = NULL;
		bool ok = get(rc->cache, rc->record, 300, &k) == DKIM_OK && k->verify != NULL &&
			  EVP_PKEY_verify(k->verify, rc->sig, rc->sig_len, rc->hash,
					  sizeof(rc->hash)) == 1 &&
			  EVP_PKEY_verify(k->verify, rc->sig, rc->sig_len, other,
					  sizeof(other)) != 1;
		if (!ok)
			__atomic_store_n(&rc->failed, 1, __ATOMIC_RELAXED);
		dkim_key_free(&k);
	}
	return NULL;
}

static void test_rsa_verify_contexts_in_threads(void)
{
	static struct rsa_case rc;
	T_CHECK(rsa_case_make(&rc));
	rc.cache = dkim_keycache_new(4);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, rsa_verifier, &rc);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_EQ_INT(rc.failed, 0);
	/* each thread may parse it once before the first copy is kept */
	T_CHECK(dkim_keycache_hits(rc.cache) >= 4 * 300 - 4);
	dkim_keycache_free(&rc.cache);
}

int main(void)
{
	T_RUN(test_second_lookup_is_a_hit_and_the_key_is_ours);
	T_RUN(test_errors_are_kept_too);
	T_RUN(test_ttl_zero_and_expiry);
	T_RUN(test_the_text_is_the_key);
	T_RUN(test_bounded);
	T_RUN(test_threads_share_it);
	T_RUN(test_rsa_verify_contexts_in_threads);
	return t_done();
}
