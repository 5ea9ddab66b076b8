/*
 * validator/config.c: schema and semantic checks of OptimizerConfig v1.
 *
 * The schema layer mirrors schema/optimizer-config.v1.json rule for rule; the
 * rule ids are the JSON Schema keywords in snake_case, so an error can be
 * traced to the keyword that states it. Checks never stop at the first
 * error: each field is checked on its own and the walk goes on.
 */
#include "config.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "jcs.h"
#include "names.h"
#include "regex_check.h"

#define MAX_STEPS	1000000000.0
#define MAX_LABELS	32
#define MAX_DESCRIPTION 1024
#define MAX_GROUPS	64
#define MAX_MATCH	256

struct ctx {
	const struct optreg_doc *doc;
	struct optreg_errors *errs;
	size_t nerrs_at_start;
};

/* Positions an error at its path, or at the nearest ancestor with a
 * recorded position (a missing field is reported where its parent is). */
static void locate(const struct ctx *c, struct optreg_error *e)
{
	const struct optreg_doc_loc *loc = optreg_doc_locate(c->doc, e->path);

	if (loc) {
		e->line = loc->line;
		e->col = loc->col;
	}
}

static struct optreg_error *fail(const struct ctx *c, const char *rule,
				 const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static struct optreg_error *fail(const struct ctx *c, const char *rule,
				 const char *path, const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	struct optreg_error *e;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	e = optreg_errors_add(c->errs, OPTREG_EINVAL, rule, path, "%s",
			      msg.data);
	optreg_buf_release(&msg);
	locate(c, e);
	return e;
}

/* Appends a short rendering of a value for "(got ...)": numbers in their
 * canonical form, strings quoted and cut at 64 bytes, others by type. */
static void describe(struct optreg_buf *out, const json_t *v)
{
	if (json_is_number(v)) {
		if (optreg_jcs_number(json_number_value(v), out) < 0)
			optreg_buf_adds(out, "non-finite number");
		return;
	}
	if (json_is_string(v)) {
		optreg_name_quote(out, json_string_value(v));
		return;
	}
	if (json_is_boolean(v)) {
		optreg_buf_adds(out, json_is_true(v) ? "true" : "false");
		return;
	}
	optreg_buf_adds(out, optreg_json_type_name(v));
}

static void type_error(const struct ctx *c, const char *path, const char *want,
		       const json_t *v)
{
	struct optreg_buf got = OPTREG_BUF_INIT;

	if (json_is_string(v) || json_is_boolean(v)) {
		optreg_buf_addf(&got, "%s ", optreg_json_type_name(v));
		describe(&got, v);
	} else if (json_is_number(v)) {
		describe(&got, v);
	} else {
		optreg_buf_adds(&got, optreg_json_type_name(v));
	}
	struct optreg_error *e =
		fail(c, "type", path, "must be %s (got %s)", want, got.data);
	if (json_is_string(v) && !strcmp(want, "a number"))
		optreg_error_set_hint(e, "write the number without quotes");
	else if (json_is_string(v) && !strcmp(want, "a boolean"))
		optreg_error_set_hint(e, "write true or false (YAML's yes/no/"
					 "on/off are strings)");
	optreg_buf_release(&got);
}

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

/* Levenshtein distance, for "did you mean" hints on short field names. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/*
 * Checks that `v` is an object whose keys are all in `allowed` (NULL
 * terminated). Returns false (after reporting) when `v` is not an object.
 */
static bool check_object(const struct ctx *c, const json_t *v, const char *path,
			 const char *const *allowed)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v)) {
		type_error(c, path, "an object", v);
		return false;
	}
	json_object_foreach((json_t *)v, key, val)
	{
		const char *best = NULL;
		size_t best_d = 3;
		bool known = false;

		for (const char *const *a = allowed; *a; a++) {
			if (!strcmp(key, *a)) {
				known = true;
				break;
			}
			size_t d = edit_distance(key, *a);
			if (d < best_d) {
				best_d = d;
				best = *a;
			}
		}
		if (known)
			continue;

		char *p = child(path, key);
		struct optreg_error *e =
			fail(c, "additional_properties", p, "unknown field");
		struct optreg_buf list = OPTREG_BUF_INIT;
		for (const char *const *a = allowed; *a; a++)
			optreg_buf_addf(&list, "%s%s", a == allowed ? "" : ", ",
					*a);
		if (best)
			optreg_error_set_hint(e,
					      "did you mean \"%s\"? allowed "
					      "fields: %s",
					      best, list.data);
		else
			optreg_error_set_hint(
				e, "remove it; allowed fields: %s", list.data);
		optreg_buf_release(&list);
		free(p);
	}
	return true;
}

