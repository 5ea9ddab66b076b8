/*
 * registry/svc/auditlog.h: the audit log (the auditlog service):
 * checkpoints, entries and Merkle proofs. See svc.h and audit.h.
 */
#ifndef OPTREG_SVC_AUDITLOG_H
#define OPTREG_SVC_AUDITLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../audit.h"

struct registry;

/* The latest signed checkpoint (owned note text), or *note NULL when none
 * has been signed. */
int optreg_auditlog_checkpoint(struct registry *reg, char **note,
			       struct optreg_errors *errs);

/* Signs a checkpoint of the current tree when it grew (*made), then reads
 * the latest one as optreg_auditlog_checkpoint does, on one connection. */
int optreg_auditlog_checkpoint_make(struct registry *reg, bool *made,
				    char **note, struct optreg_errors *errs);

/* Appends the entries `f` selects to `out` (JSON text, the API's page). */
int optreg_auditlog_entries(struct registry *reg,
			    const struct optreg_audit_filter *f,
			    struct optreg_buf *out, struct optreg_errors *errs);

/* The inclusion proof of entry `index` in the tree of `size` entries, and
 * that tree's root. OPTREG_EINVAL for sizes the log does not have. */
int optreg_auditlog_inclusion(struct registry *reg, uint64_t index,
			      uint64_t size, optreg_hash *proof, size_t *len,
			      optreg_hash root, struct optreg_errors *errs);

/* The consistency proof between the trees of `from` and `to` entries. */
int optreg_auditlog_consistency(struct registry *reg, uint64_t from,
				uint64_t to, optreg_hash *proof, size_t *len,
				struct optreg_errors *errs);

#endif
