/*
 * runner/workloads.h: the reference workloads a config is judged on.
 *
 * Five small training problems after the DeepOBS test problems (Schneider
 * et al., "DeepOBS: a deep learning optimizer benchmark suite", ICLR 2019),
 * so their sizes and meaning are public (docs/runner.md, "The suite file"):
 *
 *   quadratic_deep  100-d noisy quadratic 1/2 (theta - x)^T Q (theta - x),
 *                   Q = R diag(lambda) R^T, lambda: 90 from U(0,1) and 10
 *                   from U(30,60), R a random rotation; theta_0 = 1;
 *                   x ~ N(0, 0.6^2) per sample; loss = batch mean.
 *                   Tensor "theta" [100].
 *   rosenbrock      (1-u)^2 + 100 (v-u^2)^2 + u*x + v*y from (-0.5, 1.5)
 *   beale           (1.5-u+uv)^2 + (2.25-u+uv^2)^2 + (2.625-u+uv^3)^2
 *                   + u*x + v*y from (-4.5, 4.5)
 *                   Both: x, y ~ N(0, 1) per sample, loss = batch mean
 *                   (DeepOBS's noise model, sigma = 1), so the gradient
 *                   noise has standard deviation 1/sqrt(batch). Tensor
 *                   "theta" [2] = (u, v).
 *   fmnist_logreg   784 -> 10 softmax regression on Fashion-MNIST.
 *                   Tensors "fc.weight" [10 x 784], "fc.bias" [10].
 *   fmnist_mlp      784-1000-500-100-10, ReLU, softmax cross-entropy.
 *                   Tensors "fc1.weight" [1000 x 784], "fc1.bias", ...,
 *                   "fc4.bias" [10], in that order (PyTorch's layout:
 *                   weight [out x in]). With spec.hidden: 784-h1-..-10,
 *                   tensors fc1.. to fc(nhidden+1).
 *   lm              character-level transformer language model on
 *                   OPTREG_LM_CORPUS (struct optreg_lm_spec; runner/lm.h
 *                   names its tensors, docs/runner.md "The lm workload"
 *                   gives model, data and init). Vocabulary: '\n' -> 0,
 *                   bytes 32..126 -> 1..95, any other byte as ' '; the
 *                   first 90% trains, the rest tests. GPT-2 init:
 *                   weights N(0, 0.02^2), attn.proj and mlp.fc2 weights
 *                   N(0, (0.02 / sqrt(2 layers))^2), biases 0, LayerNorm
 *                   weights 1, drawn like every init below.
 *
 * Fashion-MNIST pixels are scaled to [0, 1] (byte / 255); each epoch is a
 * fresh permutation of the 60000 training images cut into floor(60000 /
 * batch) full batches (the remainder is dropped). Weights of layers followed
 * by a ReLU start He-normal (std sqrt(2 / fan_in)), the output layer
 * Glorot-uniform (limit sqrt(6 / (fan_in + fan_out))), biases at 0.
 *
 * Randomness. Every random number is Philox4x32-10 (runner/philox.h) at
 * (key, stream, index), so a CUDA backend draws the same numbers:
 *   init     key seed, stream 1, index e/2 of flat parameter element e:
 *            optreg_philox_normal2()[e % 2], or for uniforms
 *            optreg_philox_u01(w0, w1) of optreg_philox_draw(..., e)
 *   data     key seed, stream 2: quadratic x of (step t, sample b, dim d)
 *            is 0.6 * normal2(((t-1)*batch + b)*50 + d/2)[d % 2]; 2-D
 *            noise (x, y) of (t, b) is normal2((t-1)*batch + b)
 *   shuffle  key seed, stream 3: epoch e's Fisher-Yates swap at position i
 *            (n-1 down to 1) takes j = (w0 << 32 | w1) mod (i + 1) of
 *            optreg_philox_draw(..., e << 32 | i)
 *   problem  key OPTREG_QUADRATIC_KEY (fixed, so every run sees the same
 *            Q): stream 4, rotation entry (i, j) normal2(i*50 + j/2)[j%2];
 *            stream 5, eigenvalue i optreg_philox_u01(w0, w1) of draw(i)
 *   label noise  key seed, stream 6: training image i's draw(i) replaces
 *            its label when optreg_philox_u01(w0, w1) < label_noise, by
 *            class w2 % 10 (wl_fmnist_noisy_label, workloads_int.h)
 *   sparse   key seed, stream 7: pixel p of row r of step t's batch is
 *            kept when word p % 4 of draw(((t-1)*batch + r)*196 + p/4) is
 *            below floor(sparse_keep * 2^32) (wl_fmnist_sparsify)
 *
 * Optimizer. The config's hyperparameters apply to every tensor except
 * where a param_groups entry matches the tensor's name (POSIX ERE, searched
 * anywhere in the name, first matching entry wins), whose fields override
 * the config's. The schedule's lr at step t is optreg_config_schedule_lr() of
 * each group's own lr. Gradients are clipped by total norm when the config says
 * so, then one Adam/AdamW step updates every tensor (backend adam_step).
 */
