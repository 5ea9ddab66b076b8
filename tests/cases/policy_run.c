/*
 * tests/cases/policy_run.c: the data-driven policy corpus runner.
 *
 * usage: policy_run DIR          run every case folder of DIR (TAP)
 *        policy_run --load FILE  load one policy file and print
 *                                {"valid", "errors": [...]} (for
 *                                tests/schema/policy_agree_test.py)
 *
 * A case folder holds policy files (every file whose name starts with
 * "policy", sorted), optionally input.yaml / input.json (the config),
 * previous.yaml / previous.json (the version the tag points at now), and
 * expected.json:
 *
 *   {"tag", "namespace" (default: the config's), "now" (RFC 3339),
 *    "waivers": [...],
 *    "errors": [{"rule", "path", "line"?, "col"?}],   policy load errors
 *    "violations": [{"rule", "path", "effect", "policy"?, "severity"?,
 *                    "line"?, "waiver"?}],
 *    "counts": {"denied", "warned", "audited", "waived"},
 *    "gates": [{"namespace", "tag", "gated", "allow_warn"?, "policy"?}]}
 *
 * With "errors", loading must fail with exactly those errors (as a
 * multiset); otherwise every policy must load and the violations must be
 * exactly the expected ones (as a multiset). Exits 1 when a case fails.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "validator/config.h"
#include "validator/policy.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of `dir` that start with `prefix`. */
static size_t list_dir(const char *dir, const char *prefix, char ***out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d) {
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = optreg_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = optreg_xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	return n;
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Loads dir/base.yaml or dir/base.json into `doc` when one exists;
 * returns 1 when loaded, 0 when absent, -1 on error (reason in `why`). */
static int load_optional(const char *dir, const char *base,
			 struct optreg_doc *doc, struct optreg_buf *why)
{
	static const char *const exts[] = {"yaml", "yml", "json"};
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		char *p = optreg_xasprintf("%s/%s.%s", dir, base, exts[i]);
		if (stat(p, &st) != 0) {
			free(p);
			continue;
		}
		int rc = optreg_doc_load_file(doc, p, &errs);
		if (rc == 0)
			rc = optreg_config_validate(doc, NULL, &errs);
		if (rc) {
			optreg_buf_addf(why, "%s is not a valid config:\n", p);
			optreg_errors_format(&errs, p, why);
		}
		free(p);
		optreg_errors_release(&errs);
		return rc ? -1 : 1;
	}
	return 0;
}

static bool str_match(const json_t *x, const char *key, const char *got)
{
	const char *want = json_string_value(json_object_get(x, key));
	return !want || (got && !strcmp(want, got));
}

static bool int_match(const json_t *x, const char *key, long got)
{
	const json_t *want = json_object_get(x, key);
	return !want || (long)json_number_value(want) == got;
}

static bool error_matches(const struct optreg_error *e, const json_t *x)
{
	return str_match(x, "rule", e->rule) && str_match(x, "path", e->path) &&
	       int_match(x, "line", e->line) && int_match(x, "col", e->col);
}

static bool violation_matches(const struct optreg_violation *v, const json_t *x)
{
	return str_match(x, "rule", v->rule) && str_match(x, "path", v->path) &&
	       str_match(x, "effect", optreg_policy_effect_name(v->effect)) &&
	       str_match(x, "policy", v->policy) &&
	       str_match(x, "severity",
			 optreg_policy_severity_name(v->severity)) &&
	       str_match(x, "waiver", v->waiver) &&
	       int_match(x, "line", v->line);
}

/* Multiset match of `n` actual items against the array `want`. */
static bool match_all(size_t n, const json_t *want,
		      bool (*match)(size_t i, const json_t *x, void *data),
		      void *data)
{
	if (json_array_size(want) != n)
		return false;
	char *used = calloc(n + 1, 1);
	bool ok = true;
	for (size_t w = 0; ok && w < n; w++) {
		size_t i;
		for (i = 0; i < n; i++)
			if (!used[i] && match(i, json_array_get(want, w), data))
				break;
		if (i == n)
			ok = false;
		else
			used[i] = 1;
	}
	free(used);
	return ok;
}

static bool match_error(size_t i, const json_t *x, void *data)
{
	return error_matches(&((struct optreg_errors *)data)->items[i], x);
}

static bool match_violation(size_t i, const json_t *x, void *data)
{
	return violation_matches(
		&((struct optreg_policy_result *)data)->items[i], x);
}

