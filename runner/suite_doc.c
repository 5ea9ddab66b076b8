/*
 * runner/suite_doc.c: loading and checking a suite file (suite.h).
 *
 * The file goes through the validator's document loader (YAML or JSON
 * into one jansson tree, with line and column per path), then a strict
 * check: every field known, typed and in range, every error naming its
 * path and, where the loader recorded one, its line and column. The
 * suite's digest is the sha256 of the tree's RFC 8785 canonical form, so
 * reformatting the file or its comments never changes it.
 */
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/path.h"
#include "../validator/doc.h"
#include "../validator/jcs.h"
#include "../validator/regex_check.h"
#include "suite_int.h"
#include "workloads.h"

#define SUITE_MAX_WORKLOADS 64
#define SUITE_MAX_SEEDS	    15
#define SUITE_MAX_SEED	    9007199254740991.0 /* 2^53 - 1: exact in JSON */
#define SUITE_MAX_GRID	    16		       /* baseline grid points */

const char *optreg_suite_name(const struct optreg_suite *s)
{
	return s->name;
}

const char *optreg_suite_digest(const struct optreg_suite *s)
{
	return s->digest;
}

void optreg_suite_free(struct optreg_suite *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nw; i++) {
		struct suite_workload *w = &s->w[i];
		free(w->name);
		free(w->problem);
		free(w->hidden);
		free(w->spike_steps);
		free(w->lm_corpus_sha256);
		json_decref(w->variant);
		free(w->exclude);
		free(w->base);
	}
	free(s->w);
	free(s->base_lrs);
	free(s->seeds);
	free(s->name);
	free(s);
}

/* ------------------------------------------------------------------------
 * Loading
 */

struct load {
	const struct optreg_doc *doc;
	struct optreg_errors *errs;
	size_t nerrs;
};

/* Adds an error at `path`, positioned at the path or, for a missing field,
 * at the nearest ancestor the YAML loader recorded. */
static struct optreg_error *load_fail(struct load *l, const char *rule,
				      const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static struct optreg_error *load_fail(struct load *l, const char *rule,
				      const char *path, const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	const struct optreg_doc_loc *loc;
	struct optreg_error *e;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	e = optreg_errors_add(l->errs, OPTREG_EINVAL, rule, path, "%s",
			      msg.data);
	loc = optreg_doc_locate(l->doc, path);
	if (loc) {
		e->line = loc->line;
		e->col = loc->col;
	}
	optreg_buf_release(&msg);
	return e;
}

/* The value as JSON, for "(got ...)". malloc'd. */
static char *shown(const json_t *v)
{
	if (json_is_number(v))
		return optreg_xasprintf("%.17g", json_number_value(v));
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	return s ? s : optreg_xstrdup("?");
}

static char *path_key(const char *base, const char *key)
{
	struct optreg_buf p = OPTREG_BUF_INIT;

	optreg_buf_adds(&p, base);
	optreg_doc_path_key(&p, key);
	return optreg_buf_detach(&p, NULL);
}

/* Refuses members of `obj` not in `known` (NULL-terminated). */
static void check_known(struct load *l, const json_t *obj, const char *path,
			const char *const *known, const char *hint)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		int ok = 0;
		for (size_t i = 0; known[i]; i++)
			ok |= !strcmp(key, known[i]);
		if (ok)
			continue;
		char *p = path_key(path, key);
		optreg_error_set_hint(
			load_fail(l, "unknown_field", p, "unknown field"), "%s",
			hint);
		free(p);
	}
}

enum num_kind {
	NUM_REAL,
	NUM_INT,
};

/* Checks that `v` at `path` is a number (an integer for NUM_INT) in
 * [lo, hi], or (lo, hi] when lo_open. Returns 0 and sets *out, or -1. */
static int get_number(struct load *l, const json_t *v, const char *path,
		      enum num_kind kind, double lo, int lo_open, double hi,
		      double *out)
{
	double d = json_number_value(v);
	const char *what = kind == NUM_INT ? "an integer" : "a number";

	if (!json_is_number(v) || (kind == NUM_INT && d != floor(d)) ||
	    (lo_open ? !(d > lo) : !(d >= lo)) || !(d <= hi)) {
		char *got = shown(v);
		if (hi == INFINITY)
			load_fail(l, "range", path,
				  "must be %s %s %.17g (got %s)", what,
				  lo_open ? "above" : "of at least", lo, got);
		else
			load_fail(l, "range", path,
				  "must be %s from %.17g%s to %.17g (got %s)",
				  what, lo, lo_open ? " (exclusive)" : "", hi,
				  got);
		free(got);
		return -1;
	}
	*out = d;
	return 0;
}

/* One threshold: its key, type, range and place in the struct. */
struct threshold_field {
	const char *key;
	enum {
		TH_REAL,
		TH_LONG,
		TH_REAL_OR_NULL,
		TH_REGEX_OR_NULL,
	} type;
	double lo;
	int lo_open;
	double hi;
	size_t offset;
};

#define TH(key, type, lo, lo_open, hi)                                         \
	{                                                                      \
#key, type, lo, lo_open, hi,                                   \
			offsetof(struct optreg_thresholds, key)                \
	}

