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

#include "cli.h"

int cli_read_input(const char *cmd, const char *file, struct optreg_buf *in)
{
	char chunk[65536];
	size_t n;
	int rc;

	if (strcmp(file, "-")) {
		rc = optreg_buf_read_file(in, file);
		if (rc < 0) {
			fprintf(stderr, "optreg %s: cannot read \"%s\": %s\n",
				cmd, file, strerror(-rc));
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
	char *tmp;
	int fd, err = 0;

	if (!file || !strcmp(file, "-"))
		return cli_write_stdout(b);
	tmp = optreg_xasprintf("%s.tmp.%ld", file, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		fprintf(stderr, "optreg %s: cannot write \"%s\": %s\n", cmd,
			file, strerror(errno));
		free(tmp);
		return OPTREG_EXIT_IO;
	}
	for (size_t off = 0; off < b->len && !err;) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
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
