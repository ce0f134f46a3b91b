/*
 * The message pipeline: connection and message contexts, the stage hooks of
 * the check table, header limits, and the end-of-message verdict.  See
 * pipeline.h.  Nothing here knows libmilter.
 */
#include "pipeline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "ar.h"
#include "check.h"
#include "log.h"
#include "xalloc.h"

#define AR_NAME "Authentication-Results"

/* Per-message bookkeeping the checks do not see. */
struct msg_private {
	bool *active;		/* per check: its hooks run for this message */
	bool *begun;		/* per check: msg_end must run (even after a failure) */
	size_t ar_seen;		/* Authentication-Results fields so far */
	size_t *forged;		/* their 1-based indices that carry our id */
	size_t n_forged, forged_cap;
	struct eom_result result;
};

static struct msg_private *priv(const struct msg *m)
{
	return (struct msg_private *)m->check_state[m->conn->rt->n_checks];
}

static const struct config *cfg_of(const struct msg *m)
{
	return m->conn->rt->cfg;
}

struct conn *pipeline_conn_new_text(struct runtime *rt, const char *hostname, const char *ip)
{
	struct arena *a = arena_new();
	struct conn *c = arena_alloc(a, sizeof(*c));
	c->arena = a;
	c->rt = runtime_ref(rt);
	c->client_ip = arena_strdup(a, ip != NULL ? ip : "");
	c->client_host = hostname != NULL ? arena_strdup(a, hostname)
					  : "unknown";
	c->internal = netlist_match_text(rt->cfg->internal_hosts, ip, hostname);
	return c;
}

struct conn *pipeline_conn_new(struct runtime *rt, const char *hostname,
			       const struct sockaddr *addr)
{
	char ip[INET6_ADDRSTRLEN] = "";
	if (addr != NULL && addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr,
			  ip, sizeof(ip));
	else if (addr != NULL && addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr,
			  ip, sizeof(ip));
	return pipeline_conn_new_text(rt, hostname, ip[0] != '\0' ? ip : NULL);
}

void pipeline_conn_free(struct conn **cp)
{
	struct conn *c = *cp;
	if (c == NULL)
		return;
	pipeline_msg_end(c);
	runtime_unref(&c->rt);
	*cp = NULL;
	struct arena *a = c->arena; /* c itself lives in it */
	arena_free(&a);
}

void pipeline_helo(struct conn *c, const char *helo)
{
	c->helo = helo != NULL ? arena_strdup(c->arena, helo) : NULL;
}

/* Marks an internal error of check i; OnInternalError applies at EOM. */
static void check_failed(struct msg *m, size_t i, const char *stage)
{
	const struct check *ck = m->conn->rt->checks[i];
	log_msg(LOG_ERR, m->qid, "check %s failed at %s; it takes no further part", ck->name,
		stage);
	priv(m)->active[i] = false;
	m->verdict.internal_error = true;
}

struct msg *pipeline_msg_begin(struct conn *c, const char *mail_from, const char *auth_user)
{
	pipeline_msg_end(c);
	struct arena *a = arena_new();
	struct msg *m = arena_alloc(a, sizeof(*m));
	const struct runtime *rt = c->rt;
	m->arena = a;
	m->conn = c;
	m->qid = "NOQUEUE";
	m->now = time(NULL);
	m->auth_user = auth_user != NULL && auth_user[0] != '\0' ? arena_strdup(a, auth_user) : NULL;
	m->internal = c->internal || m->auth_user != NULL;
	m->mail_from_raw = arena_strdup(a, mail_from != NULL ? mail_from : "");
	const char *err = NULL;
	m->mail_from_valid = addr_parse_path(a, m->mail_from_raw, &m->mail_from, &err) == 0;
	m->check_state = arena_alloc_array(a, rt->n_checks + 1, sizeof(void *));
	struct msg_private *p = arena_alloc(a, sizeof(*p));
	p->active = arena_alloc_array(a, rt->n_checks + 1, sizeof(bool));
	p->begun = arena_alloc_array(a, rt->n_checks + 1, sizeof(bool));
	m->check_state[rt->n_checks] = p;
	c->msg = m;
	c->messages++;

