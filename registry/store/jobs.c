/*
 * registry/store/jobs.c: job queue, leases and verdicts. See jobs.h.
 */
#include "jobs.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "../../common/jsonutil.h"
#include "../../common/verify.h"
#include "../../common/buf.h"
#include "../../common/glob.h"
#include "../../common/hash.h"
#include "../audit.h"
#include "signers.h"
#include "../sql.h"
#include "store.h"

/* clang-format off */
/* An attempt is counted when its lease ends without a verdict, never when
 * it is taken: the right-hand sides read the row as it was. */
static const char SQL_JOBS_REQUEUE_EXPIRED[] =
	"UPDATE jobs SET attempts = attempts + 1,"
	" state = CASE WHEN attempts + 1 >= max_attempts THEN 'abandoned'"
	"              ELSE 'queued' END,"
	" last_error = COALESCE(lease_error,"
	"   'the lease of runner ' || COALESCE(lease_owner, '?')"
	"   || ' expired without a verdict'),"
	" lease_error = NULL,"
	" lease_owner = NULL, lease_token_hash = NULL,"
	" lease_expires_at = NULL, updated_at = now()"
	" WHERE id IN (SELECT id FROM jobs WHERE state = 'leased'"
	"              AND lease_expires_at < now()"
	"              FOR UPDATE SKIP LOCKED)"
	" RETURNING id, state, attempts, last_error, max_attempts";

static const char SQL_JOB_NEXT_QUEUED[] =
	"SELECT j.id FROM jobs j"
	" JOIN configs c ON c.id = j.config_id"
	" JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE j.state = 'queued'"
	"   AND ($1::text[] IS NULL OR n.name LIKE ANY ($1::text[]))"
	" ORDER BY j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED";

static const char SQL_JOB_LEASE[] =
	"UPDATE jobs j SET state = 'leased', lease_error = NULL,"
	" lease_owner = $2, lease_token_hash = decode($3, 'hex'),"
	" lease_expires_at = now() + ($4::int * interval '1 s'),"
	" updated_at = now()"
	" FROM configs c, namespaces n, versions v"
	" WHERE j.id = $1::bigint AND c.id = j.config_id"
	"   AND n.id = c.namespace_id AND v.config_id = j.config_id"
	"   AND v.version = j.version"
	" RETURNING j.id, n.name, c.name, j.version, v.digest, j.suite,"
	"  j.attempts + 1, "
	TS("j.lease_expires_at");

static const char SQL_JOB_HEARTBEAT[] =
	"UPDATE jobs SET lease_expires_at = now() + ($3::int * "
	"interval '1 s'), updated_at = now()"
	" WHERE id = $1::bigint AND state = 'leased'"
	"   AND lease_expires_at >= now()"
	"   AND lease_token_hash = decode($2, 'hex')"
	" RETURNING "
	TS("lease_expires_at");

static const char SQL_JOB_EXISTS[] =
	"SELECT 1 FROM jobs WHERE id = $1::bigint";

/* Why the verdict posted under the current lease was refused: the job's
 * last error once that lease ends. */
static const char SQL_JOB_LEASE_ERROR[] =
	"UPDATE jobs SET lease_error = $3, updated_at = now()"
	" WHERE id = $1::bigint AND state = 'leased'"
	"   AND lease_token_hash = decode($2, 'hex')";

static const char SQL_JOBS_OF_VERSION[] =
	"SELECT j.id, j.suite, j.state, j.attempts, j.max_attempts,"
	"       j.last_error, "
	TS("j.updated_at")
	"  FROM jobs j JOIN configs c ON c.id = j.config_id"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2 AND j.version = $3::int"
	" ORDER BY j.id";

static const char SQL_JOB_LEASE_STATE[] =
	"SELECT j.state, j.lease_token_hash = decode($2, 'hex')"
	"       AND j.lease_expires_at >= now(),"
	"       n.name, c.name, j.version, v.digest, j.suite,"
	"       (SELECT verdict FROM verdicts WHERE job_id = j.id)"
	"  FROM jobs j JOIN configs c ON c.id = j.config_id"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	"  JOIN versions v ON v.config_id = j.config_id"
	"   AND v.version = j.version"
	" WHERE j.id = $1::bigint FOR UPDATE OF j";

static const char SQL_VERDICT_INSERT[] =
	"INSERT INTO verdicts (job_id, config_id, version, suite,"
	" suite_digest, result, runner, runner_keyid, verdict)"
	" SELECT $1::bigint, c.id, $4::int, $5, $6, $7, $8, $9, $10"
	" FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $2 AND c.name = $3";

