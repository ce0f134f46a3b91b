/*
 * `cachet-keys testkey`: fetches SELECTOR._domainkey.DOMAIN (from the
 * system's resolver, --nameserver, or a zone file not yet loaded) and says
 * in words whether it holds the public half of a private key, the key's
 * type and size, its t= flags, and what is wrong with the record
 * (dkim_keycheck_answer: cut, quotes, spaces, several records, v= not
 * first, k= unknown, h= without sha256, revoked...).  rotate calls
 * keys_test() the same way before it switches anything.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "keys.h"
#include "xalloc.h"

const char *keys_test_result_name(enum keys_test_result r)
{
	switch (r) {
	case KEYS_TEST_MATCH: return "match";
	case KEYS_TEST_MISMATCH: return "mismatch";
	case KEYS_TEST_ABSENT: return "absent";
	case KEYS_TEST_BAD: return "bad";
	case KEYS_TEST_TEMP: return "temporary DNS failure";
	}
	return "?";
}

static void say_flags(FILE *out, const struct dkim_key *k)
{
	fputs("  flags:   ", out);
	if (!k->testing && !k->strict)
		fputs("none", out);
	if (k->testing)
		fputs("t=y (testing: receivers must treat the mail as if it were unsigned, "
		      "RFC 6376 3.6.1; drop it once signing works)", out);
	if (k->strict)
		fprintf(out, "%st=s (strict: the i= domain must be d= itself, no subdomain)",
			k->testing ? "; " : "");
	fputc('\n', out);
}

static void say_record(FILE *out, const char *name, const struct dns_answer *a,
		       const struct dkim_keycheck *kc)
{
	switch (kc->status) {
	case DKIM_KEYCHECK_ABSENT:
		fprintf(out, "%s: no TXT record (%s)\n", name, dns_status_name(a->status));
		return;
	case DKIM_KEYCHECK_TEMP:
		fprintf(out, "%s: the lookup failed (%s%s%s): nothing is known\n", name,
			dns_status_name(a->status), a->why != NULL ? ", " : "",
			a->why != NULL ? a->why : "");
		return;
	default:
		break;
	}
	fprintf(out, "%s: %zu TXT record%s", name, kc->records, kc->records == 1 ? "" : "s");
	if (kc->records == 1)
		fprintf(out, ", %zu octets", a->rr[0].u.txt.len);
	fputc('\n', out);
	if (kc->key != NULL) {
		if (kc->key->type == DKIM_KEY_ED25519)
			fputs("  type:    ed25519\n", out);
		else
			fprintf(out, "  type:    rsa, %d bits%s\n", kc->key->bits,
				kc->key->bits < 2048 && kc->key->bits >= DKIM_RSA_MIN_BITS
					? " (2048 is recommended)" : "");
		say_flags(out, kc->key);
	}
	for (size_t i = 0; i < kc->n_problems; i++)
		fprintf(out, "  problem: %s\n", kc->problem[i]);
}

enum keys_test_result keys_test(struct dns *dns, const char *domain, const char *selector,
				const struct dkim_privkey *key, const char *key_name, FILE *out)
{
	char *name = xasprintf("%s._domainkey.%s", selector, domain);
	struct dns_lookup *l;
	const struct dns_answer *a = dns_lookup_sync(dns, name, DNS_T_TXT, &l);
	struct dkim_keycheck kc;
	dkim_keycheck_answer(a, &kc);
	bool same = kc.key != NULL && dkim_key_matches(kc.key, key);
	enum keys_test_result r;
	switch (kc.status) {
	case DKIM_KEYCHECK_USABLE: r = same ? KEYS_TEST_MATCH : KEYS_TEST_MISMATCH; break;
	case DKIM_KEYCHECK_ABSENT: r = KEYS_TEST_ABSENT; break;
	case DKIM_KEYCHECK_TEMP: r = KEYS_TEST_TEMP; break;
	default: r = KEYS_TEST_BAD; break;
	}
	if (out != NULL) {
		say_record(out, name, a, &kc);
		fprintf(out, "  local:   %s (%s)\n", key_name, keys_key_words(key));
		switch (r) {
		case KEYS_TEST_MATCH:
			fprintf(out, "MATCH: the published key is the public half of %s\n", key_name);
			break;
		case KEYS_TEST_MISMATCH:
			fprintf(out, "NO MATCH: the published key is another key than %s's "
				     "(publish %s.txt's record, or test the right key file)\n",
				key_name, selector);
			break;
		case KEYS_TEST_BAD:
			fprintf(out, "NO MATCH: receivers cannot use this record%s\n",
				kc.key == NULL ? "" : same ? " (the key in it is the right one)"
							   : " (and the key in it is another key)");
			break;
		case KEYS_TEST_ABSENT:
			fprintf(out, "NO MATCH: nothing is published at %s yet\n", name);
			break;
		case KEYS_TEST_TEMP:
			fprintf(out, "NO MATCH: could not tell (DNS failed); try again\n");
			break;
		}
	}
	dkim_keycheck_clear(&kc);
	dns_lookup_free(&l);
	free(name);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet-keys testkey --domain D --selector S --key FILE [options]\n"
		   "  --dns-zone FILE        answer from this zone file (one not yet loaded)\n"
		   "  --nameserver IP[@PORT] ask this server (repeatable; default: the system's)\n"
		   "exit status: 0 the published key is FILE's, 1 it is not (or there is none,\n"
		   "or it is unusable), 2 usage\n");
}

enum { O_DOMAIN = 256, O_SEL, O_KEY, O_ZONE, O_NS };

int cmd_testkey(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "key", required_argument, NULL, O_KEY },
		{ "dns-zone", required_argument, NULL, O_ZONE },
		{ "nameserver", required_argument, NULL, O_NS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *domain = NULL, *selector = NULL, *key_path = NULL;
	struct keys_dns d = { 0 };
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_DOMAIN: domain = optarg; break;
		case O_SEL: selector = optarg; break;
		case O_KEY: key_path = optarg; break;
		case O_ZONE:
		case O_NS:
			if (keys_dns_option(&d, ch == O_ZONE, optarg, "testkey") < 0)
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (domain == NULL || selector == NULL || key_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	const char *bad = keys_name_problem(domain) != NULL ? keys_name_problem(domain)
							    : keys_name_problem(selector);
	if (bad != NULL) {
		fprintf(stderr, "cachet-keys testkey: %s %s\n",
			keys_name_problem(domain) != NULL ? domain : selector, bad);
		return 2;
	}
	char *err = NULL;
	struct dkim_privkey *key = dkim_privkey_load_file(key_path, true, &err);
	if (key == NULL) {
		fprintf(stderr, "cachet-keys testkey: %s\n", err);
		free(err);
		return 2;
	}
	struct dns *dns = keys_dns_open(&d, domain, "testkey");
	int rc = 2;
	if (dns != NULL) {
		rc = keys_test(dns, domain, selector, key, key_path, stdout) == KEYS_TEST_MATCH ? 0 : 1;
		dns_free(&dns);
	}
	dkim_privkey_free(&key);
	return rc;
}
