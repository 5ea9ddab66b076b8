/*
 * tests/unit/runner/adam_test.c: runner/adam.h and the runner's selftest.
 *
 * Evidence, strongest first:
 * - PyTorch's golden traces (tests/testdata/torch-adam, shipped with the
 *   design; tests/testdata/torch-adam-random, 10 random configs drawn by
 *   generate.py with seed 1) replay bit for bit in both dtypes, clipped
 *   cases included;
 * - the replay can fail: a slightly wrong eps, beta or decay placement, or
 *   one changed value in a trace, is caught and reported by step and index;
 * - clip_grad_norm_'s coefficient and norm equal values computed by torch
 *   1.13 (written below in hex);
 * - a 1-element Adam and AdamW step computed by hand shows where each puts
 *   the weight decay.
 *
 * The data directory is $OPTREG_TESTDATA, by default tests/testdata
 * relative to the project root, where tests run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/error.h"
#include "runner/adam.h"
#include "runner/backend.h"
#include "runner/selftest.h"
#include "tests/unit/testutil.h"

static const char *testdata_dir(void)
{
	const char *dir = getenv("OPTREG_TESTDATA");

	return dir && dir[0] ? dir : "tests/testdata";
}

static char *data_path(const char *sub)
{
	return optreg_xasprintf("%s/%s", testdata_dir(), sub);
}

/* Loads one trace of tests/testdata/<sub>/, failing the test if it cannot. */
static void load_trace(const char *sub, const char *file,
		       struct optreg_trace *t)
{
	struct optreg_buf err = OPTREG_BUF_INIT;
	char *path = optreg_xasprintf("%s/%s/%s", testdata_dir(), sub, file);

	if (optreg_trace_load(path, t, &err) != 0)
		fail_msg("%s (set OPTREG_TESTDATA)", err.data);
	optreg_buf_release(&err);
	free(path);
}

/* Runs the selftest over a directory; returns its code, output in `out`. */
static int run_dir(const char *dir, int *passed, int *failed,
		   struct optreg_buf *out)
{
	FILE *f = tmpfile();
	char chunk[4096];
	size_t n;
	int rc;

	assert_non_null(f);
	rc = optreg_selftest_run(dir, f, passed, failed);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		optreg_buf_add(out, chunk, n);
	fclose(f);
	return rc;
}

/* ---- the golden traces -------------------------------------------------- */

static void test_selftest_passes_on_shipped_traces(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	char *dir = data_path("torch-adam");
	int passed, failed;

	(void)state;
	int rc = run_dir(dir, &passed, &failed, &out);
	if (rc != 0)
		fail_msg("selftest over %s failed:\n%s", dir, out.data);
	assert_int_equal(passed, 16);
	assert_int_equal(failed, 0);
	assert_non_null(strstr(out.data, "ok case00-adam-float32 (20 steps, "
					 "bit-exact)\n"));
	assert_null(strstr(out.data, "FAIL"));
	optreg_buf_release(&out);
	free(dir);
}

static void test_selftest_passes_on_random_traces(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	char *dir = data_path("torch-adam-random");
	int passed, failed;

	(void)state;
	int rc = run_dir(dir, &passed, &failed, &out);
	if (rc != 0)
		fail_msg("selftest over %s failed:\n%s", dir, out.data);
	assert_int_equal(passed, 20);
	assert_int_equal(failed, 0);
	optreg_buf_release(&out);
	free(dir);
}

/*
 * Every trace of a directory replays bit for bit. The contract only asks
 * that of unclipped cases; clipped ones match too because optreg_norm2_*
 * sums in torch's order, and this keeps that true. Counts what it saw so
 * the test cannot pass on an empty or one-sided directory.
 */
