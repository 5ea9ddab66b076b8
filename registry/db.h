/*
 * registry/db.h: the PostgreSQL side of optreg-server: a connection pool
 * that heals itself, the migration runner, and a LISTEN thread.
 *
 * All SQL elsewhere goes through PQexecParams on a pooled connection; this
 * module never builds SQL from values.
 */
#ifndef OPTREG_DB_H
#define OPTREG_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>

#include "../common/buf.h"
#include "../common/error.h"

struct optreg_db;

/*
 * Opens a pool of up to `size` connections to `conninfo` (connections are
 * made lazily; opening succeeds even when the database is down). `conninfo`
 * is a libpq keyword string or URI; where it does not say otherwise (nor the
 * option's PG* environment variable), connect_timeout=2 and TCP keepalives
 * (idle 30 s, interval 10 s, count 3) are added, so a dead server costs an
 * acquire at most about two seconds. OPTREG_EINVAL when `conninfo` does not
 * parse or `size` < 1. Notices on pooled connections are discarded.
 */
int optreg_db_open(struct optreg_db **db, const char *conninfo, int size);
/* Closes every connection and frees the pool; none may be borrowed. NULL is
 * a no-op. */
void optreg_db_close(struct optreg_db *db);

/*
 * Borrows a healthy connection, waiting up to `timeout_ms` (0 or less: not
 * at all) for one to be free. A connection found broken is reset (PQreset)
 * before use. Returns NULL when PostgreSQL cannot be reached: the caller
 * answers 503. Connecting is not counted in `timeout_ms` (it is bounded by
 * connect_timeout), and after a failed connect the pool answers NULL at once
 * for 250 ms instead of making every waiting request try again.
 *
 * Callers must not leave session state behind (SET, LISTEN, prepared
 * statements under generated names): the next borrower inherits it.
 */
PGconn *optreg_db_acquire(struct optreg_db *db, int timeout_ms);

/* Returns a connection. `broken` (e.g. after a connection-level error)
 * makes the pool reset it before its next use. A connection left inside a
 * transaction is rolled back; one left busy (results not read) is treated
 * as broken. NULL is a no-op. */
void optreg_db_release(struct optreg_db *db, PGconn *conn, bool broken);

/* Pool gauges for /metrics: connections borrowed, connections open and not
 * borrowed, and the maximum. Any pointer may be NULL. */
void optreg_db_stats(struct optreg_db *db, int *in_use, int *idle, int *size);

/* Pool counters for /metrics; they only grow. */
struct optreg_db_counters {
	unsigned long long acquired;	/* connections lent out */
	unsigned long long timeouts;	/* no free connection within timeout */
	unsigned long long unavailable; /* NULL because PostgreSQL was down */
	unsigned long long connects;	/* connect or reset attempts */
	unsigned long long discarded;	/* connections closed as broken */
};
void optreg_db_counters_get(struct optreg_db *db,
			    struct optreg_db_counters *out);

/* True when the result's connection failed (not a SQL error): the caller
 * releases the connection as broken and answers 503. */
bool optreg_db_conn_failed(PGconn *conn, const PGresult *res);

/*
 * Migrations: files `NNNN_name.sql` (4 or more digits) in `dir`, applied in
 * version order, each once, inside its own transaction together with its
 * row in schema_migrations (version, name = the file name, checksum = hex
 * SHA-256 of the file, applied_at); the table is created when missing. A
 * session advisory lock keeps two migrators apart. Each applied file is
 * logged to `log` (may be NULL) as "applied 0001_init.sql". Files must not
 * hold BEGIN/COMMIT; other files in `dir` (README, hidden) are ignored.
 *
 * Errors, each with the file name as `path`:
 *   OPTREG_EINVAL "migration_changed": an applied file's checksum changed;
 *     nothing is applied.
 *   OPTREG_EINVAL "migration_failed": PostgreSQL refused a file; message,
 *     detail and hint are PostgreSQL's, line/col where it gave a position.
 *     That file's transaction is rolled back (nothing of it remains); files
 *     before it stay applied, later ones are not tried.
 *   OPTREG_EINVAL "migration_transaction": a file ran COMMIT or ROLLBACK
 *     itself (what it committed stays, without its row).
 *   OPTREG_EINVAL "migration_name", "migration_duplicate": a `*.sql` file
 *     with a bad name, two files with one version; nothing is applied.
 *   OPTREG_EUNAVAILABLE "database": the connection failed; path is the
 *     file being applied, if any.
 *   OPTREG_EINTERNAL "database": PostgreSQL refused the runner's own
 *     statements (lock, schema_migrations).
 *   OPTREG_EIO "migrations_dir" (path = `dir`), "migration_read": a file
 *     or `dir` cannot be read.
 *   OPTREG_EUSAGE "database": `conn` is inside a transaction; it must be
 *     idle, and is left idle.
 */
int optreg_migrate_apply(PGconn *conn, const char *dir, FILE *log,
			 struct optreg_errors *errs);

/* Counts migrations in `dir` whose version is not in schema_migrations
 * (0 = current; all of them when the table does not exist). Reads names
 * only; errors as for optreg_migrate_apply. */
int optreg_migrate_pending(PGconn *conn, const char *dir, int *pending,
			   struct optreg_errors *errs);

/* The migrations directory: $OPTREG_MIGRATIONS, else `../migrations`
 * beside the running executable (bin/../migrations) when that is a
 * directory, else "migrations". Returns a malloc'd string. */
char *optreg_migrations_dir(void);

/*
 * Starts a thread holding its own connection with LISTEN `channel`, calling
 * `on_notify(payload, ctx)` for each notification and `on_reset(ctx)`
 * whenever the connection was (re)established, because notifications may
 * have been missed while it was down (callers drop their caches then).
 * Both callbacks run on the listener thread (either may be NULL); on_reset
 * runs after LISTEN and before the listener reports healthy.
 * Reconnects with backoff (100 ms doubling to 2 s) forever; stopped by
 * optreg_db_listen_stop. Returns at once (the thread connects); OPTREG_EINVAL
 * for a bad conninfo or an empty channel.
 */
struct optreg_db_listener;
int optreg_db_listen_start(struct optreg_db_listener **l, const char *conninfo,
			   const char *channel,
			   void (*on_notify)(const char *payload, void *ctx),
			   void (*on_reset)(void *ctx), void *ctx);
/* Stops the thread (promptly, even while it connects) and frees `l`; no
 * callback runs after it returns. NULL is a no-op. */
void optreg_db_listen_stop(struct optreg_db_listener *l);
/* True while the listener is connected and listening (caches may be
 * trusted only then). */
bool optreg_db_listen_healthy(struct optreg_db_listener *l);

#endif
