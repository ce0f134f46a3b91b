/*
 * DKIM signing tables in OpenDKIM's formats (opendkim.conf(5): KeyTable,
 * SigningTable, MultipleSignatures, and the single-key Domain / Selector /
 * KeyFile form), so an existing OpenDKIM setup's tables work unchanged.
 * This module answers one question: which keys sign a message from a given
 * From: address.  It reads no private key; the signer does.
 *
 * KeyTable: each entry maps a key name to "DOMAIN:SELECTOR:KEY":
 *
 *	rsa2024   example.com:s2024:/etc/dkim/example.com.private
 *	ed2024    example.com:e2024:/etc/dkim/example.com.ed25519:ed25519-sha256
 *	anydomain %:mail:/etc/dkim/%.private
 *
 *  - DOMAIN "%" alone means the sender's domain (the From: domain).
 *  - KEY starting with "/", "./" or "../" is a file, in whose name every
 *    "%" becomes the signing domain; anything else is an inline key
 *    (base64 DER; PEM cannot sit on one line), as in OpenDKIM.
 *  - cachet's extension: an optional fourth field, ":rsa-sha256" or
 *    ":ed25519-sha256", names the algorithm.  OpenDKIM has no such field
 *    (it reads everything after the second colon as KEY), so the field is
 *    taken only when it is exactly one of those names; without it the
 *    signer picks the algorithm from the key's type.
 *
 * SigningTable: each entry maps a sender pattern to "KEYNAME[:SIGNER]";
 * KEYNAME "%" alone means the KeyTable entry named like the From: domain,
 * and in SIGNER (the i= identity) every "%" becomes the From: domain.  Key
 * names are checked against the KeyTable when the SigningTable loads.
 * Which entries match a sender user@host:
 *
 *  - refile: the keys are patterns where "*" matches any run of
 *    characters, compared with "user@host" without regard to case; entries
 *    are tried in file order.
 *  - file: and csl: tables are looked up for these keys, in this order
 *    (OpenDKIM's order; case does not matter):
 *	user@host, host, then for each parent domain P of host, nearest
 *	first: user@.P and .P; then user@*, and last *.
 *    So "a.example.com" tries ".example.com" and ".com", never
 *    ".a.example.com": ".example.com" means "below example.com".
 *
 * Without MultipleSignatures the first matching entry is the answer; with
 * it, every matching entry, in the order above (cachet also returns every
 * line of a file: table that has the same key, in file order, where
 * OpenDKIM takes the first only).  A key name already chosen is not
 * returned twice.
 *
 * Tables are built at configuration time and never changed; lookups only
 * read them and are safe from any number of threads.  Data set forms and
 * their limits: see dataset.h.
 */
#ifndef CACHET_KEYTABLE_H
#define CACHET_KEYTABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "dataset.h"

/* The most keys one lookup will hand back (RSA + Ed25519 and a few more). */
#define KEYTABLE_MAX_SIGNATURES 8
/* Longest local part and domain a lookup accepts (RFC 5321 4.5.3.1.1 says
 * 64 for the local part; mail in the wild runs longer). */
#define KEYTABLE_MAX_LOCAL 256
#define KEYTABLE_MAX_DOMAIN 253
#define KEYTABLE_MAX_PATH 4096
#define KEYTABLE_MAX_IDENTITY 1024

enum keytable_alg {
	KEYTABLE_ALG_AUTO,		/* not given: from the key's type */
	KEYTABLE_ALG_RSA_SHA256,	/* RFC 6376 3.3 */
	KEYTABLE_ALG_ED25519_SHA256,	/* RFC 8463 */
};

struct keytable_entry {
	char *name;		/* the key name */
	char *domain;		/* d=, or "%" for the sender's domain */
	char *selector;		/* s= */
	char *key;		/* a file name (may hold "%") or inline key data */
	bool key_is_file;
	enum keytable_alg alg;
	unsigned line;		/* where it was defined */
};

struct keytable;
struct signtable;

/* One key that signs the message; strings live in the caller's arena. */
struct signing_key {
	const char *name;	/* KeyTable key name */
	const char *domain;	/* d=, "%" resolved, lower case if it was "%" */
	const char *selector;	/* s= */
	const char *key_path;	/* file holding the private key ("%" resolved), or NULL */
	const char *key_data;	/* inline private key, or NULL (exactly one is set) */
	enum keytable_alg alg;
	const char *identity;	/* i= from the SigningTable ("%" resolved), or NULL */
};