static void check_all_bit_exact(struct optreg_backend *be, const char *sub,
				int *n_f32, int *n_f64, int *n_clipped)
{
	char *dir = data_path(sub);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		fail_msg("cannot open %s (set OPTREG_TESTDATA)", dir);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct optreg_trace t;
		struct optreg_selftest_result r;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		load_trace(sub, e->d_name, &t);
		if (optreg_selftest_replay_on(be, &t, &r) != 0)
			fail_msg("%s: step %d %s[%d]: got %.17g want %.17g",
				 t.name, r.step, r.field, r.index, r.got,
				 r.want);
		if (!r.bit_exact)
			fail_msg("%s: not bit-exact (%g of the tolerance)",
				 t.name, r.max_err);
		assert_true(r.max_err == 0.0);
		*(t.f32 ? n_f32 : n_f64) += 1;
		*n_clipped += t.has_clip;
		optreg_trace_release(&t);
	}
	closedir(d);
	free(dir);
}

static void test_every_shipped_trace_is_bit_exact(void **state)
{
	int n32 = 0, n64 = 0, nclip = 0;

	(void)state;
	check_all_bit_exact(NULL, "torch-adam", &n32, &n64, &nclip);
	assert_int_equal(n32, 8);
	assert_int_equal(n64, 8);
	assert_int_equal(nclip, 4);
}

static void test_every_random_trace_is_bit_exact(void **state)
{
	int n32 = 0, n64 = 0, nclip = 0;

	(void)state;
	check_all_bit_exact(NULL, "torch-adam-random", &n32, &n64, &nclip);
	assert_int_equal(n32, 10);
	assert_int_equal(n64, 10);
	assert_int_equal(nclip, 6);
}

/* The CPU backend's adam_step (runner/cpu.c), which clips and steps many
 * tensors at once, gives the same bits as the header on every trace. */
static void test_cpu_backend_is_bit_exact(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_backend be;
	int n32 = 0, n64 = 0, nclip = 0;

	(void)state;
	assert_int_equal(optreg_cpu_backend_init(&be, 1, &errs), 0);
	check_all_bit_exact(&be, "torch-adam", &n32, &n64, &nclip);
	check_all_bit_exact(&be, "torch-adam-random", &n32, &n64, &nclip);
	assert_int_equal(n32, 18);
	be.destroy(&be);
	optreg_errors_release(&errs);
}

/* A backend whose adam_step leaves out clip_grad_norm_ is caught on the
 * clipped traces, and one whose adam_step fails is reported as such. */
static int (*real_adam_step)(void *ctx, const struct optreg_adam_step *st,
			     struct optreg_adam_step_out *out);

static int adam_step_without_clip(void *ctx, const struct optreg_adam_step *st,
				  struct optreg_adam_step_out *out)
{
	struct optreg_adam_step copy = *st;

	copy.max_grad_norm = 0.0;
	return real_adam_step(ctx, &copy, out);
}

static int adam_step_failing(void *ctx, const struct optreg_adam_step *st,
			     struct optreg_adam_step_out *out)
{
	return st->step == 3 ? OPTREG_EINTERNAL : real_adam_step(ctx, st, out);
}

static void test_broken_backend_is_caught(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_backend be;
	struct optreg_trace t;
	struct optreg_selftest_result r;

	(void)state;
	assert_int_equal(optreg_cpu_backend_init(&be, 1, &errs), 0);
	real_adam_step = be.adam_step;
	load_trace("torch-adam", "case05-adamw-float32.json", &t);

	be.adam_step = adam_step_without_clip;
	assert_int_equal(optreg_selftest_replay_on(&be, &t, &r), OPTREG_EINVAL);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.step, 1);

	be.adam_step = adam_step_failing;
	assert_int_equal(optreg_selftest_replay_on(&be, &t, &r),
			 OPTREG_EINTERNAL);
	assert_int_equal(r.code, OPTREG_EINTERNAL);
	assert_int_equal(r.step, 3);
	assert_string_equal(r.field, "backend");

	/* The directory run prints the backend's failure. */
	struct optreg_buf out = OPTREG_BUF_INIT;
	char *dir = data_path("torch-adam");
	FILE *f = tmpfile();
	char chunk[4096];
	size_t n;
	int passed, failed;
	assert_non_null(f);
	assert_int_equal(optreg_selftest_run_on(&be, dir, f, &passed, &failed),
			 OPTREG_EINVAL);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		optreg_buf_add(&out, chunk, n);
	fclose(f);
	assert_int_equal(passed, 8); /* the float64 cases, on the host */
	assert_int_equal(failed, 8);
	assert_non_null(strstr(out.data, "FAIL case00-adam-float32: step 3: "
					 "the cpu backend failed (internal)"));

	optreg_buf_release(&out);
	free(dir);
	optreg_trace_release(&t);
	be.destroy(&be);
	optreg_errors_release(&errs);
}

