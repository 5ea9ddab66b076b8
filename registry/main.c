/*
 * registry/main.c: `optreg-server`: migrate, serve, token, routes.
 *
 * Settings come from flags, then the environment, then the settings file
 * (settings.c); the checkpointer thread is in checkpointer.c.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "audit.h"
#include "auth.h"
#include "checkpointer.h"
#include "denials.h"
#include "registry.h"
#include "ratelimit.h"
#include "settings.h"
#include "svc/tokens.h"

#define VERSION "0.1.0"

static const char usage_text[] =
	"usage: optreg-server <command> [options]\n\n"
	"Commands:\n"
	"  migrate                 apply pending migrations\n"
	"  serve                   serve the REST API (docs/api.md)\n"
	"  token create --principal P --role R [--role R2 ...]\n"
	"               [--namespace PATTERN] [--expires-in SECONDS]\n"
	"                          create a token (printed once) directly in "
	"the database\n"
	"  token revoke ID         revoke a token at once\n"
	"  routes                  print the routes served, one per line\n\n"
	"Options (and environment; flags win over the environment, which wins "
	"over\nthe settings file):\n"
	"  --config FILE           YAML or JSON settings: each flag's name "
	"with '_'\n"
	"                          for '-' (database, listen, threads, pool, "
	"max_body,\n"
	"                          anonymous_read, registry_key, "
	"audit_origin, ...);\n"
	"                          `ui: false` is --no-ui (OPTREG_CONFIG)\n"
	"  --database CONNINFO     libpq conninfo or URI "
	"(OPTREG_DATABASE_URL)\n"
	"  --listen HOST:PORT      default 127.0.0.1:8080 (OPTREG_LISTEN); "
	"port 0 picks one\n"
	"  --threads N             HTTP worker threads, default 4 "
	"(OPTREG_THREADS)\n"
	"  --pool N                PostgreSQL connections, default 8 "
	"(OPTREG_DB_POOL)\n"
	"  --max-body BYTES        request body limit, default 1048576 "
	"(OPTREG_MAX_BODY)\n"
	"  --dry-run-max N         most versions a policy dry run evaluates, "
	"default 10000\n"
	"                          (OPTREG_DRY_RUN_MAX)\n"
	"  --anonymous-read        allow reads without a token "
	"(OPTREG_ANONYMOUS_READ=1)\n"
	"  --no-ui                 do not serve the web page at /ui/ "
	"(OPTREG_UI=0)\n"
	"  --port-file FILE        write the bound port to FILE once "
	"listening\n"
	"  --registry-key FILE     the registry's Ed25519 private key (PEM) "
	"that signs\n"
	"                          receipts, default registry-key.pem "
	"(OPTREG_REGISTRY_KEY);\n"
	"                          `migrate` creates it (mode 0600) when "
	"missing\n"
	"  --audit-origin NAME     checkpoint origin and signer name, default "
	"optreg.local/audit\n"
	"                          (OPTREG_AUDIT_ORIGIN)\n"
	"  --checkpoint-every N    sign a checkpoint after N new events, "
	"default 100\n"
	"  --checkpoint-interval S ... or S seconds after the first unsigned "
	"event,\n"
	"                          default 10\n"
	"  --db-statement-timeout-ms MS  PostgreSQL statement_timeout of "
	"each pooled\n"
	"                          session, default 5000 "
	"(OPTREG_DB_STATEMENT_TIMEOUT_MS)\n"
	"  --db-lock-timeout-ms MS lock_timeout, default 2000 "
	"(OPTREG_DB_LOCK_TIMEOUT_MS)\n"
	"  --db-idle-timeout-ms MS idle_in_transaction_session_timeout, "
	"default 30000\n"
	"                          (OPTREG_DB_IDLE_TIMEOUT_MS); 0 turns any "
	"of these off\n"
	"  --db-wait-ms MS         wait for a free pooled connection, default "
	"2000\n"
	"                          (OPTREG_DB_WAIT_MS)\n"
	"  --db-timeout-ms MS      client-side bound on one use of a "
	"connection (also\n"
	"                          when PostgreSQL hangs), default statement "
	"timeout + 1000\n"
	"                          (OPTREG_DB_TIMEOUT_MS); past it: 503\n"
	"  --failure-burst N       failed authentications or refused writes a "
	"token may\n"
	"                          have before 429, default 20 (an address: "
	"5 times)\n"
	"  --failure-rate N        ... regained per minute, default 60\n"
	"  --denied-events N       write.denied events per principal per "
	"window, default 10\n"
	"  --denied-window S       ... the window in seconds, default 60; "
	"then a summary\n"
	"  --lease-min-seconds S   shortest job lease or heartbeat a runner "
	"may ask for,\n"
	"                          1..3600, default 30 "
	"(OPTREG_LEASE_MIN_SECONDS)\n\n"
	"Exit status: 0 ok, 1 failure, 2 usage.\n";

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "optreg-server: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nhint: run `optreg-server --help`\n");
	return 2;
}

static int need_database(const struct optreg_settings *o)
{
	if (o->database && *o->database)
		return 0;
	fprintf(stderr, "optreg-server: no database given\n"
			"hint: set OPTREG_DATABASE_URL or pass --database "
			"CONNINFO\n");
	return 1;
}

/* Opens one direct connection for the admin commands. */
static PGconn *connect_or_die(const struct optreg_settings *o)
{
	PGconn *c = PQconnectdb(o->database);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr,
			"optreg-server: cannot connect to the "
			"database\ndetail: %s",
			PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static void print_errors(const struct optreg_errors *errs)
{
	for (size_t i = 0; i < errs->len; i++) {
		fprintf(stderr, "optreg-server: %s\n", errs->items[i].message);
		if (errs->items[i].detail)
			fprintf(stderr, "detail: %s\n", errs->items[i].detail);
		if (errs->items[i].hint)
			fprintf(stderr, "hint: %s\n", errs->items[i].hint);
	}
}

static int cmd_migrate(const struct optreg_settings *o)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char *dir = optreg_migrations_dir();
	PGconn *c;
	int rc = 1;

	if (need_database(o) || !(c = connect_or_die(o))) {
		free(dir);
		return 1;
	}
	struct optreg_registry_key rk;
	if (optreg_migrate_apply(c, dir, stderr, &errs) == 0 &&
	    optreg_registry_key_load(c, o->registry_key, true, &rk, &errs) ==
		    0) {
		fprintf(stderr,
			"optreg-server: migrations in %s are applied; "
			"registry key %s (%s)\n",
			dir, rk.keyid, o->registry_key);
		optreg_registry_key_release(&rk);
		rc = 0;
	} else {
		print_errors(&errs);
	}
	optreg_errors_release(&errs);
	PQfinish(c);
	free(dir);
	return rc;
}

