/*
 * registry/api/tokens.c: bearer tokens: create, list, revoke (admin).
 * The list never carries a token or its hash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../../common/clock.h"
#include "../../common/jsonutil.h"
#include "../../validator/names.h"
#include "../svc/tokens.h"
#include "api.h"

/* Checks the body {principal, grants, expires_in} into `grants` (room for
 * every element of "grants"); answers 400 otherwise. */
static bool grants_or_reply(struct api_call *call, struct optreg_grant *grants,
			    size_t *n)
{
	struct optreg_errors *errs = &call->errs;
	const char *principal = optreg_json_str(call->body, "principal");
	json_t *gs = json_object_get(call->body, "grants");
	json_t *exp = json_object_get(call->body, "expires_in");

	optreg_name_check_principal(principal, "principal", errs);
	if (!json_is_array(gs) || json_array_size(gs) < 1 ||
	    json_array_size(gs) > 32)
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "grants",
				  "must be an array of 1 to 32 {role, "
				  "namespace} objects");
	if (exp && !json_is_null(exp) &&
	    (!json_is_integer(exp) || json_integer_value(exp) < 1 ||
	     json_integer_value(exp) > OPTREG_TOKEN_MAX_EXPIRES_IN)) {
		char got[64];

		if (json_is_integer(exp))
			snprintf(got, sizeof(got), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(exp));
		else
			snprintf(got, sizeof(got), "a JSON %s",
				 optreg_json_type_name(exp));
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "range", "expires_in",
			"must be a whole number of seconds from 1 to %ld "
			"(100 years), or null for a token that does not "
			"expire (got %s)",
			OPTREG_TOKEN_MAX_EXPIRES_IN, got);
		optreg_error_set_hint(e, "revoke and reissue tokens instead "
					 "of minting ones that outlive their "
					 "holder");
	}
	for (size_t i = 0; json_is_array(gs) && i < json_array_size(gs); i++) {
		json_t *g = json_array_get(gs, i);
		const char *role = optreg_json_str(g, "role");
		const char *pat = optreg_json_str(g, "namespace");
		char path[32];
		snprintf(path, sizeof(path), "grants[%zu]", i);
		if (optreg_tokens_grant_parse(role, pat, path, &grants[*n],
					      errs) == 0)
			(*n)++;
	}
	if (errs->len) {
		api_problem(call, OPTREG_EBADREQUEST, errs,
			    "the token request is malformed");
		return false;
	}
	return true;
}

static void token_reply(struct api_call *call, const char *token,
			const char *id, const char *principal,
			const struct optreg_grant *grants, size_t n,
			time_t expires_at)
{
	json_t *ga = json_array();
	json_t *ej = json_null();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			ga, json_pack("{s:s, s:s}", "role",
				      optreg_role_name(grants[i].role),
				      "namespace", grants[i].pattern));
	if (expires_at) {
		char ts[32];
		optreg_clock_format_s(ts, expires_at);
		ej = json_string(ts);
	}
	optreg_http_json(call->req, 201,
			 json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id,
				   "token", token, "principal", principal,
				   "grants", ga, "expires_at", ej));
}

static void create_token(struct api_call *call,
			 const struct optreg_grant *grants, size_t n);

API_HANDLER(handle_create_token)
static void handle_create_token(struct api_call *call)
{
	struct optreg_grant *grants;
	size_t n = 0;

	if (!api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_json_body_or_reply(call))
		return;
	grants = optreg_xcalloc(
		json_array_size(json_object_get(call->body, "grants")) + 1,
		sizeof(*grants));
	if (grants_or_reply(call, grants, &n))
		create_token(call, grants, n);
	free(grants);
}

static void create_token(struct api_call *call,
			 const struct optreg_grant *grants, size_t n)
{
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];
	time_t expires_at = 0;

	const char *principal = optreg_json_str(call->body, "principal");
	json_t *exp = json_object_get(call->body, "expires_in");
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_tokens_create(
		call->reg, &who, principal, grants, n,
		json_is_integer(exp) ? (long)json_integer_value(exp) : 0, token,
		id, &expires_at, &call->errs);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		token_reply(call, token, id, principal, grants, n, expires_at);
	OPENSSL_cleanse(token, sizeof(token));
}

API_HANDLER(handle_delete_token)
static void handle_delete_token(struct api_call *call)
{
	if (!api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL))
		return;
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_tokens_revoke(call->reg, &who, call->req->params[0],
				      &call->errs);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		call->req->status = 204;
}

/* The next page starts after the last token's id. */
static json_t *list_next(json_t *last)
{
	return json_pack("{s:s}", "after", optreg_json_str(last, "id"));
}

/* True when `s` looks like a token id: tok_ and 16 lowercase hex. */
static bool token_id_like(const char *s)
{
	return s && strlen(s) == OPTREG_TOKEN_ID_LEN &&
	       !strncmp(s, "tok_", 4) &&
	       strspn(s + 4, "0123456789abcdef") == OPTREG_TOKEN_ID_LEN - 4;
}

API_HANDLER(handle_list_tokens)
static void handle_list_tokens(struct api_call *call)
{
	const char *principal = optreg_http_query(call->req, "principal");
	const char *after = NULL;
	json_t *state, *list;
	int size;

	if (!api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_page_size_or_reply(call, &size) ||
	    !api_page_token_or_reply(call, &state))
		return;
	if (state) {
		after = optreg_json_str(state, "after");
		if (!token_id_like(after)) {
			json_decref(state);
			api_page_token_bad(call);
			return;
		}
	}
	if (principal &&
	    optreg_name_check_principal(principal, "principal", &call->errs)) {
		json_decref(state);
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the principal query parameter is not a "
			    "principal name");
		return;
	}
	int rc = optreg_tokens_list(call->reg, principal, after, size + 1,
				    &list, &call->errs);
	json_decref(state);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	api_page_reply_new(call, "tokens", list, size, list_next);
}

const struct optreg_http_route api_tokens_routes[] = {
	API_ROUTE("POST", "/v1/tokens", handle_create_token),
	API_ROUTE("GET", "/v1/tokens", handle_list_tokens),
	API_ROUTE("DELETE", "/v1/tokens/{id}", handle_delete_token),
};
const size_t api_tokens_nroutes =
	sizeof(api_tokens_routes) / sizeof(api_tokens_routes[0]);
