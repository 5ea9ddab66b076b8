/*
 * validator/doc.c: JSON and YAML loaders that build one jansson tree.
 *
 * JSON goes through jansson with duplicate keys refused and every number
 * decoded as a double. YAML goes through libyaml's event parser; this file
 * resolves plain scalars by the YAML 1.2 core schema, records where each value
 * starts and refuses what the document layer forbids (docs/config.md,
 * "Layers"). Every loader either fills doc->root or leaves the document empty
 * and appends exactly one error saying why.
 */
#include "doc.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "../common/alloc.h"

#define JSON_FLAGS                                                             \
	(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL)

#define CORE_TAG_PREFIX "tag:yaml.org,2002:"

void optreg_doc_init(struct optreg_doc *doc)
{
	doc->root = NULL;
	doc->format = OPTREG_DOC_JSON;
	doc->locs = NULL;
	doc->nlocs = 0;
}

static void free_locs(struct optreg_doc_loc *locs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(locs[i].path);
	free(locs);
}

void optreg_doc_release(struct optreg_doc *doc)
{
	json_decref(doc->root);
	free_locs(doc->locs, doc->nlocs);
	optreg_doc_init(doc);
}

/* Linear: documents are small and lookups happen only on errors. */
static const struct optreg_doc_loc *find_loc(const struct optreg_doc_loc *locs,
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
	return find_loc(doc->locs, doc->nlocs, path);
}

