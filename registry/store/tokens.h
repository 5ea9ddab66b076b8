/*
 * registry/store/tokens.h: reading the bearer tokens table for GET
 * /v1/tokens. Creating, looking up and revoking tokens is registry/auth.h.
 */
#ifndef OPTREG_STORE_TOKENS_H
#define OPTREG_STORE_TOKENS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "../../common/error.h"

/*
 * Up to `limit` tokens in id order, after id `after` (NULL: from the
 * first), only those of `principal` when it is not NULL. *out is a new
 * array of {id, principal, grants: [{role, namespace}], created_at,
 * expires_at, revoked_at} (null when never); the token hash is never
 * read.
 */
int optreg_store_tokens_list(PGconn *conn, const char *principal,
			     const char *after, int limit, json_t **out,
			     struct optreg_errors *errs);

#endif
