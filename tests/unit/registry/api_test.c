/*
 * tests/unit/registry/api_test.c: the handler layer of registry/api/
 * (api.h) without a server and without a database: requests made with
 * optreg_http_req_init() and run through api_dispatch(). It checks the
 * problem of api_problem() for every row of common/errcodes.h, the
 * mapping of api_fail()/api_fail_as() from service codes to problems, the
 * *_or_reply parameter helpers (true and silent, or false with the 400,
 * 415 or 401 answered), and the one paginator with its page tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/errcodes.h"
#include "common/error.h"
#include "registry/api/api.h"
#include "registry/http.h"

/* A registry without a database: enough for every helper tested here
 * (authentication without a token never reaches the pool). */
static struct registry test_reg;

/* What a handler does; set before each api_dispatch(). */
static void (*step)(struct api_call *call);
static struct optreg_errors step_errs;
static int step_code, step_rc;
static bool step_ok;
static const struct api_fail_as *step_as;

static void run(struct optreg_http_req *req, void (*fn)(struct api_call *))
{
	optreg_http_req_init(req);
	strcpy(req->request_id, "rid-7");
	req->method = "GET";
	req->path = "/v1/test";
	req->ctx = &test_reg;
	step = fn;
}

static void handler(struct api_call *call)
{
	step(call);
}

static json_t *reply(struct optreg_http_req *req)
{
	json_error_t err;
	json_t *j = json_loadb(req->resp.data, req->resp.len, 0, &err);

	if (!j)
		fail_msg("not JSON (%s): %.200s", err.text,
			 req->resp.data ? req->resp.data : "");
	return j;
}

