/*
 * tests/unit/runner/workloads_test.c: the CPU backend's kernels, the IDX
 * loader, and the reference workloads (loss goes down, runs are bit-identical,
 * non-finite values are caught at their step, too high an lr shows).
 * Fashion-MNIST comes from Debian's dataset-fashion-mnist, loaded once.
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
#include <unistd.h>
#include <zlib.h>

#include "runner/backend.h"
#include "runner/idx.h"
#include "runner/workloads.h"
#include "runner/workloads_int.h"

#include "wl_fixture.h"

/* A sane AdamW config: betas (0.9, 0.999), eps 1e-8, wd 0.01, constant. */
static struct optreg_config adamw(double lr)
{
	return wl_config(OPTREG_ADAMW, lr, 1e-8, 0.01);
}

static struct optreg_workload_spec spec(const char *name, long steps)
{
	struct optreg_workload_spec s;

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.steps = steps;
	s.seed = 1234;
	s.fmnist = &fm;
	return s;
}

static void run_ok(const struct optreg_workload_spec *s,
		   const struct optreg_config *c,
		   struct optreg_workload_result *r)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_workload_run(s, c, &be, r, &errs);

	if (rc)
		fail_msg("%s: %s", s->name,
			 errs.len ? errs.items[0].message : "?");
	optreg_errors_release(&errs);
}

static double mean(const double *x, long from, long to)
{
	double s = 0;

	for (long i = from; i < to; i++)
		s += x[i];
	return s / (double)(to - from);
}

/* Mean loss of the last `tail` steps relative to the first step's. */
static double tail_ratio(const struct optreg_workload_result *r, long tail)
{
	return mean(r->loss, r->steps_run - tail, r->steps_run) / r->loss[0];
}

/* --- backend kernels ---------------------------------------------------- */

static void test_gemm_matches_naive(void **state)
{
	enum {
		M = 5,
		N = 7,
		K = 3
	};
	float a[M * K], b[K * N], c[M * N], at[K * M], bt[N * K];

	(void)state;
	for (int i = 0; i < M * K; i++)
		a[i] = (float)(i % 7) - 3.0f;
	for (int i = 0; i < K * N; i++)
		b[i] = (float)(i % 5) * 0.5f - 1.0f;
	for (int i = 0; i < M; i++)
		for (int k = 0; k < K; k++)
			at[k * M + i] = a[i * K + k];
	for (int k = 0; k < K; k++)
		for (int j = 0; j < N; j++)
			bt[j * K + k] = b[k * N + j];

	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			for (int i = 0; i < M * N; i++)
				c[i] = 1.0f;
			assert_int_equal(be.gemm(be.ctx, ta, tb, M, N, K, 2.0f,
						 ta ? at : a, ta ? M : K,
						 tb ? bt : b, tb ? K : N, 0.5f,
						 c, N),
					 0);
			for (int i = 0; i < M; i++)
				for (int j = 0; j < N; j++) {
					double want = 0.5;
					for (int k = 0; k < K; k++)
						want += 2.0 * a[i * K + k] *
							b[k * N + j];
					assert_float_equal(c[i * N + j], want,
							   1e-5);
				}
		}
}

/* optreg_gemm_batched on the CPU backend (which has no gemm_batched of
 * its own, so the helper loops): the same bits as one gemm call per
 * product, with strided, interleaved operands. */
static void test_gemm_batched_equals_gemm_calls(void **state)
{
	enum {
		T = 6,
		DH = 4,
		LD = 12,
		CNT = 3
	};
	float x[CNT * T * LD], want[CNT * 2 * T * T], got[CNT * 2 * T * T];

	(void)state;
	assert_null(be.gemm_batched);
	for (int i = 0; i < CNT * T * LD; i++)
		x[i] = (float)((i * 37) % 23) / 7.0f - 1.5f;
	for (int tb = 0; tb < 2; tb++) {
		size_t n = tb ? T : DH, k = tb ? DH : T;
		for (int i = 0; i < CNT * 2 * T * T; i++)
			want[i] = got[i] = 9.0f;
		for (int i = 0; i < CNT; i++)
			assert_int_equal(be.gemm(be.ctx, 0, tb, T, n, k, 0.5f,
						 x + i * T * LD, LD,
						 x + 4 + i * T * LD, LD, 0.0f,
						 want + i * 2 * T * T, T),
					 0);
		assert_int_equal(optreg_gemm_batched(&be, 0, tb, T, n, k, 0.5f,
						     x, LD, T * LD, x + 4, LD,
						     T * LD, 0.0f, got, T,
						     2 * T * T, CNT),
				 0);
		assert_memory_equal(got, want, sizeof(want));
	}
}

