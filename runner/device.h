/*
 * runner/device.h: which compute backend the runner uses (`--backend
 * auto|cpu|cuda` of run, serve and selftest).
 *
 * auto (the default) takes the CUDA backend when this binary has it built
 * in and a device is present, else the CPU, with one line saying why
 * (optreg_device_note). cpu always takes the CPU. cuda takes the CUDA
 * backend or fails, naming what is missing: the build, the driver or the
 * device. The probe is runner/cuda.h's; tests replace it through
 * optreg_device_probe_hook.
 */
#ifndef OPTREG_RUNNER_DEVICE_H
#define OPTREG_RUNNER_DEVICE_H

#include <jansson.h>

#include "../common/error.h"
#include "backend.h"
#include "cuda.h"

enum optreg_device_kind {
	OPTREG_DEVICE_AUTO = 0,
	OPTREG_DEVICE_CPU,
	OPTREG_DEVICE_CUDA,
};

/* The choice made: the backend and, for cuda, the device probed. */
struct optreg_device {
	enum optreg_device_kind kind; /* CPU or CUDA, never AUTO */
	struct optreg_cuda_info info; /* as probed (ndevices 0 for cpu) */
	char note[256]; /* auto that fell back: the log line's text, without
			   "optreg-runner: "; else "" */
	int jobs;	/* the seeds of a workload trained at once (--jobs);
			   0: the default, optreg_device_jobs */
};

/* The most seeds trained at once. */
#define OPTREG_DEVICE_MAX_JOBS 16

/* The probe optreg_device_choose calls: optreg_cuda_probe unless a test
 * sets another (and `built` then comes from optreg_device_built_hook). */
extern void (*optreg_device_probe_hook)(struct optreg_cuda_info *info);
extern int (*optreg_device_built_hook)(void);

/* "auto", "cpu" or "cuda" into *kind: 0, or OPTREG_EINVAL with errs
 * (rule "backend", path "--backend"). */
int optreg_device_parse(const char *text, enum optreg_device_kind *kind,
			struct optreg_errors *errs);

/* `--jobs TEXT`: an integer from 1 to OPTREG_DEVICE_MAX_JOBS into *jobs;
 * 0, or OPTREG_EINVAL with errs (rule "jobs", path "--jobs"). */
int optreg_device_parse_jobs(const char *text, int *jobs,
			     struct optreg_errors *errs);

/*
 * How many of a suite's `nseeds` seeds run at once on `dev` (NULL: the
 * CPU): dev->jobs when set, else every seed on cuda (a GPU spends most
 * of a small workload's step waiting for the host, so the seeds' steps
 * overlap) and one at a time on the CPU; never more than nseeds or
 * OPTREG_DEVICE_MAX_JOBS, at least 1. Each seed has its own backend
 * instance and thread; the results are those of one at a time.
 */
int optreg_device_jobs(const struct optreg_device *dev, size_t nseeds);

/*
 * Chooses the backend for `want`, probing through the hooks, into *dev
 * (jobs 0).
 * Returns 0; or, for OPTREG_DEVICE_CUDA with no usable device,
 * OPTREG_EUNAVAILABLE with a message naming what is missing ("this
 * optreg-runner was built without CUDA", "no CUDA driver ...", "no CUDA
 * device ...") and a hint.
 */
int optreg_device_choose(struct optreg_device *dev,
			 enum optreg_device_kind want,
			 struct optreg_errors *errs);

/* Starts the chosen backend: optreg_cpu_backend_init(be, cpu_threads) or
 * optreg_cuda_backend_init(be, 0). 0, or its negative code with errs. */
int optreg_device_backend_init(const struct optreg_device *dev,
			       struct optreg_backend *be, int cpu_threads,
			       struct optreg_errors *errs);

/* The verdict's "gpu" member for a CUDA choice (a new object:
 * {"name", "compute_capability": "9.0", "driver_version": "13.0",
 * "runtime_version": "13.0"}); NULL for the CPU. */
json_t *optreg_device_gpu_json(const struct optreg_device *dev);

/* "13.0" for 13000: CUDA's 1000 * major + 10 * minor. */
void optreg_device_version_text(int version, char *out, size_t size);

#endif
