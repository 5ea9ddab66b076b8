/*
 * tests/unit/cli/wrap_test.c: text for an 80-column terminal
 * (cli/wrap.c): display widths, word wrapping with a hanging indent, and
 * sparklines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>

#include "cli/wrap.h"

static void wrapped(const char *first, const char *text, size_t indent,
		    size_t width, const char *want)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	cli_wrap_add(&b, first, text, indent, width);
	assert_string_equal(b.data, want);
	optreg_buf_release(&b);
}

static void test_columns(void **state)
{
	(void)state;
	assert_int_equal(cli_wrap_columns(""), 0);
	assert_int_equal(cli_wrap_columns("abc"), 3);
	assert_int_equal(cli_wrap_columns("\u2581\u2588\u00d7"), 3);
	assert_int_equal(cli_wrap_columns("zo\u00eb"), 3);
}

static void test_wrap(void **state)
{
	(void)state;
	/* Fits: unchanged, one newline. */
	wrapped("  ", "short line", 4, 20, "  short line\n");
	/* Broken at spaces, continuation lines indented. */
	wrapped("> ", "aaa bbb ccc ddd eee", 4, 12,
		"> aaa bbb\n    ccc ddd\n    eee\n");
	/* Runs of spaces inside a line stay; at a break they go. */
	wrapped("", "FAIL  mlp   x", 2, 80, "FAIL  mlp   x\n");
	wrapped("", "aaaa    bbbb", 2, 8, "aaaa\n  bbbb\n");
	/* A word longer than a line is cut at a character boundary. */
	wrapped("", "\u2581\u2582\u2583\u2584\u2585\u2586", 1, 4,
		"\u2581\u2582\u2583\u2584\n \u2585\u2586\n");
	/* Control characters are escaped, never printed. */
	wrapped("", "a\x1b[2Jb", 0, 80, "a\\u001b[2Jb\n");
	/* Nothing at all: the prefix and a newline. */
	wrapped("  ", "", 4, 80, "  \n");
	/* Width 0 is taken as 1: one character a line, and an end. */
	wrapped("", "ab c", 3, 0, "a\nb\nc\n");
}

static void test_wrap_never_wider(void **state)
{
	static const char text[] =
		"loss reached 1.256e+04 at step 2, 5.21e+03x the initial "
		"2.41 (limit 10x) https://ci.example/a/very/long/link/that/"
		"does/not/fit/on/any/line/of/forty/columns/at/all";
	(void)state;
	for (size_t width = 20; width <= 80; width++) {
		struct optreg_buf b = OPTREG_BUF_INIT;
		cli_wrap_add(&b, "  WARN  ", text, 8, width);
		for (char *line = b.data, *nl; *line; line = nl + 1) {
			nl = strchr(line, '\n');
			assert_non_null(nl);
			*nl = '\0';
			assert_true(cli_wrap_columns(line) <= width);
		}
		optreg_buf_release(&b);
	}
}

static void spark(const double *v, size_t n, bool log_scale, const char *want)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	cli_wrap_sparkline(&b, v, n, log_scale);
	assert_string_equal(b.data, want);
	assert_int_equal(cli_wrap_columns(b.data), n);
	optreg_buf_release(&b);
}

static void test_sparkline(void **state)
{
	const double up[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	const double flat[3] = {2, 2, 2};
	const double gap[3] = {1, NAN, 3};
	const double decades[4] = {1, 10, 100, 1000};
	double lo, hi;

	(void)state;
	spark(up, 8, false, "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588");
	spark(flat, 3, false, "\u2581\u2581\u2581");
	spark(gap, 3, false, "\u2581\u00d7\u2588");
	/* Linear: 1, 10 and 100 flatten to the bottom two levels. */
	spark(decades, 4, false, "\u2581\u2581\u2582\u2588");
	/* Log: evenly spaced. */
	spark(decades, 4, true, "\u2581\u2583\u2586\u2588");
	assert_true(cli_wrap_spans_decades(decades, 4, &lo, &hi));
	assert_true(lo == 1 && hi == 1000);
	assert_false(cli_wrap_spans_decades(up, 8, &lo, &hi)); /* has 0 */
	assert_false(cli_wrap_spans_decades(flat, 3, &lo, &hi));
	assert_false(cli_wrap_spans_decades(gap, 3, &lo, &hi)); /* 3x */
	assert_true(lo == 1 && hi == 3);
}

static void test_sparkline_extremes(void **state)
{
	/* hi - lo overflows to inf: the middle is still the middle, the
	 * top still the top (not NaN cast to int). */
	const double huge[3] = {-DBL_MAX, 0, DBL_MAX};
	const double inf[4] = {1, INFINITY, -INFINITY, 2};
	const double tiny[3] = {DBL_MIN, 1, DBL_MAX};
	const double zero_log[3] = {0, 1, 1000};

	(void)state;
	spark(huge, 3, false, "\u2581\u2585\u2588");
	spark(huge, 3, true, "\u2581\u2585\u2588"); /* not > 0: linear */
	spark(inf, 4, false, "\u2581\u00d7\u00d7\u2588");
	spark(inf, 4, true, "\u2581\u00d7\u00d7\u2588");
	/* Log over 616 decades: 1 sits just below the middle, level 3. */
	spark(tiny, 3, true, "\u2581\u2584\u2588");
	spark(zero_log, 3, true, "\u2581\u2581\u2588");
	/* None finite: all marks, no scale. */
	spark(inf + 1, 2, true, "\u00d7\u00d7");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_wrap_never_wider),
		cmocka_unit_test(test_sparkline),
		cmocka_unit_test(test_sparkline_extremes),
	};
	return cmocka_run_group_tests_name("cli/wrap", tests, NULL, NULL);
}
