/*
 * check_host() (RFC 7208) over our DNS layer, with our limits (see
 * spf_dns.h).  Our own evaluator: spf_record.c parses every record against
 * the ABNF of section 12 (spf_record_parse), and this file walks its terms
 * in order (4.6.2), expands every macro (7.3), decides whether each target
 * name is usable in DNS, asks lib/dns (or a test zone), counts what 4.6.4
 * counts, and says which record and term decided (spf_explain).
 *
 * Until December 2026 libspf2 1.2.10 walked the terms of a record we
 * rewrote for it.  Evaluating the record ourselves cost a third of that
 * (libspf2 compiled every record on every evaluation) and ended the list
 * of its faults we had to work around; tests/unit/test_spf.c still pins
 * each of them: syntax it accepts or refuses against the ABNF, %{d2}
 * truncation, localhost passing without a lookup, redirect= evaluated
 * where it stands or beside "all", ptr and mx limits, /0 CIDR lengths,
 * and RFC 2396 URL escaping.
 *
 * Local-parts.  Every local-part SMTP carries is evaluated: dot-atoms,
 * "a%b", "+tag", "user=tag", and quoted ones; %{l} is the local-part
 * without its SMTP quoting ("john smith" for "\"john smith\"@example.com",
 * as the mailbox's name, not its spelling), an empty one is "postmaster"
 * (4.3).  A name it makes that DNS cannot carry (a space, a backslash, a
 * byte outside printable ASCII) is an unusable target name.
 *
 * Target names (4.8, 7.3).  After expansion a trailing dot is dropped and a
 * name over 253 octets loses labels on the left until it fits (7.3).  A
 * name that still is not a usable domain name (empty, an empty label, a
 * label over 63 octets, a byte DNS cannot carry here, a single label, a
 * toplabel that is not alphanumeric-with-a-letter or LDH) is, as 4.3 says
 * of a malformed <domain>, treated as a name that does not exist: a, mx and
 * exists do not match and their lookup is void (it counts towards the
 * limit of 2, 4.6.4); include's check_host() returns none, so include is
 * permerror (5.2), and so is redirect (6.1); ptr does not match; exp= is
 * ignored (6.2).  Never temperror: that is for DNS trouble only (5: a
 * timeout or an RCODE other than 0 and 3; lib/dns also reports an answer
 * whose records do not parse as SERVFAIL, so it is temperror, never none).
 *
 * Counting (4.6.4).  include, a, mx, ptr, exists and redirect= each count
 * once when evaluated; the address lookups of the names an MX or PTR
 * answer gave do not (at most 10 each: more than 10 MX names is permerror,
 * PTR names past the tenth are ignored).  A void lookup is an a, mx, ptr
 * or exists query answered NXDOMAIN or with no records.  A term past the
 * limit, a third void lookup, the deadline or a cancel stops the whole
 * evaluation at once (permerror for limits, temperror for time).  The
 * lookups behind %{p} and exp= are not terms.  Macros are expanded when
 * their term is evaluated.
 *
 * Our limits, kept from the libspf2 days (its CVE-2023-42118 was a stack
 * overflow on long macro-laden terms) because they bound our own work: a
 * term argument over SPF_MAX_TERM_ARG_LEN bytes or with more than
 * SPF_MAX_TERM_MACROS macros is permerror; an explanation over
 * SPF_MAX_EXP_LEN or with more macros is ignored.
 */
#include "spf_dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "netlist.h"
#include "spf_record.h"
#include "xalloc.h"

/* RFC 1035 2.3.4, as text without the final dot. */
#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
/* One expanded macro-string (our limit; a DNS name is cut to 253 after). */
#define SPF_MAX_EXPANDED 4096
/*
 * Records one evaluation is inside at once: the identity's, then one per
 * include or redirect= (each a DNS-querying term, so at most 10 more).
 */
#define SPF_MAX_DEPTH (SPF_MAX_DNS_TERMS + 1)

/* ---- one evaluation ---- */

/* A record being evaluated: whose, as published, the term at hand. */
struct level {
	const char *domain;
	struct slice text;	/* p NULL: none read (yet) */
	struct slice term;	/* p NULL: none (the record as a whole) */
};

struct spf_eval {
	const struct spf_backend *be;
	const struct spf_query *q;
	unsigned terms, voids;
	bool aborted;			/* a limit, the deadline or a cancel stopped it */
	bool would_wait;		/* cached_only, and an answer was not there */
	enum spf_res abort_res;
	char why[240];			/* the last problem, for the comment */
	/* the macro values of RFC 7208 7.3 that do not change */
	char *sender, *local, *sdom, *domain;
	const char *helo;
	char ip_i[80], ip_c[INET6_ADDRSTRLEN];
	bool v6;
	struct in_addr a4;
	struct in6_addr a6;
	/* %{p} and ptr: the validated names of <ip>, looked up once */
	bool p_done;
	bool p_void;			/* the PTR query found nothing */
	char *p_names[SPF_MAX_PTR_NAMES];
	size_t n_p;
	/* the exp= of the record that decided fail, and that record's domain */
	char *exp_spec, *exp_dom;
	/* the records from the identity's down to the one being evaluated */
	struct level path[SPF_MAX_DEPTH];
	size_t depth;
	/* q->explain: the path where it was decided, else NULL */
	struct spf_explain *x;
	bool error_noted;		/* x holds where an error was met: final */
};

const char *spf_res_name(enum spf_res r)
{
	static const char *const names[] = {
		[SPF_RES_NONE] = "none", [SPF_RES_NEUTRAL] = "neutral",
		[SPF_RES_PASS] = "pass", [SPF_RES_FAIL] = "fail",
		[SPF_RES_SOFTFAIL] = "softfail", [SPF_RES_TEMPERROR] = "temperror",
		[SPF_RES_PERMERROR] = "permerror",
	};
	return (size_t)r < ARRAY_LEN(names) ? names[r] : "temperror";
}

