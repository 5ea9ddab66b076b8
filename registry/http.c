/*
 * registry/http.c: the HTTP layer of optreg-server, over libmicrohttpd.
 *
 * One request's life:
 *
 *   on_uri        MHD has parsed the request line: allocate the request,
 *                 keep the raw target (MHD decodes the path it hands the
 *                 access handler, which would hide "%2F"), start the clock,
 *                 count it in flight. From here MHD promises on_completed.
 *   on_request    first call: request id, routing, Content-Length check;
 *                 next calls: body; last call: the handler, then the reply.
 *   on_completed  metrics, the access log line, and every free: the one
 *                 place a request's memory is released.
 *
 * Shutdown: optreg_http_serve waits in sigwait(), quiesces the daemon (no
 * new connections), marks responses "Connection: close", waits for the
 * in-flight count to reach zero (or drain_s), then stops the daemon.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/rand.h>

#define DEFAULT_THREADS	  4
#define DEFAULT_MAX_BODY  ((size_t)1 << 20)
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_DRAIN_S	  10
/* Per-connection memory of MHD: the request line and headers must fit in
 * it (with room for reading), else MHD answers 431 by itself. */
#define HEADER_MEMORY (32u << 10)
/* Most path segments a request may have and still match a route. */
#define MAX_SEGMENTS   32
#define REQUEST_ID_MAX 128

/* Histogram buckets of optreg_http_request_duration_seconds. */
#define NBUCKETS 14
static const uint64_t bucket_us[NBUCKETS] = {
	500,	1000,	2500,	5000,	 10000,	  25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const bucket_le[NBUCKETS] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1",	  "0.25",  "0.5",    "1",     "2.5",  "5",     "10"};

/* The method label of metrics: a fixed set, so that clients cannot make up
 * new series; anything else is "OTHER". */
static const char *const metric_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};
#define NMETHODS (sizeof(metric_methods) / sizeof(metric_methods[0]))

struct http_series {
	unsigned status;
	unsigned method; /* index into metric_methods */
	uint64_t n;
};

/* What one route label has seen. Buckets are not cumulative here. */
struct http_route_stats {
	const char *label;
	uint64_t buckets[NBUCKETS];
	uint64_t count, sum_us;
	struct http_series *series;
	size_t nseries, cap;
};

struct http_server {
	struct optreg_http_config cfg; /* with defaults applied */
	const struct optreg_http_route *routes;
	size_t nroutes;
	void *ctx;

	/* Route index -> stats index; routes sharing a pattern share a
	 * label. The last three stats are /healthz, /metrics, unmatched. */
	size_t *route_stats;
	struct http_route_stats *stats;
	size_t nstats, st_healthz, st_metrics, st_unmatched;
	pthread_mutex_t mu; /* guards stats */

	atomic_long in_flight; /* requests between on_uri and on_completed */
	atomic_bool draining;
};

enum http_kind {
	KIND_ROUTE,
	KIND_HEALTHZ,
	KIND_METRICS,
	KIND_NOT_FOUND,
	KIND_NOT_ALLOWED,
};

/* One request, from on_uri to on_completed. */
struct http_request {
	struct optreg_http_req req; /* what handlers see */
	struct http_server *srv;
	struct MHD_Connection *conn;
	char *target;	 /* raw path, NUL where the '?' was; owned */
	char *path;	 /* decoded path, or NULL when `target` is used */
	char *params;	 /* decoded route parameters; owned */
	char *allow;	 /* Allow header value for 405; owned */
	char *principal; /* copied from req.principal after the handler */
	char *method;	 /* copy, for the log */
	enum http_kind kind;
	size_t route;	/* index into srv->routes, for KIND_ROUTE */
	size_t stats;	/* index into srv->stats */
	bool started;	/* the access handler has seen it */
	bool too_large; /* the body went over max_body */
	bool head;
	size_t bytes_in, bytes_out;
	unsigned status; /* as queued; 0 when nothing was */
	struct timespec t0;
	char remote[INET6_ADDRSTRLEN];
};

/* ---- small helpers ---------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes %XX escapes of s[0..n) into `out` (room for n bytes; may be `s`
 * itself), turning '+' into ' ' when `plus`. Returns the decoded length, or
 * -1 for a malformed escape. NUL bytes may appear in the output.
 */
static long pct_decode(const char *s, size_t n, char *out, bool plus)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	return (long)o;
}

