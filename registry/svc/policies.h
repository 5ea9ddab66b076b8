/*
 * registry/svc/policies.h: stored policies (push, delete, list, get, dry
 * run) and waivers (grant, list, revoke). See svc.h for the shape of a
 * service call. Results that are rendered as they are come back as JSON
 * (new references) in the form of docs/api.md.
 */
#ifndef OPTREG_SVC_POLICIES_H
#define OPTREG_SVC_POLICIES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../../common/error.h"

struct registry;
struct optreg_audit_actor;

/* The most versions a dry run judges. */
#define OPTREG_POLICY_DRY_RUN_MAX 10000

/*
 * Pushes the policy document `source` (`len` bytes, YAML or JSON) as
 * policy `name` with `message`: refused with its problems (line and
 * column in the document) as OPTREG_EBADPOLICY, or OPTREG_ENAMEMISMATCH
 * when it names another policy. A new version unless identical to the
 * current one (*created false). Audited "policy.put". *out is {name,
 * version, digest, created}.
 */
int optreg_policies_put(struct registry *reg,
			const struct optreg_audit_actor *who, const char *name,
			const char *source, size_t len, const char *message,
			json_t **out, struct optreg_errors *errs);

/* Adds a tombstone version to policy `name`, which stops applying
 * (audited "policy.delete" with `reason`); OPTREG_ENOTFOUND. *out is
 * {name, version, deleted: true}. */
int optreg_policies_delete(struct registry *reg,
			   const struct optreg_audit_actor *who,
			   const char *name, const char *reason, json_t **out,
			   struct optreg_errors *errs);

int optreg_policies_list(struct registry *reg, json_t **out,
			 struct optreg_errors *errs);
int optreg_policies_get(struct registry *reg, const char *name, int version,
			json_t **out, struct optreg_errors *errs);

/* The dry run of document `source` as policy `name` (nothing stored):
 * *out is {policy, evaluated, denied, warned, truncated}. */
int optreg_policies_evaluate(struct registry *reg, const char *name,
			     const char *source, size_t len, json_t **out,
			     struct optreg_errors *errs);

/* ---- waivers ---- */

/* Grants waiver `w` (checked fields policy, rule, namespace, config,
 * reason, owner, expires_at); audited "waiver.grant". */
int optreg_waivers_grant(struct registry *reg,
			 const struct optreg_audit_actor *who, const json_t *w,
			 json_t **out, struct optreg_errors *errs);
int optreg_waivers_list(struct registry *reg, const char *ns,
			const char *const *patterns, size_t npatterns, bool all,
			json_t **out, struct optreg_errors *errs);
int optreg_waivers_get(struct registry *reg, const char *id, json_t **out,
		       struct optreg_errors *errs);
/* Revokes waiver `id` (audited "waiver.revoke" the first time). */
int optreg_waivers_revoke(struct registry *reg,
			  const struct optreg_audit_actor *who, const char *id,
			  const char *reason, json_t **out,
			  struct optreg_errors *errs);

#endif
