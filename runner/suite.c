/*
 * runner/suite.c: running a config through the reference suite into a
 * verdict (suite.h; the suite file is loaded by suite_doc.c).
 *
 * Selftest first, on the backend the workloads will use; then each
 * workload on each of the suite's seeds, with the config's warmup and then
 * its peak lr (suite_schedule below), judged per seed by the criteria of
 * runner/findings.c and added up by majority over the seeds. The CPU
 * backend runs OpenBLAS on one thread: the thread count changes the GEMM's
 * rounding, and a verdict must not depend on the machine's load.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/hash.h"
#include "../common/jsonutil.h"
#include "backend.h"
#include "device.h"
#include "findings.h"
#include "idx.h"
#include "selftest.h"
#include "suite_int.h"
#include "verdict.h"
#include "workloads.h"

#define SUITE_CPU_THREADS  1
#define SUITE_CURVE_POINTS 50

/*
 * The schedule every workload runs (docs/runner.md, "How a run works"):
 * the config's linear warmup in absolute steps, W' = min(W, warmup_cap),
 * then the peak lr held for the workload's peak_steps, with no decay. As an
 * optreg_schedule: constant, W' warmup steps, no total.
 */
static struct optreg_schedule suite_schedule(const struct optreg_suite *s,
					     const struct optreg_schedule *in)
{
	struct optreg_schedule out = {.kind = OPTREG_SCHEDULE_CONSTANT};

	out.warmup_steps = in->warmup_steps < s->warmup_cap ? in->warmup_steps
							    : s->warmup_cap;
	return out;
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

/* `f` (returned) with seeds {showed: every seed, of: n}, the shape of
 * an aggregated finding, for one that no seed's run produced. */
static json_t *on_all_seeds(json_t *f, const struct optreg_suite *s)
{
	json_t *list = json_array();

	for (size_t i = 0; i < s->nseeds; i++)
		json_array_append_new(list,
				      json_integer((json_int_t)s->seeds[i]));
	json_object_set_new(f, "seeds",
			    json_pack("{s:o, s:I}", "showed", list, "of",
				      (json_int_t)s->nseeds));
	return f;
}

/*
 * Selftest on `be`: 0 when the arithmetic agrees, else an `error` finding
 * in `findings` naming the first disagreement.
 */
static int suite_selftest(const struct optreg_suite *s,
			  struct optreg_backend *be, json_t *verdict,
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
		json_array_append_new(findings, on_all_seeds(f, s));
	}
	free(text);
	free(dir);
	return rc ? -1 : 0;
}

/* The precision a `precision: declared` workload runs in: the config's
 * metadata.labels.precision. Returns 0 and sets *p, or -1 when the config
 * declares none (or one the runner does not model). */
int optreg_suite_declared_precision(const struct optreg_config *cfg,
				    enum optreg_precision *p,
				    const char **label)
{
	static const char *const fp16[] = {"fp16", "float16", "half",
					   "torch.float16", NULL};
	static const char *const bf16[] = {"bf16", "bfloat16", "torch.bfloat16",
					   NULL};

	*label = NULL;
	for (size_t i = 0; i < cfg->nlabels; i++) {
		if (strcmp(cfg->labels[i].key, "precision"))
			continue;
		*label = cfg->labels[i].value;
		for (size_t k = 0; fp16[k]; k++)
			if (!strcasecmp(*label, fp16[k])) {
				*p = OPTREG_PRECISION_FP16;
				return 0;
			}
		for (size_t k = 0; bf16[k]; k++)
			if (!strcasecmp(*label, bf16[k])) {
				*p = OPTREG_PRECISION_BF16;
				return 0;
			}
	}
	return -1;
}

/* Checks the lm corpus against the suite's sha256. 0, or -1 with a
 * sentence in *why (malloc'd). */
