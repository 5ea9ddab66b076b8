/*
 * tests/cases/cases_run.c: the data-driven config corpus runner.
 *
 * usage: cases_run DIR
 *
 * Each folder under DIR holds input.yaml, input.yml or input.json and
 * expected.json: {"valid": bool, "errors": [{"path", "rule", "layer",
 * "line"?, "col"?}]}. The C validator's errors must match the expected list
 * exactly (as a multiset of path, rule and layer; line and column when the
 * expectation gives them). Prints TAP; exits 1 when any case fails.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "validator/config.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *find_input(const char *dir, struct optreg_buf *path)
{
	static const char *const names[] = {"input.yaml", "input.yml",
					    "input.json"};
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		optreg_buf_reset(path);
		optreg_buf_addf(path, "%s/%s", dir, names[i]);
		if (stat(path->data, &st) == 0)
			return path->data;
	}
	return NULL;
}

/* True when actual error `e` satisfies expectation `x`. */
static int matches(const struct optreg_error *e, json_t *x)
{
	const char *path = json_string_value(json_object_get(x, "path"));
	const char *rule = json_string_value(json_object_get(x, "rule"));
	const char *layer = json_string_value(json_object_get(x, "layer"));
	json_t *line = json_object_get(x, "line"),
	       *col = json_object_get(x, "col");

	if (!path || !rule || strcmp(path, e->path) || strcmp(rule, e->rule))
		return 0;
	if (layer && strcmp(layer, optreg_config_error_layer(e)))
		return 0;
	if (line && json_integer_value(line) != e->line)
		return 0;
	if (col && json_integer_value(col) != e->col)
		return 0;
	return 1;
}

/* Runs one case; appends a reason to `why` and returns 0 on mismatch. */
static int run_case(const char *dir, struct optreg_buf *why)
{
	struct optreg_buf in = OPTREG_BUF_INIT, epath = OPTREG_BUF_INIT;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc doc;
	json_error_t jerr;
	json_t *exp = NULL;
	int ok = 0;

	optreg_doc_init(&doc);
	const char *input = find_input(dir, &in);
	optreg_buf_addf(&epath, "%s/expected.json", dir);
	if (!input) {
		optreg_buf_adds(why, "no input.yaml or input.json");
		goto out;
	}
	exp = json_load_file(epath.data, 0, &jerr);
	if (!exp) {
		optreg_buf_addf(why, "%s: %s", epath.data, jerr.text);
		goto out;
	}
	if (optreg_doc_load_file(&doc, input, &errs) == 0)
		optreg_config_validate(&doc, NULL, &errs);

	json_t *want = json_object_get(exp, "errors");
	int valid = json_is_true(json_object_get(exp, "valid"));
	size_t nwant = json_array_size(want);
	char *used = calloc(errs.len + 1, 1);

	ok = valid == (errs.len == 0) && nwant == errs.len;
	for (size_t i = 0; ok && i < nwant; i++) {
		size_t j;
		for (j = 0; j < errs.len; j++)
			if (!used[j] &&
			    matches(&errs.items[j], json_array_get(want, i)))
				break;
		if (j == errs.len)
			ok = 0;
		else
			used[j] = 1;
	}
	free(used);
	if (!ok) {
		char *s = json_dumps(want, JSON_COMPACT);
		optreg_buf_addf(why, "expected valid=%s errors=%s\n",
				valid ? "true" : "false", s ? s : "?");
		free(s);
		optreg_buf_adds(why, "got:\n");
		for (size_t j = 0; j < errs.len; j++) {
			const struct optreg_error *e = &errs.items[j];
			optreg_buf_addf(why, "  %s %s [%s] %d:%d %s\n", e->path,
					e->rule, optreg_config_error_layer(e),
					e->line, e->col, e->message);
		}
		if (!errs.len)
			optreg_buf_adds(why, "  (no errors)\n");
	}
out:
	json_decref(exp);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	optreg_buf_release(&in);
	optreg_buf_release(&epath);
	return ok;
}

int main(int argc, char **argv)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: cases_run DIR\n");
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 2;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = optreg_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = optreg_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);

	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		struct optreg_buf dir = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;

		optreg_buf_addf(&dir, "%s/%s", argv[1], names[i]);
		if (run_case(dir.data, &why)) {
			printf("ok %zu - config/%s\n", i + 1, names[i]);
		} else {
			failed = 1;
			printf("not ok %zu - config/%s\n", i + 1, names[i]);
			for (char *line = strtok(why.data, "\n"); line;
			     line = strtok(NULL, "\n"))
				printf("# %s\n", line);
		}
		optreg_buf_release(&dir);
		optreg_buf_release(&why);
		free(names[i]);
	}
	free(names);
	return failed;
}
