/*
 * tests/fuzz/fuzz.h: checks shared by the fuzz targets.
 *
 * A fuzz target finds memory errors through the sanitizers on its own; these
 * helpers add the contracts of validator/doc.h and validator/jcs.h that no
 * sanitizer can see, and abort() with a message when one is broken, so that
 * libFuzzer keeps the input as a crash.
 */
#ifndef OPTREG_FUZZ_H
#define OPTREG_FUZZ_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/jcs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with "fuzz: <message>" unless `cond` holds. */
#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz: check failed: %s: ", #cond);    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * The result contract of every fallible call here: 0, or a negative
 * OPTREG_E* code of common/errcodes.h's table with at least one error
 * appended to `errs` since it held `before` errors.
 */
static inline void fuzz_check_result(const char *what, int rc,
				     const struct optreg_errors *errs,
				     size_t before)
{
	FUZZ_CHECK(rc == 0 || (rc < 0 &&
			       strcmp(optreg_code_name(rc), "unknown") != 0),
		   "%s returned %d", what, rc);
	FUZZ_CHECK(rc == 0 || errs->len > before,
		   "%s returned %d (%s) without an error", what, rc,
		   optreg_code_name(rc));
}

/* Loaders make every number a json_real (validator/doc.h). */
static inline void fuzz_check_reals(const json_t *v)
{
	void *it;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		for (it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it))
			fuzz_check_reals(json_object_iter_value(it));
		break;
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(v); i++)
			fuzz_check_reals(json_array_get(v, i));
		break;
	default:
		FUZZ_CHECK(!json_is_integer(v),
			   "a loader produced a json_integer "
			   "(%" JSON_INTEGER_FORMAT ")",
			   json_integer_value(v));
		break;
	}
}

/*
 * Canonical bytes must be a fixed point: canonicalizing them again succeeds
 * and gives the same bytes. `from` names where they came from.
 */
static inline void fuzz_check_fixed_point(const char *from,
					  const struct optreg_buf *canon)
{
	struct optreg_buf again = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc;

	rc = optreg_jcs_canonicalize(canon->data, canon->len, &again, &errs);
	FUZZ_CHECK(rc == 0,
		   "canonical form from %s is refused by "
		   "optreg_jcs_canonicalize (%s: %s): %.200s",
		   from, optreg_code_name(rc),
		   errs.len ? errs.items[0].message : "no error", canon->data);
	FUZZ_CHECK(again.len == canon->len &&
			   memcmp(again.data, canon->data, canon->len) == 0,
		   "canonical form from %s is not a fixed point:\n"
		   "first:  %.200s\nsecond: %.200s",
		   from, canon->data, again.data);
	optreg_buf_release(&again);
	optreg_errors_release(&errs);
}

/* Whether s is n lowercase hex digits and ends there. */
static inline bool fuzz_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

#endif
