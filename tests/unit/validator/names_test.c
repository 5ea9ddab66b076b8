/*
 * tests/unit/validator/names_test.c: the name rules of validator/names.h.
 *
 * Data-driven: every line of tests/cases/names/<rule>.txt is checked with
 * that rule (see the folder's README.md). Then each rule is compared, on the
 * cases and on random strings, with the copies it replaces (the registry's
 * name_ok/tag_ok/digest_ok/keyid_ok/optreg_pattern_valid and the CLI's
 * name_valid/cli_tag_valid/keyid_valid, copied here as they were), so the
 * module accepts exactly what they accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "validator/names.h"

typedef int (*check_fn)(const char *, const char *, struct optreg_errors *);

/* ---- The copies as they were (the oracles) ---------------------------- */

static bool old_name_ok(const char *s, size_t max, bool dots)
{
	size_t n = strlen(s);

	if (n < 1 || n > max ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || (dots && (c == '.' || c == '_'))))
			return false;
	}
	return true;
}

static bool old_tag_ok(const char *s)
{
	bool digits = true;

	for (const char *p = s; *p; p++)
		if (!(*p >= '0' && *p <= '9'))
			digits = false;
	return !digits && old_name_ok(s, 64, true);
}

static bool old_cli_name_valid(const char *s, size_t max, const char *extra)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	if (!(s[0] >= 'a' && s[0] <= 'z') && !(s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
		    !(c && strchr(extra, c)))
			return false;
	}
	return true;
}

