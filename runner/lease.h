/*
 * runner/lease.h: leasing jobs from the registry, keeping a lease alive
 * with heartbeats, and the HTTP retry rules of `serve`.
 *
 * Transport failures, 429 and 5xx are worth retrying; every other status
 * is final. Between leases the wait doubles from 1 s to BACKOFF_MAX and is
 * at least the server's Retry-After.
 */
#ifndef OPTREG_RUNNER_LEASE_H
#define OPTREG_RUNNER_LEASE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "../common/buf.h"
#include "../common/http_client.h"
#include "serve_int.h"

/*
 * One request. *status gets the HTTP status, or 0 for a transport
 * failure; `why` (reset first) then says what went wrong: the transport's
 * message, or for a status of 300 and up the problem's message with the
 * status and code. `resp` keeps the answer.
 */
void optreg_lease_request(struct optreg_http_client *c, const char *method,
			  const char *path, const char *body,
			  const char *const *headers,
			  struct optreg_http_resp *resp, long *status,
			  struct optreg_buf *why);

/* Whether an answer of `status` is worth retrying: 429 or 5xx. (No answer,
 * status 0, is too; callers test for it first.) */
bool optreg_lease_retryable(long status);

/* Sleeps `seconds` whatever the signals: for retries inside a job, which a
 * first signal lets finish. */
void optreg_lease_pause(double seconds);

enum optreg_lease_kind {
	OPTREG_LEASE_JOB,   /* *job set */
	OPTREG_LEASE_NONE,  /* 204: nothing waits */
	OPTREG_LEASE_RETRY, /* try again after *wait seconds */
	OPTREG_LEASE_FATAL, /* stop with *exit_status */
};

/*
 * POST /v1/jobs/lease once. On OPTREG_LEASE_JOB, *job is the answer's job
 * object (a new reference for the caller). Resets s->backoff on an answer
 * and advances it on a failure worth retrying; logs failures.
 */
enum optreg_lease_kind optreg_lease_take(struct optreg_serve *s, json_t **job,
					 double *wait, int *exit_status);

/* A heartbeat thread extending one job's lease every lease/3 seconds. */
struct optreg_heartbeat {
	struct optreg_http_client *client;
	char path[64];
	char *body; /* {"lease_token", "lease_seconds"}: secret */
	double interval;
	long long job_id;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, lost;
	int beats, misses;
};

/* Starts heartbeats for job `id` leased with `token` (copied) on s->hb;
 * returns 0, or -1 when the thread cannot start (the job then runs
 * without them). SIGTERM and SIGINT stay with the calling thread. Call
 * optreg_heartbeat_stop either way. */
int optreg_heartbeat_start(struct optreg_serve *s, struct optreg_heartbeat *hb,
			   long long id, const char *token);

/* Whether a heartbeat was answered 409: another runner holds the job. */
bool optreg_heartbeat_lost(struct optreg_heartbeat *hb);

/* Stops the thread (joined when `started`) and wipes the lease token. */
void optreg_heartbeat_stop(struct optreg_heartbeat *hb, bool started);

#endif
