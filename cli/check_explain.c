/*
 * `cachet check`, explained: the steps a receiver takes, in its order
 * (the envelope; SPF for MAIL FROM and HELO; each DKIM signature; the From
 * domain and how each identifier aligns with it; the DMARC record and the
 * disposition), in words for a person and as JSON members.  Everything
 * comes from the checks' typed results and the reasons they keep with the
 * configuration's explain flag (spf_dns.h, dkim_verify.h, dmarc.h):
 * nothing here reads the Authentication-Results text back.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "explain.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "json.h"
#include "runtime.h"
#include "spf.h"
#include "spf_dns.h"

/* ---- text ---- */

static const char *or_none(const char *s)
{
	return s != NULL && *s != '\0' ? s : "(none)";
}

static void text_envelope(const struct msg *m, const struct explain_envelope *env)
{
	const struct conn *c = m->conn;
	printf("1. Envelope\n");
	printf("   client IP   %s (%s)\n", or_none(c->client_ip),
	       m->internal ? "internal" : "external");
	printf("   HELO        %s\n", or_none(c->helo));
	printf("   MAIL FROM   <%s>\n", m->mail_from_raw != NULL ? m->mail_from_raw : "");
	if (env->rx != NULL) {
		const struct rx_source *rx = env->rx;
		printf("   taken from  the Received field %s added (header field %zu)%s\n",
		       rx->rcv.by, rx->received_field,
		       rx->mail_from != NULL ? " and the Return-Path field" : "");
		if (rx->rcv.rdns != NULL)
			printf("               it named the client %s\n", rx->rcv.rdns);
		if (rx->rcv.date != NULL)
			printf("               on %s\n", rx->rcv.date);
		if (rx->clock_from_date) {
			char when[32];
			struct tm tm;
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&m->now, &tm));
			printf("   clock       %s, when it received the message (--now for another "
			       "time)\n", when);
		}
	}
}

/* The last record's line: what decided, or broke, the evaluation. */
static void text_spf_decided(const struct spf_explain *x, const char *result)
{
	const struct spf_explain_step *last = x->n_steps > 0 ? &x->step[x->n_steps - 1] : NULL;
	switch (x->decided) {
	case SPF_DECIDED_TERM:
		printf("      the term that matched: %s (so: %s)\n", or_none(last ? last->term : NULL),
		       result);
		break;
	case SPF_DECIDED_DEFAULT:
		printf("      no term matched and there is no redirect=: %s (RFC 7208 4.7)\n",
		       result);
		break;
	case SPF_DECIDED_ERROR:
		if (last != NULL && last->term != NULL)
			printf("      it broke at the term %s: %s\n", last->term, or_none(x->why));
		else
			printf("      %s: %s\n", result, or_none(x->why));
		break;
	case SPF_DECIDED_NO_RECORD:
	case SPF_DECIDED_IDENTITY:
		printf("      %s\n", or_none(x->why));
		break;
	}
}

static void text_spf_identity(const char *label, const char *who,
			      const struct spf_identity_result *r)
{
	if (r == NULL) {
		printf("   %-9s %s: not evaluated\n", label, or_none(who));
		return;
	}
	printf("   %-9s %s: %s\n", label, or_none(who), r->result);
	const struct spf_explain *x = r->explain;
	if (x == NULL) {
		printf("      (the evaluation did not finish: no reasons kept)\n");
		return;
	}
	for (size_t i = 0; i < x->n_steps; i++) {
		const struct spf_explain_step *s = &x->step[i];
		if (s->record != NULL)
			printf("      record at %s: \"%s\"\n", s->domain, s->record);
		else if (x->decided != SPF_DECIDED_NO_RECORD)
			printf("      no record read at %s\n", s->domain);
		if (i + 1 < x->n_steps && s->term != NULL)
			printf("      followed %s\n", s->term);
	}
	text_spf_decided(x, r->result);
}

