/*
 * Configuration loading (see config.h).  Everything about an option lives in
 * one row of the table `options` below: its name, its type, its default as
 * it would be written in the file, and where it is stored in struct config.
 * Defaults are applied by feeding the default text through the same parser
 * as the file, so a default can never be a value the file could not hold.
 * The per-type code (parsing, the words of the error, freeing) lives in the
 * table `types`.
 *
 * Syntax: `Key value`, the key case-insensitive, the value the rest of the
 * line with `#` comments removed and outer white space trimmed; double
 * quotes protect `#` and white space (`\"` and `\\` inside them).  CRLF line
 * ends are accepted; NUL bytes and other control characters (except tab)
 * are errors.  `Include FILE` reads FILE in place.
 *
 * Limits: CONFIG_MAX_LINE bytes per line, CONFIG_MAX_FILE bytes per file,
 * CONFIG_MAX_TOTAL bytes over all the files of one load,
 * CONFIG_MAX_INCLUDE_DEPTH nested includes, CONFIG_MAX_NAMESERVERS.
 * Only regular files are read (a FIFO or device named by mistake must not
 * hang start-up).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "log.h"
#include "netlist.h"
#include "xalloc.h"

#define CONFIG_MAX_LINE 65536
#define CONFIG_MAX_FILE ((size_t)4 << 20)
#define CONFIG_MAX_TOTAL ((size_t)16 << 20)
#define CONFIG_MAX_NAMESERVERS 32
#define CONFIG_MAX_AUTHSERV_ID 255
/* keys longer than this are shown shortened and get no suggestion */
#define CONFIG_MAX_KEY_SHOWN 64

enum opt_type {
	T_STRING,	/* any non-empty text */
	T_PATH,		/* a readable regular file, relative to the config file */
	T_BOOL,		/* yes/no, true/false, on/off, 1/0 */
	T_UINT,		/* whole number within struct bounds */
	T_SIZE,		/* bytes, suffix k/m/g, within struct bounds */
	T_DURATION,	/* stored as ms; plain number = seconds; within struct bounds */
	T_OCTAL,	/* file mode, within struct bounds */
	T_ENUM,		/* one name of a struct name_value list, stored as int */
	T_LETTERS,	/* one or more letters of a struct name_value list, OR-ed */
	T_SOCKET,	/* a milter socket specification (libmilter's syntax) */
	T_ADDR_LIST,	/* IP[@PORT] list, accumulating, NULL-terminated char ** */
	T_NETLIST,	/* a host list (netlist.h) */
	T_FACILITY,	/* a syslog facility name, stored as int */
	T_AUTHSERV_ID,	/* RFC 8601 authserv-id, or HOSTNAME */
};

struct bounds {
	unsigned long long min, max;
};

/* enum names and letters; the list ends with a NULL name */
struct name_value {
	const char *name;
	int value;
};

struct option {
	const char *name;
	enum opt_type type;
	const char *def;	/* default as written in a file; NULL = none (zero/NULL) */
	size_t offset;
	size_t size;
	const void *extra;	/* struct bounds or struct name_value[], by type */
};

static const struct bounds socket_mode_bounds = { 0, 0777 };
static const struct bounds header_count_bounds = { 1, 100000 };
static const struct bounds header_size_bounds = { 1024, (size_t)16 << 20 };
static const struct bounds header_block_bounds = { 1024, (size_t)64 << 20 };
/* RFC 5321 4.5.3.1.6: lines of 1000 octets must get through */
static const struct bounds line_length_bounds = { 1000, (size_t)16 << 20 };
/* under Postfix's milter_command_timeout of 30 s, or the MTA gives up first */
static const struct bounds dns_timeout_bounds = { 100, 25000 };

static const struct bounds max_signatures_bounds = { 1, 64 };
/* RFC 8301 3.2: keys under 1024 bits never verify, whatever is configured */
static const struct bounds key_bits_bounds = { 1024, 8192 };
static const struct bounds clock_skew_bounds = { 0, 86400000 };
static const struct bounds signature_ttl_bounds = { 0, 30ULL * 86400000 };

static const struct name_value canon_names[] = {
	{ "simple", CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE) },
	{ "relaxed", CANON_PAIR(CANON_RELAXED, CANON_SIMPLE) },
	{ "simple/simple", CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE) },
	{ "simple/relaxed", CANON_PAIR(CANON_SIMPLE, CANON_RELAXED) },
	{ "relaxed/simple", CANON_PAIR(CANON_RELAXED, CANON_SIMPLE) },
	{ "relaxed/relaxed", CANON_PAIR(CANON_RELAXED, CANON_RELAXED) },
	{ NULL, 0 },
};
static const struct name_value sign_alg_names[] = {
	{ "rsa-sha256", SIGN_RSA_SHA256 },
	{ "ed25519-sha256", SIGN_ED25519_SHA256 },
	{ NULL, 0 },
};

static const struct bounds spf_timeout_bounds = { 100, 25000 };

static const struct name_value dmarc_quarantine_names[] = {
	{ "hold", DMARC_QUARANTINE_HOLD },
	{ "header", DMARC_QUARANTINE_HEADER },
	{ NULL, 0 },
};
static const struct name_value dmarc_temperror_names[] = {
	{ "accept", ON_ERROR_ACCEPT },
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ NULL, 0 },
};

