/*
 * `cachet-keys rotate` and `cachet-keys retire`: key rotation over
 * OpenDKIM-format tables (the KeyTable and SigningTable cachet-milterd
 * reads, or OpenDKIM's own).
 *
 * rotate makes (or, on a second run, reuses) DIR/SELECTOR.private, prints
 * the record to publish, and switches the tables only once testkey's check
 * sees that very key published (keys_test() == KEYS_TEST_MATCH), so no
 * message is ever signed with a key receivers cannot find.  Not published
 * yet: nothing is switched, exit 1, and the same command run again later
 * (same --selector) picks up where it stopped; --wait polls instead.  The
 * switch: the KeyTable gains the new key's line (after a comment line
 * recording the switch, see keys_switch_comment), then every SigningTable
 * entry that named a key of DOMAIN of the new key's type names the new
 * key.  Both new texts are loaded with the milter's own parsers before
 * either file is replaced, and each is replaced atomically, KeyTable
 * first: an interruption between the two leaves an unused key line, never
 * a SigningTable naming a missing key.  The milter picks the tables up on
 * SIGHUP.
 *
 * retire removes an old key's KeyTable line once no SigningTable entry
 * names it and --ttl seconds have passed since the switch that comment
 * recorded, then moves its key file aside (FILE.retired) or, with
 * --delete, deletes it.  It never touches DNS: the old record should stay
 * published until mail signed with it has been delivered.
 *
 * SigningTable entries whose key name is "%" (the key named after the
 * From: domain) are not rotated here: they are left alone, and said so.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "keytable.h"
#include "xalloc.h"

#define MAX_SWITCHED 256
#define DEFAULT_WAIT 3600
#define DEFAULT_INTERVAL 10
#define DEFAULT_TTL 86400

/* Both tables, read and parsed. */
struct tables {
	struct keys_table kt, st;
	struct keytable *k;
	struct dataset *sd;	/* the SigningTable's entries, with their lines */
};

static void tables_free(struct tables *t)
{
	keys_table_free(&t->kt);
	keys_table_free(&t->st);
	keytable_free(&t->k);
	dataset_free(&t->sd);
}

/* Loads both, the way the milter would.  0, or -1 after saying why. */
static int tables_load(struct tables *t, const char *kt_spec, const char *st_spec,
		       const char *cmd)
{
	memset(t, 0, sizeof(*t));
	if (keys_table_read(&t->kt, "KeyTable", kt_spec, cmd) < 0 ||
	    keys_table_read(&t->st, "SigningTable", st_spec, cmd) < 0)
		return -1;
	if (t->kt.type == DATASET_REFILE) {
		fprintf(stderr, "cachet-keys %s: KeyTable %s: refile: is for a SigningTable\n", cmd,
			kt_spec);
		return -1;
	}
	char *err = NULL;
	t->k = keytable_parse(DATASET_FILE, t->kt.path, t->kt.text.p, t->kt.text.len, &err);
	struct signtable *s = t->k == NULL ? NULL
			    : signtable_parse(t->st.type, t->st.path, t->st.text.p,
					      t->st.text.len, t->k, &err);
	if (s != NULL)
		t->sd = dataset_parse("SigningTable", t->st.type, t->st.path, t->st.text.p,
				      t->st.text.len, &err);
	signtable_free(&s);
	if (t->sd == NULL) {
		fprintf(stderr, "cachet-keys %s: %s\n", cmd, err);
		free(err);
		return -1;
	}
	return 0;
}

/* Would the milter load these texts?  0, or -1 after saying why. */
static int texts_load(const struct tables *t, const struct buf *kt, const struct buf *st,
		      const char *cmd)
{
	char *err = NULL;
	struct keytable *k = keytable_parse(DATASET_FILE, t->kt.path, kt->p, kt->len, &err);
	struct signtable *s = k == NULL ? NULL
			    : signtable_parse(t->st.type, t->st.path, st->p, st->len, k, &err);
	int rc = s != NULL ? 0 : -1;
	if (rc < 0) {
		fprintf(stderr, "cachet-keys %s: the edited tables would not load (nothing was "
				"changed): %s\n", cmd, err);
		free(err);
	}
	signtable_free(&s);
	keytable_free(&k);
	return rc;
}

/* The KeyTable name a SigningTable entry's value names (up to ':'); free() it. */
static char *entry_keyname(const struct dataset_entry *e)
{
	const char *v = e->value != NULL ? e->value : "";
	return xstrndup(v, strcspn(v, ":"));
}

