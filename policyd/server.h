/*
 * The state of one cachet-policyd daemon: one struct server per process,
 * set up by main.c and shared, in the event loop's thread, by the files
 * that serve it.  Who makes and frees what: main.c the event base, the
 * configuration and the store (reload.c replaces both in place on
 * SIGHUP), the rate limiter and the notifications; listen.c the two
 * listeners; conn.c the Postfix connections and the pause of accept();
 * state.c the journal, its timer, the snapshot timer and the generation.
 */
#ifndef CACHET_SERVER_H
#define CACHET_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ratelimit.h"

struct conn;
struct event;
struct event_base;
struct evconnlistener;
struct journal;
struct notify;
struct timeval;

struct server {
	struct event_base *base;
	const char *config_path;
	char *start_dir;		/* the working directory at start (reload.c) */
	struct pconf *conf;		/* replaced on reload (reload.c) */
	struct store *store;
	struct ratelimit rl;
	struct evconnlistener *listener;
	struct evconnlistener *admin;	/* AdminSocket, or NULL */
	struct notify *notify;
	struct event *timer;		/* the next snapshot (state.c) */
	struct event *accept_resume;	/* re-enables the listeners after a pause */
	struct journal *journal;	/* of the memory store, or NULL */
	struct event *journal_timer;	/* hands the journal's lines to its writer */
	uint64_t gen;			/* the StateFile's generation (journal.h) */
	time_t accept_logged;		/* the last line about accept() failing */
	unsigned long accept_failed;	/* failures since that line */
	struct conn *conns;		/* open connections (freed at exit) */
	const struct timeval *idle;	/* the connections' common idle timeout */
	size_t n_conns;
	unsigned long refused;
};

#endif
