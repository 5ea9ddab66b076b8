/*
 * runner/workloads_int.h: what the workload driver (workloads.c) and the
 * problems (wl_quadratic.c, wl_twod.c, wl_fmnist.c) share. Not public.
 *
 * A problem declares its tensors in setup(), fills their starting values in
 * init_params(), and at every step writes the loss and the full gradient
 * (every element of w->grad) in loss_grad(). The driver owns the flat
 * parameter, gradient and moment buffers, the param groups, the optimizer
 * step and the result's per-step records.
 */
#ifndef OPTREG_WORKLOADS_INT_H
#define OPTREG_WORKLOADS_INT_H

#include "workloads.h"

struct wl_run {
	const struct optreg_workload_spec *spec;
	const struct optreg_config *cfg;
	const struct optreg_backend *be;
	struct optreg_workload_result *res;
	long batch;
	uint64_t seed;

	struct optreg_adam_tensor *tensors; /* parallel to res->tensors */
	size_t ntensors;
	size_t tensors_alloc;	  /* capacity of tensors */
	size_t res_tensors_alloc; /* capacity of res->tensors */
	size_t nparams;
	float *param, *grad, *m, *v, *vmax; /* device; vmax may be NULL */
	struct optreg_adam_group *groups;   /* this step's lr_t filled in */
	size_t ngroups;

	void *priv; /* the problem's own state */
};

struct wl_problem {
	const char *name;
	/* Declares tensors (wl_tensor_add), allocates private state. */
	int (*setup)(struct wl_run *w, struct optreg_errors *errs);
	/* Starting parameters: host[0..nparams) in flat order. */
	void (*init_params)(struct wl_run *w, float *host);
	/* Loss of step t's batch; every element of w->grad written. */
	int (*loss_grad)(struct wl_run *w, long t, double *loss);
	/* Optional: after step t's update (diagnostics). */
	int (*after_step)(struct wl_run *w, long t);
	/* Optional: after the last step (test set). */
	int (*evaluate)(struct wl_run *w);
	/* Releases private state; called once setup() was called. */
	void (*teardown)(struct wl_run *w);
};

extern const struct wl_problem wl_quadratic_deep;
extern const struct wl_problem wl_rosenbrock;
extern const struct wl_problem wl_beale;
extern const struct wl_problem wl_fmnist_logreg;
extern const struct wl_problem wl_fmnist_mlp;
extern const struct wl_problem wl_lm;

/* Appends a tensor of n elements; returns its index. */
size_t wl_tensor_add(struct wl_run *w, const char *name, size_t n);

/* Allocates n device floats into *out (NULL on failure). */
int wl_alloc(struct wl_run *w, size_t n, float **out);

/* One standard normal for flat index i of (key, stream): element i % 2 of
 * optreg_philox_normal2(key, stream, i / 2). */
double wl_normal(uint64_t key, uint32_t stream, uint64_t i);

/* U[0, 1) from the first two words of optreg_philox_draw(key, stream, i). */
double wl_uniform(uint64_t key, uint32_t stream, uint64_t i);

/*
 * fmnist_*'s label noise: the label training image `image` carries. With
 * label_noise > 0, draw (seed, OPTREG_STREAM_LABEL_NOISE, image) gives
 * words r0..r3; the image's label is replaced when optreg_philox_u01(r0,
 * r1) < label_noise, by class r2 % 10 (which may be the true one again,
 * so about 0.9 * label_noise of the labels change). Computed once per run.
 */
int wl_fmnist_noisy_label(uint64_t seed, double label_noise, uint64_t image,
			  int label);

/*
 * fmnist_*'s sparse inputs: the px pixels x of row `row` of step t's batch
 * (of `batch` rows) in place. Pixel p reads word p % 4 of draw (seed,
 * OPTREG_STREAM_SPARSE, ((t - 1) * batch + row) * ceil(px / 4) + p / 4);
 * it is kept, as x * (float)(1 / keep), when that word is below
 * floor(keep * 2^32), else set to 0 (inverted dropout; keep 1 keeps all).
 */
void wl_fmnist_sparsify(uint64_t seed, double keep, long t, long batch,
			size_t row, float *x, size_t px);

/* Evaluates a backend call and returns its code when it fails. */
#define WL_TRY(expr)                                                           \
	do {                                                                   \
		int wl_rc_ = (expr);                                           \
		if (wl_rc_)                                                    \
			return wl_rc_;                                         \
	} while (0)

#endif
