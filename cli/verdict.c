/*
 * cli/verdict.c: a version's latest verdict, what it means as an exit
 * status, and waiting for it (`submit --wait`, `fetch --require-verdict`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/jsonutil.h"
#include "cli.h"

int cli_verdict_exit(const char *result)
{
	if (result && !strcmp(result, "pass"))
		return OPTREG_EXIT_OK;
	if (result && !strcmp(result, "warn"))
		return OPTREG_EXIT_VERDICT_WARN;
	return OPTREG_EXIT_VERDICT_FAIL;
}

bool cli_verdict_meets(const char *result, const char *required)
{
	if (!result)
		return false;
	if (!strcmp(result, "pass"))
		return true;
	return !strcmp(result, "warn") && !strcmp(required, "warn");
}

/*
 * The suite of the version's newest job. The registry makes jobs for its
 * reference suite, which is what a gate looks at; after the registry moves
 * to a new reference suite (ref-v1 to ref-v2) a version has jobs for both,
 * and only the newer suite's verdicts count, as at the gate.
 */
static const char *reference_suite(const json_t *answer)
{
	const json_t *jobs = json_object_get(answer, "jobs"), *j;
	const char *suite = NULL;
	long newest = -1;
	size_t i;

	json_array_foreach(jobs, i, j)
	{
		const char *s = optreg_json_str(j, "suite");
		long id = 0;

		cli_json_count(j, "id", &id);
		if (s && id > newest) {
			newest = id;
			suite = s;
		}
	}
	return suite;
}

const json_t *cli_verdict_latest(const json_t *answer)
{
	const json_t *list = json_object_get(answer, "verdicts"), *v,
		     *best = NULL;
	const char *best_at = NULL, *suite = reference_suite(answer);
	long best_job = 0;
	size_t i;

	json_array_foreach(list, i, v)
	{
		const char *at = optreg_json_str(v, "created_at");
		const char *vs = optreg_json_str(v, "suite");
		long job = 0;
		int c;

		if (!optreg_json_str(v, "result") || !suite || !vs ||
		    strcmp(vs, suite))
			continue;
		cli_json_count(v, "job_id", &job);
		c = best ? strcmp(at ? at : "", best_at ? best_at : "") : 1;
		if (c > 0 || (c == 0 && job > best_job)) {
			best = v;
			best_at = at;
			best_job = job;
		}
	}
	return best;
}

const json_t *cli_verdict_none_coming(const json_t *answer)
{
	const json_t *jobs = json_object_get(answer, "jobs"), *j, *last = NULL;
	const char *suite = reference_suite(answer);
	size_t i;

	json_array_foreach(jobs, i, j)
	{
		const char *state = optreg_json_str(j, "state");
		const char *s = optreg_json_str(j, "suite");
		if (s && suite && strcmp(s, suite))
			continue; /* an earlier reference suite's job */
		if (!state || strcmp(state, "abandoned"))
			return NULL;
		last = j;
	}
	return last;
}

int cli_verdict_get(struct cli_remote *r, const struct cli_ref *ref,
		    long version, json_t **answer)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	int rc;

	cli_config_path(&path, ref);
	optreg_buf_addf(&path, "/versions/%ld/verdicts", version);
	rc = cli_remote_call(r, "GET", path.data, NULL, answer);
	optreg_buf_release(&path);
	if (rc == 0 && !json_is_array(json_object_get(*answer, "verdicts"))) {
		json_decref(*answer);
		*answer = NULL;
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no verdicts array");
	}
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The state of the version's first job that has no verdict, for the
 * progress line: "job 12 leased, attempt 1 of 3". */
static void job_state(const json_t *answer, struct optreg_buf *out)
{
	const json_t *jobs = json_object_get(answer, "jobs"), *j;
	size_t i;

	json_array_foreach(jobs, i, j)
	{
		const char *state = optreg_json_str(j, "state");
		long id = 0, attempts = 0, max = 0;

		if (state && !strcmp(state, "done"))
			continue;
		cli_json_count(j, "id", &id);
		cli_json_count(j, "attempts", &attempts);
		cli_json_count(j, "max_attempts", &max);
		char *shown = cli_printable(state ? state : "?");

		optreg_buf_addf(out, "job %ld %s", id, shown);
		free(shown);
		if (max)
			optreg_buf_addf(out, ", %ld of %ld attempts used",
					attempts, max);
		return;
	}
	optreg_buf_adds(out, "no job yet");
}

/*
 * One poll of the verdicts for --wait. Returns 0 with *answer, -1 for a
 * failure worth retrying (no answer, a timeout, 429 or 5xx), reported
 * only when `loud`, or another exit status after reporting it.
 */
