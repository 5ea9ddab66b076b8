/*
 * runner/findings.c: the stability criteria (findings.h) over one
 * workload's per-step records.
 *
 * Each criterion is one static function that reads the result and the
 * thresholds, adds its metrics and, when the criterion trips, one finding
 * (update_ratio: one per offending tensor). They run in the order of the
 * table in findings.h, so findings read from the most to the least severe.
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/jsonutil.h"
#include "findings.h"

/* A z-score needs some history before it means anything. */
#define SPIKE_MIN_HISTORY 10

/* What the criteria share about one run. */
struct judge {
	const struct optreg_workload_result *res;
	const struct optreg_thresholds *th;
	const double *loss; /* the judged loss: expected, else training */
	long n;		    /* steps with records (steps_run) */
	long first;	    /* first judged step, 1-based */
	double initial;	    /* loss[0] */
	const struct optreg_baseline_entry *base; /* NULL: none */
	json_t *metrics, *findings;
};

json_t *optreg_json_number(double v)
{
	char s[32];

	if (!isfinite(v))
		return json_null();
	/* The runner never calls setlocale, so this is the C locale's '.'. */
	snprintf(s, sizeof(s), "%.6g", v);
	return json_real(strtod(s, NULL));
}

json_t *optreg_finding_new(const char *criterion, const char *severity,
			   const char *workload, long step, json_t *values,
			   const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	json_t *f = json_object();
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	json_object_set_new(f, "criterion", json_string(criterion));
	json_object_set_new(f, "severity", json_string(severity));
	json_object_set_new(f, "workload",
			    workload ? json_string(workload) : json_null());
	json_object_set_new(f, "step",
			    step > 0 ? json_integer(step) : json_null());
	json_object_set_new(f, "values", values ? values : json_object());
	json_object_set_new(f, "message", json_string(msg.data));
	optreg_buf_release(&msg);
	return f;
}

const char *optreg_findings_result(const json_t *findings)
{
	int worst = 0; /* 0 pass, 1 warn, 2 fail, 3 error */
	size_t i;
	json_t *f;

	json_array_foreach(findings, i, f)
	{
		const char *s = optreg_json_str(f, "severity");
		int rank = !s			 ? 0
			   : !strcmp(s, "error") ? 3
			   : !strcmp(s, "fail")	 ? 2
			   : !strcmp(s, "warn")	 ? 1
						 : 0;
		if (rank > worst)
			worst = rank;
	}
	static const char *const names[] = {"pass", "warn", "fail", "error"};
	return names[worst];
}

