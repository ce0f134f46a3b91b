/*
 * The DKIM core (RFC 6376, RFC 8463 Ed25519, RFC 8301 crypto updates):
 * tag-list parsing, DKIM-Signature and key record parsing, header and body
 * canonicalization, the streaming body hash, header hashing, verification
 * and signing.  It knows nothing of DNS, the pipeline or configuration: the
 * verify and sign checks, key tables and the CLI sit on top of it.
 *
 * Crypto is OpenSSL 3 through the EVP API only.  Algorithms: rsa-sha256 and
 * ed25519-sha256 verify and sign; rsa-sha1 is recognised so that it can be
 * refused by name (RFC 8301 3.1).  RSA keys below 1024 bits never verify
 * (RFC 8301 3.2) and neither do keys above DKIM_RSA_MAX_BITS (cost bound).
 *
 * Input conventions: header fields are given as received, folds as CRLF +
 * WSP (a caller holding LF-only text normalises it first); the body is
 * given CRLF-normalised, in chunks of any size.  A bare CR or a bare LF in
 * the body is ordinary data.
 *
 * Typical verify flow, per DKIM-Signature field:
 *	dkim_sig_parse() -> dkim_sig_check_time() -> (DNS) dkim_key_parse()
 *	-> body streamed into a dkim_bodyhash (shared between signatures with
 *	the same dkim_bodyhash_same() parameters) -> dkim_verify().
 * Sign flow: dkim_privkey_load_file() once at configuration time; per
 * message: a dkim_bodyhash, dkim_sign_select_headers(), dkim_sign().
 */
#ifndef CACHET_DKIM_H
#define CACHET_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "arena.h"
#include "buf.h"

/* Limits against hostile input. */
#define DKIM_TAGS_MAX 64		/* tags in one tag-list */
#define DKIM_TAG_VALUE_MAX 16384	/* bytes of one tag value, folds included */
#define DKIM_H_MAX 256			/* names in a signature's h= */
#define DKIM_SIG_BYTES_MAX 1024		/* decoded b= (8192-bit RSA) */
#define DKIM_KEY_BYTES_MAX 2048		/* decoded p= */
#define DKIM_HASH_MAX 32		/* largest digest we use (SHA-256) */
#define DKIM_RSA_MIN_BITS 1024		/* RFC 8301 3.2 */
#define DKIM_RSA_MAX_BITS 8192		/* larger keys: refused (verify cost) */
#define DKIM_PRIVKEY_FILE_MAX 65536	/* bytes of a PEM key file */

/*
 * Every way a DKIM operation can fail.  dkim_err_text() gives fixed words
 * for logs and Authentication-Results comments; dkim_err_result() the RFC
 * 8601 result a verifier reports for it.
 */
