/*
 * registry/api/api.c: the per-call context, the problem table and the
 * request helpers shared by every resource. See api.h.
 */
#include "api.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../common/base64.h"
#include "../../common/media.h"
#include "../../validator/jcs.h"
#include "../../validator/names.h"
#include "../../validator/policy.h"
#include "../cache_keys.h"
#include "../db.h"
#include "../denials.h"
#include "../ratelimit.h"

/* ------------------------------------------------------------------ */
/* The call */

static void api_refusal_record(struct api_call *call);

void api_dispatch(struct optreg_http_req *req, api_handler fn)
{
	struct api_call call = {
		.req = req,
		.reg = req->ctx,
		.errs = OPTREG_ERRORS_INIT,
	};

	if (req->start_ms)
		optreg_pool_request_begin(call.reg->db, req->start_ms);
	fn(&call);
	if (call.conn)
		optreg_pool_put(call.reg->db, call.conn, call.conn_broken);
	api_refusal_record(&call); /* within the request's database bound */
	optreg_pool_request_end();
	free(call.denied_target);
	json_decref(call.denied_details);
	json_decref(call.body);
	optreg_principal_release(&call.who);
	optreg_errors_release(&call.errs);
}

bool api_try_cached(struct optreg_http_req *req, api_handler fn)
{
	struct api_call call = {
		.req = req,
		.reg = req->ctx,
		.errs = OPTREG_ERRORS_INIT,
		.cache_only = true,
	};

	/* A safety net: should the handler reach for the database anyway,
	 * it gets no connection and its answer is dropped. */
	optreg_pool_forbid_begin();
	fn(&call);
	if (optreg_pool_forbid_end())
		call.missed = true;
	free(call.denied_target);
	json_decref(call.denied_details);
	json_decref(call.body);
	optreg_principal_release(&call.who);
	optreg_errors_release(&call.errs);
	return !call.missed;
}

/* ------------------------------------------------------------------ */
/* Problems: (status, code) pairs come from the table of common/errcodes.h */

void api_problem(struct api_call *call, int code,
		 const struct optreg_errors *errs, const char *fmt, ...)
{
	struct optreg_buf detail = OPTREG_BUF_INIT;
	va_list ap;

	if (call->missed)
		return; /* answered again on a worker */
	call->code = code;
	va_start(ap, fmt);
	optreg_buf_vaddf(&detail, fmt, ap);
	va_end(ap);
	optreg_http_problem(call->req, (unsigned)optreg_code_http_status(code),
			    optreg_code_problem(code), errs, "%s",
			    detail.data ? detail.data : "");
	optreg_buf_release(&detail);
}

void api_log_internal(struct api_call *call, const struct optreg_errors *errs)
{
	for (size_t i = 0; errs && i < errs->len; i++) {
		json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "level",
					 "error", "msg", "internal error",
					 "request_id", call->req->request_id,
					 "error", errs->items[i].message);
		char *s = json_dumps(line, JSON_COMPACT);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(line);
	}
}

void api_fail_as(struct api_call *call, int rc,
		 const struct optreg_errors *errs, const struct api_fail_as *as)
{
	const struct optreg_error *first =
		errs && errs->len ? &errs->items[0] : NULL;
	const char *msg = first ? first->message : "request failed";

	if (call->missed)
		return; /* answered again on a worker */
	for (; as && as->rc; as++) {
		if (as->rc != rc)
			continue;
		int code = as->code;
		if (code == API_CODE_FROM_RULE)
			code = optreg_code_from_problem(
				first ? first->rule : NULL, 409);
		api_problem(call, code, as->with_errors ? errs : NULL, "%s",
			    as->detail ? as->detail : msg);
		return;
	}
	switch (rc) {
	case OPTREG_ENOTFOUND:
		api_problem(call, OPTREG_ENOTFOUND, NULL, "%s", msg);
		break;
	case OPTREG_ECONFLICT:
		api_problem(call,
			    first && !strcmp(first->rule, "yanked")
				    ? OPTREG_EYANKED
				    : OPTREG_ECONFLICT,
			    errs, "%s", msg);
		break;
	case OPTREG_EUNAVAILABLE:
		api_log_internal(call, errs);
		optreg_http_set_header(call->req, "Retry-After", "1");
		api_problem(call, OPTREG_EUNAVAILABLE, NULL,
			    "the database is unavailable; retry shortly");
		break;
	case OPTREG_EINVAL:
		api_problem(call, OPTREG_EINVAL, errs,
			    "the config has %zu error%s", errs ? errs->len : 0,
			    errs && errs->len == 1 ? "" : "s");
		break;
	default:
		api_log_internal(call, errs);
		api_problem(call, OPTREG_EINTERNAL, NULL,
			    "internal error; quote request id %s",
			    call->req->request_id);
		break;
	}
}

