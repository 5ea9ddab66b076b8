/*
 * bench/adam_cpu.c: the CPU backend's Adam step as memory bandwidth, against
 * memcpy of the same bytes in the same run (a row of `make bench`).
 *
 * The step is runner/backend.h's adam_step on the CPU backend (one thread,
 * as the runner always runs it): AdamW, no clipping, float32 state, over
 * N parameters (default 16M) in 8 tensors. Its bandwidth is counted at 28
 * bytes a parameter: p, m and v read and written, g read. The reference is
 * memcpy of 14 bytes a parameter into another buffer: 28 bytes moved a
 * parameter counted the same way (read plus written). Each is timed as the
 * median of R runs (default 9) after 2 untimed ones.
 *
 * usage: adam-cpu [--params N] [--reps R]
 * Prints two lines, for people and for scripts/bench:
 *   adam_step: N parameters, MS ms, GBS GB/s
 *   memcpy: BYTES bytes, MS ms, GBS GB/s
 * Exits 1 when the backend cannot start or memory runs out, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner/adam_bench.h"
#include "runner/backend.h"

#define BENCH_WARM     2
#define BENCH_MAX_REPS 101

static volatile float bench_sink;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return t[n / 2];
}

/* Fills x[0..n) with values in [lo, lo + span), the same for the same salt. */
static void fill(float *x, size_t n, float lo, float span, unsigned salt)
{
	for (size_t i = 0; i < n; i++) {
		unsigned h = (unsigned)i * 2654435761u ^ salt;
		h ^= h >> 15;
		h *= 2246822519u;
		h ^= h >> 13;
		x[i] = lo + span * (float)(h >> 8) * (1.0f / 16777216.0f);
	}
}

/* Milliseconds of one memcpy of `bytes` (median of reps). */
static double bench_memcpy(size_t bytes, int reps)
{
	char *src = malloc(bytes), *dst = malloc(bytes);
	double t[BENCH_MAX_REPS];

	if (!src || !dst) {
		fprintf(stderr, "adam-cpu: out of memory for %zu bytes\n",
			bytes);
		exit(1);
	}
	memset(src, 0x3f, bytes);
	memset(dst, 0, bytes);
	for (int i = 0; i < BENCH_WARM + reps; i++) {
		double t0 = now_ms();
		memcpy(dst, src, bytes);
		double t1 = now_ms();
		/* Read the copy, so that it cannot be left out. */
		bench_sink = (float)dst[(size_t)i * 4099 % bytes];
		if (i >= BENCH_WARM)
			t[i - BENCH_WARM] = t1 - t0;
	}
	free(src);
	free(dst);
	return median(t, reps);
}

/* Milliseconds of one adam_step over n parameters (median of reps). */
static double bench_adam(struct optreg_backend *be, size_t n, int reps)
{
	float *p, *g, *m, *v;
	struct optreg_adam_tensor ts[OPTREG_ADAM_BENCH_TENSORS];
	struct optreg_adam_tensor_stats st[OPTREG_ADAM_BENCH_TENSORS];
	struct optreg_adam_group gr;
	struct optreg_adam_step step;
	struct optreg_adam_step_out out;
	double t[BENCH_MAX_REPS];

	if (be->alloc(be->ctx, n, &p) || be->alloc(be->ctx, n, &g) ||
	    be->alloc(be->ctx, n, &m) || be->alloc(be->ctx, n, &v)) {
		fprintf(stderr, "adam-cpu: out of memory at %zu parameters\n",
			n);
		exit(1);
	}
	fill(p, n, -1.0f, 2.0f, 1u);
	fill(g, n, -0.01f, 0.02f, 2u);
	fill(m, n, -0.001f, 0.002f, 3u);
	fill(v, n, 0.0f, 1e-6f, 4u);
	optreg_adam_bench_setup(&step, &gr, ts, n, p, g, m, v);
	out.tensors = st;
	for (int i = 0; i < BENCH_WARM + reps; i++) {
		step.step = i + 1;
		double t0 = now_ms();
		if (be->adam_step(be->ctx, &step, &out)) {
			fprintf(stderr, "adam-cpu: adam_step failed\n");
			exit(1);
		}
		double t1 = now_ms();
		if (i >= BENCH_WARM)
			t[i - BENCH_WARM] = t1 - t0;
	}
	if (!(out.grad_norm > 0) || st[0].nonfinite_param) {
		fprintf(stderr,
			"adam-cpu: implausible step (grad norm %g, "
			"%zu non-finite)\n",
			out.grad_norm, st[0].nonfinite_param);
		exit(1);
	}
	be->free(be->ctx, p);
	be->free(be->ctx, g);
	be->free(be->ctx, m);
	be->free(be->ctx, v);
	return median(t, reps);
}

static int usage(void)
{
	fprintf(stderr, "usage: adam-cpu [--params N] [--reps R]\n"
			"  N from 8 to 2^31 (default 16777216), R from 1 "
			"to 101 (default 9)\n");
	return 2;
}

int main(int argc, char **argv)
{
	size_t n = (size_t)16 << 20;
	long reps = 9;
	struct optreg_backend be;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	for (int i = 1; i < argc; i++) {
		char *end;
		if (i + 1 < argc && strcmp(argv[i], "--params") == 0) {
			unsigned long long x = strtoull(argv[++i], &end, 10);
			if (*end || x < OPTREG_ADAM_BENCH_TENSORS ||
			    x > (1ull << 31))
				return usage();
			n = (size_t)x;
		} else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) {
			reps = strtol(argv[++i], &end, 10);
			if (*end || reps < 1 || reps > BENCH_MAX_REPS)
				return usage();
		} else {
			return usage();
		}
	}
	if (optreg_cpu_backend_init(&be, 1, &errs)) {
		fprintf(stderr, "adam-cpu: %s\n",
			errs.len ? errs.items[0].message : "init failed");
		optreg_errors_release(&errs);
		return 1;
	}
	optreg_errors_release(&errs);

	double adam_ms = bench_adam(&be, n, (int)reps);
	size_t bytes = 14 * n;
	double copy_ms = bench_memcpy(bytes, (int)reps);
	printf("adam_step: %zu parameters, %.3f ms, %.3f GB/s\n", n, adam_ms,
	       28.0 * (double)n / (adam_ms * 1e-3) / 1e9);
	printf("memcpy: %zu bytes, %.3f ms, %.3f GB/s\n", bytes, copy_ms,
	       2.0 * (double)bytes / (copy_ms * 1e-3) / 1e9);
	be.destroy(&be);
	return 0;
}
