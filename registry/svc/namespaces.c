/*
 * registry/svc/namespaces.c: the namespaces service. See namespaces.h.
 */
#include "namespaces.h"

#include "../registry.h"
#include "../store/namespaces.h"
#include "svc.h"

int optreg_namespaces_get(struct registry *reg, const char *ns, json_t **out,
			  struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c, optreg_store_namespaces_get(c, ns, out, errs));
}

int optreg_namespaces_put(struct registry *reg,
			  const struct optreg_audit_actor *who, const char *ns,
			  int threshold, json_t **out,
			  struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(
		reg, c,
		optreg_store_namespaces_put(c, ns, threshold, who, out, errs));
}
