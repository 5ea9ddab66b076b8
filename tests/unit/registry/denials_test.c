/*
 * tests/unit/registry/denials_test.c: refused writes recorded in bounded
 * form (registry/denials.c) over a private cluster: at most max_events
 * "write.denied" events per principal per window, the rest (and 429s)
 * counted in one "write.denied.summary" when the window ends or the
 * recorder stops; no event over 4 KiB whatever the details; a full table
 * sends counts to a summary with no principal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "registry/denials.h"
#include "svc_fixture.h"

static long long count_action(const char *principal, const char *action)
{
	char *sql = optreg_xasprintf("SELECT count(*) FROM audit_events WHERE "
				     "actor = '%s' AND action = '%s'",
				     principal, action);
	long long n = fixture_scalar(sql);

	free(sql);
	return n;
}

/* A number in the details of the last summary of `principal`. */
static long long summary_field(const char *principal, const char *field)
{
	char *sql = optreg_xasprintf(
		"SELECT (event::jsonb #>> '{details,%s}')::bigint FROM "
		"audit_events WHERE actor = '%s' AND action = "
		"'write.denied.summary' ORDER BY idx DESC LIMIT 1",
		field, principal);
	long long n = fixture_scalar(sql);

	free(sql);
	return n;
}

static json_t *huge_details(void)
{
	json_t *why = json_array();
	char *big = optreg_xcalloc(100001, 1);

	memset(big, 'x', 100000);
	for (int i = 0; i < 9000; i++)
		json_array_append_new(why, json_pack("{s:s, s:s}", "path",
						     "signatures[1]", "rule",
						     "unknown_key"));
	json_t *d = json_pack("{s:s, s:o, s:s, s:{s:s}}", "code",
			      "signature_refused", "reasons", why, "digest",
			      big, "nested", "deep", big);
	free(big);
	return d;
}

static void test_bound(void **state)
{
	(void)state;
	json_t *d = optreg_denials_bound(huge_details());
	char *s = json_dumps(d, JSON_COMPACT);

	assert_true(strlen(s) <= OPTREG_DENIALS_DETAILS_MAX);
	assert_int_equal(json_array_size(json_object_get(d, "reasons")),
			 OPTREG_DENIALS_ARRAY_MAX);
	assert_int_equal(
		json_integer_value(json_object_get(d, "reasons_omitted")),
		9000 - OPTREG_DENIALS_ARRAY_MAX);
	assert_int_equal(json_string_length(json_object_get(d, "digest")),
			 OPTREG_DENIALS_STRING_MAX);
	assert_string_equal(json_string_value(json_object_get(d, "code")),
			    "signature_refused");
	free(s);
	json_decref(d);

	/* Too many keys to fit: only what says what happened stays. */
	d = json_pack("{s:s}", "code", "forbidden");
	for (int i = 0; i < 400; i++) {
		char k[32];
		snprintf(k, sizeof(k), "k%d", i);
		json_object_set_new(d, k, json_string("0123456789"));
	}
	optreg_denials_bound(d);
	s = json_dumps(d, JSON_COMPACT);
	assert_true(strlen(s) <= OPTREG_DENIALS_DETAILS_MAX);
	assert_string_equal(json_string_value(json_object_get(d, "code")),
			    "forbidden");
	assert_non_null(json_object_get(d, "details_omitted"));
	free(s);
	json_decref(d);
}

