/*
 * cli/show.c: `optreg show NAMESPACE/NAME [--limit N]`.
 *
 * One view of a config: its latest version, its tags, and its versions
 * newest first with digest, time, submitter, yanked and the latest
 * verdict of each (GET .../versions, .../tags, and .../versions/{n}/verdicts
 * once per version shown), in lines that fit 80 columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"

#define PAGE_SIZE     100
#define DEFAULT_LIMIT 20
#define BY_WIDTH      12 /* the BY column is cut to this many characters */
/* TAGS gets what the other columns leave of 80, and at least this many. */
#define TAGS_MIN 8

static const char help[] =
	"usage: optreg show NAMESPACE/NAME [--limit N] [--json] [--url URL]\n"
	"                   [--token TOKEN]\n\n"
	"Shows a config in one view: its latest version, its tags, and its "
	"versions\n"
	"newest first with the latest verdict of each:\n"
	"  team-nlp/bert\n"
	"  latest   7  sha256:8d2e61c0f5a3\n"
	"  tags     prod -> 6, staging -> 7\n\n"
	"  VERSION  DIGEST        CREATED (UTC)     BY           YANKED  "
	"VERDICT  TAGS\n"
	"  7        8d2e61c0f5a3  2026-11-23 10:00  ci@team-nlp  -       "
	"pass     staging\n"
	"DIGEST shows the first 12 hex digits; BY is who submitted the "
	"version; VERDICT\n"
	"is the result of its latest verdict on the reference suite, "
	"`pending` while a\n"
	"job runs, `-` when there is none. Long cells are cut, with "
	"\"...\".\n\n"
	"Options:\n"
	"  --limit N        show the newest N versions (default 20); one "
	"request per\n"
	"                   version reads its verdicts\n"
	"  --json           print {\"namespace\", \"name\", \"latest\", "
	"\"versions\", \"tags\",\n"
	"                   \"next_page_token\"}: the registry's versions, "
	"each "
	"with its\n"
	"                   \"verdict\" (the latest, as GET .../verdicts "
	"lists it, or\n"
	"                   null), and tags; latest is the newest version "
	"(null when\n"
	"                   none)\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 2 usage, 4 denied, 6 unauthorized, 7 "
	"unavailable, 8 not\n"
	"found. See docs/cli.md.\n";

/* The 12 hex digits after "sha256:", or "-". */
static char *short_digest(const char *d)
{
	return d && !strncmp(d, "sha256:", 7) ? optreg_xstrndup(d + 7, 12)
					      : optreg_xstrdup("-");
}

/*
 * Sets "verdict" on each version of `versions`: its latest verdict (a
 * copy of what GET .../verdicts lists), or null; and "pending" true when
 * it has none but a job that may still give one. Exit status.
 */
static int add_verdicts(struct cli_remote *r, const struct cli_ref *ref,
			json_t *versions)
{
	json_t *v;
	size_t i;

	json_array_foreach(versions, i, v)
	{
		json_t *answer = NULL;
		const json_t *latest, *jobs;
		long version;
		bool pending = false;
		int rc;

		if (cli_json_count(v, "version", &version) < 0)
			return cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					  "bad_response",
					  "the registry's versions list has an "
					  "entry without a version number");
		rc = cli_verdict_get(r, ref, version, &answer);
		if (rc)
			return rc;
		latest = cli_verdict_latest(answer);
		jobs = json_object_get(answer, "jobs");
		for (size_t k = 0; !latest && k < json_array_size(jobs); k++) {
			const char *s = optreg_json_str(json_array_get(jobs, k),
							"state");
			pending |= s && (!strcmp(s, "queued") ||
					 !strcmp(s, "leased"));
		}
		json_object_set_new(v, "verdict",
				    latest ? json_deep_copy(latest)
					   : json_null());
		if (pending)
			json_object_set_new(v, "verdict_pending", json_true());
		json_decref(answer);
	}
	return 0;
}

static void print_head(struct optreg_buf *out, const struct cli_ref *ref,
		       const json_t *versions, const json_t *tags)
{
	const json_t *latest = json_array_get(versions, 0), *t;
	size_t col, j;
	long n;

	optreg_buf_addf(out, "%s/%s\n", ref->ns, ref->name);
	if (latest && cli_json_count(latest, "version", &n) == 0) {
		char *d = short_digest(optreg_json_str(latest, "digest"));

		optreg_buf_addf(out, "latest   %ld  sha256:%s%s\n", n, d,
				json_is_true(json_object_get(latest, "yanked"))
					? "  (yanked)"
					: "");
		free(d);
	} else {
		optreg_buf_adds(out, "latest   - (no versions)\n");
	}
	optreg_buf_adds(out, "tags     ");
	col = 9;
	json_array_foreach(tags, j, t)
	{
		char *name = cli_printable(cli_cell(optreg_json_str(t, "tag")));
		char *item;

		if (cli_json_count(t, "version", &n) < 0)
			n = 0;
		item = optreg_xasprintf("%s -> %ld%s", name, n,
					j + 1 < json_array_size(tags) ? ","
								      : "");
		if (col > 9 && col + 1 + strlen(item) > 80) {
			optreg_buf_adds(out, "\n         ");
			col = 9;
		} else if (col > 9) {
			optreg_buf_addch(out, ' ');
			col++;
		}
		optreg_buf_adds(out, item);
		col += strlen(item);
		free(item);
		free(name);
	}
	if (!json_array_size(tags))
		optreg_buf_addch(out, '-');
	optreg_buf_addch(out, '\n');
}