/* Parsing does not depend on the process locale (jansson's strtod). */
static void test_selftest_ignores_locale(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	char *dir = data_path("torch-adam");
	int passed, failed, rc;

	(void)state;
	if (!test_use_comma_locale())
		fail_msg("no comma-decimal locale available");
	rc = run_dir(dir, &passed, &failed, &out);
	test_restore_locale();
	if (rc != 0)
		fail_msg("under a comma locale:\n%s", out.data);
	assert_int_equal(passed, 16);
	optreg_buf_release(&out);
	free(dir);
}

/* ---- the replay can fail ------------------------------------------------ */

/* Replays `t` and requires a mismatch; returns the step it was found at. */
static int expect_mismatch(const struct optreg_trace *t)
{
	struct optreg_selftest_result r;

	if (optreg_selftest_replay(t, &r) != OPTREG_EINVAL)
		fail_msg("%s: a wrong formula replayed as correct", t->name);
	assert_false(r.bit_exact);
	assert_non_null(r.field);
	assert_true(r.step >= 1 && r.step <= t->steps);
	return r.step;
}

/*
 * An eps off by one part in 10^6 (float64) or 10^3 (float32) changes the
 * update. float32 sees eps only where a gradient is as small as eps (case00
 * has gradients down to 1e-6 times normal draws); elsewhere sqrt(v)
 * swallows it in rounding.
 */
static void test_wrong_eps_fails(void **state)
{
	static const struct {
		const char *file;
		double rel;
	} cases[] = {{"case00-adam-float64.json", 1e-6},
		     {"case00-adam-float32.json", 1e-3}};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct optreg_trace t;

		load_trace("torch-adam", cases[i].file, &t);
		t.h.eps *= 1.0 + cases[i].rel;
		assert_int_equal(expect_mismatch(&t), 1);
		optreg_trace_release(&t);
	}
}

static void test_wrong_beta_fails(void **state)
{
	struct optreg_trace t;

	(void)state;
	load_trace("torch-adam", "case01-adam-float64.json", &t);
	t.h.beta2 = nextafter(t.h.beta2, 1.0);
	expect_mismatch(&t);
	optreg_trace_release(&t);
}

/* Adam's L2 decay where AdamW's decoupled decay belongs (and back). */
static void test_wrong_decay_placement_fails(void **state)
{
	static const char *const files[] = {"case02-adamw-float32.json",
					    "case01-adam-float64.json"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct optreg_trace t;

		load_trace("torch-adam", files[i], &t);
		t.h.adamw = !t.h.adamw;
		assert_int_equal(expect_mismatch(&t), 1);
		optreg_trace_release(&t);
	}
}

/* A clipped case still fails on a wrong formula: the tolerance is for the
 * norm's rounding, not for arithmetic. */
static void test_clipped_case_wrong_beta_fails(void **state)
{
	static const char *const files[] = {"case05-adamw-float32.json",
					    "case07-adam-float64.json"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct optreg_trace t;

		load_trace("torch-adam", files[i], &t);
		assert_true(t.has_clip);
		t.h.beta1 *= 1.0001;
		assert_int_equal(expect_mismatch(&t), 1);
		optreg_trace_release(&t);
	}
}

/* The schedule's rate is compared to the one torch used, exactly. */
static void test_wrong_lr_is_caught(void **state)
{
	struct optreg_trace t;
	struct optreg_selftest_result r;

	(void)state;
	load_trace("torch-adam", "case06-adamw-float64.json", &t);
	t.schedule.warmup_steps = 4;
	assert_int_equal(optreg_selftest_replay(&t, &r), OPTREG_EINVAL);
	assert_string_equal(r.field, "lr");
	assert_int_equal(r.step, 1);
	assert_int_equal(r.index, -1);
	assert_true(r.want == t.lr[0]);
	optreg_trace_release(&t);
}