static const struct threshold_field th_fields[] = {
	TH(loss_explosion_factor, TH_REAL, 1, 1, INFINITY),
	TH(final_window_fraction, TH_REAL, 0, 1, 1),
	TH(accuracy_floor, TH_REAL_OR_NULL, 0, 0, 1),
	TH(spike_factor, TH_REAL, 1, 1, INFINITY),
	TH(spike_smoothing, TH_LONG, 1, 0, 1000000),
	TH(spike_zscore, TH_REAL, 0, 1, INFINITY),
	TH(spike_zscore_window, TH_LONG, 10, 0, 1000000),
	TH(spike_max_fraction, TH_REAL, 0, 0, 1),
	TH(update_ratio_max, TH_REAL, 0, 1, INFINITY),
	TH(update_ratio_min, TH_REAL, 0, 0, INFINITY),
	TH(update_ratio_exclude, TH_REGEX_OR_NULL, 0, 0, 0),
	TH(eos_streak, TH_LONG, 1, 0, OPTREG_WORKLOAD_MAX_STEPS),
	TH(eps_dominated_fraction, TH_REAL, 0, 0, 1),
	TH(accuracy_gap_fail, TH_REAL_OR_NULL, 0, 0, 1),
	TH(accuracy_gap_warn, TH_REAL_OR_NULL, 0, 0, 1),
	TH(loss_gap_fail, TH_REAL_OR_NULL, 1, 0, INFINITY),
	TH(loss_gap_warn, TH_REAL_OR_NULL, 1, 0, INFINITY),
};

#define NTH (sizeof(th_fields) / sizeof(th_fields[0]))

/*
 * Reads a thresholds object into `th`: every field when `all` (the suite's
 * own block), else only those present (a workload's overrides). A regex
 * lands in *regex (owned by the caller, replacing what was there).
 */
static void load_thresholds(struct load *l, const json_t *obj, const char *path,
			    int all, struct optreg_thresholds *th, char **regex)
{
	const char *known[NTH + 1];

	if (!json_is_object(obj)) {
		char *got = shown(obj);
		load_fail(l, "type", path, "must be an object (got %s)", got);
		free(got);
		return;
	}
	for (size_t i = 0; i < NTH; i++)
		known[i] = th_fields[i].key;
	known[NTH] = NULL;
	check_known(l, obj, path, known,
		    "the thresholds are listed in docs/runner.md");

	for (size_t i = 0; i < NTH; i++) {
		const struct threshold_field *f = &th_fields[i];
		const json_t *v = json_object_get(obj, f->key);
		char *p = path_key(path, f->key);
		char *field = (char *)th + f->offset;
		double d;

		if (!v) {
			if (all)
				optreg_error_set_hint(
					load_fail(l, "required", p,
						  "is required"),
					"the suite's own thresholds must set "
					"every threshold (null turns "
					"accuracy_floor, update_ratio_exclude "
					"and the gap thresholds off)");
			free(p);
			continue;
		}
		switch (f->type) {
		case TH_REAL:
		case TH_REAL_OR_NULL:
			if (f->type == TH_REAL_OR_NULL && json_is_null(v))
				*(double *)(void *)field = NAN;
			else if (!get_number(l, v, p, NUM_REAL, f->lo,
					     f->lo_open, f->hi, &d))
				*(double *)(void *)field = d;
			break;
		case TH_LONG:
			if (!get_number(l, v, p, NUM_INT, f->lo, f->lo_open,
					f->hi, &d))
				*(long *)(void *)field = (long)d;
			break;
		case TH_REGEX_OR_NULL:
			if (json_is_null(v)) {
				free(*regex);
				*regex = NULL;
			} else if (!json_is_string(v)) {
				char *got = shown(v);
				load_fail(l, "type", p,
					  "must be a regular expression "
					  "string or null (got %s)",
					  got);
				free(got);
			} else if (optreg_regex_check(json_string_value(v))) {
				/* Refused before regcomp, which some patterns
				 * run out of time or memory. */
				optreg_error_set_hint(
					load_fail(
						l, "regex", p, "%s",
						optreg_regex_check(
							json_string_value(v))),
					OPTREG_REGEX_HINT);
			} else {
				regex_t re;
				int rerr = regcomp(&re, json_string_value(v),
						   REG_EXTENDED | REG_NOSUB);
				if (rerr) {
					char what[128];
					regerror(rerr, &re, what, sizeof(what));
					load_fail(l, "regex", p,
						  "must be a POSIX extended "
						  "regular expression (%s)",
						  what);
				} else {
					regfree(&re);
					free(*regex);
					*regex = optreg_xstrdup(
						json_string_value(v));
				}
			}
			break;
		}
		free(p);
	}
}

/* The thresholds that bound each other. */
static void check_consistency(struct load *l, const struct optreg_thresholds *t,
			      const char *path)
{
	char *p = path_key(path, "thresholds");

	if (!(t->update_ratio_min < t->update_ratio_max))
		load_fail(l, "consistency", p,
			  "update_ratio_min must be below update_ratio_max "
			  "(got %g and %g)",
			  t->update_ratio_min, t->update_ratio_max);
	if (t->accuracy_gap_warn > t->accuracy_gap_fail)
		load_fail(l, "consistency", p,
			  "accuracy_gap_warn must not be above "
			  "accuracy_gap_fail (got %g and %g)",
			  t->accuracy_gap_warn, t->accuracy_gap_fail);
	if (t->loss_gap_warn > t->loss_gap_fail)
		load_fail(l, "consistency", p,
			  "loss_gap_warn must not be above loss_gap_fail "
			  "(got %g and %g)",
			  t->loss_gap_warn, t->loss_gap_fail);
	free(p);
}

static int workload_known(const char *name)
{
	for (size_t i = 0; optreg_workload_names[i]; i++)
		if (!strcmp(name, optreg_workload_names[i]))
			return 1;
	return 0;
}

/* A name for verdicts: 1 to 64 of [a-z0-9_.-], starting with a letter or
 * digit. */
static int id_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	int ok = len > 0 && len <= 64;

	for (size_t i = 0; ok && i < len; i++)
		ok = (n[i] >= 'a' && n[i] <= 'z') ||
		     (n[i] >= '0' && n[i] <= '9') ||
		     (i > 0 && (n[i] == '-' || n[i] == '.' || n[i] == '_'));
	return ok;
}

