/*
 * Allocation that cannot fail.  Each function either returns memory or logs
 * one line and aborts: running out of memory in a mail filter is not a
 * condition any caller can handle better, and pretending otherwise puts
 * untested error paths everywhere.  Everything returned is freed with free().
 */
#ifndef CACHET_XALLOC_H
#define CACHET_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

#include "compiler.h"

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Multiplies count * size with an overflow check, then reallocates. */
void *xreallocarray(void *p, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A new string formatted like printf. */
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTF(1, 0);

#endif