/* Writes `trace` (a parsed golden trace, changed) into `dir`. */
static void write_trace(const char *dir, const char *file, json_t *trace)
{
	char *path = optreg_xasprintf("%s/%s", dir, file);

	assert_int_equal(json_dump_file(trace, path,
					JSON_COMPACT | JSON_REAL_PRECISION(17)),
			 0);
	free(path);
}

/* One value of one step nudged by one ulp: the directory run reports that
 * case, step and index and fails; the untouched case beside it passes. */
static void test_selftest_reports_the_first_difference(void **state)
{
	char tmpl[] = "/tmp/optreg-adam-test.XXXXXX";
	char *src = optreg_xasprintf("%s/torch-adam/case03-adamw-float64.json",
				     testdata_dir());
	struct optreg_buf out = OPTREG_BUF_INIT;
	json_error_t jerr;
	json_t *trace;
	int passed, failed;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	trace = json_load_file(src, 0, &jerr);
	if (!trace)
		fail_msg("%s: %s (set OPTREG_TESTDATA)", src, jerr.text);
	write_trace(tmpl, "a-good.json", trace);
	json_t *steps = json_object_get(trace, "steps");
	json_t *param = json_object_get(json_array_get(steps, 6), "param");
	double want = json_real_value(json_array_get(param, 3));
	json_array_set_new(param, 3, json_real(nextafter(want, INFINITY)));
	write_trace(tmpl, "b-bad.json", trace);
	json_decref(trace);

	assert_int_equal(run_dir(tmpl, &passed, &failed, &out), OPTREG_EINVAL);
	assert_int_equal(passed, 1);
	assert_int_equal(failed, 1);
	assert_non_null(strstr(out.data, "ok a-good (20 steps, bit-exact)\n"));
	assert_non_null(strstr(out.data, "FAIL b-bad: step 7 param[3]: got "));

	/* A file that is not a trace fails too, with the reason. */
	char *junk = optreg_xasprintf("%s/c-junk.json", tmpl);
	FILE *f = fopen(junk, "w");
	assert_non_null(f);
	fputs("{\"format\": \"something-else\"}", f);
	fclose(f);
	optreg_buf_reset(&out);
	assert_int_equal(run_dir(tmpl, &passed, &failed, &out), OPTREG_EINVAL);
	assert_int_equal(failed, 2);
	assert_non_null(strstr(out.data, "FAIL c-junk: cannot load: "));

	char *cmd = optreg_xasprintf("rm -rf %s", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(junk);
	free(src);
	optreg_buf_release(&out);
}

/* No traces is a failure (nothing was checked), a missing directory an
 * I/O error. */
static void test_selftest_empty_and_missing_dirs(void **state)
{
	char tmpl[] = "/tmp/optreg-adam-test.XXXXXX";
	struct optreg_buf out = OPTREG_BUF_INIT;
	int passed = -1, failed = -1;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(run_dir(tmpl, &passed, &failed, &out), OPTREG_EINVAL);
	assert_int_equal(passed, 0);
	assert_int_equal(failed, 0);
	assert_non_null(strstr(out.data, "FAIL no *.json traces in "));
	assert_int_equal(rmdir(tmpl), 0);

	optreg_buf_reset(&out);
	assert_int_equal(run_dir(tmpl, &passed, &failed, &out), OPTREG_EIO);
	assert_int_equal(passed + failed, 0);
	optreg_buf_release(&out);
}

/* $OPTREG_GOLDEN wins over the search beside the executable. */
static void test_default_dir_honours_env(void **state)
{
	char *dir;

	(void)state;
	setenv("OPTREG_GOLDEN", "/somewhere/else", 1);
	dir = optreg_selftest_default_dir();
	assert_string_equal(dir, "/somewhere/else");
	free(dir);
	unsetenv("OPTREG_GOLDEN");
	dir = optreg_selftest_default_dir();
	assert_non_null(strstr(dir, "tests/testdata/torch-adam"));
	free(dir);
}

/* ---- clipping ----------------------------------------------------------- */

/* clip_grad_norm_'s clamped coefficient as torch 1.13 computed it:
 * {total norm, max_norm, float32 result, float64 result}. */
static const struct {
	double norm, max_norm;
	float want32;
	double want64;
} clip_cases[] = {
	{2.0, 1.0, 0x1.fffffp-2f, 0x1.ffffef3908ec0p-2},
	{2.0, 0.5, 0x1.fffffp-3f, 0x1.ffffef3908ec0p-3},
	{2.0, 5.0, 1.0f, 1.0},
	/* a norm equal to max_norm is still scaled, by a hair */
	{1.0, 1.0, 0x1.ffffep-1f, 0x1.ffffde7212f19p-1},
	{1.0, 0.5, 0x1.ffffep-2f, 0x1.ffffde7212f19p-2},
	{0.5, 1.0, 1.0f, 1.0},
	{0.5, 0.5, 0x1.ffffbcp-1f, 0x1.ffffbce42a48fp-1},
	{3.7, 1.0, 0x1.14c1b6p-2f, 0x1.14c1b5e8a5985p-2},
	{3.7, 5.0, 1.0f, 1.0},
	{123.456, 1.0, 0x1.096c28p-7f, 0x1.096c28bbf2579p-7},
	{123.456, 5.0, 0x1.4bc732p-5f, 0x1.4bc732eaeeed7p-5},
	/* where 1 / (norm + 1e-6) * max_norm, torch's form, and max_norm /
	 * (norm + 1e-6) round differently */
	{123.456, 3.0, 0x1.8e223cp-6f, 0x1.8e223d19eb836p-6},
	{11.0, 5.0, 0x1.d1745cp-2f, 0x1.d1745a515c602p-2},
	{7.3, 0.1, 0x1.c0e06ep-7f, 0x1.c0e06c307ab8ap-7},
	{7.3, 3.0, 0x1.a4d266p-2f, 0x1.a4d2656d730d1p-2},
};

static void test_clip_coef_matches_torch(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(clip_cases) / sizeof(clip_cases[0]);
	     i++) {
		double c64 = optreg_clip_coef(clip_cases[i].norm,
					      clip_cases[i].max_norm);
		float c32 = optreg_clip_coef_f32((float)clip_cases[i].norm,
						 clip_cases[i].max_norm);

		if (c64 != clip_cases[i].want64 || c32 != clip_cases[i].want32)
			fail_msg("norm %g max %g: got %a / %a, want %a / %a",
				 clip_cases[i].norm, clip_cases[i].max_norm,
				 c64, (double)c32, clip_cases[i].want64,
				 (double)clip_cases[i].want32);
	}
}

