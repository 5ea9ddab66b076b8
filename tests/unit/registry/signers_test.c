/*
 * tests/unit/registry/signers_test.c: the signers service
 * (registry/svc/signers.h) against a private PostgreSQL cluster, without
 * HTTP: add, list, get, revoke and the registry's keys, each refusal, and
 * that a refused call writes neither a key nor an audit event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "registry/svc/signers.h"
#include "svc_fixture.h"

/* A new key's public (or private) PEM, and its key id. */
static void new_pem(struct optreg_buf *pem, bool private_pem,
		    char keyid[OPTREG_KEYID_LEN + 1])
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *k = NULL;

	assert_int_equal(optreg_key_generate(&k, &errs), 0);
	if (private_pem) {
		char *name = optreg_xasprintf("%s/priv", fixture_dir);
		char *path = optreg_xasprintf("%s.pem", name);
		assert_int_equal(optreg_key_write_pair(k, name, true, &errs),
				 0);
		assert_int_equal(optreg_buf_read_file(pem, path), 0);
		free(name);
		free(path);
	} else {
		assert_int_equal(optreg_key_public_pem(k, pem), 0);
	}
	optreg_key_id(k, keyid);
	optreg_key_free(k);
}

static void test_add_get_list(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	char keyid[OPTREG_KEYID_LEN + 1];
	json_t *out = NULL, *ns = json_pack("[s, s]", "team", "ml-*");

	(void)state;
	long long events = fixture_count("audit_events");
	new_pem(&pem, false, keyid);
	assert_int_equal(optreg_signers_add(&fixture_reg, &fixture_who,
					    pem.data, "bob", ns, NULL, &out,
					    &errs),
			 0);
	assert_string_equal(json_string_value(json_object_get(out, "keyid")),
			    keyid);
	assert_string_equal(
		json_string_value(json_object_get(out, "principal")), "bob");
	assert_string_equal(
		json_string_value(json_object_get(out, "created_by")),
		"admin@test");
	assert_true(json_equal(json_object_get(out, "namespaces"), ns));
	assert_null(json_string_value(json_object_get(out, "revoked_at")));
	/* No purpose given: a config key. */
	assert_string_equal(json_string_value(json_object_get(out, "purpose")),
			    "config");
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(fixture_scalar("SELECT count(*) FROM audit_events "
					"WHERE action = 'key.added'"),
			 2);

	assert_int_equal(optreg_signers_get(&fixture_reg, keyid, &out, &errs),
			 0);
	assert_string_equal(
		json_string_value(json_object_get(out, "principal")), "bob");
	json_decref(out);

	/* Every key (alice's from the fixture, then bob's), or one
	 * principal's. */
	assert_int_equal(optreg_signers_list(&fixture_reg, NULL, &out, &errs),
			 0);
	assert_int_equal(json_array_size(out), 2);
	json_decref(out);
	assert_int_equal(optreg_signers_list(&fixture_reg, "bob", &out, &errs),
			 0);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(out, 0), "keyid")),
			    keyid);
	json_decref(out);
	assert_int_equal(
		optreg_signers_list(&fixture_reg, "nobody", &out, &errs), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	assert_int_equal(errs.len, 0);
	json_decref(ns);
	optreg_buf_release(&pem);
}

/* Adds `pem` for `namespaces`, expecting `code` with one error of `rule`
 * at `path`, and nothing written. */
static void add_refused(const char *pem, json_t *namespaces, int code,
			const char *rule, const char *path)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = (json_t *)1;
	long long keys = fixture_count("signing_keys");
	long long events = fixture_count("audit_events");

	assert_int_equal(optreg_signers_add(&fixture_reg, &fixture_who, pem,
					    "bob", namespaces, NULL, &out,
					    &errs),
			 code);
	assert_null(out);
	assert_true(errs.len >= 1);
	if (rule)
		assert_string_equal(errs.items[0].rule, rule);
	if (path)
		assert_string_equal(errs.items[0].path, path);
	assert_int_equal(fixture_count("signing_keys"), keys);
	assert_int_equal(fixture_count("audit_events"), events);
	optreg_errors_release(&errs);
}

