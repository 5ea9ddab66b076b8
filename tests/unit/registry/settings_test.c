/*
 * tests/unit/registry/settings_test.c: optreg-server's settings without a
 * server: defaults, a settings file, the environment over the file, flags
 * over the environment, and bad values refused with an error that names
 * the setting as it was given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "registry/settings.h"

static const char *const env_names[] = {
	"OPTREG_CONFIG",
	"OPTREG_DATABASE_URL",
	"OPTREG_LISTEN",
	"OPTREG_THREADS",
	"OPTREG_DB_POOL",
	"OPTREG_MAX_BODY",
	"OPTREG_ANONYMOUS_READ",
	"OPTREG_REGISTRY_KEY",
	"OPTREG_AUDIT_ORIGIN",
	"OPTREG_DB_STATEMENT_TIMEOUT_MS",
	"OPTREG_DB_LOCK_TIMEOUT_MS",
	"OPTREG_DB_IDLE_TIMEOUT_MS",
	"OPTREG_DB_WAIT_MS",
	"OPTREG_DB_TIMEOUT_MS",
	"OPTREG_LEASE_MIN_SECONDS",
};

static char dir[] = "/tmp/optreg-settings-test.XXXXXX";
static char file[sizeof(dir) + 32];

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/settings.yaml", dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(file);
	rmdir(dir);
	return 0;
}

static void write_settings(const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Parses `argv` (NULL-ended, without the program name). */
static int parse(struct optreg_settings *s, struct optreg_errors *errs,
		 const char *const *args)
{
	char *argv[32] = {"optreg-server"};
	int argc = 1;

	while (args && args[argc - 1]) {
		assert_true(argc < 32);
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	return optreg_settings_parse(s, argc, argv, errs);
}

/* Expects OPTREG_EUSAGE with one error about `setting` whose message
 * contains `want`. */
static void expect_usage(const char *const *args, const char *setting,
			 const char *want)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;

	assert_int_equal(parse(&s, &errs, args), OPTREG_EUSAGE);
	assert_int_equal(errs.len, 1);
	assert_int_equal(errs.items[0].code, OPTREG_EUSAGE);
	assert_string_equal(errs.items[0].rule, "settings");
	if (setting)
		assert_string_equal(errs.items[0].path, setting);
	if (!strstr(errs.items[0].message, want))
		fail_msg("message \"%s\" lacks \"%s\"", errs.items[0].message,
			 want);
	optreg_errors_release(&errs);
	optreg_settings_release(&s);
}

static void test_defaults(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;
	const char *const args[] = {"serve", NULL};

	(void)state;
	assert_int_equal(parse(&s, &errs, args), 0);
	assert_int_equal(errs.len, 0);
	assert_null(s.database);
	assert_string_equal(s.listen, "127.0.0.1:8080");
	assert_string_equal(s.registry_key, "registry-key.pem");
	assert_string_equal(s.audit_origin, "optreg.local/audit");
	assert_int_equal(s.threads, 4);
	assert_int_equal(s.pool, 8);
	assert_int_equal(s.max_body, 1 << 20);
	assert_int_equal(s.checkpoint_every, 100);
	assert_int_equal(s.checkpoint_interval, 10);
	assert_false(s.anonymous_read);
	assert_null(s.config_path);
	assert_int_equal(s.nargs, 1);
	assert_string_equal(s.args[0], "serve");
	optreg_settings_release(&s);
}

static void test_file(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;
	const char *const args[] = {"serve", "--config", file, NULL};
	const char *const args_env[] = {"serve", NULL};

	(void)state;
	write_settings("database: dbname=fromfile\n"
		       "listen: 127.0.0.1:1\n"
		       "threads: 7\n"
		       "pool: 3\n"
		       "max_body: 2048\n"
		       "anonymous_read: true\n"
		       "registry_key: /k.pem\n"
		       "audit_origin: example.org/log\n"
		       "checkpoint_every: 5\n"
		       "checkpoint_interval: 6\n");
	assert_int_equal(parse(&s, &errs, args), 0);
	assert_string_equal(s.config_path, file);
	assert_string_equal(s.database, "dbname=fromfile");
	assert_string_equal(s.listen, "127.0.0.1:1");
	assert_int_equal(s.threads, 7);
	assert_int_equal(s.pool, 3);
	assert_int_equal(s.max_body, 2048);
	assert_true(s.anonymous_read);
	assert_string_equal(s.registry_key, "/k.pem");
	assert_string_equal(s.audit_origin, "example.org/log");
	assert_int_equal(s.checkpoint_every, 5);
	assert_int_equal(s.checkpoint_interval, 6);
	optreg_settings_release(&s);

	/* $OPTREG_CONFIG names the file when --config does not. */
	setenv("OPTREG_CONFIG", file, 1);
	assert_int_equal(parse(&s, &errs, args_env), 0);
	assert_string_equal(s.config_path, file);
	assert_int_equal(s.threads, 7);
	optreg_settings_release(&s);

	/* --config wins over $OPTREG_CONFIG. */
	setenv("OPTREG_CONFIG", "/nonexistent/settings.yaml", 1);
	assert_int_equal(parse(&s, &errs, args), 0);
	assert_int_equal(s.threads, 7);
	optreg_settings_release(&s);
	assert_int_equal(errs.len, 0);
}

