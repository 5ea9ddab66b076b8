/*
 * runner/cpu.c: the CPU backend (runner/backend.h).
 *
 * GEMM is OpenBLAS's cblas_sgemm with a fixed thread count; everything else
 * is plain single-threaded C whose loops run in index order, so every
 * reduction has one summation order. The compiler may not reassociate float
 * arithmetic without -ffast-math (which the build never uses) and nothing
 * here lets it contract a * b + c into an FMA (see below), so the bits do
 * not depend on the optimizer.
 * "Device" memory is 64-byte aligned host memory.
 */
/*
 * No errno from the math library in this file: sqrtf in the Adam update
 * (whose argument is v or vmax, >= 0 or NaN) then needs no error branch, so
 * the update loop can use vector square roots. Only errno handling changes,
 * never a result: sqrt is correctly rounded either way, and exp, log and pow
 * stay the same libm calls. The whole file, headers included, so that every
 * function has the same options and inlines as before.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-math-errno")
#endif

#include <assert.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#if defined(__GNUC__) && !defined(__clang__)
/* With errno off (above), sqrtf has no side effect: say so, so that GCC
 * treats it as pure arithmetic and can vectorize it. */
float sqrtf(float) __attribute__((const));
#endif

#include "../common/buf.h"
#include "backend.h"
#include "kernels.h"

/* GCC in ISO C mode never contracts a * b + c; clang would within an
 * expression once FMA instructions are allowed (the clones below). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

struct cpu_ctx {
	int threads;
};

static int cpu_alloc(void *ctx, size_t n, float **out)
{
	(void)ctx;
	size_t bytes = n * sizeof(float);

	*out = NULL;
	if (n > SIZE_MAX / sizeof(float) - 64)
		return OPTREG_ENOMEM;
	/* aligned_alloc wants a multiple of the alignment. */
	bytes = (bytes + 63) & ~(size_t)63;
	if (bytes == 0)
		bytes = 64;
	*out = aligned_alloc(64, bytes);
	return *out ? 0 : OPTREG_ENOMEM;
}

static void cpu_free(void *ctx, float *p)
{
	(void)ctx;
	free(p);
}

static int cpu_upload(void *ctx, float *dst, const float *host, size_t n)
{
	(void)ctx;
	if (n)
		memmove(dst, host, n * sizeof(float));
	return 0;
}

static int cpu_download(void *ctx, float *host, const float *src, size_t n)
{
	(void)ctx;
	if (n)
		memmove(host, src, n * sizeof(float));
	return 0;
}

static int cpu_fill(void *ctx, float *x, float value, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		x[i] = value;
	return 0;
}

static int cpu_sync(void *ctx)
{
	(void)ctx;
	return 0;
}

static int cpu_gemm(void *ctx, int trans_a, int trans_b, size_t m, size_t n,
		    size_t k, float alpha, const float *a, size_t lda,
		    const float *b, size_t ldb, float beta, float *c,
		    size_t ldc)
{
	(void)ctx;
	if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX ||
	    ldb > INT_MAX || ldc > INT_MAX)
		return OPTREG_ELIMIT;
	if (m == 0 || n == 0)
		return 0;
	if (k == 0) {
		/* BLAS would read nothing of A and B; do the same. */
		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < n; j++)
				c[i * ldc + j] =
					beta == 0 ? 0 : beta * c[i * ldc + j];
		return 0;
	}
	cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
		    trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
		    alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
	return 0;
}

static int cpu_bias_add(void *ctx, float *y, const float *bias, size_t rows,
			size_t cols)
{
	(void)ctx;
	for (size_t r = 0; r < rows; r++) {
		float *row = y + r * cols;
		for (size_t c = 0; c < cols; c++)
			row[c] += bias[c];
	}
	return 0;
}