static double elapsed_us(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e6 +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e3;
}

static bool has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* The title of a problem: the status's reason phrase (RFC 9110). */
static const char *status_title(unsigned status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 428:
		return "Precondition Required";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	if (status >= 500)
		return "Server Error";
	if (status >= 400)
		return "Client Error";
	return "Unknown";
}

/* A JSON string of `s` when it is valid UTF-8, else of `s` with its bytes
 * above 0x7F written as \xNN: a log line or problem body is always built,
 * whatever a client sent or a handler put in a message. */
static json_t *json_text(const char *s)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *j = json_string(s);

	if (j)
		return j;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80)
			optreg_buf_addch(&b, (char)*p);
		else
			optreg_buf_addf(&b, "\\x%02X", *p);
	}
	j = json_string(b.data);
	optreg_buf_release(&b);
	return j;
}

/* Writes one JSON line on stderr: ts, level, msg, then `fields` (stolen;
 * may be NULL). One fprintf per line, so lines from threads never interleave.
 */
static void log_write(const char *level, const char *msg, json_t *fields)
{
	struct timespec now;
	struct tm tm;
	char ts[48];
	size_t n;
	json_t *line = json_object();
	char *s;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03dZ",
		 (int)(now.tv_nsec / 1000000) % 1000);
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level));
	json_object_set_new(line, "msg", json_text(msg));
	if (fields) {
		json_object_update(line, fields);
		json_decref(fields);
	}
	s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (s)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(line);
}

/* ---- request objects ---------------------------------------------------- */

void optreg_http_req_init(struct optreg_http_req *req)
{
	memset(req, 0, sizeof(*req));
	optreg_buf_init(&req->body);
	optreg_buf_init(&req->resp);
}

static void headers_free(struct optreg_http_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
}

void optreg_http_req_release(struct optreg_http_req *req)
{
	optreg_buf_release(&req->body);
	optreg_buf_release(&req->resp);
	headers_free(req->headers, req->nheaders);
	headers_free(req->req_headers, req->nreq_headers);
	for (size_t i = 0; i < req->nowned; i++)
		free(req->owned[i]);
	free(req->owned);
	optreg_http_req_init(req);
}

static const char *req_own(struct optreg_http_req *req, char *s)
{
	if (req->nowned == req->owned_cap) {
		req->owned_cap = req->owned_cap ? req->owned_cap * 2 : 4;
		req->owned = optreg_xrealloc(
			req->owned, req->owned_cap * sizeof(*req->owned));
	}
	req->owned[req->nowned++] = s;
	return s;
}

void optreg_http_req_add_header(struct optreg_http_req *req, const char *name,
				const char *value)
{
	struct optreg_http_header *h;

	if (req->nreq_headers == OPTREG_HTTP_MAX_HEADERS)
		return;
	h = &req->req_headers[req->nreq_headers++];
	h->name = optreg_xstrdup(name);
	h->value = optreg_xstrdup(value);
}

