/*
 * tests/unit/runner/cuda_backend_test.c: runner/cuda.h.
 *
 * On every machine: the probe never fails and says why there is no device;
 * without one (or without CUDA built in) init fails with
 * OPTREG_EUNAVAILABLE and a message naming what is missing.
 * With a device: every backend call on small random inputs agrees with the
 * CPU backend (bit for bit where both sum in the same order or the math is
 * runner/adam.h's or precision.h's; within float rounding elsewhere), and
 * two runs of the CUDA calls give the same bits. Without a device those
 * checks are skipped (cmocka's skip).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include <cmocka.h>

#include "common/error.h"
#include "runner/backend.h"
#include "runner/cuda.h"
#include "runner/philox.h"

static void test_probe_and_init_without_device(void **state)
{
	(void)state;
	struct optreg_cuda_info info;
	struct optreg_backend be;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_cuda_probe(&info);
	if (!optreg_cuda_built())
		assert_string_equal(info.why, "built without CUDA");
	if (info.ndevices > 0) {
		assert_true(info.name[0] != '\0');
		assert_true(info.cc_major >= 1);
		skip();
	}
	assert_true(info.why[0] != '\0');
	assert_int_equal(optreg_cuda_backend_init(&be, 0, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EUNAVAILABLE);
	assert_non_null(strstr(errs.items[0].message, info.why));
	assert_null(be.name);
	optreg_errors_release(&errs);
}

/* Whether a library whose path contains `name` is mapped into this
 * process (/proc/self/maps). */
static int mapped(const char *name)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int found = 0;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, name) != NULL;
	fclose(f);
	return found;
}

/* cuBLAS is not linked: the probe and a failed init leave it unmapped
 * (a CPU run pays nothing for it); the backend's loader maps it and
 * resolves every call it uses, on any machine where it is installed. */
static void test_blas_loaded_on_demand(void **state)
{
	struct optreg_cuda_info info;
	char why[256] = "";

	(void)state;
	optreg_cuda_probe(&info);
	if (info.ndevices > 0)
		skip(); /* init on a device loads it anyway */
	assert_false(mapped("libcublas"));
	if (!optreg_cuda_built()) {
		assert_int_equal(optreg_cuda_blas_load(why, sizeof(why)),
				 OPTREG_EUNAVAILABLE);
		assert_string_equal(why, "built without CUDA");
		return;
	}
	assert_int_equal(optreg_cuda_blas_load(why, sizeof(why)), 0);
	assert_true(mapped("libcublas.so"));
	assert_int_equal(optreg_cuda_blas_load(NULL, 0), 0); /* once */
}

/* The two backends, when there is a device. */
struct pair {
	struct optreg_backend cpu, gpu;
};

static int setup(void **state)
{
	struct optreg_cuda_info info;
	struct pair *p = calloc(1, sizeof(*p));

	optreg_cuda_probe(&info);
	if (info.ndevices == 0 ||
	    optreg_cuda_backend_init(&p->gpu, 0, NULL) != 0) {
		free(p);
		*state = NULL;
		return 0;
	}
	assert_int_equal(optreg_cpu_backend_init(&p->cpu, 1, NULL), 0);
	assert_string_equal(p->gpu.name, "cuda");
	assert_memory_equal(p->gpu.device, "cuda: ", 6);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	if (p) {
		p->cpu.destroy(&p->cpu);
		p->gpu.destroy(&p->gpu);
		free(p);
	}
	return 0;
}

static float *rnd(size_t n, uint32_t stream, float lo, float hi)
{
	float *x = malloc((n ? n : 1) * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		uint32_t w[4];
		optreg_philox_draw(7, stream, i, w);
		x[i] = lo + (hi - lo) * optreg_philox_u01f(w[0]);
	}
	return x;
}

/* A device copy of host data (on backend be). */
static float *dev(struct optreg_backend *be, const float *h, size_t n)
{
	float *d;
	assert_int_equal(be->alloc(be->ctx, n, &d), 0);
	assert_int_equal(be->upload(be->ctx, d, h, n), 0);
	return d;
}

static float *host(struct optreg_backend *be, const float *d, size_t n)
{
	float *h = malloc((n ? n : 1) * sizeof(float));
	assert_int_equal(be->download(be->ctx, h, d, n), 0);
	return h;
}

