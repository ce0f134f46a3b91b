/*
 * Host lists (see netlist.h): a flat array of entries, each an address block
 * (IPv4 or IPv6 with a prefix length), an exact host name or a domain
 * suffix, possibly negated.  Matching walks the array from the end, so the
 * first hit found is the last one written: OpenDKIM's "last match wins".
 * That is linear in the list's length, which is fine for the hand-written
 * lists this is for (InternalHosts, ExternalIgnoreList).
 *
 * Decisions the header leaves open, made here:
 *  - a CIDR block with host bits set ("10.1.2.3/8") is accepted and masked
 *    to its network ("10.0.0.0/8"), as most tools do;
 *  - an IPv4-mapped IPv6 entry ("::ffff:10.0.0.0/104") is stored as the
 *    IPv4 block it maps, and an IPv4-mapped client address is matched as
 *    IPv4, so a dual-stack listener sees the same list as an IPv4 one;
 *  - ".example.com" matches names strictly below example.com, not
 *    example.com itself; host names compare case-insensitively and without
 *    a trailing dot;
 *  - a hostname of NULL, "" or "[...]" (the MTA's "no name" forms) matches
 *    no name entry.
 *
 * Limits: NETLIST_MAX_ENTRY bytes per entry, NETLIST_MAX_ENTRIES entries per
 * list, NETLIST_MAX_FILE bytes per file; a file must be a regular file and
 * may not hold NUL bytes.
 */
#include "netlist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "buf.h"
#include "file.h"
#include "compiler.h"
#include "xalloc.h"

#define NETLIST_MAX_ENTRY 300
#define NETLIST_MAX_ENTRIES (1u << 20)
#define NETLIST_MAX_FILE ((size_t)64 << 20)
/* RFC 1035 2.3.4: 255 octets on the wire, so 253 characters in text */
#define NETLIST_MAX_NAME 253

enum entry_kind {
	ENTRY_V4,
	ENTRY_V6,
	ENTRY_NAME,	/* exact host name */
	ENTRY_SUFFIX,	/* ".example.com": names below it */
};

struct entry {
	enum entry_kind kind;
	bool negate;
	unsigned prefix;	/* bits, for ENTRY_V4 / ENTRY_V6 */
	uint8_t addr[16];	/* network byte order, host bits cleared */
	char *name;		/* lower case, no trailing dot; ENTRY_SUFFIX keeps the '.' */
};

struct netlist {
	struct entry *v;
	size_t n;
	size_t cap;
};

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static struct netlist *netlist_new(void)
{
	return xcalloc(1, sizeof(struct netlist));
}

void netlist_free(struct netlist **l)
{
	if (*l == NULL)
		return;
	for (size_t i = 0; i < (*l)->n; i++)
		free((*l)->v[i].name);
	free((*l)->v);
	free(*l);
	*l = NULL;
}

size_t netlist_count(const struct netlist *l)
{
	return l == NULL ? 0 : l->n;
}

/* Clears every bit after the first `prefix` bits of addr (len bytes). */
static void mask_bits(uint8_t *addr, size_t len, unsigned prefix)
{
	for (size_t i = 0; i < len; i++) {
		unsigned first = (unsigned)i * 8;
		if (prefix >= first + 8)
			continue;
		addr[i] &= prefix <= first ? 0 : (uint8_t)(0xff << (8 - (prefix - first)));
	}
}

bool netlist_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	size_t whole = prefix / 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	unsigned rest = prefix % 8;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & m) == (b[whole] & m);
}

/* Parses "/N" digits (without the slash); false when not 0..max. */
static bool parse_prefix(const char *s, unsigned max, unsigned *prefix_r)
{
	unsigned v = 0;
	if (*s == '\0' || strlen(s) > 3)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*prefix_r = v;
	return true;
}

/* Digits, dots and slashes only, with at least one digit. */
static bool looks_like_ipv4(const char *s)
{
	bool digit = false;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s != '.' && *s != '/')
			return false;
	}
	return digit;
}

/*
 * An address entry: "192.0.2.1", "192.0.2.0/24", "2001:db8::/32", "[::1]",
 * "[2001:db8::]/32" or "[2001:db8::/32]".  tok is a writable copy.
 */
