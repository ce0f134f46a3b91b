/*
 * check_host() (RFC 7208) over our DNS layer, with our limits (see
 * spf_dns.h).
 *
 * Who does what.  spf_record.c parses every SPF record against the ABNF
 * of section 12 (spf_record_parse); this file expands every macro (7.3,
 * expand), decides whether each target name is usable in DNS, and answers
 * every DNS question libspf2 asks.  libspf2 walks the mechanisms of a record we rewrote for it
 * (canonical_record): the same terms in the same order, but each target
 * name (include, a, mx, exists, redirect, exp) replaced by a marker
 * "<n>.m.cachet.invalid" that our `lookup`, `get_spf` and `get_exp` hooks
 * resolve to the name we expanded; ptr gets its expanded name as a literal
 * (it is compared, not looked up); ip4/ip6 are copied once checked.  So no
 * macro, and nothing from the sender, the HELO name or a DNS answer, ever
 * reaches libspf2's compiler or expander.
 *
 * What libspf2 1.2.10 gets wrong, and what we do instead (the unit tests
 * in tests/unit/test_spf.c show each one):
 *  - syntax: it accepts "%" followed by anything as a literal, a
 *    "redirect:" mechanism, toplabels that are numeric or start with "-",
 *    "/032", modifier names of any characters, c/r/t macros in modifiers,
 *    trailing garbage after "all"; it refuses modifier names with "." (the
 *    ABNF allows them) and CIDR lengths of 0 (allowed).  We check the ABNF.
 *  - %{d2} and the like: its right-hand truncation drops the first
 *    character when the value has no more parts than asked for
 *    ("example.com" -> "xample.com").  We expand macros ourselves.
 *  - a client in 127.0.0.0/8 or ::1 passes without any lookup
 *    (SPF_request_query_mailfrom, "Give localhost a free ride").  We call
 *    SPF_record_interpret() on the record ourselves, so the record decides.
 *  - redirect= is evaluated where it stands, and even when the record has
 *    "all" (RFC 7208 6.1: only after every mechanism, never with "all").
 *    Our rewritten record puts it last, or leaves it out.
 *  - ptr: more than 10 PTR names is permerror, a DNS error on the PTR or a
 *    name's A lookup is temperror (RFC 7208 4.6.4 and 5.5: the names past
 *    10 are ignored, an error means no match / the name is skipped).  Our
 *    lookup hook answers accordingly.
 *  - mx: more than 10 MX names is looked at anyway (4.6.4: permerror).
 *  - ip4/ip6 with /0 and a/mx with a CIDR length of 0 are refused.  ip4/ip6
 *    /0 are given to it as two /1 halves; a and mx with a length of 0 keep
 *    their marker, and our hook answers an address lookup that found any
 *    address with the client's own (a length of 0 matches any address).
 *  - macro expansion in DNS names and explanations: it URL-escapes with
 *    RFC 2396's set and lower-case hex, never truncates a name to 253
 *    octets (7.3), and copies local-parts into fixed-size arithmetic of its
 *    own.  Ours follows 7.3 and bounds every value.
 *
 * Local-parts.  Every local-part SMTP carries is evaluated: dot-atoms,
 * "a%b", "+tag", "user=tag", and quoted ones; %{l} is the local-part
 * without its SMTP quoting ("john smith" for "\"john smith\"@example.com",
 * as the mailbox's name, not its spelling), an empty one is "postmaster"
 * (4.3).  We expand it ourselves, so it never meets libspf2's buffers or
 * the CVE below; a name it makes that DNS cannot carry (a space, a
 * backslash, a byte outside printable ASCII) is an unusable target name.
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
 * Counting (4.6.4).  Each get_spf after the first is an include or
 * redirect, each MX or PTR query an mx or ptr term, each A/AAAA query of a
 * marker an a or exists term; the address lookups of the names an MX or
 * PTR answer gave are not terms (at most 10 each).  A term past the limit,
 * a third void lookup, more than 10 MX names, the deadline or a cancel
 * makes the hook answer TRY_AGAIN, which stops libspf2 at once; the reason
 * recorded here then decides (permerror for limits, temperror for time).
 * The lookups behind %{p} and exp= are not terms.  Macros are expanded
 * when a record is loaded, so a %{p} anywhere in it makes its lookups then.
 *
 * The CVE guard, kept as a limit of ours.  libspf2 1.2.10 as Debian ships
 * it computes the room left for a literal of a domain-spec as
 * `room - sizeof(SPF_data_t)` in size_t, which underflows once a term's
 * compiled data nears SPF_MAX_MECH_LEN (511 bytes; easy with a run of
 * macros), and then copies past a stack buffer (CVE-2023-42118, libspf2 PR
 * #44).  libspf2 no longer compiles any macro of ours, but we still refuse
 * (permerror) a term argument over SPF_MAX_TERM_ARG_LEN bytes or with more
 * than SPF_MAX_TERM_MACROS macros, and ignore explanations over
 * SPF_MAX_EXP_LEN or with more macros.
 */
#include "spf_dns.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "buf.h"
#include "log.h"
#include "spf_record.h"
#include "xalloc.h"

/* Names an MX or PTR answer gave, whose address lookups are not terms. */
#define SPF_MAX_EXPECT 10
/* Compiled into libspf2's server as "the domain gave no exp=". */
#define DEFAULT_EXP "cachet.no.explanation"
/* RFC 1035 2.3.4, as text without the final dot. */
#define NAME_MAX_LEN 253
#define LABEL_MAX_LEN 63
/* One expanded macro-string (our limit; a DNS name is cut to 253 after). */
#define SPF_MAX_EXPANDED 4096
/* Markers of one evaluation: at most 11 records of SPF_MAX_TERMS terms. */
#define SPF_MAX_MARKERS 1024
#define MARKER_SUFFIX ".m.cachet.invalid"
/* A target that is no usable name, in a ptr term (RFC 6761: never exists). */
#define UNUSABLE_PTR "unusable.cachet.invalid"

/* ---- one evaluation ---- */

struct marker {
	char *real;		/* the expanded target name; NULL when unusable */
	char *dom;		/* <domain> of the record naming it (%{d} of its exp) */
	bool any_addr;		/* a CIDR length of 0: any address matches */
	bool exp_done;
	char *exp_text;		/* the explanation, once fetched (or NULL) */
	/* explanations only (q->explain): the term it stands for, what it found */
	int rec;		/* the trace record holding the term, -1 when not traced */
	int term;		/* the term's index there, or TERM_REDIRECT, TERM_EXP */
	int nested;		/* include, redirect: the trace record fetched for it, or -1 */
	bool looked;		/* a lookup was made for it */
	bool hit;		/* an answer matched the client (a, mx) or existed (exists) */
};

