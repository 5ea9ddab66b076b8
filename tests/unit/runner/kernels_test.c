/*
 * tests/unit/runner/kernels_test.c: the transformer kernels of
 * runner/kernels.h and their CPU backend entry points (runner/backend.h).
 *
 * Each backward formula is checked in double (the _f64 instantiation)
 * against central finite differences of its forward function, to a relative
 * error of 1e-7; the backend's float kernels are then checked against the
 * double ones to float rounding, and the embedding scatter and the column
 * sums against sums written out here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "runner/backend.h"
#include "runner/kernels.h"

static struct optreg_backend be;

static int group_setup(void **state)
{
	(void)state;
	return optreg_cpu_backend_init(&be, 1, NULL) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	be.destroy(&be);
	return 0;
}

/* A fixed pseudo-random value in [-1, 1) for index i of stream s. */
static double rnd(unsigned s, unsigned i)
{
	uint32_t x = s * 2654435761u ^ (i + 1) * 2246822519u;

	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	x *= 3266489917u;
	x ^= x >> 16;
	return (double)x / 2147483648.0 - 1.0;
}

static void assert_close(double got, double want, double rel, double abs_tol,
			 const char *what, int i)
{
	if (!(fabs(got - want) <= rel * fabs(want) + abs_tol))
		fail_msg("%s[%d]: got %.12g, want %.12g (rel %.3g)", what, i,
			 got, want, fabs(got - want) / fabs(want));
}

/* --- LayerNorm ------------------------------------------------------------ */

enum {
	LN_N = 7
};

/* L = sum c_i y_i of optreg_ln_fwd_row_f64. */
static double ln_loss(const double *x, const double *w, const double *b,
		      const double *c)
{
	double y[LN_N], mu, rs, l = 0;

	optreg_ln_fwd_row_f64(x, w, b, y, &mu, &rs, LN_N);
	for (int i = 0; i < LN_N; i++)
		l += c[i] * y[i];
	return l;
}

static double ln_fd(double *v, int i, const double *x, const double *w,
		    const double *b, const double *c)
{
	const double h = 1e-5;
	double keep = v[i], lp, lm;

	v[i] = keep + h;
	lp = ln_loss(x, w, b, c);
	v[i] = keep - h;
	lm = ln_loss(x, w, b, c);
	v[i] = keep;
	return (lp - lm) / (2 * h);
}

static void test_layernorm_gradient(void **state)
{
	double x[LN_N], w[LN_N], b[LN_N], c[LN_N], y[LN_N], dx[LN_N], mu, rs;

	(void)state;
	for (int i = 0; i < LN_N; i++) {
		x[i] = 2 * rnd(1, i) + 0.5;
		w[i] = 1 + 0.5 * rnd(2, i);
		b[i] = rnd(3, i);
		c[i] = rnd(4, i);
	}
	optreg_ln_fwd_row_f64(x, w, b, y, &mu, &rs, LN_N);
	/* the forward itself: mean 0 and variance 1 before the affine part */
	double m0 = 0, v0 = 0;
	for (int i = 0; i < LN_N; i++) {
		double xh = (y[i] - b[i]) / w[i];
		m0 += xh / LN_N;
		v0 += xh * xh / LN_N;
	}
	assert_true(fabs(m0) < 1e-12);
	assert_true(fabs(v0 - 1) < 1e-4); /* eps 1e-5 shrinks it a little */

	optreg_ln_bwd_row_f64(c, x, w, mu, rs, dx, LN_N);
	for (int i = 0; i < LN_N; i++) {
		double xh = optreg_ln_xhat_f64(x[i], mu, rs);
		assert_close(dx[i], ln_fd(x, i, x, w, b, c), 1e-7, 1e-9, "dx",
			     i);
		assert_close(c[i] * xh, ln_fd(w, i, x, w, b, c), 1e-7, 1e-9,
			     "dw", i);
		assert_close(c[i], ln_fd(b, i, x, w, b, c), 1e-7, 1e-9, "db",
			     i);
	}
}

