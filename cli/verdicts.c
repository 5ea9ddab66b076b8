/*
 * cli/verdicts.c: `optreg verdicts REF [--brief] [--verify]`.
 *
 * Lists the signed verdicts the validation runners recorded for a version
 * (GET .../versions/{n}/verdicts), newest first, and shows what each
 * envelope's payload says: the findings and a loss-curve sparkline per
 * workload, in 80 columns. With --verify each
 * verdict's envelope is checked here rather than trusted: a valid
 * signature by a key GET /v1/keys lists for the namespace (not revoked
 * before the verdict was recorded), among them the runner key the registry
 * says it checked, and a payload that names this version's digest and
 * agrees with what the registry lists (job, suite, suite digest, result).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "../common/verify.h"
#include "cli.h"
#include "wrap.h"

static const char help[] =
	"usage: optreg verdicts NAMESPACE/NAME[@VERSION|@TAG] [--brief] "
	"[--verify]\n"
	"                       [--json] [--url URL] [--token TOKEN]\n\n"
	"Shows the verdicts the validation runners recorded for a version "
	"(NAMESPACE/NAME\n"
	"alone: the latest), newest first: a table, then for each verdict "
	"its findings\n"
	"(severity, workload, criterion, step, on how many seeds; then the "
	"values that\n"
	"tripped it and the runner's message) and a loss curve per workload "
	"as a\n"
	"sparkline (the median over the seeds; log scale where the loss "
	"spans decades):\n"
	"  JOB  RESULT  SUITE   RUNNER      CREATED                   "
	"FINDINGS\n"
	"  12   fail    ref-v2  runner@ops  2026-11-23T10:00:00.000Z  1\n\n"
	"  job 12: fail on suite ref-v2, runner 0.2.0 on cpu: ...\n"
	"  findings\n"
	"    FAIL  fmnist_mlp  loss_explosion  step 2  3/3 seeds\n"
	"          loss 12560, initial_loss 2.41, ratio 5210, limit 10, ...\n"
	"          loss reached 1.256e+04 at step 2, 5.21e+03x the initial "
	"2.41 ...\n"
	"  loss curves (median over seeds 1 2 3; \u2581 lowest, \u2588 highest "
	"loss):\n"
	"    fmnist_mlp  steps 1-30  loss 2.41 -> 2.29  max 1.256e+04 at "
	"step 2\n"
	"    \u2581\u2588\u2587\u2586\u2585\u2584\u2583\u2582\u2582\u2581\n"
	"Lines fit 80 columns. The details are what each verdict's envelope "
	"says;\n"
	"--verify checks the envelopes first.\n\n"
	"Options:\n"
	"  --brief          the table only\n"
	"  --verify         check every verdict's signature against the keys "
	"GET /v1/keys\n"
	"                   lists (registered for the namespace, not revoked "
	"before the\n"
	"                   verdict) and that its payload names this "
	"version's digest\n"
	"  --json           print the registry's {\"verdicts\": [...], "
	"\"jobs\": [...]}\n"
	"                   (newest first), each verdict with \"verdict\" "
	"(its decoded\n"
	"                   payload) and \"loss_curves\" ([{\"workload\", "
	"\"seeds\",\n"
	"                   \"points\": [[step, loss]], \"log_scale\", "
	"\"sparkline\"}])\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 1 --verify failed, 2 usage, 4 denied, 6 "
	"unauthorized,\n"
	"7 unavailable, 8 not found. See docs/cli.md.\n";

/* Parses the envelope of a listed verdict; 0 or -1. */
static int envelope_of(const json_t *v, struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const json_t *ej = json_object_get(v, "envelope");
	char *text = json_is_object(ej) ? json_dumps(ej, JSON_COMPACT) : NULL;
	int rc = text && optreg_dsse_parse(env, text, strlen(text), &errs) == 0
			 ? 0
			 : -1;

	free(text);
	optreg_errors_release(&errs);
	return rc;
}

/* The envelope's payload as a JSON object (new reference), or NULL. */
static json_t *payload_of(const struct optreg_dsse *env)
{
	json_t *p = optreg_json_load_doubles(env->payload.data,
					     env->payload.len, 0, NULL);

	if (json_is_object(p))
		return p;
	json_decref(p);
	return NULL;
}