static const struct name_value mode_letters[] = {
	{ "s", MODE_SIGN },
	{ "v", MODE_VERIFY },
	{ NULL, 0 },
};
static const struct name_value on_internal_error_names[] = {
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ "accept", ON_ERROR_ACCEPT },
	{ NULL, 0 },
};
static const struct name_value on_header_limit_names[] = {
	{ "reject", ON_ERROR_REJECT },
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ "accept", ON_ERROR_ACCEPT },
	{ NULL, 0 },
};

#define OPT(name, type, def, field, extra)                                      \
	{ name, type, def, offsetof(struct config, field),                        \
	  sizeof(((struct config *)0)->field), extra }

/*
 * The options.  To add one: add its field to struct config (config.h), a
 * row here (name as OpenDKIM spells it when the meaning is the same; the
 * default as it would be written in the file, or NULL), and a .TP entry in
 * doc/cachet.conf.5.  A new kind of value gets a T_ type and a row in
 * `types` below.  config_defaults() checks the table (field sizes, unique
 * names, parsable defaults) and aborts on a mistake.
 */
static const struct option options[] = {
	/* daemon */
	OPT("Socket", T_SOCKET, "inet:8891@127.0.0.1", socket, NULL),
	OPT("SocketMode", T_OCTAL, "0660", socket_mode, &socket_mode_bounds),
	OPT("UserID", T_STRING, NULL, user_id, NULL),
	OPT("PidFile", T_STRING, NULL, pid_file, NULL),
	OPT("Syslog", T_BOOL, "yes", syslog, NULL),
	OPT("SyslogFacility", T_FACILITY, "mail", syslog_facility, NULL),
	OPT("LogDebug", T_BOOL, "no", log_debug, NULL),
	/* policy */
	OPT("AuthservID", T_AUTHSERV_ID, "HOSTNAME", authserv_id, NULL),
	OPT("Mode", T_LETTERS, "sv", mode, mode_letters),
	OPT("InternalHosts", T_NETLIST, "127.0.0.1, ::1", internal_hosts, NULL),
	OPT("OnInternalError", T_ENUM, "tempfail", on_internal_error, on_internal_error_names),
	OPT("OnHeaderLimit", T_ENUM, "reject", on_header_limit, on_header_limit_names),
	/* limits on one message's header */
	OPT("MaximumHeaderCount", T_UINT, "1000", max_header_count, &header_count_bounds),
	OPT("MaximumHeaderSize", T_SIZE, "64k", max_header_size, &header_size_bounds),
	OPT("MaximumHeaders", T_SIZE, "1m", max_header_block, &header_block_bounds),
	OPT("MaximumLineLength", T_SIZE, "64k", max_line_length, &line_length_bounds),
	/* DNS */
	OPT("Nameservers", T_ADDR_LIST, NULL, nameservers, NULL),
	OPT("TestDNSData", T_PATH, NULL, test_dns_data, NULL),
	OPT("DNSTimeout", T_DURATION, "5s", dns_timeout_ms, &dns_timeout_bounds),
	/* DKIM verification */
	OPT("MaximumSignaturesToVerify", T_UINT, "8", max_signatures, &max_signatures_bounds),
	OPT("MinimumKeyBits", T_UINT, "1024", minimum_key_bits, &key_bits_bounds),
	OPT("ClockSkew", T_DURATION, "300s", clock_skew_ms, &clock_skew_bounds),
	/* DKIM signing */
	OPT("KeyTable", T_STRING, NULL, key_table, NULL),
	OPT("SigningTable", T_STRING, NULL, signing_table, NULL),
	OPT("Domain", T_STRING, NULL, domain, NULL),
	OPT("Selector", T_STRING, NULL, selector, NULL),
	OPT("KeyFile", T_PATH, NULL, key_file, NULL),
	OPT("Canonicalization", T_ENUM, "relaxed/relaxed", canonicalization, canon_names),
	OPT("SignatureAlgorithm", T_ENUM, "rsa-sha256", signature_algorithm, sign_alg_names),
	OPT("SignHeaders", T_STRING, NULL, sign_headers, NULL),
	OPT("OversignHeaders", T_STRING, NULL, oversign_headers, NULL),
	OPT("MultipleSignatures", T_BOOL, "no", multiple_signatures, NULL),
	OPT("SubDomains", T_BOOL, "no", subdomains, NULL),
	OPT("RequireSafeKeys", T_BOOL, "yes", require_safe_keys, NULL),
	OPT("SignatureTTL", T_DURATION, "0", signature_ttl_ms, &signature_ttl_bounds),
	/* SPF */
	OPT("SPF", T_BOOL, "yes", spf, NULL),
	OPT("SPFRejectFail", T_BOOL, "no", spf_reject_fail, NULL),
	OPT("AddReceivedSPF", T_BOOL, "no", add_received_spf, NULL),
	OPT("SPFTimeout", T_DURATION, "10s", spf_timeout_ms, &spf_timeout_bounds),
	/* DMARC */
	OPT("DMARC", T_BOOL, "yes", dmarc, NULL),
	OPT("DMARCEnforce", T_BOOL, "yes", dmarc_enforce, NULL),
	OPT("PublicSuffixList", T_STRING, "/usr/share/publicsuffix/public_suffix_list.dat",
	    public_suffix_list, NULL),
	OPT("RejectMultiFrom", T_BOOL, "yes", reject_multi_from, NULL),
	OPT("DMARCQuarantine", T_ENUM, "hold", dmarc_quarantine, dmarc_quarantine_names),
	OPT("DMARCTrustedForwarders", T_NETLIST, NULL, dmarc_trusted_forwarders, NULL),
	OPT("DMARCOnTempError", T_ENUM, "accept", dmarc_on_temperror, dmarc_temperror_names),
};

