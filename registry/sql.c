/*
 * registry/sql.c: running statements and mapping their failures: the one
 * place that decides what a PostgreSQL error means to optreg (a lost
 * connection or a timeout is OPTREG_EUNAVAILABLE, anything else the
 * caller's code).
 */
#include "sql.h"

#include <libpq-events.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"

/* The connection whose last failure, on this thread, was only a server-side
 * timeout (see optreg_db_conn_timed_out); NULL: none. */
static _Thread_local const PGconn *timed_out;

static bool is_timeout(const char *state)
{
	/* statement_timeout (57014, query_canceled) or lock_timeout
	 * (55P03, lock_not_available). */
	return !strcmp(state, "57014") || !strcmp(state, "55P03");
}

bool optreg_db_conn_failed(PGconn *conn, const PGresult *res)
{
	const char *state, *severity;

	timed_out = NULL;
	if (!res || (conn && PQstatus(conn) == CONNECTION_BAD))
		return true;
	switch (PQresultStatus(res)) {
	case PGRES_BAD_RESPONSE:
		return true;
	case PGRES_FATAL_ERROR:
		break;
	default:
		return false;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* libpq's own errors (lost connection, ...) carry no SQLSTATE. */
	if (!state)
		return true;
	if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") ||
	    !strcmp(state, "57P02") || !strcmp(state, "57P03"))
		return true;
	/* Any FATAL ends the session (idle timeouts, a dropped database). */
	severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (severity &&
	    (!strcmp(severity, "FATAL") || !strcmp(severity, "PANIC")))
		return true;
	/* Out of time: the database cannot serve this now, which is a 503
	 * like a lost connection, not a 500; but the session itself is sound
	 * (an ERROR, the server still answering), so the pool keeps the
	 * connection and only rolls it back. The pool never cancels with
	 * PQcancel: its watchdog shuts the socket down instead, which is a
	 * lost connection above, so a 57014 here always comes from the
	 * server's own timeout (or an operator's pg_cancel_backend). */
	if (is_timeout(state)) {
		if (conn && PQstatus(conn) == CONNECTION_OK)
			timed_out = conn;
		return true;
	}
	return false;
}

bool optreg_db_conn_timed_out(const PGconn *conn)
{
	bool yes = conn && timed_out == conn;

	timed_out = NULL;
	return yes;
}

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

/*
 * Statements prepared on a connection, as libpq instance data of an event
 * procedure registered on the pool's connections (optreg_sql_conn_init):
 * the text of each, its name being "optreg_<position>". libpq drops the
 * data with the connection (PGEVT_CONNDESTROY) and after a reset, when
 * the server forgot them too (PGEVT_CONNRESET).
 */
struct prepared {
	char **sql;
	size_t n, alloc;
};

static void prepared_clear(struct prepared *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->sql[i]);
	p->n = 0;
}

static int prepared_events(PGEventId id, void *info, void *pass);

static struct prepared *prepared_of(const PGconn *conn)
{
	return PQinstanceData(conn, prepared_events);
}

static int prepared_events(PGEventId id, void *info, void *pass)
{
	struct prepared *p;

	(void)pass;
	switch (id) {
	case PGEVT_REGISTER:
		p = optreg_xcalloc(1, sizeof(*p));
		return PQsetInstanceData(((PGEventRegister *)info)->conn,
					 prepared_events, p);
	case PGEVT_CONNRESET:
		if ((p = prepared_of(((PGEventConnReset *)info)->conn)))
			prepared_clear(p);
		return 1;
	case PGEVT_CONNDESTROY:
		if ((p = prepared_of(((PGEventConnDestroy *)info)->conn))) {
			prepared_clear(p);
			free(p->sql);
			free(p);
		}
		return 1;
	default:
		return 1;
	}
}

void optreg_sql_conn_init(PGconn *conn)
{
	if (conn)
		PQregisterEventProc(conn, prepared_events,
				    "optreg prepared statements", NULL);
}

/*
 * The name `sql` is prepared under on `conn`, preparing it first if it is
 * not yet; NULL when the connection keeps no prepared statements (not the
 * pool's). A failed PREPARE leaves its result in *failed (else NULL).
 */
