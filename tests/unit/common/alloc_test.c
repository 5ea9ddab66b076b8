/*
 * tests/unit/common/alloc_test.c: OPTREG_ALLOC_GROW and optreg_size_mul.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/alloc.h"

static void test_grow_keeps_elements(void **state)
{
	int *v = NULL;
	size_t nr = 0, alloc = 0, grows = 0, last = 0;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		OPTREG_ALLOC_GROW(v, nr + 1, alloc);
		if (alloc != last)
			grows++, last = alloc;
		assert_true(alloc >= nr + 1);
		v[nr++] = i;
	}
	for (int i = 0; i < 100000; i++)
		assert_int_equal(v[i], i);
	/* Growth is geometric: a handful of reallocations, not 100,000. */
	assert_true(grows < 40);
	free(v);
}

static void test_grow_to_a_larger_count_at_once(void **state)
{
	char *v = NULL;
	size_t alloc = 0;

	(void)state;
	OPTREG_ALLOC_GROW(v, 1000, alloc);
	assert_true(alloc >= 1000);
	memset(v, 'x', 1000);
	size_t before = alloc;
	OPTREG_ALLOC_GROW(v, 10, alloc); /* enough room already */
	assert_int_equal(alloc, before);
	free(v);
}

static void test_size_mul(void **state)
{
	(void)state;
	assert_int_equal(optreg_size_mul(0, SIZE_MAX), 0);
	assert_int_equal(optreg_size_mul(SIZE_MAX, 1), SIZE_MAX);
	assert_int_equal(optreg_size_mul(1 << 20, 1 << 10), 1 << 30);
}

/* An overflowing multiply aborts rather than wrapping. */
static void test_size_mul_overflow_aborts(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Keep the expected message out of the test output. */
		if (!freopen("/dev/null", "w", stderr))
			_exit(1);
		optreg_size_mul(SIZE_MAX / 2 + 1, 2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_keeps_elements),
		cmocka_unit_test(test_grow_to_a_larger_count_at_once),
		cmocka_unit_test(test_size_mul),
		cmocka_unit_test(test_size_mul_overflow_aborts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