void api_fail(struct api_call *call, int rc, const struct optreg_errors *errs)
{
	api_fail_as(call, rc, errs, NULL);
}

/* ------------------------------------------------------------------ */
/* Parameters */

bool api_namespace_or_reply(struct api_call *call, const char *ns, int prec)
{
	if (optreg_name_check_namespace(ns, "", NULL) == 0)
		return true;
	api_problem(call, OPTREG_EBADREQUEST, NULL,
		    "namespace \"%.*s\" is not a valid name", prec, ns);
	return false;
}

bool api_config_params_or_reply(struct api_call *call)
{
	const char *const *p = call->req->params;

	if (!api_namespace_or_reply(call, p[0], INT_MAX))
		return false;
	if (optreg_name_check_config(p[1], "", NULL)) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "config name \"%s\" is not a valid name", p[1]);
		return false;
	}
	return true;
}

bool api_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '-'))
		return false;
	/* One spelling per number: no leading zeros ("007", "-0"). */
	if ((s[0] == '0' && s[1]) || (s[0] == '-' && s[1] == '0'))
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

bool api_version_or_reply(struct api_call *call, const char *s, int *version)
{
	long v;

	if (!api_parse_long(s, 1, INT_MAX, &v)) {
		api_problem(
			call, OPTREG_EBADREQUEST, NULL,
			"version \"%.40s\" must be an integer from 1 to %d, "
			"without leading zeros",
			s, INT_MAX);
		return false;
	}
	*version = (int)v;
	return true;
}

bool api_tag_or_reply(struct api_call *call, const char *tag, bool detail_long)
{
	if (optreg_name_check_tag(tag, "", NULL) == 0)
		return true;
	if (detail_long)
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "\"%s\" is not a valid tag name: use 1 to 64 of "
			    "a-z, 0-9, '.', '_', '-', not all digits",
			    tag);
	else
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "\"%s\" is not a valid tag name", tag);
	return false;
}

bool api_digest_or_reply(struct api_call *call, const char *s)
{
	bool ok = optreg_name_check_digest(s, "", NULL) == 0;

	if (!ok)
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "\"%.80s\" is not a digest; expected sha256: and "
			    "64 lowercase hex digits",
			    s);
	return ok;
}

/* True when the media type of `ct` is `type` (parameters after ';'). */
static bool media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return !strncasecmp(ct, type, n) &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* A body needs a JSON Content-Type; a request without a body may omit
 * it. */
bool api_json_content_type_or_reply(struct api_call *call)
{
	const char *ct = optreg_http_header(call->req, "Content-Type");

	if (!ct && !call->req->body.len)
		return true;
	if (ct && (media_type_is(ct, OPTREG_MEDIA_JSON) ||
		   media_type_is(ct, OPTREG_MEDIA_DSSE_JSON)))
		return true;
	if (!ct)
		api_problem(call, OPTREG_EMEDIATYPE, NULL,
			    "the request has a body but no Content-Type; send "
			    "Content-Type: application/json");
	else
		api_problem(call, OPTREG_EMEDIATYPE, NULL,
			    "expected an application/json body (got \"%.64s\")",
			    ct);
	return false;
}

bool api_json_body_or_reply(struct api_call *call)
{
	struct optreg_http_req *req = call->req;
	json_error_t jerr;

	if (!api_json_content_type_or_reply(call))
		return false;
	json_t *j = json_loadb(req->body.data, req->body.len,
			       JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_error *e = optreg_errors_add(
			&errs, OPTREG_ESYNTAX, "syntax", "", "%s",
			j ? "body must be a JSON object" : jerr.text);
		e->line = j ? 0 : jerr.line;
		e->col = j ? 0 : jerr.column;
		api_problem(call, OPTREG_EBADREQUEST, &errs,
			    "the body is not a JSON object");
		optreg_errors_release(&errs);
		json_decref(j);
		return false;
	}
	json_decref(call->body);
	call->body = j;
	return true;
}

/* ------------------------------------------------------------------ */
/* Pagination */

bool api_page_size_or_reply(struct api_call *call, int *size)
{
	const char *s = optreg_http_query(call->req, "page_size");
	long v = API_DEFAULT_PAGE;

	if (s && !api_parse_long(s, 1, API_MAX_PAGE, &v)) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "page_size must be an integer from 1 to %d (got "
			    "\"%s\")",
			    API_MAX_PAGE, s);
		return false;
	}
	*size = (int)v;
	return true;
}

