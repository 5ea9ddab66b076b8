/*
 * registry/api/keys.c: signing keys (add, list, get, revoke) and the
 * registry's own public keys.
 */
#include <string.h>

#include "../svc/signers.h"
#include "../../common/jsonutil.h"
#include "../../validator/names.h"
#include "api.h"

/* Store errors of these routes: a malformed request is 400, not 422. */
const struct api_fail_as api_store_fail_as[] = {
	{OPTREG_EINVAL, OPTREG_EBADREQUEST, "the request is malformed", true},
	{0, 0, NULL, false},
};

/* Answers `status` with the JSON `out` (stolen; may be NULL when rc is
 * not 0), or the problem for rc. */
void api_store_reply(struct api_call *call, int rc, unsigned status,
		     json_t *out)
{
	if (rc)
		api_fail_as(call, rc, &call->errs, api_store_fail_as);
	else
		optreg_http_json(call->req, status, out);
}

/* Checks the body {public_key, principal, namespaces, purpose?}; answers
 * 400. */
static bool key_or_reply(struct api_call *call, const char **pem,
			 const char **principal, const char **purpose)
{
	json_t *pj = json_object_get(call->body, "purpose");

	const char *key;
	json_t *val;

	*pem = optreg_json_str(call->body, "public_key");
	*principal = optreg_json_str(call->body, "principal");
	*purpose = json_is_string(pj) ? json_string_value(pj) : NULL;
	json_object_foreach(call->body, key, val)
	{
		if (strcmp(key, "public_key") && strcmp(key, "principal") &&
		    strcmp(key, "namespaces") && strcmp(key, "purpose"))
			optreg_errors_add(&call->errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	if (!*pem || strlen(*pem) > 4096)
		optreg_errors_add(&call->errs, OPTREG_EINVAL, "required",
				  "public_key",
				  "must be an Ed25519 public key in PEM "
				  "(SubjectPublicKeyInfo) form");
	optreg_name_check_principal(*principal, "principal", &call->errs);
	if (pj && !json_is_null(pj) &&
	    (!*purpose ||
	     (strcmp(*purpose, "config") && strcmp(*purpose, "verdict"))))
		optreg_errors_add(&call->errs, OPTREG_EINVAL, "enum", "purpose",
				  "must be \"config\" (signs configs) or "
				  "\"verdict\" (signs runners' verdicts)");
	if (call->errs.len) {
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the key registration is malformed");
		return false;
	}
	return true;
}

API_HANDLER(handle_key_add)
static void handle_key_add(struct api_call *call)
{
	const char *pem, *principal, *purpose;
	json_t *out = NULL;

	if (!api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL) ||
	    !api_json_body_or_reply(call) ||
	    !key_or_reply(call, &pem, &principal, &purpose))
		return;
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_signers_add(call->reg, &who, pem, principal,
				    json_object_get(call->body, "namespaces"),
				    purpose, &out, &call->errs);
	api_store_reply(call, rc, 201, out);
}

/* Public keys are shown to any authenticated caller, and to anonymous
 * ones when reads are open. */
static bool key_reader_or_reply(struct api_call *call)
{
	return api_authenticate_or_reply(call) &&
	       (call->who.id[0] ||
		api_authorize_or_reply(call, OPTREG_ROLE_READER, "*"));
}

API_HANDLER(handle_key_list)
static void handle_key_list(struct api_call *call)
{
	json_t *list = NULL;

	if (!key_reader_or_reply(call))
		return;
	int rc = optreg_signers_list(call->reg,
				     optreg_http_query(call->req, "principal"),
				     &list, &call->errs);
	api_store_reply(call, rc, 200,
			rc ? NULL : json_pack("{s:o}", "keys", list));
}

API_HANDLER(handle_key_get)
static void handle_key_get(struct api_call *call)
{
	json_t *out = NULL;

	if (!key_reader_or_reply(call))
		return;
	int rc = optreg_signers_get(call->reg, call->req->params[0], &out,
				    &call->errs);
	api_store_reply(call, rc, 200, out);
}

API_HANDLER(handle_key_revoke)
static void handle_key_revoke(struct api_call *call)
{
	json_t *out = NULL;

	if (!api_allow_or_reply(call, OPTREG_ROLE_ADMIN, NULL))
		return;
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_signers_revoke(call->reg, &who, call->req->params[0],
				       &out, &call->errs);
	api_store_reply(call, rc, 200, out);
}

/* Public keys only, needed to check receipts: no token required. */
API_HANDLER(handle_registry_keys)
static void handle_registry_keys(struct api_call *call)
{
	json_t *list = NULL;

	int rc = optreg_signers_registry_keys(call->reg, &list, &call->errs);
	api_store_reply(call, rc, 200,
			rc ? NULL : json_pack("{s:o}", "keys", list));
}

const struct optreg_http_route api_keys_routes[] = {
	API_ROUTE("POST", "/v1/keys", handle_key_add),
	API_ROUTE("GET", "/v1/keys", handle_key_list),
	API_ROUTE("GET", "/v1/keys/{keyid}", handle_key_get),
	API_ROUTE("POST", "/v1/keys/{keyid}/revoke", handle_key_revoke),
};
const size_t api_keys_nroutes =
	sizeof(api_keys_routes) / sizeof(api_keys_routes[0]);

const struct optreg_http_route api_registry_keys_routes[] = {
	API_ROUTE("GET", "/v1/registry/keys", handle_registry_keys),
};
const size_t api_registry_keys_nroutes =
	sizeof(api_registry_keys_routes) / sizeof(api_registry_keys_routes[0]);
