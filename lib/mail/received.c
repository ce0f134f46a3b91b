/*
 * Received fields (see received.h): a tokenizer that knows comments,
 * quoted strings, address literals and angle addresses, then the clauses
 * read from its words, then the client's address, reverse DNS name and
 * HELO name read from the from clause's comment.
 */
#include "received.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "header.h"

/* Words of one field (our limit; real ones have a few dozen). */
#define RECEIVED_MAX_TOKENS 512

enum tok_type {
	T_ATOM,		/* a run of other bytes */
	T_COMMENT,	/* "(...)": start/end are inside the outer parentheses */
	T_LITERAL,	/* "[...]" */
	T_QUOTED,	/* "\"...\"" */
	T_ANGLE,	/* "<...>" */
	T_SEMI,		/* ";" */
};

struct tok {
	enum tok_type type;
	size_t start, end;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The end of a comment opened at v[i] == '(' (just past its ")"), or 0. */
static size_t comment_end(const char *v, size_t len, size_t i, const char **error_r)
{
	unsigned depth = 0;
	while (i < len) {
		char c = v[i];
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '(' && ++depth > RECEIVED_COMMENT_DEPTH) {
			*error_r = "comments nested too deep";
			return 0;
		}
		if (c == ')' && --depth == 0)
			return i + 1;
		i++;
	}
	*error_r = "a comment does not end";
	return 0;
}

/* The end of a run from v[i] up to `close` (included), or 0. */
static size_t closing(const char *v, size_t len, size_t i, char close, bool quoted_pairs)
{
	for (i++; i < len; i++) {
		if (quoted_pairs && v[i] == '\\') {
			i++;
			continue;
		}
		if (v[i] == close)
			return i + 1;
	}
	return 0;
}

static int tokenize(const char *v, size_t len, struct tok *t, size_t *n_r, const char **error_r)
{
	size_t n = 0, i = 0;
	while (i < len) {
		char c = v[i];
		if (is_ws(c)) {
			i++;
			continue;
		}
		if (n == RECEIVED_MAX_TOKENS) {
			*error_r = "too many words";
			return -1;
		}
		struct tok *k = &t[n++];
		k->start = i;
		switch (c) {
		case '(': {
			size_t end = comment_end(v, len, i, error_r);
			if (end == 0)
				return -1;
			*k = (struct tok){ T_COMMENT, i + 1, end - 1 };
			i = end;
			continue;
		}
		case ')':
			*error_r = "a \")\" without its \"(\"";
			return -1;
		case '"':
		case '[':
		case '<': {
			char close = c == '"' ? '"' : c == '[' ? ']' : '>';
			size_t end = closing(v, len, i, close, c == '"');
			if (end == 0) {
				*error_r = c == '"'   ? "a quoted string does not end"
					   : c == '[' ? "an address literal does not end"
						      : "an angle address does not end";
				return -1;
			}
			k->type = c == '"' ? T_QUOTED : c == '[' ? T_LITERAL : T_ANGLE;
			k->end = i = end;
			continue;
		}
		case ';':
			k->type = T_SEMI;
			k->end = ++i;
			continue;
		default:
			while (i < len && !is_ws(v[i]) && strchr("()[]<>;\"", v[i]) == NULL)
				i++;
			k->type = T_ATOM;
			k->end = i;
		}
	}
	*n_r = n;
	return 0;
}

enum clause { C_NONE = -1, C_FROM, C_BY, C_VIA, C_WITH, C_ID, C_FOR, C_COUNT };

static const char *const clause_names[C_COUNT] = { "from", "by", "via", "with", "id", "for" };

static enum clause keyword(const char *v, const struct tok *k)
{
	if (k->type != T_ATOM)
		return C_NONE;
	size_t n = k->end - k->start;
	for (int c = 0; c < C_COUNT; c++)
		if (strlen(clause_names[c]) == n && strncasecmp(v + k->start, clause_names[c], n) == 0)
			return (enum clause)c;
	return C_NONE;
}

/* The text of [start, end), unfolded and trimmed, or NULL when empty. */
static const char *text(struct arena *a, const char *v, size_t start, size_t end)
{
	size_t n;
	char *s = hdr_unfold(a, v + start, end - start, &n);
	return n > 0 ? s : NULL;
}

/* A valid IPv4 or IPv6 address (an "IPv6:" prefix allowed), normalised; or NULL. */
static const char *address(struct arena *a, const char *s, size_t n)
{
	if (n >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		n -= 5;
	}
	char tmp[INET6_ADDRSTRLEN + 1];
	if (n == 0 || n >= sizeof(tmp))
		return NULL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	unsigned char bin[16];
	char out[INET6_ADDRSTRLEN];
	if (inet_pton(AF_INET, tmp, bin) == 1)
		return arena_strdup(a, inet_ntop(AF_INET, bin, out, sizeof(out)));
	if (inet_pton(AF_INET6, tmp, bin) == 1)
		return arena_strdup(a, inet_ntop(AF_INET6, bin, out, sizeof(out)));
	return NULL;
}

