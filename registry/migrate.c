/*
 * registry/migrate.c: the migration runner (see migrate.h for the
 * contracts).
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/path.h"
#include "sql.h"

/* pg_advisory_lock key of the migration runner: "optregmg" as a big-endian
 * int8, so it will not collide with a key picked at random. */
#define MIGRATE_LOCK_KEY "8030046170277965159"

struct migration {
	int version;
	char *file; /* "0001_init.sql" */
	struct optreg_buf sql;
	char sum[OPTREG_SHA256_HEX_LEN + 1]; /* hex sha256 of `sql` */
};

struct migrations {
	struct migration *items;
	size_t len;
};

static void migrations_release(struct migrations *ms)
{
	for (size_t i = 0; i < ms->len; i++) {
		free(ms->items[i].file);
		optreg_buf_release(&ms->items[i].sql);
	}
	free(ms->items);
	ms->items = NULL;
	ms->len = 0;
}

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->file, y->file);
}

/*
 * Parses `NNNN_name.sql` (4 or more digits, a non-empty name). Returns 1
 * and the version, 0 for a file that is no migration (no .sql suffix, or
 * hidden), -1 for a .sql file with a bad name, -2 for a version that does
 * not fit an int.
 */
static int migration_name_parse(const char *name, int *version)
{
	size_t len = strlen(name), digits = 0;
	long long v = 0;

	if (name[0] == '.' || len < 4 || strcmp(name + len - 4, ".sql"))
		return 0;
	while (name[digits] >= '0' && name[digits] <= '9') {
		if (v <= INT_MAX)
			v = v * 10 + (name[digits] - '0');
		digits++;
	}
	if (digits < 4 || name[digits] != '_' || digits + 1 + 4 >= len)
		return -1;
	if (v > INT_MAX)
		return -2;
	*version = (int)v;
	return 1;
}

/* Lists the migrations in `dir`, sorted by version; with `read`, also
 * loads each file and its checksum. Every problem is reported. */
static int migrations_scan(const char *dir, bool read, struct migrations *ms,
			   struct optreg_errors *errs)
{
	size_t cap = 0, nerrs = errs->len;
	struct dirent *de;
	DIR *d;

	ms->items = NULL;
	ms->len = 0;
	d = opendir(dir);
	if (!d) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EIO, "migrations_dir", dir,
			"cannot open migrations directory: %s",
			strerror(errno));
		optreg_error_set_hint(e, "Set OPTREG_MIGRATIONS to the "
					 "directory holding NNNN_name.sql "
					 "files.");
		return OPTREG_EIO;
	}
	while ((de = readdir(d))) {
		int version = 0;
		int rc = migration_name_parse(de->d_name, &version);
		struct optreg_error *e;

		if (rc == 0)
			continue;
		if (rc < 0) {
			e = optreg_errors_add(
				errs, OPTREG_EINVAL, "migration_name",
				de->d_name, "%s",
				rc == -1 ? "not a migration file name"
					 : "migration version out of range");
			optreg_error_set_hint(
				e, "Name migrations NNNN_name.sql with at "
				   "least four digits, e.g. 0001_init.sql.");
			continue;
		}
		OPTREG_ALLOC_GROW(ms->items, ms->len + 1, cap);
		struct migration *m = &ms->items[ms->len++];
		memset(m, 0, sizeof(*m));
		optreg_buf_init(&m->sql);
		m->version = version;
		m->file = optreg_xstrdup(de->d_name);
	}
	closedir(d);
	if (ms->len)
		qsort(ms->items, ms->len, sizeof(*ms->items), cmp_migration);

	for (size_t i = 1; i < ms->len; i++) {
		if (ms->items[i].version != ms->items[i - 1].version)
			continue;
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_duplicate",
			ms->items[i].file, "duplicate migration version %d",
			ms->items[i].version);
		e->detail = optreg_xasprintf("%s and %s have the same version.",
					     ms->items[i - 1].file,
					     ms->items[i].file);
	}

	for (size_t i = 0; read && i < ms->len; i++) {
		struct migration *m = &ms->items[i];
		char *path = optreg_xasprintf("%s/%s", dir, m->file);
		int rc = optreg_buf_read_file(&m->sql, path), err = errno;

		free(path);
		if (rc) {
			optreg_errors_add(errs, OPTREG_EIO, "migration_read",
					  m->file, "cannot read migration: %s",
					  strerror(err));
			continue;
		}
		if (strlen(m->sql.data) != m->sql.len) {
			optreg_errors_add(errs, OPTREG_EINVAL,
					  "migration_encoding", m->file,
					  "migration holds a NUL byte");
			continue;
		}
		optreg_sha256_hex(m->sql.data, m->sql.len, m->sum);
	}

	if (errs->len == nerrs)
		return 0;
	int code = errs->items[nerrs].code;
	migrations_release(ms);
	return code;
}

