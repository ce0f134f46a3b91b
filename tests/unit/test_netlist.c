/*
 * Tests for lib/util/netlist.c: a table of (list, client address, client host
 * name, expected match), the parse errors with their words, the file form
 * (comments, errors naming file:line) and matching from a struct sockaddr.
 * File fixtures live in tests/unit/data/config/ (run from the top folder).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compiler.h"
#include "netlist.h"
#include "t.h"

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

static void test_match_table(void)
{
	static const struct {
		const char *list;
		const char *ip;
		const char *host;
		bool expected;
	} cases[] = {
		/* single addresses */
		{ "192.0.2.1", "192.0.2.1", NULL, true },
		{ "192.0.2.1", "192.0.2.2", NULL, false },
		{ "::1", "::1", NULL, true },
		{ "[::1]", "::1", NULL, true },
		{ "[192.0.2.1]", "192.0.2.1", NULL, true },
		{ "2001:DB8::1", "2001:db8:0::1", NULL, true },
		/* CIDR blocks */
		{ "10.0.0.0/8", "10.255.255.255", NULL, true },
		{ "10.0.0.0/8", "11.0.0.0", NULL, false },
		{ "192.0.2.128/25", "192.0.2.127", NULL, false },
		{ "192.0.2.128/25", "192.0.2.200", NULL, true },
		{ "192.0.2.0/31", "192.0.2.1", NULL, true },
		{ "0.0.0.0/0", "203.0.113.9", NULL, true },
		{ "0.0.0.0/0", "2001:db8::1", NULL, false },
		{ "2001:db8::/32", "2001:db8:ffff::1", NULL, true },
		{ "2001:db8::/32", "2001:db9::1", NULL, false },
		{ "[2001:db8::]/32", "2001:db8::5", NULL, true },
		{ "[2001:db8::/32]", "2001:db8::5", NULL, true },
		{ "2001:db8::/127", "2001:db8::1", NULL, true },
		{ "::/0", "2001:db8::1", NULL, true },
		{ "::/0", "192.0.2.1", NULL, false },
		/* host bits set: masked to the network */
		{ "10.1.2.3/8", "10.200.0.1", NULL, true },
		{ "2001:db8::1/32", "2001:db8:1::", NULL, true },
		/* IPv4-mapped clients match IPv4 entries, and mapped entries are IPv4 */
		{ "192.0.2.0/24", "::ffff:192.0.2.55", NULL, true },
		{ "192.0.2.0/24", "::FFFF:c000:0201", NULL, true },
		{ "::ffff:192.0.2.0/120", "192.0.2.9", NULL, true },
		{ "::ffff:192.0.2.1", "192.0.2.1", NULL, true },
		{ "192.0.2.1", "::192.0.2.1", NULL, false },	/* IPv4-compatible is not mapped */
		/* client address forms an MTA may hand over */
		{ "2001:db8::1", "IPv6:2001:db8::1", NULL, true },
		{ "192.0.2.1", "[192.0.2.1]", NULL, true },
		{ "192.0.2.1", "not an address", NULL, false },
		{ "192.0.2.1", NULL, NULL, false },
		/* host names, case-insensitive, trailing dot ignored */
		{ "mail.example.com", NULL, "mail.example.com", true },
		{ "mail.example.com", NULL, "MAIL.Example.COM", true },
		{ "Mail.Example.Com.", NULL, "mail.example.com", true },
		{ "mail.example.com", NULL, "mail.example.com.", true },
		{ "mail.example.com", NULL, "x.mail.example.com", false },
		{ "mail.example.com", NULL, "ail.example.com", false },
		{ "mail.example.com", "192.0.2.1", NULL, false },
		/* suffixes: strictly below the domain */
		{ ".example.com", NULL, "a.example.com", true },
		{ ".example.com", NULL, "a.b.EXAMPLE.com", true },
		{ ".example.com", NULL, "example.com", false },
		{ ".example.com", NULL, "badexample.com", false },
		{ ".example.com", NULL, "a.example.com.", true },
		/* the MTA's "no name" forms match no name entry */
		{ ".example.com", NULL, "[192.0.2.1]", false },
		{ "mail.example.com", NULL, "", false },
		/* negation, last match wins */
		{ "10.0.0.0/8, !10.1.1.1", "10.1.1.1", NULL, false },
		{ "10.0.0.0/8, !10.1.1.1", "10.1.1.2", NULL, true },
		{ "!10.1.1.1, 10.0.0.0/8", "10.1.1.1", NULL, true },
		{ "!10.1.1.1", "10.1.1.1", NULL, false },
		{ "!10.1.1.1", "10.1.1.2", NULL, false },
		{ ".example.com !bad.example.com", NULL, "bad.example.com", false },
		{ ".example.com !bad.example.com", NULL, "good.example.com", true },
		{ "!192.0.2.1 .example.com", "192.0.2.1", "a.example.com", true },
		{ ".example.com !192.0.2.1", "192.0.2.1", "a.example.com", false },
		/* separators */
		{ "192.0.2.1,192.0.2.2\t192.0.2.3\n192.0.2.4 ,, 192.0.2.5", "192.0.2.4", NULL, true },
		{ "192.0.2.1 # a comment, 192.0.2.2\n192.0.2.3", "192.0.2.2", NULL, false },
		{ "192.0.2.1 # a comment, 192.0.2.2\n192.0.2.3", "192.0.2.3", NULL, true },
		/* empty list */
		{ "", "127.0.0.1", "localhost", false },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct netlist *l = netlist_parse(cases[i].list, &error);
		if (l == NULL) {
			t_fail(__FILE__, __LINE__, "case %zu: \"%s\": %s", i, cases[i].list, error);
			free(error);
			continue;
		}
		bool got = netlist_match_text(l, cases[i].ip, cases[i].host);
		if (got != cases[i].expected)
			t_fail(__FILE__, __LINE__, "case %zu: list \"%s\", ip %s, host %s: got %d",
			       i, cases[i].list, cases[i].ip ? cases[i].ip : "(null)",
			       cases[i].host ? cases[i].host : "(null)", got);
		netlist_free(&l);
		T_CHECK(l == NULL);
	}
}

