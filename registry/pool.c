/*
 * registry/pool.c: the connection pool (see pool.h for the contracts).
 *
 * The pool is a fixed array of slots guarded by one mutex; a borrower owns
 * its slot until release, and does every blocking libpq call (connect,
 * rollback) outside the mutex, so one slow connect never holds up the
 * other request threads (conn_alive, under it, only polls). A slot's `conn` is
 * only written under the mutex, by the thread that has the slot borrowed.
 *
 * The watchdog (when the limits give a hold_ms) looks at the borrowed
 * slots every WATCHDOG_TICK_MS: a borrow past its deadline has its socket
 * shut down (never closed: the fd stays the borrower's until it calls
 * PQfinish, after taking it out of the slot under the mutex, so the
 * watchdog cannot hit a reused descriptor).
 *
 * A borrow has two times: its deadline (the earlier of its own start +
 * hold_ms and its request's deadline), where it is cut, and its stall
 * time, its own start + two thirds of hold_ms: a borrow cut after that
 * long without an answer is evidence that the database hangs, and marks
 * the pool stalled. A request that queued long for a worker is cut at its
 * deadline without that: its short borrow says nothing about the database,
 * and must not make other requests fail at once. (Not the whole hold_ms:
 * a request always starts a little before its borrow, so its deadline
 * comes first and a hung database would never count as stalled.)
 */
#include "pool.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../common/buf.h"
#include "conninfo.h"
#include "sql.h"

/* After a failed connect, acquire answers NULL without trying for this
 * long: while PostgreSQL is down, a burst of requests costs one attempt. */
#define DB_RETRY_HOLDOFF_MS 250
#define WATCHDOG_TICK_MS    50
/* A cut borrow that ran this share of hold_ms marks the pool stalled. */
#define STALL_SHARE_NUM 2
#define STALL_SHARE_DEN 3

struct db_slot {
	PGconn *conn; /* NULL: not connected (yet, or since a failure) */
	bool busy;    /* lent out */
	/* Set by optreg_conninfo_notice, on the thread using `conn`. */
	bool goodbye;
	/* While borrowed with a connection: its socket, for the watchdog
	 * (-1: none), the borrow's deadline (0: none), its stall time (a cut
	 * from then on marks the pool stalled), and whether the watchdog cut
	 * it. */
	int fd;
	int64_t deadline_ms, stall_at_ms;
	bool cut;
};

struct optreg_db {
	struct optreg_conninfo params;
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a slot was returned */
	int size;
	int busy;
	struct db_slot *slots;
	int64_t retry_at_ms; /* no connect attempts before this */
	struct optreg_db_counters counters;

	struct optreg_db_limits limits;
	/* Stalled: a borrow was cut past its stall time (see the top);
	 * cleared by the next successful connect.
	 * `probing`: a borrower is connecting to find out. */
	bool stalled, probing;
	bool watchdog_on, watchdog_stop;
	pthread_t watchdog;
	pthread_cond_t watchdog_wake;
};

