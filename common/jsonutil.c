/*
 * common/jsonutil.c: small jansson helpers.
 */
#include "jsonutil.h"

const char *optreg_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *optreg_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
		return "null";
	}
	return "value";
}

json_t *optreg_json_load_doubles(const char *data, size_t len, size_t flags,
				 json_error_t *err)
{
	return json_loadb(
		data, len,
		flags | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, err);
}

int optreg_json_whole(const json_t *obj, const char *key, long long *out)
{
	const json_t *v = json_object_get(obj, key);
	double d;

	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
	    d != (double)(long long)d)
		return -1;
	*out = (long long)d;
	return 0;
}
