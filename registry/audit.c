/*
 * registry/audit.c: appending events, proofs from stored subtree hashes,
 * listing entries, and signed checkpoints. See audit.h.
 */
#include "audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../common/base64.h"
#include "../common/clock.h"
#include "../common/dsse.h"
#include "../common/note.h"
#include "../validator/jcs.h"
#include "sql.h"

/* clang-format off */
static const char SQL_AUDIT_APPEND[] =
	"SELECT audit_append($1, $2::timestamptz, $3, $4,"
	" $5)";

static const char SQL_AUDIT_SIZE[] =
	"SELECT size FROM audit_head";

static const char SQL_AUDIT_NODE[] =
	"SELECT hash FROM audit_nodes WHERE level = "
	"$1::smallint AND idx = $2::bigint";

static const char SQL_AUDIT_ENTRIES[] =
	"SELECT idx, encode(leaf_hash, 'base64'), event"
	"  FROM audit_events"
	" WHERE ($1::text IS NULL OR actor = $1)"
	"   AND ($2::text IS NULL OR action = $2)"
	"   AND ($3::text IS NULL OR target = $3)"
	"   AND ($4::timestamptz IS NULL OR time >= $4::timestamptz)"
	"   AND ($5::timestamptz IS NULL OR time < $5::timestamptz)"
	"   AND idx >= $6::bigint"
	"   AND ($7::bigint IS NULL OR idx < $7::bigint)"
	"   AND ($9::text IS NULL OR target = $9"
	"        OR (target COLLATE \"C\" >= $9 || '@'"
	"            AND target COLLATE \"C\" < $9 || 'A'))"
	" ORDER BY idx LIMIT $8::int";

static const char SQL_CHECKPOINT_LATEST[] =
	"SELECT size, note FROM audit_checkpoints"
	" ORDER BY size DESC LIMIT 1";

static const char SQL_CHECKPOINT_LAST_ROOT[] =
	"SELECT size, root FROM audit_checkpoints"
	" ORDER BY size DESC LIMIT 1";

static const char SQL_CHECKPOINT_INSERT[] =
	"INSERT INTO audit_checkpoints (size, root, note,"
	" registry_keyid) VALUES ($1::bigint, $2, $3, $4)"
	" ON CONFLICT (size) DO NOTHING";
/* clang-format on */

void optreg_audit_now(char out[32])
{
	optreg_clock_now_ms(out);
}

/* The event object (`details` stolen), without "target" and "time". */
static json_t *event_object(const struct optreg_audit_actor *who,
			    const char *action, json_t *details)
{
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:s}", "action", action,
			 "actor", "principal",
			 who->principal ? who->principal : "", "token_id",
			 who->token_id ? who->token_id : "", "details",
			 details ? details : json_object(), "request_id",
			 who->request_id ? who->request_id : "");
}

int optreg_audit_event(const struct optreg_audit_actor *who, const char *action,
		       const char *target, json_t *details, const char *now,
		       struct optreg_buf *out, struct optreg_errors *errs)
{
	json_t *e = event_object(who, action, details);

	json_object_set_new(e, "target", json_string(target));
	json_object_set_new(e, "time", json_string(now));
	int rc = optreg_jcs_serialize(e, out, errs);
	json_decref(e);
	return rc;
}

/*
 * RFC 8785 orders the members by name, and "target" and "time" sort after
 * every other member of an event, so the event's text is that of the rest
 * without its closing brace, then the two. The number that ends the target
 * needs no escape: the text splits right before it.
 */
int optreg_audit_event_split(const struct optreg_audit_actor *who,
			     const char *action, const char *target_head,
			     json_t *details, const char *now,
			     struct optreg_buf *head, struct optreg_buf *tail,
			     struct optreg_errors *errs)
{
	json_t *e = event_object(who, action, details);
	json_t *t = json_string(target_head), *n = json_string(now);
	int rc = optreg_jcs_serialize(e, head, errs);

