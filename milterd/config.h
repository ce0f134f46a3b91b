/*
 * Configuration: `Key value` lines in the style of opendkim.conf, loaded into
 * an immutable, reference-counted snapshot.  Option names are OpenDKIM's
 * where the meaning is the same, and case-insensitive as there.  `#` starts
 * a comment (anywhere a value is not quoted), blank lines are ignored,
 * `Include FILE` reads another file in place (relative to the including
 * file's folder; nested at most CONFIG_MAX_INCLUDE_DEPTH deep, no cycles).
 * An option given twice: the later value wins, except list options, which
 * accumulate.  Every error names the file, the line and the key:
 *
 *	conf/cachet.conf:12: Socket: expected inet:PORT@ADDR, inet6:... or local:PATH
 *
 * Every option is documented in doc/cachet.conf.5; the table in config.c is
 * the single list of them (name, type, default, where it is stored).
 *
 * libmilter runs a thread per connection, so a loaded configuration is never
 * changed: a reload builds a new one and swaps it whole; holders drop theirs
 * with config_unref().
 */
#ifndef CACHET_CONFIG_H
#define CACHET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "netlist.h"

#define CONFIG_MAX_INCLUDE_DEPTH 8

enum on_error {
	ON_ERROR_TEMPFAIL,
	ON_ERROR_ACCEPT,
	ON_ERROR_REJECT,
};

/* Canonicalization: (header << 1) | body, each CANON_SIMPLE or CANON_RELAXED. */
#define CANON_SIMPLE 0
#define CANON_RELAXED 1
#define CANON_PAIR(h, b) ((h) << 1 | (b))

/* SignatureAlgorithm */
enum sign_alg {
	SIGN_RSA_SHA256,
	SIGN_ED25519_SHA256,
};

/* DMARCQuarantine: what p=quarantine does to a failing message */
enum dmarc_quarantine {
	DMARC_QUARANTINE_HOLD,		/* the MTA's quarantine (Postfix: hold queue) */
	DMARC_QUARANTINE_HEADER,	/* accept, with a header for the MDA to file as junk */
};

/* Mode letters: s = sign, v = verify (OpenDKIM's `Mode`). */
#define MODE_SIGN 0x1
#define MODE_VERIFY 0x2

struct config {
	int refcount;		/* atomic; see config_ref() */
	char *path;		/* the file it was loaded from, or "(defaults)" */

	/* daemon */
	char *socket;		/* Socket: inet:PORT@ADDR, inet6:PORT@ADDR, local:PATH */
	unsigned socket_mode;	/* SocketMode: permissions of a local: socket */
	char *user_id;		/* UserID: user[:group], or NULL */
	char *pid_file;		/* PidFile, or NULL */
	bool syslog;		/* Syslog */
	int syslog_facility;	/* SyslogFacility (a LOG_* value) */
	bool log_debug;		/* LogDebug: also log debugging lines */

	/* policy */
	char *authserv_id;	/* AuthservID: never NULL (defaults to the host name) */
	unsigned mode;		/* Mode: MODE_SIGN | MODE_VERIFY */
	struct netlist *internal_hosts;	/* InternalHosts (never NULL) */
	enum on_error on_internal_error;	/* OnInternalError: tempfail|accept */
	enum on_error on_header_limit;	/* OnHeaderLimit: reject|tempfail|accept */

	/* limits on one message's header (see lib/mail/header.h) */
	size_t max_header_count;	/* MaximumHeaderCount */
	size_t max_header_size;		/* MaximumHeaderSize: one field, bytes */
	size_t max_header_block;	/* MaximumHeaders: the whole header, bytes */
	size_t max_line_length;		/* MaximumLineLength */

	/* DNS (see lib/dns/dns.h) */
	char **nameservers;	/* Nameservers: "IP" or "IP@PORT", NULL-terminated; NULL = system */
	char *test_dns_data;	/* TestDNSData: zone file answering every lookup, or NULL */
	unsigned dns_timeout_ms;	/* DNSTimeout */

	/* DKIM verification */
	unsigned max_signatures;	/* MaximumSignaturesToVerify */
	unsigned minimum_key_bits;	/* MinimumKeyBits (never below 1024) */
	unsigned clock_skew_ms;		/* ClockSkew: how far t= may lie ahead */

	/* DKIM signing */
	char *key_table;		/* KeyTable: file:, refile:, csl: or a path */
	char *signing_table;		/* SigningTable */
	char *domain;			/* Domain: comma list, with Selector + KeyFile */
	char *selector;			/* Selector */
	char *key_file;			/* KeyFile */
	int canonicalization;		/* Canonicalization: CANON_PAIR(h, b) */
	int signature_algorithm;	/* SignatureAlgorithm: enum sign_alg */
	char *sign_headers;		/* SignHeaders: names, or NULL = built-in list */
	char *oversign_headers;		/* OversignHeaders: names, or NULL = built-in */
	bool multiple_signatures;	/* MultipleSignatures */
	bool subdomains;		/* SubDomains: Domain also covers subdomains */
	bool require_safe_keys;		/* RequireSafeKeys */
	unsigned signature_ttl_ms;	/* SignatureTTL: x= lies this far after t=; 0 = none */

	/* SPF */
	bool spf;			/* SPF: evaluate SPF */
	bool spf_reject_fail;		/* SPFRejectFail */
	bool add_received_spf;		/* AddReceivedSPF */
	unsigned spf_timeout_ms;	/* SPFTimeout: wall-clock budget of one evaluation */

	/* DMARC */
	bool dmarc;			/* DMARC: evaluate DMARC */
	bool dmarc_enforce;		/* DMARCEnforce */
	char *public_suffix_list;	/* PublicSuffixList */
	bool reject_multi_from;		/* RejectMultiFrom */
	int dmarc_quarantine;		/* DMARCQuarantine: enum dmarc_quarantine */
	struct netlist *dmarc_trusted_forwarders;	/* DMARCTrustedForwarders, or NULL */
	enum on_error dmarc_on_temperror;	/* DMARCOnTempError: accept|tempfail */
};

/*
 * Loads `path`.  On success returns a snapshot with refcount 1 (drop it with
 * config_unref()).  On failure returns NULL and sets *error_r to a message
 * naming the file, the line and the key; the caller frees it with free().
 */
struct config *config_load(const char *path, char **error_r);
/*
 * Parses configuration text as if it were the contents of `name` (used by
 * tests and the fuzz target; Include is resolved relative to the current
 * directory).  Same result conventions as config_load().
 */
struct config *config_parse(const char *name, const char *text, size_t len, char **error_r);
/* The built-in defaults, refcount 1. */
struct config *config_defaults(void);

struct config *config_ref(struct config *c);
/* Drops one reference; frees at zero.  Sets *c to NULL. */
void config_unref(struct config **c);

/* "tempfail", "accept", "reject". */
const char *on_error_name(enum on_error e);

#endif
