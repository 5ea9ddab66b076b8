/*
 * registry/handlers.c: the REST routes of docs/api.md.
 *
 * Handlers are thin: check the path parameters, authenticate and authorize,
 * parse the body, call a store function (store.h) on a pooled connection,
 * and answer. Every failure answers with a problem (http.h) and writes
 * nothing: each write is a single store call, hence a single transaction.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../common/dsse.h"
#include "../validator/config.h"
#include "../validator/jcs.h"
#include "audit.h"
#include "auth.h"
#include "jobs.h"
#include "registry.h"
#include "store.h"

#define PRINCIPAL_CACHE_SECONDS 60
#define MAX_PAGE		100
#define DEFAULT_PAGE		20

/* ------------------------------------------------------------------ */
/* Answers */

static void log_internal(struct optreg_http_req *req,
			 const struct optreg_errors *errs)
{
	for (size_t i = 0; errs && i < errs->len; i++) {
		json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "level",
					 "error", "msg", "internal error",
					 "request_id", req->request_id, "error",
					 errs->items[i].message);
		char *s = json_dumps(line, JSON_COMPACT);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(line);
	}
}

/* Answers the problem matching a store/auth result code. */
static void fail(struct optreg_http_req *req, int rc,
		 const struct optreg_errors *errs)
{
	const struct optreg_error *first =
		errs && errs->len ? &errs->items[0] : NULL;
	const char *msg = first ? first->message : "request failed";

	switch (rc) {
	case OPTREG_ENOTFOUND:
		optreg_http_problem(req, 404, "not_found", NULL, "%s", msg);
		break;
	case OPTREG_ECONFLICT:
		optreg_http_problem(req, 409,
				    first && !strcmp(first->rule, "yanked")
					    ? "yanked"
					    : "conflict",
				    errs, "%s", msg);
		break;
	case OPTREG_EUNAVAILABLE:
		log_internal(req, errs);
		optreg_http_set_header(req, "Retry-After", "1");
		optreg_http_problem(req, 503, "unavailable", NULL,
				    "the database is unavailable; retry "
				    "shortly");
		break;
	case OPTREG_EINVAL:
		optreg_http_problem(req, 422, "invalid_config", errs,
				    "the config has %zu error%s",
				    errs ? errs->len : 0,
				    errs && errs->len == 1 ? "" : "s");
		break;
	default:
		log_internal(req, errs);
		optreg_http_problem(req, 500, "internal", NULL,
				    "internal error; quote request id %s",
				    req->request_id);
		break;
	}
}

static struct registry *reg(struct optreg_http_req *req)
{
	return req->ctx;
}

/* The cache, or NULL while the invalidation listener is down: another
 * replica's change could then go unnoticed, so nothing is cached. */
static struct optreg_cache *cache_of(struct optreg_http_req *req)
{
	struct registry *r = reg(req);

	return r->listener && optreg_db_listen_healthy(r->listener) ? r->cache
								    : NULL;
}

/* Borrows a connection or answers 503. */
static PGconn *db_get(struct optreg_http_req *req)
{
	PGconn *c = optreg_db_acquire(reg(req)->db, reg(req)->db_wait_ms);

	if (!c) {
		optreg_http_set_header(req, "Retry-After", "1");
		optreg_http_problem(req, 503, "unavailable", NULL,
				    "the database is unavailable; retry "
				    "shortly");
	}
	return c;
}

static void db_put(struct optreg_http_req *req, PGconn *c, int rc)
{
	optreg_db_release(reg(req)->db, c, rc == OPTREG_EUNAVAILABLE);
}

/* ------------------------------------------------------------------ */
/* Parameters */

static bool name_ok(const char *s, size_t max, bool dots)
{
	size_t n = strlen(s);

	if (n < 1 || n > max ||
	    !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || c == '-' ||
		      (dots && (c == '.' || c == '_'))))
			return false;
	}
	return true;
}

/* Checks {ns} and {name}; answers 400 when malformed. */
static bool check_config_params(struct optreg_http_req *req)
{
	if (!name_ok(req->params[0], 63, false)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "namespace \"%s\" is not a valid name",
				    req->params[0]);
		return false;
	}
	if (!name_ok(req->params[1], 128, true)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "config name \"%s\" is not a valid name",
				    req->params[1]);
		return false;
	}
	return true;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '-'))
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool version_param(struct optreg_http_req *req, const char *s,
			  int *version)
{
	long v;

	if (!parse_int(s, 1, INT_MAX, &v)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "version \"%.40s\" must be an integer from "
				    "1 to %d",
				    s, INT_MAX);
		return false;
	}
	*version = (int)v;
	return true;
}

static bool tag_ok(const char *s)
{
	bool digits = true;

	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			digits = false;
	return !digits && name_ok(s, 64, true);
}

static bool page_size(struct optreg_http_req *req, int *size)
{
	const char *s = optreg_http_query(req, "page_size");
	long v = DEFAULT_PAGE;

	if (s && !parse_int(s, 1, MAX_PAGE, &v)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "page_size must be an integer from 1 to "
				    "%d (got \"%s\")",
				    MAX_PAGE, s);
		return false;
	}
	*size = (int)v;
	return true;
}

/* Page tokens: URL-safe base64 of a small JSON object, opaque to clients. */
static char *page_token_encode(json_t *state)
{
	char *s = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
	struct optreg_buf b = OPTREG_BUF_INIT;

	json_decref(state);
	optreg_base64_encode(s, strlen(s), &b);
	free(s);
	for (size_t i = 0; i < b.len; i++) {
		if (b.data[i] == '+')
			b.data[i] = '-';
		else if (b.data[i] == '/')
			b.data[i] = '_';
	}
	while (b.len && b.data[b.len - 1] == '=')
		b.data[--b.len] = '\0';
	return optreg_buf_detach(&b, NULL);
}

/* Returns the decoded state (new reference), NULL when absent, and answers
 * 400 (setting *bad) when malformed. */
static json_t *page_token_decode(struct optreg_http_req *req, bool *bad)
{
	const char *s = optreg_http_query(req, "page_token");
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *state = NULL;

	*bad = false;
	if (!s || !*s)
		return NULL;
	if (strlen(s) < 512 && optreg_base64_decode(s, strlen(s), &b) == 0)
		state = json_loadb(b.data, b.len, 0, NULL);
	optreg_buf_release(&b);
	if (!json_is_object(state)) {
		json_decref(state);
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "page_token is not one this server "
				    "issued");
		*bad = true;
		return NULL;
	}
	return state;
}

/* Answers 415 unless the body is declared as JSON (a missing
 * Content-Type is taken as JSON, as curl --data-binary sends none). */
static bool json_content_type(struct optreg_http_req *req)
{
	const char *ct = optreg_http_header(req, "Content-Type");

	if (!ct || !strncasecmp(ct, "application/json", 16) ||
	    !strncasecmp(ct, "application/vnd.dsse+json", 25))
		return true;
	optreg_http_problem(req, 415, "unsupported_media_type", NULL,
			    "expected an application/json body (got "
			    "\"%.64s\")",
			    ct);
	return false;
}

