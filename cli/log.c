/*
 * cli/log.c: `optreg log NS/NAME [--limit N]`.
 *
 * Lists versions newest first, following next_page_token until the list
 * ends or N versions are shown, with the tags on each version (one more
 * request: the versions list does not carry tags), and why each was made:
 * its submit --message and --link, and a yanked version's reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "cli.h"
#include "wrap.h"

#define PAGE_SIZE 100

static const char help[] =
	"usage: optreg log NAMESPACE/NAME [--limit N] [--moves] [--width N] "
	"[--json]\n"
	"                  [--url URL] [--token TOKEN]\n\n"
	"Lists the versions of a config, newest first. On a terminal (or "
	"with --width N)\n"
	"each takes two lines that fit the width:\n"
	"  3   sha256:9f2c4e1a0b7d  2026-11-23T10:00:00Z  ci@team-nlp  "
	"[prod]\n"
	"      lower lr <https://ci/run/7>\n"
	"Otherwise (a pipe, a file) one table row a version, with the "
	"columns VERSION,\n"
	"DIGEST, CREATED, BY, YANKED, TAGS and MESSAGE.\n"
	"DIGEST shows the first 12 hex digits; `-` marks an empty cell. "
	"MESSAGE is\n"
	"the submit's --message, its --link in <>, and for a yanked version "
	"the yank's\n"
	"reason in [yanked: ...].\n\n"
	"Options:\n"
	"  --limit N        show at most N versions (default: all)\n"
	"  --moves          then every tag's moves, newest first, each "
	"with its reason\n"
	"                   and link (GET .../tags/{tag}/history)\n"
	"  --width N        lay versions (and moves) out in N columns, two "
	"lines each\n"
	"                   (default: the terminal's width when stdout is "
	"one, else 0:\n"
	"                   one table row a version, for grep)\n"
	"  --json           print {\"versions\": [...], \"next_page_token\": "
	"...,\n"
	"                   \"tags\": [...]}: the registry's version and tag "
	"lists, the\n"
	"                   pages joined; next_page_token is not null when "
	"--limit\n"
	"                   stopped before the end\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 2 usage, 4 denied, 6 unauthorized, 7 "
	"unavailable, 8 not\n"
	"found. See docs/cli.md.\n";

/*
 * Appends up to `limit` versions (0: all) to `versions`, page by page.
 * Sets *next to the token where it stopped (a new reference, JSON null at
 * the end). Exit status.
 */
static int list_versions(struct cli_remote *r, const struct cli_ref *ref,
			 long limit, json_t *versions, json_t **next)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	int rc;

	cli_config_path(&path, ref);
	optreg_buf_adds(&path, "/versions");
	rc = cli_remote_pages(r, path.data, "versions", PAGE_SIZE, limit,
			      versions, next);
	optreg_buf_release(&path);
	return rc;
}