/* |a - b| <= atol + rtol |b| for every element; rtol 0, atol 0: bits. */
static void close_to(const float *a, const float *b, size_t n, double rtol,
		     double atol, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		if (isnan(a[i]) && isnan(b[i]))
			continue; /* NaN payloads differ between devices */
		if (rtol == 0 && atol == 0) {
			if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
				fail_msg("%s[%zu]: %a != %a", what, i, a[i],
					 b[i]);
			continue;
		}
		if (!(fabs((double)a[i] - b[i]) <= atol + rtol * fabs(b[i])))
			fail_msg("%s[%zu]: %.9g vs %.9g", what, i, a[i], b[i]);
	}
}

/*
 * Runs `op` on both backends over the same inputs (in[k] of n[k] floats;
 * out is in[0], in place) and compares in[0] afterwards. `body` sees the
 * backend as `be`, the device copies as d[k] and the side as `bside` (0 for
 * the CPU, 1 for CUDA).
 */
#define BOTH(p, nin, in, nn, body, rtol, atol, what)                           \
	do {                                                                   \
		float *res[2];                                                 \
		for (int bside = 0; bside < 2; bside++) {                      \
			struct optreg_backend *be =                            \
				bside ? &(p)->gpu : &(p)->cpu;                 \
			float *d[8];                                           \
			for (int q = 0; q < (nin); q++)                        \
				d[q] = dev(be, (in)[q], (nn)[q]);              \
			body;                                                  \
			res[bside] = host(be, d[0], (nn)[0]);                  \
			for (int q = 0; q < (nin); q++)                        \
				be->free(be->ctx, d[q]);                       \
		}                                                              \
		close_to(res[1], res[0], (nn)[0], rtol, atol, what);           \
		free(res[0]);                                                  \
		free(res[1]);                                                  \
	} while (0)

static void test_dense(void **state)
{
	struct pair *p = *state;
	if (!p)
		skip();
	const size_t M = 37, N = 29, K = 53;
	float *a = rnd(M * K, 1, -1, 1), *b = rnd(K * N, 2, -1, 1);
	float *c = rnd(M * N, 3, -1, 1), *bias = rnd(N, 4, -1, 1);

	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			float *in[3] = {c, a, b};
			size_t nn[3] = {M * N, M * K, K * N};
			BOTH(p, 3, in, nn,
			     assert_int_equal(be->gemm(be->ctx, ta, tb, M, N, K,
						       0.5f, d[1], ta ? M : K,
						       d[2], tb ? K : N, 0.25f,
						       d[0], N),
					      0),
			     1e-5, 1e-5, "gemm");
		}
	/* Batched, with attention's interleaved strides: 5 products of
	 * 16 x 16 x 8 whose operands sit 3 * 16 apart in rows of 48, the
	 * results 2 * 256 apart (every other slot left as it was). */
	{
		const size_t T = 16, dh = 8, ld = 48, cnt = 5;
		float *x = rnd(cnt * T * ld, 5, -1, 1);
		float *y = rnd(cnt * 2 * T * T, 6, -1, 1);
		for (int tb = 0; tb < 2; tb++) {
			float *in[2] = {y, x};
			size_t nn[2] = {cnt * 2 * T * T, cnt * T * ld};
			BOTH(p, 2, in, nn,
			     assert_int_equal(optreg_gemm_batched(
						      be, 0, tb, T, tb ? T : dh,
						      tb ? dh : T, 1.0f, d[1],
						      ld, T * ld, d[1] + 16, ld,
						      T * ld, 0.0f, d[0], T,
						      2 * T * T, cnt),
					      0),
			     1e-5, 1e-5, "gemm_batched");
		}
		free(x);
		free(y);
	}
	{
		float *in[2] = {c, bias};
		size_t nn[2] = {M * N, N};
		BOTH(p, 2, in, nn,
		     assert_int_equal(be->bias_add(be->ctx, d[0], d[1], M, N),
				      0),
		     0, 0, "bias_add");
		BOTH(p, 2, in, nn,
		     assert_int_equal(
			     be->axpy(be->ctx, d[0], 0.3f, d[0], M * N), 0),
		     0, 0, "axpy");
		float *in2[2] = {bias, c};
		size_t nn2[2] = {N, M * N};
		BOTH(p, 2, in2, nn2,
		     assert_int_equal(be->col_sum(be->ctx, d[0], d[1], M, N),
				      0),
		     0, 0, "col_sum");
	}
	{
		float *in[2] = {c, a};
		size_t nn[2] = {M * N, M * N};
		BOTH(p, 2, in, nn,
		     assert_int_equal(be->relu_forward(be->ctx, d[1], M * N),
				      0);
		     assert_int_equal(
			     be->relu_backward(be->ctx, d[0], d[1], M * N), 0);
		     assert_int_equal(be->scale(be->ctx, d[0], 1.7f, M * N), 0),
		     0, 0, "relu, scale");
		BOTH(p, 2, in, nn,
		     assert_int_equal(
			     be->gelu_forward(be->ctx, d[1], d[0], M * N), 0);
		     assert_int_equal(be->gelu_backward(be->ctx, d[0], d[0],
							d[0], d[1], M * N),
				      0),
		     1e-6, 1e-7, "gelu");
		BOTH(p, 1, in, nn,
		     assert_int_equal(be->round_to(be->ctx, d[0], M * N,
						   OPTREG_PRECISION_FP16),
				      0),
		     0, 0, "round_to fp16");
		BOTH(p, 1, in, nn,
		     assert_int_equal(be->round_to(be->ctx, d[0], M * N,
						   OPTREG_PRECISION_BF16),
				      0),
		     0, 0, "round_to bf16");
	}
	/* dot: in double, the order may differ. */
	double dots[2];
	for (int side = 0; side < 2; side++) {
		struct optreg_backend *be = side ? &p->gpu : &p->cpu;
		float *x = dev(be, c, M * N), *y = dev(be, a, M * N);
		assert_int_equal(be->dot(be->ctx, x, y, M * N, &dots[side]), 0);
		be->free(be->ctx, x);
		be->free(be->ctx, y);
	}
	assert_true(fabs(dots[1] - dots[0]) <= 1e-12 * fabs(dots[0]));
	free(a);
	free(b);
	free(c);
	free(bias);
}

