/*
 * tests/unit/validator/config_diff_test.c: the semantic diff of two configs
 * (validator/config_diff.c): each kind of change, its path, values and
 * sentence, param groups paired by pattern, and equal configs.
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
#include "validator/config_diff.h"
#include "validator/jcs.h"

/* The base config; tests append spec lines to vary it. */
static const char head[] = "apiVersion: optreg/v1\n"
			   "kind: OptimizerConfig\n"
			   "metadata:\n"
			   "  namespace: team-nlp\n"
			   "  name: bert\n";

struct pair {
	struct optreg_config a, b;
	struct optreg_config_diff d;
};

/* Validates HEAD + `meta` + "spec:\n" + `spec` into *cfg; fails the test
 * on an error. */
static void load(struct optreg_config *cfg, const char *meta, const char *spec)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf text = OPTREG_BUF_INIT;
	struct optreg_doc doc;

	optreg_buf_addf(&text, "%s%sspec:\n%s", head, meta, spec);
	optreg_doc_init(&doc);
	if (optreg_doc_load_yaml(&doc, text.data, text.len, &errs) < 0 ||
	    optreg_config_validate(&doc, cfg, &errs) < 0)
		fail_msg("invalid test config: %s: %s\n%s",
			 errs.len ? errs.items[0].path : "?",
			 errs.len ? errs.items[0].message : "?", text.data);
	optreg_doc_release(&doc);
	optreg_buf_release(&text);
	optreg_errors_release(&errs);
}

static const char base[] = "  optimizer: adam\n"
			   "  lr: 0.0003\n"
			   "  betas: [0.9, 0.999]\n"
			   "  eps: 1.0e-8\n"
			   "  weight_decay: 0.01\n";

/* Diffs base+`extra_a` against base-with-changes `spec_b`. */
static void diff_specs(struct pair *p, const char *meta_a, const char *spec_a,
		       const char *meta_b, const char *spec_b)
{
	load(&p->a, meta_a, spec_a);
	load(&p->b, meta_b, spec_b);
	optreg_config_diff_init(&p->d);
	optreg_config_diff_compute(&p->d, &p->a, &p->b);
}

static void pair_release(struct pair *p)
{
	optreg_config_diff_release(&p->d);
	optreg_config_release(&p->a);
	optreg_config_release(&p->b);
}

/* The change at `path`, or a test failure listing what there is. */
static const struct optreg_config_change *
change_at(const struct optreg_config_diff *d, const char *path)
{
	struct optreg_buf all = OPTREG_BUF_INIT;

	for (size_t i = 0; i < d->len; i++)
		if (!strcmp(d->items[i].path, path))
			return &d->items[i];
	for (size_t i = 0; i < d->len; i++)
		optreg_buf_addf(&all, "  %s: %s\n", d->items[i].path,
				d->items[i].text);
	fail_msg("no change at %s; the diff has:\n%s", path, all.data);
	return NULL;
}

/* The canonical JSON of `v` ("null" for NULL), for comparing values. */
static char *canon(const json_t *v)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	if (!v)
		return optreg_xstrdup("null");
	assert_int_equal(optreg_jcs_serialize(v, &b, NULL), 0);
	return optreg_buf_detach(&b, NULL);
}

static void expect(const struct optreg_config_diff *d, const char *path,
		   enum optreg_config_change_kind kind, const char *old_,
		   const char *new_, const char *text)
{
	const struct optreg_config_change *c = change_at(d, path);
	char *o = canon(c->old_), *n = canon(c->new_);

	assert_string_equal(optreg_config_change_kind_name(c->kind),
			    optreg_config_change_kind_name(kind));
	assert_string_equal(o, old_);
	assert_string_equal(n, new_);
	assert_string_equal(c->text, text);
	free(o);
	free(n);
}

static void test_equal_configs_have_no_changes(void **state)
{
	struct pair p;

	(void)state;
	/* Defaults written out mean the same as defaults left out. */
	diff_specs(
		&p, "", base, "",
		"  optimizer: adam\n"
		"  lr: 3.0e-4\n"
		"  betas: [0.90, 0.999]\n"
		"  eps: 0.00000001\n"
		"  weight_decay: 0.01\n"
		"  amsgrad: false\n"
		"  maximize: false\n"
		"  schedule: {kind: constant, warmup_steps: 0, min_lr: 0}\n");
	assert_int_equal(p.d.len, 0);
	pair_release(&p);
}

