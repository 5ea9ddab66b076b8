/*
 * tests/unit/validator/doc_test.c: the JSON and YAML loaders of
 * validator/doc.c.
 *
 * One test per behaviour: equal trees for equal content, recorded YAML
 * positions, core-schema scalar resolution, and every refusal of the syntax
 * layer (docs/config.md, "Layers") with its rule and position.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"

#include <locale.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "validator/doc.h"

/* The example of docs/config.md, in both syntaxes. */
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

static const char example_json[] =
	"{\"apiVersion\": \"optreg/v1\", \"kind\": \"OptimizerConfig\",\n"
	" \"metadata\": {\"namespace\": \"team-nlp\",\n"
	"   \"name\": \"bert-base-finetune\",\n"
	"   \"labels\": {\"model\": \"bert-base\", \"task\": \"glue\"},\n"
	"   \"description\": \"fine-tune recipe for GLUE\"},\n"
	" \"spec\": {\"optimizer\": \"adamw\", \"lr\": 3.0e-5,\n"
	"   \"betas\": [0.9, 0.999], \"eps\": 1.0e-8, \"weight_decay\": 0.01,\n"
	"   \"amsgrad\": false, \"maximize\": false, \"grad_clip_norm\": 1.0,\n"
	"   \"schedule\": {\"kind\": \"cosine\", \"warmup_steps\": 500,\n"
	"     \"total_steps\": 10000, \"min_lr\": 0.0},\n"
	"   \"param_groups\": [{\"match\": \"(bias|norm)\",\n"
	"     \"weight_decay\": 0.0}]}}\n";

/* ------------------------------------------------------------------------ */
/* Helpers */

static int load_yaml(struct optreg_doc *doc, struct optreg_errors *errs,
		     const char *text)
{
	return optreg_doc_load_yaml(doc, text, strlen(text), errs);
}

static int load_json(struct optreg_doc *doc, struct optreg_errors *errs,
		     const char *text)
{
	return optreg_doc_load_json(doc, text, strlen(text), errs);
}

/* Loads `text` (YAML when `yaml`), expects one error and checks it. */
static void expect_refusal(bool yaml, const char *text, size_t len, int code,
			   const char *rule, const char *path, int line,
			   int col)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc;

	optreg_doc_init(&doc);
	rc = yaml ? optreg_doc_load_yaml(&doc, text, len, &errs)
		  : optreg_doc_load_json(&doc, text, len, &errs);
	if (rc != code || errs.len != 1)
		print_error("input: %s\n", text);
	assert_int_equal(rc, code);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, code);
	assert_string_equal(errs.items[0].rule, rule);
	if (path)
		assert_string_equal(errs.items[0].path, path);
	assert_int_equal(errs.items[0].line, line);
	assert_int_equal(errs.items[0].col, col);
	assert_non_null(errs.items[0].message);
	assert_null(doc.root);
	assert_int_equal(doc.nlocs, 0);
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
}

static void yaml_refused(const char *text, const char *rule, const char *path,
			 int line, int col)
{
	expect_refusal(true, text, strlen(text), OPTREG_ESYNTAX, rule, path,
		       line, col);
}

static void json_refused(const char *text, const char *rule, int line, int col)
{
	expect_refusal(false, text, strlen(text), OPTREG_ESYNTAX, rule, NULL,
		       line, col);
}

static void assert_loc(const struct optreg_doc *doc, const char *path, int line,
		       int col)
{
	const struct optreg_doc_loc *loc = optreg_doc_find(doc, path);

	if (!loc)
		print_error("no location for \"%s\"\n", path);
	assert_non_null(loc);
	assert_string_equal(loc->path, path);
	assert_int_equal(loc->line, line);
	assert_int_equal(loc->col, col);
}

/* Loads a one-value YAML document `v: <scalar>` and returns the value. */
static json_t *yaml_scalar(const char *scalar)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *text = optreg_xasprintf("v: %s\n", scalar);
	json_t *v;

	optreg_doc_init(&doc);
	if (load_yaml(&doc, &errs, text) != 0)
		print_error("scalar %s refused\n", scalar);
	assert_int_equal(errs.len, 0);
	v = json_incref(json_object_get(doc.root, "v"));
	assert_non_null(v);
	free(text);
	optreg_doc_release(&doc);
	return v;
}

