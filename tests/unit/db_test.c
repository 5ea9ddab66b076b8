/*
 * tests/unit/db_test.c: the connection pool, the migration runner and the
 * LISTEN thread, against a real PostgreSQL.
 *
 * The group setup starts a private cluster with `scripts/pg start` in a
 * mktemp directory (so the program runs from the repository root) and the
 * teardown removes it. Migration tests each work in their own schema (the
 * connection's search_path), so they do not see each other's tables. The
 * last test halts and restarts the server to check that the pool and the
 * listener heal themselves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "registry/db.h"

static char cluster_dir[] = "/tmp/optreg-db-test.XXXXXX";
static char *conninfo;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Re-evaluates `cond` every 10 ms until it holds or `ms` have passed. */
#define WAIT_UNTIL(cond, ms)                                                   \
	do {                                                                   \
		int64_t end_ = now_ms() + (ms);                                \
		while (!(cond) && now_ms() < end_)                             \
			sleep_ms(10);                                          \
	} while (0)

/*
 * Runs `scripts/pg CMD <cluster_dir>`; returns its exit status and, when
 * `line` is not NULL, its first output line (malloc'd, or NULL).
 */
static int pg_run(const char *cmd, char **line)
{
	char *sh = optreg_xasprintf("scripts/pg %s '%s'", cmd, cluster_dir);
	char buf[1024];
	FILE *f = popen(sh, "r");
	bool got;

	free(sh);
	if (!f)
		return -1;
	got = fgets(buf, sizeof(buf), f) != NULL;
	while (fgetc(f) != EOF)
		;
	int status = pclose(f);
	if (line) {
		*line = NULL;
		if (got) {
			buf[strcspn(buf, "\n")] = '\0';
			*line = optreg_xstrdup(buf);
		}
	}
	return status;
}

