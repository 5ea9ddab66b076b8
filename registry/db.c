/*
 * registry/db.c: the connection pool, the migration runner and the LISTEN
 * thread (see db.h for the contracts).
 *
 * The pool is a fixed array of slots guarded by one mutex; a borrower owns
 * its slot until release, and does every blocking libpq call (connect,
 * reset, rollback) outside the mutex, so one slow connect never holds up
 * the other request threads. A slot's `conn` is only written under the
 * mutex, by the thread that has the slot borrowed.
 */
#include "db.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* After a failed connect, acquire answers NULL without trying for this
 * long: while PostgreSQL is down, a burst of requests costs one attempt. */
#define DB_RETRY_HOLDOFF_MS 250

/* Listener reconnect backoff. */
#define LISTEN_BACKOFF_MIN_MS 100
#define LISTEN_BACKOFF_MAX_MS 2000

/* pg_advisory_lock key of the migration runner: "optregmg" as a big-endian
 * int8, so it will not collide with a key picked at random. */
#define MIGRATE_LOCK_KEY "8030046170277965159"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The notice receiver of pooled and listener connections: notices have no
 * one to be shown to and are dropped, except that a FATAL, which is how a
 * server says goodbye to an idle session (shutdown, pg_terminate_backend),
 * sets the flag `arg` points at (when not NULL): the connection is dead
 * even before its EOF arrives.
 */
static void notice_receive(void *arg, const PGresult *res)
{
	const char *sev =
		PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (arg && sev && (!strcmp(sev, "FATAL") || !strcmp(sev, "PANIC")))
		*(bool *)arg = true;
}

/* ---- connection parameters ---------------------------------------------- */

/* A parsed conninfo with our defaults filled in, as the parallel
 * NULL-terminated arrays PQconnectdbParams takes. */
struct db_params {
	char **keys;
	char **vals;
	int connect_timeout_s; /* 0: no limit */
};

static const struct {
	const char *key, *val;
} param_defaults[] = {
	{"connect_timeout", "2"}, /* a dead server must not stall acquire */
	{"keepalives", "1"},	  /* notice a peer that vanished silently */
	{"keepalives_idle", "30"},
	{"keepalives_interval", "10"},
	{"keepalives_count", "3"},
	{"fallback_application_name", "optreg-server"},
};

static void params_release(struct db_params *p)
{
	for (size_t i = 0; p->keys && p->keys[i]; i++) {
		free(p->keys[i]);
		free(p->vals[i]);
	}
	free(p->keys);
	free(p->vals);
	memset(p, 0, sizeof(*p));
}

/* True when the option is given in the conninfo or its environment
 * variable, i.e. when our default must not override it. */
static bool param_given(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, key))
			continue;
		if (o->val)
			return true;
		return o->envvar && getenv(o->envvar);
	}
	return false;
}

/* Parses `conninfo` (keywords or URI) into `p`. OPTREG_EINVAL when it does
 * not parse. */
static int params_init(struct db_params *p, const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts =
		PQconninfoParse(conninfo ? conninfo : "", &err);
	size_t n = ARRAY_SIZE(param_defaults), i = 0;

	memset(p, 0, sizeof(*p));
	if (!opts) {
		PQfreemem(err);
		return OPTREG_EINVAL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	p->keys = optreg_xcalloc(n + 1, sizeof(*p->keys));
	p->vals = optreg_xcalloc(n + 1, sizeof(*p->vals));
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		p->keys[i] = optreg_xstrdup(o->keyword);
		p->vals[i] = optreg_xstrdup(o->val);
		i++;
	}
	for (size_t d = 0; d < ARRAY_SIZE(param_defaults); d++) {
		if (param_given(opts, param_defaults[d].key))
			continue;
		p->keys[i] = optreg_xstrdup(param_defaults[d].key);
		p->vals[i] = optreg_xstrdup(param_defaults[d].val);
		i++;
	}
	PQconninfoFree(opts);

	const char *t = getenv("PGCONNECT_TIMEOUT");
	for (size_t k = 0; k < i; k++)
		if (!strcmp(p->keys[k], "connect_timeout"))
			t = p->vals[k];
	p->connect_timeout_s = t ? atoi(t) : 0;
	if (p->connect_timeout_s < 0)
		p->connect_timeout_s = 0;
	return 0;
}

/* Connects (blocking, within connect_timeout); `goodbye` is the flag for
 * notice_receive. NULL on failure. */
