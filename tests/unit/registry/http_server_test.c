/*
 * tests/unit/registry/http_server_test.c: a real server on 127.0.0.1:0 talked
 * to with libcurl and raw sockets, ending with a SIGTERM while a slow request
 * is in flight.
 *
 * The server takes SIGTERM with sigwait(), so main() blocks SIGTERM and
 * SIGINT before any thread starts: every thread inherits the mask and the
 * signal can only be taken by the serving thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "registry/http.h"

#include "httptest.h"

/* ---- a real server ----------------------------------------------------------
 */

static atomic_bool slow_entered;

static void h_item_get(struct optreg_http_req *req)
{
	const char *q = optreg_http_query(req, "q");

	req->principal = "tester";
	optreg_http_json(req, 200,
			 json_pack("{s:s, s:s?, s:s}", "id", req->params[0],
				   "q", q, "path", req->path));
}

static void h_item_delete(struct optreg_http_req *req)
{
	optreg_http_json(req, 204, NULL);
}

static void h_item_post(struct optreg_http_req *req)
{
	optreg_http_set_header(req, "Location", "/v1/items/new");
	optreg_http_json(req, 201,
			 json_pack("{s:I}", "len", (json_int_t)req->body.len));
}

static void h_slow(struct optreg_http_req *req)
{
	struct timespec ts = {0, 300 * 1000 * 1000};

	atomic_store(&slow_entered, true);
	nanosleep(&ts, NULL);
	optreg_http_json(req, 200, json_pack("{s:b}", "slow", 1));
}

/* Writes a log line when the request is released, naming its request id:
 * the log must show it after the request's access-log line. */
static void dispose_logged(void *ptr)
{
	fprintf(stderr,
		"{\"ts\":\"2026-01-01T00:00:00.000Z\",\"level\":\"info\","
		"\"msg\":\"disposed\",\"request_id\":\"%s\"}\n",
		(char *)ptr);
	free(ptr);
}

static void h_deferred(struct optreg_http_req *req)
{
	optreg_http_req_defer(req, dispose_logged,
			      optreg_xstrdup(req->request_id));
	optreg_http_json(req, 200, json_pack("{s:b}", "deferred", 1));
}

static void h_forgot(struct optreg_http_req *req)
{
	optreg_http_set_header(req, "X-Half-Done", "1");
}

/* Blocks its worker until block_release (at most 5 s): a handler stuck
 * on the database. */
static atomic_int block_entered;
static atomic_bool block_release;

static void h_block(struct optreg_http_req *req)
{
	struct timespec tick = {0, 5 * 1000 * 1000};

	atomic_fetch_add(&block_entered, 1);
	for (int i = 0; i < 1000 && !atomic_load(&block_release); i++)
		nanosleep(&tick, NULL);
	optreg_http_json(req, 200, json_pack("{s:b}", "blocked", 1));
}

/* A route answered from "the cache" on the I/O thread for id "hit". */
static bool h_cached_try(struct optreg_http_req *req)
{
	if (strcmp(req->params[0], "hit"))
		return false;
	optreg_http_json(req, 200, json_pack("{s:s}", "from", "cache"));
	return true;
}

static void h_cached(struct optreg_http_req *req)
{
	optreg_http_json(req, 200, json_pack("{s:s}", "from", "worker"));
}

static const struct optreg_http_route server_routes[] = {
	{"GET", "/v1/block", h_block, NULL},
	{"GET", "/v1/cached/{id}", h_cached, h_cached_try},
	{"GET", "/v1/items/{id}", h_item_get, NULL},
	{"DELETE", "/v1/items/{id}", h_item_delete, NULL},
	{"POST", "/v1/items", h_item_post, NULL},
	{"GET", "/v1/slow", h_slow, NULL},
	{"GET", "/v1/forgot", h_forgot, NULL},
	{"GET", "/v1/deferred", h_deferred, NULL},
};
#define NROUTES (sizeof(server_routes) / sizeof(server_routes[0]))

static void extra_metrics(struct optreg_buf *out, void *ctx)
{
	assert_ptr_equal(ctx, &slow_entered);
	optreg_buf_adds(out, "# TYPE optreg_test_extra gauge\n"
			     "optreg_test_extra 42\n");
}

static char log_path[] = "/tmp/optreg-http-test.XXXXXX";
static int saved_stderr = -1;