#define N_OPTIONS ARRAY_LEN(options)

/* What a value is parsed against, besides its option. */
struct value_ctx {
	const char *dir;	/* folder of the file it came from; NULL = cwd */
	bool replace;		/* list options: first value from a file replaces the default */
};

/*
 * Per type: the field size it expects (0 = a 4- or 8-byte unsigned
 * number), the parser, and what frees the field.  A parser returns false,
 * leaving the field as it was, and appends the reason to `why` (worded to
 * follow "KEY: ", usually "expected ...").
 */
struct type_ops {
	size_t size;
	bool (*set)(const struct option *o, void *field, const char *value,
		    const struct value_ctx *ctx, struct buf *why);
	void (*drop)(void *field);
};

/* -- small helpers -- */

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* NULL dir or absolute rel: rel itself.  Free with free(). */
static char *path_join(const char *dir, const char *rel)
{
	if (dir == NULL || rel[0] == '/')
		return xstrdup(rel);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", rel);
	return buf_steal(&b);
}

/* The folder of path, or NULL when path has none (then: the cwd). */
static char *path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return NULL;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Stores v into an unsigned field of 4 or 8 bytes (the table check keeps v in range). */
static void store_unsigned(void *field, size_t size, unsigned long long v)
{
	if (size == sizeof(uint32_t)) {
		ASSERT(v <= UINT32_MAX);
		uint32_t x = (uint32_t)v;
		memcpy(field, &x, sizeof(x));
	} else {
		ASSERT(size == sizeof(uint64_t));
		uint64_t x = v;
		memcpy(field, &x, sizeof(x));
	}
}

/* Decimal digits (at least one) at *s; advances *s.  false on overflow. */
static bool parse_digits(const char **s, unsigned long long *v_r)
{
	const char *p = *s;
	unsigned long long v = 0;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*s = p;
	*v_r = v;
	return true;
}

/* A port number 1..65535 as the whole of s. */
static bool parse_port(const char *s)
{
	unsigned long long v;
	return parse_digits(&s, &v) && *s == '\0' && v >= 1 && v <= 65535;
}

/* RFC 1123 2.1 host name (letters, digits, '-', '_' for real-world names). */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = ascii_lower(s[i]);
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static void free_string(void *field)
{
	char **f = field;
	free(*f);
	*f = NULL;
}

static void replace_string(void *field, char *value)
{
	free_string(field);
	*(char **)field = value;
}

/* -- the types -- */

static bool set_string(const struct option *o UNUSED, void *field, const char *value,
		       const struct value_ctx *ctx UNUSED, struct buf *why)
{
	if (value[0] == '\0') {
		buf_puts(why, "expected a non-empty value");
		return false;
	}
	replace_string(field, xstrdup(value));
	return true;
}

static bool set_path(const struct option *o UNUSED, void *field, const char *value,
		     const struct value_ctx *ctx, struct buf *why)
{
	if (value[0] == '\0') {
		buf_puts(why, "expected a file name");
		return false;
	}
	char *path = path_join(ctx->dir, value);
	struct stat st;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		buf_printf(why, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(why, "%s is not a regular file", path);
		free(path);
		return false;
	}
	replace_string(field, path);
	return true;
}

static bool set_bool(const struct option *o UNUSED, void *field, const char *value,
		     const struct value_ctx *ctx UNUSED, struct buf *why)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		bool v = strcasecmp(value, yes[i]) == 0;
		if (v || strcasecmp(value, no[i]) == 0) {
			memcpy(field, &v, sizeof(v));
			return true;
		}
	}
	buf_puts(why, "expected yes or no (or true/false, on/off, 1/0)");
	return false;
}

static bool set_uint(const struct option *o, void *field, const char *value,
		     const struct value_ctx *ctx UNUSED, struct buf *why)
{
	const struct bounds *b = o->extra;
	unsigned long long v;
	const char *p = value;
	if (!parse_digits(&p, &v) || *p != '\0' || v < b->min || v > b->max) {
		buf_printf(why, "expected a whole number from %llu to %llu", b->min, b->max);
		return false;
	}
	store_unsigned(field, o->size, v);
	return true;
}

/* Writes v with the largest suffix of `units` that divides it exactly. */
static void put_with_unit(struct buf *out, unsigned long long v,
			  const struct name_value *units)
{
	const struct name_value *best = &units[0];
	for (const struct name_value *u = units; u->name != NULL; u++)
		if (v != 0 && v % (unsigned long long)u->value == 0)
			best = u;
	buf_printf(out, "%llu%s", v / (unsigned long long)best->value, best->name);
}

/*
 * A number with an optional unit suffix (case-insensitive) from `units`;
 * "" in units is the unit of a plain number.  false on overflow or a bad
 * suffix.
 */
static bool parse_with_unit(const char *value, const struct name_value *units,
			    unsigned long long *v_r)
{
	unsigned long long v;
	const char *p = value;
	if (!parse_digits(&p, &v))
		return false;
	for (const struct name_value *u = units; u->name != NULL; u++) {
		if (strcasecmp(p, u->name) != 0)
			continue;
		unsigned long long mul = (unsigned long long)u->value;
		if (v > ULLONG_MAX / mul)
			return false;
		*v_r = v * mul;
		return true;
	}
	return false;
}

static const struct name_value size_units[] = {
	{ "", 1 }, { "k", 1 << 10 }, { "m", 1 << 20 }, { "g", 1 << 30 }, { NULL, 0 },
};
/* parsing: a plain number is seconds */
static const struct name_value duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
};
/* showing bounds: the same units, without the plain form */
static const struct name_value duration_units_shown[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { NULL, 0 },
};