int optreg_db_open(struct optreg_db **out, const char *conninfo, int size)
{
	struct optreg_db *db;
	pthread_condattr_t attr;
	int rc;

	*out = NULL;
	if (size < 1)
		return OPTREG_EINVAL;
	db = optreg_xcalloc(1, sizeof(*db));
	rc = optreg_conninfo_parse(&db->params, conninfo);
	if (rc) {
		free(db);
		return rc;
	}
	db->size = size;
	db->slots = optreg_xcalloc((size_t)size, sizeof(*db->slots));
	pthread_mutex_init(&db->lock, NULL);
	/* Timed waits run on the monotonic clock, immune to clock steps. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&db->freed, &attr);
	pthread_cond_init(&db->watchdog_wake, &attr);
	pthread_condattr_destroy(&attr);
	for (int i = 0; i < size; i++)
		db->slots[i].fd = -1;
	*out = db;
	return 0;
}

void optreg_db_close(struct optreg_db *db)
{
	if (!db)
		return;
	assert(db->busy == 0);
	if (db->watchdog_on) {
		pthread_mutex_lock(&db->lock);
		db->watchdog_stop = true;
		pthread_cond_signal(&db->watchdog_wake);
		pthread_mutex_unlock(&db->lock);
		pthread_join(db->watchdog, NULL);
	}
	for (int i = 0; i < db->size; i++)
		PQfinish(db->slots[i].conn);
	free(db->slots);
	pthread_cond_destroy(&db->freed);
	pthread_cond_destroy(&db->watchdog_wake);
	pthread_mutex_destroy(&db->lock);
	optreg_conninfo_release(&db->params);
	free(db);
}

static struct timespec ms_from_now(int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Cuts the borrows past their deadline (see the top of the file). */
static void *watchdog_main(void *arg)
{
	struct optreg_db *db = arg;

	pthread_mutex_lock(&db->lock);
	while (!db->watchdog_stop) {
		struct timespec tick = ms_from_now(WATCHDOG_TICK_MS);
		int64_t now;

		pthread_cond_timedwait(&db->watchdog_wake, &db->lock, &tick);
		now = optreg_conninfo_now_ms();
		for (int i = 0; i < db->size; i++) {
			struct db_slot *s = &db->slots[i];

			if (!s->busy || s->fd < 0 || s->cut ||
			    !s->deadline_ms || now < s->deadline_ms)
				continue;
			/* Wakes the libpq call blocked on it: it reads EOF. */
			shutdown(s->fd, SHUT_RDWR);
			s->cut = true;
			db->counters.cut++;
			/* Only a borrow that waited most of its hold_ms is
			 * evidence of a hung database; one cut early because
			 * its request queued long is not. */
			if (now >= s->stall_at_ms)
				db->stalled = true;
		}
	}
	pthread_mutex_unlock(&db->lock);
	return NULL;
}

void optreg_db_set_limits(struct optreg_db *db,
			  const struct optreg_db_limits *limits)
{
	struct optreg_buf opts = OPTREG_BUF_INIT;

	db->limits = *limits;
	if (limits->statement_timeout_ms > 0)
		optreg_buf_addf(&opts, " -c statement_timeout=%d",
				limits->statement_timeout_ms);
	if (limits->lock_timeout_ms > 0)
		optreg_buf_addf(&opts, " -c lock_timeout=%d",
				limits->lock_timeout_ms);
	if (limits->idle_in_transaction_ms > 0)
		optreg_buf_addf(&opts,
				" -c idle_in_transaction_session_timeout=%d",
				limits->idle_in_transaction_ms);
	if (opts.len)
		optreg_conninfo_add_options(&db->params, opts.data + 1);
	optreg_buf_release(&opts);
	if (limits->hold_ms > 0 && !db->watchdog_on &&
	    pthread_create(&db->watchdog, NULL, watchdog_main, db) == 0)
		db->watchdog_on = true;
}

/*
 * Reads whatever an idle connection has pending without blocking. An idle
 * session has nothing to say, so anything readable is a notice, a
 * notification, or the server's goodbye (a FATAL, then EOF). Returns true
 * when the connection is still usable.
 */
static bool conn_alive(PGconn *conn, const bool *goodbye)
{
	struct pollfd p;
	PGnotify *n;

	if (PQstatus(conn) != CONNECTION_OK || *goodbye)
		return false;
	for (int i = 0; i < 8; i++) {
		p.fd = PQsocket(conn);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd < 0)
			return false;
		if (poll(&p, 1, 0) <= 0)
			break;
		if (p.revents & POLLNVAL)
			return false;
		if (!PQconsumeInput(conn))
			return false;
		/* Parses what came in: a FATAL sets *goodbye. */
		while ((n = PQnotifies(conn)))
			PQfreemem(n);
	}
	return PQstatus(conn) == CONNECTION_OK && !*goodbye;
}

/* Makes a connection that a borrower left behind ready for the next one:
 * rolls back an open transaction. False when it must be discarded. */