static const struct keytable_entry *find_key(const struct keytable *k, const char *domain,
					     const char *selector)
{
	for (size_t i = 0; i < keytable_count(k); i++) {
		const struct keytable_entry *e = keytable_entry_at(k, i);
		if (strcasecmp(e->domain, domain) == 0 && strcmp(e->selector, selector) == 0)
			return e;
	}
	return NULL;
}

/*
 * The type of an entry's key: the KeyTable's algorithm field, else the key
 * file's; false when it cannot be told (an inline key, "%" in the name, a
 * file that does not load).
 */
static bool entry_type(const struct keytable_entry *e, enum dkim_key_type *t)
{
	if (e->alg != KEYTABLE_ALG_AUTO) {
		*t = e->alg == KEYTABLE_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
		return true;
	}
	if (!e->key_is_file || strchr(e->key, '%') != NULL)
		return false;
	char *err = NULL;
	struct dkim_privkey *key = dkim_privkey_load_file(e->key, true, &err);
	free(err);
	if (key == NULL)
		return false;
	*t = key->type;
	dkim_privkey_free(&key);
	return true;
}

/* ---- rotate ---- */

struct rotate_opts {
	const char *keytable, *signingtable, *domain, *dir, *selector;
	struct keys_genkey gen;
	bool wait;
	long long wait_secs, interval;
	struct keys_dns dns;
};

/* What the switch changes: SigningTable lines, and the key names they leave. */
struct plan {
	struct keys_edit edits[MAX_SWITCHED];
	size_t n_edits;
	const char *old[MAX_SWITCHED];
	size_t n_old;
	size_t skipped_other_type, percent;
	char *names[MAX_SWITCHED];	/* owned: the key names read */
	size_t n_names;
	const char *dir;		/* the directory of a current key file of the domain */
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
}

/* Which SigningTable entries name a key of the domain (of the new key's type). */
static void plan_switch(const struct tables *t, const char *domain, const char *new_name,
		       enum dkim_key_type type, struct plan *p)
{
	for (size_t i = 0; i < t->sd->n; i++) {
		char *name = entry_keyname(&t->sd->v[i]);
		const struct keytable_entry *e = keytable_find(t->k, name);
		if (strcmp(name, "%") == 0) {
			p->percent++;
			free(name);
			continue;
		}
		if (e == NULL || strcasecmp(e->domain, domain) != 0 || strcmp(name, new_name) == 0 ||
		    p->n_edits == MAX_SWITCHED) {
			free(name);
			continue;
		}
		enum dkim_key_type et;
		if (entry_type(e, &et) && et != type) {
			p->skipped_other_type++;
			free(name);
			continue;
		}
		if (p->dir == NULL && e->key_is_file && strchr(e->key, '%') == NULL)
			p->dir = e->key;
		p->edits[p->n_edits++] = (struct keys_edit){ t->sd->v[i].line, new_name };
		bool seen = false;
		for (size_t k = 0; k < p->n_old && !seen; k++)
			seen = strcmp(p->old[k], name) == 0;
		p->names[p->n_names++] = name;
		if (!seen)
			p->old[p->n_old++] = name;
	}
}

static void usage_rotate(FILE *f)
{
	fprintf(f, "usage: cachet-keys rotate --keytable FILE --signingtable FILE --domain D [options]\n"
		   "  --selector S           the new selector (default: today, YYYYMMDD, UTC)\n"
		   "  --dir DIR              where the new key goes (default: beside the current one)\n"
		   "  --type rsa|ed25519     key type (default rsa)   --bits N  (default 2048)\n"
		   "  --wait[=SECONDS]       poll until the record is published (default 3600 s)\n"
		   "  --interval SECONDS     between polls (default 10)\n"
		   "  --dns-zone FILE | --nameserver IP[@PORT]   where to look for the record\n"
		   "The tables are switched only once the new record is published.\n"
		   "exit status: 0 switched (or already), 1 not switched (not published), 2 usage\n");
}

enum { O_KT = 256, O_ST, O_DOMAIN, O_DIR, O_SEL, O_TYPE, O_BITS, O_WAIT, O_INTERVAL,
       O_ZONE, O_NS, O_TTL, O_DELETE };