/* The MESSAGE cell: message, <link>, [yanked: reason]; "-" for none. */
static char *why_cell(const json_t *v)
{
	const char *msg = optreg_json_str(v, "message");
	const char *link = optreg_json_str(v, "link");
	const char *yank = optreg_json_str(v, "yank_reason");
	struct optreg_buf b = OPTREG_BUF_INIT;

	if (msg)
		optreg_buf_adds(&b, msg);
	if (link)
		optreg_buf_addf(&b, "%s<%s>", b.len ? " " : "", link);
	if (json_is_true(json_object_get(v, "yanked")))
		optreg_buf_addf(&b, "%s[yanked%s%s]", b.len ? " " : "",
				yank ? ": " : "", yank ? yank : "");
	if (!b.len)
		optreg_buf_adds(&b, "-");
	/* One line per version: a message's newlines become spaces. */
	for (char *p = b.data; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return optreg_buf_detach(&b, NULL);
}

static int print_table(const json_t *versions, const json_t *tags)
{
	static const char *const head[] = {"VERSION", "DIGEST", "CREATED", "BY",
					   "YANKED",  "TAGS",	"MESSAGE"};
	enum {
		NCOLS = 7
	};
	size_t n = json_array_size(versions);
	char **cells = optreg_xcalloc(n * NCOLS, sizeof(*cells));
	int rc;

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(versions, i);
		const char *digest = optreg_json_str(v, "digest");
		char *names;
		long version = 0;

		cli_json_count(v, "version", &version);
		names = cli_tags_on(tags, version, ",");
		char **row = cells + i * NCOLS;
		row[0] = optreg_xasprintf("%ld", version);
		row[1] = optreg_xasprintf(
			"%.19s", cli_cell(digest)); /* sha256: + 12 hex */
		row[2] = optreg_xstrdup(
			cli_cell(optreg_json_str(v, "created_at")));
		row[3] = optreg_xstrdup(
			cli_cell(optreg_json_str(v, "created_by")));
		row[4] = optreg_xstrdup(
			json_is_true(json_object_get(v, "yanked")) ? "yes"
								   : "-");
		row[5] = optreg_xstrdup(cli_cell(names));
		free(names);
		row[6] = why_cell(v);
	}
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* Two lines a version, fitting `width` columns. */
static int print_wrapped(const json_t *versions, const json_t *tags,
			 size_t width)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	int rc;

	for (size_t i = 0; i < json_array_size(versions); i++) {
		const json_t *v = json_array_get(versions, i);
		struct optreg_buf head = OPTREG_BUF_INIT;
		char *names;
		long version = 0;
		char first[32];
		char *why = why_cell(v);

		cli_json_count(v, "version", &version);
		names = cli_tags_on(tags, version, ", ");
		snprintf(first, sizeof(first), "%-3ld ", version);
		optreg_buf_addf(&head, "%.19s  %s  %s",
				cli_cell(optreg_json_str(v, "digest")),
				cli_cell(optreg_json_str(v, "created_at")),
				cli_cell(optreg_json_str(v, "created_by")));
		if (*names)
			optreg_buf_addf(&head, "  [%s]", names);
		if (json_is_true(json_object_get(v, "yanked")))
			optreg_buf_adds(&head, "  yanked");
		cli_wrap_add(&out, first, head.data, 4, width);
		cli_wrap_add(&out, "    ", why, 4, width);
		free(why);
		optreg_buf_release(&head);
		free(names);
	}
	rc = cli_write_stdout(&out);
	optreg_buf_release(&out);
	return rc;
}

/*
 * Every tag's moves (GET .../tags/{tag}/history), newest first, each
 * with who, when, from -> to and why, in `width` columns (80 when 0):
 *   prod  2 -> 3  2026-11-23T10:00:00.000Z  by lead@team-nlp
 *         promote after the eval <https://ci.example/run/9>
 * Appended to `outp`; with `json`, the moves are added to each tag of
 * `tags` as "moves" instead.
 */
static int tag_moves(struct cli_remote *r, const struct cli_ref *ref,
		     json_t *tags, size_t width, struct optreg_buf *outp)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	int rc = 0;

	if (!width)
		width = CLI_WRAP_WIDTH;
	for (size_t i = 0; rc == 0 && i < json_array_size(tags); i++) {
		json_t *t = json_array_get(tags, i), *moves = json_array(),
		       *next = NULL;
		const char *tag = optreg_json_str(t, "tag");
		struct optreg_buf path = OPTREG_BUF_INIT;

		if (!tag) {
			json_decref(moves);
			continue;
		}
		cli_config_path(&path, ref);
		optreg_buf_adds(&path, "/tags");
		optreg_http_path_add(&path, tag);
		optreg_buf_adds(&path, "/history");
		rc = cli_remote_pages(r, path.data, "moves", PAGE_SIZE, 0,
				      moves, &next);
		optreg_buf_release(&path);
		json_decref(next);
		for (size_t j = 0;
		     rc == 0 && !r->json && j < json_array_size(moves); j++) {
			const json_t *m = json_array_get(moves, j);
			struct optreg_buf head = OPTREG_BUF_INIT,
					  why = OPTREG_BUF_INIT;
			long to = 0, from = 0;
			const char *reason = optreg_json_str(m, "reason"),
				   *link = optreg_json_str(m, "link");

			cli_json_count(m, "version", &to);
			if (cli_json_count(m, "previous_version", &from) == 0)
				optreg_buf_addf(&head, "%s  %ld -> %ld", tag,
						from, to);
			else
				optreg_buf_addf(&head, "%s  (new) -> %ld", tag,
						to);
			optreg_buf_addf(
				&head, "  %s  by %s",
				cli_cell(optreg_json_str(m, "moved_at")),
				cli_cell(optreg_json_str(m, "moved_by")));
			if (json_is_true(json_object_get(m, "rollback")))
				optreg_buf_adds(&head, "  (rollback)");
			cli_wrap_add(&out, "  ", head.data, 8, width);
			if (reason)
				optreg_buf_adds(&why, reason);
			if (link)
				optreg_buf_addf(&why, "%s<%s>",
						why.len ? " " : "", link);
			cli_wrap_add(&out, "        ",
				     why.len ? why.data : "(no reason given)",
				     8, width);
			optreg_buf_release(&head);
			optreg_buf_release(&why);
		}
		if (rc == 0 && r->json)
			json_object_set(t, "moves", moves);
		json_decref(moves);
	}
	if (rc == 0 && !r->json && out.len)
		optreg_buf_addf(outp, "\ntag moves, newest first:\n%s",
				out.data);
	optreg_buf_release(&out);
	return rc;
}

