/*
 * registry/store/policies.c: SQL for policies and waivers. See policies.h.
 */
#include "policies.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/glob.h"
#include "../sql.h"
#include "store.h"

/* clang-format off */
#define POLICY_HEAD_JOIN                                                    \
	" FROM policies p JOIN policy_versions v ON v.name = p.name"        \
	"  AND v.version = p.current_version WHERE NOT v.deleted"

static const char SQL_POLICIES_CURRENT[] =
	"SELECT p.name, v.version, v.digest" POLICY_HEAD_JOIN
	" ORDER BY p.name";

static const char SQL_POLICIES_CURRENT_DOCS[] =
	"SELECT p.name, v.version, v.digest, v.canonical" POLICY_HEAD_JOIN
	" ORDER BY p.name";

static const char SQL_POLICY_CREATE[] =
	"INSERT INTO policies (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";

/* The service has no UPDATE on policies (so no FOR UPDATE either): a
 * transaction-scoped advisory lock per name serializes pushes and
 * deletions of one policy; the trigger policy_versions_head (0008) moves
 * the head as each version is inserted and refuses any other number. */
static const char SQL_POLICY_LOCK[] =
	"SELECT p.current_version, coalesce(v.deleted, false),"
	"       coalesce(v.digest, '')"
	"  FROM (SELECT pg_advisory_xact_lock(hashtextextended("
	"                 'optreg.policy:' || $1, 0))) l,"
	"       policies p LEFT JOIN policy_versions v ON v.name = p.name"
	"   AND v.version = p.current_version"
	" WHERE p.name = $1";

static const char SQL_POLICY_INSERT[] =
	"INSERT INTO policy_versions (name, version, deleted, source,"
	"       canonical, digest, message, created_by)"
	" VALUES ($1, $2::int, $3::text IS NULL, $3::text, $4, $5, $6, $7)";

/* The length of array `key` of the stored document (0 when it is not an
 * array: a document that no longer loads is still listed). */
#define ARRAY_LEN(key)                                                      \
	"(CASE jsonb_typeof(v.canonical::jsonb -> '" key "') WHEN 'array'"  \
	" THEN jsonb_array_length(v.canonical::jsonb -> '" key "') ELSE 0 END)"

static const char SQL_POLICIES_LIST[] =
	"SELECT p.name, v.version, v.digest,"
	"       coalesce(v.canonical::jsonb ->> 'mode', 'enforce') AS mode,"
	"       coalesce(v.canonical::jsonb -> 'namespaces', '[]') AS namespaces,"
	"       " ARRAY_LEN("rules") " AS rules,"
	"       " ARRAY_LEN("gates") " AS gates,"
	"       " TS("v.created_at") " AS created_at, v.created_by, v.message"
	POLICY_HEAD_JOIN " ORDER BY p.name";

static const char SQL_POLICY_GET[] =
	"SELECT v.name, v.version, v.digest, v.source AS document,"
	"       v.canonical::jsonb AS policy,"
	"       " TS("v.created_at") " AS created_at, v.created_by, v.message,"
	"       v.deleted"
	"  FROM policy_versions v JOIN policies p ON p.name = v.name"
	" WHERE v.name = $1"
	"   AND v.version = CASE WHEN $2::int = 0 THEN p.current_version"
	"                        ELSE $2::int END";

static const char SQL_POLICY_VERSIONS[] =
	"SELECT version, digest, " TS("created_at") " AS created_at,"
	"       created_by, message, deleted"
	"  FROM policy_versions WHERE name = $1"
	" ORDER BY version DESC LIMIT 100";

#define WAIVER_COLS                                                         \
	"id, policy, rule, namespace, config, reason, owner, "              \
	TS("expires_at") " AS expires_at, " TS("created_at")                \
	" AS created_at, created_by, " TS("revoked_at") " AS revoked_at, "  \
	"revoked_by, revoke_reason, "                                       \
	"(revoked_at IS NULL AND expires_at > statement_timestamp()) AS active"

