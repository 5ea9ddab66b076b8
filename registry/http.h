/*
 * registry/http.h: the HTTP layer of optreg-server, over libmicrohttpd.
 *
 * It owns everything HTTP: listening (thread pool + epoll), limits and
 * timeouts, reading bodies, request ids, routing to handlers, problem+json
 * errors, JSON access logs, /healthz and /metrics, and graceful shutdown.
 * Handlers know nothing of libmicrohttpd: they read an optreg_http_req and
 * fill in its response, and are called on a worker thread (`threads` of
 * them), never on the I/O threads that read and write the connections:
 * a handler that waits (on the database) holds up no other connection,
 * and /healthz and /metrics are answered by the I/O threads at once.
 *
 * The layer's files: http_req.c (the request object and replies),
 * http_router.c (matching, Allow), http_metrics.c (Prometheus metrics) and
 * http_server.c (listening, the libmicrohttpd callbacks, limits, shutdown:
 * the only file that includes microhttpd.h); http_int.h is private to them.
 */
#ifndef OPTREG_HTTP_H
#define OPTREG_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../common/error.h"

#define OPTREG_HTTP_MAX_PARAMS	8
#define OPTREG_HTTP_MAX_HEADERS 16

struct optreg_http_req;

typedef void (*optreg_http_handler)(struct optreg_http_req *req);

/* One route: method and a path pattern whose `{name}` segments match one
 * non-empty path segment each, captured in order into req->params. */
struct optreg_http_route {
	const char *method;  /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern; /* e.g. "/v1/configs/{ns}/{name}/versions/{n}" */
	optreg_http_handler handler;
	/* May be NULL. Tried first, on the connection's I/O thread, which
	 * must never wait: it answers from memory alone (a cache) and
	 * returns true, or returns false without waiting on anything, and
	 * the layer then clears the response and runs `handler` on a
	 * worker thread as for any other route. */
	bool (*try_cached)(struct optreg_http_req *req);
};

struct optreg_http_header {
	char *name, *value; /* owned */
};

/* One entry of a request's dispose list (see optreg_http_req_defer). */
struct optreg_http_deferred {
	void (*dispose)(void *ptr);
	void *ptr;
};

struct optreg_http_req {
	/* The request; all borrowed and valid during the handler call. */
	const char *method;
	const char *path;  /* URL path, percent-decoded (raw if it cannot be) */
	const char *route; /* the matched pattern, for metrics and logs */
	const char *params[OPTREG_HTTP_MAX_PARAMS]; /* percent-decoded */
	size_t nparams;
	struct optreg_buf body; /* the whole body, at most max_body bytes */
	char request_id[129];
	void *ctx; /* the `ctx` given to optreg_http_serve */
	/* When the request line arrived: CLOCK_MONOTONIC, milliseconds (0
	 * without a server). */
	int64_t start_ms;
	void *conn; /* struct MHD_Connection *, for the http layer only */

	/* Set by the handler (or auth) for the access log; may stay NULL.
	 * It need only stay valid until the handler returns (it is copied). */
	const char *principal;
	/* Storage a handler may point `principal` at when its own copy of
	 * the name does not outlive the handler call. */
	char principal_buf[256];

	/* The response, filled by the handler. status 0 means the handler
	 * forgot to answer: the layer sends 500. */
	unsigned status;
	struct optreg_buf resp;
	const char *content_type; /* default "application/json" */
	struct optreg_http_header headers[OPTREG_HTTP_MAX_HEADERS];
	size_t nheaders;

	/* The raw query string after '?' (still percent-encoded), or NULL;
	 * borrowed. Read parameters with optreg_http_query(). */
	const char *query;

	/* The client's address as text ("" when unknown), borrowed. */
	const char *remote;

	/* Private to the http layer: request headers given by
	 * optreg_http_req_add_header() (used when there is no connection),
	 * and the dispose list of optreg_http_req_defer(), all owned and
	 * released with the request. */
	struct optreg_http_header req_headers[OPTREG_HTTP_MAX_HEADERS];
	size_t nreq_headers;
	struct optreg_http_deferred *deferred;
	size_t ndeferred, deferred_cap;
};

/*
 * Prepares a request to be handled without a server (unit tests, tools):
 * everything empty, status 0. The server does the same for each request.
 * Release it with optreg_http_req_release().
 */
void optreg_http_req_init(struct optreg_http_req *req);

/* Frees what the request owns: first its dispose list (newest first, see
 * optreg_http_req_defer), then body, response and headers; leaves it as
 * optreg_http_req_init() does. The server calls it once per request, after
 * the access-log line is written. */
void optreg_http_req_release(struct optreg_http_req *req);

/*
 * Hands `ptr` to the request: optreg_http_req_release() calls
 * `dispose(ptr)`, in reverse order of the calls to this function (the
 * newest first, so that an object is disposed of before those it was made
 * from), after the server has written the access-log line. This is the
 * request's one release point, as h2o's h2o_mem_alloc_shared() with a
 * dispose callback: use it for memory and handles (JSON roots, results)
 * that must live as long as the request. `dispose` may itself defer more;
 * that runs next. A NULL `ptr` registers nothing. Not thread-safe: one
 * request is handled by one thread at a time.
 */
void optreg_http_req_defer(struct optreg_http_req *req, void (*dispose)(void *),
			   void *ptr);