/* A name as a receiver wrote it: "user@" and one trailing dot dropped; NULL if empty. */
static const char *host_name(struct arena *a, const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	if (at != NULL) {
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	if (n > 0 && s[n - 1] == '.')
		n--;
	return n > 0 ? arena_memdup(a, s, n) : NULL;
}

/* "helo=NAME" in a comment (Exim), or NULL. */
static const char *helo_in(struct arena *a, const char *c)
{
	for (const char *p = c; (p = strcasestr(p, "helo=")) != NULL; p += 5) {
		if (p > c && !is_ws(p[-1]) && p[-1] != '(' && p[-1] != ']')
			continue;
		const char *v = p + 5;
		size_t n = strcspn(v, " \t\r\n()[]");
		return n > 0 ? arena_memdup(a, v, n) : NULL;
	}
	return NULL;
}

/*
 * The client as the from clause's comment gives it: the first address
 * literal (or a bare address: Exchange), the word before the literal (the
 * reverse DNS name), and Exim's helo=.
 */
static void read_from_comment(struct arena *a, const char *c, struct received *out)
{
	const char *lb = strchr(c, '[');
	const char *rb = lb != NULL ? strchr(lb, ']') : NULL;
	if (lb != NULL && rb != NULL) {
		out->ip = address(a, lb + 1, (size_t)(rb - lb - 1));
		const char *w = lb;
		while (w > c && is_ws(w[-1]))
			w--;
		const char *e = w;
		while (w > c && !is_ws(w[-1]) && w[-1] != '(' && w[-1] != ')')
			w--;
		out->rdns = host_name(a, w, (size_t)(e - w));
	} else {
		size_t n = strcspn(c, " \t\r\n)");
		out->ip = address(a, c, n);
	}
	out->helo = helo_in(a, c);
	/* Exim writes "from RDNS ([IP] helo=HELO)": the from name is then the rDNS */
	if (out->helo != NULL && out->rdns == NULL && out->from != NULL && out->from[0] != '[')
		out->rdns = out->from;
}

int received_parse(struct arena *a, const char *value, size_t len, struct received *out,
		   const char **error_r)
{
	memset(out, 0, sizeof(*out));
	if (len > RECEIVED_MAX_LEN) {
		*error_r = "field too long";
		return -1;
	}
	struct tok *t = arena_alloc_array(a, RECEIVED_MAX_TOKENS, sizeof(*t));
	size_t n;
	if (tokenize(value, len, t, &n, error_r) < 0)
		return -1;
	/* the date: after the last ";" outside comments (RFC 5322 3.6.7) */
	size_t semi = n;
	for (size_t i = n; i-- > 0;)
		if (t[i].type == T_SEMI) {
			semi = i;
			break;
		}
	if (semi < n)
		out->date = text(a, value, t[semi].end, len);
	const char **slot[C_COUNT] = { &out->from, &out->by, &out->via, &out->with, &out->id,
				       &out->for_ };
	enum clause cur = C_NONE;
	bool have_value = true;
	struct buf comments;
	buf_init(&comments, 0);
	for (size_t i = 0; i < semi; i++) {
		const struct tok *k = &t[i];
		enum clause kw = keyword(value, k);
		/* a clause's name starts it, once ("from (unknown [IP])" has no value) */
		if (kw != C_NONE && *slot[kw] == NULL && kw != cur) {
			cur = kw;
			have_value = false;
			continue;
		}
		if (k->type == T_COMMENT) {
			/* a comment belongs to the clause before it (from: TCP-info) */
			if (cur == C_FROM) {
				const char *c = text(a, value, k->start, k->end);
				if (c != NULL)
					buf_printf(&comments, "%s%s", comments.len > 0 ? " " : "", c);
			}
			continue;
		}
		if (cur != C_NONE && !have_value && k->type != T_SEMI) {
			*slot[cur] = text(a, value, k->start, k->end);
			have_value = true;
		}
	}
	if (comments.len > 0) {
		out->from_comment = arena_strdup(a, comments.p);
		read_from_comment(a, out->from_comment, out);
	}
	buf_free(&comments);
	if (out->from != NULL && out->from[0] == '[' && out->ip == NULL) {
		size_t fl = strlen(out->from);
		out->ip = address(a, out->from + 1, fl >= 2 ? fl - 2 : 0);
	}
	if (out->helo == NULL && out->from != NULL && out->from[0] != '[')
		out->helo = out->from;
	if (out->from == NULL && out->by == NULL && out->date == NULL) {
		*error_r = "neither a from nor a by clause nor a date";
		return -1;
	}
	return 0;
}

bool received_host_is(const char *host, const char *name)
{
	size_t lh = strlen(host), ln = strlen(name);
	if (lh > 1 && host[lh - 1] == '.')
		lh--;
	if (ln > 1 && name[ln - 1] == '.')
		ln--;
	return lh == ln && lh > 0 && strncasecmp(host, name, lh) == 0;
}

/* ---- the date (RFC 5322 3.3 and 4.3) ---- */

/* Skips white space and comments (nested); false for a comment that does not end. */
static bool skip_cfws(const char **pp)
{
	const char *p = *pp;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			break;
		int depth = 0;
		do {
			if (*p == '\0' || depth > RECEIVED_COMMENT_DEPTH)
				return false;
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (depth > 0);
	}
	*pp = p;
	return true;
}

/* 1 to max digits as a number, or -1. */
static int digits(const char **pp, int max)
{
	const char *p = *pp;
	int v = 0, n = 0;
	while (n < max && isdigit((unsigned char)p[n]))
		v = v * 10 + (p[n++] - '0');
	if (n == 0 || isdigit((unsigned char)p[n]))
		return -1;
	*pp = p + n;
	return v;
}

/* A word of letters, lower-cased into w (at most size - 1 of them). */
static size_t word(const char **pp, char *w, size_t size)
{
	size_t n = 0;
	while (isalpha((unsigned char)(*pp)[n]) && n + 1 < size) {
		w[n] = (char)tolower((unsigned char)(*pp)[n]);
		n++;
	}
	w[n] = '\0';
	if (isalpha((unsigned char)(*pp)[n]))
		return 0;
	*pp += n;
	return n;
}

static int month_of(const char *w)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	for (int i = 0; i < 12; i++)
		if (strncmp(months + 3 * i, w, 3) == 0 && w[3] == '\0')
			return i;
	return -1;
}

