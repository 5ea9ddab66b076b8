/*
 * tests/unit/runner/verdict_test.c: verdicts (runner/verdict.h): the head
 * every verdict starts with, the `error` verdict for a config that was not
 * judged, and the signed envelope: its payload is the RFC 8785 form of the
 * verdict with job_id and runner, its signature verifies under the
 * runner's key and no other, and a verdict that cannot be serialized is
 * replaced by a verdict_encoding error instead of being lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/dsse.h"
#include "common/jsonutil.h"
#include "common/verify.h"
#include "common/sign.h"
#include "runner/findings.h"
#include "runner/verdict.h"
#include "validator/jcs.h"

#define CONFIG_DIGEST                                                          \
	"sha256:"                                                              \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SUITE_DIGEST                                                           \
	"sha256:"                                                              \
	"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static const char *member(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_head_in_order(void **state)
{
	static const char *const keys[] = {"config_digest", "suite",
					   "suite_digest",  "runner_version",
					   "device",	    "result"};
	json_t *v = optreg_verdict_new(CONFIG_DIGEST, "ref-v1", SUITE_DIGEST,
				       "cpu: test");
	const char *key;
	json_t *val;
	size_t i = 0;

	(void)state;
	assert_non_null(v);
	assert_int_equal(json_object_size(v), 6);
	json_object_foreach(v, key, val)
	{
		assert_true(i < 6);
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_string_equal(member(v, "config_digest"), CONFIG_DIGEST);
	assert_string_equal(member(v, "suite"), "ref-v1");
	assert_string_equal(member(v, "suite_digest"), SUITE_DIGEST);
	assert_string_equal(member(v, "runner_version"), OPTREG_RUNNER_VERSION);
	assert_string_equal(member(v, "device"), "cpu: test");
	assert_string_equal(member(v, "result"), "error");
	json_decref(v);
}

static void test_error_verdict(void **state)
{
	struct optreg_errors why = OPTREG_ERRORS_INIT;
	json_t *v, *f, *t;

	(void)state;
	optreg_errors_add(&why, OPTREG_EINVAL, "config_verification", "digest",
			  "expected %s", "the job's digest");
	optreg_errors_add(&why, OPTREG_EINVAL, "config_verification",
			  "envelope.signatures", "no valid signature");
	v = optreg_verdict_error(CONFIG_DIGEST, "ref-v1", SUITE_DIGEST,
				 "config_verification", &why);
	assert_string_equal(member(v, "result"), "error");
	assert_string_equal(member(v, "device"), "none");
	assert_string_equal(member(v, "config_digest"), CONFIG_DIGEST);
	assert_true(json_is_array(json_object_get(v, "workloads")));
	assert_int_equal(json_array_size(json_object_get(v, "workloads")), 0);
	assert_int_equal(json_array_size(json_object_get(v, "findings")), 2);

	f = json_array_get(json_object_get(v, "findings"), 0);
	assert_string_equal(member(f, "criterion"), "config_verification");
	assert_string_equal(member(f, "severity"), "error");
	assert_string_equal(member(f, "message"), "expected the job's digest");
	assert_string_equal(member(json_object_get(f, "values"), "path"),
			    "digest");
	assert_string_equal(member(json_object_get(f, "values"), "rule"),
			    "config_verification");
	f = json_array_get(json_object_get(v, "findings"), 1);
	assert_string_equal(member(json_object_get(f, "values"), "path"),
			    "envelope.signatures");

	t = json_object_get(v, "time");
	assert_int_equal(strlen(member(t, "started_at")),
			 strlen("2026-01-01T00:00:00.000Z"));
	assert_int_equal(json_integer_value(json_object_get(t, "seconds")), 0);
	assert_int_equal(json_object_size(json_object_get(t, "train_seconds")),
			 0);
	/* workloads, findings and time follow the head. */
	const char *key, *last = NULL;
	json_t *val;
	json_object_foreach(v, key, val) last = key;
	assert_string_equal(last, "time");

	json_decref(v);
	optreg_errors_release(&why);
}

