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

enum {
	OPTREG_OK = 0,
	OPTREG_ENOMEM = -1,    /* allocation failed */
	OPTREG_EIO = -2,       /* reading or writing a file or socket failed */
	OPTREG_ESYNTAX = -3,   /* input is not well-formed YAML or JSON */
	OPTREG_EINVAL = -4,    /* well-formed input that breaks a rule */
	OPTREG_EUSAGE = -5,    /* a command was called the wrong way */
	OPTREG_ELIMIT = -6,    /* input exceeds a size or depth limit */
	OPTREG_ENOTFOUND = -7, /* the named thing does not exist */
	OPTREG_ECONFLICT = -8, /* a compare-and-set or state check failed */
	OPTREG_EDENIED = -9,   /* authenticated, but not allowed */
	OPTREG_EUNAUTH = -10,  /* no valid credentials */
	OPTREG_EUNAVAILABLE = -11, /* a dependency (PostgreSQL) is down */
	OPTREG_EINTERNAL = -12,	   /* a bug or an unexpected database error */
};

/* Stable lowercase name of a code ("syntax", "invalid", ...). */
const char *optreg_code_name(int code);

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

void optreg_errors_init(struct optreg_errors *errs);
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

/* Sets the optional hint of an error (copied). */
void optreg_error_set_hint(struct optreg_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct optreg_buf;

/*
 * Appends one line per error in the form `file:line:col: path: message`,
 * leaving out the parts that are unknown, and a `hint:` line where there is
 * one. `file` may be NULL.
 */
void optreg_errors_format(const struct optreg_errors *errs, const char *file,
			  struct optreg_buf *out);

/* Sorts errors by (line, col, path) so reports read top to bottom. */
void optreg_errors_sort(struct optreg_errors *errs);

#endif
