/*
 * cachet doctor: DKIM keys (RFC 6376 3.6, RFC 8301, RFC 8463).  For each
 * selector (--selector, or those of DOMAIN in --keytable): the record is
 * there, is one record, parses, holds a key receivers use (RSA of at least
 * 1024 bits; 2048 recommended), and is the local private key's public half
 * when one is known (--key, or the KeyTable entry's file).  What is wrong
 * with a record is said by dkim_keycheck (lib/mail/dkim_publish.c), the
 * same words as `cachet-keys testkey`.
 *
 * When a selector has no record, or none was given, a bounded list of
 * common selectors is tried (COMMON below, plus this year and last as
 * YYYY and the last three months as YYYYMM: at most COMMON + 5 lookups),
 * so "the key is published under 'default' but the signer uses 's2025'"
 * can be said.  Dates are guessed cheaply; a YYYYMMDD selector (what
 * cachet-keys rotate makes) cannot be, and is not.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doctor.h"

static const char *const common[] = {
	"default", "selector1", "selector2", "google", "k1", "mail", "dkim", "s1", "s2",
};
#define DATE_GUESSES 5
#define MAX_GUESSES (ARRAY_LEN(common) + DATE_GUESSES)

/* The selectors worth a guess: common ones, then date-like ones. */
static size_t guesses(struct doctor *d, const char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < ARRAY_LEN(common); i++)
		out[n++] = common[i];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int y = tm.tm_year + 1900, m = tm.tm_mon + 1;
	out[n++] = arena_printf(d->a, "%d", y);
	out[n++] = arena_printf(d->a, "%d", y - 1);
	for (int k = 0; k < 3; k++) {
		int mm = m - k, yy = y;
		if (mm <= 0) {
			mm += 12;
			yy--;
		}
		out[n++] = arena_printf(d->a, "%d%02d", yy, mm);
	}
	return n;
}

struct found {
	const char *selector;
	bool matches_local;
};

/* Keys published under guessed selectors other than those being checked. */
static size_t probe(struct doctor *d, const struct dkim_privkey *local, struct found *out,
		    size_t *tried_r)
{
	const char *g[MAX_GUESSES];
	size_t n = guesses(d, g), found = 0;
	*tried_r = 0;
	for (size_t i = 0; i < n; i++) {
		bool ours = false;
		for (size_t k = 0; k < d->n_selectors && !ours; k++)
			ours = strcmp(d->selectors[k].selector, g[i]) == 0;
		if (ours)
			continue;
		(*tried_r)++;
		const char *name = arena_printf(d->a, "%s._domainkey.%s", g[i], d->domain);
		struct dkim_keycheck kc;
		dkim_keycheck_answer(doctor_lookup(d, name, DNS_T_TXT), &kc);
		if (kc.status == DKIM_KEYCHECK_USABLE || kc.status == DKIM_KEYCHECK_BAD) {
			out[found].selector = g[i];
			out[found].matches_local = local != NULL && kc.key != NULL &&
						   dkim_key_matches(kc.key, local);
			found++;
		}
		dkim_keycheck_clear(&kc);
	}
	return found;
}

static struct dkim_privkey *load_local(struct doctor *d, const char *path,
				       struct doctor_finding **f_r)
{
	if (path == NULL)
		return NULL;
	char *err = NULL;
	struct dkim_privkey *key = dkim_privkey_load_file(path, true, &err);
	if (key == NULL) {
		*f_r = doctor_say(d, "dkim", "dkim.local", DOCTOR_WARN,
				  "the local key cannot be read, so it is not compared: %s", err);
		free(err);
	}
	return key;
}

static void publish_key(struct doctor *d, const struct dkim_privkey *key, const char *selector,
			const char *path)
{
	struct buf zone, text;
	buf_init(&zone, 0);
	buf_init(&text, 0);
	dkim_privkey_zone_record(key, selector, d->domain, &zone);
	dkim_privkey_record(key, &text);
	doctor_publish_zone(d, "dkim", arena_printf(d->a, "%s._domainkey.%s", selector, d->domain),
			    text.p, zone.p,
			    arena_printf(d->a, "DKIM selector '%s': the public half of %s", selector, path));
	buf_free(&zone);
	buf_free(&text);
}

static void say_found(struct doctor *d, struct doctor_finding *f, const char *selector,
		      const struct found *found, size_t n, size_t tried)
{
	for (size_t i = 0; i < n; i++)
		doctor_detail(d, f, "a key is published under '%s' instead (%s._domainkey.%s)%s: the "
			      "signer uses '%s', DNS has '%s'; publish the record below, or make the "
			      "signer use '%s'", found[i].selector, found[i].selector, d->domain,
			      found[i].matches_local ? ", and it is the local key" : "", selector,
			      found[i].selector, found[i].selector);
	if (n == 0)
		doctor_detail(d, f, "no key under %zu other common selectors either (default, "
			      "selector1, selector2, google, k1, mail, dkim, s1, s2, and years and "
			      "months as YYYY, YYYYMM)", tried);
}