static const char SQL_WAIVER_CHECK_EXPIRY[] =
	"SELECT $1::timestamptz > statement_timestamp(),"
	"       $1::timestamptz <= statement_timestamp() + interval '90 days'";

static const char SQL_WAIVER_INSERT[] =
	"INSERT INTO waivers (id, policy, rule, namespace, config, reason,"
	"       owner, expires_at, created_by)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz, $9)"
	" RETURNING " WAIVER_COLS;

/* Waivers page newest first by (created_at, id): the key of a row is its
 * created_at in whole microseconds, exact where the listed text is not. */
#define WAIVER_PAGE_KEY "(extract(epoch FROM created_at) * 1000000)::bigint"

static const char SQL_WAIVERS_LIST[] =
	"SELECT " WAIVER_COLS ", " WAIVER_PAGE_KEY " AS page_key FROM waivers"
	" WHERE ($1::text IS NULL OR namespace = $1)"
	"   AND ($2::text[] IS NULL OR namespace LIKE ANY ($2::text[]))"
	"   AND ($3::bool OR (revoked_at IS NULL"
	"                     AND expires_at > statement_timestamp()))"
	"   AND ($4::bigint IS NULL OR (" WAIVER_PAGE_KEY ", id) < ($4, $5))"
	" ORDER BY created_at DESC, id DESC LIMIT $6::int";

static const char SQL_WAIVER_GET[] =
	"SELECT " WAIVER_COLS " FROM waivers WHERE id = $1";

static const char SQL_WAIVER_REVOKE[] =
	"UPDATE waivers SET revoked_at = statement_timestamp(), revoked_by = $2,"
	"       revoke_reason = $3"
	" WHERE id = $1 AND revoked_at IS NULL RETURNING id";

/* The database decides which waivers are in force (expires_at after the
 * statement's start, statement_timestamp(), not the transaction's);
 * the evaluator compares whole seconds, so the expiry is rounded up and
 * now down: a waiver this query returns always applies. */
static const char SQL_WAIVERS_ACTIVE[] =
	"SELECT " WAIVER_COLS ","
	"       ceil(extract(epoch FROM expires_at))::bigint AS expires_epoch,"
	"       floor(extract(epoch FROM statement_timestamp()))::bigint AS now_epoch"
	"  FROM waivers"
	" WHERE ($1::text IS NULL OR namespace = $1)"
	"   AND revoked_at IS NULL AND expires_at > statement_timestamp()"
	" ORDER BY id";

static const char SQL_POLICY_SCOPE[] =
	"SELECT n.name AS namespace, c.name, v.version,"
	"       convert_from(v.payload, 'UTF8') AS config,"
	"       coalesce((SELECT json_agg(t.tag ORDER BY t.tag) FROM tags t"
	"                  WHERE t.config_id = v.config_id"
	"                    AND t.version = v.version), '[]') AS tags"
	"  FROM versions v JOIN configs c ON c.id = v.config_id"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE v.yanked_at IS NULL AND n.name LIKE ANY ($1::text[])"
	"   AND (v.version = c.latest_version"
	"        OR EXISTS (SELECT FROM tags t WHERE t.config_id = v.config_id"
	"                    AND t.version = v.version))"
	"   AND (n.name, c.name, v.version) > ($3, $4, $5::int)"
	" ORDER BY n.name, c.name, v.version LIMIT $2::int";
/* clang-format on */

