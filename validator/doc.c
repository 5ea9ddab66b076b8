/*
 * validator/doc.c: the document model shared by both loaders: the tree and
 * its recorded positions, JSON paths, the choice of loader and reading
 * files, and the helpers the loaders share (doc_int.h).
 *
 * The loaders themselves are doc_json.c (jansson) and doc_yaml.c with
 * doc_yaml_scalar.c (libyaml). Every loader either fills doc->root or
 * leaves the document empty and appends exactly one error saying why.
 */
#include "doc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doc_int.h"

void optreg_doc_init(struct optreg_doc *doc)
{
	doc->root = NULL;
	doc->format = OPTREG_DOC_JSON;
	doc->locs = NULL;
	doc->nlocs = 0;
}

void doc_free_locs(struct optreg_doc_loc *locs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(locs[i].path);
	free(locs);
}

void optreg_doc_release(struct optreg_doc *doc)
{
	json_decref(doc->root);
	doc_free_locs(doc->locs, doc->nlocs);
	optreg_doc_init(doc);
}

/* Linear: documents are small and lookups happen only on errors. */
const struct optreg_doc_loc *doc_find_loc(const struct optreg_doc_loc *locs,
					  size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(locs[i].path, path))
			return &locs[i];
	}
	return NULL;
}

const struct optreg_doc_loc *optreg_doc_find(const struct optreg_doc *doc,
					     const char *path)
{
	return doc_find_loc(doc->locs, doc->nlocs, path);
}

const struct optreg_doc_loc *optreg_doc_locate(const struct optreg_doc *doc,
					       const char *path)
{
	struct optreg_buf p = OPTREG_BUF_INIT;
	const struct optreg_doc_loc *loc;

	optreg_buf_adds(&p, path ? path : "");
	for (;;) {
		loc = doc_find_loc(doc->locs, doc->nlocs, p.data);
		if (loc || !p.len)
			break;
		/* Strip the last component: `.key`, `[i]` or `["k"]`. */
		size_t i = p.len;
		if (p.data[i - 1] == ']') {
			while (i > 0 && p.data[i - 1] != '[')
				i--;
			i = i ? i - 1 : 0;
			/* `["a]b"]` cannot fool this: quoted keys end in `"]`
			 * and optreg_doc_path_key escapes quotes. */
		} else {
			while (i > 0 && p.data[i - 1] != '.' &&
			       p.data[i - 1] != ']')
				i--;
			if (i > 0 && p.data[i - 1] == '.')
				i--;
		}
		p.len = i;
		p.data[i] = '\0';
	}
	optreg_buf_release(&p);
	return loc;
}

/* ------------------------------------------------------------------------ */
/* Paths */

static bool is_plain_key(const char *key)
{
	if (!*key)
		return false;
	for (const char *p = key; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void optreg_doc_path_key(struct optreg_buf *path, const char *key)
{
	if (is_plain_key(key)) {
		if (path->len)
			optreg_buf_addch(path, '.');
		optreg_buf_adds(path, key);
		return;
	}
	/* JSON string escapes, so every key reads back unambiguously. */
	optreg_buf_adds(path, "[\"");
	for (const char *p = key; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\')
			optreg_buf_addf(path, "\\%c", c);
		else if (c == '\n')
			optreg_buf_adds(path, "\\n");
		else if (c == '\t')
			optreg_buf_adds(path, "\\t");
		else if (c == '\r')
			optreg_buf_adds(path, "\\r");
		else if (c < 0x20 || c == 0x7f)
			optreg_buf_addf(path, "\\u%04x", c);
		else
			optreg_buf_addch(path, (char)c);
	}
	optreg_buf_adds(path, "\"]");
}

void optreg_doc_path_index(struct optreg_buf *path, size_t i)
{
	optreg_buf_addf(path, "[%zu]", i);
}

/* ------------------------------------------------------------------------ */
/* Shared helpers */

int doc_clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/*
 * 1-based line and column of byte `offset` in `data`, counting columns in
 * code points as jansson and libyaml do.
 */
void doc_offset_position(const char *data, size_t len, size_t offset, int *line,
			 int *col)
{
	size_t l = 1, c = 1;

	if (offset > len)
		offset = len;
	for (size_t i = 0; i < offset; i++) {
		unsigned char ch = (unsigned char)data[i];

		if (ch == '\n' ||
		    (ch == '\r' && (i + 1 >= len || data[i + 1] != '\n'))) {
			l++;
			c = 1;
		} else if ((ch & 0xc0) != 0x80 && ch != '\r') {
			c++;
		}
	}
	*line = doc_clamp_int(l);
	*col = doc_clamp_int(c);
}

/* Whether `s` is strict UTF-8: no overlongs, surrogates or NUL bytes. */
bool doc_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;

	while (p < end) {
		unsigned char c = *p;
		size_t n;
		unsigned long cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

/* Allocation failures inside jansson or libyaml (ours abort instead). */
void doc_add_oom_error(struct optreg_errors *errs)
{
	optreg_errors_add(errs, OPTREG_ENOMEM, "out_of_memory", NULL,
			  "out of memory while loading the document");
}

struct optreg_error *doc_add_depth_error(struct optreg_errors *errs,
					 const char *path, int line, int col)
{
	struct optreg_error *e;

	e = optreg_errors_add(errs, OPTREG_ELIMIT, "depth", path,
			      "nesting is deeper than %d levels",
			      OPTREG_DOC_MAX_DEPTH);
	e->line = line;
	e->col = col;
	optreg_error_set_hint(e, "Flatten the document; configs need only a "
				 "few levels.");
	return e;
}

/* ------------------------------------------------------------------------ */
/* Choosing a loader */

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n >= s && !strcasecmp(name + n - s, suffix);
}

int optreg_doc_load(struct optreg_doc *doc, const char *name, const char *data,
		    size_t len, struct optreg_errors *errs)
{
	if (name && has_suffix(name, ".json"))
		return optreg_doc_load_json(doc, data, len, errs);
	if (name && (has_suffix(name, ".yaml") || has_suffix(name, ".yml")))
		return optreg_doc_load_yaml(doc, data, len, errs);
	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '{' || c == '[')
			return optreg_doc_load_json(doc, data, len, errs);
		break;
	}
	return optreg_doc_load_yaml(doc, data, len, errs);
}

int optreg_doc_read_file(struct optreg_buf *b, const char *path,
			 struct optreg_errors *errs)
{
	struct optreg_error *e;
	int rc = optreg_buf_read_file(b, path);

	if (rc == 0)
		return 0;
	e = optreg_errors_add(errs, OPTREG_EIO, "io", NULL,
			      "cannot read file: %s", strerror(errno));
	optreg_error_set_detail(e, "The path is \"%s\".", path);
	return OPTREG_EIO;
}

int optreg_doc_load_file(struct optreg_doc *doc, const char *path,
			 struct optreg_errors *errs)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	int rc;

	rc = optreg_doc_read_file(&b, path, errs);
	if (rc) {
		optreg_buf_release(&b);
		optreg_doc_release(doc);
		return rc;
	}
	rc = optreg_doc_load(doc, path, b.data, b.len, errs);
	optreg_buf_release(&b);
	return rc;
}