static void add_finding(struct judge *j, const char *criterion,
			const char *severity, long step, json_t *values,
			const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void add_finding(struct judge *j, const char *criterion,
			const char *severity, long step, json_t *values,
			const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	json_array_append_new(j->findings,
			      optreg_finding_new(criterion, severity,
						 j->res->workload, step, values,
						 "%s", msg.data));
	optreg_buf_release(&msg);
}

static void metric(struct judge *j, const char *name, double v)
{
	json_object_set_new(j->metrics, name, optreg_json_number(v));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of the finite values among v[0..n) at the given stride; NAN when
 * there are none. */
static double median_of(const double *v, long n, size_t stride)
{
	double *tmp = optreg_xcalloc(n > 0 ? (size_t)n : 1, sizeof(double));
	size_t m = 0;
	double med = NAN;

	for (long i = 0; i < n; i++)
		if (isfinite(v[(size_t)i * stride]))
			tmp[m++] = v[(size_t)i * stride];
	if (m) {
		qsort(tmp, m, sizeof(double), cmp_double);
		med = m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
	}
	free(tmp);
	return med;
}

static const char *nonfinite_words(enum optreg_nonfinite what)
{
	switch (what) {
	case OPTREG_NONFINITE_LOSS:
		return "the loss";
	case OPTREG_NONFINITE_GRAD_NORM:
		return "the gradient norm";
	case OPTREG_NONFINITE_PARAM:
		return "a parameter";
	case OPTREG_NONFINITE_MOMENT:
		return "an Adam moment (m or v)";
	case OPTREG_NONFINITE_NONE:
		break;
	}
	return "a value";
}

static void check_non_finite(struct judge *j)
{
	const struct optreg_workload_result *r = j->res;

	if (!r->nonfinite_step)
		return;
	add_finding(j, "non_finite", "fail", r->nonfinite_step,
		    json_pack("{s:s}", "kind",
			      optreg_nonfinite_name(r->nonfinite_what)),
		    "%s became non-finite at step %ld",
		    nonfinite_words(r->nonfinite_what), r->nonfinite_step);
}

/* Metrics of the loss itself, and the explosion check over every step.
 * `recovered`: the run stayed finite to the end and the gap criteria were
 * judged (there is a baseline and a _fail threshold) and none fails, so
 * an explosion is a warning. */
static void check_loss_explosion(struct judge *j, int recovered)
{
	double f = j->th->loss_explosion_factor, hi = -INFINITY;
	long at = 0;

	for (long t = 1; t <= j->n; t++) {
		double l = j->loss[t - 1];
		if (!isfinite(l))
			continue;
		if (l > hi)
			hi = l;
		if (!at && j->initial > 0 && l > f * j->initial)
			at = t;
	}
	metric(j, "max_loss", hi);
	if (!at)
		return;

	double l = j->loss[at - 1];
	add_finding(j, "loss_explosion", recovered ? "warn" : "fail", at,
		    json_pack("{s:o, s:o, s:o, s:o, s:b}", "loss",
			      optreg_json_number(l), "initial_loss",
			      optreg_json_number(j->initial), "ratio",
			      optreg_json_number(l / j->initial), "limit",
			      optreg_json_number(f), "recovered", recovered),
		    "loss reached %.4g at step %ld, %.3gx the initial %.4g "
		    "(limit %gx)%s",
		    l, at, l / j->initial, j->initial, f,
		    recovered ? "; the run recovered (finite to the end, "
				"no gap to the baseline fails)"
			      : "");
}

double optreg_findings_final_loss(const struct optreg_workload_result *res,
				  double final_window_fraction)
{
	const double *loss =
		res->expected_loss ? res->expected_loss : res->loss;
	long n = res->steps_run;
	long w = (long)(final_window_fraction * (double)n + 0.5);
	double sum = 0;

	if (n < 1)
		return NAN;
	if (w < 1)
		w = 1;
	if (w > n)
		w = n;
	for (long t = n - w + 1; t <= n; t++)
		sum += loss[t - 1];
	return sum / (double)w;
}

static void check_no_progress(struct judge *j)
{
	long w = (long)(j->th->final_window_fraction * (double)j->n + 0.5);
	double final = optreg_findings_final_loss(j->res,
						  j->th->final_window_fraction);
	double chance =
		j->res->classes > 0 ? log((double)j->res->classes) : NAN;
	double bar = j->initial;

	if (w < 1)
		w = 1;
	if (w > j->n)
		w = j->n;
	metric(j, "final_loss", final);
	if (isfinite(chance) && chance < bar)
		bar = chance;
	if (final < bar)
		return;
	/*
	 * Below its start but not below chance: when the Adam defaults at
	 * this rate (the baseline) do not get below chance in this many
	 * steps either, the rate is too small for the horizon, which is not
	 * a failure; the gap criteria compare the two. A loss that did not
	 * fall at all is still judged.
	 */
	if (final < j->initial && isfinite(chance) && j->base &&
	    isfinite(j->base->final_loss) && j->base->final_loss >= chance)
		return;

	json_t *values = json_pack("{s:o, s:o, s:I}", "final_loss",
				   optreg_json_number(final), "initial_loss",
				   optreg_json_number(j->initial), "window",
				   (json_int_t)w);
	if (isfinite(chance)) {
		json_object_set_new(values, "chance_loss",
				    optreg_json_number(chance));
		add_finding(j, "no_progress", "fail", j->n, values,
			    "mean loss over the last %ld steps is %.4g, not "
			    "below min(initial %.4g, chance ln %ld = %.4g)",
			    w, final, j->initial, j->res->classes, chance);
		return;
	}
	add_finding(j, "no_progress", "fail", j->n, values,
		    "mean loss over the last %ld steps is %.4g, not below the "
		    "initial %.4g",
		    w, final, j->initial);
}

/* "Adam defaults at lr 3e-05", the baseline the gap messages name. */
static void baseline_words(char *out, size_t size,
			   const struct optreg_baseline_entry *b)
{
	if (isfinite(b->lr) && b->lr > 0)
		snprintf(out, size, "Adam defaults at lr %g", b->lr);
	else
		snprintf(out, size, "Adam defaults");
}

/*
 * The gap criteria against the baseline of the same workload and seed (at
 * the grid lr chosen for the config: b->lr, the metric baseline_lr).
 * With `emit` 0 they only answer (for loss_explosion's `recovered`): 1
 * when either fails, 0 when at least one was judged and none fails, -1
 * when neither could be judged (a gap counts as judged only when its
 * _fail threshold is set: a gap that cannot fail shows no recovery). With
 * `emit` 1 they add their findings and metrics. Skipped without a baseline, or
 * (accuracy_gap) without test metrics on either side.
 */
static int check_gaps(struct judge *j, int emit)
{
	const struct optreg_workload_result *r = j->res;
	const struct optreg_baseline_entry *b = j->base;
	const struct optreg_thresholds *th = j->th;
	int fails = 0, judged = 0;

	char who[64];

	if (!b)
		return -1;
	baseline_words(who, sizeof(who), b);
	if (emit && isfinite(b->lr) && b->lr > 0)
		metric(j, "baseline_lr", b->lr);
	if (r->nonfinite_step) {
		/* Nothing to compare with; the metrics still say which
		 * baseline the run was held to. */
		if (emit && isfinite(b->test_accuracy))
			metric(j, "baseline_test_accuracy", b->test_accuracy);
		if (emit && isfinite(b->test_loss))
			metric(j, "baseline_test_loss", b->test_loss);
		else if (emit && isfinite(b->final_loss))
			metric(j, "baseline_final_loss", b->final_loss);
		return -1;
	}
	if (r->has_test && isfinite(b->test_accuracy)) {
		/* Judged (for `recovered`) only where it can fail. */
		judged |= !isnan(th->accuracy_gap_fail);
		double gap = b->test_accuracy - r->test_accuracy;
		const char *sev = !isnan(th->accuracy_gap_fail) &&
						  gap > th->accuracy_gap_fail
					  ? "fail"
				  : !isnan(th->accuracy_gap_warn) &&
						  gap > th->accuracy_gap_warn
					  ? "warn"
					  : NULL;
		fails |= sev && !strcmp(sev, "fail");
		if (emit) {
			metric(j, "baseline_test_accuracy", b->test_accuracy);
			if (sev) {
				double lim = !strcmp(sev, "fail")
						     ? th->accuracy_gap_fail
						     : th->accuracy_gap_warn;
				add_finding(
					j, "accuracy_gap", sev, j->n,
					json_pack("{s:o, s:o, s:o, s:o, s:o}",
						  "test_accuracy",
						  optreg_json_number(
							  r->test_accuracy),
						  "baseline",
						  optreg_json_number(
							  b->test_accuracy),
						  "baseline_lr",
						  optreg_json_number(b->lr),
						  "gap",
						  optreg_json_number(gap),
						  "limit",
						  optreg_json_number(lim)),
					"test accuracy %.4g is %.3g below the "
					"baseline's %.4g (%s, same seed; "
					"limit %g)",
					r->test_accuracy, gap, b->test_accuracy,
					who, lim);
			}
		}
	}

	int test = r->has_test && isfinite(b->test_loss);
	double loss =
		test ? r->test_loss
		     : optreg_findings_final_loss(r, th->final_window_fraction);
	double base = test ? b->test_loss : b->final_loss;
	if (!isfinite(base) || !(base > 0) || !isfinite(loss))
		return fails ? 1 : judged ? 0 : -1;
	double ratio = loss / base;
	const char *sev =
		!isnan(th->loss_gap_fail) && ratio > th->loss_gap_fail ? "fail"
		: !isnan(th->loss_gap_warn) && ratio > th->loss_gap_warn
			? "warn"
			: NULL;
	fails |= sev && !strcmp(sev, "fail");
	judged |= !isnan(th->loss_gap_fail);
	if (!emit)
		return fails ? 1 : judged ? 0 : -1;
	metric(j, test ? "baseline_test_loss" : "baseline_final_loss", base);
	if (sev) {
		double lim = !strcmp(sev, "fail") ? th->loss_gap_fail
						  : th->loss_gap_warn;
		add_finding(j, "loss_gap", sev, j->n,
			    json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}",
				      "loss_kind", test ? "test" : "final",
				      "loss", optreg_json_number(loss),
				      "baseline", optreg_json_number(base),
				      "baseline_lr", optreg_json_number(b->lr),
				      "ratio", optreg_json_number(ratio),
				      "limit", optreg_json_number(lim)),
			    "%s loss %.4g is %.3gx the baseline's %.4g (%s, "
			    "same seed; limit %gx)",
			    test ? "test" : "final", loss, ratio, base, who,
			    lim);
	}
	return fails ? 1 : judged ? 0 : -1;
}

