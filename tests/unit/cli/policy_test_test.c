/*
 * tests/unit/cli/policy_test_test.c: `optreg policy test DIR`
 * (cmd_policy_test): the shipped policies pass their own tests, and a
 * failing test prints expected against actual.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "capture.h"
#include "cli/policy_dir.h"

static int run(struct capture *c, int argc, char **argv)
{
	capture_begin(c);
	int rc = cmd_policy_test(argc, argv);
	capture_end(c);
	return rc;
}

static void test_default_policies_pass(void **state)
{
	struct capture c;
	char *argv[] = {"test", "policies", NULL};

	(void)state;
	int rc = run(&c, 2, argv);
	if (rc)
		fprintf(stderr, "%s%s", c.text[0], c.text[1]);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(c.text[0], "PASS  lr above 0.1 is denied"));
	assert_null(strstr(c.text[0], "FAIL"));
	capture_release(&c);
}

/* Every rule of every shipped policy is named in some test's expect. */
static void test_every_default_rule_is_tested(void **state)
{
	struct cli_policy_set set;
	struct optreg_buf tests = OPTREG_BUF_INIT;
	static const char *const files[] = {"policies/tests/adam-defaults.yaml",
					    "policies/tests/prod-changes.yaml",
					    "policies/tests/prod-gate.yaml"};

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(optreg_buf_read_file(&tests, files[i]), 0);
	cli_policy_set_init(&set);
	assert_int_equal(cli_policy_set_load("test", "policies", &set, NULL),
			 0);
	assert_int_equal(set.len, 3);
	for (size_t i = 0; i < set.len; i++) {
		const struct optreg_buf *c =
			optreg_policy_canonical(set.items[i]);
		json_t *doc = json_loadb(c->data, c->len, 0, NULL);
		json_t *rule;
		size_t k;
		json_array_foreach(json_object_get(doc, "rules"), k, rule)
		{
			const char *id =
				json_string_value(json_object_get(rule, "id"));
			char *key = optreg_xasprintf("%s: ", id);
			if (!strstr(tests.data, key))
				fail_msg("rule %s/%s has no test",
					 optreg_policy_name(set.items[i]), id);
			free(key);
		}
		if (json_array_size(json_object_get(doc, "gates")))
			assert_non_null(strstr(tests.data, "gated: true"));
		json_decref(doc);
	}
	cli_policy_set_release(&set);
	optreg_buf_release(&tests);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_failure_shows_expected_and_actual(void **state)
{
	char dir[] = "/tmp/optreg-policy-test.XXXXXX";
	char path[256];
	struct capture c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.yaml", dir);
	write_file(path, "apiVersion: optreg/v1\n"
			 "kind: Policy\n"
			 "name: p\n"
			 "namespaces: [\"*\"]\n"
			 "rules:\n"
			 "  - id: lr-small\n"
			 "    severity: deny\n"
			 "    field: spec.lr\n"
			 "    at_most: 0.001\n"
			 "    message: too high\n");
	snprintf(path, sizeof(path), "%s/tests", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/tests/t.yaml", dir);
	write_file(
		path,
		"apiVersion: optreg/v1\n"
		"kind: PolicyTest\n"
		"tests:\n"
		"  - name: wrong expectation\n"
		"    config: {apiVersion: optreg/v1, kind: OptimizerConfig,\n"
		"      metadata: {namespace: a, name: b},\n"
		"      spec: {optimizer: adam, lr: 0.01, betas: [0.9, 0.999],"
		" eps: 1.0e-8, weight_decay: 0}}\n"
		"    expect: {lr-small: pass}\n"
		"  - name: unknown rule\n"
		"    config: {apiVersion: optreg/v1, kind: OptimizerConfig,\n"
		"      metadata: {namespace: a, name: b},\n"
		"      spec: {optimizer: adam, lr: 0.0001, betas: [0.9, "
		"0.999], eps: 1.0e-8, weight_decay: 0}}\n"
		"    expect: {no-such-rule: deny}\n"
		"  - name: invalid config\n"
		"    config: {apiVersion: optreg/v1}\n"
		"    expect: {lr-small: pass}\n"
		"  - name: wrong gate\n"
		"    gates: [{namespace: a, tag: prod, gated: true}]\n");
	char *argv[] = {"test", dir, NULL};
	int rc = run(&c, 2, argv);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(c.text[0], "FAIL  wrong expectation ("));
	assert_non_null(strstr(c.text[0], "lr-small: expected pass, got deny"));
	assert_non_null(strstr(c.text[0], "deny p/lr-small at spec.lr"));
	assert_non_null(strstr(c.text[0],
			       "no-such-rule: no such rule in the policies"));
	assert_non_null(strstr(c.text[0], "the config is not valid"));
	assert_non_null(strstr(c.text[0], "gate prod in a: expected "
					  "gated=true, got gated=false"));
	assert_non_null(strstr(c.text[0], "PASS: 0/4"));
	assert_non_null(strstr(c.text[0], "FAIL: 4/4"));
	capture_release(&c);

	/* Usage. */
	char *argv2[] = {"test", NULL};
	assert_int_equal(run(&c, 1, argv2), OPTREG_EXIT_USAGE);
	capture_release(&c);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_policies_pass),
		cmocka_unit_test(test_every_default_rule_is_tested),
		cmocka_unit_test(test_failure_shows_expected_and_actual),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
