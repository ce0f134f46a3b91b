/*
 * The dkim_sign check: signs mail from internal hosts and authenticated
 * senders with the keys the SigningTable gives for the From: address
 * (OpenDKIM's KeyTable/SigningTable formats, or the Domain + Selector +
 * KeyFile form), one signature per key (MultipleSignatures: e.g. RSA and
 * Ed25519, RFC 8463 8).
 *
 * Private keys are loaded once, at configuration time (PEM decoding costs
 * more than signing), except keys whose file name depends on the sender
 * ("%"), which are loaded per message.  The body is hashed as it streams.
 * The signature is made in the seal phase, after the verdict is final,
 * over the header as it will leave (pipeline_final_header(): the fields of
 * other checks included); Authentication-Results is never signed (a
 * receiver must be free to remove it).
 *
 * Defaults for 2026: relaxed/relaxed, rsa-sha256, no l= ever, and the
 * fields a forger would most like to add oversigned (listed once more than
 * present, RFC 6376 5.4.2 / 8.15).
 */
#include "dkim_sign.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "dkim.h"
#include "dkim_fields.h"
#include "header.h"
#include "keytable.h"
#include "log.h"
#include "pipeline.h"
#include "xalloc.h"

#define MAX_HEADER_NAMES 128

struct name_list {
	const char **v;
	size_t n;
};

/* What every message shares: the tables and the keys they name. */
struct sign_data {
	const struct dkim_sign_options *opts;
	struct keytable *kt;
	struct signtable *st;
	struct dkim_privkey **keys;	/* per KeyTable entry, or NULL ("%" files) */
	size_t n_keys;
	char *names_buf, *oversign_buf;
	struct name_list names, oversign;
};

struct sign_job {
	struct signing_key key;
	struct dkim_privkey *privkey;	/* shared, or owned when `owned` */
	bool owned;
};

struct sign_state {
	const struct sign_data *d;
	const char *from_local, *from_domain;
	size_t from_fields;
	struct sign_job jobs[KEYTABLE_MAX_SIGNATURES];
	size_t n_jobs;
	struct dkim_bodyhash *body;
};

static const struct conffile_bounds signature_ttl_bounds = { 0, 30ULL * 86400000 };

static const struct conffile_name_value canon_names[] = {
	{ "simple", CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE) },
	{ "relaxed", CANON_PAIR(CANON_RELAXED, CANON_SIMPLE) },
	{ "simple/simple", CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE) },
	{ "simple/relaxed", CANON_PAIR(CANON_SIMPLE, CANON_RELAXED) },
	{ "relaxed/simple", CANON_PAIR(CANON_RELAXED, CANON_SIMPLE) },
	{ "relaxed/relaxed", CANON_PAIR(CANON_RELAXED, CANON_RELAXED) },
	{ NULL, 0 },
};
static const struct conffile_name_value sign_alg_names[] = {
	{ "rsa-sha256", SIGN_RSA_SHA256 },
	{ "ed25519-sha256", SIGN_ED25519_SHA256 },
	{ NULL, 0 },
};

#define OPT(name, type, def, field, extra)                                      \
	CONFFILE_OPT(struct dkim_sign_options, name, type, def, field, extra)

static const struct conffile_option sign_option_table[] = {
	OPT("KeyTable", &conffile_string, NULL, key_table, NULL),
	OPT("SigningTable", &conffile_string, NULL, signing_table, NULL),
	OPT("Domain", &conffile_string, NULL, domain, NULL),
	OPT("Selector", &conffile_string, NULL, selector, NULL),
	OPT("KeyFile", &conffile_path, NULL, key_file, NULL),
	OPT("Canonicalization", &conffile_enum, "relaxed/relaxed", canonicalization, canon_names),
	OPT("SignatureAlgorithm", &conffile_enum, "rsa-sha256", signature_algorithm,
	    sign_alg_names),
	OPT("SignHeaders", &conffile_string, NULL, sign_headers, NULL),
	OPT("OversignHeaders", &conffile_string, NULL, oversign_headers, NULL),
	OPT("MultipleSignatures", &conffile_bool, "no", multiple_signatures, NULL),
	OPT("SubDomains", &conffile_bool, "no", subdomains, NULL),
	OPT("RequireSafeKeys", &conffile_bool, "yes", require_safe_keys, NULL),
	OPT("SignatureTTL", &conffile_duration, "0", signature_ttl_ms, &signature_ttl_bounds),
};

