/*
 * registry/store/versions.c: SQL for versions. See versions.h.
 */
#include "versions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit.h"
#include "../sql.h"
#include "configs.h"
#include "jobs.h"
#include "signers.h"
#include "store.h"

/* clang-format off */
/* The columns load_version reads, and the joins they need. */
#define VERSION_SELECT                                                      \
	"SELECT n.name, c.name, v.version, v.digest, "                     \
	TS("v.created_at") ", v.created_by, " TS("v.yanked_at") ", "       \
	"v.yank_reason, v.payload, v.envelope, "                           \
	"coalesce((SELECT json_agg(t.tag ORDER BY t.tag) FROM tags t "     \
	"WHERE t.config_id = v.config_id AND t.version = v.version)::text, " \
	"'[]'), r.receipt, v.message, v.link "                             \
	"FROM versions v "                                                 \
	"JOIN configs c ON c.id = v.config_id "                            \
	"JOIN namespaces n ON n.id = c.namespace_id "                      \
	"LEFT JOIN receipts r ON r.config_id = v.config_id "               \
	"AND r.version = v.version "

static const char SQL_VERSION_BY_NUMBER[] =
	VERSION_SELECT "WHERE n.name = $1 AND c.name = $2"
	"   AND v.version = $3::int";

static const char SQL_VERSION_BY_DIGEST[] =
	VERSION_SELECT "WHERE v.digest = $1";

/* A page of versions, each with the latest verdict and the job on suite
 * $5 (one job per version and suite) and the key ids that signed it: the
 * receipt's signer_keyids, or, for a version without a receipt, the
 * stored envelope's signatures' keyids. The config's id is a scalar
 * subquery, so the page is read backwards on versions' primary key and
 * stops after $4 rows (joined to configs, the planner sorted the config's
 * versions, or scanned the whole table, before the limit). */
static const char SQL_VERSION_LIST[] =
	"SELECT v.version, v.digest, " TS("v.created_at") ","
	"       v.created_by, v.yanked_at IS NOT NULL,"
	"       coalesce((SELECT json_agg(t.tag ORDER BY t.tag)"
	"                   FROM tags t WHERE t.config_id = v.config_id"
	"                    AND t.version = v.version)::text, '[]'),"
	"       v.message, v.link, v.yank_reason,"
	"       d.result, d.suite, d.job_id, " TS("d.created_at") ", j.state,"
	"       coalesce(convert_from(decode(r.receipt::json->>'payload',"
	"                                    'base64'), 'UTF8')::json"
	"                  ->'signer_keyids',"
	"                (SELECT json_agg(s->>'keyid')"
	"                   FROM json_array_elements("
	"                          v.envelope::json->'signatures') s),"
	"                '[]'::json)::text"
	"  FROM versions v"
	"  LEFT JOIN receipts r ON r.config_id = v.config_id"
	"   AND r.version = v.version"
	"  LEFT JOIN jobs j ON j.config_id = v.config_id"
	"   AND j.version = v.version AND j.suite = $5"
	"  LEFT JOIN LATERAL (SELECT x.result, x.suite, x.job_id, x.created_at"
	"                       FROM verdicts x"
	"                      WHERE x.config_id = v.config_id"
	"                        AND x.version = v.version AND x.suite = $5"
	"                      ORDER BY x.created_at DESC, x.job_id DESC"
	"                      LIMIT 1) d ON true"
	" WHERE v.config_id = (SELECT c.id FROM configs c"
	"                        JOIN namespaces n ON n.id = c.namespace_id"
	"                       WHERE n.name = $1 AND c.name = $2)"
	"   AND ($3::int = 0 OR v.version < $3::int)"
	" ORDER BY v.version DESC LIMIT $4::int";

static const char SQL_YANK[] =
	"SELECT status, digest FROM yank_version($1, $2, $3::int, $4, $5)";

static const char SQL_SUBMIT_PREPARE[] =
	"SELECT threshold, stored, stored_message, stored_link, keyid,"
	" public_key, key_namespaces, revoked, purpose"
	" FROM submit_prepare($1, $2, $3, $4::text[])";

/* Binary results: int4, bool, the time as text, then the subtree rows
 * optreg_audit_appended_read reads. */
static const char SQL_SUBMIT_RECORD[] =
	"SELECT version, created, created_at, leaf_index, node_level,"
	" node_idx, node_hash FROM submit_record($1, $2, $3, $4, $5, $6,"
	" $7, $8, $9, $10, $11, $12::timestamptz)";
/* clang-format on */

static char *dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? NULL
		       : optreg_xstrdup(PQgetvalue(res, row, col));
}

int optreg_store_submit_prepare(PGconn *conn, const struct optreg_dsse *env,
				const char *ns, const char *name,
				const char *digest,
				struct optreg_submit_prepared *out,
				const char **valid, size_t *nvalid,
				struct optreg_errors *errs)
{
	struct optreg_buf ids = OPTREG_BUF_INIT;
	PGresult *res;

	memset(out, 0, sizeof(*out));
	*nvalid = 0;
	optreg_store_signers_keyids(env, &ids);
	const char *p[4] = {ns, name, digest, ids.data};
	int rc = optreg_sql_begin_exec(conn, SQL_SUBMIT_PREPARE, 4, p,
				       PGRES_TUPLES_OK, &res, errs);
	optreg_buf_release(&ids);
	if (rc)
		return rc;
	if (PQntuples(res) < 1) {
		PQclear(res);
		optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", NULL,
				  "submit_prepare returned no row");
		return OPTREG_EINTERNAL;
	}
	out->threshold = atoi(PQgetvalue(res, 0, 0));
	out->stored = !strcmp(PQgetvalue(res, 0, 1), "t");
	out->message = dup_or_null(res, 0, 2);
	out->link = dup_or_null(res, 0, 3);
	optreg_store_signers_verify_rows(env, ns, res, 4, valid, nvalid, errs);
	PQclear(res);
	return 0;
}

