/*
 * tests/unit/registry/pool_test.c: the connection pool against a real
 * PostgreSQL (tests/unit/registry/pgtest.h): lending, waiting, threads,
 * rollback on release, replacing broken connections, and failing fast while
 * the server cannot be reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "registry/pool.h"
#include "registry/sql.h"

#include "pgtest.h"

/* ---- pool --------------------------------------------------------------- */

static void test_pool_open_rejects_bad_arguments(void **state)
{
	struct optreg_db *db = (struct optreg_db *)1;

	(void)state;
	assert_int_equal(optreg_db_open(&db, "no_such_keyword=1", 2),
			 OPTREG_EINVAL);
	assert_null(db);
	assert_int_equal(optreg_db_open(&db, conninfo, 0), OPTREG_EINVAL);
	assert_null(db);
	optreg_db_close(NULL);
}

static void test_pool_acquire_release(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	int in_use, idle, size;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 2), 0);
	optreg_db_stats(db, &in_use, &idle, &size);
	assert_int_equal(in_use, 0);
	assert_int_equal(idle, 0); /* lazy: nothing connected yet */
	assert_int_equal(size, 2);

	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	assert_query(c, "SELECT 1 + 1", "2");
	/* Our defaults are in, the caller's settings win. */
	assert_query(c, "SELECT current_setting('application_name')",
		     "optreg-server");
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 1);
	assert_int_equal(idle, 0);
	optreg_pool_put(db, c, false);
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 0);
	assert_int_equal(idle, 1);

	/* The open connection is lent again rather than a new one made. */
	PGconn *again = optreg_pool_get(db, 1000);
	assert_ptr_equal(again, c);
	PGconn *second = optreg_pool_get(db, 1000);
	assert_non_null(second);
	assert_ptr_not_equal(second, c);
	optreg_pool_put(db, again, false);
	optreg_pool_put(db, second, false);
	optreg_pool_put(db, NULL, false);

	optreg_db_counters_get(db, &n);
	assert_int_equal(n.acquired, 3);
	assert_int_equal(n.connects, 2);
	assert_int_equal(n.timeouts, 0);
	optreg_db_close(db);
}

struct later {
	struct optreg_db *db;
	PGconn *conn;
	int ms;
};

static void *release_later(void *arg)
{
	struct later *l = arg;

	sleep_ms(l->ms);
	optreg_pool_put(l->db, l->conn, false);
	return NULL;
}

static void test_pool_exhausted_times_out(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	pthread_t t;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);

	int64_t t0 = now_ms();
	assert_null(optreg_pool_get(db, 200));
	int64_t waited = now_ms() - t0;
	assert_true(waited >= 190);
	assert_true(waited < 1500);
	t0 = now_ms();
	assert_null(optreg_pool_get(db, 0));
	assert_true(now_ms() - t0 < 100);

	/* A release wakes a waiter long before its timeout. */
	struct later l = {db, c, 100};
	assert_int_equal(pthread_create(&t, NULL, release_later, &l), 0);
	t0 = now_ms();
	PGconn *c2 = optreg_pool_get(db, 10000);
	waited = now_ms() - t0;
	pthread_join(t, NULL);
	assert_ptr_equal(c2, c);
	assert_true(waited < 2000);
	optreg_pool_put(db, c2, false);

	optreg_db_counters_get(db, &n);
	assert_int_equal(n.timeouts, 2);
	optreg_db_close(db);
}

static void *borrow_many(void *arg)
{
	struct optreg_db *db = arg;
	long failures = 0;

	for (int i = 0; i < 50; i++) {
		PGconn *c = optreg_pool_get(db, 5000);
		if (!c) {
			failures++;
			continue;
		}
		PGresult *res = PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL,
					     NULL, 0);
		failures += PQresultStatus(res) != PGRES_TUPLES_OK;
		PQclear(res);
		/* Every fifth borrower reports its connection broken. */
		optreg_pool_put(db, c, i % 5 == 4);
	}
	return (void *)failures;
}

static void test_pool_shared_by_threads(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	pthread_t t[8];
	int in_use, idle;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 3), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, borrow_many, db),
				 0);
	for (int i = 0; i < 8; i++) {
		void *failures;
		pthread_join(t[i], &failures);
		assert_int_equal((long)failures, 0);
	}
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 0);
	assert_true(idle <= 3);
	optreg_db_counters_get(db, &n);
	assert_int_equal(n.acquired, 8 * 50);
	assert_int_equal(n.discarded, 8 * 10);
	optreg_db_close(db);
}

