/*
 * cli/rollback.c: `optreg rollback NS/NAME@TAG [--reason TEXT] [--link URL]`.
 *
 * Moves a tag back to the version it pointed at before its latest move
 * (POST .../tags/{tag}/rollback). The registry treats it as any move: the
 * same roles, gate, policies and audit (event tag.moved with "rollback":
 * true), and it shows up in `optreg tag NS/NAME@TAG --history`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
	"usage: optreg rollback NAMESPACE/NAME@TAG [--reason TEXT] [--link "
	"URL] [--json]\n"
	"                       [--url URL] [--token TOKEN]\n\n"
	"Moves TAG back to the version it pointed at before its latest move, "
	"and prints\n"
	"  team-nlp/bert@prod -> 2 (was 3)\n"
	"A rollback is a move like any other: a tag a policy's gate protects "
	"needs the\n"
	"approver role, a --reason and a version that passes the gate; it is "
	"audited\n"
	"and listed by `optreg tag NAMESPACE/NAME@TAG --history`.\n\n"
	"Options:\n"
	"  --reason TEXT    why (1 to 1024 characters; required for a gated "
	"tag)\n"
	"  --link URL       a CI run, commit or ticket (1 to 512 "
	"characters)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid (also denied by a policy), 2 usage, 4 "
	"denied,\n"
	"5 conflict (no previous version to go back to, it is yanked, or the "
	"gate\n"
	"refused it), 6 unauthorized, 7 unavailable, 8 not found. See "
	"docs/cli.md.\n";

static int rollback(struct cli_remote *r, const struct cli_ref *ref,
		    const char *reason, const char *link)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	json_t *body = json_object(), *res = NULL;
	long version = 0;
	char *text;
	int rc;

	optreg_http_resp_init(&resp);
	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/tags");
	optreg_http_path_add(&path, ref->tag);
	optreg_buf_adds(&path, "/rollback");
	cli_change_add(body, "reason", reason);
	cli_change_add(body, "link", link);
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	rc = cli_remote_request(r, "POST", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		rc = cli_report_refusal(r, &resp, NULL, NULL);
		goto out;
	}
	res = cli_response_json(r, &resp, 0);
	if (!res) {
		rc = OPTREG_EXIT_UNAVAILABLE;
		goto out;
	}
	if (cli_json_count(res, "version", &version) < 0 || version < 1) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer to the rollback has no "
				"version");
		goto out;
	}
	if (r->json) {
		rc = cli_print_json_text(resp.body.data, resp.body.len);
	} else {
		cli_print_tag_move(ref, ref->tag, version, res);
		rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
		cli_print_tag_gate("rollback", res);
	}
out:
	json_decref(res);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

int cmd_rollback(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "rollback"};
	const char *refarg = NULL, *reason = NULL, *link = NULL;
	struct cli_ref ref;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--reason", "TEXT", "why", &reason),
		CLI_OPT_STRING("--link", "URL", "CI run, commit or ticket",
			       &link),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "rollback",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "NAMESPACE/NAME@TAG",
				     .arg_slot = &refarg};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!refarg) {
		fprintf(stderr,
			"optreg rollback: expected NAMESPACE/NAME@TAG\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_change_check("rollback", "--reason", reason,
			      CLI_CHANGE_MAX_TEXT, false);
	if (rc == 0)
		rc = cli_change_check("rollback", "--link", link,
				      CLI_CHANGE_MAX_LINK, true);
	if (rc)
		return rc;
	if ((rc = cli_ref_arg("rollback", refarg, CLI_REF_TAG, &ref)))
		return rc;
	rc = rollback(&r, &ref, reason, link);
	cli_remote_close(&r);
	return rc;
}
