/*
 * registry/store/configs.c: SQL for configs and their namespaces. See
 * configs.h.
 */
#include "configs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/glob.h"
#include "../sql.h"
#include "store.h"

/* clang-format off */
static const char SQL_CONFIG_EXISTS[] =
	"SELECT 1 FROM configs c"
	"  JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE n.name = $1 AND c.name = $2";

static const char SQL_CONFIG_SEARCH[] =
	"SELECT n.name, c.name, c.latest_version,"
	"       (SELECT v.digest FROM versions v WHERE v.config_id = c.id"
	"           AND v.version = c.latest_version),"
	"       " TS("c.updated_at")
	"  FROM configs c JOIN namespaces n ON n.id = c.namespace_id"
	" WHERE ($1::text[] IS NULL OR n.name LIKE ANY ($1::text[]))"
	"   AND ($2::text IS NULL OR n.name = $2)"
	"   AND ($3::text IS NULL OR strpos(c.name, $3) > 0)"
	"   AND ($4::text IS NULL OR (n.name, c.name) > ($4, $5))"
	" ORDER BY n.name, c.name LIMIT $6::int";
/* clang-format on */

int optreg_store_config_exists(PGconn *conn, const char *ns, const char *name,
			       struct optreg_errors *errs)
{
	const char *p[2] = {ns, name};
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_CONFIG_EXISTS, 2, p, PGRES_TUPLES_OK,
				 &res, errs);

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

void optreg_config_list_release(struct optreg_config_list *l)
{
	for (size_t i = 0; i < l->len; i++) {
		free(l->items[i].ns);
		free(l->items[i].name);
		free(l->items[i].latest_digest);
		free(l->items[i].updated_at);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int optreg_store_search(PGconn *conn, const char *const *patterns,
			size_t npatterns, const char *ns, const char *q,
			const char *after_ns, const char *after_name, int limit,
			struct optreg_config_list *out,
			struct optreg_errors *errs)
{
	struct optreg_buf likes = OPTREG_BUF_INIT;
	char ls[16];
	PGresult *res;

	memset(out, 0, sizeof(*out));
	if (patterns)
		optreg_glob_like_array(patterns, npatterns, &likes);
	snprintf(ls, sizeof(ls), "%d", limit);
	const char *p[6] = {
		patterns ? likes.data : NULL, ns, q, after_ns, after_name, ls};
	int rc = optreg_sql_exec(conn, SQL_CONFIG_SEARCH, 6, p, PGRES_TUPLES_OK,
				 &res, errs);
	optreg_buf_release(&likes);
	if (rc)
		return rc;
	out->len = (size_t)PQntuples(res);
	out->items = optreg_xcalloc(out->len + 1, sizeof(*out->items));
	for (size_t i = 0; i < out->len; i++) {
		struct optreg_config_summary *s = &out->items[i];
		int r = (int)i;
		s->ns = optreg_xstrdup(PQgetvalue(res, r, 0));
		s->name = optreg_xstrdup(PQgetvalue(res, r, 1));
		s->latest_version = atoi(PQgetvalue(res, r, 2));
		s->latest_digest =
			PQgetisnull(res, r, 3)
				? NULL
				: optreg_xstrdup(PQgetvalue(res, r, 3));
		s->updated_at = optreg_xstrdup(PQgetvalue(res, r, 4));
	}
	PQclear(res);
	return 0;
}