static int cpu_col_sum(void *ctx, float *out, const float *x, size_t rows,
		       size_t cols)
{
	(void)ctx;
	double acc_small[256];
	double *acc =
		cols <= 256 ? acc_small : optreg_xcalloc(cols, sizeof(double));

	/* Row-major walk for the cache; each column still sums r = 0.. */
	for (size_t c = 0; c < cols; c++)
		acc[c] = 0;
	for (size_t r = 0; r < rows; r++) {
		const float *row = x + r * cols;
		for (size_t c = 0; c < cols; c++)
			acc[c] += row[c];
	}
	for (size_t c = 0; c < cols; c++)
		out[c] = (float)acc[c];
	if (acc != acc_small)
		free(acc);
	return 0;
}

/*
 * ReLU without branches (the signs of activations are a coin toss, and a
 * mispredicted branch per element costs more than the work): masks on the
 * bits. Forward keeps NaN, as torch.relu does, so a broken activation
 * stays visible; backward passes the gradient where the output is > 0.
 */
static int cpu_relu_forward(void *ctx, float *restrict y, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		uint32_t b;
		memcpy(&b, &y[i], sizeof(b));
		b &= -(uint32_t) !(y[i] < 0.0f);
		memcpy(&y[i], &b, sizeof(b));
	}
	return 0;
}

static int cpu_relu_backward(void *ctx, float *restrict dy,
			     const float *restrict y, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		uint32_t b;
		memcpy(&b, &dy[i], sizeof(b));
		b &= -(uint32_t)(y[i] > 0.0f);
		memcpy(&dy[i], &b, sizeof(b));
	}
	return 0;
}

static int cpu_softmax_xent(void *ctx, const float *logits, const float *labels,
			    size_t rows, size_t classes, float *dlogits,
			    double *loss_sum, size_t *correct)
{
	(void)ctx;
	double total = 0;
	size_t right = 0;

	if (classes == 0)
		return OPTREG_EINVAL;
	for (size_t r = 0; r < rows; r++) {
		const float *z = logits + r * classes;
		float lf = labels[r];
		if (!(lf >= 0 && lf < (float)classes) || lf != floorf(lf))
			return OPTREG_EINVAL;
		size_t y = (size_t)lf, best = 0;
		for (size_t c = 1; c < classes; c++)
			if (z[c] > z[best])
				best = c;
		double zmax = z[best], sum = 0;
		for (size_t c = 0; c < classes; c++)
			sum += exp((double)z[c] - zmax);
		double lse = zmax + log(sum);
		total += lse - (double)z[y];
		right += best == y;
		if (dlogits) {
			float *dz = dlogits + r * classes;
			for (size_t c = 0; c < classes; c++) {
				double p = exp((double)z[c] - zmax) / sum;
				dz[c] = (float)((p - (c == y)) / (double)rows);
			}
		}
	}
	*loss_sum = total;
	*correct = right;
	return 0;
}

static int cpu_scale(void *ctx, float *x, float alpha, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		x[i] *= alpha;
	return 0;
}

static int cpu_axpy(void *ctx, float *y, float alpha, const float *x, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		y[i] += alpha * x[i];
	return 0;
}

static int cpu_dot(void *ctx, const float *x, const float *y, size_t n,
		   double *out)
{
	(void)ctx;
	double acc = 0;

	for (size_t i = 0; i < n; i++)
		acc += (double)x[i] * (double)y[i];
	*out = acc;
	return 0;
}

