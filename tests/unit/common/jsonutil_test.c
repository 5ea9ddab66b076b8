/*
 * tests/unit/common/jsonutil_test.c: the JSON getter and type names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonutil.h"
#include "common/media.h"

static void test_str(void **state)
{
	json_t *o = json_pack("{s:s, s:i, s:n}", "a", "x", "n", 1, "z");

	(void)state;
	assert_string_equal(optreg_json_str(o, "a"), "x");
	assert_null(optreg_json_str(o, "n"));
	assert_null(optreg_json_str(o, "z"));
	assert_null(optreg_json_str(o, "missing"));
	assert_null(optreg_json_str(NULL, "a"));
	json_t *arr = json_array();
	assert_null(optreg_json_str(arr, "a"));
	json_decref(arr);
	json_decref(o);
}

static void test_type_names(void **state)
{
	json_t *v[] = {json_object(),	json_array(),	json_string("s"),
		       json_integer(1), json_real(1.5), json_true(),
		       json_false(),	json_null()};
	const char *want[] = {"object", "array",   "string",  "number",
			      "number", "boolean", "boolean", "null"};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_string_equal(optreg_json_type_name(v[i]), want[i]);
		json_decref(v[i]);
	}
}

/* The media types are what clients and signatures have always used. */
static void test_media_types(void **state)
{
	(void)state;
	assert_string_equal(OPTREG_CONFIG_PAYLOAD_TYPE,
			    "application/vnd.optreg.config.v1+json");
	assert_string_equal(OPTREG_RECEIPT_PAYLOAD_TYPE,
			    "application/vnd.optreg.receipt.v1+json");
	assert_string_equal(OPTREG_VERDICT_PAYLOAD_TYPE,
			    "application/vnd.optreg.verdict.v1+json");
	assert_string_equal(OPTREG_MEDIA_JSON, "application/json");
	assert_string_equal(OPTREG_MEDIA_PROBLEM_JSON,
			    "application/problem+json");
	assert_string_equal(OPTREG_MEDIA_DSSE_JSON,
			    "application/vnd.dsse+json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_media_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
