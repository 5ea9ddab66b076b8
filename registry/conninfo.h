/*
 * registry/conninfo.h: a libpq connection string parsed once, with
 * optreg's defaults for timeouts and keepalives filled in; shared by the
 * pool (pool.c) and the listener (listener.c). Private to registry/.
 */
#ifndef OPTREG_CONNINFO_H
#define OPTREG_CONNINFO_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/* A parsed conninfo with our defaults filled in, as the parallel
 * NULL-terminated arrays PQconnectdbParams takes. */
struct optreg_conninfo {
	char **keys;
	char **vals;
	int connect_timeout_s; /* 0: no limit */
};

/*
 * Parses `conninfo` (keywords or URI; NULL is "") into `ci`, adding where
 * neither it nor the option's PG* environment variable says otherwise
 * connect_timeout=2, TCP keepalives (idle 30 s, interval 10 s, count 3) and
 * fallback_application_name=optreg-server. OPTREG_EINVAL when it does not
 * parse. Release with optreg_conninfo_release().
 */
int optreg_conninfo_parse(struct optreg_conninfo *ci, const char *conninfo);
void optreg_conninfo_release(struct optreg_conninfo *ci);

/*
 * Puts the server options `opts` (as for libpq's `options`, e.g.
 * "-c statement_timeout=5000") before those `ci` already has (from the
 * conninfo, else $PGOPTIONS), so the caller's own -c settings win.
 */
void optreg_conninfo_add_options(struct optreg_conninfo *ci, const char *opts);

/* Connects (blocking, within connect_timeout) with
 * optreg_conninfo_notice(goodbye) as the notice receiver. NULL on failure. */
PGconn *optreg_conninfo_connect(const struct optreg_conninfo *ci,
				bool *goodbye);

/*
 * As optreg_conninfo_connect, but gives up at `deadline_ms` (on the
 * optreg_conninfo_now_ms clock) as well: the connect is polled by us, so a
 * server that accepts the socket and then never answers (stopped by
 * SIGSTOP, or hung) costs at most that long, whatever connect_timeout says
 * (libpq rounds it up to 2 s). `deadline_ms` 0: connect_timeout only.
 */
PGconn *optreg_conninfo_connect_until(const struct optreg_conninfo *ci,
				      bool *goodbye, int64_t deadline_ms);

/*
 * The notice receiver of pooled and listener connections: notices have no
 * one to be shown to and are dropped, except that a FATAL, which is how a
 * server says goodbye to an idle session (shutdown, pg_terminate_backend),
 * sets the flag `arg` points at (when not NULL): the connection is dead
 * even before its EOF arrives.
 */
void optreg_conninfo_notice(void *arg, const PGresult *res);

/* Milliseconds on the monotonic clock. */
int64_t optreg_conninfo_now_ms(void);

#endif