/*
 * The update of one tensor and its statistics. Built twice where the
 * compiler can (target_clones, picked at load time): for x86-64-v3 (AVX2
 * and FMA), so the fmaf() calls of adam.h become single instructions, and
 * for the baseline x86-64, where they are libm calls. fmaf is exactly
 * rounded either way, so both give the same bits; only the speed differs.
 *
 * The fast clone needs AVX2, not only FMA: the block loop's counts (small,
 * bad_p, bad_m) are integer sums, and 256-bit integer adds are AVX2. With
 * target "fma" alone (which brings AVX, float vectors only) GCC vectorized
 * the whole loop at 128 bits, 4 floats at a time, and the step ran at 0.36
 * of memcpy (bench/README.md). A CPU with FMA but no AVX2 (AMD's
 * Piledriver) now takes the baseline clone: the same bits, slower.
 *
 * For speed the work goes in blocks of CPU_ADAM_BLOCK elements: first the
 * element-wise part (the update of adam.h, the float difference, the
 * counts), which has no order and which the compiler vectorizes in the
 * x86-64-v3 clone, then the two double sums, added one element at a time
 * in element order exactly as before (the squares of floats are exact in
 * double, and the adds stay serial), so every bit is the same as a plain
 * element loop. Those serial adds are a chain of one double add latency
 * per element, about as long as the vector work of the element; blocks of
 * 32 keep a block's chain and the next block's vector work close enough
 * for the out-of-order core to run them side by side (64 was about 10%
 * slower, 8 and 16 slower still, likely the counts' per-block
 * reductions). One exception to "every bit", older than the blocks: a
 * NaN sum's sign is whichever NaN operand x86 passes on, which follows
 * the operand order the compiler picks, so it can differ between clones
 * (checked: the two clones agree on every other output bit, NaN inputs
 * included).
 * The hyperparameter branches of adam.h are made compile-time constants
 * (cpu_adam_block's flag arguments), so no branch is left in the loop.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(OPTREG_NO_CLONES)
#define CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CPU_CLONES
#endif

#if defined(__GNUC__)
#define CPU_INLINE static inline __attribute__((always_inline))
#else
#define CPU_INLINE static inline
#endif

#define CPU_ADAM_BLOCK 32

struct cpu_adam_acc {
	double psq, usq;
	size_t small, bad_p, bad_m;
};

/*
 * `nb` elements from p, g, m, v, vmax (NULL unless `ams`). The flags stand
 * for the branches of optreg_adam_update_f32: `adamw` for h->adamw,
 * `l2` for h->weight_decay != 0.0 (the float32 update reads weight_decay
 * only for that test; the decay itself comes from s), `maximize` and `ams`
 * for h->maximize and h->amsgrad. Callers pass constants.
 * (double)u < thr is tested as u < fthr, the smallest float >= thr (see
 * cpu_adam_tensor): the same answer for every float u, NaN included.
 */
CPU_INLINE void cpu_adam_block(const struct optreg_adam_hparams *h,
			       const struct optreg_adam_scalars *s, float fthr,
			       const int adamw, const int l2,
			       const int maximize, const int ams,
			       float *restrict p, const float *restrict g,
			       float *restrict m, float *restrict v,
			       float *restrict vmax, const size_t nb,
			       struct cpu_adam_acc *acc)
{
	struct optreg_adam_hparams hh = *h;
	double sp[CPU_ADAM_BLOCK] __attribute__((aligned(64)));
	double su[CPU_ADAM_BLOCK] __attribute__((aligned(64)));
	unsigned small = 0, bad_p = 0, bad_m = 0;
	double psq = acc->psq, usq = acc->usq;

	float gneg[CPU_ADAM_BLOCK] __attribute__((aligned(64)));

	/*
	 * maximize: the gradient negated first, in its own loop, and the
	 * update run as a plain one on it. The negation must stay a sign flip
	 * that is done: folded into the arithmetic (fnmadd, -a * -a = a * a)
	 * it would leave the sign of a NaN gradient unflipped, and that sign
	 * is part of the result.
	 */
	if (maximize) {
		for (size_t i = 0; i < nb; i++)
			gneg[i] = -g[i];
		g = gneg;
	}
	hh.adamw = adamw;
	hh.weight_decay = l2 ? 1.0 : 0.0;
	hh.maximize = 0;
	hh.amsgrad = ams;
	for (size_t i = 0; i < nb; i++) {
		float p0 = p[i];
		optreg_adam_update_f32(s, &hh, &p[i], g[i], &m[i], &v[i],
				       ams ? &vmax[i] : NULL);
		float d = p[i] - p0;
		float u = ams ? vmax[i] : v[i];
		double p0d = p0, dd = d;
		sp[i] = p0d * p0d;
		su[i] = dd * dd;
		small += u < fthr;
		/* & rather than &&: no branch in the loop */
		bad_p += !(fabsf(p[i]) <= FLT_MAX);
		if (ams)
			bad_m += !((fabsf(m[i]) <= FLT_MAX) &
				   (fabsf(v[i]) <= FLT_MAX) &
				   (fabsf(vmax[i]) <= FLT_MAX));
		else
			bad_m += !((fabsf(m[i]) <= FLT_MAX) &
				   (fabsf(v[i]) <= FLT_MAX));
	}
	/* The sums in element order, one add at a time. */
	for (size_t i = 0; i < nb; i++) {
		psq += sp[i];
		usq += su[i];
	}
	acc->psq = psq;
	acc->usq = usq;
	acc->small += small;
	acc->bad_p += bad_p;
	acc->bad_m += bad_m;
}

