/*
 * tests/unit/cli/ref_test.c: config references (cli/ref.c): each kind,
 * the kinds a command allows, the name rules at their limits, and the
 * messages a command prints for a bad reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/ref.h"

#define ALL (CLI_REF_CONFIG | CLI_REF_VERSION | CLI_REF_TAG | CLI_REF_DIGEST)
#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parses `s` with `allowed`; returns the result, the message in *why. */
static int parse(const char *s, unsigned allowed, struct cli_ref *ref,
		 struct optreg_buf *why)
{
	optreg_buf_reset(why);
	return cli_ref_parse(s, allowed, ref, why);
}

/* A string of `n` copies of `c`, then `tail`. */
static char *rep(char c, size_t n, const char *tail)
{
	char *s = malloc(n + strlen(tail) + 1);

	memset(s, c, n);
	strcpy(s + n, tail);
	return s;
}

static void test_kinds(void **state)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct cli_ref ref;

	(void)state;
	assert_int_equal(parse("team-a/bert", ALL, &ref, &why), 0);
	assert_int_equal(ref.kind, CLI_REF_CONFIG);
	assert_string_equal(ref.ns, "team-a");
	assert_string_equal(ref.name, "bert");

	assert_int_equal(parse("team-a/bert.v2_x-y@17", ALL, &ref, &why), 0);
	assert_int_equal(ref.kind, CLI_REF_VERSION);
	assert_string_equal(ref.name, "bert.v2_x-y");
	assert_int_equal(ref.version, 17);

	assert_int_equal(parse("a/b@prod", ALL, &ref, &why), 0);
	assert_int_equal(ref.kind, CLI_REF_TAG);
	assert_string_equal(ref.tag, "prod");

	/* A tag may start with a digit as long as it is not all digits. */
	assert_int_equal(parse("a/b@1x", ALL, &ref, &why), 0);
	assert_int_equal(ref.kind, CLI_REF_TAG);

	assert_int_equal(parse("sha256:" D64, ALL, &ref, &why), 0);
	assert_int_equal(ref.kind, CLI_REF_DIGEST);
	assert_string_equal(ref.digest, "sha256:" D64);
	optreg_buf_release(&why);
}

static void test_allowed_kinds(void **state)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct cli_ref ref;

	(void)state;
	assert_int_equal(parse("a/b@3", CLI_REF_CONFIG, &ref, &why), -1);
	assert_string_equal(why.data, "\"a/b@3\": expected NAMESPACE/NAME");
	assert_int_equal(parse("a/b", CLI_REF_VERSION, &ref, &why), -1);
	assert_string_equal(why.data,
			    "\"a/b\": expected NAMESPACE/NAME@VERSION");
	assert_int_equal(parse("a/b@t", CLI_REF_VERSION, &ref, &why), -1);
	assert_int_equal(
		parse("sha256:" D64, CLI_REF_VERSION | CLI_REF_TAG, &ref, &why),
		-1);
	assert_string_equal(why.data, "\"sha256:" D64
				      "\": expected NAMESPACE/NAME@VERSION or "
				      "NAMESPACE/NAME@TAG");
	assert_int_equal(parse("nothing", ALL & ~CLI_REF_CONFIG, &ref, &why),
			 -1);
	assert_string_equal(why.data,
			    "\"nothing\": expected NAMESPACE/NAME@VERSION, "
			    "NAMESPACE/NAME@TAG or sha256:DIGEST");
	optreg_buf_release(&why);
}

