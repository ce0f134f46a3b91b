/*
 * The test zone: an RFC 1035 section 5 master-file reader and an in-memory
 * answerer for the DNS layer's test back end (see zone.h).
 *
 * Parsing is in two steps.  A tokenizer cuts the text into entries (one
 * line, or several joined by parentheses) of raw fields, each a slice of the
 * input that still holds its escapes; the entry parser then decodes each
 * field as what its position says it is (name, TTL, character-string...).
 * Names are kept as lower-cased dotted text without the trailing dot, so
 * labels holding a dot, a backslash, a space or a non-printable byte cannot
 * be represented and are refused.
 *
 * Limits (hostile or broken files get an error, never unbounded memory):
 * ZONE_MAX_RECORDS records, ZONE_MAX_LINE bytes per physical line,
 * ZONE_MAX_FIELDS fields per entry, ZONE_MAX_FILE bytes per file, 253-byte
 * names and 63-byte labels (RFC 1035 2.3.4), 255-byte character-strings
 * (RFC 1035 3.3) and ZONE_MAX_TXT bytes per TXT record.  An answer carries
 * at most ZONE_MAX_ANSWER records, like the libunbound back end.
 *
 * Without $TTL or an explicit TTL, a record takes the last TTL seen, else
 * ZONE_DEFAULT_TTL.  Names must be absolute until $ORIGIN is set.
 */
#include "zone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "buf.h"
#include "compiler.h"
#include "file.h"
#include "xalloc.h"

#define ZONE_MAX_LINE 16384
#define ZONE_MAX_FIELDS 1024
#define ZONE_MAX_FILE ((size_t)64 << 20)
#define ZONE_MAX_TXT 65535
#define ZONE_MAX_ANSWER 100
#define ZONE_DEFAULT_TTL 3600
#define NAME_MAX_TEXT 253	/* RFC 1035 2.3.4: 255 octets on the wire */
#define LABEL_MAX 63
#define TTL_MAX 2147483647u	/* RFC 2181 8 */

/* Record types stored but never asked for through dns.h. */
#define T_NS 2
#define T_SOA 6

enum magic { MAGIC_NONE, MAGIC_SERVFAIL, MAGIC_TIMEOUT };

struct zrec {
	struct zrec *next;
	uint32_t ttl;
	uint16_t type;
	uint8_t magic;
	union {
		struct in_addr a;
		struct in6_addr aaaa;
		struct {
			uint16_t preference;
			char *exchange;
		} mx;
		char *name;	/* PTR, CNAME, NS */
		struct {
			char *data;
			size_t len;
		} txt;
	} u;
};

struct znode {
	struct znode *next;	/* hash chain */
	char *name;
	struct zrec *rrs;
	struct zrec **tail;
};

struct zone {
	struct arena *arena;
	struct znode **buckets;
	size_t nbuckets;	/* a power of two */
	size_t nnodes;
	size_t nrecords;
};

/* One field of an entry: raw text (escapes still in), quotes stripped. */
struct field {
	const char *p;
	size_t len;
	bool quoted;
};

struct parser {
	const char *file;
	const char *text;
	size_t len;
	size_t pos;
	unsigned line;		/* physical line at pos */
	unsigned entry_line;	/* line where the current entry began */
	bool blank_owner;	/* the entry began with white space */
	struct field fields[ZONE_MAX_FIELDS];
	size_t nfields;
	char origin[NAME_MAX_TEXT + 1];
	bool have_origin;
	char owner[NAME_MAX_TEXT + 1];
	bool have_owner;
	uint32_t ttl;		/* default for records without one */
	struct zone *z;
	char *error;
};

/* ---- the zone itself ---- */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static struct znode *zone_find(const struct zone *z, const char *name)
{
	struct znode *n = z->buckets[name_hash(name) & (z->nbuckets - 1)];
	while (n != NULL && strcmp(n->name, name) != 0)
		n = n->next;
	return n;
}