CPU_INLINE void cpu_adam_run(const struct optreg_adam_hparams *h,
			     const struct optreg_adam_scalars *s, float fthr,
			     const int adamw, const int l2, const int maximize,
			     const int ams, float *restrict p,
			     const float *restrict g, float *restrict m,
			     float *restrict v, float *restrict vmax, size_t n,
			     struct cpu_adam_acc *acc)
{
	size_t i = 0;

	for (; i + CPU_ADAM_BLOCK <= n; i += CPU_ADAM_BLOCK)
		cpu_adam_block(h, s, fthr, adamw, l2, maximize, ams, p + i,
			       g + i, m + i, v + i, ams ? vmax + i : NULL,
			       CPU_ADAM_BLOCK, acc);
	if (i < n)
		cpu_adam_block(h, s, fthr, adamw, l2, maximize, ams, p + i,
			       g + i, m + i, v + i, ams ? vmax + i : NULL,
			       n - i, acc);
}

CPU_CLONES
static void cpu_adam_tensor(const struct optreg_adam_hparams *h,
			    const struct optreg_adam_scalars *s, double thr,
			    float *restrict p, const float *restrict g,
			    float *restrict m, float *restrict v,
			    float *restrict vmax, size_t n,
			    struct optreg_adam_tensor_stats *ts)
{
	struct cpu_adam_acc acc = {0, 0, 0, 0, 0};
	int adamw = h->adamw != 0, l2 = !adamw && h->weight_decay != 0.0;
	int mx = h->maximize != 0, ams = vmax != NULL;
	/* The smallest float >= thr (+inf above FLT_MAX, NaN for NaN): for a
	 * float u, u < fthr exactly when (double)u < thr. */
	float fthr = (float)thr;

	if ((double)fthr < thr)
		fthr = nextafterf(fthr, INFINITY);

#define CPU_ADAM_CASE(a, l, x, q)                                              \
	cpu_adam_run(h, s, fthr, a, l, x, q, p, g, m, v, vmax, n, &acc)
	switch ((adamw << 3) | (l2 << 2) | (mx << 1) | ams) {
	case 0:
		CPU_ADAM_CASE(0, 0, 0, 0);
		break;
	case 1:
		CPU_ADAM_CASE(0, 0, 0, 1);
		break;
	case 2:
		CPU_ADAM_CASE(0, 0, 1, 0);
		break;
	case 3:
		CPU_ADAM_CASE(0, 0, 1, 1);
		break;
	case 4:
		CPU_ADAM_CASE(0, 1, 0, 0);
		break;
	case 5:
		CPU_ADAM_CASE(0, 1, 0, 1);
		break;
	case 6:
		CPU_ADAM_CASE(0, 1, 1, 0);
		break;
	case 7:
		CPU_ADAM_CASE(0, 1, 1, 1);
		break;
	case 8:
		CPU_ADAM_CASE(1, 0, 0, 0);
		break;
	case 9:
		CPU_ADAM_CASE(1, 0, 0, 1);
		break;
	case 10:
		CPU_ADAM_CASE(1, 0, 1, 0);
		break;
	default:
		CPU_ADAM_CASE(1, 0, 1, 1);
		break;
	}
#undef CPU_ADAM_CASE
	ts->param_sumsq = acc.psq;
	ts->update_sumsq = acc.usq;
	ts->small_denom = acc.small;
	ts->nonfinite_param = acc.bad_p;
	ts->nonfinite_moment = acc.bad_m;
}

