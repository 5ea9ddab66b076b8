/*
 * registry/sql.h: small helpers around libpq results, so every caller maps
 * PostgreSQL failures the same way: a lost connection is
 * OPTREG_EUNAVAILABLE (the server answers 503), any other failure is
 * OPTREG_EINTERNAL with PostgreSQL's message in the error list (logged,
 * never sent to clients).
 */
#ifndef OPTREG_SQL_H
#define OPTREG_SQL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "../common/error.h"

/* True when the result's connection failed (not a SQL error), or the
 * statement ran out of time (statement_timeout or lock_timeout): the
 * caller releases the connection as broken and answers 503. For a timeout
 * the pool keeps the connection anyway (see optreg_db_conn_timed_out). */
bool optreg_db_conn_failed(PGconn *conn, const PGresult *res);

/* True when the last optreg_db_conn_failed on this thread was about `conn`
 * and found only a server-side timeout (SQLSTATE 57014 or 55P03) on a
 * connection still open: optreg_pool_put then keeps the connection even
 * when released as broken. Each call forgets the answer: the next returns
 * false until another timeout. */
bool optreg_db_conn_timed_out(const PGconn *conn);

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

/*
 * Prepared statements, for the statements every request of a kind runs
 * (a submit, a fetch): prepared once on each of the pool's connections,
 * they skip parsing and, after PostgreSQL's first few custom plans,
 * planning. Only for statements whose plan does not depend on the values
 * (lookups by key); a statement that filters on optional parameters ("$1
 * IS NULL OR ...") stays with optreg_sql_exec. On a connection not set up
 * with optreg_sql_conn_init they run as optreg_sql_exec does.
 */
void optreg_sql_conn_init(PGconn *conn);

/* As optreg_sql_exec, prepared. */
int optreg_sql_exec_prepared(PGconn *conn, const char *sql, int nparams,
			     const char *const *params, ExecStatusType want,
			     PGresult **out, struct optreg_errors *errs);

/* As PQexecParams (parameter types left to the server), prepared: the
 * result, never checked here. */
PGresult *optreg_sql_run_prepared(PGconn *conn, const char *sql, int nparams,
				  const char *const *params, const int *lengths,
				  const int *formats, int result_format);

/*
 * Runs a parameterized statement that returns no rows and then COMMIT, in
 * one round trip (libpq pipeline mode), in the caller's open transaction.
 * 0 when both succeeded; otherwise the failure is mapped as
 * optreg_sql_exec maps it, nothing is committed, and the caller rolls back
 * as after any failure (a connection left out of step is reported lost,
 * so the pool discards it).
 */
int optreg_sql_exec_commit(PGconn *conn, const char *sql, int nparams,
			   const char *const *params,
			   struct optreg_errors *errs);

/* BEGIN and a parameterized statement in one round trip (pipeline mode,
 * the statement prepared as optreg_sql_exec_prepared): on success the
 * transaction is open and *out holds the statement's result; on failure
 * the caller rolls back as after any failure. */
int optreg_sql_begin_exec(PGconn *conn, const char *sql, int nparams,
			  const char *const *params, ExecStatusType want,
			  PGresult **out, struct optreg_errors *errs);

/*
 * Reports a failed statement as PostgreSQL gave it, for a person to read
 * (migrations): its primary message (else the first line of libpq's
 * connection error), detail and hint, against `path` (may be NULL), and
 * when `sql` is given the error position in it as line and column. Returns
 * the code appended: OPTREG_EUNAVAILABLE with rule "database" when the
 * connection failed, else `code` with `rule`.
 */
int optreg_sql_error_add(struct optreg_errors *errs, int code, const char *rule,
			 const char *path, PGconn *conn, const PGresult *res,
			 const char *sql);

/* As optreg_sql_exec, but a failure is reported with optreg_sql_error_add
 * (code OPTREG_EINTERNAL, rule "database") against `path`; `out` may be
 * NULL when the result is not wanted. */
int optreg_sql_exec_at(PGconn *conn, const char *sql, int nparams,
		       const char *const *params, ExecStatusType want,
		       PGresult **out, const char *path,
		       struct optreg_errors *errs);

/* The first line of libpq's error text for `conn` (may be NULL), or
 * "connection lost" when there is none. Returns a malloc'd string. */
char *optreg_sql_conn_error(PGconn *conn);

/*
 * Row `row` of `res` as a JSON object (new reference) named by its
 * columns: bool, integer and json/jsonb columns as those JSON types, NULL
 * as null, anything else as a string (text results only).
 */
json_t *optreg_sql_row_json(const PGresult *res, int row);
/* Every row of `res`, as optreg_sql_row_json, in a new array. */
json_t *optreg_sql_rows_json(const PGresult *res);

#endif
