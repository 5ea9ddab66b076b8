/*
 * tests/unit/registry/jobs_test.c: the jobs and verdicts services
 * (registry/svc/jobs.h) against a private PostgreSQL cluster, without
 * HTTP: leases and heartbeats, expired leases requeued until the job has
 * used its attempts, verdicts (recorded once, a repeat is idempotent, a
 * different one a conflict), each refusal writing nothing, and the list
 * of a version's verdicts. Each test works in its own namespace "j-*"
 * (the fixture's key is allowed there too), so their jobs do not mix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/keyset.h"
#include "common/jsonutil.h"
#include "registry/pool.h"
#include "registry/sql.h"
#include "registry/store/jobs.h"
#include "registry/svc/jobs.h"
#include "registry/svc/signers.h"
#include "svc_fixture.h"

#define SUITE_DIGEST                                                           \
	"sha256:0123456789abcdef0123456789abcdef"                              \
	"0123456789abcdef0123456789abcdef"

/* The runner's key, registered for verdicts (the fixture's signs
 * configs). */
static struct optreg_key *runner_signer;

static int jobs_setup(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	json_t *out = NULL, *ns = json_pack("[s, s]", "team", "j-*");
	int rc = -1;

	if (fixture_setup(state) ||
	    fixture_scalar("UPDATE signing_keys SET namespaces ="
			   " '{team,j-*}'") != 1)
		goto out;
	if (optreg_key_generate(&runner_signer, &errs) == 0 &&
	    optreg_key_public_pem(runner_signer, &pem) == 0 &&
	    optreg_signers_add(&fixture_reg, &fixture_who, pem.data, "runner",
			       ns, OPTREG_KEY_PURPOSE_VERDICT, &out,
			       &errs) == 0)
		rc = 0;
out:
	json_decref(out);
	json_decref(ns);
	optreg_buf_release(&pem);
	optreg_errors_release(&errs);
	return rc;
}

static int jobs_teardown(void **state)
{
	optreg_key_free(runner_signer);
	return fixture_teardown(state);
}

/* Submits ns/cfg and leases its job; the job (a new object). */
static json_t *submit_and_lease(const char *ns, char *digest)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *patterns[1] = {ns};
	json_t *job = NULL;

	assert_int_equal(fixture_submit(ns, "cfg", 0.01, digest), 1);
	assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who, patterns,
					   1, "runner-1", 60, &job, &errs),
			 0);
	assert_non_null(job);
	return job;
}

static long long job_id(json_t *job)
{
	return json_integer_value(json_object_get(job, "id"));
}

static const char *lease_token(json_t *job)
{
	return json_string_value(json_object_get(job, "lease_token"));
}

static void expire(long long id)
{
	char *sql = optreg_xasprintf("UPDATE jobs SET lease_expires_at = now()"
				     " - interval '1 s' WHERE id = %lld",
				     id);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
}

/* A verdict envelope: `payload` (stolen) as its canonical JSON with
 * `type`, signed by `key` when not NULL; the canonical envelope in
 * `canon`. */
static void verdict_envelope(struct optreg_dsse *env, const char *type,
			     json_t *payload, const struct optreg_key *key,
			     struct optreg_buf *canon)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_dsse_init(env);
	env->payload_type = optreg_xstrdup(type);
	if (json_is_object(payload) || json_is_array(payload))
		assert_int_equal(
			optreg_jcs_serialize(payload, &env->payload, &errs), 0);
	else
		optreg_buf_adds(&env->payload, "not json");
	json_decref(payload);
	if (key)
		assert_int_equal(optreg_dsse_sign(env, key, &errs), 0);
	json_t *ej = optreg_dsse_to_json(env);
	assert_int_equal(optreg_jcs_serialize(ej, canon, &errs), 0);
	json_decref(ej);
}

static json_t *payload(long long id, const char *digest, const char *suite,
		       const char *result)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "job_id", (json_int_t)id,
			 "config_digest", digest, "suite", suite,
			 "suite_digest", SUITE_DIGEST, "result", result);
}

/* Posts the verdict; the code. */
static int post(long long id, const char *token, const char *type, json_t *pl,
		const struct optreg_key *key, bool *created, json_t **out,
		struct optreg_errors *errs)
{
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_dsse env;

