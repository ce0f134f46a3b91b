/*
 * Tests of what the libmilter driver (milterd/milter.c) negotiates, through
 * milter_protocol_steps(): no reply for the steps cachet only answers with
 * continue, and only those; the body skipped unless a check has a body
 * hook or reads the spool; the recipients skipped unless a check reads
 * them; DATA skipped over a unix socket only (over TCP, an unanswered DATA
 * makes Postfix wait for a delayed ACK); nothing asked that the MTA did not
 * offer.  The protocol itself runs against a real MTA in
 * tests/integration (t_daemon.sh with miltertest, and every Postfix test).
 */
#include <libmilter/mfapi.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "milter.h"
#include "runtime.h"
#include "t.h"

static int body_hook(struct msg *m, struct check_ctx *cx, const uint8_t *d, size_t n)
{
	(void)m, (void)cx, (void)d, (void)n;
	return 0;
}

static const struct check check_plain = { .name = "plain" };
static const struct check check_body = { .name = "body", .body = body_hook };
static const struct check check_spool = { .name = "spool", .flags = CHECK_SPOOL };
static const struct check check_rcpt = { .name = "rcpt", .flags = CHECK_RCPT };

/* A snapshot whose only check is ck (NULL: no check at all). */
static struct runtime *make_rt(const struct check *ck)
{
	const struct check *const table[] = { ck };
	char *err = NULL;
	struct config *cfg = config_parse_with("t.conf", "", 0, ck != NULL ? table : NULL,
					       ck != NULL ? 1 : 0, &err);
	struct runtime *rt = cfg != NULL ? runtime_new(cfg, &err) : NULL;
	if (rt == NULL)
		t_fail(__FILE__, __LINE__, "no runtime: %s", err != NULL ? err : "?");
	config_unref(&cfg);
	free(err);
	return rt;
}

/* Every SMFIP_* flag of protocol version 6, as Postfix 3.x offers them. */
#define OFFER_ALL 0x001FFFFFUL
#define NR_ASKED (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
		  SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
/* Never: steps a check needs, replies that carry something, extensions. */
#define NEVER (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NOHDRS | SMFIP_NOEOH | \
	       SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_SKIP | SMFIP_RCPT_REJ)
/* An MTA of protocol version 2, with the NR flags libmilter offers for it. */
#define OFFER_V2 (0x7FUL | NR_ASKED | SMFIP_NR_DATA | SMFIP_NR_UNKN)

enum table { NO_CHECK, PLAIN, BODY, SPOOL, RCPT, NO_RUNTIME };

static void test_steps_by_checks_socket_and_offer(void)
{
	static const struct {
		const char *name;
		enum table table;
		bool local;
		unsigned long offered, want;
	} cases[] = {
		{ "no check, TCP", NO_CHECK, false, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN | SMFIP_NOBODY | SMFIP_NORCPT },
		{ "a check without body hook", PLAIN, false, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN | SMFIP_NOBODY | SMFIP_NORCPT },
		{ "a body hook keeps the body", BODY, false, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN | SMFIP_NORCPT },
		{ "CHECK_SPOOL keeps the body", SPOOL, false, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN | SMFIP_NORCPT },
		{ "CHECK_RCPT keeps RCPT", RCPT, false, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN | SMFIP_NOBODY },
		{ "unix socket: DATA skipped", BODY, true, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN | SMFIP_NORCPT | SMFIP_NODATA },
		{ "no snapshot: nothing skipped", NO_RUNTIME, false, OFFER_ALL,
		  SMFIP_HDR_LEADSPC | NR_ASKED | SMFIP_NOUNKNOWN },
		{ "protocol 2: only what it offers", PLAIN, true, OFFER_V2,
		  NR_ASKED | SMFIP_NOBODY | SMFIP_NORCPT },
		{ "nothing offered", BODY, true, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct runtime *rt = NULL;
		switch (cases[i].table) {
		case NO_CHECK: rt = make_rt(NULL); break;
		case PLAIN: rt = make_rt(&check_plain); break;
		case BODY: rt = make_rt(&check_body); break;
		case SPOOL: rt = make_rt(&check_spool); break;
		case RCPT: rt = make_rt(&check_rcpt); break;
		case NO_RUNTIME: break;
		}
		unsigned long got = milter_protocol_steps(rt, cases[i].offered, cases[i].local);
		if (got != cases[i].want)
			t_fail(__FILE__, __LINE__, "%s: steps 0x%lx, want 0x%lx", cases[i].name, got,
			       cases[i].want);
		if ((got & NEVER) != 0 || (got & ~cases[i].offered) != 0)
			t_fail(__FILE__, __LINE__, "%s: asks for 0x%lx", cases[i].name,
			       got & (NEVER | ~cases[i].offered));
		runtime_unref(&rt);
	}
}

int main(void)
{
	T_RUN(test_steps_by_checks_socket_and_offer);
	return t_done();
}
