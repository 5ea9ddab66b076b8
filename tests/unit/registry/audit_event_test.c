/*
 * tests/unit/registry/audit_event_test.c: an audit event split around the
 * version number (optreg_audit_event_split), which migrations/0013's
 * submit_record joins with the number the database picks, must be exactly
 * the event optreg_audit_event makes for the whole target, whatever the
 * actor, details and number; and that event must be RFC 8785 canonical
 * JSON (re-serialized, it does not change).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "registry/audit.h"
#include "validator/jcs.h"

/* Head, number and tail against the whole event; both made from their own
 * copies of `details` (each call steals one). */
static void check_split(const struct optreg_audit_actor *who,
			const char *target_head, const json_t *details,
			long long number, const char *now)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf head = OPTREG_BUF_INIT, tail = OPTREG_BUF_INIT;
	struct optreg_buf whole = OPTREG_BUF_INIT, joined = OPTREG_BUF_INIT;
	struct optreg_buf again = OPTREG_BUF_INIT;
	char target[300];

	snprintf(target, sizeof(target), "%s%lld", target_head, number);
	assert_int_equal(optreg_audit_event_split(
				 who, "version.created", target_head,
				 details ? json_deep_copy(details) : NULL, now,
				 &head, &tail, &errs),
			 0);
	assert_int_equal(
		optreg_audit_event(who, "version.created", target,
				   details ? json_deep_copy(details) : NULL,
				   now, &whole, &errs),
		0);
	optreg_buf_addf(&joined, "%s%lld%s", head.data, number, tail.data);
	assert_string_equal(joined.data, whole.data);

	/* Canonical: parsed and serialized again, the same bytes. */
	json_t *parsed = json_loads(whole.data, JSON_DECODE_ANY, NULL);
	assert_non_null(parsed);
	assert_string_equal(
		json_string_value(json_object_get(parsed, "target")), target);
	assert_int_equal(optreg_jcs_serialize(parsed, &again, &errs), 0);
	assert_string_equal(again.data, whole.data);
	json_decref(parsed);

	optreg_buf_release(&head);
	optreg_buf_release(&tail);
	optreg_buf_release(&whole);
	optreg_buf_release(&joined);
	optreg_buf_release(&again);
	optreg_errors_release(&errs);
}

static void test_split_matches_whole_event(void **state)
{
	static const long long numbers[] = {1,	 9,	10,	     99,
					    100, 12345, 2147483647LL};
	const struct optreg_audit_actor actors[] = {
		{"ci-bot", "tok_0123456789abcdef", "req-1"},
		{NULL, NULL, NULL},
		{"Ünïcode \"quoted\" \\ actor", "", "\x01\x1f"},
	};
	json_t *details[] = {
		NULL,
		json_pack(
			"{s:s, s:[s,s], s:s, s:s}", "digest",
			"sha256:0123456789abcdef0123456789abcdef0123456789abcd"
			"ef0123456789abcdef",
			"signer_keyids", "b", "a", "message",
			"line one\nline \"two\" \t \u00e9 \U0001F600", "link",
			"https://example.com/pr/1?a=b&c=<d>"),
		json_pack("{s:s, s:o, s:[{s:s, s:I, s:f}]}", "digest", "x",
			  "empty", json_object(), "violations", "rule", "lr",
			  "policy_version", (json_int_t)3, "limit", 1e-3),
	};

	(void)state;
	for (size_t a = 0; a < sizeof(actors) / sizeof(actors[0]); a++)
		for (size_t d = 0; d < sizeof(details) / sizeof(details[0]);
		     d++)
			for (size_t n = 0;
			     n < sizeof(numbers) / sizeof(numbers[0]); n++)
				check_split(&actors[a], "team-a/cfg.v2_x@",
					    details[d], numbers[n],
					    "2026-12-04T19:30:00.123Z");
	for (size_t d = 0; d < sizeof(details) / sizeof(details[0]); d++)
		json_decref(details[d]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_matches_whole_event),
	};
	return cmocka_run_group_tests_name("audit_event", tests, NULL, NULL);
}