	for (size_t i = 0; i < rt->n_checks; i++) {
		const struct check *ck = rt->checks[i];
		if (ck->enabled != NULL && !ck->enabled(rt->cfg))
			continue;
		int r = ck->msg_begin != NULL ? ck->msg_begin(m, &m->check_state[i]) : 1;
		p->active[i] = r == 1;
		p->begun[i] = r != 0;
		if (r < 0)
			check_failed(m, i, "MAIL FROM");
	}
	return m;
}

void pipeline_msg_set_qid(struct msg *m, const char *qid)
{
	if (qid != NULL && qid[0] != '\0')
		m->qid = arena_strdup(m->arena, qid);
}

void pipeline_rcpt(struct msg *m, const char *rcpt)
{
	if (m->n_rcpts == m->rcpts_cap) {
		size_t cap = m->rcpts_cap ? m->rcpts_cap * 2 : 4;
		const char **n = arena_alloc_array(m->arena, cap, sizeof(*n));
		if (m->n_rcpts > 0)
			memcpy(n, m->rcpts, m->n_rcpts * sizeof(*n));
		m->rcpts = n;
		m->rcpts_cap = cap;
	}
	m->rcpts[m->n_rcpts++] = arena_strdup(m->arena, rcpt != NULL ? rcpt : "");
}

/* The longest physical line of a folded value. */
static size_t longest_line(const char *v, size_t len)
{
	size_t longest = 0, cur = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\n') {
			cur = 0;
			continue;
		}
		if (++cur > longest)
			longest = cur;
	}
	return longest;
}

static enum hdr_error header_over_limit(const struct msg *m, size_t name_len,
					const char *value, size_t value_len)
{
	const struct config *cfg = cfg_of(m);
	size_t field = name_len + 1 + value_len;
	if (m->header_fields_seen > cfg->max_header_count)
		return HDR_ERR_COUNT;
	if (field > cfg->max_header_size)
		return HDR_ERR_FIELD;
	if (m->header_bytes_seen > cfg->max_header_block)
		return HDR_ERR_BLOCK;
	/* the name and colon share the first line */
	if (longest_line(value, value_len) + name_len + 1 > cfg->max_line_length)
		return HDR_ERR_LINE;
	return HDR_OK;
}

/* Copies a value, turning each bare LF into CRLF (what DKIM canonicalises). */
static char *copy_crlf(struct arena *a, const char *v, size_t len, size_t *len_r)
{
	size_t extra = 0;
	for (size_t i = 0; i < len; i++)
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			extra++;
	char *out = arena_alloc(a, len + extra + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = v[i];
	}
	*len_r = o;
	return out;
}

static void note_ar_field(struct msg *m, const char *value, size_t len)
{
	struct msg_private *p = priv(m);
	p->ar_seen++;
	if (!ar_authserv_id_is(value, len, cfg_of(m)->authserv_id))
		return;
	if (p->n_forged == p->forged_cap) {
		size_t cap = p->forged_cap ? p->forged_cap * 2 : 4;
		size_t *n = arena_alloc_array(m->arena, cap, sizeof(*n));
		if (p->n_forged > 0)
			memcpy(n, p->forged, p->n_forged * sizeof(*n));
		p->forged = n;
		p->forged_cap = cap;
	}
	p->forged[p->n_forged++] = p->ar_seen;
}

static void store_header(struct msg *m, struct msg_header *h)
{
	if (m->n_headers == m->headers_cap) {
		size_t cap = m->headers_cap ? m->headers_cap * 2 : 32;
		struct msg_header *n = arena_alloc_array(m->arena, cap, sizeof(*n));
		if (m->n_headers > 0)
			memcpy(n, m->headers, m->n_headers * sizeof(*n));
		m->headers = n;
		m->headers_cap = cap;
	}
	m->headers[m->n_headers++] = *h;
}