/* `key` of `obj` at `path` is only for `problems` (a description). */
static const json_t *option(struct load *l, const json_t *obj, const char *path,
			    const char *key, int applies, const char *problems)
{
	const json_t *v = json_object_get(obj, key);
	char *p;

	if (!v || applies)
		return v;
	p = path_key(path, key);
	load_fail(l, "not_applicable", p, "only %s take %s", problems, key);
	free(p);
	return NULL;
}

/* A list of 1..max integers in [lo, hi], ascending when `ascending`.
 * Returns the count and sets *out (malloc'd), or 0 after an error. */
static size_t get_int_list(struct load *l, const json_t *v, const char *path,
			   size_t max, double lo, double hi, int ascending,
			   long **out)
{
	size_t n = json_array_size(v), ok = 1;
	long *a;

	*out = NULL;
	if (!json_is_array(v) || n == 0 || n > max) {
		char *got = shown(v);
		load_fail(l, "type", path,
			  "must be a list of 1 to %zu integers (got %s)", max,
			  got);
		free(got);
		return 0;
	}
	a = optreg_xcalloc(n, sizeof(long));
	for (size_t i = 0; i < n; i++) {
		struct optreg_buf p = OPTREG_BUF_INIT;
		double d;
		optreg_buf_adds(&p, path);
		optreg_doc_path_index(&p, i);
		if (get_number(l, json_array_get(v, i), p.data, NUM_INT, lo, 0,
			       hi, &d)) {
			ok = 0;
		} else {
			a[i] = (long)d;
			if (ascending && i > 0 && a[i] <= a[i - 1]) {
				load_fail(l, "order", p.data,
					  "must be above the one before it "
					  "(got %ld after %ld): list them "
					  "ascending, each once",
					  a[i], a[i - 1]);
				ok = 0;
			}
		}
		optreg_buf_release(&p);
	}
	if (!ok) {
		free(a);
		return 0;
	}
	*out = a;
	return n;
}

static void load_lm(struct load *l, const json_t *v, const char *path,
		    struct suite_workload *w)
{
	static const char *const known[] = {
		"layers", "d_model", "heads",	      "context",
		"norm",	  "tied",    "corpus_sha256", NULL,
	};
	static const struct {
		const char *key;
		double hi;
		size_t off;
	} ints[] = {
		{"layers", 64, offsetof(struct optreg_lm_spec, layers)},
		{"d_model", 4096, offsetof(struct optreg_lm_spec, d_model)},
		{"heads", 256, offsetof(struct optreg_lm_spec, heads)},
		{"context", 4096, offsetof(struct optreg_lm_spec, context)},
	};
	const json_t *x;
	char *p;
	double d;

	if (!json_is_object(v)) {
		char *got = shown(v);
		load_fail(l, "type", path,
			  "must be an object {layers, d_model, heads, "
			  "context, norm, tied, corpus_sha256} (got %s)",
			  got);
		free(got);
		return;
	}
	w->lm_set = 1;
	check_known(l, v, path, known,
		    "lm has layers, d_model, heads, context, norm (pre or "
		    "post), tied and corpus_sha256");
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (!(x = json_object_get(v, ints[i].key)))
			continue;
		p = path_key(path, ints[i].key);
		if (!get_number(l, x, p, NUM_INT, 1, 0, ints[i].hi, &d))
			*(long *)(void *)((char *)&w->lm + ints[i].off) =
				(long)d;
		free(p);
	}
	long dm = w->lm.d_model ? w->lm.d_model : 32;
	long h = w->lm.heads ? w->lm.heads : 2;
	if (dm % h) {
		p = path_key(path, "heads");
		load_fail(l, "consistency", p,
			  "must divide d_model (got %ld heads for d_model "
			  "%ld)",
			  h, dm);
		free(p);
	}
	if ((x = json_object_get(v, "norm"))) {
		const char *s = json_string_value(x);
		p = path_key(path, "norm");
		if (s && !strcmp(s, "pre"))
			w->lm.post_ln = 0;
		else if (s && !strcmp(s, "post"))
			w->lm.post_ln = 1;
		else {
			char *got = shown(x);
			load_fail(l, "enum", p, "must be pre or post (got %s)",
				  got);
			free(got);
		}
		free(p);
	}
	if ((x = json_object_get(v, "tied"))) {
		p = path_key(path, "tied");
		if (!json_is_boolean(x))
			load_fail(l, "type", p, "must be true or false");
		else
			w->lm.untied = !json_is_true(x);
		free(p);
	}
	if ((x = json_object_get(v, "corpus_sha256"))) {
		const char *s = json_string_value(x);
		int ok = s && strlen(s) == 64;
		for (size_t i = 0; ok && i < 64; i++)
			ok = (s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f');
		p = path_key(path, "corpus_sha256");
		if (ok) {
			w->lm_corpus_sha256 = optreg_xstrdup(s);
		} else {
			char *got = shown(x);
			optreg_error_set_hint(
				load_fail(l, "pattern", p,
					  "must be 64 lowercase hex digits "
					  "(got %s)",
					  got),
				"sha256sum %s prints it", OPTREG_LM_CORPUS);
			free(got);
		}
		free(p);
	}
}

/* The problem options (the variant) of workload `w`. */
static void load_variant(struct load *l, const json_t *obj, const char *path,
			 struct suite_workload *w)
{
	static const char *const vkeys[] = {
		"hidden",     "label_noise", "sparse_keep",
		"grad_spike", "precision",   "lm",
	};
	const char *pr = w->problem ? w->problem : "";
	int fmnist = !strncmp(pr, "fmnist_", 7);
	const json_t *v;
	char *p;
	double d;

