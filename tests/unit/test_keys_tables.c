/*
 * Tests for cachet-keys' table editor (keys/tables.c): a SigningTable
 * line's key name replaced with everything else on it kept (the signer
 * after ':', comments, white space), a KeyTable line dropped, lines
 * appended, every other line byte for byte; the switch comment written
 * and read back; an atomic replace that keeps the file's mode.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "t.h"
#include "xalloc.h"

static void table_from(struct keys_table *t, const char *text)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->text, 0);
	buf_puts(&t->text, text);
}

static void test_edit_keeps_every_other_byte(void)
{
	static const struct {
		const char *in;
		struct keys_edit edits[2];
		size_t n;
		const char *append;
		const char *out;
	} cases[] = {
		{ "*@a.example old\n", { { 1, "new" } }, 1, NULL, "*@a.example new\n" },
		/* the signer, the comment and odd white space stay */
		{ "# head\n\n  *@a.example\t old:@a.example   # note\n*@b.example other\n",
		  { { 3, "new" } }, 1, NULL,
		  "# head\n\n  *@a.example\t new:@a.example   # note\n*@b.example other\n" },
		/* no final newline; CRLF */
		{ "x old\r\ny old", { { 1, "n1" }, { 2, "n2" } }, 2, NULL, "x n1\r\ny n2" },
		/* a dropped line, with its newline */
		{ "a a.example:s1:/k/s1\nb b.example:s:/k/s\n", { { 1, NULL } }, 1, NULL,
		  "b b.example:s:/k/s\n" },
		/* appended after a file without a final newline */
		{ "a x:y:/z", { { 0, NULL } }, 0, "# c\nn x:s:/k\n", "a x:y:/z\n# c\nn x:s:/k\n" },
		/* a line whose value is empty is left as it is */
		{ "lonely\n", { { 1, "new" } }, 1, NULL, "lonely\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct keys_table t;
		table_from(&t, cases[i].in);
		struct buf out;
		buf_init(&out, 0);
		keys_table_edit(&t, cases[i].edits, cases[i].n, cases[i].append, &out);
		if (strcmp(out.p, cases[i].out) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: got \"%s\"", i, out.p);
		buf_free(&out);
		keys_table_free(&t);
	}
}

static void test_switch_comment_round_trip(void)
{
	struct buf c;
	buf_init(&c, 0);
	const char *old[] = { "s1._domainkey.a.example", "ed1" };
	keys_switch_comment(&c, "a.example", old, 2, "s2._domainkey.a.example", 1741773600);
	T_EQ_STR(c.p, "# cachet-keys: switched a.example from s1._domainkey.a.example,ed1 to "
		      "s2._domainkey.a.example at 1741773600 (2025-03-12 10:00:00 UTC)\n");
	struct keys_table t;
	table_from(&t, "k a.example:s1:/k\n");
	buf_puts(&t.text, c.p);
	/* a later switch away from the same name wins */
	buf_puts(&t.text, "# cachet-keys: switched a.example from ed1 to e2 at 1741800000 (x)\n");
	time_t when = 0;
	T_EQ_INT(keys_switch_time(&t, "s1._domainkey.a.example", &when), 0);
	T_EQ_INT(when, 1741773600);
	T_EQ_INT(keys_switch_time(&t, "ed1", &when), 0);
	T_EQ_INT(when, 1741800000);
	T_EQ_INT(keys_switch_time(&t, "s2._domainkey.a.example", &when), -1);
	T_EQ_INT(keys_switch_time(&t, "s1", &when), -1);
	keys_table_free(&t);
	buf_free(&c);
}

static void test_replace_is_atomic_and_keeps_mode(void)
{
	char dir[] = "/tmp/test_keys_tables.XXXXXX";
	T_CHECK(mkdtemp(dir) != NULL);
	char *path = xasprintf("%s/SigningTable", dir);
	FILE *f = fopen(path, "w");
	T_CHECK(f != NULL);
	fputs("*@a.example old\n", f);
	fclose(f);
	T_CHECK(chmod(path, 0640) == 0);
	struct keys_table t;
	T_EQ_INT(keys_table_read(&t, "SigningTable", path, "test"), 0);
	T_EQ_INT(t.type, DATASET_FILE);
	T_EQ_INT(t.mode, 0640);
	T_EQ_INT(keys_table_replace(&t, "*@a.example new\n", 16, "test"), 0);
	keys_table_free(&t);
	struct stat st;
	T_CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	T_EQ_INT(keys_table_read(&t, "SigningTable", path, "test"), 0);
	T_EQ_STR(t.text.p, "*@a.example new\n");
	keys_table_free(&t);
	char *spec = xasprintf("refile:%s", path);
	T_EQ_INT(keys_table_read(&t, "SigningTable", spec, "test"), 0);
	T_EQ_INT(t.type, DATASET_REFILE);
	keys_table_free(&t);
	/* a csl: list has no file to edit */
	T_EQ_INT(keys_table_read(&t, "KeyTable", "csl:a=b:c:/d", "test"), -1);
	free(spec);
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	T_RUN(test_edit_keeps_every_other_byte);
	T_RUN(test_switch_comment_round_trip);
	T_RUN(test_replace_is_atomic_and_keeps_mode);
	return t_done();
}
