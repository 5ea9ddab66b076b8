/*
 * registry/migrate.h: the migration runner: applies the numbered SQL files
 * of a directory, each once, and says how many are pending.
 */
#ifndef OPTREG_MIGRATE_H
#define OPTREG_MIGRATE_H

#include <libpq-fe.h>
#include <stdio.h>

#include "../common/error.h"

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
 * only; errors as for optreg_migrate_apply, and OPTREG_EDENIED
 * "database_privilege" (path "schema_migrations") when the session's role
 * may not read the table, with a hint naming the GRANT that fixes it. */
int optreg_migrate_pending(PGconn *conn, const char *dir, int *pending,
			   struct optreg_errors *errs);

/* The migrations directory: $OPTREG_MIGRATIONS, else `../migrations`
 * beside the running executable (bin/../migrations) when that is a
 * directory, else "migrations". Returns a malloc'd string. */
char *optreg_migrations_dir(void);

#endif
