/*
 * cli/verdicts.c: `optreg verdicts REF [--verify]`.
 *
 * Lists the signed verdicts the validation runners recorded for a version
 * (GET .../versions/{n}/verdicts), newest first. With --verify each
 * verdict's envelope is checked here rather than trusted: a valid
 * signature by a key GET /v1/keys lists for the namespace (not revoked
 * before the verdict was recorded), among them the runner key the registry
 * says it checked, and a payload that names this version's digest and
 * agrees with what the registry lists (job, suite, suite digest, result).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "../common/verify.h"
#include "cli.h"

static const char help[] =
	"usage: optreg verdicts NAMESPACE/NAME@VERSION|NAMESPACE/NAME@TAG "
	"[--verify]\n"
	"                       [--json] [--url URL] [--token TOKEN]\n\n"
	"Lists the verdicts the validation runners recorded for a version, "
	"newest\n"
	"first:\n"
	"  JOB  RESULT  SUITE   RUNNER      CREATED                   "
	"FINDINGS\n"
	"  12   pass    ref-v2  runner@ops  2026-11-23T10:00:00.000Z  0\n\n"
	"Options:\n"
	"  --verify         check every verdict's signature against the keys "
	"GET /v1/keys\n"
	"                   lists (registered for the namespace, not revoked "
	"before the\n"
	"                   verdict) and that its payload names this "
	"version's digest\n"
	"  --json           print the registry's {\"verdicts\": [...]} "
	"(newest first)\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 1 --verify failed, 2 usage, 4 denied, 6 "
	"unauthorized,\n"
	"7 unavailable, 8 not found. See docs/cli.md.\n";

/* Parses the envelope of a listed verdict; 0 or -1. */
static int envelope_of(const json_t *v, struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const json_t *ej = json_object_get(v, "envelope");
	char *text = json_is_object(ej) ? json_dumps(ej, JSON_COMPACT) : NULL;
	int rc = text && optreg_dsse_parse(env, text, strlen(text), &errs) == 0
			 ? 0
			 : -1;

	free(text);
	optreg_errors_release(&errs);
	return rc;
}

/* The envelope's payload as a JSON object (new reference), or NULL. */
static json_t *payload_of(const struct optreg_dsse *env)
{
	json_t *p = optreg_json_load_doubles(env->payload.data,
					     env->payload.len, 0, NULL);

	if (json_is_object(p))
		return p;
	json_decref(p);
	return NULL;
}

/* Newest first: created_at descending, then job id descending. */
static int newest_first(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *cx = optreg_json_str(x, "created_at"),
		   *cy = optreg_json_str(y, "created_at");
	long jx = 0, jy = 0;
	int c = strcmp(cy ? cy : "", cx ? cx : "");

	if (c)
		return c;
	cli_json_count(x, "job_id", &jx);
	cli_json_count(y, "job_id", &jy);
	return (jy > jx) - (jy < jx);
}

/* Sorts the list in place. */
static void sort_verdicts(json_t *list)
{
	size_t n = json_array_size(list);
	json_t **items = optreg_xcalloc(n + 1, sizeof(*items));

	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(list, i));
	qsort(items, n, sizeof(*items), newest_first);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
}