static void test_clip_coef_edges(void **state)
{
	(void)state;
	/* A zero gradient is left alone (the coefficient is clamped). */
	assert_true(optreg_clip_coef(0.0, 1.0) == 1.0);
	assert_true(optreg_clip_coef_f32(0.0f, 1.0) == 1.0f);
	/* Far beyond max_norm: the factor is about max_norm / norm. */
	assert_true(fabs(optreg_clip_coef(1e6, 1.0) - 1e-6) < 1e-15);
	assert_true(optreg_clip_coef(INFINITY, 1.0) == 0.0);
	/* A NaN norm stays NaN, as in torch, so it is seen downstream. */
	assert_true(isnan(optreg_clip_coef(NAN, 1.0)));
	assert_true(isnan(optreg_clip_coef_f32(NAN, 1.0)));
	/* The form is 1 / (norm + 1e-6) * max_norm, which is not always
	 * max_norm / (norm + 1e-6): this pair tells them apart. */
	assert_true(optreg_clip_coef(11.0, 5.0) != 5.0 / (11.0 + 1e-6));
}

/* x_i = sin(i + 1) * 10^(i % 5 - 2): magnitudes over four decades. */
static void fill_norm_input(double *x, int n)
{
	for (int i = 0; i < n; i++)
		x[i] = sin((double)(i + 1)) * pow(10.0, (double)(i % 5 - 2));
}

/* torch.norm(x, 2) for that input, computed by torch 1.13; 13 and 37 are
 * not multiples of the 8 float32 lanes, so the tail order is checked. */
