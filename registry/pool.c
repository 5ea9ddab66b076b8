/*
 * registry/pool.c: the connection pool (see pool.h for the contracts).
 *
 * The pool is a fixed array of slots guarded by one mutex; a borrower owns
 * its slot until release, and does every blocking libpq call (connect,
 * reset, rollback) outside the mutex, so one slow connect never holds up
 * the other request threads. A slot's `conn` is only written under the
 * mutex, by the thread that has the slot borrowed.
 */
#include "pool.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/buf.h"
#include "conninfo.h"

/* After a failed connect, acquire answers NULL without trying for this
 * long: while PostgreSQL is down, a burst of requests costs one attempt. */
#define DB_RETRY_HOLDOFF_MS 250

struct db_slot {
	PGconn *conn; /* NULL: not connected (yet, or since a failure) */
	bool busy;    /* lent out */
	/* Set by optreg_conninfo_notice, on the thread using `conn`. */
	bool goodbye;
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
	pthread_condattr_destroy(&attr);
	*out = db;
	return 0;
}

void optreg_db_close(struct optreg_db *db)
{
	if (!db)
		return;
	assert(db->busy == 0);
	for (int i = 0; i < db->size; i++)
		PQfinish(db->slots[i].conn);
	free(db->slots);
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->lock);
	optreg_conninfo_release(&db->params);
	free(db);
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
	db->busy--;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
}

PGconn *optreg_pool_get(struct optreg_db *db, int timeout_ms)
{
	struct db_slot *s = NULL;
	struct timespec deadline;
	PGconn *conn;
	bool may_connect;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}

	pthread_mutex_lock(&db->lock);
	while (db->busy == db->size && timeout_ms > 0)
		if (pthread_cond_timedwait(&db->freed, &db->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	if (db->busy == db->size) {
		db->counters.timeouts++;
		pthread_mutex_unlock(&db->lock);
		return NULL;
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
	may_connect = optreg_conninfo_now_ms() >= db->retry_at_ms;
	pthread_mutex_unlock(&db->lock);

	if (conn && conn_alive(conn, &s->goodbye)) {
		pthread_mutex_lock(&db->lock);
		db->counters.acquired++;
		pthread_mutex_unlock(&db->lock);
		return conn;
	}
	if (conn) {
		/* Take the dead connection out of the slot before it may be
		 * freed: release() finds slots by pointer. */
		pthread_mutex_lock(&db->lock);
		s->conn = NULL;
		pthread_mutex_unlock(&db->lock);
	}
	s->goodbye = false;
	if (may_connect) {
		if (conn) {
			PQreset(conn);
			if (PQstatus(conn) != CONNECTION_OK) {
				PQfinish(conn);
				conn = NULL;
			}
		} else {
			conn = optreg_conninfo_connect(&db->params,
						       &s->goodbye);
		}
	} else if (conn) {
		PQfinish(conn);
		conn = NULL;
	}

	pthread_mutex_lock(&db->lock);
	if (may_connect)
		db->counters.connects++;
	if (conn) {
		db->counters.acquired++;
		s->conn = conn;
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

	if (!broken)
		broken = !conn_settle(conn);
	if (broken) {
		pthread_mutex_lock(&db->lock);
		s->conn = NULL; /* before the pointer dangles */
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

void optreg_db_counters_get(struct optreg_db *db,
			    struct optreg_db_counters *out)
{
	pthread_mutex_lock(&db->lock);
	*out = db->counters;
	pthread_mutex_unlock(&db->lock);
}
