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
#include "suite_int.h"
#include "workloads.h"

#define SUITE_MAX_WORKLOADS 64
#define SUITE_MAX_SEED	    9007199254740991.0 /* 2^53 - 1: exact in JSON */

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
		free(s->w[i].name);
		free(s->w[i].exclude);
	}
	free(s->w);
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
					"accuracy_floor and "
					"update_ratio_exclude off)");
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

static int workload_known(const char *name)
{
	for (size_t i = 0; optreg_workload_names[i]; i++)
		if (!strcmp(name, optreg_workload_names[i]))
			return 1;
	return 0;
}

static void load_workload(struct load *l, const json_t *obj, const char *path,
			  const struct optreg_thresholds *th,
			  const char *exclude, int th_ok,
			  struct suite_workload *w)
{
	static const char *const known[] = {
		"name", "steps",     "batch",	   "seed",
		"eval", "sharpness", "thresholds", NULL,
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
		    "a workload has name, steps, batch, seed, eval, "
		    "sharpness and thresholds");

	p = path_key(path, "name");
	v = json_object_get(obj, "name");
	if (!json_is_string(v) || !workload_known(json_string_value(v))) {
		char *got = v ? shown(v) : optreg_xstrdup("nothing");
		optreg_error_set_hint(load_fail(l, v ? "enum" : "required", p,
						"must name a workload (got %s)",
						got),
				      "use quadratic_deep, rosenbrock, beale, "
				      "fmnist_logreg or fmnist_mlp");
		free(got);
	} else {
		w->name = optreg_xstrdup(json_string_value(v));
	}
	free(p);

	p = path_key(path, "steps");
	if (!(v = json_object_get(obj, "steps")))
		load_fail(l, "required", p, "is required");
	else if (!get_number(l, v, p, NUM_INT, 1, 0, OPTREG_WORKLOAD_MAX_STEPS,
			     &d))
		w->steps = (long)d;
	free(p);

	p = path_key(path, "batch");
	if ((v = json_object_get(obj, "batch")) &&
	    !get_number(l, v, p, NUM_INT, 1, 0, 65536, &d))
		w->batch = (long)d;
	free(p);

	p = path_key(path, "seed");
	if (!(v = json_object_get(obj, "seed")))
		load_fail(l, "required", p, "is required");
	else if (!get_number(l, v, p, NUM_INT, 0, 0, SUITE_MAX_SEED, &d))
		w->seed = (uint64_t)d;
	free(p);

	int fmnist = w->name && !strncmp(w->name, "fmnist_", 7);
	p = path_key(path, "eval");
	if ((v = json_object_get(obj, "eval"))) {
		if (!fmnist) {
			load_fail(l, "not_applicable", p,
				  "only the fmnist_* workloads have a test "
				  "set");
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
				    "eval has only rows (0: all 10000 test "
				    "images)");
			w->eval = 1;
			if (rows &&
			    !get_number(l, rows, rp, NUM_INT, 0, 0, 10000, &d))
				w->eval_rows = (long)d;
			free(rp);
		}
	}
	free(p);

	p = path_key(path, "sharpness");
	if ((v = json_object_get(obj, "sharpness"))) {
		if (w->name && strcmp(w->name, "quadratic_deep"))
			load_fail(l, "not_applicable", p,
				  "only quadratic_deep has a known Hessian");
		else if (!json_is_boolean(v))
			load_fail(l, "type", p, "must be true or false");
		else
			w->sharpness = json_is_true(v);
	}
	free(p);

	p = path_key(path, "thresholds");
	if ((v = json_object_get(obj, "thresholds")))
		load_thresholds(l, v, p, 0, &w->th, &w->exclude);
	free(p);

	w->th.update_ratio_exclude = w->exclude;
	if (!th_ok)
		return; /* the cross-checks would repeat the suite's errors */
	if (!isnan(w->th.accuracy_floor) && w->name && !w->eval) {
		p = path_key(path, "eval");
		optreg_error_set_hint(
			load_fail(l, "required", p,
				  "is required with an accuracy_floor"),
			"add eval: {rows: 0} to measure test accuracy");
		free(p);
	}
	if (!(w->th.update_ratio_min < w->th.update_ratio_max)) {
		p = path_key(path, "thresholds");
		load_fail(l, "consistency", p,
			  "update_ratio_min must be below update_ratio_max "
			  "(got %g and %g)",
			  w->th.update_ratio_min, w->th.update_ratio_max);
		free(p);
	}
}

static void load_suite(struct load *l, const json_t *root,
		       struct optreg_suite *s)
{
	static const char *const known[] = {
		"name",
		"version",
		"description",
		"thresholds",
		"warmup_cap_fraction",
		"workloads",
		NULL,
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
	check_known(l, root, "", known,
		    "a suite has name, version, description, thresholds, "
		    "warmup_cap_fraction and workloads");

	v = json_object_get(root, "name");
	if (!v) {
		load_fail(l, "required", "name", "is required");
	} else {
		const char *n = json_string_value(v);
		size_t len = n ? strlen(n) : 0;
		int ok = len > 0 && len <= 64;
		for (size_t i = 0; ok && i < len; i++)
			ok = (n[i] >= 'a' && n[i] <= 'z') ||
			     (n[i] >= '0' && n[i] <= '9') ||
			     (i > 0 && (n[i] == '-' || n[i] == '.'));
		if (ok) {
			s->name = optreg_xstrdup(n);
		} else {
			char *got = shown(v);
			load_fail(l, "pattern", "name",
				  "must be 1 to 64 of [a-z0-9.-], starting "
				  "with a letter or digit (got %s)",
				  got);
			free(got);
		}
	}
	if (!(v = json_object_get(root, "version")))
		load_fail(l, "required", "version", "is required");
	else if (!get_number(l, v, "version", NUM_INT, 1, 0, 1000000, &d))
		s->version = (long)d;
	if ((v = json_object_get(root, "description")) && !json_is_string(v))
		load_fail(l, "type", "description", "must be a string");
	if (!(v = json_object_get(root, "warmup_cap_fraction")))
		load_fail(l, "required", "warmup_cap_fraction", "is required");
	else if (!get_number(l, v, "warmup_cap_fraction", NUM_REAL, 0, 0, 1,
			     &d))
		s->warmup_cap_fraction = d;

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
		for (size_t k = 0; k < i && s->w[i].name; k++)
			if (s->w[k].name && !strcmp(s->w[k].name, s->w[i].name))
				load_fail(l, "duplicate", p.data,
					  "workload %s is already in the "
					  "suite (as workloads[%zu])",
					  s->w[i].name, k);
		optreg_buf_release(&p);
	}
	free(exclude);
}

int optreg_suite_load(struct optreg_suite **out, const char *path,
		      struct optreg_errors *errs)
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
	rc = optreg_doc_load_file(&doc, path, e);
	if (!rc) {
		load_suite(&l, doc.root, s);
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

char *optreg_suite_default_path(void)
{
	/* As optreg_selftest_default_dir: bin/ is one level below the
	 * checkout, build/<kind>/bin/ three. */
	return optreg_path_beside_exe(
		"OPTREG_SUITE", "runner/suites/ref-v1.yaml", OPTREG_PATH_FILE,
		4, "runner/suites/ref-v1.yaml");
}