static int log_config(struct cli_remote *r, const struct cli_ref *ref,
		      long limit, bool moves, long width)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *versions = json_array(), *next = NULL, *tagdoc = NULL, *tags;
	struct optreg_buf movelines = OPTREG_BUF_INIT;
	int rc;

	rc = list_versions(r, ref, limit, versions, &next);
	if (rc)
		goto out;
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
	if (moves) {
		rc = tag_moves(r, ref, tags, (size_t)width, &movelines);
		if (rc)
			goto out;
	}
	if (r->json) {
		json_t *o = json_pack("{s:O, s:O, s:O}", "versions", versions,
				      "next_page_token", next, "tags", tags);
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		rc = s ? cli_print_json_text(s, strlen(s)) : OPTREG_EXIT_IO;
		free(s);
		json_decref(o);
	} else if (width > 0) {
		rc = print_wrapped(versions, tags, (size_t)width);
	} else {
		rc = print_table(versions, tags);
	}
	if (rc == 0 && movelines.len)
		rc = cli_write_stdout(&movelines);
out:
	optreg_buf_release(&movelines);
	json_decref(tagdoc);
	json_decref(next);
	json_decref(versions);
	optreg_buf_release(&path);
	return rc;
}

int cmd_log(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "log"};
	const char *refarg = NULL, *limitarg = NULL, *widtharg = NULL;
	struct cli_ref ref;
	long limit = 0, width = -1;
	bool moves = false;
	int rc;
	const struct cli_option options[] = {
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--limit", "N", "show at most N versions",
			       &limitarg),
		CLI_OPT_BOOL("--moves", "every tag's moves", &moves),
		CLI_OPT_STRING("--width", "N", "columns", &widtharg),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "log",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "NAMESPACE/NAME",
				     .arg_slot = &refarg};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!refarg) {
		fprintf(stderr, "optreg log: expected NAMESPACE/NAME\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	if (limitarg && cli_parse_count(limitarg, &limit) < 0) {
		fprintf(stderr,
			"optreg log: --limit must be a whole number from 1 "
			"(got \"%s\")\n",
			limitarg);
		return OPTREG_EXIT_USAGE;
	}
	if (widtharg &&
	    (cli_parse_count(widtharg, &width) < 0 || (width && width < 40))) {
		if (strcmp(widtharg, "0")) {
			fprintf(stderr,
				"optreg log: --width must be 0 (one line a "
				"version) or a whole number from 40 (got "
				"\"%s\")\n",
				widtharg);
			return OPTREG_EXIT_USAGE;
		}
		width = 0;
	}
	if (width < 0)
		width = cli_wrap_default_width();
	if ((rc = cli_ref_arg("log", refarg, CLI_REF_CONFIG, &ref)))
		return rc;
	rc = log_config(&r, &ref, limit, moves, width);
	cli_remote_close(&r);
	return rc;
}
