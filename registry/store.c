/*
 * registry/store.c: SQL for namespaces, configs, versions and tags. All
 * statements are parameterized; writes are the SQL functions of
 * migrations/0001_registry.sql, one statement and so one transaction each.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "sql.h"

#define TS(col)                                                                \
	"to_char(" col " AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* clang-format off */
static const char SQL_SUBMIT_VERSION[] =
	"SELECT version, created, " TS("created_at")
	"  FROM submit_version($1, $2, $3, $4, $5, $6)";
/* clang-format on */

static char *dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? NULL
		       : optreg_xstrdup(PQgetvalue(res, row, col));
}

void optreg_version_release(struct optreg_version *v)
{
	free(v->ns);
	free(v->name);
	free(v->created_at);
	free(v->created_by);
	free(v->yanked_at);
	free(v->yank_reason);
	free(v->envelope);
	free(v->tags);
	free(v->receipt);
	optreg_buf_release(&v->payload);
	memset(v, 0, sizeof(*v));
	optreg_buf_init(&v->payload);
}

void optreg_version_render(const struct optreg_version *v,
			   struct optreg_buf *out)
{
	json_error_t jerr;
	json_t *env = json_loads(v->envelope, 0, &jerr);
	json_t *tags = json_loads(v->tags ? v->tags : "[]", 0, &jerr);
	json_t *receipt =
		v->receipt ? json_loads(v->receipt, 0, &jerr) : json_null();
	json_t *doc = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:o, s:o, s:o*, s:o*, "
		"s:o*}",
		"namespace", v->ns, "name", v->name, "version", v->version,
		"digest", v->digest, "created_at", v->created_at, "created_by",
		v->created_by, "yanked", v->yanked, "yanked_at",
		v->yanked_at ? json_string(v->yanked_at) : json_null(),
		"yank_reason",
		v->yank_reason ? json_string(v->yank_reason) : json_null(),
		"tags", tags, "envelope", env, "receipt", receipt);
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	/* "config" goes in as the stored canonical bytes: re-encoding the
	 * numbers through jansson would print 0.9 as 0.90000000000000002. */
	size_t n = strlen(s);
	optreg_buf_add(out, s, n - 1);
	optreg_buf_adds(out, ",\"config\":");
	optreg_buf_add(out, v->payload.data, v->payload.len);
	optreg_buf_addch(out, '}');
	free(s);
}

/* clang-format off */
/* The columns load_version reads, and the joins they need. */
#define VERSION_SELECT                                                      \
	"SELECT n.name, c.name, v.version, v.digest, "                     \
	TS("v.created_at") ", v.created_by, " TS("v.yanked_at") ", "       \
	"v.yank_reason, v.payload, v.envelope, "                           \
	"coalesce((SELECT json_agg(t.tag ORDER BY t.tag) FROM tags t "     \
	"WHERE t.config_id = v.config_id AND t.version = v.version)::text, " \
	"'[]'), r.receipt "                                                  \
	"FROM versions v "                                                 \
	"JOIN configs c ON c.id = v.config_id "                            \
	"JOIN namespaces n ON n.id = c.namespace_id "                      \
	"LEFT JOIN receipts r ON r.config_id = v.config_id "               \
	"AND r.version = v.version "
/* clang-format on */

static int load_version(PGconn *conn, const char *sql, int nparams,
			const char *const *params, struct optreg_version *out,
			const char *what, struct optreg_errors *errs)
{
	/* The payload comes back in binary, exactly as stored. */
	PGresult *res =
		PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 1);
	int rc = optreg_sql_check(conn, res, PGRES_TUPLES_OK, errs);

	memset(out, 0, sizeof(*out));
	optreg_buf_init(&out->payload);
	if (rc == 0 && PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "%s not found", what);
		rc = OPTREG_ENOTFOUND;
	}
	if (rc == 0) {
		/* Binary results: text columns are raw bytes, the version an
		 * int4 in network order. */
		const unsigned char *vb =
			(const unsigned char *)PQgetvalue(res, 0, 2);
		out->ns = dup_or_null(res, 0, 0);
		out->name = dup_or_null(res, 0, 1);
		out->version =
			(int)((unsigned)vb[0] << 24 | (unsigned)vb[1] << 16 |
			      (unsigned)vb[2] << 8 | vb[3]);
		snprintf(out->digest, sizeof(out->digest), "%s",
			 PQgetvalue(res, 0, 3));
		out->created_at = dup_or_null(res, 0, 4);
		out->created_by = dup_or_null(res, 0, 5);
		out->yanked_at = dup_or_null(res, 0, 6);
		out->yanked = out->yanked_at != NULL;
		out->yank_reason = dup_or_null(res, 0, 7);
		optreg_buf_add(&out->payload, PQgetvalue(res, 0, 8),
			       (size_t)PQgetlength(res, 0, 8));
		out->envelope = dup_or_null(res, 0, 9);
		out->tags = dup_or_null(res, 0, 10);
		out->receipt = dup_or_null(res, 0, 11);
	}
	PQclear(res);
	return rc;
}