int optreg_suite_corpus_check(const struct suite_workload *sw, char **why)
{
	const char *path = sw->lm.corpus ? sw->lm.corpus : OPTREG_LM_CORPUS;
	char hex[OPTREG_SHA256_HEX_LEN + 1];
	struct optreg_buf data = OPTREG_BUF_INIT;

	*why = NULL;
	if (!sw->lm_corpus_sha256)
		return 0;
	if (optreg_buf_read_file(&data, path)) {
		*why = optreg_xasprintf(
			"the corpus %s cannot be read (%s); expected sha256 "
			"%s, got none",
			path, strerror(errno), sw->lm_corpus_sha256);
		optreg_buf_release(&data);
		return -1;
	}
	optreg_sha256_hex(data.data, data.len, hex);
	optreg_buf_release(&data);
	if (!strcmp(hex, sw->lm_corpus_sha256))
		return 0;
	*why = optreg_xasprintf("the corpus %s has sha256 %s, but the suite "
				"expects %s: another text would give other "
				"numbers",
				path, hex, sw->lm_corpus_sha256);
	return -1;
}

/* The spec of one run of `sw` (everything but seed, steps, schedule). */
static struct optreg_workload_spec
workload_spec(const struct suite_workload *sw, const struct optreg_fmnist *fm)
{
	struct optreg_workload_spec spec = {
		.name = sw->problem,
		.batch = sw->batch,
		.fmnist = fm,
		.skip_eval = !sw->eval,
		.eval_rows = sw->eval_rows,
		.skip_sharpness = !sw->sharpness,
		.hidden = sw->hidden,
		.nhidden = sw->nhidden,
		.label_noise = sw->label_noise,
		.sparse_keep = sw->sparse_keep,
		.spike_steps = sw->spike_steps,
		.nspike = sw->nspike,
		.spike_factor = sw->spike_factor,
		.precision = sw->precision,
		.lm = sw->lm,
	};
	return spec;
}

/* Which param_groups entry got which tensors, from a run's result. */
json_t *optreg_suite_param_groups(const struct optreg_config *cfg,
				  const struct optreg_workload_result *res)
{
	json_t *groups = json_array();

	for (size_t g = 0; g <= cfg->ngroups; g++) {
		json_t *tensors = json_array();
		for (size_t k = 0; k < res->ntensors; k++)
			if (res->tensors[k].group == g)
				json_array_append_new(
					tensors,
					json_string(res->tensors[k].name));
		json_array_append_new(
			groups,
			json_pack("{s:I, s:o, s:o}", "group", (json_int_t)g,
				  "match",
				  g ? json_string(cfg->groups[g - 1].match)
				    : json_null(),
				  "tensors", tensors));
	}
	return groups;
}

/* A finished seed's last progress report (prog->fn's arguments). */
struct seed_report {
	char label[96];
	long steps_run;
	double loss;
	int ran;
};

/* Runs one workload of the suite on one seed and judges it against
 * base[si] (`base`: the workload's baseline at the chosen grid lr, one
 * entry per seed; NULL: none); the run's entry goes to `runs`, its
 * findings to `wf` (an array), its end to *rep. */
