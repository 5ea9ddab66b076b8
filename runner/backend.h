/*
 * runner/backend.h: the compute backend behind the reference workloads.
 *
 * A backend is a table of function pointers over an opaque context, so the
 * workloads (runner/workloads.c) are written once and run on the CPU
 * (runner/cpu.c, OpenBLAS, always built) or on a GPU (a CUDA backend that
 * plugs into this same header). The math the backends share (the Adam
 * update, the clip coefficient) lives in runner/adam.h, which compiles both
 * as C and as CUDA device code.
 *
 * Memory model. Every tensor is float32 and lives in device memory: a
 * `float *` returned by alloc() that only the backend dereferences (on the
 * CPU it happens to be host memory; on a GPU it is not). Pointer arithmetic
 * on device pointers is allowed (views into a flat buffer: `param + off`).
 * Host memory crosses over only through upload() and download(), and the
 * scalar results of reductions come back through host pointers.
 *
 * Layout. Matrices are row-major and dense; `ld*` is the row stride in
 * elements. Integer class labels travel as float values (exact up to 2^24).
 *
 * Order and determinism. Calls execute in issue order. Every reduction
 * (dot, col_sum, softmax_xent, the norms inside adam_step) sums in a fixed
 * order that depends only on the shapes, never on timing or thread count,
 * so two runs on one device give bit-identical results. Different backends
 * may differ by rounding.
 *
 * Errors. Every fallible call returns 0 or a negative OPTREG_E* code
 * (OPTREG_ENOMEM for allocation, OPTREG_EINTERNAL for a device failure);
 * the CPU backend never fails after init except in alloc().
 */
#ifndef OPTREG_BACKEND_H
#define OPTREG_BACKEND_H

#include <stddef.h>

#include "../common/error.h"
#include "adam.h"
#include "precision.h"

/* One parameter tensor inside the flat parameter buffers. */
struct optreg_adam_tensor {
	size_t offset; /* first element in param/grad/m/v/vmax */
	size_t n;      /* number of elements */
	size_t group;  /* index into optreg_adam_step.groups */
};

/* One parameter group: hyperparameters and this step's learning rate. */
struct optreg_adam_group {
	struct optreg_adam_hparams h; /* h.lr is the base (unscheduled) lr */
	double lr_t;		      /* the scheduled lr for this step */
};

/*
 * One optimizer step over all parameters at once. The five buffers are
 * flat and parallel (same offsets); `vmax` is NULL unless some group uses
 * amsgrad, in which case it covers every tensor. `tensors` must not overlap.
 */
struct optreg_adam_step {
	float *param, *grad, *m, *v, *vmax;
	const struct optreg_adam_tensor *tensors;
	size_t ntensors;
	const struct optreg_adam_group *groups;
	size_t ngroups;
	long step;	      /* t, 1-based, for the bias corrections */
	double max_grad_norm; /* > 0: clip by total norm first; 0: no clip */
	/* Storage of m, v and vmax: after the update each is rounded to
	 * this format (runner/precision.h); FP32 leaves them alone. */
	enum optreg_precision state_precision;
};

/* What adam_step saw, per tensor. Sums in double, in element order. */
struct optreg_adam_tensor_stats {
	double grad_norm;	/* L2 norm of the raw gradient (pre-clip) */
	double param_sumsq;	/* sum p^2 before the update */
	double update_sumsq;	/* sum (p_after - p_before)^2, diffs in float */
	size_t small_denom;	/* elements with sqrt(v_hat) < eps after it */
	size_t nonfinite_param; /* non-finite p after the update */
	size_t nonfinite_moment; /* non-finite m, v or vmax after the update */
};

struct optreg_adam_step_out {
	double grad_norm; /* total L2 norm of the raw gradients */
	double clip_coef; /* the factor the gradients were multiplied by; 1
			     when not clipping, NaN for a NaN norm */
	struct optreg_adam_tensor_stats *tensors; /* caller's, [ntensors] */
};

/*
 * The backend. Callers fill nothing: an init function (below) fills it, and
 * destroy() releases everything it holds (buffers still allocated by the
 * caller are the caller's to free first).
 */
struct optreg_backend {
	const char *name; /* "cpu" or "cuda"; static */
	char device[160]; /* for people: "cpu: OpenBLAS 0.3.21 (1 thread)" */
	void *ctx;	  /* the backend's own state */

	void (*destroy)(struct optreg_backend *be);

	/* Device buffers of n floats, contents undefined; n may be 0. */
	int (*alloc)(void *ctx, size_t n, float **out);
	void (*free)(void *ctx, float *p); /* NULL is a no-op */
	int (*upload)(void *ctx, float *dst, const float *host, size_t n);
	int (*download)(void *ctx, float *host, const float *src, size_t n);
	int (*fill)(void *ctx, float *x, float value, size_t n);
	/* Waits until all issued work is done (for timing). */
	int (*sync)(void *ctx);

