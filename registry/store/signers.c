/*
 * registry/store/signers.c: signing keys (who may sign for which namespaces)
 * and the signature check of an envelope against them. See signers.h.
 */
#include "signers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/verify.h"
#include "../../validator/names.h"
#include "../audit.h"
#include "../auth.h"
#include "../sql.h"
#include "store.h"

#define KEY_COLUMNS                                                            \
	"keyid, principal, public_key, to_json(namespaces)::text, " TS(        \
		"created_at") ", created_by, " TS("revoked_at") ", purpose"

/* clang-format off */
static const char SQL_SIGNER_INSERT[] =
	"INSERT INTO signing_keys (keyid, principal, "
	"public_key, namespaces, created_by, purpose)"
	" VALUES ($1, $2, $3, $4::text[], $5, $6)"
	" ON CONFLICT (keyid) DO NOTHING"
	" RETURNING "
	KEY_COLUMNS;

static const char SQL_SIGNERS_LIST[] =
	"SELECT "
	KEY_COLUMNS
	" FROM signing_keys"
	" WHERE $1::text IS NULL OR principal = $1"
	" ORDER BY created_at, keyid";

static const char SQL_SIGNER_GET[] =
	"SELECT "
	KEY_COLUMNS
	" FROM signing_keys WHERE keyid = $1";

static const char SQL_SIGNER_LOCK[] =
	"SELECT revoked_at IS NULL FROM "
	"signing_keys WHERE keyid = $1 FOR "
	"UPDATE";

static const char SQL_SIGNER_REVOKE[] =
	"UPDATE signing_keys SET"
	" revoked_at = coalesce(revoked_at, now()),"
	" revoked_by = coalesce(revoked_by, $2)"
	" WHERE keyid = $1 RETURNING "
	KEY_COLUMNS;

static const char SQL_SIGNERS_OF_ENVELOPE[] =
	"SELECT keyid, public_key, to_json(namespaces)"
	"::text, revoked_at IS NOT NULL, purpose FROM "
	"signing_keys WHERE keyid = ANY ($1::text[])"
	" FOR SHARE";
/* clang-format on */

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
	return json_pack(
		"{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s?}", "keyid",
		PQgetvalue(res, i, 0), "principal", PQgetvalue(res, i, 1),
		"public_key", PQgetvalue(res, i, 2), "namespaces",
		json_loads(PQgetvalue(res, i, 3), 0, NULL), "purpose",
		PQgetvalue(res, i, 7), "created_at", PQgetvalue(res, i, 4),
		"created_by", PQgetvalue(res, i, 5), "revoked_at",
		PQgetisnull(res, i, 6) ? NULL : PQgetvalue(res, i, 6));
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

/* True when `purpose` names one (NULL is the default, config). */
static bool purpose_ok(const char *purpose, struct optreg_errors *errs)
{
	if (!purpose || !strcmp(purpose, OPTREG_KEY_PURPOSE_CONFIG) ||
	    !strcmp(purpose, OPTREG_KEY_PURPOSE_VERDICT))
		return true;
	struct optreg_error *e = optreg_errors_add(
		errs, OPTREG_EINVAL, "enum", "purpose",
		"must be \"config\" or \"verdict\" (got \"%.40s\")", purpose);
	optreg_error_set_hint(e, "config keys sign configs that are "
				 "submitted; verdict keys sign runners' "
				 "verdicts");
	return false;
}

