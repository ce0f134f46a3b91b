/*
 * The dmarc check (RFC 7489).  Runs for external mail only: internal hosts
 * and authenticated senders are ours, their mail is signed, not judged.
 *
 * Everything is decided here: the RFC5322.From domain (exactly one From
 * field with exactly one address, RFC 7489 6.6.1), policy discovery (TXT
 * at _dmarc.<From domain>, then at the Organizational Domain from the
 * Public Suffix List, RFC 7489 6.6.3, both lookups started in parallel as
 * soon as the From field arrives), the record's syntax
 * (lib/mail/dmarc_record), identifier alignment (RFC 7489 3.1), which of
 * p= and sp= applies, pct= sampling, and what is done.  The SPF and DKIM
 * results come from the typed results of those checks, which run first
 * when they are on (`after`: DMARC with only one of them still works).
 *
 * Why not libopendmarc: 1.4.2 (Debian 12) aligns wrongly.  With a public
 * suffix list loaded, strict mode passes From example.com against an SPF
 * or DKIM domain sub.example.com (OpenDMARC PR #268, fixed upstream in PR
 * #354 after 1.4.2), and in relaxed mode, list or not, it aligns
 * example.com with a "com" domain, which RFC 7489 3.1.1 forbids.  It also
 * accepts records RFC 7489 refuses ("p=rej") and refuses valid ones
 * ("rf=afrf:iodef").  What it could still do for us (choose p= or sp=) is
 * two lines; asked on every message it only cost time.  So it is not on
 * the message path: tests/unit/test_dmarc.c runs it as a differential
 * check over the whole DMARC case table, where a disagreement fails.
 *
 * Results (RFC 7489 11.2): pass; fail; none (no policy, or a From field
 * with no address); temperror (the policy lookup failed temporarily, or no
 * aligned pass and an SPF/DKIM result for an aligned domain was temperror,
 * RFC 7489 6.6.2: then the policy cannot be applied); permerror (no single
 * From domain, an unusable record, several records at one name).
 */
#include "dmarc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dkim_verify.h"
#include "dmarc_record.h"
#include "dns.h"
#include "header.h"
#include "log.h"
#include "netlist.h"
#include "pipeline.h"
#include "spf.h"
#include "xalloc.h"

#define DNS_NAME_MAX 253

/* What every message of a snapshot shares. */
struct dmarc_data {
	struct psl *psl;
	unsigned (*sample)(void *ctx);	/* pct= sampling; NULL = arc4random */
	void *sample_ctx;
};

/* What the From field(s) gave (RFC 7489 6.6.1). */
enum from_status {
	FROM_OK,
	FROM_ABSENT,		/* no From field */
	FROM_MULTI_FIELD,	/* more than one From field */
	FROM_MULTI_ADDR,	/* one field, several addresses */
	FROM_UNPARSEABLE,	/* not an address list, or an address without domain */
	FROM_NO_ADDR,		/* only an empty group: "typically ignored" */
	FROM_BAD_DOMAIN,	/* a domain DMARC cannot look up (literal, bad name) */
};

struct dmarc_state {
	const struct dmarc_options *opts;
	const struct dmarc_data *data;
	size_t n_from;
	enum from_status from;
	const char *from_error;	/* details for FROM_UNPARSEABLE */
	size_t n_addr;
	char *from_domain;	/* A-labels, lower case */
	char *org_domain;	/* its Organizational Domain if different, else NULL */
	struct dns_lookup *lk_from, *lk_org;
};

enum discovery {
	DISC_FOUND,
	DISC_NONE,
	DISC_MULTIPLE,
	DISC_MALFORMED,
	DISC_TEMPERROR,
};

/* Everything end of message works out. */
struct eval {
	struct msg *m;
	struct dmarc_state *st;
	const struct dmarc_options *opts;
	const struct psl *psl;
	struct dmarc_result rep;
	struct dmarc_record rec;
	enum discovery disc;
	const char *why;	/* details of a non-FOUND discovery */
	bool at_org;		/* the record is the Organizational Domain's */
	bool auth_temp;		/* an aligned domain's SPF/DKIM result was temperror */
	enum dmarc_p policy;	/* p= or sp=, whichever applies */
};

