/*
 * Address parsing of addr.h: RFC 5322 3.4 address lists with the obsolete
 * forms of 4.4, RFC 5321 envelope paths, and domain normalisation.
 *
 * The list parser is a small lexer (atoms, quoted strings, domain literals,
 * specials; CFWS skipped but remembered as "space before") under a
 * recursive-descent parser.  It refuses rather than guesses: DMARC takes the
 * author domain from its result, so `"a@evil, b" <x@good>` is one address,
 * `a@x, b@y` two, and anything that fits no production is an error.
 *
 * Decisions and limits:
 *  - Comments nest at most ADDR_COMMENT_DEPTH deep.
 *  - Display names are phrases with CFWS folded to one space and quoting
 *    removed; RFC 2047 encoded-words are left as written (not decoded).
 *  - Bytes >= 0x80 count as atext (RFC 6532 3.2); control characters
 *    outside quoted strings and comments, and NUL anywhere, are errors.
 *  - Local parts may have leading, trailing or doubled dots: real senders
 *    (some mobile carriers) use them and they cannot hide a domain.  Two
 *    words without a dot between them are still an error.
 *  - One trailing dot on a domain is accepted and dropped; domains are not
 *    checked as DNS names here (see addr_domain_normalize).
 *  - An empty list (or one of only CFWS and commas) is not an error: it
 *    parses to zero addresses.  A group must end with ';'.
 *  - "<>" is refused in a header (it is an envelope form only).
 */
#include "addr.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "buf.h"
#include "compiler.h"

/* Deeper comment nesting than this is refused (hostile input only). */
#define ADDR_COMMENT_DEPTH 64

/* ---- characters ---- */

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 5322 3.2.3 atext, plus UTF-8 bytes (RFC 6532 3.2). */
static bool is_atext(unsigned char c)
{
	return is_alnum(c) || c >= 0x80 ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void lower_str(char *s)
{
	for (; *s != '\0'; s++)
		*s = lower(*s);
}

/* ---- lexer ---- */

enum tok_kind {
	TOK_END,
	TOK_ERROR,
	TOK_ATOM,	/* atext run; text points into the input */
	TOK_QSTRING,	/* quoted string; text decoded (arena) */
	TOK_LITERAL,	/* domain literal "[...]"; text decoded (arena) */
	TOK_SPECIAL,	/* one of < > @ , ; : . */
};

struct tok {
	enum tok_kind kind;
	char ch;		/* TOK_SPECIAL */
	const char *text;	/* TOK_ATOM, TOK_QSTRING, TOK_LITERAL */
	size_t len;
	bool space_before;	/* CFWS came before it */
};

struct parser {
	struct arena *a;
	const char *s;
	size_t len;
	size_t pos;
	struct tok peeked;
	bool have_peek;
	const char *error;
	struct addr_list *out;
};

static struct tok tok_error(struct parser *p, const char *error)
{
	struct tok t = { .kind = TOK_ERROR };
	if (p->error == NULL)
		p->error = error;
	return t;
}

/* RFC 5322 3.2.2 comment: nested, with quoted-pairs.  At '(' on entry. */
static bool skip_comment(struct parser *p)
{
	unsigned depth = 0;
	do {
		if (p->pos >= p->len) {
			p->error = "unterminated comment";
			return false;
		}
		unsigned char c = (unsigned char)p->s[p->pos++];
		if (c == '(') {
			if (++depth > ADDR_COMMENT_DEPTH) {
				p->error = "comments nested too deeply";
				return false;
			}
		} else if (c == ')') {
			depth--;
		} else if (c == '\\') {
			if (p->pos >= p->len) {
				p->error = "unterminated comment";
				return false;
			}
			c = (unsigned char)p->s[p->pos++];
		}
		if (c == '\0') {
			p->error = "NUL byte";
			return false;
		}
	} while (depth > 0);
	return true;
}

/* Skips CFWS; returns whether there was any (false with error on error). */
static bool skip_cfws(struct parser *p)
{
	bool any = false;
	while (p->pos < p->len && p->error == NULL) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (is_ws(c))
			p->pos++;
		else if (c == '(')
			skip_comment(p);
		else
			break;
		any = true;
	}
	return any;
}