static PGconn *params_connect(const struct db_params *p, bool *goodbye)
{
	PGconn *conn = PQconnectdbParams((const char *const *)p->keys,
					 (const char *const *)p->vals, 0);

	if (conn && PQstatus(conn) == CONNECTION_OK) {
		PQsetNoticeReceiver(conn, notice_receive, goodbye);
		return conn;
	}
	PQfinish(conn);
	return NULL;
}

/* ---- the pool ----------------------------------------------------------- */

struct db_slot {
	PGconn *conn; /* NULL: not connected (yet, or since a failure) */
	bool busy;    /* lent out */
	/* Set by notice_receive, on the thread using `conn`. */
	bool goodbye;
};

struct optreg_db {
	struct db_params params;
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a slot was returned */
	int size;
	int busy;
	struct db_slot *slots;
	int64_t retry_at_ms; /* no connect attempts before this */
	struct optreg_db_counters counters;
};

int optreg_db_open(struct optreg_db **out, const char *conninfo, int size)
{
	struct optreg_db *db;
	pthread_condattr_t attr;
	int rc;

	*out = NULL;
	if (size < 1)
		return OPTREG_EINVAL;
	db = optreg_xcalloc(1, sizeof(*db));
	rc = params_init(&db->params, conninfo);
	if (rc) {
		free(db);
		return rc;
	}
	db->size = size;
	db->slots = optreg_xcalloc((size_t)size, sizeof(*db->slots));
	pthread_mutex_init(&db->lock, NULL);
	/* Timed waits run on the monotonic clock, immune to clock steps. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&db->freed, &attr);
	pthread_condattr_destroy(&attr);
	*out = db;
	return 0;
}

void optreg_db_close(struct optreg_db *db)
{
	if (!db)
		return;
	assert(db->busy == 0);
	for (int i = 0; i < db->size; i++)
		PQfinish(db->slots[i].conn);
	free(db->slots);
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->lock);
	params_release(&db->params);
	free(db);
}

/*
 * Reads whatever an idle connection has pending without blocking. An idle
 * session has nothing to say, so anything readable is a notice, a
 * notification, or the server's goodbye (a FATAL, then EOF). Returns true
 * when the connection is still usable.
 */
static bool conn_alive(PGconn *conn, const bool *goodbye)
{
	struct pollfd p;
	PGnotify *n;

	if (PQstatus(conn) != CONNECTION_OK || *goodbye)
		return false;
	for (int i = 0; i < 8; i++) {
		p.fd = PQsocket(conn);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd < 0)
			return false;
		if (poll(&p, 1, 0) <= 0)
			break;
		if (p.revents & POLLNVAL)
			return false;
		if (!PQconsumeInput(conn))
			return false;
		/* Parses what came in: a FATAL sets *goodbye. */
		while ((n = PQnotifies(conn)))
			PQfreemem(n);
	}
	return PQstatus(conn) == CONNECTION_OK && !*goodbye;
}

/* Makes a connection that a borrower left behind ready for the next one:
 * rolls back an open transaction. False when it must be discarded. */
static bool conn_settle(PGconn *conn)
{
	PGresult *res;
	bool ok;

	if (PQstatus(conn) != CONNECTION_OK)
		return false;
	if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
		return false;
	switch (PQtransactionStatus(conn)) {
	case PQTRANS_IDLE:
		return true;
	case PQTRANS_INTRANS:
	case PQTRANS_INERROR:
		res = PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL,
				   0);
		ok = PQresultStatus(res) == PGRES_COMMAND_OK &&
		     PQtransactionStatus(conn) == PQTRANS_IDLE;
		PQclear(res);
		return ok;
	default:
		/* ACTIVE: results were left unread; UNKNOWN: broken. */
		return false;
	}
}

/* Gives a borrowed slot back with `conn` (possibly NULL) in it. */
static void slot_return(struct optreg_db *db, struct db_slot *s, PGconn *conn)
{
	pthread_mutex_lock(&db->lock);
	s->conn = conn;
	s->busy = false;
	db->busy--;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
}

