/*
 * cli/format.c: `optreg fetch --format torch|env|configmap`
 * (cli/format.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../validator/config.h"
#include "../validator/jcs.h"
#include "format.h"

/* Loads the model of canonical bytes; 0 or -1 with why. */
static int load(const struct optreg_buf *canon,
		struct optreg_checked_config *cc, struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = optreg_config_load_checked(cc, NULL, canon->data, canon->len,
					    OPTREG_CONFIG_JSON, &errs);

	if (rc < 0)
		optreg_buf_addf(why, "the config is not a valid config: %s",
				errs.len ? errs.items[0].message : "?");
	optreg_errors_release(&errs);
	return rc < 0 ? -1 : 0;
}

/* The schedule as a formula a person can check against docs/config.md. */
static const char *formula(enum optreg_schedule_kind k)
{
	switch (k) {
	case OPTREG_SCHEDULE_CONSTANT:
		return "step t from 1; if T and t > T: t = T; if t <= W: lr_t "
		       "= lr * t / W; else lr_t = lr";
	case OPTREG_SCHEDULE_LINEAR:
		return "step t from 1; if T and t > T: t = T; if t <= W: lr_t "
		       "= lr * t / W; else p = (t - W) / (T - W) if T > W "
		       "else 1, lr_t = lr + (min_lr - lr) * p";
	case OPTREG_SCHEDULE_COSINE:
		return "step t from 1; if T and t > T: t = T; if t <= W: lr_t "
		       "= lr * t / W; else p = (t - W) / (T - W) if T > W "
		       "else 1, lr_t = min_lr + (lr - min_lr) * (1 + "
		       "cos(pi * p)) / 2";
	case OPTREG_SCHEDULE_INVERSE_SQRT:
		return "step t from 1; if T and t > T: t = T; if t <= W: lr_t "
		       "= lr * t / W; else lr_t = lr * sqrt(max(W, 1) / t)";
	}
	return "";
}

/* The shortest form of `v` that reads back to it (ECMAScript's). */
static void number(double v, struct optreg_buf *out)
{
	if (optreg_jcs_number(v, out) < 0)
		optreg_buf_adds(out, "null");
}

static json_t *betas(double b1, double b2)
{
	return json_pack("[f, f]", b1, b2);
}

/* The param groups as torch names: [{"match", and the overrides}]. */
static json_t *param_groups(const struct optreg_config *c)
{
	json_t *groups = json_array();

	for (size_t i = 0; i < c->ngroups; i++) {
		const struct optreg_param_group *g = &c->groups[i];
		json_t *e = json_pack("{s:s}", "match", g->match);

		if (g->has_lr)
			json_object_set_new(e, "lr", json_real(g->lr));
		if (g->has_betas)
			json_object_set_new(e, "betas",
					    betas(g->beta1, g->beta2));
		if (g->has_eps)
			json_object_set_new(e, "eps", json_real(g->eps));
		if (g->has_weight_decay)
			json_object_set_new(e, "weight_decay",
					    json_real(g->weight_decay));
		json_array_append_new(groups, e);
	}
	return groups;
}

int cli_format_torch(const struct optreg_buf *canon,
		     const struct cli_format_meta *m, struct optreg_buf *out,
		     struct optreg_buf *why)
{
	struct optreg_checked_config cc;
	const struct optreg_config *c = &cc.cfg;
	json_t *o, *groups, *sched;
	int rc = -1;