	/*
	 * C[m x n] = alpha * op(A) * op(B) + beta * C, row-major, where op(A)
	 * is m x k (A stored k x m when trans_a) and op(B) is k x n. With
	 * beta == 0, C is not read.
	 */
	int (*gemm)(void *ctx, int trans_a, int trans_b, size_t m, size_t n,
		    size_t k, float alpha, const float *a, size_t lda,
		    const float *b, size_t ldb, float beta, float *c,
		    size_t ldc);
	/*
	 * `count` such products of one shape, the i-th on a + i * stride_a,
	 * b + i * stride_b, c + i * stride_c: each the same arithmetic as
	 * its own gemm call. One call instead of many where each is small
	 * (attention's per-sequence products), so a device backend pays one
	 * launch. NULL (the CPU backend, which gains nothing from batching):
	 * callers go through optreg_gemm_batched, which loops over gemm.
	 */
	int (*gemm_batched)(void *ctx, int trans_a, int trans_b, size_t m,
			    size_t n, size_t k, float alpha, const float *a,
			    size_t lda, size_t stride_a, const float *b,
			    size_t ldb, size_t stride_b, float beta, float *c,
			    size_t ldc, size_t stride_c, size_t count);

	/* y[r][c] += bias[c] for a rows x cols matrix. */
	int (*bias_add)(void *ctx, float *y, const float *bias, size_t rows,
			size_t cols);
	/* out[c] = sum over r = 0..rows-1, in that order, of x[r][c],
	 * accumulated in double and rounded once; a linear layer's bias
	 * gradient. */
	int (*col_sum)(void *ctx, float *out, const float *x, size_t rows,
		       size_t cols);
	/* y = y < 0 ? 0 : y, in place (NaN stays NaN, as in torch.relu). */
	int (*relu_forward)(void *ctx, float *y, size_t n);
	/* dy = y > 0 ? dy : 0, where y is the ReLU's output. */
	int (*relu_backward)(void *ctx, float *dy, const float *y, size_t n);
	/*
	 * Softmax cross-entropy over rows x classes logits with integer labels
	 * (as floats). Per row, in double: loss = logsumexp(z) - z[label].
	 * *loss_sum gets the sum of the row losses (divide by rows for the
	 * mean), *correct the rows whose first maximal logit is the label.
	 * When dlogits is not NULL it gets the gradient of the MEAN loss:
	 * (softmax(z) - onehot(label)) / rows, rounded to float. dlogits may
	 * be logits itself (the lm workload passes one buffer): a row's
	 * logits must all be read before any of its gradient is written.
	 */
	int (*softmax_xent)(void *ctx, const float *logits, const float *labels,
			    size_t rows, size_t classes, float *dlogits,
			    double *loss_sum, size_t *correct);
	/* x *= alpha. */
	int (*scale)(void *ctx, float *x, float alpha, size_t n);
	/* y += alpha * x. */
	int (*axpy)(void *ctx, float *y, float alpha, const float *x, size_t n);
	/* *out = sum x[i] * y[i] in double, in index order (x == y for a
	 * sum of squares). */
	int (*dot)(void *ctx, const float *x, const float *y, size_t n,
		   double *out);

	/*
	 * One Adam/AdamW step over every tensor in `st`, as PyTorch does it:
	 * 1. the total gradient norm, the norm of the per-tensor norms
	 *    (optreg_norm2_f32; a GPU may sum in its own fixed order);
	 * 2. when st->max_grad_norm > 0, every gradient *= coef, in place, with
	 *    coef = optreg_clip_coef_f32(norm, max) <= 1
	 *    (torch.nn.utils.clip_grad_norm_);
	 * 3. per element, optreg_adam_update_f32 with the element's group
	 *    hparams and optreg_adam_scalars_init(group, st->step, lr_t);
	 * 4. the statistics in `out` (the grad norm before clipping).
	 * With st->state_precision other than FP32, each element's m, v and
	 * vmax are computed in float32 from the stored values as above and
	 * then stored rounded to that format (optreg_round_to); the
	 * parameter update of the step uses the unrounded float32 values,
	 * and small_denom and nonfinite_moment count the stored ones.
	 * The step is taken even when values are non-finite (as PyTorch
	 * does); the caller reads the counts.
	 */
	int (*adam_step)(void *ctx, const struct optreg_adam_step *st,
			 struct optreg_adam_step_out *out);