static void test_parse_errors(void)
{
	static const struct {
		const char *list;
		const char *error;
	} cases[] = {
		{ "10.0.0.0/33", "entry \"10.0.0.0/33\": prefix length must be 0 to 32" },
		{ "10.0.0.0/", "entry \"10.0.0.0/\": prefix length must be 0 to 32" },
		{ "10.0.0.0/x", "entry \"10.0.0.0/x\": not an address, CIDR block or host name" },
		{ "2001:db8::/129", "entry \"2001:db8::/129\": prefix length must be 0 to 128" },
		{ "2001:db8::/-1", "entry \"2001:db8::/-1\": prefix length must be 0 to 128" },
		{ "10.0.0.256", "entry \"10.0.0.256\": not a valid IPv4 address" },
		{ "10.0.0", "entry \"10.0.0\": not a valid IPv4 address" },
		{ "1.2.3.4/8/8", "entry \"1.2.3.4/8/8\": prefix length must be 0 to 32" },
		{ "2001:db8:::1", "entry \"2001:db8:::1\": not a valid IPv6 address" },
		{ "[::1", "entry \"[::1\": missing ']'" },
		{ "[::1]x", "entry \"[::1]x\": unexpected text after ']'" },
		{ "[::1/64]/64", "entry \"[::1/64]/64\": two prefix lengths" },
		{ "[host.example]", "entry \"[host.example]\": not a valid IPv4 address" },
		{ "!", "entry \"!\": nothing after '!'" },
		{ "10.0.0.1 ! 10.0.0.2", "entry \"!\": nothing after '!'" },
		{ ".", "entry \".\": empty host name" },
		{ "a..b", "entry \"a..b\": empty label in host name" },
		{ "*.example.com", "entry \"*.example.com\": not an address, CIDR block or host name" },
		{ "bad/name", "entry \"bad/name\": not an address, CIDR block or host name" },
		{ "x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
		  "entry \"x.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\": "
		  "label longer than 63 characters in host name" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *error = NULL;
		struct netlist *l = netlist_parse(cases[i].list, &error);
		T_CHECK(l == NULL);
		T_EQ_STR(error, cases[i].error);
		netlist_free(&l);
		free(error);
	}
}

static void test_long_entries(void)
{
	struct buf b;
	char *error = NULL;
	buf_init(&b, 0);
	/* 253 characters: the longest name allowed */
	for (int i = 0; i < 4; i++)
		buf_puts(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	buf_puts(&b, "b");
	T_EQ_INT(b.len, 249);
	buf_puts(&b, "cdef");
	struct netlist *l = netlist_parse(b.p, &error);
	T_CHECK(l != NULL);
	T_CHECK(l != NULL && netlist_match_text(l, NULL, b.p));
	netlist_free(&l);
	buf_putc(&b, 'g');
	l = netlist_parse(b.p, &error);
	T_CHECK(l == NULL);
	T_CHECK(error != NULL && strstr(error, "host name longer than 253 characters") != NULL);
	free(error);
	error = NULL;
	while (b.len < 400)
		buf_putc(&b, 'h');
	l = netlist_parse(b.p, &error);
	T_CHECK(l == NULL);
	T_CHECK(error != NULL && strstr(error, "...\": longer than 300 bytes") != NULL);
	free(error);
	buf_free(&b);
}

static void test_count(void)
{
	char *error = NULL;
	struct netlist *l = netlist_parse("1.2.3.4, ::1 .a.example b.example !c", &error);
	T_EQ_INT(netlist_count(l), 5);
	netlist_free(&l);
	T_EQ_INT(netlist_count(NULL), 0);
	netlist_free(&l);	/* NULL is fine */
}

static void test_match_sockaddr(void)
{
	char *error = NULL;
	struct netlist *l = netlist_parse("192.0.2.0/24 2001:db8::/32 .example.com", &error);
	T_CHECK(l != NULL);
	if (l == NULL)
		return;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
	T_CHECK(netlist_match(l, (struct sockaddr *)&sin, NULL));
	inet_pton(AF_INET, "198.51.100.1", &sin.sin_addr);
	T_CHECK(!netlist_match(l, (struct sockaddr *)&sin, NULL));
	T_CHECK(netlist_match(l, (struct sockaddr *)&sin, "mx.example.com"));
	inet_pton(AF_INET6, "2001:db8::25", &sin6.sin6_addr);
	T_CHECK(netlist_match(l, (struct sockaddr *)&sin6, NULL));
	inet_pton(AF_INET6, "::ffff:192.0.2.10", &sin6.sin6_addr);
	T_CHECK(netlist_match(l, (struct sockaddr *)&sin6, NULL));
	inet_pton(AF_INET6, "2001:db9::25", &sin6.sin6_addr);
	T_CHECK(!netlist_match(l, (struct sockaddr *)&sin6, "[2001:db9::25]"));
	T_CHECK(!netlist_match(l, NULL, NULL));
	T_CHECK(netlist_match(l, NULL, "a.example.com"));
	struct sockaddr other = { .sa_family = AF_UNIX };
	T_CHECK(!netlist_match(l, &other, NULL));
	netlist_free(&l);
}

static void test_load_file(void)
{
	char *path = data_path("hosts.list"), *error = NULL;
	struct netlist *l = netlist_load(path, &error);
	T_CHECK(l != NULL);
	T_EQ_INT(netlist_count(l), 5);
	T_CHECK(netlist_match_text(l, "10.0.0.1", NULL));
	T_CHECK(!netlist_match_text(l, "10.9.9.9", NULL));
	T_CHECK(netlist_match_text(l, "2001:db8::1", NULL));
	T_CHECK(netlist_match_text(l, "203.0.113.1", "mx.corp.example"));
	T_CHECK(!netlist_match_text(l, "203.0.113.1", "corp.example"));
	netlist_free(&l);
	free(error);
	free(path);
}

static void test_from_spec(void)
{
	char *path = data_path("hosts.list"), *error = NULL;
	struct buf spec;
	buf_init(&spec, 0);
	buf_printf(&spec, "file:%s", path);
	struct netlist *l = netlist_from_spec(spec.p, &error);
	T_EQ_INT(netlist_count(l), 5);
	netlist_free(&l);
	l = netlist_from_spec("10.0.0.1 10.0.0.2", &error);
	T_EQ_INT(netlist_count(l), 2);
	netlist_free(&l);
	/* a bare absolute path is a file */
	l = netlist_from_spec("/nonexistent/hosts", &error);
	T_CHECK(l == NULL);
	T_EQ_STR(error, "/nonexistent/hosts: cannot open: No such file or directory");
	free(error);
	buf_free(&spec);
	free(path);
}

static void test_file_errors_name_line(void)
{
	char *path = data_path("hosts_bad.list"), *error = NULL;
	struct buf want;
	buf_init(&want, 0);
	buf_printf(&want, "%s:3: entry \"10.0.0.0/33\": prefix length must be 0 to 32", path);
	struct netlist *l = netlist_load(path, &error);
	T_CHECK(l == NULL);
	T_EQ_STR(error, want.p);
	free(error);
	free(path);
	buf_free(&want);
	/* a folder is not a list */
	path = data_path("sub");
	l = netlist_load(path, &error);
	T_CHECK(l == NULL);
	T_CHECK(error != NULL && strstr(error, ": not a regular file") != NULL);
	free(error);
	free(path);
}

int main(void)
{
	T_RUN(test_match_table);
	T_RUN(test_parse_errors);
	T_RUN(test_long_entries);
	T_RUN(test_count);
	T_RUN(test_match_sockaddr);
	T_RUN(test_load_file);
	T_RUN(test_from_spec);
	T_RUN(test_file_errors_name_line);
	return t_done();
}
