/*
 * DKIM public key records (RFC 6376 3.6.1; RFC 8463 3 for k=ed25519) and
 * private keys for signing (PEM, loaded once at configuration time).
 *
 * p= for rsa is, in practice, a DER SubjectPublicKeyInfo; RFC 6376 says
 * RSAPublicKey (PKCS#1) and a few publishers do that, so both are
 * accepted.  For ed25519, p= is the raw 32-byte public key.  A short RSA
 * key is parsed and reported but dkim_key_check_sig() refuses it (RFC 8301
 * 3.2).  Private keys: PKCS#1 or PKCS#8 PEM, RSA or Ed25519, never
 * encrypted (no passphrase prompt, ever).
 */
#include "dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "compiler.h"
#include "xalloc.h"

#define ED25519_KEY_LEN 32

const char *dkim_key_type_name(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

static EVP_PKEY *decode_rsa(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (pkey == NULL || p != der + len || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pkey);
		/* The bare PKCS#1 RSAPublicKey of RFC 6376's text. */
		p = der;
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (pkey != NULL && p != der + len) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	ERR_clear_error();
	return pkey;
}

/* See struct dkim_key: NULL when OpenSSL will not make one. */
static EVP_PKEY_CTX *rsa_verify_ctx(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx != NULL &&
	    (EVP_PKEY_verify_init(ctx) != 1 ||
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_signature_md(ctx, dkim_hash_md(DKIM_HASH_SHA256)) != 1)) {
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
	}
	ERR_clear_error();
	return ctx;
}

static enum dkim_err decode_p(struct dkim_key *key, struct slice p)
{
	uint8_t der[DKIM_KEY_BYTES_MAX];
	size_t len;
	if (dkim_base64_decode(p, der, sizeof(der), &len) != DKIM_OK)
		return DKIM_ERR_KEY_DECODE;
	if (key->type == DKIM_KEY_RSA) {
		key->pkey = decode_rsa(der, len);
	} else if (len == ED25519_KEY_LEN) {
		key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, len);
		ERR_clear_error();
	}
	if (key->pkey == NULL)
		return DKIM_ERR_KEY_DECODE;
	key->bits = EVP_PKEY_get_bits(key->pkey);
	if (key->type == DKIM_KEY_RSA)
		key->verify = rsa_verify_ctx(key->pkey);
	return DKIM_OK;
}

static enum dkim_err parse_tags(const struct dkim_tags *tags, struct dkim_key *key)
{
	const struct dkim_tag *t;
	/* RFC 6376 3.6.1 v=: if present, first and exactly "DKIM1". */
	if ((t = dkim_tags_get(tags, "v")) != NULL &&
	    (t != &tags->tag[0] || !slice_eq(t->value, "DKIM1")))
		return DKIM_ERR_KEY_VERSION;
	if ((t = dkim_tags_get(tags, "k")) != NULL) {
		if (slice_eq(t->value, "ed25519"))
			key->type = DKIM_KEY_ED25519;
		else if (!slice_eq(t->value, "rsa"))
			return DKIM_ERR_KEY_TYPE;
	}
	key->allow_sha1 = key->allow_sha256 = true;
	if ((t = dkim_tags_get(tags, "h")) != NULL) {
		key->allow_sha1 = dkim_tag_value_lists(t->value, "sha1");
		key->allow_sha256 = dkim_tag_value_lists(t->value, "sha256");
	}
	/* s=: a record for other services only is not ours to use. */
	if ((t = dkim_tags_get(tags, "s")) != NULL && !dkim_tag_value_lists(t->value, "email") &&
	    !dkim_tag_value_lists(t->value, "*"))
		return DKIM_ERR_KEY_SERVICE;
	if ((t = dkim_tags_get(tags, "t")) != NULL) {
		key->testing = dkim_tag_value_lists(t->value, "y");
		key->strict = dkim_tag_value_lists(t->value, "s");
	}
	if ((t = dkim_tags_get(tags, "p")) == NULL)
		return DKIM_ERR_KEY_MISSING_P;
	if (t->value.len == 0)
		return DKIM_ERR_KEY_REVOKED;
	return decode_p(key, t->value);
}

enum dkim_err dkim_key_parse(const char *txt, size_t len, struct dkim_key **key_r)
{
	struct dkim_tags tags;
	*key_r = NULL;
	if (dkim_tags_parse(txt, len, &tags) != DKIM_OK)
		return DKIM_ERR_KEY_SYNTAX;
	struct dkim_key *key = xcalloc(1, sizeof(*key));
	enum dkim_err e = parse_tags(&tags, key);
	if (e != DKIM_OK) {
		dkim_key_free(&key);
		return e;
	}
	*key_r = key;
	return DKIM_OK;
}

