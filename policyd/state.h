/*
 * The memory store's life on disk in the daemon: the StateFile loaded at
 * start, a snapshot every SnapshotInterval, after each admin change and
 * at exit, and the journal between snapshots (the files and their order
 * are journal.h's).  With Redis, or without a StateFile, all of this is
 * nothing but opening the store.
 *
 * Start-up runs in two halves around the switch to UserID: the journal's
 * first file is opened while still root (state_journal_start), the first
 * snapshot written as UserID (state_start), which proves the directory
 * writable and holds what was loaded.
 *
 * Owns srv->journal, journal_timer, timer and gen.
 */
#ifndef CACHET_STATE_H
#define CACHET_STATE_H

#include <stdint.h>

#include "pconf.h"
#include "server.h"
#include "store.h"

/*
 * The store of c; a memory store gets the StateFile and its journals
 * (*gen_r: the next journal's generation).  NULL on error (logged).
 * The caller frees it with store_close().
 */
struct store *state_store_open(const struct pconf *c, struct event_base *base, uint64_t *gen_r);

/* Before the privileges go: the journal's first file.  0, or -1 (logged). */
int state_journal_start(struct server *srv);
/*
 * After: the first snapshot, then the store writes every change to the
 * journal.  0, or -1 (logged).
 */
int state_start(struct server *srv);
/* The SnapshotInterval timer: made and armed once the loop is set up. */
void state_timer_start(struct server *srv);
/* Arms it again, after a reload (SnapshotInterval 0: off). */
void state_timer_arm(struct server *srv);

/* A snapshot now (memory store with a StateFile; else nothing).  0 or -1 (logged). */
int state_save(struct server *srv);
/* The journal stops (after a final snapshot, or with the store). */
void state_journal_stop(struct server *srv);
/*
 * At exit: the final snapshot, then the journal and the timer stop.
 * -1 if the snapshot failed (logged: the journal, if on, holds the changes).
 */
int state_stop(struct server *srv);

#endif
