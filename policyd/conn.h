/*
 * Postfix's connections to cachet-policyd: accepted (refused beyond
 * MaxConnections), read, decided request by request (ratelimit.h) and
 * answered in request order, closed when the peer closes, after
 * POLICYD_IDLE_SECONDS idle, or on input we cannot parse.  Also what
 * happens when accept() fails (out of descriptors or memory): both
 * listeners pause for a while instead of retrying at once.
 *
 * Owns srv->conns, n_conns, refused, idle and the accept pause
 * (accept_resume, accept_logged, accept_failed).  The listeners
 * themselves are listen.c's.
 */
#ifndef CACHET_CONN_H
#define CACHET_CONN_H

#include <event2/listener.h>

#include "server.h"

/* Before the loop runs: the idle timeout and the accept pause's timer. */
void conn_init(struct server *srv);
/* After it: closes the open connections and frees what conn_init made. */
void conn_fini(struct server *srv);

/* The Socket listener's callback (arg: the server): a new connection. */
void conn_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		 void *arg);
/* Both listeners' error callback (arg: the server): accept() failed. */
void conn_accept_error(struct evconnlistener *l, void *arg);

#endif
