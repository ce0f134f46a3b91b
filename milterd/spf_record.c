/*
 * SPF records read against the ABNF of RFC 7208 section 12 (spf_record.h):
 * terms, modifiers, domain-specs, macro syntax and CIDR lengths, each
 * violation a permerror (4.6), before any term is evaluated; plus limits
 * of ours on term arguments and macros (see spf_dns.c).
 */
#include "spf_record.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* RFC 7208 7.1: macro letters; c, r and t only in explanation text. */
static bool macro_letter_ok(char c, bool in_exp)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if (c != '\0' && strchr("slodiphv", c) != NULL)
		return true;
	return in_exp && c != '\0' && strchr("crt", c) != NULL;
}

static bool delimiter(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/*
 * A macro-expand at s[i] == '%' (RFC 7208 7.1): "%{" letter *DIGIT ["r"]
 * *delimiter "}", "%%", "%_" or "%-".  Returns its length, 0 if invalid
 * ("a '%' not followed by a valid macro is a syntax error").
 */
size_t spf_macro_len(const char *s, size_t len, size_t i, bool in_exp)
{
	if (i + 1 >= len)
		return 0;
	char c = s[i + 1];
	if (c == '%' || c == '_' || c == '-')
		return 2;
	if (c != '{' || i + 2 >= len || !macro_letter_ok(s[i + 2], in_exp))
		return 0;
	size_t k = i + 3, digits = 0;
	unsigned value = 0;
	while (k < len && spf_is_digit(s[k])) {
		if (value < 100000)
			value = value * 10 + (unsigned)(s[k] - '0');
		digits++;
		k++;
	}
	/* RFC 7208 7.3: a DIGIT transformer's value MUST be nonzero */
	if (digits > 0 && value == 0)
		return 0;
	if (k < len && (s[k] == 'r' || s[k] == 'R'))
		k++;
	while (k < len && delimiter(s[k]))
		k++;
	return k < len && s[k] == '}' ? k + 1 - i : 0;
}

/*
 * A macro-string (or, in_exp, an explain-string, which may hold spaces).
 * Counts macros into *n; on success *last_macro_r says whether it ends with
 * a macro-expand and *tail_r is where its last run of literals starts.
 */
const char *spf_macro_string_check(const char *s, size_t len, bool in_exp, size_t *n,
				   bool *last_macro_r, size_t *tail_r)
{
	bool last_macro = false;
	size_t tail = 0;
	for (size_t i = 0; i < len;) {
		if (s[i] == '%') {
			size_t m = spf_macro_len(s, len, i, in_exp);
			if (m == 0)
				return "\"%\" not followed by a valid macro (RFC 7208 7.1)";
			if (s[i + 1] == '{')
				(*n)++;
			i += m;
			last_macro = true;
			tail = i;
			continue;
		}
		/* macro-literal = %x21-24 / %x26-7E; SP only in explain-string */
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			if (!(in_exp && s[i] == ' '))
				return "character not allowed in a macro-string (RFC 7208 7.1)";
		}
		last_macro = false;
		i++;
	}
	if (last_macro_r != NULL)
		*last_macro_r = last_macro;
	if (tail_r != NULL)
		*tail_r = tail;
	return NULL;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
bool spf_toplabel_ok(const char *s, size_t len)
{
	if (len == 0)
		return false;
	bool alpha = false, dash = false;
	for (size_t i = 0; i < len; i++) {
		if (spf_is_alpha(s[i]))
			alpha = true;
		else if (s[i] == '-')
			dash = true;
		else if (!spf_is_digit(s[i]))
			return false;
	}
	if (!dash)
		return alpha;
	return spf_is_alnum(s[0]) && spf_is_alnum(s[len - 1]);
}

/*
 * domain-spec = macro-string domain-end
 * domain-end  = ( "." toplabel [ "." ] ) / macro-expand
 * Our limits (the CVE guard) apply too.
 */
static const char *domain_spec_check(struct slice d)
{
	if (d.len == 0)
		return "empty domain-spec";
	if (d.len > SPF_MAX_TERM_ARG_LEN)
		return "term argument too long";
	size_t n = 0, tail = 0;
	bool last_macro = false;
	const char *err = spf_macro_string_check(d.p, d.len, false, &n, &last_macro, &tail);
	if (err != NULL)
		return err;
	if (n > SPF_MAX_TERM_MACROS)
		return "too many macros in one term";
	if (last_macro)
		return NULL;
	/* the literals after the last macro end in "." toplabel [ "." ] */
	size_t end = d.len;
	if (end > tail && d.p[end - 1] == '.')
		end--;
	size_t dot = end;
	while (dot > tail && d.p[dot - 1] != '.')
		dot--;
	if (dot == tail)
		return "domain-spec does not end in a toplabel or a macro (RFC 7208 7.1)";
	if (!spf_toplabel_ok(d.p + dot, end - dot))
		return "domain-spec has an invalid toplabel (RFC 7208 7.1)";
	return NULL;
}

/* "/" ( "0" / %x31-39 0*N DIGIT ), value at most max. */
static bool cidr_ok(const char *s, size_t len, int max, int *out)
{
	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return false;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (!spf_is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros. */
static bool ip4_network_ok(struct slice s)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= s.len || s.p[i] != '.')
				return false;
			i++;
		}
		size_t start = i;
		int v = 0;
		while (i < s.len && spf_is_digit(s.p[i]) && i - start < 3)
			v = v * 10 + (s.p[i++] - '0');
		if (i == start || v > 255 || (i - start > 1 && s.p[start] == '0'))
			return false;
	}
	return i == s.len;
}