/* Parses the request body as a JSON object or answers 400/415. */
static json_t *json_body(struct optreg_http_req *req)
{
	json_error_t jerr;

	if (!json_content_type(req))
		return NULL;
	json_t *j = json_loadb(req->body.data, req->body.len,
			       JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_error *e = optreg_errors_add(
			&errs, OPTREG_ESYNTAX, "syntax", "", "%s",
			j ? "body must be a JSON object" : jerr.text);
		e->line = j ? 0 : jerr.line;
		e->col = j ? 0 : jerr.column;
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the body is not a JSON object");
		optreg_errors_release(&errs);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ------------------------------------------------------------------ */
/* Authentication and authorization */

static void principal_anonymous(struct optreg_principal *p)
{
	memset(p, 0, sizeof(*p));
	p->name = optreg_xstrdup("anonymous");
}

/*
 * Principals are cached in a flat binary form (header, grants, name) rather
 * than JSON: a cache hit is on every authenticated read, so decoding must
 * cost a few copies, not a parse.
 */
struct principal_header {
	char id[OPTREG_TOKEN_ID_LEN + 1];
	time_t expires_at;
	size_t ngrants;
};

static void principal_encode(const struct optreg_principal *p,
			     struct optreg_buf *out)
{
	struct principal_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.id, p->id, sizeof(h.id));
	h.expires_at = p->expires_at;
	h.ngrants = p->ngrants;
	optreg_buf_add(out, &h, sizeof(h));
	optreg_buf_add(out, p->grants, p->ngrants * sizeof(*p->grants));
	optreg_buf_add(out, p->name, strlen(p->name) + 1);
}

static bool principal_decode(const struct optreg_buf *in,
			     struct optreg_principal *p)
{
	struct principal_header h;

	memset(p, 0, sizeof(*p));
	if (in->len < sizeof(h))
		return false;
	memcpy(&h, in->data, sizeof(h));
	size_t glen = h.ngrants * sizeof(*p->grants);
	if (h.ngrants > 64 || in->len < sizeof(h) + glen + 1 ||
	    in->data[in->len - 1] != '\0')
		return false;
	memcpy(p->id, h.id, sizeof(p->id));
	p->id[OPTREG_TOKEN_ID_LEN] = '\0';
	p->expires_at = h.expires_at;
	p->ngrants = h.ngrants;
	p->grants = optreg_xcalloc(h.ngrants, sizeof(*p->grants));
	memcpy(p->grants, in->data + sizeof(h), glen);
	p->name = optreg_xstrdup(in->data + sizeof(h) + glen);
	return true;
}

/* The audit log's view of the caller (all borrowed from `p` and `req`). */
static struct optreg_audit_actor actor_of(const struct optreg_http_req *req,
					  const struct optreg_principal *p)
{
	struct optreg_audit_actor a = {p->name, p->id, req->request_id};

	return a;
}

/*
 * Records a refused write in the audit log ("write.denied"), in a
 * transaction of its own: refusals change nothing else. Reads are not
 * recorded, nor are 401s (no identity to record; they are in the access
 * log). Failing to record does not change the answer.
 */
static void audit_denied(struct optreg_http_req *req,
			 const struct optreg_principal *p, const char *target,
			 json_t *details)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_audit_actor who = actor_of(req, p);
	PGconn *c = optreg_db_acquire(reg(req)->db, reg(req)->db_wait_ms);

	json_object_set_new(details, "method", json_string(req->method));
	json_object_set_new(details, "route",
			    json_string(req->route ? req->route : ""));
	json_object_set_new(details, "status", json_integer(req->status));
	if (!c) {
		json_decref(details);
		return;
	}
	int rc = optreg_audit_append_alone(c, &who, "write.denied", target,
					   details, &errs);
	optreg_db_release(reg(req)->db, c, rc == OPTREG_EUNAVAILABLE);
	if (rc)
		log_internal(req, &errs);
	optreg_errors_release(&errs);
}

static bool is_write(const struct optreg_http_req *req)
{
	return strcmp(req->method, "GET") && strcmp(req->method, "HEAD");
}

/* Names the caller in the access log (copied: the principal is released
 * before the log line is written). */
static void log_principal(struct optreg_http_req *req,
			  const struct optreg_principal *p)
{
	snprintf(req->principal_buf, sizeof(req->principal_buf), "%s", p->name);
	req->principal = req->principal_buf;
}

static void unauthorized(struct optreg_http_req *req, const char *detail)
{
	optreg_http_set_header(req, "WWW-Authenticate",
			       "Bearer realm=\"optreg\"");
	optreg_http_problem(req, 401, "unauthorized", NULL, "%s", detail);
}

/*
 * Identifies the caller. Without an Authorization header the caller is
 * anonymous (no grants). Returns false after answering 401/503/500.
 * Principals are cached for a minute by token hash; a revocation anywhere
 * drops them at once (the "token:" notification).
 */
static bool authenticate(struct optreg_http_req *req,
			 struct optreg_principal *p)
{
	const char *h = optreg_http_header(req, "Authorization");
	struct optreg_cache *cache = cache_of(req);
	unsigned char hash[32];
	char key[4 + 64 + 1];

	if (!h) {
		principal_anonymous(p);
		return true;
	}
	if (strncasecmp(h, "Bearer ", 7) || !optreg_token_well_formed(h + 7)) {
		unauthorized(req, "the Authorization header does not hold a "
				  "well-formed optreg bearer token");
		return false;
	}
	optreg_token_hash(h + 7, hash);
	memcpy(key, "tok:", 4);
	for (int i = 0; i < 32; i++)
		snprintf(key + 4 + 2 * i, 3, "%02x", hash[i]);

	struct optreg_buf cached = OPTREG_BUF_INIT;
	if (optreg_cache_get(cache, key, &cached, NULL)) {
		bool ok = principal_decode(&cached, p);
		optreg_buf_release(&cached);
		if (ok && (!p->expires_at || p->expires_at > time(NULL))) {
			log_principal(req, p);
			return true;
		}
		optreg_principal_release(p);
	}
	optreg_buf_release(&cached);

	uint64_t gen = optreg_cache_generation(cache);
	PGconn *c = db_get(req);
	if (!c)
		return false;
	const char *why;
	int rc = optreg_token_lookup(c, hash, p, &why);
	db_put(req, c, rc);
	if (rc == OPTREG_EUNAUTH) {
		unauthorized(req, "the token is unknown, expired or revoked");
		return false;
	}
	if (rc) {
		fail(req, rc, NULL);
		return false;
	}
	struct optreg_buf enc = OPTREG_BUF_INIT;
	time_t until = time(NULL) + PRINCIPAL_CACHE_SECONDS;
	if (p->expires_at && p->expires_at < until)
		until = p->expires_at;
	principal_encode(p, &enc);
	optreg_cache_put(cache, key, enc.data, enc.len, NULL, until, gen);
	optreg_buf_release(&enc);
	log_principal(req, p);
	return true;
}

/* Answers 401 or 403 unless `p` may act as `role` in `ns` (NULL: a global
 * right). Anonymous callers may read when the server allows it. */
static bool authorize(struct optreg_http_req *req,
		      const struct optreg_principal *p, enum optreg_role role,
		      const char *ns)
{
	if (!p->id[0]) {
		if (role == OPTREG_ROLE_READER && reg(req)->anonymous_read)
			return true;
		unauthorized(req, "this request needs a bearer token");
		return false;
	}
	if (optreg_principal_allows(p, role, ns))
		return true;
	if (ns)
		optreg_http_problem(req, 403, "forbidden", NULL,
				    "role %s on namespace %s is required",
				    optreg_role_name(role), ns);
	else
		optreg_http_problem(req, 403, "forbidden", NULL,
				    "role %s on all namespaces (\"*\") is "
				    "required",
				    optreg_role_name(role));
	if (is_write(req))
		audit_denied(req, p, ns ? ns : req->path,
			     json_pack("{s:s, s:s, s:s}", "code", "forbidden",
				       "required_role", optreg_role_name(role),
				       "namespace", ns ? ns : "*"));
	return false;
}

/* authenticate + authorize in one step for the common case. */
static bool allow(struct optreg_http_req *req, struct optreg_principal *p,
		  enum optreg_role role, const char *ns)
{
	if (!authenticate(req, p))
		return false;
	if (authorize(req, p, role, ns))
		return true;
	optreg_principal_release(p);
	return false;
}

/* ------------------------------------------------------------------ */
/* Submit */

static void submit_answer(struct optreg_http_req *req, const char *ns,
			  const char *name,
			  const struct optreg_submit_result *res,
			  const char *digest)
{
	char loc[512];

	snprintf(loc, sizeof(loc), "/v1/configs/%s/%s/versions/%d", ns, name,
		 res->version);
	optreg_http_set_header(req, "Location", loc);
	optreg_http_set_header(req, "X-Optreg-Digest", digest);
	optreg_http_json(
		req, res->created ? 201 : 200,
		json_pack("{s:s, s:s, s:i, s:s, s:b, s:s, s:o*}", "namespace",
			  ns, "name", name, "version", res->version, "digest",
			  digest, "created", res->created, "created_at",
			  res->created_at, "receipt",
			  res->receipt ? json_loads(res->receipt, 0, NULL)
				       : NULL));
}

/*
 * Checks an envelope's payload: a valid config, already canonical, naming
 * the URL's namespace and name. Fills `digest`; answers and returns false
 * otherwise.
 */
