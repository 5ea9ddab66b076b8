/*
 * tests/unit/registry/http_router_test.c: route matching (percent-decoding,
 * parameters, 404 against 405, HEAD falling back to GET, trailing slashes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "registry/http.h"

/* ---- route matching ------------------------------------------------------ */

static const struct optreg_http_route match_routes[] = {
	{"GET", "/v1/configs/{ns}/{name}/versions/{n}", NULL, NULL},
	{"POST", "/v1/configs/{ns}/{name}/versions", NULL, NULL},
	{"GET", "/v1/configs/{ns}/{name}/versions", NULL, NULL},
	{"GET", "/v1/keys", NULL, NULL},
	{"POST", "/v1/keys", NULL, NULL},
	{"POST", "/v1/keys/{keyid}/revoke", NULL, NULL},
	{"DELETE", "/v1/tokens/{id}", NULL, NULL},
};
#define NMATCH (sizeof(match_routes) / sizeof(match_routes[0]))

static int match(const char *method, const char *path, const char **params,
		 size_t *np, char *buf, size_t buflen)
{
	return optreg_http_match(match_routes, NMATCH, method, path, params, np,
				 buf, buflen);
}

static void test_match_params(void **state)
{
	const char *p[OPTREG_HTTP_MAX_PARAMS];
	char buf[256];
	size_t np;

	(void)state;
	assert_int_equal(match("GET", "/v1/configs/team-a/bert/versions/7", p,
			       &np, buf, sizeof(buf)),
			 0);
	assert_int_equal(np, 3);
	assert_string_equal(p[0], "team-a");
	assert_string_equal(p[1], "bert");
	assert_string_equal(p[2], "7");

	assert_int_equal(match("POST", "/v1/configs/a/b/versions", p, &np, buf,
			       sizeof(buf)),
			 1);
	assert_int_equal(np, 2);
	assert_int_equal(match("GET", "/v1/configs/a/b/versions", p, &np, buf,
			       sizeof(buf)),
			 2);
	assert_int_equal(match("GET", "/v1/keys", p, &np, buf, sizeof(buf)), 3);
	assert_int_equal(np, 0);
	assert_int_equal(
		match("POST", "/v1/keys/k1/revoke", p, &np, buf, sizeof(buf)),
		5);
	assert_string_equal(p[0], "k1");
}

static void test_match_percent_decoding(void **state)
{
	const char *p[OPTREG_HTTP_MAX_PARAMS];
	char buf[256];
	size_t np;

	(void)state;
	assert_int_equal(match("GET",
			       "/v1/configs/team%2Da/b%20e%C3%a9/versions/1", p,
			       &np, buf, sizeof(buf)),
			 0);
	assert_string_equal(p[0], "team-a");
	assert_string_equal(p[1], "b e\xc3\xa9");
	/* Literal segments compare decoded. */
	assert_int_equal(match("GET", "/v1/%6Beys", p, &np, buf, sizeof(buf)),
			 3);
	/* '+' is not a space in a path. */
	assert_int_equal(
		match("DELETE", "/v1/tokens/a+b", p, &np, buf, sizeof(buf)), 6);
	assert_string_equal(p[0], "a+b");

	/* An encoded '/' or NUL, or a bad escape: no match. */
	assert_int_equal(
		match("DELETE", "/v1/tokens/a%2Fb", p, &np, buf, sizeof(buf)),
		-1);
	assert_int_equal(
		match("DELETE", "/v1/tokens/a%2fb", p, &np, buf, sizeof(buf)),
		-1);
	assert_int_equal(
		match("DELETE", "/v1/tokens/a%00b", p, &np, buf, sizeof(buf)),
		-1);
	assert_int_equal(
		match("DELETE", "/v1/tokens/a%zz", p, &np, buf, sizeof(buf)),
		-1);
	assert_int_equal(
		match("DELETE", "/v1/tokens/a%4", p, &np, buf, sizeof(buf)),
		-1);
	assert_int_equal(
		match("DELETE", "/v1/tokens/%", p, &np, buf, sizeof(buf)), -1);
	assert_int_equal(np, 0);
}

static void test_match_404_405(void **state)
{
	const char *p[OPTREG_HTTP_MAX_PARAMS];
	char buf[256];
	size_t np;

	(void)state;
	assert_int_equal(match("DELETE", "/v1/keys", p, &np, buf, sizeof(buf)),
			 -2);
	assert_int_equal(match("PUT", "/v1/configs/a/b/versions", p, &np, buf,
			       sizeof(buf)),
			 -2);
	assert_int_equal(match("get", "/v1/keys", p, &np, buf, sizeof(buf)),
			 -2);
	assert_int_equal(match("GET", "/v1/nope", p, &np, buf, sizeof(buf)),
			 -1);
	assert_int_equal(match("GET", "/", p, &np, buf, sizeof(buf)), -1);
	assert_int_equal(match("GET", "", p, &np, buf, sizeof(buf)), -1);
	assert_int_equal(match("GET", "v1/keys", p, &np, buf, sizeof(buf)), -1);
	assert_int_equal(match("GET", "/v1/configs/a/b/versions/1/x", p, &np,
			       buf, sizeof(buf)),
			 -1);
	/* An empty segment never fills a {param}. */
	assert_int_equal(match("GET", "/v1/configs//b/versions", p, &np, buf,
			       sizeof(buf)),
			 -1);
	assert_int_equal(match("GET", "/v1//keys", p, &np, buf, sizeof(buf)),
			 -1);
	/* Too small a buffer for the decoded parameters. */
	assert_int_equal(match("GET", "/v1/keys", p, &np, buf, 4), -1);
}

static void test_match_trailing_slash_and_head(void **state)
{
	const char *p[OPTREG_HTTP_MAX_PARAMS];
	char buf[256];
	size_t np;

	(void)state;
	/* Decision: a trailing slash is another (empty) segment. */
	assert_int_equal(match("GET", "/v1/keys/", p, &np, buf, sizeof(buf)),
			 -1);
	assert_int_equal(match("GET", "/v1/configs/a/b/versions/", p, &np, buf,
			       sizeof(buf)),
			 -1);
	/* HEAD is served by a GET route. */
	assert_int_equal(match("HEAD", "/v1/keys", p, &np, buf, sizeof(buf)),
			 3);
	assert_int_equal(match("HEAD", "/v1/configs/a/b/versions/2", p, &np,
			       buf, sizeof(buf)),
			 0);
	assert_string_equal(p[2], "2");
	assert_int_equal(
		match("HEAD", "/v1/keys/k/revoke", p, &np, buf, sizeof(buf)),
		-2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_params),
		cmocka_unit_test(test_match_percent_decoding),
		cmocka_unit_test(test_match_404_405),
		cmocka_unit_test(test_match_trailing_slash_and_head),
	};

	return cmocka_run_group_tests_name("http_router", tests, NULL, NULL);
}