/* optreg_norm2_f32 (torch's summation order), cloned like the update. */
CPU_CLONES
static float cpu_norm2(const float *x, size_t n)
{
	return optreg_norm2_f32(x, (long)n);
}

/*
 * Low-precision optimizer state (st->state_precision): after the float32
 * update of a tensor, m, v and vmax are stored rounded to the format, as
 * PyTorch's fused Adam stores half/bfloat16 state (load, compute in float,
 * round on store), so this step's parameter update used the unrounded
 * values and the next step starts from the rounded ones. The counts that
 * describe the stored state are taken again from the rounded values.
 * Rounding after the tensor's update gives the same bits as rounding each
 * element right after its own update: no element reads another's state.
 */
/* `nb` elements, the format and `ams` (vmax present) constants, so that
 * the loop has no branch and blocks of CPU_ADAM_BLOCK vectorize as the
 * update's do. */
CPU_INLINE void cpu_state_round_block(const enum optreg_precision prec,
				      const int ams, float fthr,
				      float *restrict m, float *restrict v,
				      float *restrict vmax, const size_t nb,
				      size_t *small, size_t *bad_m)
{
	unsigned sm = 0, bad = 0;

	for (size_t i = 0; i < nb; i++) {
		float mi = optreg_round_to(m[i], prec);
		float vi = optreg_round_to(v[i], prec);
		float u = vi;
		unsigned b = !(fabsf(mi) <= FLT_MAX) | !(fabsf(vi) <= FLT_MAX);
		m[i] = mi;
		v[i] = vi;
		if (ams) {
			float xi = optreg_round_to(vmax[i], prec);
			vmax[i] = xi;
			u = xi;
			b |= !(fabsf(xi) <= FLT_MAX);
		}
		sm += u < fthr;
		bad += b;
	}
	*small += sm;
	*bad_m += bad;
}

CPU_INLINE void cpu_state_round_as(const enum optreg_precision prec,
				   const int ams, float fthr, float *restrict m,
				   float *restrict v, float *restrict vmax,
				   size_t n,
				   struct optreg_adam_tensor_stats *ts)
{
	size_t small = 0, bad_m = 0, i = 0;

	for (; i + CPU_ADAM_BLOCK <= n; i += CPU_ADAM_BLOCK)
		cpu_state_round_block(prec, ams, fthr, m + i, v + i,
				      ams ? vmax + i : NULL, CPU_ADAM_BLOCK,
				      &small, &bad_m);
	if (i < n)
		cpu_state_round_block(prec, ams, fthr, m + i, v + i,
				      ams ? vmax + i : NULL, n - i, &small,
				      &bad_m);
	ts->small_denom = small;
	ts->nonfinite_moment = bad_m;
}

/* The format and vmax's presence as constants in each loop (cloned like
 * the update). */
CPU_CLONES
static void cpu_state_round(enum optreg_precision prec, float fthr,
			    float *restrict m, float *restrict v,
			    float *restrict vmax, size_t n,
			    struct optreg_adam_tensor_stats *ts)
{
	int fp16 = prec == OPTREG_PRECISION_FP16;

	if (fp16 && vmax)
		cpu_state_round_as(OPTREG_PRECISION_FP16, 1, fthr, m, v, vmax,
				   n, ts);
	else if (fp16)
		cpu_state_round_as(OPTREG_PRECISION_FP16, 0, fthr, m, v, NULL,
				   n, ts);
	else if (vmax)
		cpu_state_round_as(OPTREG_PRECISION_BF16, 1, fthr, m, v, vmax,
				   n, ts);
	else
		cpu_state_round_as(OPTREG_PRECISION_BF16, 0, fthr, m, v, NULL,
				   n, ts);
}

