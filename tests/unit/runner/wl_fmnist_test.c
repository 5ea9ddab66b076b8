/*
 * tests/unit/runner/wl_fmnist_test.c: the Fashion-MNIST workloads'
 * variants (runner/wl_fmnist.c): hidden widths, label noise, sparse
 * inputs; and the driver's gradient spikes and precision emulation
 * (runner/workloads.c) on them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "runner/backend.h"
#include "runner/idx.h"
#include "runner/philox.h"
#include "runner/workloads.h"
#include "runner/workloads_int.h"

#include "wl_fixture.h"

/* Adam with PyTorch's defaults but the learning rate and eps. */
static struct optreg_config adam(double lr, double eps)
{
	return wl_config(OPTREG_ADAM, lr, eps, 0);
}

static struct optreg_workload_spec spec(const char *name, long steps)
{
	struct optreg_workload_spec s;

	memset(&s, 0, sizeof(s));
	s.name = name;
	s.steps = steps;
	s.seed = 77;
	s.fmnist = &fm;
	s.skip_eval = 1;
	return s;
}

static void run_ok(const struct optreg_workload_spec *s,
		   const struct optreg_config *c,
		   struct optreg_workload_result *r)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_workload_run(s, c, &be, r, &errs);

	if (rc)
		fail_msg("%s: %s", s->name,
			 errs.len ? errs.items[0].message : "?");
	optreg_errors_release(&errs);
}

/* Runs a spec that must be refused; checks the error's path and that its
 * message contains `needle`. */
static void run_refused(const struct optreg_workload_spec *s, const char *path,
			const char *needle)
{
	struct optreg_config c = adam(1e-3, 1e-8);
	struct optreg_workload_result r;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	assert_int_equal(optreg_workload_run(s, &c, &be, &r, &errs),
			 OPTREG_EINVAL);
	assert_true(errs.len >= 1);
	assert_string_equal(errs.items[0].path, path);
	if (!strstr(errs.items[0].message, needle))
		fail_msg("message \"%s\" lacks \"%s\"", errs.items[0].message,
			 needle);
	optreg_errors_release(&errs);
	optreg_workload_result_release(&r);
}

static double mean(const double *x, long from, long to)
{
	double s = 0;

	for (long i = from; i < to; i++)
		s += x[i];
	return s / (double)(to - from);
}

/* --- hidden widths ------------------------------------------------------ */

static void test_hidden_widths(void **state)
{
	struct optreg_config c = adam(1e-3, 1e-8);
	struct optreg_workload_result r, d;
	static const long h2[] = {256, 128}, h4[] = {64, 32, 16, 8};
	static const long deepobs[] = {1000, 500, 100};
	static const char *names[] = {"fc1.weight", "fc1.bias",	  "fc2.weight",
				      "fc2.bias",   "fc3.weight", "fc3.bias"};
	const size_t numel[] = {256 * 784, 256, 128 * 256, 128, 10 * 128, 10};

	(void)state;
	struct optreg_workload_spec s = spec("fmnist_mlp", 2);
	s.hidden = h2;
	s.nhidden = 2;
	run_ok(&s, &c, &r);
	assert_int_equal(r.ntensors, 6);
	assert_int_equal(r.classes, 10);
	size_t total = 0;
	for (size_t k = 0; k < 6; k++) {
		assert_string_equal(r.tensors[k].name, names[k]);
		assert_int_equal(r.tensors[k].numel, numel[k]);
		total += numel[k];
	}
	assert_int_equal(r.nparams, total);
	assert_true(r.loss[1] < r.loss[0] + 1.0);
	optreg_workload_result_release(&r);

	s.hidden = h4;
	s.nhidden = 4;
	run_ok(&s, &c, &r);
	assert_int_equal(r.ntensors, 10);
	assert_string_equal(r.tensors[8].name, "fc5.weight");
	assert_int_equal(r.tensors[8].numel, 80);
	assert_string_equal(r.tensors[9].name, "fc5.bias");
	assert_int_equal(r.tensors[6].numel, 8 * 16);
	optreg_workload_result_release(&r);

	/* DeepOBS's widths spelled out are the default, bit for bit. */
	s = spec("fmnist_mlp", 3);
	run_ok(&s, &c, &d);
	s.hidden = deepobs;
	s.nhidden = 3;
	run_ok(&s, &c, &r);
	assert_int_equal(r.nparams, 1336610);
	assert_memory_equal(r.loss, d.loss, 3 * sizeof(double));
	assert_memory_equal(r.grad_norm, d.grad_norm, 3 * sizeof(double));
	assert_memory_equal(r.update_norm, d.update_norm,
			    3 * 8 * sizeof(double));
	optreg_workload_result_release(&r);
	optreg_workload_result_release(&d);

	/* Refused: too many layers, a zero width, widths on logreg. */
	static const long five[] = {8, 8, 8, 8, 8}, zero[] = {64, 0};
	s = spec("fmnist_mlp", 1);
	s.hidden = five;
	s.nhidden = 5;
	run_refused(&s, "hidden", "(got 5)");
	s.hidden = zero;
	s.nhidden = 2;
	run_refused(&s, "hidden[1]",
		    "hidden[1] must be a layer width from 1 "
		    "to 4096 (got 0)");
	s.name = "fmnist_logreg";
	s.hidden = h2;
	run_refused(&s, "hidden", "fmnist_mlp only");
}