uint64_t spf_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_why(struct spf_eval *ev, const char *fmt, ...) PRINTF(2, 3);
static void set_why(struct spf_eval *ev, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ev->why, sizeof(ev->why), fmt, ap);
	va_end(ap);
	/* names in it may hold anything a record or a sender put there */
	for (char *p = ev->why; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

static void stop(struct spf_eval *ev, enum spf_res res, const char *why)
{
	if (ev->aborted)
		return;
	ev->aborted = true;
	ev->abort_res = res;
	set_why(ev, "%s", why);
}

/* The deadline or a cancel: stop (temperror). */
static bool out_of_time(struct spf_eval *ev)
{
	if (ev->q->cancel != NULL && __atomic_load_n(ev->q->cancel, __ATOMIC_ACQUIRE))
		stop(ev, SPF_RES_TEMPERROR, "evaluation cancelled");
	else if (spf_clock_ms() >= ev->q->deadline_ms)
		stop(ev, SPF_RES_TEMPERROR, "evaluation exceeded SPFTimeout");
	return ev->aborted;
}

/* One more DNS-querying term; false (and stopped) past the limit. */
static bool count_term(struct spf_eval *ev)
{
	/* RFC 7208 4.6.4: more than 10 DNS-querying terms is permerror */
	if (++ev->terms > SPF_MAX_DNS_TERMS)
		stop(ev, SPF_RES_PERMERROR, "more than 10 DNS-querying terms (RFC 7208 4.6.4)");
	return !ev->aborted;
}

static void count_void(struct spf_eval *ev)
{
	/* RFC 7208 4.6.4: more than 2 void lookups is permerror */
	if (++ev->voids > SPF_MAX_VOID_LOOKUPS)
		stop(ev, SPF_RES_PERMERROR, "more than 2 void lookups (RFC 7208 4.6.4)");
}

/* An answer from either back end; release with fetch_done(). */
struct fetch {
	struct dns_lookup *l;
	struct dns_answer zans;
	const struct dns_answer *a;
};

static void fetch_failed(struct fetch *f, enum dns_type t, const char *why)
{
	f->zans.status = DNS_ERROR;
	f->zans.type = t;
	f->zans.why = why;
	f->a = &f->zans;
}

/*
 * The answer to name/t.  Past the deadline, after a cancel or a stop, or
 * (cached_only) when it is not cached, the evaluation is stopped and the
 * answer is a DNS error: callers look at ev->aborted.
 */
static void fetch(struct spf_eval *ev, const char *name, enum dns_type t, struct fetch *f)
{
	memset(f, 0, sizeof(*f));
	if (ev->aborted || out_of_time(ev)) {
		fetch_failed(f, t, "evaluation stopped");
		return;
	}
	if (ev->be->dns != NULL && ev->q->cached_only) {
		f->l = dns_lookup_cached(ev->be->dns, name, t);
		if (f->l != NULL) {
			f->a = dns_lookup_wait(f->l);	/* there already */
			return;
		}
		/* the evaluation stops here; it will be run again, waiting */
		ev->would_wait = true;
		stop(ev, SPF_RES_TEMPERROR, "an answer is not cached");
		fetch_failed(f, t, "not cached");
		return;
	}
	if (ev->be->dns != NULL) {
		f->a = dns_lookup_sync(ev->be->dns, name, t, &f->l);
		return;
	}
	zone_lookup(ev->be->zone, name, t, &f->zans);
	f->a = &f->zans;
}

static void fetch_done(struct fetch *f)
{
	if (f->l != NULL)
		dns_lookup_free(&f->l);
	else
		dns_answer_clear(&f->zans);
}

/* ---- names ---- */

/* Bytes lib/dns carries in a label (printable ASCII but "." and "\"). */
static bool label_byte_ok(char c)
{
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f && c != '.' && c != '\\';
}

/*
 * A usable domain name (see the top): 1..253 octets, at least two labels of
 * 1..63 octets DNS can carry, the last one a toplabel.  No final dot.
 */
static bool usable_name(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 1, last = 0;
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
			last = i + 1;
		} else if (!label_byte_ok(d[i]) || ++label > LABEL_MAX_LEN) {
			return false;
		}
	}
	return label > 0 && labels >= 2 && spf_toplabel_ok(d + last, len - last);
}

/* The identity's domain (RFC 7208 4.3): LDH/underscore labels, at least two. */
static bool domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 1;
	if (len == 0 || len > NAME_MAX_LEN || d[0] == '.' || d[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
		} else if ((spf_is_alnum(d[i]) || d[i] == '-' || d[i] == '_') && ++label <= LABEL_MAX_LEN) {
			continue;
		} else {
			return false;
		}
	}
	return labels >= 2;
}

static bool same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Is name a or a subdomain of b? */
static bool name_within(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la < lb)
		return false;
	if (la == lb)
		return strcasecmp(a, b) == 0;
	return a[la - lb - 1] == '.' && strcasecmp(a + la - lb, b) == 0;
}

/* ---- %{p} (RFC 7208 7.3, validated as 5.5 says) ---- */

static bool answer_within(const struct spf_eval *ev, const struct dns_answer *a, int cidr4,
			  int cidr6);

