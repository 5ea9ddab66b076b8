/*
 * registry/api/jobs.c: validation jobs (lease, heartbeat, verdict) for
 * runners, and the verdicts of a version.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../validator/jcs.h"
#include "../../validator/names.h"
#include "../../common/jsonutil.h"
#include "../svc/jobs.h"
#include "api.h"

#define LEASE_DEFAULT	  300
#define LEASE_MAX	  3600
#define LEASE_MIN_DEFAULT 30 /* --lease-min-seconds */

static const struct api_fail_as heartbeat_fail_as[] = {
	{OPTREG_ECONFLICT, OPTREG_ELEASELOST, NULL, true},
	{0, 0, NULL, false},
};

static const struct api_fail_as verdict_fail_as[] = {
	{OPTREG_EDENIED, OPTREG_ESIGREFUSED,
	 "the verdict's signature is not accepted", true},
	{OPTREG_ECONFLICT, API_CODE_FROM_RULE, NULL, true},
	{OPTREG_EINVAL, OPTREG_EBADVERDICT, "the verdict does not fit the job",
	 true},
	{0, 0, NULL, false},
};

static bool job_id_or_reply(struct api_call *call, long long *id)
{
	long v;

	if (!api_parse_long(call->req->params[0], 1, LONG_MAX, &v)) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "job id \"%.40s\" is not a positive integer",
			    call->req->params[0]);
		return false;
	}
	*id = v;
	return true;
}

/*
 * Reads "lease_seconds" from the body (default LEASE_DEFAULT, or the
 * minimum when that is longer). A lease shorter than the server's minimum
 * (--lease-min-seconds) is refused, not clamped: a runner that asked for 1 s
 * would otherwise plan its heartbeats for a lease it does not have.
 */
static bool lease_seconds_or_reply(struct api_call *call, int *out)
{
	json_t *v = json_object_get(call->body, "lease_seconds");
	int min = call->reg->lease_min_seconds > 0
			  ? call->reg->lease_min_seconds
			  : LEASE_MIN_DEFAULT;
	struct optreg_error *e;
	char got[32];

	*out = LEASE_DEFAULT > min ? LEASE_DEFAULT : min;
	if (!v)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > LEASE_MAX) {
		if (json_is_integer(v))
			snprintf(got, sizeof(got), "%lld",
				 (long long)json_integer_value(v));
		else
			snprintf(got, sizeof(got), "a %s",
				 optreg_json_type_name(v));
		e = optreg_errors_add(&call->errs, OPTREG_EINVAL, "range",
				      "lease_seconds",
				      "must be a whole number of seconds from "
				      "%d to %d, got %s",
				      min, LEASE_MAX, got);
		optreg_error_set_hint(e, "ask for a lease of at least the "
					 "server's minimum and keep it alive "
					 "with heartbeats");
		api_problem(call, OPTREG_EBADREQUEST, &call->errs,
			    "lease_seconds must be a whole number of seconds "
			    "from %d to %d (got %s)",
			    min, LEASE_MAX, got);
		return false;
	}
	*out = (int)json_integer_value(v);
	return true;
}

static bool runs(const struct optreg_grant *g)
{
	return g->role == OPTREG_ROLE_RUNNER || g->role == OPTREG_ROLE_ADMIN;
}

/*
 * Authenticates a runner: a token with a runner (or admin) grant in some
 * namespace. Leases go only to jobs in those namespaces; heartbeats and
 * verdicts then need the job's secret lease token, which only the lessee
 * has.
 */
static bool runner_or_reply(struct api_call *call)
{
	if (!api_authenticate_or_reply(call))
		return false;
	if (!call->who.id[0]) {
		api_unauthorized(call, "this request needs a bearer token");
		return false;
	}
	for (size_t i = 0; i < call->who.ngrants; i++)
		if (runs(&call->who.grants[i]))
			return true;
	api_problem(call, OPTREG_EDENIED, NULL, "role runner is required");
	return false;
}

static void lease(struct api_call *call, const char **patterns, size_t n)
{
	json_t *job = NULL;
	int secs;

	if (!call->req->body.len)
		call->body = json_object();
	else if (!api_json_body_or_reply(call))
		return;
	if (!lease_seconds_or_reply(call, &secs))
		return;
	/* The runner's name goes into last_error and the audit log: a
	 * principal name (printable, bounded), else the token's principal. */
	const json_t *rj = json_object_get(call->body, "runner");
	const char *runner = call->who.name;
	if (rj && !json_is_null(rj)) {
		runner = json_is_string(rj) ? json_string_value(rj) : NULL;
		if (optreg_name_check_principal(runner, "runner",
						&call->errs)) {
			api_problem(call, OPTREG_EBADREQUEST, &call->errs,
				    "the lease request's runner is not a "
				    "principal name; leave it out to use the "
				    "token's principal");
			return;
		}
	}
	struct optreg_audit_actor who = api_actor(call);
	int rc = optreg_jobs_lease(call->reg, &who, patterns, n, runner, secs,
				   &job, &call->errs);
	if (rc == OPTREG_ENOTFOUND)
		call->req->status = 204;
	else if (rc)
		api_fail(call, rc, &call->errs);
	else
		optreg_http_json(call->req, 200,
				 json_pack("{s:o}", "job", job));
}