static bool set_size(const struct option *o, void *field, const char *value,
		     const struct value_ctx *ctx UNUSED, struct buf *why)
{
	const struct bounds *b = o->extra;
	unsigned long long v;
	if (parse_with_unit(value, size_units, &v) && v >= b->min && v <= b->max) {
		store_unsigned(field, o->size, v);
		return true;
	}
	buf_puts(why, "expected a size in bytes (suffix k, m or g allowed) from ");
	put_with_unit(why, b->min, size_units);
	buf_puts(why, " to ");
	put_with_unit(why, b->max, size_units);
	return false;
}

static bool set_duration(const struct option *o, void *field, const char *value,
			 const struct value_ctx *ctx UNUSED, struct buf *why)
{
	const struct bounds *b = o->extra;
	unsigned long long v;
	if (parse_with_unit(value, duration_units, &v) && v >= b->min && v <= b->max) {
		store_unsigned(field, o->size, v);
		return true;
	}
	buf_puts(why, "expected a duration (seconds, or suffix ms, s, m or h) from ");
	put_with_unit(why, b->min, duration_units_shown);
	buf_puts(why, " to ");
	put_with_unit(why, b->max, duration_units_shown);
	return false;
}

static bool set_octal(const struct option *o, void *field, const char *value,
		      const struct value_ctx *ctx UNUSED, struct buf *why)
{
	const struct bounds *b = o->extra;
	unsigned long long v = 0;
	size_t n = strlen(value);
	bool ok = n > 0 && n <= 8;
	for (size_t i = 0; ok && i < n; i++) {
		ok = value[i] >= '0' && value[i] <= '7';
		v = v * 8 + (unsigned)(value[i] - '0');
	}
	if (!ok || v < b->min || v > b->max) {
		buf_printf(why, "expected an octal mode from %llo to 0%llo", b->min, b->max);
		return false;
	}
	store_unsigned(field, o->size, v);
	return true;
}

/* "a, b or c" from a name list. */
static void put_alternatives(struct buf *out, const struct name_value *names)
{
	for (size_t i = 0; names[i].name != NULL; i++) {
		if (i > 0)
			buf_puts(out, names[i + 1].name == NULL ? " or " : ", ");
		buf_puts(out, names[i].name);
	}
}

static bool set_enum(const struct option *o, void *field, const char *value,
		     const struct value_ctx *ctx UNUSED, struct buf *why)
{
	const struct name_value *names = o->extra;
	for (size_t i = 0; names[i].name != NULL; i++) {
		if (strcasecmp(value, names[i].name) == 0) {
			memcpy(field, &names[i].value, sizeof(int));
			return true;
		}
	}
	buf_puts(why, "expected ");
	put_alternatives(why, names);
	return false;
}

static bool set_letters(const struct option *o, void *field, const char *value,
			const struct value_ctx *ctx UNUSED, struct buf *why)
{
	const struct name_value *letters = o->extra;
	unsigned long long v = 0;
	bool ok = value[0] != '\0';
	for (const char *p = value; ok && *p != '\0'; p++) {
		ok = false;
		for (size_t i = 0; letters[i].name != NULL; i++) {
			if (ascii_lower(*p) == letters[i].name[0]) {
				v |= (unsigned)letters[i].value;
				ok = true;
			}
		}
	}
	if (!ok) {
		buf_puts(why, "expected one or more of the letters ");
		put_alternatives(why, letters);
		return false;
	}
	store_unsigned(field, o->size, v);
	return true;
}

/* inet:PORT[@ADDR] / inet6:PORT[@ADDR]; s is after the colon. */
static bool check_inet(const char *s, int family, struct buf *why)
{
	const char *at = strchr(s, '@');
	char port[8];
	size_t plen = at != NULL ? (size_t)(at - s) : strlen(s);
	if (plen == 0 || plen >= sizeof(port)) {
		buf_puts(why, "expected a port from 1 to 65535 before @");
		return false;
	}
	memcpy(port, s, plen);
	port[plen] = '\0';
	if (!parse_port(port)) {
		buf_puts(why, "expected a port from 1 to 65535 before @");
		return false;
	}
	if (at == NULL)
		return true;	/* every local address */
	char addr[256];
	const char *a = at + 1;
	size_t alen = strlen(a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a++;
		alen -= 2;
	}
	unsigned char bin[sizeof(struct in6_addr)];
	if (alen > 0 && alen < sizeof(addr)) {
		memcpy(addr, a, alen);
		addr[alen] = '\0';
		if (inet_pton(family, addr, bin) == 1 || valid_hostname(addr))
			return true;
	}
	buf_printf(why, "expected an %s address or a host name after @",
		   family == AF_INET ? "IPv4" : "IPv6");
	return false;
}

static bool check_local(const char *path, struct buf *why)
{
	struct sockaddr_un sun;
	if (path[0] == '\0') {
		buf_puts(why, "expected a socket path after local:");
		return false;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		buf_printf(why, "expected a socket path shorter than %zu bytes",
			   sizeof(sun.sun_path));
		return false;
	}
	return true;
}