static bool old_digest_ok(const char *s)
{
	if (strlen(s) != 71 || strncmp(s, "sha256:", 7))
		return false;
	for (const char *p = s + 7; *p; p++)
		if (!(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

static bool old_keyid_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool old_pattern_valid(const char *pattern)
{
	size_t n = strlen(pattern);

	if (n < 1 || n > 63 || pattern[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = pattern[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '*' || c == '?'))
			return false;
	}
	return true;
}

/* -1 when no old copy exists for the rule. */
static int oracle(const char *rule, const char *s)
{
	if (!strcmp(rule, "namespace")) {
		bool a = old_name_ok(s, 63, false);
		assert_int_equal(a, old_cli_name_valid(s, 63, "-"));
		return a;
	}
	if (!strcmp(rule, "config")) {
		bool a = old_name_ok(s, 128, true);
		assert_int_equal(a, old_cli_name_valid(s, 128, "._-"));
		return a;
	}
	if (!strcmp(rule, "tag")) {
		bool a = old_tag_ok(s);
		assert_int_equal(a,
				 old_cli_name_valid(s, 64, "._-") &&
					 strspn(s, "0123456789") != strlen(s));
		return a;
	}
	if (!strcmp(rule, "digest"))
		return old_digest_ok(s);
	if (!strcmp(rule, "keyid"))
		return old_keyid_ok(s);
	if (!strcmp(rule, "pattern"))
		return old_pattern_valid(s);
	return -1;
}

static const struct {
	const char *name;
	check_fn check;
} rules[] = {
	{"namespace", optreg_name_check_namespace},
	{"config", optreg_name_check_config},
	{"tag", optreg_name_check_tag},
	{"digest", optreg_name_check_digest},
	{"keyid", optreg_name_check_keyid},
	{"pattern", optreg_name_check_pattern},
	{"label_key", optreg_name_check_label_key},
	{"label_value", optreg_name_check_label_value},
	{"principal", optreg_name_check_principal},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

static const char *cases_dir(void)
{
	const char *d = getenv("OPTREG_NAME_CASES");
	return d && *d ? d : "tests/cases/names";
}

/* Checks one value; `want_rule` NULL means it must be accepted. */
static void check_one(const char *rule, check_fn check, const char *value,
		      const char *want_rule, const char *where)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int rc = check(value, "spec.field", &errs);

	if (!want_rule) {
		if (rc != 0)
			fail_msg("%s: %s refuses \"%s\": %s", where, rule,
				 value, errs.items[0].message);
		assert_int_equal(errs.len, 0);
	} else {
		if (rc != OPTREG_EINVAL)
			fail_msg("%s: %s accepts \"%s\"", where, rule, value);
		assert_int_equal(errs.len, 1);
		assert_int_equal(errs.items[0].code, OPTREG_EINVAL);
		assert_string_equal(errs.items[0].rule, want_rule);
		assert_string_equal(errs.items[0].path, "spec.field");
		assert_non_null(errs.items[0].hint);
		/* The message shows the value (or its first 64 bytes). */
		struct optreg_buf q = OPTREG_BUF_INIT;
		optreg_name_quote(&q, value);
		if (!strstr(errs.items[0].message, q.data))
			fail_msg("%s: message \"%s\" does not quote %s", where,
				 errs.items[0].message, q.data);
		optreg_buf_release(&q);
	}
	/* Asking without an error list gives the same answer. */
	assert_int_equal(check(value, "x", NULL), rc);
	int want = oracle(rule, value);
	if (want >= 0 && want != (rc == 0))
		fail_msg("%s: %s disagrees with the old copies on \"%s\"",
			 where, rule, value);
	optreg_errors_release(&errs);
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t r = 0; r < NRULES; r++) {
		char path[512], line[1024];
		int n = 0, lineno = 0;

		snprintf(path, sizeof(path), "%s/%s.txt", cases_dir(),
			 rules[r].name);
		FILE *f = fopen(path, "r");
		if (!f)
			fail_msg("cannot open %s (set OPTREG_NAME_CASES)",
				 path);
		while (fgets(line, sizeof(line), f)) {
			json_error_t jerr;
			char where[600];

			lineno++;
			if (line[0] == '#' || line[0] == '\n')
				continue;
			json_t *c = json_loads(line, 0, &jerr);
			snprintf(where, sizeof(where), "%s:%d", path, lineno);
			if (!json_is_array(c))
				fail_msg("%s: not a JSON array", where);
			const char *verdict =
				json_string_value(json_array_get(c, 0));
			const char *value =
				json_string_value(json_array_get(c, 1));
			const char *want =
				json_string_value(json_array_get(c, 2));
			assert_non_null(verdict);
			assert_non_null(value);
			if (!strcmp(verdict, "accept")) {
				check_one(rules[r].name, rules[r].check, value,
					  NULL, where);
			} else {
				assert_string_equal(verdict, "refuse");
				assert_non_null(want);
				check_one(rules[r].name, rules[r].check, value,
					  want, where);
			}
			json_decref(c);
			n++;
		}
		fclose(f);
		if (n < 5)
			fail_msg("%s: only %d cases", path, n);
	}
}

/* Random strings over an alphabet that hits every class boundary. */
static void test_agrees_with_old_copies(void **state)
{
	static const char alphabet[] = "az09-._*?AZ/ @\\[]g";
	uint64_t x = 0x9E3779B97F4A7C15u;
	char s[140];

	(void)state;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size_t len = (size_t)(x % 131);
		if (i % 7 == 0)
			len = (size_t)(x % 5);
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[j] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		s[len] = '\0';
		if (i % 3 == 0 && len >= 64) { /* hex-ish for digests/ids */
			memcpy(s, "sha256:", 7);
			for (size_t j = 7; j < len; j++)
				s[j] = "0123456789abcdef"[(x >> (j % 60)) % 16];
		}
		for (size_t r = 0; r < NRULES; r++) {
			int want = oracle(rules[r].name, s);
			if (want < 0)
				continue;
			int got = rules[r].check(s, "", NULL) == 0;
			if (got != want)
				fail_msg("%s disagrees on \"%s\"",
					 rules[r].name, s);
			if (!strcmp(rules[r].name, "keyid") && len >= 71) {
				assert_int_equal(optreg_name_check_keyid(
							 s + 7, "", NULL) == 0,
						 old_keyid_ok(s + 7));
			}
		}
	}
}

static void test_message_shape(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	(void)state;
	assert_int_equal(optreg_name_check_namespace("Team",
						     "metadata."
						     "namespace",
						     &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].message,
			    "must match ^[a-z0-9][a-z0-9-]{0,62}$ (got "
			    "\"Team\")");
	assert_string_equal(errs.items[0].hint,
			    "use 1 to 63 lowercase letters, digits and '-', "
			    "starting with a letter or digit");
	/* NULL is refused, not dereferenced. */
	assert_int_equal(optreg_name_check_tag(NULL, "tag", &errs),
			 OPTREG_EINVAL);
	assert_int_equal(errs.len, 2);
	optreg_errors_release(&errs);
}

/* What JSON case files cannot hold: invalid UTF-8, NULL; and the
 * character classes the CLI escapes with. */
static void test_principal_bytes(void **state)
{
	const char *bad[] = {
		"a\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		NULL};
	long cp;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(optreg_name_check_principal(bad[i], "p", NULL),
				 OPTREG_EINVAL);
	assert_int_equal(optreg_name_printable_len("\xc3\xa9x", 3, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(optreg_name_printable_len("\xc2\x9b", 2, &cp), 0);
	assert_int_equal(cp, 0x9b);
	assert_int_equal(optreg_name_printable_len("\xe2\x80\xae", 3, &cp), 0);
	assert_int_equal(cp, 0x202e);
	assert_int_equal(optreg_name_printable_len("\xe2\x80", 2, &cp), 0);
	assert_int_equal(cp, -1);
	assert_int_equal(optreg_name_printable_len("\x1b", 1, &cp), 0);
	assert_int_equal(cp, 0x1b);
}

static void test_quote(void **state)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	char long_s[100];

	(void)state;
	optreg_name_quote(&b, "a\"b\\c\nd\x01");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\u0001\"");
	optreg_buf_reset(&b);
	memset(long_s, 'x', 99);
	long_s[99] = '\0';
	long_s[63] = '\xc3'; /* a 2-byte sequence across the 64-byte cut */
	long_s[64] = '\xa9';
	optreg_name_quote(&b, long_s);
	assert_int_equal(b.len, 1 + 63 + 4);
	assert_string_equal(b.data + b.len - 4, "\"...");
	optreg_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_principal_bytes),
		cmocka_unit_test(test_agrees_with_old_copies),
		cmocka_unit_test(test_message_shape),
		cmocka_unit_test(test_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