static void text_spf(const struct msg *m)
{
	printf("2. SPF\n");
	const struct spf_result *r = spf_result_of(m);
	if (r == NULL) {
		printf("   not evaluated (%s)\n", runtime_check(m->rt, "spf") != NULL
			? "no client address, or internal mail" : "check not enabled");
		return;
	}
	if (m->mail_from_raw != NULL && *m->mail_from_raw != '\0')
		text_spf_identity("MAIL FROM", m->mail_from_raw, r->mfrom);
	else
		printf("   MAIL FROM <>: the null sender; HELO stands for it (RFC 7208 2.4)\n");
	text_spf_identity("HELO", m->conn->helo, r->helo);
}

/* Why one signature ended as it did, in words. */
static void text_dkim_why(const struct dkim_sig_result *s, const struct dkim_sig_explain *x)
{
	const char *key = or_none(x->key_name);
	switch (x->why) {
	case DKIM_WHY_PASS:
		printf("      why: it verifies with the key published at %s\n", key);
		break;
	case DKIM_WHY_SIGNATURE_SYNTAX:
		printf("      why: the DKIM-Signature field itself: %s\n", or_none(s->reason));
		break;
	case DKIM_WHY_TIME:
		printf("      why: %s (t=%" PRIu64 ", x=%" PRIu64 ")\n", or_none(s->reason), x->t,
		       x->x);
		break;
	case DKIM_WHY_KEY_TEMP:
		printf("      why: the key lookup at %s failed temporarily (%s)\n", key,
		       or_none(x->key_status));
		break;
	case DKIM_WHY_NO_KEY:
		printf("      why: key not found at %s (%s)\n", key, or_none(x->key_status));
		break;
	case DKIM_WHY_KEY_SYNTAX:
	case DKIM_WHY_KEY_UNFIT:
		printf("      why: the record at %s %s\n", key,
		       x->why == DKIM_WHY_KEY_SYNTAX ? "holds no usable key"
						     : "holds a key that cannot verify this signature");
		for (size_t i = 0; i < x->n_key_problems; i++)
			printf("        - %s\n", x->key_problems[i]);
		break;
	case DKIM_WHY_BODY_CHANGED:
		printf("      why: body changed: its hash is not bh= (signed %s, now %s)\n",
		       or_none(x->body_hash), or_none(x->body_hash_computed));
		printf("           the body was altered after signing (a footer, a re-encoding,"
		       " line endings)%s\n",
		       x->headers_verify ? "; b= still verifies: the signed header fields are intact"
		       : x->other_key	 ? "; and the key published now did not make it"
					 : "");
		break;
	case DKIM_WHY_HEADER_CHANGED:
		printf("      why: a signed header field changed: b= was made with this key over"
		       " other values of the fields in h=\n");
		break;
	case DKIM_WHY_KEY_MISMATCH:
		printf("      why: key does not match: b= was not made with the key published at"
		       " %s (rotated? the wrong key published?)\n", key);
		break;
	case DKIM_WHY_SIGNATURE:
		printf("      why: b= does not verify (a changed header field or another key:"
		       " %s signatures cannot tell which)\n", or_none(x->algorithm));
		break;
	case DKIM_WHY_POLICY:
		printf("      why: it verifies, but is not accepted here: %s\n", or_none(s->reason));
		break;
	case DKIM_WHY_INTERNAL:
		printf("      why: an internal error: %s\n", or_none(s->reason));
		break;
	}
}

static void text_dkim(const struct msg *m)
{
	printf("3. DKIM\n");
	const struct dkim_verify_result *r = dkim_verify_result_of(m);
	if (r == NULL || r->n == 0) {
		printf("   %s\n", runtime_check(m->rt, "dkim_verify") == NULL ? "check not enabled"
			: "no DKIM-Signature field: the message is not signed");
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct dkim_sig_result *s = &r->sigs[i];
		const struct dkim_sig_explain *x = s->explain;
		printf("   signature %zu: d=%s s=%s: %s\n", i + 1, or_none(s->domain),
		       or_none(s->selector), s->result);
		if (x == NULL)
			continue;
		printf("      a=%s c=%s", or_none(x->algorithm), or_none(x->canon));
		if (x->has_l)
			printf(" l=%" PRIu64, x->l);
		printf("\n      h=");
		for (size_t h = 0; h < x->n_headers; h++)
			printf("%s%s", h > 0 ? ":" : "", x->headers[h]);
		printf("\n");
		if (x->key_record != NULL)
			printf("      key at %s: %s%s%s\n", or_none(x->key_name),
			       x->key_type != NULL ? x->key_type : "record",
			       x->key_bits > 0 ? "" : " (not parsed)",
			       x->key_testing ? ", t=y (testing)" : "");
		if (x->key_bits > 0)
			printf("      key size: %d bits\n", x->key_bits);
		text_dkim_why(s, x);
	}
}

