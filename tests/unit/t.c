/*
 * The unit-test harness: see t.h.
 */
#include "t.h"

#include <stdarg.h>

int t_failed_checks;
static int passed, failed;

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "#   %s:%d: ", file, line);
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	t_failed_checks++;
}

void t_run(const char *name, void (*fn)(void))
{
	int before = t_failed_checks;
	fn();
	if (t_failed_checks == before) {
		printf("ok - %s\n", name);
		passed++;
	} else {
		printf("not ok - %s\n", name);
		failed++;
	}
	fflush(stdout);
}

int t_done(void)
{
	printf("# %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
