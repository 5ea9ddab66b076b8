/*
 * validator/policy_schema.c: the schema layer of policy files, exactly
 * what schema/policy.v1.json says. Every problem has rule "schema", the
 * JSON path and the policy file's line and column.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "jcs.h"
#include "names.h"
#include "policy_int.h"

#define SCHEMA(c, path, ...)                                                   \
	policy_fail((c), OPTREG_EINVAL, "schema", (path), __VA_ARGS__)

static void got(struct optreg_buf *out, const json_t *v)
{
	if (json_is_number(v)) {
		if (optreg_jcs_number(json_number_value(v), out) < 0)
			optreg_buf_adds(out, "non-finite number");
	} else if (json_is_string(v)) {
		optreg_buf_adds(out, "string ");
		optreg_name_quote(out, json_string_value(v));
	} else if (json_is_boolean(v)) {
		optreg_buf_adds(out, json_is_true(v) ? "true" : "false");
	} else {
		optreg_buf_adds(out, optreg_json_type_name(v));
	}
}

static bool want_type(const struct policy_lctx *c, const json_t *v,
		      const char *path, bool ok, const char *what)
{
	if (ok)
		return true;
	struct optreg_buf g = OPTREG_BUF_INIT;
	got(&g, v);
	SCHEMA(c, path, "must be %s (got %s)", what, g.data);
	optreg_buf_release(&g);
	return false;
}

/* Unknown keys of object `v` are schema errors. */
static void only_keys(const struct policy_lctx *c, const json_t *v,
		      const char *path, const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)v, key, val)
	{
		bool known = false;
		for (const char *const *a = allowed; *a && !known; a++)
			known = !strcmp(key, *a);
		if (known)
			continue;
		char *p = policy_child(path, key);
		struct optreg_buf list = OPTREG_BUF_INIT;
		for (const char *const *a = allowed; *a; a++)
			optreg_buf_addf(&list, "%s%s", a == allowed ? "" : ", ",
					*a);
		struct optreg_error *e = SCHEMA(c, p, "unknown field");
		optreg_error_set_hint(e, "remove it; allowed fields here: %s",
				      list.data);
		optreg_buf_release(&list);
		free(p);
	}
}

static const json_t *required(const struct policy_lctx *c, const json_t *obj,
			      const char *path, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		char *p = policy_child(path, key);
		struct optreg_error *e = SCHEMA(c, p, "is required");
		optreg_error_set_hint(e, "add \"%s\" to %s", key,
				      path[0] ? path : "the policy");
		free(p);
	}
	return v;
}

