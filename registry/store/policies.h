/*
 * registry/store/policies.h: stored policies (versioned, immutable
 * versions; a deletion is a tombstone version) and waivers, the tables of
 * migrations/0008_policies.sql. Each call runs on the caller's connection
 * and inside the caller's transaction where there is one. Results that are
 * rendered as they are come back as JSON (new references), named by the
 * columns of docs/api.md.
 */
#ifndef OPTREG_STORE_POLICIES_H
#define OPTREG_STORE_POLICIES_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <time.h>

#include "../../common/error.h"

/* The policies that apply now, by name: {name, version, digest} objects
 * in *out (new array), with "canonical" too when `documents`. */
int optreg_store_policies_current(PGconn *conn, bool documents, json_t **out,
				  struct optreg_errors *errs);

/*
 * Locks policy `name` (creating its row) and writes its current version
 * (0: none), whether that one is a tombstone, and its digest ("" when
 * none or deleted) into the caller's buffers.
 */
int optreg_store_policy_lock(PGconn *conn, const char *name, int *version,
			     bool *deleted, char digest[80],
			     struct optreg_errors *errs);

/* Adds version `version` of `name` (a tombstone when `source` is NULL)
 * and makes it current; under optreg_store_policy_lock. */
int optreg_store_policy_insert(PGconn *conn, const char *name, int version,
			       const char *source, const char *canonical,
			       const char *digest, const char *message,
			       const char *actor, struct optreg_errors *errs);

/* {"policies": [...]} of GET /v1/policies as an array in *out. */
int optreg_store_policies_list(PGconn *conn, json_t **out,
			       struct optreg_errors *errs);

/* Version `version` of `name` (0: the current one) as the document of GET
 * /v1/policies/{name}, with its "versions". OPTREG_ENOTFOUND. */
int optreg_store_policy_get(PGconn *conn, const char *name, int version,
			    json_t **out, struct optreg_errors *errs);

/* ---- waivers ---- */

/* Creates a waiver from `w` (policy, rule, namespace, config, reason,
 * owner, expires_at strings) with id `id`; *out is the stored waiver.
 * Refuses (OPTREG_EINVAL, path expires_at) an expiry not in the future or
 * more than 90 days ahead, by the database's clock. */
int optreg_store_waiver_create(PGconn *conn, const char *id, const json_t *w,
			       const char *actor, json_t **out,
			       struct optreg_errors *errs);

/* Waivers of namespace `ns` (NULL: every namespace the patterns allow;
 * `all`: expired and revoked too), newest first, at most 1000. */
int optreg_store_waivers_list(PGconn *conn, const char *ns,
			      const char *const *patterns, size_t npatterns,
			      bool all, json_t **out,
			      struct optreg_errors *errs);

/* The waiver `id` (*out), OPTREG_ENOTFOUND. */
int optreg_store_waiver_get(PGconn *conn, const char *id, json_t **out,
			    struct optreg_errors *errs);

/* Revokes waiver `id` (once; *already when it was); *out is the waiver
 * after. OPTREG_ENOTFOUND. */
int optreg_store_waiver_revoke(PGconn *conn, const char *id, const char *reason,
			       const char *actor, bool *already, json_t **out,
			       struct optreg_errors *errs);

/* The versions a dry run of a policy judges: in namespaces matching the
 * globs `patterns`, not yanked, the latest of their config or pointed at
 * by a tag; at most `limit`, as a new array of {namespace, name, version,
 * config (canonical JSON text), tags}. */
int optreg_store_policy_scope(PGconn *conn, const char *const *patterns,
			      size_t npatterns, int limit, json_t **out,
			      struct optreg_errors *errs);

/* The waivers in force now for namespace `ns` (NULL: every one; new array of
 * the stored form, with "expires_epoch"), and the database's clock in *now. */
int optreg_store_waivers_active(PGconn *conn, const char *ns, json_t **out,
				time_t *now, struct optreg_errors *errs);

#endif
