/*
 * cli/namespace.c: `optreg namespace show|set`: a namespace's settings,
 * today its signature threshold (docs/api.md, "Namespace settings").
 *
 * Anyone who may read the namespace sees its settings; setting them needs
 * an admin token on "*". A namespace without settings has the default
 * threshold, 1, and settings may be made before it has any config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

#define MAX_THRESHOLD 16

static const char help[] =
	"usage: optreg namespace show NS\n"
	"       optreg namespace set NS --signature-threshold N\n"
	"  (each also takes --json, --url URL and --token TOKEN)\n\n"
	"Shows or sets a namespace's settings, and prints\n"
	"  team-a: signature threshold 2\n\n"
	"The signature threshold is how many distinct registered keys must "
	"have signed\n"
	"a config for the registry to accept it in NS (1 to 16; 1 by "
	"default). It\n"
	"applies to submits from then on; versions already accepted are not "
	"checked\n"
	"again. set needs an admin token on \"*\".\n\n"
	"Options:\n"
	"  --signature-threshold N\n"
	"                   the new threshold, 1 to "
	"16\n" CLI_REMOTE_OPTIONS_HELP
	"\nExit status: 0 ok, 1 refused as invalid, 2 usage, 4 denied, 6 "
	"unauthorized,\n"
	"7 unavailable. See docs/cli.md.\n";

/* Prints the settings the registry answered with; exit status. */
static int print_settings(struct cli_remote *r, const json_t *answer)
{
	const char *ns = optreg_json_str(answer, "namespace");
	long threshold;

	if (r->json)
		return cli_print_json(answer);
	if (!ns ||
	    cli_json_count(answer, "signature_threshold", &threshold) < 0)
		return cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				  "the registry's answer lacks namespace or "
				  "signature_threshold");
	printf("%s: signature threshold %ld\n", ns, threshold);
	return fflush(stdout) ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
}

/*
 * Parses `optreg namespace SUB NS [--signature-threshold N]`; `want_n`: the
 * option is allowed (and required). Exit status, 0 to go on.
 */
static int parse(struct cli_remote *r, int argc, char **argv, bool want_n,
		 const char **ns, long *threshold)
{
	const char *n = NULL;
	int rc;
	struct cli_option options[] = {
		CLI_OPT_REMOTE(r),
		CLI_OPT_STRING("--signature-threshold", "N",
			       "signatures a submit needs", &n),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {
		.cmd = r->cmd, .arg_name = "NS", .arg_slot = ns};

	*ns = NULL;
	if (!want_n) /* `show` takes no threshold: end the table before it */
		options[3] = (struct cli_option)CLI_OPT_END();
	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc;
	if (!*ns) {
		fprintf(stderr, "optreg %s: expected a namespace\n", r->cmd);
		return OPTREG_EXIT_USAGE;
	}
	if (!cli_namespace_valid(*ns)) {
		fprintf(stderr,
			"optreg %s: \"%s\": a namespace is 1 to 63 of a-z, 0-9 "
			"and -, starting with a letter or digit\n",
			r->cmd, *ns);
		return OPTREG_EXIT_USAGE;
	}
	if (!want_n)
		return OPTREG_EXIT_OK;
	if (!n) {
		fprintf(stderr,
			"optreg %s: --signature-threshold N is required\n",
			r->cmd);
		return OPTREG_EXIT_USAGE;
	}
	if (cli_parse_count(n, threshold) < 0 || *threshold > MAX_THRESHOLD) {
		fprintf(stderr,
			"optreg %s: --signature-threshold must be a whole "
			"number from 1 to %d (got \"%s\")\n",
			r->cmd, MAX_THRESHOLD, n);
		return OPTREG_EXIT_USAGE;
	}
	return OPTREG_EXIT_OK;
}

static int namespace_run(struct cli_remote *r, int argc, char **argv, bool set)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *body = NULL, *answer = NULL;
	const char *ns;
	long threshold = 0;
	int rc = parse(r, argc, argv, set, &ns, &threshold);

	if (rc)
		return rc;
	optreg_buf_adds(&path, "/v1/namespaces");
	optreg_http_path_add(&path, ns);
	if (set)
		body = json_pack("{s:I}", "signature_threshold",
				 (json_int_t)threshold);
	rc = cli_remote_call(r, set ? "PUT" : "GET", path.data, body, &answer);
	if (rc == 0)
		rc = print_settings(r, answer);
	json_decref(answer);
	json_decref(body);
	optreg_buf_release(&path);
	return rc;
}

int cmd_namespace(int argc, char **argv)
{
	int rc;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			fputs(help, stdout);
			return OPTREG_EXIT_OK;
		}
	}
	if (argc < 2 || (strcmp(argv[1], "show") && strcmp(argv[1], "set"))) {
		fprintf(stderr,
			"optreg namespace: expected show or set%s%s%s\n%s",
			argc < 2 ? "" : " (got \"", argc < 2 ? "" : argv[1],
			argc < 2 ? "" : "\")", help);
		return OPTREG_EXIT_USAGE;
	}
	bool set = !strcmp(argv[1], "set");
	struct cli_remote r = {.cmd = set ? "namespace set" : "namespace show"};
	rc = namespace_run(&r, argc - 1, argv + 1, set);
	cli_remote_close(&r);
	return rc;
}
