/*
 * runner/suite.c: running a config through the reference suite into a
 * verdict (suite.h; the suite file is loaded by suite_doc.c).
 *
 * Selftest first, on the backend the workloads will use; then each
 * workload with the config's schedule compressed to the workload's steps
 * (suite_schedule below), then the criteria of runner/findings.c. The CPU
 * backend runs OpenBLAS on one thread: the thread count changes the GEMM's
 * rounding, and a verdict must not depend on the machine's load.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "backend.h"
#include "findings.h"
#include "idx.h"
#include "selftest.h"
#include "suite_int.h"
#include "verdict.h"
#include "workloads.h"

#define SUITE_CPU_THREADS  1
#define SUITE_CURVE_POINTS 50

/*
 * The config's schedule on a workload of `steps` steps. A config describes
 * a run of total_steps T; the suite runs far fewer, so the schedule is
 * scaled to keep its shape: T' = steps, W' = round(W * steps / T), at
 * least 1 when W > 0. Without T (constant and inverse_sqrt may leave it
 * out) there is no length to scale by: W stays as written, capped at
 * warmup_cap_fraction of the steps so that most of the run is at the
 * config's peak learning rate, where it is judged. min_lr stays.
 */
static struct optreg_schedule suite_schedule(const struct optreg_suite *s,
					     const struct optreg_schedule *in,
					     long steps)
{
	struct optreg_schedule out = *in;

	if (in->total_steps > 0) {
		double w = (double)in->warmup_steps * (double)steps /
			   (double)in->total_steps;
		out.total_steps = steps;
		out.warmup_steps = (long)floor(w + 0.5);
		if (in->warmup_steps > 0 && out.warmup_steps < 1)
			out.warmup_steps = 1;
	} else {
		long cap = (long)floor(s->warmup_cap_fraction * (double)steps);
		if (out.warmup_steps > cap)
			out.warmup_steps = cap;
	}
	return out;
}

static const char *schedule_kind_name(enum optreg_schedule_kind k)
{
	switch (k) {
	case OPTREG_SCHEDULE_CONSTANT:
		return "constant";
	case OPTREG_SCHEDULE_LINEAR:
		return "linear";
	case OPTREG_SCHEDULE_COSINE:
		return "cosine";
	case OPTREG_SCHEDULE_INVERSE_SQRT:
		return "inverse_sqrt";
	}
	return "constant";
}

/*
 * Per-step progress. optreg_workload_run has no step callback, so the run
 * goes through a copy of the backend whose adam_step (once per optimizer
 * step) and softmax_xent (the training loss of the fmnist_* batches) report
 * to the caller's function before returning the real backend's answer. The
 * state is per thread: one suite run at a time per thread.
 */
struct progress {
	const struct optreg_backend *be;
	optreg_progress_fn fn;
	void *ctx;
	const char *workload;
	long steps;
	double loss; /* the last training batch's, NAN when unknown */
};

static _Thread_local struct progress *progress_now;

static int progress_softmax_xent(void *ctx, const float *logits,
				 const float *labels, size_t rows,
				 size_t classes, float *dlogits,
				 double *loss_sum, size_t *correct)
{
	struct progress *p = progress_now;
	int rc = p->be->softmax_xent(ctx, logits, labels, rows, classes,
				     dlogits, loss_sum, correct);

	if (!rc && dlogits && rows)
		p->loss = *loss_sum / (double)rows;
	return rc;
}

static int progress_adam_step(void *ctx, const struct optreg_adam_step *st,
			      struct optreg_adam_step_out *out)
{
	struct progress *p = progress_now;
	int rc = p->be->adam_step(ctx, st, out);

	if (!rc)
		p->fn(p->ctx, p->workload, st->step, p->steps, p->loss);
	return rc;
}

/* The judged loss at <= SUITE_CURVE_POINTS points: step 1, then the means
 * of equal runs of the remaining steps, each at its last step. */
static json_t *loss_curve(const struct optreg_workload_result *res)
{
	const double *loss =
		res->expected_loss ? res->expected_loss : res->loss;
	long n = res->steps_run, buckets = SUITE_CURVE_POINTS - 1;
	json_t *curve = json_array();

	if (n < 1)
		return curve;
	json_array_append_new(curve, json_pack("[I, o]", (json_int_t)1,
					       optreg_json_number(loss[0])));
	if (n - 1 < buckets)
		buckets = n - 1;
	for (long b = 0; b < buckets; b++) {
		long from = 2 + b * (n - 1) / buckets;
		long to = 1 + (b + 1) * (n - 1) / buckets;
		double sum = 0;
		for (long t = from; t <= to; t++)
			sum += loss[t - 1];
		json_array_append_new(
			curve,
			json_pack("[I, o]", (json_int_t)to,
				  optreg_json_number(sum /
						     (double)(to - from + 1))));
	}
	return curve;
}