/* --- label noise -------------------------------------------------------- */

static void test_label_noise_draw(void **state)
{
	const struct optreg_idx *lab = &fm.train_labels;
	size_t n = lab->count;
	uint8_t *a = malloc(n), *b = malloc(n);

	(void)state;
	assert_int_equal(n, 60000);
	for (uint64_t seed = 1; seed <= 2; seed++) {
		size_t changed = 0, same_again = 0;
		for (size_t i = 0; i < n; i++) {
			int y = wl_fmnist_noisy_label(seed, 0.3, i,
						      lab->data[i]);
			assert_true(y >= 0 && y < 10);
			(seed == 1 ? a : b)[i] = (uint8_t)y;
			changed += y != lab->data[i];
			same_again += y == wl_fmnist_noisy_label(seed, 0.3, i,
								 lab->data[i]);
		}
		/* 30% are redrawn, a tenth of those to their own class:
		 * 27% change (binomial sd 0.18%). */
		double frac = (double)changed / (double)n;
		print_message("seed %d: %.4f of the labels changed\n",
			      (int)seed, frac);
		assert_true(frac > 0.26 && frac < 0.28);
		assert_int_equal(same_again, n);
	}
	/* Another seed picks other images. */
	size_t differ = 0;
	for (size_t i = 0; i < n; i++)
		differ += a[i] != b[i];
	assert_true(differ > n / 5);

	/* label_noise 1: every label redrawn, uniformly over the classes;
	 * 0: none. */
	size_t hist[10] = {0}, kept = 0;
	for (size_t i = 0; i < n; i++) {
		hist[wl_fmnist_noisy_label(3, 1.0, i, lab->data[i])]++;
		kept += wl_fmnist_noisy_label(3, 0.0, i, lab->data[i]) ==
			lab->data[i];
	}
	assert_int_equal(kept, n);
	for (int k = 0; k < 10; k++)
		assert_true(hist[k] > 5700 && hist[k] < 6300);
	free(a);
	free(b);
}

/* Noise reaches the training batches, never the test set. */
static void test_label_noise_run(void **state)
{
	struct optreg_config frozen = adam(0.0, 1e-8);
	struct optreg_config c = adam(1e-3, 1e-8);
	struct optreg_workload_spec s = spec("fmnist_logreg", 1);
	struct optreg_workload_result clean, noisy;

	(void)state;
	/* lr 0: the parameters stay at their init, so the test pass must
	 * be the same when the test labels are untouched. */
	s.skip_eval = 0;
	s.eval_rows = 2000;
	run_ok(&s, &frozen, &clean);
	s.label_noise = 1.0;
	run_ok(&s, &frozen, &noisy);
	assert_true(clean.loss[0] != noisy.loss[0]);
	assert_true(clean.test_loss == noisy.test_loss);
	assert_true(clean.test_accuracy == noisy.test_accuracy);
	optreg_workload_result_release(&clean);
	optreg_workload_result_release(&noisy);

	/* Training on 30% noise leaves a higher loss floor. */
	s = spec("fmnist_logreg", 150);
	run_ok(&s, &c, &clean);
	s.label_noise = 0.3;
	run_ok(&s, &c, &noisy);
	double lc = mean(clean.loss, 120, 150), ln = mean(noisy.loss, 120, 150);
	print_message("logreg after 150 steps: clean %.3f, 30%% noise %.3f\n",
		      lc, ln);
	assert_true(ln > lc + 0.4);
	optreg_workload_result_release(&clean);
	optreg_workload_result_release(&noisy);
}

