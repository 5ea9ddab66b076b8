/*
 * validator/doc_int.h: what the document files share, private to
 * validator/doc*.c: doc.c (the model, paths, files and the helpers below),
 * doc_json.c, doc_yaml.c and doc_yaml_scalar.c (the loaders).
 */
#ifndef OPTREG_DOC_INT_H
#define OPTREG_DOC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "doc.h"

/* Frees `n` locations and the array. */
void doc_free_locs(struct optreg_doc_loc *locs, size_t n);

/* The location recorded for exactly `path`, or NULL (borrowed). */
const struct optreg_doc_loc *doc_find_loc(const struct optreg_doc_loc *locs,
					  size_t n, const char *path);

/* `v` as an int, INT_MAX when it does not fit. */
int doc_clamp_int(size_t v);

/*
 * 1-based line and column of byte `offset` in `data`, counting columns in
 * code points as jansson and libyaml do.
 */
void doc_offset_position(const char *data, size_t len, size_t offset, int *line,
			 int *col);

/* Whether `s` is strict UTF-8: no overlongs, surrogates or NUL bytes. */
bool doc_utf8_valid(const char *s, size_t len);

/* Appends the error for an allocation failure inside jansson or libyaml. */
void doc_add_oom_error(struct optreg_errors *errs);

/* Appends the "depth" error (OPTREG_ELIMIT) at `path`, `line`, `col`;
 * returns it (borrowed). */
struct optreg_error *doc_add_depth_error(struct optreg_errors *errs,
					 const char *path, int line, int col);

/* YAML scalar resolution (doc_yaml_scalar.c). */
enum doc_yaml_tag {
	TAG_NONE,    /* no tag: resolve by kind (and for plain scalars, text) */
	TAG_STR,     /* !!str or the non-specific "!" on a scalar */
	TAG_INT,     /* !!int */
	TAG_FLOAT,   /* !!float */
	TAG_BOOL,    /* !!bool */
	TAG_NULL,    /* !!null */
	TAG_MAP,     /* !!map */
	TAG_SEQ,     /* !!seq */
	TAG_UNKNOWN, /* anything else: refused */
};

/* The tag of a node; `scalar` says whether the node is a scalar (the
 * non-specific "!" means !!str there). */
enum doc_yaml_tag doc_yaml_classify_tag(const yaml_char_t *tag, bool scalar);

/* The tag as people write it: "!!int" for core tags (malloc'd). */
char *doc_yaml_tag_name(const yaml_char_t *tag);

/* Core-schema tests on plain scalar text. doc_yaml_bool returns 1 for
 * true, 0 for false and -1 for anything else. */
bool doc_yaml_is_null(const char *s);
int doc_yaml_bool(const char *s);
bool doc_yaml_is_decimal_int(const char *s);
bool doc_yaml_is_float(const char *s);
bool doc_yaml_is_non_finite(const char *s);
bool doc_yaml_is_octal_int(const char *s);
bool doc_yaml_is_hex_int(const char *s);

/*
 * The value of a number in one of the core forms (decimal, 0o, 0x), read in
 * the C locale. Returns 0, OPTREG_ESYNTAX when it is not finite (1e999), or
 * OPTREG_ENOMEM.
 */
int doc_yaml_number(const char *text, double *out);

#endif