void pipeline_header(struct msg *m, const char *name, const char *value, size_t value_len)
{
	size_t name_len = strlen(name);
	m->header_fields_seen++;
	m->header_bytes_seen += name_len + 1 + value_len + 2;
	/*
	 * Forged Authentication-Results fields are tracked whatever the limits
	 * say, so none can hide past them (RFC 8601 5).
	 */
	if (strcasecmp(name, AR_NAME) == 0)
		note_ar_field(m, value, value_len);
	if (m->header_limit != HDR_OK)
		return;
	m->header_limit = header_over_limit(m, name_len, value, value_len);
	if (m->header_limit != HDR_OK) {
		log_msg(LOG_WARNING, m->qid, "header over limit: %s (at field %zu, %s)",
			hdr_error_text(m->header_limit), m->header_fields_seen, name);
		return;
	}
	struct msg_header h;
	h.name = arena_strdup(m->arena, name);
	h.value = copy_crlf(m->arena, value, value_len, &h.value_len);
	store_header(m, &h);

	const struct runtime *rt = m->conn->rt;
	for (size_t i = 0; i < rt->n_checks; i++)
		if (priv(m)->active[i] && rt->checks[i]->header != NULL &&
		    rt->checks[i]->header(m, m->check_state[i], &h) < 0)
			check_failed(m, i, "header");
}

void pipeline_eoh(struct msg *m)
{
	const struct runtime *rt = m->conn->rt;
	m->eoh_done = true;
	if (m->header_limit != HDR_OK)
		return;
	for (size_t i = 0; i < rt->n_checks; i++)
		if (priv(m)->active[i] && rt->checks[i]->eoh != NULL &&
		    rt->checks[i]->eoh(m, m->check_state[i]) < 0)
			check_failed(m, i, "end of header");
}

void pipeline_body(struct msg *m, const uint8_t *data, size_t len)
{
	const struct runtime *rt = m->conn->rt;
	m->body_bytes += len;
	if (m->header_limit != HDR_OK)
		return;
	for (size_t i = 0; i < rt->n_checks; i++)
		if (priv(m)->active[i] && rt->checks[i]->body != NULL &&
		    rt->checks[i]->body(m, m->check_state[i], data, len) < 0)
			check_failed(m, i, "body");
}

void pipeline_header_limit(struct msg *m, enum hdr_error e)
{
	if (m->header_limit != HDR_OK || e == HDR_OK)
		return;
	m->header_limit = e;
	log_msg(LOG_WARNING, m->qid, "header over limit: %s (after field %zu)",
		hdr_error_text(e), m->header_fields_seen);
}

bool pipeline_over_limit(const struct msg *m)
{
	return m->header_limit != HDR_OK;
}

bool pipeline_wants_body(const struct runtime *rt)
{
	for (size_t i = 0; i < rt->n_checks; i++)
		if (rt->checks[i]->body != NULL &&
		    (rt->checks[i]->enabled == NULL || rt->checks[i]->enabled(rt->cfg)))
			return true;
	return false;
}

/* OnHeaderLimit: the whole header could not be read within the limits. */
static void apply_header_limit(struct msg *m)
{
	const char *what = hdr_error_text(m->header_limit);
	char *text = arena_printf(m->arena, "message header exceeds limits: %s", what);
	switch (cfg_of(m)->on_header_limit) {
	case ON_ERROR_REJECT:
		verdict_propose(m->arena, &m->verdict, ACTION_REJECT, "limits", "552", "5.3.4", text);
		break;
	case ON_ERROR_TEMPFAIL:
		verdict_propose(m->arena, &m->verdict, ACTION_TEMPFAIL, "limits", "452", "4.3.4", text);
		break;
	case ON_ERROR_ACCEPT:
		break;
	}
}

static void apply_internal_error(struct msg *m)
{
	if (cfg_of(m)->on_internal_error == ON_ERROR_TEMPFAIL)
		verdict_propose(m->arena, &m->verdict, ACTION_TEMPFAIL, "internal", "451", "4.3.0",
				"internal error in the mail filter, try again later");
	else
		log_msg(LOG_WARNING, m->qid, "internal error; accepting as OnInternalError says");
}