static int group_setup(void **state)
{
	(void)state;
	if (access("scripts/pg", X_OK)) {
		fprintf(stderr, "# scripts/pg not found: run the test from "
				"the repository root\n");
		return -1;
	}
	if (!mkdtemp(cluster_dir)) {
		perror("# mkdtemp");
		return -1;
	}
	if (pg_run("start", &conninfo) != 0 || !conninfo) {
		fprintf(stderr, "# scripts/pg start %s failed\n", cluster_dir);
		pg_run("stop", NULL);
		rmdir(cluster_dir);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	int rc = pg_run("stop", NULL);
	free(conninfo);
	return rc == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------ */

static PGconn *connect_direct(void)
{
	PGconn *c = PQconnectdb(conninfo);

	assert_non_null(c);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

/* Runs fixed test SQL (several statements allowed) and requires success. */
static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
}

/* The first column of the first row as a malloc'd string; "(null)" for a
 * SQL NULL, "(none)" for no rows. */
static char *query_value(PGconn *c, const char *sql)
{
	PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	char *v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	if (PQntuples(res) == 0)
		v = optreg_xstrdup("(none)");
	else if (PQgetisnull(res, 0, 0))
		v = optreg_xstrdup("(null)");
	else
		v = optreg_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void assert_query(PGconn *c, const char *sql, const char *want)
{
	char *v = query_value(c, sql);

	if (strcmp(v, want))
		fail_msg("%s: got \"%s\", want \"%s\"", sql, v, want);
	free(v);
}

/* A direct connection whose search_path is a new schema `name`. */
static PGconn *schema_conn(const char *name)
{
	PGconn *c = connect_direct();
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
		 "SET search_path TO %s",
		 name, name, name);
	exec_ok(c, "SET client_min_messages TO warning");
	exec_ok(c, sql);
	return c;
}

static char *make_dir(void)
{
	char *d = optreg_xstrdup("/tmp/optreg-migrations.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_dir(char *d)
{
	char *cmd = optreg_xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(d);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = optreg_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static void sha256_hex(const char *text, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_int_equal(
		EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL), 1);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A log captured in memory. */
struct memlog {
	FILE *f;
	char *text;
	size_t len;
};

static void memlog_open(struct memlog *l)
{
	l->text = NULL;
	l->f = open_memstream(&l->text, &l->len);
	assert_non_null(l->f);
}

/* Closes the stream and returns the text (owned by `l`). */
static const char *memlog_close(struct memlog *l)
{
	fclose(l->f);
	l->f = NULL;
	return l->text;
}

static void print_errors(const struct optreg_errors *errs)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_errors_format(errs, NULL, &b);
	if (b.len)
		fprintf(stderr, "# %s", b.data);
	optreg_buf_release(&b);
}

static const struct optreg_error *find_error(const struct optreg_errors *errs,
					     const char *rule, const char *path)
{
	for (size_t i = 0; i < errs->len; i++)
		if (!strcmp(errs->items[i].rule, rule) &&
		    !strcmp(errs->items[i].path, path))
			return &errs->items[i];
	print_errors(errs);
	return NULL;
}

/* Three migrations where each needs the one before, and one whose file
 * name sorts before 0002 as text but after it as a number. */
#define MIG_ACCOUNTS "CREATE TABLE accounts (id int PRIMARY KEY, name text);\n"
#define MIG_ORDERS                                                             \
	"CREATE TABLE orders (id int PRIMARY KEY,\n"                           \
	"                     account int NOT NULL REFERENCES accounts);\n"
#define MIG_SEED                                                               \
	"INSERT INTO accounts VALUES (1, 'a');\n"                              \
	"INSERT INTO orders VALUES (1, 1);\n"

static char *standard_dir(void)
{
	char *d = make_dir();

	write_file(d, "0002_orders.sql", MIG_ORDERS);
	write_file(d, "00010_seed.sql", MIG_SEED);
	write_file(d, "0001_accounts.sql", MIG_ACCOUNTS);
	write_file(d, "README.md", "not a migration\n");
	return d;
}

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

	PGconn *c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	assert_query(c, "SELECT 1 + 1", "2");
	/* Our defaults are in, the caller's settings win. */
	assert_query(c, "SELECT current_setting('application_name')",
		     "optreg-server");
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 1);
	assert_int_equal(idle, 0);
	optreg_db_release(db, c, false);
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 0);
	assert_int_equal(idle, 1);

	/* The open connection is lent again rather than a new one made. */
	PGconn *again = optreg_db_acquire(db, 1000);
	assert_ptr_equal(again, c);
	PGconn *second = optreg_db_acquire(db, 1000);
	assert_non_null(second);
	assert_ptr_not_equal(second, c);
	optreg_db_release(db, again, false);
	optreg_db_release(db, second, false);
	optreg_db_release(db, NULL, false);

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
	optreg_db_release(l->db, l->conn, false);
	return NULL;
}

static void test_pool_exhausted_times_out(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	pthread_t t;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_db_acquire(db, 1000);
	assert_non_null(c);

	int64_t t0 = now_ms();
	assert_null(optreg_db_acquire(db, 200));
	int64_t waited = now_ms() - t0;
	assert_true(waited >= 190);
	assert_true(waited < 1500);
	t0 = now_ms();
	assert_null(optreg_db_acquire(db, 0));
	assert_true(now_ms() - t0 < 100);

	/* A release wakes a waiter long before its timeout. */
	struct later l = {db, c, 100};
	assert_int_equal(pthread_create(&t, NULL, release_later, &l), 0);
	t0 = now_ms();
	PGconn *c2 = optreg_db_acquire(db, 10000);
	waited = now_ms() - t0;
	pthread_join(t, NULL);
	assert_ptr_equal(c2, c);
	assert_true(waited < 2000);
	optreg_db_release(db, c2, false);

	optreg_db_counters_get(db, &n);
	assert_int_equal(n.timeouts, 2);
	optreg_db_close(db);
}

static void *borrow_many(void *arg)
{
	struct optreg_db *db = arg;
	long failures = 0;

	for (int i = 0; i < 50; i++) {
		PGconn *c = optreg_db_acquire(db, 5000);
		if (!c) {
			failures++;
			continue;
		}
		PGresult *res = PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL,
					     NULL, 0);
		failures += PQresultStatus(res) != PGRES_TUPLES_OK;
		PQclear(res);
		/* Every fifth borrower reports its connection broken. */
		optreg_db_release(db, c, i % 5 == 4);
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
	PGconn *c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	exec_ok(c, "BEGIN; CREATE TABLE pool_rollback (id int)");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INTRANS);
	optreg_db_release(db, c, false);

	c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_query(c, "SELECT to_regclass('pool_rollback')", "(null)");

	/* An aborted transaction too. */
	exec_ok(c, "BEGIN");
	PQclear(PQexec(c, "SELECT 1/0"));
	assert_int_equal(PQtransactionStatus(c), PQTRANS_INERROR);
	optreg_db_release(db, c, false);
	PGconn *c2 = optreg_db_acquire(db, 1000);
	assert_ptr_equal(c2, c); /* rolled back, not discarded */
	assert_int_equal(PQtransactionStatus(c2), PQTRANS_IDLE);
	assert_query(c2, "SELECT 3", "3");
	optreg_db_release(db, c2, false);
	optreg_db_close(db);
}

