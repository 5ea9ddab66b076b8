/*
 * runner/lm.c: the transformer language model (runner/lm.h): tensor layout,
 * GPT-2 initialisation, and the forward and backward pass on the backend.
 *
 * A linear layer holds W [out x in] and b [out]: forward Y = X W^T + b;
 * backward dW = dY^T X, db = column sums of dY, dX = dY W. Attention runs
 * per (sequence, head) on strided views of the qkv rows; everything else
 * runs on all rows * context token rows at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "lm.h"
#include "workloads_int.h"

int lm_token_id(unsigned char c)
{
	if (c == '\n')
		return 0;
	if (c >= 32 && c <= 126)
		return c - 31;
	return 1;
}

static int lm_range(struct optreg_errors *errs, const char *field, long got,
		    long lo, long hi)
{
	if (got >= lo && got <= hi)
		return 0;
	if (errs)
		optreg_errors_add(
			errs, OPTREG_EINVAL, "range", field,
			"workload lm: %s must be %ld to %ld (got %ld)", field,
			lo, hi, got);
	return OPTREG_EINVAL;
}

/* Appends a tensor (the arrays hold lm_max_tensors entries). */
static size_t lm_add(struct lm_net *n, const char *name, size_t numel)
{
	size_t k = n->ntensors++;

	snprintf(n->names[k], sizeof(n->names[k]), "%s", name);
	n->offset[k] = n->nparams;
	n->numel[k] = numel;
	n->nparams += numel;
	return n->offset[k];
}

static void lm_layout(struct lm_net *n)
{
	size_t d = (size_t)n->d, max = 2 + 12 * (size_t)n->layers + 3;
	char name[64];

	n->names = optreg_xcalloc(max, sizeof(*n->names));
	n->offset = optreg_xcalloc(max, sizeof(*n->offset));
	n->numel = optreg_xcalloc(max, sizeof(*n->numel));

	n->tok = lm_add(n, "tok_emb.weight", LM_VOCAB * d);
	n->pos = lm_add(n, "pos_emb.weight", (size_t)n->context * d);
	n->blk = optreg_xcalloc((size_t)n->layers, sizeof(*n->blk));
	for (long i = 0; i < n->layers; i++) {
		struct lm_block_off *b = &n->blk[i];
#define LM_T(field, suffix, numel)                                             \
	do {                                                                   \
		snprintf(name, sizeof(name), "blocks.%ld.%s", i, suffix);      \
		b->field = lm_add(n, name, numel);                             \
	} while (0)
		LM_T(ln1_w, "norm1.weight", d);
		LM_T(ln1_b, "norm1.bias", d);
		LM_T(qkv_w, "attn.qkv.weight", 3 * d * d);
		LM_T(qkv_b, "attn.qkv.bias", 3 * d);
		LM_T(proj_w, "attn.proj.weight", d * d);
		LM_T(proj_b, "attn.proj.bias", d);
		LM_T(ln2_w, "norm2.weight", d);
		LM_T(ln2_b, "norm2.bias", d);
		LM_T(fc1_w, "mlp.fc1.weight", 4 * d * d);
		LM_T(fc1_b, "mlp.fc1.bias", 4 * d);
		LM_T(fc2_w, "mlp.fc2.weight", 4 * d * d);
		LM_T(fc2_b, "mlp.fc2.bias", d);
#undef LM_T
	}
	if (!n->post_ln) {
		n->lnf_w = lm_add(n, "norm_f.weight", d);
		n->lnf_b = lm_add(n, "norm_f.bias", d);
	}
	n->head = n->untied ? lm_add(n, "head.weight", LM_VOCAB * d) : n->tok;
}

static int lm_alloc(struct lm_net *n, size_t count, float **out)
{
	return n->be->alloc(n->be->ctx, count ? count : 1, out);
}

