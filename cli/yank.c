/*
 * cli/yank.c: `optreg yank NS/NAME@VERSION --reason TEXT`.
 *
 * A yanked version stays fetchable by digest and by version (flagged), and
 * tags already on it stay; tags can no longer move to it. Yanking twice
 * keeps the first reason, which is what this prints then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

static const char help[] =
	"usage: optreg yank NAMESPACE/NAME@VERSION --reason TEXT [--link URL] "
	"[--json]\n"
	"                   [--url URL] [--token TOKEN]\n\n"
	"Marks a version as not to be used, and prints\n"
	"  team-nlp/bert@3 yanked: REASON\n"
	"The version stays fetchable by version and digest (with a warning) "
	"and tags\n"
	"already on it stay, but `optreg fetch` through such a tag fails "
	"unless\n"
	"--allow-yanked; tags can no longer move to it. Needs the approver "
	"role.\n\n"
	"Options:\n"
	"  --reason TEXT    why (required, 1 to 1024 characters); a second "
	"yank keeps\n"
	"                   the first reason\n"
	"  --link URL       a CI run, commit or ticket (1 to 512 "
	"characters)\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 invalid, 2 usage, 4 denied, 6 unauthorized, 7 "
	"unavailable,\n"
	"8 not found. See docs/cli.md.\n";

static int yank(struct cli_remote *r, const struct cli_ref *ref,
		const char *reason, const char *link)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	json_t *body, *res = NULL;
	const char *kept;
	char *text;
	int rc;

	optreg_http_resp_init(&resp);
	cli_config_path(&path, ref);
	optreg_buf_addf(&path, "/versions/%ld/yank", ref->version);
	body = json_pack("{s:s}", "reason", reason);
	cli_change_add(body, "link", link);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	rc = cli_remote_request(r, "POST", path.data, text, &resp);
	free(text);
	if (rc)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		rc = cli_report_http_error(r, &resp, NULL, NULL);
		goto out;
	}
	if (r->json) {
		rc = cli_print_json_text(resp.body.data, resp.body.len);
		goto out;
	}
	/* The answer's body is not essential here: show the reason the
	 * registry kept when it says, else ours. */
	res = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, NULL)
			    : NULL;
	kept = optreg_json_str(res, "yank_reason");
	text = cli_printable(kept ? kept : reason);
	printf("%s/%s@%ld %s: %s\n", ref->ns, ref->name, ref->version,
	       kept && strcmp(kept, reason) ? "was already yanked" : "yanked",
	       text);
	free(text);
	rc = fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
out:
	json_decref(res);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&path);
	return rc;
}

int cmd_yank(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "yank"};
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
	const struct cli_parser p = {.cmd = "yank",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "REF",
				     .arg_slot = &refarg};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!refarg) {
		fprintf(stderr, "optreg yank: expected a REF\n%s", help);
		return OPTREG_EXIT_USAGE;
	}
	if (!reason || !reason[0]) {
		fprintf(stderr, "optreg yank: --reason is required\n"
				"  hint: say why, e.g. --reason \"diverges "
				"after warmup\"\n");
		return OPTREG_EXIT_USAGE;
	}
	rc = cli_change_check("yank", "--reason", reason, CLI_CHANGE_MAX_TEXT,
			      false);
	if (rc == 0)
		rc = cli_change_check("yank", "--link", link,
				      CLI_CHANGE_MAX_LINK, true);
	if (rc)
		return rc;
	if ((rc = cli_ref_arg("yank", refarg, CLI_REF_VERSION, &ref)))
		return rc;
	rc = yank(&r, &ref, reason, link);
	cli_remote_close(&r);
	return rc;
}
