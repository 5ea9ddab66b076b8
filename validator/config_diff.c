/*
 * validator/config_diff.c: the semantic diff of two configs
 * (config_diff.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "config_diff.h"
#include "config_diff_int.h"
#include "doc.h"
#include "jcs.h"

/* Descriptions and labels are shown at most this long in a sentence. */
#define DIFF_TEXT_MAX 48

void optreg_config_diff_init(struct optreg_config_diff *d)
{
	memset(d, 0, sizeof(*d));
}

void optreg_config_diff_release(struct optreg_config_diff *d)
{
	for (size_t i = 0; i < d->len; i++) {
		free(d->items[i].path);
		free(d->items[i].text);
		json_decref(d->items[i].old_);
		json_decref(d->items[i].new_);
	}
	free(d->items);
	optreg_config_diff_init(d);
}

const char *optreg_config_change_kind_name(enum optreg_config_change_kind k)
{
	switch (k) {
	case OPTREG_CHANGE_ADDED:
		return "added";
	case OPTREG_CHANGE_REMOVED:
		return "removed";
	case OPTREG_CHANGE_CHANGED:
		break;
	}
	return "changed";
}

void optreg_config_diff_number(struct optreg_buf *out, double v, bool ratio)
{
	char tmp[32];

	if (ratio) {
		snprintf(tmp, sizeof(tmp), "%.2g", v);
		v = strtod(tmp, NULL);
	}
	if (optreg_jcs_number(v, out) < 0)
		optreg_buf_adds(out, "?");
}

void config_diff_add(struct optreg_config_diff *d,
		     enum optreg_config_change_kind kind, const char *path,
		     json_t *old_, json_t *new_, struct optreg_buf *text)
{
	struct optreg_config_change *c;

	OPTREG_ALLOC_GROW(d->items, d->len + 1, d->alloc);
	c = &d->items[d->len++];
	c->kind = kind;
	c->path = optreg_xstrdup(path);
	c->old_ = old_;
	c->new_ = new_;
	c->text = optreg_buf_detach(text, NULL);
}

void config_diff_num(struct optreg_buf *b, double v)
{
	optreg_config_diff_number(b, v, false);
}

void config_diff_ratio(struct optreg_buf *b, double old_, double new_)
{
	double r = new_ / old_, shown = r;
	char tmp[32];

	if (!(old_ > 0 && new_ > 0) || r == 1.0 || !isfinite(r))
		return;
	/* Two significant digits, or as many more as it takes not to read
	 * "x1" for a value that changed: 0.001 -> 0.00104 is x1.04. */
	for (int digits = 2; digits <= 17; digits++) {
		snprintf(tmp, sizeof(tmp), "%.*g", digits, r);
		shown = strtod(tmp, NULL);
		if (shown != 1.0)
			break;
	}
	optreg_buf_adds(b, " (x");
	if (optreg_jcs_number(shown, b) < 0)
		optreg_buf_adds(b, "?");
	optreg_buf_addch(b, ')');
}

/* `s` quoted as a JSON string, cut to DIFF_TEXT_MAX bytes of text (on a
 * character boundary) with "..." when longer. */
static void quoted(struct optreg_buf *b, const char *s)
{
	size_t n = strlen(s), cut = n;
	json_t *j;

	if (n > DIFF_TEXT_MAX) {
		cut = DIFF_TEXT_MAX;
		while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
			cut--;
	}
	j = json_stringn(s, cut);
	if (!j || optreg_jcs_serialize(j, b, NULL) < 0)
		optreg_buf_adds(b, "\"?\"");
	json_decref(j);
	if (cut < n)
		optreg_buf_adds(b, "...");
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : NULL;
}

static const char *optimizer_name(enum optreg_optimizer o)
{
	return o == OPTREG_ADAMW ? "adamw" : "adam";
}

/* What the schedule does after warmup, for the kind's sentence. */
static const char *schedule_meaning(enum optreg_schedule_kind k)
{
	switch (k) {
	case OPTREG_SCHEDULE_LINEAR:
		return "lr falls in a straight line to min_lr at total_steps";
	case OPTREG_SCHEDULE_COSINE:
		return "lr follows half a cosine down to min_lr at total_steps";
	case OPTREG_SCHEDULE_INVERSE_SQRT:
		return "lr decays as 1/sqrt(step) after warmup";
	case OPTREG_SCHEDULE_CONSTANT:
		break;
	}
	return "lr stays constant after warmup";
}

