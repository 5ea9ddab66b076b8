/*
 * tests/unit/runner/suite_doc_test.c: loading a suite file
 * (runner/suite_doc.c). The shipped suites load and the retired format 1
 * is refused; a good format-2 document loads with every field (seeds,
 * schedule, problem options, baseline) where it belongs; the digest is that of
 * the canonical JSON, so comments and layout do not change it and a number
 * does; and each bad field is refused with its rule, its path and its line.
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
static const char GOOD[] =
	"name: t\n"					    /* 1 */
	"version: 2\n"					    /* 2 */
	"description: a test suite\n"			    /* 3 */
	"seeds: [1, 2, 3]\n"				    /* 4 */
	"schedule:\n"					    /* 5 */
	"  warmup_cap: 50\n"				    /* 6 */
	"thresholds:\n"					    /* 7 */
	"  loss_explosion_factor: 10\n"			    /* 8 */
	"  final_window_fraction: 0.1\n"		    /* 9 */
	"  accuracy_floor: null\n"			    /* 10 */
	"  spike_factor: 2\n"				    /* 11 */
	"  spike_smoothing: 5\n"			    /* 12 */
	"  spike_zscore: 2.5\n"				    /* 13 */
	"  spike_zscore_window: 100\n"			    /* 14 */
	"  spike_max_fraction: 0.02\n"			    /* 15 */
	"  update_ratio_max: 1.0e-2\n"			    /* 16 */
	"  update_ratio_min: 1.0e-5\n"			    /* 17 */
	"  update_ratio_exclude: \"bias$\"\n"		    /* 18 */
	"  eos_streak: 20\n"				    /* 19 */
	"  eps_dominated_fraction: 0.5\n"		    /* 20 */
	"  accuracy_gap_fail: 0.05\n"			    /* 21 */
	"  accuracy_gap_warn: 0.02\n"			    /* 22 */
	"  loss_gap_fail: 1.5\n"			    /* 23 */
	"  loss_gap_warn: 1.2\n"			    /* 24 */
	"workloads:\n"					    /* 25 */
	"  - name: quadratic_deep\n"			    /* 26 */
	"    peak_steps: 200\n"				    /* 27 */
	"  - name: mlp\n"				    /* 28 */
	"    problem: fmnist_mlp\n"			    /* 29 */
	"    peak_steps: 60\n"				    /* 30 */
	"    batch: 64\n"				    /* 31 */
	"    hidden: [256, 128]\n"			    /* 32 */
	"    label_noise: 0.2\n"			    /* 33 */
	"    sparse_keep: 0.5\n"			    /* 34 */
	"    grad_spike: {steps: [10, 30], factor: 1000}\n" /* 35 */
	"    precision: declared\n"			    /* 36 */
	"    eval: {rows: 2000}\n"			    /* 37 */
	"    thresholds:\n"				    /* 38 */
	"      accuracy_floor: 0.6\n"			    /* 39 */
	"baseline:\n"					    /* 40 */
	"  - lr: 1.0e-4\n"				    /* 41 */
	"    workloads:\n"				    /* 42 */
	"      quadratic_deep:\n"			    /* 43 */
	"        \"1\": {final_loss: 20.5}\n"		    /* 44 */
	"        \"2\": {final_loss: 20.6}\n"		    /* 45 */
	"        \"3\": {final_loss: 20.7}\n"		    /* 46 */
	"      mlp:\n"					    /* 47 */
	"        \"1\": {final_loss: 1.5, test_loss: 1.55, test_accuracy: "
	"0.5}\n" /* 48 */
	"        \"2\": {final_loss: 1.6, test_loss: 1.65, test_accuracy: "
	"0.4}\n" /* 49 */
	"        \"3\": {final_loss: 1.7, test_loss: 1.75, test_accuracy: "
	"0.45}\n"			      /* 50 */
	"  - lr: 1.0e-3\n"		      /* 51 */
	"    workloads:\n"		      /* 52 */
	"      quadratic_deep:\n"	      /* 53 */
	"        \"1\": {final_loss: 10.5}\n" /* 54 */
	"        \"2\": {final_loss: 10.6}\n" /* 55 */
	"        \"3\": {final_loss: 10.7}\n" /* 56 */
	"      mlp:\n"			      /* 57 */
	"        \"1\": {final_loss: 0.5, test_loss: 0.55, test_accuracy: "
	"0.8}\n" /* 58 */
	"        \"2\": {final_loss: 0.6, test_loss: 0.65, test_accuracy: "
	"0.7}\n" /* 59 */
	"        \"3\": {final_loss: 0.7, test_loss: 0.75, test_accuracy: "
	"0.75}\n"; /* 60 */

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
	static const char *const files[] = {"runner/suites/ref-v2.yaml",
					    "runner/suites/ci.yaml"};
	static const char *const names[] = {"ref-v2", "ci"};

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
		assert_int_equal(s->version, 2);
		assert_true(s->nseeds >= 3 && s->nseeds % 2 == 1);
		assert_true(s->has_baseline);
		assert_true(s->nbase >= 1);
		for (size_t g = 1; g < s->nbase; g++)
			assert_true(s->base_lrs[g] > s->base_lrs[g - 1]);
		for (size_t k = 0; k < s->nw; k++)
			assert_non_null(s->w[k].base);
		optreg_suite_free(s);
	}
}

