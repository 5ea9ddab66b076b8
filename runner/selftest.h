/*
 * runner/selftest.h: the runner checks its own Adam/AdamW arithmetic
 * against golden traces from PyTorch before it judges anything
 * (docs/runner.md, "How a run works": a runner whose math is off refuses to
 * judge).
 *
 * A trace (tests/testdata/README.md, "torch-adam trace format") is one JSON
 * file: a config, the learning rate torch used at each step, the starting
 * parameters, the raw gradients, and the parameters and moments after every
 * step. Replaying one applies the schedule (optreg_config_schedule_lr, compared
 * to the trace's rate exactly), clip_grad_norm_ when the config has
 * grad_clip_norm, and the step of runner/adam.h, and compares every value
 * after every step: a case without clipping must agree bit for bit; a
 * clipped one within rounding of the norm (float64: relative 1e-12;
 * float32: PyTorch's tolerance, rtol 1.3e-6 and atol 1e-5).
 *
 * With a backend, float32 traces run through its adam_step (so the CUDA
 * backend is checked on its own device); float64 traces, which no backend
 * computes, run through runner/adam.h on the host. A backend other than
 * the CPU's is held to the float32 tolerance in every case, clipped or
 * not: bit for bit is asked only of the host and the CPU backend.
 */
#ifndef OPTREG_SELFTEST_H
#define OPTREG_SELFTEST_H

#include <stdio.h>

#include "../common/buf.h"
#include "../validator/config.h"
#include "adam.h"

struct optreg_backend;

/* One golden trace, loaded. All arrays are owned by the trace. */
struct optreg_trace {
	char *name; /* the file name without ".json" */
	int f32;    /* float32 arithmetic (else float64) */
	struct optreg_adam_hparams h;
	struct optreg_schedule schedule; /* constant, W = 0 when absent */
	int has_clip;
	double clip_norm; /* max_norm of clip_grad_norm_ when has_clip */
	int n, steps;	  /* elements of the tensor, optimizer steps */
	double *lr;	  /* [steps]: lr_per_step */
	double *param0;	  /* [n] */
	double *grads;	  /* [steps * n]: raw, before clipping */
	/* [steps * n]: after each step; max_exp_avg_sq only with amsgrad,
	 * NULL otherwise. float32 values are exact floats. */
	double *param, *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
};

/*
 * Loads the trace at `path` into `t` (released with optreg_trace_release,
 * also after a failure). Returns 0, OPTREG_EIO when the file cannot be
 * read, or OPTREG_EINVAL when it is not a well-formed trace; either way
 * with a one-line reason in `err` (appended).
 */
int optreg_trace_load(const char *path, struct optreg_trace *t,
		      struct optreg_buf *err);

/* Frees what the trace owns and zeroes it. */
void optreg_trace_release(struct optreg_trace *t);

/* What a replay found. */
struct optreg_selftest_result {
	int bit_exact;	/* every value of every step equal bit for bit */
	double max_err; /* largest |got - want| / allowed, over all values */
	/* The first disagreement beyond what is allowed, when the replay
	 * failed: step (1-based), field ("lr", "param", "exp_avg", ...),
	 * element index (-1 for lr), and the two values. */
	int step, index;
	const char *field; /* "backend" when the backend failed */
	double got, want;
	int code; /* the backend's OPTREG_E* code when it failed, else 0 */
};

/*
 * Replays `t` with runner/adam.h on the host and fills `r`. Returns 0 when
 * the trace agrees as required (bit for bit without clipping, within the
 * tolerance with it), OPTREG_EINVAL at the first disagreement.
 */
int optreg_selftest_replay(const struct optreg_trace *t,
			   struct optreg_selftest_result *r);

/*
 * The same, with a float32 trace stepped by `be` (borrowed; NULL means the
 * host, as optreg_selftest_replay). A failing backend call ends the replay
 * with its code, in the return value and in r->code.
 */
int optreg_selftest_replay_on(struct optreg_backend *be,
			      const struct optreg_trace *t,
			      struct optreg_selftest_result *r);

/*
 * Replays every *.json trace in `golden_dir` (in name order) and writes
 * one line per case to `out`:
 *   ok case03-adamw-float32 (20 steps, bit-exact)
 *   FAIL case05-adamw-float32: step 7 param[3]: got X want Y
 * `passed` and `failed` (either may be NULL) receive the counts; a trace
 * that cannot be loaded counts as failed. Returns 0 when every case passed
 * and there was at least one, OPTREG_EINVAL when a case failed or there
 * were none, OPTREG_EIO when the directory cannot be read. float32 cases
 * run on the CPU backend (runner/cpu.c, one thread), float64 on the host.
 */
int optreg_selftest_run(const char *golden_dir, FILE *out, int *passed,
			int *failed);

/* optreg_selftest_run on a given backend (borrowed; NULL: the host). */
int optreg_selftest_run_on(struct optreg_backend *be, const char *golden_dir,
			   FILE *out, int *passed, int *failed);

/*
 * Where the golden traces are when no directory is given: $OPTREG_GOLDEN;
 * else tests/testdata/torch-adam in the first directory above the
 * executable that has one (bin/ and build/<kind>/bin/ both work wherever
 * the runner is started from); else tests/testdata/torch-adam relative to
 * the working directory. The result is malloc'd; the caller frees it.
 */
char *optreg_selftest_default_dir(void);

#endif
