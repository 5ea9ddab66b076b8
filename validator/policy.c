/*
 * validator/policy.c: evaluating policies, their results, and gates.
 *
 * docs/policies.md is the contract. A rule's field is resolved in the
 * config (and, for a change rule, at the same place in the previous
 * config); `[*]` gives one instance per array item, each checked on its
 * own. Absent fields take the model's defaults (schedule.warmup_steps 0,
 * schedule.min_lr 0, schedule.kind constant, amsgrad/maximize false);
 * otherwise an absent field passes every assertion but `present: true`,
 * and makes a `when` false unless it asks `present: false`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/glob.h"
#include "../common/jsonutil.h"
#include "jcs.h"
#include "names.h"
#include "policy_int.h"

const char *optreg_policy_name(const struct optreg_policy *p)
{
	return p->name;
}

long optreg_policy_version(const struct optreg_policy *p)
{
	return p->version;
}

void optreg_policy_set_version(struct optreg_policy *p, long version)
{
	p->version = version;
}

enum optreg_policy_mode optreg_policy_mode(const struct optreg_policy *p)
{
	return p->mode;
}

const char *optreg_policy_mode_name(enum optreg_policy_mode m)
{
	switch (m) {
	case OPTREG_POLICY_ENFORCE:
		return "enforce";
	case OPTREG_POLICY_WARN:
		return "warn";
	case OPTREG_POLICY_AUDIT:
		return "audit";
	}
	return "unknown";
}

const char *optreg_policy_severity_name(enum optreg_policy_severity s)
{
	return s == OPTREG_SEVERITY_DENY ? "deny" : "warn";
}

const char *optreg_policy_effect_name(enum optreg_policy_effect e)
{
	switch (e) {
	case OPTREG_EFFECT_DENY:
		return "deny";
	case OPTREG_EFFECT_WARN:
		return "warn";
	case OPTREG_EFFECT_AUDIT:
		return "audit";
	case OPTREG_EFFECT_WAIVED:
		return "waived";
	}
	return "unknown";
}

const struct optreg_buf *optreg_policy_canonical(const struct optreg_policy *p)
{
	return &p->canonical;
}

bool optreg_policy_has_rule(const struct optreg_policy *p, const char *id)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (!strcmp(p->rules[i].id, id))
			return true;
	return false;
}

bool optreg_policy_covers(const struct optreg_policy *p, const char *ns)
{
	return ns && optreg_glob_match_any((const char *const *)p->namespaces,
					   p->nnamespaces, ns);
}

/* ---- resolving fields ------------------------------------------------ */

/* One place a path resolves to: the value there now and, for change
 * rules, in the previous config (either NULL when absent). */
struct inst {
	char *path;
	const json_t *v, *pv;
};

struct insts {
	struct inst *items;
	size_t len, cap;
};

struct ectx {
	json_t *zero, *falsev, *constant; /* the model's defaults */
};