/* The retired format: refused, saying what to use; its file is kept and
 * its digest is the one ref-v1 verdicts carry. */
static void test_v1_retired(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;

	(void)state;
	assert_int_equal(optreg_suite_load(&s,
					   "runner/suites/retired/ref-v1.yaml",
					   &errs),
			 OPTREG_EINVAL);
	assert_null(s);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "retired");
	assert_string_equal(errs.items[0].path, "version");
	assert_non_null(strstr(errs.items[0].message, "ref-v1"));
	assert_non_null(strstr(errs.items[0].message, "still verify"));
	assert_non_null(strstr(errs.items[0].hint, "ref-v2.yaml"));
	optreg_errors_release(&errs);
}

static void test_good_fields(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;
	const struct suite_workload *w;

	(void)state;
	assert_int_equal(load_text(GOOD, &s, &errs), 0);
	assert_string_equal(s->name, "t");
	assert_int_equal(s->version, 2);
	assert_int_equal(s->nseeds, 3);
	assert_true(s->seeds[0] == 1 && s->seeds[1] == 2 && s->seeds[2] == 3);
	assert_int_equal(s->warmup_cap, 50);
	assert_int_equal(s->nw, 2);
	assert_true(s->has_baseline);

	w = &s->w[0];
	assert_string_equal(w->name, "quadratic_deep");
	assert_string_equal(w->problem, "quadratic_deep"); /* the name */
	assert_int_equal(w->peak_steps, 200);
	assert_int_equal(w->batch, 128); /* the default */
	assert_int_equal(w->eval, 0);
	assert_int_equal(w->sharpness, 1); /* the default */
	assert_int_equal(w->nhidden, 0);
	assert_int_equal(w->precision, OPTREG_PRECISION_FP32);
	assert_int_equal(w->precision_declared, 0);
	assert_int_equal(json_object_size(w->variant), 0);
	assert_true(isnan(w->th.accuracy_floor));
	assert_true(w->th.loss_explosion_factor == 10);
	assert_int_equal(w->th.spike_smoothing, 5);
	assert_int_equal(w->th.eos_streak, 20);
	assert_true(w->th.accuracy_gap_fail == 0.05);
	assert_true(w->th.accuracy_gap_warn == 0.02);
	assert_true(w->th.loss_gap_fail == 1.5);
	assert_true(w->th.loss_gap_warn == 1.2);
	assert_string_equal(w->th.update_ratio_exclude, "bias$");
	/* The grid, ascending; base[g * nseeds + k] is lr g, seed k. */
	assert_int_equal(s->nbase, 2);
	assert_true(s->base_lrs[0] == 1e-4);
	assert_true(s->base_lrs[1] == 1e-3);
	assert_true(w->base[0].final_loss == 20.5);
	assert_true(w->base[0].lr == 1e-4);
	assert_true(w->base[2].final_loss == 20.7);
	assert_true(w->base[3 + 0].final_loss == 10.5);
	assert_true(w->base[3 + 2].final_loss == 10.7);
	assert_true(w->base[3 + 2].lr == 1e-3);
	assert_true(isnan(w->base[1].test_loss));
	assert_true(isnan(w->base[3 + 1].test_accuracy));

	w = &s->w[1];
	assert_string_equal(w->name, "mlp");
	assert_string_equal(w->problem, "fmnist_mlp");
	assert_int_equal(w->peak_steps, 60);
	assert_int_equal(w->batch, 64);
	assert_int_equal(w->eval, 1);
	assert_int_equal(w->eval_rows, 2000);
	assert_int_equal(w->nhidden, 2);
	assert_int_equal(w->hidden[0], 256);
	assert_int_equal(w->hidden[1], 128);
	assert_true(w->label_noise == 0.2);
	assert_true(w->sparse_keep == 0.5);
	assert_int_equal(w->nspike, 2);
	assert_int_equal(w->spike_steps[0], 10);
	assert_int_equal(w->spike_steps[1], 30);
	assert_true(w->spike_factor == 1000);
	assert_int_equal(w->precision_declared, 1);
	/* The variant, as written, for the verdict. */
	assert_int_equal(json_object_size(w->variant), 5);
	assert_string_equal(
		json_string_value(json_object_get(w->variant, "precision")),
		"declared");
	assert_int_equal(json_array_size(json_object_get(w->variant, "hidden")),
			 2);
	/* The override, and the suite's values for the rest. */
	assert_true(w->th.accuracy_floor == 0.6);
	assert_true(w->th.spike_zscore == 2.5);
	assert_string_equal(w->th.update_ratio_exclude, "bias$");
	/* Baseline entries in the order of the suite's seeds, per lr. */
	assert_true(w->base[1].final_loss == 1.6);
	assert_true(w->base[1].test_loss == 1.65);
	assert_true(w->base[1].test_accuracy == 0.4);
	assert_true(w->base[1].lr == 1e-4);
	assert_true(w->base[3 + 1].final_loss == 0.6);
	assert_true(w->base[3 + 1].test_loss == 0.65);
	assert_true(w->base[3 + 1].test_accuracy == 0.7);
	assert_true(w->base[3 + 1].lr == 1e-3);
	optreg_suite_free(s);
	optreg_errors_release(&errs);
}

