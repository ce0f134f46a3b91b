/*
 * Configuration of the milter (see config.h).  Everything about an option
 * of the daemon or the pipeline lives in one row of the table `options`
 * below: its name, its type, its default as it would be written in the
 * file, and where it is stored in struct config.  Each check's options are
 * a table of its own in the check's file (check.h); one load reads them
 * all from the same file, as fragments (conffile_load_multi).  The engine
 * that reads files (syntax, Include, the common value types, the error
 * words) is lib/util/conffile.c, shared with the policy server; the types
 * only the milter needs (AuthservID) are here.
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
#include "check.h"
#include "compiler.h"
#include "conffile.h"
#include "netlist.h"
#include "xalloc.h"

#define CONFIG_MAX_NAMESERVERS CONFFILE_MAX_NAMESERVERS
#define CONFIG_MAX_AUTHSERV_ID 255
/* checks with options of their own in one table */
#define CONFIG_MAX_CHECKS 64

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

/* 0: straight to a file; a message in memory costs its size in RSS */
static const struct conffile_bounds spool_memory_bounds = { 0, (size_t)64 << 20 };

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

#define OPT(name, type, def, field, extra) CONFFILE_OPT(struct config, name, type, def, field, extra)

/*
 * The options of the daemon and the pipeline.  To add one: add its field
 * to struct config (config.h), a row here (name as OpenDKIM spells it when
 * the meaning is the same; the default as it would be written in the file,
 * or NULL), and a .TP entry in doc/cachet.conf.5.  An option of one check
 * goes in that check's own table instead.  The engine checks every table
 * on first use (field sizes, names unique across all of them, parsable
 * defaults) and aborts on a mistake.
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
	/* the spool */
	OPT("SpoolMemoryLimit", T_SIZE, "1m", spool_memory_limit, &spool_memory_bounds),
	OPT("SpoolDirectory", T_STRING, "/var/tmp", spool_directory, NULL),
};

#define N_OPTIONS ARRAY_LEN(options)

static const struct conffile_schema schema = { options, N_OPTIONS, sizeof(struct config) };

/* The fragments of a load: ours, then those of the checks that have options. */
struct frags {
	const struct conffile_schema *v[1 + CONFIG_MAX_CHECKS];
	size_t check_of[1 + CONFIG_MAX_CHECKS];	/* fragment -> index in the table */
	size_t n;
};

static void frags_of(const struct check *const *checks, size_t n, struct frags *f)
{
	ASSERT(n <= CONFIG_MAX_CHECKS);
	f->v[0] = &schema;
	f->n = 1;
	for (size_t i = 0; i < n; i++) {
		if (checks[i]->options == NULL)
			continue;
		f->check_of[f->n] = i;
		f->v[f->n++] = checks[i]->options;
	}
}

/*
 * Turns the loaded fragments into the snapshot: ours is struct config, the
 * others go to check_opts by check.
 */
static struct config *finish(void **objs, const struct frags *f, const struct check *const *checks,
			     size_t n, const char *name)
{
	if (objs == NULL)
		return NULL;
	struct config *c = objs[0];
	c->refcount = 1;
	c->path = xstrdup(name);
	c->checks = checks;
	c->n_checks = n;
	c->check_opts = xcalloc(n + 1, sizeof(void *));
	for (size_t k = 1; k < f->n; k++)
		c->check_opts[f->check_of[k]] = objs[k];
	free(objs);
	return c;
}

struct config *config_parse_with(const char *name, const char *text, size_t len,
				 const struct check *const *checks, size_t n, char **error_r)
{
	struct frags f;
	frags_of(checks, n, &f);
	return finish(conffile_parse_multi(f.v, f.n, name, text, len, error_r), &f, checks, n, name);
}

struct config *config_load_with(const char *path, const struct check *const *checks, size_t n,
				char **error_r)
{
	struct frags f;
	frags_of(checks, n, &f);
	return finish(conffile_load_multi(f.v, f.n, path, error_r), &f, checks, n, path);
}

struct config *config_parse(const char *name, const char *text, size_t len, char **error_r)
{
	return config_parse_with(name, text, len, check_table, check_table_len, error_r);
}

struct config *config_load(const char *path, char **error_r)
{
	return config_load_with(path, check_table, check_table_len, error_r);
}

struct config *config_defaults(void)
{
	struct frags f;
	frags_of(check_table, check_table_len, &f);
	struct config *c = finish(conffile_defaults_multi(f.v, f.n), &f, check_table,
				  check_table_len, "(defaults)");
	/* the only default that can fail; config.h promises it is never NULL */
	if (c->authserv_id == NULL)
		c->authserv_id = xstrdup("localhost");
	return c;
}

const struct conffile_schema *config_schema(void)
{
	return &schema;
}

const void *config_check_options(const struct config *c, const char *name)
{
	ptrdiff_t i = check_table_find(c->checks, c->n_checks, name);
	return i >= 0 ? c->check_opts[i] : NULL;
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
	for (size_t i = 0; i < c->n_checks; i++) {
		if (c->check_opts[i] == NULL)
			continue;
		conffile_drop(c->checks[i]->options, c->check_opts[i]);
		free(c->check_opts[i]);
	}
	free(c->check_opts);
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