static int server_setup(void **state)
{
	int fd;

	(void)state;
	/* Capture the access log for the last test. */
	fd = mkstemp(log_path);
	if (fd < 0)
		return -1;
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	if (!server_start(&srv, "127.0.0.1:0", server_routes, NROUTES,
			  &slow_entered, extra_metrics)) {
		dup2(saved_stderr, 2);
		fprintf(stderr, "server did not start: %d\n", srv.rc);
		return -1;
	}
	return 0;
}

static void restore_stderr(void)
{
	if (saved_stderr >= 0) {
		fflush(stderr);
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

static int server_teardown(void **state)
{
	(void)state;
	restore_stderr();
	unlink(log_path);
	return 0;
}

static json_t *reply_json(const struct reply *r)
{
	return parse(&r->body);
}

static bool is_hex32(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static void test_srv_json_and_request_id(void **state)
{
	const char *const h[] = {"X-Request-Id: abc-123_X.y", NULL};
	char v[256], v2[256];
	struct reply r;
	json_t *j;

	(void)state;
	request("GET", "/v1/items/a%20b?q=x%26y", h, NULL, 0, false, &r);
	assert_int_equal(r.code, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
			    "application/json");
	assert_string_equal(header(&r, "X-Request-Id", v, sizeof(v)),
			    "abc-123_X.y");
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "a b");
	assert_string_equal(json_string_value(json_object_get(j, "q")), "x&y");
	assert_string_equal(json_string_value(json_object_get(j, "path")),
			    "/v1/items/a b");
	json_decref(j);
	reply_release(&r);

	/* Not sane: a new one. */
	const char *const bad[] = {"X-Request-Id: bad id!", NULL};
	request("GET", "/v1/items/1", bad, NULL, 0, false, &r);
	assert_int_equal(r.status, 200);
	assert_true(is_hex32(header(&r, "X-Request-Id", v, sizeof(v))));
	reply_release(&r);

	char longid[160] = "X-Request-Id: ";
	memset(longid + strlen(longid), 'a', 129);
	const char *const toolong[] = {longid, NULL};
	request("GET", "/v1/items/1", toolong, NULL, 0, false, &r);
	assert_true(is_hex32(header(&r, "X-Request-Id", v, sizeof(v))));
	reply_release(&r);
	longid[strlen(longid) - 1] = '\0'; /* 128 chars: kept */
	request("GET", "/v1/items/1", toolong, NULL, 0, false, &r);
	assert_int_equal(strlen(header(&r, "X-Request-Id", v, sizeof(v))), 128);
	reply_release(&r);

	request("GET", "/v1/items/1", NULL, NULL, 0, false, &r);
	assert_true(is_hex32(header(&r, "X-Request-Id", v, sizeof(v))));
	reply_release(&r);
	request("GET", "/v1/items/1", NULL, NULL, 0, false, &r);
	assert_true(is_hex32(header(&r, "X-Request-Id", v2, sizeof(v2))));
	assert_string_not_equal(v, v2);
	reply_release(&r);
}

static void assert_problem(const struct reply *r, long status, const char *code)
{
	char v[256];
	json_t *j;

	assert_int_equal(r->code, CURLE_OK);
	assert_int_equal(r->status, status);
	assert_string_equal(header(r, "Content-Type", v, sizeof(v)),
			    "application/problem+json");
	j = parse(&r->body);
	assert_string_equal(json_string_value(json_object_get(j, "code")),
			    code);
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
			 status);
	assert_non_null(json_string_value(json_object_get(j, "title")));
	assert_non_null(json_string_value(json_object_get(j, "detail")));
	/* The problem's request id is the header's. */
	assert_string_equal(json_string_value(json_object_get(j, "request_id")),
			    header(r, "X-Request-Id", v, sizeof(v)));
	json_decref(j);
}

static void test_srv_404_405(void **state)
{
	char v[256];
	struct reply r;

	(void)state;
	request("GET", "/v1/nothing", NULL, NULL, 0, false, &r);
	assert_problem(&r, 404, "not_found");
	reply_release(&r);
	request("GET", "/v1/items/a%2Fb", NULL, NULL, 0, false, &r);
	assert_problem(&r, 404, "not_found");
	reply_release(&r);
	request("GET", "/v1/items/", NULL, NULL, 0, false, &r);
	assert_problem(&r, 404, "not_found");
	reply_release(&r);

	request("PUT", "/v1/items/1", NULL, "{}", 2, false, &r);
	assert_problem(&r, 405, "method_not_allowed");
	assert_string_equal(header(&r, "Allow", v, sizeof(v)),
			    "GET, DELETE, HEAD");
	reply_release(&r);
	request("DELETE", "/v1/items", NULL, NULL, 0, false, &r);
	assert_problem(&r, 405, "method_not_allowed");
	assert_string_equal(header(&r, "Allow", v, sizeof(v)), "POST");
	reply_release(&r);
	request("POST", "/healthz", NULL, "{}", 2, false, &r);
	assert_problem(&r, 405, "method_not_allowed");
	assert_string_equal(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
	reply_release(&r);
}

static void test_srv_statuses(void **state)
{
	char v[256];
	struct reply r;
	json_t *j;

	(void)state;
	request("DELETE", "/v1/items/7", NULL, NULL, 0, false, &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	reply_release(&r);

	/* A handler that forgot to answer: 500, its headers dropped. */
	request("GET", "/v1/forgot", NULL, NULL, 0, false, &r);
	assert_problem(&r, 500, "internal");
	assert_null(header(&r, "X-Half-Done", v, sizeof(v)));
	reply_release(&r);

	request("HEAD", "/v1/items/1", NULL, NULL, 0, false, &r);
	assert_int_equal(r.code, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	reply_release(&r);

	request("GET", "/healthz", NULL, NULL, 0, false, &r);
	assert_int_equal(r.status, 200);
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "ok");
	json_decref(j);
	assert_non_null(header(&r, "X-Request-Id", v, sizeof(v)));
	reply_release(&r);
	request("HEAD", "/healthz", NULL, NULL, 0, false, &r);
	assert_int_equal(r.status, 200);
	reply_release(&r);
}

static void test_srv_bodies(void **state)
{
	char *big = malloc(8 * TEST_MAX_BODY);
	char v[256];
	struct reply r;
	json_t *j;

	(void)state;
	memset(big, 'x', 8 * TEST_MAX_BODY);
	request("POST", "/v1/items", NULL, big, TEST_MAX_BODY, false, &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(header(&r, "Location", v, sizeof(v)),
			    "/v1/items/new");
	j = reply_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "len")),
			 TEST_MAX_BODY);
	json_decref(j);
	reply_release(&r);

	request("POST", "/v1/items", NULL, big, 700, true, &r);
	assert_int_equal(r.status, 201);
	j = reply_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "len")), 700);
	json_decref(j);
	reply_release(&r);

	/* One byte over, by Content-Length, and chunked. */
	request("POST", "/v1/items", NULL, big, TEST_MAX_BODY + 1, false, &r);
	assert_problem(&r, 413, "too_large");
	reply_release(&r);
	request("POST", "/v1/items", NULL, big, TEST_MAX_BODY + 500, true, &r);
	assert_problem(&r, 413, "too_large");
	reply_release(&r);
	/* Far over by Content-Length: answered before the body is read. */
	request("POST", "/v1/items", NULL, big, 8 * TEST_MAX_BODY, false, &r);
	assert_problem(&r, 413, "too_large");
	reply_release(&r);
	/* Far over, chunked: no answer can come, the connection closes. */
	request("POST", "/v1/items", NULL, big, 8 * TEST_MAX_BODY, true, &r);
	assert_int_equal(r.status, 0);
	reply_release(&r);
	free(big);
}