/* ---- Metadata ----------------------------------------------------------- */

static const char *label_of(const struct optreg_config *c, const char *key)
{
	for (size_t i = 0; i < c->nlabels; i++)
		if (!strcmp(c->labels[i].key, key))
			return c->labels[i].value;
	return NULL;
}

static void diff_label(struct optreg_config_diff *d, const char *key,
		       const char *va, const char *vb)
{
	struct optreg_buf path = OPTREG_BUF_INIT, t = OPTREG_BUF_INIT;

	optreg_buf_adds(&path, "metadata.labels");
	optreg_doc_path_key(&path, key);
	optreg_buf_adds(&t, "label ");
	quoted(&t, key);
	if (!va) {
		optreg_buf_adds(&t, " added: ");
		quoted(&t, vb);
		config_diff_add(d, OPTREG_CHANGE_ADDED, path.data, NULL,
				jstr(vb), &t);
	} else if (!vb) {
		optreg_buf_adds(&t, " removed (was ");
		quoted(&t, va);
		optreg_buf_addch(&t, ')');
		config_diff_add(d, OPTREG_CHANGE_REMOVED, path.data, jstr(va),
				NULL, &t);
	} else {
		optreg_buf_addch(&t, ' ');
		quoted(&t, va);
		optreg_buf_adds(&t, " -> ");
		quoted(&t, vb);
		config_diff_add(d, OPTREG_CHANGE_CHANGED, path.data, jstr(va),
				jstr(vb), &t);
	}
	optreg_buf_release(&path);
}

static void diff_string(struct optreg_config_diff *d, const char *path,
			const char *what, const char *va, const char *vb)
{
	struct optreg_buf t = OPTREG_BUF_INIT;
	enum optreg_config_change_kind k = OPTREG_CHANGE_CHANGED;

	if ((!va && !vb) || (va && vb && !strcmp(va, vb)))
		return;
	optreg_buf_addf(&t, "%s ", what);
	if (!va) {
		k = OPTREG_CHANGE_ADDED;
		quoted(&t, vb);
		optreg_buf_adds(&t, " added");
	} else if (!vb) {
		k = OPTREG_CHANGE_REMOVED;
		quoted(&t, va);
		optreg_buf_adds(&t, " removed");
	} else {
		quoted(&t, va);
		optreg_buf_adds(&t, " -> ");
		quoted(&t, vb);
	}
	config_diff_add(d, k, path, jstr(va), jstr(vb), &t);
}

static void diff_metadata(struct optreg_config_diff *d,
			  const struct optreg_config *a,
			  const struct optreg_config *b)
{
	diff_string(d, "metadata.namespace", "namespace", a->namespace_,
		    b->namespace_);
	diff_string(d, "metadata.name", "name", a->name, b->name);
	diff_string(d, "metadata.description", "description", a->description,
		    b->description);
	/* Labels in a's order, then the ones only b has, in b's order. */
	for (size_t i = 0; i < a->nlabels; i++) {
		const char *vb = label_of(b, a->labels[i].key);
		if (!vb || strcmp(vb, a->labels[i].value))
			diff_label(d, a->labels[i].key, a->labels[i].value, vb);
	}
	for (size_t i = 0; i < b->nlabels; i++)
		if (!label_of(a, b->labels[i].key))
			diff_label(d, b->labels[i].key, NULL,
				   b->labels[i].value);
}

/* ---- Hyperparameters ---------------------------------------------------- */

json_t *config_diff_betas_json(double b1, double b2)
{
	return json_pack("[f, f]", b1, b2);
}

void config_diff_betas_text(struct optreg_buf *t, double b1, double b2)
{
	optreg_buf_addch(t, '[');
	config_diff_num(t, b1);
	optreg_buf_adds(t, ", ");
	config_diff_num(t, b2);
	optreg_buf_addch(t, ']');
}

/* The number of steps a running average with decay `beta` spans, about
 * 1 / (1 - beta), for the betas' sentence. */