static int print_table(const json_t *list)
{
	static const char *const head[] = {"JOB",    "RESULT",	"SUITE",
					   "RUNNER", "CREATED", "FINDINGS"};
	enum {
		NCOLS = 6
	};
	size_t n = json_array_size(list);
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc;

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(list, i);
		char **row = cells + i * NCOLS;
		struct optreg_dsse env;
		json_t *p = NULL;
		long job = 0;

		optreg_dsse_init(&env);
		if (envelope_of(v, &env) == 0)
			p = payload_of(&env);
		cli_json_count(v, "job_id", &job);
		row[0] = optreg_xasprintf("%ld", job);
		row[1] = optreg_xstrdup(cli_cell(optreg_json_str(v, "result")));
		row[2] = optreg_xstrdup(cli_cell(optreg_json_str(v, "suite")));
		row[3] = optreg_xstrdup(cli_cell(optreg_json_str(v, "runner")));
		row[4] = optreg_xstrdup(
			cli_cell(optreg_json_str(v, "created_at")));
		row[5] = json_is_array(json_object_get(p, "findings"))
				 ? optreg_xasprintf(
					   "%zu",
					   json_array_size(json_object_get(
						   p, "findings")))
				 : optreg_xstrdup("-");
		json_decref(p);
		optreg_dsse_release(&env);
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

#define FAIL(fails, path, ...)                                                 \
	optreg_errors_add(fails, OPTREG_EINVAL, "verdict", path, __VA_ARGS__)

/*
 * Checks verdict `v` (listed at index `i`) of version `ns`@`digest`;
 * appends failures to `fails` and one "KEYID (PRINCIPAL)" per valid key to
 * `signers`.
 */
static void verify_one(const json_t *v, size_t i, const char *ns,
		       const char *digest, const struct optreg_keyset *ks,
		       struct optreg_buf *signers, struct optreg_errors *fails)
{
	struct optreg_errors why = OPTREG_ERRORS_INIT;
	const struct optreg_keyset_key **valid = NULL;
	const char *keyid = optreg_json_str(v, "runner_keyid");
	struct optreg_sig_policy pol = {.ns = ns,
					.at = optreg_json_str(v, "created_at"),
					.prefix = "envelope",
					.purpose = OPTREG_KEY_PURPOSE_VERDICT,
					.voice = OPTREG_VOICE_CLIENT};
	struct optreg_dsse env;
	char prefix[48];
	json_t *p = NULL;
	long job = -1;
	size_t nvalid = 0;
	bool named = false;

	snprintf(prefix, sizeof(prefix), "verdicts[%zu]", i);
	optreg_dsse_init(&env);
	cli_json_count(v, "job_id", &job);
	if (envelope_of(v, &env) < 0) {
		FAIL(fails, prefix, "expected a DSSE envelope, got %s",
		     json_object_get(v, "envelope") ? "one that does not parse"
						    : "none");
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_VERDICT_PAYLOAD_TYPE))
		FAIL(fails, prefix, "payloadType: expected \"%s\", got \"%s\"",
		     OPTREG_VERDICT_PAYLOAD_TYPE, env.payload_type);
	valid = optreg_xcalloc(env.nsigs + 1, sizeof(*valid));
	optreg_envelope_verify(ks, &env, &pol, valid, &nvalid, &why);
	if (!nvalid) {
		for (size_t k = 0; k < why.len; k++)
			FAIL(fails, prefix, "%s: %s", why.items[k].path,
			     why.items[k].message);
		FAIL(fails, prefix,
		     "expected a valid signature by a runner key registered "
		     "for %s, got none of %zu",
		     ns, env.nsigs);
	}
	for (size_t k = 0; k < nvalid; k++) {
		optreg_buf_addf(signers, "%s%s (%s)", signers->len ? ", " : "",
				valid[k]->id,
				valid[k]->principal ? valid[k]->principal
						    : "?");
		named |= keyid && !strcmp(keyid, valid[k]->id);
	}
	if (nvalid && !named)
		FAIL(fails, prefix,
		     "runner_keyid: expected one of the keys whose signature "
		     "verifies, got %s",
		     keyid ? keyid : "none");
	/* Only a verified payload is read (DSSE's advice). */
	if (!nvalid)
		goto out;
	p = payload_of(&env);
	if (!p) {
		FAIL(fails, prefix, "payload: expected a JSON object");
		goto out;
	}
	struct optreg_verdict_expect want = {
		.job_id = job,
		.config_digest = digest,
		.suite = optreg_json_str(v, "suite"),
		.suite_digest = optreg_json_str(v, "suite_digest"),
		.result = optreg_json_str(v, "result"),
	};
	optreg_verdict_check(p, &want, OPTREG_VOICE_CLIENT, prefix, fails);
out:
	json_decref(p);
	free(valid);
	optreg_dsse_release(&env);
	optreg_errors_release(&why);
}

