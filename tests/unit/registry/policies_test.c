/*
 * tests/unit/registry/policies_test.c: stored policies and waivers
 * (registry/svc/policies.h), the parsed set they apply as
 * (registry/policy_cache.h) and the gate of a tag move
 * (registry/svc/tags.h), against a private PostgreSQL cluster without
 * HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry/policy_cache.h"
#include "registry/svc/policies.h"
#include "registry/svc/svc.h"
#include "registry/svc/tags.h"
#include "registry/svc/versions.h"
#include "svc_fixture.h"

static const char policy_v1[] = "apiVersion: optreg/v1\n"
				"kind: Policy\n"
				"name: cap\n"
				"namespaces: [\"team\"]\n"
				"rules:\n"
				"  - id: lr-cap\n"
				"    severity: deny\n"
				"    field: spec.lr\n"
				"    at_most: 0.1\n"
				"    message: too high\n"
				"gates:\n"
				"  - tags: [prod]\n";

static int put(const char *name, const char *doc, json_t **out,
	       struct optreg_errors *errs)
{
	return optreg_policies_put(&fixture_reg, &fixture_who, name, doc,
				   strlen(doc), "test", out, errs);
}

static void test_put_versions(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *out;

	(void)state;
	assert_int_equal(put("cap", policy_v1, &out, &errs), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "version")),
			 1);
	assert_true(json_is_true(json_object_get(out, "created")));
	json_decref(out);
	/* The same document again is no new version. */
	assert_int_equal(put("cap", policy_v1, &out, &errs), 0);
	assert_int_equal(json_integer_value(json_object_get(out, "version")),
			 1);
	assert_true(json_is_false(json_object_get(out, "created")));
	json_decref(out);
	assert_int_equal(fixture_count("policy_versions"), 1);
	/* Another name in the document. */
	assert_int_equal(put("other", policy_v1, &out, &errs),
			 OPTREG_ENAMEMISMATCH);
	assert_null(out);
	optreg_errors_release(&errs);
	/* A broken document: refused with the line. */
	assert_int_equal(put("cap", "name: cap\nrules: 7\n", &out, &errs),
			 OPTREG_EBADPOLICY);
	assert_true(errs.len > 0);
	assert_true(errs.items[0].line > 0);
	optreg_errors_release(&errs);
	assert_int_equal(fixture_count("policy_versions"), 1);
}

static void test_set_parsed_once(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy_set *a, *b, *c;
	json_t *out;

	(void)state;
	PGconn *conn = optreg_svc_conn(&fixture_reg);
	assert_non_null(conn);
	assert_int_equal(optreg_policy_set_get(conn, &a, &errs), 0);
	assert_int_equal(optreg_policy_set_get(conn, &b, &errs), 0);
	/* Nothing changed: the same parsed set. */
	assert_ptr_equal(a, b);
	assert_int_equal(a->n, 1);
	assert_int_equal(optreg_policy_version(a->items[0]), 1);
	/* A new version makes the next use parse again; the old set stays
	 * usable by whoever holds it. */
	char *v2 = optreg_xasprintf("%s  - tags: [\"release-*\"]\n", policy_v1);
	assert_int_equal(put("cap", v2, &out, &errs), 0);
	free(v2);
	json_decref(out);
	assert_int_equal(optreg_policy_set_get(conn, &c, &errs), 0);
	assert_ptr_not_equal(a, c);
	assert_int_equal(optreg_policy_version(c->items[0]), 2);
	assert_string_equal(optreg_policy_name(a->items[0]), "cap");
	optreg_policy_set_put(a);
	optreg_policy_set_put(b);
	optreg_policy_set_put(c);
	optreg_svc_put(&fixture_reg, conn, 0);
}

/* Evaluates the stored policies on {"spec": {"lr": lr}} in team/x. */
static size_t denied_for(double lr, size_t *waived)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_policy_result r;
	struct optreg_policy_set *s;
	json_t *cfg = json_pack("{s:{s:f}}", "spec", "lr", lr);
	struct optreg_policy_subject subj = {"team", "x", cfg, NULL, NULL};

	PGconn *conn = optreg_svc_conn(&fixture_reg);
	assert_non_null(conn);
	optreg_policy_result_init(&r);
	assert_int_equal(optreg_policy_set_get(conn, &s, &errs), 0);
	assert_int_equal(optreg_policy_set_check(conn, s, &subj, &r, &errs), 0);
	size_t denied = r.denied;
	*waived = r.waived;
	optreg_policy_result_release(&r);
	optreg_policy_set_put(s);
	optreg_svc_put(&fixture_reg, conn, 0);
	json_decref(cfg);
	return denied;
}

