/*
 * registry/pool.h: the PostgreSQL connection pool of optreg-server, which
 * heals itself: broken connections are reset, and while PostgreSQL is down
 * requests are answered at once instead of queueing on connects.
 */
#ifndef OPTREG_POOL_H
#define OPTREG_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>

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
PGconn *optreg_pool_get(struct optreg_db *db, int timeout_ms);

/* Returns a connection. `broken` (e.g. after a connection-level error)
 * makes the pool reset it before its next use. A connection left inside a
 * transaction is rolled back; one left busy (results not read) is treated
 * as broken. NULL is a no-op. */
void optreg_pool_put(struct optreg_db *db, PGconn *conn, bool broken);

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

#endif