static void insts_release(struct insts *l)
{
	for (size_t i = 0; i < l->len; i++)
		free(l->items[i].path);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* The default of an absent field, or NULL. */
static const json_t *default_of(const struct ectx *e, const char *path)
{
	if (!strcmp(path, "spec.schedule.warmup_steps") ||
	    !strcmp(path, "spec.schedule.min_lr"))
		return e->zero;
	if (!strcmp(path, "spec.schedule.kind"))
		return e->constant;
	if (!strcmp(path, "spec.amsgrad") || !strcmp(path, "spec.maximize"))
		return e->falsev;
	return NULL;
}

static void walk(const struct ectx *e, const struct policy_path *p, size_t i,
		 const json_t *v, const json_t *pv, struct optreg_buf *path,
		 struct insts *out)
{
	if (i == p->nsegs) {
		OPTREG_ALLOC_GROW(out->items, out->len + 1, out->cap);
		struct inst *in = &out->items[out->len++];
		in->path = optreg_xstrdup(path->data);
		in->v = v ? v : default_of(e, path->data);
		in->pv = pv ? pv : default_of(e, path->data);
		return;
	}
	const struct policy_seg *s = &p->segs[i];
	size_t mark = path->len;
	if (s->kind == POLICY_SEG_KEY) {
		optreg_doc_path_key(path, s->key);
		walk(e, p, i + 1, json_object_get(v, s->key),
		     json_object_get(pv, s->key), path, out);
	} else if (s->kind == POLICY_SEG_INDEX) {
		optreg_doc_path_index(path, s->index);
		walk(e, p, i + 1, json_array_get(v, s->index),
		     json_array_get(pv, s->index), path, out);
	} else {
		for (size_t k = 0; k < json_array_size(v); k++) {
			optreg_doc_path_index(path, k);
			walk(e, p, i + 1, json_array_get(v, k),
			     json_array_get(pv, k), path, out);
			path->len = mark;
			path->data[mark] = '\0';
		}
	}
	path->len = mark;
	path->data[mark] = '\0';
}

static void resolve(const struct ectx *e, const struct policy_path *p,
		    const json_t *cfg, const json_t *prev, struct insts *out)
{
	struct optreg_buf path = OPTREG_BUF_INIT;

	walk(e, p, 0, cfg, prev, &path, out);
	optreg_buf_release(&path);
}

/* ---- assertions ------------------------------------------------------ */

static bool value_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_is_array(a) && json_is_array(b)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!value_equal(json_array_get(a, i),
					 json_array_get(b, i)))
				return false;
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static void show(struct optreg_buf *out, const json_t *v)
{
	if (!v) {
		optreg_buf_adds(out, "absent");
	} else if (json_is_number(v)) {
		if (optreg_jcs_number(json_number_value(v), out) < 0)
			optreg_buf_adds(out, "non-finite");
	} else if (json_is_string(v)) {
		optreg_name_quote(out, json_string_value(v));
	} else if (json_is_boolean(v)) {
		optreg_buf_adds(out, json_is_true(v) ? "true" : "false");
	} else {
		struct optreg_buf s = OPTREG_BUF_INIT;
		if (optreg_jcs_serialize(v, &s, NULL) == 0 && s.len <= 80)
			optreg_buf_adds(out, s.data);
		else
			optreg_buf_adds(out, optreg_json_type_name(v));
		optreg_buf_release(&s);
	}
}

static void shownum(struct optreg_buf *out, double d)
{
	if (optreg_jcs_number(d, out) < 0)
		optreg_buf_adds(out, "non-finite");
}

/* Appends "; " between the parts of a detail. */
static void sep(struct optreg_buf *d)
{
	if (d->len)
		optreg_buf_adds(d, "; ");
}

/*
 * Checks one bound on number `x`. Returns false and describes the
 * failure in `d` when it does not hold; an operand field that is absent
 * (and has no default) makes the bound hold.
 */
static bool check_bound(const struct ectx *e, const struct policy_operand *o,
			const char *what, int cmp, const json_t *cfg, double x,
			struct optreg_buf *d)
{
	double lim;

	if (!o->set)
		return true;
	if (o->is_field) {
		struct insts l = {0};
		resolve(e, &o->field, cfg, NULL, &l);
		const json_t *v = l.len ? l.items[0].v : NULL;
		bool num = json_is_number(v);
		lim = num ? json_number_value(v) * o->times : 0;
		insts_release(&l);
		if (!num)
			return true;
	} else {
		lim = o->num;
	}
	bool ok = cmp == 0   ? x >= lim
		  : cmp == 1 ? x <= lim
		  : cmp == 2 ? x > lim
			     : x < lim;
	if (ok)
		return true;
	sep(d);
	optreg_buf_addf(d, "must be %s ", what);
	if (o->is_field)
		optreg_buf_addf(d, "%.6g", lim); /* a product: round it */
	else
		shownum(d, lim);
	if (o->is_field) {
		optreg_buf_adds(d, " (");
		if (o->times != 1) {
			shownum(d, o->times);
			optreg_buf_adds(d, " x ");
		}
		optreg_buf_addf(d, "%s)", o->field.text);
	}
	return false;
}

/*
 * Checks the plain assertions of `k` on value `v` (NULL when absent).
 * Returns true when all hold; otherwise describes every failure in `d`.
 */
static bool check_plain(const struct ectx *e, const struct policy_cond *k,
			const json_t *cfg, const json_t *v,
			struct optreg_buf *d)
{
	bool ok = true;

