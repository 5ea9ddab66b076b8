/*
 * runner/main.c: `optreg-runner`, the validation runner. Dispatches to one
 * function per command; see `optreg-runner --help`. A command is a row in
 * `commands`: a name, `int run(int argc, char **argv)` returning the exit
 * status (argv[0] is the command's name), and a one-line summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "selftest.h"

#define OPTREG_RUNNER_VERSION "0.1.0"

/* Exit statuses, the same numbers as the `optreg` CLI's where they mean the
 * same thing. */
enum {
	RUNNER_EXIT_OK = 0,
	RUNNER_EXIT_FAILED = 1, /* a check failed (selftest: the math is off) */
	RUNNER_EXIT_USAGE = 2,	/* wrong arguments */
	RUNNER_EXIT_IO = 3,	/* a file or directory could not be read */
};

static int is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

static void selftest_usage(FILE *out)
{
	fprintf(out,
		"usage: optreg-runner selftest [--golden DIR]\n\n"
		"Replays PyTorch's golden Adam/AdamW traces through the "
		"runner's arithmetic on\n"
		"the CPU and prints one line per case. Cases without gradient "
		"clipping must\n"
		"agree bit for bit, clipped ones within rounding.\n\n"
		"Options:\n"
		"  --golden DIR   the traces (default: $OPTREG_GOLDEN, else "
		"tests/testdata/torch-adam\n"
		"                 of the checkout the runner was built in)\n\n"
		"Exit status: 0 every case passed, 1 a case failed or there "
		"were none,\n"
		"2 usage, 3 the directory cannot be read\n");
}

static int cmd_selftest(int argc, char **argv)
{
	const char *golden = NULL;
	char *dir;
	int passed, failed, rc;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			selftest_usage(stdout);
			return RUNNER_EXIT_OK;
		} else if (!strcmp(argv[i], "--golden")) {
			if (i + 1 == argc) {
				fprintf(stderr, "optreg-runner selftest: "
						"--golden needs a directory\n");
				return RUNNER_EXIT_USAGE;
			}
			golden = argv[++i];
		} else if (!strncmp(argv[i], "--golden=", 9)) {
			golden = argv[i] + 9;
		} else {
			fprintf(stderr,
				"optreg-runner selftest: unknown argument "
				"\"%s\"\n",
				argv[i]);
			selftest_usage(stderr);
			return RUNNER_EXIT_USAGE;
		}
	}
	dir = golden ? optreg_xstrdup(golden) : optreg_selftest_default_dir();
	rc = optreg_selftest_run(dir, stdout, &passed, &failed);
	printf("%d passed, %d failed (cpu, %s)\n", passed, failed, dir);
	free(dir);
	if (rc == OPTREG_EIO)
		return RUNNER_EXIT_IO;
	return rc == 0 ? RUNNER_EXIT_OK : RUNNER_EXIT_FAILED;
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"selftest", cmd_selftest,
	 "check the Adam/AdamW arithmetic against PyTorch's golden traces"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: optreg-runner <command> [options] [args]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\nRun `optreg-runner <command> --help` for a command's "
		"options.\n\n"
		"Environment:\n"
		"  OPTREG_GOLDEN   directory of golden torch-adam traces\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return RUNNER_EXIT_USAGE;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RUNNER_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("optreg-runner %s\n", OPTREG_RUNNER_VERSION);
		return RUNNER_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "optreg-runner: unknown command \"%s\"\n", argv[1]);
	fprintf(stderr,
		"hint: run `optreg-runner --help` for the list of commands\n");
	return RUNNER_EXIT_USAGE;
}