static const struct conffile_schema sign_options = {
	sign_option_table, ARRAY_LEN(sign_option_table), sizeof(struct dkim_sign_options),
};

static bool sign_enabled(const struct config *cfg, const void *opts)
{
	const struct dkim_sign_options *o = opts;
	return (cfg->mode & MODE_SIGN) && (o->key_table != NULL || o->key_file != NULL);
}

/* Splits "A:B, C" (colons, commas or spaces) in place into a list. */
static void split_names(char *s, struct name_list *out)
{
	out->v = xcalloc(MAX_HEADER_NAMES, sizeof(char *));
	for (char *tok = strtok(s, ":, \t"); tok != NULL && out->n < MAX_HEADER_NAMES;
	     tok = strtok(NULL, ":, \t"))
		if (strcasecmp(tok, "Authentication-Results") != 0)
			out->v[out->n++] = tok;
}

static void names_from(const char *configured, const char *const *def, size_t n_def,
		       char **buf_r, struct name_list *out)
{
	if (configured != NULL) {
		*buf_r = xstrdup(configured);
		split_names(*buf_r, out);
		return;
	}
	out->v = xcalloc(n_def, sizeof(char *));
	for (size_t i = 0; i < n_def; i++)
		out->v[out->n++] = def[i];
}

static void sign_teardown(void *data)
{
	struct sign_data *d = data;
	for (size_t i = 0; i < d->n_keys; i++)
		dkim_privkey_free(&d->keys[i]);
	free(d->keys);
	signtable_free(&d->st);
	keytable_free(&d->kt);
	free(d->names.v);
	free(d->oversign.v);
	free(d->names_buf);
	free(d->oversign_buf);
	free(d);
}

static int load_tables(const struct dkim_sign_options *cfg, struct sign_data *d, char **error_r)
{
	if (cfg->key_table != NULL) {
		if (cfg->signing_table == NULL) {
			*error_r = xstrdup("KeyTable is set but SigningTable is not");
			return -1;
		}
		d->kt = keytable_load(cfg->key_table, error_r);
		if (d->kt != NULL)
			d->st = signtable_load(cfg->signing_table, d->kt, error_r);
		return d->st != NULL ? 0 : -1;
	}
	if (cfg->domain == NULL || cfg->selector == NULL) {
		*error_r = xstrdup("KeyFile needs Domain and Selector");
		return -1;
	}
	d->st = signtable_simple(cfg->domain, cfg->selector, cfg->key_file, cfg->subdomains,
				 &d->kt, error_r);
	return d->st != NULL ? 0 : -1;
}

/* Loads every key whose file does not depend on the sender. */
static int load_keys(const struct dkim_sign_options *cfg, struct sign_data *d, char **error_r)
{
	d->n_keys = keytable_count(d->kt);
	d->keys = xcalloc(d->n_keys + 1, sizeof(*d->keys));
	for (size_t i = 0; i < d->n_keys; i++) {
		const struct keytable_entry *e = keytable_entry_at(d->kt, i);
		if (e->key_is_file && strchr(e->key, '%') != NULL)
			continue;
		char *err = NULL;
		const char *static_err = NULL;
		if (e->key_is_file)
			d->keys[i] = dkim_privkey_load_file(e->key, !cfg->require_safe_keys, &err);
		else
			d->keys[i] = dkim_privkey_load_pem(e->key, strlen(e->key), &static_err);
		if (d->keys[i] == NULL) {
			*error_r = xasprintf("KeyTable key '%s' (line %u): %s", e->name, e->line,
					     err != NULL ? err : static_err);
			free(err);
			return -1;
		}
	}
	return 0;
}

