/*
 * Tests for policyd/journal.c, the StateFile and its journal: the line
 * reader (a table of inputs: good lines, bad ones, comments, the
 * generation, a torn last line, deletions), the reader fed the same text
 * in random chunks through a pipe, a journal replayed over the snapshot
 * after a "crash" (no final snapshot), the crash points of a snapshot
 * (before the rename: old snapshot and both journals; after it: stale
 * journals ignored and removed), no double count when the snapshot
 * already holds the journal's lines, temporary files removed at load,
 * modes 0600, and a journal that cannot be written.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "compiler.h"
#include "journal.h"
#include "store.h"
#include "store_impl.h"
#include "t.h"

#define SEC 1000000LL
#define NOW (1700000000LL * SEC)

static int64_t fake_now(void)
{
	return NOW;
}

static struct store *new_store(void)
{
	char *error = NULL;
	struct store *s = store_open("memory", 0, 100000, NULL, &error);
	store_set_clock(s, fake_now);
	return s;
}

static int64_t get(struct store *s, const char *key)
{
	int64_t v = -1;
	store_get(s, key, &v);
	return v;
}

static void read_text(struct store *s, const char *text, bool journal, uint64_t *gen,
		      struct statefile_stats *st)
{
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	statefile_read(s, f, journal, gen, st);
	fclose(f);
}

static void test_reader_table(void)
{
	static const struct {
		const char *text;
		bool journal;
		const char *key;
		int64_t value;	/* expected, 0 = absent */
		size_t loaded, bad, torn;
		uint64_t gen;
	} cases[] = {
		{ "a 1800000000000000\n", false, "a", 1800000000000000, 1, 0, 0, 0 },
		{ "# generation 42\na 1800000000000000\n", false, "a", 1800000000000000, 1, 0, 0, 42 },
		{ "# generation 42\n", true, "a", 0, 0, 0, 0, 0 },	/* journals have none */
		{ "a 1800000000000000", false, "a", 0, 0, 0, 1, 0 },	/* torn */
		{ "a 1800000000000000\na 1900000000000000", true, "a", 1800000000000000, 1, 0, 1, 0 },
		{ "a 1600000000000000\n", false, "a", 0, 0, 0, 0, 0 },	/* expired */
		{ "a 1800000000000000\na 0\n", true, "a", 0, 2, 0, 0, 0 },	/* deleted */
		{ "a 1800000000000000\na 1\n", true, "a", 0, 2, 0, 0, 0 },	/* expired */
		{ "a -1\nb\n 5\na  5\na 5x\na 99999999999999999999\n", false, "a", 0, 0, 6, 0, 0 },
		{ "a 9223372036854775807\n", false, "a", STORE_FOREVER, 1, 0, 0, 0 },
		{ "a 9223372036854775808\n", false, "a", 0, 0, 1, 0, 0 },
		{ "a\x01 1800000000000000\n", false, "a\x01", 0, 0, 1, 0, 0 },
		{ "\n\n# c\nk:x=y 1800000000000000\n", false, "k:x=y", 1800000000000000, 1, 2, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct store *s = new_store();
		struct statefile_stats st;
		uint64_t gen = 0;
		read_text(s, cases[i].text, cases[i].journal, &gen, &st);
		if (get(s, cases[i].key) != cases[i].value || st.loaded != cases[i].loaded ||
		    st.bad != cases[i].bad || st.torn != cases[i].torn || gen != cases[i].gen)
			t_fail(__FILE__, __LINE__, "case %zu: value %lld loaded %zu bad %zu torn %zu "
			       "gen %llu", i, (long long)get(s, cases[i].key), st.loaded, st.bad,
			       st.torn, (unsigned long long)gen);
		store_close(&s);
	}
}

/* The same text through a pipe in random chunks reads the same. */
static void test_reader_chunks(void)
{
	struct buf text;
	buf_init(&text, 0);
	for (int i = 0; i < 500; i++)
		buf_printf(&text, "cachet:r:m:u=user%d %lld\n", i, (long long)(NOW + (i + 1) * SEC));
	unsigned seed = 7;
	for (int round = 0; round < 5; round++) {
		int fds[2];
		T_CHECK(pipe(fds) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			for (size_t off = 0; off < text.len;) {
				size_t n = 1 + (size_t)rand_r(&seed) % 97;
				if (n > text.len - off)
					n = text.len - off;
				if (write(fds[1], text.p + off, n) < 0)
					_exit(1);
				off += n;
			}
			_exit(0);
		}
		close(fds[1]);
		FILE *f = fdopen(fds[0], "r");
		struct store *s = new_store();
		struct statefile_stats st;
		statefile_read(s, f, true, NULL, &st);
		fclose(f);
		T_EQ_INT(st.loaded, 500);
		T_EQ_INT(get(s, "cachet:r:m:u=user499"), NOW + 500 * SEC);
		store_close(&s);
		seed += 13;
	}
	buf_free(&text);
}

/* -- files -- */

static char dir[64];
static char path[128];

static void setup_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cachet-test-journal.XXXXXX");
	T_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/p.state", dir);
}

static void teardown_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

static bool exists(const char *suffix)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return access(p, F_OK) == 0;
}

static unsigned mode_of(const char *suffix)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0;
}

static void write_file(const char *suffix, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
}