PGconn *optreg_db_acquire(struct optreg_db *db, int timeout_ms)
{
	struct db_slot *s = NULL;
	struct timespec deadline;
	PGconn *conn;
	bool may_connect;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout_ms > 0) {
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}

	pthread_mutex_lock(&db->lock);
	while (db->busy == db->size && timeout_ms > 0)
		if (pthread_cond_timedwait(&db->freed, &db->lock, &deadline) ==
		    ETIMEDOUT)
			break;
	if (db->busy == db->size) {
		db->counters.timeouts++;
		pthread_mutex_unlock(&db->lock);
		return NULL;
	}
	/* Prefer a slot with an open connection; else an empty one. */
	for (int i = 0; i < db->size; i++) {
		struct db_slot *c = &db->slots[i];
		if (c->busy)
			continue;
		if (!s || (!s->conn && c->conn))
			s = c;
		if (s->conn)
			break;
	}
	assert(s);
	s->busy = true;
	db->busy++;
	conn = s->conn;
	may_connect = now_ms() >= db->retry_at_ms;
	pthread_mutex_unlock(&db->lock);

	if (conn && conn_alive(conn, &s->goodbye)) {
		pthread_mutex_lock(&db->lock);
		db->counters.acquired++;
		pthread_mutex_unlock(&db->lock);
		return conn;
	}
	if (conn) {
		/* Take the dead connection out of the slot before it may be
		 * freed: release() finds slots by pointer. */
		pthread_mutex_lock(&db->lock);
		s->conn = NULL;
		pthread_mutex_unlock(&db->lock);
	}
	s->goodbye = false;
	if (may_connect) {
		if (conn) {
			PQreset(conn);
			if (PQstatus(conn) != CONNECTION_OK) {
				PQfinish(conn);
				conn = NULL;
			}
		} else {
			conn = params_connect(&db->params, &s->goodbye);
		}
	} else if (conn) {
		PQfinish(conn);
		conn = NULL;
	}

	pthread_mutex_lock(&db->lock);
	if (may_connect)
		db->counters.connects++;
	if (conn) {
		db->counters.acquired++;
		s->conn = conn;
		pthread_mutex_unlock(&db->lock);
		return conn;
	}
	if (may_connect)
		db->retry_at_ms = now_ms() + DB_RETRY_HOLDOFF_MS;
	db->counters.unavailable++;
	pthread_mutex_unlock(&db->lock);
	slot_return(db, s, NULL);
	return NULL;
}

void optreg_db_release(struct optreg_db *db, PGconn *conn, bool broken)
{
	struct db_slot *s = NULL;

	if (!conn)
		return;
	pthread_mutex_lock(&db->lock);
	for (int i = 0; i < db->size && !s; i++)
		if (db->slots[i].busy && db->slots[i].conn == conn)
			s = &db->slots[i];
	pthread_mutex_unlock(&db->lock);
	/* Not ours: a caller bug; leave the connection to its owner. */
	assert(s && "released a connection the pool did not lend");
	if (!s)
		return;

	if (!broken)
		broken = !conn_settle(conn);
	if (broken) {
		pthread_mutex_lock(&db->lock);
		s->conn = NULL; /* before the pointer dangles */
		db->counters.discarded++;
		pthread_mutex_unlock(&db->lock);
		PQfinish(conn);
		conn = NULL;
	}
	slot_return(db, s, conn);
}

void optreg_db_stats(struct optreg_db *db, int *in_use, int *idle, int *size)
{
	int open = 0;

	pthread_mutex_lock(&db->lock);
	for (int i = 0; i < db->size; i++)
		if (!db->slots[i].busy && db->slots[i].conn)
			open++;
	if (in_use)
		*in_use = db->busy;
	if (idle)
		*idle = open;
	if (size)
		*size = db->size;
	pthread_mutex_unlock(&db->lock);
}

void optreg_db_counters_get(struct optreg_db *db,
			    struct optreg_db_counters *out)
{
	pthread_mutex_lock(&db->lock);
	*out = db->counters;
	pthread_mutex_unlock(&db->lock);
}

bool optreg_db_conn_failed(PGconn *conn, const PGresult *res)
{
	const char *state, *severity;

	if (!res || (conn && PQstatus(conn) == CONNECTION_BAD))
		return true;
	switch (PQresultStatus(res)) {
	case PGRES_BAD_RESPONSE:
		return true;
	case PGRES_FATAL_ERROR:
		break;
	default:
		return false;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* libpq's own errors (lost connection, ...) carry no SQLSTATE. */
	if (!state)
		return true;
	if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") ||
	    !strcmp(state, "57P02") || !strcmp(state, "57P03"))
		return true;
	/* Any FATAL ends the session (idle timeouts, a dropped database). */
	severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	return severity &&
	       (!strcmp(severity, "FATAL") || !strcmp(severity, "PANIC"));
}

/* ---- migrations --------------------------------------------------------- */