int lm_net_init(struct lm_net *n, const struct optreg_backend *be,
		const struct optreg_lm_spec *spec, size_t rows_max,
		struct optreg_errors *errs)
{
	memset(n, 0, sizeof(*n));
	n->be = be;
	n->layers = spec->layers ? spec->layers : 2;
	n->d = spec->d_model ? spec->d_model : 32;
	n->heads = spec->heads ? spec->heads : 2;
	n->context = spec->context ? spec->context : 32;
	n->post_ln = spec->post_ln != 0;
	n->untied = spec->untied != 0;
	n->rows_max = rows_max;
	WL_TRY(lm_range(errs, "lm.layers", n->layers, 1, 64));
	WL_TRY(lm_range(errs, "lm.d_model", n->d, 1, 4096));
	WL_TRY(lm_range(errs, "lm.heads", n->heads, 1, n->d));
	WL_TRY(lm_range(errs, "lm.context", n->context, 1, 4096));
	if (n->d % n->heads) {
		if (errs)
			optreg_error_set_hint(
				optreg_errors_add(errs, OPTREG_EINVAL, "range",
						  "lm.heads",
						  "workload lm: d_model %ld is "
						  "not a multiple of heads %ld",
						  n->d, n->heads),
				"Pick heads that divide d_model.");
		return OPTREG_EINVAL;
	}
	lm_layout(n);

	size_t rows = rows_max * (size_t)n->context, d = (size_t)n->d;
	size_t att = rows_max * (size_t)(n->heads * n->context * n->context);
	WL_TRY(lm_alloc(n, rows, &n->ids));
	WL_TRY(lm_alloc(n, rows, &n->tgt));
	WL_TRY(lm_alloc(n, rows * d, &n->x0));
	n->act = optreg_xcalloc((size_t)n->layers, sizeof(*n->act));
	for (long l = 0; l < n->layers; l++) {
		struct lm_block_act *a = &n->act[l];
		WL_TRY(lm_alloc(n, rows * d, &a->ln1));
		WL_TRY(lm_alloc(n, rows, &a->ln1_mu));
		WL_TRY(lm_alloc(n, rows, &a->ln1_rs));
		WL_TRY(lm_alloc(n, rows * 3 * d, &a->qkv));
		WL_TRY(lm_alloc(n, att, &a->prob));
		WL_TRY(lm_alloc(n, rows * d, &a->att));
		WL_TRY(lm_alloc(n, rows * d, &a->mid));
		WL_TRY(lm_alloc(n, rows * d, &a->ln2));
		WL_TRY(lm_alloc(n, rows, &a->ln2_mu));
		WL_TRY(lm_alloc(n, rows, &a->ln2_rs));
		WL_TRY(lm_alloc(n, rows * 4 * d, &a->f1));
		WL_TRY(lm_alloc(n, rows * 4 * d, &a->g1));
		WL_TRY(lm_alloc(n, rows * d, &a->out));
	}
	WL_TRY(lm_alloc(n, rows * d, &n->lnf));
	WL_TRY(lm_alloc(n, rows, &n->lnf_mu));
	WL_TRY(lm_alloc(n, rows, &n->lnf_rs));
	WL_TRY(lm_alloc(n, rows * LM_VOCAB, &n->logits));
	WL_TRY(lm_alloc(n, rows * d, &n->dx));
	WL_TRY(lm_alloc(n, rows * d, &n->dt1));
	WL_TRY(lm_alloc(n, rows * d, &n->dt2));
	WL_TRY(lm_alloc(n, rows * 3 * d, &n->dqkv));
	WL_TRY(lm_alloc(n, rows * 4 * d, &n->dg));
	WL_TRY(lm_alloc(n, att, &n->dprob));
	return 0;
}

void lm_net_init_params(const struct lm_net *n, uint64_t seed, float *host)
{
	double std = 0.02, res_std = 0.02 / sqrt(2.0 * (double)n->layers);

	for (size_t k = 0; k < n->ntensors; k++) {
		const char *name = n->names[k];
		size_t len = strlen(name), off = n->offset[k];
		int is_bias = len > 5 && strcmp(name + len - 5, ".bias") == 0;
		int is_ln = strstr(name, "norm") != NULL;
		int is_res = strstr(name, "attn.proj.weight") ||
			     strstr(name, "mlp.fc2.weight");
		for (size_t i = 0; i < n->numel[k]; i++) {
			uint64_t e = off + i;
			double x;
			if (is_bias)
				x = 0;
			else if (is_ln)
				x = 1;
			else
				x = (is_res ? res_std : std) *
				    wl_normal(seed, OPTREG_STREAM_INIT, e);
			host[e] = (float)x;
		}
	}
}