/*
 * Loads a KeyTable from a data set spec ("file:/etc/dkim/keytable", an
 * absolute path, "csl:name=dom:sel:/key,..."; refile: is refused).  On
 * failure returns NULL and sets *error_r (free() it), naming the file and
 * line: "KeyTable /etc/x:3: expected DOMAIN:SELECTOR:KEYPATH after 'foo'".
 * Free the table with keytable_free().
 */
struct keytable *keytable_load(const char *spec, char **error_r);
/* The same from text in memory (tests, fuzzing); origin names it in errors. */
struct keytable *keytable_parse(enum dataset_type type, const char *origin, const char *text,
				size_t len, char **error_r);
void keytable_free(struct keytable **kt);

size_t keytable_count(const struct keytable *kt);
/* Entries in the order they were defined; i < keytable_count(). */
const struct keytable_entry *keytable_entry_at(const struct keytable *kt, size_t i);
/* By exact (case-sensitive, as OpenDKIM) name; NULL if absent. */
const struct keytable_entry *keytable_find(const struct keytable *kt, const char *name);

/*
 * Checks one private key file as OpenDKIM's RequireSafeKeys does: it must
 * exist and be a regular file, and no one but its owner and its group may
 * read or write it, its group only if this process is in that group.  When
 * the file is not safe and require_safe is false, logs a warning and
 * returns true.  Otherwise returns false and sets *error_r (free() it):
 * "/etc/dkim/a.private: readable by others (mode 0644)".
 */
bool keytable_check_key_file(const char *path, bool require_safe, char **error_r);
/*
 * keytable_check_key_file() for every file-backed key (for `-n`).  Keys
 * whose file name holds "%" depend on the sender and are skipped.  Returns
 * false at the first problem, with *error_r naming the entry:
 * "KeyTable /etc/k:3: key 'rsa': /etc/dkim/a.private: cannot stat: ...".
 */
bool keytable_check_keys(const struct keytable *kt, bool require_safe, char **error_r);

/*
 * Loads a SigningTable (file:, refile:, csl: or an absolute path) whose key
 * names must all be in `kt` (except "%", resolved per message).  kt is only
 * read here; the signing table keeps no pointer to it.  On failure returns
 * NULL and sets *error_r (free() it):
 * "SigningTable /etc/y:5: key name 'foo' is not in the KeyTable".
 */
struct signtable *signtable_load(const char *spec, const struct keytable *kt, char **error_r);
struct signtable *signtable_parse(enum dataset_type type, const char *origin, const char *text,
				  size_t len, const struct keytable *kt, char **error_r);
/*
 * The single-key form (Domain, Selector, KeyFile): every domain of the
 * `domains` data set (e.g. "example.com,example.net", "file:/etc/domains";
 * "*" means any) signs with d= that domain, s=selector and key_file; with
 * subdomains (OpenDKIM's SubDomains) mail from below a listed domain signs
 * with d= the listed domain.  Builds the KeyTable too (*kt_r; free both).
 */
struct signtable *signtable_simple(const char *domains, const char *selector,
				   const char *key_file, bool subdomains,
				   struct keytable **kt_r, char **error_r);
void signtable_free(struct signtable **st);
size_t signtable_count(const struct signtable *st);

/*
 * The keys that sign mail from local@domain (the From: address, split).
 * Writes up to max keys to out (strings allocated from a) and returns how
 * many; 0 means "do not sign".  Returns -1 with *error_r (from a) when the
 * address is unusable (domain empty, too long, not an ASCII host name) or
 * a "%" key name names no KeyTable entry.  kt must be the table st was
 * loaded against.
 */
int signtable_lookup(const struct signtable *st, const struct keytable *kt,
		     const char *local, const char *domain, bool multiple,
		     struct arena *a, struct signing_key *out, size_t max,
		     const char **error_r);

/* "rsa-sha256", "ed25519-sha256", or NULL for KEYTABLE_ALG_AUTO. */
const char *keytable_alg_name(enum keytable_alg alg);

/*
 * Is s (len bytes) a host-name-like string (RFC 1035 2.3.1 labels, plus '_'
 * which DKIM selectors and some domains use)?  NULL if so, else the reason
 * ("has an empty label"), to follow the name in a message.
 */
const char *keytable_name_problem(const char *s, size_t len);

#endif