static void test_norm_matches_torch(void **state)
{
	static const struct {
		int n;
		float want32;
		double want64;
	} cases[] = {
		{13, 0x1.ba5d5p+6f, 0x1.ba5d50773e8c6p+6},
		{37, 0x1.7fc7p+7f, 0x1.7fc7013c3cc5ep+7},
	};
	double x[64];
	float xf[64];

	(void)state;
	for (size_t c = 0; c < 2; c++) {
		int n = cases[c].n;

		fill_norm_input(x, n);
		for (int i = 0; i < n; i++)
			xf[i] = (float)x[i];
		assert_true(optreg_norm2_f64(x, n) == cases[c].want64);
		assert_true(optreg_norm2_f32(xf, n) == cases[c].want32);
	}
	assert_true(optreg_norm2_f64(x, 0) == 0.0);
	double v[2] = {3.0, 4.0};
	float vf[2] = {3.0f, 4.0f};
	assert_true(optreg_norm2_f64(v, 2) == 5.0);
	assert_true(optreg_norm2_f32(vf, 2) == 5.0f);
}

/* ---- decay placement, by hand -------------------------------------------- */

/*
 * p = 1, grad = 0.5, lr = 0.1, betas (0.9, 0.999), eps = 1e-8, wd = 0.1, one
 * step. Adam adds wd * p to the gradient: g = 0.6, m = 0.1 * 0.6 = 0.06,
 * v = 0.001 * 0.36 = 3.6e-4, bias-corrected m = 0.6 and sqrt(v) = 0.6, so
 * p = 1 - 0.1 * 0.6 / (0.6 + 1e-8). AdamW shrinks p first: p = 1 - 0.1 *
 * 0.1 = 0.99, and the moments see the raw gradient: m = 0.05, v = 2.5e-4,
 * p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8).
 */
static void test_adam_vs_adamw_by_hand(void **state)
{
	struct optreg_adam_hparams h = {0.1, 0.9, 0.999, 1e-8, 0.1, 0, 0, 0};
	struct optreg_adam_scalars s;
	double p[2], m, v;
	float pf, mf, vf;

	(void)state;
	for (int adamw = 0; adamw <= 1; adamw++) {
		double want_p = adamw ? 0.99 - 0.1 * 0.5 / (0.5 + 1e-8)
				      : 1.0 - 0.1 * 0.6 / (0.6 + 1e-8);
		double want_m = adamw ? 0.05 : 0.06;
		double want_v = adamw ? 2.5e-4 : 3.6e-4;

		h.adamw = adamw;
		optreg_adam_scalars_init(&s, &h, 1, h.lr);
		p[adamw] = 1.0, m = 0.0, v = 0.0;
		optreg_adam_update_f64(&s, &h, &p[adamw], 0.5, &m, &v, NULL);
		assert_true(fabs(p[adamw] - want_p) < 1e-15);
		assert_true(fabs(m - want_m) < 1e-16);
		assert_true(fabs(v - want_v) < 1e-18);

		pf = 1.0f, mf = 0.0f, vf = 0.0f;
		optreg_adam_update_f32(&s, &h, &pf, 0.5f, &mf, &vf, NULL);
		assert_true(fabs(pf - want_p) < 3e-7);
		assert_true(fabs(mf - want_m) < 1e-8);
		assert_true(fabs(vf - want_v) < 1e-10);
	}
	/* Adam lands near 0.9, AdamW near 0.89: lr * wd * p apart. */
	assert_true(fabs(p[0] - p[1] - 0.01) < 1e-9);

	/* Without weight decay they are the same step, bit for bit. */
	double pa = 0.3, ma = 0.01, va = 0.02, pw = 0.3, mw = 0.01, vw = 0.02;
	h.weight_decay = 0.0;
	h.adamw = 0;
	optreg_adam_scalars_init(&s, &h, 4, 0.05);
	optreg_adam_update_f64(&s, &h, &pa, -0.7, &ma, &va, NULL);
	h.adamw = 1;
	optreg_adam_scalars_init(&s, &h, 4, 0.05);
	optreg_adam_update_f64(&s, &h, &pw, -0.7, &mw, &vw, NULL);
	assert_memory_equal(&pa, &pw, sizeof(pa));
	assert_memory_equal(&ma, &mw, sizeof(ma));
}