/* Y[rows x out] = X[rows x in] W^T + b. */
static int lm_linear(struct lm_net *n, float *y, const float *x, const float *w,
		     const float *b, size_t rows, size_t in, size_t out)
{
	const struct optreg_backend *be = n->be;

	WL_TRY(be->gemm(be->ctx, 0, 1, rows, out, in, 1.0f, x, in, w, in, 0.0f,
			y, out));
	return be->bias_add(be->ctx, y, b, rows, out);
}

/* dW = dY^T X, db = col sums of dY, and dX = dY W when dx is not NULL. */
static int lm_linear_back(struct lm_net *n, float *dx, float *dw, float *db,
			  const float *dy, const float *x, const float *w,
			  size_t rows, size_t in, size_t out)
{
	const struct optreg_backend *be = n->be;

	WL_TRY(be->gemm(be->ctx, 1, 0, out, in, rows, 1.0f, dy, out, x, in,
			0.0f, dw, in));
	WL_TRY(be->col_sum(be->ctx, db, dy, rows, out));
	if (dx)
		WL_TRY(be->gemm(be->ctx, 0, 0, rows, in, out, 1.0f, dy, out, w,
				in, 0.0f, dx, in));
	return 0;
}

/* Causal self-attention of block l on input h (rows x d): qkv, prob, att. */
static int lm_attn(struct lm_net *n, long l, const float *param, const float *h,
		   size_t seqs)
{
	const struct optreg_backend *be = n->be;
	const struct lm_block_off *o = &n->blk[l];
	struct lm_block_act *a = &n->act[l];
	size_t T = (size_t)n->context, d = (size_t)n->d, H = (size_t)n->heads;
	size_t dh = d / H, rows = seqs * T;
	double scale = 1.0 / sqrt((double)dh);

	WL_TRY(lm_linear(n, a->qkv, h, param + o->qkv_w, param + o->qkv_b, rows,
			 d, 3 * d));
	/* Per head, the products of all sequences in one batched call:
	 * sequence s's q, k, v lie T * 3d floats after sequence s - 1's,
	 * its probabilities H * T * T, its output T * d. */
	for (size_t hd = 0; hd < H; hd++) {
		const float *q = a->qkv + hd * dh;
		WL_TRY(optreg_gemm_batched(be, 0, 1, T, T, dh, 1.0f, q, 3 * d,
					   T * 3 * d, q + d, 3 * d, T * 3 * d,
					   0.0f, a->prob + hd * T * T, T,
					   H * T * T, seqs));
	}
	WL_TRY(be->attn_softmax_forward(be->ctx, a->prob, a->prob, seqs * H, T,
					scale));
	for (size_t hd = 0; hd < H; hd++)
		WL_TRY(optreg_gemm_batched(
			be, 0, 0, T, dh, T, 1.0f, a->prob + hd * T * T, T,
			H * T * T, a->qkv + 2 * d + hd * dh, 3 * d, T * 3 * d,
			0.0f, a->att + hd * dh, d, T * d, seqs));
	return 0;
}

/* Its backward from datt (rows x d): the qkv gradients into dqkv and
 * the parameter gradients; dh (rows x d) = the input's gradient. */
