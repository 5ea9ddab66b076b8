/*
 * runner/wl_quadratic.c: quadratic_deep, DeepOBS's noisy 100-d quadratic
 * (workloads.h). The Hessian Q is known, so after every step the driver
 * also gets Adam's preconditioned sharpness.
 *
 * Per step, with D = theta^T - X (batch x 100, row b = theta - x_b):
 *   loss = 1/2 sum_b d_b^T Q d_b / batch = dot(D, D Q) / (2 batch)
 *   grad = Q (theta - mean x) = column sums of D Q / batch   (Q = Q^T)
 * all on the backend (a GEMM, a bias add, a dot and a column sum).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "workloads_int.h"

#define QD_DIM	     100
#define QD_SMALL     90
#define QD_NOISE     0.6
#define QD_POWER_MAX 300
#define QD_POWER_TOL 1e-10

struct qd_state {
	double *q;	    /* host Q, float-rounded, row-major */
	double *vec;	    /* power-iteration vector, warm-started */
	double noise_floor; /* 1/2 0.6^2 tr(Q): the loss at theta = 0 */
	float *host_x;	    /* batch x 100 staging for -x */
	float *d_q, *d_x, *d_dq;
	int have_vec;
};

/*
 * Q = R diag(lambda) R^T with R from modified Gram-Schmidt (in double) on
 * the columns of a Philox-normal matrix: an orthogonal matrix whose
 * distribution is the Haar measure up to the column signs.
 */
static void qd_build(double *q)
{
	double *a = optreg_xcalloc(QD_DIM * QD_DIM, sizeof(double));
	double lam[QD_DIM];

	for (size_t i = 0; i < QD_DIM; i++)
		for (size_t j = 0; j < QD_DIM; j++)
			a[i * QD_DIM + j] = wl_normal(OPTREG_QUADRATIC_KEY,
						      OPTREG_STREAM_ROTATION,
						      i * QD_DIM + j);
	for (size_t j = 0; j < QD_DIM; j++) {
		for (size_t p = 0; p < j; p++) {
			double d = 0;
			for (size_t i = 0; i < QD_DIM; i++)
				d += a[i * QD_DIM + p] * a[i * QD_DIM + j];
			for (size_t i = 0; i < QD_DIM; i++)
				a[i * QD_DIM + j] -= d * a[i * QD_DIM + p];
		}
		double nrm = 0;
		for (size_t i = 0; i < QD_DIM; i++)
			nrm += a[i * QD_DIM + j] * a[i * QD_DIM + j];
		nrm = sqrt(nrm);
		for (size_t i = 0; i < QD_DIM; i++)
			a[i * QD_DIM + j] /= nrm;
	}
	for (size_t i = 0; i < QD_DIM; i++) {
		double u = wl_uniform(OPTREG_QUADRATIC_KEY,
				      OPTREG_STREAM_EIGENVALUES, i);
		lam[i] = i < QD_SMALL ? u : 30.0 + 30.0 * u;
	}
	for (size_t i = 0; i < QD_DIM; i++)
		for (size_t j = i; j < QD_DIM; j++) {
			double s = 0;
			for (size_t k = 0; k < QD_DIM; k++)
				s += a[i * QD_DIM + k] * lam[k] *
				     a[j * QD_DIM + k];
			/* The float the device holds, symmetric exactly. */
			q[i * QD_DIM + j] = q[j * QD_DIM + i] = (float)s;
		}
	free(a);
}

static int qd_setup(struct wl_run *w, struct optreg_errors *errs)
{
	struct qd_state *s = optreg_xcalloc(1, sizeof(*s));
	size_t bx = (size_t)w->batch * QD_DIM;
	float *qf;
	int rc;

	(void)errs;
	w->priv = s;
	wl_tensor_add(w, "theta", QD_DIM);
	s->q = optreg_xcalloc(QD_DIM * QD_DIM, sizeof(double));
	s->vec = optreg_xcalloc(QD_DIM, sizeof(double));
	s->host_x = optreg_xcalloc(bx, sizeof(float));
	qd_build(s->q);
	for (size_t i = 0; i < QD_DIM; i++)
		s->noise_floor +=
			0.5 * QD_NOISE * QD_NOISE * s->q[i * QD_DIM + i];
	w->res->expected_loss =
		optreg_xcalloc((size_t)w->spec->steps, sizeof(double));

	WL_TRY(wl_alloc(w, QD_DIM * QD_DIM, &s->d_q));
	WL_TRY(wl_alloc(w, bx, &s->d_x));
	WL_TRY(wl_alloc(w, bx, &s->d_dq));
	qf = optreg_xcalloc(QD_DIM * QD_DIM, sizeof(float));
	for (size_t i = 0; i < QD_DIM * QD_DIM; i++)
		qf[i] = (float)s->q[i];
	rc = w->be->upload(w->be->ctx, s->d_q, qf, QD_DIM * QD_DIM);
	free(qf);

	if (!w->spec->skip_sharpness) {
		size_t n = (size_t)w->spec->steps;
		w->res->sharpness = optreg_xcalloc(n, sizeof(double));
		w->res->sharpness_bound = optreg_xcalloc(n, sizeof(double));
		for (size_t i = 0; i < n; i++)
			w->res->sharpness[i] = w->res->sharpness_bound[i] = NAN;
	}
	return rc;
}

