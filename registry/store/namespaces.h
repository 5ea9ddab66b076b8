/*
 * registry/store/namespaces.h: namespace settings: the number of valid
 * signatures from distinct keys a submit needs (default 1).
 */
#ifndef OPTREG_NAMESPACES_H
#define OPTREG_NAMESPACES_H

#include <jansson.h>
#include <libpq-fe.h>

#include "../../common/error.h"

struct optreg_audit_actor;

/* *out is a new {namespace, signature_threshold}. */
int optreg_store_namespaces_get(PGconn *conn, const char *ns, json_t **out,
				struct optreg_errors *errs);
/* Sets the threshold (audited as "namespace.settings" when it changes),
 * in one transaction; *out as for optreg_store_namespaces_get. */
int optreg_store_namespaces_put(PGconn *conn, const char *ns, int threshold,
				const struct optreg_audit_actor *who,
				json_t **out, struct optreg_errors *errs);

#endif
