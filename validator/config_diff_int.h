/*
 * validator/config_diff_int.h: what the files of the config diff share
 * (config_diff.c, config_diff_groups.c). Nothing else includes it.
 */
#ifndef OPTREG_CONFIG_DIFF_INT_H
#define OPTREG_CONFIG_DIFF_INT_H

#include <jansson.h>

#include "../common/buf.h"
#include "config.h"
#include "config_diff.h"

/*
 * Appends a change to `d`; takes `old_` and `new_` (references, may be
 * NULL) and the sentence in `text`, whose memory it detaches (`text` is
 * left empty for the next sentence).
 */
void config_diff_add(struct optreg_config_diff *d,
		     enum optreg_config_change_kind kind, const char *path,
		     json_t *old_, json_t *new_, struct optreg_buf *text);

/* Appends `v` in its shortest round-trip form. */
void config_diff_num(struct optreg_buf *b, double v);

/* Appends " (xR)" for a multiplicative setting, when both are > 0. */
void config_diff_ratio(struct optreg_buf *b, double old_, double new_);

/* [b1, b2] as a JSON array (a new reference), and as text "[0.9, 0.999]". */
json_t *config_diff_betas_json(double b1, double b2);
void config_diff_betas_text(struct optreg_buf *t, double b1, double b2);

/* The sentence of a betas change: the pairs, and the averaging horizon
 * 1/(1-beta) of each beta that changed. */
void config_diff_betas_change(struct optreg_buf *t, double a1, double a2,
			      double b1, double b2);

/* The sentence of a weight_decay change, with what decay means under
 * optimizer `o`. */
void config_diff_decay_change(struct optreg_buf *t, double va, double vb,
			      enum optreg_optimizer o);

/* The param groups' changes (config_diff_groups.c). */
void config_diff_groups(struct optreg_config_diff *d,
			const struct optreg_config *a,
			const struct optreg_config *b);

#endif