static void horizon(struct optreg_buf *t, double beta)
{
	optreg_buf_addch(t, '~');
	optreg_config_diff_number(t, 1.0 / (1.0 - beta), true);
}

void config_diff_betas_change(struct optreg_buf *t, double a1, double a2,
			      double b1, double b2)
{
	optreg_buf_adds(t, "betas ");
	config_diff_betas_text(t, a1, a2);
	optreg_buf_adds(t, " -> ");
	config_diff_betas_text(t, b1, b2);
	if (a1 != b1) {
		optreg_buf_adds(t, ": gradient average over ");
		horizon(t, a1);
		optreg_buf_adds(t, " -> ");
		horizon(t, b1);
		optreg_buf_adds(t, " steps");
	}
	if (a2 != b2) {
		optreg_buf_adds(t, a1 != b1 ? ", " : ": ");
		optreg_buf_adds(t, "squared-gradient average over ");
		horizon(t, a2);
		optreg_buf_adds(t, " -> ");
		horizon(t, b2);
		optreg_buf_adds(t, " steps");
	}
}

/* What weight decay `wd` does under optimizer `o`. */
static const char *decay_meaning(enum optreg_optimizer o)
{
	return o == OPTREG_ADAMW ? "decoupled (adamw: parameters shrink by "
				   "lr*wd each step)"
				 : "L2 (adam: wd*p added to the gradient)";
}

/* Whether any parameter of `c` has a weight decay above 0. */
static bool any_decay(const struct optreg_config *c)
{
	if (c->weight_decay > 0)
		return true;
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i].has_weight_decay &&
		    c->groups[i].weight_decay > 0)
			return true;
	return false;
}

static void diff_optimizer(struct optreg_config_diff *d,
			   const struct optreg_config *a,
			   const struct optreg_config *b)
{
	struct optreg_buf t = OPTREG_BUF_INIT;

	if (a->optimizer == b->optimizer)
		return;
	if (!any_decay(a) && !any_decay(b)) {
		/* Adam and AdamW differ only in how weight decay acts. */
		optreg_buf_addf(&t,
				"optimizer %s -> %s: the same updates, as no "
				"weight decay is set",
				optimizer_name(a->optimizer),
				optimizer_name(b->optimizer));
		config_diff_add(d, OPTREG_CHANGE_CHANGED, "spec.optimizer",
				json_string(optimizer_name(a->optimizer)),
				json_string(optimizer_name(b->optimizer)), &t);
		return;
	}
	optreg_buf_addf(&t, "optimizer %s -> %s: weight decay becomes %s",
			optimizer_name(a->optimizer),
			optimizer_name(b->optimizer),
			b->optimizer == OPTREG_ADAMW
				? "decoupled (parameters shrink by lr*wd each "
				  "step)"
				: "L2 regularisation (wd*p added to the "
				  "gradient)");
	config_diff_add(d, OPTREG_CHANGE_CHANGED, "spec.optimizer",
			json_string(optimizer_name(a->optimizer)),
			json_string(optimizer_name(b->optimizer)), &t);
}

/* A multiplicative number (lr, eps) that both sides have. */
static void diff_scale(struct optreg_config_diff *d, const char *path,
		       const char *prefix, const char *what, double va,
		       double vb)
{
	struct optreg_buf t = OPTREG_BUF_INIT;

	if (va == vb)
		return;
	optreg_buf_addf(&t, "%s%s ", prefix, what);
	config_diff_num(&t, va);
	optreg_buf_adds(&t, " -> ");
	config_diff_num(&t, vb);
	config_diff_ratio(&t, va, vb);
	config_diff_add(d, OPTREG_CHANGE_CHANGED, path, json_real(va),
			json_real(vb), &t);
}

void config_diff_decay_change(struct optreg_buf *t, double va, double vb,
			      enum optreg_optimizer o)
{
	optreg_buf_adds(t, "weight_decay ");
	config_diff_num(t, va);
	optreg_buf_adds(t, " -> ");
	config_diff_num(t, vb);
	config_diff_ratio(t, va, vb);
	if (vb == 0)
		optreg_buf_adds(t, ": weight decay turned off");
	else if (va == 0)
		optreg_buf_addf(t, ": weight decay turned on, %s",
				decay_meaning(o));
	else
		optreg_buf_addf(t, ", %s", decay_meaning(o));
}

