/*
 * tests/unit/cli/args_test.c: the option table parser (cli/args.c): value
 * forms, flags, `--`, `-`, help, positional arguments, and the exact
 * messages and exit statuses the commands have always printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/args.h"
#include "common/errcodes.h"
#include "cli/remote.h"
#include "capture.h"

#define HELP	"usage: t [options]\n"
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* What one parse did: its result and what it printed. */
struct run {
	int rc;
	struct capture cap;
};

/* The options most tests use. */
struct opts {
	const char *str;
	int flag;
	bool b;
	long count;
	const char *items[8];
	struct cli_string_list list;
	const char *arg;
	struct cli_remote r;
};

static void parse(struct run *run, struct opts *o, const struct cli_parser *p,
		  char **argv, int argc)
{
	const struct cli_option options[] = {
		CLI_OPT_STRING("--str", "S", "a string", &o->str),
		CLI_OPT_FLAG("--flag", "a flag", &o->flag),
		CLI_OPT_BOOL("--bool", "a bool", &o->b),
		CLI_OPT_COUNT("--count", "N", "a count", &o->count),
		CLI_OPT_LIST("--item", "I", "repeatable", &o->list),
		CLI_OPT_REMOTE(&o->r),
		CLI_OPT_END(),
	};

	o->list.items = o->items;
	capture_begin(&run->cap);
	run->rc = cli_parse_options(p, options, argc, argv);
	capture_end(&run->cap);
}

static void test_value_forms(void **state)
{
	char *argv[] = {"t",	 "--str",    "--flag",	 "--count=12",
			"--url", "http://x", "--token=", NULL};
	struct cli_parser p = {.cmd = "t", .help = HELP};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, 0);
	/* The next argument is the value, whatever it looks like. */
	assert_string_equal(o.str, "--flag");
	assert_int_equal(o.flag, 0);
	assert_int_equal(o.count, 12);
	assert_string_equal(o.r.url, "http://x");
	assert_string_equal(o.r.token, "");
	assert_int_equal(o.r.json, 0);
	assert_string_equal(run.cap.text[1], "");
	capture_release(&run.cap);
}

static void test_flags_and_lists(void **state)
{
	char *argv[] = {"t",	  "--flag", "--bool",	"--json",
			"--item", "a",	    "--item=b", NULL};
	struct cli_parser p = {.cmd = "t"};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, 0);
	assert_int_equal(o.flag, 1);
	assert_true(o.b);
	assert_int_equal(o.r.json, 1);
	assert_int_equal(o.list.len, 2);
	assert_string_equal(o.items[0], "a");
	assert_string_equal(o.items[1], "b");
	capture_release(&run.cap);
}

static void test_flag_takes_no_value(void **state)
{
	char *argv[] = {"t", "--json=1", NULL};
	struct cli_parser p = {.cmd = "t"};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg t: unknown option \"--json=1\"\n");
	capture_release(&run.cap);
}

static void test_prefix_is_not_a_match(void **state)
{
	char *argv[] = {"t", "--strx", "v", NULL};
	struct cli_parser p = {.cmd = "t"};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg t: unknown option \"--strx\"\n");
	capture_release(&run.cap);
}

static void test_missing_value(void **state)
{
	char *argv[] = {"t", "--url", NULL};
	struct cli_parser p = {
		.cmd = "log", .help = HELP, .flags = CLI_PARSE_HELP_ON_ERROR};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	/* No help after this one. */
	assert_string_equal(run.cap.text[1],
			    "optreg log: --url needs a value\n");
	capture_release(&run.cap);
}

static void test_missing_value_reported_as_unknown(void **state)
{
	const char *fmt = NULL;
	struct cli_option options[] = {
		CLI_OPT_STRING("--format", "F", "format", &fmt),
		CLI_OPT_END(),
	};
	char *argv[] = {"lint", "--format", NULL};
	struct cli_parser p = {
		.cmd = "lint", .help = HELP, .flags = CLI_PARSE_HELP_ON_ERROR};
	struct capture cap;
	int rc;

	(void)state;
	options[0].flags = CLI_OPTION_NOVALUE_IS_UNKNOWN;
	capture_begin(&cap);
	rc = cli_parse_options(&p, options, ARGC(argv), argv);
	capture_end(&cap);
	assert_int_equal(rc, OPTREG_EXIT_USAGE);
	assert_string_equal(cap.text[1],
			    "optreg lint: unknown option \"--format\"\n" HELP);
	capture_release(&cap);
}