static const char *prepared_name(PGconn *conn, const char *sql, int nparams,
				 char name[32], PGresult **failed)
{
	struct prepared *p = prepared_of(conn);
	size_t i;

	*failed = NULL;
	if (!p)
		return NULL;
	for (i = 0; i < p->n && strcmp(p->sql[i], sql); i++)
		;
	snprintf(name, 32, "optreg_%zu", i);
	if (i < p->n)
		return name;
	PGresult *res = PQprepare(conn, name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*failed = res;
		return NULL;
	}
	PQclear(res);
	OPTREG_ALLOC_GROW(p->sql, p->n + 1, p->alloc);
	p->sql[p->n++] = optreg_xstrdup(sql);
	return name;
}

PGresult *optreg_sql_run_prepared(PGconn *conn, const char *sql, int nparams,
				  const char *const *params, const int *lengths,
				  const int *formats, int result_format)
{
	PGresult *failed;
	char name[32];
	const char *stmt = prepared_name(conn, sql, nparams, name, &failed);

	if (failed)
		return failed;
	if (!stmt)
		return PQexecParams(conn, sql, nparams, NULL, params, lengths,
				    formats, result_format);
	return PQexecPrepared(conn, stmt, nparams, params, lengths, formats,
			      result_format);
}

int optreg_sql_exec_prepared(PGconn *conn, const char *sql, int nparams,
			     const char *const *params, ExecStatusType want,
			     PGresult **out, struct optreg_errors *errs)
{
	PGresult *res = optreg_sql_run_prepared(conn, sql, nparams, params,
						NULL, NULL, 0);
	int rc = optreg_sql_check(conn, res, want, errs);

	if (rc) {
		PQclear(res);
		*out = NULL;
		return rc;
	}
	*out = res;
	return 0;
}

/* One pipelined statement's results: judges the first against `want`
 * (unless *rc already holds a failure: a statement after a failed one is
 * only PGRES_PIPELINE_ABORTED) and keeps it in *keep when that is not NULL
 * and it passed, then reads the rest up to the NULL that ends them. False
 * when the connection gave no result at all. */
static bool pipeline_step(PGconn *conn, ExecStatusType want, int *rc,
			  PGresult **keep, struct optreg_errors *errs)
{
	PGresult *res = PQgetResult(conn);

	if (*rc == 0)
		*rc = optreg_sql_check(conn, res, want, errs);
	if (!res)
		return false;
	if (keep && *rc == 0)
		*keep = res;
	else
		PQclear(res);
	/* One result a statement (no single-row mode); bounded all the
	 * same. */
	for (int i = 0; i < 4 && (res = PQgetResult(conn)); i++)
		PQclear(res);
	return res == NULL;
}

/*
 * Sends `before` (a statement without parameters, or NULL), `sql` (prepared
 * where the connection keeps prepared statements) and `after` (as
 * `before`) in one round trip, libpq's pipeline mode. 0 when all three
 * succeeded, `sql` with status `want`; its result then goes to *out (when
 * not NULL). A failure is mapped as optreg_sql_exec maps it; statements
 * after a failed one do not run. A connection left out of step with the
 * server is reported lost (the pool discards it, as it discards one left
 * in pipeline mode).
 */
static int pipeline_run(PGconn *conn, const char *before, const char *sql,
			int nparams, const char *const *params,
			ExecStatusType want, const char *after, PGresult **out,
			struct optreg_errors *errs)
{
	PGresult *failed, *res = NULL;
	char name[32];
	const char *stmt = prepared_name(conn, sql, nparams, name, &failed);
	int rc = 0;

	if (out)
		*out = NULL;
	if (failed) {
		rc = optreg_sql_check(conn, failed, want, errs);
		PQclear(failed);
		return rc;
	}
	if (PQenterPipelineMode(conn) != 1 ||
	    (before &&
	     !PQsendQueryParams(conn, before, 0, NULL, NULL, NULL, NULL, 0)) ||
	    !(stmt ? PQsendQueryPrepared(conn, stmt, nparams, params, NULL,
					 NULL, 0)
		   : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL,
				       NULL, 0)) ||
	    (after &&
	     !PQsendQueryParams(conn, after, 0, NULL, NULL, NULL, NULL, 0)) ||
	    !PQpipelineSync(conn))
		return optreg_sql_check(conn, NULL, want, errs);
	if ((!before ||
	     pipeline_step(conn, PGRES_COMMAND_OK, &rc, NULL, errs)) &&
	    pipeline_step(conn, want, &rc, &res, errs) &&
	    (!after ||
	     pipeline_step(conn, PGRES_COMMAND_OK, &rc, NULL, errs))) {
		PGresult *sync = PQgetResult(conn);
		bool synced =
			sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
		PQclear(sync);
		if (synced && PQexitPipelineMode(conn) == 1) {
			if (rc == 0 && out)
				*out = res;
			else
				PQclear(res);
			return rc;
		}
	}
	PQclear(res);
	if (rc == 0)
		rc = optreg_sql_check(conn, NULL, want, errs);
	return rc;
}

