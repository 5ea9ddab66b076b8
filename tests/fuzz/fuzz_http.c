/*
 * tests/fuzz/fuzz_http.c: fuzzes the registry's request path without a
 * socket or a database: routing (optreg_http_match and the Allow header
 * against the server's own route table), query parameters
 * (optreg_http_query), request headers, and the request checks the
 * handlers run before they touch the database (registry/api/api.h: path
 * parameters, page_size, page_token, Content-Type and the JSON body; the
 * bearer token's form; If-None-Match of the web page).
 *
 * The input is a request as text: "METHOD TARGET" on the first line,
 * "Name: value" header lines, an empty line, then the body.
 *
 * Beyond memory safety it checks the contract:
 *  - a match is -1, -2 or a route whose method is the request's (or GET
 *    for HEAD), with one non-empty parameter per {name} of its pattern
 *    and none holding '/'; the path rebuilt from the pattern and the
 *    parameters, percent-encoded as the CLI does (optreg_http_path_add),
 *    matches the same route with the same parameters;
 *  - a -2 has an Allow header that does not list the method; a -1 none;
 *  - each query parameter the registry reads, written back with
 *    optreg_http_query_add, reads back the same;
 *  - each check either passes and answers nothing, or answers a 4xx
 *    problem+json whose code, read by the client, is the one answered.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../common/http_client.h"
#include "../../registry/api/api.h"
#include "../../registry/auth.h"
#include "../../registry/http.h"
#include "../../registry/http_int.h"
#include "../../registry/registry.h"
#include "../../registry/ui.h"
#include "fuzz.h"

/* The query parameters the handlers read. */
static const char *const query_keys[] = {
	"action",    "actor",	   "against",	"all", "config", "namespace",
	"page_size", "page_token", "principal", "q",   "since",	 "tag",
	"target",    "until",	   "version",	NULL,
};

struct request {
	char *method, *path, *query; /* owned */
	struct optreg_http_req req;
};

/* Splits the input into the request line, headers and body. */
static void request_parse(struct request *r, const char *data, size_t size)
{
	const char *end = data + size, *p = data, *nl, *sp, *q;
	char *target;

	optreg_http_req_init(&r->req);
	nl = memchr(p, '\n', size);
	if (!nl)
		nl = end;
	sp = memchr(p, ' ', (size_t)(nl - p));
	r->method = optreg_xstrndup(p, (size_t)((sp ? sp : nl) - p));
	target = sp ? optreg_xstrndup(sp + 1, (size_t)(nl - sp - 1))
		    : optreg_xstrdup("/");
	target[strcspn(target, "\r")] = '\0';
	q = strchr(target, '?');
	r->path = optreg_xstrndup(target,
				  q ? (size_t)(q - target) : strlen(target));
	r->query = q ? optreg_xstrdup(q + 1) : NULL;
	free(target);

	p = nl < end ? nl + 1 : end;
	while (p < end) {
		const char *colon;
		char *name, *value;
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0) {
			p = nl ? nl + 1 : end;
			break;
		}
		colon = memchr(p, ':', n);
		if (colon) {
			name = optreg_xstrndup(p, (size_t)(colon - p));
			for (colon++; colon < p + n && *colon == ' '; colon++)
				;
			value = optreg_xstrndup(colon, (size_t)(p + n - colon));
			optreg_http_req_add_header(&r->req, name, value);
			free(name);
			free(value);
		}
		p = nl ? nl + 1 : end;
	}
	optreg_buf_add(&r->req.body, p, (size_t)(end - p));
	r->req.method = r->method;
	r->req.path = r->path;
	r->req.query = r->query;
	r->req.remote = "127.0.0.1";
}

static void request_release(struct request *r)
{
	optreg_http_req_release(&r->req);
	free(r->method);
	free(r->path);
	free(r->query);
}

/* The names of a pattern's {name} segments, in order; returns how many. */
static size_t pattern_params(const char *pattern,
			     char names[OPTREG_HTTP_MAX_PARAMS][32])
{
	size_t n = 0;

	for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
		size_t len = strcspn(p + 1, "}");

		FUZZ_CHECK(n < OPTREG_HTTP_MAX_PARAMS && len < 32,
			   "pattern %s has too many parameters", pattern);
		memcpy(names[n], p + 1, len);
		names[n++][len] = '\0';
	}
	return n;
}