static void test_pool_replaces_broken_connections(void **state)
{
	struct optreg_db_counters n;
	struct optreg_db *db;
	int idle;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_db_acquire(db, 1000);
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
	optreg_db_release(db, c, true);
	optreg_db_stats(db, NULL, &idle, NULL);
	assert_int_equal(idle, 0);
	c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	char *pid2 = query_value(c, "SELECT pg_backend_pid()");
	assert_string_not_equal(pid1, pid2);

	/* The server ends the session under a query: 57P01. */
	res = PQexecParams(c, "SELECT pg_terminate_backend(pg_backend_pid())",
			   0, NULL, NULL, NULL, NULL, 0);
	assert_true(optreg_db_conn_failed(c, res));
	PQclear(res);
	optreg_db_release(db, c, true);

	/* The server ends an idle pooled session: acquire notices and
	 * lends a fresh connection instead. */
	c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	char *pid3 = query_value(c, "SELECT pg_backend_pid()");
	optreg_db_release(db, c, false);
	PGconn *other = connect_direct();
	char sql[128];
	/* Waits until the backend is gone: its FATAL has been sent, its EOF
	 * may not have been. */
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s, 5000)",
		 pid3);
	assert_query(other, sql, "t");
	PQfinish(other);
	c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	char *pid4 = query_value(c, "SELECT pg_backend_pid()");
	assert_string_not_equal(pid3, pid4);
	optreg_db_release(db, c, false);

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
	assert_null(optreg_db_acquire(db, 1000));
	/* Within the hold-off, no new attempt is made. */
	assert_null(optreg_db_acquire(db, 1000));
	assert_true(now_ms() - t0 < 3000);
	optreg_db_stats(db, &in_use, NULL, NULL);
	assert_int_equal(in_use, 0);
	optreg_db_counters_get(db, &n);
	assert_int_equal(n.unavailable, 2);
	assert_int_equal(n.connects, 1);
	optreg_db_close(db);
}

/* ---- migrations --------------------------------------------------------- */

