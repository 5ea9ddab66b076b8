/*
 * runner/workloads.c: the workload driver (workloads.h): param groups, the
 * flat parameter and optimizer buffers, the training loop, and the
 * per-step records a stability check reads.
 */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "philox.h"
#include "workloads_int.h"

const char *const optreg_workload_names[] = {
	"quadratic_deep", "rosenbrock", "beale", "fmnist_logreg",
	"fmnist_mlp",	  "lm",		NULL,
};

static const struct wl_problem *const wl_problems[] = {
	&wl_quadratic_deep, &wl_rosenbrock, &wl_beale,
	&wl_fmnist_logreg,  &wl_fmnist_mlp, &wl_lm,
};

const char *optreg_nonfinite_name(enum optreg_nonfinite what)
{
	switch (what) {
	case OPTREG_NONFINITE_NONE:
		return "none";
	case OPTREG_NONFINITE_LOSS:
		return "loss";
	case OPTREG_NONFINITE_GRAD_NORM:
		return "grad_norm";
	case OPTREG_NONFINITE_PARAM:
		return "param";
	case OPTREG_NONFINITE_MOMENT:
		return "moment";
	}
	return "unknown";
}

size_t wl_tensor_add(struct wl_run *w, const char *name, size_t n)
{
	struct optreg_workload_result *res = w->res;
	size_t k = w->ntensors++;

	OPTREG_ALLOC_GROW(w->tensors, w->ntensors, w->tensors_alloc);
	OPTREG_ALLOC_GROW(res->tensors, w->ntensors, w->res_tensors_alloc);
	res->ntensors = w->ntensors;
	memset(&w->tensors[k], 0, sizeof(w->tensors[k]));
	memset(&res->tensors[k], 0, sizeof(res->tensors[k]));
	w->tensors[k].offset = w->nparams;
	w->tensors[k].n = n;
	assert(strlen(name) < sizeof(res->tensors[k].name));
	snprintf(res->tensors[k].name, sizeof(res->tensors[k].name), "%s",
		 name);
	res->tensors[k].numel = n;
	w->nparams += n;
	res->nparams = w->nparams;
	return k;
}

int wl_alloc(struct wl_run *w, size_t n, float **out)
{
	return w->be->alloc(w->be->ctx, n, out);
}

double wl_normal(uint64_t key, uint32_t stream, uint64_t i)
{
	double z[2];

	optreg_philox_normal2(key, stream, i / 2, z);
	return z[i % 2];
}

double wl_uniform(uint64_t key, uint32_t stream, uint64_t i)
{
	uint32_t w[4];

	optreg_philox_draw(key, stream, i, w);
	return optreg_philox_u01(w[0], w[1]);
}

static const struct wl_problem *wl_problem_find(const char *name)
{
	for (size_t i = 0; i < sizeof(wl_problems) / sizeof(wl_problems[0]);
	     i++)
		if (name && strcmp(name, wl_problems[i]->name) == 0)
			return wl_problems[i];
	return NULL;
}

/*
 * Group 0 holds the config's own settings; group i + 1 the config's
 * param_groups[i] laid over them. Each tensor takes the first group whose
 * pattern matches its name.
 */