/*
 * Quoted string (RFC 5322 3.2.4) or domain literal (3.4.1), at the opening
 * character: decodes quoted-pairs; in a literal, FWS is dropped; in a
 * quoted string, line ends (folds) are dropped and other whitespace kept.
 */
static struct tok lex_quoted(struct parser *p, char close)
{
	bool literal = close == ']';
	const char *what = literal ? "unterminated domain literal"
				   : "unterminated quoted string";
	char *out = arena_alloc(p->a, p->len - p->pos + 2);
	size_t o = 0;
	if (literal)
		out[o++] = '[';
	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return tok_error(p, what);
		unsigned char c = (unsigned char)p->s[p->pos++];
		if (c == (unsigned char)close)
			break;
		if (c == '\\') {
			if (p->pos >= p->len)
				return tok_error(p, what);
			c = (unsigned char)p->s[p->pos++];
		} else if (c == '\r' || c == '\n' || (literal && is_ws(c))) {
			continue;
		} else if (literal && c == '[') {
			return tok_error(p, "'[' inside a domain literal");
		}
		if (c == '\0')
			return tok_error(p, "NUL byte");
		out[o++] = (char)c;
	}
	if (literal)
		out[o++] = ']';
	out[o] = '\0';
	struct tok t = { .kind = literal ? TOK_LITERAL : TOK_QSTRING,
			 .text = out, .len = o };
	return t;
}

static struct tok lex(struct parser *p)
{
	bool space = skip_cfws(p);
	if (p->error != NULL)
		return tok_error(p, p->error);
	struct tok t = { .kind = TOK_END };
	if (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		switch (c) {
		case '"':
			t = lex_quoted(p, '"');
			break;
		case '[':
			t = lex_quoted(p, ']');
			break;
		case '<': case '>': case '@': case ',': case ';': case ':': case '.':
			t.kind = TOK_SPECIAL;
			t.ch = (char)c;
			p->pos++;
			break;
		case ')':
			return tok_error(p, "unbalanced ')'");
		case ']':
			return tok_error(p, "unbalanced ']'");
		case '\\':
			return tok_error(p, "backslash outside quotes");
		default:
			if (!is_atext(c))
				return tok_error(p, c == '\0' ? "NUL byte"
							     : "invalid character");
			t.kind = TOK_ATOM;
			t.text = p->s + p->pos;
			while (p->pos < p->len && is_atext((unsigned char)p->s[p->pos]))
				p->pos++;
			t.len = (size_t)(p->s + p->pos - t.text);
			break;
		}
	}
	t.space_before = space;
	return t;
}

static struct tok peek(struct parser *p)
{
	if (!p->have_peek) {
		p->peeked = lex(p);
		p->have_peek = true;
	}
	return p->peeked;
}

static struct tok next(struct parser *p)
{
	struct tok t = peek(p);
	p->have_peek = false;
	return t;
}

static bool is_special(struct tok t, char ch)
{
	return t.kind == TOK_SPECIAL && t.ch == ch;
}

static bool is_word(struct tok t)
{
	return t.kind == TOK_ATOM || t.kind == TOK_QSTRING;
}

static int fail(struct parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return -1;
}

/* ---- grammar ---- */

/*
 * A run of words and dots: a display name (phrase, obs-phrase) or a local
 * part (obs-local-part); which one is known only at the next special.
 */
struct words {
	struct buf display;	/* words joined by one space where CFWS was */
	struct buf local;	/* words and dots, no CFWS */
	size_t words;
	size_t toks;
	bool adjacent;		/* two words with no dot between: no local part */
};

static void words_init(struct words *w)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->display, SIZE_MAX);
	buf_init(&w->local, SIZE_MAX);
}

static void words_free(struct words *w)
{
	buf_free(&w->display);
	buf_free(&w->local);
}