static void reverse_name(const struct spf_eval *ev, char *out, size_t size)
{
	if (!ev->v6) {
		const uint8_t *b = (const uint8_t *)&ev->a4;
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return;
	}
	size_t o = 0;
	for (int i = 15; i >= 0; i--)
		o += (size_t)snprintf(out + o, size - o, "%x.%x.", ev->a6.s6_addr[i] & 0xf,
				      ev->a6.s6_addr[i] >> 4);
	snprintf(out + o, size - o, "ip6.arpa");
}

static void p_lookup(struct spf_eval *ev)
{
	ev->p_done = true;
	char rev[100];
	reverse_name(ev, rev, sizeof(rev));
	struct fetch f;
	fetch(ev, rev, DNS_T_PTR, &f);
	ev->p_void = f.a->status == DNS_NXDOMAIN || f.a->status == DNS_NODATA ||
		     (f.a->status == DNS_OK && f.a->count == 0);
	for (size_t i = 0; f.a->status == DNS_OK && i < f.a->count && i < SPF_MAX_PTR_NAMES; i++) {
		const char *name = f.a->rr[i].u.ptr;
		if (!usable_name(name) || ev->aborted)
			continue;
		struct fetch g;
		fetch(ev, name, ev->v6 ? DNS_T_AAAA : DNS_T_A, &g);
		if (answer_within(ev, g.a, -1, -1))	/* the client's own address */
			ev->p_names[ev->n_p++] = xstrdup(name);
		fetch_done(&g);
	}
	fetch_done(&f);
}

/* RFC 7208 7.3: <domain> itself, else a subdomain of it, else any, else "unknown". */
static const char *p_value(struct spf_eval *ev, const char *dom)
{
	if (!ev->p_done)
		p_lookup(ev);
	for (size_t i = 0; i < ev->n_p; i++)
		if (same_name(ev->p_names[i], dom))
			return ev->p_names[i];
	for (size_t i = 0; i < ev->n_p; i++)
		if (name_within(ev->p_names[i], dom))
			return ev->p_names[i];
	return ev->n_p > 0 ? ev->p_names[0] : "unknown";
}

/* ---- macro expansion (RFC 7208 7.3) ---- */