struct migration {
	int version;
	char *file; /* "0001_init.sql" */
	struct optreg_buf sql;
	char sum[2 * 32 + 1]; /* hex sha256 of `sql` */
};

struct migrations {
	struct migration *items;
	size_t len;
};

static void migrations_release(struct migrations *ms)
{
	for (size_t i = 0; i < ms->len; i++) {
		free(ms->items[i].file);
		optreg_buf_release(&ms->items[i].sql);
	}
	free(ms->items);
	ms->items = NULL;
	ms->len = 0;
}

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return strcmp(x->file, y->file);
}

/*
 * Parses `NNNN_name.sql` (4 or more digits, a non-empty name). Returns 1
 * and the version, 0 for a file that is no migration (no .sql suffix, or
 * hidden), -1 for a .sql file with a bad name, -2 for a version that does
 * not fit an int.
 */
static int migration_name_parse(const char *name, int *version)
{
	size_t len = strlen(name), digits = 0;
	long long v = 0;

	if (name[0] == '.' || len < 4 || strcmp(name + len - 4, ".sql"))
		return 0;
	while (name[digits] >= '0' && name[digits] <= '9') {
		if (v <= INT_MAX)
			v = v * 10 + (name[digits] - '0');
		digits++;
	}
	if (digits < 4 || name[digits] != '_' || digits + 1 + 4 >= len)
		return -1;
	if (v > INT_MAX)
		return -2;
	*version = (int)v;
	return 1;
}

/* Lists the migrations in `dir`, sorted by version; with `read`, also
 * loads each file and its checksum. Every problem is reported. */
static int migrations_scan(const char *dir, bool read, struct migrations *ms,
			   struct optreg_errors *errs)
{
	size_t cap = 0, nerrs = errs->len;
	struct dirent *de;
	DIR *d;

	ms->items = NULL;
	ms->len = 0;
	d = opendir(dir);
	if (!d) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EIO, "migrations_dir", dir,
			"cannot open migrations directory: %s",
			strerror(errno));
		optreg_error_set_hint(e, "Set OPTREG_MIGRATIONS to the "
					 "directory holding NNNN_name.sql "
					 "files.");
		return OPTREG_EIO;
	}
	while ((de = readdir(d))) {
		int version = 0;
		int rc = migration_name_parse(de->d_name, &version);
		struct optreg_error *e;

		if (rc == 0)
			continue;
		if (rc < 0) {
			e = optreg_errors_add(
				errs, OPTREG_EINVAL, "migration_name",
				de->d_name, "%s",
				rc == -1 ? "not a migration file name"
					 : "migration version out of range");
			optreg_error_set_hint(
				e, "Name migrations NNNN_name.sql with at "
				   "least four digits, e.g. 0001_init.sql.");
			continue;
		}
		if (ms->len == cap) {
			cap = cap ? 2 * cap : 16;
			ms->items = optreg_xrealloc(ms->items,
						    cap * sizeof(*ms->items));
		}
		struct migration *m = &ms->items[ms->len++];
		memset(m, 0, sizeof(*m));
		optreg_buf_init(&m->sql);
		m->version = version;
		m->file = optreg_xstrdup(de->d_name);
	}
	closedir(d);
	if (ms->len)
		qsort(ms->items, ms->len, sizeof(*ms->items), cmp_migration);

	for (size_t i = 1; i < ms->len; i++) {
		if (ms->items[i].version != ms->items[i - 1].version)
			continue;
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_duplicate",
			ms->items[i].file, "duplicate migration version %d",
			ms->items[i].version);
		e->detail = optreg_xasprintf("%s and %s have the same version.",
					     ms->items[i - 1].file,
					     ms->items[i].file);
	}

	for (size_t i = 0; read && i < ms->len; i++) {
		struct migration *m = &ms->items[i];
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;
		char *path = optreg_xasprintf("%s/%s", dir, m->file);
		int rc = optreg_buf_read_file(&m->sql, path);

		free(path);
		if (rc) {
			optreg_errors_add(errs, OPTREG_EIO, "migration_read",
					  m->file, "cannot read migration: %s",
					  strerror(-rc));
			continue;
		}
		if (strlen(m->sql.data) != m->sql.len) {
			optreg_errors_add(errs, OPTREG_EINVAL,
					  "migration_encoding", m->file,
					  "migration holds a NUL byte");
			continue;
		}
		if (!EVP_Digest(m->sql.data, m->sql.len, md, &mdlen,
				EVP_sha256(), NULL) ||
		    mdlen != 32) {
			optreg_errors_add(errs, OPTREG_EIO, "migration_read",
					  m->file, "cannot compute SHA-256");
			continue;
		}
		for (unsigned int k = 0; k < mdlen; k++)
			snprintf(m->sum + 2 * k, 3, "%02x", md[k]);
	}

	if (errs->len == nerrs)
		return 0;
	int code = errs->items[nerrs].code;
	migrations_release(ms);
	return code;
}

