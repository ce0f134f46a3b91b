/*
 * Snapshots and the journal of the memory store, in the daemon (state.h).
 * A snapshot moves the journal to the next generation first, so that the
 * snapshot holds every line of the journals before it; the journal's
 * lines go to its writer thread once per JOURNAL_COMMIT_MS, from a timer
 * of the loop (journal_tick).
 */
#include <event2/event.h>
#include <stdlib.h>

#include "state.h"

#include "journal.h"
#include "log.h"
#include "store_impl.h"

struct store *state_store_open(const struct pconf *c, struct event_base *base, uint64_t *gen_r)
{
	char *error = NULL;
	struct store *s = store_open(c->store, c->store_timeout_ms, c->max_entries, base, &error);
	if (s == NULL) {
		log_msg(LOG_ERR, NULL, "%s: %s", c->path, error);
		free(error);
		return NULL;
	}
	*gen_r = 1;
	store_redis_set_auth(s, c->redis_user, c->redis_password);
	if (store_is_memory(s) && c->state_file != NULL)
		statefile_load(s, c->state_file, gen_r);
	return s;
}

/*
 * A snapshot of the memory store: the journal moves to the next
 * generation first, so the snapshot holds every line of the journals
 * before it (journal.h).
 */
int state_save(struct server *srv)
{
	if (!store_is_memory(srv->store) || srv->conf->state_file == NULL)
		return 0;
	if (srv->journal != NULL)
		srv->gen = journal_rotate(srv->journal);
	return statefile_save(srv->store, srv->conf->state_file, srv->gen, srv->journal);
}

static void on_journal_timer(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	if (srv->journal != NULL)
		journal_tick(srv->journal);
}

int state_journal_start(struct server *srv)
{
	const struct pconf *c = srv->conf;
	if (!store_is_memory(srv->store) || c->state_file == NULL || !c->journal)
		return 0;
	srv->journal = journal_open(c->state_file, srv->gen);
	return srv->journal != NULL ? 0 : -1;
}

int state_start(struct server *srv)
{
	const struct pconf *c = srv->conf;
	if (!store_is_memory(srv->store) || c->state_file == NULL)
		return 0;
	/* the journal is still empty: this snapshot, of its generation, holds the rest */
	if (statefile_save(srv->store, c->state_file, srv->gen, srv->journal) < 0)
		return -1;
	if (srv->journal != NULL) {
		store_memory_set_journal(srv->store, srv->journal);
		srv->journal_timer = event_new(srv->base, -1, EV_PERSIST, on_journal_timer, srv);
		struct timeval tv = { JOURNAL_COMMIT_MS / 1000, (JOURNAL_COMMIT_MS % 1000) * 1000 };
		event_add(srv->journal_timer, &tv);
	}
	return 0;
}

void state_journal_stop(struct server *srv)
{
	if (srv->journal == NULL)
		return;
	store_memory_set_journal(srv->store, NULL);
	journal_close(&srv->journal);
	if (srv->journal_timer != NULL)
		event_free(srv->journal_timer);
	srv->journal_timer = NULL;
}

void state_timer_arm(struct server *srv)
{
	event_del(srv->timer);
	unsigned ms = srv->conf->snapshot_interval_ms;
	if (ms == 0 || !store_is_memory(srv->store) || srv->conf->state_file == NULL)
		return;
	struct timeval tv = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };
	event_add(srv->timer, &tv);
}

static void on_timer(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *srv = arg;
	state_save(srv);
	state_timer_arm(srv);
}

void state_timer_start(struct server *srv)
{
	srv->timer = evtimer_new(srv->base, on_timer, srv);
	state_timer_arm(srv);
}

int state_stop(struct server *srv)
{
	int rc = state_save(srv);
	if (rc < 0)
		log_msg(LOG_ERR, NULL, "the final snapshot failed; exiting with status 1 (the "
			"journal, if on, still holds the changes)");
	state_journal_stop(srv);
	event_free(srv->timer);
	srv->timer = NULL;
	return rc;
}
