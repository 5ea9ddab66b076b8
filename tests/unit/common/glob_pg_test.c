/*
 * tests/unit/common/glob_pg_test.c: the LIKE form of namespace patterns
 * against a real PostgreSQL.
 *
 * The registry filters namespaces in SQL (`name LIKE ANY ($1::text[])`
 * with the array from optreg_glob_like_array) and authorizes in C
 * (optreg_glob_match). This test starts a private cluster with
 * `scripts/pg start` (as db_test does), sends every valid pattern of up to
 * three characters over "a*?-" and every name of up to four over "ab-",
 * and requires the server's answer to equal the C matcher's on each pair,
 * both pairwise and through `LIKE ANY` of the whole array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "common/buf.h"
#include "common/glob.h"
#include "validator/names.h"

static char cluster_dir[] = "/tmp/optreg-glob-pg-test.XXXXXX";
static char *conninfo;

#define MAXN 512
static char pats[MAXN][8], names[MAXN][8];
static size_t npats, nnames;

static int pg_run(const char *cmd, char **line)
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

static int group_setup(void **state)
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
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	int rc = pg_run("stop", NULL);
	free(conninfo);
	return rc == 0 ? 0 : -1;
}

/* All strings of length 1..max over `alpha` into out[]; returns count. */
static size_t all_strings(char out[][8], size_t max, const char *alpha,
			  bool patterns)
{
	size_t n = 0, k = strlen(alpha);

	for (size_t len = 1; len <= max; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= k;
		for (size_t v = 0; v < total; v++) {
			char s[8];
			size_t x = v;
			for (size_t i = 0; i < len; i++, x /= k)
				s[i] = alpha[x % k];
			s[len] = '\0';
			if (patterns && optreg_name_check_pattern(s, "", NULL))
				continue;
			assert_true(n < MAXN);
			memcpy(out[n++], s, len + 1);
		}
	}
	return n;
}

static PGresult *exec(PGconn *c, const char *sql, int n,
		      const char *const *params)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	return res;
}

static void test_like_agrees_with_matcher(void **state)
{
	struct optreg_buf likes = OPTREG_BUF_INIT, nm = OPTREG_BUF_INIT;
	const char *pp[MAXN];
	static bool in_sql[MAXN][MAXN];
	PGconn *c;

	(void)state;
	npats = all_strings(pats, 3, "a*?-", true);
	nnames = all_strings(names, 4, "ab-", false);
	for (size_t i = 0; i < npats; i++)
		pp[i] = pats[i];
	optreg_glob_like_array(pp, npats, &likes);
	/* Names hold no array-special characters. */
	optreg_buf_addch(&nm, '{');
	for (size_t j = 0; j < nnames; j++)
		optreg_buf_addf(&nm, "%s\"%s\"", j ? "," : "", names[j]);
	optreg_buf_addch(&nm, '}');

	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));

	const char *params[2] = {likes.data, nm.data};
	PGresult *res =
		exec(c,
		     "SELECT p.i, n.j FROM unnest($1::text[]) WITH ORDINALITY "
		     "AS p(pat, i), unnest($2::text[]) WITH ORDINALITY AS "
		     "n(name, j) WHERE n.name LIKE p.pat",
		     2, params);
	for (int r = 0; r < PQntuples(res); r++) {
		long i = atol(PQgetvalue(res, r, 0)) - 1;
		long j = atol(PQgetvalue(res, r, 1)) - 1;
		in_sql[i][j] = true;
	}
	PQclear(res);
	size_t pairs = 0, matches = 0;
	for (size_t i = 0; i < npats; i++)
		for (size_t j = 0; j < nnames; j++, pairs++) {
			bool m = optreg_glob_match(pats[i], names[j]);
			matches += m;
			if (m != in_sql[i][j])
				fail_msg("pattern \"%s\" name \"%s\": C %d, "
					 "PostgreSQL %d",
					 pats[i], names[j], m, in_sql[i][j]);
		}
	assert_true(pairs > 5000);
	assert_true(matches > 100 && matches < pairs);

	/* The registry's own form: one array, LIKE ANY, per name, with a
	 * few pattern subsets. */
	for (size_t start = 0; start < npats; start += 7) {
		size_t cnt = npats - start < 3 ? npats - start : 3;
		optreg_buf_reset(&likes);
		optreg_glob_like_array(pp + start, cnt, &likes);
		params[0] = likes.data;
		res = exec(c,
			   "SELECT n.name, n.name LIKE ANY ($1::text[]) FROM "
			   "unnest($2::text[]) AS n(name)",
			   2, params);
		for (int r = 0; r < PQntuples(res); r++) {
			bool sql = PQgetvalue(res, r, 1)[0] == 't';
			bool m = optreg_glob_match_any(pp + start, cnt,
						       PQgetvalue(res, r, 0));
			if (m != sql)
				fail_msg("LIKE ANY %s on \"%s\": C %d, "
					 "PostgreSQL %d",
					 likes.data, PQgetvalue(res, r, 0), m,
					 sql);
		}
		PQclear(res);
	}
	PQfinish(c);
	optreg_buf_release(&likes);
	optreg_buf_release(&nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_like_agrees_with_matcher),
	};
	return cmocka_run_group_tests_name("glob_pg", tests, group_setup,
					   group_teardown);
}