/* A verdict key; a purpose that is neither; a principal with control
 * characters: refused, nothing written. */
static void test_purpose_and_principal(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	char keyid[OPTREG_KEYID_LEN + 1];
	json_t *out = NULL, *ns = json_pack("[s]", "team");
	const char *bad_principals[] = {"evil\nadmin", "esc\x1b[2J",
					"rtl\xe2\x80\xae", "", "\xff"};

	(void)state;
	new_pem(&pem, false, keyid);
	long long keys = fixture_count("signing_keys");
	long long events = fixture_count("audit_events");
	assert_int_equal(optreg_signers_add(&fixture_reg, &fixture_who,
					    pem.data, "bob", ns, "both", &out,
					    &errs),
			 OPTREG_EINVAL);
	assert_string_equal(errs.items[0].rule, "enum");
	assert_string_equal(errs.items[0].path, "purpose");
	optreg_errors_release(&errs);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(optreg_signers_add(&fixture_reg, &fixture_who,
						    pem.data, bad_principals[i],
						    ns, "verdict", &out, &errs),
				 OPTREG_EINVAL);
		assert_string_equal(errs.items[0].rule, "principal");
		assert_string_equal(errs.items[0].path, "principal");
		optreg_errors_release(&errs);
	}
	assert_int_equal(fixture_count("signing_keys"), keys);
	assert_int_equal(fixture_count("audit_events"), events);

	assert_int_equal(optreg_signers_add(&fixture_reg, &fixture_who,
					    pem.data, "runner@ops", ns,
					    "verdict", &out, &errs),
			 0);
	assert_string_equal(json_string_value(json_object_get(out, "purpose")),
			    "verdict");
	json_decref(out);
	assert_int_equal(fixture_scalar("SELECT count(*) FROM audit_events "
					"WHERE action = 'key.added' AND "
					"event::jsonb->'details'->>'purpose' = "
					"'verdict'"),
			 1);
	json_decref(ns);
	optreg_buf_release(&pem);
}

static void test_add_refusals(void **state)
{
	struct optreg_buf pem = OPTREG_BUF_INIT, priv = OPTREG_BUF_INIT;
	struct optreg_buf alice = OPTREG_BUF_INIT;
	char keyid[OPTREG_KEYID_LEN + 1];
	json_t *ok = json_pack("[s]", "team");

	(void)state;
	new_pem(&pem, false, keyid);
	new_pem(&priv, true, keyid);
	assert_int_equal(optreg_key_public_pem(fixture_signer, &alice), 0);

	/* Already registered (the fixture's key). */
	add_refused(alice.data, ok, OPTREG_ECONFLICT, "conflict", "public_key");
	/* A private key is refused before anything is stored. */
	add_refused(priv.data, ok, OPTREG_EINVAL, "private_key", "public_key");
	/* Not a key at all. */
	add_refused("not a pem", ok, OPTREG_EINVAL, NULL, NULL);

	/* Namespaces: not an array, empty, too many, a bad pattern. */
	json_t *bad = json_string("team");
	add_refused(pem.data, bad, OPTREG_EINVAL, "type", "namespaces");
	json_decref(bad);
	bad = json_array();
	add_refused(pem.data, bad, OPTREG_EINVAL, "type", "namespaces");
	for (int i = 0; i < 33; i++)
		json_array_append_new(bad, json_string("team"));
	add_refused(pem.data, bad, OPTREG_EINVAL, "type", "namespaces");
	json_decref(bad);
	bad = json_pack("[s, s]", "team", "Bad/NS");
	add_refused(pem.data, bad, OPTREG_EINVAL, "pattern", "namespaces[1]");
	json_decref(bad);
	bad = json_pack("[s, i]", "team", 3);
	add_refused(pem.data, bad, OPTREG_EINVAL, "pattern", "namespaces[1]");
	json_decref(bad);

	json_decref(ok);
	optreg_buf_release(&pem);
	optreg_buf_release(&priv);
	optreg_buf_release(&alice);
}

