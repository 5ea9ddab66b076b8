/*
 * registry/api/tags.c: tags of a config: list, resolve, move.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cache_keys.h"
#include "../svc/tags.h"
#include "api.h"

API_HANDLER(handle_list_tags)
static void handle_list_tags(struct api_call *call)
{
	const char *const *p = call->req->params;
	struct optreg_tag_list list;

	if (!api_config_params_or_reply(call) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_READER, p[0]))
		return;
	int rc = optreg_tags_list(call->reg, p[0], p[1], &list, &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < list.len; i++) {
		const struct optreg_tag *t = &list.items[i];
		json_array_append_new(
			a, json_pack("{s:s, s:i, s:s, s:s, s:s}", "tag", t->tag,
				     "version", t->version, "digest", t->digest,
				     "updated_at", t->updated_at, "updated_by",
				     t->updated_by));
	}
	optreg_tag_list_release(&list);
	optreg_http_json(call->req, 200, json_pack("{s:o}", "tags", a));
}

/* A cached tag is the version it points at, as an int. */
static int load_tag(struct api_call *call, void *arg, struct optreg_buf *value)
{
	const char *const *p = call->req->params;
	int version = 0;

	(void)arg;
	int rc = optreg_tags_resolve(call->reg, p[0], p[1], p[2], &version,
				     &call->errs);
	if (rc == 0)
		optreg_buf_add(value, &version, sizeof(version));
	return rc;
}

API_HANDLER_CACHED(handle_get_tag)
static void handle_get_tag(struct api_call *call)
{
	const char *const *p = call->req->params;
	struct optreg_buf key = OPTREG_BUF_INIT, val = OPTREG_BUF_INIT;
	int version = 0;

	if (!api_config_params_or_reply(call) ||
	    !api_tag_or_reply(call, p[2], false) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_READER, p[0]))
		return;
	optreg_cache_key_tag(&key, p[0], p[1], p[2]);
	int rc = api_cached(call, key.data, &val, load_tag, NULL);
	if (rc) {
		api_fail(call, rc, &call->errs);
	} else if (val.len != sizeof(version)) {
		api_problem(call, OPTREG_EINTERNAL, NULL, "bad cache entry");
	} else {
		memcpy(&version, val.data, sizeof(version));
		api_version_reply(call, p[0], p[1], version);
	}
	optreg_buf_release(&key);
	optreg_buf_release(&val);
}

/* Checks the body {version, expected_version, reason, link}; answers 400
 * otherwise. */
static bool move_or_reply(struct api_call *call, int *version, int *expected,
			  const char **reason, const char **link)
{
	struct optreg_errors *errs = &call->errs;
	json_t *v = json_object_get(call->body, "version");
	json_t *e = json_object_get(call->body, "expected_version");
	const char *key;
	json_t *val;

	json_object_foreach(call->body, key, val)
	{
		if (strcmp(key, "version") && strcmp(key, "expected_version") &&
		    strcmp(key, "reason") && strcmp(key, "link"))
			optreg_errors_add(errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > INT_MAX)
		optreg_errors_add(errs, OPTREG_EINVAL, "type", "version",
				  "must be a positive integer");
	if (!e)
		optreg_errors_add(errs, OPTREG_EINVAL, "required",
				  "expected_version",
				  "is required: the version the tag points "
				  "at now, or null for a new tag");
	else if (!json_is_null(e) &&
		 (!json_is_integer(e) || json_integer_value(e) < 1 ||
		  json_integer_value(e) > INT_MAX))
		optreg_errors_add(errs, OPTREG_EINVAL, "type",
				  "expected_version",
				  "must be a positive integer or null");
	*reason = api_body_text(call, "reason", 1024);
	*link = api_body_text(call, "link", 512);
	if (errs->len) {
		api_problem(call, OPTREG_EBADREQUEST, errs,
			    "the tag move request is malformed");
		return false;
	}
	*version = (int)json_integer_value(v);
	*expected = json_is_null(e) ? -1 : (int)json_integer_value(e);
	return true;
}

static const struct api_fail_as move_fail_as[] = {
	{OPTREG_EDENIED, OPTREG_EDENIED, NULL, true},
	{OPTREG_EBADREQUEST, OPTREG_EBADREQUEST, NULL, true},
	{OPTREG_EGATE, OPTREG_EGATE, NULL, true},
	{0, 0, NULL, false},
};

/* Runs a move (or rollback) and answers as docs/api.md says. */
static void move_and_reply(struct api_call *call, struct optreg_tag_move_req *m)
{
	struct optreg_tag_move_result res;

	m->approver = optreg_principal_allows(&call->who, OPTREG_ROLE_APPROVER,
					      m->ns);
	optreg_tag_move_result_init(&res);
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_tags_move(call->reg, &who, m, &res, &call->errs);
	if (rc == OPTREG_EPOLICY) {
		char what[400];
		snprintf(what, sizeof(what), "moving %s/%s@%s to version %d",
			 m->ns, m->name, m->tag, res.version);
		api_policy_denied(call, what, &res.policy, &call->errs);
		api_policy_denied_audit(call, m->ns, m->name, &res.policy);
	} else if (rc) {
		api_fail_as(call, rc, &call->errs, move_fail_as);
		if (rc == OPTREG_EDENIED && call->errs.len) {
			/* Recorded as write.denied like any 403, saying
			 * which gate refused. */
			char target[400];
			snprintf(target, sizeof(target), "%s/%s@%s", m->ns,
				 m->name, m->tag);
			api_audit_denied(
				call, target,
				json_pack("{s:s, s:s, s:s, s:s}", "code",
					  "forbidden", "required_role",
					  "approver", "namespace", m->ns,
					  "gate", call->errs.items[0].message));
		}
		if (res.gate && call->req->status == 409)
			api_reply_add(call, "gate", json_incref(res.gate));
	} else {
		/* The notification reaches every replica, this one included;
		 * drop the local copy now so this client reads its own
		 * write. */
		struct optreg_buf k = OPTREG_BUF_INIT;
		optreg_cache_key_tag(&k, m->ns, m->name, m->tag);
		optreg_registry_on_notify(k.data, call->reg);
		optreg_buf_release(&k);
		json_t *pj = optreg_policy_result_to_json(&res.policy);
		json_t *prev = res.previous < 0 ? json_null()
						: json_integer(res.previous);
		optreg_http_json(
			call->req, 200,
			json_pack("{s:s, s:I, s:o, s:O, s:O, s:b}", "tag",
				  m->tag, "version", (json_int_t)res.version,
				  "previous_version", prev, "violations",
				  json_object_get(pj, "violations"), "gate",
				  res.gate ? res.gate : json_null(), "rollback",
				  m->rollback));
		json_decref(pj);
	}
	optreg_tag_move_result_release(&res);
}

API_HANDLER(handle_put_tag)
static void handle_put_tag(struct api_call *call)
{
	const char *ns = call->req->params[0], *name = call->req->params[1];
	const char *tag = call->req->params[2];
	struct optreg_tag_move_req m = {ns,   name, tag,   0,	 -1,
					NULL, NULL, false, false};

	if (!api_config_params_or_reply(call) ||
	    !api_tag_or_reply(call, tag, true) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_SUBMITTER, ns) ||
	    !api_json_body_or_reply(call) ||
	    !move_or_reply(call, &m.version, &m.expected, &m.reason, &m.link))
		return;
	move_and_reply(call, &m);
}