static const char *align_words(enum dmarc_align a, const char *result)
{
	switch (a) {
	case DMARC_ALIGN_EXACT: return "aligned (the same domain)";
	case DMARC_ALIGN_RELAXED: return "aligned (the same Organizational Domain, relaxed)";
	case DMARC_ALIGN_STRICT_DIFFERS: return "not aligned (strict mode wants the same domain)";
	case DMARC_ALIGN_OTHER_ORG: return "not aligned (another Organizational Domain)";
	case DMARC_ALIGN_NOT_WALKED:
		return result != NULL && strcmp(result, "pass") != 0
			       ? "not counted (it did not pass)" : "not looked up";
	case DMARC_ALIGN_UNKNOWN: return "unknown (a lookup failed)";
	case DMARC_ALIGN_NO_DOMAIN: return "no domain to align";
	case DMARC_ALIGN_NOT_EVALUATED: break;
	}
	return "not evaluated (no DMARC policy)";
}

/* An aligned identifier that did not pass: DMARC counts only a pass. */
static const char *counts_words(enum dmarc_align a, const char *result)
{
	bool aligned = a == DMARC_ALIGN_EXACT || a == DMARC_ALIGN_RELAXED;
	return aligned && result != NULL && strcmp(result, "pass") != 0
		       ? "; it did not pass, so it does not count for DMARC" : "";
}

static void text_alignment(const struct dmarc_result *d)
{
	printf("4. From domain and alignment\n");
	if (d == NULL) {
		printf("   not evaluated\n");
		return;
	}
	printf("   From: %s", or_none(d->header_from));
	if (d->org_domain != NULL)
		printf(" (Organizational Domain %s)", d->org_domain);
	printf("\n");
	if (d->policy != NULL)
		printf("   modes: SPF %s, DKIM %s\n", d->policy->aspf_strict ? "strict" : "relaxed",
		       d->policy->adkim_strict ? "strict" : "relaxed");
	if (d->spf_result != NULL)
		printf("   SPF  %s (%s): %s, %s%s\n", or_none(d->spf_domain), or_none(d->spf_scope),
		       d->spf_result, align_words(d->spf_align, d->spf_result),
		       counts_words(d->spf_align, d->spf_result));
	else
		printf("   SPF  no result to align\n");
	for (size_t i = 0; i < d->n_dkim; i++)
		printf("   DKIM %s (s=%s): %s, %s%s\n", or_none(d->dkim[i].domain),
		       or_none(d->dkim[i].selector), d->dkim[i].result,
		       align_words(d->dkim[i].align, d->dkim[i].result),
		       counts_words(d->dkim[i].align, d->dkim[i].result));
}

static void text_dmarc(const struct dmarc_result *d)
{
	printf("5. DMARC\n");
	if (d == NULL) {
		printf("   not evaluated (no usable From, internal mail, or check not enabled)\n");
		return;
	}
	for (size_t i = 0; i < d->n_seen; i++) {
		const struct dmarc_seen *s = &d->seen[i];
		if (!s->asked) {
			printf("   _dmarc.%s: not looked up\n", s->domain);
			continue;
		}
		if (s->n_txt == 0)
			printf("   _dmarc.%s: no TXT record (%s)\n", s->domain,
			       dns_status_name(s->status));
		for (size_t t = 0; t < s->n_txt; t++) {
			const char *not = dmarc_record_why_not(s->txt[t], strlen(s->txt[t]));
			printf("   _dmarc.%s: \"%s\"%s%s\n", s->domain, s->txt[t],
			       not != NULL ? ": " : "", not != NULL ? not : "");
		}
	}
	if (d->policy != NULL)
		printf("   policy: %s=%s from _dmarc.%s%s\n", dmarc_policy_from_name(d->policy_from),
		       dmarc_p_name(d->policy_value), or_none(d->policy_domain),
		       d->testing ? " (t=y: applied one level lower)" : "");
	printf("   result: %s%s%s\n", d->result, d->why_none != NULL ? ": " : "",
	       d->why_none != NULL ? d->why_none : "");
	printf("   disposition: %s", dmarc_disposition_name(d->disposition));
	for (size_t i = 0; i < d->n_reasons; i++)
		printf("%s%s", i == 0 ? " (overridden: " : ", ",
		       dmarc_override_name(d->reasons[i].type));
	printf("%s\n", d->n_reasons > 0 ? ")" : "");
}

