/*
 * tests/unit/cli/lock_test.c: lock files (cli/lock.c): the format pin
 * writes, reading it back, and each field a bad lock file is refused for,
 * named in the message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/lock.h"

/* A public key and its id (SHA-256 of the SPKI DER), made with openssl. */
#define PEM                                                                    \
	"-----BEGIN PUBLIC KEY-----\n"                                         \
	"MCowBQYDK2VwAyEAcsDItLqN8DcnI1dCDwmraIEg2WTuzm2HjlB5urBIJJ4=\n"       \
	"-----END PUBLIC KEY-----\n"
#define KEYID "3f82dc49a0bc261c63e6abf3023ce61cff7c92e1bc69364c8ad66545e0cea0a6"
#define D64   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void fill(struct cli_lock *l)
{
	cli_lock_init(l);
	l->ref = strdup("team-a/bert@prod");
	strcpy(l->ns, "team-a");
	strcpy(l->name, "bert");
	l->version = 7;
	strcpy(l->digest, "sha256:" D64);
	l->registry = strdup("http://127.0.0.1:8080");
	strcpy(l->keyid, KEYID);
	l->registry_key = strdup(PEM);
	strcpy(l->pinned_at, "2026-12-03T12:00:00Z");
}

static const char expected[] =
	"{\n"
	"  \"optreg_lock\": 1,\n"
	"  \"ref\": \"team-a/bert@prod\",\n"
	"  \"namespace\": \"team-a\",\n"
	"  \"name\": \"bert\",\n"
	"  \"version\": 7,\n"
	"  \"digest\": \"sha256:" D64 "\",\n"
	"  \"registry\": \"http://127.0.0.1:8080\",\n"
	"  \"registry_keyid\": \"" KEYID "\",\n"
	"  \"registry_key\": \"-----BEGIN PUBLIC KEY-----\\n"
	"MCowBQYDK2VwAyEAcsDItLqN8DcnI1dCDwmraIEg2WTuzm2HjlB5urBIJJ4=\\n"
	"-----END PUBLIC KEY-----\\n\",\n"
	"  \"pinned_at\": \"2026-12-03T12:00:00Z\"\n"
	"}\n";

static void test_format_and_parse(void **state)
{
	struct optreg_buf out = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	struct cli_lock l, back;

	(void)state;
	fill(&l);
	cli_lock_format(&l, &out);
	assert_string_equal(out.data, expected);
	cli_lock_init(&back);
	assert_int_equal(cli_lock_parse(out.data, out.len, &back, &why), 0);
	assert_string_equal(back.ref, l.ref);
	assert_string_equal(back.ns, "team-a");
	assert_string_equal(back.name, "bert");
	assert_int_equal(back.version, 7);
	assert_string_equal(back.digest, l.digest);
	assert_string_equal(back.registry, l.registry);
	assert_string_equal(back.keyid, KEYID);
	assert_string_equal(back.registry_key, PEM);
	assert_string_equal(back.pinned_at, l.pinned_at);
	cli_lock_release(&back);
	cli_lock_release(&back); /* twice is fine */
	cli_lock_release(&l);
	optreg_buf_release(&out);
	optreg_buf_release(&why);
}

/* Replaces the first `from` in the formatted lock with `to` and parses
 * it; returns the message (static), or NULL when it parsed. */
static const char *parse_edited(const char *from, const char *to)
{
	static struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_buf text = OPTREG_BUF_INIT;
	struct cli_lock l;
	const char *at = strstr(expected, from);
	int rc;

	assert_non_null(at);
	optreg_buf_add(&text, expected, (size_t)(at - expected));
	optreg_buf_adds(&text, to);
	optreg_buf_adds(&text, at + strlen(from));
	optreg_buf_reset(&why);
	cli_lock_init(&l);
	rc = cli_lock_parse(text.data, text.len, &l, &why);
	cli_lock_release(&l);
	optreg_buf_release(&text);
	return rc == 0 ? NULL : why.data;
}

