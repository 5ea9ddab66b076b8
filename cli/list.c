/*
 * cli/list.c: `optreg list [NAMESPACE] [--query TEXT] [--limit N]`.
 *
 * The configs the caller may read (GET /v1/configs, page by page), ordered
 * by namespace then name, one line each within 80 columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

#define PAGE_SIZE 100
/* The CONFIG column is cut to this many characters (with "...") so that
 * a line fits 80 columns. */
#define CONFIG_WIDTH 38

static const char help[] =
	"usage: optreg list [NAMESPACE] [--query TEXT] [--limit N] [--json]\n"
	"                   [--url URL] [--token TOKEN]\n\n"
	"Lists the configs you may read, by namespace then name:\n"
	"  CONFIG              LATEST  DIGEST        UPDATED (UTC)\n"
	"  team-nlp/bert       7       8d2e61c0f5a3  2026-11-23 10:00\n"
	"DIGEST shows the first 12 hex digits of the latest version's digest; "
	"a\n"
	"CONFIG longer than 38 characters is cut, with \"...\".\n\n"
	"Options:\n"
	"  NAMESPACE        only the configs of this namespace\n"
	"  --query TEXT     only the configs whose name contains TEXT\n"
	"  --limit N        show at most N configs (default: all)\n"
	"  --json           print {\"configs\": [{\"namespace\", \"name\", "
	"\"latest_version\",\n"
	"                   \"latest_digest\", \"updated_at\"}], "
	"\"next_page_token\"}: the\n"
	"                   registry's pages joined; next_page_token is not "
	"null when\n"
	"                   --limit stopped before the end\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok (also when nothing matches), 2 usage, 4 denied, "
	"6\n"
	"unauthorized, 7 unavailable. See docs/cli.md.\n";

char *cli_list_short_time(const char *t)
{
	char *s;

	if (!t || strlen(t) < 16 || t[10] != 'T')
		return optreg_xstrdup(cli_cell(t));
	s = optreg_xstrndup(t, 16);
	s[10] = ' ';
	return s;
}

static int print_table(const json_t *configs)
{
	static const char *const head[] = {"CONFIG", "LATEST", "DIGEST",
					   "UPDATED (UTC)"};
	enum {
		NCOLS = 4
	};
	size_t n = json_array_size(configs);
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc;

	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(configs, i);
		const char *digest = optreg_json_str(c, "latest_digest");
		char **row = cells + i * NCOLS;
		char *name = optreg_xasprintf(
			"%s/%s", cli_cell(optreg_json_str(c, "namespace")),
			cli_cell(optreg_json_str(c, "name")));
		long latest;

		row[0] = cli_cut(name, CONFIG_WIDTH);
		free(name);
		row[1] = cli_json_count(c, "latest_version", &latest) == 0
				 ? optreg_xasprintf("%ld", latest)
				 : optreg_xstrdup("-");
		row[2] = digest && !strncmp(digest, "sha256:", 7)
				 ? optreg_xstrndup(digest + 7, 12)
				 : optreg_xstrdup("-");
		row[3] = cli_list_short_time(optreg_json_str(c, "updated_at"));
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "list"};
	struct optreg_buf path = OPTREG_BUF_INIT;
	const char *ns = NULL, *query = NULL;
	json_t *configs = json_array(), *next = NULL;
	long limit = 0;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--query", "TEXT", "names containing TEXT",
			       &query),
		CLI_OPT_COUNT("--limit", "N", "show at most N configs", &limit),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "list",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "NAMESPACE",
				     .arg_slot = &ns};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc) {
		rc = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (ns && !cli_namespace_valid(ns)) {
		char *shown = cli_printable(ns);

		fprintf(stderr,
			"optreg list: \"%s\": a namespace is 1 to 63 of a-z, "
			"0-9 and -, starting with a letter or digit\n",
			shown);
		free(shown);
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	if (query && (!query[0] || strlen(query) > 128)) {
		fprintf(stderr, "optreg list: --query must be 1 to 128 "
				"characters\n");
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	optreg_buf_adds(&path, "/v1/configs");
	if (ns)
		optreg_http_query_add(&path, "namespace", ns);
	if (query)
		optreg_http_query_add(&path, "q", query);
	rc = cli_remote_pages(&r, path.data, "configs", PAGE_SIZE, limit,
			      configs, &next);
	if (rc)
		goto out;
	if (r.json) {
		json_t *o = json_pack("{s:O, s:O}", "configs", configs,
				      "next_page_token", next);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

		rc = s ? cli_print_json_text(s, strlen(s)) : OPTREG_EXIT_IO;
		free(s);
		json_decref(o);
	} else if (!json_array_size(configs)) {
		char *shown = cli_printable(query ? query : "");

		fprintf(stderr, "optreg list: no configs%s%s%s%s%s\n",
			ns ? " in " : "", ns ? ns : "",
			query ? " whose name contains \"" : "", shown,
			query ? "\"" : "");
		free(shown);
	} else {
		rc = print_table(configs);
	}
out:
	cli_remote_close(&r);
	json_decref(configs);
	json_decref(next);
	optreg_buf_release(&path);
	return rc;
}