/* The path of `pattern` with its parameters percent-encoded. */
static void rebuild_path(const char *pattern, const char *const *params,
			 struct optreg_buf *out)
{
	const char *p = pattern + 1;
	size_t i = 0;

	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len >= 2 && p[0] == '{') {
			optreg_http_path_add(out, params[i++]);
		} else {
			optreg_buf_addch(out, '/');
			optreg_buf_add(out, p, len);
		}
		if (!end)
			break;
		p = end + 1;
	}
}

/* Whether the comma-separated `allow` lists `method`. */
static bool allow_lists(const char *allow, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = allow; p && *p;) {
		if (!strncmp(p, method, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p += 2;
	}
	return false;
}

static int check_route(struct request *r)
{
	const struct optreg_http_route *routes = optreg_registry_routes;
	size_t nroutes = optreg_registry_nroutes, np = 99, np2 = 99;
	size_t buflen = strlen(r->path) + 1;
	char *buf = optreg_xmalloc(buflen), *buf2;
	const char *params[OPTREG_HTTP_MAX_PARAMS],
		*params2[OPTREG_HTTP_MAX_PARAMS];
	char names[OPTREG_HTTP_MAX_PARAMS][32];
	struct optreg_buf again = OPTREG_BUF_INIT;
	char *allow;
	int rc, rc2;

	rc = optreg_http_match(routes, nroutes, r->method, r->path, params, &np,
			       buf, buflen);
	FUZZ_CHECK(rc >= -2 && rc < (int)nroutes, "match returned %d", rc);
	allow = http_router_allow(routes, nroutes, r->path);
	if (rc == -1) {
		FUZZ_CHECK(!allow[0], "no route matches %s but Allow is %s",
			   r->path, allow);
		goto out;
	}
	if (rc == -2) {
		FUZZ_CHECK(allow[0] && !allow_lists(allow, r->method),
			   "%s %s: 405 with Allow \"%s\"", r->method, r->path,
			   allow);
		goto out;
	}
	FUZZ_CHECK(allow_lists(allow, r->method),
		   "%s %s matches %s but Allow is \"%s\"", r->method, r->path,
		   routes[rc].pattern, allow);
	FUZZ_CHECK(!strcmp(routes[rc].method, r->method) ||
			   (!strcmp(r->method, "HEAD") &&
			    !strcmp(routes[rc].method, "GET")),
		   "%s matched a %s route", r->method, routes[rc].method);
	FUZZ_CHECK(np == pattern_params(routes[rc].pattern, names),
		   "%zu parameters for %s", np, routes[rc].pattern);
	for (size_t i = 0; i < np; i++)
		FUZZ_CHECK(params[i][0] && !strchr(params[i], '/') &&
				   params[i] >= buf && params[i] < buf + buflen,
			   "parameter %zu of %s is \"%s\"", i, r->path,
			   params[i]);

	rebuild_path(routes[rc].pattern, params, &again);
	buf2 = optreg_xmalloc(again.len + 1);
	rc2 = optreg_http_match(routes, nroutes, r->method, again.data, params2,
				&np2, buf2, again.len + 1);
	FUZZ_CHECK(rc2 == rc && np2 == np,
		   "%s rebuilt as %s matches route %d, not %d", r->path,
		   again.data, rc2, rc);
	for (size_t i = 0; i < np; i++)
		FUZZ_CHECK(!strcmp(params[i], params2[i]),
			   "parameter %zu \"%s\" came back as \"%s\"", i,
			   params[i], params2[i]);
	free(buf2);
	memcpy(r->req.params, params, sizeof(params));
	r->req.nparams = np;
	r->req.route = routes[rc].pattern;
out:
	free(allow);
	optreg_buf_release(&again);
	/* The parameters point into `buf`: the request keeps it. */
	optreg_http_req_defer(&r->req, free, buf);
	return rc;
}

static void check_query(struct request *r)
{
	for (size_t i = 0; query_keys[i]; i++) {
		const char *v = optreg_http_query(&r->req, query_keys[i]);
		struct optreg_buf path = OPTREG_BUF_INIT;
		struct optreg_http_req back;
		const char *w;

		if (!v)
			continue;
		optreg_buf_adds(&path, "/x");
		optreg_http_query_add(&path, query_keys[i], v);
		optreg_http_req_init(&back);
		back.query = strchr(path.data, '?') + 1;
		w = optreg_http_query(&back, query_keys[i]);
		FUZZ_CHECK(w && !strcmp(v, w),
			   "query parameter %s \"%s\" came back as \"%s\"",
			   query_keys[i], v, w ? w : "(none)");
		optreg_http_req_release(&back);
		optreg_buf_release(&path);
	}
}

/*
 * After a check: either it passed and answered nothing, or it answered a
 * 4xx problem that a client reads back as call->code. Then clears the
 * answer for the next check.
 */
static void check_answer(const char *what, struct api_call *call, bool ok)
{
	struct optreg_http_req *req = call->req;

	if (ok) {
		FUZZ_CHECK(req->status == 0 && req->resp.len == 0,
			   "%s passed but answered %u", what, req->status);
		return;
	}
	FUZZ_CHECK(req->status >= 400 && req->status < 500,
		   "%s refused with status %u", what, req->status);
	FUZZ_CHECK(req->content_type && !strcmp(req->content_type,
						"application/problem+json"),
		   "%s refused without a problem", what);

	struct optreg_http_resp resp;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_http_resp_init(&resp);
	resp.status = req->status;
	optreg_buf_add(&resp.body, req->resp.data, req->resp.len);
	optreg_http_resp_problem(&resp, &errs);
	FUZZ_CHECK(errs.items[0].code == call->code,
		   "%s answered %s, read back as %s", what,
		   optreg_code_name(call->code),
		   optreg_code_name(errs.items[0].code));
	optreg_errors_release(&errs);
	optreg_http_resp_release(&resp);

	optreg_buf_reset(&req->resp);
	req->status = 0;
	req->content_type = NULL;
	call->code = 0;
}

/* The checks a handler makes of its path parameters, by their names. */
static void check_params(struct api_call *call)
{
	struct optreg_http_req *req = call->req;
	char names[OPTREG_HTTP_MAX_PARAMS][32];
	size_t n = pattern_params(req->route, names);
	bool configs = !strncmp(req->route, "/v1/configs/{ns}/{name}", 23);

	if (configs)
		check_answer("the config parameters", call,
			     api_config_params_or_reply(call));
	for (size_t i = 0; i < n; i++) {
		const char *p = req->params[i];
		int version;

		if (!strcmp(names[i], "n"))
			check_answer("the version", call,
				     api_version_or_reply(call, p, &version));
		else if (!strcmp(names[i], "tag"))
			check_answer("the tag", call,
				     api_tag_or_reply(call, p, i % 2));
		else if (!strcmp(names[i], "digest"))
			check_answer("the digest", call,
				     api_digest_or_reply(call, p));
		else if (!strcmp(names[i], "ns") && !configs)
			check_answer("the namespace", call,
				     api_namespace_or_reply(call, p, 64));
		else if (!strcmp(names[i], "name") && !configs)
			(void)api_policy_name_ok(p);
	}
}

static void check_requests(struct request *r)
{
	struct api_call call = {
		.req = &r->req,
		.reg = NULL, /* no check below reaches for the registry */
		.errs = OPTREG_ERRORS_INIT,
	};
	json_t *state = NULL;
	const char *auth, *inm;
	int size = 0;

	if (r->req.route)
		check_params(&call);
	check_answer("page_size", &call, api_page_size_or_reply(&call, &size));
	FUZZ_CHECK(size >= 0 && size <= API_MAX_PAGE, "page_size %d", size);
	check_answer("page_token", &call,
		     api_page_token_or_reply(&call, &state));
	FUZZ_CHECK(!state || json_is_object(state),
		   "a page token that is not an object passed");
	json_decref(state);
	check_answer("the JSON body", &call, api_json_body_or_reply(&call));
	FUZZ_CHECK(!call.body || json_is_object(call.body),
		   "a body that is not an object passed");

	auth = optreg_http_header(&r->req, "Authorization");
	if (auth && !strncasecmp(auth, "Bearer ", 7) &&
	    optreg_token_well_formed(auth + 7))
		FUZZ_CHECK(strlen(auth + 7) == OPTREG_TOKEN_LEN &&
				   !strncmp(auth + 7, "optreg_", 7),
			   "\"%s\" is taken for a token", auth + 7);
	inm = optreg_http_header(&r->req, "If-None-Match");
	if (inm && optreg_http_etag_match(inm, "\"0123abcd\""))
		FUZZ_CHECK(strchr(inm, '"') || strchr(inm, '*'),
			   "\"%s\" matches an entity tag", inm);
	json_decref(call.body);
	optreg_errors_release(&call.errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request r;

	request_parse(&r, (const char *)data, size);
	check_route(&r);
	check_query(&r);
	check_requests(&r);
	request_release(&r);
	return 0;
}
