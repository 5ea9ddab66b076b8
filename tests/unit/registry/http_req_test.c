/*
 * tests/unit/registry/http_req_test.c: the request object without a server:
 * problem bodies, JSON replies, response and request headers, query
 * parameters, a handler run the way handlers are unit-tested, and the
 * request's dispose list (order, and that everything on it is released:
 * run under `make SAN=1` for the leak check).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "registry/http.h"

/* ---- request helpers and problems ------------------------------------------
 */

static json_t *parse(const struct optreg_buf *b)
{
	json_error_t err;
	json_t *j = json_loadb(b->data, b->len, 0, &err);

	if (!j)
		fail_msg("not JSON (%s): %s", err.text, b->data);
	return j;
}

static void test_problem_shape(void **state)
{
	struct optreg_http_req req;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_error *e;
	json_t *j, *items, *it;
	const char *key;
	json_t *v;
	size_t n = 0;

	(void)state;
	optreg_http_req_init(&req);
	strcpy(req.request_id, "rid-1");
	optreg_errors_add(&errs, OPTREG_EINVAL, "exclusive_maximum",
			  "spec.betas[1]", "must be less than 1 (got %d)", 1);
	e = optreg_errors_add(&errs, OPTREG_EINVAL, "required", "spec.lr",
			      "is required");
	optreg_error_set_hint(e, "add spec.lr");
	optreg_error_set_detail(e, "the peak learning rate");
	e->line = 3;
	e->col = 5;
	optreg_buf_adds(&req.resp, "leftover");
	optreg_http_problem(&req, 422, "invalid_config", &errs,
			    "the config has %zu errors", errs.len);
	assert_int_equal(req.status, 422);
	assert_string_equal(req.content_type, "application/problem+json");

	j = parse(&req.resp);
	/* Exactly these members, in this order. */
	static const char *const keys[] = {"type",   "title", "status",
					   "detail", "code",  "request_id",
					   "errors"};
	json_object_foreach(j, key, v)
	{
		assert_true(n < 7);
		assert_string_equal(key, keys[n]);
		n++;
	}
	assert_int_equal(n, 7);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
			    "https://optreg.dev/problems/invalid_config");
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "Unprocessable Content");
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 422);
	assert_string_equal(json_string_value(json_object_get(j, "detail")),
			    "the config has 2 errors");
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    "invalid_config");
	assert_string_equal(json_string_value(json_object_get(j, "request_id")),
			    "rid-1");
	items = json_object_get(j, "errors");
	assert_int_equal(json_array_size(items), 2);
	/* Items are optreg_errors_to_json's: code, path, rule, message, then
	 * detail, hint, line and col where set. */
	it = json_array_get(items, 0);
	assert_int_equal(json_object_size(it), 4);
	assert_string_equal(json_string_value(json_object_get(it, "code")),
			    optreg_code_problem(OPTREG_EINVAL));
	assert_string_equal(json_string_value(json_object_get(it, "path")),
			    "spec.betas[1]");
	assert_string_equal(json_string_value(json_object_get(it, "rule")),
			    "exclusive_maximum");
	assert_string_equal(json_string_value(json_object_get(it, "message")),
			    "must be less than 1 (got 1)");
	it = json_array_get(items, 1);
	assert_int_equal(json_object_size(it), 8);
	assert_string_equal(json_string_value(json_object_get(it, "detail")),
			    "the peak learning rate");
	assert_string_equal(json_string_value(json_object_get(it, "hint")),
			    "add spec.lr");
	assert_int_equal(json_integer_value(json_object_get(it, "line")), 3);
	assert_int_equal(json_integer_value(json_object_get(it, "col")), 5);
	json_decref(j);

	/* No errors list: no errors member; titles follow the status. */
	optreg_http_problem(&req, 401, "unauthorized", NULL, "no token");
	j = parse(&req.resp);
	assert_null(json_object_get(j, "errors"));
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "Unauthorized");
	json_decref(j);
	optreg_errors_release(&errs);
	optreg_http_problem(&req, 404, "not_found", &errs, "no %s", "x");
	j = parse(&req.resp);
	assert_null(json_object_get(j, "errors"));
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "Not Found");
	json_decref(j);
	optreg_http_problem(&req, 413, "too_large", NULL, "big");
	j = parse(&req.resp);
	assert_string_equal(json_string_value(json_object_get(j, "title")),
			    "Content Too Large");
	json_decref(j);
	optreg_http_req_release(&req);
}