void api_page_token_bad(struct api_call *call)
{
	api_problem(call, OPTREG_EBADREQUEST, NULL,
		    "page_token is not one this server issued");
}

/* Page tokens: URL-safe base64 of a small JSON object, opaque to
 * clients. */
static char *page_token_encode_new(json_t *state)
{
	char *s = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	struct optreg_buf b = OPTREG_BUF_INIT;

	json_decref(state);
	optreg_base64_encode(s, strlen(s), &b);
	free(s);
	for (size_t i = 0; i < b.len; i++) {
		if (b.data[i] == '+')
			b.data[i] = '-';
		else if (b.data[i] == '/')
			b.data[i] = '_';
	}
	while (b.len && b.data[b.len - 1] == '=')
		b.data[--b.len] = '\0';
	return optreg_buf_detach(&b, NULL);
}

bool api_page_token_or_reply(struct api_call *call, json_t **state)
{
	const char *s = optreg_http_query(call->req, "page_token");
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *j = NULL;

	*state = NULL;
	if (!s || !*s)
		return true;
	if (strlen(s) < 512 && optreg_base64_decode(s, strlen(s), &b) == 0)
		j = json_loadb(b.data, b.len, 0, NULL);
	optreg_buf_release(&b);
	if (!json_is_object(j)) {
		json_decref(j);
		api_page_token_bad(call);
		return false;
	}
	*state = j;
	return true;
}

void api_page_reply_new(struct api_call *call, const char *items_key,
			json_t *list, int size,
			json_t *(*next_state)(json_t *last))
{
	json_t *next = json_null();

	if (json_array_size(list) > (size_t)size) {
		json_array_remove(list, (size_t)size);
		json_t *last = json_array_get(list, (size_t)size - 1);
		char *tok = page_token_encode_new(next_state(last));
		next = json_string(tok);
		free(tok);
	}
	optreg_http_json(call->req, 200,
			 json_pack("{s:o, s:o}", items_key, list,
				   "next_page_token", next));
}

/* ------------------------------------------------------------------ */
/* Identity */

struct optreg_audit_actor api_actor(const struct api_call *call)
{
	struct optreg_audit_actor a = {call->who.name, call->who.id,
				       call->req->request_id};

	return a;
}

/* ------------------------------------------------------------------ */
/* Refused writes: one rule for every route */

static bool is_write(const struct optreg_http_req *req)
{
	return strcmp(req->method, "GET") && strcmp(req->method, "HEAD");
}

/* The budget key of the client's address: IPv6 addresses by their /64,
 * which one client usually holds whole. */
static void address_key(const struct optreg_http_req *req, char out[80])
{
	const char *a = req->remote ? req->remote : "";
	unsigned char in6[16];
	char text[INET6_ADDRSTRLEN];

	if (strchr(a, ':') && inet_pton(AF_INET6, a, in6) == 1) {
		memset(in6 + 8, 0, 8);
		inet_ntop(AF_INET6, in6, text, sizeof(text));
		a = text;
	}
	snprintf(out, 80, "a:%.64s", a);
}

/* Answers 429 with Retry-After: the whole seconds of `wait`, at least 1. */
static void api_rate_limited(struct api_call *call, double wait,
			     const char *detail)
{
	char ra[32];
	long secs = (long)wait + (wait > (long)wait);

	snprintf(ra, sizeof(ra), "%ld", secs < 1 ? 1 : secs);
	optreg_http_set_header(call->req, "Retry-After", ra);
	api_problem(call, OPTREG_ERATELIMITED, NULL, "%s", detail);
}

/*
 * 429 (counted toward the principal's summary of refused writes) when the
 * token has refused writes left to wait out, or its address has and the
 * token itself was refused a write within the window: a token with no
 * refusals of its own is never held back by its address's budget, so one
 * misbehaving client behind a NAT or proxy does not block the others.
 */
static bool write_budget_or_reply(struct api_call *call)
{
	struct optreg_ratelimit *rl = call->reg->write_fails;
	char tkey[80], akey[80];

	if (!rl || !is_write(call->req) || !call->who.id[0])
		return true;
	double now = optreg_ratelimit_now();
	snprintf(tkey, sizeof(tkey), "p:%s", call->who.id);
	address_key(call->req, akey);
	double wt = optreg_ratelimit_wait(rl, tkey, now);
	double wa = optreg_ratelimit_spent(rl, tkey, now) > 0
			    ? optreg_ratelimit_wait(rl, akey, now)
			    : 0;
	if (wt <= 0 && wa <= 0)
		return true;
	struct optreg_audit_actor who = api_actor(call);
	optreg_denials_limited(call->reg->denials, &who);
	api_rate_limited(call, wt > wa ? wt : wa,
			 wt >= wa ? "too many refused writes from this token; "
				    "retry after the time in Retry-After"
				  : "too many refused writes from this client "
				    "address; retry after the time in "
				    "Retry-After");
	return false;
}