int optreg_store_get_version(PGconn *conn, const char *ns, const char *name,
			     int version, struct optreg_version *out,
			     struct optreg_errors *errs)
{
	char vs[16], what[300];
	const char *p[3] = {ns, name, vs};

	snprintf(vs, sizeof(vs), "%d", version);
	snprintf(what, sizeof(what), "version %s/%s@%d", ns, name, version);
	return load_version(conn,
			    VERSION_SELECT "WHERE n.name = $1 AND c.name = $2"
					   "   AND v.version = $3::int",
			    3, p, out, what, errs);
}

int optreg_store_get_digest(PGconn *conn, const char *digest,
			    struct optreg_version *out,
			    struct optreg_errors *errs)
{
	const char *p[1] = {digest};
	char what[128];

	snprintf(what, sizeof(what), "digest %s", digest);
	return load_version(conn, VERSION_SELECT "WHERE v.digest = $1", 1, p,
			    out, what, errs);
}

int optreg_store_resolve_tag(PGconn *conn, const char *ns, const char *name,
			     const char *tag, int *version,
			     struct optreg_errors *errs)
{
	const char *p[3] = {ns, name, tag};
	PGresult *res;
	int rc = optreg_sql_exec(conn,
				 "SELECT t.version FROM tags t"
				 "  JOIN configs c ON c.id = t.config_id"
				 "  JOIN namespaces n ON n.id = c.namespace_id"
				 " WHERE n.name = $1 AND c.name = $2"
				 "   AND t.tag = $3",
				 3, p, PGRES_TUPLES_OK, &res, errs);

	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "tag %s/%s@%s not found", ns, name, tag);
		rc = OPTREG_ENOTFOUND;
	} else {
		*version = atoi(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}

/* OPTREG_ENOTFOUND with an error unless config ns/name exists. */
static int config_exists(PGconn *conn, const char *ns, const char *name,
			 struct optreg_errors *errs)
{
	const char *p[2] = {ns, name};
	PGresult *res;
	int rc = optreg_sql_exec(conn,
				 "SELECT 1 FROM configs c"
				 "  JOIN namespaces n ON n.id = c.namespace_id"
				 " WHERE n.name = $1 AND c.name = $2",
				 2, p, PGRES_TUPLES_OK, &res, errs);

	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "config %s/%s not found", ns, name);
		rc = OPTREG_ENOTFOUND;
	}
	PQclear(res);
	return rc;
}

int optreg_store_list_versions(PGconn *conn, const char *ns, const char *name,
			       int before, int limit, json_t **out,
			       struct optreg_errors *errs)
{
	char bs[16], ls[16];
	const char *p[4] = {ns, name, bs, ls};
	PGresult *res;
	int rc = config_exists(conn, ns, name, errs);

	*out = NULL;
	if (rc)
		return rc;
	snprintf(bs, sizeof(bs), "%d", before > 0 ? before : 0);
	snprintf(ls, sizeof(ls), "%d", limit);
	rc = optreg_sql_exec(
		conn,
		"SELECT v.version, v.digest, " TS(
			"v.created_at") ","
					"       v.created_by, v.yanked_at IS "
					"NOT NULL,"
					"       coalesce((SELECT "
					"json_agg(t.tag ORDER BY t.tag)"
					"                   FROM tags t WHERE "
					"t.config_id = v.config_id"
					"                    AND t.version = "
					"v.version)::text, '[]')"
					"  FROM versions v"
					"  JOIN configs c ON c.id = v.config_id"
					"  JOIN namespaces n ON n.id = "
					"c.namespace_id"
					" WHERE n.name = $1 AND c.name = $2"
					"   AND ($3::int = 0 OR v.version < "
					"$3::int)"
					" ORDER BY v.version DESC LIMIT "
					"$4::int",
		4, p, PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *tags = json_loads(PQgetvalue(res, i, 5), 0, NULL);
		json_array_append_new(
			*out,
			json_pack("{s:i, s:s, s:s, s:s, s:b, s:o*}", "version",
				  atoi(PQgetvalue(res, i, 0)), "digest",
				  PQgetvalue(res, i, 1), "created_at",
				  PQgetvalue(res, i, 2), "created_by",
				  PQgetvalue(res, i, 3), "yanked",
				  !strcmp(PQgetvalue(res, i, 4), "t"), "tags",
				  tags));
	}
	PQclear(res);
	return 0;
}