static void zone_grow(struct zone *z)
{
	size_t nb = z->nbuckets * 2;
	struct znode **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < z->nbuckets; i++) {
		struct znode *n = z->buckets[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			size_t k = name_hash(n->name) & (nb - 1);
			n->next = b[k];
			b[k] = n;
		}
	}
	free(z->buckets);
	z->buckets = b;
	z->nbuckets = nb;
}

static struct znode *zone_node(struct zone *z, const char *name)
{
	struct znode *n = zone_find(z, name);
	if (n != NULL)
		return n;
	if (z->nnodes >= z->nbuckets)
		zone_grow(z);
	n = arena_alloc(z->arena, sizeof(*n));
	n->name = arena_strdup(z->arena, name);
	n->tail = &n->rrs;
	size_t k = name_hash(name) & (z->nbuckets - 1);
	n->next = z->buckets[k];
	z->buckets[k] = n;
	z->nnodes++;
	return n;
}

static struct zone *zone_new(void)
{
	struct zone *z = xcalloc(1, sizeof(*z));
	z->arena = arena_new();
	z->nbuckets = 64;
	z->buckets = xcalloc(z->nbuckets, sizeof(*z->buckets));
	return z;
}

void zone_free(struct zone **zp)
{
	struct zone *z = *zp;
	if (z == NULL)
		return;
	arena_free(&z->arena);
	free(z->buckets);
	free(z);
	*zp = NULL;
}

size_t zone_record_count(const struct zone *z)
{
	return z->nrecords;
}

/* ---- errors ---- */

static bool fail_at(struct parser *p, unsigned line, const char *fmt, ...) PRINTF(3, 4);

static bool fail_at(struct parser *p, unsigned line, const char *fmt, ...)
{
	if (p->error != NULL)
		return false;
	struct buf b;
	buf_init(&b, 1024);
	buf_printf(&b, "%s:%u: ", p->file, line);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	p->error = buf_steal(&b);
	return false;
}

#define fail(p, ...) fail_at((p), (p)->entry_line, __VA_ARGS__)

/* For messages: a field, cut short and with only printable bytes. */
static const char *field_text(const struct field *f, char out[64])
{
	size_t n = f->len < 60 ? f->len : 60;
	for (size_t i = 0; i < n; i++)
		out[i] = (f->p[i] > 0x20 && f->p[i] < 0x7f) ? f->p[i] : '?';
	strcpy(out + n, f->len > n ? "..." : "");
	return out;
}

/* ---- tokenizer ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_delim(char c)
{
	return is_blank(c) || c == '\n' || c == '(' || c == ')' || c == ';' || c == '"' ||
	       c == '\0';
}

static bool push_field(struct parser *p, const char *s, size_t n, bool quoted)
{
	if (p->nfields == ZONE_MAX_FIELDS)
		return fail_at(p, p->line, "too many fields (limit %d)", ZONE_MAX_FIELDS);
	p->fields[p->nfields++] = (struct field){ s, n, quoted };
	return true;
}

/* A quoted string starting after its '"': ends at the next unescaped '"'. */
static bool scan_quoted(struct parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len && p->text[p->pos] != '"') {
		char c = p->text[p->pos];
		if (c == '\n' || c == '\0')
			break;
		if (c == '\\') {
			if (p->pos + 1 >= p->len || p->text[p->pos + 1] == '\n')
				break;
			p->pos++;
		}
		p->pos++;
	}
	if (p->pos >= p->len || p->text[p->pos] != '"')
		return fail_at(p, p->line, "unterminated quoted string");
	size_t end = p->pos++;
	return push_field(p, p->text + start, end - start, true);
}

static bool scan_word(struct parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len && !is_delim(p->text[p->pos])) {
		if (p->text[p->pos] == '\\') {
			if (p->pos + 1 >= p->len || p->text[p->pos + 1] == '\n' ||
			    p->text[p->pos + 1] == '\0')
				return fail_at(p, p->line, "backslash at end of line");
			p->pos++;
		}
		p->pos++;
	}
	return push_field(p, p->text + start, p->pos - start, false);
}