static void test_migrate_applies_in_order(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_order");
	char *dir = standard_dir();
	struct memlog log;
	char sum[65], sql[160];
	int pending = -1;

	(void)state;
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 3);
	memlog_open(&log);
	int rc = optreg_migrate_apply(c, dir, log.f, &errs);
	print_errors(&errs);
	assert_int_equal(rc, 0);
	assert_int_equal(errs.len, 0);
	assert_string_equal(memlog_close(&log), "applied 0001_accounts.sql\n"
						"applied 0002_orders.sql\n"
						"applied 00010_seed.sql\n");
	free(log.text);

	assert_query(c,
		     "SELECT string_agg(version || ':' || name, ',' "
		     "ORDER BY version) FROM schema_migrations",
		     "1:0001_accounts.sql,2:0002_orders.sql,10:00010_seed.sql");
	assert_query(c,
		     "SELECT count(*) FROM schema_migrations "
		     "WHERE applied_at IS NOT NULL",
		     "3");
	sha256_hex(MIG_ORDERS, sum);
	snprintf(sql, sizeof(sql),
		 "SELECT checksum = '%s' FROM schema_migrations "
		 "WHERE version = 2",
		 sum);
	assert_query(c, sql, "t");
	assert_query(c, "SELECT count(*) FROM orders", "1");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	/* The advisory lock was given back. */
	assert_query(c,
		     "SELECT count(*) FROM pg_locks WHERE locktype = "
		     "'advisory' AND pid = pg_backend_pid()",
		     "0");
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 0);

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_second_run_does_nothing(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_again");
	char *dir = standard_dir();
	struct memlog log;

	(void)state;
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs), 0);
	char *before = query_value(
		c, "SELECT string_agg(applied_at::text, ',' ORDER BY version) "
		   "FROM schema_migrations");
	memlog_open(&log);
	assert_int_equal(optreg_migrate_apply(c, dir, log.f, &errs), 0);
	assert_string_equal(memlog_close(&log), "");
	free(log.text);
	assert_int_equal(errs.len, 0);
	char *after = query_value(
		c, "SELECT string_agg(applied_at::text, ',' ORDER BY version) "
		   "FROM schema_migrations");
	assert_string_equal(before, after);
	assert_query(c, "SELECT count(*) FROM accounts", "1");

	free(before);
	free(after);
	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_refuses_changed_file(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_changed");
	char *dir = standard_dir();
	struct memlog log;

	(void)state;
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs), 0);
	write_file(dir, "0002_orders.sql", MIG_ORDERS "-- edited\n");
	write_file(dir, "0011_more.sql", "CREATE TABLE more (id int);\n");

	memlog_open(&log);
	int rc = optreg_migrate_apply(c, dir, log.f, &errs);
	assert_string_equal(memlog_close(&log), "");
	free(log.text);
	assert_int_equal(rc, OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "migration_changed");
	assert_string_equal(errs.items[0].path, "0002_orders.sql");
	assert_non_null(strstr(errs.items[0].message, "0002_orders.sql"));
	assert_non_null(errs.items[0].detail);
	assert_non_null(errs.items[0].hint);
	/* Nothing else ran. */
	assert_query(c, "SELECT to_regclass('more')", "(null)");
	assert_query(c, "SELECT count(*) FROM schema_migrations", "3");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_failure_leaves_nothing(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_fail");
	char *dir = make_dir();
	struct memlog log;
	int pending = -1;

	(void)state;
	write_file(dir, "0001_accounts.sql", MIG_ACCOUNTS);
	write_file(dir, "0002_bad.sql",
		   "CREATE TABLE bad_t (id int PRIMARY KEY);\n"
		   "INSERT INTO bad_t VALUES (1);\n"
		   "INSERT INTO bad_t VALUES (1);\n");
	write_file(dir, "0003_after.sql", "CREATE TABLE after_t (id int);\n");

	memlog_open(&log);
	int rc = optreg_migrate_apply(c, dir, log.f, &errs);
	assert_string_equal(memlog_close(&log), "applied 0001_accounts.sql\n");
	free(log.text);
	assert_int_equal(rc, OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "migration_failed");
	assert_string_equal(errs.items[0].path, "0002_bad.sql");
	assert_string_equal(errs.items[0].message,
			    "duplicate key value violates unique constraint "
			    "\"bad_t_pkey\"");
	assert_string_equal(errs.items[0].detail,
			    "Key (id)=(1) already exists.");

	/* Nothing of the failed file remains, later files did not run. */
	assert_query(c, "SELECT to_regclass('bad_t')", "(null)");
	assert_query(c, "SELECT to_regclass('after_t')", "(null)");
	assert_query(c,
		     "SELECT string_agg(version::text, ',') FROM "
		     "schema_migrations",
		     "1");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
	assert_query(c,
		     "SELECT count(*) FROM pg_locks WHERE locktype = "
		     "'advisory' AND pid = pg_backend_pid()",
		     "0");
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 2);

	/* Fixed, the run goes on from where it stopped. */
	write_file(dir, "0002_bad.sql", "CREATE TABLE bad_t (id int);\n");
	optreg_errors_release(&errs);
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs), 0);
	assert_query(c, "SELECT count(*) FROM schema_migrations", "3");

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_error_has_position_and_hint(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_position");
	char *dir = make_dir();

	(void)state;
	/* Positions count characters: the non-ASCII ones must not shift
	 * the column. */
	write_file(dir, "0001_fn.sql",
		   "CREATE TABLE ok_t (id int); -- gr\xc3\xbc\xc3\x9f\n"
		   "\n"
		   "SELECT '\xc3\xa9t\xc3\xa9', nonexistent_fn(1);\n");
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "migration_failed");
	assert_string_equal(errs.items[0].message,
			    "function nonexistent_fn(integer) does not exist");
	assert_non_null(errs.items[0].hint);
	assert_non_null(strstr(errs.items[0].hint, "No function matches"));
	assert_int_equal(errs.items[0].line, 3);
	assert_int_equal(errs.items[0].col, 15);
	assert_query(c, "SELECT to_regclass('ok_t')", "(null)");
	assert_query(c, "SELECT count(*) FROM schema_migrations", "0");

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_refuses_transaction_control_and_copy(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_commit");
	char *dir = make_dir();

	(void)state;
	write_file(dir, "0001_commits.sql",
		   "CREATE TABLE c1 (id int); COMMIT;\n");
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "migration_transaction");
	assert_string_equal(errs.items[0].path, "0001_commits.sql");
	assert_query(c, "SELECT count(*) FROM schema_migrations", "0");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);

	/* COPY wants data the runner does not have: refused, not hung. */
	optreg_errors_release(&errs);
	write_file(dir, "0001_commits.sql",
		   "CREATE TABLE c2 (id int);\nCOPY c2 FROM stdin;\n");
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "migration_failed");
	assert_query(c, "SELECT to_regclass('c2')", "(null)");
	write_file(dir, "0001_commits.sql", "COPY (SELECT 1) TO stdout;\n");
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	assert_query(c, "SELECT count(*) FROM schema_migrations", "0");
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_pending_counts(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_pending");
	char *dir = standard_dir();
	int pending = -1;

	(void)state;
	/* No schema_migrations yet: all pending, and nothing created. */
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 3);
	assert_query(c, "SELECT to_regclass('schema_migrations')", "(null)");
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs), 0);
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 0);
	write_file(dir, "0020_x.sql", "SELECT 1;\n");
	write_file(dir, "0021_y.sql", "");
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 2);
	/* An empty file is a valid (empty) migration. */
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs), 0);
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(errs.len, 0);

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

