/*
 * registry/svc/tokens.h: bearer tokens (the tokens service). See svc.h
 * and auth.h.
 */
#ifndef OPTREG_SVC_TOKENS_H
#define OPTREG_SVC_TOKENS_H

#include <stddef.h>
#include <time.h>

#include "../../common/error.h"
#include "../auth.h"

struct registry;

/* Creates a token with `grants` (audited); writes the token, shown once,
 * its id and its expiry (0: never). `expires_in` 0: never. */
int optreg_tokens_create(struct registry *reg,
			 const struct optreg_audit_actor *who,
			 const char *principal,
			 const struct optreg_grant *grants, size_t ngrants,
			 long expires_in, char token[OPTREG_TOKEN_LEN + 1],
			 char id[OPTREG_TOKEN_ID_LEN + 1], time_t *expires_at,
			 struct optreg_errors *errs);

/* Revokes token `id` (audited) and drops this process's cached
 * principals; OPTREG_ENOTFOUND. */
int optreg_tokens_revoke(struct registry *reg,
			 const struct optreg_audit_actor *who, const char *id,
			 struct optreg_errors *errs);

#endif