static void test_pool_release_rolls_back(void **state)
{
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	exec_ok(c, "BEGIN; CREATE TABLE pool_rollback (id int)");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
	optreg_pool_put(db, c, false);

	c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_query(c, "SELECT to_regclass('pool_rollback')", "(null)");

	/* An aborted transaction too. */
	exec_ok(c, "BEGIN");
	PQclear(PQexec(c, "SELECT 1/0"));
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	optreg_pool_put(db, c, false);
	PGconn *c2 = optreg_pool_get(db, 1000);
	assert_ptr_equal(c2, c); /* rolled back, not discarded */
	assert_int_equal(PQtransactionStatus(c2), PQTRANS_IDLE);
	assert_query(c2, "SELECT 3", "3");
	optreg_pool_put(db, c2, false);
	optreg_db_close(db);
}

static void test_pool_replaces_broken_connections(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	int idle;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	char *pid1 = query_value(c, "SELECT pg_backend_pid()");

	/* A SQL error is no connection failure; success neither. */
	PGresult *res =
		PQexecParams(c, "SELEC 1", 0, NULL, NULL, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_false(optreg_db_conn_failed(c, res));
	PQclear(res);
	res = PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
	assert_false(optreg_db_conn_failed(c, res));
	PQclear(res);
	assert_true(optreg_db_conn_failed(c, NULL));

	/* The caller says broken: the pool closes it and connects anew. */
	optreg_pool_put(db, c, true);
	optreg_db_stats(db, NULL, &idle, NULL);
	assert_int_equal(idle, 0);
	c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	char *pid2 = query_value(c, "SELECT pg_backend_pid()");
	assert_string_not_equal(pid1, pid2);

	/* The server ends the session under a query: 57P01. */
	res = PQexecParams(c, "SELECT pg_terminate_backend(pg_backend_pid())",
			   0, NULL, NULL, NULL, NULL, 0);
	assert_true(optreg_db_conn_failed(c, res));
	PQclear(res);
	optreg_pool_put(db, c, true);

	/* The server ends an idle pooled session: acquire notices and
	 * lends a fresh connection instead. */
	c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	char *pid3 = query_value(c, "SELECT pg_backend_pid()");
	optreg_pool_put(db, c, false);
	PGconn *other = connect_direct();
	char sql[128];
	/* Waits until the backend is gone: its FATAL has been sent, its EOF
	 * may not have been. */
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s, 5000)",
		 pid3);
	assert_query(other, sql, "t");
	PQfinish(other);
	c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	char *pid4 = query_value(c, "SELECT pg_backend_pid()");
	assert_string_not_equal(pid3, pid4);
	optreg_pool_put(db, c, false);

	optreg_db_counters_get(db, &n);
	assert_int_equal(n.discarded, 2);
	assert_int_equal(n.connects, 4);
	free(pid1);
	free(pid2);
	free(pid3);
	free(pid4);
	optreg_db_close(db);
}

static void test_pool_unreachable_fails_fast(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	int in_use;

	(void)state;
	assert_int_equal(optreg_db_open(&db,
					"host=/nonexistent/optreg port=5 "
					"dbname=optreg user=postgres",
					2),
			 0);
	int64_t t0 = now_ms();
	assert_null(optreg_pool_get(db, 1000));
	/* Within the hold-off, no new attempt is made. */
	assert_null(optreg_pool_get(db, 1000));
	assert_true(now_ms() - t0 < 3000);
	optreg_db_stats(db, &in_use, NULL, NULL);
	assert_int_equal(in_use, 0);
	optreg_db_counters_get(db, &n);
	assert_int_equal(n.unavailable, 2);
	assert_int_equal(n.connects, 1);
	optreg_db_close(db);
}

/* The limits reach the session as PostgreSQL settings; a lock wait past
 * lock_timeout counts as the database being unavailable (503). */
