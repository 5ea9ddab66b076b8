/*
 * registry/main.c: `optreg-server`: migrate, serve, token, routes.
 *
 * Settings come from flags, then the environment (OPTREG_DATABASE_URL,
 * OPTREG_LISTEN, OPTREG_THREADS, OPTREG_DB_POOL, OPTREG_ANONYMOUS_READ,
 * OPTREG_MAX_BODY).
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../validator/doc.h"
#include "audit.h"
#include "auth.h"
#include "registry.h"

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
	"  --config FILE           YAML or JSON settings, keys as the flags "
	"with '_'\n"
	"                          (database, listen, threads, pool, "
	"max_body,\n"
	"                          anonymous_read, registry_key, "
	"audit_origin,\n"
	"                          checkpoint_every, checkpoint_interval) "
	"(OPTREG_CONFIG)\n"
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
	"  --anonymous-read        allow reads without a token "
	"(OPTREG_ANONYMOUS_READ=1)\n"
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
	"                          default 10\n\n"
	"Exit status: 0 ok, 1 failure, 2 usage.\n";

struct options {
	const char *database, *listen, *port_file, *principal, *ns;
	const char *registry_key, *audit_origin;
	long checkpoint_every, checkpoint_interval;
	const char *roles[8];
	int nroles;
	long threads, pool, max_body, expires_in;
	bool anonymous_read;
	const char *args[4];
	int nargs;
};

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

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* The settings file stays loaded for the life of the process: options
 * borrow its strings. */
static struct optreg_doc config_file;

/* An integer setting from the file, within [lo, hi]. */
static int file_long(const char *path, const char *key, const json_t *v,
		     long lo, long hi, long *out)
{
	double d = json_number_value(v);

	if (!json_is_number(v) || d != (double)(long)d || d < lo || d > hi)
		return usage_error("%s: %s must be an integer from %ld to %ld",
				   path, key, lo, hi);
	*out = (long)d;
	return 0;
}

/*
 * Applies a YAML or JSON settings file: keys as the long flags, with '_'
 * for '-' (database, listen, threads, pool, max_body, anonymous_read,
 * registry_key, audit_origin, checkpoint_every, checkpoint_interval).
 */
