/*
 * runner/findings.h: the stability criteria (docs/runner.md, "Stability
 * criteria"), applied to one workload's result (runner/workloads.h).
 *
 * Every criterion has a stable id, a severity and thresholds that come from
 * the suite file (runner/suites/ref-v2.yaml), never from code:
 *
 *   non_finite          fail  a non-finite loss, gradient norm, parameter or
 *                             moment (the run stops at that step)
 *   loss_explosion      fail  the loss above loss_explosion_factor x the
 *                             initial loss at any step; warn (recovered)
 *                             when the run stayed finite and no gap
 *                             criterion fails
 *   no_progress         fail  the mean loss over the last
 *                             final_window_fraction of the steps not below
 *                             the initial loss, or chance level ln(classes)
 *                             for a classifier when that is lower
 *   accuracy_floor      fail  test accuracy under accuracy_floor (workloads
 *                             whose suite entry sets one)
 *   accuracy_gap        fail  test accuracy below the baseline's (Adam
 *                       warn  defaults at the grid lr nearest the config's
 *                             from below, same workload and seed) by more
 *                             than accuracy_gap_fail / accuracy_gap_warn
 *   loss_gap            fail  the final loss (test loss, else the final-
 *                       warn  window mean) above the baseline's times
 *                             loss_gap_fail / loss_gap_warn
 *   loss_spikes         warn  more than spike_max_fraction of the judged
 *                             steps are spikes: the smoothed loss above
 *                             spike_factor x its running minimum, or a
 *                             gradient-norm z-score above spike_zscore
 *   update_ratio        warn  a tensor's median ||update|| / ||weight||
 *                             over the judged steps above
 *                             update_ratio_max or below update_ratio_min
 *   edge_of_stability   warn  preconditioned sharpness above the
 *                             edge-of-stability bound for eos_streak or more
 *                             consecutive steps (quadratic_deep)
 *   eps_dominated       warn  the median fraction of elements with
 *                             sqrt(v_hat) < eps above eps_dominated_fraction
 *
 * "The loss" is the expected loss where the workload has one (the noisy
 * quadratic and the 2-D functions: the same signal without the sampling
 * noise), else the training loss of each step's batch. "The judged steps"
 * are those after the warmup (min(W, warmup_cap) steps for a config's
 * warmup of W): what the config does at its working learning rate.
 * docs/runner.md gives the exact definitions and the calibration of the
 * thresholds.
 *
 * Findings and metrics are JSON (jansson), the shape they take in a verdict.
 */
#ifndef OPTREG_FINDINGS_H
#define OPTREG_FINDINGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "workloads.h"

/*
 * The runner's version, written into every verdict: a verdict is only as
 * good as the criteria and workloads that produced it, so bump this when
 * either changes.
 */
#define OPTREG_RUNNER_VERSION "0.2.0"

/* The thresholds of one workload (suite file: `thresholds`, with the
 * workload's own overrides applied). */
struct optreg_thresholds {
	double loss_explosion_factor; /* 10 */
	double final_window_fraction; /* 0.1 */
	double accuracy_floor;	      /* NAN: not checked */
	double spike_factor;	      /* 2 */
	long spike_smoothing;	      /* trailing mean over this many steps */
	double spike_zscore;	      /* 2.5 */
	long spike_zscore_window;     /* running statistics: previous N steps */
	double spike_max_fraction;    /* 0.02 */
	double update_ratio_max;      /* 1e-2 */
	double update_ratio_min;      /* 1e-5 */
	/* POSIX ERE: tensors whose name matches are not judged by
	 * update_ratio (biases start at zero); NULL or "": none. Borrowed. */
	const char *update_ratio_exclude;
	long eos_streak;	       /* 20 */
	double eps_dominated_fraction; /* 0.5 */
	/* Against the baseline (NAN: not checked). */
	double accuracy_gap_fail; /* absolute accuracy, e.g. 0.05 */
	double accuracy_gap_warn;
	double loss_gap_fail; /* factor over the baseline's loss, e.g. 1.5 */
	double loss_gap_warn;
};

/* The baseline of one workload and seed: the Adam defaults' numbers at
 * one lr of the suite's baseline grid (`optreg-runner baseline`); NAN
 * where the workload has none. */
struct optreg_baseline_entry {
	double final_loss; /* mean judged loss over the final window */
	double test_loss;
	double test_accuracy;
	double lr; /* the grid lr the Adam defaults ran at (> 0) */
};

/*
 * Judges `res` (a finished run of one seed, including one stopped by a
 * non-finite value) against `th`. `warmup_steps` is the warmup the run used:
 * the judged steps are warmup_steps + 1 .. steps_run (all steps when that
 * would be none). `base` is the baseline of the same workload and seed
 * at the grid lr chosen for the config (NULL: none, the gap criteria are
 * skipped); its lr is the metric `baseline_lr` and named in the gap
 * messages. Appends one JSON object per
 * finding to
 * `findings` (an array) and sets the workload's metrics in `metrics` (an
 * object), both borrowed. Returns 0, or OPTREG_EINVAL with an error when
 * update_ratio_exclude does not compile (the suite loader checks it first).
 */
int optreg_findings_judge(const struct optreg_workload_result *res,
			  const struct optreg_thresholds *th, long warmup_steps,
			  const struct optreg_baseline_entry *base,
			  json_t *metrics, json_t *findings,
			  struct optreg_errors *errs);

/* The mean judged loss over the last final_window_fraction of res's steps
 * (the `final_loss` metric; what the baseline stores). */
double optreg_findings_final_loss(const struct optreg_workload_result *res,
				  double final_window_fraction);

/*
 * Adds up one workload's per-seed findings (docs/runner.md, "How a run
 * works", step 8). per_seed[i] is the findings array of seed seeds[i]. A
 * criterion (per tensor for update_ratio) COUNTS when more than half of
 * the seeds show it, with severity fail when more than half fail it, else
 * warn; a fail shown on fewer seeds still counts, as a warn ("fails on 1
 * of 3 seeds"); an error counts on any seed. The rest (warnings on a
 * minority) go to `minority`. Each finding added carries "seeds":
 * {"showed": [...], "of": n}, the median step of the showing seeds, the
 * values of its first showing seed (the first failing one for a fail) and
 * "per_seed" of the criterion's key value. Appends to `counted` and
 * `minority` (arrays, borrowed), ordered as the criteria table.
 */
void optreg_findings_aggregate(const uint64_t *seeds, size_t nseeds,
			       json_t *const *per_seed, json_t *counted,
			       json_t *minority);

/*
 * A new finding object (the caller owns it):
 *   {"criterion", "severity", "workload", "step", "values", "message"}
 * `severity` is "fail", "warn" or "error" (the run broke: selftest, a
 * workload that could not run); `workload` may be NULL (null), `step` 0
 * (null: not tied to a step). `values` is stolen (NULL: {}).
 */
json_t *optreg_finding_new(const char *criterion, const char *severity,
			   const char *workload, long step, json_t *values,
			   const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* The verdict a list of findings adds up to: "error" if any finding is an
 * error, else "fail" if any fails, else "warn" if any warns, else "pass".
 * The string is static. */
const char *optreg_findings_result(const json_t *findings);

/*
 * A verdict number: `v` rounded to 6 significant digits (metrics are
 * reported, not recomputed from, so the verdict stays short and readable
 * in every form, canonical JSON included); JSON null when not finite.
 */
json_t *optreg_json_number(double v);

#endif