/* Newest first: created_at descending, then job id descending. */
static int newest_first(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *cx = optreg_json_str(x, "created_at"),
		   *cy = optreg_json_str(y, "created_at");
	long jx = 0, jy = 0;
	int c = strcmp(cy ? cy : "", cx ? cx : "");

	if (c)
		return c;
	cli_json_count(x, "job_id", &jx);
	cli_json_count(y, "job_id", &jy);
	return (jy > jx) - (jy < jx);
}

/* Sorts the list in place. */
static void sort_verdicts(json_t *list)
{
	size_t n = json_array_size(list);
	json_t **items = optreg_xcalloc(n + 1, sizeof(*items));

	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(list, i));
	qsort(items, n, sizeof(*items), newest_first);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
}

/* Cuts the RUNNER cells (column 3 of 6) so that a row fits 80 columns:
 * the other columns are short or fixed, a principal may be long. */
static void fit_runner(char **cells, size_t n)
{
	size_t widths[6] = {3, 6, 5, 6, 7, 8}; /* the headings */
	size_t others = 2 * 5, room;

	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < 6; c++)
			if (strlen(cells[i * 6 + c]) > widths[c])
				widths[c] = strlen(cells[i * 6 + c]);
	for (size_t c = 0; c < 6; c++)
		if (c != 3)
			others += widths[c];
	room = others + 8 < 80 ? 80 - others : 8;
	for (size_t i = 0; i < n; i++) {
		char *cut = cli_cut(cells[i * 6 + 3], room);

		free(cells[i * 6 + 3]);
		cells[i * 6 + 3] = cut;
	}
}

static int print_table(const json_t *list)
{
	static const char *const head[] = {"JOB",    "RESULT",	"SUITE",
					   "RUNNER", "CREATED", "FINDINGS"};
	enum {
		NCOLS = 6
	};
	size_t n = json_array_size(list);
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc;

	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(list, i);
		char **row = cells + i * NCOLS;
		struct optreg_dsse env;
		json_t *p = NULL;
		long job = 0;

		optreg_dsse_init(&env);
		if (envelope_of(v, &env) == 0)
			p = payload_of(&env);
		cli_json_count(v, "job_id", &job);
		row[0] = optreg_xasprintf("%ld", job);
		row[1] = optreg_xstrdup(cli_cell(optreg_json_str(v, "result")));
		row[2] = optreg_xstrdup(cli_cell(optreg_json_str(v, "suite")));
		row[3] = optreg_xstrdup(cli_cell(optreg_json_str(v, "runner")));
		row[4] = optreg_xstrdup(
			cli_cell(optreg_json_str(v, "created_at")));
		row[5] = json_is_array(json_object_get(p, "findings"))
				 ? optreg_xasprintf(
					   "%zu",
					   json_array_size(json_object_get(
						   p, "findings")))
				 : optreg_xstrdup("-");
		json_decref(p);
		optreg_dsse_release(&env);
	}
	fit_runner(cells, n);
	rc = cli_print_table(head, NCOLS, cells, n);
	for (size_t i = 0; i < n * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* ---------------------------------------------------------- details */

/* A number, bool, string or null of a finding's values, for people. */
static void value_add(struct optreg_buf *b, const json_t *v)
{
	if (json_is_integer(v)) {
		optreg_buf_addf(b, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v) && fabs(json_real_value(v)) < 1e7 &&
		   json_real_value(v) == floor(json_real_value(v))) {
		optreg_buf_addf(b, "%.0f", json_real_value(v));
	} else if (json_is_real(v)) {
		optreg_buf_addf(b, "%.4g", json_real_value(v));
	} else if (json_is_string(v)) {
		optreg_buf_adds(b, json_string_value(v));
	} else if (json_is_true(v) || json_is_false(v)) {
		optreg_buf_adds(b, json_is_true(v) ? "true" : "false");
	} else if (json_is_null(v) || !v) {
		optreg_buf_adds(b, "null");
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(4));
		optreg_buf_adds(b, s ? s : "?");
		free(s);
	}
}

/* "loss 12560, ratio 5210, limit 10, per seed 1: 5210, 2: 4990". */
static void values_add(struct optreg_buf *b, const json_t *values)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)values, key, v)
	{
		if (b->len)
			optreg_buf_adds(b, ", ");
		if (!strcmp(key, "per_seed") && json_is_object(v)) {
			const char *seed;
			const json_t *x;
			bool first = true;
			optreg_buf_adds(b, "per seed");
			json_object_foreach((json_t *)v, seed, x)
			{
				optreg_buf_addf(b, "%s %s: ", first ? "" : ",",
						seed);
				value_add(b, x);
				first = false;
			}
			continue;
		}
		optreg_buf_addf(b, "%s ", key);
		value_add(b, v);
	}
}

