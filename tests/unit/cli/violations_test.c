/*
 * tests/unit/cli/violations_test.c: policy violations as the CLI prints
 * them (cli/violations.c): the lint-like line with effect, policy,
 * version and rule; detail and hint; positions from the item or from the
 * document; filtering by effect; text from the registry made printable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "cli/cli.h"

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static const char deny[] =
	"{\"policy\": \"adam-defaults\", \"policy_version\": 3, \"rule\": "
	"\"lr-at-most-0.1\", \"severity\": \"deny\", \"effect\": \"deny\", "
	"\"path\": \"spec.lr\", \"message\": \"lr above 0.1 diverges\", "
	"\"detail\": \"spec.lr is 0.5\", \"hint\": \"lower spec.lr\"}";

static void test_format(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *v = parse(deny);

	(void)state;
	cli_violation_format(v, NULL, NULL, &b);
	assert_string_equal(b.data, "spec.lr: lr above 0.1 diverges [deny "
				    "adam-defaults@3/lr-at-most-0.1]\n"
				    "  detail: spec.lr is 0.5\n"
				    "  hint: lower spec.lr\n");
	optreg_buf_reset(&b);
	json_object_set_new(v, "line", json_integer(7));
	json_object_set_new(v, "col", json_integer(5));
	cli_violation_format(v, "c.yaml", NULL, &b);
	assert_string_equal(b.data,
			    "c.yaml:7:5: spec.lr: lr above 0.1 diverges [deny "
			    "adam-defaults@3/lr-at-most-0.1]\n"
			    "  detail: spec.lr is 0.5\n"
			    "  hint: lower spec.lr\n");
	optreg_buf_release(&b);
	json_decref(v);
}

/* A document at hand locates the path; waived items name the waiver and
 * leave the hint out. */
static void test_doc_and_waiver(void **state)
{
	static const char yaml[] = "spec:\n  optimizer: adam\n  lr: 0.5\n";
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf b = OPTREG_BUF_INIT;
	struct optreg_doc doc;
	json_t *v = parse(deny);

	(void)state;
	optreg_doc_init(&doc);
	assert_int_equal(optreg_doc_load_yaml(&doc, yaml, strlen(yaml), &errs),
			 0);
	json_object_set_new(v, "effect", json_string("waived"));
	json_object_set_new(v, "waiver", json_string("wvr_0123456789abcdef"));
	cli_violation_format(v, "c.yaml", &doc, &b);
	assert_string_equal(b.data,
			    "c.yaml:3:7: spec.lr: lr above 0.1 diverges "
			    "[waived adam-defaults@3/lr-at-most-0.1, waiver "
			    "wvr_0123456789abcdef]\n"
			    "  detail: spec.lr is 0.5\n");
	optreg_buf_release(&b);
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	json_decref(v);
}

static void test_filter_and_summary(void **state)
{
	json_t *list = json_array(), *w = parse(deny), *a = parse(deny);
	struct capture cap;
	size_t n;

	(void)state;
	json_object_set_new(w, "effect", json_string("warn"));
	json_object_set_new(w, "message", json_string("bad\x1b[31m"));
	json_object_del(w, "detail");
	json_object_del(w, "hint");
	json_object_set_new(a, "effect", json_string("audit"));
	json_array_append_new(list, parse(deny));
	json_array_append_new(list, w);
	json_array_append_new(list, a);
	capture_begin(&cap);
	n = cli_violations_print(stdout, "warning: ", list, CLI_EFFECT_WARN,
				 NULL, NULL);
	cli_violations_summary(stderr, "submit", list);
	capture_end(&cap);
	assert_int_equal(n, 1);
	assert_string_equal(cap.text[0],
			    "warning: spec.lr: bad\\u001b[31m [warn "
			    "adam-defaults@3/lr-at-most-0.1]\n");
	assert_string_equal(cap.text[1],
			    "warning: spec.lr: bad\\u001b[31m [warn "
			    "adam-defaults@3/lr-at-most-0.1]\n"
			    "optreg submit: policies: 1 warning, 0 waived, 1 "
			    "audited\n");
	capture_release(&cap);

	/* Nothing to say: nothing printed. */
	capture_begin(&cap);
	cli_violations_summary(stderr, "submit", NULL);
	capture_end(&cap);
	assert_string_equal(cap.text[1], "");
	capture_release(&cap);
	json_decref(list);
}

static void test_effect_bits(void **state)
{
	(void)state;
	assert_int_equal(cli_effect_bit("deny"), CLI_EFFECT_DENY);
	assert_int_equal(cli_effect_bit("warn"), CLI_EFFECT_WARN);
	assert_int_equal(cli_effect_bit("audit"), CLI_EFFECT_AUDIT);
	assert_int_equal(cli_effect_bit("waived"), CLI_EFFECT_WAIVED);
	assert_int_equal(cli_effect_bit("other"), 0);
	assert_int_equal(cli_effect_bit(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_doc_and_waiver),
		cmocka_unit_test(test_filter_and_summary),
		cmocka_unit_test(test_effect_bits),
	};

	return cmocka_run_group_tests_name("cli/violations", tests, NULL, NULL);
}