/* Parses `text` as an envelope; asserts one signature that verifies under
 * `key`. */
static void open_envelope(const char *text, const struct optreg_key *key,
			  struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char id[OPTREG_KEYID_LEN + 1];

	optreg_dsse_init(env);
	assert_int_equal(optreg_dsse_parse(env, text, strlen(text), &errs), 0);
	assert_string_equal(env->payload_type, OPTREG_VERDICT_PAYLOAD_TYPE);
	assert_int_equal(env->nsigs, 1);
	optreg_key_id(key, id);
	assert_string_equal(env->sigs[0].keyid, id);
	assert_int_equal(optreg_dsse_verify_one(env, 0, key), OPTREG_SIG_VALID);
	optreg_errors_release(&errs);
}

static void test_sign_verifies(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL, *other = NULL;
	struct optreg_dsse env;
	json_t *v, *payload;
	char *text = NULL;
	int replaced = -1;

	(void)state;
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	assert_int_equal(optreg_key_generate(&other, &errs), 0);
	v = optreg_verdict_new(CONFIG_DIGEST, "ref-v1", SUITE_DIGEST, "cpu");
	json_object_set_new(v, "result", json_string("pass"));
	json_object_set_new(v, "findings", json_array());
	json_object_set_new(v, "loss", json_real(0.25));

	assert_int_equal(optreg_verdict_sign(v, 42, "host:1", key, &text,
					     &replaced, &errs),
			 0);
	assert_int_equal(replaced, 0);
	assert_non_null(text);
	assert_int_equal(json_integer_value(json_object_get(v, "job_id")), 42);
	assert_string_equal(member(v, "runner"), "host:1");

	open_envelope(text, key, &env);
	/* The payload is exactly the canonical form of the verdict. */
	assert_int_equal(optreg_jcs_serialize(v, &canon, NULL), 0);
	assert_int_equal(env.payload.len, canon.len);
	assert_memory_equal(env.payload.data, canon.data, canon.len);
	payload = json_loadb(env.payload.data, env.payload.len, 0, NULL);
	assert_string_equal(member(payload, "result"), "pass");
	json_decref(payload);

	/* Under another key it does not verify; nor once the payload is
	 * changed. */
	assert_int_equal(optreg_dsse_verify_one(&env, 0, other),
			 OPTREG_SIG_BAD_SIGNATURE);
	env.payload.data[10] ^= 1;
	assert_int_equal(optreg_dsse_verify_one(&env, 0, key),
			 OPTREG_SIG_BAD_SIGNATURE);

	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	free(text);
	json_decref(v);
	optreg_key_free(key);
	optreg_key_free(other);
	optreg_errors_release(&errs);
}

static void test_sign_replaces_unencodable(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	struct optreg_dsse env;
	json_t *v, *payload, *f;
	char *text = NULL;
	int replaced = -1;

	(void)state;
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	v = optreg_verdict_new(CONFIG_DIGEST, "ref-v1", SUITE_DIGEST, "cpu");
	json_object_set_new(v, "result", json_string("pass"));
	/* Text that is not UTF-8 has no RFC 8785 form (jansson's _nocheck
	 * lets a test build it). */
	json_object_set_new(
		v, "metrics",
		json_pack("{s:o}", "x", json_string_nocheck("\xff")));

	assert_int_equal(
		optreg_verdict_sign(v, 7, "r", key, &text, &replaced, &errs),
		0);
	assert_int_equal(replaced, 1);
	open_envelope(text, key, &env);
	payload = json_loadb(env.payload.data, env.payload.len, 0, NULL);
	assert_non_null(payload);
	assert_string_equal(member(payload, "result"), "error");
	assert_string_equal(member(payload, "config_digest"), CONFIG_DIGEST);
	assert_string_equal(member(payload, "suite"), "ref-v1");
	assert_string_equal(member(payload, "suite_digest"), SUITE_DIGEST);
	assert_string_equal(member(payload, "runner"), "r");
	assert_int_equal(json_integer_value(json_object_get(payload, "job_id")),
			 7);
	f = json_array_get(json_object_get(payload, "findings"), 0);
	assert_string_equal(member(f, "criterion"), "verdict_encoding");

	json_decref(payload);
	optreg_dsse_release(&env);
	free(text);
	json_decref(v);
	optreg_key_free(key);
	optreg_errors_release(&errs);
}