/* Returns the member `key` of object `obj`, reporting `required` when it is
 * missing and `required` is set. */
static const json_t *member(const struct ctx *c, const json_t *obj,
			    const char *path, const char *key, bool required)
{
	const json_t *v = json_object_get(obj, key);

	if (!v && required) {
		char *p = child(path, key);
		struct optreg_error *e = fail(c, "required", p, "is required");
		optreg_error_set_hint(e, "add \"%s\" to %s", key,
				      path[0] ? path : "the document");
		free(p);
	}
	return v;
}

enum bound {
	NONE,
	INCLUSIVE,
	EXCLUSIVE,
};

/* Checks a number against optional lower and upper bounds; `integer`
 * additionally requires no fractional part. Returns true when valid. */
static bool check_number(const struct ctx *c, const json_t *v, const char *path,
			 bool integer, enum bound lo_kind, double lo,
			 enum bound hi_kind, double hi)
{
	struct optreg_buf got = OPTREG_BUF_INIT;
	bool ok = true;

	if (!json_is_number(v)) {
		type_error(c, path, integer ? "an integer" : "a number", v);
		return false;
	}
	double x = json_number_value(v);
	describe(&got, v);
	if (integer && x != floor(x)) {
		fail(c, "type", path, "must be an integer (got %s)", got.data);
		ok = false;
	}
	struct optreg_buf b = OPTREG_BUF_INIT;
	if (lo_kind == INCLUSIVE && !(x >= lo)) {
		optreg_jcs_number(lo, &b);
		fail(c, "minimum", path, "must be at least %s (got %s)", b.data,
		     got.data);
		ok = false;
	} else if (lo_kind == EXCLUSIVE && !(x > lo)) {
		optreg_jcs_number(lo, &b);
		fail(c, "exclusive_minimum", path,
		     "must be greater than %s (got %s)", b.data, got.data);
		ok = false;
	}
	optreg_buf_reset(&b);
	if (hi_kind == INCLUSIVE && !(x <= hi)) {
		optreg_jcs_number(hi, &b);
		fail(c, "maximum", path, "must be at most %s (got %s)", b.data,
		     got.data);
		ok = false;
	} else if (hi_kind == EXCLUSIVE && !(x < hi)) {
		optreg_jcs_number(hi, &b);
		fail(c, "exclusive_maximum", path,
		     "must be less than %s (got %s)", b.data, got.data);
		ok = false;
	}
	optreg_buf_release(&b);
	optreg_buf_release(&got);
	return ok;
}

static bool check_bool(const struct ctx *c, const json_t *v, const char *path)
{
	if (json_is_boolean(v))
		return true;
	type_error(c, path, "a boolean", v);
	return false;
}

/* A name rule of validator/names.h. */
typedef int (*name_check_fn)(const char *s, const char *path,
			     struct optreg_errors *errs);

static bool check_name(const struct ctx *c, const json_t *v, const char *path,
		       name_check_fn check)
{
	if (!json_is_string(v)) {
		type_error(c, path, "a string", v);
		return false;
	}
	if (check(json_string_value(v), path, c->errs) == 0)
		return true;
	locate(c, &c->errs->items[c->errs->len - 1]);
	return false;
}

static bool check_const(const struct ctx *c, const json_t *v, const char *path,
			const char *want)
{
	if (!json_is_string(v)) {
		type_error(c, path, "a string", v);
		return false;
	}
	if (!strcmp(json_string_value(v), want))
		return true;

	struct optreg_buf got = OPTREG_BUF_INIT;
	describe(&got, v);
	fail(c, "const", path, "must be \"%s\" (got %s)", want, got.data);
	optreg_buf_release(&got);
	return false;
}

