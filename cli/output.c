/*
 * cli/output.c: JSON, tables and error lines on the standard streams.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/errcodes.h"
#include "output.h"

int cli_write_stdout(const struct optreg_buf *b)
{
	if (fwrite(b->data, 1, b->len, stdout) != b->len ||
	    fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

int cli_print_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int rc;

	if (!s) {
		fprintf(stderr, "fatal: out of memory serializing JSON\n");
		abort();
	}
	rc = cli_print_json_text(s, strlen(s));
	free(s);
	return rc;
}

const char *cli_cell(const char *s)
{
	return s && s[0] ? s : "-";
}

int cli_print_table(const char *const *head, size_t ncols, char *const *cells,
		    size_t nrows)
{
	size_t *width = optreg_xcalloc(ncols, sizeof(*width));

	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(head[c]);
	for (size_t i = 0; i < nrows * ncols; i++)
		if (strlen(cells[i]) > width[i % ncols])
			width[i % ncols] = strlen(cells[i]);
	for (size_t i = 0; i <= nrows; i++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s =
				i ? cells[(i - 1) * ncols + c] : head[c];
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], s);
			else
				printf("%s\n", s);
		}
	}
	free(width);
	if (fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

int cli_json_count(const json_t *o, const char *key, long *out)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (!(d >= 0 && d <= 1e15) || d != (double)(long)d)
		return -1;
	*out = (long)d;
	return 0;
}

int cli_print_json_text(const char *text, size_t len)
{
	if (fwrite(text, 1, len, stdout) != len ||
	    ((len == 0 || text[len - 1] != '\n') && putchar('\n') == EOF) ||
	    fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}
