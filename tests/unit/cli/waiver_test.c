/*
 * tests/unit/cli/waiver_test.c: `waiver grant --expires` (cli/waiver.c):
 * durations become RFC 3339 UTC times, RFC 3339 times pass through for
 * the registry to check, anything else is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static void test_expiry(void **state)
{
	const time_t now = 1764756000; /* 2025-12-03T10:00:00Z */
	char out[64];

	(void)state;
	assert_int_equal(cli_waiver_expiry("30d", now, out, sizeof(out)), 0);
	assert_string_equal(out, "2026-01-02T10:00:00Z");
	assert_int_equal(cli_waiver_expiry("12h", now, out, sizeof(out)), 0);
	assert_string_equal(out, "2025-12-03T22:00:00Z");
	assert_int_equal(cli_waiver_expiry("90m", now, out, sizeof(out)), 0);
	assert_string_equal(out, "2025-12-03T11:30:00Z");
	/* 90 days is the limit in every unit. */
	assert_int_equal(cli_waiver_expiry("90d", now, out, sizeof(out)), 0);
	assert_string_equal(out, "2026-03-03T10:00:00Z");
	assert_int_equal(cli_waiver_expiry("2160h", now, out, sizeof(out)), 0);
	assert_string_equal(out, "2026-03-03T10:00:00Z");
	assert_int_equal(cli_waiver_expiry("129600m", now, out, sizeof(out)),
			 0);
	assert_int_equal(cli_waiver_expiry("2026-01-31T00:00:00Z", now, out,
					   sizeof(out)),
			 0);
	assert_string_equal(out, "2026-01-31T00:00:00Z");
	assert_int_equal(cli_waiver_expiry("2026-01-31T00:00:00.5+02:00", now,
					   out, sizeof(out)),
			 0);
	assert_string_equal(out, "2026-01-31T00:00:00.5+02:00");
	for (const char *const *bad =
		     (const char *const[]){"", "0d", "30", "30w", "-1d", "d",
					   "30 d", "tomorrow", "2026-01-31",
					   "08d", "91d", "2161h", "129601m",
					   "9999999d", NULL};
	     *bad; bad++)
		assert_int_equal(cli_waiver_expiry(*bad, now, out, sizeof(out)),
				 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
	};

	return cmocka_run_group_tests_name("cli/waiver", tests, NULL, NULL);
}
