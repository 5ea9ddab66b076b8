/*
 * tests/unit/cli/change_test.c: the checks on --message, --reason and
 * --link (cli/change.c), at their limits, with the messages printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "cli/cli.h"

/* Runs the check, returns its result; the message in *err (free it). */
static int check(const char *val, size_t max, bool link, char **err)
{
	struct capture cap;
	int rc;

	capture_begin(&cap);
	rc = cli_change_check("tag", link ? "--link" : "--reason", val, max,
			      link);
	capture_end(&cap);
	*err = strdup(cap.text[1]);
	capture_release(&cap);
	return rc;
}

static void test_limits(void **state)
{
	char buf[1100], *err;

	(void)state;
	assert_int_equal(check(NULL, 10, false, &err), 0);
	free(err);
	assert_int_equal(check("ok", 10, false, &err), 0);
	assert_string_equal(err, "");
	free(err);
	memset(buf, 'x', 1024);
	buf[1024] = '\0';
	assert_int_equal(check(buf, 1024, false, &err), 0);
	free(err);
	buf[1024] = 'x';
	buf[1025] = '\0';
	assert_int_equal(check(buf, 1024, false, &err), OPTREG_EXIT_USAGE);
	assert_string_equal(err, "optreg tag: --reason is longer than 1024 "
				 "characters (got 1025)\n");
	free(err);
	/* Characters, not bytes: three characters in five bytes fit 3. */
	assert_int_equal(check("\xc3\xa9t\xc3\xa9", 3, false, &err), 0);
	free(err);
	assert_int_equal(check("\xc3\xa9t\xc3\xa9", 2, false, &err),
			 OPTREG_EXIT_USAGE);
	free(err);
	assert_int_equal(check("", 10, false, &err), OPTREG_EXIT_USAGE);
	assert_string_equal(err, "optreg tag: --reason is empty\n"
				 "  hint: give 1 to 10 characters, or leave "
				 "--reason out\n");
	free(err);
	assert_int_equal(check("bad\xff", 10, false, &err), OPTREG_EXIT_USAGE);
	assert_string_equal(err, "optreg tag: --reason is not valid UTF-8\n");
	free(err);
}

static void test_printable(void **state)
{
	char *err;

	(void)state;
	/* The registry refuses every C0 control, newline and tab too. */
	assert_int_equal(check("two\nlines", 100, false, &err),
			 OPTREG_EXIT_USAGE);
	assert_non_null(strstr(err, "control character (byte 0x0a at offset "
				    "3)"));
	free(err);
	assert_int_equal(check("a\ttab", 100, false, &err), OPTREG_EXIT_USAGE);
	free(err);
	assert_int_equal(check("esc\x1b[2J", 100, false, &err),
			 OPTREG_EXIT_USAGE);
	assert_non_null(strstr(err, "byte 0x1b at offset 3"));
	free(err);
	assert_int_equal(check("bell\a", 100, false, &err), OPTREG_EXIT_USAGE);
	assert_non_null(strstr(err, "control character (byte 0x07 at offset "
				    "4)"));
	free(err);
	assert_int_equal(check("https://ci.example/run/42", 512, true, &err),
			 0);
	free(err);
	assert_int_equal(check("https://ci/run 42", 512, true, &err),
			 OPTREG_EXIT_USAGE);
	assert_non_null(strstr(err, "--link has a space"));
	free(err);
	assert_int_equal(check("a\nb", 512, true, &err), OPTREG_EXIT_USAGE);
	free(err);
}

static void test_add(void **state)
{
	json_t *o = json_object();

	(void)state;
	cli_change_add(o, "reason", NULL);
	assert_int_equal(json_object_size(o), 0);
	cli_change_add(o, "reason", "why");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
			    "why");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests_name("cli/change", tests, NULL, NULL);
}