const char *optreg_http_query(struct optreg_http_req *req, const char *key)
{
	const char *p = req->query;
	size_t keylen = strlen(key);

	while (p && *p) {
		const char *end = strchr(p, '&');
		const char *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		size_t klen;
		char *k, *v;
		long kn, vn;

		eq = memchr(p, '=', n);
		klen = eq ? (size_t)(eq - p) : n;
		k = optreg_xstrndup(p, klen);
		kn = pct_decode(k, klen, k, true);
		if (kn == (long)keylen && !memcmp(k, key, keylen)) {
			free(k);
			if (!eq)
				return req_own(req, optreg_xstrdup(""));
			v = optreg_xstrndup(eq + 1, n - klen - 1);
			vn = pct_decode(v, n - klen - 1, v, true);
			if (vn < 0 || memchr(v, '\0', (size_t)vn)) {
				/* Raw, so validation names what was sent. */
				free(v);
				v = optreg_xstrndup(eq + 1, n - klen - 1);
			} else {
				v[vn] = '\0';
			}
			return req_own(req, v);
		}
		free(k);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

const char *optreg_http_header(struct optreg_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nreq_headers; i++)
		if (!strcasecmp(req->req_headers[i].name, name))
			return req->req_headers[i].value;
	if (!req->conn)
		return NULL;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void optreg_http_set_header(struct optreg_http_req *req, const char *name,
			    const char *value)
{
	struct optreg_http_header *h;

	if (req->nheaders == OPTREG_HTTP_MAX_HEADERS || has_crlf(name) ||
	    has_crlf(value))
		return;
	h = &req->headers[req->nheaders++];
	h->name = optreg_xstrdup(name);
	h->value = optreg_xstrdup(value);
}

static int dump_to_buf(const char *buffer, size_t size, void *data)
{
	optreg_buf_add(data, buffer, size);
	return 0;
}

void optreg_http_json(struct optreg_http_req *req, unsigned status,
		      json_t *body)
{
	optreg_buf_reset(&req->resp);
	req->status = status;
	req->content_type = "application/json";
	if (!body)
		return;
	if (json_dump_callback(body, dump_to_buf, &req->resp, JSON_COMPACT)) {
		json_decref(body);
		optreg_http_problem(req, 500, "internal", NULL,
				    "the response could not be serialized");
		return;
	}
	json_decref(body);
}

static json_t *problem_errors(const struct optreg_errors *errs)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < errs->len; i++) {
		const struct optreg_error *e = &errs->items[i];
		json_t *item = json_object();

		json_object_set_new(item, "path",
				    json_text(e->path ? e->path : ""));
		json_object_set_new(item, "rule", json_text(e->rule));
		json_object_set_new(item, "message", json_text(e->message));
		if (e->hint)
			json_object_set_new(item, "hint", json_text(e->hint));
		if (e->line > 0)
			json_object_set_new(item, "line",
					    json_integer(e->line));
		if (e->col > 0)
			json_object_set_new(item, "col", json_integer(e->col));
		json_array_append_new(arr, item);
	}
	return arr;
}

void optreg_http_problem(struct optreg_http_req *req, unsigned status,
			 const char *code, const struct optreg_errors *errs,
			 const char *fmt, ...)
{
	json_t *p = json_object();
	char type[160];

	snprintf(type, sizeof(type), "https://optreg.dev/problems/%s", code);
	json_object_set_new(p, "type", json_text(type));
	json_object_set_new(p, "title", json_string(status_title(status)));
	json_object_set_new(p, "status", json_integer(status));
	if (fmt) {
		struct optreg_buf detail = OPTREG_BUF_INIT;
		va_list ap;

		va_start(ap, fmt);
		optreg_buf_vaddf(&detail, fmt, ap);
		va_end(ap);
		json_object_set_new(p, "detail", json_text(detail.data));
		optreg_buf_release(&detail);
	}
	json_object_set_new(p, "code", json_text(code));
	json_object_set_new(p, "request_id", json_text(req->request_id));
	if (errs && errs->len)
		json_object_set_new(p, "errors", problem_errors(errs));

	optreg_buf_reset(&req->resp);
	req->status = status;
	req->content_type = "application/problem+json";
	/* Cannot fail: every string above is valid UTF-8. */
	json_dump_callback(p, dump_to_buf, &req->resp, JSON_COMPACT);
	json_decref(p);
}

/* ---- routing ------------------------------------------------------------ */

/*
 * Splits a raw path into decoded segments stored in `buf` (strlen(path) + 1
 * bytes). Returns the number of segments, or -1 when the path does not start
 * with '/', has more than MAX_SEGMENTS segments, a bad escape, or a segment
 * decoding to something with NUL or '/' in it.
 */
static int split_path(const char *path, char *buf, size_t buflen,
		      const char *segs[MAX_SEGMENTS])
{
	const char *p;
	char *o = buf;
	int n = 0;

	if (path[0] != '/' || buflen < strlen(path) + 1)
		return -1;
	p = path + 1;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		long dn;

		if (n == MAX_SEGMENTS)
			return -1;
		dn = pct_decode(p, len, o, false);
		if (dn < 0 || memchr(o, '\0', (size_t)dn) ||
		    memchr(o, '/', (size_t)dn))
			return -1;
		o[dn] = '\0';
		segs[n++] = o;
		o += dn + 1;
		if (!end)
			break;
		p = end + 1;
	}
	return n;
}

