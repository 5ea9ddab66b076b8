/*
 * tests/unit/cli/policy_test.c: which files `optreg policy push` takes
 * (cli/policy.c): files as given, a folder's policy files in name order
 * without hidden files, other extensions or subfolders, and a folder
 * without any refused with a message.
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

#include "capture.h"
#include "cli/cli.h"

static char dir[64];

static void touch(const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static int setup(void **state)
{
	char path[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/optreg-policy-test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	touch("b.yml");
	touch("a.yaml");
	touch("c.json");
	touch("notes.txt");
	touch(".hidden.yaml");
	snprintf(path, sizeof(path), "%s/tests", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/tests/t.yaml", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/sub.yaml", dir);
	mkdir(path, 0700); /* a folder named like a policy file */
	snprintf(path, sizeof(path), "%s/empty", dir);
	mkdir(path, 0700);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void test_folder(void **state)
{
	char with_slash[128], **list = NULL;
	const char *args[2];
	size_t n = 0;

	(void)state;
	args[0] = dir;
	assert_int_equal(cli_policy_files(args, 1, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_true(strstr(list[0], "/a.yaml") != NULL);
	assert_true(strstr(list[1], "/b.yml") != NULL);
	assert_true(strstr(list[2], "/c.json") != NULL);
	assert_int_equal(strncmp(list[0], dir, strlen(dir)), 0);
	assert_int_equal(list[0][strlen(dir)], '/');
	free_list(list, n);

	/* A trailing slash is not doubled; files stay as given, in order. */
	snprintf(with_slash, sizeof(with_slash), "%s/", dir);
	args[0] = "x.yaml";
	args[1] = with_slash;
	assert_int_equal(cli_policy_files(args, 2, &list, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(list[0], "x.yaml");
	assert_null(strstr(list[1], "//"));
	free_list(list, n);
}

static void test_empty_folder(void **state)
{
	char path[128], **list = NULL, want[256];
	const char *args[1] = {path};
	struct capture cap;
	size_t n = 0;
	int rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/empty", dir);
	capture_begin(&cap);
	rc = cli_policy_files(args, 1, &list, &n);
	capture_end(&cap);
	assert_int_equal(rc, OPTREG_EXIT_USAGE);
	snprintf(want, sizeof(want),
		 "optreg policy: %s has no policy files\n"
		 "  hint: policy files end in .yaml, .yml or .json\n",
		 path);
	assert_string_equal(cap.text[1], want);
	capture_release(&cap);
	free_list(list, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folder),
		cmocka_unit_test(test_empty_folder),
	};

	return cmocka_run_group_tests_name("cli/policy", tests, setup,
					   teardown);
}
