/*
 * tests/unit/runner/device_test.c: the backend choice (runner/device.h)
 * on a machine without a GPU: --backend's names, auto falling back to the
 * CPU with the line that says why, cpu never probing, cuda refused with a
 * message naming what is missing (the build, the driver, the device), and
 * with a fake probe that reports a device, auto and cuda choosing it and
 * the verdict's "gpu" member. The real probe is runner/cuda_none.c's in a
 * build without CUDA; in a CUDA build on a GPU-less machine it reports no
 * device, which the first tests accept too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/errcodes.h"
#include "common/error.h"
#include "runner/cuda.h"
#include "runner/device.h"
#include "runner/selftest.h"

static int probes;
static int fake_built;
static struct optreg_cuda_info fake_info;

static void fake_probe(struct optreg_cuda_info *info)
{
	probes++;
	*info = fake_info;
}

static int fake_built_fn(void)
{
	return fake_built;
}

static int fake_setup(void **state)
{
	(void)state;
	probes = 0;
	fake_built = 1;
	memset(&fake_info, 0, sizeof(fake_info));
	optreg_device_probe_hook = fake_probe;
	optreg_device_built_hook = fake_built_fn;
	return 0;
}

static int real_setup(void **state)
{
	(void)state;
	optreg_device_probe_hook = optreg_cuda_probe;
	optreg_device_built_hook = optreg_cuda_built;
	return 0;
}

static void test_parse(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	enum optreg_device_kind k = OPTREG_DEVICE_CPU;

	(void)state;
	assert_int_equal(optreg_device_parse("auto", &k, &errs), 0);
	assert_int_equal(k, OPTREG_DEVICE_AUTO);
	assert_int_equal(optreg_device_parse("cpu", &k, &errs), 0);
	assert_int_equal(k, OPTREG_DEVICE_CPU);
	assert_int_equal(optreg_device_parse("cuda", &k, &errs), 0);
	assert_int_equal(k, OPTREG_DEVICE_CUDA);
	assert_int_equal(errs.len, 0);
	assert_int_equal(optreg_device_parse("CUDA", &k, &errs), OPTREG_EINVAL);
	assert_int_equal(optreg_device_parse("", &k, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].message, "unknown backend \"CUDA\"");
	assert_string_equal(errs.items[0].path, "--backend");
	assert_string_equal(errs.items[0].hint, "use auto, cpu or cuda");
	optreg_errors_release(&errs);
}

/* The real probe of this build, on this GPU-less machine. */
/* --jobs and the default number of seeds at once. */
static void test_jobs(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_device dev;
	int jobs = -1;

	(void)state;
	assert_int_equal(optreg_device_parse_jobs("3", &jobs, &errs), 0);
	assert_int_equal(jobs, 3);
	assert_int_equal(optreg_device_parse_jobs("16", &jobs, &errs), 0);
	assert_int_equal(jobs, 16);
	const char *bad[] = {"0", "17", "-1", "x", "", "3x", "99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jobs = 5;
		assert_int_equal(optreg_device_parse_jobs(bad[i], &jobs, &errs),
				 OPTREG_EINVAL);
		assert_int_equal(jobs, 5);
	}
	assert_int_equal(errs.len, 7);
	assert_string_equal(errs.items[0].path, "--jobs");
	assert_non_null(strstr(errs.items[0].message,
			       "\"0\" is not a whole number from 1 to 16"));
	assert_non_null(errs.items[0].hint);
	optreg_errors_release(&errs);

	/* Defaults: one at a time on the CPU (and with no device), every
	 * seed on cuda; --jobs wins; never more than the seeds or 16. */
	memset(&dev, 0, sizeof(dev));
	dev.kind = OPTREG_DEVICE_CPU;
	assert_int_equal(optreg_device_jobs(NULL, 3), 1);
	assert_int_equal(optreg_device_jobs(&dev, 3), 1);
	dev.kind = OPTREG_DEVICE_CUDA;
	assert_int_equal(optreg_device_jobs(&dev, 3), 3);
	assert_int_equal(optreg_device_jobs(&dev, 40), 16);
	assert_int_equal(optreg_device_jobs(&dev, 0), 1);
	dev.jobs = 2;
	assert_int_equal(optreg_device_jobs(&dev, 3), 2);
	dev.kind = OPTREG_DEVICE_CPU;
	dev.jobs = 8;
	assert_int_equal(optreg_device_jobs(&dev, 3), 3);
}

