/*
 * common/jsonutil.h: small jansson helpers every program had its own copy
 * of.
 */
#ifndef OPTREG_JSONUTIL_H
#define OPTREG_JSONUTIL_H

#include <jansson.h>

/*
 * The string member `key` of `obj` (borrowed from `obj`), or NULL when
 * `obj` is not an object, has no such member or the member is not a
 * string.
 */
const char *optreg_json_str(const json_t *obj, const char *key);

/*
 * The JSON Schema name of a value's type, for messages: "object", "array",
 * "string", "number" (integers and reals), "boolean" or "null". A static
 * string.
 */
const char *optreg_json_type_name(const json_t *v);

/*
 * The one parser for JSON whose numbers are doubles (configs, suites,
 * verdicts, the version documents that carry a config): jansson with every
 * number decoded as a real (JSON_DECODE_INT_AS_REAL) and duplicate keys
 * refused, plus `flags` (JSON_DECODE_ANY, JSON_ALLOW_NUL, ...). Without
 * JSON_DECODE_INT_AS_REAL jansson refuses an integer beyond 2^63 ("too big
 * integer"), and RFC 8785 writes every double from 1e19 to 1e21 as such an
 * integer. Returns a new reference, or NULL with `err` filled (when not
 * NULL).
 */
json_t *optreg_json_load_doubles(const char *data, size_t len, size_t flags,
				 json_error_t *err);

/*
 * A whole number member of `obj` read as a long long: a JSON integer, or a
 * real with no fraction within +-2^53 (what optreg_json_load_doubles makes
 * of ids and counts). 0, or -1 when `key` is missing or not such a number.
 */
int optreg_json_whole(const json_t *obj, const char *key, long long *out);

#endif