static const char *parse_address(char *tok, struct entry *e)
{
	char *addr = tok, *len = NULL;
	if (*tok == '[') {
		char *close = strchr(tok, ']');
		if (close == NULL)
			return "missing ']'";
		*close = '\0';
		addr = tok + 1;
		if (close[1] == '/')
			len = close + 2;
		else if (close[1] != '\0')
			return "unexpected text after ']'";
	}
	char *slash = strchr(addr, '/');
	if (slash != NULL) {
		if (len != NULL)
			return "two prefix lengths";
		*slash = '\0';
		len = slash + 1;
	}
	memset(e->addr, 0, sizeof(e->addr));
	if (inet_pton(AF_INET, addr, e->addr) == 1) {
		e->kind = ENTRY_V4;
		e->prefix = 32;
	} else if (inet_pton(AF_INET6, addr, e->addr) == 1) {
		e->kind = ENTRY_V6;
		e->prefix = 128;
	} else {
		return strchr(addr, ':') != NULL ? "not a valid IPv6 address"
						 : "not a valid IPv4 address";
	}
	if (len != NULL && !parse_prefix(len, e->prefix, &e->prefix))
		return e->kind == ENTRY_V4 ? "prefix length must be 0 to 32"
					   : "prefix length must be 0 to 128";
	/* an IPv4-mapped block is the IPv4 block it maps (see the top) */
	if (e->kind == ENTRY_V6 && e->prefix >= 96 &&
	    memcmp(e->addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		memmove(e->addr, e->addr + 12, 4);
		memset(e->addr + 4, 0, 12);
		e->kind = ENTRY_V4;
		e->prefix -= 96;
	}
	mask_bits(e->addr, e->kind == ENTRY_V4 ? 4 : 16, e->prefix);
	return NULL;
}

/* RFC 1123 2.1 host names, plus '_' which real names carry (SRV, DKIM). */
static const char *parse_name(const char *tok, struct entry *e)
{
	bool suffix = tok[0] == '.';
	const char *name = suffix ? tok + 1 : tok;
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0)
		return "empty host name";
	if (len > NETLIST_MAX_NAME)
		return "host name longer than 253 characters";
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0)
				return "empty label in host name";
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok)
			return "not an address, CIDR block or host name";
		if (++label > 63)
			return "label longer than 63 characters in host name";
	}
	e->kind = suffix ? ENTRY_SUFFIX : ENTRY_NAME;
	struct buf b;
	buf_init(&b, 0);
	if (suffix)
		buf_putc(&b, '.');
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		buf_putc(&b, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
	}
	e->name = buf_steal(&b);
	return NULL;
}

/*
 * Adds one entry (tok, len bytes, not NUL-terminated).  On error appends
 * the reason to err and returns false.
 */
static bool add_entry(struct netlist *l, const char *tok, size_t len, struct buf *err)
{
	if (len > NETLIST_MAX_ENTRY) {
		buf_printf(err, "entry \"%.40s...\": longer than %d bytes", tok,
			   NETLIST_MAX_ENTRY);
		return false;
	}
	if (l->n >= NETLIST_MAX_ENTRIES) {
		buf_printf(err, "more than %u entries", NETLIST_MAX_ENTRIES);
		return false;
	}
	char copy[NETLIST_MAX_ENTRY + 1];
	memcpy(copy, tok, len);
	copy[len] = '\0';
	struct entry e = { .negate = false };
	char *p = copy;
	if (*p == '!') {
		e.negate = true;
		p++;
	}
	const char *why;
	if (*p == '\0')
		why = "nothing after '!'";
	else if (*p == '[' || strchr(p, ':') != NULL || looks_like_ipv4(p))
		why = parse_address(p, &e);
	else
		why = parse_name(p, &e);
	if (why != NULL) {
		buf_printf(err, "entry \"%.*s\": %s", (int)len, tok, why);
		return false;
	}
	*ARRAY_PUSH(l) = e;
	return true;
}

static bool is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n';
}

/*
 * Adds the entries of one stretch of text (one line of a file, or a whole
 * string); `#` comments run to the end of the line.
 */
static bool add_text(struct netlist *l, const char *p, size_t len, struct buf *err)
{
	size_t i = 0;
	while (i < len) {
		if (is_separator(p[i])) {
			i++;
			continue;
		}
		if (p[i] == '#') {
			while (i < len && p[i] != '\n')
				i++;
			continue;
		}
		size_t start = i;
		while (i < len && !is_separator(p[i]) && p[i] != '#')
			i++;
		if (!add_entry(l, p + start, i - start, err))
			return false;
	}
	return true;
}

struct netlist *netlist_parse(const char *text, char **error_r)
{
	struct netlist *l = netlist_new();
	struct buf err;
	buf_init(&err, 4096);
	if (!add_text(l, text, strlen(text), &err)) {
		netlist_free(&l);
		*error_r = buf_steal(&err);
		return NULL;
	}
	buf_free(&err);
	return l;
}