/* libmilter's socket syntax; the text is kept as written. */
static bool set_socket(const struct option *o UNUSED, void *field, const char *value,
		       const struct value_ctx *ctx UNUSED, struct buf *why)
{
	bool ok;
	if (strncasecmp(value, "inet:", 5) == 0)
		ok = check_inet(value + 5, AF_INET, why);
	else if (strncasecmp(value, "inet6:", 6) == 0)
		ok = check_inet(value + 6, AF_INET6, why);
	else if (strncasecmp(value, "local:", 6) == 0)
		ok = check_local(value + 6, why);
	else if (strncasecmp(value, "unix:", 5) == 0)
		ok = check_local(value + 5, why);
	else if (value[0] == '/')
		ok = check_local(value, why);
	else {
		buf_puts(why, "expected inet:PORT@ADDR, inet:PORT, inet6:PORT@ADDR, "
			      "local:PATH or an absolute path");
		ok = false;
	}
	if (ok)
		replace_string(field, xstrdup(value));
	return ok;
}

/* "192.0.2.1", "2001:db8::1", "192.0.2.1@5353" (Unbound's forward syntax). */
static bool valid_nameserver(const char *s)
{
	char ip[INET6_ADDRSTRLEN];
	const char *at = strchr(s, '@');
	size_t len = at != NULL ? (size_t)(at - s) : strlen(s);
	if (len == 0 || len >= sizeof(ip))
		return false;
	memcpy(ip, s, len);
	ip[len] = '\0';
	unsigned char bin[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)
		return false;
	return at == NULL || parse_port(at + 1);
}

static size_t list_len(char **v)
{
	size_t n = 0;
	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

static void free_list(void *field)
{
	char ***f = field;
	for (size_t i = 0; *f != NULL && (*f)[i] != NULL; i++)
		free((*f)[i]);
	free(*f);
	*f = NULL;
}

static bool set_addr_list(const struct option *o UNUSED, void *field, const char *value,
			  const struct value_ctx *ctx, struct buf *why)
{
	char ***f = field;
	char **v = NULL;
	size_t n = 0;
	bool ok = true;
	for (const char *p = value; ok && *p != '\0';) {
		size_t len = strcspn(p, ", \t");
		if (len > 0) {
			char *tok = xstrndup(p, len);
			if (!valid_nameserver(tok)) {
				buf_printf(why, "expected IP addresses with an optional @PORT, "
						"not \"%s\"", tok);
				ok = false;
			}
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = tok;
			v[n] = NULL;
		}
		p += len;
		p += strspn(p, ", \t");
	}
	size_t old = ctx->replace ? 0 : list_len(*f);
	if (ok && old + n > CONFIG_MAX_NAMESERVERS) {
		buf_printf(why, "expected at most %d addresses", CONFIG_MAX_NAMESERVERS);
		ok = false;
	}
	if (ok && n == 0) {
		buf_puts(why, "expected IP addresses with an optional @PORT");
		ok = false;
	}
	if (!ok) {
		free_list(&v);
		return false;
	}
	if (ctx->replace)
		free_list(f);
	*f = xreallocarray(*f, old + n + 1, sizeof(**f));
	memcpy(*f + old, v, (n + 1) * sizeof(*v));
	free(v);
	return true;
}

static void free_netlist(void *field)
{
	netlist_free(field);
}

static bool set_netlist(const struct option *o UNUSED, void *field, const char *value,
			const struct value_ctx *ctx, struct buf *why)
{
	char *spec = NULL, *error = NULL;
	/* a relative file: is relative to the configuration file, like Include */
	if (strncmp(value, "file:", 5) == 0 && value[5] != '/' && ctx->dir != NULL) {
		char *path = path_join(ctx->dir, value + 5);
		struct buf b;
		buf_init(&b, 0);
		buf_printf(&b, "file:%s", path);
		spec = buf_steal(&b);
		free(path);
	}
	struct netlist *l = netlist_from_spec(spec != NULL ? spec : value, &error);
	free(spec);
	if (l == NULL) {
		buf_puts(why, error);
		free(error);
		return false;
	}
	free_netlist(field);
	*(struct netlist **)field = l;
	return true;
}

static bool set_facility(const struct option *o UNUSED, void *field, const char *value,
			 const struct value_ctx *ctx UNUSED, struct buf *why)
{
	int f = log_facility_from_name(value);
	if (f < 0) {
		buf_puts(why, "expected mail, daemon, user or local0 to local7");
		return false;
	}
	memcpy(field, &f, sizeof(f));
	return true;
}

/*
 * RFC 8601 2.5: authserv-id is a `value` (RFC 2045 5.1), which we restrict
 * to a token so it never needs quoting: printable ASCII without spaces and
 * without tspecials ()<>@,;:\"/[]?= (and no "'" either).
 */
static bool valid_authserv_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONFIG_MAX_AUTHSERV_ID)
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?='", c) != NULL)
			return false;
	}
	return true;
}

static bool set_authserv_id(const struct option *o UNUSED, void *field, const char *value,
			    const struct value_ctx *ctx UNUSED, struct buf *why)
{
	if (strcmp(value, "HOSTNAME") == 0) {
		char host[256];
		if (gethostname(host, sizeof(host)) < 0) {
			buf_printf(why, "gethostname() failed: %s; set AuthservID", strerror(errno));
			return false;
		}
		host[sizeof(host) - 1] = '\0';
		if (!valid_authserv_id(host)) {
			buf_printf(why, "the host name \"%.64s\" is not usable as an "
					"authserv-id; set AuthservID", host);
			return false;
		}
		replace_string(field, xstrdup(host));
		return true;
	}
	if (!valid_authserv_id(value)) {
		buf_puts(why, "expected HOSTNAME or a token of printable ASCII without "
			      "spaces, quotes or ()<>@,;:\\/[]?=");
		return false;
	}
	replace_string(field, xstrdup(value));
	return true;
}

