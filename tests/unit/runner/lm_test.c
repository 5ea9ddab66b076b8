/*
 * tests/unit/runner/lm_test.c: the `lm` workload (runner/lm.c, runner/wl_lm.c):
 * its tensors, the whole model's gradient against central finite
 * differences, PyTorch reference traces (tests/testdata/torch-lm/), bit-
 * identical reruns, param groups on its names, the test pass and bad specs.
 *
 * The traces hold PyTorch's starting parameters, token batches, per-step
 * losses, first-step gradient and parameters after 4 Adam steps (lr 1e-2);
 * the C model starts from the same parameters through runner/lm.h and must
 * agree within float32 rounding (the tolerances are below).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <math.h>
#include <stdio.h>

#include "common/buf.h"
#include "runner/backend.h"
#include "runner/lm.h"
#include "runner/workloads.h"

#define WL_FIXTURE_NO_FMNIST
#include "wl_fixture.h"

static struct optreg_config adam(double lr)
{
	return wl_config(OPTREG_ADAM, lr, 1e-8, 0);
}

static struct optreg_workload_spec lm_spec(long steps, long batch)
{
	struct optreg_workload_spec s;

	memset(&s, 0, sizeof(s));
	s.name = "lm";
	s.steps = steps;
	s.batch = batch;
	s.seed = 7;
	return s;
}

static void run_ok(const struct optreg_workload_spec *s,
		   const struct optreg_config *c,
		   struct optreg_workload_result *r)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_workload_run(s, c, &be, r, &errs);

	if (rc)
		fail_msg("lm: %s", errs.len ? errs.items[0].message : "?");
	optreg_errors_release(&errs);
}

/* --- tensors and groups --------------------------------------------------- */

static void test_tensor_names(void **state)
{
	static const char *const block[] = {
		"norm1.weight",	 "norm1.bias",	     "attn.qkv.weight",
		"attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
		"norm2.weight",	 "norm2.bias",	     "mlp.fc1.weight",
		"mlp.fc1.bias",	 "mlp.fc2.weight",   "mlp.fc2.bias",
	};
	static const size_t block_numel[] = {32, 32, 3072, 96,	1024, 32,
					     32, 32, 4096, 128, 4096, 32};
	struct optreg_config c = adam(1e-3);
	struct optreg_workload_spec s = lm_spec(1, 2);
	struct optreg_workload_result r;
	char want[64];

	(void)state;
	s.skip_eval = 1;
	for (int variant = 0; variant < 2; variant++) {
		s.lm.post_ln = variant;
		s.lm.untied = variant;
		run_ok(&s, &c, &r);
		assert_int_equal(r.classes, LM_VOCAB);
		assert_int_equal(r.ntensors, 2 + 2 * 12 + (variant ? 1 : 2));
		assert_string_equal(r.tensors[0].name, "tok_emb.weight");
		assert_int_equal(r.tensors[0].numel, 96 * 32);
		assert_string_equal(r.tensors[1].name, "pos_emb.weight");
		assert_int_equal(r.tensors[1].numel, 32 * 32);
		for (int l = 0; l < 2; l++)
			for (int k = 0; k < 12; k++) {
				const struct optreg_workload_tensor *t =
					&r.tensors[2 + l * 12 + k];
				snprintf(want, sizeof(want), "blocks.%d.%s", l,
					 block[k]);
				assert_string_equal(t->name, want);
				assert_int_equal(t->numel, block_numel[k]);
			}
		if (variant) {
			assert_string_equal(r.tensors[26].name, "head.weight");
			assert_int_equal(r.tensors[26].numel, 96 * 32);
		} else {
			assert_string_equal(r.tensors[26].name,
					    "norm_f.weight");
			assert_string_equal(r.tensors[27].name, "norm_f.bias");
		}
		optreg_workload_result_release(&r);
	}
}

