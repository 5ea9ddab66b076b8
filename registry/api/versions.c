/*
 * registry/api/versions.c: config versions: submit, get, list, yank, and
 * POST /v1/validate.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/dsse.h"
#include "../../common/jsonutil.h"
#include "../../validator/config.h"
#include "../../validator/jcs.h"
#include "../../validator/policy.h"
#include "../cache_keys.h"
#include "../policy_cache.h"
#include "../svc/versions.h"
#include "api.h"

/* ------------------------------------------------------------------ */
/* The version document, cache-aside */

/* A cached version document: this header, then the document. */
struct version_entry {
	char digest[OPTREG_DIGEST_LEN + 1];
};

/* Appends the version document of docs/api.md as compact JSON, with
 * `config` exactly the stored canonical bytes. */
static void version_render(const struct optreg_version *v,
			   struct optreg_buf *out)
{
	json_error_t jerr;
	json_t *env = json_loads(v->envelope, 0, &jerr);
	json_t *tags = json_loads(v->tags ? v->tags : "[]", 0, &jerr);
	json_t *receipt =
		v->receipt ? json_loads(v->receipt, 0, &jerr) : json_null();
	json_t *doc = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:o, s:o, s:o*, s:o*, "
		"s:o*}",
		"namespace", v->ns, "name", v->name, "version", v->version,
		"digest", v->digest, "created_at", v->created_at, "created_by",
		v->created_by, "yanked", v->yanked, "yanked_at",
		v->yanked_at ? json_string(v->yanked_at) : json_null(),
		"yank_reason",
		v->yank_reason ? json_string(v->yank_reason) : json_null(),
		"tags", tags, "envelope", env, "receipt", receipt);
	json_object_set_new(doc, "message",
			    v->message ? json_string(v->message) : json_null());
	json_object_set_new(doc, "link",
			    v->link ? json_string(v->link) : json_null());
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	/* "config" goes in as the stored canonical bytes: re-encoding the
	 * numbers through jansson would print 0.9 as 0.90000000000000002. */
	size_t n = strlen(s);
	optreg_buf_add(out, s, n - 1);
	optreg_buf_adds(out, ",\"config\":");
	optreg_buf_add(out, v->payload.data, v->payload.len);
	optreg_buf_addch(out, '}');
	free(s);
}

struct version_ref {
	const char *ns, *name;
	int version;
};

static int load_version(struct api_call *call, void *arg,
			struct optreg_buf *value)
{
	const struct version_ref *ref = arg;
	struct version_entry head = {{0}};
	struct optreg_version v;

	int rc = optreg_versions_get(call->reg, ref->ns, ref->name,
				     ref->version, &v, &call->errs);
	if (rc)
		return rc;
	snprintf(head.digest, sizeof(head.digest), "%s", v.digest);
	optreg_buf_add(value, &head, sizeof(head));
	version_render(&v, value);
	optreg_version_release(&v);
	return 0;
}

/*
 * Version documents change only when yanked or tagged, and those
 * notifications drop them.
 */
void api_version_reply(struct api_call *call, const char *ns, const char *name,
		       int version)
{
	struct optreg_buf key = OPTREG_BUF_INIT, val = OPTREG_BUF_INIT;
	struct version_ref ref = {ns, name, version};
	struct version_entry head;

	optreg_cache_key_version(&key, ns, name, version);
	int rc = api_cached(call, key.data, &val, load_version, &ref);
	if (rc) {
		api_fail(call, rc, &call->errs);
	} else if (val.len < sizeof(head)) {
		api_problem(call, OPTREG_EINTERNAL, NULL, "bad cache entry");
	} else {
		memcpy(&head, val.data, sizeof(head));
		optreg_http_set_header(call->req, "X-Optreg-Digest",
				       head.digest);
		call->req->status = 200;
		optreg_buf_add(&call->req->resp, val.data + sizeof(head),
			       val.len - sizeof(head));
	}
	optreg_buf_release(&key);
	optreg_buf_release(&val);
}

API_HANDLER_CACHED(handle_get_version)
static void handle_get_version(struct api_call *call)
{
	const char *const *p = call->req->params;
	int version;

	if (api_config_params_or_reply(call) &&
	    api_version_or_reply(call, p[2], &version) &&
	    api_allow_or_reply(call, OPTREG_ROLE_READER, p[0]))
		api_version_reply(call, p[0], p[1], version);
}

