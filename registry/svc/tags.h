/*
 * registry/svc/tags.h: tags of a config (the tags service). See svc.h.
 */
#ifndef OPTREG_SVC_TAGS_H
#define OPTREG_SVC_TAGS_H

#include <jansson.h>
#include <stdbool.h>

#include "../../common/error.h"
#include "../../validator/policy.h"
#include "../store/tags.h"

struct registry;
struct optreg_audit_actor;

/* The version tag ns/name/tag points at. OPTREG_ENOTFOUND. */
int optreg_tags_resolve(struct registry *reg, const char *ns, const char *name,
			const char *tag, int *version,
			struct optreg_errors *errs);

/* The tags of ns/name; `out` is filled (release it) on success. */
int optreg_tags_list(struct registry *reg, const char *ns, const char *name,
		     struct optreg_tag_list *out, struct optreg_errors *errs);

/* The moves of a tag, newest first (optreg_store_tag_history). */
int optreg_tags_history(struct registry *reg, const char *ns, const char *name,
			const char *tag, long long before, int limit,
			json_t **out, struct optreg_errors *errs);

/* A tag move (strings borrowed; reason and link may be NULL). */
struct optreg_tag_move_req {
	const char *ns, *name, *tag;
	int version;  /* the target; a rollback finds its own */
	int expected; /* the version the tag points at now, < 0: none;
			 a rollback uses what it points at */
	const char *reason, *link;
	bool rollback; /* to the previous_version of the tag's last move */
	bool approver; /* the caller holds role approver on ns */
};

struct optreg_tag_move_result {
	int version, previous; /* previous -1: the tag did not exist */
	json_t *gate;	       /* {policy, verdict, suite} when gated */
	struct optreg_policy_result policy; /* every violation */
};

void optreg_tag_move_result_init(struct optreg_tag_move_result *r);
void optreg_tag_move_result_release(struct optreg_tag_move_result *r);

/*
 * Moves a tag, one transaction under the config's row lock: the target
 * exists and is not yanked (OPTREG_ENOTFOUND, OPTREG_ECONFLICT rule
 * "yanked"); a gated tag needs the approver role (OPTREG_EDENIED), a
 * reason (OPTREG_EBADREQUEST path "reason") and a latest verdict on the
 * reference suite that passes (OPTREG_EGATE rule no_verdict,
 * verdict_failed or verdict_warn); the policies, change rules against the
 * tag's version now, deny nothing (OPTREG_EPOLICY with the denials in
 * errs); then the compare-and-set (OPTREG_ECONFLICT rule "conflict") and,
 * when it moves, the history row and the audit event. A rollback with no
 * previous version is OPTREG_ECONFLICT rule "no_previous". `out` (init
 * it) holds the violations and the gate whatever the result.
 */
int optreg_tags_move(struct registry *reg, const struct optreg_audit_actor *who,
		     const struct optreg_tag_move_req *m,
		     struct optreg_tag_move_result *out,
		     struct optreg_errors *errs);

#endif