static void test_param_groups(void **state)
{
	struct optreg_config c = adam(1e-3);
	struct optreg_param_group g[2];
	struct optreg_workload_spec s = lm_spec(2, 2);
	struct optreg_workload_result r;
	size_t in_norm = 0, in_emb = 0;

	(void)state;
	memset(g, 0, sizeof(g));
	g[0].match = "(bias|norm)";
	g[0].has_weight_decay = 1;
	g[0].weight_decay = 0;
	g[1].match = "emb";
	g[1].has_lr = 1;
	g[1].lr = 1e-4;
	c.groups = g;
	c.ngroups = 2;
	c.weight_decay = 0.1;
	c.optimizer = OPTREG_ADAMW;
	s.skip_eval = 1;
	run_ok(&s, &c, &r);
	for (size_t k = 0; k < r.ntensors; k++) {
		const char *n = r.tensors[k].name;
		size_t len = strlen(n);
		int bias = len > 5 && strcmp(n + len - 5, ".bias") == 0;
		int ln = strncmp(n, "norm_f.", 5) == 0 ||
			 strstr(n, ".norm1.") || strstr(n, ".norm2.");
		int emb = strstr(n, "_emb.") != NULL;
		size_t want = bias || ln ? 1 : emb ? 2 : 0;
		if (r.tensors[k].group != want)
			fail_msg("%s: group %zu, want %zu", n,
				 r.tensors[k].group, want);
		in_norm += want == 1;
		in_emb += want == 2;
		assert_true(r.tensors[k].hparams.weight_decay ==
			    (want == 1 ? 0 : 0.1));
	}
	/* 12 biases and 4 LayerNorm weights in the blocks, norm_f's two */
	assert_int_equal(in_norm, 2 * (6 + 2) + 2);
	assert_int_equal(in_emb, 2);
	optreg_workload_result_release(&r);
}

/* --- the whole model's gradient ------------------------------------------- */

/* A small net with parameters large enough that every gradient is well
 * above float rounding: weights N(0, 0.3^2)-like, LN weights near 1. */
static void fd_net(struct lm_net *n, int post_ln, int untied, float **param,
		   float **grad, size_t seqs)
{
	struct optreg_lm_spec sp = {.layers = 2,
				    .d_model = 8,
				    .heads = 2,
				    .context = 6,
				    .post_ln = post_ln,
				    .untied = untied};
	float *host, *ids;

	assert_int_equal(lm_net_init(n, &be, &sp, seqs, NULL), 0);
	host = calloc(n->nparams, sizeof(float));
	lm_net_init_params(n, 11, host);
	for (size_t k = 0; k < n->ntensors; k++)
		for (size_t i = 0; i < n->numel[k]; i++) {
			size_t e = n->offset[k] + i;
			double z = sin((double)e * 12.9898 + 1.5) * 43758.5453;
			z = 2 * (z - floor(z)) - 1; /* in [-1, 1) */
			int ln_w = strstr(n->names[k], "norm") &&
				   strstr(n->names[k], "weight");
			host[e] = (float)(ln_w ? 1 + 0.3 * z : 0.5 * z);
		}
	assert_int_equal(be.alloc(be.ctx, n->nparams, param), 0);
	assert_int_equal(be.alloc(be.ctx, n->nparams, grad), 0);
	be.upload(be.ctx, *param, host, n->nparams);
	free(host);
	ids = calloc(seqs * 6 * 2, sizeof(float));
	for (size_t i = 0; i < seqs * 6 * 2; i++)
		ids[i] = (float)((i * 37 + 11) % LM_VOCAB);
	be.upload(be.ctx, n->ids, ids, seqs * 6);
	be.upload(be.ctx, n->tgt, ids + seqs * 6, seqs * 6);
	free(ids);
}

static double fd_loss(struct lm_net *n, const float *param, size_t seqs)
{
	double sum;
	size_t correct;

	assert_int_equal(lm_net_loss_grad(n, param, NULL, seqs, &sum, &correct),
			 0);
	return sum / (double)(seqs * 6);
}

/*
 * Per tensor, the 4 elements of largest gradient: central differences
 * with h = 1e-2 in float parameters (the loss sums in double). The error
 * is measured per tensor as ||fd - g|| / ||g|| over those elements.
 */