/* A string matching [a-z0-9][a-z0-9._-]{0,63} (policy names, rule ids). */
static bool check_ident(const struct policy_lctx *c, const json_t *v,
			const char *path)
{
	if (!want_type(c, v, path, json_is_string(v), "a string"))
		return false;
	const char *s = json_string_value(v);
	size_t n = strlen(s);
	bool ok =
		n >= 1 && n <= 64 &&
		((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'));
	for (size_t i = 1; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') ||
		     (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i]);
	if (!ok) {
		struct optreg_buf q = OPTREG_BUF_INIT;
		optreg_name_quote(&q, s);
		struct optreg_error *e =
			SCHEMA(c, path,
			       "must match [a-z0-9][a-z0-9._-]{0,63} (got %s)",
			       q.data);
		optreg_error_set_hint(e, "use 1 to 64 of a-z, 0-9, '.', '_' "
					 "and '-', starting with a letter or "
					 "digit");
		optreg_buf_release(&q);
	}
	return ok;
}

/* A glob over names: 1 to `max` of `extra` plus a-z, 0-9, '*', '?', '-',
 * not starting with '-' (or, for tags, '.' or '_'). */
static bool check_glob(const struct policy_lctx *c, const json_t *v,
		       const char *path, size_t max, const char *extra,
		       const char *what)
{
	if (!want_type(c, v, path, json_is_string(v), "a string"))
		return false;
	const char *s = json_string_value(v);
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= max && !strchr("-._", s[0]);
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') ||
		     (s[i] >= '0' && s[i] <= '9') || strchr("*?-", s[i]) ||
		     strchr(extra, s[i]);
	if (!ok) {
		struct optreg_buf q = OPTREG_BUF_INIT;
		optreg_name_quote(&q, s);
		struct optreg_error *e = SCHEMA(
			c, path, "is not a %s pattern (got %s)", what, q.data);
		optreg_error_set_hint(
			e,
			"use 1 to %zu of a-z, 0-9, '-'%s, '*' (any run) and "
			"'?' (one character), not starting with '-'%s",
			max, extra[0] ? ", '.', '_'" : "",
			extra[0] ? ", '.' or '_'" : "");
		optreg_buf_release(&q);
	}
	return ok;
}

static bool check_text(const struct policy_lctx *c, const json_t *v,
		       const char *path, size_t max)
{
	if (!want_type(c, v, path, json_is_string(v), "a string"))
		return false;
	size_t n = strlen(json_string_value(v)), cps = 0;
	for (const char *s = json_string_value(v); *s; s++)
		cps += ((unsigned char)*s & 0xC0) != 0x80;
	(void)n;
	if (cps < 1 || cps > max) {
		SCHEMA(c, path, "must be 1 to %zu characters (got %zu)", max,
		       cps);
		return false;
	}
	return true;
}

/* An array of globs, at least one. */
static bool check_globs(const struct policy_lctx *c, const json_t *v,
			const char *path, size_t max, const char *extra,
			const char *what)
{
	if (!want_type(c, v, path, json_is_array(v), "an array"))
		return false;
	bool ok = true;
	if (json_array_size(v) == 0) {
		SCHEMA(c, path, "must have at least one item (got none)");
		ok = false;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		char *p = policy_item(path, i);
		ok &= check_glob(c, json_array_get(v, i), p, max, extra, what);
		free(p);
	}
	return ok;
}

static const char *const assertion_keys[] = {
	"at_least", "at_most", "above",	  "below",     "equals",
	"one_of",   "pattern", "present", "max_ratio", "unchanged",
};
#define NASSERT_PLAIN  8 /* the first 8 are allowed in `when` */
#define NASSERT_CHANGE 10

static void check_operand(const struct policy_lctx *c, const json_t *v,
			  const char *path)
{
	if (json_is_number(v))
		return;
	if (!json_is_object(v)) {
		want_type(c, v, path, false,
			  "a number or {field: PATH, times: K}");
		return;
	}
	static const char *const keys[] = {"field", "times", NULL};
	only_keys(c, v, path, keys);
	const json_t *f = required(c, v, path, "field");
	if (f) {
		char *p = policy_child(path, "field");
		check_text(c, f, p, 256);
		free(p);
	}
	const json_t *t = json_object_get(v, "times");
	if (t) {
		char *p = policy_child(path, "times");
		want_type(c, t, p, json_is_number(t), "a number");
		free(p);
	}
}

/* The assertions of a rule or a `when` condition; `nkeys` says which are
 * allowed (NASSERT_PLAIN or NASSERT_CHANGE). */
static void check_assertions(const struct policy_lctx *c, const json_t *o,
			     const char *path, size_t nkeys)
{
	size_t found = 0;

	for (size_t k = 0; k < nkeys; k++) {
		const char *key = assertion_keys[k];
		const json_t *v = json_object_get(o, key);
		if (!v)
			continue;
		found++;
		char *p = policy_child(path, key);
		if (k < 4) {
			check_operand(c, v, p);
		} else if (!strcmp(key, "one_of")) {
			if (want_type(c, v, p, json_is_array(v), "an array") &&
			    json_array_size(v) == 0)
				SCHEMA(c, p,
				       "must have at least one item (got "
				       "none)");
		} else if (!strcmp(key, "pattern")) {
			check_text(c, v, p, 256);
		} else if (!strcmp(key, "present")) {
			want_type(c, v, p, json_is_boolean(v),
				  "a boolean (true or false)");
		} else if (!strcmp(key, "max_ratio")) {
			if (want_type(c, v, p, json_is_number(v), "a number") &&
			    json_number_value(v) < 1)
				SCHEMA(c, p, "must be at least 1 (got %g)",
				       json_number_value(v));
		} else if (!strcmp(key, "unchanged")) {
			if (!json_is_true(v))
				want_type(c, v, p, false, "true");
		}
		free(p);
	}
	if (!found) {
		struct optreg_error *e = SCHEMA(c, path, "has no assertion");
		optreg_error_set_hint(
			e,
			"add one of at_least, at_most, above, below, "
			"equals, one_of, pattern, present%s",
			nkeys > NASSERT_PLAIN ? ", max_ratio, unchanged" : "");
	}
}

static void check_condition(const struct policy_lctx *c, const json_t *v,
			    const char *path)
{
	static const char *const keys[] = {
		"field",  "of",	    "at_least", "at_most", "above", "below",
		"equals", "one_of", "pattern",	"present", NULL};

	if (!want_type(c, v, path, json_is_object(v),
		       "an object {field: PATH, <assertion>: ...}"))
		return;
	only_keys(c, v, path, keys);
	const json_t *f = required(c, v, path, "field");
	if (f) {
		char *p = policy_child(path, "field");
		check_text(c, f, p, 256);
		free(p);
	}
	const json_t *of = json_object_get(v, "of");
	if (of) {
		char *p = policy_child(path, "of");
		if (!json_is_string(of) ||
		    (strcmp(json_string_value(of), "current") &&
		     strcmp(json_string_value(of), "previous"))) {
			struct optreg_buf g = OPTREG_BUF_INIT;
			got(&g, of);
			SCHEMA(c, p, "must be current or previous (got %s)",
			       g.data);
			optreg_buf_release(&g);
		}
		free(p);
	}
	check_assertions(c, v, path, NASSERT_PLAIN);
}

static void check_rule(const struct policy_lctx *c, const json_t *r,
		       const char *path)
{
	static const char *const keys[] = {
		"id",	     "severity",  "when",     "field",	 "against",
		"message",   "hint",	  "at_least", "at_most", "above",
		"below",     "equals",	  "one_of",   "pattern", "present",
		"max_ratio", "unchanged", NULL};
	const json_t *v;
	char *p;

	if (!want_type(c, r, path, json_is_object(r), "an object (a rule)"))
		return;
	only_keys(c, r, path, keys);
	if ((v = required(c, r, path, "id"))) {
		p = policy_child(path, "id");
		check_ident(c, v, p);
		free(p);
	}
	if ((v = required(c, r, path, "severity"))) {
		p = policy_child(path, "severity");
		if (!json_is_string(v) ||
		    (strcmp(json_string_value(v), "deny") &&
		     strcmp(json_string_value(v), "warn"))) {
			struct optreg_buf g = OPTREG_BUF_INIT;
			got(&g, v);
			SCHEMA(c, p, "must be deny or warn (got %s)", g.data);
			optreg_buf_release(&g);
		}
		free(p);
	}
	if ((v = required(c, r, path, "field"))) {
		p = policy_child(path, "field");
		check_text(c, v, p, 256);
		free(p);
	}
	if ((v = required(c, r, path, "message"))) {
		p = policy_child(path, "message");
		check_text(c, v, p, 1024);
		free(p);
	}
	if ((v = json_object_get(r, "hint"))) {
		p = policy_child(path, "hint");
		check_text(c, v, p, 1024);
		free(p);
	}
	if ((v = json_object_get(r, "against"))) {
		p = policy_child(path, "against");
		check_globs(c, v, p, 64, "._", "tag");
		free(p);
	}
	if ((v = json_object_get(r, "when"))) {
		p = policy_child(path, "when");
		if (json_is_array(v)) {
			if (json_array_size(v) == 0)
				SCHEMA(c, p,
				       "must have at least one item (got "
				       "none)");
			for (size_t i = 0; i < json_array_size(v); i++) {
				char *pi = policy_item(p, i);
				check_condition(c, json_array_get(v, i), pi);
				free(pi);
			}
		} else {
			check_condition(c, v, p);
		}
		free(p);
	}
	check_assertions(c, r, path, NASSERT_CHANGE);
	static const char *const change[] = {"max_ratio", "unchanged"};
	for (size_t k = 0; k < 2; k++) {
		if (json_object_get(r, change[k]) &&
		    !json_object_get(r, "against")) {
			struct optreg_error *e =
				SCHEMA(c, path,
				       "%s needs against (the tags a change "
				       "is compared at)",
				       change[k]);
			optreg_error_set_hint(e, "add against: [prod] (tag "
						 "globs)");
		}
	}
}

static void check_gate(const struct policy_lctx *c, const json_t *g,
		       const char *path)
{
	static const char *const keys[] = {"tags", "allow_warn", NULL};
	const json_t *v;

	if (!want_type(c, g, path, json_is_object(g), "an object (a gate)"))
		return;
	only_keys(c, g, path, keys);
	if ((v = required(c, g, path, "tags"))) {
		char *p = policy_child(path, "tags");
		check_globs(c, v, p, 64, "._", "tag");
		free(p);
	}
	if ((v = json_object_get(g, "allow_warn"))) {
		char *p = policy_child(path, "allow_warn");
		want_type(c, v, p, json_is_boolean(v),
			  "a boolean (true or false)");
		free(p);
	}
}

/* The schema layer over the whole document. */
void policy_check_schema(const struct policy_lctx *c, const json_t *root)
{
	static const char *const keys[] = {"apiVersion",  "kind",	"name",
					   "description", "namespaces", "mode",
					   "rules",	  "gates",	NULL};
	const json_t *v;

	if (!want_type(c, root, "", json_is_object(root),
		       "an object (a policy)"))
		return;
	only_keys(c, root, "", keys);
	if ((v = required(c, root, "", "apiVersion")) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "optreg/v1"))) {
		struct optreg_buf g = OPTREG_BUF_INIT;
		got(&g, v);
		SCHEMA(c, "apiVersion", "must be \"optreg/v1\" (got %s)",
		       g.data);
		optreg_buf_release(&g);
	}
	if ((v = required(c, root, "", "kind")) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "Policy"))) {
		struct optreg_buf g = OPTREG_BUF_INIT;
		got(&g, v);
		SCHEMA(c, "kind", "must be \"Policy\" (got %s)", g.data);
		optreg_buf_release(&g);
	}
	if ((v = required(c, root, "", "name")))
		check_ident(c, v, "name");
	if ((v = json_object_get(root, "description")))
		check_text(c, v, "description", 1024);
	if ((v = required(c, root, "", "namespaces")))
		check_globs(c, v, "namespaces", 63, "", "namespace");
	if ((v = json_object_get(root, "mode")) &&
	    (!json_is_string(v) || (strcmp(json_string_value(v), "enforce") &&
				    strcmp(json_string_value(v), "warn") &&
				    strcmp(json_string_value(v), "audit")))) {
		struct optreg_buf g = OPTREG_BUF_INIT;
		got(&g, v);
		SCHEMA(c, "mode", "must be enforce, warn or audit (got %s)",
		       g.data);
		optreg_buf_release(&g);
	}
	const json_t *rules = json_object_get(root, "rules");
	const json_t *gates = json_object_get(root, "gates");
	if (rules && want_type(c, rules, "rules", json_is_array(rules),
			       "an array of rules"))
		for (size_t i = 0; i < json_array_size(rules); i++) {
			char *p = policy_item("rules", i);
			check_rule(c, json_array_get(rules, i), p);
			free(p);
		}
	if (gates && want_type(c, gates, "gates", json_is_array(gates),
			       "an array of gates"))
		for (size_t i = 0; i < json_array_size(gates); i++) {
			char *p = policy_item("gates", i);
			check_gate(c, json_array_get(gates, i), p);
			free(p);
		}
	if (!rules && !gates) {
		struct optreg_error *e =
			SCHEMA(c, "", "has neither rules nor gates");
		optreg_error_set_hint(e, "add rules: [...] or gates: [...]");
	}
}