static void test_softmax_xent_value_and_gradient(void **state)
{
	float z[2 * 3] = {1.0f, 2.0f, 3.0f, 0.5f, 0.5f, -1.0f};
	float y[2] = {2.0f, 1.0f}, dz[6];
	double loss, l0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3.0,
		     l1 = log(2 * exp(0.5) + exp(-1.0)) - 0.5;
	size_t correct;

	(void)state;
	assert_int_equal(
		be.softmax_xent(be.ctx, z, y, 2, 3, dz, &loss, &correct), 0);
	assert_float_equal(loss, l0 + l1, 1e-6);
	/* Row 0: argmax 2 = label. Row 1: the first maximum is 0 != 1. */
	assert_int_equal(correct, 1);
	/* Central differences of the mean loss. */
	for (int i = 0; i < 6; i++) {
		float zp[6], zm[6];
		double lp, lm;
		size_t c;
		memcpy(zp, z, sizeof(z));
		memcpy(zm, z, sizeof(z));
		zp[i] += 1e-2f;
		zm[i] -= 1e-2f;
		be.softmax_xent(be.ctx, zp, y, 2, 3, NULL, &lp, &c);
		be.softmax_xent(be.ctx, zm, y, 2, 3, NULL, &lm, &c);
		assert_float_equal(dz[i], (lp - lm) / 2 / 2e-2, 1e-4);
	}
	y[0] = 3.0f;
	assert_int_equal(
		be.softmax_xent(be.ctx, z, y, 2, 3, dz, &loss, &correct),
		OPTREG_EINVAL);
}

static void test_small_kernels(void **state)
{
	float x[6] = {1, -2, 3, -4, 5, -6}, y[6], b[3] = {10, 20, 30}, s[3];
	double d;

	(void)state;
	be.col_sum(be.ctx, s, x, 2, 3);
	assert_true(s[0] == -3 && s[1] == 3 && s[2] == -3);
	memcpy(y, x, sizeof(x));
	be.bias_add(be.ctx, y, b, 2, 3);
	assert_true(y[0] == 11 && y[5] == 24);
	be.relu_forward(be.ctx, y, 6);
	be.dot(be.ctx, x, x, 6, &d);
	assert_true(d == 91);
	memcpy(y, x, sizeof(x));
	be.relu_forward(be.ctx, y, 6);
	assert_true(y[1] == 0 && y[2] == 3);
	float dy[6] = {1, 1, 1, 1, 1, 1};
	be.relu_backward(be.ctx, dy, y, 6);
	assert_true(dy[0] == 1 && dy[1] == 0 && dy[4] == 1 && dy[5] == 0);
	be.axpy(be.ctx, dy, 2.0f, x, 6);
	assert_true(dy[0] == 3 && dy[1] == -4);
	be.scale(be.ctx, dy, 0.5f, 6);
	assert_true(dy[0] == 1.5f);
}

/* Clipping scales by max / (norm + 1e-6) only when the norm is larger, and
 * the step matches optreg_adam_update_f32 element for element. */