static void check_model_gradient(int post_ln, int untied)
{
	struct lm_net n;
	float *param, *grad, *hp, *hg;
	const size_t seqs = 3;
	double worst = 0;
	double sum;
	size_t correct;

	fd_net(&n, post_ln, untied, &param, &grad, seqs);
	hp = calloc(n.nparams, sizeof(float));
	hg = calloc(n.nparams, sizeof(float));
	assert_int_equal(
		lm_net_loss_grad(&n, param, grad, seqs, &sum, &correct), 0);
	be.download(be.ctx, hg, grad, n.nparams);
	be.download(be.ctx, hp, param, n.nparams);
	for (size_t k = 0; k < n.ntensors; k++) {
		size_t pick[4] = {0};
		double err2 = 0, g2 = 0;
		int npick = 0;
		for (int j = 0; j < 4; j++) {
			size_t best = SIZE_MAX;
			for (size_t i = 0; i < n.numel[k]; i++) {
				int used = 0;
				for (int q = 0; q < npick; q++)
					used |= pick[q] == i;
				if (!used &&
				    (best == SIZE_MAX ||
				     fabsf(hg[n.offset[k] + i]) >
					     fabsf(hg[n.offset[k] + best])))
					best = i;
			}
			if (best != SIZE_MAX)
				pick[npick++] = best;
		}
		for (int q = 0; q < npick; q++) {
			size_t e = n.offset[k] + pick[q];
			const float h = 1e-2f;
			float keep = hp[e], v;
			v = keep + h;
			be.upload(be.ctx, param + e, &v, 1);
			double lp = fd_loss(&n, param, seqs);
			v = keep - h;
			be.upload(be.ctx, param + e, &v, 1);
			double lm = fd_loss(&n, param, seqs);
			be.upload(be.ctx, param + e, &keep, 1);
			double fd = (lp - lm) / (2.0 * (double)h);
			err2 += (fd - hg[e]) * (fd - hg[e]);
			g2 += (double)hg[e] * hg[e];
		}
		double rel = sqrt(err2 / g2);
		if (!(g2 > 1e-8))
			fail_msg("%s: gradient %g is too small to check",
				 n.names[k], sqrt(g2));
		if (!(rel < 2e-3))
			fail_msg("%s %s: relative error %.3g", n.names[k],
				 post_ln ? "post-LN" : "pre-LN", rel);
		if (rel > worst)
			worst = rel;
	}
	print_message("# %s %s: worst relative error %.2g over %zu tensors\n",
		      post_ln ? "post-LN" : "pre-LN",
		      untied ? "untied" : "tied", worst, n.ntensors);
	free(hp);
	free(hg);
	be.free(be.ctx, param);
	be.free(be.ctx, grad);
	lm_net_release(&n);
}

static void test_model_gradient_pre_ln(void **state)
{
	(void)state;
	check_model_gradient(0, 0);
	check_model_gradient(0, 1);
}

static void test_model_gradient_post_ln(void **state)
{
	(void)state;
	check_model_gradient(1, 1);
	check_model_gradient(1, 0);
}

/* --- PyTorch traces ------------------------------------------------------- */

static const char *testdata_dir(void)
{
	const char *dir = getenv("OPTREG_TESTDATA");

	return dir && dir[0] ? dir : "tests/testdata";
}

static float *json_floats(json_t *arr, size_t want, const char *what)
{
	float *out;

	if (!json_is_array(arr) || json_array_size(arr) != want)
		fail_msg("trace: %s must be an array of %zu numbers", what,
			 want);
	out = calloc(want ? want : 1, sizeof(float));
	for (size_t i = 0; i < want; i++)
		out[i] = (float)json_number_value(json_array_get(arr, i));
	return out;
}

/* Max of |a - b| / (atol + rtol |b|): <= 1 passes. */
static double cmp(const float *a, const float *b, size_t n, double rtol,
		  double atol, double *max_abs)
{
	double worst = 0;

	*max_abs = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		double q = d / (atol + rtol * fabs((double)b[i]));
		if (!(q <= worst))
			worst = q;
		if (d > *max_abs)
			*max_abs = d;
	}
	return worst;
}

