/*
 * cli/policy_test.c: `optreg policy test DIR`, the policies' own tests.
 *
 * Loads the policies of DIR (cli/policy_dir.h) and runs every test file
 * in DIR/tests/ (*.yaml, *.yml, *.json; docs/policies.md, "Testing
 * policies"): each test builds a config (a file, an inline config, or a
 * base config with fields set or unset), optionally the version a tag
 * points at now, waivers and a time, evaluates the policies as the
 * registry does, and compares the effect of each rule named in `expect`
 * (deny, warn, audit, waived or pass) with what happened. Prints PASS or
 * FAIL per test, expected against actual for each failure, and a summary,
 * like `opa test`. Exit status: 0 all pass, 1 a test failed or could not
 * run, 2 usage, 3 a file unreadable.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/alloc.h"
#include "cli.h"
#include "policy_dir.h"

#define CMD "policy test"

static const char help[] =
	"usage: optreg policy test [-v] [--run SUBSTRING] DIR\n\n"
	"Runs the test files in DIR/tests/ against the policies in DIR "
	"(offline),\nlike `opa test`: each test names a config and the "
	"effect it expects from\neach rule (deny, warn, audit, waived, "
	"pass). docs/policies.md describes the\ntest files.\n\n"
	"Options:\n"
	"  -v, --verbose       also list the violations of passing tests\n"
	"  --run SUBSTRING     only the tests whose name contains it\n\n"
	"Exit status: 0 all tests pass, 1 a test failed, 2 usage, 3 a file "
	"unreadable.\n";

struct run {
	const struct cli_policy_set *set;
	const char *filter;
	int verbose;
	int passed, failed;
};

/* The string form of a YAML/JSON scalar in a test file. */
static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Line of the value at `path` in the test file, or 0. */
static int line_of(const struct optreg_doc *doc, const char *path)
{
	const struct optreg_doc_loc *loc = optreg_doc_locate(doc, path);
	return loc ? loc->line : 0;
}

/* Sets (value non-NULL) or removes the field at the dotted `path`
 * (`spec.lr`, `spec.betas[1]`, `spec.schedule.warmup_steps`) in `root`,
 * creating objects on the way. Returns 0 or -1 when the path does not
 * fit the document. */
static int set_path(json_t *root, const char *path, const json_t *value)
{
	char *copy = optreg_xstrdup(path), *save = NULL;
	json_t *cur = root;
	int rc = -1;
	char *tok = strtok_r(copy, ".", &save);

	while (tok) {
		char *next = strtok_r(NULL, ".", &save);
		char *br = strchr(tok, '[');
		long idx = -1;
		if (br) {
			idx = strtol(br + 1, NULL, 10);
			*br = '\0';
		}
		if (!json_is_object(cur))
			goto out;
		if (idx < 0 && !next) {
			if (value)
				json_object_set_new(cur, tok,
						    json_deep_copy(value));
			else
				json_object_del(cur, tok);
			rc = 0;
			goto out;
		}
		json_t *child = json_object_get(cur, tok);
		if (!child) {
			if (idx >= 0 || !value)
				goto out;
			child = json_object();
			json_object_set_new(cur, tok, child);
		}
		if (idx >= 0) {
			if (!json_is_array(child) ||
			    (size_t)idx >= json_array_size(child))
				goto out;
			if (!next) {
				rc = value ? json_array_set_new(
						     child, (size_t)idx,
						     json_deep_copy(value))
					   : json_array_remove(child,
							       (size_t)idx);
				goto out;
			}
			child = json_array_get(child, (size_t)idx);
		}
		cur = child;
		tok = next;
	}
out:
	free(copy);
	return rc;
}

/*
 * Builds a config from a spec object: {input: FILE} (relative to the
 * test file's folder), {config: {...}}, or {set: {...}, unset: [...]}
 * applied to `base`. `doc` receives it (with locations for files).
 * Appends to `why` and returns -1 when it cannot.
 */