API_HANDLER(handle_rollback)
static void handle_rollback(struct api_call *call)
{
	const char *ns = call->req->params[0], *name = call->req->params[1];
	const char *tag = call->req->params[2];
	struct optreg_tag_move_req m = {ns,   name, tag,  0,	-1,
					NULL, NULL, true, false};
	const char *key;
	json_t *val;

	if (!api_config_params_or_reply(call) ||
	    !api_tag_or_reply(call, tag, true) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_SUBMITTER, ns) ||
	    !api_json_body_or_reply(call))
		return;
	json_object_foreach(call->body, key, val)
	{
		if (strcmp(key, "reason") && strcmp(key, "link"))
			optreg_errors_add(&call->errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	m.reason = api_body_text(call, "reason", 1024);
	m.link = api_body_text(call, "link", 512);
	if (call->errs.len) {
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "the rollback request is malformed");
		return;
	}
	move_and_reply(call, &m);
}

static json_t *history_next(json_t *last)
{
	return json_pack("{s:I}", "before",
			 json_integer_value(json_object_get(last, "id")));
}

API_HANDLER(handle_tag_history)
static void handle_tag_history(struct api_call *call)
{
	const char *const *p = call->req->params;
	json_t *state, *moves;
	long long before = 0;
	int size;

	if (!api_config_params_or_reply(call) ||
	    !api_tag_or_reply(call, p[2], false) ||
	    !api_page_size_or_reply(call, &size) ||
	    !api_page_token_or_reply(call, &state))
		return;
	if (state) {
		json_t *b = json_object_get(state, "before");
		before = json_is_integer(b) ? json_integer_value(b) : 0;
		json_decref(state);
		if (before < 1) {
			api_page_token_bad(call);
			return;
		}
	}
	if (!api_allow_or_reply(call, OPTREG_ROLE_READER, p[0]))
		return;
	int rc = optreg_tags_history(call->reg, p[0], p[1], p[2], before,
				     size + 1, &moves, &call->errs);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	api_page_reply_new(call, "moves", moves, size, history_next);
	api_reply_add(call, "tag", json_string(p[2]));
}

const struct optreg_http_route api_tags_routes[] = {
	API_ROUTE("GET", "/v1/configs/{ns}/{name}/tags", handle_list_tags),
	API_ROUTE_CACHED("GET", "/v1/configs/{ns}/{name}/tags/{tag}",
			 handle_get_tag),
	API_ROUTE("PUT", "/v1/configs/{ns}/{name}/tags/{tag}", handle_put_tag),
	API_ROUTE("GET", "/v1/configs/{ns}/{name}/tags/{tag}/history",
		  handle_tag_history),
	API_ROUTE("POST", "/v1/configs/{ns}/{name}/tags/{tag}/rollback",
		  handle_rollback),
};
const size_t api_tags_nroutes =
	sizeof(api_tags_routes) / sizeof(api_tags_routes[0]);
