/*
 * tests/unit/cli/verdict_test.c: what a verdict means for the exit status
 * (cli/verdict.c): the exit statuses of `submit --wait`, what
 * `fetch --require-verdict` accepts, which verdict is the latest, and when
 * no verdict will come.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static void test_exit(void **state)
{
	(void)state;
	assert_int_equal(cli_verdict_exit("pass"), 0);
	assert_int_equal(cli_verdict_exit("warn"), 10);
	assert_int_equal(cli_verdict_exit("fail"), 11);
	assert_int_equal(cli_verdict_exit("error"), 11);
	assert_int_equal(cli_verdict_exit(NULL), 11);
	assert_int_equal(cli_verdict_exit("PASS"), 11);
	assert_int_equal(OPTREG_EXIT_VERDICT_WARN, 10);
	assert_int_equal(OPTREG_EXIT_VERDICT_FAIL, 11);
	assert_int_equal(OPTREG_EXIT_TIMEOUT, 12);
}

static void test_meets(void **state)
{
	(void)state;
	assert_true(cli_verdict_meets("pass", "pass"));
	assert_false(cli_verdict_meets("warn", "pass"));
	assert_false(cli_verdict_meets("fail", "pass"));
	assert_false(cli_verdict_meets(NULL, "pass"));
	assert_true(cli_verdict_meets("pass", "warn"));
	assert_true(cli_verdict_meets("warn", "warn"));
	assert_false(cli_verdict_meets("fail", "warn"));
	assert_false(cli_verdict_meets("error", "warn"));
	assert_false(cli_verdict_meets(NULL, "warn"));
}

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* The newest by created_at, then by job id, whatever the order. */
static void test_latest(void **state)
{
	json_t *a;
	const json_t *v;

	(void)state;
	a = parse("{\"verdicts\": [], \"jobs\": []}");
	assert_null(cli_verdict_latest(a));
	json_decref(a);

	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\"}], "
		  "\"verdicts\": ["
		  "{\"job_id\": 1, \"result\": \"fail\", \"suite\": "
		  "\"ref-v1\", \"created_at\": \"2026-12-01T10:00:00.000Z\"},"
		  "{\"job_id\": 3, \"result\": \"pass\", \"suite\": "
		  "\"ref-v1\", \"created_at\": \"2026-12-02T10:00:00.000Z\"},"
		  "{\"job_id\": 2, \"result\": \"warn\", \"suite\": "
		  "\"ref-v1\", \"created_at\": "
		  "\"2026-12-02T10:00:00.000Z\"}]}");
	v = cli_verdict_latest(a);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "result")),
			    "pass");
	json_decref(a);

	/* An item without a result is not a verdict. */
	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\"}], "
		  "\"verdicts\": [{\"job_id\": 9, \"suite\": \"ref-v1\", "
		  "\"created_at\": \"2027-01-01T00:00:00Z\"}, {\"job_id\": 1, "
		  "\"result\": \"fail\", \"suite\": \"ref-v1\", "
		  "\"created_at\": \"2026-01-01T00:00:00Z\"}]}");
	v = cli_verdict_latest(a);
	assert_string_equal(json_string_value(json_object_get(v, "result")),
			    "fail");
	json_decref(a);
}

/* Two suites: a newer verdict on a suite no job runs (a runner's own
 * suite) does not count; the gate looks at the reference suite only. */
