/*
 * cachet-policyd's options (see pconf.h): one table row per option, read by
 * lib/util/conffile.c.  The types only the policy server needs live here: word
 * lists and the structured, repeatable `Limit` rule, whose value reaches
 * us raw (quotes kept) so that text="..." may hold blanks.  A Limit line's
 * attributes are a table too (limit_attrs: name, parser, field, error).
 */
#include "pconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "conffile.h"
#include "xalloc.h"

#define PCONF_MAX_WORDS 10000
#define PCONF_MAX_PERIOD_MS (30ULL * 86400000)

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* -- word lists -- */

static void drop_words(void *field)
{
	struct word_list **f = field;
	if (*f == NULL)
		return;
	for (size_t i = 0; i < (*f)->n; i++)
		free((*f)->v[i]);
	free((*f)->v);
	free(*f);
	*f = NULL;
}

/* Comma- or blank-separated words; accumulates over lines. */
static bool set_words(const struct conffile_option *o UNUSED, void *field, const char *value,
		      const struct conffile_ctx *ctx, struct buf *why)
{
	struct word_list **f = field;
	if (ctx->replace)
		drop_words(field);
	if (*f == NULL)
		*f = xcalloc(1, sizeof(**f));
	for (const char *p = value; *p != '\0';) {
		size_t len = strcspn(p, ", \t");
		if (len > 0) {
			if ((*f)->n >= PCONF_MAX_WORDS) {
				buf_printf(why, "expected at most %d entries", PCONF_MAX_WORDS);
				return false;
			}
			char *w = xstrndup(p, len);
			for (char *q = w; *q != '\0'; q++)
				*q = lower(*q);
			(*f)->v = xreallocarray((*f)->v, (*f)->n + 1, sizeof(char *));
			(*f)->v[(*f)->n++] = w;
		}
		p += len;
		p += strspn(p, ", \t");
	}
	return true;
}

bool word_list_has(const struct word_list *l, const char *word)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (strcasecmp(l->v[i], word) == 0)
			return true;
	return false;
}

/* -- Limit -- */

static void rule_free(struct limit_rule *r)
{
	free(r->name);
	free(r->text);
	free(r->context);
}

static void drop_limits(void *field)
{
	struct limit_set **f = field;
	if (*f == NULL)
		return;
	for (size_t i = 0; i < (*f)->n; i++)
		rule_free(&(*f)->v[i]);
	free((*f)->v);
	free(*f);
	*f = NULL;
}

/* "N/PERIOD": N 1..PCONF_MAX_COUNT, PERIOD a number with s, m, h or d. */
static bool parse_rate(const char *s, uint64_t *n_r, uint64_t *period_ms_r)
{
	static const struct {
		char unit;
		uint64_t ms;
	} units[] = { { 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 } };
	unsigned long long n, p;
	if (!conffile_parse_digits(&s, &n) || n < 1 || n > PCONF_MAX_COUNT || *s++ != '/')
		return false;
	if (!conffile_parse_digits(&s, &p) || p > PCONF_MAX_PERIOD_MS || s[0] == '\0' || s[1] != '\0')
		return false;
	for (size_t i = 0; i < ARRAY_LEN(units); i++) {
		if (lower(s[0]) == units[i].unit) {
			uint64_t ms = p * units[i].ms;
			if (ms < 1000 || ms > PCONF_MAX_PERIOD_MS)
				return false;
			*n_r = n;
			*period_ms_r = ms;
			return true;
		}
	}
	return false;
}

/* KEY: parts joined by '+'. */
static bool parse_key(const char *s, struct limit_rule *r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} parts[] = {
		{ "sasl_username", LK_SASL_USERNAME },
		{ "sender", LK_SENDER },
		{ "sender_domain", LK_SENDER_DOMAIN },
		{ "client_address", LK_CLIENT_ADDRESS },
		{ "recipient_domain", LK_RECIPIENT_DOMAIN },
	};
	while (*s != '\0') {
		size_t len = strcspn(s, "+/");
		bool found = false;
		for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
			if (strlen(parts[i].name) == len && strncmp(parts[i].name, s, len) == 0) {
				if (r->keys & parts[i].bit)
					return false;
				r->keys |= parts[i].bit;
				found = true;
			}
		}
		if (!found)
			return false;
		s += len;
		if (*s == '/') {
			unsigned long long v;
			s++;
			if (len != strlen("client_address") || !conffile_parse_digits(&s, &v) ||
			    v < 1 || v > 32)
				return false;
			r->v4_prefix = (unsigned)v;
		}
		if (*s == '+' && *++s == '\0')
			return false;
	}
	return r->keys != 0;
}