void api_audit_denied(struct api_call *call, const char *target,
		      json_t *details)
{
	free(call->denied_target);
	json_decref(call->denied_details);
	call->denied_target = optreg_xstrdup(target ? target : "");
	call->denied_details = details;
}

/*
 * Records a write answered 403 to a token, whatever route refused it:
 * spends from the token's and the address's budgets of refused writes and
 * appends a bounded "write.denied" event (denials.h), in a transaction of
 * its own (refusals change nothing else). Reads are not recorded, nor are
 * 401s (no identity to record; they are in the access log). Failing to
 * record does not change the answer.
 */
static void api_refusal_record(struct api_call *call)
{
	struct optreg_http_req *req = call->req;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char akey[80], tkey[80];

	if (call->cache_only || req->status != 403 || !is_write(req) ||
	    !call->who.id[0])
		return;
	if (call->reg->write_fails) {
		double now = optreg_ratelimit_now();
		snprintf(tkey, sizeof(tkey), "p:%s", call->who.id);
		address_key(req, akey);
		optreg_ratelimit_spend(call->reg->write_fails, tkey, 1, now);
		optreg_ratelimit_spend(call->reg->write_fails, akey,
				       1.0 / OPTREG_AUTH_ADDRESS_FACTOR, now);
	}
	json_t *details = call->denied_details;
	call->denied_details = NULL;
	if (!details)
		details = json_pack("{s:s}", "code",
				    call->code ? optreg_code_problem(call->code)
					       : "forbidden");
	json_object_set_new(details, "method", json_string(req->method));
	json_object_set_new(details, "route",
			    json_string(req->route ? req->route : ""));
	json_object_set_new(details, "status", json_integer(req->status));
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_denials_record(call->reg->denials, call->reg, &who,
				       call->denied_target ? call->denied_target
							   : req->path,
				       details, &errs);
	if (rc)
		api_log_internal(call, &errs);
	optreg_errors_release(&errs);
}

void api_unauthorized(struct api_call *call, const char *detail)
{
	optreg_http_set_header(call->req, "WWW-Authenticate",
			       "Bearer realm=\"optreg\"");
	api_problem(call, OPTREG_EUNAUTH, NULL, "%s", detail);
}

bool api_authenticate_or_reply(struct api_call *call)
{
	struct optreg_http_req *req = call->req;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_principal_release(&call->who);
	double wait = 0;
	char akey[80];
	address_key(req, akey);
	int rc = (call->cache_only ? optreg_auth_authenticate_cached
				   : optreg_auth_authenticate_from)(
		call->reg, optreg_http_header(req, "Authorization"), akey + 2,
		&call->who, &wait, &errs);
	if (rc == OPTREG_ENOTFOUND && call->cache_only)
		call->missed = true;
	else if (rc == OPTREG_EUNAUTH)
		api_unauthorized(call, errs.items[0].message);
	else if (rc == OPTREG_ERATELIMITED)
		api_rate_limited(call, wait, errs.items[0].message);
	else if (rc)
		api_fail(call, rc, NULL);
	optreg_errors_release(&errs);
	if (rc)
		return false;
	if (call->who.id[0]) {
		/* Copied: the principal is released before the access log
		 * line is written. */
		snprintf(req->principal_buf, sizeof(req->principal_buf), "%s",
			 call->who.name);
		req->principal = req->principal_buf;
	}
	return write_budget_or_reply(call);
}

bool api_authorize_or_reply(struct api_call *call, enum optreg_role role,
			    const char *ns)
{
	const struct optreg_principal *p = &call->who;

	if (!p->id[0]) {
		if (role == OPTREG_ROLE_READER && call->reg->anonymous_read)
			return true;
		api_unauthorized(call, "this request needs a bearer token");
		return false;
	}
	if (optreg_principal_allows(p, role, ns))
		return true;
	if (ns)
		api_problem(call, OPTREG_EDENIED, NULL,
			    "role %s on namespace %s is required",
			    optreg_role_name(role), ns);
	else
		api_problem(call, OPTREG_EDENIED, NULL,
			    "role %s on all namespaces (\"*\") is required",
			    optreg_role_name(role));
	if (is_write(call->req))
		api_audit_denied(call, ns ? ns : call->req->path,
				 json_pack("{s:s, s:s, s:s}", "code",
					   "forbidden", "required_role",
					   optreg_role_name(role), "namespace",
					   ns ? ns : "*"));
	return false;
}