static void test_real_no_device(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_cuda_info info;
	struct optreg_device dev;

	(void)state;
	optreg_cuda_probe(&info);
	assert_int_equal(info.ndevices, 0);
	assert_true(info.why[0] != '\0');
	if (!optreg_cuda_built())
		assert_string_equal(info.why, "built without CUDA");

	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_AUTO, &errs),
			 0);
	assert_int_equal(dev.kind, OPTREG_DEVICE_CPU);
	assert_non_null(strstr(dev.note, "no CUDA device ("));
	assert_non_null(strstr(dev.note, info.why));
	assert_non_null(strstr(dev.note, "); using the CPU backend"));
	assert_null(optreg_device_gpu_json(&dev));

	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_CUDA, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EUNAVAILABLE);
	assert_non_null(errs.items[0].hint);
	if (!optreg_cuda_built())
		assert_string_equal(errs.items[0].message,
				    "this optreg-runner was built without "
				    "CUDA");
	optreg_errors_release(&errs);

	/* The CUDA backend refuses to start too, naming why. */
	struct optreg_backend be;
	int rc = optreg_cuda_backend_init(&be, 0, &errs);
	assert_true(rc < 0);
	if (!optreg_cuda_built())
		assert_int_equal(rc, OPTREG_EUNAVAILABLE);
	assert_true(errs.len >= 1);
	optreg_errors_release(&errs);
}

/* cpu never probes: a broken driver cannot stop a CPU run. */
static void test_cpu_never_probes(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_device dev;

	(void)state;
	fake_info.ndevices = 1;
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_CPU, &errs),
			 0);
	assert_int_equal(dev.kind, OPTREG_DEVICE_CPU);
	assert_int_equal(probes, 0);
	assert_string_equal(dev.note, "");
	assert_int_equal(errs.len, 0);
}

static void test_not_built(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_device dev;

	(void)state;
	fake_built = 0;
	strcpy(fake_info.why, "built without CUDA");
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_AUTO, &errs),
			 0);
	assert_string_equal(
		dev.note,
		"no CUDA device (built without CUDA); using the CPU backend");
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_CUDA, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_string_equal(errs.items[0].message,
			    "this optreg-runner was built without CUDA");
	assert_non_null(strstr(errs.items[0].hint, "--backend cpu"));
	optreg_errors_release(&errs);
}

static void test_no_driver(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_device dev;

	(void)state;
	strcpy(fake_info.why, "CUDA driver version is insufficient for CUDA "
			      "runtime version");
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_AUTO, &errs),
			 0);
	assert_int_equal(dev.kind, OPTREG_DEVICE_CPU);
	assert_string_equal(dev.note,
			    "no CUDA device (CUDA driver version is "
			    "insufficient for CUDA runtime version); using "
			    "the CPU backend");
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_CUDA, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_string_equal(errs.items[0].message,
			    "the CUDA driver is missing (CUDA driver version "
			    "is insufficient for CUDA runtime version)");
	optreg_errors_release(&errs);
}

static void test_no_device(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_device dev;

	(void)state;
	strcpy(fake_info.why, "no CUDA-capable device is detected");
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_CUDA, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_string_equal(
		errs.items[0].message,
		"no CUDA device (no CUDA-capable device is detected)");
	assert_non_null(strstr(errs.items[0].hint, "NVIDIA GPU"));
	optreg_errors_release(&errs);
	/* A probe that gives no reason still yields one. */
	fake_info.why[0] = '\0';
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_AUTO, &errs),
			 0);
	assert_string_equal(
		dev.note, "no CUDA device (no device); using the CPU backend");
}

