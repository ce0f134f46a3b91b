/*
 * The libmilter driver (milter.c): registers cachet's callbacks.  The
 * daemon (main.c) sets the socket and runs smfi_main().
 */
#ifndef CACHET_MILTER_H
#define CACHET_MILTER_H

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

#endif
