/*
 * Tests for DKIM key records and private key loading (lib/mail/dkim_key.c).
 * Key data: the RFC 8463 A.1/A.2 keys in tests/unit/data/dkim/.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "arena.h"
#include "buf.h"
#include "dkim.h"
#include "t.h"
#include "xalloc.h"

#define ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_P "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

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

static enum dkim_err parse_key(const char *txt, struct dkim_key **key_r)
{
	return dkim_key_parse(txt, strlen(txt), key_r);
}

static void test_rfc8463_records(void)
{
	struct dkim_key *k;
	T_EQ_INT(parse_key("v=DKIM1; k=ed25519; p=" ED_P, &k), DKIM_OK);
	T_EQ_INT(k->type, DKIM_KEY_ED25519);
	T_EQ_INT(k->bits, 256);
	T_CHECK(k->allow_sha256 && !k->testing && !k->strict);
	dkim_key_free(&k);
	T_CHECK(k == NULL);
	T_EQ_INT(parse_key("v=DKIM1; k=rsa; p=" RSA_P, &k), DKIM_OK);
	T_EQ_INT(k->type, DKIM_KEY_RSA);
	T_EQ_INT(k->bits, 1024);
	T_EQ_STR(dkim_key_type_name(k->type), "rsa");
	dkim_key_free(&k);
	/* k= defaults to rsa, v= is optional. */
	T_EQ_INT(parse_key("p=" RSA_P, &k), DKIM_OK);
	T_EQ_INT(k->type, DKIM_KEY_RSA);
	dkim_key_free(&k);
}

static void test_flags_and_lists(void)
{
	struct dkim_key *k;
	T_EQ_INT(parse_key("k=rsa; t=y:s; h=sha1 : sha256; s=email; p=" RSA_P, &k), DKIM_OK);
	T_CHECK(k->testing && k->strict && k->allow_sha1 && k->allow_sha256);
	dkim_key_free(&k);
	T_EQ_INT(parse_key("t=x:y; s=*; h=sha512:sha256; n=note; p=" RSA_P, &k), DKIM_OK);
	T_CHECK(k->testing && !k->strict && !k->allow_sha1 && k->allow_sha256);
	dkim_key_free(&k);
	T_EQ_INT(parse_key("h=sha1; p=" RSA_P, &k), DKIM_OK);
	T_CHECK(!k->allow_sha256);
	dkim_key_free(&k);
}

static void test_record_errors(void)
{
	static const struct {
		const char *in;
		enum dkim_err err;
	} cases[] = {
		{ "", DKIM_ERR_KEY_SYNTAX },
		{ "p=" RSA_P "; p=" RSA_P, DKIM_ERR_KEY_SYNTAX },
		{ "v=DKIM1 p=x", DKIM_ERR_KEY_VERSION },
		{ "v=DKIM1;; p=x", DKIM_ERR_KEY_SYNTAX },
		{ "v=DKIM2; p=" RSA_P, DKIM_ERR_KEY_VERSION },
		{ "v=dkim1; p=" RSA_P, DKIM_ERR_KEY_VERSION },
		{ "k=rsa; v=DKIM1; p=" RSA_P, DKIM_ERR_KEY_VERSION },
		{ "v=DKIM1; k=dsa; p=" RSA_P, DKIM_ERR_KEY_TYPE },
		{ "v=DKIM1; k=rsa", DKIM_ERR_KEY_MISSING_P },
		{ "v=DKIM1; k=rsa; p=", DKIM_ERR_KEY_REVOKED },
		{ "v=DKIM1; p= ", DKIM_ERR_KEY_REVOKED },
		{ "v=DKIM1; s=web; p=" RSA_P, DKIM_ERR_KEY_SERVICE },
		{ "v=DKIM1; p=!!!!", DKIM_ERR_KEY_DECODE },
		{ "v=DKIM1; p=AAAA", DKIM_ERR_KEY_DECODE },
		{ "v=DKIM1; k=ed25519; p=" RSA_P, DKIM_ERR_KEY_DECODE },
		{ "v=DKIM1; k=rsa; p=" ED_P, DKIM_ERR_KEY_DECODE },
		{ "v=DKIM1; k=ed25519; p=AAAA", DKIM_ERR_KEY_DECODE },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct dkim_key *k = (struct dkim_key *)1;
		enum dkim_err e = parse_key(cases[i].in, &k);
		if (e != cases[i].err)
			printf("#   case %zu: got %s\n", i, dkim_err_text(e));
		T_EQ_INT(e, cases[i].err);
		T_CHECK(k == NULL);
	}
}

