/*
 * registry/svc/namespaces.h: namespace settings (the namespaces service).
 * See svc.h and store/namespaces.h. Results are new JSON values
 * {namespace, signature_threshold}.
 */
#ifndef OPTREG_SVC_NAMESPACES_H
#define OPTREG_SVC_NAMESPACES_H

#include <jansson.h>

#include "../../common/error.h"

struct registry;
struct optreg_audit_actor;

int optreg_namespaces_get(struct registry *reg, const char *ns, json_t **out,
			  struct optreg_errors *errs);
/* Sets the signature threshold (1..16, checked by the caller). */
int optreg_namespaces_put(struct registry *reg,
			  const struct optreg_audit_actor *who, const char *ns,
			  int threshold, json_t **out,
			  struct optreg_errors *errs);

#endif
