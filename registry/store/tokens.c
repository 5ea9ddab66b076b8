/*
 * registry/store/tokens.c: the token list. See tokens.h.
 */
#include "tokens.h"

#include <stdio.h>

#include "../sql.h"
#include "store.h"

/* clang-format off */
static const char SQL_TOKENS_LIST[] =
	"SELECT t.id, t.principal,"
	"       COALESCE((SELECT json_agg(json_build_object("
	"                  'role', g.role, 'namespace', g.namespace_pattern)"
	"                  ORDER BY g.role, g.namespace_pattern)"
	"                   FROM token_grants g WHERE g.token_id = t.id),"
	"                '[]'::json) AS grants,"
	"       " TS("t.created_at") " AS created_at,"
	"       " TS("t.expires_at") " AS expires_at,"
	"       " TS("t.revoked_at") " AS revoked_at"
	"  FROM tokens t"
	" WHERE ($1::text IS NULL OR t.principal = $1)"
	"   AND ($2::text IS NULL OR t.id > $2)"
	" ORDER BY t.id LIMIT $3::int";
/* clang-format on */

int optreg_store_tokens_list(PGconn *conn, const char *principal,
			     const char *after, int limit, json_t **out,
			     struct optreg_errors *errs)
{
	char ls[16];
	const char *p[3] = {principal, after, ls};
	PGresult *res;

	*out = NULL;
	snprintf(ls, sizeof(ls), "%d", limit);
	int rc = optreg_sql_exec(conn, SQL_TOKENS_LIST, 3, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	PQclear(res);
	return 0;
}
