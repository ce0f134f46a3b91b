/*
 * cachet doctor: DMARC (RFC 9989), with the milter's own record parser
 * and tree walk.  At _dmarc.DOMAIN: a TXT record that holds v=DMARC1 but
 * not as its first tag is no DMARC record (RFC 9989 4.7) and is said to
 * be so; several DMARC records count as none (4.10 step 2); the record's
 * syntax, its policy, t=y, and the tags RFC 9989 removed (pct, rf, ri:
 * flagged, not failed).  Without a record there, the tree walk (4.10)
 * finds the policy that applies from a parent (a lab subdomain of a
 * shared lab domain gets the lab domain's).  Each rua/ruf mailto: whose
 * host is outside the policy domain's Organizational Domain must be
 * authorized by a "v=DMARC1" TXT record at POLICYDOMAIN._report._dmarc.HOST
 * (RFC 9990 4, RFC 9991 5), or receivers drop it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc_walk.h"
#include "doctor.h"

/* The text with its v=DMARC1 tag moved first, or NULL if there is none to move. */
static char *v_first(struct doctor *d, const char *txt)
{
	const char *v = strcasestr(txt, "v=DMARC1");
	if (v == NULL)
		return NULL;
	struct buf out;
	buf_init(&out, 0);
	buf_puts(&out, "v=DMARC1");
	/* the other tags, in their order, without the v= one */
	const char *p = txt;
	while (*p != '\0') {
		const char *end = strchr(p, ';');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		struct slice tag = slice_trim(slice_make(p, n));
		if (tag.len > 0 && !(tag.p <= v && v < tag.p + tag.len))
			buf_printf(&out, "; %.*s", (int)tag.len, tag.p);
		p += n + (end != NULL ? 1 : 0);
	}
	char *r = arena_strdup(d->a, out.p);
	buf_free(&out);
	return r;
}

static void publish_starter(struct doctor *d, const char *text, const char *note)
{
	const char *t = text != NULL ? text
				     : arena_printf(d->a, "v=DMARC1; p=none; rua=mailto:postmaster@%s",
						    d->domain);
	struct slice part = slice_cstr(t);
	doctor_publish(d, "dmarc", arena_printf(d->a, "_dmarc.%s", d->domain), &part, 1,
		       note != NULL ? note : "DMARC: p=none (monitoring) and aggregate reports to "
					     "postmaster, as a start; it replaces the record there");
}

