/*
 * tests/unit/validator/policy_test.c: loading policies, evaluating them,
 * results in JSON and as errors, and gates. The corpus in
 * tests/cases/policy covers the vocabulary case by case; these tests cover
 * the API: ownership, counts, messages, positions and the gate merge.
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
#include "validator/policy.h"
#include "validator/regex_check.h"

static const char config_yaml[] = "apiVersion: optreg/v1\n"
				  "kind: OptimizerConfig\n"
				  "metadata:\n"
				  "  namespace: team-nlp\n"
				  "  name: bert-base\n"
				  "spec:\n"
				  "  optimizer: adam\n"
				  "  lr: 0.5\n"
				  "  betas: [0.9, 0.999]\n"
				  "  eps: 1.0e-8\n"
				  "  weight_decay: 0.01\n"
				  "  param_groups:\n"
				  "    - match: bias\n"
				  "      eps: 1.0e-3\n"
				  "    - match: norm\n"
				  "      eps: 1.0e-9\n";

static const char policy_yaml[] =
	"apiVersion: optreg/v1\n"
	"kind: Policy\n"
	"name: adam-basics\n"
	"namespaces: [\"team-*\"]\n"
	"rules:\n"
	"  - id: lr-at-most-0.1\n"
	"    severity: deny\n"
	"    field: spec.lr\n"
	"    at_most: 0.1\n"
	"    message: too high\n"
	"    hint: lower it\n"
	"  - id: adam-no-decay\n"
	"    severity: warn\n"
	"    when: {field: spec.optimizer, equals: adam}\n"
	"    field: spec.weight_decay\n"
	"    at_most: 0\n"
	"    message: coupled L2\n"
	"  - id: group-eps\n"
	"    severity: deny\n"
	"    field: spec.param_groups[*].eps\n"
	"    at_most: 1.0e-4\n"
	"    message: eps damps the update\n"
	"  - id: lr-change\n"
	"    severity: deny\n"
	"    against: [prod]\n"
	"    field: spec.lr\n"
	"    max_ratio: 2\n"
	"    message: lr moved too far\n"
	"gates:\n"
	"  - tags: [prod, \"release-*\"]\n";

struct fixture {
	struct optreg_doc doc;
	struct optreg_policy *p;
};

static void load_both(struct fixture *f, const char *policy)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	optreg_doc_init(&f->doc);
	assert_int_equal(optreg_doc_load_yaml(&f->doc, config_yaml,
					      strlen(config_yaml), &errs),
			 0);
	assert_int_equal(optreg_config_validate(&f->doc, NULL, &errs), 0);
	assert_int_equal(optreg_policy_load(&f->p, "p.yaml", policy,
					    strlen(policy), &errs),
			 0);
	assert_int_equal(errs.len, 0);
	optreg_errors_release(&errs);
}

static void unload(struct fixture *f)
{
	optreg_policy_free(f->p);
	optreg_doc_release(&f->doc);
}

static const struct optreg_violation *find(const struct optreg_policy_result *r,
					   const char *rule, const char *path)
{
	for (size_t i = 0; i < r->len; i++)
		if (!strcmp(r->items[i].rule, rule) &&
		    (!path || !strcmp(r->items[i].path, path)))
			return &r->items[i];
	return NULL;
}

static void test_load_accessors(void **state)
{
	struct fixture f;

	(void)state;
	load_both(&f, policy_yaml);
	assert_string_equal(optreg_policy_name(f.p), "adam-basics");
	assert_int_equal(optreg_policy_version(f.p), 0);
	optreg_policy_set_version(f.p, 7);
	assert_int_equal(optreg_policy_version(f.p), 7);
	assert_int_equal(optreg_policy_mode(f.p), OPTREG_POLICY_ENFORCE);
	assert_true(optreg_policy_covers(f.p, "team-nlp"));
	assert_false(optreg_policy_covers(f.p, "other"));
	assert_string_equal(optreg_policy_mode_name(OPTREG_POLICY_AUDIT),
			    "audit");
	assert_string_equal(optreg_policy_effect_name(OPTREG_EFFECT_WAIVED),
			    "waived");
	const struct optreg_buf *c = optreg_policy_canonical(f.p);
	assert_true(c->len > 0);
	assert_non_null(strstr(c->data, "\"apiVersion\":\"optreg/v1\""));
	unload(&f);
}

static void test_evaluate_plain(void **state)
{
	struct fixture f;
	struct optreg_policy_result r;

	(void)state;
	load_both(&f, policy_yaml);
	optreg_policy_result_init(&r);
	const struct optreg_policy *ps[] = {f.p};
	struct optreg_policy_input in = {.namespace_ = "team-nlp",
					 .name = "bert-base",
					 .config = f.doc.root,
					 .doc = &f.doc};
	assert_int_equal(optreg_policy_evaluate(ps, 1, &in, &r), 0);
	/* lr, weight decay, one group eps; no change rule without a tag */
	assert_int_equal(r.len, 3);
	assert_int_equal(r.denied, 2);
	assert_int_equal(r.warned, 1);
	const struct optreg_violation *v = find(&r, "lr-at-most-0.1", NULL);
	assert_non_null(v);
	assert_string_equal(v->path, "spec.lr");
	assert_string_equal(v->message, "too high");
	assert_string_equal(v->hint, "lower it");
	assert_string_equal(v->detail, "spec.lr is 0.5: must be at most 0.1");
	assert_int_equal(v->line, 8);
	assert_int_equal(v->effect, OPTREG_EFFECT_DENY);
	v = find(&r, "group-eps", NULL);
	assert_non_null(v);
	assert_string_equal(v->path, "spec.param_groups[0].eps");
	assert_int_equal(v->line, 14);
	v = find(&r, "adam-no-decay", NULL);
	assert_int_equal(v->effect, OPTREG_EFFECT_WARN);

	/* Another namespace: nothing covers it. */
	optreg_policy_result_release(&r);
	in.namespace_ = "vision";
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_int_equal(r.len, 0);
	optreg_policy_result_release(&r);
	unload(&f);
}

