/*
 * tests/unit/registry/pgtest.h: the private PostgreSQL cluster the database
 * tests run against, and small helpers to talk to it (header-only; include
 * after cmocka.h).
 *
 * The group setup starts a private cluster with `scripts/pg start` in a
 * mktemp directory (so the program runs from the repository root) and the
 * teardown removes it.
 */
#ifndef OPTREG_TEST_PGTEST_H
#define OPTREG_TEST_PGTEST_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

static char cluster_dir[] = "/tmp/optreg-db-test.XXXXXX";
static char *conninfo; /* of the private cluster, set by group_setup */

static inline int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Re-evaluates `cond` every 10 ms until it holds or `ms` have passed. */
#define WAIT_UNTIL(cond, ms)                                                   \
	do {                                                                   \
		int64_t end_ = now_ms() + (ms);                                \
		while (!(cond) && now_ms() < end_)                             \
			sleep_ms(10);                                          \
	} while (0)

/*
 * Runs `scripts/pg CMD <cluster_dir>`; returns its exit status and, when
 * `line` is not NULL, its first output line (malloc'd, or NULL).
 */
static inline int pg_run(const char *cmd, char **line)
{
	char *sh = optreg_xasprintf("scripts/pg %s '%s'", cmd, cluster_dir);
	char buf[1024];
	FILE *f = popen(sh, "r");
	bool got;

	free(sh);
	if (!f)
		return -1;
	got = fgets(buf, sizeof(buf), f) != NULL;
	while (fgetc(f) != EOF)
		;
	int status = pclose(f);
	if (line) {
		*line = NULL;
		if (got) {
			buf[strcspn(buf, "\n")] = '\0';
			*line = optreg_xstrdup(buf);
		}
	}
	return status;
}

static inline int group_setup(void **state)
{
	(void)state;
	if (access("scripts/pg", X_OK)) {
		fprintf(stderr, "# scripts/pg not found: run the test from "
				"the repository root\n");
		return -1;
	}
	if (!mkdtemp(cluster_dir)) {
		perror("# mkdtemp");
		return -1;
	}
	if (pg_run("start", &conninfo) != 0 || !conninfo) {
		fprintf(stderr, "# scripts/pg start %s failed\n", cluster_dir);
		pg_run("stop", NULL);
		rmdir(cluster_dir);
		return -1;
	}
	return 0;
}

static inline int group_teardown(void **state)
{
	(void)state;
	int rc = pg_run("stop", NULL);
	free(conninfo);
	return rc == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------ */

static inline PGconn *connect_direct(void)
{
	PGconn *c = PQconnectdb(conninfo);

	assert_non_null(c);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

/* Runs fixed test SQL (several statements allowed) and requires success. */
static inline void exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
}

/* The first column of the first row as a malloc'd string; "(null)" for a
 * SQL NULL, "(none)" for no rows. */
static inline char *query_value(PGconn *c, const char *sql)
{
	PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
	char *v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	if (PQntuples(res) == 0)
		v = optreg_xstrdup("(none)");
	else if (PQgetisnull(res, 0, 0))
		v = optreg_xstrdup("(null)");
	else
		v = optreg_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static inline void assert_query(PGconn *c, const char *sql, const char *want)
{
	char *v = query_value(c, sql);

	if (strcmp(v, want))
		fail_msg("%s: got \"%s\", want \"%s\"", sql, v, want);
	free(v);
}

/* A direct connection whose search_path is a new schema `name`. */
static inline PGconn *schema_conn(const char *name)
{
	PGconn *c = connect_direct();
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
		 "SET search_path TO %s",
		 name, name, name);
	exec_ok(c, "SET client_min_messages TO warning");
	exec_ok(c, sql);
	return c;
}

#endif