bool api_allow_or_reply(struct api_call *call, enum optreg_role role,
			const char *ns)
{
	return api_authenticate_or_reply(call) &&
	       api_authorize_or_reply(call, role, ns);
}

/* ------------------------------------------------------------------ */
/* Storage */

void api_conn_result(struct api_call *call, int rc)
{
	if (rc == OPTREG_EUNAVAILABLE)
		call->conn_broken = true;
}

int api_cached(struct api_call *call, const char *key, struct optreg_buf *value,
	       int (*load)(struct api_call *call, void *arg,
			   struct optreg_buf *value),
	       void *arg)
{
	struct optreg_cache *cache = optreg_registry_cache(call->reg);

	if (optreg_cache_get(cache, key, value, NULL))
		return 0;
	optreg_buf_reset(value);
	if (call->cache_only) {
		call->missed = true;
		return OPTREG_EUNAVAILABLE;
	}
	uint64_t gen = optreg_cache_generation(cache);
	int rc = load(call, arg, value);
	if (rc == 0)
		optreg_cache_put(cache, key, value->data, value->len, NULL, 0,
				 gen);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Text fields, policy denials */

const char *api_body_text(struct api_call *call, const char *key, size_t max)
{
	json_t *v = json_object_get(call->body, key);
	const char *s = json_string_value(v);
	size_t chars = 0;
	bool ctl = false;

	if (!v || json_is_null(v))
		return NULL;
	for (const char *c = s; c && *c; c++) {
		chars += ((unsigned char)*c & 0xC0) != 0x80;
		ctl |= (unsigned char)*c < 0x20 || *c == 0x7f;
	}
	if (s && chars >= 1 && chars <= max && !ctl)
		return s;
	optreg_errors_add(&call->errs, OPTREG_EINVAL, "type", key,
			  "%s must be a string of 1 to %zu characters without "
			  "control characters",
			  key, max);
	return NULL;
}

void api_reply_add(struct api_call *call, const char *key, json_t *value)
{
	struct optreg_http_req *req = call->req;
	json_t *doc = json_loadb(req->resp.data, req->resp.len, 0, NULL);

	if (!json_is_object(doc)) {
		json_decref(doc);
		json_decref(value);
		return;
	}
	json_object_set_new(doc, key, value);
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!s)
		return;
	optreg_buf_reset(&req->resp);
	optreg_buf_adds(&req->resp, s);
	free(s);
}

void api_policy_denied(struct api_call *call, const char *what,
		       const struct optreg_policy_result *r,
		       const struct optreg_errors *errs)
{
	api_problem(call, OPTREG_EPOLICY, errs,
		    "%s is denied by policy: %zu rule%s denied it", what,
		    r->denied, r->denied == 1 ? "" : "s");
	json_t *j = optreg_policy_result_to_json(r);
	api_reply_add(call, "violations",
		      json_incref(json_object_get(j, "violations")));
	json_decref(j);
}

void api_policy_denied_audit(struct api_call *call, const char *ns,
			     const char *name,
			     const struct optreg_policy_result *r)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *rules = json_array();
	char target[300];

	for (size_t i = 0; i < r->len; i++)
		if (r->items[i].effect == OPTREG_EFFECT_DENY)
			json_array_append_new(
				rules,
				json_pack("{s:s, s:s, s:s}", "policy",
					  r->items[i].policy, "rule",
					  r->items[i].rule, "path",
					  r->items[i].path ? r->items[i].path
							   : ""));
	snprintf(target, sizeof(target), "%s/%s", ns, name);
	json_t *details =
		json_pack("{s:s, s:s, s:s, s:I, s:o}", "code", "policy_denied",
			  "method", call->req->method, "route",
			  call->req->route ? call->req->route : "", "denied",
			  (json_int_t)r->denied, "rules", rules);
	struct optreg_audit_actor who = api_actor(call);
	if (optreg_denials_record_as(call->reg->denials, call->reg, &who,
				     "policy.denied", target, details, &errs))
		api_log_internal(call, &errs);
	optreg_errors_release(&errs);
}

bool api_policy_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

bool api_any_reader_or_reply(struct api_call *call)
{
	if (!api_authenticate_or_reply(call))
		return false;
	return call->who.id[0] ||
	       api_authorize_or_reply(call, OPTREG_ROLE_READER, NULL);
}

bool api_namespace_ok(const char *ns)
{
	return ns && optreg_name_check_namespace(ns, "", NULL) == 0;
}
