/*
 * validator/policy_waiver.c: waivers read from JSON (the registry's list,
 * or a file for `optreg lint --waivers` and policy tests), and RFC 3339
 * times.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "policy.h"

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int optreg_policy_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	long off = 0;

	if (!s || strlen(s) < 20 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
	    (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) ||
	    s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
	    !digits(s + 17, 2))
		return OPTREG_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = num(s, 4) - 1900;
	tm.tm_mon = num(s + 5, 2) - 1;
	tm.tm_mday = num(s + 8, 2);
	tm.tm_hour = num(s + 11, 2);
	tm.tm_min = num(s + 14, 2);
	tm.tm_sec = num(s + 17, 2);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return OPTREG_EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return OPTREG_EINVAL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 &&
		   digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2)) {
		off = (long)num(p + 1, 2) * 3600 + (long)num(p + 4, 2) * 60;
		if (*p == '-')
			off = -off;
	} else {
		return OPTREG_EINVAL;
	}
	*out = timegm(&tm) - off;
	return 0;
}

static const char *field(const json_t *o, const char *key, size_t i, bool need,
			 int *rc, struct optreg_errors *errs)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v) && json_string_length(v) > 0)
		return json_string_value(v);
	if (v || need) {
		char *path = optreg_xasprintf("waivers[%zu].%s", i, key);
		optreg_errors_add(errs, OPTREG_EINVAL, "waiver", path, "%s",
				  v ? "must be a non-empty string"
				    : "is required");
		free(path);
		*rc = OPTREG_EINVAL;
	}
	return NULL;
}

int optreg_policy_waivers_from_json(const json_t *arr,
				    struct optreg_waiver **out, size_t *n,
				    struct optreg_errors *errs)
{
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (json_is_object(arr))
		arr = json_object_get(arr, "waivers");
	if (!json_is_array(arr)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "waiver", "waivers",
				  "must be an array of waivers (or "
				  "{\"waivers\": [...]})");
		return OPTREG_EINVAL;
	}
	size_t len = json_array_size(arr);
	struct optreg_waiver *w = optreg_xcalloc(len ? len : 1, sizeof(*w));
	for (size_t i = 0; i < len; i++) {
		const json_t *o = json_array_get(arr, i);
		if (!json_is_object(o)) {
			char *path = optreg_xasprintf("waivers[%zu]", i);
			optreg_errors_add(errs, OPTREG_EINVAL, "waiver", path,
					  "must be an object");
			free(path);
			rc = OPTREG_EINVAL;
			continue;
		}
		w[i].id = field(o, "id", i, false, &rc, errs);
		w[i].policy = field(o, "policy", i, true, &rc, errs);
		w[i].rule = field(o, "rule", i, true, &rc, errs);
		w[i].namespace_ = field(o, "namespace", i, true, &rc, errs);
		w[i].config = field(o, "config", i, true, &rc, errs);
		w[i].reason = field(o, "reason", i, false, &rc, errs);
		w[i].owner = field(o, "owner", i, false, &rc, errs);
		const char *exp = field(o, "expires_at", i, true, &rc, errs);
		if (exp && optreg_policy_time_parse(exp, &w[i].expires_at)) {
			char *path =
				optreg_xasprintf("waivers[%zu].expires_at", i);
			struct optreg_error *e = optreg_errors_add(
				errs, OPTREG_EINVAL, "waiver", path,
				"is not an RFC 3339 time (got \"%s\")", exp);
			free(path);
			optreg_error_set_hint(e, "write e.g. "
						 "2026-03-01T00:00:00Z");
			rc = OPTREG_EINVAL;
		}
		/* A revoked waiver (as the registry lists them) never applies.
		 */
		const json_t *rv = json_object_get(o, "revoked_at");
		if (json_is_string(rv) ||
		    json_is_false(json_object_get(o, "active")))
			w[i].expires_at = 0;
	}
	if (rc) {
		free(w);
		return rc;
	}
	*out = w;
	*n = len;
	return 0;
}