/* Reply text: printable ASCII, so it cannot break the protocol or SMTP. */
static bool valid_text(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PCONF_MAX_TEXT)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PCONF_MAX_NAME)
		return false;
	for (; *s != '\0'; s++) {
		char c = lower(*s);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

/*
 * The next word of a Limit line into out: blank-separated, double quotes
 * group (with \" and \\ inside).  false at the end or on an open quote
 * (*bad_r then set).
 */
static bool next_word(const char **p, struct buf *out, bool *bad_r)
{
	const char *s = *p;
	bool in_quotes = false;
	buf_reset(out);
	while (is_blank(*s))
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0' && (in_quotes || !is_blank(*s)); s++) {
		if (*s == '"') {
			in_quotes = !in_quotes;
			continue;
		}
		if (in_quotes && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
			s++;
		buf_putc(out, *s);
	}
	*p = s;
	if (in_quotes) {
		*bad_r = true;
		return false;
	}
	return true;
}

static const struct conffile_name_value action_names[] = {
	{ "prepend", LA_PREPEND },
	{ "hold", LA_HOLD },
	{ "defer", LA_DEFER },
	{ "reject", LA_REJECT },
	{ NULL, 0 },
};

const char *limit_action_name(enum limit_action a)
{
	for (size_t i = 0; action_names[i].name != NULL; i++)
		if (action_names[i].value == (int)a)
			return action_names[i].name;
	return "unknown";
}

/*
 * The attributes of a Limit line, one row each: its name, the parser of
 * its value, the field(s) of struct limit_rule it sets, and the words of
 * the error ("NAME: ERROR") when the value is refused.  An attribute
 * given twice: the last value wins (key= excepted: parse_key refuses it).
 */
struct limit_attr {
	const char *name;
	bool (*set)(const struct limit_attr *a, struct limit_rule *r, const char *value);
	size_t field;		/* offsetof(struct limit_rule, ...) */
	size_t field2;		/* the period of a rate */
	unsigned min, max;	/* numbers */
	const char *error;
};

#define STR_(x) #x
#define STR(x) STR_(x)
#define FIELD(f) offsetof(struct limit_rule, f)

static void *field_of(struct limit_rule *r, size_t offset)
{
	return (char *)r + offset;
}

static bool set_key(const struct limit_attr *a UNUSED, struct limit_rule *r, const char *v)
{
	return r->keys == 0 && parse_key(v, r);
}

static bool set_rate(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	return parse_rate(v, field_of(r, a->field), field_of(r, a->field2));
}

static bool set_action(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	for (size_t i = 0; action_names[i].name != NULL; i++) {
		if (strcasecmp(v, action_names[i].name) == 0) {
			*(enum limit_action *)field_of(r, a->field) =
				(enum limit_action)action_names[i].value;
			return true;
		}
	}
	return false;
}

/* Replaces a string field when `valid` accepts the value. */
static bool set_string(struct limit_rule *r, size_t field, const char *v,
		       bool (*valid)(const char *))
{
	char **f = field_of(r, field);
	if (!valid(v))
		return false;
	free(*f);
	*f = xstrdup(v);
	return true;
}

static bool set_text(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	return set_string(r, a->field, v, valid_text);
}

static bool set_name(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	return set_string(r, a->field, v, valid_name);
}

static bool set_uint(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	unsigned long long n;
	if (!conffile_parse_digits(&v, &n) || *v != '\0' || n < a->min || n > a->max)
		return false;
	*(unsigned *)field_of(r, a->field) = (unsigned)n;
	return true;
}

/* only=authenticated: the one word there is */
static bool set_authenticated(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	if (strcasecmp(v, "authenticated") != 0)
		return false;
	*(bool *)field_of(r, a->field) = true;
	return true;
}

static bool set_yes_no(const struct limit_attr *a, struct limit_rule *r, const char *v)
{
	bool yes = strcasecmp(v, "yes") == 0;
	if (!yes && strcasecmp(v, "no") != 0)
		return false;
	*(bool *)field_of(r, a->field) = yes;
	return true;
}

#define RATE_ERROR                                                               \
	"expected N/PERIOD, N from 1 to " STR(PCONF_MAX_COUNT) ", PERIOD from 1s "  \
	"to 30d with unit s, m, h or d (e.g. 100/1h)"

static const struct limit_attr limit_attrs[] = {
	{ "key", set_key, FIELD(keys), 0, 0, 0,
	  "expected sasl_username, sender, sender_domain, client_address[/NN] or "
	  "recipient_domain, or several joined by '+'" },
	{ "messages", set_rate, FIELD(messages), FIELD(messages_period_ms), 0, 0, RATE_ERROR },
	{ "recipients", set_rate, FIELD(recipients), FIELD(recipients_period_ms), 0, 0,
	  RATE_ERROR },
	{ "action", set_action, FIELD(action), 0, 0, 0,
	  "expected defer, reject, hold or prepend" },
	{ "text", set_text, FIELD(text), 0, 0, 0,
	  "expected 1 to " STR(PCONF_MAX_TEXT) " printable ASCII characters" },
	{ "only", set_authenticated, FIELD(only_authenticated), 0, 0, 0,
	  "expected authenticated" },
	{ "port", set_uint, FIELD(port), 0, 1, 65535, "expected a port from 1 to 65535" },
	{ "context", set_name, FIELD(context), 0, 0, 0, "expected a policy_context name" },
	{ "ipv6_prefix", set_uint, FIELD(v6_prefix), 0, 1, 128, "expected 1 to 128" },
	{ "block", set_yes_no, FIELD(block), 0, 0, 0, "expected yes or no" },
};

/* The row of an attribute name (n bytes of w), or NULL. */
static const struct limit_attr *limit_attr_named(const char *w, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(limit_attrs); i++)
		if (strlen(limit_attrs[i].name) == n && strncmp(limit_attrs[i].name, w, n) == 0)
			return &limit_attrs[i];
	return NULL;
}

