/*
 * common/error.c: the error list, the code table's lookups and the one JSON
 * form of errors and problems. See error.h and errcodes.h.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

/* One row of the table in common/errcodes.h. */
struct code_row {
	int code;
	const char *name;
	const char *problem;
	int status;
	int exit;
	const char *title;
	int on_wire; /* in OPTREG_PROBLEM_MAP */
};

#define LOCAL_ROW(e, num, name, problem, status, exit, title)                  \
	{OPTREG_##e, name, problem, status, exit, title, 0},
#define WIRE_ROW(e, num, name, problem, status, exit, title)                   \
	{OPTREG_##e, name, problem, status, exit, title, 1},

static const struct code_row rows[] = {OPTREG_LOCAL_MAP(LOCAL_ROW)
					       OPTREG_PROBLEM_MAP(WIRE_ROW)};

#undef LOCAL_ROW
#undef WIRE_ROW

static const struct code_row ok_row = {OPTREG_OK,      "ok", "ok", 200,
				       OPTREG_EXIT_OK, "OK", 0};

static const struct code_row *row_of(int code)
{
	if (code == OPTREG_OK)
		return &ok_row;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].code == code)
			return &rows[i];
	return NULL;
}

const char *optreg_code_name(int code)
{
	const struct code_row *r = row_of(code);

	return r ? r->name : "unknown";
}

const char *optreg_code_problem(int code)
{
	const struct code_row *r = row_of(code);

	return r ? r->problem : "internal";
}

int optreg_code_http_status(int code)
{
	const struct code_row *r = row_of(code);

	return r ? r->status : 500;
}

int optreg_code_exit(int code)
{
	const struct code_row *r = row_of(code);

	return r ? r->exit : OPTREG_EXIT_UNAVAILABLE;
}

const char *optreg_code_title(int code)
{
	const struct code_row *r = row_of(code);

	return r ? r->title : "Internal Server Error";
}

/* The code of a problem whose wire name is unknown, by its status alone. */
static int code_for_status(long status)
{
	switch (status) {
	case 400:
		return OPTREG_EBADREQUEST;
	case 401:
		return OPTREG_EUNAUTH;
	case 403:
		return OPTREG_EDENIED;
	case 404:
		return OPTREG_ENOTFOUND;
	case 405:
		return OPTREG_EMETHOD;
	case 409:
		return OPTREG_ECONFLICT;
	case 413:
		return OPTREG_ELIMIT;
	case 415:
		return OPTREG_EMEDIATYPE;
	case 422:
		return OPTREG_EINVAL;
	case 429:
		return OPTREG_EUNAVAILABLE;
	case 500:
		return OPTREG_EINTERNAL;
	}
	if (status >= 400 && status < 500)
		return OPTREG_EBADREQUEST;
	return OPTREG_EUNAVAILABLE;
}

/* The row named `problem` on the wire, or NULL; `wire_only` leaves out the
 * local codes. */
static const struct code_row *row_named(const char *problem, int wire_only)
{
	for (size_t i = 0; problem && i < sizeof(rows) / sizeof(rows[0]); i++)
		if ((rows[i].on_wire || !wire_only) &&
		    !strcmp(rows[i].problem, problem))
			return &rows[i];
	return NULL;
}

int optreg_code_from_problem(const char *problem, long status)
{
	const struct code_row *r = row_named(problem, 1);

	if (r && (status == 0 || r->status == status))
		return r->code;
	return code_for_status(status);
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

	OPTREG_ALLOC_GROW(errs->items, errs->len + 1, errs->cap);
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

void optreg_error_set_detail(struct optreg_error *e, const char *fmt, ...)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(e->detail);
	e->detail = optreg_buf_detach(&b, NULL);
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

void optreg_errors_print(FILE *out, const char *file,
			 const struct optreg_errors *errs)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_errors_format(errs, file, &b);
	fwrite(b.data, 1, b.len, out);
	optreg_buf_release(&b);
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

json_t *optreg_json_text(const char *s)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *j;

	if (!s)
		s = "";
	j = json_string(s);
	if (j)
		return j;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80)
			optreg_buf_addch(&b, (char)*p);
		else
			optreg_buf_addf(&b, "\\x%02X", *p);
	}
	j = json_string(b.data);
	optreg_buf_release(&b);
	return j;
}

json_t *optreg_errors_to_json(const struct optreg_errors *errs)
{
	json_t *arr = json_array();

	for (size_t i = 0; errs && i < errs->len; i++) {
		const struct optreg_error *e = &errs->items[i];
		json_t *item = json_object();

		json_object_set_new(item, "code",
				    json_string(optreg_code_problem(e->code)));
		json_object_set_new(item, "path", optreg_json_text(e->path));
		json_object_set_new(item, "rule", optreg_json_text(e->rule));
		json_object_set_new(item, "message",
				    optreg_json_text(e->message));
		if (e->detail)
			json_object_set_new(item, "detail",
					    optreg_json_text(e->detail));
		if (e->hint)
			json_object_set_new(item, "hint",
					    optreg_json_text(e->hint));
		if (e->line > 0)
			json_object_set_new(item, "line",
					    json_integer(e->line));
		if (e->col > 0)
			json_object_set_new(item, "col", json_integer(e->col));
		json_array_append_new(arr, item);
	}
	return arr;
}

/* A string member of `o`, or NULL when absent, empty or not a string. */
static const char *member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && s[0] ? s : NULL;
}

/* A positive int member of `o`, or 0. */
static int position(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 && v <= 1 << 30 ? (int)v : 0;
}

size_t optreg_errors_from_json(struct optreg_errors *errs, const json_t *arr,
			       int code)
{
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *it = json_array_get(arr, i);
		const char *msg = member(it, "message");
		const struct code_row *r = row_named(member(it, "code"), 0);
		struct optreg_error *e;

		if (!json_is_object(it) || !msg)
			continue;
		e = optreg_errors_add(errs, r ? r->code : code,
				      member(it, "rule"), member(it, "path"),
				      "%s", msg);
		if (member(it, "detail"))
			optreg_error_set_detail(e, "%s", member(it, "detail"));
		if (member(it, "hint"))
			optreg_error_set_hint(e, "%s", member(it, "hint"));
		e->line = position(it, "line");
		e->col = position(it, "col");
		n++;
	}
	return n;
}

json_t *optreg_problem_new(int code, const char *problem, const char *detail,
			   const char *request_id,
			   const struct optreg_errors *errs)
{
	json_t *p = json_object();
	char type[160];

	if (!problem)
		problem = optreg_code_problem(code);
	snprintf(type, sizeof(type), "https://optreg.dev/problems/%s", problem);
	json_object_set_new(p, "type", optreg_json_text(type));
	json_object_set_new(p, "title", json_string(optreg_code_title(code)));
	json_object_set_new(p, "status",
			    json_integer(optreg_code_http_status(code)));
	if (detail)
		json_object_set_new(p, "detail", optreg_json_text(detail));
	json_object_set_new(p, "code", optreg_json_text(problem));
	if (request_id)
		json_object_set_new(p, "request_id",
				    optreg_json_text(request_id));
	if (errs && errs->len)
		json_object_set_new(p, "errors", optreg_errors_to_json(errs));
	return p;
}
