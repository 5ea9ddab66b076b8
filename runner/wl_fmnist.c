/*
 * runner/wl_fmnist.c: fmnist_logreg and fmnist_mlp (workloads.h), one
 * fully connected network with a layer list: 784-10, or 784-1000-500-100-10
 * (or the spec's hidden widths) with ReLU after every hidden layer, softmax
 * cross-entropy on top. The stress variants live here too: label noise
 * (fixed per image at setup) and sparse inputs (a fresh mask per step).
 *
 * Per step the host turns the batch's bytes into floats in [0, 1] and
 * uploads them with the labels; everything else (GEMMs, bias, ReLU, loss
 * and the backward pass) runs on the backend. A linear layer holds
 * W [out x in] and b [out]; forward Y = X W^T + b; backward
 * dW = dY^T X, db = column sums of dY, dX = dY W.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "philox.h"
#include "workloads_int.h"

#define FM_MAX_LAYERS (OPTREG_WORKLOAD_MAX_HIDDEN + 1)
#define FM_EVAL_CHUNK 1000

struct fm_state {
	int nlayers;
	size_t dims[FM_MAX_LAYERS + 1]; /* dims[0] = 784, dims[n] = 10 */
	size_t wt[FM_MAX_LAYERS], bt[FM_MAX_LAYERS]; /* tensor indices */
	size_t rows_max; /* rows the activation buffers hold */

	struct optreg_fmnist own; /* loaded here when the spec has none */
	const struct optreg_fmnist *data;
	/* The training labels with label noise applied; NULL without. */
	uint8_t *noisy_labels;

	uint32_t *perm; /* this epoch's order of the training images */
	long perm_epoch;

	float *host_x, *host_y;	     /* staging: rows_max x 784, rows */
	float *d_x, *d_y;	     /* device input and labels */
	float *d_act[FM_MAX_LAYERS]; /* layer outputs, rows_max x out */
	float *d_grad[2];	     /* ping-pong dY, batch x widest */
};

static int fm_setup(struct wl_run *w, const size_t *dims, int nlayers,
		    struct optreg_errors *errs)
{
	struct fm_state *s = optreg_xcalloc(1, sizeof(*s));
	size_t widest = 0;

	w->priv = s;
	w->res->classes = OPTREG_FMNIST_CLASSES; /* chance: ln 10 */
	s->nlayers = nlayers;
	s->perm_epoch = -1;
	memcpy(s->dims, dims, (size_t)(nlayers + 1) * sizeof(*dims));
	for (int l = 0; l < nlayers; l++) {
		char name[32];
		if (nlayers == 1)
			snprintf(name, sizeof(name), "fc");
		else
			snprintf(name, sizeof(name), "fc%d", l + 1);
		char wn[40], bn[40];
		snprintf(wn, sizeof(wn), "%s.weight", name);
		snprintf(bn, sizeof(bn), "%s.bias", name);
		s->wt[l] = wl_tensor_add(w, wn, dims[l + 1] * dims[l]);
		s->bt[l] = wl_tensor_add(w, bn, dims[l + 1]);
		if (dims[l] > widest)
			widest = dims[l];
		if (dims[l + 1] > widest)
			widest = dims[l + 1];
	}

	if (w->spec->fmnist) {
		s->data = w->spec->fmnist;
	} else {
		WL_TRY(optreg_fmnist_load(w->spec->data_dir, &s->own, errs));
		s->data = &s->own;
	}
	if (s->data->train_images.count < (size_t)w->batch) {
		if (errs)
			optreg_errors_add(errs, OPTREG_EINVAL, "range", "batch",
					  "workload %s: batch must not exceed "
					  "the %zu training images (got %ld)",
					  w->res->workload,
					  s->data->train_images.count,
					  w->batch);
		return OPTREG_EINVAL;
	}

	if (w->spec->label_noise > 0) {
		const struct optreg_idx *lab = &s->data->train_labels;
		s->noisy_labels = optreg_xcalloc(lab->count, 1);
		for (size_t i = 0; i < lab->count; i++)
			s->noisy_labels[i] = (uint8_t)wl_fmnist_noisy_label(
				w->seed, w->spec->label_noise, i, lab->data[i]);
	}

	s->rows_max = (size_t)w->batch > FM_EVAL_CHUNK ? (size_t)w->batch
						       : FM_EVAL_CHUNK;
	s->perm = optreg_xcalloc(s->data->train_images.count, sizeof(*s->perm));
	s->host_x = optreg_xcalloc(s->rows_max * dims[0], sizeof(float));
	s->host_y = optreg_xcalloc(s->rows_max, sizeof(float));
	WL_TRY(wl_alloc(w, s->rows_max * dims[0], &s->d_x));
	WL_TRY(wl_alloc(w, s->rows_max, &s->d_y));
	for (int l = 0; l < nlayers; l++)
		WL_TRY(wl_alloc(w, s->rows_max * dims[l + 1], &s->d_act[l]));
	WL_TRY(wl_alloc(w, (size_t)w->batch * widest, &s->d_grad[0]));
	WL_TRY(wl_alloc(w, (size_t)w->batch * widest, &s->d_grad[1]));
	return 0;
}

