/*
 * tests/unit/cli/inputs_test.c: the FILE arguments of lint and submit
 * (cli/inputs.c): directories walked recursively without hidden entries,
 * glob patterns with "**", each file once, what matches nothing, and the
 * order in which exit statuses win.
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

#include "cli/inputs.h"
#include "common/alloc.h"
#include "common/errcodes.h"

/* A tree in a new temporary directory:
 *   a.yaml b.json c.txt .hidden.yaml
 *   sub/d.yml sub/deep/e.yaml .git/f.yaml empty/ */
static char *make_tree(void)
{
	char tmpl[] = "/tmp/optreg-inputs-XXXXXX";
	char *dir = optreg_xstrdup(mkdtemp(tmpl));
	static const char *const files[] = {
		"a.yaml",    "b.json",		"c.txt",       ".hidden.yaml",
		"sub/d.yml", "sub/deep/e.yaml", ".git/f.yaml",
	};
	static const char *const dirs[] = {"sub", "sub/deep", ".git", "empty"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *p = optreg_xasprintf("%s/%s", dir, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = optreg_xasprintf("%s/%s", dir, files[i]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("x: 1\n", f);
		fclose(f);
		free(p);
	}
	return dir;
}

static void rm_tree(const char *dir)
{
	char *cmd = optreg_xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* The files of `in` relative to `dir`, joined with spaces. */
static char *listing(const struct cli_inputs *in, const char *dir)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	size_t n = strlen(dir);

	for (size_t i = 0; i < in->len; i++) {
		const char *f = in->files[i];
		if (!strncmp(f, dir, n) && f[n] == '/')
			f += n + 1;
		optreg_buf_addf(&b, "%s%s", i ? " " : "", f);
	}
	return optreg_buf_detach(&b, NULL);
}

static void test_directory(void **state)
{
	char *dir = make_tree(), *got;
	struct cli_inputs in;

	(void)state;
	cli_inputs_init(&in);
	cli_inputs_add(&in, "lint", dir);
	got = listing(&in, dir);
	/* Config names only, no hidden entries, files before subdirs. */
	assert_string_equal(got, "a.yaml b.json sub/d.yml sub/deep/e.yaml");
	assert_int_equal(in.status, 0);
	free(got);
	/* The same directory again adds nothing. */
	cli_inputs_add(&in, "lint", dir);
	assert_int_equal(in.len, 4);
	cli_inputs_release(&in);
	rm_tree(dir);
	free(dir);
}

static void test_globs(void **state)
{
	char *dir = make_tree(), *got, *pat;
	struct cli_inputs in;

	(void)state;
	cli_inputs_init(&in);
	pat = optreg_xasprintf("%s/*.yaml", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	got = listing(&in, dir);
	assert_string_equal(got, "a.yaml");
	free(got);
	cli_inputs_release(&in);

	/* "**" is zero or more directories. */
	cli_inputs_init(&in);
	pat = optreg_xasprintf("%s/**/*.y*ml", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	got = listing(&in, dir);
	assert_string_equal(got, "a.yaml sub/d.yml sub/deep/e.yaml");
	free(got);
	cli_inputs_release(&in);

	/* A pattern that matches a directory takes its config files. */
	cli_inputs_init(&in);
	pat = optreg_xasprintf("%s/su?", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	got = listing(&in, dir);
	assert_string_equal(got, "sub/d.yml sub/deep/e.yaml");
	free(got);
	cli_inputs_release(&in);
	rm_tree(dir);
	free(dir);
}

/* Writes "x: 1" to `dir`/`name`. */
static void touch(const char *dir, const char *name)
{
	char *p = optreg_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs("x: 1\n", f);
	fclose(f);
	free(p);
}

static void test_glob_edges(void **state)
{
	char *dir = make_tree(), *got, *pat, *p;
	struct cli_inputs in;

	(void)state;
	/* A directory whose name is a glob pattern itself, found by "**":
	 * its name is matched as it is, not as a pattern ("[x]" would
	 * match a directory "x"). */
	p = optreg_xasprintf("%s/sub/[x]", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	touch(p, "g.yaml");
	free(p);
	p = optreg_xasprintf("%s/sub/x", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	touch(p, "h.yaml");
	free(p);
	cli_inputs_init(&in);
	pat = optreg_xasprintf("%s/sub/**/*.yaml", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	got = listing(&in, dir);
	assert_string_equal(got, "sub/[x]/g.yaml sub/deep/e.yaml sub/x/h.yaml");
	free(got);
	cli_inputs_release(&in);

	/* A pattern that names hidden files explicitly gets them. */
	cli_inputs_init(&in);
	pat = optreg_xasprintf("%s/.hid*.yaml", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	got = listing(&in, dir);
	assert_string_equal(got, ".hidden.yaml");
	assert_int_equal(in.status, 0);
	free(got);
	cli_inputs_release(&in);

	/* A symbolic link back up the tree is not followed: no loop, each
	 * file once, by a directory walk and by "**". */
	p = optreg_xasprintf("%s/sub/deep/up", dir);
	assert_int_equal(symlink("../..", p), 0);
	free(p);
	cli_inputs_init(&in);
	cli_inputs_add(&in, "lint", dir);
	pat = optreg_xasprintf("%s/**/e.yaml", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	got = listing(&in, dir);
	assert_string_equal(got, "a.yaml b.json sub/d.yml sub/[x]/g.yaml "
				 "sub/deep/e.yaml sub/x/h.yaml");
	free(got);
	cli_inputs_release(&in);
	rm_tree(dir);
	free(dir);
}

/* An unreadable subdirectory is said by its own path, in its place,
 * and the rest of the tree is still taken. (Root reads any directory:
 * skipped there.) */
static void test_unreadable(void **state)
{
	char *dir, *got, *p, *pat;
	struct cli_inputs in;

	(void)state;
	if (geteuid() == 0)
		skip();
	dir = make_tree();
	p = optreg_xasprintf("%s/sub/deep", dir);
	assert_int_equal(chmod(p, 0), 0);
	cli_inputs_init(&in);
	cli_inputs_add(&in, "lint", dir);
	pat = optreg_xasprintf("%s/su*", dir);
	cli_inputs_add(&in, "lint", pat);
	free(pat);
	assert_int_equal(in.status, OPTREG_EXIT_IO);
	got = listing(&in, dir);
	assert_string_equal(got, "a.yaml b.json sub/d.yml sub/deep sub/deep");
	free(got);
	assert_non_null(in.why[3]);
	assert_non_null(strstr(in.why[3], "cannot read"));
	cli_inputs_release(&in);
	assert_int_equal(chmod(p, 0700), 0);
	free(p);
	rm_tree(dir);
	free(dir);
}

static void test_nothing(void **state)
{
	char *dir = make_tree(), *pat, *empty;
	struct cli_inputs in;

	(void)state;
	cli_inputs_init(&in);
	pat = optreg_xasprintf("%s/*.toml", dir);
	empty = optreg_xasprintf("%s/empty", dir);
	cli_inputs_add(&in, "lint", pat);
	cli_inputs_add(&in, "lint", empty);
	/* A plain name that is not there is kept: reading it fails later,
	 * in its own row. So is standard input. */
	cli_inputs_add(&in, "lint", "/nonexistent/x.yaml");
	cli_inputs_add(&in, "lint", "-");
	assert_int_equal(in.status, OPTREG_EXIT_IO);
	assert_int_equal(in.nmissing, 2);
	/* Each in its place, the empty ones with why. */
	assert_int_equal(in.len, 4);
	assert_string_equal(in.files[0], pat);
	assert_string_equal(in.why[0], "the pattern matches no file");
	assert_string_equal(in.files[1], empty);
	assert_non_null(strstr(in.why[1], "holds no"));
	assert_string_equal(in.files[2], "/nonexistent/x.yaml");
	assert_null(in.why[2]);
	assert_string_equal(in.files[3], "-");
	assert_null(in.why[3]);
	cli_inputs_release(&in);
	free(pat);
	free(empty);
	rm_tree(dir);
	free(dir);
}

static void test_worst(void **state)
{
	/* The documented order, worst first. */
	static const int order[] = {
		OPTREG_EXIT_USAGE,	  OPTREG_EXIT_UNAUTHORIZED,
		OPTREG_EXIT_DENIED,	  OPTREG_EXIT_UNAVAILABLE,
		OPTREG_EXIT_IO,		  OPTREG_EXIT_INVALID,
		OPTREG_EXIT_CONFLICT,	  OPTREG_EXIT_NOT_FOUND,
		OPTREG_EXIT_VERDICT_FAIL, OPTREG_EXIT_TIMEOUT,
		OPTREG_EXIT_VERDICT_WARN, OPTREG_EXIT_OK,
	};
	size_t n = sizeof(order) / sizeof(order[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int want = order[i < j ? i : j];
			assert_int_equal(cli_exit_worst(order[i], order[j]),
					 want);
		}
	}
}

static void test_summary(void **state)
{
	struct cli_outcomes o = {0};
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	char *long_reason = malloc(201);

	(void)state;
	memset(long_reason, 'r', 200);
	long_reason[200] = '\0';
	cli_outcomes_add(&o, "a.yaml", "created", "ns/a@1", NULL, 0);
	cli_outcomes_add(&o, "b.yaml", "denied by policy", NULL, long_reason,
			 OPTREG_EXIT_INVALID);
	cli_outcomes_add(&o, "c\x1b.yaml", "verdict warn", "ns/c@2", "",
			 OPTREG_EXIT_VERDICT_WARN);
	cli_outcomes_print(f, &o, "VERSION", OPTREG_EXIT_VERDICT_WARN, 1);
	fclose(f);
	assert_non_null(strstr(buf, "FILE"));
	assert_non_null(strstr(buf, "VERSION"));
	assert_non_null(strstr(buf, "ns/a@1"));
	/* Cut to fit, control characters escaped. */
	assert_non_null(strstr(buf, "rrr..."));
	assert_null(strstr(buf, long_reason));
	assert_null(strchr(buf, '\x1b'));
	assert_non_null(strstr(buf, "3 files: 2 ok, 1 failed; exit status 1"));
	free(long_reason);
	cli_outcomes_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_nothing),
		cmocka_unit_test(test_worst),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_glob_edges),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