/* The first line of `errs` as one string, for a finding. malloc'd. */
static char *errors_line(const struct optreg_errors *errs, const char *what)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	if (!errs->len)
		return optreg_xasprintf("%s failed", what);
	optreg_errors_format(errs, NULL, &b);
	/* Keep the whole report, one line per error, minus the last '\n'. */
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return optreg_buf_detach(&b, NULL);
}

/*
 * Selftest on `be`: 0 when the arithmetic agrees, else an `error` finding
 * in `findings` naming the first disagreement.
 */
static int suite_selftest(struct optreg_backend *be, json_t *verdict,
			  json_t *findings)
{
	char *dir = optreg_selftest_default_dir();
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int passed = 0, failed = 0, rc = OPTREG_ENOMEM;

	if (mem) {
		rc = optreg_selftest_run_on(be, dir, mem, &passed, &failed);
		fclose(mem);
	}
	json_object_set_new(
		verdict, "selftest",
		json_pack("{s:i, s:i}", "passed", passed, "failed", failed));
	if (rc) {
		/* The first FAIL line says what disagreed, or what could not
		 * be read. */
		const char *why = text ? strstr(text, "FAIL ") : NULL;
		int wl = why ? (int)strcspn(why + 5, "\n") : 0;
		json_t *values = json_pack("{s:i, s:i, s:s}", "passed", passed,
					   "failed", failed, "golden", dir);
		json_t *f;
		if (passed + failed == 0)
			f = optreg_finding_new(
				"selftest", "error", NULL, 0, values,
				"cannot check the runner's Adam arithmetic: "
				"%.*s%s; it refuses to judge",
				wl, why ? why + 5 : "",
				why ? "" : "no golden traces found");
		else
			f = optreg_finding_new(
				"selftest", "error", NULL, 0, values,
				"the runner's Adam arithmetic does not match "
				"PyTorch's golden traces (%d of %d cases "
				"failed; first: %.*s); it refuses to judge",
				failed, passed + failed, wl,
				why ? why + 5 : "");
		json_array_append_new(findings, f);
	}
	free(text);
	free(dir);
	return rc ? -1 : 0;
}

