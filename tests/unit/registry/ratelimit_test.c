/*
 * tests/unit/registry/ratelimit_test.c: failure budgets (registry/
 * ratelimit.c): burst and refill, the wait reported, the cheaper cost of
 * an address, the bound on memory under many keys, and exact accounting
 * under threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "registry/ratelimit.h"

static void test_burst_then_wait(void **state)
{
	struct optreg_ratelimit *rl = optreg_ratelimit_new(64, 3, 1);

	(void)state;
	assert_true(optreg_ratelimit_wait(rl, "t:a", 0) == 0);
	assert_true(optreg_ratelimit_spend(rl, "t:a", 1, 0) == 0);
	assert_true(optreg_ratelimit_spend(rl, "t:a", 1, 0) == 0);
	/* The third failure spends the budget: one second to the next. */
	assert_true(optreg_ratelimit_spend(rl, "t:a", 1, 0) == 1);
	assert_true(optreg_ratelimit_wait(rl, "t:a", 0) == 1);
	assert_true(optreg_ratelimit_wait(rl, "t:a", 0.25) == 0.75);
	assert_true(optreg_ratelimit_wait(rl, "t:a", 1) == 0);
	/* Spending past empty does not dig a deeper hole. */
	optreg_ratelimit_spend(rl, "t:a", 1, 1);
	assert_true(optreg_ratelimit_spend(rl, "t:a", 1, 1) == 1);
	/* Another key has its own budget. */
	assert_true(optreg_ratelimit_wait(rl, "t:b", 1) == 0);
	/* Refilled to the burst, no further. */
	assert_true(optreg_ratelimit_wait(rl, "t:a", 1000) == 0);
	for (int i = 0; i < 2; i++)
		assert_true(optreg_ratelimit_spend(rl, "t:a", 1, 1000) == 0);
	assert_true(optreg_ratelimit_spend(rl, "t:a", 1, 1000) > 0);
	optreg_ratelimit_free(rl);
	optreg_ratelimit_free(NULL);
	/* No table, no limit. */
	assert_true(optreg_ratelimit_spend(NULL, "t:a", 1, 0) == 0);
	assert_true(optreg_ratelimit_wait(NULL, "t:a", 0) == 0);
}

static void test_cost(void **state)
{
	struct optreg_ratelimit *rl = optreg_ratelimit_new(64, 2, 1);
	int n = 0;

	(void)state;
	/* At a fifth of the cost, a budget of 2 takes 6 failures to drop
	 * below one whole failure (2 - 6 * 0.2 = 0.8). */
	while (optreg_ratelimit_wait(rl, "a:10.0.0.1", 0) == 0 && n < 100) {
		optreg_ratelimit_spend(rl, "a:10.0.0.1", 0.2, 0);
		n++;
	}
	assert_int_equal(n, 6);
	optreg_ratelimit_free(rl);
}

static void test_bounded(void **state)
{
	struct optreg_ratelimit *rl = optreg_ratelimit_new(100, 5, 1);
	char key[64];

	(void)state;
	assert_int_equal(optreg_ratelimit_slots(rl), 104);
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof(key), "a:10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		optreg_ratelimit_spend(rl, key, 1, i * 1e-6);
	}
	assert_true(optreg_ratelimit_used(rl) <= 104);
	assert_true(optreg_ratelimit_used(rl) > 90);
	/* A key asked about but never spent is not remembered. */
	optreg_ratelimit_free(rl);
	rl = optreg_ratelimit_new(8, 5, 1);
	assert_true(optreg_ratelimit_wait(rl, "t:x", 0) == 0);
	assert_int_equal(optreg_ratelimit_used(rl), 0);
	optreg_ratelimit_free(rl);
}

/* A key whose budget is spent outlives keys whose budget is full again,
 * even ones seen since: with one set of 8 slots, 7 keys that failed a
 * little at t=50 (full again by t=100) are forgotten before "hot", which
 * failed at t=0 and is still waiting. */
static void test_evicts_full_first(void **state)
{
	struct optreg_ratelimit *rl = optreg_ratelimit_new(8, 2, 0.001);
	char key[32];

	(void)state;
	optreg_ratelimit_spend(rl, "t:hot", 1, 0);
	assert_true(optreg_ratelimit_spend(rl, "t:hot", 1, 0) > 0);
	for (int i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "t:old%d", i);
		optreg_ratelimit_spend(rl, key, 0.0001, 50);
	}
	assert_int_equal(optreg_ratelimit_used(rl), 8);
	for (int i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "t:new%d", i);
		optreg_ratelimit_spend(rl, key, 1, 100);
	}
	assert_int_equal(optreg_ratelimit_used(rl), 8);
	assert_true(optreg_ratelimit_wait(rl, "t:hot", 100) > 0);
	/* With every slot waiting, the one seen longest ago goes. */
	optreg_ratelimit_spend(rl, "t:newest", 1, 101);
	assert_true(optreg_ratelimit_wait(rl, "t:hot", 101) == 0);
	optreg_ratelimit_free(rl);
}

struct worker {
	struct optreg_ratelimit *rl;
	int id;
};

static void *spend_many(void *arg)
{
	struct worker *w = arg;
	char key[32];

	for (int i = 0; i < 100; i++) {
		optreg_ratelimit_spend(w->rl, "t:hot", 1, 0);
		snprintf(key, sizeof(key), "t:%d.%d", w->id, i);
		optreg_ratelimit_spend(w->rl, key, 1, 0);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct optreg_ratelimit *rl = optreg_ratelimit_new(16384, 1000, 1e-9);
	pthread_t t[8];
	struct worker w[8];

	(void)state;
	for (int i = 0; i < 8; i++) {
		w[i].rl = rl;
		w[i].id = i;
		assert_int_equal(pthread_create(&t[i], NULL, spend_many, &w[i]),
				 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	/* 800 of 1000 spent, exactly: 199 more leave one, the 200th none. */
	for (int i = 0; i < 199; i++)
		assert_true(optreg_ratelimit_spend(rl, "t:hot", 1, 0) == 0);
	assert_true(optreg_ratelimit_spend(rl, "t:hot", 1, 0) > 0);
	assert_int_equal(optreg_ratelimit_used(rl), 801);
	optreg_ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_wait),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_evicts_full_first),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
