/*
 * tests/unit/registry/migrate_test.c: the migration runner against a real
 * PostgreSQL (tests/unit/registry/pgtest.h). Each test works in its own
 * schema (the connection's search_path), so they do not see each other's
 * tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"

#include <openssl/evp.h>

#include "registry/migrate.h"

#include "pgtest.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};
	return cmocka_run_group_tests_name("migrate", tests, group_setup,
					   group_teardown);
}
