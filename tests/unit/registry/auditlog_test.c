/*
 * tests/unit/registry/auditlog_test.c: the auditlog service
 * (registry/svc/auditlog.h) against a private PostgreSQL cluster, without
 * HTTP: entries and their filters, checkpoints (none, made, not remade
 * when the tree did not grow), and every inclusion and consistency proof
 * of a small log checked with common/merkle.h against leaf hashes
 * computed here from the stored events; sizes the log does not have.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/merkle.h"
#include "registry/svc/auditlog.h"
#include "registry/svc/namespaces.h"
#include "svc_fixture.h"

#define LOG_SIZE 7

/* The fixture's key.added, then LOG_SIZE - 1 namespace changes. */
static int auditlog_setup(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	if (fixture_setup(state))
		return -1;
	fixture_reg.audit_origin = "optreg.test/audit";
	for (int i = 1; i < LOG_SIZE; i++) {
		json_t *out = NULL;
		if (optreg_namespaces_put(&fixture_reg, &fixture_who, "team",
					  i % 2 ? 2 : 1, &out, &errs))
			return fixture_fail("put", &errs);
		json_decref(out);
	}
	return fixture_count("audit_events") == LOG_SIZE ? 0 : -1;
}

/* The leaf hash of event `index`, from its stored canonical text. */
static void leaf_of(uint64_t index, optreg_hash out)
{
	char idx[24];
	const char *p[1] = {idx};
	PGconn *c = optreg_pool_get(fixture_reg.db, 5000);

	assert_non_null(c);
	snprintf(idx, sizeof(idx), "%" PRIu64, index);
	PGresult *res = PQexecParams(
		c, "SELECT event FROM audit_events WHERE idx = $1::bigint", 1,
		NULL, p, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(res), 1);
	optreg_merkle_leaf_hash(PQgetvalue(res, 0, 0),
				(size_t)PQgetlength(res, 0, 0), out);
	PQclear(res);
	optreg_pool_put(fixture_reg.db, c, false);
}

static void root_of(uint64_t size, optreg_hash root)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF];
	size_t len;

	assert_int_equal(optreg_auditlog_inclusion(&fixture_reg, 0, size, proof,
						   &len, root, &errs),
			 0);
}