static void test_change_rule(void **state)
{
	struct fixture f;
	struct optreg_policy_result r;
	json_t *prev;

	(void)state;
	load_both(&f, policy_yaml);
	prev = json_deep_copy(f.doc.root);
	json_object_set_new(json_object_get(prev, "spec"), "lr",
			    json_real(0.05));
	const struct optreg_policy *ps[] = {f.p};
	struct optreg_policy_input in = {.namespace_ = "team-nlp",
					 .name = "bert-base",
					 .config = f.doc.root,
					 .tag = "prod",
					 .previous = prev};
	optreg_policy_result_init(&r);
	optreg_policy_evaluate(ps, 1, &in, &r);
	const struct optreg_violation *v = find(&r, "lr-change", NULL);
	assert_non_null(v);
	assert_string_equal(v->detail, "spec.lr changes from 0.05 (at prod) "
				       "to 0.5, x10; at most x2 allowed");
	optreg_policy_result_release(&r);

	/* Just over the limit: the ratio prints with the digits that tell
	 * it apart from the limit. */
	json_object_set_new(json_object_get(prev, "spec"), "lr",
			    json_real(0.5 / 2.0001));
	optreg_policy_evaluate(ps, 1, &in, &r);
	v = find(&r, "lr-change", NULL);
	assert_non_null(v);
	assert_non_null(strstr(v->detail, ", x2.0001; at most x2 allowed"));
	optreg_policy_result_release(&r);
	json_object_set_new(json_object_get(prev, "spec"), "lr",
			    json_real(0.5 / 2.0000001));
	optreg_policy_evaluate(ps, 1, &in, &r);
	v = find(&r, "lr-change", NULL);
	assert_non_null(v);
	assert_non_null(strstr(v->detail, ", x2.0000001; at most x2"));
	optreg_policy_result_release(&r);
	/* Within the relative tolerance of 1e-12: passes. */
	json_object_set_new(json_object_get(prev, "spec"), "lr",
			    json_real(0.5 / (2 * (1 + 1e-14))));
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_null(find(&r, "lr-change", NULL));
	optreg_policy_result_release(&r);

	/* Another tag, or no previous version: skipped. */
	in.tag = "staging";
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_null(find(&r, "lr-change", NULL));
	optreg_policy_result_release(&r);
	in.tag = "prod";
	in.previous = NULL;
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_null(find(&r, "lr-change", NULL));
	optreg_policy_result_release(&r);
	json_decref(prev);
	unload(&f);
}

