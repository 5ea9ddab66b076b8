/*
 * runner/cuda_none.c: runner/cuda.h in a build without nvcc (or with
 * `make CUDA=0`): no CUDA backend, said the same way a machine without a
 * device says it.
 */
#include <stdio.h>
#include <string.h>

#include "cuda.h"

int optreg_cuda_built(void)
{
	return 0;
}

void optreg_cuda_probe(struct optreg_cuda_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->why, sizeof(info->why), "built without CUDA");
}

int optreg_cuda_backend_init(struct optreg_backend *be, int device,
			     struct optreg_errors *errs)
{
	(void)device;
	memset(be, 0, sizeof(*be));
	if (errs)
		optreg_error_set_hint(
			optreg_errors_add(
				errs, OPTREG_EUNAVAILABLE, "backend",
				"--backend",
				"this optreg-runner was built without CUDA"),
			"rebuild it where /usr/local/cuda/bin/nvcc exists "
			"(make CUDA=auto), or use --backend cpu");
	return OPTREG_EUNAVAILABLE;
}

int optreg_cuda_blas_load(char *why, size_t len)
{
	if (why && len)
		snprintf(why, len, "built without CUDA");
	return OPTREG_EUNAVAILABLE;
}
