/*
 * Tests for milterd/config.c: the defaults, every option type (good and bad
 * values, with the exact error words), the line syntax (comments, quotes,
 * CRLF, limits, NUL bytes), Include (relative paths, cycles, depth) and the
 * reference count.  File fixtures live in tests/unit/data/config/, found
 * relative to this source file's path as compiled (run from the top folder).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <stdint.h>
#include <unistd.h>

#include "xalloc.h"

#include "buf.h"
#include "check.h"
#include "compiler.h"
#include "config.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "file.h"
#include "netlist.h"
#include "spf.h"
#include "t.h"

/* The fixture folder: tests/unit/data/config beside this file. */
static char *data_path(const char *name)
{
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	struct buf b;
	buf_init(&b, 0);
	if (slash != NULL)
		buf_append(&b, file, (size_t)(slash - file + 1));
	buf_printf(&b, "data/config/%s", name);
	return buf_steal(&b);
}

/* Parses text as "t.conf"; NULL with *error_r set on failure. */
static struct config *parse(const char *text, char **error_r)
{
	*error_r = NULL;
	return config_parse("t.conf", text, strlen(text), error_r);
}

/* Parses text that must load; fails the test otherwise. */
static struct config *parse_ok(const char *text)
{
	char *error = NULL;
	struct config *c = parse(text, &error);
	if (c == NULL)
		t_fail(__FILE__, __LINE__, "parse \"%s\": %s", text, error);
	free(error);
	return c;
}

/* Parse text that must fail with exactly `expected`. */
static void check_error(const char *text, size_t len, const char *expected)
{
	char *error = NULL;
	struct config *c = config_parse("t.conf", text, len, &error);
	T_CHECK(c == NULL);
	T_EQ_STR(error, expected);
	config_unref(&c);
	free(error);
}

static void test_defaults(void)
{
	struct config *c = config_defaults();
	char host[256] = "";
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	T_EQ_STR(c->path, "(defaults)");
	T_EQ_STR(c->socket, "inet:8891@127.0.0.1");
	T_EQ_INT(c->socket_mode, 0660);
	T_CHECK(c->user_id == NULL);
	T_CHECK(c->pid_file == NULL);
	T_CHECK(c->syslog);
	T_EQ_INT(c->syslog_facility, LOG_MAIL);
	T_CHECK(!c->log_debug);
	T_EQ_STR(c->authserv_id, host);
	T_EQ_INT(c->mode, MODE_SIGN | MODE_VERIFY);
	T_EQ_INT(netlist_count(c->internal_hosts), 2);
	T_CHECK(netlist_match_text(c->internal_hosts, "127.0.0.1", NULL));
	T_CHECK(netlist_match_text(c->internal_hosts, "::1", NULL));
	T_CHECK(!netlist_match_text(c->internal_hosts, "192.0.2.1", NULL));
	T_EQ_INT(c->on_internal_error, ON_ERROR_TEMPFAIL);
	T_EQ_INT(c->on_header_limit, ON_ERROR_REJECT);
	T_EQ_INT(c->max_header_count, 1000);
	T_EQ_INT(c->max_header_size, 65536);
	T_EQ_INT(c->max_header_block, 1048576);
	T_EQ_INT(c->max_line_length, 65536);
	T_CHECK(c->nameservers == NULL);
	T_CHECK(c->test_dns_data == NULL);
	T_EQ_INT(c->dns_timeout_ms, 5000);
	T_EQ_INT(c->spool_memory_limit, 1048576);
	T_EQ_STR(c->spool_directory, "/var/tmp");
	T_EQ_INT(c->refcount, 1);
	config_unref(&c);
}

/* Each check's options: read from the same file, defaults as documented. */
static void test_check_option_defaults(void)
{
	struct config *c = config_defaults();
	const struct dkim_verify_options *v = config_check_options(c, "dkim_verify");
	const struct dkim_sign_options *s = config_check_options(c, "dkim_sign");
	const struct spf_options *spf = config_check_options(c, "spf");
	const struct dmarc_options *d = config_check_options(c, "dmarc");
	T_CHECK(v != NULL && s != NULL && spf != NULL && d != NULL);
	if (v == NULL || s == NULL || spf == NULL || d == NULL) {
		config_unref(&c);
		return;
	}
	T_EQ_INT(v->max_signatures, 8);
	T_EQ_INT(v->minimum_key_bits, 1024);
	T_EQ_INT(v->clock_skew_ms, 300000);
	T_CHECK(s->key_table == NULL && s->key_file == NULL);
	T_EQ_INT(s->canonicalization, CANON_PAIR(CANON_RELAXED, CANON_RELAXED));
	T_EQ_INT(s->signature_algorithm, SIGN_RSA_SHA256);
	T_CHECK(!s->multiple_signatures && s->require_safe_keys);
	T_EQ_INT(s->signature_ttl_ms, 0);
	T_CHECK(spf->spf && !spf->reject_fail && !spf->add_received_spf);
	T_EQ_INT(spf->timeout_ms, 10000);
	T_CHECK(d->dmarc && d->enforce && d->reject_multi_from);
	T_EQ_STR(d->public_suffix_list, "/usr/share/publicsuffix/public_suffix_list.dat");
	T_EQ_INT(d->quarantine, DMARC_QUARANTINE_HOLD);
	T_CHECK(d->trusted_forwarders == NULL);
	T_EQ_INT(d->on_temperror, ON_ERROR_ACCEPT);
	T_CHECK(config_check_options(c, "nonexistent") == NULL);
	config_unref(&c);
}