static int run_case(const char *dir, struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc cfg, prev;
	struct optreg_policy_result r;
	struct optreg_policy **ps = NULL;
	struct optreg_waiver *w = NULL;
	size_t nw = 0, np = 0;
	json_error_t jerr;
	char **names;
	int ok = 0;

	optreg_doc_init(&cfg);
	optreg_doc_init(&prev);
	optreg_policy_result_init(&r);
	char *epath = optreg_xasprintf("%s/expected.json", dir);
	json_t *exp = json_load_file(epath, 0, &jerr);
	free(epath);
	size_t nnames = list_dir(dir, "policy", &names);
	if (!exp) {
		optreg_buf_addf(why, "expected.json: %s", jerr.text);
		goto out;
	}
	ps = calloc(nnames + 1, sizeof(*ps));
	for (size_t i = 0; i < nnames; i++) {
		char *p = optreg_xasprintf("%s/%s", dir, names[i]);
		if (optreg_policy_load_file(&ps[np], p, &errs) == 0)
			np++;
		free(p);
	}
	const json_t *want_errs = json_object_get(exp, "errors");
	if (json_array_size(want_errs) || errs.len) {
		ok = json_array_size(want_errs) > 0 &&
		     match_all(errs.len, want_errs, match_error, &errs);
		if (!ok) {
			char *s = json_dumps(want_errs, JSON_COMPACT);
			optreg_buf_addf(why, "expected load errors %s\ngot:\n",
					s ? s : "[]");
			free(s);
			for (size_t i = 0; i < errs.len; i++)
				optreg_buf_addf(
					why, "  %s %s %d:%d %s\n",
					errs.items[i].rule, errs.items[i].path,
					errs.items[i].line, errs.items[i].col,
					errs.items[i].message);
		}
		goto out;
	}
	if (load_optional(dir, "input", &cfg, why) < 0 ||
	    load_optional(dir, "previous", &prev, why) < 0)
		goto out;
	const json_t *wj = json_object_get(exp, "waivers");
	if (wj && optreg_policy_waivers_from_json(wj, &w, &nw, &errs)) {
		optreg_errors_format(&errs, "waivers", why);
		goto out;
	}
	time_t now = 0;
	const char *now_s = json_string_value(json_object_get(exp, "now"));
	if (now_s && optreg_policy_time_parse(now_s, &now)) {
		optreg_buf_addf(why, "now: bad time %s", now_s);
		goto out;
	}
	const json_t *md = json_object_get(cfg.root, "metadata");
	const char *ns = json_string_value(json_object_get(exp, "namespace"));
	struct optreg_policy_input in = {
		.namespace_ = ns ? ns
				 : json_string_value(
					   json_object_get(md, "namespace")),
		.name = json_string_value(json_object_get(md, "name")),
		.config = cfg.root,
		.doc = &cfg,
		.tag = json_string_value(json_object_get(exp, "tag")),
		.previous = prev.root,
		.waivers = w,
		.nwaivers = nw,
		.now = now,
	};
	if (cfg.root)
		optreg_policy_evaluate((const struct optreg_policy *const *)ps,
				       np, &in, &r);
	const json_t *want = json_object_get(exp, "violations");
	ok = want ? match_all(r.len, want, match_violation, &r) : r.len == 0;
	if (!ok) {
		char *s = json_dumps(want, JSON_COMPACT);
		optreg_buf_addf(why, "expected violations %s\ngot:\n",
				s ? s : "[]");
		free(s);
		for (size_t i = 0; i < r.len; i++) {
			const struct optreg_violation *v = &r.items[i];
			optreg_buf_addf(why, "  %s/%s %s %s line %d: %s\n",
					v->policy, v->rule, v->path,
					optreg_policy_effect_name(v->effect),
					v->line, v->detail);
		}
	}
	const json_t *counts = json_object_get(exp, "counts");
	if (counts) {
		size_t got[] = {r.denied, r.warned, r.audited, r.waived};
		const char *keys[] = {"denied", "warned", "audited", "waived"};
		for (size_t k = 0; k < 4; k++) {
			const json_t *c = json_object_get(counts, keys[k]);
			if (c && (size_t)json_number_value(c) != got[k]) {
				optreg_buf_addf(
					why, "%s: expected %g, got %zu\n",
					keys[k], json_number_value(c), got[k]);
				ok = 0;
			}
		}
	}
	size_t gi;
	const json_t *g;
	json_array_foreach(json_object_get(exp, "gates"), gi, g)
	{
		struct optreg_gate gate;
		optreg_policy_gate(
			(const struct optreg_policy *const *)ps, np,
			json_string_value(json_object_get(g, "namespace")),
			json_string_value(json_object_get(g, "tag")), &gate);
		const json_t *aw = json_object_get(g, "allow_warn");
		if (gate.gated != json_is_true(json_object_get(g, "gated")) ||
		    (aw && gate.allow_warn != json_is_true(aw)) ||
		    !str_match(g, "policy", gate.gated ? gate.policy : NULL)) {
			char *s = json_dumps(g, JSON_COMPACT);
			optreg_buf_addf(why,
					"gate %s: got gated=%d allow_warn=%d "
					"policy=%s\n",
					s, gate.gated, gate.allow_warn,
					gate.policy);
			free(s);
			ok = 0;
		}
	}
out:
	for (size_t i = 0; i < np; i++)
		optreg_policy_free(ps[i]);
	free(ps);
	free(w);
	free_list(names, nnames);
	json_decref(exp);
	optreg_errors_release(&errs);
	optreg_policy_result_release(&r);
	optreg_doc_release(&cfg);
	optreg_doc_release(&prev);
	return ok;
}

static int load_only(const char *file)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy *p = NULL;
	int rc = optreg_policy_load_file(&p, file, &errs);

	json_t *o = json_pack("{s:b, s:o}", "valid", rc == 0, "errors",
			      optreg_errors_to_json(&errs));
	char *s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	optreg_policy_free(p);
	optreg_errors_release(&errs);
	return rc == OPTREG_EIO ? 3 : 0;
}

int main(int argc, char **argv)
{
	char **names;
	int failed = 0;

	if (argc == 3 && !strcmp(argv[1], "--load"))
		return load_only(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: policy_run DIR | policy_run --load "
				"FILE\n");
		return 2;
	}
	size_t n = list_dir(argv[1], "", &names);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		struct optreg_buf why = OPTREG_BUF_INIT;
		char *dir = optreg_xasprintf("%s/%s", argv[1], names[i]);

		if (run_case(dir, &why)) {
			printf("ok %zu - policy/%s\n", i + 1, names[i]);
		} else {
			failed = 1;
			printf("not ok %zu - policy/%s\n", i + 1, names[i]);
			for (char *line = strtok(why.data, "\n"); line;
			     line = strtok(NULL, "\n"))
				printf("# %s\n", line);
		}
		free(dir);
		optreg_buf_release(&why);
	}
	free_list(names, n);
	return failed;
}
