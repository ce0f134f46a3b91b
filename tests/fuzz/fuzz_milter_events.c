/*
 * Fuzz target: the pipeline driven the way milter.c drives it, by a random
 * sequence of libmilter callbacks: connect, helo, MAIL, RCPT, header, end
 * of header, body, end of message, abort and close in any order and number
 * (abort anywhere, MAIL twice, headers after the body, a close as the only
 * callback).  Like milter.c, a callback that needs a connection or a
 * message it does not have is refused, end of message and abort end the
 * message, close ends the connection.  The production checks answer from
 * an empty test zone.  What must hold: no crash, no leak (ASan), and each
 * end of message gives an action and an Authentication-Results value.
 *
 * Input: a stream of operations, each a byte (the callback) followed by
 * the bytes its argument takes (one length byte and that many bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pipeline.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct runtime *rt;

static void setup(void)
{
	char zone[] = "/tmp/cachet-fuzz-zone.XXXXXX";
	int fd = mkstemp(zone);
	if (fd < 0)
		abort();
	close(fd);
	char conf[256];
	snprintf(conf, sizeof(conf), "AuthservID fuzz.example\nTestDNSData %s\n"
		 "InternalHosts 192.0.2.1\nSyslog no\nSPFTimeout 100ms\n", zone);
	char *err = NULL;
	struct config *cfg = config_parse("fuzz.conf", conf, strlen(conf), &err);
	rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	config_unref(&cfg);
	unlink(zone);
	if (rt == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	log_set_level(LOG_CRIT);
}

struct input {
	const uint8_t *p;
	size_t left;
};

/* The next argument: a length byte and that many bytes, NUL-terminated. */
static char *arg(struct input *in)
{
	size_t n = 0;
	if (in->left > 0) {
		n = in->p[0];
		in->p++;
		in->left--;
	}
	if (n > in->left)
		n = in->left;
	char *s = malloc(n + 1);
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->left -= n;
	return s;
}

enum op { OP_CONNECT, OP_HELO, OP_MAIL, OP_RCPT, OP_HEADER, OP_EOH, OP_BODY, OP_EOM,
	  OP_ABORT, OP_CLOSE, OP_N };

static void end_of_message(struct conn *c)
{
	const struct eom_result *r = pipeline_eom(c->msg);
	if (r->ar_value == NULL || r->action > ACTION_REJECT)
		abort();
	pipeline_msg_end(c);
}

/* One callback, refused as milter.c refuses it when its context is missing. */
static void step(struct conn **cp, enum op op, struct input *in)
{
	struct conn *c = *cp;
	struct msg *m = c != NULL ? c->msg : NULL;
	char *a = arg(in), *b = op == OP_HEADER ? arg(in) : NULL;
	switch (op) {
	case OP_CONNECT:
		pipeline_conn_free(cp);
		*cp = pipeline_conn_new_text(rt, a, a[0] % 2 ? "203.0.113.9" : "192.0.2.1");
		break;
	case OP_HELO:
		if (c != NULL)
			pipeline_helo(c, a);
		break;
	case OP_MAIL:
		if (c != NULL)
			pipeline_msg_begin(c, a, a[0] == 'A' ? "alice" : NULL);
		break;
	case OP_RCPT:
		if (m != NULL)
			pipeline_rcpt(m, a);
		break;
	case OP_HEADER:
		if (m != NULL && a[0] != '\0')
			pipeline_header(m, a, b, strlen(b));
		break;
	case OP_EOH:
		if (m != NULL)
			pipeline_eoh(m);
		break;
	case OP_BODY:
		if (m != NULL)
			pipeline_body(m, (const uint8_t *)a, strlen(a));
		break;
	case OP_EOM:
		if (m != NULL)
			end_of_message(c);
		break;
	case OP_ABORT:
		if (c != NULL)
			pipeline_msg_end(c);
		break;
	default:
		pipeline_conn_free(cp);
		break;
	}
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rt == NULL)
		setup();
	struct input in = { data, size };
	struct conn *c = NULL;
	while (in.left > 0) {
		enum op op = (enum op)(in.p[0] % OP_N);
		in.p++;
		in.left--;
		step(&c, op, &in);
	}
	pipeline_conn_free(&c);
	return 0;
}
