/*
 * registry/keys.c: signing keys, thresholds, registry keys, receipts and
 * the signed submit. See keys.h.
 */
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/verify.h"
#include "../validator/jcs.h"
#include "audit.h"
#include "auth.h"
#include "jobs.h"
#include "sql.h"
#include "store.h"

#define TS(col)                                                                \
	"to_char(" col " AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define KEY_COLUMNS                                                            \
	"keyid, principal, public_key, to_json(namespaces)::text, " TS(        \
		"created_at") ", created_by, " TS("revoked_at")

static bool keyid_ok(const char *s)
{
	if (!s || strlen(s) != OPTREG_KEYID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static json_t *key_row(const PGresult *res, int i)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s?}", "keyid",
			 PQgetvalue(res, i, 0), "principal",
			 PQgetvalue(res, i, 1), "public_key",
			 PQgetvalue(res, i, 2), "namespaces",
			 json_loads(PQgetvalue(res, i, 3), 0, NULL),
			 "created_at", PQgetvalue(res, i, 4), "created_by",
			 PQgetvalue(res, i, 5), "revoked_at",
			 PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6));
}

int optreg_registry_key_load(PGconn *conn, const char *path, bool create,
			     struct optreg_registry_key *out,
			     struct optreg_errors *errs)
{
	struct optreg_buf pem = OPTREG_BUF_INIT;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) != 0 && create) {
		size_t n = strlen(path);
		if (n < 5 || strcmp(path + n - 4, ".pem")) {
			optreg_errors_add(errs, OPTREG_EUSAGE, "registry_key",
					  path,
					  "the registry key path must end in "
					  ".pem (got \"%s\")",
					  path);
			return OPTREG_EUSAGE;
		}
		char *name = optreg_xstrndup(path, n - 4);
		rc = optreg_key_generate(&out->key, errs);
		if (rc == 0)
			rc = optreg_key_write_pair(out->key, name, false, errs);
		free(name);
		if (rc) {
			optreg_registry_key_release(out);
			return rc;
		}
	} else {
		rc = optreg_key_load_file(&out->key, path, errs);
		if (rc)
			return rc;
	}
	if (!optreg_key_is_private(out->key)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "registry_key", path,
				  "%s holds a public key; the registry needs "
				  "its private key",
				  path);
		optreg_registry_key_release(out);
		return OPTREG_EINVAL;
	}
	optreg_key_id(out->key, out->keyid);
	rc = optreg_key_public_pem(out->key, &pem);
	if (rc == 0) {
		const char *p[2] = {out->keyid, pem.data};
		PGresult *res;
		rc = optreg_sql_exec(conn,
				     "INSERT INTO registry_keys (keyid, "
				     "public_key) VALUES ($1, $2)"
				     " ON CONFLICT (keyid) DO NOTHING",
				     2, p, PGRES_COMMAND_OK, &res, errs);
		PQclear(res);
	}
	optreg_buf_release(&pem);
	if (rc)
		optreg_registry_key_release(out);
	return rc;
}

void optreg_registry_key_release(struct optreg_registry_key *rk)
{
	optreg_key_free(rk->key);
	memset(rk, 0, sizeof(*rk));
}

/* Turns a JSON array of namespace patterns into a PostgreSQL array
 * literal; the patterns are checked first, so no quoting is needed. */
static bool patterns_literal(json_t *namespaces, struct optreg_buf *out,
			     struct optreg_errors *errs)
{
	if (!json_is_array(namespaces) || json_array_size(namespaces) < 1 ||
	    json_array_size(namespaces) > 32) {
		optreg_errors_add(errs, OPTREG_EINVAL, "type", "namespaces",
				  "must be an array of 1 to 32 namespace "
				  "names or globs");
		return false;
	}
	optreg_buf_addch(out, '{');
	for (size_t i = 0; i < json_array_size(namespaces); i++) {
		const char *p =
			json_string_value(json_array_get(namespaces, i));
		if (!p || !optreg_pattern_valid(p)) {
			char path[48];
			snprintf(path, sizeof(path), "namespaces[%zu]", i);
			optreg_errors_add(errs, OPTREG_EINVAL, "pattern", path,
					  "must be a namespace name or a glob "
					  "of a-z, 0-9, '-', '*', '?'");
			return false;
		}
		optreg_buf_addf(out, "%s\"%s\"", i ? "," : "", p);
	}
	optreg_buf_addch(out, '}');
	return true;
}

