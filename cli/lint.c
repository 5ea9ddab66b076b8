/*
 * cli/lint.c: `optreg lint [--policies DIR [--tag T --previous FILE]
 * [--waivers FILE]] [--format text|json|github] FILE...`.
 *
 * FILE arguments may be directories and glob patterns (cli/inputs.h);
 * after several files a summary table goes to stderr. Loads each file and runs
 * every layer of validation (optreg_config_load_checked_file,
 * validator/config.h), reporting all errors of every file. With --policies, a
 * valid file is also evaluated against the policies of DIR as the registry
 * evaluates it (validator/policy.h): the same violations with the same
 * messages; with
 * --tag and --previous, change rules compare it with FILE as if the tag
 * pointed at FILE now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../validator/config.h"
#include "../validator/names.h"
#include "../validator/policy.h"
#include "cli.h"
#include "inputs.h"
#include "policy_dir.h"

enum format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_GITHUB,
};

static const char help[] =
	"usage: optreg lint [--policies DIR [--tag TAG --previous FILE] "
	"[--waivers FILE]]\n"
	"                   [--format text|json|github] FILE...\n\n"
	"Checks OptimizerConfig documents (YAML or JSON; - for standard "
	"input) against\nthe schema and the semantic rules, reporting every "
	"error as\n  file:line:col: path: message\n"
	"A FILE may be a directory (its *.yaml, *.yml and *.json files, "
	"recursively,\nhidden names left out) or a quoted glob pattern "
	"('configs/**/*.yaml': ** is\nany depth). After several files, a "
	"summary table goes to stderr.\n"
	"and, with --policies, against the policies in DIR as the registry "
	"does\n(docs/policies.md).\n\n"
	"Options:\n"
	"  --policies DIR   evaluate the policy files (*.yaml, *.yml, *.json) "
	"in DIR\n"
	"  --tag TAG        run change rules as if TAG moved to each FILE\n"
	"  --previous FILE  the config TAG points at now (without it, change "
	"rules are\n"
	"                   skipped, as for a tag that does not exist yet)\n"
	"  --waivers FILE   waivers (JSON or YAML, as `optreg waiver list "
	"--format json`)\n"
	"  --format text    readable lines on stderr, `FILE: ok` for "
	"valid files (default)\n"
	"  --format json    one JSON object per file on stdout: "
	"{file, valid, digest,\n"
	"                   errors: [{path, rule, layer, message, hint, "
	"line, col}],\n"
	"                   violations: [...], denied, warned, audited, "
	"waived}\n"
	"  --format github  GitHub Actions annotations "
	"(::error file=...,line=...::, ::warning ...)\n\n"
	"Exit status: 0 all valid and no policy denies, 1 some file invalid "
	"or denied\n(or a policy file invalid), 2 usage, 3 a file "
	"unreadable (or a pattern or\ndirectory with no file); the worst "
	"of the files, usage > I/O > invalid.\n";

/* What --policies and friends load once for every FILE. */
struct lint_policies {
	struct cli_policy_set set;
	bool on;
	const char *tag;
	struct optreg_checked_config previous;
	bool has_previous;
	json_t *waiver_doc;
	struct optreg_waiver *waivers;
	size_t nwaivers;
};

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
			const char *digest,
			const struct optreg_policy_result *pr)
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
	json_object_set_new(
		o, "valid",
		json_boolean(errs->len == 0 && (!pr || pr->denied == 0)));
	if (digest)
		json_object_set_new(o, "digest", json_string(digest));
	json_object_set_new(o, "errors", arr);
	if (pr) {
		json_t *r = optreg_policy_result_to_json(pr);
		json_object_update(o, r);
		json_decref(r);
	}
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

/* One annotation: `::LEVEL file=F,line=L,col=C,title=T::TEXT (hint: H)`. */
static void github_line(struct optreg_buf *out, const char *level,
			const char *file, int line, int col, const char *title,
			const char *text, const char *hint)
{
	optreg_buf_addf(out, "::%s file=", level);
	github_escape(out, file, 1);
	if (line > 0)
		optreg_buf_addf(out, ",line=%d,col=%d", line, col);
	optreg_buf_adds(out, ",title=");
	github_escape(out, title, 1);
	optreg_buf_adds(out, "::");
	github_escape(out, text, 0);
	if (hint) {
		optreg_buf_adds(out, " (hint: ");
		github_escape(out, hint, 0);
		optreg_buf_addch(out, ')');
	}
	optreg_buf_addch(out, '\n');
}