/* ip6-network = <RFC 4291 section 2.2> */
static bool ip6_network_ok(struct slice s)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;
	if (s.len == 0 || s.len >= sizeof(tmp))
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!(spf_is_digit(s.p[i]) || strchr("abcdefABCDEF:.", s.p[i]) != NULL) || s.p[i] == '\0')
			return false;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* Removes a dual-cidr-length from the end of *rest (a and mx). */
static const char *dual_cidr(struct slice *rest, struct spf_rterm *t)
{
	const char *p = rest->p;
	size_t len = rest->len, d = len;
	while (d > 0 && spf_is_digit(p[d - 1]))
		d--;
	if (d < len && d >= 2 && p[d - 1] == '/' && p[d - 2] == '/') {
		if (!cidr_ok(p + d, len - d, 128, &t->cidr6))
			return "invalid ip6-cidr-length (RFC 7208 5.3, 5.4)";
		len = d - 2;
		d = len;
		while (d > 0 && spf_is_digit(p[d - 1]))
			d--;
	}
	if (d < len && d >= 1 && p[d - 1] == '/') {
		if (!cidr_ok(p + d, len - d, 32, &t->cidr4))
			return "invalid ip4-cidr-length (RFC 7208 5.3, 5.4)";
		len = d - 1;
	}
	rest->len = len;
	return NULL;
}

static const struct {
	const char *name;
	enum spf_rterm_kind kind;
} mechanisms[] = {
	{ "all", M_ALL }, { "include", M_INCLUDE }, { "a", M_A }, { "mx", M_MX },
	{ "ptr", M_PTR }, { "ip4", M_IP4 }, { "ip6", M_IP6 }, { "exists", M_EXISTS },
};

/* directive = [ qualifier ] mechanism */
static const char *directive_parse(struct slice s, struct spf_rterm *t)
{
	memset(t, 0, sizeof(*t));
	t->cidr4 = t->cidr6 = -1;
	t->qual = '+';
	t->text = s;
	size_t i = 0;
	if (strchr("+-?~", s.p[0]) != NULL)
		t->qual = s.p[i++];
	size_t name = i;
	while (i < s.len && spf_is_alnum(s.p[i]))
		i++;
	size_t k = 0;
	while (k < ARRAY_LEN(mechanisms) && !slice_eq_ci(slice_make(s.p + name, i - name),
							  mechanisms[k].name))
		k++;
	if (k == ARRAY_LEN(mechanisms))
		return "unknown mechanism (RFC 7208 4.6.1)";
	t->kind = mechanisms[k].kind;
	struct slice rest = slice_make(s.p + i, s.len - i);
	switch (t->kind) {
	case M_ALL:
		return rest.len == 0 ? NULL : "\"all\" takes no argument (RFC 7208 5.1)";
	case M_A:
	case M_MX: {
		const char *err = dual_cidr(&rest, t);
		if (err != NULL)
			return err;
		if (rest.len == 0)
			return NULL;
		break;
	}
	case M_PTR:
		if (rest.len == 0)
			return NULL;
		break;
	case M_IP4:
	case M_IP6: {
		if (rest.len < 2 || rest.p[0] != ':')
			return "ip4/ip6 need an address (RFC 7208 5.6)";
		struct slice net = slice_make(rest.p + 1, rest.len - 1);
		const char *slash = memchr(net.p, '/', net.len);
		if (slash != NULL) {
			size_t at = (size_t)(slash - net.p);
			bool six = t->kind == M_IP6;
			if (!cidr_ok(slash + 1, net.len - at - 1, six ? 128 : 32,
				     six ? &t->cidr6 : &t->cidr4))
				return "invalid CIDR length (RFC 7208 5.6)";
			net.len = at;
		}
		t->net = net;
		bool ok = t->kind == M_IP4 ? ip4_network_ok(net) : ip6_network_ok(net);
		return ok ? NULL : "invalid ip4/ip6 network (RFC 7208 5.6)";
	}
	default:
		break;
	}
	if (rest.len == 0 || rest.p[0] != ':')
		return "mechanism needs \":\" and a domain-spec (RFC 7208 5)";
	t->spec = slice_make(rest.p + 1, rest.len - 1);
	return domain_spec_check(t->spec);
}

