/*
 * Fuzz target for the policy protocol: the input is a byte stream from a
 * "Postfix" connection.  It is split into requests by proto_feed (the
 * same line and request limits as the server) and every complete request
 * is answered by ratelimit_decide against a memory store and a few rules,
 * so the key builder and the decision see hostile values too.  Every
 * reply must be one `action=` line ended by an empty line, never OK.
 * Nothing here writes a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "compiler.h"
#include "log.h"
#include "pconf.h"
#include "proto.h"
#include "ratelimit.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] =
	"Limit u key=sasl_username messages=3/1m recipients=5/1m action=defer only=authenticated\n"
	"Limit s key=sender+client_address/24 messages=2/1h action=reject ipv6_prefix=56\n"
	"Limit d key=sender_domain messages=4/1h action=hold port=587\n"
	"Limit c key=client_address recipients=3/1h action=prepend context=x\n"
	"Limit b key=sasl_username messages=2/1m action=reject block=yes\n"
	"Limit rd key=sasl_username+recipient_domain messages=2/1h recipients=3/1h action=defer\n";

struct state {
	struct ratelimit rl;
	struct rl_conn conn;
};

static void answer(void *arg, const struct proto_req *r)
{
	struct state *st = arg;
	struct buf out;
	buf_init(&out, 1024);
	/* the memory store answers at once: never pending */
	if (ratelimit_decide(&st->rl, &st->conn, r, &out, NULL, NULL) != RL_DONE)
		abort();
	if (out.len < 9 || strncmp(out.p, "action=", 7) != 0 ||
	    strcmp(out.p + out.len - 2, "\n\n") != 0 || memchr(out.p, '\n', out.len - 2) != NULL ||
	    strncmp(out.p, "action=OK", 9) == 0)
		abort();
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pconf *conf;
	char *error = NULL;
	if (conf == NULL) {
		log_set_level(LOG_ERR);
		conf = pconf_parse("fuzz.conf", conf_text, strlen(conf_text), &error);
		if (conf == NULL)
			abort();
	}
	struct state st;
	memset(&st, 0, sizeof(st));
	struct store *s = store_open("memory", 0, 1000, NULL, &error);
	ratelimit_init(&st.rl, conf, s);
	struct proto_req r;
	proto_req_init(&r);
	const char *why = NULL;
	/* feed in two pieces, as a socket might deliver it */
	size_t half = size / 2, used = proto_feed(&r, (const char *)data, half, answer, &st, &why);
	if (used != (size_t)-1) {
		size_t rest = size - used;
		char *copy = malloc(rest + 1);
		memcpy(copy, data + used, rest);
		proto_feed(&r, copy, rest, answer, &st, &why);
		free(copy);
	}
	proto_req_reset(&r);
	ratelimit_fini(&st.rl);
	store_close(&s);
	return 0;
}
