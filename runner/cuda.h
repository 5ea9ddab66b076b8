/*
 * runner/cuda.h: the CUDA backend of runner/backend.h, as the host side
 * sees it (plain C).
 *
 * With nvcc present at build time the backend lives in runner/cuda/ (the .cu
 * files) (cuBLAS GEMMs, deterministic reductions, one fused Adam launch);
 * without it runner/cuda_none.c implements these three calls: built() says 0,
 * the probe finds no device and init fails, so the host side has one code path.
 */
#ifndef OPTREG_CUDA_H
#define OPTREG_CUDA_H

#include "backend.h"

#ifdef __cplusplus
extern "C" {
#endif

struct optreg_cuda_info {
	int ndevices;		/* 0 when none (or the driver is missing) */
	char name[128];		/* device 0's cudaDeviceProp.name */
	int cc_major, cc_minor; /* compute capability */
	int driver_version;	/* cudaDriverGetVersion, e.g. 13000 */
	int runtime_version;	/* cudaRuntimeGetVersion */
	char why[160];		/* when ndevices == 0: why ("no CUDA driver",
				   "no device", cudaGetErrorString...) */
};

/* Whether this binary has the CUDA backend compiled in. */
int optreg_cuda_built(void);

/* Probes the devices without failing: fills *info (ndevices 0 + why when
 * there is none, or when not built: why = "built without CUDA"). */
void optreg_cuda_probe(struct optreg_cuda_info *info);

/* Fills `be` with the CUDA backend on device `device`; be->name "cuda",
 * be->device "cuda: <name>, sm_<cc>, driver X.Y, runtime X.Y, cuBLAS V".
 * Returns 0, or OPTREG_EUNAVAILABLE (no device, no driver, not built; the
 * message names what is missing) or OPTREG_EINTERNAL (a device failure),
 * with an error appended to `errs` (may be NULL). */
int optreg_cuda_backend_init(struct optreg_backend *be, int device,
			     struct optreg_errors *errs);

/* Loads cuBLAS, once per process (init does; the runner does not link it,
 * so a run on the CPU never maps it). Returns 0, or OPTREG_EUNAVAILABLE
 * with the reason in `why` (not built, the library or a call missing). */
int optreg_cuda_blas_load(char *why, size_t len);

#ifdef __cplusplus
}
#endif

#endif