CPU_INLINE void cpu_round_block(const enum optreg_precision prec,
				float *restrict x, const size_t nb)
{
	for (size_t i = 0; i < nb; i++)
		x[i] = optreg_round_to(x[i], prec);
}

CPU_INLINE void cpu_round_as(const enum optreg_precision prec, float *x,
			     size_t n)
{
	size_t i = 0;

	for (; i + CPU_ADAM_BLOCK <= n; i += CPU_ADAM_BLOCK)
		cpu_round_block(prec, x + i, CPU_ADAM_BLOCK);
	if (i < n)
		cpu_round_block(prec, x + i, n - i);
}

CPU_CLONES
static int cpu_round_to(void *ctx, float *x, size_t n,
			enum optreg_precision precision)
{
	(void)ctx;
	switch (precision) {
	case OPTREG_PRECISION_FP32:
		return 0;
	case OPTREG_PRECISION_FP16:
		cpu_round_as(OPTREG_PRECISION_FP16, x, n);
		return 0;
	case OPTREG_PRECISION_BF16:
		cpu_round_as(OPTREG_PRECISION_BF16, x, n);
		return 0;
	}
	return OPTREG_EINVAL;
}

static int cpu_adam_step(void *ctx, const struct optreg_adam_step *st,
			 struct optreg_adam_step_out *out)
{
	(void)ctx;
	struct optreg_adam_scalars *sc;
	double *small_thr;

	for (size_t g = 0; g < st->ngroups; g++)
		if (st->groups[g].h.amsgrad && !st->vmax)
			return OPTREG_EINVAL;
	if (!optreg_precision_name(st->state_precision))
		return OPTREG_EINVAL;
	sc = optreg_xcalloc(st->ngroups ? st->ngroups : 1, sizeof(*sc));
	small_thr = optreg_xcalloc(st->ngroups ? st->ngroups : 1,
				   sizeof(*small_thr));
	for (size_t g = 0; g < st->ngroups; g++) {
		const struct optreg_adam_group *gr = &st->groups[g];
		optreg_adam_scalars_init(&sc[g], &gr->h, st->step, gr->lr_t);
		/* sqrt(u) / sqrt(bc2) < eps  <=>  u < eps^2 * bc2 (u >= 0) */
		double bc2 = 1 - pow(gr->h.beta2, (double)st->step);
		small_thr[g] = gr->h.eps * gr->h.eps * bc2;
	}

	/*
	 * 1 and 2. clip_grad_norm_ in torch's order: the norm of each tensor,
	 * the norm of those norms, and every gradient times the clamped
	 * factor (by 1 when the norm is below the maximum, as torch does).
	 */
	float *norms =
		optreg_xcalloc(st->ntensors ? st->ntensors : 1, sizeof(float));
	for (size_t k = 0; k < st->ntensors; k++) {
		const struct optreg_adam_tensor *t = &st->tensors[k];
		norms[k] = cpu_norm2(st->grad + t->offset, t->n);
		memset(&out->tensors[k], 0, sizeof(out->tensors[k]));
		out->tensors[k].grad_norm = norms[k];
	}
	float total = cpu_norm2(norms, st->ntensors);
	free(norms);
	out->grad_norm = total;
	out->clip_coef = 1;
	if (st->max_grad_norm > 0) {
		float cf = optreg_clip_coef_f32(total, st->max_grad_norm);
		out->clip_coef = cf;
		for (size_t k = 0; k < st->ntensors; k++) {
			float *g = st->grad + st->tensors[k].offset;
			for (size_t i = 0; i < st->tensors[k].n; i++)
				g[i] = g[i] * cf;
		}
	}

