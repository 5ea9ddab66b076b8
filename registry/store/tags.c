/*
 * registry/store/tags.c: SQL for tags. See tags.h.
 */
#include "tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../audit.h"
#include "../sql.h"
#include "configs.h"
#include "store.h"

/* clang-format off */
static const char SQL_TAG_RESOLVE[] =
	"SELECT t.version FROM tags t"
	"  JOIN configs c ON c.id = t.config_id"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2"
	"   AND t.tag = $3";

static const char SQL_TAG_LIST[] =
	"SELECT t.tag, t.version, v.digest, " TS("t.updated_at") ", t.updated_by"
	"  FROM tags t"
	"  JOIN versions v ON v.config_id = t.config_id"
	"   AND v.version = t.version"
	"  JOIN configs c ON c.id = t.config_id"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2 ORDER BY t.tag";

static const char SQL_TAG_MOVE[] =
	"SELECT status, previous FROM move_tag($1, $2, $3, $4::int, $5::int, $6)";

static const char SQL_TAG_LOCK[] =
	"SELECT c.id, (SELECT t.version FROM tags t"
	"               WHERE t.config_id = c.id AND t.tag = $3)"
	"  FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2 FOR UPDATE OF c";

static const char SQL_TAG_PEEK[] =
	"SELECT c.id, (SELECT t.version FROM tags t"
	"               WHERE t.config_id = c.id AND t.tag = $3)"
	"  FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2";

static const char SQL_TAG_TARGET[] =
	"SELECT v.yanked_at IS NOT NULL, convert_from(v.payload, 'UTF8')"
	"  FROM versions v WHERE v.config_id = $1::bigint"
	"   AND v.version = $2::int";

static const char SQL_TAG_LAST_MOVE[] =
	"SELECT previous_version FROM tag_moves"
	" WHERE config_id = $1::bigint AND tag = $2 ORDER BY id DESC LIMIT 1";

static const char SQL_TAG_MOVE_RECORD[] =
	"INSERT INTO tag_moves (config_id, tag, version, previous_version,"
	"       moved_by, reason, link, rollback)"
	" SELECT c.id, $3, $4::int, $5::int, $6, $7, $8, $9::bool"
	"   FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
	"  WHERE n.name = $1 AND c.name = $2";

static const char SQL_TAG_HISTORY[] =
	"SELECT m.id, m.version, m.previous_version, "
	TS("m.moved_at") " AS moved_at, m.moved_by, m.reason, m.link,"
	"       m.rollback"
	"  FROM tag_moves m JOIN configs c ON c.id = m.config_id"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2 AND m.tag = $3"
	"   AND ($4::bigint = 0 OR m.id < $4::bigint)"
	" ORDER BY m.id DESC LIMIT $5::int";
/* clang-format on */