static int poll_once(struct cli_remote *r, const struct cli_ref *ref,
		     long version, bool loud, json_t **answer)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	int rc;

	*answer = NULL;
	cli_config_path(&path, ref);
	optreg_buf_addf(&path, "/versions/%ld/verdicts", version);
	optreg_http_resp_init(&resp);
	r->quiet = !loud;
	rc = cli_remote_request(r, "GET", path.data, NULL, &resp);
	r->quiet = 0;
	optreg_buf_release(&path);
	if (rc == OPTREG_EXIT_UNAVAILABLE && !loud)
		rc = -1;
	else if (rc == 0 && !loud && (resp.status == 429 || resp.status >= 500))
		rc = -1;
	else if (rc == 0 && resp.status != 200)
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	else if (rc == 0 && !(*answer = cli_response_json(r, &resp, 0)))
		rc = OPTREG_EXIT_UNAVAILABLE;
	else if (rc == 0 &&
		 !json_is_array(json_object_get(*answer, "verdicts"))) {
		json_decref(*answer);
		*answer = NULL;
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no verdicts array");
	}
	optreg_http_resp_release(&resp);
	return rc;
}

/* Clears the progress line (a terminal only) before anything else is
 * printed on stderr. */
static void clear_progress(bool *shown)
{
	if (*shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		*shown = false;
	}
}

int cli_verdict_wait(struct cli_remote *r, const struct cli_ref *ref,
		     long version, double timeout, json_t **verdict)
{
	double start = now_s(), pause = 0.25;
	bool tty = isatty(STDERR_FILENO), shown = false;
	int rc;

	*verdict = NULL;
	for (;;) {
		json_t *answer = NULL;
		const json_t *latest, *gone;
		double waited = now_s() - start;
		/* A transient failure (no answer, 429, 5xx) is retried until
		 * the deadline; the last try reports it. */
		bool last = waited >= timeout;

		if (last)
			clear_progress(&shown);
		rc = poll_once(r, ref, version, last, &answer);
		if (rc < 0) {
			/* Back off: double the pause, at most 10 s. */
			pause = pause * 2 < 10 ? pause * 2 : 10;
			waited = now_s() - start;
			sleep_s(pause < timeout - waited ? pause
							 : timeout - waited);
			continue;
		}
		if (rc) {
			clear_progress(&shown);
			break;
		}
		latest = cli_verdict_latest(answer);
		gone = cli_verdict_none_coming(answer);
		waited = now_s() - start;
		if (latest) {
			*verdict = json_deep_copy(latest);
		} else if (gone) {
			char *err = optreg_json_str(gone, "last_error")
					    ? cli_printable(optreg_json_str(
						      gone, "last_error"))
					    : NULL;
			long id = 0;

			cli_json_count(gone, "id", &id);
			clear_progress(&shown);
			fprintf(stderr,
				"optreg %s: no verdict will come for "
				"%s/%s@%ld: job %ld was abandoned%s%s\n"
				"  hint: `optreg verdicts %s/%s@%ld` shows the "
				"jobs; fix the runner or submit again\n",
				r->cmd, ref->ns, ref->name, version, id,
				err ? ": " : "", err ? err : "", ref->ns,
				ref->name, version);
			free(err);
			json_decref(answer);
			rc = OPTREG_EXIT_VERDICT_FAIL;
			break;
		} else if (waited >= timeout) {
			struct optreg_buf st = OPTREG_BUF_INIT;

			job_state(answer, &st);
			clear_progress(&shown);
			fprintf(stderr,
				"optreg %s: no verdict for %s/%s@%ld after "
				"%.0fs (%s)\n"
				"  hint: wait longer with --timeout, or check "
				"later with `optreg verdicts %s/%s@%ld`\n",
				r->cmd, ref->ns, ref->name, version, timeout,
				st.data, ref->ns, ref->name, version);
			optreg_buf_release(&st);
			json_decref(answer);
			rc = OPTREG_EXIT_TIMEOUT;
			break;
		} else if (tty) {
			struct optreg_buf st = OPTREG_BUF_INIT;

			job_state(answer, &st);
			fprintf(stderr,
				"\r\033[Kwaiting for the verdict on "
				"%s/%s@%ld: %s (%.0fs of %.0fs)",
				ref->ns, ref->name, version, st.data, waited,
				timeout);
			fflush(stderr);
			shown = true;
			optreg_buf_release(&st);
		}
		json_decref(answer);
		if (*verdict) {
			clear_progress(&shown);
			break;
		}
		sleep_s(pause < timeout - waited ? pause : timeout - waited);
		/* 0.25 s doubling to 2 s; after the first minute, growing
		 * to at most 10 s. */
		if (pause < 2)
			pause *= 2;
		else if (waited >= 60)
			pause = pause * 1.5 < 10 ? pause * 1.5 : 10;
	}
	return rc;
}

void cli_verdict_describe(const json_t *v, struct optreg_buf *out)
{
	const char *result = optreg_json_str(v, "result");
	const char *suite = optreg_json_str(v, "suite");
	const char *runner = optreg_json_str(v, "runner");
	char *r = cli_printable(result ? result : "?");
	char *s = cli_printable(suite ? suite : "?");
	char *who = cli_printable(runner ? runner : "?");
	long job = 0;

	cli_json_count(v, "job_id", &job);
	optreg_buf_addf(out, "%s (suite %s, job %ld, runner %s)", r, s, job,
			who);
	free(r);
	free(s);
	free(who);
}
