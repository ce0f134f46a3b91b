/*
 * The libmilter driver (milter.c): registers cachet's callbacks.  The
 * daemon (main.c) sets the socket and runs smfi_main().
 */
#ifndef CACHET_MILTER_H
#define CACHET_MILTER_H

#include <stdbool.h>

/*
 * Registers the callbacks and listens on socket_spec ("inet:PORT@ADDR",
 * "inet6:PORT@ADDR", "local:PATH").  on_reload is called on every SIGHUP,
 * from libmilter's signal thread (it must be quick: hand the work over);
 * NULL stops the milter on SIGHUP as libmilter does.  Returns 0, or -1
 * after logging why.
 */
int milter_open(const char *socket_spec, void (*on_reload)(void));
/*
 * Serves connections until SIGTERM/SIGINT.  The caller blocks SIGHUP,
 * SIGTERM and SIGINT in every thread first (milter_block_signals() before
 * any thread is created).  Returns 0, or -1 on failure.
 */
int milter_run(void);

/* Blocks the signals libmilter's signal thread waits for, in the calling thread. */
void milter_block_signals(void);

struct runtime;

/*
 * The protocol steps (SMFIP_* flags) to ask for when the MTA offers
 * `offered`, for a connection on snapshot rt (NULL: none loaded), over a
 * unix socket if local: no reply for the steps cachet only ever answers
 * with continue; the body and the recipients skipped when no enabled check
 * reads them, and DATA over a unix socket; header values with their
 * leading space.  Pure: negotiate calls it, and the unit tests.
 */
unsigned long milter_protocol_steps(const struct runtime *rt, unsigned long offered,
				    bool local);

#endif