/*
 * Metrics of a run that diverged (1e19..1e21: 20- and 21-digit integers in
 * RFC 8785 form), subnormals and the largest doubles survive the signed
 * payload: read back with optreg_json_load_doubles they are the same
 * doubles, and the registry's check of the payload accepts it (issue 10).
 */
static void test_sign_wide_numbers(void **state)
{
	const double wide[] = {1e19,
			       9.3e18,
			       1.2e21,
			       1e-320,
			       5e-324,
			       1.7e308,
			       1.7976931348623157e308,
			       -1e20,
			       18446744073709551616.0};
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *key = NULL;
	struct optreg_dsse env;
	json_t *v, *payload, *curve = json_array();
	char *text = NULL;
	int replaced = -1;

	(void)state;
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	v = optreg_verdict_new(CONFIG_DIGEST, "ref-v1", SUITE_DIGEST, "cpu");
	json_object_set_new(v, "result", json_string("fail"));
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		json_array_append_new(curve, json_real(wide[i]));
	json_object_set_new(v, "metrics",
			    json_pack("{s:f, s:o}", "max_loss", 4.61815e20,
				      "curve", curve));
	assert_int_equal(optreg_verdict_sign(v, 42, "host:1", key, &text,
					     &replaced, &errs),
			 0);
	assert_int_equal(replaced, 0);
	open_envelope(text, key, &env);
	assert_non_null(strstr(env.payload.data, "461815000000000000000"));
	assert_null(json_loadb(env.payload.data, env.payload.len, 0, NULL));
	payload = optreg_json_load_doubles(env.payload.data, env.payload.len, 0,
					   NULL);
	assert_non_null(payload);
	const json_t *m = json_object_get(payload, "metrics");
	assert_true(json_real_value(json_object_get(m, "max_loss")) ==
		    4.61815e20);
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		assert_true(json_real_value(json_array_get(
				    json_object_get(m, "curve"), i)) ==
			    wide[i]);
	const struct optreg_verdict_expect want = {.job_id = 42,
						   .config_digest =
							   CONFIG_DIGEST,
						   .suite = "ref-v1"};
	assert_int_equal(optreg_verdict_check(payload, &want,
					      OPTREG_VOICE_REGISTRY, NULL,
					      &errs),
			 0);

	json_decref(payload);
	optreg_dsse_release(&env);
	free(text);
	json_decref(v);
	optreg_key_free(key);
	optreg_errors_release(&errs);
}

static void test_sign_needs_private_key(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL, *pub = NULL;
	char *text = (char *)"unchanged";
	int replaced;
	json_t *v;

	(void)state;
	assert_int_equal(optreg_key_generate(&key, &errs), 0);
	assert_int_equal(optreg_key_public_pem(key, &pem), 0);
	assert_int_equal(optreg_key_load_pem(&pub, pem.data, pem.len, &errs),
			 0);
	v = optreg_verdict_new(CONFIG_DIGEST, "ref-v1", SUITE_DIGEST, "cpu");
	assert_true(optreg_verdict_sign(v, 1, "r", pub, &text, &replaced,
					&errs) < 0);
	assert_null(text);
	assert_true(errs.len > 0);
	json_decref(v);
	optreg_key_free(pub);
	optreg_key_free(key);
	optreg_buf_release(&pem);
	optreg_errors_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_in_order),
		cmocka_unit_test(test_error_verdict),
		cmocka_unit_test(test_sign_verifies),
		cmocka_unit_test(test_sign_replaces_unencodable),
		cmocka_unit_test(test_sign_needs_private_key),
		cmocka_unit_test(test_sign_wide_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
