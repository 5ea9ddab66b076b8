/*
 * validator/policy_load.c: loading and checking a policy file.
 *
 * Two layers, as for configs: the schema layer is exactly what
 * schema/policy.v1.json says (every problem has rule "schema", the JSON
 * path and the policy file's line); the semantic layer runs only when the
 * schema layer passed and holds what the schema cannot state: "regex"
 * (a pattern that does not compile), "field" (a path that is no field of
 * an OptimizerConfig v1), "duplicate" (a repeated rule id), "change"
 * (`of: previous` in a rule without `against`) and "limit".
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/jsonutil.h"
#include "jcs.h"
#include "names.h"
#include "policy_int.h"

struct lctx {
	const struct optreg_doc *doc;
	struct optreg_errors *errs;
	size_t nerrs_at_start;
};

static struct optreg_error *lfail(const struct lctx *c, int code,
				  const char *rule, const char *path,
				  const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static struct optreg_error *lfail(const struct lctx *c, int code,
				  const char *rule, const char *path,
				  const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	struct optreg_error *e =
		optreg_errors_add(c->errs, code, rule, path, "%s", msg.data);
	optreg_buf_release(&msg);
	const struct optreg_doc_loc *loc = optreg_doc_locate(c->doc, path);
	if (loc) {
		e->line = loc->line;
		e->col = loc->col;
	}
	return e;
}

#define SCHEMA(c, path, ...)                                                   \
	lfail((c), OPTREG_EINVAL, "schema", (path), __VA_ARGS__)

static char *child(const char *path, const char *key)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_buf_adds(&b, path);
	optreg_doc_path_key(&b, key);
	return optreg_buf_detach(&b, NULL);
}

static char *item(const char *path, size_t i)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_buf_adds(&b, path);
	optreg_doc_path_index(&b, i);
	return optreg_buf_detach(&b, NULL);
}

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

static bool want_type(const struct lctx *c, const json_t *v, const char *path,
		      bool ok, const char *what)
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
static void only_keys(const struct lctx *c, const json_t *v, const char *path,
		      const char *const *allowed)
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
		char *p = child(path, key);
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

static const json_t *required(const struct lctx *c, const json_t *obj,
			      const char *path, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		char *p = child(path, key);
		struct optreg_error *e = SCHEMA(c, p, "is required");
		optreg_error_set_hint(e, "add \"%s\" to %s", key,
				      path[0] ? path : "the policy");
		free(p);
	}
	return v;
}

/* A string matching [a-z0-9][a-z0-9._-]{0,63} (policy names, rule ids). */
static bool check_ident(const struct lctx *c, const json_t *v, const char *path)
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
static bool check_glob(const struct lctx *c, const json_t *v, const char *path,
		       size_t max, const char *extra, const char *what)
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

