/*
 * runner/kernels.h: the per-row arithmetic of the transformer language
 * model's kernels (the `lm` workload, runner/lm.c), written once for the CPU
 * backend and for CUDA device code (OPTREG_HD, runner/adam.h).
 *
 * Every function is defined twice, by OPTREG_KERNELS_DEFINE: with storage
 * type float (suffix _f32, what the backends run) and double (suffix _f64,
 * what the unit tests check against central finite differences). The
 * arithmetic inside is double in both, with every sum in index order, so the
 * two differ only where a float is stored. GELU's float version uses a
 * rational erfc of float accuracy (optreg_erfc_pos), its double version
 * libm's erfc. A backend assigns rows to
 * threads as it likes; within a row the order below is the order.
 *
 * Unlike runner/adam.h, these kernels do not pin their rounding points:
 * nvcc fuses multiplies into adds by default (--fmad=true) and CUDA's exp
 * and erfc are not glibc's, so a CUDA backend built from this header
 * computes the same function to within rounding, not bit for bit (the lm
 * workload's results differ between backends in the last bits; build with
 * -fmad=false for closer agreement).
 *
 *   layernorm   mean = sum_i x_i / n; var = sum_i (x_i - mean)^2 / n (the
 *               biased variance, as torch.nn.LayerNorm); rstd = 1 /
 *               sqrt(var + 1e-5); mean and rstd are stored (rounded to the
 *               storage type) and y_i = (x_i - mean) * rstd * w_i + b_i
 *               uses the stored values. Backward with xhat_i = (x_i - mean)
 *               * rstd, g_i = dy_i * w_i: dx_i = rstd * (g_i - mean(g) -
 *               xhat_i * mean(g * xhat)); the weight and bias gradients are
 *               column sums of dy_i * xhat_i and dy_i over the rows.
 *   softmax     causal attention: row i of a T x T score matrix S, with
 *               scale c: p_j = exp(c s_j - max) / sum_{k <= i} exp(c s_k -
 *               max) for j <= i, max over k <= i; p_j = 0 for j > i
 *               (each exp is rounded to the storage type, summed in
 *               double, then divided).
 *               Backward: ds_j = c p_j (dp_j - sum_{k <= i} p_k dp_k).
 *   gelu        torch.nn.GELU() (the erf form): x / 2 (1 + erf(x / sqrt 2));
 *               derivative (1 + erf(x / sqrt 2)) / 2 + x phi(x), phi the
 *               standard normal density.
 */
#ifndef OPTREG_KERNELS_H
#define OPTREG_KERNELS_H

#include <math.h>

#include "adam.h" /* OPTREG_HD */

#define OPTREG_LN_EPS 1e-5

