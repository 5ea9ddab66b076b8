/*
 * runner/job.c: one leased job of `serve` (job.h): fetch the version,
 * verify it, judge it, sign and post the verdict.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/dsse.h"
#include "../common/error.h"
#include "../common/jsonutil.h"
#include "../common/keyset.h"
#include "../common/log.h"
#include "../common/media.h"
#include "../common/verify.h"
#include "../validator/config.h"
#include "../validator/doc.h"
#include "../validator/jcs.h"
#include "job.h"
#include "lease.h"
#include "verdict.h"

struct job {
	long long id;
	const char *ns, *name, *digest, *suite, *token; /* borrowed */
	long version, attempt;
	char ref[256];
};

/* Seconds since `t0` (optreg_clock_monotonic), cut to the millisecond: a
 * new JSON real for a log line. */
static json_t *elapsed(double t0)
{
	return json_real(
		(double)(long long)((optreg_clock_monotonic() - t0) * 1000) /
		1000);
}

/* The errors after the first (which the problem's detail already says),
 * in the one JSON form (optreg_errors_to_json): a new array. */
static json_t *errors_after_first(const struct optreg_errors *errs)
{
	struct optreg_errors rest = {errs->items + 1, errs->len - 1,
				     errs->len - 1};

	return optreg_errors_to_json(&rest);
}