/* Converts PostgreSQL's 1-based character position in `sql` to a line
 * and column (characters, as PostgreSQL counts them in UTF-8). */
static void position_to_line_col(const char *sql, long pos, int *line, int *col)
{
	int l = 1, c = 1;

	for (const unsigned char *p = (const unsigned char *)sql; *p && pos > 1;
	     p++) {
		if ((*p & 0xc0) == 0x80)
			continue; /* UTF-8 continuation byte */
		pos--;
		if (*p == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Copies the first line of libpq's connection error text. */
static char *conn_error_line(PGconn *conn)
{
	const char *m = conn ? PQerrorMessage(conn) : "";
	size_t n = strcspn(m, "\n");

	if (n == 0)
		return optreg_xstrdup("connection lost");
	return optreg_xstrndup(m, n);
}

/*
 * Reports a failed statement: PostgreSQL's primary message, detail and hint,
 * with the position in `sql` (when given) as line and column. Returns the
 * code: OPTREG_EUNAVAILABLE when the connection failed, else `code`.
 */
static int add_result_error(struct optreg_errors *errs, int code,
			    const char *rule, const char *file, PGconn *conn,
			    const PGresult *res, const char *sql)
{
	const char *msg = NULL, *detail = NULL, *hint = NULL, *pos = NULL;
	struct optreg_error *e;

	if (optreg_db_conn_failed(conn, res)) {
		code = OPTREG_EUNAVAILABLE;
		rule = "database";
	}
	if (res) {
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	}
	if (msg) {
		e = optreg_errors_add(errs, code, rule, file, "%s", msg);
	} else {
		char *line = conn_error_line(conn);
		e = optreg_errors_add(errs, code, rule, file, "%s", line);
		free(line);
	}
	if (detail)
		e->detail = optreg_xstrdup(detail);
	if (hint)
		optreg_error_set_hint(e, "%s", hint);
	if (pos && sql)
		position_to_line_col(sql, atol(pos), &e->line, &e->col);
	return code;
}

/* Runs one parameterized statement and checks its status; on failure
 * reports it against `file` and returns the code. */
static int exec_params(PGconn *conn, const char *sql, int nparams,
		       const char *const *params, ExecStatusType want,
		       PGresult **out, const char *file,
		       struct optreg_errors *errs)
{
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (res && PQresultStatus(res) == want) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	int rc = add_result_error(errs, OPTREG_EINTERNAL, "database", file,
				  conn, res, NULL);
	PQclear(res);
	if (out)
		*out = NULL;
	return rc;
}

static int conn_check(PGconn *conn, struct optreg_errors *errs)
{
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		char *line = conn_error_line(conn);
		optreg_errors_add(errs, OPTREG_EUNAVAILABLE, "database", NULL,
				  "cannot reach the database: %s", line);
		free(line);
		return OPTREG_EUNAVAILABLE;
	}
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		optreg_errors_add(errs, OPTREG_EUSAGE, "database", NULL,
				  "connection is inside a transaction");
		return OPTREG_EUSAGE;
	}
	return 0;
}

/* Sets `*exists` to whether schema_migrations is visible on the search
 * path. */
static int migrations_table_exists(PGconn *conn, bool *exists,
				   struct optreg_errors *errs)
{
	PGresult *res;
	int rc = exec_params(
		conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0,
		NULL, PGRES_TUPLES_OK, &res, NULL, errs);

	if (rc)
		return rc;
	*exists = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return 0;
}

/* Finds the applied row of `version` in a (version, checksum) result;
 * returns its row number or -1. */
static int applied_row(const PGresult *res, int version)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", version);
	for (int r = 0; r < PQntuples(res); r++)
		if (!strcmp(PQgetvalue(res, r, 0), v))
			return r;
	return -1;
}

/* Ends a COPY that a migration file started (the runner has no data to
 * give and wants none), leaving the connection ready for ROLLBACK. */