enum dkim_err {
	DKIM_OK = 0,
	/* tag-list (RFC 6376 3.2) */
	DKIM_ERR_SYNTAX,		/* tag-list syntax error */
	DKIM_ERR_DUP_TAG,		/* a tag appears twice */
	DKIM_ERR_TOO_MANY_TAGS,		/* more than DKIM_TAGS_MAX */
	DKIM_ERR_TAG_TOO_LONG,		/* a value over DKIM_TAG_VALUE_MAX */
	DKIM_ERR_BASE64,		/* b=, bh= or p= not valid base64 */
	/* DKIM-Signature (RFC 6376 3.5, 6.1.1) */
	DKIM_ERR_MISSING_TAG,		/* one of v a b bh d h s absent */
	DKIM_ERR_VERSION,		/* v= other than 1 */
	DKIM_ERR_ALGORITHM,		/* a= unknown */
	DKIM_ERR_RSA_SHA1,		/* a=rsa-sha1: refused, RFC 8301 */
	DKIM_ERR_CANON,			/* c= unknown */
	DKIM_ERR_QUERY,			/* q= without dns/txt */
	DKIM_ERR_DOMAIN,		/* d= not a domain name */
	DKIM_ERR_SELECTOR,		/* s= not a selector */
	DKIM_ERR_H_SYNTAX,		/* h= not a list of field names */
	DKIM_ERR_H_NO_FROM,		/* h= does not list From */
	DKIM_ERR_AUID,			/* i= not an address-like identity */
	DKIM_ERR_AUID_DOMAIN,		/* i= domain not d= or below it */
	DKIM_ERR_NUMBER,		/* l=, t= or x= not a number */
	DKIM_ERR_X_BEFORE_T,		/* x= not after t= */
	DKIM_ERR_EXPIRED,		/* x= in the past */
	DKIM_ERR_FUTURE,		/* t= in the future beyond the skew */
	/* key record (RFC 6376 3.6.1) */
	DKIM_ERR_KEY_SYNTAX,		/* key record tag-list error */
	DKIM_ERR_KEY_VERSION,		/* v= not DKIM1 or not first */
	DKIM_ERR_KEY_MISSING_P,		/* no p= */
	DKIM_ERR_KEY_REVOKED,		/* p= empty */
	DKIM_ERR_KEY_TYPE,		/* k= unknown */
	DKIM_ERR_KEY_DECODE,		/* p= does not hold a k= key */
	DKIM_ERR_KEY_SERVICE,		/* s= without email or * */
	DKIM_ERR_KEY_HASH,		/* h= excludes the signature's hash */
	DKIM_ERR_KEY_ALG_MISMATCH,	/* k= does not match a= */
	DKIM_ERR_KEY_STRICT,		/* t=s and i= domain is not d= */
	DKIM_ERR_KEY_TOO_SHORT,		/* RSA key below DKIM_RSA_MIN_BITS */
	DKIM_ERR_KEY_TOO_LONG,		/* RSA key above DKIM_RSA_MAX_BITS */
	/* verification */
	DKIM_ERR_BODY_HASH,		/* bh= does not match the body */
	DKIM_ERR_SIGNATURE,		/* b= does not verify */
	/* signing and private keys */
	DKIM_ERR_PRIVKEY,		/* private key unusable */
	DKIM_ERR_INTERNAL,		/* OpenSSL failed where it should not */
	DKIM_ERR_COUNT_
};

/* Static text, e.g. "signature expired". */
const char *dkim_err_text(enum dkim_err e);
/*
 * The RFC 8601 2.7.1 result word for a signature that ended with e:
 *  - DKIM_OK: "pass";
 *  - DKIM_ERR_BODY_HASH, DKIM_ERR_SIGNATURE: "fail" (a well-formed
 *    signature that does not verify);
 *  - DKIM_ERR_INTERNAL: "temperror";
 *  - every signature and key record error, expiry and future t= included:
 *    "permerror".  RFC 6376 6.1.1 and 6.1.2 make each of them PERMFAIL
 *    (the signature is ignored for good, a retry will not change it),
 *    which RFC 8601 calls permerror.  Weak keys and rsa-sha1 are the same
 *    (RFC 8301: MUST NOT be considered valid).
 * A caller that prefers "neutral" for some of these (some verifiers report
 * expired signatures so) maps them itself.
 */
const char *dkim_err_result(enum dkim_err e);

/* ---- tag-lists (dkim_tags.c) ---- */

struct dkim_tag {
	struct slice name;
	struct slice value;	/* without surrounding FWS; inner FWS kept */
};

struct dkim_tags {
	size_t count;
	struct dkim_tag tag[DKIM_TAGS_MAX];
};

/*
 * Parses a tag-list strictly per RFC 6376 3.2 into slices of p (which must
 * outlive tags_r).  Errors: DKIM_ERR_SYNTAX, DKIM_ERR_DUP_TAG,
 * DKIM_ERR_TOO_MANY_TAGS, DKIM_ERR_TAG_TOO_LONG.  FWS is [*WSP CRLF] 1*WSP:
 * a CR or LF anywhere else is a syntax error.
 */
enum dkim_err dkim_tags_parse(const char *p, size_t len, struct dkim_tags *tags_r);
/* The tag named name (case-sensitive, RFC 6376 3.2), or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *tags, const char *name);
/* Is word one of the colon-separated items of a tag's value v (FWS around colons)? */
bool dkim_tag_value_lists(struct slice v, const char *word);

/*
 * Base64 (RFC 2045 6.8) with SP, HTAB, CR and LF ignored anywhere, padding
 * required.  Decodes into out (at most out_max bytes).  DKIM_ERR_BASE64 on
 * bad characters, bad padding or output larger than out_max.
 */
enum dkim_err dkim_base64_decode(struct slice in, uint8_t *out, size_t out_max,
				 size_t *len_r);
/* Appends the base64 of p to out (no whitespace). */
void dkim_base64_encode(const uint8_t *p, size_t n, struct buf *out);

/* ---- DKIM-Signature (dkim_sig.c) ---- */