static void test_pool_limits_set_session_timeouts(void **state)
{
	struct optreg_db_limits lim = {1500, 300, 4000, 0};
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	optreg_db_set_limits(db, &lim);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	assert_query(c, "SHOW statement_timeout", "1500ms");
	assert_query(c, "SHOW lock_timeout", "300ms");
	assert_query(c, "SHOW idle_in_transaction_session_timeout", "4s");

	PGconn *other = connect_direct();
	exec_ok(other, "CREATE TABLE IF NOT EXISTS pool_lock (id int)");
	exec_ok(other, "BEGIN; LOCK TABLE pool_lock");
	int64_t t0 = now_ms();
	PGresult *res = PQexec(c, "SELECT * FROM pool_lock");
	assert_true(now_ms() - t0 < 1200);
	assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "55P03");
	assert_true(optreg_db_conn_failed(c, res));
	PQclear(res);
	res = PQexec(c, "SELECT pg_sleep(3)");
	assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "57014");
	assert_true(optreg_db_conn_failed(c, res));
	PQclear(res);
	/* Released as broken, as callers do on a 503: a timeout leaves the
	 * session sound, so the pool keeps the connection. */
	int pid = PQbackendPID(c);
	optreg_pool_put(db, c, true);
	PGconn *again = optreg_pool_get(db, 1000);
	assert_ptr_equal(again, c);
	assert_int_equal(PQbackendPID(again), pid);

	/* In a transaction, through optreg_sql_exec: 503, and the rollback
	 * on release is all the connection needs. */
	struct optreg_errors errs;
	optreg_errors_init(&errs);
	exec_ok(c, "BEGIN");
	assert_int_equal(optreg_sql_exec(c, "SELECT * FROM pool_lock", 0, NULL,
					 PGRES_TUPLES_OK, &res, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_null(res);
	optreg_errors_release(&errs);
	optreg_pool_put(db, c, true);
	again = optreg_pool_get(db, 1000);
	assert_ptr_equal(again, c);
	assert_int_equal(PQbackendPID(again), pid);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_query(c, "SELECT 1", "1");
	/* The next release as broken, with no timeout since, discards. */
	optreg_pool_put(db, c, true);

	struct optreg_db_counters n;
	optreg_db_counters_get(db, &n);
	assert_int_equal(n.discarded, 1);
	assert_int_equal(n.connects, 1);
	exec_ok(other, "ROLLBACK");
	PQfinish(other);
	optreg_db_close(db);
}

/* A request that queued long for a worker has little of its hold_ms left:
 * its borrow is cut at the request's deadline, but that says nothing about
 * the database, so the pool is not marked stalled and the next borrower
 * gets a connection as usual, not a probe or an immediate NULL. */
static void test_pool_request_deadline_cut_does_not_stall(void **state)
{
	struct optreg_db_limits lim = {0, 0, 0, 600};
	struct optreg_db_counters n;
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 2), 0);
	optreg_db_set_limits(db, &lim);
	PGconn *warm = optreg_pool_get(db, 1000); /* an open connection */
	assert_non_null(warm);
	optreg_pool_put(db, warm, false);

	/* Queued 450 ms of its 600: the borrow ends 150 ms from now. */
	optreg_pool_request_begin(db, now_ms() - 450);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	int64_t t0 = now_ms();
	PGresult *res = PQexec(c, "SELECT pg_sleep(3)");
	int64_t took = now_ms() - t0;
	assert_true(took >= 100);
	assert_true(took < 500); /* cut at the request's deadline */
	assert_true(optreg_db_conn_failed(c, res));
	PQclear(res);
	assert_false(optreg_db_stalled(db));
	optreg_pool_put(db, c, true);
	optreg_pool_request_end();

	/* Not stalled: borrowers get connections as usual. */
	PGconn *a = optreg_pool_get(db, 1000);
	PGconn *b = optreg_pool_get(db, 1000);
	assert_non_null(a);
	assert_non_null(b);
	assert_query(b, "SELECT 1", "1");
	optreg_pool_put(db, a, false);
	optreg_pool_put(db, b, false);

	optreg_db_counters_get(db, &n);
	assert_int_equal(n.cut, 1);
	optreg_db_close(db);
}

/* A borrow past hold_ms is cut by the watchdog: the blocked libpq call
 * returns a lost connection at once. The pool then counts the database
 * as stalled, and one probe that connects ends that. */
