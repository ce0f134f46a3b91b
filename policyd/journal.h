/*
 * Durability of the memory store: the StateFile (a snapshot) and its
 * journal (every change since), so that a crash or kill -9 loses at most
 * about one second of counts instead of everything since the last
 * snapshot.
 *
 * Files, beside the StateFile PATH, all mode 0600:
 *	PATH			the snapshot: "# generation G" and "KEY TAT" lines
 *	PATH.journal.N		changes: "KEY VALUE" lines, VALUE 0 = deleted
 *	PATH.tmp.PID		a snapshot being written (removed at start)
 *
 * A snapshot of generation G holds every change written to journals with
 * N < G; changes made after it was taken go to journal G (and later ones,
 * G+1..., after the next snapshots).  Loading: the snapshot, then every
 * journal with N >= G in ascending order; journals with N < G and
 * temporary files are removed.  A journal line holds the key's new value,
 * not an increment, so replaying a change the snapshot already holds
 * changes nothing: a replay never counts twice.
 *
 * Taking a snapshot (statefile_save after journal_rotate): 1. the journal
 * moves to generation G (later changes go there); 2. the snapshot, tagged
 * G, is written to PATH.tmp.PID, fsync'ed, renamed over PATH, and the
 * directory fsync'ed; 3. journals < G are removed.  A crash before the
 * rename leaves the old snapshot (generation F <= G-1) and journals F..G:
 * all are replayed.  A crash after it leaves snapshot G and perhaps stale
 * journals < G: they are ignored and removed.  No order of crash loses a
 * change that was written to a journal file, or applies one twice.
 *
 * Group commit: changes collect in memory and are handed to a writer
 * thread at least once per JOURNAL_COMMIT_MS (or when JOURNAL_BATCH_BYTES
 * have collected); it write()s them and fdatasync()s, once per hand-off.
 * So a process crash (kill -9) loses the changes of at most the last
 * JOURNAL_COMMIT_MS (the ones not yet handed over; a write() is in the
 * kernel's page cache at once), and a power loss the same plus the
 * fdatasync in progress.  The event loop never waits for the disk, except
 * for the snapshot itself (written from the loop, every SnapshotInterval).
 *
 * A journal that cannot be written (disk full) is logged once per outage;
 * the changes of the failed batches are then only in memory until the
 * next snapshot.
 */
#ifndef CACHET_JOURNAL_H
#define CACHET_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define JOURNAL_COMMIT_MS 1000
#define JOURNAL_BATCH_BYTES (1024 * 1024)
/* a line of either file: the key, a blank, 19 digits, the LF */
#define STATEFILE_MAX_LINE (STORE_MAX_KEY + 24)

struct journal;

/* What a load found; each bad line is skipped. */
struct statefile_stats {
	size_t loaded;		/* lines applied */
	size_t bad;		/* lines that are not KEY VALUE */
	size_t torn;		/* a last line without its LF (a write cut short) */
};

/*
 * Reads "KEY VALUE" lines from f into s (a memory store, with no journal
 * attached).  journal: VALUE 0 deletes the key; otherwise VALUE is a TAT
 * and one in the past deletes it too (the bucket is full again); in a
 * snapshot (journal false) such lines are skipped.  A snapshot's
 * "# generation G" line sets *gen_r (when gen_r is not NULL); other lines
 * starting with '#' are comments.  Only complete lines count.
 */
void statefile_read(struct store *s, FILE *f, bool journal, uint64_t *gen_r,
		    struct statefile_stats *st);

/*
 * Loads path's snapshot and journals into s (see above), removes what
 * they make stale, and sets *next_gen_r to the generation the next
 * journal should have (higher than any found).  A missing snapshot is an
 * empty one.  Returns 0, or -1 when a file exists but cannot be read
 * (logged).
 */
int statefile_load(struct store *s, const char *path, uint64_t *next_gen_r);

/*
 * Writes s's live keys as a snapshot of generation gen (see above); then
 * removes the journals < gen, unless j is given (a running journal): its
 * writer removes them, after what it still has to write of them.
 * Returns 0 or -1 (logged; the files are left as they were).
 */
int statefile_save(struct store *s, const char *path, uint64_t gen, struct journal *j);

/*
 * Starts the journal of path at generation gen (opens PATH.journal.GEN
 * now, so that a file that cannot be created is a start-up error).  NULL
 * and a log line on error.
 */
struct journal *journal_open(const char *path, uint64_t gen);
/* A change: key's new value (0: deleted).  From the event loop only. */
void journal_append(struct journal *j, const char *key, int64_t value);
/* Hands over what collected when JOURNAL_COMMIT_MS have passed (a timer calls it). */
void journal_tick(struct journal *j);
/* Later changes go to the next generation; returns it. */
uint64_t journal_rotate(struct journal *j);
/* Hands over everything and waits until it is written (tests, shutdown). */
void journal_sync(struct journal *j);
/* Writes the rest, stops the writer, frees j; *j = NULL. */
void journal_close(struct journal **j);

#endif