int optreg_store_list_tags(PGconn *conn, const char *ns, const char *name,
			   json_t **out, struct optreg_errors *errs)
{
	const char *p[2] = {ns, name};
	PGresult *res;
	int rc = config_exists(conn, ns, name, errs);

	*out = NULL;
	if (rc)
		return rc;
	rc = optreg_sql_exec(
		conn,
		"SELECT t.tag, t.version, v.digest, " TS(
			"t.updated_at") ", t.updated_by"
					"  FROM tags t"
					"  JOIN versions v ON v.config_id "
					"= t.config_id"
					"   AND v.version = t.version"
					"  JOIN configs c ON c.id = "
					"t.config_id"
					"  JOIN namespaces n ON n.id = "
					"c.namespace_id"
					" WHERE n.name = $1 AND c.name = "
					"$2 ORDER BY t.tag",
		2, p, PGRES_TUPLES_OK, &res, errs);
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(
			*out, json_pack("{s:s, s:i, s:s, s:s, s:s}", "tag",
					PQgetvalue(res, i, 0), "version",
					atoi(PQgetvalue(res, i, 1)), "digest",
					PQgetvalue(res, i, 2), "updated_at",
					PQgetvalue(res, i, 3), "updated_by",
					PQgetvalue(res, i, 4)));
	PQclear(res);
	return 0;
}

int optreg_store_move_tag(PGconn *conn, const char *ns, const char *name,
			  const char *tag, int version, int expected,
			  const struct optreg_audit_actor *who, int *previous,
			  struct optreg_errors *errs)
{
	const char *actor = who->principal;
	char vs[16], es[16];
	const char *p[6] = {ns,	  name, tag, vs, expected >= 0 ? es : NULL,
			    actor};
	PGresult *res;

	snprintf(vs, sizeof(vs), "%d", version);
	snprintf(es, sizeof(es), "%d", expected);
	int rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	rc = optreg_sql_exec(conn,
			     "SELECT status, previous FROM move_tag($1, "
			     "$2, $3, $4::int, $5::int, $6)",
			     6, p, PGRES_TUPLES_OK, &res, errs);
	if (rc) {
		optreg_sql_rollback(conn);
		return rc;
	}
	const char *status = PQgetvalue(res, 0, 0);
	*previous = PQgetisnull(res, 0, 1) ? -1 : atoi(PQgetvalue(res, 0, 1));
	if (!strcmp(status, "no_config")) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "config %s/%s not found", ns, name);
		rc = OPTREG_ENOTFOUND;
	} else if (!strcmp(status, "no_version")) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found",
				  "version", "version %s/%s@%d not found", ns,
				  name, version);
		rc = OPTREG_ENOTFOUND;
	} else if (!strcmp(status, "yanked")) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ECONFLICT, "yanked", "version",
			"version %s/%s@%d is yanked; tags cannot move to it",
			ns, name, version);
		optreg_error_set_hint(e, "submit a fixed config and tag that");
		rc = OPTREG_ECONFLICT;
	} else if (!strcmp(status, "conflict")) {
		struct optreg_buf cur = OPTREG_BUF_INIT, exp = OPTREG_BUF_INIT;
		if (*previous < 0)
			optreg_buf_adds(&cur, "does not exist");
		else
			optreg_buf_addf(&cur, "points at version %d",
					*previous);
		if (expected < 0)
			optreg_buf_adds(&exp, "not to exist");
		else
			optreg_buf_addf(&exp, "to point at version %d",
					expected);
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_ECONFLICT, "conflict", "expected_version",
			"tag %s %s, expected %s", tag, cur.data, exp.data);
		optreg_error_set_hint(e, "read the tag again and retry with "
					 "its current version as "
					 "expected_version");
		optreg_buf_release(&cur);
		optreg_buf_release(&exp);
		rc = OPTREG_ECONFLICT;
	}
	/* Moving a tag to where it already points changes nothing and is
	 * not an event. */
	if (rc == 0 && !strcmp(status, "ok") && *previous != version) {
		char target[400];
		snprintf(target, sizeof(target), "%s/%s@%s", ns, name, tag);
		rc = optreg_audit_append(
			conn, who, "tag.moved", target,
			json_pack("{s:s, s:o, s:i}", "tag", tag, "from",
				  *previous < 0 ? json_null()
						: json_integer(*previous),
				  "to", version),
			NULL, errs);
	}
	PQclear(res);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	else
		optreg_sql_rollback(conn);
	return rc;
}