/*
 * Reads the fields of one entry (RFC 1035 5.1: parentheses let an entry
 * span lines; ";" starts a comment outside quotes).  Returns 1 with fields,
 * 0 at the end of the text, -1 on error.
 */
static int read_entry(struct parser *p)
{
	while (p->pos < p->len) {
		int depth = 0;
		size_t line_start = p->pos;
		p->entry_line = p->line;
		p->blank_owner = is_blank(p->text[p->pos]);
		p->nfields = 0;
		for (;;) {
			if (p->pos - line_start > ZONE_MAX_LINE)
				return fail_at(p, p->line, "line too long (limit %d bytes)",
					       ZONE_MAX_LINE), -1;
			if (p->pos >= p->len) {
				if (depth > 0)
					return fail(p, "missing \")\""), -1;
				break;
			}
			char c = p->text[p->pos];
			bool ok = true;
			if (c == '\n') {
				p->pos++;
				p->line++;
				line_start = p->pos;
				if (depth == 0)
					break;
			} else if (is_blank(c)) {
				p->pos++;
			} else if (c == ';') {
				while (p->pos < p->len && p->text[p->pos] != '\n')
					p->pos++;
			} else if (c == '(') {
				if (depth++ > 0)
					return fail_at(p, p->line, "nested \"(\""), -1;
				p->pos++;
			} else if (c == ')') {
				if (depth-- == 0)
					return fail_at(p, p->line, "\")\" without \"(\""), -1;
				p->pos++;
			} else if (c == '\0') {
				return fail_at(p, p->line, "NUL byte in text"), -1;
			} else if (c == '"') {
				p->pos++;
				ok = scan_quoted(p);
			} else {
				ok = scan_word(p);
			}
			if (!ok)
				return -1;
		}
		if (p->nfields > 0)
			return 1;
	}
	return 0;
}

/* ---- field decoders ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Decodes the escape at s[*i] (just after the backslash): \DDD is a byte
 * value in decimal, \X is X itself (RFC 1035 5.1).
 */
static bool decode_escape(struct parser *p, const struct field *f, size_t *i, uint8_t *byte_r)
{
	const char *s = f->p;
	if (!is_digit(s[*i])) {
		*byte_r = (uint8_t)s[(*i)++];
		return true;
	}
	if (*i + 2 >= f->len || !is_digit(s[*i + 1]) || !is_digit(s[*i + 2]))
		return fail(p, "bad \\DDD escape (three digits are needed)");
	unsigned v = (unsigned)(s[*i] - '0') * 100 + (unsigned)(s[*i + 1] - '0') * 10 +
		     (unsigned)(s[*i + 2] - '0');
	if (v > 255)
		return fail(p, "bad \\DDD escape: %u is more than 255", v);
	*byte_r = (uint8_t)v;
	*i += 3;
	return true;
}

/* A <character-string>: at most 255 bytes (RFC 1035 3.3), quoted or not. */
static bool decode_string(struct parser *p, const struct field *f, uint8_t out[255],
			  size_t *len_r)
{
	size_t n = 0;
	for (size_t i = 0; i < f->len;) {
		uint8_t byte = (uint8_t)f->p[i++];
		if (byte == '\\' && !decode_escape(p, f, &i, &byte))
			return false;
		if (n == 255)
			return fail(p, "character-string longer than 255 bytes (RFC 1035 3.3)");
		out[n++] = byte;
	}
	*len_r = n;
	return true;
}

