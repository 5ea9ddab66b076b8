/*
 * registry/store/namespaces.c: namespace settings (the signature threshold).
 * See namespaces.h.
 */
#include "namespaces.h"

#include <stdio.h>
#include <stdlib.h>

#include "../audit.h"
#include "../sql.h"

/* clang-format off */
static const char SQL_THRESHOLD[] =
	"SELECT coalesce((SELECT signature_threshold"
	" FROM namespace_settings WHERE namespace = $1),"
	" 1)";

static const char SQL_THRESHOLD_LOCK[] =
	"SELECT coalesce((SELECT signature_threshold FROM"
	" namespace_settings WHERE namespace = $1 FOR "
	"UPDATE), 1)";

static const char SQL_THRESHOLD_UPSERT[] =
	"INSERT INTO namespace_settings (namespace,"
	" signature_threshold, updated_by) VALUES ($1, $2::int,"
	" $3) ON CONFLICT (namespace) DO UPDATE SET"
	" signature_threshold = EXCLUDED.signature_threshold,"
	" updated_at = now(), updated_by = EXCLUDED.updated_by";
/* clang-format on */

int optreg_store_namespaces_get(PGconn *conn, const char *ns, json_t **out,
				struct optreg_errors *errs)
{
	const char *p[1] = {ns};
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_THRESHOLD, 1, p, PGRES_TUPLES_OK,
				 &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_pack("{s:s, s:i}", "namespace", ns, "signature_threshold",
			 atoi(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return 0;
}

int optreg_store_namespaces_put(PGconn *conn, const char *ns, int threshold,
				const struct optreg_audit_actor *who,
				json_t **out, struct optreg_errors *errs)
{
	char ts[16];
	const char *p[3] = {ns, ts, who->principal};
	PGresult *res = NULL;

	*out = NULL;
	snprintf(ts, sizeof(ts), "%d", threshold);
	int rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	rc = optreg_sql_exec(conn, SQL_THRESHOLD_LOCK, 1, p, PGRES_TUPLES_OK,
			     &res, errs);
	int before = rc == 0 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	res = NULL;
	if (rc == 0)
		rc = optreg_sql_exec(conn, SQL_THRESHOLD_UPSERT, 3, p,
				     PGRES_COMMAND_OK, &res, errs);
	PQclear(res);
	if (rc == 0 && before != threshold)
		rc = optreg_audit_append(
			conn, who, "namespace.settings", ns,
			json_pack("{s:{s:i, s:i}}", "signature_threshold",
				  "from", before, "to", threshold),
			NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	if (rc) {
		optreg_sql_rollback(conn);
		return rc;
	}
	*out = json_pack("{s:s, s:i}", "namespace", ns, "signature_threshold",
			 threshold);
	return 0;
}
