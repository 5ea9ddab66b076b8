/*
 * registry/svc/tags.c: the tags service. See tags.h.
 */
#include "tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../policy_cache.h"
#include "../registry.h"
#include "../sql.h"
#include "../store/jobs.h"
#include "svc.h"

int optreg_tags_resolve(struct registry *reg, const char *ns, const char *name,
			const char *tag, int *version,
			struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(
		reg, c,
		optreg_store_resolve_tag(c, ns, name, tag, version, errs));
}

int optreg_tags_list(struct registry *reg, const char *ns, const char *name,
		     struct optreg_tag_list *out, struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c, optreg_store_list_tags(c, ns, name, out, errs));
}

int optreg_tags_history(struct registry *reg, const char *ns, const char *name,
			const char *tag, long long before, int limit,
			json_t **out, struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_tag_history(c, ns, name, tag, before, limit,
						out, errs));
}

void optreg_tag_move_result_init(struct optreg_tag_move_result *r)
{
	memset(r, 0, sizeof(*r));
	r->previous = -1;
	optreg_policy_result_init(&r->policy);
}

void optreg_tag_move_result_release(struct optreg_tag_move_result *r)
{
	json_decref(r->gate);
	optreg_policy_result_release(&r->policy);
	optreg_tag_move_result_init(r);
}

/* The gate of a move: role, reason and the version's verdict. */
static int check_gate(PGconn *c, const struct optreg_gate *g, long long cfg,
		      const struct optreg_tag_move_req *m, int version,
		      struct optreg_tag_move_result *out,
		      struct optreg_errors *errs)
{
	char result[16];
	struct optreg_error *e;

	if (!m->approver) {
		e = optreg_errors_add(
			errs, OPTREG_EDENIED, "gate", "tag",
			"tag %s of %s/%s is protected by policy %s: moving it "
			"needs role approver on namespace %s",
			m->tag, m->ns, m->name, g->policy, m->ns);
		optreg_error_set_hint(e, "ask an approver of the namespace to "
					 "move the tag");
		return OPTREG_EDENIED;
	}
	if (!m->reason) {
		e = optreg_errors_add(
			errs, OPTREG_EBADREQUEST, "required", "reason",
			"tag %s is protected by policy %s: a reason of 1 to "
			"1024 characters is required",
			m->tag, g->policy);
		optreg_error_set_hint(e, "say why the tag moves: `optreg tag "
					 "... --reason TEXT`");
		return OPTREG_EBADREQUEST;
	}
	int rc = optreg_store_verdict_latest(
		c, cfg, version, OPTREG_DEFAULT_SUITE, result, errs);
	if (rc)
		return rc;
	out->gate = json_pack("{s:s, s:o, s:s}", "policy", g->policy, "verdict",
			      result[0] ? json_string(result) : json_null(),
			      "suite", OPTREG_DEFAULT_SUITE);
	if (!strcmp(result, "pass") ||
	    (!strcmp(result, "warn") && g->allow_warn))
		return 0;
	if (!result[0]) {
		e = optreg_errors_add(
			errs, OPTREG_EGATE, "no_verdict", "version",
			"version %s/%s@%d has no verdict on suite %s yet; tag "
			"%s (policy %s) needs a passing one",
			m->ns, m->name, version, OPTREG_DEFAULT_SUITE, m->tag,
			g->policy);
		optreg_error_set_hint(
			e,
			"wait for the runner (`optreg verdicts %s/%s@%d`) "
			"and move the tag again",
			m->ns, m->name, version);
	} else if (!strcmp(result, "warn")) {
		e = optreg_errors_add(
			errs, OPTREG_EGATE, "verdict_warn", "version",
			"version %s/%s@%d has verdict warn on suite %s; tag %s "
			"(policy %s) does not allow warn",
			m->ns, m->name, version, OPTREG_DEFAULT_SUITE, m->tag,
			g->policy);
		optreg_error_set_hint(e,
				      "read the findings with `optreg "
				      "verdicts %s/%s@%d` and submit a "
				      "fixed config",
				      m->ns, m->name, version);
	} else {
		e = optreg_errors_add(
			errs, OPTREG_EGATE, "verdict_failed", "version",
			"version %s/%s@%d has verdict %s on suite %s; tag %s "
			"(policy %s) needs pass",
			m->ns, m->name, version, result, OPTREG_DEFAULT_SUITE,
			m->tag, g->policy);
		optreg_error_set_hint(e,
				      "read the findings with `optreg "
				      "verdicts %s/%s@%d` and submit a "
				      "fixed config",
				      m->ns, m->name, version);
	}
	return OPTREG_EGATE;
}