/* runs after these when they are on, and reads their results */
static const char *const dmarc_after[] = { DKIM_VERIFY_CHECK, SPF_CHECK, "arc", NULL };

static const struct conffile_name_value quarantine_names[] = {
	{ "hold", DMARC_QUARANTINE_HOLD },
	{ "header", DMARC_QUARANTINE_HEADER },
	{ NULL, 0 },
};
static const struct conffile_name_value temperror_names[] = {
	{ "accept", ON_ERROR_ACCEPT },
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ NULL, 0 },
};

#define OPT(name, type, def, field, extra)                                      \
	CONFFILE_OPT(struct dmarc_options, name, type, def, field, extra)

static const struct conffile_option dmarc_option_table[] = {
	OPT("DMARC", &conffile_bool, "yes", dmarc, NULL),
	OPT("DMARCEnforce", &conffile_bool, "yes", enforce, NULL),
	OPT("PublicSuffixList", &conffile_string,
	    "/usr/share/publicsuffix/public_suffix_list.dat", public_suffix_list, NULL),
	OPT("RejectMultiFrom", &conffile_bool, "yes", reject_multi_from, NULL),
	OPT("DMARCQuarantine", &conffile_enum, "hold", quarantine, quarantine_names),
	OPT("DMARCTrustedForwarders", &conffile_netlist, NULL, trusted_forwarders, NULL),
	OPT("DMARCOnTempError", &conffile_enum, "accept", on_temperror, temperror_names),
};

static const struct conffile_schema dmarc_options = {
	dmarc_option_table, ARRAY_LEN(dmarc_option_table), sizeof(struct dmarc_options),
};

void dmarc_set_sampler(void *data, unsigned (*fn)(void *ctx), void *ctx)
{
	struct dmarc_data *d = data;
	d->sample = fn;
	d->sample_ctx = ctx;
}

static unsigned sample(const struct dmarc_data *d)
{
	return d->sample != NULL ? d->sample(d->sample_ctx) % 100 : arc4random_uniform(100);
}

static bool dmarc_enabled(const struct config *cfg, const void *opts)
{
	(void)cfg;
	return ((const struct dmarc_options *)opts)->dmarc;
}

static int dmarc_setup(const struct config *cfg, const void *opts, void **data_r,
		       char **error_r)
{
	(void)cfg;
	const struct dmarc_options *o = opts;
	struct psl *psl = psl_load(o->public_suffix_list, error_r);
	if (psl == NULL)
		return -1;
	struct dmarc_data *d = xcalloc(1, sizeof(*d));
	d->psl = psl;
	*data_r = d;
	return 0;
}

static void dmarc_teardown(void *data)
{
	struct dmarc_data *d = data;
	psl_list_free(&d->psl);
	free(d);
}

bool dmarc_aligned(const struct psl *psl, struct arena *a, const char *from_domain,
		   const char *auth_domain, bool strict)
{
	if (from_domain == NULL || auth_domain == NULL)
		return false;
	const char *f = psl_to_ascii(a, from_domain);
	const char *d = psl_to_ascii(a, auth_domain);
	if (f == NULL || d == NULL || f[0] == '\0' || d[0] == '\0')
		return false;
	if (strcmp(f, d) == 0)
		return true;
	if (strict)
		return false;
	const char *of = psl_org_domain(psl, a, f);
	const char *od = psl_org_domain(psl, a, d);
	return of != NULL && od != NULL && strcmp(of, od) == 0;
}

/* Internal and authenticated mail is not judged by DMARC. */
static int dmarc_begin(struct msg *m, struct check_ctx *cx)
{
	if (m->internal)
		return 0;
	struct dmarc_state *st = arena_alloc(m->arena, sizeof(*st));
	st->opts = cx->opts;
	st->data = cx->data;
	st->from = FROM_ABSENT;
	cx->state = st;
	return 1;
}

static struct dns_lookup *start_lookup(struct msg *m, const char *domain)
{
	char *name = arena_printf(m->arena, "_dmarc.%s", domain);
	/* a name DNS cannot carry has no record (and must not be a temperror) */
	if (strlen(name) > DNS_NAME_MAX)
		return NULL;
	return dns_lookup_start(m->rt->dns, name, DNS_T_TXT);
}

