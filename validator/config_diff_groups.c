/*
 * validator/config_diff_groups.c: the param groups part of the semantic
 * diff (config_diff.h): groups paired by their `match` pattern, their
 * order, and each override.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_diff_int.h"
#include "jcs.h"

/* `spec.param_groups["MATCH"]`, with `#K` for the k-th (k > 1) group
 * with the same pattern. */
static void group_path(struct optreg_buf *path, const char *match, size_t k)
{
	json_t *j = json_string(match);

	optreg_buf_adds(path, "spec.param_groups[");
	if (!j || optreg_jcs_serialize(j, path, NULL) < 0)
		optreg_buf_adds(path, "\"?\"");
	json_decref(j);
	if (k > 1)
		optreg_buf_addf(path, "#%zu", k);
	optreg_buf_addch(path, ']');
}

/* Which occurrence of its pattern group `i` of `c` is (1 for the first). */
static size_t occurrence(const struct optreg_config *c, size_t i)
{
	size_t k = 1;

	for (size_t j = 0; j < i; j++)
		k += !strcmp(c->groups[j].match, c->groups[i].match);
	return k;
}

/* The group of `c` with pattern `match`, occurrence `k`, or -1. */
static long find_group(const struct optreg_config *c, const char *match,
		       size_t k)
{
	for (size_t j = 0; j < c->ngroups; j++)
		if (!strcmp(c->groups[j].match, match) && --k == 0)
			return (long)j;
	return -1;
}

static json_t *group_json(const struct optreg_param_group *g)
{
	json_t *o = json_pack("{s:s}", "match", g->match);

	if (g->has_lr)
		json_object_set_new(o, "lr", json_real(g->lr));
	if (g->has_betas)
		json_object_set_new(o, "betas",
				    config_diff_betas_json(g->beta1, g->beta2));
	if (g->has_eps)
		json_object_set_new(o, "eps", json_real(g->eps));
	if (g->has_weight_decay)
		json_object_set_new(o, "weight_decay",
				    json_real(g->weight_decay));
	return o;
}

/* "lr 0.001, weight_decay 0": the overrides of a group. */
static void group_overrides(struct optreg_buf *t,
			    const struct optreg_param_group *g)
{
	const char *sep = "";

	if (g->has_lr) {
		optreg_buf_adds(t, "lr ");
		config_diff_num(t, g->lr);
		sep = ", ";
	}
	if (g->has_betas) {
		optreg_buf_addf(t, "%sbetas ", sep);
		config_diff_betas_text(t, g->beta1, g->beta2);
		sep = ", ";
	}
	if (g->has_eps) {
		optreg_buf_addf(t, "%seps ", sep);
		config_diff_num(t, g->eps);
		sep = ", ";
	}
	if (g->has_weight_decay) {
		optreg_buf_addf(t, "%sweight_decay ", sep);
		config_diff_num(t, g->weight_decay);
	}
}

/* One override field of a paired group: present on either side. */
struct override {
	const char *name;
	bool ha, hb;
	double a, b;   /* the group's values */
	double base_a; /* the config's own value on each side */
	double base_b;
};

static void diff_override(struct optreg_config_diff *d, const char *gpath,
			  const char *match, const struct override *o,
			  enum optreg_optimizer opt)
{
	struct optreg_buf t = OPTREG_BUF_INIT, path = OPTREG_BUF_INIT;
	json_t *m = json_string(match);

