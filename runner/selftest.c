/*
 * runner/selftest.c: replays PyTorch's golden Adam/AdamW traces through
 * runner/adam.h; see selftest.h for the contract.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/error.h"
#include "../common/jsonutil.h"
#include "../common/path.h"
#include "backend.h"
#include "selftest.h"

#define TRACE_FORMAT "optreg-torch-adam-trace/1"

/* The agreement a clipped case needs (tests/testdata/README.md). */
#define F64_RTOL 1e-12
#define F32_RTOL 1.3e-6
#define F32_ATOL 1e-5

/* ---- loading ------------------------------------------------------------ */

static int trace_fail(struct optreg_buf *err, const char *path,
		      const char *what)
{
	optreg_buf_addf(err, "%s: %s", path, what);
	return OPTREG_EINVAL;
}

static int get_number(const json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

static int get_bool(const json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

/*
 * Copies a JSON array of `n` numbers into `out`, rounding each to float
 * when `f32` (the trace writes float32 values as the doubles that round
 * back to them exactly). Returns 0 or -1 when the shape is wrong.
 */
static int get_vector(const json_t *arr, int n, int f32, double *out)
{
	if (!json_is_array(arr) || json_array_size(arr) != (size_t)n)
		return -1;
	for (int i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, (size_t)i);

		if (!json_is_number(v))
			return -1;
		out[i] = json_number_value(v);
		if (f32)
			out[i] = (double)(float)out[i];
	}
	return 0;
}

static int load_schedule(const json_t *js, struct optreg_schedule *s)
{
	const char *kind = optreg_json_str(js, "kind");
	json_t *w = json_object_get(js, "warmup_steps");
	json_t *t = json_object_get(js, "total_steps");

	if (!kind)
		return -1;
	if (!strcmp(kind, "constant"))
		s->kind = OPTREG_SCHEDULE_CONSTANT;
	else if (!strcmp(kind, "linear"))
		s->kind = OPTREG_SCHEDULE_LINEAR;
	else if (!strcmp(kind, "cosine"))
		s->kind = OPTREG_SCHEDULE_COSINE;
	else if (!strcmp(kind, "inverse_sqrt"))
		s->kind = OPTREG_SCHEDULE_INVERSE_SQRT;
	else
		return -1;
	long long wv = 0, tv = 0;
	if ((w && optreg_json_whole(js, "warmup_steps", &wv) < 0) ||
	    (t && optreg_json_whole(js, "total_steps", &tv) < 0))
		return -1;
	s->warmup_steps = (long)wv;
	s->total_steps = (long)tv;
	s->min_lr = 0.0;
	if (json_object_get(js, "min_lr") &&
	    get_number(js, "min_lr", &s->min_lr) < 0)
		return -1;
	return 0;
}

static int load_config(const json_t *cfg, struct optreg_trace *t)
{
	const char *opt = optreg_json_str(cfg, "optimizer");
	json_t *betas = json_object_get(cfg, "betas");
	json_t *clip = json_object_get(cfg, "grad_clip_norm");
	json_t *sched = json_object_get(cfg, "schedule");

	if (!opt || (strcmp(opt, "adam") && strcmp(opt, "adamw")))
		return -1;
	t->h.adamw = !strcmp(opt, "adamw");
	if (!json_is_array(betas) || json_array_size(betas) != 2 ||
	    !json_is_number(json_array_get(betas, 0)) ||
	    !json_is_number(json_array_get(betas, 1)))
		return -1;
	t->h.beta1 = json_number_value(json_array_get(betas, 0));
	t->h.beta2 = json_number_value(json_array_get(betas, 1));
	if (get_number(cfg, "lr", &t->h.lr) < 0 ||
	    get_number(cfg, "eps", &t->h.eps) < 0 ||
	    get_number(cfg, "weight_decay", &t->h.weight_decay) < 0 ||
	    get_bool(cfg, "amsgrad", &t->h.amsgrad) < 0 ||
	    get_bool(cfg, "maximize", &t->h.maximize) < 0)
		return -1;
	/* generate.py clips only when grad_clip_norm is truthy. */
	if (clip && !json_is_null(clip)) {
		if (!json_is_number(clip))
			return -1;
		t->clip_norm = json_number_value(clip);
		t->has_clip = t->clip_norm != 0.0;
	}
	t->schedule.kind = OPTREG_SCHEDULE_CONSTANT;
	if (sched && !json_is_null(sched) && load_schedule(sched, &t->schedule))
		return -1;
	return 0;
}

static int load_steps(const json_t *steps, struct optreg_trace *t)
{
	static const char *const fields[] = {"param", "exp_avg", "exp_avg_sq",
					     "max_exp_avg_sq"};
	double **dst[] = {&t->param, &t->exp_avg, &t->exp_avg_sq,
			  &t->max_exp_avg_sq};
	size_t nfields = t->h.amsgrad ? 4 : 3;
	size_t len = (size_t)t->steps * (size_t)t->n;

	for (size_t f = 0; f < nfields; f++)
		*dst[f] = optreg_xcalloc(len, sizeof(double));
	for (int s = 0; s < t->steps; s++) {
		json_t *rec = json_array_get(steps, (size_t)s);

		for (size_t f = 0; f < nfields; f++)
			if (get_vector(json_object_get(rec, fields[f]), t->n,
				       t->f32, *dst[f] + (size_t)s * t->n) < 0)
				return -1;
	}
	return 0;
}

int optreg_trace_load(const char *path, struct optreg_trace *t,
		      struct optreg_buf *err)
{
	struct optreg_buf text = OPTREG_BUF_INIT;
	json_error_t jerr;
	json_t *root, *grads, *steps;
	const char *fmt, *dtype, *base;
	int rc = OPTREG_EINVAL;
	size_t blen;

	memset(t, 0, sizeof(*t));
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	blen = strlen(base);
	if (blen > 5 && !strcmp(base + blen - 5, ".json"))
		blen -= 5;
	t->name = optreg_xstrndup(base, blen);

	if (optreg_buf_read_file(&text, path) < 0) {
		optreg_buf_addf(err, "%s: %s", path, strerror(errno));
		optreg_buf_release(&text);
		return OPTREG_EIO;
	}
	/* A trace is numbers that are doubles. */
	root = optreg_json_load_doubles(text.data, text.len, JSON_DECODE_ANY,
					&jerr);
	optreg_buf_release(&text);
	if (!root) {
		optreg_buf_addf(err, "%s:%d:%d: %s", path, jerr.line,
				jerr.column, jerr.text);
		return OPTREG_EINVAL;
	}
	fmt = optreg_json_str(root, "format");
	dtype = optreg_json_str(root, "dtype");
	grads = json_object_get(root, "grads");
	steps = json_object_get(root, "steps");
	if (!fmt || strcmp(fmt, TRACE_FORMAT)) {
		rc = trace_fail(err, path,
				"format is not \"" TRACE_FORMAT "\"");
		goto out;
	}
	if (!dtype || (strcmp(dtype, "float32") && strcmp(dtype, "float64"))) {
		rc = trace_fail(err, path, "dtype must be float32 or float64");
		goto out;
	}
	t->f32 = !strcmp(dtype, "float32");
	if (load_config(json_object_get(root, "config"), t) < 0) {
		rc = trace_fail(err, path, "config is incomplete or invalid");
		goto out;
	}
	t->n = (int)json_array_size(json_object_get(root, "param0"));
	t->steps = (int)json_array_size(steps);
	if (t->n == 0 || t->steps == 0 ||
	    json_array_size(grads) != (size_t)t->steps ||
	    json_array_size(json_object_get(root, "lr_per_step")) !=
		    (size_t)t->steps) {
		rc = trace_fail(err, path,
				"param0, grads, lr_per_step and steps "
				"disagree in size");
		goto out;
	}
	t->lr = optreg_xcalloc((size_t)t->steps, sizeof(double));
	t->param0 = optreg_xcalloc((size_t)t->n, sizeof(double));
	t->grads = optreg_xcalloc((size_t)t->steps * t->n, sizeof(double));
	/* lr_per_step is a Python float (double) in both dtypes. */
	if (get_vector(json_object_get(root, "lr_per_step"), t->steps, 0,
		       t->lr) < 0 ||
	    get_vector(json_object_get(root, "param0"), t->n, t->f32,
		       t->param0) < 0) {
		rc = trace_fail(err, path, "lr_per_step or param0 malformed");
		goto out;
	}
	for (int s = 0; s < t->steps; s++)
		if (get_vector(json_array_get(grads, (size_t)s), t->n, t->f32,
			       t->grads + (size_t)s * t->n) < 0) {
			rc = trace_fail(err, path, "grads malformed");
			goto out;
		}
	if (load_steps(steps, t) < 0) {
		rc = trace_fail(err, path, "steps malformed");
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void optreg_trace_release(struct optreg_trace *t)
{
	free(t->name);
	free(t->lr);
	free(t->param0);
	free(t->grads);
	free(t->param);
	free(t->exp_avg);
	free(t->exp_avg_sq);
	free(t->max_exp_avg_sq);
	memset(t, 0, sizeof(*t));
}

/* ---- replay ------------------------------------------------------------- */

/*
 * Compares one value; with `exact`, bit for bit, else within the dtype's
 * tolerance. Keeps the largest error ratio in r->max_err and clears
 * r->bit_exact on any difference. Returns 0 or -1 when out of bounds.
 */
static int check_value(struct optreg_selftest_result *r, int f32, int exact,
		       double got, double want)
{
	double allowed, diff;

	if (f32) {
		float a = (float)got, b = (float)want;

		if (!memcmp(&a, &b, sizeof(a)))
			return 0;
		allowed = F32_ATOL + F32_RTOL * fabs(want);
	} else {
		if (!memcmp(&got, &want, sizeof(got)))
			return 0;
		allowed = F64_RTOL * fabs(want);
	}
	r->bit_exact = 0;
	diff = fabs(got - want);
	if (!(diff <= allowed) || exact) {
		/* NaN, or any difference where bits are required. */
		r->max_err = allowed > 0 ? fmax(r->max_err, diff / allowed)
					 : INFINITY;
		return -1;
	}
	if (allowed > 0)
		r->max_err = fmax(r->max_err, diff / allowed);
	return 0;
}

/*
 * The optimizer state of a replay: host copies in both dtypes and, when a
 * backend runs a float32 trace, the device buffers it steps (be == NULL
 * otherwise).
 */
struct replay_state {
	int n;
	double *p, *m, *v, *vmax, *g;
	float *pf, *mf, *vf, *vmaxf, *gf;
	struct optreg_backend *be;
	float *dev[5]; /* param, grad, m, v, vmax */
};

enum {
	DEV_P,
	DEV_G,
	DEV_M,
	DEV_V,
	DEV_VMAX
};

/* Allocates the device buffers and uploads the starting point. */
static int state_init_device(struct replay_state *st, struct optreg_backend *be)
{
	size_t n = (size_t)st->n;
	int rc;

	st->be = be;
	for (int i = 0; i < 5; i++)
		if ((rc = be->alloc(be->ctx, n, &st->dev[i])) < 0)
			return rc;
	if ((rc = be->upload(be->ctx, st->dev[DEV_P], st->pf, n)) < 0)
		return rc;
	for (int i = DEV_M; i <= DEV_VMAX; i++)
		if ((rc = be->fill(be->ctx, st->dev[i], 0.0f, n)) < 0)
			return rc;
	return 0;
}

static void state_init(struct replay_state *st, const struct optreg_trace *t)
{
	size_t n = (size_t)t->n;

	memset(st, 0, sizeof(*st));
	st->n = t->n;
	st->p = optreg_xcalloc(n, sizeof(double));
	st->m = optreg_xcalloc(n, sizeof(double));
	st->v = optreg_xcalloc(n, sizeof(double));
	st->vmax = optreg_xcalloc(n, sizeof(double));
	st->g = optreg_xcalloc(n, sizeof(double));
	st->pf = optreg_xcalloc(n, sizeof(float));
	st->mf = optreg_xcalloc(n, sizeof(float));
	st->vf = optreg_xcalloc(n, sizeof(float));
	st->vmaxf = optreg_xcalloc(n, sizeof(float));
	st->gf = optreg_xcalloc(n, sizeof(float));
	for (size_t i = 0; i < n; i++) {
		st->p[i] = t->param0[i];
		st->pf[i] = (float)t->param0[i];
	}
}

static void state_release(struct replay_state *st)
{
	if (st->be)
		for (int i = 0; i < 5; i++)
			st->be->free(st->be->ctx, st->dev[i]);
	free(st->p);
	free(st->m);
	free(st->v);
	free(st->vmax);
	free(st->g);
	free(st->pf);
	free(st->mf);
	free(st->vf);
	free(st->vmaxf);
	free(st->gf);
}

/*
 * One float32 step on the backend: the raw gradient up, adam_step (which
 * clips as clip_grad_norm_ does), the state back down.
 */
static int replay_step_device(struct replay_state *st,
			      const struct optreg_trace *t, int s, double lr_t)
{
	struct optreg_backend *be = st->be;
	struct optreg_adam_tensor tensor = {0, (size_t)t->n, 0};
	struct optreg_adam_group group = {t->h, lr_t};
	struct optreg_adam_tensor_stats stats;
	struct optreg_adam_step_out out = {0, 0, &stats};
	struct optreg_adam_step step = {
		.param = st->dev[DEV_P],
		.grad = st->dev[DEV_G],
		.m = st->dev[DEV_M],
		.v = st->dev[DEV_V],
		.vmax = t->h.amsgrad ? st->dev[DEV_VMAX] : NULL,
		.tensors = &tensor,
		.ntensors = 1,
		.groups = &group,
		.ngroups = 1,
		.step = s + 1,
		.max_grad_norm = t->has_clip ? t->clip_norm : 0.0,
	};
	float *host[] = {st->pf, st->gf, st->mf, st->vf, st->vmaxf};
	size_t n = (size_t)t->n;
	int rc;

	if ((rc = be->upload(be->ctx, st->dev[DEV_G], st->gf, n)) < 0 ||
	    (rc = be->adam_step(be->ctx, &step, &out)) < 0)
		return rc;
	for (int i = 0; i < 5; i++)
		if (i != DEV_G &&
		    (rc = be->download(be->ctx, host[i], st->dev[i], n)) < 0)
			return rc;
	return 0;
}

/* One optimizer step of the whole tensor, clipping first when asked. */
static int replay_step(struct replay_state *st, const struct optreg_trace *t,
		       int s, double lr_t)
{
	const double *raw = t->grads + (size_t)s * t->n;
	struct optreg_adam_scalars sc;

	optreg_adam_scalars_init(&sc, &t->h, s + 1, lr_t);
	if (t->f32) {
		for (int i = 0; i < t->n; i++)
			st->gf[i] = (float)raw[i];
		if (st->be)
			return replay_step_device(st, t, s, lr_t);
		if (t->has_clip) {
			/* torch.norm of the stacked per-tensor norms (here
			 * one tensor). */
			float nrm = optreg_norm2_f32(st->gf, t->n);
			float c = optreg_clip_coef_f32(
				optreg_norm2_f32(&nrm, 1), t->clip_norm);

			for (int i = 0; i < t->n; i++)
				st->gf[i] = st->gf[i] * c;
		}
		for (int i = 0; i < t->n; i++)
			optreg_adam_update_f32(&sc, &t->h, &st->pf[i],
					       st->gf[i], &st->mf[i],
					       &st->vf[i], &st->vmaxf[i]);
		return 0;
	}
	for (int i = 0; i < t->n; i++)
		st->g[i] = raw[i];
	if (t->has_clip) {
		double nrm = optreg_norm2_f64(st->g, t->n);
		double c = optreg_clip_coef(optreg_norm2_f64(&nrm, 1),
					    t->clip_norm);

		for (int i = 0; i < t->n; i++)
			st->g[i] = st->g[i] * c;
	}
	for (int i = 0; i < t->n; i++)
		optreg_adam_update_f64(&sc, &t->h, &st->p[i], st->g[i],
				       &st->m[i], &st->v[i], &st->vmax[i]);
	return 0;
}

/* Compares the state after step s (0-based) with the trace. */
static int replay_check(const struct replay_state *st,
			const struct optreg_trace *t, int s,
			struct optreg_selftest_result *r)
{
	const double *want[] = {t->param, t->exp_avg, t->exp_avg_sq,
				t->max_exp_avg_sq};
	static const char *const names[] = {"param", "exp_avg", "exp_avg_sq",
					    "max_exp_avg_sq"};
	const double *got64[] = {st->p, st->m, st->v, st->vmax};
	const float *got32[] = {st->pf, st->mf, st->vf, st->vmaxf};
	int nfields = t->h.amsgrad ? 4 : 3;
	/* Bits are required of the host and the CPU backend; a GPU's
	 * float32 step (its own fused kernel) is held to PyTorch's
	 * tolerance, as clipped cases are. */
	int exact = !t->has_clip && (!st->be || !strcmp(st->be->name, "cpu"));

	for (int f = 0; f < nfields; f++)
		for (int i = 0; i < t->n; i++) {
			double w = want[f][(size_t)s * t->n + i];
			double g = t->f32 ? (double)got32[f][i] : got64[f][i];

			if (check_value(r, t->f32, exact, g, w) < 0) {
				r->step = s + 1;
				r->field = names[f];
				r->index = i;
				r->got = g;
				r->want = w;
				return -1;
			}
		}
	return 0;
}

int optreg_selftest_replay_on(struct optreg_backend *be,
			      const struct optreg_trace *t,
			      struct optreg_selftest_result *r)
{
	struct replay_state st;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->bit_exact = 1;
	state_init(&st, t);
	if (be && t->f32 && (rc = state_init_device(&st, be)) < 0) {
		r->bit_exact = 0;
		r->field = "backend";
		r->index = -1;
		r->code = rc;
		state_release(&st);
		return rc;
	}
	for (int s = 0; s < t->steps; s++) {
		double lr_t =
			optreg_config_schedule_lr(&t->schedule, t->h.lr, s + 1);

		if (memcmp(&lr_t, &t->lr[s], sizeof(lr_t))) {
			r->bit_exact = 0;
			r->step = s + 1;
			r->field = "lr";
			r->index = -1;
			r->got = lr_t;
			r->want = t->lr[s];
			rc = OPTREG_EINVAL;
			break;
		}
		if ((rc = replay_step(&st, t, s, lr_t)) < 0) {
			r->bit_exact = 0;
			r->step = s + 1;
			r->field = "backend";
			r->index = -1;
			r->code = rc;
			break;
		}
		if (replay_check(&st, t, s, r) < 0) {
			rc = OPTREG_EINVAL;
			break;
		}
	}
	state_release(&st);
	return rc;
}

int optreg_selftest_replay(const struct optreg_trace *t,
			   struct optreg_selftest_result *r)
{
	return optreg_selftest_replay_on(NULL, t, r);
}

/* ---- the directory ------------------------------------------------------ */

static int is_trace_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays one file and prints its line; returns 1 when it passed. */
static int run_one(struct optreg_backend *be, const char *dir, const char *file,
		   FILE *out)
{
	struct optreg_buf path = OPTREG_BUF_INIT, err = OPTREG_BUF_INIT;
	struct optreg_trace t;
	struct optreg_selftest_result r;
	int ok = 0;

	optreg_buf_addf(&path, "%s/%s", dir, file);
	if (optreg_trace_load(path.data, &t, &err) < 0) {
		fprintf(out, "FAIL %s: cannot load: %s\n", t.name, err.data);
	} else if (optreg_selftest_replay_on(be, &t, &r) < 0) {
		int prec = t.f32 ? 9 : 17;

		if (r.code)
			fprintf(out,
				"FAIL %s: step %d: the %s backend failed "
				"(%s)\n",
				t.name, r.step, be ? be->name : "host",
				optreg_code_name(r.code));
		else if (r.index < 0)
			fprintf(out,
				"FAIL %s: step %d %s: got %.*g want %.*g\n",
				t.name, r.step, r.field, 17, r.got, 17, r.want);
		else
			fprintf(out,
				"FAIL %s: step %d %s[%d]: got %.*g want %.*g\n",
				t.name, r.step, r.field, r.index, prec, r.got,
				prec, r.want);
	} else {
		ok = 1;
		if (r.bit_exact)
			fprintf(out, "ok %s (%d steps, bit-exact)\n", t.name,
				t.steps);
		else
			fprintf(out,
				"ok %s (%d steps, clipped, within tolerance: "
				"%.3g of allowed)\n",
				t.name, t.steps, r.max_err);
	}
	optreg_trace_release(&t);
	optreg_buf_release(&err);
	optreg_buf_release(&path);
	return ok;
}

int optreg_selftest_run_on(struct optreg_backend *be, const char *golden_dir,
			   FILE *out, int *passed, int *failed)
{
	DIR *d = opendir(golden_dir);
	struct dirent *e;
	char **names = NULL;
	size_t len = 0, cap = 0;
	int npass = 0, nfail = 0;

	if (passed)
		*passed = 0;
	if (failed)
		*failed = 0;
	if (!d) {
		fprintf(out, "FAIL cannot open golden trace directory %s: %s\n",
			golden_dir, strerror(errno));
		return OPTREG_EIO;
	}
	while ((e = readdir(d))) {
		if (!is_trace_name(e->d_name))
			continue;
		OPTREG_ALLOC_GROW(names, len + 1, cap);
		names[len++] = optreg_xstrdup(e->d_name);
	}
	closedir(d);
	if (len > 1)
		qsort(names, len, sizeof(*names), cmp_names);
	for (size_t i = 0; i < len; i++) {
		if (run_one(be, golden_dir, names[i], out))
			npass++;
		else
			nfail++;
		free(names[i]);
	}
	free(names);
	if (len == 0)
		fprintf(out, "FAIL no *.json traces in %s\n", golden_dir);
	if (passed)
		*passed = npass;
	if (failed)
		*failed = nfail;
	return nfail == 0 && npass > 0 ? 0 : OPTREG_EINVAL;
}

int optreg_selftest_run(const char *golden_dir, FILE *out, int *passed,
			int *failed)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_backend be;
	int rc;

	if (optreg_cpu_backend_init(&be, 1, &errs) < 0) {
		/* Cannot happen with one thread; say so if it does. */
		fprintf(out, "FAIL the cpu backend did not start: %s\n",
			errs.len ? errs.items[0].message : "unknown error");
		optreg_errors_release(&errs);
		if (passed)
			*passed = 0;
		if (failed)
			*failed = 0;
		return OPTREG_EINTERNAL;
	}
	rc = optreg_selftest_run_on(&be, golden_dir, out, passed, failed);
	be.destroy(&be);
	optreg_errors_release(&errs);
	return rc;
}

char *optreg_selftest_default_dir(void)
{
	/* bin/ is one level below the checkout, build/<kind>/bin/ three. */
	return optreg_path_beside_exe(
		"OPTREG_GOLDEN", "tests/testdata/torch-adam", OPTREG_PATH_DIR,
		4, "tests/testdata/torch-adam");
}