	w->variant = json_object();
	for (size_t i = 0; i < sizeof(vkeys) / sizeof(vkeys[0]); i++)
		if ((v = json_object_get(obj, vkeys[i])))
			json_object_set_new(w->variant, vkeys[i],
					    json_deep_copy(v));
	if (!w->problem)
		return; /* already reported */

	if ((v = option(l, obj, path, "hidden", !strcmp(pr, "fmnist_mlp"),
			"fmnist_mlp workloads"))) {
		p = path_key(path, "hidden");
		w->nhidden = get_int_list(l, v, p, 8, 1, 65536, 0, &w->hidden);
		free(p);
	}
	if ((v = option(l, obj, path, "label_noise", fmnist,
			"the fmnist_* workloads"))) {
		p = path_key(path, "label_noise");
		if (!get_number(l, v, p, NUM_REAL, 0, 0, 1, &d))
			w->label_noise = d;
		free(p);
	}
	if ((v = option(l, obj, path, "sparse_keep", fmnist,
			"the fmnist_* workloads"))) {
		p = path_key(path, "sparse_keep");
		if (!get_number(l, v, p, NUM_REAL, 0, 1, 1, &d))
			w->sparse_keep = d;
		free(p);
	}
	if ((v = json_object_get(obj, "grad_spike"))) {
		static const char *const gknown[] = {"steps", "factor", NULL};
		p = path_key(path, "grad_spike");
		if (!json_is_object(v)) {
			char *got = shown(v);
			load_fail(l, "type", p,
				  "must be an object {steps: [...], factor: "
				  "F} (got %s)",
				  got);
			free(got);
		} else {
			const json_t *st = json_object_get(v, "steps");
			const json_t *fa = json_object_get(v, "factor");
			char *sp = path_key(p, "steps");
			char *fp = path_key(p, "factor");
			check_known(l, v, p, gknown,
				    "grad_spike has steps and factor");
			if (!st)
				load_fail(l, "required", sp, "is required");
			else
				w->nspike =
					get_int_list(l, st, sp, 64, 1,
						     OPTREG_WORKLOAD_MAX_STEPS,
						     1, &w->spike_steps);
			/* peak_steps is read before the problem options. */
			for (size_t i = 0; w->peak_steps > 0 && i < w->nspike;
			     i++) {
				if (w->spike_steps[i] <= w->peak_steps)
					continue;
				struct optreg_buf ip = OPTREG_BUF_INIT;
				optreg_buf_adds(&ip, sp);
				optreg_doc_path_index(&ip, i);
				optreg_error_set_hint(
					load_fail(l, "range", ip.data,
						  "must be at most peak_steps "
						  "%ld: spikes land in the "
						  "peak phase (got %ld)",
						  w->peak_steps,
						  w->spike_steps[i]),
					"lower the step or raise peak_steps");
				optreg_buf_release(&ip);
			}
			if (!fa)
				load_fail(l, "required", fp, "is required");
			else if (!get_number(l, fa, fp, NUM_REAL, 0, 1, 1e30,
					     &d))
				w->spike_factor = d;
			free(sp);
			free(fp);
		}
		free(p);
	}
	if ((v = json_object_get(obj, "precision"))) {
		const char *s = json_string_value(v);
		p = path_key(path, "precision");
		if (s && !strcmp(s, "fp16"))
			w->precision = OPTREG_PRECISION_FP16;
		else if (s && !strcmp(s, "bf16"))
			w->precision = OPTREG_PRECISION_BF16;
		else if (s && !strcmp(s, "declared"))
			w->precision_declared = 1;
		else {
			char *got = shown(v);
			optreg_error_set_hint(
				load_fail(l, "enum", p,
					  "must be fp16, bf16 or declared "
					  "(got %s)",
					  got),
				"leave it out for float32");
			free(got);
		}
		free(p);
	}
	if ((v = option(l, obj, path, "lm", !strcmp(pr, "lm"),
			"lm workloads"))) {
		p = path_key(path, "lm");
		load_lm(l, v, p, w);
		free(p);
	}
	if (!strcmp(pr, "lm") && !w->lm_corpus_sha256 &&
	    (!(v = json_object_get(obj, "lm")) ||
	     (json_is_object(v) && !json_object_get(v, "corpus_sha256")))) {
		/* The corpus is a file on the runner's machine: a verdict
		 * names the text it was computed on. */
		char *lp = path_key(path, "lm");
		p = v ? path_key(lp, "corpus_sha256") : optreg_xstrdup(lp);
		optreg_error_set_hint(
			load_fail(l, "required", p,
				  v ? "is required for problem: lm (it pins "
				      "the text the verdicts are computed on)"
				    : "is required for problem: lm, with its "
				      "corpus_sha256"),
			"add corpus_sha256: the output of sha256sum %s",
			OPTREG_LM_CORPUS);
		free(lp);
		free(p);
	}
}

static void load_workload(struct load *l, const json_t *obj, const char *path,
			  const struct optreg_thresholds *th,
			  const char *exclude, int th_ok,
			  struct suite_workload *w)
{
	static const char *const known[] = {
		"name",	       "problem",     "peak_steps", "batch",
		"eval",	       "sharpness",   "thresholds", "hidden",
		"label_noise", "sparse_keep", "grad_spike", "precision",
		"lm",	       NULL,
	};
	const json_t *v;
	char *p;
	double d;

	w->th = *th;
	w->exclude = exclude ? optreg_xstrdup(exclude) : NULL;
	w->batch = OPTREG_WORKLOAD_DEFAULT_BATCH;
	w->sharpness = 1;
	if (!json_is_object(obj)) {
		char *got = shown(obj);
		load_fail(l, "type", path, "must be an object (got %s)", got);
		free(got);
		return;
	}
	check_known(l, obj, path, known,
		    "a workload has name, problem, peak_steps, batch, eval, "
		    "sharpness, thresholds and the problem options hidden, "
		    "label_noise, sparse_keep, grad_spike, precision and lm "
		    "(docs/runner.md, \"The suite file\")");

