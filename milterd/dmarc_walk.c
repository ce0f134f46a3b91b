/*
 * DMARC policy discovery and Organizational Domains (see dmarc_walk.h).
 */
#include "dmarc_walk.h"

#include <string.h>

#include "array.h"

#define DNS_NAME_MAX 253

struct entry {
	const char *domain;
	enum dns_type type;
	struct dns_lookup *lk;	/* NULL: a name DNS cannot carry, or over the limit */
	bool over;		/* not started: DMARC_WALK_MAX_LOOKUPS reached */
};

struct dmarc_walk {
	struct arena *a;
	struct dns *dns;
	enum dmarc_discovery how;
	const struct psl *psl;
	ARRAY(struct entry) entries;
};

/* What one name holds: nothing that counts, one DMARC record, or no answer yet. */
enum answer {
	ANS_NONE,
	ANS_ONE,
	ANS_TEMP,
};

/* One name of a walk and what was found there. */
struct step {
	const char *domain;
	enum answer ans;
	bool valid;		/* ANS_ONE and the record parses */
	struct dmarc_record rec;
	const char *error;	/* ANS_ONE and it does not parse: why */
};

struct dmarc_walk *dmarc_walk_new(struct arena *a, struct dns *dns, enum dmarc_discovery how,
				  const struct psl *psl)
{
	struct dmarc_walk *w = arena_alloc(a, sizeof(*w));
	w->a = a;
	w->dns = dns;
	w->how = how;
	w->psl = psl;
	return w;
}

void dmarc_walk_free(struct dmarc_walk *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->entries.n; i++)
		dns_lookup_free(&w->entries.v[i].lk);
	w->entries.n = 0;
}

const char *dmarc_discovery_name(enum dmarc_discovery d)
{
	return d == DMARC_DISCOVERY_PSL ? "psl" : "treewalk";
}

bool dmarc_domain_under(const char *sub, const char *domain)
{
	size_t ls = strlen(sub), ld = strlen(domain);
	if (ls == ld)
		return strcmp(sub, domain) == 0;
	return ls > ld && sub[ls - ld - 1] == '.' && strcmp(sub + ls - ld, domain) == 0;
}

/* The lookup of (domain, type), started now unless it already was. */
static struct entry *lookup(struct dmarc_walk *w, const char *domain, enum dns_type type)
{
	for (size_t i = 0; i < w->entries.n; i++)
		if (w->entries.v[i].type == type && strcmp(w->entries.v[i].domain, domain) == 0)
			return &w->entries.v[i];
	struct entry *e = ARRAY_PUSH_ARENA(w->a, &w->entries);
	e->domain = arena_strdup(w->a, domain);
	e->type = type;
	if (w->entries.n > DMARC_WALK_MAX_LOOKUPS) {
		e->over = true;
		return e;
	}
	const char *name = type == DNS_T_TXT ? arena_printf(w->a, "_dmarc.%s", domain) : domain;
	/* a name DNS cannot carry has no record (and must not be a temperror) */
	if (strlen(name) <= DNS_NAME_MAX)
		e->lk = dns_lookup_start(w->dns, name, type);
	return e;
}

/* The DMARC record at domain (RFC 9989 4.10 steps 2 and 6). */
static enum answer txt_answer(struct dmarc_walk *w, const char *domain, const char **text_r,
			      size_t *len_r)
{
	struct entry *e = lookup(w, domain, DNS_T_TXT);
	if (e->over)
		return ANS_TEMP;
	if (e->lk == NULL)
		return ANS_NONE;
	const struct dns_answer *a = dns_lookup_wait(e->lk);
	if (dns_status_temporary(a->status))
		return ANS_TEMP;
	size_t found = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->count; i++)
		if (dmarc_record_is_dmarc(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			*text_r = a->rr[i].u.txt.data;
			*len_r = a->rr[i].u.txt.len;
			found++;
		}
	/* several records at one name are all discarded */
	return found == 1 ? ANS_ONE : ANS_NONE;
}

static void read_step(struct dmarc_walk *w, const char *domain, struct step *s)
{
	const char *text = NULL;
	size_t len = 0;
	s->domain = domain;
	s->ans = txt_answer(w, domain, &text, &len);
	if (s->ans == ANS_ONE)
		s->valid = dmarc_record_parse(w->a, text, len, &s->rec, &s->error) == 0;
}

/* ---- the tree walk (RFC 9989 4.10) ---- */

size_t dmarc_walk_targets(const char *start, const char **out)
{
	const char *label[DNS_NAME_MAX + 1];
	size_t x = 0;
	label[x++] = start;
	for (const char *p = start; *p != '\0'; p++)
		if (*p == '.' && p[1] != '\0' && x <= DNS_NAME_MAX)
			label[x++] = p + 1;
	size_t n = 0;
	out[n++] = start;
	/* the name with k labels is label[x - k] */
	for (size_t k = x - 1 < 7 ? x - 1 : 7; k >= 1; k--)
		out[n++] = label[x - k];
	return n;
}