/* Returns the index of the string in `names`, or -1 after reporting. */
static int check_enum(const struct ctx *c, const json_t *v, const char *path,
		      const char *const *names)
{
	if (!json_is_string(v)) {
		type_error(c, path, "a string", v);
		return -1;
	}
	for (int i = 0; names[i]; i++)
		if (!strcmp(json_string_value(v), names[i]))
			return i;

	struct optreg_buf got = OPTREG_BUF_INIT, list = OPTREG_BUF_INIT;
	describe(&got, v);
	for (int i = 0; names[i]; i++)
		optreg_buf_addf(&list, "%s%s", i ? ", " : "", names[i]);
	fail(c, "enum", path, "must be one of %s (got %s)", list.data,
	     got.data);
	optreg_buf_release(&got);
	optreg_buf_release(&list);
	return -1;
}

static size_t utf8_code_points(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* betas: exactly two numbers in [0, 1). Fills b1/b2 when given. */
static void check_betas(const struct ctx *c, const json_t *v, const char *path,
			double *b1, double *b2)
{
	if (!json_is_array(v)) {
		type_error(c, path, "an array", v);
		return;
	}
	size_t n = json_array_size(v);
	if (n < 2)
		fail(c, "min_items", path,
		     "must have exactly 2 items, beta1 and beta2 (got %zu)", n);
	else if (n > 2)
		fail(c, "max_items", path,
		     "must have exactly 2 items, beta1 and beta2 (got %zu)", n);
	for (size_t i = 0; i < n; i++) {
		char *p = item(path, i);
		const json_t *b = json_array_get(v, i);
		if (check_number(c, b, p, false, INCLUSIVE, 0, EXCLUSIVE, 1)) {
			if (i == 0 && b1)
				*b1 = json_number_value(b);
			if (i == 1 && b2)
				*b2 = json_number_value(b);
		}
		free(p);
	}
}

/* Checks an optional positive (or non-negative) number field and stores it. */
static bool opt_number(const struct ctx *c, const json_t *obj, const char *path,
		       const char *key, bool required, enum bound lo_kind,
		       double *out)
{
	const json_t *v = member(c, obj, path, key, required);
	bool ok = false;

	if (!v)
		return false;
	char *p = child(path, key);
	if (check_number(c, v, p, false, lo_kind, 0, NONE, 0)) {
		*out = json_number_value(v);
		ok = true;
	}
	free(p);
	return ok;
}

static void check_metadata(const struct ctx *c, const json_t *md,
			   struct optreg_config *cfg)
{
	static const char *const fields[] = {"namespace", "name", "labels",
					     "description", NULL};
	const char *path = "metadata";
	const json_t *v;

	if (!check_object(c, md, path, fields))
		return;
	if ((v = member(c, md, path, "namespace", true)) &&
	    check_name(c, v, "metadata.namespace", optreg_name_check_namespace))
		cfg->namespace_ = optreg_xstrdup(json_string_value(v));
	if ((v = member(c, md, path, "name", true)) &&
	    check_name(c, v, "metadata.name", optreg_name_check_config))
		cfg->name = optreg_xstrdup(json_string_value(v));

	if ((v = member(c, md, path, "description", false))) {
		if (!json_is_string(v)) {
			type_error(c, "metadata.description", "a string", v);
		} else {
			size_t n = utf8_code_points(json_string_value(v));
			if (n > MAX_DESCRIPTION)
				fail(c, "max_length", "metadata.description",
				     "must be at most %d characters (got %zu)",
				     MAX_DESCRIPTION, n);
			else
				cfg->description =
					optreg_xstrdup(json_string_value(v));
		}
	}

	if ((v = member(c, md, path, "labels", false))) {
		if (!json_is_object(v)) {
			type_error(c, "metadata.labels", "an object", v);
			return;
		}
		size_t n = json_object_size(v);
		if (n > MAX_LABELS)
			fail(c, "max_properties", "metadata.labels",
			     "must have at most %d labels (got %zu)",
			     MAX_LABELS, n);
		cfg->labels = optreg_xcalloc(n, sizeof(*cfg->labels));
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val)
		{
			char *p = child("metadata.labels", key);
			/* The key's own pattern error is reported on the
			 * label's path, with the key as the value shown. */
			json_t *ks = json_string(key);
			bool ok = check_name(c, ks, p,
					     optreg_name_check_label_key);
			json_decref(ks);
			if (check_name(c, val, p,
				       optreg_name_check_label_value) &&
			    ok) {
				struct optreg_label *l =
					&cfg->labels[cfg->nlabels++];
				l->key = optreg_xstrdup(key);
				l->value =
					optreg_xstrdup(json_string_value(val));
			}
			free(p);
		}
	}
}