static int load_settings(const char *path, struct options *o)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const char *key;
	json_t *v;
	int rc = 0;

	optreg_doc_init(&config_file);
	if (optreg_doc_load_file(&config_file, path, &errs) < 0) {
		struct optreg_buf b = OPTREG_BUF_INIT;
		optreg_errors_format(&errs, path, &b);
		fprintf(stderr, "optreg-server: cannot load settings\n%s",
			b.data);
		optreg_buf_release(&b);
		optreg_errors_release(&errs);
		return 2;
	}
	if (!json_is_object(config_file.root))
		return usage_error("%s: settings must be a mapping of names to "
				   "values",
				   path);
	json_object_foreach(config_file.root, key, v)
	{
		const char **str =
			!strcmp(key, "database")       ? &o->database
			: !strcmp(key, "listen")       ? &o->listen
			: !strcmp(key, "registry_key") ? &o->registry_key
			: !strcmp(key, "audit_origin") ? &o->audit_origin
						       : NULL;
		if (str) {
			if (!json_is_string(v))
				return usage_error("%s: %s must be a string",
						   path, key);
			*str = json_string_value(v);
		} else if (!strcmp(key, "anonymous_read")) {
			if (!json_is_boolean(v))
				return usage_error("%s: anonymous_read must be "
						   "true or false",
						   path);
			o->anonymous_read = json_is_true(v);
		} else if (!strcmp(key, "threads")) {
			rc = file_long(path, key, v, 1, 256, &o->threads);
		} else if (!strcmp(key, "pool")) {
			rc = file_long(path, key, v, 1, 256, &o->pool);
		} else if (!strcmp(key, "max_body")) {
			rc = file_long(path, key, v, 1024, 64L << 20,
				       &o->max_body);
		} else if (!strcmp(key, "checkpoint_every")) {
			rc = file_long(path, key, v, 1, 1000000,
				       &o->checkpoint_every);
		} else if (!strcmp(key, "checkpoint_interval")) {
			rc = file_long(path, key, v, 1, 86400,
				       &o->checkpoint_interval);
		} else {
			return usage_error(
				"%s: unknown setting \"%s\"; settings are "
				"database, listen, threads, pool, max_body, "
				"anonymous_read, registry_key, audit_origin, "
				"checkpoint_every, checkpoint_interval",
				path, key);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Settings come from flags, then the environment, then --config FILE (or
 * $OPTREG_CONFIG), then defaults. */
static int parse_options(int argc, char **argv, struct options *o)
{
	const char *env, *file = getenv("OPTREG_CONFIG");
	int rc;

	memset(o, 0, sizeof(*o));
	o->checkpoint_every = 100;
	o->checkpoint_interval = 10;
	o->threads = 4;
	o->pool = 8;
	o->max_body = 1 << 20;
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--config"))
			file = argv[i + 1];
	if (file && *file && (rc = load_settings(file, o)))
		return rc;
	if ((env = getenv("OPTREG_DATABASE_URL")))
		o->database = env;
	if ((env = getenv("OPTREG_LISTEN")))
		o->listen = env;
	if ((env = getenv("OPTREG_REGISTRY_KEY")))
		o->registry_key = env;
	if ((env = getenv("OPTREG_AUDIT_ORIGIN")))
		o->audit_origin = env;
	if ((env = getenv("OPTREG_THREADS")) &&
	    !parse_long(env, 1, 256, &o->threads))
		return usage_error("OPTREG_THREADS must be 1..256 (got %s)",
				   env);
	if ((env = getenv("OPTREG_DB_POOL")) &&
	    !parse_long(env, 1, 256, &o->pool))
		return usage_error("OPTREG_DB_POOL must be 1..256 (got %s)",
				   env);
	if ((env = getenv("OPTREG_MAX_BODY")) &&
	    !parse_long(env, 1024, 64L << 20, &o->max_body))
		return usage_error("OPTREG_MAX_BODY must be 1024..67108864 "
				   "(got %s)",
				   env);
	if ((env = getenv("OPTREG_ANONYMOUS_READ")))
		o->anonymous_read = !strcmp(env, "1") || !strcmp(env, "true");

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--anonymous-read")) {
			o->anonymous_read = true;
			continue;
		}
		if (a[0] == '-' && a[1] == '-' && !v)
			return usage_error("%s needs a value (or is unknown)",
					   a);
		if (!strcmp(a, "--config")) {
			/* Read before the environment, above. */
		} else if (!strcmp(a, "--database")) {
			o->database = v;
		} else if (!strcmp(a, "--listen")) {
			o->listen = v;
		} else if (!strcmp(a, "--registry-key")) {
			o->registry_key = v;
		} else if (!strcmp(a, "--audit-origin")) {
			o->audit_origin = v;
		} else if (!strcmp(a, "--checkpoint-every")) {
			if (!parse_long(v, 1, 1000000, &o->checkpoint_every))
				return usage_error("--checkpoint-every must be "
						   "1..1000000 (got %s)",
						   v);
		} else if (!strcmp(a, "--checkpoint-interval")) {
			if (!parse_long(v, 1, 86400, &o->checkpoint_interval))
				return usage_error("--checkpoint-interval must "
						   "be 1..86400 seconds (got "
						   "%s)",
						   v);
		} else if (!strcmp(a, "--port-file")) {
			o->port_file = v;
		} else if (!strcmp(a, "--principal")) {
			o->principal = v;
		} else if (!strcmp(a, "--namespace")) {
			o->ns = v;
		} else if (!strcmp(a, "--role")) {
			if (o->nroles == 8)
				return usage_error("too many roles");
			o->roles[o->nroles++] = v;
		} else if (!strcmp(a, "--threads")) {
			if (!parse_long(v, 1, 256, &o->threads))
				return usage_error("--threads must be 1..256 "
						   "(got %s)",
						   v);
		} else if (!strcmp(a, "--pool")) {
			if (!parse_long(v, 1, 256, &o->pool))
				return usage_error("--pool must be 1..256 "
						   "(got %s)",
						   v);
		} else if (!strcmp(a, "--max-body")) {
			if (!parse_long(v, 1024, 64L << 20, &o->max_body))
				return usage_error("--max-body must be "
						   "1024..67108864 (got %s)",
						   v);
		} else if (!strcmp(a, "--expires-in")) {
			if (!parse_long(v, 1, 100L * 365 * 86400,
					&o->expires_in))
				return usage_error("--expires-in must be a "
						   "positive number of "
						   "seconds (got %s)",
						   v);
		} else if (a[0] == '-') {
			return usage_error("unknown option \"%s\"", a);
		} else {
			if (o->nargs == 4)
				return usage_error("too many arguments");
			o->args[o->nargs++] = a;
			continue;
		}
		i++;
	}
	if (!o->listen)
		o->listen = "127.0.0.1:8080";
	if (!o->registry_key || !*o->registry_key)
		o->registry_key = "registry-key.pem";
	if (!o->audit_origin || !*o->audit_origin)
		o->audit_origin = "optreg.local/audit";
	for (const char *c = o->audit_origin; *c; c++)
		if (*c == ' ' || *c == '+' || *c == '\n' || *c < 0x21)
			return usage_error("--audit-origin must not contain "
					   "spaces, '+' or control characters "
					   "(got \"%s\")",
					   o->audit_origin);
	return 0;
}