const struct optreg_doc_loc *optreg_doc_locate(const struct optreg_doc *doc,
					       const char *path)
{
	struct optreg_buf p = OPTREG_BUF_INIT;
	const struct optreg_doc_loc *loc;

	optreg_buf_adds(&p, path ? path : "");
	for (;;) {
		loc = find_loc(doc->locs, doc->nlocs, p.data);
		if (loc || !p.len)
			break;
		/* Strip the last component: `.key`, `[i]` or `["k"]`. */
		size_t i = p.len;
		if (p.data[i - 1] == ']') {
			while (i > 0 && p.data[i - 1] != '[')
				i--;
			i = i ? i - 1 : 0;
			/* `["a]b"]` cannot fool this: quoted keys end in `"]`
			 * and optreg_path_key escapes quotes. */
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

void optreg_path_key(struct optreg_buf *path, const char *key)
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

void optreg_path_index(struct optreg_buf *path, size_t i)
{
	optreg_buf_addf(path, "[%zu]", i);
}

/* ------------------------------------------------------------------------ */
/* Shared helpers */

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/*
 * 1-based line and column of byte `offset` in `data`, counting columns in
 * code points as jansson and libyaml do.
 */
static void offset_position(const char *data, size_t len, size_t offset,
			    int *line, int *col)
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
	*line = clamp_int(l);
	*col = clamp_int(c);
}

/* Whether `s` is strict UTF-8: no overlongs, surrogates or NUL bytes. */
static bool utf8_valid(const char *s, size_t len)
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
static void add_oom_error(struct optreg_errors *errs)
{
	optreg_errors_add(errs, OPTREG_ENOMEM, "out_of_memory", NULL,
			  "out of memory while loading the document");
}

static struct optreg_error *add_depth_error(struct optreg_errors *errs,
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
/* JSON */

/*
 * Finds the first '[' or '{' that opens level OPTREG_DOC_MAX_DEPTH + 1 of
 * well-formed-enough JSON. Returns false when nesting stays within the limit.
 */
static bool json_depth_exceeded(const char *data, size_t len, int *line,
				int *col)
{
	size_t depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > OPTREG_DOC_MAX_DEPTH) {
				offset_position(data, len, i, line, col);
				return true;
			}
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return false;
}

int optreg_doc_load_json(struct optreg_doc *doc, const char *data, size_t len,
			 struct optreg_errors *errs)
{
	struct optreg_error *e;
	json_error_t jerr;
	json_t *root;
	int line, col;

	optreg_doc_release(doc);
	doc->format = OPTREG_DOC_JSON;

	root = json_loadb(data, len, JSON_FLAGS, &jerr);
	if (!root) {
		switch (json_error_code(&jerr)) {
		case json_error_stack_overflow:
			if (!json_depth_exceeded(data, len, &line, &col))
				line = col = 0;
			add_depth_error(errs, NULL, line, col);
			return OPTREG_ELIMIT;
		case json_error_out_of_memory:
			add_oom_error(errs);
			return OPTREG_ENOMEM;
		case json_error_duplicate_key:
			e = optreg_errors_add(errs, OPTREG_ESYNTAX,
					      "duplicate_key", NULL, "%s",
					      jerr.text);
			optreg_error_set_hint(e, "Remove or rename one of the "
						 "keys.");
			break;
		case json_error_numeric_overflow:
			e = optreg_errors_add(errs, OPTREG_ESYNTAX,
					      "non_finite", NULL, "%s",
					      jerr.text);
			optreg_error_set_hint(e, "Numbers must be finite "
						 "doubles.");
			break;
		default:
			e = optreg_errors_add(errs, OPTREG_ESYNTAX, "syntax",
					      NULL, "%s", jerr.text);
			break;
		}
		e->line = jerr.line > 0 ? jerr.line : 0;
		e->col = jerr.line > 0 && jerr.column > 0 ? jerr.column : 0;
		return OPTREG_ESYNTAX;
	}
	/* jansson's own limit is far deeper than ours. */
	if (json_depth_exceeded(data, len, &line, &col)) {
		json_decref(root);
		add_depth_error(errs, NULL, line, col);
		return OPTREG_ELIMIT;
	}
	doc->root = root;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* YAML: scalar resolution */

enum yaml_tag {
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

static enum yaml_tag classify_tag(const yaml_char_t *tag, bool scalar)
{
	static const struct {
		const char *name;
		enum yaml_tag tag;
	} core[] = {
		{"str", TAG_STR},   {"int", TAG_INT},	{"float", TAG_FLOAT},
		{"bool", TAG_BOOL}, {"null", TAG_NULL}, {"map", TAG_MAP},
		{"seq", TAG_SEQ},
	};
	const char *t = (const char *)tag;
	size_t plen = strlen(CORE_TAG_PREFIX);

	if (!t)
		return TAG_NONE;
	if (!strcmp(t, "!"))
		return scalar ? TAG_STR : TAG_NONE;
	if (strncmp(t, CORE_TAG_PREFIX, plen))
		return TAG_UNKNOWN;
	for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
		if (!strcmp(t + plen, core[i].name))
			return core[i].tag;
	}
	return TAG_UNKNOWN;
}

/* The tag as people write it: "!!int" for core tags (malloc'd). */
static char *tag_name(const yaml_char_t *tag)
{
	const char *t = (const char *)tag;
	size_t plen = strlen(CORE_TAG_PREFIX);

	if (!strncmp(t, CORE_TAG_PREFIX, plen))
		return optreg_xasprintf("!!%s", t + plen);
	return optreg_xstrdup(t);
}

static bool is_null_text(const char *s)
{
	return !strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* Returns 1 for true, 0 for false and -1 for anything else. */
static int bool_text(const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return 1;
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return 0;
	return -1;
}

static bool is_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!strchr(set, *s))
			return false;
	}
	return true;
}

#define DEC_DIGITS "0123456789"
#define OCT_DIGITS "01234567"
#define HEX_DIGITS "0123456789abcdefABCDEF"

/* [-+]?[0-9]+ */
static bool is_decimal_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return is_digits(s, DEC_DIGITS);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_text(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	if (*s == '.') {
		n = strspn(s + 1, DEC_DIGITS);
		if (!n)
			return false;
		s += 1 + n;
	} else {
		n = strspn(s, DEC_DIGITS);
		if (!n)
			return false;
		s += n;
		if (*s == '.')
			s += 1 + strspn(s + 1, DEC_DIGITS);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		n = strspn(s, DEC_DIGITS);
		if (!n)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* [-+]?(\.inf|\.Inf|\.INF) and \.nan|\.NaN|\.NAN */
static bool is_non_finite_text(const char *s)
{
	const char *u = s;

	if (*u == '-' || *u == '+')
		u++;
	if (!strcmp(u, ".inf") || !strcmp(u, ".Inf") || !strcmp(u, ".INF"))
		return true;
	return !strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

/* 0o[0-7]+ and 0x[0-9a-fA-F]+ */
static bool is_octal_int(const char *s)
{
	return s[0] == '0' && s[1] == 'o' && is_digits(s + 2, OCT_DIGITS);
}

static bool is_hex_int(const char *s)
{
	return s[0] == '0' && s[1] == 'x' && is_digits(s + 2, HEX_DIGITS);
}

/*
 * strtod in the "C" locale, so '.' is the decimal point whatever the process
 * locale says. `text` is already known to be a decimal or hex number, so the
 * whole string is consumed. Returns 0, or OPTREG_ENOMEM when no C locale can
 * be made.
 */
static int c_strtod(const char *text, double *out)
{
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	locale_t old;

	if (c == (locale_t)0)
		return OPTREG_ENOMEM;
	old = uselocale(c);
	*out = strtod(text, NULL);
	uselocale(old);
	freelocale(c);
	return 0;
}

/*
 * Converts an 0o literal to the equivalent 0x literal (3 bits per octal
 * digit regrouped into 4), so strtod rounds it correctly however long it is.
 */
static char *octal_to_hex(const char *digits)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(digits), bits = 3 * n;
	size_t nhex = (bits + 3) / 4, pad = 4 * nhex - bits;
	char *out = optreg_xmalloc(nhex + 3);

	out[0] = '0';
	out[1] = 'x';
	for (size_t h = 0; h < nhex; h++) {
		unsigned v = 0;

		/* Hex digit h is bits 4h..4h+3 of the value's bit string,
		 * most significant first, after `pad` leading zero bits. */
		for (size_t b = 0; b < 4; b++) {
			size_t pos = 4 * h + b;
			unsigned bit = 0;

			if (pos >= pad) {
				size_t i = pos - pad;
				unsigned d = (unsigned)(digits[i / 3] - '0');

				bit = (d >> (2 - i % 3)) & 1;
			}
			v = (v << 1) | bit;
		}
		out[2 + h] = hex[v];
	}
	out[2 + nhex] = '\0';
	return out;
}

/*
 * Converts number text that matched one of the core-schema number forms.
 * Returns 0, OPTREG_ESYNTAX when the value is not finite (the caller reports
 * it) or OPTREG_ENOMEM.
 */
static int number_value(const char *text, double *out)
{
	int rc;

	if (is_octal_int(text)) {
		char *hex = octal_to_hex(text + 2);

		rc = c_strtod(hex, out);
		free(hex);
	} else {
		/* Decimal and 0x forms are both strtod syntax. */
		rc = c_strtod(text, out);
	}
	if (rc)
		return rc;
	return isfinite(*out) ? 0 : OPTREG_ESYNTAX;
}

/* ------------------------------------------------------------------------ */
/* YAML: tree building */

struct yaml_frame {
	json_t *node;	 /* the container, borrowed from the tree */
	size_t path_len; /* length of the container's path in state.path */
	char *key;	 /* mapping: key awaiting its value, owned; or NULL */
	size_t index;	 /* sequence: index of the next item */
};

struct yaml_state {
	struct optreg_errors *errs;
	const char *data;
	size_t len;
	json_t *root;
	struct yaml_frame frames[OPTREG_DOC_MAX_DEPTH];
	size_t depth;
	struct optreg_buf path; /* path of the value being handled */
	struct optreg_doc_loc *locs;
	size_t nlocs, cap;
	int ndocs;
};

static void mark_position(const yaml_mark_t *m, int *line, int *col)
{
	*line = clamp_int(m->line + 1);
	*col = clamp_int(m->column + 1);
}

static struct optreg_error *yaml_error(struct yaml_state *st, int code,
				       const char *rule, const yaml_mark_t *m,
				       const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Appends an error at `m` naming the current path. */
static struct optreg_error *yaml_error(struct yaml_state *st, int code,
				       const char *rule, const yaml_mark_t *m,
				       const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	struct optreg_error *e;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	e = optreg_errors_add(st->errs, code, rule, st->path.data, "%s",
			      msg.data);
	optreg_buf_release(&msg);
	mark_position(m, &e->line, &e->col);
	return e;
}

static void add_loc(struct yaml_state *st, const yaml_mark_t *m)
{
	struct optreg_doc_loc *loc;

	OPTREG_ALLOC_GROW(st->locs, st->nlocs + 1, st->cap);
	loc = &st->locs[st->nlocs++];
	loc->path = optreg_xstrndup(st->path.data, st->path.len);
	mark_position(m, &loc->line, &loc->col);
}

/* Cuts st->path back to its first `len` bytes. */
static void path_truncate(struct yaml_state *st, size_t len)
{
	assert(len <= st->path.len);
	st->path.len = len;
	if (st->path.cap)
		st->path.data[len] = '\0';
}

static struct yaml_frame *top(struct yaml_state *st)
{
	return st->depth ? &st->frames[st->depth - 1] : NULL;
}

/*
 * Sets st->path to the path of the next value of the current container: the
 * pending key of a mapping or the next index of a sequence.
 */
static void set_value_path(struct yaml_state *st)
{
	struct yaml_frame *f = top(st);

	if (!f) {
		optreg_buf_reset(&st->path);
		return;
	}
	path_truncate(st, f->path_len);
	if (json_is_array(f->node))
		optreg_path_index(&st->path, f->index);
	else
		optreg_path_key(&st->path, f->key);
}

/* Whether the next scalar or collection event is a mapping key. */
static bool expects_key(struct yaml_state *st)
{
	struct yaml_frame *f = top(st);

	return f && json_is_object(f->node) && !f->key;
}

/*
 * Adds `value` (reference stolen) at st->path, which set_value_path() has
 * set, and records its position `m`.
 */
static int attach(struct yaml_state *st, json_t *value, const yaml_mark_t *m)
{
	struct yaml_frame *f = top(st);
	int rc = 0;

	add_loc(st, m);
	if (!f) {
		st->root = value;
		return 0;
	}
	if (json_is_array(f->node)) {
		rc = json_array_append_new(f->node, value);
		f->index++;
	} else {
		rc = json_object_set_new(f->node, f->key, value);
		free(f->key);
		f->key = NULL;
	}
	return rc ? OPTREG_ENOMEM : 0;
}

static int refuse_anchor(struct yaml_state *st, const yaml_char_t *anchor,
			 const yaml_mark_t *m)
{
	struct optreg_error *e;

	if (!anchor)
		return 0;
	e = yaml_error(st, OPTREG_ESYNTAX, "alias", m,
		       "anchors are not supported (got &%s)",
		       (const char *)anchor);
	optreg_error_set_hint(e, "Remove the anchor and write each value "
				 "out in full.");
	return OPTREG_ESYNTAX;
}

static int refuse_tag(struct yaml_state *st, const yaml_char_t *tag,
		      const yaml_mark_t *m)
{
	struct optreg_error *e;
	char *name = tag_name(tag);

	e = yaml_error(st, OPTREG_ESYNTAX, "tag", m, "unsupported tag \"%s\"",
		       name);
	free(name);
	optreg_error_set_hint(e, "Remove the tag; only the core tags !!str, "
				 "!!int, !!float, !!bool, !!null, !!map and "
				 "!!seq are allowed.");
	return OPTREG_ESYNTAX;
}

static int refuse_non_finite(struct yaml_state *st, const char *text,
			     const yaml_mark_t *m)
{
	struct optreg_error *e;

	e = yaml_error(st, OPTREG_ESYNTAX, "non_finite", m,
		       "must be a finite number (got %s)", text);
	optreg_error_set_hint(e, "Numbers must be finite doubles; NaN and "
				 "infinity have no JSON form.");
	return OPTREG_ESYNTAX;
}

/* Checks scalar text: valid UTF-8 with no NUL (as the JSON loader demands). */
static int check_text(struct yaml_state *st, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	if (utf8_valid(s, ev->data.scalar.length))
		return 0;
	if (memchr(s, '\0', ev->data.scalar.length))
		yaml_error(st, OPTREG_ESYNTAX, "syntax", &ev->start_mark,
			   "string contains a NUL character");
	else
		yaml_error(st, OPTREG_ESYNTAX, "syntax", &ev->start_mark,
			   "string is not valid UTF-8");
	return OPTREG_ESYNTAX;
}

static int tag_mismatch(struct yaml_state *st, const yaml_event_t *ev,
			const char *what)
{
	char *name = tag_name(ev->data.scalar.tag);

	yaml_error(st, OPTREG_ESYNTAX, "tag", &ev->start_mark,
		   "must be %s for tag \"%s\" (got \"%s\")", what, name,
		   (const char *)ev->data.scalar.value);
	free(name);
	return OPTREG_ESYNTAX;
}

/*
 * Resolves a scalar value event into *out (new reference), by its tag or,
 * for untagged plain scalars, by the YAML 1.2 core schema. st->path is the
 * value's path. Returns 0 or a negative code with an error appended.
 */
static int scalar_value(struct yaml_state *st, const yaml_event_t *ev,
			json_t **out)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum yaml_tag tag = classify_tag(ev->data.scalar.tag, true);
	double d;
	int b, rc;

	*out = NULL;
	if (tag == TAG_UNKNOWN)
		return refuse_tag(st, ev->data.scalar.tag, &ev->start_mark);
	if (tag == TAG_MAP || tag == TAG_SEQ)
		return tag_mismatch(
			st, ev, tag == TAG_MAP ? "a mapping" : "a sequence");
	rc = check_text(st, ev);
	if (rc)
		return rc;
	if (tag == TAG_NONE && ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		tag = TAG_STR;

	switch (tag) {
	case TAG_STR:
		*out = json_stringn(text, len);
		return *out ? 0 : OPTREG_ENOMEM;
	case TAG_NULL:
		if (!is_null_text(text))
			return tag_mismatch(st, ev, "null");
		*out = json_null();
		return 0;
	case TAG_BOOL:
		b = bool_text(text);
		if (b < 0)
			return tag_mismatch(st, ev, "true or false");
		*out = json_boolean(b);
		return 0;
	case TAG_INT:
		if (!is_decimal_int(text) && !is_octal_int(text) &&
		    !is_hex_int(text))
			return tag_mismatch(st, ev, "an integer");
		break;
	case TAG_FLOAT:
		if (is_non_finite_text(text))
			return refuse_non_finite(st, text, &ev->start_mark);
		if (!is_float_text(text))
			return tag_mismatch(st, ev, "a number");
		break;
	default: /* TAG_NONE: a plain scalar resolved by its text */
		if (is_null_text(text)) {
			*out = json_null();
			return 0;
		}
		b = bool_text(text);
		if (b >= 0) {
			*out = json_boolean(b);
			return 0;
		}
		if (is_non_finite_text(text))
			return refuse_non_finite(st, text, &ev->start_mark);
		if (!is_float_text(text) && !is_octal_int(text) &&
		    !is_hex_int(text)) {
			*out = json_stringn(text, len);
			return *out ? 0 : OPTREG_ENOMEM;
		}
		break;
	}
	/* A number in one of the core forms (decimal int/float, 0o, 0x). */
	rc = number_value(text, &d);
	if (rc == OPTREG_ESYNTAX)
		return refuse_non_finite(st, text, &ev->start_mark);
	if (rc)
		return rc;
	*out = json_real(d);
	return *out ? 0 : OPTREG_ENOMEM;
}

static int refuse_key(struct yaml_state *st, const yaml_mark_t *m,
		      const char *got)
{
	struct optreg_error *e;

	e = yaml_error(st, OPTREG_ESYNTAX, "key_type", m,
		       "mapping keys must be strings (got %s)", got);
	optreg_error_set_hint(e, "Write the key as a plain or quoted string.");
	return OPTREG_ESYNTAX;
}

/*
 * Takes a scalar event in key position. Plain keys are taken as their text
 * (so `1: x` has the key "1"), except that keys resolving to null, and keys
 * tagged with a non-string core tag, are refused. st->path is the mapping's
 * path on entry.
 */
static int take_key(struct yaml_state *st, const yaml_event_t *ev)
{
	struct yaml_frame *f = top(st);
	const char *text = (const char *)ev->data.scalar.value;
	enum yaml_tag tag = classify_tag(ev->data.scalar.tag, true);
	const struct optreg_doc_loc *first;
	struct optreg_error *e;
	int rc;

	rc = refuse_anchor(st, ev->data.scalar.anchor, &ev->start_mark);
	if (rc)
		return rc;
	if (tag == TAG_UNKNOWN)
		return refuse_tag(st, ev->data.scalar.tag, &ev->start_mark);
	if (tag != TAG_NONE && tag != TAG_STR) {
		char *name = tag_name(ev->data.scalar.tag);
		char *got = optreg_xasprintf("a key tagged \"%s\"", name);

		rc = refuse_key(st, &ev->start_mark, got);
		free(got);
		free(name);
		return rc;
	}
	rc = check_text(st, ev);
	if (rc)
		return rc;
	if (tag == TAG_NONE &&
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    is_null_text(text))
		return refuse_key(st, &ev->start_mark, "null");

	optreg_path_key(&st->path, text);
	if (json_object_get(f->node, text)) {
		e = yaml_error(st, OPTREG_ESYNTAX, "duplicate_key",
			       &ev->start_mark, "duplicate key \"%s\"", text);
		first = find_loc(st->locs, st->nlocs, st->path.data);
		if (first)
			optreg_error_set_detail(
				e,
				"The first value for this key is at line %d, "
				"column %d.",
				first->line, first->col);
		optreg_error_set_hint(e, "Remove or rename one of the keys.");
		return OPTREG_ESYNTAX;
	}
	f->key = optreg_xstrdup(text);
	return 0;
}

static int on_scalar(struct yaml_state *st, const yaml_event_t *ev)
{
	json_t *value;
	int rc;

	if (expects_key(st)) {
		path_truncate(st, top(st)->path_len);
		return take_key(st, ev);
	}
	set_value_path(st);
	rc = refuse_anchor(st, ev->data.scalar.anchor, &ev->start_mark);
	if (rc)
		return rc;
	rc = scalar_value(st, ev, &value);
	if (rc)
		return rc;
	return attach(st, value, &ev->start_mark);
}

static int on_collection_start(struct yaml_state *st, const yaml_event_t *ev)
{
	bool is_map = ev->type == YAML_MAPPING_START_EVENT;
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
					   : ev->data.sequence_start.anchor;
	const yaml_char_t *tag_text = is_map ? ev->data.mapping_start.tag
					     : ev->data.sequence_start.tag;
	enum yaml_tag tag = classify_tag(tag_text, false);
	struct yaml_frame *f;
	json_t *node;
	int rc;

	if (expects_key(st)) {
		path_truncate(st, top(st)->path_len);
		return refuse_key(st, &ev->start_mark,
				  is_map ? "a mapping" : "a sequence");
	}
	set_value_path(st);
	rc = refuse_anchor(st, anchor, &ev->start_mark);
	if (rc)
		return rc;
	if (tag == TAG_UNKNOWN)
		return refuse_tag(st, tag_text, &ev->start_mark);
	if (tag != TAG_NONE && tag != (is_map ? TAG_MAP : TAG_SEQ)) {
		char *name = tag_name(tag_text);

		yaml_error(st, OPTREG_ESYNTAX, "tag", &ev->start_mark,
			   "tag \"%s\" does not fit a %s", name,
			   is_map ? "mapping" : "sequence");
		free(name);
		return OPTREG_ESYNTAX;
	}
	if (st->depth == OPTREG_DOC_MAX_DEPTH) {
		int line, col;

		mark_position(&ev->start_mark, &line, &col);
		add_depth_error(st->errs, st->path.data, line, col);
		return OPTREG_ELIMIT;
	}

	node = is_map ? json_object() : json_array();
	if (!node)
		return OPTREG_ENOMEM;
	rc = attach(st, node, &ev->start_mark);
	if (rc)
		return rc;
	f = &st->frames[st->depth++];
	f->node = node;
	f->path_len = st->path.len;
	f->key = NULL;
	f->index = 0;
	return 0;
}

static int on_multiple_documents(struct yaml_state *st, const yaml_event_t *ev)
{
	struct optreg_error *e;

	optreg_buf_reset(&st->path);
	e = yaml_error(st, OPTREG_ESYNTAX, "multiple_documents",
		       &ev->start_mark,
		       "the stream holds more than one YAML document");
	optreg_error_set_hint(e, "Put each config in a file of its own.");
	return OPTREG_ESYNTAX;
}

/* Handles one event. Returns 0 or a negative code with an error appended. */
static int on_event(struct yaml_state *st, const yaml_event_t *ev)
{
	struct optreg_error *e;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (st->ndocs++)
			return on_multiple_documents(st, ev);
		return 0;
	case YAML_ALIAS_EVENT:
		if (expects_key(st)) {
			path_truncate(st, top(st)->path_len);
		} else {
			set_value_path(st);
		}
		e = yaml_error(st, OPTREG_ESYNTAX, "alias", &ev->start_mark,
			       "aliases are not supported (got *%s)",
			       (const char *)ev->data.alias.anchor);
		optreg_error_set_hint(e, "Write the value out in full.");
		return OPTREG_ESYNTAX;
	case YAML_SCALAR_EVENT:
		return on_scalar(st, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(st, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		assert(st->depth > 0);
		st->depth--;
		return 0;
	default: /* stream start/end, document end */
		return 0;
	}
}

/* Appends libyaml's error, positioned where libyaml found the problem. */
static void add_parser_error(struct yaml_state *st, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	struct optreg_error *e;

	e = optreg_errors_add(st->errs, OPTREG_ESYNTAX, "syntax", NULL, "%s",
			      problem);
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		offset_position(st->data, st->len, p->problem_offset, &e->line,
				&e->col);
		if (p->problem_value >= 0)
			optreg_error_set_detail(
				e,
				"The offending byte or character is 0x%X at "
				"byte offset %zu.",
				(unsigned)p->problem_value, p->problem_offset);
		return;
	}
	mark_position(&p->problem_mark, &e->line, &e->col);
	if (p->context)
		optreg_error_set_detail(
			e,
			"The problem was found %s that starts at line %d, "
			"column %d.",
			p->context, clamp_int(p->context_mark.line + 1),
			clamp_int(p->context_mark.column + 1));
}

static void state_release(struct yaml_state *st)
{
	for (size_t i = 0; i < st->depth; i++)
		free(st->frames[i].key);
	st->depth = 0;
	json_decref(st->root);
	st->root = NULL;
	free_locs(st->locs, st->nlocs);
	st->locs = NULL;
	st->nlocs = st->cap = 0;
	optreg_buf_release(&st->path);
}

int optreg_doc_load_yaml(struct optreg_doc *doc, const char *data, size_t len,
			 struct optreg_errors *errs)
{
	struct yaml_state st;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool done = false;
	int rc = 0;

	optreg_doc_release(doc);
	doc->format = OPTREG_DOC_YAML;

	memset(&st, 0, sizeof(st));
	st.errs = errs;
	st.data = data;
	st.len = len;
	optreg_buf_init(&st.path);

	if (!yaml_parser_initialize(&parser)) {
		add_oom_error(errs);
		return OPTREG_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				rc = OPTREG_ENOMEM;
			} else {
				add_parser_error(&st, &parser);
				rc = OPTREG_ESYNTAX;
			}
			break;
		}
		rc = on_event(&st, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc)
			break;
	}
	yaml_parser_delete(&parser);

	if (!rc && !st.root) {
		/* An empty stream: a null document, placed at its start. */
		yaml_mark_t start = {0, 0, 0};

		optreg_buf_reset(&st.path);
		st.root = json_null();
		add_loc(&st, &start);
	}
	if (rc) {
		if (rc == OPTREG_ENOMEM)
			add_oom_error(errs);
		state_release(&st);
		return rc;
	}
	doc->root = st.root;
	doc->locs = st.locs;
	doc->nlocs = st.nlocs;
	optreg_buf_release(&st.path);
	return 0;
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
