/*
 * tests/unit/common/path_test.c: finding files beside the executable, in a
 * temporary tree shaped like a checkout (bin/, build/asan/bin/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/path.h"

static char root[] = "/tmp/optreg-path-test.XXXXXX";

static void mk(const char *rel, bool dir)
{
	char *p = optreg_xasprintf("%s/%s", root, rel);
	if (dir) {
		assert_int_equal(mkdir(p, 0755), 0);
	} else {
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fclose(f);
	}
	free(p);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(root))
		return -1;
	mk("bin", true);
	mk("build", true);
	mk("build/asan", true);
	mk("build/asan/bin", true);
	mk("migrations", true);
	mk("runner", true);
	mk("runner/suites", true);
	mk("runner/suites/ref-v2.yaml", false);
	mk("tests", true);
	mk("tests/testdata", true);
	mk("tests/testdata/torch-adam", true);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = optreg_xasprintf("rm -rf '%s'", root);
	(void)state;
	int rc = system(cmd);
	free(cmd);
	return rc;
}

static void expect(const char *exe_rel, const char *rel,
		   enum optreg_path_kind kind, int levels, const char *want)
{
	char *exe = optreg_xasprintf("%s/%s", root, exe_rel);
	char *got = optreg_path_beside(exe, rel, kind, levels);

	if (!want) {
		assert_null(got);
	} else {
		char *w = optreg_xasprintf("%s/%s", root, want);
		assert_non_null(got);
		assert_string_equal(got, w);
		free(w);
	}
	free(got);
	free(exe);
}

static void test_beside(void **state)
{
	(void)state;
	/* The registry: <exe dir>/../migrations, one level only. */
	expect("bin/optreg-server", "../migrations", OPTREG_PATH_DIR, 1,
	       "bin/../migrations");
	expect("build/asan/bin/optreg-server", "../migrations", OPTREG_PATH_DIR,
	       1, NULL);
	/* The runner: walk up to four directories. */
	expect("bin/optreg-runner", "tests/testdata/torch-adam",
	       OPTREG_PATH_DIR, 4, "tests/testdata/torch-adam");
	expect("build/asan/bin/optreg-runner", "tests/testdata/torch-adam",
	       OPTREG_PATH_DIR, 4, "tests/testdata/torch-adam");
	expect("build/asan/bin/optreg-runner", "tests/testdata/torch-adam",
	       OPTREG_PATH_DIR, 3, NULL);
	expect("build/asan/bin/optreg-runner", "runner/suites/ref-v2.yaml",
	       OPTREG_PATH_FILE, 4, "runner/suites/ref-v2.yaml");
	/* The kind must match. */
	expect("bin/optreg-runner", "runner/suites/ref-v2.yaml",
	       OPTREG_PATH_DIR, 4, NULL);
	expect("bin/optreg-runner", "runner/suites", OPTREG_PATH_FILE, 4, NULL);
	/* No slash: nothing to walk. */
	assert_null(optreg_path_beside("optreg", "bin", OPTREG_PATH_DIR, 4));
}

static void test_beside_exe(void **state)
{
	char *p;

	(void)state;
	setenv("OPTREG_PATH_TEST", "/some/where", 1);
	p = optreg_path_beside_exe("OPTREG_PATH_TEST", "no-such-thing",
				   OPTREG_PATH_DIR, 4, "fallback");
	assert_string_equal(p, "/some/where");
	free(p);
	setenv("OPTREG_PATH_TEST", "", 1);
	p = optreg_path_beside_exe("OPTREG_PATH_TEST", "no-such-thing-x",
				   OPTREG_PATH_DIR, 4, "fallback");
	assert_string_equal(p, "fallback");
	free(p);
	unsetenv("OPTREG_PATH_TEST");
	/* This test program is build/<kind>/tests/common/path_test: the
	 * checkout's Makefile is four directories up. */
	p = optreg_path_beside_exe("OPTREG_PATH_TEST", "Makefile",
				   OPTREG_PATH_FILE, 5, "none");
	assert_string_not_equal(p, "none");
	assert_int_equal(access(p, R_OK), 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_beside),
		cmocka_unit_test(test_beside_exe),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
