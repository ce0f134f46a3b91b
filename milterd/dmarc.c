/*
 * The dmarc check (RFC 9989).  Runs for external mail only: internal hosts
 * and authenticated senders are ours, their mail is signed, not judged.
 *
 * Everything is decided here and in dmarc_walk.c: the Author Domain
 * (exactly one From field with exactly one address, RFC 9989 5.3.1; its
 * lookups start as soon as the From field arrives), policy discovery and
 * Organizational Domains by the DNS tree walk (RFC 9989 4.10; or by the
 * Public Suffix List as RFC 7489 did, DMARCDiscovery psl), the record's
 * syntax (lib/mail/dmarc_record), identifier alignment (RFC 9989 4.4),
 * which of p=, sp= and np= applies (np= for an Author Domain that does not
 * exist, RFC 9989 3.2.13: one more lookup, made only for a failure under
 * such a record), t=y (testing: the policy one level lower, RFC 9989 4.7),
 * and what is done.  pct=, rf= and ri= are gone (RFC 9989 C.5.2) and are
 * ignored, with a note in the log.  The SPF and DKIM results come from the
 * typed results of those checks, which run first when they are on
 * (`after`: DMARC with only one of them still works).
 *
 * Relaxed alignment needs the Organizational Domain of both sides: equal
 * names align without one, a name outside the Author Domain's
 * Organizational Domain cannot align, and only the rest costs a tree walk
 * from the SPF or DKIM domain (at most DMARC_MAX_ALIGN_WALKS a message,
 * their lookups shared with the Author Domain's).  Only passing
 * identifiers are walked: a failing one cannot make DMARC pass.
 *
 * Why not libopendmarc: 1.4.2 (Debian 12) implements RFC 7489 only, and
 * aligns wrongly: with a public suffix list, strict mode passes From
 * example.com against sub.example.com (OpenDMARC PR #268, fixed after
 * 1.4.2), and in relaxed mode it aligns example.com with "com", which RFC
 * 7489 3.1.1 forbids.  So it is not on the message path:
 * tests/unit/test_dmarc.c runs it as a differential check over the DMARC
 * case table, where a disagreement fails.
 *
 * Results (RFC 9989 9.2): pass; fail; none (no policy applies, or a From
 * field with no address); temperror (a lookup that decides the policy
 * failed temporarily, or no aligned pass and an SPF/DKIM result for an
 * aligned domain was temperror: then the policy cannot be applied);
 * permerror (no single From domain, an unusable record).  RFC 9989 7.4
 * asks receivers without other evidence to treat p=reject as quarantine:
 * DMARCRejectAs quarantine does that; the default rejects, as sites expect.
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
	struct psl *psl;	/* for DMARCDiscovery psl; NULL with treewalk */
};

/* What the From field(s) gave (RFC 9989 5.3.1). */
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
	struct dmarc_walk *walk;	/* the message's DMARC lookups */
};

