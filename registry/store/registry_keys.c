/*
 * registry/store/registry_keys.c: SQL for the registry's public keys. See
 * registry_keys.h.
 */
#include "registry_keys.h"

#include "../sql.h"
#include "store.h"

/* clang-format off */
static const char SQL_REGISTRY_KEY_INSERT[] =
	"INSERT INTO registry_keys (keyid, "
	"public_key) VALUES ($1, $2)"
	" ON CONFLICT (keyid) DO NOTHING";

static const char SQL_REGISTRY_KEYS_LIST[] =
	"SELECT keyid, public_key, "
	TS("created_at")
	", "
	TS("retired_at")
	" FROM registry_keys ORDER BY created_at";
/* clang-format on */

int optreg_store_registry_key_add(PGconn *conn, const char *keyid,
				  const char *pem, struct optreg_errors *errs)
{
	const char *p[2] = {keyid, pem};
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_REGISTRY_KEY_INSERT, 2, p,
				 PGRES_COMMAND_OK, &res, errs);

	PQclear(res);
	return rc;
}

int optreg_store_registry_keys_list(PGconn *conn, json_t **out,
				    struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_REGISTRY_KEYS_LIST, 0, NULL,
				 PGRES_TUPLES_OK, &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(
			*out, json_pack("{s:s, s:s, s:s, s:s?}", "keyid",
					PQgetvalue(res, i, 0), "public_key",
					PQgetvalue(res, i, 1), "created_at",
					PQgetvalue(res, i, 2), "retired_at",
					PQgetisnull(res, i, 3)
						? NULL
						: PQgetvalue(res, i, 3)));
	PQclear(res);
	return 0;
}