/* Big-endian integers of a binary result column. */
static int32_t be_int32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
			 (uint32_t)u[2] << 8 | u[3]);
}

int optreg_store_submit_record(PGconn *conn,
			       const struct optreg_submit_record *in,
			       struct optreg_submit_recorded *out,
			       struct optreg_errors *errs)
{
	const char *sp[12] = {in->ns,
			      in->name,
			      in->digest,
			      in->payload->data,
			      in->envelope_canon,
			      in->actor,
			      in->message,
			      in->link,
			      in->suite,
			      in->event_head,
			      in->event_tail,
			      in->time};
	int lengths[12] = {0, 0, 0, (int)in->payload->len};
	int formats[12] = {0, 0, 0, 1};

	out->created_at = NULL;
	out->audit.n = 0;
	PGresult *res = optreg_sql_run_prepared(conn, SQL_SUBMIT_RECORD, 12, sp,
						lengths, formats, 1);
	int rc = optreg_sql_check(conn, res, PGRES_TUPLES_OK, errs);

	if (rc == 0 && (PQntuples(res) < 1 || PQgetlength(res, 0, 0) != 4 ||
			PQgetlength(res, 0, 1) != 1)) {
		optreg_errors_add(errs, OPTREG_EINTERNAL, "internal", NULL,
				  "submit_record returned no version");
		rc = OPTREG_EINTERNAL;
	}
	if (rc == 0) {
		out->version = be_int32(PQgetvalue(res, 0, 0));
		out->created = PQgetvalue(res, 0, 1)[0] != 0;
		out->created_at = optreg_xstrndup(
			PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2));
		if (out->created)
			rc = optreg_audit_appended_read(res, 3, &out->audit,
							errs);
	}
	PQclear(res);
	return rc;
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
	free(v->message);
	free(v->link);
	optreg_buf_release(&v->payload);
	memset(v, 0, sizeof(*v));
	optreg_buf_init(&v->payload);
}

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
		out->message = dup_or_null(res, 0, 12);
		out->link = dup_or_null(res, 0, 13);
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
	return load_version(conn, SQL_VERSION_BY_NUMBER, 3, p, out, what, errs);
}

int optreg_store_get_digest(PGconn *conn, const char *digest,
			    struct optreg_version *out,
			    struct optreg_errors *errs)
{
	const char *p[1] = {digest};
	char what[128];

	snprintf(what, sizeof(what), "digest %s", digest);
	return load_version(conn, SQL_VERSION_BY_DIGEST, 1, p, out, what, errs);
}

void optreg_version_list_release(struct optreg_version_list *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->items[i].created_at);
		free(l->items[i].created_by);
		free(l->items[i].tags);
		free(l->items[i].message);
		free(l->items[i].link);
		free(l->items[i].yank_reason);
		free(l->items[i].verdict_result);
		free(l->items[i].verdict_suite);
		free(l->items[i].verdict_created_at);
		free(l->items[i].job_state);
		free(l->items[i].signer_keyids);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int optreg_store_list_versions(PGconn *conn, const char *ns, const char *name,
			       int before, int limit,
			       struct optreg_version_list *out,
			       struct optreg_errors *errs)
{
	char bs[16], ls[16];
	const char *p[5] = {ns, name, bs, ls, OPTREG_DEFAULT_SUITE};
	PGresult *res;
	int rc = optreg_store_config_exists(conn, ns, name, errs);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	snprintf(bs, sizeof(bs), "%d", before > 0 ? before : 0);
	snprintf(ls, sizeof(ls), "%d", limit);
	rc = optreg_sql_exec(conn, SQL_VERSION_LIST, 5, p, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc)
		return rc;
	out->len = (size_t)PQntuples(res);
	out->items = optreg_xcalloc(out->len + 1, sizeof(*out->items));
	for (size_t i = 0; i < out->len; i++) {
		struct optreg_version_summary *s = &out->items[i];
		int r = (int)i;
		s->version = atoi(PQgetvalue(res, r, 0));
		snprintf(s->digest, sizeof(s->digest), "%s",
			 PQgetvalue(res, r, 1));
		s->created_at = optreg_xstrdup(PQgetvalue(res, r, 2));
		s->created_by = optreg_xstrdup(PQgetvalue(res, r, 3));
		s->yanked = !strcmp(PQgetvalue(res, r, 4), "t");
		s->tags = optreg_xstrdup(PQgetvalue(res, r, 5));
		s->message = dup_or_null(res, r, 6);
		s->link = dup_or_null(res, r, 7);
		s->yank_reason = dup_or_null(res, r, 8);
		s->verdict_result = dup_or_null(res, r, 9);
		s->verdict_suite = dup_or_null(res, r, 10);
		s->verdict_job_id = PQgetisnull(res, r, 11)
					    ? 0
					    : atoll(PQgetvalue(res, r, 11));
		s->verdict_created_at = dup_or_null(res, r, 12);
		s->job_state = dup_or_null(res, r, 13);
		s->signer_keyids = optreg_xstrdup(PQgetvalue(res, r, 14));
	}
	PQclear(res);
	return 0;
}

int optreg_store_yank(PGconn *conn, const char *ns, const char *name,
		      int version, const char *reason, const char *link,
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
	rc = optreg_sql_exec(conn, SQL_YANK, 5, p, PGRES_TUPLES_OK, &res, errs);
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
				json_pack("{s:s, s:s, s:s*}", "digest", digest,
					  "reason", reason, "link", link),
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