static void test_check_options_set_from_the_file(void)
{
	struct config *c = parse_ok("MinimumKeyBits 2048\nCanonicalization simple\n"
				    "SPFTimeout 2s\nDMARCQuarantine header\n"
				    "DMARCTrustedForwarders 192.0.2.0/24\nSPF no\n");
	if (c == NULL)
		return;
	const struct dkim_verify_options *v = config_check_options(c, "dkim_verify");
	const struct dkim_sign_options *s = config_check_options(c, "dkim_sign");
	const struct spf_options *spf = config_check_options(c, "spf");
	const struct dmarc_options *d = config_check_options(c, "dmarc");
	T_EQ_INT(v->minimum_key_bits, 2048);
	T_EQ_INT(s->canonicalization, CANON_PAIR(CANON_SIMPLE, CANON_SIMPLE));
	T_EQ_INT(spf->timeout_ms, 2000);
	T_CHECK(!spf->spf);
	T_EQ_INT(d->quarantine, DMARC_QUARANTINE_HEADER);
	T_CHECK(netlist_match_text(d->trusted_forwarders, "192.0.2.9", NULL));
	config_unref(&c);
}

/* Every option of every table has an entry in doc/cachet.conf.5, and back. */
static void test_every_option_is_documented(void)
{
	const char *file = __FILE__;
	const char *slash = strrchr(file, '/');
	char *path = slash != NULL ? xasprintf("%.*s/../../doc/cachet.conf.5",
					       (int)(slash - file), file)
				   : xstrdup("doc/cachet.conf.5");
	struct buf doc, err;
	buf_init(&doc, 0);
	buf_init(&err, 0);
	T_CHECK(file_read_regular(path, (size_t)1 << 20, &doc, &err));
	/* the documented names: ".TP" then ".BI Name ..." */
	const char *names[256];
	size_t n = 0;
	for (const char *p = doc.p; (p = strstr(p, "\n.TP\n.BI ")) != NULL && n < 256; p++) {
		const char *w = p + 9;
		size_t len = strcspn(w, " \n");
		names[n++] = xstrndup(w, len);
	}
	struct config *c = config_defaults();
	size_t options = 0;
	for (size_t k = 0; k <= c->n_checks; k++) {
		const struct conffile_schema *sc =
			k == 0 ? config_schema() : c->checks[k - 1]->options;
		for (size_t i = 0; sc != NULL && i < sc->n_options; i++, options++) {
			bool found = false;
			for (size_t j = 0; j < n; j++)
				found |= strcmp(names[j], sc->options[i].name) == 0;
			if (!found)
				t_fail(__FILE__, __LINE__, "%s is not in %s", sc->options[i].name, path);
		}
	}
	/* and nothing documented that no table knows ("Include" is the engine's) */
	for (size_t j = 0; j < n; j++) {
		char *text = xasprintf("%s x", names[j]);
		char *error = NULL;
		struct config *x = config_parse("t.conf", text, strlen(text), &error);
		if (error != NULL && strstr(error, "unknown option") != NULL)
			t_fail(__FILE__, __LINE__, "%s is documented but not an option", names[j]);
		config_unref(&x);
		free(error);
		free(text);
		free((char *)(uintptr_t)names[j]);
	}
	T_CHECK(options > 40);
	config_unref(&c);
	buf_free(&doc);
	buf_free(&err);
	free(path);
}

static void test_empty_text_gives_defaults(void)
{
	struct config *c = parse_ok("\n# nothing but a comment\n\n   \t\n");
	struct config *d = config_defaults();
	if (c != NULL) {
		T_EQ_STR(c->path, "t.conf");
		T_EQ_STR(c->socket, d->socket);
		T_EQ_STR(c->authserv_id, d->authserv_id);
		T_EQ_INT(c->dns_timeout_ms, d->dns_timeout_ms);
	}
	config_unref(&c);
	config_unref(&d);
}

static void test_refcount(void)
{
	struct config *c = config_defaults();
	struct config *r = config_ref(c);
	T_CHECK(r == c);
	T_EQ_INT(c->refcount, 2);
	config_unref(&r);
	T_CHECK(r == NULL);
	T_EQ_INT(c->refcount, 1);
	config_unref(&c);
	T_CHECK(c == NULL);
	config_unref(&c);	/* NULL is fine */
}