enum dkim_alg {
	DKIM_ALG_UNKNOWN = 0,
	DKIM_ALG_RSA_SHA256,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1,	/* recognised, never verified */
};

enum dkim_canon {
	DKIM_CANON_SIMPLE = 0,
	DKIM_CANON_RELAXED,
};

enum dkim_hash {
	DKIM_HASH_SHA256 = 0,
	DKIM_HASH_SHA1,
};

/* "rsa-sha256" etc.; "unknown" for DKIM_ALG_UNKNOWN. */
const char *dkim_alg_name(enum dkim_alg a);
const char *dkim_canon_name(enum dkim_canon c);
/* The hash an algorithm uses (DKIM_HASH_SHA256 for UNKNOWN). */
enum dkim_hash dkim_alg_hash(enum dkim_alg a);

/*
 * A parsed DKIM-Signature.  Strings and arrays live in the arena given to
 * dkim_sig_parse.  Even when parsing fails, the struct holds what could be
 * read (d and s in particular, for header.d / header.s in results); fields
 * not read are NULL / 0 / false.
 */
struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon canon_header;	/* default simple */
	enum dkim_canon canon_body;	/* default simple */
	const uint8_t *b;		/* decoded signature */
	size_t b_len;
	const uint8_t *bh;		/* decoded body hash */
	size_t bh_len;
	const char *d;			/* SDID as written */
	const char *s;			/* selector */
	const char *i;			/* AUID, FWS removed; default "@" d */
	const char *i_domain;		/* points into i, after the last '@' */
	const char **h;			/* signed field names, as written */
	size_t h_count;
	bool has_l;
	uint64_t l;			/* capped at UINT64_MAX */
	bool has_t;
	uint64_t t;			/* capped at UINT64_MAX */
	bool has_x;
	uint64_t x;			/* capped at UINT64_MAX */
	/* The field value as parsed, and where b='s value lies in it: the
	   bytes [b_cut, b_end) are left out of the header hash. */
	const char *raw;
	size_t raw_len;
	size_t b_cut;
	size_t b_end;
};

/*
 * Parses and validates a DKIM-Signature field value (everything after the
 * colon, folds included) per RFC 6376 3.5 and 6.1.1.  *sig_r is always set
 * (arena memory).  Unknown tags are ignored; z= is not decoded.  Returns
 * the first error found, tag-list errors first, then missing tags, v=, a=,
 * then the other tags.  Time is not checked here: dkim_sig_check_time().
 */
enum dkim_err dkim_sig_parse(struct arena *a, const char *value, size_t len,
			     struct dkim_sig **sig_r);
/*
 * Expiry (x= before now) and creation time (t= after now + future_skew).
 * Returns DKIM_OK, DKIM_ERR_EXPIRED or DKIM_ERR_FUTURE.
 */
enum dkim_err dkim_sig_check_time(const struct dkim_sig *sig, uint64_t now,
				  uint64_t future_skew);

/* ---- public keys (dkim_key.c) ---- */

enum dkim_key_type {
	DKIM_KEY_RSA = 0,
	DKIM_KEY_ED25519,
};

/* "rsa" / "ed25519" (the k= words, also fine for "(2048-bit rsa key)"). */
const char *dkim_key_type_name(enum dkim_key_type t);

struct dkim_key {
	enum dkim_key_type type;
	EVP_PKEY *pkey;
	/*
	 * RSA: a context ready to verify PKCS#1 v1.5 SHA-256 signatures with
	 * pkey, made once (making one per signature cost 3 us of a 15 us
	 * verify, bench/); NULL for Ed25519 (a context per signature), or if
	 * OpenSSL would not make one (then verifying is an internal error).
	 * It is this copy's own: copies are made with dkim_key_dup().
	 */
	EVP_PKEY_CTX *verify;
	int bits;		/* RSA modulus bits; 256 for Ed25519 */
	bool allow_sha1;	/* h= (only to explain a refusal) */
	bool allow_sha256;
	bool testing;		/* t=y */
	bool strict;		/* t=s */
};

/*
 * Parses a key record (RFC 6376 3.6.1; RFC 8463 for k=ed25519), e.g. the
 * concatenated strings of a TXT record.  On DKIM_OK, *key_r is a new key
 * (free with dkim_key_free); otherwise *key_r is NULL.  p= holds either a
 * SubjectPublicKeyInfo (what everybody publishes) or a bare PKCS#1
 * RSAPublicKey (what RFC 6376 literally says; some publish it) for rsa, and
 * the raw 32-byte public key for ed25519.  A short RSA key parses (so its
 * size can be reported) but never verifies.
 */
