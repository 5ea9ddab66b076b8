/*
 * registry/api/policies.c: stored policies: push, delete, list, get, and
 * the dry run of a new version.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/jsonutil.h"
#include "../../validator/policy.h"
#include "../svc/policies.h"
#include "api.h"

/* {name} is a policy name; answers 400 otherwise. */
static bool policy_name_or_reply(struct api_call *call, const char *name)
{
	if (api_policy_name_ok(name))
		return true;
	api_problem(call, OPTREG_EBADREQUEST, NULL,
		    "policy name \"%.64s\" is not valid: it must match "
		    "[a-z0-9][a-z0-9._-]{0,63}",
		    name);
	return false;
}

/* The body's "document" (a string of at most OPTREG_POLICY_MAX_BYTES)
 * and the other fields allowed (`other`, NULL for none): adds errors
 * to call->errs. */
static const char *document_of(struct api_call *call, const char *other)
{
	json_t *d = json_object_get(call->body, "document");
	const char *key;
	json_t *val;

	json_object_foreach(call->body, key, val)
	{
		if (strcmp(key, "document") && (!other || strcmp(key, other)))
			optreg_errors_add(&call->errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	if (!json_is_string(d) || json_string_length(d) == 0) {
		optreg_errors_add(&call->errs, OPTREG_EINVAL, "required",
				  "document",
				  "document is required: the policy file's "
				  "text, YAML or JSON");
		return NULL;
	}
	if (json_string_length(d) > OPTREG_POLICY_MAX_BYTES) {
		optreg_errors_add(
			&call->errs, OPTREG_EINVAL, "limit", "document",
			"document is %zu bytes, more than the %d "
			"allowed",
			json_string_length(d), OPTREG_POLICY_MAX_BYTES);
		return NULL;
	}
	return json_string_value(d);
}

static const struct api_fail_as policy_fail_as[] = {
	{OPTREG_EBADPOLICY, OPTREG_EBADPOLICY,
	 "the policy document is not valid; see errors", true},
	{OPTREG_ENAMEMISMATCH, OPTREG_ENAMEMISMATCH, NULL, true},
	{OPTREG_EINVAL, OPTREG_EBADPOLICY,
	 "the policy document is not valid; see errors", true},
	{OPTREG_ESYNTAX, OPTREG_EBADPOLICY,
	 "the policy document is not valid; see errors", true},
	{OPTREG_ELIMIT, OPTREG_EBADPOLICY,
	 "the policy document is not valid; see errors", true},
	{0, 0, NULL, false},
};

API_HANDLER(handle_put_policy)
static void handle_put_policy(struct api_call *call)
{
	const char *name = call->req->params[0];
	const char *doc, *message;
	json_t *out;

	if (!policy_name_or_reply(call, name) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_json_body_or_reply(call))
		return;
	doc = document_of(call, "message");
	message = api_body_text(call, "message", 1024);
	if (call->errs.len) {
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the policy push request is malformed");
		return;
	}
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_policies_put(call->reg, &who, name, doc, strlen(doc),
				     message ? message : "no message given",
				     &out, &call->errs);
	if (rc) {
		api_fail_as(call, rc, &call->errs, policy_fail_as);
		return;
	}
	bool created = json_is_true(json_object_get(out, "created"));
	optreg_http_json(call->req, created ? 201 : 200, out);
}

API_HANDLER(handle_delete_policy)
static void handle_delete_policy(struct api_call *call)
{
	const char *name = call->req->params[0];
	const char *reason;
	json_t *out;

	if (!policy_name_or_reply(call, name) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_json_body_or_reply(call))
		return;
	reason = api_body_text(call, "reason", 1024);
	if (!reason || json_object_size(call->body) != 1) {
		optreg_errors_add(&call->errs, OPTREG_EINVAL, "required",
				  "reason",
				  "a reason of 1 to 1024 characters is "
				  "required, and nothing else");
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the policy delete request is malformed");
		return;
	}
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_policies_delete(call->reg, &who, name, reason, &out,
					&call->errs);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		optreg_http_json(call->req, 200, out);
}

API_HANDLER(handle_list_policies)
static void handle_list_policies(struct api_call *call)
{
	json_t *out;

	if (!api_any_reader_or_reply(call))
		return;
	int rc = optreg_policies_list(call->reg, &out, &call->errs);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		optreg_http_json(call->req, 200,
				 json_pack("{s:o}", "policies", out));
}

API_HANDLER(handle_get_policy)
static void handle_get_policy(struct api_call *call)
{
	const char *name = call->req->params[0];
	const char *vs = optreg_http_query(call->req, "version");
	long version = 0;
	json_t *out;

	if (!policy_name_or_reply(call, name))
		return;
	if (vs && !api_parse_long(vs, 1, INT_MAX, &version)) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "version \"%.20s\" must be a number from 1 to %d",
			    vs, INT_MAX);
		return;
	}
	if (!api_any_reader_or_reply(call))
		return;
	int rc = optreg_policies_get(call->reg, name, (int)version, &out,
				     &call->errs);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		optreg_http_json(call->req, 200, out);
}

API_HANDLER(handle_evaluate_policy)
static void handle_evaluate_policy(struct api_call *call)
{
	const char *name = call->req->params[0];
	const char *doc;
	json_t *out;

	if (!policy_name_or_reply(call, name) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_json_body_or_reply(call))
		return;
	doc = document_of(call, NULL);
	if (call->errs.len) {
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the policy evaluate request is malformed");
		return;
	}
	int rc = optreg_policies_evaluate(call->reg, name, doc, strlen(doc),
					  &out, &call->errs);
	if (rc)
		api_fail_as(call, rc, &call->errs, policy_fail_as);
	else
		optreg_http_json(call->req, 200, out);
}

const struct optreg_http_route api_policies_routes[] = {
	API_ROUTE("GET", "/v1/policies", handle_list_policies),
	API_ROUTE("GET", "/v1/policies/{name}", handle_get_policy),
	API_ROUTE("PUT", "/v1/policies/{name}", handle_put_policy),
	API_ROUTE("DELETE", "/v1/policies/{name}", handle_delete_policy),
	API_ROUTE("POST", "/v1/policies/{name}/evaluate",
		  handle_evaluate_policy),
};
const size_t api_policies_nroutes =
	sizeof(api_policies_routes) / sizeof(api_policies_routes[0]);