API_HANDLER(handle_job_lease)
static void handle_job_lease(struct api_call *call)
{
	const char **patterns;
	size_t n = 0;

	if (!runner_or_reply(call))
		return;
	/* A runner leases jobs in the namespaces its runner grants cover. */
	patterns = optreg_xcalloc(call->who.ngrants + 1, sizeof(*patterns));
	for (size_t i = 0; i < call->who.ngrants; i++)
		if (runs(&call->who.grants[i]))
			patterns[n++] = call->who.grants[i].pattern;
	lease(call, patterns, n);
	free(patterns);
}

API_HANDLER(handle_job_heartbeat)
static void handle_job_heartbeat(struct api_call *call)
{
	json_t *out = NULL;
	long long id;
	int secs;

	if (!job_id_or_reply(call, &id) || !runner_or_reply(call) ||
	    !api_json_body_or_reply(call) ||
	    !lease_seconds_or_reply(call, &secs))
		return;
	const char *token = optreg_json_str(call->body, "lease_token");
	if (!token) {
		api_problem(call, OPTREG_EBADREQUEST, NULL,
			    "lease_token is required");
		return;
	}
	int rc = optreg_jobs_heartbeat(call->reg, id, token, secs, &out,
				       &call->errs);
	if (rc)
		api_fail_as(call, rc, &call->errs, heartbeat_fail_as);
	else
		optreg_http_json(call->req, 200, out);
}

static void verdict(struct api_call *call, long long id,
		    const struct optreg_dsse *env)
{
	struct optreg_buf canon = OPTREG_BUF_INIT;
	json_t *out = NULL;
	bool created = false;

	json_t *ej = optreg_dsse_to_json(env);
	int rc = optreg_jcs_serialize(ej, &canon, &call->errs);
	json_decref(ej);
	if (rc) {
		api_fail(call, OPTREG_EINTERNAL, &call->errs);
	} else {
		struct optreg_audit_actor who = api_actor(call);
		rc = optreg_jobs_verdict(
			call->reg, &who, id,
			optreg_http_header(call->req, "X-Optreg-Lease-Token"),
			env, canon.data, &created, &out, &call->errs);
		if (rc)
			api_fail_as(call, rc, &call->errs, verdict_fail_as);
		else
			optreg_http_json(call->req, created ? 201 : 200,
					 json_pack("{s:I, s:b, s:o}", "job_id",
						   (json_int_t)id, "created",
						   created, "verdict", out));
	}
	optreg_buf_release(&canon);
}

API_HANDLER(handle_job_verdict)
static void handle_job_verdict(struct api_call *call)
{
	struct optreg_http_req *req = call->req;
	struct optreg_dsse env;
	long long id;

	optreg_dsse_init(&env);
	if (job_id_or_reply(call, &id) && runner_or_reply(call) &&
	    api_json_content_type_or_reply(call)) {
		if (optreg_dsse_parse(&env, req->body.data, req->body.len,
				      &call->errs) < 0)
			api_problem(call, OPTREG_EBADENVELOPE, &call->errs,
				    "the body is not a DSSE envelope");
		else
			verdict(call, id, &env);
	}
	optreg_dsse_release(&env);
}

API_HANDLER(handle_verdicts)
static void handle_verdicts(struct api_call *call)
{
	const char *const *p = call->req->params;
	json_t *list = NULL, *jobs = NULL;
	int version;

	if (!api_config_params_or_reply(call) ||
	    !api_version_or_reply(call, p[2], &version) ||
	    !api_allow_or_reply(call, OPTREG_ROLE_READER, p[0]))
		return;
	int rc = optreg_verdicts_list(call->reg, p[0], p[1], version, &list,
				      &call->errs);
	if (rc == 0)
		rc = optreg_jobs_list(call->reg, p[0], p[1], version, &jobs,
				      &call->errs);
	if (rc) {
		json_decref(list);
		api_fail(call, rc, &call->errs);
	} else {
		optreg_http_json(call->req, 200,
				 json_pack("{s:o, s:o}", "verdicts", list,
					   "jobs", jobs));
	}
}

const struct optreg_http_route api_jobs_routes[] = {
	API_ROUTE("POST", "/v1/jobs/lease", handle_job_lease),
	API_ROUTE("POST", "/v1/jobs/{id}/heartbeat", handle_job_heartbeat),
	API_ROUTE("POST", "/v1/jobs/{id}/verdict", handle_job_verdict),
};
const size_t api_jobs_nroutes =
	sizeof(api_jobs_routes) / sizeof(api_jobs_routes[0]);

const struct optreg_http_route api_verdicts_routes[] = {
	API_ROUTE("GET", "/v1/configs/{ns}/{name}/versions/{n}/verdicts",
		  handle_verdicts),
};
const size_t api_verdicts_nroutes =
	sizeof(api_verdicts_routes) / sizeof(api_verdicts_routes[0]);