static const struct type_ops types[] = {
	[T_STRING] = { sizeof(char *), set_string, free_string },
	[T_PATH] = { sizeof(char *), set_path, free_string },
	[T_BOOL] = { sizeof(bool), set_bool, NULL },
	[T_UINT] = { 0, set_uint, NULL },
	[T_SIZE] = { 0, set_size, NULL },
	[T_DURATION] = { 0, set_duration, NULL },
	[T_OCTAL] = { 0, set_octal, NULL },
	[T_ENUM] = { sizeof(int), set_enum, NULL },
	[T_LETTERS] = { 0, set_letters, NULL },
	[T_SOCKET] = { sizeof(char *), set_socket, free_string },
	[T_ADDR_LIST] = { sizeof(char **), set_addr_list, free_list },
	[T_NETLIST] = { sizeof(struct netlist *), set_netlist, free_netlist },
	[T_FACILITY] = { sizeof(int), set_facility, NULL },
	[T_AUTHSERV_ID] = { sizeof(char *), set_authserv_id, free_string },
};

/* A mistake in the table is a bug: catch it on first use, not in production. */
static void check_table(void)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option *o = &options[i];
		ASSERT((size_t)o->type < ARRAY_LEN(types) && types[o->type].set != NULL);
		const struct type_ops *t = &types[o->type];
		if (t->size == 0)
			ASSERT(o->size == sizeof(uint32_t) || o->size == sizeof(uint64_t));
		else
			ASSERT(o->size == t->size);
		bool bounded = o->type == T_UINT || o->type == T_SIZE ||
			       o->type == T_DURATION || o->type == T_OCTAL;
		if (bounded) {
			const struct bounds *b = o->extra;
			ASSERT(b != NULL && b->min <= b->max);
			ASSERT(o->size == sizeof(uint64_t) || b->max <= UINT32_MAX);
		}
		if (o->type == T_ENUM || o->type == T_LETTERS)
			ASSERT(o->extra != NULL);
		ASSERT(strcasecmp(o->name, "Include") != 0);
		for (size_t j = 0; j < i; j++)
			ASSERT(strcasecmp(o->name, options[j].name) != 0);
	}
}

/* -- loading -- */

struct load {
	struct config *c;
	bool set[N_OPTIONS];		/* given in a file (not just defaulted) */
	char *default_error[N_OPTIONS];	/* a default that failed (see apply_defaults) */
	struct {
		dev_t dev;
		ino_t ino;
	} stack[CONFIG_MAX_INCLUDE_DEPTH + 1];	/* files being read, for cycles */
	size_t depth;			/* entries in stack (config_parse's text has none) */
	unsigned nesting;		/* Include levels above the current file */
	size_t total;			/* bytes read over all files */
	bool failed;
	struct buf error;		/* the first error, whole */
};

/* One file (or text) being read. */
struct src {
	const char *name;
	const char *dir;	/* for relative paths; NULL = cwd */
	unsigned line;		/* 0 = no line (file-level error) */
};

static void fail(struct load *ld, const struct src *s, const char *key, size_t key_len,
		 const char *fmt, ...) PRINTF(5, 6);

/* Records the first error as "NAME[:LINE]: [KEY: ]text". */
static void fail(struct load *ld, const struct src *s, const char *key, size_t key_len,
		 const char *fmt, ...)
{
	if (ld->failed)
		return;
	ld->failed = true;
	buf_puts(&ld->error, s->name);
	if (s->line > 0)
		buf_printf(&ld->error, ":%u", s->line);
	buf_puts(&ld->error, ": ");
	if (key != NULL) {
		int shown = key_len > CONFIG_MAX_KEY_SHOWN ? CONFIG_MAX_KEY_SHOWN : (int)key_len;
		buf_printf(&ld->error, "%.*s%s: ", shown, key,
			   key_len > CONFIG_MAX_KEY_SHOWN ? "..." : "");
	}
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&ld->error, fmt, ap);
	va_end(ap);
}

/* Case-insensitive Levenshtein distance; both shorter than CONFIG_MAX_KEY_SHOWN + 1. */
static size_t edit_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	size_t prev[CONFIG_MAX_KEY_SHOWN + 1], cur[CONFIG_MAX_KEY_SHOWN + 1];
	ASSERT(alen <= CONFIG_MAX_KEY_SHOWN && blen <= CONFIG_MAX_KEY_SHOWN);
	for (size_t j = 0; j <= blen; j++)
		prev[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t sub = prev[j - 1] + (ascii_lower(a[i - 1]) != ascii_lower(b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (blen + 1) * sizeof(prev[0]));
	}
	return prev[blen];
}

/* The known name closest to key, if within 2 edits; else NULL. */
static const char *closest_name(const char *key, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3;
	if (len > CONFIG_MAX_KEY_SHOWN)
		return NULL;
	for (size_t i = 0; i <= N_OPTIONS; i++) {
		const char *name = i < N_OPTIONS ? options[i].name : "Include";
		size_t d = edit_distance(key, len, name);
		if (d < best_d) {
			best_d = d;
			best = name;
		}
	}
	return best;
}

static const struct option *find_option(const char *key, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (slice_eq_ci(slice_make(key, len), options[i].name))
			return &options[i];
	return NULL;
}

/*
 * Reads a whole regular file of at most `max` bytes into out, and its
 * identity (for cycle detection).  On failure appends the reason to why.
 * Refuses anything but a regular file before opening it for real, so a
 * FIFO or device cannot block or stream forever.
 */
