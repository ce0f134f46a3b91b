/*
 * libspf2 over our DNS layer, with our limits (see spf_dns.h).
 *
 * libspf2 lets a program supply its own SPF_dns_server_t: `lookup` answers
 * every A/AAAA/MX/PTR/TXT query, and `get_spf`, when set, fetches and
 * compiles the SPF record of a domain (the top-level one and those of
 * include: and redirect=).  We set both, so:
 *  - every query goes to lib/dns (or a zone in memory), with the deadline
 *    and the cancel flag checked before each one;
 *  - DNS-querying terms are counted across the whole evaluation (libspf2
 *    starts a fresh count inside every include): each get_spf after the
 *    first is an include or redirect, each MX or PTR query an mx or ptr
 *    term, and each A/AAAA query an a or exists term, except the address
 *    lookups of the names an MX or PTR answer just gave, which RFC 7208
 *    4.6.4 bounds separately (libspf2 stops at 10 per term);
 *  - a term past the limit, a third void lookup, the deadline or a cancel
 *    makes the layer answer TRY_AGAIN, which stops libspf2 at once; the
 *    reason recorded here then decides the result (permerror for the
 *    limits, temperror for time), never libspf2's temperror;
 *  - every SPF record is checked before libspf2 compiles it.
 *
 * The CVE guard.  libspf2 1.2.10 as Debian ships it (1.2.10-7.1 patch for
 * CVE-2021-20314) computes the room left for a string literal of a
 * domain-spec as `room - sizeof(SPF_data_t)` in size_t: once a term's
 * compiled data comes within sizeof(SPF_data_t) of SPF_MAX_MECH_LEN (511
 * bytes; easy with a run of macros, each taking a few bytes), that
 * underflows, the length check never fails again, and the rest of the
 * term is copied past a stack buffer (upstream fix: libspf2 PR #44, the
 * issue #45 of ZDI-23-1472 / CVE-2023-42118).  Compiled data grows at most
 * a few bytes per source byte, so we refuse (permerror) any term whose
 * argument exceeds SPF_MAX_TERM_ARG_LEN bytes or SPF_MAX_TERM_MACROS macros:
 * such a term compiles to well under 300 bytes and cannot get near the
 * edge.  Explanations (exp= TXT, also compiled as macros) are held to
 * SPF_MAX_EXP_LEN and the same macro count, or ignored.  Macro syntax is
 * checked against RFC 7208 7.1 (libspf2 accepts a lone "%" as a literal).
 * Sender local-parts are dot-atoms of at most 64 bytes, so %{l} expands
 * nothing libspf2 has not been tested with.
 */
#include "spf_dns.h"

#include <arpa/inet.h>
#include <ctype.h>
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
#include "xalloc.h"

/* Names an MX or PTR answer gave, whose address lookups are not terms. */
#define SPF_MAX_EXPECT 10
/* Compiled into libspf2's server as "the domain gave no exp=". */
#define DEFAULT_EXP "cachet.no.explanation"

