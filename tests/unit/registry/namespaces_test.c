/*
 * tests/unit/registry/namespaces_test.c: the namespaces service
 * (registry/svc/namespaces.h) against a private PostgreSQL cluster,
 * without HTTP: the default threshold, setting it (one audit event per
 * change, none for a repeat), and refused values writing nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/svc/namespaces.h"
#include "svc_fixture.h"

static int threshold_of(json_t *out)
{
	return (int)json_integer_value(
		json_object_get(out, "signature_threshold"));
}

static void test_get_default(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = NULL;

	(void)state;
	assert_int_equal(
		optreg_namespaces_get(&fixture_reg, "fresh", &out, &errs), 0);
	assert_string_equal(
		json_string_value(json_object_get(out, "namespace")), "fresh");
	assert_int_equal(threshold_of(out), 1);
	json_decref(out);
	assert_int_equal(errs.len, 0);
}

static void test_put_then_get(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = NULL;

	(void)state;
	long long events = fixture_count("audit_events");
	assert_int_equal(optreg_namespaces_put(&fixture_reg, &fixture_who,
					       "team", 2, &out, &errs),
			 0);
	assert_int_equal(threshold_of(out), 2);
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(
		fixture_scalar("SELECT count(*) FROM audit_events WHERE action"
			       " = 'namespace.settings' AND target = 'team'"
			       " AND event::jsonb #>> '{details,"
			       "signature_threshold,from}' = '1'"),
		1);
	assert_int_equal(
		optreg_namespaces_get(&fixture_reg, "team", &out, &errs), 0);
	assert_int_equal(threshold_of(out), 2);
	json_decref(out);

	/* The same value again: answered, but no event. */
	assert_int_equal(optreg_namespaces_put(&fixture_reg, &fixture_who,
					       "team", 2, &out, &errs),
			 0);
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 1);

	/* Back to the default: a change, so an event. */
	assert_int_equal(optreg_namespaces_put(&fixture_reg, &fixture_who,
					       "team", 1, &out, &errs),
			 0);
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 2);
	assert_int_equal(errs.len, 0);
}

/* Values the caller should have refused (the api checks 1..16 and the
 * name) are still refused by the database's checks, as an internal error
 * (rule "database"), in one transaction: no row, no event. */
static void test_put_refused_writes_nothing(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = (json_t *)1;
	const int thresholds[] = {0, 17, -1};

	(void)state;
	long long events = fixture_count("audit_events");
	long long rows = fixture_count("namespace_settings");
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(optreg_namespaces_put(
					 &fixture_reg, &fixture_who, "other",
					 thresholds[i], &out, &errs),
				 OPTREG_EINTERNAL);
		assert_null(out);
		assert_string_equal(errs.items[0].rule, "database");
		optreg_errors_release(&errs);
	}
	assert_int_equal(optreg_namespaces_put(&fixture_reg, &fixture_who,
					       "Bad NS", 2, &out, &errs),
			 OPTREG_EINTERNAL);
	assert_null(out);
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("audit_events"), events);
	assert_int_equal(fixture_count("namespace_settings"), rows);
	/* The connection is usable again afterwards. */
	assert_int_equal(
		optreg_namespaces_get(&fixture_reg, "other", &out, &errs), 0);
	assert_int_equal(threshold_of(out), 1);
	json_decref(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_default),
		cmocka_unit_test(test_put_then_get),
		cmocka_unit_test(test_put_refused_writes_nothing),
	};

	return cmocka_run_group_tests_name("namespaces", tests, fixture_setup,
					   fixture_teardown);
}