static int conn_check(PGconn *conn, struct optreg_errors *errs)
{
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		char *line = optreg_sql_conn_error(conn);
		optreg_errors_add(errs, OPTREG_EUNAVAILABLE, "database", NULL,
				  "cannot reach the database: %s", line);
		free(line);
		return OPTREG_EUNAVAILABLE;
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		optreg_errors_add(errs, OPTREG_EUSAGE, "database", NULL,
				  "connection is inside a transaction");
		return OPTREG_EUSAGE;
	}
	return 0;
}

/* Sets `*exists` to whether schema_migrations is visible on the search
 * path. */
static int migrations_table_exists(PGconn *conn, bool *exists,
				   struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec_at(
		conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0,
		NULL, PGRES_TUPLES_OK, &res, NULL, errs);

	if (rc)
		return rc;
	*exists = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return 0;
}

/* Fails with OPTREG_EDENIED "database_privilege" when the session's role
 * may not read schema_migrations (which exists): `serve` as a role outside
 * optreg_app, or before 0005 granted the table to it. */
static int migrations_table_readable(PGconn *conn, struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec_at(
		conn,
		"SELECT current_user, has_table_privilege("
		"to_regclass('schema_migrations'), 'SELECT')",
		0, NULL, PGRES_TUPLES_OK, &res, NULL, errs);

	if (rc)
		return rc;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "f")) {
		PQclear(res);
		return 0;
	}
	const char *role = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?";
	struct optreg_error *e = optreg_errors_add(
		errs, OPTREG_EDENIED, "database_privilege", "schema_migrations",
		"database role %s may not read schema_migrations", role);
	optreg_error_set_detail(
		e, "The service needs what the migrations grant to the role "
		   "optreg_app (0005 grants SELECT on schema_migrations).");
	optreg_error_set_hint(e,
			      "Apply the migrations as the tables' owner "
			      "(`optreg-server migrate`), then as that owner "
			      "run: GRANT optreg_app TO %s; "
			      "(docs/operations.md).",
			      role);
	PQclear(res);
	return OPTREG_EDENIED;
}

/* Finds the applied row of `version` in a (version, checksum) result;
 * returns its row number or -1. */
static int applied_row(const PGresult *res, int version)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", version);
	for (int r = 0; r < PQntuples(res); r++)
		if (!strcmp(PQgetvalue(res, r, 0), v))
			return r;
	return -1;
}

/* Ends a COPY that a migration file started (the runner has no data to
 * give and wants none), leaving the connection ready for ROLLBACK. */
static void copy_abandon(PGconn *conn, ExecStatusType st)
{
	PGresult *res;
	char *data;

	if (st == PGRES_COPY_IN)
		PQputCopyEnd(conn, "COPY is not supported in migrations");
	else
		while (PQgetCopyData(conn, &data, 0) > 0)
			PQfreemem(data);
	while ((res = PQgetResult(conn)))
		PQclear(res);
}

/* Applies one migration in its own transaction with its bookkeeping row. */
static int migration_apply_one(PGconn *conn, const struct migration *m,
			       struct optreg_errors *errs)
{
	char version[16];
	const char *params[3] = {version, m->file, m->sum};
	PGresult *res;
	int rc;

	snprintf(version, sizeof(version), "%d", m->version);
	rc = optreg_sql_exec_at(conn, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL,
				m->file, errs);
	if (rc)
		return rc;

	/* The file is the one place where SQL is run as written. */
	res = PQexec(conn, m->sql.data);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_failed", m->file,
			"COPY FROM STDIN and COPY TO STDOUT cannot run in a "
			"migration");
		optreg_error_set_hint(e, "Use INSERT statements instead.");
		copy_abandon(conn, st);
		PQclear(res);
		rc = OPTREG_EINVAL;
		goto fail;
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY) {
		rc = optreg_sql_error_add(errs, OPTREG_EINVAL,
					  "migration_failed", m->file, conn,
					  res, m->sql.data);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_transaction", m->file,
			"migration ended its transaction");
		e->detail = optreg_xstrdup(
			"Each migration runs inside a transaction that the "
			"runner opens and commits; what the file committed "
			"itself stays, without its schema_migrations row.");
		optreg_error_set_hint(e, "Remove BEGIN, COMMIT and ROLLBACK "
					 "from the file, and undo by hand what "
					 "it committed.");
		rc = OPTREG_EINVAL;
		goto fail;
	}

	rc = optreg_sql_exec_at(conn,
				"INSERT INTO schema_migrations (version, name, "
				"checksum) VALUES ($1, $2, $3)",
				3, params, PGRES_COMMAND_OK, NULL, m->file,
				errs);
	if (rc)
		goto fail;
	/* Deferred constraints fail at COMMIT: report them as the file's. */
	res = PQexecParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = optreg_sql_error_add(errs, OPTREG_EINVAL,
					  "migration_failed", m->file, conn,
					  res, NULL);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return 0;

