/*
 * tests/unit/runner/suite_doc_test.c: loading a suite file
 * (runner/suite_doc.c). The shipped suites load; a good document loads
 * with every field where it belongs; the digest is that of the canonical
 * JSON, so comments and layout do not change it and a number does; and
 * each bad field is refused with its rule, its path and its line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "runner/suite.h"
#include "runner/suite_int.h"

/* A good suite; the cases below change one line of it. */
static const char GOOD[] = "name: t\n"				 /* 1 */
			   "version: 1\n"			 /* 2 */
			   "description: a test suite\n"	 /* 3 */
			   "warmup_cap_fraction: 0.1\n"		 /* 4 */
			   "thresholds:\n"			 /* 5 */
			   "  loss_explosion_factor: 10\n"	 /* 6 */
			   "  final_window_fraction: 0.1\n"	 /* 7 */
			   "  accuracy_floor: null\n"		 /* 8 */
			   "  spike_factor: 2\n"		 /* 9 */
			   "  spike_smoothing: 5\n"		 /* 10 */
			   "  spike_zscore: 2.5\n"		 /* 11 */
			   "  spike_zscore_window: 100\n"	 /* 12 */
			   "  spike_max_fraction: 0.02\n"	 /* 13 */
			   "  update_ratio_max: 1.0e-2\n"	 /* 14 */
			   "  update_ratio_min: 1.0e-5\n"	 /* 15 */
			   "  update_ratio_exclude: \"bias$\"\n" /* 16 */
			   "  eos_streak: 20\n"			 /* 17 */
			   "  eps_dominated_fraction: 0.5\n"	 /* 18 */
			   "workloads:\n"			 /* 19 */
			   "  - name: quadratic_deep\n"		 /* 20 */
			   "    steps: 200\n"			 /* 21 */
			   "    seed: 42\n"			 /* 22 */
			   "  - name: fmnist_mlp\n"		 /* 23 */
			   "    steps: 60\n"			 /* 24 */
			   "    batch: 64\n"			 /* 25 */
			   "    seed: 7\n"			 /* 26 */
			   "    eval: {rows: 2000}\n"		 /* 27 */
			   "    thresholds:\n"			 /* 28 */
			   "      accuracy_floor: 0.6\n";	 /* 29 */

static char tmpdir[] = "/tmp/optreg-suite-doc.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Loads `text` from a file; returns optreg_suite_load's code. */
static int load_text(const char *text, struct optreg_suite **s,
		     struct optreg_errors *errs)
{
	char *path = optreg_xasprintf("%s/suite.yaml", tmpdir);
	FILE *f = fopen(path, "w");
	int rc;

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	rc = optreg_suite_load(s, path, errs);
	free(path);
	return rc;
}

/* GOOD with the first `from` replaced by `to` (which may be ""). */
static char *good_with(const char *from, const char *to)
{
	const char *at = strstr(GOOD, from);
	struct optreg_buf b = OPTREG_BUF_INIT;

	assert_non_null(at);
	optreg_buf_add(&b, GOOD, (size_t)(at - GOOD));
	optreg_buf_adds(&b, to);
	optreg_buf_adds(&b, at + strlen(from));
	return optreg_buf_detach(&b, NULL);
}

static void test_shipped_suites_load(void **state)
{
	static const char *const files[] = {"runner/suites/ref-v1.yaml",
					    "runner/suites/ci.yaml"};
	static const char *const names[] = {"ref-v1", "ci"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_suite *s = NULL;

		assert_int_equal(optreg_suite_load(&s, files[i], &errs), 0);
		assert_int_equal(errs.len, 0);
		assert_string_equal(optreg_suite_name(s), names[i]);
		assert_int_equal(strncmp(optreg_suite_digest(s), "sha256:", 7),
				 0);
		assert_int_equal(strlen(optreg_suite_digest(s)),
				 OPTREG_DIGEST_LEN);
		assert_int_equal(s->nw, 5);
		optreg_suite_free(s);
	}
}

