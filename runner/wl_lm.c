/*
 * runner/wl_lm.c: the `lm` problem (workloads.h): a character-level
 * transformer language model (runner/lm.h) on OPTREG_LM_CORPUS.
 *
 * The corpus is read whole and mapped to LM_VOCAB ids (lm_token_id); the
 * first 90% (floor) of the ids train, the rest test. Step t's sequence b
 * starts at the offset (w0 << 32 | w1) mod (ntrain - context - 1) of
 * optreg_philox_draw(seed, OPTREG_STREAM_LM_BATCH, (t-1)*batch + b); its
 * inputs are the context ids from there and its targets the ids one
 * further. The test pass scores non-overlapping windows of the test text
 * (window k starts at test id k * context), eval_rows of them (0: 64),
 * as many as fit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "lm.h"
#include "philox.h"
#include "workloads_int.h"

#define LM_EVAL_WINDOWS 64

struct lm_state {
	struct lm_net net;
	unsigned char *ids; /* the corpus as token ids */
	size_t nids, ntrain;
	float *host_ids, *host_tgt; /* staging, rows_max * context */
};

static int lm_corpus_load(struct wl_run *w, struct lm_state *s,
			  struct optreg_errors *errs)
{
	const char *path =
		w->spec->lm.corpus ? w->spec->lm.corpus : OPTREG_LM_CORPUS;
	struct optreg_buf buf = OPTREG_BUF_INIT;
	size_t need = (size_t)s->net.context + 2;

	if (optreg_buf_read_file(&buf, path)) {
		if (errs)
			optreg_error_set_hint(
				optreg_errors_add(
					errs, OPTREG_EIO, "io", "lm.corpus",
					"workload lm: cannot read the "
					"corpus %s",
					path),
				"Install base-files (it ships "
				"/usr/share/common-licenses/GPL-3) or point "
				"lm.corpus at a text file.");
		optreg_buf_release(&buf);
		return OPTREG_EIO;
	}
	s->nids = buf.len;
	s->ids = optreg_xcalloc(buf.len ? buf.len : 1, 1);
	for (size_t i = 0; i < buf.len; i++)
		s->ids[i] =
			(unsigned char)lm_token_id((unsigned char)buf.data[i]);
	optreg_buf_release(&buf);
	s->ntrain = s->nids / 10 * 9 + s->nids % 10 * 9 / 10; /* 0.9 n */
	if (s->ntrain < need || s->nids - s->ntrain < need) {
		if (errs)
			optreg_errors_add(errs, OPTREG_EINVAL, "range",
					  "lm.corpus",
					  "workload lm: corpus %s has %zu "
					  "bytes, too few for context %ld",
					  path, s->nids, s->net.context);
		return OPTREG_EINVAL;
	}
	return 0;
}

static int lm_setup(struct wl_run *w, struct optreg_errors *errs)
{
	struct lm_state *s = optreg_xcalloc(1, sizeof(*s));
	size_t rows;

	w->priv = s;
	WL_TRY(lm_net_init(&s->net, w->be, &w->spec->lm, (size_t)w->batch,
			   errs));
	for (size_t k = 0; k < s->net.ntensors; k++) {
		size_t idx = wl_tensor_add(w, s->net.names[k], s->net.numel[k]);
		if (w->tensors[idx].offset != s->net.offset[k])
			return OPTREG_EINTERNAL;
	}
	w->res->classes = LM_VOCAB;
	WL_TRY(lm_corpus_load(w, s, errs));
	rows = (size_t)w->batch * (size_t)s->net.context;
	s->host_ids = optreg_xcalloc(rows, sizeof(float));
	s->host_tgt = optreg_xcalloc(rows, sizeof(float));
	return 0;
}

static void lm_init_params(struct wl_run *w, float *host)
{
	struct lm_state *s = w->priv;

	lm_net_init_params(&s->net, w->seed, host);
}

/* Stages sequence b of `seqs` starting at id `start` and, after the last,
 * uploads them. */
static void lm_stage(struct lm_state *s, size_t b, size_t start)
{
	size_t T = (size_t)s->net.context;

	for (size_t j = 0; j < T; j++) {
		s->host_ids[b * T + j] = (float)s->ids[start + j];
		s->host_tgt[b * T + j] = (float)s->ids[start + j + 1];
	}
}

static int lm_upload(struct wl_run *w, struct lm_state *s, size_t seqs)
{
	const struct optreg_backend *be = w->be;
	size_t rows = seqs * (size_t)s->net.context;

	WL_TRY(be->upload(be->ctx, s->net.ids, s->host_ids, rows));
	return be->upload(be->ctx, s->net.tgt, s->host_tgt, rows);
}

static int lm_loss_grad(struct wl_run *w, long t, double *loss)
{
	struct lm_state *s = w->priv;
	size_t B = (size_t)w->batch, T = (size_t)s->net.context;
	uint64_t span = (uint64_t)(s->ntrain - T - 1);
	double sum;
	size_t correct;

	for (size_t b = 0; b < B; b++) {
		uint32_t r[4];
		optreg_philox_draw(w->seed, OPTREG_STREAM_LM_BATCH,
				   (uint64_t)(t - 1) * B + b, r);
		uint64_t x = (uint64_t)r[0] << 32 | r[1];
		lm_stage(s, b, (size_t)(x % span));
	}
	WL_TRY(lm_upload(w, s, B));
	WL_TRY(lm_net_loss_grad(&s->net, w->param, w->grad, B, &sum, &correct));
	*loss = sum / (double)(B * T);
	return 0;
}

static int lm_evaluate(struct wl_run *w)
{
	struct lm_state *s = w->priv;
	size_t T = (size_t)s->net.context, B = (size_t)w->batch;
	size_t fit = (s->nids - s->ntrain - 1) / T;
	size_t n = w->spec->eval_rows > 0 ? (size_t)w->spec->eval_rows
					  : LM_EVAL_WINDOWS;
	size_t right = 0;
	double total = 0;

	if (n > fit)
		n = fit;
	for (size_t first = 0; first < n; first += B) {
		size_t seqs = n - first < B ? n - first : B, correct;
		double sum;
		for (size_t b = 0; b < seqs; b++)
			lm_stage(s, b, s->ntrain + (first + b) * T);
		WL_TRY(lm_upload(w, s, seqs));
		WL_TRY(lm_net_loss_grad(&s->net, w->param, NULL, seqs, &sum,
					&correct));
		total += sum;
		right += correct;
	}
	w->res->has_test = 1;
	w->res->test_rows = (long)n;
	w->res->test_loss = n ? total / (double)(n * T) : NAN;
	w->res->test_accuracy = n ? (double)right / (double)(n * T) : NAN;
	return 0;
}

static void lm_teardown(struct wl_run *w)
{
	struct lm_state *s = w->priv;

	if (!s)
		return;
	lm_net_release(&s->net);
	free(s->ids);
	free(s->host_ids);
	free(s->host_tgt);
	free(s);
	w->priv = NULL;
}

const struct wl_problem wl_lm = {
	.name = "lm",
	.setup = lm_setup,
	.init_params = lm_init_params,
	.loss_grad = lm_loss_grad,
	.evaluate = lm_evaluate,
	.teardown = lm_teardown,
};
