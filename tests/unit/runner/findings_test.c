/*
 * tests/unit/runner/findings_test.c: the stability criteria (runner/findings.h)
 * on synthetic workload results: each criterion trips on a result built to trip
 * it, at the right step and with its values, and stays quiet on a clean run, on
 * what lies within the warmup, and just inside its limit; the gap criteria
 * against a baseline, a recovered blow-up, and the majority over seeds.
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

#include <jansson.h>

#include "runner/findings.h"
#include "runner/workloads.h"

/* The ref-v1 thresholds (still ref-v2's for these criteria), with the gap
 * criteria off (they need a baseline; gap_thresholds() turns them on). */
static struct optreg_thresholds thresholds(void)
{
	struct optreg_thresholds th = {
		.loss_explosion_factor = 10,
		.final_window_fraction = 0.1,
		.accuracy_floor = NAN,
		.spike_factor = 2,
		.spike_smoothing = 1,
		.spike_zscore = 2.5,
		.spike_zscore_window = 100,
		.spike_max_fraction = 0.02,
		.update_ratio_max = 1e-2,
		.update_ratio_min = 1e-5,
		.update_ratio_exclude = "bias$",
		.eos_streak = 20,
		.eps_dominated_fraction = 0.5,
		.accuracy_gap_fail = NAN,
		.accuracy_gap_warn = NAN,
		.loss_gap_fail = NAN,
		.loss_gap_warn = NAN,
	};
	return th;
}

/*
 * A clean run of n steps over two tensors, "fc.weight" and "fc.bias": the
 * loss falls smoothly from 2 to 0.5, the gradient norm wobbles by a few
 * percent around 1, every update is 1e-3 of its weight, nothing is near
 * eps. Memory is calloc'd so optreg_workload_result_release frees it.
 */
static void clean(struct optreg_workload_result *r, long n)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->workload, sizeof(r->workload), "synthetic");
	r->steps = r->steps_run = n;
	r->batch = 128;
	r->ntensors = 2;
	r->tensors = calloc(2, sizeof(*r->tensors));
	snprintf(r->tensors[0].name, sizeof(r->tensors[0].name), "fc.weight");
	snprintf(r->tensors[1].name, sizeof(r->tensors[1].name), "fc.bias");
	r->tensors[0].numel = 100;
	r->tensors[1].numel = 10;
	r->tensors[0].hparams.eps = r->tensors[1].hparams.eps = 1e-8;
	r->nparams = 110;
	r->loss = calloc((size_t)n, sizeof(double));
	r->grad_norm = calloc((size_t)n, sizeof(double));
	r->clip_coef = calloc((size_t)n, sizeof(double));
	r->lr = calloc((size_t)n, sizeof(double));
	r->small_denom_frac = calloc((size_t)n, sizeof(double));
	r->param_norm = calloc((size_t)n * 2, sizeof(double));
	r->update_norm = calloc((size_t)n * 2, sizeof(double));
	for (long t = 0; t < n; t++) {
		r->loss[t] = 0.5 + 1.5 * exp(-5.0 * (double)t / (double)n);
		r->grad_norm[t] = 1.0 + 0.03 * sin(0.7 * (double)t);
		r->clip_coef[t] = 1;
		r->lr[t] = 1e-3;
		for (size_t k = 0; k < 2; k++) {
			r->param_norm[t * 2 + k] = 10.0;
			r->update_norm[t * 2 + k] = 1e-2;
		}
	}
}

/* Judges `r` and returns the findings (the caller decrefs); metrics go
 * to *metrics when it is not NULL. */
static json_t *judge(const struct optreg_workload_result *r,
		     const struct optreg_thresholds *th, long warmup,
		     json_t **metrics)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *f = json_array(), *m = json_object();

	assert_int_equal(
		optreg_findings_judge(r, th, warmup, NULL, m, f, &errs), 0);
	assert_int_equal(errs.len, 0);
	optreg_errors_release(&errs);
	if (metrics)
		*metrics = m;
	else
		json_decref(m);
	return f;
}

/* The finding with this criterion (the first), or NULL. */
static json_t *find(json_t *findings, const char *criterion)
{
	size_t i;
	json_t *f;

	json_array_foreach(findings, i, f)
	{
		if (!strcmp(json_string_value(json_object_get(f, "criterion")),
			    criterion))
			return f;
	}
	return NULL;
}

static size_t count(json_t *findings, const char *criterion)
{
	size_t i, n = 0;
	json_t *f;

	json_array_foreach(findings, i, f)
	{
		n += !strcmp(json_string_value(json_object_get(f, "criterion")),
			     criterion);
	}
	return n;
}

static long step_of(json_t *f)
{
	return (long)json_integer_value(json_object_get(f, "step"));
}

static double value_of(json_t *f, const char *key)
{
	return json_number_value(
		json_object_get(json_object_get(f, "values"), key));
}

