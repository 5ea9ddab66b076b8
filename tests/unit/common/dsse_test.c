/*
 * tests/unit/common/dsse_test.c: DSSE pre-authentication encoding and
 * envelopes (base64 is tests/unit/common/base64_test.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/dsse.h"
#include "common/error.h"

static void test_pae_spec_example(void **state)
{
	static const char want[] =
		"DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	optreg_dsse_pae("http://example.com/HelloWorld", "hello world", 11,
			&out);
	assert_int_equal(out.len, sizeof(want) - 1);
	assert_memory_equal(out.data, want, sizeof(want) - 1);
	optreg_buf_release(&out);
}

static void test_pae_counts_bytes(void **state)
{
	static const char body[] = "a\0b\xc3\xa9";
	static const char want[] = "DSSEv1 3 t\xc3\xa9 5 a\0b\xc3\xa9";
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	optreg_dsse_pae("t\xc3\xa9", body, sizeof(body) - 1, &out);
	assert_int_equal(out.len, sizeof(want) - 1);
	assert_memory_equal(out.data, want, sizeof(want) - 1);
	optreg_buf_reset(&out);
	optreg_dsse_pae("", "", 0, &out);
	assert_string_equal(out.data, "DSSEv1 0  0 ");
	optreg_buf_release(&out);
}

static int parse(struct optreg_dsse *env, const char *json,
		 struct optreg_errors *errs)
{
	return optreg_dsse_parse(env, json, strlen(json), errs);
}

static void test_envelope_parse(void **state)
{
	static const char json[] =
		"{\"payloadType\": \"application/vnd.optreg.config.v1+json\","
		" \"payload\": \"aGVsbG8gd29ybGQ\","
		" \"signatures\": [{\"keyid\": \"k1\", \"sig\": \"-_8\"},"
		" {\"sig\": \"AAAA\"}]}";
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;

	(void)state;
	optreg_dsse_init(&env);
	assert_int_equal(parse(&env, json, &errs), 0);
	assert_int_equal(errs.len, 0);
	assert_string_equal(env.payload_type, OPTREG_CONFIG_PAYLOAD_TYPE);
	assert_int_equal(env.payload.len, 11);
	assert_string_equal(env.payload.data, "hello world");
	assert_int_equal(env.nsigs, 2);
	assert_string_equal(env.sigs[0].keyid, "k1");
	assert_string_equal(env.sigs[0].sig, "-_8");
	assert_string_equal(env.sigs[1].keyid, "");
	assert_string_equal(env.sigs[1].sig, "AAAA");
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

static void test_envelope_empty_signatures(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;

	(void)state;
	optreg_dsse_init(&env);
	assert_int_equal(parse(&env,
			       "{\"payloadType\":\"t\",\"payload\":\"\","
			       "\"signatures\":[]}",
			       &errs),
			 0);
	assert_int_equal(env.payload.len, 0);
	assert_int_equal(env.nsigs, 0);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

/* Parses an envelope with `n` signatures; returns the result code. */
static int parse_nsigs(struct optreg_dsse *env, int n,
		       struct optreg_errors *errs)
{
	struct optreg_buf j = OPTREG_BUF_INIT;

	optreg_buf_adds(&j, "{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[");
	for (int i = 0; i < n; i++)
		optreg_buf_addf(&j, "%s{\"keyid\":\"k%d\",\"sig\":\"AA==\"}",
				i ? "," : "", i);
	optreg_buf_adds(&j, "]}");
	int rc = optreg_dsse_parse(env, j.data, j.len, errs);
	optreg_buf_release(&j);
	return rc;
}

/* At most OPTREG_DSSE_MAX_SIGS signatures: 16 parse; 17 or 9,000 are
 * refused with one error naming "signatures", none kept. */
static void test_envelope_signature_limit(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;
	static const int too_many[] = {17, 9000};

	(void)state;
	optreg_dsse_init(&env);
	assert_int_equal(parse_nsigs(&env, 16, &errs), 0);
	assert_int_equal(env.nsigs, 16);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(parse_nsigs(&env, too_many[i], &errs),
				 OPTREG_EINVAL);
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].path, "signatures");
		assert_non_null(strstr(errs.items[0].message, "at most 16"));
		assert_int_equal(env.nsigs, 0);
		optreg_errors_release(&errs);
	}
	optreg_dsse_release(&env);
}

