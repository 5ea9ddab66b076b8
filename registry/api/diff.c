/*
 * registry/api/diff.c: GET /v1/configs/{ns}/{name}/versions/{n}/diff
 * ?against=REF: what changed from REF (a version number, `previous` for
 * n-1, or a tag of the same config) to version n, in optimizer terms
 * (validator/config_diff.h), as `optreg diff --json` shows it.
 */
#include <limits.h>
#include <string.h>

#include "../../validator/config.h"
#include "../../validator/config_diff.h"
#include "../../validator/jcs.h"
#include "../../validator/names.h"
#include "../store/versions.h"
#include "../svc/tags.h"
#include "../svc/versions.h"
#include "api.h"

/* Answers 400 naming `against`. */
static void against_bad(struct api_call *call, const char *detail)
{
	optreg_errors_add(&call->errs, OPTREG_EINVAL, "against", "against",
			  "%s", detail);
	api_problem(call, OPTREG_EBADREQUEST, &call->errs,
		    "query parameter against %s", detail);
}

/*
 * The version `against` names for version n of ns/name: a number, the
 * keyword `previous` (n - 1) or a tag. Answers (400, 404) and returns
 * false when there is none.
 */
static bool against_or_reply(struct api_call *call, const char *ns,
			     const char *name, int n, int *out)
{
	const char *s = optreg_http_query(call->req, "against");
	long v;

	if (!s || !s[0]) {
		against_bad(call, "is required: a version number, `previous` "
				  "or a tag name");
		return false;
	}
	/* All digits is a number (tags never are); "1.0" or "2b" a tag. */
	if (strspn(s, "0123456789") == strlen(s)) {
		if (!api_parse_long(s, 1, INT_MAX, &v)) {
			against_bad(call, "must be a version number from 1, "
					  "without leading zeros, "
					  "`previous` or a tag name");
			return false;
		}
		*out = (int)v;
		return true;
	}
	if (!strcmp(s, "previous")) {
		if (n == 1) {
			api_problem(call, OPTREG_ENOTFOUND, NULL,
				    "version 1 of %s/%s has no previous "
				    "version",
				    ns, name);
			return false;
		}
		*out = n - 1;
		return true;
	}
	if (optreg_name_check_tag(s, "", NULL)) {
		against_bad(call, "must be a version number, `previous` or "
				  "a tag name (1 to 64 of a-z, 0-9, '.', "
				  "'_', '-')");
		return false;
	}
	int rc = optreg_tags_resolve(call->reg, ns, name, s, out, &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return false;
	}
	return true;
}

/* Loads version `n`'s stored canonical config into `cc`; answers and
 * returns false when it cannot. */
static bool side_or_reply(struct api_call *call, const char *ns,
			  const char *name, int n, struct optreg_version *v,
			  struct optreg_checked_config *cc)
{
	int rc = optreg_versions_get(call->reg, ns, name, n, v, &call->errs);

	if (rc) {
		api_fail(call, rc, &call->errs);
		return false;
	}
	if (optreg_config_load_checked(cc, NULL, v->payload.data,
				       v->payload.len, OPTREG_CONFIG_JSON,
				       &call->errs) < 0) {
		api_problem(call, OPTREG_EINTERNAL, &call->errs,
			    "stored version %d of %s/%s does not load", n, ns,
			    name);
		return false;
	}
	return true;
}

static json_t *side_json(const struct optreg_version *v)
{
	return json_pack("{s:s, s:s, s:i, s:s}", "namespace", v->ns, "name",
			 v->name, "version", v->version, "digest", v->digest);
}

static void diff_reply(struct api_call *call, const struct optreg_version *a,
		       const struct optreg_checked_config *ca,
		       const struct optreg_version *b,
		       const struct optreg_checked_config *cb)
{
	struct optreg_config_diff d;

	optreg_config_diff_init(&d);
	optreg_config_diff_compute(&d, &ca->cfg, &cb->cfg);
	json_t *o = json_pack("{s:o, s:o, s:b, s:o}", "a", side_json(a), "b",
			      side_json(b), "equal", d.len == 0, "changes",
			      optreg_config_diff_json(&d));
	optreg_config_diff_release(&d);
	/* RFC 8785: the numbers in their shortest form, as the CLI's. */
	optreg_buf_reset(&call->req->resp);
	if (optreg_jcs_serialize(o, &call->req->resp, &call->errs) < 0)
		api_problem(call, OPTREG_EINTERNAL, &call->errs,
			    "cannot serialize the diff");
	else
		call->req->status = 200;
	json_decref(o);
}

API_HANDLER(handle_diff)
static void handle_diff(struct api_call *call)
{
	const char *ns = call->req->params[0], *name = call->req->params[1];
	struct optreg_checked_config ca, cb;
	struct optreg_version a, b;
	int n, against;

	if (!api_config_params_or_reply(call) ||
	    !api_version_or_reply(call, call->req->params[2], &n) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_READER, ns))
		return;
	optreg_checked_config_init(&ca);
	optreg_checked_config_init(&cb);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	optreg_buf_init(&a.payload);
	optreg_buf_init(&b.payload);
	if (side_or_reply(call, ns, name, n, &b, &cb) &&
	    against_or_reply(call, ns, name, n, &against) &&
	    side_or_reply(call, ns, name, against, &a, &ca))
		diff_reply(call, &a, &ca, &b, &cb);
	optreg_version_release(&a);
	optreg_version_release(&b);
	optreg_checked_config_release(&ca);
	optreg_checked_config_release(&cb);
}

const struct optreg_http_route api_diff_routes[] = {
	API_ROUTE("GET", "/v1/configs/{ns}/{name}/versions/{n}/diff",
		  handle_diff),
};
const size_t api_diff_nroutes =
	sizeof(api_diff_routes) / sizeof(api_diff_routes[0]);
