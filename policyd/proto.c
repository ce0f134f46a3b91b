/*
 * The policy protocol parser (see proto.h).  Table-driven: the names of the
 * attributes we keep, in enum order; everything else is syntax-checked and
 * dropped.  Values are copied into the request's buf (proto.h) and
 * forgotten at reset.
 */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "compiler.h"

static const char *const attr_names[PA_COUNT] = {
	[PA_REQUEST] = "request",
	[PA_PROTOCOL_STATE] = "protocol_state",
	[PA_PROTOCOL_NAME] = "protocol_name",
	[PA_INSTANCE] = "instance",
	[PA_QUEUE_ID] = "queue_id",
	[PA_SENDER] = "sender",
	[PA_RECIPIENT] = "recipient",
	[PA_RECIPIENT_COUNT] = "recipient_count",
	[PA_SIZE] = "size",
	[PA_CLIENT_ADDRESS] = "client_address",
	[PA_CLIENT_NAME] = "client_name",
	[PA_HELO_NAME] = "helo_name",
	[PA_SASL_METHOD] = "sasl_method",
	[PA_SASL_USERNAME] = "sasl_username",
	[PA_SERVER_PORT] = "server_port",
	[PA_POLICY_CONTEXT] = "policy_context",
};

void proto_req_init(struct proto_req *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->vals, PROTO_MAX_REQUEST);
}

void proto_req_reset(struct proto_req *r)
{
	buf_free(&r->vals);
	proto_req_init(r);
}

void proto_req_next(struct proto_req *r)
{
	if (r->vals.cap > PROTO_KEEP)
		buf_free(&r->vals);
	buf_reset(&r->vals);
	memset(r->off, 0, sizeof(r->off));
	r->lines = r->bytes = 0;
}

const char *proto_get(const struct proto_req *r, enum proto_attr a)
{
	ASSERT((size_t)a < PA_COUNT);
	return r->off[a] != 0 ? r->vals.p + r->off[a] - 1 : "";
}

/* Keeps a value: its bytes and a NUL, after the others. */
static void keep(struct proto_req *r, enum proto_attr a, const char *val, size_t vlen)
{
	size_t off = r->vals.len;
	bool ok = buf_append(&r->vals, val, vlen) && buf_append(&r->vals, "", 1);
	/* the values are no longer than their lines, which are within PROTO_MAX_REQUEST */
	ASSERT(ok);
	r->off[a] = (uint32_t)off + 1;
}

const char *proto_attr_name(enum proto_attr a)
{
	ASSERT((size_t)a < PA_COUNT);
	return attr_names[a];
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* The request is complete: is it one we answer? */
static enum proto_result finish(const struct proto_req *r, const char **error_r)
{
	if (r->lines == 0) {
		*error_r = "empty request";
		return PROTO_ERROR;
	}
	if (strcmp(proto_get(r, PA_REQUEST), "smtpd_access_policy") != 0) {
		*error_r = "no request=smtpd_access_policy";
		return PROTO_ERROR;
	}
	return PROTO_DONE;
}

enum proto_result proto_line(struct proto_req *r, const char *line, size_t len,
			     const char **error_r)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return finish(r, error_r);
	if (len > PROTO_MAX_LINE) {
		*error_r = "line too long";
		return PROTO_ERROR;
	}
	r->bytes += len + 1;
	if (++r->lines > PROTO_MAX_ATTRS || r->bytes > PROTO_MAX_REQUEST) {
		*error_r = "request too large";
		return PROTO_ERROR;
	}
	const char *eq = memchr(line, '=', len);
	if (eq == NULL) {
		*error_r = "line without '='";
		return PROTO_ERROR;
	}
	size_t nlen = (size_t)(eq - line);
	if (nlen == 0 || nlen > PROTO_MAX_NAME) {
		*error_r = "bad attribute name";
		return PROTO_ERROR;
	}
	for (size_t i = 0; i < nlen; i++) {
		if (!name_char(line[i])) {
			*error_r = "bad attribute name";
			return PROTO_ERROR;
		}
	}
	const char *val = eq + 1;
	size_t vlen = len - nlen - 1;
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)val[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*error_r = "control character in a value";
			return PROTO_ERROR;
		}
	}
	for (size_t a = 0; a < PA_COUNT; a++) {
		if (strlen(attr_names[a]) == nlen && memcmp(attr_names[a], line, nlen) == 0) {
			keep(r, (enum proto_attr)a, val, vlen);
			break;
		}
	}
	return PROTO_MORE;
}

size_t proto_feed(struct proto_req *r, const char *data, size_t len,
		  void (*done)(void *arg, const struct proto_req *r), void *arg,
		  const char **error_r)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		if (nl == NULL)
			break;
		size_t n = (size_t)(nl - (data + i));
		enum proto_result res = proto_line(r, data + i, n, error_r);
		i += n + 1;
		if (res == PROTO_ERROR) {
			proto_req_reset(r);
			return (size_t)-1;
		}
		if (res == PROTO_DONE) {
			done(arg, r);
			proto_req_reset(r);
		}
	}
	if (len - i > PROTO_MAX_LINE + 1) {
		*error_r = "line too long";
		proto_req_reset(r);
		return (size_t)-1;
	}
	return i;
}
