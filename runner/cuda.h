/*
 * runner/cuda.h: the CUDA backend as the host side sees it.
 *
 * Built with nvcc (runner/cuda/), these calls probe the devices and start
 * the backend of runner/backend.h on one of them; built without CUDA,
 * runner/cuda_none.c answers that there is none. Nothing here fails on a
 * machine without a GPU or without the driver: the probe says why.
 */
#ifndef OPTREG_RUNNER_CUDA_H
#define OPTREG_RUNNER_CUDA_H

#include "../common/error.h"
#include "backend.h"

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
 * OPTREG_EUNAVAILABLE-style error (use the existing code in
 * common/errcodes.h that means unavailable; else OPTREG_EINTERNAL) with
 * a message naming what is missing when there is no device or it is not
 * built. */
int optreg_cuda_backend_init(struct optreg_backend *be, int device,
			     struct optreg_errors *errs);

#endif