static void assert_yaml_string(const char *scalar, const char *want)
{
	json_t *v = yaml_scalar(scalar);

	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), want);
	json_decref(v);
}

static void assert_yaml_number(const char *scalar, double want)
{
	json_t *v = yaml_scalar(scalar);

	if (!json_is_real(v))
		print_error("%s is not a number\n", scalar);
	assert_true(json_is_real(v));
	/* Exact: the loader must round as strtod does. */
	if (json_real_value(v) != want)
		print_error("%s: got %.17g, want %.17g\n", scalar,
			    json_real_value(v), want);
	assert_true(json_real_value(v) == want);
	json_decref(v);
}

static void assert_yaml_kind(const char *scalar, json_type type)
{
	json_t *v = yaml_scalar(scalar);

	assert_int_equal(json_typeof(v), type);
	json_decref(v);
}

/* ------------------------------------------------------------------------ */
/* Trees and locations */

static void test_yaml_and_json_give_equal_trees(void **state)
{
	struct optreg_doc y, j;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&y);
	optreg_doc_init(&j);
	assert_int_equal(load_yaml(&y, &errs, example_yaml), 0);
	assert_int_equal(load_json(&j, &errs, example_json), 0);
	assert_int_equal(errs.len, 0);
	assert_int_equal(y.format, OPTREG_DOC_YAML);
	assert_int_equal(j.format, OPTREG_DOC_JSON);
	assert_true(json_equal(y.root, j.root));
	/* Every number is a real, integers included. */
	assert_true(json_is_real(json_object_get(
		json_object_get(json_object_get(y.root, "spec"), "schedule"),
		"warmup_steps")));
	assert_true(json_is_real(json_object_get(
		json_object_get(json_object_get(j.root, "spec"), "schedule"),
		"warmup_steps")));
	optreg_doc_release(&y);
	optreg_doc_release(&j);
}

static void test_json_records_no_locations(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_json(&doc, &errs, example_json), 0);
	assert_int_equal(doc.nlocs, 0);
	assert_null(optreg_doc_find(&doc, ""));
	optreg_doc_release(&doc);
}

static void test_yaml_records_value_locations(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, example_yaml), 0);
	assert_loc(&doc, "", 1, 1);
	assert_loc(&doc, "apiVersion", 1, 13);
	assert_loc(&doc, "metadata", 4, 3);
	assert_loc(&doc, "metadata.namespace", 4, 14);
	assert_loc(&doc, "metadata.labels", 6, 11);
	assert_loc(&doc, "metadata.labels.model", 6, 19);
	assert_loc(&doc, "metadata.labels.task", 6, 36);
	assert_loc(&doc, "spec.lr", 10, 7);
	assert_loc(&doc, "spec.betas", 11, 10);
	assert_loc(&doc, "spec.betas[0]", 11, 11);
	assert_loc(&doc, "spec.betas[1]", 11, 16);
	assert_loc(&doc, "spec.schedule.min_lr", 21, 13);
	assert_loc(&doc, "spec.param_groups", 23, 5);
	assert_loc(&doc, "spec.param_groups[0]", 23, 7);
	assert_loc(&doc, "spec.param_groups[0].match", 23, 14);
	assert_loc(&doc, "spec.param_groups[0].weight_decay", 24, 21);
	optreg_doc_release(&doc);
}

static void test_yaml_empty_value_location(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, "a:\n  b:\n  c: 1\n"), 0);
	assert_true(json_is_null(
		json_object_get(json_object_get(doc.root, "a"), "b")));
	assert_loc(&doc, "a.b", 2, 5);
	assert_loc(&doc, "a.c", 3, 6);
	optreg_doc_release(&doc);
}

