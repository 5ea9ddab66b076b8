/*
 * registry/svc/auditlog.c: the auditlog service. See auditlog.h.
 */
#include "auditlog.h"

#include "../registry.h"
#include "svc.h"

int optreg_auditlog_checkpoint(struct registry *reg, char **note,
			       struct optreg_errors *errs)
{
	uint64_t size;

	*note = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_audit_checkpoint_latest(c, note, &size, errs));
}

static int make_and_read(PGconn *c, struct registry *reg, bool *made,
			 char **note, struct optreg_errors *errs)
{
	uint64_t size;
	int rc = optreg_audit_checkpoint_make(c, &reg->key, reg->audit_origin,
					      made, errs);

	return rc ? rc : optreg_audit_checkpoint_latest(c, note, &size, errs);
}

int optreg_auditlog_checkpoint_make(struct registry *reg, bool *made,
				    char **note, struct optreg_errors *errs)
{
	*note = NULL;
	*made = false;
	OPTREG_SVC_RUN(reg, c, make_and_read(c, reg, made, note, errs));
}

int optreg_auditlog_entries(struct registry *reg,
			    const struct optreg_audit_filter *f,
			    struct optreg_buf *out, struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c, optreg_audit_entries(c, f, out, errs));
}

static int inclusion(PGconn *c, uint64_t index, uint64_t size,
		     optreg_hash *proof, size_t *len, optreg_hash root,
		     struct optreg_errors *errs)
{
	int rc = optreg_audit_inclusion(c, index, size, proof, len, errs);

	return rc ? rc : optreg_audit_root(c, size, root, errs);
}

int optreg_auditlog_inclusion(struct registry *reg, uint64_t index,
			      uint64_t size, optreg_hash *proof, size_t *len,
			      optreg_hash root, struct optreg_errors *errs)
{
	*len = 0;
	OPTREG_SVC_RUN(reg, c,
		       inclusion(c, index, size, proof, len, root, errs));
}

int optreg_auditlog_consistency(struct registry *reg, uint64_t from,
				uint64_t to, optreg_hash *proof, size_t *len,
				struct optreg_errors *errs)
{
	*len = 0;
	OPTREG_SVC_RUN(reg, c,
		       optreg_audit_consistency(c, from, to, proof, len, errs));
}
