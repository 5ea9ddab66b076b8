/*
 * tests/unit/validator/config_test.c: the OptimizerConfig model and its
 * validation. The corpus in tests/cases/config covers rule by rule; these tests
 * cover the model that validation fills in, message wording, and the schedule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "validator/config.h"
#include "validator/jcs.h"

static const char example_yaml[] = "apiVersion: optreg/v1\n"
				   "kind: OptimizerConfig\n"
				   "metadata:\n"
				   "  namespace: team-nlp\n"
				   "  name: bert-base-finetune\n"
				   "  labels: {model: bert-base, task: glue}\n"
				   "  description: fine-tune recipe for GLUE\n"
				   "spec:\n"
				   "  optimizer: adamw\n"
				   "  lr: 3.0e-5\n"
				   "  betas: [0.9, 0.999]\n"
				   "  eps: 1.0e-8\n"
				   "  weight_decay: 0.01\n"
				   "  amsgrad: false\n"
				   "  maximize: false\n"
				   "  grad_clip_norm: 1.0\n"
				   "  schedule:\n"
				   "    kind: cosine\n"
				   "    warmup_steps: 500\n"
				   "    total_steps: 10000\n"
				   "    min_lr: 0.0\n"
				   "  param_groups:\n"
				   "    - match: \"(bias|norm)\"\n"
				   "      weight_decay: 0.0\n";

/* Loads YAML text and validates it; returns the validator's result. */
static int validate_yaml(const char *text, struct optreg_config *cfg,
			 struct optreg_errors *errs)
{
	struct optreg_doc doc;
	int rc;

	optreg_doc_init(&doc);
	rc = optreg_doc_load_yaml(&doc, text, strlen(text), errs);
	if (rc == 0)
		rc = optreg_config_validate(&doc, cfg, errs);
	optreg_doc_release(&doc);
	return rc;
}

static void test_example_fills_model(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_config cfg;

	(void)state;
	assert_int_equal(validate_yaml(example_yaml, &cfg, &errs), 0);
	assert_int_equal(errs.len, 0);
	assert_string_equal(cfg.namespace_, "team-nlp");
	assert_string_equal(cfg.name, "bert-base-finetune");
	assert_string_equal(cfg.description, "fine-tune recipe for GLUE");
	assert_int_equal(cfg.nlabels, 2);
	assert_int_equal(cfg.optimizer, OPTREG_ADAMW);
	assert_true(cfg.lr == 3.0e-5);
	assert_true(cfg.beta1 == 0.9 && cfg.beta2 == 0.999);
	assert_true(cfg.eps == 1.0e-8);
	assert_true(cfg.weight_decay == 0.01);
	assert_false(cfg.amsgrad);
	assert_true(cfg.has_grad_clip && cfg.grad_clip_norm == 1.0);
	assert_int_equal(cfg.schedule.kind, OPTREG_SCHEDULE_COSINE);
	assert_int_equal(cfg.schedule.warmup_steps, 500);
	assert_int_equal(cfg.schedule.total_steps, 10000);
	assert_int_equal(cfg.ngroups, 1);
	assert_string_equal(cfg.groups[0].match, "(bias|norm)");
	assert_true(cfg.groups[0].has_weight_decay);
	assert_false(cfg.groups[0].has_lr);
	optreg_config_release(&cfg);
	optreg_errors_release(&errs);
}

static void test_defaults(void **state)
{
	static const char text[] = "apiVersion: optreg/v1\n"
				   "kind: OptimizerConfig\n"
				   "metadata: {namespace: a, name: b}\n"
				   "spec:\n"
				   "  optimizer: adam\n"
				   "  lr: 0.001\n"
				   "  betas: [0.9, 0.999]\n"
				   "  eps: 1e-8\n"
				   "  weight_decay: 0\n";
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_config cfg;

	(void)state;
	assert_int_equal(validate_yaml(text, &cfg, &errs), 0);
	assert_false(cfg.amsgrad);
	assert_false(cfg.maximize);
	assert_false(cfg.has_grad_clip);
	assert_int_equal(cfg.schedule.kind, OPTREG_SCHEDULE_CONSTANT);
	assert_int_equal(cfg.schedule.warmup_steps, 0);
	assert_null(cfg.description);
	assert_int_equal(cfg.ngroups, 0);
	optreg_config_release(&cfg);
	optreg_errors_release(&errs);
}

