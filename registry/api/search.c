/*
 * registry/api/search.c: GET /v1/configs, configs the caller may read.
 */
#include <stdlib.h>
#include <string.h>

#include "../svc/versions.h"
#include "../../common/jsonutil.h"
#include "api.h"

static json_t *configs_json(const struct optreg_config_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->len; i++) {
		const struct optreg_config_summary *c = &l->items[i];
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:i, s:s?, s:s}", "namespace",
				     c->ns, "name", c->name, "latest_version",
				     c->latest_version, "latest_digest",
				     c->latest_digest, "updated_at",
				     c->updated_at));
	}
	return a;
}

static json_t *search_next(json_t *last)
{
	return json_pack("{s:O, s:O}", "ns", json_object_get(last, "namespace"),
			 "name", json_object_get(last, "name"));
}

/* Checks namespace= and q=; answers 400 otherwise. */
static bool filters_or_reply(struct api_call *call, const char *ns,
			     const char *q)
{
	if (ns && !api_namespace_or_reply(call, ns, 80))
		return false;
	if (q && strlen(q) > 128) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "q must be at most 128 characters");
		return false;
	}
	return true;
}

static void search(struct api_call *call, const char *ns, const char *q,
		   json_t *state, int size)
{
	const char *after_ns = NULL, *after_name = NULL;
	const char **patterns = NULL;
	size_t npatterns = 0;
	struct optreg_config_list list;

	if (state) {
		after_ns = optreg_json_str(state, "ns");
		after_name = optreg_json_str(state, "name");
		if (!after_ns || !after_name) {
			api_page_token_bad(call);
			return;
		}
	}
	if (!api_authenticate_or_reply(call))
		return;
	if (call->who.id[0]) {
		/* Every grant implies reader in its namespaces. */
		patterns = optreg_xcalloc(call->who.ngrants + 1,
					  sizeof(*patterns));
		for (size_t i = 0; i < call->who.ngrants; i++)
			patterns[npatterns++] = call->who.grants[i].pattern;
	} else if (!api_authorize_or_reply(call, OPTREG_ROLE_READER, "*")) {
		return;
	}
	int rc = optreg_versions_search(call->reg, patterns, npatterns, ns, q,
					after_ns, after_name, size + 1, &list,
					&call->errs);
	free(patterns);
	if (rc) {
		api_fail(call, rc, &call->errs);
		return;
	}
	api_page_reply_new(call, "configs", configs_json(&list), size,
			   search_next);
	optreg_config_list_release(&list);
}

API_HANDLER(handle_search)
static void handle_search(struct api_call *call)
{
	const char *ns = optreg_http_query(call->req, "namespace");
	const char *q = optreg_http_query(call->req, "q");
	json_t *state = NULL;
	int size;

	if (!api_page_size_or_reply(call, &size) ||
	    !filters_or_reply(call, ns, q) ||
	    !api_page_token_or_reply(call, &state))
		return;
	search(call, ns, q, state, size);
	json_decref(state);
}

const struct optreg_http_route api_search_routes[] = {
	API_ROUTE("GET", "/v1/configs", handle_search),
};
const size_t api_search_nroutes =
	sizeof(api_search_routes) / sizeof(api_search_routes[0]);