static void test_lr_ratio(void **state)
{
	struct pair p;

	(void)state;
	diff_specs(&p, "", base, "",
		   "  optimizer: adam\n  lr: 0.001\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0.01\n");
	assert_int_equal(p.d.len, 1);
	expect(&p.d, "spec.lr", OPTREG_CHANGE_CHANGED, "0.0003", "0.001",
	       "lr 0.0003 -> 0.001 (x3.3)");
	pair_release(&p);
	/* A small change does not read "x1": as many digits as it takes. */
	diff_specs(&p, "", base, "",
		   "  optimizer: adam\n  lr: 0.000304\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0.01\n");
	expect(&p.d, "spec.lr", OPTREG_CHANGE_CHANGED, "0.0003", "0.000304",
	       "lr 0.0003 -> 0.000304 (x1.01)");
	pair_release(&p);
	diff_specs(&p, "", base, "",
		   "  optimizer: adam\n  lr: 0.0002997\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0.01\n");
	expect(&p.d, "spec.lr", OPTREG_CHANGE_CHANGED, "0.0003", "0.0002997",
	       "lr 0.0003 -> 0.0002997 (x0.999)");
	pair_release(&p);
}

static void test_optimizer_and_decay(void **state)
{
	struct pair p;

	(void)state;
	diff_specs(&p, "", base, "",
		   "  optimizer: adamw\n  lr: 0.0003\n  betas: [0.9, 0.98]\n"
		   "  eps: 1.0e-6\n  weight_decay: 0.1\n");
	assert_int_equal(p.d.len, 4);
	expect(&p.d, "spec.optimizer", OPTREG_CHANGE_CHANGED, "\"adam\"",
	       "\"adamw\"",
	       "optimizer adam -> adamw: weight decay becomes decoupled "
	       "(parameters shrink by lr*wd each step)");
	expect(&p.d, "spec.betas", OPTREG_CHANGE_CHANGED, "[0.9,0.999]",
	       "[0.9,0.98]",
	       "betas [0.9, 0.999] -> [0.9, 0.98]: squared-gradient average "
	       "over ~1000 -> ~50 steps");
	expect(&p.d, "spec.eps", OPTREG_CHANGE_CHANGED, "1e-8", "0.000001",
	       "eps 1e-8 -> 0.000001 (x100)");
	expect(&p.d, "spec.weight_decay", OPTREG_CHANGE_CHANGED, "0.01", "0.1",
	       "weight_decay 0.01 -> 0.1 (x10), decoupled (adamw: parameters "
	       "shrink by lr*wd each step)");
	/* The order is fixed: optimizer before lr, betas, eps, decay. */
	assert_string_equal(p.d.items[0].path, "spec.optimizer");
	assert_string_equal(p.d.items[3].path, "spec.weight_decay");
	pair_release(&p);
}

static void test_decay_on_and_off(void **state)
{
	struct pair p;

	(void)state;
	diff_specs(&p, "", base, "",
		   "  optimizer: adam\n  lr: 0.0003\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0\n");
	expect(&p.d, "spec.weight_decay", OPTREG_CHANGE_CHANGED, "0.01", "0",
	       "weight_decay 0.01 -> 0: weight decay turned off");
	pair_release(&p);
	diff_specs(&p, "",
		   "  optimizer: adam\n  lr: 0.0003\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0\n",
		   "", base);
	expect(&p.d, "spec.weight_decay", OPTREG_CHANGE_CHANGED, "0", "0.01",
	       "weight_decay 0 -> 0.01: weight decay turned on, L2 (adam: "
	       "wd*p added to the gradient)");
	pair_release(&p);
}

static void test_optimizer_without_decay(void **state)
{
	struct pair p;

	(void)state;
	diff_specs(&p, "",
		   "  optimizer: adam\n  lr: 0.0003\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0\n",
		   "",
		   "  optimizer: adamw\n  lr: 0.0003\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0\n");
	assert_int_equal(p.d.len, 1);
	expect(&p.d, "spec.optimizer", OPTREG_CHANGE_CHANGED, "\"adam\"",
	       "\"adamw\"",
	       "optimizer adam -> adamw: the same updates, as no weight decay "
	       "is set");
	pair_release(&p);
	/* A group's decay counts: the switch matters for its parameters. */
	diff_specs(&p, "",
		   "  optimizer: adamw\n  lr: 0.0003\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0\n"
		   "  param_groups: [{match: fc, weight_decay: 0.1}]\n",
		   "",
		   "  optimizer: adam\n  lr: 0.0003\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0\n"
		   "  param_groups: [{match: fc, weight_decay: 0.1}]\n");
	expect(&p.d, "spec.optimizer", OPTREG_CHANGE_CHANGED, "\"adamw\"",
	       "\"adam\"",
	       "optimizer adamw -> adam: weight decay becomes L2 "
	       "regularisation (wd*p added to the gradient)");
	pair_release(&p);
}