int optreg_keys_add(PGconn *conn, const char *public_pem, const char *principal,
		    json_t *namespaces, const struct optreg_audit_actor *who,
		    json_t **out, struct optreg_errors *errs)
{
	const char *actor = who->principal;
	struct optreg_buf arr = OPTREG_BUF_INIT, pem = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	char keyid[OPTREG_KEYID_LEN + 1];
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	rc = optreg_key_load_pem(&key, public_pem, strlen(public_pem), errs);
	if (rc)
		goto out;
	if (optreg_key_is_private(key)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "private_key",
				  "public_key",
				  "is a private key; register the public key "
				  "(NAME.pub.pem) and keep the private one "
				  "secret");
		rc = OPTREG_EINVAL;
		goto out;
	}
	if (!patterns_literal(namespaces, &arr, errs)) {
		rc = OPTREG_EINVAL;
		goto out;
	}
	optreg_key_id(key, keyid);
	rc = optreg_key_public_pem(key, &pem);
	if (rc)
		goto out;
	const char *p[5] = {keyid, principal, pem.data, arr.data, actor};
	rc = optreg_sql_begin(conn, errs);
	if (rc)
		goto out;
	rc = optreg_sql_exec(conn,
			     "INSERT INTO signing_keys (keyid, principal, "
			     "public_key, namespaces, created_by)"
			     " VALUES ($1, $2, $3, $4::text[], $5)"
			     " ON CONFLICT (keyid) DO NOTHING"
			     " RETURNING " KEY_COLUMNS,
			     5, p, PGRES_TUPLES_OK, &res, errs);
	if (rc == 0 && PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ECONFLICT, "conflict",
				  "public_key", "key %s is already registered",
				  keyid);
		rc = OPTREG_ECONFLICT;
	}
	if (rc == 0)
		rc = optreg_audit_append(conn, who, "key.added", keyid,
					 json_pack("{s:s, s:O}", "principal",
						   principal, "namespaces",
						   namespaces),
					 NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	if (rc) {
		optreg_sql_rollback(conn);
		goto out;
	}
	*out = key_row(res, 0);
out:
	PQclear(res);
	optreg_key_free(key);
	optreg_buf_release(&arr);
	optreg_buf_release(&pem);
	return rc;
}

int optreg_keys_list(PGconn *conn, const char *principal, json_t **out,
		     struct optreg_errors *errs)
{
	const char *p[1] = {principal};
	PGresult *res;
	int rc = optreg_sql_exec(conn,
				 "SELECT " KEY_COLUMNS " FROM signing_keys"
				 " WHERE $1::text IS NULL OR principal = $1"
				 " ORDER BY created_at, keyid",
				 1, p, PGRES_TUPLES_OK, &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(*out, key_row(res, i));
	PQclear(res);
	return 0;
}

static int one_key(PGconn *conn, const char *sql, const char *keyid,
		   const char *actor, json_t **out, struct optreg_errors *errs)
{
	const char *p[2] = {keyid, actor};
	PGresult *res;
	int rc;

	*out = NULL;
	if (!keyid_ok(keyid)) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "key \"%.80s\" not found: key ids are 64 "
				  "lowercase hex digits",
				  keyid);
		return OPTREG_ENOTFOUND;
	}
	rc = optreg_sql_exec(conn, sql, actor ? 2 : 1, p, PGRES_TUPLES_OK, &res,
			     errs);
	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "key %s not found", keyid);
		rc = OPTREG_ENOTFOUND;
	} else {
		*out = key_row(res, 0);
	}
	PQclear(res);
	return rc;
}