static void check_accuracy_floor(struct judge *j)
{
	const struct optreg_workload_result *r = j->res;
	double floor_ = j->th->accuracy_floor;

	if (!r->has_test)
		return;
	metric(j, "test_accuracy", r->test_accuracy);
	metric(j, "test_loss", r->test_loss);
	json_object_set_new(j->metrics, "test_rows",
			    json_integer(r->test_rows));
	if (isnan(floor_) || r->test_accuracy >= floor_)
		return;

	add_finding(j, "accuracy_floor", "fail", j->n,
		    json_pack("{s:o, s:o}", "test_accuracy",
			      optreg_json_number(r->test_accuracy), "floor",
			      optreg_json_number(floor_)),
		    "test accuracy %.4g is under the floor %.4g (%ld test "
		    "images)",
		    r->test_accuracy, floor_, r->test_rows);
}

/* z-score of log(grad_norm[t-1]) against the previous `window` steps;
 * NAN when there is too little history or no spread. */
static double grad_zscore(const double *g, long t, long window)
{
	long from = t - window < 1 ? 1 : t - window;
	double sum = 0, sumsq = 0;
	long m = 0;

	if (!(g[t - 1] > 0) || !isfinite(g[t - 1]))
		return NAN;
	for (long u = from; u < t; u++) {
		if (!(g[u - 1] > 0) || !isfinite(g[u - 1]))
			continue;
		double x = log(g[u - 1]);
		sum += x;
		sumsq += x * x;
		m++;
	}
	if (m < SPIKE_MIN_HISTORY)
		return NAN;
	double mean = sum / (double)m;
	double var = sumsq / (double)m - mean * mean;
	if (!(var > 0))
		return NAN;
	return (log(g[t - 1]) - mean) / sqrt(var);
}