int optreg_sql_exec_commit(PGconn *conn, const char *sql, int nparams,
			   const char *const *params,
			   struct optreg_errors *errs)
{
	return pipeline_run(conn, NULL, sql, nparams, params, PGRES_COMMAND_OK,
			    "COMMIT", NULL, errs);
}

int optreg_sql_begin_exec(PGconn *conn, const char *sql, int nparams,
			  const char *const *params, ExecStatusType want,
			  PGresult **out, struct optreg_errors *errs)
{
	return pipeline_run(conn, "BEGIN", sql, nparams, params, want, NULL,
			    out, errs);
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

/* Converts PostgreSQL's 1-based character position in `sql` to a line
 * and column (characters, as PostgreSQL counts them in UTF-8). */
static void position_to_line_col(const char *sql, long pos, int *line, int *col)
{
	int l = 1, c = 1;

	for (const unsigned char *p = (const unsigned char *)sql; *p && pos > 1;
	     p++) {
		if ((*p & 0xc0) == 0x80)
			continue; /* UTF-8 continuation byte */
		pos--;
		if (*p == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

char *optreg_sql_conn_error(PGconn *conn)
{
	const char *m = conn ? PQerrorMessage(conn) : "";
	size_t n = strcspn(m, "\n");

	if (n == 0)
		return optreg_xstrdup("connection lost");
	return optreg_xstrndup(m, n);
}

int optreg_sql_error_add(struct optreg_errors *errs, int code, const char *rule,
			 const char *path, PGconn *conn, const PGresult *res,
			 const char *sql)
{
	const char *msg = NULL, *detail = NULL, *hint = NULL, *pos = NULL;
	struct optreg_error *e;

	if (optreg_db_conn_failed(conn, res)) {
		code = OPTREG_EUNAVAILABLE;
		rule = "database";
	}
	if (res) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	}
	if (msg) {
		e = optreg_errors_add(errs, code, rule, path, "%s", msg);
	} else {
		char *line = optreg_sql_conn_error(conn);
		e = optreg_errors_add(errs, code, rule, path, "%s", line);
		free(line);
	}
	if (detail)
		e->detail = optreg_xstrdup(detail);
	if (hint)
		optreg_error_set_hint(e, "%s", hint);
	if (pos && sql)
		position_to_line_col(sql, atol(pos), &e->line, &e->col);
	return code;
}

int optreg_sql_exec_at(PGconn *conn, const char *sql, int nparams,
		       const char *const *params, ExecStatusType want,
		       PGresult **out, const char *path,
		       struct optreg_errors *errs)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (res && PQresultStatus(res) == want) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	int rc = optreg_sql_error_add(errs, OPTREG_EINTERNAL, "database", path,
				      conn, res, NULL);
	PQclear(res);
	if (out)
		*out = NULL;
	return rc;
}

/* The JSON value of one cell, by its column type. */
static json_t *cell_json(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return json_null();
	const char *s = PQgetvalue(res, row, col);
	switch (PQftype(res, col)) {
	case 16: /* bool */
		return json_boolean(s[0] == 't');
	case 20: /* int8 */
	case 21: /* int2 */
	case 23: /* int4 */
		return json_integer(strtoll(s, NULL, 10));
	case 114:  /* json */
	case 3802: /* jsonb */
	{
		json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
		return v ? v : json_null();
	}
	default:
		return optreg_json_text(s);
	}
}

json_t *optreg_sql_row_json(const PGresult *res, int row)
{
	json_t *o = json_object();

	for (int c = 0; c < PQnfields(res); c++)
		json_object_set_new(o, PQfname(res, c), cell_json(res, row, c));
	return o;
}

json_t *optreg_sql_rows_json(const PGresult *res)
{
	json_t *a = json_array();

	for (int r = 0; r < PQntuples(res); r++)
		json_array_append_new(a, optreg_sql_row_json(res, r));
	return a;
}