	optreg_checked_config_init(&cc);
	if (load(canon, &cc, why) < 0)
		goto out;
	groups = param_groups(c);
	sched = json_pack(
		"{s:s, s:I, s:o, s:f, s:s}", "kind",
		optreg_schedule_kind_name(c->schedule.kind), "warmup_steps",
		(json_int_t)c->schedule.warmup_steps, "total_steps",
		c->schedule.total_steps
			? json_integer((json_int_t)c->schedule.total_steps)
			: json_null(),
		"min_lr", c->schedule.min_lr, "formula",
		formula(c->schedule.kind));
	o = json_pack(
		"{s:s, s:{s:f, s:o, s:f, s:f, s:b, s:b}, s:o, s:o, s:o, "
		"s:s, s:s?}",
		"optimizer", c->optimizer == OPTREG_ADAMW ? "AdamW" : "Adam",
		"kwargs", "lr", c->lr, "betas", betas(c->beta1, c->beta2),
		"eps", c->eps, "weight_decay", c->weight_decay, "amsgrad",
		c->amsgrad, "maximize", c->maximize, "param_groups", groups,
		"grad_clip_norm",
		c->has_grad_clip ? json_real(c->grad_clip_norm) : json_null(),
		"schedule", sched, "digest", m->digest, "ref", m->ref);
	if (!o || optreg_jcs_serialize(o, out, NULL) < 0) {
		optreg_buf_adds(why, "cannot render the config for torch");
		json_decref(o);
		goto out;
	}
	optreg_buf_addch(out, '\n');
	json_decref(o);
	rc = 0;
out:
	optreg_checked_config_release(&cc);
	return rc;
}

void cli_format_shell_quote(const char *s, struct optreg_buf *out)
{
	optreg_buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			optreg_buf_adds(out, "'\\''");
		else
			optreg_buf_addch(out, *s);
	}
	optreg_buf_addch(out, '\'');
}

/* NAME='value'\n */
static void env_line(struct optreg_buf *out, const char *name,
		     const char *value)
{
	optreg_buf_addf(out, "OPTREG_%s=", name);
	cli_format_shell_quote(value, out);
	optreg_buf_addch(out, '\n');
}

static void env_number(struct optreg_buf *out, const char *name, double v)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	number(v, &b);
	env_line(out, name, b.data);
	optreg_buf_release(&b);
}

/* A JSON value as one compact line for a variable (canonical form). */
static void env_json(struct optreg_buf *out, const char *name, json_t *v)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	if (optreg_jcs_serialize(v, &b, NULL) < 0)
		optreg_buf_adds(&b, "null");
	env_line(out, name, b.data);
	optreg_buf_release(&b);
	json_decref(v);
}

int cli_format_env(const struct optreg_buf *canon,
		   const struct cli_format_meta *m, struct optreg_buf *out,
		   struct optreg_buf *why)
{
	struct optreg_checked_config cc;
	const struct optreg_config *c = &cc.cfg;
	struct optreg_buf b = OPTREG_BUF_INIT;
	json_t *labels, *groups;

	optreg_checked_config_init(&cc);
	if (load(canon, &cc, why) < 0) {
		optreg_checked_config_release(&cc);
		return -1;
	}
	env_line(out, "REF", m->ref);
	env_line(out, "NAMESPACE", c->namespace_);
	env_line(out, "NAME", c->name);
	if (m->version > 0) {
		optreg_buf_addf(&b, "%ld", m->version);
		env_line(out, "VERSION", b.data);
	}
	env_line(out, "DIGEST", m->digest);
	env_line(out, "OPTIMIZER",
		 c->optimizer == OPTREG_ADAMW ? "adamw" : "adam");
	env_number(out, "LR", c->lr);
	env_number(out, "BETA1", c->beta1);
	env_number(out, "BETA2", c->beta2);
	env_number(out, "EPS", c->eps);
	env_number(out, "WEIGHT_DECAY", c->weight_decay);
	env_line(out, "AMSGRAD", c->amsgrad ? "true" : "false");
	env_line(out, "MAXIMIZE", c->maximize ? "true" : "false");
	if (c->has_grad_clip)
		env_number(out, "GRAD_CLIP_NORM", c->grad_clip_norm);
	else
		env_line(out, "GRAD_CLIP_NORM", "");
	env_line(out, "SCHEDULE", optreg_schedule_kind_name(c->schedule.kind));
	optreg_buf_reset(&b);
	optreg_buf_addf(&b, "%ld", c->schedule.warmup_steps);
	env_line(out, "WARMUP_STEPS", b.data);
	optreg_buf_reset(&b);
	if (c->schedule.total_steps)
		optreg_buf_addf(&b, "%ld", c->schedule.total_steps);
	env_line(out, "TOTAL_STEPS", b.data);
	env_number(out, "MIN_LR", c->schedule.min_lr);
	groups = param_groups(c);
	env_json(out, "PARAM_GROUPS", groups);
	env_line(out, "DESCRIPTION", c->description ? c->description : "");
	labels = json_object();
	for (size_t i = 0; i < c->nlabels; i++)
		json_object_set_new(labels, c->labels[i].key,
				    json_string(c->labels[i].value));
	env_json(out, "LABELS", labels);
	optreg_buf_reset(&b);
	optreg_buf_add(&b, canon->data, canon->len);
	env_line(out, "CONFIG_JSON", b.data);
	optreg_buf_release(&b);
	optreg_checked_config_release(&cc);
	return 0;
}

