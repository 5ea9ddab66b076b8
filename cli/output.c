/*
 * cli/output.c: JSON, tables and error lines on the standard streams.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/errcodes.h"
#include "../common/jsonutil.h"
#include "../validator/names.h"
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

char *cli_printable(const char *s)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		long cp;
		size_t len = optreg_name_printable_len(s + i, n - i, &cp);

		if (len) {
			optreg_buf_add(&b, s + i, len);
			i += len;
		} else if (cp >= 0) {
			optreg_buf_addf(&b, "\\u%04lx", cp);
			/* A control's UTF-8 length. */
			i += cp < 0x80	    ? 1
			     : cp < 0x800   ? 2
			     : cp < 0x10000 ? 3
					    : 4;
		} else {
			optreg_buf_addf(&b, "\\x%02x", (unsigned char)s[i]);
			i++;
		}
	}
	if (!b.len)
		optreg_buf_adds(&b, "");
	return optreg_buf_detach(&b, NULL);
}

int cli_print_table(const char *const *head, size_t ncols, char *const *cells,
		    size_t nrows)
{
	size_t *width = optreg_xcalloc(ncols, sizeof(*width));
	char **shown = optreg_xcalloc((nrows + 1) * ncols + 1, sizeof(*shown));

	for (size_t c = 0; c < ncols; c++)
		shown[c] = cli_printable(head[c]);
	for (size_t i = 0; i < nrows * ncols; i++)
		shown[ncols + i] = cli_printable(cells[i]);
	for (size_t i = 0; i < (nrows + 1) * ncols; i++)
		if (strlen(shown[i]) > width[i % ncols])
			width[i % ncols] = strlen(shown[i]);
	for (size_t i = 0; i <= nrows; i++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = shown[i * ncols + c];
			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], s);
			else
				printf("%s\n", s);
		}
	}
	for (size_t i = 0; i < (nrows + 1) * ncols; i++)
		free(shown[i]);
	free(shown);
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

char *cli_tags_on(const json_t *tags, long version, const char *sep)
{
	struct optreg_buf names = OPTREG_BUF_INIT;
	const json_t *t;
	size_t j;

	json_array_foreach(tags, j, t)
	{
		const char *name = optreg_json_str(t, "tag");
		long tv;

		if (name && cli_json_count(t, "version", &tv) == 0 &&
		    tv == version)
			optreg_buf_addf(&names, "%s%s", names.len ? sep : "",
					name);
	}
	return optreg_buf_detach(&names, NULL);
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

char *cli_cut(const char *s, size_t width)
{
	size_t n = width > 3 ? width - 3 : 0;

	if (strlen(s) <= width)
		return optreg_xstrdup(s);
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return optreg_xasprintf("%.*s...", (int)n, s);
}