static bool read_file(const char *path, size_t max, struct buf *out, struct stat *st_r,
		      struct buf *why)
{
	if (stat(path, st_r) < 0) {
		buf_printf(why, "cannot open: %s", strerror(errno));
		return false;
	}
	if (!S_ISREG(st_r->st_mode)) {
		buf_puts(why, "not a regular file");
		return false;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		buf_printf(why, "cannot open: %s", strerror(errno));
		return false;
	}
	bool ok = fstat(fd, st_r) == 0 && S_ISREG(st_r->st_mode);
	if (!ok)
		buf_puts(why, "not a regular file");
	char chunk[8192];
	while (ok) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_printf(why, "cannot read: %s", strerror(errno));
			ok = false;
		} else if (n == 0) {
			break;
		} else if (out->len + (size_t)n > max || !buf_append(out, chunk, (size_t)n)) {
			buf_printf(why, "larger than %zu bytes", max);
			ok = false;
		}
	}
	close(fd);
	return ok;
}

static void parse_text(struct load *ld, struct src *s, const char *text, size_t len);

static void include_file(struct load *ld, const struct src *s, const char *value)
{
	static const char key[] = "Include";
	char *path = path_join(s->dir, value);
	struct buf data, why;
	struct stat st;
	buf_init(&data, CONFIG_MAX_FILE + 1);
	buf_init(&why, 4096);
	if (!read_file(path, CONFIG_MAX_FILE, &data, &st, &why)) {
		fail(ld, s, key, strlen(key), "%s: %s", path, why.p);
		goto out;
	}
	for (size_t i = 0; i < ld->depth; i++) {
		if (ld->stack[i].dev == st.st_dev && ld->stack[i].ino == st.st_ino) {
			fail(ld, s, key, strlen(key), "%s includes itself", path);
			goto out;
		}
	}
	if (ld->nesting >= CONFIG_MAX_INCLUDE_DEPTH) {
		fail(ld, s, key, strlen(key), "%s: nested more than %d deep", path,
		     CONFIG_MAX_INCLUDE_DEPTH);
		goto out;
	}
	ld->total += data.len;
	if (ld->total > CONFIG_MAX_TOTAL) {
		fail(ld, s, key, strlen(key), "%s: all files together larger than %zu bytes",
		     path, CONFIG_MAX_TOTAL);
		goto out;
	}
	char *dir = path_dir(path);
	struct src sub = { path, dir, 0 };
	ld->stack[ld->depth].dev = st.st_dev;
	ld->stack[ld->depth].ino = st.st_ino;
	ld->depth++;
	ld->nesting++;
	parse_text(ld, &sub, data.p, data.len);
	ld->nesting--;
	ld->depth--;
	free(dir);
out:
	buf_free(&why);
	buf_free(&data);
	free(path);
}

/*
 * The value after the key: `#` starts a comment outside double quotes,
 * quotes are removed (with `\"` and `\\` inside them), and white space is
 * trimmed at both ends except where quoted.  *quoted_r says whether quotes
 * were seen (`Key ""` is an empty value, not a missing one).
 */
static bool extract_value(const char *p, size_t len, struct buf *out, bool *quoted_r)
{
	bool in_quotes = false;
	size_t keep = 0;	/* out's first `keep` bytes are quoted or followed by them */
	size_t i = 0;
	*quoted_r = false;
	while (i < len && is_blank(p[i]))
		i++;
	for (; i < len; i++) {
		char c = p[i];
		if (!in_quotes && c == '#')
			break;
		if (c == '"') {
			in_quotes = !in_quotes;
			*quoted_r = true;
			keep = out->len;
			continue;
		}
		if (in_quotes && c == '\\' && i + 1 < len && (p[i + 1] == '"' || p[i + 1] == '\\'))
			c = p[++i];
		buf_putc(out, c);
		if (in_quotes)
			keep = out->len;
	}
	if (in_quotes)
		return false;
	while (out->len > keep && is_blank(out->p[out->len - 1]))
		buf_truncate(out, out->len - 1);
	return true;
}

static void apply_option(struct load *ld, const struct src *s, const struct option *o,
			 const char *value)
{
	size_t idx = (size_t)(o - options);
	struct value_ctx ctx = { s->dir, !ld->set[idx] };
	struct buf why;
	buf_init(&why, 4096);
	if (types[o->type].set(o, (char *)ld->c + o->offset, value, &ctx, &why))
		ld->set[idx] = true;
	else
		fail(ld, s, o->name, strlen(o->name), "%s", why.p);
	buf_free(&why);
}

/* One line, without its line end. */
static void parse_line(struct load *ld, const struct src *s, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			if (c == 0)
				fail(ld, s, NULL, 0, "NUL byte");
			else
				fail(ld, s, NULL, 0, "control character 0x%02x", c);
			return;
		}
	}
	size_t i = 0;
	while (i < len && is_blank(p[i]))
		i++;
	if (i == len || p[i] == '#')
		return;
	const char *key = p + i;
	while (i < len && !is_blank(p[i]) && p[i] != '#')
		i++;
	size_t key_len = (size_t)(p + i - key);

	bool include = slice_eq_ci(slice_make(key, key_len), "Include");
	const struct option *o = include ? NULL : find_option(key, key_len);
	if (!include && o == NULL) {
		const char *near = closest_name(key, key_len);
		if (near != NULL)
			fail(ld, s, key, key_len, "unknown option; did you mean %s?", near);
		else
			fail(ld, s, key, key_len, "unknown option");
		return;
	}
	struct buf value;
	bool quoted;
	buf_init(&value, CONFIG_MAX_LINE);
	if (!extract_value(p + i, len - i, &value, &quoted))
		fail(ld, s, key, key_len, "unterminated double quote");
	else if (value.len == 0 && !quoted)
		fail(ld, s, key, key_len, "missing value");
	else if (include)
		include_file(ld, s, value.p);
	else
		apply_option(ld, s, o, value.p);
	buf_free(&value);
}