	if (!v) {
		if (k->present == 1) {
			sep(d);
			optreg_buf_adds(d, "must be present");
			return false;
		}
		return true;
	}
	if (k->present == 0) {
		sep(d);
		optreg_buf_adds(d, "must be absent");
		ok = false;
	}
	if (k->at_least.set || k->at_most.set || k->above.set || k->below.set) {
		if (!json_is_number(v)) {
			sep(d);
			optreg_buf_adds(d, "must be a number");
			ok = false;
		} else {
			double x = json_number_value(v);
			ok &= check_bound(e, &k->at_least, "at least", 0, cfg,
					  x, d);
			ok &= check_bound(e, &k->at_most, "at most", 1, cfg, x,
					  d);
			ok &= check_bound(e, &k->above, "above", 2, cfg, x, d);
			ok &= check_bound(e, &k->below, "below", 3, cfg, x, d);
		}
	}
	if (k->equals && !value_equal(v, k->equals)) {
		sep(d);
		optreg_buf_adds(d, "must equal ");
		show(d, k->equals);
		ok = false;
	}
	if (k->one_of) {
		bool any = false;
		for (size_t i = 0; !any && i < json_array_size(k->one_of); i++)
			any = value_equal(v, json_array_get(k->one_of, i));
		if (!any) {
			sep(d);
			optreg_buf_adds(d, "must be one of ");
			show(d, k->one_of);
			ok = false;
		}
	}
	if (k->has_re && (!json_is_string(v) ||
			  regexec(&k->re, json_string_value(v), 0, NULL, 0))) {
		sep(d);
		optreg_buf_adds(d, "must match ");
		optreg_name_quote(d, k->pattern);
		ok = false;
	}
	return ok;
}

/* The change assertions (max_ratio, unchanged) between `pv` and `v`. */
static bool check_change(const struct policy_cond *k, const char *tag,
			 const json_t *v, const json_t *pv,
			 struct optreg_buf *d)
{
	bool ok = true;

	if (k->has_max_ratio && json_is_number(v) && json_is_number(pv)) {
		double n = json_number_value(v), o = json_number_value(pv);
		double ratio = n == o		  ? 1
			       : n <= 0 || o <= 0 ? INFINITY
			       : n > o		  ? n / o
						  : o / n;
		if (!(ratio <= k->max_ratio)) {
			sep(d);
			optreg_buf_adds(d, "changes from ");
			shownum(d, o);
			optreg_buf_addf(d, " (at %s) to ", tag);
			shownum(d, n);
			if (isfinite(ratio)) {
				optreg_buf_adds(d, ", x");
				struct optreg_buf r = OPTREG_BUF_INIT;
				optreg_buf_addf(&r, "%.3g", ratio);
				optreg_buf_adds(d, r.data);
				optreg_buf_release(&r);
			}
			optreg_buf_adds(d, "; at most x");
			shownum(d, k->max_ratio);
			optreg_buf_adds(d, " allowed");
			ok = false;
		}
	}
	if (k->unchanged && !(v == pv || (v && pv && value_equal(v, pv)))) {
		sep(d);
		optreg_buf_adds(d, "changes from ");
		show(d, pv);
		optreg_buf_addf(d, " (at %s) to ", tag);
		show(d, v);
		optreg_buf_adds(d, "; must stay unchanged");
		ok = false;
	}
	return ok;
}

/* True when every `when` condition of `r` holds. */
static bool when_holds(const struct ectx *e, const struct policy_rule *r,
		       const struct optreg_policy_input *in)
{
	for (size_t i = 0; i < r->nwhen; i++) {
		const struct policy_cond *k = &r->when[i];
		const json_t *doc = k->of_previous ? in->previous : in->config;
		struct insts l = {0};
		bool holds = false;

		resolve(e, &k->field, doc, NULL, &l);
		for (size_t j = 0; !holds && j < l.len; j++) {
			struct optreg_buf d = OPTREG_BUF_INIT;
			if (l.items[j].v)
				holds = check_plain(e, k, doc, l.items[j].v,
						    &d);
			else
				holds = k->present == 0;
			optreg_buf_release(&d);
		}
		if (!l.len)
			holds = k->present == 0;
		insts_release(&l);
		if (!holds)
			return false;
	}
	return true;
}