static void check_trace(const char *file)
{
	char *path = optreg_xasprintf("%s/torch-lm/%s", testdata_dir(), file);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	struct lm_net n;
	struct optreg_lm_spec sp;
	float *param, *grad, *m, *v;

	if (!root)
		fail_msg("%s: %s (set OPTREG_TESTDATA)", path, jerr.text);
	json_t *shape = json_object_get(root, "shape");
	memset(&sp, 0, sizeof(sp));
	sp.layers = json_integer_value(json_object_get(shape, "layers"));
	sp.d_model = json_integer_value(json_object_get(shape, "d_model"));
	sp.heads = json_integer_value(json_object_get(shape, "heads"));
	sp.context = json_integer_value(json_object_get(shape, "context"));
	sp.post_ln = json_is_true(json_object_get(shape, "post_ln"));
	sp.untied = json_is_true(json_object_get(shape, "untied"));
	size_t B = (size_t)json_integer_value(json_object_get(root, "batch"));
	size_t T = (size_t)sp.context;
	assert_int_equal(lm_net_init(&n, &be, &sp, B, NULL), 0);

	/* The same tensors in the same order as torch's named_parameters. */
	json_t *tensors = json_object_get(root, "tensors");
	assert_int_equal(json_array_size(tensors), n.ntensors);
	for (size_t k = 0; k < n.ntensors; k++) {
		json_t *t = json_array_get(tensors, k);
		assert_string_equal(
			json_string_value(json_object_get(t, "name")),
			n.names[k]);
		assert_int_equal(
			json_integer_value(json_object_get(t, "numel")),
			n.numel[k]);
	}

	float *p0 = json_floats(json_object_get(root, "param0"), n.nparams,
				"param0");
	float *g1 =
		json_floats(json_object_get(root, "grad1"), n.nparams, "grad1");
	float *pf = json_floats(json_object_get(root, "param_final"), n.nparams,
				"param_final");
	float *host = calloc(n.nparams, sizeof(float));
	json_t *inputs = json_object_get(root, "inputs");
	json_t *targets = json_object_get(root, "targets");
	json_t *losses = json_object_get(root, "loss");
	json_t *ad = json_object_get(root, "adam");
	size_t steps = json_array_size(losses);

	assert_true(steps >= 3);
	be.alloc(be.ctx, n.nparams, &param);
	be.alloc(be.ctx, n.nparams, &grad);
	be.alloc(be.ctx, n.nparams, &m);
	be.alloc(be.ctx, n.nparams, &v);
	be.upload(be.ctx, param, p0, n.nparams);
	be.fill(be.ctx, m, 0, n.nparams);
	be.fill(be.ctx, v, 0, n.nparams);

	struct optreg_adam_tensor *at = calloc(n.ntensors, sizeof(*at));
	struct optreg_adam_tensor_stats *stats =
		calloc(n.ntensors, sizeof(*stats));
	for (size_t k = 0; k < n.ntensors; k++) {
		at[k].offset = n.offset[k];
		at[k].n = n.numel[k];
	}
	struct optreg_adam_group grp = {
		.h = {.lr = json_number_value(json_object_get(ad, "lr")),
		      .beta1 = 0.9,
		      .beta2 = 0.999,
		      .eps = json_number_value(json_object_get(ad, "eps"))},
	};
	grp.lr_t = grp.h.lr;

	float *ids = calloc(B * T, sizeof(float)),
	      *tgt = calloc(B * T, sizeof(float));
	double worst_loss = 0, q, mabs;
	for (size_t t = 0; t < steps; t++) {
		for (size_t b = 0; b < B; b++)
			for (size_t j = 0; j < T; j++) {
				ids[b * T + j] = (float)json_integer_value(
					json_array_get(
						json_array_get(
							json_array_get(inputs,
								       t),
							b),
						j));
				tgt[b * T + j] = (float)json_integer_value(
					json_array_get(
						json_array_get(
							json_array_get(targets,
								       t),
							b),
						j));
			}
		be.upload(be.ctx, n.ids, ids, B * T);
		be.upload(be.ctx, n.tgt, tgt, B * T);
		double sum;
		size_t correct;
		assert_int_equal(
			lm_net_loss_grad(&n, param, grad, B, &sum, &correct),
			0);
		double loss = sum / (double)(B * T);
		double want = json_number_value(json_array_get(losses, t));
		double rel = fabs(loss - want) / want;
		if (rel > worst_loss)
			worst_loss = rel;
		if (!(rel < 2e-6))
			fail_msg("%s step %zu: loss %.9g, torch %.9g", file,
				 t + 1, loss, want);
		if (t == 0) {
			be.download(be.ctx, host, grad, n.nparams);
			q = cmp(host, g1, n.nparams, 1e-4, 1e-6, &mabs);
			print_message("# %s: step-1 gradient max |diff| %.2g "
				      "(tolerance ratio %.2g)\n",
				      file, mabs, q);
			if (!(q <= 1))
				fail_msg("%s: step-1 gradient differs from "
					 "torch's (max |diff| %.3g)",
					 file, mabs);
		}
		struct optreg_adam_step st = {.param = param,
					      .grad = grad,
					      .m = m,
					      .v = v,
					      .tensors = at,
					      .ntensors = n.ntensors,
					      .groups = &grp,
					      .ngroups = 1,
					      .step = (long)t + 1};
		struct optreg_adam_step_out out = {.tensors = stats};
		assert_int_equal(be.adam_step(be.ctx, &st, &out), 0);
	}
	be.download(be.ctx, host, param, n.nparams);
	/*
	 * Two kinds of element hold rounding noise on both sides, which Adam
	 * turns into steps of +-lr in arbitrary directions: the key part of
	 * every attn.qkv.bias, whose gradient is exactly 0 in exact
	 * arithmetic (a constant added to every score of a softmax row
	 * changes nothing), and the few others whose step-1 gradient is
	 * nonzero but at float32 rounding level (|g| < 1e-6, against
	 * gradients of up to ~0.3). They are checked to have stayed within
	 * steps * lr of the start, then set to torch's values; every other
	 * element must match (exact zeros too: the embedding rows of tokens
	 * the batches never use stay where they are on both sides).
	 */
	size_t nkey = 0, nnoise = 0;
	for (size_t k = 0; k < n.ntensors; k++) {
		int qkv_b = strstr(n.names[k], "attn.qkv.bias") != NULL;
		for (size_t i = 0; i < n.numel[k]; i++) {
			size_t e = n.offset[k] + i;
			int key = qkv_b && i >= (size_t)sp.d_model &&
				  i < 2 * (size_t)sp.d_model;
			if (key && g1[e] != 0)
				assert_true(fabsf(g1[e]) < 1e-7f);
			if (!key && (g1[e] == 0 || !(fabsf(g1[e]) < 1e-6f)))
				continue;
			assert_true(fabsf(host[e] - p0[e]) <=
				    (float)(steps * grp.h.lr * 1.01));
			host[e] = pf[e];
			nkey += key;
			nnoise++;
		}
	}
	assert_int_equal(nkey, (size_t)(sp.layers * sp.d_model));
	assert_true(nnoise < nkey + 8);
	print_message("# %s: %zu elements with a rounding-level gradient "
		      "(%zu of them key biases)\n",
		      file, nnoise, nkey);
	q = cmp(host, pf, n.nparams, 1e-5, 1e-5, &mabs);
	print_message("# %s: %zu steps, loss max rel diff %.2g, final "
		      "parameters max |diff| %.2g (tolerance ratio %.2g)\n",
		      file, steps, worst_loss, mabs, q);
	for (size_t k = 0; k < n.ntensors && q > 1; k++)
		for (size_t i = 0; i < n.numel[k]; i++) {
			size_t e = n.offset[k] + i;
			double d = fabs((double)host[e] - (double)pf[e]);
			if (d > 1e-5 + 1e-5 * fabs((double)pf[e]))
				print_message("# %s[%zu]: %.9g vs torch %.9g, "
					      "step-1 gradient %.3g\n",
					      n.names[k], i, host[e], pf[e],
					      g1[e]);
		}
	if (!(q <= 1))
		fail_msg("%s: final parameters differ from torch's (max "
			 "|diff| %.3g)",
			 file, mabs);

	free(ids);
	free(tgt);
	free(at);
	free(stats);
	free(host);
	free(p0);
	free(g1);
	free(pf);
	be.free(be.ctx, param);
	be.free(be.ctx, grad);
	be.free(be.ctx, m);
	be.free(be.ctx, v);
	lm_net_release(&n);
	json_decref(root);
	free(path);
}