static int verify_all(struct cli_remote *r, const char *what, const char *ns,
		      const char *digest, const json_t *list)
{
	struct optreg_errors fails = OPTREG_ERRORS_INIT;
	struct optreg_buf lines = OPTREG_BUF_INIT;
	struct optreg_keyset ks;
	json_t *keys = NULL;
	int rc;

	optreg_keyset_init(&ks);
	rc = cli_remote_call(r, "GET", "/v1/keys", NULL, &keys);
	if (rc)
		goto out;
	optreg_keyset_load_list(&ks, keys);
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *v = json_array_get(list, i);
		struct optreg_buf signers = OPTREG_BUF_INIT;
		size_t before = fails.len;
		long job = 0;

		cli_json_count(v, "job_id", &job);
		verify_one(v, i, ns, digest, &ks, &signers, &fails);
		if (fails.len == before)
			optreg_buf_addf(
				&lines, "verified: job %ld (%s) signed by %s\n",
				job, cli_cell(optreg_json_str(v, "result")),
				signers.data);
		optreg_buf_release(&signers);
	}
	if (fails.len) {
		fprintf(stderr, "optreg %s: %s failed verification\n", r->cmd,
			what);
		for (size_t i = 0; i < fails.len; i++)
			fprintf(stderr, "  %s: %s\n", fails.items[i].path,
				fails.items[i].message);
		if (r->json) {
			char *detail = optreg_xasprintf(
				"%s failed verification", what);
			cli_print_problem("verification_failed", detail,
					  &fails);
			free(detail);
		}
		rc = OPTREG_EXIT_INVALID;
	} else {
		fputs(lines.data, stderr);
	}
out:
	json_decref(keys);
	optreg_keyset_release(&ks);
	optreg_buf_release(&lines);
	optreg_errors_release(&fails);
	return rc;
}

/* GETs the version document at `path`: it carries the config, whose
 * numbers are doubles (JSON_DECODE_INT_AS_REAL). */
static int get_version_doc(struct cli_remote *r, const char *path, json_t **doc)
{
	struct optreg_http_resp resp;
	int rc;

	*doc = NULL;
	optreg_http_resp_init(&resp);
	rc = cli_remote_request(r, "GET", path, NULL, &resp);
	if (rc == 0 && resp.status != 200)
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	if (rc == 0 &&
	    !(*doc = cli_response_json(r, &resp, JSON_DECODE_INT_AS_REAL)))
		rc = OPTREG_EXIT_UNAVAILABLE;
	optreg_http_resp_release(&resp);
	return rc;
}

/*
 * The jobs of the version that have no verdict (queued, leased or
 * abandoned), as a table on stdout: an abandoned job's last error is why
 * no verdict will come. 0 or an exit status.
 */