static void copy_abandon(PGconn *conn, ExecStatusType st)
{
	PGresult *res;
	char *data;

	if (st == PGRES_COPY_IN)
		PQputCopyEnd(conn, "COPY is not supported in migrations");
	else
		while (PQgetCopyData(conn, &data, 0) > 0)
			PQfreemem(data);
	while ((res = PQgetResult(conn)))
		PQclear(res);
}

/* Applies one migration in its own transaction with its bookkeeping row. */
static int migration_apply_one(PGconn *conn, const struct migration *m,
			       struct optreg_errors *errs)
{
	char version[16];
	const char *params[3] = {version, m->file, m->sum};
	PGresult *res;
	int rc;

	snprintf(version, sizeof(version), "%d", m->version);
	rc = exec_params(conn, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL,
			 m->file, errs);
	if (rc)
		return rc;

	/* The file is the one place where SQL is run as written. */
	res = PQexec(conn, m->sql.data);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_failed", m->file,
			"COPY FROM STDIN and COPY TO STDOUT cannot run in a "
			"migration");
		optreg_error_set_hint(e, "Use INSERT statements instead.");
		copy_abandon(conn, st);
		PQclear(res);
		rc = OPTREG_EINVAL;
		goto fail;
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
	    st != PGRES_EMPTY_QUERY) {
		rc = add_result_error(errs, OPTREG_EINVAL, "migration_failed",
				      m->file, conn, res, m->sql.data);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_transaction", m->file,
			"migration ended its transaction");
		e->detail = optreg_xstrdup(
			"Each migration runs inside a transaction that the "
			"runner opens and commits; what the file committed "
			"itself stays, without its schema_migrations row.");
		optreg_error_set_hint(e, "Remove BEGIN, COMMIT and ROLLBACK "
					 "from the file, and undo by hand what "
					 "it committed.");
		rc = OPTREG_EINVAL;
		goto fail;
	}

	rc = exec_params(conn,
			 "INSERT INTO schema_migrations (version, name, "
			 "checksum) VALUES ($1, $2, $3)",
			 3, params, PGRES_COMMAND_OK, NULL, m->file, errs);
	if (rc)
		goto fail;
	/* Deferred constraints fail at COMMIT: report them as the file's. */
	res = PQexecParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = add_result_error(errs, OPTREG_EINVAL, "migration_failed",
				      m->file, conn, res, NULL);
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	return 0;

fail:
	if (PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexecParams(conn, "ROLLBACK", 0, NULL, NULL, NULL,
				     NULL, 0));
	return rc;
}

/* The part of optreg_migrate_apply that runs under the advisory lock. */
static int migrate_locked(PGconn *conn, struct migrations *ms, FILE *log,
			  struct optreg_errors *errs)
{
	PGresult *applied = NULL;
	bool exists = false;
	size_t nerrs = errs->len;
	int rc;

	rc = migrations_table_exists(conn, &exists, errs);
	if (rc)
		return rc;
	if (!exists) {
		rc = exec_params(
			conn,
			"CREATE TABLE IF NOT EXISTS schema_migrations ("
			" version int PRIMARY KEY,"
			" name text NOT NULL,"
			" checksum text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())",
			0, NULL, PGRES_COMMAND_OK, NULL, NULL, errs);
		if (rc)
			return rc;
	}
	rc = exec_params(conn,
			 "SELECT version, checksum FROM schema_migrations "
			 "ORDER BY version",
			 0, NULL, PGRES_TUPLES_OK, &applied, NULL, errs);
	if (rc)
		return rc;

	/* Refuse to run anything while an applied file differs. */
	for (size_t i = 0; i < ms->len; i++) {
		const struct migration *m = &ms->items[i];
		int r = applied_row(applied, m->version);

		if (r < 0 || !strcmp(PQgetvalue(applied, r, 1), m->sum))
			continue;
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "migration_changed", m->file,
			"applied migration %s was changed", m->file);
		e->detail = optreg_xasprintf(
			"Its SHA-256 was %s when applied and is %s now.",
			PQgetvalue(applied, r, 1), m->sum);
		optreg_error_set_hint(e, "Restore the file as it was applied "
					 "and put the change in a new "
					 "migration.");
	}
	if (errs->len != nerrs) {
		PQclear(applied);
		return OPTREG_EINVAL;
	}

	for (size_t i = 0; i < ms->len && !rc; i++) {
		const struct migration *m = &ms->items[i];

		if (applied_row(applied, m->version) >= 0)
			continue;
		rc = migration_apply_one(conn, m, errs);
		if (!rc && log) {
			fprintf(log, "applied %s\n", m->file);
			fflush(log);
		}
	}
	PQclear(applied);
	return rc;
}