static const char SQL_JOB_DONE[] =
	"UPDATE jobs SET state = 'done',"
	" lease_expires_at = NULL,"
	" lease_token_hash = NULL,"
	" updated_at = now() WHERE id = $1::bigint";

static const char SQL_VERDICTS_LIST[] =
	"SELECT d.job_id, d.suite, d.suite_digest, d.result, d.runner,"
	"       d.runner_keyid, "
	TS("d.created_at")
	", d.verdict"
	"  FROM versions v JOIN configs c ON "
	"c.id = v.config_id"
	"  JOIN namespaces n ON n.id = "
	"c.namespace_id"
	"  LEFT JOIN verdicts d ON d.config_id "
	"= v.config_id"
	"   AND d.version = v.version"
	" WHERE n.name = $1 AND c.name = $2 "
	"AND v.version = $3::int"
	" ORDER BY d.created_at DESC";
/* clang-format on */

/* Jobs this process abandoned (for /metrics). */
static atomic_ullong jobs_abandoned;

unsigned long long optreg_store_jobs_abandoned_total(void)
{
	return atomic_load(&jobs_abandoned);
}

void optreg_store_jobs_count_abandoned(int n)
{
	if (n > 0)
		atomic_fetch_add(&jobs_abandoned, (unsigned long long)n);
}

static void token_hash_hex(const char *token, char out[65])
{
	optreg_sha256_hex(token, strlen(token), out);
}

int optreg_store_jobs_requeue_expired(PGconn *conn,
				      const struct optreg_audit_actor *who,
				      int *requeued, int *abandoned,
				      struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_JOBS_REQUEUE_EXPIRED, 0, NULL,
				 PGRES_TUPLES_OK, &res, errs);

	*requeued = 0;
	*abandoned = 0;
	if (rc)
		return rc;
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		const char *state = PQgetvalue(res, i, 1);
		int attempts = atoi(PQgetvalue(res, i, 2));
		char target[32];
		snprintf(target, sizeof(target), "job/%s",
			 PQgetvalue(res, i, 0));
		rc = optreg_audit_append(conn, who, "job.expired", target,
					 json_pack("{s:s, s:i, s:s}", "now",
						   state, "attempts", attempts,
						   "last_error",
						   PQgetvalue(res, i, 3)),
					 NULL, errs);
		if (rc == 0 && !strcmp(state, "abandoned")) {
			rc = optreg_audit_append(
				conn, who, "job.abandoned", target,
				json_pack("{s:i, s:i, s:s}", "attempts",
					  attempts, "max_attempts",
					  atoi(PQgetvalue(res, i, 4)),
					  "last_error", PQgetvalue(res, i, 3)),
				NULL, errs);
			(*abandoned)++;
		}
		(*requeued)++;
	}
	PQclear(res);
	return rc;
}

int optreg_store_jobs_lease(PGconn *conn, const char *const *patterns,
			    size_t npatterns, const char *runner,
			    int lease_seconds,
			    const struct optreg_audit_actor *who, json_t **job,
			    struct optreg_errors *errs)
{
	struct optreg_buf likes = OPTREG_BUF_INIT;
	unsigned char rnd[32];
	char token[65], hash[65], secs[16];
	PGresult *res = NULL;
	int requeued, abandoned = 0, rc;

