/* Amortised growth of the arrays that library structs keep with a capacity beside them. */
#ifndef HOPWATCH_GROW_H
#define HOPWATCH_GROW_H

#include <stdbool.h>
#include <stdint.h>
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

/*
 * The run model's arrays (run.h) carry only a count, no capacity, so the capacity is
 * implied by the count: 0 for an empty array, else the next power of two >= count (at
 * least 4). An append grows the array exactly when the count reaches such a boundary,
 * which keeps appends amortised O(1). This holds as long as every array is grown through
 * these helpers and every decoder allocates implied_cap (shrinking a count by hand is
 * harmless: the implied capacity can only be smaller than the real one).
 */
static inline bool implied_full(size_t n)
{
	return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

/* The capacity implied for n elements. */
static inline size_t implied_cap(size_t n)
{
	if (n == 0)
		return 0;
	size_t cap = 4;
	while (cap < n)
		cap *= 2;
	return cap;
}

/* Reallocates an array of n elements (implied_full(n)) to the next implied capacity;
 * NULL on failure, leaving the array as it was. */
static inline void *implied_grow(void *array, size_t n, size_t size)
{
	size_t cap = n == 0 ? 4 : n * 2;

	if (cap > SIZE_MAX / size)
		return NULL;
	return realloc(array, cap * size);
}

#endif