static void test_yaml_quoted_key_paths(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs,
				   "metadata:\n"
				   "  labels:\n"
				   "    \"a b\": x\n"
				   "    bert.v1: y\n"
				   "\"top key\": [1]\n"),
			 0);
	assert_loc(&doc, "metadata.labels[\"a b\"]", 3, 12);
	assert_loc(&doc, "metadata.labels[\"bert.v1\"]", 4, 14);
	assert_loc(&doc, "[\"top key\"]", 5, 12);
	assert_loc(&doc, "[\"top key\"][0]", 5, 13);
	optreg_doc_release(&doc);
}

static void test_doc_find_unknown_path(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, "a: [1]\n"), 0);
	assert_null(optreg_doc_find(&doc, "b"));
	assert_null(optreg_doc_find(&doc, "a[1]"));
	assert_non_null(optreg_doc_find(&doc, "a[0]"));
	optreg_doc_release(&doc);
}

static void test_yaml_empty_stream_is_null(void **state)
{
	static const char *const inputs[] = {"", "# only a comment\n", "\n\n"};
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		assert_int_equal(load_yaml(&doc, &errs, inputs[i]), 0);
		assert_true(json_is_null(doc.root));
		assert_loc(&doc, "", 1, 1);
	}
	assert_int_equal(errs.len, 0);
	optreg_doc_release(&doc);
}

/* ------------------------------------------------------------------------ */
/* Scalars */

static void test_core_schema_resolution(void **state)
{
	(void)state;
	/* YAML 1.1 booleans are strings in 1.2. */
	assert_yaml_string("yes", "yes");
	assert_yaml_string("no", "no");
	assert_yaml_string("on", "on");
	assert_yaml_string("Off", "Off");
	assert_yaml_string("y", "y");
	/* Quoted and block scalars are always strings. */
	assert_yaml_string("\"1.0\"", "1.0");
	assert_yaml_string("'true'", "true");
	assert_yaml_string("\"null\"", "null");
	assert_yaml_string("''", "");
	assert_yaml_string("|\n  12\n", "12\n");
	/* Not numbers in the core schema. */
	assert_yaml_string("1_000", "1_000");
	assert_yaml_string("0b101", "0b101");
	assert_yaml_string("1.2.3", "1.2.3");
	assert_yaml_string("0x", "0x");
	assert_yaml_string("0o8", "0o8");
	assert_yaml_string("-0x1", "-0x1");
	assert_yaml_string("1e", "1e");
	assert_yaml_string("inf", "inf");
	assert_yaml_string("nan", "nan");
	assert_yaml_string("1:30", "1:30");
	/* Null and booleans. */
	assert_yaml_kind("~", JSON_NULL);
	assert_yaml_kind("null", JSON_NULL);
	assert_yaml_kind("Null", JSON_NULL);
	assert_yaml_kind("NULL", JSON_NULL);
	assert_yaml_kind("", JSON_NULL);
	assert_yaml_string("nULL", "nULL");
	assert_yaml_kind("true", JSON_TRUE);
	assert_yaml_kind("True", JSON_TRUE);
	assert_yaml_kind("TRUE", JSON_TRUE);
	assert_yaml_kind("false", JSON_FALSE);
	assert_yaml_kind("False", JSON_FALSE);
	assert_yaml_kind("FALSE", JSON_FALSE);
	assert_yaml_string("tRUE", "tRUE");
	/* Numbers. */
	assert_yaml_number("1e-8", 1e-8);
	assert_yaml_number("3.0e-5", 3.0e-5);
	assert_yaml_number("0x1F", 31);
	assert_yaml_number("0xff", 255);
	assert_yaml_number("0o17", 15);
	assert_yaml_number(".5", 0.5);
	assert_yaml_number("-.5", -0.5);
	assert_yaml_number("+12", 12);
	assert_yaml_number("007", 7);
	assert_yaml_number("1.", 1);
	assert_yaml_number("1E3", 1000);
	assert_yaml_number("2e+2", 200);
	assert_yaml_number("500", 500);
}

