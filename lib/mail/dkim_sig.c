/*
 * DKIM-Signature parsing and validation (RFC 6376 3.5, 6.1.1; RFC 8463 for
 * ed25519-sha256; RFC 8301 for the refusal of rsa-sha1).
 *
 * Every check that needs only the field is done here, so a signature that
 * passes dkim_sig_parse can go straight to the key lookup.  Choices:
 *  - d= must be an RFC 5321 domain of at least two labels (as the ABNF
 *    says); s= labels may also hold "_" (seen in the wild, harmless in
 *    DNS).  Both are compared case-insensitively by callers.
 *  - Numbers (l=, t=, x=) larger than UINT64_MAX are capped there ("MAY
 *    consider any value longer than 12 digits to be infinite"); l= is
 *    limited to 76 digits, t= and x= to 76 as well (anything longer is
 *    a syntax error, not a denial of service).
 *  - q= must name dns/txt (the only method there is).
 */
#include "dkim.h"

#include <string.h>
#include <strings.h>

#include "compiler.h"

#define NUMBER_DIGITS_MAX 76	/* RFC 6376 3.5 l= */

static const char *const required_tags[] = { "v", "a", "b", "bh", "d", "h", "s" };

struct alg_name {
	const char *name;
	enum dkim_alg alg;
};

static const struct alg_name alg_names[] = {
	{ "rsa-sha256", DKIM_ALG_RSA_SHA256 },
	{ "ed25519-sha256", DKIM_ALG_ED25519_SHA256 },
	{ "rsa-sha1", DKIM_ALG_RSA_SHA1 },
};

const char *dkim_alg_name(enum dkim_alg a)
{
	for (size_t i = 0; i < ARRAY_LEN(alg_names); i++)
		if (alg_names[i].alg == a)
			return alg_names[i].name;
	return "unknown";
}

const char *dkim_canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_RELAXED ? "relaxed" : "simple";
}

enum dkim_hash dkim_alg_hash(enum dkim_alg a)
{
	return a == DKIM_ALG_RSA_SHA1 ? DKIM_HASH_SHA1 : DKIM_HASH_SHA256;
}

static bool is_wsp_or_crlf(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An arena copy of s without FWS (for i=, whose FWS is not part of it). */
static char *copy_without_fws(struct arena *a, struct slice s)
{
	char *r = arena_alloc(a, s.len + 1);
	size_t n = 0;
	for (size_t i = 0; i < s.len; i++)
		if (!is_wsp_or_crlf(s.p[i]))
			r[n++] = s.p[i];
	r[n] = '\0';
	return r;
}

static bool is_let_dig(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str] (RFC 5321
 * 4.1.2), labels of at most 63; extra_ok is one more byte allowed inside a
 * label (for selectors).  min_labels 2 for d=.
 */
static bool domain_valid(const char *s, size_t len, char extra_ok, size_t min_labels)
{
	size_t labels = 0, i = 0;
	if (len == 0 || len > 253)
		return false;
	while (i <= len) {
		size_t start = i;
		while (i < len && s[i] != '.')
			i++;
		size_t n = i - start;
		if (n == 0 || n > 63)
			return false;
		for (size_t k = start; k < i; k++) {
			char c = s[k];
			if (is_let_dig(c) || (extra_ok != '\0' && c == extra_ok))
				continue;
			/* Ldh-str: a hyphen neither first nor last. */
			if (c == '-' && k > start && k + 1 < i)
				continue;
			return false;
		}
		labels++;
		i++;
	}
	return labels >= min_labels;
}

/* 1*76DIGIT, capped at UINT64_MAX. */
static bool parse_number(struct slice v, uint64_t *r)
{
	if (v.len == 0 || v.len > NUMBER_DIGITS_MAX)
		return false;
	uint64_t n = 0;
	bool capped = false;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.p[i];
		if (c < '0' || c > '9')
			return false;
		unsigned d = (unsigned)(c - '0');
		if (n > (UINT64_MAX - d) / 10)
			capped = true;
		else if (!capped)
			n = n * 10 + d;
	}
	*r = capped ? UINT64_MAX : n;
	return true;
}

static enum dkim_err parse_alg(struct slice v, enum dkim_alg *alg_r)
{
	for (size_t i = 0; i < ARRAY_LEN(alg_names); i++) {
		if (slice_eq(v, alg_names[i].name)) {
			*alg_r = alg_names[i].alg;
			return alg_names[i].alg == DKIM_ALG_RSA_SHA1 ? DKIM_ERR_RSA_SHA1
								      : DKIM_OK;
		}
	}
	*alg_r = DKIM_ALG_UNKNOWN;
	return DKIM_ERR_ALGORITHM;
}

