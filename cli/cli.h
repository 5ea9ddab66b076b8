/*
 * cli/cli.h: shared pieces of the `optreg` command-line client.
 *
 * One file per command (cli/<command>.c), each exporting
 * `int cmd_<command>(int argc, char **argv)` that returns the process exit
 * status. Exit statuses are part of the interface CI scripts rely on.
 */
#ifndef OPTREG_CLI_H
#define OPTREG_CLI_H

#include "../common/buf.h"
#include "../common/error.h"
#include "../validator/doc.h"

enum {
	OPTREG_EXIT_OK = 0,
	OPTREG_EXIT_INVALID = 1, /* a document failed validation */
	OPTREG_EXIT_USAGE = 2,	 /* wrong arguments */
	OPTREG_EXIT_IO = 3,	 /* a file could not be read or written */
};

int cmd_canonicalize(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_lint(int argc, char **argv);

/* True when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

/*
 * Loads FILE ("-" for standard input) into `doc`; returns 0 or the loader's
 * negative OPTREG_E* code with the errors in `errs`.
 */
int cli_load_doc(const char *file, struct optreg_doc *doc,
		 struct optreg_errors *errs);

/*
 * As cli_load_doc, but on failure prints the
 * errors as `file:line:col: path: message` lines to stderr and returns the
 * exit status to use (OPTREG_EXIT_IO or OPTREG_EXIT_INVALID); 0 on success.
 */
int cli_load(const char *file, struct optreg_doc *doc,
	     struct optreg_errors *errs);

/* Prints errors to stderr in the one-line format, prefixed with `file`. */
void cli_print_errors(const char *file, const struct optreg_errors *errs);

/* Writes all of `b` to stdout; returns OPTREG_EXIT_IO on failure. */
int cli_write_stdout(const struct optreg_buf *b);

#endif