static void test_flags_and_clip(void **state)
{
	struct pair p;
	struct optreg_buf spec = OPTREG_BUF_INIT;

	(void)state;
	optreg_buf_addf(&spec,
			"%s  amsgrad: true\n  maximize: true\n"
			"  grad_clip_norm: 1.0\n",
			base);
	diff_specs(&p, "", base, "", spec.data);
	assert_int_equal(p.d.len, 3);
	expect(&p.d, "spec.amsgrad", OPTREG_CHANGE_CHANGED, "false", "true",
	       "amsgrad false -> true: the denominator uses the running "
	       "maximum of the second moment");
	expect(&p.d, "spec.maximize", OPTREG_CHANGE_CHANGED, "false", "true",
	       "maximize false -> true: the optimizer ascends (the "
	       "gradient's sign is flipped)");
	expect(&p.d, "spec.grad_clip_norm", OPTREG_CHANGE_ADDED, "null", "1",
	       "grad_clip_norm 1 added: gradients are clipped to a total L2 "
	       "norm of 1");
	optreg_config_diff_release(&p.d);
	optreg_config_diff_compute(&p.d, &p.b, &p.a);
	expect(&p.d, "spec.grad_clip_norm", OPTREG_CHANGE_REMOVED, "1", "null",
	       "grad_clip_norm 1 removed: gradients are not clipped");
	expect(&p.d, "spec.amsgrad", OPTREG_CHANGE_CHANGED, "true", "false",
	       "amsgrad true -> false: the denominator uses the second "
	       "moment itself");
	pair_release(&p);
	optreg_buf_release(&spec);
}

static void test_schedule(void **state)
{
	struct pair p;
	struct optreg_buf a = OPTREG_BUF_INIT, b = OPTREG_BUF_INIT;

	(void)state;
	optreg_buf_addf(&a,
			"%s  schedule: {kind: cosine, warmup_steps: 500, "
			"total_steps: 10000}\n",
			base);
	optreg_buf_addf(&b,
			"%s  schedule: {kind: linear, total_steps: 20000, "
			"min_lr: 0.00001}\n",
			base);
	diff_specs(&p, "", a.data, "", b.data);
	assert_int_equal(p.d.len, 4);
	expect(&p.d, "spec.schedule.kind", OPTREG_CHANGE_CHANGED, "\"cosine\"",
	       "\"linear\"",
	       "schedule cosine -> linear: lr falls in a straight line to "
	       "min_lr at total_steps");
	expect(&p.d, "spec.schedule.warmup_steps", OPTREG_CHANGE_REMOVED, "500",
	       "0", "warmup 500 -> 0 steps: removed");
	expect(&p.d, "spec.schedule.total_steps", OPTREG_CHANGE_CHANGED,
	       "10000", "20000",
	       "total_steps 10000 -> 20000: the schedule ends later");
	expect(&p.d, "spec.schedule.min_lr", OPTREG_CHANGE_CHANGED, "0",
	       "0.00001", "min_lr 0 -> 0.00001");
	pair_release(&p);

	/* No schedule at all against inverse_sqrt with warmup. */
	optreg_buf_reset(&b);
	optreg_buf_addf(&b,
			"%s  schedule: {kind: inverse_sqrt, warmup_steps: 100, "
			"min_lr: 0.00001}\n",
			base);
	diff_specs(&p, "", base, "", b.data);
	expect(&p.d, "spec.schedule.warmup_steps", OPTREG_CHANGE_ADDED, "0",
	       "100", "warmup 0 -> 100 steps: added");
	expect(&p.d, "spec.schedule.min_lr", OPTREG_CHANGE_CHANGED, "0",
	       "0.00001", "min_lr 0 -> 0.00001 (unused by inverse_sqrt)");
	pair_release(&p);

	/* total_steps added and removed. */
	optreg_buf_reset(&a);
	optreg_buf_addf(&a, "%s  schedule: {kind: constant}\n", base);
	optreg_buf_reset(&b);
	optreg_buf_addf(&b, "%s  schedule: {kind: constant, total_steps: 50}\n",
			base);
	diff_specs(&p, "", a.data, "", b.data);
	expect(&p.d, "spec.schedule.total_steps", OPTREG_CHANGE_ADDED, "null",
	       "50", "total_steps 50 added: the schedule ends at step 50");
	optreg_config_diff_release(&p.d);
	optreg_config_diff_compute(&p.d, &p.b, &p.a);
	expect(&p.d, "spec.schedule.total_steps", OPTREG_CHANGE_REMOVED, "50",
	       "null", "total_steps 50 removed: the schedule has no end");
	pair_release(&p);
	optreg_buf_release(&a);
	optreg_buf_release(&b);
}