/* Whether `pattern` matches the segments; fills params when non-NULL. */
static bool pattern_match(const char *pattern, const char *const *segs,
			  int nsegs, const char **params, size_t *nparams)
{
	const char *p = pattern;
	size_t np = 0;
	int i = 0;

	if (*p++ != '/')
		return false;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (i == nsegs)
			return false;
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (!segs[i][0] || np == OPTREG_HTTP_MAX_PARAMS)
				return false;
			if (params)
				params[np] = segs[i];
			np++;
		} else if (strlen(segs[i]) != len || memcmp(segs[i], p, len)) {
			return false;
		}
		i++;
		if (!end)
			break;
		p = end + 1;
	}
	if (i != nsegs)
		return false;
	if (nparams)
		*nparams = np;
	return true;
}

int optreg_http_match(const struct optreg_http_route *routes, size_t nroutes,
		      const char *method, const char *path,
		      const char *params[OPTREG_HTTP_MAX_PARAMS],
		      size_t *nparams, char *params_buf, size_t params_buf_len)
{
	const char *segs[MAX_SEGMENTS];
	bool path_hit = false;
	long head_get = -1;
	int nsegs;

	*nparams = 0;
	nsegs = split_path(path, params_buf, params_buf_len, segs);
	if (nsegs < 0)
		return -1;
	for (size_t i = 0; i < nroutes; i++) {
		if (!pattern_match(routes[i].pattern, segs, nsegs, NULL, NULL))
			continue;
		path_hit = true;
		if (!strcmp(routes[i].method, method)) {
			pattern_match(routes[i].pattern, segs, nsegs, params,
				      nparams);
			return (int)i;
		}
		if (head_get < 0 && !strcmp(method, "HEAD") &&
		    !strcmp(routes[i].method, "GET"))
			head_get = (long)i;
	}
	if (head_get >= 0) {
		pattern_match(routes[head_get].pattern, segs, nsegs, params,
			      nparams);
		return (int)head_get;
	}
	return path_hit ? -2 : -1;
}

/* The Allow header for a path that matched with another method:
 * the methods of every route matching it, HEAD added with GET. */
