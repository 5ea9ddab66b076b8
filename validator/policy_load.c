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

struct optreg_error *policy_fail(const struct policy_lctx *c, int code,
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

char *policy_child(const char *path, const char *key)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_buf_adds(&b, path);
	optreg_doc_path_key(&b, key);
	return optreg_buf_detach(&b, NULL);
}

char *policy_item(const char *path, size_t i)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_buf_adds(&b, path);
	optreg_doc_path_index(&b, i);
	return optreg_buf_detach(&b, NULL);
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
static bool build_path(const struct policy_lctx *c, struct policy_path *p,
		       const char *text, const char *jpath, bool allow_all)
{
	if (!policy_path_parse(p, text)) {
		struct optreg_error *e =
			policy_fail(c, OPTREG_EINVAL, "field", jpath,
				    "is not a field path (got \"%s\")", text);
		optreg_error_set_hint(
			e, "write a path such as spec.lr, spec.betas[1] or "
			   "spec.param_groups[*].eps");
		return false;
	}
	if (!policy_path_known(p)) {
		struct optreg_error *e = policy_fail(
			c, OPTREG_EINVAL, "field", jpath,
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
		policy_fail(
			c, OPTREG_EINVAL, "field", jpath,
			"a field compared with may not use [*] (got \"%s\")",
			text);
		return false;
	}
	return true;
}

static void build_operand(const struct policy_lctx *c, struct policy_operand *o,
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
	char *p = policy_child(jpath, "field");
	build_path(c, &o->field, json_string_value(json_object_get(v, "field")),
		   p, false);
	free(p);
}

static void build_cond(const struct policy_lctx *c, struct policy_cond *k,
		       const json_t *o, const char *jpath)
{
	const json_t *v;
	char *p;

	k->present = -1;
	p = policy_child(jpath, "field");
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
		p = policy_child(jpath, bounds[i]);
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
			p = policy_child(jpath, "pattern");
			struct optreg_error *e =
				policy_fail(c, OPTREG_EINVAL, "regex", p,
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

static void build_rule(const struct policy_lctx *c, struct policy_rule *r,
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
		char *p = policy_child(jpath, "when");
		bool list = json_is_array(v);
		r->nwhen = list ? json_array_size(v) : 1;
		r->when = optreg_xcalloc(r->nwhen, sizeof(*r->when));
		for (size_t i = 0; i < r->nwhen; i++) {
			char *pi = list ? policy_item(p, i) : optreg_xstrdup(p);
			build_cond(c, &r->when[i],
				   list ? json_array_get(v, i) : v, pi);
			if (r->when[i].of_previous && !r->nagainst) {
				char *po = policy_child(pi, "of");
				struct optreg_error *e = policy_fail(
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

static void build(const struct policy_lctx *c, struct optreg_policy *p,
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
		char *jp = policy_item("rules", i);
		const json_t *r = json_array_get(rules, i);
		build_rule(c, &p->rules[i], r, jp);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->rules[j].id, p->rules[i].id)) {
				char *pid = policy_child(jp, "id");
				struct optreg_error *e = policy_fail(
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
	struct policy_lctx c = {&doc, errs, errs->len};
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
	policy_check_schema(&c, doc.root);
	if (errs->len > c.nerrs_at_start) {
		optreg_doc_release(&doc);
		return OPTREG_EINVAL;
	}
	size_t nrules = json_array_size(json_object_get(doc.root, "rules"));
	size_t ngates = json_array_size(json_object_get(doc.root, "gates"));
	if (nrules > OPTREG_POLICY_MAX_RULES ||
	    ngates > OPTREG_POLICY_MAX_GATES) {
		bool r = nrules > OPTREG_POLICY_MAX_RULES;
		struct optreg_error *e = policy_fail(
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