static void run_one_seed(const struct optreg_suite *s,
			 const struct suite_workload *sw,
			 const struct optreg_baseline_entry *base, size_t si,
			 const struct optreg_config *cfg,
			 const struct optreg_schedule *sched, long steps,
			 struct optreg_workload_spec spec,
			 const struct optreg_backend *be, struct progress *prog,
			 json_t *runs, json_t *wf, json_t **groups,
			 double *seconds, struct seed_report *rep)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_workload_result res;
	struct optreg_backend wrapped = *be;
	json_t *run = json_object();
	char label[96];
	int rc;

	spec.seed = s->seeds[si];
	spec.steps = steps;
	spec.schedule = sched;
	snprintf(label, sizeof(label), "%s seed %llu", sw->name,
		 (unsigned long long)s->seeds[si]);
	json_object_set_new(run, "seed", json_integer((json_int_t)spec.seed));
	memset(&res, 0, sizeof(res));
	if (prog->fn) {
		prog->workload = label;
		prog->steps = steps;
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
				"workload_error", "error", sw->name, 0, NULL,
				"workload %s could not run on "
				"seed %llu: %s",
				sw->name, (unsigned long long)spec.seed, why));
		free(why);
	} else {
		json_t *metrics = json_object();
		/* Findings name the suite's workload ("mlp_spike"), not the
		 * problem it runs ("fmnist_mlp"). */
		snprintf(res.workload, sizeof(res.workload), "%s", sw->name);
		rc = optreg_findings_judge(&res, &sw->th, sched->warmup_steps,
					   base ? &base[si] : NULL, metrics, wf,
					   &errs);
		if (rc) {
			char *why = errors_line(&errs, "judging");
			json_array_append_new(
				wf, optreg_finding_new("workload_error",
						       "error", sw->name, 0,
						       NULL, "%s", why));
			free(why);
		}
		json_object_set_new(run, "metrics", metrics);
		json_object_set_new(run, "loss_curve", loss_curve(&res));
		if (!*groups)
			*groups = optreg_suite_param_groups(cfg, &res);
		*seconds += res.seconds;
		const double *l =
			res.expected_loss ? res.expected_loss : res.loss;
		snprintf(rep->label, sizeof(rep->label), "%s", label);
		rep->steps_run = res.steps_run;
		rep->loss = res.steps_run ? l[res.steps_run - 1] : NAN;
		rep->ran = 1;
		if (prog->fn)
			prog->fn(prog->ctx, label, res.steps_run, steps,
				 rep->loss);
	}
	json_t *names = json_array();
	size_t i;
	json_t *f;
	json_array_foreach(wf, i, f) json_array_append_new(
		names, json_string(optreg_json_str(f, "criterion")));
	json_object_set_new(run, "result",
			    json_string(optreg_findings_result(wf)));
	json_object_set_new(run, "findings", names);
	/* "result" before "metrics", as in docs/runner.md. */
	json_t *ordered =
		json_pack("{s:O, s:O}", "seed", json_object_get(run, "seed"),
			  "result", json_object_get(run, "result"));
	json_object_update_missing(ordered, run);
	json_decref(run);
	json_array_append_new(runs, ordered);
	optreg_workload_result_release(&res);
	optreg_errors_release(&errs);
}

/* One seed on its own thread and backend instance (optreg_device_jobs). */
struct seed_task {
	const struct optreg_suite *s;
	const struct suite_workload *sw;
	const struct optreg_baseline_entry *base;
	size_t si;
	const struct optreg_config *cfg;
	const struct optreg_schedule *sched;
	long steps;
	struct optreg_workload_spec spec;
	const struct optreg_backend *be;
	struct progress prog; /* no fn: the caller reports the end */
	json_t *runs, *wf, *groups;
	double seconds;
	struct seed_report rep;
};

static void *seed_task_run(void *arg)
{
	struct seed_task *t = arg;

	run_one_seed(t->s, t->sw, t->base, t->si, t->cfg, t->sched, t->steps,
		     t->spec, t->be, &t->prog, t->runs, t->wf, &t->groups,
		     &t->seconds, &t->rep);
	return NULL;
}

/*
 * Every seed of a workload, `jobs` at a time on the backends `bes`, each
 * seed on a thread of its own. Nothing is shared between the seeds' runs
 * but read-only inputs (the suite, the config, the data set); each writes
 * its own results, merged here in seed order as one at a time would, so
 * the verdict is the same whatever `jobs` (the seeds' step progress is
 * not reported, only each seed's end).
 */
static void
run_seeds(const struct optreg_suite *s, const struct suite_workload *sw,
	  const struct optreg_baseline_entry *base,
	  const struct optreg_config *cfg, const struct optreg_schedule *sched,
	  long steps, struct optreg_workload_spec spec,
	  const struct optreg_backend *bes, size_t jobs, struct progress *prog,
	  json_t *runs, json_t **per_seed, json_t **groups, double *seconds)
{
	struct seed_task task[OPTREG_DEVICE_MAX_JOBS];
	pthread_t th[OPTREG_DEVICE_MAX_JOBS];
	int started[OPTREG_DEVICE_MAX_JOBS];

	for (size_t i0 = 0; i0 < s->nseeds; i0 += jobs) {
		size_t n = s->nseeds - i0 < jobs ? s->nseeds - i0 : jobs;
		for (size_t j = 0; j < n; j++) {
			struct seed_task *t = &task[j];
			memset(t, 0, sizeof(*t));
			per_seed[i0 + j] = json_array();
			t->s = s;
			t->sw = sw;
			t->base = base;
			t->si = i0 + j;
			t->cfg = cfg;
			t->sched = sched;
			t->steps = steps;
			t->spec = spec;
			t->be = &bes[j];
			t->prog.be = &bes[j];
			t->runs = json_array();
			t->wf = per_seed[i0 + j];
			/* A thread that cannot start runs here, after. */
			started[j] = pthread_create(&th[j], NULL, seed_task_run,
						    t) == 0;
		}
		for (size_t j = 0; j < n; j++) {
			struct seed_task *t = &task[j];
			if (started[j])
				pthread_join(th[j], NULL);
			else
				seed_task_run(t);
			json_array_extend(runs, t->runs);
			json_decref(t->runs);
			if (!*groups)
				*groups = t->groups;
			else
				json_decref(t->groups);
			*seconds += t->seconds;
			if (prog->fn && t->rep.ran)
				prog->fn(prog->ctx, t->rep.label,
					 t->rep.steps_run, steps, t->rep.loss);
		}
	}
}

