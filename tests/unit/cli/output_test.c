/*
 * tests/unit/cli/output_test.c: what the commands print for people
 * (cli/output.c): tables, and names from the registry made safe for a
 * terminal (no control, C1 or bidi characters, no invalid UTF-8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/output.h"
#include "capture.h"

static void printable(const char *in, const char *want)
{
	char *got = cli_printable(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_printable(void **state)
{
	(void)state;
	printable("ci@team-nlp", "ci@team-nlp");
	printable("", "");
	printable("zoë@équipe 名前", "zoë@équipe 名前");
	printable("a\\b", "a\\b");
	printable("evil\nadmin", "evil\\u000aadmin");
	printable("\x1b[2J\x1b[31mred", "\\u001b[2J\\u001b[31mred");
	printable("tab\there\r", "tab\\u0009here\\u000d");
	printable("del\x7f", "del\\u007f");
	printable("csi\xc2\x9b"
		  "31m",
		  "csi\\u009b31m");
	printable("admin\xe2\x80\xae@ops", "admin\\u202e@ops");
	printable("zero\xe2\x80\x8bwidth", "zero\\u200bwidth");
	printable("\xef\xbb\xbf"
		  "bom",
		  "\\ufeffbom");
	printable("bad\xff\xc3", "bad\\xff\\xc3");
	printable("\xc0\xaf", "\\xc0\\xaf");
}

/* Every cell and heading of a table goes through cli_printable, and the
 * columns are as wide as what is shown. */
static void test_table_escapes(void **state)
{
	static const char *const head[] = {"KEYID", "PRINCIPAL", "X"};
	char *cells[] = {"k1", "evil\nadmin\x1b[0m", "a", "k2",
			 "ok", "b\xe2\x80\xae"};
	struct capture cap;

	(void)state;
	capture_begin(&cap);
	int rc = cli_print_table(head, 3, cells, 2);
	capture_end(&cap);
	assert_int_equal(rc, 0);
	assert_string_equal(cap.text[0],
			    "KEYID  PRINCIPAL                 X\n"
			    "k1     evil\\u000aadmin\\u001b[0m  a\n"
			    "k2     ok                        b\\u202e\n");
	for (const char *p = cap.text[0]; *p; p++)
		assert_true(*p == '\n' || ((unsigned char)*p >= 0x20 &&
					   (unsigned char)*p < 0x7f));
	capture_release(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_table_escapes),
	};

	return cmocka_run_group_tests_name("cli/output", tests, NULL, NULL);
}
