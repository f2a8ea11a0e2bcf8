/* Amortised growth of the arrays that library structs keep with a capacity beside them. */
#ifndef HOPWATCH_GROW_H
#define HOPWATCH_GROW_H

#include <stdlib.h>

#include <hopwatch/status.h>

/*
 * Makes room for one more element in *v (holding n of *cap): doubles the capacity,
 * starting at `first`. HW_ERR_NOMEM leaves *v and *cap as they were.
 */
static inline int grow_for_one(void **v, size_t n, size_t *cap, size_t elem, size_t first)
{
	if (n < *cap)
		return HW_OK;
	size_t want = *cap ? *cap * 2 : first;
	void *p = realloc(*v, want * elem);
	if (p == NULL)
		return HW_ERR_NOMEM;
	*v = p;
	*cap = want;
	return HW_OK;
}

#endif
