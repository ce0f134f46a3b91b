/*
 * The admin commands from the command line (`cachet-policyd [-c FILE]
 * list | reset KEY | block USER | unblock USER`): the client side of
 * admin.h.  Where a command runs: with a Redis store, on Redis directly
 * (a blocking hiredis context: this is a short-lived command, not the
 * daemon's event loop); with the memory store, through the AdminSocket of
 * the running daemon, or, when no daemon runs, on its StateFile (read,
 * changed, saved).  A running daemon (its PidFile names a live process)
 * without a reachable AdminSocket is an error rather than a StateFile edit
 * it would overwrite.
 */
#ifndef CACHET_ADMIN_CLIENT_H
#define CACHET_ADMIN_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

/* true when word names an admin command (list, reset, block, unblock) */
bool admin_client_is_command(const char *word);

/*
 * Runs the command argv[0] with its argument (argc 1 or 2), printing its
 * output on stdout (stderr on failure).  usage(stderr) on bad arguments.
 * Returns the exit status: ADMIN_OK, ADMIN_FAIL or ADMIN_USAGE (admin.h).
 */
int admin_client_main(const char *config_path, int argc, char **argv, void (*usage)(FILE *f));

#endif
