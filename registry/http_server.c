/*
 * registry/http_server.c: the HTTP layer's server, over libmicrohttpd: the
 * only file that includes microhttpd.h.
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
 * Threads: MHD's I/O threads (IO_THREADS, epoll) read and write the
 * connections and never wait on anything else: they answer /healthz,
 * /metrics, 404/405/413 and a route's try_cached (see http.h) themselves.
 * Every other request is handed to a worker: the I/O thread suspends the
 * connection (MHD_suspend_connection) and queues the request; one of the
 * `threads` workers runs the handler, marks the request done and resumes
 * the connection, and MHD calls on_request once more, on the I/O thread,
 * which sends the answer. So a handler blocked on the database holds one
 * worker, never a connection's I/O thread, and /healthz answers at once
 * however many workers are waiting. The queue is bounded (4 per worker +
 * 64): a request that finds it full is answered 503 with Retry-After by
 * the I/O thread, so a stalled database cannot pile up requests and their
 * bodies in memory.
 *
 * Shutdown: optreg_http_serve waits in sigwait(), quiesces the daemon (no
 * new connections), marks responses "Connection: close", waits for the
 * in-flight count to reach zero (or drain_s), stops the workers (a request
 * still queued then is answered 503 without running its handler, so no
 * connection stays suspended), then stops the daemon.
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

#include "../common/hash.h"
#include "../common/log.h"
#include "http_int.h"

#define DEFAULT_THREADS	  4
#define DEFAULT_MAX_BODY  ((size_t)1 << 20)
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_DRAIN_S	  10
/* MHD's I/O threads: they never block, so two are plenty. */
#define IO_THREADS 2
/* Per-connection memory of MHD: the request line and headers must fit in
 * it (with room for reading), else MHD answers 431 by itself. */
#define HEADER_MEMORY  (32u << 10)
#define REQUEST_ID_MAX 128
/* The worker queue holds at most this many requests per worker thread,
 * plus the extra (docs/operations.md); past it a request is answered 503
 * at once. */
#define HTTP_QUEUE_PER_WORKER 4
#define HTTP_QUEUE_EXTRA      64

struct http_server {
	struct optreg_http_config cfg; /* with defaults applied */
	const struct optreg_http_route *routes;
	size_t nroutes;
	void *ctx;
	struct http_metrics metrics;

	atomic_long in_flight; /* requests between on_uri and on_completed */
	atomic_bool draining;

	/* The workers and their queue of suspended requests (see top). */
	pthread_t *workers;
	unsigned nworkers;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct http_request *qhead, *qtail;
	unsigned qlen, qmax; /* queued requests, and the most there may be */
	bool stopping;	     /* under qlock: no more queueing */
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
	unsigned status;	   /* as queued; 0 when nothing was */
	struct http_request *next; /* in the worker queue */
	bool queued;	  /* handed to a worker, connection suspended */
	atomic_bool done; /* the worker has answered in req */
	struct timespec t0;
	char remote[INET6_ADDRSTRLEN];
};

static double elapsed_us(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1e6 +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e3;
}

/* /metrics: the request metrics, the in-flight gauge, then what the
 * configuration's `metrics` adds. */
static void render_metrics(struct http_server *srv, struct optreg_buf *out)
{
	http_metrics_render(&srv->metrics, out);
	optreg_buf_addf(out,
			"# HELP optreg_http_in_flight Requests being served.\n"
			"# TYPE optreg_http_in_flight gauge\n"
			"optreg_http_in_flight %ld\n",
			atomic_load(&srv->in_flight));
	if (srv->cfg.metrics)
		srv->cfg.metrics(out, srv->ctx);
}

const char *http_server_header(void *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* ---- the MHD callbacks ------------------------------------------------- */

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
	optreg_hex_encode(raw, sizeof(raw), out);
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
	r->req.start_ms =
		(int64_t)r->t0.tv_sec * 1000 + r->t0.tv_nsec / 1000000;
	r->srv = srv;
	r->conn = conn;
	r->target = optreg_xstrdup(uri ? uri : "");
	q = strchr(r->target, '?');
	if (q) {
		*q = '\0';
		r->req.query = q + 1;
	}
	r->stats = srv->metrics.st_unmatched;
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
	r->req.remote = r->remote;
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
	long dn = http_pct_decode(r->target, len - 1, r->path, false);
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
		r->stats = healthz ? srv->metrics.st_healthz
				   : srv->metrics.st_metrics;
		req->route = healthz ? "/healthz" : "/metrics";
		return;
	}
	r->params = optreg_xmalloc(len);
	idx = optreg_http_match(srv->routes, srv->nroutes, method, r->target,
				req->params, &req->nparams, r->params, len);
	if (idx >= 0) {
		r->kind = KIND_ROUTE;
		r->route = (size_t)idx;
		r->stats = srv->metrics.route_stats[idx];
		req->route = srv->routes[idx].pattern;
		return;
	}
	if (idx == -2) {
		r->kind = KIND_NOT_ALLOWED;
		r->allow =
			http_router_allow(srv->routes, srv->nroutes, r->target);
		return;
	}
	r->kind = KIND_NOT_FOUND;
}

