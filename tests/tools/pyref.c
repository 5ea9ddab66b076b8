/*
 * tests/tools/pyref.c: the C side of the Python package's tests
 * (tests/python/): prints what the C code computes, so that the tests can
 * compare optreg.torch against it value for value.
 *
 *   pyref lr CONFIG STEPS
 *       For t = 1..STEPS, one line "t lr g1 g2 ...": the learning rate
 *       optreg_config_schedule_lr gives at step t for the config's own lr
 *       and then for each spec.param_groups entry (its lr, or the config's
 *       when it sets none), each as %.17g.
 *   pyref match CONFIG NAME...
 *       For each NAME, one line "G NAME": the param group the runner gives
 *       a tensor of that name (0: none matched; i: spec.param_groups[i-1]).
 *   pyref regex PATTERN NAME...
 *       "refused: WHY" when optreg_regex_check refuses PATTERN, else
 *       "error: WHY" when regcomp does, else "ok" and then one line per
 *       NAME, "1 NAME" or "0 NAME": whether regexec finds a match.
 *
 * CONFIG is a config document (YAML or JSON), loaded and validated as
 * everywhere (optreg_config_load_checked_file). Matching is the runner's
 * (runner/workloads.c, wl_groups_build): regcomp(REG_EXTENDED |
 * REG_NOSUB), regexec searching anywhere in the name, the first entry in
 * document order that matches wins. Like the runner, this never calls
 * setlocale, so patterns and names are matched byte by byte in the C
 * locale. Exit status 0, 1 on an invalid config, 2 on usage errors.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/config.h"
#include "../../validator/regex_check.h"

static int load(const char *path, struct optreg_checked_config *cc)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc;

	optreg_checked_config_init(cc);
	rc = optreg_config_load_checked_file(cc, path, 0, &errs);
	if (rc) {
		for (size_t i = 0; i < errs.len; i++)
			fprintf(stderr, "pyref: %s: %s: %s\n", path,
				errs.items[i].path ? errs.items[i].path : "",
				errs.items[i].message);
	}
	optreg_errors_release(&errs);
	return rc;
}

static int cmd_lr(const char *path, const char *steps_arg)
{
	struct optreg_checked_config cc;
	char *end;
	long steps = strtol(steps_arg, &end, 10);

	if (*end || steps < 1) {
		fprintf(stderr, "pyref lr: STEPS must be a positive integer\n");
		return 2;
	}
	if (load(path, &cc)) {
		optreg_checked_config_release(&cc);
		return 1;
	}
	const struct optreg_config *cfg = &cc.cfg;
	for (long t = 1; t <= steps; t++) {
		printf("%ld %.17g", t,
		       optreg_config_schedule_lr(&cfg->schedule, cfg->lr, t));
		for (size_t i = 0; i < cfg->ngroups; i++) {
			double lr = cfg->groups[i].has_lr ? cfg->groups[i].lr
							  : cfg->lr;
			printf(" %.17g", optreg_config_schedule_lr(
						 &cfg->schedule, lr, t));
		}
		putchar('\n');
	}
	optreg_checked_config_release(&cc);
	return 0;
}

static int cmd_match(const char *path, int nnames, char **names)
{
	struct optreg_checked_config cc;
	size_t *group = optreg_xcalloc((size_t)nnames + 1, sizeof(*group));
	int rc = 0;

	if (load(path, &cc)) {
		optreg_checked_config_release(&cc);
		free(group);
		return 1;
	}
	const struct optreg_config *cfg = &cc.cfg;
	/* As wl_groups_build: last to first, so the first match wins. */
	for (size_t i = cfg->ngroups; i-- > 0;) {
		regex_t re;
		if (regcomp(&re, cfg->groups[i].match,
			    REG_EXTENDED | REG_NOSUB)) {
			fprintf(stderr,
				"pyref: param_groups[%zu] does not "
				"compile\n",
				i);
			rc = 1;
			continue;
		}
		for (int k = 0; k < nnames; k++)
			if (regexec(&re, names[k], 0, NULL, 0) == 0)
				group[k] = i + 1;
		regfree(&re);
	}
	for (int k = 0; k < nnames; k++)
		printf("%zu %s\n", group[k], names[k]);
	optreg_checked_config_release(&cc);
	free(group);
	return rc;
}

static int cmd_regex(const char *pattern, int nnames, char **names)
{
	const char *why = optreg_regex_check(pattern);
	regex_t re;
	int rerr;

	if (why) {
		printf("refused: %s\n", why);
		return 0;
	}
	rerr = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);
	if (rerr) {
		char msg[256];
		regerror(rerr, &re, msg, sizeof(msg));
		printf("error: %s\n", msg);
		return 0;
	}
	printf("ok\n");
	for (int k = 0; k < nnames; k++)
		printf("%d %s\n", regexec(&re, names[k], 0, NULL, 0) == 0,
		       names[k]);
	regfree(&re);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "lr"))
		return cmd_lr(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "match"))
		return cmd_match(argv[2], argc - 3, argv + 3);
	if (argc >= 3 && !strcmp(argv[1], "regex"))
		return cmd_regex(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: pyref lr CONFIG STEPS\n"
			"       pyref match CONFIG NAME...\n"
			"       pyref regex PATTERN NAME...\n");
	return 2;
}
