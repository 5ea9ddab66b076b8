/*
 * tests/unit/registry/tags_test.c: the tags service (registry/svc/tags.h)
 * against a private PostgreSQL cluster, without HTTP: compare-and-set
 * moves and each refusal, resolve and list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/svc/tags.h"
#include "registry/svc/versions.h"
#include "svc_fixture.h"

/* team/tagged versions 1 and 2, version 2 yanked. */
static int tags_setup(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	bool already;

	if (fixture_setup(state))
		return -1;
	for (int i = 1; i <= 2; i++) {
		struct optreg_buf canon = OPTREG_BUF_INIT;
		struct optreg_submit_result res;
		struct optreg_dsse env;
		fixture_envelope(&env, "team", "tagged", i, fixture_signer,
				 digest, &canon);
		int rc = optreg_versions_submit(&fixture_reg, &fixture_who,
						"team", "tagged", digest, &env,
						canon.data, NULL, &res, &errs);
		optreg_dsse_release(&env);
		optreg_buf_release(&canon);
		optreg_submit_result_release(&res);
		if (rc)
			return fixture_fail("submit", &errs);
	}
	if (optreg_versions_yank(&fixture_reg, &fixture_who, "team", "tagged",
				 2, "bad", NULL, &already, digest, &errs))
		return fixture_fail("yank", &errs);
	return 0;
}

/* A plain move through the checked service (no reason, no approver). */
static int move(const char *ns, const char *name, const char *tag, int version,
		int expected, int *previous, struct optreg_errors *errs)
{
	struct optreg_tag_move_req m = {ns,   name, tag,   version, expected,
					NULL, NULL, false, false};
	struct optreg_tag_move_result res;

	optreg_tag_move_result_init(&res);
	int rc = optreg_tags_move(&fixture_reg, &fixture_who, &m, &res, errs);
	*previous = res.previous;
	optreg_tag_move_result_release(&res);
	return rc;
}

static void test_move_new_then_resolve(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int previous = 0, version = 0;

	(void)state;
	assert_int_equal(
		move("team", "tagged", "stable", 1, -1, &previous, &errs), 0);
	assert_int_equal(previous, -1);
	assert_int_equal(optreg_tags_resolve(&fixture_reg, "team", "tagged",
					     "stable", &version, &errs),
			 0);
	assert_int_equal(version, 1);
	/* Moving it where it is changes nothing and succeeds. */
	assert_int_equal(
		move("team", "tagged", "stable", 1, 1, &previous, &errs), 0);
	assert_int_equal(previous, 1);
	assert_int_equal(errs.len, 0);
}

static void test_move_conflicts(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int previous = 0;

	(void)state;
	/* The tag exists, but the caller expected it not to. */
	assert_int_equal(
		move("team", "tagged", "stable", 1, -1, &previous, &errs),
		OPTREG_ECONFLICT);
	assert_string_equal(errs.items[0].rule, "conflict");
	assert_string_equal(errs.items[0].path, "expected_version");
	optreg_errors_release(&errs);
	/* A tag cannot move to a yanked version. */
	assert_int_equal(
		move("team", "tagged", "stable", 2, 1, &previous, &errs),
		OPTREG_ECONFLICT);
	assert_string_equal(errs.items[0].rule, "yanked");
	optreg_errors_release(&errs);
}

static void test_move_not_found(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	int previous = 0;

	(void)state;
	assert_int_equal(move("team", "tagged", "x", 7, -1, &previous, &errs),
			 OPTREG_ENOTFOUND);
	assert_string_equal(errs.items[0].path, "version");
	optreg_errors_release(&errs);
	assert_int_equal(move("team", "nothing", "x", 1, -1, &previous, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
	int version;
	assert_int_equal(optreg_tags_resolve(&fixture_reg, "team", "tagged",
					     "missing", &version, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
}

static void test_list(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_tag_list list;

	(void)state;
	assert_int_equal(
		optreg_tags_list(&fixture_reg, "team", "tagged", &list, &errs),
		0);
	assert_int_equal(list.len, 1);
	assert_string_equal(list.items[0].tag, "stable");
	assert_int_equal(list.items[0].version, 1);
	assert_string_equal(list.items[0].updated_by, "admin@test");
	optreg_tag_list_release(&list);
	assert_int_equal(
		optreg_tags_list(&fixture_reg, "team", "nothing", &list, &errs),
		OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_new_then_resolve),
		cmocka_unit_test(test_move_conflicts),
		cmocka_unit_test(test_move_not_found),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests_name("tags", tests, tags_setup,
					   fixture_teardown);
}
