/*
 * runner/cuda/backend.cu: the CUDA backend (runner/backend.h, runner/cuda.h).
 *
 * Everything runs on the calling thread's default stream (built with
 * --default-stream per-thread; cuBLAS is pointed at cudaStreamPerThread),
 * so one thread's calls execute in issue order and download() waits for
 * what that thread issued before, while instances driven by other threads
 * (the suite's seeds at once, runner/device.h) run beside it.
 * GEMMs are cuBLAS's with deterministic settings: pedantic math (no TF32,
 * no reduced-precision reductions), atomics off (no split-K by atomics),
 * CUBLAS_WORKSPACE_CONFIG=:4096:8 set before the handle is created.
 * Row-major products go through the transposed column-major call.
 * Reductions never use atomics: column sums walk the rows in order (one
 * thread per column, the CPU's order exactly); dot, the softmax rows and
 * the Adam norms and statistics sum per block in a fixed tree and then the
 * block partials in order. The per-element and per-row math is the shared
 * headers' (adam.h, kernels.h, precision.h); this file is built with
 * --fmad=false so that nvcc fuses no multiply-add the CPU rounds twice.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <dlfcn.h>
#include <pthread.h>

#include "cuda_int.cuh"

/*
 * cuBLAS is loaded when the backend starts, not when the runner does:
 * mapping libcublas and libcublasLt costs 0.1 to 0.2 s per process, which
 * every run on the CPU (and every `--version`) would otherwise pay. The
 * runner links only cudart (a few milliseconds); these are the cuBLAS
 * calls the backend makes, resolved once by optreg_cuda_blas_load().
 */
static struct {
	decltype(&cublasCreate_v2) create;
	decltype(&cublasDestroy_v2) destroy;
	decltype(&cublasSetMathMode) set_math_mode;
	decltype(&cublasSetAtomicsMode) set_atomics_mode;
	decltype(&cublasSetPointerMode_v2) set_pointer_mode;
	decltype(&cublasSetStream_v2) set_stream;
	decltype(&cublasGetVersion_v2) get_version;
	decltype(&cublasGetStatusString) status_string;
	decltype(&cublasSgemm_v2) sgemm;
	decltype(&cublasSgemmStridedBatched) sgemm_batched;
} blas;
static char blas_why[200];
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

#define BLAS_SYM(lib, field, name)                                             \
	(blas.field = (decltype(blas.field))dlsym(lib, name))

static void blas_load_once(void)
{
	char soname[32];
	void *lib;

	/* The major version the backend was compiled against; found through
	 * the runner's rpath (the CUDA toolkit's lib64). */
	snprintf(soname, sizeof(soname), "libcublas.so.%d", CUBLAS_VER_MAJOR);
	lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(blas_why, sizeof(blas_why), "cannot load %s: %s",
			 soname, dlerror());
		return;
	}
	if (!BLAS_SYM(lib, create, "cublasCreate_v2") ||
	    !BLAS_SYM(lib, destroy, "cublasDestroy_v2") ||
	    !BLAS_SYM(lib, set_math_mode, "cublasSetMathMode") ||
	    !BLAS_SYM(lib, set_atomics_mode, "cublasSetAtomicsMode") ||
	    !BLAS_SYM(lib, set_pointer_mode, "cublasSetPointerMode_v2") ||
	    !BLAS_SYM(lib, set_stream, "cublasSetStream_v2") ||
	    !BLAS_SYM(lib, get_version, "cublasGetVersion_v2") ||
	    !BLAS_SYM(lib, status_string, "cublasGetStatusString") ||
	    !BLAS_SYM(lib, sgemm, "cublasSgemm_v2") ||
	    !BLAS_SYM(lib, sgemm_batched, "cublasSgemmStridedBatched")) {
		snprintf(blas_why, sizeof(blas_why), "%s lacks a call: %s",
			 soname, dlerror());
		blas.create = NULL;
	}
}

extern "C" int optreg_cuda_blas_load(char *why, size_t len)
{
	pthread_once(&blas_once, blas_load_once);
	if (blas.create)
		return 0;
	if (why && len)
		snprintf(why, len, "%s", blas_why);
	return OPTREG_EUNAVAILABLE;
}

struct cuda_ctx {
	int device;
	cublasHandle_t blas;
	/* Scratch on the device, grown as needed and kept: the Adam step's
	 * tables and partials, the reductions' partials and flags. */
	void *scratch;
	size_t scratch_bytes;
	/* Page-locked host memory, grown as needed and kept: the Adam step's
	 * tables go up and its statistics come down through it, one copy
	 * each way (a copy from pageable memory is staged by the driver). */
	void *pinned;
	size_t pinned_bytes;
};

/* Any CUDA failure after init: OPTREG_EINTERNAL, with the reason on
 * stderr (the backend interface carries codes only). */
static int cuda_fail(const char *what, cudaError_t e)
{
	fprintf(stderr, "optreg-runner: cuda: %s: %s\n", what,
		cudaGetErrorString(e));
	return OPTREG_EINTERNAL;
}

#define CUDA_CK(call)                                                          \
	do {                                                                   \
		cudaError_t ck_e = (call);                                     \
		if (ck_e != cudaSuccess)                                       \
			return cuda_fail(#call, ck_e);                         \
	} while (0)

/* After a launch: a bad configuration shows here, a fault at the next
 * synchronizing call. */
#define CUDA_LAUNCHED() CUDA_CK(cudaGetLastError())

static unsigned cuda_blocks(size_t n, size_t per_block)
{
	size_t b = (n + per_block - 1) / per_block;
	if (b == 0)
		b = 1;
	return b > 65535u * 1024u ? 65535u * 1024u : (unsigned)b;
}

/* Grid-stride loops from here on, so a capped grid still covers n. */
#define CUDA_FOR(i, n)                                                         \
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)gridDim.x * blockDim.x)

static int cuda_scratch(struct cuda_ctx *c, size_t bytes, void **out)
{
	if (bytes > c->scratch_bytes) {
		if (c->scratch)
			CUDA_CK(cudaFree(c->scratch));
		c->scratch = NULL;
		c->scratch_bytes = 0;
		size_t want = bytes < 4096 ? 4096 : bytes;
		cudaError_t e = cudaMalloc(&c->scratch, want);
		if (e != cudaSuccess) {
			(void)cudaGetLastError();
			return e == cudaErrorMemoryAllocation
				       ? OPTREG_ENOMEM
				       : cuda_fail("cudaMalloc", e);
		}
		c->scratch_bytes = want;
	}
	*out = c->scratch;
	return 0;
}

static int cuda_pinned(struct cuda_ctx *c, size_t bytes, void **out)
{
	if (bytes > c->pinned_bytes) {
		if (c->pinned)
			CUDA_CK(cudaFreeHost(c->pinned));
		c->pinned = NULL;
		c->pinned_bytes = 0;
		size_t want = bytes < 4096 ? 4096 : bytes;
		cudaError_t e = cudaHostAlloc(&c->pinned, want,
					      cudaHostAllocDefault);
		if (e != cudaSuccess) {
			(void)cudaGetLastError();
			c->pinned = NULL;
			return e == cudaErrorMemoryAllocation
				       ? OPTREG_ENOMEM
				       : cuda_fail("cudaHostAlloc", e);
		}
		c->pinned_bytes = want;
	}
	*out = c->pinned;
	return 0;
}

/* Memory. */

