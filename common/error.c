#include "error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

const char *optreg_code_name(int code)
{
	switch (code) {
	case OPTREG_OK:
		return "ok";
	case OPTREG_ENOMEM:
		return "out_of_memory";
	case OPTREG_EIO:
		return "io";
	case OPTREG_ESYNTAX:
		return "syntax";
	case OPTREG_EINVAL:
		return "invalid";
	case OPTREG_EUSAGE:
		return "usage";
	case OPTREG_ELIMIT:
		return "limit";
	case OPTREG_ENOTFOUND:
		return "not_found";
	case OPTREG_ECONFLICT:
		return "conflict";
	case OPTREG_EDENIED:
		return "forbidden";
	case OPTREG_EUNAUTH:
		return "unauthorized";
	case OPTREG_EUNAVAILABLE:
		return "unavailable";
	case OPTREG_EINTERNAL:
		return "internal";
	}
	return "unknown";
}

void optreg_errors_init(struct optreg_errors *errs)
{
	errs->items = NULL;
	errs->len = errs->cap = 0;
}

void optreg_errors_release(struct optreg_errors *errs)
{
	for (size_t i = 0; i < errs->len; i++) {
		struct optreg_error *e = &errs->items[i];
		free(e->rule);
		free(e->path);
		free(e->message);
		free(e->detail);
		free(e->hint);
	}
	free(errs->items);
	optreg_errors_init(errs);
}

struct optreg_error *optreg_errors_add(struct optreg_errors *errs, int code,
				       const char *rule, const char *path,
				       const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	struct optreg_error *e;
	va_list ap;

	if (errs->len == errs->cap) {
		errs->cap = errs->cap ? errs->cap * 2 : 8;
		errs->items = optreg_xrealloc(errs->items,
					      errs->cap * sizeof(*errs->items));
	}
	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);

	e = &errs->items[errs->len++];
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->rule = optreg_xstrdup(rule ? rule : "");
	e->path = optreg_xstrdup(path ? path : "");
	e->message = optreg_buf_detach(&msg, NULL);
	return e;
}

void optreg_error_set_hint(struct optreg_error *e, const char *fmt, ...)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(e->hint);
	e->hint = optreg_buf_detach(&b, NULL);
}

void optreg_errors_format(const struct optreg_errors *errs, const char *file,
			  struct optreg_buf *out)
{
	for (size_t i = 0; i < errs->len; i++) {
		const struct optreg_error *e = &errs->items[i];

		if (file)
			optreg_buf_addf(out, "%s:", file);
		if (e->line > 0)
			optreg_buf_addf(out, "%d:%d:", e->line, e->col);
		if (file || e->line > 0)
			optreg_buf_addch(out, ' ');
		if (e->path[0])
			optreg_buf_addf(out, "%s: ", e->path);
		optreg_buf_addf(out, "%s\n", e->message);
		if (e->detail)
			optreg_buf_addf(out, "  detail: %s\n", e->detail);
		if (e->hint)
			optreg_buf_addf(out, "  hint: %s\n", e->hint);
	}
}

static int cmp_error(const void *a, const void *b)
{
	const struct optreg_error *x = a, *y = b;

	/* Errors without a position keep to the end, in path order. */
	int xl = x->line > 0 ? x->line : 1 << 30;
	int yl = y->line > 0 ? y->line : 1 << 30;
	if (xl != yl)
		return xl < yl ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return strcmp(x->path, y->path);
}

void optreg_errors_sort(struct optreg_errors *errs)
{
	if (errs->len > 1)
		qsort(errs->items, errs->len, sizeof(*errs->items), cmp_error);
}