static bool check_payload(struct optreg_http_req *req,
			  const struct optreg_dsse *env, const char *ns,
			  const char *name, char digest[OPTREG_DIGEST_LEN + 1])
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_config cfg = {0};
	struct optreg_doc doc;
	bool ok = false;

	optreg_doc_init(&doc);
	if (optreg_doc_load_json(&doc, env->payload.data, env->payload.len,
				 &errs) < 0 ||
	    optreg_config_validate(&doc, &cfg, &errs) < 0) {
		fail(req, OPTREG_EINVAL, &errs);
		goto out;
	}
	if (optreg_jcs_serialize(doc.root, &canon, &errs) < 0) {
		fail(req, OPTREG_EINVAL, &errs);
		goto out;
	}
	if (canon.len != env->payload.len ||
	    memcmp(canon.data, env->payload.data, canon.len)) {
		struct optreg_error *e = optreg_errors_add(
			&errs, OPTREG_EINVAL, "canonical", "payload",
			"payload is not RFC 8785 canonical JSON");
		optreg_error_set_hint(e, "sign and send the output of "
					 "`optreg canonicalize`");
		optreg_http_problem(req, 400, "not_canonical", &errs,
				    "the payload must be the canonical form "
				    "of the config (%zu bytes), not %zu bytes "
				    "of other JSON",
				    canon.len, env->payload.len);
		goto out;
	}
	if (strcmp(cfg.namespace_, ns) || strcmp(cfg.name, name)) {
		optreg_http_problem(req, 422, "name_mismatch", NULL,
				    "the config names %s/%s but was sent to "
				    "%s/%s",
				    cfg.namespace_, cfg.name, ns, name);
		goto out;
	}
	optreg_digest(canon.data, canon.len, digest);
	ok = true;
out:
	optreg_config_release(&cfg);
	optreg_doc_release(&doc);
	optreg_buf_release(&canon);
	optreg_errors_release(&errs);
	return ok;
}

static void handle_submit(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	struct optreg_dsse env;
	char digest[OPTREG_DIGEST_LEN + 1];
	const char *ns = req->params[0], *name = req->params[1];

	optreg_dsse_init(&env);
	if (!check_config_params(req) ||
	    !allow(req, &p, OPTREG_ROLE_SUBMITTER, ns))
		goto out;
	if (!json_content_type(req))
		goto out;
	if (optreg_dsse_parse(&env, req->body.data, req->body.len, &errs) < 0) {
		optreg_http_problem(req, 400, "bad_envelope", &errs,
				    "the body is not a DSSE envelope");
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_CONFIG_PAYLOAD_TYPE)) {
		optreg_http_problem(req, 400, "bad_envelope", NULL,
				    "payloadType must be \"%s\" (got "
				    "\"%.100s\")",
				    OPTREG_CONFIG_PAYLOAD_TYPE,
				    env.payload_type);
		goto out;
	}
	if (!check_payload(req, &env, ns, name, digest))
		goto out;

	/* Store the envelope in RFC 8785 form, so what is served is exactly
	 * what was checked (no duplicate or unknown fields) and receipts can
	 * name it by hash. */
	struct optreg_buf envelope = OPTREG_BUF_INIT;
	json_t *ej = optreg_dsse_to_json(&env);
	int rc = optreg_jcs_serialize(ej, &envelope, &errs);
	json_decref(ej);
	if (rc) {
		fail(req, OPTREG_EINTERNAL, &errs);
		optreg_buf_release(&envelope);
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c) {
		optreg_buf_release(&envelope);
		goto out;
	}
	struct optreg_submit_result res;
	struct optreg_audit_actor who = actor_of(req, &p);
	rc = optreg_submit_signed(c, &reg(req)->key, ns, name, digest, &env,
				  envelope.data, &who, &res, &errs);
	db_put(req, c, rc);
	optreg_buf_release(&envelope);
	if (rc == OPTREG_EDENIED) {
		optreg_http_problem(req, 403, "signature_refused", &errs,
				    "the envelope's signatures are not enough "
				    "to accept this config");
		json_t *why = json_array();
		for (size_t i = 0; i < errs.len; i++)
			json_array_append_new(
				why, json_pack("{s:s, s:s}", "path",
					       errs.items[i].path, "rule",
					       errs.items[i].rule));
		char target[300];
		snprintf(target, sizeof(target), "%s/%s", ns, name);
		audit_denied(req, &p, target,
			     json_pack("{s:s, s:s, s:o}", "code",
				       "signature_refused", "digest", digest,
				       "reasons", why));
	} else if (rc) {
		fail(req, rc, &errs);
	} else {
		submit_answer(req, ns, name, &res, digest);
	}
	optreg_submit_result_release(&res);
out:
	optreg_dsse_release(&env);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

/* ------------------------------------------------------------------ */
/* Reads */

/*
 * Answers with version ns/name@version's document, from the cache when
 * possible. Version documents change only when yanked, and a yank
 * notification drops them.
 */
static void answer_version(struct optreg_http_req *req, const char *ns,
			   const char *name, int version)
{
	struct optreg_cache *cache = cache_of(req);
	struct optreg_buf key = OPTREG_BUF_INIT, meta = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_buf_addf(&key, "ver:%s/%s@%d", ns, name, version);
	if (optreg_cache_get(cache, key.data, &req->resp, &meta)) {
		req->status = 200;
		optreg_http_set_header(req, "X-Optreg-Digest", meta.data);
		goto out;
	}
	uint64_t gen = optreg_cache_generation(cache);
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	struct optreg_version v;
	int rc = optreg_store_get_version(c, ns, name, version, &v, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	optreg_http_set_header(req, "X-Optreg-Digest", v.digest);
	req->status = 200;
	optreg_version_render(&v, &req->resp);
	optreg_cache_put(cache, key.data, req->resp.data, req->resp.len,
			 v.digest, 0, gen);
	optreg_version_release(&v);
out:
	optreg_buf_release(&key);
	optreg_buf_release(&meta);
	optreg_errors_release(&errs);
}

static void handle_get_version(struct optreg_http_req *req)
{
	struct optreg_principal p = {0};
	int version;

	if (!check_config_params(req) ||
	    !version_param(req, req->params[2], &version) ||
	    !allow(req, &p, OPTREG_ROLE_READER, req->params[0]))
		return;
	answer_version(req, req->params[0], req->params[1], version);
	optreg_principal_release(&p);
}

static void handle_get_tag(struct optreg_http_req *req)
{
	struct optreg_cache *cache = cache_of(req);
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf key = OPTREG_BUF_INIT, val = OPTREG_BUF_INIT;
	struct optreg_principal p = {0};
	const char *ns = req->params[0], *name = req->params[1];
	int version = 0;

	if (!check_config_params(req))
		return;
	if (!tag_ok(req->params[2])) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "\"%s\" is not a valid tag name",
				    req->params[2]);
		return;
	}
	if (!allow(req, &p, OPTREG_ROLE_READER, ns))
		return;
	optreg_buf_addf(&key, "tag:%s/%s/%s", ns, name, req->params[2]);
	if (optreg_cache_get(cache, key.data, &val, NULL)) {
		version = atoi(val.data);
	} else {
		uint64_t gen = optreg_cache_generation(cache);
		PGconn *c = db_get(req);
		if (!c)
			goto out;
		int rc = optreg_store_resolve_tag(c, ns, name, req->params[2],
						  &version, &errs);
		db_put(req, c, rc);
		if (rc) {
			fail(req, rc, &errs);
			goto out;
		}
		char vs[16];
		int n = snprintf(vs, sizeof(vs), "%d", version);
		optreg_cache_put(cache, key.data, vs, (size_t)n + 1, NULL, 0,
				 gen);
	}
	answer_version(req, ns, name, version);
out:
	optreg_principal_release(&p);
	optreg_buf_release(&key);
	optreg_buf_release(&val);
	optreg_errors_release(&errs);
}