static int cuda_alloc(void *ctx, size_t n, float **out)
{
	(void)ctx;
	*out = NULL;
	if (n > SIZE_MAX / sizeof(float) - 256)
		return OPTREG_ENOMEM;
	cudaError_t e = cudaMalloc((void **)out,
				   n ? n * sizeof(float) : sizeof(float));
	if (e == cudaErrorMemoryAllocation) {
		(void)cudaGetLastError();
		*out = NULL;
		return OPTREG_ENOMEM;
	}
	if (e != cudaSuccess) {
		*out = NULL;
		return cuda_fail("cudaMalloc", e);
	}
	return 0;
}

static void cuda_free_buf(void *ctx, float *p)
{
	(void)ctx;
	if (p)
		(void)cudaFree(p);
}

static int cuda_upload(void *ctx, float *dst, const float *host, size_t n)
{
	(void)ctx;
	if (n)
		CUDA_CK(cudaMemcpy(dst, host, n * sizeof(float),
				   cudaMemcpyHostToDevice));
	return 0;
}

static int cuda_download(void *ctx, float *host, const float *src, size_t n)
{
	(void)ctx;
	if (n)
		CUDA_CK(cudaMemcpy(host, src, n * sizeof(float),
				   cudaMemcpyDeviceToHost));
	return 0;
}

static __global__ void k_fill(float *x, float value, size_t n)
{
	CUDA_FOR(i, n)
	x[i] = value;
}

static int cuda_fill(void *ctx, float *x, float value, size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_fill<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(x, value, n);
	CUDA_LAUNCHED();
	return 0;
}

static int cuda_sync(void *ctx)
{
	(void)ctx;
	CUDA_CK(cudaStreamSynchronize(cudaStreamPerThread));
	return 0;
}

/* GEMM. */

static __global__ void k_gemm_k0(float *c, size_t m, size_t n, size_t ldc,
				 float beta)
{
	CUDA_FOR(i, m * n)
	{
		float *p = c + (i / n) * ldc + i % n;
		*p = beta == 0 ? 0.0f : beta * *p;
	}
}

static int cuda_gemm(void *ctx, int trans_a, int trans_b, size_t m, size_t n,
		     size_t k, float alpha, const float *a, size_t lda,
		     const float *b, size_t ldb, float beta, float *c,
		     size_t ldc)
{
	struct cuda_ctx *cx = (struct cuda_ctx *)ctx;

	if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX ||
	    ldb > INT_MAX || ldc > INT_MAX)
		return OPTREG_ELIMIT;
	if (m == 0 || n == 0)
		return 0;
	if (k == 0) {
		k_gemm_k0<<<cuda_blocks(m * n, CUDA_THREADS), CUDA_THREADS>>>(
			c, m, n, ldc, beta);
		CUDA_LAUNCHED();
		return 0;
	}
	/* Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
	 * the same buffers, the operands swapped. */
	cublasStatus_t s = blas.sgemm(
		cx->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
		trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k,
		&alpha, b, (int)ldb, a, (int)lda, &beta, c, (int)ldc);
	if (s != CUBLAS_STATUS_SUCCESS) {
		fprintf(stderr, "optreg-runner: cuda: cublasSgemm: %s\n",
			blas.status_string(s));
		return OPTREG_EINTERNAL;
	}
	return 0;
}

static int cuda_gemm_batched(void *ctx, int trans_a, int trans_b, size_t m,
			     size_t n, size_t k, float alpha, const float *a,
			     size_t lda, size_t stride_a, const float *b,
			     size_t ldb, size_t stride_b, float beta, float *c,
			     size_t ldc, size_t stride_c, size_t count)
{
	struct cuda_ctx *cx = (struct cuda_ctx *)ctx;

	if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX ||
	    ldb > INT_MAX || ldc > INT_MAX || count > INT_MAX ||
	    stride_a > LLONG_MAX || stride_b > LLONG_MAX ||
	    stride_c > LLONG_MAX)
		return OPTREG_ELIMIT;
	if (m == 0 || n == 0 || count == 0)
		return 0;
	if (k == 0) {
		for (size_t i = 0; i < count; i++) {
			int rc = cuda_gemm(ctx, trans_a, trans_b, m, n, k,
					   alpha, a + i * stride_a, lda,
					   b + i * stride_b, ldb, beta,
					   c + i * stride_c, ldc);
			if (rc)
				return rc;
		}
		return 0;
	}
	/* As cuda_gemm: the column-major transposed product, operands (and
	 * their strides) swapped. */
	cublasStatus_t s = blas.sgemm_batched(
		cx->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
		trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k,
		&alpha, b, (int)ldb, (long long)stride_b, a, (int)lda,
		(long long)stride_a, &beta, c, (int)ldc, (long long)stride_c,
		(int)count);
	if (s != CUBLAS_STATUS_SUCCESS) {
		fprintf(stderr,
			"optreg-runner: cuda: cublasSgemmStridedBatched: %s\n",
			blas.status_string(s));
		return OPTREG_EINTERNAL;
	}
	return 0;
}

/* Elementwise. */

static __global__ void k_bias_add(float *y, const float *bias, size_t rows,
				  size_t cols)
{
	CUDA_FOR(i, rows * cols)
	y[i] = y[i] + bias[i % cols];
}

static int cuda_bias_add(void *ctx, float *y, const float *bias, size_t rows,
			 size_t cols)
{
	(void)ctx;
	if (!rows || !cols)
		return 0;
	k_bias_add<<<cuda_blocks(rows * cols, CUDA_THREADS), CUDA_THREADS>>>(
		y, bias, rows, cols);
	CUDA_LAUNCHED();
	return 0;
}

/* One thread per column, rows in order: the CPU's sum exactly. */
static __global__ void k_col_sum(float *out, const float *x, size_t rows,
				 size_t cols)
{
	CUDA_FOR(c, cols)
	{
		double acc = 0;
		for (size_t r = 0; r < rows; r++)
			acc += x[r * cols + c];
		out[c] = (float)acc;
	}
}

