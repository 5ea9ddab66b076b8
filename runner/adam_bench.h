/*
 * runner/adam_bench.h: the Adam step both bandwidth benchmarks time
 * (bench/adam_cpu.c on the CPU backend, runner/cuda/bench.cu on the CUDA
 * one), so that their figures are of the same step: AdamW, lr 1e-3,
 * betas 0.9/0.999, eps 1e-8, weight decay 0.01, no clipping, float32
 * state, the n parameters split into OPTREG_ADAM_BENCH_TENSORS tensors of
 * one group. Included by C and CUDA host code.
 */
#ifndef OPTREG_RUNNER_ADAM_BENCH_H
#define OPTREG_RUNNER_ADAM_BENCH_H

#include <string.h>

#include "backend.h"

#define OPTREG_ADAM_BENCH_TENSORS 8

/* Fills *gr, ts[OPTREG_ADAM_BENCH_TENSORS] and *step (its step number
 * left to the caller) for buffers of n floats. */
static inline void optreg_adam_bench_setup(struct optreg_adam_step *step,
					   struct optreg_adam_group *gr,
					   struct optreg_adam_tensor *ts,
					   size_t n, float *p, float *g,
					   float *m, float *v)
{
	const size_t k_n = OPTREG_ADAM_BENCH_TENSORS;

	memset(gr, 0, sizeof(*gr));
	gr->h.lr = 1e-3;
	gr->h.beta1 = 0.9;
	gr->h.beta2 = 0.999;
	gr->h.eps = 1e-8;
	gr->h.weight_decay = 0.01;
	gr->h.adamw = 1;
	gr->lr_t = 1e-3;
	for (size_t k = 0; k < k_n; k++) {
		ts[k].offset = n / k_n * k;
		ts[k].n = k + 1 < k_n ? n / k_n : n - ts[k].offset;
		ts[k].group = 0;
	}
	memset(step, 0, sizeof(*step));
	step->param = p;
	step->grad = g;
	step->m = m;
	step->v = v;
	step->tensors = ts;
	step->ntensors = k_n;
	step->groups = gr;
	step->ngroups = 1;
	step->state_precision = OPTREG_PRECISION_FP32;
}

#endif