/* "3/3 seeds" from {"showed": [...], "of": n}; empty for none. */
static void seeds_add(struct optreg_buf *b, const json_t *seeds)
{
	long of = 0;

	if (json_is_object(seeds) && cli_json_count(seeds, "of", &of) == 0 &&
	    json_is_array(json_object_get(seeds, "showed")))
		optreg_buf_addf(
			b, "%zu/%ld seeds",
			json_array_size(json_object_get(seeds, "showed")), of);
}

/* The upper-case severity, FAIL/WARN/ERROR/... */
static void severity_add(struct optreg_buf *b, const char *sev)
{
	for (const char *p = sev ? sev : "-"; *p; p++)
		optreg_buf_addch(b,
				 (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
}

/* Widest workload and criterion among the findings, for alignment. */
static void finding_widths(const json_t *list, size_t *ww, size_t *cw)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *f = json_array_get(list, i);
		const char *w = optreg_json_str(f, "workload"),
			   *c = optreg_json_str(f, "criterion");
		size_t lw = w ? cli_wrap_columns(w) : 1,
		       lc = c ? cli_wrap_columns(c) : 1;
		if (lw > *ww)
			*ww = lw;
		if (lc > *cw)
			*cw = lc;
	}
	if (*ww > 16)
		*ww = 16;
	if (*cw > 20)
		*cw = 20;
}

/*
 * One finding, wrapped to 80 columns:
 *   FAIL   fmnist_mlp  loss_explosion  step 2  3/3 seeds
 *          loss 12560, initial_loss 2.41, ratio 5210, limit 10, ...
 *          loss reached 1.256e+04 at step 2, 5.21e+03x the initial ...
 */
static void finding_add(struct optreg_buf *out, const json_t *f, size_t ww,
			size_t cw)
{
	struct optreg_buf head = OPTREG_BUF_INIT, vals = OPTREG_BUF_INIT;
	const char *w = optreg_json_str(f, "workload"),
		   *c = optreg_json_str(f, "criterion");
	const json_t *step = json_object_get(f, "step");
	const char *msg = optreg_json_str(f, "message");
	size_t lw = w ? cli_wrap_columns(w) : 1,
	       lc = c ? cli_wrap_columns(c) : 1;

	severity_add(&head, optreg_json_str(f, "severity"));
	while (cli_wrap_columns(head.data) < 5)
		optreg_buf_addch(&head, ' ');
	optreg_buf_addf(&head, " %s%*s  %s%*s", w ? w : "-",
			(int)(lw < ww ? ww - lw : 0), "", c ? c : "-",
			(int)(lc < cw ? cw - lc : 0), "");
	optreg_buf_adds(&head, "  step ");
	if (json_is_number(step))
		value_add(&head, step);
	else
		optreg_buf_addch(&head, '-');
	while (cli_wrap_columns(head.data) < 5 + 1 + ww + 2 + cw + 2 + 5 + 5)
		optreg_buf_addch(&head, ' ');
	if (json_object_get(f, "seeds")) {
		optreg_buf_adds(&head, " ");
		seeds_add(&head, json_object_get(f, "seeds"));
	}
	cli_wrap_add(out, "  ", head.data, 8, CLI_WRAP_WIDTH);
	if (json_is_object(json_object_get(f, "values"))) {
		values_add(&vals, json_object_get(f, "values"));
		if (vals.len)
			cli_wrap_add(out, "        ", vals.data, 8,
				     CLI_WRAP_WIDTH);
	}
	if (msg && *msg)
		cli_wrap_add(out, "        ", msg, 8, CLI_WRAP_WIDTH);
	optreg_buf_release(&head);
	optreg_buf_release(&vals);
}

static void findings_add(struct optreg_buf *out, const char *title,
			 const json_t *list)
{
	size_t ww = 1, cw = 1;

	if (!json_array_size(list))
		return;
	finding_widths(list, &ww, &cw);
	optreg_buf_addf(out, "%s\n", title);
	for (size_t i = 0; i < json_array_size(list); i++)
		finding_add(out, json_array_get(list, i), ww, cw);
}