static void test_softmax_xent(void **state)
{
	struct pair *p = *state;
	if (!p)
		skip();
	const size_t R = 67, C = 300;
	float *z = rnd(R * C, 5, -4, 4), *lab = malloc(R * sizeof(float));
	double loss[2];
	size_t hits[2];

	for (size_t r = 0; r < R; r++)
		lab[r] = (float)((r * 37) % C);
	z[5 * C + 7] = NAN; /* a NaN logit, not the first: skipped */
	z[9 * C] = 4.0f;    /* ties: the first maximum wins */
	z[9 * C + 1] = 4.0f;
	lab[9] = 0;
	{
		float *in[2] = {z, lab};
		size_t nn[2] = {R * C, R};
		BOTH(p, 2, in, nn,
		     assert_int_equal(be->softmax_xent(be->ctx, d[0], d[1], R,
						       C, d[0], &loss[bside],
						       &hits[bside]),
				      0),
		     1e-6, 1e-9, "dlogits");
	}
	assert_int_equal(hits[0], hits[1]);
	assert_true(fabs(loss[1] - loss[0]) <= 1e-12 * fabs(loss[0]) ||
		    (isnan(loss[0]) && isnan(loss[1])));
	/* A bad label is refused. */
	lab[3] = 1.5f;
	float *dz = dev(&p->gpu, z, R * C), *dl = dev(&p->gpu, lab, R);
	assert_int_equal(p->gpu.softmax_xent(p->gpu.ctx, dz, dl, R, C, NULL,
					     &loss[0], &hits[0]),
			 OPTREG_EINVAL);
	p->gpu.free(p->gpu.ctx, dz);
	p->gpu.free(p->gpu.ctx, dl);
	free(z);
	free(lab);
}