/* The zone as minutes east of UTC; false when it is none of RFC 5322's. */
static bool zone_of(const char **pp, int *minutes)
{
	const char *p = *pp;
	if (*p == '+' || *p == '-') {
		const char *q = p + 1;
		for (int i = 0; i < 4; i++)
			if (!isdigit((unsigned char)q[i]))
				return false;
		if (isdigit((unsigned char)q[4]))
			return false;
		int hh = (q[0] - '0') * 10 + (q[1] - '0'), mm = (q[2] - '0') * 10 + (q[3] - '0');
		if (mm > 59)
			return false;
		*minutes = (hh * 60 + mm) * (*p == '-' ? -1 : 1);
		*pp = q + 4;
		return true;
	}
	static const struct {
		const char *name;
		int hours;
	} names[] = { { "ut", 0 },   { "gmt", 0 },  { "est", -5 }, { "edt", -4 }, { "cst", -6 },
		      { "cdt", -5 }, { "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 } };
	char w[8];
	size_t n = word(&p, w, sizeof(w));
	if (n == 0)
		return false;
	*minutes = 0;
	bool known = n == 1 && w[0] != 'j';	/* military: RFC 5322 4.3 says treat as -0000 */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !known; i++)
		if (strcmp(w, names[i].name) == 0) {
			*minutes = names[i].hours * 60;
			known = true;
		}
	if (!known)
		return false;
	*pp = p;
	return true;
}

int received_date_parse(const char *date, time_t *out)
{
	const char *p = date;
	char w[8];
	if (!skip_cfws(&p))
		return -1;
	/* [ day-of-week "," ] */
	const char *save = p;
	if (word(&p, w, sizeof(w)) == 3 && month_of(w) < 0) {
		if (!skip_cfws(&p) || *p++ != ',')
			return -1;
	} else {
		p = save;
	}
	int day, mon, year, hh, mi, ss = 0, zone;
	if (!skip_cfws(&p) || (day = digits(&p, 2)) < 1 || day > 31 || !skip_cfws(&p) ||
	    word(&p, w, sizeof(w)) != 3 || (mon = month_of(w)) < 0 || !skip_cfws(&p))
		return -1;
	const char *y0 = p;
	if ((year = digits(&p, 4)) < 0)
		return -1;
	if (p - y0 == 2)
		year += year < 50 ? 2000 : 1900;
	else if (p - y0 == 3)
		year += 1900;
	if (year < 1970 || !skip_cfws(&p) || (hh = digits(&p, 2)) < 0 || hh > 23 || !skip_cfws(&p) ||
	    *p++ != ':' || !skip_cfws(&p) || (mi = digits(&p, 2)) < 0 || mi > 59 || !skip_cfws(&p))
		return -1;
	if (*p == ':') {
		p++;
		/* 60: a leap second */
		if (!skip_cfws(&p) || (ss = digits(&p, 2)) < 0 || ss > 60 || !skip_cfws(&p))
			return -1;
	}
	if (!zone_of(&p, &zone) || !skip_cfws(&p) || *p != '\0')
		return -1;
	/* a leap second counts as the next second's start */
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon, .tm_mday = day,
			 .tm_hour = hh, .tm_min = mi, .tm_sec = ss == 60 ? 59 : ss };
	time_t t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse what moved */
	if (t == (time_t)-1 || tm.tm_mday != day || tm.tm_mon != mon)
		return -1;
	t += (ss == 60) - (time_t)zone * 60;
	if (t < 0)
		return -1;
	*out = t;
	return 0;
}