	/* The rest ends with '}', the target string with '"'. */
	if (rc == 0) {
		head->data[--head->len] = '\0';
		optreg_buf_adds(head, ",\"target\":");
		rc = optreg_jcs_serialize(t, head, errs);
	}
	if (rc == 0) {
		head->data[--head->len] = '\0';
		optreg_buf_adds(tail, "\",\"time\":");
		rc = optreg_jcs_serialize(n, tail, errs);
	}
	if (rc == 0)
		optreg_buf_addch(tail, '}');
	json_decref(e);
	json_decref(t);
	json_decref(n);
	return rc;
}

/*
 * Makes the event (`details` stolen) and runs `sql`, audit_append's five
 * parameters, with it; on success *res holds the result.
 */
static int append_run(PGconn *conn, const char *sql,
		      const struct optreg_audit_actor *who, const char *action,
		      const char *target, json_t *details, PGresult **res,
		      struct optreg_errors *errs)
{
	struct optreg_buf event = OPTREG_BUF_INIT;
	char now[32];

	*res = NULL;
	optreg_audit_now(now);
	int rc = optreg_audit_event(who, action, target, details, now, &event,
				    errs);
	if (rc == 0) {
		const char *p[5] = {event.data, now,
				    who->principal ? who->principal : "",
				    action, target};
		*res = optreg_sql_run_prepared(conn, sql, 5, p, NULL, NULL, 0);
		rc = optreg_sql_check(conn, *res, PGRES_TUPLES_OK, errs);
		if (rc) {
			PQclear(*res);
			*res = NULL;
		}
	}
	optreg_buf_release(&event);
	return rc;
}

int optreg_audit_append(PGconn *conn, const struct optreg_audit_actor *who,
			const char *action, const char *target, json_t *details,
			int64_t *index, struct optreg_errors *errs)
{
	PGresult *res;
	int rc = append_run(conn, SQL_AUDIT_APPEND, who, action, target,
			    details, &res, errs);

	if (rc == 0 && index)
		*index = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

int optreg_audit_append_alone(PGconn *conn,
			      const struct optreg_audit_actor *who,
			      const char *action, const char *target,
			      json_t *details, struct optreg_errors *errs)
{
	int rc = optreg_sql_begin(conn, errs);

	if (rc) {
		json_decref(details);
		return rc;
	}
	rc = optreg_audit_append(conn, who, action, target, details, NULL,
				 errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	else
		optreg_sql_rollback(conn);
	return rc;
}

int optreg_audit_size(PGconn *conn, uint64_t *size, struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_AUDIT_SIZE, 0, NULL, PGRES_TUPLES_OK,
				 &res, errs);

	if (rc)
		return rc;
	*size = PQntuples(res) ? strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return 0;
}

struct getter_ctx {
	PGconn *conn;
	struct optreg_errors *errs;
};

/* One stored complete subtree; missing is an internal error (the store is
 * damaged or the caller asked past the tree). */
static int db_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	struct getter_ctx *g = ctx;
	char lv[8], ix[24];
	const char *p[2] = {lv, ix};
	PGresult *res;

	snprintf(lv, sizeof(lv), "%u", st.level);
	snprintf(ix, sizeof(ix), "%" PRIu64, st.index);
	/* Binary results: the hash comes back as 32 raw bytes. */
	res = PQexecParams(g->conn, SQL_AUDIT_NODE, 2, NULL, p, NULL, NULL, 1);
	int rc = optreg_sql_check(g->conn, res, PGRES_TUPLES_OK, g->errs);
	if (rc == 0 && (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 32)) {
		optreg_errors_add(g->errs, OPTREG_EINTERNAL, "audit_store",
				  NULL,
				  "audit subtree (%u, %" PRIu64
				  ") is missing or malformed",
				  st.level, st.index);
		rc = OPTREG_EINTERNAL;
	}
	if (rc == 0)
		memcpy(out, PQgetvalue(res, 0, 0), 32);
	PQclear(res);
	return rc;
}