/* ------------------------------------------------------------------ */
/* Submit */

/*
 * Checks an envelope's payload: a valid config, already canonical, naming
 * the URL's namespace and name. Fills `digest`; answers and returns false
 * otherwise.
 */
static bool payload_or_reply(struct api_call *call,
			     const struct optreg_dsse *env, const char *ns,
			     const char *name,
			     char digest[OPTREG_DIGEST_LEN + 1])
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;
	bool ok = false;

	optreg_checked_config_init(&cc);
	if (optreg_config_load_checked(&cc, NULL, env->payload.data,
				       env->payload.len, OPTREG_CONFIG_JSON,
				       &errs) < 0) {
		api_fail(call, OPTREG_EINVAL, &errs);
	} else if (!cc.input_canonical) {
		struct optreg_error *e = optreg_errors_add(
			&errs, OPTREG_EINVAL, "canonical", "payload",
			"payload is not RFC 8785 canonical JSON");
		optreg_error_set_hint(e, "sign and send the output of "
					 "`optreg canonicalize`");
		api_problem(call, OPTREG_ENOTCANONICAL, &errs,
			    "the payload must be the canonical form of the "
			    "config (%zu bytes), not %zu bytes of other JSON",
			    cc.canon.len, env->payload.len);
	} else if (strcmp(cc.cfg.namespace_, ns) || strcmp(cc.cfg.name, name)) {
		api_problem(call, OPTREG_ENAMEMISMATCH, NULL,
			    "the config names %s/%s but was sent to %s/%s",
			    cc.cfg.namespace_, cc.cfg.name, ns, name);
	} else {
		memcpy(digest, cc.digest, sizeof(cc.digest));
		ok = true;
	}
	optreg_checked_config_release(&cc);
	optreg_errors_release(&errs);
	return ok;
}

static void submit_reply(struct api_call *call, const char *ns,
			 const char *name,
			 const struct optreg_submit_result *res,
			 const char *digest)
{
	char loc[512];

	snprintf(loc, sizeof(loc), "/v1/configs/%s/%s/versions/%d", ns, name,
		 res->version);
	optreg_http_set_header(call->req, "Location", loc);
	optreg_http_set_header(call->req, "X-Optreg-Digest", digest);
	/* One document, serialized once (the receipt is the biggest part). */
	json_t *body = json_pack(
		"{s:s, s:s, s:i, s:s, s:b, s:s, s:o*}", "namespace", ns, "name",
		name, "version", res->version, "digest", digest, "created",
		res->created, "created_at", res->created_at, "receipt",
		res->receipt ? json_loads(res->receipt, 0, NULL) : NULL);
	json_t *pj = optreg_policy_result_to_json(&res->policy);
	json_t *violations = json_object_get(pj, "violations");
	if (violations)
		json_object_set(body, "violations", violations);
	json_decref(pj);
	json_object_set_new(body, "message",
			    res->message ? json_string(res->message)
					 : json_null());
	json_object_set_new(body, "link",
			    res->link ? json_string(res->link) : json_null());
	optreg_http_json(call->req, res->created ? 201 : 200, body);
}

/* Answers 403 for refused signatures and audits the refusal. */
static void submit_refused(struct api_call *call, const char *ns,
			   const char *name, const char *digest,
			   const struct optreg_errors *errs)
{
	char target[300];
	json_t *why = json_array();

	api_problem(call, OPTREG_ESIGREFUSED, errs,
		    "the envelope's signatures are not enough to accept this "
		    "config");
	for (size_t i = 0; i < errs->len; i++)
		json_array_append_new(why,
				      json_pack("{s:s, s:s}", "path",
						errs->items[i].path, "rule",
						errs->items[i].rule));
	snprintf(target, sizeof(target), "%s/%s", ns, name);
	api_audit_denied(call, target,
			 json_pack("{s:s, s:s, s:o}", "code",
				   "signature_refused", "digest", digest,
				   "reasons", why));
}

/*
 * The body {"envelope", "message", "link"}: checks it, fills `why`
 * (borrowing from call->body) and writes the envelope's JSON text to
 * `text`. Answers 400 and returns false otherwise.
 */
