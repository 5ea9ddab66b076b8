/*
 * validator/jcs.c: RFC 8785 canonical JSON (strings, key order,
 * serialization, the parse-and-canonicalize pipeline) and config digests.
 * Numbers are written by jcs_number.c.
 *
 * Parsing is jansson's; this file maps jansson's errors onto our rule ids
 * (jansson reports lone surrogates and NaN only as generic syntax errors, and
 * drops the offending token from its message when it is longer than 20
 * bytes, so the token is recovered from the input at the error position).
 */
#include "jcs.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/hash.h"
#include "../common/jsonutil.h"

/* Nesting limit for serialization: jansson's own parser limit. It keeps the
 * recursion bounded and stops on cyclic trees, which jansson allows. */
#define JCS_MAX_DEPTH 2048

/* Longest piece of source text quoted in an error message, in bytes. */
#define SNIPPET_MAX 48

/* On top of optreg_json_load_doubles (duplicates refused, every number a
 * double): any value at the top, and NUL in strings (refused by name in
 * serialization rather than as a syntax error). */
#define PARSE_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* ------------------------------------------------------------------ */
/* UTF-8 */

static int is_surrogate(uint32_t cp)
{
	return cp >= 0xD800 && cp <= 0xDFFF;
}

/*
 * Decodes the UTF-8 sequence at s (n > 0 bytes available) into *cp and
 * returns its length (1-4), or 0 when the bytes are malformed: truncated,
 * overlong, above U+10FFFF or a stray continuation byte. A three-byte
 * encoding of a surrogate (ED A0..BF xx) is decoded rather than refused, so
 * that callers can name it; callers must check is_surrogate().
 */
size_t optreg_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t min, c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		min = 0x80;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		min = 0x800;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		min = 0x10000;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF)
		return 0;
	*cp = c;
	return len;
}

/*
 * Checks that s[0..n) is well-formed UTF-8 without surrogates. Returns 0, or
 * a negative value with *bad set to the offset of the first bad sequence and
 * *surrogate to its code point when it encodes a surrogate (else 0).
 */
static int utf8_check(const char *s, size_t n, size_t *bad, uint32_t *surrogate)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp;
		size_t len = optreg_utf8_next(p + i, n - i, &cp);

		if (len == 0 || is_surrogate(cp)) {
			*bad = i;
			*surrogate = len ? cp : 0;
			return -1;
		}
		i += len;
	}
	return 0;
}

/* Iterates a valid UTF-8 string as UTF-16 code units. */
struct u16_iter {
	const unsigned char *s;
	size_t n;
	int pending; /* low surrogate still to return, or -1 */
};

/* Returns the next UTF-16 code unit, or -1 at the end of the string. */
static int u16_next(struct u16_iter *it)
{
	uint32_t cp;
	size_t len;

	if (it->pending >= 0) {
		int unit = it->pending;

		it->pending = -1;
		return unit;
	}
	if (it->n == 0)
		return -1;
	len = optreg_utf8_next(it->s, it->n, &cp);
	assert(len > 0); /* keys are checked before sorting */
	if (len == 0) {
		cp = it->s[0];
		len = 1;
	}
	it->s += len;
	it->n -= len;
	if (cp < 0x10000)
		return (int)cp;
	cp -= 0x10000;
	it->pending = (int)(0xDC00 + (cp & 0x3FF));
	return (int)(0xD800 + (cp >> 10));
}

/* Orders two valid UTF-8 strings by their UTF-16 code units (RFC 8785
 * section 3.2.3), which differs from byte order for astral characters. */