void explain_print_text(struct msg *m, const struct explain_envelope *env)
{
	text_envelope(m, env);
	text_spf(m);
	text_dkim(m);
	const struct dmarc_result *d = dmarc_result_of(m);
	text_alignment(d);
	text_dmarc(d);
}

/* ---- JSON ---- */

static void member_raw(struct buf *b, const char *key, const char *raw)
{
	json_put_string(b, key);
	buf_putc(b, ':');
	buf_puts(b, raw);
}

static void json_spf_identity(struct buf *b, const char *key, const char *who,
			      const struct spf_identity_result *r)
{
	json_put_string(b, key);
	buf_putc(b, ':');
	if (r == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '{');
	json_put_member(b, "identity", who);
	buf_putc(b, ',');
	json_put_member(b, "result", r->result);
	buf_putc(b, ',');
	json_put_member(b, "domain", r->domain);
	const struct spf_explain *x = r->explain;
	buf_putc(b, ',');
	json_put_member(b, "decided", x != NULL ? spf_decided_name(x->decided) : NULL);
	buf_putc(b, ',');
	json_put_member(b, "why", x != NULL ? x->why : NULL);
	buf_puts(b, ",\"records\":[");
	for (size_t i = 0; x != NULL && i < x->n_steps; i++) {
		buf_puts(b, i > 0 ? ",{" : "{");
		json_put_member(b, "domain", x->step[i].domain);
		buf_putc(b, ',');
		json_put_member(b, "record", x->step[i].record);
		buf_putc(b, ',');
		json_put_member(b, "term", x->step[i].term);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}

static void json_dkim_sig(struct buf *b, const struct dkim_sig_result *s)
{
	const struct dkim_sig_explain *x = s->explain;
	buf_putc(b, '{');
	json_put_member(b, "domain", s->domain);
	buf_putc(b, ',');
	json_put_member(b, "selector", s->selector);
	buf_putc(b, ',');
	json_put_member(b, "result", s->result);
	buf_putc(b, ',');
	json_put_member(b, "reason", s->reason);
	if (x != NULL) {
		buf_putc(b, ',');
		json_put_member(b, "why", dkim_why_name(x->why));
		buf_putc(b, ',');
		json_put_member(b, "algorithm", x->algorithm);
		buf_putc(b, ',');
		json_put_member(b, "canonicalization", x->canon);
		buf_puts(b, ",\"headers\":[");
		for (size_t h = 0; h < x->n_headers; h++) {
			if (h > 0)
				buf_putc(b, ',');
			json_put_string(b, x->headers[h]);
		}
		buf_puts(b, "],");
		json_put_member(b, "key_name", x->key_name);
		buf_putc(b, ',');
		json_put_member(b, "key_lookup", x->key_status);
		buf_putc(b, ',');
		json_put_member(b, "key_record", x->key_record);
		buf_printf(b, ",\"key_bits\":%d,", x->key_bits);
		json_put_member(b, "body_hash", x->body_hash);
		buf_putc(b, ',');
		json_put_member(b, "body_hash_computed", x->body_hash_computed);
		buf_printf(b, ",\"headers_verify\":%s,\"other_key\":%s",
			   x->headers_verify ? "true" : "false", x->other_key ? "true" : "false");
		buf_puts(b, ",\"key_problems\":[");
		for (size_t i = 0; i < x->n_key_problems; i++) {
			if (i > 0)
				buf_putc(b, ',');
			json_put_string(b, x->key_problems[i]);
		}
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
}

static void json_dmarc(struct buf *b, const struct dmarc_result *d)
{
	json_put_string(b, "dmarc");
	buf_putc(b, ':');
	if (d == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '{');
	json_put_member(b, "header_from", d->header_from);
	buf_putc(b, ',');
	json_put_member(b, "org_domain", d->org_domain);
	buf_putc(b, ',');
	json_put_member(b, "result", d->result);
	buf_putc(b, ',');
	json_put_member(b, "why", d->why_none);
	buf_putc(b, ',');
	json_put_member(b, "policy_domain", d->policy_domain);
	buf_putc(b, ',');
	json_put_member(b, "policy", d->policy != NULL ? dmarc_p_name(d->policy_value) : NULL);
	buf_putc(b, ',');
	json_put_member(b, "policy_from",
			d->policy != NULL ? dmarc_policy_from_name(d->policy_from) : NULL);
	buf_putc(b, ',');
	json_put_member(b, "disposition", dmarc_disposition_name(d->disposition));
	buf_puts(b, ",\"spf\":{");
	json_put_member(b, "domain", d->spf_domain);
	buf_putc(b, ',');
	json_put_member(b, "result", d->spf_result);
	buf_putc(b, ',');
	json_put_member(b, "alignment", dmarc_align_name(d->spf_align));
	buf_puts(b, "},\"dkim\":[");
	for (size_t i = 0; i < d->n_dkim; i++) {
		buf_puts(b, i > 0 ? ",{" : "{");
		json_put_member(b, "domain", d->dkim[i].domain);
		buf_putc(b, ',');
		json_put_member(b, "selector", d->dkim[i].selector);
		buf_putc(b, ',');
		json_put_member(b, "result", d->dkim[i].result);
		buf_putc(b, ',');
		json_put_member(b, "alignment", dmarc_align_name(d->dkim[i].align));
		buf_putc(b, '}');
	}
	buf_puts(b, "],\"records\":[");
	bool any = false;
	for (size_t i = 0; i < d->n_seen; i++) {
		const struct dmarc_seen *s = &d->seen[i];
		for (size_t t = 0; t < s->n_txt || (t == 0 && s->n_txt == 0); t++) {
			buf_puts(b, any ? ",{" : "{");
			any = true;
			json_put_member(b, "name", s->domain);
			buf_putc(b, ',');
			member_raw(b, "asked", s->asked ? "true" : "false");
			buf_putc(b, ',');
			json_put_member(b, "lookup", s->asked ? dns_status_name(s->status) : NULL);
			buf_putc(b, ',');
			const char *txt = s->n_txt > 0 ? s->txt[t] : NULL;
			json_put_member(b, "txt", txt);
			buf_putc(b, ',');
			json_put_member(b, "not_dmarc",
					txt != NULL ? dmarc_record_why_not(txt, strlen(txt)) : NULL);
			buf_putc(b, '}');
		}
	}
	buf_puts(b, "]}");
}

void explain_put_json(struct buf *b, struct msg *m, const struct explain_envelope *env)
{
	buf_puts(b, ",\"envelope\":{");
	json_put_member(b, "client_ip", m->conn->client_ip);
	buf_putc(b, ',');
	json_put_member(b, "helo", m->conn->helo);
	buf_putc(b, ',');
	json_put_member(b, "mail_from", m->mail_from_raw);
	buf_putc(b, ',');
	json_put_member(b, "source", env->rx != NULL ? "received" : "options");
	buf_printf(b, ",\"clock\":%lld,", (long long)m->now);
	bool from_date = env->rx != NULL && env->rx->clock_from_date;
	json_put_member(b, "clock_source", from_date ? "received" : "run");
	buf_puts(b, "},\"explain\":{\"spf\":{");
	const struct spf_result *spf = spf_result_of(m);
	json_spf_identity(b, "mfrom", m->mail_from_raw, spf != NULL ? spf->mfrom : NULL);
	buf_putc(b, ',');
	json_spf_identity(b, "helo", m->conn->helo, spf != NULL ? spf->helo : NULL);
	buf_puts(b, "},\"dkim\":[");
	const struct dkim_verify_result *dk = dkim_verify_result_of(m);
	for (size_t i = 0; dk != NULL && i < dk->n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		json_dkim_sig(b, &dk->sigs[i]);
	}
	buf_puts(b, "],");
	json_dmarc(b, dmarc_result_of(m));
	buf_putc(b, '}');
}