static bool conn_settle(PGconn *conn)
{
	PGresult *res;
	bool ok;

	if (PQstatus(conn) != CONNECTION_OK)
		return false;
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		return false;
	switch (PQtransactionStatus(conn)) {
	case PQTRANS_IDLE:
		return true;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		res = PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL,
				   0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
		     PQtransactionStatus(conn) == PQTRANS_IDLE;
		PQclear(res);
		return ok;
	default:
		/* ACTIVE: results were left unread; UNKNOWN: broken. */
		return false;
	}
}

/* Gives a borrowed slot back with `conn` (possibly NULL) in it. */
static void slot_return(struct optreg_db *db, struct db_slot *s, PGconn *conn)
{
	pthread_mutex_lock(&db->lock);
	s->conn = conn;
	s->busy = false;
	s->fd = -1;
	s->deadline_ms = 0;
	s->stall_at_ms = 0;
	s->cut = false;
	db->busy--;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
}

/* The deadline of the calling thread's request (0: none); see
 * optreg_pool_request_begin. */
static _Thread_local int64_t request_deadline_ms;

void optreg_pool_request_begin(struct optreg_db *db, int64_t start_ms)
{
	request_deadline_ms =
		db->limits.hold_ms > 0 ? start_ms + db->limits.hold_ms : 0;
}

void optreg_pool_request_end(void)
{
	request_deadline_ms = 0;
}

/* -1: borrowing is allowed; else the borrows refused since
 * optreg_pool_forbid_begin. */
static _Thread_local int forbidden = -1;

void optreg_pool_forbid_begin(void)
{
	forbidden = 0;
}

int optreg_pool_forbid_end(void)
{
	int n = forbidden;

	forbidden = -1;
	return n < 0 ? 0 : n;
}

/* Marks borrowed slot `s` as holding `conn` until `deadline_ms`, for a
 * borrow whose stall time is `stall_at_ms`. Called with the lock
 * held. */
static void slot_arm(struct db_slot *s, PGconn *conn, int64_t deadline_ms,
		     int64_t stall_at_ms)
{
	s->conn = conn;
	s->fd = PQsocket(conn);
	s->deadline_ms = deadline_ms;
	s->stall_at_ms = stall_at_ms;
	s->cut = false;
}