static void check_loss_spikes(struct judge *j)
{
	const struct optreg_thresholds *th = j->th;
	long k = th->spike_smoothing > 1 ? th->spike_smoothing : 1;
	long start = j->first > 2 ? j->first : 2;
	double *smooth = optreg_xcalloc((size_t)j->n, sizeof(double));
	double sum = 0, runmin = INFINITY, worst_ratio = 0, worst_z = -INFINITY;
	long loss_spikes = 0, grad_spikes = 0, spikes = 0, first_spike = 0;

	/* Trailing mean over up to k steps. */
	for (long t = 1; t <= j->n; t++) {
		sum += j->loss[t - 1];
		if (t > k)
			sum -= j->loss[t - 1 - k];
		smooth[t - 1] = sum / (double)(t < k ? t : k);
	}
	for (long t = 1; t <= j->n; t++) {
		int spike = 0;
		if (t >= start) {
			if (runmin > 0 && isfinite(runmin)) {
				double ratio = smooth[t - 1] / runmin;
				if (ratio > worst_ratio)
					worst_ratio = ratio;
				if (ratio > th->spike_factor) {
					loss_spikes++;
					spike = 1;
				}
			}
			double z = grad_zscore(j->res->grad_norm, t,
					       th->spike_zscore_window);
			if (isfinite(z)) {
				if (z > worst_z)
					worst_z = z;
				if (z > th->spike_zscore) {
					grad_spikes++;
					spike = 1;
				}
			}
		}
		if (spike) {
			spikes++;
			if (!first_spike)
				first_spike = t;
		}
		if (smooth[t - 1] < runmin)
			runmin = smooth[t - 1];
	}
	free(smooth);

	long judged = j->n - start + 1;
	double frac = judged > 0 ? (double)spikes / (double)judged : 0;
	metric(j, "spike_fraction", frac);
	json_object_set_new(j->metrics, "spike_steps", json_integer(spikes));
	if (judged <= 0 || !(frac > th->spike_max_fraction))
		return;

	add_finding(j, "loss_spikes", "warn", first_spike,
		    json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:o}", "fraction",
			      optreg_json_number(frac), "spikes",
			      (json_int_t)spikes, "judged_steps",
			      (json_int_t)judged, "loss_spikes",
			      (json_int_t)loss_spikes, "grad_norm_spikes",
			      (json_int_t)grad_spikes, "max_loss_ratio",
			      optreg_json_number(worst_ratio), "max_zscore",
			      optreg_json_number(worst_z)),
		    "%ld of %ld judged steps (%.3g%%) are spikes, more than "
		    "%.3g%%: %ld in the loss (above %gx its running minimum), "
		    "%ld in the gradient norm (z-score above %g)",
		    spikes, judged, 100 * frac, 100 * th->spike_max_fraction,
		    loss_spikes, th->spike_factor, grad_spikes,
		    th->spike_zscore);
}