int optreg_keys_get(PGconn *conn, const char *keyid, json_t **out,
		    struct optreg_errors *errs)
{
	return one_key(conn,
		       "SELECT " KEY_COLUMNS
		       " FROM signing_keys WHERE keyid = $1",
		       keyid, NULL, out, errs);
}

int optreg_keys_revoke(PGconn *conn, const char *keyid,
		       const struct optreg_audit_actor *who, json_t **out,
		       struct optreg_errors *errs)
{
	int rc = optreg_sql_begin(conn, errs);

	if (rc)
		return rc;
	/* The row lock makes a revocation wait for submits holding the key
	 * FOR SHARE, so every version is judged against one state of it.
	 * Only the first revocation is an event. */
	PGresult *res;
	const char *p[2] = {keyid, who->principal};
	rc = keyid_ok(keyid)
		     ? optreg_sql_exec(conn,
				       "SELECT revoked_at IS NULL FROM "
				       "signing_keys WHERE keyid = $1 FOR "
				       "UPDATE",
				       1, p, PGRES_TUPLES_OK, &res, errs)
		     : (res = NULL, 0);
	bool first = rc == 0 && res && PQntuples(res) == 1 &&
		     !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (rc == 0)
		rc = one_key(conn,
			     "UPDATE signing_keys SET"
			     " revoked_at = coalesce(revoked_at, now()),"
			     " revoked_by = coalesce(revoked_by, $2)"
			     " WHERE keyid = $1 RETURNING " KEY_COLUMNS,
			     keyid, who->principal, out, errs);
	if (rc == 0 && first)
		rc = optreg_audit_append(conn, who, "key.revoked", keyid, NULL,
					 NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	if (rc) {
		optreg_sql_rollback(conn);
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int optreg_ns_settings_get(PGconn *conn, const char *ns, json_t **out,
			   struct optreg_errors *errs)
{
	const char *p[1] = {ns};
	PGresult *res;
	int rc = optreg_sql_exec(conn,
				 "SELECT coalesce((SELECT signature_threshold"
				 " FROM namespace_settings WHERE namespace ="
				 " $1), 1)",
				 1, p, PGRES_TUPLES_OK, &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_pack("{s:s, s:i}", "namespace", ns, "signature_threshold",
			 atoi(PQgetvalue(res, 0, 0)));
	PQclear(res);
	return 0;
}

int optreg_ns_settings_put(PGconn *conn, const char *ns, int threshold,
			   const struct optreg_audit_actor *who, json_t **out,
			   struct optreg_errors *errs)
{
	char ts[16];
	const char *p[3] = {ns, ts, who->principal};
	PGresult *res = NULL;

	*out = NULL;
	snprintf(ts, sizeof(ts), "%d", threshold);
	int rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	rc = optreg_sql_exec(conn,
			     "SELECT coalesce((SELECT signature_threshold FROM"
			     " namespace_settings WHERE namespace = $1 FOR "
			     "UPDATE), 1)",
			     1, p, PGRES_TUPLES_OK, &res, errs);
	int before = rc == 0 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	res = NULL;
	if (rc == 0)
		rc = optreg_sql_exec(
			conn,
			"INSERT INTO namespace_settings (namespace,"
			" signature_threshold, updated_by) VALUES ($1, $2::int,"
			" $3) ON CONFLICT (namespace) DO UPDATE SET"
			" signature_threshold = EXCLUDED.signature_threshold,"
			" updated_at = now(), updated_by = EXCLUDED.updated_by",
			3, p, PGRES_COMMAND_OK, &res, errs);
	PQclear(res);
	if (rc == 0 && before != threshold)
		rc = optreg_audit_append(
			conn, who, "namespace.settings", ns,
			json_pack("{s:{s:i, s:i}}", "signature_threshold",
				  "from", before, "to", threshold),
			NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	if (rc) {
		optreg_sql_rollback(conn);
		return rc;
	}
	*out = json_pack("{s:s, s:i}", "namespace", ns, "signature_threshold",
			 threshold);
	return 0;
}

int optreg_registry_keys_list(PGconn *conn, json_t **out,
			      struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec(
		conn,
		"SELECT keyid, public_key, " TS("created_at") ", " TS(
			"retired_at") " FROM registry_keys ORDER BY created_at",
		0, NULL, PGRES_TUPLES_OK, &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(
			*out, json_pack("{s:s, s:s, s:s, s:s?}", "keyid",
					PQgetvalue(res, i, 0), "public_key",
					PQgetvalue(res, i, 1), "created_at",
					PQgetvalue(res, i, 2), "retired_at",
					PQgetisnull(res, i, 3)
						? NULL
						: PQgetvalue(res, i, 3)));
	PQclear(res);
	return 0;
}

void optreg_submit_result_release(struct optreg_submit_result *r)
{
	free(r->created_at);
	free(r->receipt);
	memset(r, 0, sizeof(*r));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Adds the locked key rows (keyid, public_key, namespaces as JSON text,
 * revoked) to `ks`. A public key that does not load is kept without its
 * key, so signatures by it are bad_signature, not unknown_key.
 */
static void keyset_from_rows(struct optreg_keyset *ks, const PGresult *keys)
{
	for (int j = 0; j < PQntuples(keys); j++) {
		struct optreg_errors kerrs = OPTREG_ERRORS_INIT;
		struct optreg_key *key = NULL;
		const char *pem = PQgetvalue(keys, j, 1);
		json_t *ns = json_loads(PQgetvalue(keys, j, 2), 0, NULL);

		if (optreg_key_load_pem(&key, pem, strlen(pem), &kerrs) < 0)
			key = NULL;
		optreg_errors_release(&kerrs);
		optreg_keyset_add_take(
			ks, PQgetvalue(keys, j, 0), key, NULL, ns,
			strcmp(PQgetvalue(keys, j, 3), "t") ? NULL : "");
		json_decref(ns);
	}
}

int optreg_keys_verify_envelope(PGconn *conn, const struct optreg_dsse *env,
				const char *ns, const char **valid,
				size_t *nvalid, struct optreg_errors *errs)
{
	struct optreg_buf ids = OPTREG_BUF_INIT;
	struct optreg_sig_policy pol = {.ns = ns,
					.voice = OPTREG_VOICE_REGISTRY};
	const struct optreg_keyset_key **counted;
	struct optreg_keyset ks;
	PGresult *keys = NULL;

	*nvalid = 0;
	/* Only well-formed key ids are looked up; others are unknown. */
	optreg_buf_addch(&ids, '{');
	for (size_t i = 0, n = 0; i < env->nsigs; i++)
		if (keyid_ok(env->sigs[i].keyid))
			optreg_buf_addf(&ids, "%s%s", n++ ? "," : "",
					env->sigs[i].keyid);
	optreg_buf_addch(&ids, '}');
	const char *kp[1] = {ids.data};
	int rc = optreg_sql_exec(conn,
				 "SELECT keyid, public_key, to_json(namespaces)"
				 "::text, revoked_at IS NOT NULL FROM "
				 "signing_keys WHERE keyid = ANY ($1::text[])"
				 " FOR SHARE",
				 1, kp, PGRES_TUPLES_OK, &keys, errs);
	optreg_buf_release(&ids);
	if (rc)
		return rc;
	optreg_keyset_init(&ks);
	keyset_from_rows(&ks, keys);
	PQclear(keys);
	counted = optreg_xcalloc(env->nsigs + 1, sizeof(*counted));
	optreg_envelope_verify(&ks, env, &pol, counted, nvalid, errs);
	/* Hand out the ids as `env` holds them: the set is released here. */
	for (size_t k = 0; k < *nvalid; k++)
		for (size_t i = 0; i < env->nsigs; i++)
			if (!strcmp(env->sigs[i].keyid, counted[k]->id)) {
				valid[k] = env->sigs[i].keyid;
				break;
			}
	qsort(valid, *nvalid, sizeof(*valid), cmp_str);
	free(counted);
	optreg_keyset_release(&ks);
	return 0;
}

/*
 * Adds the leaf hash of audit event `index` to the receipt payload as
 * "audit_leaf" (standard base64, as audit_root), so a client can check
 * audit_inclusion from it to audit_root (optreg_receipt_verify).
 */
static int add_audit_leaf(PGconn *conn, int64_t index, json_t *payload,
			  struct optreg_errors *errs)
{
	char ix[24];
	const char *p[1] = {ix};
	PGresult *res = NULL;
	int rc;

	snprintf(ix, sizeof(ix), "%lld", (long long)index);
	rc = optreg_sql_exec(conn,
			     "SELECT encode(leaf_hash, 'base64') FROM "
			     "audit_events WHERE idx = $1::bigint",
			     1, p, PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) != 1) {
		optreg_errors_add(errs, OPTREG_EINTERNAL, "audit_store", NULL,
				  "audit event %lld is missing",
				  (long long)index);
		rc = OPTREG_EINTERNAL;
	} else {
		json_object_set_new(payload, "audit_leaf",
				    json_string(PQgetvalue(res, 0, 0)));
	}
	PQclear(res);
	return rc;
}

/* Builds and signs the receipt of a new version whose audit event is
 * `audit_index`; appends its RFC 8785 envelope JSON to `out`. */
static int make_receipt(PGconn *conn, const struct optreg_registry_key *rk,
			const char *ns, const char *name, int version,
			const char *digest, const char *envelope_canon,
			const char **signers, size_t nsigners, const char *time,
			int64_t audit_index, struct optreg_buf *out,
			struct optreg_errors *errs)
{
	struct optreg_buf payload = OPTREG_BUF_INIT;
	char env_digest[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;
	json_t *ids = json_array();
	int rc;

	optreg_digest(envelope_canon, strlen(envelope_canon), env_digest);
	for (size_t i = 0; i < nsigners; i++)
		json_array_append_new(ids, json_string(signers[i]));
	json_t *r = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:o, s:s}", "namespace", ns, "name",
		name, "version", version, "digest", digest, "envelope_sha256",
		env_digest + 7, "signer_keyids", ids, "time", time);
	optreg_dsse_init(&env);
	rc = optreg_audit_receipt_proof(conn, audit_index, r, errs);
	if (rc == 0)
		rc = add_audit_leaf(conn, audit_index, r, errs);
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

int optreg_submit_signed(PGconn *conn, const struct optreg_registry_key *rk,
			 const char *ns, const char *name, const char *digest,
			 const struct optreg_dsse *env,
			 const char *envelope_canon,
			 const struct optreg_audit_actor *who,
			 struct optreg_submit_result *out,
			 struct optreg_errors *errs)
{
	const char *actor = who->principal;
	struct optreg_buf receipt = OPTREG_BUF_INIT;
	const char **valid = NULL;
	PGresult *res = NULL;
	int rc, threshold;

	memset(out, 0, sizeof(*out));
	rc = optreg_sql_begin(conn, errs);
	if (rc)
		goto out;
	const char *tp[1] = {ns};
	rc = optreg_sql_exec(conn,
			     "SELECT coalesce((SELECT signature_threshold"
			     " FROM namespace_settings WHERE namespace = $1),"
			     " 1)",
			     1, tp, PGRES_TUPLES_OK, &res, errs);
	if (rc)
		goto fail;
	threshold = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;

	valid = optreg_xcalloc(env->nsigs + 1, sizeof(*valid));
	size_t nvalid = 0;
	rc = optreg_keys_verify_envelope(conn, env, ns, valid, &nvalid, errs);
	if (rc)
		goto fail;
	if (nvalid < (size_t)threshold) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EDENIED, "threshold", "signatures",
			"%d valid signature%s from distinct keys %s required "
			"for namespace %s (got %zu)",
			threshold, threshold == 1 ? "" : "s",
			threshold == 1 ? "is" : "are", ns, nvalid);
		if (env->nsigs == 0)
			optreg_error_set_hint(e, "sign the config: `optreg "
						 "submit FILE --key KEY`");
		rc = OPTREG_EDENIED;
		goto fail;
	}

	const char *sp[6] = {
		ns, name, digest, env->payload.data, envelope_canon, actor};
	int lengths[6] = {0, 0, 0, (int)env->payload.len, 0, 0};
	int formats[6] = {0, 0, 0, 1, 0, 0};
	res = PQexecParams(conn,
			   "SELECT version, created, " TS(
				   "created_at") "  FROM submit_version($1, "
						 "$2, $3, $4, $5, $6)",
			   6, NULL, sp, lengths, formats, 0);
	rc = optreg_sql_check(conn, res, PGRES_TUPLES_OK, errs);
	if (rc)
		goto fail;
	out->version = atoi(PQgetvalue(res, 0, 0));
	out->created = !strcmp(PQgetvalue(res, 0, 1), "t");
	out->created_at = optreg_xstrdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	res = NULL;

	char vs[16];
	snprintf(vs, sizeof(vs), "%d", out->version);
	if (out->created) {
		char target[300];
		int64_t index;
		json_t *signers = json_array();
		for (size_t k = 0; k < nvalid; k++)
			json_array_append_new(signers, json_string(valid[k]));
		snprintf(target, sizeof(target), "%s/%s@%d", ns, name,
			 out->version);
		rc = optreg_jobs_create(conn, ns, name, out->version,
					OPTREG_DEFAULT_SUITE, errs);
		if (rc == 0)
			rc = optreg_audit_append(
				conn, who, "version.created", target,
				json_pack("{s:s, s:o}", "digest", digest,
					  "signer_keyids", signers),
				&index, errs);
		if (rc == 0)
			rc = make_receipt(conn, rk, ns, name, out->version,
					  digest, envelope_canon, valid, nvalid,
					  out->created_at, index, &receipt,
					  errs);
		if (rc)
			goto fail;
		const char *rp[5] = {ns, name, vs, receipt.data, rk->keyid};
		rc = optreg_sql_exec(
			conn,
			"INSERT INTO receipts (config_id, version, receipt,"
			" registry_keyid)"
			" SELECT c.id, $3::int, $4, $5 FROM configs c"
			" JOIN namespaces n ON n.id = c.namespace_id"
			" WHERE n.name = $1 AND c.name = $2",
			5, rp, PGRES_COMMAND_OK, &res, errs);
		if (rc)
			goto fail;
		out->receipt = optreg_buf_detach(&receipt, NULL);
	} else {
		rc = optreg_receipt_get(conn, ns, name, out->version,
					&out->receipt, errs);
		if (rc)
			goto fail;
	}
	PQclear(res);
	res = NULL;
	rc = optreg_sql_commit(conn, errs);
	if (rc == 0)
		goto out;
fail:
	optreg_sql_rollback(conn);
	optreg_submit_result_release(out);
out:
	free(valid);
	PQclear(res);
	optreg_buf_release(&receipt);
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
	int rc = optreg_sql_exec(conn,
				 "SELECT r.receipt FROM receipts r"
				 " JOIN configs c ON c.id = r.config_id"
				 " JOIN namespaces n ON n.id = c.namespace_id"
				 " WHERE n.name = $1 AND c.name = $2"
				 "   AND r.version = $3::int",
				 3, p, PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) > 0)
		*receipt = optreg_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