static bool wrapper_or_reply(struct api_call *call,
			     struct optreg_submit_why *why,
			     struct optreg_buf *text)
{
	const char *key;
	json_t *val;

	json_object_foreach(call->body, key, val)
	{
		if (strcmp(key, "envelope") && strcmp(key, "message") &&
		    strcmp(key, "link"))
			optreg_errors_add(&call->errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	json_t *env = json_object_get(call->body, "envelope");
	if (!json_is_object(env))
		optreg_errors_add(&call->errs, OPTREG_EINVAL, "type",
				  "envelope",
				  "envelope must be the DSSE envelope object");
	why->message = api_body_text(call, "message", 1024);
	why->link = api_body_text(call, "link", 512);
	if (call->errs.len) {
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the submit request is malformed");
		return false;
	}
	char *s = json_dumps(env, JSON_COMPACT);
	optreg_buf_adds(text, s);
	free(s);
	return true;
}

/* Parses the body as a config envelope, bare or in the submit wrapper,
 * or answers 400/415. */
static bool envelope_or_reply(struct api_call *call, struct optreg_dsse *env,
			      struct optreg_submit_why *why)
{
	struct optreg_http_req *req = call->req;
	struct optreg_buf text = OPTREG_BUF_INIT;
	const char *data = req->body.data;
	size_t len = req->body.len;

	if (!api_json_content_type_or_reply(call))
		return false;
	json_t *body = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(body) && json_object_get(body, "envelope")) {
		call->body = body;
		if (!wrapper_or_reply(call, why, &text)) {
			optreg_buf_release(&text);
			return false;
		}
		data = text.data;
		len = text.len;
	} else {
		json_decref(body);
	}
	int rc = optreg_dsse_parse(env, data, len, &call->errs);
	optreg_buf_release(&text);
	if (rc < 0) {
		api_problem(call, OPTREG_EBADENVELOPE, &call->errs,
			    "the body is not a DSSE envelope");
		return false;
	}
	if (strcmp(env->payload_type, OPTREG_CONFIG_PAYLOAD_TYPE)) {
		api_problem(call, OPTREG_EBADENVELOPE, NULL,
			    "payloadType must be \"%s\" (got \"%.100s\")",
			    OPTREG_CONFIG_PAYLOAD_TYPE, env->payload_type);
		return false;
	}
	return true;
}

static void submit(struct api_call *call, const struct optreg_dsse *env,
		   struct optreg_submit_why *why)
{
	const char *ns = call->req->params[0], *name = call->req->params[1];
	struct optreg_buf envelope = OPTREG_BUF_INIT;
	struct optreg_submit_result res;
	char digest[OPTREG_DIGEST_LEN + 1];