	/*
	 * The transformer kernels of the `lm` workload. The per-row math is
	 * runner/kernels.h's (_f32), so every backend computes the same
	 * function (to within rounding: kernels.h says where a GPU's can
	 * differ); the orders below are the summation orders. A row is
	 * independent of the others unless a sum over rows is named.
	 */
	/* Token and position embedding: for r = 0..rows-1 and c < d,
	 * out[r][c] = tok[ids[r]][c] + pos[r % context][c]. ids are token ids
	 * as floats; OPTREG_EINVAL when one is not an integer in
	 * [0, vocab). */
	int (*embed_forward)(void *ctx, float *out, const float *tok,
			     const float *pos, const float *ids, size_t rows,
			     size_t context, size_t d, size_t vocab);
	/* Its backward, accumulating (the caller zeroes or pre-fills):
	 * for r = 0, 1, ..., rows-1 in that order, dtok[ids[r]][c] +=
	 * dout[r][c] and dpos[r % context][c] += dout[r][c], in float, so a
	 * token seen several times sums its rows in row order (no atomics). */
	int (*embed_backward)(void *ctx, float *dtok, float *dpos,
			      const float *dout, const float *ids, size_t rows,
			      size_t context, size_t d, size_t vocab);
	/* LayerNorm over the last dimension n of a rows x n matrix, eps 1e-5:
	 * per row optreg_ln_fwd_row_f32 (y, and the row's mean and rstd,
	 * saved for the backward pass). y must not alias x. */
	int (*layernorm_forward)(void *ctx, float *y, float *mean, float *rstd,
				 const float *x, const float *w, const float *b,
				 size_t rows, size_t n);
	/* Its backward: dx (written) per row optreg_ln_bwd_row_f32; dw[c]
	 * (written) = sum over r = 0..rows-1 of dy[r][c] * xhat[r][c] and
	 * db[c] (written) = sum of dy[r][c], each in double in row order,
	 * rounded once (as col_sum). dx must not alias dy or x. */
	int (*layernorm_backward)(void *ctx, float *dx, float *dw, float *db,
				  const float *dy, const float *x,
				  const float *mean, const float *rstd,
				  const float *w, size_t rows, size_t n);
	/* Causal softmax over nmat T x T score matrices (contiguous): row i
	 * of each is optreg_causal_softmax_row_f32 with `scale` (entries
	 * j > i become 0). p may alias s. */
	int (*attn_softmax_forward)(void *ctx, float *p, const float *s,
				    size_t nmat, size_t T, double scale);
	/* Its backward, per row optreg_causal_softmax_bwd_row_f32: ds (the
	 * gradient of the scores before scaling) from the saved p and dp.
	 * ds may alias dp. */
	int (*attn_softmax_backward)(void *ctx, float *ds, const float *p,
				     const float *dp, size_t nmat, size_t T,
				     double scale);
	/* y[i] = optreg_gelu_f32(x[i]) (torch.nn.GELU(), erf form); y may
	 * alias x. */
	int (*gelu_forward)(void *ctx, float *y, const float *x, size_t n);
	/* dx[i] = optreg_gelu_bwd_f32(dy[i], x[i], y[i]), x the GELU's
	 * input and y its output; dx may alias dy. */
	int (*gelu_backward)(void *ctx, float *dx, const float *dy,
			     const float *x, const float *y, size_t n);

	/*
	 * x[i] = optreg_round_to(x[i], precision) for i < n, in place: the
	 * precision workloads' gradients (runner/precision.h). FP32 changes
	 * nothing.
	 */
	int (*round_to)(void *ctx, float *x, size_t n,
			enum optreg_precision precision);
};

/* be->gemm_batched, or the same products one gemm call at a time. */
static inline int
optreg_gemm_batched(const struct optreg_backend *be, int trans_a, int trans_b,
		    size_t m, size_t n, size_t k, float alpha, const float *a,
		    size_t lda, size_t stride_a, const float *b, size_t ldb,
		    size_t stride_b, float beta, float *c, size_t ldc,
		    size_t stride_c, size_t count)
{
	if (be->gemm_batched)
		return be->gemm_batched(be->ctx, trans_a, trans_b, m, n, k,
					alpha, a, lda, stride_a, b, ldb,
					stride_b, beta, c, ldc, stride_c,
					count);
	for (size_t i = 0; i < count; i++) {
		int rc = be->gemm(be->ctx, trans_a, trans_b, m, n, k, alpha,
				  a + i * stride_a, lda, b + i * stride_b, ldb,
				  beta, c + i * stride_c, ldc);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Fills `be` with the CPU backend: OpenBLAS sgemm on `threads` threads
 * (1 to 256; OpenBLAS's thread count is process-wide, so the last init
 * wins), everything else single-threaded C. Results are bit-identical run
 * after run for one thread count on one machine; a different thread count
 * or CPU kernel set (OpenBLAS picks one per CPU) changes the GEMM's
 * blocking and so the rounding (OpenBLAS 0.3.21 on SkylakeX: 1 and 2
 * threads differ in the last bits). `device` names both. Returns 0, or
 * OPTREG_EUSAGE for a bad thread count.
 */
int optreg_cpu_backend_init(struct optreg_backend *be, int threads,
			    struct optreg_errors *errs);

#endif