static int check_update_ratio(struct judge *j, struct optreg_errors *errs)
{
	const struct optreg_workload_result *r = j->res;
	const struct optreg_thresholds *th = j->th;
	const char *pat = th->update_ratio_exclude;
	json_t *medians = json_object();
	long judged = j->n - j->first + 1;
	double *ratio =
		optreg_xcalloc(judged > 0 ? (size_t)judged : 1, sizeof(double));
	regex_t re;
	int have_re = 0;

	if (pat && *pat) {
		int rerr = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB);
		if (rerr) {
			char what[128];
			regerror(rerr, &re, what, sizeof(what));
			if (errs)
				optreg_errors_add(errs, OPTREG_EINVAL, "regex",
						  "update_ratio_exclude",
						  "must be a POSIX extended "
						  "regular expression (%s)",
						  what);
			free(ratio);
			json_decref(medians);
			return OPTREG_EINVAL;
		}
		have_re = 1;
	}
	for (size_t k = 0; k < r->ntensors; k++) {
		const char *name = r->tensors[k].name;
		for (long t = j->first; t <= j->n; t++)
			ratio[t - j->first] =
				optreg_workload_update_ratio(r, t, k);
		double med = median_of(ratio, judged, 1);
		json_object_set_new(medians, name, optreg_json_number(med));
		if (!isfinite(med) ||
		    (have_re && regexec(&re, name, 0, NULL, 0) == 0))
			continue;
		int high = med > th->update_ratio_max;
		if (!high && !(med < th->update_ratio_min))
			continue;

		double bound =
			high ? th->update_ratio_max : th->update_ratio_min;
		add_finding(j, "update_ratio", "warn", j->n,
			    json_pack("{s:s, s:o, s:o, s:I}", "tensor", name,
				      "median_ratio", optreg_json_number(med),
				      high ? "max" : "min",
				      optreg_json_number(bound), "from_step",
				      (json_int_t)j->first),
			    "%s: median update/weight ratio %.3g over steps "
			    "%ld-%ld is %s %g",
			    name, med, j->first, j->n, high ? "above" : "below",
			    bound);
	}
	if (have_re)
		regfree(&re);
	free(ratio);
	json_object_set_new(j->metrics, "update_ratio", medians);
	return 0;
}