static void test_param_groups(void **state)
{
	struct pair p;
	struct optreg_buf a = OPTREG_BUF_INIT, b = OPTREG_BUF_INIT;

	(void)state;
	optreg_buf_addf(&a,
			"%s  param_groups:\n"
			"    - {match: \"(bias|norm)\", weight_decay: 0.0}\n"
			"    - {match: \"^emb\\\\.\", lr: 0.0001, eps: 1e-6}\n"
			"    - {match: head, betas: [0.8, 0.99]}\n",
			base);
	optreg_buf_addf(&b,
			"%s  param_groups:\n"
			"    - {match: \"^emb\\\\.\", lr: 0.0002, "
			"betas: [0.9, 0.99]}\n"
			"    - {match: \"(bias|norm)\", weight_decay: 0.0}\n"
			"    - {match: fc, weight_decay: 0.05}\n",
			base);
	diff_specs(&p, "", a.data, "", b.data);
	expect(&p.d, "spec.param_groups", OPTREG_CHANGE_CHANGED,
	       "[\"(bias|norm)\",\"^emb\\\\.\"]",
	       "[\"^emb\\\\.\",\"(bias|norm)\"]",
	       "param groups reordered: [\"(bias|norm)\",\"^emb\\\\.\"] -> "
	       "[\"^emb\\\\.\",\"(bias|norm)\"]; a parameter takes the first "
	       "group whose pattern matches it");
	expect(&p.d, "spec.param_groups[\"^emb\\\\.\"].lr",
	       OPTREG_CHANGE_CHANGED, "0.0001", "0.0002",
	       "param group \"^emb\\\\.\": lr 0.0001 -> 0.0002 (x2)");
	expect(&p.d, "spec.param_groups[\"^emb\\\\.\"].betas",
	       OPTREG_CHANGE_ADDED, "null", "[0.9,0.99]",
	       "param group \"^emb\\\\.\": betas [0.9, 0.99] added (instead "
	       "of the config's [0.9, 0.999])");
	expect(&p.d, "spec.param_groups[\"^emb\\\\.\"].eps",
	       OPTREG_CHANGE_REMOVED, "0.000001", "null",
	       "param group \"^emb\\\\.\": eps 0.000001 removed: these "
	       "parameters use the config's eps 1e-8");
	expect(&p.d, "spec.param_groups[\"head\"]", OPTREG_CHANGE_REMOVED,
	       "{\"betas\":[0.8,0.99],\"match\":\"head\"}", "null",
	       "param group \"head\" removed (was betas [0.8, 0.99]): its "
	       "parameters use the config's settings unless a later group "
	       "matches");
	expect(&p.d, "spec.param_groups[\"fc\"]", OPTREG_CHANGE_ADDED, "null",
	       "{\"match\":\"fc\",\"weight_decay\":0.05}",
	       "param group \"fc\" added at position 3: weight_decay 0.05");
	/* The unchanged (bias|norm) group has no change of its own. */
	for (size_t i = 0; i < p.d.len; i++)
		assert_null(strstr(p.d.items[i].path, "(bias|norm)\"]."));
	assert_int_equal(p.d.len, 6);
	pair_release(&p);
	optreg_buf_release(&a);
	optreg_buf_release(&b);
}