static bool read_words(struct parser *p, struct words *w)
{
	bool last_word = false;
	for (;;) {
		struct tok t = peek(p);
		if (t.kind == TOK_ERROR)
			return false;
		bool word = is_word(t);
		if (!word && !is_special(t, '.'))
			return true;
		next(p);
		const char *text = word ? t.text : ".";
		size_t len = word ? t.len : 1;
		if (w->toks > 0 && t.space_before)
			buf_putc(&w->display, ' ');
		buf_append(&w->display, text, len);
		buf_append(&w->local, text, len);
		if (word && last_word)
			w->adjacent = true;
		last_word = word;
		w->words += word;
		w->toks++;
	}
}

/* RFC 5322 3.4.1 domain: dot-atom, obs-domain or domain-literal. */
static char *parse_domain(struct parser *p)
{
	struct tok t = next(p);
	if (t.kind != TOK_ATOM && t.kind != TOK_LITERAL) {
		fail(p, "missing domain");
		return NULL;
	}
	struct buf b;
	buf_init(&b, SIZE_MAX);
	buf_append(&b, t.text, t.len);
	while (t.kind == TOK_ATOM && is_special(peek(p), '.')) {
		next(p);
		t = peek(p);
		/* A trailing dot (absolute name) is dropped. */
		if (t.kind != TOK_ATOM)
			break;
		next(p);
		buf_putc(&b, '.');
		buf_append(&b, t.text, t.len);
	}
	char *d = NULL;
	if (b.len > ADDR_MAX_DOMAIN) {
		fail(p, "domain too long");
	} else {
		d = arena_memdup(p->a, b.p, b.len);
		lower_str(d);
	}
	buf_free(&b);
	return d;
}

static int add_addr(struct parser *p, const struct addr *a)
{
	struct addr_list *l = p->out;
	if (l->n >= ADDR_MAX_LIST)
		return fail(p, "too many addresses");
	*ARRAY_PUSH_ARENA(p->a, l) = *a;
	return 0;
}

/* local-part "@" domain, the words already read; at the '@'. */
static int finish_addr_spec(struct parser *p, struct words *w, struct addr *a)
{
	if (w->words == 0)
		return fail(p, "missing local part");
	if (w->adjacent)
		return fail(p, "invalid local part");
	if (w->local.len > ADDR_MAX_LOCAL)
		return fail(p, "local part too long");
	if (!is_special(next(p), '@'))
		return fail(p, "address without '@'");
	a->local = arena_memdup(p->a, w->local.p, w->local.len);
	a->domain = parse_domain(p);
	return a->domain != NULL ? 0 : -1;
}

/* RFC 5322 4.4 obs-route: obs-domain-list ":", read and ignored. */
static int skip_route(struct parser *p)
{
	bool any = false;
	for (;;) {
		struct tok t = peek(p);
		if (is_special(t, ',')) {
			next(p);
		} else if (is_special(t, '@')) {
			next(p);
			if (parse_domain(p) == NULL)
				return -1;
			any = true;
		} else if (is_special(t, ':') && any) {
			next(p);
			return 0;
		} else {
			return fail(p, t.kind == TOK_ERROR ? p->error
					 : "invalid route in angle address");
		}
	}
}

/* angle-addr (RFC 5322 3.4, obs-angle-addr 4.4); after the '<'. */
static int parse_angle(struct parser *p, struct addr *a)
{
	struct tok t = peek(p);
	if (is_special(t, '>'))
		return fail(p, "empty address <>");
	if ((is_special(t, '@') || is_special(t, ',')) && skip_route(p) < 0)
		return -1;
	struct words w;
	words_init(&w);
	int rc = read_words(p, &w) ? finish_addr_spec(p, &w, a) : -1;
	words_free(&w);
	if (rc < 0)
		return -1;
	t = next(p);
	if (is_special(t, '>'))
		return 0;
	return fail(p, t.kind == TOK_END ? "unterminated angle address"
					 : "expected '>'");
}

