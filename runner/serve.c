/*
 * runner/serve.c: `optreg-runner serve`, the job loop against a registry
 * (DESIGN.md section 8; docs/runner.md, "serve").
 *
 * One job at a time:
 *
 *   lease   POST /v1/jobs/lease. 204 means no job waits: sleep
 *           --poll-seconds. Transport failures, 429 and 5xx back off (1 s
 *           doubling to 60 s, at least the Retry-After); 401 and 403 stop
 *           the runner, as no later lease can succeed.
 *   check   GET the version and GET /v1/keys, and check the config as
 *           `optreg fetch --verify` does: the SHA-256 of the canonical
 *           config is the job's digest, the signed envelope's payload is
 *           exactly those bytes, and a signature verifies under a listed
 *           key allowed for the namespace. A config that fails is not
 *           judged: its verdict is `error`, one finding of criterion
 *           config_verification per failed check.
 *   run     optreg_suite_run on the verified payload, while a heartbeat
 *           thread extends the lease every lease/3 seconds.
 *   post    the verdict payload with "job_id" and "runner" added, in RFC
 *           8785 form, signed with OPTREG_KEY into a DSSE envelope, POSTed
 *           with the lease token. A lost lease (409 lease_lost on a
 *           heartbeat or on the post) means another runner holds the job
 *           now: logged, not retried.
 *
 * Signals: the first SIGTERM or SIGINT lets the current job finish (its
 * verdict posted) and exits 0; a second one abandons the job at once (exit
 * 0; its lease expires and the job goes back to the queue).
 *
 * Logs: one JSON line per job on stderr, and one for start, stop, backoff
 * and heartbeat trouble. They never carry the bearer token, the lease token
 * or key material.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/dsse.h"
#include "../common/error.h"
#include "../common/http_client.h"
#include "../common/keyring.h"
#include "../common/sign.h"
#include "../validator/config.h"
#include "../validator/doc.h"
#include "../validator/jcs.h"
#include "findings.h"
#include "suite.h"

#define VERDICT_PAYLOAD_TYPE "application/vnd.optreg.verdict.v1+json"
#define LEASE_DEFAULT	     300 /* seconds; the registry allows 1..3600 */
#define LEASE_MAX	     3600
#define POLL_DEFAULT	     5
#define BACKOFF_MAX	     60
#define FETCH_TRIES	     4 /* per GET while a job is held */
#define POST_TRIES	     6

/* Exit statuses: the `optreg` CLI's numbers where they mean the same. */
enum {
	SERVE_EXIT_OK = 0,
	SERVE_EXIT_FAILED = 1, /* --once: a job was leased, no verdict posted */
	SERVE_EXIT_USAGE = 2,
	SERVE_EXIT_IO = 3,	     /* the key or suite file cannot be read */
	SERVE_EXIT_DENIED = 4,	     /* 403 on lease: not a runner */
	SERVE_EXIT_UNAUTHORIZED = 6, /* 401: no, bad or revoked token */
	SERVE_EXIT_UNAVAILABLE = 7,  /* --once: the registry did not answer */
};

/* ---- Signals ------------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	static const char msg[] =
		"{\"level\":\"warn\",\"event\":\"abandon\",\"msg\":\"second "
		"signal: abandoning the current job; its lease will expire "
		"and the job will be leased again\"}\n";

	(void)sig;
	if (stop_requested) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing to do: exiting anyway */
		}
		_exit(SERVE_EXIT_OK);
	}
	stop_requested = 1;
}

