/*
 * cli/wrap.h: text for an 80-column terminal: display widths, word
 * wrapping with a hanging indent, and Unicode sparklines.
 */
#ifndef OPTREG_CLI_WRAP_H
#define OPTREG_CLI_WRAP_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/buf.h"

/* The width every line of the commands' detail views fits in. */
#define CLI_WRAP_WIDTH 80

/*
 * Display columns of UTF-8 text `s` as printed: one per character (the
 * commands print names through cli_printable, so no control character or
 * wide escape reaches the terminal; the characters they print themselves
 * are one column wide).
 */
size_t cli_wrap_columns(const char *s);

/*
 * Appends `text` to `out` as lines of at most `width` columns: the first
 * line starts with `first` (a prefix such as "  " or "  FAIL  "), the
 * following ones with `indent` spaces. Words are broken at spaces; a
 * word longer than a line is cut at a character boundary. `text` is made
 * printable (cli_printable) first; every line ends in a newline.
 */
void cli_wrap_add(struct optreg_buf *out, const char *first, const char *text,
		  size_t indent, size_t width);

/*
 * Appends a sparkline of the `n` values to `out`: one of ▁▂▃▄▅▆▇█ per
 * value, scaled from the smallest finite value (▁) to the largest (█);
 * logarithmically when `log_scale`, which needs every finite value > 0. A
 * value that is not finite (NaN marks a missing point) is `×`. All equal
 * values are all ▁.
 */
void cli_wrap_sparkline(struct optreg_buf *out, const double *v, size_t n,
			bool log_scale);

/*
 * Whether the finite values of `v` span decades: all > 0 and the largest
 * at least 100 times the smallest (a linear sparkline would flatten all
 * but the peak). The smallest and largest finite values go to `lo`, `hi`
 * (NaN when there is none).
 */
bool cli_wrap_spans_decades(const double *v, size_t n, double *lo, double *hi);

/*
 * The default --width of a command whose rows wrap: the terminal's
 * ($COLUMNS when it is a count of at least 40, else the terminal's size
 * when at least 40 columns, else CLI_WRAP_WIDTH) when stdout is one, else
 * 0 (no wrapping).
 */
long cli_wrap_default_width(void);

#endif