static void check_selector(struct doctor *d, const struct doctor_selector *s)
{
	struct doctor_finding *f = NULL;
	struct dkim_privkey *local = load_local(d, s->key_path, &f);
	const char *name = arena_printf(d->a, "%s._domainkey.%s", s->selector, d->domain);
	struct dkim_keycheck kc;
	dkim_keycheck_answer(doctor_lookup(d, name, DNS_T_TXT), &kc);
	switch (kc.status) {
	case DKIM_KEYCHECK_TEMP:
		doctor_say(d, "dkim", "dkim.lookup", DOCTOR_WARN, "DKIM '%s': the lookup failed: %s",
			   s->selector, kc.problem[0]);
		break;
	case DKIM_KEYCHECK_ABSENT: {
		f = doctor_say(d, "dkim", "dkim.present", DOCTOR_FAIL,
			       "DKIM '%s': no key at %s: receivers cannot verify what is signed with it",
			       s->selector, name);
		struct found found[MAX_GUESSES];
		size_t tried, n = probe(d, local, found, &tried);
		say_found(d, &d->findings.v[d->findings.n - 1], s->selector, found, n, tried);
		if (local != NULL)
			publish_key(d, local, s->selector, s->key_path);
		break;
	}
	case DKIM_KEYCHECK_BAD:
		f = doctor_say(d, "dkim", "dkim.record", DOCTOR_FAIL,
			       "DKIM '%s': the record at %s gives receivers no key they can use",
			       s->selector, name);
		for (size_t i = 0; i < kc.n_problems; i++)
			doctor_detail(d, f, "%s", kc.problem[i]);
		if (local != NULL)
			publish_key(d, local, s->selector, s->key_path);
		break;
	case DKIM_KEYCHECK_USABLE: {
		const struct dkim_key *k = kc.key;
		enum doctor_mark m = k->type == DKIM_KEY_RSA && k->bits < 2048 ? DOCTOR_WARN : DOCTOR_OK;
		f = doctor_say(d, "dkim", "dkim.key", m, "DKIM '%s': %s key published%s", s->selector,
			       k->type == DKIM_KEY_ED25519 ? "an Ed25519"
						       : arena_printf(d->a, "a %d-bit RSA", k->bits),
			       m == DOCTOR_WARN ? " (2048 bits recommended; receivers may rate 1024 "
						  "bits lower)" : "");
		for (size_t i = 0; i < kc.n_problems; i++)
			doctor_detail(d, f, "%s", kc.problem[i]);
		if (k->testing)
			doctor_say(d, "dkim", "dkim.testing", DOCTOR_WARN,
				   "DKIM '%s': t=y, testing: receivers treat the mail as unsigned "
				   "(RFC 6376 3.6.1); remove t=y once signing works", s->selector);
		if (local != NULL && dkim_key_matches(k, local)) {
			doctor_say(d, "dkim", "dkim.match", DOCTOR_OK, "DKIM '%s': it is the public half "
				   "of %s", s->selector, s->key_path);
		} else if (local != NULL) {
			doctor_say(d, "dkim", "dkim.match", DOCTOR_FAIL, "DKIM '%s': the published key is "
				   "not %s's: mail signed with it fails DKIM; publish the record below",
				   s->selector, s->key_path);
			publish_key(d, local, s->selector, s->key_path);
		}
		break;
	}
	}
	dkim_keycheck_clear(&kc);
	dkim_privkey_free(&local);
}

void doctor_dkim(struct doctor *d)
{
	for (size_t i = 0; i < d->n_selectors; i++)
		check_selector(d, &d->selectors[i]);
	if (d->n_selectors > 0)
		return;
	/* no selector given: look for keys, and say that they were guessed */
	struct doctor_finding *f = NULL;
	struct dkim_privkey *local = load_local(d, d->key_path, &f);
	struct found found[MAX_GUESSES];
	size_t tried, n = probe(d, local, found, &tried);
	if (n == 0) {
		f = doctor_say(d, "dkim", "dkim.present", DOCTOR_FAIL,
			       "no DKIM key found under %zu common selectors; give --selector (the one "
			       "your signer uses) or --keytable", tried);
		doctor_detail(d, f, "with --key and --selector, the record to publish is printed; "
			      "cachet-keys genkey makes a key and its record");
	}
	for (size_t i = 0; i < n; i++)
		doctor_say(d, "dkim", "dkim.guess", DOCTOR_INFO,
			   "a DKIM key is published under '%s'%s (found by guessing; give --selector "
			   "to check the one you sign with)", found[i].selector,
			   found[i].matches_local ? ", and it is the local key" : "");
	dkim_privkey_free(&local);
}