static int rotate_args(int argc, char **argv, struct rotate_opts *o)
{
	static const struct option longopts[] = {
		{ "keytable", required_argument, NULL, O_KT },
		{ "signingtable", required_argument, NULL, O_ST },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "dir", required_argument, NULL, O_DIR },
		{ "selector", required_argument, NULL, O_SEL },
		{ "type", required_argument, NULL, O_TYPE },
		{ "bits", required_argument, NULL, O_BITS },
		{ "wait", optional_argument, NULL, O_WAIT },
		{ "interval", required_argument, NULL, O_INTERVAL },
		{ "dns-zone", required_argument, NULL, O_ZONE },
		{ "nameserver", required_argument, NULL, O_NS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long long bits = KEYS_RSA_DEFAULT_BITS;
	o->wait_secs = DEFAULT_WAIT;
	o->interval = DEFAULT_INTERVAL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const char *arg = optarg;
		switch (ch) {
		case O_KT: o->keytable = arg; break;
		case O_ST: o->signingtable = arg; break;
		case O_DOMAIN: o->domain = arg; break;
		case O_DIR: o->dir = arg; break;
		case O_SEL: o->selector = arg; break;
		case O_TYPE:
			if (strcmp(arg, "rsa") != 0 && strcmp(arg, "ed25519") != 0) {
				fprintf(stderr, "cachet-keys rotate: --type: rsa or ed25519\n");
				return -1;
			}
			o->gen.type = arg[0] == 'e' ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
			break;
		case O_BITS:
			if (keys_parse_number(arg, DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS, &bits) < 0) {
				fprintf(stderr, "cachet-keys rotate: --bits: %d to %d (receivers ignore "
						"RSA keys under 1024 bits, RFC 8301 3.2)\n",
					DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
				return -1;
			}
			break;
		case O_WAIT:
			o->wait = true;
			/* "--wait 600" as well as "--wait=600" */
			if (arg == NULL && optind < argc && argv[optind][0] >= '0' &&
			    argv[optind][0] <= '9')
				arg = argv[optind++];
			if (arg != NULL && keys_parse_number(arg, 0, 7 * 86400, &o->wait_secs) < 0) {
				fprintf(stderr, "cachet-keys rotate: --wait: seconds (at most a week)\n");
				return -1;
			}
			break;
		case O_INTERVAL:
			if (keys_parse_number(arg, 1, 3600, &o->interval) < 0) {
				fprintf(stderr, "cachet-keys rotate: --interval: 1 to 3600 seconds\n");
				return -1;
			}
			break;
		case O_ZONE:
		case O_NS:
			if (keys_dns_option(&o->dns, ch == O_ZONE, arg, "rotate") < 0)
				return -1;
			break;
		case 'h': usage_rotate(stdout); exit(0);
		default: usage_rotate(stderr); return -1;
		}
	}
	if (o->keytable == NULL || o->signingtable == NULL || o->domain == NULL || optind != argc) {
		usage_rotate(stderr);
		return -1;
	}
	o->gen.bits = (int)bits;
	return 0;
}

/* The key to switch to: the file at path if there is one (an earlier run's), else a new one. */
static struct dkim_privkey *new_key(struct rotate_opts *o, const char *dir, char **path_r)
{
	char *path = xasprintf("%s/%s.private", dir, o->selector);
	struct stat st;
	if (stat(path, &st) == 0) {
		char *err = NULL;
		struct dkim_privkey *key = dkim_privkey_load_file(path, true, &err);
		if (key == NULL) {
			fprintf(stderr, "cachet-keys rotate: %s exists and is not a usable key "
					"(%s); choose another --selector\n", path, err);
			free(err);
			free(path);
			return NULL;
		}
		fprintf(stderr, "using the key already in %s (made by an earlier rotate)\n", path);
		*path_r = path;
		return key;
	}
	free(path);
	o->gen.domain = o->domain;
	o->gen.selector = o->selector;
	o->gen.dir = dir;
	return keys_generate(&o->gen, "rotate", path_r);
}

/* Tests until it matches or --wait runs out; progress on a terminal only. */
static enum keys_test_result wait_published(const struct rotate_opts *o,
					    const struct dkim_privkey *key, const char *path)
{
	bool tty = isatty(STDERR_FILENO);
	time_t start = time(NULL);
	enum keys_test_result r = KEYS_TEST_TEMP;
	for (bool first = true;; first = false) {
		struct dns *dns = keys_dns_open(&o->dns, o->domain, "rotate");
		if (dns == NULL)
			return KEYS_TEST_TEMP;
		r = keys_test(dns, o->domain, o->selector, key, path, first ? stdout : NULL);
		dns_free(&dns);
		long long left = o->wait_secs - (long long)(time(NULL) - start);
		if (r == KEYS_TEST_MATCH || !o->wait || left <= 0)
			break;
		if (first)
			fflush(stdout);
		if (tty)
			fprintf(stderr, "\rwaiting for %s._domainkey.%s to be published: %s, "
					"%lld s left   ", o->selector, o->domain,
				keys_test_result_name(r), left);
		sleep((unsigned)(o->interval < left ? o->interval : left));
	}
	if (tty && o->wait)
		fputc('\n', stderr);
	return r;
}

static int do_switch(const struct tables *t, const struct rotate_opts *o, const char *new_name,
		     bool new_entry, const char *path, const struct plan *p)
{
	struct buf append, kt, st;
	buf_init(&append, 0);
	buf_init(&kt, DATASET_MAX_FILE);
	buf_init(&st, DATASET_MAX_FILE);
	keys_switch_comment(&append, o->domain, p->old, p->n_old, new_name, time(NULL));
	if (new_entry)
		buf_printf(&append, "%s %s:%s:%s\n", new_name, o->domain, o->selector, path);
	keys_table_edit(&t->kt, NULL, 0, append.p, &kt);
	keys_table_edit(&t->st, p->edits, p->n_edits, NULL, &st);
	int rc = 2;
	if (texts_load(t, &kt, &st, "rotate") == 0 &&
	    keys_table_replace(&t->kt, kt.p, kt.len, "rotate") == 0 &&
	    keys_table_replace(&t->st, st.p, st.len, "rotate") == 0) {
		rc = 0;
		printf("switched: KeyTable %s has %s (%s:%s:%s)\n", t->kt.path, new_name, o->domain,
		       o->selector, path);
		printf("          SigningTable %s: %zu entr%s now name it (line%s", t->st.path,
		       p->n_edits, p->n_edits == 1 ? "y" : "ies", p->n_edits == 1 ? "" : "s");
		for (size_t i = 0; i < p->n_edits; i++)
			printf("%s%u", i == 0 ? " " : ", ", p->edits[i].line);
		printf("), instead of");
		for (size_t i = 0; i < p->n_old; i++)
			printf("%s%s", i == 0 ? " " : ", ", p->old[i]);
		printf("\nreload cachet-milterd to sign with it: kill -HUP $(cat "
		       "/run/cachet/cachet-milterd.pid), or systemctl reload cachet-milterd\n"
		       "keep the old record%s published; remove the old key from the KeyTable "
		       "later with cachet-keys retire\n", p->n_old == 1 ? "" : "s");
	}
	buf_free(&append);
	buf_free(&kt);
	buf_free(&st);
	return rc;
}

static int rotate(struct rotate_opts *o, struct tables *t)
{
	char today[16];
	if (o->selector == NULL) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y%m%d", &tm);
		o->selector = today;
	}
	const char *bad;
	if ((bad = keys_name_problem(o->domain)) != NULL ||
	    (bad = keys_name_problem(o->selector)) != NULL) {
		fprintf(stderr, "cachet-keys rotate: %s %s\n",
			keys_name_problem(o->domain) != NULL ? o->domain : o->selector, bad);
		return 2;
	}
	const struct keytable_entry *have = find_key(t->k, o->domain, o->selector);
	char *new_name = have != NULL ? xstrdup(have->name)
				      : xasprintf("%s._domainkey.%s", o->selector, o->domain);
	if (have == NULL && keytable_find(t->k, new_name) != NULL) {
		fprintf(stderr, "cachet-keys rotate: KeyTable %s already has a key named %s for "
				"another domain or selector\n", t->kt.path, new_name);
		free(new_name);
		return 2;
	}
	struct plan p = { 0 };
	plan_switch(t, o->domain, new_name, o->gen.type, &p);
	int rc = 2;
	char *path = NULL, *dircopy = NULL;
	struct dkim_privkey *key = NULL;
	if (p.n_edits == 0) {
		bool already = false;
		for (size_t i = 0; i < t->sd->n && !already; i++) {
			char *name = entry_keyname(&t->sd->v[i]);
			already = strcmp(name, new_name) == 0;
			free(name);
		}
		if (already) {
			printf("already switched: the SigningTable names %s for %s\n", new_name,
			       o->domain);
			rc = 0;
		} else {
			fprintf(stderr, "cachet-keys rotate: no SigningTable entry names a %s key of "
					"%s: nothing to switch%s\n", dkim_key_type_name(o->gen.type),
				o->domain, p.percent > 0 ? " (entries naming \"%\" are left alone: "
							   "the key named after the From: domain)" : "");
		}
		goto out;
	}
	if (have != NULL && have->key_is_file) {
		char *err = NULL;
		path = xstrdup(have->key);
		key = dkim_privkey_load_file(path, true, &err);
		if (key == NULL) {
			fprintf(stderr, "cachet-keys rotate: %s\n", err);
			free(err);
			goto out;
		}
	} else if (have != NULL) {
		fprintf(stderr, "cachet-keys rotate: KeyTable entry %s holds its key inline; "
				"rotate needs a key file\n", new_name);
		goto out;
	} else {
		const char *dir = o->dir;
		if (dir == NULL) {
			dircopy = xstrdup(p.dir != NULL ? p.dir : t->kt.path);
			dir = dirname(dircopy);
		}
		char *rel = NULL;
		key = new_key(o, dir, &rel);
		if (key == NULL) {
			rc = 1;
			goto out;
		}
		/* a KeyTable file name must start with "/", "./" or "../" */
		path = realpath(rel, NULL);
		free(rel);
		if (path == NULL) {
			fprintf(stderr, "cachet-keys rotate: %s\n", strerror(errno));
			goto out;
		}
	}
	struct buf rec;
	buf_init(&rec, 0);
	dkim_privkey_zone_record(key, o->selector, o->domain, &rec);
	printf("publish this record in the zone of %s:\n%s\n", o->domain, rec.p);
	buf_free(&rec);
	fflush(stdout);
	enum keys_test_result r = wait_published(o, key, path);
	if (r != KEYS_TEST_MATCH) {
		printf("not switched: %s._domainkey.%s is %s%s; the tables are unchanged.\n"
		       "Publish the record above, then run the same command again with "
		       "--selector %s (or add --wait).\n",
		       o->selector, o->domain,
		       r == KEYS_TEST_ABSENT ? "not published yet" : keys_test_result_name(r),
		       r == KEYS_TEST_MISMATCH ? " (another key)" : "", o->selector);
		rc = 1;
		goto out;
	}
	rc = do_switch(t, o, new_name, have == NULL, path, &p);
out:
	dkim_privkey_free(&key);
	free(path);
	free(dircopy);
	plan_free(&p);
	free(new_name);
	return rc;
}