static void test_count(void **state)
{
	char *argv[] = {"t", "--count", "01", NULL};
	struct cli_parser p = {.cmd = "verify"};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg verify: --count must be a whole number "
			    "from 1 (got \"01\")\n");
	capture_release(&run.cap);
}

static void test_help(void **state)
{
	char *argv[] = {"t", "--str", "--help", "-h", "--bogus", NULL};
	struct cli_parser p = {.cmd = "t", .help = HELP};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	/* --help is a value of --str; -h asks for help before --bogus. */
	assert_int_equal(run.rc, CLI_PARSE_HELP);
	assert_string_equal(o.str, "--help");
	assert_string_equal(run.cap.text[0], HELP);
	assert_string_equal(run.cap.text[1], "");
	capture_release(&run.cap);
}

static void test_no_help_text_means_no_help_option(void **state)
{
	char *argv[] = {"t", "-h", NULL};
	struct cli_parser p = {.cmd = "key list",
			       .flags = CLI_PARSE_UNEXPECTED};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg key list: unexpected argument \"-h\"\n");
	capture_release(&run.cap);
}

static void test_dashdash(void **state)
{
	char *argv[] = {"t", "--", "--help", NULL};
	struct cli_parser p = {.cmd = "t",
			       .help = HELP,
			       .flags = CLI_PARSE_DASHDASH,
			       .arg_name = "REF"};
	struct opts o = {0};
	struct run run;

	(void)state;
	p.arg_slot = &o.arg;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, 0);
	assert_string_equal(o.arg, "--help");
	capture_release(&run.cap);

	/* Without the flag, `--` is an option nobody knows. */
	p.flags = 0;
	o.arg = NULL;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg t: unknown option \"--\"\n");
	capture_release(&run.cap);
}

static void test_dash_is_stdin_only_when_asked(void **state)
{
	char *argv[] = {"t", "-", NULL};
	struct cli_parser p = {
		.cmd = "t", .flags = CLI_PARSE_DASH_ARG, .arg_name = "FILE"};
	struct opts o = {0};
	struct run run;

	(void)state;
	p.arg_slot = &o.arg;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, 0);
	assert_string_equal(o.arg, "-");
	capture_release(&run.cap);

	p.flags = 0;
	o.arg = NULL;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg t: unknown option \"-\"\n");
	capture_release(&run.cap);
}

static void test_one_positional(void **state)
{
	char *argv[] = {"t", "a", "b", "--bogus", NULL};
	struct cli_parser p = {.cmd = "log",
			       .help = HELP,
			       .flags = CLI_PARSE_HELP_ON_ERROR,
			       .arg_name = "NAMESPACE/NAME"};
	struct opts o = {0};
	struct run run;

	(void)state;
	p.arg_slot = &o.arg;
	parse(&run, &o, &p, argv, ARGC(argv));
	/* The first mistake in order wins, and this one adds no help. */
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg log: expected one NAMESPACE/NAME (got "
			    "\"a\" and \"b\")\n");
	capture_release(&run.cap);

	/* sign and verify call a second FILE unexpected. */
	p.flags |= CLI_PARSE_UNEXPECTED;
	p.cmd = "sign";
	o.arg = NULL;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg sign: unexpected argument \"b\"\n" HELP);
	capture_release(&run.cap);
}

static void test_unknown_kinds(void **state)
{
	char *argv1[] = {"t", "x", NULL}, *argv2[] = {"t", "--x", NULL};
	struct cli_parser p = {.cmd = "audit log",
			       .help = HELP,
			       .flags = CLI_PARSE_UNKNOWN_KIND |
					CLI_PARSE_HELP_ON_ERROR};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv1, ARGC(argv1));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg audit log: unknown argument \"x\"\n" HELP);
	capture_release(&run.cap);
	parse(&run, &o, &p, argv2, ARGC(argv2));
	assert_string_equal(run.cap.text[1],
			    "optreg audit log: unknown option \"--x\"\n" HELP);
	capture_release(&run.cap);
}

/* Positional arguments through a callback: keeps them, refuses "z". */
static int take(void *data, const char *a)
{
	struct opts *o = data;

	if (!strcmp(a, "z")) {
		fprintf(stderr, "no z\n");
		return OPTREG_EXIT_INVALID;
	}
	o->items[o->list.len++] = a;
	return 0;
}

