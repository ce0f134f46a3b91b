/*
 * Publishing DKIM keys (see dkim.h, "publishing keys"): the key record a
 * private key needs, and a published record explained in words for the
 * person who published it.  Used by cachet-keys (genkey, testkey, rotate)
 * and `cachet doctor`; the verifier never calls it and keeps its own
 * strict, terse dkim_key_parse().
 *
 * The explanation goes beyond dkim_key_parse()'s one error: it looks at
 * the record the way a person pasted it.  The commonest accidents with a
 * 2048-bit key (whose p= is longer than one 255-octet character-string)
 * are a p= cut where the web form or the editor wrapped it, the second
 * half published as a record of its own, zone-file quotes pasted into a
 * web form (so they are data), and a space where two pieces were joined.
 * "Cut" is decided from the data, not guessed: base64 that does not end
 * on a 4-character boundary, or a DER SubjectPublicKeyInfo whose header
 * announces more bytes than p= holds.
 */
#include "dkim.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "dns.h"
#include "zone.h"

#define ED25519_KEY_LEN 32
#define DER_SEQUENCE 0x30

void dkim_privkey_p(const struct dkim_privkey *key, struct buf *out)
{
	if (key->type == DKIM_KEY_ED25519) {
		uint8_t raw[ED25519_KEY_LEN];
		size_t len = sizeof(raw);
		ASSERT(EVP_PKEY_get_raw_public_key(key->pkey, raw, &len) == 1 &&
		       len == ED25519_KEY_LEN);
		dkim_base64_encode(raw, len, out);
		return;
	}
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key->pkey, &der);
	ASSERT(len > 0);
	dkim_base64_encode(der, (size_t)len, out);
	OPENSSL_free(der);
}

static void record_head(const struct dkim_privkey *key, struct buf *out)
{
	buf_printf(out, "v=DKIM1; k=%s; ", dkim_key_type_name(key->type));
}

void dkim_privkey_record(const struct dkim_privkey *key, struct buf *out)
{
	record_head(key, out);
	buf_puts(out, "p=");
	dkim_privkey_p(key, out);
}

void dkim_privkey_zone_record(const struct dkim_privkey *key, const char *selector,
			      const char *domain, struct buf *out)
{
	struct buf head, p, owner;
	buf_init(&head, 0);
	buf_init(&p, 0);
	buf_init(&owner, 0);
	record_head(key, &head);
	buf_puts(&p, "p=");
	dkim_privkey_p(key, &p);
	size_t dlen = strlen(domain);
	buf_printf(&owner, "%s._domainkey.%s%s", selector, domain,
		   dlen > 0 && domain[dlen - 1] == '.' ? "" : ".");
	struct slice parts[2] = { slice_make(head.p, head.len), slice_make(p.p, p.len) };
	zone_txt_record(out, owner.p, parts, 2);
	buf_free(&head);
	buf_free(&p);
	buf_free(&owner);
}

bool dkim_key_matches(const struct dkim_key *key, const struct dkim_privkey *priv)
{
	int r = EVP_PKEY_eq(key->pkey, priv->pkey);
	ERR_clear_error();
	return r == 1;
}

/* ---- explaining a published record ---- */

static void problem(struct dkim_keycheck *kc, const char *fmt, ...) PRINTF(2, 3);