static void test_pool_watchdog_cuts_a_hung_borrow(void **state)
{
	struct optreg_db_limits lim = {0, 0, 0, 400};
	struct optreg_db_counters n;
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 2), 0);
	optreg_db_set_limits(db, &lim);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	int64_t t0 = now_ms();
	/* Stands for a server that does not answer (SIGSTOP). */
	PGresult *res = PQexec(c, "SELECT pg_sleep(5)");
	int64_t took = now_ms() - t0;
	assert_true(took >= 350);
	assert_true(took < 1500);
	assert_true(optreg_db_conn_failed(c, res));
	PQclear(res);
	assert_true(optreg_db_stalled(db));
	optreg_pool_put(db, c, false); /* the pool knows it was cut */

	/* Stalled: the next borrower probes with a fresh connect, which
	 * works here, and the stall is over. */
	c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	assert_false(optreg_db_stalled(db));
	assert_query(c, "SELECT 1", "1");
	optreg_pool_put(db, c, false);

	/* A request that queued past its time gets nothing, at once. */
	optreg_pool_request_begin(db, now_ms() - 1000);
	t0 = now_ms();
	assert_null(optreg_pool_get(db, 1000));
	assert_true(now_ms() - t0 < 100);
	optreg_pool_request_end();
	c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	optreg_pool_put(db, c, false);

	/* Where borrowing is forbidden (an I/O thread), nothing is lent. */
	optreg_pool_forbid_begin();
	assert_null(optreg_pool_get(db, 1000));
	assert_int_equal(optreg_pool_forbid_end(), 1);
	assert_int_equal(optreg_pool_forbid_end(), 0);

	optreg_db_counters_get(db, &n);
	assert_int_equal(n.cut, 1);
	assert_int_equal(n.discarded, 1);
	optreg_db_close(db);
}

/* A server that accepts the connection and never answers costs a connect
 * at most hold_ms, not connect_timeout. */
static void test_pool_connect_to_a_silent_server_is_bounded(void **state)
{
	struct optreg_db_limits lim = {0, 0, 0, 300};
	char dir[] = "/tmp/optreg-pool-silent.XXXXXX", path[64], ci[256];
	struct sockaddr_un sa;
	struct optreg_db *db;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.s.PGSQL.5432", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0); /* and never accept() */
	snprintf(ci, sizeof(ci),
		 "host=%s port=5432 dbname=optreg user=postgres "
		 "connect_timeout=10",
		 dir);
	assert_int_equal(optreg_db_open(&db, ci, 1), 0);
	optreg_db_set_limits(db, &lim);
	int64_t t0 = now_ms();
	assert_null(optreg_pool_get(db, 1000));
	int64_t took = now_ms() - t0;
	assert_true(took >= 250);
	assert_true(took < 1500);
	optreg_db_close(db);
	close(fd);
	unlink(path);
	rmdir(dir);
}

/* ---- prepared statements and the pipelined commit (registry/sql.h) ---- */

