/*
 * `cachet check --from-received`: for a message saved from a webmail's
 * "show original", the envelope another receiver saw, read from the trace
 * fields it added (the topmost Received field whose `by` is that receiver,
 * the topmost Return-Path), and the Authentication-Results it wrote set
 * beside ours, each difference with its likely cause, from the typed
 * reasons of our checks (a body changed since, a key gone or rotated, DNS
 * then and now).  Their field is read with ar_parse, ours is never read
 * back from text.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "explain.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "header.h"
#include "json.h"
#include "spf.h"
#include "spf_dns.h"

/* Header fields looked at (the header limits keep real ones far fewer). */
#define RX_MAX_FIELDS 10000

struct field {
	const char *name, *value;	/* value as read: folds kept */
	size_t name_len, value_len;
};

struct collect {
	struct arena *a;
	struct field *v;
	size_t n;
};

static bool on_field(void *ctx, const char *name, size_t name_len, const char *value,
		     size_t value_len)
{
	struct collect *c = ctx;
	if (c->n == RX_MAX_FIELDS)
		return false;
	c->v[c->n++] = (struct field){ arena_memdup(c->a, name, name_len),
				       arena_memdup(c->a, value, value_len), name_len, value_len };
	return true;
}

static bool on_eoh(void *ctx)
{
	(void)ctx;
	return false;	/* the body is not ours to read here */
}

