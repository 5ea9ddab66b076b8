/*
 * tests/unit/cli/capture.h: captures what CLI code prints on stdout and
 * stderr, so tests can compare messages byte for byte (header-only).
 */
#ifndef OPTREG_TEST_CAPTURE_H
#define OPTREG_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int saved[2];
	FILE *files[2];
	char *text[2]; /* [0] stdout, [1] stderr, after capture_end */
};

/* Sends file descriptors 1 and 2 to temporary files. */
static inline void capture_begin(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 2; i++) {
		c->files[i] = tmpfile();
		c->saved[i] = dup(i + 1);
		dup2(fileno(c->files[i]), i + 1);
		c->text[i] = NULL;
	}
}

/* Restores them and reads what was printed into c->text[]. */
static inline void capture_end(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < 2; i++) {
		long n;

		dup2(c->saved[i], i + 1);
		close(c->saved[i]);
		n = (long)lseek(fileno(c->files[i]), 0, SEEK_END);
		c->text[i] = calloc(1, (size_t)n + 1);
		rewind(c->files[i]);
		if (n > 0 &&
		    fread(c->text[i], 1, (size_t)n, c->files[i]) != (size_t)n)
			c->text[i][0] = '\0';
		fclose(c->files[i]);
	}
}

static inline void capture_release(struct capture *c)
{
	free(c->text[0]);
	free(c->text[1]);
}

#endif
