/*
 * registry/policy_cache.h: the stored policies that apply now, parsed
 * once per set and shared by the request threads, and their evaluation
 * with the waivers in force (validator/policy.h).
 *
 * Correct across replicas without notifications: each use reads the
 * names, versions and digests of the current policies (one small query in
 * the caller's transaction) and reuses the parsed set when they are the
 * ones it was parsed from; any change (a push, a deletion, on any
 * replica) makes the next use read and parse the documents again.
 */
#ifndef OPTREG_POLICY_CACHE_H
#define OPTREG_POLICY_CACHE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "../common/error.h"
#include "../validator/policy.h"

/* A parsed set of policies; counted, immutable once published. */
struct optreg_policy_set {
	const struct optreg_policy *const *items;
	size_t n;
};

/* The policies that apply now, as of the caller's transaction on `conn`:
 * *out (give it back with optreg_policy_set_put). A stored document that
 * no longer loads is OPTREG_EINTERNAL. */
int optreg_policy_set_get(PGconn *conn, struct optreg_policy_set **out,
			  struct optreg_errors *errs);
/* Gives back a set from optreg_policy_set_get; NULL does nothing. */
void optreg_policy_set_put(struct optreg_policy_set *s);

/* What one evaluation needs besides the set; see optreg_policy_input. */
struct optreg_policy_subject {
	const char *ns, *name;
	const json_t *config;
	const char *tag;	/* NULL: no change rules */
	const json_t *previous; /* the config at `tag` now, or NULL */
};

/*
 * Evaluates the policies of `s` that cover subject->ns, with the waivers
 * of that namespace in force by the database's clock, into `out` (an
 * initialized result).
 */
int optreg_policy_set_check(PGconn *conn, const struct optreg_policy_set *s,
			    const struct optreg_policy_subject *subject,
			    struct optreg_policy_result *out,
			    struct optreg_errors *errs);

/* The waivers of `rows` (optreg_store_waivers_active) for the evaluator:
 * a new array of `*n` (free it) whose strings borrow from `rows`. */
struct optreg_waiver *optreg_policy_waivers_of(const json_t *rows, size_t *n);

/* Parses stored canonical config bytes (a new reference, NULL when they
 * are not JSON). */
json_t *optreg_policy_config_json(const char *data, size_t len);

#endif
