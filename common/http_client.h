/*
 * common/http_client.h: a small JSON-over-HTTP client for the registry API
 * (docs/api.md), over libcurl.
 *
 * One client holds the base URL and the bearer token. A request either gets
 * an HTTP response (any status: 0 is returned and the caller looks at
 * resp->status) or fails in transport (connection refused, DNS, TLS,
 * timeout: OPTREG_EUNAVAILABLE with an error). HTTP errors are RFC 9457
 * problems; optreg_http_resp_problem() turns one into optreg_errors so a
 * command reports it the way lint reports a document's errors.
 *
 * The token is sent only in the Authorization header of requests to the
 * base URL (redirects are never followed). It is never printed, logged or
 * put into an error message, and its memory is wiped on release.
 */
#ifndef OPTREG_HTTP_CLIENT_H
#define OPTREG_HTTP_CLIENT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define OPTREG_DEFAULT_URL	       "http://127.0.0.1:8080"
#define OPTREG_HTTP_CONNECT_TIMEOUT_MS 5000L
#define OPTREG_HTTP_TIMEOUT_MS	       30000L
/* Responses larger than this are a transport failure. */
#define OPTREG_HTTP_MAX_RESPONSE (64u << 20)

struct optreg_http_client {
	char *base_url;	  /* owned; no trailing '/' */
	char *token;	  /* owned, or NULL for anonymous requests */
	char *user_agent; /* owned */
	long connect_timeout_ms;
	long timeout_ms;
	void *curl; /* CURL *, reused across requests */
};

/* The response of one request. Header values are owned, NULL when absent. */
struct optreg_http_resp {
	long status;
	char *content_type;
	char *etag;	  /* ETag */
	char *digest;	  /* X-Optreg-Digest */
	char *version;	  /* X-Optreg-Version */
	char *yanked;	  /* X-Optreg-Yanked */
	char *location;	  /* Location */
	char *request_id; /* X-Request-Id */
	char *retry_after;
	struct optreg_buf body;
};

/*
 * Sets up a client. `url` (NULL: $OPTREG_URL, then OPTREG_DEFAULT_URL) must
 * be an http:// or https:// URL without query or fragment; trailing slashes
 * are dropped, and a path prefix is kept. `token` (NULL: $OPTREG_TOKEN; ""
 * or unset: none) must be printable ASCII without spaces. Returns 0, or
 * OPTREG_EUSAGE with an error (that never contains the token) and the client
 * left released; OPTREG_EUNAVAILABLE when libcurl cannot start.
 */
int optreg_http_client_init(struct optreg_http_client *c, const char *url,
			    const char *token, struct optreg_errors *errs);
void optreg_http_client_release(struct optreg_http_client *c);

void optreg_http_resp_init(struct optreg_http_resp *resp);
/* Frees the response; it can then be reused for another request. */
void optreg_http_resp_release(struct optreg_http_resp *resp);

/*
 * Sends `method` to base URL + `path` (which starts with '/' and is already
 * percent-encoded: build it with optreg_http_path_add / _query_add). `body`
 * (NUL-terminated JSON, or NULL for none) goes with Content-Type
 * application/json; `headers` is NULL or a NULL-ended list of extra
 * "Name: value" lines. `resp` (initialized) is released and refilled.
 *
 * Returns 0 when the server answered, whatever the status, and
 * OPTREG_EUNAVAILABLE with an error naming the URL and libcurl's reason when no
 * response came (the request may or may not have reached the server).
 */
int optreg_http_request(struct optreg_http_client *c, const char *method,
			const char *path, const char *body,
			const char *const *headers,
			struct optreg_http_resp *resp,
			struct optreg_errors *errs);

/*
 * Appends '/' and `segment` percent-encoded: everything but RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX, and a segment of
 * only dots is encoded whole so it cannot act as "." or "..".
 */
void optreg_http_path_add(struct optreg_buf *path, const char *segment);

/* Appends "?key=value" (or "&key=value" when `path` has a query already),
 * both percent-encoded. */
void optreg_http_query_add(struct optreg_buf *path, const char *key,
			   const char *value);

/*
 * Appends the problem of an error response to `errs`. First one error for
 * the problem itself: code = optreg_code_from_problem(problem code, status),
 * so its optreg_code_exit() is the exit status the HTTP status gives; rule =
 * the problem's wire `code` (or "http_<status>"), kept there for callers that
 * print it; message = `detail` (else `title`, else the status line); detail
 * = "the request id is ..." for a 5xx with an X-Request-Id. Then one error
 * per `errors[]` item, read by optreg_errors_from_json (code, rule, path,
 * message, detail, hint, line and col kept; an item without a code gets the
 * problem's). A body that is not a problem still gives one error saying
 * what the server answered. Returns the problem's wire code, or
 * "http_<status>" (borrowed from `errs`).
 */
const char *optreg_http_resp_problem(const struct optreg_http_resp *resp,
				     struct optreg_errors *errs);

/* The reason phrase of a status ("Not Found"), "" when unknown. */
const char *optreg_http_reason(long status);

#endif
