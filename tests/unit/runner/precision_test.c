/*
 * tests/unit/runner/precision_test.c: the float16/bfloat16 rounding of
 * runner/precision.h, the CPU backend's round_to op, and Adam's
 * low-precision optimizer state (cpu_adam_step with state_precision).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>

#include "runner/backend.h"
#include "runner/philox.h"
#include "runner/precision.h"

static struct optreg_backend be;

static int group_setup(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	if (optreg_cpu_backend_init(&be, 1, &errs))
		return -1;
	optreg_errors_release(&errs);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	be.destroy(&be);
	return 0;
}

static uint32_t bits(float x)
{
	uint32_t b;

	memcpy(&b, &x, sizeof(b));
	return b;
}

static float from_bits(uint32_t b)
{
	float x;

	memcpy(&x, &b, sizeof(x));
	return x;
}

/* Same bits, or both NaN. */
static int same(float a, float b)
{
	return (isnan(a) && isnan(b)) || bits(a) == bits(b);
}

#define ASSERT_ROUNDS(fn, in, want)                                            \
	do {                                                                   \
		float got_ = fn(in);                                           \
		if (!same(got_, (want)))                                       \
			fail_msg("%s(%a) = %a, want %a", #fn, (double)(in),    \
				 (double)got_, (double)(want));                \
	} while (0)

/* --- float16 ------------------------------------------------------------ */

static void test_fp16_known_values(void **state)
{
	(void)state;
	/* Exact values stay. */
	ASSERT_ROUNDS(optreg_round_fp16, 1.0f, 1.0f);
	ASSERT_ROUNDS(optreg_round_fp16, -2.5f, -2.5f);
	ASSERT_ROUNDS(optreg_round_fp16, 65504.0f, 65504.0f);
	ASSERT_ROUNDS(optreg_round_fp16, 0x1p-14f, 0x1p-14f);
	/* Ties to even at 1: the 11th fraction bit decides. */
	ASSERT_ROUNDS(optreg_round_fp16, 1.0f + 0x1p-11f, 1.0f);
	ASSERT_ROUNDS(optreg_round_fp16, 1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-9f);
	ASSERT_ROUNDS(optreg_round_fp16, 1.0f + 0x1p-11f + 0x1p-23f,
		      1.0f + 0x1p-10f);
	ASSERT_ROUNDS(optreg_round_fp16, -(1.0f + 0x1p-11f), -1.0f);
	/* Ordinary values (expected: Python's struct.pack('<e', x)). */
	ASSERT_ROUNDS(optreg_round_fp16, 0.1f, 0x1.998p-4f);
	ASSERT_ROUNDS(optreg_round_fp16, 1e-4f, 0x1.a38p-14f);
	ASSERT_ROUNDS(optreg_round_fp16, 3.14159265f, 0x1.92p+1f);
	/* The rounding carries into the exponent. */
	ASSERT_ROUNDS(optreg_round_fp16, 2.0f - 0x1p-12f, 2.0f);
	/* Overflow: 65519 rounds down, 65520 (the tie, odd below) to inf. */
	ASSERT_ROUNDS(optreg_round_fp16, 65519.0f, 65504.0f);
	ASSERT_ROUNDS(optreg_round_fp16, 65520.0f, INFINITY);
	ASSERT_ROUNDS(optreg_round_fp16, -65520.0f, -INFINITY);
	ASSERT_ROUNDS(optreg_round_fp16, 1e10f, INFINITY);
	ASSERT_ROUNDS(optreg_round_fp16, FLT_MAX, INFINITY);
	ASSERT_ROUNDS(optreg_round_fp16, INFINITY, INFINITY);
	ASSERT_ROUNDS(optreg_round_fp16, -INFINITY, -INFINITY);
	/* Subnormals: multiples of 2^-24 below 2^-14, kept. */
	ASSERT_ROUNDS(optreg_round_fp16, 0x1p-24f, 0x1p-24f);
	ASSERT_ROUNDS(optreg_round_fp16, 5 * 0x1p-24f, 5 * 0x1p-24f);
	ASSERT_ROUNDS(optreg_round_fp16, 5 * 0x1p-24f + 0x1p-26f, 5 * 0x1p-24f);
	ASSERT_ROUNDS(optreg_round_fp16, 5 * 0x1p-24f + 0x1p-25f,
		      6 * 0x1p-24f); /* tie, 5 is odd */
	ASSERT_ROUNDS(optreg_round_fp16, 3 * 0x1p-25f,
		      2 * 0x1p-24f); /* tie between 1 and 2 */
	ASSERT_ROUNDS(optreg_round_fp16, 1e-5f, 0x1.5p-17f);
	ASSERT_ROUNDS(optreg_round_fp16, -1e-5f, -0x1.5p-17f);
	/* The largest subnormal's tie with the smallest normal: even up. */
	ASSERT_ROUNDS(optreg_round_fp16, 0x1p-14f - 0x1p-25f, 0x1p-14f);
	ASSERT_ROUNDS(optreg_round_fp16, 0x1p-14f - 0x1p-24f,
		      0x1p-14f - 0x1p-24f);
	/* Underflow: 2^-25 is a tie with 0 (even); above it, 2^-24. */
	ASSERT_ROUNDS(optreg_round_fp16, 0x1p-25f, 0.0f);
	ASSERT_ROUNDS(optreg_round_fp16, -0x1p-25f, -0.0f);
	ASSERT_ROUNDS(optreg_round_fp16, 0x1p-25f + 0x1p-48f, 0x1p-24f);
	ASSERT_ROUNDS(optreg_round_fp16, 1e-11f, 0.0f);
	ASSERT_ROUNDS(optreg_round_fp16, 1e-45f, 0.0f); /* f32 subnormal */
	ASSERT_ROUNDS(optreg_round_fp16, -0.0f, -0.0f);
	assert_true(signbit(optreg_round_fp16(-1e-30f)));
	/* NaN stays NaN, payload and sign included. */
	assert_int_equal(bits(optreg_round_fp16(from_bits(0x7fc01234u))),
			 0x7fc01234u);
	assert_int_equal(bits(optreg_round_fp16(from_bits(0xff800001u))),
			 0xff800001u);
}