int optreg_store_signers_add(PGconn *conn, const char *public_pem,
			     const char *principal, json_t *namespaces,
			     const char *purpose,
			     const struct optreg_audit_actor *who, json_t **out,
			     struct optreg_errors *errs)
{
	const char *actor = who->principal;
	struct optreg_buf arr = OPTREG_BUF_INIT, pem = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	char keyid[OPTREG_KEYID_LEN + 1];
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	if (!purpose)
		purpose = OPTREG_KEY_PURPOSE_CONFIG;
	if (optreg_name_check_principal(principal, "principal", errs) ||
	    !purpose_ok(purpose, errs)) {
		rc = OPTREG_EINVAL;
		goto out;
	}
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
	const char *p[6] = {keyid,    principal, pem.data,
			    arr.data, actor,	 purpose};
	rc = optreg_sql_begin(conn, errs);
	if (rc)
		goto out;
	rc = optreg_sql_exec(conn, SQL_SIGNER_INSERT, 6, p, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc == 0 && PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ECONFLICT, "conflict",
				  "public_key", "key %s is already registered",
				  keyid);
		rc = OPTREG_ECONFLICT;
	}
	if (rc == 0)
		rc = optreg_audit_append(
			conn, who, "key.added", keyid,
			json_pack("{s:s, s:O, s:s}", "principal", principal,
				  "namespaces", namespaces, "purpose", purpose),
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

int optreg_store_signers_list(PGconn *conn, const char *principal, json_t **out,
			      struct optreg_errors *errs)
{
	const char *p[1] = {principal};
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_SIGNERS_LIST, 1, p, PGRES_TUPLES_OK,
				 &res, errs);

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

int optreg_store_signers_get(PGconn *conn, const char *keyid, json_t **out,
			     struct optreg_errors *errs)
{
	return one_key(conn, SQL_SIGNER_GET, keyid, NULL, out, errs);
}

int optreg_store_signers_revoke(PGconn *conn, const char *keyid,
				const struct optreg_audit_actor *who,
				json_t **out, struct optreg_errors *errs)
{
	int rc = optreg_sql_begin(conn, errs);

	if (rc)
		return rc;
	/* The row lock makes a revocation wait for submits holding the key
	 * FOR SHARE, so every version is judged against one state of it.
	 * Only the first revocation is an event. */
	PGresult *res;
	const char *p[2] = {keyid, who->principal};
	rc = keyid_ok(keyid) ? optreg_sql_exec(conn, SQL_SIGNER_LOCK, 1, p,
					       PGRES_TUPLES_OK, &res, errs)
			     : (res = NULL, 0);
	bool first = rc == 0 && res && PQntuples(res) == 1 &&
		     !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (rc == 0)
		rc = one_key(conn, SQL_SIGNER_REVOKE, keyid, who->principal,
			     out, errs);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Adds the locked key rows (keyid, public_key, namespaces as JSON text,
 * revoked, purpose: columns `col` on) to `ks`; a row with a NULL keyid is
 * no key. A public key that does not load is kept without its key, so
 * signatures by it are bad_signature, not unknown_key.
 */
static void keyset_from_rows(struct optreg_keyset *ks, const PGresult *keys,
			     int col)
{
	for (int j = 0; j < PQntuples(keys); j++) {
		if (PQgetisnull(keys, j, col))
			continue;
		struct optreg_errors kerrs = OPTREG_ERRORS_INIT;
		struct optreg_key *key = NULL;
		const char *pem = PQgetvalue(keys, j, col + 1);
		json_t *ns = json_loads(PQgetvalue(keys, j, col + 2), 0, NULL);

		if (optreg_key_load_pem(&key, pem, strlen(pem), &kerrs) < 0)
			key = NULL;
		optreg_errors_release(&kerrs);
		struct optreg_keyset_key *e = optreg_keyset_add_take(
			ks, PQgetvalue(keys, j, col), key, NULL, ns,
			strcmp(PQgetvalue(keys, j, col + 3), "t") ? NULL : "");
		optreg_keyset_set_purpose(e, PQgetvalue(keys, j, col + 4));
		json_decref(ns);
	}
}

void optreg_store_signers_keyids(const struct optreg_dsse *env,
				 struct optreg_buf *out)
{
	/* Only well-formed key ids are looked up; others are unknown. */
	optreg_buf_addch(out, '{');
	for (size_t i = 0, n = 0; i < env->nsigs; i++)
		if (keyid_ok(env->sigs[i].keyid))
			optreg_buf_addf(out, "%s%s", n++ ? "," : "",
					env->sigs[i].keyid);
	optreg_buf_addch(out, '}');
}

void optreg_store_signers_verify_rows(const struct optreg_dsse *env,
				      const char *ns, const PGresult *keys,
				      int col, const char **valid,
				      size_t *nvalid,
				      struct optreg_errors *errs)
{
	/* A config needs config keys, a verdict verdict keys; any other
	 * payload type (refused before this) no key. */
	const char *purpose = optreg_key_purpose_for(env->payload_type);
	struct optreg_sig_policy pol = {.ns = ns,
					.voice = OPTREG_VOICE_REGISTRY,
					.purpose = purpose ? purpose : ""};
	const struct optreg_keyset_key **counted;
	struct optreg_keyset ks;

	*nvalid = 0;
	optreg_keyset_init(&ks);
	keyset_from_rows(&ks, keys, col);
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
}

int optreg_store_signers_verify_envelope(PGconn *conn,
					 const struct optreg_dsse *env,
					 const char *ns, const char **valid,
					 size_t *nvalid,
					 struct optreg_errors *errs)
{
	struct optreg_buf ids = OPTREG_BUF_INIT;
	PGresult *keys = NULL;

	*nvalid = 0;
	optreg_store_signers_keyids(env, &ids);
	const char *kp[1] = {ids.data};
	int rc = optreg_sql_exec_prepared(conn, SQL_SIGNERS_OF_ENVELOPE, 1, kp,
					  PGRES_TUPLES_OK, &keys, errs);
	optreg_buf_release(&ids);
	if (rc)
		return rc;
	optreg_store_signers_verify_rows(env, ns, keys, 0, valid, nvalid, errs);
	PQclear(keys);
	return 0;
}