static const char *severity_of(json_t *f)
{
	return json_string_value(json_object_get(f, "severity"));
}

static void test_clean_run_has_no_findings(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *m, *f;

	(void)state;
	clean(&r, 400);
	r.has_test = 1;
	r.test_rows = 10000;
	r.test_accuracy = 0.9;
	th.accuracy_floor = 0.75;
	f = judge(&r, &th, 20, &m);
	assert_int_equal(json_array_size(f), 0);
	assert_string_equal(optreg_findings_result(f), "pass");

	/* The metrics a verdict shows. */
	assert_int_equal(json_integer_value(json_object_get(m, "steps_run")),
			 400);
	assert_string_equal(json_string_value(json_object_get(m, "loss_kind")),
			    "train");
	assert_int_equal(
		json_integer_value(json_object_get(m, "judged_from_step")), 21);
	assert_true(fabs(json_number_value(json_object_get(m, "initial_loss")) -
			 2.0) < 1e-9);
	assert_true(json_number_value(json_object_get(m, "final_loss")) < 0.6);
	assert_true(
		fabs(json_number_value(json_object_get(
			     json_object_get(m, "update_ratio"), "fc.weight")) -
		     1e-3) < 1e-12);
	assert_true(
		fabs(json_number_value(json_object_get(m, "test_accuracy")) -
		     0.9) < 1e-12);
	assert_true(json_number_value(json_object_get(m, "spike_fraction")) ==
		    0);
	json_decref(m);
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_non_finite(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *m, *x;

	(void)state;
	clean(&r, 100);
	r.steps_run = 37;
	r.nonfinite_step = 37;
	r.nonfinite_what = OPTREG_NONFINITE_GRAD_NORM;
	r.grad_norm[36] = NAN;
	r.loss[36] = 1.0;
	f = judge(&r, &th, 0, &m);
	x = find(f, "non_finite");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_int_equal(step_of(x), 37);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(x, "values"), "kind")),
			    "grad_norm");
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "gradient norm"));
	assert_string_equal(json_string_value(json_object_get(x, "workload")),
			    "synthetic");
	/* A broken run is judged on nothing else it cannot back up. */
	assert_int_equal(json_array_size(f), 1);
	assert_string_equal(optreg_findings_result(f), "fail");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(m, "nonfinite"), "step")),
			 37);
	json_decref(m);
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_non_finite_loss_also_explodes(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f;

	(void)state;
	clean(&r, 50);
	r.steps_run = 12;
	r.nonfinite_step = 12;
	r.nonfinite_what = OPTREG_NONFINITE_LOSS;
	r.loss[10] = 500; /* 250x the initial 2 */
	r.loss[11] = INFINITY;
	f = judge(&r, &th, 0, NULL);
	assert_int_equal(json_array_size(f), 2);
	assert_int_equal(step_of(find(f, "non_finite")), 12);
	assert_int_equal(step_of(find(f, "loss_explosion")), 11);
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_loss_explosion(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 200);
	/* 9.9x the initial loss is inside the limit; during warmup too. */
	r.loss[3] = 19.8;
	f = judge(&r, &th, 10, NULL);
	assert_null(find(f, "loss_explosion"));
	json_decref(f);

	r.loss[4] = 20.2; /* 10.1x, at step 5, inside the warmup: counts */
	f = judge(&r, &th, 10, NULL);
	x = find(f, "loss_explosion");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_int_equal(step_of(x), 5);
	assert_true(fabs(value_of(x, "ratio") - 10.1) < 1e-9);
	assert_true(fabs(value_of(x, "initial_loss") - 2.0) < 1e-9);
	assert_true(value_of(x, "limit") == 10);
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_no_progress(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 100);
	/* Down, then back up: the last 10 steps average the initial loss. */
	for (long t = 90; t < 100; t++)
		r.loss[t] = t % 2 ? 1.9 : 2.1;
	f = judge(&r, &th, 0, NULL);
	x = find(f, "no_progress");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_int_equal(step_of(x), 100);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "window")),
			 10);
	assert_true(fabs(value_of(x, "final_loss") - 2.0) < 1e-9);
	json_decref(f);

	/* Just below the initial loss is progress. */
	for (long t = 90; t < 100; t++)
		r.loss[t] = 1.99;
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "no_progress"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_accuracy_floor(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 100);
	r.has_test = 1;
	r.test_rows = 10000;
	r.test_accuracy = 0.1;
	/* No floor in the suite: no judgement. */
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "accuracy_floor"));
	json_decref(f);

	th.accuracy_floor = 0.75;
	f = judge(&r, &th, 0, NULL);
	x = find(f, "accuracy_floor");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_true(fabs(value_of(x, "test_accuracy") - 0.1) < 1e-12);
	assert_true(fabs(value_of(x, "floor") - 0.75) < 1e-12);
	json_decref(f);

	r.test_accuracy = 0.75; /* on the floor passes */
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "accuracy_floor"));
	json_decref(f);

	r.has_test = 0; /* no test pass (the suite skipped it) */
	r.test_accuracy = 0.1;
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "accuracy_floor"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_loss_spikes(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 400);
	/* 11 spikes in 380 judged steps (2.9%): every 40th step from 60,
	 * and two more before. */
	for (long t = 60; t < 400; t += 40)
		r.loss[t - 1] = 3 * r.loss[t - 2];
	r.loss[49] = 3 * r.loss[48];
	r.loss[54] = 3 * r.loss[53];
	f = judge(&r, &th, 20, NULL);
	x = find(f, "loss_spikes");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "warn");
	assert_int_equal(step_of(x), 50);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "spikes")),
			 11);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "judged_steps")),
			 380);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "loss_spikes")),
			 11);
	assert_string_equal(optreg_findings_result(f), "warn");
	json_decref(f);

	/* Smoothing over 5 steps dilutes one-step jumps below 2x. */
	th.spike_smoothing = 5;
	f = judge(&r, &th, 20, NULL);
	assert_null(find(f, "loss_spikes"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_loss_spikes_within_limit_or_warmup(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f;

	(void)state;
	clean(&r, 400);
	/* 7 spikes in 380 judged steps is 1.8%: inside the limit. */
	for (long t = 60; t < 400; t += 50)
		r.loss[t - 1] = 3 * r.loss[t - 2];
	f = judge(&r, &th, 20, NULL);
	assert_null(find(f, "loss_spikes"));
	json_decref(f);
	optreg_workload_result_release(&r);

	/* 30 spikes, all within the 40 warmup steps: not judged. */
	clean(&r, 400);
	for (long t = 5; t <= 40; t++)
		r.loss[t - 1] = 10;
	f = judge(&r, &th, 40, NULL);
	assert_null(find(f, "loss_spikes"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_grad_norm_spikes(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 400);
	/* Gradient norm 5x its running level at every 25th step: 16 of 399
	 * judged steps, far above a z-score of 2.5; the loss stays smooth. */
	for (long t = 25; t <= 400; t += 25)
		r.grad_norm[t - 1] = 5;
	f = judge(&r, &th, 0, NULL);
	x = find(f, "loss_spikes");
	assert_non_null(x);
	assert_int_equal(step_of(x), 25);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "loss_spikes")),
			 0);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(x, "values"),
						   "grad_norm_spikes")),
		16);
	assert_true(value_of(x, "max_zscore") > 2.5);
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_expected_loss_is_judged(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *m;

	(void)state;
	clean(&r, 200);
	/* A noisy training loss whose expectation falls smoothly (the
	 * 2-D problems and the quadratic record both). */
	r.expected_loss = calloc(200, sizeof(double));
	for (long t = 0; t < 200; t++) {
		r.expected_loss[t] = r.loss[t];
		r.loss[t] *= t % 3 ? 0.2 : 5;
	}
	f = judge(&r, &th, 0, &m);
	assert_int_equal(json_array_size(f), 0);
	assert_string_equal(json_string_value(json_object_get(m, "loss_kind")),
			    "expected");
	json_decref(m);
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_update_ratio(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 100);
	/* Large steps after a 10-step warmup (small ones during it), and a
	 * bias whose ratio is huge but excluded. */
	for (long t = 10; t < 100; t++) {
		r.update_norm[t * 2] = 0.5; /* ratio 0.05 */
		r.update_norm[t * 2 + 1] = 5;
	}
	f = judge(&r, &th, 10, NULL);
	assert_int_equal(count(f, "update_ratio"), 1);
	x = find(f, "update_ratio");
	assert_string_equal(severity_of(x), "warn");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(x, "values"), "tensor")),
			    "fc.weight");
	assert_true(fabs(value_of(x, "median_ratio") - 0.05) < 1e-12);
	assert_true(fabs(value_of(x, "max") - 1e-2) < 1e-15);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "from_step")),
			 11);
	json_decref(f);

	/* Without the exclusion the bias is judged too. */
	th.update_ratio_exclude = NULL;
	f = judge(&r, &th, 10, NULL);
	assert_int_equal(count(f, "update_ratio"), 2);
	json_decref(f);

	/* Too small: 1e-7 of the weight per step. */
	th.update_ratio_exclude = "bias$";
	for (long t = 0; t < 100; t++)
		r.update_norm[t * 2] = 1e-6;
	f = judge(&r, &th, 10, NULL);
	x = find(f, "update_ratio");
	assert_non_null(x);
	assert_true(fabs(value_of(x, "min") - 1e-5) < 1e-18);
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "below"));
	json_decref(f);

	/* Zero-norm weights (NaN ratios) give no judgement at all. */
	for (long t = 0; t < 100; t++)
		r.param_norm[t * 2] = 0;
	f = judge(&r, &th, 10, NULL);
	assert_null(find(f, "update_ratio"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_update_ratio_bad_regex(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *f = json_array(), *m = json_object();

	(void)state;
	clean(&r, 10);
	th.update_ratio_exclude = "(bias";
	assert_int_equal(optreg_findings_judge(&r, &th, 0, NULL, m, f, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].path, "update_ratio_exclude");
	optreg_errors_release(&errs);
	json_decref(f);
	json_decref(m);
	optreg_workload_result_release(&r);
}

static void test_edge_of_stability(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x, *m;

	(void)state;
	clean(&r, 100);
	r.sharpness = calloc(100, sizeof(double));
	r.sharpness_bound = calloc(100, sizeof(double));
	for (long t = 0; t < 100; t++) {
		r.sharpness[t] = 10;
		r.sharpness_bound[t] = 38000;
	}
	/* 19 steps above the bound, then below, then 25 above. */
	for (long t = 30; t < 49; t++)
		r.sharpness[t] = 40000;
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "edge_of_stability"));
	json_decref(f);

	for (long t = 60; t < 85; t++)
		r.sharpness[t] = 40000;
	f = judge(&r, &th, 0, &m);
	x = find(f, "edge_of_stability");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "warn");
	assert_int_equal(step_of(x), 80); /* steps 61..80 make 20 */
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "values"), "streak")),
			 25);
	assert_true(value_of(x, "sharpness") == 40000);
	assert_true(value_of(x, "bound") == 38000);
	assert_int_equal(
		json_integer_value(json_object_get(m, "eos_longest_streak")),
		25);
	json_decref(m);
	json_decref(f);

	/* An infinite bound (lr 0 at the end of a cosine) is never crossed. */
	for (long t = 0; t < 100; t++)
		r.sharpness_bound[t] = INFINITY;
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "edge_of_stability"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_eps_dominated(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 100);
	r.tensors[0].hparams.eps = 0.1;
	for (long t = 0; t < 100; t++)
		r.small_denom_frac[t] = t < 10 ? 0.0 : 0.9;
	f = judge(&r, &th, 10, NULL);
	x = find(f, "eps_dominated");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "warn");
	assert_true(fabs(value_of(x, "median_fraction") - 0.9) < 1e-12);
	assert_true(fabs(value_of(x, "eps") - 0.1) < 1e-12);
	json_decref(f);

	/* Exactly half is not more than half. */
	for (long t = 0; t < 100; t++)
		r.small_denom_frac[t] = 0.5;
	f = judge(&r, &th, 10, NULL);
	assert_null(find(f, "eps_dominated"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_result_ranks_severities(void **state)
{
	json_t *f = json_array();

	(void)state;
	assert_string_equal(optreg_findings_result(f), "pass");
	json_array_append_new(f, optreg_finding_new("update_ratio", "warn", "w",
						    3, NULL, "a"));
	assert_string_equal(optreg_findings_result(f), "warn");
	json_array_append_new(f, optreg_finding_new("no_progress", "fail", "w",
						    3, NULL, "b"));
	assert_string_equal(optreg_findings_result(f), "fail");
	json_array_append_new(f, optreg_finding_new("selftest", "error", NULL,
						    0, NULL, "c %d", 7));
	assert_string_equal(optreg_findings_result(f), "error");

	json_t *e = json_array_get(f, 2);
	assert_true(json_is_null(json_object_get(e, "workload")));
	assert_true(json_is_null(json_object_get(e, "step")));
	assert_true(json_is_object(json_object_get(e, "values")));
	assert_string_equal(json_string_value(json_object_get(e, "message")),
			    "c 7");
	json_decref(f);
}

static void test_json_number(void **state)
{
	json_t *n;

	(void)state;
	n = optreg_json_number(0.866499999999);
	assert_true(json_real_value(n) == 0.8665);
	json_decref(n);
	n = optreg_json_number(1.0 / 3.0);
	assert_true(json_real_value(n) == 0.333333);
	json_decref(n);
	n = optreg_json_number(NAN);
	assert_true(json_is_null(n));
	json_decref(n);
	n = optreg_json_number(-INFINITY);
	assert_true(json_is_null(n));
	json_decref(n);
}

/* A classifier is measured against chance: min(initial, ln classes). */
static json_t *judge_base(const struct optreg_workload_result *r,
			  const struct optreg_thresholds *th,
			  const struct optreg_baseline_entry *b,
			  json_t **metrics);

static void test_no_progress_against_chance(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = thresholds();
	json_t *f, *x;

	(void)state;
	clean(&r, 100);
	/* A dead 10-class network: starts at 2.49 (above chance, ln 10 =
	 * 2.3026) and ends at 2.35, below its start but not below chance. */
	r.loss[0] = 2.49;
	for (long t = 1; t < 100; t++)
		r.loss[t] = 2.35;
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "no_progress")); /* no classes: initial only */
	json_decref(f);

	r.classes = 10;
	f = judge(&r, &th, 0, NULL);
	x = find(f, "no_progress");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_true(fabs(value_of(x, "chance_loss") - log(10.0)) < 1e-5);
	assert_true(fabs(value_of(x, "final_loss") - 2.35) < 1e-9);
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "chance"));
	json_decref(f);

	/* The same run when the Adam defaults at this rate do not get below
	 * chance either (a rate too small for the horizon): no finding. */
	{
		struct optreg_baseline_entry slow = {2.40, NAN, NAN, 1e-3};
		struct optreg_baseline_entry quick = {0.50, NAN, NAN, 1e-3};
		f = judge_base(&r, &th, &slow, NULL);
		assert_null(find(f, "no_progress"));
		json_decref(f);
		f = judge_base(&r, &th, &quick, NULL);
		assert_non_null(find(f, "no_progress"));
		json_decref(f);
		/* A loss that did not fall at all is judged whatever the
		 * baseline did. */
		r.loss[0] = 2.30;
		f = judge_base(&r, &th, &slow, NULL);
		assert_non_null(find(f, "no_progress"));
		json_decref(f);
		r.loss[0] = 2.49;
	}

	/* Below chance is progress. */
	for (long t = 90; t < 100; t++)
		r.loss[t] = 2.29;
	f = judge(&r, &th, 0, NULL);
	assert_null(find(f, "no_progress"));
	json_decref(f);

	/* A start below chance keeps the initial loss as the bar. */
	r.loss[0] = 2.0;
	f = judge(&r, &th, 0, NULL);
	assert_non_null(find(f, "no_progress"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static json_t *judge_base(const struct optreg_workload_result *r,
			  const struct optreg_thresholds *th,
			  const struct optreg_baseline_entry *b,
			  json_t **metrics)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *f = json_array(), *m = json_object();

	assert_int_equal(optreg_findings_judge(r, th, 0, b, m, f, &errs), 0);
	optreg_errors_release(&errs);
	if (metrics)
		*metrics = m;
	else
		json_decref(m);
	return f;
}

static struct optreg_thresholds gap_thresholds(void)
{
	struct optreg_thresholds th = thresholds();

	th.accuracy_gap_fail = 0.05;
	th.accuracy_gap_warn = 0.02;
	th.loss_gap_fail = 1.5;
	th.loss_gap_warn = 1.2;
	return th;
}

static void test_accuracy_gap(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = gap_thresholds();
	struct optreg_baseline_entry b = {NAN, 0.40, 0.86, 3e-5};
	json_t *f, *x, *m;

	(void)state;
	clean(&r, 100);
	r.has_test = 1;
	r.test_rows = 1000;
	r.test_loss = 0.40;
	r.test_accuracy = 0.80; /* 0.06 below: fail */
	f = judge_base(&r, &th, &b, &m);
	x = find(f, "accuracy_gap");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_int_equal(step_of(x), 100);
	assert_true(fabs(value_of(x, "gap") - 0.06) < 1e-9);
	assert_true(value_of(x, "baseline") == 0.86);
	assert_true(value_of(x, "limit") == 0.05);
	assert_true(json_number_value(json_object_get(
			    m, "baseline_test_accuracy")) == 0.86);
	/* The grid lr of the baseline it was held to: in the metrics, the
	 * values and the message. */
	assert_true(json_number_value(json_object_get(m, "baseline_lr")) ==
		    3e-5);
	assert_true(value_of(x, "baseline_lr") == 3e-5);
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "below the baseline's 0.86 (Adam defaults at "
			       "lr 3e-05, same seed; limit 0.05)"));
	json_decref(m);
	json_decref(f);

	r.test_accuracy = 0.83; /* 0.03 below: warn */
	f = judge_base(&r, &th, &b, NULL);
	x = find(f, "accuracy_gap");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "warn");
	assert_true(value_of(x, "limit") == 0.02);
	json_decref(f);

	r.test_accuracy = 0.85; /* 0.01 below: inside */
	f = judge_base(&r, &th, &b, NULL);
	assert_null(find(f, "accuracy_gap"));
	json_decref(f);

	/* No baseline, no test metrics, or the thresholds off: skipped. */
	r.test_accuracy = 0.5;
	f = judge_base(&r, &th, NULL, &m);
	assert_null(find(f, "accuracy_gap"));
	assert_null(find(f, "loss_gap"));
	assert_null(json_object_get(m, "baseline_lr"));
	json_decref(m);
	json_decref(f);
	b.test_accuracy = NAN;
	f = judge_base(&r, &th, &b, NULL);
	assert_null(find(f, "accuracy_gap"));
	json_decref(f);
	b.test_accuracy = 0.86;
	r.has_test = 0;
	f = judge_base(&r, &th, &b, NULL);
	assert_null(find(f, "accuracy_gap"));
	json_decref(f);
	r.has_test = 1;
	th.accuracy_gap_fail = th.accuracy_gap_warn = NAN;
	f = judge_base(&r, &th, &b, NULL);
	assert_null(find(f, "accuracy_gap"));
	json_decref(f);
	optreg_workload_result_release(&r);
}