/* Policy violations: deny as ::error, warn as ::warning, audit and waived
 * as ::notice, at the line of the offending field. */
static void github_violations(struct optreg_buf *out, const char *file,
			      const struct optreg_policy_result *pr)
{
	for (size_t i = 0; pr && i < pr->len; i++) {
		const struct optreg_violation *v = &pr->items[i];
		struct optreg_buf title = OPTREG_BUF_INIT,
				  text = OPTREG_BUF_INIT;
		const char *level = v->effect == OPTREG_EFFECT_DENY ? "error"
				    : v->effect == OPTREG_EFFECT_WARN
					    ? "warning"
					    : "notice";
		optreg_buf_addf(&title, "%s/%s", v->policy, v->rule);
		if (v->effect == OPTREG_EFFECT_WAIVED)
			optreg_buf_addf(&text, "waived by %s: ", v->waiver);
		else if (v->effect == OPTREG_EFFECT_AUDIT)
			optreg_buf_adds(&text, "audit: ");
		optreg_buf_addf(&text, "%s: %s", v->path, v->message);
		if (v->detail)
			optreg_buf_addf(&text, " (%s)", v->detail);
		github_line(out, level, file, v->line, v->col, title.data,
			    text.data, v->hint);
		optreg_buf_release(&title);
		optreg_buf_release(&text);
	}
}

static void report_github(const char *file, const struct optreg_errors *errs,
			  const struct optreg_policy_result *pr)
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
	github_violations(&out, file, pr);
	fputs(out.data, stdout);
	optreg_buf_release(&out);
}

/* Text: one block per violation on stderr, in the form of errors. */
static void report_text_violations(const char *file,
				   const struct optreg_policy_result *pr)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	for (size_t i = 0; i < pr->len; i++) {
		const struct optreg_violation *v = &pr->items[i];
		optreg_buf_adds(&out, file);
		if (v->line > 0)
			optreg_buf_addf(&out, ":%d:%d", v->line, v->col);
		optreg_buf_addf(&out, ": %s: %s %s/%s: %s\n", v->path,
				optreg_policy_effect_name(v->effect), v->policy,
				v->rule, v->message);
		if (v->detail)
			optreg_buf_addf(&out, "  detail: %s\n", v->detail);
		if (v->waiver)
			optreg_buf_addf(&out, "  waiver: %s\n", v->waiver);
		if (v->hint)
			optreg_buf_addf(&out, "  hint: %s\n", v->hint);
	}
	fputs(out.data, stderr);
	optreg_buf_release(&out);
}

/* How a policy file that did not load is reported, per format. */
static enum format policy_report_format;

static void report_policy_errors(const char *file,
				 const struct optreg_errors *errs)
{
	if (policy_report_format == FORMAT_JSON) {
		json_t *o = json_pack("{s:s, s:b, s:b, s:o}", "file", file,
				      "policy", 1, "valid", 0, "errors",
				      optreg_errors_to_json(errs));
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	} else if (policy_report_format == FORMAT_GITHUB) {
		struct optreg_buf out = OPTREG_BUF_INIT;
		for (size_t i = 0; i < errs->len; i++) {
			const struct optreg_error *e = &errs->items[i];
			struct optreg_buf text = OPTREG_BUF_INIT;
			if (e->path[0])
				optreg_buf_addf(&text, "%s: ", e->path);
			optreg_buf_adds(&text, e->message);
			github_line(&out, "error", file, e->line, e->col,
				    e->rule, text.data, e->hint);
			optreg_buf_release(&text);
		}
		fputs(out.data, stdout);
		optreg_buf_release(&out);
	} else {
		optreg_errors_print(stderr, file, errs);
	}
}

/* Evaluates a valid config against the policies of `lp`. */
static void evaluate(const struct lint_policies *lp,
		     const struct optreg_checked_config *cc,
		     struct optreg_policy_result *pr)
{
	struct optreg_policy_input in = {
		.namespace_ = cc->cfg.namespace_,
		.name = cc->cfg.name,
		.config = cc->doc.root,
		.doc = &cc->doc,
		.tag = lp->tag,
		.previous = lp->has_previous ? lp->previous.doc.root : NULL,
		.waivers = lp->waivers,
		.nwaivers = lp->nwaivers,
		.now = time(NULL),
	};
	optreg_policy_evaluate(
		(const struct optreg_policy *const *)lp->set.items, lp->set.len,
		&in, pr);
}