	verdict_envelope(&env, type, pl, key, &canon);
	int rc = optreg_jobs_verdict(&fixture_reg, &fixture_who, id, token,
				     &env, canon.data, created, out, errs);
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	return rc;
}

static void test_lease_and_heartbeat(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	const char *patterns[1] = {"j-a"};
	json_t *out = NULL;

	(void)state;
	long long events = fixture_count("audit_events");
	json_t *job = submit_and_lease("j-a", digest);
	/* The submit's event and the lease's. */
	assert_int_equal(fixture_count("audit_events"), events + 2);
	assert_string_equal(
		json_string_value(json_object_get(job, "namespace")), "j-a");
	assert_string_equal(json_string_value(json_object_get(job, "name")),
			    "cfg");
	assert_int_equal(json_integer_value(json_object_get(job, "version")),
			 1);
	assert_string_equal(json_string_value(json_object_get(job, "digest")),
			    digest);
	assert_string_equal(json_string_value(json_object_get(job, "suite")),
			    OPTREG_DEFAULT_SUITE);
	assert_int_equal(json_integer_value(json_object_get(job, "attempt")),
			 1);
	assert_int_equal(strlen(lease_token(job)), 64);

	/* Nothing else waits there, nor in a namespace nobody has. */
	assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who, patterns,
					   1, "runner-2", 60, &out, &errs),
			 OPTREG_ENOTFOUND);
	assert_null(out);
	assert_string_equal(errs.items[0].rule, "no_job");
	optreg_errors_release(&errs);
	const char *none[1] = {"j-nobody*"};
	assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who, none, 1,
					   "runner-2", 60, &out, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);

	events = fixture_count("audit_events");
	assert_int_equal(optreg_jobs_heartbeat(&fixture_reg, job_id(job),
					       lease_token(job), 120, &out,
					       &errs),
			 0);
	assert_int_equal(json_integer_value(json_object_get(out, "id")),
			 job_id(job));
	assert_non_null(
		json_string_value(json_object_get(out, "lease_expires_at")));
	json_decref(out);

	/* Another token, another job: the lease is lost. */
	assert_int_equal(optreg_jobs_heartbeat(&fixture_reg, job_id(job), "00",
					       60, &out, &errs),
			 OPTREG_ECONFLICT);
	assert_null(out);
	assert_string_equal(errs.items[0].rule, "lease_lost");
	assert_string_equal(errs.items[0].path, "lease_token");
	optreg_errors_release(&errs);
	/* An unknown job is not found, not a lost lease (issue 10). */
	assert_int_equal(optreg_jobs_heartbeat(&fixture_reg, 999999,
					       lease_token(job), 60, &out,
					       &errs),
			 OPTREG_ENOTFOUND);
	assert_string_equal(errs.items[0].rule, "not_found");
	optreg_errors_release(&errs);
	/* Heartbeats are not audited. */
	assert_int_equal(fixture_count("audit_events"), events);
	json_decref(job);
}

