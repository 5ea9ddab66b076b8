/*
 * runner/main.c: `optreg-runner`, the validation runner. Dispatches to one
 * function per command; see `optreg-runner --help`. A command is a row in
 * `commands`: a name, `int run(int argc, char **argv)` returning the exit
 * status (argv[0] is the command's name), and a one-line summary.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/clock.h"
#include "../common/error.h"
#include "../common/jsonutil.h"
#include "../validator/config.h"
#include "device.h"
#include "findings.h" /* OPTREG_RUNNER_VERSION */
#include "options.h"
#include "selftest.h"
#include "serve.h"
#include "suite.h"

/* Exit statuses, the same numbers as the `optreg` CLI's where they mean the
 * same thing. */
enum {
	RUNNER_EXIT_OK = 0,
	RUNNER_EXIT_FAILED = 1, /* a check failed (selftest: the math is off) */
	RUNNER_EXIT_USAGE = 2,	/* wrong arguments */
	RUNNER_EXIT_IO = 3,	/* a file or directory could not be read */
	RUNNER_EXIT_ERROR = 4,	/* run: the run broke, not the config */
};

static int is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

/*
 * `--backend TEXT` of run and selftest into *dev (runner/device.h). auto
 * that falls back to the CPU says why in one line on stderr. Returns 0,
 * RUNNER_EXIT_USAGE for an unknown name, or RUNNER_EXIT_ERROR when cuda
 * was asked for and is missing (the error names what).
 */
static int backend_choose(const char *prog, const char *text,
			  struct optreg_device *dev)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;
	enum optreg_device_kind want;
	int rc;

	rc = optreg_device_parse(text, &want, &errs);
	if (rc == 0)
		rc = optreg_device_choose(dev, want, &errs);
	if (rc) {
		optreg_errors_format(&errs, NULL, &out);
		fprintf(stderr, "%s: %s", prog, out.data);
		rc = rc == OPTREG_EINVAL ? RUNNER_EXIT_USAGE
					 : RUNNER_EXIT_ERROR;
	} else if (dev->note[0]) {
		fprintf(stderr, "optreg-runner: %s\n", dev->note);
	}
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	return rc;
}

static void selftest_usage(FILE *out)
{
	fprintf(out,
		"usage: optreg-runner selftest [--golden DIR] "
		"[--backend auto|cpu|cuda]\n\n"
		"Replays PyTorch's golden Adam/AdamW traces through the "
		"runner's arithmetic on\n"
		"the chosen backend and prints one line per case. On the CPU, "
		"cases without\n"
		"gradient clipping must agree bit for bit, clipped ones within "
		"rounding; on\n"
		"CUDA, float32 cases within PyTorch's tolerance (rtol 1.3e-6, "
		"atol 1e-5).\n\n"
		"Options:\n"
		"  --golden DIR   the traces (default: $OPTREG_GOLDEN, else "
		"tests/testdata/torch-adam\n"
		"                 of the checkout the runner was built in)\n"
		"  --backend B    auto (default: CUDA when built in and a "
		"device is present,\n"
		"                 else the CPU), cpu or cuda (an error when "
		"there is none)\n\n"
		"Exit status: 0 every case passed, 1 a case failed or there "
		"were none,\n"
		"2 usage, 3 the directory cannot be read, 4 the backend "
		"is not available\n");
}

static int cmd_selftest(int argc, char **argv)
{
	const char *golden = NULL, *backend = "auto";
	const struct optreg_opt table[] = {
		{"--golden", OPTREG_OPT_STRING, &golden, "directory", 0},
		{"--backend", OPTREG_OPT_STRING, &backend, NULL, 0},
		{NULL, 0, NULL, NULL, 0},
	};
	const struct optreg_opts opts = {
		.prog = "optreg-runner selftest",
		.opts = table,
		.usage = selftest_usage,
	};
	struct optreg_device dev;
	char *dir;
	int passed, failed, rc;

	rc = optreg_opts_parse(&opts, argc, argv, NULL, NULL);
	if (rc != OPTREG_OPTS_OK)
		return rc == OPTREG_OPTS_HELP ? RUNNER_EXIT_OK
					      : RUNNER_EXIT_USAGE;
	rc = backend_choose("optreg-runner selftest", backend, &dev);
	if (rc)
		return rc;
	dir = golden ? optreg_xstrdup(golden) : optreg_selftest_default_dir();
	if (dev.kind == OPTREG_DEVICE_CUDA) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_backend be;

		if (optreg_device_backend_init(&dev, &be, 1, &errs) < 0) {
			fprintf(stderr,
				"optreg-runner selftest: the cuda backend did "
				"not start: %s\n",
				errs.len ? errs.items[0].message : "unknown");
			optreg_errors_release(&errs);
			free(dir);
			return RUNNER_EXIT_ERROR;
		}
		rc = optreg_selftest_run_on(&be, dir, stdout, &passed, &failed);
		be.destroy(&be);
		optreg_errors_release(&errs);
	} else {
		rc = optreg_selftest_run(dir, stdout, &passed, &failed);
	}
	printf("%d passed, %d failed (%s, %s)\n", passed, failed,
	       dev.kind == OPTREG_DEVICE_CUDA ? "cuda" : "cpu", dir);
	free(dir);
	if (rc == OPTREG_EIO)
		return RUNNER_EXIT_IO;
	return rc == 0 ? RUNNER_EXIT_OK : RUNNER_EXIT_FAILED;
}

