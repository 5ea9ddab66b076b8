#include "sql.h"

#include "db.h"

int optreg_sql_check(PGconn *conn, const PGresult *res, ExecStatusType want,
		     struct optreg_errors *errs)
{
	if (res && PQresultStatus(res) == want)
		return 0;
	if (optreg_db_conn_failed(conn, res)) {
		optreg_errors_add(errs, OPTREG_EUNAVAILABLE, "unavailable",
				  NULL, "database connection lost: %s",
				  PQerrorMessage(conn));
		return OPTREG_EUNAVAILABLE;
	}
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg =
		res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	optreg_errors_add(errs, OPTREG_EINTERNAL, "database", NULL,
			  "database error %s: %s", state ? state : "?",
			  msg ? msg : PQerrorMessage(conn));
	return OPTREG_EINTERNAL;
}

int optreg_sql_exec(PGconn *conn, const char *sql, int nparams,
		    const char *const *params, ExecStatusType want,
		    PGresult **out, struct optreg_errors *errs)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = optreg_sql_check(conn, res, want, errs);

	if (rc) {
		PQclear(res);
		*out = NULL;
		return rc;
	}
	*out = res;
	return 0;
}

static int run(PGconn *conn, const char *sql, struct optreg_errors *errs)
{
	PGresult *res = PQexec(conn, sql);
	int rc = optreg_sql_check(conn, res, PGRES_COMMAND_OK, errs);

	PQclear(res);
	return rc;
}

int optreg_sql_begin(PGconn *conn, struct optreg_errors *errs)
{
	return run(conn, "BEGIN", errs);
}

int optreg_sql_commit(PGconn *conn, struct optreg_errors *errs)
{
	return run(conn, "COMMIT", errs);
}

void optreg_sql_rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}