static bool job_parse(const json_t *j, struct job *job)
{
	json_t *id = json_object_get(j, "id");
	json_t *v = json_object_get(j, "version");
	json_t *a = json_object_get(j, "attempt");

	memset(job, 0, sizeof(*job));
	job->ns = optreg_json_str(j, "namespace");
	job->name = optreg_json_str(j, "name");
	job->digest = optreg_json_str(j, "digest");
	job->suite = optreg_json_str(j, "suite");
	job->token = optreg_json_str(j, "lease_token");
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

static const char *const outcome_names[] = {"posted", "recorded", "lease_lost",
					    "refused", "abandoned"};

struct job_ctx {
	struct optreg_serve *s;
	struct job job;
	struct optreg_heartbeat hb;
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
		optreg_lease_request(&jc->s->client, "GET", path, NULL, NULL,
				     &resp, &status, why);
		if ((status && !optreg_lease_retryable(status)) ||
		    i + 1 == FETCH_TRIES || optreg_heartbeat_lost(&jc->hb))
			break;
		optreg_lease_pause(wait);
		wait *= 2;
	}
	if (status == 200) {
		/* The version document carries the config: its numbers
		 * are doubles. */
		*out = optreg_json_load_doubles(resp.body.data, resp.body.len,
						0, NULL);
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
 * keys `ks`, appending one error per failed check to `fails`. On success
 * `payload` holds the verified canonical config bytes. The signatures
 * are judged by optreg_envelope_verify (common/verify.h) in a client's
 * voice, as of the version's created_at. optreg_version_verify is not used:
 * it also requires a receipt signed by a registry key (which the runner
 * does not fetch) and words the same checks as `optreg fetch --verify`
 * does, while these messages end up in error verdicts.
 */
static void verify_version(const struct job *job, const json_t *doc,
			   const struct optreg_keyset *ks,
			   struct optreg_buf *payload,
			   struct optreg_errors *fails)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT,
			     why = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	const json_t *envj = json_object_get(doc, "envelope");
	long long doc_version = 0;
	const char *created = optreg_json_str(doc, "created_at");
	const char *doc_ns = optreg_json_str(doc, "namespace");
	const char *doc_name = optreg_json_str(doc, "name");
	const char *doc_digest = optreg_json_str(doc, "digest");
	char served[OPTREG_DIGEST_LEN + 1], got[OPTREG_DIGEST_LEN + 1];
	struct optreg_sig_policy pol = {.ns = job->ns,
					.at = created,
					.prefix = "envelope",
					.purpose = OPTREG_KEY_PURPOSE_CONFIG,
					.voice = OPTREG_VOICE_CLIENT};
	struct optreg_dsse env;
	char *text = NULL;
	size_t before = fails->len, nvalid = 0;

	optreg_dsse_init(&env);
	if (!doc_ns || strcmp(doc_ns, job->ns) || !doc_name ||
	    strcmp(doc_name, job->name) ||
	    optreg_json_whole(doc, "version", &doc_version) < 0 ||
	    doc_version != job->version)
		FAIL(fails, "version",
		     "expected the version document of %s, got one of another "
		     "version",
		     job->ref);
	if (!doc_digest || strcmp(doc_digest, job->digest))
		FAIL(fails, "digest",
		     "expected the version's digest to be %s (the job's), got "
		     "%s",
		     job->digest, doc_digest ? doc_digest : "none");
	if (optreg_jcs_serialize(json_object_get(doc, "config"), &canon, NULL) <
	    0) {
		FAIL(fails, "config",
		     "expected the config as a JSON object, got none that can "
		     "be canonicalized");
		goto out;
	}
	optreg_jcs_digest(canon.data, canon.len, served);
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
		optreg_jcs_digest(env.payload.data, env.payload.len, got);
		FAIL(fails, "envelope.payload",
		     "expected the config served (%zu bytes, %s), got %zu "
		     "bytes (%s): the signed payload is not the config served",
		     canon.len, served, env.payload.len, got);
	}
	optreg_envelope_verify(ks, &env, &pol, NULL, &nvalid, &why);
	if (nvalid == 0) {
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

/* An `error` verdict for the job whose findings are `why` under
 * `criterion`: the shape optreg_suite_run gives a run that broke. */
static json_t *error_verdict(const struct optreg_serve *s,
			     const struct job *job, const char *criterion,
			     const struct optreg_errors *why)
{
	return optreg_verdict_error(job->digest, optreg_suite_name(s->suite),
				    optreg_suite_digest(s->suite), criterion,
				    why);
}

/* Signs the verdict; the envelope JSON text (malloc'd), or NULL with the
 * reason in the job's log line. */
static char *sign_verdict(struct job_ctx *jc, json_t *verdict)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *text = NULL;
	int replaced;

	if (optreg_verdict_sign(verdict, jc->job.id, jc->s->runner, jc->s->key,
				&text, &replaced, &errs) < 0)
		json_object_set_new(jc->log, "detail",
				    json_string(errs.items[0].message));
	if (replaced)
		json_object_set_new(jc->log, "result", json_string("error"));
	optreg_errors_release(&errs);
	return text;
}

/* Loads the verified payload as a config and runs the suite on it. */
static json_t *judge(struct job_ctx *jc, const struct optreg_buf *payload)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;
	const struct optreg_config *cfg = &cc.cfg;
	json_t *verdict = NULL;
	double t0 = optreg_clock_monotonic();
	int rc;

	optreg_checked_config_init(&cc);
	rc = optreg_config_load_checked(&cc, NULL, payload->data, payload->len,
					OPTREG_CONFIG_JSON, &errs);
	if (rc == 0 && (strcmp(cfg->namespace_, jc->job.ns) ||
			strcmp(cfg->name, jc->job.name))) {
		FAIL(&errs, "metadata",
		     "expected a config named %s/%s, got %s/%s", jc->job.ns,
		     jc->job.name, cfg->namespace_, cfg->name);
		rc = OPTREG_EINVAL;
	}
	if (rc) {
		verdict = error_verdict(jc->s, &jc->job, "config_verification",
					&errs);
		goto out;
	}
	rc = optreg_suite_run_on(jc->s->suite, &jc->s->device, cfg,
				 jc->job.digest, NULL, NULL, &verdict, &errs);
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
	optreg_checked_config_release(&cc);
	optreg_errors_release(&errs);
	return verdict;
}

/* POSTs the signed verdict with the lease token, retrying transport
 * failures, 429 and 5xx (the same envelope again is idempotent). */
