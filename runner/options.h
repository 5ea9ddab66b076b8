/*
 * runner/options.h: one table-driven option parser for the runner's
 * commands.
 *
 * A command lists its options in a table; the parser walks argv from 1 in
 * order, so the first problem met is the one reported, always on stderr as
 * "<prog>: <message>":
 *
 *   -h, --help          the usage on stdout; the parse ends (OPTS_HELP)
 *   --name VALUE,
 *   --name=VALUE        a value option; "--name needs a value" when the
 *                       value is missing (no usage printed)
 *   --name              a flag
 *   anything else       with positional arguments allowed, a word not
 *                       starting with '-' (or "-" alone) is positional and
 *                       a dashed one is an `unknown option "X"`; without
 *                       them, every other word is an `unknown argument
 *                       "X"`. Either way the usage follows on stderr. One
 *                       positional argument too many is refused with
 *                       o->too_many, without the usage.
 *
 * A repeated option keeps its last value.
 */
#ifndef OPTREG_RUNNER_OPTIONS_H
#define OPTREG_RUNNER_OPTIONS_H

#include <stdio.h>

enum optreg_opt_kind {
	OPTREG_OPT_FLAG,    /* sets *(int *)dest to 1 */
	OPTREG_OPT_STRING,  /* *(const char **)dest borrows argv's text */
	OPTREG_OPT_SECONDS, /* *(int *)dest: a whole number from 1 to max */
};

struct optreg_opt {
	const char *name; /* "--suite"; NULL ends the table */
	enum optreg_opt_kind kind;
	void *dest;
	const char *what; /* the value, for "needs a ...": NULL is "value" */
	int max;	  /* OPTREG_OPT_SECONDS: the largest value allowed */
};

struct optreg_opts {
	const char *prog;	       /* "optreg-runner serve" */
	const struct optreg_opt *opts; /* ends with a NULL name */
	void (*usage)(FILE *out);
	int positional; /* the most positional arguments allowed; 0: none */
	const char *too_many; /* what to say past that: "<prog>: <too_many>
				 (got \"<last kept>\" and \"<extra>\")" */
};

enum {
	OPTREG_OPTS_OK = 0,
	OPTREG_OPTS_HELP = 1,	/* the usage went to stdout: exit 0 */
	OPTREG_OPTS_USAGE = -1, /* reported on stderr: exit 2 */
};

/*
 * Parses argv[1..argc-1] against `o`, filling the options' destinations.
 * Positional arguments (at most o->positional) are stored, in order, in
 * pos[0..*npos-1], which must have room for o->positional entries and
 * borrows argv;
 * `pos` and `npos` may be NULL when o->positional is 0. Returns
 * OPTREG_OPTS_OK, OPTREG_OPTS_HELP or OPTREG_OPTS_USAGE.
 */
int optreg_opts_parse(const struct optreg_opts *o, int argc, char **argv,
		      const char **pos, int *npos);

#endif