static bool is_named(const struct field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

/* The first 60 bytes of a value, unfolded, for an error. */
static const char *excerpt(struct arena *a, const struct field *f)
{
	size_t n;
	char *s = hdr_unfold(a, f->value, f->value_len, &n);
	if (n > 60)
		return arena_printf(a, "%.57s...", s);
	return s;
}

/* Return-Path: <addr> (RFC 5322 3.6.7): the address, "" for <>; NULL if unreadable. */
static const char *return_path(struct arena *a, const struct field *f)
{
	size_t n;
	char *s = hdr_unfold(a, f->value, f->value_len, &n);
	char *lt = strchr(s, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;
	if (lt == NULL || gt == NULL)
		return n > 0 && strchr(s, ' ') == NULL ? s : NULL;
	*gt = '\0';
	return lt + 1;
}

/* Runs of white space as one space (a field unfolded keeps its indents). */
static char *squeeze(char *s)
{
	char *w = s;
	for (const char *r = s; *r != '\0'; r++)
		if (!((*r == ' ' || *r == '\t') && w > s && w[-1] == ' '))
			*w++ = *r == '\t' ? ' ' : *r;
	*w = '\0';
	return s;
}

/* With no receiver named: the authserv-id of the topmost field that reads. */
static const char *first_authserv_id(struct arena *a, const struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct ar_field f;
		const char *error;
		if (is_named(&c->v[i], "Authentication-Results") &&
		    ar_parse(a, c->v[i].value, c->v[i].value_len, false, &f, &error) == 0)
			return f.authserv_id;
	}
	return NULL;
}

int rx_read(struct arena *a, const uint8_t *p, size_t n, const char *receiver_id,
	    struct rx_source *src, const char **error_r, int *status_r)
{
	memset(src, 0, sizeof(*src));
	struct collect c = { a, arena_alloc_array(a, RX_MAX_FIELDS, sizeof(struct field)), 0 };
	static const struct hdr_callbacks cb = { .field = on_field, .end_of_header = on_eoh };
	struct hdr_reader *r = hdr_reader_new(&hdr_limits_default, &cb, &c);
	enum hdr_error e = hdr_reader_feed(r, p, n);
	if (e == HDR_OK)
		e = hdr_reader_finish(r);
	hdr_reader_free(&r);
	*status_r = 1;
	if (e != HDR_OK) {
		*error_r = arena_printf(a, "the message's header: %s", hdr_error_text(e));
		return -1;
	}
	src->receiver_id = receiver_id != NULL ? receiver_id : first_authserv_id(a, &c);
	/* topmost first: each receiver adds its fields on top (RFC 5321 4.4) */
	for (size_t i = 0; i < c.n && src->received_field == 0; i++) {
		if (!is_named(&c.v[i], "Received"))
			continue;
		struct received rcv;
		const char *error;
		if (received_parse(a, c.v[i].value, c.v[i].value_len, &rcv, &error) < 0) {
			*error_r = arena_printf(a, "the Received field at header field %zu does not "
						"parse (%s): %s", i + 1, error, excerpt(a, &c.v[i]));
			return -1;
		}
		bool by_it = src->receiver_id != NULL
				     ? rcv.by != NULL && received_host_is(rcv.by, src->receiver_id)
				     : rcv.by != NULL && rcv.from != NULL;
		if (!by_it || (rcv.from == NULL && rcv.ip == NULL))
			continue;
		src->received_field = i + 1;
		src->rcv = rcv;
		if (src->receiver_id == NULL)
			src->receiver_id = rcv.by;
	}
	if (src->received_field == 0) {
		*status_r = 2;
		*error_r = src->receiver_id != NULL
				   ? arena_printf(a, "no Received field added by %s (with \"by %s\" "
						  "and a from clause) in the message's header",
						  src->receiver_id, src->receiver_id)
				   : "no Received field with a from and a by clause in the message's "
				     "header";
		return -1;
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct field *f = &c.v[i];
		if (src->mail_from == NULL && is_named(f, "Return-Path"))
			src->mail_from = return_path(a, f);
		if (src->have_ar || !is_named(f, "Authentication-Results") ||
		    !ar_authserv_id_is(f->value, f->value_len, src->receiver_id))
			continue;
		const char *error;
		src->ar_field = i + 1;
		src->ar_text = squeeze(hdr_unfold(a, f->value, f->value_len, NULL));
		if (ar_parse(a, f->value, f->value_len, false, &src->theirs, &error) == 0)
			src->have_ar = true;
		else
			src->ar_error = error;
	}
	return 0;
}

/* ---- their results beside ours ---- */

const char *rx_diff_name(enum rx_diff d)
{
	static const char *const names[] = {
		[RX_SAME] = "same", [RX_THEIRS_ONLY] = "theirs only", [RX_OURS_ONLY] = "ours only",
		[RX_BODY_CHANGED] = "body changed", [RX_HEADER_CHANGED] = "header changed",
		[RX_KEY_GONE] = "key gone", [RX_KEY_CHANGED] = "key changed",
		[RX_KEY_TEMP] = "key lookup failed", [RX_EXPIRED] = "expired since",
		[RX_SPF_DNS] = "spf dns", [RX_FOLLOWS] = "follows", [RX_DMARC_DNS] = "dmarc dns",
		[RX_DIFFERENT] = "different",
	};
	return (size_t)d < ARRAY_LEN(names) ? names[d] : "different";
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* A DKIM result of theirs against our signature s (NULL: not found now). */
static void dkim_row(struct arena *a, struct rx_row *row, const struct dkim_sig_result *s)
{
	if (s == NULL) {
		row->diff = RX_DIFFERENT;
		row->why = "no such DKIM-Signature field in the message now: removed since?";
		return;
	}
	row->ours = s->result;
	if (same(row->theirs, row->ours)) {
		row->diff = RX_SAME;
		return;
	}
	const struct dkim_sig_explain *x = s->explain;
	const char *key = x != NULL && x->key_name != NULL ? x->key_name : "its key name";
	if (!same(row->theirs, "pass")) {
		row->diff = RX_DIFFERENT;
		row->why = strcmp(row->ours, "pass") == 0
				   ? "it verifies now: a key published since, or a temporary "
				     "failure on their side"
				   : "both failed, for reasons of their own";
		return;
	}
	switch (x != NULL ? x->why : DKIM_WHY_INTERNAL) {
	case DKIM_WHY_BODY_CHANGED:
		row->diff = RX_BODY_CHANGED;
		row->why = "body changed — the message was altered after they received it, or "
			   "saved with a different line ending";
		return;
	case DKIM_WHY_HEADER_CHANGED:
		row->diff = RX_HEADER_CHANGED;
		row->why = "a signed header field changed — altered after they received it";
		return;
	case DKIM_WHY_NO_KEY:
		row->diff = RX_KEY_GONE;
		row->why = arena_printf(a, "they had DNS at that time; key not found now at %s "
					"(removed since, after a rotation?)", key);
		return;
	case DKIM_WHY_KEY_MISMATCH:
	case DKIM_WHY_KEY_SYNTAX:
	case DKIM_WHY_KEY_UNFIT:
		row->diff = RX_KEY_CHANGED;
		row->why = arena_printf(a, "the record at %s is not the key they used: "
					"rotated since they checked?", key);
		return;
	case DKIM_WHY_KEY_TEMP:
		row->diff = RX_KEY_TEMP;
		row->why = arena_printf(a, "our lookup of %s failed temporarily", key);
		return;
	case DKIM_WHY_TIME:
		row->diff = RX_EXPIRED;
		row->why = "the signature has expired (x=) since they checked it";
		return;
	default:
		row->diff = RX_DIFFERENT;
		row->why = s->reason != NULL ? s->reason : "we cannot tell why";
	}
}

/* Our signature matching their header.d (or header.i's domain) and header.s. */
static const struct dkim_sig_result *find_sig(const struct dkim_verify_result *dk,
					      const struct ar_resinfo *r, bool *used)
{
	const char *d = ar_resinfo_prop(r, "header.d");
	const char *i = ar_resinfo_prop(r, "header.i");
	const char *sel = ar_resinfo_prop(r, "header.s");
	if (d == NULL && i != NULL)
		d = strchr(i, '@') != NULL ? strchr(i, '@') + 1 : i;
	for (size_t k = 0; dk != NULL && k < dk->n; k++) {
		const struct dkim_sig_result *s = &dk->sigs[k];
		if (used[k] || s->domain == NULL)
			continue;
		/* header.i may name a subdomain of d= (RFC 6376 3.5 i=) */
		size_t ld = d != NULL ? strlen(d) : 0, ls = strlen(s->domain);
		bool dom = d == NULL || strcasecmp(d, s->domain) == 0 ||
			   (ld > ls && d[ld - ls - 1] == '.' && strcasecmp(d + ld - ls, s->domain) == 0);
		if (dom && (sel == NULL || same(sel, s->selector))) {
			used[k] = true;
			return s;
		}
	}
	return NULL;
}

static bool differs(enum rx_diff d)
{
	return d != RX_SAME && d != RX_THEIRS_ONLY && d != RX_OURS_ONLY;
}

/* Our result for a method we have no typed result for (arc, ...), from the verdict. */
static const char *our_other(const struct msg *m, const char *method)
{
	for (size_t i = 0; i < m->verdict.results.n; i++)
		if (strcmp(m->verdict.results.v[i].method, method) == 0)
			return m->verdict.results.v[i].result;
	return NULL;
}

size_t rx_compare(struct msg *m, const struct rx_source *src, struct rx_row **rows_r)
{
	const struct dkim_verify_result *dk = dkim_verify_result_of(m);
	const struct spf_result *spf = spf_result_of(m);
	const struct dmarc_result *dm = dmarc_result_of(m);
	size_t n_ours = dk != NULL ? dk->n : 0;
	size_t cap = src->theirs.n + n_ours + 1, n = 0;
	struct rx_row *rows = arena_alloc_array(m->arena, cap, sizeof(*rows));
	bool *used = arena_alloc_array(m->arena, n_ours + 1, sizeof(*used));
	bool spf_or_dkim_differ = false;
	struct rx_row *dmarc_rows[AR_MAX_RESULTS];
	size_t n_dmarc = 0;
	for (size_t i = 0; i < src->theirs.n; i++) {
		const struct ar_resinfo *r = &src->theirs.res[i];
		struct rx_row *row = &rows[n++];
		row->method = r->method;
		row->theirs = r->result;
		if (strcmp(r->method, "dkim") == 0) {
			const struct dkim_sig_result *s = find_sig(dk, r, used);
			const char *d = s != NULL ? s->domain : ar_resinfo_prop(r, "header.d");
			if (d == NULL)
				d = ar_resinfo_prop(r, "header.i");
			row->what = arena_printf(m->arena, "d=%s s=%s", d != NULL ? d : "?",
						 s != NULL && s->selector != NULL ? s->selector
						 : ar_resinfo_prop(r, "header.s") != NULL
							 ? ar_resinfo_prop(r, "header.s") : "?");
			dkim_row(m->arena, row, s);
		} else if (strcmp(r->method, "spf") == 0) {
			bool helo = ar_resinfo_prop(r, "smtp.mailfrom") == NULL &&
				    ar_resinfo_prop(r, "smtp.helo") != NULL;
			const struct spf_identity_result *o =
				spf == NULL ? NULL : helo ? spf->helo : spf->mfrom;
			row->what = helo ? arena_printf(m->arena, "HELO %s", m->conn->helo)
					 : arena_printf(m->arena, "MAIL FROM <%s>", m->mail_from_raw);
			row->ours = o != NULL ? o->result : NULL;
			if (same(row->theirs, row->ours)) {
				row->diff = RX_SAME;
			} else {
				row->diff = RX_SPF_DNS;
				const struct spf_explain *x = o != NULL ? o->explain : NULL;
				const char *now = x != NULL && x->n_steps > 0 && x->step[0].record != NULL
							  ? x->step[0].record : NULL;
				row->why = arena_printf(m->arena, "the same client and envelope: their "
							"DNS at that time, ours now (the record now: %s)",
							now != NULL ? arena_printf(m->arena, "\"%s\"", now)
								    : "none");
			}
		} else if (strcmp(r->method, "dmarc") == 0) {
			row->what = dm != NULL && dm->header_from != NULL
					    ? arena_printf(m->arena, "From %s", dm->header_from) : NULL;
			row->ours = dm != NULL ? dm->result : NULL;
			row->diff = same(row->theirs, row->ours) ? RX_SAME : RX_DMARC_DNS;
			if (row->diff != RX_SAME && n_dmarc < ARRAY_LEN(dmarc_rows))
				dmarc_rows[n_dmarc++] = row;
		} else {
			row->ours = our_other(m, r->method);
			row->diff = row->ours == NULL		  ? RX_THEIRS_ONLY
				    : same(row->theirs, row->ours) ? RX_SAME : RX_DIFFERENT;
			if (row->diff == RX_THEIRS_ONLY)
				row->why = "a method cachet does not check here";
		}
		if ((strcmp(r->method, "dkim") == 0 || strcmp(r->method, "spf") == 0) &&
		    differs(row->diff))
			spf_or_dkim_differ = true;
	}
	for (size_t i = 0; i < n_dmarc; i++) {
		struct rx_row *row = dmarc_rows[i];
		if (spf_or_dkim_differ) {
			row->diff = RX_FOLLOWS;
			row->why = "follows from the SPF or DKIM difference above";
		} else {
			row->why = "the same SPF and DKIM results: the DMARC record then and now";
		}
	}
	for (size_t k = 0; k < n_ours; k++) {
		if (used[k])
			continue;
		const struct dkim_sig_result *s = &dk->sigs[k];
		rows[n++] = (struct rx_row){
			.method = "dkim", .ours = s->result, .diff = RX_OURS_ONLY,
			.what = arena_printf(m->arena, "d=%s s=%s", s->domain ? s->domain : "?",
					     s->selector ? s->selector : "?"),
			.why = "they do not mention this signature",
		};
	}
	*rows_r = rows;
	return n;
}

/* ---- output ---- */

void rx_print_text(struct msg *m, const struct rx_source *src)
{
	printf("7. Their Authentication-Results beside ours\n");
	if (!src->have_ar) {
		if (src->ar_text != NULL)
			printf("   theirs (header field %zu) does not read: %s\n      %s\n",
			       src->ar_field, src->ar_error, src->ar_text);
		else
			printf("   %s wrote no Authentication-Results field\n", src->receiver_id);
		return;
	}
	printf("   theirs (header field %zu): %s\n", src->ar_field, src->ar_text);
	struct rx_row *rows;
	size_t n = rx_compare(m, src, &rows);
	for (size_t i = 0; i < n; i++) {
		const struct rx_row *r = &rows[i];
		printf("   %-5s %s: ", r->method, r->what != NULL ? r->what : "");
		if (r->diff == RX_SAME)
			printf("both say %s\n", r->ours);
		else if (r->theirs == NULL)
			printf("we say %s=%s\n", r->method, r->ours);
		else if (r->ours == NULL)
			printf("they say %s=%s\n", r->method, r->theirs);
		else
			printf("they say %s=%s, we say %s=%s\n", r->method, r->theirs, r->method,
			       r->ours);
		if (r->why != NULL)
			printf("         %s\n", r->why);
	}
}

void rx_put_json(struct buf *b, struct msg *m, const struct rx_source *src)
{
	buf_puts(b, ",\"received\":{");
	json_put_member(b, "receiver_id", src->receiver_id);
	buf_printf(b, ",\"received_field\":%zu,", src->received_field);
	json_put_member(b, "client_ip", src->rcv.ip);
	buf_putc(b, ',');
	json_put_member(b, "helo", src->rcv.helo);
	buf_putc(b, ',');
	json_put_member(b, "rdns", src->rcv.rdns);
	buf_putc(b, ',');
	json_put_member(b, "mail_from", src->mail_from);
	buf_putc(b, ',');
	json_put_member(b, "by", src->rcv.by);
	buf_putc(b, ',');
	json_put_member(b, "date", src->rcv.date);
	buf_putc(b, ',');
	json_put_member(b, "their_authentication_results", src->ar_text);
	buf_putc(b, ',');
	json_put_member(b, "their_error", src->ar_error);
	buf_puts(b, ",\"comparison\":[");
	struct rx_row *rows = NULL;
	size_t n = src->have_ar ? rx_compare(m, src, &rows) : 0;
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, i > 0 ? ",{" : "{");
		json_put_member(b, "method", rows[i].method);
		buf_putc(b, ',');
		json_put_member(b, "identifier", rows[i].what);
		buf_putc(b, ',');
		json_put_member(b, "theirs", rows[i].theirs);
		buf_putc(b, ',');
		json_put_member(b, "ours", rows[i].ours);
		buf_putc(b, ',');
		json_put_member(b, "difference", rx_diff_name(rows[i].diff));
		buf_putc(b, ',');
		json_put_member(b, "why", rows[i].why);
		buf_putc(b, '}');
	}
	buf_puts(b, "]}");
}