static void test_torch_pre_ln_tied(void **state)
{
	(void)state;
	check_trace("pre-ln-tied.json");
}

static void test_torch_post_ln_untied(void **state)
{
	(void)state;
	check_trace("post-ln-untied.json");
}

/* --- runs ----------------------------------------------------------------- */

/* Two runs of each variant are bit-identical; the loss falls from about
 * ln 96 and the test pass scores 64 windows. */
static void test_deterministic_and_learns(void **state)
{
	struct optreg_config c = adam(3e-3);
	struct optreg_workload_spec s = lm_spec(300, 8);
	struct optreg_workload_result a, b;

	(void)state;
	for (int variant = 0; variant < 2; variant++) {
		s.lm.post_ln = variant;
		s.lm.untied = variant;
		run_ok(&s, &c, &a);
		run_ok(&s, &c, &b);
		assert_int_equal(a.steps_run, 300);
		assert_memory_equal(a.loss, b.loss, 300 * sizeof(double));
		assert_memory_equal(a.grad_norm, b.grad_norm,
				    300 * sizeof(double));
		assert_memory_equal(a.update_norm, b.update_norm,
				    300 * a.ntensors * sizeof(double));
		assert_true(a.test_loss == b.test_loss);
		assert_true(a.test_accuracy == b.test_accuracy);
		/* starts near chance */
		assert_true(fabs(a.loss[0] - log(96.0)) < 0.1);
		double tail = 0;
		for (int t = 280; t < 300; t++)
			tail += a.loss[t] / 20;
		assert_true(a.has_test);
		assert_int_equal(a.test_rows, 64);
		print_message("# %s: loss %.3f -> %.3f, test loss %.3f, test "
			      "accuracy %.3f, %.3f ms/step\n",
			      variant ? "post-LN untied" : "pre-LN tied",
			      a.loss[0], tail, a.test_loss, a.test_accuracy,
			      a.seconds * 1e3 / 300);
		assert_true(tail < a.loss[0] - 1.0);
		assert_true(a.test_loss < a.loss[0] - 1.0);
		assert_true(a.test_accuracy > 0.15 && a.test_accuracy <= 1);
		optreg_workload_result_release(&a);
		optreg_workload_result_release(&b);
	}

	/* another seed, other batches and weights */
	s.seed = 8;
	s.steps = 3;
	s.lm.post_ln = 0;
	s.lm.untied = 0;
	run_ok(&s, &c, &a);
	s.seed = 7;
	run_ok(&s, &c, &b);
	assert_true(a.loss[0] != b.loss[0]);
	optreg_workload_result_release(&a);
	optreg_workload_result_release(&b);
}