static void test_waivers_and_modes(void **state)
{
	struct fixture f;
	struct optreg_policy_result r;
	struct optreg_waiver w = {.id = "wvr_1",
				  .policy = "adam-basics",
				  .rule = "lr-at-most-0.1",
				  .namespace_ = "team-nlp",
				  .config = "bert-*",
				  .expires_at = 2000};

	(void)state;
	load_both(&f, policy_yaml);
	const struct optreg_policy *ps[] = {f.p};
	struct optreg_policy_input in = {.namespace_ = "team-nlp",
					 .name = "bert-base",
					 .config = f.doc.root,
					 .waivers = &w,
					 .nwaivers = 1,
					 .now = 1000};
	optreg_policy_result_init(&r);
	optreg_policy_evaluate(ps, 1, &in, &r);
	const struct optreg_violation *v = find(&r, "lr-at-most-0.1", NULL);
	assert_int_equal(v->effect, OPTREG_EFFECT_WAIVED);
	assert_string_equal(v->waiver, "wvr_1");
	assert_int_equal(r.waived, 1);
	assert_int_equal(r.denied, 1);
	optreg_policy_result_release(&r);

	/* The namespace is matched exactly, never as a glob. */
	w.namespace_ = "team-*";
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_int_equal(find(&r, "lr-at-most-0.1", NULL)->effect,
			 OPTREG_EFFECT_DENY);
	optreg_policy_result_release(&r);
	w.namespace_ = "team-nlp";

	/* Expired: applies no more. */
	in.now = 2000;
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_int_equal(find(&r, "lr-at-most-0.1", NULL)->effect,
			 OPTREG_EFFECT_DENY);
	optreg_policy_result_release(&r);
	unload(&f);

	/* warn mode: every violation warns; audit: recorded only. */
	char *warn = optreg_xasprintf("%s", policy_yaml);
	char *at = strstr(warn, "namespaces:");
	assert_non_null(at);
	struct optreg_buf b = OPTREG_BUF_INIT;
	optreg_buf_add(&b, warn, (size_t)(at - warn));
	optreg_buf_adds(&b, "mode: warn\n");
	optreg_buf_adds(&b, at);
	load_both(&f, b.data);
	ps[0] = f.p;
	in.config = f.doc.root;
	in.now = 0;
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_int_equal(r.denied, 0);
	assert_int_equal(r.warned, 2);
	assert_int_equal(r.waived, 1);
	optreg_policy_result_release(&r);
	unload(&f);

	optreg_buf_reset(&b);
	optreg_buf_add(&b, warn, (size_t)(at - warn));
	optreg_buf_adds(&b, "mode: audit\n");
	optreg_buf_adds(&b, at);
	load_both(&f, b.data);
	ps[0] = f.p;
	in.config = f.doc.root;
	optreg_policy_evaluate(ps, 1, &in, &r);
	assert_int_equal(r.denied + r.warned + r.waived, 0);
	assert_int_equal(r.audited, 3);
	optreg_policy_result_release(&r);
	unload(&f);
	optreg_buf_release(&b);
	free(warn);
}