static void test_inclusion_proofs(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], root, leaf;
	size_t len;

	(void)state;
	for (uint64_t n = 1; n <= LOG_SIZE; n++)
		for (uint64_t i = 0; i < n; i++) {
			assert_int_equal(optreg_auditlog_inclusion(
						 &fixture_reg, i, n, proof,
						 &len, root, &errs),
					 0);
			leaf_of(i, leaf);
			assert_true(optreg_merkle_verify_inclusion(
				i, n, leaf, proof, len, root));
			/* A flipped leaf does not verify. */
			leaf[0] ^= 1;
			assert_false(optreg_merkle_verify_inclusion(
				i, n, leaf, proof, len, root));
		}
	assert_int_equal(errs.len, 0);

	/* Beyond the log, or an index outside the tree. */
	assert_int_equal(optreg_auditlog_inclusion(&fixture_reg, 0,
						   LOG_SIZE + 1, proof, &len,
						   root, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "size");
	assert_string_equal(errs.items[0].path, "size");
	assert_int_equal(len, 0);
	optreg_errors_release(&errs);
	assert_int_equal(optreg_auditlog_inclusion(&fixture_reg, 3, 3, proof,
						   &len, root, &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "index");
	assert_string_equal(errs.items[0].path, "index");
	optreg_errors_release(&errs);
}

static void test_consistency_proofs(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	optreg_hash proof[OPTREG_MERKLE_MAX_PROOF], roots[LOG_SIZE + 1];
	size_t len;

	(void)state;
	for (uint64_t n = 1; n <= LOG_SIZE; n++)
		root_of(n, roots[n]);
	for (uint64_t n = 1; n <= LOG_SIZE; n++)
		for (uint64_t m = 1; m <= n; m++) {
			assert_int_equal(
				optreg_auditlog_consistency(&fixture_reg, m, n,
							    proof, &len, &errs),
				0);
			assert_true(optreg_merkle_verify_consistency(
				m, n, roots[m], roots[n], proof, len));
			if (m < n && m > 1)
				assert_false(optreg_merkle_verify_consistency(
					m, n, roots[m - 1], roots[n], proof,
					len));
		}
	assert_int_equal(errs.len, 0);

	const uint64_t bad[][2] = {{0, 3}, {4, 3}, {1, LOG_SIZE + 1}};
	const char *rules[] = {"range", "range", "size"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(optreg_auditlog_consistency(
					 &fixture_reg, bad[i][0], bad[i][1],
					 proof, &len, &errs),
				 OPTREG_EINVAL);
		assert_string_equal(errs.items[0].rule, rules[i]);
		assert_int_equal(len, 0);
		optreg_errors_release(&errs);
	}
}

static void test_entries(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf out = OPTREG_BUF_INIT;
	struct optreg_audit_filter f = {0};

	(void)state;
	f.end = -1;
	f.limit = 4;
	assert_int_equal(optreg_auditlog_entries(&fixture_reg, &f, &out, &errs),
			 0);
	json_t *page = json_loadb(out.data, out.len, 0, NULL);
	assert_non_null(page);
	json_t *entries = json_object_get(page, "entries");
	assert_int_equal(json_array_size(entries), 4);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(entries, 0), "index")),
			 0);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(entries, 0), "event"),
			"action")),
		"key.added");
	assert_int_equal(
		json_integer_value(json_object_get(page, "next_start")), 4);
	json_decref(page);

	/* The rest from next_start: no further page. */
	optreg_buf_release(&out);
	f.start = 4;
	assert_int_equal(optreg_auditlog_entries(&fixture_reg, &f, &out, &errs),
			 0);
	page = json_loadb(out.data, out.len, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(page, "entries")),
			 LOG_SIZE - 4);
	assert_true(json_is_null(json_object_get(page, "next_start")));
	json_decref(page);

	/* By action, and a filter nothing matches. */
	optreg_buf_release(&out);
	f.start = 0;
	f.limit = 100;
	f.action = "namespace.settings";
	assert_int_equal(optreg_auditlog_entries(&fixture_reg, &f, &out, &errs),
			 0);
	page = json_loadb(out.data, out.len, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(page, "entries")),
			 LOG_SIZE - 1);
	json_decref(page);
	optreg_buf_release(&out);
	f.action = NULL;
	f.actor = "nobody";
	assert_int_equal(optreg_auditlog_entries(&fixture_reg, &f, &out, &errs),
			 0);
	page = json_loadb(out.data, out.len, 0, NULL);
	assert_int_equal(json_array_size(json_object_get(page, "entries")), 0);
	json_decref(page);
	optreg_buf_release(&out);
	assert_int_equal(errs.len, 0);
}

/* Runs last: it adds events. */
static void test_checkpoints(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *note = (char *)1, *again = NULL;
	bool made = false;

	(void)state;
	assert_int_equal(optreg_auditlog_checkpoint(&fixture_reg, &note, &errs),
			 0);
	assert_null(note);
	assert_int_equal(optreg_auditlog_checkpoint_make(&fixture_reg, &made,
							 &note, &errs),
			 0);
	assert_true(made);
	assert_non_null(note);
	assert_memory_equal(note, "optreg.test/audit\n7\n", 20);
	/* Not remade while the tree has not grown. */
	assert_int_equal(optreg_auditlog_checkpoint_make(&fixture_reg, &made,
							 &again, &errs),
			 0);
	assert_false(made);
	assert_string_equal(again, note);
	free(again);
	assert_int_equal(
		optreg_auditlog_checkpoint(&fixture_reg, &again, &errs), 0);
	assert_string_equal(again, note);
	free(again);
	free(note);

	/* It grew: a new one, of the new size. */
	json_t *out = NULL;
	assert_int_equal(optreg_namespaces_put(&fixture_reg, &fixture_who,
					       "team", 9, &out, &errs),
			 0);
	json_decref(out);
	assert_int_equal(optreg_auditlog_checkpoint_make(&fixture_reg, &made,
							 &note, &errs),
			 0);
	assert_true(made);
	assert_memory_equal(note, "optreg.test/audit\n8\n", 20);
	free(note);
	assert_int_equal(fixture_count("audit_checkpoints"), 2);
	assert_int_equal(errs.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inclusion_proofs),
		cmocka_unit_test(test_consistency_proofs),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_checkpoints),
	};

	return cmocka_run_group_tests_name("auditlog", tests, auditlog_setup,
					   fixture_teardown);
}