/* The loss of a [step, loss] point: NaN when null or not a point. */
static double point_loss(const json_t *pt)
{
	const json_t *l = json_array_get(pt, 1);

	return json_is_number(l) ? json_number_value(l) : NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The loss curve of workload `w` as {"workload", "seeds", "points":
 * [[step, loss|null]...], "log_scale", "sparkline"} (a new reference), or
 * NULL when it has none. With one run per seed (`runs[]`), each point is
 * the median over the seeds whose curve has a finite loss at that step,
 * at the steps of the longest curve; a verdict of one seed has the
 * workload's own `loss_curve`.
 */
static json_t *curve_of(const json_t *w)
{
	const json_t *runs = json_object_get(w, "runs"), *longest = NULL;
	json_t *points = json_array(), *seeds = json_array(), *out;
	struct optreg_buf line = OPTREG_BUF_INIT;
	double *v, *col, lo, hi;
	size_t n, nruns = json_array_size(runs);
	bool log_scale;

	if (nruns) {
		for (size_t r = 0; r < nruns; r++) {
			const json_t *run = json_array_get(runs, r);
			const json_t *c = json_object_get(run, "loss_curve");
			if (json_is_number(json_object_get(run, "seed")))
				json_array_append(seeds,
						  json_object_get(run, "seed"));
			if (json_is_array(c) &&
			    json_array_size(c) > json_array_size(longest))
				longest = c;
		}
	} else {
		longest = json_object_get(w, "loss_curve");
		if (json_is_number(json_object_get(w, "seed")))
			json_array_append(seeds, json_object_get(w, "seed"));
	}
	n = json_array_size(longest);
	if (!n) {
		json_decref(points);
		json_decref(seeds);
		return NULL;
	}
	v = optreg_xcalloc(n, sizeof(*v));
	col = optreg_xcalloc(nruns + 1, sizeof(*col));
	for (size_t i = 0; i < n; i++) {
		const json_t *pt = json_array_get(longest, i);
		const json_t *step = json_array_get(pt, 0);
		size_t k = 0;
		for (size_t r = 0; r < nruns; r++) {
			const json_t *c = json_object_get(
				json_array_get(runs, r), "loss_curve");
			for (size_t j = 0; j < json_array_size(c); j++) {
				const json_t *q = json_array_get(c, j);
				if (json_is_number(step) &&
				    json_is_number(json_array_get(q, 0)) &&
				    json_number_value(json_array_get(q, 0)) ==
					    json_number_value(step)) {
					double l = point_loss(q);
					if (isfinite(l))
						col[k++] = l;
					break;
				}
			}
		}
		if (!nruns) {
			v[i] = point_loss(pt);
		} else if (!k) {
			v[i] = NAN;
		} else {
			qsort(col, k, sizeof(*col), cmp_double);
			v[i] = k % 2 ? col[k / 2]
				     : (col[k / 2 - 1] + col[k / 2]) / 2;
		}
		json_array_append_new(
			points, json_pack("[O, o]", step ? step : json_null(),
					  isfinite(v[i]) ? json_real(v[i])
							 : json_null()));
	}
	log_scale = cli_wrap_spans_decades(v, n, &lo, &hi);
	cli_wrap_sparkline(&line, v, n, log_scale);
	out = json_pack("{s:s?, s:o, s:o, s:b, s:s}", "workload",
			optreg_json_str(w, "name"), "seeds", seeds, "points",
			points, "log_scale", log_scale, "sparkline", line.data);
	optreg_buf_release(&line);
	free(v);
	free(col);
	return out;
}

/* The loss curves of every workload of verdict payload `p`, in order. */
static json_t *curves_of(const json_t *p)
{
	const json_t *ws = json_object_get(p, "workloads");
	json_t *out = json_array();

	for (size_t i = 0; i < json_array_size(ws); i++) {
		json_t *c = curve_of(json_array_get(ws, i));
		if (c)
			json_array_append_new(out, c);
	}
	return out;
}

/* A number for a curve's summary line: "2.41", "1.256e+04". */
static void loss_add(struct optreg_buf *b, const json_t *pt)
{
	const json_t *l = json_array_get(pt, 1);

	if (json_is_number(l))
		optreg_buf_addf(b, "%.4g", json_number_value(l));
	else
		optreg_buf_adds(b, "not finite");
}

/*
 * A workload's curve:
 *   fmnist_mlp  steps 1-30  loss 2.41 -> 2.29  max 1.256e+04 at step 2
 *   ▁█▇▆▅▄▃▂▂▁...
 */
static void curve_add(struct optreg_buf *out, const json_t *c)
{
	struct optreg_buf head = OPTREG_BUF_INIT;
	const json_t *pts = json_object_get(c, "points");
	const json_t *first = json_array_get(pts, 0),
		     *last = json_array_get(pts, json_array_size(pts) - 1),
		     *max = NULL;
	double mx = 0;

	for (size_t i = 0; i < json_array_size(pts); i++) {
		const json_t *pt = json_array_get(pts, i);
		double l = point_loss(pt);
		if (isfinite(l) && (!max || l > mx)) {
			max = pt;
			mx = l;
		}
	}
	optreg_buf_addf(&head, "%s  steps ",
			cli_cell(optreg_json_str(c, "workload")));
	value_add(&head, json_array_get(first, 0));
	optreg_buf_addch(&head, '-');
	value_add(&head, json_array_get(last, 0));
	optreg_buf_adds(&head, "  loss ");
	loss_add(&head, first);
	optreg_buf_adds(&head, " -> ");
	loss_add(&head, last);
	if (max) {
		optreg_buf_adds(&head, "  max ");
		loss_add(&head, max);
		optreg_buf_adds(&head, " at step ");
		value_add(&head, json_array_get(max, 0));
	}
	if (json_is_true(json_object_get(c, "log_scale")))
		optreg_buf_adds(&head, "  (log scale: the loss spans decades)");
	cli_wrap_add(out, "  ", head.data, 4, CLI_WRAP_WIDTH);
	/* The sparkline is at most 50 characters (docs/runner.md). */
	cli_wrap_add(out, "  ", optreg_json_str(c, "sparkline"), 2,
		     CLI_WRAP_WIDTH);
	optreg_buf_release(&head);
}

/*
 * What verdict `v` (its payload `p`) says, for people: a heading, the
 * counted findings, the minority ones, and a loss curve per workload.
 */
static void details_add(struct optreg_buf *out, const json_t *v,
			const json_t *p)
{
	struct optreg_buf head = OPTREG_BUF_INIT, minority = OPTREG_BUF_INIT;
	const json_t *ws = json_object_get(p, "workloads");
	json_t *curves = curves_of(p), *minor = json_array();
	const json_t *seeds = json_object_get(p, "seeds");
	const char *device = optreg_json_str(p, "device");
	long job = 0;

	cli_json_count(v, "job_id", &job);
	optreg_buf_addf(&head, "job %ld: %s on suite %s", job,
			cli_cell(optreg_json_str(p, "result")),
			cli_cell(optreg_json_str(p, "suite")));
	if (optreg_json_str(p, "runner_version"))
		optreg_buf_addf(&head, ", runner %s",
				optreg_json_str(p, "runner_version"));
	if (device)
		optreg_buf_addf(&head, " on %s", device);
	cli_wrap_add(out, "", head.data, 4, CLI_WRAP_WIDTH);
	for (size_t i = 0; i < json_array_size(ws); i++) {
		const json_t *w = json_array_get(ws, i);
		const json_t *m = json_object_get(w, "minority");
		for (size_t j = 0; j < json_array_size(m); j++)
			json_array_append(minor, json_array_get(m, j));
		if (optreg_json_str(w, "skipped"))
			optreg_buf_addf(&minority, "%s%s skipped: %s",
					minority.len ? "; " : "",
					cli_cell(optreg_json_str(w, "name")),
					optreg_json_str(w, "skipped"));
	}
	if (json_array_size(json_object_get(p, "findings")))
		findings_add(out, "findings", json_object_get(p, "findings"));
	else if (json_is_array(json_object_get(p, "findings")))
		optreg_buf_adds(out, "findings: none\n");
	findings_add(out, "on a minority of seeds (not counted)", minor);
	if (minority.len)
		cli_wrap_add(out, "", minority.data, 4, CLI_WRAP_WIDTH);
	if (json_array_size(curves)) {
		struct optreg_buf t = OPTREG_BUF_INIT;
		optreg_buf_adds(&t, "loss curves (");
		if (json_array_size(seeds) > 1) {
			optreg_buf_adds(&t, "median over seeds");
			for (size_t i = 0; i < json_array_size(seeds); i++) {
				optreg_buf_addch(&t, ' ');
				value_add(&t, json_array_get(seeds, i));
			}
			optreg_buf_adds(&t, "; ");
		}
		optreg_buf_adds(&t,
				"\u2581 lowest, \u2588 highest loss of each "
				"curve");
		optreg_buf_adds(&t, "):");
		cli_wrap_add(out, "", t.data, 4, CLI_WRAP_WIDTH);
		optreg_buf_release(&t);
		for (size_t i = 0; i < json_array_size(curves); i++)
			curve_add(out, json_array_get(curves, i));
	}
	json_decref(curves);
	json_decref(minor);
	optreg_buf_release(&head);
	optreg_buf_release(&minority);
}

/* The decoded payload of every listed verdict: each verdict gets
 * "verdict" (the payload, as the envelope says) and "loss_curves". */
static void decode_all(json_t *list)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *v = json_array_get(list, i);
		struct optreg_dsse env;
		json_t *p = NULL;

		optreg_dsse_init(&env);
		if (envelope_of(v, &env) == 0) {
			p = json_loadb(env.payload.data, env.payload.len, 0,
				       NULL);
			if (!json_is_object(p)) {
				json_decref(p);
				p = payload_of(&env);
			}
		}
		optreg_dsse_release(&env);
		if (!p)
			continue;
		json_object_set_new(v, "loss_curves", curves_of(p));
		json_object_set_new(v, "verdict", p);
	}
}