static void test_numbers_are_correctly_rounded(void **state)
{
	json_t *v;

	(void)state;
	assert_yaml_number("0.1", 0.1);
	assert_yaml_number("0.999", 0.999);
	assert_yaml_number("12345678901234567890", 12345678901234567890.0);
	assert_yaml_number("9007199254740993", 9007199254740992.0);
	assert_yaml_number("2.2250738585072011e-308", 2.2250738585072011e-308);
	/* 2^68 - 1 rounds to 2^68 in hex and octal spellings alike. */
	assert_yaml_number("0xFFFFFFFFFFFFFFFFF", 295147905179352825856.0);
	assert_yaml_number("0o37777777777777777777777",
			   295147905179352825856.0);
	/* 2^66 + 1 rounds to 2^66. */
	assert_yaml_number("0o10000000000000000000001", 73786976294838206464.0);
	/* Underflow is a (signed) zero, as in the JSON loader. */
	assert_yaml_number("1e-400", 0);
	v = yaml_scalar("-0");
	assert_true(json_real_value(v) == 0 && signbit(json_real_value(v)));
	json_decref(v);
}

static void test_numbers_ignore_locale(void **state)
{
	(void)state;
	if (!test_use_comma_locale())
		fail_msg("cannot switch to a comma-decimal locale; is Debian's "
			 "locales package (localedef) installed?");
	assert_yaml_number("0.25", 0.25);
	assert_yaml_number("3.0e-5", 3.0e-5);
	test_restore_locale();
}

static void test_core_tags_apply(void **state)
{
	json_t *v;

	(void)state;
	assert_yaml_string("!!str 1", "1");
	assert_yaml_string("!!str true", "true");
	assert_yaml_string("!!str", "");
	assert_yaml_string("! 12", "12");
	assert_yaml_string("!<tag:yaml.org,2002:str> 5", "5");
	assert_yaml_number("!!int \"31\"", 31);
	assert_yaml_number("!!int 0x1F", 31);
	assert_yaml_number("!!float 1", 1);
	assert_yaml_number("!!float '2.5'", 2.5);
	assert_yaml_kind("!!bool \"true\"", JSON_TRUE);
	assert_yaml_kind("!!null ''", JSON_NULL);
	assert_yaml_kind("!!null", JSON_NULL);
	v = yaml_scalar("!!map {a: 1}");
	assert_true(json_is_object(v));
	json_decref(v);
	v = yaml_scalar("!!seq [1]");
	assert_true(json_is_array(v));
	json_decref(v);
	v = yaml_scalar("! [1]");
	assert_true(json_is_array(v));
	json_decref(v);
}

/* ------------------------------------------------------------------------ */
/* Refusals */

static void test_unknown_tag_refused(void **state)
{
	(void)state;
	yaml_refused("a: 1\nb: !foo x\n", "tag", "b", 2, 4);
	yaml_refused("a: !!binary aGk=\n", "tag", "a", 1, 4);
	yaml_refused("a:\n  - !!set {x}\n", "tag", "a[0]", 2, 5);
	yaml_refused("!!timestamp 2001-12-14\n", "tag", "", 1, 1);
	yaml_refused("a: !<tag:example.com,2000:x> 1\n", "tag", "a", 1, 4);
}

static void test_tag_mismatch_refused(void **state)
{
	(void)state;
	yaml_refused("a: !!int abc\n", "tag", "a", 1, 4);
	yaml_refused("a: !!int 1.5\n", "tag", "a", 1, 4);
	yaml_refused("a: !!float 0x1F\n", "tag", "a", 1, 4);
	yaml_refused("a: !!bool yes\n", "tag", "a", 1, 4);
	yaml_refused("a: !!null 0\n", "tag", "a", 1, 4);
	yaml_refused("a: !!map x\n", "tag", "a", 1, 4);
	yaml_refused("a: !!str [1]\n", "tag", "a", 1, 4);
	yaml_refused("a: !!seq {b: 1}\n", "tag", "a", 1, 4);
}

static void test_yaml_alias_refused(void **state)
{
	(void)state;
	yaml_refused("a: &x 1\nb: *x\n", "alias", "a", 1, 4);
	yaml_refused("a: [1, *x]\n", "alias", "a[1]", 1, 8);
}

static void test_yaml_anchor_refused(void **state)
{
	(void)state;
	yaml_refused("a:\n  b: &anchor {c: 1}\n", "alias", "a.b", 2, 6);
	yaml_refused("a: &s [1]\n", "alias", "a", 1, 4);
	yaml_refused("&k a: 1\n", "alias", "", 1, 1);
}