/* The summary row of a linted file. */
static void lint_outcome(struct cli_outcomes *out, const char *file, int rc,
			 const char *digest, const struct optreg_errors *errs,
			 const struct optreg_policy_result *pr, int status)
{
	struct optreg_buf reason = OPTREG_BUF_INIT;
	const char *result = "ok";

	if (rc == OPTREG_EIO) {
		result = "unreadable";
		if (errs->len)
			optreg_buf_adds(&reason, errs->items[0].message);
	} else if (rc) {
		result = "invalid";
		if (errs->len > 1)
			optreg_buf_addf(&reason,
					"%zu errors; first: ", errs->len);
		if (errs->len && errs->items[0].path[0])
			optreg_buf_addf(&reason, "%s: ", errs->items[0].path);
		if (errs->len)
			optreg_buf_adds(&reason, errs->items[0].message);
	} else if (pr->denied) {
		result = "denied";
		for (size_t i = 0; i < pr->len; i++) {
			const struct optreg_violation *v = &pr->items[i];
			if (v->effect != OPTREG_EFFECT_DENY)
				continue;
			optreg_buf_addf(&reason, "%s%s/%s: %s",
					reason.len ? "; " : "", v->policy,
					v->rule, v->message);
		}
	} else if (pr->warned) {
		optreg_buf_addf(&reason, "%zu policy warning%s", pr->warned,
				pr->warned == 1 ? "" : "s");
	}
	cli_outcomes_add(out, file, result, rc ? NULL : digest, reason.data,
			 status);
	optreg_buf_release(&reason);
}

/* Lints one file, adding its row to `out`; returns its exit status. */
static int lint_one(const char *file, enum format fmt,
		    const struct lint_policies *lp, struct cli_outcomes *out)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_checked_config cc;
	struct optreg_policy_result pr;
	int rc;

	optreg_checked_config_init(&cc);
	optreg_policy_result_init(&pr);
	rc = optreg_config_load_checked_file(&cc, file, 0, &errs);
	bool judged = rc == 0 && lp->on;
	if (judged)
		evaluate(lp, &cc, &pr);
	switch (fmt) {
	case FORMAT_JSON:
		report_json(file, &errs, rc == 0 ? cc.digest : NULL,
			    judged ? &pr : NULL);
		break;
	case FORMAT_GITHUB:
		report_github(file, &errs, judged ? &pr : NULL);
		break;
	case FORMAT_TEXT:
		if (judged)
			report_text_violations(file, &pr);
		if (rc == 0 && pr.denied == 0) {
			printf("%s: ok (%s)", file, cc.digest);
			if (pr.warned)
				printf(", %zu warning%s", pr.warned,
				       pr.warned == 1 ? "" : "s");
			if (pr.waived)
				printf(", %zu waived", pr.waived);
			printf("\n");
		} else if (rc == 0) {
			fprintf(stderr, "%s: denied by policy (%zu denial%s)\n",
				file, pr.denied, pr.denied == 1 ? "" : "s");
		} else {
			optreg_errors_print(stderr, file, &errs);
		}
		break;
	}
	int status = rc == 0 && pr.denied == 0 ? OPTREG_EXIT_OK
		     : rc == OPTREG_EIO	       ? OPTREG_EXIT_IO
					       : OPTREG_EXIT_INVALID;
	lint_outcome(out, file, rc, cc.digest, &errs, &pr, status);
	optreg_policy_result_release(&pr);
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

/* The FILE arguments (files, directories, patterns), in order. */
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

/* Lints every file the arguments name; the worst exit status. */
static int lint_all(const struct file_list *l, enum format fmt,
		    const struct lint_policies *lp)
{
	struct cli_inputs in;
	struct cli_outcomes out = {0};
	int status;

	cli_inputs_init(&in);
	for (int i = 0; i < l->nfiles; i++)
		cli_inputs_add(&in, "lint", l->files[i]);
	status = in.status;
	for (size_t i = 0; i < in.len; i++) {
		if (in.why[i])
			cli_outcomes_add(&out, in.files[i], "no file", NULL,
					 in.why[i], OPTREG_EXIT_IO);
		else
			status = cli_exit_worst(
				status, lint_one(in.files[i], fmt, lp, &out));
	}
	if (out.len > 1)
		cli_outcomes_print(stderr, &out, "DIGEST", -1, status);
	cli_outcomes_release(&out);
	cli_inputs_release(&in);
	return status;
}