static void test_eval_rows(void **state)
{
	struct optreg_config c = adam(1e-3);
	struct optreg_workload_spec s = lm_spec(1, 4);
	struct optreg_workload_result r;

	(void)state;
	s.eval_rows = 5; /* not a multiple of the batch */
	run_ok(&s, &c, &r);
	assert_int_equal(r.test_rows, 5);
	assert_true(fabs(r.test_loss - log(96.0)) < 0.1);
	optreg_workload_result_release(&r);
	s.eval_rows = 100000; /* capped at what the test text holds */
	run_ok(&s, &c, &r);
	assert_true(r.test_rows > 64 && r.test_rows < 200);
	optreg_workload_result_release(&r);
}

static void expect_error(struct optreg_workload_spec *s, int code,
			 const char *path)
{
	struct optreg_config c = adam(1e-3);
	struct optreg_workload_result r;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	assert_int_equal(optreg_workload_run(s, &c, &be, &r, &errs), code);
	assert_true(errs.len >= 1);
	assert_string_equal(errs.items[0].path, path);
	optreg_workload_result_release(&r);
	optreg_errors_release(&errs);
}

static void test_bad_spec(void **state)
{
	struct optreg_workload_spec s = lm_spec(1, 2);

	(void)state;
	s.lm.heads = 3; /* 32 % 3 != 0 */
	expect_error(&s, OPTREG_EINVAL, "lm.heads");
	s.lm.heads = 0;
	s.lm.layers = -1;
	expect_error(&s, OPTREG_EINVAL, "lm.layers");
	s.lm.layers = 0;
	s.lm.corpus = "/nonexistent/corpus.txt";
	expect_error(&s, OPTREG_EIO, "lm.corpus");
	{
		char short_corpus[] = "/tmp/optreg-lm-short.XXXXXX";
		int fd = mkstemp(short_corpus);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "too short\n", 10), 10);
		close(fd);
		s.lm.corpus = short_corpus; /* far too short */
		expect_error(&s, OPTREG_EINVAL, "lm.corpus");
		unlink(short_corpus);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tensor_names),
		cmocka_unit_test(test_param_groups),
		cmocka_unit_test(test_model_gradient_pre_ln),
		cmocka_unit_test(test_model_gradient_post_ln),
		cmocka_unit_test(test_torch_pre_ln_tied),
		cmocka_unit_test(test_torch_post_ln_untied),
		cmocka_unit_test(test_deterministic_and_learns),
		cmocka_unit_test(test_eval_rows),
		cmocka_unit_test(test_bad_spec),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