/* Decodes one UTF-8 sequence at s (valid UTF-8 assumed, else the byte);
 * returns its length. */
static size_t utf8_next(const unsigned char *s, unsigned long *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
		*cp = ((unsigned long)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80) {
		*cp = ((unsigned long)(s[0] & 0x0f) << 12) |
		      ((unsigned long)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return 3;
	}
	if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80) {
		*cp = ((unsigned long)(s[0] & 0x07) << 18) |
		      ((unsigned long)(s[1] & 0x3f) << 12) |
		      ((unsigned long)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return 4;
	}
	*cp = s[0];
	return 1;
}

void cli_format_yaml_string(const char *s, struct optreg_buf *out)
{
	const unsigned char *p = (const unsigned char *)s;

	optreg_buf_addch(out, '"');
	while (*p) {
		unsigned long cp;
		size_t n = utf8_next(p, &cp);

		if (cp == '"' || cp == '\\')
			optreg_buf_addf(out, "\\%c", (char)cp);
		else if (cp >= 0x20 && cp < 0x7f)
			optreg_buf_addch(out, (char)cp);
		else if (cp < 0x100)
			optreg_buf_addf(out, "\\x%02lx", cp);
		else if (cp < 0x10000)
			optreg_buf_addf(out, "\\u%04lx", cp);
		else
			optreg_buf_addf(out, "\\U%08lx", cp);
		p += n;
	}
	optreg_buf_addch(out, '"');
}

/* A DNS-1123 name for the ConfigMap: optreg-NS-NAME, '_' and '.' as '-'. */
static void configmap_name(const char *ns, const char *name,
			   struct optreg_buf *out)
{
	size_t start = out->len;

	optreg_buf_addf(out, "optreg-%s-%s", ns, name);
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] == '_' || out->data[i] == '.')
			out->data[i] = '-';
	if (out->len - start > 253) {
		out->len = start + 253;
		out->data[out->len] = '\0';
	}
	while (out->len > start && out->data[out->len - 1] == '-')
		out->data[--out->len] = '\0';
}

int cli_format_configmap(const struct optreg_buf *canon,
			 const struct cli_format_meta *m,
			 struct optreg_buf *out, struct optreg_buf *why)
{
	struct optreg_checked_config cc;
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_checked_config_init(&cc);
	if (load(canon, &cc, why) < 0) {
		optreg_checked_config_release(&cc);
		return -1;
	}
	optreg_buf_adds(out, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
			     "  name: ");
	configmap_name(cc.cfg.namespace_, cc.cfg.name, &b);
	cli_format_yaml_string(b.data, out);
	optreg_buf_adds(out, "\n  labels:\n"
			     "    app.kubernetes.io/managed-by: \"optreg\"\n"
			     "  annotations:\n    optreg.dev/ref: ");
	cli_format_yaml_string(m->ref, out);
	optreg_buf_adds(out, "\n    optreg.dev/digest: ");
	cli_format_yaml_string(m->digest, out);
	if (m->version > 0)
		optreg_buf_addf(out, "\n    optreg.dev/version: \"%ld\"",
				m->version);
	if (m->receipt && !json_is_null(m->receipt)) {
		char *text = json_dumps(m->receipt,
					JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text) {
			optreg_buf_adds(out, "\n    optreg.dev/receipt: ");
			cli_format_yaml_string(text, out);
		}
		free(text);
	}
	optreg_buf_adds(out, "\ndata:\n  optimizer.json: ");
	optreg_buf_reset(&b);
	optreg_buf_add(&b, canon->data, canon->len);
	cli_format_yaml_string(b.data, out);
	optreg_buf_addch(out, '\n');
	optreg_buf_release(&b);
	optreg_checked_config_release(&cc);
	return 0;
}
