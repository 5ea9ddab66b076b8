/*
 * registry/svc/tokens.c: the tokens service. See tokens.h.
 */
#include "tokens.h"

#include "../cache.h"
#include "../registry.h"
#include "svc.h"

int optreg_tokens_create(struct registry *reg,
			 const struct optreg_audit_actor *who,
			 const char *principal,
			 const struct optreg_grant *grants, size_t ngrants,
			 long expires_in, char token[OPTREG_TOKEN_LEN + 1],
			 char id[OPTREG_TOKEN_ID_LEN + 1], time_t *expires_at,
			 struct optreg_errors *errs)
{
	OPTREG_SVC_RUN(reg, c,
		       optreg_token_create(c, principal, grants, ngrants,
					   expires_in, who, token, id,
					   expires_at, errs));
}

int optreg_tokens_revoke(struct registry *reg,
			 const struct optreg_audit_actor *who, const char *id,
			 struct optreg_errors *errs)
{
	PGconn *c = optreg_svc_conn(reg);

	if (!c)
		return OPTREG_EUNAVAILABLE;
	int rc = optreg_token_revoke(c, id, who, errs);
	optreg_svc_put(reg, c, rc);
	if (rc == 0)
		optreg_cache_invalidate_prefix(reg->cache, "tok:");
	return rc;
}
