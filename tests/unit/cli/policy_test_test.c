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
		"    expect: {lr-small: pass}\n");
	char *argv[] = {"test", dir, NULL};
	int rc = run(&c, 2, argv);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(c.text[0], "FAIL  wrong expectation ("));
	assert_non_null(strstr(c.text[0], "lr-small: expected pass, got deny"));
	assert_non_null(strstr(c.text[0], "deny p/lr-small at spec.lr"));
	assert_non_null(strstr(c.text[0],
			       "no-such-rule: no such rule in the policies"));
	assert_non_null(strstr(c.text[0], "the config is not valid"));
	assert_non_null(strstr(c.text[0], "PASS: 0/3"));
	assert_non_null(strstr(c.text[0], "FAIL: 3/3"));
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
		cmocka_unit_test(test_failure_shows_expected_and_actual),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