/* Prints every listed verdict's details after the table. */
static int print_details(const json_t *list)
{
	struct optreg_buf out = OPTREG_BUF_INIT;
	int rc;

	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *v = json_array_get(list, i);
		const json_t *p = json_object_get(v, "verdict");
		if (!json_is_object(p))
			continue;
		optreg_buf_addch(&out, '\n');
		details_add(&out, v, p);
	}
	rc = cli_write_stdout(&out);
	optreg_buf_release(&out);
	return rc;
}

#define FAIL(fails, path, ...)                                                 \
	optreg_errors_add(fails, OPTREG_EINVAL, "verdict", path, __VA_ARGS__)

/*
 * Checks verdict `v` (listed at index `i`) of version `ns`@`digest`;
 * appends failures to `fails` and one "KEYID (PRINCIPAL)" per valid key to
 * `signers`.
 */
static void verify_one(const json_t *v, size_t i, const char *ns,
		       const char *digest, const struct optreg_keyset *ks,
		       struct optreg_buf *signers, struct optreg_errors *fails)
{
	struct optreg_errors why = OPTREG_ERRORS_INIT;
	const struct optreg_keyset_key **valid = NULL;
	const char *keyid = optreg_json_str(v, "runner_keyid");
	struct optreg_sig_policy pol = {.ns = ns,
					.at = optreg_json_str(v, "created_at"),
					.prefix = "envelope",
					.purpose = OPTREG_KEY_PURPOSE_VERDICT,
					.voice = OPTREG_VOICE_CLIENT};
	struct optreg_dsse env;
	char prefix[48];
	json_t *p = NULL;
	long job = -1;
	size_t nvalid = 0;
	bool named = false;