static int need_database(const struct options *o)
{
	if (o->database && *o->database)
		return 0;
	fprintf(stderr, "optreg-server: no database given\n"
			"hint: set OPTREG_DATABASE_URL or pass --database "
			"CONNINFO\n");
	return 1;
}

/* Opens one direct connection for the admin commands. */
static PGconn *connect_or_die(const struct options *o)
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

static int cmd_migrate(const struct options *o)
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

static int cmd_token(const struct options *o)
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
	if (!o->principal || !*o->principal || strlen(o->principal) > 200)
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
		int r = optreg_role_parse(o->roles[i]);
		if (r < 0)
			return usage_error("unknown role \"%s\"; roles: "
					   "reader, submitter, approver, "
					   "runner, auditor, admin",
					   o->roles[i]);
		grants[i].role = (enum optreg_role)r;
		snprintf(grants[i].pattern, sizeof(grants[i].pattern), "%s",
			 pattern);
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

static const char *ready_file;

/* The checkpointer: signs a checkpoint once `every` events are unsigned,
 * or `interval` seconds after the first unsigned one. Any replica may do
 * it; the table's primary key on size keeps one checkpoint per size. */
struct checkpointer {
	struct registry *r;
	long every, interval;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
};

static void *checkpointer_main(void *arg)
{
	struct checkpointer *cp = arg;
	uint64_t signed_size = 0;
	time_t pending_since = 0;

	pthread_mutex_lock(&cp->lock);
	while (!cp->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 500 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cp->wake, &cp->lock, &until);
		if (cp->stop)
			break;
		pthread_mutex_unlock(&cp->lock);

		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		PGconn *c = optreg_db_acquire(cp->r->db, 1000);
		uint64_t size = 0, latest = 0;
		char *note = NULL;
		int rc = c ? optreg_audit_size(c, &size, &errs)
			   : OPTREG_EUNAVAILABLE;
		if (rc == 0)
			rc = optreg_audit_checkpoint_latest(c, &note, &latest,
							    &errs);
		free(note);
		if (rc == 0) {
			signed_size = latest;
			time_t now = time(NULL);
			if (size <= signed_size)
				pending_since = 0;
			else if (!pending_since)
				pending_since = now;
			if (size > signed_size &&
			    (size - signed_size >= (uint64_t)cp->every ||
			     now - pending_since >= cp->interval)) {
				bool made;
				rc = optreg_audit_checkpoint_make(
					c, &cp->r->key, cp->r->audit_origin,
					&made, &errs);
				if (rc == 0)
					pending_since = 0;
			}
		}
		if (c)
			optreg_db_release(cp->r->db, c,
					  rc == OPTREG_EUNAVAILABLE);
		for (size_t i = 0;
		     rc && rc != OPTREG_EUNAVAILABLE && i < errs.len; i++)
			fprintf(stderr,
				"{\"level\":\"error\",\"msg\":\"checkpoint\","
				"\"rule\":\"%s\"}\n",
				errs.items[i].rule);
		optreg_errors_release(&errs);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

static void ready_trampoline(unsigned port, void *ctx)
{
	(void)ctx;
	on_ready(port, (void *)ready_file);
}

static int cmd_serve(const struct options *o)
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
	r.db_wait_ms = 2000;
	if (optreg_db_open(&r.db, o->database, (int)o->pool) < 0) {
		fprintf(stderr, "optreg-server: cannot open the database "
				"pool\n");
		goto out;
	}
	PGconn *c = optreg_db_acquire(r.db, 5000);
	if (!c) {
		fprintf(stderr, "optreg-server: cannot reach the database\n"
				"hint: check OPTREG_DATABASE_URL and that "
				"PostgreSQL is running\n");
		goto out;
	}
	int mrc = optreg_migrate_pending(c, r.migrations_dir, &pending, &errs);
	optreg_db_release(r.db, c, mrc == OPTREG_EUNAVAILABLE);
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
	c = optreg_db_acquire(r.db, 5000);
	mrc = c ? optreg_registry_key_load(c, o->registry_key, false, &r.key,
					   &errs)
		: OPTREG_EUNAVAILABLE;
	if (c)
		optreg_db_release(r.db, c, mrc == OPTREG_EUNAVAILABLE);
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
	struct checkpointer cp = {.r = &r,
				  .every = o->checkpoint_every,
				  .interval = o->checkpoint_interval};
	r.audit_origin = o->audit_origin;
	pthread_mutex_init(&cp.lock, NULL);
	pthread_cond_init(&cp.wake, NULL);
	bool cp_started =
		pthread_create(&cp.thread, NULL, checkpointer_main, &cp) == 0;
	struct optreg_http_config hc = {
		.listen = o->listen,
		.threads = (unsigned)o->threads,
		.max_body = (size_t)o->max_body,
		.metrics = optreg_registry_metrics,
	};
	ready_file = o->port_file;
	rc = optreg_http_serve(&hc, optreg_registry_routes,
			       optreg_registry_nroutes, &r,
			       ready_trampoline) < 0
		     ? 1
		     : 0;
	if (cp_started) {
		pthread_mutex_lock(&cp.lock);
		cp.stop = true;
		pthread_cond_signal(&cp.wake);
		pthread_mutex_unlock(&cp.lock);
		pthread_join(cp.thread, NULL);
	}
	pthread_mutex_destroy(&cp.lock);
	pthread_cond_destroy(&cp.wake);
	fprintf(stderr, "{\"level\":\"info\",\"msg\":\"stopped\"}\n");
out:
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

int main(int argc, char **argv)
{
	struct options o;
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
	if ((rc = parse_options(argc, argv, &o)))
		return rc;
	const char *cmd = o.nargs ? o.args[0] : "";
	if (!strcmp(cmd, "migrate") && o.nargs == 1)
		return cmd_migrate(&o);
	if (!strcmp(cmd, "serve") && o.nargs == 1)
		return cmd_serve(&o);
	if (!strcmp(cmd, "token"))
		return cmd_token(&o);
	if (!strcmp(cmd, "routes") && o.nargs == 1)
		return cmd_routes();
	return usage_error("unknown command \"%s\"", cmd);
}
