/*
 * Configuration of the milter (see config.h).  Everything about an option
 * lives in one row of the table `options` below: its name, its type, its
 * default as it would be written in the file, and where it is stored in
 * struct config.  The engine that reads files (syntax, Include, the common
 * value types, the error words) is lib/util/conffile.c, shared with the policy
 * server; the types only the milter needs (AuthservID) are here.
 *
 * Limits: those of conffile.h, plus CONFIG_MAX_NAMESERVERS and
 * CONFIG_MAX_AUTHSERV_ID.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "conffile.h"
#include "netlist.h"
#include "xalloc.h"

#define CONFIG_MAX_NAMESERVERS CONFFILE_MAX_NAMESERVERS
#define CONFIG_MAX_AUTHSERV_ID 255

_Static_assert(CONFIG_MAX_INCLUDE_DEPTH == CONFFILE_MAX_INCLUDE_DEPTH,
	       "config.h and conffile.h agree on the Include depth");

/* The value types of the table, by the names its rows use. */
#define T_STRING (&conffile_string)
#define T_PATH (&conffile_path)
#define T_BOOL (&conffile_bool)
#define T_UINT (&conffile_uint)
#define T_SIZE (&conffile_size)
#define T_DURATION (&conffile_duration)
#define T_OCTAL (&conffile_octal)
#define T_ENUM (&conffile_enum)
#define T_LETTERS (&conffile_letters)
#define T_SOCKET (&conffile_socket)
#define T_ADDR_LIST (&conffile_addr_list)
#define T_NETLIST (&conffile_netlist)
#define T_FACILITY (&conffile_facility)
#define T_AUTHSERV_ID (&authserv_id_type)

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

static void free_authserv_id(void *field)
{
	char **f = field;
	free(*f);
	*f = NULL;
}

static bool set_authserv_id(const struct conffile_option *o UNUSED, void *field,
			    const char *value, const struct conffile_ctx *ctx UNUSED,
			    struct buf *why)
{
	char host[256];
	if (strcmp(value, "HOSTNAME") == 0) {
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
		value = host;
	} else if (!valid_authserv_id(value)) {
		buf_puts(why, "expected HOSTNAME or a token of printable ASCII without "
			      "spaces, quotes or ()<>@,;:\\/[]?=");
		return false;
	}
	free_authserv_id(field);
	*(char **)field = xstrdup(value);
	return true;
}

static const struct conffile_type authserv_id_type = {
	.size = sizeof(char *), .set = set_authserv_id, .drop = free_authserv_id,
};

static const struct conffile_bounds socket_mode_bounds = { 0, 0777 };
static const struct conffile_bounds header_count_bounds = { 1, 100000 };
static const struct conffile_bounds header_size_bounds = { 1024, (size_t)16 << 20 };
static const struct conffile_bounds header_block_bounds = { 1024, (size_t)64 << 20 };
/* RFC 5321 4.5.3.1.6: lines of 1000 octets must get through */
static const struct conffile_bounds line_length_bounds = { 1000, (size_t)16 << 20 };
/* under Postfix's milter_command_timeout of 30 s, or the MTA gives up first */
static const struct conffile_bounds dns_timeout_bounds = { 100, 25000 };

static const struct conffile_bounds max_signatures_bounds = { 1, 64 };
/* RFC 8301 3.2: keys under 1024 bits never verify, whatever is configured */
static const struct conffile_bounds key_bits_bounds = { 1024, 8192 };
static const struct conffile_bounds clock_skew_bounds = { 0, 86400000 };
static const struct conffile_bounds signature_ttl_bounds = { 0, 30ULL * 86400000 };

static const struct conffile_name_value canon_names[] = {
	{ "simple", CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE) },
	{ "relaxed", CANON_PAIR(CANON_RELAXED, CANON_SIMPLE) },
	{ "simple/simple", CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE) },
	{ "simple/relaxed", CANON_PAIR(CANON_SIMPLE, CANON_RELAXED) },
	{ "relaxed/simple", CANON_PAIR(CANON_RELAXED, CANON_SIMPLE) },
	{ "relaxed/relaxed", CANON_PAIR(CANON_RELAXED, CANON_RELAXED) },
	{ NULL, 0 },
};
static const struct conffile_name_value sign_alg_names[] = {
	{ "rsa-sha256", SIGN_RSA_SHA256 },
	{ "ed25519-sha256", SIGN_ED25519_SHA256 },
	{ NULL, 0 },
};

static const struct conffile_bounds spf_timeout_bounds = { 100, 25000 };

static const struct conffile_name_value dmarc_quarantine_names[] = {
	{ "hold", DMARC_QUARANTINE_HOLD },
	{ "header", DMARC_QUARANTINE_HEADER },
	{ NULL, 0 },
};
static const struct conffile_name_value dmarc_temperror_names[] = {
	{ "accept", ON_ERROR_ACCEPT },
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ NULL, 0 },
};

static const struct conffile_name_value mode_letters[] = {
	{ "s", MODE_SIGN },
	{ "v", MODE_VERIFY },
	{ NULL, 0 },
};
static const struct conffile_name_value on_internal_error_names[] = {
	{ "tempfail", ON_ERROR_TEMPFAIL },
	{ "accept", ON_ERROR_ACCEPT },
	{ NULL, 0 },
};
static const struct conffile_name_value on_header_limit_names[] = {
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
static const struct conffile_option options[] = {
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

static const struct conffile_schema schema = { options, N_OPTIONS, sizeof(struct config) };

/* Sets what the table does not hold: the reference count and the name. */
static struct config *finish(struct config *c, const char *name)
{
	if (c != NULL) {
		c->refcount = 1;
		c->path = xstrdup(name);
	}
	return c;
}

struct config *config_parse(const char *name, const char *text, size_t len, char **error_r)
{
	return finish(conffile_parse(&schema, name, text, len, error_r), name);
}

struct config *config_load(const char *path, char **error_r)
{
	return finish(conffile_load(&schema, path, error_r), path);
}

struct config *config_defaults(void)
{
	struct config *c = finish(conffile_defaults(&schema), "(defaults)");
	/* the only default that can fail; config.h promises it is never NULL */
	if (c->authserv_id == NULL)
		c->authserv_id = xstrdup("localhost");
	return c;
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
	conffile_drop(&schema, c);
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