/* Starts every lookup a walk from start makes. */
static void prefetch_walk(struct dmarc_walk *w, const char *start)
{
	const char *targets[DMARC_WALK_MAX_QUERIES];
	size_t n = dmarc_walk_targets(start, targets);
	for (size_t i = 0; i < n; i++)
		lookup(w, targets[i], DNS_T_TXT);
}

/*
 * Walks from start, filling steps (in walk order) until a record with
 * psd=y or psd=n stops it.  Returns the number of steps, or -1 when a
 * lookup failed temporarily (the walk cannot be trusted).
 */
static int walk(struct dmarc_walk *w, const char *start, struct step *steps)
{
	const char *targets[DMARC_WALK_MAX_QUERIES];
	size_t n = dmarc_walk_targets(start, targets);
	for (size_t i = 0; i < n; i++) {
		struct step *s = &steps[i];
		memset(s, 0, sizeof(*s));
		read_step(w, targets[i], s);
		if (s->ans == ANS_TEMP)
			return -1;
		if (s->valid && s->rec.psd != DMARC_PSD_U)
			return (int)i + 1;
	}
	return (int)n;
}

/* The name one label longer than `parent` on the way to `start`. */
static const char *one_below(const char *start, const char *parent)
{
	size_t ls = strlen(start), lp = strlen(parent);
	if (ls <= lp + 1)
		return start;
	const char *p = start + ls - lp - 1;	/* the dot before parent */
	while (p > start && p[-1] != '.')
		p--;
	return p;
}

/* RFC 9989 4.10.2: the Organizational Domain among the steps of a walk from start. */
static const char *choose_org(const char *start, const struct step *steps, int n)
{
	const struct step *last = NULL;
	for (int i = 0; i < n; i++)
		if (steps[i].valid)
			last = &steps[i];
	if (last == NULL)
		return start;
	if (last->rec.psd == DMARC_PSD_N)
		return last->domain;
	if (last->rec.psd == DMARC_PSD_Y && strcmp(last->domain, start) != 0)
		return one_below(start, last->domain);
	/* the valid record with the fewest labels: the last one the walk met */
	return last->domain;
}

static const char *org_treewalk(struct dmarc_walk *w, const char *domain, bool *temp_r)
{
	struct step steps[DMARC_WALK_MAX_QUERIES];
	int n = walk(w, domain, steps);
	if (n < 0) {
		*temp_r = true;
		return NULL;
	}
	return choose_org(domain, steps, n);
}

/* ---- the Public Suffix List (RFC 7489 3.2) ---- */

/* A public suffix is its own Organizational Domain (it aligns only with itself). */
static const char *org_psl(struct dmarc_walk *w, const char *domain)
{
	const char *org = psl_org_domain(w->psl, w->a, domain);
	return org != NULL ? org : domain;
}

const char *dmarc_walk_org_domain(struct dmarc_walk *w, const char *domain, bool *temp_r)
{
	*temp_r = false;
	return w->how == DMARC_DISCOVERY_PSL ? org_psl(w, domain)
					     : org_treewalk(w, domain, temp_r);
}

void dmarc_walk_prefetch(struct dmarc_walk *w, const char *author)
{
	if (w->how == DMARC_DISCOVERY_TREEWALK) {
		prefetch_walk(w, author);
		return;
	}
	lookup(w, author, DNS_T_TXT);
	const char *org = org_psl(w, author);
	if (strcmp(org, author) != 0)
		lookup(w, org, DNS_T_TXT);
}

/* ---- discovery (RFC 9989 4.10.1) ---- */

/* The policy from one step that holds a record. */
static void from_step(const struct step *s, bool at_author, struct dmarc_policy *out)
{
	out->domain = s->domain;
	out->at_author = at_author;
	if (s->valid) {
		out->status = DMARC_DISC_FOUND;
		out->rec = s->rec;
	} else {
		out->status = DMARC_DISC_MALFORMED;
		out->why = s->error;
	}
}

static void temperror(struct dmarc_policy *out, const char *where)
{
	out->status = DMARC_DISC_TEMPERROR;
	out->why = where;
}