static void test_lm_kernels(void **state)
{
	struct pair *p = *state;
	if (!p)
		skip();
	const size_t V = 50, T = 16, D = 24, R = 3 * T;
	float *tok = rnd(V * D, 6, -1, 1), *pos = rnd(T * D, 7, -1, 1);
	float *ids = malloc(R * sizeof(float)), *g = rnd(R * D, 8, -1, 1);
	float *w = rnd(D, 9, 0.5f, 1.5f), *bb = rnd(D, 10, -0.5f, 0.5f);
	float *s = rnd(2 * T * T, 11, -3, 3), *dp = rnd(2 * T * T, 12, -1, 1);
	float *stats = malloc(2 * R * sizeof(float));

	for (size_t r = 0; r < R; r++)
		ids[r] = (float)((r * 7) % 5); /* repeated tokens */
	{
		float *in[4] = {g, tok, pos, ids};
		size_t nn[4] = {R * D, V * D, T * D, R};
		BOTH(p, 4, in, nn,
		     assert_int_equal(be->embed_forward(be->ctx, d[0], d[1],
							d[2], d[3], R, T, D, V),
				      0),
		     0, 0, "embed_forward");
		float *in2[4] = {tok, pos, g, ids};
		size_t nn2[4] = {V * D, T * D, R * D, R};
		BOTH(p, 4, in2, nn2,
		     assert_int_equal(be->embed_backward(be->ctx, d[0], d[1],
							 d[2], d[3], R, T, D,
							 V),
				      0),
		     0, 0, "embed_backward dtok");
		BOTH(p, 4, in2, nn2,
		     assert_int_equal(be->embed_backward(be->ctx, d[1], d[0],
							 d[2], d[3], R, T, D,
							 V),
				      0),
		     0, 0, "embed_backward dtok as dpos");
	}
	{
		/* y into in[0]; then the backward's dx into in[0]. */
		float *in[7] = {g, tok, w, bb, stats, tok, tok};
		size_t nn[7] = {R * D, R * D, D, D, 2 * R, R * D, 2 * D};
		BOTH(p, 7, in, nn,
		     assert_int_equal(be->layernorm_forward(be->ctx, d[0], d[4],
							    d[4] + R, d[1],
							    d[2], d[3], R, D),
				      0),
		     1e-5, 1e-6, "layernorm_forward");
		BOTH(p, 7, in, nn,
		     assert_int_equal(be->layernorm_forward(be->ctx, d[5], d[4],
							    d[4] + R, d[1],
							    d[2], d[3], R, D),
				      0);
		     assert_int_equal(
			     be->layernorm_backward(be->ctx, d[5], d[6],
						    d[6] + D, d[0], d[1], d[4],
						    d[4] + R, d[2], R, D),
			     0);
		     assert_int_equal(be->upload(be->ctx, d[0], g, 0), 0);
		     assert_int_equal(
			     be->axpy(be->ctx, d[0], 1.0f, d[5], R * D), 0),
		     1e-5, 1e-5, "layernorm_backward dx");
		/* dw and db: the rows in order on both. */
		BOTH(p, 7, in, nn,
		     assert_int_equal(be->layernorm_forward(be->ctx, d[5], d[4],
							    d[4] + R, d[1],
							    d[2], d[3], R, D),
				      0);
		     assert_int_equal(
			     be->layernorm_backward(be->ctx, d[5], d[6],
						    d[6] + D, d[0], d[1], d[4],
						    d[4] + R, d[2], R, D),
			     0);
		     assert_int_equal(be->upload(be->ctx, d[0], g, R * D), 0);
		     assert_int_equal(
			     be->axpy(be->ctx, d[0], 1.0f, d[6], 2 * D), 0),
		     1e-6, 1e-6, "layernorm_backward dw, db");
	}
	{
		float *in[2] = {s, dp};
		size_t nn[2] = {2 * T * T, 2 * T * T};
		BOTH(p, 2, in, nn,
		     assert_int_equal(be->attn_softmax_forward(
					      be->ctx, d[0], d[0], 2, T, 0.35),
				      0);
		     assert_int_equal(be->attn_softmax_backward(be->ctx, d[1],
								d[0], d[1], 2,
								T, 0.35),
				      0);
		     assert_int_equal(
			     be->axpy(be->ctx, d[0], 1.0f, d[1], 2 * T * T), 0),
		     1e-5, 1e-7, "attn softmax");
	}
	free(tok);
	free(pos);
	free(ids);
	free(g);
	free(w);
	free(bb);
	free(s);
	free(dp);
	free(stats);
}

/* One Adam step over 3 tensors in 2 groups, with and without clipping
 * and low-precision state: the same parameters and statistics. The
 * tensors start `shift` floats into the buffers: 0 takes the backend's
 * vector path for whole chunks (16-byte aligned), 1 its element path. */
static void adam_case(struct pair *p, double max_norm,
		      enum optreg_precision prec, int amsgrad, size_t shift)
{
	const size_t n = shift + 10000 + 4096 + 7;
	struct optreg_adam_tensor ts[3] = {{shift, 10000, 0},
					   {shift + 10000, 4096, 1},
					   {shift + 14096, 7, 0}};
	struct optreg_adam_group gr[2];
	struct optreg_adam_tensor_stats st[2][3];
	struct optreg_adam_step_out out[2];
	float *buf[5], *res[2][4];