static void test_json_and_denials(void **state)
{
	struct fixture f;
	struct optreg_policy_result r;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	load_both(&f, policy_yaml);
	optreg_policy_set_version(f.p, 3);
	const struct optreg_policy *ps[] = {f.p};
	struct optreg_policy_input in = {.namespace_ = "team-nlp",
					 .name = "bert-base",
					 .config = f.doc.root,
					 .doc = &f.doc};
	optreg_policy_result_init(&r);
	optreg_policy_evaluate(ps, 1, &in, &r);
	json_t *j = optreg_policy_result_to_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "denied")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "warned")), 1);
	json_t *v0 = json_array_get(json_object_get(j, "violations"), 0);
	assert_string_equal(json_string_value(json_object_get(v0, "policy")),
			    "adam-basics");
	assert_int_equal(
		json_integer_value(json_object_get(v0, "policy_version")), 3);
	assert_string_equal(json_string_value(json_object_get(v0, "effect")),
			    "deny");
	assert_string_equal(json_string_value(json_object_get(v0, "severity")),
			    "deny");
	assert_int_equal(json_integer_value(json_object_get(v0, "line")), 8);
	assert_null(json_object_get(v0, "waiver"));
	json_decref(j);

	optreg_policy_result_denials(&r, OPTREG_EPOLICY, &errs);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].rule, "adam-basics/lr-at-most-0.1");
	assert_int_equal(errs.items[0].code, OPTREG_EPOLICY);
	assert_string_equal(errs.items[0].path, "spec.lr");
	assert_string_equal(errs.items[0].hint, "lower it");
	assert_int_equal(errs.items[0].line, 8);
	optreg_errors_release(&errs);
	optreg_policy_result_release(&r);
	unload(&f);
}

static void test_load_errors_have_lines(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy *p = NULL;
	static const char bad[] = "apiVersion: optreg/v1\n"
				  "kind: Policy\n"
				  "name: x\n"
				  "namespaces: [\"*\"]\n"
				  "rules:\n"
				  "  - id: a\n"
				  "    severity: block\n"
				  "    field: spec.lr\n"
				  "    at_most: 1\n"
				  "    message: m\n";

	(void)state;
	assert_int_equal(
		optreg_policy_load(&p, "bad.yaml", bad, strlen(bad), &errs),
		OPTREG_EINVAL);
	assert_null(p);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "schema");
	assert_string_equal(errs.items[0].path, "rules[0].severity");
	assert_int_equal(errs.items[0].line, 7);
	assert_int_equal(errs.items[0].col, 15);
	optreg_errors_release(&errs);

	/* Semantic: unknown field, bad regex, duplicate id. */
	static const char sem[] = "apiVersion: optreg/v1\n"
				  "kind: Policy\n"
				  "name: x\n"
				  "namespaces: [\"*\"]\n"
				  "rules:\n"
				  "  - id: a\n"
				  "    severity: deny\n"
				  "    field: spec.learning_rate\n"
				  "    at_most: 1\n"
				  "    message: m\n"
				  "  - id: a\n"
				  "    severity: deny\n"
				  "    field: metadata.name\n"
				  "    pattern: \"(\"\n"
				  "    message: m\n";
	assert_int_equal(optreg_policy_load(&p, NULL, sem, strlen(sem), &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 3);
	assert_string_equal(errs.items[0].rule, "field");
	assert_int_equal(errs.items[0].line, 8);
	assert_string_equal(errs.items[1].rule, "regex");
	assert_int_equal(errs.items[1].line, 14);
	assert_string_equal(errs.items[2].rule, "duplicate");
	assert_int_equal(errs.items[2].line, 11);
	optreg_errors_release(&errs);

	/* Syntax errors come from the loader. */
	assert_int_equal(optreg_policy_load(&p, "x.json", "{", 1, &errs),
			 OPTREG_ESYNTAX);
	optreg_errors_release(&errs);

	/* Unreadable file. */
	assert_int_equal(
		optreg_policy_load_file(&p, "/nonexistent/p.yaml", &errs),
		OPTREG_EIO);
	assert_string_equal(errs.items[0].rule, "io");
	optreg_errors_release(&errs);
}

static void test_limits(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy *p = NULL;
	struct optreg_buf b = OPTREG_BUF_INIT;

	(void)state;
	optreg_buf_adds(&b, "{\"apiVersion\":\"optreg/v1\",\"kind\":\"Policy\","
			    "\"name\":\"x\",\"namespaces\":[\"*\"],"
			    "\"rules\":[");
	for (int i = 0; i <= OPTREG_POLICY_MAX_RULES; i++)
		optreg_buf_addf(&b,
				"%s{\"id\":\"r%d\",\"severity\":\"warn\","
				"\"field\":\"spec.lr\",\"at_most\":1,"
				"\"message\":\"m\"}",
				i ? "," : "", i);
	optreg_buf_adds(&b, "]}");
	assert_int_equal(optreg_policy_load(&p, NULL, b.data, b.len, &errs),
			 OPTREG_ELIMIT);
	assert_string_equal(errs.items[0].rule, "limit");
	assert_string_equal(errs.items[0].path, "rules");
	optreg_errors_release(&errs);
	optreg_buf_release(&b);
}

