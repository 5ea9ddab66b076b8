/*
 * registry/svc/tokens.c: the tokens service. See tokens.h.
 */
#include "tokens.h"

#include <stdio.h>
#include <string.h>

#include "../../validator/names.h"
#include "../cache.h"
#include "../registry.h"
#include "../store/tokens.h"
#include "svc.h"

bool optreg_tokens_principal_valid(const char *principal)
{
	return optreg_name_check_principal(principal, "principal", NULL) == 0;
}

int optreg_tokens_grant_parse(const char *role, const char *pattern,
			      const char *path, struct optreg_grant *out,
			      struct optreg_errors *errs)
{
	int r = role ? optreg_role_parse(role) : -1;

	if (r < 0) {
		optreg_errors_add(errs, OPTREG_EINVAL, "enum", path,
				  "role must be one of reader, submitter, "
				  "approver, runner, auditor, admin");
		return OPTREG_EINVAL;
	}
	if (!pattern)
		pattern = "*";
	if (!optreg_pattern_valid(pattern)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "pattern", path,
				  "namespace must be a name or a glob of "
				  "a-z, 0-9, '-', '*', '?'");
		return OPTREG_EINVAL;
	}
	out->role = (enum optreg_role)r;
	snprintf(out->pattern, sizeof(out->pattern), "%s", pattern);
	return 0;
}

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

int optreg_tokens_list(struct registry *reg, const char *principal,
		       const char *after, int limit, json_t **out,
		       struct optreg_errors *errs)
{
	*out = NULL;
	OPTREG_SVC_RUN(reg, c,
		       optreg_store_tokens_list(c, principal, after, limit, out,
						errs));
}