static void test_loss_gap(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = gap_thresholds();
	struct optreg_baseline_entry b = {NAN, NAN, NAN, 1e-3};
	json_t *f, *x, *m;
	double final;

	(void)state;
	clean(&r, 100);
	final = optreg_findings_final_loss(&r, th.final_window_fraction);
	/* Without test metrics: the final-window mean against the
	 * baseline's. */
	b.final_loss = final / 1.6;
	f = judge_base(&r, &th, &b, &m);
	x = find(f, "loss_gap");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(x, "values"), "loss_kind")),
			    "final");
	assert_true(fabs(value_of(x, "ratio") - 1.6) < 1e-5);
	assert_true(value_of(x, "baseline_lr") == 1e-3);
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "(Adam defaults at lr 0.001, same seed; limit "
			       "1.5x)"));
	assert_true(json_number_value(json_object_get(m, "baseline_lr")) ==
		    1e-3);
	json_decref(m);
	json_decref(f);
	b.final_loss = final / 1.3;
	f = judge_base(&r, &th, &b, NULL);
	assert_string_equal(severity_of(find(f, "loss_gap")), "warn");
	json_decref(f);
	b.final_loss = final / 1.1;
	f = judge_base(&r, &th, &b, NULL);
	assert_null(find(f, "loss_gap"));
	json_decref(f);

	/* With test metrics the test loss is compared. */
	r.has_test = 1;
	r.test_loss = 0.9;
	r.test_accuracy = 0.8;
	b.test_loss = 0.5;
	b.test_accuracy = 0.8;
	f = judge_base(&r, &th, &b, NULL);
	x = find(f, "loss_gap");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "fail");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(x, "values"), "loss_kind")),
			    "test");
	assert_true(fabs(value_of(x, "ratio") - 1.8) < 1e-9);
	json_decref(f);
	optreg_workload_result_release(&r);
}