static void test_get_not_found(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = NULL;

	(void)state;
	/* Well-formed but unknown, and malformed ids. */
	const char *ids[] = {"0000000000000000000000000000000000000000000000000"
			     "000000000000000",
			     "short",
			     "ABCDEF0000000000000000000000000000000000000000000"
			     "000000000000000",
			     ""};
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		assert_int_equal(
			optreg_signers_get(&fixture_reg, ids[i], &out, &errs),
			OPTREG_ENOTFOUND);
		assert_null(out);
		assert_string_equal(errs.items[0].rule, "not_found");
		optreg_errors_release(&errs);
	}
}

static void test_revoke(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	char keyid[OPTREG_KEYID_LEN + 1];
	json_t *out = NULL, *ns = json_pack("[s]", "revokers");

	(void)state;
	new_pem(&pem, false, keyid);
	assert_int_equal(optreg_signers_add(&fixture_reg, &fixture_who,
					    pem.data, "carol", ns, NULL, &out,
					    &errs),
			 0);
	json_decref(out);
	long long events = fixture_count("audit_events");
	assert_int_equal(optreg_signers_revoke(&fixture_reg, &fixture_who,
					       keyid, &out, &errs),
			 0);
	const char *at = json_string_value(json_object_get(out, "revoked_at"));
	assert_non_null(at);
	char *first = optreg_xstrdup(at);
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 1);

	/* Revoking again keeps the first revocation and is no new event. */
	assert_int_equal(optreg_signers_revoke(&fixture_reg, &fixture_who,
					       keyid, &out, &errs),
			 0);
	assert_string_equal(
		json_string_value(json_object_get(out, "revoked_at")), first);
	json_decref(out);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(optreg_signers_get(&fixture_reg, keyid, &out, &errs),
			 0);
	assert_string_equal(
		json_string_value(json_object_get(out, "revoked_at")), first);
	json_decref(out);
	free(first);

	/* Unknown and malformed ids: not found, nothing written. */
	events = fixture_count("audit_events");
	assert_int_equal(
		optreg_signers_revoke(&fixture_reg, &fixture_who,
				      "11111111111111111111111111111111"
				      "11111111111111111111111111111111",
				      &out, &errs),
		OPTREG_ENOTFOUND);
	assert_null(out);
	assert_string_equal(errs.items[0].rule, "not_found");
	optreg_errors_release(&errs);
	assert_int_equal(optreg_signers_revoke(&fixture_reg, &fixture_who,
					       "nope", &out, &errs),
			 OPTREG_ENOTFOUND);
	assert_null(out);
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("audit_events"), events);
	json_decref(ns);
	optreg_buf_release(&pem);
}

static void test_registry_keys(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = NULL;

	(void)state;
	assert_int_equal(
		optreg_signers_registry_keys(&fixture_reg, &out, &errs), 0);
	assert_true(json_is_array(out) || json_is_object(out));
	char *text = json_dumps(out, 0);
	assert_non_null(strstr(text, fixture_reg.key.keyid));
	free(text);
	json_decref(out);
	assert_int_equal(errs.len, 0);
}

static void test_pool_exhausted(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out = (json_t *)1;

	(void)state;
	PGconn *a = optreg_pool_get(fixture_reg.db, 2000);
	PGconn *b = optreg_pool_get(fixture_reg.db, 2000);
	fixture_reg.db_wait_ms = 20;
	assert_int_equal(optreg_signers_list(&fixture_reg, NULL, &out, &errs),
			 OPTREG_EUNAVAILABLE);
	assert_null(out);
	assert_int_equal(errs.len, 0);
	fixture_reg.db_wait_ms = 2000;
	optreg_pool_put(fixture_reg.db, a, false);
	optreg_pool_put(fixture_reg.db, b, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_get_list),
		cmocka_unit_test(test_add_refusals),
		cmocka_unit_test(test_purpose_and_principal),
		cmocka_unit_test(test_get_not_found),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_registry_keys),
		cmocka_unit_test(test_pool_exhausted),
	};

	return cmocka_run_group_tests_name("signers", tests, fixture_setup,
					   fixture_teardown);
}
