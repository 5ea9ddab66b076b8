/*
 * validator/doc_json.c: the JSON loader. JSON goes through jansson with
 * duplicate keys refused and every number decoded as a double; nesting is
 * limited to OPTREG_DOC_MAX_DEPTH, which jansson's own limit is far above.
 */
#include "doc.h"

#include <stdbool.h>

#include "doc_int.h"
#include "../common/jsonutil.h"

/* optreg_json_load_doubles refuses duplicates and decodes every number as
 * a double; a document may be any value at the top (checked later). */
#define JSON_FLAGS JSON_DECODE_ANY

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
				doc_offset_position(data, len, i, line, col);
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

	root = optreg_json_load_doubles(data, len, JSON_FLAGS, &jerr);
	if (!root) {
		switch (json_error_code(&jerr)) {
		case json_error_stack_overflow:
			if (!json_depth_exceeded(data, len, &line, &col))
				line = col = 0;
			doc_add_depth_error(errs, NULL, line, col);
			return OPTREG_ELIMIT;
		case json_error_out_of_memory:
			doc_add_oom_error(errs);
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
		doc_add_depth_error(errs, NULL, line, col);
		return OPTREG_ELIMIT;
	}
	doc->root = root;
	return 0;
}