static const char *str(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* Checks that `req` was answered `status` with problem `code`; returns the
 * problem (release it). */
static json_t *problem(struct optreg_http_req *req, unsigned status,
		       const char *code)
{
	assert_int_equal(req->status, status);
	assert_string_equal(req->content_type, "application/problem+json");
	json_t *j = reply(req);
	assert_string_equal(str(j, "code"), code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	assert_string_equal(str(j, "request_id"), "rid-7");
	return j;
}

/* ---- api_problem: every row of the table ------------------------------ */

struct row {
	int code;
	const char *problem;
	unsigned status;
	const char *title;
};

#define ROW(e, num, name, prob, status, exit, title)                           \
	{OPTREG_##e, prob, status, title},
static const struct row rows[] = {OPTREG_ERRNO_MAP(ROW)};
#undef ROW

static void do_problem(struct api_call *call)
{
	api_problem(call, step_code, step_errs.len ? &step_errs : NULL,
		    "detail %d", 42);
}

static void test_problem_every_code(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		struct optreg_http_req req;
		run(&req, do_problem);
		step_code = rows[i].code;
		api_dispatch(&req, handler);
		json_t *j = problem(&req, rows[i].status, rows[i].problem);
		assert_string_equal(str(j, "title"), rows[i].title);
		assert_string_equal(str(j, "detail"), "detail 42");
		char *type = optreg_xasprintf("https://optreg.dev/problems/%s",
					      rows[i].problem);
		assert_string_equal(str(j, "type"), type);
		free(type);
		assert_null(json_object_get(j, "errors"));
		json_decref(j);
		optreg_http_req_release(&req);
	}
}

/* With errors, they are listed with their rule and path. */
static void test_problem_with_errors(void **state)
{
	struct optreg_http_req req;

	(void)state;
	optreg_errors_add(&step_errs, OPTREG_EINVAL, "pattern", "namespaces[1]",
			  "must be a glob");
	run(&req, do_problem);
	step_code = OPTREG_EINVAL;
	api_dispatch(&req, handler);
	json_t *j = problem(&req, 422, "invalid_config");
	json_t *e = json_array_get(json_object_get(j, "errors"), 0);
	assert_string_equal(str(e, "rule"), "pattern");
	assert_string_equal(str(e, "path"), "namespaces[1]");
	assert_string_equal(str(e, "message"), "must be a glob");
	json_decref(j);
	optreg_http_req_release(&req);
	optreg_errors_release(&step_errs);
}

/* ---- api_fail and api_fail_as ----------------------------------------- */

static void do_fail(struct api_call *call)
{
	if (step_as)
		api_fail_as(call, step_rc, &step_errs, step_as);
	else
		api_fail(call, step_rc, step_errs.len ? &step_errs : NULL);
}

/* Fails with `rc` and one error of `rule` (none when NULL); returns the
 * problem, checked to be `status` and `code`. */
static json_t *fail_with(struct optreg_http_req *req, int rc, const char *rule,
			 unsigned status, const char *code)
{
	optreg_errors_release(&step_errs);
	if (rule)
		optreg_errors_add(&step_errs, rc, rule, "p", "first message");
	run(req, do_fail);
	step_rc = rc;
	api_dispatch(req, handler);
	return problem(req, status, code);
}

static void test_fail_mapping(void **state)
{
	struct optreg_http_req req;
	json_t *j;

	(void)state;
	step_as = NULL;
	/* Not found: the service's message, no errors. */
	j = fail_with(&req, OPTREG_ENOTFOUND, "not_found", 404, "not_found");
	assert_string_equal(str(j, "detail"), "first message");
	assert_null(json_object_get(j, "errors"));
	json_decref(j);
	optreg_http_req_release(&req);
	/* Without errors, a generic detail. */
	j = fail_with(&req, OPTREG_ENOTFOUND, NULL, 404, "not_found");
	assert_string_equal(str(j, "detail"), "request failed");
	json_decref(j);
	optreg_http_req_release(&req);
	/* Conflicts keep their errors; rule "yanked" is its own code. */
	j = fail_with(&req, OPTREG_ECONFLICT, "conflict", 409, "conflict");
	assert_string_equal(
		str(json_array_get(json_object_get(j, "errors"), 0), "rule"),
		"conflict");
	json_decref(j);
	optreg_http_req_release(&req);
	j = fail_with(&req, OPTREG_ECONFLICT, "yanked", 409, "yanked");
	json_decref(j);
	optreg_http_req_release(&req);
	/* Invalid input: 422 with every error and their count. */
	j = fail_with(&req, OPTREG_EINVAL, "type", 422, "invalid_config");
	assert_string_equal(str(j, "detail"), "the config has 1 error");
	assert_string_equal(
		str(json_array_get(json_object_get(j, "errors"), 0), "path"),
		"p");
	json_decref(j);
	optreg_http_req_release(&req);
	/* Unavailable: 503, Retry-After, the cause not shown. */
	j = fail_with(&req, OPTREG_EUNAVAILABLE, "db", 503, "unavailable");
	assert_string_equal(optreg_http_resp_header(&req, "Retry-After"), "1");
	assert_null(strstr(str(j, "detail"), "first message"));
	json_decref(j);
	optreg_http_req_release(&req);
	/* Anything else is internal: 500, the request id, no cause. */
	const int others[] = {OPTREG_EINTERNAL, OPTREG_EIO,	OPTREG_ENOMEM,
			      OPTREG_EDENIED,	OPTREG_EUNAUTH, OPTREG_ESYNTAX};
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
		j = fail_with(&req, others[i], "x", 500, "internal");
		assert_non_null(strstr(str(j, "detail"), "rid-7"));
		assert_null(json_object_get(j, "errors"));
		json_decref(j);
		optreg_http_req_release(&req);
	}
	optreg_errors_release(&step_errs);
}

static void test_fail_as(void **state)
{
	static const struct api_fail_as as[] = {
		{OPTREG_EDENIED, OPTREG_ESIGREFUSED, NULL, true},
		{OPTREG_ECONFLICT, API_CODE_FROM_RULE, NULL, false},
		{OPTREG_ENOTFOUND, OPTREG_ENOTFOUND, "no such thing", false},
		{0, 0, NULL, false},
	};
	struct optreg_http_req req;
	json_t *j;

	(void)state;
	step_as = as;
	j = fail_with(&req, OPTREG_EDENIED, "threshold", 403,
		      "signature_refused");
	assert_string_equal(str(j, "detail"), "first message");
	assert_non_null(json_object_get(j, "errors"));
	json_decref(j);
	optreg_http_req_release(&req);
	/* The code from the first error's rule, 409 when it names none. */
	j = fail_with(&req, OPTREG_ECONFLICT, "lease_lost", 409, "lease_lost");
	assert_null(json_object_get(j, "errors"));
	json_decref(j);
	optreg_http_req_release(&req);
	j = fail_with(&req, OPTREG_ECONFLICT, "recorded", 409, "recorded");
	json_decref(j);
	optreg_http_req_release(&req);
	j = fail_with(&req, OPTREG_ECONFLICT, "no_such_rule", 409, "conflict");
	json_decref(j);
	optreg_http_req_release(&req);
	j = fail_with(&req, OPTREG_ENOTFOUND, "not_found", 404, "not_found");
	assert_string_equal(str(j, "detail"), "no such thing");
	json_decref(j);
	optreg_http_req_release(&req);
	/* Codes the table does not name fall back to api_fail. */
	j = fail_with(&req, OPTREG_EINVAL, "type", 422, "invalid_config");
	json_decref(j);
	optreg_http_req_release(&req);

	/* The stores' table: invalid input is a malformed request. */
	step_as = api_store_fail_as;
	j = fail_with(&req, OPTREG_EINVAL, "pattern", 400, "bad_request");
	assert_string_equal(str(j, "detail"), "the request is malformed");
	assert_non_null(json_object_get(j, "errors"));
	json_decref(j);
	optreg_http_req_release(&req);
	step_as = NULL;
	optreg_errors_release(&step_errs);
}

/* ---- parameter helpers ------------------------------------------------ */

static const char *step_arg;
static bool step_flag;
static int step_int;

static void do_namespace(struct api_call *call)
{
	step_ok = api_namespace_or_reply(call, step_arg, 80);
}
static void do_version(struct api_call *call)
{
	step_int = -1;
	step_ok = api_version_or_reply(call, step_arg, &step_int);
}
static void do_tag(struct api_call *call)
{
	step_ok = api_tag_or_reply(call, step_arg, step_flag);
}
static void do_digest(struct api_call *call)
{
	step_ok = api_digest_or_reply(call, step_arg);
}
static void do_config(struct api_call *call)
{
	step_ok = api_config_params_or_reply(call);
}
static void do_page_size(struct api_call *call)
{
	step_int = -1;
	step_ok = api_page_size_or_reply(call, &step_int);
}
static void do_body(struct api_call *call)
{
	step_ok = api_json_body_or_reply(call);
	step_flag = json_is_object(call->body);
}

/* Runs `fn` with argument `arg`; expects it to accept silently, or to
 * answer 400 bad_request (or `status`/`code`). */
static void expect(void (*fn)(struct api_call *), const char *arg, bool ok,
		   unsigned status, const char *code)
{
	struct optreg_http_req req;

	run(&req, fn);
	step_arg = arg;
	api_dispatch(&req, handler);
	if (ok) {
		assert_true(step_ok);
		assert_int_equal(req.status, 0);
		assert_int_equal(req.resp.len, 0);
	} else {
		assert_false(step_ok);
		json_decref(problem(&req, status ? status : 400,
				    code ? code : "bad_request"));
	}
	optreg_http_req_release(&req);
}

static void test_name_params(void **state)
{
	(void)state;
	expect(do_namespace, "team", true, 0, NULL);
	expect(do_namespace, "Team", false, 0, NULL);
	expect(do_namespace, "", false, 0, NULL);
	expect(do_digest,
	       "sha256:0123456789abcdef0123456789abcdef"
	       "0123456789abcdef0123456789abcdef",
	       true, 0, NULL);
	expect(do_digest, "sha256:ABC", false, 0, NULL);
	step_flag = true;
	expect(do_tag, "stable", true, 0, NULL);
	expect(do_tag, "123", false, 0, NULL);
	step_flag = false;
	expect(do_tag, "a/b", false, 0, NULL);
}

static void test_version_param(void **state)
{
	(void)state;
	expect(do_version, "7", true, 0, NULL);
	assert_int_equal(step_int, 7);
	expect(do_version, "2147483647", true, 0, NULL);
	const char *bad[] = {"0",	   "-1", "1.5",	  "abc", "",
			     "2147483648", "7x", "00001", "07",	 "00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		expect(do_version, bad[i], false, 0, NULL);

	long v = 0;
	assert_true(api_parse_long("-5", -10, 10, &v));
	assert_int_equal(v, -5);
	assert_false(api_parse_long("11", -10, 10, &v));
	assert_false(api_parse_long(NULL, 0, 10, &v));
	assert_false(api_parse_long(" 1", 0, 10, &v));
	assert_false(api_parse_long("+1", 0, 10, &v));
	/* One spelling per number: leading zeros are refused. */
	assert_true(api_parse_long("0", -10, 10, &v));
	assert_int_equal(v, 0);
	assert_false(api_parse_long("01", -10, 10, &v));
	assert_false(api_parse_long("-0", -10, 10, &v));
	assert_false(api_parse_long("-01", -10, 10, &v));
}

static void test_config_params(void **state)
{
	struct optreg_http_req req;

	(void)state;
	const char *cases[][2] = {
		{"team", "adam"}, {"Team", "adam"}, {"team", "Bad Name"}};
	for (int i = 0; i < 3; i++) {
		run(&req, do_config);
		req.params[0] = cases[i][0];
		req.params[1] = cases[i][1];
		req.nparams = 2;
		api_dispatch(&req, handler);
		if (i == 0) {
			assert_true(step_ok);
			assert_int_equal(req.status, 0);
		} else {
			assert_false(step_ok);
			json_t *j = problem(&req, 400, "bad_request");
			assert_non_null(strstr(str(j, "detail"),
					       cases[i][i == 1 ? 0 : 1]));
			json_decref(j);
		}
		optreg_http_req_release(&req);
	}
}

static void test_page_size(void **state)
{
	struct optreg_http_req req;

	(void)state;
	const char *queries[] = {
		NULL,	       "page_size=1",	"page_size=100",
		"page_size=0", "page_size=101", "page_size=ten",
		"page_size="};
	const int want[] = {API_DEFAULT_PAGE, 1, 100, -1, -1, -1, -1};
	for (int i = 0; i < 7; i++) {
		run(&req, do_page_size);
		req.query = queries[i];
		api_dispatch(&req, handler);
		assert_int_equal(step_int, want[i]);
		if (want[i] > 0)
			assert_int_equal(req.status, 0);
		else
			json_decref(problem(&req, 400, "bad_request"));
		optreg_http_req_release(&req);
	}
}

/* Runs do_body on `body` with Content-Type `ct` (none when NULL). */
static json_t *body_with(struct optreg_http_req *req, const char *ct,
			 const char *body)
{
	run(req, do_body);
	req->method = "POST";
	if (ct)
		optreg_http_req_add_header(req, "Content-Type", ct);
	optreg_buf_adds(&req->body, body);
	step_flag = false;
	api_dispatch(req, handler);
	return req->status ? reply(req) : NULL;
}

static void test_json_body(void **state)
{
	struct optreg_http_req req;
	json_t *j;

	(void)state;
	const char *good_ct[] = {"application/json",
				 "application/json; charset=utf-8",
				 "application/vnd.dsse+json"};
	for (int i = 0; i < 3; i++) {
		assert_null(body_with(&req, good_ct[i], "{\"a\": 1}"));
		assert_true(step_ok);
		assert_true(step_flag);
		optreg_http_req_release(&req);
	}
	j = body_with(&req, "text/plain", "{}");
	assert_false(step_ok);
	json_decref(j);
	json_decref(problem(&req, 415, "unsupported_media_type"));
	optreg_http_req_release(&req);

	/* A body without a Content-Type, or with a type that only starts
	 * like JSON's, is 415 too; the detail says what to send. */
	const char *bad_ct[] = {NULL, "application/jsonx", "application/json5"};
	for (int i = 0; i < 3; i++) {
		json_decref(body_with(&req, bad_ct[i], "{\"a\": 1}"));
		assert_false(step_ok);
		j = problem(&req, 415, "unsupported_media_type");
		assert_non_null(strstr(str(j, "detail"), "application/json"));
		json_decref(j);
		optreg_http_req_release(&req);
	}

	/* Not an object, not JSON, duplicate keys: 400 with a syntax error
	 * (its position when the text is not JSON). */
	const char *bad[] = {"[1]", "{\"a\":", "{\"a\":1,\"a\":2}", ""};
	for (int i = 0; i < 4; i++) {
		json_decref(body_with(&req, "application/json", bad[i]));
		assert_false(step_ok);
		assert_false(step_flag);
		j = problem(&req, 400, "bad_request");
		json_t *e = json_array_get(json_object_get(j, "errors"), 0);
		assert_string_equal(str(e, "rule"), "syntax");
		if (i == 1)
			assert_int_equal(
				json_integer_value(json_object_get(e, "line")),
				1);
		json_decref(j);
		optreg_http_req_release(&req);
	}
}

/* ---- authentication without a database -------------------------------- */

static void do_allow(struct api_call *call)
{
	step_ok = api_allow_or_reply(call, OPTREG_ROLE_READER, "team");
}

static void test_anonymous(void **state)
{
	struct optreg_http_req req;

	(void)state;
	test_reg.anonymous_read = true;
	run(&req, do_allow);
	api_dispatch(&req, handler);
	assert_true(step_ok);
	assert_int_equal(req.status, 0);
	optreg_http_req_release(&req);

	test_reg.anonymous_read = false;
	run(&req, do_allow);
	api_dispatch(&req, handler);
	assert_false(step_ok);
	json_decref(problem(&req, 401, "unauthorized"));
	assert_non_null(optreg_http_resp_header(&req, "WWW-Authenticate"));
	optreg_http_req_release(&req);

	/* A malformed token is refused before any database. */
	run(&req, do_allow);
	optreg_http_req_add_header(&req, "Authorization", "Bearer nope");
	api_dispatch(&req, handler);
	assert_false(step_ok);
	json_decref(problem(&req, 401, "unauthorized"));
	optreg_http_req_release(&req);
}

/* ---- the paginator ---------------------------------------------------- */

static json_t *next_state(json_t *last)
{
	return json_pack("{s:O}", "after", json_object_get(last, "k"));
}

static json_t *step_list;
static int step_size;
static json_t *step_state;

static void do_page(struct api_call *call)
{
	api_page_reply_new(call, "items", step_list, step_size, next_state);
}
static void do_token(struct api_call *call)
{
	step_state = NULL;
	step_ok = api_page_token_or_reply(call, &step_state);
}

/* A list of `n` items {"k": "<prefix><i>"}. */
static json_t *items(int n, const char *prefix)
{
	json_t *list = json_array();

	for (int i = 0; i < n; i++) {
		char *k = optreg_xasprintf("%s%d", prefix, i);
		json_array_append_new(list, json_pack("{s:s}", "k", k));
		free(k);
	}
	return list;
}

/* Pages `n` items by `size`; returns the next_page_token (owned) or
 * NULL, after checking the page holds min(n, size) items. */
static char *page(int n, int size, const char *prefix)
{
	struct optreg_http_req req;

	run(&req, do_page);
	step_list = items(n, prefix);
	step_size = size;
	api_dispatch(&req, handler);
	assert_int_equal(req.status, 200);
	json_t *j = reply(&req);
	assert_int_equal(json_array_size(json_object_get(j, "items")),
			 n < size ? n : size);
	const char *tok = str(j, "next_page_token");
	if (n <= size)
		assert_true(
			json_is_null(json_object_get(j, "next_page_token")));
	char *out = tok ? optreg_xstrdup(tok) : NULL;
	json_decref(j);
	optreg_http_req_release(&req);
	return out;
}

/* Reads page_token `tok` back; returns the state (owned) or NULL when
 * answered 400. */
static json_t *token_back(const char *tok)
{
	struct optreg_http_req req;
	char *q = optreg_xasprintf("page_token=%s", tok);

	run(&req, do_token);
	req.query = q;
	api_dispatch(&req, handler);
	if (step_ok)
		assert_int_equal(req.status, 0);
	else
		json_decref(problem(&req, 400, "bad_request"));
	optreg_http_req_release(&req);
	free(q);
	return step_ok ? step_state : NULL;
}

static void test_paginator(void **state)
{
	(void)state;
	/* A full page and one more: a token naming the page's last item. */
	char *tok = page(4, 3, "item-");
	assert_non_null(tok);
	assert_null(strchr(tok, '='));
	json_t *st = token_back(tok);
	assert_non_null(st);
	assert_string_equal(str(st, "after"), "item-2");
	json_decref(st);
	free(tok);
	/* The last page (or less): no token. */
	assert_null(page(3, 3, "item-"));
	assert_null(page(0, 3, "item-"));

	/* URL-safe tokens round-trip whatever their padding and alphabet:
	 * prefixes of every length mod 3, and bytes that base64 to '+'
	 * and '/' ("?>" and two question marks do). */
	static const char qq[] = {'?', '?', '>', '\0'}; /* no trigraph */
	const char *prefixes[] = {
		"", "a", "ab", "?>", qq, "\xc3\xbf\xc3\xbe", "~~~", ">>>?"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		char *t = page(2, 1, prefixes[i]);
		assert_non_null(t);
		assert_null(strpbrk(t, "+/="));
		st = token_back(t);
		assert_non_null(st);
		char *want = optreg_xasprintf("%s0", prefixes[i]);
		assert_string_equal(str(st, "after"), want);
		free(want);
		json_decref(st);
		free(t);
	}

	/* No token, an empty one: no state. Garbage: 400. */
	struct optreg_http_req req;
	run(&req, do_token);
	api_dispatch(&req, handler);
	assert_true(step_ok);
	assert_null(step_state);
	optreg_http_req_release(&req);
	assert_null(token_back(""));
	assert_true(step_ok);
	assert_null(token_back("!!!"));
	assert_false(step_ok);
	assert_null(token_back("WzFd")); /* "[1]": not an object */
	assert_false(step_ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_every_code),
		cmocka_unit_test(test_problem_with_errors),
		cmocka_unit_test(test_fail_mapping),
		cmocka_unit_test(test_fail_as),
		cmocka_unit_test(test_name_params),
		cmocka_unit_test(test_version_param),
		cmocka_unit_test(test_config_params),
		cmocka_unit_test(test_page_size),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_anonymous),
		cmocka_unit_test(test_paginator),
	};

	return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