static void test_migrate_rejects_bad_directories(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = schema_conn("mig_names");
	char *dir = make_dir();
	int pending = -1;

	(void)state;
	write_file(dir, "0001_ok.sql", "CREATE TABLE ok_t (id int);\n");
	write_file(dir, "001_short.sql", "SELECT 1;\n");
	write_file(dir, "0002_.sql", "SELECT 1;\n");
	write_file(dir, "0003_a.sql", "SELECT 1;\n");
	write_file(dir, "00003_b.sql", "SELECT 1;\n");
	write_file(dir, ".0004_hidden.sql", "SELECT 1;\n");
	assert_int_equal(optreg_migrate_apply(c, dir, NULL, &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 3);
	assert_non_null(find_error(&errs, "migration_name", "0002_.sql"));
	assert_non_null(find_error(&errs, "migration_name", "001_short.sql"));
	const struct optreg_error *e =
		find_error(&errs, "migration_duplicate", "0003_a.sql");
	assert_non_null(e);
	assert_non_null(strstr(e->detail, "0003_a.sql"));
	assert_non_null(strstr(e->detail, "00003_b.sql"));
	/* Nothing was touched. */
	assert_query(c, "SELECT to_regclass('schema_migrations')", "(null)");
	assert_query(c, "SELECT to_regclass('ok_t')", "(null)");
	optreg_errors_release(&errs);
	assert_int_equal(optreg_migrate_pending(c, dir, &pending, &errs),
			 OPTREG_EINVAL);
	optreg_errors_release(&errs);

	char *missing = optreg_xasprintf("%s/none", dir);
	assert_int_equal(optreg_migrate_apply(c, missing, NULL, &errs),
			 OPTREG_EIO);
	assert_string_equal(errs.items[0].rule, "migrations_dir");
	free(missing);

	remove_dir(dir);
	PQfinish(c);
	optreg_errors_release(&errs);
}

struct migrator {
	const char *dir;
	PGconn *conn;
	struct memlog log;
	struct optreg_errors errs;
	int rc;
};

static void *migrate_thread(void *arg)
{
	struct migrator *m = arg;

	m->rc = optreg_migrate_apply(m->conn, m->dir, m->log.f, &m->errs);
	return NULL;
}

static void test_migrate_two_migrators_apply_once(void **state)
{
	struct migrator m[2];
	pthread_t t[2];
	char *dir = standard_dir();
	PGconn *c = schema_conn("mig_race");

	(void)state;
	/* A slow first file keeps the race window open. */
	write_file(dir, "0001_accounts.sql",
		   "SELECT pg_sleep(0.3);\n" MIG_ACCOUNTS);
	for (int i = 0; i < 2; i++) {
		m[i].dir = dir;
		m[i].conn = connect_direct();
		exec_ok(m[i].conn, "SET search_path TO mig_race");
		memlog_open(&m[i].log);
		optreg_errors_init(&m[i].errs);
		assert_int_equal(
			pthread_create(&t[i], NULL, migrate_thread, &m[i]), 0);
	}
	size_t lines = 0;
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		print_errors(&m[i].errs);
		assert_int_equal(m[i].rc, 0);
		const char *text = memlog_close(&m[i].log);
		for (const char *p = text; *p; p++)
			lines += *p == '\n';
		free(m[i].log.text);
		optreg_errors_release(&m[i].errs);
		PQfinish(m[i].conn);
	}
	assert_int_equal(lines, 3);
	assert_query(c, "SELECT count(*) FROM schema_migrations", "3");

	remove_dir(dir);
	PQfinish(c);
}

