/*
 * cachet-keys: DKIM keys for the people who publish them.  One entry
 * point per subcommand (genkey.c, testkey.c, rotate.c), the pieces they
 * share, and the table editor (tables.c).  It links lib/mail, lib/dns and
 * lib/util only: no pipeline, no libspf2, no libmilter.
 *
 * Exit statuses, for every subcommand: 0 done (testkey: the key matches),
 * 1 not done (testkey: no match; rotate: the record is not published, so
 * nothing was switched), 2 usage or a table that does not load.
 */
#ifndef CACHET_KEYS_H
#define CACHET_KEYS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "dataset.h"
#include "dkim.h"
#include "dns.h"

#define KEYS_MAX_NAMESERVERS 8
#define KEYS_RSA_DEFAULT_BITS 2048

int cmd_genkey(int argc, char **argv);
int cmd_testkey(int argc, char **argv);
int cmd_rotate(int argc, char **argv);
int cmd_retire(int argc, char **argv);

/* Where DNS answers come from: a zone file, name servers, or the system's resolver. */
struct keys_dns {
	const char *zone;
	const char *nameservers[KEYS_MAX_NAMESERVERS + 1];
	size_t n_nameservers;
};

/* --dns-zone / --nameserver: 0, or -1 after saying why on stderr. */
int keys_dns_option(struct keys_dns *d, bool zone, const char *arg, const char *cmd);
/*
 * A resolver for these options (a new one each time: no answers cached);
 * relative names in a --dns-zone file are relative to domain.  NULL after
 * saying why.
 */
struct dns *keys_dns_open(const struct keys_dns *d, const char *domain, const char *cmd);

/* Is s a domain name or selector we will write into files and records? NULL, or why not. */
const char *keys_name_problem(const char *s);

/* "rsa, 2048 bits" or "ed25519" (static storage, overwritten by the next call). */
const char *keys_key_words(const struct dkim_privkey *key);

/* A whole number in [min, max].  0, or -1. */
int keys_parse_number(const char *s, long long min, long long max, long long *v_r);

/* ---- genkey.c ---- */

struct keys_genkey {
	const char *domain, *selector, *dir;
	enum dkim_key_type type;
	int bits;		/* RSA only */
};

/*
 * Makes a key and writes DIR/SELECTOR.private (PEM PKCS#8, mode 0600) and
 * DIR/SELECTOR.txt (the record in master-file syntax); never replaces an
 * existing file (O_EXCL), and leaves neither behind on failure.  Returns
 * the key (free with dkim_privkey_free), or NULL after saying why on stderr.
 * *private_r gets the key file's path (free()).
 */
struct dkim_privkey *keys_generate(const struct keys_genkey *g, const char *cmd,
				   char **private_r);

/* ---- testkey.c ---- */

enum keys_test_result {
	KEYS_TEST_MATCH,	/* one usable record, and it is the key's public half */
	KEYS_TEST_MISMATCH,	/* one usable record holding another key */
	KEYS_TEST_ABSENT,	/* no record */
	KEYS_TEST_BAD,		/* records that give no usable key */
	KEYS_TEST_TEMP,		/* DNS failed: nothing is known */
};

/*
 * Fetches SELECTOR._domainkey.DOMAIN and compares it with key.  With out,
 * says everything in words there (key_name names the key in them).
 */
enum keys_test_result keys_test(struct dns *dns, const char *domain, const char *selector,
				const struct dkim_privkey *key, const char *key_name, FILE *out);
/* "match", "mismatch", "absent", "bad", "temporary DNS failure". */
const char *keys_test_result_name(enum keys_test_result r);

/* ---- tables.c: OpenDKIM KeyTable / SigningTable files, edited in place ---- */

/* A table file read whole: the text edits are made against. */
struct keys_table {
	char *spec;		/* as given ("refile:/etc/x", "/etc/x") */
	char *path;		/* the file itself (symbolic links resolved) */
	enum dataset_type type;	/* file or refile (csl: is refused: no file to edit) */
	struct buf text;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

/* 0, or -1 after saying why on stderr.  Free with keys_table_free. */
int keys_table_read(struct keys_table *t, const char *what, const char *spec, const char *cmd);
void keys_table_free(struct keys_table *t);

/*
 * Replaces the file's contents with text atomically: a temporary file in
 * the same directory with the file's mode (and owner, when run as root),
 * written, synced, renamed over it, the directory synced.  0, or -1 after
 * saying why (the file is then unchanged).
 */
int keys_table_replace(const struct keys_table *t, const char *text, size_t len,
		       const char *cmd);

/* One change to a line of a table: its value's key name replaced, or the line dropped. */
struct keys_edit {
	unsigned line;		/* from 1 */
	const char *keyname;	/* the new key name; NULL drops the line */
};

/*
 * The table's text with the edits made and `append` (whole lines, or
 * NULL) added at the end, into out.  Every other line, comments and blank
 * lines included, is kept byte for byte.  A key name is the value's first
 * word up to ':' (SigningTable "KEYNAME[:SIGNER]"); what follows it stays.
 */
void keys_table_edit(const struct keys_table *t, const struct keys_edit *edits, size_t n,
		     const char *append, struct buf *out);

/*
 * The line rotate writes into the KeyTable when it switches, and retire
 * reads (a comment: OpenDKIM and cachet-milterd skip it):
 *	# cachet-keys: switched DOMAIN from OLD[,OLD...] to NEW at UNIXTIME (DATE UTC)
 */
void keys_switch_comment(struct buf *out, const char *domain, const char *const *old,
			 size_t n_old, const char *new_name, time_t when);
/* The latest switch away from key name `name` in t: 0 with *when_r, or -1 if none. */
int keys_switch_time(const struct keys_table *t, const char *name, time_t *when_r);

#endif