static void test_expired_leases_and_attempts(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *patterns[1] = {"j-b"};
	json_t *out = NULL, *again = NULL;
	bool created;

	(void)state;
	json_t *job = submit_and_lease("j-b", NULL);
	long long id = job_id(job);
	expire(id);
	assert_int_equal(optreg_jobs_heartbeat(&fixture_reg, id,
					       lease_token(job), 60, &out,
					       &errs),
			 OPTREG_ECONFLICT);
	assert_string_equal(errs.items[0].rule, "lease_lost");
	optreg_errors_release(&errs);

	/* The next lease requeues it (an event) and takes it again. */
	for (int attempt = 2; attempt <= 3; attempt++) {
		long long expired =
			fixture_scalar("SELECT count(*) FROM audit_events"
				       " WHERE action = 'job.expired'");
		assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who,
						   patterns, 1, "runner-2", 60,
						   &again, &errs),
				 0);
		assert_int_equal(job_id(again), id);
		assert_int_equal(
			json_integer_value(json_object_get(again, "attempt")),
			attempt);
		assert_string_not_equal(lease_token(again), lease_token(job));
		assert_int_equal(fixture_scalar("SELECT count(*) FROM "
						"audit_events WHERE action ="
						" 'job.expired'"),
				 expired + 1);
		/* The old lease's verdict is refused. */
		assert_int_equal(
			post(id, lease_token(job), OPTREG_VERDICT_PAYLOAD_TYPE,
			     payload(id, "x", OPTREG_DEFAULT_SUITE, "pass"),
			     runner_signer, &created, &out, &errs),
			OPTREG_ECONFLICT);
		assert_string_equal(errs.items[0].rule, "lease_lost");
		optreg_errors_release(&errs);
		json_decref(job);
		job = again;
		expire(id);
	}
	/* Its attempts used (3), the expired job is abandoned instead,
	 * with its last error, audited and counted (issue 10). */
	unsigned long long abandoned = optreg_store_jobs_abandoned_total();
	long long events = fixture_scalar("SELECT count(*) FROM audit_events"
					  " WHERE action = 'job.abandoned'");
	assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who, patterns,
					   1, "runner-2", 60, &again, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
	char *sql = optreg_xasprintf(
		"SELECT count(*) FROM jobs WHERE id = %lld AND state = "
		"'abandoned' AND attempts = 3 AND last_error ="
		" 'the lease of runner runner-2 expired without a verdict'",
		id);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
	assert_int_equal(fixture_scalar("SELECT count(*) FROM audit_events"
					" WHERE action = 'job.abandoned'"),
			 events + 1);
	assert_true(optreg_store_jobs_abandoned_total() == abandoned + 1);
	assert_int_equal(
		optreg_jobs_list(&fixture_reg, "j-b", "cfg", 1, &out, &errs),
		0);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(out, 0), "state")),
			    "abandoned");
	json_decref(out);
	json_decref(job);
}

static void test_verdict_once(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	json_t *out = NULL, *list = NULL;
	bool created = false;

	(void)state;
	json_t *job = submit_and_lease("j-c", digest);
	long long id = job_id(job);
	long long events = fixture_count("audit_events");
	long long verdicts = fixture_count("verdicts");
	assert_int_equal(post(id, lease_token(job), OPTREG_VERDICT_PAYLOAD_TYPE,
			      payload(id, digest, OPTREG_DEFAULT_SUITE, "pass"),
			      runner_signer, &created, &out, &errs),
			 0);
	assert_true(created);
	assert_string_equal(
		json_string_value(json_object_get(out, "payloadType")),
		OPTREG_VERDICT_PAYLOAD_TYPE);
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(fixture_count("verdicts"), verdicts + 1);
	char *sql = optreg_xasprintf("SELECT count(*) FROM jobs WHERE id = "
				     "%lld AND state = 'done'",
				     id);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);

	/* The same envelope again (signatures are deterministic): the
	 * recorded verdict, nothing new, even without the lease. */
	assert_int_equal(post(id, "gone", OPTREG_VERDICT_PAYLOAD_TYPE,
			      payload(id, digest, OPTREG_DEFAULT_SUITE, "pass"),
			      runner_signer, &created, &out, &errs),
			 0);
	assert_false(created);
	assert_non_null(out);
	json_decref(out);
	/* A different one: a conflict. */
	assert_int_equal(post(id, lease_token(job), OPTREG_VERDICT_PAYLOAD_TYPE,
			      payload(id, digest, OPTREG_DEFAULT_SUITE, "fail"),
			      runner_signer, &created, &out, &errs),
			 OPTREG_ECONFLICT);
	assert_false(created);
	assert_null(out);
	assert_string_equal(errs.items[0].rule, "recorded");
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(fixture_count("verdicts"), verdicts + 1);

	/* The version's verdicts. */
	assert_int_equal(optreg_verdicts_list(&fixture_reg, "j-c", "cfg", 1,
					      &list, &errs),
			 0);
	assert_int_equal(json_array_size(list), 1);
	json_t *v = json_array_get(list, 0);
	assert_int_equal(json_integer_value(json_object_get(v, "job_id")), id);
	assert_string_equal(json_string_value(json_object_get(v, "result")),
			    "pass");
	assert_string_equal(json_string_value(json_object_get(v, "runner")),
			    "admin@test");
	assert_string_equal(
		json_string_value(json_object_get(v, "suite_digest")),
		SUITE_DIGEST);
	assert_true(json_is_object(json_object_get(v, "envelope")));
	json_decref(list);
	assert_int_equal(errs.len, 0);
	json_decref(job);
}