/* Flags over the environment over the file, setting by setting. */
static void test_precedence(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;
	const char *const no_flags[] = {"serve", NULL};
	const char *const flags[] = {"serve",
				     "--listen",
				     "127.0.0.1:3",
				     "--threads",
				     "9",
				     "--pool",
				     "10",
				     "--max-body",
				     "4096",
				     "--database",
				     "dbname=flag",
				     "--registry-key",
				     "/flag.pem",
				     "--audit-origin",
				     "flag.example/log",
				     "--anonymous-read",
				     NULL};

	(void)state;
	write_settings("database: dbname=file\n"
		       "listen: 127.0.0.1:1\n"
		       "threads: 2\n"
		       "pool: 2\n"
		       "max_body: 2048\n"
		       "anonymous_read: true\n"
		       "registry_key: /file.pem\n"
		       "audit_origin: file.example/log\n");
	setenv("OPTREG_CONFIG", file, 1);
	setenv("OPTREG_DATABASE_URL", "dbname=env", 1);
	setenv("OPTREG_LISTEN", "127.0.0.1:2", 1);
	setenv("OPTREG_THREADS", "3", 1);
	setenv("OPTREG_DB_POOL", "4", 1);
	setenv("OPTREG_MAX_BODY", "3072", 1);
	setenv("OPTREG_ANONYMOUS_READ", "0", 1);
	setenv("OPTREG_REGISTRY_KEY", "/env.pem", 1);
	setenv("OPTREG_AUDIT_ORIGIN", "env.example/log", 1);

	/* The environment over the file. */
	assert_int_equal(parse(&s, &errs, no_flags), 0);
	assert_string_equal(s.database, "dbname=env");
	assert_string_equal(s.listen, "127.0.0.1:2");
	assert_int_equal(s.threads, 3);
	assert_int_equal(s.pool, 4);
	assert_int_equal(s.max_body, 3072);
	assert_false(s.anonymous_read);
	assert_string_equal(s.registry_key, "/env.pem");
	assert_string_equal(s.audit_origin, "env.example/log");
	optreg_settings_release(&s);

	/* Flags over the environment. */
	assert_int_equal(parse(&s, &errs, flags), 0);
	assert_string_equal(s.database, "dbname=flag");
	assert_string_equal(s.listen, "127.0.0.1:3");
	assert_int_equal(s.threads, 9);
	assert_int_equal(s.pool, 10);
	assert_int_equal(s.max_body, 4096);
	assert_true(s.anonymous_read);
	assert_string_equal(s.registry_key, "/flag.pem");
	assert_string_equal(s.audit_origin, "flag.example/log");
	optreg_settings_release(&s);

	/* What the environment leaves unset still comes from the file. */
	unsetenv("OPTREG_THREADS");
	unsetenv("OPTREG_ANONYMOUS_READ");
	assert_int_equal(parse(&s, &errs, no_flags), 0);
	assert_int_equal(s.threads, 2);
	assert_true(s.anonymous_read);
	optreg_settings_release(&s);
	assert_int_equal(errs.len, 0);
}

static void test_command_arguments(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;
	const char *const args[] = {
		"token",       "create",       "--principal",
		"ci",	       "--role",       "reader",
		"--role",      "submitter",    "--namespace",
		"team-*",      "--expires-in", "3600",
		"--port-file", "/tmp/p",       NULL};

	(void)state;
	assert_int_equal(parse(&s, &errs, args), 0);
	assert_int_equal(s.nargs, 2);
	assert_string_equal(s.args[0], "token");
	assert_string_equal(s.args[1], "create");
	assert_string_equal(s.principal, "ci");
	assert_int_equal(s.nroles, 2);
	assert_string_equal(s.roles[0], "reader");
	assert_string_equal(s.roles[1], "submitter");
	assert_string_equal(s.ns, "team-*");
	assert_int_equal(s.expires_in, 3600);
	assert_string_equal(s.port_file, "/tmp/p");
	optreg_settings_release(&s);
}

