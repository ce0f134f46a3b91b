/*
 * cachet doctor: the MX hosts (present, and each with an address: many
 * receivers distrust mail from a domain that cannot receive any, and SPF
 * checks the hosts' addresses next), and, as information (ok when there,
 * never failed when not), whether the domain announces MTA-STS (RFC 8461:
 * "_mta-sts" TXT) and TLS reporting (RFC 8460: "_smtp._tls" TXT).  The MTA-STS policy file is on
 * HTTPS, so it is not fetched: doctor stays a DNS-only, offline-capable
 * tool.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

struct mx_host {
	uint16_t pref;
	const char *name;
};

static int by_pref(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;
	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The host's A and AAAA addresses, into d->mx_addrs; how many. */
static size_t host_addrs(struct doctor *d, const char *host, struct buf *list)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA };
	size_t n = 0;
	for (size_t t = 0; t < 2; t++) {
		const struct dns_answer *a = doctor_lookup(d, host, types[t]);
		for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(types[t] == DNS_T_A ? AF_INET : AF_INET6, &a->rr[i].u, ip, sizeof(ip));
			struct doctor_addr *x = ARRAY_PUSH(&d->mx_addrs);
			x->host = arena_strdup(d->a, host);
			x->ip = arena_strdup(d->a, ip);
			buf_printf(list, "%s%s", n++ > 0 ? ", " : "", ip);
		}
	}
	return n;
}

/*
 * The address records to publish for host: the first --ip of each family
 * (the server the user runs doctor for).  Without --ip nothing can be
 * known, and a finding says so instead.
 */
static bool publish_addrs(struct doctor *d, const char *host, const char *why)
{
	bool any = false;
	for (size_t i = 0; i < d->n_ips; i++) {
		const char *type = strchr(d->ips[i], ':') != NULL ? "AAAA" : "A";
		doctor_publish_rr(d, "mx", host, type, d->ips[i], why);
		any = true;
	}
	return any;
}

static void no_address(struct doctor *d, const struct mx_host *h)
{
	struct doctor_finding *f =
		doctor_say(d, "mx", "mx.host", DOCTOR_FAIL,
			   "MX %u %s has no address (no A or AAAA record): mail to %s cannot be "
			   "delivered there", h->pref, h->name, d->domain);
	if (!publish_addrs(d, arena_printf(d->a, "%s.", h->name),
			   "MX: the mail host's address (from --ip)"))
		doctor_detail(d, f, "publish an A or AAAA record for %s with its address (or give "
			      "--ip and doctor prints it)", h->name);
}

/* No MX: the record to publish, under the usual name for a mail host. */
static void publish_mx(struct doctor *d)
{
	const char *host = arena_printf(d->a, "mail.%s.", d->domain);
	doctor_publish_rr(d, "mx", d->domain, "MX", arena_printf(d->a, "10 %s", host),
			  arena_printf(d->a, "MX: the host that receives mail for %s (mail.%s is "
				       "a suggestion: name the server your MTA runs on)",
				       d->domain, d->domain));
	publish_addrs(d, host, "MX: the mail host's address (from --ip)");
}