/* --- sparse inputs ------------------------------------------------------ */

static void test_sparse_mask(void **state)
{
	enum {
		ROWS = 128,
		PX = OPTREG_FMNIST_PIXELS
	};
	float *x = malloc(sizeof(float) * ROWS * PX);
	float *y = malloc(sizeof(float) * PX);
	const double keeps[] = {0.1, 0.5};

	(void)state;
	for (int k = 0; k < 2; k++) {
		double keep = keeps[k];
		float scale = (float)(1.0 / keep);
		size_t kept = 0;
		for (size_t i = 0; i < (size_t)ROWS * PX; i++)
			x[i] = 1.0f;
		for (size_t r = 0; r < ROWS; r++)
			wl_fmnist_sparsify(5, keep, 3, ROWS, r, x + r * PX, PX);
		for (size_t i = 0; i < (size_t)ROWS * PX; i++) {
			assert_true(x[i] == 0.0f || x[i] == scale);
			kept += x[i] != 0.0f;
		}
		double frac = (double)kept / (double)(ROWS * PX);
		print_message("keep %.1f: kept %.4f of %d pixels\n", keep, frac,
			      ROWS * PX);
		assert_float_equal(frac, keep, 0.005);
	}

	/* A real image: kept pixels are scaled exactly, the rest zero, and
	 * the mask is the same for the same (step, row) and differs for
	 * another step. Index ((t-1) * batch + row) * 196 + p / 4: row
	 * `batch` of step 1 is row 0 of step 2. */
	const uint8_t *img = fm.train_images.data;
	float *z = malloc(sizeof(float) * PX);
	for (size_t p = 0; p < PX; p++)
		x[p] = y[p] = z[p] = (float)img[p] / 255.0f;
	wl_fmnist_sparsify(9, 0.25, 1, 64, 64, x, PX);
	wl_fmnist_sparsify(9, 0.25, 2, 64, 0, y, PX);
	wl_fmnist_sparsify(9, 0.25, 3, 64, 0, z, PX);
	assert_memory_equal(x, y, sizeof(float) * PX);
	assert_true(memcmp(x, z, sizeof(float) * PX) != 0);
	for (size_t p = 0; p < PX; p++)
		assert_true(x[p] == 0.0f ||
			    x[p] == (float)img[p] / 255.0f * 4.0f);
	/* The documented draw, one pixel at a time. */
	for (size_t p = 0; p < PX; p++)
		x[p] = (float)img[p] / 255.0f;
	wl_fmnist_sparsify(9, 0.3, 2, 64, 5, x, PX);
	for (size_t p = 0; p < PX; p++) {
		uint32_t r[4];
		optreg_philox_draw(9, OPTREG_STREAM_SPARSE,
				   ((2 - 1) * 64 + 5) * 196 + p / 4, r);
		int kept = r[p % 4] < (uint32_t)(0.3 * 4294967296.0);
		float want =
			kept ? (float)img[p] / 255.0f * (float)(1 / 0.3) : 0.0f;
		assert_true(x[p] == want);
	}
	/* keep 1 changes nothing. */
	for (size_t p = 0; p < PX; p++)
		y[p] = (float)img[p] / 255.0f;
	memcpy(z, y, sizeof(float) * PX);
	wl_fmnist_sparsify(9, 1.0, 7, 64, 3, y, PX);
	assert_memory_equal(y, z, sizeof(float) * PX);
	free(x);
	free(y);
	free(z);
}

/* Sparse inputs reach the training batches, not the test set. */
static void test_sparse_run(void **state)
{
	struct optreg_config frozen = adam(0.0, 1e-8);
	struct optreg_config c = adam(1e-3, 1e-8);
	struct optreg_workload_spec s = spec("fmnist_logreg", 1);
	struct optreg_workload_result plain, sparse, again;

	(void)state;
	s.skip_eval = 0;
	s.eval_rows = 2000;
	run_ok(&s, &frozen, &plain);
	s.sparse_keep = 0.1;
	run_ok(&s, &frozen, &sparse);
	assert_true(plain.loss[0] != sparse.loss[0]);
	assert_true(plain.test_loss == sparse.test_loss);
	assert_true(plain.test_accuracy == sparse.test_accuracy);
	optreg_workload_result_release(&plain);
	optreg_workload_result_release(&sparse);

	/* Deterministic, and still learnable. */
	s = spec("fmnist_logreg", 100);
	s.sparse_keep = 0.1;
	run_ok(&s, &c, &sparse);
	run_ok(&s, &c, &again);
	assert_memory_equal(sparse.loss, again.loss, 100 * sizeof(double));
	assert_true(mean(sparse.loss, 80, 100) < 0.8 * sparse.loss[0]);
	optreg_workload_result_release(&sparse);
	optreg_workload_result_release(&again);
}