static void test_sql_prepared_statements(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_db *db;
	const char *one[1] = {"41"};
	PGresult *res;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	/* Prepared once on the pool's connection, then reused. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(optreg_sql_exec_prepared(
					 c, "SELECT $1::int + 1", 1, one,
					 PGRES_TUPLES_OK, &res, &errs),
				 0);
		assert_string_equal(PQgetvalue(res, 0, 0), "42");
		PQclear(res);
	}
	assert_query(c, "SELECT count(*) FROM pg_prepared_statements", "1");
	assert_query(c,
		     "SELECT name || ' ' || statement FROM "
		     "pg_prepared_statements",
		     "optreg_0 SELECT $1::int + 1");
	/* A statement that does not prepare fails as it would unprepared,
	 * and the connection goes on. */
	assert_int_equal(optreg_sql_exec_prepared(c, "SELECT nosuchcolumn", 0,
						  NULL, PGRES_TUPLES_OK, &res,
						  &errs),
			 OPTREG_EINTERNAL);
	assert_null(res);
	assert_non_null(strstr(errs.items[0].message, "nosuchcolumn"));
	optreg_errors_release(&errs);
	assert_int_equal(optreg_sql_exec_prepared(c, "SELECT $1::int * 2", 1,
						  one, PGRES_TUPLES_OK, &res,
						  &errs),
			 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "82");
	PQclear(res);
	assert_query(c, "SELECT count(*) FROM pg_prepared_statements", "2");
	optreg_pool_put(db, c, false);
	optreg_db_close(db);

	/* A connection the pool did not make runs them unprepared. */
	PGconn *plain = PQconnectdb(conninfo);
	assert_int_equal(PQstatus(plain), CONNECTION_OK);
	assert_int_equal(optreg_sql_exec_prepared(plain, "SELECT $1::int + 1",
						  1, one, PGRES_TUPLES_OK, &res,
						  &errs),
			 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
	assert_query(plain, "SELECT count(*) FROM pg_prepared_statements", "0");
	PQfinish(plain);
}

/* One pipelined statement and COMMIT: both or neither; and BEGIN with a
 * statement. */
static void test_sql_exec_commit(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	static const char insert[] =
		"INSERT INTO exec_commit (id) VALUES ($1::int)";
	const char *p1[1] = {"1"}, *p2[1] = {"2"};
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	exec_ok(c, "CREATE TABLE exec_commit (id int PRIMARY KEY)");
	for (int pass = 0; pass < 2; pass++) {
		/* The first pass prepares the INSERT, the second reuses it. */
		exec_ok(c, "TRUNCATE exec_commit");
		exec_ok(c, "BEGIN");
		assert_int_equal(
			optreg_sql_exec_commit(c, insert, 1, p1, &errs), 0);
		assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
		assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
		assert_query(c, "SELECT count(*) FROM exec_commit", "1");

		/* A failing statement: nothing of the transaction is
		 * committed, and the caller's rollback ends it. */
		exec_ok(c, "BEGIN");
		PGresult *res =
			PQexecParams(c, insert, 1, NULL, p2, NULL, NULL, 0);
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
		assert_int_equal(
			optreg_sql_exec_commit(c, insert, 1, p1, &errs),
			OPTREG_EINTERNAL);
		assert_non_null(strstr(errs.items[0].message, "23505"));
		optreg_errors_release(&errs);
		assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
		assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
		optreg_sql_rollback(c);
		assert_query(c,
			     "SELECT string_agg(id::text, ',') FROM "
			     "exec_commit",
			     "1");
	}
	exec_ok(c, "DROP TABLE exec_commit");

	/* BEGIN and a statement in one round trip: the transaction is open
	 * with the statement's result; a statement that fails leaves it
	 * aborted for the caller's rollback. */
	static const char sel[] = "SELECT 10 / $1::int";
	PGresult *res;
	assert_int_equal(optreg_sql_begin_exec(c, sel, 1, p2, PGRES_TUPLES_OK,
					       &res, &errs),
			 0);
	assert_string_equal(PQgetvalue(res, 0, 0), "5");
	PQclear(res);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
	assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
	optreg_sql_rollback(c);
	const char *zero[1] = {"0"};
	assert_int_equal(optreg_sql_begin_exec(c, sel, 1, zero, PGRES_TUPLES_OK,
					       &res, &errs),
			 OPTREG_EINTERNAL);
	assert_null(res);
	assert_non_null(strstr(errs.items[0].message, "22012"));
	optreg_errors_release(&errs);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	assert_int_equal(PQpipelineStatus(c), PQ_PIPELINE_OFF);
	optreg_sql_rollback(c);
	assert_query(c, "SELECT 7", "7");
	optreg_pool_put(db, c, false);
	optreg_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_open_rejects_bad_arguments),
		cmocka_unit_test(test_pool_acquire_release),
		cmocka_unit_test(test_pool_exhausted_times_out),
		cmocka_unit_test(test_pool_shared_by_threads),
		cmocka_unit_test(test_pool_release_rolls_back),
		cmocka_unit_test(test_sql_prepared_statements),
		cmocka_unit_test(test_sql_exec_commit),
		cmocka_unit_test(test_pool_replaces_broken_connections),
		cmocka_unit_test(test_pool_unreachable_fails_fast),
		cmocka_unit_test(test_pool_limits_set_session_timeouts),
		cmocka_unit_test(test_pool_watchdog_cuts_a_hung_borrow),
		cmocka_unit_test(test_pool_request_deadline_cut_does_not_stall),
		cmocka_unit_test(
			test_pool_connect_to_a_silent_server_is_bounded),
	};
	return cmocka_run_group_tests_name("pool", tests, group_setup,
					   group_teardown);
}
