/*
 * cachet doctor: SPF (RFC 7208).  Exactly one "v=spf1" TXT record (4.5),
 * and TXT records that mention v=spf1 without starting with it named;
 * tutorial placeholders left in ("ip4:ADRESSE_IP", "YOUR_IP", "x.x.x.x",
 * "<ip>"...) named by their term; the record parsed by the milter's own
 * parser (spf_dns_record_terms: the ABNF of section 12 and its MUSTs);
 * +all, ?all, ptr and a missing all warned; the DNS-querying terms counted
 * over the whole include/redirect tree (4.6.4: more than 10 is permerror)
 * together with void lookups (more than 2 is permerror) and includes of
 * names without SPF (permerror, 5.2); then each MX host address and --ip
 * evaluated with the milter's evaluator (spf_dns_evaluate) as mail from
 * postmaster@DOMAIN.
 *
 * The tree walk is static: every branch is followed, as if no mechanism
 * matched (the worst case a receiver can meet), at most SPF_WALK_RECORDS
 * records and SPF_WALK_QUERIES lookups.  Terms whose target holds a macro
 * are counted but not followed (their target depends on the message).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doctor.h"
#include "spf_dns.h"
#include "xalloc.h"

#define SPF_WALK_RECORDS 40
#define SPF_WALK_QUERIES 120
#define SPF_WALK_DEPTH 12
#define EVAL_DEADLINE_MS 20000

/* Words tutorials leave for the reader to replace (compared ignoring case). */
static const char *const placeholders[] = {
	"adresse_ip", "adresseip", "adresse-ip", "ip_adresse", "ip_du_serveur", "ip_serveur",
	"votre_ip", "votre-ip", "votreip", "mon_ip", "your_ip", "your-ip", "yourip",
	"your_server", "your-server", "yourserver", "my_ip", "my-ip", "myip", "server_ip",
	"server-ip", "serverip", "ip_address", "ip-address", "ipaddress", "public_ip",
	"x.x.x.x", "xxx.xxx", "a.b.c.d", "your_domain", "your-domain", "yourdomain.",
	"votre_domaine", "votredomaine", "domain.tld", "<", ">", "[", "]",
};

/* One term of the record holding a placeholder, or NULL. */
static const char *find_placeholder(struct doctor *d, const char *txt, size_t len)
{
	for (size_t i = 0; i < len;) {
		while (i < len && txt[i] == ' ')
			i++;
		size_t start = i;
		while (i < len && txt[i] != ' ')
			i++;
		for (size_t k = 0; k < ARRAY_LEN(placeholders); k++) {
			size_t n = strlen(placeholders[k]);
			for (size_t j = start; j + n <= i; j++)
				if (strncasecmp(txt + j, placeholders[k], n) == 0)
					return arena_memdup(d->a, txt + start, i - start);
		}
	}
	return NULL;
}

/* The one SPF record at name: 1 found, 0 none, -1 several, -2 DNS failed. */
static int spf_record(struct doctor *d, const char *name, const char **txt_r, size_t *len_r,
		      const struct dns_answer **a_r)
{
	const struct dns_answer *a = doctor_lookup(d, name, DNS_T_TXT);
	if (a_r != NULL)
		*a_r = a;
	if (dns_status_temporary(a->status))
		return -2;
	int n = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (doctor_txt_starts(&a->rr[i], "v=spf1")) {
			*txt_r = a->rr[i].u.txt.data;
			*len_r = a->rr[i].u.txt.len;
			n++;
		}
	return n > 1 ? -1 : n;
}

/* ---- the lookup count over the tree ---- */

struct walk {
	struct doctor *d;
	unsigned terms, voids, records;
	unsigned start_queries;
	bool truncated, macros;
	struct doctor_finding *problems;	/* FAIL findings of the walk go here as details */
	ARRAY(const char *) seen;		/* records followed (loops) */
	struct buf void_names;
	struct buf breakdown;			/* lookups per term of the top record */
};