/* A running journal, its lines written, then a "kill -9": no final snapshot. */
static void test_journal_replay_after_crash(void)
{
	setup_dir();
	struct store *s = new_store();
	uint64_t gen;
	T_EQ_INT(statefile_load(s, path, &gen), 0);
	T_EQ_INT(gen, 1);
	struct journal *j = journal_open(path, gen);
	T_CHECK(j != NULL);
	T_EQ_INT(statefile_save(s, path, gen, j), 0);
	store_memory_set_journal(s, j);
	struct bucket b = { "cachet:u:m:u=alice", 10 * SEC, 5, 1, true, false };
	struct store_call call = { .b = &b, .n = 1, .commit = true };
	for (int i = 0; i < 3; i++)
		T_EQ_INT(store_apply(s, &call), 0);
	T_EQ_INT(store_set(s, "cachet:!block:u=bob", STORE_FOREVER), 0);
	T_EQ_INT(store_set(s, "cachet:x", NOW + SEC), 0);
	bool deleted;
	T_EQ_INT(store_del(s, "cachet:x", &deleted), 0);
	journal_sync(j);
	T_EQ_INT(mode_of(".journal.1"), 0600);
	T_EQ_INT(mode_of(""), 0600);
	store_memory_set_journal(s, NULL);
	journal_close(&j);
	store_close(&s);

	s = new_store();
	T_EQ_INT(statefile_load(s, path, &gen), 0);
	T_EQ_INT(get(s, "cachet:u:m:u=alice"), NOW + 30 * SEC);
	T_EQ_INT(get(s, "cachet:!block:u=bob"), STORE_FOREVER);
	T_EQ_INT(get(s, "cachet:x"), 0);
	T_EQ_INT(gen, 2);	/* journal 1 was found: the next is 2 */
	store_close(&s);
	teardown_dir();
}

/* Killed between the rotation and the rename: old snapshot, two journals. */
static void test_crash_before_rename(void)
{
	setup_dir();
	write_file("", "# generation 3\na 1700000100000000\n");
	write_file(".journal.3", "a 1700000200000000\nb 1700000300000000\n");
	write_file(".journal.4", "a 1700000400000000\n");
	write_file(".tmp.12345", "a 1700000900000000\n");	/* the cut-short snapshot */
	struct store *s = new_store();
	uint64_t gen;
	T_EQ_INT(statefile_load(s, path, &gen), 0);
	T_EQ_INT(get(s, "a"), 1700000400000000);
	T_EQ_INT(get(s, "b"), 1700000300000000);
	T_EQ_INT(gen, 5);
	T_CHECK(!exists(".tmp.12345"));
	T_CHECK(exists(".journal.3") && exists(".journal.4"));
	/* the start-up snapshot holds them: they go */
	T_EQ_INT(statefile_save(s, path, gen, NULL), 0);
	T_CHECK(!exists(".journal.3") && !exists(".journal.4"));
	store_close(&s);
	s = new_store();
	T_EQ_INT(statefile_load(s, path, &gen), 0);
	T_EQ_INT(get(s, "a"), 1700000400000000);
	T_EQ_INT(gen, 5);
	store_close(&s);
	teardown_dir();
}

/*
 * Killed after the rename, before the old journals went: the snapshot
 * (generation 5) already holds journal 4's lines, which must not be
 * applied again, not even over a later change (a reset in journal 5).
 */
static void test_crash_after_rename(void)
{
	setup_dir();
	write_file("", "# generation 5\na 1700000400000000\n");
	write_file(".journal.4", "a 1700000400000000\nb 1700000300000000\n");
	write_file(".journal.5", "b 0\n");
	struct store *s = new_store();
	uint64_t gen;
	T_EQ_INT(statefile_load(s, path, &gen), 0);
	T_EQ_INT(get(s, "a"), 1700000400000000);
	T_EQ_INT(get(s, "b"), 0);
	T_CHECK(!exists(".journal.4"));
	T_EQ_INT(gen, 6);
	store_close(&s);
	teardown_dir();
}

/* A snapshot through a running journal: rotation, then the old file goes. */
static void test_rotation(void)
{
	setup_dir();
	struct store *s = new_store();
	uint64_t gen;
	statefile_load(s, path, &gen);
	struct journal *j = journal_open(path, gen);
	T_EQ_INT(statefile_save(s, path, gen, j), 0);
	store_memory_set_journal(s, j);
	T_EQ_INT(store_set(s, "a", NOW + SEC), 0);
	gen = journal_rotate(j);
	T_EQ_INT(gen, 2);
	T_EQ_INT(statefile_save(s, path, gen, j), 0);
	T_EQ_INT(store_set(s, "b", NOW + 2 * SEC), 0);
	journal_sync(j);
	T_CHECK(!exists(".journal.1"));
	T_CHECK(exists(".journal.2"));
	store_memory_set_journal(s, NULL);
	journal_close(&j);
	store_close(&s);
	s = new_store();
	statefile_load(s, path, &gen);
	T_EQ_INT(get(s, "a"), NOW + SEC);
	T_EQ_INT(get(s, "b"), NOW + 2 * SEC);
	store_close(&s);
	teardown_dir();
}

/* A directory that does not exist: the journal and the snapshot fail. */
static void test_unwritable(void)
{
	struct store *s = new_store();
	T_CHECK(journal_open("/nonexistent-cachet-dir/p.state", 1) == NULL);
	T_EQ_INT(statefile_save(s, "/nonexistent-cachet-dir/p.state", 1, NULL), -1);
	uint64_t gen;
	T_EQ_INT(statefile_load(s, "/nonexistent-cachet-dir/p.state", &gen), 0);
	store_close(&s);
}

int main(void)
{
	T_RUN(test_reader_table);
	T_RUN(test_reader_chunks);
	T_RUN(test_journal_replay_after_crash);
	T_RUN(test_crash_before_rename);
	T_RUN(test_crash_after_rename);
	T_RUN(test_rotation);
	T_RUN(test_unwritable);
	return t_done();
}
