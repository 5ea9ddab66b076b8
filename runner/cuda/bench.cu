/*
 * runner/cuda/bench.cu: `make bench-gpu`. The backend's fused Adam step
 * (runner/backend.h adam_step, no clipping, float32 state) at 1M, 16M and
 * 128M parameters in 8 tensors, as achieved bandwidth at 28 bytes per
 * parameter (p, m, v read and written, g read), against a device-to-device
 * cudaMemcpy of 256 MiB in the same run (bytes read plus written). Median
 * of 20 timed runs after 3 warm-up runs, timed with device events.
 * Exits 2 with a message when there is no device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_int.cuh"
/* After cuda_int.cuh, which brings the C headers in with C linkage. */
#include "../adam_bench.h"

#define BENCH_REPS 20
#define BENCH_WARM 3

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static float median(float *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_float);
	return t[n / 2];
}

#define CK(call)                                                               \
	do {                                                                   \
		cudaError_t ck_e = (call);                                     \
		if (ck_e != cudaSuccess) {                                     \
			fprintf(stderr, "bench-gpu: %s: %s\n", #call,          \
				cudaGetErrorString(ck_e));                     \
			exit(1);                                               \
		}                                                              \
	} while (0)

/* Milliseconds of one device-to-device copy of `bytes` (median). */
static float bench_copy(size_t bytes)
{
	void *a, *b;
	cudaEvent_t e0, e1;
	float t[BENCH_REPS];

	CK(cudaMalloc(&a, bytes));
	CK(cudaMalloc(&b, bytes));
	CK(cudaMemset(a, 0x3f, bytes));
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	for (int i = 0; i < BENCH_WARM; i++)
		CK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
	for (int i = 0; i < BENCH_REPS; i++) {
		CK(cudaEventRecord(e0));
		CK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
		CK(cudaEventRecord(e1));
		CK(cudaEventSynchronize(e1));
		CK(cudaEventElapsedTime(&t[i], e0, e1));
	}
	CK(cudaEventDestroy(e0));
	CK(cudaEventDestroy(e1));
	CK(cudaFree(a));
	CK(cudaFree(b));
	return median(t, BENCH_REPS);
}

static __global__ void bench_init(float *x, size_t n, float lo, float span,
				  unsigned salt)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		unsigned h = (unsigned)i * 2654435761u ^ salt;
		h ^= h >> 15;
		h *= 2246822519u;
		h ^= h >> 13;
		x[i] = lo + span * (float)(h >> 8) * (1.0f / 16777216.0f);
	}
}

/* Milliseconds of one adam_step over n parameters (median). */
static float bench_adam(struct optreg_backend *be, size_t n)
{
	float *p, *g, *m, *v;
	struct optreg_adam_tensor ts[OPTREG_ADAM_BENCH_TENSORS];
	struct optreg_adam_tensor_stats st[OPTREG_ADAM_BENCH_TENSORS];
	struct optreg_adam_group gr;
	struct optreg_adam_step step;
	struct optreg_adam_step_out out;
	cudaEvent_t e0, e1;
	float t[BENCH_REPS];

	if (be->alloc(be->ctx, n, &p) || be->alloc(be->ctx, n, &g) ||
	    be->alloc(be->ctx, n, &m) || be->alloc(be->ctx, n, &v)) {
		fprintf(stderr, "bench-gpu: out of device memory at %zu\n", n);
		exit(1);
	}
	bench_init<<<1024, 256>>>(p, n, -1.0f, 2.0f, 1u);
	bench_init<<<1024, 256>>>(g, n, -0.01f, 0.02f, 2u);
	bench_init<<<1024, 256>>>(m, n, -0.001f, 0.002f, 3u);
	bench_init<<<1024, 256>>>(v, n, 0.0f, 1e-6f, 4u);
	CK(cudaGetLastError());
	optreg_adam_bench_setup(&step, &gr, ts, n, p, g, m, v);
	out.tensors = st;
	CK(cudaEventCreate(&e0));
	CK(cudaEventCreate(&e1));
	for (int i = 0; i < BENCH_WARM + BENCH_REPS; i++) {
		step.step = i + 1;
		CK(cudaEventRecord(e0));
		if (be->adam_step(be->ctx, &step, &out)) {
			fprintf(stderr, "bench-gpu: adam_step failed\n");
			exit(1);
		}
		CK(cudaEventRecord(e1));
		CK(cudaEventSynchronize(e1));
		if (i >= BENCH_WARM)
			CK(cudaEventElapsedTime(&t[i - BENCH_WARM], e0, e1));
	}
	if (!(out.grad_norm > 0) || st[0].nonfinite_param) {
		fprintf(stderr, "bench-gpu: implausible step (grad norm %g, "
				"%zu non-finite)\n",
			out.grad_norm, st[0].nonfinite_param);
		exit(1);
	}
	CK(cudaEventDestroy(e0));
	CK(cudaEventDestroy(e1));
	be->free(be->ctx, p);
	be->free(be->ctx, g);
	be->free(be->ctx, m);
	be->free(be->ctx, v);
	return median(t, BENCH_REPS);
}

int main(void)
{
	struct optreg_cuda_info info;
	struct optreg_backend be;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	static const size_t sizes[] = {1u << 20, 16u << 20, 128u << 20};

	optreg_cuda_probe(&info);
	if (info.ndevices == 0) {
		fprintf(stderr, "bench-gpu: no CUDA device (%s)\n", info.why);
		return 2;
	}
	if (optreg_cuda_backend_init(&be, 0, &errs)) {
		fprintf(stderr, "bench-gpu: %s\n",
			errs.len ? errs.items[0].message : "init failed");
		optreg_errors_release(&errs);
		return 2;
	}
	optreg_errors_release(&errs);

	size_t copy_bytes = (size_t)256 << 20;
	float copy_ms = bench_copy(copy_bytes);
	double copy_gbs = 2.0 * (double)copy_bytes / (copy_ms * 1e-3) / 1e9;

	printf("%s\n", be.device);
	printf("device-to-device copy, %zu MiB: %.3f ms, %.1f GB/s "
	       "(read + write)\n",
	       copy_bytes >> 20, copy_ms, copy_gbs);
	printf("%-10s %10s %10s %8s\n", "params", "step ms", "GB/s",
	       "of copy");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		float ms = bench_adam(&be, sizes[i]);
		double gbs = 28.0 * (double)sizes[i] / (ms * 1e-3) / 1e9;
		printf("%-10zu %10.3f %10.1f %7.1f%%\n", sizes[i], ms, gbs,
		       100.0 * gbs / copy_gbs);
	}
	be.destroy(&be);
	return 0;
}
