/*
 * tests/unit/registry/tokens_test.c: the tokens service
 * (registry/svc/tokens.h) against a private PostgreSQL cluster, without
 * HTTP: create, list and revoke with their audit events, and authentication of
 * the tokens through optreg_auth_authenticate (auth.c): well-formed,
 * unknown, expired and revoked tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "registry/auth.h"
#include "registry/svc/tokens.h"
#include "svc_fixture.h"

/* Authenticates "Bearer <token>"; the code, `p` released. */
static int authenticate(const char *token, struct optreg_principal *p)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *h = token ? optreg_xasprintf("Bearer %s", token) : NULL;
	int rc = optreg_auth_authenticate(&fixture_reg, h, p, &errs);

	if (rc == OPTREG_EUNAUTH) {
		assert_int_equal(errs.len, 1);
		assert_string_equal(errs.items[0].rule, "unauthorized");
	}
	free(h);
	optreg_errors_release(&errs);
	return rc;
}

static void test_create_and_authenticate(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_grant grants[2] = {{OPTREG_ROLE_SUBMITTER, "team"},
					 {OPTREG_ROLE_READER, "*"}};
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];
	struct optreg_principal p;
	time_t expires = 1;

	(void)state;
	long long events = fixture_count("audit_events");
	assert_int_equal(optreg_tokens_create(&fixture_reg, &fixture_who,
					      "dave", grants, 2, 0, token, id,
					      &expires, &errs),
			 0);
	assert_int_equal(expires, 0);
	assert_true(optreg_token_well_formed(token));
	assert_int_equal(strlen(id), OPTREG_TOKEN_ID_LEN);
	assert_memory_equal(id, "tok_", 4);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(fixture_scalar("SELECT count(*) FROM token_grants"),
			 2);

	assert_int_equal(authenticate(token, &p), 0);
	assert_string_equal(p.name, "dave");
	assert_string_equal(p.id, id);
	assert_int_equal(p.ngrants, 2);
	assert_true(optreg_principal_allows(&p, OPTREG_ROLE_SUBMITTER, "team"));
	assert_false(
		optreg_principal_allows(&p, OPTREG_ROLE_SUBMITTER, "other"));
	assert_true(optreg_principal_allows(&p, OPTREG_ROLE_READER, "other"));
	optreg_principal_release(&p);

	/* With an expiry: it is reported and still accepted now. */
	assert_int_equal(optreg_tokens_create(&fixture_reg, &fixture_who,
					      "erin", grants, 1, 3600, token,
					      id, &expires, &errs),
			 0);
	assert_true(expires > time(NULL) + 3500 &&
		    expires <= time(NULL) + 3601);
	assert_int_equal(authenticate(token, &p), 0);
	assert_int_equal(p.expires_at, expires);
	optreg_principal_release(&p);
	assert_int_equal(errs.len, 0);
}

static void test_authenticate_refusals(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_grant g = {OPTREG_ROLE_READER, "*"};
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];
	struct optreg_principal p;

	(void)state;
	/* No header: anonymous, no grants. */
	assert_int_equal(authenticate(NULL, &p), 0);
	assert_string_equal(p.name, "anonymous");
	assert_int_equal(p.ngrants, 0);
	optreg_principal_release(&p);
	/* Malformed: refused without the database. */
	assert_int_equal(authenticate("optreg_nope", &p), OPTREG_EUNAUTH);
	assert_int_equal(
		optreg_auth_authenticate(&fixture_reg, "Basic abc", &p, &errs),
		OPTREG_EUNAUTH);
	optreg_errors_release(&errs);
	/* Well-formed but unknown. */
	optreg_token_generate(token);
	assert_int_equal(authenticate(token, &p), OPTREG_EUNAUTH);

	/* Expired: made to expire in the database. */
	assert_int_equal(optreg_tokens_create(&fixture_reg, &fixture_who,
					      "frank", &g, 1, 60, token, id,
					      NULL, &errs),
			 0);
	char *sql = optreg_xasprintf("UPDATE tokens SET expires_at = now() - "
				     "interval '1 s' WHERE id = '%s'",
				     id);
	assert_int_equal(fixture_scalar(sql), 1);
	free(sql);
	assert_int_equal(authenticate(token, &p), OPTREG_EUNAUTH);
	assert_int_equal(errs.len, 0);
}

static void test_revoke(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_grant g = {OPTREG_ROLE_ADMIN, "*"};
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];
	struct optreg_principal p;

	(void)state;
	assert_int_equal(optreg_tokens_create(&fixture_reg, &fixture_who,
					      "gina", &g, 1, 0, token, id, NULL,
					      &errs),
			 0);
	assert_int_equal(authenticate(token, &p), 0);
	optreg_principal_release(&p);
	long long events = fixture_count("audit_events");
	assert_int_equal(
		optreg_tokens_revoke(&fixture_reg, &fixture_who, id, &errs), 0);
	assert_int_equal(fixture_count("audit_events"), events + 1);
	assert_int_equal(authenticate(token, &p), OPTREG_EUNAUTH);

	/* Again, and an unknown id: not found, nothing written. */
	assert_int_equal(
		optreg_tokens_revoke(&fixture_reg, &fixture_who, id, &errs),
		OPTREG_ENOTFOUND);
	assert_string_equal(errs.items[0].rule, "not_found");
	optreg_errors_release(&errs);
	assert_int_equal(optreg_tokens_revoke(&fixture_reg, &fixture_who,
					      "tok_0000000000000000", &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("audit_events"), events + 1);
}