/* One attribute "name=value" of a Limit line: its row, or NULL (why says). */
static const struct limit_attr *limit_attr(struct limit_rule *r, const char *w, struct buf *why)
{
	const char *eq = strchr(w, '=');
	if (eq == NULL) {
		buf_printf(why, "expected name=value, not \"%.64s\"", w);
		return NULL;
	}
	size_t n = (size_t)(eq - w);
	const struct limit_attr *a = limit_attr_named(w, n);
	if (a == NULL) {
		buf_printf(why, "unknown attribute \"%.*s\"", n > 64 ? 64 : (int)n, w);
		return NULL;
	}
	if (!a->set(a, r, eq + 1)) {
		buf_printf(why, "%s: %s", a->name, a->error);
		return NULL;
	}
	return a;
}

static bool parse_limit(const char *value, const struct limit_set *set, struct limit_rule *r,
			struct buf *why)
{
	struct buf w;
	bool bad = false, action_set = false, ok = true;
	const char *p = value;
	buf_init(&w, CONFFILE_MAX_LINE);
	r->v4_prefix = 32;
	r->v6_prefix = 64;
	if (!next_word(&p, &w, &bad) || !valid_name(w.p) || strchr(w.p, '=') != NULL) {
		buf_puts(why, "expected a rule name (letters, digits, _ - .) first");
		ok = false;
	}
	for (size_t i = 0; ok && set != NULL && i < set->n; i++) {
		if (strcasecmp(set->v[i].name, w.p) == 0) {
			buf_printf(why, "a rule named %s exists already", w.p);
			ok = false;
		}
	}
	if (ok)
		r->name = xstrdup(w.p);
	while (ok && next_word(&p, &w, &bad)) {
		const struct limit_attr *a = limit_attr(r, w.p, why);
		ok = a != NULL;
		/* the other required attributes show in their fields */
		if (ok && strcmp(a->name, "action") == 0)
			action_set = true;
	}
	if (ok && bad) {
		buf_puts(why, "unterminated double quote");
		ok = false;
	}
	if (ok && r->keys == 0) {
		buf_puts(why, "expected key=...");
		ok = false;
	}
	if (ok && r->messages == 0 && r->recipients == 0) {
		buf_puts(why, "expected messages=N/PERIOD or recipients=N/PERIOD (or both)");
		ok = false;
	}
	if (ok && !action_set) {
		buf_puts(why, "expected action=defer, reject, hold or prepend");
		ok = false;
	}
	if (ok && r->block && !(r->keys & LK_SASL_USERNAME)) {
		buf_puts(why, "block=yes needs a key with sasl_username");
		ok = false;
	}
	if (ok && r->text == NULL)
		r->text = xstrdup("Rate limit exceeded, try again later");
	buf_free(&w);
	return ok;
}