fail:
	if (PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL,
				     NULL, 0));
	return rc;
}

/* The part of optreg_migrate_apply that runs under the advisory lock. */
static int migrate_locked(PGconn *conn, struct migrations *ms, FILE *log,
			  struct optreg_errors *errs)
{
	PGresult *applied = NULL;
	bool exists = false;
	size_t nerrs = errs->len;
	int rc;

	rc = migrations_table_exists(conn, &exists, errs);
	if (rc)
		return rc;
	if (!exists) {
		rc = optreg_sql_exec_at(
			conn,
			"CREATE TABLE IF NOT EXISTS schema_migrations ("
			" version int PRIMARY KEY,"
			" name text NOT NULL,"
			" checksum text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())",
			0, NULL, PGRES_COMMAND_OK, NULL, NULL, errs);
		if (rc)
			return rc;
	}
	rc = optreg_sql_exec_at(
		conn,
		"SELECT version, checksum FROM schema_migrations "
		"ORDER BY version",
		0, NULL, PGRES_TUPLES_OK, &applied, NULL, errs);
	if (rc)
		return rc;

	/* Refuse to run anything while an applied file differs. */
	for (size_t i = 0; i < ms->len; i++) {
		const struct migration *m = &ms->items[i];
		int r = applied_row(applied, m->version);

		if (r < 0 || !strcmp(PQgetvalue(applied, r, 1), m->sum))
			continue;
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_changed", m->file,
			"applied migration %s was changed", m->file);
		e->detail = optreg_xasprintf(
			"Its SHA-256 was %s when applied and is %s now.",
			PQgetvalue(applied, r, 1), m->sum);
		optreg_error_set_hint(e, "Restore the file as it was applied "
					 "and put the change in a new "
					 "migration.");
	}
	if (errs->len != nerrs) {
		PQclear(applied);
		return OPTREG_EINVAL;
	}

	for (size_t i = 0; i < ms->len && !rc; i++) {
		const struct migration *m = &ms->items[i];

		if (applied_row(applied, m->version) >= 0)
			continue;
		rc = migration_apply_one(conn, m, errs);
		if (!rc && log) {
			fprintf(log, "applied %s\n", m->file);
			fflush(log);
		}
	}
	PQclear(applied);
	return rc;
}

int optreg_migrate_apply(PGconn *conn, const char *dir, FILE *log,
			 struct optreg_errors *errs)
{
	const char *key[1] = {MIGRATE_LOCK_KEY};
	struct migrations ms;
	int rc;

	rc = conn_check(conn, errs);
	if (rc)
		return rc;
	rc = migrations_scan(dir, true, &ms, errs);
	if (rc)
		return rc;
	rc = optreg_sql_exec_at(conn, "SELECT pg_advisory_lock($1::bigint)", 1,
				key, PGRES_TUPLES_OK, NULL, NULL, errs);
	if (rc) {
		migrations_release(&ms);
		return rc;
	}
	rc = migrate_locked(conn, &ms, log, errs);
	/* A failure past the lock leaves the session idle (rolled back), so
	 * the unlock can run; on a lost connection the lock is gone anyway. */
	if (PQstatus(conn) == CONNECTION_OK)
		PQclear(PQexecParams(conn,
				     "SELECT pg_advisory_unlock($1::bigint)", 1,
				     NULL, key, NULL, NULL, 0));
	migrations_release(&ms);
	return rc;
}

int optreg_migrate_pending(PGconn *conn, const char *dir, int *pending,
			   struct optreg_errors *errs)
{
	PGresult *applied = NULL;
	struct migrations ms;
	bool exists = false;
	int rc, n = 0;

	*pending = 0;
	rc = conn_check(conn, errs);
	if (rc)
		return rc;
	rc = migrations_scan(dir, false, &ms, errs);
	if (rc)
		return rc;
	rc = migrations_table_exists(conn, &exists, errs);
	if (!rc && exists)
		rc = migrations_table_readable(conn, errs);
	if (!rc && exists)
		rc = optreg_sql_exec_at(
			conn, "SELECT version FROM schema_migrations", 0, NULL,
			PGRES_TUPLES_OK, &applied, NULL, errs);
	if (!rc) {
		for (size_t i = 0; i < ms.len; i++)
			if (!applied ||
			    applied_row(applied, ms.items[i].version) < 0)
				n++;
		*pending = n;
	}
	PQclear(applied);
	migrations_release(&ms);
	return rc;
}

char *optreg_migrations_dir(void)
{
	return optreg_path_beside_exe("OPTREG_MIGRATIONS", "../migrations",
				      OPTREG_PATH_DIR, 1, "migrations");
}