static bool label_byte_ok(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

static bool append_label(struct parser *p, char *out, size_t *n, const char *label,
			 size_t llen)
{
	if (llen == 0)
		return fail(p, "empty label in name");
	if (llen > LABEL_MAX)
		return fail(p, "label longer than %d bytes", LABEL_MAX);
	size_t need = llen + (*n > 0 ? 1 : 0);
	if (*n + need > NAME_MAX_TEXT)
		return fail(p, "name longer than %d bytes", NAME_MAX_TEXT);
	if (*n > 0)
		out[(*n)++] = '.';
	for (size_t i = 0; i < llen; i++) {
		char c = label[i];
		out[(*n)++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[*n] = '\0';
	return true;
}

/*
 * A domain name: "@" is the origin, a name without a trailing dot is
 * relative to it.  The result is lower-case dotted text, "" for the root.
 */
static bool parse_name(struct parser *p, const struct field *f, char out[NAME_MAX_TEXT + 1])
{
	char buf[64];
	size_t n = 0;
	out[0] = '\0';
	if (f->quoted)
		return fail(p, "name \"%s\" must not be quoted", field_text(f, buf));
	bool is_origin = f->len == 1 && f->p[0] == '@';
	bool absolute = is_origin || (f->len == 1 && f->p[0] == '.');
	if (!absolute) {
		char label[LABEL_MAX + 1];
		size_t llen = 0;
		for (size_t i = 0; i < f->len;) {
			uint8_t c = (uint8_t)f->p[i++];
			if (c == '.') {
				if (!append_label(p, out, &n, label, llen))
					return false;
				llen = 0;
				absolute = i == f->len;
				continue;
			}
			if (c == '\\' && !decode_escape(p, f, &i, &c))
				return false;
			if (!label_byte_ok(c))
				return fail(p, "name \"%s\": byte 0x%02x cannot be used here",
					    field_text(f, buf), c);
			if (llen == LABEL_MAX)
				return fail(p, "label longer than %d bytes", LABEL_MAX);
			label[llen++] = (char)c;
		}
		if (llen > 0 && !append_label(p, out, &n, label, llen))
			return false;
	}
	if (absolute && !is_origin)
		return true;
	if (!p->have_origin)
		return fail(p, "relative name \"%s\" without $ORIGIN", field_text(f, buf));
	if (p->origin[0] != '\0' &&
	    !append_label(p, out, &n, p->origin, strlen(p->origin)))
		return false;
	return true;
}

/* A TTL: seconds, or BIND's units (1h30m, 2d, 1w); at most 2^31-1 (RFC 2181 8). */
static bool parse_ttl(struct parser *p, const struct field *f, uint32_t *ttl_r)
{
	static const struct {
		char unit;
		uint32_t seconds;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
	char buf[64];
	uint64_t total = 0, num = 0;
	bool digits = false;
	if (f->quoted || f->len == 0 || !is_digit(f->p[0]))
		goto bad;
	for (size_t i = 0; i < f->len; i++) {
		char c = f->p[i];
		if (is_digit(c)) {
			num = num * 10 + (uint64_t)(c - '0');
			digits = true;
			if (num > TTL_MAX)
				goto bad;
			continue;
		}
		size_t u = 0;
		while (u < ARRAY_LEN(units) && units[u].unit != (c | 0x20))
			u++;
		if (!digits || u == ARRAY_LEN(units))
			goto bad;
		total += num * units[u].seconds;
		if (total > TTL_MAX)
			goto bad;
		num = 0;
		digits = false;
	}
	total += num;
	if (total > TTL_MAX)
		goto bad;
	*ttl_r = (uint32_t)total;
	return true;
bad:
	return fail(p, "bad TTL \"%s\"", field_text(f, buf));
}

static bool parse_u16(struct parser *p, const struct field *f, uint16_t *v_r)
{
	char buf[64];
	unsigned long v = 0;
	bool ok = !f->quoted && f->len > 0 && f->len <= 5;
	for (size_t i = 0; ok && i < f->len; i++) {
		ok = is_digit(f->p[i]);
		v = v * 10 + (unsigned long)(f->p[i] - '0');
	}
	if (!ok || v > 65535)
		return fail(p, "bad number \"%s\" (0 to 65535)", field_text(f, buf));
	*v_r = (uint16_t)v;
	return true;
}

/* ---- record types ---- */

static bool rdata_address(struct parser *p, const struct field *f, int af, void *out)
{
	char text[64], buf[64];
	if (f->quoted || f->len >= sizeof(text))
		return fail(p, "bad address \"%s\"", field_text(f, buf));
	memcpy(text, f->p, f->len);
	text[f->len] = '\0';
	if (inet_pton(af, text, out) != 1)
		return fail(p, "bad address \"%s\"", field_text(f, buf));
	return true;
}

static bool rd_a(struct parser *p, const struct field *f, size_t n, struct zrec *r)
{
	(void)n;
	return rdata_address(p, &f[0], AF_INET, &r->u.a);
}

static bool rd_aaaa(struct parser *p, const struct field *f, size_t n, struct zrec *r)
{
	(void)n;
	return rdata_address(p, &f[0], AF_INET6, &r->u.aaaa);
}

static bool rd_name(struct parser *p, const struct field *f, size_t n, struct zrec *r)
{
	char name[NAME_MAX_TEXT + 1];
	(void)n;
	if (!parse_name(p, &f[0], name))
		return false;
	r->u.name = arena_strdup(p->z->arena, name);
	return true;
}

static bool rd_mx(struct parser *p, const struct field *f, size_t n, struct zrec *r)
{
	char name[NAME_MAX_TEXT + 1];
	(void)n;
	if (!parse_u16(p, &f[0], &r->u.mx.preference) || !parse_name(p, &f[1], name))
		return false;
	r->u.mx.exchange = arena_strdup(p->z->arena, name);
	return true;
}

/* The zone.h test hook: a TXT record that is only SERVFAIL or TIMEOUT. */
static enum magic txt_magic(const uint8_t *s, size_t len)
{
	if (len == 8 && memcmp(s, "SERVFAIL", 8) == 0)
		return MAGIC_SERVFAIL;
	if (len == 7 && memcmp(s, "TIMEOUT", 7) == 0)
		return MAGIC_TIMEOUT;
	return MAGIC_NONE;
}

/* TXT and SPF: one or more character-strings, kept concatenated. */
static bool rd_txt(struct parser *p, const struct field *f, size_t n, struct zrec *r)
{
	struct buf data;
	buf_init(&data, ZONE_MAX_TXT);
	for (size_t i = 0; i < n; i++) {
		uint8_t s[255];
		size_t len = 0;
		if (!decode_string(p, &f[i], s, &len)) {
			buf_free(&data);
			return false;
		}
		if (n == 1)
			r->magic = txt_magic(s, len);
		if (!buf_append(&data, s, len)) {
			buf_free(&data);
			return fail(p, "TXT record longer than %d bytes", ZONE_MAX_TXT);
		}
	}
	r->type = DNS_T_TXT;
	r->u.txt.len = data.len;
	r->u.txt.data = arena_memdup(p->z->arena, data.p, data.len);
	buf_free(&data);
	return true;
}

/* SOA: checked for form, then kept only to make its name exist. */
static bool rd_soa(struct parser *p, const struct field *f, size_t n, struct zrec *r)
{
	char name[NAME_MAX_TEXT + 1];
	uint32_t v;
	(void)n;
	(void)r;
	if (!parse_name(p, &f[0], name) || !parse_name(p, &f[1], name))
		return false;
	for (size_t i = 2; i < 7; i++)
		if (!parse_ttl(p, &f[i], &v))
			return false;
	return true;
}

static const struct rtype {
	const char *name;
	uint16_t type;
	size_t min_fields, max_fields;
	bool (*parse)(struct parser *p, const struct field *f, size_t n, struct zrec *r);
} rtypes[] = {
	{ "A", DNS_T_A, 1, 1, rd_a },
	{ "AAAA", DNS_T_AAAA, 1, 1, rd_aaaa },
	{ "TXT", DNS_T_TXT, 1, ZONE_MAX_FIELDS, rd_txt },
	{ "SPF", DNS_T_TXT, 1, ZONE_MAX_FIELDS, rd_txt },	/* RFC 7208 3.1: stored as TXT */
	{ "MX", DNS_T_MX, 2, 2, rd_mx },
	{ "PTR", DNS_T_PTR, 1, 1, rd_name },
	{ "CNAME", DNS_T_CNAME, 1, 1, rd_name },
	{ "NS", T_NS, 1, 1, rd_name },
	{ "SOA", T_SOA, 7, 7, rd_soa },
};

static const struct rtype *rtype_find(const struct field *f)
{
	for (size_t i = 0; i < ARRAY_LEN(rtypes); i++)
		if (!f->quoted && strlen(rtypes[i].name) == f->len &&
		    strncasecmp(rtypes[i].name, f->p, f->len) == 0)
			return &rtypes[i];
	return NULL;
}

static bool field_is(const struct field *f, const char *word)
{
	return !f->quoted && strlen(word) == f->len && strncasecmp(word, f->p, f->len) == 0;
}

/* ---- entries ---- */

/* RFC 1034 3.6.2: a CNAME cannot share its name with other data. */
static bool add_record(struct parser *p, const char *owner, struct zrec *r)
{
	if (p->z->nrecords >= ZONE_MAX_RECORDS)
		return fail(p, "too many records (limit %d)", ZONE_MAX_RECORDS);
	struct znode *node = zone_node(p->z, owner);
	for (struct zrec *o = node->rrs; o != NULL; o = o->next) {
		if (o->type == DNS_T_CNAME && r->type == DNS_T_CNAME)
			return fail(p, "more than one CNAME at %s", owner);
		if (o->type == DNS_T_CNAME || r->type == DNS_T_CNAME)
			return fail(p, "CNAME and other data at %s (RFC 1034 3.6.2)", owner);
	}
	*node->tail = r;
	node->tail = &r->next;
	p->z->nrecords++;
	return true;
}

static bool directive(struct parser *p)
{
	const struct field *f = p->fields;
	char buf[64];
	if (field_is(&f[0], "$INCLUDE"))
		return fail(p, "$INCLUDE is not supported");
	if (field_is(&f[0], "$ORIGIN")) {
		char origin[NAME_MAX_TEXT + 1];
		if (p->nfields != 2)
			return fail(p, "$ORIGIN needs one name");
		if (!parse_name(p, &f[1], origin))
			return false;
		strcpy(p->origin, origin);
		p->have_origin = true;
		return true;
	}
	if (field_is(&f[0], "$TTL")) {
		if (p->nfields != 2)
			return fail(p, "$TTL needs one value");
		return parse_ttl(p, &f[1], &p->ttl);
	}
	return fail(p, "unknown directive %s", field_text(&f[0], buf));
}

static bool record(struct parser *p)
{
	const struct field *f = p->fields;
	size_t i = 0;
	char buf[64];
	if (p->blank_owner) {
		if (!p->have_owner)
			return fail(p, "no owner name (and no previous one)");
	} else {
		if (!parse_name(p, &f[i++], p->owner)) {
			p->have_owner = false;
			return false;
		}
		p->have_owner = true;
	}
	/* RFC 1035 5.1: [<TTL>] [<class>] or [<class>] [<TTL>], then the type. */
	uint32_t ttl = p->ttl;
	bool have_ttl = false, have_class = false;
	for (; i < p->nfields && (!have_ttl || !have_class); i++) {
		if (!have_ttl && !f[i].quoted && f[i].len > 0 && is_digit(f[i].p[0])) {
			if (!parse_ttl(p, &f[i], &ttl))
				return false;
			have_ttl = true;
		} else if (!have_class && field_is(&f[i], "IN")) {
			have_class = true;
		} else if (!have_class && (field_is(&f[i], "CH") || field_is(&f[i], "HS") ||
					   field_is(&f[i], "CS"))) {
			return fail(p, "unsupported class %s", field_text(&f[i], buf));
		} else {
			break;
		}
	}
	if (i == p->nfields)
		return fail(p, "record type missing");
	const struct rtype *t = rtype_find(&f[i]);
	if (t == NULL)
		return fail(p, "unknown record type %s", field_text(&f[i], buf));
	i++;
	size_t n = p->nfields - i;
	if (n < t->min_fields || n > t->max_fields)
		return fail(p, "wrong number of fields for %s", t->name);
	struct zrec *r = arena_alloc(p->z->arena, sizeof(*r));
	r->type = t->type;
	r->ttl = ttl;
	if (have_ttl)
		p->ttl = ttl;	/* RFC 1035 5.1: an omitted TTL is the last one given */
	if (!t->parse(p, &f[i], n, r))
		return false;
	return add_record(p, p->owner, r);
}

static bool normalize(const char *name, char out[NAME_MAX_TEXT + 1]);

/* origin: the default $ORIGIN, or NULL for none */
static struct zone *parse_at(const char *name, const char *text, size_t len, const char *origin,
			     char **error_r)
{
	struct parser *p = xcalloc(1, sizeof(*p));
	if (origin != NULL && normalize(origin, p->origin))
		p->have_origin = true;
	p->file = name;
	p->text = text;
	p->len = len;
	p->line = 1;
	p->ttl = ZONE_DEFAULT_TTL;
	p->z = zone_new();
	int r;
	while ((r = read_entry(p)) > 0) {
		bool is_dir = !p->blank_owner && !p->fields[0].quoted && p->fields[0].p[0] == '$';
		if (!(is_dir ? directive(p) : record(p)))
			break;
	}
	struct zone *z = p->z;
	if (p->error != NULL) {
		zone_free(&z);
		*error_r = p->error;
	}
	free(p);
	return z;
}

struct zone *zone_parse(const char *name, const char *text, size_t len, char **error_r)
{
	return parse_at(name, text, len, NULL, error_r);
}

struct zone *zone_load_at(const char *path, const char *origin, char **error_r)
{
	struct buf data, why;
	buf_init(&data, ZONE_MAX_FILE + 1);
	buf_init(&why, 4096);
	struct zone *z = NULL;
	if (file_read_regular(path, ZONE_MAX_FILE, &data, &why))
		z = parse_at(path, data.p, data.len, origin, error_r);
	else
		*error_r = buf_steal(&why);
	buf_free(&why);
	buf_free(&data);
	return z;
}

struct zone *zone_load(const char *path, char **error_r)
{
	return zone_load_at(path, NULL, error_r);
}

/* ---- lookups ---- */

/* Lower-cases and drops a trailing dot; false for what no zone can hold. */
static bool normalize(const char *name, char out[NAME_MAX_TEXT + 1])
{
	size_t len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > NAME_MAX_TEXT)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
	out[len] = '\0';
	return true;
}

static bool type_supported(enum dns_type type)
{
	return type == DNS_T_A || type == DNS_T_AAAA || type == DNS_T_MX || type == DNS_T_TXT ||
	       type == DNS_T_PTR || type == DNS_T_CNAME;
}

static void copy_rr(const struct zrec *r, struct dns_rr *rr)
{
	switch (r->type) {
	case DNS_T_A:
		rr->u.a = r->u.a;
		break;
	case DNS_T_AAAA:
		rr->u.aaaa = r->u.aaaa;
		break;
	case DNS_T_MX:
		rr->u.mx.preference = r->u.mx.preference;
		rr->u.mx.exchange = xstrdup(r->u.mx.exchange);
		break;
	case DNS_T_TXT:
		rr->u.txt.len = r->u.txt.len;
		rr->u.txt.data = xmalloc(r->u.txt.len + 1);
		memcpy(rr->u.txt.data, r->u.txt.data, r->u.txt.len);
		rr->u.txt.data[r->u.txt.len] = '\0';
		break;
	default:	/* PTR, CNAME */
		rr->u.ptr = xstrdup(r->u.name);
		break;
	}
}

/* Fills the answer from the records of one type at node. */
static void answer_node(const struct znode *node, enum dns_type type, uint32_t ttl,
			struct dns_answer *a)
{
	size_t n = 0;
	for (const struct zrec *r = node->rrs; r != NULL; r = r->next) {
		if (r->type != type)
			continue;
		if (r->magic != MAGIC_NONE) {
			a->status = r->magic == MAGIC_SERVFAIL ? DNS_SERVFAIL : DNS_TIMEOUT;
			a->why = r->magic == MAGIC_SERVFAIL ? "test zone: SERVFAIL"
							    : "test zone: TIMEOUT";
			return;
		}
		n++;
	}
	if (n == 0) {
		a->status = DNS_NODATA;
		return;
	}
	if (n > ZONE_MAX_ANSWER)
		n = ZONE_MAX_ANSWER;
	a->rr = xcalloc(n, sizeof(*a->rr));
	for (const struct zrec *r = node->rrs; r != NULL && a->count < n; r = r->next) {
		if (r->type != type)
			continue;
		copy_rr(r, &a->rr[a->count++]);
		if (r->ttl < ttl)
			ttl = r->ttl;
	}
	a->status = DNS_OK;
	a->ttl = ttl;
}

void zone_lookup(const struct zone *z, const char *name, enum dns_type type,
		 struct dns_answer *answer_r)
{
	char key[NAME_MAX_TEXT + 1];
	memset(answer_r, 0, sizeof(*answer_r));
	answer_r->type = type;
	if (!normalize(name, key)) {
		answer_r->status = DNS_ERROR;
		answer_r->why = "invalid name";
		return;
	}
	if (!type_supported(type)) {
		answer_r->status = DNS_ERROR;
		answer_r->why = "unsupported record type";
		return;
	}
	uint32_t ttl = UINT32_MAX;
	for (unsigned hops = 0;; hops++) {
		const struct znode *node = zone_find(z, key);
		if (node == NULL) {
			/* as a resolver does, a dangling CNAME is NXDOMAIN */
			answer_r->status = DNS_NXDOMAIN;
			return;
		}
		const struct zrec *cname = node->rrs;
		if (cname == NULL || cname->type != DNS_T_CNAME || type == DNS_T_CNAME) {
			answer_node(node, type, ttl, answer_r);
			return;
		}
		if (hops == ZONE_MAX_CNAME_CHAIN) {
			answer_r->status = DNS_SERVFAIL;
			answer_r->why = "CNAME chain too long or looping";
			return;
		}
		if (cname->ttl < ttl)
			ttl = cname->ttl;
		strcpy(key, cname->u.name);
		if (key[0] == '\0') {
			answer_r->status = DNS_NXDOMAIN;
			return;
		}
	}
}

void dns_answer_clear(struct dns_answer *a)
{
	for (size_t i = 0; i < a->count; i++) {
		switch (a->type) {
		case DNS_T_MX:
			free(a->rr[i].u.mx.exchange);
			break;
		case DNS_T_TXT:
			free(a->rr[i].u.txt.data);
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
			free(a->rr[i].u.ptr);
			break;
		default:
			break;
		}
	}
	free(a->rr);
	a->rr = NULL;
	a->count = 0;
}

/* ---- writing TXT records ---- */

#define TXT_STRING_MAX 255	/* RFC 1035 3.3 */

/* One byte as master-file text: itself, \" or \\, or \DDD. */
static void put_txt_byte(struct buf *out, uint8_t c)
{
	if (c == '"' || c == '\\')
		buf_printf(out, "\\%c", c);
	else if (c < 0x20 || c > 0x7e)
		buf_printf(out, "\\%03u", c);
	else
		buf_putc(out, (char)c);
}

void zone_txt_record(struct buf *out, const char *owner, const struct slice *parts, size_t n)
{
	size_t strings = 0;
	for (size_t i = 0; i < n; i++)
		strings += parts[i].len == 0 ? 1 : (parts[i].len + TXT_STRING_MAX - 1) / TXT_STRING_MAX;
	bool several = strings > 1;
	buf_printf(out, "%s IN TXT %s", owner, several ? "( " : "");
	size_t written = 0;
	for (size_t i = 0; i < n; i++) {
		size_t off = 0;
		do {
			size_t take = parts[i].len - off;
			if (take > TXT_STRING_MAX)
				take = TXT_STRING_MAX;
			if (written > 0)
				buf_puts(out, "\n\t");
			buf_putc(out, '"');
			for (size_t k = 0; k < take; k++)
				put_txt_byte(out, (uint8_t)parts[i].p[off + k]);
			buf_putc(out, '"');
			off += take;
			written++;
		} while (off < parts[i].len);
	}
	buf_puts(out, several ? " )\n" : "\n");
}