/* Every result is a float16 value: its low 13 fraction bits are zero
 * when normal, it is a multiple of 2^-24 when subnormal. */
static int is_fp16_value(float y)
{
	float a = fabsf(y);

	if (isnan(y) || isinf(y) || a == 0)
		return 1;
	if (a > 65504.0f)
		return 0;
	if (a >= 0x1p-14f)
		return (bits(a) & 0x1fffu) == 0;
	return fmodf(a, 0x1p-24f) == 0;
}

/* Random float bit patterns of every class, then values in float16's
 * range, against the compiler's own conversion where it has one. */
static void test_fp16_matches_compiler(void **state)
{
	(void)state;
	long n = 0, mism = 0;

	for (uint64_t i = 0; i < 400000; i++) {
		uint32_t r[4];
		optreg_philox_draw(7, 99, i, r);
		float xs[3];
		xs[0] = from_bits(r[0]); /* anything, NaN included */
		/* exponents around float16's range: 2^-27 .. 2^17 */
		xs[1] = from_bits((r[1] & 0x807fffffu) |
				  ((100u + r[2] % 45u) << 23));
		/* float16 halfway points, exact ties, in every normal binade
		 * (exponent field 1..30) */
		uint32_t mant = r[3] & 0x3ffu, ex = 1u + (r[3] >> 10) % 30u;
		xs[2] = ldexpf(1.0f + (float)mant / 1024.0f + 1.0f / 2048.0f,
			       (int)ex - 15);
		for (int k = 0; k < 3; k++) {
			float y = optreg_round_fp16(xs[k]);
			if (!is_fp16_value(y))
				fail_msg("optreg_round_fp16(%a) = %a is no "
					 "float16 value",
					 (double)xs[k], (double)y);
#ifdef __FLT16_MAX__
			float want = (float)(_Float16)xs[k];
			n++;
			if (!same(y, want) && mism++ < 5)
				print_error("fp16(%a): %a, _Float16 %a\n",
					    (double)xs[k], (double)y,
					    (double)want);
#endif
		}
	}
#ifdef __FLT16_MAX__
	assert_int_equal(mism, 0);
	assert_true(n == 1200000);
#else
	(void)n;
	(void)mism;
	print_message("no _Float16 in this compiler: checked the format "
		      "only\n");
#endif
}