static int wl_groups_build(struct wl_run *w, struct optreg_errors *errs)
{
	const struct optreg_config *cfg = w->cfg;
	struct optreg_adam_hparams base = {
		.lr = cfg->lr,
		.beta1 = cfg->beta1,
		.beta2 = cfg->beta2,
		.eps = cfg->eps,
		.weight_decay = cfg->weight_decay,
		.adamw = cfg->optimizer == OPTREG_ADAMW,
		.amsgrad = cfg->amsgrad,
		.maximize = cfg->maximize,
	};
	int rc = 0;

	w->ngroups = 1 + cfg->ngroups;
	w->groups = optreg_xcalloc(w->ngroups, sizeof(*w->groups));
	w->groups[0].h = base;
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const struct optreg_param_group *pg = &cfg->groups[i];
		struct optreg_adam_hparams h = base;
		if (pg->has_lr)
			h.lr = pg->lr;
		if (pg->has_betas) {
			h.beta1 = pg->beta1;
			h.beta2 = pg->beta2;
		}
		if (pg->has_eps)
			h.eps = pg->eps;
		if (pg->has_weight_decay)
			h.weight_decay = pg->weight_decay;
		w->groups[i + 1].h = h;
	}

	for (size_t k = 0; k < w->ntensors; k++)
		w->tensors[k].group = 0;
	for (size_t i = cfg->ngroups; i-- > 0;) {
		/* Walk the groups last to first so the first match wins. */
		regex_t re;
		int rerr = regcomp(&re, cfg->groups[i].match,
				   REG_EXTENDED | REG_NOSUB);
		if (rerr) {
			char what[128];
			char *path = optreg_xasprintf(
				"spec.param_groups[%zu].match", i);
			regerror(rerr, &re, what, sizeof(what));
			if (errs)
				optreg_errors_add(
					errs, OPTREG_EINVAL, "regex", path,
					"must be a POSIX extended regular "
					"expression (%s)",
					what);
			free(path);
			rc = OPTREG_EINVAL;
			continue;
		}
		for (size_t k = 0; k < w->ntensors; k++)
			if (regexec(&re, w->res->tensors[k].name, 0, NULL, 0) ==
			    0)
				w->tensors[k].group = i + 1;
		regfree(&re);
	}
	for (size_t k = 0; k < w->ntensors; k++) {
		w->res->tensors[k].group = w->tensors[k].group;
		w->res->tensors[k].hparams = w->groups[w->tensors[k].group].h;
	}
	return rc;
}

/* Appends a "range" error at `path` for workload `spec` and returns
 * OPTREG_EINVAL. */
static int wl_variant_error(const struct optreg_workload_spec *spec,
			    struct optreg_errors *errs, const char *path,
			    const char *what, const char *hint)
{
	if (errs) {
		struct optreg_error *e =
			optreg_errors_add(errs, OPTREG_EINVAL, "range", path,
					  "workload %s: %s", spec->name, what);
		if (hint)
			optreg_error_set_hint(e, "%s", hint);
	}
	return OPTREG_EINVAL;
}

/* The problem options of the stress and precision variants. */
static int wl_variant_check(const struct optreg_workload_spec *spec,
			    struct optreg_errors *errs)
{
	int fmnist = strncmp(spec->name, "fmnist_", 7) == 0;
	char path[48], what[200];

	if (spec->nhidden > 0) {
		if (strcmp(spec->name, "fmnist_mlp") != 0)
			return wl_variant_error(
				spec, errs, "hidden",
				"hidden widths apply to fmnist_mlp only",
				"Drop `hidden` from this workload.");
		if (spec->nhidden > OPTREG_WORKLOAD_MAX_HIDDEN ||
		    !spec->hidden) {
			snprintf(what, sizeof(what),
				 "hidden must list 1 to %d layer widths (got "
				 "%zu)",
				 OPTREG_WORKLOAD_MAX_HIDDEN, spec->nhidden);
			return wl_variant_error(spec, errs, "hidden", what,
						NULL);
		}
		for (size_t i = 0; i < spec->nhidden; i++) {
			if (spec->hidden[i] >= 1 &&
			    spec->hidden[i] <= OPTREG_WORKLOAD_MAX_WIDTH)
				continue;
			snprintf(path, sizeof(path), "hidden[%zu]", i);
			snprintf(what, sizeof(what),
				 "%s must be a layer width from 1 to %d (got "
				 "%ld)",
				 path, OPTREG_WORKLOAD_MAX_WIDTH,
				 spec->hidden[i]);
			return wl_variant_error(spec, errs, path, what, NULL);
		}
	}
	if (!(spec->label_noise >= 0 && spec->label_noise <= 1)) {
		snprintf(what, sizeof(what),
			 "label_noise must be a fraction from 0 to 1 (got %g)",
			 spec->label_noise);
		return wl_variant_error(spec, errs, "label_noise", what, NULL);
	}
	if (!(spec->sparse_keep >= 0 && spec->sparse_keep <= 1)) {
		snprintf(what, sizeof(what),
			 "sparse_keep must be 0 (off) or a keep probability "
			 "in (0, 1] (got %g)",
			 spec->sparse_keep);
		return wl_variant_error(spec, errs, "sparse_keep", what, NULL);
	}
	if (!fmnist && (spec->label_noise > 0 || spec->sparse_keep > 0))
		return wl_variant_error(
			spec, errs,
			spec->label_noise > 0 ? "label_noise" : "sparse_keep",
			"label_noise and sparse_keep apply to fmnist_logreg "
			"and fmnist_mlp only",
			NULL);
	if (spec->nspike > 0) {
		if (!spec->spike_steps)
			return wl_variant_error(spec, errs, "spike_steps",
						"spike_steps is missing", NULL);
		for (size_t i = 0; i < spec->nspike; i++) {
			long st = spec->spike_steps[i];
			if (st >= 1 &&
			    (i == 0 || st > spec->spike_steps[i - 1]))
				continue;
			snprintf(path, sizeof(path), "spike_steps[%zu]", i);
			snprintf(what, sizeof(what),
				 "%s must be a step from 1 up, above the one "
				 "before it (got %ld)",
				 path, st);
			return wl_variant_error(spec, errs, path, what,
						"List the steps in ascending "
						"order, each once.");
		}
		if (!((float)spec->spike_factor >= FLT_MIN &&
		      isfinite((float)spec->spike_factor))) {
			snprintf(what, sizeof(what),
				 "spike_factor must be a number above 0 that "
				 "is a finite, normal float (got %g)",
				 spec->spike_factor);
			return wl_variant_error(spec, errs, "spike_factor",
						what, NULL);
		}
	}
	if (!optreg_precision_name(spec->precision)) {
		snprintf(what, sizeof(what),
			 "precision must be fp32, fp16 or bf16 (got enum "
			 "value %d)",
			 (int)spec->precision);
		return wl_variant_error(spec, errs, "precision", what, NULL);
	}
	return 0;
}