/* A create that fails (a grant pattern the database refuses) leaves no token,
 * no grant and no event: one transaction. */
static void test_create_refused_writes_nothing(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_grant g[2] = {{OPTREG_ROLE_READER, "team"},
				    {OPTREG_ROLE_READER, "Bad/NS"}};
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];

	(void)state;
	long long events = fixture_count("audit_events");
	long long tokens = fixture_count("tokens");
	long long grants = fixture_count("token_grants");
	assert_int_equal(optreg_tokens_create(&fixture_reg, &fixture_who,
					      "hank", g, 2, 0, token, id, NULL,
					      &errs),
			 OPTREG_EINTERNAL);
	assert_string_equal(errs.items[0].rule, "database");
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("audit_events"), events);
	assert_int_equal(fixture_count("tokens"), tokens);
	assert_int_equal(fixture_count("token_grants"), grants);
}

/* The list (GET /v1/tokens): id order, paging after an id, a principal's
 * only, revoked ones marked, grants sorted, and never a hash. */
static void test_list(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_grant g[2] = {{OPTREG_ROLE_SUBMITTER, "team-l"},
				    {OPTREG_ROLE_APPROVER, "team-l"}};
	char token[OPTREG_TOKEN_LEN + 1], id[3][OPTREG_TOKEN_ID_LEN + 1];
	json_t *all, *page, *t;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(optreg_tokens_create(
					 &fixture_reg, &fixture_who, "lister",
					 g, i == 0 ? 2 : 1, i == 1 ? 3600 : 0,
					 token, id[i], NULL, &errs),
				 0);
	assert_int_equal(
		optreg_tokens_revoke(&fixture_reg, &fixture_who, id[2], &errs),
		0);
	assert_int_equal(optreg_tokens_list(&fixture_reg, "lister", NULL, 10,
					    &all, &errs),
			 0);
	assert_int_equal(json_array_size(all), 3);
	for (size_t i = 0; i + 1 < json_array_size(all); i++)
		assert_true(strcmp(json_string_value(json_object_get(
					   json_array_get(all, i), "id")),
				   json_string_value(json_object_get(
					   json_array_get(all, i + 1), "id"))) <
			    0);
	for (size_t i = 0; i < json_array_size(all); i++) {
		t = json_array_get(all, i);
		assert_int_equal(json_object_size(t), 6);
		assert_null(json_object_get(t, "token_hash"));
		assert_string_equal(
			json_string_value(json_object_get(t, "principal")),
			"lister");
		assert_non_null(
			json_string_value(json_object_get(t, "created_at")));
		const char *tid = json_string_value(json_object_get(t, "id"));
		json_t *grants = json_object_get(t, "grants");
		if (!strcmp(tid, id[0])) {
			/* Sorted by role: approver before submitter. */
			assert_int_equal(json_array_size(grants), 2);
			assert_string_equal(
				json_string_value(json_object_get(
					json_array_get(grants, 0), "role")),
				"approver");
			assert_true(
				json_is_null(json_object_get(t, "expires_at")));
		} else if (!strcmp(tid, id[1])) {
			assert_non_null(json_string_value(
				json_object_get(t, "expires_at")));
		} else {
			assert_string_equal(tid, id[2]);
			assert_non_null(json_string_value(
				json_object_get(t, "revoked_at")));
		}
		if (strcmp(tid, id[2]))
			assert_true(
				json_is_null(json_object_get(t, "revoked_at")));
	}
	/* After the first: the other two; a limit of 1: one. */
	const char *first = json_string_value(
		json_object_get(json_array_get(all, 0), "id"));
	assert_int_equal(optreg_tokens_list(&fixture_reg, "lister", first, 1,
					    &page, &errs),
			 0);
	assert_int_equal(json_array_size(page), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(page, 0), "id")),
			    json_string_value(json_object_get(
				    json_array_get(all, 1), "id")));
	json_decref(page);
	/* Someone else's: none. */
	assert_int_equal(optreg_tokens_list(&fixture_reg, "nobody", NULL, 10,
					    &page, &errs),
			 0);
	assert_int_equal(json_array_size(page), 0);
	json_decref(page);
	json_decref(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_authenticate),
		cmocka_unit_test(test_authenticate_refusals),
		cmocka_unit_test(test_revoke),
		cmocka_unit_test(test_create_refused_writes_nothing),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests_name("tokens", tests, fixture_setup,
					   fixture_teardown);
}
