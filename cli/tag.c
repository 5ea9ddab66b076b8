/*
 * cli/tag.c: `optreg tag NS/NAME@VERSION TAG [--expected N | --new]`.
 *
 * Tags move by compare-and-set (docs/api.md): the request names the version
 * the tag must point at now. By default that is read just before, so a
 * plain `tag` moves the tag wherever it is, and loses only to a writer that
 * moves it in between (exit 5). --expected pins the version a pipeline saw;
 * --new insists the tag does not exist yet.
 *
 * A tag that a policy's gate protects moves only with the approver role,
 * a reason, and a passing verdict (docs/policies.md); a refusal prints
 * the gate's reasons and hints. `--history` lists a tag's moves instead
 * (`optreg tag NS/NAME@TAG --history`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

static const char help[] =
	"usage: optreg tag NAMESPACE/NAME@VERSION TAG [--expected N | --new]\n"
	"                  [--reason TEXT] [--link URL] [--json] [--url URL] "
	"[--token TOKEN]\n"
	"       optreg tag NAMESPACE/NAME@TAG --history [--limit N] "
	"[--json]\n\n"
	"Points TAG at VERSION of the config and prints\n"
	"  team-nlp/bert@prod -> 3 (was 2)\n"
	"and, on stderr, the gate that allowed it and the policies' "
	"warnings. A tag a\n"
	"policy's gate protects (e.g. prod) moves only with the approver "
	"role, a\n"
	"--reason, and a version that is not yanked whose latest verdict is "
	"pass (or\n"
	"warn when the gate allows it); a refusal (409 gate_refused) says "
	"which and\n"
	"what to do. Change rules compare VERSION with where TAG points "
	"now.\n\n"
	"With --history, lists the tag's moves, newest first:\n"
	"  MOVED                     VERSION  FROM  KIND      BY           "
	"REASON\n"
	"  2026-11-23T10:00:00.000Z  3        2     move      ci@team-nlp  "
	"lower lr\n\n"
	"Options:\n"
	"  --reason TEXT    why (1 to 1024 characters; required for a gated "
	"tag)\n"
	"  --link URL       a CI run, commit or ticket (1 to 512 "
	"characters)\n"
	"  --expected N     move TAG only if it points at version N now\n"
	"  --new            create TAG only if it does not exist yet\n"
	"                   (default: move TAG from wherever it points now, "
	"read just\n"
	"                   before)\n"
	"  --history        list the moves of TAG (REF is NAMESPACE/NAME@TAG)\n"
	"  --limit N        with --history: at most N moves (default: "
	"all)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid (also denied by a policy, or no "
	"--reason for a\n"
	"gated tag), 2 usage, 4 denied (also: a gated tag needs the approver "
	"role),\n"
	"5 conflict (TAG points elsewhere or exists, VERSION is yanked, or "
	"the gate\n"
	"refused it), 6 unauthorized, 7 unavailable, "
	"8 not found. See docs/cli.md.\n";

/* Reads where `tag` points now into *current (0: nowhere). Exit status. */
static int current_version(struct cli_remote *r, const char *path,
			   const char *tag, long *current)
{
	struct optreg_http_resp resp;
	json_t *doc = NULL;
	int rc;

	optreg_http_resp_init(&resp);
	*current = 0;
	rc = cli_remote_request(r, "GET", path, NULL, &resp);
	if (rc)
		goto out;
	if (resp.status == 404) {
		rc = OPTREG_EXIT_OK;
	} else if (resp.status != 200) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	} else if (!(doc = cli_response_json(r, &resp, 0))) {
		rc = OPTREG_EXIT_UNAVAILABLE;
	} else if (cli_json_count(doc, "version", current) < 0 ||
		   *current < 1) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer for tag \"%s\" has no "
				"version",
				tag);
	}
out:
	json_decref(doc);
	optreg_http_resp_release(&resp);
	return rc;
}

static bool same_violation(const json_t *a, const json_t *b)
{
	static const char *const keys[] = {"policy", "rule", "path", "effect"};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *x = optreg_json_str(a, keys[k]);
		const char *y = optreg_json_str(b, keys[k]);

		if (!x || !y || strcmp(x, y))
			return false;
	}
	return true;
}