/* Admin commands act as the local operating-system user. */
static struct optreg_audit_actor local_actor(void)
{
	static char name[128];
	const char *user = getenv("SUDO_USER");
	struct optreg_audit_actor a = {name, "", ""};

	if (!user || !*user)
		user = getenv("USER");
	snprintf(name, sizeof(name), "local:%s", user && *user ? user : "?");
	return a;
}

static int cmd_token(const struct optreg_settings *o)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_grant grants[8];
	int rc = 1;

	if (o->nargs < 2)
		return usage_error("token needs create or revoke");
	if (!strcmp(o->args[1], "revoke")) {
		if (o->nargs != 3)
			return usage_error("token revoke needs a token id");
		if (need_database(o))
			return 1;
		PGconn *c = connect_or_die(o);
		if (!c)
			return 1;
		struct optreg_audit_actor who = local_actor();
		if (optreg_token_revoke(c, o->args[2], &who, &errs) == 0) {
			printf("revoked %s\n", o->args[2]);
			rc = 0;
		} else {
			print_errors(&errs);
		}
		PQfinish(c);
		optreg_errors_release(&errs);
		return rc;
	}
	if (strcmp(o->args[1], "create"))
		return usage_error("unknown token command \"%s\"", o->args[1]);
	if (!optreg_tokens_principal_valid(o->principal))
		return usage_error("token create needs --principal NAME "
				   "(1 to 200 characters)");
	if (!o->nroles)
		return usage_error("token create needs at least one --role "
				   "(reader, submitter, approver, runner, "
				   "auditor, admin)");
	const char *pattern = o->ns ? o->ns : "*";
	if (!optreg_pattern_valid(pattern))
		return usage_error("--namespace must be a name or a glob of "
				   "a-z, 0-9, '-', '*', '?' (got %s)",
				   pattern);
	for (int i = 0; i < o->nroles; i++) {
		/* The pattern is valid: only the role can be refused. */
		if (optreg_tokens_grant_parse(o->roles[i], pattern, "role",
					      &grants[i], &errs)) {
			optreg_errors_release(&errs);
			return usage_error("unknown role \"%s\"; roles: "
					   "reader, submitter, approver, "
					   "runner, auditor, admin",
					   o->roles[i]);
		}
	}
	if (need_database(o))
		return 1;
	PGconn *c = connect_or_die(o);
	if (!c)
		return 1;
	char token[OPTREG_TOKEN_LEN + 1], id[OPTREG_TOKEN_ID_LEN + 1];
	time_t expires = 0;
	struct optreg_audit_actor who = local_actor();
	if (optreg_token_create(c, o->principal, grants, (size_t)o->nroles,
				o->expires_in, &who, token, id, &expires,
				&errs) == 0) {
		/* The token alone on stdout, for scripts; the rest on
		 * stderr. */
		printf("%s\n", token);
		fprintf(stderr, "created token %s for %s on namespace %s\n", id,
			o->principal, pattern);
		OPENSSL_cleanse(token, sizeof(token));
		rc = 0;
	} else {
		print_errors(&errs);
	}
	PQfinish(c);
	optreg_errors_release(&errs);
	return rc;
}

