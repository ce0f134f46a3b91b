/*
 * Arena allocator: a list of chunks, bump allocation inside the newest one.
 * Requests larger than a quarter chunk get a chunk of their own so a big
 * header does not waste the rest of a shared chunk.
 */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define CHUNK_SIZE 8192
#define ALIGN (_Alignof(max_align_t))

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
	size_t total;
};

struct arena *arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void arena_free(struct arena **ap)
{
	struct arena *a = *ap;
	if (a == NULL)
		return;
	struct chunk *c = a->head;
	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
	*ap = NULL;
}

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);
	c->size = size;
	c->used = 0;
	c->next = NULL;
	return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n > SIZE_MAX - ALIGN)
		n = SIZE_MAX - ALIGN; /* xmalloc below aborts */
	size_t rounded = (n + ALIGN - 1) / ALIGN * ALIGN;
	if (rounded == 0)
		rounded = ALIGN;
	struct chunk *c = a->head;
	if (rounded > CHUNK_SIZE / 4) {
		c = chunk_new(rounded);
		if (a->head != NULL) {
			/* keep the current bump chunk at the head */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			a->head = c;
		}
	} else if (c == NULL || c->size - c->used < rounded) {
		c = chunk_new(CHUNK_SIZE);
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += rounded;
	a->total += rounded;
	memset(p, 0, rounded);
	return p;
}

void *arena_alloc_array(struct arena *a, size_t count, size_t size)
{
	if (size != 0 && count > SIZE_MAX / size)
		count = SIZE_MAX / size + 1; /* forces the abort in xmalloc */
	return arena_alloc(a, count * size);
}

char *arena_memdup(struct arena *a, const void *p, size_t n)
{
	char *s = arena_alloc(a, n + 1);
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_memdup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	if ((size_t)n < sizeof(small))
		return arena_memdup(a, small, (size_t)n);
	char *s = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

size_t arena_used(const struct arena *a)
{
	return a->total;
}