/* Posts a refused verdict for job `job`; checks code, first rule and
 * path, and that nothing was written and the job is still leased. */
static void refused(json_t *job, long long id, const char *token,
		    const char *type, json_t *pl, const struct optreg_key *key,
		    int code, const char *rule, const char *path)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = (json_t *)1;
	bool created = true;
	long long events = fixture_count("audit_events");
	long long verdicts = fixture_count("verdicts");

	assert_int_equal(post(id, token, type, pl, key, &created, &out, &errs),
			 code);
	assert_false(created);
	assert_null(out);
	assert_true(errs.len >= 1);
	assert_string_equal(errs.items[0].rule, rule);
	if (path)
		assert_string_equal(errs.items[0].path, path);
	else
		assert_true(!errs.items[0].path || !*errs.items[0].path);
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("audit_events"), events);
	assert_int_equal(fixture_count("verdicts"), verdicts);
	char *sql = optreg_xasprintf("SELECT count(*) FROM jobs WHERE id = "
				     "%lld AND state = 'leased'",
				     job_id(job));
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
}

/* A new key registered for `ns` (revoked when `revoke`). */
static struct optreg_key *registered_key(const char *ns, bool revoke)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	struct optreg_key *k = NULL;
	char keyid[OPTREG_KEYID_LEN + 1];
	json_t *out = NULL, *nss = json_pack("[s]", ns);

	assert_int_equal(optreg_key_generate(&k, &errs), 0);
	assert_int_equal(optreg_key_public_pem(k, &pem), 0);
	assert_int_equal(optreg_signers_add(
				 &fixture_reg, &fixture_who, pem.data, "runner",
				 nss, OPTREG_KEY_PURPOSE_VERDICT, &out, &errs),
			 0);
	json_decref(out);
	optreg_key_id(k, keyid);
	if (revoke) {
		assert_int_equal(optreg_signers_revoke(&fixture_reg,
						       &fixture_who, keyid,
						       &out, &errs),
				 0);
		json_decref(out);
	}
	json_decref(nss);
	optreg_buf_release(&pem);
	return k;
}

static void test_verdict_refusals(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_key *stranger = NULL;
	const char *T = OPTREG_VERDICT_PAYLOAD_TYPE, *S = OPTREG_DEFAULT_SUITE;

	(void)state;
	json_t *job = submit_and_lease("j-d", digest);
	long long id = job_id(job);
	const char *tok = lease_token(job);
	assert_int_equal(optreg_key_generate(&stranger, &errs), 0);

	refused(job, 999999, tok, T, payload(999999, digest, S, "pass"),
		runner_signer, OPTREG_ENOTFOUND, "not_found", NULL);
	refused(job, id, "wrong", T, payload(id, digest, S, "pass"),
		runner_signer, OPTREG_ECONFLICT, "lease_lost", "lease_token");
	refused(job, id, tok, OPTREG_CONFIG_PAYLOAD_TYPE,
		payload(id, digest, S, "pass"), runner_signer, OPTREG_EINVAL,
		"payload_type", "payloadType");
	refused(job, id, tok, T, NULL, runner_signer, OPTREG_EINVAL, "syntax",
		"payload");
	refused(job, id, tok, T, payload(id + 1, digest, S, "pass"),
		runner_signer, OPTREG_EINVAL, "mismatch", "job_id");
	refused(job, id, tok, T, payload(id, "sha256:00", S, "pass"),
		runner_signer, OPTREG_EINVAL, "mismatch", "config_digest");
	refused(job, id, tok, T, payload(id, digest, "other-suite", "pass"),
		runner_signer, OPTREG_EINVAL, "mismatch", "suite");
	refused(job, id, tok, T, payload(id, digest, S, "maybe"), runner_signer,
		OPTREG_EINVAL, "enum", "result");
	json_t *pl = payload(id, digest, S, "pass");
	json_object_set_new(pl, "suite_digest", json_string("md5:x"));
	refused(job, id, tok, T, pl, runner_signer, OPTREG_EINVAL, "type",
		"suite_digest");
	refused(job, id, tok, T, payload(id, digest, S, "pass"), NULL,
		OPTREG_EDENIED, "threshold", "signatures");
	refused(job, id, tok, T, payload(id, digest, S, "pass"), stranger,
		OPTREG_EDENIED, "unknown_key", "signatures[0]");
	/* The config key that signed the config may not sign its verdict. */
	refused(job, id, tok, T, payload(id, digest, S, "pass"), fixture_signer,
		OPTREG_EDENIED, "key_purpose", "signatures[0]");
	struct optreg_key *elsewhere = registered_key("team", false);
	refused(job, id, tok, T, payload(id, digest, S, "pass"), elsewhere,
		OPTREG_EDENIED, "key_not_allowed", "signatures[0]");
	struct optreg_key *revoked = registered_key("j-d", true);
	refused(job, id, tok, T, payload(id, digest, S, "pass"), revoked,
		OPTREG_EDENIED, "revoked_key", "signatures[0]");
	optreg_key_free(elsewhere);
	optreg_key_free(revoked);

	/* After all that, the lease still holds and a good verdict lands. */
	bool created = false;
	json_t *out = NULL;
	assert_int_equal(post(id, tok, T, payload(id, digest, S, "warn"),
			      runner_signer, &created, &out, &errs),
			 0);
	assert_true(created);
	json_decref(out);
	optreg_key_free(stranger);
	json_decref(job);
}