static void test_bad_parts(void **state)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct cli_ref ref;

	(void)state;
	assert_int_equal(parse("sha256:" D64 "0", ALL, &ref, &why), -1);
	assert_string_equal(why.data,
			    "\"sha256:" D64 "0\": a digest is sha256: and 64 "
			    "lowercase hex digits");
	assert_int_equal(parse("sha256:ABCDEF0123456789abcdef0123456789abcdef"
			       "0123456789abcdef0123456789",
			       ALL, &ref, &why),
			 -1);
	assert_int_equal(parse("Team/b", ALL, &ref, &why), -1);
	assert_string_equal(why.data,
			    "\"Team\": a namespace is 1 to 63 of a-z, 0-9 and "
			    "-, starting with a letter or digit");
	assert_int_equal(parse("/b", ALL, &ref, &why), -1);
	assert_int_equal(parse("-a/b", ALL, &ref, &why), -1);
	assert_int_equal(parse("a.b/c", ALL, &ref, &why), -1);
	assert_int_equal(parse("a/_b", ALL, &ref, &why), -1);
	assert_string_equal(why.data,
			    "\"_b\": a config name is 1 to 128 of a-z, 0-9, "
			    "'.', '_' and '-', starting with a letter or "
			    "digit");
	assert_int_equal(parse("a/", ALL, &ref, &why), -1);
	assert_int_equal(parse("a/b/c", ALL, &ref, &why), -1);
	assert_int_equal(parse("a/b@07", ALL, &ref, &why), -1);
	assert_string_equal(why.data, "\"07\": a version is a whole number "
				      "from 1, without leading zeros");
	assert_int_equal(parse("a/b@0", ALL, &ref, &why), -1);
	assert_int_equal(parse("a/b@", ALL, &ref, &why), -1);
	assert_string_equal(why.data,
			    "\"\": a tag is 1 to 64 of a-z, 0-9, '.', '_' and "
			    "'-', starting with a letter or digit");
	assert_int_equal(parse("a/b@Prod", ALL, &ref, &why), -1);
	assert_int_equal(parse("a/b@x@y", ALL, &ref, &why), -1);
	optreg_buf_release(&why);
}

static void test_length_limits(void **state)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct cli_ref ref;
	char *s;

	(void)state;
	s = rep('n', 63, "/b");
	assert_int_equal(parse(s, ALL, &ref, &why), 0);
	assert_int_equal(strlen(ref.ns), 63);
	free(s);
	s = rep('n', 64, "/b");
	assert_int_equal(parse(s, ALL, &ref, &why), -1);
	free(s);

	s = rep('c', 128, "");
	char *full = malloc(200);
	snprintf(full, 200, "a/%s", s);
	assert_int_equal(parse(full, ALL, &ref, &why), 0);
	assert_int_equal(strlen(ref.name), 128);
	snprintf(full, 200, "a/%sc", s);
	assert_int_equal(parse(full, ALL, &ref, &why), -1);
	free(s);

	s = rep('t', 64, "");
	snprintf(full, 200, "a/b@%s", s);
	assert_int_equal(parse(full, ALL, &ref, &why), 0);
	assert_int_equal(strlen(ref.tag), 64);
	snprintf(full, 200, "a/b@%st", s);
	assert_int_equal(parse(full, ALL, &ref, &why), -1);
	free(s);

	/* Versions stop at 15 digits. */
	assert_int_equal(parse("a/b@999999999999999", ALL, &ref, &why), 0);
	assert_int_equal(ref.version, 999999999999999L);
	assert_int_equal(parse("a/b@1000000000000000", ALL, &ref, &why), -1);
	free(full);
	optreg_buf_release(&why);
}

static void test_name_checks(void **state)
{
	(void)state;
	assert_true(cli_namespace_valid("team-a"));
	assert_true(cli_namespace_valid("0"));
	assert_false(cli_namespace_valid(""));
	assert_false(cli_namespace_valid("-a"));
	assert_false(cli_namespace_valid("a_b"));
	assert_true(cli_tag_valid("prod"));
	assert_true(cli_tag_valid("v1.2_rc-3"));
	assert_true(cli_tag_valid("1a"));
	assert_false(cli_tag_valid("12"));
	assert_false(cli_tag_valid(""));
	assert_false(cli_tag_valid(".a"));
	assert_false(cli_tag_valid("A"));
}

static void test_config_path(void **state)
{
	struct optreg_buf why = OPTREG_BUF_INIT, path = OPTREG_BUF_INIT;
	struct cli_ref ref;

	(void)state;
	assert_int_equal(parse("team-a/bert.v2@3", ALL, &ref, &why), 0);
	cli_config_path(&path, &ref);
	assert_string_equal(path.data, "/v1/configs/team-a/bert.v2");
	optreg_buf_release(&path);
	optreg_buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_allowed_kinds),
		cmocka_unit_test(test_bad_parts),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_name_checks),
		cmocka_unit_test(test_config_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