struct spf_eval {
	const struct spf_backend *be;
	const struct spf_query *q;
	unsigned terms, voids;
	bool record_seen;		/* the first get_spf has run */
	bool root_failed;		/* the top-level record decided the result */
	enum spf_res root_res;
	bool aborted;			/* a limit, the deadline or a cancel stopped it */
	enum spf_res abort_res;
	char why[200];			/* the last problem, for the comment */
	char *expect[SPF_MAX_EXPECT];
	size_t n_expect;
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

static void expect_clear(struct spf_eval *ev)
{
	for (size_t i = 0; i < ev->n_expect; i++)
		free(ev->expect[i]);
	ev->n_expect = 0;
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

/* Is this A/AAAA lookup one an MX or PTR answer asked for?  (Consumes it.) */
static bool expected(struct spf_eval *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_expect; i++) {
		if (!same_name(ev->expect[i], name))
			continue;
		free(ev->expect[i]);
		ev->expect[i] = ev->expect[--ev->n_expect];
		return true;
	}
	return false;
}

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

/* Macro letters (RFC 7208 7.2); c, r, t only in explanations. */
static bool macro_letter_ok(char c, bool in_exp)
{
	c = (char)tolower((unsigned char)c);
	if (strchr("slodiphv", c) != NULL)
		return true;
	return in_exp && strchr("crt", c) != NULL;
}

/*
 * One macro-string (RFC 7208 7.1): "%%", "%_", "%-", or
 * "%{" letter [digits] ["r"] *delimiter "}".  Counts macros into *n.
 */
static const char *macro_string_check(const char *s, size_t len, bool in_exp, size_t *n)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%')
			continue;
		if (++i == len)
			return "\"%\" at the end of a macro string";
		if (s[i] == '%' || s[i] == '_' || s[i] == '-')
			continue;
		if (s[i] != '{')
			return "\"%\" not followed by {, %, _ or -";
		if (++i == len || !macro_letter_ok(s[i], in_exp))
			return "unknown macro letter";
		i++;
		size_t digits = 0;
		unsigned value = 0;
		while (i < len && isdigit((unsigned char)s[i]) && digits <= 3) {
			value = value * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits > 3 || (digits > 0 && (value == 0 || value > 128)))
			return "macro label count out of range";
		if (i < len && (s[i] == 'r' || s[i] == 'R'))
			i++;
		while (i < len && strchr(".-+,/_=", s[i]) != NULL)
			i++;
		if (i == len || s[i] != '}')
			return "unterminated macro";
		(*n)++;
	}
	return NULL;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* One term of a record (not the version). */
static const char *term_check(const char *t, size_t len)
{
	size_t i = 0;
	if (strchr("+-?~", t[0]) != NULL)
		i++;
	size_t name = i;
	while (i < len && t[i] != ':' && t[i] != '=' && t[i] != '/')
		i++;
	size_t name_len = i - name;
	if (i == len)
		return NULL;
	/* ip4:/ip6: carry no macros; libspf2 parses them on their own */
	if (t[i] == ':' && name_len == 3 && (strncasecmp(t + name, "ip4", 3) == 0 ||
					     strncasecmp(t + name, "ip6", 3) == 0))
		return len - i > 64 ? "ip4/ip6 argument too long" : NULL;
	const char *arg = t + i + 1;
	size_t arg_len = len - i - 1;
	if (arg_len > SPF_MAX_TERM_ARG_LEN)
		return "term argument too long";
	size_t n = 0;
	const char *err = macro_string_check(arg, arg_len, false, &n);
	if (err != NULL)
		return err;
	return n > SPF_MAX_TERM_MACROS ? "too many macros in one term" : NULL;
}

const char *spf_dns_record_check(const char *txt, size_t len)
{
	if (len > SPF_MAX_RECORD_LEN)
		return "SPF record too long";
	if (!printable(txt, len))
		return "SPF record has non-printable or non-ASCII bytes";
	size_t terms = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && txt[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && txt[i] != ' ')
			i++;
		if (i == start)
			break;
		if (terms++ == 0)
			continue; /* the version */
		if (terms > SPF_MAX_TERMS + 1)
			return "too many terms in SPF record";
		const char *err = term_check(txt + start, i - start);
		if (err != NULL)
			return err;
	}
	return NULL;
}

bool spf_dns_local_ok(const char *local)
{
	size_t len = strlen(local);
	if (len == 0 || len > SPF_MAX_LOCAL_LEN || local[0] == '.' || local[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];
		/* RFC 5322 atext and "." (no "..") */
		if (isalnum(c) || strchr("!#$&'*+-/=?^_`{|}~", c) != NULL)
			continue;
		if (c == '.' && local[i + 1] != '.')
			continue;
		return false;
	}
	return true;
}

/* Does the TXT record start with "v=spf1" and then a space or its end? */
static bool is_spf_record(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 && (len == 6 || txt[6] == ' ');
}