/* No record at the author domain: its Organizational Domain's, or its PSD's. */
static void discover_treewalk(struct dmarc_walk *w, const char *author, struct dmarc_policy *out)
{
	struct step steps[DMARC_WALK_MAX_QUERIES];
	int n = walk(w, author, steps);
	if (n < 0) {
		temperror(out, "DMARC record lookup failed temporarily during the tree walk");
		return;
	}
	const char *org = choose_org(author, steps, n);
	out->org_domain = org;
	for (int i = 1; i < n; i++)
		if (steps[i].ans == ANS_ONE && strcmp(steps[i].domain, org) == 0) {
			from_step(&steps[i], false, out);
			return;
		}
	/* the Organizational Domain has no record: the PSD's applies (psd=y) */
	const struct step *last = n > 1 ? &steps[n - 1] : NULL;
	if (last != NULL && last->valid && last->rec.psd == DMARC_PSD_Y) {
		from_step(last, false, out);
		return;
	}
	out->status = DMARC_DISC_NONE;
	out->why = "no DMARC record for the domain, its Organizational Domain or its PSD";
}

static void discover_psl(struct dmarc_walk *w, const char *author, struct dmarc_policy *out)
{
	const char *org = org_psl(w, author);
	out->org_domain = org;
	if (strcmp(org, author) == 0) {
		out->status = DMARC_DISC_NONE;
		out->why = "no DMARC record";
		return;
	}
	struct step s = { 0 };
	read_step(w, org, &s);
	if (s.ans == ANS_TEMP)
		temperror(out, "DMARC record lookup at the Organizational Domain failed temporarily");
	else if (s.ans == ANS_ONE)
		from_step(&s, false, out);
	else {
		out->status = DMARC_DISC_NONE;
		out->why = "no DMARC record";
	}
}

void dmarc_walk_discover(struct dmarc_walk *w, const char *author, struct dmarc_policy *out)
{
	memset(out, 0, sizeof(*out));
	struct step s = { 0 };
	read_step(w, author, &s);
	if (s.ans == ANS_TEMP) {
		temperror(out, "DMARC record lookup failed temporarily");
		return;
	}
	if (s.ans == ANS_ONE) {
		from_step(&s, true, out);
		return;
	}
	if (w->how == DMARC_DISCOVERY_PSL)
		discover_psl(w, author, out);
	else
		discover_treewalk(w, author, out);
}

/* ---- what discovery read (cachet check) ---- */

static struct entry *find(struct dmarc_walk *w, const char *domain, enum dns_type type)
{
	for (size_t i = 0; i < w->entries.n; i++)
		if (w->entries.v[i].type == type && strcmp(w->entries.v[i].domain, domain) == 0)
			return &w->entries.v[i];
	return NULL;
}

/* What _dmarc.domain held; true if discovery stops there. */
static bool seen_one(struct dmarc_walk *w, const char *domain, bool author, struct dmarc_seen *s)
{
	memset(s, 0, sizeof(*s));
	s->domain = domain;
	struct entry *e = find(w, domain, DNS_T_TXT);
	if (e == NULL || e->lk == NULL)
		return false;
	const struct dns_answer *a = dns_lookup_wait(e->lk);
	s->asked = true;
	s->status = a->status;
	if (a->status != DNS_OK)
		return dns_status_temporary(a->status);
	s->txt = arena_alloc_array(w->a, a->count + 1, sizeof(*s->txt));
	size_t dmarc = 0;
	const struct dns_rr *rec = NULL;
	for (size_t i = 0; i < a->count; i++) {
		s->txt[s->n_txt++] = arena_memdup(w->a, a->rr[i].u.txt.data, a->rr[i].u.txt.len);
		if (dmarc_record_is_dmarc(a->rr[i].u.txt.data, a->rr[i].u.txt.len)) {
			dmarc++;
			rec = &a->rr[i];
		}
	}
	if (dmarc != 1)
		return false;
	/* the author's one record is its policy, valid or not (RFC 9989 4.10 step 2) */
	if (author)
		return true;
	struct dmarc_record r;
	const char *err;
	return dmarc_record_parse(w->a, rec->u.txt.data, rec->u.txt.len, &r, &err) == 0 &&
	       r.psd != DMARC_PSD_U;
}

size_t dmarc_walk_seen(struct dmarc_walk *w, const char *author, struct dmarc_seen *out)
{
	const char *targets[DMARC_WALK_MAX_QUERIES];
	size_t n;
	if (w->how == DMARC_DISCOVERY_PSL) {
		targets[0] = author;
		n = 1;
		const char *org = org_psl(w, author);
		if (strcmp(org, author) != 0)
			targets[n++] = org;
	} else {
		n = dmarc_walk_targets(author, targets);
	}
	size_t k = 0;
	for (size_t i = 0; i < n && k < DMARC_SEEN_MAX; i++)
		if (seen_one(w, targets[i], i == 0, &out[k++]))
			break;
	return k;
}

int dmarc_walk_exists(struct dmarc_walk *w, const char *domain)
{
	struct entry *e = lookup(w, domain, DNS_T_A);
	if (e->over)
		return -1;
	if (e->lk == NULL)
		return 0;
	const struct dns_answer *a = dns_lookup_wait(e->lk);
	if (dns_status_temporary(a->status))
		return -1;
	return a->status != DNS_NXDOMAIN;
}