static int fm_logreg_setup(struct wl_run *w, struct optreg_errors *errs)
{
	static const size_t dims[] = {OPTREG_FMNIST_PIXELS,
				      OPTREG_FMNIST_CLASSES};

	return fm_setup(w, dims, 1, errs);
}

/* DeepOBS's 1000-500-100, or the spec's hidden widths (checked by the
 * driver: 1 to OPTREG_WORKLOAD_MAX_HIDDEN of them, each a sane width). */
static int fm_mlp_setup(struct wl_run *w, struct optreg_errors *errs)
{
	static const size_t deepobs[] = {OPTREG_FMNIST_PIXELS, 1000, 500, 100,
					 OPTREG_FMNIST_CLASSES};
	size_t dims[FM_MAX_LAYERS + 1];
	size_t nh = w->spec->nhidden;

	if (nh == 0)
		return fm_setup(w, deepobs, 4, errs);
	dims[0] = OPTREG_FMNIST_PIXELS;
	for (size_t i = 0; i < nh; i++)
		dims[i + 1] = (size_t)w->spec->hidden[i];
	dims[nh + 1] = OPTREG_FMNIST_CLASSES;
	return fm_setup(w, dims, (int)nh + 1, errs);
}

int wl_fmnist_noisy_label(uint64_t seed, double label_noise, uint64_t image,
			  int label)
{
	uint32_t r[4];

	if (!(label_noise > 0))
		return label;
	optreg_philox_draw(seed, OPTREG_STREAM_LABEL_NOISE, image, r);
	if (optreg_philox_u01(r[0], r[1]) < label_noise)
		return (int)(r[2] % OPTREG_FMNIST_CLASSES);
	return label;
}

/*
 * optreg_philox_draw(seed, stream, first + l, out[.][l]) for the FM_LANES
 * consecutive indices l, interleaved so that the lanes' multiplies overlap
 * (one draw alone is a chain of 10 dependent rounds). Same numbers.
 */
#define FM_LANES 8

static void fm_philox_lanes(uint64_t seed, uint32_t stream, uint64_t first,
			    uint32_t out[4][FM_LANES])
{
	uint32_t c0[FM_LANES], c1[FM_LANES], c2[FM_LANES], c3[FM_LANES];
	uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);

	for (int l = 0; l < FM_LANES; l++) {
		uint64_t idx = first + (uint64_t)l;
		c0[l] = (uint32_t)idx;
		c1[l] = (uint32_t)(idx >> 32);
		c2[l] = stream;
		c3[l] = 0;
	}
	for (int r = 0; r < 10; r++) {
		for (int l = 0; l < FM_LANES; l++) {
			uint64_t p0 = (uint64_t)OPTREG_PHILOX_M0 * c0[l];
			uint64_t p1 = (uint64_t)OPTREG_PHILOX_M1 * c2[l];
			uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
			uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
			c0[l] = n0;
			c1[l] = (uint32_t)p1;
			c2[l] = n2;
			c3[l] = (uint32_t)p0;
		}
		k0 += OPTREG_PHILOX_W0;
		k1 += OPTREG_PHILOX_W1;
	}
	memcpy(out[0], c0, sizeof(c0));
	memcpy(out[1], c1, sizeof(c1));
	memcpy(out[2], c2, sizeof(c2));
	memcpy(out[3], c3, sizeof(c3));
}

void wl_fmnist_sparsify(uint64_t seed, double keep, long t, long batch,
			size_t row, float *x, size_t px)
{
	/* keep * 2^32: a word below it has probability keep (keep = 1: all). */
	uint64_t thr = (uint64_t)(keep * 4294967296.0);
	float scale = (float)(1.0 / keep);
	size_t words = (px + 3) / 4;
	uint64_t base =
		((uint64_t)(t - 1) * (uint64_t)batch + (uint64_t)row) * words;
	uint32_t r[4][FM_LANES], word[4 * FM_LANES];

	if (thr > UINT32_MAX) /* keep 1 */
		return;
	/* The draws in blocks of FM_LANES, pixel p of the block reading
	 * word p % 4 of draw p / 4; then a branch-free mask. */
	for (size_t p0 = 0; p0 < px; p0 += 4 * FM_LANES) {
		size_t n = px - p0 < 4 * FM_LANES ? px - p0 : 4 * FM_LANES;
		fm_philox_lanes(seed, OPTREG_STREAM_SPARSE, base + p0 / 4, r);
		for (size_t l = 0; l < FM_LANES; l++)
			for (size_t j = 0; j < 4; j++)
				word[4 * l + j] = r[j][l];
		for (size_t i = 0; i < n; i++) {
			float v = x[p0 + i] * scale;
			x[p0 + i] = word[i] < (uint32_t)thr ? v : 0.0f;
		}
	}
}

