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

#include "adam.h"

enum optreg_precision {
	OPTREG_PRECISION_FP32 = 0, /* no rounding */
	OPTREG_PRECISION_FP16,	   /* IEEE binary16 */
	OPTREG_PRECISION_BF16,	   /* bfloat16 */
};

#endif