int optreg_store_policies_current(PGconn *conn, bool documents, json_t **out,
				  struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec_prepared(conn,
					  documents ? SQL_POLICIES_CURRENT_DOCS
						    : SQL_POLICIES_CURRENT,
					  0, NULL, PGRES_TUPLES_OK, &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	PQclear(res);
	return 0;
}

int optreg_store_policy_lock(PGconn *conn, const char *name, int *version,
			     bool *deleted, char digest[80],
			     struct optreg_errors *errs)
{
	const char *p[1] = {name};
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_POLICY_CREATE, 1, p,
				 PGRES_COMMAND_OK, &res, errs);

	if (rc)
		return rc;
	PQclear(res);
	rc = optreg_sql_exec(conn, SQL_POLICY_LOCK, 1, p, PGRES_TUPLES_OK, &res,
			     errs);
	if (rc)
		return rc;
	*version = atoi(PQgetvalue(res, 0, 0));
	*deleted = PQgetvalue(res, 0, 1)[0] == 't';
	snprintf(digest, 80, "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	return 0;
}

int optreg_store_policy_insert(PGconn *conn, const char *name, int version,
			       const char *source, const char *canonical,
			       const char *digest, const char *message,
			       const char *actor, struct optreg_errors *errs)
{
	char vs[16];
	const char *p[7] = {name,   vs,	     source, canonical,
			    digest, message, actor};
	PGresult *res;

	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_exec(conn, SQL_POLICY_INSERT, 7, p,
				 PGRES_COMMAND_OK, &res, errs);
	if (rc == 0)
		PQclear(res);
	return rc;
}

int optreg_store_policies_list(PGconn *conn, json_t **out,
			       struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_POLICIES_LIST, 0, NULL,
				 PGRES_TUPLES_OK, &res, errs);

	*out = NULL;
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	PQclear(res);
	return 0;
}

int optreg_store_policy_get(PGconn *conn, const char *name, int version,
			    json_t **out, struct optreg_errors *errs)
{
	char vs[16];
	const char *p[2] = {name, vs};
	PGresult *res;

	*out = NULL;
	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_exec(conn, SQL_POLICY_GET, 2, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	bool gone = PQntuples(res) == 0 ||
		    (version == 0 && PQgetvalue(res, 0, 8)[0] == 't');
	if (gone) {
		PQclear(res);
		struct optreg_error *e;
		if (version)
			e = optreg_errors_add(
				errs, OPTREG_ENOTFOUND, "not_found", "version",
				"policy %s has no version %d", name, version);
		else
			e = optreg_errors_add(errs, OPTREG_ENOTFOUND,
					      "not_found", NULL,
					      "policy %s not found", name);
		optreg_error_set_hint(e, "list the policies with GET "
					 "/v1/policies");
		return OPTREG_ENOTFOUND;
	}
	json_t *doc = optreg_sql_row_json(res, 0);
	PQclear(res);
	rc = optreg_sql_exec(conn, SQL_POLICY_VERSIONS, 1, p, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc) {
		json_decref(doc);
		return rc;
	}
	json_object_set_new(doc, "versions", optreg_sql_rows_json(res));
	PQclear(res);
	*out = doc;
	return 0;
}

/* ---- waivers ---- */

int optreg_store_waiver_create(PGconn *conn, const char *id, const json_t *w,
			       const char *actor, json_t **out,
			       struct optreg_errors *errs)
{
	const char *exp = json_string_value(json_object_get(w, "expires_at"));
	const char *p[9] = {id,
			    json_string_value(json_object_get(w, "policy")),
			    json_string_value(json_object_get(w, "rule")),
			    json_string_value(json_object_get(w, "namespace")),
			    json_string_value(json_object_get(w, "config")),
			    json_string_value(json_object_get(w, "reason")),
			    json_string_value(json_object_get(w, "owner")),
			    exp,
			    actor};
	PGresult *res;

	*out = NULL;
	int rc = optreg_sql_exec(conn, SQL_WAIVER_CHECK_EXPIRY, 1, &exp,
				 PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	bool future = PQgetvalue(res, 0, 0)[0] == 't';
	bool near = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	if (!future || !near) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "range", "expires_at",
			"expires_at %s is %s", exp,
			!future ? "not in the future"
				: "more than 90 days ahead");
		optreg_error_set_hint(e, "give a time within the next 90 "
					 "days; grant a new waiver when it "
					 "ends");
		return OPTREG_EINVAL;
	}
	rc = optreg_sql_exec(conn, SQL_WAIVER_INSERT, 9, p, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc)
		return rc;
	*out = optreg_sql_row_json(res, 0);
	PQclear(res);
	return 0;
}