	if (!o->ha && !o->hb)
		goto out;
	if (o->ha && o->hb && o->a == o->b)
		goto out;
	optreg_buf_addf(&path, "%s.%s", gpath, o->name);
	optreg_buf_adds(&t, "param group ");
	optreg_jcs_serialize(m, &t, NULL);
	optreg_buf_adds(&t, ": ");
	if (o->ha && o->hb) {
		if (!strcmp(o->name, "weight_decay")) {
			config_diff_decay_change(&t, o->a, o->b, opt);
		} else {
			optreg_buf_addf(&t, "%s ", o->name);
			config_diff_num(&t, o->a);
			optreg_buf_adds(&t, " -> ");
			config_diff_num(&t, o->b);
			config_diff_ratio(&t, o->a, o->b);
		}
		config_diff_add(d, OPTREG_CHANGE_CHANGED, path.data,
				json_real(o->a), json_real(o->b), &t);
	} else if (o->hb) {
		optreg_buf_addf(&t, "%s ", o->name);
		config_diff_num(&t, o->b);
		optreg_buf_adds(&t, " added (instead of the config's ");
		config_diff_num(&t, o->base_b);
		optreg_buf_addch(&t, ')');
		config_diff_add(d, OPTREG_CHANGE_ADDED, path.data, NULL,
				json_real(o->b), &t);
	} else {
		optreg_buf_addf(&t, "%s ", o->name);
		config_diff_num(&t, o->a);
		optreg_buf_addf(&t,
				" removed: these parameters use the "
				"config's %s ",
				o->name);
		config_diff_num(&t, o->base_b);
		config_diff_add(d, OPTREG_CHANGE_REMOVED, path.data,
				json_real(o->a), NULL, &t);
	}
out:
	json_decref(m);
	optreg_buf_release(&path);
}

static void diff_group_betas(struct optreg_config_diff *d, const char *gpath,
			     const char *match,
			     const struct optreg_param_group *ga,
			     const struct optreg_param_group *gb,
			     const struct optreg_config *b)
{
	struct optreg_buf t = OPTREG_BUF_INIT, path = OPTREG_BUF_INIT;
	json_t *m = json_string(match);

	if (!ga->has_betas && !gb->has_betas)
		goto out;
	if (ga->has_betas && gb->has_betas && ga->beta1 == gb->beta1 &&
	    ga->beta2 == gb->beta2)
		goto out;
	optreg_buf_addf(&path, "%s.betas", gpath);
	optreg_buf_adds(&t, "param group ");
	optreg_jcs_serialize(m, &t, NULL);
	optreg_buf_adds(&t, ": ");
	if (ga->has_betas && gb->has_betas) {
		config_diff_betas_change(&t, ga->beta1, ga->beta2, gb->beta1,
					 gb->beta2);
		config_diff_add(d, OPTREG_CHANGE_CHANGED, path.data,
				config_diff_betas_json(ga->beta1, ga->beta2),
				config_diff_betas_json(gb->beta1, gb->beta2),
				&t);
	} else if (gb->has_betas) {
		optreg_buf_adds(&t, "betas ");
		config_diff_betas_text(&t, gb->beta1, gb->beta2);
		optreg_buf_adds(&t, " added (instead of the config's ");
		config_diff_betas_text(&t, b->beta1, b->beta2);
		optreg_buf_addch(&t, ')');
		config_diff_add(d, OPTREG_CHANGE_ADDED, path.data, NULL,
				config_diff_betas_json(gb->beta1, gb->beta2),
				&t);
	} else {
		optreg_buf_adds(&t, "betas ");
		config_diff_betas_text(&t, ga->beta1, ga->beta2);
		optreg_buf_adds(&t, " removed: these parameters use the "
				    "config's betas ");
		config_diff_betas_text(&t, b->beta1, b->beta2);
		config_diff_add(d, OPTREG_CHANGE_REMOVED, path.data,
				config_diff_betas_json(ga->beta1, ga->beta2),
				NULL, &t);
	}
out:
	json_decref(m);
	optreg_buf_release(&path);
}

