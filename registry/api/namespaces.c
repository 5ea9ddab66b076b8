/*
 * registry/api/namespaces.c: namespace settings (signature threshold).
 */
#include <limits.h>

#include "../svc/namespaces.h"
#include "api.h"

API_HANDLER(handle_ns_get)
static void handle_ns_get(struct api_call *call)
{
	const char *ns = call->req->params[0];
	json_t *out = NULL;

	if (!api_namespace_or_reply(call, ns, INT_MAX) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_READER, ns))
		return;
	int rc = optreg_namespaces_get(call->reg, ns, &out, &call->errs);
	api_store_reply(call, rc, 200, out);
}

/* The body {signature_threshold}: an integer from 1 to 16, alone. */
static bool threshold_or_reply(struct api_call *call, int *threshold)
{
	json_t *t = json_object_get(call->body, "signature_threshold");

	if (json_object_size(call->body) == 1 && json_is_integer(t) &&
	    json_integer_value(t) >= 1 && json_integer_value(t) <= 16) {
		*threshold = (int)json_integer_value(t);
		return true;
	}
	optreg_errors_add(&call->errs, OPTREG_EINVAL, "type",
			  "signature_threshold",
			  "must be an integer from 1 to 16, and the only "
			  "field");
	api_problem(call, OPTREG_EBADREQUEST, &call->errs,
		    "the namespace settings are malformed");
	return false;
}

API_HANDLER(handle_ns_put)
static void handle_ns_put(struct api_call *call)
{
	const char *ns = call->req->params[0];
	json_t *out = NULL;
	int threshold;

	if (!api_namespace_or_reply(call, ns, INT_MAX) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_json_body_or_reply(call) ||
	    !threshold_or_reply(call, &threshold))
		return;
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_namespaces_put(call->reg, &who, ns, threshold, &out,
				       &call->errs);
	api_store_reply(call, rc, 200, out);
}

const struct optreg_http_route api_namespaces_routes[] = {
	API_ROUTE("GET", "/v1/namespaces/{ns}", handle_ns_get),
	API_ROUTE("PUT", "/v1/namespaces/{ns}", handle_ns_put),
};
const size_t api_namespaces_nroutes =
	sizeof(api_namespaces_routes) / sizeof(api_namespaces_routes[0]);
