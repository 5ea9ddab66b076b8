/*
 * validator/doc_yaml.c: the YAML loader. libyaml's event parser drives a
 * stack of open containers; scalars are resolved by doc_yaml_scalar.c. The
 * loader records where each value starts and refuses what the document
 * layer forbids (docs/config.md, "Layers"): aliases and anchors, unknown
 * tags, non-string keys, duplicate keys, non-finite numbers, text that is
 * not UTF-8, more than one document, nesting beyond OPTREG_DOC_MAX_DEPTH.
 */
#include "doc.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../common/alloc.h"
#include "doc_int.h"

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
	*line = doc_clamp_int(m->line + 1);
	*col = doc_clamp_int(m->column + 1);
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
		optreg_doc_path_index(&st->path, f->index);
	else
		optreg_doc_path_key(&st->path, f->key);
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
	char *name = doc_yaml_tag_name(tag);

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

	if (doc_utf8_valid(s, ev->data.scalar.length))
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
	char *name = doc_yaml_tag_name(ev->data.scalar.tag);

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
	enum doc_yaml_tag tag =
		doc_yaml_classify_tag(ev->data.scalar.tag, true);
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
		if (!doc_yaml_is_null(text))
			return tag_mismatch(st, ev, "null");
		*out = json_null();
		return 0;
	case TAG_BOOL:
		b = doc_yaml_bool(text);
		if (b < 0)
			return tag_mismatch(st, ev, "true or false");
		*out = json_boolean(b);
		return 0;
	case TAG_INT:
		if (!doc_yaml_is_decimal_int(text) &&
		    !doc_yaml_is_octal_int(text) && !doc_yaml_is_hex_int(text))
			return tag_mismatch(st, ev, "an integer");
		break;
	case TAG_FLOAT:
		if (doc_yaml_is_non_finite(text))
			return refuse_non_finite(st, text, &ev->start_mark);
		if (!doc_yaml_is_float(text))
			return tag_mismatch(st, ev, "a number");
		break;
	default: /* TAG_NONE: a plain scalar resolved by its text */
		if (doc_yaml_is_null(text)) {
			*out = json_null();
			return 0;
		}
		b = doc_yaml_bool(text);
		if (b >= 0) {
			*out = json_boolean(b);
			return 0;
		}
		if (doc_yaml_is_non_finite(text))
			return refuse_non_finite(st, text, &ev->start_mark);
		if (!doc_yaml_is_float(text) && !doc_yaml_is_octal_int(text) &&
		    !doc_yaml_is_hex_int(text)) {
			*out = json_stringn(text, len);
			return *out ? 0 : OPTREG_ENOMEM;
		}
		break;
	}
	/* A number in one of the core forms (decimal int/float, 0o, 0x). */
	rc = doc_yaml_number(text, &d);
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
	enum doc_yaml_tag tag =
		doc_yaml_classify_tag(ev->data.scalar.tag, true);
	const struct optreg_doc_loc *first;
	struct optreg_error *e;
	int rc;

	rc = refuse_anchor(st, ev->data.scalar.anchor, &ev->start_mark);
	if (rc)
		return rc;
	if (tag == TAG_UNKNOWN)
		return refuse_tag(st, ev->data.scalar.tag, &ev->start_mark);
	if (tag != TAG_NONE && tag != TAG_STR) {
		char *name = doc_yaml_tag_name(ev->data.scalar.tag);
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
	    doc_yaml_is_null(text))
		return refuse_key(st, &ev->start_mark, "null");

	optreg_doc_path_key(&st->path, text);
	if (json_object_get(f->node, text)) {
		e = yaml_error(st, OPTREG_ESYNTAX, "duplicate_key",
			       &ev->start_mark, "duplicate key \"%s\"", text);
		first = doc_find_loc(st->locs, st->nlocs, st->path.data);
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
	enum doc_yaml_tag tag = doc_yaml_classify_tag(tag_text, false);
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
		char *name = doc_yaml_tag_name(tag_text);

		yaml_error(st, OPTREG_ESYNTAX, "tag", &ev->start_mark,
			   "tag \"%s\" does not fit a %s", name,
			   is_map ? "mapping" : "sequence");
		free(name);
		return OPTREG_ESYNTAX;
	}
	if (st->depth == OPTREG_DOC_MAX_DEPTH) {
		int line, col;

		mark_position(&ev->start_mark, &line, &col);
		doc_add_depth_error(st->errs, st->path.data, line, col);
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
		doc_offset_position(st->data, st->len, p->problem_offset,
				    &e->line, &e->col);
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
			p->context, doc_clamp_int(p->context_mark.line + 1),
			doc_clamp_int(p->context_mark.column + 1));
}

static void state_release(struct yaml_state *st)
{
	for (size_t i = 0; i < st->depth; i++)
		free(st->frames[i].key);
	st->depth = 0;
	json_decref(st->root);
	st->root = NULL;
	doc_free_locs(st->locs, st->nlocs);
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
		doc_add_oom_error(errs);
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
			doc_add_oom_error(errs);
		state_release(&st);
		return rc;
	}
	doc->root = st.root;
	doc->locs = st.locs;
	doc->nlocs = st.nlocs;
	optreg_buf_release(&st.path);
	return 0;
}