static void test_adam_step_clips_and_reports(void **state)
{
	float p[4] = {1, 2, 3, 4}, g[4] = {3, 0, 0, 4}, m[4] = {0}, v[4] = {0};
	float pw[4], gw[4], mw[4] = {0}, vw[4] = {0};
	struct optreg_adam_tensor t[2] = {{0, 2, 0}, {2, 2, 1}};
	struct optreg_adam_group gr[2] = {
		{{1e-2, 0.9, 0.999, 1e-8, 0.1, 1, 0, 0}, 1e-2},
		{{1e-2, 0.9, 0.999, 1e-8, 0.0, 1, 0, 0}, 5e-3},
	};
	struct optreg_adam_tensor_stats ts[2];
	struct optreg_adam_step_out out = {.tensors = ts};
	struct optreg_adam_step st = {p, g,  m, v, NULL, t,
				      2, gr, 2, 1, 1.0,	 OPTREG_PRECISION_FP32};

	(void)state;
	memcpy(pw, p, sizeof(p));
	memcpy(gw, g, sizeof(g));
	assert_int_equal(be.adam_step(be.ctx, &st, &out), 0);
	assert_float_equal(out.grad_norm, 5.0, 1e-6);
	assert_float_equal(out.clip_coef, 1.0 / (5.0 + 1e-6), 1e-7);
	assert_float_equal(ts[0].grad_norm, 3.0, 1e-6);
	assert_float_equal(g[0], 0.6, 1e-6);
	for (int i = 0; i < 4; i++) {
		struct optreg_adam_scalars sc;
		int k = i < 2 ? 0 : 1;
		optreg_adam_scalars_init(&sc, &gr[k].h, 1, gr[k].lr_t);
		optreg_adam_update_f32(&sc, &gr[k].h, &pw[i],
				       gw[i] * (float)out.clip_coef, &mw[i],
				       &vw[i], NULL);
		assert_memory_equal(&pw[i], &p[i], sizeof(float));
	}
	/* Elements 1 and 2 had zero gradients: sqrt(v_hat) = 0 < eps. */
	assert_int_equal(ts[0].small_denom + ts[1].small_denom, 2);
	assert_int_equal(ts[0].nonfinite_param + ts[1].nonfinite_param, 0);
	assert_float_equal(ts[0].param_sumsq, 5.0, 1e-12);

	/* Below the maximum nothing is scaled. */
	float g2[4] = {0.1f, 0.1f, 0.1f, 0.1f};
	st.grad = g2;
	st.step = 2;
	assert_int_equal(be.adam_step(be.ctx, &st, &out), 0);
	assert_true(out.clip_coef == 1.0 && g2[0] == 0.1f);
}

/* --- IDX ---------------------------------------------------------------- */

static void test_idx_reads_fashion_mnist(void **state)
{
	size_t hist[10] = {0};

	(void)state;
	assert_int_equal(fm.train_images.count, 60000);
	assert_int_equal(fm.train_labels.count, 60000);
	assert_int_equal(fm.test_images.count, 10000);
	assert_int_equal(fm.test_labels.count, 10000);
	assert_int_equal(fm.train_images.ndims, 3);
	assert_int_equal(fm.train_images.item_size, 784);
	for (size_t i = 0; i < fm.train_labels.count; i++)
		hist[fm.train_labels.data[i]]++;
	/* Fashion-MNIST is balanced: 6000 training images per class. */
	for (int c = 0; c < 10; c++)
		assert_int_equal(hist[c], 6000);
}

static char tmpdir[64];

static void write_gz(const char *name, const unsigned char *b, size_t n)
{
	char path[128];
	gzFile gz;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	gz = gzopen(path, "wb");
	assert_non_null(gz);
	if (n)
		assert_int_equal(gzwrite(gz, b, (unsigned)n), (int)n);
	gzclose(gz);
}

static void expect_idx(const char *name, int code, const char *rule)
{
	char path[128];
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_idx idx;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(optreg_idx_read(path, &idx, &errs), code);
	if (code) {
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].rule, rule);
		assert_string_equal(errs.items[0].path, path);
		assert_null(idx.data);
	} else {
		optreg_idx_release(&idx);
	}
	optreg_errors_release(&errs);
}

