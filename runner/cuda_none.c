/*
 * runner/cuda_none.c: runner/cuda.h in a build without CUDA (no nvcc at
 * build time, or `make CUDA=0`): there is no CUDA backend, and every call
 * says so instead of failing.
 */
#include <string.h>

#include "../common/errcodes.h"
#include "cuda.h"

int optreg_cuda_built(void)
{
	return 0;
}

void optreg_cuda_probe(struct optreg_cuda_info *info)
{
	memset(info, 0, sizeof(*info));
	strcpy(info->why, "built without CUDA");
}

int optreg_cuda_backend_init(struct optreg_backend *be, int device,
			     struct optreg_errors *errs)
{
	(void)device;
	memset(be, 0, sizeof(*be));
	optreg_error_set_hint(
		optreg_errors_add(errs, OPTREG_EUNAVAILABLE, "backend",
				  "--backend",
				  "this optreg-runner was built without CUDA"),
		"rebuild it where /usr/local/cuda/bin/nvcc exists (make "
		"CUDA=auto), or use --backend cpu");
	return OPTREG_EUNAVAILABLE;
}