static int utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	struct u16_iter x = {(const unsigned char *)a, alen, -1};
	struct u16_iter y = {(const unsigned char *)b, blen, -1};

	for (;;) {
		int ua = u16_next(&x), ub = u16_next(&y);

		if (ua != ub)
			return ua < ub ? -1 : 1; /* -1 (end) sorts first */
		if (ua < 0)
			return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Strings */

/* Appends s[0..n) as a JSON string with only the RFC 8785 escapes. The
 * bytes must already be valid UTF-8; they are copied through unchanged. */
static void add_string(struct optreg_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	optreg_buf_addch(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc = 0;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		optreg_buf_add(out, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			esc = '"';
			break;
		case '\\':
			esc = '\\';
			break;
		case '\b':
			esc = 'b';
			break;
		case '\f':
			esc = 'f';
			break;
		case '\n':
			esc = 'n';
			break;
		case '\r':
			esc = 'r';
			break;
		case '\t':
			esc = 't';
			break;
		}
		if (esc) {
			optreg_buf_addch(out, '\\');
			optreg_buf_addch(out, esc);
		} else {
			char u[6] = {'\\', 'u',		'0',
				     '0',  hex[c >> 4], hex[c & 0xF]};
			optreg_buf_add(out, u, sizeof(u));
		}
	}
	optreg_buf_add(out, s + run, n - run);
	optreg_buf_addch(out, '"');
}

/* ------------------------------------------------------------------ */
/* Serialization */

/* One level of the path to the value being written; built into a string
 * only when an error needs it. */
struct frame {
	const struct frame *up;
	const char *key; /* NULL for an array element */
	size_t keylen;
	size_t index;
};

static int is_plain_key(const char *key, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Writes the path of `f` in the form of optreg_doc_path_key/_index. */
static void add_path(struct optreg_buf *path, const struct frame *f)
{
	size_t start;
	uint32_t cp;

	if (!f || !f->up)
		return; /* the root frame has no name */
	add_path(path, f->up);
	if (!f->key) {
		optreg_buf_addf(path, "[%zu]", f->index);
	} else if (is_plain_key(f->key, f->keylen)) {
		if (path->len)
			optreg_buf_addch(path, '.');
		optreg_buf_add(path, f->key, f->keylen);
	} else if (utf8_check(f->key, f->keylen, &start, &cp) == 0) {
		optreg_buf_addch(path, '[');
		add_string(path, f->key, f->keylen);
		optreg_buf_addch(path, ']');
	} else {
		optreg_buf_adds(path, "[?]");
	}
}

static struct optreg_error *add_error(struct optreg_errors *errs, int code,
				      const char *rule, const struct frame *f,
				      const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Appends an error at the path of `f`; a no-op returning NULL when `errs`
 * is NULL. */
static struct optreg_error *add_error(struct optreg_errors *errs, int code,
				      const char *rule, const struct frame *f,
				      const char *fmt, ...)
{
	struct optreg_buf path = OPTREG_BUF_INIT, msg = OPTREG_BUF_INIT;
	struct optreg_error *e;
	va_list ap;

	if (!errs)
		return NULL;
	add_path(&path, f);
	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	e = optreg_errors_add(errs, code, rule, path.data, "%s", msg.data);
	optreg_buf_release(&path);
	optreg_buf_release(&msg);
	return e;
}

/* Reports bytes of a string or key that are not valid UTF-8. */
static int utf8_error(struct optreg_errors *errs, const struct frame *f,
		      const char *what, const char *s, size_t bad,
		      uint32_t surrogate)
{
	struct optreg_error *e;

	if (surrogate)
		e = add_error(errs, OPTREG_EINVAL, "surrogate", f,
			      "%s contains the surrogate U+%04X encoded as "
			      "UTF-8",
			      what, (unsigned)surrogate);
	else
		e = add_error(errs, OPTREG_EINVAL, "utf8", f,
			      "%s is not valid UTF-8 (byte 0x%02x at offset "
			      "%zu)",
			      what, (unsigned)(unsigned char)s[bad], bad);
	if (e)
		optreg_error_set_hint(e, "Store text as UTF-8 without "
					 "surrogate code points.");
	return OPTREG_EINVAL;
}

struct member {
	const char *key;
	size_t keylen;
	json_t *value;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return utf16_cmp(x->key, x->keylen, y->key, y->keylen);
}

static int serialize(const json_t *value, struct optreg_buf *out,
		     struct optreg_errors *errs, const struct frame *f,
		     int depth);

static int serialize_object(const json_t *obj, struct optreg_buf *out,
			    struct optreg_errors *errs, const struct frame *f,
			    int depth)
{
	size_t n = json_object_size(obj), i = 0;
	struct member *m;
	int ret = 0;

	m = optreg_xcalloc(n ? n : 1, sizeof(*m));
	/* jansson's iterator API takes a non-const object but does not
	 * modify it. */
	for (void *it = json_object_iter((json_t *)obj); it && i < n;
	     it = json_object_iter_next((json_t *)obj, it), i++) {
		size_t bad;
		uint32_t cp;

		m[i].key = json_object_iter_key(it);
		m[i].keylen = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		if (utf8_check(m[i].key, m[i].keylen, &bad, &cp)) {
			ret = utf8_error(errs, f, "object key", m[i].key, bad,
					 cp);
			goto out;
		}
	}
	n = i;
	qsort(m, n, sizeof(*m), cmp_member);

	optreg_buf_addch(out, '{');
	for (i = 0; i < n; i++) {
		struct frame child = {f, m[i].key, m[i].keylen, 0};

		if (i)
			optreg_buf_addch(out, ',');
		add_string(out, m[i].key, m[i].keylen);
		optreg_buf_addch(out, ':');
		ret = serialize(m[i].value, out, errs, &child, depth + 1);
		if (ret)
			goto out;
	}
	optreg_buf_addch(out, '}');
out:
	free(m);
	return ret;
}

static int serialize(const json_t *value, struct optreg_buf *out,
		     struct optreg_errors *errs, const struct frame *f,
		     int depth)
{
	double v;
	size_t n, bad;
	uint32_t cp;
	int ret;

	if (depth > JCS_MAX_DEPTH) {
		struct optreg_error *e;

		e = add_error(errs, OPTREG_ELIMIT, "depth", f,
			      "nested deeper than %d levels", JCS_MAX_DEPTH);
		if (e)
			optreg_error_set_hint(e, "Check the document for a "
						 "cycle or flatten it.");
		return OPTREG_ELIMIT;
	}
	switch (json_typeof(value)) {
	case JSON_OBJECT:
		return serialize_object(value, out, errs, f, depth);
	case JSON_ARRAY:
		optreg_buf_addch(out, '[');
		n = json_array_size(value);
		for (size_t i = 0; i < n; i++) {
			struct frame child = {f, NULL, 0, i};

			if (i)
				optreg_buf_addch(out, ',');
			ret = serialize(json_array_get(value, i), out, errs,
					&child, depth + 1);
			if (ret)
				return ret;
		}
		optreg_buf_addch(out, ']');
		return 0;
	case JSON_STRING:
		n = json_string_length(value);
		if (utf8_check(json_string_value(value), n, &bad, &cp))
			return utf8_error(errs, f, "string",
					  json_string_value(value), bad, cp);
		add_string(out, json_string_value(value), n);
		return 0;
	case JSON_INTEGER:
	case JSON_REAL:
		v = json_number_value(value);
		if (optreg_jcs_number(v, out)) {
			add_error(errs, OPTREG_EINVAL, "non_finite", f,
				  "number must be finite (got %s)",
				  isnan(v) ? "NaN"
				  : v > 0  ? "Infinity"
					   : "-Infinity");
			return OPTREG_EINVAL;
		}
		return 0;
	case JSON_TRUE:
		optreg_buf_adds(out, "true");
		return 0;
	case JSON_FALSE:
		optreg_buf_adds(out, "false");
		return 0;
	case JSON_NULL:
		optreg_buf_adds(out, "null");
		return 0;
	}
	return OPTREG_EINVAL;
}

/* Drops what a failed call appended, so `out` is left as it was. */
static void buf_truncate(struct optreg_buf *b, size_t len)
{
	assert(len <= b->len);
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

int optreg_jcs_serialize(const json_t *value, struct optreg_buf *out,
			 struct optreg_errors *errs)
{
	struct frame root = {NULL, NULL, 0, 0};
	size_t start = out->len;
	int ret;

	if (!value) {
		if (errs)
			optreg_errors_add(errs, OPTREG_EINVAL, "syntax", NULL,
					  "no value to serialize");
		return OPTREG_EINVAL;
	}
	ret = serialize(value, out, errs, &root, 0);
	if (ret)
		buf_truncate(out, start);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Parse errors */

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
	       c == '+' || c == '-';
}

/*
 * Finds the string token that ends just before `end` (its closing quote is
 * json[end - 1]). Scans from the start, since an escaped quote cannot be
 * told from a closing one going backwards; jansson has lexed everything
 * before `end`, so the scan sees well-formed strings. Returns the offset of
 * the opening quote, or `end` when there is no such string.
 */
static size_t string_start(const char *json, size_t end)
{
	size_t open = 0;
	int in_string = 0;

	for (size_t i = 0; i < end; i++) {
		if (!in_string) {
			if (json[i] == '"') {
				in_string = 1;
				open = i;
			}
		} else if (json[i] == '\\') {
			i++;
		} else if (json[i] == '"') {
			in_string = 0;
			if (i + 1 == end)
				return open;
		}
	}
	return end;
}

/* Appends s[0..n) for a message, cut at a character boundary after
 * SNIPPET_MAX bytes with "..." appended. */
static void add_snippet(struct optreg_buf *b, const char *s, size_t n)
{
	size_t cut = n;

	if (n > SNIPPET_MAX) {
		cut = SNIPPET_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	optreg_buf_add(b, s, cut);
	if (cut < n)
		optreg_buf_adds(b, "...");
}

/* Stores a copy of jansson's position in the error. */
static void set_pos(struct optreg_error *e, const json_error_t *jerr)
{
	e->line = jerr->line > 0 ? jerr->line : 0;
	e->col = jerr->line > 0 && jerr->column > 0 ? jerr->column : 0;
}

/*
 * NaN, Infinity and friends: jansson reports "invalid token" and leaves the
 * parser just after the token, or just after the sign for "-Infinity".
 * Fills *tok and *toklen with the token and returns whether it names a
 * non-finite number.
 */
static int non_finite_token(const char *json, size_t len, size_t pos,
			    size_t *tok, size_t *toklen)
{
	static const char *const names[] = {"nan", "infinity", "inf"};
	size_t start = pos, end = pos, word;

	if (pos > len)
		return 0;
	while (start > 0 && is_alpha(json[start - 1]))
		start--;
	if (start == pos && pos > 0 &&
	    (json[pos - 1] == '-' || json[pos - 1] == '+')) {
		start = pos - 1;
		while (end < len && is_alpha(json[end]))
			end++;
	}
	word = start < end && !is_alpha(json[start]) ? start + 1 : start;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (end - word == strlen(names[i]) &&
		    strncasecmp(json + word, names[i], end - word) == 0) {
			*tok = start;
			*toklen = end - start;
			return 1;
		}
	}
	return 0;
}

/* Reports a jansson "invalid Unicode '\uD800...'" error, which it raises only
 * for surrogates that are not part of a pair. */
static void surrogate_error(const json_error_t *jerr,
			    struct optreg_errors *errs)
{
	const char *u = strstr(jerr->text, "'\\u");
	unsigned long hi = u ? strtoul(u + 3, NULL, 16) : 0;
	struct optreg_error *e;

	e = optreg_errors_add(errs, OPTREG_EINVAL, "surrogate", NULL,
			      "lone surrogate \\u%04lx in string", hi);
	set_pos(e, jerr);
	optreg_error_set_detail(
		e, "%s",
		hi >= 0xDC00 ? "A low surrogate must follow a high surrogate "
			       "(\\ud800-\\udbff)."
			     : "A high surrogate must be followed by a low "
			       "surrogate (\\udc00-\\udfff).");
	optreg_error_set_hint(e, "Write characters outside the Basic "
				 "Multilingual Plane as a surrogate pair or "
				 "as UTF-8.");
}

/* Maps a jansson parse error to one optreg error and returns its code. */
static int parse_error(const char *json, size_t len, const json_error_t *jerr,
		       struct optreg_errors *errs)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	struct optreg_error *e = NULL;
	size_t pos = jerr->position > 0 ? (size_t)jerr->position : 0;
	size_t tok, toklen, bad;
	uint32_t cp;
	int code;

	if (pos > len)
		pos = len;
	switch (json_error_code(jerr)) {
	case json_error_out_of_memory:
		code = OPTREG_ENOMEM;
		e = optreg_errors_add(errs, code, "memory", NULL,
				      "out of memory parsing JSON");
		break;
	case json_error_stack_overflow:
		code = OPTREG_ELIMIT;
		e = optreg_errors_add(errs, code, "depth", NULL,
				      "JSON nested deeper than %d levels",
				      JCS_MAX_DEPTH);
		break;
	case json_error_duplicate_key:
		code = OPTREG_EINVAL;
		tok = string_start(json, pos);
		add_snippet(&msg, json + tok, pos - tok);
		e = optreg_errors_add(errs, code, "duplicate_key", NULL,
				      "duplicate object key %s", msg.data);
		optreg_error_set_hint(e, "Give each member of an object a "
					 "distinct name.");
		break;
	case json_error_numeric_overflow:
		code = OPTREG_EINVAL;
		tok = pos;
		while (tok > 0 && is_number_char(json[tok - 1]))
			tok--;
		add_snippet(&msg, json + tok, pos - tok);
		e = optreg_errors_add(errs, code, "non_finite", NULL,
				      "number %s is out of range for a double",
				      msg.data);
		optreg_error_set_hint(e, "Numbers must be finite IEEE 754 "
					 "doubles, at most about 1.8e308 in "
					 "magnitude.");
		break;
	case json_error_null_byte_in_key:
		code = OPTREG_EINVAL;
		tok = string_start(json, pos);
		add_snippet(&msg, json + tok, pos - tok);
		e = optreg_errors_add(errs, code, "nul_in_key", NULL,
				      "object key %s contains U+0000",
				      msg.data);
		optreg_error_set_hint(e, "Remove the NUL character from the "
					 "key; it is only supported in string "
					 "values.");
		break;
	case json_error_invalid_utf8:
		code = OPTREG_ESYNTAX;
		if (utf8_check(json, len, &bad, &cp) == 0) {
			/* jansson and we disagree; report its words. */
			e = optreg_errors_add(errs, code, "utf8", NULL, "%s",
					      jerr->text);
		} else if (cp) {
			e = optreg_errors_add(errs, code, "surrogate", NULL,
					      "invalid UTF-8: bytes encode "
					      "the surrogate U+%04X",
					      (unsigned)cp);
		} else {
			e = optreg_errors_add(
				errs, code, "utf8", NULL,
				"invalid UTF-8: byte 0x%02x at offset %zu",
				(unsigned)(unsigned char)json[bad], bad);
		}
		optreg_error_set_hint(e, "Save the file as UTF-8.");
		break;
	case json_error_invalid_syntax:
		if (strncmp(jerr->text, "invalid Unicode '", 17) == 0) {
			surrogate_error(jerr, errs);
			return OPTREG_EINVAL;
		}
		if (strncmp(jerr->text, "invalid token", 13) == 0 &&
		    non_finite_token(json, len, pos, &tok, &toklen)) {
			code = OPTREG_EINVAL;
			add_snippet(&msg, json + tok, toklen);
			e = optreg_errors_add(errs, code, "non_finite", NULL,
					      "non-finite number %s is not "
					      "allowed",
					      msg.data);
			optreg_error_set_hint(e, "JSON numbers must be finite; "
						 "use null or a string for "
						 "missing values.");
			break;
		}
		/* fall through */
	default:
		code = OPTREG_ESYNTAX;
		e = optreg_errors_add(errs, code, "syntax", NULL, "%s",
				      jerr->text);
		break;
	}
	set_pos(e, jerr);
	optreg_buf_release(&msg);
	return code;
}

int optreg_jcs_canonicalize(const char *json, size_t len,
			    struct optreg_buf *out, struct optreg_errors *errs)
{
	struct optreg_errors local = OPTREG_ERRORS_INIT;
	json_error_t jerr;
	json_t *root;
	int ret;

	root = optreg_json_load_doubles(json, len, PARSE_FLAGS, &jerr);
	if (!root) {
		ret = parse_error(json, len, &jerr, errs ? errs : &local);
		optreg_errors_release(&local);
		return ret;
	}
	ret = optreg_jcs_serialize(root, out, errs);
	json_decref(root);
	return ret;
}

void optreg_jcs_digest(const void *data, size_t len,
		       char out[OPTREG_DIGEST_LEN + 1])
{
	memcpy(out, "sha256:", 7);
	optreg_sha256_hex(data, len, out + 7);
}
