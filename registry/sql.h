/*
 * registry/sql.h: small helpers around libpq results, so every caller maps
 * PostgreSQL failures the same way: a lost connection is
 * OPTREG_EUNAVAILABLE (the server answers 503), any other failure is
 * OPTREG_EINTERNAL with PostgreSQL's message in the error list (logged,
 * never sent to clients).
 */
#ifndef OPTREG_SQL_H
#define OPTREG_SQL_H

#include <libpq-fe.h>

#include "../common/error.h"

/* 0 when `res` has status `want`; otherwise appends an error and returns
 * OPTREG_EUNAVAILABLE or OPTREG_EINTERNAL. Does not clear `res`. */
int optreg_sql_check(PGconn *conn, const PGresult *res, ExecStatusType want,
		     struct optreg_errors *errs);

int optreg_sql_begin(PGconn *conn, struct optreg_errors *errs);
int optreg_sql_commit(PGconn *conn, struct optreg_errors *errs);
/* Best effort; a failure leaves the connection for the pool to reset. */
void optreg_sql_rollback(PGconn *conn);

/* Runs a parameterized statement (text params) and checks its status;
 * on success *out holds the result (caller clears), else *out is NULL. */
int optreg_sql_exec(PGconn *conn, const char *sql, int nparams,
		    const char *const *params, ExecStatusType want,
		    PGresult **out, struct optreg_errors *errs);

#endif