static int print_view(const struct cli_ref *ref, const json_t *versions,
		      const json_t *tags, const json_t *next)
{
	static const char *const head[] = {"VERSION", "DIGEST", "CREATED (UTC)",
					   "BY",      "YANKED", "VERDICT",
					   "TAGS"};
	enum {
		NCOLS = 7
	};
	struct optreg_buf out = OPTREG_BUF_INIT;
	size_t n = json_array_size(versions), used = 0;
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc;

	print_head(&out, ref, versions, tags);
	rc = cli_write_stdout(&out);
	optreg_buf_release(&out);
	if (rc || !n)
		goto out;
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(versions, i);
		const char *result = optreg_json_str(
			json_object_get(v, "verdict"), "result");
		char **row = cells + i * NCOLS;
		long version = 0;

		cli_json_count(v, "version", &version);
		row[0] = optreg_xasprintf("%ld", version);
		row[1] = short_digest(optreg_json_str(v, "digest"));
		row[2] = cli_list_short_time(optreg_json_str(v, "created_at"));
		row[3] = cli_cut(cli_cell(optreg_json_str(v, "created_by")),
				 BY_WIDTH);
		row[4] = optreg_xstrdup(
			json_is_true(json_object_get(v, "yanked")) ? "yes"
								   : "-");
		row[5] = optreg_xstrdup(
			result ? result
			: json_is_true(json_object_get(v, "verdict_pending"))
				? "pending"
				: "-");
	}
	/* TAGS, the last column, gets what the others leave of 80. */
	for (size_t c = 0; c + 1 < NCOLS; c++) {
		size_t w = strlen(head[c]);

		for (size_t i = 0; i < n; i++)
			if (strlen(cells[i * NCOLS + c]) > w)
				w = strlen(cells[i * NCOLS + c]);
		used += w + 2;
	}
	for (size_t i = 0; i < n; i++) {
		long version = 0;
		char *names;

		cli_json_count(json_array_get(versions, i), "version",
			       &version);
		names = cli_tags_on(tags, version, ",");
		cells[i * NCOLS + 6] =
			cli_cut(cli_cell(names),
				used + TAGS_MIN < 80 ? 80 - used : TAGS_MIN);
		free(names);
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	if (rc == 0 && json_is_string(next))
		printf("(newer versions only: `optreg show %s/%s --limit N` "
		       "shows more)\n",
		       ref->ns, ref->name);
out:
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

static int show(struct cli_remote *r, const struct cli_ref *ref, long limit)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *versions = json_array(), *next = NULL, *tagdoc = NULL, *tags;
	int rc;

	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/versions");
	rc = cli_remote_pages(r, path.data, "versions", PAGE_SIZE, limit,
			      versions, &next);
	if (rc)
		goto out;
	optreg_buf_reset(&path);
	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/tags");
	rc = cli_remote_call(r, "GET", path.data, NULL, &tagdoc);
	if (rc)
		goto out;
	tags = json_object_get(tagdoc, "tags");
	if (!json_is_array(tags)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's tag list has no tags array");
		goto out;
	}
	rc = add_verdicts(r, ref, versions);
	if (rc)
		goto out;
	if (r->json) {
		json_t *latest = json_array_get(versions, 0);
		json_t *o = json_pack("{s:s, s:s, s:O, s:O, s:O, s:O}",
				      "namespace", ref->ns, "name", ref->name,
				      "latest", latest ? latest : json_null(),
				      "versions", versions, "tags", tags,
				      "next_page_token", next);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

		rc = s ? cli_print_json_text(s, strlen(s)) : OPTREG_EXIT_IO;
		free(s);
		json_decref(o);
	} else {
		rc = print_view(ref, versions, tags, next);
	}
out:
	json_decref(tagdoc);
	json_decref(next);
	json_decref(versions);
	optreg_buf_release(&path);
	return rc;
}

int cmd_show(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "show"};
	const char *refarg = NULL;
	long limit = DEFAULT_LIMIT;
	struct cli_ref ref;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_COUNT("--limit", "N", "show the newest N versions",
			      &limit),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "show",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "NAMESPACE/NAME",
				     .arg_slot = &refarg};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!refarg) {
		fprintf(stderr, "optreg show: expected NAMESPACE/NAME\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	if ((rc = cli_ref_arg("show", refarg, CLI_REF_CONFIG, &ref)))
		return rc;
	rc = show(&r, &ref, limit);
	cli_remote_close(&r);
	return rc;
}