/* The author domain of the one From field, or why there is none. */
static enum from_status from_domain(struct msg *m, struct dmarc_state *st,
				    const struct msg_header *h)
{
	size_t len;
	char *v = hdr_unfold(m->arena, h->value, h->value_len, &len);
	struct addr_list list;
	if (addr_list_parse(m->arena, v, len, &list, &st->from_error) < 0)
		return FROM_UNPARSEABLE;
	st->n_addr = list.n;
	if (list.n == 0) {
		st->from_error = "no address";
		return list.groups > 0 ? FROM_NO_ADDR : FROM_UNPARSEABLE;
	}
	if (list.n > 1)
		return FROM_MULTI_ADDR;
	if (list.v[0].domain == NULL || list.v[0].domain[0] == '\0') {
		st->from_error = "address without a domain";
		return FROM_UNPARSEABLE;
	}
	/* RFC 7489 6.6.1: a UTF-8 domain is looked up as A-labels */
	const char *ascii = psl_to_ascii(m->arena, list.v[0].domain);
	st->from_domain = ascii != NULL ? addr_domain_normalize(m->arena, ascii, strlen(ascii))
					: NULL;
	return st->from_domain != NULL ? FROM_OK : FROM_BAD_DOMAIN;
}

/* The lookups start as soon as the From field is there. */
static int dmarc_header(struct msg *m, struct check_ctx *cx, const struct msg_header *h)
{
	struct dmarc_state *st = cx->state;
	if (strcasecmp(h->name, "From") != 0)
		return 0;
	if (++st->n_from > 1) {
		st->from = FROM_MULTI_FIELD;
		return 0;
	}
	st->from = from_domain(m, st, h);
	if (st->from != FROM_OK)
		return 0;
	char *org = psl_org_domain(st->data->psl, m->arena, st->from_domain);
	st->lk_from = start_lookup(m, st->from_domain);
	/* RFC 7489 6.6.2 allows discovery in parallel; the From domain's
	   answer is usually a miss for subdomains, so ask both at once */
	if (org != NULL && strcmp(org, st->from_domain) != 0) {
		st->org_domain = org;
		st->lk_org = start_lookup(m, org);
	}
	return 0;
}

/* ---- policy discovery (RFC 7489 6.6.3) ---- */

