/*
 * What the Redis stores make of Redis's replies (store_impl.h), apart
 * from any connection, so that tests and a fuzz target can feed them
 * reply trees of any shape: the rate-limit script's reply, the status
 * replies of the connection's set-up commands (AUTH, SELECT, SCRIPT
 * LOAD), and the admin command line's TIME and SCAN replies.  A reply of
 * an unexpected shape is refused (-1 or false), never read past its
 * elements; strings are read with their lengths (Redis strings may hold
 * NUL bytes).
 */
#include "store_impl.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int store_redis_read_script(struct store_call *call, const struct redisReply *r)
{
	size_t n = call->n;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != n + 2 ||
	    r->element == NULL) {
		log_msg(LOG_ERR, NULL, "Redis: unexpected reply to the rate-limit script%s%.*s",
			r != NULL && r->type == REDIS_REPLY_ERROR ? ": " : "",
			r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL
				? (int)(r->len > 200 ? 200 : r->len) : 0,
			r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL ? r->str : "");
		return -1;
	}
	for (size_t i = 0; i < n + 2; i++)
		if (r->element[i] == NULL || r->element[i]->type != REDIS_REPLY_INTEGER)
			return -1;
	for (size_t i = 0; i < n; i++)
		call->b[i].fits_r = r->element[i]->integer == 1;
	call->committed_r = r->element[n]->integer == 1;
	call->gated_r = r->element[n + 1]->integer == 1;
	return 0;
}

bool store_redis_is_noscript(const struct redisReply *r)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL && r->len >= 8 &&
	       strncmp(r->str, "NOSCRIPT", 8) == 0;
}

bool store_redis_status_ok(const struct redisReply *r, const char *what, char *why, size_t n)
{
	if (r != NULL && r->type == REDIS_REPLY_STATUS)
		return true;
	if (r != NULL && r->type == REDIS_REPLY_ERROR && r->str != NULL)
		snprintf(why, n, "%s failed: %.*s", what, (int)(r->len > 200 ? 200 : r->len), r->str);
	else
		snprintf(why, n, "%s failed: unexpected reply", what);
	return false;
}

bool store_redis_script_sha(const struct redisReply *r, char sha[41])
{
	if (r == NULL || r->type != REDIS_REPLY_STRING || r->str == NULL || r->len != 40)
		return false;
	for (size_t i = 0; i < 40; i++) {
		char c = r->str[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	memcpy(sha, r->str, 40);
	sha[40] = '\0';
	return true;
}

/* A decimal number in a Redis string: digits only, at most 18 of them. */
static bool small_number(const struct redisReply *r, int64_t *v_r)
{
	if (r == NULL || r->type != REDIS_REPLY_STRING || r->str == NULL || r->len == 0 ||
	    r->len > 18)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < r->len; i++) {
		if (r->str[i] < '0' || r->str[i] > '9')
			return false;
		v = v * 10 + (r->str[i] - '0');
	}
	*v_r = v;
	return true;
}

bool store_redis_parse_time(const struct redisReply *r, int64_t *now_us_r)
{
	int64_t s, us;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element == NULL ||
	    !small_number(r->element[0], &s) || !small_number(r->element[1], &us) ||
	    s > INT64_MAX / 1000000 - 1 || us >= 1000000)
		return false;
	*now_us_r = s * 1000000 + us;
	return true;
}

bool store_redis_parse_scan(const struct redisReply *r, char cursor[32],
			    const struct redisReply **keys_r)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element == NULL)
		return false;
	const struct redisReply *c = r->element[0], *k = r->element[1];
	if (c == NULL || c->type != REDIS_REPLY_STRING || c->str == NULL || c->len == 0 ||
	    c->len > 31 || strlen(c->str) != c->len || k == NULL || k->type != REDIS_REPLY_ARRAY ||
	    (k->elements > 0 && k->element == NULL))
		return false;
	memcpy(cursor, c->str, c->len + 1);
	*keys_r = k;
	return true;
}

bool store_redis_scan_key(const struct redisReply *k)
{
	/* a key we could have written: printable, no NUL inside, not too long */
	if (k == NULL || k->type != REDIS_REPLY_STRING || k->str == NULL || k->len == 0 ||
	    k->len >= STORE_MAX_KEY || strlen(k->str) != k->len)
		return false;
	for (size_t i = 0; i < k->len; i++)
		if ((unsigned char)k->str[i] <= 0x20 || (unsigned char)k->str[i] >= 0x7f)
			return false;
	return true;
}

bool store_redis_parse_value(const struct redisReply *r, int64_t *value_r)
{
	int64_t v = 0;
	*value_r = 0;
	if (r == NULL || r->type == REDIS_REPLY_NIL)
		return true;
	if (r->type != REDIS_REPLY_STRING || r->str == NULL)
		return false;
	/* a TAT or STORE_FOREVER: up to 19 digits */
	if (r->len == 0 || r->len > 19)
		return false;
	uint64_t u = 0;
	for (size_t i = 0; i < r->len; i++) {
		if (r->str[i] < '0' || r->str[i] > '9')
			return false;
		u = u * 10 + (uint64_t)(r->str[i] - '0');
	}
	if (u > (uint64_t)INT64_MAX)
		return false;
	v = (int64_t)u;
	*value_r = v;
	return true;
}
