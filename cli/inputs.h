/*
 * cli/inputs.h: the FILE arguments of `lint` and `submit`: files,
 * directories and glob patterns turned into a list of files, the summary
 * table printed after several files, and which exit status wins.
 */
#ifndef OPTREG_CLI_INPUTS_H
#define OPTREG_CLI_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The files to work on, in order, each once. */
struct cli_inputs {
	char **files;
	/* Parallel to files: NULL for a file to work on; for an argument
	 * that gave no file (a pattern, a directory), kept in its place,
	 * why (a static string). */
	const char **why;
	size_t len, alloc, why_alloc;
	/* The exit status of the expansion: OPTREG_EXIT_IO when a pattern
	 * or a directory gave no file, or a directory could not be read
	 * (said on stderr); else 0. */
	int status;
	/* How many entries have a `why`. */
	size_t nmissing;
};

void cli_inputs_init(struct cli_inputs *in);
void cli_inputs_release(struct cli_inputs *in);

/*
 * Appends what argument `arg` names: "-" (standard input) and a file as
 * they are; a directory as every *.yaml, *.yml and *.json file under it,
 * recursively, in byte order of the path, leaving out hidden files and
 * directories (names that start with '.') and not following symbolic
 * links to directories; an argument with *, ? or [ that is not an
 * existing path as a glob(3) pattern, where a whole path segment "**"
 * matches any number of directories (none included), and matched
 * directories are expanded as above. A path already in the list is not
 * added again. When an argument gives no file, says so on stderr
 * (`optreg CMD: ARG: ...`), records it in its place with a `why` and
 * sets `status`.
 */
void cli_inputs_add(struct cli_inputs *in, const char *cmd, const char *arg);

/*
 * How bad an exit status is, for a command that handles several files
 * and exits with the worst: usage 2 > unauthorized 6 > denied 4 >
 * unavailable 7 > I/O 3 > invalid 1 > conflict 5 > not found 8 >
 * verdict fail 11 > verdict timeout 12 > verdict warn 10 > ok 0.
 * Returns the worse of `a` and `b`.
 */
int cli_exit_worst(int a, int b);

/* One row of the summary table after several files. */
struct cli_outcome {
	char *file;
	char *result; /* "ok", "invalid", "created", "denied", ... */
	char *what;   /* digest, or ns/name@N; NULL: "-" */
	char *reason; /* why it was refused, or a note; NULL: "-" */
	int status;   /* its exit status */
};

/* The rows of a run, in order. */
struct cli_outcomes {
	struct cli_outcome *items;
	size_t len, alloc;
};

void cli_outcomes_release(struct cli_outcomes *o);
/* Appends a row; copies every string (NULL stays NULL). */
void cli_outcomes_add(struct cli_outcomes *o, const char *file,
		      const char *result, const char *what, const char *reason,
		      int status);

/*
 * Prints the table on `out`: a heading line, then FILE, RESULT, `what`
 * (the heading of the third column: DIGEST or VERSION), EXIT, REASON
 * (cells through cli_printable, REASON cut at 72 bytes with "..."),
 * then a line `N files: X ok, Y failed; exit status S`, where ok counts
 * rows whose status is 0 or `ok_too`, S is `status`.
 */
void cli_outcomes_print(FILE *out, const struct cli_outcomes *o,
			const char *what, int ok_too, int status);

#endif