/* He-normal before a ReLU, Glorot-uniform for the output layer, zero
 * biases; element e of the flat vector draws at index e (workloads.h). */
static void fm_init_params(struct wl_run *w, float *host)
{
	struct fm_state *s = w->priv;

	for (int l = 0; l < s->nlayers; l++) {
		const struct optreg_adam_tensor *wt = &w->tensors[s->wt[l]];
		const struct optreg_adam_tensor *bt = &w->tensors[s->bt[l]];
		double fan_in = (double)s->dims[l],
		       fan_out = (double)s->dims[l + 1];
		int hidden = l + 1 < s->nlayers;
		double std = sqrt(2.0 / fan_in);
		double lim = sqrt(6.0 / (fan_in + fan_out));

		for (size_t i = 0; i < wt->n; i++) {
			uint64_t e = wt->offset + i;
			double x =
				hidden ? std * wl_normal(w->seed,
							 OPTREG_STREAM_INIT, e)
				       : lim * (2.0 * wl_uniform(
							      w->seed,
							      OPTREG_STREAM_INIT,
							      e) -
						1.0);
			host[e] = (float)x;
		}
		for (size_t i = 0; i < bt->n; i++)
			host[bt->offset + i] = 0.0f;
	}
}

/* Epoch e's order: Fisher-Yates from the identity (workloads.h). */
static void fm_shuffle(struct wl_run *w, struct fm_state *s, long epoch)
{
	size_t n = s->data->train_images.count;

	for (size_t i = 0; i < n; i++)
		s->perm[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		uint32_t r[4];
		optreg_philox_draw(w->seed, OPTREG_STREAM_SHUFFLE,
				   (uint64_t)epoch << 32 | (uint64_t)i, r);
		uint64_t x = (uint64_t)r[0] << 32 | r[1];
		size_t j = (size_t)(x % (uint64_t)(i + 1));
		uint32_t tmp = s->perm[i];
		s->perm[i] = s->perm[j];
		s->perm[j] = tmp;
	}
	s->perm_epoch = epoch;
}

/* Stages rows idx[0..rows) (or first..first+rows when idx is NULL) of a
 * split and uploads them. `labels` is the split's label bytes. t > 0:
 * training step t, whose images are sparsified when the spec says so. */
static int fm_stage(struct wl_run *w, const struct optreg_idx *images,
		    const uint8_t *labels, const uint32_t *idx, size_t first,
		    size_t rows, long t)
{
	struct fm_state *s = w->priv;
	const struct optreg_backend *be = w->be;
	size_t px = s->dims[0];
	int sparse = t > 0 && w->spec->sparse_keep > 0;

	for (size_t r = 0; r < rows; r++) {
		size_t src = idx ? idx[r] : first + r;
		const uint8_t *img = images->data + src * px;
		float *dst = s->host_x + r * px;
		for (size_t p = 0; p < px; p++)
			dst[p] = (float)img[p] / 255.0f;
		if (sparse)
			wl_fmnist_sparsify(w->seed, w->spec->sparse_keep, t,
					   w->batch, r, dst, px);
		s->host_y[r] = (float)labels[src];
	}
	WL_TRY(be->upload(be->ctx, s->d_x, s->host_x, rows * px));
	return be->upload(be->ctx, s->d_y, s->host_y, rows);
}

static int fm_forward(struct wl_run *w, size_t rows)
{
	struct fm_state *s = w->priv;
	const struct optreg_backend *be = w->be;
	const float *in = s->d_x;

	for (int l = 0; l < s->nlayers; l++) {
		size_t ni = s->dims[l], no = s->dims[l + 1];
		const float *wp = w->param + w->tensors[s->wt[l]].offset;
		const float *bp = w->param + w->tensors[s->bt[l]].offset;
		WL_TRY(be->gemm(be->ctx, 0, 1, rows, no, ni, 1.0f, in, ni, wp,
				ni, 0.0f, s->d_act[l], no));
		WL_TRY(be->bias_add(be->ctx, s->d_act[l], bp, rows, no));
		if (l + 1 < s->nlayers)
			WL_TRY(be->relu_forward(be->ctx, s->d_act[l],
						rows * no));
		in = s->d_act[l];
	}
	return 0;
}