	p = path_key(path, "name");
	v = json_object_get(obj, "name");
	if (!v) {
		load_fail(l, "required", p, "is required");
	} else if (!id_ok(json_string_value(v)) ||
		   strlen(json_string_value(v)) > 31) {
		/* 31: findings carry it in the result's workload[32]. */
		char *got = shown(v);
		load_fail(l, "pattern", p,
			  "must be 1 to 31 of [a-z0-9_.-], starting with a "
			  "letter or digit (got %s)",
			  got);
		free(got);
	} else {
		w->name = optreg_xstrdup(json_string_value(v));
	}
	free(p);

	p = path_key(path, "problem");
	v = json_object_get(obj, "problem");
	if (v &&
	    (!json_is_string(v) || !workload_known(json_string_value(v)))) {
		char *got = shown(v);
		struct optreg_buf names = OPTREG_BUF_INIT;
		for (size_t i = 0; optreg_workload_names[i]; i++)
			optreg_buf_addf(&names, "%s%s", i ? ", " : "",
					optreg_workload_names[i]);
		optreg_error_set_hint(load_fail(l, "enum", p,
						"must name a problem (got %s)",
						got),
				      "use one of %s", names.data);
		optreg_buf_release(&names);
		free(got);
	} else if (v) {
		w->problem = optreg_xstrdup(json_string_value(v));
	} else if (w->name && workload_known(w->name)) {
		w->problem = optreg_xstrdup(w->name);
	} else if (w->name) {
		optreg_error_set_hint(
			load_fail(l, "required", p,
				  "is required: the name %s is not a problem",
				  w->name),
			"add problem: fmnist_mlp (or another problem) to "
			"this workload");
	}
	free(p);

	p = path_key(path, "peak_steps");
	if (!(v = json_object_get(obj, "peak_steps")))
		load_fail(l, "required", p, "is required");
	else if (!get_number(l, v, p, NUM_INT, 1, 0, OPTREG_WORKLOAD_MAX_STEPS,
			     &d))
		w->peak_steps = (long)d;
	free(p);

	p = path_key(path, "batch");
	if ((v = json_object_get(obj, "batch")) &&
	    !get_number(l, v, p, NUM_INT, 1, 0, 65536, &d))
		w->batch = (long)d;
	free(p);

	int has_test = w->problem && (!strncmp(w->problem, "fmnist_", 7) ||
				      !strcmp(w->problem, "lm"));
	p = path_key(path, "eval");
	if ((v = json_object_get(obj, "eval"))) {
		if (w->problem && !has_test) {
			load_fail(l, "not_applicable", p,
				  "only the fmnist_* and lm workloads have a "
				  "test set");
		} else if (!json_is_object(v)) {
			char *got = shown(v);
			load_fail(l, "type", p,
				  "must be an object {rows: N} (got %s)", got);
			free(got);
		} else {
			static const char *const eknown[] = {"rows", NULL};
			const json_t *rows = json_object_get(v, "rows");
			char *rp = path_key(p, "rows");
			check_known(l, v, p, eknown,
				    "eval has only rows (0: the whole test "
				    "set)");
			w->eval = 1;
			if (rows && !get_number(l, rows, rp, NUM_INT, 0, 0,
						1000000, &d))
				w->eval_rows = (long)d;
			free(rp);
		}
	}
	free(p);

	p = path_key(path, "sharpness");
	if ((v = json_object_get(obj, "sharpness"))) {
		if (w->problem && strcmp(w->problem, "quadratic_deep"))
			load_fail(l, "not_applicable", p,
				  "only quadratic_deep has a known Hessian");
		else if (!json_is_boolean(v))
			load_fail(l, "type", p, "must be true or false");
		else
			w->sharpness = json_is_true(v);
	}
	free(p);

	load_variant(l, obj, path, w);

	p = path_key(path, "thresholds");
	if ((v = json_object_get(obj, "thresholds")))
		load_thresholds(l, v, p, 0, &w->th, &w->exclude);
	free(p);

	w->th.update_ratio_exclude = w->exclude;
	if (!th_ok)
		return; /* the cross-checks would repeat the suite's errors */
	if (!isnan(w->th.accuracy_floor) && w->problem && !w->eval) {
		p = path_key(path, "eval");
		optreg_error_set_hint(
			load_fail(l, "required", p,
				  "is required with an accuracy_floor"),
			"add eval: {rows: 0} to measure test accuracy");
		free(p);
	}
	check_consistency(l, &w->th, path);
}

/* One grid point's `workloads`: workload name -> seed -> numbers, into
 * each workload's base[g * nseeds + k]. `path` is baseline[g].workloads. */
static void load_baseline_point(struct load *l, const json_t *b,
				const char *path, size_t g, double lr,
				struct optreg_suite *s)
{
	static const char *const eknown[] = {"final_loss", "test_loss",
					     "test_accuracy", NULL};
	const char *key;
	json_t *v;