static void lint_policies_release(struct lint_policies *lp)
{
	cli_policy_set_release(&lp->set);
	optreg_checked_config_release(&lp->previous);
	free(lp->waivers);
	json_decref(lp->waiver_doc);
}

/* Loads --policies, --previous and --waivers; returns an exit status. */
static int lint_policies_load(struct lint_policies *lp, const char *dir,
			      const char *previous, const char *waivers,
			      enum format fmt)
{
	if ((lp->tag || previous || waivers) && !dir) {
		fprintf(stderr, "optreg lint: --tag, --previous and --waivers "
				"need --policies DIR\n");
		return OPTREG_EXIT_USAGE;
	}
	if (previous && !lp->tag) {
		fprintf(stderr, "optreg lint: --previous needs --tag (the tag "
				"that points at it)\n");
		return OPTREG_EXIT_USAGE;
	}
	if (lp->tag && optreg_name_check_tag(lp->tag, "--tag", NULL)) {
		fprintf(stderr, "optreg lint: --tag \"%s\" is not a tag name\n",
			lp->tag);
		return OPTREG_EXIT_USAGE;
	}
	if (!dir)
		return 0;
	lp->on = true;
	policy_report_format = fmt;
	int rc = cli_policy_set_load("lint", dir, &lp->set,
				     report_policy_errors);
	if (rc)
		return rc;
	if (previous) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		rc = optreg_config_load_checked_file(&lp->previous, previous, 0,
						     &errs);
		if (rc) {
			fprintf(stderr, "optreg lint: --previous:\n");
			optreg_errors_print(stderr, previous, &errs);
			optreg_errors_release(&errs);
			return rc == OPTREG_EIO ? OPTREG_EXIT_IO
						: OPTREG_EXIT_INVALID;
		}
		lp->has_previous = true;
	}
	if (waivers)
		return cli_waivers_load("lint", waivers, &lp->waiver_doc,
					&lp->waivers, &lp->nwaivers);
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	enum format fmt = FORMAT_TEXT;
	int status = OPTREG_EXIT_OK, rc;
	struct file_list l = {optreg_xcalloc((size_t)argc, sizeof(char *)), 0};
	const char **files = l.files;
	const char *policies = NULL, *previous = NULL, *waivers = NULL;
	struct lint_policies lp;
	struct cli_option options[] = {
		CLI_OPT_CALLBACK("--format", "FORMAT", "text, json or github",
				 &fmt, set_format),
		CLI_OPT_STRING("--policies", "DIR", "policy files to evaluate",
			       &policies),
		CLI_OPT_STRING("--tag", "TAG", "the tag moved (change rules)",
			       &lp.tag),
		CLI_OPT_STRING("--previous", "FILE",
			       "the config the tag points at now", &previous),
		CLI_OPT_STRING("--waivers", "FILE", "waivers in force",
			       &waivers),
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

	memset(&lp, 0, sizeof(lp));
	cli_policy_set_init(&lp.set);
	optreg_checked_config_init(&lp.previous);
	/* `lint --format` at the end has always said "unknown option". */
	options[0].flags = CLI_OPTION_NOVALUE_IS_UNKNOWN;
	rc = cli_parse_options(&p, options, argc, argv);
	if (rc) {
		free(files);
		lint_policies_release(&lp);
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	}
	nfiles = l.nfiles;
	if (!nfiles) {
		fprintf(stderr, "optreg lint: expected at least one FILE\n%s",
			help);
		free(files);
		lint_policies_release(&lp);
		return OPTREG_EXIT_USAGE;
	}
	/* Policies that do not load judge nothing: no file is linted. */
	status = lint_policies_load(&lp, policies, previous, waivers, fmt);
	if (status == OPTREG_EXIT_OK)
		status = lint_all(&l, fmt, &lp);
	free(files);
	lint_policies_release(&lp);
	return status;
}
