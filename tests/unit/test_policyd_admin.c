/*
 * Tests for policyd/admin.c and the single-key store calls under it: the
 * list table (use computed back from TATs, blocks, a key whose rule is
 * gone), reset, block and unblock, every usage error with its exit code,
 * and a store that cannot answer (Redis down).
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "buf.h"
#include "compiler.h"
#include "pconf.h"
#include "ratelimit.h"
#include "store.h"
#include "t.h"

#define SEC 1000000LL

static int64_t fake_now;

static int64_t fake_clock(void)
{
	return fake_now;
}

struct fixture {
	struct pconf *conf;
	struct store *store;
	struct buf out;
};

static void setup(struct fixture *f, const char *text)
{
	char *error = NULL;
	f->conf = pconf_parse("t.conf", text, strlen(text), &error);
	ASSERT(f->conf != NULL);
	f->store = store_open(f->conf->store, 100, 1000, NULL, &error);
	ASSERT(f->store != NULL);
	if (store_is_memory(f->store))
		store_set_clock(f->store, fake_clock);
	fake_now = 1700000000 * SEC;
	buf_init(&f->out, 0);
}

static void teardown(struct fixture *f)
{
	buf_free(&f->out);
	store_close(&f->store);
	pconf_free(&f->conf);
}

static int run(struct fixture *f, const char *line)
{
	buf_reset(&f->out);
	return admin_exec(f->store, f->conf, line, &f->out);
}

#define RULES "Limit u key=sasl_username messages=10/100s recipients=50/1h action=defer\n"

static void test_list_shows_use_and_blocks(void)
{
	struct fixture f;
	setup(&f, RULES);
	/* 3 of 10 messages used: TAT = now + 3 * 10 s */
	T_EQ_INT(store_set(f.store, "cachet:u:m:u=alice", fake_now + 30 * SEC), 0);
	T_EQ_INT(store_set(f.store, "cachet:gone:m:u=bob", fake_now + SEC), 0);
	T_EQ_INT(store_set(f.store, "cachet:u:m:u=old", fake_now - SEC), 0);	/* expired */
	T_EQ_INT(run(&f, "block carol"), ADMIN_OK);
	T_EQ_INT(run(&f, "list"), ADMIN_OK);
	T_CHECK(strncmp(f.out.p, "KEY ", 4) == 0);
	T_CHECK(strstr(f.out.p, "cachet:u:m:u=alice") != NULL);
	T_CHECK(strstr(f.out.p, " 3/10 messages\n") != NULL);
	T_CHECK(strstr(f.out.p, "cachet:gone:m:u=bob") != NULL);
	T_CHECK(strstr(f.out.p, " ?\n") != NULL);
	T_CHECK(strstr(f.out.p, RATELIMIT_BLOCK_PREFIX "carol") != NULL);
	T_CHECK(strstr(f.out.p, "BLOCKED") != NULL);
	T_CHECK(strstr(f.out.p, "u=old") == NULL);
	teardown(&f);
}

static void test_reset_block_unblock(void)
{
	struct fixture f;
	int64_t v = 0;
	setup(&f, RULES);
	T_EQ_INT(store_set(f.store, "cachet:u:m:u=alice", fake_now + 30 * SEC), 0);
	T_EQ_INT(run(&f, "reset cachet:u:m:u=alice"), ADMIN_OK);
	T_EQ_INT(store_get(f.store, "cachet:u:m:u=alice", &v), 0);
	T_EQ_INT(v, 0);
	T_EQ_INT(run(&f, "reset cachet:u:m:u=alice"), ADMIN_FAIL);
	T_EQ_STR(f.out.p, "error: no such key: cachet:u:m:u=alice\n");
	T_EQ_INT(run(&f, "block Alice"), ADMIN_OK);
	T_EQ_STR(f.out.p, "blocked Alice\n");
	T_EQ_INT(store_get(f.store, RATELIMIT_BLOCK_PREFIX "alice", &v), 0);
	T_CHECK(v == STORE_FOREVER);
	T_EQ_INT(run(&f, "unblock alice"), ADMIN_OK);
	T_EQ_INT(run(&f, "unblock alice"), ADMIN_FAIL);
	T_EQ_STR(f.out.p, "error: alice is not blocked\n");
	teardown(&f);
}

static void test_unblock_refills_block_rule_counters(void)
{
	struct fixture f;
	int64_t v = 0;
	setup(&f, "Limit b key=sasl_username messages=1/1h action=reject block=yes\n"
		  "Limit k key=sasl_username messages=1/1h action=defer\n");
	T_EQ_INT(store_set(f.store, "cachet:b:m:u=alice", fake_now + 3600 * SEC), 0);
	T_EQ_INT(store_set(f.store, "cachet:k:m:u=alice", fake_now + 3600 * SEC), 0);
	T_EQ_INT(run(&f, "block alice"), ADMIN_OK);
	T_EQ_INT(run(&f, "unblock alice"), ADMIN_OK);
	T_EQ_INT(store_get(f.store, "cachet:b:m:u=alice", &v), 0);
	T_EQ_INT(v, 0);
	T_EQ_INT(store_get(f.store, "cachet:k:m:u=alice", &v), 0);	/* not a block rule */
	T_CHECK(v > 0);
	teardown(&f);
}