/* The backend's rows and column sums against the double kernel. */
static void test_layernorm_backend(void **state)
{
	enum {
		R = 5,
		N = 12
	};
	float x[R * N], w[N], b[N], y[R * N], mu[R], rs[R], dy[R * N],
		dx[R * N], dw[N], db[N];

	(void)state;
	for (int i = 0; i < R * N; i++) {
		x[i] = (float)(3 * rnd(5, i));
		dy[i] = (float)rnd(6, i);
	}
	for (int i = 0; i < N; i++) {
		w[i] = (float)(1 + 0.3 * rnd(7, i));
		b[i] = (float)(0.2 * rnd(8, i));
	}
	assert_int_equal(be.layernorm_forward(be.ctx, y, mu, rs, x, w, b, R, N),
			 0);
	assert_int_equal(be.layernorm_backward(be.ctx, dx, dw, db, dy, x, mu,
					       rs, w, R, N),
			 0);
	double swd[N] = {0}, sbd[N] = {0};
	for (int r = 0; r < R; r++) {
		double xd[N], wd[N], bd[N], yd[N], dyd[N], dxd[N], m, s;
		for (int i = 0; i < N; i++) {
			xd[i] = x[r * N + i];
			wd[i] = w[i];
			bd[i] = b[i];
			dyd[i] = dy[r * N + i];
		}
		optreg_ln_fwd_row_f64(xd, wd, bd, yd, &m, &s, N);
		optreg_ln_bwd_row_f64(dyd, xd, wd, m, s, dxd, N);
		assert_close(mu[r], m, 1e-6, 1e-7, "mean", r);
		assert_close(rs[r], s, 1e-6, 0, "rstd", r);
		for (int i = 0; i < N; i++) {
			assert_close(y[r * N + i], yd[i], 1e-5, 1e-6, "y", i);
			assert_close(dx[r * N + i], dxd[i], 1e-5, 1e-6, "dx",
				     i);
			swd[i] += dyd[i] * optreg_ln_xhat_f64(xd[i], m, s);
			sbd[i] += dyd[i];
		}
	}
	for (int i = 0; i < N; i++) {
		assert_close(dw[i], swd[i], 1e-5, 1e-6, "dw", i);
		assert_close(db[i], sbd[i], 1e-6, 1e-7, "db", i);
	}
	assert_int_equal(be.layernorm_forward(be.ctx, y, mu, rs, x, w, b, R, 0),
			 OPTREG_EINVAL);
}

/* --- causal softmax ------------------------------------------------------- */

enum {
	SM_T = 6
};

static double sm_loss(const double *s, const double *c, long i, double scale)
{
	double p[SM_T], l = 0;

	optreg_causal_softmax_row_f64(s, p, i, SM_T, scale);
	for (int j = 0; j < SM_T; j++)
		l += c[j] * p[j];
	return l;
}

static void test_softmax_gradient(void **state)
{
	const double scale = 0.5, h = 1e-5;

	(void)state;
	for (long i = 0; i < SM_T; i++) {
		double s[SM_T], c[SM_T], p[SM_T], ds[SM_T], psum = 0;
		for (int j = 0; j < SM_T; j++) {
			s[j] = 3 * rnd(10 + (unsigned)i, j);
			c[j] = rnd(20 + (unsigned)i, j);
		}
		optreg_causal_softmax_row_f64(s, p, i, SM_T, scale);
		for (int j = 0; j < SM_T; j++) {
			psum += p[j];
			if (j > i)
				assert_true(p[j] == 0);
		}
		assert_true(fabs(psum - 1) < 1e-15);
		optreg_causal_softmax_bwd_row_f64(p, c, ds, i, SM_T, scale);
		for (int j = 0; j < SM_T; j++) {
			double keep = s[j], lp, lm;
			s[j] = keep + h;
			lp = sm_loss(s, c, i, scale);
			s[j] = keep - h;
			lm = sm_loss(s, c, i, scale);
			s[j] = keep;
			assert_close(ds[j], (lp - lm) / (2 * h), 1e-7, 1e-10,
				     "ds", j);
		}
	}
}

