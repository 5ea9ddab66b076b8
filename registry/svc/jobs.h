/*
 * registry/svc/jobs.h: validation jobs for runners (the jobs service):
 * lease, heartbeat, verdict. See svc.h and store/jobs.h. Results are new
 * JSON values in the shape of docs/api.md (structs are still to come).
 */
#ifndef OPTREG_SVC_JOBS_H
#define OPTREG_SVC_JOBS_H

#include <jansson.h>
#include <stdbool.h>

#include "../../common/dsse.h"
#include "../../common/error.h"

struct registry;
struct optreg_audit_actor;

/* Leases the oldest queued job in a namespace matching `patterns`;
 * OPTREG_ENOTFOUND when none waits. */
int optreg_jobs_lease(struct registry *reg,
		      const struct optreg_audit_actor *who,
		      const char *const *patterns, size_t npatterns,
		      const char *runner, int lease_seconds, json_t **job,
		      struct optreg_errors *errs);

/* Extends a lease; OPTREG_ENOTFOUND (no such job), OPTREG_ECONFLICT
 * (rule "lease_lost"). */
int optreg_jobs_heartbeat(struct registry *reg, long long id, const char *token,
			  int lease_seconds, json_t **out,
			  struct optreg_errors *errs);

/* Records the verdict envelope `env` (canonical form `envelope_canon`) for
 * job `id` under lease `token`; *created false for a repeat post. */
int optreg_jobs_verdict(struct registry *reg,
			const struct optreg_audit_actor *who, long long id,
			const char *token, const struct optreg_dsse *env,
			const char *envelope_canon, bool *created, json_t **out,
			struct optreg_errors *errs);

/* The verdicts of version ns/name@version, newest first (the verdicts
 * noun). */
int optreg_verdicts_list(struct registry *reg, const char *ns, const char *name,
			 int version, json_t **out, struct optreg_errors *errs);

/* The jobs of version ns/name@version with their state (queued, leased,
 * done, abandoned), attempts and last error: a new array. */
int optreg_jobs_list(struct registry *reg, const char *ns, const char *name,
		     int version, json_t **out, struct optreg_errors *errs);

#endif
