/*
 * The production check table and its validation.  The order of the table is
 * the order hooks run in; a check that reads another's results lists it in
 * `needs`, and start-up refuses a table where it comes later (DMARC needs
 * SPF and DKIM; spam needs all authentication results; signing runs last).
 *
 * The checks arrive with the issues that bring them: DKIM, SPF and DMARC
 * now; ARC, AV and spam later.
 */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dkim_checks.h"
#include "dmarc.h"
#include "spf.h"
#include "runtime.h"

const struct check *const check_table[] = {
	&check_dkim_verify,
	&check_spf,
	&check_dmarc,
	/* signing runs last, after every other header change */
	&check_dkim_sign,
};
const size_t check_table_len = ARRAY_LEN(check_table);

void *check_data(const struct msg *m, const struct check *ck)
{
	const struct runtime *rt = m->conn->rt;
	for (size_t i = 0; i < rt->n_checks; i++)
		if (rt->checks[i] == ck)
			return rt->check_data[i];
	return NULL;
}

static ptrdiff_t find(const struct check *const *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i]->name, name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

int check_table_validate(const struct check *const *t, size_t n, char **error_r)
{
	struct buf err;
	buf_init(&err, 1024);
	for (size_t i = 0; i < n && err.len == 0; i++) {
		const struct check *c = t[i];
		if (c->name == NULL || c->name[0] == '\0') {
			buf_printf(&err, "check #%zu has no name", i + 1);
			break;
		}
		if (find(t, i, c->name) >= 0) {
			buf_printf(&err, "check %s is listed twice", c->name);
			break;
		}
		for (const char *const *d = c->needs; d != NULL && *d != NULL; d++) {
			ptrdiff_t at = find(t, n, *d);
			if (at < 0)
				buf_printf(&err, "check %s needs %s, which does not exist", c->name, *d);
			else if ((size_t)at > i)
				buf_printf(&err, "check %s needs %s, which runs after it", c->name, *d);
			if (err.len > 0)
				break;
		}
	}
	if (err.len == 0) {
		buf_free(&err);
		return 0;
	}
	*error_r = buf_steal(&err);
	return -1;
}