static void test_waiver_expires(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	size_t waived = 0;
	char when[40];
	json_t *w;

	(void)state;
	assert_int_equal(denied_for(0.5, &waived), 1);
	assert_int_equal(waived, 0);
	time_t t = time(NULL) + 3;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "policy",
				"cap", "rule", "lr-cap", "namespace", "team",
				"config", "*", "reason", "sweep", "owner",
				"lead", "expires_at", when);
	assert_int_equal(optreg_waivers_grant(&fixture_reg, &fixture_who, req,
					      &w, &errs),
			 0);
	assert_true(json_is_true(json_object_get(w, "active")));
	json_decref(w);
	json_decref(req);
	assert_int_equal(denied_for(0.5, &waived), 0);
	assert_int_equal(waived, 1);
	/* Past its expiry it stops applying, with nothing else done. */
	sleep(4);
	assert_int_equal(denied_for(0.5, &waived), 1);
	assert_int_equal(waived, 0);
	assert_int_equal(fixture_scalar("SELECT count(*) FROM audit_events "
					"WHERE action = 'waiver.grant'"),
			 1);
}

static void test_gate(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_tag_move_result res;
	int v = fixture_submit("team", "gated", 0.01, NULL);
	struct optreg_tag_move_req m = {"team", "gated", "prod", v,    -1,
					NULL,	NULL,	 false,	 false};

	(void)state;
	assert_true(v > 0);
	/* Not an approver. */
	optreg_tag_move_result_init(&res);
	assert_int_equal(
		optreg_tags_move(&fixture_reg, &fixture_who, &m, &res, &errs),
		OPTREG_EDENIED);
	assert_non_null(strstr(errs.items[0].message, "cap"));
	optreg_errors_release(&errs);
	/* No reason. */
	m.approver = true;
	assert_int_equal(
		optreg_tags_move(&fixture_reg, &fixture_who, &m, &res, &errs),
		OPTREG_EBADREQUEST);
	assert_string_equal(errs.items[0].path, "reason");
	optreg_errors_release(&errs);
	/* No verdict yet. */
	m.reason = "ship";
	assert_int_equal(
		optreg_tags_move(&fixture_reg, &fixture_who, &m, &res, &errs),
		OPTREG_EGATE);
	assert_string_equal(errs.items[0].rule, "no_verdict");
	assert_non_null(res.gate);
	optreg_errors_release(&errs);
	optreg_tag_move_result_release(&res);
	/* Nothing moved, nothing recorded. */
	assert_int_equal(fixture_count("tags"), 0);
	assert_int_equal(fixture_count("tag_moves"), 0);
	/* A tag no gate protects moves, and its move is in the history. */
	m.tag = "canary";
	m.reason = NULL;
	m.approver = false;
	optreg_tag_move_result_init(&res);
	assert_int_equal(
		optreg_tags_move(&fixture_reg, &fixture_who, &m, &res, &errs),
		0);
	assert_null(res.gate);
	optreg_tag_move_result_release(&res);
	assert_int_equal(fixture_count("tag_moves"), 1);
}

static void test_delete(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	size_t waived;
	json_t *out;

	(void)state;
	assert_int_equal(optreg_policies_delete(&fixture_reg, &fixture_who,
						"cap", "gone", &out, &errs),
			 0);
	assert_int_equal(json_integer_value(json_object_get(out, "version")),
			 3);
	json_decref(out);
	assert_int_equal(denied_for(0.5, &waived), 0);
	assert_int_equal(optreg_policies_delete(&fixture_reg, &fixture_who,
						"cap", "again", &out, &errs),
			 OPTREG_ENOTFOUND);
	optreg_errors_release(&errs);
	/* The rows are immutable. */
	assert_int_equal(fixture_scalar("UPDATE policy_versions SET message = "
					"'x' WHERE name = 'cap'"),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_versions),
		cmocka_unit_test(test_set_parsed_once),
		cmocka_unit_test(test_waiver_expires),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_delete),
	};

	return cmocka_run_group_tests_name("policies", tests, fixture_setup,
					   fixture_teardown);
}