	memset(gr, 0, sizeof(gr));
	for (int k = 0; k < 2; k++) {
		gr[k].h.lr = 1e-2;
		gr[k].h.beta1 = 0.9;
		gr[k].h.beta2 = 0.999;
		gr[k].h.eps = 1e-8;
		gr[k].h.weight_decay = k ? 0.1 : 0.01;
		gr[k].h.adamw = k;
		gr[k].h.amsgrad = amsgrad;
		gr[k].h.maximize = k;
		gr[k].lr_t = 5e-3;
	}
	buf[0] = rnd(n, 20, -1, 1);
	buf[1] = rnd(n, 21, -0.1f, 0.1f);
	buf[2] = rnd(n, 22, -0.01f, 0.01f);
	buf[3] = rnd(n, 23, 0, 1e-4f);
	buf[4] = rnd(n, 24, 0, 2e-4f);
	if (max_norm == 0)
		buf[1][17] = NAN; /* counted, not fatal */
	for (int side = 0; side < 2; side++) {
		struct optreg_backend *be = side ? &p->gpu : &p->cpu;
		float *d[5];
		for (int q = 0; q < 5; q++)
			d[q] = dev(be, buf[q], n);
		struct optreg_adam_step s = {
			d[0],	  d[1], d[2], d[3], amsgrad ? d[4] : NULL,
			ts,	  3,	gr,   2,    3,
			max_norm, prec};
		out[side].tensors = st[side];
		assert_int_equal(be->adam_step(be->ctx, &s, &out[side]), 0);
		for (int q = 0; q < 4; q++)
			res[side][q] = host(be, d[q], n);
		for (int q = 0; q < 5; q++)
			be->free(be->ctx, d[q]);
	}
	/* No clipping: each element by adam.h on both, the same bits. With
	 * clipping the norms sum in another order, so the factor may differ
	 * in its last bit. */
	for (int q = 0; q < 4; q++)
		close_to(res[1][q], res[0][q], n, max_norm > 0 ? 1e-5 : 0,
			 max_norm > 0 ? 1e-9 : 0, "adam state");
	if (max_norm > 0)
		assert_true(fabs(out[1].clip_coef - out[0].clip_coef) <=
			    1e-6 * out[0].clip_coef);
	assert_true(fabs(out[1].grad_norm - out[0].grad_norm) <=
			    1e-6 * out[0].grad_norm ||
		    (isnan(out[0].grad_norm) && isnan(out[1].grad_norm)));
	for (int k = 0; k < 3; k++) {
		assert_int_equal(st[1][k].small_denom, st[0][k].small_denom);
		assert_int_equal(st[1][k].nonfinite_param,
				 st[0][k].nonfinite_param);
		assert_int_equal(st[1][k].nonfinite_moment,
				 st[0][k].nonfinite_moment);
		/* The update's sum of squares: a reordered sum of the same
		 * terms without clipping; with it the terms themselves may
		 * differ in their last bits (the factor's). */
		if (k != 0 || max_norm > 0) {
			double ut = max_norm > 0 ? 1e-5 : 1e-12;
			assert_true(
				fabs(st[1][k].grad_norm - st[0][k].grad_norm) <=
				1e-6 * st[0][k].grad_norm);
			if (!(fabs(st[1][k].update_sumsq -
				   st[0][k].update_sumsq) <=
			      ut * st[0][k].update_sumsq))
				print_message("adam case max_norm %g prec %d "
					      "amsgrad %d shift %zu tensor %d: "
					      "update_sumsq gpu %.17g cpu "
					      "%.17g\n",
					      max_norm, (int)prec, amsgrad,
					      shift, k, st[1][k].update_sumsq,
					      st[0][k].update_sumsq);
			assert_true(fabs(st[1][k].update_sumsq -
					 st[0][k].update_sumsq) <=
				    ut * st[0][k].update_sumsq);
		}
		assert_true(fabs(st[1][k].param_sumsq - st[0][k].param_sumsq) <=
			    1e-12 * st[0][k].param_sumsq);
	}
	for (int side = 0; side < 2; side++)
		for (int q = 0; q < 4; q++)
			free(res[side][q]);
	for (int q = 0; q < 5; q++)
		free(buf[q]);
}

static void test_adam_step(void **state)
{
	struct pair *p = *state;
	if (!p)
		skip();
	adam_case(p, 0, OPTREG_PRECISION_FP32, 0, 0);
	adam_case(p, 0, OPTREG_PRECISION_FP32, 1, 1);
	adam_case(p, 0, OPTREG_PRECISION_FP16, 1, 0);
	adam_case(p, 0, OPTREG_PRECISION_BF16, 0, 1);
	/* Clipping (the gradients' norm is about 4). */
	adam_case(p, 1.0, OPTREG_PRECISION_FP32, 1, 0);
	adam_case(p, 1.0, OPTREG_PRECISION_FP32, 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_and_init_without_device),
		cmocka_unit_test(test_blas_loaded_on_demand),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_softmax_xent),
		cmocka_unit_test(test_lm_kernels),
		cmocka_unit_test(test_adam_step),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