static int build_config(const json_t *spec, const json_t *base,
			const char *folder, struct optreg_doc *doc,
			struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *input = str(spec, "input");
	const json_t *inline_cfg = json_object_get(spec, "config");
	int rc = 0;

	if (input) {
		char *path = input[0] == '/'
				     ? optreg_xstrdup(input)
				     : optreg_xasprintf("%s/%s", folder, input);
		rc = optreg_doc_load_file(doc, path, &errs);
		free(path);
	} else if (inline_cfg) {
		doc->root = json_deep_copy(inline_cfg);
	} else if (base) {
		doc->root = json_deep_copy(base);
	} else {
		optreg_buf_adds(why, "no config: give input, config, or a "
				     "base in the file and set");
		return -1;
	}
	if (rc == 0 && doc->root) {
		const char *key;
		json_t *v;
		json_object_foreach(json_object_get(spec, "set"), key, v)
		{
			if (set_path(doc->root, key, v)) {
				optreg_buf_addf(why, "set: cannot set \"%s\"",
						key);
				return -1;
			}
		}
		size_t i;
		json_array_foreach(json_object_get(spec, "unset"), i, v)
		{
			if (!json_is_string(v) ||
			    set_path(doc->root, json_string_value(v), NULL)) {
				optreg_buf_addf(
					why, "unset: no field \"%s\" to unset",
					json_is_string(v) ? json_string_value(v)
							  : "?");
				return -1;
			}
		}
		rc = optreg_config_validate(doc, NULL, &errs);
	}
	if (rc) {
		optreg_buf_adds(why, "the config is not valid:\n");
		optreg_errors_format(&errs, input, why);
		optreg_errors_release(&errs);
		return -1;
	}
	optreg_errors_release(&errs);
	return 0;
}

/* The effect a rule had: the worst of its violations, or "pass". */
static const char *actual_effect(const struct optreg_policy_result *r,
				 const char *key)
{
	const char *slash = strchr(key, '/');
	const char *best = "pass";
	int rank = 0;

	for (size_t i = 0; i < r->len; i++) {
		const struct optreg_violation *v = &r->items[i];
		if (slash) {
			size_t pl = (size_t)(slash - key);
			if (strlen(v->policy) != pl ||
			    strncmp(v->policy, key, pl) ||
			    strcmp(v->rule, slash + 1))
				continue;
		} else if (strcmp(v->rule, key)) {
			continue;
		}
		static const int ranks[] = {[OPTREG_EFFECT_DENY] = 4,
					    [OPTREG_EFFECT_WARN] = 3,
					    [OPTREG_EFFECT_WAIVED] = 2,
					    [OPTREG_EFFECT_AUDIT] = 1};
		if (ranks[v->effect] > rank) {
			rank = ranks[v->effect];
			best = optreg_policy_effect_name(v->effect);
		}
	}
	return best;
}

static bool rule_known(const struct cli_policy_set *set, const char *key)
{
	const char *slash = strchr(key, '/');

	for (size_t i = 0; i < set->len; i++) {
		const char *name = optreg_policy_name(set->items[i]);
		if (slash && (strlen(name) != (size_t)(slash - key) ||
			      strncmp(name, key, (size_t)(slash - key))))
			continue;
		if (optreg_policy_has_rule(set->items[i],
					   slash ? slash + 1 : key))
			return true;
	}
	return false;
}

static void list_violations(const struct optreg_policy_result *r,
			    struct optreg_buf *out)
{
	if (!r->len)
		optreg_buf_adds(out, "      violations: none\n");
	for (size_t i = 0; i < r->len; i++) {
		const struct optreg_violation *v = &r->items[i];
		optreg_buf_addf(out, "      %s %s/%s at %s: %s\n",
				optreg_policy_effect_name(v->effect), v->policy,
				v->rule, v->path, v->detail ? v->detail : "");
	}
}

/*
 * Checks `gates: [{namespace, tag, gated, allow_warn?, policy?}]`: what
 * moving each tag in each namespace needs. Appends mismatches to `why`.
 */
