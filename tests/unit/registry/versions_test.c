/*
 * tests/unit/registry/versions_test.c: the versions service
 * (registry/svc/versions.h) against a private PostgreSQL cluster, without
 * HTTP: the signed submit and its refusals, reads, lists, search and yank,
 * and a pool that has no connection to give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/svc/versions.h"
#include "svc_fixture.h"

/* Submits team/<name> signed by `key`; returns the result code. */
static int submit(const char *name, double lr, const struct optreg_key *key,
		  struct optreg_submit_result *res, struct optreg_errors *errs,
		  char digest[OPTREG_DIGEST_LEN + 1])
{
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_dsse env;

	fixture_envelope(&env, "team", name, lr, key, digest, &canon);
	int rc = optreg_versions_submit(&fixture_reg, &fixture_who, "team",
					name, digest, &env, canon.data, NULL,
					res, errs);
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	return rc;
}

static void test_submit_creates_then_finds(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res, again;
	char digest[OPTREG_DIGEST_LEN + 1];

	(void)state;
	assert_int_equal(
		submit("adam", 0.001, fixture_signer, &res, &errs, digest), 0);
	assert_true(res.created);
	assert_int_equal(res.version, 1);
	assert_non_null(res.created_at);
	assert_non_null(res.receipt);
	assert_non_null(strstr(res.receipt, "payloadType"));

	/* The identical config is found, with its stored receipt. */
	assert_int_equal(
		submit("adam", 0.001, fixture_signer, &again, &errs, digest),
		0);
	assert_false(again.created);
	assert_int_equal(again.version, 1);
	assert_string_equal(again.receipt, res.receipt);

	/* Another config is the next version. */
	optreg_submit_result_release(&again);
	assert_int_equal(
		submit("adam", 0.002, fixture_signer, &again, &errs, digest),
		0);
	assert_true(again.created);
	assert_int_equal(again.version, 2);
	optreg_submit_result_release(&again);
	optreg_submit_result_release(&res);
	assert_int_equal(errs.len, 0);
}

static void test_submit_refuses_unsigned(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res;
	char digest[OPTREG_DIGEST_LEN + 1];

	(void)state;
	assert_int_equal(submit("unsigned", 0.1, NULL, &res, &errs, digest),
			 OPTREG_EDENIED);
	assert_int_equal(errs.len, 1);
	assert_string_equal(errs.items[0].rule, "threshold");
	assert_null(res.receipt);
	optreg_errors_release(&errs);
}

