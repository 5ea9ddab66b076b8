/*
 * tests/unit/auth_test.c: token format and checksum, role implication and
 * namespace patterns (no database; the database side is in tests/e2e).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/auth.h"

static void test_token_format_and_checksum(void **state)
{
	char a[OPTREG_TOKEN_LEN + 1], b[OPTREG_TOKEN_LEN + 1];

	(void)state;
	optreg_token_generate(a);
	optreg_token_generate(b);
	assert_int_equal(strlen(a), OPTREG_TOKEN_LEN);
	assert_memory_equal(a, "optreg_", 7);
	assert_true(optreg_token_well_formed(a));
	assert_true(optreg_token_well_formed(b));
	assert_string_not_equal(a, b);

	/* Any single changed character breaks the checksum or the format. */
	for (int i = 0; i < OPTREG_TOKEN_LEN; i++) {
		char t[OPTREG_TOKEN_LEN + 1];
		memcpy(t, a, sizeof(t));
		t[i] = t[i] == 'x' ? 'y' : 'x';
		if (optreg_token_well_formed(t))
			fail_msg("changing character %d of %s went unnoticed",
				 i, a);
	}
	a[OPTREG_TOKEN_LEN - 1] = '\0';
	assert_false(optreg_token_well_formed(a));
	assert_false(optreg_token_well_formed(""));
	assert_false(optreg_token_well_formed("Bearer x"));
}

static void test_token_hash_is_sha256(void **state)
{
	unsigned char h[32];
	/* printf optreg_test | sha256sum */
	static const unsigned char want[32] = {
		0x2a, 0xc8, 0x10, 0xe5, 0x54, 0xd3, 0x43, 0x08,
		0xc4, 0x99, 0xc6, 0xd8, 0xf6, 0x34, 0x75, 0xf2,
		0xa9, 0xfb, 0xc4, 0xc0, 0x40, 0x6f, 0xb6, 0xef,
		0x65, 0x22, 0x57, 0xf4, 0x10, 0xc8, 0x01, 0x12,
	};

	(void)state;
	optreg_token_hash("optreg_test", h);
	assert_memory_equal(h, want, 32);
	unsigned char again[32];
	optreg_token_hash("optreg_test", again);
	assert_memory_equal(h, again, 32);
	optreg_token_hash("optreg_tesu", again);
	assert_memory_not_equal(h, again, 32);
}

static void test_roles_and_patterns(void **state)
{
	struct optreg_grant grants[2] = {
		{OPTREG_ROLE_SUBMITTER, "team-a*"},
		{OPTREG_ROLE_READER, "shared"},
	};
	struct optreg_principal p = {
		.name = "ci", .grants = grants, .ngrants = 2};

	(void)state;
	assert_true(
		optreg_principal_allows(&p, OPTREG_ROLE_SUBMITTER, "team-a"));
	assert_true(
		optreg_principal_allows(&p, OPTREG_ROLE_SUBMITTER, "team-ab"));
	assert_true(optreg_principal_allows(&p, OPTREG_ROLE_READER, "team-a"));
	assert_false(
		optreg_principal_allows(&p, OPTREG_ROLE_SUBMITTER, "team-b"));
	assert_false(
		optreg_principal_allows(&p, OPTREG_ROLE_APPROVER, "team-a"));
	assert_true(optreg_principal_allows(&p, OPTREG_ROLE_READER, "shared"));
	assert_false(
		optreg_principal_allows(&p, OPTREG_ROLE_SUBMITTER, "shared"));
	assert_false(optreg_principal_allows(&p, OPTREG_ROLE_ADMIN, NULL));

	struct optreg_grant admin = {OPTREG_ROLE_ADMIN, "*"};
	struct optreg_principal a = {
		.name = "root", .grants = &admin, .ngrants = 1};
	assert_true(optreg_principal_allows(&a, OPTREG_ROLE_ADMIN, NULL));
	assert_true(optreg_principal_allows(&a, OPTREG_ROLE_APPROVER, "x"));

	struct optreg_grant approver = {OPTREG_ROLE_APPROVER, "ml-?"};
	struct optreg_principal q = {
		.name = "lead", .grants = &approver, .ngrants = 1};
	assert_true(optreg_principal_allows(&q, OPTREG_ROLE_SUBMITTER, "ml-1"));
	assert_false(
		optreg_principal_allows(&q, OPTREG_ROLE_SUBMITTER, "ml-12"));
	assert_false(optreg_principal_allows(&q, OPTREG_ROLE_RUNNER, "ml-1"));
}

static void test_role_names_and_patterns(void **state)
{
	(void)state;
	for (int r = OPTREG_ROLE_READER; r <= OPTREG_ROLE_ADMIN; r++)
		assert_int_equal(optreg_role_parse(optreg_role_name(r)), r);
	assert_int_equal(optreg_role_parse("root"), -1);
	assert_true(optreg_pattern_valid("*"));
	assert_true(optreg_pattern_valid("team-*"));
	assert_false(optreg_pattern_valid(""));
	assert_false(optreg_pattern_valid("Team"));
	assert_false(optreg_pattern_valid("a/b"));
	assert_false(optreg_pattern_valid("-x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_format_and_checksum),
		cmocka_unit_test(test_token_hash_is_sha256),
		cmocka_unit_test(test_roles_and_patterns),
		cmocka_unit_test(test_role_names_and_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