/* ------------------------------------------------------------------------
 * run: the reference suite on one config, locally, no server.
 */

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: optreg-runner run [--json] [--suite FILE] "
		"[--backend B] [--jobs N] FILE\n\n"
		"Validates an OptimizerConfig (YAML or JSON; - for standard "
		"input), checks the\n"
		"runner's Adam arithmetic (selftest), trains the suite's "
		"reference workloads\n"
		"with the config and prints the verdict: per-workload metrics, "
		"findings, and\n"
		"the result pass, warn, fail or error. Progress goes to "
		"stderr.\n\n"
		"Options:\n"
		"  --json          print the verdict as JSON on stdout\n"
		"  --suite FILE    the suite (default: $OPTREG_SUITE, else "
		"runner/suites/ref-v2.yaml\n"
		"                  of the checkout the runner was built in)\n"
		"  --backend B     auto (default: CUDA when built in and a "
		"device is present,\n"
		"                  else the CPU, saying why on stderr), cpu, "
		"or cuda (exit 4\n"
		"                  naming what is missing when there is "
		"none)\n"
		"  --jobs N        train N seeds of a workload at once, each "
		"on its own thread\n"
		"                  (1 to 16; default: every seed on cuda, one "
		"on the CPU); the\n"
		"                  verdict is the same whatever N\n\n"
		"Exit status: 0 pass or warn (warnings are printed), 1 fail or "
		"an invalid\n"
		"config, 2 usage, 3 a file cannot be read, 4 error (selftest "
		"failed, a workload\n"
		"could not run, the suite file is invalid, or --backend cuda\n"
		"has no device)\n");
}

/* Progress on stderr: one line rewritten in place on a terminal, else one
 * plain line per workload when it ends. The suite reports every optimizer
 * step, then the workload's end once more with the same step (a run that
 * stopped on a non-finite value ends before `steps`). */
struct run_progress {
	int tty;
	char workload[96];
	long step;
	int done;
	double last;
};

static void run_progress_fn(void *ctx, const char *workload, long step,
			    long steps, double loss)
{
	struct run_progress *p = ctx;
	double now;
	char lossbuf[32] = "";
	int end;

	if (strcmp(p->workload, workload)) {
		snprintf(p->workload, sizeof(p->workload), "%s", workload);
		p->step = 0;
		p->done = 0;
		p->last = 0;
	}
	end = step >= steps || step == p->step;
	p->step = step;
	if (!isnan(loss))
		snprintf(lossbuf, sizeof(lossbuf), "  loss %.4g", loss);
	if (!p->tty) {
		if (end && !p->done)
			fprintf(stderr, "optreg-runner: %s: %ld/%ld steps%s\n",
				workload, step, steps, lossbuf);
		p->done |= end;
		return;
	}
	now = optreg_clock_monotonic();
	if (!end && now - p->last < 0.1)
		return;
	p->last = now;
	fprintf(stderr, "\r\033[K%-15s step %6ld/%-6ld%s", workload, step,
		steps, lossbuf);
	fflush(stderr);
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = optreg_json_str(o, key);

	return s ? s : "?";
}

/* A number for a table cell, `digits` significant; "-" when absent. */
static const char *cell(char *buf, size_t n, double v, int digits,
			const char *suffix)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.*g%s", digits, v, suffix);
	return buf;
}