static void test_softmax_backend(void **state)
{
	enum {
		M = 3,
		T = 5
	};
	float s[M * T * T], p[M * T * T], dp[M * T * T], ds[M * T * T];
	const double scale = 0.7;

	(void)state;
	for (int i = 0; i < M * T * T; i++) {
		s[i] = (float)(4 * rnd(30, i));
		dp[i] = (float)rnd(31, i);
	}
	assert_int_equal(be.attn_softmax_forward(be.ctx, p, s, M, T, scale), 0);
	assert_int_equal(
		be.attn_softmax_backward(be.ctx, ds, p, dp, M, T, scale), 0);
	for (int r = 0; r < M * T; r++) {
		double sd[T], pd[T], dpd[T], dsd[T];
		for (int j = 0; j < T; j++) {
			sd[j] = s[r * T + j];
			dpd[j] = dp[r * T + j];
		}
		optreg_causal_softmax_row_f64(sd, pd, r % T, T, scale);
		/* the backward from the float p the backend saved */
		for (int j = 0; j < T; j++)
			assert_close(p[r * T + j], pd[j], 1e-6, 1e-8, "p", j);
		for (int j = 0; j < T; j++)
			pd[j] = p[r * T + j];
		optreg_causal_softmax_bwd_row_f64(pd, dpd, dsd, r % T, T,
						  scale);
		for (int j = 0; j < T; j++)
			assert_close(ds[r * T + j], dsd[j], 1e-6, 1e-8, "ds",
				     j);
	}
	/* in place, as the model calls it */
	memcpy(p, s, sizeof(s));
	float p2[M * T * T];
	be.attn_softmax_forward(be.ctx, p2, s, M, T, scale);
	be.attn_softmax_forward(be.ctx, p, p, M, T, scale);
	assert_memory_equal(p, p2, sizeof(p));
}

/* --- GELU ----------------------------------------------------------------- */

static void test_gelu(void **state)
{
	const double h = 1e-5;
	/* torch.nn.GELU()(torch.tensor([-3., -1., -.5, .5, 1., 3.], dtype=
	 * torch.float64)) */
	const double xs[] = {-3, -1, -0.5, 0.5, 1, 3};
	const double want[] = {-0.00404969409489031, -0.15865525393145702,
			       -0.15426876936299344, 0.34573123063700656,
			       0.841344746068543,    2.99595030590511};
	float xf[6], yf[6], dyf[6], dxf[6];

	(void)state;
	for (int i = 0; i < 6; i++) {
		assert_close(optreg_gelu_f64(xs[i]), want[i], 1e-14, 1e-16,
			     "gelu", i);
		double fd = (optreg_gelu_f64(xs[i] + h) -
			     optreg_gelu_f64(xs[i] - h)) /
			    (2 * h);
		assert_close(optreg_gelu_bwd_f64(1.0, xs[i]), fd, 1e-8, 1e-11,
			     "gelu'", i);
		xf[i] = (float)xs[i];
		dyf[i] = (float)(0.5 + i);
	}
	/* The float version's erfc against libm's over the whole range
	 * that matters (beyond +-12 the result is x or 0 in float), and its
	 * backward at 0, where Phi is not read back from y / x. */
	double worst = 0, worst_b = 0;
	for (int k = -1200; k <= 1200; k++) {
		float x = (float)k * 0.01f, y = optreg_gelu_f32(x);
		double yd = optreg_gelu_f64(x), bd = optreg_gelu_bwd_f64(1, x);
		double e = fabs(y - yd) / fmax(fabs(yd), 1e-30);
		/* relative, but absolute near gelu' = 0 (x = -0.75) */
		double eb = fabs(optreg_gelu_bwd_f32(1.0f, x, y) - bd) /
			    (fabs(bd) + 0.1);
		if (e > worst)
			worst = e;
		if (eb > worst_b)
			worst_b = eb;
	}
	print_message("# gelu f32: max relative error %.2g, backward %.2g\n",
		      worst, worst_b);
	assert_true(worst < 1e-6);
	assert_true(worst_b < 1e-6);
	assert_true(optreg_gelu_f32(0.0f) == 0.0f);
	assert_true(optreg_gelu_bwd_f32(2.0f, 0.0f, 0.0f) == 1.0f);

	assert_int_equal(be.gelu_forward(be.ctx, yf, xf, 6), 0);
	assert_int_equal(be.gelu_backward(be.ctx, dxf, dyf, xf, yf, 6), 0);
	for (int i = 0; i < 6; i++) {
		assert_true(yf[i] == optreg_gelu_f32(xf[i]));
		assert_close(yf[i], want[i], 1e-6, 1e-9, "gelu f32", i);
		assert_close(dxf[i], dyf[i] * optreg_gelu_bwd_f64(1.0, xs[i]),
			     1e-6, 1e-9, "gelu' f32", i);
	}
}

