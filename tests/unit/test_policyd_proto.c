/*
 * Tests for policyd/proto.c: the policy protocol parser.  Good requests
 * (every Postfix attribute, unknown and repeated ones), hostile ones (each
 * error), and the same stream fed whole, one byte at a time and in random
 * chunks.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "t.h"

/* A request as Postfix 3.x sends it, with a few attributes we ignore. */
static const char full_request[] =
	"request=smtpd_access_policy\n"
	"protocol_state=RCPT\n"
	"protocol_name=ESMTP\n"
	"client_address=203.0.113.5\n"
	"client_name=client.example.org\n"
	"client_port=40000\n"
	"reverse_client_name=client.example.org\n"
	"server_address=127.0.0.1\n"
	"server_port=587\n"
	"helo_name=client.example.org\n"
	"sender=alice+tag@example.org\n"
	"recipient=bob@example.com\n"
	"recipient_count=0\n"
	"queue_id=\n"
	"instance=123.456.789.0\n"
	"size=1234\n"
	"etrn_domain=\n"
	"stress=\n"
	"sasl_method=PLAIN\n"
	"sasl_username=alice@example.org\n"
	"sasl_sender=\n"
	"ccert_subject=\n"
	"ccert_issuer=\n"
	"ccert_fingerprint=\n"
	"ccert_pubkey_fingerprint=\n"
	"encryption_protocol=TLSv1.3\n"
	"encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	"encryption_keysize=256\n"
	"policy_context=submission\n"
	"compatibility_level=3.6\n"
	"mail_version=3.7.11\n"
	"some_future_attribute=value with = signs\n"
	"\n";

struct collected {
	int n;
	char state[32];
	char user[64];
};

static void collect(void *arg, const struct proto_req *r)
{
	struct collected *c = arg;
	c->n++;
	snprintf(c->state, sizeof(c->state), "%s", proto_get(r, PA_PROTOCOL_STATE));
	snprintf(c->user, sizeof(c->user), "%s", proto_get(r, PA_SASL_USERNAME));
}

/* Feeds text (in chunks of `chunk` bytes, 0 = whole) and returns the result. */
static int feed(const char *text, size_t len, size_t chunk, struct collected *c)
{
	struct proto_req r;
	struct buf pending;
	proto_req_init(&r);
	buf_init(&pending, 0);
	memset(c, 0, sizeof(*c));
	int rv = 0;
	for (size_t i = 0; i < len && rv == 0;) {
		size_t n = chunk == 0 ? len : chunk;
		if (n > len - i)
			n = len - i;
		buf_append(&pending, text + i, n);
		i += n;
		const char *error = NULL;
		size_t used = proto_feed(&r, pending.p, pending.len, collect, c, &error);
		if (used == (size_t)-1) {
			rv = -1;
			break;
		}
		memmove(pending.p, pending.p + used, pending.len - used);
		buf_truncate(&pending, pending.len - used);
	}
	proto_req_reset(&r);
	buf_free(&pending);
	return rv;
}

static void test_full_request_parses(void)
{
	struct proto_req r;
	proto_req_init(&r);
	const char *p = full_request, *error = NULL;
	enum proto_result res = PROTO_MORE;
	while (res == PROTO_MORE) {
		const char *nl = strchr(p, '\n');
		res = proto_line(&r, p, (size_t)(nl - p), &error);
		p = nl + 1;
	}
	T_EQ_INT(res, PROTO_DONE);
	T_EQ_STR(proto_get(&r, PA_PROTOCOL_STATE), "RCPT");
	T_EQ_STR(proto_get(&r, PA_SASL_USERNAME), "alice@example.org");
	T_EQ_STR(proto_get(&r, PA_SERVER_PORT), "587");
	T_EQ_STR(proto_get(&r, PA_POLICY_CONTEXT), "submission");
	T_EQ_STR(proto_get(&r, PA_INSTANCE), "123.456.789.0");
	T_EQ_STR(proto_get(&r, PA_QUEUE_ID), "");
	T_EQ_STR(proto_get(&r, PA_SIZE), "1234");
	proto_req_reset(&r);
}