static int lm_attn_back(struct lm_net *n, long l, const float *param,
			float *grad, const float *h, const float *datt,
			float *dh_out, size_t seqs)
{
	const struct optreg_backend *be = n->be;
	const struct lm_block_off *o = &n->blk[l];
	struct lm_block_act *a = &n->act[l];
	size_t T = (size_t)n->context, d = (size_t)n->d, H = (size_t)n->heads;
	size_t dh = d / H, rows = seqs * T;
	double scale = 1.0 / sqrt((double)dh);

	/* Per head, all sequences in one batched call (strides as in
	 * lm_attn; datt's rows are T * d floats a sequence). */
	for (size_t hd = 0; hd < H; hd++) {
		size_t base = hd * dh;
		const float *v = a->qkv + base + 2 * d;
		const float *p = a->prob + hd * T * T;
		const float *dout = datt + hd * dh;
		float *dp = n->dprob + hd * T * T;
		/* dP = dO V^T, dV = P^T dO */
		WL_TRY(optreg_gemm_batched(be, 0, 1, T, T, dh, 1.0f, dout, d,
					   T * d, v, 3 * d, T * 3 * d, 0.0f, dp,
					   T, H * T * T, seqs));
		WL_TRY(optreg_gemm_batched(be, 1, 0, T, dh, T, 1.0f, p, T,
					   H * T * T, dout, d, T * d, 0.0f,
					   n->dqkv + base + 2 * d, 3 * d,
					   T * 3 * d, seqs));
	}
	WL_TRY(be->attn_softmax_backward(be->ctx, n->dprob, a->prob, n->dprob,
					 seqs * H, T, scale));
	for (size_t hd = 0; hd < H; hd++) {
		size_t base = hd * dh;
		const float *q = a->qkv + base, *k = q + d;
		const float *ds = n->dprob + hd * T * T;
		/* dQ = dS K, dK = dS^T Q */
		WL_TRY(optreg_gemm_batched(be, 0, 0, T, dh, T, 1.0f, ds, T,
					   H * T * T, k, 3 * d, T * 3 * d, 0.0f,
					   n->dqkv + base, 3 * d, T * 3 * d,
					   seqs));
		WL_TRY(optreg_gemm_batched(be, 1, 0, T, dh, T, 1.0f, ds, T,
					   H * T * T, q, 3 * d, T * 3 * d, 0.0f,
					   n->dqkv + base + d, 3 * d, T * 3 * d,
					   seqs));
	}
	return lm_linear_back(n, dh_out, grad + o->qkv_w, grad + o->qkv_b,
			      n->dqkv, h, param + o->qkv_w, rows, d, 3 * d);
}

/* The MLP of block l on h (rows x d) into y (rows x d), saving f1, g1. */
static int lm_mlp(struct lm_net *n, long l, const float *param, const float *h,
		  float *y, size_t rows)
{
	const struct lm_block_off *o = &n->blk[l];
	struct lm_block_act *a = &n->act[l];
	size_t d = (size_t)n->d;

	WL_TRY(lm_linear(n, a->f1, h, param + o->fc1_w, param + o->fc1_b, rows,
			 d, 4 * d));
	WL_TRY(n->be->gelu_forward(n->be->ctx, a->g1, a->f1, rows * 4 * d));
	return lm_linear(n, y, a->g1, param + o->fc2_w, param + o->fc2_b, rows,
			 4 * d, d);
}

static int lm_mlp_back(struct lm_net *n, long l, const float *param,
		       float *grad, const float *h, const float *dy,
		       float *dh_out, size_t rows)
{
	const struct lm_block_off *o = &n->blk[l];
	struct lm_block_act *a = &n->act[l];
	size_t d = (size_t)n->d;

	WL_TRY(lm_linear_back(n, n->dg, grad + o->fc2_w, grad + o->fc2_b, dy,
			      a->g1, param + o->fc2_w, rows, 4 * d, d));
	WL_TRY(n->be->gelu_backward(n->be->ctx, n->dg, n->dg, a->f1, a->g1,
				    rows * 4 * d));
	return lm_linear_back(n, dh_out, grad + o->fc1_w, grad + o->fc1_b,
			      n->dg, h, param + o->fc1_w, rows, d, 4 * d);
}

/* The input of block l. */
static const float *lm_block_in(const struct lm_net *n, long l)
{
	if (l == 0)
		return n->x0;
	return n->post_ln ? n->act[l - 1].ln2 : n->act[l - 1].out;
}