static void test_string_options(void)
{
	struct config *c = parse_ok("UserID milter:mail\nPidFile /run/cachet/milterd.pid\n");
	if (c != NULL) {
		T_EQ_STR(c->user_id, "milter:mail");
		T_EQ_STR(c->pid_file, "/run/cachet/milterd.pid");
	}
	config_unref(&c);
}

static void test_bool_spellings(void)
{
	static const struct {
		const char *text;
		bool expected;
	} cases[] = {
		{ "yes", true }, { "YES", true }, { "true", true }, { "On", true }, { "1", true },
		{ "no", false }, { "No", false }, { "FALSE", false }, { "off", false }, { "0", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char text[64];
		snprintf(text, sizeof(text), "LogDebug %s\nSyslog %s\n", cases[i].text, cases[i].text);
		struct config *c = parse_ok(text);
		if (c != NULL) {
			T_EQ_INT(c->log_debug, cases[i].expected);
			T_EQ_INT(c->syslog, cases[i].expected);
		}
		config_unref(&c);
	}
}

static void test_numbers_and_units(void)
{
	static const struct {
		const char *text;
		size_t offset;	/* which field */
		unsigned long long expected;
	} cases[] = {
		{ "MaximumHeaderCount 1", offsetof(struct config, max_header_count), 1 },
		{ "MaximumHeaderCount 100000", offsetof(struct config, max_header_count), 100000 },
		{ "MaximumHeaderSize 1024", offsetof(struct config, max_header_size), 1024 },
		{ "MaximumHeaderSize 2k", offsetof(struct config, max_header_size), 2048 },
		{ "MaximumHeaderSize 2K", offsetof(struct config, max_header_size), 2048 },
		{ "MaximumHeaders 3m", offsetof(struct config, max_header_block), 3 << 20 },
		{ "MaximumHeaders 64M", offsetof(struct config, max_header_block), 64 << 20 },
		{ "MaximumLineLength 1000", offsetof(struct config, max_line_length), 1000 },
		{ "MaximumLineLength 16m", offsetof(struct config, max_line_length), 16 << 20 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config *c = parse_ok(cases[i].text);
		if (c != NULL) {
			size_t v;
			memcpy(&v, (const char *)c + cases[i].offset, sizeof(v));
			T_EQ_INT(v, cases[i].expected);
		}
		config_unref(&c);
	}
}

static void test_duration_units(void)
{
	static const struct {
		const char *text;
		unsigned expected_ms;
	} cases[] = {
		{ "DNSTimeout 5", 5000 },     { "DNSTimeout 25", 25000 }, { "DNSTimeout 100ms", 100 },
		{ "DNSTimeout 2500MS", 2500 }, { "DNSTimeout 3s", 3000 },  { "DNSTimeout 1s", 1000 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config *c = parse_ok(cases[i].text);
		if (c != NULL)
			T_EQ_INT(c->dns_timeout_ms, cases[i].expected_ms);
		config_unref(&c);
	}
}

static void test_socket_mode_octal(void)
{
	static const struct {
		const char *text;
		unsigned expected;
	} cases[] = {
		{ "SocketMode 0660", 0660 }, { "SocketMode 600", 0600 },
		{ "SocketMode 0", 0 },	     { "SocketMode 0777", 0777 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config *c = parse_ok(cases[i].text);
		if (c != NULL)
			T_EQ_INT(c->socket_mode, cases[i].expected);
		config_unref(&c);
	}
}

static void test_enums_and_mode(void)
{
	static const struct {
		const char *text;
		unsigned mode;
		enum on_error internal, header;
	} cases[] = {
		{ "Mode s", MODE_SIGN, ON_ERROR_TEMPFAIL, ON_ERROR_REJECT },
		{ "Mode v", MODE_VERIFY, ON_ERROR_TEMPFAIL, ON_ERROR_REJECT },
		{ "Mode vs", MODE_SIGN | MODE_VERIFY, ON_ERROR_TEMPFAIL, ON_ERROR_REJECT },
		{ "Mode SV", MODE_SIGN | MODE_VERIFY, ON_ERROR_TEMPFAIL, ON_ERROR_REJECT },
		{ "OnInternalError accept", MODE_SIGN | MODE_VERIFY, ON_ERROR_ACCEPT, ON_ERROR_REJECT },
		{ "OnInternalError TempFail", MODE_SIGN | MODE_VERIFY, ON_ERROR_TEMPFAIL, ON_ERROR_REJECT },
		{ "OnHeaderLimit tempfail", MODE_SIGN | MODE_VERIFY, ON_ERROR_TEMPFAIL, ON_ERROR_TEMPFAIL },
		{ "OnHeaderLimit accept", MODE_SIGN | MODE_VERIFY, ON_ERROR_TEMPFAIL, ON_ERROR_ACCEPT },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config *c = parse_ok(cases[i].text);
		if (c != NULL) {
			T_EQ_INT(c->mode, cases[i].mode);
			T_EQ_INT(c->on_internal_error, cases[i].internal);
			T_EQ_INT(c->on_header_limit, cases[i].header);
		}
		config_unref(&c);
	}
	T_EQ_STR(on_error_name(ON_ERROR_TEMPFAIL), "tempfail");
	T_EQ_STR(on_error_name(ON_ERROR_ACCEPT), "accept");
	T_EQ_STR(on_error_name(ON_ERROR_REJECT), "reject");
}

static void test_socket_specs(void)
{
	static const char *const good[] = {
		"inet:8891@127.0.0.1", "inet:1", "inet:65535@localhost", "INET:25@[192.0.2.1]",
		"inet6:8891@::1", "inet6:8891@[2001:db8::1]", "inet6:8891",
		"local:/run/cachet/milter.sock", "unix:/run/cachet/milter.sock",
		"/run/cachet/milter.sock", "local:relative.sock",
	};
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		char text[200];
		snprintf(text, sizeof(text), "Socket %s", good[i]);
		struct config *c = parse_ok(text);
		if (c != NULL)
			T_EQ_STR(c->socket, good[i]);
		config_unref(&c);
	}
}

static void test_facility(void)
{
	struct config *c = parse_ok("SyslogFacility local3");
	if (c != NULL)
		T_EQ_INT(c->syslog_facility, LOG_LOCAL3);
	config_unref(&c);
	c = parse_ok("SyslogFacility DAEMON");
	if (c != NULL)
		T_EQ_INT(c->syslog_facility, LOG_DAEMON);
	config_unref(&c);
}

static void test_authserv_id(void)
{
	struct config *c = parse_ok("AuthservID mx.example.com");
	if (c != NULL)
		T_EQ_STR(c->authserv_id, "mx.example.com");
	config_unref(&c);
	char host[256] = "";
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	c = parse_ok("AuthservID example.org\nAuthservID HOSTNAME");
	if (c != NULL)
		T_EQ_STR(c->authserv_id, host);
	config_unref(&c);
}

static void test_nameservers_accumulate(void)
{
	struct config *c = parse_ok("Nameservers 192.0.2.1, 2001:db8::53\n"
				    "Nameservers 192.0.2.2@5353 ::1@53,,127.0.0.1\n");
	if (c != NULL && c->nameservers != NULL) {
		static const char *const expected[] = {
			"192.0.2.1", "2001:db8::53", "192.0.2.2@5353", "::1@53", "127.0.0.1",
		};
		for (size_t i = 0; i < ARRAY_LEN(expected); i++)
			T_EQ_STR(c->nameservers[i], expected[i]);
		T_CHECK(c->nameservers[ARRAY_LEN(expected)] == NULL);
	} else {
		T_CHECK(c != NULL && c->nameservers != NULL);
	}
	config_unref(&c);
}

static void test_internal_hosts_inline(void)
{
	struct config *c = parse_ok("InternalHosts 10.0.0.0/8, !10.1.1.1 .example.com");
	if (c != NULL) {
		T_EQ_INT(netlist_count(c->internal_hosts), 3);
		T_CHECK(netlist_match_text(c->internal_hosts, "10.2.3.4", NULL));
		T_CHECK(!netlist_match_text(c->internal_hosts, "10.1.1.1", NULL));
		T_CHECK(!netlist_match_text(c->internal_hosts, "127.0.0.1", NULL));
		T_CHECK(netlist_match_text(c->internal_hosts, "192.0.2.1", "a.example.com"));
	}
	config_unref(&c);
}

static void test_later_scalar_wins(void)
{
	struct config *c = parse_ok("Socket inet:1@127.0.0.1\nsocket inet:2@127.0.0.1\n"
				    "InternalHosts 10.0.0.1\nInternalHosts 10.0.0.2 10.0.0.3\n");
	if (c != NULL) {
		T_EQ_STR(c->socket, "inet:2@127.0.0.1");
		T_EQ_INT(netlist_count(c->internal_hosts), 2);
	}
	config_unref(&c);
}

static void test_keys_case_insensitive(void)
{
	struct config *c = parse_ok("SOCKETMODE 0600\nlogdebug YES\nsYsLoGfAcIlItY user\n");
	if (c != NULL) {
		T_EQ_INT(c->socket_mode, 0600);
		T_CHECK(c->log_debug);
		T_EQ_INT(c->syslog_facility, LOG_USER);
	}
	config_unref(&c);
}

static void test_comments_and_blanks(void)
{
	struct config *c = parse_ok("# first\n\n   # indented comment\n"
				    "UserID  milter   # trailing comment\n"
				    "PidFile\t/run/x.pid#no space before it\n\t\n");
	if (c != NULL) {
		T_EQ_STR(c->user_id, "milter");
		T_EQ_STR(c->pid_file, "/run/x.pid");
	}
	config_unref(&c);
}

static void test_quoted_values(void)
{
	static const struct {
		const char *text;
		const char *expected;
	} cases[] = {
		{ "UserID \"a # b\"", "a # b" },
		{ "UserID \"  spaced  \"  # comment", "  spaced  " },
		{ "UserID a \"b#c\" d", "a b#c d" },
		{ "UserID \"say \\\"hi\\\"\"", "say \"hi\"" },
		{ "UserID \"back\\\\slash\"", "back\\slash" },
		{ "UserID \"\\n stays\"", "\\n stays" },
		{ "UserID x\"\"y", "xy" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct config *c = parse_ok(cases[i].text);
		if (c != NULL)
			T_EQ_STR(c->user_id, cases[i].expected);
		config_unref(&c);
	}
}

static void test_crlf_line_ends(void)
{
	struct config *c = parse_ok("UserID milter\r\nMode v\r\n\r\n# c\r\nLogDebug yes\r\n");
	if (c != NULL) {
		T_EQ_STR(c->user_id, "milter");
		T_EQ_INT(c->mode, MODE_VERIFY);
		T_CHECK(c->log_debug);
	}
	config_unref(&c);
	char *path = data_path("crlf.conf"), *error = NULL;
	c = config_load(path, &error);
	T_CHECK(c != NULL);
	if (c != NULL) {
		T_CHECK(!c->syslog);
		T_EQ_INT(c->mode, MODE_SIGN);
		T_EQ_STR(c->authserv_id, "mx.example");
		T_EQ_STR(c->path, path);
	}
	config_unref(&c);
	free(error);
	free(path);
}

/* Each bad value, with the exact words of its error. */
static void test_bad_values(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "UserID \"\"", "t.conf:1: UserID: expected a non-empty value" },
		{ "Syslog maybe", "t.conf:1: Syslog: expected yes or no (or true/false, on/off, 1/0)" },
		{ "MaximumHeaderCount 0",
		  "t.conf:1: MaximumHeaderCount: expected a whole number from 1 to 100000" },
		{ "MaximumHeaderCount 100001",
		  "t.conf:1: MaximumHeaderCount: expected a whole number from 1 to 100000" },
		{ "MaximumHeaderCount -1",
		  "t.conf:1: MaximumHeaderCount: expected a whole number from 1 to 100000" },
		{ "MaximumHeaderCount 12abc",
		  "t.conf:1: MaximumHeaderCount: expected a whole number from 1 to 100000" },
		{ "MaximumHeaderCount 99999999999999999999999",
		  "t.conf:1: MaximumHeaderCount: expected a whole number from 1 to 100000" },
		{ "MaximumHeaderSize 1023",
		  "t.conf:1: MaximumHeaderSize: expected a size in bytes (suffix k, m or g "
		  "allowed) from 1k to 16m" },
		{ "MaximumHeaderSize 1t",
		  "t.conf:1: MaximumHeaderSize: expected a size in bytes (suffix k, m or g "
		  "allowed) from 1k to 16m" },
		{ "MaximumHeaders 99999999999999999g",
		  "t.conf:1: MaximumHeaders: expected a size in bytes (suffix k, m or g "
		  "allowed) from 1k to 64m" },
		{ "MaximumLineLength 999",
		  "t.conf:1: MaximumLineLength: expected a size in bytes (suffix k, m or g "
		  "allowed) from 1000 to 16m" },
		{ "DNSTimeout 26",
		  "t.conf:1: DNSTimeout: expected a duration (seconds, or suffix ms, s, m or h) "
		  "from 100ms to 25s" },
		{ "DNSTimeout 99ms",
		  "t.conf:1: DNSTimeout: expected a duration (seconds, or suffix ms, s, m or h) "
		  "from 100ms to 25s" },
		{ "DNSTimeout 1m",
		  "t.conf:1: DNSTimeout: expected a duration (seconds, or suffix ms, s, m or h) "
		  "from 100ms to 25s" },
		{ "DNSTimeout 5 s",
		  "t.conf:1: DNSTimeout: expected a duration (seconds, or suffix ms, s, m or h) "
		  "from 100ms to 25s" },
		{ "SocketMode 0680", "t.conf:1: SocketMode: expected an octal mode from 0 to 0777" },
		{ "SocketMode 1777", "t.conf:1: SocketMode: expected an octal mode from 0 to 0777" },
		{ "Mode x", "t.conf:1: Mode: expected one or more of the letters s or v" },
		{ "Mode sx", "t.conf:1: Mode: expected one or more of the letters s or v" },
		{ "Mode \"\"", "t.conf:1: Mode: expected one or more of the letters s or v" },
		{ "OnInternalError reject", "t.conf:1: OnInternalError: expected tempfail or accept" },
		{ "OnHeaderLimit drop",
		  "t.conf:1: OnHeaderLimit: expected reject, tempfail or accept" },
		{ "Socket tcp:25", "t.conf:1: Socket: expected inet:PORT@ADDR, inet:PORT, "
				   "inet6:PORT@ADDR, local:PATH or an absolute path" },
		{ "Socket inet:0@127.0.0.1",
		  "t.conf:1: Socket: expected a port from 1 to 65535 before @" },
		{ "Socket inet:65536", "t.conf:1: Socket: expected a port from 1 to 65535 before @" },
		{ "Socket inet:@127.0.0.1",
		  "t.conf:1: Socket: expected a port from 1 to 65535 before @" },
		{ "Socket inet:25@",
		  "t.conf:1: Socket: expected an IPv4 address or a host name after @" },
		{ "Socket inet:25@bad!host",
		  "t.conf:1: Socket: expected an IPv4 address or a host name after @" },
		{ "Socket inet6:25@::1::2",
		  "t.conf:1: Socket: expected an IPv6 address or a host name after @" },
		{ "Socket local:", "t.conf:1: Socket: expected a socket path after local:" },
		{ "Socket /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "t.conf:1: Socket: expected a socket path shorter than 108 bytes" },
		{ "Nameservers 192.0.2.1 dns.example",
		  "t.conf:1: Nameservers: expected IP addresses with an optional @PORT, "
		  "not \"dns.example\"" },
		{ "Nameservers 192.0.2.1@0",
		  "t.conf:1: Nameservers: expected IP addresses with an optional @PORT, "
		  "not \"192.0.2.1@0\"" },
		{ "Nameservers ,", "t.conf:1: Nameservers: expected IP addresses with an optional @PORT" },
		{ "InternalHosts 10.0.0.0/33",
		  "t.conf:1: InternalHosts: entry \"10.0.0.0/33\": prefix length must be 0 to 32" },
		{ "InternalHosts file:/nonexistent/hosts",
		  "t.conf:1: InternalHosts: /nonexistent/hosts: cannot open: No such file or directory" },
		{ "SyslogFacility kern",
		  "t.conf:1: SyslogFacility: expected mail, daemon, user or local0 to local7" },
		{ "AuthservID mx;example",
		  "t.conf:1: AuthservID: expected HOSTNAME or a token of printable ASCII without "
		  "spaces, quotes or ()<>@,;:\\/[]?=" },
		{ "AuthservID \"mx example\"",
		  "t.conf:1: AuthservID: expected HOSTNAME or a token of printable ASCII without "
		  "spaces, quotes or ()<>@,;:\\/[]?=" },
		{ "TestDNSData /nonexistent/zone",
		  "t.conf:1: TestDNSData: cannot read /nonexistent/zone: No such file or directory" },
		{ "TestDNSData /", "t.conf:1: TestDNSData: / is not a regular file" },
		{ "SpoolMemoryLimit 65m", "t.conf:1: SpoolMemoryLimit: expected a size in bytes "
		  "(suffix k, m or g allowed) from 0 to 64m" },
		/* the checks' own options, in the same words */
		{ "MinimumKeyBits 512",
		  "t.conf:1: MinimumKeyBits: expected a whole number from 1024 to 8192" },
		{ "Canonicalization loose", "t.conf:1: Canonicalization: expected simple, relaxed, "
		  "simple/simple, simple/relaxed, relaxed/simple or relaxed/relaxed" },
		{ "SPFTimeout 50ms", "t.conf:1: SPFTimeout: expected a duration (seconds, or "
		  "suffix ms, s, m or h) from 100ms to 25s" },
		{ "DMARCOnTempError reject",
		  "t.conf:1: DMARCOnTempError: expected accept or tempfail" },
		{ "SPFRejectFial yes", "t.conf:1: SPFRejectFial: unknown option; did you mean "
		  "SPFRejectFail?" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		check_error(cases[i].text, strlen(cases[i].text), cases[i].error);
}

static void test_too_many_nameservers(void)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 20; i++)
		buf_printf(&b, "Nameservers 192.0.2.%d, 198.51.100.%d\n", i, i);
	/* line 17 is the first over the limit; each later one is reported too */
	check_error(b.p, b.len, "t.conf:17: Nameservers: expected at most 32 addresses\n"
				"t.conf:18: Nameservers: expected at most 32 addresses\n"
				"t.conf:19: Nameservers: expected at most 32 addresses\n"
				"t.conf:20: Nameservers: expected at most 32 addresses");
	buf_free(&b);
}

static void test_syntax_errors(void)
{
	static const struct {
		const char *text;
		const char *error;
	} cases[] = {
		{ "Socket", "t.conf:1: Socket: missing value" },
		{ "Socket   # just a comment", "t.conf:1: Socket: missing value" },
		{ "\n\nSoket inet:1", "t.conf:3: Soket: unknown option; did you mean Socket?" },
		{ "LogDbug yes", "t.conf:1: LogDbug: unknown option; did you mean LogDebug?" },
		{ "includ x.conf", "t.conf:1: includ: unknown option; did you mean Include?" },
		{ "DKIMKeyTable x", "t.conf:1: DKIMKeyTable: unknown option" },
		{ "Socket=inet:1", "t.conf:1: Socket=inet:1: unknown option" },
		{ "UserID \"open", "t.conf:1: UserID: unterminated double quote" },
		{ "UserID a\x01z", "t.conf:1: control character 0x01" },
		{ "UserID a\rb\n", "t.conf:1: control character 0x0d" },
		{ "Include", "t.conf:1: Include: missing value" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		check_error(cases[i].text, strlen(cases[i].text), cases[i].error);
}

static void test_long_key_is_shortened(void)
{
	struct buf b, want;
	buf_init(&b, 0);
	buf_init(&want, 0);
	for (int i = 0; i < 100; i++)
		buf_putc(&b, 'K');
	buf_puts(&b, " value");
	buf_puts(&want, "t.conf:1: ");
	for (int i = 0; i < 64; i++)
		buf_putc(&want, 'K');
	buf_puts(&want, "...: unknown option");
	check_error(b.p, b.len, want.p);
	buf_free(&b);
	buf_free(&want);
}

static void test_nul_byte_is_error(void)
{
	static const char text[] = "Mode s\nUserID ab\0cd\n";
	check_error(text, sizeof(text) - 1, "t.conf:2: NUL byte");
}

static void test_long_line_is_error(void)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "Mode s\n# ");
	while (b.len < 7 + 65537)
		buf_putc(&b, 'x');
	buf_puts(&b, "\nMode v\n");
	check_error(b.p, b.len, "t.conf:2: line longer than 65536 bytes");
	buf_free(&b);
}

static void test_line_at_limit_is_fine(void)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "UserID ");
	while (b.len < 65536)
		buf_putc(&b, 'u');
	buf_puts(&b, "\r\n");	/* the line end does not count */
	char *error = NULL;
	struct config *c = config_parse("t.conf", b.p, b.len, &error);
	T_CHECK(c != NULL);
	if (c != NULL)
		T_EQ_INT(strlen(c->user_id), 65536 - 7);
	config_unref(&c);
	free(error);
	buf_free(&b);
}

static void test_huge_text_is_error(void)
{
	size_t len = ((size_t)4 << 20) + 1;
	char *text = malloc(len);
	T_CHECK(text != NULL);
	if (text == NULL)
		return;
	memset(text, '\n', len);
	check_error(text, len, "t.conf: larger than 4194304 bytes");
	free(text);
}

static void test_every_error_is_reported(void)
{
	check_error("Mode q\nSocket x\n", 16,
		    "t.conf:1: Mode: expected one or more of the letters s or v\n"
		    "t.conf:2: Socket: expected inet:PORT@ADDR, inet:PORT, inet6:PORT@ADDR, "
		    "local:PATH or an absolute path");
	/* and no more than CONFFILE_MAX_ERRORS of them */
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 30; i++)
		buf_puts(&b, "Bogus 1\n");
	char *error = NULL;
	struct config *c = config_parse("t.conf", b.p, b.len, &error);
	T_CHECK(c == NULL && error != NULL);
	size_t lines = 1;
	for (const char *p = error; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	T_EQ_INT(lines, CONFFILE_MAX_ERRORS + 1);
	T_CHECK(strstr(error, "t.conf:20: Bogus: unknown option\n(more errors not shown)") != NULL);
	free(error);
	buf_free(&b);
}

static void test_include_relative_paths(void)
{
	char *path = data_path("main.conf"), *error = NULL;
	struct config *c = config_load(path, &error);
	T_CHECK(c != NULL);
	if (c == NULL) {
		printf("# %s\n", error);
	} else {
		char *zone = data_path("sub/zone.txt");
		T_EQ_STR(c->socket, "inet:9999@127.0.0.1");
		T_EQ_INT(c->mode, MODE_VERIFY);
		T_CHECK(c->log_debug);
		T_EQ_STR(c->test_dns_data, zone);
		T_EQ_STR(c->nameservers[0], "192.0.2.1");
		T_EQ_STR(c->nameservers[1], "2001:db8::2");
		T_EQ_STR(c->nameservers[2], "192.0.2.3@5353");
		T_CHECK(c->nameservers[3] == NULL);
		T_EQ_INT(netlist_count(c->internal_hosts), 5);
		T_CHECK(netlist_match_text(c->internal_hosts, "10.1.2.3", NULL));
		T_CHECK(!netlist_match_text(c->internal_hosts, "10.9.9.9", NULL));
		T_CHECK(netlist_match_text(c->internal_hosts, "192.0.2.7", NULL));
		free(zone);
	}
	config_unref(&c);
	free(error);
	free(path);
}

static void test_include_from_text_is_cwd_relative(void)
{
	char *leaf = data_path("crlf.conf"), *error = NULL;
	struct buf text;
	buf_init(&text, 0);
	buf_printf(&text, "Mode v\nInclude %s\nLogDebug yes\n", leaf);
	struct config *c = config_parse("t.conf", text.p, text.len, &error);
	T_CHECK(c != NULL);
	if (c != NULL) {
		T_EQ_INT(c->mode, MODE_SIGN);	/* the included file's, later */
		T_CHECK(c->log_debug);
		T_EQ_STR(c->authserv_id, "mx.example");
	}
	config_unref(&c);
	free(error);
	buf_free(&text);
	free(leaf);
}

/* Loads fixture `name`; it must fail with "PREFIX" + rest, PREFIX the data folder. */
static void check_load_error(const char *name, const char *expected_fmt_a, const char *mid,
			     const char *expected_fmt_b)
{
	char *path = data_path(name), *error = NULL;
	char *dir = data_path("");
	struct buf want;
	buf_init(&want, 0);
	buf_printf(&want, "%s%s%s%s%s", dir, expected_fmt_a, dir, mid, expected_fmt_b);
	struct config *c = config_load(path, &error);
	T_CHECK(c == NULL);
	T_EQ_STR(error, want.p);
	config_unref(&c);
	free(error);
	free(path);
	free(dir);
	buf_free(&want);
}

static void test_include_itself(void)
{
	check_load_error("self.conf", "self.conf:1: Include: ", "self.conf", " includes itself");
}

static void test_include_cycle(void)
{
	check_load_error("cycle_a.conf", "cycle_b.conf:2: Include: ", "cycle_a.conf",
			 " includes itself");
}

static void test_include_missing(void)
{
	check_load_error("missing_include.conf", "missing_include.conf:2: Include: ",
			 "does-not-exist.conf", ": cannot open: No such file or directory");
}

static void test_include_depth_limit(void)
{
	/* d1 includes d2 ... d9: eight levels, the most allowed */
	char *path = data_path("depth/d1.conf"), *error = NULL;
	struct config *c = config_load(path, &error);
	T_CHECK(c != NULL);
	if (c != NULL)
		T_CHECK(c->log_debug);
	config_unref(&c);
	free(error);
	free(path);
	/* d0 makes nine */
	check_load_error("depth/d0.conf", "depth/d8.conf:1: Include: ", "depth/d9.conf",
			 ": nested more than 8 deep");
}

static void test_include_directory_is_error(void)
{
	char *dir = data_path("sub"), *error = NULL;
	struct buf text, want;
	buf_init(&text, 0);
	buf_init(&want, 0);
	buf_printf(&text, "Include %s\n", dir);
	buf_printf(&want, "t.conf:1: Include: %s: not a regular file", dir);
	struct config *c = config_parse("t.conf", text.p, text.len, &error);
	T_CHECK(c == NULL);
	T_EQ_STR(error, want.p);
	config_unref(&c);
	free(error);
	free(dir);
	buf_free(&text);
	buf_free(&want);
}

static void test_missing_file(void)
{
	char *error = NULL;
	struct config *c = config_load("/nonexistent/cachet.conf", &error);
	T_CHECK(c == NULL);
	T_EQ_STR(error, "/nonexistent/cachet.conf: cannot open: No such file or directory");
	free(error);
}

static void test_bad_netlist_file_names_its_line(void)
{
	char *list = data_path("hosts_bad.list"), *error = NULL;
	struct buf text, want;
	buf_init(&text, 0);
	buf_init(&want, 0);
	buf_printf(&text, "InternalHosts file:%s\n", list);
	buf_printf(&want, "t.conf:1: InternalHosts: %s:3: entry \"10.0.0.0/33\": "
			  "prefix length must be 0 to 32", list);
	struct config *c = config_parse("t.conf", text.p, text.len, &error);
	T_CHECK(c == NULL);
	T_EQ_STR(error, want.p);
	config_unref(&c);
	free(error);
	free(list);
	buf_free(&text);
	buf_free(&want);
}

int main(void)
{
	T_RUN(test_defaults);
	T_RUN(test_check_option_defaults);
	T_RUN(test_check_options_set_from_the_file);
	T_RUN(test_every_option_is_documented);
	T_RUN(test_empty_text_gives_defaults);
	T_RUN(test_refcount);
	T_RUN(test_string_options);
	T_RUN(test_bool_spellings);
	T_RUN(test_numbers_and_units);
	T_RUN(test_duration_units);
	T_RUN(test_socket_mode_octal);
	T_RUN(test_enums_and_mode);
	T_RUN(test_socket_specs);
	T_RUN(test_facility);
	T_RUN(test_authserv_id);
	T_RUN(test_nameservers_accumulate);
	T_RUN(test_internal_hosts_inline);
	T_RUN(test_later_scalar_wins);
	T_RUN(test_keys_case_insensitive);
	T_RUN(test_comments_and_blanks);
	T_RUN(test_quoted_values);
	T_RUN(test_crlf_line_ends);
	T_RUN(test_bad_values);
	T_RUN(test_too_many_nameservers);
	T_RUN(test_syntax_errors);
	T_RUN(test_long_key_is_shortened);
	T_RUN(test_nul_byte_is_error);
	T_RUN(test_long_line_is_error);
	T_RUN(test_line_at_limit_is_fine);
	T_RUN(test_huge_text_is_error);
	T_RUN(test_every_error_is_reported);
	T_RUN(test_include_relative_paths);
	T_RUN(test_include_from_text_is_cwd_relative);
	T_RUN(test_include_itself);
	T_RUN(test_include_cycle);
	T_RUN(test_include_missing);
	T_RUN(test_include_depth_limit);
	T_RUN(test_include_directory_is_error);
	T_RUN(test_missing_file);
	T_RUN(test_bad_netlist_file_names_its_line);
	return t_done();
}