/* A blow-up the run recovers from is a warning; one it does not recover
 * from (a gap fails, or a value goes non-finite) or that cannot be
 * compared with a baseline stays a failure. */
static void test_loss_explosion_recovered(void **state)
{
	struct optreg_workload_result r;
	struct optreg_thresholds th = gap_thresholds();
	struct optreg_baseline_entry b = {NAN, 0.5, 0.85, 1e-3};
	json_t *f, *x;

	(void)state;
	clean(&r, 100);
	r.has_test = 1;
	r.test_loss = 0.5;
	r.test_accuracy = 0.85;
	r.loss[1] = 50; /* 25x at step 2, then back to normal */
	f = judge_base(&r, &th, &b, NULL);
	x = find(f, "loss_explosion");
	assert_non_null(x);
	assert_string_equal(severity_of(x), "warn");
	assert_int_equal(step_of(x), 2);
	assert_true(json_is_true(
		json_object_get(json_object_get(x, "values"), "recovered")));
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "recovered"));
	json_decref(f);

	/* The accuracy gap fails: not recovered. */
	r.test_accuracy = 0.70;
	f = judge_base(&r, &th, &b, NULL);
	x = find(f, "loss_explosion");
	assert_string_equal(severity_of(x), "fail");
	assert_true(json_is_false(
		json_object_get(json_object_get(x, "values"), "recovered")));
	assert_non_null(find(f, "accuracy_gap"));
	json_decref(f);

	/* Only the gap's warning level: still recovered. */
	r.test_accuracy = 0.82;
	f = judge_base(&r, &th, &b, NULL);
	assert_string_equal(severity_of(find(f, "loss_explosion")), "warn");
	assert_string_equal(severity_of(find(f, "accuracy_gap")), "warn");
	json_decref(f);

	/* No baseline: nothing shows it recovered. */
	f = judge_base(&r, &th, NULL, NULL);
	assert_string_equal(severity_of(find(f, "loss_explosion")), "fail");
	json_decref(f);

	/* A baseline but no _fail thresholds (null): no gap can fail, so
	 * nothing shows it recovered. */
	{
		struct optreg_thresholds nofail = gap_thresholds();
		nofail.accuracy_gap_fail = NAN;
		nofail.loss_gap_fail = NAN;
		f = judge_base(&r, &nofail, &b, NULL);
		assert_string_equal(severity_of(find(f, "loss_explosion")),
				    "fail");
		json_decref(f);
		/* One _fail threshold is enough to judge it. */
		nofail.loss_gap_fail = 1.5;
		f = judge_base(&r, &nofail, &b, NULL);
		assert_string_equal(severity_of(find(f, "loss_explosion")),
				    "warn");
		json_decref(f);
	}

	/* Non-finite later on: fail. */
	r.test_accuracy = 0.85;
	r.nonfinite_step = r.steps_run = 50;
	r.nonfinite_what = OPTREG_NONFINITE_LOSS;
	r.has_test = 0;
	{
		json_t *m = NULL;
		f = judge_base(&r, &th, &b, &m);
		assert_string_equal(severity_of(find(f, "loss_explosion")),
				    "fail");
		assert_non_null(find(f, "non_finite"));
		/* The baseline it was held to is still in the metrics. */
		assert_true(json_number_value(
				    json_object_get(m, "baseline_lr")) == 1e-3);
		assert_true(json_number_value(json_object_get(
				    m, "baseline_test_loss")) == 0.5);
		assert_true(json_number_value(json_object_get(
				    m, "baseline_test_accuracy")) == 0.85);
		assert_null(find(f, "loss_gap"));
		json_decref(m);
		json_decref(f);
	}
	optreg_workload_result_release(&r);
}