static bool has_macro(struct slice s)
{
	return memchr(s.p, '%', s.len) != NULL;
}

static bool budget_left(struct walk *w)
{
	if (w->records >= SPF_WALK_RECORDS || w->d->queries - w->start_queries >= SPF_WALK_QUERIES) {
		w->truncated = true;
		return false;
	}
	return true;
}

static void void_lookup(struct walk *w, const char *what)
{
	w->voids++;
	buf_printf(&w->void_names, "%s%s", w->void_names.len > 0 ? ", " : "", what);
}

/* Does name have an address?  A void lookup when it has none (4.6.4). */
static void addr_term(struct walk *w, const char *name, const char *term)
{
	const struct dns_answer *a4 = doctor_lookup(w->d, name, DNS_T_A);
	const struct dns_answer *a6 = doctor_lookup(w->d, name, DNS_T_AAAA);
	bool none4 = a4->status == DNS_NXDOMAIN || a4->status == DNS_NODATA;
	bool none6 = a6->status == DNS_NXDOMAIN || a6->status == DNS_NODATA;
	if (none4 && none6)
		void_lookup(w, term);
}

static void mx_term(struct walk *w, const char *name, const char *term)
{
	const struct dns_answer *a = doctor_lookup(w->d, name, DNS_T_MX);
	if (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA)
		void_lookup(w, term);
}

static void walk_record(struct walk *w, const char *domain, const char *txt, size_t len,
			int depth);

/* include: and redirect=: the target's record, followed. */
static void follow(struct walk *w, const char *target, const char *term, int depth)
{
	for (size_t i = 0; i < w->seen.n; i++)
		if (strcasecmp(w->seen.v[i], target) == 0) {
			doctor_detail(w->d, w->problems, "%s: a loop, %s was already included "
				      "(permerror)", term, target);
			return;
		}
	if (depth >= SPF_WALK_DEPTH || !budget_left(w))
		return;
	const char *txt = NULL;
	size_t len = 0;
	const struct dns_answer *a;
	int n = spf_record(w->d, target, &txt, &len, &a);
	if (n == -2) {
		doctor_detail(w->d, w->problems, "%s: the lookup failed (%s), not followed", term,
			      dns_status_name(a->status));
		return;
	}
	if (a->status == DNS_NXDOMAIN || (a->status == DNS_NODATA))
		void_lookup(w, term);
	if (n == 0) {
		doctor_detail(w->d, w->problems, "%s: %s has no SPF record: permerror at every "
			      "receiver (RFC 7208 5.2)", term, target);
		return;
	}
	if (n < 0) {
		doctor_detail(w->d, w->problems, "%s: %s has several SPF records (permerror)", term,
			      target);
		return;
	}
	walk_record(w, target, txt, len, depth + 1);
}