static void qd_init_params(struct wl_run *w, float *host)
{
	for (size_t i = 0; i < w->nparams; i++)
		host[i] = 1.0f;
}

static int qd_loss_grad(struct wl_run *w, long t, double *loss)
{
	const struct optreg_backend *be = w->be;
	struct qd_state *s = w->priv;
	size_t b = (size_t)w->batch;
	uint64_t base = (uint64_t)(t - 1) * b * QD_DIM;
	double dot, qt, e = 0;
	float th[QD_DIM];

	/* E_x 1/2 (theta - x)^T Q (theta - x) = 1/2 theta^T Q theta + floor */
	WL_TRY(be->download(be->ctx, th, w->param, QD_DIM));
	for (size_t i = 0; i < QD_DIM; i++) {
		qt = 0;
		for (size_t j = 0; j < QD_DIM; j++)
			qt += s->q[i * QD_DIM + j] * (double)th[j];
		e += (double)th[i] * qt;
	}
	w->res->expected_loss[t - 1] = 0.5 * e + s->noise_floor;

	/* -x, so that a bias add of theta gives D = theta - x. */
	for (size_t i = 0; i < b * QD_DIM; i++)
		s->host_x[i] = (float)(-QD_NOISE * wl_normal(w->seed,
							     OPTREG_STREAM_DATA,
							     base + i));
	WL_TRY(be->upload(be->ctx, s->d_x, s->host_x, b * QD_DIM));
	WL_TRY(be->bias_add(be->ctx, s->d_x, w->param, b, QD_DIM));
	WL_TRY(be->gemm(be->ctx, 0, 0, b, QD_DIM, QD_DIM, 1.0f, s->d_x, QD_DIM,
			s->d_q, QD_DIM, 0.0f, s->d_dq, QD_DIM));
	WL_TRY(be->dot(be->ctx, s->d_x, s->d_dq, b * QD_DIM, &dot));
	*loss = 0.5 * dot / (double)b;
	WL_TRY(be->col_sum(be->ctx, w->grad, s->d_dq, b, QD_DIM));
	WL_TRY(be->scale(be->ctx, w->grad, (float)(1.0 / (double)b), QD_DIM));
	return 0;
}

/*
 * Largest eigenvalue of P Q, P = diag(1 / (sqrt(u) / sqrt(bc2) + eps)):
 * the same as that of the symmetric S = P^1/2 Q P^1/2, found by power
 * iteration with the Rayleigh quotient, warm-started from the last step's
 * vector (S changes slowly, so a few iterations usually suffice).
 */
static int qd_after_step(struct wl_run *w, long t)
{
	const struct optreg_backend *be = w->be;
	struct qd_state *s = w->priv;
	const struct optreg_adam_group *g = &w->groups[w->tensors[0].group];
	float u[QD_DIM];
	double sp[QD_DIM], y[QD_DIM], lam = 0, prev = -1;

	if (!w->res->sharpness)
		return 0;
	WL_TRY(be->download(be->ctx, u, g->h.amsgrad ? w->vmax : w->v, QD_DIM));
	double bc2s = sqrt(1.0 - pow(g->h.beta2, (double)t));
	for (size_t i = 0; i < QD_DIM; i++)
		sp[i] = 1.0 / sqrt(sqrt((double)u[i]) / bc2s + g->h.eps);
	if (!s->have_vec) {
		for (size_t i = 0; i < QD_DIM; i++)
			s->vec[i] = 1.0 / sqrt((double)QD_DIM);
		s->have_vec = 1;
	}
	for (int it = 0; it < QD_POWER_MAX; it++) {
		double nrm = 0;
		lam = 0;
		for (size_t i = 0; i < QD_DIM; i++) {
			double acc = 0;
			for (size_t j = 0; j < QD_DIM; j++)
				acc += s->q[i * QD_DIM + j] * sp[j] * s->vec[j];
			y[i] = sp[i] * acc;
			lam += s->vec[i] * y[i];
			nrm += y[i] * y[i];
		}
		nrm = sqrt(nrm);
		if (!(nrm > 0) || !isfinite(nrm))
			break;
		for (size_t i = 0; i < QD_DIM; i++)
			s->vec[i] = y[i] / nrm;
		if (fabs(lam - prev) <= QD_POWER_TOL * fabs(lam))
			break;
		prev = lam;
	}
	w->res->sharpness[t - 1] = lam;
	w->res->sharpness_bound[t - 1] =
		(2.0 + 2.0 * g->h.beta1) / ((1.0 - g->h.beta1) * g->lr_t);
	return 0;
}

static void qd_teardown(struct wl_run *w)
{
	struct qd_state *s = w->priv;

	if (!s)
		return;
	w->be->free(w->be->ctx, s->d_q);
	w->be->free(w->be->ctx, s->d_x);
	w->be->free(w->be->ctx, s->d_dq);
	free(s->q);
	free(s->vec);
	free(s->host_x);
	free(s);
	w->priv = NULL;
}

const struct wl_problem wl_quadratic_deep = {
	.name = "quadratic_deep",
	.setup = qd_setup,
	.init_params = qd_init_params,
	.loss_grad = qd_loss_grad,
	.after_step = qd_after_step,
	.teardown = qd_teardown,
};