/* ------------------------------------------------------------------------
 * Seeds and majority (optreg_findings_aggregate) on hand-made findings.
 */

static const uint64_t SEEDS[3] = {1, 2, 3};

static json_t *fnd(const char *criterion, const char *severity, long step,
		   const char *tensor, double key_value)
{
	json_t *v = json_pack("{s:f}", "ratio", key_value);

	if (tensor)
		json_object_set_new(v, "tensor", json_string(tensor));
	return optreg_finding_new(criterion, severity, "w", step, v,
				  "%s at step %ld", criterion, step);
}

/* Adds up per-seed findings `a`, `b`, `c` (stolen). */
static void aggregate(json_t *a, json_t *b, json_t *c, json_t **counted,
		      json_t **minority)
{
	json_t *per[3] = {a, b, c};

	*counted = json_array();
	*minority = json_array();
	optreg_findings_aggregate(SEEDS, 3, per, *counted, *minority);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static json_t *list(json_t *first, ...)
{
	json_t *arr = json_array();
	va_list ap;

	va_start(ap, first);
	for (json_t *f = first; f; f = va_arg(ap, json_t *))
		json_array_append_new(arr, f);
	va_end(ap);
	return arr;
}

static json_t *showed(json_t *f)
{
	return json_object_get(json_object_get(f, "seeds"), "showed");
}

static void test_aggregate_majority(void **state)
{
	json_t *counted, *minority, *x;

	(void)state;
	/* Fails on 2 of 3 seeds: counts, as a fail, at the median step of
	 * the showing seeds (the lower middle of two). */
	aggregate(list(fnd("loss_explosion", "fail", 9, NULL, 20), NULL),
		  json_array(),
		  list(fnd("loss_explosion", "fail", 5, NULL, 30), NULL),
		  &counted, &minority);
	assert_int_equal(json_array_size(counted), 1);
	assert_int_equal(json_array_size(minority), 0);
	x = json_array_get(counted, 0);
	assert_string_equal(severity_of(x), "fail");
	assert_int_equal(step_of(x), 5);
	assert_int_equal(json_array_size(showed(x)), 2);
	assert_int_equal(json_integer_value(json_array_get(showed(x), 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(showed(x), 1)), 3);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(x, "seeds"), "of")),
			 3);
	/* The first showing seed's values, and the key value per seed. */
	assert_true(value_of(x, "ratio") == 20);
	json_t *per = json_object_get(json_object_get(x, "values"), "per_seed");
	assert_true(json_number_value(json_object_get(per, "1")) == 20);
	assert_true(json_number_value(json_object_get(per, "3")) == 30);
	assert_null(json_object_get(per, "2"));
	json_decref(counted);
	json_decref(minority);

	/* On all three: the median of three steps. */
	aggregate(list(fnd("loss_spikes", "warn", 10, NULL, 1), NULL),
		  list(fnd("loss_spikes", "warn", 2, NULL, 1), NULL),
		  list(fnd("loss_spikes", "warn", 7, NULL, 1), NULL), &counted,
		  &minority);
	x = json_array_get(counted, 0);
	assert_string_equal(severity_of(x), "warn");
	assert_int_equal(step_of(x), 7);
	assert_int_equal(json_array_size(showed(x)), 3);
	json_decref(counted);
	json_decref(minority);
}