static void test_group_decay_override(void **state)
{
	struct pair p;
	struct optreg_buf a = OPTREG_BUF_INIT, b = OPTREG_BUF_INIT;

	(void)state;
	optreg_buf_addf(&a,
			"%s  param_groups:\n"
			"    - {match: bias, weight_decay: 0.0}\n"
			"    - {match: bias, lr: 0.1}\n",
			base);
	optreg_buf_addf(&b,
			"%s  param_groups:\n"
			"    - {match: bias, weight_decay: 0.02}\n"
			"    - {match: bias, lr: 0.2}\n",
			base);
	diff_specs(&p, "", a.data, "", b.data);
	assert_int_equal(p.d.len, 2);
	expect(&p.d, "spec.param_groups[\"bias\"].weight_decay",
	       OPTREG_CHANGE_CHANGED, "0", "0.02",
	       "param group \"bias\": weight_decay 0 -> 0.02: weight decay "
	       "turned on, L2 (adam: wd*p added to the gradient)");
	/* A second group with the same pattern is told apart by #2. */
	expect(&p.d, "spec.param_groups[\"bias\"#2].lr", OPTREG_CHANGE_CHANGED,
	       "0.1", "0.2", "param group \"bias\": lr 0.1 -> 0.2 (x2)");
	pair_release(&p);
	optreg_buf_release(&a);
	optreg_buf_release(&b);
}

static void test_metadata(void **state)
{
	struct pair p;

	(void)state;
	diff_specs(&p,
		   "  labels: {model: bert-base, task: glue, owner.team: nlp}\n"
		   "  description: fine-tune recipe for GLUE\n",
		   base,
		   "  labels: {model: bert-base, task: squad, stage: beta}\n",
		   base);
	expect(&p.d, "metadata.description", OPTREG_CHANGE_REMOVED,
	       "\"fine-tune recipe for GLUE\"", "null",
	       "description \"fine-tune recipe for GLUE\" removed");
	expect(&p.d, "metadata.labels.task", OPTREG_CHANGE_CHANGED, "\"glue\"",
	       "\"squad\"", "label \"task\" \"glue\" -> \"squad\"");
	expect(&p.d, "metadata.labels[\"owner.team\"]", OPTREG_CHANGE_REMOVED,
	       "\"nlp\"", "null", "label \"owner.team\" removed (was \"nlp\")");
	expect(&p.d, "metadata.labels.stage", OPTREG_CHANGE_ADDED, "null",
	       "\"beta\"", "label \"stage\" added: \"beta\"");
	assert_int_equal(p.d.len, 4);
	pair_release(&p);

	/* A long description is cut in the sentence, whole in the value. */
	diff_specs(&p, "", base,
		   "  description: "
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		   "a\n",
		   base);
	expect(&p.d, "metadata.description", OPTREG_CHANGE_ADDED, "null",
	       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	       "\"",
	       "description "
	       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
	       "... added");
	pair_release(&p);
}

static void test_json(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct pair p;
	json_t *j;

	(void)state;
	diff_specs(&p, "", base, "",
		   "  optimizer: adam\n  lr: 0.001\n  betas: [0.9, 0.999]\n"
		   "  eps: 1.0e-8\n  weight_decay: 0.01\n"
		   "  grad_clip_norm: 0.5\n");
	j = optreg_config_diff_json(&p.d);
	assert_int_equal(optreg_jcs_serialize(j, &out, NULL), 0);
	assert_string_equal(
		out.data,
		"[{\"kind\":\"changed\",\"new\":0.001,\"old\":0.0003,\"path\":"
		"\"spec.lr\",\"text\":\"lr 0.0003 -> 0.001 (x3.3)\"},"
		"{\"kind\":\"added\",\"new\":0.5,\"old\":null,\"path\":"
		"\"spec.grad_clip_norm\",\"text\":\"grad_clip_norm 0.5 added: "
		"gradients are clipped to a total L2 norm of 0.5\"}]");
	json_decref(j);
	optreg_buf_release(&out);
	pair_release(&p);
}

static void test_number_forms(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	(void)state;
	optreg_config_diff_number(&b, 0.1 + 0.2, false);
	assert_string_equal(b.data, "0.30000000000000004");
	optreg_buf_reset(&b);
	optreg_config_diff_number(&b, 1e-3 / 3e-4, true);
	assert_string_equal(b.data, "3.3");
	optreg_buf_reset(&b);
	optreg_config_diff_number(&b, 1234.0, true);
	assert_string_equal(b.data, "1200");
	optreg_buf_reset(&b);
	optreg_config_diff_number(&b, 1e-7, true);
	assert_string_equal(b.data, "1e-7");
	optreg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_configs_have_no_changes),
		cmocka_unit_test(test_lr_ratio),
		cmocka_unit_test(test_optimizer_and_decay),
		cmocka_unit_test(test_decay_on_and_off),
		cmocka_unit_test(test_optimizer_without_decay),
		cmocka_unit_test(test_flags_and_clip),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_param_groups),
		cmocka_unit_test(test_group_decay_override),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_number_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