static void test_idx_rejects_corrupt_files(void **state)
{
	/* 2 x 3 bytes, well-formed. */
	unsigned char good[] = {0, 0, 8, 2, 0, 0, 0, 2, 0,
				0, 0, 3, 1, 2, 3, 4, 5, 6};
	unsigned char bad[sizeof(good) + 1];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/optreg-idx.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));

	write_gz("good.gz", good, sizeof(good));
	expect_idx("good.gz", 0, NULL);

	memcpy(bad, good, sizeof(good));
	bad[1] = 1;
	write_gz("magic.gz", bad, sizeof(good));
	expect_idx("magic.gz", OPTREG_EINVAL, "idx_magic");

	memcpy(bad, good, sizeof(good));
	bad[2] = 0x0d; /* float */
	write_gz("type.gz", bad, sizeof(good));
	expect_idx("type.gz", OPTREG_EINVAL, "idx_type");

	memcpy(bad, good, sizeof(good));
	bad[3] = 9;
	write_gz("ndims.gz", bad, sizeof(good));
	expect_idx("ndims.gz", OPTREG_EINVAL, "idx_dims");

	memcpy(bad, good, sizeof(good));
	bad[7] = 0;
	write_gz("zero.gz", bad, sizeof(good));
	expect_idx("zero.gz", OPTREG_EINVAL, "idx_dims");

	write_gz("short.gz", good, sizeof(good) - 1);
	expect_idx("short.gz", OPTREG_EINVAL, "idx_truncated");

	write_gz("header.gz", good, 6);
	expect_idx("header.gz", OPTREG_EINVAL, "idx_truncated");

	memcpy(bad, good, sizeof(good));
	bad[sizeof(good)] = 7;
	write_gz("long.gz", bad, sizeof(bad));
	expect_idx("long.gz", OPTREG_EINVAL, "idx_trailing");

	memcpy(bad, good, sizeof(good));
	bad[4] = 0xff; /* 4G x 3 bytes */
	write_gz("huge.gz", bad, sizeof(good));
	expect_idx("huge.gz", OPTREG_ELIMIT, "idx_size");

	write_gz("empty.gz", good, 0);
	expect_idx("empty.gz", OPTREG_EINVAL, "idx_magic");

	expect_idx("missing.gz", OPTREG_EIO, "io");

	/* A loader pointed at a directory of the wrong files says so. */
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_fmnist f;
	assert_int_equal(optreg_fmnist_load(tmpdir, &f, &errs), OPTREG_EIO);
	assert_non_null(errs.items[0].hint);
	optreg_errors_release(&errs);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* --- workloads ---------------------------------------------------------- */

static void test_quadratic_learns_and_reports_sharpness(void **state)
{
	struct optreg_config c = adamw(0.1);
	struct optreg_workload_spec s = spec("quadratic_deep", 60);
	struct optreg_workload_result r;

	(void)state;
	run_ok(&s, &c, &r);
	assert_int_equal(r.steps_run, 60);
	assert_int_equal(r.nonfinite_step, 0);
	assert_int_equal(r.ntensors, 1);
	assert_string_equal(r.tensors[0].name, "theta");
	/* From 1/2 1^T Q 1 + noise to near the noise floor 0.18 tr(Q). */
	assert_true(r.loss[0] > 150);
	assert_true(tail_ratio(&r, 10) < 0.6);
	assert_non_null(r.expected_loss);
	assert_true(mean(r.expected_loss, 50, 60) < 0.6 * r.expected_loss[0]);
	assert_non_null(r.sharpness);
	for (long t = 0; t < r.steps_run; t++) {
		assert_true(isfinite(r.sharpness[t]) && r.sharpness[t] > 0);
		/* (2 + 2 beta1) / ((1 - beta1) lr) = 38 / lr */
		assert_float_equal(r.sharpness_bound[t], 380, 1e-9);
		assert_true(r.grad_norm[t] > 0 && r.clip_coef[t] == 1.0);
		assert_true(r.lr[t] == 0.1);
	}
	/* Step 1: v_hat = g^2, so P Q has a huge top eigenvalue ~ Q/|g|;
	 * later it settles. It is a number the check can compare. */
	assert_true(r.sharpness[r.steps_run - 1] < r.sharpness[0]);
	optreg_workload_result_release(&r);
}

static void test_rosenbrock_and_beale_learn(void **state)
{
	struct optreg_config c = adamw(0.05);
	struct optreg_workload_spec s = spec("rosenbrock", 60);
	struct optreg_workload_result r;

	(void)state;
	c.weight_decay = 0;
	run_ok(&s, &c, &r);
	assert_float_equal(r.loss[0], 158.5, 1.0); /* f(-0.5, 1.5) + noise */
	assert_true(tail_ratio(&r, 10) < 0.1);
	optreg_workload_result_release(&r);

	s.name = "beale";
	c.lr = 0.1;
	run_ok(&s, &c, &r);
	assert_true(r.loss[0] > 1e5);
	assert_true(tail_ratio(&r, 10) < 0.01);
	optreg_workload_result_release(&r);
}

static double max_ratio(const struct optreg_workload_result *r)
{
	double m = r->loss[0];

	for (long t = 1; t < r->steps_run; t++)
		if (r->loss[t] > m)
			m = r->loss[t];
	return m / r->loss[0];
}

/*
 * Ten times a good lr shows on the criteria a stability check applies: a
 * non-finite value, a loss spike far above the initial loss, or a worse
 * end. (Adam bounds each step by about lr, so on these problems a too high
 * lr oscillates rather than overflows.)
 */