static char *allow_for(const struct optreg_http_route *routes, size_t nroutes,
		       const char *path)
{
	const char *segs[MAX_SEGMENTS];
	struct optreg_buf out = OPTREG_BUF_INIT;
	size_t len = strlen(path) + 1;
	char *buf = optreg_xmalloc(len);
	int nsegs = split_path(path, buf, len, segs);
	bool get = false, head = false;

	for (size_t i = 0; nsegs >= 0 && i < nroutes; i++) {
		const char *m = routes[i].method;

		if (!pattern_match(routes[i].pattern, segs, nsegs, NULL, NULL))
			continue;
		/* Leave out a method listed already. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(routes[j].method, m) &&
			       pattern_match(routes[j].pattern, segs, nsegs,
					     NULL, NULL);
		if (seen)
			continue;
		get |= !strcmp(m, "GET");
		head |= !strcmp(m, "HEAD");
		optreg_buf_addf(&out, "%s%s", out.len ? ", " : "", m);
	}
	if (get && !head)
		optreg_buf_adds(&out, ", HEAD");
	free(buf);
	return optreg_buf_detach(&out, NULL);
}

/* ---- metrics ------------------------------------------------------------ */

static unsigned method_index(const char *m)
{
	for (unsigned i = 0; i + 1 < NMETHODS; i++)
		if (!strcmp(metric_methods[i], m))
			return i;
	return NMETHODS - 1;
}

static void stats_record(struct http_server *srv, size_t st, unsigned method,
			 unsigned status, double us)
{
	struct http_route_stats *s = &srv->stats[st];
	uint64_t dur = us < 0 ? 0 : (uint64_t)us;
	struct http_series *ser = NULL;

	pthread_mutex_lock(&srv->mu);
	for (size_t i = 0; i < s->nseries && !ser; i++)
		if (s->series[i].status == status &&
		    s->series[i].method == method)
			ser = &s->series[i];
	if (!ser) {
		if (s->nseries == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 4;
			s->series = optreg_xrealloc(
				s->series, s->cap * sizeof(*s->series));
		}
		ser = &s->series[s->nseries++];
		ser->status = status;
		ser->method = method;
		ser->n = 0;
	}
	ser->n++;
	for (size_t i = 0; i < NBUCKETS; i++) {
		if (dur <= bucket_us[i]) {
			s->buckets[i]++;
			break;
		}
	}
	s->count++;
	s->sum_us += dur;
	pthread_mutex_unlock(&srv->mu);
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

static void render_metrics(struct http_server *srv, struct optreg_buf *out)
{
	optreg_buf_adds(out, "# HELP optreg_http_requests_total HTTP requests "
			     "answered, by route, method and status.\n"
			     "# TYPE optreg_http_requests_total counter\n");
	pthread_mutex_lock(&srv->mu);
	for (size_t i = 0; i < srv->nstats; i++) {
		const struct http_route_stats *s = &srv->stats[i];

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
	for (size_t i = 0; i < srv->nstats; i++) {
		const struct http_route_stats *s = &srv->stats[i];
		uint64_t cum = 0;

		if (!s->count)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++) {
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
	pthread_mutex_unlock(&srv->mu);
	optreg_buf_addf(out,
			"# HELP optreg_http_in_flight Requests being served.\n"
			"# TYPE optreg_http_in_flight gauge\n"
			"optreg_http_in_flight %ld\n",
			atomic_load(&srv->in_flight));
	if (srv->cfg.metrics)
		srv->cfg.metrics(out, srv->ctx);
}

static void stats_setup(struct http_server *srv)
{
	size_t n = 0;

	srv->route_stats = optreg_xcalloc(srv->nroutes + 1, sizeof(size_t));
	srv->stats = optreg_xcalloc(srv->nroutes + 3, sizeof(*srv->stats));
	for (size_t i = 0; i < srv->nroutes; i++) {
		size_t j;

		for (j = 0; j < n; j++)
			if (!strcmp(srv->stats[j].label,
				    srv->routes[i].pattern))
				break;
		if (j == n)
			srv->stats[n++].label = srv->routes[i].pattern;
		srv->route_stats[i] = j;
	}
	srv->st_healthz = n;
	srv->stats[n++].label = "/healthz";
	srv->st_metrics = n;
	srv->stats[n++].label = "/metrics";
	srv->st_unmatched = n;
	srv->stats[n++].label = "unmatched";
	srv->nstats = n;
}

static void stats_free(struct http_server *srv)
{
	for (size_t i = 0; i < srv->nstats; i++)
		free(srv->stats[i].series);
	free(srv->stats);
	free(srv->route_stats);
}

/* ---- the MHD callbacks ----------------------------------------------------
 */

static bool request_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n == REQUEST_ID_MAX ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return n > 0;
}

static void request_id_new(char out[33])
{
	static atomic_ulong fallback;
	unsigned char raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		/* Unique in this process is enough for a log key. */
		unsigned long n = atomic_fetch_add(&fallback, 1);
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(out, 33, "%016llx%016lx",
			 (unsigned long long)ts.tv_sec * 1000000000ull +
				 (unsigned long long)ts.tv_nsec,
			 n);
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static void request_free(struct http_request *r)
{
	optreg_http_req_release(&r->req);
	free(r->target);
	free(r->path);
	free(r->params);
	free(r->allow);
	free(r->principal);
	free(r->method);
	free(r);
}

/* MHD has read a request line: the start of a request (see top). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_server *srv = cls;
	struct http_request *r = optreg_xcalloc(1, sizeof(*r));
	const union MHD_ConnectionInfo *ci;
	char *q;

	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	atomic_fetch_add(&srv->in_flight, 1);
	optreg_http_req_init(&r->req);
	r->srv = srv;
	r->conn = conn;
	r->target = optreg_xstrdup(uri ? uri : "");
	q = strchr(r->target, '?');
	if (q) {
		*q = '\0';
		r->req.query = q + 1;
	}
	r->stats = srv->st_unmatched;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)sa)->sin_addr,
				  r->remote, sizeof(r->remote));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  r->remote, sizeof(r->remote));
	}
	return r;
}

/* First call of the access handler: headers are in; decide the route. */
static void request_begin(struct http_request *r, const char *method)
{
	struct http_server *srv = r->srv;
	struct optreg_http_req *req = &r->req;
	const char *rid;
	size_t len = strlen(r->target) + 1;
	int idx;

	r->method = optreg_xstrdup(method);
	r->head = !strcmp(method, "HEAD");
	req->method = r->method;
	req->conn = r->conn;
	req->ctx = srv->ctx;
	rid = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					  "X-Request-Id");
	if (rid && request_id_ok(rid))
		snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
	else
		request_id_new(req->request_id);

	/* The decoded path, for handlers; the raw one when it has bad
	 * escapes or a NUL (such a path matches no route anyway). */
	r->path = optreg_xmalloc(len);
	long dn = pct_decode(r->target, len - 1, r->path, false);
	if (dn < 0 || memchr(r->path, '\0', (size_t)dn)) {
		free(r->path);
		r->path = NULL;
		req->path = r->target;
	} else {
		r->path[dn] = '\0';
		req->path = r->path;
	}

	if (!strcmp(r->target, "/healthz") || !strcmp(r->target, "/metrics")) {
		bool healthz = r->target[1] == 'h';

		if (strcmp(method, "GET") && !r->head) {
			r->kind = KIND_NOT_ALLOWED;
			r->allow = optreg_xstrdup("GET, HEAD");
			return;
		}
		r->kind = healthz ? KIND_HEALTHZ : KIND_METRICS;
		r->stats = healthz ? srv->st_healthz : srv->st_metrics;
		req->route = healthz ? "/healthz" : "/metrics";
		return;
	}
	r->params = optreg_xmalloc(len);
	idx = optreg_http_match(srv->routes, srv->nroutes, method, r->target,
				req->params, &req->nparams, r->params, len);
	if (idx >= 0) {
		r->kind = KIND_ROUTE;
		r->route = (size_t)idx;
		r->stats = srv->route_stats[idx];
		req->route = srv->routes[idx].pattern;
		return;
	}
	if (idx == -2) {
		r->kind = KIND_NOT_ALLOWED;
		r->allow = allow_for(srv->routes, srv->nroutes, r->target);
		return;
	}
	r->kind = KIND_NOT_FOUND;
}

/* Runs what the request is for; leaves the answer in r->req. */
static void request_dispatch(struct http_request *r)
{
	struct http_server *srv = r->srv;
	struct optreg_http_req *req = &r->req;

	if (r->too_large) {
		optreg_http_problem(req, 413, "too_large", NULL,
				    "the request body is larger than %zu bytes",
				    srv->cfg.max_body);
		optreg_http_set_header(req, "Connection", "close");
		return;
	}
	switch (r->kind) {
	case KIND_HEALTHZ:
		optreg_http_json(req, 200, json_pack("{s:s}", "status", "ok"));
		return;
	case KIND_METRICS:
		optreg_buf_reset(&req->resp);
		render_metrics(srv, &req->resp);
		req->status = 200;
		req->content_type = "text/plain; version=0.0.4; charset=utf-8";
		return;
	case KIND_NOT_FOUND:
		optreg_http_problem(req, 404, "not_found", NULL,
				    "no resource at this path");
		return;
	case KIND_NOT_ALLOWED:
		optreg_http_set_header(req, "Allow", r->allow);
		optreg_http_problem(req, 405, "method_not_allowed", NULL,
				    "the method is not allowed here (allowed: "
				    "%s)",
				    r->allow);
		return;
	case KIND_ROUTE:
		break;
	}
	srv->routes[r->route].handler(req);
	if (req->principal)
		r->principal = optreg_xstrdup(req->principal);
	if (req->status < 200 || req->status > 599) {
		headers_free(req->headers, req->nheaders);
		req->nheaders = 0;
		optreg_http_problem(req, 500, "internal", NULL,
				    "the request could not be answered; its "
				    "request id is in the server log");
	}
}

/* Sends what r->req holds. */
static enum MHD_Result request_respond(struct http_request *r)
{
	struct optreg_http_req *req = &r->req;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *body = optreg_buf_detach(&req->resp, &len);

	resp = MHD_create_response_from_buffer(len, body,
					       MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (len || (req->status != 204 && req->status != 304))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					req->content_type ? req->content_type
							  : "application/json");
	for (size_t i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name,
					req->headers[i].value);
	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	if (atomic_load(&r->srv->draining))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	ret = MHD_queue_response(r->conn, req->status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES) {
		r->status = req->status;
		r->bytes_out = r->head ? 0 : len;
	}
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *r = *con_cls;
	size_t max = srv->cfg.max_body;

	(void)url; /* decoded by MHD; routing uses the raw target */
	(void)version;
	if (!r) /* on_uri always runs first; be safe anyway */
		r = *con_cls = on_uri(srv, url, conn);

	if (!r->started) {
		const char *cl;

		r->started = true;
		request_begin(r, method);
		cl = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			unsigned long long n = strtoull(cl, NULL, 10);

			if (n > max) {
				r->too_large = true;
				/* Beyond what we would read and drop: answer
				 * now; MHD then closes the connection. */
				if (n - max > max) {
					request_dispatch(r);
					return request_respond(r);
				}
			}
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;

		r->bytes_in += n;
		if (!r->too_large && r->req.body.len + n <= max) {
			optreg_buf_add(&r->req.body, upload_data, n);
		} else {
			if (!r->too_large) {
				r->too_large = true;
				optreg_buf_release(&r->req.body);
			}
			/* Read and drop up to max_body more, so the client
			 * reads a 413 instead of a reset; beyond, close. */
			if (r->bytes_in > max && r->bytes_in - max > max)
				return MHD_NO;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	request_dispatch(r);
	return request_respond(r);
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return NULL;
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "read_error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client_abort";
	}
	return "unknown";
}

/* The end of a request, whatever happened: metrics, log, free. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *r = *con_cls;
	const char *err = termination_name(toe);
	unsigned status;
	double us;
	json_t *f;

	if (!r)
		return;
	*con_cls = NULL;
	us = elapsed_us(&r->t0);
	status = r->status;
	if (!status) {
		/* MHD's own answers (400, 413, 431, ...) */
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			conn, MHD_CONNECTION_INFO_HTTP_STATUS);
		if (ci)
			status = ci->http_status;
	}
	if (!r->req.request_id[0])
		request_id_new(r->req.request_id);
	if (status)
		stats_record(srv, r->stats,
			     method_index(r->method ? r->method : ""), status,
			     us);

	f = json_object();
	json_object_set_new(f, "request_id", json_string(r->req.request_id));
	if (r->method)
		json_object_set_new(f, "method", json_text(r->method));
	json_object_set_new(f, "path", json_text(r->target));
	json_object_set_new(f, "route",
			    json_string(srv->stats[r->stats].label));
	json_object_set_new(f, "status", json_integer(status));
	json_object_set_new(f, "duration_ms",
			    json_real((double)(uint64_t)us / 1000.0));
	json_object_set_new(f, "bytes_in",
			    json_integer((json_int_t)r->bytes_in));
	json_object_set_new(f, "bytes_out",
			    json_integer((json_int_t)r->bytes_out));
	if (r->principal)
		json_object_set_new(f, "principal", json_text(r->principal));
	if (r->remote[0])
		json_object_set_new(f, "remote", json_string(r->remote));
	if (err)
		json_object_set_new(f, "error", json_string(err));
	log_write("info", "request", f);

	request_free(r);
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* ---- serving ------------------------------------------------------------ */

/* Splits "host:port" / "[v6]:port" / ":port". Returns 0 or OPTREG_EUSAGE. */
static int parse_listen(const char *addr, char *host, size_t hostlen,
			char *port, size_t portlen)
{
	const char *colon, *h = addr;
	size_t hl;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return OPTREG_EUSAGE;
		h = addr + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return OPTREG_EUSAGE;
		hl = (size_t)(colon - addr);
		if (memchr(addr, ':', hl)) /* IPv6 without brackets */
			return OPTREG_EUSAGE;
	}
	if (hl >= hostlen || strlen(colon + 1) >= portlen)
		return OPTREG_EUSAGE;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strtoul(colon + 1, NULL, 10) > 65535)
		return OPTREG_EUSAGE;
	strcpy(port, colon + 1);
	return 0;
}

static void log_error(const char *msg, const char *addr, const char *why)
{
	json_t *f = json_object();

	json_object_set_new(f, "listen", json_text(addr));
	if (why)
		json_object_set_new(f, "error", json_text(why));
	log_write("error", msg, f);
}

/* Binds and listens; returns the socket or a negative OPTREG_E* code. */
static int open_listener(const char *addr, int *family)
{
	char host[256], port[8];
	struct addrinfo hints, *res, *ai;
	int fd = -1, err = 0, rc;

	if (parse_listen(addr, host, sizeof(host), port, sizeof(port))) {
		log_error("cannot listen: expected host:port or [ipv6]:port",
			  addr, NULL);
		return OPTREG_EUSAGE;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		log_error("cannot listen: cannot resolve the host", addr,
			  gai_strerror(rc));
		return OPTREG_EUSAGE;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0) {
			*family = ai->ai_family;
			break;
		}
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		log_error("cannot listen", addr, strerror(err));
		return OPTREG_EIO;
	}
	return fd;
}

