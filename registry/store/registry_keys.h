/*
 * registry/store/registry_keys.h: the registry's own public keys (table
 * registry_keys), which clients fetch to check receipts and checkpoints.
 */
#ifndef OPTREG_STORE_REGISTRY_KEYS_H
#define OPTREG_STORE_REGISTRY_KEYS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "../../common/error.h"

/* Records the key `keyid` with its public PEM (both borrowed); a key
 * already recorded is left as it is. */
int optreg_store_registry_key_add(PGconn *conn, const char *keyid,
				  const char *pem, struct optreg_errors *errs);

/* *out is a new array of {keyid, public_key, created_at, retired_at?},
 * oldest first. */
int optreg_store_registry_keys_list(PGconn *conn, json_t **out,
				    struct optreg_errors *errs);

#endif