	snprintf(prefix, sizeof(prefix), "verdicts[%zu]", i);
	optreg_dsse_init(&env);
	cli_json_count(v, "job_id", &job);
	if (envelope_of(v, &env) < 0) {
		FAIL(fails, prefix, "expected a DSSE envelope, got %s",
		     json_object_get(v, "envelope") ? "one that does not parse"
						    : "none");
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_VERDICT_PAYLOAD_TYPE))
		FAIL(fails, prefix, "payloadType: expected \"%s\", got \"%s\"",
		     OPTREG_VERDICT_PAYLOAD_TYPE, env.payload_type);
	valid = optreg_xcalloc(env.nsigs + 1, sizeof(*valid));
	optreg_envelope_verify(ks, &env, &pol, valid, &nvalid, &why);
	if (!nvalid) {
		for (size_t k = 0; k < why.len; k++)
			FAIL(fails, prefix, "%s: %s", why.items[k].path,
			     why.items[k].message);
		FAIL(fails, prefix,
		     "expected a valid signature by a runner key registered "
		     "for %s, got none of %zu",
		     ns, env.nsigs);
	}
	for (size_t k = 0; k < nvalid; k++) {
		optreg_buf_addf(signers, "%s%s (%s)", signers->len ? ", " : "",
				valid[k]->id,
				valid[k]->principal ? valid[k]->principal
						    : "?");
		named |= keyid && !strcmp(keyid, valid[k]->id);
	}
	if (nvalid && !named)
		FAIL(fails, prefix,
		     "runner_keyid: expected one of the keys whose signature "
		     "verifies, got %s",
		     keyid ? keyid : "none");
	/* Only a verified payload is read (DSSE's advice). */
	if (!nvalid)
		goto out;
	p = payload_of(&env);
	if (!p) {
		FAIL(fails, prefix, "payload: expected a JSON object");
		goto out;
	}
	struct optreg_verdict_expect want = {
		.job_id = job,
		.config_digest = digest,
		.suite = optreg_json_str(v, "suite"),
		.suite_digest = optreg_json_str(v, "suite_digest"),
		.result = optreg_json_str(v, "result"),
	};
	optreg_verdict_check(p, &want, OPTREG_VOICE_CLIENT, prefix, fails);