int optreg_migrate_apply(PGconn *conn, const char *dir, FILE *log,
			 struct optreg_errors *errs)
{
	const char *key[1] = {MIGRATE_LOCK_KEY};
	struct migrations ms;
	int rc;

	rc = conn_check(conn, errs);
	if (rc)
		return rc;
	rc = migrations_scan(dir, true, &ms, errs);
	if (rc)
		return rc;
	rc = exec_params(conn, "SELECT pg_advisory_lock($1::bigint)", 1, key,
			 PGRES_TUPLES_OK, NULL, NULL, errs);
	if (rc) {
		migrations_release(&ms);
		return rc;
	}
	rc = migrate_locked(conn, &ms, log, errs);
	/* A failure past the lock leaves the session idle (rolled back), so
	 * the unlock can run; on a lost connection the lock is gone anyway. */
	if (PQstatus(conn) == CONNECTION_OK)
		PQclear(PQexecParams(conn,
				     "SELECT pg_advisory_unlock($1::bigint)", 1,
				     NULL, key, NULL, NULL, 0));
	migrations_release(&ms);
	return rc;
}

int optreg_migrate_pending(PGconn *conn, const char *dir, int *pending,
			   struct optreg_errors *errs)
{
	PGresult *applied = NULL;
	struct migrations ms;
	bool exists = false;
	int rc, n = 0;

	*pending = 0;
	rc = conn_check(conn, errs);
	if (rc)
		return rc;
	rc = migrations_scan(dir, false, &ms, errs);
	if (rc)
		return rc;
	rc = migrations_table_exists(conn, &exists, errs);
	if (!rc && exists)
		rc = exec_params(conn, "SELECT version FROM schema_migrations",
				 0, NULL, PGRES_TUPLES_OK, &applied, NULL,
				 errs);
	if (!rc) {
		for (size_t i = 0; i < ms.len; i++)
			if (!applied ||
			    applied_row(applied, ms.items[i].version) < 0)
				n++;
		*pending = n;
	}
	PQclear(applied);
	migrations_release(&ms);
	return rc;
}

char *optreg_migrations_dir(void)
{
	const char *env = getenv("OPTREG_MIGRATIONS");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return optreg_xstrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			struct stat st;
			char *dir;

			*slash = '\0';
			dir = optreg_xasprintf("%s/../migrations", exe);
			if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
				return dir;
			free(dir);
		}
	}
	return optreg_xstrdup("migrations");
}

/* ---- the listener ------------------------------------------------------- */

struct optreg_db_listener {
	struct db_params params;
	char *channel;
	void (*on_notify)(const char *payload, void *ctx);
	void (*on_reset)(void *ctx);
	void *ctx;
	pthread_t thread;
	/* Self-pipe: stop writes one byte and nobody reads it, so wake[0]
	 * stays readable and every later poll returns at once. */
	int wake[2];
	atomic_bool healthy;
};

/* Waits up to `ms` (-1: forever) for `fd` (none when < 0) to have
 * `events`, or for stop. Returns 1 when fd is ready, 0 on timeout, -1 when
 * stop was asked for. */