static void check_schedule(const struct ctx *c, const json_t *s,
			   struct optreg_schedule *out, bool *has_total)
{
	static const char *const fields[] = {"kind", "warmup_steps",
					     "total_steps", "min_lr", NULL};
	static const char *const kinds[] = {"constant", "linear", "cosine",
					    "inverse_sqrt", NULL};
	const char *path = "spec.schedule";
	const json_t *v;
	int kind = -1;

	if (!check_object(c, s, path, fields))
		return;
	if ((v = member(c, s, path, "kind", true)) &&
	    (kind = check_enum(c, v, "spec.schedule.kind", kinds)) >= 0)
		out->kind = (enum optreg_schedule_kind)kind;
	if ((v = member(c, s, path, "warmup_steps", false)) &&
	    check_number(c, v, "spec.schedule.warmup_steps", true, INCLUSIVE, 0,
			 INCLUSIVE, MAX_STEPS))
		out->warmup_steps = (long)json_number_value(v);
	/* total_steps is what linear and cosine decay towards. */
	bool need_total = kind == OPTREG_SCHEDULE_LINEAR ||
			  kind == OPTREG_SCHEDULE_COSINE;
	if ((v = member(c, s, path, "total_steps", need_total))) {
		if (check_number(c, v, "spec.schedule.total_steps", true,
				 INCLUSIVE, 1, INCLUSIVE, MAX_STEPS)) {
			out->total_steps = (long)json_number_value(v);
			*has_total = true;
		}
	} else if (need_total) {
		/* member() reported it; say why it is needed. */
		struct optreg_error *e = &c->errs->items[c->errs->len - 1];
		optreg_error_set_hint(e,
				      "a %s schedule decays over total_steps; "
				      "add the number of optimizer steps",
				      kinds[kind]);
	}
	opt_number(c, s, path, "min_lr", false, INCLUSIVE, &out->min_lr);
}

static void check_group(const struct ctx *c, const json_t *g, const char *path,
			struct optreg_param_group *out)
{
	static const char *const fields[] = {"match", "lr",	      "betas",
					     "eps",   "weight_decay", NULL};
	const json_t *v;

	if (!check_object(c, g, path, fields))
		return;
	if ((v = member(c, g, path, "match", true))) {
		char *p = child(path, "match");
		if (!json_is_string(v)) {
			type_error(c, p, "a string", v);
		} else {
			size_t n = utf8_code_points(json_string_value(v));
			if (n < 1)
				fail(c, "min_length", p, "must not be empty");
			else if (n > MAX_MATCH)
				fail(c, "max_length", p,
				     "must be at most %d characters (got %zu)",
				     MAX_MATCH, n);
			else
				out->match =
					optreg_xstrdup(json_string_value(v));
		}
		free(p);
	}
	if (json_object_size(g) < 2) {
		struct optreg_error *e =
			fail(c, "min_properties", path,
			     "must override at least one setting");
		optreg_error_set_hint(e, "add lr, betas, eps or weight_decay, "
					 "or remove the group");
	}
	out->has_lr = opt_number(c, g, path, "lr", false, EXCLUSIVE, &out->lr);
	out->has_eps =
		opt_number(c, g, path, "eps", false, EXCLUSIVE, &out->eps);
	out->has_weight_decay = opt_number(c, g, path, "weight_decay", false,
					   INCLUSIVE, &out->weight_decay);
	if ((v = member(c, g, path, "betas", false))) {
		char *p = child(path, "betas");
		size_t before = c->errs->len;
		check_betas(c, v, p, &out->beta1, &out->beta2);
		out->has_betas = c->errs->len == before;
		free(p);
	}
}

static void check_spec(const struct ctx *c, const json_t *spec,
		       struct optreg_config *cfg, bool *has_total)
{
	static const char *const fields[] = {
		"optimizer",	"lr",		"betas",    "eps",
		"weight_decay", "amsgrad",	"maximize", "grad_clip_norm",
		"schedule",	"param_groups", NULL};
	static const char *const optimizers[] = {"adam", "adamw", NULL};
	const char *path = "spec";
	const json_t *v;

