/*
 * The admin commands (see admin.h).  `list` turns stored TATs back into
 * "tokens used": a bucket of N tokens, one every T, with TAT in the future
 * has ceil((TAT - now) / T) of them taken.  A key whose rule is gone from
 * the configuration is listed with "?" for its use.
 */
#include "admin.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "ratelimit.h"
#include "xalloc.h"

struct row {
	char *key;
	int64_t value;
};

struct rows {
	struct row *v;
	size_t n;
};

static void add_row(void *arg, const char *key, int64_t value)
{
	struct rows *rs = arg;
	rs->v = xreallocarray(rs->v, rs->n + 1, sizeof(*rs->v));
	rs->v[rs->n].key = xstrdup(key);
	rs->v[rs->n++].value = value;
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

static const struct limit_rule *rule_named(const struct pconf *c, const char *name, size_t len)
{
	for (size_t i = 0; c->limits != NULL && i < c->limits->n; i++)
		if (strlen(c->limits->v[i].name) == len &&
		    strncmp(c->limits->v[i].name, name, len) == 0)
			return &c->limits->v[i];
	return NULL;
}

/* One counter row: "cachet:NAME:K:PARTS". */
static void put_counter(struct buf *out, const struct pconf *c, const struct row *r, int64_t now)
{
	const char *name = r->key + strlen("cachet:");
	const char *colon = strchr(name, ':');
	size_t len = colon != NULL ? (size_t)(colon - name) : strlen(name);
	const struct limit_rule *rule = rule_named(c, name, len);
	char kind = colon != NULL ? colon[1] : '?';
	uint64_t n = 0, period = 0;
	if (rule != NULL && kind == 'm') {
		n = rule->messages;
		period = rule->messages_period_ms;
	} else if (rule != NULL && kind == 'r') {
		n = rule->recipients;
		period = rule->recipients_period_ms;
	}
	buf_printf(out, "%-50s %-16.*s ", r->key, (int)len, name);
	if (n == 0) {
		buf_puts(out, "?\n");
		return;
	}
	int64_t t = (int64_t)(period * 1000 / n);
	int64_t used = t > 0 ? (r->value - now + t - 1) / t : 0;
	buf_printf(out, "%lld/%llu %s\n", (long long)used, (unsigned long long)n,
		   kind == 'm' ? "messages" : "recipients");
}

static int cmd_list(struct store *s, const struct pconf *c, struct buf *out)
{
	struct rows rs = { NULL, 0 };
	int64_t now = 0;
	bool truncated = false;
	if (store_scan(s, "cachet:", ADMIN_MAX_LIST, add_row, &rs, &now, &truncated) < 0) {
		buf_puts(out, "error: the rate-limit store cannot answer\n");
		for (size_t i = 0; i < rs.n; i++)
			free(rs.v[i].key);
		free(rs.v);
		return ADMIN_FAIL;
	}
	if (rs.n > 0)
		qsort(rs.v, rs.n, sizeof(*rs.v), cmp_row);
	buf_printf(out, "%-50s %-16s %s\n", "KEY", "LIMIT", "USED");
	for (size_t i = 0; i < rs.n; i++) {
		const char *k = rs.v[i].key;
		if (strncmp(k, RATELIMIT_BLOCK_PREFIX, strlen(RATELIMIT_BLOCK_PREFIX)) == 0)
			buf_printf(out, "%-50s %-16s %s\n", k, "-", "BLOCKED");
		else
			put_counter(out, c, &rs.v[i], now);
		free(rs.v[i].key);
	}
	if (truncated)
		buf_printf(out, "(only the first %d keys are listed)\n", ADMIN_MAX_LIST);
	free(rs.v);
	return ADMIN_OK;
}

static int cmd_reset(struct store *s, const struct pconf *c UNUSED, const char *arg,
		     struct buf *out)
{
	bool deleted = false;
	if (strncmp(arg, "cachet:", 7) != 0 || strlen(arg) >= STORE_MAX_KEY) {
		buf_printf(out, "error: reset: expected a key as shown by list (cachet:...), "
				"not \"%.100s\"\n", arg);
		return ADMIN_USAGE;
	}
	if (store_del(s, arg, &deleted) < 0) {
		buf_puts(out, "error: the rate-limit store cannot answer\n");
		return ADMIN_FAIL;
	}
	if (!deleted) {
		buf_printf(out, "error: no such key: %s\n", arg);
		return ADMIN_FAIL;
	}
	buf_printf(out, "reset %s\n", arg);
	return ADMIN_OK;
}

/*
 * unblock also refills the counters of the block=yes rules keyed on the
 * SASL user alone, or the user's next message would trip and block again.
 * Counters of combined keys are left alone (list shows them; reset them).
 */
static void refill_user(struct store *s, const struct pconf *c, const char *user)
{
	struct proto_req r;
	struct buf line, k;
	const char *error = NULL;
	bool deleted;
	proto_req_init(&r);
	buf_init(&line, 0);
	buf_printf(&line, "sasl_username=%s", user);
	if (proto_line(&r, line.p, line.len, &error) == PROTO_MORE) {
		for (size_t i = 0; c->limits != NULL && i < c->limits->n; i++) {
			const struct limit_rule *rule = &c->limits->v[i];
			if (!rule->block || rule->keys != LK_SASL_USERNAME)
				continue;
			for (const char *kind = "mr"; *kind != '\0'; kind++) {
				buf_init(&k, STORE_MAX_KEY);
				if (ratelimit_key(rule, &r, *kind, &k))
					store_del(s, k.p, &deleted);
				buf_free(&k);
			}
		}
	}
	buf_free(&line);
	proto_req_reset(&r);
}

static int cmd_block(struct store *s, const struct pconf *c, const char *user, bool on,
		     struct buf *out)
{
	struct buf k;
	bool deleted = false;
	int rc = ADMIN_OK;
	buf_init(&k, STORE_MAX_KEY);
	if (!ratelimit_block_key(user, &k)) {
		buf_puts(out, "error: expected a SASL user name\n");
		rc = ADMIN_USAGE;
	} else if ((on ? store_set(s, k.p, STORE_FOREVER) : store_del(s, k.p, &deleted)) < 0) {
		buf_puts(out, "error: the rate-limit store cannot answer\n");
		rc = ADMIN_FAIL;
	} else if (!on && !deleted) {
		buf_printf(out, "error: %s is not blocked\n", user);
		rc = ADMIN_FAIL;
	} else {
		if (!on)
			refill_user(s, c, user);
		buf_printf(out, "%s %s\n", on ? "blocked" : "unblocked", user);
	}
	buf_free(&k);
	return rc;
}

/* One word of printable ASCII without blanks. */
static bool valid_word(const char *w)
{
	if (*w == '\0')
		return false;
	for (; *w != '\0'; w++)
		if ((unsigned char)*w <= 0x20 || (unsigned char)*w >= 0x7f)
			return false;
	return true;
}

int admin_exec(struct store *s, const struct pconf *c, const char *line, struct buf *out)
{
	char cmd[16];
	size_t len = strcspn(line, " ");
	const char *arg = line[len] == ' ' ? line + len + 1 : NULL;
	if (len >= sizeof(cmd) || strlen(line) > ADMIN_MAX_LINE) {
		buf_puts(out, "error: unknown command (expected list, reset KEY, block USER "
			      "or unblock USER)\n");
		return ADMIN_USAGE;
	}
	memcpy(cmd, line, len);
	cmd[len] = '\0';
	bool want_arg = strcmp(cmd, "list") != 0;
	if (want_arg ? arg == NULL || !valid_word(arg) : arg != NULL) {
		if (strcmp(cmd, "list") == 0 || strcmp(cmd, "reset") == 0 ||
		    strcmp(cmd, "block") == 0 || strcmp(cmd, "unblock") == 0) {
			buf_printf(out, "error: %s: %s\n", cmd,
				   want_arg ? "expected one argument (one word)"
					    : "expected no argument");
			return ADMIN_USAGE;
		}
	}
	if (strcmp(cmd, "list") == 0)
		return cmd_list(s, c, out);
	if (strcmp(cmd, "reset") == 0)
		return cmd_reset(s, c, arg, out);
	if (strcmp(cmd, "block") == 0 || strcmp(cmd, "unblock") == 0)
		return cmd_block(s, c, arg, cmd[0] == 'b', out);
	buf_puts(out, "error: unknown command (expected list, reset KEY, block USER "
		      "or unblock USER)\n");
	return ADMIN_USAGE;
}

size_t admin_socket_input(struct store *s, const struct pconf *c, const char *in, size_t len,
			  struct buf *out, int *rc_r, char line_r[ADMIN_MAX_LINE + 1])
{
	const char *nl = memchr(in, '\n', len);
	line_r[0] = '\0';
	if (nl == NULL && len <= ADMIN_MAX_LINE)
		return 0;
	if (nl == NULL || (size_t)(nl - in) > ADMIN_MAX_LINE) {
		buf_puts(out, "2\nerror: command line too long\n");
		*rc_r = ADMIN_USAGE;
		return len;
	}
	size_t n = (size_t)(nl - in);
	memcpy(line_r, in, n);
	line_r[n] = '\0';
	if (n > 0 && line_r[n - 1] == '\r')
		line_r[n - 1] = '\0';
	struct buf res;
	buf_init(&res, 0);
	if (store_is_memory(s)) {
		*rc_r = admin_exec(s, c, line_r, &res);
	} else {
		buf_printf(&res, "error: RateLimitStore is %s: run the command as cachet-policyd "
				 "[-c FILE] %.100s (it talks to Redis directly)\n", c->store, line_r);
		*rc_r = ADMIN_FAIL;
	}
	buf_printf(out, "%d\n", *rc_r);
	buf_append(out, res.p, res.len);
	buf_free(&res);
	return n + 1;
}