static void test_gate_merge(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy *a = NULL, *b = NULL;
	struct optreg_gate g;
	static const char pa[] = "apiVersion: optreg/v1\n"
				 "kind: Policy\n"
				 "name: prod-gate\n"
				 "namespaces: [\"*\"]\n"
				 "gates:\n"
				 "  - tags: [prod]\n"
				 "    allow_warn: true\n";
	static const char pb[] = "apiVersion: optreg/v1\n"
				 "kind: Policy\n"
				 "name: nlp-release\n"
				 "namespaces: [\"team-nlp\"]\n"
				 "gates:\n"
				 "  - tags: [\"release-*\", prod]\n";

	(void)state;
	assert_int_equal(optreg_policy_load(&a, NULL, pa, strlen(pa), &errs),
			 0);
	assert_int_equal(optreg_policy_load(&b, NULL, pb, strlen(pb), &errs),
			 0);
	const struct optreg_policy *ps[] = {a, b};
	optreg_policy_gate(ps, 2, "vision", "prod", &g);
	assert_true(g.gated);
	assert_true(g.allow_warn);
	assert_string_equal(g.policy, "prod-gate");
	optreg_policy_gate(ps, 2, "team-nlp", "prod", &g);
	assert_true(g.gated);
	assert_false(g.allow_warn); /* the strictest wins */
	optreg_policy_gate(ps, 2, "team-nlp", "release-1", &g);
	assert_true(g.gated);
	assert_string_equal(g.policy, "nlp-release");
	optreg_policy_gate(ps, 2, "vision", "release-1", &g);
	assert_false(g.gated);
	optreg_policy_gate(ps, 2, "vision", "staging", &g);
	assert_false(g.gated);
	optreg_policy_free(a);
	optreg_policy_free(b);
	optreg_policy_free(NULL);
}

static void test_waivers_from_json(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_waiver *w;
	size_t n;
	time_t t;

	(void)state;
	assert_int_equal(optreg_policy_time_parse("1970-01-02T00:00:00Z", &t),
			 0);
	assert_int_equal(t, 86400);
	assert_int_equal(
		optreg_policy_time_parse("1970-01-02T01:00:00.5+01:00", &t), 0);
	assert_int_equal(t, 86400);
	assert_int_equal(optreg_policy_time_parse("yesterday", &t),
			 OPTREG_EINVAL);

	json_t *j = json_loads(
		"{\"waivers\": [{\"id\": \"wvr_a\", \"policy\": \"p\", "
		"\"rule\": \"r\", \"namespace\": \"ns\", \"config\": \"*\", "
		"\"expires_at\": \"2030-01-01T00:00:00Z\"}]}",
		0, NULL);
	assert_int_equal(optreg_policy_waivers_from_json(j, &w, &n, &errs), 0);
	assert_int_equal(n, 1);
	assert_string_equal(w[0].namespace_, "ns");
	assert_true(w[0].expires_at > 1800000000);
	free(w);
	json_decref(j);

	j = json_loads("[{\"policy\": \"p\", \"namespace\": \"ns\", "
		       "\"config\": \"*\", \"expires_at\": \"soon\"}]",
		       0, NULL);
	assert_int_equal(optreg_policy_waivers_from_json(j, &w, &n, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].path, "waivers[0].rule");
	assert_string_equal(errs.items[1].path, "waivers[0].expires_at");
	optreg_errors_release(&errs);
	json_decref(j);

	/* A namespace glob is no namespace: refused, naming the field. */
	j = json_loads("[{\"policy\": \"p\", \"rule\": \"r\", "
		       "\"namespace\": \"team-*\", \"config\": \"*\", "
		       "\"expires_at\": \"2030-01-01T00:00:00Z\"}]",
		       0, NULL);
	assert_int_equal(optreg_policy_waivers_from_json(j, &w, &n, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].path, "waivers[0].namespace");
	optreg_errors_release(&errs);
	json_decref(j);
}