out:
	json_decref(p);
	free(valid);
	optreg_dsse_release(&env);
	optreg_errors_release(&why);
}

static int verify_all(struct cli_remote *r, const char *what, const char *ns,
		      const char *digest, const json_t *list)
{
	struct optreg_errors fails = OPTREG_ERRORS_INIT;
	struct optreg_buf lines = OPTREG_BUF_INIT;
	struct optreg_keyset ks;
	json_t *keys = NULL;
	int rc;

	optreg_keyset_init(&ks);
	rc = cli_remote_call(r, "GET", "/v1/keys", NULL, &keys);
	if (rc)
		goto out;
	optreg_keyset_load_list(&ks, keys);
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *v = json_array_get(list, i);
		struct optreg_buf signers = OPTREG_BUF_INIT;
		size_t before = fails.len;
		long job = 0;

		cli_json_count(v, "job_id", &job);
		verify_one(v, i, ns, digest, &ks, &signers, &fails);
		if (fails.len == before)
			optreg_buf_addf(
				&lines, "verified: job %ld (%s) signed by %s\n",
				job, cli_cell(optreg_json_str(v, "result")),
				signers.data);
		optreg_buf_release(&signers);
	}
	if (fails.len) {
		fprintf(stderr, "optreg %s: %s failed verification\n", r->cmd,
			what);
		for (size_t i = 0; i < fails.len; i++)
			fprintf(stderr, "  %s: %s\n", fails.items[i].path,
				fails.items[i].message);
		if (r->json) {
			char *detail = optreg_xasprintf(
				"%s failed verification", what);
			cli_print_problem("verification_failed", detail,
					  &fails);
			free(detail);
		}
		rc = OPTREG_EXIT_INVALID;
	} else {
		fputs(lines.data, stderr);
	}
out:
	json_decref(keys);
	optreg_keyset_release(&ks);
	optreg_buf_release(&lines);
	optreg_errors_release(&fails);
	return rc;
}

/* GETs the version document at `path`: it carries the config, whose
 * numbers are doubles (JSON_DECODE_INT_AS_REAL). */
static int get_version_doc(struct cli_remote *r, const char *path, json_t **doc)
{
	struct optreg_http_resp resp;
	int rc;

	*doc = NULL;
	optreg_http_resp_init(&resp);
	rc = cli_remote_request(r, "GET", path, NULL, &resp);
	if (rc == 0 && resp.status != 200)
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	if (rc == 0 &&
	    !(*doc = cli_response_json(r, &resp, JSON_DECODE_INT_AS_REAL)))
		rc = OPTREG_EXIT_UNAVAILABLE;
	optreg_http_resp_release(&resp);
	return rc;
}

/*
 * The jobs of the version that have no verdict (queued, leased or
 * abandoned), as a table on stdout: an abandoned job's last error is why
 * no verdict will come. 0 or an exit status.
 */