static void signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: sleeps end at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Sleeps `seconds`, returning early when a stop is requested. */
static void nap(double seconds)
{
	struct timespec ts;

	while (seconds > 0 && !stop_requested) {
		double step = seconds > 1 ? 1 : seconds;
		ts.tv_sec = (time_t)step;
		ts.tv_nsec = (long)((step - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		seconds -= step;
	}
}

/* Sleeps `seconds` whatever the signals: for retries inside a job, which
 * a first signal lets finish. */
static void pause_for(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- Logging ------------------------------------------------------------- */

static void now_utc(char out[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
		strcpy(out, "1970-01-01T00:00:00");
	snprintf(out + 19, 13, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds since `t0` (monotonic), to the millisecond, for the log. */
static json_t *elapsed(double t0)
{
	return json_real((double)(long long)((monotonic() - t0) * 1000) / 1000);
}

/* Writes one JSON line to stderr: time, level, event, then `fields`
 * (stolen; may be NULL). */
static void log_line(const char *level, const char *event, json_t *fields)
{
	char now[32];
	json_t *o;
	char *s;

	now_utc(now);
	o = json_pack("{s:s, s:s, s:s}", "time", now, "level", level, "event",
		      event);
	if (fields)
		json_object_update(o, fields);
	json_decref(fields);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
				  JSON_REAL_PRECISION(9));
	if (s)
		fprintf(stderr, "%s\n", s);
	fflush(stderr);
	free(s);
	json_decref(o);
}

/* The errors of a problem response as [{path, rule, message}]. */
static json_t *errors_json(const struct optreg_errors *errs, size_t from)
{
	json_t *a = json_array();

	for (size_t i = from; i < errs->len; i++)
		json_array_append_new(a,
				      json_pack("{s:s, s:s, s:s}", "path",
						errs->items[i].path, "rule",
						errs->items[i].rule, "message",
						errs->items[i].message));
	return a;
}

/* ---- The runner ---------------------------------------------------------- */

struct serve {
	bool once;
	int lease_seconds, poll_seconds;
	const char *runner;
	char runner_buf[300];
	struct optreg_key *key;
	char keyid[OPTREG_KEYID_LEN + 1];
	struct optreg_suite *suite;
	struct optreg_http_client client; /* the main thread's */
	struct optreg_http_client hb;	  /* the heartbeat thread's */
	double backoff;			  /* seconds; 0 after a success */
};

/* The next wait after a failure: doubling from 1 s to BACKOFF_MAX, and at
 * least the server's Retry-After. */
static double backoff_next(struct serve *s, const char *retry_after)
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

static bool retryable(long status)
{
	return status == 429 || status >= 500;
}

/* One request; `*status` gets the HTTP status, or 0 for a transport
 * failure, whose reason goes to `why`. */
static void request(struct optreg_http_client *c, const char *method,
		    const char *path, const char *body,
		    const char *const *headers, struct optreg_http_resp *resp,
		    long *status, struct optreg_buf *why)
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

/* ---- Heartbeats ---------------------------------------------------------- */

struct heartbeat {
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

static void timespec_add(struct timespec *ts, double seconds)
{
	long long ns = (long long)(seconds * 1e9) + ts->tv_nsec;

	ts->tv_sec += (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

static void *heartbeat_main(void *arg)
{
	struct heartbeat *hb = arg;
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
		request(hb->client, "POST", hb->path, hb->body, NULL, &resp,
			&status, &why);
		pthread_mutex_lock(&hb->mu);
		if (status == 200) {
			hb->beats++;
			delay = hb->interval;
			continue;
		}
		hb->misses++;
		hb->lost = status == 409;
		log_line(hb->lost ? "warn" : "error", "heartbeat",
			 json_pack("{s:I, s:i, s:s}", "job_id",
				   (json_int_t)hb->job_id, "status",
				   (int)status, "msg", why.data));
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
static int heartbeat_start(struct serve *s, struct heartbeat *hb, long long id,
			   const char *token)
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
		log_line("error", "heartbeat",
			 json_pack("{s:I, s:s}", "job_id", (json_int_t)id,
				   "msg", "cannot start the heartbeat thread"));
		hb->done = true;
		return -1;
	}
	return 0;
}

static bool heartbeat_lost(struct heartbeat *hb)
{
	bool lost;

	pthread_mutex_lock(&hb->mu);
	lost = hb->lost;
	pthread_mutex_unlock(&hb->mu);
	return lost;
}

static void heartbeat_stop(struct heartbeat *hb, bool started)
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

/* ---- One job ------------------------------------------------------------- */

struct job {
	long long id;
	const char *ns, *name, *digest, *suite, *token; /* borrowed */
	long version, attempt;
	char ref[256];
};

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool job_parse(const json_t *j, struct job *job)
{
	json_t *id = json_object_get(j, "id");
	json_t *v = json_object_get(j, "version");
	json_t *a = json_object_get(j, "attempt");

	memset(job, 0, sizeof(*job));
	job->ns = str(j, "namespace");
	job->name = str(j, "name");
	job->digest = str(j, "digest");
	job->suite = str(j, "suite");
	job->token = str(j, "lease_token");
	if (!json_is_integer(id) || !json_is_integer(v) || !job->ns ||
	    !job->name || !job->digest || !job->suite || !job->token)
		return false;
	job->id = (long long)json_integer_value(id);
	job->version = (long)json_integer_value(v);
	job->attempt = json_is_integer(a) ? (long)json_integer_value(a) : 0;
	snprintf(job->ref, sizeof(job->ref), "%s/%s@%ld", job->ns, job->name,
		 job->version);
	return true;
}

/* What became of a job. */
enum outcome {
	OUT_POSTED,	/* 201: the verdict is recorded */
	OUT_RECORDED,	/* 200: this very verdict was recorded before */
	OUT_LEASE_LOST, /* another runner holds the job now */
	OUT_REFUSED,	/* the registry refused the verdict */
	OUT_ABANDONED,	/* not judged; the lease will expire */
};

static const char *const outcome_names[] = {"posted", "recorded", "lease_lost",
					    "refused", "abandoned"};

struct job_ctx {
	struct serve *s;
	struct job job;
	struct heartbeat hb;
	json_t *log; /* the job's log line, being filled */
};

/*
 * GETs `path` (a JSON object answer) while the job is held, retrying
 * transport failures, 429 and 5xx. Returns the HTTP status (0: no answer)
 * and, on 200, *out; `why` says what went wrong otherwise.
 */
static long get_json(struct job_ctx *jc, const char *path, json_t **out,
		     struct optreg_buf *why)
{
	struct optreg_http_resp resp;
	double wait = 1;
	long status = 0;

	*out = NULL;
	optreg_http_resp_init(&resp);
	for (int i = 0; i < FETCH_TRIES; i++) {
		request(&jc->s->client, "GET", path, NULL, NULL, &resp, &status,
			why);
		if ((status && !retryable(status)) || i + 1 == FETCH_TRIES ||
		    heartbeat_lost(&jc->hb))
			break;
		pause_for(wait);
		wait *= 2;
	}
	if (status == 200) {
		*out = json_loadb(resp.body.data, resp.body.len,
				  JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			status = 0;
			optreg_buf_reset(why);
			optreg_buf_addf(why,
					"GET %s answered 200 with a body that "
					"is not a JSON object",
					path);
		}
	}
	optreg_http_resp_release(&resp);
	return status;
}

#define FAIL(errs, path, ...)                                                  \
	optreg_errors_add(errs, OPTREG_EINVAL, "config_verification", path,    \
			  __VA_ARGS__)

/*
 * Checks the version document `doc` against the job and the registry's
 * keys `kr`, appending one error per failed check to `fails`. On success
 * `payload` holds the verified canonical config bytes.
 */
static void verify_version(const struct job *job, const json_t *doc,
			   const struct optreg_keyring *kr,
			   struct optreg_buf *payload,
			   struct optreg_errors *fails)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT,
			     why = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	const json_t *envj = json_object_get(doc, "envelope");
	const json_t *v = json_object_get(doc, "version");
	const char *created = str(doc, "created_at");
	char served[OPTREG_DIGEST_LEN + 1], got[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;
	char *text = NULL;
	size_t before = fails->len;

	optreg_dsse_init(&env);
	if (!str(doc, "namespace") || strcmp(str(doc, "namespace"), job->ns) ||
	    !str(doc, "name") || strcmp(str(doc, "name"), job->name) ||
	    !json_is_integer(v) || json_integer_value(v) != job->version)
		FAIL(fails, "version",
		     "expected the version document of %s, got one of another "
		     "version",
		     job->ref);
	if (!str(doc, "digest") || strcmp(str(doc, "digest"), job->digest))
		FAIL(fails, "digest",
		     "expected the version's digest to be %s (the job's), got "
		     "%s",
		     job->digest,
		     str(doc, "digest") ? str(doc, "digest") : "none");
	if (optreg_jcs_serialize(json_object_get(doc, "config"), &canon, NULL) <
	    0) {
		FAIL(fails, "config",
		     "expected the config as a JSON object, got none that can "
		     "be canonicalized");
		goto out;
	}
	optreg_digest(canon.data, canon.len, served);
	if (strcmp(served, job->digest))
		FAIL(fails, "config",
		     "expected a config whose SHA-256 is %s (the job's "
		     "digest), got %s: the config served is not the one "
		     "submitted",
		     job->digest, served);
	text = json_is_object(envj) ? json_dumps(envj, JSON_COMPACT) : NULL;
	if (!text || optreg_dsse_parse(&env, text, strlen(text), &errs) < 0) {
		FAIL(fails, "envelope",
		     "expected the signed DSSE envelope, got %s",
		     text ? "one that does not parse" : "none");
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_CONFIG_PAYLOAD_TYPE))
		FAIL(fails, "envelope.payloadType",
		     "expected \"%s\", got \"%s\"", OPTREG_CONFIG_PAYLOAD_TYPE,
		     env.payload_type);
	if (env.payload.len != canon.len ||
	    memcmp(env.payload.data, canon.data, canon.len)) {
		optreg_digest(env.payload.data, env.payload.len, got);
		FAIL(fails, "envelope.payload",
		     "expected the config served (%zu bytes, %s), got %zu "
		     "bytes (%s): the signed payload is not the config served",
		     canon.len, served, env.payload.len, got);
	}
	if (optreg_keyring_verify(kr, &env, job->ns, created, "envelope", NULL,
				  &why) == 0) {
		for (size_t i = 0; i < why.len; i++)
			FAIL(fails, why.items[i].path, "%s",
			     why.items[i].message);
		FAIL(fails, "envelope.signatures",
		     "expected a valid signature by a key registered for %s, "
		     "got none of %zu",
		     job->ns, env.nsigs);
	}
out:
	if (fails->len == before)
		optreg_buf_add(payload, env.payload.data, env.payload.len);
	free(text);
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	optreg_errors_release(&why);
	optreg_errors_release(&errs);
}

/* An `error` verdict whose findings are `why` under `criterion`: the
 * shape optreg_suite_run gives a run that broke. */
static json_t *error_verdict(const struct serve *s, const struct job *job,
			     const char *criterion,
			     const struct optreg_errors *why)
{
	json_t *findings = json_array();
	char now[32];

	now_utc(now);
	for (size_t i = 0; i < why->len; i++)
		json_array_append_new(
			findings,
			optreg_finding_new(criterion, "error", NULL, 0,
					   json_pack("{s:s, s:s}", "path",
						     why->items[i].path, "rule",
						     why->items[i].rule),
					   "%s", why->items[i].message));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[], s:o, "
			 "s:{s:s, s:i, s:{}}}",
			 "config_digest", job->digest, "suite",
			 optreg_suite_name(s->suite), "suite_digest",
			 optreg_suite_digest(s->suite), "runner_version",
			 OPTREG_RUNNER_VERSION, "device", "none", "result",
			 "error", "workloads", "findings", findings, "time",
			 "started_at", now, "seconds", 0, "train_seconds");
}

/* Loads the verified payload as a config and runs the suite on it. */
static json_t *judge(struct job_ctx *jc, const struct optreg_buf *payload)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_config cfg;
	struct optreg_doc doc;
	json_t *verdict = NULL;
	double t0 = monotonic();
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	optreg_doc_init(&doc);
	rc = optreg_doc_load_json(&doc, payload->data, payload->len, &errs);
	if (rc == 0)
		rc = optreg_config_validate(&doc, &cfg, &errs);
	if (rc == 0 && (strcmp(cfg.namespace_, jc->job.ns) ||
			strcmp(cfg.name, jc->job.name))) {
		FAIL(&errs, "metadata",
		     "expected a config named %s/%s, got %s/%s", jc->job.ns,
		     jc->job.name, cfg.namespace_, cfg.name);
		rc = OPTREG_EINVAL;
	}
	if (rc) {
		verdict = error_verdict(jc->s, &jc->job, "config_verification",
					&errs);
		goto out;
	}
	rc = optreg_suite_run(jc->s->suite, &cfg, jc->job.digest, NULL, NULL,
			      &verdict, &errs);
	json_object_set_new(jc->log, "suite_seconds", elapsed(t0));
	if (rc < 0 || !json_is_object(verdict)) {
		json_decref(verdict);
		if (!errs.len)
			optreg_errors_add(&errs, rc, "suite", NULL,
					  "the suite made no verdict (%s)",
					  optreg_code_name(rc));
		verdict = error_verdict(jc->s, &jc->job, "suite", &errs);
	}
out:
	optreg_config_release(&cfg);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	return verdict;
}

/* Signs the verdict; the envelope JSON text (malloc'd), or NULL. */
static char *sign_verdict(struct job_ctx *jc, json_t *verdict)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_dsse env;
	char *text = NULL;

	json_object_set_new(verdict, "job_id", json_integer(jc->job.id));
	json_object_set_new(verdict, "runner", json_string(jc->s->runner));
	if (optreg_jcs_serialize(verdict, &canon, &errs) < 0) {
		/* A metric the suite left non-finite: say so rather than
		 * post nothing. */
		json_t *ev = error_verdict(jc->s, &jc->job, "verdict_encoding",
					   &errs);
		json_object_set_new(ev, "job_id", json_integer(jc->job.id));
		json_object_set_new(ev, "runner", json_string(jc->s->runner));
		optreg_errors_release(&errs);
		optreg_jcs_serialize(ev, &canon, &errs);
		json_object_set(jc->log, "result",
				json_object_get(ev, "result"));
		json_decref(ev);
	}
	optreg_dsse_init(&env);
	env.payload_type = optreg_xstrdup(VERDICT_PAYLOAD_TYPE);
	optreg_buf_add(&env.payload, canon.data, canon.len);
	if (optreg_dsse_sign(&env, jc->s->key, &errs) == 0) {
		json_t *ej = optreg_dsse_to_json(&env);
		text = json_dumps(ej, JSON_COMPACT);
		json_decref(ej);
	} else {
		json_object_set_new(jc->log, "msg",
				    json_string(errs.items[0].message));
	}
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	optreg_errors_release(&errs);
	return text;
}

/* POSTs the signed verdict with the lease token, retrying transport
 * failures, 429 and 5xx (the same envelope again is idempotent). */
static enum outcome post_verdict(struct job_ctx *jc, const char *envelope)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	char path[64], *header;
	enum outcome out = OUT_ABANDONED;
	double wait = 1;
	long status = 0;

	header = optreg_xasprintf("X-Optreg-Lease-Token: %s", jc->job.token);
	const char *headers[2] = {header, NULL};
	snprintf(path, sizeof(path), "/v1/jobs/%lld/verdict", jc->job.id);
	optreg_http_resp_init(&resp);
	for (int i = 0; i < POST_TRIES; i++) {
		request(&jc->s->client, "POST", path, envelope, headers, &resp,
			&status, &why);
		if (status && !retryable(status))
			break;
		if (i + 1 < POST_TRIES) {
			pause_for(wait);
			wait *= 2;
		}
	}
	json_object_set_new(jc->log, "status", json_integer(status));
	if (status == 201 || status == 200) {
		out = status == 201 ? OUT_POSTED : OUT_RECORDED;
	} else {
		if (status) {
			const char *code =
				optreg_http_resp_problem(&resp, &errs);
			json_object_set_new(jc->log, "code", json_string(code));
			if (errs.len > 1)
				json_object_set_new(jc->log, "errors",
						    errors_json(&errs, 1));
			out = status == 409 && !strcmp(code, "lease_lost")
				      ? OUT_LEASE_LOST
				      : OUT_REFUSED;
		}
		json_object_set_new(jc->log, "msg", json_string(why.data));
	}
	memset(header, 0, strlen(header));
	free(header);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&why);
	optreg_errors_release(&errs);
	return out;
}

/* Warns when the registry's key list does not have this runner's key
 * active for the job's namespace: the verdict will likely be refused. */
static void check_own_key(struct job_ctx *jc, const struct optreg_keyring *kr)
{
	const struct optreg_keyring_key *own =
		optreg_keyring_find(kr, jc->s->keyid);

	if (own && !own->revoked_at && optreg_keyring_allows(own, jc->job.ns))
		return;
	log_line("warn", "runner_key",
		 json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)jc->job.id,
			   "keyid", jc->s->keyid, "msg",
			   "GET /v1/keys does not list this runner's key as "
			   "active for the namespace: the registry will likely "
			   "refuse the verdict"));
}