static unsigned bound_port(struct MHD_Daemon *d, int fd)
{
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (di && di->port)
		return di->port;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Waits for in-flight requests to finish, up to drain_s; a second signal
 * ends the wait. Returns the number still in flight. */
static long drain(struct http_server *srv, const sigset_t *set)
{
	struct timespec start;
	const struct timespec tick = {0, 20 * 1000 * 1000};

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (atomic_load(&srv->in_flight) > 0 &&
	       elapsed_us(&start) < srv->cfg.drain_s * 1e6) {
		if (sigtimedwait(set, NULL, &tick) > 0) {
			log_write("warn",
				  "second signal: not waiting for "
				  "requests in flight",
				  NULL);
			break;
		}
	}
	return atomic_load(&srv->in_flight);
}

int optreg_http_serve(const struct optreg_http_config *cfg,
		      const struct optreg_http_route *routes, size_t nroutes,
		      void *ctx, void (*ready)(unsigned port, void *ctx))
{
	struct http_server srv;
	struct MHD_Daemon *d;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
	sigset_t set, old;
	const struct timespec zero = {0, 0};
	MHD_socket lfd;
	unsigned port;
	int fd, family = AF_INET, sig = 0;
	long left;

	memset(&srv, 0, sizeof(srv));
	srv.cfg = *cfg;
	if (!srv.cfg.listen)
		srv.cfg.listen = "127.0.0.1:8080";
	if (!srv.cfg.threads)
		srv.cfg.threads = DEFAULT_THREADS;
	if (!srv.cfg.max_body)
		srv.cfg.max_body = DEFAULT_MAX_BODY;
	if (!srv.cfg.max_conns)
		srv.cfg.max_conns = DEFAULT_MAX_CONNS;
	if (!srv.cfg.timeout_s)
		srv.cfg.timeout_s = DEFAULT_TIMEOUT_S;
	if (!srv.cfg.drain_s)
		srv.cfg.drain_s = DEFAULT_DRAIN_S;
	srv.routes = routes;
	srv.nroutes = nroutes;
	srv.ctx = ctx;
	atomic_init(&srv.in_flight, 0);
	atomic_init(&srv.draining, false);

	fd = open_listener(srv.cfg.listen, &family);
	if (fd < 0)
		return fd;
	stats_setup(&srv);
	pthread_mutex_init(&srv.mu, NULL);

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
		flags |= MHD_USE_POLL;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;

	/* The pool threads inherit this mask: the signals wait for sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, &old);

	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv,
			     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			     MHD_OPTION_THREAD_POOL_SIZE, srv.cfg.threads,
			     MHD_OPTION_CONNECTION_LIMIT, srv.cfg.max_conns,
			     MHD_OPTION_CONNECTION_TIMEOUT, srv.cfg.timeout_s,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)HEADER_MEMORY,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			     srv.cfg.per_ip_conns, MHD_OPTION_URI_LOG_CALLBACK,
			     on_uri, &srv, MHD_OPTION_NOTIFY_COMPLETED,
			     (MHD_RequestCompletedCallback)on_completed, &srv,
			     MHD_OPTION_END);
	if (!d) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(fd);
		log_error("cannot listen: libmicrohttpd did not start",
			  srv.cfg.listen, NULL);
		pthread_mutex_destroy(&srv.mu);
		stats_free(&srv);
		return OPTREG_EIO;
	}
	port = bound_port(d, fd);
	log_write("info", "listening",
		  json_pack("{s:s, s:i, s:i}", "listen", srv.cfg.listen, "port",
			    (int)port, "threads", (int)srv.cfg.threads));
	if (ready)
		ready(port, ctx);

	while (sigwait(&set, &sig))
		;
	log_write("info", "shutting down",
		  json_pack("{s:s, s:i}", "signal",
			    sig == SIGINT ? "SIGINT" : "SIGTERM", "in_flight",
			    (int)atomic_load(&srv.in_flight)));
	atomic_store(&srv.draining, true);
	lfd = MHD_quiesce_daemon(d);
	left = drain(&srv, &set);
	MHD_stop_daemon(d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	log_write("info", "stopped",
		  json_pack("{s:i}", "abandoned", (int)left));

	/* Take further pending signals, so restoring the mask does not
	 * deliver them. */
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_destroy(&srv.mu);
	stats_free(&srv);
	return 0;
}