/* --- bfloat16 ----------------------------------------------------------- */

/* bfloat16 rounding by comparing distances in double, a different method
 * from the bit trick under test. */
static float bf16_reference(float x)
{
	if (isnan(x) || isinf(x))
		return x;
	uint32_t lo_b = bits(x) & 0xffff0000u;
	float lo = from_bits(lo_b); /* toward zero */
	float hi = from_bits(lo_b + 0x10000u);
	double dlo = fabs((double)x - (double)lo);
	double dhi = fabs((double)hi - (double)x);
	if (isinf(hi)) /* past the largest: the tie and above overflow */
		dhi = fabs(ldexp(1.0, 128) * (x < 0 ? -1 : 1) - (double)x);
	if (dlo < dhi)
		return lo;
	if (dhi < dlo)
		return hi;
	return (lo_b >> 16) & 1u ? hi : lo;
}

static void test_bf16(void **state)
{
	(void)state;
	ASSERT_ROUNDS(optreg_round_bf16, 1.0f, 1.0f);
	ASSERT_ROUNDS(optreg_round_bf16, 1.0f + 0x1p-8f, 1.0f); /* tie */
	ASSERT_ROUNDS(optreg_round_bf16, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-6f);
	ASSERT_ROUNDS(optreg_round_bf16, 1.0f + 0x1p-8f + 0x1p-23f,
		      1.0f + 0x1p-7f);
	ASSERT_ROUNDS(optreg_round_bf16, 0.1f, 0x1.9ap-4f);
	/* 0.999 * v rounds back to v: bfloat16 cannot hold beta2's decay */
	ASSERT_ROUNDS(optreg_round_bf16, 0.999f, 1.0f);
	/* Tiny values keep float32's exponent range; subnormals round too */
	ASSERT_ROUNDS(optreg_round_bf16, 1e-30f, 0x1.44p-100f);
	ASSERT_ROUNDS(optreg_round_bf16, 0x1p-133f, 0x1p-133f); /* bits 1<<16 */
	ASSERT_ROUNDS(optreg_round_bf16, 0x1.8p-133f, 0x1p-132f); /* tie */
	ASSERT_ROUNDS(optreg_round_bf16, 0x1p-149f, 0.0f);
	/* Overflow past the largest, 0x1.fep127 */
	ASSERT_ROUNDS(optreg_round_bf16, 0x1.fep127f, 0x1.fep127f);
	ASSERT_ROUNDS(optreg_round_bf16, 0x1.ffp127f, INFINITY);
	ASSERT_ROUNDS(optreg_round_bf16, -FLT_MAX, -INFINITY);
	ASSERT_ROUNDS(optreg_round_bf16, 0x1.fefffep127f, 0x1.fep127f);
	ASSERT_ROUNDS(optreg_round_bf16, -0.0f, -0.0f);
	ASSERT_ROUNDS(optreg_round_bf16, INFINITY, INFINITY);
	/* A NaN whose payload sits in the low bits stays NaN. */
	assert_true(isnan(optreg_round_bf16(from_bits(0x7f800001u))));
	assert_true(isnan(optreg_round_bf16(from_bits(0xffffffffu))));

	for (uint64_t i = 0; i < 400000; i++) {
		uint32_t r[4];
		optreg_philox_draw(11, 99, i, r);
		float xs[2] = {from_bits(r[0]),
			       /* exact ties: 16 low bits 0x8000 */
			       from_bits((r[1] & 0xffff0000u) | 0x8000u)};
		for (int k = 0; k < 2; k++)
			ASSERT_ROUNDS(optreg_round_bf16, xs[k],
				      bf16_reference(xs[k]));
	}
}