/* The message format the issue quotes, with line and column. */
static void test_message_format(void **state)
{
	static const char text[] = "apiVersion: optreg/v1\n"
				   "kind: OptimizerConfig\n"
				   "metadata: {namespace: a, name: b}\n"
				   "spec:\n"
				   "  optimizer: adam\n"
				   "  lr: 0.001\n"
				   "  betas: [0.9, 1]\n"
				   "  eps: 1e-8\n"
				   "  weight_decay: 0\n";
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;

	(void)state;
	assert_int_equal(validate_yaml(text, NULL, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	optreg_errors_format(&errs, "config.yaml", &out);
	assert_string_equal(out.data, "config.yaml:7:16: spec.betas[1]: must "
				      "be less than 1 (got 1)\n");
	assert_string_equal(optreg_config_error_layer(&errs.items[0]),
			    "schema");
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
}

/* Every error of a document is reported, each on its own path. */
static void test_all_errors_reported(void **state)
{
	static const char text[] = "apiVersion: optreg/v2\n"
				   "kind: OptimizerConfig\n"
				   "metadata: {namespace: Team, name: b}\n"
				   "spec:\n"
				   "  optimizer: sgd\n"
				   "  lr: 0\n"
				   "  betas: [0.9]\n"
				   "  weight_decay: -1\n"
				   "  amsgrad: yes\n"
				   "  lrr: 1\n";
	static const char *const want[] = {"apiVersion const",
					   "metadata.namespace pattern",
					   "spec.optimizer enum",
					   "spec.lr exclusive_minimum",
					   "spec.betas min_items",
					   "spec.eps required",
					   "spec.weight_decay minimum",
					   "spec.amsgrad type",
					   "spec.lrr additional_properties"};
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf got = OPTREG_BUF_INIT;

	(void)state;
	assert_int_equal(validate_yaml(text, NULL, &errs), OPTREG_EINVAL);
	for (size_t i = 0; i < errs.len; i++)
		optreg_buf_addf(&got, "%s %s\n", errs.items[i].path,
				errs.items[i].rule);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct optreg_buf line = OPTREG_BUF_INIT;
		optreg_buf_addf(&line, "%s\n", want[i]);
		if (!strstr(got.data, line.data))
			fail_msg("missing \"%s\" in:\n%s", want[i], got.data);
		optreg_buf_release(&line);
	}
	assert_int_equal(errs.len, sizeof(want) / sizeof(want[0]));
	optreg_buf_release(&got);
	optreg_errors_release(&errs);
}

static void test_unknown_field_hint(void **state)
{
	static const char text[] = "apiVersion: optreg/v1\n"
				   "kind: OptimizerConfig\n"
				   "metadata: {namespace: a, name: b}\n"
				   "spec:\n"
				   "  optimizer: adam\n"
				   "  lr: 0.001\n"
				   "  betas: [0.9, 0.999]\n"
				   "  eps: 1e-8\n"
				   "  weight_decay: 0\n"
				   "  weight_decy: 0\n";
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	assert_int_equal(validate_yaml(text, NULL, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].path, "spec.weight_decy");
	assert_int_equal(errs.items[0].line, 10);
	assert_non_null(errs.items[0].hint);
	assert_non_null(
		strstr(errs.items[0].hint, "did you mean \"weight_decay\""));
	optreg_errors_release(&errs);
}

/* The semantic layer runs only after the schema layer passed. */
static void test_semantic_after_schema(void **state)
{
	static const char bad_both[] = "apiVersion: optreg/v1\n"
				       "kind: OptimizerConfig\n"
				       "metadata: {namespace: a, name: b}\n"
				       "spec:\n"
				       "  optimizer: adam\n"
				       "  lr: 0.001\n"
				       "  betas: [0.9, 0.999]\n"
				       "  eps: -1\n"
				       "  weight_decay: 0\n"
				       "  schedule: {kind: linear, "
				       "warmup_steps: 20, total_steps: 10}\n";
	static const char bad_semantic[] =
		"apiVersion: optreg/v1\n"
		"kind: OptimizerConfig\n"
		"metadata: {namespace: a, name: b}\n"
		"spec:\n"
		"  optimizer: adam\n"
		"  lr: 0.001\n"
		"  betas: [0.9, 0.999]\n"
		"  eps: 1e-8\n"
		"  weight_decay: 0\n"
		"  schedule: {kind: linear, "
		"warmup_steps: 20, total_steps: 10,"
		" min_lr: 0.01}\n"
		"  param_groups: [{match: \"(a\", lr: "
		"1}]\n";
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	assert_int_equal(validate_yaml(bad_both, NULL, &errs), OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "exclusive_minimum");
	optreg_errors_release(&errs);

	assert_int_equal(validate_yaml(bad_semantic, NULL, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 3);
	for (size_t i = 0; i < errs.len; i++)
		assert_string_equal(optreg_config_error_layer(&errs.items[i]),
				    "semantic");
	assert_string_equal(errs.items[0].path, "spec.schedule.warmup_steps");
	assert_string_equal(errs.items[0].message,
			    "must not exceed total_steps (got 20 > 10)");
	assert_string_equal(errs.items[1].path, "spec.schedule.min_lr");
	assert_string_equal(errs.items[2].path, "spec.param_groups[0].match");
	optreg_errors_release(&errs);
}

/* The schedule reproduces the learning rates PyTorch traces used, which
 * generate.py computed with the same formula in double precision. */
static void test_schedule_matches_traces(void **state)
{
	const char *dir = getenv("OPTREG_TESTDATA");
	static const char *const cases[] = {"case05-adamw-float64.json",
					    "case06-adamw-float64.json",
					    "case07-adam-float64.json"};
	static const char *const kinds[] = {"constant", "linear", "cosine",
					    "inverse_sqrt", NULL};

	(void)state;
	for (size_t c = 0; c < 3; c++) {
		struct optreg_buf path = OPTREG_BUF_INIT;
		json_error_t jerr;
		optreg_buf_addf(&path, "%s/torch-adam/%s",
				dir ? dir : "tests/testdata", cases[c]);
		json_t *trace = json_load_file(path.data, 0, &jerr);
		if (!trace)
			fail_msg("%s: %s", path.data, jerr.text);
		json_t *cfg = json_object_get(trace, "config");
		json_t *sj = json_object_get(cfg, "schedule");
		struct optreg_schedule s = {0};
		const char *kind =
			json_string_value(json_object_get(sj, "kind"));
		for (int k = 0; kinds[k]; k++)
			if (!strcmp(kinds[k], kind))
				s.kind = (enum optreg_schedule_kind)k;
		s.warmup_steps = (long)json_number_value(
			json_object_get(sj, "warmup_steps"));
		s.total_steps = (long)json_number_value(
			json_object_get(sj, "total_steps"));
		s.min_lr = json_number_value(json_object_get(sj, "min_lr"));
		double lr = json_number_value(json_object_get(cfg, "lr"));
		json_t *lrs = json_object_get(trace, "lr_per_step");
		assert_true(json_array_size(lrs) > 0);
		for (size_t t = 0; t < json_array_size(lrs); t++) {
			double want = json_number_value(json_array_get(lrs, t));
			double got =
				optreg_config_schedule_lr(&s, lr, (long)t + 1);
			if (got != want)
				fail_msg("%s step %zu: got %.17g want %.17g",
					 cases[c], t + 1, got, want);
		}
		json_decref(trace);
		optreg_buf_release(&path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_fills_model),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_message_format),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_unknown_field_hint),
		cmocka_unit_test(test_semantic_after_schema),
		cmocka_unit_test(test_schedule_matches_traces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