static bool set_limit(const struct conffile_option *o UNUSED, void *field, const char *value,
		      const struct conffile_ctx *ctx UNUSED, struct buf *why)
{
	struct limit_set **f = field;
	struct limit_rule r;
	memset(&r, 0, sizeof(r));
	if (*f != NULL && (*f)->n >= PCONF_MAX_LIMITS) {
		buf_printf(why, "more than %d rules", PCONF_MAX_LIMITS);
		return false;
	}
	if (!parse_limit(value, *f, &r, why)) {
		rule_free(&r);
		return false;
	}
	if (*f == NULL)
		*f = xcalloc(1, sizeof(**f));
	(*f)->v = xreallocarray((*f)->v, (*f)->n + 1, sizeof(r));
	(*f)->v[(*f)->n++] = r;
	return true;
}

static const struct conffile_type words_type = {
	.size = sizeof(struct word_list *), .set = set_words, .drop = drop_words,
};
static const struct conffile_type limit_type = {
	.size = sizeof(struct limit_set *), .set = set_limit, .drop = drop_limits, .raw = true,
};

/* -- the options -- */

static const struct conffile_bounds socket_mode_bounds = { 0, 0777 };
static const struct conffile_bounds store_timeout_bounds = { 10, 10000 };
static const struct conffile_bounds snapshot_bounds = { 0, 86400000 };
static const struct conffile_bounds entries_bounds = { 1000, 100000000 };
static const struct conffile_bounds connections_bounds = { 1, 100000 };
static const struct conffile_bounds notify_timeout_bounds = { 100, 600000 };
static const struct conffile_name_value store_error_names[] = {
	{ "dunno", SE_DUNNO },
	{ "defer", SE_DEFER },
	{ NULL, 0 },
};

#define OPT(name, type, def, field, extra)                                      \
	{ name, type, def, offsetof(struct pconf, field),                         \
	  sizeof(((struct pconf *)0)->field), extra }

/*
 * To add an option: a field in struct pconf, a row here (the default as
 * written in the file, or NULL), and an entry in doc/cachet-policyd.conf.5.
 */
static const struct conffile_option options[] = {
	OPT("Socket", &conffile_socket, "inet:10031@127.0.0.1", socket, NULL),
	OPT("SocketMode", &conffile_octal, "0660", socket_mode, &socket_mode_bounds),
	OPT("PidFile", &conffile_string, NULL, pid_file, NULL),
	OPT("Syslog", &conffile_bool, "yes", syslog, NULL),
	OPT("SyslogFacility", &conffile_facility, "mail", syslog_facility, NULL),
	OPT("LogDebug", &conffile_bool, "no", log_debug, NULL),
	OPT("RateLimitStore", &conffile_string, "memory", store, NULL),
	OPT("StoreTimeout", &conffile_duration, "200ms", store_timeout_ms, &store_timeout_bounds),
	OPT("StateFile", &conffile_string, NULL, state_file, NULL),
	OPT("SnapshotInterval", &conffile_duration, "60s", snapshot_interval_ms, &snapshot_bounds),
	OPT("MaxEntries", &conffile_uint, "1000000", max_entries, &entries_bounds),
	OPT("MaxConnections", &conffile_uint, "1000", max_connections, &connections_bounds),
	OPT("OnStoreError", &conffile_enum, "dunno", on_store_error, store_error_names),
	OPT("AllowClients", &conffile_netlist, NULL, allow_clients, NULL),
	OPT("AllowSASLUsers", &words_type, NULL, allow_sasl_users, NULL),
	OPT("AllowSenderDomains", &words_type, NULL, allow_sender_domains, NULL),
	OPT("Limit", &limit_type, NULL, limits, NULL),
	OPT("AdminSocket", &conffile_string, NULL, admin_socket, NULL),
	OPT("NotifyCommand", &conffile_string, NULL, notify_command, NULL),
	OPT("NotifyAddress", &conffile_string, NULL, notify_address, NULL),
	OPT("SendmailPath", &conffile_string, "/usr/sbin/sendmail", sendmail_path, NULL),
	OPT("NotifyTimeout", &conffile_duration, "30s", notify_timeout_ms, &notify_timeout_bounds),
	OPT("UserID", &conffile_string, NULL, user_id, NULL),
	OPT("AllowRoot", &conffile_bool, "no", allow_root, NULL),
	OPT("Journal", &conffile_bool, "yes", journal, NULL),
	OPT("RedisUser", &conffile_string, NULL, redis_user, NULL),
	OPT("RedisPasswordFile", &conffile_string, NULL, redis_password_file, NULL),
};

static const struct conffile_schema schema = { options, ARRAY_LEN(options), sizeof(struct pconf) };

/* RateLimitStore: "memory", redis://HOST[:PORT][/DB] or unix:PATH[?db=N]. */
static bool check_store(struct pconf *c, char **error_r)
{
	const char *s = c->store;
	if (strcmp(s, "memory") == 0 || strncmp(s, "redis://", 8) == 0 ||
	    (strncmp(s, "unix:", 5) == 0 && s[5] == '/'))
		return true;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s: RateLimitStore: expected memory, redis://HOST:PORT/DB or unix:PATH",
		   c->path);
	*error_r = buf_steal(&b);
	return false;
}