#ifndef OPTREG_WORKLOADS_H
#define OPTREG_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/error.h"
#include "../validator/config.h"
#include "adam.h"
#include "backend.h"
#include "idx.h"
#include "precision.h"

#define OPTREG_WORKLOAD_DEFAULT_BATCH 128
#define OPTREG_WORKLOAD_MAX_STEPS     10000000L
#define OPTREG_QUADRATIC_KEY	      42u
#define OPTREG_WORKLOAD_MAX_HIDDEN    4	   /* fmnist_mlp hidden layers */
#define OPTREG_WORKLOAD_MAX_WIDTH     4096 /* fmnist_mlp layer width */

#define OPTREG_STREAM_INIT	  1u
#define OPTREG_STREAM_DATA	  2u
#define OPTREG_STREAM_SHUFFLE	  3u
#define OPTREG_STREAM_ROTATION	  4u
#define OPTREG_STREAM_EIGENVALUES 5u
#define OPTREG_STREAM_LABEL_NOISE 6u /* fmnist_*: which labels, and to what */
#define OPTREG_STREAM_SPARSE	  7u /* fmnist_*: which pixels are kept */
#define OPTREG_STREAM_LM_BATCH	  8u /* lm: where each sequence starts */

/* The transformer language model's corpus: a text every Debian system
 * ships (base-files). Its sha256 is checked by the suite. */
#define OPTREG_LM_CORPUS "/usr/share/common-licenses/GPL-3"

/* The `lm` problem's shape; zero fields take the defaults shown. */
struct optreg_lm_spec {
	long layers;	    /* 0: 2 transformer blocks */
	long d_model;	    /* 0: 32 */
	long heads;	    /* 0: 2 (d_model % heads == 0) */
	long context;	    /* 0: 32 tokens per sequence */
	int post_ln;	    /* 0: pre-LN (GPT-2); 1: post-LN (Vaswani) */
	int untied;	    /* 0: the output layer is tok_emb.weight */
	const char *corpus; /* NULL: OPTREG_LM_CORPUS */
};

/* The workload names, NULL-terminated. */
extern const char *const optreg_workload_names[];

/* What to run. Zero means the default for every field but name and steps. */
struct optreg_workload_spec {
	const char *name; /* one of optreg_workload_names */
	long steps;	  /* optimizer steps, 1..OPTREG_WORKLOAD_MAX_STEPS */
	long batch;	  /* 0: OPTREG_WORKLOAD_DEFAULT_BATCH */
	uint64_t seed;	  /* Philox key of init, noise and batch order */
	/*
	 * The lr schedule; NULL: the config's own. A suite that runs fewer
	 * steps than the config's total_steps passes a compressed copy here.
	 */
	const struct optreg_schedule *schedule;
	/* fmnist_*: preloaded data (borrowed), else read from data_dir
	 * (NULL: OPTREG_FMNIST_DIR) on every run. */
	const struct optreg_fmnist *fmnist;
	const char *data_dir;
	int skip_eval;	    /* fmnist_*: no test-set pass at the end */
	long eval_rows;	    /* fmnist_*: first N test images, 0: all 10000;
			       lm: N windows of the test text, 0: 64 */
	int skip_sharpness; /* quadratic_deep: no power iteration */
	/* fmnist_mlp: hidden layer widths; nhidden 0: DeepOBS's 1000, 500,
	 * 100. (fmnist_logreg has none.) Borrowed. */
	const long *hidden;
	size_t nhidden;
	/* fmnist_*: this fraction of the training images (0..1) gets a
	 * label drawn uniformly from the 10 classes, fixed per image for the
	 * run (stream OPTREG_STREAM_LABEL_NOISE); test labels stay true. */
	double label_noise;
	/* fmnist_*: 0 off; else each pixel of each training sample is kept
	 * with this probability (0..1], scaled by 1/sparse_keep, and zeroed
	 * otherwise (stream OPTREG_STREAM_SPARSE); test images are whole. */
	double sparse_keep;
	/* Any problem: at these steps (1-based, ascending; borrowed) every
	 * gradient element is multiplied by spike_factor after the backward
	 * pass, before rounding and clipping: a gradient spike. */
	const long *spike_steps;
	size_t nspike;
	double spike_factor;
	/* Any problem: gradients rounded to this format after the backward
	 * pass, m, v and max v stored in it (runner/precision.h). */
	enum optreg_precision precision;
	/* lm only. */
	struct optreg_lm_spec lm;
	/*
	 * Test hook: at this step (1-based; 0: never) the first gradient
	 * element becomes NaN after the backward pass, before clipping.
	 */
	long inject_nan_step;
};

/* The first kind of non-finite value the run met (checked in this order
 * after each step). */
enum optreg_nonfinite {
	OPTREG_NONFINITE_NONE = 0,
	OPTREG_NONFINITE_LOSS,	    /* the step's training loss */
	OPTREG_NONFINITE_GRAD_NORM, /* the total gradient norm */
	OPTREG_NONFINITE_PARAM,	    /* a parameter after the update */
	OPTREG_NONFINITE_MOMENT,    /* m, v or max v after the update */
};

