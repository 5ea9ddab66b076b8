/*
 * registry/api/api.h: request plumbing shared by the REST resources of
 * docs/api.md (one file per resource in registry/api/).
 *
 * A handler is `void fn(struct api_call *call)`. The dispatcher,
 * api_dispatch(), creates the call (principal, errors, body, pooled
 * connection), runs the handler and releases the call in one place, so
 * handlers have no cleanup label. Helpers named `*_or_reply` answer the
 * client themselves when they return false (Redis' `...OrReply`); the
 * handler then just returns. Every problem answer goes through
 * api_problem(), and every service result code through api_fail(): the
 * (status, problem code) pairs live in one table in api.c.
 */
#ifndef OPTREG_API_H
#define OPTREG_API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../audit.h"
#include "../auth.h"
#include "../http.h"
#include "../registry.h"

#define API_MAX_PAGE	 100
#define API_DEFAULT_PAGE 20

/* The per-request context. Everything in it is released by the
 * dispatcher after the handler returns. */
struct api_call {
	struct optreg_http_req *req; /* borrowed */
	struct registry *reg;	     /* borrowed: req->ctx */
	struct optreg_principal who; /* set by api_authenticate_or_reply */
	struct optreg_errors errs;   /* for the handler's own use */
	json_t *body;		     /* set by api_json_body_or_reply */
	PGconn *conn;	  /* a pooled connection a handler took itself */
	bool conn_broken; /* return it to the pool as broken */
	/* Run by api_try_cached: answer from the caches alone. `missed`:
	 * something was not cached, the answer is dropped and the handler
	 * runs again on a worker (api_problem and api_fail do nothing once
	 * it is set). */
	bool cache_only, missed;
	int code; /* the OPTREG_E* of the last problem answered */
	/* What api_audit_denied noted about a refused write (owned). */
	char *denied_target;
	json_t *denied_details;
};

typedef void (*api_handler)(struct api_call *call);

/* Creates the call for `req`, runs `fn`, releases the call. */
void api_dispatch(struct optreg_http_req *req, api_handler fn);

/* Declares handler `fn` and the optreg_http_handler `fn_http` that
 * dispatches to it; API_ROUTE names the latter in a route table. */
#define API_HANDLER(fn)                                                        \
	static void fn(struct api_call *call);                                 \
	static void fn##_http(struct optreg_http_req *req)                     \
	{                                                                      \
		api_dispatch(req, fn);                                         \
	}
/*
 * Runs `fn` on the HTTP layer's I/O thread from the caches alone (the
 * route's try_cached, see http.h): authentication from the principal
 * cache and api_cached lookups only, never the database. Returns false,
 * having answered nothing, when something was not cached.
 */
bool api_try_cached(struct optreg_http_req *req, api_handler fn);

/* API_HANDLER for a route whose answer may come from the caches alone
 * (immutable content); named in the table with API_ROUTE_CACHED. */
#define API_HANDLER_CACHED(fn)                                                 \
	API_HANDLER(fn)                                                        \
	static bool fn##_try(struct optreg_http_req *req)                      \
	{                                                                      \
		return api_try_cached(req, fn);                                \
	}
#define API_ROUTE_CACHED(method, pattern, fn)                                  \
	{                                                                      \
		method, pattern, fn##_http, fn##_try                           \
	}

#define API_ROUTE(method, pattern, fn)                                         \
	{                                                                      \
		method, pattern, fn##_http, NULL                               \
	}

/* For api_fail_as: the problem code is the first error's rule (a row of
 * common/errcodes.h with status 409, such as "recorded" or "lease_lost"). */
#define API_CODE_FROM_RULE 0

/* Answers the problem of error code `code` (OPTREG_E*: its HTTP status and
 * problem code come from common/errcodes.h) with detail `fmt` and, when
 * `errs` is given and not empty, its errors[]. */