static int check_size(PGconn *conn, uint64_t n, struct optreg_errors *errs)
{
	uint64_t size;
	int rc = optreg_audit_size(conn, &size, errs);

	if (rc == 0 && n > size) {
		optreg_errors_add(errs, OPTREG_EINVAL, "size", "size",
				  "tree size %" PRIu64
				  " is beyond the log (%" PRIu64 " events)",
				  n, size);
		rc = OPTREG_EINVAL;
	}
	return rc;
}

int optreg_audit_root(PGconn *conn, uint64_t n, optreg_hash out,
		      struct optreg_errors *errs)
{
	struct getter_ctx g = {conn, errs};
	int rc = check_size(conn, n, errs);

	return rc ? rc : optreg_merkle_root(n, db_get, &g, out);
}

int optreg_audit_inclusion(PGconn *conn, uint64_t index, uint64_t n,
			   optreg_hash *proof, size_t *len,
			   struct optreg_errors *errs)
{
	struct getter_ctx g = {conn, errs};
	int rc = check_size(conn, n, errs);

	if (rc)
		return rc;
	if (index >= n) {
		optreg_errors_add(errs, OPTREG_EINVAL, "index", "index",
				  "index %" PRIu64
				  " must be below the tree size %" PRIu64,
				  index, n);
		return OPTREG_EINVAL;
	}
	return optreg_merkle_inclusion_proof(index, n, db_get, &g, proof, len);
}

int optreg_audit_consistency(PGconn *conn, uint64_t m, uint64_t n,
			     optreg_hash *proof, size_t *len,
			     struct optreg_errors *errs)
{
	struct getter_ctx g = {conn, errs};
	int rc = check_size(conn, n, errs);

	if (rc)
		return rc;
	if (m < 1 || m > n) {
		optreg_errors_add(errs, OPTREG_EINVAL, "range", "from",
				  "from (%" PRIu64
				  ") must be from 1 to the size to (%" PRIu64
				  ")",
				  m, n);
		return OPTREG_EINVAL;
	}
	return optreg_merkle_consistency_proof(m, n, db_get, &g, proof, len);
}

int optreg_audit_entries(PGconn *conn, const struct optreg_audit_filter *f,
			 struct optreg_buf *out, struct optreg_errors *errs)
{
	char start[24], end[24], limit[16];
	const char *p[9] = {f->actor,
			    f->action,
			    f->target,
			    f->since,
			    f->until,
			    start,
			    f->end >= 0 ? end : NULL,
			    limit,
			    f->config};
	PGresult *res;

	snprintf(start, sizeof(start), "%" PRId64, f->start);
	snprintf(end, sizeof(end), "%" PRId64, f->end);
	snprintf(limit, sizeof(limit), "%d", f->limit + 1);
	int rc = optreg_sql_exec(conn, SQL_AUDIT_ENTRIES, 9, p, PGRES_TUPLES_OK,
				 &res, errs);
	if (rc)
		return rc;
	int n = PQntuples(res);
	int shown = n > f->limit ? f->limit : n;
	optreg_buf_adds(out, "{\"entries\":[");
	for (int i = 0; i < shown; i++)
		optreg_buf_addf(out,
				"%s{\"index\":%s,\"leaf_hash\":\"%s\","
				"\"event\":%s}",
				i ? "," : "", PQgetvalue(res, i, 0),
				PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	optreg_buf_adds(out, "],\"next_start\":");
	if (n > f->limit)
		optreg_buf_adds(out, PQgetvalue(res, f->limit, 0));
	else
		optreg_buf_adds(out, "null");
	optreg_buf_addch(out, '}');
	PQclear(res);
	return 0;
}

int optreg_audit_checkpoint_latest(PGconn *conn, char **note, uint64_t *size,
				   struct optreg_errors *errs)
{
	PGresult *res;
	int rc = optreg_sql_exec(conn, SQL_CHECKPOINT_LATEST, 0, NULL,
				 PGRES_TUPLES_OK, &res, errs);