#define TERM_REDIRECT (-1)
#define TERM_EXP (-2)

struct expect {
	char *name;
	bool any_addr;		/* from an mx term with a CIDR length of 0 */
	bool from_ptr;		/* RFC 7208 5.5: an error skips the name */
	size_t marker;		/* the mx term's marker (explanations) */
};

/*
 * What an evaluation met, for spf_explain (only with q->explain): each
 * record read, parsed again from its own copy so its terms can be named.
 * At most the top record and one per DNS-querying term.
 */
#define TRACE_MAX_RECS (SPF_MAX_DNS_TERMS + 2)

struct trace_rec {
	char *domain;
	char *text;		/* the record as published, or NULL */
	struct spf_rec *rec;	/* text parsed (terms point into text), or NULL */
	char *bad;		/* the term a syntax error is in, or NULL */
	int parent;		/* the marker naming it, -1 for the top record */
};

struct trace {
	struct trace_rec rec[TRACE_MAX_RECS];
	size_t n;
};

struct spf_eval {
	const struct spf_backend *be;
	const struct spf_query *q;
	unsigned terms, voids;
	bool record_seen;		/* the first get_spf has run */
	bool root_failed;		/* the top-level record decided the result */
	enum spf_res root_res;
	bool aborted;			/* a limit, the deadline or a cancel stopped it */
	bool would_wait;		/* cached_only, and an answer was not there */
	enum spf_res abort_res;
	char why[240];			/* the last problem, for the comment */
	struct expect expect[SPF_MAX_EXPECT];
	size_t n_expect;
	struct marker *markers;
	size_t n_markers;
	/* the macro values of RFC 7208 7.3 that do not change */
	char *sender, *local, *sdom, *domain;
	const char *helo;
	char ip_i[80], ip_c[INET6_ADDRSTRLEN];
	bool v6;
	struct in_addr a4;
	struct in6_addr a6;
	/* %{p}: the validated names of <ip>, looked up once */
	bool p_done;
	char *p_names[SPF_MAX_PTR_NAMES];
	size_t n_p;
	/* explanations (q->explain), else tr is NULL */
	struct trace *tr;
	int cur_rec;			/* the trace record being rewritten, or -1 */
	int cur_marker;			/* the marker of the lookup in progress, -1: the top record */
	int why_marker;			/* cur_marker when why[] was last set */
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

/* libspf2's log hooks (global): into our log, its assertions abort. */
NORETURN static void spf_log_error(const char *file, int line, const char *msg);
static void spf_log_error(const char *file, int line, const char *msg)
{
	log_msg(LOG_ERR, NULL, "libspf2: %s:%d: %s", file ? file : "?", line, msg);
	abort();
}

static void spf_log_warning(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_msg(LOG_DEBUG, NULL, "libspf2: %s", msg);
}

static void spf_log_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

static void spf_init_once(void)
{
	SPF_error_handler = spf_log_error;
	SPF_warning_handler = spf_log_warning;
	SPF_info_handler = spf_log_quiet;
	SPF_debug_handler = spf_log_quiet;
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
	ev->why_marker = ev->cur_marker;
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

static void fetch(struct spf_eval *ev, const char *name, enum dns_type t, struct fetch *f)
{
	memset(f, 0, sizeof(*f));
	if (ev->be->dns != NULL && ev->q->cached_only) {
		f->l = dns_lookup_cached(ev->be->dns, name, t);
		if (f->l != NULL) {
			f->a = dns_lookup_wait(f->l);	/* there already */
			return;
		}
		/* the evaluation stops here; it will be run again, waiting */
		ev->would_wait = true;
		stop(ev, SPF_RES_TEMPERROR, "an answer is not cached");
		f->zans.status = DNS_ERROR;
		f->zans.type = t;
		f->zans.why = "not cached";
		f->a = &f->zans;
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

static bool answer_has_ip(const struct spf_eval *ev, const struct dns_answer *a)
{
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		if (!ev->v6 && memcmp(&a->rr[i].u.a, &ev->a4, sizeof(ev->a4)) == 0)
			return true;
		if (ev->v6 && memcmp(&a->rr[i].u.aaaa, &ev->a6, sizeof(ev->a6)) == 0)
			return true;
	}
	return false;
}

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
	if (out_of_time(ev))
		return;
	struct fetch f;
	fetch(ev, rev, DNS_T_PTR, &f);
	for (size_t i = 0; f.a->status == DNS_OK && i < f.a->count && i < SPF_MAX_PTR_NAMES; i++) {
		const char *name = f.a->rr[i].u.ptr;
		if (!usable_name(name) || out_of_time(ev))
			continue;
		struct fetch g;
		fetch(ev, name, ev->v6 ? DNS_T_AAAA : DNS_T_A, &g);
		if (answer_has_ip(ev, g.a))
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

/* ---- markers ---- */

static void markers_free(struct spf_eval *ev)
{
	for (size_t i = 0; i < ev->n_markers; i++) {
		free(ev->markers[i].real);
		free(ev->markers[i].dom);
		free(ev->markers[i].exp_text);
	}
	free(ev->markers);
	ev->markers = NULL;
	ev->n_markers = 0;
}

/*
 * A new marker for real (owned, or NULL), standing for term `term` of the
 * record being rewritten; writes its name into b.
 */
static bool marker_add(struct spf_eval *ev, char *real, const char *dom, bool any_addr,
		       int term, struct buf *b)
{
	if (ev->n_markers == SPF_MAX_MARKERS) {
		free(real);
		return false;
	}
	if (ev->n_markers % 64 == 0)
		ev->markers = xrealloc(ev->markers, (ev->n_markers + 64) * sizeof(*ev->markers));
	struct marker *m = &ev->markers[ev->n_markers];
	memset(m, 0, sizeof(*m));
	m->real = real;
	m->dom = xstrdup(dom);
	m->any_addr = any_addr;
	m->rec = ev->cur_rec;
	m->term = term;
	m->nested = -1;
	buf_printf(b, "%zu" MARKER_SUFFIX, ev->n_markers++);
	return true;
}

/* The marker a name stands for, or NULL. */
static struct marker *marker_of(struct spf_eval *ev, const char *name)
{
	size_t len = strlen(name), sl = strlen(MARKER_SUFFIX);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len <= sl || strncasecmp(name + len - sl, MARKER_SUFFIX, sl) != 0)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < len - sl; i++) {
		if (!spf_is_digit(name[i]) || k > SPF_MAX_MARKERS)
			return NULL;
		k = k * 10 + (size_t)(name[i] - '0');
	}
	return k < ev->n_markers ? &ev->markers[k] : NULL;
}

/*
 * The record libspf2 evaluates (see the top): the same mechanisms in the
 * same order, targets behind markers, redirect= last and only without
 * "all" (RFC 7208 6.1), unknown modifiers dropped (6).  False when the
 * marker table is full (permerror).
 */
static bool canonical_record(struct spf_eval *ev, const struct spf_rec *r, const char *dom,
			     struct buf *b)
{
	buf_puts(b, "v=spf1");
	for (size_t i = 0; i < r->n; i++) {
		const struct spf_rterm *t = &r->t[i];
		buf_putc(b, ' ');
		buf_putc(b, t->qual);
		switch (t->kind) {
		case M_ALL:
			buf_puts(b, "all");
			break;
		case M_IP4:
		case M_IP6: {
			bool six = t->kind == M_IP6;
			int cidr = six ? t->cidr6 : t->cidr4;
			if (cidr == 0) {
				/* libspf2 refuses /0: the two halves match the same */
				buf_puts(b, six ? "ip6:::/1 " : "ip4:0.0.0.0/1 ");
				buf_putc(b, t->qual);
				buf_puts(b, six ? "ip6:8000::/1" : "ip4:128.0.0.0/1");
				break;
			}
			buf_puts(b, six ? "ip6:" : "ip4:");
			buf_append(b, t->net.p, t->net.len);
			if (cidr > 0)
				buf_printf(b, "/%d", cidr);
			break;
		}
		case M_PTR: {
			char *name = target_name(ev, t->spec, dom);
			buf_puts(b, "ptr:");
			for (const char *p = name != NULL ? name : UNUSABLE_PTR; *p != '\0'; p++)
				buf_puts(b, *p == '%' ? "%%" : (char[]){ *p, '\0' });
			free(name);
			break;
		}
		case M_A:
		case M_MX: {
			int c4 = t->cidr4, c6 = t->cidr6;
			bool any = ev->v6 ? c6 == 0 : c4 == 0;
			buf_puts(b, t->kind == M_A ? "a:" : "mx:");
			if (!marker_add(ev, target_name(ev, t->spec, dom), dom, any, (int)i, b))
				return false;
			if (c4 > 0)
				buf_printf(b, "/%d", c4);
			if (c6 > 0)
				buf_printf(b, "//%d", c6);
			break;
		}
		case M_INCLUDE:
		case M_EXISTS:
			buf_puts(b, t->kind == M_INCLUDE ? "include:" : "exists:");
			if (!marker_add(ev, target_name(ev, t->spec, dom), dom, false, (int)i, b))
				return false;
			break;
		}
	}
	if (r->redirect.p != NULL && !r->has_all) {
		buf_puts(b, " redirect=");
		if (!marker_add(ev, target_name(ev, r->redirect, dom), dom, false, TERM_REDIRECT,
				 b))
			return false;
	}
	if (r->exp.p != NULL) {
		buf_puts(b, " exp=");
		if (!marker_add(ev, target_name(ev, r->exp, dom), dom, false, TERM_EXP, b))
			return false;
	}
	return !b->overflow;
}

/* ---- libspf2's DNS hooks ---- */

static SPF_dns_rr_t *rr_status(SPF_dns_server_t *s, const char *name, ns_type t, int herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(s, name, t, 0, herrno);
	if (rr == NULL)
		abort(); /* out of memory, as xmalloc would */
	return rr;
}

static int herrno_of(enum dns_status st)
{
	switch (st) {
	case DNS_OK:
		return NETDB_SUCCESS;
	case DNS_NXDOMAIN:
		return HOST_NOT_FOUND;
	case DNS_NODATA:
		return NO_DATA;
	default:
		return TRY_AGAIN;
	}
}

static void rr_put(SPF_dns_rr_t *rr, int i, const void *p, size_t len, bool text)
{
	if (SPF_dns_rr_buf_realloc(rr, i, len + (text ? 1 : 0)) != SPF_E_SUCCESS)
		abort();
	memcpy(rr->rr[i], p, len);
	if (text)
		((char *)rr->rr[i])[len] = '\0';
}

static void expect_clear(struct spf_eval *ev)
{
	for (size_t i = 0; i < ev->n_expect; i++)
		free(ev->expect[i].name);
	ev->n_expect = 0;
}

/* Is this A/AAAA lookup one an MX or PTR answer asked for?  (Takes it.) */
static bool expected(struct spf_eval *ev, const char *name, struct expect *e_r)
{
	for (size_t i = 0; i < ev->n_expect; i++) {
		if (!same_name(ev->expect[i].name, name))
			continue;
		*e_r = ev->expect[i];
		ev->expect[i] = ev->expect[--ev->n_expect];
		return true;
	}
	return false;
}

static void expect_add(struct spf_eval *ev, const char *name, bool any_addr, bool from_ptr,
		       size_t marker)
{
	if (ev->n_expect < SPF_MAX_EXPECT)
		ev->expect[ev->n_expect++] =
			(struct expect){ xstrdup(name), any_addr, from_ptr, marker };
}

/* ---- what the lookups found, for explanations (ev->tr only) ---- */

#define MARKER_NONE ((size_t)-1)
/* cur_marker of a PTR lookup: a ptr term, of a record not known */
#define CUR_PTR (-3)

/* A lookup for marker k (or a ptr term) is starting. */
static void trace_lookup(struct spf_eval *ev, size_t k, bool ptr)
{
	if (ev->tr == NULL)
		return;
	if (ptr) {
		ev->cur_marker = CUR_PTR;
		return;
	}
	if (k == MARKER_NONE)
		return;
	ev->cur_marker = (int)k;
	ev->markers[k].looked = true;
}

/* Is addr (4 or 16 bytes, the client's family) within cidr bits of the client? */
static bool client_within(const struct spf_eval *ev, const uint8_t *addr, int cidr)
{
	const uint8_t *c = ev->v6 ? ev->a6.s6_addr : (const uint8_t *)&ev->a4.s_addr;
	int bits = ev->v6 ? 128 : 32;
	if (cidr < 0 || cidr > bits)
		cidr = bits;
	int full = cidr / 8, rest = cidr % 8;
	if (memcmp(addr, c, (size_t)full) != 0)
		return false;
	return rest == 0 || ((addr[full] ^ c[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* The term marker k stands for, or NULL. */
static const struct spf_rterm *marker_term(const struct spf_eval *ev, size_t k)
{
	const struct marker *m = &ev->markers[k];
	if (ev->tr == NULL || m->rec < 0 || m->term < 0 || ev->tr->rec[m->rec].rec == NULL)
		return NULL;
	return &ev->tr->rec[m->rec].rec->t[m->term];
}

/*
 * An address answer given to libspf2 for marker k's term: does it match
 * the client the way libspf2 will decide it (a, mx: an address within the
 * term's CIDR length; exists: any address)?
 */
static void trace_answer(struct spf_eval *ev, size_t k, const struct dns_answer *a)
{
	if (ev->tr == NULL || k == MARKER_NONE || a->status != DNS_OK || a->count == 0)
		return;
	const struct spf_rterm *t = marker_term(ev, k);
	struct marker *m = &ev->markers[k];
	if (t == NULL)
		return;
	if (t->kind == M_EXISTS || m->any_addr) {
		m->hit = true;
		return;
	}
	for (size_t i = 0; i < a->count; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (!ev->v6 && a->type == DNS_T_A && client_within(ev, (const uint8_t *)&r->u.a, t->cidr4))
			m->hit = true;
		if (ev->v6 && a->type == DNS_T_AAAA &&
		    client_within(ev, r->u.aaaa.s6_addr, t->cidr6))
			m->hit = true;
	}
}

/* The client's own address: what an address lookup with CIDR 0 answers. */
static SPF_dns_rr_t *answer_client(struct spf_eval *ev, SPF_dns_server_t *s, const char *name,
				   ns_type t)
{
	SPF_dns_rr_t *rr = rr_status(s, name, t, NETDB_SUCCESS);
	if (ev->v6)
		rr_put(rr, 0, &ev->a6, sizeof(ev->a6), false);
	else
		rr_put(rr, 0, &ev->a4, sizeof(ev->a4), false);
	rr->num_rr = 1;
	return rr;
}

static SPF_dns_rr_t *answer_rr(SPF_dns_server_t *s, const char *name, ns_type t,
			       const struct dns_answer *a, size_t max)
{
	SPF_dns_rr_t *rr = rr_status(s, name, t, herrno_of(a->status));
	if (a->status != DNS_OK)
		return rr;
	int n = 0;
	for (size_t i = 0; i < a->count && (size_t)n < max; i++, n++) {
		const struct dns_rr *r = &a->rr[i];
		if (t == ns_t_a)
			rr_put(rr, n, &r->u.a, sizeof(r->u.a), false);
		else if (t == ns_t_aaaa)
			rr_put(rr, n, &r->u.aaaa, sizeof(r->u.aaaa), false);
		else if (t == ns_t_mx)
			rr_put(rr, n, r->u.mx.exchange, strlen(r->u.mx.exchange), true);
		else
			rr_put(rr, n, r->u.ptr, strlen(r->u.ptr), true);
	}
	rr->num_rr = n;
	return rr;
}

static enum dns_type dns_type_of(ns_type t)
{
	switch (t) {
	case ns_t_a:
		return DNS_T_A;
	case ns_t_aaaa:
		return DNS_T_AAAA;
	case ns_t_mx:
		return DNS_T_MX;
	default:
		return DNS_T_PTR;
	}
}

/* An address lookup of a name an MX or PTR answer gave (not a term). */
static SPF_dns_rr_t *lookup_expected(struct spf_eval *ev, SPF_dns_server_t *s, const char *name,
				     ns_type t, const struct expect *e)
{
	/* a null MX (RFC 7505) or a name DNS cannot carry: no address */
	if (!usable_name(name))
		return rr_status(s, name, t, NO_DATA);
	if (out_of_time(ev))
		return rr_status(s, name, t, TRY_AGAIN);
	struct fetch f;
	fetch(ev, name, dns_type_of(t), &f);
	SPF_dns_rr_t *rr;
	if (dns_status_temporary(f.a->status) && e->from_ptr) {
		/* RFC 7208 5.5: a DNS error skips that name */
		rr = rr_status(s, name, t, NO_DATA);
	} else if (dns_status_temporary(f.a->status)) {
		set_why(ev, "DNS %s lookup of %s: %s", dns_type_name(dns_type_of(t)), name,
			dns_status_name(f.a->status));
		rr = rr_status(s, name, t, TRY_AGAIN);
	} else if (e->any_addr && f.a->status == DNS_OK) {
		rr = answer_client(ev, s, name, t);
	} else {
		rr = answer_rr(s, name, t, f.a, 64);
	}
	if (!e->from_ptr)
		trace_answer(ev, e->marker, f.a);
	fetch_done(&f);
	return rr;
}

/* libspf2's `lookup`: the A/AAAA/MX/PTR queries of its mechanisms. */
static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *s, const char *name, ns_type t, int cache)
{
	(void)cache;
	struct spf_eval *ev = s->hook;
	if (t != ns_t_a && t != ns_t_aaaa && t != ns_t_mx && t != ns_t_ptr)
		return rr_status(s, name, t, NO_DATA);	/* TXT and the like: never asked */
	struct expect e;
	if ((t == ns_t_a || t == ns_t_aaaa) && expected(ev, name, &e)) {
		SPF_dns_rr_t *rr = lookup_expected(ev, s, name, t, &e);
		free(e.name);
		return rr;
	}
	expect_clear(ev);
	struct marker *m = t != ns_t_ptr ? marker_of(ev, name) : NULL;
	size_t mk = m != NULL ? (size_t)(m - ev->markers) : MARKER_NONE;
	trace_lookup(ev, mk, t == ns_t_ptr);
	if (!count_term(ev))
		return rr_status(s, name, t, TRY_AGAIN);
	const char *real = name;
	bool any_addr = false;
	if (t != ns_t_ptr) {
		if (m == NULL || m->real == NULL) {
			/* not a usable name: as if it did not exist (see the top) */
			set_why(ev, "a target name is not a valid domain name");
			count_void(ev);
			return rr_status(s, name, t, ev->aborted ? TRY_AGAIN : HOST_NOT_FOUND);
		}
		real = m->real;
		any_addr = m->any_addr;
	}
	if (out_of_time(ev))
		return rr_status(s, name, t, TRY_AGAIN);
	struct fetch f;
	fetch(ev, real, dns_type_of(t), &f);
	enum dns_status st = f.a->status;
	SPF_dns_rr_t *rr = NULL;
	if (dns_status_temporary(st)) {
		set_why(ev, "DNS %s lookup of %s: %s", dns_type_name(dns_type_of(t)), real,
			dns_status_name(st));
		/* RFC 7208 5.5: a DNS error on the PTR lookup is no match */
		rr = rr_status(s, name, t, t == ns_t_ptr ? NO_DATA : TRY_AGAIN);
	} else if (st == DNS_NXDOMAIN || st == DNS_NODATA) {
		count_void(ev);
	} else if (t == ns_t_mx && f.a->count > SPF_MAX_MX_NAMES) {
		stop(ev, SPF_RES_PERMERROR, "more than 10 MX names (RFC 7208 4.6.4)");
	} else if (t == ns_t_mx || t == ns_t_ptr) {
		/* RFC 7208 4.6.4: PTR names past the tenth are ignored */
		for (size_t i = 0; i < f.a->count && i < SPF_MAX_EXPECT; i++)
			expect_add(ev, t == ns_t_mx ? f.a->rr[i].u.mx.exchange : f.a->rr[i].u.ptr,
				   any_addr, t == ns_t_ptr, mk);
	} else if (any_addr) {
		rr = answer_client(ev, s, name, t);
	}
	if (t == ns_t_a || t == ns_t_aaaa)
		trace_answer(ev, mk, f.a);
	if (rr == NULL)
		rr = ev->aborted ? rr_status(s, name, t, TRY_AGAIN)
				 : answer_rr(s, name, t, f.a, t == ns_t_ptr ? SPF_MAX_PTR_NAMES : 64);
	fetch_done(&f);
	return rr;
}

static SPF_errcode_t record_fail(struct spf_eval *ev, bool root, SPF_response_t *resp,
				 enum spf_res res, SPF_errcode_t code)
{
	if (root) {
		ev->root_failed = true;
		ev->root_res = res;
	}
	resp->result = res == SPF_RES_NONE ? SPF_RESULT_NONE
		       : res == SPF_RES_TEMPERROR ? SPF_RESULT_TEMPERROR : SPF_RESULT_PERMERROR;
	resp->reason = SPF_REASON_FAILURE;
	resp->err = code;
	return SPF_response_add_error(resp, code, "%s", ev->why);
}

/* Does the TXT record start with "v=spf1" and then a space or its end? */
static bool is_spf_record(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

/*
 * Picks the one SPF record of an answer (RFC 7208 4.5) and parses it, or
 * fails.  *found_r is the record picked (or NULL), *bad_r the term a
 * syntax error is in (p NULL when none).
 */
static SPF_errcode_t pick_record(struct spf_eval *ev, bool root, SPF_response_t *resp,
				 const char *dom, const struct dns_answer *a, struct spf_rec *r,
				 const struct dns_rr **found_r, struct slice *bad_r)
{
	*found_r = NULL;
	*bad_r = slice_make(NULL, 0);
	if (dns_status_temporary(a->status)) {
		/* RFC 7208 4.4: a timeout or server failure is temperror */
		set_why(ev, "DNS TXT lookup of %s: %s", dom, dns_status_name(a->status));
		return record_fail(ev, root, resp, SPF_RES_TEMPERROR, SPF_E_DNS_ERROR);
	}
	const struct dns_rr *found = NULL;
	size_t n = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (is_spf_record(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			found = &a->rr[i];
			n++;
		}
	if (n == 0) {
		set_why(ev, "no SPF record at %s", dom);
		/* RFC 7208 5.2, 6.1: an include or redirect without one is permerror */
		return record_fail(ev, root, resp, root ? SPF_RES_NONE : SPF_RES_PERMERROR,
				   SPF_E_NOT_SPF);
	}
	if (n > 1) {
		set_why(ev, "more than one SPF record at %s (RFC 7208 4.5)", dom);
		return record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_MULTIPLE_RECORDS);
	}
	*found_r = found;
	const char *bad = strlen(found->u.txt.data) != found->u.txt.len
				  ? "SPF record has a NUL byte"
				  : spf_record_parse(found->u.txt.data, found->u.txt.len, r, bad_r);
	if (bad != NULL) {
		/* RFC 7208 4.6: a syntax error anywhere is permerror */
		set_why(ev, "SPF record of %s refused: %s", dom, bad);
		return record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_SYNTAX);
	}
	return SPF_E_SUCCESS;
}

/*
 * Explanations: a record read for marker `parent` (-1: the top record), as
 * published, parsed again from a copy so that its terms can be named; the
 * markers its rewrite makes belong to it (cur_rec).
 */
static void trace_record(struct spf_eval *ev, int parent, const char *dom,
			 const struct dns_rr *found, struct slice bad)
{
	if (ev->tr == NULL)
		return;
	ev->cur_rec = -1;
	struct trace *tr = ev->tr;
	if (tr->n == TRACE_MAX_RECS)
		return;
	struct trace_rec *t = &tr->rec[tr->n];
	memset(t, 0, sizeof(*t));
	t->domain = xstrdup(dom);
	t->parent = parent;
	if (found != NULL) {
		t->text = xstrndup(found->u.txt.data, found->u.txt.len);
		if (bad.p != NULL)
			t->bad = xstrndup(bad.p, bad.len);
		t->rec = xmalloc(sizeof(*t->rec));
		if (spf_record_parse(t->text, strlen(t->text), t->rec, NULL) != NULL) {
			free(t->rec);
			t->rec = NULL;
		}
	}
	if (parent >= 0)
		ev->markers[parent].nested = (int)tr->n;
	ev->cur_rec = (int)tr->n++;
}

/* libspf2's `get_spf`: the record of cur_dom, top-level or include/redirect. */
static SPF_errcode_t layer_get_spf(SPF_server_t *server, SPF_request_t *req,
				  SPF_response_t *resp, SPF_record_t **rec_r)
{
	struct spf_eval *ev = server->resolver->hook;
	bool root = !ev->record_seen;
	ev->record_seen = true;
	*rec_r = NULL;
	expect_clear(ev);
	const char *dom = ev->domain;
	size_t mk = MARKER_NONE;
	if (root && ev->tr != NULL)
		ev->cur_marker = -1;
	if (!root) {
		struct marker *m = marker_of(ev, req->cur_dom);
		dom = m != NULL ? m->real : NULL;
		mk = m != NULL ? (size_t)(m - ev->markers) : MARKER_NONE;
		trace_lookup(ev, mk, false);
		if (!count_term(ev))
			return record_fail(ev, root, resp, ev->abort_res, SPF_E_DNS_ERROR);
		if (dom == NULL) {
			/* RFC 7208 4.3: check_host() of it is none; 5.2, 6.1: permerror */
			set_why(ev, "include/redirect target is not a valid domain name");
			return record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_INVALID_CHAR);
		}
	}
	if (out_of_time(ev))
		return record_fail(ev, root, resp, ev->abort_res, SPF_E_DNS_ERROR);
	struct fetch f;
	fetch(ev, dom, DNS_T_TXT, &f);
	struct spf_rec *r = xmalloc(sizeof(*r));
	const struct dns_rr *found;
	struct slice bad;
	SPF_errcode_t err = pick_record(ev, root, resp, dom, f.a, r, &found, &bad);
	trace_record(ev, root ? -1 : (int)mk, dom, found, bad);
	if (err == SPF_E_SUCCESS) {
		struct buf b;
		buf_init(&b, 64 * 1024);
		if (!canonical_record(ev, r, dom, &b)) {
			set_why(ev, "SPF records too large to evaluate");
			err = record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_BIG_MECH);
		} else if ((err = SPF_record_compile(server, resp, rec_r, b.p)) != SPF_E_SUCCESS) {
			log_msg(LOG_ERR, NULL, "spf: libspf2 refused our rewrite of a record: %s",
				b.p);
			set_why(ev, "SPF record of %s could not be compiled", dom);
			err = record_fail(ev, root, resp, SPF_RES_PERMERROR, err);
		}
		buf_free(&b);
	}
	free(r);
	fetch_done(&f);
	return err;
}

/* The explanation behind an exp= marker (RFC 7208 6.2), expanded and cleaned. */
static char *exp_fetch(struct spf_eval *ev, struct marker *m)
{
	if (m->real == NULL || out_of_time(ev))
		return NULL;
	struct fetch f;
	fetch(ev, m->real, DNS_T_TXT, &f);
	char *text = NULL;
	/* RFC 7208 6.2: exactly one TXT record, else no explanation */
	const struct dns_answer *a = f.a;
	if (a->status == DNS_OK && a->count == 1) {
		struct slice s = slice_make(a->rr[0].u.txt.data, a->rr[0].u.txt.len);
		size_t n = 0;
		bool ok = s.len <= SPF_MAX_EXP_LEN && strlen(s.p) == s.len &&
			  spf_macro_string_check(s.p, s.len, true, &n, NULL, NULL) == NULL &&
			  n <= SPF_MAX_TERM_MACROS;
		struct buf b;
		buf_init(&b, SPF_MAX_EXPANDED);
		if (ok && expand(ev, s, m->dom, &b)) {
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
	return text;
}

/* libspf2's `get_exp`: the text for the exp= marker `domain`. */
static SPF_errcode_t layer_get_exp(SPF_server_t *server, const char *domain, char **buf,
				   size_t *buf_len)
{
	struct spf_eval *ev = server->resolver->hook;
	struct marker *m = marker_of(ev, domain);
	const char *text = DEFAULT_EXP;
	if (m != NULL) {
		if (!m->exp_done) {
			m->exp_done = true;
			m->exp_text = exp_fetch(ev, m);
		}
		if (m->exp_text != NULL)
			text = m->exp_text;
	}
	size_t need = strlen(text) + 1;
	if (*buf == NULL || *buf_len < need) {
		/* libspf2 owns the buffer and frees it with free() */
		free(*buf);
		*buf = malloc(need);
		if (*buf == NULL)
			abort();
		*buf_len = need;
	}
	memcpy(*buf, text, need);
	return SPF_E_SUCCESS;
}

static void layer_destroy(SPF_dns_server_t *s)
{
	free(s);
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

static bool set_ip(struct spf_eval *ev, SPF_request_t *req, const char *ip)
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
		return SPF_request_set_ipv4(req, ev->a4) == SPF_E_SUCCESS;
	}
	/* RFC 7208 7.3: %{i} of IPv6 is dot-format: 32 nibbles */
	size_t o = 0;
	for (int i = 0; i < 16; i++)
		o += (size_t)snprintf(ev->ip_i + o, sizeof(ev->ip_i) - o, i ? ".%x.%x" : "%x.%x",
				      ev->a6.s6_addr[i] >> 4, ev->a6.s6_addr[i] & 0xf);
	inet_ntop(AF_INET6, &ev->a6, ev->ip_c, sizeof(ev->ip_c));
	return SPF_request_set_ipv6(req, ev->a6) == SPF_E_SUCCESS;
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

static enum spf_res map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return SPF_RES_PASS;
	case SPF_RESULT_FAIL:
		return SPF_RES_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return SPF_RES_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return SPF_RES_NEUTRAL;
	case SPF_RESULT_NONE:
		return SPF_RES_NONE;
	case SPF_RESULT_PERMERROR:
		return SPF_RES_PERMERROR;
	default:
		return SPF_RES_TEMPERROR;
	}
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

/*
 * A libspf2 server over our DNS layer, made once and used for evaluation
 * after evaluation (making one compiles its default explanation and costs
 * more than an evaluation from cached answers); the layer's hook points at
 * the evaluation in progress.  One thread at a time.
 */
struct spf_engine {
	SPF_dns_server_t *layer;
	SPF_server_t *server;
	char *receiver;		/* rec_dom as set */
};

struct spf_engine *spf_engine_new(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, spf_init_once);
	struct spf_engine *e = xcalloc(1, sizeof(*e));
	e->layer = xcalloc(1, sizeof(*e->layer));
	e->layer->destroy = layer_destroy;
	e->layer->lookup = layer_lookup;
	e->layer->get_spf = layer_get_spf;
	e->layer->get_exp = layer_get_exp;
	e->layer->name = "cachet";
	e->server = SPF_server_new_dns(e->layer, 0);
	if (e->server == NULL)
		abort();
	e->server->destroy_resolver = 0;	/* 1.2.10 frees only resolvers it made */
	SPF_response_t *resp = NULL;
	SPF_server_set_explanation(e->server, DEFAULT_EXP, &resp);
	SPF_response_free(resp);
	return e;
}

void spf_engine_free(struct spf_engine **ep)
{
	struct spf_engine *e = *ep;
	if (e == NULL)
		return;
	SPF_server_free(e->server);
	layer_destroy(e->layer);
	free(e->receiver);
	free(e);
	*ep = NULL;
}

/* ---- explanations (spf_explain, see spf_dns.h) ---- */

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

static bool queries_dns(enum spf_rterm_kind k)
{
	return k == M_INCLUDE || k == M_A || k == M_MX || k == M_PTR || k == M_EXISTS;
}

/* all, ip4 and ip6 need no lookup: does the term match the client? */
static bool static_match(const struct spf_eval *ev, const struct spf_rterm *t)
{
	if (t->kind == M_ALL)
		return true;
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

/* The marker of term `term` of trace record `rec`, or -1. */
static ptrdiff_t marker_for(const struct spf_eval *ev, int rec, int term)
{
	for (size_t j = 0; j < ev->n_markers; j++)
		if (ev->markers[j].rec == rec && ev->markers[j].term == term)
			return (ptrdiff_t)j;
	return -1;
}

/* The steps of an explanation while it is worked out: a record, its term. */
struct ways {
	struct {
		int rec;
		struct slice term;	/* p NULL: none */
	} v[SPF_EXPLAIN_MAX_STEPS];
	size_t n;
};

static bool way_push(struct ways *w, int rec, struct slice term)
{
	if (w->n == SPF_EXPLAIN_MAX_STEPS)
		return false;
	w->v[w->n].rec = rec;
	w->v[w->n].term = term;
	w->n++;
	return true;
}

/*
 * What gave trace record k its result, replaying libspf2's walk (RFC 7208
 * 4.6.2: terms in order, the first match decides; 6.1: redirect= only when
 * none did) over what the lookups found: the last term looked up was
 * reached, no later DNS term was, so the decision is that term (if it
 * matched) or a term after it that needs no lookup.  Returns 0 with the
 * result, how, and the steps in w; -1 when it cannot be told.
 */
static int decide(const struct spf_eval *ev, int k, struct ways *w, enum spf_res *res_r,
		  enum spf_decided *how_r, unsigned depth)
{
	const struct spf_rec *r = ev->tr->rec[k].rec;
	if (r == NULL || depth > TRACE_MAX_RECS)
		return -1;
	int last = -1;
	for (size_t j = 0; j < ev->n_markers; j++) {
		const struct marker *m = &ev->markers[j];
		if (m->rec == k && m->looked && m->term > last)
			last = m->term;
	}
	for (size_t i = last < 0 ? 0 : (size_t)last; i < r->n; i++) {
		const struct spf_rterm *t = &r->t[i];
		if (!queries_dns(t->kind)) {
			if (!static_match(ev, t))
				continue;
			*res_r = qualifier_result(t->qual);
			*how_r = SPF_DECIDED_TERM;
			return way_push(w, k, t->text) ? 0 : -1;
		}
		/* a DNS term not looked up was not reached; ptr lookups are not tied to a term */
		ptrdiff_t m = marker_for(ev, k, (int)i);
		if (t->kind == M_PTR || (int)i != last || m < 0)
			return -1;
		size_t mark = w->n;
		if (!way_push(w, k, t->text))
			return -1;
		bool match = ev->markers[m].hit;
		if (t->kind == M_INCLUDE) {
			/* RFC 7208 5.2: include matches when its check_host() is pass */
			enum spf_res sub;
			enum spf_decided how;
			int nested = ev->markers[m].nested;
			if (nested < 0 || decide(ev, nested, w, &sub, &how, depth + 1) < 0)
				return -1;
			match = sub == SPF_RES_PASS;
		}
		if (match) {
			*res_r = qualifier_result(t->qual);
			*how_r = SPF_DECIDED_TERM;
			return 0;
		}
		w->n = mark;
	}
	if (r->redirect.p != NULL && !r->has_all) {
		ptrdiff_t m = marker_for(ev, k, TERM_REDIRECT);
		if (m < 0 || ev->markers[m].nested < 0 || !way_push(w, k, r->redirect_term))
			return -1;
		return decide(ev, ev->markers[m].nested, w, res_r, how_r, depth + 1);
	}
	/* RFC 7208 4.7: no match and no redirect= is neutral */
	*res_r = SPF_RES_NEUTRAL;
	*how_r = SPF_DECIDED_DEFAULT;
	return way_push(w, k, slice_make(NULL, 0)) ? 0 : -1;
}

/* The term marker k stands for, as written (p NULL when not known). */
static struct slice marker_text(const struct spf_eval *ev, size_t k)
{
	const struct marker *m = &ev->markers[k];
	const struct spf_rec *r = m->rec >= 0 ? ev->tr->rec[m->rec].rec : NULL;
	if (r == NULL)
		return slice_make(NULL, 0);
	if (m->term >= 0)
		return r->t[m->term].text;
	return m->term == TERM_REDIRECT ? r->redirect_term : slice_make(NULL, 0);
}

/* Where an error was met: the records from the top down to the term being evaluated. */
static void error_path(const struct spf_eval *ev, struct ways *w)
{
	int m = ev->why_marker;
	if (m < 0) {
		/* the top record itself: missing, several, refused, or its lookup */
		const char *bad = ev->tr->rec[0].bad;
		way_push(w, 0, bad != NULL ? slice_cstr(bad) : slice_make(NULL, 0));
		return;
	}
	int chain[TRACE_MAX_RECS];
	size_t n = 0;
	for (int k = m; k >= 0 && n < ARRAY_LEN(chain);) {
		chain[n++] = k;
		int rec = ev->markers[k].rec;
		k = rec >= 0 ? ev->tr->rec[rec].parent : -1;
	}
	while (n > 0) {
		int k = chain[--n];
		if (ev->markers[k].rec < 0)
			break;
		way_push(w, ev->markers[k].rec, marker_text(ev, (size_t)k));
	}
	/* the error was in the record the term leads to (none there, refused) */
	int nested = ev->markers[m].nested;
	if (nested >= 0) {
		const char *bad = ev->tr->rec[nested].bad;
		way_push(w, nested, bad != NULL ? slice_cstr(bad) : slice_make(NULL, 0));
	}
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* The explanation of an evaluation that ended with r (ev->tr is set). */
static struct spf_explain *explain_build(struct spf_eval *ev, enum spf_res r)
{
	struct spf_explain *x = xcalloc(1, sizeof(*x));
	const struct trace *tr = ev->tr;
	bool error = r == SPF_RES_PERMERROR || r == SPF_RES_TEMPERROR;
	struct ways w = { .n = 0 };
	if (tr->n == 0) {
		/* stopped before the top record was read */
		x->decided = error ? SPF_DECIDED_ERROR : SPF_DECIDED_UNKNOWN;
		x->step[0].domain = xstrdup(ev->domain);
		x->n_steps = 1;
	} else if (r == SPF_RES_NONE) {
		x->decided = SPF_DECIDED_NO_RECORD;
		way_push(&w, 0, slice_make(NULL, 0));
	} else if (error) {
		x->decided = SPF_DECIDED_ERROR;
		if (ev->why[0] != '\0' && ev->why_marker != CUR_PTR)
			error_path(ev, &w);
		else
			way_push(&w, 0, slice_make(NULL, 0));
	} else {
		enum spf_res got;
		enum spf_decided how;
		/* what is found must give libspf2's result, or nothing is said */
		if (decide(ev, 0, &w, &got, &how, 0) == 0 && got == r) {
			x->decided = how;
		} else {
			x->decided = SPF_DECIDED_UNKNOWN;
			w.n = 0;
			way_push(&w, 0, slice_make(NULL, 0));
		}
	}
	for (size_t i = 0; i < w.n; i++) {
		const struct trace_rec *t = &tr->rec[w.v[i].rec];
		struct spf_explain_step *st = &x->step[x->n_steps++];
		st->domain = xstrdup(t->domain);
		st->record = dup_or_null(t->text);
		st->term = w.v[i].term.p != NULL ? xstrndup(w.v[i].term.p, w.v[i].term.len) : NULL;
	}
	if ((error || r == SPF_RES_NONE) && ev->why[0] != '\0')
		x->why = xstrdup(ev->why);
	return x;
}

/* None before any lookup (no usable identity or client address). */
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
	for (size_t i = 0; i < x->n_steps; i++) {
		free(x->step[i].domain);
		free(x->step[i].record);
		free(x->step[i].term);
	}
	free(x->why);
	free(x);
	*xp = NULL;
}

static void trace_free(struct trace **tp)
{
	struct trace *tr = *tp;
	if (tr == NULL)
		return;
	for (size_t i = 0; i < tr->n; i++) {
		free(tr->rec[i].domain);
		free(tr->rec[i].text);
		free(tr->rec[i].rec);
		free(tr->rec[i].bad);
	}
	free(tr);
	*tp = NULL;
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
		[SPF_DECIDED_UNKNOWN] = "unknown", [SPF_DECIDED_IDENTITY] = "identity",
		[SPF_DECIDED_NO_RECORD] = "no record", [SPF_DECIDED_TERM] = "term",
		[SPF_DECIDED_DEFAULT] = "default", [SPF_DECIDED_ERROR] = "error",
	};
	return (size_t)d < ARRAY_LEN(names) ? names[d] : "unknown";
}

/* Runs libspf2 on the identity's record. */
static void run_libspf2(struct spf_engine *e, struct spf_eval *ev, const struct spf_query *q,
			struct spf_outcome *out)
{
	SPF_server_t *server = e->server;
	e->layer->hook = ev;
	if (e->receiver == NULL || strcmp(e->receiver, q->receiver) != 0) {
		free(e->receiver);
		e->receiver = xstrdup(q->receiver);
		SPF_server_set_rec_dom(server, q->receiver);
	}
	SPF_response_t *resp = NULL;
	SPF_request_t *req = SPF_request_new(server);
	if (req == NULL)
		abort();
	char *who = who_text(q);
	if (!set_ip(ev, req, q->ip)) {
		outcome(out, SPF_RES_NONE, "%s: no usable client address", q->receiver);
		if (ev->tr != NULL)
			out->explain = explain_identity("no usable client address");
	} else {
		/*
		 * Not SPF_request_query_mailfrom(): it passes 127.0.0.0/8 and ::1
		 * without a lookup.  libspf2 gets no sender at all: the macros are
		 * ours.
		 */
		req->cur_dom = ev->domain;
		resp = SPF_response_new(req);
		if (resp == NULL)
			abort();
		SPF_record_t *rec = NULL;
		if (SPF_server_get_record(server, req, resp, &rec) == SPF_E_SUCCESS && rec != NULL) {
			resp->spf_record_exp = rec;
			SPF_record_interpret(rec, req, resp, 0);
		}
		if (rec != NULL)
			SPF_record_free(rec);
		enum spf_res r;
		if (ev->aborted)
			r = ev->abort_res;
		else if (ev->root_failed)
			r = ev->root_res;
		else
			r = map_result(SPF_response_result(resp));
		const char *exp = SPF_response_get_explanation(resp);
		if (r == SPF_RES_FAIL && exp != NULL && strcmp(exp, DEFAULT_EXP) != 0)
			out->explanation = xstrdup(exp);
		describe(out, q, who, r, ev->why);
		if (ev->tr != NULL)
			out->explain = explain_build(ev, r);
	}
	free(who);
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	e->layer->hook = NULL;
}

void spf_dns_evaluate(const struct spf_backend *be, const struct spf_query *q,
		      struct spf_outcome *out)
{
	struct spf_engine *e = spf_engine_new();
	spf_engine_evaluate(e, be, q, out);
	spf_engine_free(&e);
}

void spf_engine_evaluate(struct spf_engine *e, const struct spf_backend *be,
			 const struct spf_query *q, struct spf_outcome *out)
{
	memset(out, 0, sizeof(*out));
	struct spf_eval ev = { .be = be, .q = q, .cur_rec = -1, .cur_marker = -1,
			       .why_marker = -1 };
	if (q->explain)
		ev.tr = xcalloc(1, sizeof(*ev.tr));
	const char *bad = identity(&ev, q);
	if (bad != NULL) {
		outcome(out, SPF_RES_NONE, "%s: %s", q->receiver, bad);
		if (q->explain)
			out->explain = explain_identity(bad);
	} else {
		run_libspf2(e, &ev, q, out);
	}
	trace_free(&ev.tr);
	expect_clear(&ev);
	markers_free(&ev);
	for (size_t i = 0; i < ev.n_p; i++)
		free(ev.p_names[i]);
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