void api_problem(struct api_call *call, int code,
		 const struct optreg_errors *errs, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* How a resource answers one service result code differently from the
 * default (see api_fail): `detail` NULL means the first error's message,
 * `with_errors` adds errs as errors[]. */
struct api_fail_as {
	int rc;
	int code; /* OPTREG_E* of the answer, or API_CODE_FROM_RULE */
	const char *detail;
	bool with_errors;
};

/*
 * Answers the problem for service result `rc` (negative OPTREG_E*), with
 * `errs` (may be NULL). `as` (may be NULL, ended by rc 0) overrides the
 * default mapping: ENOTFOUND 404, ECONFLICT 409 (code "yanked" when the
 * first error's rule is), EINVAL 422 invalid_config, EUNAVAILABLE 503
 * with Retry-After, anything else 500. 503 and 500 log errs, as internal
 * errors, with the request id.
 */
void api_fail_as(struct api_call *call, int rc,
		 const struct optreg_errors *errs,
		 const struct api_fail_as *as);
void api_fail(struct api_call *call, int rc, const struct optreg_errors *errs);

/* api_fail_as overrides of the key and namespace routes: EINVAL is 400
 * "the request is malformed". */
extern const struct api_fail_as api_store_fail_as[];
/* Answers `status` with `out` (stolen; may be NULL when rc is not 0) or
 * the problem for rc. */
void api_store_reply(struct api_call *call, int rc, unsigned status,
		     json_t *out);

/* Logs each error of `errs` as an internal error of this request. */
void api_log_internal(struct api_call *call, const struct optreg_errors *errs);

/* ---- parameters (each answers 400 when it returns false) ---- */

/* {ns} and {name}, the first two path parameters. */
bool api_config_params_or_reply(struct api_call *call);
/* A namespace name, reported as `namespace "<s>"` with `%.<prec>s`. */
bool api_namespace_or_reply(struct api_call *call, const char *ns, int prec);
bool api_version_or_reply(struct api_call *call, const char *s, int *version);
/* A tag name; `detail_long` selects the message with the naming rule. */
bool api_tag_or_reply(struct api_call *call, const char *tag, bool detail_long);
bool api_digest_or_reply(struct api_call *call, const char *digest);
/* Parses a decimal integer in [lo, hi]. */
bool api_parse_long(const char *s, long lo, long hi, long *out);

/* 415 unless the body is declared as JSON. */
bool api_json_content_type_or_reply(struct api_call *call);
/* Parses the body as a JSON object into call->body, or answers 400/415. */
bool api_json_body_or_reply(struct api_call *call);

/*
 * The optional text field `key` of call->body: absent or null is NULL;
 * otherwise it must be a string of 1 to `max` characters without control
 * characters, or an error naming the field is added to call->errs (and
 * NULL returned).
 */
const char *api_body_text(struct api_call *call, const char *key, size_t max);

/* Adds member `key` (`value` stolen) to the problem or JSON object this
 * call has answered. */
void api_reply_add(struct api_call *call, const char *key, json_t *value);

/* True when `ns` is a valid namespace name. */
bool api_namespace_ok(const char *ns);

/* True when `s` is a policy or rule name: [a-z0-9][a-z0-9._-]{0,63}. */
bool api_policy_name_ok(const char *s);

/* Authenticates; an anonymous caller needs anonymous reads (answers
 * 401 otherwise). Any token may read what is not per namespace. */
bool api_any_reader_or_reply(struct api_call *call);

/* ---- pagination (one paginator for every list) ---- */

/* The page_size query parameter (default API_DEFAULT_PAGE). */
bool api_page_size_or_reply(struct api_call *call, int *size);
/* The decoded page_token (a new reference) in *state, NULL when absent. */
bool api_page_token_or_reply(struct api_call *call, json_t **state);
/* Answers 400 for a page token whose state this server did not write. */
void api_page_token_bad(struct api_call *call);
/*
 * Answers 200 {items_key: list, "next_page_token": token|null}. `list`
 * (stolen) holds up to size + 1 items, as fetched: one more than `size`
 * means there is a next page, whose token next_state(last item kept)
 * describes (a new object).
 */
void api_page_reply_new(struct api_call *call, const char *items_key,
			json_t *list, int size,
			json_t *(*next_state)(json_t *last));

/* ---- identity ---- */

/* Fills call->who (anonymous without an Authorization header); answers
 * 401/503/500 otherwise. */
bool api_authenticate_or_reply(struct api_call *call);
/* Answers 401 or 403 (and audits refused writes) unless call->who may act
 * as `role` in `ns` (NULL: a global right). */
bool api_authorize_or_reply(struct api_call *call, enum optreg_role role,
			    const char *ns);
/* Both. */
bool api_allow_or_reply(struct api_call *call, enum optreg_role role,
			const char *ns);
/* Answers 401 with the WWW-Authenticate challenge. */
void api_unauthorized(struct api_call *call, const char *detail);
/* The audit log's view of the caller (borrowed from the call). */
struct optreg_audit_actor api_actor(const struct api_call *call);
/*
 * Notes what to record about this call's refused write (`details` is
 * stolen; a later note replaces an earlier one). Every write answered 403
 * to a token is recorded once, by api_dispatch, whether noted or not
 * (target the path, details the problem code): see registry/denials.h.
 */
void api_audit_denied(struct api_call *call, const char *target,
		      json_t *details);

/* ---- storage ---- */

/* Records a result on the call's connection (a lost one is not reused). */
void api_conn_result(struct api_call *call, int rc);

/*
 * Cache-aside read: copies the entry `key` into `value`, or on a miss
 * calls load(call, arg, value) and stores what it loaded (unless an
 * invalidation happened meanwhile). Returns 0, or load's result code
 * (nothing answered). The cache is skipped while invalidations cannot be
 * trusted.
 */
int api_cached(struct api_call *call, const char *key, struct optreg_buf *value,
	       int (*load)(struct api_call *call, void *arg,
			   struct optreg_buf *value),
	       void *arg);

/* ---- route tables, one per resource ---- */

extern const struct optreg_http_route api_ops_routes[];
extern const size_t api_ops_nroutes;
extern const struct optreg_http_route api_search_routes[];
extern const size_t api_search_nroutes;
extern const struct optreg_http_route api_versions_routes[];
extern const size_t api_versions_nroutes;
extern const struct optreg_http_route api_validate_routes[];
extern const size_t api_validate_nroutes;
extern const struct optreg_http_route api_tags_routes[];
extern const size_t api_tags_nroutes;
extern const struct optreg_http_route api_digests_routes[];
extern const size_t api_digests_nroutes;
extern const struct optreg_http_route api_keys_routes[];
extern const size_t api_keys_nroutes;
extern const struct optreg_http_route api_registry_keys_routes[];
extern const size_t api_registry_keys_nroutes;
extern const struct optreg_http_route api_namespaces_routes[];
extern const size_t api_namespaces_nroutes;
extern const struct optreg_http_route api_audit_routes[];
extern const size_t api_audit_nroutes;
extern const struct optreg_http_route api_jobs_routes[];
extern const size_t api_jobs_nroutes;
extern const struct optreg_http_route api_verdicts_routes[];
extern const size_t api_verdicts_nroutes;
extern const struct optreg_http_route api_tokens_routes[];
extern const size_t api_tokens_nroutes;
extern const struct optreg_http_route api_policies_routes[];
extern const size_t api_policies_nroutes;
extern const struct optreg_http_route api_waivers_routes[];
extern const size_t api_waivers_nroutes;
extern const struct optreg_http_route api_ui_routes[];
extern const size_t api_ui_nroutes;

/* Answers the version document ns/name@version (cache-aside), as GET
 * .../versions/{n}, tags and yank do. */
void api_version_reply(struct api_call *call, const char *ns, const char *name,
		       int version);

/* Answers a policy denial (422 policy_denied): errors[] the denials in
 * `errs`, violations[] every violation of `r`; `what` names the refused
 * action in the detail. */
struct optreg_policy_result;
void api_policy_denied(struct api_call *call, const char *what,
		       const struct optreg_policy_result *r,
		       const struct optreg_errors *errs);

/* Records a policy denial of a write to ns/name: a bounded
 * "policy.denied" event (registry/denials.h), in a transaction of its
 * own, with the denying rules. */
void api_policy_denied_audit(struct api_call *call, const char *ns,
			     const char *name,
			     const struct optreg_policy_result *r);

#endif