	*note = NULL;
	*size = 0;
	if (rc)
		return rc;
	if (PQntuples(res)) {
		*size = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		*note = optreg_xstrdup(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

int optreg_audit_checkpoint_make(PGconn *conn,
				 const struct optreg_registry_key *rk,
				 const char *origin, bool *made,
				 struct optreg_errors *errs)
{
	struct optreg_buf body = OPTREG_BUF_INIT, note = OPTREG_BUF_INIT;
	struct getter_ctx g = {conn, errs};
	optreg_hash root, old_root, proof[OPTREG_MERKLE_MAX_PROOF];
	uint64_t n, m = 0;
	size_t plen = 0;
	PGresult *res = NULL;
	int rc;

	*made = false;
	/* REPEATABLE READ: the size, the subtree hashes and the latest
	 * checkpoint are read from one snapshot. */
	rc = optreg_sql_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0,
			     NULL, PGRES_COMMAND_OK, &res, errs);
	PQclear(res);
	res = NULL;
	if (rc)
		return rc;
	rc = optreg_audit_size(conn, &n, errs);
	if (rc)
		goto fail;
	rc = optreg_sql_exec(conn, SQL_CHECKPOINT_LAST_ROOT, 0, NULL,
			     PGRES_TUPLES_OK, &res, errs);
	if (rc)
		goto fail;
	if (PQntuples(res)) {
		m = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		size_t blen = 0;
		unsigned char *b = PQunescapeBytea(
			(const unsigned char *)PQgetvalue(res, 0, 1), &blen);
		if (!b || blen != 32) {
			PQfreemem(b);
			optreg_errors_add(errs, OPTREG_EINTERNAL, "audit_store",
					  NULL,
					  "the latest checkpoint's root is "
					  "malformed");
			rc = OPTREG_EINTERNAL;
			goto fail;
		}
		memcpy(old_root, b, 32);
		PQfreemem(b);
	}
	PQclear(res);
	res = NULL;
	if (n <= m || n == 0) {
		optreg_sql_rollback(conn);
		goto out;
	}
	rc = optreg_merkle_root(n, db_get, &g, root);
	if (rc)
		goto fail;
	/* Never sign a root that does not extend the last signed one. */
	if (m > 0) {
		rc = optreg_merkle_consistency_proof(m, n, db_get, &g, proof,
						     &plen);
		if (rc)
			goto fail;
		if (!optreg_merkle_verify_consistency(m, n, old_root, root,
						      proof, plen)) {
			optreg_errors_add(errs, OPTREG_EINTERNAL,
					  "inconsistent", NULL,
					  "the audit tree of size %" PRIu64
					  " is not consistent with the "
					  "checkpoint of size %" PRIu64
					  ": refusing to sign it",
					  n, m);
			rc = OPTREG_EINTERNAL;
			goto fail;
		}
	}
	rc = optreg_note_checkpoint_body(origin, n, root, &body);
	if (rc == 0)
		rc = optreg_note_sign(body.data, origin, rk->key, &note, errs);
	if (rc)
		goto fail;
	char ns[24];
	snprintf(ns, sizeof(ns), "%" PRIu64, n);
	const char *p[4] = {ns, (const char *)root, note.data, rk->keyid};
	int lengths[4] = {0, 32, 0, 0}, formats[4] = {0, 1, 0, 0};
	res = PQexecParams(conn, SQL_CHECKPOINT_INSERT, 4, NULL, p, lengths,
			   formats, 0);
	/* Another server signed this size at the same moment: under
	 * REPEATABLE READ, ON CONFLICT meeting a row committed after this
	 * snapshot is a serialization failure, not a skipped insert. The
	 * checkpoint exists (the same size has the same root); not made. */
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (state && !strcmp(state, "40001")) {
		optreg_sql_rollback(conn);
		goto out;
	}
	rc = optreg_sql_check(conn, res, PGRES_COMMAND_OK, errs);
	if (rc)
		goto fail;
	*made = atoi(PQcmdTuples(res)) == 1;
	PQclear(res);
	res = NULL;
	rc = optreg_sql_commit(conn, errs);
	goto out;
fail:
	optreg_sql_rollback(conn);
out:
	PQclear(res);
	optreg_buf_release(&body);
	optreg_buf_release(&note);
	return rc;
}

static json_t *hash_b64(const optreg_hash h)
{
	struct optreg_buf b = OPTREG_BUF_INIT;

	optreg_base64_encode(h, OPTREG_HASH_LEN, &b);
	json_t *s = json_string(b.data);
	optreg_buf_release(&b);
	return s;
}

/* Big-endian integers of a binary result column. */
static uint64_t be_uint(const char *p, int len)
{
	uint64_t v = 0;

	for (int i = 0; i < len; i++)
		v = (v << 8) | (unsigned char)p[i];
	return v;
}

int optreg_audit_appended_read(const PGresult *res, int col,
			       struct optreg_audit_appended *out,
			       struct optreg_errors *errs)
{
	out->index = -1;
	out->n = 0;
	for (int r = 0; r < PQntuples(res); r++) {
		if (PQgetlength(res, r, col) != 8 ||
		    PQgetlength(res, r, col + 1) != 2 ||
		    PQgetlength(res, r, col + 2) != 8 ||
		    PQgetlength(res, r, col + 3) != 32 ||
		    out->n == OPTREG_AUDIT_PROOF_NODES)
			break;
		out->index = (int64_t)be_uint(PQgetvalue(res, r, col), 8);
		out->st[out->n].level =
			(unsigned)be_uint(PQgetvalue(res, r, col + 1), 2);
		out->st[out->n].index = be_uint(PQgetvalue(res, r, col + 2), 8);
		memcpy(out->h[out->n], PQgetvalue(res, r, col + 3),
		       sizeof(optreg_hash));
		out->n++;
	}
	if (PQntuples(res) < 1 || out->n != (size_t)PQntuples(res)) {
		optreg_errors_add(errs, OPTREG_EINTERNAL, "audit_store", NULL,
				  "the audit append returned %d malformed "
				  "subtree rows",
				  PQntuples(res));
		return OPTREG_EINTERNAL;
	}
	return 0;
}

/* Subtrees from an append's rows; any other (not expected: the rows cover
 * the last leaf's root and proof) is read from the database. */
struct memo {
	const struct optreg_audit_appended *a;
	struct getter_ctx *db;
};

static int memo_get(void *ctx, struct optreg_subtree st, optreg_hash out)
{
	const struct memo *m = ctx;

	for (size_t i = 0; i < m->a->n; i++)
		if (m->a->st[i].level == st.level &&
		    m->a->st[i].index == st.index) {
			memcpy(out, m->a->h[i], sizeof(optreg_hash));
			return 0;
		}
	return db_get(m->db, st, out);
}

int optreg_audit_receipt_proof(PGconn *conn,
			       const struct optreg_audit_appended *a,
			       json_t *payload, struct optreg_errors *errs)
{
	struct getter_ctx g = {conn, errs};
	struct memo m = {a, &g};
	optreg_hash root, leaf, proof[OPTREG_MERKLE_MAX_PROOF];
	/* Level 0 holds the leaf hashes, as audit_events does. */
	struct optreg_subtree leaf_st = {0, (uint64_t)a->index};
	uint64_t n = (uint64_t)a->index + 1;
	size_t len = 0;

	int rc = memo_get(&m, leaf_st, leaf);
	if (rc == 0)
		rc = optreg_merkle_root(n, memo_get, &m, root);
	if (rc == 0)
		rc = optreg_merkle_inclusion_proof((uint64_t)a->index, n,
						   memo_get, &m, proof, &len);
	if (rc)
		return rc;
	json_object_set_new(payload, "audit_leaf", hash_b64(leaf));
	json_t *hashes = json_array();
	for (size_t i = 0; i < len; i++)
		json_array_append_new(hashes, hash_b64(proof[i]));
	json_object_set_new(payload, "audit_index", json_integer(a->index));
	json_object_set_new(payload, "audit_tree_size",
			    json_integer((json_int_t)n));
	json_object_set_new(payload, "audit_root", hash_b64(root));
	json_object_set_new(payload, "audit_inclusion", hashes);
	return 0;
}