static void test_too_high_lr_shows(void **state)
{
	struct optreg_config c = adamw(0.3);
	struct optreg_workload_spec s = spec("rosenbrock", 100);
	struct optreg_workload_result good, bad;

	(void)state;
	c.weight_decay = 0;
	run_ok(&s, &c, &good);
	c.lr = 3.0;
	run_ok(&s, &c, &bad);
	assert_int_equal(good.nonfinite_step, 0);
	assert_true(max_ratio(&good) <= 1.0);
	assert_true(bad.nonfinite_step || max_ratio(&bad) > 10);
	assert_true(mean(bad.expected_loss, 90, 100) >
		    2 * mean(good.expected_loss, 90, 100));
	optreg_workload_result_release(&good);
	optreg_workload_result_release(&bad);

	s.name = "quadratic_deep";
	c = adamw(0.1);
	run_ok(&s, &c, &good);
	c.lr = 1.0;
	run_ok(&s, &c, &bad);
	assert_true(max_ratio(&good) <= 1.0);
	assert_true(bad.nonfinite_step || max_ratio(&bad) > 3);
	assert_true(mean(bad.expected_loss, 90, 100) >
		    mean(good.expected_loss, 90, 100));
	/* The edge-of-stability bound scales with 1 / lr. */
	assert_float_equal(bad.sharpness_bound[0], 38, 1e-9);
	optreg_workload_result_release(&good);
	optreg_workload_result_release(&bad);
}

static void test_nan_is_caught_at_its_step(void **state)
{
	const char *names[] = {"quadratic_deep", "beale", "fmnist_logreg"};
	struct optreg_config c = adamw(0.01);

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct optreg_workload_spec s = spec(names[i], 20);
		struct optreg_workload_result r;
		s.inject_nan_step = 7;
		c.has_grad_clip = i == 2; /* NaN norm -> NaN clip factor */
		c.grad_clip_norm = 1.0;
		run_ok(&s, &c, &r);
		assert_int_equal(r.nonfinite_step, 7);
		assert_int_equal(r.steps_run, 7);
		assert_int_equal(r.nonfinite_what, OPTREG_NONFINITE_GRAD_NORM);
		assert_string_equal(optreg_nonfinite_name(r.nonfinite_what),
				    "grad_norm");
		assert_true(isfinite(r.loss[6]));
		assert_true(isnan(r.grad_norm[6]));
		assert_false(r.has_test);
		optreg_workload_result_release(&r);
	}
}

static void test_runs_are_bit_identical(void **state)
{
	const char *names[] = {"quadratic_deep", "rosenbrock", "fmnist_mlp"};

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct optreg_config c = adamw(i == 2 ? 1e-3 : 0.05);
		struct optreg_workload_spec s = spec(names[i], 12);
		struct optreg_workload_result a, b;
		c.has_grad_clip = 1;
		c.grad_clip_norm = 5.0;
		s.skip_eval = 1;
		run_ok(&s, &c, &a);
		run_ok(&s, &c, &b);
		assert_int_equal(a.steps_run, b.steps_run);
		assert_memory_equal(a.loss, b.loss,
				    sizeof(double) * (size_t)a.steps_run);
		assert_memory_equal(a.grad_norm, b.grad_norm,
				    sizeof(double) * (size_t)a.steps_run);
		assert_memory_equal(a.update_norm, b.update_norm,
				    sizeof(double) * (size_t)a.steps_run *
					    a.ntensors);
		/* Another seed draws another run. */
		s.seed++;
		optreg_workload_result_release(&b);
		run_ok(&s, &c, &b);
		assert_true(memcmp(a.loss, b.loss, sizeof(double) * 12) != 0);
		optreg_workload_result_release(&a);
		optreg_workload_result_release(&b);
	}
}

static void test_fmnist_logreg_accuracy(void **state)
{
	struct optreg_config c = adamw(1e-3);
	struct optreg_workload_spec s = spec("fmnist_logreg", 300);
	struct optreg_workload_result r;

	(void)state;
	run_ok(&s, &c, &r);
	assert_true(r.has_test);
	assert_int_equal(r.test_rows, 10000);
	assert_true(r.test_accuracy > 0.70);
	assert_true(tail_ratio(&r, 30) < 0.5);
	assert_int_equal(r.ntensors, 2);
	assert_string_equal(r.tensors[0].name, "fc.weight");
	assert_int_equal(r.tensors[0].numel, 7840);
	assert_int_equal(r.nparams, 7850);
	optreg_workload_result_release(&r);
}