	/* 3 and 4. The update, with its statistics. */
	for (size_t k = 0; k < st->ntensors; k++) {
		const struct optreg_adam_tensor *t = &st->tensors[k];
		assert(t->group < st->ngroups);
		cpu_adam_tensor(&st->groups[t->group].h, &sc[t->group],
				small_thr[t->group], st->param + t->offset,
				st->grad + t->offset, st->m + t->offset,
				st->v + t->offset,
				st->groups[t->group].h.amsgrad
					? st->vmax + t->offset
					: NULL,
				t->n, &out->tensors[k]);
		if (st->state_precision != OPTREG_PRECISION_FP32) {
			/* The same threshold as cpu_adam_tensor's. */
			float fthr = (float)small_thr[t->group];
			if ((double)fthr < small_thr[t->group])
				fthr = nextafterf(fthr, INFINITY);
			cpu_state_round(st->state_precision, fthr,
					st->m + t->offset, st->v + t->offset,
					st->groups[t->group].h.amsgrad
						? st->vmax + t->offset
						: NULL,
					t->n, &out->tensors[k]);
		}
	}
	free(sc);
	free(small_thr);
	return 0;
}

/*
 * The transformer kernels (runner/kernels.h holds the per-row math). Plain
 * loops over rows in order; the column sums of the LayerNorm backward and
 * the embedding scatter walk the rows in order too.
 */
static int cpu_ids_check(const float *ids, size_t rows, size_t vocab)
{
	for (size_t r = 0; r < rows; r++)
		if (!(ids[r] >= 0 && ids[r] < (float)vocab) ||
		    ids[r] != floorf(ids[r]))
			return OPTREG_EINVAL;
	return 0;
}

static int cpu_embed_forward(void *ctx, float *out, const float *tok,
			     const float *pos, const float *ids, size_t rows,
			     size_t context, size_t d, size_t vocab)
{
	(void)ctx;
	if (context == 0 || cpu_ids_check(ids, rows, vocab))
		return OPTREG_EINVAL;
	for (size_t r = 0; r < rows; r++) {
		const float *te = tok + (size_t)ids[r] * d;
		const float *pe = pos + (r % context) * d;
		float *o = out + r * d;
		for (size_t c = 0; c < d; c++)
			o[c] = te[c] + pe[c];
	}
	return 0;
}

static int cpu_embed_backward(void *ctx, float *dtok, float *dpos,
			      const float *dout, const float *ids, size_t rows,
			      size_t context, size_t d, size_t vocab)
{
	(void)ctx;
	if (context == 0 || cpu_ids_check(ids, rows, vocab))
		return OPTREG_EINVAL;
	for (size_t r = 0; r < rows; r++) {
		float *te = dtok + (size_t)ids[r] * d;
		float *pe = dpos + (r % context) * d;
		const float *g = dout + r * d;
		for (size_t c = 0; c < d; c++) {
			te[c] += g[c];
			pe[c] += g[c];
		}
	}
	return 0;
}

static int cpu_layernorm_forward(void *ctx, float *y, float *mean, float *rstd,
				 const float *x, const float *w, const float *b,
				 size_t rows, size_t n)
{
	(void)ctx;
	if (n == 0)
		return OPTREG_EINVAL;
	for (size_t r = 0; r < rows; r++)
		optreg_ln_fwd_row_f32(x + r * n, w, b, y + r * n, &mean[r],
				      &rstd[r], (long)n);
	return 0;
}

static int cpu_layernorm_backward(void *ctx, float *dx, float *dw, float *db,
				  const float *dy, const float *x,
				  const float *mean, const float *rstd,
				  const float *w, size_t rows, size_t n)
{
	(void)ctx;
	double *acc;

	if (n == 0)
		return OPTREG_EINVAL;
	acc = optreg_xcalloc(2 * n, sizeof(double));
	for (size_t r = 0; r < rows; r++) {
		const float *dyr = dy + r * n, *xr = x + r * n;
		optreg_ln_bwd_row_f32(dyr, xr, w, mean[r], rstd[r], dx + r * n,
				      (long)n);
		for (size_t c = 0; c < n; c++) {
			acc[c] += (double)dyr[c] *
				  optreg_ln_xhat_f32(xr[c], mean[r], rstd[r]);
			acc[n + c] += (double)dyr[c];
		}
	}
	for (size_t c = 0; c < n; c++) {
		dw[c] = (float)acc[c];
		db[c] = (float)acc[n + c];
	}
	free(acc);
	return 0;
}