/* Paths we exec or bind must be absolute; an address is one plain word. */
static bool check_paths(struct pconf *c, char **error_r)
{
	const char *bad = NULL;
	if (c->notify_command != NULL && c->notify_command[0] != '/')
		bad = "NotifyCommand: expected an absolute path";
	else if (c->sendmail_path[0] != '/')
		bad = "SendmailPath: expected an absolute path";
	else if (c->admin_socket != NULL && c->admin_socket[0] != '/')
		bad = "AdminSocket: expected an absolute path";
	else if (c->redis_user != NULL && c->redis_password_file == NULL)
		bad = "RedisUser: needs RedisPasswordFile";
	else if (c->redis_user != NULL && (c->redis_user[0] == '\0' ||
					   strcspn(c->redis_user, " \t") != strlen(c->redis_user)))
		bad = "RedisUser: expected one word";
	else if (c->notify_address != NULL &&
		 (strchr(c->notify_address, '@') == NULL ||
		  strcspn(c->notify_address, " \t,<>\"()") != strlen(c->notify_address) ||
		  strlen(c->notify_address) > 254))
		bad = "NotifyAddress: expected one address, local@domain";
	if (bad == NULL)
		return true;
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s: %s", c->path, bad);
	*error_r = buf_steal(&b);
	return false;
}

static struct pconf *finish(struct pconf *c, const char *name, char **error_r)
{
	if (c == NULL)
		return NULL;
	c->path = xstrdup(name);
	if (!check_store(c, error_r) || !check_paths(c, error_r))
		pconf_free(&c);
	return c;
}

struct pconf *pconf_load(const char *path, char **error_r)
{
	return finish(conffile_load(&schema, path, error_r), path, error_r);
}

struct pconf *pconf_parse(const char *name, const char *text, size_t len, char **error_r)
{
	return finish(conffile_parse(&schema, name, text, len, error_r), name, error_r);
}

struct pconf *pconf_ref(struct pconf *c)
{
	c->refs++;
	return c;
}

void pconf_free(struct pconf **cp)
{
	struct pconf *c = *cp;
	*cp = NULL;
	if (c == NULL)
		return;
	if (c->refs > 0) {
		c->refs--;
		return;
	}
	if (c->redis_password != NULL) {
		explicit_bzero(c->redis_password, strlen(c->redis_password));
		free(c->redis_password);
	}
	conffile_drop(&schema, c);
	free(c->path);
	free(c);
}

/* Like the milter's RequireSafeKeys, stricter: no group access either. */
int pconf_read_secret(struct pconf *c, char **error_r)
{
	const char *path = c->redis_password_file;
	struct buf b;
	char secret[PCONF_MAX_SECRET + 2];
	struct stat st;
	int saved = 0;
	if (path == NULL)
		return 0;
	buf_init(&b, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		saved = errno;
		buf_printf(&b, "RedisPasswordFile %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		buf_printf(&b, "RedisPasswordFile %s: not a regular file", path);
	} else if ((st.st_mode & 077) != 0) {
		buf_printf(&b, "RedisPasswordFile %s: readable or writable by its group or others "
			   "(mode %04o); chmod 0600 it", path, (unsigned)(st.st_mode & 07777));
	} else {
		ssize_t n = read(fd, secret, sizeof(secret) - 1);
		if (n < 0) {
			buf_printf(&b, "RedisPasswordFile %s: %s", path, strerror(errno));
		} else {
			secret[n] = '\0';
			size_t len = strcspn(secret, "\r\n");
			if (len == 0 || len > PCONF_MAX_SECRET)
				buf_printf(&b, "RedisPasswordFile %s: expected a password of 1 to %d "
					   "bytes on the first line", path, PCONF_MAX_SECRET);
			else
				secret[len] = '\0';
		}
	}
	if (fd >= 0)
		close(fd);
	if (b.len == 0) {
		buf_free(&b);
		if (c->redis_password != NULL) {
			explicit_bzero(c->redis_password, strlen(c->redis_password));
			free(c->redis_password);
		}
		c->redis_password = xstrdup(secret);
		explicit_bzero(secret, sizeof(secret));
		return 0;
	}
	explicit_bzero(secret, sizeof(secret));
	*error_r = buf_steal(&b);
	errno = saved;	/* EACCES: the caller may keep an older password */
	return -1;
}