static bool check_text(const struct lctx *c, const json_t *v, const char *path,
		       size_t max)
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
static bool check_globs(const struct lctx *c, const json_t *v, const char *path,
			size_t max, const char *extra, const char *what)
{
	if (!want_type(c, v, path, json_is_array(v), "an array"))
		return false;
	bool ok = true;
	if (json_array_size(v) == 0) {
		SCHEMA(c, path, "must have at least one item (got none)");
		ok = false;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		char *p = item(path, i);
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

static void check_operand(const struct lctx *c, const json_t *v,
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
		char *p = child(path, "field");
		check_text(c, f, p, 256);
		free(p);
	}
	const json_t *t = json_object_get(v, "times");
	if (t) {
		char *p = child(path, "times");
		want_type(c, t, p, json_is_number(t), "a number");
		free(p);
	}
}

/* The assertions of a rule or a `when` condition; `nkeys` says which are
 * allowed (NASSERT_PLAIN or NASSERT_CHANGE). */
static void check_assertions(const struct lctx *c, const json_t *o,
			     const char *path, size_t nkeys)
{
	size_t found = 0;

	for (size_t k = 0; k < nkeys; k++) {
		const char *key = assertion_keys[k];
		const json_t *v = json_object_get(o, key);
		if (!v)
			continue;
		found++;
		char *p = child(path, key);
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

static void check_condition(const struct lctx *c, const json_t *v,
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
		char *p = child(path, "field");
		check_text(c, f, p, 256);
		free(p);
	}
	const json_t *of = json_object_get(v, "of");
	if (of) {
		char *p = child(path, "of");
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

static void check_rule(const struct lctx *c, const json_t *r, const char *path)
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
		p = child(path, "id");
		check_ident(c, v, p);
		free(p);
	}
	if ((v = required(c, r, path, "severity"))) {
		p = child(path, "severity");
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
		p = child(path, "field");
		check_text(c, v, p, 256);
		free(p);
	}
	if ((v = required(c, r, path, "message"))) {
		p = child(path, "message");
		check_text(c, v, p, 1024);
		free(p);
	}
	if ((v = json_object_get(r, "hint"))) {
		p = child(path, "hint");
		check_text(c, v, p, 1024);
		free(p);
	}
	if ((v = json_object_get(r, "against"))) {
		p = child(path, "against");
		check_globs(c, v, p, 64, "._", "tag");
		free(p);
	}
	if ((v = json_object_get(r, "when"))) {
		p = child(path, "when");
		if (json_is_array(v)) {
			if (json_array_size(v) == 0)
				SCHEMA(c, p,
				       "must have at least one item (got "
				       "none)");
			for (size_t i = 0; i < json_array_size(v); i++) {
				char *pi = item(p, i);
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

static void check_gate(const struct lctx *c, const json_t *g, const char *path)
{
	static const char *const keys[] = {"tags", "allow_warn", NULL};
	const json_t *v;

	if (!want_type(c, g, path, json_is_object(g), "an object (a gate)"))
		return;
	only_keys(c, g, path, keys);
	if ((v = required(c, g, path, "tags"))) {
		char *p = child(path, "tags");
		check_globs(c, v, p, 64, "._", "tag");
		free(p);
	}
	if ((v = json_object_get(g, "allow_warn"))) {
		char *p = child(path, "allow_warn");
		want_type(c, v, p, json_is_boolean(v),
			  "a boolean (true or false)");
		free(p);
	}
}

/* The schema layer over the whole document. */
static void check_schema(const struct lctx *c, const json_t *root)
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
			char *p = item("rules", i);
			check_rule(c, json_array_get(rules, i), p);
			free(p);
		}
	if (gates && want_type(c, gates, "gates", json_is_array(gates),
			       "an array of gates"))
		for (size_t i = 0; i < json_array_size(gates); i++) {
			char *p = item("gates", i);
			check_gate(c, json_array_get(gates, i), p);
			free(p);
		}
	if (!rules && !gates) {
		struct optreg_error *e =
			SCHEMA(c, "", "has neither rules nor gates");
		optreg_error_set_hint(e, "add rules: [...] or gates: [...]");
	}
}

/* ---- building (after the schema layer passed) ------------------------ */

static char *dupstr(const json_t *v)
{
	return v ? optreg_xstrdup(json_string_value(v)) : NULL;
}

static char **dup_strings(const json_t *arr, size_t *n)
{
	*n = json_array_size(arr);
	char **out = optreg_xcalloc(*n ? *n : 1, sizeof(*out));
	for (size_t i = 0; i < *n; i++)
		out[i] = dupstr(json_array_get(arr, i));
	return out;
}

static void free_strings(char **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

/* Parses a path at `jpath` (the policy's JSON path of the string) and
 * checks that it names a config field. */
static bool build_path(const struct lctx *c, struct policy_path *p,
		       const char *text, const char *jpath, bool allow_all)
{
	if (!policy_path_parse(p, text)) {
		struct optreg_error *e =
			lfail(c, OPTREG_EINVAL, "field", jpath,
			      "is not a field path (got \"%s\")", text);
		optreg_error_set_hint(
			e, "write a path such as spec.lr, spec.betas[1] or "
			   "spec.param_groups[*].eps");
		return false;
	}
	if (!policy_path_known(p)) {
		struct optreg_error *e =
			lfail(c, OPTREG_EINVAL, "field", jpath,
			      "no OptimizerConfig v1 field is at \"%s\"", text);
		optreg_error_set_hint(
			e, "use a field of docs/config.md: spec.optimizer, "
			   "spec.lr, spec.betas[0], spec.betas[1], spec.eps, "
			   "spec.weight_decay, spec.amsgrad, spec.maximize, "
			   "spec.grad_clip_norm, spec.schedule.kind, "
			   "spec.schedule.warmup_steps, "
			   "spec.schedule.total_steps, spec.schedule.min_lr, "
			   "spec.param_groups[*].<field>, metadata.name, "
			   "metadata.labels.<key>, ...");
		return false;
	}
	if (p->wildcard && !allow_all) {
		lfail(c, OPTREG_EINVAL, "field", jpath,
		      "a field compared with may not use [*] (got \"%s\")",
		      text);
		return false;
	}
	return true;
}

static void build_operand(const struct lctx *c, struct policy_operand *o,
			  const json_t *v, const char *jpath)
{
	if (!v)
		return;
	o->set = true;
	if (json_is_number(v)) {
		o->num = json_number_value(v);
		return;
	}
	o->is_field = true;
	const json_t *t = json_object_get(v, "times");
	o->times = t ? json_number_value(t) : 1.0;
	char *p = child(jpath, "field");
	build_path(c, &o->field, json_string_value(json_object_get(v, "field")),
		   p, false);
	free(p);
}

static void build_cond(const struct lctx *c, struct policy_cond *k,
		       const json_t *o, const char *jpath)
{
	const json_t *v;
	char *p;

	k->present = -1;
	p = child(jpath, "field");
	build_path(c, &k->field, json_string_value(json_object_get(o, "field")),
		   p, true);
	free(p);
	v = json_object_get(o, "of");
	k->of_previous = v && !strcmp(json_string_value(v), "previous");
	static const char *const bounds[] = {"at_least", "at_most", "above",
					     "below"};
	struct policy_operand *ops[] = {&k->at_least, &k->at_most, &k->above,
					&k->below};
	for (size_t i = 0; i < 4; i++) {
		p = child(jpath, bounds[i]);
		build_operand(c, ops[i], json_object_get(o, bounds[i]), p);
		free(p);
	}
	if ((v = json_object_get(o, "equals")))
		k->equals = json_incref((json_t *)v);
	if ((v = json_object_get(o, "one_of")))
		k->one_of = json_incref((json_t *)v);
	if ((v = json_object_get(o, "present")))
		k->present = json_is_true(v);
	if ((v = json_object_get(o, "max_ratio"))) {
		k->has_max_ratio = true;
		k->max_ratio = json_number_value(v);
	}
	k->unchanged = json_is_true(json_object_get(o, "unchanged"));
	if ((v = json_object_get(o, "pattern"))) {
		k->pattern = dupstr(v);
		int rc = regcomp(&k->re, k->pattern, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char msg[256];
			regerror(rc, &k->re, msg, sizeof(msg));
			p = child(jpath, "pattern");
			struct optreg_error *e =
				lfail(c, OPTREG_EINVAL, "regex", p,
				      "is not a valid extended regular "
				      "expression: %s",
				      msg);
			optreg_error_set_hint(e,
					      "write a POSIX extended "
					      "regular expression (regex(7))");
			free(p);
		} else {
			k->has_re = true;
		}
	}
}

void policy_cond_release(struct policy_cond *k)
{
	policy_path_release(&k->field);
	policy_path_release(&k->at_least.field);
	policy_path_release(&k->at_most.field);
	policy_path_release(&k->above.field);
	policy_path_release(&k->below.field);
	json_decref(k->equals);
	json_decref(k->one_of);
	free(k->pattern);
	if (k->has_re)
		regfree(&k->re);
	memset(k, 0, sizeof(*k));
}

static void build_rule(const struct lctx *c, struct policy_rule *r,
		       const json_t *o, const char *jpath)
{
	const json_t *v;

	r->id = dupstr(json_object_get(o, "id"));
	r->severity = strcmp(json_string_value(json_object_get(o, "severity")),
			     "deny")
			      ? OPTREG_SEVERITY_WARN
			      : OPTREG_SEVERITY_DENY;
	r->message = dupstr(json_object_get(o, "message"));
	r->hint = dupstr(json_object_get(o, "hint"));
	if ((v = json_object_get(o, "against")))
		r->against = dup_strings(v, &r->nagainst);
	build_cond(c, &r->assert, o, jpath);
	if ((v = json_object_get(o, "when"))) {
		char *p = child(jpath, "when");
		bool list = json_is_array(v);
		r->nwhen = list ? json_array_size(v) : 1;
		r->when = optreg_xcalloc(r->nwhen, sizeof(*r->when));
		for (size_t i = 0; i < r->nwhen; i++) {
			char *pi = list ? item(p, i) : optreg_xstrdup(p);
			build_cond(c, &r->when[i],
				   list ? json_array_get(v, i) : v, pi);
			if (r->when[i].of_previous && !r->nagainst) {
				char *po = child(pi, "of");
				struct optreg_error *e = lfail(
					c, OPTREG_EINVAL, "change", po,
					"of: previous needs a change rule "
					"(the rule has no against)");
				optreg_error_set_hint(
					e, "add against: [TAG...] to the rule, "
					   "or remove of: previous");
				free(po);
			}
			free(pi);
		}
		free(p);
	}
}

static void build(const struct lctx *c, struct optreg_policy *p,
		  const json_t *root)
{
	const json_t *v;

	p->name = dupstr(json_object_get(root, "name"));
	p->description = dupstr(json_object_get(root, "description"));
	v = json_object_get(root, "mode");
	p->mode = !v || !strcmp(json_string_value(v), "enforce")
			  ? OPTREG_POLICY_ENFORCE
		  : !strcmp(json_string_value(v), "warn") ? OPTREG_POLICY_WARN
							  : OPTREG_POLICY_AUDIT;
	p->namespaces = dup_strings(json_object_get(root, "namespaces"),
				    &p->nnamespaces);
	const json_t *rules = json_object_get(root, "rules");
	p->nrules = json_array_size(rules);
	p->rules = optreg_xcalloc(p->nrules ? p->nrules : 1, sizeof(*p->rules));
	for (size_t i = 0; i < p->nrules; i++) {
		char *jp = item("rules", i);
		const json_t *r = json_array_get(rules, i);
		build_rule(c, &p->rules[i], r, jp);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->rules[j].id, p->rules[i].id)) {
				char *pid = child(jp, "id");
				struct optreg_error *e = lfail(
					c, OPTREG_EINVAL, "duplicate", pid,
					"rule id \"%s\" is used twice "
					"(rules[%zu] has it too)",
					p->rules[i].id, j);
				optreg_error_set_hint(
					e, "give every rule of a policy its "
					   "own id");
				free(pid);
				break;
			}
		free(jp);
	}
	const json_t *gates = json_object_get(root, "gates");
	p->ngates = json_array_size(gates);
	p->gates = optreg_xcalloc(p->ngates ? p->ngates : 1, sizeof(*p->gates));
	for (size_t i = 0; i < p->ngates; i++) {
		const json_t *g = json_array_get(gates, i);
		p->gates[i].tags = dup_strings(json_object_get(g, "tags"),
					       &p->gates[i].ntags);
		p->gates[i].allow_warn =
			json_is_true(json_object_get(g, "allow_warn"));
	}
}

void optreg_policy_free(struct optreg_policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->description);
	free_strings(p->namespaces, p->nnamespaces);
	for (size_t i = 0; i < p->nrules; i++) {
		struct policy_rule *r = &p->rules[i];
		free(r->id);
		free(r->message);
		free(r->hint);
		free_strings(r->against, r->nagainst);
		policy_cond_release(&r->assert);
		for (size_t j = 0; j < r->nwhen; j++)
			policy_cond_release(&r->when[j]);
		free(r->when);
	}
	free(p->rules);
	for (size_t i = 0; i < p->ngates; i++)
		free_strings(p->gates[i].tags, p->gates[i].ntags);
	free(p->gates);
	optreg_buf_release(&p->canonical);
	free(p);
}

int optreg_policy_load(struct optreg_policy **out, const char *name,
		       const char *data, size_t len, struct optreg_errors *errs)
{
	struct optreg_doc doc;
	struct lctx c = {&doc, errs, errs->len};
	int rc;

	*out = NULL;
	optreg_doc_init(&doc);
	if (len > OPTREG_POLICY_MAX_BYTES) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ELIMIT, "limit", "",
			"policy file is %zu bytes, more than the %d allowed",
			len, OPTREG_POLICY_MAX_BYTES);
		optreg_error_set_hint(e, "split it into several policies");
		return OPTREG_ELIMIT;
	}
	rc = optreg_doc_load(&doc, name, data, len, errs);
	if (rc) {
		optreg_doc_release(&doc);
		return rc;
	}
	check_schema(&c, doc.root);
	if (errs->len > c.nerrs_at_start) {
		optreg_doc_release(&doc);
		return OPTREG_EINVAL;
	}
	size_t nrules = json_array_size(json_object_get(doc.root, "rules"));
	size_t ngates = json_array_size(json_object_get(doc.root, "gates"));
	if (nrules > OPTREG_POLICY_MAX_RULES ||
	    ngates > OPTREG_POLICY_MAX_GATES) {
		bool r = nrules > OPTREG_POLICY_MAX_RULES;
		struct optreg_error *e = lfail(
			&c, OPTREG_ELIMIT, "limit", r ? "rules" : "gates",
			"has %zu items, more than the %d allowed",
			r ? nrules : ngates,
			r ? OPTREG_POLICY_MAX_RULES : OPTREG_POLICY_MAX_GATES);
		optreg_error_set_hint(e, "split it into several policies");
		optreg_doc_release(&doc);
		return OPTREG_ELIMIT;
	}
	struct optreg_policy *p = optreg_xcalloc(1, sizeof(*p));
	optreg_buf_init(&p->canonical);
	build(&c, p, doc.root);
	if (errs->len == c.nerrs_at_start)
		optreg_jcs_serialize(doc.root, &p->canonical, errs);
	if (errs->len > c.nerrs_at_start) {
		optreg_policy_free(p);
		optreg_doc_release(&doc);
		return OPTREG_EINVAL;
	}
	optreg_doc_release(&doc);
	*out = p;
	return 0;
}

int optreg_policy_load_file(struct optreg_policy **out, const char *path,
			    struct optreg_errors *errs)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	int rc;

	*out = NULL;
	rc = optreg_doc_read_file(&b, path, errs);
	if (rc == 0)
		rc = optreg_policy_load(out, path, b.data, b.len, errs);
	optreg_buf_release(&b);
	return rc;
}
