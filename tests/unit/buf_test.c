/*
 * tests/unit/buf_test.c: the growable buffer and the error list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/error.h"

static void test_buf_empty_is_never_null(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	(void)state;
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	optreg_buf_reset(&b);
	assert_string_equal(b.data, "");
	char *s = optreg_buf_detach(&b, NULL);
	assert_string_equal(s, "");
	free(s);
	optreg_buf_release(&b);
}

static void test_buf_grows_and_detaches(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	size_t len;

	(void)state;
	for (int i = 0; i < 1000; i++)
		optreg_buf_addf(&b, "%d,", i);
	optreg_buf_add(&b, "\0x", 2);
	assert_true(b.len > 3000);
	assert_int_equal(b.data[b.len], '\0');
	assert_memory_equal(b.data, "0,1,2,", 6);
	char *s = optreg_buf_detach(&b, &len);
	assert_int_equal(s[len - 2], '\0');
	assert_int_equal(s[len - 1], 'x');
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	free(s);
}

static void test_buf_read_file_missing(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	(void)state;
	assert_true(optreg_buf_read_file(&b, "/nonexistent/optreg") < 0);
	assert_int_equal(b.len, 0);
	optreg_buf_release(&b);
}

static void test_errors_format(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	struct optreg_error *e = optreg_errors_add(
		&errs, OPTREG_EINVAL, "exclusive_maximum", "spec.betas[1]",
		"must be less than %d (got %d)", 1, 1);
	e->line = 7;
	e->col = 10;
	e = optreg_errors_add(&errs, OPTREG_ESYNTAX, "syntax", NULL,
			      "unexpected end of input");
	optreg_error_set_hint(e, "close the %s", "mapping");
	optreg_errors_format(&errs, "config.yaml", &out);
	assert_string_equal(out.data,
			    "config.yaml:7:10: spec.betas[1]: must be less "
			    "than 1 (got 1)\n"
			    "config.yaml: unexpected end of input\n"
			    "  hint: close the mapping\n");
	assert_string_equal(optreg_code_name(errs.items[1].code), "syntax");
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	assert_int_equal(errs.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty_is_never_null),
		cmocka_unit_test(test_buf_grows_and_detaches),
		cmocka_unit_test(test_buf_read_file_missing),
		cmocka_unit_test(test_errors_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
