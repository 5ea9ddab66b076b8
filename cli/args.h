/*
 * cli/args.h: the one option parser of the `optreg` commands, in the manner
 * of git's parse-options.
 *
 * A command declares a table of `struct cli_option` ending in CLI_OPT_END
 * and a `struct cli_parser` that says how it treats positional arguments
 * and mistakes, then calls cli_parse_options() once:
 *
 *	struct cli_option options[] = {
 *		CLI_OPT_REMOTE(&r),
 *		CLI_OPT_STRING("--limit", "N", "show at most N", &limitarg),
 *		CLI_OPT_END(),
 *	};
 *	struct cli_parser p = {.cmd = "log", .help = help,
 *			       .flags = CLI_PARSE_DASHDASH |
 *					CLI_PARSE_HELP_ON_ERROR,
 *			       .arg_name = "NAMESPACE/NAME", .arg_slot = &ref};
 *	rc = cli_parse_options(&p, options, argc, argv);
 *
 * Options match exactly or as `--name=VALUE`; a value may also be the next
 * argument, whatever it looks like (`--reason --json` sets the reason to
 * "--json"). The messages are the ones the commands printed before the
 * table existed, and docs/cli.md and the test suites hold them.
 */
#ifndef OPTREG_CLI_ARGS_H
#define OPTREG_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

enum cli_option_type {
	CLI_OPTION_END = 0, /* ends a table */
	CLI_OPTION_FLAG,    /* --name: sets *(int *)value to 1 */
	CLI_OPTION_BOOL,    /* --name: sets *(bool *)value to true */
	CLI_OPTION_STRING,  /* --name VALUE: *(const char **)value = VALUE */
	CLI_OPTION_LIST,    /* --name VALUE, repeatable: appended to the
			       struct cli_string_list *value */
	CLI_OPTION_COUNT,   /* --name N: a whole number from 1 (cli_parse_count)
			       into *(long *)value, or `NAME must be a whole
			       number from 1 (got "N")` */
	CLI_OPTION_CALLBACK /* --name VALUE: callback(opt, VALUE) */
};

/*
 * The values of a repeatable option, in order. The caller allocates
 * `items` with room for argc entries (no option takes more) and frees it;
 * the strings are borrowed from argv.
 */
struct cli_string_list {
	const char **items;
	size_t len;
};

/* Option flags. */
enum {
	/*
	 * A missing value is reported as an unknown option rather than as
	 * `NAME needs a value` (what `lint --format` has always printed).
	 */
	CLI_OPTION_NOVALUE_IS_UNKNOWN = 1,
};

struct cli_option {
	enum cli_option_type type;
	const char *long_name; /* "--limit", with its dashes */
	char short_name;       /* 'o' for -o, or 0 */
	const char *argh;      /* the value's name in help, "N" */
	const char *help;      /* one line of help */
	void *value;	       /* where the result goes (see the type) */
	/*
	 * CLI_OPTION_CALLBACK: takes the value (borrowed from argv) and
	 * returns 0, or an exit status after printing why the value is wrong.
	 */
	int (*callback)(const struct cli_option *opt, const char *arg);
	unsigned flags; /* CLI_OPTION_* above */
};

#define CLI_OPT_END()                                                          \
	{                                                                      \
		CLI_OPTION_END, NULL, 0, NULL, NULL, NULL, NULL, 0             \
	}
#define CLI_OPT_FLAG(name, h, v)                                               \
	{                                                                      \
		CLI_OPTION_FLAG, (name), 0, NULL, (h), (v), NULL, 0            \
	}
#define CLI_OPT_BOOL(name, h, v)                                               \
	{                                                                      \
		CLI_OPTION_BOOL, (name), 0, NULL, (h), (v), NULL, 0            \
	}
#define CLI_OPT_STRING(name, a, h, v)                                          \
	{                                                                      \
		CLI_OPTION_STRING, (name), 0, (a), (h), (v), NULL, 0           \
	}
