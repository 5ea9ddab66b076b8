/*
 * registry/svc/tags.c: the tags service. See tags.h.
 */
#include "tags.h"

#include "../registry.h"
#include "svc.h"

int optreg_tags_resolve(struct registry *reg, const char *ns, const char *name,
			const char *tag, int *version,
			struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_resolve_tag(c, ns, name, tag, version, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

int optreg_tags_list(struct registry *reg, const char *ns, const char *name,
		     struct optreg_tag_list *out, struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_list_tags(c, ns, name, out, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}

int optreg_tags_move(struct registry *reg, const struct optreg_audit_actor *who,
		     const char *ns, const char *name, const char *tag,
		     int version, int expected, int *previous,
		     struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_store_move_tag(c, ns, name, tag, version, expected, who,
				       previous, errs);
	optreg_svc_put(reg, c, rc);
	return rc;
}