/* ---- results ---------------------------------------------------------- */

void optreg_policy_result_init(struct optreg_policy_result *r)
{
	memset(r, 0, sizeof(*r));
}

void optreg_policy_result_release(struct optreg_policy_result *r)
{
	for (size_t i = 0; i < r->len; i++) {
		struct optreg_violation *v = &r->items[i];
		free(v->policy);
		free(v->rule);
		free(v->path);
		free(v->message);
		free(v->detail);
		free(v->hint);
		free(v->waiver);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

static const struct optreg_waiver *
find_waiver(const struct optreg_policy_input *in, const char *policy,
	    const char *rule)
{
	for (size_t i = 0; i < in->nwaivers; i++) {
		const struct optreg_waiver *w = &in->waivers[i];
		if (w->policy && w->rule && w->namespace_ && w->config &&
		    in->namespace_ && in->name && !strcmp(w->policy, policy) &&
		    !strcmp(w->rule, rule) &&
		    optreg_glob_match(w->namespace_, in->namespace_) &&
		    optreg_glob_match(w->config, in->name) &&
		    w->expires_at > in->now)
			return w;
	}
	return NULL;
}

static void add_violation(const struct optreg_policy *p,
			  const struct policy_rule *r,
			  const struct optreg_policy_input *in,
			  const char *path, const char *detail,
			  struct optreg_policy_result *out)
{
	OPTREG_ALLOC_GROW(out->items, out->len + 1, out->cap);
	struct optreg_violation *v = &out->items[out->len++];
	memset(v, 0, sizeof(*v));
	v->policy = optreg_xstrdup(p->name);
	v->policy_version = p->version;
	v->rule = optreg_xstrdup(r->id);
	v->severity = r->severity;
	v->path = optreg_xstrdup(path);
	v->message = optreg_xstrdup(r->message);
	v->detail = optreg_xasprintf("%s %s", path, detail);
	v->hint = r->hint ? optreg_xstrdup(r->hint) : NULL;
	if (in->doc) {
		const struct optreg_doc_loc *loc =
			optreg_doc_locate(in->doc, path);
		if (loc) {
			v->line = loc->line;
			v->col = loc->col;
		}
	}
	const struct optreg_waiver *w = NULL;
	if (p->mode == OPTREG_POLICY_AUDIT)
		v->effect = OPTREG_EFFECT_AUDIT;
	else if ((w = find_waiver(in, p->name, r->id)))
		v->effect = OPTREG_EFFECT_WAIVED;
	else if (p->mode == OPTREG_POLICY_WARN ||
		 r->severity == OPTREG_SEVERITY_WARN)
		v->effect = OPTREG_EFFECT_WARN;
	else
		v->effect = OPTREG_EFFECT_DENY;
	if (w)
		v->waiver = optreg_xstrdup(w->id ? w->id : "waiver");
	switch (v->effect) {
	case OPTREG_EFFECT_DENY:
		out->denied++;
		break;
	case OPTREG_EFFECT_WARN:
		out->warned++;
		break;
	case OPTREG_EFFECT_AUDIT:
		out->audited++;
		break;
	case OPTREG_EFFECT_WAIVED:
		out->waived++;
		break;
	}
}

static void eval_rule(const struct ectx *e, const struct optreg_policy *p,
		      const struct policy_rule *r,
		      const struct optreg_policy_input *in,
		      struct optreg_policy_result *out)
{
	const json_t *prev = NULL;

	if (r->nagainst) {
		if (!in->tag || !in->previous ||
		    !optreg_glob_match_any((const char *const *)r->against,
					   r->nagainst, in->tag))
			return;
		prev = in->previous;
	}
	if (!when_holds(e, r, in))
		return;
	struct insts l = {0};
	resolve(e, &r->assert.field, in->config, prev, &l);
	for (size_t j = 0; j < l.len; j++) {
		const struct inst *it = &l.items[j];
		struct optreg_buf d = OPTREG_BUF_INIT;
		bool ok = check_plain(e, &r->assert, in->config, it->v, &d);
		if (prev)
			ok &= check_change(&r->assert, in->tag, it->v, it->pv,
					   &d);
		if (!ok) {
			struct optreg_buf full = OPTREG_BUF_INIT;
			if (it->v && !r->assert.has_max_ratio &&
			    !r->assert.unchanged) {
				optreg_buf_adds(&full, "is ");
				show(&full, it->v);
				optreg_buf_adds(&full, ": ");
			}
			optreg_buf_adds(&full, d.data);
			add_violation(p, r, in, it->path, full.data, out);
			optreg_buf_release(&full);
		}
		optreg_buf_release(&d);
	}
	insts_release(&l);
}

int optreg_policy_evaluate(const struct optreg_policy *const *ps, size_t n,
			   const struct optreg_policy_input *in,
			   struct optreg_policy_result *out)
{
	struct ectx e = {json_real(0), json_false(), json_string("constant")};

	for (size_t i = 0; i < n; i++) {
		const struct optreg_policy *p = ps[i];
		if (!p || !optreg_policy_covers(p, in->namespace_))
			continue;
		for (size_t k = 0; k < p->nrules; k++)
			eval_rule(&e, p, &p->rules[k], in, out);
	}
	json_decref(e.zero);
	json_decref(e.falsev);
	json_decref(e.constant);
	return 0;
}

json_t *optreg_policy_result_to_json(const struct optreg_policy_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->len; i++) {
		const struct optreg_violation *v = &r->items[i];
		json_t *o = json_object();
		json_object_set_new(o, "policy", json_string(v->policy));
		json_object_set_new(o, "policy_version",
				    json_integer(v->policy_version));
		json_object_set_new(o, "rule", json_string(v->rule));
		json_object_set_new(
			o, "severity",
			json_string(optreg_policy_severity_name(v->severity)));
		json_object_set_new(
			o, "effect",
			json_string(optreg_policy_effect_name(v->effect)));
		json_object_set_new(o, "path", optreg_json_text(v->path));
		json_object_set_new(o, "message", optreg_json_text(v->message));
		if (v->detail)
			json_object_set_new(o, "detail",
					    optreg_json_text(v->detail));
		if (v->hint)
			json_object_set_new(o, "hint",
					    optreg_json_text(v->hint));
		if (v->waiver)
			json_object_set_new(o, "waiver",
					    optreg_json_text(v->waiver));
		if (v->line > 0) {
			json_object_set_new(o, "line", json_integer(v->line));
			json_object_set_new(o, "col", json_integer(v->col));
		}
		json_array_append_new(arr, o);
	}
	return json_pack("{s:o, s:I, s:I, s:I, s:I}", "violations", arr,
			 "denied", (json_int_t)r->denied, "warned",
			 (json_int_t)r->warned, "audited",
			 (json_int_t)r->audited, "waived",
			 (json_int_t)r->waived);
}

void optreg_policy_result_denials(const struct optreg_policy_result *r,
				  int code, struct optreg_errors *errs)
{
	for (size_t i = 0; i < r->len; i++) {
		const struct optreg_violation *v = &r->items[i];
		if (v->effect != OPTREG_EFFECT_DENY)
			continue;
		char *rule = optreg_xasprintf("%s/%s", v->policy, v->rule);
		struct optreg_error *e = optreg_errors_add(
			errs, code, rule, v->path, "%s", v->message);
		if (v->detail)
			optreg_error_set_detail(e, "%s", v->detail);
		if (v->hint)
			optreg_error_set_hint(e, "%s", v->hint);
		e->line = v->line;
		e->col = v->col;
		free(rule);
	}
}

void optreg_policy_gate(const struct optreg_policy *const *ps, size_t n,
			const char *ns, const char *tag,
			struct optreg_gate *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n && tag; i++) {
		const struct optreg_policy *p = ps[i];
		if (!p || !optreg_policy_covers(p, ns))
			continue;
		for (size_t g = 0; g < p->ngates; g++) {
			const struct policy_gate *gt = &p->gates[g];
			if (!optreg_glob_match_any(
				    (const char *const *)gt->tags, gt->ntags,
				    tag))
				continue;
			if (!out->gated) {
				out->gated = true;
				out->allow_warn = gt->allow_warn;
				snprintf(out->policy, sizeof(out->policy), "%s",
					 p->name);
			} else {
				out->allow_warn &= gt->allow_warn;
			}
		}
	}
}