enum dkim_err dkim_key_parse(const char *txt, size_t len, struct dkim_key **key_r);
void dkim_key_free(struct dkim_key **key);
/*
 * A copy the caller owns (free with dkim_key_free): the EVP_PKEY one more
 * reference, the verify context duplicated.  Not for the same key from two
 * threads at once (the key cache holds its lock).
 */
struct dkim_key *dkim_key_dup(const struct dkim_key *key);
/*
 * Can this key verify this signature: k= against a=, h= against the hash,
 * t=s against i=, RSA size bounds.  dkim_verify() calls it too.
 */
enum dkim_err dkim_key_check_sig(const struct dkim_key *key, const struct dkim_sig *sig);

/* A private key for signing, loaded once and shared (read-only). */
struct dkim_privkey {
	enum dkim_key_type type;
	EVP_PKEY *pkey;
	int bits;
};

/*
 * Loads a PEM private key from memory: "RSA PRIVATE KEY" (PKCS#1) or
 * "PRIVATE KEY" (PKCS#8, RSA or Ed25519); no passphrase.  Returns NULL with
 * *error_r set to static words on failure.  Free with dkim_privkey_free.
 */
struct dkim_privkey *dkim_privkey_load_pem(const char *pem, size_t len,
					   const char **error_r);
/*
 * Loads a PEM key file.  Unless allow_insecure, refuses a file readable or
 * writable by group or others.  On failure returns NULL and sets *error_r to
 * a message naming the file (free() it).
 */
struct dkim_privkey *dkim_privkey_load_file(const char *path, bool allow_insecure,
					    char **error_r);
void dkim_privkey_free(struct dkim_privkey **key);

/* ---- publishing keys and explaining published ones (dkim_publish.c) ---- */

/*
 * For the people who publish keys (cachet-keys, cachet doctor) rather than
 * for verification: the record a private key needs, and what is wrong
 * with a record found in DNS, in words.  The verifier never uses these.
 */

/* Appends the p= value of key's public half: the base64 of the DER
   SubjectPublicKeyInfo (rsa), or of the raw 32-byte key (ed25519, RFC 8463 4). */
void dkim_privkey_p(const struct dkim_privkey *key, struct buf *out);
/* Appends the key record's text on one line: "v=DKIM1; k=rsa; p=...". */
void dkim_privkey_record(const struct dkim_privkey *key, struct buf *out);
/*
 * Appends the record in master-file syntax (zone_txt_record), with a final
 * newline: SELECTOR._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=rsa; " "p=..." )
 */
void dkim_privkey_zone_record(const struct dkim_privkey *key, const char *selector,
			      const char *domain, struct buf *out);
/* Is key (from a record) the public half of priv? */
bool dkim_key_matches(const struct dkim_key *key, const struct dkim_privkey *priv);

enum dkim_keycheck_status {
	DKIM_KEYCHECK_USABLE,	/* one record holding a key that can verify rsa-sha256 or
				   ed25519-sha256 (problems may still hold warnings) */
	DKIM_KEYCHECK_ABSENT,	/* no TXT record at the name (NXDOMAIN, NODATA) */
	DKIM_KEYCHECK_TEMP,	/* the lookup failed temporarily: nothing is known */
	DKIM_KEYCHECK_BAD,	/* records, but no usable key: see problem[] */
};

#define DKIM_KEYCHECK_MAX_PROBLEMS 8
#define DKIM_KEYCHECK_PROBLEM_LEN 256

/*
 * What a key record says and what is wrong with it.  problem[] holds one
 * plain sentence per problem found, the most likely cause first: a
 * record cut short (p= not whole base64, or shorter than its DER header
 * announces), a quote or a backslash in the data (zone-file quoting that
 * got into the record), white space inside p= (legal, RFC 6376 3.6.1, but
 * the mark of a paste in pieces), several records at one name (RFC 6376
 * 3.6.2.2), v= not first, v= not DKIM1, k= unknown, h= without sha256,
 * s= without email, no p=, an empty p= (revoked), an RSA key outside
 * 1024..8192 bits.
 */
