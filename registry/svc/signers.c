/*
 * registry/svc/signers.c: the signers service. See signers.h.
 */
#include "signers.h"

#include "../registry.h"
#include "../store/signers.h"
#include "svc.h"

int optreg_signers_add(struct registry *reg,
		       const struct optreg_audit_actor *who,
		       const char *public_pem, const char *principal,
		       json_t *namespaces, const char *purpose, json_t **out,
		       struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_signers_add(c, public_pem, principal,
						namespaces, purpose, who, out,
						errs));
}

int optreg_signers_list(struct registry *reg, const char *principal,
			json_t **out, struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_signers_list(c, principal, out, errs));
}

int optreg_signers_get(struct registry *reg, const char *keyid, json_t **out,
		       struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c, optreg_store_signers_get(c, keyid, out, errs));
}

int optreg_signers_revoke(struct registry *reg,
			  const struct optreg_audit_actor *who,
			  const char *keyid, json_t **out,
			  struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_signers_revoke(c, keyid, who, out, errs));
}

int optreg_signers_registry_keys(struct registry *reg, json_t **out,
				 struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c, optreg_registry_keys_list(c, out, errs));
}