static void test_round_to_and_op(void **state)
{
	float x[6] = {0.1f, 1e-11f, 70000.0f, -1.0f - 0x1p-11f, NAN, 3e-39f};
	float y[6];
	float *d;

	(void)state;
	assert_string_equal(optreg_precision_name(OPTREG_PRECISION_BF16),
			    "bf16");
	assert_null(optreg_precision_name((enum optreg_precision)9));
	assert_int_equal(be.alloc(be.ctx, 6, &d), 0);
	for (int p = 0; p < 3; p++) {
		enum optreg_precision prec = (enum optreg_precision)p;
		be.upload(be.ctx, d, x, 6);
		assert_int_equal(be.round_to(be.ctx, d, 6, prec), 0);
		be.download(be.ctx, y, d, 6);
		for (int i = 0; i < 6; i++) {
			float want = prec == OPTREG_PRECISION_FP32 ? x[i]
				     : prec == OPTREG_PRECISION_FP16
					     ? optreg_round_fp16(x[i])
					     : optreg_round_bf16(x[i]);
			assert_true(same(y[i], want));
			assert_true(same(optreg_round_to(x[i], prec), want));
		}
	}
	/* FP32 leaves the bits alone; the others change these. */
	assert_true(same(optreg_round_to(0.1f, OPTREG_PRECISION_FP32), 0.1f));
	assert_false(same(optreg_round_to(0.1f, OPTREG_PRECISION_FP16), 0.1f));
	assert_false(same(optreg_round_to(0.1f, OPTREG_PRECISION_BF16), 0.1f));
	assert_int_equal(be.round_to(be.ctx, d, 6, (enum optreg_precision)9),
			 OPTREG_EINVAL);
	be.free(be.ctx, d);
}

/* --- Adam with low-precision state -------------------------------------- */

struct one_elem {
	float *p, *g, *m, *v;
	struct optreg_adam_tensor t;
	struct optreg_adam_group gr;
};

static void one_init(struct one_elem *e, double eps)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(be.alloc(be.ctx, 1, &e->p), 0);
	assert_int_equal(be.alloc(be.ctx, 1, &e->g), 0);
	assert_int_equal(be.alloc(be.ctx, 1, &e->m), 0);
	assert_int_equal(be.alloc(be.ctx, 1, &e->v), 0);
	be.fill(be.ctx, e->p, 0.0f, 1);
	be.fill(be.ctx, e->m, 0.0f, 1);
	be.fill(be.ctx, e->v, 0.0f, 1);
	e->t.n = 1;
	e->gr.h.lr = 1e-3;
	e->gr.h.beta1 = 0.9;
	e->gr.h.beta2 = 0.999;
	e->gr.h.eps = eps;
	e->gr.lr_t = 1e-3;
}

static void one_release(struct one_elem *e)
{
	be.free(be.ctx, e->p);
	be.free(be.ctx, e->g);
	be.free(be.ctx, e->m);
	be.free(be.ctx, e->v);
}

/* Step t with gradient g; returns |p_after - p_before|. */
static double one_step(struct one_elem *e, long t, float g,
		       enum optreg_precision prec,
		       struct optreg_adam_tensor_stats *ts)
{
	struct optreg_adam_step st = {
		.param = e->p,
		.grad = e->g,
		.m = e->m,
		.v = e->v,
		.tensors = &e->t,
		.ntensors = 1,
		.groups = &e->gr,
		.ngroups = 1,
		.step = t,
		.state_precision = prec,
	};
	struct optreg_adam_step_out out = {.tensors = ts};
	float p0, p1;

	be.upload(be.ctx, e->g, &g, 1);
	be.download(be.ctx, &p0, e->p, 1);
	assert_int_equal(be.adam_step(be.ctx, &st, &out), 0);
	be.download(be.ctx, &p1, e->p, 1);
	return fabs((double)p1 - (double)p0);
}

/*
 * A constant gradient of 1e-4: v's increment (1 - beta2) g^2 = 1e-11 is
 * under float16's smallest subnormal, so stored v is 0 after every step.
 * Each step's update still divides by the float32 v of that step, which is
 * only its own increment: sqrt(v_hat) = sqrt((1 - b2) g^2 / bc2) instead
 * of |g|, about 0.032 |g| once bc2 is near 1. With eps 1e-8 the step is
 * then ~31x the learning rate; eps 1e-4 bounds it below 1x.
 */