/* Sends raw bytes, `then` (may be NULL) 50 ms later, and returns what came
 * back until the server closed or a second passed. */
static void raw_exchange2(const char *req, const char *then,
			  struct optreg_buf *out)
{
	struct sockaddr_in sa;
	struct timeval tv = {1, 0};
	char buf[4096];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)srv.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL),
			 (ssize_t)strlen(req));
	if (then) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		nanosleep(&ts, NULL);
		assert_int_equal(send(fd, then, strlen(then), MSG_NOSIGNAL),
				 (ssize_t)strlen(then));
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		optreg_buf_add(out, buf, (size_t)n);
	close(fd);
}

static void raw_exchange(const char *req, struct optreg_buf *out)
{
	raw_exchange2(req, NULL, out);
}

static void test_srv_raw_limits(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_buf req = OPTREG_BUF_INIT;

	(void)state;
	/* A huge declared body, none sent: 413 at once. */
	raw_exchange("POST /v1/items HTTP/1.1\r\nHost: x\r\n"
		     "Content-Length: 100000000\r\n\r\n",
		     &out);
	assert_memory_equal(out.data, "HTTP/1.1 413", 12);
	assert_non_null(strstr(out.data, "\"code\":\"too_large\""));
	optreg_buf_reset(&out);

	/* Over the limit by Content-Length, the body in two pieces (a
	 * request pipelined behind it): read, dropped, answered 413. */
	char first[301], rest[1501];
	memset(first, 'a', 300);
	first[300] = '\0';
	memset(rest, 'b', 1200);
	rest[1200] = '\0';
	optreg_buf_adds(&req, "POST /v1/items HTTP/1.1\r\nHost: x\r\n"
			      "Content-Length: 1500\r\n\r\n");
	optreg_buf_adds(&req, first);
	strcat(rest, "GET /healthz HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\n\r\n");
	raw_exchange2(req.data, rest, &out);
	assert_memory_equal(out.data, "HTTP/1.1 413", 12);
	assert_non_null(strstr(out.data, "\"code\":\"too_large\""));
	optreg_buf_reset(&out);
	optreg_buf_reset(&req);

	/* Headers over the connection memory: MHD refuses them itself. */
	optreg_buf_adds(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (int i = 0; i < 40000; i++)
		optreg_buf_addch(&req, 'a');
	optreg_buf_adds(&req, "\r\n\r\n");
	raw_exchange(req.data, &out);
	assert_true(!strncmp(out.data, "HTTP/1.1 431", 12) ||
		    !strncmp(out.data, "HTTP/1.1 413", 12));
	optreg_buf_reset(&out);

	/* A request line with a raw NUL-decoding path. */
	raw_exchange("GET /v1/items/%00 HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\n\r\n",
		     &out);
	assert_memory_equal(out.data, "HTTP/1.1 404", 12);
	optreg_buf_release(&out);
	optreg_buf_release(&req);
}

static void test_srv_metrics(void **state)
{
	const char *want[] = {
		"# TYPE optreg_http_requests_total counter\n",
		"optreg_http_requests_total{route=\"/v1/items/{id}\","
		"method=\"GET\",status=\"200\"} ",
		"optreg_http_requests_total{route=\"/v1/items/{id}\","
		"method=\"DELETE\",status=\"204\"} 1\n",
		"optreg_http_requests_total{route=\"unmatched\","
		"method=\"GET\",status=\"404\"} ",
		"optreg_http_requests_total{route=\"unmatched\","
		"method=\"PUT\",status=\"405\"} 1\n",
		"optreg_http_requests_total{route=\"/v1/items\","
		"method=\"POST\",status=\"413\"} ",
		"optreg_http_requests_total{route=\"/healthz\","
		"method=\"HEAD\",status=\"200\"} 1\n",
		"# TYPE optreg_http_request_duration_seconds histogram\n",
		"optreg_http_request_duration_seconds_bucket{route=\"/v1/"
		"items/{id}\",le=\"0.0005\"} ",
		"optreg_http_request_duration_seconds_bucket{route=\"/v1/"
		"items/{id}\",le=\"+Inf\"} ",
		"optreg_http_request_duration_seconds_sum{route=\"/v1/items/"
		"{id}\"} ",
		"optreg_http_request_duration_seconds_count{route=\"/v1/"
		"items/{id}\"} ",
		"# TYPE optreg_http_in_flight gauge\noptreg_http_in_flight ",
		"optreg_test_extra 42\n",
	};
	char v[256];
	struct reply r;
	bool all = false;

	(void)state;
	/* Requests are counted once fully answered, which can trail the
	 * client's view a little: poll. */
	for (int tries = 0; tries < 50 && !all; tries++) {
		request("GET", "/metrics", NULL, NULL, 0, false, &r);
		assert_int_equal(r.status, 200);
		all = true;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			all = all && strstr(r.body.data, want[i]);
		if (all) {
			assert_string_equal(
				header(&r, "Content-Type", v, sizeof(v)),
				"text/plain; version=0.0.4; charset=utf-8");
		} else {
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		if (!all && tries == 49) {
			restore_stderr();
			fprintf(stderr, "%s", r.body.data);
		}
		reply_release(&r);
	}
	assert_true(all);
}

static void test_srv_deferred(void **state)
{
	const char *const h[] = {"X-Request-Id: deferred-1", NULL};
	struct reply r;

	(void)state;
	request("GET", "/v1/deferred", h, NULL, 0, false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "{\"deferred\":true}");
	reply_release(&r);
	/* check_log() checks the order once the server has stopped. */
}

struct slow_client {
	pthread_t thread;
	struct reply r;
};

static void *slow_main(void *arg)
{
	struct slow_client *c = arg;

	request("GET", "/v1/slow", NULL, NULL, 0, false, &c->r);
	return NULL;
}

/* The access log: one JSON object per line, no secrets. */
static void check_log(void)
{
	struct optreg_buf log = OPTREG_BUF_INIT;
	bool saw_item = false, saw_slow = false, saw_stop = false;
	bool saw_deferred = false, saw_disposed = false;
	char *line, *save = NULL;

	assert_int_equal(optreg_buf_read_file(&log, log_path), 0);
	assert_null(strstr(log.data, "sekrit"));
	for (line = strtok_r(log.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *j = json_loads(line, 0, &err);
		const char *msg, *ts;

		if (!j) { /* a sanitizer report, say: show it */
			fprintf(stderr, "%s\n", line);
			fail_msg("log line is not JSON");
		}
		ts = json_string_value(json_object_get(j, "ts"));
		msg = json_string_value(json_object_get(j, "msg"));
		assert_non_null(ts);
		assert_non_null(msg);
		/* 2026-01-02T03:04:05.678Z */
		assert_int_equal(strlen(ts), 24);
		assert_int_equal(ts[10], 'T');
		assert_int_equal(ts[19], '.');
		assert_int_equal(ts[23], 'Z');
		if (!strcmp(msg, "stopped"))
			saw_stop = true;
		/* The dispose list runs after the access-log line. */
		if (!strcmp(msg, "disposed")) {
			assert_string_equal(json_string_value(json_object_get(
						    j, "request_id")),
					    "deferred-1");
			assert_true(saw_deferred);
			assert_false(saw_disposed);
			saw_disposed = true;
		}
		if (strcmp(msg, "request")) {
			json_decref(j);
			continue;
		}
		assert_string_equal(
			json_string_value(json_object_get(j, "level")), "info");
		assert_non_null(json_object_get(j, "request_id"));
		assert_non_null(json_object_get(j, "path"));
		assert_non_null(json_object_get(j, "route"));
		assert_true(json_is_integer(json_object_get(j, "status")));
		assert_true(json_is_number(json_object_get(j, "duration_ms")));
		assert_true(json_is_integer(json_object_get(j, "bytes_in")));
		assert_true(json_is_integer(json_object_get(j, "bytes_out")));
		assert_null(strchr(
			json_string_value(json_object_get(j, "path")), '?'));
		const char *path =
			json_string_value(json_object_get(j, "path"));
		if (!strcmp(path, "/v1/items/a%20b")) {
			saw_item = true;
			assert_string_equal(
				json_string_value(json_object_get(j, "method")),
				"GET");
			assert_string_equal(
				json_string_value(json_object_get(j, "route")),
				"/v1/items/{id}");
			assert_string_equal(json_string_value(json_object_get(
						    j, "principal")),
					    "tester");
			assert_string_equal(json_string_value(json_object_get(
						    j, "request_id")),
					    "abc-123_X.y");
			assert_string_equal(
				json_string_value(json_object_get(j, "remote")),
				"127.0.0.1");
			assert_int_equal(json_integer_value(
						 json_object_get(j, "status")),
					 200);
		}
		if (!strcmp(path, "/v1/deferred")) {
			assert_false(saw_disposed);
			saw_deferred = true;
		}
		if (!strcmp(path, "/v1/slow")) {
			saw_slow = true;
			assert_int_equal(json_integer_value(
						 json_object_get(j, "status")),
					 200);
			assert_true(json_number_value(json_object_get(
					    j, "duration_ms")) >= 300);
		}
		json_decref(j);
	}
	assert_true(saw_item);
	assert_true(saw_slow);
	assert_true(saw_stop);
	assert_true(saw_disposed);
	optreg_buf_release(&log);
}

static void *block_main(void *arg)
{
	request("GET", "/v1/block", NULL, NULL, 0, false, arg);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every worker blocked in a handler (as on a hung database): /healthz,
 * /metrics and a route's try_cached still answer at once, on the I/O
 * threads; the rest waits for a worker. */
static void test_srv_blocked_workers(void **state)
{
	struct timespec tick = {0, 5 * 1000 * 1000};
	struct reply blocked[2], r;
	pthread_t t[2];
	double t0;

	(void)state;
	atomic_store(&block_entered, 0);
	atomic_store(&block_release, false);
	for (int i = 0; i < 2; i++) /* the server has 2 workers */
		assert_int_equal(
			pthread_create(&t[i], NULL, block_main, &blocked[i]),
			0);
	for (int i = 0; i < 1000 && atomic_load(&block_entered) < 2; i++)
		nanosleep(&tick, NULL);
	assert_int_equal(atomic_load(&block_entered), 2);

	const char *fast[] = {"/healthz", "/metrics", "/v1/cached/hit"};
	for (size_t i = 0; i < 3; i++) {
		t0 = now_s();
		request("GET", fast[i], NULL, NULL, 0, false, &r);
		assert_int_equal(r.status, 200);
		if (now_s() - t0 > 0.5)
			fail_msg("%s took %.3f s with every worker blocked",
				 fast[i], now_s() - t0);
		reply_release(&r);
	}

	atomic_store(&block_release, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(blocked[i].status, 200);
		reply_release(&blocked[i]);
	}
	/* A miss goes to a worker, whose answer is the one sent. */
	request("GET", "/v1/cached/miss", NULL, NULL, 0, false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "{\"from\":\"worker\"}");
	reply_release(&r);
	request("GET", "/v1/cached/hit", NULL, NULL, 0, false, &r);
	assert_string_equal(r.body.data, "{\"from\":\"cache\"}");
	reply_release(&r);
}

static void *miss_main(void *arg)
{
	request("GET", "/v1/cached/miss", NULL, NULL, 0, false, arg);
	return NULL;
}

/* The worker queue is bounded: 4 per worker + 64 (72 for this server's 2
 * workers). With every worker blocked, a request past that is answered 503
 * with Retry-After at once instead of piling up; the queued ones are
 * served once the workers are free. */
static void test_srv_queue_is_bounded(void **state)
{
	enum {
		QUEUE_MAX = 4 * 2 + 64,
		FILL = QUEUE_MAX + 8
	};
	struct timespec tick = {0, 5 * 1000 * 1000};
	struct timespec settle = {1, 500 * 1000 * 1000};
	static struct reply blocked[2], fill[FILL];
	pthread_t bt[2], ft[FILL];
	struct reply r;
	int ok = 0, busy = 0;
	double t0;

	(void)state;
	atomic_store(&block_entered, 0);
	atomic_store(&block_release, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(
			pthread_create(&bt[i], NULL, block_main, &blocked[i]),
			0);
	for (int i = 0; i < 1000 && atomic_load(&block_entered) < 2; i++)
		nanosleep(&tick, NULL);
	assert_int_equal(atomic_load(&block_entered), 2);
	for (int i = 0; i < FILL; i++)
		assert_int_equal(
			pthread_create(&ft[i], NULL, miss_main, &fill[i]), 0);
	nanosleep(&settle, NULL); /* every filler queued or refused */

	t0 = now_s();
	request("GET", "/v1/cached/miss", NULL, NULL, 0, false, &r);
	if (now_s() - t0 > 0.5)
		fail_msg("a request to a full queue took %.3f s", now_s() - t0);
	assert_problem(&r, 503, "unavailable");
	char v[32];
	assert_string_equal(header(&r, "Retry-After", v, sizeof(v)), "1");
	reply_release(&r);

	atomic_store(&block_release, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(bt[i], NULL);
		assert_int_equal(blocked[i].status, 200);
		reply_release(&blocked[i]);
	}
	for (int i = 0; i < FILL; i++) {
		pthread_join(ft[i], NULL);
		if (fill[i].status == 200)
			ok++;
		else if (fill[i].status == 503)
			busy++;
		reply_release(&fill[i]);
	}
	assert_int_equal(ok, QUEUE_MAX);
	assert_int_equal(busy, FILL - QUEUE_MAX);

	/* Drained: the queue takes requests again. */
	request("GET", "/v1/cached/miss", NULL, NULL, 0, false, &r);
	assert_int_equal(r.status, 200);
	reply_release(&r);
}

static void test_srv_sigterm_drains(void **state)
{
	const char *const h[] = {"Authorization: Bearer sekrit-header", NULL};
	struct slow_client c;
	struct timespec tick = {0, 5 * 1000 * 1000};
	struct reply r;
	json_t *j;
	int rc;

	(void)state;
	/* Secrets in a query, a header and a body never reach the log. */
	request("POST", "/v1/items?token=sekrit-query", h, "sekrit-body", 11,
		false, &r);
	assert_int_equal(r.status, 201);
	reply_release(&r);

	atomic_store(&slow_entered, false);
	memset(&c, 0, sizeof(c));
	assert_int_equal(pthread_create(&c.thread, NULL, slow_main, &c), 0);
	for (int i = 0; i < 1000 && !atomic_load(&slow_entered); i++)
		nanosleep(&tick, NULL);
	assert_true(atomic_load(&slow_entered));
	/* The handler sleeps 300 ms; SIGTERM now. */
	rc = server_stop(&srv);
	pthread_join(c.thread, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(c.r.code, CURLE_OK);
	assert_int_equal(c.r.status, 200);
	j = reply_json(&c.r);
	assert_true(json_is_true(json_object_get(j, "slow")));
	json_decref(j);
	reply_release(&c.r);

	/* Nobody listens any more. */
	request("GET", "/healthz", NULL, NULL, 0, false, &r);
	assert_int_equal(r.code, CURLE_COULDNT_CONNECT);
	reply_release(&r);

	restore_stderr();
	check_log();
}

/* ---- listening
 * --------------------------------------------------------------- */

static void test_listen_errors(void **state)
{
	struct optreg_http_config cfg;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char addr[64];
	int fd;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "nonsense";
	assert_int_equal(optreg_http_serve(&cfg, server_routes, 1, NULL, NULL),
			 OPTREG_EUSAGE);
	cfg.listen = "127.0.0.1:70000";
	assert_int_equal(optreg_http_serve(&cfg, server_routes, 1, NULL, NULL),
			 OPTREG_EUSAGE);
	cfg.listen = "127.0.0.1:";
	assert_int_equal(optreg_http_serve(&cfg, server_routes, 1, NULL, NULL),
			 OPTREG_EUSAGE);
	cfg.listen = "::1:8080";
	assert_int_equal(optreg_http_serve(&cfg, server_routes, 1, NULL, NULL),
			 OPTREG_EUSAGE);
	cfg.listen = "[::1:8080";
	assert_int_equal(optreg_http_serve(&cfg, server_routes, 1, NULL, NULL),
			 OPTREG_EUSAGE);

	/* A port somebody listens on already. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	cfg.listen = addr;
	assert_int_equal(optreg_http_serve(&cfg, server_routes, 1, NULL, NULL),
			 OPTREG_EIO);
	close(fd);
}

static void test_listen_ipv6(void **state)
{
	struct server s6;
	struct reply r;
	char url[128];
	CURL *c;

	(void)state;
	if (!server_start(&s6, "[::1]:0", server_routes, NROUTES, &slow_entered,
			  extra_metrics)) {
		pthread_join(s6.thread, NULL);
		skip(); /* no IPv6 loopback here */
	}
	assert_true(s6.port > 0);
	memset(&r, 0, sizeof(r));
	optreg_buf_init(&r.body);
	c = curl_easy_init();
	snprintf(url, sizeof(url), "http://[::1]:%u/healthz", s6.port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_cleanup(c);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "{\"status\":\"ok\"}");
	reply_release(&r);
	assert_int_equal(server_stop(&s6), 0);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_listen_ipv6),
	};
	/* In order: the last one stops the server. */
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_srv_json_and_request_id),
		cmocka_unit_test(test_srv_404_405),
		cmocka_unit_test(test_srv_statuses),
		cmocka_unit_test(test_srv_bodies),
		cmocka_unit_test(test_srv_raw_limits),
		cmocka_unit_test(test_srv_metrics),
		cmocka_unit_test(test_srv_deferred),
		cmocka_unit_test(test_srv_blocked_workers),
		cmocka_unit_test(test_srv_queue_is_bounded),
		cmocka_unit_test(test_srv_sigterm_drains),
	};
	sigset_t set;
	int failed;

	/* Before any thread: see the top of the file. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	failed = cmocka_run_group_tests_name("http_listen", unit, NULL, NULL);
	failed += cmocka_run_group_tests_name("http_server", server,
					      server_setup, server_teardown);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
