/*
 * The production check table and the run order (see check.h).
 *
 * The order is a stable topological sort of the table: each check runs
 * after what it `needs` and what it runs `after`, and otherwise keeps its
 * place in the table, so the table reads as the usual order of things.
 * Limits: CHECK_MAX checks in a table.
 */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "spf.h"
#include "xalloc.h"

#define CHECK_MAX 64

const struct check *const check_table[] = {
	&check_dkim_verify,
	&check_spf,
	&check_dmarc,
	&check_dkim_sign,
};
const size_t check_table_len = ARRAY_LEN(check_table);

ptrdiff_t check_table_find(const struct check *const *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i]->name, name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

/* Names unique and non-empty, every `needs` present. */
static bool table_valid(const struct check *const *t, size_t n, struct buf *err)
{
	if (n > CHECK_MAX) {
		buf_printf(err, "more than %d checks", CHECK_MAX);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct check *c = t[i];
		if (c->name == NULL || c->name[0] == '\0') {
			buf_printf(err, "check #%zu has no name", i + 1);
			return false;
		}
		if (check_table_find(t, i, c->name) >= 0) {
			buf_printf(err, "check %s is listed twice", c->name);
			return false;
		}
		for (const char *const *d = c->needs; d != NULL && *d != NULL; d++)
			if (check_table_find(t, n, *d) < 0) {
				buf_printf(err, "check %s needs %s, which does not exist", c->name, *d);
				return false;
			}
	}
	return true;
}

/* Does check i have to wait for check j (needs or after)? */
static bool waits_for(const struct check *const *t, size_t i, size_t j)
{
	const char *const *lists[] = { t[i]->needs, t[i]->after };
	for (size_t k = 0; k < ARRAY_LEN(lists); k++)
		for (const char *const *d = lists[k]; d != NULL && *d != NULL; d++)
			if (strcmp(*d, t[j]->name) == 0)
				return true;
	return false;
}

/* Is every check that i waits for already placed? */
static bool ready(const struct check *const *t, size_t n, size_t i, const bool *placed)
{
	for (size_t j = 0; j < n; j++)
		if (j != i && !placed[j] && waits_for(t, i, j))
			return false;
	return true;
}

int check_table_order(const struct check *const *t, size_t n, size_t *order_r,
		      char **error_r)
{
	struct buf err;
	buf_init(&err, 1024);
	bool placed[CHECK_MAX] = { false };
	size_t done = 0;
	if (!table_valid(t, n, &err))
		goto fail;
	/* each round places the first check in table order whose inputs are placed */
	while (done < n) {
		size_t i = 0;
		while (i < n && (placed[i] || !ready(t, n, i, placed)))
			i++;
		if (i == n) {
			buf_puts(&err, "the checks' needs and after form a cycle:");
			for (size_t j = 0; j < n; j++)
				if (!placed[j])
					buf_printf(&err, " %s", t[j]->name);
			goto fail;
		}
		placed[i] = true;
		order_r[done++] = i;
	}
	buf_free(&err);
	return 0;
fail:
	*error_r = buf_steal(&err);
	return -1;
}