static void on_ready(unsigned port, void *ctx)
{
	const char *port_file = ctx;

	/* The http layer logs "listening" itself. */
	if (port_file) {
		/* Written whole, then renamed, so readers never see half. */
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		FILE *f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%u\n", port);
			fclose(f);
			rename(tmp, port_file);
		}
	}
}

/* The --port-file of `serve`, for on_ready (which is given the registry
 * as its context). Process-lifetime, set once before serving. */
static const char *ready_file;

static void ready_trampoline(unsigned port, void *ctx)
{
	(void)ctx;
	on_ready(port, (void *)ready_file);
}

/*
 * Logs the database role `serve` runs as, and warns when it is a superuser
 * or a member of the audit tables' owner: either can switch the audit
 * triggers off (docs/operations.md). Advice only: a failed query logs
 * nothing and serving goes on.
 */
static void serve_role_log(PGconn *c)
{
	static const char sql[] =
		"SELECT current_user, r.rolsuper,"
		" pg_has_role(current_user, t.relowner, 'MEMBER'),"
		" EXISTS (SELECT FROM pg_roles a WHERE a.rolname = 'optreg_app'"
		"  AND pg_has_role(current_user, a.oid, 'MEMBER'))"
		" FROM pg_roles r, pg_class t WHERE r.rolname = current_user"
		" AND t.oid = to_regclass('audit_events')";
	PGresult *res = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		return;
	}
	int super = !strcmp(PQgetvalue(res, 0, 1), "t");
	int owner = !strcmp(PQgetvalue(res, 0, 2), "t");
	int app = !strcmp(PQgetvalue(res, 0, 3), "t");
	json_t *f = json_pack("{s:s, s:b, s:b, s:b}", "role",
			      PQgetvalue(res, 0, 0), "superuser", super,
			      "owner", owner, "optreg_app", app);
	PQclear(res);
	if (!super && !owner) {
		optreg_log_write("info", "database role", f);
		return;
	}
	json_object_set_new(
		f, "hint",
		json_string("serve as a login role in optreg_app that is "
			    "neither superuser nor owner of the tables "
			    "(docs/operations.md)"));
	optreg_log_write("warn",
			 "serving as a database role that can alter the audit "
			 "log",
			 f);
}