PGconn *optreg_pool_get(struct optreg_db *db, int timeout_ms)
{
	struct db_slot *s = NULL;
	struct timespec deadline;
	int64_t start = optreg_conninfo_now_ms(), until = 0, stall_at = 0;
	PGconn *conn;
	bool may_connect, probe = false;

	if (forbidden >= 0) {
		forbidden++;
		return NULL;
	}
	if (db->limits.hold_ms > 0) {
		until = start + db->limits.hold_ms;
		stall_at = start + (int64_t)db->limits.hold_ms *
					   STALL_SHARE_NUM / STALL_SHARE_DEN;
		if (request_deadline_ms && request_deadline_ms < until)
			until = request_deadline_ms;
		if (until <= start) {
			/* The request's time is up (it queued too long). */
			pthread_mutex_lock(&db->lock);
			db->counters.timeouts++;
			pthread_mutex_unlock(&db->lock);
			return NULL;
		}
		if (timeout_ms > until - start)
			timeout_ms = (int)(until - start);
	}
	deadline = ms_from_now(timeout_ms > 0 ? timeout_ms : 0);

	pthread_mutex_lock(&db->lock);
	if (db->stalled && db->probing) {
		/* Someone is finding out whether it is back: do not queue. */
		db->counters.stalled++;
		db->counters.unavailable++;
		pthread_mutex_unlock(&db->lock);
		return NULL;
	}
	while (db->busy == db->size && timeout_ms > 0)
		if (pthread_cond_timedwait(&db->freed, &db->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	if (db->busy == db->size) {
		db->counters.timeouts++;
		pthread_mutex_unlock(&db->lock);
		return NULL;
	}
	if (db->stalled) {
		if (db->probing) {
			db->counters.stalled++;
			db->counters.unavailable++;
			pthread_mutex_unlock(&db->lock);
			return NULL;
		}
		/* This borrower probes: a fresh connect, bounded by `until`;
		 * the open connections may hang on the same server. */
		db->probing = probe = true;
	}
	/* Prefer a slot with an open connection; else an empty one. */
	for (int i = 0; i < db->size; i++) {
		struct db_slot *c = &db->slots[i];
		if (c->busy)
			continue;
		if (!s || (!s->conn && c->conn))
			s = c;
		if (s->conn)
			break;
	}
	assert(s);
	s->busy = true;
	db->busy++;
	conn = s->conn;
	may_connect = probe || optreg_conninfo_now_ms() >= db->retry_at_ms;
	if (conn && !probe && conn_alive(conn, &s->goodbye)) {
		/* conn_alive does not block: it only polls with timeout 0. */
		slot_arm(s, conn, until, stall_at);
		db->counters.acquired++;
		pthread_mutex_unlock(&db->lock);
		return conn;
	}
	/* Take the old connection out of the slot before it may be freed:
	 * release() finds slots by pointer. */
	s->conn = NULL;
	pthread_mutex_unlock(&db->lock);

	PQfinish(conn); /* closing a socket does not wait on the server */
	conn = NULL;
	s->goodbye = false;
	if (may_connect)
		conn = optreg_conninfo_connect_until(&db->params, &s->goodbye,
						     until);
	/* Statements are prepared on the pool's connections (sql.h). */
	optreg_sql_conn_init(conn);

	pthread_mutex_lock(&db->lock);
	if (may_connect)
		db->counters.connects++;
	if (probe)
		db->probing = false;
	if (conn) {
		db->stalled = false;
		db->counters.acquired++;
		slot_arm(s, conn, until, stall_at);
		pthread_mutex_unlock(&db->lock);
		return conn;
	}
	if (may_connect)
		db->retry_at_ms =
			optreg_conninfo_now_ms() + DB_RETRY_HOLDOFF_MS;
	db->counters.unavailable++;
	pthread_mutex_unlock(&db->lock);
	slot_return(db, s, NULL);
	return NULL;
}

void optreg_pool_put(struct optreg_db *db, PGconn *conn, bool broken)
{
	struct db_slot *s = NULL;

	if (!conn)
		return;
	pthread_mutex_lock(&db->lock);
	for (int i = 0; i < db->size && !s; i++)
		if (db->slots[i].busy && db->slots[i].conn == conn)
			s = &db->slots[i];
	pthread_mutex_unlock(&db->lock);
	/* Not ours: a caller bug; leave the connection to its owner. */
	assert(s && "released a connection the pool did not lend");
	if (!s)
		return;

	pthread_mutex_lock(&db->lock);
	if (s->cut)
		broken = true;
	else if (broken && optreg_db_conn_timed_out(conn))
		/* Only out of time on the server's side (statement_timeout,
		 * lock_timeout): the session is sound, and the ROLLBACK
		 * below is all it needs. */
		broken = false;
	pthread_mutex_unlock(&db->lock);
	if (!broken)
		broken = !conn_settle(conn);
	if (broken) {
		pthread_mutex_lock(&db->lock);
		s->conn = NULL; /* before the pointer dangles */
		s->fd = -1;
		db->counters.discarded++;
		pthread_mutex_unlock(&db->lock);
		PQfinish(conn);
		conn = NULL;
	}
	slot_return(db, s, conn);
}

void optreg_db_stats(struct optreg_db *db, int *in_use, int *idle, int *size)
{
	int open = 0;

	pthread_mutex_lock(&db->lock);
	for (int i = 0; i < db->size; i++)
		if (!db->slots[i].busy && db->slots[i].conn)
			open++;
	if (in_use)
		*in_use = db->busy;
	if (idle)
		*idle = open;
	if (size)
		*size = db->size;
	pthread_mutex_unlock(&db->lock);
}

bool optreg_db_stalled(struct optreg_db *db)
{
	bool stalled;

	pthread_mutex_lock(&db->lock);
	stalled = db->stalled;
	pthread_mutex_unlock(&db->lock);
	return stalled;
}

void optreg_db_counters_get(struct optreg_db *db,
			    struct optreg_db_counters *out)
{
	pthread_mutex_lock(&db->lock);
	*out = db->counters;
	pthread_mutex_unlock(&db->lock);
}
