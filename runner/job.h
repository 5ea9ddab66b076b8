/*
 * runner/job.h: one leased job of `serve`, end to end.
 *
 *   check   GET the version and GET /v1/keys, and check the config as
 *           `optreg fetch --verify` does: the SHA-256 of the canonical
 *           config is the job's digest, the signed envelope's payload is
 *           exactly those bytes, and a signature verifies under a listed
 *           key allowed for the namespace. A config that fails is not
 *           judged: its verdict is `error`, one finding of criterion
 *           config_verification per failed check.
 *   run     optreg_suite_run on the verified payload, while a heartbeat
 *           thread extends the lease every lease/3 seconds.
 *   post    the verdict signed by optreg_verdict_sign, POSTed with the
 *           lease token. A lost lease (409 lease_lost on a heartbeat or on
 *           the post) means another runner holds the job now: logged, not
 *           retried.
 */
#ifndef OPTREG_RUNNER_JOB_H
#define OPTREG_RUNNER_JOB_H

#include <jansson.h>

#include "serve_int.h"

/* What became of a job. */
enum optreg_job_outcome {
	OPTREG_JOB_POSTED,     /* 201: the verdict is recorded */
	OPTREG_JOB_RECORDED,   /* 200: this very verdict was recorded before */
	OPTREG_JOB_LEASE_LOST, /* another runner holds the job now */
	OPTREG_JOB_REFUSED,    /* the registry refused the verdict */
	OPTREG_JOB_ABANDONED,  /* not judged; the lease will expire */
};

/*
 * Checks, judges and posts the job `lease_job` (the lease answer's "job"
 * object, borrowed) with heartbeats running, and logs one "job" line.
 * Returns what became of it.
 */
enum optreg_job_outcome optreg_job_run(struct optreg_serve *s,
				       const json_t *lease_job);

#endif