bool spf_record_is_v1(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

/*
 * The record after "v=spf1" (RFC 7208 4.5, 4.6, 12): terms separated by
 * one or more spaces, trailing spaces allowed.  On an error in one term,
 * *bad_r (when not NULL) is that term; else its p is NULL.
 */
static const char *term_parse(struct slice s, struct spf_rec *r);

const char *spf_record_parse(const char *txt, size_t len, struct spf_rec *r, struct slice *bad_r)
{
	memset(r, 0, sizeof(*r));
	if (bad_r != NULL)
		*bad_r = slice_make(NULL, 0);
	if (len > SPF_MAX_RECORD_LEN)
		return "SPF record too long";
	if (!spf_record_is_v1(txt, len))
		return "not an SPF version 1 record";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)txt[i] < 0x20 || (unsigned char)txt[i] > 0x7e)
			return "SPF record has bytes other than printable ASCII (RFC 7208 3, 4.6.1)";
	size_t terms = 0;
	for (size_t i = 6; i < len;) {
		while (i < len && txt[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && txt[i] != ' ')
			i++;
		if (i == start)
			break;
		if (++terms > SPF_MAX_TERMS)
			return "too many terms in SPF record";
		struct slice term = slice_make(txt + start, i - start);
		const char *err = term_parse(term, r);
		if (err != NULL) {
			if (bad_r != NULL)
				*bad_r = term;
			return err;
		}
	}
	return NULL;
}

/* One term: a modifier or a directive, into r. */
static const char *term_parse(struct slice s, struct spf_rec *r)
{
	/* modifier = name "=" ..., name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	size_t k = 0;
	while (k < s.len && (spf_is_alnum(s.p[k]) || s.p[k] == '-' || s.p[k] == '_' || s.p[k] == '.'))
		k++;
	if (k < s.len && s.p[k] == '=') {
		if (k == 0 || !spf_is_alpha(s.p[0]))
			return "invalid modifier name (RFC 7208 12)";
		struct slice name = slice_make(s.p, k);
		struct slice value = slice_make(s.p + k + 1, s.len - k - 1);
		struct slice *known = slice_eq_ci(name, "redirect") ? &r->redirect
				      : slice_eq_ci(name, "exp")    ? &r->exp : NULL;
		if (known != NULL) {
			/* RFC 7208 6: each at most once */
			if (known->p != NULL)
				return "redirect= or exp= more than once (RFC 7208 6)";
			const char *err = domain_spec_check(value);
			if (err != NULL)
				return err;
			*known = value;
			if (known == &r->redirect)
				r->redirect_term = s;
			return NULL;
		}
		/* unknown-modifier = name "=" macro-string: checked, then ignored (6) */
		if (value.len > SPF_MAX_TERM_ARG_LEN)
			return "term argument too long";
		size_t n = 0;
		const char *err = spf_macro_string_check(value.p, value.len, false, &n, NULL, NULL);
		if (err != NULL)
			return err;
		return n > SPF_MAX_TERM_MACROS ? "too many macros in one term" : NULL;
	}
	if (r->n == SPF_MAX_TERMS)
		return "too many terms in SPF record";
	const char *err = directive_parse(s, &r->t[r->n]);
	if (err != NULL)
		return err;
	if (r->t[r->n].kind == M_ALL)
		r->has_all = true;
	r->n++;
	return NULL;
}

const char *spf_dns_record_check(const char *txt, size_t len)
{
	struct spf_rec *r = xmalloc(sizeof(*r));
	const char *err = spf_record_parse(txt, len, r, NULL);
	free(r);
	return err;
}

const char *spf_dns_record_terms(const char *txt, size_t len, struct spf_term *terms,
				 size_t *n_r)
{
	static const enum spf_term_type types[] = {
		[M_ALL] = SPF_TERM_ALL, [M_INCLUDE] = SPF_TERM_INCLUDE, [M_A] = SPF_TERM_A,
		[M_MX] = SPF_TERM_MX, [M_PTR] = SPF_TERM_PTR, [M_IP4] = SPF_TERM_IP4,
		[M_IP6] = SPF_TERM_IP6, [M_EXISTS] = SPF_TERM_EXISTS,
	};
	struct spf_rec *r = xmalloc(sizeof(*r));
	const char *err = spf_record_parse(txt, len, r, NULL);
	size_t n = 0;
	for (size_t i = 0; err == NULL && i < r->n; i++, n++)
		terms[n] = (struct spf_term){ types[r->t[i].kind], r->t[i].qual, r->t[i].spec,
					      r->t[i].net, r->t[i].cidr4, r->t[i].cidr6 };
	struct slice mods[2] = { r->redirect, r->exp };
	for (size_t i = 0; err == NULL && i < 2; i++)
		if (mods[i].p != NULL)
			terms[n++] = (struct spf_term){ i == 0 ? SPF_TERM_REDIRECT : SPF_TERM_EXP,
							'+', mods[i], { NULL, 0 }, -1, -1 };
	free(r);
	*n_r = err == NULL ? n : 0;
	return err;
}

bool spf_dns_local_ok(const char *local)
{
	size_t len = strlen(local);
	if (len == 0 || len > SPF_MAX_LOCAL_LEN || local[0] == '.' || local[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = local[i];
		/* RFC 5322 atext and "." (no "..") */
		if (spf_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			continue;
		if (c == '.' && local[i + 1] != '.')
			continue;
		return false;
	}
	return true;
}
