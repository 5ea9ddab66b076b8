/*
 * runner/suite_int.h: the loaded suite, shared by suite_doc.c (which
 * builds it from the file) and suite.c (which runs it). Private to those
 * and to the unit tests.
 */
#ifndef OPTREG_RUNNER_SUITE_INT_H
#define OPTREG_RUNNER_SUITE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../validator/jcs.h"
#include "findings.h"
#include "precision.h"
#include "suite.h"
#include "workloads.h"

struct suite_workload {
	char *name;    /* the id in verdicts, unique in the suite */
	char *problem; /* one of optreg_workload_names */
	long peak_steps, batch;
	int eval;	/* fmnist_*, lm: test-set pass after training */
	long eval_rows; /* 0: the whole test set */
	int sharpness;	/* quadratic_deep: power iteration per step */
	/* The problem options (the variant). */
	long *hidden; /* fmnist_mlp widths (owned), NULL: DeepOBS's */
	size_t nhidden;
	double label_noise, sparse_keep;
	long *spike_steps; /* owned, ascending */
	size_t nspike;
	double spike_factor;
	enum optreg_precision precision;
	int precision_declared; /* run in the config's declared precision */
	int lm_set;		/* an `lm` block was given */
	struct optreg_lm_spec lm;
	char *lm_corpus_sha256; /* 64 lowercase hex digits, or NULL */
	json_t *variant;	/* the entry's problem options, as written */
	char *exclude; /* owned copy of update_ratio_exclude, or NULL */
	struct optreg_thresholds th;
	/* The baseline grid's entries when the suite has a baseline, else
	 * NULL: nbase x nseeds, base[g * nseeds + k] for the grid's g-th lr
	 * (ascending) and the suite's k-th seed. */
	struct optreg_baseline_entry *base;
};

struct optreg_suite {
	char *name;
	long version;
	char digest[OPTREG_DIGEST_LEN + 1];
	uint64_t *seeds;
	size_t nseeds;
	long warmup_cap; /* schedule.warmup_cap */
	int has_baseline;
	/* The baseline grid's learning rates, strictly ascending (nbase of
	 * them). Loaded without the baseline (optreg_suite_load_without_
	 * baseline), these are the lrs the file's grid lists, where they are
	 * readable, and has_baseline is 0. */
	double *base_lrs;
	size_t nbase;
	struct suite_workload *w;
	size_t nw;
};

/* The Adam defaults the baseline is trained with at the grid point `lr`
 * (adam, betas 0.9/0.999, eps 1e-8, no decay, no clipping, constant, no
 * warmup). `cfg` is zeroed and filled; it owns nothing. */
void optreg_suite_baseline_config(struct optreg_config *cfg, double lr);

/* Which baseline grid point judges a config whose own lr (spec.lr, the
 * default group's peak lr) is `lr`: the index of the largest of the n
 * ascending `lrs` that is <= lr, or 0 (the smallest) when lr is below
 * them all. So a config at or above the grid's top is held to the Adam
 * defaults there, and a fine-tuning rate to Adam at about its own rate.
 * n must be at least 1. */
size_t optreg_suite_baseline_pick(const double *lrs, size_t n, double lr);

/* The precision a `precision: declared` workload runs in: the config's
 * metadata.labels.precision (fp16, float16, half, torch.float16 -> FP16;
 * bf16, bfloat16, torch.bfloat16 -> BF16; case-insensitive). Returns 0 and
 * sets *p, or -1 when the config declares neither (*label: the declared
 * value, or NULL when there is none). */
int optreg_suite_declared_precision(const struct optreg_config *cfg,
				    enum optreg_precision *p,
				    const char **label);

/* Checks the lm corpus file's sha256 against sw->lm_corpus_sha256 (none:
 * 0). 0, or -1 with a sentence naming the file, the expected and the
 * actual digest in *why (malloc'd). */
int optreg_suite_corpus_check(const struct suite_workload *sw, char **why);

/* The verdict's param_groups report: one entry per group (0: the config's
 * own settings, match null; i: param_groups[i-1]) with the tensors of
 * `res` that got it. A new array. */
json_t *optreg_suite_param_groups(const struct optreg_config *cfg,
				  const struct optreg_workload_result *res);

#endif