static void test_aggregate_minority(void **state)
{
	json_t *counted, *minority, *x;

	(void)state;
	/* A fail on 1 of 3 seeds still counts, as a warning that says so;
	 * a warning on 1 of 3 goes to the minority list. */
	aggregate(json_array(),
		  list(fnd("no_progress", "fail", 30, NULL, 2.4),
		       fnd("loss_spikes", "warn", 3, NULL, 0.1), NULL),
		  json_array(), &counted, &minority);
	assert_int_equal(json_array_size(counted), 1);
	x = json_array_get(counted, 0);
	assert_string_equal(json_string_value(json_object_get(x, "criterion")),
			    "no_progress");
	assert_string_equal(severity_of(x), "warn");
	assert_non_null(strstr(json_string_value(json_object_get(x, "message")),
			       "fails on 1 of 3 seeds (seed 2): no_progress"));
	assert_int_equal(json_array_size(showed(x)), 1);
	assert_int_equal(json_array_size(minority), 1);
	x = json_array_get(minority, 0);
	assert_string_equal(json_string_value(json_object_get(x, "criterion")),
			    "loss_spikes");
	assert_string_equal(severity_of(x), "warn");
	assert_int_equal(json_integer_value(json_array_get(showed(x), 0)), 2);
	json_decref(counted);
	json_decref(minority);

	/* Shown on all three, failed on one (two recovered explosions and
	 * one that was not): counts as a warning; the failing seed is the
	 * one quoted. */
	aggregate(list(fnd("loss_explosion", "warn", 2, NULL, 12), NULL),
		  list(fnd("loss_explosion", "fail", 2, NULL, 50), NULL),
		  list(fnd("loss_explosion", "warn", 3, NULL, 11), NULL),
		  &counted, &minority);
	x = json_array_get(counted, 0);
	assert_string_equal(severity_of(x), "warn");
	assert_true(value_of(x, "ratio") == 50);
	assert_int_equal(json_array_size(showed(x)), 3);
	assert_int_equal(json_array_size(minority), 0);
	json_decref(counted);
	json_decref(minority);
}

