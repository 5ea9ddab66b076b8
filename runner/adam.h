/*
 * runner/adam.h: the Adam/AdamW update of one element, and the gradient
 * clipping coefficient, written once for the CPU backend and for CUDA
 * device code (OPTREG_HD).
 *
 * The arithmetic is torch 1.13's for-loop path (torch.optim.Adam/AdamW with
 * foreach=False, `_single_tensor_adam`/`_single_tensor_adamw`) on the CPU,
 * operation for operation, so that the result is bit-exact with PyTorch
 * (docs/runner.md, "The Adam arithmetic"; checked against the golden traces
 * by the runner's selftest):
 *
 *   bc1 = 1 - b1^t; bc2 = 1 - b2^t; ss = lr / bc1; bc2s = sqrt(bc2)
 *   g = maximize ? -grad : grad
 *   adam:  g = g + wd * p                       grad.add(param, alpha=wd)
 *   adamw: p = p * (1 - lr * wd)                param.mul_(1 - lr * wd)
 *   m = m * b1 + (1 - b1) * g                   exp_avg.mul_(b1).add_(g, ...)
 *   v = v * b2 + ((1 - b2) * g) * g             exp_avg_sq.mul_(b2).addcmul_
 *   u = amsgrad ? (vmax = maximum(vmax, v)) : v
 *   p = p + ((-ss) * m) / (sqrt(u) / bc2s + eps)   param.addcdiv_(m, denom)
 *
 * Where torch's AVX2 kernels fuse a multiply and an add (add's `alpha`,
 * addcmul, the norm's sums of squares), the code calls fma()/fmaf(); where
 * torch rounds a product before an add (AdamW's decay), optreg_mul_rn keeps
 * nvcc from fusing them. The per-step scalars are Python floats (double)
 * in torch; a float32 kernel rounds each to float once, which is what
 * struct optreg_adam_scalars holds in its f32_* fields. The rounding points
 * were found by replaying the golden traces: every one of them, clipped or
 * not, is reproduced bit for bit on the CPU.
 *
 * Math used: sqrt, sqrtf, pow, fma, fmaf and IEEE division, all correctly
 * rounded both in libm and in CUDA device code (nvcc's defaults
 * -prec-sqrt=true, -prec-div=true), so a GPU can match the CPU too as long
 * as the scalars come from the host (see optreg_adam_scalars_init).
 */
#ifndef OPTREG_ADAM_H
#define OPTREG_ADAM_H

#include <math.h>

#ifndef OPTREG_HD
#ifdef __CUDACC__
#define OPTREG_HD __host__ __device__
#else
#define OPTREG_HD
#endif
#endif

/*
 * a * b rounded once and never fused with the add that follows it. C
 * compilers here do not fuse across statements (-std=c11 keeps GCC's
 * contraction off; clang contracts within one expression only), but nvcc
 * fuses a multiply into a later add by default (--fmad=true), which would
 * change the result where torch rounds the product first.
 */
static inline OPTREG_HD double optreg_mul_rn(double a, double b)
{
#ifdef __CUDA_ARCH__
	return __dmul_rn(a, b);
#else
	return a * b;
#endif
}

static inline OPTREG_HD float optreg_mulf_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
	return __fmul_rn(a, b);
#else
	return a * b;
#endif
}

/* The optimizer's hyperparameters (torch's names). `lr` is the base rate;
 * the scheduled rate of a step goes to optreg_adam_scalars_init. */
struct optreg_adam_hparams {
	double lr, beta1, beta2, eps, weight_decay;
	int adamw;    /* decoupled weight decay (AdamW) rather than L2 (Adam) */
	int amsgrad;  /* keep and use the running maximum of exp_avg_sq */
	int maximize; /* ascend: the gradient's sign is flipped */
};

/* Per-step scalars, computed once per step (in double, as torch does in
 * Python) and shared by every element. */