#define CLI_OPT_LIST(name, a, h, v)                                            \
	{                                                                      \
		CLI_OPTION_LIST, (name), 0, (a), (h), (v), NULL, 0             \
	}
#define CLI_OPT_COUNT(name, a, h, v)                                           \
	{                                                                      \
		CLI_OPTION_COUNT, (name), 0, (a), (h), (v), NULL, 0            \
	}
#define CLI_OPT_CALLBACK(name, a, h, v, cb)                                    \
	{                                                                      \
		CLI_OPTION_CALLBACK, (name), 0, (a), (h), (v), (cb), 0         \
	}

/* Parser flags: how a command treats `--`, `-` and mistakes. */
enum {
	/* `--` ends the options: every later argument is positional. */
	CLI_PARSE_DASHDASH = 1,
	/* `-` alone is a positional argument (standard input). */
	CLI_PARSE_DASH_ARG = 2,
	/* The help text follows the message about an unknown option. */
	CLI_PARSE_HELP_ON_ERROR = 4,
	/*
	 * Unknown options and positional arguments the command does not take
	 * are `unexpected argument "X"` (keygen, sign, verify, key list)
	 * instead of `unknown option "X"`.
	 */
	CLI_PARSE_UNEXPECTED = 8,
	/*
	 * They are `unknown option "X"` or `unknown argument "X"` after
	 * X's first character (the audit subcommands).
	 */
	CLI_PARSE_UNKNOWN_KIND = 16,
};

struct cli_parser {
	const char *cmd;  /* messages say `optreg CMD: ...` */
	const char *help; /* -h/--help prints it on stdout; NULL: no help */
	unsigned flags;	  /* CLI_PARSE_* */
	/*
	 * Positional arguments. With `arg_slot`, the command takes one: it
	 * goes to *arg_slot and a second one is cli_one_arg's message naming
	 * `arg_name` (or, with CLI_PARSE_UNEXPECTED, `unexpected argument`).
	 * Else with `arg`, each is passed to arg(arg_data, A), which returns 0
	 * or an exit status after printing why. With neither, the command
	 * takes none.
	 */
	const char *arg_name;
	const char **arg_slot;
	int (*arg)(void *arg_data, const char *a);
	void *arg_data;
};

/* What cli_parse_options() returns after printing the help. */
#define CLI_PARSE_HELP (-1)

/*
 * Parses argv[1..argc-1] (argv[0] is the command's name) against the
 * `options` table. Returns 0 when every argument was taken;
 * CLI_PARSE_HELP after printing p->help on stdout (the command exits 0);
 * or, after printing the message on stderr, the exit status to return:
 * OPTREG_EXIT_USAGE for a bad option, or what a callback returned. It stops
 * at the first mistake. The strings it stores point into argv.
 */
int cli_parse_options(const struct cli_parser *p,
		      const struct cli_option *options, int argc, char **argv);

/*
 * Takes `arg` as the command's one positional argument into *slot; a second
 * one prints `optreg CMD: expected one WHAT (got "A" and "B")` and returns
 * OPTREG_EXIT_USAGE. Returns 0 otherwise.
 */
int cli_one_arg(const char *cmd, const char *what, const char **slot,
		const char *arg);

/* True when `arg` is -h or --help. */
int cli_is_help(const char *arg);

/*
 * Matches an option with a value at argv[*i]: `--name VALUE` or
 * `--name=VALUE`. Returns 1 and sets *val (advancing *i past VALUE), 0 when
 * argv[*i] is not `name`, or -1 after printing `optreg CMD: NAME needs a
 * value` when VALUE is missing. The table parser matches the same way;
 * this remains for loops that have not moved to a table.
 */
int cli_opt_value(const char *cmd, int argc, char **argv, int *i,
		  const char *name, const char **val);

/* Parses a positive decimal integer (no sign, no leading zeros, at most
 * 1e15); returns 0 or -1. */
int cli_parse_count(const char *s, long *out);

#endif
