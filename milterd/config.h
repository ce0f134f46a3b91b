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
 * Every option is documented in doc/cachet.conf.5.  The options of the
 * daemon and of the pipeline itself are the table in config.c; each check
 * owns its own options (a schema fragment in its own file, see check.h),
 * read from the same file: one file, one set of names, the same errors.
 *
 * libmilter runs a thread per connection, so a loaded configuration is never
 * changed: a reload builds a new one and swaps it whole; holders drop theirs
 * with config_unref().
 */
#ifndef CACHET_CONFIG_H
#define CACHET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "conffile.h"
#include "netlist.h"

struct check;

#define CONFIG_MAX_INCLUDE_DEPTH 8

enum on_error {
	ON_ERROR_TEMPFAIL,
	ON_ERROR_ACCEPT,
	ON_ERROR_REJECT,
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

	/* the spool of whole messages, for checks that read them (see pipeline.h) */
	size_t spool_memory_limit;	/* SpoolMemoryLimit: bytes kept in memory */
	char *spool_directory;		/* SpoolDirectory: where larger ones go */

	/*
	 * Set by `cachet check`, never from a file: checks keep the reasons
	 * behind their results (which SPF term, which key name, which DMARC
	 * records) in their typed results.  The milter leaves it off and
	 * pays nothing for it.
	 */
	bool explain;

	/* the checks' own options, by the table the file was read with */
	const struct check *const *checks;
	size_t n_checks;
	void **check_opts;	/* per check: its option struct, or NULL */
};

/*
 * Loads `path` with the options of the production check table.  On success
 * returns a snapshot with refcount 1 (drop it with config_unref()).  On
 * failure returns NULL and sets *error_r to a message naming the file, the
 * line and the key; the caller frees it with free().
 */
struct config *config_load(const char *path, char **error_r);
/*
 * Parses configuration text as if it were the contents of `name` (tests and
 * the fuzz target; Include is resolved relative to the current directory).
 * Same result conventions as config_load().
 */
struct config *config_parse(const char *name, const char *text, size_t len, char **error_r);
/* The built-in defaults, refcount 1. */
struct config *config_defaults(void);

/* The same with another check table (tests): its checks' options are read. */
struct config *config_load_with(const char *path, const struct check *const *checks,
				size_t n, char **error_r);
struct config *config_parse_with(const char *name, const char *text, size_t len,
				 const struct check *const *checks, size_t n, char **error_r);

/* The table of the daemon's and the pipeline's own options (tests, docs). */
const struct conffile_schema *config_schema(void);

/* The option struct of the check named `name`, or NULL (none, or no such check). */
const void *config_check_options(const struct config *c, const char *name);

struct config *config_ref(struct config *c);
/* Drops one reference; frees at zero.  Sets *c to NULL. */
void config_unref(struct config **c);

/* "tempfail", "accept", "reject". */
const char *on_error_name(enum on_error e);

#endif