	if (!json_is_object(b)) {
		char *got = shown(b);
		load_fail(l, "type", path,
			  "must be an object of workload names (got %s)", got);
		free(got);
		return;
	}
	json_object_foreach((json_t *)b, key, v)
	{
		size_t wi = s->nw;
		char *p = path_key(path, key);
		for (size_t i = 0; i < s->nw; i++)
			if (s->w[i].name && !strcmp(s->w[i].name, key))
				wi = i;
		if (wi == s->nw) {
			optreg_error_set_hint(
				load_fail(l, "unknown_field", p,
					  "names no workload of the suite"),
				"regenerate the block with `optreg-runner "
				"baseline --suite FILE`");
			free(p);
			continue;
		}
		if (!json_is_object(v)) {
			char *got = shown(v);
			load_fail(l, "type", p,
				  "must be an object of seeds (got %s)", got);
			free(got);
			free(p);
			continue;
		}
		const char *sk;
		json_t *e;
		json_object_foreach(v, sk, e)
		{
			size_t si = s->nseeds;
			char *sp = path_key(p, sk);
			for (size_t k = 0; k < s->nseeds; k++) {
				char num[24];
				snprintf(num, sizeof(num), "%llu",
					 (unsigned long long)s->seeds[k]);
				if (!strcmp(num, sk))
					si = k;
			}
			if (si == s->nseeds) {
				load_fail(l, "unknown_field", sp,
					  "is not one of the suite's seeds");
			} else if (!json_is_object(e)) {
				char *got = shown(e);
				load_fail(l, "type", sp,
					  "must be an object {final_loss, "
					  "test_loss, test_accuracy} (got %s)",
					  got);
				free(got);
			} else {
				struct optreg_baseline_entry *be =
					&s->w[wi].base[g * s->nseeds + si];
				double *dst[] = {&be->final_loss,
						 &be->test_loss,
						 &be->test_accuracy};
				double hi[] = {INFINITY, INFINITY, 1};
				be->lr = lr;
				check_known(l, e, sp, eknown,
					    "a baseline entry has final_loss, "
					    "test_loss and test_accuracy");
				for (size_t f = 0; f < 3; f++) {
					const json_t *x =
						json_object_get(e, eknown[f]);
					char *fp = path_key(sp, eknown[f]);
					double d;
					/* final_loss always; the test
					 * numbers exactly where the
					 * workload has eval. */
					int want = !f || s->w[wi].eval;
					if (!x && want)
						optreg_error_set_hint(
							load_fail(
								l, "required",
								fp,
								"is required%s",
								f ? " (the "
								    "workload "
								    "has eval)"
								  : ""),
							"regenerate the block "
							"with `optreg-runner "
							"baseline --suite "
							"FILE`");
					else if (x && !want)
						optreg_error_set_hint(
							load_fail(
								l,
								"not_"
								"applicable",
								fp,
								"must be left "
								"out: workload "
								"%s has no "
								"eval",
								s->w[wi].name),
							"regenerate the block "
							"with `optreg-runner "
							"baseline --suite "
							"FILE`");
					else if (x && json_is_null(x))
						optreg_error_set_hint(
							load_fail(l, "type", fp,
								  "must be a "
								  "number (got "
								  "null)"),
							"regenerate the block "
							"with `optreg-runner "
							"baseline --suite "
							"FILE`: a baseline "
							"run that does not "
							"finish is refused");
					else if (x &&
						 !get_number(l, x, fp, NUM_REAL,
							     f ? 0 : -INFINITY,
							     0, hi[f], &d))
						*dst[f] = d;
					free(fp);
				}
			}
			free(sp);
		}
		free(p);
	}
	/* Every workload and seed has its entry at this grid point. */
	for (size_t i = 0; i < s->nw; i++) {
		if (!s->w[i].name)
			continue;
		for (size_t k = 0; k < s->nseeds; k++) {
			char num[24];
			const json_t *e;
			snprintf(num, sizeof(num), "%llu",
				 (unsigned long long)s->seeds[k]);
			e = json_object_get(json_object_get(b, s->w[i].name),
					    num);
			if (e)
				continue;
			char *p = path_key(path, s->w[i].name);
			char *sp = path_key(p, num);
			optreg_error_set_hint(
				load_fail(l, "required", sp,
					  "is required: each lr of the "
					  "baseline grid has an entry for "
					  "every workload and seed"),
				"regenerate the block with `optreg-runner "
				"baseline --suite FILE`, or remove the "
				"baseline section to skip the gap criteria");
			free(sp);
			free(p);
		}
	}
}

/* The `baseline` section: a grid of learning rates, strictly ascending,
 * each with the Adam defaults' numbers per workload and seed:
 *   baseline: [{lr: 1.0e-4, workloads: {name: {"seed": {...}}}}, ...] */
static void load_baseline(struct load *l, const json_t *b,
			  struct optreg_suite *s)
{
	static const char *const gknown[] = {"lr", "workloads", NULL};
	size_t n = json_array_size(b);

	if (!json_is_array(b) || n == 0 || n > SUITE_MAX_GRID) {
		char *got = shown(b);
		optreg_error_set_hint(
			load_fail(l, "type", "baseline",
				  "must be a list of 1 to %d grid points "
				  "{lr, workloads} (got %s)",
				  SUITE_MAX_GRID, got),
			"regenerate the block with `optreg-runner baseline "
			"--suite FILE`");
		free(got);
		return;
	}
	s->has_baseline = 1;
	s->nbase = n;
	s->base_lrs = optreg_xcalloc(n, sizeof(double));
	for (size_t i = 0; i < s->nw; i++) {
		s->w[i].base = optreg_xcalloc(
			n * s->nseeds, sizeof(struct optreg_baseline_entry));
		for (size_t k = 0; k < n * s->nseeds; k++)
			s->w[i].base[k] = (struct optreg_baseline_entry){
				NAN, NAN, NAN, NAN};
	}
	for (size_t g = 0; g < n; g++) {
		const json_t *e = json_array_get(b, g), *x;
		struct optreg_buf p = OPTREG_BUF_INIT;
		double lr = NAN;
		char *fp;

		optreg_buf_adds(&p, "baseline");
		optreg_doc_path_index(&p, g);
		if (!json_is_object(e)) {
			char *got = shown(e);
			load_fail(l, "type", p.data,
				  "must be an object {lr, workloads} (got %s)",
				  got);
			free(got);
			optreg_buf_release(&p);
			continue;
		}
		check_known(l, e, p.data, gknown,
			    "a baseline grid point has lr and workloads");
		fp = path_key(p.data, "lr");
		if (!(x = json_object_get(e, "lr"))) {
			load_fail(l, "required", fp, "is required");
		} else if (!get_number(l, x, fp, NUM_REAL, 0, 1, INFINITY,
				       &lr)) {
			if (g > 0 && isfinite(s->base_lrs[g - 1]) &&
			    !(lr > s->base_lrs[g - 1])) {
				optreg_error_set_hint(
					load_fail(l, "order", fp,
						  "must be above baseline[%zu]"
						  ".lr (%g): the grid is "
						  "strictly ascending (got %g)",
						  g - 1, s->base_lrs[g - 1],
						  lr),
					"list the grid points from the "
					"smallest lr to the largest, each "
					"once");
			}
		}
		s->base_lrs[g] = lr;
		free(fp);
		fp = path_key(p.data, "workloads");
		if (!(x = json_object_get(e, "workloads")))
			load_fail(l, "required", fp, "is required");
		else
			load_baseline_point(l, x, fp, g, lr, s);
		free(fp);
		optreg_buf_release(&p);
	}
}