static void test_json_and_response_headers(void **state)
{
	struct optreg_http_req req;

	(void)state;
	optreg_http_req_init(&req);
	optreg_http_json(&req, 201,
			 json_pack("{s:i, s:b}", "version", 3, "created", 1));
	assert_int_equal(req.status, 201);
	assert_string_equal(req.content_type, "application/json");
	assert_string_equal(req.resp.data, "{\"version\":3,\"created\":true}");
	optreg_http_json(&req, 204, NULL);
	assert_int_equal(req.status, 204);
	assert_int_equal(req.resp.len, 0);

	optreg_http_set_header(&req, "ETag", "\"sha256:ab\"");
	optreg_http_set_header(&req, "X-Bad", "a\r\nSet-Cookie: x");
	assert_int_equal(req.nheaders, 1);
	assert_string_equal(req.headers[0].name, "ETag");
	assert_string_equal(req.headers[0].value, "\"sha256:ab\"");
	optreg_http_req_release(&req);
	assert_int_equal(req.nheaders, 0);
	assert_int_equal(req.status, 0);
}

static void test_query_and_request_headers(void **state)
{
	struct optreg_http_req req;

	(void)state;
	optreg_http_req_init(&req);
	assert_null(optreg_http_query(&req, "a"));
	req.query = "a=1&b=x%20y+z&c&d=&e=%zz&a=2&k%65y=v&n=a%00b&";
	assert_string_equal(optreg_http_query(&req, "a"), "1");
	assert_string_equal(optreg_http_query(&req, "b"), "x y z");
	assert_string_equal(optreg_http_query(&req, "c"), "");
	assert_string_equal(optreg_http_query(&req, "d"), "");
	assert_string_equal(optreg_http_query(&req, "e"), "%zz");
	assert_string_equal(optreg_http_query(&req, "key"), "v");
	assert_string_equal(optreg_http_query(&req, "n"), "a%00b");
	assert_null(optreg_http_query(&req, "missing"));
	assert_null(optreg_http_query(&req, ""));

	assert_null(optreg_http_header(&req, "Authorization"));
	optreg_http_req_add_header(&req, "Authorization", "Bearer x");
	assert_string_equal(optreg_http_header(&req, "authorization"),
			    "Bearer x");
	optreg_http_req_release(&req);
}

/* A handler run without a server: the way handlers are unit-tested. */
static void echo_handler(struct optreg_http_req *req)
{
	const char *q = optreg_http_query(req, "q");
	const char *auth = optreg_http_header(req, "Authorization");

	if (!auth) {
		optreg_http_set_header(req, "WWW-Authenticate", "Bearer");
		optreg_http_problem(req, 401, "unauthorized", NULL,
				    "a bearer token is required");
		return;
	}
	req->principal = "tester";
	optreg_http_json(req, 200,
			 json_pack("{s:s, s:s?, s:s%}", "id", req->params[0],
				   "q", q, "body", req->body.data,
				   req->body.len));
}

static void test_handler_without_server(void **state)
{
	struct optreg_http_req req;
	json_t *j;

	(void)state;
	optreg_http_req_init(&req);
	req.method = "GET";
	req.params[0] = "item-1";
	req.nparams = 1;
	echo_handler(&req);
	assert_int_equal(req.status, 401);
	assert_int_equal(req.nheaders, 1);
	optreg_http_req_release(&req);

	optreg_http_req_init(&req);
	req.params[0] = "item-1";
	req.nparams = 1;
	req.query = "q=hello%21";
	optreg_buf_adds(&req.body, "payload");
	optreg_http_req_add_header(&req, "Authorization", "Bearer t");
	echo_handler(&req);
	assert_int_equal(req.status, 200);
	j = parse(&req.resp);
	assert_string_equal(json_string_value(json_object_get(j, "id")),
			    "item-1");
	assert_string_equal(json_string_value(json_object_get(j, "q")),
			    "hello!");
	assert_string_equal(json_string_value(json_object_get(j, "body")),
			    "payload");
	json_decref(j);
	optreg_http_req_release(&req);
}
/* ---- the dispose list ----------------------------------------------- */

/* What the disposers saw, in order. */
static char dispose_log[64];
static size_t dispose_n;

static void dispose_record(void *ptr)
{
	const char *name = ptr;

	assert_true(dispose_n + 1 < sizeof(dispose_log));
	dispose_log[dispose_n++] = name[0];
	dispose_log[dispose_n] = '\0';
}

static void dispose_json(void *ptr)
{
	json_decref(ptr);
}

static void dispose_reset(void)
{
	dispose_log[0] = '\0';
	dispose_n = 0;
}