static int print_jobs(const json_t *jobs)
{
	static const char *const head[] = {"JOB",      "SUITE",	  "STATE",
					   "ATTEMPTS", "UPDATED", "LAST ERROR"};
	enum {
		NCOLS = 6
	};
	size_t n = json_array_size(jobs), rows = 0;
	char **cells = optreg_xcalloc(n * NCOLS + 1, sizeof(*cells));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *j = json_array_get(jobs, i);
		const char *state = optreg_json_str(j, "state");
		char **row = cells + rows * NCOLS;
		long id = 0, attempts = 0, max = 0;

		if (state && !strcmp(state, "done"))
			continue;
		cli_json_count(j, "id", &id);
		cli_json_count(j, "attempts", &attempts);
		cli_json_count(j, "max_attempts", &max);
		row[0] = optreg_xasprintf("%ld", id);
		row[1] = optreg_xstrdup(cli_cell(optreg_json_str(j, "suite")));
		row[2] = optreg_xstrdup(cli_cell(state));
		row[3] = optreg_xasprintf("%ld/%ld", attempts, max);
		row[4] = optreg_xstrdup(
			cli_cell(optreg_json_str(j, "updated_at")));
		row[5] = optreg_xstrdup(
			cli_cell(optreg_json_str(j, "last_error")));
		rows++;
	}
	if (rows)
		rc = cli_print_table(head, NCOLS, cells, rows);
	for (size_t i = 0; i < rows * NCOLS; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* Whether some job of `jobs` is not done. */
static bool has_pending(const json_t *jobs)
{
	for (size_t i = 0; i < json_array_size(jobs); i++) {
		const char *s =
			optreg_json_str(json_array_get(jobs, i), "state");
		if (!s || strcmp(s, "done"))
			return true;
	}
	return false;
}

static int list_verdicts(struct cli_remote *r, const struct cli_ref *ref,
			 bool verify, bool brief)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	json_t *doc = NULL, *answer = NULL, *list, *jobs;
	long version = ref->version;
	const char *digest = NULL;
	char what[256];
	int rc = 0;

	/* A tag names a version; --verify needs the version's digest. */
	if (ref->kind == CLI_REF_TAG || verify) {
		cli_config_path(&path, ref);
		if (ref->kind == CLI_REF_TAG) {
			optreg_buf_adds(&path, "/tags");
			optreg_http_path_add(&path, ref->tag);
		} else {
			optreg_buf_addf(&path, "/versions/%ld", ref->version);
		}
		rc = get_version_doc(r, path.data, &doc);
		if (rc)
			goto out;
		digest = optreg_json_str(doc, "digest");
		if (cli_json_count(doc, "version", &version) < 0 || !digest) {
			rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry's version document lacks "
					"version or digest");
			goto out;
		}
	}
	snprintf(what, sizeof(what), "%s/%s@%ld", ref->ns, ref->name, version);
	optreg_buf_reset(&path);
	cli_config_path(&path, ref);
	optreg_buf_addf(&path, "/versions/%ld/verdicts", version);
	rc = cli_remote_call(r, "GET", path.data, NULL, &answer);
	if (rc)
		goto out;
	list = json_object_get(answer, "verdicts");
	if (!json_is_array(list)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer has no verdicts array");
		goto out;
	}
	sort_verdicts(list);
	if (verify) {
		rc = verify_all(r, what, ref->ns, digest, list);
		if (rc)
			goto out;
	}
	jobs = json_object_get(answer, "jobs");
	decode_all(list);
	if (r->json) {
		rc = cli_print_json(answer);
	} else {
		if (json_array_size(list))
			rc = print_table(list);
		if (rc == 0 && json_array_size(list) && !brief)
			rc = print_details(list);
		if (!json_array_size(list))
			fprintf(stderr, "optreg %s: %s has no verdicts yet\n",
				r->cmd, what);
		if (rc == 0 && json_array_size(list) && has_pending(jobs))
			putchar('\n');
		if (rc == 0)
			rc = print_jobs(jobs);
	}
out:
	json_decref(answer);
	json_decref(doc);
	optreg_buf_release(&path);
	return rc;
}

int cmd_verdicts(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "verdicts"};
	const char *refarg = NULL;
	int rc;
	bool verify = false, brief = false;
	struct cli_ref ref;
	const struct cli_option options[] = {
		CLI_OPT_BOOL("--verify", "check each verdict", &verify),
		CLI_OPT_BOOL("--brief", "the table only", &brief),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "verdicts",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "reference",
				     .arg_slot = &refarg};

	rc = cli_parse_options(&p, options, argc, argv);
	if (rc)
		return rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
	if (!refarg) {
		fprintf(stderr,
			"optreg verdicts: expected NAMESPACE/NAME, "
			"NAMESPACE/NAME@VERSION or NAMESPACE/NAME@TAG\n%s",
			help);
		return OPTREG_EXIT_USAGE;
	}
	if ((rc = cli_ref_arg("verdicts", refarg,
			      CLI_REF_CONFIG | CLI_REF_VERSION | CLI_REF_TAG,
			      &ref)))
		return rc;
	rc = cli_ref_latest(&r, &ref);
	if (rc == 0)
		rc = list_verdicts(&r, &ref, verify, brief);
	cli_remote_close(&r);
	return rc;
}
