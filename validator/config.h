/*
 * validator/config.h: the OptimizerConfig v1 model and its validation.
 *
 * docs/config.md is the contract. Validation runs in layers (syntax errors
 * come from the loaders in doc.h): the schema layer is exactly what
 * schema/optimizer-config.v1.json says; the semantic layer holds the rules
 * JSON Schema cannot state (cross-field comparisons, regex compilation) and
 * runs only when the schema layer passed. Every error of a layer is
 * reported; each carries rule, path, message and, for YAML, line and column.
 */
#ifndef OPTREG_CONFIG_H
#define OPTREG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/error.h"
#include "doc.h"

enum optreg_optimizer {
	OPTREG_ADAM,
	OPTREG_ADAMW,
};

enum optreg_schedule_kind {
	OPTREG_SCHEDULE_CONSTANT,
	OPTREG_SCHEDULE_LINEAR,
	OPTREG_SCHEDULE_COSINE,
	OPTREG_SCHEDULE_INVERSE_SQRT,
};

struct optreg_schedule {
	enum optreg_schedule_kind kind;
	long warmup_steps; /* W, default 0 */
	long total_steps;  /* T; 0 when not given */
	double min_lr;	   /* default 0 */
};

/* One param group override; has_* tells which fields it sets. */
struct optreg_param_group {
	char *match; /* POSIX ERE against parameter names; owned */
	bool has_lr, has_betas, has_eps, has_weight_decay;
	double lr, beta1, beta2, eps, weight_decay;
};

struct optreg_label {
	char *key, *value; /* owned */
};

struct optreg_config {
	char *namespace_;  /* owned */
	char *name;	   /* owned */
	char *description; /* owned, or NULL */
	struct optreg_label *labels;
	size_t nlabels;

	enum optreg_optimizer optimizer;
	double lr, beta1, beta2, eps, weight_decay;
	bool amsgrad, maximize;
	bool has_grad_clip;
	double grad_clip_norm;
	struct optreg_schedule schedule; /* constant, W=0 when absent */
	struct optreg_param_group *groups;
	size_t ngroups;
};

/*
 * The layer an error belongs to: "syntax" (from the loaders), "schema" or
 * "semantic", as printed by `lint --format json`.
 */
const char *optreg_error_layer(const struct optreg_error *e);

/*
 * Checks a loaded document against the schema layer, then (when that passed)
 * the semantic layer, appending every error to `errs` with line/col from the
 * document's locations. On success fills `cfg` (caller releases it with
 * optreg_config_release) and returns 0; otherwise returns OPTREG_EINVAL and
 * leaves `cfg` zeroed. `cfg` may be NULL to validate only.
 */
int optreg_config_validate(const struct optreg_doc *doc,
			   struct optreg_config *cfg,
			   struct optreg_errors *errs);

/* Frees what the model owns and zeroes it. */
void optreg_config_release(struct optreg_config *cfg);

/*
 * The learning rate at optimizer step t (1-based) under the config's
 * schedule (docs/config.md, "Learning-rate schedule"): linear warmup to lr
 * over W steps, then the schedule's decay; past T the value stays at its
 * t = T value.
 */
double optreg_schedule_lr(const struct optreg_schedule *s, double lr, long t);

#endif