/* A stored payload that does not parse is a fault of the registry, not a
 * reason to skip the policies. */
static int bad_payload(const struct optreg_tag_move_req *m, int version,
		       struct optreg_errors *errs)
{
	optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", "version",
			  "stored version %s/%s@%d does not parse as JSON",
			  m->ns, m->name, version);
	return OPTREG_EINTERNAL;
}

/* The policies on the move: change rules against the tag's version now.
 * A rollback skips the change rules (its target was accepted at this tag
 * before) but keeps every other rule. */
static int check_policies(PGconn *c, const struct optreg_policy_set *ps,
			  long long cfg, const struct optreg_tag_move_req *m,
			  int version, const struct optreg_buf *target,
			  int current, struct optreg_tag_move_result *out,
			  struct optreg_errors *errs)
{
	struct optreg_buf prev = OPTREG_BUF_INIT;
	json_t *config = optreg_policy_config_json(target->data, target->len);
	json_t *previous = NULL;
	bool yanked;
	int rc = 0;

	if (!config)
		rc = bad_payload(m, version, errs);
	if (rc == 0 && current >= 0 && !m->rollback) {
		rc = optreg_store_tag_target(c, cfg, current, &yanked, &prev,
					     errs);
		if (rc == 0 && !(previous = optreg_policy_config_json(
					 prev.data, prev.len)))
			rc = bad_payload(m, current, errs);
		if (rc == OPTREG_ENOTFOUND)
			rc = 0;
	}
	struct optreg_policy_subject subj = {
		m->ns, m->name, config, m->rollback ? NULL : m->tag, previous};
	if (rc == 0)
		rc = optreg_policy_set_check(c, ps, &subj, &out->policy, errs);
	if (rc == 0 && out->policy.denied) {
		optreg_policy_result_denials(&out->policy, OPTREG_EPOLICY,
					     errs);
		rc = OPTREG_EPOLICY;
	}
	json_decref(config);
	json_decref(previous);
	optreg_buf_release(&prev);
	return rc;
}

json_t *optreg_tags_findings_json(const struct optreg_policy_result *r)
{
	static const char *const keep[] = {"policy", "rule", "effect", "path",
					   "waiver"};
	json_t *all = optreg_policy_result_to_json(r);
	json_t *vs = json_object_get(all, "violations");
	json_t *brief = json_array();
	size_t i, n = json_array_size(vs);

	for (i = 0; i < n && i < OPTREG_TAG_FINDINGS_MAX; i++) {
		json_t *v = json_array_get(vs, i), *b = json_object();
		for (size_t k = 0; k < sizeof(keep) / sizeof(*keep); k++)
			if (json_object_get(v, keep[k]))
				json_object_set(b, keep[k],
						json_object_get(v, keep[k]));
		json_array_append_new(brief, b);
	}
	json_t *out = json_pack(
		"{s:I, s:I, s:I, s:I, s:o, s:I}", "denied",
		(json_int_t)r->denied, "warned", (json_int_t)r->warned,
		"audited", (json_int_t)r->audited, "waived",
		(json_int_t)r->waived, "violations", brief, "omitted",
		(json_int_t)(n > OPTREG_TAG_FINDINGS_MAX
				     ? n - OPTREG_TAG_FINDINGS_MAX
				     : 0));
	json_decref(all);
	return out;
}