/* A boolean setting `name` (spec.NAME) that changed: "NAME A -> B: " and
 * what the new value does (`on` when true, else `off`). */
static void diff_flag(struct optreg_config_diff *d, const char *name,
		      const char *path, bool a, bool b, const char *on,
		      const char *off)
{
	struct optreg_buf t = OPTREG_BUF_INIT;

	if (a == b)
		return;
	optreg_buf_addf(&t, "%s %s -> %s: %s", name, a ? "true" : "false",
			b ? "true" : "false", b ? on : off);
	config_diff_add(d, OPTREG_CHANGE_CHANGED, path, json_boolean(a),
			json_boolean(b), &t);
}

static void diff_flags(struct optreg_config_diff *d,
		       const struct optreg_config *a,
		       const struct optreg_config *b)
{
	diff_flag(d, "amsgrad", "spec.amsgrad", a->amsgrad, b->amsgrad,
		  "the denominator uses the running maximum of the second "
		  "moment",
		  "the denominator uses the second moment itself");
	diff_flag(d, "maximize", "spec.maximize", a->maximize, b->maximize,
		  "the optimizer ascends (the gradient's sign is flipped)",
		  "the optimizer descends");
}

static void diff_clip(struct optreg_config_diff *d,
		      const struct optreg_config *a,
		      const struct optreg_config *b)
{
	struct optreg_buf t = OPTREG_BUF_INIT;
	const char *path = "spec.grad_clip_norm";

	if (a->has_grad_clip && b->has_grad_clip) {
		if (a->grad_clip_norm == b->grad_clip_norm)
			return;
		optreg_buf_adds(&t, "grad_clip_norm ");
		config_diff_num(&t, a->grad_clip_norm);
		optreg_buf_adds(&t, " -> ");
		config_diff_num(&t, b->grad_clip_norm);
		config_diff_ratio(&t, a->grad_clip_norm, b->grad_clip_norm);
		config_diff_add(d, OPTREG_CHANGE_CHANGED, path,
				json_real(a->grad_clip_norm),
				json_real(b->grad_clip_norm), &t);
	} else if (b->has_grad_clip) {
		optreg_buf_adds(&t, "grad_clip_norm ");
		config_diff_num(&t, b->grad_clip_norm);
		optreg_buf_adds(&t, " added: gradients are clipped to a total "
				    "L2 norm of ");
		config_diff_num(&t, b->grad_clip_norm);
		config_diff_add(d, OPTREG_CHANGE_ADDED, path, NULL,
				json_real(b->grad_clip_norm), &t);
	} else if (a->has_grad_clip) {
		optreg_buf_adds(&t, "grad_clip_norm ");
		config_diff_num(&t, a->grad_clip_norm);
		optreg_buf_adds(&t, " removed: gradients are not clipped");
		config_diff_add(d, OPTREG_CHANGE_REMOVED, path,
				json_real(a->grad_clip_norm), NULL, &t);
	}
}

/* ---- Schedule ----------------------------------------------------------- */

