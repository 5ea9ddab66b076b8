/*
 * registry/svc/signers.h: signing keys, and the registry's own public
 * keys (the signers service). See svc.h; the store functions of
 * store/signers.h say what each call checks. Results are new JSON values
 * in the shape of docs/api.md (structs are still to come).
 */
#ifndef OPTREG_SVC_SIGNERS_H
#define OPTREG_SVC_SIGNERS_H

#include <jansson.h>

#include "../../common/error.h"

struct registry;
struct optreg_audit_actor;

/* Registers a key for `purpose` ("config" or "verdict"; NULL:
 * "config"); `namespaces` is borrowed. OPTREG_EINVAL, OPTREG_ECONFLICT. */
int optreg_signers_add(struct registry *reg,
		       const struct optreg_audit_actor *who,
		       const char *public_pem, const char *principal,
		       json_t *namespaces, const char *purpose, json_t **out,
		       struct optreg_errors *errs);
/* `principal` NULL: every key. */
int optreg_signers_list(struct registry *reg, const char *principal,
			json_t **out, struct optreg_errors *errs);
int optreg_signers_get(struct registry *reg, const char *keyid, json_t **out,
		       struct optreg_errors *errs);
int optreg_signers_revoke(struct registry *reg,
			  const struct optreg_audit_actor *who,
			  const char *keyid, json_t **out,
			  struct optreg_errors *errs);
/* The registry's public keys (they check receipts and checkpoints). */
int optreg_signers_registry_keys(struct registry *reg, json_t **out,
				 struct optreg_errors *errs);

#endif
