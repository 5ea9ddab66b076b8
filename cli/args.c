/*
 * cli/args.c: the option table parser (see args.h).
 */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "../common/errcodes.h"

int cli_one_arg(const char *cmd, const char *what, const char **slot,
		const char *arg)
{
	if (*slot) {
		fprintf(stderr,
			"optreg %s: expected one %s (got \"%s\" and "
			"\"%s\")\n",
			cmd, what, *slot, arg);
		return OPTREG_EXIT_USAGE;
	}
	*slot = arg;
	return 0;
}

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/*
 * Whether `a` names option `o`: 0 no; 1 exactly (a value, if any, is the
 * next argument); 2 as `--name=VALUE`, with *inline_val set.
 */
static int option_matches(const struct cli_option *o, const char *a,
			  const char **inline_val)
{
	size_t n;

	if (o->short_name && a[0] == '-' && a[1] == o->short_name && !a[2])
		return 1;
	if (!o->long_name)
		return 0;
	n = strlen(o->long_name);
	if (strncmp(a, o->long_name, n))
		return 0;
	if (!a[n])
		return 1;
	if (a[n] == '=' && o->type != CLI_OPTION_FLAG &&
	    o->type != CLI_OPTION_BOOL) {
		*inline_val = a + n + 1;
		return 2;
	}
	return 0;
}

int cli_opt_value(const char *cmd, int argc, char **argv, int *i,
		  const char *name, const char **val)
{
	const struct cli_option o = CLI_OPT_STRING(name, NULL, NULL, NULL);
	const char *v = NULL;
	int m = option_matches(&o, argv[*i], &v);

	if (m == 0)
		return 0;
	if (m == 1) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "optreg %s: %s needs a value\n", cmd,
				name);
			return -1;
		}
		v = argv[++*i];
	}
	*val = v;
	return 1;
}

int cli_parse_count(const char *s, long *out)
{
	long v = 0;

	if (!s[0] || s[0] == '0' || strlen(s) > 15)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* Prints the message for an argument nobody takes; exit status. */
static int reject(const struct cli_parser *p, const char *a)
{
	const char *what;

	if (p->flags & CLI_PARSE_UNEXPECTED)
		what = "unexpected argument";
	else if ((p->flags & CLI_PARSE_UNKNOWN_KIND) && a[0] != '-')
		what = "unknown argument";
	else
		what = "unknown option";
	fprintf(stderr, "optreg %s: %s \"%s\"\n%s", p->cmd, what, a,
		(p->flags & CLI_PARSE_HELP_ON_ERROR) && p->help ? p->help : "");
	return OPTREG_EXIT_USAGE;
}

static int take_positional(const struct cli_parser *p, const char *a)
{
	if (p->arg_slot) {
		if (*p->arg_slot && (p->flags & CLI_PARSE_UNEXPECTED))
			return reject(p, a);
		return cli_one_arg(p->cmd, p->arg_name, p->arg_slot, a);
	}
	if (p->arg)
		return p->arg(p->arg_data, a);
	return reject(p, a);
}

/* Applies option `o` found at argv[*i]; exit status, 0 to go on. */
static int take_option(const struct cli_parser *p, const struct cli_option *o,
		       int m, const char *val, int argc, char **argv, int *i)
{
	switch (o->type) {
	case CLI_OPTION_FLAG:
		*(int *)o->value = 1;
		return 0;
	case CLI_OPTION_BOOL:
		*(bool *)o->value = true;
		return 0;
	default:
		break;
	}
	if (m == 1) {
		if (*i + 1 >= argc) {
			if (o->flags & CLI_OPTION_NOVALUE_IS_UNKNOWN)
				return reject(p, argv[*i]);
			fprintf(stderr, "optreg %s: %s needs a value\n", p->cmd,
				o->long_name);
			return OPTREG_EXIT_USAGE;
		}
		val = argv[++*i];
	}
	if (o->type == CLI_OPTION_STRING) {
		*(const char **)o->value = val;
		return 0;
	}
	if (o->type == CLI_OPTION_COUNT) {
		if (cli_parse_count(val, o->value) < 0) {
			fprintf(stderr,
				"optreg %s: %s must be a whole number from 1 "
				"(got \"%s\")\n",
				p->cmd, o->long_name, val);
			return OPTREG_EXIT_USAGE;
		}
		return 0;
	}
	if (o->type == CLI_OPTION_LIST) {
		struct cli_string_list *l = o->value;
		l->items[l->len++] = val;
		return 0;
	}
	return o->callback(o, val);
}

int cli_parse_options(const struct cli_parser *p,
		      const struct cli_option *options, int argc, char **argv)
{
	int only_args = 0, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct cli_option *o;
		int m = 0;

		if (only_args || a[0] != '-' ||
		    (!strcmp(a, "-") && (p->flags & CLI_PARSE_DASH_ARG))) {
			rc = take_positional(p, a);
			if (rc)
				return rc;
			continue;
		}
		if (!strcmp(a, "--") && (p->flags & CLI_PARSE_DASHDASH)) {
			only_args = 1;
			continue;
		}
		if (p->help && cli_is_help(a)) {
			fputs(p->help, stdout);
			return CLI_PARSE_HELP;
		}
		for (o = options; o->type != CLI_OPTION_END; o++)
			if ((m = option_matches(o, a, &val)))
				break;
		if (o->type == CLI_OPTION_END)
			return reject(p, a);
		rc = take_option(p, o, m, val, argc, argv, &i);
		if (rc)
			return rc;
	}
	return 0;
}