/* Checks, judges and posts one leased job; returns what became of it. */
static enum outcome job_process(struct job_ctx *jc)
{
	struct optreg_buf path = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT,
			  payload = OPTREG_BUF_INIT;
	struct optreg_errors fails = OPTREG_ERRORS_INIT;
	struct optreg_keyring kr;
	json_t *doc = NULL, *keys = NULL, *verdict = NULL;
	enum outcome out = OUT_ABANDONED;
	char *envelope = NULL;
	long status;

	optreg_keyring_init(&kr);
	if (strcmp(jc->job.suite, optreg_suite_name(jc->s->suite))) {
		optreg_buf_addf(&why,
				"the job asks for suite \"%s\"; this runner "
				"runs \"%s\"",
				jc->job.suite, optreg_suite_name(jc->s->suite));
		goto out;
	}
	optreg_buf_adds(&path, "/v1/configs");
	optreg_http_path_add(&path, jc->job.ns);
	optreg_http_path_add(&path, jc->job.name);
	optreg_buf_addf(&path, "/versions/%ld", jc->job.version);
	status = get_json(jc, path.data, &doc, &why);
	if (status == 404) {
		FAIL(&fails, "version", "%s is not served (%s)", jc->job.ref,
		     why.data);
	} else if (status != 200) {
		goto out; /* try later: the lease expires, the job returns */
	} else {
		status = get_json(jc, "/v1/keys", &keys, &why);
		if (status != 200)
			goto out;
		optreg_keyring_load(&kr, keys);
		verify_version(&jc->job, doc, &kr, &payload, &fails);
		check_own_key(jc, &kr);
	}
	if (fails.len) {
		verdict = error_verdict(jc->s, &jc->job, "config_verification",
					&fails);
		json_object_set_new(jc->log, "verified", json_false());
	} else {
		verdict = judge(jc, &payload);
	}
	json_object_set(jc->log, "result", json_object_get(verdict, "result"));
	json_object_set_new(jc->log, "findings",
			    json_integer((json_int_t)json_array_size(
				    json_object_get(verdict, "findings"))));
	if (heartbeat_lost(&jc->hb)) {
		optreg_buf_reset(&why);
		optreg_buf_adds(&why, "the lease was lost while the suite ran; "
				      "another runner holds the job");
		out = OUT_LEASE_LOST;
		goto out;
	}
	envelope = sign_verdict(jc, verdict);
	if (envelope)
		out = post_verdict(jc, envelope);
out:
	if (why.len && !json_object_get(jc->log, "msg"))
		json_object_set_new(jc->log, "msg", json_string(why.data));
	free(envelope);
	json_decref(verdict);
	json_decref(doc);
	json_decref(keys);
	optreg_keyring_release(&kr);
	optreg_errors_release(&fails);
	optreg_buf_release(&payload);
	optreg_buf_release(&path);
	optreg_buf_release(&why);
	return out;
}

