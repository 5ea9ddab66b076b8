/*
 * registry/store/jobs.h: validation jobs and verdicts
 * (migrations/0004_jobs.sql).
 *
 * Every new version gets a job for the reference suite, created in the
 * submit transaction. Runners lease jobs with an expiry and a secret lease
 * token (stored hashed), send heartbeats, and post one signed verdict per
 * job; expired leases go back to the queue (audited) until the job has used
 * its attempts. Every state change is audited in its transaction.
 */
#ifndef OPTREG_JOBS_H
#define OPTREG_JOBS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "../../common/dsse.h"
#include "../../common/error.h"

#include "../../common/media.h"

#define OPTREG_DEFAULT_SUITE "ref-v2"

struct optreg_audit_actor;

/* A new version's job is created with it (migrations/0013's
 * submit_record). */

/*
 * Requeues expired leases, then leases the oldest queued job in a namespace
 * matching one of `patterns` (NULL: any). OPTREG_ENOTFOUND when none is
 * waiting. *job is a new object {id, namespace, name, version, digest,
 * suite, attempt, lease_token, lease_expires_at}.
 */
int optreg_store_jobs_lease(PGconn *conn, const char *const *patterns,
			    size_t npatterns, const char *runner,
			    int lease_seconds,
			    const struct optreg_audit_actor *who, json_t **job,
			    struct optreg_errors *errs);

/* Extends a lease; OPTREG_ENOTFOUND when there is no job `id`,
 * OPTREG_ECONFLICT (rule "lease_lost") when the token does not hold the
 * job's current lease. */
int optreg_store_jobs_heartbeat(PGconn *conn, long long id, const char *token,
				int lease_seconds, json_t **out,
				struct optreg_errors *errs);

/*
 * Ends expired leases (also done by every lease call). Each counts one
 * attempt; the job goes back to the queue, or is `abandoned` once it has
 * used max_attempts, with last_error saying why the attempt ended (the
 * refusal of a verdict posted under the lease, else the expiry). Audited
 * as job.expired, and job.abandoned. `*abandoned` is how many were
 * abandoned: the caller counts them (optreg_store_jobs_count_abandoned)
 * once its transaction has committed, so a rollback counts nothing.
 */
int optreg_store_jobs_requeue_expired(PGconn *conn,
				      const struct optreg_audit_actor *who,
				      int *requeued, int *abandoned,
				      struct optreg_errors *errs);

/* Adds `n` committed abandonments to optreg_jobs_abandoned_total. */
void optreg_store_jobs_count_abandoned(int n);

/*
 * Records a verdict: `env` must be a verdict envelope signed by a valid key
 * allowed for the job's namespace, its payload naming this job, the
 * version's digest and the job's suite. A repeat post of the same envelope
 * answers the recorded verdict (*created false); a different one after the
 * first is OPTREG_ECONFLICT. Signature problems are OPTREG_EDENIED. A
 * refused verdict (OPTREG_EINVAL, OPTREG_EDENIED) posted under the current
 * lease is kept as the lease's error: the job's last_error when it ends.
 */
int optreg_store_jobs_verdict(PGconn *conn, long long id, const char *token,
			      const struct optreg_dsse *env,
			      const char *envelope_canon,
			      const struct optreg_audit_actor *who,
			      bool *created, json_t **out,
			      struct optreg_errors *errs);

/* The jobs of a version (new array of {id, suite, state, attempts,
 * max_attempts, last_error, updated_at}), oldest first; empty for an
 * unknown version. */
int optreg_store_jobs_list(PGconn *conn, const char *ns, const char *name,
			   int version, json_t **out,
			   struct optreg_errors *errs);

/* Jobs this process has abandoned since it started (for /metrics). */
unsigned long long optreg_store_jobs_abandoned_total(void);

/* Verdicts of a version, newest first. */
int optreg_store_verdicts_list(PGconn *conn, const char *ns, const char *name,
			       int version, json_t **out,
			       struct optreg_errors *errs);

/* The result of the newest verdict of version `version` of config
 * `config_id` on `suite` ("" when none). */
int optreg_store_verdict_latest(PGconn *conn, long long config_id, int version,
				const char *suite, char result[16],
				struct optreg_errors *errs);

#endif
