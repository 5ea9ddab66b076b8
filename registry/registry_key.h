/*
 * registry/registry_key.h: the registry's own signing key, which signs
 * receipts and audit checkpoints.
 */
#ifndef OPTREG_REGISTRY_KEY_H
#define OPTREG_REGISTRY_KEY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "../common/error.h"
#include "../common/sign.h"

/* The registry's signing identity (private key; owned by the caller). */
struct optreg_registry_key {
	struct optreg_key *key;
	char keyid[OPTREG_KEYID_LEN + 1];
};

/*
 * Loads the registry key from `path` (PEM, private), or when `create` and
 * the file does not exist, generates one there (mode 0600, plus
 * PATH-without-.pem.pub.pem). Then records its public half in
 * registry_keys if it is not there yet.
 */
int optreg_registry_key_load(PGconn *conn, const char *path, bool create,
			     struct optreg_registry_key *out,
			     struct optreg_errors *errs);
void optreg_registry_key_release(struct optreg_registry_key *rk);

/* The registry's public keys, oldest first; *out is a new array. */
int optreg_registry_keys_list(PGconn *conn, json_t **out,
			      struct optreg_errors *errs);

#endif
