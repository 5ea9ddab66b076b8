/*
 * runner/suite.c: the reference suite (suite.h): loading and checking the
 * suite file, and running a config through it into a verdict.
 *
 * Loading. The file goes through the validator's document loader (YAML or
 * JSON into one jansson tree, with line and column per path), then a strict
 * check: every field known, typed and in range, every error naming its
 * path. The suite's digest is the sha256 of the tree's RFC 8785 canonical
 * form, so reformatting the file or its comments never changes it.
 *
 * Running. Selftest first, on the backend the workloads will use; then each
 * workload with the config's schedule compressed to the workload's steps
 * (suite_schedule below), then the criteria of runner/findings.c. The CPU
 * backend runs OpenBLAS on one thread: the thread count changes the GEMM's
 * rounding, and a verdict must not depend on the machine's load.
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
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../validator/doc.h"
#include "../validator/jcs.h"
#include "backend.h"
#include "findings.h"
#include "idx.h"
#include "selftest.h"
#include "suite.h"
#include "workloads.h"

#define SUITE_CPU_THREADS   1
#define SUITE_CURVE_POINTS  50
#define SUITE_MAX_WORKLOADS 64
#define SUITE_MAX_SEED	    9007199254740991.0 /* 2^53 - 1: exact in JSON */

struct suite_workload {
	char *name; /* one of optreg_workload_names */
	long steps, batch;
	uint64_t seed;
	int eval;	/* fmnist_*: test-set pass after training */
	long eval_rows; /* 0: the whole test set */
	int sharpness;	/* quadratic_deep: power iteration per step */
	char *exclude;	/* owned copy of update_ratio_exclude, or NULL */
	struct optreg_thresholds th;
};

struct optreg_suite {
	char *name;
	long version;
	char digest[OPTREG_DIGEST_LEN + 1];
	double warmup_cap_fraction;
	struct suite_workload *w;
	size_t nw;
};

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
	struct optreg_buf msg = OPTREG_BUF_INIT, p = OPTREG_BUF_INIT;
	struct optreg_error *e;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	e = optreg_errors_add(l->errs, OPTREG_EINVAL, rule, path, "%s",
			      msg.data);
	optreg_buf_adds(&p, path);
	for (;;) {
		const struct optreg_doc_loc *loc =
			optreg_doc_find(l->doc, p.data);
		if (loc) {
			e->line = loc->line;
			e->col = loc->col;
			break;
		}
		if (!p.len)
			break;
		/* Strip the last `.key` or `[i]`. */
		size_t cut = p.len;
		while (cut > 0 && p.data[cut - 1] != '.' &&
		       p.data[cut - 1] != '[')
			cut--;
		p.len = cut ? cut - 1 : 0;
		p.data[p.len] = '\0';
	}
	optreg_buf_release(&p);
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
	optreg_path_key(&p, key);
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
		optreg_path_index(&p, i);
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
		optreg_digest(canon.data, canon.len, s->digest);
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
	const char *env = getenv("OPTREG_SUITE");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return optreg_xstrdup(env);
	/* As optreg_selftest_default_dir: bin/ is one level below the
	 * checkout, build/<kind>/bin/ three. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 4; up++) {
			char *slash = strrchr(exe, '/');
			struct stat st;
			char *file;

			if (!slash)
				break;
			*slash = '\0';
			file = optreg_xasprintf("%s/runner/suites/ref-v1.yaml",
						exe[0] ? exe : "");
			if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
				return file;
			free(file);
		}
	}
	return optreg_xstrdup("runner/suites/ref-v1.yaml");
}

/* ------------------------------------------------------------------------
 * Running
 */

/*
 * The config's schedule on a workload of `steps` steps. A config describes
 * a run of total_steps T; the suite runs far fewer, so the schedule is
 * scaled to keep its shape: T' = steps, W' = round(W * steps / T), at
 * least 1 when W > 0. Without T (constant and inverse_sqrt may leave it
 * out) there is no length to scale by: W stays as written, capped at
 * warmup_cap_fraction of the steps so that most of the run is at the
 * config's peak learning rate, where it is judged. min_lr stays.
 */