static int parse_address(struct parser *p, char *group);

/* group (RFC 5322 3.4) after the ':'; obs-group-list allows empty members. */
static int parse_group(struct parser *p, char *name)
{
	if (++p->out->groups > ADDR_MAX_LIST)
		return fail(p, "too many groups");
	for (;;) {
		struct tok t = peek(p);
		if (is_special(t, ';')) {
			next(p);
			return 0;
		}
		if (is_special(t, ',')) {
			next(p);
			continue;
		}
		if (t.kind == TOK_END)
			return fail(p, "group without ';'");
		if (parse_address(p, name) < 0)
			return -1;
		t = peek(p);
		if (!is_special(t, ',') && !is_special(t, ';'))
			return fail(p, t.kind == TOK_END ? "group without ';'"
							 : "expected ',' or ';' after address");
	}
}

/* address: mailbox or (outside a group) group. */
static int parse_address(struct parser *p, char *group)
{
	struct addr a = { .group = group };
	struct words w;
	words_init(&w);
	int rc = -1;
	if (!read_words(p, &w))
		goto out;
	struct tok t = peek(p);
	if (is_special(t, '@')) {
		rc = finish_addr_spec(p, &w, &a);
	} else if (is_special(t, '<')) {
		next(p);
		if (w.toks > 0 && w.words == 0) {
			/* RFC 5322 4.1 obs-phrase starts with a word */
			rc = fail(p, "display name without a word");
			goto out;
		}
		if (w.toks > 0)
			a.display = arena_memdup(p->a, w.display.p, w.display.len);
		rc = parse_angle(p, &a);
	} else if (is_special(t, ':')) {
		next(p);
		if (group != NULL)
			rc = fail(p, "group inside a group");
		else if (w.words == 0)
			rc = fail(p, "group without a name");
		else
			rc = parse_group(p, arena_memdup(p->a, w.display.p, w.display.len));
		goto out;
	} else if (w.toks > 0) {
		rc = fail(p, "address without '@'");
	} else {
		rc = fail(p, "expected an address");
	}
	if (rc == 0)
		rc = add_addr(p, &a);
out:
	words_free(&w);
	return rc;
}

/* RFC 5322 3.4 address-list, obs-addr-list (4.4): empty members allowed. */
static int parse_list(struct parser *p)
{
	for (;;) {
		struct tok t = peek(p);
		if (t.kind == TOK_END)
			return 0;
		if (is_special(t, ',')) {
			next(p);
			continue;
		}
		if (parse_address(p, NULL) < 0)
			return -1;
		t = next(p);
		if (t.kind == TOK_END)
			return 0;
		if (!is_special(t, ','))
			return fail(p, t.kind == TOK_ERROR ? p->error
					 : "expected ',' between addresses");
	}
}

int addr_list_parse(struct arena *a, const char *s, size_t len, struct addr_list *out,
		    const char **error_r)
{
	memset(out, 0, sizeof(*out));
	struct parser p = { .a = a, .s = s, .len = len, .out = out };
	if (parse_list(&p) == 0)
		return 0;
	ASSERT(p.error != NULL);
	*error_r = p.error;
	memset(out, 0, sizeof(*out));
	return -1;
}

/* ---- envelope paths (RFC 5321 4.1.2) ---- */

/* Local-part: Dot-string (dots lax, as above) or Quoted-string. */
static const char *path_local(struct arena *a, const char **sp, struct addr *out)
{
	const char *s = *sp;
	struct buf b;
	buf_init(&b, SIZE_MAX);
	const char *err = NULL;
	if (*s == '"') {
		s++;
		while (*s != '"' && err == NULL) {
			if (*s == '\\')
				s++;
			if (*s == '\0')
				err = "unterminated quoted string";
			else
				buf_putc(&b, *s++);
		}
		if (err == NULL)
			s++;
	} else {
		for (; is_atext((unsigned char)*s) || *s == '.'; s++)
			buf_putc(&b, *s);
		if (b.len == 0)
			err = *s == '\0' ? "empty path" : "invalid local part";
	}
	if (err == NULL && b.len > ADDR_MAX_LOCAL)
		err = "local part too long";
	if (err == NULL)
		out->local = arena_memdup(a, b.p, b.len);
	buf_free(&b);
	*sp = s;
	return err;
}

