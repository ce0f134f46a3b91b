/*
 * Compiler attributes used across cachet, spelled once.
 */
#ifndef CACHET_COMPILER_H
#define CACHET_COMPILER_H

#define PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))

/* A broken invariant is a bug: log it and abort. */
#define ASSERT(cond)                                                        \
	do {                                                                \
		if (!(cond))                                                \
			assert_fail(#cond, __FILE__, __LINE__);             \
	} while (0)

NORETURN void assert_fail(const char *cond, const char *file, int line);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