static enum optreg_job_outcome post_verdict(struct job_ctx *jc,
					    const char *envelope)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	char path[64], *header;
	enum optreg_job_outcome out = OPTREG_JOB_ABANDONED;
	double wait = 1;
	long status = 0;

	header = optreg_xasprintf("X-Optreg-Lease-Token: %s", jc->job.token);
	const char *headers[2] = {header, NULL};
	snprintf(path, sizeof(path), "/v1/jobs/%lld/verdict", jc->job.id);
	optreg_http_resp_init(&resp);
	for (int i = 0; i < POST_TRIES; i++) {
		optreg_lease_request(&jc->s->client, "POST", path, envelope,
				     headers, &resp, &status, &why);
		if (status && !optreg_lease_retryable(status))
			break;
		if (i + 1 < POST_TRIES) {
			optreg_lease_pause(wait);
			wait *= 2;
		}
	}
	json_object_set_new(jc->log, "status", json_integer(status));
	if (status == 201 || status == 200) {
		out = status == 201 ? OPTREG_JOB_POSTED : OPTREG_JOB_RECORDED;
	} else {
		if (status) {
			const char *code =
				optreg_http_resp_problem(&resp, &errs);
			json_object_set_new(jc->log, "code", json_string(code));
			if (errs.len > 1)
				json_object_set_new(jc->log, "errors",
						    errors_after_first(&errs));
			out = status == 409 && !strcmp(code, "lease_lost")
				      ? OPTREG_JOB_LEASE_LOST
				      : OPTREG_JOB_REFUSED;
		}
		json_object_set_new(jc->log, "detail", json_string(why.data));
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
static void check_own_key(struct job_ctx *jc, const struct optreg_keyset *ks)
{
	const struct optreg_keyset_key *own =
		optreg_keyset_find(ks, jc->s->keyid);

	if (own && !own->revoked_at && optreg_keyset_allows(own, jc->job.ns))
		return;
	optreg_log_write(
		"warn", "runner_key",
		json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)jc->job.id,
			  "keyid", jc->s->keyid, "detail",
			  "GET /v1/keys does not list this runner's key as "
			  "active for the namespace: the registry will likely "
			  "refuse the verdict"));
}

/* Checks, judges and posts one leased job; returns what became of it. */
static enum optreg_job_outcome job_process(struct job_ctx *jc)
{
	struct optreg_buf path = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT,
			  payload = OPTREG_BUF_INIT;
	struct optreg_errors fails = OPTREG_ERRORS_INIT;
	struct optreg_keyset ks;
	json_t *doc = NULL, *keys = NULL, *verdict = NULL;
	enum optreg_job_outcome out = OPTREG_JOB_ABANDONED;
	char *envelope = NULL;
	long status;

	optreg_keyset_init(&ks);
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
		optreg_keyset_load_list(&ks, keys);
		verify_version(&jc->job, doc, &ks, &payload, &fails);
		check_own_key(jc, &ks);
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
	if (optreg_heartbeat_lost(&jc->hb)) {
		optreg_buf_reset(&why);
		optreg_buf_adds(&why, "the lease was lost while the suite ran; "
				      "another runner holds the job");
		out = OPTREG_JOB_LEASE_LOST;
		goto out;
	}
	envelope = sign_verdict(jc, verdict);
	if (envelope)
		out = post_verdict(jc, envelope);
out:
	if (why.len && !json_object_get(jc->log, "detail"))
		json_object_set_new(jc->log, "detail", json_string(why.data));
	free(envelope);
	json_decref(verdict);
	json_decref(doc);
	json_decref(keys);
	optreg_keyset_release(&ks);
	optreg_errors_release(&fails);
	optreg_buf_release(&payload);
	optreg_buf_release(&path);
	optreg_buf_release(&why);
	return out;
}

/* Runs one leased job end to end and logs it; returns its outcome. */
enum optreg_job_outcome optreg_job_run(struct optreg_serve *s, const json_t *j)
{
	struct job_ctx jc = {.s = s};
	double t0 = optreg_clock_monotonic();
	enum optreg_job_outcome out;
	bool hb;

	if (!job_parse(j, &jc.job)) {
		optreg_log_write(
			"error", "job",
			json_pack("{s:s, s:s}", "outcome", "abandoned",
				  "detail",
				  "the lease answer lacks id, namespace, "
				  "name, version, digest, suite or "
				  "lease_token"));
		return OPTREG_JOB_ABANDONED;
	}
	jc.log = json_pack("{s:I, s:s, s:s, s:s, s:i, s:s}", "job_id",
			   (json_int_t)jc.job.id, "config", jc.job.ref,
			   "digest", jc.job.digest, "suite", jc.job.suite,
			   "attempt", (int)jc.job.attempt, "runner", s->runner);
	hb = optreg_heartbeat_start(s, &jc.hb, jc.job.id, jc.job.token) == 0;
	out = job_process(&jc);
	optreg_heartbeat_stop(&jc.hb, hb);
	json_object_set_new(jc.log, "outcome", json_string(outcome_names[out]));
	json_object_set_new(jc.log, "heartbeats", json_integer(jc.hb.beats));
	json_object_set_new(jc.log, "seconds", elapsed(t0));
	optreg_log_write(out <= OPTREG_JOB_RECORDED	? "info"
			 : out == OPTREG_JOB_LEASE_LOST ? "warn"
							: "error",
			 "job", jc.log);
	return out;
}