static void add_edit(struct msg *m, struct header_edit *edits, enum edit_op op,
		     const char *name, const char *value, size_t index)
{
	struct eom_result *r = &priv(m)->result;
	struct header_edit *e = &edits[r->n_edits++];
	e->op = op;
	e->name = name;
	e->value = value;
	e->index = index;
}

/*
 * The header edits: forged fields deleted last-first so each index still
 * names the field it named when counted, then the checks' own changes,
 * then ours inserted at the top, above everything (inserting it before the
 * deletions would shift every index by one).
 */
static void build_edits(struct msg *m)
{
	struct msg_private *p = priv(m);
	struct eom_result *r = &p->result;
	const struct verdict *v = &m->verdict;
	struct header_edit *edits =
		arena_alloc_array(m->arena, p->n_forged + v->n_edits + 1, sizeof(*edits));
	r->edits = edits;
	for (size_t i = p->n_forged; i > 0; i--)
		add_edit(m, edits, EDIT_DELETE, AR_NAME, NULL, p->forged[i - 1]);
	for (size_t i = 0; i < v->n_edits; i++)
		add_edit(m, edits, v->edits[i].op, v->edits[i].name, v->edits[i].value,
			 v->edits[i].index);
	add_edit(m, edits, EDIT_INSERT, AR_NAME, r->ar_value, 0);
}

static void log_verdict(const struct msg *m, const struct eom_result *r)
{
	const struct conn *c = m->conn;
	log_msg(LOG_INFO, m->qid,
		"from=<%s%s%s> client=%s[%s] origin=%s action=%s%s%s ar=\"%s\"",
		m->mail_from.local != NULL ? m->mail_from.local : "",
		m->mail_from.domain != NULL && m->mail_from.domain[0] != '\0' ? "@" : "",
		m->mail_from.domain != NULL ? m->mail_from.domain : "", c->client_host,
		c->client_ip, m->internal ? "internal" : "external", action_name(r->action),
		m->verdict.action_by != NULL ? " by=" : "",
		m->verdict.action_by != NULL ? m->verdict.action_by : "",
		r->ar_value);
}

const struct eom_result *pipeline_eom(struct msg *m)
{
	const struct runtime *rt = m->conn->rt;
	struct eom_result *r = &priv(m)->result;
	if (m->header_limit != HDR_OK)
		apply_header_limit(m);
	if (m->verdict.action != ACTION_REJECT) {
		for (size_t i = 0; i < rt->n_checks; i++)
			if (priv(m)->active[i] && rt->checks[i]->eom != NULL &&
			    rt->checks[i]->eom(m, m->check_state[i]) < 0)
				check_failed(m, i, "end of message");
	}
	if (m->verdict.internal_error)
		apply_internal_error(m);
	r->action = m->verdict.action;
	r->smtp_code = m->verdict.smtp_code;
	r->smtp_xcode = m->verdict.smtp_xcode;
	r->smtp_text = m->verdict.smtp_text;
	r->ar_value = verdict_ar_value(m->arena, cfg_of(m)->authserv_id, &m->verdict);
	/* a message that will not be delivered needs no header changes */
	if (r->action == ACTION_ACCEPT || r->action == ACTION_QUARANTINE)
		build_edits(m);
	log_verdict(m, r);
	return r;
}

void pipeline_msg_end(struct conn *c)
{
	struct msg *m = c->msg;
	if (m == NULL)
		return;
	const struct runtime *rt = c->rt;
	for (size_t i = 0; i < rt->n_checks; i++)
		if (priv(m)->begun[i] && rt->checks[i]->msg_end != NULL)
			rt->checks[i]->msg_end(m, m->check_state[i]);
	c->msg = NULL;
	struct arena *a = m->arena; /* m itself lives in it */
	arena_free(&a);
}
