/*
 * tests/unit/common/clock_test.c: the RFC 3339 UTC formatters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/clock.h"

static void test_format_ms(void **state)
{
	char out[OPTREG_CLOCK_TS_SIZE];
	struct timespec t = {1795428000, 123456789};

	(void)state;
	optreg_clock_format_ms(out, &t);
	assert_string_equal(out, "2026-11-23T10:00:00.123Z");
	t.tv_sec = 951782400 + 86399; /* a leap day's last second */
	t.tv_nsec = 999999999;	      /* truncated, never rounded up */
	optreg_clock_format_ms(out, &t);
	assert_string_equal(out, "2000-02-29T23:59:59.999Z");
	t.tv_sec = 0;
	t.tv_nsec = 0;
	optreg_clock_format_ms(out, &t);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	assert_int_equal(strlen(out), OPTREG_CLOCK_MS_LEN);
}

static void test_format_s(void **state)
{
	char out[OPTREG_CLOCK_TS_SIZE];

	(void)state;
	optreg_clock_format_s(out, 1795428000 + 59);
	assert_string_equal(out, "2026-11-23T10:00:59Z");
	assert_int_equal(strlen(out), OPTREG_CLOCK_S_LEN);
}

/* An instant past year 9999 keeps the fixed width: it becomes the epoch. */
static void test_out_of_range(void **state)
{
	char out[OPTREG_CLOCK_TS_SIZE];
	struct timespec t = {(time_t)1 << 40, -5};

	(void)state;
	optreg_clock_format_ms(out, &t);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	optreg_clock_format_s(out, (time_t)1 << 40);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
}

static void test_now(void **state)
{
	char ms[OPTREG_CLOCK_TS_SIZE], s[OPTREG_CLOCK_TS_SIZE];
	double t0, t1;

	(void)state;
	optreg_clock_now_ms(ms);
	optreg_clock_now_s(s);
	assert_int_equal(strlen(ms), OPTREG_CLOCK_MS_LEN);
	assert_int_equal(strlen(s), OPTREG_CLOCK_S_LEN);
	assert_int_equal(ms[4], '-');
	assert_int_equal(ms[10], 'T');
	assert_int_equal(ms[19], '.');
	assert_int_equal(ms[23], 'Z');
	assert_int_equal(s[19], 'Z');
	assert_true(strncmp(ms, "2020", 4) > 0);
	t0 = optreg_clock_monotonic();
	t1 = optreg_clock_monotonic();
	assert_true(t1 >= t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_ms),
		cmocka_unit_test(test_format_s),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