static void upper(char *dst, const char *src, size_t n)
{
	size_t i = 0;

	for (; src[i] && i + 1 < n; i++)
		dst[i] = (char)(src[i] >= 'a' && src[i] <= 'z'
					? src[i] - 'a' + 'A'
					: src[i]);
	dst[i] = '\0';
}

/* The median of the finite `key` metrics over a workload's runs. */
static double runs_median(const json_t *runs, const char *key)
{
	double v[64];
	size_t n = 0, i;
	const json_t *r;

	json_array_foreach(runs, i, r)
	{
		double x = num(json_object_get(r, "metrics"), key);
		if (isfinite(x) && n < 64)
			v[n++] = x;
	}
	if (!n)
		return NAN;
	for (size_t a = 1; a < n; a++) /* insertion sort: n is small */
		for (size_t b = a; b > 0 && v[b - 1] > v[b]; b--) {
			double t = v[b];
			v[b] = v[b - 1];
			v[b - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* "fail 2/3": how many runs got the workload's result. */
static void seeds_cell(char *buf, size_t n, const json_t *w)
{
	const json_t *runs = json_object_get(w, "runs");
	const char *result = str(w, "result");
	size_t same = 0, i;
	const json_t *r;

	if (!json_array_size(runs)) {
		snprintf(buf, n, "-");
		return;
	}
	json_array_foreach(runs, i, r) same +=
		!strcmp(str(r, "result"), result);
	snprintf(buf, n, "%s %zu/%zu", result, same, json_array_size(runs));
}

static void print_findings(const char *title, const json_t *fs)
{
	const json_t *f;
	char res[16];
	size_t i;

	printf("\n%s\n", title);
	json_array_foreach(fs, i, f)
	{
		const json_t *wl = json_object_get(f, "workload");
		const json_t *step = json_object_get(f, "step");
		const json_t *sd = json_object_get(f, "seeds");
		char where[32] = "", seeds[32] = "";
		upper(res, str(f, "severity"), sizeof(res));
		if (json_is_integer(step))
			snprintf(where, sizeof(where), "step %lld",
				 (long long)json_integer_value(step));
		if (sd)
			snprintf(seeds, sizeof(seeds), "%zu/%.0f seeds",
				 json_array_size(json_object_get(sd, "showed")),
				 num(sd, "of"));
		printf("  %-5s %-14s %-17s %-10s %-11s %s\n", res,
		       json_is_string(wl) ? json_string_value(wl) : "-",
		       str(f, "criterion"), where, seeds, str(f, "message"));
	}
}

/* The verdict for people, from the same JSON --json prints. */
static void print_verdict(const char *file, const json_t *v)
{
	const json_t *st = json_object_get(v, "selftest");
	const json_t *wls = json_object_get(v, "workloads");
	const json_t *fs = json_object_get(v, "findings");
	const json_t *seeds = json_object_get(v, "seeds");
	const char *result = str(v, "result");
	const json_t *w, *x;
	json_t *minority = json_array();
	char res[16];
	size_t i;

	printf("config    %s (%s)\n", file, str(v, "config_digest"));
	printf("suite     %s (%s)\n", str(v, "suite"), str(v, "suite_digest"));
	printf("runner    %s on %s\n", str(v, "runner_version"),
	       str(v, "device"));
	if (st)
		printf("selftest  %.0f passed, %.0f failed\n",
		       num(st, "passed"), num(st, "failed"));
	if (json_array_size(seeds)) {
		printf("seeds    ");
		json_array_foreach(seeds, i, x)
			printf(" %lld", (long long)json_integer_value(x));
		printf(" (medians over the seeds below)\n");
	}
	/* The baseline grid point the config is held to (the same for
	 * every workload). */
	json_array_foreach(wls, i, w)
	{
		const json_t *blr = json_object_get(w, "baseline_lr");
		if (!json_is_number(blr))
			continue;
		printf("baseline  Adam defaults at lr %g (the suite's grid lr "
		       "nearest the config's from below)\n",
		       json_number_value(blr));
		break;
	}

	if (json_array_size(wls)) {
		printf("\n%-15s %6s %6s %11s %11s %9s %8s %8s %-10s %s\n",
		       "workload", "steps", "warmup", "loss first", "loss last",
		       "max/first", "test acc", "base acc", "seeds", "result");
		json_array_foreach(wls, i, w)
		{
			const json_t *runs = json_object_get(w, "runs");
			const json_t *sc = json_object_get(w, "schedule");
			char a[24], b[24], c[24], e[24], g[24], sd[32];
			double first = runs_median(runs, "initial_loss");

			seeds_cell(sd, sizeof(sd), w);
			printf("%-15s %6.0f %6.0f %11s %11s %9s %8s %8s %-10s "
			       "%s\n",
			       str(w, "name"), num(w, "steps"),
			       num(sc, "warmup_steps"),
			       cell(a, sizeof(a), first, 4, ""),
			       cell(b, sizeof(b),
				    runs_median(runs, "final_loss"), 4, ""),
			       cell(c, sizeof(c),
				    runs_median(runs, "max_loss") / first, 3,
				    ""),
			       cell(e, sizeof(e),
				    runs_median(runs, "test_accuracy"), 4, ""),
			       cell(g, sizeof(g),
				    runs_median(runs, "baseline_test_accuracy"),
				    4, ""),
			       sd, str(w, "result"));
			if (json_is_string(json_object_get(w, "skipped")))
				printf("  skipped: %s\n", str(w, "skipped"));
			json_array_extend(minority,
					  json_object_get(w, "minority"));
		}
	}

	if (json_array_size(fs))
		print_findings("findings", fs);
	if (json_array_size(minority))
		print_findings("on a minority of seeds (not counted)",
			       minority);
	json_decref(minority);

	upper(res, result, sizeof(res));
	printf("\nresult: %s", res);
	if (!strcmp(result, "warn"))
		printf(" (the config trains, but read the warnings above)");
	else if (!strcmp(result, "error"))
		printf(" (the run broke, not the config: no judgement)");
	printf(" in %.1f s\n", num(json_object_get(v, "time"), "seconds"));
}

static int cmd_run(int argc, char **argv)
{
	const char *file = NULL, *suite_file = NULL, *backend = "auto";
	const char *jobs = NULL;
	struct optreg_device dev;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct run_progress prog = {.tty = isatty(STDERR_FILENO)};
	struct optreg_suite *suite = NULL;
	struct optreg_checked_config cc;
	json_t *verdict = NULL;
	char *suite_path;
	int json = 0, npos, rc, status;
	const struct optreg_opt table[] = {
		{"--json", OPTREG_OPT_FLAG, &json, NULL, 0},
		{"--suite", OPTREG_OPT_STRING, &suite_file, NULL, 0},
		{"--backend", OPTREG_OPT_STRING, &backend, NULL, 0},
		{"--jobs", OPTREG_OPT_STRING, &jobs, NULL, 0},
		{NULL, 0, NULL, NULL, 0},
	};
	const struct optreg_opts opts = {
		.prog = "optreg-runner run",
		.opts = table,
		.usage = run_usage,
		.positional = 1,
		.too_many = "one config at a time",
	};

	rc = optreg_opts_parse(&opts, argc, argv, &file, &npos);
	if (rc != OPTREG_OPTS_OK)
		return rc == OPTREG_OPTS_HELP ? RUNNER_EXIT_OK
					      : RUNNER_EXIT_USAGE;
	if (!file) {
		fprintf(stderr, "optreg-runner run: a config file is needed\n");
		run_usage(stderr);
		return RUNNER_EXIT_USAGE;
	}
	rc = backend_choose("optreg-runner run", backend, &dev);
	if (rc)
		return rc;
	if (jobs && optreg_device_parse_jobs(jobs, &dev.jobs, &errs)) {
		optreg_errors_format(&errs, NULL, &out);
		fprintf(stderr, "optreg-runner run: %s", out.data);
		run_usage(stderr);
		optreg_buf_release(&out);
		optreg_errors_release(&errs);
		return RUNNER_EXIT_USAGE;
	}

	/* The config, checked as `optreg lint` does. */
	optreg_checked_config_init(&cc);
	rc = optreg_config_load_checked_file(&cc, file, 0, &errs);
	if (rc) {
		optreg_errors_format(&errs, file, &out);
		fputs(out.data, stderr);
		status = rc == OPTREG_EIO ? RUNNER_EXIT_IO : RUNNER_EXIT_FAILED;
		goto done;
	}

	suite_path = suite_file ? optreg_xstrdup(suite_file)
				: optreg_suite_default_path();
	rc = optreg_suite_load(&suite, suite_path, &errs);
	if (rc) {
		optreg_buf_reset(&out);
		optreg_errors_format(&errs, suite_path, &out);
		fputs(out.data, stderr);
		free(suite_path);
		status = rc == OPTREG_EIO ? RUNNER_EXIT_IO : RUNNER_EXIT_ERROR;
		goto done;
	}
	free(suite_path);

	rc = optreg_suite_run_on(suite, &dev, &cc.cfg, cc.digest,
				 run_progress_fn, &prog, &verdict, &errs);
	if (prog.tty)
		fprintf(stderr, "\r\033[K");
	if (rc) {
		optreg_buf_reset(&out);
		optreg_errors_format(&errs, NULL, &out);
		fprintf(stderr, "optreg-runner run: no verdict\n%s", out.data);
		status = RUNNER_EXIT_ERROR;
		goto done;
	}

	if (json) {
		char *s = json_dumps(verdict, JSON_INDENT(2) |
						      JSON_PRESERVE_ORDER |
						      JSON_REAL_PRECISION(6));
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		print_verdict(file, verdict);
	}
	const char *result = optreg_json_str(verdict, "result");
	status = !strcmp(result, "pass") || !strcmp(result, "warn")
			 ? RUNNER_EXIT_OK
		 : !strcmp(result, "fail") ? RUNNER_EXIT_FAILED
					   : RUNNER_EXIT_ERROR;
	if (fflush(stdout) != 0) {
		perror("optreg-runner: cannot write to standard output");
		status = RUNNER_EXIT_IO;
	}

done:
	json_decref(verdict);
	optreg_suite_free(suite);
	optreg_checked_config_release(&cc);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	return status;
}

/* ------------------------------------------------------------------------
 * baseline: the suite's `baseline:` block, computed.
 */

static void baseline_usage(FILE *out)
{
	fprintf(out,
		"usage: optreg-runner baseline [--suite FILE] [--workload "
		"NAME] [--lrs LR,LR,...]\n\n"
		"Trains the Adam defaults (betas 0.9/0.999, eps 1e-8, no "
		"decay, no clipping,\n"
		"constant rate, no warmup; float32) at each lr of the grid on "
		"every workload\n"
		"and seed of the suite for its peak_steps, and prints the "
		"`baseline:` block for\n"
		"the suite file (per lr, final_loss, test_loss, "
		"test_accuracy; 6 significant\n"
		"digits). A config is judged against the grid lr nearest its "
		"own from below.\n"
		"Of the suite's own baseline section only the lrs are read, "
		"so an outdated one\n"
		"does not stop it. To replace it (the block is the file's "
		"last section):\n\n"
		"  sed -i '/^baseline:/,$d' FILE && optreg-runner baseline "
		"--suite FILE >>FILE\n\n"
		"Options:\n"
		"  --suite FILE      the suite (default: $OPTREG_SUITE, else "
		"runner/suites/ref-v2.yaml)\n"
		"  --workload NAME   only this workload (its entries, to paste "
		"by hand)\n"
		"  --lrs LR,...      the grid, e.g. 1e-5,1e-4,1e-3 (default: "
		"the lrs of the suite's\n"
		"                    baseline section, else 1e-3)\n\n"
		"Exit status: 0 printed, 2 usage, 3 the suite cannot be read, "
		"4 the suite is\n"
		"invalid or a workload could not run\n");
}

/* A YAML number as the block writes it: %.6g, or null. */
static void yaml_number(const json_t *v)
{
	if (json_is_number(v))
		printf("%.6g", json_number_value(v));
	else
		printf("null");
}

/* A grid lr as the block writes it: 1.0e-4, 3.0e-5, 2.5e-3. */
static void yaml_lr(double lr)
{
	char m[32];
	int e;

	snprintf(m, sizeof(m), "%.5e", lr); /* 1.00000e-04 */
	char *x = strchr(m, 'e');
	if (!x) {
		printf("%.6g", lr);
		return;
	}
	e = atoi(x + 1);
	*x = '\0';
	for (char *z = x - 1; *z == '0' && z[-1] != '.'; z--)
		*z = '\0';
	printf("%se%d", m, e);
}

/* --lrs 1e-5,3e-5,1e-3: each above 0, strictly ascending. Returns the
 * count, or 0 with a message on stderr. */
static size_t parse_lrs(const char *text, double **out)
{
	size_t n = 0, cap = 1;
	const char *p = text;

	for (const char *c = text; *c; c++)
		cap += *c == ',';
	*out = optreg_xcalloc(cap, sizeof(double));
	for (;;) {
		char *end;
		double lr = strtod(p, &end);
		if (end == p || (*end && *end != ',') || !isfinite(lr) ||
		    !(lr > 0)) {
			fprintf(stderr,
				"optreg-runner baseline: --lrs: must be a "
				"comma-separated list of learning rates above "
				"0, e.g. 1e-5,1e-4,1e-3 (got \"%s\")\n",
				text);
			break;
		}
		if (n && !(lr > (*out)[n - 1])) {
			fprintf(stderr,
				"optreg-runner baseline: --lrs: %g is not "
				"above %g: list the grid's learning rates in "
				"ascending order, each once (got \"%s\")\n",
				lr, (*out)[n - 1], text);
			break;
		}
		(*out)[n++] = lr;
		if (!*end)
			return n;
		p = end + 1;
	}
	free(*out);
	*out = NULL;
	return 0;
}

static int cmd_baseline(int argc, char **argv)
{
	const char *suite_file = NULL, *only = NULL, *lrs_text = NULL;
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct run_progress prog = {.tty = isatty(STDERR_FILENO)};
	struct optreg_suite *suite = NULL;
	json_t *base = NULL;
	double *lrs = NULL;
	size_t nlrs = 0;
	char *suite_path;
	int rc, status = RUNNER_EXIT_OK;
	const struct optreg_opt table[] = {
		{"--suite", OPTREG_OPT_STRING, &suite_file, NULL, 0},
		{"--workload", OPTREG_OPT_STRING, &only, NULL, 0},
		{"--lrs", OPTREG_OPT_STRING, &lrs_text, NULL, 0},
		{NULL, 0, NULL, NULL, 0},
	};
	const struct optreg_opts opts = {
		.prog = "optreg-runner baseline",
		.opts = table,
		.usage = baseline_usage,
	};

	rc = optreg_opts_parse(&opts, argc, argv, NULL, NULL);
	if (rc != OPTREG_OPTS_OK)
		return rc == OPTREG_OPTS_HELP ? RUNNER_EXIT_OK
					      : RUNNER_EXIT_USAGE;
	if (lrs_text && !(nlrs = parse_lrs(lrs_text, &lrs)))
		return RUNNER_EXIT_USAGE;
	suite_path = suite_file ? optreg_xstrdup(suite_file)
				: optreg_suite_default_path();
	rc = optreg_suite_load_without_baseline(&suite, suite_path, &errs);
	if (rc) {
		optreg_errors_format(&errs, suite_path, &out);
		fputs(out.data, stderr);
		free(suite_path);
		status = rc == OPTREG_EIO ? RUNNER_EXIT_IO : RUNNER_EXIT_ERROR;
		goto done;
	}
	free(suite_path);
	rc = optreg_suite_baseline(suite, only, lrs, nlrs, run_progress_fn,
				   &prog, &base, &errs);
	if (prog.tty)
		fprintf(stderr, "\r\033[K");
	if (rc) {
		optreg_errors_format(&errs, NULL, &out);
		fprintf(stderr, "optreg-runner baseline: %s", out.data);
		/* 2 only for the arguments' own errors; a workload that
		 * cannot run (EINVAL from its spec too) is 4. */
		status = RUNNER_EXIT_ERROR;
		for (size_t k = 0; rc == OPTREG_EINVAL && k < errs.len; k++)
			if (errs.items[k].path &&
			    (!strcmp(errs.items[k].path, "--workload") ||
			     !strcmp(errs.items[k].path, "--lrs")))
				status = RUNNER_EXIT_USAGE;
		goto done;
	}

	size_t g;
	json_t *point;
	/* The comment goes below `baseline:`, so that deleting from that
	 * line to the end of the file removes the whole block. */
	if (!only)
		printf("baseline:\n");
	printf("  # The Adam defaults (betas 0.9/0.999, eps 1e-8, no decay, "
	       "no clipping,\n  # constant, no warmup; float32) at each lr "
	       "of the grid, for peak_steps\n  # steps, per workload and "
	       "seed: `optreg-runner baseline --suite FILE`\n  # (%s). A "
	       "config is judged against the grid lr nearest its own\n  # "
	       "from below (the smallest when it is below them all).\n",
	       OPTREG_RUNNER_VERSION);
	json_array_foreach(base, g, point)
	{
		const char *wname;
		json_t *per;
		printf("  - lr: ");
		yaml_lr(json_number_value(json_object_get(point, "lr")));
		printf("\n    workloads:\n");
		json_object_foreach(json_object_get(point, "workloads"), wname,
				    per)
		{
			const char *seed;
			json_t *e;
			printf("      %s:\n", wname);
			json_object_foreach(per, seed, e)
			{
				printf("        \"%s\": {final_loss: ", seed);
				yaml_number(json_object_get(e, "final_loss"));
				if (json_object_get(e, "test_loss")) {
					printf(", test_loss: ");
					yaml_number(json_object_get(
						e, "test_loss"));
					printf(", test_accuracy: ");
					yaml_number(json_object_get(
						e, "test_accuracy"));
				}
				printf("}\n");
			}
		}
	}
	if (fflush(stdout) != 0) {
		perror("optreg-runner: cannot write to standard output");
		status = RUNNER_EXIT_IO;
	}
done:
	json_decref(base);
	free(lrs);
	optreg_suite_free(suite);
	optreg_buf_release(&out);
	optreg_errors_release(&errs);
	return status;
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"selftest", cmd_selftest,
	 "check the Adam/AdamW arithmetic against PyTorch's golden traces"},
	{"run", cmd_run,
	 "judge a config on the reference suite, locally (no server)"},
	{"baseline", cmd_baseline,
	 "print the suite's baseline block (the Adam defaults' numbers)"},
	{"serve", optreg_runner_serve,
	 "lease jobs from the registry and post signed verdicts"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: optreg-runner <command> [options] [args]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out, "\nRun `optreg-runner <command> --help` for a command's "
		     "options.\n\n"
		     "Environment:\n"
		     "  OPTREG_GOLDEN   directory of golden torch-adam traces\n"
		     "  OPTREG_SUITE    the suite file `run` uses by default\n"
		     "  OPTREG_URL      the registry `serve` leases jobs from\n"
		     "  OPTREG_TOKEN    `serve`'s bearer token (runner role)\n"
		     "  OPTREG_KEY      the private key `serve` signs verdicts "
		     "with\n");
}

/*
 * OpenBLAS chooses its GEMM kernels for the CPU when the library loads, and
 * two kernel sets block (and so round) the same product differently: the
 * same config could get different findings on two machines. On every CPU
 * with AVX2 and FMA (x86-64 since 2013) the runner asks for one kernel set,
 * RUNNER_BLAS_KERNELS, so those machines compute the same GEMMs. OpenBLAS
 * reads OPENBLAS_CORETYPE only at load time, hence the re-exec of the
 * runner's own file (its path read from /proc/self/exe). An operator's
 * own OPENBLAS_CORETYPE wins; under valgrind (whose preload is seen) it is
 * skipped, as the new image would run unchecked; OPTREG_RUNNER_NO_PIN=1
 * turns it off (for
 * ld.so or qemu-user launches, which /proc/self/exe does not name), and
 * when the exec fails or the CPU lacks AVX2 the runner goes on with
 * OpenBLAS's pick. The verdict's `device` names the kernel set either way.
 */
#define RUNNER_BLAS_KERNELS "Haswell"

static void pin_blas_kernels(char **argv)
{
#if defined(__x86_64__) || defined(__i386__)
	char self[4096];
	const char *off = getenv("OPTREG_RUNNER_NO_PIN");
	ssize_t n;

	const char *preload = getenv("LD_PRELOAD");

	if (getenv("OPENBLAS_CORETYPE") || (off && *off && strcmp(off, "0")))
		return;
	/* Under valgrind the re-executed runner would run unchecked. */
	if (preload && strstr(preload, "vgpreload"))
		return;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return;
	self[n] = '\0';
	if (setenv("OPENBLAS_CORETYPE", RUNNER_BLAS_KERNELS, 1))
		return;
	execv(self, argv);
	unsetenv("OPENBLAS_CORETYPE");
#else
	(void)argv;
#endif
}

int main(int argc, char **argv)
{
	pin_blas_kernels(argv);
	if (argc < 2) {
		usage(stderr);
		return RUNNER_EXIT_USAGE;
	}
	if (is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RUNNER_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("optreg-runner %s\n", OPTREG_RUNNER_VERSION);
		return RUNNER_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "optreg-runner: unknown command \"%s\"\n", argv[1]);
	fprintf(stderr,
		"hint: run `optreg-runner --help` for the list of commands\n");
	return RUNNER_EXIT_USAGE;
}