/* A verdict whose metrics are 1e19 (RFC 8785: a 20-digit integer), 1e-320,
 * 1.7e308 and an integer beyond 2^63 is recorded, and reads back through
 * the list as the same doubles (issue 10: it was refused as
 * invalid_verdict). */
static void test_verdict_wide_numbers(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	const double wide[] = {1e19,  1e-320, 1.7e308, 123456789012345678901.0,
			       -1e20, 5e-324};
	json_t *out = NULL, *list = NULL;
	bool created = false;

	(void)state;
	json_t *job = submit_and_lease("j-w", digest);
	long long id = job_id(job);
	json_t *pl = payload(id, digest, OPTREG_DEFAULT_SUITE, "fail");
	json_t *curve = json_array();
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		json_array_append_new(curve, json_real(wide[i]));
	json_object_set_new(
		pl, "metrics",
		json_pack("{s:f, s:o}", "final_loss", 1e19, "curve", curve));
	assert_int_equal(post(id, lease_token(job), OPTREG_VERDICT_PAYLOAD_TYPE,
			      pl, runner_signer, &created, &out, &errs),
			 0);
	assert_true(created);
	json_decref(out);
	assert_int_equal(optreg_verdicts_list(&fixture_reg, "j-w", "cfg", 1,
					      &list, &errs),
			 0);
	assert_int_equal(json_array_size(list), 1);
	const json_t *ej = json_object_get(json_array_get(list, 0), "envelope");
	char *text = json_dumps(ej, JSON_COMPACT);
	struct optreg_dsse env;
	optreg_dsse_init(&env);
	assert_int_equal(optreg_dsse_parse(&env, text, strlen(text), &errs), 0);
	assert_non_null(strstr(env.payload.data, "10000000000000000000"));
	json_t *back = optreg_json_load_doubles(env.payload.data,
						env.payload.len, 0, NULL);
	assert_non_null(back);
	const json_t *m = json_object_get(back, "metrics");
	assert_true(json_real_value(json_object_get(m, "final_loss")) == 1e19);
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		assert_true(json_real_value(json_array_get(
				    json_object_get(m, "curve"), i)) ==
			    wide[i]);
	json_decref(back);
	optreg_dsse_release(&env);
	free(text);
	json_decref(list);
	json_decref(job);
}

/* Taking a lease counts no attempt: only its end without a verdict does
 * (issue 10, item 6). A refused verdict becomes the job's last error once
 * the lease ends. */