void dkim_key_free(struct dkim_key **key)
{
	if (*key == NULL)
		return;
	EVP_PKEY_CTX_free((*key)->verify);
	EVP_PKEY_free((*key)->pkey);
	free(*key);
	*key = NULL;
}

struct dkim_key *dkim_key_dup(const struct dkim_key *key)
{
	struct dkim_key *k = xmalloc(sizeof(*k));
	*k = *key;
	ASSERT(EVP_PKEY_up_ref(k->pkey) == 1);
	k->verify = key->verify != NULL ? EVP_PKEY_CTX_dup(key->verify) : NULL;
	ERR_clear_error();
	return k;
}

enum dkim_err dkim_key_check_sig(const struct dkim_key *key, const struct dkim_sig *sig)
{
	switch (sig->alg) {
	case DKIM_ALG_RSA_SHA256:
		if (key->type != DKIM_KEY_RSA)
			return DKIM_ERR_KEY_ALG_MISMATCH;
		break;
	case DKIM_ALG_ED25519_SHA256:
		if (key->type != DKIM_KEY_ED25519)
			return DKIM_ERR_KEY_ALG_MISMATCH;
		break;
	case DKIM_ALG_RSA_SHA1:
		return DKIM_ERR_RSA_SHA1;
	case DKIM_ALG_UNKNOWN:
	default:
		return DKIM_ERR_ALGORITHM;
	}
	if (!key->allow_sha256)
		return DKIM_ERR_KEY_HASH;
	/* RFC 6376 3.6.1 t=s: the i= domain must be d= itself. */
	if (key->strict && strcasecmp(sig->i_domain, sig->d) != 0)
		return DKIM_ERR_KEY_STRICT;
	if (key->type == DKIM_KEY_RSA && key->bits < DKIM_RSA_MIN_BITS)
		return DKIM_ERR_KEY_TOO_SHORT;
	if (key->type == DKIM_KEY_RSA && key->bits > DKIM_RSA_MAX_BITS)
		return DKIM_ERR_KEY_TOO_LONG;
	return DKIM_OK;
}

/* ---- private keys ---- */

/* Refuses to prompt for a passphrase (we never run with a terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

struct dkim_privkey *dkim_privkey_load_pem(const char *pem, size_t len,
					   const char **error_r)
{
	if (len > DKIM_PRIVKEY_FILE_MAX) {
		*error_r = "key too large";
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		*error_r = "not a PEM private key (PKCS#1 or PKCS#8, unencrypted)";
		return NULL;
	}
	enum dkim_key_type type;
	int id = EVP_PKEY_get_base_id(pkey);
	if (id == EVP_PKEY_RSA) {
		type = DKIM_KEY_RSA;
	} else if (id == EVP_PKEY_ED25519) {
		type = DKIM_KEY_ED25519;
	} else {
		EVP_PKEY_free(pkey);
		*error_r = "key is neither RSA nor Ed25519";
		return NULL;
	}
	int bits = EVP_PKEY_get_bits(pkey);
	/* RFC 8301 3.2: signers MUST use at least 1024 bits. */
	if (type == DKIM_KEY_RSA && (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS)) {
		EVP_PKEY_free(pkey);
		*error_r = "RSA key size outside 1024..8192 bits";
		return NULL;
	}
	struct dkim_privkey *key = xcalloc(1, sizeof(*key));
	key->type = type;
	key->pkey = pkey;
	key->bits = bits;
	return key;
}

static char *file_error(const char *path, const char *what)
{
	return xasprintf("key file %s: %s", path, what);
}

static bool read_all(int fd, char *p, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

struct dkim_privkey *dkim_privkey_load_file(const char *path, bool allow_insecure,
					    char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = file_error(path, strerror(errno));
		return NULL;
	}
	struct stat st;
	const char *problem = NULL;
	if (fstat(fd, &st) != 0)
		problem = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		problem = "not a regular file";
	else if (!allow_insecure && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		problem = "readable or writable by group or others (chmod 600 it)";
	else if (st.st_size > DKIM_PRIVKEY_FILE_MAX)
		problem = "too large for a key";
	if (problem != NULL) {
		close(fd);
		*error_r = file_error(path, problem);
		return NULL;
	}
	size_t len = (size_t)st.st_size;
	char *pem = xmalloc(len + 1);
	bool ok = read_all(fd, pem, len);
	int read_errno = errno;
	close(fd);
	struct dkim_privkey *key = NULL;
	const char *error = NULL;
	if (ok)
		key = dkim_privkey_load_pem(pem, len, &error);
	else
		error = read_errno != 0 ? strerror(read_errno) : "short read";
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (key == NULL)
		*error_r = file_error(path, error);
	return key;
}

void dkim_privkey_free(struct dkim_privkey **key)
{
	if (*key == NULL)
		return;
	EVP_PKEY_free((*key)->pkey);
	free(*key);
	*key = NULL;
}