static bool check_gates(const struct cli_policy_set *set, const json_t *gates,
			struct optreg_buf *why)
{
	bool ok = true;
	size_t i;
	const json_t *g;

	json_array_foreach((json_t *)gates, i, g)
	{
		const char *ns = str(g, "namespace"), *tag = str(g, "tag");
		const json_t *want = json_object_get(g, "gated");
		const json_t *aw = json_object_get(g, "allow_warn");
		const char *pol = str(g, "policy");
		struct optreg_gate gate;

		if (!ns || !tag || !json_is_boolean(want)) {
			optreg_buf_addf(why,
					"    gates[%zu]: needs namespace, "
					"tag and gated: true|false\n",
					i);
			ok = false;
			continue;
		}
		optreg_policy_gate(
			(const struct optreg_policy *const *)set->items,
			set->len, ns, tag, &gate);
		if (gate.gated != json_is_true(want) ||
		    (gate.gated && aw && gate.allow_warn != json_is_true(aw)) ||
		    (gate.gated && pol && strcmp(pol, gate.policy))) {
			optreg_buf_addf(
				why,
				"    gate %s in %s: expected gated=%s%s%s"
				"%s, got gated=%s",
				tag, ns, json_is_true(want) ? "true" : "false",
				aw ? " allow_warn=" : "",
				aw ? (json_is_true(aw) ? "true" : "false") : "",
				pol ? " (by the policy named)" : "",
				gate.gated ? "true" : "false");
			if (gate.gated)
				optreg_buf_addf(why, " allow_warn=%s policy=%s",
						gate.allow_warn ? "true"
								: "false",
						gate.policy);
			optreg_buf_addch(why, '\n');
			ok = false;
		}
	}
	return ok;
}

/* Prints the reasons of a failure, each line indented under the test. */
static void print_indented(const struct optreg_buf *why)
{
	const char *line = why->data;

	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		printf("%s%.*s\n", strncmp(line, "    ", 4) ? "    " : "",
		       (int)len, line);
		line += len + (end ? 1 : 0);
	}
}

