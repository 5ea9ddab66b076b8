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
#include "../common/buf.h"
#include "doc.h"
#include "jcs.h"

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
const char *optreg_config_error_layer(const struct optreg_error *e);

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
 * A config taken through the whole pipeline: loaded, validated,
 * canonicalized (RFC 8785) and digested. Everything is owned by the struct;
 * release it with optreg_checked_config_release.
 */
struct optreg_checked_config {
	struct optreg_doc doc;	  /* the document, with YAML locations */
	struct optreg_config cfg; /* the validated model */
	struct optreg_buf canon;  /* canonical bytes of doc.root */
	char digest[OPTREG_DIGEST_LEN + 1]; /* "sha256:<hex>" of canon */
	bool input_canonical; /* the input bytes were exactly `canon` */
};

/* Load as JSON whatever the name says (envelope payloads, request bodies). */
#define OPTREG_CONFIG_JSON 0x1u

void optreg_checked_config_init(struct optreg_checked_config *cc);
/* Frees everything and leaves `cc` initialized. */
void optreg_checked_config_release(struct optreg_checked_config *cc);

/*
 * Load -> validate -> canonicalize -> digest, in one call, on `len` bytes
 * of `data` (borrowed). The loader is chosen from `name` as by
 * optreg_doc_load (NULL or "-": by content) unless `flags` has
 * OPTREG_CONFIG_JSON. Releases what `cc` held first.
 *
 * Returns 0 with every field filled, or the code of the first step that
 * failed, with its errors appended to `errs`: OPTREG_ESYNTAX or
 * OPTREG_ELIMIT from loading, OPTREG_EINVAL from validation (every error
 * of the layer, positioned) or from canonicalization. On failure `cfg`,
 * `canon` and `digest` are empty; `doc` keeps what was loaded.
 * `input_canonical` tells a caller that must refuse non-canonical input
 * (a signed payload) whether to; the message is the caller's.
 */
int optreg_config_load_checked(struct optreg_checked_config *cc,
			       const char *name, const char *data, size_t len,
			       unsigned flags, struct optreg_errors *errs);

/*
 * As optreg_config_load_checked on the contents of the file `path`, or of
 * standard input when `path` is "-". An unreadable file is OPTREG_EIO with
 * an error (rule "io") as optreg_doc_load_file reports it.
 */
int optreg_config_load_checked_file(struct optreg_checked_config *cc,
				    const char *path, unsigned flags,
				    struct optreg_errors *errs);

/*
 * The learning rate at optimizer step t (1-based) under the config's
 * schedule (docs/config.md, "Learning-rate schedule"): linear warmup to lr
 * over W steps, then the schedule's decay; past T the value stays at its
 * t = T value.
 */
double optreg_config_schedule_lr(const struct optreg_schedule *s, double lr,
				 long t);

/* The schedule kind as the config spells it: "constant", "linear",
 * "cosine" or "inverse_sqrt". */
const char *optreg_schedule_kind_name(enum optreg_schedule_kind k);

#endif