static int wl_spec_check(const struct optreg_workload_spec *spec,
			 struct optreg_errors *errs)
{
	if (spec->steps < 1 || spec->steps > OPTREG_WORKLOAD_MAX_STEPS) {
		if (errs)
			optreg_errors_add(errs, OPTREG_EINVAL, "range", "steps",
					  "workload %s: steps must be 1 to "
					  "%ld (got %ld)",
					  spec->name, OPTREG_WORKLOAD_MAX_STEPS,
					  spec->steps);
		return OPTREG_EINVAL;
	}
	if (spec->batch < 0 || spec->batch > 65536) {
		if (errs)
			optreg_errors_add(errs, OPTREG_EINVAL, "range", "batch",
					  "workload %s: batch must be 0 "
					  "(default) to 65536 (got %ld)",
					  spec->name, spec->batch);
		return OPTREG_EINVAL;
	}
	if (spec->inject_nan_step < 0 || spec->eval_rows < 0) {
		if (errs)
			optreg_errors_add(errs, OPTREG_EINVAL, "range", NULL,
					  "workload %s: inject_nan_step and "
					  "eval_rows must not be negative",
					  spec->name);
		return OPTREG_EINVAL;
	}
	return wl_variant_check(spec, errs);
}

static void wl_result_alloc(struct wl_run *w)
{
	struct optreg_workload_result *res = w->res;
	size_t n = (size_t)w->spec->steps, nt = n * w->ntensors;

	res->loss = optreg_xcalloc(n, sizeof(double));
	res->grad_norm = optreg_xcalloc(n, sizeof(double));
	res->clip_coef = optreg_xcalloc(n, sizeof(double));
	res->lr = optreg_xcalloc(n, sizeof(double));
	res->small_denom_frac = optreg_xcalloc(n, sizeof(double));
	res->param_norm = optreg_xcalloc(nt ? nt : 1, sizeof(double));
	res->update_norm = optreg_xcalloc(nt ? nt : 1, sizeof(double));
}

