/*
 * common/alloc.h: growing arrays without scattered realloc arithmetic.
 *
 * Modelled on git's alloc.h. An array is three things: a pointer, the
 * number of elements in use and the number allocated. OPTREG_ALLOC_GROW
 * makes room for `nr` elements, growing by half again (plus 16) so that
 * appending one element at a time stays linear, and checks the byte count
 * for overflow. Allocation failure aborts (optreg_xrealloc), as everywhere.
 */
#ifndef OPTREG_ALLOC_H
#define OPTREG_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* a * b, or abort with a message when it does not fit in a size_t. */
size_t optreg_size_mul(size_t a, size_t b);

/* The next capacity after `x`. */
#define OPTREG_ALLOC_NR(x) (((x) + 16) * 3 / 2)

/*
 * Ensures `ptr` has room for at least `nr` elements; `alloc` (an lvalue)
 * holds the current capacity and is updated. Existing elements are kept.
 * `ptr` and `alloc` are evaluated more than once.
 */
#define OPTREG_ALLOC_GROW(ptr, nr, alloc)                                      \
	do {                                                                   \
		if ((size_t)(nr) > (size_t)(alloc)) {                          \
			size_t optreg_grow_ =                                  \
				OPTREG_ALLOC_NR((size_t)(alloc));              \
			if (optreg_grow_ < (size_t)(nr))                       \
				optreg_grow_ = (size_t)(nr);                   \
			(ptr) = optreg_xrealloc(                               \
				(ptr), optreg_size_mul(sizeof(*(ptr)),         \
						       optreg_grow_));         \
			(alloc) = optreg_grow_;                                \
		}                                                              \
	} while (0)

#endif
