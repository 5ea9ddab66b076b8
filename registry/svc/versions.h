/*
 * registry/svc/versions.h: config versions (the versions service). See
 * svc.h for the shape of a service call.
 */
#ifndef OPTREG_SVC_VERSIONS_H
#define OPTREG_SVC_VERSIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "../../common/error.h"
#include "../../common/dsse.h"
#include "../../validator/policy.h"
#include "../receipts.h"
#include "../store/configs.h"
#include "../store/versions.h"

struct registry;
struct optreg_audit_actor;

/* Version ns/name@version; `out` is filled (release it with
 * optreg_version_release) only on success. OPTREG_ENOTFOUND. */
int optreg_versions_get(struct registry *reg, const char *ns, const char *name,
			int version, struct optreg_version *out,
			struct optreg_errors *errs);

/* The version with config digest `digest`. OPTREG_ENOTFOUND. */
int optreg_versions_get_by_digest(struct registry *reg, const char *digest,
				  struct optreg_version *out,
				  struct optreg_errors *errs);

/* Version summaries newest first, below `before` (0: from the newest), at
 * most `limit`; `out` is filled (release it) on success. */
int optreg_versions_list(struct registry *reg, const char *ns, const char *name,
			 int before, int limit, struct optreg_version_list *out,
			 struct optreg_errors *errs);

/* Yanks a version with `reason` and `link` (may be NULL; audited);
 * writes its digest. Yanking a yanked version again changes nothing
 * (*already). */
int optreg_versions_yank(struct registry *reg,
			 const struct optreg_audit_actor *who, const char *ns,
			 const char *name, int version, const char *reason,
			 const char *link, bool *already,
			 char digest[OPTREG_DIGEST_LEN + 1],
			 struct optreg_errors *errs);

/* Evaluates the stored policies covering `ns` on `config` (with `tag`:
 * change rules against what that tag of ns/name points at now) into
 * `out` (initialized). */
int optreg_versions_evaluate(struct registry *reg, const char *ns,
			     const char *name, const json_t *config,
			     const char *tag, struct optreg_policy_result *out,
			     struct optreg_errors *errs);

/* Configs visible through `patterns` (NULL: all), see
 * optreg_store_search; `out` is filled (release it) on success. */
int optreg_versions_search(struct registry *reg, const char *const *patterns,
			   size_t npatterns, const char *ns, const char *q,
			   const char *after_ns, const char *after_name,
			   int limit, struct optreg_config_list *out,
			   struct optreg_errors *errs);

struct optreg_submit_result {
	int version;
	bool created;
	char *created_at; /* owned */
	char *receipt;	  /* owned: the receipt envelope, JSON text */
	struct optreg_policy_result policy; /* every violation */
};

/* What a submit says about itself, and the config to evaluate (all
 * borrowed, any may be NULL: no config, no policies evaluated). */
struct optreg_submit_why {
	const char *message, *link;
	const json_t *config;
};

/* Makes `r` empty (call before optreg_versions_submit). */
void optreg_submit_result_init(struct optreg_submit_result *r);
void optreg_submit_result_release(struct optreg_submit_result *r);

/*
 * The signed submit, one transaction: checks the envelope's signatures
 * against the registered keys and the namespace's threshold, creates the
 * version (or finds the identical one) with its validation job and audit
 * event, and signs the receipt with the registry key. With why->config,
 * the stored policies covering `ns` are evaluated first (no change rules):
 * a denial is OPTREG_EPOLICY with the denials in `errs` and every
 * violation in out->policy, and nothing is stored. `digest` is the
 * payload's, already checked; `envelope_canon` the RFC 8785 form of the
 * envelope as stored. Fills `out` (release it with
 * optreg_submit_result_release). Refused signatures are OPTREG_EDENIED
 * with one error per signature (path "signatures[i]") and rule
 * "threshold".
 */
int optreg_versions_submit(struct registry *reg,
			   const struct optreg_audit_actor *who, const char *ns,
			   const char *name, const char *digest,
			   const struct optreg_dsse *env,
			   const char *envelope_canon,
			   const struct optreg_submit_why *why,
			   struct optreg_submit_result *out,
			   struct optreg_errors *errs);

#endif