static bool digest_ok(const char *s)
{
	if (strlen(s) != OPTREG_DIGEST_LEN || strncmp(s, "sha256:", 7))
		return false;
	for (const char *p = s + 7; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

/* True when If-None-Match lists `etag` (or is "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	if (!inm)
		return false;
	for (const char *p = inm; *p;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p == '*')
			return true;
		if (!strncmp(p, etag, n) &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}

static void handle_get_digest(struct optreg_http_req *req)
{
	struct optreg_cache *cache = cache_of(req);
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf key = OPTREG_BUF_INIT, meta = OPTREG_BUF_INIT;
	struct optreg_principal p = {0};
	const char *digest = req->params[0];
	char etag[OPTREG_DIGEST_LEN + 3];
	PGconn *c = NULL;

	if (!digest_ok(digest)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "\"%.80s\" is not a digest; expected "
				    "sha256: and 64 lowercase hex digits",
				    digest);
		return;
	}
	/* Authorization needs the namespace, which the cached metadata
	 * holds: "ns/name@version yanked". */
	if (!authenticate(req, &p))
		return;
	/* Without a token, refuse before looking: a 404 would tell an
	 * anonymous caller which digests exist. */
	if (!p.id[0] && !reg(req)->anonymous_read) {
		unauthorized(req, "this request needs a bearer token");
		optreg_principal_release(&p);
		return;
	}
	optreg_buf_addf(&key, "dig:%s", digest);
	struct optreg_buf body = OPTREG_BUF_INIT;
	if (!optreg_cache_get(cache, key.data, &body, &meta)) {
		uint64_t gen = optreg_cache_generation(cache);
		struct optreg_version v;
		c = db_get(req);
		if (!c)
			goto out;
		int rc = optreg_store_get_digest(c, digest, &v, &errs);
		db_put(req, c, rc);
		if (rc) {
			fail(req, rc, &errs);
			goto out;
		}
		optreg_buf_add(&body, v.payload.data, v.payload.len);
		optreg_buf_addf(&meta, "%s/%s@%d %d", v.ns, v.name, v.version,
				v.yanked);
		optreg_cache_put(cache, key.data, body.data, body.len,
				 meta.data, 0, gen);
		optreg_version_release(&v);
	}
	char *space = strrchr(meta.data, ' ');
	char *slash = strchr(meta.data, '/');
	if (!space || !slash) {
		optreg_http_problem(req, 500, "internal", NULL,
				    "bad cache entry");
		goto out;
	}
	*space = '\0';
	*slash = '\0';
	if (!authorize(req, &p, OPTREG_ROLE_READER, meta.data))
		goto out;
	*slash = '/';
	snprintf(etag, sizeof(etag), "\"%s\"", digest);
	optreg_http_set_header(req, "ETag", etag);
	optreg_http_set_header(req, "Cache-Control",
			       "public, max-age=31536000, immutable");
	optreg_http_set_header(req, "X-Optreg-Version", meta.data);
	if (space[1] == '1')
		optreg_http_set_header(req, "X-Optreg-Yanked", "true");
	if (etag_matches(optreg_http_header(req, "If-None-Match"), etag)) {
		req->status = 304;
		goto out;
	}
	req->status = 200;
	optreg_buf_add(&req->resp, body.data, body.len);
out:
	optreg_buf_release(&body);
	optreg_buf_release(&key);
	optreg_buf_release(&meta);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_list_versions(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	json_t *list = NULL, *state;
	int size, before = 0;
	bool bad;

	if (!check_config_params(req) || !page_size(req, &size))
		return;
	state = page_token_decode(req, &bad);
	if (bad)
		return;
	if (state) {
		json_t *b = json_object_get(state, "before");
		before = json_is_integer(b) ? (int)json_integer_value(b) : 0;
		json_decref(state);
		if (before < 1) {
			optreg_http_problem(req, 400, "bad_request", NULL,
					    "page_token is not one this "
					    "server issued");
			return;
		}
	}
	if (!allow(req, &p, OPTREG_ROLE_READER, req->params[0]))
		return;
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	/* One more than asked tells whether there is a next page. */
	int rc = optreg_store_list_versions(c, req->params[0], req->params[1],
					    before, size + 1, &list, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	json_t *next = json_null();
	if (json_array_size(list) > (size_t)size) {
		json_array_remove(list, (size_t)size);
		json_t *last = json_array_get(list, (size_t)size - 1);
		char *tok = page_token_encode(json_pack(
			"{s:I}", "before",
			json_integer_value(json_object_get(last, "version"))));
		next = json_string(tok);
		free(tok);
	}
	optreg_http_json(req, 200,
			 json_pack("{s:o, s:o}", "versions", list,
				   "next_page_token", next));
	list = NULL;
out:
	json_decref(list);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_list_tags(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	json_t *list = NULL;

	if (!check_config_params(req) ||
	    !allow(req, &p, OPTREG_ROLE_READER, req->params[0]))
		return;
	PGconn *c = db_get(req);
	if (c) {
		int rc = optreg_store_list_tags(c, req->params[0],
						req->params[1], &list, &errs);
		db_put(req, c, rc);
		if (rc)
			fail(req, rc, &errs);
		else
			optreg_http_json(req, 200,
					 json_pack("{s:o}", "tags", list));
	}
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_search(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	const char *ns = optreg_http_query(req, "namespace");
	const char *q = optreg_http_query(req, "q");
	const char **patterns = NULL;
	const char *after_ns = NULL, *after_name = NULL;
	json_t *list = NULL, *state = NULL;
	size_t npatterns = 0;
	int size;
	bool bad;

	if (!page_size(req, &size))
		return;
	if (ns && !name_ok(ns, 63, false)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "namespace \"%.80s\" is not a valid name",
				    ns);
		return;
	}
	if (q && strlen(q) > 128) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "q must be at most 128 characters");
		return;
	}
	state = page_token_decode(req, &bad);
	if (bad)
		return;
	if (state) {
		after_ns = json_string_value(json_object_get(state, "ns"));
		after_name = json_string_value(json_object_get(state, "name"));
		if (!after_ns || !after_name) {
			json_decref(state);
			optreg_http_problem(req, 400, "bad_request", NULL,
					    "page_token is not one this "
					    "server issued");
			return;
		}
	}
	if (!authenticate(req, &p))
		goto out;
	if (p.id[0]) {
		/* Every grant implies reader in its namespaces. */
		patterns = optreg_xcalloc(p.ngrants + 1, sizeof(*patterns));
		for (size_t i = 0; i < p.ngrants; i++)
			patterns[npatterns++] = p.grants[i].pattern;
	} else if (!authorize(req, &p, OPTREG_ROLE_READER, "*")) {
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int rc = optreg_store_search(c, patterns, npatterns, ns, q, after_ns,
				     after_name, size + 1, &list, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	json_t *next = json_null();
	if (json_array_size(list) > (size_t)size) {
		json_array_remove(list, (size_t)size);
		json_t *last = json_array_get(list, (size_t)size - 1);
		char *tok = page_token_encode(json_pack(
			"{s:O, s:O}", "ns", json_object_get(last, "namespace"),
			"name", json_object_get(last, "name")));
		next = json_string(tok);
		free(tok);
	}
	optreg_http_json(req, 200,
			 json_pack("{s:o, s:o}", "configs", list,
				   "next_page_token", next));
	list = NULL;
out:
	json_decref(list);
	json_decref(state);
	free(patterns);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

/* ------------------------------------------------------------------ */
/* Writes: tags, yank */

static void handle_put_tag(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	const char *ns = req->params[0], *name = req->params[1];
	const char *tag = req->params[2];
	json_t *body = NULL;

	if (!check_config_params(req))
		return;
	if (!tag_ok(tag)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "\"%s\" is not a valid tag name: use 1 to "
				    "64 of a-z, 0-9, '.', '_', '-', not all "
				    "digits",
				    tag);
		return;
	}
	if (!allow(req, &p, OPTREG_ROLE_SUBMITTER, ns))
		return;
	body = json_body(req);
	if (!body)
		goto out;
	json_t *v = json_object_get(body, "version");
	json_t *e = json_object_get(body, "expected_version");
	const char *key;
	json_t *val;
	json_object_foreach(body, key, val)
	{
		if (strcmp(key, "version") && strcmp(key, "expected_version"))
			optreg_errors_add(&errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > INT_MAX)
		optreg_errors_add(&errs, OPTREG_EINVAL, "type", "version",
				  "must be a positive integer");
	if (!e)
		optreg_errors_add(&errs, OPTREG_EINVAL, "required",
				  "expected_version",
				  "is required: the version the tag points "
				  "at now, or null for a new tag");
	else if (!json_is_null(e) &&
		 (!json_is_integer(e) || json_integer_value(e) < 1 ||
		  json_integer_value(e) > INT_MAX))
		optreg_errors_add(&errs, OPTREG_EINVAL, "type",
				  "expected_version",
				  "must be a positive integer or null");
	if (errs.len) {
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the tag move request is malformed");
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int previous = -1;
	struct optreg_audit_actor who = actor_of(req, &p);
	int rc = optreg_store_move_tag(
		c, ns, name, tag, (int)json_integer_value(v),
		json_is_null(e) ? -1 : (int)json_integer_value(e), &who,
		&previous, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	/* The notification reaches every replica, this one included; drop
	 * the local copy now so this client reads its own write. */
	struct optreg_buf k = OPTREG_BUF_INIT;
	optreg_buf_addf(&k, "tag:%s/%s/%s", ns, name, tag);
	optreg_registry_on_notify(k.data, reg(req));
	optreg_buf_release(&k);
	json_t *prev = previous < 0 ? json_null() : json_integer(previous);
	optreg_http_json(req, 200,
			 json_pack("{s:s, s:I, s:o}", "tag", tag, "version",
				   json_integer_value(v), "previous_version",
				   prev));
out:
	json_decref(body);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_yank(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	const char *ns = req->params[0], *name = req->params[1];
	char digest[OPTREG_DIGEST_LEN + 1];
	json_t *body = NULL;
	int version;

	if (!check_config_params(req) ||
	    !version_param(req, req->params[2], &version) ||
	    !allow(req, &p, OPTREG_ROLE_APPROVER, ns))
		return;
	body = json_body(req);
	if (!body)
		goto out;
	const char *reason = json_string_value(json_object_get(body, "reason"));
	size_t chars = 0;
	for (const char *c = reason; c && *c; c++)
		chars += ((unsigned char)*c & 0xC0) != 0x80;
	if (!reason || chars < 1 || chars > 1024 ||
	    json_object_size(body) != 1) {
		optreg_errors_add(&errs, OPTREG_EINVAL, "required", "reason",
				  "a reason of 1 to 1024 characters is "
				  "required, and nothing else");
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the yank request is malformed");
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	bool already = false;
	struct optreg_audit_actor who = actor_of(req, &p);
	int rc = optreg_store_yank(c, ns, name, version, reason, &who, &already,
				   digest, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	/* Drop this process's copies now (the notification does it for the
	 * other replicas), then answer with the version as it is now. */
	optreg_registry_on_notify(digest, reg(req));
	(void)already;
	answer_version(req, ns, name, version);
out:
	json_decref(body);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

/* ------------------------------------------------------------------ */
/* Validate, tokens, readiness */

static void handle_validate(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_principal p = {0};
	struct optreg_doc doc;
	char digest[OPTREG_DIGEST_LEN + 1];

	optreg_doc_init(&doc);
	if (!authenticate(req, &p))
		return;
	if (!p.id[0] && !authorize(req, &p, OPTREG_ROLE_READER, "*"))
		goto out;
	if (!json_content_type(req))
		goto out;
	if (optreg_doc_load_json(&doc, req->body.data, req->body.len, &errs) <
		    0 ||
	    optreg_config_validate(&doc, NULL, &errs) < 0 ||
	    optreg_jcs_serialize(doc.root, &canon, &errs) < 0) {
		fail(req, OPTREG_EINVAL, &errs);
		goto out;
	}
	optreg_digest(canon.data, canon.len, digest);
	optreg_http_json(req, 200,
			 json_pack("{s:b, s:s}", "valid", 1, "digest", digest));
out:
	optreg_doc_release(&doc);
	optreg_buf_release(&canon);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_create_token(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	struct optreg_grant *grants = NULL;
	json_t *body = NULL;
	size_t n = 0;

	if (!allow(req, &p, OPTREG_ROLE_ADMIN, NULL))
		return;
	body = json_body(req);
	if (!body)
		goto out;
	const char *principal =
		json_string_value(json_object_get(body, "principal"));
	json_t *gs = json_object_get(body, "grants");
	json_t *exp = json_object_get(body, "expires_in");
	if (!principal || !*principal || strlen(principal) > 200)
		optreg_errors_add(&errs, OPTREG_EINVAL, "required", "principal",
				  "must be a string of 1 to 200 characters");
	if (!json_is_array(gs) || json_array_size(gs) < 1 ||
	    json_array_size(gs) > 32)
		optreg_errors_add(&errs, OPTREG_EINVAL, "required", "grants",
				  "must be an array of 1 to 32 {role, "
				  "namespace} objects");
	if (exp && !json_is_null(exp) &&
	    (!json_is_integer(exp) || json_integer_value(exp) < 1))
		optreg_errors_add(&errs, OPTREG_EINVAL, "type", "expires_in",
				  "must be a positive number of seconds or "
				  "null");
	grants = optreg_xcalloc(json_array_size(gs) + 1, sizeof(*grants));
	for (size_t i = 0; json_is_array(gs) && i < json_array_size(gs); i++) {
		json_t *g = json_array_get(gs, i);
		const char *role =
			json_string_value(json_object_get(g, "role"));
		const char *pat =
			json_string_value(json_object_get(g, "namespace"));
		char path[32];
		snprintf(path, sizeof(path), "grants[%zu]", i);
		int r = role ? optreg_role_parse(role) : -1;
		if (r < 0) {
			optreg_errors_add(&errs, OPTREG_EINVAL, "enum", path,
					  "role must be one of reader, "
					  "submitter, approver, runner, "
					  "auditor, admin");
			continue;
		}
		if (!pat)
			pat = "*";
		if (!optreg_pattern_valid(pat)) {
			optreg_errors_add(&errs, OPTREG_EINVAL, "pattern", path,
					  "namespace must be a name or a glob "
					  "of a-z, 0-9, '-', '*', '?'");
			continue;
		}
		grants[n].role = (enum optreg_role)r;
		snprintf(grants[n].pattern, sizeof(grants[n].pattern), "%s",
			 pat);
		n++;
	}
	if (errs.len) {
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the token request is malformed");
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];
	time_t expires_at = 0;
	struct optreg_audit_actor who = actor_of(req, &p);
	int rc = optreg_token_create(
		c, principal, grants, n,
		json_is_integer(exp) ? (long)json_integer_value(exp) : 0, &who,
		token, id, &expires_at, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	json_t *ga = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			ga, json_pack("{s:s, s:s}", "role",
				      optreg_role_name(grants[i].role),
				      "namespace", grants[i].pattern));
	json_t *ej = json_null();
	if (expires_at) {
		char ts[32];
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ",
			 gmtime(&expires_at));
		ej = json_string(ts);
	}
	optreg_http_json(req, 201,
			 json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", id,
				   "token", token, "principal", principal,
				   "grants", ga, "expires_at", ej));
	OPENSSL_cleanse(token, sizeof(token));
out:
	free(grants);
	json_decref(body);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_delete_token(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};

	if (!allow(req, &p, OPTREG_ROLE_ADMIN, NULL))
		return;
	PGconn *c = db_get(req);
	if (c) {
		struct optreg_audit_actor who = actor_of(req, &p);
		int rc = optreg_token_revoke(c, req->params[0], &who, &errs);
		db_put(req, c, rc);
		if (rc) {
			fail(req, rc, &errs);
		} else {
			optreg_cache_invalidate_prefix(reg(req)->cache, "tok:");
			req->status = 204;
		}
	}
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_readyz(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int pending = 0;
	PGconn *c = optreg_db_acquire(reg(req)->db, reg(req)->db_wait_ms);

	if (!c) {
		optreg_http_problem(req, 503, "unavailable", NULL,
				    "the database is unreachable");
		return;
	}
	int rc = optreg_migrate_pending(c, reg(req)->migrations_dir, &pending,
					&errs);
	db_put(req, c, rc);
	if (rc)
		optreg_http_problem(req, 503, "unavailable", NULL,
				    "cannot read the migration state");
	else if (pending)
		optreg_http_problem(req, 503, "unavailable", NULL,
				    "%d migration%s pending; run "
				    "`optreg-server migrate`",
				    pending, pending == 1 ? " is" : "s are");
	else
		optreg_http_json(req, 200, json_pack("{s:s}", "status", "ok"));
	optreg_errors_release(&errs);
}

/* ------------------------------------------------------------------ */
/* Keys, namespace settings, registry keys */

/* Runs `fn` on a pooled connection and answers `status` with its JSON
 * result (stolen), or the matching problem. */
static void answer_store(struct optreg_http_req *req, unsigned status,
			 int (*fn)(PGconn *c, void *arg, json_t **out,
				   struct optreg_errors *errs),
			 void *arg)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = NULL;
	PGconn *c = db_get(req);

	if (!c)
		return;
	int rc = fn(c, arg, &out, &errs);
	db_put(req, c, rc);
	if (rc == OPTREG_EINVAL)
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the request is malformed");
	else if (rc)
		fail(req, rc, &errs);
	else
		optreg_http_json(req, status, out);
	optreg_errors_release(&errs);
}

struct key_add_args {
	const char *pem, *principal;
	const struct optreg_audit_actor *who;
	json_t *namespaces;
};

static int do_key_add(PGconn *c, void *arg, json_t **out,
		      struct optreg_errors *errs)
{
	struct key_add_args *a = arg;

	return optreg_keys_add(c, a->pem, a->principal, a->namespaces, a->who,
			       out, errs);
}

static void handle_key_add(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	json_t *body = NULL;

	if (!allow(req, &p, OPTREG_ROLE_ADMIN, NULL))
		return;
	body = json_body(req);
	if (!body)
		goto out;
	struct optreg_audit_actor who = actor_of(req, &p);
	struct key_add_args a = {
		json_string_value(json_object_get(body, "public_key")),
		json_string_value(json_object_get(body, "principal")), &who,
		json_object_get(body, "namespaces")};
	const char *key;
	json_t *val;
	json_object_foreach(body, key, val)
	{
		if (strcmp(key, "public_key") && strcmp(key, "principal") &&
		    strcmp(key, "namespaces"))
			optreg_errors_add(&errs, OPTREG_EINVAL,
					  "additional_properties", key,
					  "unknown field");
	}
	if (!a.pem || strlen(a.pem) > 4096)
		optreg_errors_add(&errs, OPTREG_EINVAL, "required",
				  "public_key",
				  "must be an Ed25519 public key in PEM "
				  "(SubjectPublicKeyInfo) form");
	if (!a.principal || !*a.principal || strlen(a.principal) > 200)
		optreg_errors_add(&errs, OPTREG_EINVAL, "required", "principal",
				  "must be a string of 1 to 200 characters");
	if (errs.len) {
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the key registration is malformed");
		goto out;
	}
	answer_store(req, 201, do_key_add, &a);
out:
	json_decref(body);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static int do_key_list(PGconn *c, void *arg, json_t **out,
		       struct optreg_errors *errs)
{
	json_t *list;
	int rc = optreg_keys_list(c, arg, &list, errs);

	if (rc == 0)
		*out = json_pack("{s:o}", "keys", list);
	return rc;
}

/* Public keys are listed to any authenticated caller, and to anonymous
 * ones when reads are open. */
static void handle_key_list(struct optreg_http_req *req)
{
	struct optreg_principal p = {0};

	if (!authenticate(req, &p))
		return;
	if (p.id[0] || authorize(req, &p, OPTREG_ROLE_READER, "*"))
		answer_store(req, 200, do_key_list,
			     (void *)optreg_http_query(req, "principal"));
	optreg_principal_release(&p);
}

static int do_key_get(PGconn *c, void *arg, json_t **out,
		      struct optreg_errors *errs)
{
	return optreg_keys_get(c, arg, out, errs);
}

static void handle_key_get(struct optreg_http_req *req)
{
	struct optreg_principal p = {0};

	if (!authenticate(req, &p))
		return;
	if (p.id[0] || authorize(req, &p, OPTREG_ROLE_READER, "*"))
		answer_store(req, 200, do_key_get, (void *)req->params[0]);
	optreg_principal_release(&p);
}

struct key_revoke_args {
	const char *keyid;
	const struct optreg_audit_actor *who;
};

static int do_key_revoke(PGconn *c, void *arg, json_t **out,
			 struct optreg_errors *errs)
{
	struct key_revoke_args *a = arg;

	return optreg_keys_revoke(c, a->keyid, a->who, out, errs);
}

static void handle_key_revoke(struct optreg_http_req *req)
{
	struct optreg_principal p = {0};

	if (!allow(req, &p, OPTREG_ROLE_ADMIN, NULL))
		return;
	struct optreg_audit_actor who = actor_of(req, &p);
	struct key_revoke_args a = {req->params[0], &who};
	answer_store(req, 200, do_key_revoke, &a);
	optreg_principal_release(&p);
}

static int do_ns_get(PGconn *c, void *arg, json_t **out,
		     struct optreg_errors *errs)
{
	return optreg_ns_settings_get(c, arg, out, errs);
}

static void handle_ns_get(struct optreg_http_req *req)
{
	struct optreg_principal p = {0};

	if (!name_ok(req->params[0], 63, false)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "namespace \"%s\" is not a valid name",
				    req->params[0]);
		return;
	}
	if (!allow(req, &p, OPTREG_ROLE_READER, req->params[0]))
		return;
	answer_store(req, 200, do_ns_get, (void *)req->params[0]);
	optreg_principal_release(&p);
}

struct ns_put_args {
	const char *ns;
	const struct optreg_audit_actor *who;
	int threshold;
};

static int do_ns_put(PGconn *c, void *arg, json_t **out,
		     struct optreg_errors *errs)
{
	struct ns_put_args *a = arg;

	return optreg_ns_settings_put(c, a->ns, a->threshold, a->who, out,
				      errs);
}

static void handle_ns_put(struct optreg_http_req *req)
{
	struct optreg_principal p = {0};
	json_t *body = NULL;

	if (!name_ok(req->params[0], 63, false)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "namespace \"%s\" is not a valid name",
				    req->params[0]);
		return;
	}
	if (!allow(req, &p, OPTREG_ROLE_ADMIN, NULL))
		return;
	body = json_body(req);
	if (!body)
		goto out;
	json_t *t = json_object_get(body, "signature_threshold");
	if (json_object_size(body) != 1 || !json_is_integer(t) ||
	    json_integer_value(t) < 1 || json_integer_value(t) > 16) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		optreg_errors_add(&errs, OPTREG_EINVAL, "type",
				  "signature_threshold",
				  "must be an integer from 1 to 16, and the "
				  "only field");
		optreg_http_problem(req, 400, "bad_request", &errs,
				    "the namespace settings are malformed");
		optreg_errors_release(&errs);
		goto out;
	}
	struct optreg_audit_actor who = actor_of(req, &p);
	struct ns_put_args a = {req->params[0], &who,
				(int)json_integer_value(t)};
	answer_store(req, 200, do_ns_put, &a);
out:
	json_decref(body);
	optreg_principal_release(&p);
}

static int do_registry_keys(PGconn *c, void *arg, json_t **out,
			    struct optreg_errors *errs)
{
	json_t *list;
	int rc = optreg_registry_keys_list(c, &list, errs);

	(void)arg;
	if (rc == 0)
		*out = json_pack("{s:o}", "keys", list);
	return rc;
}

/* Public keys only, needed to check receipts: no token required. */
static void handle_registry_keys(struct optreg_http_req *req)
{
	answer_store(req, 200, do_registry_keys, NULL);
}

/* ------------------------------------------------------------------ */
/* Audit log */

/* The audit log spans every namespace: auditor (or admin) on "*". */
static bool allow_audit(struct optreg_http_req *req, struct optreg_principal *p)
{
	return allow(req, p, OPTREG_ROLE_AUDITOR, NULL);
}

static bool query_u64(struct optreg_http_req *req, const char *name,
		      bool required, uint64_t dflt, uint64_t *out)
{
	const char *s = optreg_http_query(req, name);
	char *end;

	*out = dflt;
	if (!s) {
		if (!required)
			return true;
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "query parameter %s is required", name);
		return false;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-') {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "%s must be a non-negative integer (got "
				    "\"%.40s\")",
				    name, s);
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

static json_t *hash_json(const unsigned char *h)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_base64_encode(h, OPTREG_HASH_LEN, &b);
	json_t *j = json_string(b.data);
	optreg_buf_release(&b);
	return j;
}

static void handle_audit_checkpoint(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	char *note = NULL;
	uint64_t size;

	if (!allow_audit(req, &p))
		return;
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int rc = optreg_audit_checkpoint_latest(c, &note, &size, &errs);
	db_put(req, c, rc);
	if (rc) {
		fail(req, rc, &errs);
	} else if (!note) {
		optreg_http_problem(req, 404, "not_found", NULL,
				    "no checkpoint has been signed yet; POST "
				    "/v1/audit/checkpoint makes one");
	} else {
		req->status = 200;
		req->content_type = "text/plain; charset=utf-8";
		optreg_buf_adds(&req->resp, note);
	}
out:
	free(note);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_audit_checkpoint_make(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	bool made = false;

	if (!allow_audit(req, &p))
		return;
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int rc = optreg_audit_checkpoint_make(
		c, &reg(req)->key, reg(req)->audit_origin, &made, &errs);
	db_put(req, c, rc);
	optreg_principal_release(&p);
	if (rc) {
		fail(req, rc, &errs);
		goto out;
	}
	handle_audit_checkpoint(req);
	if (req->status == 200 && made)
		req->status = 201;
out:
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

/* True for an RFC 3339 date-time that exists: YYYY-MM-DDTHH:MM:SS, an
 * optional fraction, and Z or a numeric offset. PostgreSQL would refuse
 * the others with an error that is the client's, not ours. */
static bool rfc3339_ok(const char *t)
{
	int y, mo, d, h, mi, sec, n = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	if (strlen(t) > 40 ||
	    sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
		   &n) != 6 ||
	    n != 19)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return false;
	const char *p = t + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0';
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && p[3] == ':' &&
	    isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5]) &&
	    p[6] == '\0')
		return (p[1] - '0') * 10 + (p[2] - '0') < 24 &&
		       (p[4] - '0') * 10 + (p[5] - '0') < 60;
	return false;
}

static void handle_audit_entries(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	struct optreg_audit_filter f = {0};
	uint64_t start, end, size;

	if (!query_u64(req, "start", false, 0, &start) ||
	    !query_u64(req, "end", false, UINT64_MAX, &end) ||
	    !query_u64(req, "page_size", false, 100, &size))
		return;
	if (size < 1 || size > 1000) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "page_size must be from 1 to 1000");
		return;
	}
	f.actor = optreg_http_query(req, "actor");
	f.action = optreg_http_query(req, "action");
	f.target = optreg_http_query(req, "target");
	f.since = optreg_http_query(req, "since");
	f.until = optreg_http_query(req, "until");
	for (int i = 0; i < 2; i++) {
		const char *t = i ? f.until : f.since;
		if (t && !rfc3339_ok(t)) {
			optreg_http_problem(req, 400, "bad_request", NULL,
					    "%s must be an RFC 3339 time (got "
					    "\"%.40s\")",
					    i ? "until" : "since", t);
			return;
		}
	}
	f.start = start > INT64_MAX ? INT64_MAX : (int64_t)start;
	f.end = end == UINT64_MAX ? -1 : (int64_t)end;
	f.limit = (int)size;
	if (!allow_audit(req, &p))
		return;
	PGconn *c = db_get(req);
	if (c) {
		int rc = optreg_audit_entries(c, &f, &req->resp, &errs);
		db_put(req, c, rc);
		if (rc) {
			optreg_buf_reset(&req->resp);
			fail(req, rc, &errs);
		} else {
			req->status = 200;
		}
	}
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_audit_inclusion(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], root;
	uint64_t index, size;
	size_t len = 0;

	if (!query_u64(req, "index", true, 0, &index) ||
	    !query_u64(req, "size", true, 0, &size) || !allow_audit(req, &p))
		return;
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int rc = optreg_audit_inclusion(c, index, size, proof, &len, &errs);
	if (rc == 0)
		rc = optreg_audit_root(c, size, root, &errs);
	db_put(req, c, rc);
	if (rc == OPTREG_EINVAL) {
		optreg_http_problem(req, 400, "bad_request", &errs, "%s",
				    errs.items[0].message);
	} else if (rc) {
		fail(req, rc, &errs);
	} else {
		json_t *h = json_array();
		for (size_t i = 0; i < len; i++)
			json_array_append_new(h, hash_json(proof[i]));
		optreg_http_json(req, 200,
				 json_pack("{s:I, s:I, s:o, s:o}", "index",
					   (json_int_t)index, "size",
					   (json_int_t)size, "root",
					   hash_json(root), "hashes", h));
	}
out:
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_audit_consistency(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF];
	uint64_t from, to;
	size_t len = 0;

	if (!query_u64(req, "from", true, 0, &from) ||
	    !query_u64(req, "to", true, 0, &to) || !allow_audit(req, &p))
		return;
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int rc = optreg_audit_consistency(c, from, to, proof, &len, &errs);
	db_put(req, c, rc);
	if (rc == OPTREG_EINVAL) {
		optreg_http_problem(req, 400, "bad_request", &errs, "%s",
				    errs.items[0].message);
	} else if (rc) {
		fail(req, rc, &errs);
	} else {
		json_t *h = json_array();
		for (size_t i = 0; i < len; i++)
			json_array_append_new(h, hash_json(proof[i]));
		optreg_http_json(req, 200,
				 json_pack("{s:I, s:I, s:o}", "from",
					   (json_int_t)from, "to",
					   (json_int_t)to, "hashes", h));
	}
out:
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

/* ------------------------------------------------------------------ */
/* Jobs and verdicts */

#define LEASE_DEFAULT 300
#define LEASE_MAX     3600

static bool parse_job_id(struct optreg_http_req *req, long long *id)
{
	long v;

	if (!parse_int(req->params[0], 1, LONG_MAX, &v)) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "job id \"%.40s\" is not a positive "
				    "integer",
				    req->params[0]);
		return false;
	}
	*id = v;
	return true;
}

/* Reads "lease_seconds" from a body (default LEASE_DEFAULT). */
static bool lease_seconds(struct optreg_http_req *req, json_t *body, int *out)
{
	json_t *v = json_object_get(body, "lease_seconds");

	*out = LEASE_DEFAULT;
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > LEASE_MAX) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "lease_seconds must be an integer from 1 "
				    "to %d",
				    LEASE_MAX);
		return false;
	}
	*out = (int)json_integer_value(v);
	return true;
}

