/*
 * cli/io.c: reading a command's input and writing its output files, shared
 * by the commands that take FILE or - and write --out/--output files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/errcodes.h"
#include "io.h"
#include "output.h"

int cli_load_doc(const char *file, struct optreg_doc *doc,
		 struct optreg_errors *errs)
{
	struct optreg_buf in = OPTREG_BUF_INIT;
	char chunk[65536];
	size_t n;
	int rc;

	if (strcmp(file, "-"))
		return optreg_doc_load_file(doc, file, errs);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		optreg_buf_add(&in, chunk, n);
	rc = optreg_doc_load(doc, "-", in.data, in.len, errs);
	optreg_buf_release(&in);
	return rc;
}

int cli_load(const char *file, struct optreg_doc *doc,
	     struct optreg_errors *errs)
{
	int rc = cli_load_doc(file, doc, errs);

	if (rc == 0)
		return 0;
	optreg_errors_print(stderr, file, errs);
	return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
}

int cli_read_input(const char *cmd, const char *file, struct optreg_buf *in)
{
	char chunk[65536];
	size_t n;
	int rc;

	if (strcmp(file, "-")) {
		rc = optreg_buf_read_file(in, file);
		if (rc < 0) {
			fprintf(stderr, "optreg %s: cannot read \"%s\": %s\n",
				cmd, file, strerror(errno));
			return OPTREG_EXIT_IO;
		}
		return OPTREG_EXIT_OK;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		optreg_buf_add(in, chunk, n);
	if (ferror(stdin)) {
		fprintf(stderr, "optreg %s: cannot read standard input: %s\n",
			cmd, strerror(errno));
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

int cli_write_output(const char *cmd, const char *file,
		     const struct optreg_buf *b)
{
	if (!file || !strcmp(file, "-"))
		return cli_write_stdout(b);
	return cli_write_file_mode(cmd, file, b, 0666);
}

int cli_write_fd_close(int fd, const char *data, size_t len)
{
	int err = 0;

	for (size_t off = 0; off < len && !err;) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

int cli_write_file_mode(const char *cmd, const char *file,
			const struct optreg_buf *b, mode_t mode)
{
	char *tmp;
	int fd, err = 0;

	tmp = optreg_xasprintf("%s.tmp.%ld", file, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		fprintf(stderr, "optreg %s: cannot write \"%s\": %s\n", cmd,
			file, strerror(errno));
		free(tmp);
		return OPTREG_EXIT_IO;
	}
	err = cli_write_fd_close(fd, b->data, b->len);
	if (!err && rename(tmp, file) < 0)
		err = errno;
	if (err) {
		fprintf(stderr, "optreg %s: cannot write \"%s\": %s\n", cmd,
			file, strerror(err));
		unlink(tmp);
	}
	free(tmp);
	return err ? OPTREG_EXIT_IO : OPTREG_EXIT_OK;
}