static void test_good_fields(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;
	const struct suite_workload *w;

	(void)state;
	assert_int_equal(load_text(GOOD, &s, &errs), 0);
	assert_string_equal(s->name, "t");
	assert_int_equal(s->version, 1);
	assert_true(s->warmup_cap_fraction == 0.1);
	assert_int_equal(s->nw, 2);

	w = &s->w[0];
	assert_string_equal(w->name, "quadratic_deep");
	assert_int_equal(w->steps, 200);
	assert_int_equal(w->batch, 128); /* the default */
	assert_int_equal(w->seed, 42);
	assert_int_equal(w->eval, 0);
	assert_int_equal(w->sharpness, 1); /* the default */
	assert_true(isnan(w->th.accuracy_floor));
	assert_true(w->th.loss_explosion_factor == 10);
	assert_int_equal(w->th.spike_smoothing, 5);
	assert_int_equal(w->th.eos_streak, 20);
	assert_string_equal(w->th.update_ratio_exclude, "bias$");

	w = &s->w[1];
	assert_string_equal(w->name, "fmnist_mlp");
	assert_int_equal(w->batch, 64);
	assert_int_equal(w->seed, 7);
	assert_int_equal(w->eval, 1);
	assert_int_equal(w->eval_rows, 2000);
	/* The override, and the suite's values for the rest. */
	assert_true(w->th.accuracy_floor == 0.6);
	assert_true(w->th.spike_zscore == 2.5);
	assert_string_equal(w->th.update_ratio_exclude, "bias$");
	optreg_suite_free(s);
	optreg_errors_release(&errs);
}

static void test_digest_is_canonical(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	char *commented = good_with("version: 1\n",
				    "# a comment\nversion:   1   # another\n");
	char *flow = good_with("    eval: {rows: 2000}\n",
			       "    eval:\n      rows: 2000\n");
	char *changed = good_with("spike_factor: 2\n", "spike_factor: 3\n");

	(void)state;
	assert_int_equal(load_text(GOOD, &a, &errs), 0);
	assert_int_equal(load_text(commented, &b, &errs), 0);
	assert_int_equal(load_text(flow, &c, &errs), 0);
	assert_int_equal(load_text(changed, &d, &errs), 0);
	assert_string_equal(optreg_suite_digest(a), optreg_suite_digest(b));
	assert_string_equal(optreg_suite_digest(a), optreg_suite_digest(c));
	assert_string_not_equal(optreg_suite_digest(a), optreg_suite_digest(d));
	optreg_suite_free(a);
	optreg_suite_free(b);
	optreg_suite_free(c);
	optreg_suite_free(d);
	free(commented);
	free(flow);
	free(changed);
	optreg_errors_release(&errs);
}

/* One bad document: GOOD with `from` replaced by `to`, refused with an
 * error of `rule` at `path` on `line` (0: any line). */
struct refusal {
	const char *from, *to;
	const char *rule, *path;
	int line;
};

static const struct refusal refusals[] = {
	{"name: t\n", "name: T!\n", "pattern", "name", 1},
	{"name: t\n", "", "required", "name", 0},
	{"version: 1\n", "version: 0\n", "range", "version", 2},
	{"version: 1\n", "version: 1.5\n", "range", "version", 2},
	{"description: a test suite\n", "description: [1]\n", "type",
	 "description", 3},
	{"warmup_cap_fraction: 0.1\n", "warmup_cap_fraction: 2\n", "range",
	 "warmup_cap_fraction", 4},
	{"warmup_cap_fraction: 0.1\n", "", "required", "warmup_cap_fraction",
	 0},
	{"warmup_cap_fraction: 0.1\n",
	 "warmup_cap_fraction: 0.1\ncolour: red\n", "unknown_field", "colour",
	 5},
	{"  spike_factor: 2\n", "  spike_factor: 1\n", "range",
	 "thresholds.spike_factor", 9},
	{"  spike_smoothing: 5\n", "  spike_smoothing: 2.5\n", "range",
	 "thresholds.spike_smoothing", 10},
	/* A missing field is placed where its object starts. */
	{"  spike_zscore: 2.5\n", "", "required", "thresholds.spike_zscore", 6},
	{"  spike_max_fraction: 0.02\n", "  spike_max_fraction: \"2%\"\n",
	 "range", "thresholds.spike_max_fraction", 13},
	{"  update_ratio_exclude: \"bias$\"\n",
	 "  update_ratio_exclude: \"(\"\n", "regex",
	 "thresholds.update_ratio_exclude", 16},
	{"  update_ratio_exclude: \"bias$\"\n", "  update_ratio_exclude: 5\n",
	 "type", "thresholds.update_ratio_exclude", 16},
	{"  eos_streak: 20\n", "  eos_streak: 20\n  bogus: 1\n",
	 "unknown_field", "thresholds.bogus", 18},
	{"thresholds:\n", "thresholds: 5\nx:\n", "type", "thresholds", 5},
	{"  - name: quadratic_deep\n", "  - name: nope\n", "enum",
	 "workloads[0].name", 20},
	{"  - name: fmnist_mlp\n", "  - name: quadratic_deep\n", "duplicate",
	 "workloads[1]", 23},
	{"    steps: 200\n", "    steps: 0\n", "range", "workloads[0].steps",
	 21},
	{"    steps: 200\n", "    steps: 200\n    batch: 0\n", "range",
	 "workloads[0].batch", 22},
	{"    seed: 42\n", "", "required", "workloads[0].seed", 20},
	{"    seed: 42\n", "    seed: -1\n", "range", "workloads[0].seed", 22},
	{"    seed: 42\n", "    seed: 42\n    colour: red\n", "unknown_field",
	 "workloads[0].colour", 23},
	{"    seed: 42\n", "    seed: 42\n    eval: {rows: 5}\n",
	 "not_applicable", "workloads[0].eval", 23},
	{"    seed: 42\n", "    seed: 42\n    sharpness: 3\n", "type",
	 "workloads[0].sharpness", 23},
	{"    seed: 42\n",
	 "    seed: 42\n    thresholds: {update_ratio_min: 0.5}\n",
	 "consistency", "workloads[0].thresholds", 23},
	{"    seed: 7\n", "    seed: 7\n    sharpness: true\n",
	 "not_applicable", "workloads[1].sharpness", 27},
	{"{rows: 2000}", "{rows: 20000}", "range", "workloads[1].eval.rows",
	 27},
	{"{rows: 2000}", "{rows: 1, all: true}", "unknown_field",
	 "workloads[1].eval.all", 27},
	{"    eval: {rows: 2000}\n", "", "required", "workloads[1].eval", 0},
	{"      accuracy_floor: 0.6\n", "      accuracy_floor: 1.5\n", "range",
	 "workloads[1].thresholds.accuracy_floor", 29},
};