static void test_fmnist_mlp_learns(void **state)
{
	struct optreg_config c = adamw(1e-3);
	struct optreg_workload_spec s = spec("fmnist_mlp", 40);
	struct optreg_workload_result r;

	(void)state;
	s.eval_rows = 2000;
	run_ok(&s, &c, &r);
	assert_float_equal(r.loss[0], log(10.0), 0.7);
	assert_true(tail_ratio(&r, 5) < 0.5);
	assert_true(r.has_test && r.test_rows == 2000);
	assert_true(r.test_accuracy > 0.6);
	assert_int_equal(r.ntensors, 8);
	assert_string_equal(r.tensors[7].name, "fc4.bias");
	assert_int_equal(r.nparams, 1336610);
	/* Weights move by a small fraction per step; zero-init biases give
	 * no ratio at step 1. */
	double ratio = optreg_workload_update_ratio(&r, 20, 0);
	assert_true(ratio > 1e-5 && ratio < 1e-1);
	assert_true(isnan(optreg_workload_update_ratio(&r, 1, 1)));
	assert_true(isnan(optreg_workload_update_ratio(&r, 41, 0)));
	/* Border pixels are black in most images: their fc1 columns see
	 * zero gradients, so some sqrt(v_hat) stay below eps. */
	assert_true(r.small_denom_frac[0] > 0 && r.small_denom_frac[0] < 0.5);
	optreg_workload_result_release(&r);
}

/*
 * The hand-written backward pass of the MLP against central differences
 * of its loss, for the largest-gradient element of every tensor.
 */
static void test_fmnist_mlp_gradient(void **state)
{
	struct optreg_config c = adamw(1e-3);
	struct optreg_workload_spec s = spec("fmnist_mlp", 1);
	struct optreg_workload_result res;
	struct wl_run w;
	const struct wl_problem *p = &wl_fmnist_mlp;
	double loss;

	(void)state;
	memset(&res, 0, sizeof(res));
	memset(&w, 0, sizeof(w));
	w.spec = &s;
	w.cfg = &c;
	w.be = &be;
	w.res = &res;
	w.batch = 32;
	w.seed = s.seed;
	assert_int_equal(p->setup(&w, NULL), 0);
	float *host = calloc(w.nparams, sizeof(float));
	float *grad = calloc(w.nparams, sizeof(float));
	p->init_params(&w, host);
	assert_int_equal(be.alloc(be.ctx, w.nparams, &w.param), 0);
	assert_int_equal(be.alloc(be.ctx, w.nparams, &w.grad), 0);
	be.upload(be.ctx, w.param, host, w.nparams);
	assert_int_equal(p->loss_grad(&w, 1, &loss), 0);
	be.download(be.ctx, grad, w.grad, w.nparams);

	for (size_t k = 0; k < w.ntensors; k++) {
		size_t off = w.tensors[k].offset, best = off;
		for (size_t i = off; i < off + w.tensors[k].n; i++)
			if (fabsf(grad[i]) > fabsf(grad[best]))
				best = i;
		const float h = 1e-2f;
		float keep = host[best], x;
		double lp, lm;
		x = keep + h;
		be.upload(be.ctx, w.param + best, &x, 1);
		p->loss_grad(&w, 1, &lp);
		x = keep - h;
		be.upload(be.ctx, w.param + best, &x, 1);
		p->loss_grad(&w, 1, &lm);
		be.upload(be.ctx, w.param + best, &keep, 1);
		double fd = (lp - lm) / (2.0 * h);
		if (fabs(fd - grad[best]) > 0.03 * fabs(grad[best]) + 1e-4)
			fail_msg("%s[%zu]: backprop %g, differences %g",
				 res.tensors[k].name, best - off, grad[best],
				 fd);
	}
	free(host);
	free(grad);
	be.free(be.ctx, w.param);
	be.free(be.ctx, w.grad);
	p->teardown(&w);
	free(w.tensors);
	optreg_workload_result_release(&res);
}