static void test_migrations_dir(void **state)
{
	(void)state;
	setenv("OPTREG_MIGRATIONS", "/srv/optreg/migrations", 1);
	char *d = optreg_migrations_dir();
	assert_string_equal(d, "/srv/optreg/migrations");
	free(d);
	unsetenv("OPTREG_MIGRATIONS");
	d = optreg_migrations_dir();
	size_t n = strlen(d);
	assert_true(!strcmp(d, "migrations") ||
		    (n > 14 && !strcmp(d + n - 14, "/../migrations")));
	free(d);
}

/* ---- listener ----------------------------------------------------------- */

struct heard {
	pthread_mutex_t lock;
	char payloads[16][64];
	int n;
	int resets;
};

static void heard_notify(const char *payload, void *ctx)
{
	struct heard *h = ctx;

	pthread_mutex_lock(&h->lock);
	if (h->n < 16)
		snprintf(h->payloads[h->n], sizeof(h->payloads[0]), "%s",
			 payload);
	h->n++;
	pthread_mutex_unlock(&h->lock);
}

static void heard_reset(void *ctx)
{
	struct heard *h = ctx;

	pthread_mutex_lock(&h->lock);
	h->resets++;
	pthread_mutex_unlock(&h->lock);
}

static int heard_count(struct heard *h)
{
	pthread_mutex_lock(&h->lock);
	int n = h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static int heard_resets(struct heard *h)
{
	pthread_mutex_lock(&h->lock);
	int n = h->resets;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* A channel name that needs quoting. */
#define CHANNEL "optreg \"test\" channel"

static void notify(PGconn *c, const char *payload)
{
	const char *params[2] = {CHANNEL, payload};
	PGresult *res = PQexecParams(c, "SELECT pg_notify($1, $2)", 2, NULL,
				     params, NULL, NULL, 0);

	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
}

static void test_listener_receives_notifications(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct optreg_db_listener *l;
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_listen_start(&l, conninfo, "", heard_notify,
						heard_reset, &h),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_db_listen_start(&l, conninfo, CHANNEL,
						heard_notify, heard_reset, &h),
			 0);
	WAIT_UNTIL(optreg_db_listen_healthy(l), 10000);
	assert_true(optreg_db_listen_healthy(l));
	assert_int_equal(heard_resets(&h), 1);

	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	notify(c, "tag:ns/a/prod");
	notify(c, "digest:sha256:00");
	/* Notifications are sent at commit: none from a rolled-back one. */
	exec_ok(c, "BEGIN");
	notify(c, "never");
	optreg_db_release(db, c, false);
	c = optreg_db_acquire(db, 1000);
	notify(c, "");
	optreg_db_release(db, c, false);

	WAIT_UNTIL(heard_count(&h) >= 3, 5000);
	sleep_ms(50);
	assert_int_equal(heard_count(&h), 3);
	assert_string_equal(h.payloads[0], "tag:ns/a/prod");
	assert_string_equal(h.payloads[1], "digest:sha256:00");
	assert_string_equal(h.payloads[2], "");

	int64_t t0 = now_ms();
	optreg_db_listen_stop(l);
	assert_true(now_ms() - t0 < 500);
	optreg_db_listen_stop(NULL);
	optreg_db_close(db);
}

static void test_listener_stops_promptly_when_unreachable(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct optreg_db_listener *l;

	(void)state;
	assert_int_equal(optreg_db_listen_start(&l,
						"host=/nonexistent/optreg "
						"port=5 dbname=optreg",
						CHANNEL, heard_notify,
						heard_reset, &h),
			 0);
	sleep_ms(700); /* a few failed attempts, now in backoff */
	assert_false(optreg_db_listen_healthy(l));
	int64_t t0 = now_ms();
	optreg_db_listen_stop(l);
	assert_true(now_ms() - t0 < 250);
	assert_int_equal(heard_resets(&h), 0);
}

/* ---- PostgreSQL goes away and comes back -------------------------------- */

static void test_pool_and_listener_survive_restart(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct optreg_db_listener *l;
	struct optreg_db *db;
	char *again = NULL;
	PGconn *c, *c2;
	int in_use, idle;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 2), 0);
	c = optreg_db_acquire(db, 1000);
	c2 = optreg_db_acquire(db, 1000);
	assert_non_null(c);
	assert_non_null(c2);
	optreg_db_release(db, c, false);
	optreg_db_release(db, c2, false);
	assert_int_equal(optreg_db_listen_start(&l, conninfo, CHANNEL,
						heard_notify, heard_reset, &h),
			 0);
	WAIT_UNTIL(optreg_db_listen_healthy(l), 10000);
	assert_int_equal(heard_resets(&h), 1);

	assert_int_equal(pg_run("halt", NULL), 0);
	WAIT_UNTIL(!optreg_db_listen_healthy(l), 5000);
	assert_false(optreg_db_listen_healthy(l));

	/* The idle connections are dead; no new one can be made. */
	int64_t t0 = now_ms();
	assert_null(optreg_db_acquire(db, 1000));
	assert_true(now_ms() - t0 < 3000);
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 0);

	assert_int_equal(pg_run("start", &again), 0);
	assert_non_null(again);
	assert_string_equal(again, conninfo);
	free(again);

	/* The listener is back and says so: caches must be dropped. */
	WAIT_UNTIL(optreg_db_listen_healthy(l), 15000);
	assert_true(optreg_db_listen_healthy(l));
	assert_int_equal(heard_resets(&h), 2);

	/* The pool heals itself. */
	c = NULL;
	WAIT_UNTIL((c = optreg_db_acquire(db, 1000)) != NULL, 10000);
	assert_non_null(c);
	assert_query(c, "SELECT 42", "42");
	notify(c, "after restart");
	optreg_db_release(db, c, false);
	WAIT_UNTIL(heard_count(&h) >= 1, 5000);
	assert_int_equal(heard_count(&h), 1);
	assert_string_equal(h.payloads[0], "after restart");

	optreg_db_listen_stop(l);
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
		cmocka_unit_test(test_pool_replaces_broken_connections),
		cmocka_unit_test(test_pool_unreachable_fails_fast),
		cmocka_unit_test(test_migrate_applies_in_order),
		cmocka_unit_test(test_migrate_second_run_does_nothing),
		cmocka_unit_test(test_migrate_refuses_changed_file),
		cmocka_unit_test(test_migrate_failure_leaves_nothing),
		cmocka_unit_test(test_migrate_error_has_position_and_hint),
		cmocka_unit_test(
			test_migrate_refuses_transaction_control_and_copy),
		cmocka_unit_test(test_migrate_pending_counts),
		cmocka_unit_test(test_migrate_rejects_bad_directories),
		cmocka_unit_test(test_migrate_two_migrators_apply_once),
		cmocka_unit_test(test_migrations_dir),
		cmocka_unit_test(test_listener_receives_notifications),
		cmocka_unit_test(test_listener_stops_promptly_when_unreachable),
		/* Last: it halts and restarts the server. */
		cmocka_unit_test(test_pool_and_listener_survive_restart),
	};
	return cmocka_run_group_tests_name("db", tests, group_setup,
					   group_teardown);
}