/* Asserts that `json` is refused with `code` and that the errors name
 * exactly the paths in `paths` (NULL-ended), in order. */
static void assert_parse_errors(const char *json, int code,
				const char *const *paths)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;
	size_t n = 0;

	optreg_dsse_init(&env);
	assert_int_equal(parse(&env, json, &errs), code);
	while (paths[n])
		n++;
	if (errs.len != n) {
		for (size_t i = 0; i < errs.len; i++)
			print_message("# %s: %s\n", errs.items[i].path,
				      errs.items[i].message);
		fail_msg("%s: %zu errors, want %zu", json, errs.len, n);
	}
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(errs.items[i].path, paths[i]);
		assert_string_equal(errs.items[i].rule, code == OPTREG_ESYNTAX
								? "syntax"
								: "envelope");
		assert_int_equal(errs.items[i].code, code);
	}
	/* Nothing half-parsed is left behind. */
	assert_null(env.payload_type);
	assert_int_equal(env.payload.len, 0);
	assert_int_equal(env.nsigs, 0);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

#define PATHS(...)                                                             \
	(const char *const[])                                                  \
	{                                                                      \
		__VA_ARGS__, NULL                                              \
	}

static void test_envelope_errors_name_the_field(void **state)
{
	(void)state;
	assert_parse_errors("{\"payload\":\"\",\"signatures\":[]}",
			    OPTREG_EINVAL, PATHS("payloadType"));
	assert_parse_errors(
		"{\"payloadType\":1,\"payload\":\"\",\"signatures\":[]}",
		OPTREG_EINVAL, PATHS("payloadType"));
	assert_parse_errors("{\"payloadType\":\"t\",\"signatures\":[]}",
			    OPTREG_EINVAL, PATHS("payload"));
	assert_parse_errors(
		"{\"payloadType\":\"t\",\"payload\":\"Zg=\",\"signatures\":[]}",
		OPTREG_EINVAL, PATHS("payload"));
	assert_parse_errors(
		"{\"payloadType\":\"t\",\"payload\":null,\"signatures\":[]}",
		OPTREG_EINVAL, PATHS("payload"));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\"}",
			    OPTREG_EINVAL, PATHS("signatures"));
	assert_parse_errors(
		"{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":{}}",
		OPTREG_EINVAL, PATHS("signatures"));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[{\"sig\":\"AAAA\"},\"AAAA\"]}",
			    OPTREG_EINVAL, PATHS("signatures[1]"));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[{\"keyid\":\"k\"}]}",
			    OPTREG_EINVAL, PATHS("signatures[0].sig"));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[{\"keyid\":7,\"sig\":\"AA\"}]}",
			    OPTREG_EINVAL, PATHS("signatures[0].keyid"));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[{\"sig\":\"A\"}]}",
			    OPTREG_EINVAL, PATHS("signatures[0].sig"));
	assert_parse_errors(
		"{\"payloadType\":\"t\",\"payload\":\"\",\"signatures\":[],"
		"\"payloadtype\":\"t\"}",
		OPTREG_EINVAL, PATHS("payloadtype"));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[{\"sig\":\"AA\",\"cert\":\"x\"}]}",
			    OPTREG_EINVAL, PATHS("signatures[0].cert"));
	assert_parse_errors("[]", OPTREG_EINVAL, PATHS(""));
	assert_parse_errors("\"x\"", OPTREG_EINVAL, PATHS(""));
}

/* Every problem of one envelope is reported at once. */
static void test_envelope_reports_every_error(void **state)
{
	(void)state;
	assert_parse_errors("{\"payloadType\":[],\"payload\":\"%%\","
			    "\"signatures\":[{},{\"sig\":1}],\"x\":0}",
			    OPTREG_EINVAL,
			    PATHS("x", "payloadType", "payload",
				  "signatures[0].sig", "signatures[1].sig"));
}

static void test_envelope_syntax_errors(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;

	(void)state;
	assert_parse_errors("", OPTREG_ESYNTAX, PATHS(""));
	assert_parse_errors("{\"payloadType\":\"t\",", OPTREG_ESYNTAX,
			    PATHS(""));
	assert_parse_errors("{\"payloadType\":\"t\",\"payload\":\"\","
			    "\"signatures\":[],\"payload\":\"\"}",
			    OPTREG_ESYNTAX, PATHS(""));

	optreg_dsse_init(&env);
	assert_int_equal(parse(&env, "{\n  \"payload\": x}", &errs),
			 OPTREG_ESYNTAX);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].line, 2);
	assert_true(errs.items[0].col > 0);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

/* A parse that fails releases what the envelope held before. */
static void test_envelope_parse_replaces_content(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;

	(void)state;
	optreg_dsse_init(&env);
	assert_int_equal(parse(&env,
			       "{\"payloadType\":\"t\",\"payload\":\"Zm9v\","
			       "\"signatures\":[{\"sig\":\"AA\"}]}",
			       &errs),
			 0);
	assert_int_equal(parse(&env,
			       "{\"payloadType\":\"u\",\"payload\":\"Zg\","
			       "\"signatures\":[]}",
			       &errs),
			 0);
	assert_string_equal(env.payload_type, "u");
	assert_string_equal(env.payload.data, "f");
	assert_int_equal(env.nsigs, 0);
	assert_int_equal(parse(&env, "{}", &errs), OPTREG_EINVAL);
	assert_null(env.payload_type);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	assert_non_null(s);
	return s;
}

static void test_envelope_round_trip(void **state)
{
	static const unsigned char payload[] = {'{', '}', 0, 0xfb, 0xff, 0xfe};
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env, back;
	char *s, *again;
	json_t *j;

	(void)state;
	optreg_dsse_init(&env);
	env.payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	optreg_buf_add(&env.payload, payload, sizeof(payload));
	env.sigs = optreg_xcalloc(2, sizeof(*env.sigs));
	env.sigs[0].keyid = optreg_xstrdup("ab12");
	env.sigs[0].sig = optreg_xstrdup("-_8"); /* URL-safe, unpadded */
	env.sigs[1].keyid = optreg_xstrdup("");
	env.sigs[1].sig = optreg_xstrdup("AAAA");
	env.nsigs = 2;

	j = optreg_dsse_to_json(&env);
	s = dump(j);
	assert_string_equal(
		s, "{\"payloadType\":\"application/vnd.optreg.config.v1+json\","
		   "\"payload\":\"e30A+//+\",\"signatures\":[{\"keyid\":"
		   "\"ab12\",\"sig\":\"+/8=\"},{\"sig\":\"AAAA\"}]}");
	json_decref(j);

	optreg_dsse_init(&back);
	assert_int_equal(parse(&back, s, &errs), 0);
	assert_string_equal(back.payload_type, env.payload_type);
	assert_int_equal(back.payload.len, sizeof(payload));
	assert_memory_equal(back.payload.data, payload, sizeof(payload));
	assert_int_equal(back.nsigs, 2);
	assert_string_equal(back.sigs[0].keyid, "ab12");
	assert_string_equal(back.sigs[0].sig, "+/8=");
	assert_string_equal(back.sigs[1].keyid, "");

	/* A second trip is byte for byte the first. */
	j = optreg_dsse_to_json(&back);
	again = dump(j);
	assert_string_equal(again, s);
	json_decref(j);

	free(s);
	free(again);
	optreg_dsse_release(&back);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pae_spec_example),
		cmocka_unit_test(test_pae_counts_bytes),
		cmocka_unit_test(test_envelope_parse),
		cmocka_unit_test(test_envelope_empty_signatures),
		cmocka_unit_test(test_envelope_signature_limit),
		cmocka_unit_test(test_envelope_errors_name_the_field),
		cmocka_unit_test(test_envelope_reports_every_error),
		cmocka_unit_test(test_envelope_syntax_errors),
		cmocka_unit_test(test_envelope_parse_replaces_content),
		cmocka_unit_test(test_envelope_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
