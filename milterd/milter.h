/*
 * The libmilter driver (milter.c): registers cachet's callbacks.  The
 * daemon (main.c) sets the socket and runs smfi_main().
 */
#ifndef CACHET_MILTER_H
#define CACHET_MILTER_H

/*
 * Registers the callbacks and listens on socket_spec ("inet:PORT@ADDR",
 * "inet6:PORT@ADDR", "local:PATH").  Returns 0, or -1 after logging why.
 */
int milter_open(const char *socket_spec);
/* Serves connections until SIGTERM/SIGINT.  Returns 0, or -1 on failure. */
int milter_run(void);

#endif