static void test_bad_commands(void)
{
	static const struct {
		const char *line;
		int rc;
		const char *out;
	} cases[] = {
		{ "", ADMIN_USAGE, "error: unknown command (expected list, reset KEY, block USER "
				   "or unblock USER)\n" },
		{ "frobnicate", ADMIN_USAGE, "error: unknown command (expected list, reset KEY, "
					     "block USER or unblock USER)\n" },
		{ "list all", ADMIN_USAGE, "error: list: expected no argument\n" },
		{ "block", ADMIN_USAGE, "error: block: expected one argument (one word)\n" },
		{ "unblock a b", ADMIN_USAGE, "error: unblock: expected one argument (one word)\n" },
		{ "reset", ADMIN_USAGE, "error: reset: expected one argument (one word)\n" },
		{ "reset alice", ADMIN_USAGE, "error: reset: expected a key as shown by list "
					      "(cachet:...), not \"alice\"\n" },
		{ "block \x01", ADMIN_USAGE, "error: block: expected one argument (one word)\n" },
	};
	struct fixture f;
	setup(&f, RULES);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		T_EQ_INT(run(&f, cases[i].line), cases[i].rc);
		T_EQ_STR(f.out.p, cases[i].out);
	}
	teardown(&f);
}

static void test_store_down_fails(void)
{
	static const char *const lines[] = { "list", "block alice", "unblock alice",
					     "reset cachet:u:m:u=alice" };
	struct fixture f;
	/* port 1 on loopback: nothing listens */
	setup(&f, "RateLimitStore redis://127.0.0.1:1/0\n" RULES);
	for (size_t i = 0; i < ARRAY_LEN(lines); i++) {
		T_EQ_INT(run(&f, lines[i]), ADMIN_FAIL);
		T_EQ_STR(f.out.p, "error: the rate-limit store cannot answer\n");
	}
	teardown(&f);
}

/* The AdminSocket's framing: what is taken, and the answer. */
static void test_socket_input(void)
{
	static const struct {
		const char *in;
		size_t took;	/* 0: wait for more */
		const char *out;
	} cases[] = {
		{ "list", 0, "" },
		{ "block bob\n", 10, "0\nblocked bob\n" },
		{ "block carol\r\nlist\n", 13, "0\nblocked carol\n" },
		{ "unblock nobody\n", 15, "1\nerror: nobody is not blocked\n" },
		{ "\n", 1, "2\nerror: unknown command (expected list, reset KEY, block USER or "
			  "unblock USER)\n" },
	};
	struct fixture f;
	setup(&f, RULES);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char line[ADMIN_MAX_LINE + 1];
		int rc = -1;
		buf_reset(&f.out);
		size_t took = admin_socket_input(f.store, f.conf, cases[i].in, strlen(cases[i].in),
						 &f.out, &rc, line);
		if (took != cases[i].took || strcmp(f.out.p, cases[i].out) != 0)
			t_fail(__FILE__, __LINE__, "case %zu: took %zu, out \"%s\"", i, took, f.out.p);
	}
	/* too long without a line end: refused, all taken */
	char big[ADMIN_MAX_LINE + 2];
	memset(big, 'x', sizeof(big));
	char line[ADMIN_MAX_LINE + 1];
	int rc;
	buf_reset(&f.out);
	T_EQ_INT(admin_socket_input(f.store, f.conf, big, sizeof(big), &f.out, &rc, line), sizeof(big));
	T_EQ_STR(f.out.p, "2\nerror: command line too long\n");
	teardown(&f);
	/* Redis: the daemon's socket refuses, the command line should be used */
	setup(&f, "RateLimitStore redis://127.0.0.1:1/0\n" RULES);
	buf_reset(&f.out);
	T_EQ_INT(admin_socket_input(f.store, f.conf, "list\n", 5, &f.out, &rc, line), 5);
	T_EQ_INT(rc, ADMIN_FAIL);
	T_CHECK(strncmp(f.out.p, "1\nerror: RateLimitStore is redis://", 35) == 0);
	teardown(&f);
}

int main(void)
{
	T_RUN(test_socket_input);
	T_RUN(test_list_shows_use_and_blocks);
	T_RUN(test_reset_block_unblock);
	T_RUN(test_unblock_refills_block_rule_counters);
	T_RUN(test_bad_commands);
	T_RUN(test_store_down_fails);
	return t_done();
}
