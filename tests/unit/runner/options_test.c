/*
 * tests/unit/runner/options_test.c: the runner's option parser
 * (runner/options.h): flags, `--name VALUE` and `--name=VALUE`, the last
 * of a repeated option winning, seconds in range, positional arguments,
 * and for each mistake the exact message on stderr, whether the usage
 * follows, and the result the command turns into its exit status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "runner/options.h"

static void usage(FILE *out)
{
	fputs("USAGE\n", out);
}

/* What a parse did: its result, the options it set, and what it wrote. */
struct run {
	int rc;
	int once;
	int seconds;
	const char *text;
	const char *pos[2];
	int npos;
	char out[512], err[512];
};

/* Reads what the fd `fd` got since `saved` was taken, then restores it. */
static void capture_end(FILE *stream, int fd, int saved, FILE *tmp, char *buf,
			size_t n)
{
	size_t got;

	fflush(stream);
	dup2(saved, fd);
	close(saved);
	rewind(tmp);
	got = fread(buf, 1, n - 1, tmp);
	buf[got] = '\0';
	fclose(tmp);
}

/* Parses argv (NULL-terminated) with a table of --once (flag),
 * --seconds (1..60), --text (string, "needs a file"), allowing
 * `positional` positional arguments. */
static void parse(struct run *r, int positional, char **argv)
{
	const struct optreg_opt table[] = {
		{"--once", OPTREG_OPT_FLAG, &r->once, NULL, 0},
		{"--seconds", OPTREG_OPT_SECONDS, &r->seconds, NULL, 60},
		{"--text", OPTREG_OPT_STRING, &r->text, "file", 0},
		{NULL, 0, NULL, NULL, 0},
	};
	const struct optreg_opts opts = {
		.prog = "prog cmd",
		.opts = table,
		.usage = usage,
		.positional = positional,
		.too_many = "one at a time",
	};
	FILE *out = tmpfile(), *err = tmpfile();
	int argc = 0, so, se;

	while (argv[argc])
		argc++;
	memset(r, 0, sizeof(*r));
	r->seconds = -1;
	assert_non_null(out);
	assert_non_null(err);
	fflush(stdout);
	fflush(stderr);
	so = dup(STDOUT_FILENO);
	se = dup(STDERR_FILENO);
	dup2(fileno(out), STDOUT_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	r->rc = optreg_opts_parse(&opts, argc, argv, r->pos, &r->npos);
	capture_end(stdout, STDOUT_FILENO, so, out, r->out, sizeof(r->out));
	capture_end(stderr, STDERR_FILENO, se, err, r->err, sizeof(r->err));
}

#define ARGV(...) ((char *[]){"cmd", __VA_ARGS__, NULL})

static void test_values_and_flags(void **state)
{
	struct run r;

	(void)state;
	parse(&r, 0, ARGV("--once", "--seconds", "5", "--text", "a"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.once, 1);
	assert_int_equal(r.seconds, 5);
	assert_string_equal(r.text, "a");
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "");

	parse(&r, 0, ARGV("--seconds=60", "--text=b=c", "--text", "d"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.once, 0);
	assert_int_equal(r.seconds, 60);
	assert_string_equal(r.text, "d"); /* the last one wins */

	parse(&r, 0, ARGV("--text="));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_string_equal(r.text, "");

	/* A value may start with a dash. */
	parse(&r, 0, ARGV("--text", "--once"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_string_equal(r.text, "--once");
	assert_int_equal(r.once, 0);
}

static void test_help(void **state)
{
	struct run r;

	(void)state;
	parse(&r, 0, ARGV("--once", "-h", "--bogus"));
	assert_int_equal(r.rc, OPTREG_OPTS_HELP);
	assert_string_equal(r.out, "USAGE\n");
	assert_string_equal(r.err, "");

	parse(&r, 1, ARGV("--help"));
	assert_int_equal(r.rc, OPTREG_OPTS_HELP);
	assert_string_equal(r.out, "USAGE\n");

	/* What comes first is reported first. */
	parse(&r, 0, ARGV("--bogus", "--help"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.out, "");
}

static void test_missing_value(void **state)
{
	struct run r;

	(void)state;
	parse(&r, 0, ARGV("--seconds"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err, "prog cmd: --seconds needs a value\n");

	parse(&r, 0, ARGV("--text"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err, "prog cmd: --text needs a file\n");
	assert_string_equal(r.out, "");
}

static void test_seconds_range(void **state)
{
	static const char *const bad[] = {
		"0", "61", "-1", "5s", "", "1.5", "99999999999999999999"};
	struct run r;
	char want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(&r, 0, ARGV("--seconds", (char *)bad[i], "--bogus"));
		assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
		snprintf(want, sizeof(want),
			 "prog cmd: --seconds must be a whole number of "
			 "seconds from 1 to 60 (got \"%s\")\n",
			 bad[i]);
		assert_string_equal(r.err, want);
	}
	parse(&r, 0, ARGV("--seconds=1"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.seconds, 1);
}

static void test_unknown(void **state)
{
	struct run r;

	(void)state;
	/* Without positional arguments every stranger is an "argument". */
	parse(&r, 0, ARGV("file"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err,
			    "prog cmd: unknown argument \"file\"\nUSAGE\n");

	parse(&r, 0, ARGV("--once=1"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err,
			    "prog cmd: unknown argument \"--once=1\"\nUSAGE\n");

	/* A prefix is not the option. */
	parse(&r, 0, ARGV("--onc"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	parse(&r, 0, ARGV("--textual", "x"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(
		r.err, "prog cmd: unknown argument \"--textual\"\nUSAGE\n");

	/* With them, only dashed words are. */
	parse(&r, 1, ARGV("-x"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err, "prog cmd: unknown option \"-x\"\nUSAGE\n");
	parse(&r, 1, ARGV("--"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err, "prog cmd: unknown option \"--\"\nUSAGE\n");
}

static void test_positional(void **state)
{
	struct run r;

	(void)state;
	parse(&r, 1, ARGV("--once", "a.yaml"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.npos, 1);
	assert_string_equal(r.pos[0], "a.yaml");

	parse(&r, 1, ARGV("-"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.npos, 1);
	assert_string_equal(r.pos[0], "-");

	parse(&r, 1, ARGV("--once"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.npos, 0);

	/* One too many, reported when met, without the usage. */
	parse(&r, 1, ARGV("a", "b", "--bogus"));
	assert_int_equal(r.rc, OPTREG_OPTS_USAGE);
	assert_string_equal(r.err,
			    "prog cmd: one at a time (got \"a\" and \"b\")\n");

	parse(&r, 2, ARGV("a", "b"));
	assert_int_equal(r.rc, OPTREG_OPTS_OK);
	assert_int_equal(r.npos, 2);
	assert_string_equal(r.pos[1], "b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_and_flags),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_seconds_range),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_positional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
