/*
 * cli/lint.c: `optreg lint FILE... [--format text|json|github]`.
 *
 * Loads each file and runs every layer of validation
 * (optreg_config_load_checked_file, validator/config.h),
 * reporting all errors of every file. Policies join here with the policy
 * issue; today lint is the schema and semantic checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../validator/config.h"
#include "cli.h"

enum format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_GITHUB,
};

static const char help[] =
	"usage: optreg lint [--format text|json|github] FILE...\n\n"
	"Checks OptimizerConfig documents (YAML or JSON; - for standard "
	"input) against\nthe schema and the semantic rules, reporting every "
	"error as\n  file:line:col: path: message\n\n"
	"Options:\n"
	"  --format text    readable lines on stderr, `FILE: ok` for "
	"valid files (default)\n"
	"  --format json    one JSON object per file on stdout: "
	"{file, valid, digest,\n"
	"                   errors: [{path, rule, layer, message, hint, "
	"line, col}]}\n"
	"  --format github  GitHub Actions annotations "
	"(::error file=...,line=...::)\n\n"
	"Exit status: 0 all valid, 1 some file invalid, 2 usage, 3 a file "
	"unreadable.\n";

/* Escapes a GitHub Actions annotation property or message. */
static void github_escape(struct optreg_buf *out, const char *s, int property)
{
	for (; *s; s++) {
		if (*s == '%')
			optreg_buf_adds(out, "%25");
		else if (*s == '\r')
			optreg_buf_adds(out, "%0D");
		else if (*s == '\n')
			optreg_buf_adds(out, "%0A");
		else if (property && *s == ':')
			optreg_buf_adds(out, "%3A");
		else if (property && *s == ',')
			optreg_buf_adds(out, "%2C");
		else
			optreg_buf_addch(out, *s);
	}
}

static void report_json(const char *file, const struct optreg_errors *errs,
			const char *digest)
{
	json_t *o = json_object(), *arr = json_array();

	for (size_t i = 0; i < errs->len; i++) {
		const struct optreg_error *e = &errs->items[i];
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "path", e->path,
				      "rule", e->rule, "layer",
				      optreg_config_error_layer(e), "message",
				      e->message);
		if (e->hint)
			json_object_set_new(j, "hint", json_string(e->hint));
		if (e->line > 0) {
			json_object_set_new(j, "line", json_integer(e->line));
			json_object_set_new(j, "col", json_integer(e->col));
		}
		json_array_append_new(arr, j);
	}
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "valid", json_boolean(errs->len == 0));
	if (digest)
		json_object_set_new(o, "digest", json_string(digest));
	json_object_set_new(o, "errors", arr);
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

static void report_github(const char *file, const struct optreg_errors *errs)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	for (size_t i = 0; i < errs->len; i++) {
		const struct optreg_error *e = &errs->items[i];
		optreg_buf_adds(&out, "::error file=");
		github_escape(&out, file, 1);
		if (e->line > 0)
			optreg_buf_addf(&out, ",line=%d,col=%d", e->line,
					e->col);
		optreg_buf_adds(&out, ",title=");
		github_escape(&out, e->rule, 1);
		optreg_buf_adds(&out, "::");
		if (e->path[0]) {
			github_escape(&out, e->path, 0);
			optreg_buf_adds(&out, ": ");
		}
		github_escape(&out, e->message, 0);
		if (e->hint) {
			optreg_buf_adds(&out, " (hint: ");
			github_escape(&out, e->hint, 0);
			optreg_buf_addch(&out, ')');
		}
		optreg_buf_addch(&out, '\n');
	}
	fputs(out.data, stdout);
	optreg_buf_release(&out);
}

/* Lints one file; returns its exit status. */
static int lint_one(const char *file, enum format fmt)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;
	int rc;

	optreg_checked_config_init(&cc);
	rc = optreg_config_load_checked_file(&cc, file, 0, &errs);
	switch (fmt) {
	case FORMAT_JSON:
		report_json(file, &errs, rc == 0 ? cc.digest : NULL);
		break;
	case FORMAT_GITHUB:
		report_github(file, &errs);
		break;
	case FORMAT_TEXT:
		if (rc == 0)
			printf("%s: ok (%s)\n", file, cc.digest);
		else
			optreg_errors_print(stderr, file, &errs);
		break;
	}
	int status = rc == 0		? OPTREG_EXIT_OK
		     : rc == OPTREG_EIO ? OPTREG_EXIT_IO
					: OPTREG_EXIT_INVALID;
	optreg_checked_config_release(&cc);
	optreg_errors_release(&errs);
	return status;
}

/* --format text|json|github into *(enum format *)opt->value. */
static int set_format(const struct cli_option *opt, const char *val)
{
	enum format *fmt = opt->value;

	if (!strcmp(val, "text")) {
		*fmt = FORMAT_TEXT;
	} else if (!strcmp(val, "json")) {
		*fmt = FORMAT_JSON;
	} else if (!strcmp(val, "github")) {
		*fmt = FORMAT_GITHUB;
	} else {
		fprintf(stderr,
			"optreg lint: --format must be text, json or "
			"github (got \"%s\")\n",
			val);
		return OPTREG_EXIT_USAGE;
	}
	return 0;
}

/* The FILE arguments, in order. */
struct file_list {
	const char **files;
	int nfiles;
};

static int add_file(void *data, const char *a)
{
	struct file_list *l = data;

	l->files[l->nfiles++] = a;
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	enum format fmt = FORMAT_TEXT;
	int status = OPTREG_EXIT_OK, rc;
	struct file_list l = {optreg_xcalloc((size_t)argc, sizeof(char *)), 0};
	const char **files = l.files;
	struct cli_option options[] = {
		CLI_OPT_CALLBACK("--format", "FORMAT", "text, json or github",
				 &fmt, set_format),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "lint",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_DASH_ARG |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg = add_file,
				     .arg_data = &l};
	int nfiles;

	/* `lint --format` at the end has always said "unknown option". */
	options[0].flags = CLI_OPTION_NOVALUE_IS_UNKNOWN;
	rc = cli_parse_options(&p, options, argc, argv);
	if (rc) {
		free(files);
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	}
	nfiles = l.nfiles;
	if (!nfiles) {
		fprintf(stderr, "optreg lint: expected at least one FILE\n%s",
			help);
		free(files);
		return OPTREG_EXIT_USAGE;
	}
	for (int i = 0; i < nfiles; i++) {
		rc = lint_one(files[i], fmt);
		/* The worst status wins: I/O over invalid over ok. */
		if (rc > status)
			status = rc;
	}
	free(files);
	return status;
}
