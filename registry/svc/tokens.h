/*
 * registry/svc/tokens.h: bearer tokens (the tokens service). See svc.h
 * and auth.h.
 */
#ifndef OPTREG_SVC_TOKENS_H
#define OPTREG_SVC_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "../../common/error.h"
#include "../auth.h"

struct registry;

/* The longest lifetime a token may be created with: 100 years, as
 * `optreg-server token create --expires-in` allows. */
#define OPTREG_TOKEN_MAX_EXPIRES_IN (100L * 365 * 86400)

/* True when `principal` may name a token's holder: 1 to 200 bytes of
 * printable UTF-8 (optreg_name_check_principal). */
bool optreg_tokens_principal_valid(const char *principal);

/*
 * Parses one grant: `role` (NULL is unknown) and the namespace `pattern`
 * (NULL: "*") into `out`. Returns 0, or OPTREG_EINVAL with one error at
 * `path`: rule "enum" (unknown role; checked first) or "pattern" (not a
 * name or glob). The messages are the API's (POST /v1/tokens).
 */
int optreg_tokens_grant_parse(const char *role, const char *pattern,
			      const char *path, struct optreg_grant *out,
			      struct optreg_errors *errs);

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

/*
 * Up to `limit` tokens in id order after id `after` (NULL: the first),
 * of `principal` only when not NULL; *out is a new array
 * (optreg_store_tokens_list). Never the hashes.
 */
int optreg_tokens_list(struct registry *reg, const char *principal,
		       const char *after, int limit, json_t **out,
		       struct optreg_errors *errs);

#endif