static void diff_group_pair(struct optreg_config_diff *d,
			    const struct optreg_config *a,
			    const struct optreg_config *b, size_t ia, size_t ib,
			    size_t k)
{
	const struct optreg_param_group *ga = &a->groups[ia],
					*gb = &b->groups[ib];
	struct optreg_buf gpath = OPTREG_BUF_INIT;
	const struct override lr = {"lr",   ga->has_lr, gb->has_lr, ga->lr,
				    gb->lr, a->lr,	b->lr},
			      eps = {"eps",   ga->has_eps, gb->has_eps, ga->eps,
				     gb->eps, a->eps,	   b->eps},
			      wd = {"weight_decay",	  ga->has_weight_decay,
				    gb->has_weight_decay, ga->weight_decay,
				    gb->weight_decay,	  a->weight_decay,
				    b->weight_decay};

	group_path(&gpath, ga->match, k);
	diff_override(d, gpath.data, ga->match, &lr, b->optimizer);
	diff_group_betas(d, gpath.data, ga->match, ga, gb, b);
	diff_override(d, gpath.data, ga->match, &eps, b->optimizer);
	diff_override(d, gpath.data, ga->match, &wd, b->optimizer);
	optreg_buf_release(&gpath);
}

static void diff_group_alone(struct optreg_config_diff *d,
			     const struct optreg_config *c, size_t i,
			     bool added)
{
	const struct optreg_param_group *g = &c->groups[i];
	struct optreg_buf t = OPTREG_BUF_INIT, path = OPTREG_BUF_INIT;
	json_t *m = json_string(g->match);

	group_path(&path, g->match, occurrence(c, i));
	optreg_buf_adds(&t, "param group ");
	optreg_jcs_serialize(m, &t, NULL);
	if (added) {
		optreg_buf_addf(&t, " added at position %zu: ", i + 1);
		group_overrides(&t, g);
		config_diff_add(d, OPTREG_CHANGE_ADDED, path.data, NULL,
				group_json(g), &t);
	} else {
		optreg_buf_adds(&t, " removed (was ");
		group_overrides(&t, g);
		optreg_buf_adds(&t, "): its parameters use the config's "
				    "settings unless a later group matches");
		config_diff_add(d, OPTREG_CHANGE_REMOVED, path.data,
				group_json(g), NULL, &t);
	}
	json_decref(m);
	optreg_buf_release(&path);
}

/* The patterns of the groups of `c` that `other` has too, in c's order. */
static json_t *shared_order(const struct optreg_config *c,
			    const struct optreg_config *other)
{
	json_t *list = json_array();

	for (size_t i = 0; i < c->ngroups; i++)
		if (find_group(other, c->groups[i].match, occurrence(c, i)) >=
		    0)
			json_array_append_new(list,
					      json_string(c->groups[i].match));
	return list;
}

void config_diff_groups(struct optreg_config_diff *d,
			const struct optreg_config *a,
			const struct optreg_config *b)
{
	json_t *oa = shared_order(a, b), *ob = shared_order(b, a);

	if (!json_equal(oa, ob)) {
		struct optreg_buf t = OPTREG_BUF_INIT;

		optreg_buf_adds(&t, "param groups reordered: ");
		optreg_jcs_serialize(oa, &t, NULL);
		optreg_buf_adds(&t, " -> ");
		optreg_jcs_serialize(ob, &t, NULL);
		optreg_buf_adds(&t, "; a parameter takes the first group "
				    "whose pattern matches it");
		config_diff_add(d, OPTREG_CHANGE_CHANGED, "spec.param_groups",
				oa, ob, &t);
	} else {
		json_decref(oa);
		json_decref(ob);
	}
	for (size_t i = 0; i < a->ngroups; i++) {
		size_t k = occurrence(a, i);
		long j = find_group(b, a->groups[i].match, k);

		if (j < 0)
			diff_group_alone(d, a, i, false);
		else
			diff_group_pair(d, a, b, i, (size_t)j, k);
	}
	for (size_t i = 0; i < b->ngroups; i++)
		if (find_group(a, b->groups[i].match, occurrence(b, i)) < 0)
			diff_group_alone(d, b, i, true);
}