static int sign_setup(const struct config *core, const void *opts, void **data_r,
		      char **error_r)
{
	(void)core;
	const struct dkim_sign_options *cfg = opts;
	struct sign_data *d = xcalloc(1, sizeof(*d));
	d->opts = cfg;
	names_from(cfg->sign_headers, dkim_default_sign_headers, dkim_default_sign_headers_count,
		   &d->names_buf, &d->names);
	names_from(cfg->oversign_headers, dkim_default_oversign_headers,
		   dkim_default_oversign_headers_count, &d->oversign_buf, &d->oversign);
	if (load_tables(cfg, d, error_r) < 0 || load_keys(cfg, d, error_r) < 0) {
		sign_teardown(d);
		return -1;
	}
	*data_r = d;
	return 0;
}

static int sign_begin(struct msg *m, struct check_ctx *cx)
{
	if (!m->internal)
		return 0;
	struct sign_state *st = arena_alloc(m->arena, sizeof(*st));
	st->d = cx->data;
	cx->state = st;
	return 1;
}

/* Remembers the author (RFC 5322 From): exactly one field, one address. */
static int sign_header(struct msg *m, struct check_ctx *cx, const struct msg_header *h)
{
	struct sign_state *st = cx->state;
	if (strcasecmp(h->name, "From") != 0)
		return 0;
	if (st->from_fields++ > 0)
		return 0;
	size_t len;
	char *v = hdr_unfold(m->arena, h->value, h->value_len, &len);
	struct addr_list list;
	const char *err = NULL;
	if (addr_list_parse(m->arena, v, len, &list, &err) == 0 && list.n == 1) {
		st->from_local = list.v[0].local;
		st->from_domain = list.v[0].domain;
	}
	return 0;
}

/* The private key of one signing key: shared, or loaded now for "%" files. */
static bool job_key(struct msg *m, const struct sign_data *d, struct sign_job *j)
{
	for (size_t i = 0; i < d->n_keys; i++) {
		const struct keytable_entry *e = keytable_entry_at(d->kt, i);
		if (strcmp(e->name, j->key.name) == 0 && d->keys[i] != NULL) {
			j->privkey = d->keys[i];
			return true;
		}
	}
	char *err = NULL;
	const char *serr = NULL;
	bool safe = d->opts->require_safe_keys;
	j->privkey = j->key.key_path != NULL
			     ? dkim_privkey_load_file(j->key.key_path, !safe, &err)
			     : dkim_privkey_load_pem(j->key.key_data, strlen(j->key.key_data), &serr);
	if (j->privkey == NULL) {
		log_msg(LOG_ERR, m->qid, "dkim: key '%s': %s", j->key.name, err ? err : serr);
		free(err);
		return false;
	}
	j->owned = true;
	return true;
}

/* A KeyTable algorithm that the key cannot do is a configuration mistake. */
static bool job_alg_fits(struct msg *m, const struct sign_job *j)
{
	enum dkim_key_type want = j->key.alg == KEYTABLE_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519
									     : DKIM_KEY_RSA;
	if (j->key.alg == KEYTABLE_ALG_AUTO || j->privkey->type == want)
		return true;
	log_msg(LOG_ERR, m->qid, "dkim: key '%s' is %s but the KeyTable says %s; not signing "
		"with it", j->key.name, dkim_key_type_name(j->privkey->type),
		keytable_alg_name(j->key.alg));
	return false;
}

static int sign_eoh(struct msg *m, struct check_ctx *cx)
{
	struct sign_state *st = cx->state;
	const struct sign_data *d = st->d;
	const struct dkim_sign_options *cfg = d->opts;
	if (st->from_fields != 1 || st->from_domain == NULL || st->from_domain[0] == '\0') {
		log_msg(LOG_NOTICE, m->qid, "dkim: not signing: the message needs exactly one "
			"From field with one address");
		return 0;
	}
	struct signing_key keys[KEYTABLE_MAX_SIGNATURES];
	const char *err = NULL;
	int n = signtable_lookup(d->st, d->kt, st->from_local, st->from_domain,
				 cfg->multiple_signatures, m->arena, keys, ARRAY_LEN(keys), &err);
	if (n < 0)
		log_msg(LOG_NOTICE, m->qid, "dkim: not signing for %s: %s", st->from_domain, err);
	for (int i = 0; i < n; i++) {
		struct sign_job *j = &st->jobs[st->n_jobs];
		j->key = keys[i];
		if (!job_key(m, d, j))
			continue;
		if (!job_alg_fits(m, j)) {
			if (j->owned)
				dkim_privkey_free(&j->privkey);
			continue;
		}
		st->n_jobs++;
	}
	if (st->n_jobs > 0)
		st->body = dkim_bodyhash_new(cfg->canonicalization & 1 ? DKIM_CANON_RELAXED
								   : DKIM_CANON_SIMPLE,
					     DKIM_HASH_SHA256, false, 0);
	return 0;
}

