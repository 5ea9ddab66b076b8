/*
 * runner/cuda/cuda_int.cuh: what the CUDA backend's files share (private).
 *
 * The C headers come in with C linkage. Reductions use one block shape
 * (CUDA_THREADS) and trees whose order depends only on the shapes, so two
 * runs on one device give the same bits.
 */
#ifndef OPTREG_CUDA_INT_CUH
#define OPTREG_CUDA_INT_CUH

#include <cuda_runtime.h>

extern "C" {
#include "../../common/buf.h"
#include "../cuda.h"
}
#include "../adam.h"
#include "../kernels.h"
#include "../precision.h"

#define CUDA_THREADS 256

/* A fixed-order sum over a block of CUDA_THREADS threads: pairs (t, t + s)
 * for s = 128, 64, ..., 1. Every thread gets the total. `sh` holds
 * CUDA_THREADS doubles. */
static __device__ double cuda_block_sum(double x, double *sh)
{
	int t = threadIdx.x;

	sh[t] = x;
	__syncthreads();
	for (int s = CUDA_THREADS / 2; s > 0; s >>= 1) {
		if (t < s)
			sh[t] = sh[t] + sh[t + s];
		__syncthreads();
	}
	double r = sh[0];
	__syncthreads();
	return r;
}

static __device__ unsigned long long
cuda_block_count(unsigned long long x, unsigned long long *sh)
{
	int t = threadIdx.x;

	sh[t] = x;
	__syncthreads();
	for (int s = CUDA_THREADS / 2; s > 0; s >>= 1) {
		if (t < s)
			sh[t] += sh[t + s];
		__syncthreads();
	}
	unsigned long long r = sh[0];
	__syncthreads();
	return r;
}

#endif
