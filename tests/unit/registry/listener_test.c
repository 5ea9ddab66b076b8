/*
 * tests/unit/registry/listener_test.c: the LISTEN thread against a real
 * PostgreSQL (tests/unit/registry/pgtest.h). The last test halts and
 * restarts the server to check that the listener and the pool heal
 * themselves.
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
#include "registry/listener.h"
#include "registry/pool.h"

#include "pgtest.h"

/* ---- listener ----------------------------------------------------------- */

struct heard {
	pthread_mutex_t lock;
	char payloads[16][64];
	int n;
	int resets;
};

static void heard_notify(const char *payload, void *ctx)
{
	struct heard *h = ctx;

	pthread_mutex_lock(&h->lock);
	if (h->n < 16)
		snprintf(h->payloads[h->n], sizeof(h->payloads[0]), "%s",
			 payload);
	h->n++;
	pthread_mutex_unlock(&h->lock);
}

static void heard_reset(void *ctx)
{
	struct heard *h = ctx;

	pthread_mutex_lock(&h->lock);
	h->resets++;
	pthread_mutex_unlock(&h->lock);
}

static int heard_count(struct heard *h)
{
	pthread_mutex_lock(&h->lock);
	int n = h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static int heard_resets(struct heard *h)
{
	pthread_mutex_lock(&h->lock);
	int n = h->resets;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* A channel name that needs quoting. */
#define CHANNEL "optreg \"test\" channel"

static void notify(PGconn *c, const char *payload)
{
	const char *params[2] = {CHANNEL, payload};
	PGresult *res = PQexecParams(c, "SELECT pg_notify($1, $2)", 2, NULL,
				     params, NULL, NULL, 0);

	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);
}

static void test_listener_receives_notifications(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct optreg_db_listener *l;
	struct optreg_db *db;

	(void)state;
	assert_int_equal(optreg_db_listen_start(&l, conninfo, "", heard_notify,
						heard_reset, &h),
			 OPTREG_EINVAL);
	assert_int_equal(optreg_db_listen_start(&l, conninfo, CHANNEL,
						heard_notify, heard_reset, &h),
			 0);
	WAIT_UNTIL(optreg_db_listen_healthy(l), 10000);
	assert_true(optreg_db_listen_healthy(l));
	assert_int_equal(heard_resets(&h), 1);

	assert_int_equal(optreg_db_open(&db, conninfo, 1), 0);
	PGconn *c = optreg_pool_get(db, 1000);
	assert_non_null(c);
	notify(c, "tag:ns/a/prod");
	notify(c, "digest:sha256:00");
	/* Notifications are sent at commit: none from a rolled-back one. */
	exec_ok(c, "BEGIN");
	notify(c, "never");
	optreg_pool_put(db, c, false);
	c = optreg_pool_get(db, 1000);
	notify(c, "");
	optreg_pool_put(db, c, false);

	WAIT_UNTIL(heard_count(&h) >= 3, 5000);
	sleep_ms(50);
	assert_int_equal(heard_count(&h), 3);
	assert_string_equal(h.payloads[0], "tag:ns/a/prod");
	assert_string_equal(h.payloads[1], "digest:sha256:00");
	assert_string_equal(h.payloads[2], "");

	int64_t t0 = now_ms();
	optreg_db_listen_stop(l);
	assert_true(now_ms() - t0 < 500);
	optreg_db_listen_stop(NULL);
	optreg_db_close(db);
}

static void test_listener_stops_promptly_when_unreachable(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct optreg_db_listener *l;

	(void)state;
	assert_int_equal(optreg_db_listen_start(&l,
						"host=/nonexistent/optreg "
						"port=5 dbname=optreg",
						CHANNEL, heard_notify,
						heard_reset, &h),
			 0);
	sleep_ms(700); /* a few failed attempts, now in backoff */
	assert_false(optreg_db_listen_healthy(l));
	int64_t t0 = now_ms();
	optreg_db_listen_stop(l);
	assert_true(now_ms() - t0 < 250);
	assert_int_equal(heard_resets(&h), 0);
}

/* ---- PostgreSQL goes away and comes back -------------------------------- */

static void test_pool_and_listener_survive_restart(void **state)
{
	struct heard h = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct optreg_db_listener *l;
	struct optreg_db *db;
	char *again = NULL;
	PGconn *c, *c2;
	int in_use, idle;

	(void)state;
	assert_int_equal(optreg_db_open(&db, conninfo, 2), 0);
	c = optreg_pool_get(db, 1000);
	c2 = optreg_pool_get(db, 1000);
	assert_non_null(c);
	assert_non_null(c2);
	optreg_pool_put(db, c, false);
	optreg_pool_put(db, c2, false);
	assert_int_equal(optreg_db_listen_start(&l, conninfo, CHANNEL,
						heard_notify, heard_reset, &h),
			 0);
	WAIT_UNTIL(optreg_db_listen_healthy(l), 10000);
	assert_int_equal(heard_resets(&h), 1);

	assert_int_equal(pg_run("halt", NULL), 0);
	WAIT_UNTIL(!optreg_db_listen_healthy(l), 5000);
	assert_false(optreg_db_listen_healthy(l));

	/* The idle connections are dead; no new one can be made. */
	int64_t t0 = now_ms();
	assert_null(optreg_pool_get(db, 1000));
	assert_true(now_ms() - t0 < 3000);
	optreg_db_stats(db, &in_use, &idle, NULL);
	assert_int_equal(in_use, 0);

	assert_int_equal(pg_run("start", &again), 0);
	assert_non_null(again);
	assert_string_equal(again, conninfo);
	free(again);

	/* The listener is back and says so: caches must be dropped. */
	WAIT_UNTIL(optreg_db_listen_healthy(l), 15000);
	assert_true(optreg_db_listen_healthy(l));
	assert_int_equal(heard_resets(&h), 2);

	/* The pool heals itself. */
	c = NULL;
	WAIT_UNTIL((c = optreg_pool_get(db, 1000)) != NULL, 10000);
	assert_non_null(c);
	assert_query(c, "SELECT 42", "42");
	notify(c, "after restart");
	optreg_pool_put(db, c, false);
	WAIT_UNTIL(heard_count(&h) >= 1, 5000);
	assert_int_equal(heard_count(&h), 1);
	assert_string_equal(h.payloads[0], "after restart");

	optreg_db_listen_stop(l);
	optreg_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listener_receives_notifications),
		cmocka_unit_test(test_listener_stops_promptly_when_unreachable),
		/* Last: it halts and restarts the server. */
		cmocka_unit_test(test_pool_and_listener_survive_restart),
	};
	return cmocka_run_group_tests_name("listener", tests, group_setup,
					   group_teardown);
}