/*
 * Authenticates a runner: a token with a runner (or admin) grant in some
 * namespace. Leases go only to jobs in those namespaces; heartbeats and
 * verdicts then need the job's secret lease token, which only the lessee
 * has. Returns false after answering 401/403.
 */
static bool allow_runner(struct optreg_http_req *req,
			 struct optreg_principal *p)
{
	if (!authenticate(req, p))
		return false;
	if (!p->id[0]) {
		unauthorized(req, "this request needs a bearer token");
		optreg_principal_release(p);
		return false;
	}
	for (size_t i = 0; i < p->ngrants; i++)
		if (p->grants[i].role == OPTREG_ROLE_RUNNER ||
		    p->grants[i].role == OPTREG_ROLE_ADMIN)
			return true;
	optreg_http_problem(req, 403, "forbidden", NULL,
			    "role runner is required");
	optreg_principal_release(p);
	return false;
}

static void handle_job_lease(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	const char **patterns = NULL;
	json_t *body = NULL, *job = NULL;
	size_t n = 0;
	int secs;

	if (!allow_runner(req, &p))
		return;
	/* A runner leases jobs in the namespaces its runner grants cover. */
	patterns = optreg_xcalloc(p.ngrants + 1, sizeof(*patterns));
	for (size_t i = 0; i < p.ngrants; i++)
		if (p.grants[i].role == OPTREG_ROLE_RUNNER ||
		    p.grants[i].role == OPTREG_ROLE_ADMIN)
			patterns[n++] = p.grants[i].pattern;
	body = req->body.len ? json_body(req) : json_object();
	if (!body || !lease_seconds(req, body, &secs))
		goto out;
	const char *runner = json_string_value(json_object_get(body, "runner"));
	if (!runner || !*runner || strlen(runner) > 200)
		runner = p.name;
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	struct optreg_audit_actor who = actor_of(req, &p);
	int rc = optreg_jobs_lease(c, patterns, n, runner, secs, &who, &job,
				   &errs);
	db_put(req, c, rc);
	if (rc == OPTREG_ENOTFOUND)
		req->status = 204;
	else if (rc)
		fail(req, rc, &errs);
	else
		optreg_http_json(req, 200, json_pack("{s:o}", "job", job));
out:
	free(patterns);
	json_decref(body);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_job_heartbeat(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	json_t *body = NULL, *out = NULL;
	long long id;
	int secs;

	if (!parse_job_id(req, &id) || !allow_runner(req, &p))
		return;
	body = json_body(req);
	if (!body || !lease_seconds(req, body, &secs))
		goto out;
	const char *token =
		json_string_value(json_object_get(body, "lease_token"));
	if (!token) {
		optreg_http_problem(req, 400, "bad_request", NULL,
				    "lease_token is required");
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	int rc = optreg_jobs_heartbeat(c, id, token, secs, &out, &errs);
	db_put(req, c, rc);
	if (rc == OPTREG_ECONFLICT)
		optreg_http_problem(req, 409, "lease_lost", &errs, "%s",
				    errs.items[0].message);
	else if (rc)
		fail(req, rc, &errs);
	else
		optreg_http_json(req, 200, out);
out:
	json_decref(body);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_job_verdict(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_principal p = {0};
	struct optreg_dsse env;
	json_t *out = NULL;
	long long id;

	optreg_dsse_init(&env);
	if (!parse_job_id(req, &id) || !allow_runner(req, &p))
		goto out;
	if (!json_content_type(req))
		goto out;
	if (optreg_dsse_parse(&env, req->body.data, req->body.len, &errs) < 0) {
		optreg_http_problem(req, 400, "bad_envelope", &errs,
				    "the body is not a DSSE envelope");
		goto out;
	}
	json_t *ej = optreg_dsse_to_json(&env);
	int rc = optreg_jcs_serialize(ej, &canon, &errs);
	json_decref(ej);
	if (rc) {
		fail(req, OPTREG_EINTERNAL, &errs);
		goto out;
	}
	PGconn *c = db_get(req);
	if (!c)
		goto out;
	struct optreg_audit_actor who = actor_of(req, &p);
	bool created = false;
	rc = optreg_jobs_verdict(
		c, id, optreg_http_header(req, "X-Optreg-Lease-Token"), &env,
		canon.data, &who, &created, &out, &errs);
	db_put(req, c, rc);
	if (rc == OPTREG_EDENIED)
		optreg_http_problem(req, 403, "signature_refused", &errs,
				    "the verdict's signature is not accepted");
	else if (rc == OPTREG_ECONFLICT)
		optreg_http_problem(req, 409, errs.items[0].rule, &errs, "%s",
				    errs.items[0].message);
	else if (rc == OPTREG_EINVAL)
		optreg_http_problem(req, 422, "invalid_verdict", &errs,
				    "the verdict does not fit the job");
	else if (rc)
		fail(req, rc, &errs);
	else
		optreg_http_json(req, created ? 201 : 200,
				 json_pack("{s:I, s:b, s:o}", "job_id",
					   (json_int_t)id, "created", created,
					   "verdict", out));
out:
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

static void handle_verdicts(struct optreg_http_req *req)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_principal p = {0};
	json_t *list = NULL;
	int version;

	if (!check_config_params(req) ||
	    !version_param(req, req->params[2], &version) ||
	    !allow(req, &p, OPTREG_ROLE_READER, req->params[0]))
		return;
	PGconn *c = db_get(req);
	if (c) {
		int rc = optreg_verdicts_list(c, req->params[0], req->params[1],
					      version, &list, &errs);
		db_put(req, c, rc);
		if (rc)
			fail(req, rc, &errs);
		else
			optreg_http_json(req, 200,
					 json_pack("{s:o}", "verdicts", list));
	}
	optreg_principal_release(&p);
	optreg_errors_release(&errs);
}

/* ------------------------------------------------------------------ */

const struct optreg_http_route optreg_registry_routes[] = {
	{"GET", "/readyz", handle_readyz},
	{"GET", "/v1/configs", handle_search},
	{"POST", "/v1/configs/{ns}/{name}/versions", handle_submit},
	{"GET", "/v1/configs/{ns}/{name}/versions", handle_list_versions},
	{"GET", "/v1/configs/{ns}/{name}/versions/{n}", handle_get_version},
	{"POST", "/v1/configs/{ns}/{name}/versions/{n}/yank", handle_yank},
	{"GET", "/v1/configs/{ns}/{name}/tags", handle_list_tags},
	{"GET", "/v1/configs/{ns}/{name}/tags/{tag}", handle_get_tag},
	{"PUT", "/v1/configs/{ns}/{name}/tags/{tag}", handle_put_tag},
	{"GET", "/v1/digests/{digest}", handle_get_digest},
	{"POST", "/v1/validate", handle_validate},
	{"POST", "/v1/keys", handle_key_add},
	{"GET", "/v1/keys", handle_key_list},
	{"GET", "/v1/keys/{keyid}", handle_key_get},
	{"POST", "/v1/keys/{keyid}/revoke", handle_key_revoke},
	{"GET", "/v1/namespaces/{ns}", handle_ns_get},
	{"PUT", "/v1/namespaces/{ns}", handle_ns_put},
	{"GET", "/v1/registry/keys", handle_registry_keys},
	{"GET", "/v1/audit/checkpoint", handle_audit_checkpoint},
	{"POST", "/v1/audit/checkpoint", handle_audit_checkpoint_make},
	{"GET", "/v1/audit/entries", handle_audit_entries},
	{"GET", "/v1/audit/proof/inclusion", handle_audit_inclusion},
	{"GET", "/v1/audit/proof/consistency", handle_audit_consistency},
	{"POST", "/v1/jobs/lease", handle_job_lease},
	{"POST", "/v1/jobs/{id}/heartbeat", handle_job_heartbeat},
	{"POST", "/v1/jobs/{id}/verdict", handle_job_verdict},
	{"GET", "/v1/configs/{ns}/{name}/versions/{n}/verdicts",
	 handle_verdicts},
	{"POST", "/v1/tokens", handle_create_token},
	{"DELETE", "/v1/tokens/{id}", handle_delete_token},
};
const size_t optreg_registry_nroutes =
	sizeof(optreg_registry_routes) / sizeof(optreg_registry_routes[0]);

void optreg_registry_metrics(struct optreg_buf *out, void *ctx)
{
	struct registry *r = ctx;
	int in_use, idle, size;
	uint64_t hits, misses;
	size_t entries;

	optreg_db_stats(r->db, &in_use, &idle, &size);
	optreg_cache_stats(r->cache, &hits, &misses, &entries);
	optreg_buf_addf(
		out,
		"# HELP optreg_db_pool_connections Pooled PostgreSQL "
		"connections by state.\n"
		"# TYPE optreg_db_pool_connections gauge\n"
		"optreg_db_pool_connections{state=\"in_use\"} %d\n"
		"optreg_db_pool_connections{state=\"idle\"} %d\n"
		"# HELP optreg_db_pool_size Maximum pooled connections.\n"
		"# TYPE optreg_db_pool_size gauge\n"
		"optreg_db_pool_size %d\n"
		"# HELP optreg_cache_hits_total Cache lookups that hit.\n"
		"# TYPE optreg_cache_hits_total counter\n"
		"optreg_cache_hits_total %llu\n"
		"# HELP optreg_cache_misses_total Cache lookups that missed.\n"
		"# TYPE optreg_cache_misses_total counter\n"
		"optreg_cache_misses_total %llu\n"
		"# HELP optreg_cache_entries Entries in the cache.\n"
		"# TYPE optreg_cache_entries gauge\n"
		"optreg_cache_entries %zu\n",
		in_use, idle, size, (unsigned long long)hits,
		(unsigned long long)misses, entries);
}

void optreg_registry_on_notify(const char *payload, void *ctx)
{
	struct registry *r = ctx;
	struct optreg_buf k = OPTREG_BUF_INIT;

	if (!strncmp(payload, "tag:", 4)) {
		/* The tag, and the version documents that list tags. */
		optreg_cache_invalidate(r->cache, payload);
		optreg_cache_invalidate_prefix(r->cache, "ver:");
	} else if (!strncmp(payload, "token:", 6)) {
		optreg_cache_invalidate_prefix(r->cache, "tok:");
	} else {
		/* "version:<digest>" (a yank), or a bare digest from this
		 * process: the digest entry and the version documents. */
		const char *d =
			strncmp(payload, "version:", 8) ? payload : payload + 8;
		optreg_buf_addf(&k, "dig:%s", d);
		optreg_cache_invalidate(r->cache, k.data);
		optreg_cache_invalidate_prefix(r->cache, "ver:");
	}
	optreg_buf_release(&k);
}

void optreg_registry_on_reset(void *ctx)
{
	struct registry *r = ctx;

	/* Notifications may have been missed while the listener was down. */
	optreg_cache_clear(r->cache);
}