static void check_edge_of_stability(struct judge *j)
{
	const struct optreg_workload_result *r = j->res;
	long streak = 0, longest = 0, longest_from = 0, tripped_at = 0;
	double max_ratio = NAN;

	if (!r->sharpness || !r->sharpness_bound)
		return;
	for (long t = 1; t <= j->n; t++) {
		double s = r->sharpness[t - 1], b = r->sharpness_bound[t - 1];
		int above = isfinite(s) && isfinite(b) && s > b;
		if (isfinite(s) && isfinite(b) && b > 0 &&
		    !(s / b <= max_ratio))
			max_ratio = s / b;
		streak = above ? streak + 1 : 0;
		if (streak > longest) {
			longest = streak;
			longest_from = t - streak + 1;
		}
		if (!tripped_at && streak >= j->th->eos_streak)
			tripped_at = t;
	}
	metric(j, "sharpness_bound_ratio_max", max_ratio);
	json_object_set_new(j->metrics, "eos_longest_streak",
			    json_integer(longest));
	if (!tripped_at)
		return;

	double s = r->sharpness[tripped_at - 1];
	double b = r->sharpness_bound[tripped_at - 1];
	add_finding(
		j, "edge_of_stability", "warn", tripped_at,
		json_pack("{s:o, s:o, s:I, s:I}", "sharpness",
			  optreg_json_number(s), "bound", optreg_json_number(b),
			  "streak", (json_int_t)longest, "limit",
			  (json_int_t)j->th->eos_streak),
		"preconditioned sharpness above the edge-of-stability bound "
		"(2+2 beta1)/((1-beta1) lr) for %ld consecutive steps from "
		"step %ld (limit %ld): %.4g > %.4g at step %ld",
		longest, longest_from, j->th->eos_streak, s, b, tripped_at);
}

static void check_eps_dominated(struct judge *j)
{
	const struct optreg_workload_result *r = j->res;
	long judged = j->n - j->first + 1;
	double med = median_of(r->small_denom_frac + (j->first - 1), judged, 1);
	double eps = r->ntensors ? r->tensors[0].hparams.eps : NAN;

	metric(j, "small_denom_fraction", med);
	if (!(med > j->th->eps_dominated_fraction))
		return;

	add_finding(
		j, "eps_dominated", "warn", j->n,
		json_pack("{s:o, s:o, s:o}", "median_fraction",
			  optreg_json_number(med), "limit",
			  optreg_json_number(j->th->eps_dominated_fraction),
			  "eps", optreg_json_number(eps)),
		"a median %.3g%% of the elements have sqrt(v_hat) below eps "
		"(%g) over steps %ld-%ld, more than %.3g%%: eps, not the "
		"gradient history, sets their step size",
		100 * med, eps, j->first, j->n,
		100 * j->th->eps_dominated_fraction);
}

/* Gradient-norm and clipping metrics (no criterion of their own). */
static void grad_metrics(struct judge *j)
{
	const struct optreg_workload_result *r = j->res;
	double hi = NAN;
	long clipped = 0;

	for (long t = 1; t <= j->n; t++) {
		double g = r->grad_norm[t - 1];
		if (isfinite(g) && !(g <= hi))
			hi = g;
		if (r->clip_coef[t - 1] < 1)
			clipped++;
	}
	metric(j, "grad_norm_initial", r->grad_norm[0]);
	metric(j, "grad_norm_median", median_of(r->grad_norm, j->n, 1));
	metric(j, "grad_norm_max", hi);
	metric(j, "clipped_fraction", (double)clipped / (double)j->n);
}

int optreg_findings_judge(const struct optreg_workload_result *res,
			  const struct optreg_thresholds *th, long warmup_steps,
			  const struct optreg_baseline_entry *base,
			  json_t *metrics, json_t *findings,
			  struct optreg_errors *errs)
{
	struct judge j = {
		.res = res,
		.th = th,
		.loss = res->expected_loss ? res->expected_loss : res->loss,
		.n = res->steps_run,
		.base = base,
		.metrics = metrics,
		.findings = findings,
	};