static void test_yaml_complex_key_refused(void **state)
{
	(void)state;
	yaml_refused("a:\n  ? [1, 2]\n  : x\n", "key_type", "a", 2, 5);
	yaml_refused("{a: 1}: x\n", "key_type", "", 1, 1);
}

static void test_yaml_null_key_refused(void **state)
{
	(void)state;
	yaml_refused("a:\n  ~: x\n", "key_type", "a", 2, 3);
	yaml_refused("null: x\n", "key_type", "", 1, 1);
	yaml_refused("a: 1\n?\n: x\n", "key_type", "", 2, 2);
	yaml_refused("!!int 1: x\n", "key_type", "", 1, 1);
}

static void test_yaml_scalar_keys_are_their_text(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs,
				   "1: a\n1.0: b\ntrue: c\n\"~\": d\n"
				   "!!str null: e\n"),
			 0);
	assert_string_equal(json_string_value(json_object_get(doc.root, "1")),
			    "a");
	assert_string_equal(json_string_value(json_object_get(doc.root, "1.0")),
			    "b");
	assert_string_equal(
		json_string_value(json_object_get(doc.root, "true")), "c");
	assert_string_equal(json_string_value(json_object_get(doc.root, "~")),
			    "d");
	assert_string_equal(
		json_string_value(json_object_get(doc.root, "null")), "e");
	optreg_doc_release(&doc);
}

static void test_yaml_duplicate_key_refused(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	yaml_refused("spec:\n  lr: 1\n  eps: 2\n  lr: 3\n", "duplicate_key",
		     "spec.lr", 4, 3);
	/* Quoting does not make a key different. */
	yaml_refused("{a: 1, \"a\": 2}\n", "duplicate_key", "a", 1, 8);
	yaml_refused("x: [{k: 1, k: 2}]\n", "duplicate_key", "x[0].k", 1, 12);

	/* The detail points at the first occurrence. */
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, "a: 1\nb: 2\na: 3\n"),
			 OPTREG_ESYNTAX);
	assert_non_null(errs.items[0].detail);
	assert_non_null(strstr(errs.items[0].detail, "line 1, column 4"));
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
}

static void test_json_duplicate_key_refused(void **state)
{
	(void)state;
	json_refused("{\"a\": 1,\n \"a\": 2}", "duplicate_key", 2, 4);
	json_refused("{\"s\": {\"k\": 1, \"k\": 1}}", "duplicate_key", 1, 18);
}

static void test_yaml_multiple_documents_refused(void **state)
{
	(void)state;
	yaml_refused("a: 1\n---\nb: 2\n", "multiple_documents", "", 2, 1);
	yaml_refused("--- 1\n--- 2\n", "multiple_documents", "", 2, 1);
	yaml_refused("a: 1\n...\n---\na: 1\n", "multiple_documents", "", 3, 1);
}

static void test_yaml_single_explicit_document_accepted(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, "%YAML 1.2\n---\na: 1\n...\n"),
			 0);
	assert_true(json_is_object(doc.root));
	assert_loc(&doc, "a", 3, 4);
	optreg_doc_release(&doc);
}

static void test_yaml_non_finite_refused(void **state)
{
	(void)state;
	yaml_refused("a: .inf\n", "non_finite", "a", 1, 4);
	yaml_refused("a: -.Inf\n", "non_finite", "a", 1, 4);
	yaml_refused("a: +.INF\n", "non_finite", "a", 1, 4);
	yaml_refused("a: .nan\n", "non_finite", "a", 1, 4);
	yaml_refused("a: .NaN\n", "non_finite", "a", 1, 4);
	yaml_refused("b:\n  - 1\n  - 1e400\n", "non_finite", "b[1]", 3, 5);
	yaml_refused("a: -1e999\n", "non_finite", "a", 1, 4);
	yaml_refused("a: !!float .inf\n", "non_finite", "a", 1, 4);
	yaml_refused("a: 0x1000000000000000000000000000000000000000000000000000"
		     "000000000000000000000000000000000000000000000000000000000"
		     "000000000000000000000000000000000000000000000000000000000"
		     "000000000000000000000000000000000000000000000000000000000"
		     "000000000000000000000000000000000000\n",
		     "non_finite", "a", 1, 4);
}

