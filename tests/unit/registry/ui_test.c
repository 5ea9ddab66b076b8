/*
 * tests/unit/registry/ui_test.c: the embedded web page (registry/ui.c and
 * the routes of registry/api/ui.c): the generated table, If-None-Match,
 * the answers and their headers, and how the registry's route table
 * matches /, /ui, /ui/ and /ui/{file}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/hash.h"
#include "registry/registry.h"
#include "registry/ui.h"

static void assert_ui_headers(const struct optreg_http_req *req)
{
	assert_non_null(
		optreg_http_resp_header(req, "Content-Security-Policy"));
	assert_string_equal(
		optreg_http_resp_header(req, "Content-Security-Policy"),
		OPTREG_UI_CSP);
	assert_string_equal(
		optreg_http_resp_header(req, "X-Content-Type-Options"),
		"nosniff");
	assert_string_equal(optreg_http_resp_header(req, "Referrer-Policy"),
			    "no-referrer");
	assert_string_equal(optreg_http_resp_header(req, "X-Frame-Options"),
			    "DENY");
	assert_string_equal(optreg_http_resp_header(req, "Cache-Control"),
			    "no-cache");
}

/* The generated table: sorted, each file found, its ETag the SHA-256 of
 * its bytes, its type by extension. */
static void test_table(void **state)
{
	char hex[OPTREG_SHA256_HEX_LEN + 1], tag[OPTREG_SHA256_HEX_LEN + 3];

	(void)state;
	assert_true(optreg_ui_nfiles >= 2);
	assert_non_null(optreg_ui_find("index.html"));
	assert_non_null(optreg_ui_find("app.js"));
	assert_null(optreg_ui_find(""));
	assert_null(optreg_ui_find("../Makefile"));
	assert_null(optreg_ui_find("index.htm"));
	for (size_t i = 0; i < optreg_ui_nfiles; i++) {
		const struct optreg_ui_file *f = &optreg_ui_files[i];
		const char *ext = strrchr(f->name, '.');

		if (i)
			assert_true(strcmp(optreg_ui_files[i - 1].name,
					   f->name) < 0);
		assert_ptr_equal(optreg_ui_find(f->name), f);
		assert_null(strchr(f->name, '/'));
		optreg_sha256_hex(f->data, f->len, hex);
		snprintf(tag, sizeof(tag), "\"%s\"", hex);
		assert_string_equal(f->etag, tag);
		assert_non_null(ext);
		if (!strcmp(ext, ".js"))
			assert_string_equal(f->content_type,
					    "text/javascript; charset=utf-8");
		else if (!strcmp(ext, ".html"))
			assert_string_equal(f->content_type,
					    "text/html; charset=utf-8");
		else if (!strcmp(ext, ".css"))
			assert_string_equal(f->content_type,
					    "text/css; charset=utf-8");
	}
}

static void test_etag_match(void **state)
{
	const char *e = "\"abc\"";

	(void)state;
	assert_true(optreg_http_etag_match("\"abc\"", e));
	assert_true(optreg_http_etag_match("W/\"abc\"", e));
	assert_true(optreg_http_etag_match("\"x\", \"abc\"", e));
	assert_true(optreg_http_etag_match("\"x\",W/\"abc\"", e));
	assert_true(optreg_http_etag_match("*", e));
	assert_false(optreg_http_etag_match("", e));
	assert_false(optreg_http_etag_match("\"ab\"", e));
	assert_false(optreg_http_etag_match("\"abcd\"", e));
	assert_false(optreg_http_etag_match("abc", e));
	assert_false(optreg_http_etag_match("\"abc", e));
	assert_false(optreg_http_etag_match("\"x\", \"y\"", e));
	/* Lists with empty elements and spaces (RFC 9110 5.6.1). */
	assert_true(optreg_http_etag_match(" ,, \"abc\" ,", e));
	assert_true(optreg_http_etag_match("\t* ", e));
	/* Malformed fields match nothing: "*" is only the whole field, an
	 * entity tag ends at its closing quote, W/ is case-sensitive. */
	assert_false(optreg_http_etag_match("*x", e));
	assert_false(optreg_http_etag_match("\"x\", *", e));
	assert_false(optreg_http_etag_match("*, \"x\"", e));
	assert_false(optreg_http_etag_match("\"abc\"x", e));
	assert_false(optreg_http_etag_match("\"abc\" \"x\"", e));
	assert_false(optreg_http_etag_match("\"abc\", x", e));
	assert_false(optreg_http_etag_match("w/\"abc\"", e));
	assert_false(optreg_http_etag_match("W/ \"abc\"", e));
	assert_false(optreg_http_etag_match("\"ABC\"", e));
}