int optreg_store_waivers_list(PGconn *conn, const char *ns,
			      const char *const *patterns, size_t npatterns,
			      bool all, long long after_key,
			      const char *after_id, int limit, json_t **out,
			      struct optreg_errors *errs)
{
	struct optreg_buf likes = OPTREG_BUF_INIT;
	char ks[24], ls[16];
	PGresult *res;

	*out = NULL;
	if (patterns)
		optreg_glob_like_array(patterns, npatterns, &likes);
	snprintf(ks, sizeof(ks), "%lld", after_key);
	snprintf(ls, sizeof(ls), "%d", limit);
	const char *p[6] = {ns,
			    patterns ? likes.data : NULL,
			    all ? "true" : "false",
			    after_id ? ks : NULL,
			    after_id,
			    ls};
	int rc = optreg_sql_exec(conn, SQL_WAIVERS_LIST, 6, p, PGRES_TUPLES_OK,
				 &res, errs);
	optreg_buf_release(&likes);
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	PQclear(res);
	return 0;
}

int optreg_store_waiver_get(PGconn *conn, const char *id, json_t **out,
			    struct optreg_errors *errs)
{
	PGresult *res;

	*out = NULL;
	int rc = optreg_sql_exec(conn, SQL_WAIVER_GET, 1, &id, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		struct optreg_error *e =
			optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found",
					  NULL, "waiver %s not found", id);
		optreg_error_set_hint(e, "list the waivers with GET "
					 "/v1/waivers?all=true");
		return OPTREG_ENOTFOUND;
	}
	*out = optreg_sql_row_json(res, 0);
	PQclear(res);
	return 0;
}

int optreg_store_waiver_revoke(PGconn *conn, const char *id, const char *reason,
			       const char *actor, bool *already, json_t **out,
			       struct optreg_errors *errs)
{
	const char *p[3] = {id, actor, reason};
	PGresult *res;

	*out = NULL;
	int rc = optreg_sql_exec(conn, SQL_WAIVER_REVOKE, 3, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	*already = PQntuples(res) == 0;
	PQclear(res);
	return optreg_store_waiver_get(conn, id, out, errs);
}

int optreg_store_waivers_active(PGconn *conn, const char *ns, json_t **out,
				time_t *now, struct optreg_errors *errs)
{
	PGresult *res;

	*out = NULL;
	*now = time(NULL);
	int rc = optreg_sql_exec(conn, SQL_WAIVERS_ACTIVE, 1, &ns,
				 PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	if (PQntuples(res))
		*now = (time_t)strtoll(
			PQgetvalue(res, 0, PQfnumber(res, "now_epoch")), NULL,
			10);
	PQclear(res);
	return 0;
}

int optreg_store_policy_scope(PGconn *conn, const char *const *patterns,
			      size_t npatterns, const char *after_ns,
			      const char *after_name, int after_version,
			      int limit, json_t **out,
			      struct optreg_errors *errs)
{
	struct optreg_buf likes = OPTREG_BUF_INIT;
	char ls[16], vs[16];
	PGresult *res;

	*out = NULL;
	optreg_glob_like_array(patterns, npatterns, &likes);
	snprintf(ls, sizeof(ls), "%d", limit);
	snprintf(vs, sizeof(vs), "%d", after_version);
	const char *p[5] = {likes.data ? likes.data : "{}", ls,
			    after_ns ? after_ns : "",
			    after_name ? after_name : "", vs};
	int rc = optreg_sql_exec(conn, SQL_POLICY_SCOPE, 5, p, PGRES_TUPLES_OK,
				 &res, errs);
	optreg_buf_release(&likes);
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	PQclear(res);
	return 0;
}