struct netlist *netlist_load(const char *path, char **error_r)
{
	struct buf data, err;
	buf_init(&data, NETLIST_MAX_FILE + 1);
	buf_init(&err, 4096);
	struct netlist *l = NULL;
	if (!file_read_regular(path, NETLIST_MAX_FILE, &data, &err))
		goto out;
	l = netlist_new();
	const char *p = data.p, *end = data.p + data.len;
	for (unsigned line = 1; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (memchr(p, '\0', len) != NULL) {
			buf_printf(&err, "%s:%u: NUL byte", path, line);
			netlist_free(&l);
			goto out;
		}
		size_t mark = err.len;
		if (!add_text(l, p, len, &err)) {
			/* put "path:line: " in front of the reason add_text wrote */
			char *why = xstrdup(err.p + mark);
			buf_truncate(&err, mark);
			buf_printf(&err, "%s:%u: %s", path, line, why);
			free(why);
			netlist_free(&l);
			goto out;
		}
		p += len + 1;
	}
out:
	buf_free(&data);
	if (l == NULL)
		*error_r = buf_steal(&err);
	else
		buf_free(&err);
	return l;
}

struct netlist *netlist_from_spec(const char *spec, char **error_r)
{
	if (strncmp(spec, "file:", 5) == 0)
		return netlist_load(spec + 5, error_r);
	if (spec[0] == '/')
		return netlist_load(spec, error_r);
	return netlist_parse(spec, error_r);
}

/* Does the name entry e match host (len bytes, lower or mixed case)? */
static bool name_matches(const struct entry *e, const char *host, size_t len)
{
	size_t n = strlen(e->name);
	if (e->kind == ENTRY_NAME)
		return n == len && strncasecmp(host, e->name, len) == 0;
	/* ".example.com" needs at least one label before it */
	return len > n && strncasecmp(host + len - n, e->name, n) == 0;
}

/*
 * The common matcher.  family is AF_INET, AF_INET6 or 0 (no address);
 * an IPv4-mapped IPv6 address has already been turned into IPv4.
 */
static bool match(const struct netlist *l, int family, const uint8_t *addr, const char *hostname)
{
	size_t hlen = 0;
	if (hostname != NULL && hostname[0] != '[') {
		hlen = strlen(hostname);
		if (hlen > 0 && hostname[hlen - 1] == '.')
			hlen--;
	}
	for (size_t i = l->n; i-- > 0;) {
		const struct entry *e = &l->v[i];
		bool hit;
		switch (e->kind) {
		case ENTRY_V4:
			hit = family == AF_INET && netlist_prefix_equal(addr, e->addr, e->prefix);
			break;
		case ENTRY_V6:
			hit = family == AF_INET6 && netlist_prefix_equal(addr, e->addr, e->prefix);
			break;
		default:
			hit = hlen > 0 && name_matches(e, hostname, hlen);
			break;
		}
		if (hit)
			return !e->negate;
	}
	return false;
}

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4 for matching; see the top. */
static int unmap(int family, uint8_t *addr)
{
	if (family == AF_INET6 && memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		memmove(addr, addr + 12, 4);
		return AF_INET;
	}
	return family;
}

bool netlist_match(const struct netlist *l, const struct sockaddr *addr, const char *hostname)
{
	uint8_t a[16] = { 0 };
	int family = 0;
	if (addr != NULL && addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
		memcpy(a, &sin->sin_addr, 4);
		family = AF_INET;
	} else if (addr != NULL && addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)addr;
		memcpy(a, &sin6->sin6_addr, 16);
		family = unmap(AF_INET6, a);
	}
	return match(l, family, a, hostname);
}

bool netlist_match_text(const struct netlist *l, const char *ip, const char *hostname)
{
	uint8_t a[16] = { 0 };
	int family = 0;
	char copy[INET6_ADDRSTRLEN + 8];
	if (ip != NULL) {
		/* Sendmail writes "IPv6:2001:db8::1"; some MTAs bracket literals */
		if (strncasecmp(ip, "IPv6:", 5) == 0)
			ip += 5;
		size_t len = strlen(ip);
		if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']') {
			ip++;
			len -= 2;
		}
		if (len < sizeof(copy)) {
			memcpy(copy, ip, len);
			copy[len] = '\0';
			if (inet_pton(AF_INET, copy, a) == 1)
				family = AF_INET;
			else if (inet_pton(AF_INET6, copy, a) == 1)
				family = unmap(AF_INET6, a);
		}
	}
	return match(l, family, a, hostname);
}
