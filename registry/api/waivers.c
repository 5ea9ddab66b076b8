/*
 * registry/api/waivers.c: waivers: grant, list, revoke.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/jsonutil.h"
#include "../svc/policies.h"
#include "api.h"

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* An RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM),
 * with a day that exists. */
static bool rfc3339_ok(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	if (!s || strlen(s) < 20 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return false;
	int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8);
	int h = atoi(s + 11), mi = atoi(s + 14), sec = atoi(s + 17);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		int n = 0;
		for (p++; isdigit((unsigned char)*p); p++)
			n++;
		if (n < 1 || n > 9)
			return false;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return true;
	return (*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' &&
	       digits(p + 4, 2) && p[6] == '\0' && atoi(p + 1) <= 23 &&
	       atoi(p + 4) <= 59;
}

/* A config name or glob: 1 to 128 of [a-z0-9._*?-]. */
static bool config_glob_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    !islower((unsigned char)s[i]) && !strchr("._*?-", s[i]))
			return false;
	return true;
}

/* Checks the body of a grant; answers 400 otherwise. */
static bool grant_or_reply(struct api_call *call)
{
	static const char *const fields[] = {"policy",	  "rule",   "namespace",
					     "config",	  "reason", "owner",
					     "expires_at"};
	struct optreg_errors *errs = &call->errs;
	const char *key;
	json_t *val;

	json_object_foreach(call->body, key, val)
	{
		bool known = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
			known |= !strcmp(key, fields[i]);
		if (!known)
			optreg_errors_add(errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	const char *policy = optreg_json_str(call->body, "policy");
	const char *rule = optreg_json_str(call->body, "rule");
	const char *ns = optreg_json_str(call->body, "namespace");
	const char *config = optreg_json_str(call->body, "config");
	const char *exp = optreg_json_str(call->body, "expires_at");
	if (!api_policy_name_ok(policy))
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "policy",
				  "policy must be a policy name "
				  "([a-z0-9][a-z0-9._-]{0,63})");
	if (!api_policy_name_ok(rule))
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "rule",
				  "rule must be a rule id "
				  "([a-z0-9][a-z0-9._-]{0,63})");
	if (!ns || strchr(ns, '*') || strchr(ns, '?') || !api_namespace_ok(ns))
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "namespace",
				  "namespace must be one namespace's name");
	if (!config_glob_ok(config))
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "config",
				  "config must be a config name or glob of 1 "
				  "to 128 characters [a-z0-9._*?-]");
	if (!api_body_text(call, "reason", 1024) &&
	    !json_object_get(call->body, "reason"))
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "reason",
				  "reason is required: why the rule does not "
				  "apply (1 to 1024 characters)");
	if (!api_body_text(call, "owner", 200) &&
	    !json_object_get(call->body, "owner"))
		optreg_errors_add(errs, OPTREG_EINVAL, "required", "owner",
				  "owner is required: who answers for the "
				  "waiver (1 to 200 characters)");
	if (!rfc3339_ok(exp)) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "format", "expires_at",
			"expires_at \"%.40s\" is not an RFC 3339 time",
			exp ? exp : "");
		optreg_error_set_hint(e, "for example 2030-01-31T00:00:00Z");
	}
	if (errs->len) {
		api_problem(call, OPTREG_EBADREQUEST, errs,
			    "the waiver request is malformed");
		return false;
	}
	return true;
}

static const struct api_fail_as grant_fail_as[] = {
	{OPTREG_EINVAL, OPTREG_EBADREQUEST, NULL, true},
	{0, 0, NULL, false},
};

API_HANDLER(handle_grant_waiver)
static void handle_grant_waiver(struct api_call *call)
{
	json_t *out;

	if (!api_authenticate_or_reply(call) || !api_json_body_or_reply(call) ||
	    !grant_or_reply(call) ||
	    !api_authorize_or_reply(call, OPTREG_ROLE_APPROVER,
				    optreg_json_str(call->body, "namespace")))
		return;
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_waivers_grant(call->reg, &who, call->body, &out,
				      &call->errs);
	if (rc)
		api_fail_as(call, rc, &call->errs, grant_fail_as);
	else
		optreg_http_json(call->req, 201, out);
}

API_HANDLER(handle_list_waivers)
static void handle_list_waivers(struct api_call *call)
{
	const char *ns = optreg_http_query(call->req, "namespace");
	const char *all = optreg_http_query(call->req, "all");
	const char **patterns = NULL;
	size_t npatterns = 0;
	json_t *out;

	if (ns && !api_namespace_or_reply(call, ns, 64))
		return;
	if (all && strcmp(all, "true") && strcmp(all, "false")) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "all must be true or false, not \"%.20s\"", all);
		return;
	}
	if (ns ? !api_allow_or_reply(call, OPTREG_ROLE_READER, ns)
	       : !api_any_reader_or_reply(call))
		return;
	if (!ns && call->who.id[0]) {
		/* Only the namespaces the token may see. */
		patterns = calloc(call->who.ngrants + 1, sizeof(*patterns));
		for (size_t i = 0; i < call->who.ngrants; i++)
			patterns[npatterns++] = call->who.grants[i].pattern;
	}
	int rc = optreg_waivers_list(call->reg, ns, patterns, npatterns,
				     all && !strcmp(all, "true"), &out,
				     &call->errs);
	free(patterns);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		optreg_http_json(call->req, 200,
				 json_pack("{s:o}", "waivers", out));
}

API_HANDLER(handle_revoke_waiver)
static void handle_revoke_waiver(struct api_call *call)
{
	const char *id = call->req->params[0];
	const char *reason;
	json_t *w, *out;

	if (strlen(id) != 20 || strncmp(id, "wvr_", 4)) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "waiver id \"%.40s\" is not valid: it is wvr_ and "
			    "16 hex digits",
			    id);
		return;
	}
	if (!api_authenticate_or_reply(call) || !api_json_body_or_reply(call))
		return;
	reason = api_body_text(call, "reason", 1024);
	if (!reason || json_object_size(call->body) != 1) {
		optreg_errors_add(&call->errs, OPTREG_EINVAL, "required",
				  "reason",
				  "a reason of 1 to 1024 characters is "
				  "required, and nothing else");
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the waiver revoke request is malformed");
		return;
	}
	int rc = optreg_waivers_get(call->reg, id, &w, &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	bool ok = api_authorize_or_reply(
		call, OPTREG_ROLE_APPROVER,
		json_string_value(json_object_get(w, "namespace")));
	json_decref(w);
	if (!ok)
		return;
	struct optreg_audit_actor who = api_actor(call);
	rc = optreg_waivers_revoke(call->reg, &who, id, reason, &out,
				   &call->errs);
	if (rc)
		api_fail(call, rc, &call->errs);
	else
		optreg_http_json(call->req, 200, out);
}

const struct optreg_http_route api_waivers_routes[] = {
	API_ROUTE("POST", "/v1/waivers", handle_grant_waiver),
	API_ROUTE("GET", "/v1/waivers", handle_list_waivers),
	API_ROUTE("DELETE", "/v1/waivers/{id}", handle_revoke_waiver),
};
const size_t api_waivers_nroutes =
	sizeof(api_waivers_routes) / sizeof(api_waivers_routes[0]);