static void test_bad_flags(void **state)
{
	(void)state;
	expect_usage((const char *const[]){"serve", "--threads", "0", NULL},
		     "--threads", "--threads must be 1..256 (got 0)");
	expect_usage((const char *const[]){"serve", "--pool", "x", NULL},
		     "--pool", "--pool must be 1..256 (got x)");
	expect_usage((const char *const[]){"serve", "--max-body", "1023", NULL},
		     "--max-body",
		     "--max-body must be 1024..67108864 (got 1023)");
	expect_usage(
		(const char *const[]){"serve", "--checkpoint-every", "0", NULL},
		"--checkpoint-every",
		"--checkpoint-every must be 1..1000000 (got 0)");
	expect_usage((const char *const[]){"serve", "--checkpoint-interval",
					   "86401", NULL},
		     "--checkpoint-interval",
		     "--checkpoint-interval must be 1..86400 seconds");
	expect_usage((const char *const[]){"token", "create", "--expires-in",
					   "-1", NULL},
		     "--expires-in",
		     "--expires-in must be a positive number of seconds");
	expect_usage((const char *const[]){"serve", "--bogus", "1", NULL},
		     "--bogus", "unknown option \"--bogus\"");
	expect_usage((const char *const[]){"serve", "--listen", NULL},
		     "--listen", "--listen needs a value");
	expect_usage((const char *const[]){"a", "b", "c", "d", "e", NULL}, NULL,
		     "too many arguments");
	expect_usage((const char *const[]){"serve", "--audit-origin",
					   "has space", NULL},
		     "--audit-origin", "--audit-origin must not contain");
}

static void test_bad_environment(void **state)
{
	const char *const args[] = {"serve", NULL};

	(void)state;
	setenv("OPTREG_THREADS", "257", 1);
	expect_usage(args, "OPTREG_THREADS",
		     "OPTREG_THREADS must be 1..256 (got 257)");
	unsetenv("OPTREG_THREADS");
	setenv("OPTREG_DB_POOL", "", 1);
	expect_usage(args, "OPTREG_DB_POOL",
		     "OPTREG_DB_POOL must be 1..256 (got )");
	unsetenv("OPTREG_DB_POOL");
	setenv("OPTREG_MAX_BODY", "1e6", 1);
	expect_usage(args, "OPTREG_MAX_BODY",
		     "OPTREG_MAX_BODY must be 1024..67108864 (got 1e6)");
	unsetenv("OPTREG_MAX_BODY");
	/* A bad value the flag replaces is still refused: the environment
	 * is read whole before the flags. */
	setenv("OPTREG_THREADS", "x", 1);
	expect_usage((const char *const[]){"serve", "--threads", "2", NULL},
		     "OPTREG_THREADS", "OPTREG_THREADS must be 1..256");
}

/* The shortest lease a runner may ask for (issue 10): 30 s unless set by
 * the file, the environment or the flag, in that order of precedence. */
static void test_lease_min_seconds(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;

	(void)state;
	assert_int_equal(parse(&s, &errs, (const char *const[]){"serve", NULL}),
			 0);
	assert_int_equal(s.lease_min_seconds, 30);
	optreg_settings_release(&s);
	write_settings("lease_min_seconds: 60\n");
	assert_int_equal(
		parse(&s, &errs,
		      (const char *const[]){"serve", "--config", file, NULL}),
		0);
	assert_int_equal(s.lease_min_seconds, 60);
	optreg_settings_release(&s);
	setenv("OPTREG_LEASE_MIN_SECONDS", "45", 1);
	assert_int_equal(
		parse(&s, &errs,
		      (const char *const[]){"serve", "--config", file, NULL}),
		0);
	assert_int_equal(s.lease_min_seconds, 45);
	optreg_settings_release(&s);
	assert_int_equal(
		parse(&s, &errs,
		      (const char *const[]){"serve", "--config", file,
					    "--lease-min-seconds", "1", NULL}),
		0);
	assert_int_equal(s.lease_min_seconds, 1);
	optreg_settings_release(&s);
	setenv("OPTREG_LEASE_MIN_SECONDS", "0", 1);
	expect_usage((const char *const[]){"serve", NULL},
		     "OPTREG_LEASE_MIN_SECONDS",
		     "OPTREG_LEASE_MIN_SECONDS must be 1..3600 (got 0)");
	unsetenv("OPTREG_LEASE_MIN_SECONDS");
	expect_usage((const char *const[]){"serve", "--lease-min-seconds",
					   "3601", NULL},
		     "--lease-min-seconds",
		     "--lease-min-seconds must be 1..3600 seconds (got 3601)");
	optreg_errors_release(&errs);
}