static void test_adam_fp16_state_underflow(void **state)
{
	const float g = 1e-4f;
	const long T = 5000;
	double eps_list[2] = {1e-8, 1e-4};

	(void)state;
	for (int ei = 0; ei < 2; ei++) {
		double eps = eps_list[ei];
		struct one_elem a, b;
		struct optreg_adam_tensor_stats ts;
		double ua = 0, ub = 0;
		float m, v;
		one_init(&a, eps);
		one_init(&b, eps);
		for (long t = 1; t <= T; t++) {
			ua = one_step(&a, t, g, OPTREG_PRECISION_FP32, &ts);
			ub = one_step(&b, t, g, OPTREG_PRECISION_FP16, &ts);
			if (t == 1) {
				/* Step 1 is the same update: it used the
				 * unrounded v; the stored v is gone. */
				assert_float_equal(ua, ub, 1e-6 * ua);
				be.download(be.ctx, &v, b.v, 1);
				assert_true(v == 0.0f && !signbit(v));
				be.download(be.ctx, &v, a.v, 1);
				assert_float_equal(v, 1e-11, 1e-16);
				be.download(be.ctx, &m, b.m, 1);
				assert_true(m == optreg_round_fp16(1e-5f));
				/* the stored v counts as eps-dominated */
				assert_int_equal(ts.small_denom, 1);
			}
		}
		be.download(be.ctx, &v, b.v, 1);
		assert_true(v == 0.0f);
		/* m_hat ~ g in both; the denominators differ. */
		double bc2 = 1 - pow(0.999, (double)T);
		double den32 = (double)g + eps;
		double den16 = sqrt(0.001 * (double)g * (double)g / bc2) + eps;
		double lr = 1e-3;
		print_message("eps %g: update at step %ld: fp32 state %.4g "
			      "(%.3g x lr), fp16 state %.4g (%.3g x lr)\n",
			      eps, T, ua, ua / lr, ub, ub / lr);
		assert_float_equal(ua, lr * (double)g / den32, 0.01 * ua);
		assert_float_equal(ub, lr * (double)g / den16, 0.01 * ub);
		if (eps < 1e-6)
			assert_true(ub > 25 * lr); /* ~31x */
		else
			assert_true(ub < lr && ub > 0.9 * lr);
		one_release(&a);
		one_release(&b);
	}
}

/* Overflow of the stored state shows as a non-finite moment; bfloat16
 * state does not overflow there. */
static void test_adam_state_overflow_and_bf16(void **state)
{
	struct one_elem e;
	struct optreg_adam_tensor_stats ts;
	float v;

	(void)state;
	one_init(&e, 1e-8);
	/* (1 - b2) g^2 = 1e-3 * 1e10 = 1e7 > 65504 */
	one_step(&e, 1, 1e5f, OPTREG_PRECISION_FP16, &ts);
	be.download(be.ctx, &v, e.v, 1);
	assert_true(isinf(v));
	assert_int_equal(ts.nonfinite_moment, 1);
	one_release(&e);

	one_init(&e, 1e-8);
	one_step(&e, 1, 1e5f, OPTREG_PRECISION_BF16, &ts);
	be.download(be.ctx, &v, e.v, 1);
	assert_true(isfinite(v) && v == optreg_round_bf16(v));
	assert_int_equal(ts.nonfinite_moment, 0);
	/* bfloat16 v cannot decay by 0.999 per step: with gradients 0 it
	 * stays where it is, where float32 state decays. */
	float v1 = v;
	for (long t = 2; t < 50; t++)
		one_step(&e, t, 0.0f, OPTREG_PRECISION_BF16, &ts);
	be.download(be.ctx, &v, e.v, 1);
	assert_true(v == v1);
	one_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp16_known_values),
		cmocka_unit_test(test_fp16_matches_compiler),
		cmocka_unit_test(test_bf16),
		cmocka_unit_test(test_round_to_and_op),
		cmocka_unit_test(test_adam_fp16_state_underflow),
		cmocka_unit_test(test_adam_state_overflow_and_bf16),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