static int fm_loss_grad(struct wl_run *w, long t, double *loss)
{
	struct fm_state *s = w->priv;
	const struct optreg_backend *be = w->be;
	size_t b = (size_t)w->batch;
	size_t per_epoch = s->data->train_images.count / b;
	long epoch = (long)((size_t)(t - 1) / per_epoch);
	size_t slot = (size_t)(t - 1) % per_epoch;
	int L = s->nlayers, cur = 0;
	double sum;
	size_t correct;

	if (epoch != s->perm_epoch)
		fm_shuffle(w, s, epoch);
	WL_TRY(fm_stage(w, &s->data->train_images,
			s->noisy_labels ? s->noisy_labels
					: s->data->train_labels.data,
			s->perm + slot * b, 0, b, t));
	WL_TRY(fm_forward(w, b));
	WL_TRY(be->softmax_xent(be->ctx, s->d_act[L - 1], s->d_y, b, s->dims[L],
				s->d_grad[cur], &sum, &correct));
	*loss = sum / (double)b;

	for (int l = L - 1; l >= 0; l--) {
		size_t ni = s->dims[l], no = s->dims[l + 1];
		const float *in = l ? s->d_act[l - 1] : s->d_x;
		const float *wp = w->param + w->tensors[s->wt[l]].offset;
		float *gw = w->grad + w->tensors[s->wt[l]].offset;
		float *gb = w->grad + w->tensors[s->bt[l]].offset;
		const float *dy = s->d_grad[cur];

		WL_TRY(be->gemm(be->ctx, 1, 0, no, ni, b, 1.0f, dy, no, in, ni,
				0.0f, gw, ni));
		WL_TRY(be->col_sum(be->ctx, gb, dy, b, no));
		if (l > 0) {
			float *dx = s->d_grad[!cur];
			WL_TRY(be->gemm(be->ctx, 0, 0, b, ni, no, 1.0f, dy, no,
					wp, ni, 0.0f, dx, ni));
			WL_TRY(be->relu_backward(be->ctx, dx, in, b * ni));
			cur = !cur;
		}
	}
	return 0;
}

static int fm_evaluate(struct wl_run *w)
{
	struct fm_state *s = w->priv;
	const struct optreg_backend *be = w->be;
	const struct optreg_idx *images = &s->data->test_images;
	size_t n = images->count, right = 0;
	double total = 0;

	if (w->spec->eval_rows > 0 && (size_t)w->spec->eval_rows < n)
		n = (size_t)w->spec->eval_rows;
	for (size_t first = 0; first < n; first += s->rows_max) {
		size_t rows = n - first < s->rows_max ? n - first : s->rows_max;
		double sum;
		size_t correct;
		WL_TRY(fm_stage(w, images, s->data->test_labels.data, NULL,
				first, rows, 0));
		WL_TRY(fm_forward(w, rows));
		WL_TRY(be->softmax_xent(be->ctx, s->d_act[s->nlayers - 1],
					s->d_y, rows, s->dims[s->nlayers], NULL,
					&sum, &correct));
		total += sum;
		right += correct;
	}
	w->res->has_test = 1;
	w->res->test_rows = (long)n;
	w->res->test_loss = n ? total / (double)n : NAN;
	w->res->test_accuracy = n ? (double)right / (double)n : NAN;
	return 0;
}

static void fm_teardown(struct wl_run *w)
{
	struct fm_state *s = w->priv;
	const struct optreg_backend *be = w->be;

	if (!s)
		return;
	be->free(be->ctx, s->d_x);
	be->free(be->ctx, s->d_y);
	for (int l = 0; l < FM_MAX_LAYERS; l++)
		be->free(be->ctx, s->d_act[l]);
	be->free(be->ctx, s->d_grad[0]);
	be->free(be->ctx, s->d_grad[1]);
	free(s->host_x);
	free(s->host_y);
	free(s->perm);
	free(s->noisy_labels);
	optreg_fmnist_release(&s->own);
	free(s);
	w->priv = NULL;
}

const struct wl_problem wl_fmnist_logreg = {
	.name = "fmnist_logreg",
	.setup = fm_logreg_setup,
	.init_params = fm_init_params,
	.loss_grad = fm_loss_grad,
	.evaluate = fm_evaluate,
	.teardown = fm_teardown,
};

const struct wl_problem wl_fmnist_mlp = {
	.name = "fmnist_mlp",
	.setup = fm_mlp_setup,
	.init_params = fm_init_params,
	.loss_grad = fm_loss_grad,
	.evaluate = fm_evaluate,
	.teardown = fm_teardown,
};