/* Adds a request header (both strings copied), seen by optreg_http_header()
 * before the connection's own; for running a handler without a server.
 * Headers beyond OPTREG_HTTP_MAX_HEADERS are dropped. */
void optreg_http_req_add_header(struct optreg_http_req *req, const char *name,
				const char *value);

/* A query-string parameter, percent-decoded ('+' is a space), or NULL when
 * absent; "" for `?key` and `?key=`. The first of repeated keys wins. A value
 * that is not valid percent-encoding (or decodes to a NUL byte) is returned
 * raw, so the handler's validation rejects it. Owned by the request (on its
 * dispose list): valid until optreg_http_req_release(). */
const char *optreg_http_query(struct optreg_http_req *req, const char *key);

/* A request header (case-insensitive name) or NULL. */
const char *optreg_http_header(struct optreg_http_req *req, const char *name);

/*
 * Whether an If-None-Match field matches `etag` (quoted, as sent in ETag):
 * "*" alone, or a comma-separated list of entity tags (weak ones compared
 * as strong) of which one is `etag`. Anything malformed ("*" in a list,
 * an unquoted tag, text after a tag) matches nothing, so the resource is
 * sent whole (RFC 9110 13.1.2).
 */
bool optreg_http_etag_match(const char *if_none_match, const char *etag);

/* Adds a response header (both strings copied). Headers beyond
 * OPTREG_HTTP_MAX_HEADERS, or with CR or LF in them, are dropped. */
void optreg_http_set_header(struct optreg_http_req *req, const char *name,
			    const char *value);

/* The value of the first response header named `name` (any case) set so
 * far, or NULL; borrowed from `req`. */
const char *optreg_http_resp_header(const struct optreg_http_req *req,
				    const char *name);

/* Answers `status` with `body` serialized compactly (the reference is
 * stolen; NULL gives an empty body). */
void optreg_http_json(struct optreg_http_req *req, unsigned status,
		      json_t *body);

/*
 * Answers with an RFC 9457 problem: application/problem+json with type
 * "https://optreg.dev/problems/<code>", title (from the status), status,
 * detail (printf-style), code, request_id and, when `errs` is given and not
 * empty, errors[] of {path, rule, message} (plus hint, line, col when set).
 */
void optreg_http_problem(struct optreg_http_req *req, unsigned status,
			 const char *code, const struct optreg_errors *errs,
			 const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

struct optreg_http_config {
	const char *listen;    /* "host:port" or "[v6]:port"; port 0: any free
				  one; NULL: "127.0.0.1:8080" */
	unsigned threads;      /* handler (worker) threads, default 4 */
	size_t max_body;       /* bytes, default 1 MiB; 413 beyond */
	unsigned max_conns;    /* connection limit, default 1024 */
	unsigned timeout_s;    /* idle connection timeout, default 30 */
	unsigned drain_s;      /* SIGTERM: time allowed to in-flight requests,
				  default 10 */
	unsigned per_ip_conns; /* connections per client address, 0: any */
	/* Appends extra Prometheus text to /metrics (e.g. DB pool gauges);
	 * may be NULL. Called with `ctx`. */
	void (*metrics)(struct optreg_buf *out, void *ctx);
	/* Called on each 404 and 405 this layer answers itself (no route
	 * has the path, or none the method), with the problem already in
	 * `req`: it may add headers. May be NULL. */
	void (*unrouted)(struct optreg_http_req *req);
};

/*
 * Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight
 * requests finish (up to drain_s; a second signal cuts the wait short), and
 * returns 0. Returns OPTREG_EUSAGE for a malformed `listen` and OPTREG_EIO
 * when it cannot listen, with a message on stderr.
 * Unknown paths get 404, known paths with another method 405 with Allow,
 * both as problems; /healthz and /metrics are served by this layer.
 * `ready`, when non-NULL, is called once listening, with the bound port
 * (useful when the port was 0).
 *
 * The signals are taken with sigwait(): the calling thread blocks them for
 * the duration (the server's threads inherit that), and any other thread of
 * the process must have them blocked too, or the signal may go there.
 * Access logs and these messages are JSON lines on stderr.
 */
int optreg_http_serve(const struct optreg_http_config *cfg,
		      const struct optreg_http_route *routes, size_t nroutes,
		      void *ctx, void (*ready)(unsigned port, void *ctx));

/*
 * The same route matching the server uses; exposed for tests and for
 * `optreg-server routes`. `path` is the raw (still percent-encoded) URL path
 * without the query. It is split on '/' and each segment percent-decoded;
 * literal segments must equal the decoded segment, and `{x}` takes one
 * non-empty segment, stored decoded in `params_buf` (strlen(path) + 1 bytes
 * always suffice) and pointed to by params[]. A trailing slash is one more
 * (empty) segment, so "/v1/keys/" does not match "/v1/keys". HEAD matches a
 * GET route when no HEAD route matches.
 * Returns the route index, -1 for no path match (404: also a bad escape,
 * a segment decoding to NUL or '/', or a too small params_buf), -2 for a
 * path match with no such method (405).
 */
int optreg_http_match(const struct optreg_http_route *routes, size_t nroutes,
		      const char *method, const char *path,
		      const char *params[OPTREG_HTTP_MAX_PARAMS],
		      size_t *nparams, char *params_buf, size_t params_buf_len);

#endif
