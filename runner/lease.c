/*
 * runner/lease.c: leases, heartbeats and the HTTP retry rules (lease.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "lease.h"

/* The next wait after a failure: doubling from 1 s to BACKOFF_MAX, and at
 * least the server's Retry-After. */
static double backoff_next(struct optreg_serve *s, const char *retry_after)
{
	double wait;

	s->backoff = s->backoff ? s->backoff * 2 : 1;
	if (s->backoff > BACKOFF_MAX)
		s->backoff = BACKOFF_MAX;
	wait = s->backoff;
	if (retry_after) {
		long ra = strtol(retry_after, NULL, 10);
		if (ra > wait && ra <= 3600)
			wait = (double)ra;
	}
	return wait;
}

bool optreg_lease_retryable(long status)
{
	return status == 429 || status >= 500;
}

void optreg_lease_pause(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void optreg_lease_request(struct optreg_http_client *c, const char *method,
			  const char *path, const char *body,
			  const char *const *headers,
			  struct optreg_http_resp *resp, long *status,
			  struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	if (optreg_http_request(c, method, path, body, headers, resp, &errs) <
	    0) {
		*status = 0;
		optreg_buf_reset(why);
		optreg_buf_adds(why, errs.items[0].message);
	} else {
		*status = resp->status;
		if (resp->status >= 300) {
			optreg_errors_release(&errs);
			optreg_buf_reset(why);
			optreg_http_resp_problem(resp, &errs);
			optreg_buf_addf(why, "%s (%ld %s)",
					errs.items[0].message, resp->status,
					errs.items[0].rule);
		}
	}
	optreg_errors_release(&errs);
}

static void timespec_add(struct timespec *ts, double seconds)
{
	long long ns = (long long)(seconds * 1e9) + ts->tv_nsec;

	ts->tv_sec += (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

static void *heartbeat_main(void *arg)
{
	struct optreg_heartbeat *hb = arg;
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	double delay = hb->interval;
	struct timespec next;

	optreg_http_resp_init(&resp);
	pthread_mutex_lock(&hb->mu);
	while (!hb->done) {
		long status;

		clock_gettime(CLOCK_MONOTONIC, &next);
		timespec_add(&next, delay);
		while (!hb->done && pthread_cond_timedwait(&hb->cv, &hb->mu,
							   &next) != ETIMEDOUT)
			;
		if (hb->done)
			break;
		pthread_mutex_unlock(&hb->mu);
		optreg_lease_request(hb->client, "POST", hb->path, hb->body,
				     NULL, &resp, &status, &why);
		pthread_mutex_lock(&hb->mu);
		if (status == 200) {
			hb->beats++;
			delay = hb->interval;
			continue;
		}
		hb->misses++;
		hb->lost = status == 409;
		optreg_log_write(hb->lost ? "warn" : "error", "heartbeat",
				 json_pack("{s:I, s:i, s:s}", "job_id",
					   (json_int_t)hb->job_id, "status",
					   (int)status, "detail", why.data));
		if (hb->lost)
			break;
		/* After a miss, try again sooner: the lease may be short. */
		delay = hb->interval / 2;
	}
	pthread_mutex_unlock(&hb->mu);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&why);
	return NULL;
}

/* Starts heartbeats for a job; returns 0 or -1 (the job then runs
 * without them). Signals stay with the main thread. */
int optreg_heartbeat_start(struct optreg_serve *s, struct optreg_heartbeat *hb,
			   long long id, const char *token)
{
	pthread_condattr_t ca;
	sigset_t block, old;
	json_t *b;
	int rc;

	memset(hb, 0, sizeof(*hb));
	hb->client = &s->hb;
	hb->job_id = id;
	hb->interval = s->lease_seconds / 3.0;
	snprintf(hb->path, sizeof(hb->path), "/v1/jobs/%lld/heartbeat", id);
	b = json_pack("{s:s, s:i}", "lease_token", token, "lease_seconds",
		      s->lease_seconds);
	hb->body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	pthread_mutex_init(&hb->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->cv, &ca);
	pthread_condattr_destroy(&ca);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&hb->thread, NULL, heartbeat_main, hb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		optreg_log_write(
			"error", "heartbeat",
			json_pack("{s:I, s:s}", "job_id", (json_int_t)id,
				  "detail",
				  "cannot start the heartbeat thread"));
		hb->done = true;
		return -1;
	}
	return 0;
}

bool optreg_heartbeat_lost(struct optreg_heartbeat *hb)
{
	bool lost;

	pthread_mutex_lock(&hb->mu);
	lost = hb->lost;
	pthread_mutex_unlock(&hb->mu);
	return lost;
}

void optreg_heartbeat_stop(struct optreg_heartbeat *hb, bool started)
{
	pthread_mutex_lock(&hb->mu);
	hb->done = true;
	pthread_cond_signal(&hb->cv);
	pthread_mutex_unlock(&hb->mu);
	if (started)
		pthread_join(hb->thread, NULL);
	pthread_cond_destroy(&hb->cv);
	pthread_mutex_destroy(&hb->mu);
	if (hb->body) {
		memset(hb->body, 0, strlen(hb->body));
		free(hb->body);
	}
	hb->body = NULL;
}

enum optreg_lease_kind optreg_lease_take(struct optreg_serve *s, json_t **job,
					 double *wait, int *exit_status)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	enum optreg_lease_kind kind;
	json_t *body, *ans = NULL;
	char *text;
	long status;

	*job = NULL;
	body = json_pack("{s:s, s:i}", "runner", s->runner, "lease_seconds",
			 s->lease_seconds);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	optreg_http_resp_init(&resp);
	optreg_lease_request(&s->client, "POST", "/v1/jobs/lease", text, NULL,
			     &resp, &status, &why);
	free(text);
	if (status == 200) {
		ans = json_loadb(resp.body.data, resp.body.len,
				 JSON_REJECT_DUPLICATES, NULL);
		*job = json_incref(json_object_get(ans, "job"));
		json_decref(ans);
		if (json_is_object(*job)) {
			s->backoff = 0;
			kind = OPTREG_LEASE_JOB;
			goto out;
		}
		json_decref(*job);
		*job = NULL;
		optreg_buf_reset(&why);
		optreg_buf_adds(&why, "the lease answer has no job object");
	} else if (status == 204) {
		s->backoff = 0;
		kind = OPTREG_LEASE_NONE;
		goto out;
	} else if (status >= 400 && status < 500 && status != 429) {
		/* 401, 403 or a request this runner got wrong: no later
		 * lease can succeed. */
		optreg_log_write("error", "lease",
				 json_pack("{s:i, s:s}", "status", (int)status,
					   "detail", why.data));
		*exit_status = status == 401   ? SERVE_EXIT_UNAUTHORIZED
			       : status == 403 ? SERVE_EXIT_DENIED
					       : SERVE_EXIT_FAILED;
		kind = OPTREG_LEASE_FATAL;
		goto out;
	}
	*wait = backoff_next(s, resp.retry_after);
	optreg_log_write("warn", "lease",
			 json_pack("{s:i, s:s, s:f}", "status", (int)status,
				   "detail", why.data, "retry_in", *wait));
	kind = OPTREG_LEASE_RETRY;
out:
	optreg_http_resp_release(&resp);
	optreg_buf_release(&why);
	return kind;
}