/* Everything end of message works out. */
struct eval {
	struct msg *m;
	struct dmarc_state *st;
	const struct dmarc_options *opts;
	const struct psl *psl;
	struct dmarc_result rep;
	struct dmarc_policy pol;	/* what discovery found */
	bool auth_temp;		/* an aligned domain's SPF/DKIM result was temperror */
	unsigned walks;		/* alignment walks made */
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
static const struct conffile_name_value discovery_names[] = {
	{ "treewalk", DMARC_DISCOVERY_TREEWALK },
	{ "psl", DMARC_DISCOVERY_PSL },
	{ NULL, 0 },
};
static const struct conffile_name_value reject_as_names[] = {
	{ "reject", DMARC_P_REJECT },
	{ "quarantine", DMARC_P_QUARANTINE },
	{ NULL, 0 },
};

#define OPT(name, type, def, field, extra)                                      \
	CONFFILE_OPT(struct dmarc_options, name, type, def, field, extra)

static const struct conffile_option dmarc_option_table[] = {
	OPT("DMARC", &conffile_bool, "yes", dmarc, NULL),
	OPT("DMARCEnforce", &conffile_bool, "yes", enforce, NULL),
	OPT("DMARCDiscovery", &conffile_enum, "treewalk", discovery, discovery_names),
	OPT("DMARCRejectAs", &conffile_enum, "reject", reject_as, reject_as_names),
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

static bool dmarc_enabled(const struct config *cfg, const void *opts)
{
	(void)cfg;
	return ((const struct dmarc_options *)opts)->dmarc;
}

/* The Public Suffix List is read only when discovery uses it. */
static int dmarc_setup(const struct config *cfg, const void *opts, void **data_r,
		       char **error_r)
{
	(void)cfg;
	const struct dmarc_options *o = opts;
	struct dmarc_data *d = xcalloc(1, sizeof(*d));
	if (o->discovery == DMARC_DISCOVERY_PSL) {
		d->psl = psl_load(o->public_suffix_list, error_r);
		if (d->psl == NULL) {
			free(d);
			return -1;
		}
	}
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
	st->walk = dmarc_walk_new(m->arena, m->rt->dns, st->opts->discovery, st->data->psl);
	cx->state = st;
	return 1;
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
	/* RFC 9989 5.3.1 (RFC 6376's A-labels): a UTF-8 domain is looked up as A-labels */
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
	/* every name discovery may ask, at once: the answers come in parallel */
	if (st->from == FROM_OK)
		dmarc_walk_prefetch(st->walk, st->from_domain);
	return 0;
}

/* ---- policy discovery (RFC 9989 4.10.1) ---- */

/* The tag of the record that applies to the Author Domain, and its value. */
static void choose_policy(struct eval *ev)
{
	const struct dmarc_record *r = &ev->pol.rec;
	struct dmarc_result *rep = &ev->rep;
	if (ev->pol.at_author) {
		rep->policy_from = DMARC_FROM_P;
		rep->policy_value = r->p;
		return;
	}
	rep->policy_from = DMARC_FROM_SP;
	rep->policy_value = r->sp;
}

static void discover(struct eval *ev)
{
	struct dmarc_state *st = ev->st;
	dmarc_walk_discover(st->walk, st->from_domain, &ev->pol);
	ev->rep.discovery = st->opts->discovery;
	ev->rep.org_domain = ev->pol.org_domain;
	if (ev->pol.status == DMARC_DISC_MALFORMED) {
		ev->pol.why = arena_printf(ev->m->arena, "bad DMARC record at _dmarc.%s: %s",
					   ev->pol.domain, ev->pol.why);
		log_msg(LOG_NOTICE, ev->m->qid, "dmarc: %s", ev->pol.why);
	}
	if (ev->pol.status != DMARC_DISC_FOUND)
		return;
	const struct dmarc_record *r = &ev->pol.rec;
	if (r->warning != NULL)
		log_msg(LOG_NOTICE, ev->m->qid, "dmarc: record at _dmarc.%s: %s (%zu warnings)",
			ev->pol.domain, r->warning, r->n_warnings);
	if (r->historic != 0)
		log_msg(LOG_INFO, ev->m->qid, "dmarc: record at _dmarc.%s has tags RFC 9989 "
			"removed (pct, rf, ri): ignored", ev->pol.domain);
	ev->rep.policy_domain = ev->pol.domain;
	ev->rep.policy = r;
	ev->rep.testing = r->testing;
	choose_policy(ev);
}

/*
 * RFC 9989 4.10.1: for a subdomain that does not exist, np= (when the
 * record has one) instead of sp=.  Asked only when it can matter.
 */
static void apply_np(struct eval *ev)
{
	const struct dmarc_record *r = &ev->pol.rec;
	if (ev->pol.at_author || !r->np_given || r->np == r->sp)
		return;
	int exists = dmarc_walk_exists(ev->st->walk, ev->st->from_domain);
	if (exists < 0)
		log_msg(LOG_NOTICE, ev->m->qid, "dmarc: cannot tell whether %s exists; sp= "
			"applies", ev->st->from_domain);
	if (exists != 0)
		return;
	ev->rep.policy_from = DMARC_FROM_NP;
	ev->rep.policy_value = r->np;
}

/* ---- the authentication results and their alignment (RFC 9989 4.4) ---- */

/*
 * Does auth_domain align with the Author Domain?  1 yes, 0 no, -1 cannot
 * tell (a lookup failed temporarily, or too many walks).  Only a passing
 * identifier is worth a walk.  *how_r says how it compared.
 */
static int aligned_how(struct eval *ev, const char *auth_domain, bool strict, bool passed,
		       enum dmarc_align *how_r)
{
	const char *author = ev->st->from_domain;
	*how_r = DMARC_ALIGN_NO_DOMAIN;
	if (auth_domain == NULL || auth_domain[0] == '\0')
		return 0;
	*how_r = DMARC_ALIGN_EXACT;
	if (strcasecmp(author, auth_domain) == 0)
		return 1;
	*how_r = DMARC_ALIGN_STRICT_DIFFERS;
	if (strict)
		return 0;
	*how_r = DMARC_ALIGN_NOT_WALKED;
	if (!passed)
		return 0;
	if (ev->opts->discovery == DMARC_DISCOVERY_PSL) {
		bool a = dmarc_aligned(ev->psl, ev->m->arena, author, auth_domain, false);
		*how_r = a ? DMARC_ALIGN_RELAXED : DMARC_ALIGN_OTHER_ORG;
		return a;
	}
	struct dmarc_walk *w = ev->st->walk;
	bool temp = false;
	*how_r = DMARC_ALIGN_UNKNOWN;
	if (ev->pol.org_domain == NULL)
		ev->pol.org_domain = dmarc_walk_org_domain(w, author, &temp);
	ev->rep.org_domain = ev->pol.org_domain;
	if (temp)
		return -1;
	const char *d = addr_domain_normalize(ev->m->arena, auth_domain, strlen(auth_domain));
	/* relaxed: the same Organizational Domain, so d must be under the author's */
	*how_r = DMARC_ALIGN_OTHER_ORG;
	if (d == NULL || !dmarc_domain_under(d, ev->pol.org_domain))
		return 0;
	*how_r = DMARC_ALIGN_UNKNOWN;
	if (++ev->walks > DMARC_MAX_ALIGN_WALKS)
		return -1;
	const char *org = dmarc_walk_org_domain(w, d, &temp);
	if (temp)
		return -1;
	bool a = strcmp(org, ev->pol.org_domain) == 0;
	*how_r = a ? DMARC_ALIGN_RELAXED : DMARC_ALIGN_OTHER_ORG;
	return a;
}

static void gather_spf(struct eval *ev)
{
	struct msg *m = ev->m;
	const struct spf_result *spf = spf_result_of(m);
	if (spf == NULL)
		return;
	/* RFC 9989 4.4.2: MAIL FROM; HELO only stands in for the null sender */
	bool null_sender = m->mail_from.domain == NULL || m->mail_from.domain[0] == '\0';
	const struct spf_identity_result *r = null_sender ? spf->helo : spf->mfrom;
	if (r == NULL)
		return;
	ev->rep.spf_domain = r->domain;
	ev->rep.spf_result = r->result;
	ev->rep.spf_scope = null_sender ? "helo" : "mfrom";
	bool pass = strcmp(r->result, "pass") == 0;
	bool temp = strcmp(r->result, "temperror") == 0;
	int a = aligned_how(ev, r->domain, ev->pol.rec.aspf_strict, pass || temp,
			    &ev->rep.spf_align);
	ev->rep.spf_aligned = a == 1 && pass;
	ev->auth_temp |= (a == 1 && temp) || (a < 0 && pass);
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
		bool pass = strcmp(r->result, "pass") == 0;
		bool temp = strcmp(r->result, "temperror") == 0;
		/* one aligned pass is enough: later ones need no walk */
		int a = ev->rep.dkim_aligned && pass
				? 0
				: aligned_how(ev, r->domain, ev->pol.rec.adkim_strict, pass || temp,
					      &d->align);
		if (ev->rep.dkim_aligned && pass)
			d->align = strcasecmp(ev->st->from_domain, r->domain) == 0
					   ? DMARC_ALIGN_EXACT : DMARC_ALIGN_NOT_WALKED;
		d->aligned = a == 1;
		if (d->aligned && pass)
			ev->rep.dkim_aligned = true;
		ev->auth_temp |= (a == 1 && temp) || (a < 0 && pass);
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

/* RFC 9989 4.7 t=y: the policy one level lower. */
static enum dmarc_p tested(struct eval *ev, enum dmarc_p p)
{
	if (!ev->rep.testing || p == DMARC_P_NONE)
		return p;
	add_reason(ev, DMARC_OVERRIDE_POLICY_TEST_MODE, "t=y");
	return p == DMARC_P_REJECT ? DMARC_P_QUARANTINE : DMARC_P_NONE;
}

/* The disposition of a failure, after t= and local overrides. */
static enum dmarc_disposition disposition(struct eval *ev)
{
	const struct msg *m = ev->m;
	const struct dmarc_options *cfg = ev->opts;
	enum dmarc_p p = ev->rep.applied;
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
	if (p == DMARC_P_REJECT && cfg->reject_as == DMARC_P_QUARANTINE) {
		/* RFC 9989 7.4 */
		add_reason(ev, DMARC_OVERRIDE_LOCAL_POLICY, "DMARCRejectAs quarantine");
		return DMARC_DIS_QUARANTINE;
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

/*
 * dmarc= for Authentication-Results: the record's policies and what was
 * done in the comment, with where the record was found and how (what an
 * RFC 9990 report names), and policy.dmarc: the policy that applies after
 * t= (RFC 9989 9.1).
 */
static void add_ar(struct eval *ev, const char *reason)
{
	struct msg *m = ev->m;
	struct ar_result r = { .method = "dmarc", .result = ev->rep.result, .reason = reason };
	if (ev->rep.header_from != NULL)
		r.props = arena_printf(m->arena, "header.from=%s", ev->rep.header_from);
	if (ev->rep.policy != NULL) {
		const struct dmarc_record *rec = ev->rep.policy;
		r.comment = arena_printf(m->arena, "p=%s sp=%s np=%s t=%s dis=%s, %s at %s%s",
					 dmarc_p_name(rec->p), dmarc_p_name(rec->sp),
					 dmarc_p_name(rec->np), rec->testing ? "y" : "n",
					 dmarc_disposition_name(ev->rep.disposition),
					 dmarc_discovery_name(ev->rep.discovery),
					 ev->rep.policy_domain,
					 ev->rep.policy_from == DMARC_FROM_NP ? ", no such domain" : "");
		r.props = arena_printf(m->arena, "%s policy.dmarc=%s", r.props,
				       dmarc_p_name(ev->rep.applied));
	}
	verdict_add_result(m->arena, &m->verdict, &r);
	log_msg(LOG_DEBUG, m->qid, "dmarc: %s header.from=%s%s%s%s%s", ev->rep.result,
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
		[DMARC_DISC_NONE] = "none",
		[DMARC_DISC_MALFORMED] = "permerror",
		[DMARC_DISC_TEMPERROR] = "temperror",
	};
	ev->rep.result = results[ev->pol.status];
	/* "none" needs no words in every header; the others do */
	add_ar(ev, ev->pol.status != DMARC_DISC_NONE ? ev->pol.why : NULL);
	if (ev->pol.status == DMARC_DISC_TEMPERROR)
		on_temperror(ev);
}

static void evaluate(struct eval *ev)
{
	if (ev->pol.status != DMARC_DISC_FOUND) {
		no_policy(ev);
		return;
	}
	gather(ev);
	ev->rep.applied = ev->rep.policy_value;
	if (ev->rep.spf_aligned || ev->rep.dkim_aligned) {
		ev->rep.result = "pass";
		add_ar(ev, NULL);
		return;
	}
	apply_np(ev);
	ev->rep.applied = ev->rep.policy_value;
	if (ev->auth_temp) {
		/* a temporary error may hide an aligned pass */
		ev->rep.result = "temperror";
		add_ar(ev, "SPF or DKIM result for an aligned domain was temperror");
		if (ev->rep.applied != DMARC_P_NONE)
			on_temperror(ev);
		return;
	}
	ev->rep.result = "fail";
	ev->rep.applied = tested(ev, ev->rep.policy_value);
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
	ev->rep.discovery = st->opts->discovery;
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
	if (m->cfg->explain && st->from == FROM_OK) {
		/* cachet check: what discovery read, from answers already there */
		struct dmarc_seen *seen = arena_alloc_array(m->arena, DMARC_SEEN_MAX, sizeof(*seen));
		ev->rep.n_seen = dmarc_walk_seen(st->walk, st->from_domain, seen);
		ev->rep.seen = seen;
		ev->rep.why_none = ev->pol.why;
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
	dmarc_walk_free(st->walk);
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
	static const char *const names[] = { "local_policy", "mailing_list", "other",
					     "policy_test_mode", "trusted_forwarder" };
	return (size_t)o < ARRAY_LEN(names) ? names[o] : "other";
}

const char *dmarc_align_name(enum dmarc_align a)
{
	static const char *const names[] = {
		[DMARC_ALIGN_NOT_EVALUATED] = "not evaluated", [DMARC_ALIGN_EXACT] = "exact",
		[DMARC_ALIGN_RELAXED] = "relaxed", [DMARC_ALIGN_STRICT_DIFFERS] = "strict differs",
		[DMARC_ALIGN_OTHER_ORG] = "other organizational domain",
		[DMARC_ALIGN_NOT_WALKED] = "not looked up", [DMARC_ALIGN_UNKNOWN] = "unknown",
		[DMARC_ALIGN_NO_DOMAIN] = "no domain",
	};
	return (size_t)a < ARRAY_LEN(names) ? names[a] : "unknown";
}

const char *dmarc_policy_from_name(enum dmarc_policy_from f)
{
	static const char *const names[] = { "p", "sp", "np" };
	return (size_t)f < ARRAY_LEN(names) ? names[f] : "p";
}
