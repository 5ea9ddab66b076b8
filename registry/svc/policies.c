/*
 * registry/svc/policies.c: the policies and waivers service. See
 * policies.h.
 */
#include "policies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "../../common/hash.h"
#include "../../validator/jcs.h"
#include "../../validator/policy.h"
#include "../audit.h"
#include "../policy_cache.h"
#include "../registry.h"
#include "../sql.h"
#include "../store/policies.h"
#include "svc.h"

/* Loads a pushed document and checks its name. */
static int load_named(const char *name, const char *source, size_t len,
		      struct optreg_policy **out, struct optreg_errors *errs)
{
	*out = NULL;
	if (optreg_policy_load(out, NULL, source, len, errs) < 0)
		return OPTREG_EBADPOLICY;
	if (strcmp(optreg_policy_name(*out), name)) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ENAMEMISMATCH, "name_mismatch", "name",
			"the document names policy %s but was sent to %s",
			optreg_policy_name(*out), name);
		optreg_error_set_hint(e,
				      "push it to "
				      "/v1/policies/%s, or change its name",
				      optreg_policy_name(*out));
		optreg_policy_free(*out);
		*out = NULL;
		return OPTREG_ENAMEMISMATCH;
	}
	return 0;
}

static int put(PGconn *c, const struct optreg_audit_actor *who,
	       const char *name, const char *source,
	       const struct optreg_buf *canon, const char *digest,
	       const char *message, json_t **out, struct optreg_errors *errs)
{
	char cur_digest[80];
	bool deleted = false;
	int version = 0;

	int rc = optreg_sql_begin(c, errs);
	if (rc)
		return rc;
	rc = optreg_store_policy_lock(c, name, &version, &deleted, cur_digest,
				      errs);
	bool same = rc == 0 && version > 0 && !deleted &&
		    !strcmp(cur_digest, digest);
	if (rc == 0 && !same) {
		version++;
		rc = optreg_store_policy_insert(c, name, version, source,
						canon->data, digest, message,
						who->principal, errs);
		if (rc == 0)
			rc = optreg_audit_append(
				c, who, "policy.put", name,
				json_pack("{s:s, s:i, s:s, s:s}", "policy",
					  name, "version", version, "digest",
					  digest, "message", message),
				NULL, errs);
	}
	if (rc == 0)
		rc = optreg_sql_commit(c, errs);
	else
		optreg_sql_rollback(c);
	if (rc == 0)
		*out = json_pack("{s:s, s:i, s:s, s:b}", "name", name,
				 "version", version, "digest", digest,
				 "created", !same);
	return rc;
}

int optreg_policies_put(struct registry *reg,
			const struct optreg_audit_actor *who, const char *name,
			const char *source, size_t len, const char *message,
			json_t **out, struct optreg_errors *errs)
{
	struct optreg_policy *p;
	char digest[OPTREG_DIGEST_LEN + 1];

	*out = NULL;
	int rc = load_named(name, source, len, &p, errs);
	if (rc)
		return rc;
	const struct optreg_buf *canon = optreg_policy_canonical(p);
	optreg_jcs_digest(canon->data, canon->len, digest);
	PGconn *c = optreg_svc_conn(reg);
	if (!c) {
		optreg_policy_free(p);
		return OPTREG_EUNAVAILABLE;
	}
	rc = put(c, who, name, source, canon, digest, message, out, errs);
	optreg_svc_put(reg, c, rc);
	optreg_policy_free(p);
	return rc;
}

static int delete_policy(PGconn *c, const struct optreg_audit_actor *who,
			 const char *name, const char *reason, json_t **out,
			 struct optreg_errors *errs)
{
	char cur_digest[80];
	bool deleted = false;
	int version = 0;

