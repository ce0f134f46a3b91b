/*
 * Arenas: memory freed all at once at the end of a lifetime.  cachet keeps
 * one per connection and one per message; per-message state is allocated
 * from the message's arena and disappears with it, on every path (end of
 * message, abort, close).  Allocation cannot fail (see xalloc.h); memory is
 * zeroed and aligned for any type.
 */
#ifndef CACHET_ARENA_H
#define CACHET_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include "compiler.h"

struct arena;

/* Free with arena_free(). */
struct arena *arena_new(void);
/* Frees every allocation made from *a and sets *a to NULL. */
void arena_free(struct arena **a);

void *arena_alloc(struct arena *a, size_t n);
void *arena_alloc_array(struct arena *a, size_t count, size_t size);
char *arena_strdup(struct arena *a, const char *s);
/* Copies n bytes (which may include NULs) and adds a terminating NUL. */
char *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) PRINTF(2, 3);
/* Bytes handed out so far (for limits and tests). */
size_t arena_used(const struct arena *a);

#endif