	if (!check_object(c, spec, path, fields))
		return;
	if ((v = member(c, spec, path, "optimizer", true))) {
		int k = check_enum(c, v, "spec.optimizer", optimizers);
		if (k >= 0)
			cfg->optimizer = (enum optreg_optimizer)k;
		else if (json_is_string(v))
			optreg_error_set_hint(
				&c->errs->items[c->errs->len - 1],
				"optreg registers Adam and AdamW configs; use "
				"adamw for decoupled weight decay");
	}
	opt_number(c, spec, path, "lr", true, EXCLUSIVE, &cfg->lr);
	if ((v = member(c, spec, path, "betas", true)))
		check_betas(c, v, "spec.betas", &cfg->beta1, &cfg->beta2);
	opt_number(c, spec, path, "eps", true, EXCLUSIVE, &cfg->eps);
	opt_number(c, spec, path, "weight_decay", true, INCLUSIVE,
		   &cfg->weight_decay);
	if ((v = member(c, spec, path, "amsgrad", false)) &&
	    check_bool(c, v, "spec.amsgrad"))
		cfg->amsgrad = json_is_true(v);
	if ((v = member(c, spec, path, "maximize", false)) &&
	    check_bool(c, v, "spec.maximize"))
		cfg->maximize = json_is_true(v);
	cfg->has_grad_clip = opt_number(c, spec, path, "grad_clip_norm", false,
					EXCLUSIVE, &cfg->grad_clip_norm);
	if ((v = member(c, spec, path, "schedule", false)))
		check_schedule(c, v, &cfg->schedule, has_total);

	if ((v = member(c, spec, path, "param_groups", false))) {
		if (!json_is_array(v)) {
			type_error(c, "spec.param_groups", "an array", v);
			return;
		}
		size_t n = json_array_size(v);
		if (n < 1)
			fail(c, "min_items", "spec.param_groups",
			     "must have at least 1 item (got 0)");
		else if (n > MAX_GROUPS)
			fail(c, "max_items", "spec.param_groups",
			     "must have at most %d items (got %zu)", MAX_GROUPS,
			     n);
		cfg->groups = optreg_xcalloc(n, sizeof(*cfg->groups));
		cfg->ngroups = n;
		for (size_t i = 0; i < n; i++) {
			char *p = item("spec.param_groups", i);
			check_group(c, json_array_get(v, i), p,
				    &cfg->groups[i]);
			free(p);
		}
	}
}

/* Rules that compare fields or need more than JSON Schema can say. */
static void check_semantics(const struct ctx *c, struct optreg_config *cfg,
			    bool has_total)
{
	struct optreg_buf a = OPTREG_BUF_INIT, b = OPTREG_BUF_INIT;
	const struct optreg_schedule *s = &cfg->schedule;

	if (has_total && s->warmup_steps > s->total_steps) {
		struct optreg_error *e =
			fail(c, "consistency", "spec.schedule.warmup_steps",
			     "must not exceed total_steps (got %ld > %ld)",
			     s->warmup_steps, s->total_steps);
		optreg_error_set_hint(e, "lower warmup_steps or raise "
					 "total_steps");
	}
	if (s->min_lr > cfg->lr) {
		optreg_jcs_number(s->min_lr, &a);
		optreg_jcs_number(cfg->lr, &b);
		struct optreg_error *e =
			fail(c, "consistency", "spec.schedule.min_lr",
			     "must not exceed spec.lr (got %s > %s)", a.data,
			     b.data);
		optreg_error_set_hint(e, "the schedule decays from lr down to "
					 "min_lr; lower min_lr");
	}
	for (size_t i = 0; i < cfg->ngroups; i++) {
		regex_t re;
		const char *why = optreg_regex_check(cfg->groups[i].match);
		int rc = why ? 0
			     : regcomp(&re, cfg->groups[i].match,
				       REG_EXTENDED | REG_NOSUB);
		if (why) {
			char *p = item("spec.param_groups", i);
			char *pm = child(p, "match");
			struct optreg_error *e =
				fail(c, "regex", pm,
				     "is refused: the pattern %s", why);
			optreg_error_set_hint(e, OPTREG_REGEX_HINT);
			free(pm);
			free(p);
		} else if (rc) {
			char msg[256];
			regerror(rc, &re, msg, sizeof(msg));
			char *p = item("spec.param_groups", i);
			char *pm = child(p, "match");
			struct optreg_error *e = fail(
				c, "regex", pm,
				"is not a valid extended regular expression: "
				"%s",
				msg);
			optreg_error_set_hint(e,
					      "write a POSIX extended regular "
					      "expression, e.g. "
					      "\"(bias|norm)\"");
			free(pm);
			free(p);
		} else {
			regfree(&re);
		}
	}
	optreg_buf_release(&a);
	optreg_buf_release(&b);
}