static void test_json_non_finite_refused(void **state)
{
	char big[400];

	(void)state;
	json_refused("[1e400]", "non_finite", 1, 6);
	json_refused("{\"a\": -1e999}", "non_finite", 1, 12);
	memset(big, '9', sizeof(big));
	big[0] = '[';
	big[sizeof(big) - 2] = ']';
	big[sizeof(big) - 1] = '\0';
	expect_refusal(false, big, strlen(big), OPTREG_ESYNTAX, "non_finite",
		       NULL, 1, 398);
}

static void test_yaml_syntax_error(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	yaml_refused("a: b: c\n", "syntax", "", 1, 5);
	yaml_refused("a:\n  b: 1\n c: 2\n", "syntax", "", 3, 2);
	yaml_refused("a: [1, 2\n", "syntax", "", 2, 1);
	yaml_refused("a: \"unterminated\n", "syntax", "", 2, 1);

	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, "a: b: c\n"), OPTREG_ESYNTAX);
	assert_string_equal(errs.items[0].message,
			    "mapping values are not allowed in this context");
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
}

static void test_json_syntax_error(void **state)
{
	(void)state;
	json_refused("{\n  \"a\": x}", "syntax", 2, 8);
	json_refused("[1,]", "syntax", 1, 4);
	json_refused("", "syntax", 1, 0);
	json_refused("[NaN]", "syntax", 1, 4);
	json_refused("{} {}", "syntax", 1, 4);
}

static void test_invalid_utf8_refused(void **state)
{
	(void)state;
	yaml_refused("a: 1\nb: \xff\n", "syntax", "", 2, 4);
	yaml_refused("a: \"\xc0\xaf\"\n", "syntax", "", 1, 5);
	yaml_refused("a: \"\xed\xa0\x80\"\n", "syntax", "", 1, 5);
	json_refused("[\"\xff\"]", "syntax", 1, 2);
}

static void test_lone_surrogate_escape_refused(void **state)
{
	(void)state;
	yaml_refused("a: \"\\ud800\"\n", "syntax", "", 1, 7);
	yaml_refused("a: \"\\uDC00x\"\n", "syntax", "", 1, 7);
	json_refused("[\"\\ud800\"]", "syntax", 1, 9);
}

static void test_nul_refused(void **state)
{
	static const char raw[] = "a: x\0y\n";

	(void)state;
	yaml_refused("a: \"x\\0y\"\n", "syntax", "a", 1, 4);
	yaml_refused("\"k\\x00\": 1\n", "syntax", "", 1, 1);
	json_refused("[\"\\u0000\"]", "syntax", 1, 9);
	expect_refusal(true, raw, sizeof(raw) - 1, OPTREG_ESYNTAX, "syntax", "",
		       1, 5);
}

static char *nested(const char *open, const char *close, int levels,
		    const char *inner)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	for (int i = 0; i < levels; i++)
		optreg_buf_adds(&b, open);
	optreg_buf_adds(&b, inner);
	for (int i = 0; i < levels; i++)
		optreg_buf_adds(&b, close);
	return optreg_buf_detach(&b, NULL);
}