struct dkim_keycheck {
	enum dkim_keycheck_status status;
	enum dkim_err err;	/* dkim_key_parse()'s answer for the record checked */
	struct dkim_key *key;	/* the parsed key whenever it parsed (even if BAD), or NULL */
	size_t records;		/* TXT records at the name */
	char problem[DKIM_KEYCHECK_MAX_PROBLEMS][DKIM_KEYCHECK_PROBLEM_LEN];
	size_t n_problems;
};

struct dns_answer;
/* Checks the TXT answer for a SELECTOR._domainkey name.  Clear with dkim_keycheck_clear. */
void dkim_keycheck_answer(const struct dns_answer *a, struct dkim_keycheck *out);
/* Checks one record's text (its strings concatenated). */
void dkim_keycheck_record(const char *txt, size_t len, struct dkim_keycheck *out);
void dkim_keycheck_clear(struct dkim_keycheck *kc);

/* ---- canonicalization and the body hash (dkim_canon.c) ---- */

/*
 * One header field: name as received (WSP before the colon may be included,
 * as hdr_reader's raw field has it) and the value after the colon, folds as
 * CRLF + WSP, without the final CRLF.
 */
struct dkim_field {
	struct slice name;
	struct slice value;
};

/*
 * Appends the canonical form of a field (RFC 6376 3.4.1 / 3.4.2), with a
 * final CRLF when crlf.  Simple is name ":" value, byte for byte.
 */
void dkim_canon_header(enum dkim_canon c, const struct dkim_field *f, bool crlf,
		       struct buf *out);
/* Does the field's name (WSP before the colon ignored) equal name, ignoring case? */
bool dkim_field_is(const struct dkim_field *f, const char *name);

/*
 * A streaming body hash: body canonicalization (RFC 6376 3.4.3 / 3.4.4)
 * and the hash, truncated at l= when has_l.  Holds only a count of pending
 * CRLFs and one pending-whitespace flag: the body is never buffered.
 */
struct dkim_bodyhash;

/* The OpenSSL digest of h, fetched once (shared, never freed). */
const EVP_MD *dkim_hash_md(enum dkim_hash h);

/* Free with dkim_bodyhash_free. */
struct dkim_bodyhash *dkim_bodyhash_new(enum dkim_canon canon, enum dkim_hash hash,
					bool has_l, uint64_t l);
void dkim_bodyhash_free(struct dkim_bodyhash **bh);
/* Can a signature with these parameters use this object? */
bool dkim_bodyhash_same(const struct dkim_bodyhash *bh, enum dkim_canon canon,
			enum dkim_hash hash, bool has_l, uint64_t l);
/* Also appends every canonical byte hashed to out (for tests and -v). */
void dkim_bodyhash_copy_to(struct dkim_bodyhash *bh, struct buf *out);
/*
 * For tests: scan with the 16-byte SSE2 loop even where the 64-byte
 * AVX-512 one is usable, so both are checked on one machine.
 */
void dkim_bodyhash_narrow_scan(struct dkim_bodyhash *bh);
/* Feeds body bytes (CRLF line ends), any chunking. */
void dkim_bodyhash_update(struct dkim_bodyhash *bh, const uint8_t *p, size_t n);
/*
 * Ends the body (first call) and gives the digest; later calls return the
 * same digest.  Returns its length.
 */
size_t dkim_bodyhash_final(struct dkim_bodyhash *bh, uint8_t out[DKIM_HASH_MAX]);
/* After final: canonical bytes hashed (at most l). */
uint64_t dkim_bodyhash_length(const struct dkim_bodyhash *bh);
/*
 * After final: did the canonical body go on beyond l= (so the signature
 * does not cover the whole body; RFC 6376 8.2)?
 */
bool dkim_bodyhash_truncated(const struct dkim_bodyhash *bh);

/* ---- header hash, verify, sign (dkim_crypto.c) ---- */

/*
 * The header hash for verification (RFC 6376 3.7 step 2, 5.4.2): the fields
 * named in sig->h, each instance taken from the bottom up, a name listed
 * more often than present adding nothing; then the signature field
 * fields[sig_index] (never itself selected) with b='s value cut out,
 * without its CRLF.  fields[sig_index].value must be the value sig was
 * parsed from.  Writes the digest to out and returns its length.
 */
size_t dkim_header_hash(const struct dkim_sig *sig, const struct dkim_field *fields,
			size_t count, size_t sig_index, uint8_t out[DKIM_HASH_MAX]);

