/*
 * runner/options.c: the runner's option parser (options.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* The table's row for argv word `a`, with *val pointing after '=' for
 * "--name=VALUE" (else NULL); NULL when no row matches. */
static const struct optreg_opt *opt_find(const struct optreg_opt *opts,
					 const char *a, const char **val)
{
	*val = NULL;
	for (const struct optreg_opt *o = opts; o->name; o++) {
		size_t n = strlen(o->name);
		if (strncmp(a, o->name, n))
			continue;
		if (a[n] == '\0')
			return o;
		if (a[n] == '=' && o->kind != OPTREG_OPT_FLAG) {
			*val = a + n + 1;
			return o;
		}
	}
	return NULL;
}

static int opt_set(const struct optreg_opts *o, const struct optreg_opt *opt,
		   const char *val)
{
	char *end;
	long v;

	switch (opt->kind) {
	case OPTREG_OPT_FLAG:
		*(int *)opt->dest = 1;
		return 0;
	case OPTREG_OPT_STRING:
		*(const char **)opt->dest = val;
		return 0;
	case OPTREG_OPT_SECONDS:
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || end == val || *end || v < 1 || v > opt->max) {
			fprintf(stderr,
				"%s: %s must be a whole number of seconds from "
				"1 to %d (got \"%s\")\n",
				o->prog, opt->name, opt->max, val);
			return OPTREG_OPTS_USAGE;
		}
		*(int *)opt->dest = (int)v;
		return 0;
	}
	return OPTREG_OPTS_USAGE;
}

int optreg_opts_parse(const struct optreg_opts *o, int argc, char **argv,
		      const char **pos, int *npos)
{
	if (npos)
		*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		const struct optreg_opt *opt;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->usage(stdout);
			return OPTREG_OPTS_HELP;
		}
		opt = opt_find(o->opts, a, &val);
		if (opt) {
			if (opt->kind != OPTREG_OPT_FLAG && !val) {
				if (i + 1 >= argc) {
					fprintf(stderr, "%s: %s needs a %s\n",
						o->prog, opt->name,
						opt->what ? opt->what
							  : "value");
					return OPTREG_OPTS_USAGE;
				}
				val = argv[++i];
			}
			if (opt_set(o, opt, val) < 0)
				return OPTREG_OPTS_USAGE;
			continue;
		}
		if (o->positional && (a[0] != '-' || a[1] == '\0')) {
			if (*npos == o->positional) {
				fprintf(stderr,
					"%s: %s (got \"%s\" and \"%s\")\n",
					o->prog, o->too_many, pos[*npos - 1],
					a);
				return OPTREG_OPTS_USAGE;
			}
			pos[(*npos)++] = a;
			continue;
		}
		fprintf(stderr, "%s: unknown %s \"%s\"\n", o->prog,
			o->positional ? "option" : "argument", a);
		o->usage(stderr);
		return OPTREG_OPTS_USAGE;
	}
	return OPTREG_OPTS_OK;
}