static void test_aggregate_per_tensor_order_and_errors(void **state)
{
	json_t *counted, *minority, *x;

	(void)state;
	/* update_ratio counts per tensor; findings come in the order of the
	 * criteria table, not of the seeds; an error counts on any seed. */
	aggregate(list(fnd("update_ratio", "warn", 100, "fc1.weight", 0.02),
		       fnd("update_ratio", "warn", 100, "fc2.weight", 0.03),
		       NULL),
		  list(fnd("update_ratio", "warn", 100, "fc1.weight", 0.02),
		       fnd("loss_explosion", "fail", 2, NULL, 20), NULL),
		  list(fnd("loss_explosion", "fail", 2, NULL, 20),
		       fnd("workload_error", "error", 0, NULL, 0), NULL),
		  &counted, &minority);
	assert_int_equal(json_array_size(counted), 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(counted, 0), "criterion")),
			    "workload_error");
	assert_string_equal(severity_of(json_array_get(counted, 0)), "error");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(counted, 1), "criterion")),
			    "loss_explosion");
	assert_string_equal(severity_of(json_array_get(counted, 1)), "fail");
	x = json_array_get(counted, 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(x, "values"), "tensor")),
			    "fc1.weight");
	assert_int_equal(json_array_size(minority), 1);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(minority, 0), "values"),
			"tensor")),
		"fc2.weight");
	assert_string_equal(optreg_findings_result(counted), "error");
	json_decref(counted);
	json_decref(minority);

	/* Nothing on any seed: nothing. */
	aggregate(json_array(), json_array(), json_array(), &counted,
		  &minority);
	assert_int_equal(json_array_size(counted), 0);
	assert_int_equal(json_array_size(minority), 0);
	json_decref(counted);
	json_decref(minority);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_run_has_no_findings),
		cmocka_unit_test(test_non_finite),
		cmocka_unit_test(test_non_finite_loss_also_explodes),
		cmocka_unit_test(test_loss_explosion),
		cmocka_unit_test(test_no_progress),
		cmocka_unit_test(test_no_progress_against_chance),
		cmocka_unit_test(test_accuracy_gap),
		cmocka_unit_test(test_loss_gap),
		cmocka_unit_test(test_loss_explosion_recovered),
		cmocka_unit_test(test_aggregate_majority),
		cmocka_unit_test(test_aggregate_minority),
		cmocka_unit_test(test_aggregate_per_tensor_order_and_errors),
		cmocka_unit_test(test_accuracy_floor),
		cmocka_unit_test(test_loss_spikes),
		cmocka_unit_test(test_loss_spikes_within_limit_or_warmup),
		cmocka_unit_test(test_grad_norm_spikes),
		cmocka_unit_test(test_expected_loss_is_judged),
		cmocka_unit_test(test_update_ratio),
		cmocka_unit_test(test_update_ratio_bad_regex),
		cmocka_unit_test(test_edge_of_stability),
		cmocka_unit_test(test_eps_dominated),
		cmocka_unit_test(test_result_ranks_severities),
		cmocka_unit_test(test_json_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