static void test_defer_order(void **state)
{
	struct optreg_http_req req;

	(void)state;
	dispose_reset();
	optreg_http_req_init(&req);
	optreg_http_req_defer(&req, dispose_record, "a");
	optreg_http_req_defer(&req, dispose_record, "b");
	optreg_http_req_defer(&req, dispose_record, NULL); /* nothing */
	optreg_http_req_defer(&req, dispose_record, "c");
	assert_int_equal(req.ndeferred, 3);
	/* Nothing runs before the release. */
	assert_string_equal(dispose_log, "");
	optreg_buf_adds(&req.resp, "reply");
	optreg_http_req_release(&req);
	/* Newest first, each once. */
	assert_string_equal(dispose_log, "cba");
	assert_int_equal(req.ndeferred, 0);
	assert_null(req.deferred);
	assert_int_equal(req.resp.len, 0);

	/* The request is usable again, with an empty list. */
	dispose_reset();
	optreg_http_req_defer(&req, dispose_record, "d");
	optreg_http_req_release(&req);
	assert_string_equal(dispose_log, "d");
	optreg_http_req_release(&req); /* twice: nothing left to run */
	assert_string_equal(dispose_log, "d");
}

static size_t freed;

static void dispose_count_free(void *ptr)
{
	freed++;
	free(ptr);
}

/* Everything handed over is released: the counts say so, and under ASan
 * (make SAN=1) the leak check at exit does too. */
static void test_defer_releases_everything(void **state)
{
	struct optreg_http_req req;
	json_t *root;

	(void)state;
	freed = 0;
	optreg_http_req_init(&req);
	/* Past the first growth of the list, several times. */
	for (int i = 0; i < 100; i++)
		optreg_http_req_defer(&req, dispose_count_free,
				      optreg_xasprintf("value %d", i));
	root = json_pack("{s:[i,i], s:s}", "a", 1, 2, "b", "text");
	optreg_http_req_defer(&req, dispose_json, root);
	req.query = "x=1&y=%41";
	assert_string_equal(optreg_http_query(&req, "x"), "1");
	assert_string_equal(optreg_http_query(&req, "y"), "A");
	assert_int_equal(req.ndeferred, 103);
	optreg_http_req_add_header(&req, "Authorization", "Bearer t");
	optreg_http_set_header(&req, "ETag", "\"x\"");
	optreg_http_json(&req, 200, json_pack("{s:s}", "ok", "yes"));
	optreg_http_req_release(&req);
	assert_int_equal(freed, 100);
	assert_int_equal(req.ndeferred, 0);
	assert_int_equal(req.deferred_cap, 0);
}

static void dispose_then_defer(void *ptr)
{
	struct optreg_http_req *req = ptr;

	dispose_record("x");
	optreg_http_req_defer(req, dispose_record, "y");
}

/* A disposer may hand over more; that runs next, before older entries. */
static void test_defer_from_dispose(void **state)
{
	struct optreg_http_req req;

	(void)state;
	dispose_reset();
	optreg_http_req_init(&req);
	optreg_http_req_defer(&req, dispose_record, "a");
	optreg_http_req_defer(&req, dispose_then_defer, &req);
	optreg_http_req_release(&req);
	assert_string_equal(dispose_log, "xya");
	assert_int_equal(req.ndeferred, 0);
	assert_null(req.deferred);
}

/* Query values are owned by the request: each stays valid, unchanged,
 * until the release, however many are asked for. */
static void test_query_values_live_until_release(void **state)
{
	struct optreg_http_req req;
	const char *v[20];

	(void)state;
	optreg_http_req_init(&req);
	req.query = "a=first&b=x%2By";
	for (int i = 0; i < 20; i++)
		v[i] = optreg_http_query(&req, i % 2 ? "b" : "a");
	assert_null(optreg_http_query(&req, "none"));
	assert_int_equal(req.ndeferred, 20);
	for (int i = 0; i < 20; i++) {
		assert_string_equal(v[i], i % 2 ? "x+y" : "first");
		if (i >= 2)
			assert_ptr_not_equal(v[i], v[i - 2]);
	}
	optreg_http_req_release(&req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_problem_shape),
		cmocka_unit_test(test_json_and_response_headers),
		cmocka_unit_test(test_query_and_request_headers),
		cmocka_unit_test(test_handler_without_server),
		cmocka_unit_test(test_defer_order),
		cmocka_unit_test(test_defer_releases_everything),
		cmocka_unit_test(test_defer_from_dispose),
		cmocka_unit_test(test_query_values_live_until_release),
	};

	return cmocka_run_group_tests_name("http_req", tests, NULL, NULL);
}