static void test_yaml_depth_limit(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *ok = nested("[", "]", OPTREG_DOC_MAX_DEPTH, "1");
	char *deep = nested("[", "]", OPTREG_DOC_MAX_DEPTH + 1, "1");
	char *deeper = nested("{a: ", "}", 5000, "1");

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, ok), 0);
	assert_int_equal(errs.len, 0);
	optreg_doc_release(&doc);
	expect_refusal(true, deep, strlen(deep), OPTREG_ELIMIT, "depth", NULL,
		       1, OPTREG_DOC_MAX_DEPTH + 1);
	expect_refusal(true, deeper, strlen(deeper), OPTREG_ELIMIT, "depth",
		       NULL, 1, 4 * OPTREG_DOC_MAX_DEPTH + 1);
	/* Block style: the 65th mapping starts on line 65. */
	{
		struct optreg_buf b = OPTREG_BUF_INIT;

		for (int i = 0; i <= OPTREG_DOC_MAX_DEPTH; i++) {
			for (int j = 0; j < i; j++)
				optreg_buf_addch(&b, ' ');
			optreg_buf_adds(&b, "k:\n");
		}
		expect_refusal(true, b.data, b.len, OPTREG_ELIMIT, "depth",
			       NULL, OPTREG_DOC_MAX_DEPTH + 1,
			       OPTREG_DOC_MAX_DEPTH + 1);
		optreg_buf_release(&b);
	}
	free(ok);
	free(deep);
	free(deeper);
}

static void test_json_depth_limit(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *ok = nested("[", "]", OPTREG_DOC_MAX_DEPTH, "\"[[\"");
	char *deep = nested("{\"a\":", "}", OPTREG_DOC_MAX_DEPTH + 1, "1");
	char *deeper = nested("[", "]", 5000, "1");

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_json(&doc, &errs, ok), 0);
	assert_int_equal(errs.len, 0);
	optreg_doc_release(&doc);
	expect_refusal(false, deep, strlen(deep), OPTREG_ELIMIT, "depth", NULL,
		       1, 5 * OPTREG_DOC_MAX_DEPTH + 1);
	expect_refusal(false, deeper, strlen(deeper), OPTREG_ELIMIT, "depth",
		       NULL, 1, OPTREG_DOC_MAX_DEPTH + 1);
	free(ok);
	free(deep);
	free(deeper);
}

static void test_failed_load_empties_doc(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(load_yaml(&doc, &errs, example_yaml), 0);
	assert_true(doc.nlocs > 0);
	/* A failure after many values have been built frees them all. */
	assert_int_equal(load_yaml(&doc, &errs, "a: [1, 2, {b: x}]\nc: *y\n"),
			 OPTREG_ESYNTAX);
	assert_null(doc.root);
	assert_null(doc.locs);
	assert_int_equal(doc.nlocs, 0);
	assert_int_equal(load_json(&doc, &errs, example_json), 0);
	assert_int_equal(load_json(&doc, &errs, "{\"a\": [1, 2"),
			 OPTREG_ESYNTAX);
	assert_null(doc.root);
	assert_int_equal(errs.len, 2);
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
}

/* ------------------------------------------------------------------------ */
/* Paths */

static void test_path_key_quoting(void **state)
{
	struct optreg_buf p = OPTREG_BUF_INIT;

	(void)state;
	optreg_doc_path_key(&p, "metadata");
	optreg_doc_path_key(&p, "labels");
	optreg_doc_path_key(&p, "a b");
	assert_string_equal(p.data, "metadata.labels[\"a b\"]");
	optreg_buf_reset(&p);
	optreg_doc_path_key(&p, "Model_v-2");
	assert_string_equal(p.data, "Model_v-2");
	optreg_buf_reset(&p);
	optreg_doc_path_key(&p, "");
	optreg_doc_path_key(&p, "x.y");
	optreg_doc_path_key(&p, "q\"\\\n\x01");
	optreg_doc_path_key(&p, "\xc3\xa9");
	assert_string_equal(p.data, "[\"\"][\"x.y\"][\"q\\\"\\\\\\n\\u0001\"]"
				    "[\"\xc3\xa9\"]");
	optreg_buf_release(&p);
}

static void test_path_index(void **state)
{
	struct optreg_buf p = OPTREG_BUF_INIT;

	(void)state;
	optreg_doc_path_index(&p, 0);
	assert_string_equal(p.data, "[0]");
	optreg_buf_reset(&p);
	optreg_doc_path_key(&p, "spec");
	optreg_doc_path_key(&p, "betas");
	optreg_doc_path_index(&p, 1);
	optreg_doc_path_key(&p, "x");
	optreg_doc_path_index(&p, 12);
	assert_string_equal(p.data, "spec.betas[1].x[12]");
	optreg_buf_release(&p);
}