/* --- embedding ------------------------------------------------------------ */

static void test_embedding(void **state)
{
	enum {
		V = 4,
		T = 3,
		D = 2,
		R = 6
	};
	float tok[V * D], pos[T * D], out[R * D], dout[R * D];
	float dtok[V * D], dpos[T * D];
	/* token 2 three times, token 3 never */
	const float ids[R] = {2, 0, 2, 1, 2, 0};

	(void)state;
	for (int i = 0; i < V * D; i++)
		tok[i] = (float)(i + 1);
	for (int i = 0; i < T * D; i++)
		pos[i] = (float)(100 * (i + 1));
	for (int i = 0; i < R * D; i++)
		dout[i] = (float)rnd(40, i);
	assert_int_equal(
		be.embed_forward(be.ctx, out, tok, pos, ids, R, T, D, V), 0);
	for (int r = 0; r < R; r++)
		for (int c = 0; c < D; c++)
			assert_true(out[r * D + c] ==
				    tok[(int)ids[r] * D + c] +
					    pos[(r % T) * D + c]);

	/* accumulates onto what is there */
	for (int i = 0; i < V * D; i++)
		dtok[i] = 1.0f;
	memset(dpos, 0, sizeof(dpos));
	assert_int_equal(
		be.embed_backward(be.ctx, dtok, dpos, dout, ids, R, T, D, V),
		0);
	for (int c = 0; c < D; c++) {
		float t2 = 1.0f;
		t2 += dout[0 * D + c];
		t2 += dout[2 * D + c];
		t2 += dout[4 * D + c];
		assert_true(dtok[2 * D + c] == t2); /* in row order */
		assert_true(dtok[3 * D + c] == 1.0f);
		for (int t = 0; t < T; t++)
			assert_true(dpos[t * D + c] ==
				    0.0f + dout[t * D + c] +
					    dout[(t + T) * D + c]);
	}
	const float bad[R] = {0, 1, 4, 0, 0, 0},
		    frac[R] = {0, 0.5f, 0, 0, 0, 0};
	assert_int_equal(
		be.embed_forward(be.ctx, out, tok, pos, bad, R, T, D, V),
		OPTREG_EINVAL);
	assert_int_equal(
		be.embed_backward(be.ctx, dtok, dpos, dout, frac, R, T, D, V),
		OPTREG_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layernorm_gradient),
		cmocka_unit_test(test_layernorm_backend),
		cmocka_unit_test(test_softmax_gradient),
		cmocka_unit_test(test_softmax_backend),
		cmocka_unit_test(test_gelu),
		cmocka_unit_test(test_embedding),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