/* The one DMARC record of an answer: 1 found, 0 none, -1 several, -2 temporary. */
static int pick_record(struct eval *ev, struct dns_lookup *lk, const struct dns_rr **rr_r)
{
	if (lk == NULL)
		return 0;
	const struct dns_answer *a = dns_lookup_wait(lk);
	if (dns_status_temporary(a->status)) {
		ev->why = arena_printf(ev->m->arena, "DMARC record lookup: %s",
				       dns_status_name(a->status));
		return -2;
	}
	size_t found = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (dmarc_record_is_dmarc(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			*rr_r = &a->rr[i];
			found++;
		}
	return found > 1 ? -1 : (int)found;
}

static void discover(struct eval *ev)
{
	struct dmarc_state *st = ev->st;
	const struct dns_rr *rr = NULL;
	const char *domain = st->from_domain;
	int r = pick_record(ev, st->lk_from, &rr);
	if (r == 0 && st->org_domain != NULL) {
		domain = st->org_domain;
		ev->at_org = true;
		r = pick_record(ev, st->lk_org, &rr);
	}
	ev->disc = r == 1 ? DISC_FOUND : r == 0 ? DISC_NONE : r == -1 ? DISC_MULTIPLE
		 : DISC_TEMPERROR;
	if (r == -1)
		ev->why = "multiple DMARC records";
	if (ev->disc != DISC_FOUND)
		return;
	ev->rep.policy_domain = domain;
	if (dmarc_record_parse(ev->m->arena, rr->u.txt.data, rr->u.txt.len, &ev->rec,
			       &ev->why) < 0) {
		ev->disc = DISC_MALFORMED;
		ev->why = arena_printf(ev->m->arena, "bad DMARC record at _dmarc.%s: %s", domain,
				       ev->why);
		log_msg(LOG_NOTICE, ev->m->qid, "dmarc: %s", ev->why);
		return;
	}
	if (ev->rec.warning != NULL)
		log_msg(LOG_NOTICE, ev->m->qid, "dmarc: record at _dmarc.%s: %s (%zu warnings)",
			domain, ev->rec.warning, ev->rec.n_warnings);
	ev->rep.policy = &ev->rec;
	/* RFC 7489 6.3 sp: for subdomains, found through the Organizational Domain */
	ev->rep.used_sp = ev->at_org;
	ev->policy = ev->at_org ? ev->rec.sp : ev->rec.p;
}

/* ---- the authentication results (RFC 7489 6.6.2 steps 3-5) ---- */

static void gather_spf(struct eval *ev)
{
	struct msg *m = ev->m;
	const struct spf_result *spf = spf_result_of(m);
	if (spf == NULL)
		return;
	/* RFC 7489 3.1.2: MAIL FROM; HELO only stands in for the null sender */
	bool null_sender = m->mail_from.domain == NULL || m->mail_from.domain[0] == '\0';
	const struct spf_identity_result *r = null_sender ? spf->helo : spf->mfrom;
	if (r == NULL)
		return;
	ev->rep.spf_domain = r->domain;
	ev->rep.spf_result = r->result;
	ev->rep.spf_scope = null_sender ? "helo" : "mfrom";
	bool aligned = dmarc_aligned(ev->psl, m->arena, ev->st->from_domain, r->domain,
				     ev->rec.aspf_strict);
	ev->rep.spf_aligned = aligned && strcmp(r->result, "pass") == 0;
	ev->auth_temp |= aligned && strcmp(r->result, "temperror") == 0;
}

static void gather_dkim(struct eval *ev)
{
	const struct dkim_verify_result *dr = dkim_verify_result_of(ev->m);
	if (dr == NULL)
		return;
	struct dmarc_dkim *dk = arena_alloc_array(ev->m->arena, dr->n + 1, sizeof(*dk));
	ev->rep.dkim = dk;
	for (size_t i = 0; i < dr->n; i++) {
		const struct dkim_sig_result *r = &dr->sigs[i];
		if (r->domain == NULL)
			continue;
		struct dmarc_dkim *d = &dk[ev->rep.n_dkim++];
		d->domain = r->domain;
		d->selector = r->selector;
		d->result = r->result;
		d->aligned = dmarc_aligned(ev->psl, ev->m->arena, ev->st->from_domain, r->domain,
					   ev->rec.adkim_strict);
		if (d->aligned && strcmp(r->result, "pass") == 0)
			ev->rep.dkim_aligned = true;
		ev->auth_temp |= d->aligned && strcmp(r->result, "temperror") == 0;
	}
}

static void gather(struct eval *ev)
{
	gather_spf(ev);
	gather_dkim(ev);
}

/* ---- what is done ---- */

static void add_reason(struct eval *ev, enum dmarc_override type, const char *comment)
{
	if (ev->rep.n_reasons < DMARC_MAX_REASONS)
		ev->rep.reasons[ev->rep.n_reasons++] =
			(struct dmarc_reason){ .type = type, .comment = comment };
}

/* RFC 7489 6.6.4: a failure outside the pct= sample gets the next milder policy. */
static enum dmarc_p sampled(struct eval *ev, enum dmarc_p p)
{
	if (p == DMARC_P_NONE || ev->rec.pct >= 100 || sample(ev->st->data) < ev->rec.pct)
		return p;
	add_reason(ev, DMARC_OVERRIDE_SAMPLED_OUT,
		   arena_printf(ev->m->arena, "pct=%u", ev->rec.pct));
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

/* The disposition of a failure, after sampling and local overrides. */
static enum dmarc_disposition disposition(struct eval *ev)
{
	const struct msg *m = ev->m;
	const struct dmarc_options *cfg = ev->opts;
	enum dmarc_p p = sampled(ev, ev->policy);
	if (p == DMARC_P_NONE)
		return DMARC_DIS_NONE;
	if (cfg->trusted_forwarders != NULL &&
	    netlist_match_text(cfg->trusted_forwarders, m->conn->client_ip,
			       m->conn->client_host)) {
		add_reason(ev, DMARC_OVERRIDE_TRUSTED_FORWARDER, "DMARCTrustedForwarders");
		return DMARC_DIS_NONE;
	}
	if (!cfg->enforce) {
		add_reason(ev, DMARC_OVERRIDE_LOCAL_POLICY, "DMARCEnforce no");
		return DMARC_DIS_NONE;
	}
	return p == DMARC_P_REJECT ? DMARC_DIS_REJECT : DMARC_DIS_QUARANTINE;
}

static void enforce(struct eval *ev)
{
	struct msg *m = ev->m;
	const char *dom = ev->st->from_domain;
	if (ev->rep.disposition == DMARC_DIS_REJECT) {
		verdict_propose(m->arena, &m->verdict, ACTION_REJECT, "dmarc", "550", "5.7.1",
				arena_printf(m->arena, "Mail claiming to come from %s failed "
					     "DMARC authentication, and that domain's "
					     "policy asks us to refuse it", dom));
	} else if (ev->rep.disposition == DMARC_DIS_QUARANTINE) {
		if (ev->opts->quarantine == DMARC_QUARANTINE_HOLD)
			verdict_propose(m->arena, &m->verdict, ACTION_QUARANTINE, "dmarc", NULL,
					NULL, arena_printf(m->arena, "DMARC quarantine policy "
							   "of %s", dom));
		else
			verdict_add_edit(m->arena, &m->verdict, EDIT_ADD,
					 DMARC_QUARANTINE_HEADER_NAME,
					 DMARC_QUARANTINE_HEADER_VALUE, 0);
	}
}

/* DMARCOnTempError; a temporary failure never becomes a reject. */
static void on_temperror(struct eval *ev)
{
	struct msg *m = ev->m;
	if (ev->opts->on_temperror == ON_ERROR_ACCEPT)
		return;
	verdict_propose(m->arena, &m->verdict, ACTION_TEMPFAIL, "dmarc", "451", "4.4.3",
			arena_printf(m->arena, "Temporary failure evaluating DMARC for %s, "
				     "try again later", ev->st->from_domain));
}

static void add_ar(struct eval *ev, const char *reason)
{
	struct msg *m = ev->m;
	struct ar_result r = { .method = "dmarc", .result = ev->rep.result, .reason = reason };
	if (ev->rep.header_from != NULL)
		r.props = arena_printf(m->arena, "header.from=%s", ev->rep.header_from);
	if (ev->rep.policy != NULL) {
		r.comment = arena_printf(m->arena, "p=%s sp=%s pct=%u dis=%s",
					 dmarc_p_name(ev->rec.p), dmarc_p_name(ev->rec.sp),
					 ev->rec.pct,
					 dmarc_disposition_name(ev->rep.disposition));
		r.props = arena_printf(m->arena, "%s policy.dmarc=%s", r.props,
				       dmarc_p_name(ev->policy));
	}
	verdict_add_result(m->arena, &m->verdict, &r);
	log_msg(LOG_INFO, m->qid, "dmarc: %s header.from=%s%s%s%s%s", ev->rep.result,
		ev->rep.header_from != NULL ? ev->rep.header_from : "-",
		r.comment != NULL ? " " : "", r.comment != NULL ? r.comment : "",
		reason != NULL ? ": " : "", reason != NULL ? reason : "");
}

static const char *const from_results[] = {
	[FROM_OK] = "none",
	[FROM_ABSENT] = "permerror",
	[FROM_MULTI_FIELD] = "permerror",
	[FROM_MULTI_ADDR] = "permerror",
	[FROM_UNPARSEABLE] = "permerror",
	[FROM_NO_ADDR] = "none",
	[FROM_BAD_DOMAIN] = "permerror",
};

/*
 * No single author domain.  RFC 7489 6.6.1: messages without a From field,
 * with several, or with several addresses are "typically rejected"; so is
 * one we cannot parse (what a mail reader shows from it is anyone's guess:
 * the classic way around DMARC).  A group without addresses is ignored.
 */
static void no_author(struct eval *ev)
{
	struct msg *m = ev->m;
	struct dmarc_state *st = ev->st;
	const char *why;
	switch (st->from) {
	case FROM_ABSENT:
		why = "no From field";
		break;
	case FROM_MULTI_FIELD:
		why = arena_printf(m->arena, "%zu From fields", st->n_from);
		break;
	case FROM_MULTI_ADDR:
		why = arena_printf(m->arena, "From field with %zu addresses", st->n_addr);
		break;
	case FROM_BAD_DOMAIN:
		why = "From domain is not a DNS name";
		break;
	case FROM_NO_ADDR:
		why = "From field has no address";
		break;
	default:
		why = arena_printf(m->arena, "unusable From field: %s",
				   st->from_error != NULL ? st->from_error : "?");
		break;
	}
	ev->rep.result = from_results[st->from];
	add_ar(ev, why);
	bool rejectable = st->from == FROM_ABSENT || st->from == FROM_MULTI_FIELD ||
			  st->from == FROM_MULTI_ADDR || st->from == FROM_UNPARSEABLE;
	if (rejectable && ev->opts->reject_multi_from) {
		ev->rep.disposition = DMARC_DIS_REJECT;
		add_reason(ev, DMARC_OVERRIDE_LOCAL_POLICY, "RejectMultiFrom");
		verdict_propose(m->arena, &m->verdict, ACTION_REJECT, "dmarc", "550", "5.7.1",
				arena_printf(m->arena, "Message refused: %s (DMARC needs "
					     "exactly one author address)", why));
	}
}

static void no_policy(struct eval *ev)
{
	static const char *const results[] = {
		[DISC_NONE] = "none", [DISC_MULTIPLE] = "permerror",
		[DISC_MALFORMED] = "permerror", [DISC_TEMPERROR] = "temperror",
	};
	ev->rep.result = results[ev->disc];
	add_ar(ev, ev->why);
	if (ev->disc == DISC_TEMPERROR)
		on_temperror(ev);
}

static void evaluate(struct eval *ev)
{
	gather(ev);
	if (ev->disc != DISC_FOUND) {
		no_policy(ev);
		return;
	}
	if (ev->rep.spf_aligned || ev->rep.dkim_aligned) {
		ev->rep.result = "pass";
		add_ar(ev, NULL);
		return;
	}
	if (ev->auth_temp) {
		/* RFC 7489 6.6.2: a temporary error may hide an aligned pass */
		ev->rep.result = "temperror";
		add_ar(ev, "SPF or DKIM result for an aligned domain was temperror");
		if (ev->policy != DMARC_P_NONE)
			on_temperror(ev);
		return;
	}
	ev->rep.result = "fail";
	ev->rep.disposition = disposition(ev);
	add_ar(ev, NULL);
	enforce(ev);
}

static int dmarc_eom(struct msg *m, struct check_ctx *cx)
{
	struct dmarc_state *st = cx->state;
	struct eval *ev = arena_alloc(m->arena, sizeof(*ev));
	ev->m = m;
	ev->st = st;
	ev->opts = st->opts;
	ev->psl = st->data->psl;
	ev->rep.qid = m->qid;
	ev->rep.when = m->now;
	ev->rep.source_ip = m->conn->client_ip;
	ev->rep.envelope_from = m->mail_from.domain != NULL ? m->mail_from.domain : "";
	if (st->from != FROM_OK) {
		no_author(ev);
	} else {
		ev->rep.header_from = st->from_domain;
		discover(ev);
		evaluate(ev);
	}
	cx->result = &ev->rep;
	return 0;
}

static void dmarc_end(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	struct dmarc_state *st = cx->state;
	if (st == NULL)
		return;
	dns_lookup_free(&st->lk_from);
	dns_lookup_free(&st->lk_org);
}

const struct check check_dmarc = {
	.name = DMARC_CHECK,
	.after = dmarc_after,
	.options = &dmarc_options,
	.enabled = dmarc_enabled,
	.setup = dmarc_setup,
	.teardown = dmarc_teardown,
	.msg_begin = dmarc_begin,
	.header = dmarc_header,
	.eom = dmarc_eom,
	.msg_end = dmarc_end,
};

const char *dmarc_disposition_name(enum dmarc_disposition d)
{
	static const char *const names[] = { "none", "quarantine", "reject" };
	return (size_t)d < ARRAY_LEN(names) ? names[d] : "none";
}

const char *dmarc_override_name(enum dmarc_override o)
{
	static const char *const names[] = { "forwarded", "sampled_out", "trusted_forwarder",
					     "mailing_list", "local_policy", "other" };
	return (size_t)o < ARRAY_LEN(names) ? names[o] : "other";
}