static void test_submit_refuses_unknown_key(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res;
	struct optreg_key *stranger = NULL;
	char digest[OPTREG_DIGEST_LEN + 1];

	(void)state;
	assert_int_equal(optreg_key_generate(&stranger, &errs), 0);
	assert_int_equal(submit("stranger", 0.1, stranger, &res, &errs, digest),
			 OPTREG_EDENIED);
	assert_int_equal(errs.len, 2);
	assert_string_equal(errs.items[0].rule, "unknown_key");
	assert_string_equal(errs.items[0].path, "signatures[0]");
	assert_string_equal(errs.items[1].rule, "threshold");
	optreg_key_free(stranger);
	optreg_errors_release(&errs);

	/* Nothing was written: the config does not exist. */
	struct optreg_version v;
	assert_int_equal(optreg_versions_get(&fixture_reg, "team", "stranger",
					     1, &v, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
}

static void test_submit_refuses_other_namespace(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;

	(void)state;
	fixture_envelope(&env, "other", "x", 0.1, fixture_signer, digest,
			 &canon);
	assert_int_equal(optreg_versions_submit(&fixture_reg, &fixture_who,
						"other", "x", digest, &env,
						canon.data, NULL, &res, &errs),
			 OPTREG_EDENIED);
	assert_string_equal(errs.items[0].rule, "key_not_allowed");
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	optreg_errors_release(&errs);
}

static void test_get_and_digest(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res;
	struct optreg_version v, d;
	char digest[OPTREG_DIGEST_LEN + 1];

	(void)state;
	assert_int_equal(
		submit("getme", 0.5, fixture_signer, &res, &errs, digest), 0);
	assert_int_equal(optreg_versions_get(&fixture_reg, "team", "getme",
					     res.version, &v, &errs),
			 0);
	assert_string_equal(v.digest, digest);
	assert_string_equal(v.ns, "team");
	assert_false(v.yanked);
	assert_non_null(v.receipt);
	assert_int_equal(
		optreg_versions_get_by_digest(&fixture_reg, digest, &d, &errs),
		0);
	assert_string_equal(d.name, "getme");
	assert_int_equal(d.version, res.version);
	assert_int_equal(d.payload.len, v.payload.len);
	optreg_version_release(&v);
	optreg_version_release(&d);
	optreg_submit_result_release(&res);

	assert_int_equal(optreg_versions_get(&fixture_reg, "team", "getme", 9,
					     &v, &errs),
			 OPTREG_ENOTFOUND);
	assert_int_equal(errs.len, 1);
	optreg_errors_release(&errs);
	assert_int_equal(optreg_versions_get_by_digest(
				 &fixture_reg,
				 "sha256:00000000000000000000000000000000"
				 "00000000000000000000000000000000",
				 &d, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
}

static void test_list_and_search(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res;
	char digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_version_list list;
	struct optreg_config_list found;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(submit("listed", 0.1 * (i + 1), fixture_signer,
					&res, &errs, digest),
				 0);
		optreg_submit_result_release(&res);
	}
	/* Newest first, `before` and `limit` respected. */
	assert_int_equal(optreg_versions_list(&fixture_reg, "team", "listed", 0,
					      2, &list, &errs),
			 0);
	assert_int_equal(list.len, 2);
	assert_int_equal(list.items[0].version, 3);
	assert_string_equal(list.items[0].digest, digest);
	assert_string_equal(list.items[0].tags, "[]");
	assert_false(list.items[0].yanked);
	optreg_version_list_release(&list);
	assert_int_equal(optreg_versions_list(&fixture_reg, "team", "listed", 2,
					      10, &list, &errs),
			 0);
	assert_int_equal(list.len, 1);
	optreg_version_list_release(&list);
	assert_int_equal(optreg_versions_list(&fixture_reg, "team", "nothing",
					      0, 10, &list, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);

	const char *patterns[] = {"te*"};
	assert_int_equal(optreg_versions_search(&fixture_reg, patterns, 1, NULL,
						"list", NULL, NULL, 10, &found,
						&errs),
			 0);
	assert_int_equal(found.len, 1);
	assert_string_equal(found.items[0].name, "listed");
	assert_int_equal(found.items[0].latest_version, 3);
	assert_string_equal(found.items[0].latest_digest, digest);
	optreg_config_list_release(&found);
	const char *none[] = {"nope"};
	assert_int_equal(optreg_versions_search(&fixture_reg, none, 1, NULL,
						NULL, NULL, NULL, 10, &found,
						&errs),
			 0);
	assert_int_equal(found.len, 0);
	optreg_config_list_release(&found);
	assert_int_equal(errs.len, 0);
}

static void test_yank(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_submit_result res;
	char digest[OPTREG_DIGEST_LEN + 1], yanked[OPTREG_DIGEST_LEN + 1];
	struct optreg_version v;
	bool already = true;

	(void)state;
	assert_int_equal(
		submit("yankme", 0.3, fixture_signer, &res, &errs, digest), 0);
	assert_int_equal(optreg_versions_yank(&fixture_reg, &fixture_who,
					      "team", "yankme", res.version,
					      "broken", NULL, &already, yanked,
					      &errs),
			 0);
	assert_false(already);
	assert_string_equal(yanked, digest);
	assert_int_equal(optreg_versions_yank(&fixture_reg, &fixture_who,
					      "team", "yankme", res.version,
					      "again", NULL, &already, yanked,
					      &errs),
			 0);
	assert_true(already);
	assert_int_equal(optreg_versions_get(&fixture_reg, "team", "yankme",
					     res.version, &v, &errs),
			 0);
	assert_true(v.yanked);
	assert_string_equal(v.yank_reason, "broken");
	optreg_version_release(&v);
	optreg_submit_result_release(&res);

	assert_int_equal(optreg_versions_yank(&fixture_reg, &fixture_who,
					      "team", "yankme", 99, "x", NULL,
					      &already, yanked, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
}

/* With every pooled connection taken, a call gives up after
 * db_wait_ms with OPTREG_EUNAVAILABLE and no error to log. */
static void test_pool_exhausted(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_version v;

	(void)state;
	PGconn *a = optreg_pool_get(fixture_reg.db, 2000);
	PGconn *b = optreg_pool_get(fixture_reg.db, 2000);
	assert_non_null(a);
	assert_non_null(b);
	fixture_reg.db_wait_ms = 20;
	assert_int_equal(
		optreg_versions_get(&fixture_reg, "team", "adam", 1, &v, &errs),
		OPTREG_EUNAVAILABLE);
	assert_int_equal(errs.len, 0);
	fixture_reg.db_wait_ms = 2000;
	optreg_pool_put(fixture_reg.db, a, false);
	optreg_pool_put(fixture_reg.db, b, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_submit_creates_then_finds),
		cmocka_unit_test(test_submit_refuses_unsigned),
		cmocka_unit_test(test_submit_refuses_unknown_key),
		cmocka_unit_test(test_submit_refuses_other_namespace),
		cmocka_unit_test(test_get_and_digest),
		cmocka_unit_test(test_list_and_search),
		cmocka_unit_test(test_yank),
		cmocka_unit_test(test_pool_exhausted),
	};

	return cmocka_run_group_tests_name("versions", tests, fixture_setup,
					   fixture_teardown);
}