static void test_positional_callback(void **state)
{
	char *argv[] = {"t", "a", "--flag", "b", "z", "--bogus", NULL};
	struct opts o = {0};
	struct cli_parser p = {.cmd = "t", .arg = take, .arg_data = &o};
	struct run run;

	(void)state;
	const struct cli_option options[] = {
		CLI_OPT_FLAG("--flag", "a flag", &o.flag),
		CLI_OPT_END(),
	};
	o.list.items = o.items;
	capture_begin(&run.cap);
	run.rc = cli_parse_options(&p, options, ARGC(argv), argv);
	capture_end(&run.cap);
	assert_int_equal(run.rc, OPTREG_EXIT_INVALID);
	assert_int_equal(o.list.len, 2);
	assert_string_equal(o.items[1], "b");
	assert_int_equal(o.flag, 1);
	assert_string_equal(run.cap.text[1], "no z\n");
	capture_release(&run.cap);
}

/* An option callback that refuses "bad". */
static int check(const struct cli_option *opt, const char *arg)
{
	if (!strcmp(arg, "bad"))
		return OPTREG_EXIT_IO;
	*(const char **)opt->value = arg;
	return 0;
}

static void test_short_names_and_callbacks(void **state)
{
	const char *v = NULL;
	struct cli_option options[] = {
		CLI_OPT_CALLBACK("--out", "F", "output", &v, check),
		CLI_OPT_END(),
	};
	char *argv[] = {"t", "-o", "good", "--out=bad", NULL};
	struct cli_parser p = {.cmd = "t"};
	int rc;

	(void)state;
	options[0].short_name = 'o';
	rc = cli_parse_options(&p, options, ARGC(argv), argv);
	assert_int_equal(rc, OPTREG_EXIT_IO);
	assert_string_equal(v, "good");
}

static void test_no_positional_allowed(void **state)
{
	char *argv[] = {"t", "x", NULL};
	struct cli_parser p = {.cmd = "keygen",
			       .help = HELP,
			       .flags = CLI_PARSE_UNEXPECTED |
					CLI_PARSE_HELP_ON_ERROR};
	struct opts o = {0};
	struct run run;

	(void)state;
	parse(&run, &o, &p, argv, ARGC(argv));
	assert_int_equal(run.rc, OPTREG_EXIT_USAGE);
	assert_string_equal(run.cap.text[1],
			    "optreg keygen: unexpected argument \"x\"\n" HELP);
	capture_release(&run.cap);
}

static void test_parse_count(void **state)
{
	long v = -1;

	(void)state;
	assert_int_equal(cli_parse_count("1", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cli_parse_count("999999999999999", &v), 0);
	assert_int_equal(v, 999999999999999L);
	assert_int_equal(cli_parse_count("1000000000000000", &v), -1);
	assert_int_equal(cli_parse_count("0", &v), -1);
	assert_int_equal(cli_parse_count("07", &v), -1);
	assert_int_equal(cli_parse_count("", &v), -1);
	assert_int_equal(cli_parse_count("-1", &v), -1);
	assert_int_equal(cli_parse_count("+1", &v), -1);
	assert_int_equal(cli_parse_count("1x", &v), -1);
}

static void test_opt_value_matches_like_the_table(void **state)
{
	char *argv[] = {"t", "--url=a", "--url", "b", "--urlx", "--url", NULL};
	const char *val = NULL;
	struct capture cap;
	int i = 1;

	(void)state;
	assert_int_equal(cli_opt_value("t", 6, argv, &i, "--url", &val), 1);
	assert_string_equal(val, "a");
	i = 2;
	assert_int_equal(cli_opt_value("t", 6, argv, &i, "--url", &val), 1);
	assert_string_equal(val, "b");
	assert_int_equal(i, 3);
	i = 4;
	assert_int_equal(cli_opt_value("t", 6, argv, &i, "--url", &val), 0);
	i = 5;
	capture_begin(&cap);
	assert_int_equal(cli_opt_value("t", 6, argv, &i, "--url", &val), -1);
	capture_end(&cap);
	assert_string_equal(cap.text[1], "optreg t: --url needs a value\n");
	capture_release(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_flags_and_lists),
		cmocka_unit_test(test_flag_takes_no_value),
		cmocka_unit_test(test_prefix_is_not_a_match),
		cmocka_unit_test(test_missing_value),
		cmocka_unit_test(test_missing_value_reported_as_unknown),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_no_help_text_means_no_help_option),
		cmocka_unit_test(test_dashdash),
		cmocka_unit_test(test_dash_is_stdin_only_when_asked),
		cmocka_unit_test(test_one_positional),
		cmocka_unit_test(test_unknown_kinds),
		cmocka_unit_test(test_positional_callback),
		cmocka_unit_test(test_short_names_and_callbacks),
		cmocka_unit_test(test_no_positional_allowed),
		cmocka_unit_test(test_parse_count),
		cmocka_unit_test(test_opt_value_matches_like_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