static int wl_buffers_init(struct wl_run *w, const struct wl_problem *prob)
{
	const struct optreg_backend *be = w->be;
	size_t n = w->nparams;
	int amsgrad = 0;
	float *host;
	int rc;

	for (size_t g = 0; g < w->ngroups; g++)
		amsgrad |= w->groups[g].h.amsgrad;
	WL_TRY(wl_alloc(w, n, &w->param));
	WL_TRY(wl_alloc(w, n, &w->grad));
	WL_TRY(wl_alloc(w, n, &w->m));
	WL_TRY(wl_alloc(w, n, &w->v));
	if (amsgrad) {
		WL_TRY(wl_alloc(w, n, &w->vmax));
		WL_TRY(be->fill(be->ctx, w->vmax, 0.0f, n));
	}
	WL_TRY(be->fill(be->ctx, w->grad, 0.0f, n));
	WL_TRY(be->fill(be->ctx, w->m, 0.0f, n));
	WL_TRY(be->fill(be->ctx, w->v, 0.0f, n));

	host = optreg_xcalloc(n ? n : 1, sizeof(float));
	prob->init_params(w, host);
	rc = be->upload(be->ctx, w->param, host, n);
	free(host);
	return rc;
}

static double wl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One optimizer step t: loss and gradient, the Adam step, the records.
 * Sets *stop when a non-finite value showed up. */
static int wl_step(struct wl_run *w, const struct wl_problem *prob,
		   const struct optreg_schedule *sched,
		   struct optreg_adam_tensor_stats *stats, long t, int *stop)
{
	const struct optreg_backend *be = w->be;
	struct optreg_workload_result *res = w->res;
	struct optreg_adam_step_out out = {.tensors = stats};
	double loss = 0;
	size_t i = (size_t)(t - 1), small = 0, bad_p = 0, bad_m = 0;

	for (size_t g = 0; g < w->ngroups; g++)
		w->groups[g].lr_t =
			optreg_config_schedule_lr(sched, w->groups[g].h.lr, t);
	WL_TRY(prob->loss_grad(w, t, &loss));
	if (t == w->spec->inject_nan_step) {
		const float nan = NAN;
		WL_TRY(be->upload(be->ctx, w->grad, &nan, 1));
	}
	/* A gradient spike, then the gradients' storage format; clipping
	 * (in adam_step) sees both. */
	for (size_t k = 0; k < w->spec->nspike; k++)
		if (w->spec->spike_steps[k] == t)
			WL_TRY(be->scale(be->ctx, w->grad,
					 (float)w->spec->spike_factor,
					 w->nparams));
	if (w->spec->precision != OPTREG_PRECISION_FP32) {
		if (!be->round_to)
			return OPTREG_EINVAL;
		WL_TRY(be->round_to(be->ctx, w->grad, w->nparams,
				    w->spec->precision));
	}

	struct optreg_adam_step st = {
		.param = w->param,
		.grad = w->grad,
		.m = w->m,
		.v = w->v,
		.vmax = w->vmax,
		.tensors = w->tensors,
		.ntensors = w->ntensors,
		.groups = w->groups,
		.ngroups = w->ngroups,
		.step = t,
		.max_grad_norm =
			w->cfg->has_grad_clip ? w->cfg->grad_clip_norm : 0,
		.state_precision = w->spec->precision,
	};
	WL_TRY(be->adam_step(be->ctx, &st, &out));

	res->loss[i] = loss;
	res->grad_norm[i] = out.grad_norm;
	res->clip_coef[i] = out.clip_coef;
	res->lr[i] = w->groups[0].lr_t;
	for (size_t k = 0; k < w->ntensors; k++) {
		res->param_norm[i * w->ntensors + k] =
			sqrt(stats[k].param_sumsq);
		res->update_norm[i * w->ntensors + k] =
			sqrt(stats[k].update_sumsq);
		small += stats[k].small_denom;
		bad_p += stats[k].nonfinite_param;
		bad_m += stats[k].nonfinite_moment;
	}
	res->small_denom_frac[i] =
		w->nparams ? (double)small / (double)w->nparams : 0;
	res->steps_run = t;

	enum optreg_nonfinite what = OPTREG_NONFINITE_NONE;
	if (!isfinite(loss))
		what = OPTREG_NONFINITE_LOSS;
	else if (!isfinite(out.grad_norm))
		what = OPTREG_NONFINITE_GRAD_NORM;
	else if (bad_p)
		what = OPTREG_NONFINITE_PARAM;
	else if (bad_m)
		what = OPTREG_NONFINITE_MOMENT;
	if (what != OPTREG_NONFINITE_NONE) {
		res->nonfinite_step = t;
		res->nonfinite_what = what;
		*stop = 1;
		return 0;
	}
	if (prob->after_step)
		WL_TRY(prob->after_step(w, t));
	return 0;
}