/* The config's id and the tag's version, locking the config or not. */
static int tag_read(PGconn *conn, const char *sql, const char *ns,
		    const char *name, const char *tag, long long *config_id,
		    int *current, struct optreg_errors *errs)
{
	const char *p[3] = {ns, name, tag};
	PGresult *res;
	int rc = optreg_sql_exec(conn, sql, 3, p, PGRES_TUPLES_OK, &res, errs);

	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "config %s/%s not found", ns, name);
		rc = OPTREG_ENOTFOUND;
	} else {
		*config_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*current = PQgetisnull(res, 0, 1) ? -1
						  : atoi(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return rc;
}

int optreg_store_tag_lock(PGconn *conn, const char *ns, const char *name,
			  const char *tag, long long *config_id, int *current,
			  struct optreg_errors *errs)
{
	return tag_read(conn, SQL_TAG_LOCK, ns, name, tag, config_id, current,
			errs);
}

int optreg_store_tag_peek(PGconn *conn, const char *ns, const char *name,
			  const char *tag, long long *config_id, int *current,
			  struct optreg_errors *errs)
{
	return tag_read(conn, SQL_TAG_PEEK, ns, name, tag, config_id, current,
			errs);
}

int optreg_store_tag_target(PGconn *conn, long long config_id, int version,
			    bool *yanked, struct optreg_buf *payload,
			    struct optreg_errors *errs)
{
	char cs[24], vs[16];
	const char *p[2] = {cs, vs};
	PGresult *res;

	snprintf(cs, sizeof(cs), "%lld", config_id);
	snprintf(vs, sizeof(vs), "%d", version);
	int rc = optreg_sql_exec(conn, SQL_TAG_TARGET, 2, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	if (PQntuples(res) == 0) {
		rc = OPTREG_ENOTFOUND;
	} else {
		*yanked = PQgetvalue(res, 0, 0)[0] == 't';
		optreg_buf_adds(payload, PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return rc;
}

int optreg_store_tag_last_previous(PGconn *conn, long long config_id,
				   const char *tag, int *previous,
				   struct optreg_errors *errs)
{
	char cs[24];
	const char *p[2] = {cs, tag};
	PGresult *res;

	snprintf(cs, sizeof(cs), "%lld", config_id);
	int rc = optreg_sql_exec(conn, SQL_TAG_LAST_MOVE, 2, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	*previous = PQntuples(res) == 0 || PQgetisnull(res, 0, 0)
			    ? -1
			    : atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int optreg_store_tag_history(PGconn *conn, const char *ns, const char *name,
			     const char *tag, long long before, int limit,
			     json_t **out, struct optreg_errors *errs)
{
	char bs[24], ls[16];
	const char *p[5] = {ns, name, tag, bs, ls};
	PGresult *res;

	*out = NULL;
	int rc = optreg_store_config_exists(conn, ns, name, errs);
	if (rc)
		return rc;
	snprintf(bs, sizeof(bs), "%lld", before > 0 ? before : 0);
	snprintf(ls, sizeof(ls), "%d", limit);
	rc = optreg_sql_exec(conn, SQL_TAG_HISTORY, 5, p, PGRES_TUPLES_OK, &res,
			     errs);
	if (rc)
		return rc;
	*out = optreg_sql_rows_json(res);
	PQclear(res);
	return 0;
}

int optreg_store_resolve_tag(PGconn *conn, const char *ns, const char *name,
			     const char *tag, int *version,
			     struct optreg_errors *errs)
{
	const char *p[3] = {ns, name, tag};
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_TAG_RESOLVE, 3, p, PGRES_TUPLES_OK,
				 &res, errs);

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

void optreg_tag_list_release(struct optreg_tag_list *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->items[i].tag);
		free(l->items[i].updated_at);
		free(l->items[i].updated_by);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int optreg_store_list_tags(PGconn *conn, const char *ns, const char *name,
			   struct optreg_tag_list *out,
			   struct optreg_errors *errs)
{
	const char *p[2] = {ns, name};
	PGresult *res;
	int rc = optreg_store_config_exists(conn, ns, name, errs);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = optreg_sql_exec(conn, SQL_TAG_LIST, 2, p, PGRES_TUPLES_OK, &res,
			     errs);
	if (rc)
		return rc;
	out->len = (size_t)PQntuples(res);
	out->items = optreg_xcalloc(out->len + 1, sizeof(*out->items));
	for (size_t i = 0; i < out->len; i++) {
		struct optreg_tag *t = &out->items[i];
		int r = (int)i;
		t->tag = optreg_xstrdup(PQgetvalue(res, r, 0));
		t->version = atoi(PQgetvalue(res, r, 1));
		snprintf(t->digest, sizeof(t->digest), "%s",
			 PQgetvalue(res, r, 2));
		t->updated_at = optreg_xstrdup(PQgetvalue(res, r, 3));
		t->updated_by = optreg_xstrdup(PQgetvalue(res, r, 4));
	}
	PQclear(res);
	return 0;
}

/* The move's row in tag_moves and its audit event. */
static int record_move(PGconn *conn, const char *ns, const char *name,
		       const char *tag, int version, int previous,
		       const struct optreg_audit_actor *who,
		       const struct optreg_tag_why *why,
		       struct optreg_errors *errs)
{
	char vs[16], ps[16], target[400];
	const char *p[9] = {ns,
			    name,
			    tag,
			    vs,
			    previous < 0 ? NULL : ps,
			    who->principal,
			    why ? why->reason : NULL,
			    why ? why->link : NULL,
			    why && why->rollback ? "true" : "false"};
	PGresult *res;

	snprintf(vs, sizeof(vs), "%d", version);
	snprintf(ps, sizeof(ps), "%d", previous);
	int rc = optreg_sql_exec(conn, SQL_TAG_MOVE_RECORD, 9, p,
				 PGRES_COMMAND_OK, &res, errs);
	if (rc)
		return rc;
	PQclear(res);
	snprintf(target, sizeof(target), "%s/%s@%s", ns, name, tag);
	json_t *details =
		json_pack("{s:s, s:o, s:i}", "tag", tag, "from",
			  previous < 0 ? json_null() : json_integer(previous),
			  "to", version);
	/* Only what was given, so plain moves read as before. */
	if (why && why->reason)
		json_object_set_new(details, "reason",
				    json_string(why->reason));
	if (why && why->link)
		json_object_set_new(details, "link", json_string(why->link));
	if (why && why->rollback)
		json_object_set_new(details, "rollback", json_true());
	if (why && why->gate)
		json_object_set_new(details, "gate", json_deep_copy(why->gate));
	return optreg_audit_append(conn, who, "tag.moved", target, details,
				   NULL, errs);
}

int optreg_store_move_tag(PGconn *conn, const char *ns, const char *name,
			  const char *tag, int version, int expected,
			  const struct optreg_audit_actor *who,
			  const struct optreg_tag_why *why, int *previous,
			  struct optreg_errors *errs)
{
	const char *actor = who->principal;
	char vs[16], es[16];
	const char *p[6] = {ns,	  name, tag, vs, expected >= 0 ? es : NULL,
			    actor};
	PGresult *res;

	snprintf(vs, sizeof(vs), "%d", version);
	snprintf(es, sizeof(es), "%d", expected);
	int rc = optreg_sql_exec(conn, SQL_TAG_MOVE, 6, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
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
	if (rc == 0 && !strcmp(status, "ok") && *previous != version)
		rc = record_move(conn, ns, name, tag, version, *previous, who,
				 why, errs);
	PQclear(res);
	return rc;
}
