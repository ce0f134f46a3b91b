/*
 * The message pipeline: connection and message contexts, the stage hooks of
 * the enabled checks, header limits, the spool, and the end of message in
 * its phases (decide, final verdict, seal).  See pipeline.h.  Nothing here
 * knows libmilter.
 */
#include "pipeline.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ar.h"
#include "log.h"
#include "xalloc.h"

#define AR_NAME "Authentication-Results"

/* Per-message bookkeeping the checks do not see. */
struct msg_private {
	bool *active;		/* per check: its hooks run for this message */
	bool *begun;		/* per check: msg_end must run (even after a failure) */
	size_t ar_seen;		/* Authentication-Results fields so far */
	ARRAY(size_t) forged;	/* their 1-based indices that carry our id */
	struct spool *spool;	/* when a check wants the whole message */
	bool spool_failed;
	bool sealing;		/* in the seal phase */
	bool late_header;	/* a header field came after end of header */
	bool ended;		/* pipeline_eom ran */
	struct msg_headers final;	/* pipeline_final_header()'s view */
	size_t final_edits;	/* verdict edits the view includes */
	struct eom_result result;
};

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
	log_msg(LOG_ERR, m->qid, "check %s failed at %s; it takes no further part",
		m->rt->checks[i].ck->name, stage);
	m->priv->active[i] = false;
	m->verdict.internal_error = true;
}

/* The check at i, when its hook h (a member of struct check) is to run. */
#define HOOK(m, i, h) ((m)->priv->active[i] ? (m)->rt->checks[i].ck->h : NULL)

static void begin_checks(struct msg *m)
{
	const struct runtime *rt = m->rt;
	for (size_t i = 0; i < rt->n_checks; i++) {
		const struct runtime_check *rc = &rt->checks[i];
		m->cx[i].opts = rc->opts;
		m->cx[i].data = rc->data;
		int r = rc->ck->msg_begin != NULL ? rc->ck->msg_begin(m, &m->cx[i]) : 1;
		m->priv->active[i] = r == 1;
		m->priv->begun[i] = r != 0;
		if (r < 0)
			check_failed(m, i, "MAIL FROM");
	}
}

struct msg *pipeline_msg_begin(struct conn *c, const char *mail_from, const char *auth_user)
{
	pipeline_msg_end(c);
	struct arena *a = arena_new();
	struct msg *m = arena_alloc(a, sizeof(*m));
	const struct runtime *rt = c->rt;
	m->arena = a;
	m->conn = c;
	m->rt = rt;
	m->cfg = rt->cfg;
	m->qid = "NOQUEUE";
	m->now = time(NULL);
	m->auth_user = auth_user != NULL && auth_user[0] != '\0' ? arena_strdup(a, auth_user) : NULL;
	m->internal = c->internal || m->auth_user != NULL;
	m->mail_from_raw = arena_strdup(a, mail_from != NULL ? mail_from : "");
	const char *err = NULL;
	m->mail_from_valid = addr_parse_path(a, m->mail_from_raw, &m->mail_from, &err) == 0;
	m->cx = arena_alloc_array(a, rt->n_checks + 1, sizeof(*m->cx));
	m->priv = arena_alloc(a, sizeof(*m->priv));
	m->priv->active = arena_alloc_array(a, rt->n_checks + 1, sizeof(bool));
	m->priv->begun = arena_alloc_array(a, rt->n_checks + 1, sizeof(bool));
	if (rt->wants_spool)
		m->priv->spool = spool_new(rt->cfg->spool_memory_limit, rt->cfg->spool_directory);
	c->msg = m;
	c->messages++;
	begin_checks(m);
	return m;
}

void pipeline_msg_set_qid(struct msg *m, const char *qid)
{
	if (qid != NULL && qid[0] != '\0')
		m->qid = arena_strdup(m->arena, qid);
}

void pipeline_rcpt(struct msg *m, const char *rcpt)
{
	*ARRAY_PUSH_ARENA(m->arena, &m->rcpts) = arena_strdup(m->arena, rcpt != NULL ? rcpt : "");
}

/* Appends to the spool, if there is one; a failure is an internal error. */
static void spool_put(struct msg *m, const void *p, size_t n)
{
	struct msg_private *pv = m->priv;
	if (pv->spool == NULL || pv->spool_failed)
		return;
	if (spool_write(pv->spool, p, n) == 0)
		return;
	log_msg(LOG_ERR, m->qid, "cannot keep the message for the checks that read it: %s",
		spool_error(pv->spool));
	pv->spool_failed = true;
	m->verdict.internal_error = true;
}

