/*
 * runner/lm.h: the transformer language model of the `lm` workload
 * (runner/wl_lm.c), on explicit parameter and gradient buffers. Not public:
 * the workload and its tests use it (tests/unit/runner/lm_test.c starts it
 * from PyTorch's parameters and feeds it PyTorch's batches).
 *
 * The model, with names as PyTorch's modules give them (docs/runner.md,
 * "The lm workload"): tok_emb.weight [V x d], pos_emb.weight [context x d],
 * per block i: blocks.i.norm1.{weight,bias} [d], blocks.i.attn.qkv.{weight
 * [3d x d], bias [3d]}, blocks.i.attn.proj.{weight [d x d], bias},
 * blocks.i.norm2.{weight,bias}, blocks.i.mlp.fc1.{weight [4d x d], bias
 * [4d]}, blocks.i.mlp.fc2.{weight [d x 4d], bias [d]}; then norm_f.{weight,
 * bias} (pre-LN only) and head.weight [V x d] (untied only), in that order
 * in the flat parameter vector.
 *
 *   pre-LN (GPT-2):   x += attn(norm1(x)); x += mlp(norm2(x)); logits =
 *                     head(norm_f(x))
 *   post-LN (Vaswani): x = norm1(x + attn(x)); x = norm2(x + mlp(x));
 *                     logits = head(x)
 *
 * attn: causal multi-head self-attention, q, k, v = split(x W_qkv^T + b)
 * in that order, head h the columns h*dh..(h+1)*dh-1 of each, scores
 * q k^T / sqrt(dh), output projection W_proj. mlp: fc2(gelu(fc1(x))). The
 * head has no bias; tied, logits = x tok_emb.weight^T and its gradient is
 * added to the embedding's.
 */
#ifndef OPTREG_LM_H
#define OPTREG_LM_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "workloads.h"

#define LM_VOCAB 96 /* '\n' and the bytes 32..126 */

/* Where one block's tensors start in the flat parameter vector. */
struct lm_block_off {
	size_t ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b;
	size_t ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
};

/* One block's saved activations (device), rows_max * context rows. */
struct lm_block_act {
	float *ln1, *ln1_mu, *ln1_rs; /* ln1's output, mean, rstd */
	float *qkv;		      /* rows x 3d */
	float *prob;		      /* sequences * heads * T * T */
	float *att;		      /* attention output before proj */
	float *mid;		      /* x + attn(...) (post-LN: before ln1) */
	float *ln2, *ln2_mu, *ln2_rs;
	float *f1, *g1; /* fc1's output, gelu of it: rows x 4d */
	float *out;	/* the block's residual sum (post-LN: before ln2) */
};

struct lm_net {
	const struct optreg_backend *be;
	long layers, d, heads, context;
	int post_ln, untied;
	size_t rows_max; /* sequences one pass holds */

	/* The tensors in flat order. */
	size_t ntensors;
	char (*names)[32];
	size_t *offset, *numel;
	size_t nparams;
	size_t tok, pos, lnf_w, lnf_b, head; /* offsets; head: tok if tied */
	struct lm_block_off *blk;

	/* Device buffers. */
	float *ids, *tgt; /* token ids and targets, rows as floats */
	float *x0;	  /* the embedding's output */
	struct lm_block_act *act;
	float *lnf, *lnf_mu, *lnf_rs; /* pre-LN's ln_f */
	float *logits;		      /* rows x V, then its gradient */
	float *dx, *dt1, *dt2;	      /* rows x d gradients */
	float *dqkv;		      /* rows x 3d */
	float *dg;		      /* rows x 4d */
	float *dprob;		      /* sequences * heads * T * T */
};

/*
 * Resolves spec's defaults (workloads.h), checks the shape and lays out the
 * tensors; allocates activations for `rows_max` sequences on `be`. On
 * failure appends to errs (field "lm.<name>") and returns OPTREG_EINVAL or
 * the backend's code; lm_net_release is safe either way.
 */
int lm_net_init(struct lm_net *n, const struct optreg_backend *be,
		const struct optreg_lm_spec *spec, size_t rows_max,
		struct optreg_errors *errs);

/* The GPT-2 initialisation into host[0..nparams) (workloads.h, "lm"):
 * stream OPTREG_STREAM_INIT, flat index. */
void lm_net_init_params(const struct lm_net *n, uint64_t seed, float *host);

/*
 * One pass over `seqs` sequences (<= rows_max) whose ids and targets
 * (seqs * context floats each) were uploaded into n->ids and n->tgt:
 * *loss_sum the summed cross-entropy over seqs * context tokens, *correct
 * the tokens whose first maximal logit is the target. With grad not NULL,
 * the gradient of the MEAN loss over every parameter (every element
 * written) into grad.
 */
int lm_net_loss_grad(struct lm_net *n, const float *param, float *grad,
		     size_t seqs, double *loss_sum, size_t *correct);

/* Frees everything and zeroes n. */
void lm_net_release(struct lm_net *n);

/* The vocabulary: '\n' -> 0, bytes 32..126 -> 1..95, anything else as
 * ' ' (1). */
int lm_token_id(unsigned char c);

#endif
