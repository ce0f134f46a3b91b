/*
 * The unit-test harness: a test is a function; T_RUN runs it and prints
 * "ok - NAME" or "not ok - NAME" (with the failed checks above it).  The
 * runner (tests/run.sh) counts those lines across every test program, so a
 * test binary only has to end with `return t_done();`.
 *
 *	static void test_parses_empty(void) { T_CHECK(parse("") == 0); }
 *	int main(void) { T_RUN(test_parses_empty); return t_done(); }
 */
#ifndef CACHET_T_H
#define CACHET_T_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

extern int t_failed_checks;

void t_run(const char *name, void (*fn)(void));
int t_done(void);
void t_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define T_RUN(fn) t_run(#fn, fn)

#define T_CHECK(cond)                                                       \
	do {                                                                \
		if (!(cond))                                                \
			t_fail(__FILE__, __LINE__, "%s", #cond);            \
	} while (0)

#define T_EQ_INT(a, b)                                                      \
	do {                                                                \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);     \
		if (t_a_ != t_b_)                                           \
			t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
			       #a, #b, t_a_, t_b_);                         \
	} while (0)

#define T_EQ_STR(a, b)                                                      \
	do {                                                                \
		const char *t_a_ = (a), *t_b_ = (b);                        \
		if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) \
			t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
			       #a, #b, t_a_ ? t_a_ : "(null)",              \
			       t_b_ ? t_b_ : "(null)");                      \
	} while (0)

#endif