	int rc = optreg_sql_begin(c, errs);
	if (rc)
		return rc;
	rc = optreg_store_policy_lock(c, name, &version, &deleted, cur_digest,
				      errs);
	if (rc == 0 && (version == 0 || deleted)) {
		struct optreg_error *e =
			optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found",
					  NULL, "policy %s not found", name);
		optreg_error_set_hint(e, "list the policies with GET "
					 "/v1/policies");
		rc = OPTREG_ENOTFOUND;
	}
	if (rc == 0) {
		version++;
		rc = optreg_store_policy_insert(c, name, version, NULL, NULL,
						NULL, reason, who->principal,
						errs);
	}
	if (rc == 0)
		rc = optreg_audit_append(c, who, "policy.delete", name,
					 json_pack("{s:s, s:i, s:s}", "policy",
						   name, "version", version,
						   "reason", reason),
					 NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(c, errs);
	else
		optreg_sql_rollback(c);
	if (rc == 0)
		*out = json_pack("{s:s, s:i, s:b}", "name", name, "version",
				 version, "deleted", 1);
	return rc;
}

int optreg_policies_delete(struct registry *reg,
			   const struct optreg_audit_actor *who,
			   const char *name, const char *reason, json_t **out,
			   struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c, delete_policy(c, who, name, reason, out, errs));
}

int optreg_policies_list(struct registry *reg, json_t **out,
			 struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c, optreg_store_policies_list(c, out, errs));
}

int optreg_policies_get(struct registry *reg, const char *name, int version,
			json_t **out, struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_policy_get(c, name, version, out, errs));
}

/* The namespace patterns of a loaded policy (its canonical JSON). */
static json_t *namespaces_of(const struct optreg_policy *p)
{
	const struct optreg_buf *canon = optreg_policy_canonical(p);
	json_t *doc = json_loadb(canon->data, canon->len, 0, NULL);
	json_t *ns = json_incref(json_object_get(doc, "namespaces"));

	json_decref(doc);
	return json_is_array(ns) ? ns
				 : (json_decref(ns), json_pack("[s]", "*"));
}

/* Judges each row of `rows` with policy `p` into `out`. */
static void dry_run(const struct optreg_policy *p, const json_t *rows,
		    const struct optreg_waiver *ws, size_t nw, time_t now,
		    json_t *out)
{
	json_t *denied = json_object_get(out, "denied");
	json_t *warned = json_object_get(out, "warned");
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
	{
		const char *text =
			json_string_value(json_object_get(r, "config"));
		json_t *config =
			text ? optreg_policy_config_json(text, strlen(text))
			     : NULL;
		struct optreg_policy_result res;
		if (!config)
			continue;
		optreg_policy_result_init(&res);
		struct optreg_policy_input in = {
			.namespace_ = json_string_value(
				json_object_get(r, "namespace")),
			.name = json_string_value(json_object_get(r, "name")),
			.config = config,
			.waivers = ws,
			.nwaivers = nw,
			.now = now,
		};
		optreg_policy_evaluate(&p, 1, &in, &res);
		if (res.denied || res.warned) {
			json_t *rj = optreg_policy_result_to_json(&res);
			json_t *item = json_pack(
				"{s:O, s:O, s:O, s:O, s:O}", "namespace",
				json_object_get(r, "namespace"), "name",
				json_object_get(r, "name"), "version",
				json_object_get(r, "version"), "tags",
				json_object_get(r, "tags"), "violations",
				json_object_get(rj, "violations"));
			json_array_append_new(res.denied ? denied : warned,
					      item);
			json_decref(rj);
		}
		optreg_policy_result_release(&res);
		json_decref(config);
	}
}

static int evaluate(PGconn *c, const struct optreg_policy *p, json_t **out,
		    struct optreg_errors *errs)
{
	json_t *nsj = namespaces_of(p), *rows = NULL, *wrows = NULL;
	size_t n = json_array_size(nsj), i, nw = 0;
	const char **pats = calloc(n + 1, sizeof(*pats));
	time_t now;