/* Runs one leased job end to end and logs it; returns its outcome. */
static enum outcome job_run(struct serve *s, const json_t *j)
{
	struct job_ctx jc = {.s = s};
	double t0 = monotonic();
	enum outcome out;
	bool hb;

	if (!job_parse(j, &jc.job)) {
		log_line("error", "job",
			 json_pack("{s:s, s:s}", "outcome", "abandoned", "msg",
				   "the lease answer lacks id, namespace, "
				   "name, version, digest, suite or "
				   "lease_token"));
		return OUT_ABANDONED;
	}
	jc.log = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s}", "job_id",
			   (json_int_t)jc.job.id, "config", jc.job.ref,
			   "digest", jc.job.digest, "suite", jc.job.suite,
			   "attempt", (int)jc.job.attempt, "runner", s->runner);
	hb = heartbeat_start(s, &jc.hb, jc.job.id, jc.job.token) == 0;
	out = job_process(&jc);
	heartbeat_stop(&jc.hb, hb);
	json_object_set_new(jc.log, "outcome", json_string(outcome_names[out]));
	json_object_set_new(jc.log, "heartbeats", json_integer(jc.hb.beats));
	json_object_set_new(jc.log, "seconds", elapsed(t0));
	log_line(out <= OUT_RECORDED	 ? "info"
		 : out == OUT_LEASE_LOST ? "warn"
					 : "error",
		 "job", jc.log);
	return out;
}

