/*
 * runner/precision.h: the storage formats of the precision workloads, and
 * the rounding of a float32 value into them, written once for the CPU and
 * for CUDA device code (OPTREG_HD, runner/adam.h).
 *
 * A precision workload keeps the parameters in float32 (the "master
 * weights" of mixed-precision training) but stores the gradients and the
 * optimizer state (m, v and AMSGrad's max v) in float16 or bfloat16: each
 * value is computed in float32 and rounded to the format (round to nearest,
 * ties to even; overflow to infinity; float16 keeps subnormals) when it is
 * stored, as PyTorch's fused kernels do with low-precision state. That is
 * where eps and underflow problems show: a squared gradient under float16's
 * smallest subnormal (2^-24) is stored as 0.
 */
#ifndef OPTREG_PRECISION_H
#define OPTREG_PRECISION_H

#include <stdint.h>
#ifndef __CUDA_ARCH__
#include <string.h>
#endif

#include "adam.h"

enum optreg_precision {
	OPTREG_PRECISION_FP32 = 0, /* no rounding */
	OPTREG_PRECISION_FP16,	   /* IEEE binary16 */
	OPTREG_PRECISION_BF16,	   /* bfloat16 */
};

/* The bits of a float and back (memcpy, which compilers turn into a
 * register move; CUDA's intrinsics on the device). */
static inline OPTREG_HD uint32_t optreg_f32_bits(float x)
{
#ifdef __CUDA_ARCH__
	return __float_as_uint(x);
#else
	uint32_t b;
	memcpy(&b, &x, sizeof(b));
	return b;
#endif
}

static inline OPTREG_HD float optreg_f32_from_bits(uint32_t b)
{
#ifdef __CUDA_ARCH__
	return __uint_as_float(b);
#else
	float x;
	memcpy(&x, &b, sizeof(x));
	return x;
#endif
}

/* a + b and a - b, each rounded once to nearest (CUDA: never fused). */
static inline OPTREG_HD float optreg_fadd_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
	return __fadd_rn(a, b);
#else
	return a + b;
#endif
}

static inline OPTREG_HD float optreg_fsub_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
	return __fsub_rn(a, b);
#else
	return a - b;
#endif
}

/*
 * x rounded to the nearest IEEE binary16 value, ties to even, returned as
 * the float32 of that value (every binary16 value is one exactly). Values
 * of magnitude 65520 and above (halfway past the largest, 65504) become
 * +-inf; binary16's subnormals (multiples of 2^-24 below 2^-14) are kept,
 * and magnitudes up to 2^-25 become +-0. Infinities stay; a NaN is
 * returned unchanged. Integer arithmetic on the bits, but for one float
 * addition in the subnormal range (below), which rounds to nearest as
 * float arithmetic does unless a program changes the rounding mode. Every
 * case is computed and the answer selected without branches: gradient and
 * moment values fall into the normal and subnormal ranges in no
 * predictable order.
 */
static inline OPTREG_HD float optreg_round_fp16(float x)
{
	uint32_t b = optreg_f32_bits(x);
	uint32_t sign = b & 0x80000000u, a = b & 0x7fffffffu;

	/* Normal in binary16: keep 10 of the 23 fraction bits. The carry of
	 * the rounding runs into the exponent correctly. */
	uint32_t normal = (a + 0x0fffu + ((a >> 13) & 1u)) & ~0x1fffu;

	/* Subnormal in binary16: a multiple of 2^-24. Below 2^-14, 0.5 + |x|
	 * has a unit in the last place of 2^-24, so the float addition
	 * rounds |x| to that multiple, to nearest even, and subtracting 0.5
	 * is exact. (Float arithmetic rounds to nearest in every C and CUDA
	 * program that does not change the mode; flush-to-zero cannot
	 * matter: the results are normal floats.) */
	uint32_t sub = optreg_f32_bits(optreg_fsub_rn(
		optreg_fadd_rn(optreg_f32_from_bits(a), 0.5f), 0.5f));

	/* The selection by masks: compilers turn a ?: chain back into
	 * branches. */
	uint32_t is_normal = 0u - (uint32_t)(a >= 0x38800000u);
	uint32_t is_zero = 0u - (uint32_t)(a <= 0x33000000u); /* the tie too */
	uint32_t is_inf = 0u - (uint32_t)(a >= 0x477ff000u);  /* from 65520 */
	uint32_t is_nan = 0u - (uint32_t)(a > 0x7f800000u);
	uint32_t r = (normal & is_normal) | (sub & ~is_normal);
	r &= ~is_zero;
	r = (r & ~is_inf) | (0x7f800000u & is_inf);
	r = (r & ~is_nan) | (a & is_nan);
	return optreg_f32_from_bits(sign | r);
}

/*
 * x rounded to the nearest bfloat16 value (the top 16 bits of a float32),
 * ties to even, as a float32. bfloat16 has float32's exponent range, so
 * only magnitudes past the largest value (halfway to 2^128 and above)
 * overflow to +-inf, and float32 subnormals round like the rest. A NaN is
 * returned unchanged.
 */
static inline OPTREG_HD float optreg_round_bf16(float x)
{
	uint32_t b = optreg_f32_bits(x);
	uint32_t r = (b + 0x7fffu + ((b >> 16) & 1u)) & 0xffff0000u;

	return optreg_f32_from_bits((b & 0x7fffffffu) > 0x7f800000u ? b : r);
}

/* x rounded to format `p` (FP32: x itself). */
static inline OPTREG_HD float optreg_round_to(float x, enum optreg_precision p)
{
	switch (p) {
	case OPTREG_PRECISION_FP16:
		return optreg_round_fp16(x);
	case OPTREG_PRECISION_BF16:
		return optreg_round_bf16(x);
	default:
		return x;
	}
}

/* "fp32", "fp16", "bf16"; NULL for a value outside the enum. */
static inline const char *optreg_precision_name(enum optreg_precision p)
{
	switch (p) {
	case OPTREG_PRECISION_FP32:
		return "fp32";
	case OPTREG_PRECISION_FP16:
		return "fp16";
	case OPTREG_PRECISION_BF16:
		return "bf16";
	}
	return NULL;
}

#endif