	for (i = 0; i < n; i++)
		pats[i] = json_string_value(json_array_get(nsj, i));
	int rc = optreg_store_policy_scope(
		c, pats, n, OPTREG_POLICY_DRY_RUN_MAX + 1, &rows, errs);
	if (rc == 0)
		rc = optreg_store_waivers_active(c, NULL, &wrows, &now, errs);
	if (rc == 0) {
		bool truncated =
			json_array_size(rows) > OPTREG_POLICY_DRY_RUN_MAX;
		if (truncated)
			json_array_remove(rows, OPTREG_POLICY_DRY_RUN_MAX);
		struct optreg_waiver *ws = optreg_policy_waivers_of(wrows, &nw);
		*out = json_object();
		json_object_set_new(*out, "policy",
				    json_string(optreg_policy_name(p)));
		json_object_set_new(
			*out, "evaluated",
			json_integer((json_int_t)json_array_size(rows)));
		json_object_set_new(*out, "denied", json_array());
		json_object_set_new(*out, "warned", json_array());
		json_object_set_new(*out, "truncated", json_boolean(truncated));
		dry_run(p, rows, ws, nw, now, *out);
		free(ws);
	}
	free(pats);
	json_decref(nsj);
	json_decref(rows);
	json_decref(wrows);
	return rc;
}

int optreg_policies_evaluate(struct registry *reg, const char *name,
			     const char *source, size_t len, json_t **out,
			     struct optreg_errors *errs)
{
	struct optreg_policy *p;

	*out = NULL;
	int rc = load_named(name, source, len, &p, errs);
	if (rc)
		return rc;
	PGconn *c = optreg_svc_conn(reg);
	if (!c) {
		optreg_policy_free(p);
		return OPTREG_EUNAVAILABLE;
	}
	rc = evaluate(c, p, out, errs);
	optreg_svc_put(reg, c, rc);
	optreg_policy_free(p);
	return rc;
}

/* ---- waivers ---- */

static int grant(PGconn *c, const struct optreg_audit_actor *who,
		 const json_t *w, json_t **out, struct optreg_errors *errs)
{
	unsigned char rnd[8];
	char id[4 + 16 + 1];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	memcpy(id, "wvr_", 4);
	optreg_hex_encode(rnd, sizeof(rnd), id + 4);
	int rc = optreg_sql_begin(c, errs);
	if (rc)
		return rc;
	rc = optreg_store_waiver_create(c, id, w, who->principal, out, errs);
	if (rc == 0)
		rc = optreg_audit_append(c, who, "waiver.grant", id,
					 json_deep_copy(*out), NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(c, errs);
	if (rc) {
		optreg_sql_rollback(c);
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int optreg_waivers_grant(struct registry *reg,
			 const struct optreg_audit_actor *who, const json_t *w,
			 json_t **out, struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c, grant(c, who, w, out, errs));
}

int optreg_waivers_list(struct registry *reg, const char *ns,
			const char *const *patterns, size_t npatterns, bool all,
			json_t **out, struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_waivers_list(c, ns, patterns, npatterns,
						 all, out, errs));
}

int optreg_waivers_get(struct registry *reg, const char *id, json_t **out,
		       struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c, optreg_store_waiver_get(c, id, out, errs));
}

static int revoke(PGconn *c, const struct optreg_audit_actor *who,
		  const char *id, const char *reason, json_t **out,
		  struct optreg_errors *errs)
{
	bool already = false;

	int rc = optreg_sql_begin(c, errs);
	if (rc)
		return rc;
	rc = optreg_store_waiver_revoke(c, id, reason, who->principal, &already,
					out, errs);
	if (rc == 0 && !already)
		rc = optreg_audit_append(
			c, who, "waiver.revoke", id,
			json_pack("{s:s, s:O, s:O, s:O, s:s}", "id", id,
				  "policy", json_object_get(*out, "policy"),
				  "rule", json_object_get(*out, "rule"),
				  "namespace",
				  json_object_get(*out, "namespace"), "reason",
				  reason),
			NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(c, errs);
	if (rc) {
		optreg_sql_rollback(c);
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int optreg_waivers_revoke(struct registry *reg,
			  const struct optreg_audit_actor *who, const char *id,
			  const char *reason, json_t **out,
			  struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c, revoke(c, who, id, reason, out, errs));
}