	if (!payload_or_reply(call, env, ns, name, digest))
		return;
	json_t *config =
		optreg_policy_config_json(env->payload.data, env->payload.len);
	why->config = config;
	optreg_submit_result_init(&res);
	/* Store the envelope in RFC 8785 form, so what is served is exactly
	 * what was checked (no duplicate or unknown fields) and receipts can
	 * name it by hash. */
	json_t *ej = optreg_dsse_to_json(env);
	int rc = optreg_jcs_serialize(ej, &envelope, &call->errs);
	json_decref(ej);
	if (rc) {
		api_fail(call, OPTREG_EINTERNAL, &call->errs);
		optreg_buf_release(&envelope);
		json_decref(config);
		return;
	}
	struct optreg_audit_actor who = api_actor(call);
	rc = optreg_versions_submit(call->reg, &who, ns, name, digest, env,
				    envelope.data, why, &res, &call->errs);
	optreg_buf_release(&envelope);
	if (rc == OPTREG_EDENIED) {
		submit_refused(call, ns, name, digest, &call->errs);
	} else if (rc == OPTREG_EPOLICY) {
		char what[300];
		snprintf(what, sizeof(what), "config %s/%s (%s)", ns, name,
			 digest);
		api_policy_denied(call, what, &res.policy, &call->errs);
		api_policy_denied_audit(call, ns, name, &res.policy);
	} else if (rc) {
		api_fail(call, rc, &call->errs);
	} else {
		submit_reply(call, ns, name, &res, digest);
	}
	optreg_submit_result_release(&res);
	json_decref(config);
}

API_HANDLER(handle_submit)
static void handle_submit(struct api_call *call)
{
	struct optreg_submit_why why = {NULL, NULL, NULL};
	struct optreg_dsse env;

	optreg_dsse_init(&env);
	if (api_config_params_or_reply(call) &&
	    api_allow_or_reply(call, OPTREG_ROLE_SUBMITTER,
			       call->req->params[0]) &&
	    envelope_or_reply(call, &env, &why))
		submit(call, &env, &why);
	optreg_dsse_release(&env);
}

/* ------------------------------------------------------------------ */
/* List, yank */

static json_t *versions_json(const struct optreg_version_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->len; i++) {
		const struct optreg_version_summary *v = &l->items[i];
		json_array_append_new(
			a,
			json_pack("{s:i, s:s, s:s, s:s, s:b, s:o*, s:o, s:o, "
				  "s:o}",
				  "version", v->version, "digest", v->digest,
				  "created_at", v->created_at, "created_by",
				  v->created_by, "yanked", v->yanked, "tags",
				  json_loads(v->tags, 0, NULL), "message",
				  v->message ? json_string(v->message)
					     : json_null(),
				  "link",
				  v->link ? json_string(v->link) : json_null(),
				  "yank_reason",
				  v->yank_reason ? json_string(v->yank_reason)
						 : json_null()));
		json_t *item = json_array_get(a, i);
		json_object_set_new(
			item, "verdict",
			v->verdict_result
				? json_pack("{s:s, s:s, s:I, s:s}", "result",
					    v->verdict_result, "suite",
					    v->verdict_suite, "job_id",
					    (json_int_t)v->verdict_job_id,
					    "created_at", v->verdict_created_at)
				: json_null());
		json_object_set_new(item, "job_state",
				    v->job_state ? json_string(v->job_state)
						 : json_null());
		json_t *ids = json_loads(v->signer_keyids, 0, NULL);
		json_object_set_new(item, "signer_keyids",
				    json_is_array(ids) ? ids : json_array());
		if (!json_is_array(ids))
			json_decref(ids);
	}
	return a;
}

static json_t *versions_next(json_t *last)
{
	return json_pack("{s:I}", "before",
			 json_integer_value(json_object_get(last, "version")));
}

