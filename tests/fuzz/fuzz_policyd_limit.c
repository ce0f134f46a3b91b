/*
 * Fuzz target for the `Limit` rule grammar (policyd/pconf.c), reached as
 * a user would reach it: through the configuration engine, as the text
 * "Limit <input>" (its line ends made blanks, so it stays one Limit line).
 * A rule that parses must be within the documented bounds, and a key is
 * built from it for a sample request.  Nothing here opens a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "pconf.h"
#include "proto.h"
#include "ratelimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const request[] = {
	"request=smtpd_access_policy", "protocol_state=RCPT", "sasl_username=Alice",
	"sender=a+x@example.org", "recipient=r@example.com", "client_address=2001:db8::1",
	"instance=1", "server_port=587", "policy_context=submission",
};

static void check_rule(const struct limit_rule *r, const struct proto_req *req)
{
	if (r->name == NULL || strlen(r->name) == 0 || strlen(r->name) > PCONF_MAX_NAME ||
	    r->text == NULL || strlen(r->text) > PCONF_MAX_TEXT || r->keys == 0 ||
	    (r->messages == 0 && r->recipients == 0) || r->messages > PCONF_MAX_COUNT ||
	    r->recipients > PCONF_MAX_COUNT || r->v4_prefix < 1 || r->v4_prefix > 32 ||
	    r->v6_prefix < 1 || r->v6_prefix > 128 || r->action > LA_REJECT ||
	    (r->messages != 0 && (r->messages_period_ms < 1000 ||
				  r->messages_period_ms > 30ULL * 86400000)) ||
	    (r->block && !(r->keys & LK_SASL_USERNAME)))
		abort();
	for (const char *kind = "mr"; *kind != '\0'; kind++) {
		struct buf k;
		buf_init(&k, 512);
		ratelimit_key(r, req, *kind, &k);
		buf_free(&k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_req req;
	static bool ready;
	if (!ready) {
		const char *why;
		log_set_level(LOG_CRIT);
		proto_req_init(&req);
		for (size_t i = 0; i < sizeof(request) / sizeof(request[0]); i++)
			proto_line(&req, request[i], strlen(request[i]), &why);
		ready = true;
	}
	if (size > 4096)
		return 0;
	char *text = malloc(size + 8);
	memcpy(text, "Limit ", 6);
	for (size_t i = 0; i < size; i++)
		text[6 + i] = data[i] == '\n' || data[i] == '\r' ? ' ' : (char)data[i];
	text[6 + size] = '\n';
	char *error = NULL;
	struct pconf *c = pconf_parse("fuzz.conf", text, size + 7, &error);
	if (c != NULL) {
		if (c->limits == NULL || c->limits->n != 1)
			abort();
		check_rule(&c->limits->v[0], &req);
		pconf_free(&c);
	} else if (error == NULL || strncmp(error, "fuzz.conf:1: ", 13) != 0) {
		abort();	/* every error names the file and the line */
	}
	free(error);
	free(text);
	return 0;
}
