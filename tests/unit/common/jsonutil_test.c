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

#include "common/buf.h"
#include "common/jsonutil.h"
#include "common/media.h"
#include "validator/jcs.h"

/* Numbers a run can produce, as JSON text: the smallest subnormal, other
 * subnormals, the 19- to 21-digit integers RFC 8785 writes for doubles
 * from 1e19 to 1e21 (jansson's "too big integer" without
 * JSON_DECODE_INT_AS_REAL), integers far beyond 2^63, the largest double. */
static const char *const wide[] = {
	"1e-320",
	"5e-324",
	"-4.9406564584124654e-324",
	"2.2250738585072014e-308",
	"9223372036854775807",
	"9223372036854775808",
	"9.2e18",
	"10000000000000000000",
	"-10000000000000000000",
	"18446744073709551616",
	"123456789012345678901",
	"99999999999999999999999999999",
	"1e21",
	"1.7e308",
	"1.7976931348623157e308",
	"-1.7976931348623157e308",
	"0.1",
	"3",
};

/* Each number, alone and inside a verdict-like object, parses with
 * optreg_json_load_doubles, canonicalizes, and reads back as the same
 * double; the canonical text is a fixed point. */
static void test_load_doubles_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		struct optreg_buf text = OPTREG_BUF_INIT, c1 = OPTREG_BUF_INIT,
				  c2 = OPTREG_BUF_INIT;
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		json_error_t jerr;
		double want = strtod(wide[i], NULL);

		optreg_buf_addf(&text,
				"{\"job_id\":7,\"metrics\":{\"final_loss\":%s,"
				"\"curve\":[%s,1]}}",
				wide[i], wide[i]);
		json_t *a =
			optreg_json_load_doubles(text.data, text.len, 0, &jerr);
		if (!a)
			fail_msg("%s: %s", wide[i], jerr.text);
		const json_t *m = json_object_get(a, "metrics");
		assert_true(json_is_real(json_object_get(m, "final_loss")));
		assert_true(json_real_value(json_object_get(m, "final_loss")) ==
			    want);
		assert_int_equal(optreg_jcs_serialize(a, &c1, &errs), 0);
		json_t *b = optreg_json_load_doubles(c1.data, c1.len, 0, &jerr);
		if (!b)
			fail_msg("%s canonical %s: %s", wide[i], c1.data,
				 jerr.text);
		m = json_object_get(b, "metrics");
		assert_true(json_real_value(json_object_get(m, "final_loss")) ==
			    want);
		assert_true(json_real_value(json_array_get(
				    json_object_get(m, "curve"), 0)) == want);
		assert_int_equal(optreg_jcs_serialize(b, &c2, &errs), 0);
		assert_string_equal(c1.data, c2.data);
		/* And through the canonicalizer, which uses the same parser. */
		optreg_buf_reset(&c2);
		assert_int_equal(optreg_jcs_canonicalize(text.data, text.len,
							 &c2, &errs),
				 0);
		assert_string_equal(c1.data, c2.data);
		long long id = 0;
		assert_int_equal(optreg_json_whole(b, "job_id", &id), 0);
		assert_int_equal(id, 7);
		json_decref(a);
		json_decref(b);
		optreg_buf_release(&text);
		optreg_buf_release(&c1);
		optreg_buf_release(&c2);
		optreg_errors_release(&errs);
	}
}

/* What the loader is for: jansson alone refuses the canonical form of
 * 1e19, and duplicates stay refused. */
static void test_load_doubles_flags(void **state)
{
	json_error_t jerr;

	(void)state;
	const char *big = "{\"loss\":10000000000000000000}";
	assert_null(json_loads(big, 0, NULL));
	json_t *v = optreg_json_load_doubles(big, strlen(big), 0, &jerr);
	assert_non_null(v);
	assert_true(json_real_value(json_object_get(v, "loss")) == 1e19);
	json_decref(v);
	assert_null(
		optreg_json_load_doubles("{\"a\":1,\"a\":2}", 13, 0, &jerr));
	assert_null(optreg_json_load_doubles("3", 1, 0, &jerr));
	v = optreg_json_load_doubles("3", 1, JSON_DECODE_ANY, &jerr);
	assert_true(json_is_real(v));
	json_decref(v);
	/* Beyond the largest double is still an error, not infinity. */
	assert_null(optreg_json_load_doubles("[1e309]", 7, 0, &jerr));
}

static void test_whole(void **state)
{
	json_t *o =
		json_pack("{s:i, s:f, s:f, s:f, s:s, s:f}", "i", 12, "r", 42.0,
			  "frac", 1.5, "big", 1e19, "s", "1", "neg", -3.0);
	long long v = 0;

	(void)state;
	assert_int_equal(optreg_json_whole(o, "i", &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(optreg_json_whole(o, "r", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(optreg_json_whole(o, "neg", &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(optreg_json_whole(o, "frac", &v), -1);
	assert_int_equal(optreg_json_whole(o, "big", &v), -1);
	assert_int_equal(optreg_json_whole(o, "s", &v), -1);
	assert_int_equal(optreg_json_whole(o, "missing", &v), -1);
	json_decref(o);
}

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
		cmocka_unit_test(test_load_doubles_round_trip),
		cmocka_unit_test(test_load_doubles_flags),
		cmocka_unit_test(test_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
