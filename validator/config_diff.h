/*
 * validator/config_diff.h: what changed between two validated configs, in
 * optimizer terms.
 *
 * The diff compares the models (validator/config.h), not the documents:
 * two documents that differ only in layout, number spelling or a default
 * written out (`amsgrad: false`, `warmup_steps: 0`) have no changes. Each
 * change has the path of the field it is about, its old and new values as
 * JSON (numbers shortest round-trip, as RFC 8785 writes them), a kind and
 * one sentence for people:
 *
 *   spec.lr                 changed  lr 0.0003 -> 0.001 (x3.3)
 *   spec.optimizer          changed  optimizer adam -> adamw: weight decay
 *                                    becomes decoupled
 *   spec.schedule.warmup_steps  removed  warmup 500 -> 0 steps: removed
 *
 * Kinds: `changed` (both sides set it, differently); `added` and `removed`
 * for a setting that is absent or off on one side: metadata.description,
 * a label, spec.grad_clip_norm, spec.schedule.total_steps, warmup (0 is
 * none), a param group, or one override of a param group. Param groups
 * are paired by their `match` pattern (the k-th group with a pattern on
 * one side with the k-th with the same pattern on the other), and their
 * paths name the pattern: `spec.param_groups["(bias|norm)"].weight_decay`.
 * Because a parameter takes the first group whose pattern matches, a
 * change of the groups' order is a change of `spec.param_groups` itself.
 *
 * Changes come in a fixed order: metadata, optimizer, lr, betas, eps,
 * weight_decay, amsgrad, maximize, grad_clip_norm, schedule, param groups.
 */
#ifndef OPTREG_CONFIG_DIFF_H
#define OPTREG_CONFIG_DIFF_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

enum optreg_config_change_kind {
	OPTREG_CHANGE_CHANGED,
	OPTREG_CHANGE_ADDED,
	OPTREG_CHANGE_REMOVED,
};

struct optreg_config_change {
	enum optreg_config_change_kind kind;
	char *path;   /* "spec.lr"; owned */
	json_t *old_; /* the value before, or NULL where the field is absent
			 (a reference); warmup's "none" is 0, not NULL */
	json_t *new_; /* the value after, likewise */
	char *text;   /* one sentence, no final period; owned */
};

struct optreg_config_diff {
	struct optreg_config_change *items;
	size_t len, alloc;
};

void optreg_config_diff_init(struct optreg_config_diff *d);
/* Frees every change and leaves `d` empty. */
void optreg_config_diff_release(struct optreg_config_diff *d);

/*
 * Compares config `a` (old) with `b` (new), both validated, and appends
 * every change to `d` in the order above. Never fails: an empty `d`
 * means the two configs mean the same.
 */
void optreg_config_diff_compute(struct optreg_config_diff *d,
				const struct optreg_config *a,
				const struct optreg_config *b);

/* The name of a kind: "changed", "added" or "removed". */
const char *optreg_config_change_kind_name(enum optreg_config_change_kind k);

/*
 * The changes as a JSON array of {"path", "kind", "old", "new", "text"}
 * (old/new null where absent): a new reference. Serialize it with
 * optreg_jcs_serialize to keep the numbers' shortest form.
 */
json_t *optreg_config_diff_json(const struct optreg_config_diff *d);

/*
 * Appends the shortest round-trip form of `v` (RFC 8785's) to `out`, or
 * the ratio form used in the sentences when `ratio` is set: two
 * significant digits ("3.3", "0.5", "100", "1200"). The sentences use
 * more digits where two would read 1 for a changed value ("x1.04").
 */
void optreg_config_diff_number(struct optreg_buf *out, double v, bool ratio);

#endif