int optreg_config_validate(const struct optreg_doc *doc,
			   struct optreg_config *cfg,
			   struct optreg_errors *errs)
{
	static const char *const fields[] = {"apiVersion", "kind", "metadata",
					     "spec", NULL};
	struct ctx c = {doc, errs, errs->len};
	struct optreg_config tmp;
	const json_t *root = doc->root, *v;
	bool has_total = false;

	memset(&tmp, 0, sizeof(tmp));
	tmp.beta1 = 0.9;
	tmp.beta2 = 0.999;
	tmp.eps = 1e-8;

	if (!root) {
		fail(&c, "type", "", "must be an object (got nothing)");
		return OPTREG_EINVAL;
	}
	if (check_object(&c, root, "", fields)) {
		if ((v = member(&c, root, "", "apiVersion", true)))
			check_const(&c, v, "apiVersion", "optreg/v1");
		if ((v = member(&c, root, "", "kind", true)))
			check_const(&c, v, "kind", "OptimizerConfig");
		if ((v = member(&c, root, "", "metadata", true)))
			check_metadata(&c, v, &tmp);
		if ((v = member(&c, root, "", "spec", true)))
			check_spec(&c, v, &tmp, &has_total);
	}
	/* The semantic layer reads the model, which is only complete when
	 * the schema layer found nothing. */
	if (errs->len == c.nerrs_at_start)
		check_semantics(&c, &tmp, has_total);

	if (errs->len != c.nerrs_at_start) {
		optreg_config_release(&tmp);
		if (cfg)
			memset(cfg, 0, sizeof(*cfg));
		return OPTREG_EINVAL;
	}
	if (cfg)
		*cfg = tmp;
	else
		optreg_config_release(&tmp);
	return 0;
}

void optreg_config_release(struct optreg_config *cfg)
{
	free(cfg->namespace_);
	free(cfg->name);
	free(cfg->description);
	for (size_t i = 0; i < cfg->nlabels; i++) {
		free(cfg->labels[i].key);
		free(cfg->labels[i].value);
	}
	free(cfg->labels);
	for (size_t i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i].match);
	free(cfg->groups);
	memset(cfg, 0, sizeof(*cfg));
}

const char *optreg_config_error_layer(const struct optreg_error *e)
{
	if (e->code != OPTREG_EINVAL)
		return "syntax";
	if (!strcmp(e->rule, "consistency") || !strcmp(e->rule, "regex"))
		return "semantic";
	return "schema";
}

const char *optreg_schedule_kind_name(enum optreg_schedule_kind k)
{
	switch (k) {
	case OPTREG_SCHEDULE_LINEAR:
		return "linear";
	case OPTREG_SCHEDULE_COSINE:
		return "cosine";
	case OPTREG_SCHEDULE_INVERSE_SQRT:
		return "inverse_sqrt";
	case OPTREG_SCHEDULE_CONSTANT:
		break;
	}
	return "constant";
}

double optreg_config_schedule_lr(const struct optreg_schedule *s, double lr,
				 long t)
{
	double w = (double)s->warmup_steps, total = (double)s->total_steps;

	if (s->total_steps > 0 && t > s->total_steps)
		t = s->total_steps;
	if (t <= s->warmup_steps)
		return lr * (double)t / w;

	double p = s->total_steps > s->warmup_steps
			   ? ((double)t - w) / (total - w)
			   : 1.0;
	switch (s->kind) {
	case OPTREG_SCHEDULE_CONSTANT:
		return lr;
	case OPTREG_SCHEDULE_LINEAR:
		return lr + (s->min_lr - lr) * p;
	case OPTREG_SCHEDULE_COSINE:
		return s->min_lr +
		       (lr - s->min_lr) * (1.0 + cos(M_PI * p)) / 2.0;
	case OPTREG_SCHEDULE_INVERSE_SQRT:
		return lr * sqrt((w > 1.0 ? w : 1.0) / (double)t);
	}
	return lr;
}