/* The host of a mailto: URI ("mailto:a@b.example!10m" -> "b.example"), in the arena. */
static const char *mailto_host(struct doctor *d, const char *uri)
{
	if (strncasecmp(uri, "mailto:", 7) != 0)
		return NULL;
	const char *at = strrchr(uri, '@');
	if (at == NULL)
		return NULL;
	size_t n = strcspn(at + 1, "!?>, ");
	char *h = arena_memdup(d->a, at + 1, n);
	for (char *c = h; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return n > 0 ? h : NULL;
}

/* RFC 9990 4: is an external destination authorized? 1 yes, 0 no, -1 unknown. */
static int authorized(struct doctor *d, const char *policy_domain, const char *host,
		      const char **name_r)
{
	const char *name = arena_printf(d->a, "%s._report._dmarc.%s", policy_domain, host);
	*name_r = name;
	if (strlen(name) > 253)
		return 0;
	const struct dns_answer *a = doctor_lookup(d, name, DNS_T_TXT);
	if (dns_status_temporary(a->status))
		return -1;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (dmarc_record_is_dmarc(a->rr[i].u.txt.data, a->rr[i].u.txt.len))
			return 1;
	return 0;
}

static void check_uris(struct doctor *d, struct dmarc_walk *w, const char *policy_domain,
		       const char *tag, const char *const *uris, size_t n)
{
	bool temp = false;
	const char *org = dmarc_walk_org_domain(w, policy_domain, &temp);
	for (size_t i = 0; i < n; i++) {
		const char *host = mailto_host(d, uris[i]);
		if (host == NULL) {
			doctor_say(d, "dmarc", "dmarc.uri", DOCTOR_WARN,
				   "%s=%s: only mailto: addresses get reports", tag, uris[i]);
			continue;
		}
		bool htemp = false;
		const char *horg = dmarc_walk_org_domain(w, host, &htemp);
		if (org != NULL && horg != NULL && strcmp(org, horg) == 0) {
			doctor_say(d, "dmarc", "dmarc.uri", DOCTOR_OK, "%s=%s: reports go to your own "
				   "domain", tag, uris[i]);
			continue;
		}
		const char *name;
		int ok = authorized(d, policy_domain, host, &name);
		if (ok == 1) {
			doctor_say(d, "dmarc", "dmarc.uri", DOCTOR_OK, "%s=%s: %s agrees to receive "
				   "reports for %s (%s)", tag, uris[i], host, policy_domain, name);
		} else if (ok < 0 || temp || htemp) {
			doctor_say(d, "dmarc", "dmarc.uri", DOCTOR_WARN, "%s=%s: could not tell whether "
				   "%s agrees to receive reports (DNS failed)", tag, uris[i], host);
		} else {
			struct doctor_finding *f = doctor_say(
				d, "dmarc", "dmarc.uri", DOCTOR_FAIL,
				"%s=%s: %s is outside %s and has not agreed to receive its reports: "
				"receivers drop this address (RFC 9990 4)", tag, uris[i], host,
				org != NULL ? org : policy_domain);
			doctor_detail(d, f, "no \"v=DMARC1\" TXT record at %s; its owner publishes "
				      "one (below), or send reports to an address of your own", name);
			struct slice part = slice_cstr("v=DMARC1");
			doctor_publish(d, "dmarc", name, &part, 1,
				       arena_printf(d->a, "DMARC reports: in the zone of %s, by its owner "
						    "(RFC 9990 4), not in yours", host));
		}
	}
}

static void check_record(struct doctor *d, struct dmarc_walk *w, const char *where,
			 const struct dmarc_record *r, bool at_domain)
{
	/* below the record's domain: sp=, or np= for a name that does not exist (RFC 9989 4.7) */
	enum dmarc_p p = at_domain ? r->p : r->sp;
	if (!at_domain && r->np_given && dmarc_walk_exists(w, d->domain) == 0)
		p = r->np;
	static const char *const meaning[] = {
		[DMARC_P_NONE] = "monitoring only: mail that fails is delivered as usual",
		[DMARC_P_QUARANTINE] = "mail that fails goes to spam",
		[DMARC_P_REJECT] = "mail that fails is refused",
	};
	struct doctor_finding *f = doctor_say(
		d, "dmarc", "dmarc.policy", at_domain ? DOCTOR_OK : DOCTOR_WARN,
		"%s: p=%s (%s)%s", at_domain ? "DMARC policy" : "DMARC policy (inherited)",
		dmarc_p_name(p), meaning[p],
		at_domain ? "" : arena_printf(d->a, ": %s has no record of its own, the one at "
					      "_dmarc.%s applies (RFC 9989 4.10); publish your own to "
					      "choose", d->domain, where));
	if (at_domain && (r->sp_given || r->np_given))
		doctor_detail(d, f, "subdomains: sp=%s, np=%s (names that do not exist)",
			      dmarc_p_name(r->sp), dmarc_p_name(r->np));
	if (r->p_assumed)
		doctor_say(d, "dmarc", "dmarc.p", DOCTOR_WARN, "p= is missing or invalid: with a "
			   "valid rua=, receivers read p=none (RFC 9989 4.10.1)");
	if (r->testing)
		doctor_say(d, "dmarc", "dmarc.testing", DOCTOR_WARN, "t=y: testing mode, receivers "
			   "apply a policy one step milder than p= (RFC 9989 4.7)");
	static const struct {
		unsigned bit;
		const char *tag, *note;
	} historic[] = {
		{ DMARC_HISTORIC_PCT, "pct", " (pct=0 meant what t=y means now)" },
		{ DMARC_HISTORIC_RF, "rf", "" },
		{ DMARC_HISTORIC_RI, "ri", "" },
	};
	for (size_t i = 0; i < ARRAY_LEN(historic); i++)
		if (r->historic & historic[i].bit)
			doctor_say(d, "dmarc", "dmarc.historic", DOCTOR_WARN,
				   "%s= is from RFC 7489; RFC 9989 removed it, so receivers ignore "
				   "it%s", historic[i].tag, historic[i].note);
	if (r->warning != NULL)
		doctor_say(d, "dmarc", "dmarc.warning", DOCTOR_WARN, "%s%s", r->warning,
			   r->n_warnings > 1 ? arena_printf(d->a, " (and %zu more)",
							   r->n_warnings - 1) : "");
	if (at_domain && r->n_rua == 0)
		doctor_say(d, "dmarc", "dmarc.rua", DOCTOR_WARN, "no rua=: you get no aggregate "
			   "reports, so you cannot see who fails; add rua=mailto:postmaster@%s",
			   d->domain);
	check_uris(d, w, where, "rua", r->rua, r->n_rua);
	check_uris(d, w, where, "ruf", r->ruf, r->n_ruf);
}

void doctor_dmarc(struct doctor *d)
{
	const char *name = arena_printf(d->a, "_dmarc.%s", d->domain);
	const struct dns_answer *a = doctor_lookup(d, name, DNS_T_TXT);
	if (dns_status_temporary(a->status)) {
		doctor_say(d, "dmarc", "dmarc.lookup", DOCTOR_WARN, "the lookup of %s failed (%s): "
			   "not checked", name, dns_status_name(a->status));
		return;
	}
	size_t n = 0;
	const struct dns_rr *rec = NULL;
	char *fixed = NULL;
	bool lookalike = false;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		const struct dns_rr *r = &a->rr[i];
		if (dmarc_record_is_dmarc(r->u.txt.data, r->u.txt.len)) {
			rec = r;
			n++;
		} else if (strcasestr(r->u.txt.data, "v=DMARC1") != NULL) {
			struct doctor_finding *f = doctor_say(
				d, "dmarc", "dmarc.version", DOCTOR_FAIL,
				"%s holds \"%s\": v=DMARC1 is not its first tag, so it is not a DMARC "
				"record (RFC 9989 4.7) and receivers ignore it", name,
				doctor_excerpt(d, r->u.txt.data, r->u.txt.len, 80));
			doctor_detail(d, f, "put v=DMARC1 first (the record below)");
			fixed = v_first(d, r->u.txt.data);
			lookalike = true;
		}
	}
	struct arena *wa = arena_new();
	struct dmarc_walk *w = dmarc_walk_new(wa, d->dns, DMARC_DISCOVERY_TREEWALK, NULL);
	if (n > 1) {
		doctor_say(d, "dmarc", "dmarc.present", DOCTOR_FAIL, "%zu DMARC records at %s: "
			   "receivers use none of them (RFC 9989 4.10); keep one", n, name);
		publish_starter(d, NULL, NULL);
	} else if (n == 1) {
		struct dmarc_record r;
		const char *err = NULL;
		if (dmarc_record_parse(d->a, rec->u.txt.data, rec->u.txt.len, &r, &err) < 0) {
			doctor_say(d, "dmarc", "dmarc.syntax", DOCTOR_FAIL, "the DMARC record does not "
				   "parse: %s; receivers ignore it", err);
			publish_starter(d, NULL, NULL);
		} else {
			check_record(d, w, d->domain, &r, true);
		}
	} else {
		struct dmarc_policy pol;
		dmarc_walk_discover(w, d->domain, &pol);
		if (pol.status == DMARC_DISC_FOUND && !pol.at_author) {
			check_record(d, w, pol.domain, &pol.rec, false);
		} else if (pol.status == DMARC_DISC_TEMPERROR) {
			doctor_say(d, "dmarc", "dmarc.lookup", DOCTOR_WARN, "%s", pol.why);
		} else if (!lookalike) {
			doctor_say(d, "dmarc", "dmarc.present", DOCTOR_FAIL,
				   "no DMARC record at %s%s: big providers want one from bulk senders, "
				   "and without it they decide alone what to do with mail that fails",
				   name, pol.status == DMARC_DISC_MALFORMED
				   ? arena_printf(d->a, " (and the one at _dmarc.%s does not parse)",
						  pol.domain) : " nor at a parent domain");
			publish_starter(d, NULL, NULL);
		}
		if (lookalike) {
			struct dmarc_record r;
			const char *err = NULL;
			bool ok = fixed != NULL &&
				  dmarc_record_parse(d->a, fixed, strlen(fixed), &r, &err) == 0;
			publish_starter(d, ok ? fixed : NULL,
					ok ? "DMARC: the same record with v=DMARC1 first" : NULL);
		}
	}
	dmarc_walk_free(w);
	arena_free(&wa);
}