static bool canon_word(struct slice w, enum dkim_canon *c_r)
{
	if (slice_eq(w, "simple"))
		*c_r = DKIM_CANON_SIMPLE;
	else if (slice_eq(w, "relaxed"))
		*c_r = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

/* RFC 6376 3.5 c=: "header[/body]", body defaulting to simple. */
static enum dkim_err parse_canon(struct slice v, struct dkim_sig *sig)
{
	const char *slash = memchr(v.p, '/', v.len);
	struct slice head = slice_make(v.p, slash ? (size_t)(slash - v.p) : v.len);
	if (!canon_word(head, &sig->canon_header))
		return DKIM_ERR_CANON;
	sig->canon_body = DKIM_CANON_SIMPLE;
	if (slash != NULL) {
		struct slice body = slice_make(slash + 1, v.len - head.len - 1);
		if (!canon_word(body, &sig->canon_body))
			return DKIM_ERR_CANON;
	}
	return DKIM_OK;
}

/*
 * Splits a colon-separated list with FWS around the colons into trimmed
 * items.  Returns the number of items, or -1 if an item is empty or there
 * are more than max.
 */
static long split_list(struct slice v, struct slice *items, size_t max)
{
	size_t n = 0, i = 0;
	for (;;) {
		size_t start = i;
		while (i < v.len && v.p[i] != ':')
			i++;
		struct slice item = slice_trim(slice_make(v.p + start, i - start));
		if (item.len == 0 || n == max)
			return -1;
		items[n++] = item;
		if (i == v.len)
			return (long)n;
		i++;
	}
}

static enum dkim_err parse_h(struct arena *a, struct slice v, struct dkim_sig *sig)
{
	struct slice *items = arena_alloc_array(a, DKIM_H_MAX, sizeof(*items));
	long n = split_list(v, items, DKIM_H_MAX);
	if (n <= 0)
		return DKIM_ERR_H_SYNTAX;
	sig->h = arena_alloc_array(a, (size_t)n, sizeof(*sig->h));
	bool from = false;
	for (size_t k = 0; k < (size_t)n; k++) {
		/* Field names are ftext (RFC 5322 3.6.8): no WSP inside one. */
		for (size_t j = 0; j < items[k].len; j++) {
			unsigned char c = (unsigned char)items[k].p[j];
			if (c < 33 || c > 126)
				return DKIM_ERR_H_SYNTAX;
		}
		sig->h[k] = arena_memdup(a, items[k].p, items[k].len);
		if (slice_eq_ci(items[k], "from"))
			from = true;
	}
	sig->h_count = (size_t)n;
	/* RFC 6376 6.1.1: From must be signed. */
	return from ? DKIM_OK : DKIM_ERR_H_NO_FROM;
}

static enum dkim_err parse_q(struct slice v)
{
	struct slice items[DKIM_TAGS_MAX];
	long n = split_list(v, items, ARRAY_LEN(items));
	if (n <= 0)
		return DKIM_ERR_SYNTAX;
	for (size_t k = 0; k < (size_t)n; k++)
		if (slice_eq(items[k], "dns/txt"))
			return DKIM_OK;
	return DKIM_ERR_QUERY;
}

/* RFC 6376 6.1.1: the i= domain is d= or a subdomain of it. */
static bool auid_within(const char *i_domain, const char *d)
{
	size_t il = strlen(i_domain), dl = strlen(d);
	if (il == dl)
		return strcasecmp(i_domain, d) == 0;
	return il > dl && i_domain[il - dl - 1] == '.' &&
	       strcasecmp(i_domain + il - dl, d) == 0;
}

static enum dkim_err parse_i(struct arena *a, const struct dkim_tag *t,
			     struct dkim_sig *sig)
{
	if (t == NULL) {
		sig->i = arena_printf(a, "@%s", sig->d);
		sig->i_domain = sig->i + 1;
		return DKIM_OK;
	}
	char *i = copy_without_fws(a, t->value);
	sig->i = i;
	char *at = strrchr(i, '@');
	if (at == NULL)
		return DKIM_ERR_AUID;
	sig->i_domain = at + 1;
	if (!domain_valid(sig->i_domain, strlen(sig->i_domain), '\0', 1))
		return DKIM_ERR_AUID;
	return auid_within(sig->i_domain, sig->d) ? DKIM_OK : DKIM_ERR_AUID_DOMAIN;
}

static enum dkim_err decode_b64(struct arena *a, struct slice v, size_t max,
				const uint8_t **p_r, size_t *len_r)
{
	uint8_t *out = arena_alloc(a, max);
	enum dkim_err e = dkim_base64_decode(v, out, max, len_r);
	if (e != DKIM_OK)
		return e;
	if (*len_r == 0)
		return DKIM_ERR_BASE64;
	*p_r = out;
	return DKIM_OK;
}

static enum dkim_err number_tag(const struct dkim_tags *tags, const char *name,
				bool *has_r, uint64_t *v_r)
{
	const struct dkim_tag *t = dkim_tags_get(tags, name);
	if (t == NULL)
		return DKIM_OK;
	if (!parse_number(t->value, v_r))
		return DKIM_ERR_NUMBER;
	*has_r = true;
	return DKIM_OK;
}

static enum dkim_err parse_numbers(const struct dkim_tags *tags, struct dkim_sig *sig)
{
	if (number_tag(tags, "l", &sig->has_l, &sig->l) != DKIM_OK ||
	    number_tag(tags, "t", &sig->has_t, &sig->t) != DKIM_OK ||
	    number_tag(tags, "x", &sig->has_x, &sig->x) != DKIM_OK)
		return DKIM_ERR_NUMBER;
	/* RFC 6376 3.5 x=: MUST be greater than t= if both are present. */
	if (sig->has_t && sig->has_x && sig->x <= sig->t)
		return DKIM_ERR_X_BEFORE_T;
	return DKIM_OK;
}

/* Records where b='s value (with the FWS before it) lies in the raw value. */
static void locate_b(const struct dkim_tag *b, const char *raw, struct dkim_sig *sig)
{
	/* Cut from just after '=' to the end of the value: the FWS after '='
	   goes, the FWS after the value stays (as dkimpy and others do). */
	const char *eq = b->name.p + b->name.len;
	while (*eq != '=')
		eq++;
	sig->b_cut = (size_t)(eq + 1 - raw);
	sig->b_end = (size_t)(b->value.p + b->value.len - raw);
}

static enum dkim_err parse_rest(struct arena *a, const struct dkim_tags *tags,
				struct dkim_sig *sig)
{
	enum dkim_err e;
	const struct dkim_tag *t;
	if (!slice_eq(dkim_tags_get(tags, "v")->value, "1"))
		return DKIM_ERR_VERSION;
	if ((e = parse_alg(dkim_tags_get(tags, "a")->value, &sig->alg)) != DKIM_OK)
		return e;
	if ((t = dkim_tags_get(tags, "c")) != NULL && (e = parse_canon(t->value, sig)) != DKIM_OK)
		return e;
	if (!domain_valid(sig->d, strlen(sig->d), '\0', 2))
		return DKIM_ERR_DOMAIN;
	if (!domain_valid(sig->s, strlen(sig->s), '_', 1))
		return DKIM_ERR_SELECTOR;
	if ((e = parse_h(a, dkim_tags_get(tags, "h")->value, sig)) != DKIM_OK)
		return e;
	if ((e = parse_i(a, dkim_tags_get(tags, "i"), sig)) != DKIM_OK)
		return e;
	if ((t = dkim_tags_get(tags, "q")) != NULL && (e = parse_q(t->value)) != DKIM_OK)
		return e;
	if ((e = parse_numbers(tags, sig)) != DKIM_OK)
		return e;
	if ((e = decode_b64(a, dkim_tags_get(tags, "b")->value, DKIM_SIG_BYTES_MAX,
			    &sig->b, &sig->b_len)) != DKIM_OK)
		return e;
	return decode_b64(a, dkim_tags_get(tags, "bh")->value, DKIM_HASH_MAX + 32,
			  &sig->bh, &sig->bh_len);
}

enum dkim_err dkim_sig_parse(struct arena *a, const char *value, size_t len,
			     struct dkim_sig **sig_r)
{
	struct dkim_sig *sig = arena_alloc(a, sizeof(*sig));
	struct dkim_tags tags;
	*sig_r = sig;
	sig->raw = value;
	sig->raw_len = len;
	enum dkim_err e = dkim_tags_parse(value, len, &tags);
	if (e != DKIM_OK)
		return e;
	const struct dkim_tag *t;
	if ((t = dkim_tags_get(&tags, "d")) != NULL)
		sig->d = arena_memdup(a, t->value.p, t->value.len);
	if ((t = dkim_tags_get(&tags, "s")) != NULL)
		sig->s = arena_memdup(a, t->value.p, t->value.len);
	for (size_t k = 0; k < ARRAY_LEN(required_tags); k++)
		if (dkim_tags_get(&tags, required_tags[k]) == NULL)
			return DKIM_ERR_MISSING_TAG;
	locate_b(dkim_tags_get(&tags, "b"), value, sig);
	return parse_rest(a, &tags, sig);
}

enum dkim_err dkim_sig_check_time(const struct dkim_sig *sig, uint64_t now,
				  uint64_t future_skew)
{
	/* RFC 6376 3.5 x=: verification time past x= MAY be invalid; we do. */
	if (sig->has_x && sig->x < now)
		return DKIM_ERR_EXPIRED;
	uint64_t limit = now > UINT64_MAX - future_skew ? UINT64_MAX : now + future_skew;
	if (sig->has_t && sig->t > limit)
		return DKIM_ERR_FUTURE;
	return DKIM_OK;
}