static void test_bad_file(void **state)
{
	static const struct {
		const char *text, *setting, *want;
	} cases[] = {
		{"unknown: 1\n", "unknown", "unknown setting \"unknown\""},
		{"threads: 0\n", "threads",
		 "threads must be an integer from 1 to 256"},
		{"pool: 1.5\n", "pool",
		 "pool must be an integer from 1 to 256"},
		{"max_body: \"2048\"\n", "max_body",
		 "max_body must be an integer from 1024 to 67108864"},
		{"checkpoint_interval: 0\n", "checkpoint_interval",
		 "checkpoint_interval must be an integer from 1 to 86400"},
		{"lease_min_seconds: 0\n", "lease_min_seconds",
		 "lease_min_seconds must be an integer from 1 to 3600"},
		{"anonymous_read: yes\n", "anonymous_read",
		 "anonymous_read must be true or false"},
		{"database: [1]\n", "database", "database must be a string"},
		{"- a\n- b\n", NULL, "settings must be a mapping"},
	};
	const char *const args[] = {"serve", "--config", file, NULL};
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;
	char want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_settings(cases[i].text);
		/* The message starts with the file's name. */
		snprintf(want, sizeof(want), "%s: %s", file, cases[i].want);
		expect_usage(args, cases[i].setting, want);
	}

	/* A file that cannot be loaded: the loader's errors, not a usage
	 * error. */
	unlink(file);
	assert_int_not_equal(parse(&s, &errs, args), OPTREG_EUSAGE);
	assert_true(errs.len >= 1);
	assert_string_equal(s.config_path, file);
	optreg_errors_release(&errs);
	optreg_settings_release(&s);
	write_settings("threads: [\n");
	assert_int_equal(parse(&s, &errs, args), OPTREG_ESYNTAX);
	assert_true(errs.len >= 1);
	optreg_errors_release(&errs);
	optreg_settings_release(&s);
}

/* The database timeouts: defaults, file, environment, flags, ranges. */
static void test_db_timeouts(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings s;

	(void)state;
	assert_int_equal(parse(&s, &errs, (const char *const[]){"serve", NULL}),
			 0);
	assert_int_equal(s.db_statement_timeout_ms, 5000);
	assert_int_equal(s.db_lock_timeout_ms, 2000);
	assert_int_equal(s.db_idle_timeout_ms, 30000);
	assert_int_equal(s.db_wait_ms, 2000);
	assert_int_equal(s.db_timeout_ms, 6000);
	optreg_settings_release(&s);

	write_settings("db_statement_timeout_ms: 800\n"
		       "db_lock_timeout_ms: 0\n"
		       "db_wait_ms: 100\n");
	setenv("OPTREG_DB_IDLE_TIMEOUT_MS", "7000", 1);
	setenv("OPTREG_DB_WAIT_MS", "250", 1);
	assert_int_equal(
		parse(&s, &errs,
		      (const char *const[]){"serve", "--config", file,
					    "--db-wait-ms", "300", NULL}),
		0);
	assert_int_equal(s.db_statement_timeout_ms, 800);
	assert_int_equal(s.db_lock_timeout_ms, 0);
	assert_int_equal(s.db_idle_timeout_ms, 7000);
	assert_int_equal(s.db_wait_ms, 300); /* flag over env over file */
	assert_int_equal(s.db_timeout_ms, 1800);
	optreg_settings_release(&s);
	unsetenv("OPTREG_DB_IDLE_TIMEOUT_MS");
	unsetenv("OPTREG_DB_WAIT_MS");

	expect_usage(
		(const char *const[]){"serve", "--db-timeout-ms", "99", NULL},
		"--db-timeout-ms",
		"--db-timeout-ms must be 100..3600000 milliseconds (got "
		"99)");
	expect_usage((const char *const[]){"serve", "--db-lock-timeout-ms",
					   "-1", NULL},
		     "--db-lock-timeout-ms",
		     "--db-lock-timeout-ms must be 0..3600000 milliseconds");
	setenv("OPTREG_DB_STATEMENT_TIMEOUT_MS", "soon", 1);
	expect_usage((const char *const[]){"serve", NULL},
		     "OPTREG_DB_STATEMENT_TIMEOUT_MS",
		     "OPTREG_DB_STATEMENT_TIMEOUT_MS must be 0..3600000 "
		     "milliseconds (got soon)");
	unsetenv("OPTREG_DB_STATEMENT_TIMEOUT_MS");
	write_settings("db_idle_timeout_ms: 1.5\n");
	expect_usage((const char *const[]){"serve", "--config", file, NULL},
		     "db_idle_timeout_ms",
		     "db_idle_timeout_ms must be an integer from 0 to 3600000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_file, setup),
		cmocka_unit_test_setup(test_precedence, setup),
		cmocka_unit_test_setup(test_command_arguments, setup),
		cmocka_unit_test_setup(test_bad_flags, setup),
		cmocka_unit_test_setup(test_bad_environment, setup),
		cmocka_unit_test_setup(test_bad_file, setup),
		cmocka_unit_test_setup(test_db_timeouts, setup),
		cmocka_unit_test_setup(test_lease_min_seconds, setup),
	};

	return cmocka_run_group_tests_name("settings", tests, group_setup,
					   group_teardown);
}