int cmd_rotate(int argc, char **argv)
{
	struct rotate_opts o = { 0 };
	if (rotate_args(argc, argv, &o) < 0)
		return 2;
	struct tables t;
	int rc = 2;
	if (tables_load(&t, o.keytable, o.signingtable, "rotate") == 0)
		rc = rotate(&o, &t);
	tables_free(&t);
	return rc;
}

/* ---- retire ---- */

struct retire_opts {
	const char *keytable, *signingtable, *domain, *selector;
	long long ttl;
	bool delete;
};

static void usage_retire(FILE *f)
{
	fprintf(f, "usage: cachet-keys retire --keytable FILE --signingtable FILE --domain D "
		   "--selector S [options]\n"
		   "  --ttl SECONDS          time since the switch before the key may go\n"
		   "                         (default 86400; 0: now, even with no switch recorded)\n"
		   "  --delete               delete the key file (default: rename it FILE.retired)\n"
		   "exit status: 0 retired, 1 not (still in use, or too soon), 2 usage\n");
}

static int retire_args(int argc, char **argv, struct retire_opts *o)
{
	static const struct option longopts[] = {
		{ "keytable", required_argument, NULL, O_KT },
		{ "signingtable", required_argument, NULL, O_ST },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "delete", no_argument, NULL, O_DELETE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	o->ttl = DEFAULT_TTL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_KT: o->keytable = optarg; break;
		case O_ST: o->signingtable = optarg; break;
		case O_DOMAIN: o->domain = optarg; break;
		case O_SEL: o->selector = optarg; break;
		case O_DELETE: o->delete = true; break;
		case O_TTL:
			if (keys_parse_number(optarg, 0, 10LL * 365 * 86400, &o->ttl) < 0) {
				fprintf(stderr, "cachet-keys retire: --ttl: seconds\n");
				return -1;
			}
			break;
		case 'h': usage_retire(stdout); exit(0);
		default: usage_retire(stderr); return -1;
		}
	}
	if (o->keytable == NULL || o->signingtable == NULL || o->domain == NULL ||
	    o->selector == NULL || optind != argc) {
		usage_retire(stderr);
		return -1;
	}
	return 0;
}