static struct optreg_schedule suite_schedule(const struct optreg_suite *s,
					     const struct optreg_schedule *in,
					     long steps)
{
	struct optreg_schedule out = *in;

	if (in->total_steps > 0) {
		double w = (double)in->warmup_steps * (double)steps /
			   (double)in->total_steps;
		out.total_steps = steps;
		out.warmup_steps = (long)floor(w + 0.5);
		if (in->warmup_steps > 0 && out.warmup_steps < 1)
			out.warmup_steps = 1;
	} else {
		long cap = (long)floor(s->warmup_cap_fraction * (double)steps);
		if (out.warmup_steps > cap)
			out.warmup_steps = cap;
	}
	return out;
}

static const char *schedule_kind_name(enum optreg_schedule_kind k)
{
	switch (k) {
	case OPTREG_SCHEDULE_CONSTANT:
		return "constant";
	case OPTREG_SCHEDULE_LINEAR:
		return "linear";
	case OPTREG_SCHEDULE_COSINE:
		return "cosine";
	case OPTREG_SCHEDULE_INVERSE_SQRT:
		return "inverse_sqrt";
	}
	return "constant";
}

/*
 * Per-step progress. optreg_workload_run has no step callback, so the run
 * goes through a copy of the backend whose adam_step (once per optimizer
 * step) and softmax_xent (the training loss of the fmnist_* batches) report
 * to the caller's function before returning the real backend's answer. The
 * state is per thread: one suite run at a time per thread.
 */
struct progress {
	const struct optreg_backend *be;
	optreg_progress_fn fn;
	void *ctx;
	const char *workload;
	long steps;
	double loss; /* the last training batch's, NAN when unknown */
};

static _Thread_local struct progress *progress_now;

static int progress_softmax_xent(void *ctx, const float *logits,
				 const float *labels, size_t rows,
				 size_t classes, float *dlogits,
				 double *loss_sum, size_t *correct)
{
	struct progress *p = progress_now;
	int rc = p->be->softmax_xent(ctx, logits, labels, rows, classes,
				     dlogits, loss_sum, correct);

	if (!rc && dlogits && rows)
		p->loss = *loss_sum / (double)rows;
	return rc;
}

static int progress_adam_step(void *ctx, const struct optreg_adam_step *st,
			      struct optreg_adam_step_out *out)
{
	struct progress *p = progress_now;
	int rc = p->be->adam_step(ctx, st, out);

	if (!rc)
		p->fn(p->ctx, p->workload, st->step, p->steps, p->loss);
	return rc;
}

/* The judged loss at <= SUITE_CURVE_POINTS points: step 1, then the means
 * of equal runs of the remaining steps, each at its last step. */
static json_t *loss_curve(const struct optreg_workload_result *res)
{
	const double *loss =
		res->expected_loss ? res->expected_loss : res->loss;
	long n = res->steps_run, buckets = SUITE_CURVE_POINTS - 1;
	json_t *curve = json_array();

	if (n < 1)
		return curve;
	json_array_append_new(curve, json_pack("[I, o]", (json_int_t)1,
					       optreg_json_number(loss[0])));
	if (n - 1 < buckets)
		buckets = n - 1;
	for (long b = 0; b < buckets; b++) {
		long from = 2 + b * (n - 1) / buckets;
		long to = 1 + (b + 1) * (n - 1) / buckets;
		double sum = 0;
		for (long t = from; t <= to; t++)
			sum += loss[t - 1];
		json_array_append_new(
			curve,
			json_pack("[I, o]", (json_int_t)to,
				  optreg_json_number(sum /
						     (double)(to - from + 1))));
	}
	return curve;
}