static void test_param_groups(void **state)
{
	struct optreg_config c = adamw(1e-3);
	struct optreg_param_group g[2];
	struct optreg_workload_spec s = spec("fmnist_mlp", 2);
	struct optreg_workload_result r;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	memset(g, 0, sizeof(g));
	g[0].match = "(bias|norm)";
	g[0].has_weight_decay = 1;
	g[0].weight_decay = 0;
	g[1].match = "^fc[14]\\.";
	g[1].has_lr = 1;
	g[1].lr = 1e-4;
	c.groups = g;
	c.ngroups = 2;
	s.skip_eval = 1;
	run_ok(&s, &c, &r);
	/* First match wins: fc1.bias is in group 1, fc1.weight in group 2. */
	assert_int_equal(r.tensors[0].group, 2);
	assert_true(r.tensors[0].hparams.lr == 1e-4);
	assert_true(r.tensors[0].hparams.weight_decay == 0.01);
	assert_int_equal(r.tensors[1].group, 1);
	assert_true(r.tensors[1].hparams.weight_decay == 0);
	assert_true(r.tensors[1].hparams.lr == 1e-3);
	assert_int_equal(r.tensors[2].group, 0);
	assert_int_equal(r.tensors[6].group, 2);
	optreg_workload_result_release(&r);

	g[1].match = "fc[";
	assert_int_equal(optreg_workload_run(&s, &c, &be, &r, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].path, "spec.param_groups[1].match");
	optreg_workload_result_release(&r);
	optreg_errors_release(&errs);

	s.name = "resnet";
	assert_int_equal(optreg_workload_run(&s, &c, &be, &r, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "workload");
	optreg_workload_result_release(&r);
	optreg_errors_release(&errs);
}

/* A schedule warms up, and amsgrad and maximize run through the step. */
static void test_schedule_amsgrad_maximize(void **state)
{
	struct optreg_config c = adamw(0.1);
	struct optreg_workload_spec s = spec("quadratic_deep", 30);
	struct optreg_workload_result r;
	struct optreg_schedule warm = {OPTREG_SCHEDULE_COSINE, 10, 30, 0.0};

	(void)state;
	c.amsgrad = 1;
	s.schedule = &warm;
	run_ok(&s, &c, &r);
	assert_true(r.lr[0] == 0.01 && r.lr[9] == 0.1);
	assert_true(r.lr[29] < 1e-9);
	assert_true(tail_ratio(&r, 5) < 0.7);
	assert_float_equal(r.sharpness_bound[0], 3800, 1e-6);
	optreg_workload_result_release(&r);

	/* Ascending a quadratic: the loss only grows. */
	c = adamw(0.1);
	c.maximize = 1;
	run_ok(&s, &c, &r);
	assert_true(tail_ratio(&r, 5) > 2);
	optreg_workload_result_release(&r);
}

static void test_bad_spec(void **state)
{
	struct optreg_config c = adamw(0.1);
	struct optreg_workload_spec s = spec("beale", 0);
	struct optreg_workload_result r;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	assert_int_equal(optreg_workload_run(&s, &c, &be, &r, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].path, "steps");
	optreg_errors_release(&errs);
	optreg_workload_result_release(&r);

	s = spec("fmnist_logreg", 1);
	s.fmnist = NULL;
	s.data_dir = "/nonexistent";
	assert_int_equal(optreg_workload_run(&s, &c, &be, &r, &errs),
			 OPTREG_EIO);
	optreg_errors_release(&errs);
	optreg_workload_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gemm_matches_naive),
		cmocka_unit_test(test_gemm_batched_equals_gemm_calls),
		cmocka_unit_test(test_softmax_xent_value_and_gradient),
		cmocka_unit_test(test_small_kernels),
		cmocka_unit_test(test_adam_step_clips_and_reports),
		cmocka_unit_test(test_idx_reads_fashion_mnist),
		cmocka_unit_test(test_idx_rejects_corrupt_files),
		cmocka_unit_test(test_quadratic_learns_and_reports_sharpness),
		cmocka_unit_test(test_rosenbrock_and_beale_learn),
		cmocka_unit_test(test_too_high_lr_shows),
		cmocka_unit_test(test_nan_is_caught_at_its_step),
		cmocka_unit_test(test_runs_are_bit_identical),
		cmocka_unit_test(test_fmnist_logreg_accuracy),
		cmocka_unit_test(test_fmnist_mlp_learns),
		cmocka_unit_test(test_fmnist_mlp_gradient),
		cmocka_unit_test(test_param_groups),
		cmocka_unit_test(test_schedule_amsgrad_maximize),
		cmocka_unit_test(test_bad_spec),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