void cli_print_tag_gate_new(const char *cmd, const json_t *answer,
			    const json_t *seen)
{
	json_t *copy = json_copy((json_t *)answer);
	json_t *fresh = json_array();
	const json_t *v, *w;
	size_t i, j;

	json_array_foreach(json_object_get(answer, "violations"), i, v)
	{
		bool dup = false;

		json_array_foreach(seen, j, w) dup =
			dup || same_violation(v, w);
		if (!dup)
			json_array_append(fresh, (json_t *)v);
	}
	if (copy)
		json_object_set_new(copy, "violations", fresh);
	else
		json_decref(fresh);
	cli_print_tag_gate(cmd, copy ? copy : answer);
	json_decref(copy);
}

void cli_print_tag_gate(const char *cmd, const json_t *answer)
{
	const json_t *gate = json_object_get(answer, "gate");
	const char *policy = optreg_json_str(gate, "policy");
	const char *verdict = optreg_json_str(gate, "verdict");
	const char *suite = optreg_json_str(gate, "suite");

	if (json_is_object(gate)) {
		char *p = cli_printable(policy ? policy : "?");
		char *v = cli_printable(verdict ? verdict : "?");
		char *s = cli_printable(suite ? suite : "?");

		fprintf(stderr,
			"optreg %s: gate of policy %s: verdict %s on %s\n", cmd,
			p, v, s);
		free(p);
		free(v);
		free(s);
	}
	cli_violations_summary(stderr, cmd,
			       json_object_get(answer, "violations"));
}

/* expected: > 0 a version, 0 the tag must not exist, -1 read it first. */
static int tag(struct cli_remote *r, const struct cli_ref *ref,
	       const char *name, long expected, const char *reason,
	       const char *link)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	json_t *body, *res = NULL;
	char *text;
	int rc;

	optreg_http_resp_init(&resp);
	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/tags");
	optreg_http_path_add(&path, name);
	if (expected < 0) {
		rc = current_version(r, path.data, name, &expected);
		if (rc)
			goto out;
	}
	body = json_pack("{s:I, s:o}", "version", (json_int_t)ref->version,
			 "expected_version",
			 expected ? json_integer(expected) : json_null());
	cli_change_add(body, "reason", reason);
	cli_change_add(body, "link", link);
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	rc = cli_remote_request(r, "PUT", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = cli_report_refusal(r, &resp, NULL, NULL);
		goto out;
	}
	res = cli_response_json(r, &resp, 0);
	if (!res) {
		rc = OPTREG_EXIT_UNAVAILABLE;
		goto out;
	}
	if (r->json) {
		rc = cli_print_json_text(resp.body.data, resp.body.len);
	} else {
		cli_print_tag_move(ref, name, ref->version, res);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
		cli_print_tag_gate("tag", res);
	}
out:
	json_decref(res);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

/* ---- --history --------------------------------------------------------- */

#define HISTORY_PAGE 100