static int lm_forward(struct lm_net *n, const float *param, size_t seqs,
		      const float **hidden)
{
	const struct optreg_backend *be = n->be;
	size_t T = (size_t)n->context, d = (size_t)n->d, rows = seqs * T;

	WL_TRY(be->embed_forward(be->ctx, n->x0, param + n->tok, param + n->pos,
				 n->ids, rows, T, d, LM_VOCAB));
	for (long l = 0; l < n->layers; l++) {
		const struct lm_block_off *o = &n->blk[l];
		struct lm_block_act *a = &n->act[l];
		const float *in = lm_block_in(n, l);
		if (!n->post_ln) {
			WL_TRY(be->layernorm_forward(
				be->ctx, a->ln1, a->ln1_mu, a->ln1_rs, in,
				param + o->ln1_w, param + o->ln1_b, rows, d));
			WL_TRY(lm_attn(n, l, param, a->ln1, seqs));
			WL_TRY(lm_linear(n, a->mid, a->att, param + o->proj_w,
					 param + o->proj_b, rows, d, d));
			WL_TRY(be->axpy(be->ctx, a->mid, 1.0f, in, rows * d));
			WL_TRY(be->layernorm_forward(
				be->ctx, a->ln2, a->ln2_mu, a->ln2_rs, a->mid,
				param + o->ln2_w, param + o->ln2_b, rows, d));
			WL_TRY(lm_mlp(n, l, param, a->ln2, a->out, rows));
			WL_TRY(be->axpy(be->ctx, a->out, 1.0f, a->mid,
					rows * d));
		} else {
			WL_TRY(lm_attn(n, l, param, in, seqs));
			WL_TRY(lm_linear(n, a->mid, a->att, param + o->proj_w,
					 param + o->proj_b, rows, d, d));
			WL_TRY(be->axpy(be->ctx, a->mid, 1.0f, in, rows * d));
			WL_TRY(be->layernorm_forward(
				be->ctx, a->ln1, a->ln1_mu, a->ln1_rs, a->mid,
				param + o->ln1_w, param + o->ln1_b, rows, d));
			WL_TRY(lm_mlp(n, l, param, a->ln1, a->out, rows));
			WL_TRY(be->axpy(be->ctx, a->out, 1.0f, a->ln1,
					rows * d));
			WL_TRY(be->layernorm_forward(
				be->ctx, a->ln2, a->ln2_mu, a->ln2_rs, a->out,
				param + o->ln2_w, param + o->ln2_b, rows, d));
		}
	}
	if (n->post_ln) {
		*hidden = n->act[n->layers - 1].ln2;
	} else {
		WL_TRY(be->layernorm_forward(
			be->ctx, n->lnf, n->lnf_mu, n->lnf_rs,
			n->act[n->layers - 1].out, param + n->lnf_w,
			param + n->lnf_b, rows, d));
		*hidden = n->lnf;
	}
	return be->gemm(be->ctx, 0, 1, rows, LM_VOCAB, d, 1.0f, *hidden, d,
			param + n->head, d, 0.0f, n->logits, LM_VOCAB);
}

/*
 * Block l backward. On entry n->dx holds the gradient of the block's
 * output (pre-LN: a->out; post-LN: a->ln2); on return, of its input.
 */
static int lm_block_back(struct lm_net *n, long l, const float *param,
			 float *grad, size_t seqs)
{
	const struct optreg_backend *be = n->be;
	const struct lm_block_off *o = &n->blk[l];
	struct lm_block_act *a = &n->act[l];
	size_t d = (size_t)n->d, rows = seqs * (size_t)n->context;
	const float *in = lm_block_in(n, l);

	if (!n->post_ln) {
		/* out = mid + mlp(ln2(mid)) */
		WL_TRY(lm_mlp_back(n, l, param, grad, a->ln2, n->dx, n->dt1,
				   rows));
		WL_TRY(be->layernorm_backward(be->ctx, n->dt2, grad + o->ln2_w,
					      grad + o->ln2_b, n->dt1, a->mid,
					      a->ln2_mu, a->ln2_rs,
					      param + o->ln2_w, rows, d));
		WL_TRY(be->axpy(be->ctx, n->dx, 1.0f, n->dt2, rows * d));
		/* mid = in + proj(attn(ln1(in))) */
		WL_TRY(lm_linear_back(n, n->dt1, grad + o->proj_w,
				      grad + o->proj_b, n->dx, a->att,
				      param + o->proj_w, rows, d, d));
		WL_TRY(lm_attn_back(n, l, param, grad, a->ln1, n->dt1, n->dt2,
				    seqs));
		WL_TRY(be->layernorm_backward(be->ctx, n->dt1, grad + o->ln1_w,
					      grad + o->ln1_b, n->dt2, in,
					      a->ln1_mu, a->ln1_rs,
					      param + o->ln1_w, rows, d));
		return be->axpy(be->ctx, n->dx, 1.0f, n->dt1, rows * d);
	}
	/* ln2 = LN(out), out = ln1 + mlp(ln1) */
	WL_TRY(be->layernorm_backward(be->ctx, n->dt1, grad + o->ln2_w,
				      grad + o->ln2_b, n->dx, a->out, a->ln2_mu,
				      a->ln2_rs, param + o->ln2_w, rows, d));
	WL_TRY(lm_mlp_back(n, l, param, grad, a->ln1, n->dt1, n->dt2, rows));
	WL_TRY(be->axpy(be->ctx, n->dt1, 1.0f, n->dt2, rows * d));
	/* ln1 = LN(mid), mid = in + proj(attn(in)) */
	WL_TRY(be->layernorm_backward(
		be->ctx, n->dx, grad + o->ln1_w, grad + o->ln1_b, n->dt1,
		a->mid, a->ln1_mu, a->ln1_rs, param + o->ln1_w, rows, d));
	WL_TRY(lm_linear_back(n, n->dt1, grad + o->proj_w, grad + o->proj_b,
			      n->dx, a->att, param + o->proj_w, rows, d, d));
	WL_TRY(lm_attn_back(n, l, param, grad, in, n->dt1, n->dt2, seqs));
	return be->axpy(be->ctx, n->dx, 1.0f, n->dt2, rows * d);
}