/* Domain / address-literal after the '@'. */
static const char *path_domain(struct arena *a, const char **sp, struct addr *out)
{
	const char *s = *sp, *start = s;
	if (*s == '[') {
		for (s++; *s != ']' && *s != '\0' && *s != '[' && *s != '>' &&
			  !is_ws((unsigned char)*s); s++)
			;
		if (*s != ']')
			return "unterminated address literal";
		s++;
	} else {
		while (is_alnum((unsigned char)*s) || *s == '-' || *s == '.' ||
		       *s == '_' || (unsigned char)*s >= 0x80)
			s++;
	}
	size_t len = (size_t)(s - start);
	if (len > 0 && start[len - 1] == '.')
		len--;
	if (len == 0)
		return "missing domain";
	if (len > ADDR_MAX_DOMAIN)
		return "domain too long";
	out->domain = arena_memdup(a, start, len);
	lower_str(out->domain);
	*sp = s;
	return NULL;
}

/* Mailbox: Local-part ["@" domain]; no domain (RCPT TO:<postmaster>) gives "". */
static const char *path_mailbox(struct arena *a, const char **sp, struct addr *out)
{
	const char *err = path_local(a, sp, out);
	if (err != NULL)
		return err;
	if (**sp != '@') {
		out->domain = arena_strdup(a, "");
		return NULL;
	}
	(*sp)++;
	return path_domain(a, sp, out);
}

/* A-d-l ":" (RFC 5321 4.1.2 source route), read and ignored. */
static const char *path_route(const char **sp)
{
	const char *s = *sp;
	while (*s == '@' || *s == ',' || *s == '.' || *s == '-' || *s == '_' ||
	       is_alnum((unsigned char)*s))
		s++;
	if (*s != ':')
		return "invalid source route";
	*sp = s + 1;
	return NULL;
}

static const char *path_parse(struct arena *a, const char *s, struct addr *out)
{
	const char *err = NULL;
	while (is_ws((unsigned char)*s))
		s++;
	if (*s == '\0')
		return "empty path";
	if (*s != '<') {
		err = path_mailbox(a, &s, out);
	} else if (s[1] == '>') {
		/* The null reverse-path (RFC 5321 4.5.5). */
		out->local = arena_strdup(a, "");
		out->domain = arena_strdup(a, "");
		s += 2;
	} else {
		s++;
		if (*s == '@')
			err = path_route(&s);
		if (err == NULL)
			err = path_mailbox(a, &s, out);
		if (err == NULL && *s++ != '>')
			err = "missing '>'";
	}
	/* ESMTP parameters (RFC 5321 4.1.2 Mail-parameters) are not ours. */
	if (err == NULL && *s != '\0' && !is_ws((unsigned char)*s))
		err = "garbage after path";
	return err;
}

int addr_parse_path(struct arena *a, const char *s, struct addr *out, const char **error_r)
{
	memset(out, 0, sizeof(*out));
	const char *err = path_parse(a, s, out);
	if (err == NULL)
		return 0;
	memset(out, 0, sizeof(*out));
	*error_r = err;
	return -1;
}

/* ---- domains ---- */

char *addr_domain_normalize(struct arena *a, const char *d, size_t len)
{
	if (len > 0 && d[len - 1] == '.')
		len--;
	/* RFC 1035 2.3.4: 253 bytes of text, 63 a label. */
	if (len == 0 || len > 253)
		return NULL;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return NULL;
			label = 0;
		} else if (is_alnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return NULL;
		} else {
			return NULL;
		}
	}
	if (label == 0)
		return NULL;
	char *r = arena_memdup(a, d, len);
	lower_str(r);
	return r;
}