static void test_attempts_counted_when_leases_end(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	const char *patterns[1] = {"j-f"};
	json_t *out = NULL, *again = NULL;
	bool created;
	char *sql;

	(void)state;
	json_t *job = submit_and_lease("j-f", digest);
	long long id = job_id(job);
	sql = optreg_xasprintf("SELECT attempts FROM jobs WHERE id = %lld", id);
	assert_int_equal(fixture_scalar(sql), 0);
	/* A refused verdict: the lease holds, nothing is counted yet. */
	assert_int_equal(post(id, lease_token(job), OPTREG_VERDICT_PAYLOAD_TYPE,
			      payload(id, digest, "other-suite", "pass"),
			      fixture_signer, &created, &out, &errs),
			 OPTREG_EINVAL);
	optreg_errors_release(&errs);
	assert_int_equal(fixture_scalar(sql), 0);
	expire(id);
	assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who, patterns,
					   1, "runner-2", 60, &again, &errs),
			 0);
	assert_int_equal(job_id(again), id);
	assert_int_equal(json_integer_value(json_object_get(again, "attempt")),
			 2);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
	sql = optreg_xasprintf(
		"SELECT count(*) FROM jobs WHERE id = %lld AND last_error LIKE"
		" 'the verdict was refused: suite: must be %%'"
		" AND lease_error IS NULL",
		id);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
	json_decref(again);
	json_decref(job);
}

static void test_verdicts_list(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = NULL;

	(void)state;
	assert_int_equal(fixture_submit("j-e", "cfg", 0.5, NULL), 1);
	assert_int_equal(optreg_verdicts_list(&fixture_reg, "j-e", "cfg", 1,
					      &out, &errs),
			 0);
	assert_true(json_is_array(out));
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	assert_int_equal(optreg_verdicts_list(&fixture_reg, "j-e", "cfg", 2,
					      &out, &errs),
			 OPTREG_ENOTFOUND);
	assert_null(out);
	assert_string_equal(errs.items[0].rule, "not_found");
	optreg_errors_release(&errs);
	assert_int_equal(optreg_verdicts_list(&fixture_reg, "j-e", "nothing", 1,
					      &out, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
}

/* optreg_jobs_abandoned_total counts committed abandonments only: a
 * transaction that abandons a job and rolls back (a retry, a failure
 * later in the lease) counts nothing; the lease that commits counts it
 * once. */
static void test_abandoned_counted_after_commit(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *patterns[1] = {"j-r"};
	json_t *again = NULL;
	int requeued = 0, abandoned = 0;

	(void)state;
	json_t *job = submit_and_lease("j-r", NULL);
	long long id = job_id(job);
	char *sql = optreg_xasprintf("UPDATE jobs SET attempts = max_attempts"
				     " - 1 WHERE id = %lld",
				     id);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
	expire(id);
	unsigned long long before = optreg_store_jobs_abandoned_total();

	PGconn *c = optreg_pool_get(fixture_reg.db, 5000);
	assert_non_null(c);
	assert_int_equal(optreg_sql_begin(c, &errs), 0);
	assert_int_equal(optreg_store_jobs_requeue_expired(
				 c, &fixture_who, &requeued, &abandoned, &errs),
			 0);
	assert_true(abandoned >= 1);
	optreg_sql_rollback(c);
	optreg_pool_put(fixture_reg.db, c, false);
	assert_true(optreg_store_jobs_abandoned_total() == before);

	assert_int_equal(optreg_jobs_lease(&fixture_reg, &fixture_who, patterns,
					   1, "runner-r", 60, &again, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
	assert_true(optreg_store_jobs_abandoned_total() ==
		    before + (unsigned long long)abandoned);
	json_decref(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lease_and_heartbeat),
		cmocka_unit_test(test_expired_leases_and_attempts),
		cmocka_unit_test(test_verdict_once),
		cmocka_unit_test(test_verdict_refusals),
		cmocka_unit_test(test_verdicts_list),
		cmocka_unit_test(test_verdict_wide_numbers),
		cmocka_unit_test(test_attempts_counted_when_leases_end),
		cmocka_unit_test(test_abandoned_counted_after_commit),
	};

	return cmocka_run_group_tests_name("jobs", tests, jobs_setup,
					   jobs_teardown);
}