static int cmd_serve(const struct optreg_settings *o)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct registry r = {0};
	int pending = 0, rc = 1;

	if (need_database(o))
		return 1;
	/* Block SIGTERM and SIGINT before any thread starts, so all threads
	 * inherit the mask and the http layer's sigwait receives them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	r.migrations_dir = optreg_migrations_dir();
	r.anonymous_read = o->anonymous_read;
	r.no_ui = o->no_ui;
	r.db_wait_ms = (int)o->db_wait_ms;
	r.lease_min_seconds = (int)o->lease_min_seconds;
	r.dry_run_max = (int)o->dry_run_max;
	if (optreg_db_open(&r.db, o->database, (int)o->pool) < 0) {
		fprintf(stderr, "optreg-server: cannot open the database "
				"pool\n");
		goto out;
	}
	struct optreg_db_limits limits = {
		.statement_timeout_ms = (int)o->db_statement_timeout_ms,
		.lock_timeout_ms = (int)o->db_lock_timeout_ms,
		.idle_in_transaction_ms = (int)o->db_idle_timeout_ms,
		.hold_ms = (int)o->db_timeout_ms,
	};
	optreg_db_set_limits(r.db, &limits);
	PGconn *c = optreg_pool_get(r.db, 5000);
	if (!c) {
		fprintf(stderr, "optreg-server: cannot reach the database\n"
				"hint: check OPTREG_DATABASE_URL and that "
				"PostgreSQL is running\n");
		goto out;
	}
	int mrc = optreg_migrate_pending(c, r.migrations_dir, &pending, &errs);
	optreg_pool_put(r.db, c, mrc == OPTREG_EUNAVAILABLE);
	if (mrc) {
		print_errors(&errs);
		goto out;
	}
	if (pending) {
		fprintf(stderr,
			"optreg-server: %d migration%s not applied; refusing "
			"to serve\nhint: run `optreg-server migrate` first\n",
			pending, pending == 1 ? " is" : "s are");
		goto out;
	}
	c = optreg_pool_get(r.db, 5000);
	if (c)
		serve_role_log(c);
	mrc = c ? optreg_registry_key_load(c, o->registry_key, false, &r.key,
					   &errs)
		: OPTREG_EUNAVAILABLE;
	if (c)
		optreg_pool_put(r.db, c, mrc == OPTREG_EUNAVAILABLE);
	if (mrc) {
		print_errors(&errs);
		fprintf(stderr, "hint: `optreg-server migrate` creates the "
				"registry key; or pass --registry-key FILE\n");
		goto out;
	}
	r.cache = optreg_cache_new(10000);
	if (optreg_db_listen_start(&r.listener, o->database, "optreg_cache",
				   optreg_registry_on_notify,
				   optreg_registry_on_reset, &r) < 0) {
		fprintf(stderr, "optreg-server: cannot start the cache "
				"invalidation listener\n");
		goto out;
	}
	/* Bounded whatever the number of tokens and addresses: 64 Ki keys
	 * each (about 2 MiB), 4 Ki principals with refused writes. */
	r.auth_fails = optreg_ratelimit_new(65536, (double)o->failure_burst,
					    (double)o->failure_rate / 60.0);
	r.write_fails = optreg_ratelimit_new(65536, (double)o->failure_burst,
					     (double)o->failure_rate / 60.0);
	r.denials = optreg_denials_new(&r, 4096, o->denied_events,
				       o->denied_window);
	if (!r.denials) {
		fprintf(stderr, "optreg-server: cannot start the refused-write "
				"recorder\n");
		goto out;
	}
	struct optreg_checkpointer *cp = NULL;
	r.audit_origin = o->audit_origin;
	optreg_checkpointer_start(&cp, &r, o->checkpoint_every,
				  o->checkpoint_interval);
	struct optreg_http_config hc = {
		.listen = o->listen,
		.threads = (unsigned)o->threads,
		.max_body = (size_t)o->max_body,
		.metrics = optreg_registry_metrics,
		.unrouted = optreg_registry_unrouted,
	};
	ready_file = o->port_file;
	rc = optreg_http_serve(&hc, optreg_registry_routes,
			       optreg_registry_nroutes, &r,
			       ready_trampoline) < 0
		     ? 1
		     : 0;
	optreg_checkpointer_stop(cp);
	fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopped\"}\n");
out:
	optreg_denials_free(r.denials);
	optreg_ratelimit_free(r.auth_fails);
	optreg_ratelimit_free(r.write_fails);
	if (r.listener)
		optreg_db_listen_stop(r.listener);
	optreg_cache_free(r.cache);
	optreg_registry_key_release(&r.key);
	if (r.db)
		optreg_db_close(r.db);
	free(r.migrations_dir);
	optreg_errors_release(&errs);
	return rc;
}

static int cmd_routes(void)
{
	/* The layer's own routes first, then the registry's. */
	printf("GET /healthz\nGET /metrics\n");
	for (size_t i = 0; i < optreg_registry_nroutes; i++)
		printf("%s %s\n", optreg_registry_routes[i].method,
		       optreg_registry_routes[i].pattern);
	return 0;
}

/* Tells the user why the settings were refused; returns the exit status. */
static int settings_failed(const struct optreg_settings *o, int rc,
			   const struct optreg_errors *errs)
{
	if (rc != OPTREG_EUSAGE) {
		struct optreg_buf b = OPTREG_BUF_INIT;

		optreg_errors_format(errs, o->config_path, &b);
		fprintf(stderr, "optreg-server: cannot load settings\n%s",
			b.data);
		optreg_buf_release(&b);
		return 2;
	}
	for (size_t i = 0; i < errs->len; i++)
		usage_error("%s", errs->items[i].message);
	return 2;
}

static int dispatch(const struct optreg_settings *o)
{
	const char *cmd = o->nargs ? o->args[0] : "";

	if (!strcmp(cmd, "migrate") && o->nargs == 1)
		return cmd_migrate(o);
	if (!strcmp(cmd, "serve") && o->nargs == 1)
		return cmd_serve(o);
	if (!strcmp(cmd, "token"))
		return cmd_token(o);
	if (!strcmp(cmd, "routes") && o->nargs == 1)
		return cmd_routes();
	return usage_error("unknown command \"%s\"", cmd);
}

int main(int argc, char **argv)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_settings o;
	int rc;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return 0;
		}
	if (!strcmp(argv[1], "--version")) {
		printf("optreg-server %s\n", VERSION);
		return 0;
	}
	rc = optreg_settings_parse(&o, argc, argv, &errs);
	rc = rc ? settings_failed(&o, rc, &errs) : dispatch(&o);
	optreg_errors_release(&errs);
	optreg_settings_release(&o);
	return rc;
}