static int cuda_col_sum(void *ctx, float *out, const float *x, size_t rows,
			size_t cols)
{
	(void)ctx;
	if (!cols)
		return 0;
	k_col_sum<<<cuda_blocks(cols, 128), 128>>>(out, x, rows, cols);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_relu_forward(float *y, size_t n)
{
	CUDA_FOR(i, n)
	{
		float v = y[i];
		y[i] = v < 0.0f ? 0.0f : v; /* NaN stays */
	}
}

static __global__ void k_relu_backward(float *dy, const float *y, size_t n)
{
	CUDA_FOR(i, n)
	{
		/* A mask, as the CPU's: a NaN gradient where y <= 0 becomes
		 * +0 with the sign bit cleared too. */
		uint32_t b = __float_as_uint(dy[i]);
		b &= 0u - (uint32_t)(y[i] > 0.0f);
		dy[i] = __uint_as_float(b);
	}
}

static int cuda_relu_forward(void *ctx, float *y, size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_relu_forward<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(y, n);
	CUDA_LAUNCHED();
	return 0;
}

static int cuda_relu_backward(void *ctx, float *dy, const float *y, size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_relu_backward<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(dy, y,
									 n);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_scale(float *x, float alpha, size_t n)
{
	CUDA_FOR(i, n)
	x[i] = __fmul_rn(x[i], alpha);
}

static __global__ void k_axpy(float *y, float alpha, const float *x, size_t n)
{
	/* Rounded product, then the add: the CPU's y += alpha * x. */
	CUDA_FOR(i, n)
	y[i] = __fadd_rn(y[i], __fmul_rn(alpha, x[i]));
}

static int cuda_scale(void *ctx, float *x, float alpha, size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_scale<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(x, alpha, n);
	CUDA_LAUNCHED();
	return 0;
}

static int cuda_axpy(void *ctx, float *y, float alpha, const float *x,
		     size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_axpy<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(y, alpha, x, n);
	CUDA_LAUNCHED();
	return 0;
}

/* dot: a fixed grid of CUDA_DOT_BLOCKS blocks (whatever n), each a strided
 * double sum and a tree; then one block sums the partials the same way. */
#define CUDA_DOT_BLOCKS 256

static __global__ void k_dot_partial(const float *x, const float *y, size_t n,
				     double *part)
{
	__shared__ double sh[CUDA_THREADS];
	double acc = 0;

	CUDA_FOR(i, n)
	acc += (double)x[i] * (double)y[i];
	acc = cuda_block_sum(acc, sh);
	if (threadIdx.x == 0)
		part[blockIdx.x] = acc;
}

static __global__ void k_sum_partials(const double *part, size_t n,
				      double *out)
{
	__shared__ double sh[CUDA_THREADS];
	double acc = 0;

	for (size_t i = threadIdx.x; i < n; i += CUDA_THREADS)
		acc += part[i];
	acc = cuda_block_sum(acc, sh);
	if (threadIdx.x == 0)
		*out = acc;
}

static int cuda_dot(void *ctx, const float *x, const float *y, size_t n,
		    double *out)
{
	struct cuda_ctx *c = (struct cuda_ctx *)ctx;
	double *part;
	int rc;

	if ((rc = cuda_scratch(c, (CUDA_DOT_BLOCKS + 1) * sizeof(double),
			       (void **)&part)))
		return rc;
	k_dot_partial<<<CUDA_DOT_BLOCKS, CUDA_THREADS>>>(x, y, n, part);
	CUDA_LAUNCHED();
	k_sum_partials<<<1, CUDA_THREADS>>>(part, CUDA_DOT_BLOCKS,
					    part + CUDA_DOT_BLOCKS);
	CUDA_LAUNCHED();
	CUDA_CK(cudaMemcpy(out, part + CUDA_DOT_BLOCKS, sizeof(double),
			   cudaMemcpyDeviceToHost));
	return 0;
}

/*
 * Softmax cross-entropy: one block per row. The first maximal logit as the
 * CPU's scan finds it (z[0] when it is NaN, else the first maximum among
 * the non-NaN values), the sum of exponentials in a fixed tree, then the
 * gradient once every thread has read its logits (dlogits may be logits).
 * Row losses and hits go to `rl` and `rc`; a bad label sets *bad.
 */
static __global__ void k_xent_rows(const float *logits, const float *labels,
				   size_t classes, size_t rows, float *dlogits,
				   double *rl, unsigned *rc, int *bad)
{
	__shared__ double sh[CUDA_THREADS];
	__shared__ float shv[CUDA_THREADS];
	__shared__ size_t shi[CUDA_THREADS];
	size_t r = blockIdx.x;
	int t = threadIdx.x;
	const float *z = logits + r * classes;
	float lf = labels[r];

	if (!(lf >= 0 && lf < (float)classes) || lf != floorf(lf)) {
		if (t == 0)
			*bad = 1;
		return; /* the whole block: lf is the same for every thread */
	}
	size_t y = (size_t)lf;

	/* Argmax: per thread over its strided elements, then a tree that
	 * prefers the larger value, and the lower index on a tie. */
	float bv = 0;
	size_t bi = SIZE_MAX;
	for (size_t c = t; c < classes; c += CUDA_THREADS) {
		float v = z[c];
		if (v != v)
			continue;
		if (bi == SIZE_MAX || v > bv) {
			bv = v;
			bi = c;
		}
	}
	shv[t] = bv;
	shi[t] = bi;
	__syncthreads();
	for (int s = CUDA_THREADS / 2; s > 0; s >>= 1) {
		if (t < s) {
			size_t oi = shi[t + s];
			float ov = shv[t + s];
			if (oi != SIZE_MAX &&
			    (shi[t] == SIZE_MAX || ov > shv[t] ||
			     (ov == shv[t] && oi < shi[t]))) {
				shv[t] = ov;
				shi[t] = oi;
			}
		}
		__syncthreads();
	}
	size_t best = z[0] != z[0] || shi[0] == SIZE_MAX ? 0 : shi[0];
	__syncthreads();

	/* z[y] too before the barriers of the sum: after them another
	 * warp may already have written dz[y] over it (dlogits == logits). */
	double zmax = z[best], zy = z[y], acc = 0;
	for (size_t c = t; c < classes; c += CUDA_THREADS)
		acc += exp((double)z[c] - zmax);
	double sum = cuda_block_sum(acc, sh);
	if (dlogits) {
		float *dz = dlogits + r * classes;
		for (size_t c = t; c < classes; c += CUDA_THREADS) {
			double p = exp((double)z[c] - zmax) / sum;
			dz[c] = (float)((p - (double)(c == y)) / (double)rows);
		}
	}
	if (t == 0) {
		rl[r] = zmax + log(sum) - zy;
		rc[r] = best == y;
	}
}

static __global__ void k_xent_total(const double *rl, const unsigned *rc,
				    size_t rows, double *loss,
				    unsigned long long *hits)
{
	__shared__ double sh[CUDA_THREADS];
	__shared__ unsigned long long shc[CUDA_THREADS];
	double acc = 0;
	unsigned long long h = 0;

	for (size_t i = threadIdx.x; i < rows; i += CUDA_THREADS) {
		acc += rl[i];
		h += rc[i];
	}
	acc = cuda_block_sum(acc, sh);
	h = cuda_block_count(h, shc);
	if (threadIdx.x == 0) {
		*loss = acc;
		*hits = h;
	}
}

struct cuda_xent_result {
	double loss;
	unsigned long long hits;
	int bad;
	int pad;
};

static int cuda_softmax_xent(void *ctx, const float *logits,
			     const float *labels, size_t rows, size_t classes,
			     float *dlogits, double *loss_sum, size_t *correct)
{
	struct cuda_ctx *c = (struct cuda_ctx *)ctx;
	struct cuda_xent_result res;
	char *base;
	int rc;

	if (classes == 0)
		return OPTREG_EINVAL;
	if (rows == 0) {
		*loss_sum = 0;
		*correct = 0;
		return 0;
	}
	if (rows > 0x7fffffffu)
		return OPTREG_ELIMIT;
	size_t rl_bytes = rows * sizeof(double);
	size_t rc_bytes = (rows * sizeof(unsigned) + 15) & ~(size_t)15;
	if ((rc = cuda_scratch(c, sizeof(res) + rl_bytes + rc_bytes,
			       (void **)&base)))
		return rc;
	struct cuda_xent_result *dres = (struct cuda_xent_result *)base;
	double *rl = (double *)(base + sizeof(res));
	unsigned *rcnt = (unsigned *)(base + sizeof(res) + rl_bytes);

	CUDA_CK(cudaMemset(&dres->bad, 0, sizeof(int)));
	k_xent_rows<<<(unsigned)rows, CUDA_THREADS>>>(
		logits, labels, classes, rows, dlogits, rl, rcnt, &dres->bad);
	CUDA_LAUNCHED();
	k_xent_total<<<1, CUDA_THREADS>>>(rl, rcnt, rows, &dres->loss,
					  &dres->hits);
	CUDA_LAUNCHED();
	CUDA_CK(cudaMemcpy(&res, dres, sizeof(res), cudaMemcpyDeviceToHost));
	if (res.bad)
		return OPTREG_EINVAL;
	*loss_sum = res.loss;
	*correct = (size_t)res.hits;
	return 0;
}

/*
 * The fused Adam step. Every tensor is cut into chunks of CUDA_ADAM_CHUNK
 * elements; one launch runs one block per chunk over all tensors (a block
 * finds its tensor by binary search in the chunk prefix sums), reading
 * each element's p, g, m, v (and vmax) once and writing them once. Each
 * block leaves its sums (gradient squares, p^2, update^2) and counts in a
 * partial; a second launch sums each tensor's partials in chunk order.
 * Without clipping the gradient norm comes out of the update launch;
 * with it, a first launch takes the norms, a one-thread launch the total
 * (optreg_norm2_f32 over the per-tensor norms) and the factor, and the
 * update launch multiplies each gradient by it, in place, as the CPU does.
 */
#define CUDA_ADAM_CHUNK 4096

struct cuda_adam_tensor {
	size_t offset, n, chunk0; /* chunk0: the first chunk's index */
	size_t group;
};

struct cuda_adam_group {
	struct optreg_adam_hparams h;
	struct optreg_adam_scalars s;
	float fthr; /* the smallest float >= eps^2 * bc2 */
	int pad;
};

struct cuda_adam_part {
	double gsq, psq, usq;
	unsigned long long small, bad_p, bad_m;
};

struct cuda_adam_tstat {
	double psq, usq;
	unsigned long long small, bad_p, bad_m;
	float norm;
	int pad;
};

struct cuda_adam_head {
	float total, coef;
};

static __device__ size_t cuda_adam_find(const struct cuda_adam_tensor *t,
					size_t nt, size_t chunk)
{
	size_t lo = 0, hi = nt; /* the last tensor with chunk0 <= chunk */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid].chunk0 <= chunk)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static __device__ int cuda_finite(float x)
{
	return fabsf(x) <= 3.402823466e38f;
}

/* Pass 1 with clipping: the chunk's sum of squared gradients. */
static __global__ void k_adam_norm(const struct cuda_adam_tensor *tens,
				   size_t nt, const float *grad,
				   struct cuda_adam_part *part)
{
	__shared__ double sh[CUDA_THREADS];
	size_t chunk = blockIdx.x;
	size_t k = cuda_adam_find(tens, nt, chunk);
	const struct cuda_adam_tensor *t = &tens[k];
	size_t start = (chunk - t->chunk0) * CUDA_ADAM_CHUNK;
	size_t end = start + CUDA_ADAM_CHUNK < t->n ? start + CUDA_ADAM_CHUNK
						    : t->n;
	const float *g = grad + t->offset;
	double acc = 0;

	for (size_t i = start + threadIdx.x; i < end; i += CUDA_THREADS) {
		double x = g[i];
		acc += x * x;
	}
	acc = cuda_block_sum(acc, sh);
	if (threadIdx.x == 0)
		part[chunk].gsq = acc;
}

/* Each tensor's partials in chunk order (one block per tensor). With
 * `stats`, the update's sums and counts too. */
static __global__ void k_adam_tensor_sum(const struct cuda_adam_tensor *tens,
					 const struct cuda_adam_part *part,
					 struct cuda_adam_tstat *ts, int stats)
{
	__shared__ double sh[CUDA_THREADS];
	__shared__ unsigned long long shc[CUDA_THREADS];
	const struct cuda_adam_tensor *t = &tens[blockIdx.x];
	size_t nch = (t->n + CUDA_ADAM_CHUNK - 1) / CUDA_ADAM_CHUNK;
	double g = 0, p = 0, u = 0;
	unsigned long long sm = 0, bp = 0, bm = 0;

	for (size_t i = threadIdx.x; i < nch; i += CUDA_THREADS) {
		const struct cuda_adam_part *q = &part[t->chunk0 + i];
		g += q->gsq;
		if (stats) {
			p += q->psq;
			u += q->usq;
			sm += q->small;
			bp += q->bad_p;
			bm += q->bad_m;
		}
	}
	g = cuda_block_sum(g, sh);
	if (threadIdx.x == 0)
		ts[blockIdx.x].norm = sqrtf((float)g);
	if (!stats)
		return;
	p = cuda_block_sum(p, sh);
	u = cuda_block_sum(u, sh);
	sm = cuda_block_count(sm, shc);
	bp = cuda_block_count(bp, shc);
	bm = cuda_block_count(bm, shc);
	if (threadIdx.x == 0) {
		ts[blockIdx.x].psq = p;
		ts[blockIdx.x].usq = u;
		ts[blockIdx.x].small = sm;
		ts[blockIdx.x].bad_p = bp;
		ts[blockIdx.x].bad_m = bm;
	}
}

/* The total norm of the per-tensor norms (adam.h's order) and the clip
 * factor. One thread. */
static __global__ void k_adam_total(const struct cuda_adam_tstat *ts, size_t nt,
				    float *norms, double max_norm,
				    struct cuda_adam_head *head)
{
	for (size_t k = 0; k < nt; k++)
		norms[k] = ts[k].norm;
	float total = optreg_norm2_f32(norms, (long)nt);
	head->total = total;
	head->coef = max_norm > 0 ? optreg_clip_coef_f32(total, max_norm) : 1;
}

/* One element of the update: adam.h's arithmetic, then the element's
 * share of the statistics (see k_adam_update). */
struct cuda_adam_acc {
	double gsq, psq, usq;
	unsigned small, bad_p, bad_m;
};

static __device__ __forceinline__ void
cuda_adam_elem(const struct optreg_adam_scalars &s,
	       const struct optreg_adam_hparams &h, float fthr, float cf,
	       int clip, int ams, enum optreg_precision prec, float &p,
	       float &g, float &m, float &v, float &x,
	       struct cuda_adam_acc &a)
{
	float gi = g;
	if (clip) {
		gi = __fmul_rn(gi, cf);
		g = gi;
	} else {
		double gd = gi;
		a.gsq += gd * gd;
	}
	float p0 = p, pi = p0, mi = m, vi = v, xi = ams ? x : 0.0f;
	optreg_adam_update_f32(&s, &h, &pi, gi, &mi, &vi, ams ? &xi : NULL);
	float d = __fsub_rn(pi, p0);
	double p0d = p0, dd = d;
	a.psq += p0d * p0d;
	a.usq += dd * dd;
	a.bad_p += !cuda_finite(pi);
	if (prec != OPTREG_PRECISION_FP32) {
		mi = optreg_round_to(mi, prec);
		vi = optreg_round_to(vi, prec);
		if (ams)
			xi = optreg_round_to(xi, prec);
	}
	a.small += (ams ? xi : vi) < fthr;
	a.bad_m += !(cuda_finite(mi) && cuda_finite(vi) &&
		     (!ams || cuda_finite(xi)));
	p = pi;
	m = mi;
	v = vi;
	x = xi;
}

/* The float4 lanes in element order. */
static __device__ __forceinline__ float &cuda_f4_at(float4 &q, int j)
{
	return j == 0 ? q.x : j == 1 ? q.y : j == 2 ? q.z : q.w;
}

/* Vectors of 4 per thread in a whole, 16-byte-aligned chunk, loaded
 * CUDA_ADAM_WAVE at a time (more would hold more registers than leave
 * room for two blocks per multiprocessor). */
#define CUDA_ADAM_VEC (CUDA_ADAM_CHUNK / 4 / CUDA_THREADS)
#define CUDA_ADAM_WAVE 2

/*
 * The update, one block per chunk. A whole chunk whose tensor starts on a
 * 16-byte boundary is read and written as float4, CUDA_ADAM_WAVE vectors
 * of p, g, m, v (and vmax) per thread loaded before any is computed, so
 * the loads are in flight together; other chunks go element by element.
 * Three blocks fit on a multiprocessor (80 registers a thread at most),
 * so one block's arithmetic overlaps another's loads.
 * The block's six sums and counts are reduced together: a shuffle tree in
 * each warp, then thread 0 adds the warps' values in warp order (one
 * barrier). The order depends only on the shapes.
 */
static __global__ void __launch_bounds__(CUDA_THREADS, 3)
k_adam_update(const struct cuda_adam_tensor *tens, size_t nt,
	      const struct cuda_adam_group *groups, float *__restrict__ param,
	      float *__restrict__ grad, float *__restrict__ mom,
	      float *__restrict__ var, float *__restrict__ vmaxb,
	      const struct cuda_adam_head *head, int clip,
	      enum optreg_precision prec, struct cuda_adam_part *part)
{
	__shared__ double shd[3][CUDA_WARPS];
	__shared__ unsigned shc[3][CUDA_WARPS];
	size_t chunk = blockIdx.x;
	size_t k = cuda_adam_find(tens, nt, chunk);
	const struct cuda_adam_tensor *t = &tens[k];
	const struct cuda_adam_group *gr = &groups[t->group];
	const struct optreg_adam_hparams h = gr->h;
	const struct optreg_adam_scalars s = gr->s;
	const float fthr = gr->fthr;
	const int ams = h.amsgrad != 0;
	size_t start = (chunk - t->chunk0) * CUDA_ADAM_CHUNK;
	size_t end = start + CUDA_ADAM_CHUNK < t->n ? start + CUDA_ADAM_CHUNK
						    : t->n;
	float *p = param + t->offset, *g = grad + t->offset;
	float *m = mom + t->offset, *v = var + t->offset;
	float *vm = ams ? vmaxb + t->offset : NULL;
	float cf = clip ? head->coef : 1.0f;
	struct cuda_adam_acc a = {0, 0, 0, 0, 0, 0};
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5;

	if (end - start == CUDA_ADAM_CHUNK &&
	    ((uintptr_t)(p + start) | (uintptr_t)(g + start) |
	     (uintptr_t)(m + start) | (uintptr_t)(v + start) |
	     (ams ? (uintptr_t)(vm + start) : 0)) % 16 == 0) {
		float4 *p4 = (float4 *)(p + start), *g4 = (float4 *)(g + start);
		float4 *m4 = (float4 *)(m + start), *v4 = (float4 *)(v + start);
		float4 *x4 = ams ? (float4 *)(vm + start) : NULL;
#pragma unroll 1
		for (int u0 = 0; u0 < CUDA_ADAM_VEC; u0 += CUDA_ADAM_WAVE) {
			float4 P[CUDA_ADAM_WAVE], G[CUDA_ADAM_WAVE],
				M[CUDA_ADAM_WAVE], V[CUDA_ADAM_WAVE],
				X[CUDA_ADAM_WAVE];
#pragma unroll
			for (int u = 0; u < CUDA_ADAM_WAVE; u++) {
				size_t i = threadIdx.x +
					   (size_t)(u0 + u) * CUDA_THREADS;
				P[u] = p4[i];
				G[u] = g4[i];
				M[u] = m4[i];
				V[u] = v4[i];
				X[u] = ams ? x4[i] : make_float4(0, 0, 0, 0);
			}
#pragma unroll
			for (int u = 0; u < CUDA_ADAM_WAVE; u++) {
#pragma unroll
				for (int j = 0; j < 4; j++)
					cuda_adam_elem(s, h, fthr, cf, clip,
						       ams, prec,
						       cuda_f4_at(P[u], j),
						       cuda_f4_at(G[u], j),
						       cuda_f4_at(M[u], j),
						       cuda_f4_at(V[u], j),
						       cuda_f4_at(X[u], j), a);
				size_t i = threadIdx.x +
					   (size_t)(u0 + u) * CUDA_THREADS;
				p4[i] = P[u];
				if (clip)
					g4[i] = G[u];
				m4[i] = M[u];
				v4[i] = V[u];
				if (ams)
					x4[i] = X[u];
			}
		}
	} else {
		for (size_t i = start + threadIdx.x; i < end;
		     i += CUDA_THREADS) {
			float x = ams ? vm[i] : 0.0f;
			cuda_adam_elem(s, h, fthr, cf, clip, ams, prec, p[i],
				       g[i], m[i], v[i], x, a);
			if (ams)
				vm[i] = x;
		}
	}

	for (int o = 16; o > 0; o >>= 1) {
		a.gsq += __shfl_down_sync(0xffffffffu, a.gsq, o);
		a.psq += __shfl_down_sync(0xffffffffu, a.psq, o);
		a.usq += __shfl_down_sync(0xffffffffu, a.usq, o);
		a.small += __shfl_down_sync(0xffffffffu, a.small, o);
		a.bad_p += __shfl_down_sync(0xffffffffu, a.bad_p, o);
		a.bad_m += __shfl_down_sync(0xffffffffu, a.bad_m, o);
	}
	if (lane == 0) {
		shd[0][w] = a.gsq;
		shd[1][w] = a.psq;
		shd[2][w] = a.usq;
		shc[0][w] = a.small;
		shc[1][w] = a.bad_p;
		shc[2][w] = a.bad_m;
	}
	__syncthreads();
	if (threadIdx.x == 0) {
		struct cuda_adam_part *q = &part[chunk];
		double d[3] = {0, 0, 0};
		unsigned long long c[3] = {0, 0, 0};
		for (int r = 0; r < 3; r++)
			for (int x = 0; x < CUDA_WARPS; x++) {
				d[r] += shd[r][x];
				c[r] += shc[r][x];
			}
		if (!clip)
			q->gsq = d[0];
		q->psq = d[1];
		q->usq = d[2];
		q->small = c[0];
		q->bad_p = c[1];
		q->bad_m = c[2];
	}
}

static size_t cuda_align(size_t x)
{
	return (x + 255) & ~(size_t)255;
}

static int cuda_adam_step(void *ctx, const struct optreg_adam_step *st,
			  struct optreg_adam_step_out *out)
{
	struct cuda_ctx *c = (struct cuda_ctx *)ctx;
	size_t nt = st->ntensors, ng = st->ngroups, nchunks = 0;
	int clip = st->max_grad_norm > 0, rc;

	for (size_t g = 0; g < ng; g++)
		if (st->groups[g].h.amsgrad && !st->vmax)
			return OPTREG_EINVAL;
	if (!optreg_precision_name(st->state_precision))
		return OPTREG_EINVAL;
	for (size_t k = 0; k < nt; k++)
		if (st->tensors[k].group >= ng)
			return OPTREG_EINVAL;
	out->grad_norm = 0;
	out->clip_coef = 1;
	if (nt == 0)
		return 0;

	for (size_t k = 0; k < nt; k++) {
		size_t nch = (st->tensors[k].n + CUDA_ADAM_CHUNK - 1) /
			     CUDA_ADAM_CHUNK;
		/* An empty tensor still owns one (empty) chunk, so that
		 * chunk0 increases strictly and the search stays simple. */
		nchunks += nch ? nch : 1;
	}
	if (nchunks > 0x7fffffffu)
		return OPTREG_ELIMIT;

	/* The scratch: [tensors | groups] go up in one copy; then the
	 * partials (one per chunk) and the norms; [per-tensor statistics |
	 * head] come down in one copy. */
	size_t o_g = cuda_align(nt * sizeof(struct cuda_adam_tensor));
	size_t o_p = cuda_align(o_g + (ng ? ng : 1) *
					      sizeof(struct cuda_adam_group));
	size_t o_n = cuda_align(o_p + nchunks * sizeof(struct cuda_adam_part));
	size_t o_s = cuda_align(o_n + nt * sizeof(float));
	size_t o_h = o_s + nt * sizeof(struct cuda_adam_tstat);
	size_t bytes = o_h + sizeof(struct cuda_adam_head);
	size_t up = o_p, down = bytes - o_s, hdown = cuda_align(up);
	char *base, *hbase;

	if ((rc = cuda_scratch(c, bytes, (void **)&base)) ||
	    (rc = cuda_pinned(c, hdown + down, (void **)&hbase)))
		return rc;

	struct cuda_adam_tensor *ht = (struct cuda_adam_tensor *)hbase;
	struct cuda_adam_group *hg = (struct cuda_adam_group *)(hbase + o_g);
	const struct cuda_adam_tstat *hs =
		(const struct cuda_adam_tstat *)(hbase + hdown);
	struct cuda_adam_head head;
	nchunks = 0;
	for (size_t k = 0; k < nt; k++) {
		ht[k].offset = st->tensors[k].offset;
		ht[k].n = st->tensors[k].n;
		ht[k].group = st->tensors[k].group;
		ht[k].chunk0 = nchunks;
		size_t nch = (ht[k].n + CUDA_ADAM_CHUNK - 1) / CUDA_ADAM_CHUNK;
		nchunks += nch ? nch : 1;
	}
	memset(hg, 0, (ng ? ng : 1) * sizeof(*hg));
	for (size_t g = 0; g < ng; g++) {
		const struct optreg_adam_group *gr = &st->groups[g];
		hg[g].h = gr->h;
		/* The scalars from the host's libm (adam.h says why). */
		optreg_adam_scalars_init(&hg[g].s, &gr->h, st->step, gr->lr_t);
		double bc2 = 1 - pow(gr->h.beta2, (double)st->step);
		double thr = gr->h.eps * gr->h.eps * bc2;
		float fthr = (float)thr;
		if ((double)fthr < thr)
			fthr = nextafterf(fthr, INFINITY);
		hg[g].fthr = fthr;
	}

	{
		struct cuda_adam_tensor *dt = (struct cuda_adam_tensor *)base;
		struct cuda_adam_group *dg =
			(struct cuda_adam_group *)(base + o_g);
		struct cuda_adam_part *dp = (struct cuda_adam_part *)(base + o_p);
		struct cuda_adam_tstat *ds =
			(struct cuda_adam_tstat *)(base + o_s);
		float *dn = (float *)(base + o_n);
		struct cuda_adam_head *dh = (struct cuda_adam_head *)(base + o_h);

		/* The thread's stream orders these with the launches; the
		 * host waits once, at the end. */
		CUDA_CK(cudaMemcpyAsync(base, hbase, up, cudaMemcpyHostToDevice,
					cudaStreamPerThread));
		if (clip) {
			k_adam_norm<<<(unsigned)nchunks, CUDA_THREADS>>>(
				dt, nt, st->grad, dp);
			CUDA_LAUNCHED();
			k_adam_tensor_sum<<<(unsigned)nt, CUDA_THREADS>>>(
				dt, dp, ds, 0);
			CUDA_LAUNCHED();
			k_adam_total<<<1, 1>>>(ds, nt, dn, st->max_grad_norm,
					       dh);
			CUDA_LAUNCHED();
		}
		k_adam_update<<<(unsigned)nchunks, CUDA_THREADS>>>(
			dt, nt, dg, st->param, st->grad, st->m, st->v, st->vmax,
			dh, clip, st->state_precision, dp);
		CUDA_LAUNCHED();
		/* With clipping the norms are already in ds; the sum kernel
		 * writes them again from the same partials (gsq untouched). */
		k_adam_tensor_sum<<<(unsigned)nt, CUDA_THREADS>>>(dt, dp, ds,
								  1);
		CUDA_LAUNCHED();
		if (!clip) {
			k_adam_total<<<1, 1>>>(ds, nt, dn, 0, dh);
			CUDA_LAUNCHED();
		}
		CUDA_CK(cudaMemcpyAsync(hbase + hdown, ds, down,
					cudaMemcpyDeviceToHost,
					cudaStreamPerThread));
		CUDA_CK(cudaStreamSynchronize(cudaStreamPerThread));
	}
	memcpy(&head, hbase + hdown + (o_h - o_s), sizeof(head));
	out->grad_norm = head.total;
	out->clip_coef = clip ? head.coef : 1;
	for (size_t k = 0; k < nt; k++) {
		struct optreg_adam_tensor_stats *o = &out->tensors[k];
		o->grad_norm = hs[k].norm;
		o->param_sumsq = hs[k].psq;
		o->update_sumsq = hs[k].usq;
		o->small_denom = (size_t)hs[k].small;
		o->nonfinite_param = (size_t)hs[k].bad_p;
		o->nonfinite_moment = (size_t)hs[k].bad_m;
	}
	return 0;
}

/* The transformer kernels: runner/kernels.h's rows. */

/* Sets *bad when an id is not an integer in [0, vocab). */
static __global__ void k_ids_check(const float *ids, size_t rows, size_t vocab,
				   int *bad)
{
	CUDA_FOR(r, rows)
	{
		float x = ids[r];
		if (!(x >= 0 && x < (float)vocab) || x != floorf(x))
			*bad = 1; /* every writer writes 1: no race on the value */
	}
}

static int cuda_ids_check(struct cuda_ctx *c, const float *ids, size_t rows,
			  size_t vocab)
{
	int *bad, hbad = 0, rc;

	if (!rows)
		return 0;
	if ((rc = cuda_scratch(c, sizeof(int), (void **)&bad)))
		return rc;
	CUDA_CK(cudaMemset(bad, 0, sizeof(int)));
	k_ids_check<<<cuda_blocks(rows, CUDA_THREADS), CUDA_THREADS>>>(
		ids, rows, vocab, bad);
	CUDA_LAUNCHED();
	CUDA_CK(cudaMemcpy(&hbad, bad, sizeof(int), cudaMemcpyDeviceToHost));
	return hbad ? OPTREG_EINVAL : 0;
}

static __global__ void k_embed_forward(float *out, const float *tok,
				       const float *pos, const float *ids,
				       size_t rows, size_t context, size_t d)
{
	CUDA_FOR(i, rows * d)
	{
		size_t r = i / d, c = i % d;
		out[i] = __fadd_rn(tok[(size_t)ids[r] * d + c],
				   pos[(r % context) * d + c]);
	}
}

static int cuda_embed_forward(void *ctx, float *out, const float *tok,
			      const float *pos, const float *ids, size_t rows,
			      size_t context, size_t d, size_t vocab)
{
	struct cuda_ctx *c = (struct cuda_ctx *)ctx;
	int rc;

	if (context == 0)
		return OPTREG_EINVAL;
	if ((rc = cuda_ids_check(c, ids, rows, vocab)))
		return rc;
	if (!rows || !d)
		return 0;
	k_embed_forward<<<cuda_blocks(rows * d, CUDA_THREADS), CUDA_THREADS>>>(
		out, tok, pos, ids, rows, context, d);
	CUDA_LAUNCHED();
	return 0;
}

/* dtok: one thread per column, the rows in order (a token seen twice sums
 * in row order, no atomics). dpos: one thread per (position, column), its
 * rows r = p, p + context, ... in order. */
static __global__ void k_embed_backward_tok(float *dtok, const float *dout,
					    const float *ids, size_t rows,
					    size_t d)
{
	CUDA_FOR(c, d)
	{
		for (size_t r = 0; r < rows; r++) {
			float *t = dtok + (size_t)ids[r] * d + c;
			*t = __fadd_rn(*t, dout[r * d + c]);
		}
	}
}

static __global__ void k_embed_backward_pos(float *dpos, const float *dout,
					    size_t rows, size_t context,
					    size_t d)
{
	size_t np = context < rows ? context : rows;

	CUDA_FOR(i, np * d)
	{
		size_t p = i / d, c = i % d;
		float acc = dpos[i];
		for (size_t r = p; r < rows; r += context)
			acc = __fadd_rn(acc, dout[r * d + c]);
		dpos[i] = acc;
	}
}

static int cuda_embed_backward(void *ctx, float *dtok, float *dpos,
			       const float *dout, const float *ids, size_t rows,
			       size_t context, size_t d, size_t vocab)
{
	struct cuda_ctx *c = (struct cuda_ctx *)ctx;
	int rc;

	if (context == 0)
		return OPTREG_EINVAL;
	if ((rc = cuda_ids_check(c, ids, rows, vocab)))
		return rc;
	if (!rows || !d)
		return 0;
	k_embed_backward_tok<<<cuda_blocks(d, 64), 64>>>(dtok, dout, ids,
							  rows, d);
	CUDA_LAUNCHED();
	size_t np = context < rows ? context : rows;
	k_embed_backward_pos<<<cuda_blocks(np * d, CUDA_THREADS),
			       CUDA_THREADS>>>(dpos, dout, rows, context, d);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_ln_forward(float *y, float *mean, float *rstd,
				    const float *x, const float *w,
				    const float *b, size_t rows, size_t n)
{
	CUDA_FOR(r, rows)
	optreg_ln_fwd_row_f32(x + r * n, w, b, y + r * n, &mean[r], &rstd[r],
			      (long)n);
}

static int cuda_layernorm_forward(void *ctx, float *y, float *mean,
				  float *rstd, const float *x, const float *w,
				  const float *b, size_t rows, size_t n)
{
	(void)ctx;
	if (n == 0)
		return OPTREG_EINVAL;
	if (!rows)
		return 0;
	k_ln_forward<<<cuda_blocks(rows, 64), 64>>>(y, mean, rstd, x, w, b,
						    rows, n);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_ln_backward_dx(float *dx, const float *dy,
					const float *x, const float *mean,
					const float *rstd, const float *w,
					size_t rows, size_t n)
{
	CUDA_FOR(r, rows)
	optreg_ln_bwd_row_f32(dy + r * n, x + r * n, w, mean[r], rstd[r],
			      dx + r * n, (long)n);
}

/* dw and db: one thread per column, rows in order (the CPU's sums). */
static __global__ void k_ln_backward_dwdb(float *dw, float *db, const float *dy,
					  const float *x, const float *mean,
					  const float *rstd, size_t rows,
					  size_t n)
{
	CUDA_FOR(c, n)
	{
		double aw = 0, ab = 0;
		for (size_t r = 0; r < rows; r++) {
			double g = dy[r * n + c];
			aw += g * optreg_ln_xhat_f32(x[r * n + c], mean[r],
						     rstd[r]);
			ab += g;
		}
		dw[c] = (float)aw;
		db[c] = (float)ab;
	}
}

static int cuda_layernorm_backward(void *ctx, float *dx, float *dw, float *db,
				   const float *dy, const float *x,
				   const float *mean, const float *rstd,
				   const float *w, size_t rows, size_t n)
{
	(void)ctx;
	if (n == 0)
		return OPTREG_EINVAL;
	if (rows) {
		k_ln_backward_dx<<<cuda_blocks(rows, 64), 64>>>(
			dx, dy, x, mean, rstd, w, rows, n);
		CUDA_LAUNCHED();
	}
	k_ln_backward_dwdb<<<cuda_blocks(n, 64), 64>>>(dw, db, dy, x, mean,
						       rstd, rows, n);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_attn_fwd(float *p, const float *s, size_t nmat,
				  size_t T, double scale)
{
	CUDA_FOR(r, nmat * T)
	optreg_causal_softmax_row_f32(s + r * T, p + r * T, (long)(r % T),
				      (long)T, scale);
}

static __global__ void k_attn_bwd(float *ds, const float *p, const float *dp,
				  size_t nmat, size_t T, double scale)
{
	CUDA_FOR(r, nmat * T)
	optreg_causal_softmax_bwd_row_f32(p + r * T, dp + r * T, ds + r * T,
					  (long)(r % T), (long)T, scale);
}

static int cuda_attn_softmax_forward(void *ctx, float *p, const float *s,
				     size_t nmat, size_t T, double scale)
{
	(void)ctx;
	if (!nmat || !T)
		return 0;
	k_attn_fwd<<<cuda_blocks(nmat * T, 64), 64>>>(p, s, nmat, T, scale);
	CUDA_LAUNCHED();
	return 0;
}

static int cuda_attn_softmax_backward(void *ctx, float *ds, const float *p,
				      const float *dp, size_t nmat, size_t T,
				      double scale)
{
	(void)ctx;
	if (!nmat || !T)
		return 0;
	k_attn_bwd<<<cuda_blocks(nmat * T, 64), 64>>>(ds, p, dp, nmat, T,
						      scale);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_gelu_fwd(float *y, const float *x, size_t n)
{
	CUDA_FOR(i, n)
	y[i] = optreg_gelu_f32(x[i]);
}

static __global__ void k_gelu_bwd(float *dx, const float *dy, const float *x,
				  const float *y, size_t n)
{
	CUDA_FOR(i, n)
	dx[i] = optreg_gelu_bwd_f32(dy[i], x[i], y[i]);
}

static int cuda_gelu_forward(void *ctx, float *y, const float *x, size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_gelu_fwd<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(y, x, n);
	CUDA_LAUNCHED();
	return 0;
}

static int cuda_gelu_backward(void *ctx, float *dx, const float *dy,
			      const float *x, const float *y, size_t n)
{
	(void)ctx;
	if (!n)
		return 0;
	k_gelu_bwd<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(dx, dy, x, y,
								    n);
	CUDA_LAUNCHED();
	return 0;
}

static __global__ void k_round_to(float *x, size_t n, enum optreg_precision p)
{
	CUDA_FOR(i, n)
	x[i] = optreg_round_to(x[i], p);
}

static int cuda_round_to(void *ctx, float *x, size_t n,
			 enum optreg_precision precision)
{
	(void)ctx;
	if (!optreg_precision_name(precision))
		return OPTREG_EINVAL;
	if (precision == OPTREG_PRECISION_FP32 || !n)
		return 0;
	k_round_to<<<cuda_blocks(n, CUDA_THREADS), CUDA_THREADS>>>(x, n,
								    precision);
	CUDA_LAUNCHED();
	return 0;
}

/* Init, probe, destroy. */

static void cuda_destroy(struct optreg_backend *be)
{
	struct cuda_ctx *c = (struct cuda_ctx *)be->ctx;

	if (!c)
		return;
	if (c->scratch)
		(void)cudaFree(c->scratch);
	if (c->pinned)
		(void)cudaFreeHost(c->pinned);
	if (c->blas)
		(void)blas.destroy(c->blas);
	free(c);
	be->ctx = NULL;
}

extern "C" int optreg_cuda_built(void)
{
	return 1;
}

extern "C" void optreg_cuda_probe(struct optreg_cuda_info *info)
{
	int n = 0;
	cudaError_t e;

	memset(info, 0, sizeof(*info));
	(void)cudaRuntimeGetVersion(&info->runtime_version);
	if (cudaDriverGetVersion(&info->driver_version) != cudaSuccess ||
	    info->driver_version == 0) {
		(void)cudaGetLastError();
		info->driver_version = 0;
		snprintf(info->why, sizeof(info->why), "no CUDA driver");
		return;
	}
	e = cudaGetDeviceCount(&n);
	if (e != cudaSuccess || n <= 0) {
		(void)cudaGetLastError();
		if (e == cudaErrorNoDevice || (e == cudaSuccess && n <= 0))
			snprintf(info->why, sizeof(info->why), "no device");
		else if (e == cudaErrorInsufficientDriver)
			snprintf(info->why, sizeof(info->why),
				 "CUDA driver %d.%d older than the runtime "
				 "%d.%d",
				 info->driver_version / 1000,
				 info->driver_version % 1000 / 10,
				 info->runtime_version / 1000,
				 info->runtime_version % 1000 / 10);
		else
			snprintf(info->why, sizeof(info->why), "%s",
				 cudaGetErrorString(e));
		return;
	}
	cudaDeviceProp prop;
	e = cudaGetDeviceProperties(&prop, 0);
	if (e != cudaSuccess) {
		(void)cudaGetLastError();
		snprintf(info->why, sizeof(info->why), "%s",
			 cudaGetErrorString(e));
		return;
	}
	info->ndevices = n;
	snprintf(info->name, sizeof(info->name), "%.127s", prop.name);
	info->cc_major = prop.major;
	info->cc_minor = prop.minor;
}

static int cuda_init_fail(struct optreg_errors *errs, int code,
			  const char *msg, const char *hint)
{
	if (errs) {
		struct optreg_error *er = optreg_errors_add(
			errs, code, "backend", NULL, "cuda backend: %s", msg);
		if (hint)
			optreg_error_set_hint(er, "%s", hint);
	}
	return code;
}

extern "C" int optreg_cuda_backend_init(struct optreg_backend *be, int device,
					struct optreg_errors *errs)
{
	struct optreg_cuda_info info;
	struct cuda_ctx *c;
	cudaDeviceProp prop;
	char msg[256];
	cudaError_t e;
	int ver = 0;

	memset(be, 0, sizeof(*be));
	optreg_cuda_probe(&info);
	if (info.ndevices == 0)
		return cuda_init_fail(errs, OPTREG_EUNAVAILABLE, info.why,
				      "Use --backend cpu, or run on a machine "
				      "with an NVIDIA GPU and its driver.");
	if (device < 0 || device >= info.ndevices) {
		snprintf(msg, sizeof(msg), "no device %d (%d present)", device,
			 info.ndevices);
		return cuda_init_fail(errs, OPTREG_EUNAVAILABLE, msg, NULL);
	}
	if ((e = cudaSetDevice(device)) != cudaSuccess ||
	    (e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess ||
	    (e = cudaFree(0)) != cudaSuccess) {
		(void)cudaGetLastError();
		snprintf(msg, sizeof(msg), "device %d: %s", device,
			 cudaGetErrorString(e));
		return cuda_init_fail(errs, OPTREG_EUNAVAILABLE, msg, NULL);
	}
	/* cuBLAS reads this when the handle is made: with it, its GEMMs
	 * are reproducible run to run (cuBLAS's "Results reproducibility"). */
	setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 1);
	if (optreg_cuda_blas_load(msg, sizeof(msg)))
		return cuda_init_fail(errs, OPTREG_EUNAVAILABLE, msg, NULL);
	c = (struct cuda_ctx *)optreg_xcalloc(1, sizeof(*c));
	c->device = device;
	cublasStatus_t s = blas.create(&c->blas);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = blas.set_math_mode(c->blas, CUBLAS_PEDANTIC_MATH);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = blas.set_atomics_mode(c->blas, CUBLAS_ATOMICS_NOT_ALLOWED);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = blas.set_pointer_mode(c->blas, CUBLAS_POINTER_MODE_HOST);
	/* The calling thread's default stream, whichever thread that is. */
	if (s == CUBLAS_STATUS_SUCCESS)
		s = blas.set_stream(c->blas, cudaStreamPerThread);
	if (s == CUBLAS_STATUS_SUCCESS)
		s = blas.get_version(c->blas, &ver);
	if (s != CUBLAS_STATUS_SUCCESS) {
		if (c->blas)
			(void)blas.destroy(c->blas);
		free(c);
		snprintf(msg, sizeof(msg), "cuBLAS: %s",
			 blas.status_string(s));
		return cuda_init_fail(errs, OPTREG_EINTERNAL, msg, NULL);
	}
	be->name = "cuda";
	snprintf(be->device, sizeof(be->device),
		 "cuda: %.64s, sm_%d%d, driver %d.%d, runtime %d.%d, cuBLAS "
		 "%d.%d.%d",
		 prop.name, prop.major, prop.minor, info.driver_version / 1000,
		 info.driver_version % 1000 / 10, info.runtime_version / 1000,
		 info.runtime_version % 1000 / 10, ver / 10000,
		 ver % 10000 / 100, ver % 100);
	be->ctx = c;
	be->destroy = cuda_destroy;
	be->alloc = cuda_alloc;
	be->free = cuda_free_buf;
	be->upload = cuda_upload;
	be->download = cuda_download;
	be->fill = cuda_fill;
	be->sync = cuda_sync;
	be->gemm = cuda_gemm;
	be->gemm_batched = cuda_gemm_batched;
	be->bias_add = cuda_bias_add;
	be->col_sum = cuda_col_sum;
	be->relu_forward = cuda_relu_forward;
	be->relu_backward = cuda_relu_backward;
	be->softmax_xent = cuda_softmax_xent;
	be->scale = cuda_scale;
	be->axpy = cuda_axpy;
	be->dot = cuda_dot;
	be->adam_step = cuda_adam_step;
	be->embed_forward = cuda_embed_forward;
	be->embed_backward = cuda_embed_backward;
	be->layernorm_forward = cuda_layernorm_forward;
	be->layernorm_backward = cuda_layernorm_backward;
	be->attn_softmax_forward = cuda_attn_softmax_forward;
	be->attn_softmax_backward = cuda_attn_softmax_backward;
	be->gelu_forward = cuda_gelu_forward;
	be->gelu_backward = cuda_gelu_backward;
	be->round_to = cuda_round_to;
	return 0;
}