/* ---- The loop ------------------------------------------------------------ */

enum lease_kind {
	LEASE_JOB,   /* *job set */
	LEASE_NONE,  /* 204: nothing waits */
	LEASE_RETRY, /* try again after *wait seconds */
	LEASE_FATAL, /* stop with *exit_status */
};

static enum lease_kind lease(struct serve *s, json_t **job, double *wait,
			     int *exit_status)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	enum lease_kind kind;
	json_t *body, *ans = NULL;
	char *text;
	long status;

	*job = NULL;
	body = json_pack("{s:s, s:i}", "runner", s->runner, "lease_seconds",
			 s->lease_seconds);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	optreg_http_resp_init(&resp);
	request(&s->client, "POST", "/v1/jobs/lease", text, NULL, &resp,
		&status, &why);
	free(text);
	if (status == 200) {
		ans = json_loadb(resp.body.data, resp.body.len,
				 JSON_REJECT_DUPLICATES, NULL);
		*job = json_incref(json_object_get(ans, "job"));
		json_decref(ans);
		if (json_is_object(*job)) {
			s->backoff = 0;
			kind = LEASE_JOB;
			goto out;
		}
		json_decref(*job);
		*job = NULL;
		optreg_buf_reset(&why);
		optreg_buf_adds(&why, "the lease answer has no job object");
	} else if (status == 204) {
		s->backoff = 0;
		kind = LEASE_NONE;
		goto out;
	} else if (status >= 400 && status < 500 && status != 429) {
		/* 401, 403 or a request this runner got wrong: no later
		 * lease can succeed. */
		log_line("error", "lease",
			 json_pack("{s:i, s:s}", "status", (int)status, "msg",
				   why.data));
		*exit_status = status == 401   ? SERVE_EXIT_UNAUTHORIZED
			       : status == 403 ? SERVE_EXIT_DENIED
					       : SERVE_EXIT_FAILED;
		kind = LEASE_FATAL;
		goto out;
	}
	*wait = backoff_next(s, resp.retry_after);
	log_line("warn", "lease",
		 json_pack("{s:i, s:s, s:f}", "status", (int)status, "msg",
			   why.data, "retry_in", *wait));
	kind = LEASE_RETRY;