void doctor_mx(struct doctor *d)
{
	const struct dns_answer *a = doctor_lookup(d, d->domain, DNS_T_MX);
	if (a->status == DNS_TIMEOUT) {
		/* every other lookup would wait as long: stop here */
		doctor_say(d, "mx", "dns.timeout", DOCTOR_FAIL, "DNS did not answer in time (MX of "
			   "%s): nothing could be checked; is the server given reachable?", d->domain);
		d->no_answer = true;
		return;
	}
	if (dns_status_temporary(a->status)) {
		doctor_say(d, "mx", "mx.lookup", DOCTOR_WARN, "the MX lookup failed (%s): not checked",
			   dns_status_name(a->status));
		return;
	}
	if (a->status == DNS_NXDOMAIN) {
		doctor_say(d, "mx", "mx.present", DOCTOR_FAIL,
			   "%s does not exist in DNS (NXDOMAIN): nothing else can work", d->domain);
		publish_mx(d);
		return;
	}
	if (a->status != DNS_OK || a->count == 0) {
		doctor_say(d, "mx", "mx.present", DOCTOR_FAIL,
			   "no MX record: receivers distrust mail from a domain that cannot receive "
			   "any, and replies and bounces have nowhere to go");
		publish_mx(d);
		return;
	}
	if (a->count == 1 && a->rr[0].u.mx.exchange[0] == '\0') {
		doctor_say(d, "mx", "mx.null", DOCTOR_WARN,
			   "null MX (RFC 7505): %s says it receives no mail, so replies and bounces "
			   "to it fail", d->domain);
		return;
	}
	size_t n = a->count < DOCTOR_MAX_MX ? a->count : DOCTOR_MAX_MX;
	struct mx_host hosts[DOCTOR_MAX_MX];
	for (size_t i = 0; i < n; i++)
		hosts[i] = (struct mx_host){ a->rr[i].u.mx.preference,
					     arena_strdup(d->a, a->rr[i].u.mx.exchange) };
	qsort(hosts, n, sizeof(hosts[0]), by_pref);
	for (size_t i = 0; i < n; i++) {
		struct buf list;
		buf_init(&list, 0);
		if (host_addrs(d, hosts[i].name, &list) > 0)
			doctor_say(d, "mx", "mx.host", DOCTOR_OK, "MX %u %s has an address: %s",
				   hosts[i].pref, hosts[i].name, list.p);
		else
			no_address(d, &hosts[i]);
		buf_free(&list);
	}
	if (a->count > DOCTOR_MAX_MX)
		doctor_say(d, "mx", "mx.many", DOCTOR_INFO, "%zu MX hosts; the first %d looked at",
			   a->count, DOCTOR_MAX_MX);
}

/* The TXT record at name that starts with version, or NULL. */
static const struct dns_rr *versioned(struct doctor *d, const char *name, const char *version,
				      const struct dns_answer **a_r)
{
	const struct dns_answer *a = doctor_lookup(d, name, DNS_T_TXT);
	*a_r = a;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++) {
		size_t n = strlen(version);
		const char *t = a->rr[i].u.txt.data;
		if (strncmp(t, version, n) == 0 && (t[n] == ';' || t[n] == ' ' || t[n] == '\0'))
			return &a->rr[i];
	}
	return NULL;
}

void doctor_transport(struct doctor *d)
{
	const struct dns_answer *a;
	const char *name = arena_printf(d->a, "_mta-sts.%s", d->domain);
	const struct dns_rr *r = versioned(d, name, "v=STSv1", &a);
	if (r != NULL)
		doctor_say(d, "mta-sts", "mta-sts", DOCTOR_OK,
			   "MTA-STS is announced (%s); its policy at https://mta-sts.%s/.well-known/"
			   "mta-sts.txt is not fetched here", doctor_excerpt(d, r->u.txt.data,
									  r->u.txt.len, 60),
			   d->domain);
	else if (dns_status_temporary(a->status))
		doctor_say(d, "mta-sts", "mta-sts", DOCTOR_INFO, "MTA-STS: the lookup failed (%s)",
			   dns_status_name(a->status));
	else
		doctor_say(d, "mta-sts", "mta-sts", DOCTOR_INFO,
			   "no MTA-STS (optional, RFC 8461: lets senders insist on TLS to your MX)");
	name = arena_printf(d->a, "_smtp._tls.%s", d->domain);
	r = versioned(d, name, "v=TLSRPTv1", &a);
	if (r != NULL)
		doctor_say(d, "tls-rpt", "tls-rpt", DOCTOR_OK, "TLS-RPT is announced: %s",
			   doctor_excerpt(d, r->u.txt.data, r->u.txt.len, 80));
	else if (dns_status_temporary(a->status))
		doctor_say(d, "tls-rpt", "tls-rpt", DOCTOR_INFO, "TLS-RPT: the lookup failed (%s)",
			   dns_status_name(a->status));
	else
		doctor_say(d, "tls-rpt", "tls-rpt", DOCTOR_INFO,
			   "no TLS-RPT (optional, RFC 8460: reports of TLS trouble reaching your MX)");
}