/* Still named by the SigningTable?  Says where. */
static bool still_used(const struct tables *t, const char *name)
{
	bool used = false;
	for (size_t i = 0; i < t->sd->n; i++) {
		char *k = entry_keyname(&t->sd->v[i]);
		if (strcmp(k, name) == 0) {
			fprintf(stderr, "cachet-keys retire: %s is still used: SigningTable %s line %u; "
					"rotate first\n", name, t->st.path, t->sd->v[i].line);
			used = true;
		}
		free(k);
	}
	return used;
}

static bool ttl_passed(const struct tables *t, const struct retire_opts *o, const char *name)
{
	if (o->ttl == 0)
		return true;
	time_t when;
	if (keys_switch_time(&t->kt, name, &when) < 0) {
		fprintf(stderr, "cachet-keys retire: KeyTable %s records no switch away from %s "
				"(cachet-keys rotate writes one); to retire it all the same, --ttl 0\n",
			t->kt.path, name);
		return false;
	}
	time_t due = when + (time_t)o->ttl, now = time(NULL);
	if (now < due) {
		char date[32];
		struct tm tm;
		gmtime_r(&due, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "cachet-keys retire: %s was switched away from %lld s ago; with "
				"--ttl %lld it may go from %s UTC on\n", name,
			(long long)(now - when), o->ttl, date);
		return false;
	}
	return true;
}