static void problem(struct dkim_keycheck *kc, const char *fmt, ...)
{
	if (kc->n_problems == DKIM_KEYCHECK_MAX_PROBLEMS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(kc->problem[kc->n_problems++], DKIM_KEYCHECK_PROBLEM_LEN, fmt, ap);
	va_end(ap);
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The size a DER SEQUENCE at p announces, header included; 0 if p starts none. */
static size_t der_announced(const uint8_t *p, size_t n)
{
	if (n < 2 || p[0] != DER_SEQUENCE)
		return 0;
	if (p[1] < 0x80)
		return 2 + (size_t)p[1];
	size_t k = p[1] & 0x7f, len = 0;
	if (k == 0 || k > 3 || n < 2 + k)
		return 0;
	for (size_t i = 0; i < k; i++)
		len = len << 8 | p[2 + i];
	return 2 + k + len;
}

/* Is everything from p.p[i] on '=' or white space (base64 padding)? */
static bool only_padding_after(struct slice p, size_t i)
{
	for (; i < p.len; i++)
		if (p.p[i] != '=' && !is_space(p.p[i]))
			return false;
	return true;
}

/*
 * p= as base64: characters outside the alphabet, white space, a length
 * that is no whole number of quantums, and (rsa) a DER key announcing more
 * bytes than are there.  Returns true when it found why p= cannot hold a key.
 */
static bool check_p(struct dkim_keycheck *kc, struct slice p, bool ed25519)
{
	size_t chars = 0, first_space = SIZE_MAX;
	for (size_t i = 0; i < p.len; i++) {
		char c = p.p[i];
		if (is_space(c)) {
			if (first_space == SIZE_MAX)
				first_space = i;
			continue;
		}
		if (c == '=' && only_padding_after(p, i)) {
			chars++;
			continue;
		}
		if (c == '=' || !is_b64(c)) {
			if (c != '"' && c != '\\')	/* said already, for the whole record */
				problem(kc, "p= holds '%c' at character %zu, which is not base64",
					c, i + 1);
			return true;
		}
		chars++;
	}
	if (first_space != SIZE_MAX)
		problem(kc, "p= holds white space (at character %zu): RFC 6376 allows it, "
			"but it is the mark of a key pasted in pieces and some receivers refuse it; "
			"remove it", first_space + 1);
	uint8_t der[DKIM_KEY_BYTES_MAX];
	size_t len = 0;
	if (chars % 4 != 0) {
		/* what the whole quantums say the key should have been */
		size_t whole = 0, k = 0;
		while (k < p.len && whole < chars / 4 * 4)
			whole += !is_space(p.p[k++]);
		size_t announced = 0;
		if (!ed25519 && dkim_base64_decode(slice_make(p.p, k), der, sizeof(der), &len) == DKIM_OK)
			announced = der_announced(der, len);
		if (announced > len)
			problem(kc, "p= has %zu base64 characters where the key in it announces %zu "
				"bytes (%zu characters): the record was cut; publish the whole p= value",
				chars, announced, (announced + 2) / 3 * 4);
		else
			problem(kc, "p= has %zu base64 characters, not a multiple of 4: the key was "
				"cut short (or a character was added); publish the whole p= value",
				chars);
		return true;
	}
	if (dkim_base64_decode(p, der, sizeof(der), &len) != DKIM_OK) {
		problem(kc, "p= is not valid base64");
		return true;
	}
	if (ed25519) {
		if (len < ED25519_KEY_LEN)
			problem(kc, "p= holds %zu bytes where an Ed25519 key has 32 (RFC 8463): "
				"the key was cut short", len);
		else if (len > ED25519_KEY_LEN)
			problem(kc, "p= holds %zu bytes where an Ed25519 key has 32 (RFC 8463: the "
				"raw key, not a SubjectPublicKeyInfo)", len);
		return len != ED25519_KEY_LEN;
	}
	size_t announced = der_announced(der, len);
	if (announced > len) {
		problem(kc, "p= holds %zu bytes but the key in it announces %zu: the record was "
			"cut (%zu of %zu base64 characters are there); publish the whole p= value",
			len, announced, chars, (announced + 2) / 3 * 4);
		return true;
	}
	if (announced != 0 && announced < len) {
		problem(kc, "p= holds %zu bytes after the end of the key (%zu bytes): something "
			"was appended to it", len - announced, announced);
		return true;
	}
	return false;
}

/* Does a value other than p='s run on into another tag ("DKIM1 k=rsa"): a ';' left out? */
static bool missing_semicolon(const struct dkim_tag *t, struct slice *next_r)
{
	struct slice v = t->value;
	if (slice_eq(t->name, "p"))
		return false;
	for (size_t i = 1; i < v.len; i++) {
		if (!is_space(v.p[i - 1]) || !((v.p[i] >= 'a' && v.p[i] <= 'z') ||
					      (v.p[i] >= 'A' && v.p[i] <= 'Z')))
			continue;
		size_t k = i;
		while (k < v.len && ((v.p[k] >= 'a' && v.p[k] <= 'z') ||
				     (v.p[k] >= 'A' && v.p[k] <= 'Z') || v.p[k] == '_'))
			k++;
		/* a tag of RFC 6376 3.6.1 (base64 in p= can look like "AB=") */
		if (k == i + 1 && k < v.len && v.p[k] == '=' && strchr("vhknpst", v.p[i]) != NULL) {
			*next_r = slice_make(v.p + i, k + 1 - i);
			return true;
		}
	}
	return false;
}

/* The tags, one by one, in words (the record's tag-list parsed). */
static void check_tags(struct dkim_keycheck *kc, const struct dkim_tags *tags)
{
	for (size_t i = 0; i < tags->count; i++) {
		struct slice next;
		if (missing_semicolon(&tags->tag[i], &next)) {
			problem(kc, "%.*s= runs on into \"%.*s\": a ';' is missing between the tags",
				(int)tags->tag[i].name.len, tags->tag[i].name.p, (int)next.len, next.p);
			return;
		}
	}
	const struct dkim_tag *t = dkim_tags_get(tags, "v");
	if (t != NULL && t != &tags->tag[0])
		problem(kc, "v=DKIM1 is not the first tag: RFC 6376 3.6.1 wants it first or "
			"absent, and receivers reject the record");
	else if (t != NULL && !slice_eq(t->value, "DKIM1"))
		problem(kc, "v=%.*s: the version must be DKIM1", (int)t->value.len, t->value.p);
	bool ed = false;
	if ((t = dkim_tags_get(tags, "k")) != NULL) {
		ed = slice_eq(t->value, "ed25519");
		if (!ed && !slice_eq(t->value, "rsa"))
			problem(kc, "k=%.*s: unknown key type (rsa or ed25519)", (int)t->value.len,
				t->value.p);
	}
	if ((t = dkim_tags_get(tags, "h")) != NULL && !dkim_tag_value_lists(t->value, "sha256"))
		problem(kc, "h=%.*s leaves out sha256: no signature can verify with this key "
			"(rsa-sha1 is refused, RFC 8301); drop h= or list sha256",
			(int)t->value.len, t->value.p);
	if ((t = dkim_tags_get(tags, "s")) != NULL && !dkim_tag_value_lists(t->value, "email") &&
	    !dkim_tag_value_lists(t->value, "*"))
		problem(kc, "s=%.*s: the key is not for email (drop s= or list email)",
			(int)t->value.len, t->value.p);
	if ((t = dkim_tags_get(tags, "p")) == NULL)
		problem(kc, "there is no p= tag: the record holds no key");
	else if (t->value.len == 0)
		problem(kc, "p= is empty: the key is revoked (RFC 6376 3.6.1)");
	else
		(void)check_p(kc, t->value, ed);
}

void dkim_keycheck_record(const char *txt, size_t len, struct dkim_keycheck *out)
{
	memset(out, 0, sizeof(*out));
	out->records = 1;
	const char *q = memchr(txt, '"', len);
	const char *bs = memchr(txt, '\\', len);
	if (q != NULL)
		problem(out, "the record holds a '\"' (at character %zu): zone-file quotes got "
			"into the data (pasted into a web form, or escaped); publish only the text "
			"between the quotes", (size_t)(q - txt) + 1);
	else if (bs != NULL)
		problem(out, "the record holds a '\\' (at character %zu): an escape got into the "
			"data; publish the text without it", (size_t)(bs - txt) + 1);
	out->err = dkim_key_parse(txt, len, &out->key);
	struct dkim_tags tags;
	if (dkim_tags_parse(txt, len, &tags) == DKIM_OK)
		check_tags(out, &tags);
	else if (q == NULL && bs == NULL)
		problem(out, "the record is not a list of tag=value pairs separated by ';' "
			"(RFC 6376 3.2)");
	const struct dkim_key *k = out->key;
	bool usable = out->err == DKIM_OK && k->allow_sha256;
	if (out->err == DKIM_OK && k->type == DKIM_KEY_RSA && k->bits < DKIM_RSA_MIN_BITS) {
		problem(out, "the RSA key has %d bits: receivers ignore keys under %d bits "
			"(RFC 8301 3.2); make a 2048-bit key", k->bits, DKIM_RSA_MIN_BITS);
		usable = false;
	} else if (out->err == DKIM_OK && k->type == DKIM_KEY_RSA && k->bits > DKIM_RSA_MAX_BITS) {
		problem(out, "the RSA key has %d bits: more than receivers accept (%d)", k->bits,
			DKIM_RSA_MAX_BITS);
		usable = false;
	}
	if (!usable && out->n_problems == 0)
		problem(out, "%s", dkim_err_text(out->err != DKIM_OK ? out->err : DKIM_ERR_KEY_HASH));
	out->status = usable ? DKIM_KEYCHECK_USABLE : DKIM_KEYCHECK_BAD;
}

/* Only base64 and white space: a piece of p= published as a record of its own? */
static bool looks_like_b64_piece(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (is_b64(s[i]) || s[i] == '=')
			n++;
		else if (!is_space(s[i]))
			return false;
	}
	return n >= 16;
}

void dkim_keycheck_answer(const struct dns_answer *a, struct dkim_keycheck *out)
{
	memset(out, 0, sizeof(*out));
	if (dns_status_temporary(a->status)) {
		out->status = DKIM_KEYCHECK_TEMP;
		problem(out, "the lookup failed (%s): try again", dns_status_name(a->status));
		return;
	}
	if (a->status != DNS_OK || a->count == 0) {
		out->status = DKIM_KEYCHECK_ABSENT;
		return;
	}
	/* the record to explain: the first that has a p=, else the first */
	size_t pick = 0;
	for (size_t i = 0; i < a->count; i++)
		if (strstr(a->rr[i].u.txt.data, "p=") != NULL) {
			pick = i;
			break;
		}
	dkim_keycheck_record(a->rr[pick].u.txt.data, a->rr[pick].u.txt.len, out);
	out->records = a->count;
	if (a->count == 1)
		return;
	struct dkim_keycheck several = { 0 };
	problem(&several, "%zu TXT records at this name: RFC 6376 3.6.2.2 wants exactly one "
		"(with several, results are undefined)", a->count);
	for (size_t i = 0; i < a->count; i++)
		if (i != pick && looks_like_b64_piece(a->rr[i].u.txt.data, a->rr[i].u.txt.len))
			problem(&several, "one record holds only base64: it looks like the rest of "
				"p=, published as a record of its own; put both parts in one record "
				"(several strings in one TXT record are joined)");
	/* the answer's problems first, then the record's */
	for (size_t i = 0; i < out->n_problems && several.n_problems < DKIM_KEYCHECK_MAX_PROBLEMS; i++)
		memcpy(several.problem[several.n_problems++], out->problem[i],
		       DKIM_KEYCHECK_PROBLEM_LEN);
	memcpy(out->problem, several.problem, sizeof(out->problem));
	out->n_problems = several.n_problems;
	out->status = DKIM_KEYCHECK_BAD;
}

void dkim_keycheck_clear(struct dkim_keycheck *kc)
{
	dkim_key_free(&kc->key);
}