static int wl_train(struct wl_run *w, const struct wl_problem *prob)
{
	const struct optreg_schedule *sched =
		w->spec->schedule ? w->spec->schedule : &w->cfg->schedule;
	struct optreg_adam_tensor_stats *stats =
		optreg_xcalloc(w->ntensors ? w->ntensors : 1, sizeof(*stats));
	int stop = 0, rc = 0;
	double t0 = wl_now();

	for (long t = 1; t <= w->spec->steps && !stop && !rc; t++)
		rc = wl_step(w, prob, sched, stats, t, &stop);
	if (!rc)
		rc = w->be->sync(w->be->ctx);
	w->res->seconds = wl_now() - t0;
	free(stats);
	return rc;
}

static void wl_buffers_release(struct wl_run *w)
{
	const struct optreg_backend *be = w->be;

	be->free(be->ctx, w->param);
	be->free(be->ctx, w->grad);
	be->free(be->ctx, w->m);
	be->free(be->ctx, w->v);
	be->free(be->ctx, w->vmax);
	free(w->tensors);
	free(w->groups);
}

int optreg_workload_run(const struct optreg_workload_spec *spec,
			const struct optreg_config *cfg,
			const struct optreg_backend *be,
			struct optreg_workload_result *res,
			struct optreg_errors *errs)
{
	const struct wl_problem *prob = wl_problem_find(spec->name);
	struct wl_run w = {0};
	size_t nerrs = errs ? errs->len : 0;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!prob) {
		if (errs)
			optreg_error_set_hint(
				optreg_errors_add(
					errs, OPTREG_EINVAL, "workload",
					"workload", "unknown workload \"%s\"",
					spec->name ? spec->name : "(null)"),
				"Use quadratic_deep, rosenbrock, beale, "
				"fmnist_logreg, fmnist_mlp or lm.");
		return OPTREG_EINVAL;
	}
	if ((rc = wl_spec_check(spec, errs)))
		return rc;

	w.spec = spec;
	w.cfg = cfg;
	w.be = be;
	w.res = res;
	w.batch = spec->batch ? spec->batch : OPTREG_WORKLOAD_DEFAULT_BATCH;
	w.seed = spec->seed;
	snprintf(res->workload, sizeof(res->workload), "%s", prob->name);
	snprintf(res->device, sizeof(res->device), "%s", be->device);
	res->steps = spec->steps;
	res->batch = w.batch;
	res->seed = spec->seed;

	rc = prob->setup(&w, errs);
	if (!rc)
		rc = wl_groups_build(&w, errs);
	if (!rc)
		rc = wl_buffers_init(&w, prob);
	if (!rc) {
		wl_result_alloc(&w);
		rc = wl_train(&w, prob);
	}
	if (!rc && prob->evaluate && !spec->skip_eval && !res->nonfinite_step)
		rc = prob->evaluate(&w);

	if (rc && errs && errs->len == nerrs)
		optreg_errors_add(errs, rc, "backend", NULL,
				  "workload %s: the %s backend failed (%s)",
				  prob->name, be->name, optreg_code_name(rc));
	prob->teardown(&w);
	wl_buffers_release(&w);
	return rc;
}

double optreg_workload_update_ratio(const struct optreg_workload_result *res,
				    long t, size_t k)
{
	if (t < 1 || t > res->steps_run || k >= res->ntensors)
		return NAN;
	size_t i = (size_t)(t - 1) * res->ntensors + k;
	if (!(res->param_norm[i] > 0))
		return NAN;
	return res->update_norm[i] / res->param_norm[i];
}

void optreg_workload_result_release(struct optreg_workload_result *res)
{
	free(res->tensors);
	free(res->loss);
	free(res->grad_norm);
	free(res->clip_coef);
	free(res->lr);
	free(res->small_denom_frac);
	free(res->param_norm);
	free(res->update_norm);
	free(res->expected_loss);
	free(res->sharpness);
	free(res->sharpness_bound);
	memset(res, 0, sizeof(*res));
}