	json_object_set_new(metrics, "steps_run", json_integer(res->steps_run));
	json_object_set_new(
		metrics, "loss_kind",
		json_string(res->expected_loss ? "expected" : "train"));
	if (j.n < 1) {
		check_non_finite(&j);
		return 0;
	}
	j.first =
		warmup_steps >= 0 && warmup_steps < j.n ? warmup_steps + 1 : 1;
	j.initial = j.loss[0];
	json_object_set_new(metrics, "judged_from_step", json_integer(j.first));
	metric(&j, "initial_loss", j.initial);
	grad_metrics(&j);

	check_non_finite(&j);
	check_loss_explosion(&j,
			     !res->nonfinite_step && check_gaps(&j, 0) == 0);
	if (res->nonfinite_step) {
		/* The run broke; the remaining criteria judge a trained
		 * state there is none of. */
		json_object_set_new(
			metrics, "nonfinite",
			json_pack("{s:I, s:s}", "step",
				  (json_int_t)res->nonfinite_step, "kind",
				  optreg_nonfinite_name(res->nonfinite_what)));
		check_gaps(&j, 1); /* baseline_lr and numbers only */
		return 0;
	}
	check_no_progress(&j);
	check_accuracy_floor(&j);
	check_gaps(&j, 1);
	check_loss_spikes(&j);
	if (check_update_ratio(&j, errs))
		return OPTREG_EINVAL;
	check_edge_of_stability(&j);
	check_eps_dominated(&j);
	return 0;
}

/* ------------------------------------------------------------------------
 * Seeds and majority
 */

/* The criteria in the order of the table in findings.h; findings of one
 * workload are listed in this order. */
static const char *const criteria_order[] = {
	"workload_error", "non_finite",	       "loss_explosion", "no_progress",
	"accuracy_floor", "accuracy_gap",      "loss_gap",	 "loss_spikes",
	"update_ratio",	  "edge_of_stability", "eps_dominated",	 NULL,
};

/* The value of a criterion's finding that per_seed reports. */
static const char *key_value(const char *criterion)
{
	static const char *const map[][2] = {
		{"non_finite", "kind"},
		{"loss_explosion", "ratio"},
		{"no_progress", "final_loss"},
		{"accuracy_floor", "test_accuracy"},
		{"accuracy_gap", "gap"},
		{"loss_gap", "ratio"},
		{"loss_spikes", "fraction"},
		{"update_ratio", "median_ratio"},
		{"edge_of_stability", "streak"},
		{"eps_dominated", "median_fraction"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i][0], criterion))
			return map[i][1];
	return NULL;
}

static size_t criterion_rank(const char *c)
{
	size_t i = 0;

	for (; criteria_order[i]; i++)
		if (!strcmp(criteria_order[i], c))
			break;
	return i;
}

/* One criterion (per tensor for update_ratio) over the seeds. */
struct agg_group {
	char *key; /* criterion, then '\x1f' and the tensor */
	const char *criterion;
	size_t rank, first; /* for the order */
	json_t **by_seed;   /* the seed's finding (borrowed), or NULL */
};