int lm_net_loss_grad(struct lm_net *n, const float *param, float *grad,
		     size_t seqs, double *loss_sum, size_t *correct)
{
	const struct optreg_backend *be = n->be;
	size_t T = (size_t)n->context, d = (size_t)n->d, rows = seqs * T;
	const float *hidden;

	if (seqs == 0 || seqs > n->rows_max)
		return OPTREG_EINVAL;
	WL_TRY(lm_forward(n, param, seqs, &hidden));
	WL_TRY(be->softmax_xent(be->ctx, n->logits, n->tgt, rows, LM_VOCAB,
				grad ? n->logits : NULL, loss_sum, correct));
	if (!grad)
		return 0;

	/* head: dW = dlogits^T hidden (tied: the embedding's gradient, which
	 * the embedding's scatter adds to below), dhidden = dlogits W. */
	WL_TRY(be->gemm(be->ctx, 1, 0, LM_VOCAB, d, rows, 1.0f, n->logits,
			LM_VOCAB, hidden, d, 0.0f, grad + n->head, d));
	if (n->untied)
		WL_TRY(be->fill(be->ctx, grad + n->tok, 0.0f, LM_VOCAB * d));
	WL_TRY(be->gemm(be->ctx, 0, 0, rows, d, LM_VOCAB, 1.0f, n->logits,
			LM_VOCAB, param + n->head, d, 0.0f,
			n->post_ln ? n->dx : n->dt1, d));
	if (!n->post_ln)
		WL_TRY(be->layernorm_backward(
			be->ctx, n->dx, grad + n->lnf_w, grad + n->lnf_b,
			n->dt1, n->act[n->layers - 1].out, n->lnf_mu, n->lnf_rs,
			param + n->lnf_w, rows, d));
	for (long l = n->layers - 1; l >= 0; l--)
		WL_TRY(lm_block_back(n, l, param, grad, seqs));
	WL_TRY(be->fill(be->ctx, grad + n->pos, 0.0f, T * d));
	return be->embed_backward(be->ctx, grad + n->tok, grad + n->pos, n->dx,
				  n->ids, rows, T, d, LM_VOCAB);
}

void lm_net_release(struct lm_net *n)
{
	const struct optreg_backend *be = n->be;

	if (be) {
		float **flat[] = {&n->ids,    &n->tgt,	  &n->x0,     &n->lnf,
				  &n->lnf_mu, &n->lnf_rs, &n->logits, &n->dx,
				  &n->dt1,    &n->dt2,	  &n->dqkv,   &n->dg,
				  &n->dprob};
		for (size_t i = 0; i < sizeof(flat) / sizeof(flat[0]); i++)
			be->free(be->ctx, *flat[i]);
		for (long l = 0; n->act && l < n->layers; l++) {
			struct lm_block_act *a = &n->act[l];
			float *bufs[] = {a->ln1,    a->ln1_mu, a->ln1_rs,
					 a->qkv,    a->prob,   a->att,
					 a->mid,    a->ln2,    a->ln2_mu,
					 a->ln2_rs, a->f1,     a->g1,
					 a->out};
			for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]);
			     i++)
				be->free(be->ctx, bufs[i]);
		}
	}
	free(n->act);
	free(n->blk);
	free(n->names);
	free(n->offset);
	free(n->numel);
	memset(n, 0, sizeof(*n));
}