static void test_latest_two_suites(void **state)
{
	json_t *a;
	const json_t *v;

	(void)state;
	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\", "
		  "\"state\": \"done\"}], \"verdicts\": ["
		  "{\"job_id\": 1, \"result\": \"fail\", \"suite\": "
		  "\"ref-v1\", \"created_at\": \"2026-12-01T10:00:00Z\"},"
		  "{\"job_id\": 7, \"result\": \"pass\", \"suite\": "
		  "\"smoke\", \"created_at\": \"2026-12-02T10:00:00Z\"}]}");
	v = cli_verdict_latest(a);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "suite")),
			    "ref-v1");
	assert_string_equal(json_string_value(json_object_get(v, "result")),
			    "fail");
	json_decref(a);
	/* Only the other suite: no verdict that counts yet. */
	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\", "
		  "\"state\": \"queued\"}], \"verdicts\": ["
		  "{\"job_id\": 7, \"result\": \"pass\", \"suite\": "
		  "\"smoke\", \"created_at\": \"2026-12-02T10:00:00Z\"}]}");
	assert_null(cli_verdict_latest(a));
	json_decref(a);
	/* After the registry moved to ref-v2 (a newer job for it): the old
	 * ref-v1 pass no longer counts, as at the gate; the ref-v2 verdict
	 * does once it comes, and until then nothing is final. */
	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\", "
		  "\"state\": \"done\"}, {\"id\": 40, \"suite\": "
		  "\"ref-v2\", \"state\": \"queued\"}], \"verdicts\": ["
		  "{\"job_id\": 1, \"result\": \"pass\", \"suite\": "
		  "\"ref-v1\", \"created_at\": \"2026-12-01T10:00:00Z\"}]}");
	assert_null(cli_verdict_latest(a));
	assert_null(cli_verdict_none_coming(a));
	json_decref(a);
	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\", "
		  "\"state\": \"done\"}, {\"id\": 40, \"suite\": "
		  "\"ref-v2\", \"state\": \"done\"}], \"verdicts\": ["
		  "{\"job_id\": 1, \"result\": \"pass\", \"suite\": "
		  "\"ref-v1\", \"created_at\": \"2026-12-01T10:00:00Z\"},"
		  "{\"job_id\": 40, \"result\": \"warn\", \"suite\": "
		  "\"ref-v2\", \"created_at\": \"2026-12-03T10:00:00Z\"}]}");
	v = cli_verdict_latest(a);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "suite")),
			    "ref-v2");
	json_decref(a);
	/* Its ref-v2 job abandoned: no verdict is coming, whatever ref-v1
	 * said. */
	a = parse("{\"jobs\": [{\"id\": 1, \"suite\": \"ref-v1\", "
		  "\"state\": \"done\"}, {\"id\": 40, \"suite\": "
		  "\"ref-v2\", \"state\": \"abandoned\"}], "
		  "\"verdicts\": []}");
	assert_non_null(cli_verdict_none_coming(a));
	json_decref(a);
}

static void test_none_coming(void **state)
{
	json_t *a;
	const json_t *j;

	(void)state;
	a = parse("{\"verdicts\": [], \"jobs\": []}");
	assert_null(cli_verdict_none_coming(a)); /* no job yet: wait */
	json_decref(a);
	a = parse("{\"jobs\": [{\"id\": 1, \"state\": \"abandoned\"}, "
		  "{\"id\": 2, \"state\": \"queued\"}]}");
	assert_null(cli_verdict_none_coming(a));
	json_decref(a);
	a = parse("{\"jobs\": [{\"id\": 1, \"state\": \"abandoned\"}, "
		  "{\"id\": 2, \"state\": \"abandoned\", \"last_error\": "
		  "\"oom\"}]}");
	j = cli_verdict_none_coming(a);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 2);
	json_decref(a);
}

static void test_describe(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *v = parse("{\"job_id\": 12, \"result\": \"warn\", \"suite\": "
			  "\"ref-v1\", \"runner\": \"runner@ops\"}");

	(void)state;
	cli_verdict_describe(v, &b);
	assert_string_equal(b.data,
			    "warn (suite ref-v1, job 12, runner runner@ops)");
	optreg_buf_release(&b);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit),
		cmocka_unit_test(test_meets),
		cmocka_unit_test(test_latest),
		cmocka_unit_test(test_latest_two_suites),
		cmocka_unit_test(test_none_coming),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests_name("cli/verdict", tests, NULL, NULL);
}