static int cmp_group(const void *a, const void *b)
{
	const struct agg_group *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static int is_sev(const json_t *f, const char *sev)
{
	const char *s = optreg_json_str(f, "severity");

	return s && !strcmp(s, sev);
}

static json_t *aggregate_one(const struct agg_group *g, const uint64_t *seeds,
			     size_t n)
{
	size_t showed = 0, fails = 0, errors = 0, rep = n, nsteps = 0;
	long *steps = optreg_xcalloc(n, sizeof(long));
	json_t *list = json_array(), *per = json_object();
	const char *kv = key_value(g->criterion);

	for (size_t i = 0; i < n; i++) {
		const json_t *f = g->by_seed[i];
		if (!f)
			continue;
		showed++;
		fails += is_sev(f, "fail");
		errors += is_sev(f, "error");
		json_array_append_new(list, json_integer((json_int_t)seeds[i]));
		const json_t *st = json_object_get(f, "step");
		if (json_is_integer(st))
			steps[nsteps++] = (long)json_integer_value(st);
		const json_t *val =
			kv ? json_object_get(json_object_get(f, "values"), kv)
			   : NULL;
		if (val) {
			char k[24];
			snprintf(k, sizeof(k), "%llu",
				 (unsigned long long)seeds[i]);
			json_object_set(per, k, (json_t *)val);
		}
	}
	/* The representative seed: the first error, else the first fail
	 * when there is one, else the first that showed it. */
	for (size_t i = 0; i < n && rep == n; i++)
		if (g->by_seed[i] && (errors  ? is_sev(g->by_seed[i], "error")
				      : fails ? is_sev(g->by_seed[i], "fail")
					      : 1))
			rep = i;

	const json_t *rf = g->by_seed[rep];
	const char *sev = errors		    ? "error"
			  : 2 * fails > n	    ? "fail"
			  : 2 * showed > n || fails ? "warn"
						    : NULL; /* minority */
	long step = 0;
	if (nsteps) {
		qsort(steps, nsteps, sizeof(long), cmp_long);
		step = steps[(nsteps - 1) / 2]; /* the lower middle */
	}
	free(steps);

	json_t *values = json_deep_copy(json_object_get(rf, "values"));
	if (!json_is_object(values)) {
		json_decref(values);
		values = json_object();
	}
	if (json_object_size(per) && n > 1)
		json_object_set(values, "per_seed", per);
	json_decref(per);

	const char *msg = optreg_json_str(rf, "message");
	const json_t *wl = json_object_get(rf, "workload");
	json_t *out;
	if (fails && 2 * fails <= n && !errors)
		out = optreg_finding_new(
			g->criterion, "warn",
			json_is_string(wl) ? json_string_value(wl) : NULL, step,
			values, "fails on %zu of %zu seeds (seed %llu): %s",
			fails, n, (unsigned long long)seeds[rep],
			msg ? msg : "");
	else
		out = optreg_finding_new(
			g->criterion,
			sev ? sev : optreg_json_str(rf, "severity"),
			json_is_string(wl) ? json_string_value(wl) : NULL, step,
			values, "%s", msg ? msg : "");
	json_object_set_new(
		out, "seeds",
		json_pack("{s:o, s:I}", "showed", list, "of", (json_int_t)n));
	if (!sev)
		json_object_set_new(out, "minority", json_true());
	return out;
}

void optreg_findings_aggregate(const uint64_t *seeds, size_t nseeds,
			       json_t *const *per_seed, json_t *counted,
			       json_t *minority)
{
	struct agg_group *g = NULL;
	size_t ng = 0, cap = 0, order = 0;

	for (size_t i = 0; i < nseeds; i++) {
		size_t k;
		json_t *f;
		json_array_foreach(per_seed[i], k, f)
		{
			const char *c = optreg_json_str(f, "criterion");
			const char *tensor = optreg_json_str(
				json_object_get(f, "values"), "tensor");
			char *key;
			size_t at;

			if (!c)
				continue;
			key = optreg_xasprintf("%s\x1f%s", c,
					       tensor ? tensor : "");
			for (at = 0; at < ng; at++)
				if (!strcmp(g[at].key, key))
					break;
			if (at == ng) {
				if (ng == cap) {
					cap = cap ? 2 * cap : 8;
					g = optreg_xrealloc(g,
							    cap * sizeof(*g));
				}
				g[ng].key = key;
				g[ng].criterion = c;
				g[ng].rank = criterion_rank(c);
				g[ng].first = order++;
				g[ng].by_seed = optreg_xcalloc(
					nseeds, sizeof(json_t *));
				ng++;
			} else {
				free(key);
			}
			/* One finding per criterion and seed: the first. */
			if (!g[at].by_seed[i])
				g[at].by_seed[i] = f;
		}
	}
	if (ng)
		qsort(g, ng, sizeof(*g), cmp_group);
	for (size_t i = 0; i < ng; i++) {
		json_t *f = aggregate_one(&g[i], seeds, nseeds);
		if (json_object_get(f, "minority")) {
			json_object_del(f, "minority");
			json_array_append_new(minority, f);
		} else {
			json_array_append_new(counted, f);
		}
		free(g[i].key);
		free(g[i].by_seed);
	}
	free(g);
}