/* Moves the key file aside (or deletes it) unless another entry uses it. */
static void retire_file(const struct tables *t, const struct keytable_entry *e, bool delete)
{
	if (!e->key_is_file || strchr(e->key, '%') != NULL) {
		printf("its key was %s: no file to move\n", e->key_is_file ? "a file name with %" : "inline");
		return;
	}
	for (size_t i = 0; i < keytable_count(t->k); i++) {
		const struct keytable_entry *o = keytable_entry_at(t->k, i);
		if (o != e && o->key_is_file && strcmp(o->key, e->key) == 0) {
			printf("its key file %s stays: KeyTable entry %s uses it too\n", e->key, o->name);
			return;
		}
	}
	if (delete) {
		if (unlink(e->key) == 0)
			printf("deleted its key file %s\n", e->key);
		else
			printf("could not delete its key file %s: %s\n", e->key, strerror(errno));
		return;
	}
	char *to = xasprintf("%s.retired", e->key);
	for (int n = 2; access(to, F_OK) == 0 && n < 100; n++) {
		free(to);
		to = xasprintf("%s.retired.%d", e->key, n);
	}
	if (rename(e->key, to) == 0)
		printf("moved its key file %s aside to %s (delete it when you like)\n", e->key, to);
	else
		printf("could not move its key file %s: %s\n", e->key, strerror(errno));
	free(to);
}

static int retire(const struct retire_opts *o, const struct tables *t)
{
	const struct keytable_entry *e = find_key(t->k, o->domain, o->selector);
	if (e == NULL) {
		fprintf(stderr, "cachet-keys retire: KeyTable %s has no key for %s with selector %s\n",
			t->kt.path, o->domain, o->selector);
		return 1;
	}
	if (still_used(t, e->name) || !ttl_passed(t, o, e->name))
		return 1;
	struct keys_edit drop = { e->line, NULL };
	struct buf kt;
	buf_init(&kt, DATASET_MAX_FILE);
	keys_table_edit(&t->kt, &drop, 1, NULL, &kt);
	int rc = 2;
	if (texts_load(t, &kt, &t->st.text, "retire") == 0 &&
	    keys_table_replace(&t->kt, kt.p, kt.len, "retire") == 0) {
		printf("retired %s: its line (%u) is gone from KeyTable %s\n", e->name, e->line,
		       t->kt.path);
		retire_file(t, e, o->delete);
		printf("reload cachet-milterd; remove %s._domainkey.%s from DNS once mail signed "
		       "with it has been delivered (a week is plenty)\n", o->selector, o->domain);
		rc = 0;
	}
	buf_free(&kt);
	return rc;
}

int cmd_retire(int argc, char **argv)
{
	struct retire_opts o = { 0 };
	if (retire_args(argc, argv, &o) < 0)
		return 2;
	struct tables t;
	int rc = 2;
	if (tables_load(&t, o.keytable, o.signingtable, "retire") == 0)
		rc = retire(&o, &t);
	tables_free(&t);
	return rc;
}
