/*
 * registry/settings.h: the settings of optreg-server, from its flags, the
 * environment and a YAML or JSON settings file, in that order of
 * precedence (a flag wins over the environment, which wins over the file),
 * then defaults. The commands' own arguments (token create's --principal,
 * --role, ...) are read here too, so one pass over argv sees every flag.
 */
#ifndef OPTREG_SETTINGS_H
#define OPTREG_SETTINGS_H

#include <stdbool.h>

#include "../common/error.h"
#include "../validator/doc.h"

#define OPTREG_SETTINGS_MAX_ROLES 8
#define OPTREG_SETTINGS_MAX_ARGS  4

struct optreg_settings {
	/* Strings borrow from argv, the environment or the settings file. */
	const char *database;	  /* --database, OPTREG_DATABASE_URL */
	const char *listen;	  /* default "127.0.0.1:8080" */
	const char *registry_key; /* default "registry-key.pem" */
	const char *audit_origin; /* default "optreg.local/audit" */
	long threads;		  /* 1..256, default 4 */
	long pool;		  /* 1..256, default 8 */
	long max_body;		  /* 1024..64 MiB, default 1 MiB */
	long checkpoint_every;	  /* 1..1000000, default 100 */
	long checkpoint_interval; /* seconds, 1..86400, default 10 */
	bool anonymous_read;
	bool no_ui; /* --no-ui, OPTREG_UI=0, `ui: false`: no web page */
	const char *port_file; /* flag only */
	/* Failure budgets (docs/operations.md, "Rate limits"). */
	long failure_burst; /* failures a token may have at once, default 20 */
	long failure_rate;  /* ... regained per minute, default 60 */
	long denied_events; /* write.denied events per principal, default 10 */
	long denied_window; /* ... per this many seconds, default 60 */

	/* How long the database may make a request wait, in milliseconds
	 * (pool.h's optreg_db_limits; 0 turns a PostgreSQL timeout off). */
	long db_statement_timeout_ms; /* 0..3600000, default 5000 */
	long db_lock_timeout_ms;      /* 0..3600000, default 2000 */
	long db_idle_timeout_ms;      /* idle in transaction, default 30000 */
	long db_wait_ms;	      /* for a free connection, default 2000 */
	long db_timeout_ms; /* client-side bound of one borrow, 100..3600000,
			       default statement timeout + 1000 */

	/* Shortest job lease or heartbeat a runner may ask for, seconds:
	 * 1..3600, default 30. */
	long lease_min_seconds;

	/* Most versions one policy dry run evaluates: 1..100000, default
	 * 10000 (POST /v1/policies/{name}/evaluate answers truncated
	 * beyond). */
	long dry_run_max;

	/* `token create`'s flags. */
	const char *principal, *ns;
	const char *roles[OPTREG_SETTINGS_MAX_ROLES];
	int nroles;
	long expires_in; /* seconds; 0: never */

	/* The positional arguments: the command and its operands. */
	const char *args[OPTREG_SETTINGS_MAX_ARGS];
	int nargs;

	/* The settings file read (--config, else $OPTREG_CONFIG), or NULL;
	 * `file` owns what the strings above borrow from it. */
	const char *config_path;
	struct optreg_doc file;
};

/*
 * Fills `s` from argv[1..argc) (flags and positional arguments), the
 * environment (OPTREG_DATABASE_URL, OPTREG_LISTEN, OPTREG_THREADS,
 * OPTREG_DB_POOL, OPTREG_MAX_BODY, OPTREG_ANONYMOUS_READ, OPTREG_UI,
 * OPTREG_REGISTRY_KEY, OPTREG_AUDIT_ORIGIN, OPTREG_CONFIG,
 * OPTREG_LEASE_MIN_SECONDS, and the database timeouts
 * OPTREG_DB_STATEMENT_TIMEOUT_MS, OPTREG_DB_LOCK_TIMEOUT_MS,
 * OPTREG_DB_IDLE_TIMEOUT_MS, OPTREG_DB_WAIT_MS, OPTREG_DB_TIMEOUT_MS) and the
 * settings file, whose keys are the long flags with '_' for '-'. `s` is
 * initialized here; release it with optreg_settings_release() whatever this
 * returns.
 *
 * Errors:
 *   OPTREG_EUSAGE: one error (rule "settings") whose message is what to tell
 *     the user, naming the setting as it was given ("--threads must be
 *     1..256 (got 0)", "OPTREG_DB_POOL must be ...", "FILE: threads must be
 *     ..."); its path is that setting ("--threads", "OPTREG_DB_POOL",
 *     "threads") when there is one.
 *   any other code: the settings file (s->config_path) could not be loaded;
 *     errs holds the loader's errors (as optreg_doc_load_file gives them).
 */
int optreg_settings_parse(struct optreg_settings *s, int argc, char **argv,
			  struct optreg_errors *errs);

/* Frees the settings file; the strings that borrowed from it die with it.
 * Leaves `s` zeroed. */
void optreg_settings_release(struct optreg_settings *s);

#endif
