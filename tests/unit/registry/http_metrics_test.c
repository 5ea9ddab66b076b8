/*
 * tests/unit/registry/http_metrics_test.c: the HTTP layer's metrics without
 * a server: one label per distinct route pattern plus the layer's own,
 * the fixed method labels, cumulative histogram buckets, and label
 * escaping. (The server's /metrics is checked in http_server_test.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/buf.h"
#include "registry/http_int.h"

static const struct optreg_http_route routes[] = {
	{"GET", "/v1/items/{id}", NULL, NULL},
	{"DELETE", "/v1/items/{id}", NULL, NULL},
	{"POST", "/v1/items", NULL, NULL},
	{"GET", "/v1/odd\"label\\\n", NULL, NULL},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("missing \"%s\" in:\n%s", want, text);
}

static void test_labels(void **state)
{
	struct http_metrics m;

	(void)state;
	http_metrics_init(&m, routes, NROUTES);
	/* Routes sharing a pattern share a label. */
	assert_int_equal(m.route_stats[0], m.route_stats[1]);
	assert_int_not_equal(m.route_stats[0], m.route_stats[2]);
	assert_int_equal(m.nstats, 3 + 3);
	assert_string_equal(m.stats[m.st_healthz].label, "/healthz");
	assert_string_equal(m.stats[m.st_metrics].label, "/metrics");
	assert_string_equal(m.stats[m.st_unmatched].label, "unmatched");
	assert_int_equal(http_metrics_method("GET"), 0);
	assert_int_equal(http_metrics_method("PATCH"),
			 http_metrics_method("OPTIONS") - 1);
	/* Made-up methods share one label. */
	assert_int_equal(http_metrics_method("BREW"),
			 http_metrics_method("get"));
	http_metrics_release(&m);
}

static void test_render(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct http_metrics m;
	size_t items;

	(void)state;
	http_metrics_init(&m, routes, NROUTES);
	items = m.route_stats[0];
	http_metrics_record(&m, items, http_metrics_method("GET"), 200, 400);
	http_metrics_record(&m, items, http_metrics_method("GET"), 200, 3000);
	http_metrics_record(&m, items, http_metrics_method("DELETE"), 204,
			    20e6);
	http_metrics_record(&m, m.st_unmatched, http_metrics_method("BREW"),
			    404, 1);
	http_metrics_record(&m, m.route_stats[3], http_metrics_method("GET"),
			    200, 1);
	http_metrics_render(&m, &out);

	assert_contains(out.data,
			"# TYPE optreg_http_requests_total counter\n");
	assert_contains(out.data, "optreg_http_requests_total{route=\"/v1/"
				  "items/{id}\",method=\"GET\",status=\"200\"} "
				  "2\n");
	assert_contains(out.data, "optreg_http_requests_total{route=\"/v1/"
				  "items/{id}\",method=\"DELETE\",status="
				  "\"204\"} 1\n");
	assert_contains(out.data, "optreg_http_requests_total{route="
				  "\"unmatched\",method=\"OTHER\",status="
				  "\"404\"} 1\n");
	/* Prometheus escaping of \, " and newline. */
	assert_contains(out.data, "route=\"/v1/odd\\\"label\\\\\\n\"");
	/* Buckets are cumulative; +Inf is the count; the sum is exact. */
	assert_contains(out.data, "optreg_http_request_duration_seconds_bucket"
				  "{route=\"/v1/items/{id}\",le=\"0.0005\"} "
				  "1\n");
	assert_contains(out.data,
			"optreg_http_request_duration_seconds_bucket"
			"{route=\"/v1/items/{id}\",le=\"0.005\"} 2\n");
	assert_contains(out.data, "optreg_http_request_duration_seconds_bucket"
				  "{route=\"/v1/items/{id}\",le=\"10\"} 2\n");
	assert_contains(out.data, "optreg_http_request_duration_seconds_bucket"
				  "{route=\"/v1/items/{id}\",le=\"+Inf\"} 3\n");
	assert_contains(out.data, "optreg_http_request_duration_seconds_sum{"
				  "route=\"/v1/items/{id}\"} 20.003400\n");
	assert_contains(out.data, "optreg_http_request_duration_seconds_count{"
				  "route=\"/v1/items/{id}\"} 3\n");
	/* A label that saw nothing has no histogram. */
	assert_null(strstr(out.data, "route=\"/v1/items\""));
	optreg_buf_release(&out);
	http_metrics_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_render),
	};

	return cmocka_run_group_tests_name("http_metrics", tests, NULL, NULL);
}