static void test_chunked_feeding_gives_same_result(void)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 7, 64, 1000 };
	struct buf two;
	buf_init(&two, 0);
	buf_puts(&two, full_request);
	buf_puts(&two, "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\n\n");
	for (size_t i = 0; i < ARRAY_LEN(chunks); i++) {
		struct collected c;
		T_EQ_INT(feed(two.p, two.len, chunks[i], &c), 0);
		T_EQ_INT(c.n, 2);
		T_EQ_STR(c.state, "END-OF-MESSAGE");
		T_EQ_STR(c.user, "");	/* reset between requests */
	}
	/* random chunks */
	srand(1);
	for (int round = 0; round < 50; round++) {
		struct collected c;
		T_EQ_INT(feed(two.p, two.len, (size_t)(rand() % 40) + 1, &c), 0);
		T_EQ_INT(c.n, 2);
	}
	buf_free(&two);
}

static void test_repeated_attribute_last_wins(void)
{
	static const char text[] = "request=smtpd_access_policy\nsasl_username=a\n"
				   "sasl_username=b\n\n";
	struct collected c;
	T_EQ_INT(feed(text, strlen(text), 0, &c), 0);
	T_EQ_STR(c.user, "b");
}

static void test_crlf_is_tolerated(void)
{
	static const char text[] = "request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n\r\n";
	struct collected c;
	T_EQ_INT(feed(text, strlen(text), 0, &c), 0);
	T_EQ_INT(c.n, 1);
	T_EQ_STR(c.state, "RCPT");
}

static void test_hostile_requests_are_errors(void)
{
	static const struct {
		const char *text;
		size_t len;	/* 0 = strlen */
		const char *why;
	} cases[] = {
		{ "\n", 0, "empty request" },
		{ "protocol_state=RCPT\n\n", 0, "no request=smtpd_access_policy" },
		{ "request=junk\n\n", 0, "no request=smtpd_access_policy" },
		{ "request=smtpd_access_policy\nnoequals\n", 0, "line without '='" },
		{ "=value\n", 0, "bad attribute name" },
		{ "Request=smtpd_access_policy\n", 0, "bad attribute name" },
		{ "na me=x\n", 0, "bad attribute name" },
		{ "name=a\x01" "b\n", 0, "control character in a value" },
		{ "name=a\0b\n", 9, "control character in a value" },
		{ "\x80\xff\xfe=\n", 0, "bad attribute name" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct proto_req r;
		const char *error = NULL;
		enum proto_result res = PROTO_MORE;
		size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].text);
		proto_req_init(&r);
		for (size_t p = 0; p < len && res == PROTO_MORE;) {
			const char *nl = memchr(cases[i].text + p, '\n', len - p);
			size_t n = (size_t)(nl - (cases[i].text + p));
			res = proto_line(&r, cases[i].text + p, n, &error);
			p += n + 1;
		}
		T_EQ_INT(res, PROTO_ERROR);
		T_EQ_STR(error, cases[i].why);
		proto_req_reset(&r);
	}
}

static void test_long_line_is_error(void)
{
	struct buf b;
	struct collected c;
	buf_init(&b, 0);
	buf_puts(&b, "request=smtpd_access_policy\nsender=");
	for (size_t i = 0; i < PROTO_MAX_LINE; i++)
		buf_putc(&b, 'x');
	/* no LF yet: the pending line alone is too long */
	T_EQ_INT(feed(b.p, b.len, 0, &c), -1);
	buf_puts(&b, "\n\n");
	T_EQ_INT(feed(b.p, b.len, 100, &c), -1);
	buf_free(&b);
	/* a line exactly at the limit is fine */
	buf_init(&b, 0);
	buf_puts(&b, "request=smtpd_access_policy\nsender=");
	for (size_t i = strlen("sender="); i < PROTO_MAX_LINE; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\n\n");
	T_EQ_INT(feed(b.p, b.len, 0, &c), 0);
	T_EQ_INT(c.n, 1);
	buf_free(&b);
}

static void test_too_many_attributes_is_error(void)
{
	struct buf b;
	struct collected c;
	buf_init(&b, 0);
	buf_puts(&b, "request=smtpd_access_policy\n");
	for (int i = 0; i < PROTO_MAX_ATTRS; i++)
		buf_printf(&b, "x%d=1\n", i);
	buf_puts(&b, "\n");
	T_EQ_INT(feed(b.p, b.len, 0, &c), -1);
	T_EQ_INT(c.n, 0);
	buf_free(&b);
}

int main(void)
{
	T_RUN(test_full_request_parses);
	T_RUN(test_chunked_feeding_gives_same_result);
	T_RUN(test_repeated_attribute_last_wins);
	T_RUN(test_crlf_is_tolerated);
	T_RUN(test_hostile_requests_are_errors);
	T_RUN(test_long_line_is_error);
	T_RUN(test_too_many_attributes_is_error);
	return t_done();
}