static void diff_schedule(struct optreg_config_diff *d,
			  const struct optreg_schedule *a,
			  const struct optreg_schedule *b)
{
	struct optreg_buf t = OPTREG_BUF_INIT;
	enum optreg_config_change_kind k;
	const char *path;

	if (a->kind != b->kind) {
		optreg_buf_addf(&t, "schedule %s -> %s: %s",
				optreg_schedule_kind_name(a->kind),
				optreg_schedule_kind_name(b->kind),
				schedule_meaning(b->kind));
		config_diff_add(d, OPTREG_CHANGE_CHANGED, "spec.schedule.kind",
				json_string(optreg_schedule_kind_name(a->kind)),
				json_string(optreg_schedule_kind_name(b->kind)),
				&t);
	}
	if (a->warmup_steps != b->warmup_steps) {
		k = !b->warmup_steps   ? OPTREG_CHANGE_REMOVED
		    : !a->warmup_steps ? OPTREG_CHANGE_ADDED
				       : OPTREG_CHANGE_CHANGED;
		optreg_buf_addf(&t, "warmup %ld -> %ld steps%s",
				a->warmup_steps, b->warmup_steps,
				k == OPTREG_CHANGE_REMOVED ? ": removed"
				: k == OPTREG_CHANGE_ADDED ? ": added"
							   : "");
		config_diff_add(d, k, "spec.schedule.warmup_steps",
				json_integer(a->warmup_steps),
				json_integer(b->warmup_steps), &t);
	}
	if (a->total_steps != b->total_steps) {
		path = "spec.schedule.total_steps";
		if (!a->total_steps) {
			optreg_buf_addf(&t,
					"total_steps %ld added: the schedule "
					"ends at step %ld",
					b->total_steps, b->total_steps);
			config_diff_add(d, OPTREG_CHANGE_ADDED, path, NULL,
					json_integer(b->total_steps), &t);
		} else if (!b->total_steps) {
			optreg_buf_addf(&t,
					"total_steps %ld removed: the schedule "
					"has no end",
					a->total_steps);
			config_diff_add(d, OPTREG_CHANGE_REMOVED, path,
					json_integer(a->total_steps), NULL, &t);
		} else {
			optreg_buf_addf(&t,
					"total_steps %ld -> %ld: the schedule "
					"ends %s",
					a->total_steps, b->total_steps,
					b->total_steps > a->total_steps
						? "later"
						: "sooner");
			config_diff_add(d, OPTREG_CHANGE_CHANGED, path,
					json_integer(a->total_steps),
					json_integer(b->total_steps), &t);
		}
	}
	if (a->min_lr != b->min_lr) {
		optreg_buf_adds(&t, "min_lr ");
		config_diff_num(&t, a->min_lr);
		optreg_buf_adds(&t, " -> ");
		config_diff_num(&t, b->min_lr);
		config_diff_ratio(&t, a->min_lr, b->min_lr);
		if (b->kind != OPTREG_SCHEDULE_LINEAR &&
		    b->kind != OPTREG_SCHEDULE_COSINE)
			optreg_buf_addf(&t, " (unused by %s)",
					optreg_schedule_kind_name(b->kind));
		config_diff_add(d, OPTREG_CHANGE_CHANGED,
				"spec.schedule.min_lr", json_real(a->min_lr),
				json_real(b->min_lr), &t);
	}
}

/* ---- The whole diff ----------------------------------------------------- */

void optreg_config_diff_compute(struct optreg_config_diff *d,
				const struct optreg_config *a,
				const struct optreg_config *b)
{
	struct optreg_buf t = OPTREG_BUF_INIT;

	diff_metadata(d, a, b);
	diff_optimizer(d, a, b);
	diff_scale(d, "spec.lr", "", "lr", a->lr, b->lr);
	if (a->beta1 != b->beta1 || a->beta2 != b->beta2) {
		config_diff_betas_change(&t, a->beta1, a->beta2, b->beta1,
					 b->beta2);
		config_diff_add(d, OPTREG_CHANGE_CHANGED, "spec.betas",
				config_diff_betas_json(a->beta1, a->beta2),
				config_diff_betas_json(b->beta1, b->beta2), &t);
	}
	diff_scale(d, "spec.eps", "", "eps", a->eps, b->eps);
	if (a->weight_decay != b->weight_decay) {
		config_diff_decay_change(&t, a->weight_decay, b->weight_decay,
					 b->optimizer);
		config_diff_add(d, OPTREG_CHANGE_CHANGED, "spec.weight_decay",
				json_real(a->weight_decay),
				json_real(b->weight_decay), &t);
	}
	diff_flags(d, a, b);
	diff_clip(d, a, b);
	diff_schedule(d, &a->schedule, &b->schedule);
	config_diff_groups(d, a, b);
}

json_t *optreg_config_diff_json(const struct optreg_config_diff *d)
{
	json_t *list = json_array();

	for (size_t i = 0; i < d->len; i++) {
		const struct optreg_config_change *c = &d->items[i];

		json_array_append_new(
			list, json_pack("{s:s, s:s, s:O?, s:O?, s:s}", "path",
					c->path, "kind",
					optreg_config_change_kind_name(c->kind),
					"old", c->old_, "new", c->new_, "text",
					c->text));
	}
	return list;
}
