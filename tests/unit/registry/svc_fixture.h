/*
 * tests/unit/registry/svc_fixture.h: a private PostgreSQL cluster with the
 * migrations applied and a `struct registry` over it, for the tests of the
 * services (registry/svc/) without HTTP. Included by one test file each
 * (the helpers are static).
 *
 * fixture_setup() starts the cluster with `scripts/pg start` in a mktemp
 * directory (so tests run from the repository root), opens a pool of two
 * connections, migrates, and creates the registry key and one signing key
 * allowed for namespace "team". fixture_teardown() stops and removes it.
 */
#ifndef OPTREG_SVC_FIXTURE_H
#define OPTREG_SVC_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/dsse.h"
#include "common/error.h"
#include "common/sign.h"
#include "registry/audit.h"
#include "registry/db.h"
#include "registry/registry.h"
#include "registry/store/signers.h"
#include "registry/svc/versions.h"
#include "validator/jcs.h"

static char fixture_dir[] = "/tmp/optreg-svc-test.XXXXXX";
static char *fixture_conninfo;
static struct registry fixture_reg;
static struct optreg_key *fixture_signer; /* allowed for "team" */
static const struct optreg_audit_actor fixture_who = {"admin@test", "tok_x",
						      "req-1"};

static int fixture_pg(const char *cmd, char **line)
{
	char *sh = optreg_xasprintf("scripts/pg %s '%s'", cmd, fixture_dir);
	char buf[1024];
	FILE *f = popen(sh, "r");
	bool got;

	free(sh);
	if (!f)
		return -1;
	got = fgets(buf, sizeof(buf), f) != NULL;
	while (fgetc(f) != EOF)
		;
	int status = pclose(f);
	if (line) {
		*line = NULL;
		if (got) {
			buf[strcspn(buf, "\n")] = '\0';
			*line = optreg_xstrdup(buf);
		}
	}
	return status;
}

static int fixture_fail(const char *what, struct optreg_errors *errs)
{
	fprintf(stderr, "# %s failed: %s\n", what,
		errs && errs->len ? errs->items[0].message : "");
	return -1;
}

static int fixture_setup(void **state)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;

	(void)state;
	if (access("scripts/pg", X_OK) || !mkdtemp(fixture_dir))
		return fixture_fail("scripts/pg or mkdtemp", NULL);
	if (fixture_pg("start", &fixture_conninfo) != 0 || !fixture_conninfo)
		return fixture_fail("scripts/pg start", NULL);
	if (optreg_db_open(&fixture_reg.db, fixture_conninfo, 2))
		return fixture_fail("optreg_db_open", NULL);
	fixture_reg.db_wait_ms = 2000;
	PGconn *c = optreg_pool_get(fixture_reg.db, 5000);
	if (!c)
		return fixture_fail("connect", NULL);
	char *keypath = optreg_xasprintf("%s/registry.pem", fixture_dir);
	json_t *out = NULL, *ns = json_pack("[s]", "team");
	int rc = optreg_migrate_apply(c, "migrations", NULL, &errs);
	if (rc == 0)
		rc = optreg_registry_key_load(c, keypath, true,
					      &fixture_reg.key, &errs);
	if (rc == 0)
		rc = optreg_key_generate(&fixture_signer, &errs);
	if (rc == 0)
		rc = optreg_key_public_pem(fixture_signer, &pem);
	if (rc == 0)
		rc = optreg_store_signers_add(c, pem.data, "alice", ns, NULL,
					      &fixture_who, &out, &errs);
	optreg_pool_put(fixture_reg.db, c, rc == OPTREG_EUNAVAILABLE);
	free(keypath);
	json_decref(out);
	json_decref(ns);
	optreg_buf_release(&pem);
	if (rc)
		rc = fixture_fail("fixture", &errs);
	optreg_errors_release(&errs);
	return rc;
}

static int fixture_teardown(void **state)
{
	(void)state;
	optreg_key_free(fixture_signer);
	optreg_registry_key_release(&fixture_reg.key);
	optreg_db_close(fixture_reg.db);
	int rc = fixture_pg("stop", NULL);
	free(fixture_conninfo);
	return rc == 0 ? 0 : -1;
}

/*
 * A config envelope for ns/name whose payload is the canonical JSON of
 * {"namespace", "name", "lr"} (the services do not validate configs; the
 * api does), signed by `key` when not NULL. Writes the payload's digest
 * and the envelope's canonical form (owned by `canon`).
 */
static void fixture_envelope(struct optreg_dsse *env, const char *ns,
			     const char *name, double lr,
			     const struct optreg_key *key,
			     char digest[OPTREG_DIGEST_LEN + 1],
			     struct optreg_buf *canon)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	json_t *cfg = json_pack("{s:s, s:s, s:f}", "namespace", ns, "name",
				name, "lr", lr);

	optreg_dsse_init(env);
	env->payload_type = optreg_xstrdup(OPTREG_CONFIG_PAYLOAD_TYPE);
	if (optreg_jcs_serialize(cfg, &env->payload, &errs))
		fprintf(stderr, "# jcs failed\n");
	json_decref(cfg);
	optreg_jcs_digest(env->payload.data, env->payload.len, digest);
	if (key && optreg_dsse_sign(env, key, &errs))
		fprintf(stderr, "# sign failed\n");
	json_t *ej = optreg_dsse_to_json(env);
	if (optreg_jcs_serialize(ej, canon, &errs))
		fprintf(stderr, "# jcs failed\n");
	json_decref(ej);
	optreg_errors_release(&errs);
}

/* Helpers added for the signers, namespaces, tokens, jobs and auditlog
 * tests. */

/* The first column of the first row of `sql` (no parameters) as a number,
 * on a pooled connection; -1 when it fails. */
static inline long long fixture_scalar(const char *sql)
{
	PGconn *c = optreg_pool_get(fixture_reg.db, 5000);
	long long v = -1;

	if (!c)
		return -1;
	PGresult *res = PQexec(c, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) == PGRES_COMMAND_OK)
		v = strtoll(PQcmdTuples(res), NULL, 10);
	else
		fprintf(stderr, "# %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	optreg_pool_put(fixture_reg.db, c, false);
	return v;
}

/* The number of rows of `table`. */
static inline long long fixture_count(const char *table)
{
	char *sql = optreg_xasprintf("SELECT count(*) FROM %s", table);
	long long n = fixture_scalar(sql);

	free(sql);
	return n;
}

/* Submits ns/name (lr) signed by fixture_signer; the version, or a
 * negative code. Writes the payload digest when `digest` is not NULL. */
static inline int fixture_submit(const char *ns, const char *name, double lr,
				 char *digest)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	struct optreg_submit_result res;
	char d[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;

	fixture_envelope(&env, ns, name, lr, fixture_signer, d, &canon);
	int rc = optreg_versions_submit(&fixture_reg, &fixture_who, ns, name, d,
					&env, canon.data, NULL, &res, &errs);
	if (rc == 0)
		rc = res.version;
	else
		fixture_fail("submit", &errs);
	if (digest)
		memcpy(digest, d, sizeof(d));
	optreg_dsse_release(&env);
	optreg_buf_release(&canon);
	optreg_submit_result_release(&res);
	optreg_errors_release(&errs);
	return rc;
}

#endif
