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

/*
 * A fixed-order sum over a block of CUDA_THREADS threads (every thread of
 * the block calls it): within each warp a shuffle tree (lane l adds lane
 * l + 16, then l + 8, ..., 1), then warp 0 does the same over the warps'
 * sums. The order depends only on the block shape. Every thread gets the
 * total. `sh` holds at least CUDA_THREADS / 32 + 1 values.
 */
#define CUDA_WARPS (CUDA_THREADS / 32)

template <typename T> static __device__ T cuda_block_reduce(T x, T *sh)
{
	int t = threadIdx.x, lane = t & 31, w = t >> 5;

	for (int o = 16; o > 0; o >>= 1)
		x += __shfl_down_sync(0xffffffffu, x, o);
	if (lane == 0)
		sh[w] = x;
	__syncthreads();
	if (w == 0) {
		x = lane < CUDA_WARPS ? sh[lane] : (T)0;
		for (int o = 16; o > 0; o >>= 1)
			x += __shfl_down_sync(0xffffffffu, x, o);
		if (lane == 0)
			sh[CUDA_WARPS] = x;
	}
	__syncthreads();
	T r = sh[CUDA_WARPS];
	__syncthreads();
	return r;
}

static __device__ double cuda_block_sum(double x, double *sh)
{
	return cuda_block_reduce<double>(x, sh);
}

static __device__ unsigned long long
cuda_block_count(unsigned long long x, unsigned long long *sh)
{
	return cuda_block_reduce<unsigned long long>(x, sh);
}

#endif
