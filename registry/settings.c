/*
 * registry/settings.c: optreg-server's flags, environment and settings file
 * (see settings.h). Nothing here prints: every problem becomes one error,
 * and main.c tells the user.
 */
#include "settings.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"

/* Appends the usage error `fmt` about `setting` (may be NULL) and returns
 * OPTREG_EUSAGE. */
static int settings_error(struct optreg_errors *errs, const char *setting,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int settings_error(struct optreg_errors *errs, const char *setting,
			  const char *fmt, ...)
{
	struct optreg_buf msg = OPTREG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	optreg_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	optreg_errors_add(errs, OPTREG_EUSAGE, "settings", setting, "%s",
			  msg.data);
	optreg_buf_release(&msg);
	return OPTREG_EUSAGE;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* The database timeouts (milliseconds): file key, environment variable,
 * flag, range, and where the value goes. */
#define DB_MS_MAX 3600000L
static const struct {
	const char *key, *env, *flag;
	long lo;
	size_t off;
} db_ms_settings[] = {
	{"db_statement_timeout_ms", "OPTREG_DB_STATEMENT_TIMEOUT_MS",
	 "--db-statement-timeout-ms", 0,
	 offsetof(struct optreg_settings, db_statement_timeout_ms)},
	{"db_lock_timeout_ms", "OPTREG_DB_LOCK_TIMEOUT_MS",
	 "--db-lock-timeout-ms", 0,
	 offsetof(struct optreg_settings, db_lock_timeout_ms)},
	{"db_idle_timeout_ms", "OPTREG_DB_IDLE_TIMEOUT_MS",
	 "--db-idle-timeout-ms", 0,
	 offsetof(struct optreg_settings, db_idle_timeout_ms)},
	{"db_wait_ms", "OPTREG_DB_WAIT_MS", "--db-wait-ms", 0,
	 offsetof(struct optreg_settings, db_wait_ms)},
	{"db_timeout_ms", "OPTREG_DB_TIMEOUT_MS", "--db-timeout-ms", 100,
	 offsetof(struct optreg_settings, db_timeout_ms)},
};
#define DB_MS_N (sizeof(db_ms_settings) / sizeof(db_ms_settings[0]))

static long *db_ms_field(struct optreg_settings *s, size_t i)
{
	return (long *)((char *)s + db_ms_settings[i].off);
}

/* The index of file key `key` in db_ms_settings, or -1. */
static int db_ms_key(const char *key)
{
	for (size_t i = 0; i < DB_MS_N; i++)
		if (!strcmp(key, db_ms_settings[i].key))
			return (int)i;
	return -1;
}

/* An integer setting from the file, within [lo, hi]. */
static int file_long(const char *path, const char *key, const json_t *v,
		     long lo, long hi, long *out, struct optreg_errors *errs)
{
	double d = json_number_value(v);

	if (!json_is_number(v) || d != (double)(long)d || d < lo || d > hi)
		return settings_error(errs, key,
				      "%s: %s must be an integer from %ld to "
				      "%ld",
				      path, key, lo, hi);
	*out = (long)d;
	return 0;
}

/*
 * Applies a YAML or JSON settings file: keys as the long flags, with '_'
 * for '-' (database, listen, threads, pool, max_body, anonymous_read,
 * registry_key, audit_origin, checkpoint_every, checkpoint_interval,
 * failure_burst, failure_rate, denied_events, denied_window, ui).
 */
static int load_file(struct optreg_settings *s, const char *path,
		     struct optreg_errors *errs)
{
	const char *key;
	json_t *v;
	int rc;

	s->config_path = path;
	rc = optreg_doc_load_file(&s->file, path, errs);
	if (rc < 0)
		return rc == OPTREG_EUSAGE ? OPTREG_EIO : rc;
	if (!json_is_object(s->file.root))
		return settings_error(errs, NULL,
				      "%s: settings must be a mapping of "
				      "names to values",
				      path);
	json_object_foreach(s->file.root, key, v)
	{
		const char **str =
			!strcmp(key, "database")       ? &s->database
			: !strcmp(key, "listen")       ? &s->listen
			: !strcmp(key, "registry_key") ? &s->registry_key
			: !strcmp(key, "audit_origin") ? &s->audit_origin
						       : NULL;
		rc = 0;
		if (str) {
			if (!json_is_string(v))
				return settings_error(errs, key,
						      "%s: %s must be a string",
						      path, key);
			*str = json_string_value(v);
		} else if (!strcmp(key, "anonymous_read")) {
			if (!json_is_boolean(v))
				return settings_error(errs, key,
						      "%s: anonymous_read must "
						      "be true or false",
						      path);
			s->anonymous_read = json_is_true(v);
		} else if (!strcmp(key, "ui")) {
			if (!json_is_boolean(v))
				return settings_error(errs, key,
						      "%s: ui must be true or "
						      "false",
						      path);
			s->no_ui = !json_is_true(v);
		} else if (!strcmp(key, "threads")) {
			rc = file_long(path, key, v, 1, 256, &s->threads, errs);
		} else if (!strcmp(key, "pool")) {
			rc = file_long(path, key, v, 1, 256, &s->pool, errs);
		} else if (!strcmp(key, "max_body")) {
			rc = file_long(path, key, v, 1024, 64L << 20,
				       &s->max_body, errs);
		} else if (!strcmp(key, "checkpoint_every")) {
			rc = file_long(path, key, v, 1, 1000000,
				       &s->checkpoint_every, errs);
		} else if (!strcmp(key, "checkpoint_interval")) {
			rc = file_long(path, key, v, 1, 86400,
				       &s->checkpoint_interval, errs);
		} else if (db_ms_key(key) >= 0) {
			size_t i = (size_t)db_ms_key(key);
			rc = file_long(path, key, v, db_ms_settings[i].lo,
				       DB_MS_MAX, db_ms_field(s, i), errs);
		} else if (!strcmp(key, "failure_burst")) {
			rc = file_long(path, key, v, 1, 1000000,
				       &s->failure_burst, errs);
		} else if (!strcmp(key, "failure_rate")) {
			rc = file_long(path, key, v, 1, 1000000,
				       &s->failure_rate, errs);
		} else if (!strcmp(key, "denied_events")) {
			rc = file_long(path, key, v, 1, 1000000,
				       &s->denied_events, errs);
		} else if (!strcmp(key, "denied_window")) {
			rc = file_long(path, key, v, 1, 86400,
				       &s->denied_window, errs);
		} else if (!strcmp(key, "dry_run_max")) {
			rc = file_long(path, key, v, 1, 100000, &s->dry_run_max,
				       errs);
		} else if (!strcmp(key, "lease_min_seconds")) {
			rc = file_long(path, key, v, 1, 3600,
				       &s->lease_min_seconds, errs);
		} else {
			return settings_error(
				errs, key,
				"%s: unknown setting \"%s\"; settings are "
				"database, listen, threads, pool, max_body, "
				"anonymous_read, registry_key, audit_origin, "
				"checkpoint_every, checkpoint_interval, "
				"db_statement_timeout_ms, db_lock_timeout_ms, "
				"db_idle_timeout_ms, db_wait_ms, "
				"db_timeout_ms, "
				"failure_burst, failure_rate, denied_events, "
				"denied_window, "
				"lease_min_seconds, dry_run_max, ui",
				path, key);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* The environment, over the file. */
static int load_env(struct optreg_settings *s, struct optreg_errors *errs)
{
	const char *env;

	if ((env = getenv("OPTREG_DATABASE_URL")))
		s->database = env;
	if ((env = getenv("OPTREG_LISTEN")))
		s->listen = env;
	if ((env = getenv("OPTREG_REGISTRY_KEY")))
		s->registry_key = env;
	if ((env = getenv("OPTREG_AUDIT_ORIGIN")))
		s->audit_origin = env;
	if ((env = getenv("OPTREG_THREADS")) &&
	    !parse_long(env, 1, 256, &s->threads))
		return settings_error(errs, "OPTREG_THREADS",
				      "OPTREG_THREADS must be 1..256 (got %s)",
				      env);
	if ((env = getenv("OPTREG_DB_POOL")) &&
	    !parse_long(env, 1, 256, &s->pool))
		return settings_error(errs, "OPTREG_DB_POOL",
				      "OPTREG_DB_POOL must be 1..256 (got %s)",
				      env);
	if ((env = getenv("OPTREG_MAX_BODY")) &&
	    !parse_long(env, 1024, 64L << 20, &s->max_body))
		return settings_error(errs, "OPTREG_MAX_BODY",
				      "OPTREG_MAX_BODY must be 1024..67108864 "
				      "(got %s)",
				      env);
	for (size_t i = 0; i < DB_MS_N; i++)
		if ((env = getenv(db_ms_settings[i].env)) &&
		    !parse_long(env, db_ms_settings[i].lo, DB_MS_MAX,
				db_ms_field(s, i)))
			return settings_error(errs, db_ms_settings[i].env,
					      "%s must be %ld..%ld "
					      "milliseconds (got %s)",
					      db_ms_settings[i].env,
					      db_ms_settings[i].lo, DB_MS_MAX,
					      env);
	if ((env = getenv("OPTREG_DRY_RUN_MAX")) &&
	    !parse_long(env, 1, 100000, &s->dry_run_max))
		return settings_error(errs, "OPTREG_DRY_RUN_MAX",
				      "OPTREG_DRY_RUN_MAX must be 1..100000 "
				      "(got %s)",
				      env);
	if ((env = getenv("OPTREG_LEASE_MIN_SECONDS")) &&
	    !parse_long(env, 1, 3600, &s->lease_min_seconds))
		return settings_error(errs, "OPTREG_LEASE_MIN_SECONDS",
				      "OPTREG_LEASE_MIN_SECONDS must be "
				      "1..3600 (got %s)",
				      env);
	if ((env = getenv("OPTREG_ANONYMOUS_READ")))
		s->anonymous_read = !strcmp(env, "1") || !strcmp(env, "true");
	if ((env = getenv("OPTREG_UI")))
		s->no_ui = !strcmp(env, "0") || !strcmp(env, "false");
	return 0;
}

/* A flag that takes a number in [lo, hi]; `what` completes the message
 * "FLAG must be WHAT (got V)". */
static int flag_long(const char *flag, const char *v, long lo, long hi,
		     const char *what, long *out, struct optreg_errors *errs)
{
	if (!parse_long(v, lo, hi, out))
		return settings_error(errs, flag, "%s must be %s (got %s)",
				      flag, what, v);
	return 0;
}

/* When `a` is one of the database timeout flags, parses `v` into it (*rc:
 * 0 or the usage error) and returns true. */
static bool db_ms_flag(struct optreg_settings *s, const char *a, const char *v,
		       int *rc, struct optreg_errors *errs)
{
	char what[64];

	for (size_t i = 0; i < DB_MS_N; i++) {
		if (strcmp(a, db_ms_settings[i].flag))
			continue;
		snprintf(what, sizeof(what), "%ld..%ld milliseconds",
			 db_ms_settings[i].lo, DB_MS_MAX);
		*rc = flag_long(a, v, db_ms_settings[i].lo, DB_MS_MAX, what,
				db_ms_field(s, i), errs);
		return true;
	}
	return false;
}

/* The flags and positional arguments, over the environment. */
static int load_flags(struct optreg_settings *s, int argc, char **argv,
		      struct optreg_errors *errs)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--anonymous-read")) {
			s->anonymous_read = true;
			continue;
		}
		if (!strcmp(a, "--no-ui")) {
			s->no_ui = true;
			continue;
		}
		if (a[0] == '-' && a[1] == '-' && !v)
			return settings_error(errs, a,
					      "%s needs a value (or is "
					      "unknown)",
					      a);
		if (!strcmp(a, "--config")) {
			/* Read before the environment. */
		} else if (!strcmp(a, "--database")) {
			s->database = v;
		} else if (!strcmp(a, "--listen")) {
			s->listen = v;
		} else if (!strcmp(a, "--registry-key")) {
			s->registry_key = v;
		} else if (!strcmp(a, "--audit-origin")) {
			s->audit_origin = v;
		} else if (!strcmp(a, "--checkpoint-every")) {
			rc = flag_long(a, v, 1, 1000000, "1..1000000",
				       &s->checkpoint_every, errs);
		} else if (!strcmp(a, "--checkpoint-interval")) {
			rc = flag_long(a, v, 1, 86400, "1..86400 seconds",
				       &s->checkpoint_interval, errs);
		} else if (!strcmp(a, "--failure-burst")) {
			rc = flag_long(a, v, 1, 1000000, "1..1000000",
				       &s->failure_burst, errs);
		} else if (!strcmp(a, "--failure-rate")) {
			rc = flag_long(a, v, 1, 1000000,
				       "1..1000000 per minute",
				       &s->failure_rate, errs);
		} else if (!strcmp(a, "--denied-events")) {
			rc = flag_long(a, v, 1, 1000000, "1..1000000",
				       &s->denied_events, errs);
		} else if (!strcmp(a, "--denied-window")) {
			rc = flag_long(a, v, 1, 86400, "1..86400 seconds",
				       &s->denied_window, errs);
		} else if (!strcmp(a, "--dry-run-max")) {
			rc = flag_long(a, v, 1, 100000, "1..100000",
				       &s->dry_run_max, errs);
		} else if (!strcmp(a, "--lease-min-seconds")) {
			rc = flag_long(a, v, 1, 3600, "1..3600 seconds",
				       &s->lease_min_seconds, errs);
		} else if (!strcmp(a, "--port-file")) {
			s->port_file = v;
		} else if (!strcmp(a, "--principal")) {
			s->principal = v;
		} else if (!strcmp(a, "--namespace")) {
			s->ns = v;
		} else if (!strcmp(a, "--role")) {
			if (s->nroles == OPTREG_SETTINGS_MAX_ROLES)
				return settings_error(errs, a,
						      "too many roles");
			s->roles[s->nroles++] = v;
		} else if (!strcmp(a, "--threads")) {
			rc = flag_long(a, v, 1, 256, "1..256", &s->threads,
				       errs);
		} else if (!strcmp(a, "--pool")) {
			rc = flag_long(a, v, 1, 256, "1..256", &s->pool, errs);
		} else if (!strcmp(a, "--max-body")) {
			rc = flag_long(a, v, 1024, 64L << 20, "1024..67108864",
				       &s->max_body, errs);
		} else if (!strcmp(a, "--expires-in")) {
			rc = flag_long(a, v, 1, 100L * 365 * 86400,
				       "a positive number of seconds",
				       &s->expires_in, errs);
		} else if (!strncmp(a, "--db-", 5) &&
			   db_ms_flag(s, a, v, &rc, errs)) {
			/* one of the database timeouts */
		} else if (a[0] == '-') {
			return settings_error(errs, a, "unknown option \"%s\"",
					      a);
		} else {
			if (s->nargs == OPTREG_SETTINGS_MAX_ARGS)
				return settings_error(errs, NULL,
						      "too many arguments");
			s->args[s->nargs++] = a;
			continue;
		}
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

int optreg_settings_parse(struct optreg_settings *s, int argc, char **argv,
			  struct optreg_errors *errs)
{
	const char *file = getenv("OPTREG_CONFIG");
	int rc;

	memset(s, 0, sizeof(*s));
	optreg_doc_init(&s->file);
	s->checkpoint_every = 100;
	s->checkpoint_interval = 10;
	s->lease_min_seconds = 30;
	s->dry_run_max = 10000;
	s->threads = 4;
	s->pool = 8;
	s->max_body = 1 << 20;
	s->db_statement_timeout_ms = 5000;
	s->db_lock_timeout_ms = 2000;
	s->db_idle_timeout_ms = 30000;
	s->db_wait_ms = 2000;
	s->db_timeout_ms = -1; /* from the statement timeout, below */
	s->failure_burst = 20;
	s->failure_rate = 60;
	s->denied_events = 10;
	s->denied_window = 60;
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			file = argv[i + 1];
	if (file && *file && (rc = load_file(s, file, errs)))
		return rc;
	if ((rc = load_env(s, errs)) || (rc = load_flags(s, argc, argv, errs)))
		return rc;

	if (s->db_timeout_ms < 0)
		s->db_timeout_ms = s->db_statement_timeout_ms
					   ? s->db_statement_timeout_ms + 1000
					   : 60000;
	if (!s->listen)
		s->listen = "127.0.0.1:8080";
	if (!s->registry_key || !*s->registry_key)
		s->registry_key = "registry-key.pem";
	if (!s->audit_origin || !*s->audit_origin)
		s->audit_origin = "optreg.local/audit";
	for (const char *c = s->audit_origin; *c; c++)
		if (*c == ' ' || *c == '+' || *c == '\n' || *c < 0x21)
			return settings_error(errs, "--audit-origin",
					      "--audit-origin must not contain "
					      "spaces, '+' or control "
					      "characters (got \"%s\")",
					      s->audit_origin);
	return 0;
}

void optreg_settings_release(struct optreg_settings *s)
{
	optreg_doc_release(&s->file);
	memset(s, 0, sizeof(*s));
}