/* maximize ascends; amsgrad normalises by the largest v seen so far. */
static void test_maximize_and_amsgrad(void **state)
{
	struct optreg_adam_hparams h = {0.1, 0.9, 0.999, 1e-8, 0.0, 0, 0, 1};
	struct optreg_adam_scalars s;
	double p = 1.0, m = 0.0, v = 0.0, vmax = 0.0;

	(void)state;
	optreg_adam_scalars_init(&s, &h, 1, h.lr);
	optreg_adam_update_f64(&s, &h, &p, 0.5, &m, &v, NULL);
	assert_true(fabs(p - (1.0 + 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-15);
	assert_true(m < 0.0);

	h.maximize = 0;
	h.amsgrad = 1;
	p = 1.0, m = 0.0, v = 0.0;
	optreg_adam_scalars_init(&s, &h, 1, h.lr);
	optreg_adam_update_f64(&s, &h, &p, 1.0, &m, &v, &vmax);
	double v1 = v;
	assert_true(vmax == v1);
	optreg_adam_scalars_init(&s, &h, 2, h.lr);
	optreg_adam_update_f64(&s, &h, &p, 0.0, &m, &v, &vmax);
	assert_true(v < v1);
	assert_true(vmax == v1);

	/* torch.maximum keeps a NaN, so a diverged moment stays visible. */
	assert_true(isnan(optreg_adam_maximum_f64(NAN, 1.0)));
	assert_true(isnan(optreg_adam_maximum_f64(1.0, NAN)));
	assert_true(isnan(optreg_adam_maximum_f32(NAN, 1.0f)));
	assert_true(optreg_adam_maximum_f32(2.0f, 1.0f) == 2.0f);
}

/* The per-step scalars: bias corrections, step size, the float copies. */
static void test_scalars(void **state)
{
	struct optreg_adam_hparams h = {1e-3, 0.9, 0.999, 1e-8, 0.01, 1, 0, 0};
	struct optreg_adam_scalars s;

	(void)state;
	optreg_adam_scalars_init(&s, &h, 3, 5e-4);
	assert_true(s.lr_t == 5e-4);
	assert_true(s.bc1 == 1.0 - pow(0.9, 3.0));
	assert_true(s.bc2 == 1.0 - pow(0.999, 3.0));
	assert_true(s.step_size == 5e-4 / s.bc1);
	assert_true(s.bc2_sqrt == sqrt(s.bc2));
	assert_true(s.decay == 1.0 - 5e-4 * 0.01);
	assert_true(s.f32_beta1 == 0.9f);
	assert_true(s.f32_one_minus_beta2 == (float)(1.0 - 0.999));
	assert_true(s.f32_neg_step_size == (float)-s.step_size);
	assert_true(s.f32_decay == (float)s.decay);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_passes_on_shipped_traces),
		cmocka_unit_test(test_selftest_passes_on_random_traces),
		cmocka_unit_test(test_every_shipped_trace_is_bit_exact),
		cmocka_unit_test(test_every_random_trace_is_bit_exact),
		cmocka_unit_test(test_cpu_backend_is_bit_exact),
		cmocka_unit_test(test_broken_backend_is_caught),
		cmocka_unit_test(test_selftest_ignores_locale),
		cmocka_unit_test(test_wrong_eps_fails),
		cmocka_unit_test(test_wrong_beta_fails),
		cmocka_unit_test(test_wrong_decay_placement_fails),
		cmocka_unit_test(test_clipped_case_wrong_beta_fails),
		cmocka_unit_test(test_wrong_lr_is_caught),
		cmocka_unit_test(test_selftest_reports_the_first_difference),
		cmocka_unit_test(test_selftest_empty_and_missing_dirs),
		cmocka_unit_test(test_default_dir_honours_env),
		cmocka_unit_test(test_clip_coef_matches_torch),
		cmocka_unit_test(test_clip_coef_edges),
		cmocka_unit_test(test_norm_matches_torch),
		cmocka_unit_test(test_adam_vs_adamw_by_hand),
		cmocka_unit_test(test_maximize_and_amsgrad),
		cmocka_unit_test(test_scalars),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