static void test_answer(void **state)
{
	const struct optreg_ui_file *f = optreg_ui_find("app.js");
	struct optreg_http_req req;

	(void)state;
	optreg_http_req_init(&req);
	optreg_ui_answer(&req, "app.js");
	assert_int_equal(req.status, 200);
	assert_int_equal(req.resp.len, f->len);
	assert_memory_equal(req.resp.data, f->data, f->len);
	assert_string_equal(req.content_type, f->content_type);
	assert_string_equal(optreg_http_resp_header(&req, "ETag"), f->etag);
	assert_ui_headers(&req);
	optreg_http_req_release(&req);

	/* /ui/ is index.html */
	optreg_http_req_init(&req);
	optreg_ui_answer(&req, "");
	assert_int_equal(req.status, 200);
	assert_string_equal(optreg_http_resp_header(&req, "ETag"),
			    optreg_ui_find("index.html")->etag);
	optreg_http_req_release(&req);

	optreg_http_req_init(&req);
	optreg_http_req_add_header(&req, "If-None-Match", f->etag);
	optreg_ui_answer(&req, "app.js");
	assert_int_equal(req.status, 304);
	assert_int_equal(req.resp.len, 0);
	assert_string_equal(optreg_http_resp_header(&req, "ETag"), f->etag);
	assert_ui_headers(&req);
	optreg_http_req_release(&req);

	optreg_http_req_init(&req);
	optreg_ui_answer(&req, "nope.js");
	assert_int_equal(req.status, 404);
	assert_null(optreg_http_resp_header(&req, "ETag"));
	assert_ui_headers(&req);
	optreg_http_req_release(&req);
}

/* Runs the registry route that `method path` matches; returns its index
 * or what optreg_http_match returned. */
static int route(struct optreg_http_req *req, struct registry *reg,
		 const char *method, const char *path, char *buf, size_t len)
{
	int i = optreg_http_match(optreg_registry_routes,
				  optreg_registry_nroutes, method, path,
				  req->params, &req->nparams, buf, len);

	if (i < 0)
		return i;
	req->ctx = reg;
	req->method = method;
	req->path = path;
	/* Answered from memory: try_cached answers and says so. */
	assert_non_null(optreg_registry_routes[i].try_cached);
	assert_true(optreg_registry_routes[i].try_cached(req));
	return i;
}

static void test_routes(void **state)
{
	struct registry reg;
	struct optreg_http_req req;
	char buf[256];

	(void)state;
	memset(&reg, 0, sizeof(reg));
	static const struct {
		const char *path;
		unsigned status;
		const char *location;
	} ok[] = {
		{"/", 302, "/ui/"},	    {"/ui", 308, "/ui/"},
		{"/ui/", 200, NULL},	    {"/ui/app.js", 200, NULL},
		{"/ui/nope.js", 404, NULL},
	};
	for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
		for (int off = 0; off < 2; off++) {
			reg.no_ui = off;
			optreg_http_req_init(&req);
			assert_true(route(&req, &reg, "GET", ok[k].path, buf,
					  sizeof(buf)) >= 0);
			assert_int_equal(req.status, off ? 404 : ok[k].status);
			if (!off && ok[k].location)
				assert_string_equal(optreg_http_resp_header(
							    &req, "Location"),
						    ok[k].location);
			optreg_http_req_release(&req);
		}
	}
	reg.no_ui = false;
	optreg_http_req_init(&req);
	assert_true(route(&req, &reg, "HEAD", "/ui/app.js", buf, sizeof(buf)) >=
		    0);
	assert_int_equal(req.status, 200);
	optreg_http_req_release(&req);

	optreg_http_req_init(&req);
	assert_int_equal(
		route(&req, &reg, "GET", "/ui/a/app.js", buf, sizeof(buf)), -1);
	assert_int_equal(
		route(&req, &reg, "GET", "/ui//app.js", buf, sizeof(buf)), -1);
	assert_int_equal(route(&req, &reg, "POST", "/ui/", buf, sizeof(buf)),
			 -2);
	optreg_http_req_release(&req);
}

/* The HTTP layer's own 404s and 405s: the page's headers under /ui while
 * the page is on, nowhere else. */
static void test_unrouted(void **state)
{
	static const struct {
		const char *path;
		bool ui;
	} cases[] = {
		{"/ui", true},	    {"/ui/", true},    {"/ui/a/b", true},
		{"/ui/../x", true}, {"/uix", false},   {"/u", false},
		{"/", false},	    {"/v1/ui", false}, {"/UI/", false},
	};
	struct registry reg;
	struct optreg_http_req req;

	(void)state;
	memset(&reg, 0, sizeof(reg));
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		for (int off = 0; off < 2; off++) {
			reg.no_ui = off;
			optreg_http_req_init(&req);
			req.ctx = &reg;
			req.path = cases[k].path;
			optreg_registry_unrouted(&req);
			if (cases[k].ui && !off)
				assert_ui_headers(&req);
			else
				assert_int_equal(req.nheaders, 0);
			optreg_http_req_release(&req);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_unrouted),
	};
	return cmocka_run_group_tests_name("ui", tests, NULL, NULL);
}
