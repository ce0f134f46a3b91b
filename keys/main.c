/*
 * cachet-keys: DKIM keys for a domain, from making them to retiring them.
 *
 *	cachet-keys genkey   make a key pair and the record to publish
 *	cachet-keys testkey  is the published record this key's, and sound?
 *	cachet-keys rotate   a new key, switched into the tables once published
 *	cachet-keys retire   an old key out of the KeyTable, its file aside
 *
 * This file dispatches and holds what the subcommands share: the DNS
 * options and the name checks.  See doc/cachet-keys.1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "keytable.h"
#include "log.h"
#include "xalloc.h"

#define VERSION "0.1.0"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "genkey", cmd_genkey, "make a key pair and print the DNS record to publish" },
	{ "testkey", cmd_testkey, "check the published record against a private key" },
	{ "rotate", cmd_rotate, "new key; switch the tables once its record is published" },
	{ "retire", cmd_retire, "remove an old key no table uses any more" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: cachet-keys COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n`cachet-keys COMMAND --help` describes a command's options; "
		   "man -l doc/cachet-keys.1 has the rest.\n");
}

int keys_dns_option(struct keys_dns *d, bool zone, const char *arg, const char *cmd)
{
	if (zone) {
		d->zone = arg;
	} else if (d->n_nameservers == KEYS_MAX_NAMESERVERS) {
		fprintf(stderr, "cachet-keys %s: at most %d --nameserver\n", cmd,
			KEYS_MAX_NAMESERVERS);
		return -1;
	} else {
		d->nameservers[d->n_nameservers++] = arg;
	}
	if (d->zone != NULL && d->n_nameservers > 0) {
		fprintf(stderr, "cachet-keys %s: --dns-zone or --nameserver, not both\n", cmd);
		return -1;
	}
	return 0;
}

struct dns *keys_dns_open(const struct keys_dns *d, const char *domain, const char *cmd)
{
	struct dns_options o = { 0 };
	o.test_zone = d->zone;
	o.test_zone_origin = domain;
	if (d->n_nameservers > 0)
		o.nameservers = d->nameservers;
	char *error = NULL;
	struct dns *dns = dns_new(&o, &error);
	if (dns == NULL) {
		fprintf(stderr, "cachet-keys %s: %s\n", cmd, error);
		free(error);
	}
	return dns;
}

const char *keys_name_problem(const char *s)
{
	return keytable_name_problem(s, strlen(s));
}

const char *keys_key_words(const struct dkim_privkey *key)
{
	static char words[64];
	if (key->type == DKIM_KEY_ED25519)
		snprintf(words, sizeof(words), "ed25519");
	else
		snprintf(words, sizeof(words), "rsa, %d bits", key->bits);
	return words;
}

int keys_parse_number(const char *s, long long min, long long max, long long *v_r)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

int main(int argc, char **argv)
{
	log_open("cachet-keys", true, LOG_MAIL);
	log_set_level(LOG_WARNING);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("cachet-keys %s\n", VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cachet-keys: unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}