int optreg_store_yank(PGconn *conn, const char *ns, const char *name,
		      int version, const char *reason,
		      const struct optreg_audit_actor *who, bool *already,
		      char digest[OPTREG_DIGEST_LEN + 1],
		      struct optreg_errors *errs)
{
	const char *actor = who->principal;
	char vs[16];
	const char *p[5] = {ns, name, vs, reason, actor};
	PGresult *res;

	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	rc = optreg_sql_exec(conn,
			     "SELECT status, digest FROM yank_version($1, "
			     "$2, $3::int, $4, $5)",
			     5, p, PGRES_TUPLES_OK, &res, errs);
	if (rc) {
		optreg_sql_rollback(conn);
		return rc;
	}
	const char *status = PQgetvalue(res, 0, 0);
	if (!strcmp(status, "not_found")) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "version %s/%s@%d not found", ns, name,
				  version);
		rc = OPTREG_ENOTFOUND;
	} else {
		*already = !strcmp(status, "already");
		snprintf(digest, OPTREG_DIGEST_LEN + 1, "%s",
			 PQgetvalue(res, 0, 1));
		if (!*already) {
			char target[300];
			snprintf(target, sizeof(target), "%s/%s@%d", ns, name,
				 version);
			rc = optreg_audit_append(
				conn, who, "version.yanked", target,
				json_pack("{s:s, s:s}", "digest", digest,
					  "reason", reason),
				NULL, errs);
		}
	}
	PQclear(res);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	else
		optreg_sql_rollback(conn);
	return rc;
}

int optreg_store_search(PGconn *conn, const char *const *patterns,
			size_t npatterns, const char *ns, const char *q,
			const char *after_ns, const char *after_name, int limit,
			json_t **out, struct optreg_errors *errs)
{
	struct optreg_buf likes = OPTREG_BUF_INIT;
	char ls[16];
	PGresult *res;

	*out = NULL;
	/* Globs of [a-z0-9*?-] become LIKE patterns; none of those
	 * characters is special to LIKE, so nothing needs escaping. */
	if (patterns) {
		optreg_buf_addch(&likes, '{');
		for (size_t i = 0; i < npatterns; i++) {
			optreg_buf_adds(&likes, i ? ",\"" : "\"");
			for (const char *s = patterns[i]; *s; s++)
				optreg_buf_addch(&likes, *s == '*'   ? '%'
							 : *s == '?' ? '_'
								     : *s);
			optreg_buf_addch(&likes, '"');
		}
		optreg_buf_addch(&likes, '}');
	}
	snprintf(ls, sizeof(ls), "%d", limit);
	const char *p[6] = {
		patterns ? likes.data : NULL, ns, q, after_ns, after_name, ls};
	int rc = optreg_sql_exec(
		conn,
		"SELECT n.name, c.name, c.latest_version,"
		"       (SELECT v.digest FROM versions v WHERE v.config_id = "
		"c.id AND v.version = c.latest_version),"
		"       " TS("c.updated_at") "  FROM configs c JOIN namespaces "
					     "n ON n.id = c.namespace_id"
					     " WHERE ($1::text[] IS NULL OR "
					     "n.name LIKE ANY ($1::text[]))"
					     "   AND ($2::text IS NULL OR "
					     "n.name = $2)"
					     "   AND ($3::text IS NULL OR "
					     "strpos(c.name, $3) > 0)"
					     "   AND ($4::text IS NULL OR "
					     "(n.name, c.name) > ($4, $5))"
					     " ORDER BY n.name, c.name LIMIT "
					     "$6::int",
		6, p, PGRES_TUPLES_OK, &res, errs);
	optreg_buf_release(&likes);
	if (rc)
		return rc;
	*out = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(
			*out,
			json_pack("{s:s, s:s, s:i, s:s?, s:s}", "namespace",
				  PQgetvalue(res, i, 0), "name",
				  PQgetvalue(res, i, 1), "latest_version",
				  atoi(PQgetvalue(res, i, 2)), "latest_digest",
				  PQgetisnull(res, i, 3)
					  ? NULL
					  : PQgetvalue(res, i, 3),
				  "updated_at", PQgetvalue(res, i, 4)));
	PQclear(res);
	return 0;
}

int optreg_store_submit_version(PGconn *conn, const char *ns, const char *name,
				const char *digest,
				const struct optreg_buf *payload,
				const char *envelope_canon, const char *actor,
				int *version, bool *created, char **created_at,
				struct optreg_errors *errs)
{
	const char *sp[6] = {ns,   name, digest, payload->data, envelope_canon,
			     actor};
	int lengths[6] = {0, 0, 0, (int)payload->len, 0, 0};
	int formats[6] = {0, 0, 0, 1, 0, 0};
	PGresult *res = PQexecParams(conn, SQL_SUBMIT_VERSION, 6, NULL, sp,
				     lengths, formats, 0);
	int rc = optreg_sql_check(conn, res, PGRES_TUPLES_OK, errs);

	if (rc == 0) {
		*version = atoi(PQgetvalue(res, 0, 0));
		*created = !strcmp(PQgetvalue(res, 0, 1), "t");
		*created_at = optreg_xstrdup(PQgetvalue(res, 0, 2));
	}
	PQclear(res);
	return rc;
}