out:
	optreg_http_resp_release(&resp);
	optreg_buf_release(&why);
	return kind;
}

static int serve_loop(struct serve *s)
{
	for (;;) {
		json_t *job = NULL;
		double wait = 0;
		int exit_status = SERVE_EXIT_OK;

		if (stop_requested)
			break;
		switch (lease(s, &job, &wait, &exit_status)) {
		case LEASE_FATAL:
			return exit_status;
		case LEASE_RETRY:
			if (s->once)
				return SERVE_EXIT_UNAVAILABLE;
			nap(wait);
			continue;
		case LEASE_NONE:
			if (s->once) {
				log_line("info", "idle",
					 json_pack("{s:s}", "msg",
						   "no job is waiting"));
				return SERVE_EXIT_OK;
			}
			nap(s->poll_seconds);
			continue;
		case LEASE_JOB:
			break;
		}
		enum outcome out = job_run(s, job);
		json_decref(job);
		if (s->once)
			return out <= OUT_RECORDED ? SERVE_EXIT_OK
						   : SERVE_EXIT_FAILED;
	}
	log_line("info", "stop",
		 json_pack("{s:s}", "msg", "stopped on a signal"));
	return SERVE_EXIT_OK;
}

/* ---- Options ------------------------------------------------------------- */

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: optreg-runner serve [--once] [--lease-seconds N] "
		"[--poll-seconds N]\n"
		"                           [--suite FILE] [--key FILE] "
		"[--runner NAME] [--url URL]\n\n"
		"Leases validation jobs from the registry, checks each "
		"config's digest and\n"
		"signature, runs the reference suite on it, and posts the "
		"verdict signed with\n"
		"the runner's key. Logs one JSON line per job on stderr.\n\n"
		"Options:\n"
		"  --once              process at most one job, then exit\n"
		"  --lease-seconds N   lease length, 1 to %d (default %d); "
		"heartbeats every N/3 s\n"
		"  --poll-seconds N    wait between leases when no job waits "
		"(default %d)\n"
		"  --suite FILE        the suite (default $OPTREG_SUITE, else "
		"runner/suites/ref-v1.yaml)\n"
		"  --key FILE          the runner's Ed25519 private key "
		"(default $OPTREG_KEY)\n"
		"  --runner NAME       the name leases and verdicts carry "
		"(default HOST:PID)\n"
		"  --url URL           the registry (default $OPTREG_URL, "
		"else %s)\n\n"
		"Environment:\n"
		"  OPTREG_URL     the registry\n"
		"  OPTREG_TOKEN   bearer token with the runner role\n"
		"  OPTREG_KEY     private key file; its public half must be "
		"registered\n"
		"                 (POST /v1/keys) for the namespaces judged\n\n"
		"SIGTERM or SIGINT: finish the current job, then exit 0; a "
		"second one\n"
		"abandons the job at once (its lease expires).\n\n"
		"Exit status: 0 stopped, or with --once a verdict was posted "
		"or no job waited;\n"
		"1 with --once a job got no verdict posted; 2 usage; 3 the key "
		"or suite cannot\n"
		"be read; 4 the token lacks the runner role (403); 6 the token "
		"is refused (401);\n"
		"7 with --once the registry did not answer\n",
		LEASE_MAX, LEASE_DEFAULT, POLL_DEFAULT, OPTREG_DEFAULT_URL);
}