static void time_now(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The first line of `errs` as one string, for a finding. malloc'd. */
static char *errors_line(const struct optreg_errors *errs, const char *what)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	if (!errs->len)
		return optreg_xasprintf("%s failed", what);
	optreg_errors_format(errs, NULL, &b);
	/* Keep the whole report, one line per error, minus the last '\n'. */
	if (b.len && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	return optreg_buf_detach(&b, NULL);
}

/*
 * Selftest on `be`: 0 when the arithmetic agrees, else an `error` finding
 * in `findings` naming the first disagreement.
 */
static int suite_selftest(struct optreg_backend *be, json_t *verdict,
			  json_t *findings)
{
	char *dir = optreg_selftest_default_dir();
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int passed = 0, failed = 0, rc = OPTREG_ENOMEM;

	if (mem) {
		rc = optreg_selftest_run_on(be, dir, mem, &passed, &failed);
		fclose(mem);
	}
	json_object_set_new(
		verdict, "selftest",
		json_pack("{s:i, s:i}", "passed", passed, "failed", failed));
	if (rc) {
		/* The first FAIL line says what disagreed, or what could not
		 * be read. */
		const char *why = text ? strstr(text, "FAIL ") : NULL;
		int wl = why ? (int)strcspn(why + 5, "\n") : 0;
		json_t *values = json_pack("{s:i, s:i, s:s}", "passed", passed,
					   "failed", failed, "golden", dir);
		json_t *f;
		if (passed + failed == 0)
			f = optreg_finding_new(
				"selftest", "error", NULL, 0, values,
				"cannot check the runner's Adam arithmetic: "
				"%.*s%s; it refuses to judge",
				wl, why ? why + 5 : "",
				why ? "" : "no golden traces found");
		else
			f = optreg_finding_new(
				"selftest", "error", NULL, 0, values,
				"the runner's Adam arithmetic does not match "
				"PyTorch's golden traces (%d of %d cases "
				"failed; first: %.*s); it refuses to judge",
				failed, passed + failed, wl,
				why ? why + 5 : "");
		json_array_append_new(findings, f);
	}
	free(text);
	free(dir);
	return rc ? -1 : 0;
}

/* Runs and judges one workload; appends its entry and findings. */
static void suite_workload_run(const struct optreg_suite *s,
			       const struct suite_workload *sw,
			       const struct optreg_config *cfg,
			       const struct optreg_backend *be,
			       const struct optreg_fmnist *fm,
			       const struct optreg_errors *fm_errs,
			       struct progress *prog, json_t *workloads,
			       json_t *findings, json_t *times)
{
	struct optreg_schedule sched =
		suite_schedule(s, &cfg->schedule, sw->steps);
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_workload_result res;
	struct optreg_workload_spec spec = {
		.name = sw->name,
		.steps = sw->steps,
		.batch = sw->batch,
		.seed = sw->seed,
		.schedule = &sched,
		.fmnist = fm,
		.skip_eval = !sw->eval,
		.eval_rows = sw->eval_rows,
		.skip_sharpness = !sw->sharpness,
	};
	struct optreg_backend wrapped = *be;
	json_t *entry = json_object(), *wf = json_array();
	int rc;

	json_object_set_new(entry, "name", json_string(sw->name));
	json_object_set_new(entry, "steps", json_integer(sw->steps));
	json_object_set_new(entry, "batch", json_integer(sw->batch));
	json_object_set_new(entry, "seed", json_integer((json_int_t)sw->seed));
	json_object_set_new(
		entry, "schedule",
		json_pack("{s:s, s:I, s:I}", "kind",
			  schedule_kind_name(sched.kind), "warmup_steps",
			  (json_int_t)sched.warmup_steps, "total_steps",
			  (json_int_t)sched.total_steps));
	json_object_set_new(entry, "result", json_string("error"));

	memset(&res, 0, sizeof(res));
	if (!strncmp(sw->name, "fmnist_", 7) && !fm) {
		/* Fashion-MNIST could not be loaded once for the suite. */
		char *why = errors_line(fm_errs, "loading Fashion-MNIST");
		json_array_append_new(
			wf, optreg_finding_new("workload_error", "error",
					       sw->name, 0, NULL,
					       "workload %s could not run: %s",
					       sw->name, why));
		free(why);
		rc = -1;
	} else {
		if (prog->fn) {
			prog->workload = sw->name;
			prog->steps = sw->steps;
			prog->loss = NAN;
			wrapped.adam_step = progress_adam_step;
			wrapped.softmax_xent = progress_softmax_xent;
			progress_now = prog;
		}
		rc = optreg_workload_run(&spec, cfg, &wrapped, &res, &errs);
		progress_now = NULL;
		if (rc) {
			char *why = errors_line(&errs, "the workload");
			json_array_append_new(
				wf,
				optreg_finding_new(
					"workload_error", "error", sw->name, 0,
					NULL, "workload %s could not run: %s",
					sw->name, why));
			free(why);
		}
	}

	if (!rc) {
		json_t *metrics = json_object();
		rc = optreg_findings_judge(&res, &sw->th, sched.warmup_steps,
					   metrics, wf, &errs);
		if (rc) {
			char *why = errors_line(&errs, "judging");
			json_array_append_new(
				wf, optreg_finding_new("workload_error",
						       "error", sw->name, 0,
						       NULL, "%s", why));
			free(why);
		}
		json_object_set_new(entry, "metrics", metrics);
		json_object_set_new(entry, "loss_curve", loss_curve(&res));
		json_object_set_new(times, sw->name,
				    optreg_json_number(res.seconds));
		if (prog->fn) {
			const double *l = res.expected_loss ? res.expected_loss
							    : res.loss;
			prog->fn(prog->ctx, sw->name, res.steps_run, sw->steps,
				 res.steps_run ? l[res.steps_run - 1] : NAN);
		}
	}
	json_object_set_new(entry, "result",
			    json_string(optreg_findings_result(wf)));
	json_array_extend(findings, wf);
	json_decref(wf);
	json_array_append_new(workloads, entry);
	optreg_workload_result_release(&res);
	optreg_errors_release(&errs);
}

int optreg_suite_run(const struct optreg_suite *s,
		     const struct optreg_config *cfg, const char *config_digest,
		     optreg_progress_fn progress, void *ctx, json_t **verdict,
		     struct optreg_errors *errs)
{
	struct optreg_errors fm_errs = OPTREG_ERRORS_INIT;
	struct optreg_fmnist fm;
	struct optreg_backend be;
	struct progress prog = {.fn = progress, .ctx = ctx, .be = &be};
	json_t *v, *findings, *workloads, *times;
	char started[32];
	double t0 = mono_now();
	int need_fmnist = 0, have_fmnist = 0, rc;

	*verdict = NULL;
	time_now(started);
	rc = optreg_cpu_backend_init(&be, SUITE_CPU_THREADS, errs);
	if (rc)
		return rc;

	v = json_object();
	findings = json_array();
	workloads = json_array();
	times = json_object();
	json_object_set_new(v, "config_digest", json_string(config_digest));
	json_object_set_new(v, "suite", json_string(s->name));
	json_object_set_new(v, "suite_digest", json_string(s->digest));
	json_object_set_new(v, "runner_version",
			    json_string(OPTREG_RUNNER_VERSION));
	json_object_set_new(v, "device", json_string(be.device));
	json_object_set_new(v, "result", json_string("error"));

	if (suite_selftest(&be, v, findings) == 0) {
		for (size_t i = 0; i < s->nw; i++)
			need_fmnist |= !strncmp(s->w[i].name, "fmnist_", 7);
		if (need_fmnist)
			have_fmnist = !optreg_fmnist_load(NULL, &fm, &fm_errs);
		for (size_t i = 0; i < s->nw; i++)
			suite_workload_run(s, &s->w[i], cfg, &be,
					   have_fmnist ? &fm : NULL, &fm_errs,
					   &prog, workloads, findings, times);
		if (have_fmnist)
			optreg_fmnist_release(&fm);
	}

	json_object_set_new(v, "result",
			    json_string(optreg_findings_result(findings)));
	json_object_set_new(v, "workloads", workloads);
	json_object_set_new(v, "findings", findings);
	json_object_set_new(v, "time",
			    json_pack("{s:s, s:o, s:o}", "started_at", started,
				      "seconds",
				      optreg_json_number(mono_now() - t0),
				      "train_seconds", times));
	be.destroy(&be);
	optreg_errors_release(&fm_errs);
	*verdict = v;
	return 0;
}