static int cmp_lr(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Without the baseline (`optreg-runner baseline`): only the grid's lrs,
 * where they are readable (positive numbers), sorted and each once; a
 * stale or broken block is otherwise ignored. */
static void load_grid_lrs(const json_t *b, struct optreg_suite *s)
{
	size_t n = 0;

	if (!json_is_array(b) || json_array_size(b) == 0)
		return;
	s->base_lrs = optreg_xcalloc(json_array_size(b), sizeof(double));
	for (size_t g = 0; g < json_array_size(b); g++) {
		const json_t *x = json_object_get(json_array_get(b, g), "lr");
		double lr = json_number_value(x);
		if (json_is_number(x) && isfinite(lr) && lr > 0)
			s->base_lrs[n++] = lr;
	}
	qsort(s->base_lrs, n, sizeof(double), cmp_lr);
	s->nbase = 0;
	for (size_t g = 0; g < n; g++)
		if (!s->nbase || s->base_lrs[g] != s->base_lrs[s->nbase - 1])
			s->base_lrs[s->nbase++] = s->base_lrs[g];
}

static void load_suite(struct load *l, const json_t *root,
		       struct optreg_suite *s, int with_baseline)
{
	static const char *const known[] = {
		"name",	      "version",  "description", "seeds", "schedule",
		"thresholds", "baseline", "workloads",	 NULL,
	};
	struct optreg_thresholds th;
	char *exclude = NULL;
	const json_t *v, *arr;
	double d;

	memset(&th, 0, sizeof(th));
	th.accuracy_floor = NAN;
	if (!json_is_object(root)) {
		load_fail(l, "type", "", "a suite must be an object");
		return;
	}
	if (!(v = json_object_get(root, "version"))) {
		load_fail(l, "required", "version", "is required");
	} else if (json_is_number(v) && json_number_value(v) == 1) {
		optreg_error_set_hint(
			load_fail(l, "retired", "version",
				  "suite format 1 (ref-v1) is retired: its "
				  "verdicts still verify, but no config is "
				  "judged on it any more"),
			"use runner/suites/ref-v2.yaml (format 2; "
			"docs/runner.md, \"The suite file\")");
		return;
	} else if (!get_number(l, v, "version", NUM_INT, 2, 0, 2, &d)) {
		s->version = (long)d;
	}
	check_known(l, root, "", known,
		    "a suite has name, version, description, seeds, "
		    "schedule, thresholds, baseline and workloads");

	v = json_object_get(root, "name");
	if (!v) {
		load_fail(l, "required", "name", "is required");
	} else if (id_ok(json_string_value(v)) &&
		   !strchr(json_string_value(v), '_')) {
		s->name = optreg_xstrdup(json_string_value(v));
	} else {
		char *got = shown(v);
		load_fail(l, "pattern", "name",
			  "must be 1 to 64 of [a-z0-9.-], starting "
			  "with a letter or digit (got %s)",
			  got);
		free(got);
	}
	if ((v = json_object_get(root, "description")) && !json_is_string(v))
		load_fail(l, "type", "description", "must be a string");

	if (!(v = json_object_get(root, "seeds"))) {
		load_fail(l, "required", "seeds", "is required");
	} else {
		long *seeds = NULL;
		size_t n = get_int_list(l, v, "seeds", SUITE_MAX_SEEDS, 0,
					SUITE_MAX_SEED, 0, &seeds);
		int ok = n > 0;
		if (ok && (n < 3 || n % 2 == 0)) {
			optreg_error_set_hint(
				load_fail(l, "range", "seeds",
					  "must list an odd number of seeds, "
					  "at least 3 (got %zu)",
					  n),
				"a finding counts when a majority of the "
				"seeds show it, so ties must not happen");
			ok = 0;
		}
		for (size_t i = 0; ok && i < n; i++)
			for (size_t k = 0; k < i; k++)
				if (seeds[k] == seeds[i]) {
					struct optreg_buf p = OPTREG_BUF_INIT;
					optreg_buf_adds(&p, "seeds");
					optreg_doc_path_index(&p, i);
					load_fail(l, "duplicate", p.data,
						  "seed %ld is already listed "
						  "(as seeds[%zu])",
						  seeds[i], k);
					optreg_buf_release(&p);
					ok = 0;
					break;
				}
		if (ok) {
			s->seeds = optreg_xcalloc(n, sizeof(uint64_t));
			for (size_t i = 0; i < n; i++)
				s->seeds[i] = (uint64_t)seeds[i];
			s->nseeds = n;
		}
		free(seeds);
	}

	if (!(v = json_object_get(root, "schedule"))) {
		load_fail(l, "required", "schedule", "is required");
	} else if (!json_is_object(v)) {
		char *got = shown(v);
		load_fail(l, "type", "schedule",
			  "must be an object {warmup_cap: N} (got %s)", got);
		free(got);
	} else {
		static const char *const sknown[] = {"warmup_cap", NULL};
		const json_t *c = json_object_get(v, "warmup_cap");
		check_known(l, v, "schedule", sknown,
			    "schedule has only warmup_cap");
		if (!c)
			load_fail(l, "required", "schedule.warmup_cap",
				  "is required");
		else if (!get_number(l, c, "schedule.warmup_cap", NUM_INT, 0, 0,
				     OPTREG_WORKLOAD_MAX_STEPS, &d))
			s->warmup_cap = (long)d;
	}

	if (!(v = json_object_get(root, "thresholds")))
		load_fail(l, "required", "thresholds", "is required");
	else
		load_thresholds(l, v, "thresholds", 1, &th, &exclude);

	arr = json_object_get(root, "workloads");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > SUITE_MAX_WORKLOADS) {
		load_fail(l, arr ? "type" : "required", "workloads",
			  "must be a list of 1 to %d workloads",
			  SUITE_MAX_WORKLOADS);
		free(exclude);
		return;
	}
	/* A broken suite-level block would repeat its errors per workload. */
	int th_ok = l->errs->len == l->nerrs;
	s->nw = json_array_size(arr);
	s->w = optreg_xcalloc(s->nw, sizeof(*s->w));
	for (size_t i = 0; i < s->nw; i++) {
		struct optreg_buf p = OPTREG_BUF_INIT;
		optreg_buf_adds(&p, "workloads");
		optreg_doc_path_index(&p, i);
		load_workload(l, json_array_get(arr, i), p.data, &th, exclude,
			      th_ok, &s->w[i]);
		if (s->w[i].peak_steps > 0 &&
		    s->warmup_cap + s->w[i].peak_steps >
			    OPTREG_WORKLOAD_MAX_STEPS) {
			/* A run is warmup then peak; the runner refuses
			 * more steps than this in all. */
			char *pp = path_key(p.data, "peak_steps");
			optreg_error_set_hint(
				load_fail(l, "range", pp,
					  "with schedule.warmup_cap %ld must "
					  "be at most %ld (got %ld): warmup "
					  "and peak together may run %ld "
					  "steps",
					  s->warmup_cap,
					  OPTREG_WORKLOAD_MAX_STEPS -
						  s->warmup_cap,
					  s->w[i].peak_steps,
					  OPTREG_WORKLOAD_MAX_STEPS),
				"lower peak_steps or schedule.warmup_cap");
			free(pp);
		}
		for (size_t k = 0; k < i && s->w[i].name; k++)
			if (s->w[k].name && !strcmp(s->w[k].name, s->w[i].name))
				load_fail(l, "duplicate", p.data,
					  "workload %s is already in the "
					  "suite (as workloads[%zu])",
					  s->w[i].name, k);
		optreg_buf_release(&p);
	}
	free(exclude);
	v = json_object_get(root, "baseline");
	if (with_baseline && v && s->nseeds)
		load_baseline(l, v, s);
	else if (!with_baseline && v)
		load_grid_lrs(v, s);
}