/*
 * Verifies one signature: key fitness (dkim_key_check_sig), then the body
 * hash (finalising body, which must match dkim_bodyhash_same for sig),
 * then the signature over the header hash.  Returns DKIM_OK,
 * DKIM_ERR_BODY_HASH, DKIM_ERR_SIGNATURE, a key error, or
 * DKIM_ERR_INTERNAL.  Does not check time or l= coverage.
 */
enum dkim_err dkim_verify(const struct dkim_sig *sig, const struct dkim_key *key,
			  const struct dkim_field *fields, size_t count,
			  size_t sig_index, struct dkim_bodyhash *body);

/* What dkim_verify_diagnose() can tell about a signature. */
enum dkim_diag {
	DKIM_DIAG_UNKNOWN,	/* cannot tell (Ed25519; or OpenSSL refused) */
	DKIM_DIAG_VERIFIES,	/* b= verifies over the header fields as they are */
	DKIM_DIAG_HEADERS,	/* made with this key, over other header fields: one changed */
	DKIM_DIAG_OTHER_KEY,	/* not made with this key (a rotated or wrong key published) */
};

/*
 * For a person, not for the verdict (cachet check): after dkim_verify()
 * said DKIM_ERR_SIGNATURE or DKIM_ERR_BODY_HASH, does b= verify over the
 * header as it is, and if not, was it made with this key?  For RSA the
 * signature is opened with the public key (PKCS#1 v1.5 type 1 padding,
 * which a wrong key yields with a chance of about 2^-80) and, when it
 * opens, holds the SHA-256 DigestInfo of the header fields the signer
 * saw.  Ed25519 signatures cannot be opened: UNKNOWN unless they verify.
 */
enum dkim_diag dkim_verify_diagnose(const struct dkim_sig *sig, const struct dkim_key *key,
				    const struct dkim_field *fields, size_t count,
				    size_t sig_index);

/*
 * Signs a header hash: RSA PKCS#1 v1.5 with the SHA-256 DigestInfo, or
 * Ed25519 over the 32 hash bytes (RFC 8463 3).  sig_r has room for
 * DKIM_SIG_BYTES_MAX.
 */
enum dkim_err dkim_sign_digest(const struct dkim_privkey *key, const uint8_t *hash,
			       size_t hash_len, uint8_t *sig_r, size_t *sig_len_r);

/*
 * The h= list for signing: each name in names once for every instance
 * present in fields (names absent are left out), plus once more for names
 * also in oversign (RFC 6376 5.4.2: the extra entry forbids adding one).
 * Case-insensitive.  Returns an arena array of the names (as given in
 * names) and its length in *count_r.
 */
const char **dkim_sign_select_headers(struct arena *a, const struct dkim_field *fields,
				      size_t count, const char *const *names,
				      size_t nnames, const char *const *oversign,
				      size_t noversign, size_t *count_r);

struct dkim_sign_params {
	const char *domain;		/* d= */
	const char *selector;		/* s= */
	const char *auid;		/* i=, or NULL for none */
	enum dkim_canon canon_header;
	enum dkim_canon canon_body;
	const char *const *h;		/* h= names, e.g. from dkim_sign_select_headers */
	size_t h_count;
	bool has_t;
	uint64_t t;
	bool has_x;
	uint64_t x;
};

/*
 * The fields signed by default (each once per instance present) and the
 * ones oversigned (once more than present): dkim_defaults.c.
 */
extern const char *const dkim_default_sign_headers[];
extern const size_t dkim_default_sign_headers_count;
extern const char *const dkim_default_oversign_headers[];
extern const size_t dkim_default_oversign_headers_count;

/*
 * Builds and signs a DKIM-Signature.  body must have been created with the
 * params' body canonicalization, SHA-256 and no l=, and fed the whole
 * body; it is finalised here.  Appends to value_r the field value, folded
 * at 78 columns with CRLF + TAB, tags in the order v a c d i s t x h bh b,
 * WITHOUT a leading space: the signed field is "DKIM-Signature: " + value,
 * so whoever inserts it writes exactly one SP after the colon (a milter
 * that negotiated SMFIP_HDR_LEADSPC passes " " + value).  Returns DKIM_OK,
 * DKIM_ERR_PRIVKEY or DKIM_ERR_INTERNAL.
 */
enum dkim_err dkim_sign(const struct dkim_privkey *key, const struct dkim_sign_params *p,
			const struct dkim_field *fields, size_t count,
			struct dkim_bodyhash *body, struct buf *value_r);

#endif