/* Precision fp16 / bf16; no baseline section: the gap criteria are off,
 * and nothing is required. */
static void test_precision_and_no_baseline(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;
	char *text =
		good_with("    precision: declared\n", "    precision: bf16\n");
	char *cut = strstr(text, "baseline:\n");

	(void)state;
	*cut = '\0';
	assert_int_equal(load_text(text, &s, &errs), 0);
	assert_int_equal(s->w[1].precision, OPTREG_PRECISION_BF16);
	assert_int_equal(s->w[1].precision_declared, 0);
	assert_false(s->has_baseline);
	assert_int_equal(s->nbase, 0);
	assert_null(s->w[0].base);
	optreg_suite_free(s);
	free(text);

	text = good_with("    precision: declared\n", "    precision: fp16\n");
	assert_int_equal(load_text(text, &s, &errs), 0);
	assert_int_equal(s->w[1].precision, OPTREG_PRECISION_FP16);
	optreg_suite_free(s);
	free(text);
	optreg_errors_release(&errs);
}

/* Writes `text` to tmpdir/name; the path, malloc'd. */
static char *write_text(const char *name, const char *text)
{
	char *path = optreg_xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* `optreg-runner baseline` loads a suite whose baseline is stale, and
 * reads only its grid's lrs (its default grid). */
static void test_load_without_baseline(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;
	char *text = good_with("      mlp:\n", "      gone:\n");
	char *path = write_text("stale.yaml", text);

	(void)state;
	assert_int_equal(optreg_suite_load(&s, path, &errs), OPTREG_EINVAL);
	optreg_errors_release(&errs);
	assert_int_equal(optreg_suite_load_without_baseline(&s, path, &errs),
			 0);
	assert_false(s->has_baseline);
	assert_null(s->w[1].base);
	assert_int_equal(s->nbase, 2);
	assert_true(s->base_lrs[0] == 1e-4 && s->base_lrs[1] == 1e-3);
	optreg_suite_free(s);
	free(path);
	free(text);

	/* Out of order and repeated: sorted, each once; an unreadable lr is
	 * left out. */
	text = good_with("  - lr: 1.0e-4\n", "  - lr: 1.0e-2\n");
	{
		char *t2 = text;
		const char *from = "  - lr: 1.0e-3\n";
		char *at = strstr(t2, from);
		struct optreg_buf b = OPTREG_BUF_INIT;
		optreg_buf_add(&b, t2, (size_t)(at - t2));
		optreg_buf_adds(&b, "  - lr: 3.0e-5\n    workloads: {}\n"
				    "  - lr: fast\n  - lr: 1.0e-2\n");
		optreg_buf_adds(&b, at + strlen(from));
		text = optreg_buf_detach(&b, NULL);
		free(t2);
	}
	path = write_text("unsorted.yaml", text);
	assert_int_equal(optreg_suite_load_without_baseline(&s, path, &errs),
			 0);
	assert_int_equal(s->nbase, 2);
	assert_true(s->base_lrs[0] == 3e-5 && s->base_lrs[1] == 1e-2);
	optreg_suite_free(s);
	free(path);
	free(text);

	/* No baseline section: no grid (the command's default is 1e-3). */
	text = optreg_xstrdup(GOOD);
	*strstr(text, "baseline:\n") = '\0';
	path = write_text("none.yaml", text);
	assert_int_equal(optreg_suite_load_without_baseline(&s, path, &errs),
			 0);
	assert_int_equal(s->nbase, 0);
	optreg_suite_free(s);
	free(path);
	free(text);
	optreg_errors_release(&errs);
}

/* lm options, where this build has the lm problem. */
static void test_lm_options(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *s = NULL;
	int have_lm = 0;
	char *text;

	(void)state;
	for (size_t i = 0; optreg_workload_names[i]; i++)
		have_lm |= !strcmp(optreg_workload_names[i], "lm");
	if (!have_lm)
		skip();
	text = good_with(
		"  - name: quadratic_deep\n    peak_steps: 200\n",
		"  - name: quadratic_deep\n    peak_steps: 200\n"
		"  - name: lm-post\n    problem: lm\n    peak_steps: 10\n"
		"    lm: {layers: 1, d_model: 16, heads: 4, context: 8, norm: "
		"post, tied: false, corpus_sha256: "
		"\"00000000000000000000000000000000000000000000000000000000000"
		"0000a\"}\n");
	*strstr(text, "baseline:\n") = '\0';
	assert_int_equal(load_text(text, &s, &errs), 0);
	assert_int_equal(s->w[1].lm.layers, 1);
	assert_int_equal(s->w[1].lm.d_model, 16);
	assert_int_equal(s->w[1].lm.heads, 4);
	assert_int_equal(s->w[1].lm.context, 8);
	assert_int_equal(s->w[1].lm.post_ln, 1);
	assert_int_equal(s->w[1].lm.untied, 1);
	assert_non_null(s->w[1].lm_corpus_sha256);
	optreg_suite_free(s);
	free(text);
	optreg_errors_release(&errs);

	/* corpus_sha256 is required for problem: lm. */
	{
		static const struct {
			const char *lm, *path;
		} cases[] = {
			{"    lm: {layers: 1, d_model: 16, heads: 4, context: "
			 "8}\n",
			 "workloads[1].lm.corpus_sha256"},
			{"", "workloads[1].lm"},
		};
		for (size_t i = 0; i < 2; i++) {
			char *to = optreg_xasprintf(
				"  - name: lm-post\n    problem: lm\n"
				"    peak_steps: 10\n%s  - name: mlp\n",
				cases[i].lm);
			int found = 0;
			text = good_with("  - name: mlp\n", to);
			*strstr(text, "baseline:\n") = '\0';
			s = (struct optreg_suite *)1;
			assert_int_equal(load_text(text, &s, &errs),
					 OPTREG_EINVAL);
			assert_null(s);
			for (size_t k = 0; k < errs.len; k++)
				found |= !strcmp(errs.items[k].rule,
						 "required") &&
					 !strcmp(errs.items[k].path,
						 cases[i].path) &&
					 strstr(errs.items[k].message,
						"problem: lm");
			if (!found) {
				struct optreg_buf m = OPTREG_BUF_INIT;
				optreg_errors_format(&errs, "suite.yaml", &m);
				fail_msg("case %zu: want required at %s; "
					 "got:\n%s",
					 i, cases[i].path,
					 m.data ? m.data : "(none)");
			}
			free(to);
			free(text);
			optreg_errors_release(&errs);
		}
	}
}

static void test_digest_is_canonical(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	char *commented = good_with("version: 2\n",
				    "# a comment\nversion:   2   # another\n");
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

/* optreg_suite_load_text reads bytes as optreg_suite_load reads the
 * file: the same suite and digest, and a refusal with its line. */
static void test_load_text(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_suite *a = NULL, *b = NULL;
	char *bad = good_with("seeds: [1, 2, 3]\n", "seeds: [1, 2]\n");

	(void)state;
	assert_int_equal(load_text(GOOD, &a, &errs), 0);
	assert_int_equal(
		optreg_suite_load_text(&b, NULL, GOOD, strlen(GOOD), &errs), 0);
	assert_string_equal(optreg_suite_digest(a), optreg_suite_digest(b));
	assert_int_equal(b->nw, a->nw);
	optreg_suite_free(b);
	b = NULL;
	assert_int_equal(
		optreg_suite_load_text(&b, "s.yaml", bad, strlen(bad), &errs),
		OPTREG_EINVAL);
	assert_null(b);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].path, "seeds");
	assert_int_equal(errs.items[0].line, 4);
	optreg_suite_free(a);
	free(bad);
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
	{"version: 2\n", "version: 1\n", "retired", "version", 2},
	{"version: 2\n", "version: 3\n", "range", "version", 2},
	{"version: 2\n", "version: 1.5\n", "range", "version", 2},
	{"description: a test suite\n", "description: [1]\n", "type",
	 "description", 3},
	{"seeds: [1, 2, 3]\n", "seeds: [1, 2]\n", "range", "seeds", 4},
	{"seeds: [1, 2, 3]\n", "seeds: [1]\n", "range", "seeds", 4},
	{"seeds: [1, 2, 3]\n", "seeds: [1, 2, 1]\n", "duplicate", "seeds[2]",
	 4},
	{"seeds: [1, 2, 3]\n", "seeds: [1, -2, 3]\n", "range", "seeds[1]", 4},
	{"seeds: [1, 2, 3]\n", "seeds: 3\n", "type", "seeds", 4},
	{"seeds: [1, 2, 3]\n", "", "required", "seeds", 0},
	{"  warmup_cap: 50\n", "  warmup_cap: -1\n", "range",
	 "schedule.warmup_cap", 6},
	{"  warmup_cap: 50\n", "  warmup_cap: 50\n  fraction: 0.1\n",
	 "unknown_field", "schedule.fraction", 7},
	{"schedule:\n  warmup_cap: 50\n", "", "required", "schedule", 0},
	{"schedule:\n  warmup_cap: 50\n",
	 "schedule:\n  warmup_cap: 50\nwarmup_cap_fraction: 0.1\n",
	 "unknown_field", "warmup_cap_fraction", 7},
	{"  spike_factor: 2\n", "  spike_factor: 1\n", "range",
	 "thresholds.spike_factor", 11},
	{"  spike_smoothing: 5\n", "  spike_smoothing: 2.5\n", "range",
	 "thresholds.spike_smoothing", 12},
	/* A missing field is placed where its object starts. */
	{"  spike_zscore: 2.5\n", "", "required", "thresholds.spike_zscore", 8},
	{"  loss_gap_warn: 1.2\n", "", "required", "thresholds.loss_gap_warn",
	 8},
	{"  update_ratio_exclude: \"bias$\"\n",
	 "  update_ratio_exclude: \"(\"\n", "regex",
	 "thresholds.update_ratio_exclude", 18},
	/* Refused before regcomp, which this one runs out of memory. */
	{"  update_ratio_exclude: \"bias$\"\n",
	 "  update_ratio_exclude: \"bias++++++++++++++++++++$\"\n", "regex",
	 "thresholds.update_ratio_exclude", 18},
	{"  accuracy_gap_fail: 0.05\n", "  accuracy_gap_fail: 2\n", "range",
	 "thresholds.accuracy_gap_fail", 21},
	{"  loss_gap_fail: 1.5\n", "  loss_gap_fail: 0.5\n", "range",
	 "thresholds.loss_gap_fail", 23},
	{"  loss_gap_fail: 1.5\n", "  loss_gap_fail: 1.1\n", "consistency",
	 "workloads[0].thresholds", 0},
	{"  accuracy_gap_warn: 0.02\n", "  accuracy_gap_warn: 0.5\n",
	 "consistency", "workloads[1].thresholds", 0},
	{"thresholds:\n", "thresholds: 5\nx:\n", "type", "thresholds", 7},
	{"  - name: quadratic_deep\n", "  - name: nope\n", "required",
	 "workloads[0].problem", 0},
	{"  - name: quadratic_deep\n", "  - name: Q!\n", "pattern",
	 "workloads[0].name", 26},
	{"    problem: fmnist_mlp\n", "    problem: resnet\n", "enum",
	 "workloads[1].problem", 29},
	{"  - name: mlp\n", "  - name: quadratic_deep\n", "duplicate",
	 "workloads[1]", 28},
	{"    peak_steps: 200\n", "    peak_steps: 0\n", "range",
	 "workloads[0].peak_steps", 27},
	{"    peak_steps: 200\n", "", "required", "workloads[0].peak_steps",
	 26},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    steps: 5\n",
	 "unknown_field", "workloads[0].steps", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    seed: 5\n",
	 "unknown_field", "workloads[0].seed", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    batch: 0\n",
	 "range", "workloads[0].batch", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    eval: {rows: 5}\n",
	 "not_applicable", "workloads[0].eval", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    hidden: [8]\n",
	 "not_applicable", "workloads[0].hidden", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    label_noise: 0.1\n",
	 "not_applicable", "workloads[0].label_noise", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    lm: {layers: 1}\n",
	 "not_applicable", "workloads[0].lm", 28},
	{"    peak_steps: 200\n", "    peak_steps: 200\n    sharpness: 3\n",
	 "type", "workloads[0].sharpness", 28},
	{"    peak_steps: 60\n", "    peak_steps: 60\n    sharpness: true\n",
	 "not_applicable", "workloads[1].sharpness", 31},
	{"    hidden: [256, 128]\n", "    hidden: [256, 0]\n", "range",
	 "workloads[1].hidden[1]", 32},
	{"    hidden: [256, 128]\n", "    hidden: []\n", "type",
	 "workloads[1].hidden", 32},
	{"    label_noise: 0.2\n", "    label_noise: 1.2\n", "range",
	 "workloads[1].label_noise", 33},
	{"    sparse_keep: 0.5\n", "    sparse_keep: 0\n", "range",
	 "workloads[1].sparse_keep", 34},
	{"{steps: [10, 30], factor: 1000}", "{steps: [30, 10], factor: 1000}",
	 "order", "workloads[1].grad_spike.steps[1]", 35},
	/* Spikes land in the peak phase: at most peak_steps (60). */
	{"{steps: [10, 30], factor: 1000}", "{steps: [10, 61], factor: 1000}",
	 "range", "workloads[1].grad_spike.steps[1]", 35},
	/* Warmup and peak together within OPTREG_WORKLOAD_MAX_STEPS
	 * (10,000,000; warmup_cap is 50). */
	{"    peak_steps: 200\n", "    peak_steps: 9999951\n", "range",
	 "workloads[0].peak_steps", 27},
	{"{steps: [10, 30], factor: 1000}", "{steps: [10, 30]}", "required",
	 "workloads[1].grad_spike.factor", 35},
	{"{steps: [10, 30], factor: 1000}", "{steps: [10], factor: 2, at: 1}",
	 "unknown_field", "workloads[1].grad_spike.at", 35},
	{"    precision: declared\n", "    precision: fp8\n", "enum",
	 "workloads[1].precision", 36},
	{"{rows: 2000}", "{rows: 1, all: true}", "unknown_field",
	 "workloads[1].eval.all", 37},
	{"    eval: {rows: 2000}\n", "", "required", "workloads[1].eval", 0},
	{"      accuracy_floor: 0.6\n", "      accuracy_floor: 1.5\n", "range",
	 "workloads[1].thresholds.accuracy_floor", 39},
	/* The baseline: a grid of lrs, strictly ascending, each with every
	 * workload and seed and nothing else. */
	{"        \"2\": {final_loss: 10.6}\n", "", "required",
	 "baseline[1].workloads.quadratic_deep.2", 0},
	{"        \"2\": {final_loss: 20.6}\n", "", "required",
	 "baseline[0].workloads.quadratic_deep.2", 0},
	{"\"2\": {final_loss: 10.6}", "\"4\": {final_loss: 10.6}",
	 "unknown_field", "baseline[1].workloads.quadratic_deep.4", 55},
	{"quadratic_deep:\n        \"1\": {final_loss: 10.5}",
	 "other:\n        \"1\": {final_loss: 10.5}", "unknown_field",
	 "baseline[1].workloads.other", 54},
	{"{final_loss: 10.5}", "{test_loss: 10.5}", "required",
	 "baseline[1].workloads.quadratic_deep.1.final_loss", 0},
	{"{final_loss: 10.5}", "{final_loss: \"low\"}", "range",
	 "baseline[1].workloads.quadratic_deep.1.final_loss", 54},
	{"{final_loss: 10.5}", "{final_loss: 1, loss: 2}", "unknown_field",
	 "baseline[1].workloads.quadratic_deep.1.loss", 54},
	{"test_accuracy: 0.8}", "test_accuracy: 80}", "range",
	 "baseline[1].workloads.mlp.1.test_accuracy", 58},
	/* The test numbers exactly where the workload has eval; no null. */
	{"test_loss: 0.55, test_accuracy: 0.8}", "test_loss: 0.55}", "required",
	 "baseline[1].workloads.mlp.1.test_accuracy", 0},
	{"{final_loss: 0.5, test_loss: 0.55, ", "{final_loss: 0.5, ",
	 "required", "baseline[1].workloads.mlp.1.test_loss", 0},
	{"test_accuracy: 0.8}", "test_accuracy: null}", "type",
	 "baseline[1].workloads.mlp.1.test_accuracy", 58},
	{"{final_loss: 10.5}", "{final_loss: null}", "type",
	 "baseline[1].workloads.quadratic_deep.1.final_loss", 54},
	{"{final_loss: 10.5}", "{final_loss: 10.5, test_loss: 1}",
	 "not_applicable", "baseline[1].workloads.quadratic_deep.1.test_loss",
	 54},
	{"{final_loss: 10.5}", "{final_loss: 10.5, test_accuracy: null}",
	 "not_applicable",
	 "baseline[1].workloads.quadratic_deep.1.test_accuracy", 54},
	{"  - lr: 1.0e-3\n", "  - lr: 1.0e-4\n", "order", "baseline[1].lr", 51},
	{"  - lr: 1.0e-3\n", "  - lr: 1.0e-5\n", "order", "baseline[1].lr", 51},
	{"  - lr: 1.0e-4\n", "  - lr: 0\n", "range", "baseline[0].lr", 41},
	{"  - lr: 1.0e-4\n", "  - lr: fast\n", "range", "baseline[0].lr", 41},
	{"  - lr: 1.0e-4\n    workloads:\n", "  - workloads:\n", "required",
	 "baseline[0].lr", 0},
	{"  - lr: 1.0e-4\n    workloads:\n", "  - lr: 1.0e-4\n    runs:\n",
	 "required", "baseline[0].workloads", 0},
	{"  - lr: 1.0e-4\n", "  - lr: 1.0e-4\n    steps: 3\n", "unknown_field",
	 "baseline[0].steps", 42},
	{"    workloads:\n      quadratic_deep:\n        \"1\": {final_loss: "
	 "20.5}\n",
	 "    workloads: 5\n    x:\n      quadratic_deep:\n        \"1\": "
	 "{final_loss: 20.5}\n",
	 "type", "baseline[0].workloads", 42},
	/* The format without a grid (a map of workloads) is refused. */
	{"baseline:\n", "baseline: {quadratic_deep: {}}\nx:\n", "type",
	 "baseline", 40},
	{"baseline:\n", "baseline: []\nx:\n", "type", "baseline", 40},
	{"baseline:\n", "baseline: 5\nx:\n", "type", "baseline", 40},
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
	char *one = good_with("seeds: [1, 2, 3]\n", "seeds: [1, 2]\n");
	char *two;

	(void)state;
	{
		const char *from = "    peak_steps: 60\n";
		char *at = strstr(one, from);
		struct optreg_buf b = OPTREG_BUF_INIT;
		optreg_buf_add(&b, one, (size_t)(at - one));
		optreg_buf_adds(&b, "    peak_steps: sixty\n");
		optreg_buf_adds(&b, at + strlen(from));
		two = optreg_buf_detach(&b, NULL);
	}
	assert_int_equal(load_text(two, &s, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	/* Sorted by position. */
	assert_string_equal(errs.items[0].path, "seeds");
	assert_int_equal(errs.items[0].line, 4);
	assert_string_equal(errs.items[1].path, "workloads[1].peak_steps");
	assert_int_equal(errs.items[1].line, 30);
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
		cmocka_unit_test(test_v1_retired),
		cmocka_unit_test(test_good_fields),
		cmocka_unit_test(test_precision_and_no_baseline),
		cmocka_unit_test(test_load_without_baseline),
		cmocka_unit_test(test_lm_options),
		cmocka_unit_test(test_digest_is_canonical),
		cmocka_unit_test(test_load_text),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_not_a_suite),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