#define OPTREG_KERNELS_DEFINE(sfx, real)                                       \
	/* One row of n: y, and the row's mean and rstd. */                    \
	static inline OPTREG_HD void optreg_ln_fwd_row_##sfx(                  \
		const real *x, const real *w, const real *b, real *y,          \
		real *mean_out, real *rstd_out, long n)                        \
	{                                                                      \
		double s = 0, v = 0;                                           \
		for (long i = 0; i < n; i++)                                   \
			s += (double)x[i];                                     \
		double mu = s / (double)n;                                     \
		for (long i = 0; i < n; i++) {                                 \
			double d = (double)x[i] - mu;                          \
			v += d * d;                                            \
		}                                                              \
		real mr = (real)mu;                                            \
		real rr = (real)(1.0 / sqrt(v / (double)n + OPTREG_LN_EPS));   \
		*mean_out = mr;                                                \
		*rstd_out = rr;                                                \
		for (long i = 0; i < n; i++)                                   \
			y[i] = (real)(((double)x[i] - (double)mr) *            \
					      (double)rr * (double)w[i] +      \
				      (double)b[i]);                           \
	}                                                                      \
                                                                               \
	/* xhat of one element, as the backward pass sees it. */               \
	static inline OPTREG_HD double optreg_ln_xhat_##sfx(real x, real mean, \
							    real rstd)         \
	{                                                                      \
		return ((double)x - (double)mean) * (double)rstd;              \
	}                                                                      \
                                                                               \
	/* dx of one row of n (dx may not alias dy or x). */                   \
	static inline OPTREG_HD void optreg_ln_bwd_row_##sfx(                  \
		const real *dy, const real *x, const real *w, real mean,       \
		real rstd, real *dx, long n)                                   \
	{                                                                      \
		double sg = 0, sgx = 0;                                        \
		for (long i = 0; i < n; i++) {                                 \
			double g = (double)dy[i] * (double)w[i];               \
			sg += g;                                               \
			sgx += g * optreg_ln_xhat_##sfx(x[i], mean, rstd);     \
		}                                                              \
		double a = sg / (double)n, c = sgx / (double)n;                \
		for (long i = 0; i < n; i++) {                                 \
			double g = (double)dy[i] * (double)w[i];               \
			double xh = optreg_ln_xhat_##sfx(x[i], mean, rstd);    \
			dx[i] = (real)((double)rstd * (g - a - xh * c));       \
		}                                                              \
	}                                                                      \
                                                                               \
	/* Row i of a causal T x T score matrix; p may alias s. */             \
	static inline OPTREG_HD void optreg_causal_softmax_row_##sfx(          \
		const real *s, real *p, long i, long T, double scale)          \
	{                                                                      \
		double mx = scale * (double)s[0], sum = 0;                     \
		for (long j = 1; j <= i; j++)                                  \
			if (scale * (double)s[j] > mx)                         \
				mx = scale * (double)s[j];                     \
		for (long j = 0; j <= i; j++) {                                \
			p[j] = (real)exp(scale * (double)s[j] - mx);           \
			sum += (double)p[j];                                   \
		}                                                              \
		for (long j = 0; j <= i; j++)                                  \
			p[j] = (real)((double)p[j] / sum);                     \
		for (long j = i + 1; j < T; j++)                               \
			p[j] = 0;                                              \
	}                                                                      \
                                                                               \
	/* Its backward: ds from p and dp (ds may alias dp). */                \
	static inline OPTREG_HD void optreg_causal_softmax_bwd_row_##sfx(      \
		const real *p, const real *dp, real *ds, long i, long T,       \
		double scale)                                                  \
	{                                                                      \
		double dot = 0;                                                \
		for (long j = 0; j <= i; j++)                                  \
			dot += (double)p[j] * (double)dp[j];                   \
		for (long j = 0; j <= i; j++)                                  \
			ds[j] = (real)(scale * (double)p[j] *                  \
				       ((double)dp[j] - dot));                 \
		for (long j = i + 1; j < T; j++)                               \
			ds[j] = 0;                                             \
	}

OPTREG_KERNELS_DEFINE(f32, float)
OPTREG_KERNELS_DEFINE(f64, double)

/*
 * erfc(z) for z >= 0 as t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), P the
 * Chebyshev fit of Press et al., Numerical Recipes (2nd ed., erfcc):
 * relative error below 1.2e-7 for every z >= 0: float accuracy with one
 * exp, where glibc's erfcf costs more (not vectorized either way).
 */
static inline OPTREG_HD double optreg_erfc_pos(double z)
{
	double t = 1.0 / (1.0 + 0.5 * z);
	double p =
		-1.26551223 +
		t * (1.00002368 +
		     t * (0.37409196 +
			  t * (0.09678418 +
			       t * (-0.18628806 +
				    t * (0.27886807 +
					 t * (-1.13520398 +
					      t * (1.48851587 +
						   t * (-0.82215223 +
							t * 0.17087277))))))));
	return t * exp(p - z * z);
}

/* GELU of a float: x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 from
 * optreg_erfc_pos without cancellation on either side; double inside,
 * rounded once. */
static inline OPTREG_HD float optreg_gelu_f32(float x)
{
	double xd = x;
	double tail = 0.5 * optreg_erfc_pos(fabs(xd) * 0.70710678118654752440);

	return (float)(xd * (xd < 0 ? tail : 1.0 - tail));
}

/* The exact reference in double (libm's erfc), for the tests. */
static inline OPTREG_HD double optreg_gelu_f64(double x)
{
	return 0.5 * x * erfc(x * -0.70710678118654752440);
}

/*
 * dy * gelu'(x) = dy (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) /
 * sqrt(2 pi). Phi(x) is read back from the forward output y = gelu(x) as
 * y / x (exact to float rounding; 1/2 at x = 0), so the backward pass
 * costs one exp. Double inside, rounded once.
 */
static inline OPTREG_HD float optreg_gelu_bwd_f32(float dy, float x, float y)
{
	double xd = x;
	double cdf = x != 0.0f ? (double)y / xd : 0.5;
	double pdf = 0.39894228040143267794 * exp(-0.5 * xd * xd);

	return (float)((double)dy * (cdf + xd * pdf));
}

static inline OPTREG_HD double optreg_gelu_bwd_f64(double dy, double x)
{
	double cdf = 0.5 * erfc(x * -0.70710678118654752440);
	double pdf = 0.39894228040143267794 * exp(-0.5 * x * x);

	return dy * (cdf + x * pdf);
}

#endif
