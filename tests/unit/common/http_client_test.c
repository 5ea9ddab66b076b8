/*
 * tests/unit/common/http_client_test.c: reading a registry problem back into
 * optreg_errors (optreg_http_resp_problem), without a network.
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
#include "common/http_client.h"

static void answer(struct optreg_http_resp *resp, long status, const char *body)
{
	optreg_http_resp_init(resp);
	resp->status = status;
	optreg_buf_adds(&resp->body, body);
}

static void test_problem_keeps_every_field(void **state)
{
	struct optreg_http_resp resp;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *code;

	(void)state;
	answer(&resp, 422,
	       "{\"type\":\"https://optreg.dev/problems/invalid_config\","
	       "\"title\":\"Unprocessable Content\",\"status\":422,"
	       "\"detail\":\"the config has 2 errors\",\"code\":"
	       "\"invalid_config\",\"request_id\":\"r1\",\"errors\":["
	       "{\"path\":\"spec.betas[1]\",\"rule\":\"exclusive_maximum\","
	       "\"message\":\"must be less than 1 (got 1)\",\"hint\":\"use "
	       "0.999\",\"line\":8,\"col\":5},"
	       "{\"code\":\"name_mismatch\",\"path\":\"metadata.name\","
	       "\"rule\":\"name\",\"message\":\"differs\",\"detail\":\"the "
	       "URL says b\"}]}");
	code = optreg_http_resp_problem(&resp, &errs);
	assert_string_equal(code, "invalid_config");
	assert_int_equal(errs.len, 3);

	assert_int_equal(errs.items[0].code, OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "invalid_config");
	assert_string_equal(errs.items[0].path, "");
	assert_string_equal(errs.items[0].message, "the config has 2 errors");
	assert_null(errs.items[0].detail);
	assert_int_equal(optreg_code_exit(errs.items[0].code),
			 OPTREG_EXIT_INVALID);

	assert_int_equal(errs.items[1].code, OPTREG_EINVAL);
	assert_string_equal(errs.items[1].rule, "exclusive_maximum");
	assert_string_equal(errs.items[1].path, "spec.betas[1]");
	assert_string_equal(errs.items[1].message,
			    "must be less than 1 (got 1)");
	assert_string_equal(errs.items[1].hint, "use 0.999");
	assert_int_equal(errs.items[1].line, 8);
	assert_int_equal(errs.items[1].col, 5);

	assert_int_equal(errs.items[2].code, OPTREG_ENAMEMISMATCH);
	assert_string_equal(errs.items[2].detail, "the URL says b");
	assert_null(errs.items[2].hint);
	optreg_errors_release(&errs);
	optreg_http_resp_release(&resp);
}

static void test_problem_codes_follow_the_table(void **state)
{
	static const struct {
		long status;
		const char *body;
		int code;
		const char *rule;
		int exit;
	} cases[] = {
		{409, "{\"code\":\"lease_lost\",\"detail\":\"gone\"}",
		 OPTREG_ELEASELOST, "lease_lost", OPTREG_EXIT_CONFLICT},
		{403, "{\"code\":\"signature_refused\",\"detail\":\"no\"}",
		 OPTREG_ESIGREFUSED, "signature_refused", OPTREG_EXIT_DENIED},
		{418, "{\"code\":\"teapot\",\"title\":\"I'm a teapot\"}",
		 OPTREG_EBADREQUEST, "teapot", OPTREG_EXIT_INVALID},
		{400, "{\"code\":\"conflict\",\"detail\":\"odd\"}",
		 OPTREG_EBADREQUEST, "conflict", OPTREG_EXIT_INVALID},
		{429, "", OPTREG_EUNAVAILABLE, "http_429",
		 OPTREG_EXIT_UNAVAILABLE},
		{302, "", OPTREG_EUNAVAILABLE, "http_302",
		 OPTREG_EXIT_UNAVAILABLE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct optreg_http_resp resp;
		struct optreg_errors errs = OPTREG_ERRORS_INIT;

		answer(&resp, cases[i].status, cases[i].body);
		assert_string_equal(optreg_http_resp_problem(&resp, &errs),
				    cases[i].rule);
		assert_int_equal(errs.items[0].code, cases[i].code);
		assert_string_equal(errs.items[0].rule, cases[i].rule);
		assert_int_equal(optreg_code_exit(errs.items[0].code),
				 cases[i].exit);
		optreg_errors_release(&errs);
		optreg_http_resp_release(&resp);
	}
}

static void test_not_a_problem(void **state)
{
	struct optreg_http_resp resp;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	answer(&resp, 502, "<html>bad gateway</html>");
	resp.request_id = strdup("abc");
	assert_string_equal(optreg_http_resp_problem(&resp, &errs), "http_502");
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EUNAVAILABLE);
	assert_string_equal(errs.items[0].message,
			    "the registry answered 502 Bad Gateway");
	assert_string_equal(errs.items[0].detail, "the request id is abc");
	optreg_errors_release(&errs);
	optreg_http_resp_release(&resp);

	answer(&resp, 500, "{\"code\":\"internal\",\"errors\":[{}, 3]}");
	assert_string_equal(optreg_http_resp_problem(&resp, &errs), "internal");
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EINTERNAL);
	assert_string_equal(errs.items[0].message,
			    "the registry answered 500 Internal Server Error");
	assert_null(errs.items[0].detail);
	optreg_errors_release(&errs);
	optreg_http_resp_release(&resp);
}

/* No answer at all is "unavailable", the CLI's exit status 7. */
static void test_transport_failure(void **state)
{
	struct optreg_http_client c;
	struct optreg_http_resp resp;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	assert_int_equal(
		optreg_http_client_init(&c, "http://127.0.0.1:1", "", &errs),
		0);
	c.connect_timeout_ms = 2000;
	optreg_http_resp_init(&resp);
	assert_int_equal(optreg_http_request(&c, "GET", "/healthz", NULL, NULL,
					     &resp, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EUNAVAILABLE);
	assert_int_equal(optreg_code_exit(errs.items[0].code),
			 OPTREG_EXIT_UNAVAILABLE);
	assert_string_equal(errs.items[0].message,
			    "cannot reach the registry at http://127.0.0.1:1");
	assert_non_null(errs.items[0].detail);
	assert_non_null(errs.items[0].hint);
	optreg_errors_release(&errs);
	optreg_http_resp_release(&resp);
	optreg_http_client_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_keeps_every_field),
		cmocka_unit_test(test_problem_codes_follow_the_table),
		cmocka_unit_test(test_not_a_problem),
		cmocka_unit_test(test_transport_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