/* Loads the suite of the file `path` or, when `path` is NULL, of the
 * `len` bytes of `text` (YAML or JSON, as optreg_doc_load picks by `name`
 * and content). */
static int suite_load(struct optreg_suite **out, const char *path,
		      const char *name, const char *text, size_t len,
		      int with_baseline, struct optreg_errors *errs)
{
	struct optreg_suite *s = optreg_xcalloc(1, sizeof(*s));
	struct optreg_errors local = OPTREG_ERRORS_INIT;
	struct optreg_errors *e = errs ? errs : &local;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_doc doc;
	struct load l = {.doc = &doc, .errs = e, .nerrs = e->len};
	int rc;

	*out = NULL;
	optreg_doc_init(&doc);
	rc = path ? optreg_doc_load_file(&doc, path, e)
		  : optreg_doc_load(&doc, name, text, len, e);
	if (!rc) {
		load_suite(&l, doc.root, s, with_baseline);
		if (e->len != l.nerrs)
			rc = OPTREG_EINVAL;
	}
	if (!rc)
		rc = optreg_jcs_serialize(doc.root, &canon, e);
	if (!rc) {
		optreg_jcs_digest(canon.data, canon.len, s->digest);
		*out = s;
	} else {
		optreg_errors_sort(e);
		optreg_suite_free(s);
	}
	optreg_buf_release(&canon);
	optreg_doc_release(&doc);
	optreg_errors_release(&local);
	return rc;
}

int optreg_suite_load(struct optreg_suite **out, const char *path,
		      struct optreg_errors *errs)
{
	return suite_load(out, path, NULL, NULL, 0, 1, errs);
}

int optreg_suite_load_text(struct optreg_suite **out, const char *name,
			   const char *text, size_t len,
			   struct optreg_errors *errs)
{
	return suite_load(out, NULL, name, text, len, 1, errs);
}

int optreg_suite_load_without_baseline(struct optreg_suite **out,
				       const char *path,
				       struct optreg_errors *errs)
{
	return suite_load(out, path, NULL, NULL, 0, 0, errs);
}

char *optreg_suite_default_path(void)
{
	/* As optreg_selftest_default_dir: bin/ is one level below the
	 * checkout, build/<kind>/bin/ three. */
	return optreg_path_beside_exe(
		"OPTREG_SUITE", "runner/suites/ref-v2.yaml", OPTREG_PATH_FILE,
		4, "runner/suites/ref-v2.yaml");
}
