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
 *
 * Asking the store: one store_apply() per request (the block and every
 * counter of the rules that count now, in one step), and one more at RCPT
 * for the recipient_domain rules.  With Redis in the daemon these answer
 * later: the decision then waits (RL_PENDING) and finishes from the event
 * loop.  Requests that need no store answer are decided at once: other
 * protocol states, the allow lists, and a request with no counter to
 * check and no SASL user to look up a block for.  When the store cannot
 * answer, the reply is OnStoreError's; but a block looked up alone (no
 * counter to check in that step) that cannot be read counts as no block.
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

struct rl_job;

/*
 * Per Postfix connection: the last transaction counted, and the decision
 * in progress.  One decision at a time per connection (the caller reads
 * the next request only after the reply), so each sees what the previous
 * one counted.
 */
struct rl_conn {
	char counted[RATELIMIT_MAX_INSTANCE + 1];
	/* recipient_domain rules: the domains already counted in rd_instance */
	char rd_instance[RATELIMIT_MAX_INSTANCE + 1];
	char rd_domains[RATELIMIT_MAX_RCPT_DOMAINS][RATELIMIT_MAX_DOMAIN + 1];
	size_t n_rd;
	struct rl_job *job;		/* waiting for the store, or NULL */
};

/* Called the first time a rule trips for a key in its period. */
typedef void ratelimit_trip_fn(void *arg, const struct limit_rule *rule, const char *key,
			       const struct proto_req *r);

struct ratelimit {
	struct pconf *conf;		/* swapped on reload (a pending decision holds a reference) */
	struct store *store;
	struct store *logged;		/* memory: "logged once" marks */
	ratelimit_trip_fn *on_trip;	/* or NULL */
	void *trip_arg;
};

/* conf and store are borrowed. */
void ratelimit_init(struct ratelimit *rl, struct pconf *conf, struct store *store);
void ratelimit_fini(struct ratelimit *rl);

#define RL_DONE 0
#define RL_PENDING 1

/*
 * Decides r and appends the whole reply, "action=...\n\n", to out.
 * RL_DONE: the reply is there.  RL_PENDING: the store answers later; then
 * done(arg) is called from the event loop, once, with the reply in out
 * (never before this returns).  r and out are borrowed until then.
 */
int ratelimit_decide(struct ratelimit *rl, struct rl_conn *conn, const struct proto_req *r,
		     struct buf *out, void (*done)(void *arg), void *arg);
/* Drops conn's pending decision, if any (the connection goes): no done. */
void ratelimit_cancel(struct rl_conn *conn);

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
