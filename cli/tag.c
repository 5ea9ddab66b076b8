/*
 * cli/tag.c: `optreg tag NS/NAME@VERSION TAG [--expected N | --new]`.
 *
 * Tags move by compare-and-set (docs/api.md): the request names the version
 * the tag must point at now. By default that is read just before, so a
 * plain `tag` moves the tag wherever it is, and loses only to a writer that
 * moves it in between (exit 5). --expected pins the version a pipeline saw;
 * --new insists the tag does not exist yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"usage: optreg tag NAMESPACE/NAME@VERSION TAG [--expected N | --new] "
	"[--json]\n"
	"                  [--url URL] [--token TOKEN]\n\n"
	"Points TAG at VERSION of the config and prints\n"
	"  team-nlp/bert@prod -> 3 (was 2)\n\n"
	"Options:\n"
	"  --expected N     move TAG only if it points at version N now\n"
	"  --new            create TAG only if it does not exist yet\n"
	"                   (default: move TAG from wherever it points now, "
	"read just\n"
	"                   before)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid, 2 usage, 4 denied, 5 conflict (TAG "
	"points\n"
	"elsewhere or exists, or VERSION is yanked), 6 unauthorized, 7 "
	"unavailable,\n"
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

/* expected: > 0 a version, 0 the tag must not exist, -1 read it first. */
static int tag(struct cli_remote *r, const struct cli_ref *ref,
	       const char *name, long expected)
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
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	rc = cli_remote_request(r, "PUT", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status != 200 && resp.status != 201) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
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
	}
out:
	json_decref(res);
	optreg_http_resp_release(&resp);
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
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct tag_args t = {{NULL, NULL}, 0};
	const char **args = t.args, *exparg = NULL;
	int rc, create = 0;
	long expected = -1;
	struct cli_ref ref;
	const struct cli_option options[] = {
		CLI_OPT_FLAG("--new", "create TAG only if it does not exist",
			     &create),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--expected", "N",
			       "move TAG only if it points at version N",
			       &exparg),
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
	if (cli_ref_parse(args[0], CLI_REF_VERSION, &ref, &why) < 0) {
		fprintf(stderr, "optreg tag: %s\n", why.data);
		optreg_buf_release(&why);
		return OPTREG_EXIT_USAGE;
	}
	if (!cli_tag_valid(args[1])) {
		fprintf(stderr,
			"optreg tag: invalid tag \"%s\"\n"
			"  hint: a tag is 1 to 64 of a-z, 0-9, '.', '_' and "
			"'-', starts with a letter or digit and is not all "
			"digits\n",
			args[1]);
		return OPTREG_EXIT_USAGE;
	}
	rc = tag(&r, &ref, args[1], expected);
	cli_remote_close(&r);
	return rc;
}
