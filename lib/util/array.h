/*
 * Typed growable arrays: one idiom instead of the grow-by-doubling loop
 * written out by hand wherever a list grows.
 *
 *	ARRAY(struct rule) rules = { 0 };		(a struct { v, n, cap })
 *	*ARRAY_PUSH(&rules) = r;			(heap: free(rules.v))
 *	*ARRAY_PUSH_ARENA(m->arena, &m->rcpts) = s;	(arena: freed with it)
 *
 * ARRAY_PUSH returns a pointer to a new, zeroed slot at the end (the array
 * doubles when full, starting at ARRAY_MIN_CAP); earlier pointers into the
 * array may move.  Growth cannot fail (xalloc.h).  An arena array leaves
 * its old block in the arena: fine for per-message lists of modest size.
 */
#ifndef CACHET_ARRAY_H
#define CACHET_ARRAY_H

#include <stddef.h>
#include <stdlib.h>

#include "arena.h"

#define ARRAY_MIN_CAP 8

#define ARRAY(type)                                                         \
	struct {                                                            \
		type *v;                                                    \
		size_t n, cap;                                              \
	}

/* The grown array (old contents copied, new slots zeroed); internal. */
void *array_grow_heap(void *v, size_t n, size_t *cap, size_t elem);
void *array_grow_arena(struct arena *a, void *v, size_t n, size_t *cap, size_t elem);

#define ARRAY_PUSH(arr)                                                     \
	((arr)->n == (arr)->cap                                             \
		 ? (void)((arr)->v = array_grow_heap((arr)->v, (arr)->n,    \
						     &(arr)->cap,            \
						     sizeof(*(arr)->v)))     \
		 : (void)0,                                                 \
	 &(arr)->v[(arr)->n++])

#define ARRAY_PUSH_ARENA(a, arr)                                            \
	((arr)->n == (arr)->cap                                             \
		 ? (void)((arr)->v = array_grow_arena((a), (arr)->v,        \
						      (arr)->n, &(arr)->cap, \
						      sizeof(*(arr)->v)))    \
		 : (void)0,                                                 \
	 &(arr)->v[(arr)->n++])

/* Frees a heap array's storage and empties it. */
#define ARRAY_FREE(arr)                                                     \
	do {                                                                \
		free((arr)->v);                                             \
		(arr)->v = NULL;                                            \
		(arr)->n = (arr)->cap = 0;                                  \
	} while (0)

#endif
