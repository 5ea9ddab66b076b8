/*
 * tests/unit/common/buf_test.c: the growable buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/errcodes.h"

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
	/* 0 or a negative OPTREG_E* code; the reason stays in errno. */
	errno = 0;
	assert_int_equal(optreg_buf_read_file(&b, "/nonexistent/optreg"),
			 OPTREG_EIO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(b.len, 0);
	errno = 0;
	assert_int_equal(optreg_buf_read_file(&b, "/"), OPTREG_EIO);
	assert_int_equal(errno, EISDIR);
	optreg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty_is_never_null),
		cmocka_unit_test(test_buf_grows_and_detaches),
		cmocka_unit_test(test_buf_read_file_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