static int listen_wait(struct optreg_db_listener *l, int fd, short events,
		       int ms)
{
	struct pollfd p[2] = {{l->wake[0], POLLIN, 0}, {fd, events, 0}};
	int64_t end = now_ms() + (ms > 0 ? ms : 0);

	for (;;) {
		int left = -1;
		if (ms >= 0) {
			int64_t d = end - now_ms();
			left = d > 0 ? (int)d : 0;
		}
		int rc = poll(p, fd >= 0 ? 2 : 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (p[0].revents)
			return -1;
		/* A poll error is left to libpq to discover on the socket. */
		return rc == 0 ? 0 : 1;
	}
}

/* Runs one statement without blocking stop. True when it succeeded. */
static bool listen_exec(struct optreg_db_listener *l, PGconn *conn,
			const char *sql)
{
	PGresult *res;
	bool ok = true;

	if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return false;
	for (;;) {
		while (PQisBusy(conn)) {
			if (listen_wait(l, PQsocket(conn), POLLIN, -1) < 0)
				return false;
			if (!PQconsumeInput(conn))
				return false;
		}
		res = PQgetResult(conn);
		if (!res)
			return ok;
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			ok = false;
		PQclear(res);
	}
}

/* Connects (asynchronously, so stop is noticed at once, within
 * connect_timeout in all) and listens. NULL on failure or stop. */
static PGconn *listen_connect(struct optreg_db_listener *l)
{
	PGconn *conn =
		PQconnectStartParams((const char *const *)l->params.keys,
				     (const char *const *)l->params.vals, 0);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t end = now_ms() + (int64_t)l->params.connect_timeout_s * 1000;
	struct optreg_buf sql = OPTREG_BUF_INIT;
	char *id;

	if (!conn || PQstatus(conn) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		int left = -1;

		if (st == PGRES_POLLING_FAILED)
			goto fail;
		if (l->params.connect_timeout_s > 0) {
			int64_t d = end - now_ms();
			if (d <= 0)
				goto fail;
			left = (int)d;
		}
		if (listen_wait(l, PQsocket(conn),
				st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				left) != 1)
			goto fail;
		st = PQconnectPoll(conn);
	}
	PQsetNoticeReceiver(conn, notice_receive, NULL);

	id = PQescapeIdentifier(conn, l->channel, strlen(l->channel));
	if (!id)
		goto fail;
	optreg_buf_addf(&sql, "LISTEN %s", id);
	PQfreemem(id);
	if (!listen_exec(l, conn, sql.data))
		goto fail;
	optreg_buf_release(&sql);
	return conn;

fail:
	optreg_buf_release(&sql);
	PQfinish(conn);
	return NULL;
}

/* Delivers notifications until the connection is lost (false) or stop is
 * asked for (true). */
static bool listen_loop(struct optreg_db_listener *l, PGconn *conn)
{
	PGnotify *n;

	for (;;) {
		while ((n = PQnotifies(conn))) {
			if (l->on_notify)
				l->on_notify(n->extra, l->ctx);
			PQfreemem(n);
		}
		if (listen_wait(l, PQsocket(conn), POLLIN, -1) < 0)
			return true;
		if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
			return false;
	}
}

static void *listen_main(void *arg)
{
	struct optreg_db_listener *l = arg;
	int backoff = LISTEN_BACKOFF_MIN_MS;

	for (;;) {
		PGconn *conn = listen_connect(l);
		int wait_ms = backoff;

		if (conn) {
			/* Listening again: what came while down is lost. */
			if (l->on_reset)
				l->on_reset(l->ctx);
			atomic_store(&l->healthy, true);
			bool stop = listen_loop(l, conn);
			atomic_store(&l->healthy, false);
			PQfinish(conn);
			if (stop)
				break;
			backoff = LISTEN_BACKOFF_MIN_MS;
			wait_ms = backoff;
		} else {
			backoff = backoff * 2 > LISTEN_BACKOFF_MAX_MS
					  ? LISTEN_BACKOFF_MAX_MS
					  : backoff * 2;
		}
		if (listen_wait(l, -1, 0, wait_ms) < 0)
			break;
	}
	return NULL;
}

int optreg_db_listen_start(struct optreg_db_listener **out,
			   const char *conninfo, const char *channel,
			   void (*on_notify)(const char *payload, void *ctx),
			   void (*on_reset)(void *ctx), void *ctx)
{
	struct optreg_db_listener *l;
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!channel || !*channel)
		return OPTREG_EINVAL;
	l = optreg_xcalloc(1, sizeof(*l));
	rc = params_init(&l->params, conninfo);
	if (rc) {
		free(l);
		return rc;
	}
	l->channel = optreg_xstrdup(channel);
	l->on_notify = on_notify;
	l->on_reset = on_reset;
	l->ctx = ctx;
	atomic_init(&l->healthy, false);
	if (pipe(l->wake) < 0)
		goto fail_pipe;
	for (int i = 0; i < 2; i++)
		fcntl(l->wake[i], F_SETFD, FD_CLOEXEC);

	/* Signals belong to the process's main thread, not to this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&l->thread, NULL, listen_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(l->wake[0]);
		close(l->wake[1]);
		goto fail_pipe;
	}
	*out = l;
	return 0;

fail_pipe:
	params_release(&l->params);
	free(l->channel);
	free(l);
	return OPTREG_ENOMEM;
}

void optreg_db_listen_stop(struct optreg_db_listener *l)
{
	const char c = 1;
	ssize_t w;

	if (!l)
		return;
	do
		w = write(l->wake[1], &c, 1);
	while (w < 0 && errno == EINTR);
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	params_release(&l->params);
	free(l->channel);
	free(l);
}

bool optreg_db_listen_healthy(struct optreg_db_listener *l)
{
	return l && atomic_load(&l->healthy);
}