/* The longest physical line of a folded value. */
static size_t longest_line(const char *v, size_t len)
{
	size_t longest = 0;
	const char *end = v + len;
	while (v < end) {
		const char *nl = memchr(v, '\n', (size_t)(end - v));
		size_t line = (size_t)((nl != NULL ? nl : end) - v);
		if (line > longest)
			longest = line;
		v = nl != NULL ? nl + 1 : end;
	}
	return longest;
}

static enum hdr_error header_over_limit(const struct msg *m, size_t name_len,
					const char *value, size_t value_len)
{
	const struct config *cfg = m->cfg;
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
	const char *end = v + len;
	size_t extra = 0;
	for (const char *p = v; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		extra += p == v || p[-1] != '\r';
	char *out = arena_alloc(a, len + extra + 1);
	if (extra == 0) {
		memcpy(out, v, len);
		*len_r = len;
		return out;
	}
	size_t o = 0;
	while (v < end) {
		const char *nl = memchr(v, '\n', (size_t)(end - v));
		size_t run = (size_t)((nl != NULL ? nl : end) - v);
		memcpy(out + o, v, run);
		o += run;
		if (nl == NULL)
			break;
		if (o == 0 || out[o - 1] != '\r')
			out[o++] = '\r';
		out[o++] = '\n';
		v = nl + 1;
	}
	*len_r = o;
	return out;
}

static void note_ar_field(struct msg *m, const char *value, size_t len)
{
	struct msg_private *p = m->priv;
	p->ar_seen++;
	if (ar_authserv_id_is(value, len, m->cfg->authserv_id))
		*ARRAY_PUSH_ARENA(m->arena, &p->forged) = p->ar_seen;
}

/* The field as it was on the wire, for the spool: name ":" value CRLF. */
static void spool_field(struct msg *m, const char *name, size_t name_len, const char *value,
			size_t value_len)
{
	if (m->priv->spool == NULL)
		return;
	size_t len;
	const char *v = copy_crlf(m->arena, value, value_len, &len);
	spool_put(m, name, name_len);
	spool_put(m, ":", 1);
	spool_put(m, v, len);
	spool_put(m, "\r\n", 2);
}

void pipeline_header(struct msg *m, const char *name, const char *value, size_t value_len)
{
	if (m->eoh_done) {
		/* an MTA sends none after end of header; a broken one may */
		if (!m->priv->late_header)
			log_msg(LOG_WARNING, m->qid, "header field %s after end of header: "
				"ignored", name);
		m->priv->late_header = true;
		return;
	}
	size_t name_len = strlen(name);
	m->header_fields_seen++;
	m->header_bytes_seen += name_len + 1 + value_len + 2;
	spool_field(m, name, name_len, value, value_len);
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
	struct msg_header *h = ARRAY_PUSH_ARENA(m->arena, &m->headers);
	h->name = arena_strdup(m->arena, name);
	h->value = copy_crlf(m->arena, value, value_len, &h->value_len);
	for (size_t i = 0; i < m->rt->n_checks; i++)
		if (HOOK(m, i, header) != NULL && HOOK(m, i, header)(m, &m->cx[i], h) < 0)
			check_failed(m, i, "header");
}

void pipeline_eoh(struct msg *m)
{
	if (m->eoh_done)
		return;
	m->eoh_done = true;
	spool_put(m, "\r\n", 2);
	if (m->header_limit != HDR_OK)
		return;
	for (size_t i = 0; i < m->rt->n_checks; i++)
		if (HOOK(m, i, eoh) != NULL && HOOK(m, i, eoh)(m, &m->cx[i]) < 0)
			check_failed(m, i, "end of header");
}

void pipeline_body(struct msg *m, const uint8_t *data, size_t len)
{
	if (!m->eoh_done)
		pipeline_eoh(m);	/* a body without end of header: the header is over */
	m->body_bytes += len;
	spool_put(m, data, len);
	if (m->header_limit != HDR_OK)
		return;
	for (size_t i = 0; i < m->rt->n_checks; i++)
		if (HOOK(m, i, body) != NULL && HOOK(m, i, body)(m, &m->cx[i], data, len) < 0)
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

const void *msg_result(const struct msg *m, const char *check)
{
	ptrdiff_t i = runtime_check_index(m->rt, check);
	return i >= 0 ? m->cx[i].result : NULL;
}

const struct spool *msg_spool(const struct msg *m)
{
	return m->priv->spool_failed ? NULL : m->priv->spool;
}

/* OnHeaderLimit: the whole header could not be read within the limits. */
static void apply_header_limit(struct msg *m)
{
	const char *what = hdr_error_text(m->header_limit);
	char *text = arena_printf(m->arena, "message header exceeds limits: %s", what);
	switch (m->cfg->on_header_limit) {
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
	if (m->cfg->on_internal_error == ON_ERROR_TEMPFAIL)
		verdict_propose(m->arena, &m->verdict, ACTION_TEMPFAIL, "internal", "451", "4.3.0",
				"internal error in the mail filter, try again later");
	else
		log_msg(LOG_WARNING, m->qid, "internal error; accepting as OnInternalError says");
}

/* ---- the header as it will leave (seal phase) ---- */

static void view_insert(struct msg *m, struct msg_headers *h, size_t at,
			const struct msg_header *f)
{
	ARRAY_PUSH_ARENA(m->arena, h);
	if (at > h->n - 1)
		at = h->n - 1;
	memmove(&h->v[at + 1], &h->v[at], (h->n - 1 - at) * sizeof(h->v[0]));
	h->v[at] = *f;
}

/* Deletes the index-th (1-based) field named name, if there is one. */
static void view_delete(struct msg_headers *h, const char *name, size_t index)
{
	for (size_t i = 0, seen = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, name) != 0 || ++seen != index)
			continue;
		memmove(&h->v[i], &h->v[i + 1], (h->n - i - 1) * sizeof(h->v[0]));
		h->n--;
		return;
	}
}

/* A field we add, as the MTA will write it: a space after the colon. */
static struct msg_header added_field(struct msg *m, const char *name, const char *value)
{
	struct msg_header f = { .name = name };
	char *v = arena_printf(m->arena, " %s", value);
	f.value = copy_crlf(m->arena, v, strlen(v), &f.value_len);
	return f;
}

static void apply_view_edit(struct msg *m, struct msg_headers *h, const struct header_edit *e)
{
	struct msg_header f;
	switch (e->op) {
	case EDIT_INSERT:
		f = added_field(m, e->name, e->value);
		view_insert(m, h, e->index, &f);
		break;
	case EDIT_ADD:
		f = added_field(m, e->name, e->value);
		view_insert(m, h, h->n, &f);
		break;
	case EDIT_DELETE:
		view_delete(h, e->name, e->index);
		break;
	}
}

/* The fields received, with every edit applied the way build_edits orders them. */
static void build_view(struct msg *m)
{
	struct msg_private *p = m->priv;
	struct msg_headers *h = &p->final;
	h->n = 0;
	for (size_t i = 0; i < m->headers.n; i++)
		*ARRAY_PUSH_ARENA(m->arena, h) = m->headers.v[i];
	for (size_t i = p->forged.n; i > 0; i--)
		view_delete(h, AR_NAME, p->forged.v[i - 1]);
	for (size_t i = 0; i < m->verdict.edits.n; i++)
		apply_view_edit(m, h, &m->verdict.edits.v[i]);
	struct msg_header ar = added_field(m, AR_NAME, p->result.ar_value);
	view_insert(m, h, 0, &ar);
	p->final_edits = m->verdict.edits.n;
}

const struct msg_headers *pipeline_final_header(struct msg *m)
{
	struct msg_private *p = m->priv;
	if (!p->sealing)
		return NULL;
	if (p->final.v == NULL || p->final_edits != m->verdict.edits.n)
		build_view(m);
	return &p->final;
}

/* ---- end of message ---- */

static void add_edit(struct eom_result *r, struct header_edit *edits, enum edit_op op,
		     const char *name, const char *value, size_t index)
{
	struct header_edit *e = &edits[r->n_edits++];
	e->op = op;
	e->name = name;
	e->value = value;
	e->index = index;
}

/*
 * The header edits: forged fields deleted last-first so each index still
 * names the field it named when counted, then the checks' own changes (the
 * decide phase's, then the seal phase's), then ours inserted at the top,
 * above everything (inserting it before the deletions would shift every
 * index by one).
 */
static void build_edits(struct msg *m)
{
	struct msg_private *p = m->priv;
	struct eom_result *r = &p->result;
	const struct verdict *v = &m->verdict;
	struct header_edit *edits =
		arena_alloc_array(m->arena, p->forged.n + v->edits.n + 1, sizeof(*edits));
	r->edits = edits;
	for (size_t i = p->forged.n; i > 0; i--)
		add_edit(r, edits, EDIT_DELETE, AR_NAME, NULL, p->forged.v[i - 1]);
	for (size_t i = 0; i < v->edits.n; i++)
		add_edit(r, edits, v->edits.v[i].op, v->edits.v[i].name, v->edits.v[i].value,
			 v->edits.v[i].index);
	add_edit(r, edits, EDIT_INSERT, AR_NAME, r->ar_value, 0);
}

/* The one line a message leaves in the log (at info), with the snapshot it had
   and the checks' notes. */
static void log_verdict(const struct msg *m, const struct eom_result *r)
{
	const struct conn *c = m->conn;
	char gen[32] = "";
	if (m->rt->generation > 0)
		snprintf(gen, sizeof(gen), " gen=%lu", m->rt->generation);
	const char *notes = "";
	for (size_t i = 0; i < m->verdict.notes.n; i++)
		notes = arena_printf(m->arena, "%s %s", notes, m->verdict.notes.v[i]);
	log_msg(LOG_INFO, m->qid,
		"from=<%s%s%s> client=%s[%s] origin=%s%s action=%s%s%s ar=\"%s\"%s",
		m->mail_from.local != NULL ? m->mail_from.local : "",
		m->mail_from.domain != NULL && m->mail_from.domain[0] != '\0' ? "@" : "",
		m->mail_from.domain != NULL ? m->mail_from.domain : "", c->client_host,
		c->client_ip, m->internal ? "internal" : "external", gen,
		action_name(r->action), m->verdict.action_by != NULL ? " by=" : "",
		m->verdict.action_by != NULL ? m->verdict.action_by : "", r->ar_value, notes);
}

static bool delivered(enum action a)
{
	return a == ACTION_ACCEPT || a == ACTION_QUARANTINE;
}

/* The checks decide: results, proposed actions, header edits. */
static void decide(struct msg *m)
{
	if (m->header_limit != HDR_OK)
		apply_header_limit(m);
	if (m->verdict.action == ACTION_REJECT)
		return;
	for (size_t i = 0; i < m->rt->n_checks; i++)
		if (HOOK(m, i, eom) != NULL && HOOK(m, i, eom)(m, &m->cx[i]) < 0)
			check_failed(m, i, "end of message");
}

/* The checks that must see the final header: a failure here is OnInternalError. */
static void seal(struct msg *m)
{
	m->priv->sealing = true;
	bool before = m->verdict.internal_error;
	m->verdict.internal_error = false;
	for (size_t i = 0; i < m->rt->n_checks; i++)
		if (HOOK(m, i, seal) != NULL && HOOK(m, i, seal)(m, &m->cx[i]) < 0)
			check_failed(m, i, "seal");
	m->priv->sealing = false;
	if (m->verdict.internal_error)
		apply_internal_error(m);
	m->verdict.internal_error |= before;
}

static void take_action(struct eom_result *r, const struct verdict *v)
{
	r->action = v->action;
	r->smtp_code = v->smtp_code;
	r->smtp_xcode = v->smtp_xcode;
	r->smtp_text = v->smtp_text;
}

const struct eom_result *pipeline_eom(struct msg *m)
{
	struct eom_result *r = &m->priv->result;
	if (m->priv->ended)
		return r;	/* twice: the verdict stands */
	m->priv->ended = true;
	if (!m->eoh_done)
		pipeline_eoh(m);
	decide(m);
	if (m->verdict.internal_error)
		apply_internal_error(m);
	/* the verdict is final: the action and what Authentication-Results says */
	r->ar_value = verdict_ar_value(m->arena, m->cfg->authserv_id, &m->verdict);
	take_action(r, &m->verdict);
	if (delivered(r->action)) {
		seal(m);
		take_action(r, &m->verdict);
	}
	/* a message that will not be delivered needs no header changes */
	if (delivered(r->action))
		build_edits(m);
	log_verdict(m, r);
	return r;
}

void pipeline_msg_end(struct conn *c)
{
	struct msg *m = c->msg;
	if (m == NULL)
		return;
	const struct runtime *rt = m->rt;
	for (size_t i = 0; i < rt->n_checks; i++)
		if (m->priv->begun[i] && rt->checks[i].ck->msg_end != NULL)
			rt->checks[i].ck->msg_end(m, &m->cx[i]);
	spool_free(&m->priv->spool);
	c->msg = NULL;
	struct arena *a = m->arena; /* m itself lives in it */
	arena_free(&a);
}