/* Runs test `i` of a file; prints its result. */
static void run_test(struct run *run, const char *file, const char *folder,
		     const struct optreg_doc *tdoc, size_t i)
{
	const json_t *root = tdoc->root;
	const json_t *t = json_array_get(json_object_get(root, "tests"), i);
	const char *name = str(t, "name");
	struct optreg_buf why = OPTREG_BUF_INIT, tpath = OPTREG_BUF_INIT;
	struct optreg_doc cfg, prev;
	struct optreg_policy_result r;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_waiver *w = NULL;
	size_t nw = 0;
	bool ok = true;

	optreg_buf_addf(&tpath, "tests[%zu]", i);
	if (!name)
		name = tpath.data;
	if (run->filter && !strstr(name, run->filter)) {
		optreg_buf_release(&tpath);
		return;
	}
	optreg_doc_init(&cfg);
	optreg_doc_init(&prev);
	optreg_policy_result_init(&r);
	const json_t *base = json_object_get(root, "base_config");

	if (!json_is_object(t)) {
		optreg_buf_adds(&why, "a test must be an object");
		ok = false;
		goto report;
	}
	const json_t *gates = json_object_get(t, "gates");
	if (gates) {
		ok = check_gates(run->set, gates, &why);
		/* A test of gates alone needs no config. */
		if (!json_object_get(t, "expect"))
			goto report;
	}
	if (build_config(t, base, folder, &cfg, &why)) {
		ok = false;
		goto report;
	}
	const json_t *pspec = json_object_get(t, "previous");
	if (pspec && build_config(pspec, base, folder, &prev, &why)) {
		optreg_buf_adds(&why, " (in previous)");
		ok = false;
		goto report;
	}
	const json_t *wj = json_object_get(t, "waivers");
	if (wj && optreg_policy_waivers_from_json(wj, &w, &nw, &errs)) {
		optreg_buf_adds(&why, "waivers:\n");
		optreg_errors_format(&errs, NULL, &why);
		ok = false;
		goto report;
	}
	const char *now_s = str(t, "now") ? str(t, "now") : str(root, "now");
	time_t now = time(NULL);
	if (now_s && optreg_policy_time_parse(now_s, &now)) {
		optreg_buf_addf(&why, "now: not an RFC 3339 time (got \"%s\")",
				now_s);
		ok = false;
		goto report;
	}
	const char *ns = str(t, "namespace");
	if (!ns)
		ns = json_string_value(json_object_get(
			json_object_get(cfg.root, "metadata"), "namespace"));
	struct optreg_policy_input in = {
		.namespace_ = ns,
		.name = json_string_value(json_object_get(
			json_object_get(cfg.root, "metadata"), "name")),
		.config = cfg.root,
		.doc = &cfg,
		.tag = str(t, "tag"),
		.previous = prev.root,
		.waivers = w,
		.nwaivers = nw,
		.now = now,
	};
	optreg_policy_evaluate(
		(const struct optreg_policy *const *)run->set->items,
		run->set->len, &in, &r);

	const json_t *expect = json_object_get(t, "expect");
	const char *key;
	json_t *ev;
	if (!json_is_object(expect) || !json_object_size(expect)) {
		optreg_buf_adds(&why, "expect: give at least one rule: "
				      "deny|warn|audit|waived|pass\n");
		ok = false;
	}
	json_object_foreach((json_t *)expect, key, ev)
	{
		const char *want = json_string_value(ev);
		if (!want || (strcmp(want, "deny") && strcmp(want, "warn") &&
			      strcmp(want, "audit") && strcmp(want, "waived") &&
			      strcmp(want, "pass"))) {
			optreg_buf_addf(&why,
					"    %s: expect deny, warn, audit, "
					"waived or pass (got %s)\n",
					key, want ? want : "a non-string");
			ok = false;
			continue;
		}
		if (!rule_known(run->set, key)) {
			optreg_buf_addf(&why,
					"    %s: no such rule in the "
					"policies\n",
					key);
			ok = false;
			continue;
		}
		const char *got = actual_effect(&r, key);
		if (!want || strcmp(want, got)) {
			optreg_buf_addf(&why, "    %s: expected %s, got %s\n",
					key, want ? want : "?", got);
			ok = false;
		}
	}
	if (json_is_true(json_object_get(t, "exact"))) {
		for (size_t k = 0; k < r.len; k++) {
			const struct optreg_violation *v = &r.items[k];
			char *full =
				optreg_xasprintf("%s/%s", v->policy, v->rule);
			if (!json_object_get(expect, full) &&
			    !json_object_get(expect, v->rule)) {
				optreg_buf_addf(
					&why,
					"    %s: expected pass (exact), got "
					"%s\n",
					full,
					optreg_policy_effect_name(v->effect));
				ok = false;
			}
			free(full);
		}
	}
	if (!ok || run->verbose) {
		optreg_buf_adds(&why, ok ? "" : "    actual:\n");
		list_violations(&r, &why);
	}
report:
	if (ok) {
		run->passed++;
		printf("  PASS  %s\n", name);
		if (run->verbose)
			fputs(why.data, stdout);
	} else {
		run->failed++;
		printf("  FAIL  %s (%s:%d)\n", name, file,
		       line_of(tdoc, tpath.data));
		print_indented(&why);
	}
	free(w);
	optreg_errors_release(&errs);
	optreg_policy_result_release(&r);
	optreg_doc_release(&cfg);
	optreg_doc_release(&prev);
	optreg_buf_release(&why);
	optreg_buf_release(&tpath);
}

/* Runs one test file; returns an exit status for problems with the file
 * itself (tests failing are counted in `run`). */
