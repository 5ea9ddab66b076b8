/*
 * common/error.h: one error shape, end to end.
 *
 * The same struct becomes a CLI message, a problem+json `errors[]` item and a
 * policy violation. Functions that can fail return 0 or one of the negative
 * OPTREG_E* codes; where a person must be told why, they also append to an
 * optreg_errors list, so a whole document's problems are reported at once.
 *
 * Messages follow PostgreSQL's style: a lowercase primary message without a
 * trailing period that names the value (`must be less than 1 (got 1)`), an
 * optional detail sentence and an optional hint sentence saying what to do.
 */
#ifndef OPTREG_ERROR_H
#define OPTREG_ERROR_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "errcodes.h"

/* Stable lowercase name of a code ("syntax", "invalid", ...); "ok" for 0 and
 * "unknown" for a number that is not in the table. */
const char *optreg_code_name(int code);

/* The problem `code` sent on the wire for `code` ("invalid_config"); "ok"
 * for 0 and "internal" for a number that is not in the table. */
const char *optreg_code_problem(int code);

/* The HTTP status the registry answers `code` with; 200 for 0 and 500 for a
 * number that is not in the table. */
int optreg_code_http_status(int code);

/* The CLI exit status for `code` (OPTREG_EXIT_*); OPTREG_EXIT_OK for 0 and
 * OPTREG_EXIT_UNAVAILABLE for a number that is not in the table. */
int optreg_code_exit(int code);

/* The HTTP title (reason phrase) of `code`'s status ("Not Found"); "OK" for
 * 0 and "Internal Server Error" for a number that is not in the table. */
const char *optreg_code_title(int code);

/*
 * The code of a problem the registry answered with HTTP `status`: the row
 * whose wire name is `problem` when its status is `status` (or `status` is
 * 0), else a default by status alone (400 bad_request, 401 unauthorized, 403
 * forbidden, 404 not_found, 405 method_not_allowed, 409 conflict, 413
 * too_large, 415 unsupported_media_type, 422 invalid_config, any other 4xx
 * bad_request but 429 unavailable, 500 internal, anything else unavailable).
 * So optreg_code_exit() of the result always equals the exit status the CLI
 * derived from `status` alone. Only codes the registry sends are matched
 * (OPTREG_PROBLEM_MAP); `problem` may be NULL. With `status` 0 an unknown
 * `problem` gives OPTREG_EUNAVAILABLE.
 */
int optreg_code_from_problem(const char *problem, long status);

struct optreg_error {
	int code;   /* OPTREG_E* */
	char *rule; /* stable rule id, e.g. "range"; never NULL */
	char *path; /* JSON path, e.g. "spec.betas[1]"; "" for the document */
	char *message; /* primary message; never NULL */
	char *detail;  /* optional sentence with facts, or NULL */
	char *hint;    /* optional sentence saying what to do, or NULL */
	int line;      /* 1-based source position, 0 when unknown */
	int col;
};

struct optreg_errors {
	struct optreg_error *items;
	size_t len, cap;
};

#define OPTREG_ERRORS_INIT                                                     \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Makes `errs` an empty list (as OPTREG_ERRORS_INIT does). */
void optreg_errors_init(struct optreg_errors *errs);
/* Frees every error and its strings; the list is left empty and reusable. */
void optreg_errors_release(struct optreg_errors *errs);

/*
 * Appends an error and returns it (borrowed; valid until the next add), so the
 * caller can set `hint`, `detail`, `line` and `col`. `path` may be NULL.
 * Returns `code`'s item; the list owns all strings.
 */
struct optreg_error *optreg_errors_add(struct optreg_errors *errs, int code,
				       const char *rule, const char *path,
				       const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Sets the optional hint of an error (formatted and copied). */
void optreg_error_set_hint(struct optreg_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets the optional detail of an error (formatted and copied). */
void optreg_error_set_detail(struct optreg_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct optreg_buf;

/*
 * Appends one line per error in the form `file:line:col: path: message`,
 * leaving out the parts that are unknown, and a `hint:` line where there is
 * one. `file` may be NULL.
 */
void optreg_errors_format(const struct optreg_errors *errs, const char *file,
			  struct optreg_buf *out);

/*
 * Writes optreg_errors_format()'s lines to `out` in one write, for the CLI
 * and the runner. `file` may be NULL.
 */
void optreg_errors_print(FILE *out, const char *file,
			 const struct optreg_errors *errs);

/* Sorts errors by (line, col, path) so reports read top to bottom. */
void optreg_errors_sort(struct optreg_errors *errs);

/*
 * The one JSON form of an error list: an array (new reference) with one
 * object per error, in this key order: "code" (the wire name,
 * optreg_code_problem), "path" (always, "" for the document), "rule",
 * "message", then "detail", "hint", "line" and "col" where known. Strings
 * that are not UTF-8 are written as optreg_json_text() does.
 */
json_t *optreg_errors_to_json(const struct optreg_errors *errs);

/*
 * Appends the errors of a JSON array in that form to `errs`, keeping every
 * field: "code" by its wire name, local codes included (absent or unknown:
 * `code`), "rule", "path", "message", "detail", "hint", "line" and "col".
 * An empty string counts as absent; items that are not objects or have no
 * "message" are skipped.
 * Returns the number of errors appended. `arr` is borrowed.
 */
size_t optreg_errors_from_json(struct optreg_errors *errs, const json_t *arr,
			       int code);

/*
 * An RFC 9457 problem body (new reference) for `code`: "type"
 * (https://optreg.dev/problems/<problem>), "title", "status", "detail"
 * (when not NULL), "code", "request_id" (when not NULL) and "errors"
 * (optreg_errors_to_json, when `errs` has any), in that order. `problem`
 * overrides the wire name of `code` when not NULL (the registry names a
 * 409 after the error's rule, e.g. "lease_lost"). All arguments borrowed.
 */
json_t *optreg_problem_new(int code, const char *problem, const char *detail,
			   const char *request_id,
			   const struct optreg_errors *errs);

/* A JSON string (new reference) of `s` when it is valid UTF-8, else of `s`
 * with its bytes above 0x7F written as \xNN, so a log line or a problem body
 * can always be built. NULL is taken as "". */
json_t *optreg_json_text(const char *s);

#endif