/* Explanation text: checked, spaces turned into "%_" (libspf2 mangles them). */
static char *exp_text(const char *txt, size_t len)
{
	size_t n = 0;
	if (len > SPF_MAX_EXP_LEN || strlen(txt) != len || !printable(txt, len) ||
	    macro_string_check(txt, len, true, &n) != NULL || n > SPF_MAX_TERM_MACROS)
		return NULL;
	struct buf b;
	buf_init(&b, 3 * SPF_MAX_EXP_LEN);
	for (size_t i = 0; i < len; i++)
		if (txt[i] == ' ')
			buf_puts(&b, "%_");
		else
			buf_putc(&b, txt[i]);
	return buf_steal(&b);
}

static SPF_dns_rr_t *answer_exp(SPF_dns_server_t *s, const char *name, const struct dns_answer *a)
{
	/* RFC 7208 6.2: anything but exactly one TXT record: no explanation */
	char *text = a->status == DNS_OK && a->count == 1
			     ? exp_text(a->rr[0].u.txt.data, a->rr[0].u.txt.len) : NULL;
	if (text == NULL)
		return rr_status(s, name, ns_t_txt, NO_DATA);
	SPF_dns_rr_t *rr = rr_status(s, name, ns_t_txt, NETDB_SUCCESS);
	rr_put(rr, 0, text, strlen(text), true);
	rr->num_rr = 1;
	free(text);
	return rr;
}

/* Remembers the names an MX or PTR answer gave (see the top). */
static void expect_names(struct spf_eval *ev, const struct dns_answer *a, ns_type t)
{
	for (size_t i = 0; i < a->count && ev->n_expect < SPF_MAX_EXPECT; i++)
		ev->expect[ev->n_expect++] =
			xstrdup(t == ns_t_mx ? a->rr[i].u.mx.exchange : a->rr[i].u.ptr);
}

static SPF_dns_rr_t *answer_rr(SPF_dns_server_t *s, const char *name, ns_type t,
			       const struct dns_answer *a)
{
	SPF_dns_rr_t *rr = rr_status(s, name, t, herrno_of(a->status));
	if (a->status != DNS_OK)
		return rr;
	int n = 0;
	for (size_t i = 0; i < a->count && n < 64; i++, n++) {
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
	case ns_t_ptr:
		return DNS_T_PTR;
	default:
		return DNS_T_TXT;
	}
}

/* libspf2's `lookup`: every query but the SPF records themselves. */
static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *s, const char *name, ns_type t, int cache)
{
	(void)cache;
	struct spf_eval *ev = s->hook;
	if (t != ns_t_a && t != ns_t_aaaa && t != ns_t_mx && t != ns_t_ptr && t != ns_t_txt)
		return rr_status(s, name, t, NO_DATA);	/* type 99 and the like: never asked */
	bool counted = false;
	if (t == ns_t_txt) {
		expect_clear(ev);	/* exp= lookups are not terms (RFC 7208 4.6.4) */
	} else if ((t == ns_t_a || t == ns_t_aaaa) && expected(ev, name)) {
		/* an address of an MX/PTR answer: bounded by libspf2 at 10 */
	} else {
		expect_clear(ev);
		counted = true;
		if (!count_term(ev))
			return rr_status(s, name, t, TRY_AGAIN);
	}
	if (out_of_time(ev))
		return rr_status(s, name, t, TRY_AGAIN);
	struct fetch f;
	fetch(ev, name, dns_type_of(t), &f);
	SPF_dns_rr_t *rr;
	if (t == ns_t_txt) {
		rr = answer_exp(s, name, f.a);
	} else {
		if (dns_status_temporary(f.a->status))
			set_why(ev, "DNS %s lookup of %s: %s", dns_type_name(dns_type_of(t)), name,
				dns_status_name(f.a->status));
		if (counted && (f.a->status == DNS_NXDOMAIN || f.a->status == DNS_NODATA))
			count_void(ev);
		if ((t == ns_t_mx || t == ns_t_ptr) && f.a->status == DNS_OK)
			expect_names(ev, f.a, t);
		rr = ev->aborted ? rr_status(s, name, t, TRY_AGAIN) : answer_rr(s, name, t, f.a);
	}
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

/* Picks the one SPF record of an answer (RFC 7208 4.5), or fails. */
static SPF_errcode_t pick_record(struct spf_eval *ev, bool root, SPF_response_t *resp,
				 const char *dom, const struct dns_answer *a, const char **txt_r)
{
	if (dns_status_temporary(a->status)) {
		set_why(ev, "DNS TXT lookup of %s: %s", dom, dns_status_name(a->status));
		return record_fail(ev, root, resp, SPF_RES_TEMPERROR, SPF_E_DNS_ERROR);
	}
	size_t found = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (is_spf_record(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			found++;
			*txt_r = a->rr[i].u.txt.data;
			if (strlen(*txt_r) != a->rr[i].u.txt.len) {
				set_why(ev, "SPF record of %s contains a NUL byte", dom);
				return record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_SYNTAX);
			}
		}
	if (found == 0) {
		set_why(ev, "no SPF record at %s", dom);
		/* RFC 7208 5.2: an include of a domain without one is permerror */
		return record_fail(ev, root, resp, root ? SPF_RES_NONE : SPF_RES_PERMERROR,
				   SPF_E_NOT_SPF);
	}
	if (found > 1) {
		set_why(ev, "more than one SPF record at %s (RFC 7208 4.5)", dom);
		return record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_MULTIPLE_RECORDS);
	}
	const char *bad = spf_dns_record_check(*txt_r, strlen(*txt_r));
	if (bad != NULL) {
		set_why(ev, "SPF record of %s refused: %s", dom, bad);
		return record_fail(ev, root, resp, SPF_RES_PERMERROR, SPF_E_SYNTAX);
	}
	return SPF_E_SUCCESS;
}

