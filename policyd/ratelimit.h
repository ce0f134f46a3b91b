/*
 * The rate-limit decision: one policy request in, one `action=` line out.
 *
 * Algorithm (GCRA, the "virtual scheduling" form of a token bucket): a rule
 * `messages=N/P` gives each key a bucket of N tokens that refills
 * continuously, one token every P/N.  An accepted message takes 1 token
 * from its messages bucket and recipient_count tokens from its recipients
 * bucket (recipients=N/P), for every rule that applies to it; it is
 * accepted only if every defer/reject bucket has the tokens, and then all
 * of them are taken at once.  Hence, exactly:
 *   - a key that was idle for P may send N at once (a burst of N), then
 *     one more every P/N;
 *   - in any time window of length W at most N + N*W/P are accepted, so
 *     never more than N in a short interval: there are no window edges
 *     where two full windows meet (the fixed-window double burst);
 *   - a deferred or rejected message takes nothing; a message over the
 *     limit of a hold/prepend rule passes and takes its tokens.
 *   - a single message with more recipients than a recipients= N never
 *     fits: it is always refused (the admin asked for at most N).
 *   P/N is kept in microseconds, rounded down, so the long-run rate is up
 *   to one microsecond per token fast.
 *
 * When: at RCPT the buckets are only checked (1 message, 1 recipient), so
 * a user already over the limit is deferred before sending the data; the
 * tokens are taken at END-OF-MESSAGE (or DATA, when Postfix does not ask
 * at END-OF-MESSAGE), where recipient_count counts accepted recipients.
 * Each `instance` (one Postfix transaction) is counted once per
 * connection.  A message refused later by a milter or a later restriction
 * still counts (the policy server is not told).
 *
 * recipient_domain rules are counted at RCPT instead (END-OF-MESSAGE
 * names the recipient only when there is exactly one): each RCPT the
 * policy server does not refuse takes 1 recipients= token of its domain,
 * and the first RCPT of a domain in a transaction takes 1 messages= token
 * of it.  So a message to 3 domains counts once for each.
 *
 * Blocks: a SASL user with a block key (a block=yes rule tripped, or
 * `cachet-policyd block`) gets REJECT 5.7.1 RATELIMIT_BLOCK_TEXT at RCPT
 * and END-OF-MESSAGE until an admin removes it.
 *
 * Replies: DEFER_IF_PERMIT 4.7.1 TEXT, REJECT 5.7.1 TEXT, HOLD TEXT,
 * PREPEND X-Cachet-Rate-Limit: NAME, and otherwise DUNNO, never OK (OK
 * would skip the restrictions after check_policy_service).
 */
#ifndef CACHET_RATELIMIT_H
#define CACHET_RATELIMIT_H

#include "buf.h"
#include "pconf.h"
#include "proto.h"
#include "store.h"

#define RATELIMIT_MAX_INSTANCE 128
/* recipient domains remembered per transaction (more: counted again) */
#define RATELIMIT_MAX_RCPT_DOMAINS 16
#define RATELIMIT_MAX_DOMAIN 255
#define RATELIMIT_BLOCK_PREFIX "cachet:!block:u="
#define RATELIMIT_BLOCK_TEXT "Sending is blocked for this account; contact your administrator"

/* Per Postfix connection: the last transaction counted. */
struct rl_conn {
	char counted[RATELIMIT_MAX_INSTANCE + 1];
	/* recipient_domain rules: the domains already counted in rd_instance */
	char rd_instance[RATELIMIT_MAX_INSTANCE + 1];
	char rd_domains[RATELIMIT_MAX_RCPT_DOMAINS][RATELIMIT_MAX_DOMAIN + 1];
	size_t n_rd;
};

/* Called the first time a rule trips for a key in its period. */
typedef void ratelimit_trip_fn(void *arg, const struct limit_rule *rule, const char *key,
			       const struct proto_req *r);

struct ratelimit {
	const struct pconf *conf;	/* swapped on reload */
	struct store *store;
	struct store *logged;		/* memory: "logged once" marks */
	ratelimit_trip_fn *on_trip;	/* or NULL */
	void *trip_arg;
};

/* conf and store are borrowed. */
void ratelimit_init(struct ratelimit *rl, const struct pconf *conf, struct store *store);
void ratelimit_fini(struct ratelimit *rl);

/* Appends the whole reply, "action=...\n\n", to out. */
void ratelimit_decide(struct ratelimit *rl, struct rl_conn *conn, const struct proto_req *r,
		      struct buf *out);

/*
 * The store key of one rule for one request ("cachet:NAME:m:PARTS", kind
 * 'm' or 'r'), or false when the request lacks a part (no SASL login, null
 * sender, no client address).  Exposed for tests.
 */
bool ratelimit_key(const struct limit_rule *rule, const struct proto_req *r, char kind,
		   struct buf *out);

/*
 * The store key that blocks a SASL user (RATELIMIT_BLOCK_PREFIX + the
 * escaped, lowercased name); false when user is empty or too long.
 */
bool ratelimit_block_key(const char *user, struct buf *out);

#endif
