/*
 * cli/io.h: reading a command's input and writing its output, shared by
 * the commands that take FILE or - and write --out/--output files.
 */
#ifndef OPTREG_CLI_IO_H
#define OPTREG_CLI_IO_H

#include <sys/types.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "../validator/doc.h"

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

/*
 * Appends the bytes of FILE ("-": standard input) to `in`. On failure
 * prints `optreg CMD: cannot read "FILE": REASON` and returns
 * OPTREG_EXIT_IO; 0 otherwise.
 */
int cli_read_input(const char *cmd, const char *file, struct optreg_buf *in);

/*
 * Writes `b` to FILE (NULL or "-": standard output) by way of a temporary
 * file in the same folder, fsync and a rename, so that readers never see a
 * half-written FILE and FILE may also have been the input. Returns 0, or
 * OPTREG_EXIT_IO after printing `optreg CMD: cannot write "FILE": REASON`
 * (no temporary file is left behind).
 */
int cli_write_output(const char *cmd, const char *file,
		     const struct optreg_buf *b);

/*
 * As cli_write_output, with the new file's permission bits `mode` (before
 * the umask; cli_write_output uses 0666). FILE must not be NULL or "-".
 */
int cli_write_file_mode(const char *cmd, const char *file,
			const struct optreg_buf *b, mode_t mode);

/*
 * Writes the `len` bytes at `data` to `fd` (again after EINTR), fsyncs
 * and closes it (always): 0, or the errno of the first step that failed.
 */
int cli_write_fd_close(int fd, const char *data, size_t len);

#endif