API_HANDLER(handle_list_versions)
static void handle_list_versions(struct api_call *call)
{
	const char *const *p = call->req->params;
	struct optreg_version_list list;
	json_t *state;
	int size, before = 0;

	if (!api_config_params_or_reply(call) ||
	    !api_page_size_or_reply(call, &size) ||
	    !api_page_token_or_reply(call, &state))
		return;
	if (state) {
		json_t *b = json_object_get(state, "before");
		before = json_is_integer(b) ? (int)json_integer_value(b) : 0;
		json_decref(state);
		if (before < 1) {
			api_page_token_bad(call);
			return;
		}
	}
	if (!api_allow_or_reply(call, OPTREG_ROLE_READER, p[0]))
		return;
	/* One more than asked tells whether there is a next page. */
	int rc = optreg_versions_list(call->reg, p[0], p[1], before, size + 1,
				      &list, &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	api_page_reply_new(call, "versions", versions_json(&list), size,
			   versions_next);
	optreg_version_list_release(&list);
}

/* A reason of 1 to 1024 characters without control characters (as every
 * other reason), an optional link, and nothing else. */
static const char *yank_reason_or_reply(struct api_call *call,
					const char **link)
{
	const char *reason = api_body_text(call, "reason", 1024);

	*link = api_body_text(call, "link", 512);
	if (call->errs.len) {
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the yank request is malformed");
		return NULL;
	}
	if (reason && json_object_size(call->body) == 1 + (*link != NULL))
		return reason;
	optreg_errors_add(&call->errs, OPTREG_EINVAL, "required", "reason",
			  "a reason of 1 to 1024 characters is required, "
			  "with an optional link, and nothing else");
	api_problem(call, OPTREG_EBADREQUEST, &call->errs,
		    "the yank request is malformed");
	return NULL;
}

API_HANDLER(handle_yank)
static void handle_yank(struct api_call *call)
{
	const char *ns = call->req->params[0], *name = call->req->params[1];
	char digest[OPTREG_DIGEST_LEN + 1];
	const char *reason, *link = NULL;
	bool already = false;
	int version;

	if (!api_config_params_or_reply(call) ||
	    !api_version_or_reply(call, call->req->params[2], &version) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_APPROVER, ns) ||
	    !api_json_body_or_reply(call) ||
	    !(reason = yank_reason_or_reply(call, &link)))
		return;
	struct optreg_audit_actor who = api_actor(call);
	int rc =
		optreg_versions_yank(call->reg, &who, ns, name, version, reason,
				     link, &already, digest, &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	/* Drop this process's copies now (the notification does it for the
	 * other replicas), then answer with the version as it is now. */
	optreg_registry_on_notify(digest, call->reg);
	api_version_reply(call, ns, name, version);
}

/* ------------------------------------------------------------------ */
/* Validate */

/* The stored policies on a valid config (with `tag`: change rules against
 * what that tag of the config points at now). */
static void validate_policies(struct api_call *call,
			      const struct optreg_checked_config *cc,
			      const char *tag)
{
	struct optreg_policy_result r;
	json_t *config =
		optreg_policy_config_json(cc->canon.data, cc->canon.len);

	optreg_policy_result_init(&r);
	int rc = optreg_versions_evaluate(call->reg, cc->cfg.namespace_,
					  cc->cfg.name, config, tag, &r,
					  &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
	} else if (r.denied) {
		char what[300];
		optreg_policy_result_denials(&r, OPTREG_EPOLICY, &call->errs);
		snprintf(what, sizeof(what), "config %s/%s", cc->cfg.namespace_,
			 cc->cfg.name);
		api_policy_denied(call, what, &r, &call->errs);
	} else {
		json_t *pj = optreg_policy_result_to_json(&r);
		optreg_http_json(call->req, 200,
				 json_pack("{s:b, s:s, s:O}", "valid", 1,
					   "digest", cc->digest, "violations",
					   json_object_get(pj, "violations")));
		json_decref(pj);
	}
	json_decref(config);
	optreg_policy_result_release(&r);
}

/* The stored policies, waivers and tags of a namespace are read only
 * with reader on it (403 like any read; a validation is no write, so not
 * counted as a refused one). */
static bool validate_reader_or_reply(struct api_call *call, const char *ns)
{
	if (!call->who.id[0] ||
	    optreg_principal_allows(&call->who, OPTREG_ROLE_READER, ns))
		return true;
	api_problem(call, OPTREG_EDENIED, NULL,
		    "role reader on namespace %s is required to validate "
		    "against its policies and tags",
		    ns);
	return false;
}

API_HANDLER(handle_validate)
static void handle_validate(struct api_call *call)
{
	struct optreg_http_req *req = call->req;
	struct optreg_checked_config cc;

	if (!api_authenticate_or_reply(call) ||
	    (!call->who.id[0] &&
	     !api_authorize_or_reply(call, OPTREG_ROLE_READER, "*")) ||
	    !api_json_content_type_or_reply(call))
		return;
	const char *tag = optreg_http_query(req, "tag");
	if (tag && !api_tag_or_reply(call, tag, false))
		return;
	optreg_checked_config_init(&cc);
	if (optreg_config_load_checked(&cc, NULL, req->body.data, req->body.len,
				       OPTREG_CONFIG_JSON, &call->errs) < 0)
		api_fail(call, OPTREG_EINVAL, &call->errs);
	else if (validate_reader_or_reply(call, cc.cfg.namespace_))
		validate_policies(call, &cc, tag);
	optreg_checked_config_release(&cc);
}

const struct optreg_http_route api_versions_routes[] = {
	API_ROUTE("POST", "/v1/configs/{ns}/{name}/versions", handle_submit),
	API_ROUTE("GET", "/v1/configs/{ns}/{name}/versions",
		  handle_list_versions),
	API_ROUTE_CACHED("GET", "/v1/configs/{ns}/{name}/versions/{n}",
			 handle_get_version),
	API_ROUTE("POST", "/v1/configs/{ns}/{name}/versions/{n}/yank",
		  handle_yank),
};
const size_t api_versions_nroutes =
	sizeof(api_versions_routes) / sizeof(api_versions_routes[0]);

const struct optreg_http_route api_validate_routes[] = {
	API_ROUTE("POST", "/v1/validate", handle_validate),
};
const size_t api_validate_nroutes =
	sizeof(api_validate_routes) / sizeof(api_validate_routes[0]);
