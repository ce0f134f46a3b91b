/*
 * Growth of the typed arrays of array.h: doubling, with overflow checks.
 */
#include "array.h"

#include <stdint.h>
#include <string.h>

#include "compiler.h"
#include "xalloc.h"

static size_t next_cap(size_t cap, size_t elem)
{
	size_t next = cap == 0 ? ARRAY_MIN_CAP : cap * 2;
	ASSERT(next > cap && next <= SIZE_MAX / elem);
	return next;
}

void *array_grow_heap(void *v, size_t n, size_t *cap, size_t elem)
{
	size_t next = next_cap(*cap, elem);
	char *p = xreallocarray(v, next, elem);
	memset(p + n * elem, 0, (next - n) * elem);
	*cap = next;
	return p;
}

void *array_grow_arena(struct arena *a, void *v, size_t n, size_t *cap, size_t elem)
{
	size_t next = next_cap(*cap, elem);
	void *p = arena_alloc_array(a, next, elem);	/* zeroed */
	if (n > 0)
		memcpy(p, v, n * elem);
	*cap = next;
	return p;
}