/* Prints the moves as a table. Exit status. */
static int print_history(const json_t *moves)
{
	static const char *const head[] = {"MOVED", "VERSION", "FROM", "KIND",
					   "BY",    "REASON",  "LINK"};
	enum {
		NCOLS = 7
	};
	size_t n = json_array_size(moves);
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc;

	for (size_t i = 0; i < n; i++) {
		const json_t *m = json_array_get(moves, i);
		char **row = cells + i * NCOLS;
		long v = 0, prev = 0;
		bool has_prev =
			cli_json_count(m, "previous_version", &prev) == 0;

		cli_json_count(m, "version", &v);
		row[0] = optreg_xstrdup(
			cli_cell(optreg_json_str(m, "moved_at")));
		row[1] = optreg_xasprintf("%ld", v);
		row[2] = has_prev ? optreg_xasprintf("%ld", prev)
				  : optreg_xstrdup("-");
		row[3] = optreg_xstrdup(
			json_is_true(json_object_get(m, "rollback"))
				? "rollback"
			: has_prev ? "move"
				   : "set");
		row[4] = optreg_xstrdup(
			cli_cell(optreg_json_str(m, "moved_by")));
		row[5] = optreg_xstrdup(cli_cell(optreg_json_str(m, "reason")));
		row[6] = optreg_xstrdup(cli_cell(optreg_json_str(m, "link")));
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* GET .../tags/{tag}/history, page by page, up to `limit` moves (0: all). */
static int history(struct cli_remote *r, const struct cli_ref *ref, long limit)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *moves = json_array(), *next = NULL;
	int rc;

	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/tags");
	optreg_http_path_add(&path, ref->tag);
	optreg_buf_adds(&path, "/history");
	rc = cli_remote_pages(r, path.data, "moves", HISTORY_PAGE, limit, moves,
			      &next);
	if (rc == 0) {
		if (r->json) {
			json_t *o = json_pack("{s:s, s:O, s:O}", "tag",
					      ref->tag, "moves", moves,
					      "next_page_token", next);
			rc = cli_print_json(o);
			json_decref(o);
		} else if (!json_array_size(moves)) {
			fprintf(stderr, "optreg tag: %s/%s@%s has no moves\n",
				ref->ns, ref->name, ref->tag);
		} else {
			rc = print_history(moves);
		}
	}
	json_decref(next);
	json_decref(moves);
	optreg_buf_release(&path);
	return rc;
}

/* The positional arguments REF and TAG. */
struct tag_args {
	const char *args[2];
	int nargs;
};

static int take_arg(void *data, const char *a)
{
	struct tag_args *t = data;

	if (t->nargs == 2) {
		fprintf(stderr,
			"optreg tag: expected REF and TAG "
			"(got also \"%s\")\n",
			a);
		return OPTREG_EXIT_USAGE;
	}
	t->args[t->nargs++] = a;
	return 0;
}

int cmd_tag(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "tag"};
	struct tag_args t = {{NULL, NULL}, 0};
	const char **args = t.args, *exparg = NULL, *reason = NULL,
		   *link = NULL, *limitarg = NULL;
	int rc, create = 0, hist = 0;
	long expected = -1, limit = 0;
	struct cli_ref ref;
	const struct cli_option options[] = {
		CLI_OPT_FLAG("--new", "create TAG only if it does not exist",
			     &create),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--expected", "N",
			       "move TAG only if it points at version N",
			       &exparg),
		CLI_OPT_STRING("--reason", "TEXT", "why", &reason),
		CLI_OPT_STRING("--link", "URL", "CI run, commit or ticket",
			       &link),
		CLI_OPT_FLAG("--history", "list the tag's moves", &hist),
		CLI_OPT_STRING("--limit", "N", "with --history: at most N",
			       &limitarg),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "tag",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg = take_arg,
				     .arg_data = &t};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (hist) {
		if (t.nargs != 1) {
			fprintf(stderr,
				"optreg tag: --history takes one "
				"NAMESPACE/NAME@TAG\n%s",
				help);
			return OPTREG_EXIT_USAGE;
		}
		if (create || exparg || reason || link) {
			fprintf(stderr, "optreg tag: --history lists moves; it "
					"takes no --new, --expected, --reason "
					"or --link\n");
			return OPTREG_EXIT_USAGE;
		}
		if (limitarg && cli_parse_count(limitarg, &limit) < 0) {
			fprintf(stderr,
				"optreg tag: --limit must be a whole number "
				"from 1 (got \"%s\")\n",
				limitarg);
			return OPTREG_EXIT_USAGE;
		}
		if ((rc = cli_ref_arg("tag", args[0], CLI_REF_TAG, &ref)))
			return rc;
		rc = history(&r, &ref, limit);
		cli_remote_close(&r);
		return rc;
	}
	if (limitarg) {
		fprintf(stderr, "optreg tag: --limit needs --history\n");
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_change_check("tag", "--reason", reason, CLI_CHANGE_MAX_TEXT,
			      false);
	if (rc == 0)
		rc = cli_change_check("tag", "--link", link,
				      CLI_CHANGE_MAX_LINK, true);
	if (rc)
		return rc;
	if (t.nargs != 2) {
		fprintf(stderr, "optreg tag: expected REF and TAG\n%s", help);
		return OPTREG_EXIT_USAGE;
	}
	if (create && exparg) {
		fprintf(stderr, "optreg tag: --expected and --new exclude each "
				"other\n");
		return OPTREG_EXIT_USAGE;
	}
	if (exparg && cli_parse_count(exparg, &expected) < 0) {
		fprintf(stderr,
			"optreg tag: --expected must be a version number "
			"(got \"%s\")\n",
			exparg);
		return OPTREG_EXIT_USAGE;
	}
	if (create)
		expected = 0;
	if ((rc = cli_ref_arg("tag", args[0], CLI_REF_VERSION, &ref)))
		return rc;
	if (!cli_tag_valid(args[1])) {
		fprintf(stderr,
			"optreg tag: invalid tag \"%s\"\n"
			"  hint: a tag is 1 to 64 of a-z, 0-9, '.', '_' and "
			"'-', starts with a letter or digit and is not all "
			"digits\n",
			args[1]);
		return OPTREG_EXIT_USAGE;
	}
	rc = tag(&r, &ref, args[1], expected, reason, link);
	cli_remote_close(&r);
	return rc;
}
