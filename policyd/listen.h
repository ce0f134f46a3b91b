/*
 * cachet-policyd's listening sockets, bound at start-up while the daemon
 * is still root: Socket, for Postfix (unix:PATH, local:PATH or /PATH,
 * made SocketMode; inet:PORT[@ADDR], inet6:PORT[@ADDR], addresses only,
 * no host names), and the AdminSocket (a unix socket, mode 0600 from the
 * start).  Their connections are conn.c's and admin_server.c's; when
 * accept() fails, conn.c pauses both.
 *
 * Owns srv->listener and srv->admin.
 */
#ifndef CACHET_LISTEN_H
#define CACHET_LISTEN_H

#include "server.h"

/* Socket's path when it is a unix socket; NULL for inet and inet6. */
const char *listen_unix_path(const char *spec);

/* Binds Socket, then the AdminSocket (if any).  0, or -1 (logged). */
int listen_start(struct server *srv);
/* Closes both listeners and removes the AdminSocket's file. */
void listen_stop(struct server *srv);

#endif
