/*
 * registry/http_int.h: what the files of the HTTP layer share, private to
 * them (http_req.c, http_router.c, http_metrics.c, http_server.c). Handlers
 * include http.h only.
 *
 * Only http_server.c and http_framing.c include microhttpd.h; the others
 * reach the connection through http_server_header().
 */
#ifndef OPTREG_HTTP_INT_H
#define OPTREG_HTTP_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

/* Most path segments a request may have and still match a route. */
#define HTTP_MAX_SEGMENTS 32

/* ---- http_req.c ---------------------------------------------------------- */

/*
 * Decodes %XX escapes of s[0..n) into `out` (room for n bytes; may be `s`
 * itself), turning '+' into ' ' when `plus`. Returns the decoded length, or
 * -1 for a malformed escape. NUL bytes may appear in the output.
 */
long http_pct_decode(const char *s, size_t n, char *out, bool plus);

/* Frees the names and values of h[0..n). */
void http_headers_free(struct optreg_http_header *h, size_t n);

/* ---- http_framing.c ----------------------------------------------------- */

struct MHD_Connection;

/*
 * Why a request's body length is ambiguous (RFC 9112, 6.3), or NULL when it
 * is not: both Content-Length and Transfer-Encoding, Content-Lengths that
 * disagree or are not a plain number, or two Transfer-Encodings. A proxy in
 * front may read such a body differently and pass the rest on as a second
 * request (request smuggling), so the server answers 400 and closes.
 */
const char *http_framing_problem(struct MHD_Connection *conn);

/* ---- http_listen.c ------------------------------------------------------- */

/* Binds and listens on "host:port", "[v6]:port" or ":port" (logging why
 * not); returns the socket, its address family in `*family`, or a negative
 * OPTREG_E* code. */
int http_listen_open(const char *addr, int *family);

/* Logs an error about listening on `addr`, with `why` when not NULL. */
void http_listen_log_error(const char *msg, const char *addr, const char *why);

/* ---- http_router.c ------------------------------------------------------- */

/* The Allow header for a path that matched with another method: the
 * methods of every route matching it, HEAD added with GET. Returns a
 * malloc'd string (the caller frees). */
char *http_router_allow(const struct optreg_http_route *routes, size_t nroutes,
			const char *path);

/* ---- http_metrics.c ------------------------------------------------------ */

#define HTTP_NBUCKETS 14

struct http_series {
	unsigned status;
	unsigned method; /* index into the fixed method labels */
	uint64_t n;
};

/* What one route label has seen. Buckets are not cumulative here. */
struct http_route_stats {
	const char *label;
	uint64_t buckets[HTTP_NBUCKETS];
	uint64_t count, sum_us;
	struct http_series *series;
	size_t nseries, cap;
};

/* The request metrics of one server, by route label. */
struct http_metrics {
	/* Route index -> stats index; routes sharing a pattern share a
	 * label. The last three stats are /healthz, /metrics, unmatched. */
	size_t *route_stats;
	struct http_route_stats *stats;
	size_t nstats, st_healthz, st_metrics, st_unmatched;
	pthread_mutex_t mu; /* guards stats */
};

/* Sets up one label per distinct route pattern plus the layer's own
 * three; `routes` is borrowed for the life of `m`. */
void http_metrics_init(struct http_metrics *m,
		       const struct optreg_http_route *routes, size_t nroutes);
void http_metrics_release(struct http_metrics *m);

/* The method label index of `method`: a fixed set, so that clients cannot
 * make up new series; anything else is "OTHER". */
unsigned http_metrics_method(const char *method);

/* Counts one answered request of stats index `st`, taking `us`
 * microseconds. Thread-safe. */
void http_metrics_record(struct http_metrics *m, size_t st, unsigned method,
			 unsigned status, double us);

/* Appends optreg_http_requests_total and the duration histogram in
 * Prometheus text format. Thread-safe. */
void http_metrics_render(struct http_metrics *m, struct optreg_buf *out);

/* ---- http_server.c ------------------------------------------------------- */

/* A request header of a libmicrohttpd connection (`conn` as in
 * optreg_http_req.conn), or NULL. */
const char *http_server_header(void *conn, const char *name);

#endif
