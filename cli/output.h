/*
 * cli/output.h: what the commands print on stdout: JSON, tables for
 * people, and the one-line error format.
 */
#ifndef OPTREG_CLI_OUTPUT_H
#define OPTREG_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/error.h"

/* Writes all of `b` to stdout; returns OPTREG_EXIT_IO on failure. */
int cli_write_stdout(const struct optreg_buf *b);

/* Prints `v` as one line of compact JSON on stdout; exit status. */
int cli_print_json(const json_t *v);

/* Prints `text` (and a newline unless it ends in one) on stdout. */
int cli_print_json_text(const char *text, size_t len);

/* A table cell: `s`, or "-" when NULL or empty. */
const char *cli_cell(const char *s);

/*
 * `s` made safe to print on a terminal, as a new string (free it): every
 * character that is not printable (controls, DEL, C1 controls, invisible
 * format characters such as bidi overrides; optreg_name_printable_len) is
 * written as \u00XX / \uXXXX, and each byte of invalid UTF-8 as \xXX, so
 * a name from the registry can neither move the cursor, recolour the
 * terminal, break a line nor reorder what follows.
 */
char *cli_printable(const char *s);

/*
 * Prints a table for people: the `ncols` headings, then `nrows` rows of
 * cells (row-major), columns left-aligned and two spaces apart. Every cell
 * is printed through cli_printable. Exit status.
 */
int cli_print_table(const char *const *head, size_t ncols, char *const *cells,
		    size_t nrows);

/* A member of `o` that must be a whole number >= 0; returns 0 or -1. */
int cli_json_count(const json_t *o, const char *key, long *out);

/*
 * The names of the tags in `tags` (the registry's [{"tag", "version"}])
 * that point at `version`, in their order, joined by `sep`: a new string
 * (free it), "" when none does.
 */
char *cli_tags_on(const json_t *tags, long version, const char *sep);

/*
 * `s` cut to at most `width` bytes for a table cell: when longer, its
 * last three become "...", never in the middle of a UTF-8 character. A
 * new string (free it).
 */
char *cli_cut(const char *s, size_t width);

#endif