/* "none", "loss", "grad_norm", "param", "moment". */
const char *optreg_nonfinite_name(enum optreg_nonfinite what);

/* One parameter tensor of the workload. */
struct optreg_workload_tensor {
	char name[32];			    /* "fc1.weight" */
	size_t numel;			    /* elements */
	size_t group;			    /* 0: the config's own settings;
					       i > 0: spec.param_groups[i-1] */
	struct optreg_adam_hparams hparams; /* effective, lr unscheduled */
};

/*
 * Everything a stability check needs. Per-step arrays hold steps_run
 * values: index t-1 is optimizer step t. Per-step-per-tensor arrays hold
 * steps_run * ntensors values at (t-1) * ntensors + k. The result owns all
 * memory; release with optreg_workload_result_release.
 */
struct optreg_workload_result {
	char workload[32];
	char device[160]; /* the backend's device line */
	long steps;	  /* steps asked for */
	long steps_run;	  /* steps taken: steps, or the non-finite step */
	long batch;
	uint64_t seed;
	double seconds; /* wall time of the training steps only */

	struct optreg_workload_tensor *tensors;
	size_t ntensors;
	size_t nparams; /* elements over all tensors */

	/* Training loss of step t's batch, before step t's update. */
	double *loss;
	/*
	 * quadratic_deep, rosenbrock, beale (NULL for the others): the loss
	 * at the parameters step t's batch saw, in expectation over the
	 * noise, i.e. without the sampling noise that `loss` carries:
	 * 1/2 theta^T Q theta + 1/2 0.6^2 tr(Q), or f(u, v). The cleaner
	 * signal of progress on these problems.
	 */
	double *expected_loss;
	/* Total L2 norm of the raw gradients at step t (before clipping). */
	double *grad_norm;
	/* Factor the gradients were multiplied by at step t (at most 1;
	 * 1 without clipping or below the maximum norm). */
	double *clip_coef;
	/* Scheduled lr of the config's own group at step t. */
	double *lr;
	/* Fraction of all parameter elements whose sqrt(v_hat) (max v_hat
	 * with amsgrad) was below their eps after step t. */
	double *small_denom_frac;
	/* Per tensor: ||p|| before step t and ||p_after - p_before|| of step
	 * t. Their quotient is the update/weight ratio (see below). */
	double *param_norm;
	double *update_norm;

	/* The first non-finite value: its step (0: none) and kind. The run
	 * stops after that step, so steps_run == nonfinite_step. */
	long nonfinite_step;
	enum optreg_nonfinite nonfinite_what;

	/* Classification problems: the number of classes, so that chance
	 * level is ln(classes) (10 for fmnist_*, the vocabulary for lm); 0
	 * for the others. */
	long classes;

	/* fmnist_*, lm: the test-set pass after the last step (has_test is 0
	 * when skipped or when the run stopped on a non-finite value). */
	int has_test;
	long test_rows;
	double test_loss;     /* mean cross-entropy */
	double test_accuracy; /* in [0, 1] */

	/*
	 * quadratic_deep (NULL otherwise or when skipped): after step t, the
	 * largest eigenvalue of diag(1 / (sqrt(v_hat) + eps)) Q (the Hessian
	 * as Adam's preconditioner sees it, found by power iteration on the
	 * symmetric form P^1/2 Q P^1/2) and the edge-of-stability bound
	 * (2 + 2 beta1) / ((1 - beta1) lr_t) it is judged against (Cohen et
	 * al., "Adaptive gradient methods at the edge of stability", 2022).
	 */
	double *sharpness;
	double *sharpness_bound;
};

/*
 * Runs the named workload for spec->steps steps of Adam/AdamW as `cfg`
 * says, on backend `be`, filling `res` (zeroed first; the caller releases
 * it, also after a failure). A non-finite value is a result, not an error:
 * the run stops there and returns 0. Returns OPTREG_EINVAL for an unknown
 * workload, a bad spec or a param_groups pattern that does not compile;
 * OPTREG_EIO (and the loader's errors) when Fashion-MNIST cannot be read;
 * OPTREG_ENOMEM or a backend's code when the backend fails. Errors are
 * appended to `errs` (may be NULL).
 */
int optreg_workload_run(const struct optreg_workload_spec *spec,
			const struct optreg_config *cfg,
			const struct optreg_backend *be,
			struct optreg_workload_result *res,
			struct optreg_errors *errs);

/* ||update|| / ||param|| of tensor k at step t (1-based), NaN when the
 * parameter norm was 0 (e.g. a bias at its zero init) or t is out of
 * range. */
double optreg_workload_update_ratio(const struct optreg_workload_result *res,
				    long t, size_t k);

/* Frees what the result owns and zeroes it. */
void optreg_workload_result_release(struct optreg_workload_result *res);

#endif