/* libspf2's `get_spf`: the record of cur_dom, top-level or include/redirect. */
static SPF_errcode_t layer_get_spf(SPF_server_t *server, SPF_request_t *req,
				  SPF_response_t *resp, SPF_record_t **rec_r)
{
	struct spf_eval *ev = server->resolver->hook;
	const char *dom = req->cur_dom;
	bool root = !ev->record_seen;
	ev->record_seen = true;
	*rec_r = NULL;
	expect_clear(ev);
	if ((!root && !count_term(ev)) || out_of_time(ev))
		return record_fail(ev, root, resp, ev->abort_res, SPF_E_DNS_ERROR);
	struct fetch f;
	fetch(ev, dom, DNS_T_TXT, &f);
	const char *txt = NULL;
	SPF_errcode_t err = pick_record(ev, root, resp, dom, f.a, &txt);
	if (err == SPF_E_SUCCESS) {
		err = SPF_record_compile(server, resp, rec_r, txt);
		if (err != SPF_E_SUCCESS) {
			set_why(ev, "syntax error in SPF record of %s", dom);
			err = record_fail(ev, root, resp, SPF_RES_PERMERROR, err);
		}
	}
	fetch_done(&f);
	return err;
}

static void layer_destroy(SPF_dns_server_t *s)
{
	free(s);
}

/* Our name rules for identities: LDH/underscore labels, at least two. */
static bool domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 1;
	if (len == 0 || len > 253 || d[0] == '.' || d[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
		} else if ((isalnum(c) || c == '-' || c == '_') && ++label <= 63) {
			continue;
		} else {
			return false;
		}
	}
	return labels >= 2;
}

static bool set_ip(SPF_request_t *req, const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS;
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], 4);
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS;
	}
	return SPF_request_set_ipv6(req, a6) == SPF_E_SUCCESS;
}

static void outcome(struct spf_outcome *out, enum spf_res r, const char *fmt, ...) PRINTF(3, 4);
static void outcome(struct spf_outcome *out, enum spf_res r, const char *fmt, ...)
{
	struct buf b;
	buf_init(&b, 1024);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	out->result = r;
	free(out->comment);
	out->comment = buf_steal(&b);
}

