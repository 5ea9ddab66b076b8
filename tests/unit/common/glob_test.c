/*
 * tests/unit/common/glob_test.c: the namespace-pattern matcher and its SQL
 * LIKE translation.
 *
 * The C matcher is held to fnmatch(3) (what auth.c, keys.c, trust.c and
 * keyring.c called) and the LIKE form to an independent LIKE evaluator
 * written here from the PostgreSQL manual (`%` any run, `_` one character,
 * `\` escapes the next), on every valid pattern and name over a small
 * alphabet plus random longer ones. glob_pg_test does the same against a
 * real PostgreSQL.
 */
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/glob.h"
#include "validator/names.h"

/* SQL LIKE with the default escape `\`, by backtracking (small inputs). */
static bool like(const char *p, const char *s)
{
	for (;;) {
		if (*p == '\0')
			return *s == '\0';
		if (*p == '%') {
			for (const char *t = s;; t++) {
				if (like(p + 1, t))
					return true;
				if (!*t)
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '_') {
			p++;
			s++;
			continue;
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p != *s)
			return false;
		p++;
		s++;
	}
}

static bool like_of(const char *pattern, const char *name)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	bool r;

	optreg_glob_to_like(pattern, &b);
	r = like(b.data, name);
	optreg_buf_release(&b);
	return r;
}

static void agree(const char *pattern, const char *name)
{
	bool got = optreg_glob_match(pattern, name);
	bool fn = fnmatch(pattern, name, 0) == 0;
	bool sql = like_of(pattern, name);

	if (got != fn || got != sql)
		fail_msg("pattern \"%s\" name \"%s\": glob %d fnmatch %d like "
			 "%d",
			 pattern, name, got, fn, sql);
}

/* All strings of length 0..max over `alpha`, in order; false at the end. */
static bool next_string(char *s, size_t max, const char *alpha)
{
	size_t n = strlen(s), k = strlen(alpha);

	for (size_t i = n; i-- > 0;) {
		const char *c = strchr(alpha, s[i]);
		if ((size_t)(c - alpha) + 1 < k) {
			s[i] = c[1];
			for (size_t j = i + 1; j < n; j++)
				s[j] = alpha[0];
			return true;
		}
	}
	if (n == max)
		return false;
	memset(s, alpha[0], n + 1);
	s[n + 1] = '\0';
	return true;
}

static void test_exhaustive_small(void **state)
{
	char p[8] = "", n[8];
	size_t pairs = 0;

	(void)state;
	do {
		if (p[0] && optreg_name_check_pattern(p, "", NULL))
			continue;
		n[0] = '\0';
		do {
			agree(p, n);
			pairs++;
		} while (next_string(n, 4, "ab-"));
	} while (next_string(p, 4, "a*?-"));
	assert_true(pairs > 30000);
}

static void test_random_long(void **state)
{
	uint64_t x = 0x2545F4914F6CDD1Du;
	char p[64], n[64];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t pl, nl;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pl = 1 + x % 12;
		nl = x / 32 % 40;
		for (size_t j = 0; j < pl; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			p[j] = "ab0-*?"[x % 6];
		}
		p[pl] = '\0';
		if (p[0] == '-')
			p[0] = 'a';
		for (size_t j = 0; j < nl; j++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			n[j] = "ab0-"[x % 4];
		}
		n[nl] = '\0';
		agree(p, n);
	}
}

static void test_known(void **state)
{
	(void)state;
	assert_true(optreg_glob_match("*", "team-a"));
	assert_true(optreg_glob_match("*", ""));
	assert_true(optreg_glob_match("team-*", "team-"));
	assert_true(optreg_glob_match("team-*", "team-a-b"));
	assert_false(optreg_glob_match("team-*", "team"));
	assert_true(optreg_glob_match("t?am", "team"));
	assert_false(optreg_glob_match("t?am", "tam"));
	assert_true(optreg_glob_match("*-prod", "a-b-prod"));
	assert_false(optreg_glob_match("a", "ab"));
	assert_false(optreg_glob_match("", "a"));
	assert_true(optreg_glob_match("", ""));
	/* Backtracking that a greedy matcher gets wrong. */
	assert_true(optreg_glob_match("*a*b", "aaabab"));
	assert_false(optreg_glob_match("*a*b", "aaaba"));
	/* Other characters only match themselves, also LIKE's own. */
	assert_true(optreg_glob_match("a%", "a%"));
	assert_false(optreg_glob_match("a%", "ab"));
	assert_false(like_of("a%", "ab"));
	assert_true(like_of("a_b\\", "a_b\\"));
	assert_false(like_of("a_b", "axb"));
}

static void test_match_any(void **state)
{
	const char *pats[] = {"team-a", NULL, "ops-*"};

	(void)state;
	assert_true(optreg_glob_match_any(pats, 3, "ops-x"));
	assert_true(optreg_glob_match_any(pats, 3, "team-a"));
	assert_false(optreg_glob_match_any(pats, 3, "team-b"));
	assert_false(optreg_glob_match_any(pats, 0, "team-a"));
}

static void test_like_array(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const char *pats[] = {"team-*", "a?c", "*"};
	const char *odd[] = {"a\"b", "x_y"};

	(void)state;
	optreg_glob_like_array(pats, 3, &b);
	/* Exactly what registry/jobs.c and store.c built by hand. */
	assert_string_equal(b.data, "{\"team-%\",\"a_c\",\"%\"}");
	optreg_buf_reset(&b);
	optreg_glob_like_array(pats, 0, &b);
	assert_string_equal(b.data, "{}");
	optreg_buf_reset(&b);
	optreg_glob_like_array(odd, 2, &b);
	assert_string_equal(b.data, "{\"a\\\"b\",\"x\\\\_y\"}");
	optreg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_match_any),
		cmocka_unit_test(test_like_array),
		cmocka_unit_test(test_exhaustive_small),
		cmocka_unit_test(test_random_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