/* The bare PKCS#1 RSAPublicKey form some publishers use. */
static void test_pkcs1_public_key_accepted(void)
{
	struct dkim_key *k, *k2;
	T_EQ_INT(parse_key("p=" RSA_P, &k), DKIM_OK);
	unsigned char *der = NULL;
	int len = i2d_PublicKey(k->pkey, &der);
	T_CHECK(len > 0);
	struct buf rec;
	buf_init(&rec, 0);
	buf_puts(&rec, "v=DKIM1; p=");
	dkim_base64_encode(der, (size_t)len, &rec);
	T_EQ_INT(dkim_key_parse(rec.p, rec.len, &k2), DKIM_OK);
	T_EQ_INT(k2->bits, 1024);
	T_CHECK(EVP_PKEY_eq(k->pkey, k2->pkey) == 1);
	OPENSSL_free(der);
	buf_free(&rec);
	dkim_key_free(&k);
	dkim_key_free(&k2);
}

static struct dkim_sig *sig_for(struct arena *a, const char *alg, const char *extra)
{
	struct dkim_sig *sig;
	char *v = arena_printf(a, "v=1; a=%s; d=example.com; s=s; h=from; bh=AAAA; b=AAAA%s",
			       alg, extra);
	dkim_sig_parse(a, v, strlen(v), &sig);
	return sig;
}

static void test_check_sig(void)
{
	struct arena *a = arena_new();
	struct dkim_key *rsa, *ed, *strict, *sha1only;
	T_EQ_INT(parse_key("p=" RSA_P, &rsa), DKIM_OK);
	T_EQ_INT(parse_key("k=ed25519; p=" ED_P, &ed), DKIM_OK);
	T_EQ_INT(parse_key("t=s; p=" RSA_P, &strict), DKIM_OK);
	T_EQ_INT(parse_key("h=sha1; p=" RSA_P, &sha1only), DKIM_OK);
	struct dkim_sig *s_rsa = sig_for(a, "rsa-sha256", "");
	struct dkim_sig *s_ed = sig_for(a, "ed25519-sha256", "");
	struct dkim_sig *s_sub = sig_for(a, "rsa-sha256", "; i=u@sub.example.com");
	struct dkim_sig *s_same = sig_for(a, "rsa-sha256", "; i=u@EXAMPLE.com");
	struct dkim_sig *s_sha1 = sig_for(a, "rsa-sha1", "");
	T_EQ_INT(dkim_key_check_sig(rsa, s_rsa), DKIM_OK);
	T_EQ_INT(dkim_key_check_sig(ed, s_ed), DKIM_OK);
	T_EQ_INT(dkim_key_check_sig(rsa, s_ed), DKIM_ERR_KEY_ALG_MISMATCH);
	T_EQ_INT(dkim_key_check_sig(ed, s_rsa), DKIM_ERR_KEY_ALG_MISMATCH);
	T_EQ_INT(dkim_key_check_sig(rsa, s_sha1), DKIM_ERR_RSA_SHA1);
	T_EQ_INT(dkim_key_check_sig(sha1only, s_rsa), DKIM_ERR_KEY_HASH);
	T_EQ_INT(dkim_key_check_sig(rsa, s_sub), DKIM_OK);
	T_EQ_INT(dkim_key_check_sig(strict, s_sub), DKIM_ERR_KEY_STRICT);
	T_EQ_INT(dkim_key_check_sig(strict, s_same), DKIM_OK);
	dkim_key_free(&rsa);
	dkim_key_free(&ed);
	dkim_key_free(&strict);
	dkim_key_free(&sha1only);
	arena_free(&a);
}