/* The identity's checks before libspf2 sees it; NULL if it may go on. */
static const char *identity_problem(const struct spf_query *q, const char **dom_r)
{
	if (q->sender == NULL) {
		*dom_r = q->helo;
		/* RFC 7208 2.3: a HELO that is not a domain name gives none */
		return q->helo != NULL && domain_ok(q->helo) ? NULL
			: "HELO name is not a domain name";
	}
	const char *at = strrchr(q->sender, '@');
	if (at == NULL)
		return "sender has no domain";
	*dom_r = at + 1;
	/* RFC 7208 4.3: a malformed domain gives none */
	if (!domain_ok(at + 1))
		return "sender domain is not a usable domain name";
	char local[SPF_MAX_LOCAL_LEN + 1];
	size_t ll = (size_t)(at - q->sender);
	if (ll > SPF_MAX_LOCAL_LEN)
		return "sender local-part longer than 64 bytes";
	memcpy(local, q->sender, ll);
	local[ll] = '\0';
	return spf_dns_local_ok(local) ? NULL : "sender local-part not a plain dot-atom";
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

/* Printable ASCII only, at most SPF_MAX_EXP_LEN bytes. */
static char *clean_text(const char *s)
{
	struct buf b;
	buf_init(&b, SPF_MAX_EXP_LEN + 1);
	for (; *s != '\0' && b.len < SPF_MAX_EXP_LEN; s++)
		buf_putc(&b, (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?');
	return buf_steal(&b);
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

/* Runs libspf2 on a checked identity. */
static void run_libspf2(struct spf_eval *ev, const struct spf_query *q, struct spf_outcome *out)
{
	SPF_dns_server_t *layer = xcalloc(1, sizeof(*layer));
	layer->destroy = layer_destroy;
	layer->lookup = layer_lookup;
	layer->get_spf = layer_get_spf;
	layer->name = "cachet";
	layer->hook = ev;
	SPF_server_t *server = SPF_server_new_dns(layer, 0);
	if (server == NULL)
		abort();
	server->destroy_resolver = 0;	/* 1.2.10 frees only resolvers it made */
	SPF_response_t *resp = NULL;
	SPF_server_set_rec_dom(server, q->receiver);
	SPF_server_set_explanation(server, DEFAULT_EXP, &resp);
	SPF_response_free(resp);
	resp = NULL;
	SPF_request_t *req = SPF_request_new(server);
	if (req == NULL)
		abort();
	char who[SPF_MAX_LOCAL_LEN + 300];
	if (!set_ip(req, q->ip)) {
		outcome(out, SPF_RES_NONE, "%s: no usable client address", q->receiver);
	} else {
		if (q->sender != NULL) {
			SPF_request_set_env_from(req, q->sender);
			snprintf(who, sizeof(who), "%s", q->sender);
		} else {
			snprintf(who, sizeof(who), "%s", q->helo);
		}
		if (q->helo != NULL && domain_ok(q->helo))
			SPF_request_set_helo_dom(req, q->helo);
		req->use_helo = q->sender == NULL;
		SPF_request_query_mailfrom(req, &resp);
		enum spf_res r;
		if (ev->aborted)
			r = ev->abort_res;
		else if (ev->root_failed)
			r = ev->root_res;
		else
			r = map_result(resp != NULL ? SPF_response_result(resp) : SPF_RESULT_INVALID);
		const char *exp = resp != NULL ? SPF_response_get_explanation(resp) : NULL;
		if (r == SPF_RES_FAIL && exp != NULL && strcmp(exp, DEFAULT_EXP) != 0)
			out->explanation = clean_text(exp);
		describe(out, q, who, r, ev->why);
	}
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(server);
	layer_destroy(layer);
}

void spf_dns_evaluate(const struct spf_backend *be, const struct spf_query *q,
		      struct spf_outcome *out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, spf_init_once);
	memset(out, 0, sizeof(*out));
	struct spf_eval ev = { .be = be, .q = q };
	const char *dom = NULL;
	const char *bad = identity_problem(q, &dom);
	if (bad != NULL)
		outcome(out, SPF_RES_NONE, "%s: %s", q->receiver, bad);
	else
		run_libspf2(&ev, q, out);
	expect_clear(&ev);
	out->dns_terms = ev.terms;
	out->void_lookups = ev.voids;
}

void spf_outcome_clear(struct spf_outcome *out)
{
	free(out->comment);
	free(out->explanation);
	out->comment = NULL;
	out->explanation = NULL;
}
