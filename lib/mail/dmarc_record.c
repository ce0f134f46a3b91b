/*
 * DMARC record parser (see dmarc_record.h).  A record is split into
 * tag-specs at ";", each checked against RFC 9989 4.8's syntax, then
 * handed to the handler its name selects in a table; the rules that decide
 * whether the record stands (v= first, p=, sp=, np=, rua=) are applied
 * once every tag has been seen.
 */
#include "dmarc_record.h"

#include <string.h>
#include <strings.h>

#include "buf.h"

enum tag_state {
	TAG_ABSENT,
	TAG_VALID,
	TAG_INVALID,
};

/* What parsing a record gathers besides the record itself. */
struct parse {
	struct arena *a;
	struct dmarc_record *r;
	enum tag_state p, sp, np;
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 6376 3.2 VALCHAR: %x21-3A / %x3C-7E */
static bool is_valchar(char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

static struct slice trim(struct slice s)
{
	while (s.len > 0 && is_wsp(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_wsp(s.p[s.len - 1]))
		s.len--;
	return s;
}

static void warn(struct parse *ps, const char *what)
{
	if (ps->r->warning == NULL)
		ps->r->warning = what;
	ps->r->n_warnings++;
}

/* Splits s at sep: the part before it in *item_r, the rest returned. */
static struct slice split(struct slice s, char sep, struct slice *item_r)
{
	const char *at = memchr(s.p, sep, s.len);
	size_t n = at != NULL ? (size_t)(at - s.p) : s.len;
	*item_r = trim(slice_make(s.p, n));
	return at != NULL ? slice_make(at + 1, s.len - n - 1) : slice_make(s.p + s.len, 0);
}

static bool policy_word(struct slice v, enum dmarc_p *out)
{
	static const char *const words[] = { "none", "quarantine", "reject" };
	static const enum dmarc_p values[] = { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (slice_eq_ci(v, words[i])) {
			*out = values[i];
			return true;
		}
	return false;
}

/* 1*max_digits DIGIT with a value <= max. */
static bool number(struct slice v, size_t max_digits, uint64_t max, uint64_t *out)
{
	if (v.len == 0 || v.len > max_digits)
		return false;
	uint64_t n = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (!is_digit(v.p[i]))
			return false;
		uint64_t d = (uint64_t)(v.p[i] - '0');
		if (n > (max - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

static void tag_p(struct parse *ps, struct slice v)
{
	ps->p = policy_word(v, &ps->r->p) ? TAG_VALID : TAG_INVALID;
}

static void tag_sp(struct parse *ps, struct slice v)
{
	ps->sp = policy_word(v, &ps->r->sp) ? TAG_VALID : TAG_INVALID;
	ps->r->sp_given = ps->sp == TAG_VALID;
}

static void tag_np(struct parse *ps, struct slice v)
{
	ps->np = policy_word(v, &ps->r->np) ? TAG_VALID : TAG_INVALID;
	ps->r->np_given = ps->np == TAG_VALID;
}

static void tag_t(struct parse *ps, struct slice v)
{
	if (slice_eq_ci(v, "y") || slice_eq_ci(v, "n"))
		ps->r->testing = slice_eq_ci(v, "y");
	else
		warn(ps, "bad t= value ignored (n)");
}

static void tag_psd(struct parse *ps, struct slice v)
{
	static const char *const words[] = { "u", "y", "n" };
	for (size_t i = 0; i < ARRAY_LEN(words); i++)
		if (slice_eq_ci(v, words[i])) {
			ps->r->psd = (enum dmarc_psd)i;
			return;
		}
	warn(ps, "bad psd= value ignored (u)");
}

/* RFC 9989 C.5.2: pct, rf and ri are gone; a record may still carry them. */
static void tag_pct(struct parse *ps, struct slice v)
{
	(void)v;
	ps->r->historic |= DMARC_HISTORIC_PCT;
}

static void tag_rf(struct parse *ps, struct slice v)
{
	(void)v;
	ps->r->historic |= DMARC_HISTORIC_RF;
}

static void tag_ri(struct parse *ps, struct slice v)
{
	(void)v;
	ps->r->historic |= DMARC_HISTORIC_RI;
}

static bool align_word(struct slice v, bool *strict)
{
	if (slice_eq_ci(v, "r") || slice_eq_ci(v, "s")) {
		*strict = slice_eq_ci(v, "s");
		return true;
	}
	return false;
}

static void tag_adkim(struct parse *ps, struct slice v)
{
	if (!align_word(v, &ps->r->adkim_strict))
		warn(ps, "bad adkim= value ignored (relaxed)");
}

static void tag_aspf(struct parse *ps, struct slice v)
{
	if (!align_word(v, &ps->r->aspf_strict))
		warn(ps, "bad aspf= value ignored (relaxed)");
}

static void tag_fo(struct parse *ps, struct slice v)
{
	unsigned fo = 0;
	struct slice item;
	do {
		v = split(v, ':', &item);
		static const char opts[] = "01ds";
		char c = item.len == 1 ? item.p[0] : '?';
		const char *at = strchr(opts, c == 'D' || c == 'S' ? c + 32 : c);
		if (at == NULL) {
			warn(ps, "bad fo= value ignored (0)");
			return;
		}
		fo |= 1u << (at - opts);
	} while (v.len > 0);
	ps->r->fo = fo;
}

/* The "!" size suffix of RFC 9989 4.8 obs-dmarc-uri: 1*DIGIT [k/m/g/t]. */
static bool uri_size(struct slice s)
{
	if (s.len > 0 && strchr("kmgtKMGT", s.p[s.len - 1]) != NULL)
		s.len--;
	uint64_t n;
	return number(s, 20, UINT64_MAX, &n);
}

/* A dmarc-uri: scheme ":" something, commas and "!" only as the size. */
static bool uri_valid(struct slice u)
{
	const char *bang = memchr(u.p, '!', u.len);
	struct slice body = u;
	if (bang != NULL) {
		body.len = (size_t)(bang - u.p);
		if (!uri_size(slice_make(bang + 1, u.len - body.len - 1)))
			return false;
	}
	size_t i = 0;
	if (body.len == 0 || !is_alpha(body.p[0]))
		return false;
	while (i < body.len && (is_alpha(body.p[i]) || is_digit(body.p[i]) ||
				strchr("+-.", body.p[i]) != NULL))
		i++;
	if (i == body.len || body.p[i] != ':' || i + 1 == body.len)
		return false;
	for (size_t j = i + 1; j < body.len; j++)
		if (!is_valchar(body.p[j]))
			return false;
	if (i == 6 && strncasecmp(body.p, "mailto", 6) == 0) {
		const char *at = memchr(body.p + 7, '@', body.len - 7);
		if (at == NULL || at == body.p + 7 || at == body.p + body.len - 1)
			return false;
	}
	return true;
}

static void uri_list(struct parse *ps, struct slice v, const char ***list_r, size_t *n_r)
{
	const char **list = arena_alloc_array(ps->a, DMARC_RECORD_MAX_URIS, sizeof(*list));
	size_t n = 0;
	struct slice item;
	do {
		v = split(v, ',', &item);
		if (!uri_valid(item))
			warn(ps, "invalid report URI ignored");
		else if (n == DMARC_RECORD_MAX_URIS)
			warn(ps, "report URIs beyond the limit ignored");
		else
			list[n++] = arena_memdup(ps->a, item.p, item.len);
	} while (v.len > 0);
	*list_r = list;
	*n_r = n;
}

static void tag_rua(struct parse *ps, struct slice v)
{
	uri_list(ps, v, &ps->r->rua, &ps->r->n_rua);
}

static void tag_ruf(struct parse *ps, struct slice v)
{
	uri_list(ps, v, &ps->r->ruf, &ps->r->n_ruf);
}

struct tag_handler {
	const char *name;
	void (*fn)(struct parse *ps, struct slice value);
};

static const struct tag_handler handlers[] = {
	{ "p", tag_p },		{ "sp", tag_sp },	{ "np", tag_np },
	{ "t", tag_t },		{ "psd", tag_psd },	{ "adkim", tag_adkim },
	{ "aspf", tag_aspf },	{ "fo", tag_fo },	{ "rua", tag_rua },
	{ "ruf", tag_ruf },	{ "pct", tag_pct },	{ "rf", tag_rf },
	{ "ri", tag_ri },
};

/*
 * One tag-spec "name = value" (RFC 6376 3.2).  Returns false if its
 * syntax is bad.
 */
static bool tag_spec(struct slice spec, struct slice *name_r, struct slice *value_r)
{
	size_t i = 0;
	if (spec.len == 0 || !is_alpha(spec.p[0]))
		return false;
	while (i < spec.len && (is_alpha(spec.p[i]) || is_digit(spec.p[i]) || spec.p[i] == '_'))
		i++;
	*name_r = slice_make(spec.p, i);
	while (i < spec.len && is_wsp(spec.p[i]))
		i++;
	if (i == spec.len || spec.p[i] != '=')
		return false;
	*value_r = trim(slice_make(spec.p + i + 1, spec.len - i - 1));
	for (size_t j = 0; j < value_r->len; j++)
		if (!is_valchar(value_r->p[j]) && !is_wsp(value_r->p[j]))
			return false;
	return true;
}

bool dmarc_record_is_dmarc(const char *text, size_t len)
{
	struct slice first, name, value;
	split(slice_make(text, len), ';', &first);
	return tag_spec(first, &name, &value) && slice_eq_ci(name, "v") &&
	       slice_eq(value, "DMARC1");
}

const char *dmarc_record_why_not(const char *text, size_t len)
{
	if (dmarc_record_is_dmarc(text, len))
		return NULL;
	struct slice first, name, value;
	split(slice_make(text, len), ';', &first);
	bool v_first = tag_spec(first, &name, &value) && slice_eq_ci(name, "v");
	if (v_first && slice_eq_ci(value, "DMARC1"))
		return "v=DMARC1 must be written so, in capitals (RFC 9989 4.7)";
	if (v_first && value.len >= 5 && strncasecmp(value.p, "DMARC", 5) == 0)
		return "its v= is not DMARC1 (RFC 9989 4.7)";
	for (size_t i = 0; i + 8 <= len; i++)
		if (strncasecmp(text + i, "v=DMARC1", 8) == 0)
			return "v=DMARC1 is not its first tag, so it is not a DMARC record (RFC 9989 4.7)";
	return "it does not start with v=DMARC1, so it is not a DMARC record (RFC 9989 4.7)";
}

static bool seen_before(const struct slice *names, size_t n, struct slice name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].len == name.len && strncasecmp(names[i].p, name.p, name.len) == 0)
			return true;
	return false;
}

static void defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->fo = DMARC_FO_0;
	r->psd = DMARC_PSD_U;
}

/* Runs the tags after v=; returns NULL or the error. */
static const char *tags(struct parse *ps, struct slice rest)
{
	struct slice names[DMARC_RECORD_MAX_TAGS];
	size_t n = 0;
	while (rest.len > 0) {
		struct slice spec, name, value;
		rest = split(rest, ';', &spec);
		if (spec.len == 0)
			continue;	/* ";;" and a trailing ";" */
		if (!tag_spec(spec, &name, &value)) {
			/* RFC 9989 4.8: syntax errors are discarded */
			warn(ps, "a tag that is not name=value ignored");
			continue;
		}
		if (slice_eq_ci(name, "v") || seen_before(names, n, name))
			return "tag given twice";
		if (n == DMARC_RECORD_MAX_TAGS)
			return "too many tags";
		names[n++] = name;
		for (size_t i = 0; i < ARRAY_LEN(handlers); i++)
			if (slice_eq_ci(name, handlers[i].name))
				handlers[i].fn(ps, value);
	}
	return NULL;
}

int dmarc_record_parse(struct arena *a, const char *text, size_t len, struct dmarc_record *out,
		       const char **error_r)
{
	defaults(out);
	if (len > DMARC_RECORD_MAX_LEN) {
		*error_r = "record too long";
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		*error_r = "NUL byte in record";
		return -1;
	}
	if (!dmarc_record_is_dmarc(text, len)) {
		*error_r = "record does not start with v=DMARC1";
		return -1;
	}
	struct parse ps = { .a = a, .r = out };
	struct slice first;
	const char *e = tags(&ps, split(slice_make(text, len), ';', &first));
	if (e == NULL && (ps.p != TAG_VALID || ps.sp == TAG_INVALID || ps.np == TAG_INVALID)) {
		/* RFC 9989 4.10.1: with a valid rua=, as if "p=none" */
		if (out->n_rua > 0) {
			out->p = DMARC_P_NONE;
			out->p_assumed = true;
			out->sp_given = out->np_given = false;
		} else {
			e = ps.p == TAG_ABSENT ? "no p= tag"
			    : ps.p == TAG_INVALID ? "invalid p= value"
			    : ps.sp == TAG_INVALID ? "invalid sp= value" : "invalid np= value";
		}
	}
	if (!out->sp_given)
		out->sp = out->p;
	if (!out->np_given)
		out->np = out->sp;
	if (e != NULL) {
		*error_r = e;
		return -1;
	}
	return 0;
}

const char *dmarc_p_name(enum dmarc_p p)
{
	switch (p) {
	case DMARC_P_NONE:
		return "none";
	case DMARC_P_QUARANTINE:
		return "quarantine";
	case DMARC_P_REJECT:
		return "reject";
	}
	return "none";
}

const char *dmarc_psd_name(enum dmarc_psd p)
{
	switch (p) {
	case DMARC_PSD_U:
		return "u";
	case DMARC_PSD_Y:
		return "y";
	case DMARC_PSD_N:
		return "n";
	}
	return "u";
}