/* RFC 8301 3.2: a 512-bit key parses (to be reported) but never verifies. */
static void test_short_rsa_key_flagged(void)
{
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	T_CHECK(weak != NULL);
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(weak, &der);
	struct buf rec;
	buf_init(&rec, 0);
	buf_puts(&rec, "v=DKIM1; k=rsa; p=");
	dkim_base64_encode(der, (size_t)len, &rec);
	struct dkim_key *k;
	T_EQ_INT(dkim_key_parse(rec.p, rec.len, &k), DKIM_OK);
	T_EQ_INT(k->bits, 512);
	struct arena *a = arena_new();
	T_EQ_INT(dkim_key_check_sig(k, sig_for(a, "rsa-sha256", "")), DKIM_ERR_KEY_TOO_SHORT);
	arena_free(&a);
	dkim_key_free(&k);
	OPENSSL_free(der);
	buf_free(&rec);
	EVP_PKEY_free(weak);
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;
	buf_init(&b, 0);
	if (f == NULL)
		return buf_steal(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len_r = b.len;
	return buf_steal(&b);
}

static void test_privkey_pem_forms(void)
{
	static const struct {
		const char *file;
		enum dkim_key_type type;
		int bits;
	} cases[] = {
		{ "test.rsa.pem", DKIM_KEY_RSA, 1024 },		/* PKCS#1 */
		{ "brisbane.ed25519.pem", DKIM_KEY_ED25519, 256 },	/* PKCS#8 */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *path = data_path(cases[i].file);
		size_t len = 0;
		char *pem = slurp(path, &len);
		const char *err = NULL;
		struct dkim_privkey *k = dkim_privkey_load_pem(pem, len, &err);
		T_CHECK(k != NULL);
		if (k != NULL) {
			T_EQ_INT(k->type, cases[i].type);
			T_EQ_INT(k->bits, cases[i].bits);
		}
		/* The same key written as PKCS#8 loads too. */
		if (k != NULL && k->type == DKIM_KEY_RSA) {
			BIO *bio = BIO_new(BIO_s_mem());
			PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL);
			char *p8;
			long n = BIO_get_mem_data(bio, &p8);
			T_CHECK(strstr(p8, "BEGIN PRIVATE KEY") != NULL);
			struct dkim_privkey *k8 = dkim_privkey_load_pem(p8, (size_t)n, &err);
			T_CHECK(k8 != NULL && k8->type == DKIM_KEY_RSA && k8->bits == 1024);
			dkim_privkey_free(&k8);
			BIO_free(bio);
		}
		dkim_privkey_free(&k);
		T_CHECK(k == NULL);
		free(pem);
		free(path);
	}
}

static void test_privkey_pem_errors(void)
{
	const char *err = NULL;
	T_CHECK(dkim_privkey_load_pem("garbage", 7, &err) == NULL);
	T_CHECK(err != NULL);
	/* A public key is not a private key. */
	static const char pub[] = "-----BEGIN PUBLIC KEY-----\n"
				  "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
				  "-----END PUBLIC KEY-----\n";
	err = NULL;
	T_CHECK(dkim_privkey_load_pem(pub, sizeof(pub) - 1, &err) == NULL);
	T_CHECK(err != NULL);
	/* A 512-bit RSA key is refused for signing (RFC 8301). */
	EVP_PKEY *weak = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)512);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, weak, NULL, NULL, 0, NULL, NULL);
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	err = NULL;
	T_CHECK(dkim_privkey_load_pem(p, (size_t)n, &err) == NULL);
	T_CHECK(err != NULL && strstr(err, "1024") != NULL);
	BIO_free(bio);
	EVP_PKEY_free(weak);
}

static char *write_temp_key(mode_t mode)
{
	char *src = data_path("brisbane.ed25519.pem");
	size_t len = 0;
	char *pem = slurp(src, &len);
	char *path = xstrdup("/tmp/cachet-dkim-key-XXXXXX");
	int fd = mkstemp(path);
	T_CHECK(fd >= 0);
	T_CHECK(write(fd, pem, len) == (ssize_t)len);
	fchmod(fd, mode);
	close(fd);
	free(pem);
	free(src);
	return path;
}

static void test_privkey_file_permissions(void)
{
	char *err = NULL;
	char *path = write_temp_key(0600);
	struct dkim_privkey *k = dkim_privkey_load_file(path, false, &err);
	T_CHECK(k != NULL && err == NULL);
	dkim_privkey_free(&k);
	chmod(path, 0640);
	k = dkim_privkey_load_file(path, false, &err);
	T_CHECK(k == NULL && err != NULL && strstr(err, path) != NULL &&
		strstr(err, "group or others") != NULL);
	free(err);
	err = NULL;
	chmod(path, 0604);
	T_CHECK(dkim_privkey_load_file(path, false, &err) == NULL);
	free(err);
	err = NULL;
	k = dkim_privkey_load_file(path, true, &err);
	T_CHECK(k != NULL);
	dkim_privkey_free(&k);
	unlink(path);
	k = dkim_privkey_load_file(path, false, &err);
	T_CHECK(k == NULL && err != NULL && strstr(err, path) != NULL);
	free(err);
	free(path);
}

int main(void)
{
	T_RUN(test_rfc8463_records);
	T_RUN(test_flags_and_lists);
	T_RUN(test_record_errors);
	T_RUN(test_pkcs1_public_key_accepted);
	T_RUN(test_check_sig);
	T_RUN(test_short_rsa_key_flagged);
	T_RUN(test_privkey_pem_forms);
	T_RUN(test_privkey_pem_errors);
	T_RUN(test_privkey_file_permissions);
	return t_done();
}