static void walk_record(struct walk *w, const char *domain, const char *txt, size_t len,
			int depth)
{
	struct spf_term *terms = xcalloc(SPF_MAX_RECORD_TERMS, sizeof(*terms));
	size_t n = 0;
	const char *err = spf_dns_record_terms(txt, len, terms, &n);
	*ARRAY_PUSH(&w->seen) = arena_strdup(w->d->a, domain);
	w->records++;
	if (err != NULL && depth > 0)
		doctor_detail(w->d, w->problems, "the record of %s does not parse: %s (permerror)",
			      domain, err);
	bool has_all = false;
	for (size_t i = 0; i < n; i++)
		has_all |= terms[i].type == SPF_TERM_ALL;
	for (size_t i = 0; i < n; i++) {
		const struct spf_term *t = &terms[i];
		const char *target = t->spec.p != NULL ? arena_memdup(w->d->a, t->spec.p, t->spec.len)
						       : domain;
		const char *term = arena_printf(w->d->a, "%s%s%s",
						t->type == SPF_TERM_INCLUDE ? "include:"
						: t->type == SPF_TERM_REDIRECT ? "redirect="
						: t->type == SPF_TERM_A ? "a:"
						: t->type == SPF_TERM_MX ? "mx:" : "", target,
						depth > 0 ? arena_printf(w->d->a, " (in %s)", domain) : "");
		bool macro = t->spec.p != NULL && has_macro(t->spec);
		unsigned before = w->terms;
		switch (t->type) {
		case SPF_TERM_INCLUDE:
			w->terms++;
			if (macro)
				w->macros = true;
			else
				follow(w, target, term, depth);
			break;
		case SPF_TERM_REDIRECT:
			/* RFC 7208 6.1: ignored when the record has "all" */
			if (has_all)
				break;
			w->terms++;
			if (macro)
				w->macros = true;
			else
				follow(w, target, term, depth);
			break;
		case SPF_TERM_A:
			w->terms++;
			if (macro)
				w->macros = true;
			else if (budget_left(w))
				addr_term(w, target, term);
			break;
		case SPF_TERM_MX:
			w->terms++;
			if (macro)
				w->macros = true;
			else if (budget_left(w))
				mx_term(w, target, term);
			break;
		case SPF_TERM_PTR:
		case SPF_TERM_EXISTS:
			w->terms++;
			break;
		default:
			break;
		}
		if (depth == 0 && w->terms > before)
			buf_printf(&w->breakdown, "%s%s %u", w->breakdown.len > 0 ? ", " : "",
				   t->type == SPF_TERM_PTR ? "ptr" : t->type == SPF_TERM_EXISTS
				   ? "exists" : t->type == SPF_TERM_MX && t->spec.p == NULL ? "mx"
				   : t->type == SPF_TERM_A && t->spec.p == NULL ? "a" : term,
				   w->terms - before);
	}
	free(terms);
}

/* ---- the top record ---- */