/* Runs and judges one workload on every seed; appends its entry and its
 * counted findings. */
static void suite_workload_run(const struct optreg_suite *s,
			       const struct suite_workload *sw,
			       const struct optreg_config *cfg,
			       const struct optreg_backend *bes, size_t jobs,
			       const struct optreg_fmnist *fm,
			       const struct optreg_errors *fm_errs,
			       struct progress *prog, json_t *workloads,
			       json_t *findings, json_t *times)
{
	struct optreg_schedule sched = suite_schedule(s, &cfg->schedule);
	long steps = sched.warmup_steps + sw->peak_steps;
	struct optreg_workload_spec spec = workload_spec(sw, fm);
	/* Spikes land at their step of the peak phase, whatever the warmup. */
	long *spikes =
		optreg_xcalloc(sw->nspike ? sw->nspike : 1, sizeof(*spikes));
	json_t *entry = json_object(), *counted = json_array();
	json_t *minority = json_array(), *runs = json_array();
	json_t *groups = NULL;
	json_t **per_seed = optreg_xcalloc(s->nseeds, sizeof(json_t *));
	const char *skipped = NULL, *label = NULL;
	const struct optreg_baseline_entry *base = NULL;
	char *skip_why = NULL, *why = NULL;
	double seconds = 0;

	for (size_t k = 0; k < sw->nspike; k++)
		spikes[k] = sched.warmup_steps + sw->spike_steps[k];
	spec.spike_steps = spikes;
	json_object_set_new(entry, "name", json_string(sw->name));
	json_object_set_new(entry, "problem", json_string(sw->problem));
	json_object_set_new(entry, "variant", json_deep_copy(sw->variant));
	json_object_set_new(entry, "steps", json_integer(steps));
	json_object_set_new(entry, "peak_steps", json_integer(sw->peak_steps));
	json_object_set_new(entry, "batch", json_integer(sw->batch));
	json_object_set_new(entry, "schedule",
			    json_pack("{s:s, s:I, s:o, s:I}", "kind",
				      "constant", "warmup_steps",
				      (json_int_t)sched.warmup_steps, "peak_lr",
				      optreg_json_number(cfg->lr),
				      "config_warmup_steps",
				      (json_int_t)cfg->schedule.warmup_steps));
	if (s->has_baseline) {
		/* The Adam defaults at the grid lr nearest the config's own
		 * from below (the smallest when it is below them all). */
		size_t g = optreg_suite_baseline_pick(s->base_lrs, s->nbase,
						      cfg->lr);
		base = &sw->base[g * s->nseeds];
		json_object_set_new(entry, "baseline_lr",
				    optreg_json_number(s->base_lrs[g]));
	}
	json_object_set_new(entry, "result", json_string("error"));

	if (sw->precision_declared &&
	    optreg_suite_declared_precision(cfg, &spec.precision, &label)) {
		skip_why = label ? optreg_xasprintf(
					   "the config declares precision "
					   "\"%s\" in metadata.labels, which "
					   "is neither fp16 nor bf16",
					   label)
				 : optreg_xstrdup("the config declares no "
						  "precision (metadata.labels."
						  "precision fp16 or bf16)");
		skipped = skip_why;
	} else if (!strncmp(sw->problem, "fmnist_", 7) && !fm) {
		/* Fashion-MNIST could not be loaded once for the suite. */
		char *e = errors_line(fm_errs, "loading Fashion-MNIST");
		json_array_append_new(
			counted, on_all_seeds(optreg_finding_new(
						      "workload_error", "error",
						      sw->name, 0, NULL,
						      "workload %s could not "
						      "run: %s",
						      sw->name, e),
					      s));
		free(e);
	} else if (optreg_suite_corpus_check(sw, &why)) {
		json_array_append_new(
			counted,
			on_all_seeds(
				optreg_finding_new(
					"workload_error", "error", sw->name, 0,
					json_pack("{s:s, s:s}", "file",
						  sw->lm.corpus
							  ? sw->lm.corpus
							  : OPTREG_LM_CORPUS,
						  "expected_sha256",
						  sw->lm_corpus_sha256),
					"workload %s could not run: %s",
					sw->name, why),
				s));
	} else {
		if (jobs > 1) {
			run_seeds(s, sw, base, cfg, &sched, steps, spec, bes,
				  jobs, prog, runs, per_seed, &groups,
				  &seconds);
		} else {
			for (size_t i = 0; i < s->nseeds; i++) {
				struct seed_report rep = {.ran = 0};
				per_seed[i] = json_array();
				run_one_seed(s, sw, base, i, cfg, &sched, steps,
					     spec, bes, prog, runs, per_seed[i],
					     &groups, &seconds, &rep);
			}
		}
		optreg_findings_aggregate(s->seeds, s->nseeds, per_seed,
					  counted, minority);
		json_object_set_new(times, sw->name,
				    optreg_json_number(seconds));
	}
	free(why);

	if (skipped) {
		json_object_set_new(entry, "result", json_string("skipped"));
		json_object_set_new(entry, "skipped", json_string(skipped));
	} else {
		json_object_set_new(
			entry, "result",
			json_string(optreg_findings_result(counted)));
	}
	json_object_set_new(entry, "param_groups",
			    groups ? groups : json_array());
	json_object_set_new(entry, "runs", runs);
	json_object_set_new(entry, "minority", minority);
	json_array_extend(findings, counted);
	json_decref(counted);
	for (size_t i = 0; i < s->nseeds; i++)
		json_decref(per_seed[i]);
	free(per_seed);
	free(spikes);
	free(skip_why);
	json_array_append_new(workloads, entry);
}