/* --- gradient spikes ---------------------------------------------------- */

static void test_grad_spike(void **state)
{
	static const long h[] = {128}, at[] = {4}, bad_order[] = {5, 3};
	const double factors[] = {1000, 1024};
	const char *problems[] = {"fmnist_mlp", "quadratic_deep"};

	(void)state;
	for (int p = 0; p < 2; p++)
		for (int f = 0; f < 2; f++) {
			struct optreg_config c = adam(1e-3, 1e-8);
			struct optreg_workload_spec s = spec(problems[p], 6);
			struct optreg_workload_result a, b;
			if (p == 0) {
				s.hidden = h;
				s.nhidden = 1;
			}
			s.skip_sharpness = 1;
			run_ok(&s, &c, &a);
			s.spike_steps = at;
			s.nspike = 1;
			s.spike_factor = factors[f];
			run_ok(&s, &c, &b);
			/* Same up to the spike; the loss of step 4 is
			 * before its update. */
			assert_memory_equal(a.grad_norm, b.grad_norm,
					    3 * sizeof(double));
			assert_memory_equal(a.loss, b.loss, 4 * sizeof(double));
			double ratio = b.grad_norm[3] / a.grad_norm[3];
			if (factors[f] == 1024) /* a power of 2: exact */
				assert_true(ratio == 1024.0);
			else
				assert_float_equal(ratio, 1000.0, 1e-3);
			/* The spike moved the parameters off a's path. */
			assert_true(a.loss[4] != b.loss[4]);
			optreg_workload_result_release(&a);
			optreg_workload_result_release(&b);
		}

	/* Clipping sees the spiked gradient (spike before clipping). */
	struct optreg_config c = adam(1e-3, 1e-8);
	struct optreg_workload_spec s = spec("quadratic_deep", 5);
	struct optreg_workload_result r;
	c.has_grad_clip = 1;
	c.grad_clip_norm = 1.0;
	s.skip_sharpness = 1;
	s.spike_steps = at;
	s.nspike = 1;
	s.spike_factor = 1000;
	run_ok(&s, &c, &r);
	assert_float_equal(r.clip_coef[3], 1.0 / r.grad_norm[3],
			   1e-5 / r.grad_norm[3]);
	assert_true(r.grad_norm[3] > 100 * r.grad_norm[2]);
	optreg_workload_result_release(&r);

	/* Rounding sees the spiked gradient (spike before rounding): x 2^20
	 * takes the quadratic's gradient past float16's 65504, so the step
	 * meets an infinite gradient; rounding first would keep it finite. */
	c.has_grad_clip = 0;
	s.precision = OPTREG_PRECISION_FP16;
	s.spike_factor = 1048576;
	run_ok(&s, &c, &r);
	assert_int_equal(r.nonfinite_step, 4);
	assert_int_equal(r.nonfinite_what, OPTREG_NONFINITE_GRAD_NORM);
	optreg_workload_result_release(&r);
	s.precision = OPTREG_PRECISION_FP32;

	/* Refused: steps out of order, no steps, a bad factor. */
	s.spike_steps = bad_order;
	s.nspike = 2;
	run_refused(&s, "spike_steps[1]", "(got 3)");
	s.spike_steps = NULL;
	run_refused(&s, "spike_steps", "missing");
	s.spike_steps = at;
	s.nspike = 1;
	s.spike_factor = 0;
	run_refused(&s, "spike_factor", "(got 0)");
	s.spike_factor = NAN;
	run_refused(&s, "spike_factor", "finite");
	s.spike_factor = 1e39; /* inf as a float */
	run_refused(&s, "spike_factor", "(got 1e+39)");
	s.spike_factor = 1e-50; /* 0 as a float */
	run_refused(&s, "spike_factor", "(got 1e-50)");
}

/* --- precision ---------------------------------------------------------- */