/* +all, ?all, ptr, no all; the syntax; the lookup count. */
static void check_terms(struct doctor *d, const char *txt, size_t len, bool *failed)
{
	struct spf_term *terms = xcalloc(SPF_MAX_RECORD_TERMS, sizeof(*terms));
	size_t n = 0;
	const char *err = spf_dns_record_terms(txt, len, terms, &n);
	if (err != NULL) {
		doctor_say(d, "spf", "spf.syntax", DOCTOR_FAIL,
			   "the SPF record does not parse: %s; every receiver gets permerror", err);
		*failed = true;
		free(terms);
		return;
	}
	bool all = false, redirect = false;
	for (size_t i = 0; i < n; i++) {
		const struct spf_term *t = &terms[i];
		if (t->type == SPF_TERM_ALL) {
			all = true;
			if (t->qualifier == '+')
				doctor_say(d, "spf", "spf.all", DOCTOR_WARN,
					   "+all: every host on the internet passes, so the record "
					   "vouches for nothing; end it with -all or ~all");
			else if (t->qualifier == '?')
				doctor_say(d, "spf", "spf.all", DOCTOR_WARN,
					   "?all: mail from anywhere else is neutral, as if there were "
					   "no SPF; end it with -all or ~all");
		}
		if (t->type == SPF_TERM_REDIRECT)
			redirect = true;
		if (t->type == SPF_TERM_PTR)
			doctor_say(d, "spf", "spf.ptr", DOCTOR_WARN,
				   "ptr: slow, unreliable, and RFC 7208 5.5 says not to use it; "
				   "list the addresses (ip4:, ip6:) instead");
	}
	if (!all && !redirect)
		doctor_say(d, "spf", "spf.all", DOCTOR_WARN,
			   "the record has no \"all\" at its end: mail from other hosts is neutral; "
			   "end it with -all or ~all");
	free(terms);

	struct walk w = { .d = d, .start_queries = d->queries };
	buf_init(&w.void_names, 0);
	buf_init(&w.breakdown, 0);
	struct doctor_finding *f = doctor_say(d, "spf", "spf.lookups", DOCTOR_OK, "-");
	size_t fi = (size_t)(f - d->findings.v);
	w.problems = f;
	walk_record(&w, d->domain, txt, len, 0);
	f = &d->findings.v[fi];	/* the array may have moved */
	bool over = w.terms > SPF_MAX_DNS_TERMS, voids = w.voids > SPF_MAX_VOID_LOOKUPS;
	if (over || voids || f->n_detail > 0) {
		f->mark = DOCTOR_FAIL;
		*failed = true;
	}
	if (over)
		f->text = arena_printf(d->a, "SPF needs %u DNS lookups over %u records with their "
				       "includes, more than the %d allowed: receivers return "
				       "permerror (RFC 7208 4.6.4)", w.terms, w.records,
				       SPF_MAX_DNS_TERMS);
	else
		f->text = arena_printf(d->a, "SPF needs %u of the %d DNS lookups allowed (RFC 7208 "
				       "4.6.4), over %u record%s with %s includes", w.terms,
				       SPF_MAX_DNS_TERMS, w.records, w.records == 1 ? "" : "s",
				       w.records == 1 ? "its" : "their");
	if (over)
		doctor_detail(d, f, "lookups by term: %s; drop includes of services that do not "
			      "send as you, or list addresses (ip4:, ip6:), which cost none",
			      w.breakdown.p);
	if (w.voids > 0)
		doctor_detail(d, f, "%u void lookup%s (a name with no address or no MX)%s: %s",
			      w.voids, w.voids == 1 ? "" : "s",
			      voids ? arena_printf(d->a, ", more than the %d allowed: permerror "
						   "(RFC 7208 4.6.4)", SPF_MAX_VOID_LOOKUPS) : "",
			      w.void_names.p);
	if (w.macros)
		doctor_detail(d, f, "terms with macros were counted but not followed: their "
			      "targets depend on the message");
	if (w.truncated)
		doctor_detail(d, f, "stopped after %d records or %d lookups: the tree is larger",
			      SPF_WALK_RECORDS, SPF_WALK_QUERIES);
	buf_free(&w.void_names);
	buf_free(&w.breakdown);
	ARRAY_FREE(&w.seen);
}

/* Does mail from ip, as postmaster@domain, pass? */
static void evaluate(struct doctor *d, const char *ip, const char *who, bool must_pass,
		     bool *failed)
{
	struct spf_backend be = { .dns = d->dns };
	char *sender = arena_printf(d->a, "postmaster@%s", d->domain);
	struct spf_query q = { .ip = ip, .sender = sender, .receiver = "cachet-doctor",
			       .deadline_ms = spf_clock_ms() + EVAL_DEADLINE_MS };
	struct spf_outcome out;
	spf_dns_evaluate(&be, &q, &out);
	d->queries += out.dns_terms;
	if (out.result == SPF_RES_PASS) {
		doctor_say(d, "spf", "spf.pass", DOCTOR_OK, "%s (%s) passes SPF", ip, who);
	} else {
		enum doctor_mark m = must_pass ? DOCTOR_FAIL : DOCTOR_WARN;
		struct doctor_finding *f = doctor_say(
			d, "spf", "spf.pass", m, "%s (%s) gets SPF %s%s", ip, who,
			spf_res_name(out.result),
			must_pass ? ": mail your server sends from it fails SPF"
				  : ": if this host sends mail too, add it to the record");
		if (out.comment != NULL)
			doctor_detail(d, f, "%s", out.comment);
		if (m == DOCTOR_FAIL)
			*failed = true;
	}
	spf_outcome_clear(&out);
}

