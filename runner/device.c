/*
 * runner/device.c: the backend choice (device.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/errcodes.h"
#include "device.h"

void (*optreg_device_probe_hook)(struct optreg_cuda_info *info) =
	optreg_cuda_probe;
int (*optreg_device_built_hook)(void) = optreg_cuda_built;

int optreg_device_parse(const char *text, enum optreg_device_kind *kind,
			struct optreg_errors *errs)
{
	static const char *const names[] = {"auto", "cpu", "cuda"};

	for (int i = 0; i < 3; i++)
		if (!strcmp(text, names[i])) {
			*kind = (enum optreg_device_kind)i;
			return 0;
		}
	optreg_error_set_hint(optreg_errors_add(errs, OPTREG_EINVAL, "backend",
						"--backend",
						"unknown backend \"%s\"", text),
			      "use auto, cpu or cuda");
	return OPTREG_EINVAL;
}

int optreg_device_parse_jobs(const char *text, int *jobs,
			     struct optreg_errors *errs)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(text, &end, 10);
	if (errno || end == text || *end || n < 1 ||
	    n > OPTREG_DEVICE_MAX_JOBS) {
		optreg_error_set_hint(
			optreg_errors_add(errs, OPTREG_EINVAL, "jobs", "--jobs",
					  "\"%s\" is not a whole "
					  "number from 1 to %d",
					  text, OPTREG_DEVICE_MAX_JOBS),
			"give how many seeds to train at once, e.g. --jobs 3");
		return OPTREG_EINVAL;
	}
	*jobs = (int)n;
	return 0;
}

int optreg_device_jobs(const struct optreg_device *dev, size_t nseeds)
{
	size_t n;

	if (dev && dev->jobs > 0)
		n = (size_t)dev->jobs;
	else
		n = dev && dev->kind == OPTREG_DEVICE_CUDA ? nseeds : 1;
	if (n > nseeds)
		n = nseeds;
	if (n > OPTREG_DEVICE_MAX_JOBS)
		n = OPTREG_DEVICE_MAX_JOBS;
	return n < 1 ? 1 : (int)n;
}

/* Whether the probe's reason says the driver, not the device, is
 * missing. */
static int no_driver(const char *why)
{
	return strstr(why, "driver") != NULL;
}

int optreg_device_choose(struct optreg_device *dev,
			 enum optreg_device_kind want,
			 struct optreg_errors *errs)
{
	int built;

	memset(dev, 0, sizeof(*dev));
	dev->kind = OPTREG_DEVICE_CPU;
	if (want == OPTREG_DEVICE_CPU)
		return 0;
	built = optreg_device_built_hook();
	optreg_device_probe_hook(&dev->info);
	if (!built || dev->info.ndevices <= 0) {
		const char *why = dev->info.why[0] ? dev->info.why
				  : built	   ? "no device"
						   : "built without CUDA";
		dev->info.ndevices = 0;
		if (want == OPTREG_DEVICE_AUTO) {
			snprintf(dev->note, sizeof(dev->note),
				 "no CUDA device (%s); using the CPU backend",
				 why);
			return 0;
		}
		struct optreg_error *e;
		if (!built)
			e = optreg_errors_add(errs, OPTREG_EUNAVAILABLE,
					      "backend", "--backend",
					      "this optreg-runner was built "
					      "without CUDA");
		else if (no_driver(why))
			e = optreg_errors_add(errs, OPTREG_EUNAVAILABLE,
					      "backend", "--backend",
					      "the CUDA driver is missing (%s)",
					      why);
		else
			e = optreg_errors_add(errs, OPTREG_EUNAVAILABLE,
					      "backend", "--backend",
					      "no CUDA device (%s)", why);
		optreg_error_set_hint(
			e, !built ? "rebuild it where /usr/local/cuda/bin/nvcc "
				    "exists, or use --backend cpu (or auto)"
				  : "run it on a machine with an NVIDIA GPU "
				    "and its driver, or use --backend cpu (or "
				    "auto)");
		return OPTREG_EUNAVAILABLE;
	}
	dev->kind = OPTREG_DEVICE_CUDA;
	return 0;
}

int optreg_device_backend_init(const struct optreg_device *dev,
			       struct optreg_backend *be, int cpu_threads,
			       struct optreg_errors *errs)
{
	if (dev && dev->kind == OPTREG_DEVICE_CUDA)
		return optreg_cuda_backend_init(be, 0, errs);
	return optreg_cpu_backend_init(be, cpu_threads, errs);
}

void optreg_device_version_text(int version, char *out, size_t size)
{
	snprintf(out, size, "%d.%d", version / 1000, version % 1000 / 10);
}

json_t *optreg_device_gpu_json(const struct optreg_device *dev)
{
	char cc[24], drv[24], rt[24];

	if (!dev || dev->kind != OPTREG_DEVICE_CUDA)
		return NULL;
	snprintf(cc, sizeof(cc), "%d.%d", dev->info.cc_major,
		 dev->info.cc_minor);
	optreg_device_version_text(dev->info.driver_version, drv, sizeof(drv));
	optreg_device_version_text(dev->info.runtime_version, rt, sizeof(rt));
	return json_pack("{s:s, s:s, s:s, s:s}", "name", dev->info.name,
			 "compute_capability", cc, "driver_version", drv,
			 "runtime_version", rt);
}
