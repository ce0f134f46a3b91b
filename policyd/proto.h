/*
 * The Postfix SMTP access policy delegation protocol (Postfix's
 * SMTPD_POLICY_README): a request is `name=value` lines ended by an empty
 * line, LF line ends; the reply is `action=...` and an empty line.  This
 * module parses one request a line at a time and keeps the attributes the
 * policy server reads; every other attribute (Postfix 2.1 to 3.x adds new
 * ones) is checked for syntax and ignored.  A repeated attribute: the last
 * value wins.
 *
 * Hostile input is an error, after which the caller closes the connection
 * (a reply to a request we did not understand could be misread): a line
 * longer than PROTO_MAX_LINE, more than PROTO_MAX_ATTRS lines or
 * PROTO_MAX_REQUEST bytes in one request, a line without `=`, an attribute
 * name outside [a-z0-9_], a control character (other than tab) in a value,
 * an empty request, or one without request=smtpd_access_policy.  A CR
 * before the LF is tolerated.
 */
#ifndef CACHET_PROTO_H
#define CACHET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PROTO_MAX_LINE 8192
#define PROTO_MAX_ATTRS 256
#define PROTO_MAX_REQUEST 65536
#define PROTO_MAX_NAME 64

/* The attributes we read; the table in proto.c names them. */
enum proto_attr {
	PA_REQUEST,
	PA_PROTOCOL_STATE,
	PA_PROTOCOL_NAME,
	PA_INSTANCE,
	PA_QUEUE_ID,
	PA_SENDER,
	PA_RECIPIENT,
	PA_RECIPIENT_COUNT,
	PA_SIZE,
	PA_CLIENT_ADDRESS,
	PA_CLIENT_NAME,
	PA_HELO_NAME,
	PA_SASL_METHOD,
	PA_SASL_USERNAME,
	PA_SERVER_PORT,
	PA_POLICY_CONTEXT,
	PA_COUNT,
};

/*
 * The values kept are copied one after another, each with its NUL, into
 * one buf (at most PROTO_MAX_REQUEST bytes, as the lines they come from),
 * not one allocation each: a server reuses it from request to request.
 */
struct proto_req {
	struct buf vals;
	uint32_t off[PA_COUNT];	/* 1 + the value's offset in vals; 0 when absent */
	size_t lines;		/* attribute lines so far */
	size_t bytes;		/* bytes so far */
};

/* proto_req_next keeps the values' memory up to this size */
#define PROTO_KEEP 4096

enum proto_result {
	PROTO_MORE,	/* line taken; the request goes on */
	PROTO_DONE,	/* the empty line: the request is complete */
	PROTO_ERROR,	/* hostile or broken: close the connection */
};

void proto_req_init(struct proto_req *r);
/* Frees the values and makes r ready for the next request. */
void proto_req_reset(struct proto_req *r);
/*
 * Forgets the values and makes r ready for the next request, keeping
 * their memory (up to PROTO_KEEP bytes) for it; proto_req_reset() frees it.
 */
void proto_req_next(struct proto_req *r);

/*
 * One line without its LF (a trailing CR is dropped).  On PROTO_ERROR,
 * *error_r says why (static text).  After PROTO_DONE or PROTO_ERROR call
 * proto_req_reset() before the next line.
 */
enum proto_result proto_line(struct proto_req *r, const char *line, size_t len,
			     const char **error_r);

/* The value, or "" when absent. */
const char *proto_get(const struct proto_req *r, enum proto_attr a);
/* The attribute's name as Postfix spells it. */
const char *proto_attr_name(enum proto_attr a);

/*
 * Splits a byte stream into requests: feeds every complete line of
 * data[0..len) to proto_line and calls done(arg, r) for each complete
 * request.  Returns the bytes consumed (an incomplete last line is left
 * for the next call), or (size_t)-1 on an error (*error_r set), including
 * a pending line longer than PROTO_MAX_LINE.  Used by the fuzz target and
 * tests; the server does the same over libevent's buffers.
 */
size_t proto_feed(struct proto_req *r, const char *data, size_t len,
		  void (*done)(void *arg, const struct proto_req *r), void *arg,
		  const char **error_r);

#endif
