/*
 * cachet-policyd's configuration as the daemon reads it: at start and
 * again on SIGHUP.  Relative paths in it (StateFile, PidFile,
 * RedisPasswordFile) are taken from the directory the daemon started in,
 * not from "/" where daemon() leaves it, and the Redis password is read.
 *
 * A reload changes the rules, the log level, SnapshotInterval and the
 * Redis credentials (from the next connection on); when Store or
 * StoreTimeout change, the store is opened again (a new memory store has
 * no journal until a restart).  UserID, AllowRoot and Socket changes need
 * a restart (logged); so do StateFile, Journal and AdminSocket changes,
 * which are logged and keep their running values.  A file that fails
 * leaves the running configuration in force.
 */
#ifndef CACHET_RELOAD_H
#define CACHET_RELOAD_H

#include <event2/event.h>

#include "pconf.h"
#include "server.h"

/*
 * pconf_load of srv->config_path, with the paths made absolute from
 * srv->start_dir and the Redis password read.  On a reload (old given),
 * a password file that the daemon, no longer root, cannot read again
 * keeps the password read at start.  NULL and *error_r (the caller frees
 * it) on error; the caller frees the result with pconf_free().
 */
struct pconf *reload_read(const struct server *srv, const struct pconf *old, char **error_r);

/* SIGHUP's event callback (arg: the server). */
void reload_on_hup(evutil_socket_t fd, short what, void *arg);

#endif
