/*
 * runner/verdict.c: building verdicts and signing them (verdict.h). The
 * suite (suite.c) fills a verdict's body; `serve` (job.c) builds `error`
 * verdicts for configs it does not judge and signs every verdict it posts.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/dsse.h"
#include "../common/jsonutil.h"
#include "../validator/jcs.h"
#include "findings.h" /* OPTREG_RUNNER_VERSION, optreg_finding_new */
#include "verdict.h"

json_t *optreg_verdict_new(const char *config_digest, const char *suite,
			   const char *suite_digest, const char *device)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "config_digest",
			 config_digest, "suite", suite, "suite_digest",
			 suite_digest, "runner_version", OPTREG_RUNNER_VERSION,
			 "device", device, "result", "error");
}

json_t *optreg_verdict_error(const char *config_digest, const char *suite,
			     const char *suite_digest, const char *criterion,
			     const struct optreg_errors *why)
{
	json_t *v =
		optreg_verdict_new(config_digest, suite, suite_digest, "none");
	json_t *findings = json_array();
	char now[OPTREG_CLOCK_TS_SIZE];

	optreg_clock_now_ms(now);
	for (size_t i = 0; i < why->len; i++)
		json_array_append_new(
			findings,
			optreg_finding_new(criterion, "error", NULL, 0,
					   json_pack("{s:s, s:s}", "path",
						     why->items[i].path, "rule",
						     why->items[i].rule),
					   "%s", why->items[i].message));
	json_object_set_new(v, "workloads", json_array());
	json_object_set_new(v, "findings", findings);
	json_object_set_new(v, "time",
			    json_pack("{s:s, s:i, s:{}}", "started_at", now,
				      "seconds", 0, "train_seconds"));
	return v;
}

static const char *member(const json_t *v, const char *key)
{
	const char *s = optreg_json_str(v, key);

	return s ? s : "";
}

int optreg_verdict_sign(json_t *verdict, long long job_id, const char *runner,
			const struct optreg_key *key, char **envelope,
			int *replaced, struct optreg_errors *errs)
{
	struct optreg_errors enc = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_dsse env;
	int rc;

	*envelope = NULL;
	*replaced = 0;
	json_object_set_new(verdict, "job_id", json_integer(job_id));
	json_object_set_new(verdict, "runner", json_string(runner));
	if (optreg_jcs_serialize(verdict, &canon, &enc) < 0) {
		/* A metric the suite left non-finite: say so rather than
		 * post nothing. */
		json_t *ev =
			optreg_verdict_error(member(verdict, "config_digest"),
					     member(verdict, "suite"),
					     member(verdict, "suite_digest"),
					     "verdict_encoding", &enc);
		json_object_set_new(ev, "job_id", json_integer(job_id));
		json_object_set_new(ev, "runner", json_string(runner));
		optreg_buf_reset(&canon);
		optreg_jcs_serialize(ev, &canon, NULL);
		json_decref(ev);
		*replaced = 1;
	}
	optreg_errors_release(&enc);
	optreg_dsse_init(&env);
	env.payload_type = optreg_xstrdup(OPTREG_VERDICT_PAYLOAD_TYPE);
	optreg_buf_add(&env.payload, canon.data, canon.len);
	rc = optreg_dsse_sign(&env, key, errs);
	if (rc == 0) {
		json_t *ej = optreg_dsse_to_json(&env);
		*envelope = json_dumps(ej, JSON_COMPACT);
		json_decref(ej);
	}
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	return rc;
}
