/*
 * registry/svc/versions.c: the versions service. See versions.h.
 */
#include "versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit.h"
#include "../policy_cache.h"
#include "../store/tags.h"
#include "../store/jobs.h"
#include "../store/namespaces.h"
#include "../receipts.h"
#include "../registry.h"
#include "../store/signers.h"
#include "../sql.h"
#include "svc.h"

int optreg_versions_get(struct registry *reg, const char *ns, const char *name,
			int version, struct optreg_version *out,
			struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_get_version(c, ns, name, version, out, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

int optreg_versions_get_by_digest(struct registry *reg, const char *digest,
				  struct optreg_version *out,
				  struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_get_digest(c, digest, out, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

int optreg_versions_list(struct registry *reg, const char *ns, const char *name,
			 int before, int limit, struct optreg_version_list *out,
			 struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_list_versions(c, ns, name, before, limit, out,
					    errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

int optreg_versions_yank(struct registry *reg,
			 const struct optreg_audit_actor *who, const char *ns,
			 const char *name, int version, const char *reason,
			 const char *link, bool *already,
			 char digest[OPTREG_DIGEST_LEN + 1],
			 struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_yank(c, ns, name, version, reason, link, who,
				   already, digest, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

int optreg_versions_search(struct registry *reg, const char *const *patterns,
			   size_t npatterns, const char *ns, const char *q,
			   const char *after_ns, const char *after_name,
			   int limit, struct optreg_config_list *out,
			   struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_search(c, patterns, npatterns, ns, q, after_ns,
				     after_name, limit, out, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

void optreg_submit_result_init(struct optreg_submit_result *r)
{
	memset(r, 0, sizeof(*r));
	optreg_policy_result_init(&r->policy);
}

void optreg_submit_result_release(struct optreg_submit_result *r)
{
	free(r->created_at);
	free(r->receipt);
	free(r->message);
	free(r->link);
	optreg_policy_result_release(&r->policy);
	optreg_submit_result_init(r);
}

/* The policies on a config about to be stored (no change rules). */
static int check_policies(PGconn *conn, const char *ns, const char *name,
			  const json_t *config,
			  struct optreg_policy_result *out,
			  struct optreg_errors *errs)
{
	struct optreg_policy_set *ps = NULL;
	struct optreg_policy_subject subj = {ns, name, config, NULL, NULL};

	int rc = optreg_policy_set_get(conn, &ps, errs);
	if (rc == 0)
		rc = optreg_policy_set_check(conn, ps, &subj, out, errs);
	optreg_policy_set_put(ps);
	if (rc == 0 && out->denied) {
		optreg_policy_result_denials(out, OPTREG_EPOLICY, errs);
		rc = OPTREG_EPOLICY;
	}
	return rc;
}

/* The config at tag ns/name/tag now (a new reference), or NULL. */
static int tag_config(PGconn *conn, const char *ns, const char *name,
		      const char *tag, json_t **out, struct optreg_errors *errs)
{
	struct optreg_buf payload = OPTREG_BUF_INIT;
	long long cfg;
	int current = -1;
	bool yanked;

	struct optreg_errors lerrs = OPTREG_ERRORS_INIT;

	*out = NULL;
	int rc = optreg_store_tag_peek(conn, ns, name, tag, &cfg, &current,
				       &lerrs);
	if (rc && rc != OPTREG_ENOTFOUND)
		optreg_errors_add(errs, rc, "database", NULL, "%s",
				  lerrs.len ? lerrs.items[0].message
					    : "cannot read the tag");
	optreg_errors_release(&lerrs);
	if (rc == OPTREG_ENOTFOUND)
		return 0; /* no config yet: no tag, no change rules */
	if (rc == 0 && current >= 0)
		rc = optreg_store_tag_target(conn, cfg, current, &yanked,
					     &payload, errs);
	if (rc == 0 && current >= 0 &&
	    !(*out = optreg_policy_config_json(payload.data, payload.len))) {
		/* A stored payload that does not parse is the registry's
		 * fault, not a reason to skip the change rules. */
		optreg_errors_add(
			errs, OPTREG_EINTERNAL, "internal", "tag",
			"stored version %s/%s@%d (at tag %s) does not "
			"parse as JSON",
			ns, name, current, tag);
		rc = OPTREG_EINTERNAL;
	}
	optreg_buf_release(&payload);
	return rc == OPTREG_ENOTFOUND ? 0 : rc;
}

static int evaluate(PGconn *conn, const char *ns, const char *name,
		    const json_t *config, const char *tag,
		    struct optreg_policy_result *out,
		    struct optreg_errors *errs)
{
	struct optreg_policy_set *ps = NULL;
	json_t *previous = NULL;

	int rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	if (tag)
		rc = tag_config(conn, ns, name, tag, &previous, errs);
	struct optreg_policy_subject subj = {ns, name, config, tag, previous};
	if (rc == 0)
		rc = optreg_policy_set_get(conn, &ps, errs);
	if (rc == 0)
		rc = optreg_policy_set_check(conn, ps, &subj, out, errs);
	optreg_policy_set_put(ps);
	json_decref(previous);
	optreg_sql_rollback(conn); /* read only */
	return rc;
}

int optreg_versions_evaluate(struct registry *reg, const char *ns,
			     const char *name, const json_t *config,
			     const char *tag, struct optreg_policy_result *out,
			     struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c, evaluate(c, ns, name, config, tag, out, errs));
}

/* Refuses fewer than `threshold` valid signatures (OPTREG_EDENIED). */
static int check_threshold(const struct optreg_dsse *env, const char *ns,
			   int threshold, size_t nvalid,
			   struct optreg_errors *errs)
{
	if (nvalid >= (size_t)threshold)
		return 0;
	struct optreg_error *e = optreg_errors_add(
		errs, OPTREG_EDENIED, "threshold", "signatures",
		"%d valid signature%s from distinct keys %s required for "
		"namespace %s (got %zu)",
		threshold, threshold == 1 ? "" : "s",
		threshold == 1 ? "is" : "are", ns, nvalid);
	if (env->nsigs == 0)
		optreg_error_set_hint(e, "sign the config: `optreg submit "
					 "FILE --key KEY`");
	return OPTREG_EDENIED;
}

/* What the policies found on a stored version, for its audit event:
 * [{policy, policy_version, rule, effect, path, waiver}], NULL when none
 * (audit-mode findings are recorded here and nowhere else). */
static json_t *violations_brief(const struct optreg_policy_result *r)
{
	if (r->len == 0)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; i < r->len; i++) {
		const struct optreg_violation *v = &r->items[i];
		json_array_append_new(
			a,
			json_pack("{s:s, s:I, s:s, s:s, s:s, s:s?}", "policy",
				  v->policy, "policy_version",
				  (json_int_t)v->policy_version, "rule",
				  v->rule, "effect",
				  optreg_policy_effect_name(v->effect), "path",
				  v->path ? v->path : "", "waiver", v->waiver));
	}
	return a;
}

/*
 * Writes the version, its job and its audit event in one statement
 * (submit_record), then for a new version signs its receipt and stores it
 * with the COMMIT in one round trip: the audit append is the last write
 * before those, and its lock is held to the commit. An identical version
 * stored meanwhile gets its stored receipt.
 */
static int record_commit(PGconn *conn, const struct optreg_registry_key *rk,
			 const struct optreg_audit_actor *who, const char *ns,
			 const char *name, const char *digest,
			 const struct optreg_dsse *env,
			 const char *envelope_canon,
			 const struct optreg_submit_why *why,
			 const char **valid, size_t nvalid,
			 struct optreg_submit_result *out,
			 struct optreg_errors *errs)
{
	struct optreg_submit_recorded *rec = optreg_xcalloc(1, sizeof(*rec));
	struct optreg_buf head = OPTREG_BUF_INIT, tail = OPTREG_BUF_INIT;
	struct optreg_buf receipt = OPTREG_BUF_INIT;
	json_t *signers = json_array();
	char target_head[300], now[32];

	for (size_t k = 0; k < nvalid; k++)
		json_array_append_new(signers, json_string(valid[k]));
	snprintf(target_head, sizeof(target_head), "%s/%s@", ns, name);
	optreg_audit_now(now);
	int rc = optreg_audit_event_split(
		who, "version.created", target_head,
		json_pack("{s:s, s:o, s:s*, s:s*, s:o*}", "digest", digest,
			  "signer_keyids", signers, "message", why->message,
			  "link", why->link, "violations",
			  violations_brief(&out->policy)),
		now, &head, &tail, errs);
	struct optreg_submit_record in = {.ns = ns,
					  .name = name,
					  .digest = digest,
					  .payload = &env->payload,
					  .envelope_canon = envelope_canon,
					  .actor = who->principal,
					  .message = why->message,
					  .link = why->link,
					  .suite = OPTREG_DEFAULT_SUITE,
					  .event_head = head.data,
					  .event_tail = tail.data,
					  .time = now};
	if (rc == 0)
		rc = optreg_store_submit_record(conn, &in, rec, errs);
	if (rc == 0) {
		out->version = rec->version;
		out->created = rec->created;
		out->created_at = rec->created_at;
		rec->created_at = NULL;
	}
	if (rc == 0 && out->created) {
		rc = optreg_receipt_make(conn, rk, ns, name, out->version,
					 digest, envelope_canon, valid, nvalid,
					 out->created_at, &rec->audit, &receipt,
					 errs);
		if (rc == 0)
			rc = optreg_receipt_put_commit(
				conn, ns, name, out->version, receipt.data,
				rk->keyid, errs);
		if (rc == 0)
			out->receipt = optreg_buf_detach(&receipt, NULL);
	} else if (rc == 0) {
		rc = optreg_receipt_get(conn, ns, name, out->version,
					&out->receipt, errs);
		if (rc == 0)
			rc = optreg_sql_commit(conn, errs);
	}
	free(rec->created_at);
	free(rec);
	optreg_buf_release(&head);
	optreg_buf_release(&tail);
	optreg_buf_release(&receipt);
	return rc;
}

/*
 * The transaction: begins it and, in the same round trip, reads the
 * threshold and whether the digest is stored, and locks the envelope's
 * keys (FOR SHARE, so a concurrent revocation waits for this submit or
 * wins before it); checks the signatures and the threshold, then the
 * policies on new content; then writes the version, or finds the
 * identical one (record_commit).
 */
static int submit(PGconn *conn, const struct optreg_registry_key *rk,
		  const struct optreg_audit_actor *who, const char *ns,
		  const char *name, const char *digest,
		  const struct optreg_dsse *env, const char *envelope_canon,
		  const struct optreg_submit_why *why,
		  struct optreg_submit_result *out, struct optreg_errors *errs)
{
	const char **valid = optreg_xcalloc(env->nsigs + 1, sizeof(*valid));
	struct optreg_submit_prepared pre;
	size_t nvalid = 0;

	int rc = optreg_store_submit_prepare(conn, env, ns, name, digest, &pre,
					     valid, &nvalid, errs);
	if (rc == 0)
		rc = check_threshold(env, ns, pre.threshold, nvalid, errs);
	/* The policies judge new content only: an identical resubmit gets the
	 * version already stored (and its message and link), whatever the
	 * policies say now. */
	if (rc == 0 && pre.stored) {
		out->message = pre.message;
		out->link = pre.link;
		pre.message = pre.link = NULL;
	} else if (rc == 0) {
		out->message =
			why->message ? optreg_xstrdup(why->message) : NULL;
		out->link = why->link ? optreg_xstrdup(why->link) : NULL;
	}
	if (rc == 0 && why->config && !pre.stored)
		rc = check_policies(conn, ns, name, why->config, &out->policy,
				    errs);
	if (rc == 0)
		rc = record_commit(conn, rk, who, ns, name, digest, env,
				   envelope_canon, why, valid, nvalid, out,
				   errs);
	if (rc) {
		optreg_sql_rollback(conn);
		free(out->created_at);
		free(out->receipt);
		out->created_at = out->receipt = NULL;
	}
	free(pre.message);
	free(pre.link);
	free(valid);
	return rc;
}

int optreg_versions_submit(struct registry *reg,
			   const struct optreg_audit_actor *who, const char *ns,
			   const char *name, const char *digest,
			   const struct optreg_dsse *env,
			   const char *envelope_canon,
			   const struct optreg_submit_why *why,
			   struct optreg_submit_result *out,
			   struct optreg_errors *errs)
{
	static const struct optreg_submit_why none = {NULL, NULL, NULL};

	optreg_submit_result_init(out);
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = submit(c, &reg->key, who, ns, name, digest, env,
			envelope_canon, why ? why : &none, out, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}
