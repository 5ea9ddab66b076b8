/*
 * validator/yaml_emit.c: block YAML from a document tree (see
 * yaml_emit.h), with libyaml's emitter.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "doc.h"
#include "jcs.h"
#include "yaml_emit.h"

static int yaml_write(void *data, unsigned char *bytes, size_t size)
{
	optreg_buf_add(data, bytes, size);
	return 1;
}

/*
 * True when a plain scalar `s` would load as something other than this
 * string under YAML 1.2's core schema or YAML 1.1 (what PyYAML speaks):
 * null, booleans (yes/no/on/off too), numbers, .inf/.nan, merge keys.
 * Those are double-quoted; libyaml quotes the rest where plain cannot be
 * read back (indicators, ": ", leading spaces, newlines...).
 */
static int looks_typed(const char *s)
{
	static const char *const words[] = {
		"null", "~", "true", "false", "yes",  "no", "on",
		"off",	"y", "n",    ".inf",  ".nan", "<<", "=",
	};
	const char *u = s;

	if (!s[0])
		return 1;
	if ((s[0] == '-' || s[0] == '+' || s[0] == '.') &&
	    ((s[1] >= '0' && s[1] <= '9') || s[1] == '.'))
		return 1;
	if (s[0] >= '0' && s[0] <= '9')
		return 1;
	if (s[0] == '-' || s[0] == '+')
		u = s + 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]) || !strcasecmp(u, words[i]))
			return 1;
	return 0;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, size_t len,
		       yaml_scalar_style_t style)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
				     (int)len, 1, 1, style);
	return yaml_emitter_emit(em, &ev);
}

static int emit_string(yaml_emitter_t *em, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (looks_typed(s) || strlen(s) != len)
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (strchr(s, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE; /* libyaml falls back to
						      quotes where it must */
	return emit_scalar(em, s, len, style);
}

/* A number in its ECMAScript form, but 1e-7 (a float in YAML 1.2, a
 * string to YAML 1.1, which wants a dot) written as 1.0e-7. */
static int emit_number(yaml_emitter_t *em, double v)
{
	struct optreg_buf num = OPTREG_BUF_INIT;
	char *e;
	int ok;

	if (optreg_jcs_number(v, &num) < 0) {
		optreg_buf_release(&num);
		return 0;
	}
	e = strchr(num.data, 'e');
	if (e && !memchr(num.data, '.', (size_t)(e - num.data))) {
		struct optreg_buf fixed = OPTREG_BUF_INIT;
		optreg_buf_add(&fixed, num.data, (size_t)(e - num.data));
		optreg_buf_adds(&fixed, ".0");
		optreg_buf_adds(&fixed, e);
		optreg_buf_release(&num);
		num = fixed;
	}
	ok = emit_scalar(em, num.data, num.len, YAML_PLAIN_SCALAR_STYLE);
	optreg_buf_release(&num);
	return ok;
}

static int emit_value(yaml_emitter_t *em, const json_t *v)
{
	yaml_event_t ev;
	const char *key;
	json_t *item;
	size_t i;
	int ok = 1;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						    YAML_BLOCK_MAPPING_STYLE);
		ok = yaml_emitter_emit(em, &ev);
		json_object_foreach((json_t *)v, key, item)
		{
			if (!ok)
				break;
			ok = emit_string(em, key, strlen(key)) &&
			     emit_value(em, item);
		}
		yaml_mapping_end_event_initialize(&ev);
		return ok && yaml_emitter_emit(em, &ev);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     YAML_BLOCK_SEQUENCE_STYLE);
		ok = yaml_emitter_emit(em, &ev);
		json_array_foreach(v, i, item)
		{
			if (!ok)
				break;
			ok = emit_value(em, item);
		}
		yaml_sequence_end_event_initialize(&ev);
		return ok && yaml_emitter_emit(em, &ev);
	case JSON_STRING:
		return emit_string(em, json_string_value(v),
				   json_string_length(v));
	case JSON_INTEGER:
	case JSON_REAL:
		return emit_number(em, json_number_value(v));
	case JSON_TRUE:
		return emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
		return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE);
	}
	return 0;
}

int optreg_doc_to_yaml(const json_t *root, struct optreg_buf *out,
		       struct optreg_errors *errs)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int ok;

	if (!yaml_emitter_initialize(&em)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "yaml", "",
				  "cannot start the YAML emitter");
		return OPTREG_EINVAL;
	}
	yaml_emitter_set_output(&em, yaml_write, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = yaml_emitter_emit(&em, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	ok = ok && yaml_emitter_emit(&em, &ev) && emit_value(&em, root);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && yaml_emitter_emit(&em, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
	if (!ok)
		optreg_errors_add(errs, OPTREG_EINVAL, "yaml", "",
				  "cannot render the document as YAML: %s",
				  em.problem ? em.problem
					     : "a value has no "
					       "YAML form");
	yaml_emitter_delete(&em);
	return ok ? 0 : OPTREG_EINVAL;
}

int optreg_doc_yaml_of_canonical(const char *canon, size_t len,
				 struct optreg_buf *out,
				 struct optreg_errors *errs)
{
	struct optreg_buf back = OPTREG_BUF_INIT;
	struct optreg_doc doc, again;
	int rc;

	optreg_doc_init(&doc);
	optreg_doc_init(&again);
	rc = optreg_doc_load_json(&doc, canon, len, errs);
	if (rc == 0)
		rc = optreg_doc_to_yaml(doc.root, out, errs);
	if (rc == 0)
		rc = optreg_doc_load_yaml(&again, out->data, out->len, errs);
	if (rc == 0)
		rc = optreg_jcs_serialize(again.root, &back, errs);
	if (rc == 0 && (back.len != len || memcmp(back.data, canon, len))) {
		optreg_errors_add(errs, OPTREG_EINVAL, "yaml", "",
				  "the YAML does not load back to the same "
				  "document");
		rc = OPTREG_EINVAL;
	}
	optreg_buf_release(&back);
	optreg_doc_release(&again);
	optreg_doc_release(&doc);
	return rc;
}