/* RFC 3986 2.3 unreserved characters stay, the rest is %XX. */
static void url_escape(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (spf_is_alnum((char)c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_putc(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

static const char *macro_value(struct spf_eval *ev, char letter, const char *dom, char *tbuf,
			       size_t tsize)
{
	switch (letter) {
	case 's':
		return ev->sender;
	case 'l':
		return ev->local;
	case 'o':
		return ev->sdom;
	case 'd':
		return dom;
	case 'i':
		return ev->ip_i;
	case 'p':
		return p_value(ev, dom);
	case 'v':
		return ev->v6 ? "ip6" : "in-addr";
	case 'h':
		return ev->helo;
	case 'c':
		return ev->ip_c;
	case 'r':
		/* "unknown" when the receiver has no domain name (RFC 7208 7.3) */
		return ev->q->receiver != NULL && domain_ok(ev->q->receiver) ? ev->q->receiver
									     : "unknown";
	case 't':
		snprintf(tbuf, tsize, "%lld", (long long)time(NULL));
		return tbuf;
	}
	return "";
}

/* One "%{...}" at s (already checked): its value transformed into out. */
static void expand_one(struct spf_eval *ev, const char *s, size_t mlen, const char *dom,
		       struct buf *out)
{
	char tbuf[32];
	char letter = s[2];
	bool upper = letter >= 'A' && letter <= 'Z';
	if (upper)
		letter = (char)(letter - 'A' + 'a');
	const char *val = macro_value(ev, letter, dom, tbuf, sizeof(tbuf));
	size_t k = 3;
	unsigned keep = 0;
	while (spf_is_digit(s[k])) {
		if (keep < 100000)
			keep = keep * 10 + (unsigned)(s[k] - '0');
		k++;
	}
	bool rev = s[k] == 'r' || s[k] == 'R';
	if (rev)
		k++;
	char delims[8] = "";
	size_t nd = 0;
	for (; k < mlen - 1; k++)
		if (nd < sizeof(delims) - 1 && strchr(delims, s[k]) == NULL)
			delims[nd++] = s[k];
	if (nd == 0)
		delims[nd++] = '.';
	delims[nd] = '\0';
	/* split on the delimiters, reverse, keep the rightmost parts, join with "." */
	size_t vlen = strlen(val), nparts = 1;
	for (size_t i = 0; i < vlen; i++)
		if (strchr(delims, val[i]) != NULL)
			nparts++;
	struct slice *parts = xcalloc(nparts, sizeof(*parts));
	size_t np = 0, start = 0;
	for (size_t i = 0; i <= vlen; i++)
		if (i == vlen || strchr(delims, val[i]) != NULL) {
			parts[np++] = slice_make(val + start, i - start);
			start = i + 1;
		}
	if (rev)
		for (size_t i = 0; i < np / 2; i++) {
			struct slice t = parts[i];
			parts[i] = parts[np - 1 - i];
			parts[np - 1 - i] = t;
		}
	size_t first = keep > 0 && keep < np ? np - keep : 0;
	struct buf v;
	buf_init(&v, SPF_MAX_EXPANDED);
	for (size_t i = first; i < np; i++) {
		if (i > first)
			buf_putc(&v, '.');
		buf_append(&v, parts[i].p, parts[i].len);
	}
	if (upper)
		url_escape(out, v.p, v.len);
	else
		buf_append(out, v.p, v.len);
	if (v.overflow)
		out->overflow = true;
	buf_free(&v);
	free(parts);
}

/* A checked macro-string into out; false if it grew past our limit. */
static bool expand(struct spf_eval *ev, struct slice s, const char *dom, struct buf *out)
{
	for (size_t i = 0; i < s.len;) {
		if (s.p[i] != '%') {
			buf_putc(out, s.p[i++]);
			continue;
		}
		char c = s.p[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			buf_puts(out, c == '%' ? "%" : c == '_' ? " " : "%20");
			i += 2;
			continue;
		}
		size_t m = spf_macro_len(s.p, s.len, i, true);
		if (m == 0) {
			/* not reached: every macro-string was checked first */
			buf_putc(out, s.p[i++]);
			continue;
		}
		expand_one(ev, s.p + i, m, dom, out);
		i += m;
	}
	return !out->overflow;
}

/*
 * The target name of a domain-spec (or dom when there is none): expanded,
 * one final dot dropped, cut to 253 octets on the left (RFC 7208 7.3).
 * Returns it (free()), or NULL when it is not a usable name (see the top).
 */
static char *target_name(struct spf_eval *ev, struct slice spec, const char *dom)
{
	if (spec.p == NULL)
		return usable_name(dom) ? xstrdup(dom) : NULL;
	struct buf b;
	buf_init(&b, SPF_MAX_EXPANDED);
	char *name = NULL;
	if (expand(ev, spec, dom, &b)) {
		if (b.len > 0 && b.p[b.len - 1] == '.')
			buf_truncate(&b, b.len - 1);
		const char *p = b.p;
		while (strlen(p) > NAME_MAX_LEN && strchr(p, '.') != NULL)
			p = strchr(p, '.') + 1;
		if (usable_name(p))
			name = xstrdup(p);
	}
	buf_free(&b);
	return name;
}

/* ---- explanations (spf_explain, see spf_dns.h) ---- */

static void explain_steps_clear(struct spf_explain *x)
{
	for (size_t i = 0; i < x->n_steps; i++) {
		free(x->step[i].domain);
		free(x->step[i].record);
		free(x->step[i].term);
	}
	memset(x->step, 0, sizeof(x->step));
	x->n_steps = 0;
}

static char *slice_dup_or_null(struct slice s)
{
	return s.p != NULL ? xstrndup(s.p, s.len) : NULL;
}

/* It was decided here (how), at the term each record on the path is at. */
static void decided(struct spf_eval *ev, enum spf_decided how)
{
	struct spf_explain *x = ev->x;
	if (x == NULL || ev->error_noted)
		return;
	explain_steps_clear(x);
	for (size_t i = 0; i < ev->depth && i < SPF_EXPLAIN_MAX_STEPS; i++) {
		const struct level *lv = &ev->path[i];
		x->step[i].domain = xstrdup(lv->domain);
		x->step[i].record = slice_dup_or_null(lv->text);
		x->step[i].term = slice_dup_or_null(lv->term);
		x->n_steps = i + 1;
	}
	x->decided = how;
}

/*
 * An error (permerror, temperror) was met here.  It ends the evaluation,
 * so the first one noted stands: the records it passes back through
 * (include, redirect=) add nothing.
 */
static void error_here(struct spf_eval *ev)
{
	decided(ev, SPF_DECIDED_ERROR);
	ev->error_noted = true;
}

/* ---- the terms (RFC 7208 5) ---- */

enum term_outcome { T_NOMATCH, T_MATCH, T_ERROR };

static enum spf_res qualifier_result(char q)
{
	switch (q) {
	case '-':
		return SPF_RES_FAIL;
	case '~':
		return SPF_RES_SOFTFAIL;
	case '?':
		return SPF_RES_NEUTRAL;
	default:
		return SPF_RES_PASS;
	}
}

/* Is addr (4 or 16 bytes, the client's family) within cidr bits of the client? */
static bool client_within(const struct spf_eval *ev, const uint8_t *addr, int cidr)
{
	const uint8_t *c = ev->v6 ? ev->a6.s6_addr : (const uint8_t *)&ev->a4.s_addr;
	int bits = ev->v6 ? 128 : 32;
	if (cidr < 0 || cidr > bits)
		cidr = bits;
	return netlist_prefix_equal(addr, c, (unsigned)cidr);
}

/* Does an A/AAAA answer hold an address within cidr4/cidr6 bits (-1: all) of the client? */
static bool answer_within(const struct spf_eval *ev, const struct dns_answer *a, int cidr4,
			  int cidr6)
{
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (!ev->v6 && a->type == DNS_T_A &&
		    client_within(ev, (const uint8_t *)&r->u.a, cidr4))
			return true;
		if (ev->v6 && a->type == DNS_T_AAAA && client_within(ev, r->u.aaaa.s6_addr, cidr6))
			return true;
	}
	return false;
}

/* ip4, ip6 (5.6): the client within the network? */
static bool ip_match(const struct spf_eval *ev, const struct spf_rterm *t)
{
	bool six = t->kind == M_IP6;
	char tmp[INET6_ADDRSTRLEN + 1];
	uint8_t a[16];
	if (six != ev->v6 || t->net.len >= sizeof(tmp))
		return false;
	memcpy(tmp, t->net.p, t->net.len);
	tmp[t->net.len] = '\0';
	if (inet_pton(six ? AF_INET6 : AF_INET, tmp, a) != 1)
		return false;
	return client_within(ev, a, six ? t->cidr6 : t->cidr4);
}

/*
 * The usual end of a lookup for a term: a DNS error is temperror (5), no
 * records a void lookup (4.6.4).  True when the answer has records.
 */
static bool term_answer(struct spf_eval *ev, const char *name, const struct dns_answer *a,
			enum term_outcome *out_r)
{
	*out_r = T_NOMATCH;
	if (ev->aborted) {
		*out_r = T_ERROR;
		return false;
	}
	if (dns_status_temporary(a->status)) {
		set_why(ev, "DNS %s lookup of %s: %s", dns_type_name(a->type), name,
			dns_status_name(a->status));
		*out_r = T_ERROR;
		return false;
	}
	if (a->status != DNS_OK || a->count == 0) {
		count_void(ev);
		*out_r = ev->aborted ? T_ERROR : T_NOMATCH;
		return false;
	}
	return true;
}

/* A target that is no usable name, for a, mx, exists: as if it did not exist (see the top). */
static enum term_outcome unusable_target(struct spf_eval *ev)
{
	set_why(ev, "a target name is not a valid domain name");
	count_void(ev);
	return ev->aborted ? T_ERROR : T_NOMATCH;
}

static enum dns_type addr_type(const struct spf_eval *ev)
{
	return ev->v6 ? DNS_T_AAAA : DNS_T_A;
}

/* a (5.3) and exists (5.7: always an A query; any address matches). */
static enum term_outcome a_or_exists(struct spf_eval *ev, const struct spf_rterm *t,
				     const char *target)
{
	if (target == NULL)
		return unusable_target(ev);
	bool exists = t->kind == M_EXISTS;
	struct fetch f;
	fetch(ev, target, exists ? DNS_T_A : addr_type(ev), &f);
	enum term_outcome out;
	if (term_answer(ev, target, f.a, &out))
		out = exists || answer_within(ev, f.a, t->cidr4, t->cidr6) ? T_MATCH : T_NOMATCH;
	fetch_done(&f);
	return out;
}

/* The addresses of one name an MX answer gave: a match, no match, or an error. */
static enum term_outcome mx_host(struct spf_eval *ev, const struct spf_rterm *t,
				 const char *host)
{
	/* a null MX (RFC 7505) or a name DNS cannot carry: no address */
	if (!usable_name(host))
		return T_NOMATCH;
	struct fetch f;
	fetch(ev, host, addr_type(ev), &f);
	enum term_outcome out = T_NOMATCH;
	if (ev->aborted) {
		out = T_ERROR;
	} else if (dns_status_temporary(f.a->status)) {
		set_why(ev, "DNS %s lookup of %s: %s", dns_type_name(addr_type(ev)), host,
			dns_status_name(f.a->status));
		out = T_ERROR;
	} else if (answer_within(ev, f.a, t->cidr4, t->cidr6)) {
		out = T_MATCH;
	}
	fetch_done(&f);
	return out;
}

/* mx (5.4). */
static enum term_outcome mx(struct spf_eval *ev, const struct spf_rterm *t, const char *target)
{
	if (target == NULL)
		return unusable_target(ev);
	struct fetch f;
	fetch(ev, target, DNS_T_MX, &f);
	enum term_outcome out;
	if (term_answer(ev, target, f.a, &out)) {
		if (f.a->count > SPF_MAX_MX_NAMES) {
			stop(ev, SPF_RES_PERMERROR, "more than 10 MX names (RFC 7208 4.6.4)");
			out = T_ERROR;
		}
		for (size_t i = 0; out == T_NOMATCH && i < f.a->count; i++)
			out = mx_host(ev, t, f.a->rr[i].u.mx.exchange);
	}
	fetch_done(&f);
	return out;
}

/*
 * ptr (5.5): a validated name of the client that is the target or within
 * it.  A DNS error on the PTR query is no match, and a name whose address
 * query failed is not validated (p_lookup).
 */
static enum term_outcome ptr(struct spf_eval *ev, const char *target)
{
	if (!ev->p_done)
		p_lookup(ev);
	if (ev->aborted)
		return T_ERROR;
	if (ev->p_void) {
		count_void(ev);
		if (ev->aborted)
			return T_ERROR;
	}
	for (size_t i = 0; target != NULL && i < ev->n_p; i++)
		if (name_within(ev->p_names[i], target))
			return T_MATCH;
	return T_NOMATCH;
}

static enum spf_res check_host(struct spf_eval *ev, const char *dom, bool top);

/*
 * check_host() of an include or redirect= target (5.2, 6.1): a target that
 * is no usable name, or one without an SPF record (check_host() of a
 * nested target says so, see pick_record), is permerror.
 */
static enum spf_res nested(struct spf_eval *ev, const char *target)
{
	if (target == NULL) {
		set_why(ev, "include/redirect target is not a valid domain name");
		return SPF_RES_PERMERROR;
	}
	return check_host(ev, target, false);
}

/* include (5.2): a match when the target's check_host() is pass. */
static enum term_outcome include(struct spf_eval *ev, const char *target, enum spf_res *err_r)
{
	enum spf_res r = nested(ev, target);
	switch (r) {
	case SPF_RES_PASS:
		return T_MATCH;
	case SPF_RES_FAIL:
	case SPF_RES_SOFTFAIL:
	case SPF_RES_NEUTRAL:
		return T_NOMATCH;
	default:
		*err_r = r;
		return T_ERROR;
	}
}

/* One mechanism against the client; *err_r is the result of T_ERROR. */
static enum term_outcome term(struct spf_eval *ev, const struct spf_rterm *t, const char *dom,
			      enum spf_res *err_r)
{
	/* a DNS error; a limit, the deadline or a cancel also stops it (ev->aborted) */
	*err_r = SPF_RES_TEMPERROR;
	if (t->kind == M_ALL)
		return T_MATCH;
	if (t->kind == M_IP4 || t->kind == M_IP6)
		return ip_match(ev, t) ? T_MATCH : T_NOMATCH;
	if (!count_term(ev))
		return T_ERROR;
	char *target = target_name(ev, t->spec, dom);
	enum term_outcome out = T_ERROR;
	if (!ev->aborted) {
		switch (t->kind) {
		case M_INCLUDE:
			out = include(ev, target, err_r);
			break;
		case M_A:
		case M_EXISTS:
			out = a_or_exists(ev, t, target);
			break;
		case M_MX:
			out = mx(ev, t, target);
			break;
		default:
			out = ptr(ev, target);
			break;
		}
	}
	free(target);
	return out;
}

/* ---- records ---- */

/*
 * Picks the one SPF record of an answer (RFC 7208 4.5) and parses it into
 * r, noting it (and a term with a syntax error) on lv.  Returns true, or
 * false with the result in *res_r (top: the identity's own record).
 */
static bool pick_record(struct spf_eval *ev, bool top, const char *dom,
			const struct dns_answer *a, struct spf_rec *r, struct level *lv,
			enum spf_res *res_r)
{
	if (ev->aborted) {
		*res_r = ev->abort_res;
		return false;
	}
	if (dns_status_temporary(a->status)) {
		/* RFC 7208 4.4: a timeout or server failure is temperror */
		set_why(ev, "DNS TXT lookup of %s: %s", dom, dns_status_name(a->status));
		*res_r = SPF_RES_TEMPERROR;
		return false;
	}
	const struct dns_rr *found = NULL;
	size_t n = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (spf_record_is_v1(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			found = &a->rr[i];
			n++;
		}
	if (n == 0) {
		set_why(ev, "no SPF record at %s", dom);
		/* RFC 7208 5.2, 6.1: an include or redirect without one is permerror */
		*res_r = top ? SPF_RES_NONE : SPF_RES_PERMERROR;
		return false;
	}
	if (n > 1) {
		set_why(ev, "more than one SPF record at %s (RFC 7208 4.5)", dom);
		*res_r = SPF_RES_PERMERROR;
		return false;
	}
	lv->text = slice_make(found->u.txt.data, found->u.txt.len);
	const char *bad = strlen(found->u.txt.data) != found->u.txt.len
				  ? "SPF record has a NUL byte"
				  : spf_record_parse(found->u.txt.data, found->u.txt.len, r, &lv->term);
	if (bad != NULL) {
		/* RFC 7208 4.6: a syntax error anywhere is permerror */
		set_why(ev, "SPF record of %s refused: %s", dom, bad);
		*res_r = SPF_RES_PERMERROR;
		return false;
	}
	return true;
}

/* A record decided fail by a term of its own: its exp= (6.2), if any, explains. */
static void note_exp(struct spf_eval *ev, const struct spf_rec *r, const char *dom,
		     enum spf_res res)
{
	if (res != SPF_RES_FAIL)
		return;
	free(ev->exp_spec);
	free(ev->exp_dom);
	ev->exp_spec = slice_dup_or_null(r->exp);
	ev->exp_dom = r->exp.p != NULL ? xstrdup(dom) : NULL;
}

/* The mechanisms in order (4.6.2), then redirect= (6.1), else neutral (4.7). */
static enum spf_res evaluate_record(struct spf_eval *ev, const struct spf_rec *r,
				    const char *dom, struct level *lv)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct spf_rterm *t = &r->t[i];
		lv->term = t->text;
		enum spf_res err;
		enum term_outcome out = term(ev, t, dom, &err);
		if (out == T_ERROR) {
			error_here(ev);
			return ev->aborted ? ev->abort_res : err;
		}
		if (out == T_MATCH) {
			enum spf_res res = qualifier_result(t->qual);
			/* an include that matched was decided in the record it named */
			if (t->kind != M_INCLUDE)
				decided(ev, SPF_DECIDED_TERM);
			note_exp(ev, r, dom, res);
			return res;
		}
	}
	if (r->redirect.p != NULL && !r->has_all) {
		lv->term = r->redirect_term;
		if (!count_term(ev)) {
			error_here(ev);
			return ev->abort_res;
		}
		char *target = target_name(ev, r->redirect, dom);
		enum spf_res res = ev->aborted ? ev->abort_res : nested(ev, target);
		free(target);
		if (ev->aborted)
			res = ev->abort_res;
		if (res == SPF_RES_PERMERROR || res == SPF_RES_TEMPERROR)
			error_here(ev);
		return res;
	}
	lv->term = slice_make(NULL, 0);
	decided(ev, SPF_DECIDED_DEFAULT);
	return SPF_RES_NEUTRAL;
}

/* check_host() of dom (RFC 7208 4): top for the identity's own domain. */
static enum spf_res check_host(struct spf_eval *ev, const char *dom, bool top)
{
	if (ev->depth == SPF_MAX_DEPTH) {
		/* not reached: each level past the first counts a term */
		stop(ev, SPF_RES_PERMERROR, "includes and redirects nested too deeply");
		return SPF_RES_PERMERROR;
	}
	struct level *lv = &ev->path[ev->depth++];
	*lv = (struct level){ .domain = dom };
	struct fetch f;
	fetch(ev, dom, DNS_T_TXT, &f);
	/* on the stack (4 KB; at most SPF_MAX_DEPTH deep): no large malloc per record */
	struct spf_rec r;
	enum spf_res res;
	if (pick_record(ev, top, dom, f.a, &r, lv, &res))
		res = evaluate_record(ev, &r, dom, lv);
	else if (res != SPF_RES_NONE)
		error_here(ev);
	fetch_done(&f);
	ev->depth--;
	return res;
}

/* The explanation of a fail (RFC 7208 6.2), expanded and cleaned, or NULL. */
static char *exp_text(struct spf_eval *ev)
{
	if (ev->exp_spec == NULL)
		return NULL;
	char *name = target_name(ev, slice_cstr(ev->exp_spec), ev->exp_dom);
	if (name == NULL || ev->aborted) {
		free(name);
		return NULL;
	}
	struct fetch f;
	fetch(ev, name, DNS_T_TXT, &f);
	char *text = NULL;
	/* RFC 7208 6.2: exactly one TXT record, else no explanation */
	const struct dns_answer *a = f.a;
	if (!ev->aborted && a->status == DNS_OK && a->count == 1) {
		struct slice s = slice_make(a->rr[0].u.txt.data, a->rr[0].u.txt.len);
		size_t n = 0;
		bool ok = s.len <= SPF_MAX_EXP_LEN && strlen(s.p) == s.len &&
			  spf_macro_string_check(s.p, s.len, true, &n, NULL, NULL) == NULL &&
			  n <= SPF_MAX_TERM_MACROS;
		struct buf b;
		buf_init(&b, SPF_MAX_EXPANDED);
		if (ok && expand(ev, s, ev->exp_dom, &b)) {
			/* printable ASCII only, at most SPF_MAX_EXP_LEN bytes */
			buf_truncate(&b, b.len < SPF_MAX_EXP_LEN ? b.len : SPF_MAX_EXP_LEN);
			for (size_t i = 0; i < b.len; i++)
				if ((unsigned char)b.p[i] < 0x20 || (unsigned char)b.p[i] > 0x7e)
					b.p[i] = '?';
			text = buf_steal(&b);
		}
		buf_free(&b);
	}
	fetch_done(&f);
	free(name);
	return text;
}
/* Dotted-quad text of a (what inet_ntop gives, without its sprintf). */
static void ipv4_text(const struct in_addr *a, char out[16])
{
	const uint8_t *b = (const uint8_t *)&a->s_addr;
	char *o = out;
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			*o++ = '.';
		unsigned v = b[i];
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
	}
	*o = '\0';
}

static bool set_ip(struct spf_eval *ev, const char *ip)
{
	if (inet_pton(AF_INET, ip, &ev->a4) != 1) {
		if (inet_pton(AF_INET6, ip, &ev->a6) != 1)
			return false;
		ev->v6 = true;
		if (IN6_IS_ADDR_V4MAPPED(&ev->a6)) {
			/* RFC 7208 5: an IPv4-mapped address is an IPv4 address */
			memcpy(&ev->a4, &ev->a6.s6_addr[12], 4);
			ev->v6 = false;
		}
	}
	if (!ev->v6) {
		ipv4_text(&ev->a4, ev->ip_i);
		memcpy(ev->ip_c, ev->ip_i, sizeof(ev->ip_c));
		return true;
	}
	/* RFC 7208 7.3: %{i} of IPv6 is dot-format: 32 nibbles */
	size_t o = 0;
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(ev->ip_i + o, sizeof(ev->ip_i) - o, i ? ".%x.%x" : "%x.%x",
				      ev->a6.s6_addr[i] >> 4, ev->a6.s6_addr[i] & 0xf);
	inet_ntop(AF_INET6, &ev->a6, ev->ip_c, sizeof(ev->ip_c));
	return true;
}

/* The comment's parts are bounded: who_text(), why[], SPF_MAX_EXP_LEN. */
static void outcome(struct spf_outcome *out, enum spf_res r, const char *fmt, ...) PRINTF(3, 4);
static void outcome(struct spf_outcome *out, enum spf_res r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = xvasprintf(fmt, ap);
	va_end(ap);
	out->result = r;
	free(out->comment);
	out->comment = text;
}

/*
 * The identity (RFC 7208 2.3, 2.4, 4.1, 4.3): fills the sender's macro
 * values; NULL if it may be evaluated, else why it is none.
 */
static const char *identity(struct spf_eval *ev, const struct spf_query *q)
{
	const char *local, *dom;
	size_t ll;
	if (q->sender == NULL) {
		/* RFC 7208 2.3: a HELO that is not a domain name gives none */
		if (q->helo == NULL || !domain_ok(q->helo))
			return "HELO name is not a domain name";
		local = "postmaster";
		ll = strlen(local);
		dom = q->helo;
	} else {
		const char *at = strrchr(q->sender, '@');
		if (at == NULL)
			return "sender has no domain";
		dom = at + 1;
		local = q->sender;
		ll = (size_t)(at - q->sender);
		/* RFC 7208 4.3: a malformed domain gives none */
		if (!domain_ok(dom))
			return "sender domain is not a usable domain name";
		if (ll == 0) {
			/* RFC 7208 4.3: no local-part is "postmaster" */
			local = "postmaster";
			ll = strlen(local);
		}
	}
	ev->local = xstrndup(local, ll);
	ev->sdom = xstrdup(dom);
	ev->domain = xstrdup(dom);
	size_t dl = strlen(dom);
	ev->sender = xmalloc(ll + 1 + dl + 1);
	memcpy(ev->sender, ev->local, ll);
	ev->sender[ll] = '@';
	memcpy(ev->sender + ll + 1, dom, dl + 1);
	ev->helo = q->helo_text != NULL ? q->helo_text : q->helo != NULL ? q->helo : "unknown";
	return NULL;
}

static void describe(struct spf_outcome *out, const struct spf_query *q, const char *who,
		     enum spf_res r, const char *why)
{
	const char *me = q->receiver;
	switch (r) {
	case SPF_RES_PASS:
		outcome(out, r, "%s: domain of %s designates %s as permitted sender", me, who,
			q->ip);
		break;
	case SPF_RES_FAIL:
		outcome(out, r, "%s: domain of %s does not designate %s as permitted sender%s%s",
			me, who, q->ip, out->explanation ? ": " : "",
			out->explanation ? out->explanation : "");
		break;
	case SPF_RES_SOFTFAIL:
		outcome(out, r, "%s: domain of transitioning %s does not designate %s as "
			"permitted sender", me, who, q->ip);
		break;
	case SPF_RES_NEUTRAL:
		outcome(out, r, "%s: %s is neither permitted nor denied by domain of %s", me,
			q->ip, who);
		break;
	case SPF_RES_NONE:
		outcome(out, r, "%s: %s", me, why[0] ? why : "no SPF record");
		break;
	case SPF_RES_TEMPERROR:
		outcome(out, r, "%s: temporary error evaluating %s: %s", me, who,
			why[0] ? why : "DNS failure");
		break;
	case SPF_RES_PERMERROR:
		outcome(out, r, "%s: permanent error evaluating %s: %s", me, who,
			why[0] ? why : "invalid SPF record");
		break;
	}
}

/* Who the comment names: the sender or HELO, printable, bounded. */
static char *who_text(const struct spf_query *q)
{
	const char *s = q->sender != NULL ? q->sender : q->helo;
	struct buf b;
	buf_init(&b, 300);
	for (; *s != '\0' && b.len < 300; s++)
		buf_putc(&b, (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?');
	return buf_steal(&b);
}

static struct spf_explain *explain_identity(const char *why)
{
	struct spf_explain *x = xcalloc(1, sizeof(*x));
	x->decided = SPF_DECIDED_IDENTITY;
	x->why = xstrdup(why);
	return x;
}

static void explain_free(struct spf_explain **xp)
{
	struct spf_explain *x = *xp;
	if (x == NULL)
		return;
	explain_steps_clear(x);
	free(x->why);
	free(x);
	*xp = NULL;
}


static char *arena_dup_or_null(struct arena *a, const char *s)
{
	return s != NULL ? arena_strdup(a, s) : NULL;
}

const struct spf_explain *spf_explain_copy(struct arena *a, const struct spf_explain *x)
{
	if (x == NULL)
		return NULL;
	struct spf_explain *c = arena_alloc(a, sizeof(*c));
	c->decided = x->decided;
	c->n_steps = x->n_steps;
	for (size_t i = 0; i < x->n_steps; i++) {
		c->step[i].domain = arena_dup_or_null(a, x->step[i].domain);
		c->step[i].record = arena_dup_or_null(a, x->step[i].record);
		c->step[i].term = arena_dup_or_null(a, x->step[i].term);
	}
	c->why = arena_dup_or_null(a, x->why);
	return c;
}

const char *spf_decided_name(enum spf_decided d)
{
	static const char *const names[] = {
		[SPF_DECIDED_IDENTITY] = "identity",
		[SPF_DECIDED_NO_RECORD] = "no record", [SPF_DECIDED_TERM] = "term",
		[SPF_DECIDED_DEFAULT] = "default", [SPF_DECIDED_ERROR] = "error",
	};
	return (size_t)d < ARRAY_LEN(names) ? names[d] : "unknown";
}


/* The explanation of an evaluation that ended with r (ev->x is set). */
static struct spf_explain *explain_finish(struct spf_eval *ev, enum spf_res r)
{
	struct spf_explain *x = ev->x;
	ev->x = NULL;
	bool error = r == SPF_RES_PERMERROR || r == SPF_RES_TEMPERROR;
	if (r == SPF_RES_NONE || (error && !ev->error_noted)) {
		/* the identity's record: none there, or stopped before it was read */
		explain_steps_clear(x);
		x->step[0].domain = xstrdup(ev->domain);
		x->n_steps = 1;
	}
	if (r == SPF_RES_NONE)
		x->decided = SPF_DECIDED_NO_RECORD;
	else if (error)
		x->decided = SPF_DECIDED_ERROR;
	if ((error || r == SPF_RES_NONE) && ev->why[0] != '\0')
		x->why = xstrdup(ev->why);
	return x;
}

/* check_host() of the identity's domain, with the comment and explanations. */
static void run(struct spf_eval *ev, const struct spf_query *q, struct spf_outcome *out)
{
	if (!set_ip(ev, q->ip)) {
		outcome(out, SPF_RES_NONE, "%s: no usable client address", q->receiver);
		if (q->explain)
			out->explain = explain_identity("no usable client address");
		return;
	}
	if (q->explain)
		ev->x = xcalloc(1, sizeof(*ev->x));
	enum spf_res r = check_host(ev, ev->domain, true);
	if (ev->aborted)
		r = ev->abort_res;
	if (r == SPF_RES_FAIL)
		out->explanation = exp_text(ev);
	char *who = who_text(q);
	describe(out, q, who, r, ev->why);
	free(who);
	if (ev->x != NULL)
		out->explain = explain_finish(ev, r);
}

void spf_dns_evaluate(const struct spf_backend *be, const struct spf_query *q,
		      struct spf_outcome *out)
{
	memset(out, 0, sizeof(*out));
	struct spf_eval ev = { .be = be, .q = q };
	const char *bad = identity(&ev, q);
	if (bad != NULL) {
		outcome(out, SPF_RES_NONE, "%s: %s", q->receiver, bad);
		if (q->explain)
			out->explain = explain_identity(bad);
	} else {
		run(&ev, q, out);
	}
	explain_free(&ev.x);
	for (size_t i = 0; i < ev.n_p; i++)
		free(ev.p_names[i]);
	free(ev.exp_spec);
	free(ev.exp_dom);
	free(ev.local);
	free(ev.sdom);
	free(ev.domain);
	free(ev.sender);
	out->dns_terms = ev.terms;
	out->void_lookups = ev.voids;
	out->incomplete = ev.would_wait;
}

void spf_outcome_clear(struct spf_outcome *out)
{
	free(out->comment);
	free(out->explanation);
	out->comment = NULL;
	out->explanation = NULL;
	explain_free(&out->explain);
}