static int run_file(struct run *run, const char *file, const char *folder)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc tdoc;
	int status = 0;

	optreg_doc_init(&tdoc);
	int rc = optreg_doc_load_file(&tdoc, file, &errs);
	printf("%s:\n", file);
	if (rc) {
		optreg_errors_print(stdout, file, &errs);
		run->failed++;
		status =
			rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
		goto out;
	}
	const json_t *tests = json_object_get(tdoc.root, "tests");
	const char *kind = str(tdoc.root, "kind");
	if (kind && strcmp(kind, "PolicyTest")) {
		/* A config kept beside the tests, not a test file. */
		printf("  (skipped: kind %s, not PolicyTest)\n", kind);
		goto out;
	}
	if (!json_is_array(tests) || !kind) {
		printf("  ERROR %s: needs kind: PolicyTest and tests: [...]\n",
		       file);
		run->failed++;
		status = OPTREG_EXIT_INVALID;
		goto out;
	}
	/* `base: FILE` becomes base_config, relative to the test file. */
	const char *base = str(tdoc.root, "base");
	if (base) {
		struct optreg_doc bdoc;
		char *path = optreg_xasprintf("%s/%s", folder, base);
		optreg_doc_init(&bdoc);
		if (optreg_doc_load_file(&bdoc, path, &errs)) {
			optreg_errors_print(stdout, path, &errs);
			run->failed++;
			status = OPTREG_EXIT_INVALID;
			free(path);
			optreg_doc_release(&bdoc);
			goto out;
		}
		json_object_set(tdoc.root, "base_config", bdoc.root);
		free(path);
		optreg_doc_release(&bdoc);
	}
	for (size_t i = 0; i < json_array_size(tests); i++)
		run_test(run, file, folder, &tdoc, i);
out:
	optreg_errors_release(&errs);
	optreg_doc_release(&tdoc);
	return status;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cmd_policy_test(int argc, char **argv)
{
	const char *dir = NULL, *filter = NULL;
	int verbose = 0, status;
	struct cli_option options[] = {
		CLI_OPT_FLAG("--verbose", "list violations of passing tests",
			     &verbose),
		CLI_OPT_STRING("--run", "SUBSTRING",
			       "only tests whose name contains it", &filter),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = CMD,
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "DIR",
				     .arg_slot = &dir};
	struct cli_policy_set set;

	options[0].short_name = 'v';
	int rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!dir) {
		fprintf(stderr, "optreg %s: expected DIR\n%s", CMD, help);
		return OPTREG_EXIT_USAGE;
	}
	cli_policy_set_init(&set);
	status = cli_policy_set_load(CMD, dir, &set, NULL);
	if (status) {
		cli_policy_set_release(&set);
		return status;
	}

	char *tdir = optreg_xasprintf("%s/tests", dir);
	DIR *d = opendir(tdir);
	if (!d) {
		fprintf(stderr,
			"optreg %s: no test folder \"%s\"\nhint: put test "
			"files (kind: PolicyTest) in DIR/tests/ "
			"(docs/policies.md)\n",
			CMD, tdir);
		free(tdir);
		cli_policy_set_release(&set);
		return OPTREG_EXIT_USAGE;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' ||
		    !((l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) ||
		      (l > 4 && !strcmp(de->d_name + l - 4, ".yml")) ||
		      (l > 5 && !strcmp(de->d_name + l - 5, ".json"))))
			continue;
		OPTREG_ALLOC_GROW(names, n + 1, cap);
		names[n++] = optreg_xasprintf("%s/%s", tdir, de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	struct run run = {&set, filter, verbose, 0, 0};
	for (size_t i = 0; i < n; i++) {
		rc = run_file(&run, names[i], tdir);
		if (rc > status)
			status = rc;
		free(names[i]);
	}
	free(names);
	free(tdir);
	int total = run.passed + run.failed;
	printf("------------------------------------------------------------"
	       "--------------------\n");
	if (!total) {
		printf("no tests\n");
		status = status ? status : OPTREG_EXIT_INVALID;
	} else {
		printf("PASS: %d/%d\n", run.passed, total);
		if (run.failed)
			printf("FAIL: %d/%d\n", run.failed, total);
	}
	if (!status && run.failed)
		status = OPTREG_EXIT_INVALID;
	cli_policy_set_release(&set);
	fflush(stdout);
	return status;
}