/* ------------------------------------------------------------------------ */
/* Choosing a loader and files */

static void test_load_chooses_by_name_then_content(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(optreg_doc_load(&doc, "c.json", "[1]", 3, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_JSON);
	assert_int_equal(optreg_doc_load(&doc, "c.YAML", "[1]", 3, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_YAML);
	assert_int_equal(optreg_doc_load(&doc, "c.yml", "a: 1", 4, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_YAML);
	assert_int_equal(optreg_doc_load(&doc, NULL, " \n\t{}", 5, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_JSON);
	assert_int_equal(optreg_doc_load(&doc, "-", "a: 1", 4, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_YAML);
	assert_int_equal(optreg_doc_load(&doc, "x.txt", "", 0, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_YAML);
	/* The extension wins over the content. */
	assert_int_equal(optreg_doc_load(&doc, "c.json", "a: 1", 4, &errs),
			 OPTREG_ESYNTAX);
	assert_int_equal(errs.len, 1);
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
}

static void test_load_file_reads_and_positions(void **state)
{
	char path[] = "/tmp/optreg-doc-test-XXXXXX.yaml";
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int fd = mkstemps(path, 5);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(example_yaml, f);
	fclose(f);

	optreg_doc_init(&doc);
	assert_int_equal(optreg_doc_load_file(&doc, path, &errs), 0);
	assert_int_equal(doc.format, OPTREG_DOC_YAML);
	assert_loc(&doc, "spec.betas[1]", 11, 16);
	unlink(path);
	optreg_doc_release(&doc);
}

static void test_load_file_missing_is_eio(void **state)
{
	struct optreg_doc doc;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(
		optreg_doc_load_file(&doc, "/nonexistent/x.yaml", &errs),
		OPTREG_EIO);
	assert_null(doc.root);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EIO);
	assert_string_equal(errs.items[0].rule, "io");
	assert_string_equal(errs.items[0].message,
			    "cannot read file: No such file or directory");
	optreg_errors_release(&errs);
	optreg_doc_release(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_and_json_give_equal_trees),
		cmocka_unit_test(test_json_records_no_locations),
		cmocka_unit_test(test_yaml_records_value_locations),
		cmocka_unit_test(test_yaml_empty_value_location),
		cmocka_unit_test(test_yaml_quoted_key_paths),
		cmocka_unit_test(test_doc_find_unknown_path),
		cmocka_unit_test(test_yaml_empty_stream_is_null),
		cmocka_unit_test(test_core_schema_resolution),
		cmocka_unit_test(test_numbers_are_correctly_rounded),
		cmocka_unit_test(test_numbers_ignore_locale),
		cmocka_unit_test(test_core_tags_apply),
		cmocka_unit_test(test_unknown_tag_refused),
		cmocka_unit_test(test_tag_mismatch_refused),
		cmocka_unit_test(test_yaml_alias_refused),
		cmocka_unit_test(test_yaml_anchor_refused),
		cmocka_unit_test(test_yaml_complex_key_refused),
		cmocka_unit_test(test_yaml_null_key_refused),
		cmocka_unit_test(test_yaml_scalar_keys_are_their_text),
		cmocka_unit_test(test_yaml_duplicate_key_refused),
		cmocka_unit_test(test_json_duplicate_key_refused),
		cmocka_unit_test(test_yaml_multiple_documents_refused),
		cmocka_unit_test(test_yaml_single_explicit_document_accepted),
		cmocka_unit_test(test_yaml_non_finite_refused),
		cmocka_unit_test(test_json_non_finite_refused),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_json_syntax_error),
		cmocka_unit_test(test_invalid_utf8_refused),
		cmocka_unit_test(test_lone_surrogate_escape_refused),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_yaml_depth_limit),
		cmocka_unit_test(test_json_depth_limit),
		cmocka_unit_test(test_failed_load_empties_doc),
		cmocka_unit_test(test_path_key_quoting),
		cmocka_unit_test(test_path_index),
		cmocka_unit_test(test_load_chooses_by_name_then_content),
		cmocka_unit_test(test_load_file_reads_and_positions),
		cmocka_unit_test(test_load_file_missing_is_eio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