static void test_per_principal_bound_and_summary(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_audit_actor a = {"flood-a@test", "tok_aaaaaaaaaaaaaaaa",
				       "req-a"};
	struct optreg_audit_actor b = {"flood-b@test", "tok_bbbbbbbbbbbbbbbb",
				       "req-b"};

	(void)state;
	struct optreg_denials *d =
		optreg_denials_new(&fixture_reg, 64, 3, 3600);
	assert_non_null(d);
	for (int i = 0; i < 50; i++)
		assert_int_equal(
			optreg_denials_record(
				d, &fixture_reg, &a, "team",
				json_pack("{s:s}", "code", "forbidden"), &errs),
			0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(optreg_denials_record(d, &fixture_reg, &b,
						       "team", huge_details(),
						       &errs),
				 0);
	optreg_denials_limited(d, &a);
	optreg_denials_limited(d, &a);
	assert_int_equal(count_action("flood-a@test", "write.denied"), 3);
	assert_int_equal(count_action("flood-b@test", "write.denied"), 3);
	assert_int_equal(count_action("flood-a@test", "write.denied.summary"),
			 0);
	/* Stopping writes what is pending. */
	optreg_denials_free(d);
	assert_int_equal(count_action("flood-a@test", "write.denied.summary"),
			 1);
	assert_int_equal(summary_field("flood-a@test", "denied"), 47);
	assert_int_equal(summary_field("flood-a@test", "rate_limited"), 2);
	assert_int_equal(summary_field("flood-a@test", "recorded"), 3);
	assert_int_equal(summary_field("flood-b@test", "denied"), 2);
	/* No event over 4 KiB, huge details or not. */
	assert_true(fixture_scalar("SELECT max(octet_length(event)) FROM "
				   "audit_events WHERE action LIKE "
				   "'write.denied%'") < 4096);
	optreg_errors_release(&errs);
}

static void test_window_ends(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_audit_actor c = {"flood-c@test", "tok_cccccccccccccccc",
				       "req-c"};

	(void)state;
	struct optreg_denials *d = optreg_denials_new(&fixture_reg, 64, 2, 1);
	for (int i = 0; i < 5; i++)
		optreg_denials_record(d, &fixture_reg, &c, "team",
				      json_pack("{s:s}", "code", "forbidden"),
				      &errs);
	assert_int_equal(count_action("flood-c@test", "write.denied"), 2);
	/* The thread writes the summary once the window has ended. */
	for (int i = 0; i < 40 && count_action("flood-c@test",
					       "write.denied.summary") == 0;
	     i++)
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	assert_int_equal(count_action("flood-c@test", "write.denied.summary"),
			 1);
	assert_int_equal(summary_field("flood-c@test", "denied"), 3);
	/* A new window records again. */
	optreg_denials_record(d, &fixture_reg, &c, "team",
			      json_pack("{s:s}", "code", "forbidden"), &errs);
	assert_int_equal(count_action("flood-c@test", "write.denied"), 3);
	optreg_denials_free(d);
	assert_int_equal(count_action("flood-c@test", "write.denied.summary"),
			 1);
	optreg_errors_release(&errs);
}

static void test_full_table_overflows(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_audit_actor e = {"flood-e@test", "tok_eeeeeeeeeeeeeeee",
				       "req-e"};
	struct optreg_audit_actor f = {"flood-f@test", "tok_ffffffffffffffff",
				       "req-f"};

	(void)state;
	struct optreg_denials *d = optreg_denials_new(&fixture_reg, 1, 5, 3600);
	optreg_denials_record(d, &fixture_reg, &e, "team",
			      json_pack("{s:s}", "code", "forbidden"), &errs);
	for (int i = 0; i < 4; i++)
		optreg_denials_record(d, &fixture_reg, &f, "team",
				      json_pack("{s:s}", "code", "forbidden"),
				      &errs);
	assert_int_equal(count_action("flood-e@test", "write.denied"), 1);
	assert_int_equal(count_action("flood-f@test", "write.denied"), 0);
	optreg_denials_free(d);
	assert_int_equal(count_action("", "write.denied.summary"), 1);
	assert_int_equal(summary_field("", "denied"), 4);
	optreg_errors_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_per_principal_bound_and_summary),
		cmocka_unit_test(test_window_ends),
		cmocka_unit_test(test_full_table_overflows),
	};

	return cmocka_run_group_tests_name("denials", tests, fixture_setup,
					   fixture_teardown);
}
