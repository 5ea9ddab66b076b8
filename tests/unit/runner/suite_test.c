/*
 * tests/unit/runner/suite_test.c: the pieces of a suite run that need no
 * training (runner/suite.c): which param_groups pattern got which
 * tensors, the precision a `precision: declared` workload runs in, the
 * lm corpus check, and which baseline grid point judges a config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "runner/suite_int.h"

static void test_param_groups_report(void **state)
{
	struct optreg_param_group groups[2] = {
		{.match = "(bias|norm)"},
		{.match = "nothing-matches"},
	};
	struct optreg_config cfg = {.groups = groups, .ngroups = 2};
	struct optreg_workload_tensor t[4] = {
		{.name = "fc1.weight", .group = 0},
		{.name = "fc1.bias", .group = 1},
		{.name = "ln.norm", .group = 1},
		{.name = "fc2.weight", .group = 0},
	};
	struct optreg_workload_result res = {.tensors = t, .ntensors = 4};
	json_t *r, *g;

	(void)state;
	r = optreg_suite_param_groups(&cfg, &res);
	assert_int_equal(json_array_size(r), 3);
	g = json_array_get(r, 0);
	assert_int_equal(json_integer_value(json_object_get(g, "group")), 0);
	assert_true(json_is_null(json_object_get(g, "match")));
	assert_int_equal(json_array_size(json_object_get(g, "tensors")), 2);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(g, "tensors"), 1)),
			    "fc2.weight");
	g = json_array_get(r, 1);
	assert_string_equal(json_string_value(json_object_get(g, "match")),
			    "(bias|norm)");
	assert_int_equal(json_array_size(json_object_get(g, "tensors")), 2);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(g, "tensors"), 0)),
			    "fc1.bias");
	/* A pattern that matched nothing is reported, with no tensors. */
	g = json_array_get(r, 2);
	assert_string_equal(json_string_value(json_object_get(g, "match")),
			    "nothing-matches");
	assert_int_equal(json_array_size(json_object_get(g, "tensors")), 0);
	json_decref(r);
}

static int declared(const char *value, enum optreg_precision *p)
{
	struct optreg_label l = {.key = "precision", .value = (char *)value};
	struct optreg_label other = {.key = "team", .value = "fp16"};
	struct optreg_label both[2] = {other, l};
	struct optreg_config cfg = {.labels = both, .nlabels = value ? 2 : 1};
	const char *label;

	return optreg_suite_declared_precision(&cfg, p, &label);
}

static void test_declared_precision(void **state)
{
	static const char *const fp16[] = {"fp16", "float16", "HALF",
					   "torch.float16", "Fp16"};
	static const char *const bf16[] = {"bf16", "bfloat16",
					   "torch.BFloat16"};
	enum optreg_precision p;

	(void)state;
	for (size_t i = 0; i < sizeof(fp16) / sizeof(fp16[0]); i++) {
		p = OPTREG_PRECISION_FP32;
		assert_int_equal(declared(fp16[i], &p), 0);
		assert_int_equal(p, OPTREG_PRECISION_FP16);
	}
	for (size_t i = 0; i < sizeof(bf16) / sizeof(bf16[0]); i++) {
		p = OPTREG_PRECISION_FP32;
		assert_int_equal(declared(bf16[i], &p), 0);
		assert_int_equal(p, OPTREG_PRECISION_BF16);
	}
	/* Neither: the workload is skipped. Another label's value does not
	 * count. */
	assert_int_equal(declared("fp32", &p), -1);
	assert_int_equal(declared("fp8", &p), -1);
	assert_int_equal(declared(NULL, &p), -1);
}

static void test_corpus_check(void **state)
{
	char path[] = "/tmp/optreg-corpus.XXXXXX";
	int fd = mkstemp(path);
	struct suite_workload sw;
	char *why = NULL;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	memset(&sw, 0, sizeof(sw));
	sw.lm.corpus = path;
	/* No digest in the suite: nothing to check. */
	assert_int_equal(optreg_suite_corpus_check(&sw, &why), 0);
	/* sha256("abc") */
	sw.lm_corpus_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a"
			      "9cb410ff61f20015ad";
	assert_int_equal(optreg_suite_corpus_check(&sw, &why), 0);
	assert_null(why);
	sw.lm_corpus_sha256 = "0000000000000000000000000000000000000000000000"
			      "000000000000000000";
	assert_int_equal(optreg_suite_corpus_check(&sw, &why), -1);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, "ba7816bf8f01cfea"));
	assert_non_null(strstr(why, "0000000000000000"));
	free(why);
	unlink(path);
	assert_int_equal(optreg_suite_corpus_check(&sw, &why), -1);
	assert_non_null(strstr(why, "cannot be read"));
	assert_non_null(strstr(why, path));
	free(why);
}

/* The baseline grid point for a config's lr: the largest grid lr <= it,
 * or the smallest when it is below them all. */
static void test_baseline_pick(void **state)
{
	static const double grid[] = {1e-5, 3e-5, 1e-4, 1e-3};
	static const double one[] = {1e-3};
	struct optreg_config cfg;

	(void)state;
	/* Below every grid lr: the smallest. */
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 1e-6), 0);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 9.99e-6), 0);
	/* Exactly at a grid lr: that one. */
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 1e-5), 0);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 3e-5), 1);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 1e-4), 2);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 1e-3), 3);
	/* Between two: the one below (a fine-tuning 2e-5 is held to 1e-5,
	 * 5e-4 to 1e-4). */
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 2e-5), 0);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 5e-5), 1);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 5e-4), 2);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 9.99e-4), 2);
	/* Above every grid lr: the largest (the defaults at 1e-3 are the
	 * bar for every faster config). */
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 1.01e-3), 3);
	assert_int_equal(optreg_suite_baseline_pick(grid, 4, 0.1), 3);
	/* A one-point grid judges everything. */
	assert_int_equal(optreg_suite_baseline_pick(one, 1, 1e-6), 0);
	assert_int_equal(optreg_suite_baseline_pick(one, 1, 1.0), 0);

	/* The run at a grid point is the Adam defaults with that lr. */
	optreg_suite_baseline_config(&cfg, 3e-5);
	assert_int_equal(cfg.optimizer, OPTREG_ADAM);
	assert_true(cfg.lr == 3e-5);
	assert_true(cfg.beta1 == 0.9 && cfg.beta2 == 0.999);
	assert_true(cfg.eps == 1e-8);
	assert_true(cfg.weight_decay == 0);
	assert_int_equal(cfg.schedule.kind, OPTREG_SCHEDULE_CONSTANT);
	assert_int_equal(cfg.schedule.warmup_steps, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline_pick),
		cmocka_unit_test(test_param_groups_report),
		cmocka_unit_test(test_declared_precision),
		cmocka_unit_test(test_corpus_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