static int print_jobs(const json_t *jobs)
{
	static const char *const head[] = {"JOB",      "SUITE",	  "STATE",
					   "ATTEMPTS", "UPDATED", "LAST ERROR"};
	enum {
		NCOLS = 6
	};
	size_t n = json_array_size(jobs), rows = 0;
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *j = json_array_get(jobs, i);
		const char *state = optreg_json_str(j, "state");
		char **row = cells + rows * NCOLS;
		long id = 0, attempts = 0, max = 0;

		if (state && !strcmp(state, "done"))
			continue;
		cli_json_count(j, "id", &id);
		cli_json_count(j, "attempts", &attempts);
		cli_json_count(j, "max_attempts", &max);
		row[0] = optreg_xasprintf("%ld", id);
		row[1] = optreg_xstrdup(cli_cell(optreg_json_str(j, "suite")));
		row[2] = optreg_xstrdup(cli_cell(state));
		row[3] = optreg_xasprintf("%ld/%ld", attempts, max);
		row[4] = optreg_xstrdup(
			cli_cell(optreg_json_str(j, "updated_at")));
		row[5] = optreg_xstrdup(
			cli_cell(optreg_json_str(j, "last_error")));
		rows++;
	}
	if (rows)
		rc = cli_print_table(head, NCOLS, cells, rows);
	for (size_t i = 0; i < rows * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* Whether some job of `jobs` is not done. */
static bool has_pending(const json_t *jobs)
{
	for (size_t i = 0; i < json_array_size(jobs); i++) {
		const char *s =
			optreg_json_str(json_array_get(jobs, i), "state");
		if (!s || strcmp(s, "done"))
			return true;
	}
	return false;
}

static int list_verdicts(struct cli_remote *r, const struct cli_ref *ref,
			 bool verify)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *doc = NULL, *answer = NULL, *list, *jobs;
	long version = ref->version;
	const char *digest = NULL;
	char what[256];
	int rc = 0;

	/* A tag names a version; --verify needs the version's digest. */
	if (ref->kind == CLI_REF_TAG || verify) {
		cli_config_path(&path, ref);
		if (ref->kind == CLI_REF_TAG) {
			optreg_buf_adds(&path, "/tags");
			optreg_http_path_add(&path, ref->tag);
		} else {
			optreg_buf_addf(&path, "/versions/%ld", ref->version);
		}
		rc = get_version_doc(r, path.data, &doc);
		if (rc)
			goto out;
		digest = optreg_json_str(doc, "digest");
		if (cli_json_count(doc, "version", &version) < 0 || !digest) {
			rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry's version document lacks "
					"version or digest");
			goto out;
		}
	}
	snprintf(what, sizeof(what), "%s/%s@%ld", ref->ns, ref->name, version);
	optreg_buf_reset(&path);
	cli_config_path(&path, ref);
	optreg_buf_addf(&path, "/versions/%ld/verdicts", version);
	rc = cli_remote_call(r, "GET", path.data, NULL, &answer);
	if (rc)
		goto out;
	list = json_object_get(answer, "verdicts");
	if (!json_is_array(list)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no verdicts array");
		goto out;
	}
	sort_verdicts(list);
	if (verify) {
		rc = verify_all(r, what, ref->ns, digest, list);
		if (rc)
			goto out;
	}
	jobs = json_object_get(answer, "jobs");
	if (r->json) {
		rc = cli_print_json(answer);
	} else {
		if (json_array_size(list))
			rc = print_table(list);
		else
			fprintf(stderr, "optreg %s: %s has no verdicts yet\n",
				r->cmd, what);
		if (rc == 0 && json_array_size(list) && has_pending(jobs))
			putchar('\n');
		if (rc == 0)
			rc = print_jobs(jobs);
	}
out:
	json_decref(answer);
	json_decref(doc);
	optreg_buf_release(&path);
	return rc;
}

int cmd_verdicts(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "verdicts"};
	struct optreg_buf why = OPTREG_BUF_INIT;
	const char *refarg = NULL;
	int rc;
	bool verify = false;
	struct cli_ref ref;
	const struct cli_option options[] = {
		CLI_OPT_BOOL("--verify", "check each verdict", &verify),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "verdicts",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "reference",
				     .arg_slot = &refarg};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!refarg) {
		fprintf(stderr,
			"optreg verdicts: expected NAMESPACE/NAME@VERSION or "
			"NAMESPACE/NAME@TAG\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	if (cli_ref_parse(refarg, CLI_REF_VERSION | CLI_REF_TAG, &ref, &why) <
	    0) {
		fprintf(stderr, "optreg verdicts: %s\n", why.data);
		optreg_buf_release(&why);
		return OPTREG_EXIT_USAGE;
	}
	rc = list_verdicts(&r, &ref, verify);
	cli_remote_close(&r);
	return rc;
}