/* Matches `--name VALUE` or `--name=VALUE` at argv[*i]: 1 (consumed), 0
 * (not this option), -1 (value missing; reported). */
static int opt_value(int argc, char **argv, int *i, const char *name,
		     const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) || (a[n] && a[n] != '='))
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (*i + 1 >= argc) {
		fprintf(stderr, "optreg-runner serve: %s needs a value\n",
			name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

static int parse_seconds(const char *name, const char *s, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max) {
		fprintf(stderr,
			"optreg-runner serve: %s must be a whole number of "
			"seconds from 1 to %d (got \"%s\")\n",
			name, max, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Reports `errs`' first error as `optreg-runner serve: WHAT: MESSAGE`. */
static void report(const char *what, const struct optreg_errors *errs)
{
	fprintf(stderr, "optreg-runner serve: %s: %s\n", what,
		errs->len ? errs->items[0].message : "failed");
	if (errs->len && errs->items[0].hint)
		fprintf(stderr, "  hint: %s\n", errs->items[0].hint);
}

static int serve_setup(struct serve *s, const char *key_path,
		       const char *suite_path, const char *url)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *token = getenv("OPTREG_TOKEN");
	char *dflt = NULL;
	int rc;

	if (!token || !*token) {
		fprintf(stderr, "optreg-runner serve: no token: OPTREG_TOKEN "
				"is not set\n"
				"  hint: export a token with the runner role, "
				"e.g. from `optreg-server token create "
				"--role runner`\n");
		return SERVE_EXIT_USAGE;
	}
	if (!key_path || !*key_path) {
		fprintf(stderr,
			"optreg-runner serve: no signing key: OPTREG_KEY is "
			"not set\n"
			"  hint: `optreg keygen --out runner`, register "
			"runner.pub.pem (`optreg key register`) and export "
			"OPTREG_KEY=runner.pem\n");
		return SERVE_EXIT_USAGE;
	}
	rc = optreg_key_load_file(&s->key, key_path, &errs);
	if (rc == 0 && !optreg_key_is_private(s->key)) {
		optreg_errors_add(&errs, OPTREG_EINVAL, "key_type", NULL,
				  "%s is a public key; verdicts are signed "
				  "with the private one",
				  key_path);
		rc = OPTREG_EINVAL;
	}
	if (rc) {
		report("OPTREG_KEY", &errs);
		optreg_errors_release(&errs);
		return rc == OPTREG_EIO ? SERVE_EXIT_IO : SERVE_EXIT_USAGE;
	}
	optreg_key_id(s->key, s->keyid);
	if (!suite_path)
		suite_path = dflt = optreg_suite_default_path();
	rc = optreg_suite_load(&s->suite, suite_path, &errs);
	if (rc) {
		report(suite_path, &errs);
		free(dflt);
		optreg_errors_release(&errs);
		return rc == OPTREG_EIO ? SERVE_EXIT_IO : SERVE_EXIT_USAGE;
	}
	free(dflt);
	/* Two clients: one curl handle per thread. */
	rc = optreg_http_client_init(&s->client, url, token, &errs);
	if (rc == 0) {
		rc = optreg_http_client_init(&s->hb, url, token, &errs);
		if (rc)
			optreg_http_client_release(&s->client);
	}
	if (rc) {
		report("registry", &errs);
		optreg_errors_release(&errs);
		return rc == OPTREG_EUSAGE ? SERVE_EXIT_USAGE
					   : SERVE_EXIT_UNAVAILABLE;
	}
	/* A heartbeat must not outlive the lease it extends. */
	long hb_ms = s->lease_seconds * 1000L / 2;
	s->hb.timeout_ms = hb_ms < 2000 ? 2000
			   : hb_ms > OPTREG_HTTP_TIMEOUT_MS
				   ? OPTREG_HTTP_TIMEOUT_MS
				   : hb_ms;
	return 0;
}

int optreg_runner_serve(int argc, char **argv)
{
	struct serve s;
	const char *key_path = getenv("OPTREG_KEY"), *suite_path = NULL,
		   *url = NULL, *val;
	int rc;

	memset(&s, 0, sizeof(s));
	s.lease_seconds = LEASE_DEFAULT;
	s.poll_seconds = POLL_DEFAULT;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			serve_usage(stdout);
			return SERVE_EXIT_OK;
		} else if (!strcmp(argv[i], "--once")) {
			s.once = true;
		} else if ((rc = opt_value(argc, argv, &i, "--lease-seconds",
					   &val))) {
			if (rc < 0 ||
			    parse_seconds("--lease-seconds", val, LEASE_MAX,
					  &s.lease_seconds) < 0)
				return SERVE_EXIT_USAGE;
		} else if ((rc = opt_value(argc, argv, &i, "--poll-seconds",
					   &val))) {
			if (rc < 0 || parse_seconds("--poll-seconds", val, 3600,
						    &s.poll_seconds) < 0)
				return SERVE_EXIT_USAGE;
		} else if ((rc = opt_value(argc, argv, &i, "--suite",
					   &suite_path)) ||
			   (rc = opt_value(argc, argv, &i, "--key",
					   &key_path)) ||
			   (rc = opt_value(argc, argv, &i, "--runner",
					   &s.runner)) ||
			   (rc = opt_value(argc, argv, &i, "--url", &url))) {
			if (rc < 0)
				return SERVE_EXIT_USAGE;
		} else {
			fprintf(stderr,
				"optreg-runner serve: unknown argument "
				"\"%s\"\n",
				argv[i]);
			serve_usage(stderr);
			return SERVE_EXIT_USAGE;
		}
	}
	if (s.runner && (!*s.runner || strlen(s.runner) > 200)) {
		fprintf(stderr, "optreg-runner serve: --runner must be 1 to "
				"200 characters\n");
		return SERVE_EXIT_USAGE;
	}
	if (!s.runner) {
		char host[256] = "runner";
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "runner");
		host[sizeof(host) - 1] = '\0';
		snprintf(s.runner_buf, sizeof(s.runner_buf), "%.200s:%ld", host,
			 (long)getpid());
		s.runner = s.runner_buf;
	}
	rc = serve_setup(&s, key_path, suite_path, url);
	if (rc)
		goto out;
	signals_install();
	log_line("info", "start",
		 json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b}", "runner",
			   s.runner, "url", s.client.base_url, "keyid", s.keyid,
			   "suite", optreg_suite_name(s.suite), "suite_digest",
			   optreg_suite_digest(s.suite), "lease_seconds",
			   s.lease_seconds, "poll_seconds", s.poll_seconds,
			   "once", s.once));
	rc = serve_loop(&s);
	optreg_http_client_release(&s.hb);
	optreg_http_client_release(&s.client);
out:
	if (s.suite)
		optreg_suite_free(s.suite);
	optreg_key_free(s.key);
	return rc;
}
