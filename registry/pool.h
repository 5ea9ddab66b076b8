/*
 * registry/pool.h: the PostgreSQL connection pool of optreg-server, which
 * heals itself: broken connections are reset, and while PostgreSQL is down
 * requests are answered at once instead of queueing on connects.
 */
#ifndef OPTREG_POOL_H
#define OPTREG_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

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
/*
 * How long the database may make a request wait. The first three are
 * PostgreSQL's own settings, given to each pooled session at connect (in
 * `options`, before any the conninfo or $PGOPTIONS gives, so an operator's
 * own -c settings win): statement_timeout, lock_timeout and
 * idle_in_transaction_session_timeout, in milliseconds (0: PostgreSQL's
 * default, i.e. none). They are enforced by the server, so they do nothing
 * when the server itself is stopped or unreachable; `hold_ms` is the
 * client-side bound for that case: one borrow (the wait for a free
 * connection, connecting, and every statement until the connection is
 * returned) lasts at most `hold_ms`. Past it the pool's watchdog shuts the
 * connection's socket down, so the libpq call blocked on it fails at once
 * (the borrower sees a lost connection and answers 503). When the borrow
 * had itself waited two thirds of `hold_ms` or more (not one cut early by
 * its request's deadline, see optreg_pool_request_begin), the pool counts
 * the database as stalled: until a fresh connection succeeds, one borrower
 * at a time tries to connect and the others get NULL at once.
 * `hold_ms` 0: no client-side bound (the default, for migrations and
 * tools).
 */
struct optreg_db_limits {
	int statement_timeout_ms;
	int lock_timeout_ms;
	int idle_in_transaction_ms;
	int hold_ms;
};

/* Sets the limits; call it once, after optreg_db_open and before the first
 * optreg_pool_get. With `hold_ms` > 0 it starts the watchdog thread (which
 * optreg_db_close stops). */
void optreg_db_set_limits(struct optreg_db *db,
			  const struct optreg_db_limits *limits);

/* Closes every connection and frees the pool; none may be borrowed. NULL is
 * a no-op. */
void optreg_db_close(struct optreg_db *db);

/*
 * Borrows a healthy connection, waiting up to `timeout_ms` (0 or less: not
 * at all; never longer than the limits' `hold_ms`) for one to be free. A
 * connection found broken is replaced by a new one before use. Returns NULL
 * when PostgreSQL cannot be reached: the caller answers 503. Connecting is not
 * counted in `timeout_ms` (it is bounded by connect_timeout and by `hold_ms`
 * from the call), and after a failed connect the pool answers NULL at once for
 * 250 ms instead of making every waiting request try again.
 *
 * Callers must not leave session state behind (SET, LISTEN, prepared
 * statements under generated names): the next borrower inherits it.
 */
PGconn *optreg_pool_get(struct optreg_db *db, int timeout_ms);

/*
 * Bounds the borrows of the calling thread's request as a whole: until
 * optreg_pool_request_end, no optreg_pool_get on this thread lasts past
 * `start_ms` + the limits' hold_ms (`start_ms` on the CLOCK_MONOTONIC
 * clock, in milliseconds: when the request arrived), so time spent queued
 * for a worker counts, and a request whose time is up gets NULL at once.
 * A borrow cut at this deadline, before two thirds of its own hold_ms, does
 * not count the database as stalled. No effect without a hold_ms.
 */
void optreg_pool_request_begin(struct optreg_db *db, int64_t start_ms);
void optreg_pool_request_end(void);

/*
 * Between these two calls optreg_pool_get on this thread returns NULL at
 * once: for code that must never wait on the database (the HTTP layer's
 * I/O threads). _end returns how many borrows were refused meanwhile.
 */
void optreg_pool_forbid_begin(void);
int optreg_pool_forbid_end(void);

/* Returns a connection. `broken` (e.g. after a connection-level error)
 * makes the pool reset it before its next use, unless the last error on it
 * was only a server-side timeout (optreg_db_conn_timed_out). A connection left
 * inside a transaction is rolled back; one left busy (results not read) is
 * treated as broken. NULL is a no-op. */
void optreg_pool_put(struct optreg_db *db, PGconn *conn, bool broken);

/* Pool gauges for /metrics: connections borrowed, connections open and not
 * borrowed, and the maximum. Any pointer may be NULL. */
void optreg_db_stats(struct optreg_db *db, int *in_use, int *idle, int *size);

/* True while the pool counts the database as stalled (see
 * optreg_db_limits), for /metrics. */
bool optreg_db_stalled(struct optreg_db *db);

/* Pool counters for /metrics; they only grow. */
struct optreg_db_counters {
	unsigned long long acquired;	/* connections lent out */
	unsigned long long timeouts;	/* no free connection within timeout */
	unsigned long long unavailable; /* NULL because PostgreSQL was down */
	unsigned long long connects;	/* connect or reset attempts */
	unsigned long long discarded;	/* connections closed as broken */
	unsigned long long cut;		/* borrows cut by the watchdog */
	unsigned long long stalled;	/* NULL at once: database stalled */
};
void optreg_db_counters_get(struct optreg_db *db,
			    struct optreg_db_counters *out);

#endif
