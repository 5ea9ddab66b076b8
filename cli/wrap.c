/*
 * cli/wrap.c: text for an 80-column terminal (cli/wrap.h).
 */
#include "wrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"
#include "output.h"

static const char *const spark[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
				     "\u2585", "\u2586", "\u2587", "\u2588"};

size_t cli_wrap_columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Bytes of the longest prefix of `s` (length `len`) that fits `cols`
 * columns, ending at a character boundary. */
static size_t prefix_fitting(const char *s, size_t len, size_t cols)
{
	size_t i = 0, used = 0;

	while (i < len) {
		size_t j = i + 1;
		while (j < len && ((unsigned char)s[j] & 0xc0) == 0x80)
			j++;
		if (used + 1 > cols)
			break;
		used++;
		i = j;
	}
	return i;
}

/* Columns of the `len` bytes at `s`. */
static size_t span_columns(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

void cli_wrap_add(struct optreg_buf *out, const char *first, const char *text,
		  size_t indent, size_t width)
{
	char *shown = cli_printable(text ? text : "");
	size_t col = cli_wrap_columns(first);
	const char *p = shown;
	bool fresh = true; /* nothing on this line after its prefix yet */

	/* Every line holds at least one character (width 0 would never
	 * get through a word). */
	if (width < 1)
		width = 1;
	if (indent >= width)
		indent = width / 2;
	optreg_buf_adds(out, first);
	while (*p) {
		size_t gap = strspn(p, " ");
		p += gap;
		if (!*p)
			break;
		size_t len = strcspn(p, " ");
		size_t cols = span_columns(p, len);
		size_t room = width > col ? width - col : 0;
		if (fresh)
			gap = 0;
		if (!fresh && gap + cols > room) {
			optreg_buf_addf(out, "\n%*s", (int)indent, "");
			col = indent;
			fresh = true;
			gap = 0;
			room = width - col;
		}
		/* Runs of spaces inside a line stay (aligned columns). */
		optreg_buf_addf(out, "%*s", (int)gap, "");
		col += gap;
		room -= gap;
		while (cols > room) {
			/* A word longer than a line: cut it. */
			size_t cut = prefix_fitting(p, len, room);
			optreg_buf_add(out, p, cut);
			p += cut;
			len -= cut;
			cols = span_columns(p, len);
			optreg_buf_addf(out, "\n%*s", (int)indent, "");
			col = indent;
			room = width - col;
		}
		optreg_buf_add(out, p, len);
		col += cols;
		p += len;
		fresh = false;
	}
	optreg_buf_addch(out, '\n');
	free(shown);
}

bool cli_wrap_spans_decades(const double *v, size_t n, double *lo, double *hi)
{
	bool positive = true, any = false;

	*lo = *hi = NAN;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		if (!any || v[i] < *lo)
			*lo = v[i];
		if (!any || v[i] > *hi)
			*hi = v[i];
		any = true;
		positive &= v[i] > 0;
	}
	return any && positive && *hi >= 100 * *lo;
}

void cli_wrap_sparkline(struct optreg_buf *out, const double *v, size_t n,
			bool log_scale)
{
	double lo, hi;

	cli_wrap_spans_decades(v, n, &lo, &hi);
	if (log_scale && isfinite(lo) && lo > 0) {
		lo = log10(lo);
		hi = log10(hi);
	} else {
		log_scale = false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i])) {
			optreg_buf_adds(out, "\u00d7");
			continue;
		}
		double x = log_scale ? log10(v[i]) : v[i];
		/* Halved, so that values near -DBL_MAX and DBL_MAX do not
		 * overflow x - lo and hi - lo to inf (inf/inf is NaN). */
		double t = hi > lo ? (x / 2 - lo / 2) / (hi / 2 - lo / 2) : 0;
		double l = floor(t * 7 + 0.5);
		/* Clamped as a double: converting NaN or a value out of
		 * int's range to int is undefined. */
		int level = !(l > 0) ? 0 : l > 7 ? 7 : (int)l;
		optreg_buf_adds(out, spark[level]);
	}
}

long cli_wrap_default_width(void)
{
	const char *cols = getenv("COLUMNS");
	struct winsize ws;
	long n;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (cols && cli_parse_count(cols, &n) == 0 && n >= 40)
		return n;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return CLI_WRAP_WIDTH;
}