struct optreg_adam_scalars {
	double lr_t;	  /* the scheduled learning rate of this step */
	double bc1, bc2;  /* 1 - beta1^t, 1 - beta2^t */
	double step_size; /* lr_t / bc1 */
	double bc2_sqrt;  /* sqrt(bc2) */
	double decay;	  /* 1 - lr_t * weight_decay (AdamW) */

	/* The same values as a torch float32 kernel sees them: each
	 * double rounded to float once. */
	float f32_beta1, f32_one_minus_beta1;
	float f32_beta2, f32_one_minus_beta2;
	float f32_eps, f32_weight_decay, f32_decay;
	float f32_bc2_sqrt, f32_neg_step_size;
};

/*
 * Fills `s` for optimizer step `step` (1-based: the first update is step 1)
 * at the scheduled learning rate `lr_t`. `h->lr` is not used: the schedule
 * has already been applied to it. Call it on the host and hand the result
 * to a kernel: torch's bias corrections come from glibc's pow, and CUDA's
 * device pow may differ from it in the last bit.
 */
static inline OPTREG_HD void
optreg_adam_scalars_init(struct optreg_adam_scalars *s,
			 const struct optreg_adam_hparams *h, long step,
			 double lr_t)
{
	double t = (double)step;

	s->lr_t = lr_t;
	s->bc1 = 1.0 - pow(h->beta1, t);
	s->bc2 = 1.0 - pow(h->beta2, t);
	s->step_size = lr_t / s->bc1;
	s->bc2_sqrt = sqrt(s->bc2);
	s->decay = 1.0 - optreg_mul_rn(lr_t, h->weight_decay);

	s->f32_beta1 = (float)h->beta1;
	s->f32_one_minus_beta1 = (float)(1.0 - h->beta1);
	s->f32_beta2 = (float)h->beta2;
	s->f32_one_minus_beta2 = (float)(1.0 - h->beta2);
	s->f32_eps = (float)h->eps;
	s->f32_weight_decay = (float)h->weight_decay;
	s->f32_decay = (float)s->decay;
	s->f32_bc2_sqrt = (float)s->bc2_sqrt;
	s->f32_neg_step_size = (float)(-s->step_size);
}

/* torch.maximum: the larger value, NaN when either is NaN (fmax would
 * drop a NaN and hide a diverged moment). */
static inline OPTREG_HD double optreg_adam_maximum_f64(double a, double b)
{
	if (a != a || b != b)
		return a + b;
	return a > b ? a : b;
}

static inline OPTREG_HD float optreg_adam_maximum_f32(float a, float b)
{
	if (a != a || b != b)
		return a + b;
	return a > b ? a : b;
}

/*
 * One Adam/AdamW step of one float64 element: updates *p, *m (exp_avg),
 * *v (exp_avg_sq) and, with h->amsgrad, *vmax (max_exp_avg_sq; may be NULL
 * otherwise). `grad` is the (already clipped) gradient.
 */
static inline OPTREG_HD void
optreg_adam_update_f64(const struct optreg_adam_scalars *s,
		       const struct optreg_adam_hparams *h, double *p,
		       double grad, double *m, double *v, double *vmax)
{
	double g = h->maximize ? -grad : grad;
	double param = *p, u;

	if (h->adamw)
		param = optreg_mul_rn(param, s->decay);
	else if (h->weight_decay != 0.0)
		g = fma(h->weight_decay, param, g);
	*m = fma(1.0 - h->beta1, g, *m * h->beta1);
	*v = fma((1.0 - h->beta2) * g, g, *v * h->beta2);
	u = *v;
	if (h->amsgrad) {
		*vmax = optreg_adam_maximum_f64(*vmax, *v);
		u = *vmax;
	}
	double denom = sqrt(u) / s->bc2_sqrt + h->eps;
	*p = param + (-s->step_size * *m) / denom;
}

/* The float32 step: the same operations in float, with the scalars
 * rounded to float as torch's float32 kernels receive them. */
