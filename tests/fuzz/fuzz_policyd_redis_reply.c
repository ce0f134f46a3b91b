/*
 * Fuzz target for what the Redis stores make of Redis's replies
 * (policyd/store_redis_reply.c): the input builds a reply tree of any
 * shape (arrays nested up to 4 deep, strings with NUL bytes, integers,
 * nil, status, errors, and NULL elements as hiredis never makes them), and
 * every interpreter gets it: the rate-limit script's reply for a call of
 * 0 to 8 buckets, AUTH/SELECT status, SCRIPT LOAD's SHA1, NOSCRIPT, TIME,
 * SCAN and its keys, GET.  None may read outside the tree or accept a
 * shape it does not expect.
 */
#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t byte(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static redisReply *build(struct input *in, int depth)
{
	static const int types[] = { REDIS_REPLY_STRING, REDIS_REPLY_ARRAY, REDIS_REPLY_INTEGER,
				     REDIS_REPLY_NIL, REDIS_REPLY_STATUS, REDIS_REPLY_ERROR };
	uint8_t t = byte(in);
	if (t == 0xff)
		return NULL;	/* a hole hiredis never leaves: the readers must not trip */
	redisReply *r = calloc(1, sizeof(*r));
	r->type = types[t % 6];
	if (r->type == REDIS_REPLY_ARRAY && depth >= 4)
		r->type = REDIS_REPLY_INTEGER;
	switch (r->type) {
	case REDIS_REPLY_INTEGER: {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = (v << 8) | byte(in);
		r->integer = (long long)v;
		if (t & 0x80)
			r->integer = t & 0x40 ? 1 : 0;	/* the values the script returns */
		break;
	}
	case REDIS_REPLY_ARRAY:
		r->elements = byte(in) % 16;
		if (r->elements > 0)
			r->element = calloc(r->elements, sizeof(*r->element));
		for (size_t i = 0; i < r->elements; i++)
			r->element[i] = build(in, depth + 1);
		break;
	case REDIS_REPLY_NIL:
		break;
	default: {
		size_t len = byte(in);
		if (len > in->n)
			len = in->n;
		r->str = malloc(len + 1);	/* hiredis NUL-terminates */
		memcpy(r->str, in->p, len);
		r->str[len] = '\0';
		r->len = len;
		in->p += len;
		in->n -= len;
	}
	}
	return r;
}

static void release(redisReply *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->elements; i++)
		release(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	log_set_level(LOG_CRIT);
	size_t n = byte(&in) % 9;
	redisReply *r = build(&in, 0);
	struct bucket b[8];
	struct store_call call;
	memset(b, 0, sizeof(b));
	memset(&call, 0, sizeof(call));
	call.b = b;
	call.n = n;
	if (store_redis_read_script(&call, r) == 0 &&
	    (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != n + 2))
		abort();
	char why[256], sha[41], cursor[32];
	if (store_redis_status_ok(r, "AUTH", why, sizeof(why)) != (r != NULL &&
								  r->type == REDIS_REPLY_STATUS))
		abort();
	if (store_redis_script_sha(r, sha) && strlen(sha) != 40)
		abort();
	store_redis_is_noscript(r);
	int64_t v;
	if (store_redis_parse_time(r, &v) && v < 0)
		abort();
	const redisReply *keys = NULL;
	if (store_redis_parse_scan(r, cursor, &keys)) {
		if (strlen(cursor) == 0 || strlen(cursor) > 31)
			abort();
		for (size_t i = 0; i < keys->elements; i++)
			if (store_redis_scan_key(keys->element[i]) &&
			    strlen(keys->element[i]->str) >= STORE_MAX_KEY)
				abort();
	}
	if (store_redis_parse_value(r, &v) && v < 0)
		abort();
	release(r);
	return 0;
}
