/*
 * registry/auth.h: bearer tokens, principals and roles.
 *
 * A token is `optreg_<43 base62 chars>_<6 base62 chars>`: 256 random bits
 * and a CRC-32 of them, so a mistyped or truncated token is refused without
 * touching the database and secret scanners can recognise leaked ones. Only
 * the SHA-256 of a token is stored; lookups go by hash and the stored hash
 * is compared again in constant time.
 */
#ifndef OPTREG_AUTH_H
#define OPTREG_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "../common/error.h"

struct optreg_audit_actor;
struct registry;

#define OPTREG_TOKEN_LEN    (7 + 43 + 1 + 6)
#define OPTREG_TOKEN_ID_LEN 20 /* "tok_" + 16 hex */
#define OPTREG_PATTERN_MAX  63

enum optreg_role {
	OPTREG_ROLE_READER,
	OPTREG_ROLE_SUBMITTER,
	OPTREG_ROLE_APPROVER,
	OPTREG_ROLE_RUNNER,
	OPTREG_ROLE_AUDITOR,
	OPTREG_ROLE_ADMIN,
};

struct optreg_grant {
	enum optreg_role role;
	char pattern[OPTREG_PATTERN_MAX + 1]; /* fnmatch(3) glob */
};

struct optreg_principal {
	char id[OPTREG_TOKEN_ID_LEN + 1]; /* token id; "" when anonymous */
	char *name;			  /* owned; "anonymous" when so */
	struct optreg_grant *grants;	  /* owned */
	size_t ngrants;
	time_t expires_at; /* 0 = never */
};

const char *optreg_role_name(enum optreg_role role);
/* Returns the role for `name`, or -1. */
int optreg_role_parse(const char *name);
/* True for a namespace pattern of [a-z0-9*?-], 1..63 chars. */
bool optreg_pattern_valid(const char *pattern);

/* Writes a new random token (NUL-terminated). */
void optreg_token_generate(char out[OPTREG_TOKEN_LEN + 1]);
/* Format and checksum check; no database. */
bool optreg_token_well_formed(const char *token);
void optreg_token_hash(const char *token, unsigned char out[32]);

/*
 * Whether `p` may act as `need` in namespace `ns`. A grant allows its own
 * role and the roles it implies (admin: all; approver: submitter; every
 * role: reader) in namespaces matching its pattern. `ns` NULL asks for a
 * global right, which only a grant on pattern "*" gives.
 */
bool optreg_principal_allows(const struct optreg_principal *p,
			     enum optreg_role need, const char *ns);

void optreg_principal_release(struct optreg_principal *p);
/* Deep copy (for caches). */
void optreg_principal_copy(struct optreg_principal *dst,
			   const struct optreg_principal *src);

/*
 * Looks a token up by hash. 0 and `out` filled; OPTREG_EUNAUTH (unknown,
 * expired or revoked; `why` says which, for the log only);
 * OPTREG_EUNAVAILABLE when the connection failed; OPTREG_EINTERNAL.
 */
int optreg_token_lookup(PGconn *conn, const unsigned char hash[32],
			struct optreg_principal *out, const char **why);

/*
 * Creates a token with its grants in one transaction, with its audit
 * event "token.created". `expires_in` seconds
 * (0 = never). Writes the token (shown once) and its id.
 */
int optreg_token_create(PGconn *conn, const char *principal,
			const struct optreg_grant *grants, size_t ngrants,
			long expires_in, const struct optreg_audit_actor *who,
			char token[OPTREG_TOKEN_LEN + 1],
			char id[OPTREG_TOKEN_ID_LEN + 1], time_t *expires_at,
			struct optreg_errors *errs);

/* Revokes a token at once (audit event "token.revoked") and notifies
 * replicas. OPTREG_ENOTFOUND when
 * there is no such (unrevoked) token. */
int optreg_token_revoke(PGconn *conn, const char *id,
			const struct optreg_audit_actor *who,
			struct optreg_errors *errs);

/*
 * Identifies the caller from an Authorization header value (NULL: an
 * anonymous caller, no grants). Fills `out` (release it with
 * optreg_principal_release) and returns 0; OPTREG_EUNAUTH with the
 * reason in `errs` for a malformed, unknown, expired or revoked token;
 * OPTREG_EUNAVAILABLE when no connection could be had or it failed;
 * OPTREG_EINTERNAL. Principals are cached for a minute by token hash (in
 * reg's cache); a revocation anywhere drops them at once (the "token:"
 * notification).
 */
int optreg_auth_authenticate(struct registry *reg, const char *authorization,
			     struct optreg_principal *out,
			     struct optreg_errors *errs);

/* As optreg_auth_authenticate from the principal cache alone, never
 * waiting on PostgreSQL: OPTREG_ENOTFOUND (nothing in `errs`) when the
 * token's principal is not cached; the caller then authenticates with
 * optreg_auth_authenticate. */
int optreg_auth_authenticate_cached(struct registry *reg,
				    const char *authorization, const char *addr,
				    struct optreg_principal *out,
				    double *retry_after,
				    struct optreg_errors *errs);

/* A client address may fail authentication this many times as often as
 * one token (ratelimit.h). */
#define OPTREG_AUTH_ADDRESS_FACTOR 5

/*
 * The same for a request from client address `addr` (may be NULL), with
 * the failure budgets of reg->auth_fails (none when NULL): a failure
 * spends from the address's budget and the presented token's. Once either
 * is spent, a token that is not in the cache is not looked up:
 * OPTREG_ERATELIMITED with the seconds to wait in `*retry_after` (may be
 * NULL) and the reason in `errs`.
 */
int optreg_auth_authenticate_from(struct registry *reg,
				  const char *authorization, const char *addr,
				  struct optreg_principal *out,
				  double *retry_after,
				  struct optreg_errors *errs);

#endif
