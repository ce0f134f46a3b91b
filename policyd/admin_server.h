/*
 * The daemon's side of the AdminSocket: one command line in, "RC\n" and
 * the output back, then close (the commands are admin.c's; the client is
 * admin_client.c).  A connection idle for 10 s, reading or writing, is
 * closed.  A command that changed the store (not `list`) is followed by a
 * snapshot, so that blocks and resets do not wait for SnapshotInterval.
 * The listener is listen.c's.
 */
#ifndef CACHET_ADMIN_SERVER_H
#define CACHET_ADMIN_SERVER_H

#include <event2/listener.h>

/* The AdminSocket listener's callback (arg: the struct server). */
void admin_server_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			 int salen, void *arg);

#endif