/* The record that fixes it: the addresses mail leaves from, then ~all. */
static void publish_spf(struct doctor *d)
{
	struct buf rec;
	buf_init(&rec, 0);
	buf_puts(&rec, "v=spf1");
	size_t n = 0;
	for (size_t i = 0; i < d->mx_addrs.n + d->n_ips; i++) {
		const char *ip = i < d->mx_addrs.n ? d->mx_addrs.v[i].ip : d->ips[i - d->mx_addrs.n];
		char term[80];
		snprintf(term, sizeof(term), " %s:%s", strchr(ip, ':') != NULL ? "ip6" : "ip4", ip);
		if (strstr(rec.p, term) == NULL) {
			buf_puts(&rec, term);
			n++;
		}
	}
	if (n == 0) {
		doctor_say(d, "spf", "spf.fix", DOCTOR_INFO,
			   "no address known to build the record from: give --ip ADDRESS (your "
			   "server's public address)");
		buf_free(&rec);
		return;
	}
	buf_puts(&rec, " ~all");
	struct slice part = slice_make(rec.p, rec.len);
	doctor_publish(d, "spf", d->domain, &part, 1,
		       d->n_ips > 0 ? "SPF: the MX hosts' and --ip addresses; it replaces any v=spf1 "
				      "record (keep includes of services that send as you)"
				    : "SPF: the MX hosts' addresses (add --ip for other senders); it "
				      "replaces any v=spf1 record (keep includes of services that send "
				      "as you)");
	buf_free(&rec);
}

void doctor_spf(struct doctor *d)
{
	const char *txt = NULL;
	size_t len = 0;
	const struct dns_answer *a;
	int n = spf_record(d, d->domain, &txt, &len, &a);
	bool failed = false;
	if (n == -2) {
		doctor_say(d, "spf", "spf.lookup", DOCTOR_WARN, "the TXT lookup failed (%s): not checked",
			   dns_status_name(a->status));
		return;
	}
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (!doctor_txt_starts(r, "v=spf1") && strcasestr(r->u.txt.data, "v=spf1") != NULL) {
			doctor_say(d, "spf", "spf.lookalike", DOCTOR_FAIL,
				   "a TXT record mentions v=spf1 but does not start with it, so it is "
				   "no SPF record: \"%s\"", doctor_excerpt(d, r->u.txt.data,
									   r->u.txt.len, 60));
			failed = true;
		}
	}
	if (n == 0) {
		doctor_say(d, "spf", "spf.present", DOCTOR_FAIL,
			   "no SPF record (a TXT record starting \"v=spf1\"): big providers want SPF "
			   "or DKIM on all mail, and both for bulk senders");
		failed = true;
	} else if (n < 0) {
		doctor_say(d, "spf", "spf.present", DOCTOR_FAIL,
			   "several SPF records: RFC 7208 4.5 makes that a permerror everywhere; "
			   "merge them into one");
		failed = true;
	} else {
		doctor_say(d, "spf", "spf.present", DOCTOR_OK, "one SPF record: %s",
			   doctor_excerpt(d, txt, len, 200));
		const char *ph = find_placeholder(d, txt, len);
		if (ph != NULL) {
			doctor_say(d, "spf", "spf.placeholder", DOCTOR_FAIL,
				   "the record still holds a tutorial's placeholder, \"%s\": put your "
				   "server's address (or name) there", ph);
			failed = true;
		}
		check_terms(d, txt, len, &failed);
		if (spf_dns_record_check(txt, len) == NULL) {
			/* without --ip, the MX hosts are taken to be the senders (a lab's one server) */
			for (size_t i = 0; i < d->n_ips; i++)
				evaluate(d, d->ips[i], "--ip", true, &failed);
			for (size_t i = 0; i < d->mx_addrs.n; i++)
				evaluate(d, d->mx_addrs.v[i].ip,
					 arena_printf(d->a, "MX %s", d->mx_addrs.v[i].host),
					 d->n_ips == 0, &failed);
		}
	}
	if (failed)
		publish_spf(d);
}
