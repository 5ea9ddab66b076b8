/*
 * registry/http_metrics.c: the layer's Prometheus metrics: requests by
 * route label, method and status, and a duration histogram per label.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "http_int.h"

/* Histogram buckets of optreg_http_request_duration_seconds. */
static const uint64_t bucket_us[HTTP_NBUCKETS] = {
	500,	1000,	2500,	5000,	 10000,	  25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const bucket_le[HTTP_NBUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1",	  "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};

/* The method label of metrics: a fixed set, so that clients cannot make up
 * new series; anything else is "OTHER". */
static const char *const metric_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};
#define NMETHODS (sizeof(metric_methods) / sizeof(metric_methods[0]))

unsigned http_metrics_method(const char *m)
{
	for (unsigned i = 0; i + 1 < NMETHODS; i++)
		if (!strcmp(metric_methods[i], m))
			return i;
	return NMETHODS - 1;
}

void http_metrics_record(struct http_metrics *m, size_t st, unsigned method,
			 unsigned status, double us)
{
	struct http_route_stats *s = &m->stats[st];
	uint64_t dur = us < 0 ? 0 : (uint64_t)us;
	struct http_series *ser = NULL;

	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < s->nseries && !ser; i++)
		if (s->series[i].status == status &&
		    s->series[i].method == method)
			ser = &s->series[i];
	if (!ser) {
		OPTREG_ALLOC_GROW(s->series, s->nseries + 1, s->cap);
		ser = &s->series[s->nseries++];
		ser->status = status;
		ser->method = method;
		ser->n = 0;
	}
	ser->n++;
	for (size_t i = 0; i < HTTP_NBUCKETS; i++) {
		if (dur <= bucket_us[i]) {
			s->buckets[i]++;
			break;
		}
	}
	s->count++;
	s->sum_us += dur;
	pthread_mutex_unlock(&m->mu);
}

/* Appends a label value with Prometheus escaping (\\, \", \n). */
static void add_label(struct optreg_buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			optreg_buf_addch(out, '\\');
		if (*v == '\n') {
			optreg_buf_adds(out, "\\n");
			continue;
		}
		optreg_buf_addch(out, *v);
	}
}

void http_metrics_render(struct http_metrics *m, struct optreg_buf *out)
{
	optreg_buf_adds(out, "# HELP optreg_http_requests_total HTTP requests "
			     "answered, by route, method and status.\n"
			     "# TYPE optreg_http_requests_total counter\n");
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nstats; i++) {
		const struct http_route_stats *s = &m->stats[i];

		for (size_t j = 0; j < s->nseries; j++) {
			optreg_buf_adds(out,
					"optreg_http_requests_total{route=\"");
			add_label(out, s->label);
			optreg_buf_addf(
				out, "\",method=\"%s\",status=\"%u\"} %llu\n",
				metric_methods[s->series[j].method],
				s->series[j].status,
				(unsigned long long)s->series[j].n);
		}
	}
	optreg_buf_adds(out,
			"# HELP optreg_http_request_duration_seconds Time from "
			"the request line to the end of the response.\n"
			"# TYPE optreg_http_request_duration_seconds "
			"histogram\n");
	for (size_t i = 0; i < m->nstats; i++) {
		const struct http_route_stats *s = &m->stats[i];
		uint64_t cum = 0;

		if (!s->count)
			continue;
		for (size_t b = 0; b < HTTP_NBUCKETS; b++) {
			cum += s->buckets[b];
			optreg_buf_adds(out, "optreg_http_request_duration_"
					     "seconds_bucket{route=\"");
			add_label(out, s->label);
			optreg_buf_addf(out, "\",le=\"%s\"} %llu\n",
					bucket_le[b], (unsigned long long)cum);
		}
		optreg_buf_adds(out, "optreg_http_request_duration_seconds_"
				     "bucket{route=\"");
		add_label(out, s->label);
		optreg_buf_addf(out, "\",le=\"+Inf\"} %llu\n",
				(unsigned long long)s->count);
		/* Integer arithmetic: no locale can turn the '.' into ','. */
		optreg_buf_adds(
			out,
			"optreg_http_request_duration_seconds_sum{route=\"");
		add_label(out, s->label);
		optreg_buf_addf(out, "\"} %llu.%06llu\n",
				(unsigned long long)(s->sum_us / 1000000),
				(unsigned long long)(s->sum_us % 1000000));
		optreg_buf_adds(
			out,
			"optreg_http_request_duration_seconds_count{route=\"");
		add_label(out, s->label);
		optreg_buf_addf(out, "\"} %llu\n",
				(unsigned long long)s->count);
	}
	pthread_mutex_unlock(&m->mu);
}

void http_metrics_init(struct http_metrics *m,
		       const struct optreg_http_route *routes, size_t nroutes)
{
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	m->route_stats = optreg_xcalloc(nroutes + 1, sizeof(size_t));
	m->stats = optreg_xcalloc(nroutes + 3, sizeof(*m->stats));
	for (size_t i = 0; i < nroutes; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (!strcmp(m->stats[j].label, routes[i].pattern))
				break;
		if (j == n)
			m->stats[n++].label = routes[i].pattern;
		m->route_stats[i] = j;
	}
	m->st_healthz = n;
	m->stats[n++].label = "/healthz";
	m->st_metrics = n;
	m->stats[n++].label = "/metrics";
	m->st_unmatched = n;
	m->stats[n++].label = "unmatched";
	m->nstats = n;
	pthread_mutex_init(&m->mu, NULL);
}

void http_metrics_release(struct http_metrics *m)
{
	for (size_t i = 0; i < m->nstats; i++)
		free(m->stats[i].series);
	free(m->stats);
	free(m->route_stats);
	pthread_mutex_destroy(&m->mu);
	memset(m, 0, sizeof(*m));
}