static inline OPTREG_HD void
optreg_adam_update_f32(const struct optreg_adam_scalars *s,
		       const struct optreg_adam_hparams *h, float *p,
		       float grad, float *m, float *v, float *vmax)
{
	float g = h->maximize ? -grad : grad;
	float param = *p, u;

	if (h->adamw)
		param = optreg_mulf_rn(param, s->f32_decay);
	else if (h->weight_decay != 0.0)
		g = fmaf(s->f32_weight_decay, param, g);
	*m = fmaf(s->f32_one_minus_beta1, g, *m * s->f32_beta1);
	*v = fmaf(s->f32_one_minus_beta2 * g, g, *v * s->f32_beta2);
	u = *v;
	if (h->amsgrad) {
		*vmax = optreg_adam_maximum_f32(*vmax, *v);
		u = *vmax;
	}
	float denom = sqrtf(u) / s->f32_bc2_sqrt + s->f32_eps;
	*p = param + (s->f32_neg_step_size * *m) / denom;
}

/*
 * The L2 norm of one tensor of `n` elements, summed in torch 1.13's order
 * on an AVX2 CPU (the capability Debian's build picks), so a clipped step
 * can match torch bit for bit. Checked against torch.norm(x, 2) for n from
 * 1 to 100,000 and against every clipped golden trace.
 *
 * float32 (the vectorised last-dimension kernel): 8 running sums, element
 * i to sum i % 8, each a fused multiply-add; the sums added left to right;
 * the n % 8 tail fused into the total one by one; then sqrtf.
 * float64 (the generic reduction): one running sum of fused
 * multiply-adds in element order, then sqrt.
 *
 * clip_grad_norm_ over several tensors takes the norm of their norms:
 * norms[k] = optreg_norm2_*(tensor k), total = optreg_norm2_*(norms, K).
 * (Serial loops: a CUDA backend reduces in its own order, within
 * tolerance.)
 */
#define OPTREG_NORM2_LANES_F32 8

static inline OPTREG_HD float optreg_norm2_f32(const float *x, long n)
{
	float acc[OPTREG_NORM2_LANES_F32] = {0};
	long d = 0;

	for (; d + OPTREG_NORM2_LANES_F32 <= n; d += OPTREG_NORM2_LANES_F32)
		for (int j = 0; j < OPTREG_NORM2_LANES_F32; j++)
			acc[j] = fmaf(x[d + j], x[d + j], acc[j]);
	for (int j = 1; j < OPTREG_NORM2_LANES_F32; j++)
		acc[0] = acc[0] + acc[j];
	for (; d < n; d++)
		acc[0] = fmaf(x[d], x[d], acc[0]);
	return sqrtf(acc[0]);
}

static inline OPTREG_HD double optreg_norm2_f64(const double *x, long n)
{
	double acc = 0.0;

	for (long d = 0; d < n; d++)
		acc = fma(x[d], x[d], acc);
	return sqrt(acc);
}

/*
 * torch.nn.utils.clip_grad_norm_'s factor for a total L2 norm: max_norm /
 * (total_norm + 1e-6), clamped to at most 1, so multiplying every gradient
 * by it is always right (by 1 it changes nothing). A NaN norm gives NaN,
 * as in torch, so a diverged gradient stays visible. Computed the way torch
 * 1.13 evaluates `max_norm / tensor`: tensor.reciprocal() * max_norm.
 */
static inline OPTREG_HD double optreg_clip_coef(double total_norm,
						double max_norm)
{
	double coef = (1.0 / (total_norm + 1e-6)) * max_norm;

	return coef > 1.0 ? 1.0 : coef;
}

/* The same for float32 gradients: torch computes the norm and the factor
 * as float32 tensors. */
static inline OPTREG_HD float optreg_clip_coef_f32(float total_norm,
						   double max_norm)
{
	float coef = (1.0f / (total_norm + (float)1e-6)) * (float)max_norm;

	return coef > 1.0f ? 1.0f : coef;
}

#endif