static int sign_body(struct msg *m, struct check_ctx *cx, const uint8_t *data, size_t len)
{
	(void)m;
	struct sign_state *st = cx->state;
	if (st->body != NULL)
		dkim_bodyhash_update(st->body, data, len);
	return 0;
}

static int sign_one(struct msg *m, struct sign_state *st, const struct sign_job *j,
		    const struct dkim_field *f, size_t n)
{
	const struct sign_data *d = st->d;
	const struct dkim_sign_options *cfg = d->opts;
	struct dkim_sign_params p = {
		.domain = j->key.domain,
		.selector = j->key.selector,
		.auid = j->key.identity,
		.canon_header = cfg->canonicalization >> 1 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		.canon_body = cfg->canonicalization & 1 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		.has_t = true,
		.t = (uint64_t)m->now,
		.has_x = cfg->signature_ttl_ms > 0,
		.x = (uint64_t)m->now + cfg->signature_ttl_ms / 1000,
	};
	p.h = dkim_sign_select_headers(m->arena, f, n, d->names.v, d->names.n, d->oversign.v,
				       d->oversign.n, &p.h_count);
	struct buf value;
	buf_init(&value, 0);
	enum dkim_err e = dkim_sign(j->privkey, &p, f, n, st->body, &value);
	if (e != DKIM_OK) {
		log_msg(LOG_ERR, m->qid, "dkim: signing with key '%s' failed: %s", j->key.name,
			dkim_err_text(e));
		buf_free(&value);
		return -1;
	}
	verdict_add_edit(m->arena, &m->verdict, EDIT_INSERT, "DKIM-Signature", value.p, 0);
	verdict_note(m->arena, &m->verdict,
		     arena_printf(m->arena, "signed=\"d=%s s=%s a=%s\"", p.domain, p.selector,
				  j->privkey->type == DKIM_KEY_ED25519 ? "ed25519-sha256"
								       : "rsa-sha256"));
	buf_free(&value);
	return 0;
}

/* The seal phase: every signature over the header as it will leave. */
static int sign_seal(struct msg *m, struct check_ctx *cx)
{
	struct sign_state *st = cx->state;
	if (st->n_jobs == 0)
		return 0;
	/* the view before our first signature: each signs the same fields */
	const struct msg_headers *h = pipeline_final_header(m);
	size_t n = h->n;
	const struct dkim_field *f = dkim_fields_of(m->arena, h->v, n);
	int rc = 0;
	for (size_t i = 0; i < st->n_jobs; i++)
		if (sign_one(m, st, &st->jobs[i], f, n) < 0)
			rc = -1;
	return rc;
}

static void sign_end(struct msg *m, struct check_ctx *cx)
{
	(void)m;
	struct sign_state *st = cx->state;
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n_jobs; i++)
		if (st->jobs[i].owned)
			dkim_privkey_free(&st->jobs[i].privkey);
	dkim_bodyhash_free(&st->body);
}


const struct check check_dkim_sign = {
	.name = "dkim_sign",
	.options = &sign_options,
	.enabled = sign_enabled,
	.setup = sign_setup,
	.teardown = sign_teardown,
	.msg_begin = sign_begin,
	.header = sign_header,
	.eoh = sign_eoh,
	.body = sign_body,
	.seal = sign_seal,
	.msg_end = sign_end,
};