	*job = NULL;
	if (patterns)
		optreg_glob_like_array(patterns, npatterns, &likes);
	rc = optreg_sql_begin(conn, errs);
	if (rc)
		goto out;
	rc = optreg_store_jobs_requeue_expired(conn, who, &requeued, &abandoned,
					       errs);
	if (rc)
		goto fail;
	/* SKIP LOCKED: concurrent runners take different jobs, never wait
	 * for each other. */
	const char *p1[1] = {patterns ? likes.data : NULL};
	rc = optreg_sql_exec(conn, SQL_JOB_NEXT_QUEUED, 1, p1, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc)
		goto fail;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "no_job", NULL,
				  "no job is waiting");
		rc = OPTREG_ENOTFOUND;
		/* Commit: requeued leases stay requeued. */
		if (optreg_sql_commit(conn, errs))
			optreg_sql_rollback(conn);
		else
			optreg_store_jobs_count_abandoned(abandoned);
		goto out;
	}
	char id[24];
	snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	optreg_hex_encode(rnd, sizeof(rnd), token);
	token_hash_hex(token, hash);
	snprintf(secs, sizeof(secs), "%d", lease_seconds);
	const char *p2[4] = {id, runner, hash, secs};
	rc = optreg_sql_exec(conn, SQL_JOB_LEASE, 4, p2, PGRES_TUPLES_OK, &res,
			     errs);
	if (rc)
		goto fail;
	*job = json_pack("{s:I, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:s}", "id",
			 (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10),
			 "namespace", PQgetvalue(res, 0, 1), "name",
			 PQgetvalue(res, 0, 2), "version",
			 atoi(PQgetvalue(res, 0, 3)), "digest",
			 PQgetvalue(res, 0, 4), "suite", PQgetvalue(res, 0, 5),
			 "attempt", atoi(PQgetvalue(res, 0, 6)), "lease_token",
			 token, "lease_expires_at", PQgetvalue(res, 0, 7));
	char target[32];
	snprintf(target, sizeof(target), "job/%s", id);
	rc = optreg_audit_append(
		conn, who, "job.leased", target,
		json_pack("{s:s, s:i, s:s}", "runner", runner, "attempt",
			  atoi(PQgetvalue(res, 0, 6)), "lease_expires_at",
			  PQgetvalue(res, 0, 7)),
		NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	if (rc == 0) {
		optreg_store_jobs_count_abandoned(abandoned);
		goto out;
	}
fail:
	optreg_sql_rollback(conn);
	json_decref(*job);
	*job = NULL;
out:
	PQclear(res);
	optreg_buf_release(&likes);
	return rc;
}

/* Whether job `id` exists; false with *rc set when the query failed. */
static bool job_exists(PGconn *conn, long long id, struct optreg_errors *errs,
		       int *rc)
{
	char ids[24];
	const char *p[1] = {ids};
	PGresult *res;
	bool found;

	snprintf(ids, sizeof(ids), "%lld", id);
	*rc = optreg_sql_exec(conn, SQL_JOB_EXISTS, 1, p, PGRES_TUPLES_OK, &res,
			      errs);
	found = *rc == 0 && PQntuples(res) > 0;
	PQclear(res);
	return found;
}

int optreg_store_jobs_heartbeat(PGconn *conn, long long id, const char *token,
				int lease_seconds, json_t **out,
				struct optreg_errors *errs)
{
	char ids[24], hash[65], secs[16];
	const char *p[3] = {ids, hash, secs};
	PGresult *res;

