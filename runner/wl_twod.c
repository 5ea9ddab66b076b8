/*
 * runner/wl_twod.c: rosenbrock and beale, DeepOBS's noisy 2-D functions
 * (workloads.h): f(u, v) + u x + v y averaged over a batch of noise draws
 * (x, y) ~ N(0, 1), i.e. f plus a linear term with mean-noise slopes.
 *
 * Two parameters do not need a device: the driver keeps theta in the
 * backend like any tensor, and this file reads it back, evaluates f and its
 * gradient in double on the host from the float parameters, and writes the
 * gradient (rounded to float) back. Every backend thus gets the same bits.
 */
#include <math.h>
#include <stdlib.h>

#include "../common/buf.h"
#include "philox.h"
#include "workloads_int.h"

typedef double (*twod_fn)(double u, double v, double *gu, double *gv);

struct twod_state {
	twod_fn f;
	double u0, v0;
};

static double rosenbrock(double u, double v, double *gu, double *gv)
{
	double a = 1.0 - u, b = v - u * u;

	*gu = -2.0 * a - 400.0 * u * b;
	*gv = 200.0 * b;
	return a * a + 100.0 * b * b;
}

static double beale(double u, double v, double *gu, double *gv)
{
	double v2 = v * v, v3 = v2 * v;
	double a = 1.5 - u + u * v, b = 2.25 - u + u * v2,
	       c = 2.625 - u + u * v3;

	*gu = 2.0 * a * (v - 1.0) + 2.0 * b * (v2 - 1.0) + 2.0 * c * (v3 - 1.0);
	*gv = 2.0 * a * u + 2.0 * b * 2.0 * u * v + 2.0 * c * 3.0 * u * v2;
	return a * a + b * b + c * c;
}

static int twod_setup(struct wl_run *w, twod_fn f, double u0, double v0)
{
	struct twod_state *s = optreg_xcalloc(1, sizeof(*s));

	s->f = f;
	s->u0 = u0;
	s->v0 = v0;
	w->priv = s;
	w->res->expected_loss =
		optreg_xcalloc((size_t)w->spec->steps, sizeof(double));
	wl_tensor_add(w, "theta", 2);
	return 0;
}

static int rosenbrock_setup(struct wl_run *w, struct optreg_errors *errs)
{
	(void)errs;
	return twod_setup(w, rosenbrock, -0.5, 1.5);
}

static int beale_setup(struct wl_run *w, struct optreg_errors *errs)
{
	(void)errs;
	return twod_setup(w, beale, -4.5, 4.5);
}

static void twod_init_params(struct wl_run *w, float *host)
{
	struct twod_state *s = w->priv;

	host[0] = (float)s->u0;
	host[1] = (float)s->v0;
}

static int twod_loss_grad(struct wl_run *w, long t, double *loss)
{
	const struct optreg_backend *be = w->be;
	struct twod_state *s = w->priv;
	uint64_t base = (uint64_t)(t - 1) * (uint64_t)w->batch;
	double nx = 0, ny = 0, gu, gv;
	float th[2], g[2];

	for (long b = 0; b < w->batch; b++) {
		double z[2];
		optreg_philox_normal2(w->seed, OPTREG_STREAM_DATA,
				      base + (uint64_t)b, z);
		nx += z[0];
		ny += z[1];
	}
	nx /= (double)w->batch;
	ny /= (double)w->batch;

	WL_TRY(be->download(be->ctx, th, w->param, 2));
	double u = th[0], v = th[1];
	double f = s->f(u, v, &gu, &gv);
	w->res->expected_loss[t - 1] = f;
	*loss = f + u * nx + v * ny;
	g[0] = (float)(gu + nx);
	g[1] = (float)(gv + ny);
	return be->upload(be->ctx, w->grad, g, 2);
}

static void twod_teardown(struct wl_run *w)
{
	free(w->priv);
	w->priv = NULL;
}

const struct wl_problem wl_rosenbrock = {
	.name = "rosenbrock",
	.setup = rosenbrock_setup,
	.init_params = twod_init_params,
	.loss_grad = twod_loss_grad,
	.teardown = twod_teardown,
};

const struct wl_problem wl_beale = {
	.name = "beale",
	.setup = beale_setup,
	.init_params = twod_init_params,
	.loss_grad = twod_loss_grad,
	.teardown = twod_teardown,
};