/*
 * fmnist_mlp with float16 gradients and state. Most of its gradient
 * elements are under 5e-3, so (1 - beta2) g^2 is under float16's smallest
 * subnormal and the stored v is 0: each step divides m_hat by that step's
 * own sqrt(v) increment plus eps. With eps 1e-8 the updates of elements
 * whose gradient is momentarily ~0 but whose m is not (and m cannot decay
 * under a few subnormal units) are m_hat / 1e-8: the run breaks. eps 1e-4
 * bounds them and the run trains. (What the 1000-step runs show is in
 * docs/runner.md, "Workload variants".)
 */
static void test_fp16_eps_run(void **state)
{
	static const long h[] = {256, 128};
	struct optreg_workload_result r32, r8, r4;
	const long T = 300;

	(void)state;
	struct optreg_config c8 = adam(1e-3, 1e-8), c4 = adam(1e-3, 1e-4);
	struct optreg_workload_spec s = spec("fmnist_mlp", T);
	s.hidden = h;
	s.nhidden = 2;
	run_ok(&s, &c8, &r32);
	s.precision = OPTREG_PRECISION_FP16;
	run_ok(&s, &c8, &r8);
	run_ok(&s, &c4, &r4);

	/* Step 1 sees the same parameters; its gradient is rounded. */
	assert_true(r32.loss[0] == r8.loss[0]);
	assert_true(r32.grad_norm[0] != r8.grad_norm[0]);
	assert_float_equal(r8.grad_norm[0], r32.grad_norm[0],
			   1e-3 * r32.grad_norm[0]);

	double l32 = mean(r32.loss, T - 50, T);
	double l4 = mean(r4.loss, T - 50, T);
	double max8 = 0;
	for (long i = 0; i < r8.steps_run; i++)
		if (!(r8.loss[i] <= max8))
			max8 = r8.loss[i];
	double l8 = r8.nonfinite_step ? INFINITY
				      : mean(r8.loss, T - 50, r8.steps_run);
	print_message("fp32 eps 1e-8: %.3f; fp16 eps 1e-4: %.3f; fp16 eps "
		      "1e-8: final %.3g, max %.3g, %s at step %ld; "
		      "eps-dominated %.2f vs %.2f\n",
		      l32, l4, l8, max8,
		      r8.nonfinite_step ? "non-finite" : "finite",
		      r8.nonfinite_step, r8.small_denom_frac[0],
		      r32.small_denom_frac[0]);
	/* The stored v underflows: most elements are eps-dominated. */
	assert_true(r8.small_denom_frac[0] > 0.5);
	assert_true(r32.small_denom_frac[0] < 0.1);
	/* eps 1e-4 trains close to float32 */
	assert_true(l4 < 0.6 && l4 < l32 + 0.15);
	/* eps 1e-8 breaks: a loss explosion or a non-finite value */
	assert_true(r8.nonfinite_step > 0 || max8 > 10 * r8.loss[0]);
	optreg_workload_result_release(&r32);
	optreg_workload_result_release(&r8);
	optreg_workload_result_release(&r4);
}

static void test_variant_validation(void **state)
{
	struct optreg_workload_spec s = spec("fmnist_mlp", 1);

	(void)state;
	s.label_noise = 1.5;
	run_refused(&s, "label_noise", "from 0 to 1 (got 1.5)");
	s.label_noise = NAN;
	run_refused(&s, "label_noise", "(got nan)");
	s.label_noise = 0;
	s.sparse_keep = -0.1;
	run_refused(&s, "sparse_keep", "(got -0.1)");
	s.sparse_keep = 1.01;
	run_refused(&s, "sparse_keep", "(0, 1]");
	s.sparse_keep = 0;
	s.precision = (enum optreg_precision)7;
	run_refused(&s, "precision", "fp32, fp16 or bf16");
	s = spec("quadratic_deep", 1);
	s.label_noise = 0.1;
	run_refused(&s, "label_noise", "fmnist_logreg and fmnist_mlp only");
	s.label_noise = 0;
	s.sparse_keep = 0.5;
	run_refused(&s, "sparse_keep", "fmnist_logreg and fmnist_mlp only");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hidden_widths),
		cmocka_unit_test(test_label_noise_draw),
		cmocka_unit_test(test_label_noise_run),
		cmocka_unit_test(test_sparse_mask),
		cmocka_unit_test(test_sparse_run),
		cmocka_unit_test(test_grad_spike),
		cmocka_unit_test(test_fp16_eps_run),
		cmocka_unit_test(test_variant_validation),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