	*out = NULL;
	snprintf(ids, sizeof(ids), "%lld", id);
	snprintf(secs, sizeof(secs), "%d", lease_seconds);
	token_hash_hex(token, hash);
	int rc = optreg_sql_exec(conn, SQL_JOB_HEARTBEAT, 3, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) == 0 && !job_exists(conn, id, errs, &rc)) {
		if (rc == 0) {
			optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found",
					  NULL, "job %lld not found", id);
			rc = OPTREG_ENOTFOUND;
		}
	} else if (PQntuples(res) == 0) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ECONFLICT, "lease_lost", "lease_token",
			"job %lld is not leased with this token (the lease "
			"expired or another runner holds it)",
			id);
		optreg_error_set_hint(e, "stop working on it and lease "
					 "another job");
		rc = OPTREG_ECONFLICT;
	} else {
		*out = json_pack("{s:I, s:s}", "id", (json_int_t)id,
				 "lease_expires_at", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

/* Checks the verdict payload against the job; adds errors. */
static bool verdict_matches(json_t *v, long long id, const char *digest,
			    const char *suite, struct optreg_errors *errs)
{
	const struct optreg_verdict_expect want = {
		.job_id = id, .config_digest = digest, .suite = suite};

	return optreg_verdict_check(v, &want, OPTREG_VOICE_REGISTRY, NULL,
				    errs) == 0;
}

/*
 * Keeps why the verdict posted under the current lease (token hash `hash`)
 * was refused: errs' items from `before` on. It becomes the job's
 * last_error when the lease ends. Best effort, outside the refused
 * transaction: a failure here leaves the lease's own error.
 */
static void note_refusal(PGconn *conn, const char *ids, const char *hash,
			 const struct optreg_errors *errs, size_t before)
{
	struct optreg_errors ignored = OPTREG_ERRORS_INIT;
	struct optreg_buf why = OPTREG_BUF_INIT;
	PGresult *res = NULL;

	optreg_buf_adds(&why, "the verdict was refused:");
	for (size_t i = before; i < errs->len && why.len < 2000; i++)
		optreg_buf_addf(&why, "%s %s%s%s", i > before ? ";" : "",
				errs->items[i].path ? errs->items[i].path : "",
				errs->items[i].path ? ": " : "",
				errs->items[i].message);
	const char *p[3] = {ids, hash, why.data};
	optreg_sql_exec(conn, SQL_JOB_LEASE_ERROR, 3, p, PGRES_COMMAND_OK, &res,
			&ignored);
	PQclear(res);
	optreg_buf_release(&why);
	optreg_errors_release(&ignored);
}

int optreg_store_jobs_verdict(PGconn *conn, long long id, const char *token,
			      const struct optreg_dsse *env,
			      const char *envelope_canon,
			      const struct optreg_audit_actor *who,
			      bool *created, json_t **out,
			      struct optreg_errors *errs)
{
	char ids[24], hash[65];
	const char *p[2] = {ids, hash};
	const char **valid = NULL;
	PGresult *res = NULL;
	json_t *payload = NULL;
	size_t before = errs->len;
	bool refused = false;
	int rc;

	*created = false;
	*out = NULL;
	snprintf(ids, sizeof(ids), "%lld", id);
	token_hash_hex(token ? token : "", hash);
	rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	rc = optreg_sql_exec(conn, SQL_JOB_LEASE_STATE, 2, p, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc)
		goto fail;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "job %lld not found", id);
		rc = OPTREG_ENOTFOUND;
		goto fail;
	}
	char *ns = optreg_xstrdup(PQgetvalue(res, 0, 2));
	char *name = optreg_xstrdup(PQgetvalue(res, 0, 3));
	int version = atoi(PQgetvalue(res, 0, 4));
	char *digest = optreg_xstrdup(PQgetvalue(res, 0, 5));
	char *suite = optreg_xstrdup(PQgetvalue(res, 0, 6));
	bool has_lease = !strcmp(PQgetvalue(res, 0, 1), "t");
	char *recorded = PQgetisnull(res, 0, 7)
				 ? NULL
				 : optreg_xstrdup(PQgetvalue(res, 0, 7));
	PQclear(res);
	res = NULL;

	if (recorded) {
		/* Once per job: the same envelope again is idempotent. */
		if (strcmp(recorded, envelope_canon)) {
			optreg_errors_add(errs, OPTREG_ECONFLICT, "recorded",
					  NULL,
					  "job %lld already has a different "
					  "verdict",
					  id);
			rc = OPTREG_ECONFLICT;
			goto done;
		}
		goto answer;
	}
	if (!has_lease) {
		optreg_errors_add(errs, OPTREG_ECONFLICT, "lease_lost",
				  "lease_token",
				  "job %lld is not leased with this token", id);
		rc = OPTREG_ECONFLICT;
		goto done;
	}
	if (strcmp(env->payload_type, OPTREG_VERDICT_PAYLOAD_TYPE)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "payload_type",
				  "payloadType", "must be \"%s\"",
				  OPTREG_VERDICT_PAYLOAD_TYPE);
		rc = OPTREG_EINVAL;
		refused = true;
		goto done;
	}
	/* A verdict's metrics are doubles: a loss of 1e19 is written
	 * 10000000000000000000 in RFC 8785 form. */
	payload = optreg_json_load_doubles(env->payload.data, env->payload.len,
					   0, NULL);
	if (!json_is_object(payload) ||
	    !verdict_matches(payload, id, digest, suite, errs)) {
		if (!json_is_object(payload))
			optreg_errors_add(errs, OPTREG_EINVAL, "syntax",
					  "payload", "must be a JSON object");
		rc = OPTREG_EINVAL;
		refused = true;
		goto done;
	}
	valid = optreg_xcalloc(env->nsigs + 1, sizeof(*valid));
	size_t nvalid = 0;
	rc = optreg_store_signers_verify_envelope(conn, env, ns, valid, &nvalid,
						  errs);
	if (rc == 0 && nvalid == 0) {
		optreg_errors_add(errs, OPTREG_EDENIED, "threshold",
				  "signatures",
				  "a valid signature by a runner key "
				  "allowed for namespace %s is required",
				  ns);
		rc = OPTREG_EDENIED;
	}
	if (rc) {
		refused = rc == OPTREG_EINVAL || rc == OPTREG_EDENIED;
		goto done;
	}
	const char *result = optreg_json_str(payload, "result");
	const char *sd = optreg_json_str(payload, "suite_digest");
	char vs[16];
	snprintf(vs, sizeof(vs), "%d", version);
	const char *ip[10] = {
		ids, ns,     name,	     vs,       suite,
		sd,  result, who->principal, valid[0], envelope_canon};
	rc = optreg_sql_exec(conn, SQL_VERDICT_INSERT, 10, ip, PGRES_COMMAND_OK,
			     &res, errs);
	PQclear(res);
	res = NULL;
	if (rc == 0) {
		rc = optreg_sql_exec(conn, SQL_JOB_DONE, 1, ip,
				     PGRES_COMMAND_OK, &res, errs);
		PQclear(res);
		res = NULL;
	}
	if (rc == 0) {
		char target[300];
		snprintf(target, sizeof(target), "%s/%s@%d", ns, name, version);
		rc = optreg_audit_append(
			conn, who, "verdict.recorded", target,
			json_pack("{s:I, s:s, s:s, s:s, s:s}", "job_id",
				  (json_int_t)id, "suite", suite,
				  "suite_digest", sd, "result", result,
				  "runner_keyid", valid[0]),
			NULL, errs);
	}
	if (rc == 0) {
		*created = true;
		*out = json_loads(envelope_canon, 0, NULL);
	}
	goto done;