static void parse_text(struct load *ld, struct src *s, const char *text, size_t len)
{
	size_t i = 0;
	while (i < len && !ld->failed) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t line_len = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
		size_t next = i + line_len + 1;
		s->line++;
		if (line_len > 0 && text[i + line_len - 1] == '\r')
			line_len--;	/* CRLF */
		if (line_len > CONFIG_MAX_LINE)
			fail(ld, s, NULL, 0, "line longer than %d bytes", CONFIG_MAX_LINE);
		else
			parse_line(ld, s, text + i, line_len);
		i = next;
	}
}

static struct config *config_new(void)
{
	check_table();
	struct config *c = xcalloc(1, sizeof(*c));
	c->refcount = 1;
	return c;
}

/*
 * Feeds every default through its parser.  A default can fail only through
 * its environment (AuthservID's host name); that is kept and reported only
 * if the file does not set the option.
 */
static void apply_defaults(struct load *ld)
{
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option *o = &options[i];
		if (o->def == NULL)
			continue;
		struct value_ctx ctx = { NULL, true };
		struct buf why;
		buf_init(&why, 4096);
		if (!types[o->type].set(o, (char *)ld->c + o->offset, o->def, &ctx, &why))
			ld->default_error[i] = buf_steal(&why);
		buf_free(&why);
	}
}

static void load_init(struct load *ld)
{
	memset(ld, 0, sizeof(*ld));
	buf_init(&ld->error, 8192);
	ld->c = config_new();
	apply_defaults(ld);
}

/* Ends a load: returns the configuration, or NULL and the error. */
static struct config *load_finish(struct load *ld, const char *name, char **error_r)
{
	struct src top = { name, NULL, 0 };
	for (size_t i = 0; i < N_OPTIONS && !ld->failed; i++)
		if (ld->default_error[i] != NULL && !ld->set[i])
			fail(ld, &top, options[i].name, strlen(options[i].name), "%s",
			     ld->default_error[i]);
	for (size_t i = 0; i < N_OPTIONS; i++)
		free(ld->default_error[i]);
	if (ld->failed) {
		config_unref(&ld->c);
		*error_r = buf_steal(&ld->error);
		return NULL;
	}
	buf_free(&ld->error);
	ld->c->path = xstrdup(name);
	return ld->c;
}

struct config *config_parse(const char *name, const char *text, size_t len, char **error_r)
{
	struct load ld;
	load_init(&ld);
	struct src s = { name, NULL, 0 };
	if (len > CONFIG_MAX_FILE) {
		fail(&ld, &s, NULL, 0, "larger than %zu bytes", CONFIG_MAX_FILE);
	} else {
		ld.total = len;
		parse_text(&ld, &s, text, len);
	}
	return load_finish(&ld, name, error_r);
}

struct config *config_load(const char *path, char **error_r)
{
	struct load ld;
	load_init(&ld);
	struct buf data, why;
	struct stat st;
	struct src s = { path, NULL, 0 };
	buf_init(&data, CONFIG_MAX_FILE + 1);
	buf_init(&why, 4096);
	if (!read_file(path, CONFIG_MAX_FILE, &data, &st, &why)) {
		fail(&ld, &s, NULL, 0, "%s", why.p);
	} else {
		char *dir = path_dir(path);
		s.dir = dir;
		ld.stack[0].dev = st.st_dev;
		ld.stack[0].ino = st.st_ino;
		ld.depth = 1;
		ld.total = data.len;
		parse_text(&ld, &s, data.p, data.len);
		free(dir);
	}
	buf_free(&why);
	buf_free(&data);
	return load_finish(&ld, path, error_r);
}

struct config *config_defaults(void)
{
	struct load ld;
	load_init(&ld);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		if (ld.default_error[i] == NULL)
			continue;
		log_msg(LOG_WARNING, NULL, "%s: %s", options[i].name, ld.default_error[i]);
		free(ld.default_error[i]);
	}
	/* the only default that can fail; config.h promises it is never NULL */
	if (ld.c->authserv_id == NULL)
		ld.c->authserv_id = xstrdup("localhost");
	buf_free(&ld.error);
	ld.c->path = xstrdup("(defaults)");
	return ld.c;
}

struct config *config_ref(struct config *c)
{
	int n = __atomic_add_fetch(&c->refcount, 1, __ATOMIC_RELAXED);
	ASSERT(n > 1);
	return c;
}

void config_unref(struct config **cp)
{
	struct config *c = *cp;
	*cp = NULL;
	if (c == NULL)
		return;
	/* release our writes, and acquire everyone's before freeing */
	int n = __atomic_sub_fetch(&c->refcount, 1, __ATOMIC_ACQ_REL);
	ASSERT(n >= 0);
	if (n > 0)
		return;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (types[options[i].type].drop != NULL)
			types[options[i].type].drop((char *)c + options[i].offset);
	free(c->path);
	free(c);
}

const char *on_error_name(enum on_error e)
{
	switch (e) {
	case ON_ERROR_TEMPFAIL:
		return "tempfail";
	case ON_ERROR_ACCEPT:
		return "accept";
	case ON_ERROR_REJECT:
		return "reject";
	}
	return "unknown";
}