/* The Fashion-MNIST data when a workload needs it: 1 loaded, 0 not. */
static int load_fmnist_if_needed(const struct optreg_suite *s, const char *only,
				 struct optreg_fmnist *fm,
				 struct optreg_errors *fm_errs)
{
	int need = 0;

	for (size_t i = 0; i < s->nw; i++)
		need |= (!only || !strcmp(only, s->w[i].name)) &&
			!strncmp(s->w[i].problem, "fmnist_", 7);
	return need && !optreg_fmnist_load(NULL, fm, fm_errs);
}

int optreg_suite_run(const struct optreg_suite *s,
		     const struct optreg_config *cfg, const char *config_digest,
		     optreg_progress_fn progress, void *ctx, json_t **verdict,
		     struct optreg_errors *errs)
{
	return optreg_suite_run_on(s, NULL, cfg, config_digest, progress, ctx,
				   verdict, errs);
}

int optreg_suite_run_on(const struct optreg_suite *s,
			const struct optreg_device *dev,
			const struct optreg_config *cfg,
			const char *config_digest, optreg_progress_fn progress,
			void *ctx, json_t **verdict, struct optreg_errors *errs)
{
	struct optreg_errors fm_errs = OPTREG_ERRORS_INIT;
	struct optreg_fmnist fm;
	struct optreg_backend bes[OPTREG_DEVICE_MAX_JOBS], be;
	struct progress prog = {.fn = progress, .ctx = ctx, .be = &be};
	size_t jobs = (size_t)optreg_device_jobs(dev, s->nseeds);
	json_t *v, *findings, *workloads, *times, *seeds;
	char started[OPTREG_CLOCK_TS_SIZE];
	double t0 = optreg_clock_monotonic();
	int have_fmnist = 0, rc;

	*verdict = NULL;
	optreg_clock_now_s(started);
	rc = optreg_device_backend_init(dev, &be, SUITE_CPU_THREADS, errs);
	if (rc)
		return rc;
	/* One more instance per extra seed at once; fewer seeds at once if
	 * one does not start (the first did, so the run can go on). */
	bes[0] = be;
	for (size_t j = 1; j < jobs; j++) {
		struct optreg_errors more = OPTREG_ERRORS_INIT;
		if (optreg_device_backend_init(dev, &bes[j], SUITE_CPU_THREADS,
					       &more)) {
			fprintf(stderr,
				"optreg-runner: %zu seeds at once, not %zu: "
				"another %s backend did not start\n",
				j, jobs, be.name);
			jobs = j;
		}
		optreg_errors_release(&more);
	}

	v = optreg_verdict_new(config_digest, s->name, s->digest, be.device);
	/* After the head: which backend, and for cuda the device. */
	json_object_set_new(v, "backend", json_string(be.name));
	json_t *gpu =
		!strcmp(be.name, "cuda") ? optreg_device_gpu_json(dev) : NULL;
	if (gpu)
		json_object_set_new(v, "gpu", gpu);
	findings = json_array();
	workloads = json_array();
	times = json_object();
	seeds = json_array();
	for (size_t i = 0; i < s->nseeds; i++)
		json_array_append_new(seeds,
				      json_integer((json_int_t)s->seeds[i]));
	/* "selftest" first, then "seeds", as docs/runner.md shows them. */
	int selftest_ok = suite_selftest(s, &be, v, findings) == 0;
	json_object_set_new(v, "seeds", seeds);
	if (selftest_ok) {
		have_fmnist = load_fmnist_if_needed(s, NULL, &fm, &fm_errs);
		for (size_t i = 0; i < s->nw; i++)
			suite_workload_run(s, &s->w[i], cfg, bes, jobs,
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
	for (size_t j = 0; j < jobs; j++)
		bes[j].destroy(&bes[j]);
	optreg_errors_release(&fm_errs);
	*verdict = v;
	return 0;
}

/* ------------------------------------------------------------------------
 * The baseline: the Adam defaults on every workload and seed, at each lr
 * of a grid.
 */

size_t optreg_suite_baseline_pick(const double *lrs, size_t n, double lr)
{
	size_t g = 0;

	for (size_t i = 1; i < n; i++)
		if (lrs[i] <= lr)
			g = i;
	return g;
}

void optreg_suite_baseline_config(struct optreg_config *cfg, double lr)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->optimizer = OPTREG_ADAM;
	cfg->lr = lr;
	cfg->beta1 = 0.9;
	cfg->beta2 = 0.999;
	cfg->eps = 1e-8;
	cfg->schedule.kind = OPTREG_SCHEDULE_CONSTANT;
}

/* One grid point: {workload: {"seed": {...}}} into *out. */
static int baseline_point(const struct optreg_suite *s, const char *only,
			  double lr, const struct optreg_backend *be,
			  const struct optreg_fmnist *fm,
			  const struct optreg_errors *fm_errs,
			  struct progress *prog, json_t *all,
			  struct optreg_errors *errs)
{
	struct optreg_schedule sched = {.kind = OPTREG_SCHEDULE_CONSTANT};
	struct optreg_config cfg;
	int rc = 0;

	optreg_suite_baseline_config(&cfg, lr);
	for (size_t i = 0; i < s->nw && !rc; i++) {
		const struct suite_workload *sw = &s->w[i];
		json_t *per = json_object();
		if (only && strcmp(only, sw->name)) {
			json_decref(per);
			continue;
		}
		if (!strncmp(sw->problem, "fmnist_", 7) && !fm) {
			for (size_t k = 0; k < fm_errs->len; k++)
				optreg_errors_add(errs, fm_errs->items[k].code,
						  fm_errs->items[k].rule,
						  fm_errs->items[k].path, "%s",
						  fm_errs->items[k].message);
			json_decref(per);
			return OPTREG_EIO;
		}
		char *why = NULL;
		if (optreg_suite_corpus_check(sw, &why)) {
			/* A baseline of another text would hold configs to
			 * other numbers. */
			optreg_error_set_hint(
				optreg_errors_add(errs, OPTREG_EIO, "corpus",
						  "",
						  "workload %s cannot run: %s",
						  sw->name, why),
				"restore the corpus, or (for a new text) "
				"update corpus_sha256 and regenerate the "
				"whole baseline");
			free(why);
			json_decref(per);
			return OPTREG_EIO;
		}
		for (size_t k = 0; k < s->nseeds && !rc; k++) {
			struct optreg_workload_spec spec =
				workload_spec(sw, fm);
			struct optreg_workload_result res;
			struct optreg_backend wrapped = *be;
			char label[128], key[24];

			spec.precision = OPTREG_PRECISION_FP32;
			spec.seed = s->seeds[k];
			spec.steps = sw->peak_steps;
			spec.schedule = &sched;
			snprintf(label, sizeof(label), "%s seed %llu lr %g",
				 sw->name, (unsigned long long)spec.seed, lr);
			if (prog->fn) {
				prog->workload = label;
				prog->steps = spec.steps;
				prog->loss = NAN;
				wrapped.adam_step = progress_adam_step;
				wrapped.softmax_xent = progress_softmax_xent;
				progress_now = prog;
			}
			memset(&res, 0, sizeof(res));
			rc = optreg_workload_run(&spec, &cfg, &wrapped, &res,
						 errs);
			progress_now = NULL;
			if (!rc) {
				json_t *e = json_object();
				json_object_set_new(
					e, "final_loss",
					optreg_json_number(optreg_findings_final_loss(
						&res,
						sw->th.final_window_fraction)));
				if (res.has_test) {
					json_object_set_new(
						e, "test_loss",
						optreg_json_number(
							res.test_loss));
					json_object_set_new(
						e, "test_accuracy",
						optreg_json_number(
							res.test_accuracy));
				}
				snprintf(key, sizeof(key), "%llu",
					 (unsigned long long)spec.seed);
				json_object_set_new(per, key, e);
				if (prog->fn)
					prog->fn(prog->ctx, label,
						 res.steps_run, spec.steps,
						 NAN);
			}
			optreg_workload_result_release(&res);
		}
		json_object_set_new(all, sw->name, per);
	}
	return rc;
}

int optreg_suite_baseline(const struct optreg_suite *s, const char *only,
			  const double *lrs, size_t nlrs,
			  optreg_progress_fn progress, void *ctx, json_t **out,
			  struct optreg_errors *errs)
{
	static const double top = 1e-3;
	struct optreg_errors fm_errs = OPTREG_ERRORS_INIT;
	struct optreg_fmnist fm;
	struct optreg_backend be;
	struct progress prog = {.fn = progress, .ctx = ctx, .be = &be};
	int have_fmnist, rc = 0, found = 0;
	json_t *grid;

	*out = NULL;
	for (size_t i = 0; i < s->nw; i++)
		found |= !only || !strcmp(only, s->w[i].name);
	if (!found) {
		optreg_errors_add(
			errs, OPTREG_EINVAL, "unknown_workload", "--workload",
			"the suite has no workload named \"%s\"", only);
		return OPTREG_EINVAL;
	}
	if (!nlrs) {
		/* The suite file's own grid, else the defaults' 1e-3. */
		lrs = s->nbase ? s->base_lrs : &top;
		nlrs = s->nbase ? s->nbase : 1;
	}
	for (size_t g = 0; g < nlrs; g++)
		if (!(isfinite(lrs[g]) && lrs[g] > 0) ||
		    (g && !(lrs[g] > lrs[g - 1]))) {
			optreg_errors_add(
				errs, OPTREG_EINVAL, "order", "--lrs",
				"the grid's learning rates must be above 0 "
				"and strictly ascending (got %g after %g)",
				lrs[g], g ? lrs[g - 1] : 0.0);
			return OPTREG_EINVAL;
		}
	rc = optreg_cpu_backend_init(&be, SUITE_CPU_THREADS, errs);
	if (rc)
		return rc;
	have_fmnist = load_fmnist_if_needed(s, only, &fm, &fm_errs);
	grid = json_array();
	for (size_t g = 0; g < nlrs && !rc; g++) {
		json_t *all = json_object();
		rc = baseline_point(s, only, lrs[g], &be,
				    have_fmnist ? &fm : NULL, &fm_errs, &prog,
				    all, errs);
		json_array_append_new(grid,
				      json_pack("{s:o, s:o}", "lr",
						optreg_json_number(lrs[g]),
						"workloads", all));
	}
	if (have_fmnist)
		optreg_fmnist_release(&fm);
	be.destroy(&be);
	optreg_errors_release(&fm_errs);
	if (rc) {
		json_decref(grid);
		return rc;
	}
	*out = grid;
	return 0;
}