static void test_device_present(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_device dev;
	json_t *gpu;
	char *text;

	(void)state;
	fake_info.ndevices = 1;
	strcpy(fake_info.name, "NVIDIA H200");
	fake_info.cc_major = 9;
	fake_info.cc_minor = 0;
	fake_info.driver_version = 13000;
	fake_info.runtime_version = 12040;
	for (int want = OPTREG_DEVICE_AUTO; want <= OPTREG_DEVICE_CUDA;
	     want += 2) {
		assert_int_equal(
			optreg_device_choose(
				&dev, (enum optreg_device_kind)want, &errs),
			0);
		assert_int_equal(dev.kind, OPTREG_DEVICE_CUDA);
		assert_string_equal(dev.note, "");
	}
	assert_int_equal(errs.len, 0);
	gpu = optreg_device_gpu_json(&dev);
	assert_non_null(gpu);
	text = json_dumps(gpu, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(text, "{\"name\":\"NVIDIA H200\","
				  "\"compute_capability\":\"9.0\","
				  "\"driver_version\":\"13.0\","
				  "\"runtime_version\":\"12.4\"}");
	free(text);
	json_decref(gpu);
	/* A built-in backend with no device probed is not a choice. */
	fake_built = 0;
	assert_int_equal(optreg_device_choose(&dev, OPTREG_DEVICE_AUTO, &errs),
			 0);
	assert_int_equal(dev.kind, OPTREG_DEVICE_CPU);
}

/*
 * The selftest on a backend other than the CPU's: float32 within PyTorch's
 * tolerance instead of bit for bit. A CPU backend whose adam_step moves
 * every parameter by one ulp afterwards stands in for a GPU's rounding:
 * named "cuda" it passes every trace; named "cpu" the unclipped cases
 * fail. One that moves them by 1e-3 fails under either name.
 */
static float nudge;
static int (*real_adam_step)(void *, const struct optreg_adam_step *,
			     struct optreg_adam_step_out *);

static int nudged_adam_step(void *ctx, const struct optreg_adam_step *st,
			    struct optreg_adam_step_out *out)
{
	int rc = real_adam_step(ctx, st, out);
	size_t n = 0;

	for (size_t i = 0; i < st->ntensors; i++)
		if (st->tensors[i].offset + st->tensors[i].n > n)
			n = st->tensors[i].offset + st->tensors[i].n;
	/* The CPU backend's device memory is host memory. */
	for (size_t i = 0; i < n; i++)
		st->param[i] = nudge > 0 ? st->param[i] + nudge
					 : nextafterf(st->param[i], INFINITY);
	return rc;
}

static int selftest_as(const char *name, float by, int *failed)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_backend be;
	FILE *out = tmpfile();
	int passed, rc;

	assert_int_equal(optreg_cpu_backend_init(&be, 1, &errs), 0);
	real_adam_step = be.adam_step;
	be.adam_step = nudged_adam_step;
	be.name = name;
	nudge = by;
	rc = optreg_selftest_run_on(&be, "tests/testdata/torch-adam", out,
				    &passed, failed);
	assert_true(passed + *failed == 16);
	be.destroy(&be);
	fclose(out);
	optreg_errors_release(&errs);
	return rc;
}

static void test_selftest_tolerance(void **state)
{
	int failed;

	(void)state;
	assert_int_equal(selftest_as("cuda", 0, &failed), 0);
	assert_int_equal(failed, 0);
	assert_int_equal(selftest_as("cpu", 0, &failed), OPTREG_EINVAL);
	assert_true(failed > 0);
	assert_int_equal(selftest_as("cuda", 1e-3f, &failed), OPTREG_EINVAL);
	assert_true(failed > 0);
}

static void test_version_text(void **state)
{
	char b[16];

	(void)state;
	optreg_device_version_text(13000, b, sizeof(b));
	assert_string_equal(b, "13.0");
	optreg_device_version_text(12080, b, sizeof(b));
	assert_string_equal(b, "12.8");
	optreg_device_version_text(0, b, sizeof(b));
	assert_string_equal(b, "0.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test_setup(test_real_no_device, real_setup),
		cmocka_unit_test_setup(test_cpu_never_probes, fake_setup),
		cmocka_unit_test_setup(test_not_built, fake_setup),
		cmocka_unit_test_setup(test_no_driver, fake_setup),
		cmocka_unit_test_setup(test_no_device, fake_setup),
		cmocka_unit_test_setup(test_device_present, fake_setup),
		cmocka_unit_test(test_version_text),
		cmocka_unit_test(test_selftest_tolerance),
	};

	return cmocka_run_group_tests(tests, NULL, real_setup);
}