static void test_refused(void **state)
{
	(void)state;
	assert_null(parse_edited("\"optreg_lock\": 1", "\"optreg_lock\": 1"));
	assert_string_equal(
		parse_edited("\"optreg_lock\": 1", "\"optreg_lock\": 2"),
		"lock file: \"optreg_lock\": expected 1, got 2 (a lock file "
		"from another optreg version, or not a lock "
		"file)");
	assert_non_null(strstr(parse_edited("\"optreg_lock\": 1,\n",
					    "\"optreg_lock\": 1,\n  \"extra\": "
					    "true,\n"),
			       "lock file: unknown field \"extra\""));
	assert_string_equal(
		parse_edited("  \"name\": \"bert\",\n", ""),
		"lock file: \"name\": expected a string, got nothing");
	assert_string_equal(
		parse_edited("\"version\": 7", "\"version\": \"7\""),
		"lock file: \"version\": expected a whole number from 1, got "
		"string");
	assert_non_null(strstr(parse_edited("\"version\": 7", "\"version\": 0"),
			       "\"version\": expected a whole number from 1"));
	assert_string_equal(
		parse_edited("sha256:0123", "sha256:X123"),
		"lock file: \"digest\": expected sha256: and 64 lowercase hex "
		"digits, got \"sha256:X123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef\"");
	assert_non_null(strstr(parse_edited("\"" KEYID "\"", "\"0" KEYID "\""),
			       "\"registry_keyid\": expected 64 lowercase "
			       "hex digits"));
	assert_string_equal(parse_edited("\"" KEYID "\"", "\"" D64 "\""),
			    "lock file: \"registry_key\": its key id is " KEYID
			    ", not registry_keyid " D64);
	assert_non_null(strstr(parse_edited("MCowBQ", "XXowBQ"),
			       "lock file: \"registry_key\": "));
	assert_non_null(strstr(parse_edited("\"namespace\": \"team-a\"",
					    "\"namespace\": \"Team A\""),
			       "lock file: \"namespace\"/\"name\": "));
	assert_non_null(strstr(parse_edited("\"ref\": \"team-a/bert@prod\"",
					    "\"ref\": \"nope\""),
			       "lock file: \"ref\": "));
	assert_non_null(strstr(parse_edited("{\n", "[\n"),
			       "lock file: expected a JSON object"));
	/* The ref must name the version the lock pins: it is what the
	 * configmap and torch formats show. */
	assert_string_equal(
		parse_edited("\"ref\": \"team-a/bert@prod\"",
			     "\"ref\": \"team-b/bert@prod\""),
		"lock file: \"ref\": \"team-b/bert@prod\" does not name the "
		"version the lock pins (team-a/bert@7, sha256:" D64
		"); re-pin with `optreg pin REF`");
	assert_non_null(strstr(parse_edited("\"ref\": \"team-a/bert@prod\"",
					    "\"ref\": \"team-a/bert@6\""),
			       "\"ref\": \"team-a/bert@6\" does not name"));
	assert_null(parse_edited("\"ref\": \"team-a/bert@prod\"",
				 "\"ref\": \"team-a/bert@7\""));
	assert_null(parse_edited("\"ref\": \"team-a/bert@prod\"",
				 "\"ref\": \"team-a/bert\""));
	assert_null(parse_edited("\"ref\": \"team-a/bert@prod\"",
				 "\"ref\": \"sha256:" D64 "\""));
	{
		static const char other[] =
			"\"ref\": \"sha256:"
			"f123456789abcdef0123456789abcdef"
			"0123456789abcdef0123456789abcdef\"";
		assert_non_null(strstr(
			parse_edited("\"ref\": \"team-a/bert@prod\"", other),
			"does not name the version the lock pins"));
	}
	assert_string_equal(
		parse_edited("\"version\": 7", "\"version\": -3"),
		"lock file: \"version\": expected a whole number from 1, got "
		"-3");
	/* A key twice is refused, not read as the last one. */
	assert_non_null(parse_edited("\"version\": 7",
				     "\"version\": 7, \"version\": 8"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_and_parse),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