static void test_regex_check(void **state)
{
	char big[OPTREG_REGEX_MAX + 2];

	(void)state;
	/* Allowed: what configs and the default policies write. */
	assert_null(optreg_regex_check("(bias|norm)"));
	assert_null(optreg_regex_check("^[a-z]{1,255}(-v[0-9]{1,3})?$"));
	assert_null(optreg_regex_check("(ab{2})*"));
	assert_null(optreg_regex_check("[\\1]x")); /* a bracket: no backref */
	assert_null(optreg_regex_check("a{,3}b{2,}c{3}"));
	assert_null(optreg_regex_check("x{y}"));
	assert_null(optreg_regex_check("^(FP16|[Ff]loat16|[Hh]alf)$"));
	/* Backreferences: CVE-2019-9192 and exponential regexec. */
	assert_non_null(optreg_regex_check("(|)(\\1\\1)*"));
	assert_non_null(optreg_regex_check("((a*)*\\2)*b"));
	/* Counts above 255, and bounds over groups that hold bounds. */
	assert_non_null(optreg_regex_check("a{256}"));
	assert_non_null(optreg_regex_check("a{1,99999999999999999999}"));
	assert_non_null(optreg_regex_check("((a{1,1000}){1,1000}){1,1000}"));
	assert_non_null(optreg_regex_check("((a{1,9}b){1,9}){1,9}"));
	assert_non_null(optreg_regex_check("((a{2}))?{3}"));
	/* + and {m,n} copy what they repeat: at most 3 deep, nested or
	 * stacked (a with 49 + ran regcomp out of memory: fuzz_suite). */
	assert_null(optreg_regex_check("a+++"));
	assert_null(optreg_regex_check("((a+)+)+"));
	assert_null(optreg_regex_check("(ab+)+c+x{2}"));
	assert_non_null(optreg_regex_check("a++++"));
	assert_non_null(optreg_regex_check("(((a+)+)+)+"));
	assert_non_null(optreg_regex_check("a{1,}{1,}{1,}{1,}"));
	assert_non_null(optreg_regex_check("a+*+*+*+"));
	/* Length. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_non_null(optreg_regex_check(big));
	big[OPTREG_REGEX_MAX] = '\0';
	assert_null(optreg_regex_check(big));
}

static void test_time_parse_refuses_impossible(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(optreg_policy_time_parse("2024-02-29T00:00:00Z", &t),
			 0);
	assert_int_equal(optreg_policy_time_parse("2000-02-29T00:00:00Z", &t),
			 0);
	assert_int_equal(optreg_policy_time_parse("2026-12-31T23:59:60Z", &t),
			 0);
	assert_int_equal(
		optreg_policy_time_parse("2026-01-31T12:00:00+23:59", &t), 0);
	static const char *const bad[] = {
		"2026-02-29T00:00:00Z", /* not a leap year */
		"1900-02-29T00:00:00Z", /* century, not a leap year */
		"2026-02-30T00:00:00Z",	     "2026-04-31T00:00:00Z",
		"2026-06-31T00:00:00Z",	     "2026-09-31T00:00:00Z",
		"2026-11-31T00:00:00Z",	     "2026-00-10T00:00:00Z",
		"2026-13-01T00:00:00Z",	     "2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",	     "2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z",	     "2026-01-01T00:00:61Z",
		"2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00-23:60",
		"2026-01-01T00:00:00+99:99",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (optreg_policy_time_parse(bad[i], &t) != OPTREG_EINVAL)
			fail_msg("accepted %s", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_accessors),
		cmocka_unit_test(test_evaluate_plain),
		cmocka_unit_test(test_change_rule),
		cmocka_unit_test(test_waivers_and_modes),
		cmocka_unit_test(test_json_and_denials),
		cmocka_unit_test(test_load_errors_have_lines),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_gate_merge),
		cmocka_unit_test(test_waivers_from_json),
		cmocka_unit_test(test_regex_check),
		cmocka_unit_test(test_time_parse_refuses_impossible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