static void request_handled(struct http_request *r);

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
		if (srv->cfg.unrouted)
			srv->cfg.unrouted(req);
		return;
	case KIND_NOT_ALLOWED:
		optreg_http_set_header(req, "Allow", r->allow);
		optreg_http_problem(req, 405, "method_not_allowed", NULL,
				    "the method is not allowed here (allowed: "
				    "%s)",
				    r->allow);
		if (srv->cfg.unrouted)
			srv->cfg.unrouted(req);
		return;
	case KIND_ROUTE:
		break;
	}
	srv->routes[r->route].handler(req);
	request_handled(r);
}

/* After a handler: keeps the principal for the log, and answers 500 when
 * the handler gave no valid status. */
static void request_handled(struct http_request *r)
{
	struct optreg_http_req *req = &r->req;

	if (req->principal && !r->principal)
		r->principal = optreg_xstrdup(req->principal);
	if (req->status < 200 || req->status > 599) {
		http_headers_free(req->headers, req->nheaders);
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

/* Forgets what a try_cached left in the response. */
static void response_clear(struct optreg_http_req *req)
{
	http_headers_free(req->headers, req->nheaders);
	req->nheaders = 0;
	optreg_buf_reset(&req->resp);
	req->status = 0;
	req->content_type = NULL;
}

/* True when the request can be answered on the I/O thread: all but the
 * routes, and a route whose try_cached answers it. */
static bool request_answer_here(struct http_request *r)
{
	const struct optreg_http_route *rt;

	if (r->kind != KIND_ROUTE || r->too_large)
		return true;
	rt = &r->srv->routes[r->route];
	if (!rt->try_cached)
		return false;
	if (rt->try_cached(&r->req)) {
		request_handled(r);
		return true;
	}
	response_clear(&r->req);
	return false;
}

/* What request_queue did. */
enum queue_result {
	QUEUED,
	QUEUE_STOPPING, /* the workers are stopping */
	QUEUE_FULL,	/* qmax requests wait already */
};

/* Suspends the connection and queues the request for a worker, unless the
 * workers are stopping or the queue is full: then the caller answers. */
static enum queue_result request_queue(struct http_request *r)
{
	struct http_server *srv = r->srv;

	pthread_mutex_lock(&srv->qlock);
	if (srv->stopping) {
		pthread_mutex_unlock(&srv->qlock);
		return QUEUE_STOPPING;
	}
	if (srv->qlen >= srv->qmax) {
		pthread_mutex_unlock(&srv->qlock);
		return QUEUE_FULL;
	}
	MHD_suspend_connection(r->conn);
	r->queued = true;
	r->next = NULL;
	if (srv->qtail)
		srv->qtail->next = r;
	else
		srv->qhead = r;
	srv->qtail = r;
	srv->qlen++;
	pthread_cond_signal(&srv->qcond);
	pthread_mutex_unlock(&srv->qlock);
	return QUEUED;
}

static void answer_stopping(struct optreg_http_req *req)
{
	optreg_http_set_header(req, "Retry-After", "1");
	optreg_http_set_header(req, "Connection", "close");
	optreg_http_problem(req, 503, "unavailable", NULL,
			    "the server is shutting down; retry shortly");
}

/* Every worker is busy and the queue is full (a hung database, or more
 * load than the workers serve): refuse now rather than hold the request,
 * and its body, in memory. */
static void answer_queue_full(struct http_request *r)
{
	optreg_http_set_header(&r->req, "Retry-After", "1");
	optreg_http_problem(&r->req, 503, "unavailable", NULL,
			    "the server is busy: %u requests already wait for "
			    "its %u worker threads; retry shortly",
			    r->srv->qmax, r->srv->nworkers);
}

/* A worker: runs queued handlers until stopped and the queue is empty. */
static void *worker_main(void *arg)
{
	struct http_server *srv = arg;

	for (;;) {
		struct http_request *r;
		bool stopping;

		pthread_mutex_lock(&srv->qlock);
		while (!srv->qhead && !srv->stopping)
			pthread_cond_wait(&srv->qcond, &srv->qlock);
		r = srv->qhead;
		if (r) {
			srv->qhead = r->next;
			if (!srv->qhead)
				srv->qtail = NULL;
			srv->qlen--;
		}
		stopping = srv->stopping;
		pthread_mutex_unlock(&srv->qlock);
		if (!r)
			return NULL;
		if (stopping)
			answer_stopping(&r->req);
		else
			request_dispatch(r);
		atomic_store(&r->done, true);
		/* From here `r` is MHD's again: on_request sends the answer. */
		MHD_resume_connection(r->conn);
	}
}

/* Stops the workers once the queue is empty (what is left in it is
 * answered 503) and joins them. */
static void workers_stop(struct http_server *srv)
{
	pthread_mutex_lock(&srv->qlock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->qcond);
	pthread_mutex_unlock(&srv->qlock);
	for (unsigned i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
}

/* Answers 400 and closes when the body length is ambiguous (see
 * http_framing_problem). Returns false when it answered. */
static bool framing_ok(struct http_request *r)
{
	const char *why = http_framing_problem(r->conn);

	if (!why)
		return true;
	optreg_http_problem(&r->req, 400, "bad_request", NULL, "%s", why);
	optreg_http_set_header(&r->req, "Connection", "close");
	return false;
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
		if (!framing_ok(r))
			return request_respond(r);
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

	if (atomic_load(&r->done))
		return request_respond(r); /* a worker answered; resumed */
	if (r->queued)
		return MHD_YES; /* not expected: it is suspended */
	if (!request_answer_here(r)) {
		switch (request_queue(r)) {
		case QUEUED:
			return MHD_YES;
		case QUEUE_FULL:
			answer_queue_full(r);
			break;
		case QUEUE_STOPPING:
			answer_stopping(&r->req);
			break;
		}
		return request_respond(r);
	}
	if (r->kind != KIND_ROUTE || r->too_large)
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
	struct optreg_log_line line;

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
		http_metrics_record(
			&srv->metrics, r->stats,
			http_metrics_method(r->method ? r->method : ""), status,
			us);

	/* The access log line, built as text: a JSON document a request
	 * cost more than the rest of a cached GET's own work. */
	optreg_log_line_start(&line, "info", "request");
	optreg_log_line_text(&line, "request_id", r->req.request_id);
	if (r->method)
		optreg_log_line_text(&line, "method", r->method);
	optreg_log_line_text(&line, "path", r->target);
	optreg_log_line_text(&line, "route",
			     srv->metrics.stats[r->stats].label);
	optreg_log_line_int(&line, "status", status);
	optreg_log_line_ms(&line, "duration_ms", (uint64_t)us);
	optreg_log_line_int(&line, "bytes_in", (int64_t)r->bytes_in);
	optreg_log_line_int(&line, "bytes_out", (int64_t)r->bytes_out);
	if (r->principal)
		optreg_log_line_text(&line, "principal", r->principal);
	if (r->remote[0])
		optreg_log_line_text(&line, "remote", r->remote);
	if (err)
		optreg_log_line_text(&line, "error", err);
	optreg_log_line_end(&line);

	request_free(r);
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* ---- serving ------------------------------------------------------------ */

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
			optreg_log_write("warn",
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
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
			 MHD_ALLOW_SUSPEND_RESUME;
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

	fd = http_listen_open(srv.cfg.listen, &family);
	if (fd < 0)
		return fd;
	http_metrics_init(&srv.metrics, routes, nroutes);

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

	pthread_mutex_init(&srv.qlock, NULL);
	pthread_cond_init(&srv.qcond, NULL);
	srv.workers = optreg_xcalloc(srv.cfg.threads, sizeof(*srv.workers));
	for (unsigned i = 0; i < srv.cfg.threads; i++)
		if (pthread_create(&srv.workers[srv.nworkers], NULL,
				   worker_main, &srv) == 0)
			srv.nworkers++;
	srv.qmax = HTTP_QUEUE_PER_WORKER * srv.nworkers + HTTP_QUEUE_EXTRA;

	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &srv,
			     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)IO_THREADS,
			     MHD_OPTION_CONNECTION_LIMIT, srv.cfg.max_conns,
			     MHD_OPTION_CONNECTION_TIMEOUT, srv.cfg.timeout_s,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)HEADER_MEMORY,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			     srv.cfg.per_ip_conns, MHD_OPTION_URI_LOG_CALLBACK,
			     on_uri, &srv, MHD_OPTION_NOTIFY_COMPLETED,
			     (MHD_RequestCompletedCallback)on_completed, &srv,
			     MHD_OPTION_END);
	if (!d || !srv.nworkers) {
		if (d)
			MHD_stop_daemon(d);
		workers_stop(&srv);
		pthread_cond_destroy(&srv.qcond);
		pthread_mutex_destroy(&srv.qlock);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		close(fd);
		http_listen_log_error(
			"cannot listen: libmicrohttpd did not start",
			srv.cfg.listen, NULL);
		http_metrics_release(&srv.metrics);
		return OPTREG_EIO;
	}
	port = bound_port(d, fd);
	optreg_log_write("info", "listening",
			 json_pack("{s:s, s:i, s:i}", "listen", srv.cfg.listen,
				   "port", (int)port, "threads",
				   (int)srv.cfg.threads));
	if (ready)
		ready(port, ctx);

	while (sigwait(&set, &sig))
		;
	optreg_log_write("info", "shutting down",
			 json_pack("{s:s, s:i}", "signal",
				   sig == SIGINT ? "SIGINT" : "SIGTERM",
				   "in_flight",
				   (int)atomic_load(&srv.in_flight)));
	atomic_store(&srv.draining, true);
	lfd = MHD_quiesce_daemon(d);
	left = drain(&srv, &set);
	workers_stop(&srv);
	MHD_stop_daemon(d);
	pthread_cond_destroy(&srv.qcond);
	pthread_mutex_destroy(&srv.qlock);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	optreg_log_write("info", "stopped",
			 json_pack("{s:i}", "abandoned", (int)left));

	/* Take further pending signals, so restoring the mask does not
	 * deliver them. */
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	http_metrics_release(&srv.metrics);
	return 0;
}
