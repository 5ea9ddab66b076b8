/*
 * tests/unit/cache_test.c: the response cache: hits, invalidation, the
 * generation rule against stale stores, expiry and the size bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "registry/cache.h"

static void test_put_get_invalidate(void **state)
{
	struct optreg_cache *c = optreg_cache_new(16);
	struct optreg_buf v = OPTREG_BUF_INIT, m = OPTREG_BUF_INIT;

	(void)state;
	assert_false(optreg_cache_get(c, "tag:a/b/prod", &v, &m));
	optreg_cache_put(c, "tag:a/b/prod", "3", 2, "meta", 0,
			 optreg_cache_generation(c));
	assert_true(optreg_cache_get(c, "tag:a/b/prod", &v, &m));
	assert_string_equal(v.data, "3");
	assert_string_equal(m.data, "meta");
	optreg_cache_invalidate(c, "tag:a/b/prod");
	assert_false(optreg_cache_get(c, "tag:a/b/prod", NULL, NULL));

	optreg_cache_put(c, "tok:1", "", 0, "x", 0, optreg_cache_generation(c));
	optreg_cache_put(c, "tok:2", "", 0, "y", 0, optreg_cache_generation(c));
	optreg_cache_put(c, "dig:z", "z", 1, NULL, 0,
			 optreg_cache_generation(c));
	optreg_cache_invalidate_prefix(c, "tok:");
	assert_false(optreg_cache_get(c, "tok:1", NULL, NULL));
	assert_false(optreg_cache_get(c, "tok:2", NULL, NULL));
	assert_true(optreg_cache_get(c, "dig:z", NULL, NULL));

	uint64_t hits, misses;
	size_t entries;
	optreg_cache_stats(c, &hits, &misses, &entries);
	assert_int_equal(hits, 2);
	assert_int_equal(entries, 1);
	optreg_buf_release(&v);
	optreg_buf_release(&m);
	optreg_cache_free(c);
}

/* A reader that loaded a value before an invalidation must not store it. */
static void test_stale_put_is_dropped(void **state)
{
	struct optreg_cache *c = optreg_cache_new(16);

	(void)state;
	uint64_t gen = optreg_cache_generation(c);
	optreg_cache_invalidate(c, "tag:a/b/prod"); /* a tag moved meanwhile */
	optreg_cache_put(c, "tag:a/b/prod", "3", 2, NULL, 0, gen);
	assert_false(optreg_cache_get(c, "tag:a/b/prod", NULL, NULL));
	optreg_cache_free(c);
}

static void test_expiry_bound_and_disable(void **state)
{
	struct optreg_cache *c = optreg_cache_new(4);

	(void)state;
	optreg_cache_put(c, "old", "x", 1, NULL, time(NULL) - 1,
			 optreg_cache_generation(c));
	assert_false(optreg_cache_get(c, "old", NULL, NULL));

	char key[16];
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		optreg_cache_put(c, key, "x", 1, NULL, 0,
				 optreg_cache_generation(c));
	}
	uint64_t hits, misses;
	size_t entries;
	optreg_cache_stats(c, &hits, &misses, &entries);
	assert_true(entries <= 4);
	assert_true(optreg_cache_get(c, "k5", NULL, NULL));

	optreg_cache_set_enabled(c, false);
	assert_false(optreg_cache_get(c, "k5", NULL, NULL));
	optreg_cache_put(c, "k9", "x", 1, NULL, 0, optreg_cache_generation(c));
	optreg_cache_set_enabled(c, true);
	assert_false(optreg_cache_get(c, "k9", NULL, NULL));

	/* NULL means "do not cache": every call is a no-op. */
	optreg_cache_put(NULL, "k", "x", 1, NULL, 0, 0);
	assert_false(optreg_cache_get(NULL, "k", NULL, NULL));
	optreg_cache_invalidate(NULL, "k");
	optreg_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_invalidate),
		cmocka_unit_test(test_stale_put_is_dropped),
		cmocka_unit_test(test_expiry_bound_and_disable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
