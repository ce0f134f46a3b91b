/*
 * The admin commands of cachet-policyd (list, reset KEY, block USER,
 * unblock USER) run against a store.  The same code serves the command
 * line (Redis store: directly; memory store not running: on the StateFile)
 * and the daemon's AdminSocket (memory store of a running daemon), whose
 * protocol is one command line in, then "RC\n" and the output, then close.
 *
 * Limits: a command line is at most ADMIN_MAX_LINE bytes, an argument one
 * word of printable ASCII; `list` shows at most ADMIN_MAX_LIST keys.
 */
#ifndef CACHET_ADMIN_H
#define CACHET_ADMIN_H

#include "buf.h"
#include "pconf.h"
#include "store.h"

#define ADMIN_MAX_LINE 1024
#define ADMIN_MAX_LIST 100000

/* exit codes, also the RC on the socket */
#define ADMIN_OK 0
#define ADMIN_FAIL 1
#define ADMIN_USAGE 2

/*
 * Runs one command line ("list", "reset KEY", ...) and appends its output
 * (or an error sentence) to out.  Returns an ADMIN_* code.  Does not save
 * a snapshot.
 */
int admin_exec(struct store *s, const struct pconf *c, const char *line, struct buf *out);

/*
 * The AdminSocket's side of one connection: in[0..len) is what the client
 * sent so far.  When it holds a whole command line (up to LF; a CR before
 * it is dropped), runs it and appends "RC\n" and the output to out, and
 * returns the bytes taken; 0 when the line is not complete yet; a line
 * longer than ADMIN_MAX_LINE gets "2\nerror: command line too long\n"
 * and all of in is taken.  *rc_r: the command's ADMIN_* code (for the
 * log).  Only the memory store takes commands here: with Redis they
 * would block the daemon's loop, and the answer says to run them from
 * the command line.
 */
size_t admin_socket_input(struct store *s, const struct pconf *c, const char *in, size_t len,
			  struct buf *out, int *rc_r, char line_r[ADMIN_MAX_LINE + 1]);

#endif
