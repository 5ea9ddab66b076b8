/*
 * registry/api/digests.c: GET /v1/digests/{digest}, the config bytes by
 * content address.
 */
#include <stdio.h>
#include <string.h>

#include "../cache_keys.h"
#include "../svc/versions.h"
#include "api.h"

/* A cached digest: this header (what authorization and the headers
 * need), then the canonical config bytes. */
struct digest_entry {
	char ns[64];
	char name[129];
	int version;
	bool yanked;
};

static int load_digest(struct api_call *call, void *arg,
		       struct optreg_buf *value)
{
	struct digest_entry head;
	struct optreg_version v;

	(void)arg;
	int rc = optreg_versions_get_by_digest(call->reg, call->req->params[0],
					       &v, &call->errs);
	if (rc)
		return rc;
	memset(&head, 0, sizeof(head));
	snprintf(head.ns, sizeof(head.ns), "%s", v.ns);
	snprintf(head.name, sizeof(head.name), "%s", v.name);
	head.version = v.version;
	head.yanked = v.yanked;
	optreg_buf_add(value, &head, sizeof(head));
	optreg_buf_add(value, v.payload.data, v.payload.len);
	optreg_version_release(&v);
	return 0;
}

static void digest_reply(struct api_call *call, const char *digest,
			 const struct digest_entry *head, const char *body,
			 size_t len)
{
	struct optreg_http_req *req = call->req;
	char etag[OPTREG_DIGEST_LEN + 3], ver[256];

	snprintf(etag, sizeof(etag), "\"%s\"", digest);
	snprintf(ver, sizeof(ver), "%s/%s@%d", head->ns, head->name,
		 head->version);
	optreg_http_set_header(req, "ETag", etag);
	optreg_http_set_header(req, "Cache-Control",
			       "public, max-age=31536000, immutable");
	optreg_http_set_header(req, "X-Optreg-Version", ver);
	if (head->yanked)
		optreg_http_set_header(req, "X-Optreg-Yanked", "true");
	const char *inm = optreg_http_header(req, "If-None-Match");
	if (inm && optreg_http_etag_match(inm, etag)) {
		req->status = 304;
		return;
	}
	req->status = 200;
	optreg_buf_add(&req->resp, body, len);
}

API_HANDLER_CACHED(handle_get_digest)
static void handle_get_digest(struct api_call *call)
{
	const char *digest = call->req->params[0];
	struct optreg_buf key = OPTREG_BUF_INIT, val = OPTREG_BUF_INIT;
	struct digest_entry head;

	/* Authorization needs the namespace, which the entry holds. */
	if (!api_digest_or_reply(call, digest) ||
	    !api_authenticate_or_reply(call))
		return;
	/* Without a token, refuse before looking: a 404 would tell an
	 * anonymous caller which digests exist. */
	if (!call->who.id[0] && !call->reg->anonymous_read) {
		api_unauthorized(call, "this request needs a bearer token");
		return;
	}
	optreg_cache_key_digest(&key, digest);
	int rc = api_cached(call, key.data, &val, load_digest, NULL);
	if (rc) {
		api_fail(call, rc, &call->errs);
	} else if (val.len < sizeof(head)) {
		api_problem(call, OPTREG_EINTERNAL, NULL, "bad cache entry");
	} else {
		memcpy(&head, val.data, sizeof(head));
		/* A caller who may not read the namespace gets the answer
		 * of a digest that does not exist: a 403 would name the
		 * namespace and confirm that the config is there. */
		if (call->who.id[0] &&
		    !optreg_principal_allows(&call->who, OPTREG_ROLE_READER,
					     head.ns))
			api_problem(call, OPTREG_ENOTFOUND, NULL,
				    "digest %s not found", digest);
		else if (api_authorize_or_reply(call, OPTREG_ROLE_READER,
						head.ns))
			digest_reply(call, digest, &head,
				     val.data + sizeof(head),
				     val.len - sizeof(head));
	}
	optreg_buf_release(&key);
	optreg_buf_release(&val);
}

const struct optreg_http_route api_digests_routes[] = {
	API_ROUTE_CACHED("GET", "/v1/digests/{digest}", handle_get_digest),
};
const size_t api_digests_nroutes =
	sizeof(api_digests_routes) / sizeof(api_digests_routes[0]);