/* Runs and judges one workload; appends its entry and findings. */
static void suite_workload_run(const struct optreg_suite *s,
			       const struct suite_workload *sw,
			       const struct optreg_config *cfg,
			       const struct optreg_backend *be,
			       const struct optreg_fmnist *fm,
			       const struct optreg_errors *fm_errs,
			       struct progress *prog, json_t *workloads,
			       json_t *findings, json_t *times)
{
	struct optreg_schedule sched =
		suite_schedule(s, &cfg->schedule, sw->steps);
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_workload_result res;
	struct optreg_workload_spec spec = {
		.name = sw->name,
		.steps = sw->steps,
		.batch = sw->batch,
		.seed = sw->seed,
		.schedule = &sched,
		.fmnist = fm,
		.skip_eval = !sw->eval,
		.eval_rows = sw->eval_rows,
		.skip_sharpness = !sw->sharpness,
	};
	struct optreg_backend wrapped = *be;
	json_t *entry = json_object(), *wf = json_array();
	int rc;

	json_object_set_new(entry, "name", json_string(sw->name));
	json_object_set_new(entry, "steps", json_integer(sw->steps));
	json_object_set_new(entry, "batch", json_integer(sw->batch));
	json_object_set_new(entry, "seed", json_integer((json_int_t)sw->seed));
	json_object_set_new(
		entry, "schedule",
		json_pack("{s:s, s:I, s:I}", "kind",
			  schedule_kind_name(sched.kind), "warmup_steps",
			  (json_int_t)sched.warmup_steps, "total_steps",
			  (json_int_t)sched.total_steps));
	json_object_set_new(entry, "result", json_string("error"));

	memset(&res, 0, sizeof(res));
	if (!strncmp(sw->name, "fmnist_", 7) && !fm) {
		/* Fashion-MNIST could not be loaded once for the suite. */
		char *why = errors_line(fm_errs, "loading Fashion-MNIST");
		json_array_append_new(
			wf, optreg_finding_new("workload_error", "error",
					       sw->name, 0, NULL,
					       "workload %s could not run: %s",
					       sw->name, why));
		free(why);
		rc = -1;
	} else {
		if (prog->fn) {
			prog->workload = sw->name;
			prog->steps = sw->steps;
			prog->loss = NAN;
			wrapped.adam_step = progress_adam_step;
			wrapped.softmax_xent = progress_softmax_xent;
			progress_now = prog;
		}
		rc = optreg_workload_run(&spec, cfg, &wrapped, &res, &errs);
		progress_now = NULL;
		if (rc) {
			char *why = errors_line(&errs, "the workload");
			json_array_append_new(
				wf,
				optreg_finding_new(
					"workload_error", "error", sw->name, 0,
					NULL, "workload %s could not run: %s",
					sw->name, why));
			free(why);
		}
	}

	if (!rc) {
		json_t *metrics = json_object();
		rc = optreg_findings_judge(&res, &sw->th, sched.warmup_steps,
					   metrics, wf, &errs);
		if (rc) {
			char *why = errors_line(&errs, "judging");
			json_array_append_new(
				wf, optreg_finding_new("workload_error",
						       "error", sw->name, 0,
						       NULL, "%s", why));
			free(why);
		}
		json_object_set_new(entry, "metrics", metrics);
		json_object_set_new(entry, "loss_curve", loss_curve(&res));
		json_object_set_new(times, sw->name,
				    optreg_json_number(res.seconds));
		if (prog->fn) {
			const double *l = res.expected_loss ? res.expected_loss
							    : res.loss;
			prog->fn(prog->ctx, sw->name, res.steps_run, sw->steps,
				 res.steps_run ? l[res.steps_run - 1] : NAN);
		}
	}
	json_object_set_new(entry, "result",
			    json_string(optreg_findings_result(wf)));
	json_array_extend(findings, wf);
	json_decref(wf);
	json_array_append_new(workloads, entry);
	optreg_workload_result_release(&res);
	optreg_errors_release(&errs);
}

int optreg_suite_run(const struct optreg_suite *s,
		     const struct optreg_config *cfg, const char *config_digest,
		     optreg_progress_fn progress, void *ctx, json_t **verdict,
		     struct optreg_errors *errs)
{
	struct optreg_errors fm_errs = OPTREG_ERRORS_INIT;
	struct optreg_fmnist fm;
	struct optreg_backend be;
	struct progress prog = {.fn = progress, .ctx = ctx, .be = &be};
	json_t *v, *findings, *workloads, *times;
	char started[OPTREG_CLOCK_TS_SIZE];
	double t0 = optreg_clock_monotonic();
	int need_fmnist = 0, have_fmnist = 0, rc;

	*verdict = NULL;
	optreg_clock_now_s(started);
	rc = optreg_cpu_backend_init(&be, SUITE_CPU_THREADS, errs);
	if (rc)
		return rc;

	v = optreg_verdict_new(config_digest, s->name, s->digest, be.device);
	findings = json_array();
	workloads = json_array();
	times = json_object();

	if (suite_selftest(&be, v, findings) == 0) {
		for (size_t i = 0; i < s->nw; i++)
			need_fmnist |= !strncmp(s->w[i].name, "fmnist_", 7);
		if (need_fmnist)
			have_fmnist = !optreg_fmnist_load(NULL, &fm, &fm_errs);
		for (size_t i = 0; i < s->nw; i++)
			suite_workload_run(s, &s->w[i], cfg, &be,
					   have_fmnist ? &fm : NULL, &fm_errs,
					   &prog, workloads, findings, times);
		if (have_fmnist)
			optreg_fmnist_release(&fm);
	}

	json_object_set_new(v, "result",
			    json_string(optreg_findings_result(findings)));
	json_object_set_new(v, "workloads", workloads);
	json_object_set_new(v, "findings", findings);
	json_object_set_new(
		v, "time",
		json_pack("{s:s, s:o, s:o}", "started_at", started, "seconds",
			  optreg_json_number(optreg_clock_monotonic() - t0),
			  "train_seconds", times));
	be.destroy(&be);
	optreg_errors_release(&fm_errs);
	*verdict = v;
	return 0;
}
