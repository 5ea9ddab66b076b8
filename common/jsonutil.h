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

#endif
