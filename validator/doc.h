/*
 * validator/doc.h: a JSON or YAML document loaded into one tree.
 *
 * Both loaders produce the same jansson tree for the same content: objects,
 * arrays, strings, true/false/null, and numbers, which are always json_real
 * (RFC 8785 treats every JSON number as an IEEE 754 double, and so do we).
 *
 * The YAML loader also records where each value starts, by JSON path
 * ("spec.betas[1]", "metadata.labels.model", "" for the root), so that
 * validation errors can say `file:line:col`. Paths are built with
 * optreg_doc_path_* below; object keys that are not plain identifiers are
 * written quoted: `metadata.labels["a b"]`.
 *
 * Loaders refuse duplicate keys, non-finite numbers (.nan, .inf, 1e999),
 * invalid UTF-8, lone surrogates, YAML aliases/anchors and unknown YAML tags,
 * and documents nested deeper than OPTREG_DOC_MAX_DEPTH.
 */
#ifndef OPTREG_DOC_H
#define OPTREG_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "../common/buf.h"
#include "../common/error.h"

#define OPTREG_DOC_MAX_DEPTH 64

enum optreg_doc_format {
	OPTREG_DOC_JSON,
	OPTREG_DOC_YAML,
};

struct optreg_doc_loc {
	char *path; /* owned */
	int line;   /* 1-based */
	int col;    /* 1-based */
};

struct optreg_doc {
	json_t *root; /* owned; NULL until loaded */
	enum optreg_doc_format format;
	struct optreg_doc_loc *locs; /* owned; empty for JSON */
	size_t nlocs;
};

void optreg_doc_init(struct optreg_doc *doc);
void optreg_doc_release(struct optreg_doc *doc);

/*
 * Parses `len` bytes of JSON into doc->root. On failure returns OPTREG_ESYNTAX
 * (or OPTREG_ELIMIT) and appends an error with line and column to `errs`.
 */
int optreg_doc_load_json(struct optreg_doc *doc, const char *data, size_t len,
			 struct optreg_errors *errs);

/*
 * Parses one YAML document (YAML 1.2 core schema scalars) into doc->root and
 * records value locations. A stream with more than one document is refused.
 */
int optreg_doc_load_yaml(struct optreg_doc *doc, const char *data, size_t len,
			 struct optreg_errors *errs);

/*
 * Picks the loader: JSON when `name` ends in ".json", YAML for ".yaml"/".yml",
 * otherwise by content (JSON when the first non-blank byte is '{' or '[').
 */
int optreg_doc_load(struct optreg_doc *doc, const char *name, const char *data,
		    size_t len, struct optreg_errors *errs);

/*
 * Appends the contents of the file `path` to `b`. An unreadable file is
 * OPTREG_EIO with one error: rule "io", "cannot read file: <reason>", and
 * the path in the detail.
 */
int optreg_doc_read_file(struct optreg_buf *b, const char *path,
			 struct optreg_errors *errs);
/* Reads and loads a file; an unreadable file is OPTREG_EIO with an error. */
int optreg_doc_load_file(struct optreg_doc *doc, const char *path,
			 struct optreg_errors *errs);

/* The recorded position of the value at `path`, or NULL (borrowed). */
const struct optreg_doc_loc *optreg_doc_find(const struct optreg_doc *doc,
					     const char *path);

/*
 * The recorded position of the value at `path` or, when it has none, of its
 * nearest ancestor that has one (a missing field is reported where its
 * parent is): `a.b[2]["k"]` tries itself, `a.b[2]`, `a.b`, `a`, then "".
 * NULL when nothing on the way is recorded (always for JSON). Borrowed.
 */
const struct optreg_doc_loc *optreg_doc_locate(const struct optreg_doc *doc,
					       const char *path);

/*
 * Path building. optreg_doc_path_key appends `.key` (or `key` at the root, or
 * `["k y"]` for keys that are not [A-Za-z0-9_-]+); optreg_doc_path_index
 * appends
 * `[i]`.
 */
void optreg_doc_path_key(struct optreg_buf *path, const char *key);
void optreg_doc_path_index(struct optreg_buf *path, size_t i);

#endif