static int cpu_attn_softmax_forward(void *ctx, float *p, const float *s,
				    size_t nmat, size_t T, double scale)
{
	(void)ctx;
	for (size_t r = 0; r < nmat * T; r++)
		optreg_causal_softmax_row_f32(s + r * T, p + r * T,
					      (long)(r % T), (long)T, scale);
	return 0;
}

static int cpu_attn_softmax_backward(void *ctx, float *ds, const float *p,
				     const float *dp, size_t nmat, size_t T,
				     double scale)
{
	(void)ctx;
	for (size_t r = 0; r < nmat * T; r++)
		optreg_causal_softmax_bwd_row_f32(p + r * T, dp + r * T,
						  ds + r * T, (long)(r % T),
						  (long)T, scale);
	return 0;
}

static int cpu_gelu_forward(void *ctx, float *y, const float *x, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		y[i] = optreg_gelu_f32(x[i]);
	return 0;
}

static int cpu_gelu_backward(void *ctx, float *dx, const float *dy,
			     const float *x, const float *y, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		dx[i] = optreg_gelu_bwd_f32(dy[i], x[i], y[i]);
	return 0;
}

static void cpu_destroy(struct optreg_backend *be)
{
	free(be->ctx);
	be->ctx = NULL;
}

int optreg_cpu_backend_init(struct optreg_backend *be, int threads,
			    struct optreg_errors *errs)
{
	struct cpu_ctx *c;

	memset(be, 0, sizeof(*be));
	if (threads < 1 || threads > 256) {
		if (errs)
			optreg_error_set_hint(
				optreg_errors_add(errs, OPTREG_EUSAGE,
						  "threads", NULL,
						  "cpu backend: thread count "
						  "must be between 1 and 256 "
						  "(got %d)",
						  threads),
				"Pass a fixed count; results are "
				"reproducible per count.");
		return OPTREG_EUSAGE;
	}
	/* Process-wide; set before the first GEMM and never changed. */
	openblas_set_num_threads(threads);
	c = optreg_xcalloc(1, sizeof(*c));
	c->threads = threads;

	be->name = "cpu";
	/* OPENBLAS_VERSION reads " OpenBLAS 0.3.21 ": drop the spaces. */
	const char *ver = OPENBLAS_VERSION;
	while (*ver == ' ')
		ver++;
	int vlen = (int)strlen(ver);
	while (vlen > 0 && ver[vlen - 1] == ' ')
		vlen--;
	snprintf(be->device, sizeof(be->device), "cpu: %.*s, %s kernels, %d %s",
		 vlen, ver, openblas_get_corename(), threads,
		 threads == 1 ? "thread" : "threads");
	be->ctx = c;
	be->destroy = cpu_destroy;
	be->round_to = cpu_round_to;
	be->alloc = cpu_alloc;
	be->free = cpu_free;
	be->upload = cpu_upload;
	be->download = cpu_download;
	be->fill = cpu_fill;
	be->sync = cpu_sync;
	be->gemm = cpu_gemm;
	be->bias_add = cpu_bias_add;
	be->col_sum = cpu_col_sum;
	be->relu_forward = cpu_relu_forward;
	be->relu_backward = cpu_relu_backward;
	be->softmax_xent = cpu_softmax_xent;
	be->scale = cpu_scale;
	be->axpy = cpu_axpy;
	be->dot = cpu_dot;
	be->adam_step = cpu_adam_step;
	be->embed_forward = cpu_embed_forward;
	be->embed_backward = cpu_embed_backward;
	be->layernorm_forward = cpu_layernorm_forward;
	be->layernorm_backward = cpu_layernorm_backward;
	be->attn_softmax_forward = cpu_attn_softmax_forward;
	be->attn_softmax_backward = cpu_attn_softmax_backward;
	be->gelu_forward = cpu_gelu_forward;
	be->gelu_backward = cpu_gelu_backward;
	return 0;
}