answer:
	*out = json_loads(recorded, 0, NULL);
done:
	free(ns);
	free(name);
	free(digest);
	free(suite);
	free(recorded);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	else
		optreg_sql_rollback(conn);
	if (refused)
		note_refusal(conn, ids, hash, errs, before);
	free(valid);
	json_decref(payload);
	return rc;
fail:
	optreg_sql_rollback(conn);
	PQclear(res);
	return rc;
}

int optreg_store_verdicts_list(PGconn *conn, const char *ns, const char *name,
			       int version, json_t **out,
			       struct optreg_errors *errs)
{
	char vs[16];
	const char *p[3] = {ns, name, vs};
	PGresult *res;

	*out = NULL;
	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_exec(conn, SQL_VERDICTS_LIST, 3, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "version %s/%s@%d not found", ns, name,
				  version);
		PQclear(res);
		return OPTREG_ENOTFOUND;
	}
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 0))
			continue;
		json_array_append_new(
			*out,
			json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o}",
				  "job_id",
				  (json_int_t)strtoll(PQgetvalue(res, i, 0),
						      NULL, 10),
				  "suite", PQgetvalue(res, i, 1),
				  "suite_digest", PQgetvalue(res, i, 2),
				  "result", PQgetvalue(res, i, 3), "runner",
				  PQgetvalue(res, i, 4), "runner_keyid",
				  PQgetvalue(res, i, 5), "created_at",
				  PQgetvalue(res, i, 6), "envelope",
				  json_loads(PQgetvalue(res, i, 7), 0, NULL)));
	}
	PQclear(res);
	return 0;
}

int optreg_store_jobs_list(PGconn *conn, const char *ns, const char *name,
			   int version, json_t **out,
			   struct optreg_errors *errs)
{
	char vs[16];
	const char *p[3] = {ns, name, vs};
	PGresult *res;

	*out = NULL;
	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_exec(conn, SQL_JOBS_OF_VERSION, 3, p,
				 PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(
			*out,
			json_pack("{s:I, s:s, s:s, s:i, s:i, s:o, s:s}", "id",
				  (json_int_t)strtoll(PQgetvalue(res, i, 0),
						      NULL, 10),
				  "suite", PQgetvalue(res, i, 1), "state",
				  PQgetvalue(res, i, 2), "attempts",
				  atoi(PQgetvalue(res, i, 3)), "max_attempts",
				  atoi(PQgetvalue(res, i, 4)), "last_error",
				  PQgetisnull(res, i, 5)
					  ? json_null()
					  : json_string(PQgetvalue(res, i, 5)),
				  "updated_at", PQgetvalue(res, i, 6)));
	PQclear(res);
	return 0;
}

/* clang-format off */
static const char SQL_VERDICT_LATEST[] =
	"SELECT result FROM verdicts"
	" WHERE config_id = $1::bigint AND version = $2::int AND suite = $3"
	" ORDER BY created_at DESC, job_id DESC LIMIT 1";
/* clang-format on */

int optreg_store_verdict_latest(PGconn *conn, long long config_id, int version,
				const char *suite, char result[16],
				struct optreg_errors *errs)
{
	char cs[24], vs[16];
	const char *p[3] = {cs, vs, suite};
	PGresult *res;

	snprintf(cs, sizeof(cs), "%lld", config_id);
	snprintf(vs, sizeof(vs), "%d", version);
	result[0] = '\0';
	int rc = optreg_sql_exec(conn, SQL_VERDICT_LATEST, 3, p,
				 PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res))
		snprintf(result, 16, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