static void test_bad_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *r = &refusals[i];
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_suite *s = (struct optreg_suite *)1;
		char *text = good_with(r->from, r->to);
		int found = 0;

		assert_int_equal(load_text(text, &s, &errs), OPTREG_EINVAL);
		assert_null(s);
		for (size_t k = 0; k < errs.len; k++) {
			const struct optreg_error *e = &errs.items[k];
			if (!strcmp(e->rule, r->rule) &&
			    !strcmp(e->path, r->path) &&
			    (!r->line || e->line == r->line))
				found = 1;
		}
		if (!found) {
			struct optreg_buf b = OPTREG_BUF_INIT;
			optreg_errors_format(&errs, "suite.yaml", &b);
			fail_msg("case %zu: want %s at %s line %d; got:\n%s", i,
				 r->rule, r->path, r->line,
				 b.data ? b.data : "(no errors)");
		}
		free(text);
		optreg_errors_release(&errs);
	}
}

static void test_every_error_reported(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;
	char *one = good_with("version: 1\n", "version: 0\n");
	char *two;

	(void)state;
	{
		const char *from = "    steps: 60\n";
		char *at = strstr(one, from);
		struct optreg_buf b = OPTREG_BUF_INIT;
		optreg_buf_add(&b, one, (size_t)(at - one));
		optreg_buf_adds(&b, "    steps: sixty\n");
		optreg_buf_adds(&b, at + strlen(from));
		two = optreg_buf_detach(&b, NULL);
	}
	assert_int_equal(load_text(two, &s, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	/* Sorted by position. */
	assert_string_equal(errs.items[0].path, "version");
	assert_int_equal(errs.items[0].line, 2);
	assert_string_equal(errs.items[1].path, "workloads[1].steps");
	assert_int_equal(errs.items[1].line, 24);
	assert_non_null(strstr(errs.items[1].message, "\"sixty\""));
	free(one);
	free(two);
	optreg_errors_release(&errs);
}

static void test_not_a_suite(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;

	(void)state;
	assert_int_equal(load_text("- 1\n- 2\n", &s, &errs), OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "type");
	assert_string_equal(errs.items[0].path, "");
	optreg_errors_release(&errs);

	assert_true(load_text("name: [\n", &s, &errs) < 0);
	assert_null(s);
	assert_true(errs.len > 0);
	optreg_errors_release(&errs);

	assert_int_equal(
		optreg_suite_load(&s, "/nonexistent/suite.yaml", &errs),
		OPTREG_EIO);
	assert_null(s);
	optreg_errors_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_suites_load),
		cmocka_unit_test(test_good_fields),
		cmocka_unit_test(test_digest_is_canonical),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_not_a_suite),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
