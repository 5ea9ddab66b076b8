/*
 * registry/listener.c: the LISTEN thread (see listener.h for the
 * contracts). It waits on its connection's socket and a self-pipe at once,
 * so stopping it is prompt even while it connects.
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "conninfo.h"

/* Listener reconnect backoff. */
#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 2000

struct optreg_db_listener {
	struct optreg_conninfo params;
	char *channel;
	void (*on_notify)(const char *payload, void *ctx);
	void (*on_reset)(void *ctx);
	void *ctx;
	pthread_t thread;
	/* Self-pipe: stop writes one byte and nobody reads it, so wake[0]
	 * stays readable and every later poll returns at once. */
	int wake[2];
	atomic_bool healthy;
};

/* Waits up to `ms` (-1: forever) for `fd` (none when < 0) to have
 * `events`, or for stop. Returns 1 when fd is ready, 0 on timeout, -1 when
 * stop was asked for. */
static int listen_wait(struct optreg_db_listener *l, int fd, short events,
		       int ms)
{
	struct pollfd p[2] = {{l->wake[0], POLLIN, 0}, {fd, events, 0}};
	int64_t end = optreg_conninfo_now_ms() + (ms > 0 ? ms : 0);

	for (;;) {
		int left = -1;
		if (ms >= 0) {
			int64_t d = end - optreg_conninfo_now_ms();
			left = d > 0 ? (int)d : 0;
		}
		int rc = poll(p, fd >= 0 ? 2 : 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (p[0].revents)
			return -1;
		/* A poll error is left to libpq to discover on the socket. */
		return rc == 0 ? 0 : 1;
	}
}

/* Runs one statement without blocking stop. True when it succeeded. */
static bool listen_exec(struct optreg_db_listener *l, PGconn *conn,
			const char *sql)
{
	PGresult *res;
	bool ok = true;

	if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return false;
	for (;;) {
		while (PQisBusy(conn)) {
			if (listen_wait(l, PQsocket(conn), POLLIN, -1) < 0)
				return false;
			if (!PQconsumeInput(conn))
				return false;
		}
		res = PQgetResult(conn);
		if (!res)
			return ok;
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ok = false;
		PQclear(res);
	}
}

/* Connects (asynchronously, so stop is noticed at once, within
 * connect_timeout in all) and listens. NULL on failure or stop. */
static PGconn *listen_connect(struct optreg_db_listener *l)
{
	PGconn *conn =
		PQconnectStartParams((const char *const *)l->params.keys,
				     (const char *const *)l->params.vals, 0);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t end = optreg_conninfo_now_ms() +
		      (int64_t)l->params.connect_timeout_s * 1000;
	struct optreg_buf sql = OPTREG_BUF_INIT;
	char *id;

	if (!conn || PQstatus(conn) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		int left = -1;

		if (st == PGRES_POLLING_FAILED)
			goto fail;
		if (l->params.connect_timeout_s > 0) {
			int64_t d = end - optreg_conninfo_now_ms();
			if (d <= 0)
				goto fail;
			left = (int)d;
		}
		if (listen_wait(l, PQsocket(conn),
				st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				left) != 1)
			goto fail;
		st = PQconnectPoll(conn);
	}
	PQsetNoticeReceiver(conn, optreg_conninfo_notice, NULL);

	id = PQescapeIdentifier(conn, l->channel, strlen(l->channel));
	if (!id)
		goto fail;
	optreg_buf_addf(&sql, "LISTEN %s", id);
	PQfreemem(id);
	if (!listen_exec(l, conn, sql.data))
		goto fail;
	optreg_buf_release(&sql);
	return conn;

fail:
	optreg_buf_release(&sql);
	PQfinish(conn);
	return NULL;
}

/* Delivers notifications until the connection is lost (false) or stop is
 * asked for (true). */
static bool listen_loop(struct optreg_db_listener *l, PGconn *conn)
{
	PGnotify *n;

	for (;;) {
		while ((n = PQnotifies(conn))) {
			if (l->on_notify)
				l->on_notify(n->extra, l->ctx);
			PQfreemem(n);
		}
		if (listen_wait(l, PQsocket(conn), POLLIN, -1) < 0)
			return true;
		if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
			return false;
	}
}

static void *listen_main(void *arg)
{
	struct optreg_db_listener *l = arg;
	int backoff = LISTEN_BACKOFF_MIN_MS;

	for (;;) {
		PGconn *conn = listen_connect(l);
		int wait_ms = backoff;

		if (conn) {
			/* Listening again: what came while down is lost. */
			if (l->on_reset)
				l->on_reset(l->ctx);
			atomic_store(&l->healthy, true);
			bool stop = listen_loop(l, conn);
			atomic_store(&l->healthy, false);
			PQfinish(conn);
			if (stop)
				break;
			backoff = LISTEN_BACKOFF_MIN_MS;
			wait_ms = backoff;
		} else {
			backoff = backoff * 2 > LISTEN_BACKOFF_MAX_MS
					  ? LISTEN_BACKOFF_MAX_MS
					  : backoff * 2;
		}
		if (listen_wait(l, -1, 0, wait_ms) < 0)
			break;
	}
	return NULL;
}

int optreg_db_listen_start(struct optreg_db_listener **out,
			   const char *conninfo, const char *channel,
			   void (*on_notify)(const char *payload, void *ctx),
			   void (*on_reset)(void *ctx), void *ctx)
{
	struct optreg_db_listener *l;
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!channel || !*channel)
		return OPTREG_EINVAL;
	l = optreg_xcalloc(1, sizeof(*l));
	rc = optreg_conninfo_parse(&l->params, conninfo);
	if (rc) {
		free(l);
		return rc;
	}
	l->channel = optreg_xstrdup(channel);
	l->on_notify = on_notify;
	l->on_reset = on_reset;
	l->ctx = ctx;
	atomic_init(&l->healthy, false);
	if (pipe(l->wake) < 0)
		goto fail_pipe;
	for (int i = 0; i < 2; i++)
		fcntl(l->wake[i], F_SETFD, FD_CLOEXEC);

	/* Signals belong to the process's main thread, not to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&l->thread, NULL, listen_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(l->wake[0]);
		close(l->wake[1]);
		goto fail_pipe;
	}
	*out = l;
	return 0;

fail_pipe:
	optreg_conninfo_release(&l->params);
	free(l->channel);
	free(l);
	return OPTREG_ENOMEM;
}

void optreg_db_listen_stop(struct optreg_db_listener *l)
{
	const char c = 1;
	ssize_t w;

	if (!l)
		return;
	do
		w = write(l->wake[1], &c, 1);
	while (w < 0 && errno == EINTR);
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	optreg_conninfo_release(&l->params);
	free(l->channel);
	free(l);
}

bool optreg_db_listen_healthy(struct optreg_db_listener *l)
{
	return l && atomic_load(&l->healthy);
}