/* Everything before the compare-and-set, under the config's row lock. */
static int move_checked(PGconn *c, const struct optreg_audit_actor *who,
			const struct optreg_tag_move_req *m,
			struct optreg_tag_move_result *out,
			struct optreg_errors *errs)
{
	struct optreg_buf target = OPTREG_BUF_INIT;
	struct optreg_policy_set *ps = NULL;
	struct optreg_gate g = {0};
	long long cfg = 0;
	int current = -1, version = m->version, expected = m->expected;
	bool yanked = false;

	int rc = optreg_store_tag_lock(c, m->ns, m->name, m->tag, &cfg,
				       &current, errs);
	if (rc == 0 && m->rollback && current < 0) {
		/* Nothing to roll back: the tag does not exist (never set,
		 * or deleted). */
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", "tag",
				  "tag %s/%s@%s not found", m->ns, m->name,
				  m->tag);
		rc = OPTREG_ENOTFOUND;
	}
	if (rc == 0 && m->rollback) {
		rc = optreg_store_tag_last_previous(c, cfg, m->tag, &version,
						    errs);
		if (rc == 0 && version < 0) {
			struct optreg_error *e = optreg_errors_add(
				errs, OPTREG_ECONFLICT, "no_previous", "tag",
				"tag %s/%s@%s has no previous version to roll "
				"back to",
				m->ns, m->name, m->tag);
			optreg_error_set_hint(e,
					      "see its moves with `optreg tag "
					      "%s/%s@%s --history`",
					      m->ns, m->name, m->tag);
			rc = OPTREG_ECONFLICT;
		}
		expected = current;
	}
	if (rc == 0) {
		rc = optreg_store_tag_target(c, cfg, version, &yanked, &target,
					     errs);
		if (rc == OPTREG_ENOTFOUND)
			optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found",
					  "version",
					  "version %s/%s@%d not found", m->ns,
					  m->name, version);
	}
	if (rc == 0 && yanked) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ECONFLICT, "yanked", "version",
			"version %s/%s@%d is yanked; tags cannot move to it",
			m->ns, m->name, version);
		optreg_error_set_hint(e, "submit a fixed config and tag that");
		rc = OPTREG_ECONFLICT;
	}
	if (rc == 0)
		rc = optreg_policy_set_get(c, &ps, errs);
	if (rc == 0) {
		optreg_policy_gate(ps->items, ps->n, m->ns, m->tag, &g);
		if (g.gated)
			rc = check_gate(c, &g, cfg, m, version, out, errs);
	}
	if (rc == 0)
		rc = check_policies(c, ps, cfg, m, version, &target, current,
				    out, errs);
	if (rc == 0) {
		json_t *findings =
			out->policy.len
				? optreg_tags_findings_json(&out->policy)
				: NULL;
		struct optreg_tag_why why = {m->reason, m->link, m->rollback,
					     out->gate, findings};
		rc = optreg_store_move_tag(c, m->ns, m->name, m->tag, version,
					   expected, who, &why, &out->previous,
					   errs);
		json_decref(findings);
	}
	out->version = version;
	optreg_policy_set_put(ps);
	optreg_buf_release(&target);
	return rc;
}

int optreg_tags_move(struct registry *reg, const struct optreg_audit_actor *who,
		     const struct optreg_tag_move_req *m,
		     struct optreg_tag_move_result *out,
		     struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_sql_begin(c, errs);
	if (rc == 0)
		rc = move_checked(c, who, m, out, errs);
	if (rc == 0)
		rc = optreg_sql_commit(c, errs);
	else
		optreg_sql_rollback(c);
	optreg_svc_put(reg, c, rc);
	return rc;
}
