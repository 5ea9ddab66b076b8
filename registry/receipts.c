/*
 * registry/receipts.c: the receipts the registry signs for new versions.
 * See receipts.h.
 */
#include "receipts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../validator/jcs.h"
#include "audit.h"
#include "sql.h"

/* clang-format off */
static const char SQL_RECEIPT_INSERT[] =
	"INSERT INTO receipts (config_id, version, receipt, registry_keyid)"
	" SELECT c.id, $3::int, $4, $5 FROM configs c"
	" JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2";

static const char SQL_RECEIPT_GET[] =
	"SELECT r.receipt FROM receipts r"
	" JOIN configs c ON c.id = r.config_id"
	" JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2"
	"   AND r.version = $3::int";
/* clang-format on */

int optreg_receipt_make(PGconn *conn, const struct optreg_registry_key *rk,
			const char *ns, const char *name, int version,
			const char *digest, const char *envelope_canon,
			const char **signers, size_t nsigners, const char *time,
			const struct optreg_audit_appended *audit,
			struct optreg_buf *out, struct optreg_errors *errs)
{
	struct optreg_buf payload = OPTREG_BUF_INIT;
	char env_digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;
	json_t *ids = json_array();
	int rc;

	optreg_jcs_digest(envelope_canon, strlen(envelope_canon), env_digest);
	for (size_t i = 0; i < nsigners; i++)
		json_array_append_new(ids, json_string(signers[i]));
	json_t *r = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:o, s:s}", "namespace", ns, "name",
		name, "version", version, "digest", digest, "envelope_sha256",
		env_digest + 7, "signer_keyids", ids, "time", time);
	optreg_dsse_init(&env);
	/* With "audit_leaf", so a client can check audit_inclusion from it
	 * to audit_root (optreg_receipt_verify). */
	rc = optreg_audit_receipt_proof(conn, audit, r, errs);
	if (rc == 0)
		rc = optreg_jcs_serialize(r, &payload, errs);
	json_decref(r);
	if (rc)
		goto out;
	env.payload_type = optreg_xstrdup(OPTREG_RECEIPT_PAYLOAD_TYPE);
	optreg_buf_add(&env.payload, payload.data, payload.len);
	rc = optreg_dsse_sign(&env, rk->key, errs);
	if (rc)
		goto out;
	json_t *ej = optreg_dsse_to_json(&env);
	rc = optreg_jcs_serialize(ej, out, errs);
	json_decref(ej);
out:
	optreg_dsse_release(&env);
	optreg_buf_release(&payload);
	return rc;
}

int optreg_receipt_get(PGconn *conn, const char *ns, const char *name,
		       int version, char **receipt, struct optreg_errors *errs)
{
	char vs[16];
	const char *p[3] = {ns, name, vs};
	PGresult *res;

	*receipt = NULL;
	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_exec_prepared(conn, SQL_RECEIPT_GET, 3, p,
					  PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) > 0)
		*receipt = optreg_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int optreg_receipt_put_commit(PGconn *conn, const char *ns, const char *name,
			      int version, const char *receipt,
			      const char *rk_keyid, struct optreg_errors *errs)
{
	char vs[16];
	const char *p[5] = {ns, name, vs, receipt, rk_keyid};

	snprintf(vs, sizeof(vs), "%d", version);
	return optreg_sql_exec_commit(conn, SQL_RECEIPT_INSERT, 5, p, errs);
}
