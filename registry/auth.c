/*
 * registry/auth.c: tokens and role checks. See auth.h.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../common/buf.h"
#include "../common/glob.h"
#include "../common/hash.h"
#include "audit.h"
#include "cache_keys.h"
#include "db.h"
#include "ratelimit.h"
#include "registry.h"
#include "sql.h"

/* clang-format off */
static const char SQL_TOKEN_LOOKUP[] =
	"SELECT t.id, t.principal, t.token_hash,"
	"       t.revoked_at IS NOT NULL,"
	"       coalesce(t.expires_at <= now(), false),"
	"       coalesce(extract(epoch FROM t.expires_at)::bigint, 0),"
	"       g.role, g.namespace_pattern"
	"  FROM tokens t LEFT JOIN token_grants g ON g.token_id = t.id"
	" WHERE t.token_hash = $1";

static const char SQL_TOKEN_INSERT[] =
	"INSERT INTO tokens (id, principal, token_hash, created_by,"
	"                    expires_at)"
	" VALUES ($1, $2, $3, $4, now() + ($5::bigint * interval '1 "
	"s'))"
	" RETURNING coalesce(extract(epoch FROM expires_at)::bigint, "
	"0)";

static const char SQL_TOKEN_GRANT_INSERT[] =
	"INSERT INTO token_grants (token_id, role,"
	" namespace_pattern) VALUES ($1, $2, $3)"
	" ON CONFLICT DO NOTHING";

static const char SQL_TOKEN_REVOKE[] =
	"WITH r AS (UPDATE tokens SET revoked_at = now()"
	"            WHERE id = $1 AND revoked_at IS NULL RETURNING id)"
	" SELECT pg_notify('optreg_cache', 'token:' || id) FROM r";
/* clang-format on */

static const char *const role_names[] = {"reader", "submitter", "approver",
					 "runner", "auditor",	"admin"};

static const char base62[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const char *optreg_role_name(enum optreg_role role)
{
	return role_names[role];
}

int optreg_role_parse(const char *name)
{
	for (int i = 0; i < 6; i++)
		if (!strcmp(name, role_names[i]))
			return i;
	return -1;
}

bool optreg_pattern_valid(const char *pattern)
{
	size_t n = strlen(pattern);

	if (n < 1 || n > OPTREG_PATTERN_MAX || pattern[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = pattern[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '*' || c == '?'))
			return false;
	}
	return true;
}

/* Base62 of a 32-bit value, fixed 6 digits (62^6 > 2^32). */
static void checksum62(const char *data, size_t len, char out[7])
{
	unsigned long crc = crc32(0L, (const unsigned char *)data, (uInt)len);

	for (int i = 5; i >= 0; i--) {
		out[i] = base62[crc % 62];
		crc /= 62;
	}
	out[6] = '\0';
}

void optreg_token_generate(char out[OPTREG_TOKEN_LEN + 1])
{
	unsigned char rnd[43];
	char sum[7];

	/* 43 draws from 62 symbols, rejection-sampled so each is uniform:
	 * 43 * log2(62) > 256 bits. */
	memcpy(out, "optreg_", 7);
	for (int i = 0; i < 43;) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			abort();
		for (size_t j = 0; j < sizeof(rnd) && i < 43; j++)
			if (rnd[j] < 248) /* 248 = 4 * 62 */
				out[7 + i++] = base62[rnd[j] % 62];
	}
	checksum62(out + 7, 43, sum);
	out[50] = '_';
	memcpy(out + 51, sum, 7);
	OPENSSL_cleanse(rnd, sizeof(rnd));
}

bool optreg_token_well_formed(const char *token)
{
	char sum[7];

	if (strlen(token) != OPTREG_TOKEN_LEN || strncmp(token, "optreg_", 7) ||
	    token[50] != '_')
		return false;
	for (int i = 7; i < OPTREG_TOKEN_LEN; i++)
		if (i != 50 && !strchr(base62, token[i]))
			return false;
	checksum62(token + 7, 43, sum);
	return CRYPTO_memcmp(sum, token + 51, 6) == 0;
}

void optreg_token_hash(const char *token, unsigned char out[32])
{
	optreg_sha256(token, strlen(token), out);
}

static bool implies(enum optreg_role have, enum optreg_role need)
{
	return have == need || have == OPTREG_ROLE_ADMIN ||
	       need == OPTREG_ROLE_READER ||
	       (have == OPTREG_ROLE_APPROVER && need == OPTREG_ROLE_SUBMITTER);
}

bool optreg_principal_allows(const struct optreg_principal *p,
			     enum optreg_role need, const char *ns)
{
	for (size_t i = 0; i < p->ngrants; i++) {
		const struct optreg_grant *g = &p->grants[i];
		if (!implies(g->role, need))
			continue;
		if (ns ? optreg_glob_match(g->pattern, ns)
		       : strcmp(g->pattern, "*") == 0)
			return true;
	}
	return false;
}

void optreg_principal_release(struct optreg_principal *p)
{
	free(p->name);
	free(p->grants);
	memset(p, 0, sizeof(*p));
}

void optreg_principal_copy(struct optreg_principal *dst,
			   const struct optreg_principal *src)
{
	*dst = *src;
	dst->name = optreg_xstrdup(src->name ? src->name : "");
	dst->grants = optreg_xcalloc(src->ngrants, sizeof(*src->grants));
	memcpy(dst->grants, src->grants, src->ngrants * sizeof(*src->grants));
}

int optreg_token_lookup(PGconn *conn, const unsigned char hash[32],
			struct optreg_principal *out, const char **why)
{
	const char *params[1] = {(const char *)hash};
	int lengths[1] = {32}, formats[1] = {1};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	PGresult *res = PQexecParams(conn, SQL_TOKEN_LOOKUP, 1, NULL, params,
				     lengths, formats, 0);
	if (optreg_db_conn_failed(conn, res)) {
		rc = OPTREG_EUNAVAILABLE;
		goto out;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = OPTREG_EINTERNAL;
		goto out;
	}
	int n = PQntuples(res);
	if (n == 0) {
		*why = "unknown token";
		rc = OPTREG_EUNAUTH;
		goto out;
	}
	/* The index found the row; compare the stored hash once more in
	 * constant time so no code path branches on a partial match. */
	size_t hlen = 0;
	unsigned char *stored = PQunescapeBytea(
		(const unsigned char *)PQgetvalue(res, 0, 2), &hlen);
	bool same =
		stored && hlen == 32 && CRYPTO_memcmp(stored, hash, 32) == 0;
	PQfreemem(stored);
	if (!same) {
		*why = "hash mismatch";
		rc = OPTREG_EUNAUTH;
		goto out;
	}
	if (!strcmp(PQgetvalue(res, 0, 3), "t")) {
		*why = "revoked token";
		rc = OPTREG_EUNAUTH;
		goto out;
	}
	if (!strcmp(PQgetvalue(res, 0, 4), "t")) {
		*why = "expired token";
		rc = OPTREG_EUNAUTH;
		goto out;
	}
	snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
	out->name = optreg_xstrdup(PQgetvalue(res, 0, 1));
	out->expires_at = (time_t)strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	out->grants = optreg_xcalloc((size_t)n, sizeof(*out->grants));
	for (int i = 0; i < n; i++) {
		if (PQgetisnull(res, i, 6))
			continue;
		struct optreg_grant *g = &out->grants[out->ngrants++];
		g->role = (enum optreg_role)optreg_role_parse(
			PQgetvalue(res, i, 6));
		snprintf(g->pattern, sizeof(g->pattern), "%s",
			 PQgetvalue(res, i, 7));
	}
out:
	PQclear(res);
	if (rc)
		optreg_principal_release(out);
	return rc;
}

int optreg_token_create(PGconn *conn, const char *principal,
			const struct optreg_grant *grants, size_t ngrants,
			long expires_in, const struct optreg_audit_actor *who,
			char token[OPTREG_TOKEN_LEN + 1],
			char id[OPTREG_TOKEN_ID_LEN + 1], time_t *expires_at,
			struct optreg_errors *errs)
{
	unsigned char hash[32], rnd[8];
	char expires[32];
	int rc;

	optreg_token_generate(token);
	optreg_token_hash(token, hash);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	memcpy(id, "tok_", 4);
	optreg_hex_encode(rnd, sizeof(rnd), id + 4);
	snprintf(expires, sizeof(expires), "%ld", expires_in);

	rc = optreg_sql_begin(conn, errs);
	if (rc)
		return rc;
	const char *p[5] = {id, principal, (const char *)hash, who->principal,
			    expires_in > 0 ? expires : NULL};
	int lengths[5] = {0, 0, 32, 0, 0}, formats[5] = {0, 0, 1, 0, 0};
	PGresult *res = PQexecParams(conn, SQL_TOKEN_INSERT, 5, NULL, p,
				     lengths, formats, 0);
	rc = optreg_sql_check(conn, res, PGRES_TUPLES_OK, errs);
	if (rc == 0 && expires_at)
		*expires_at = (time_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	for (size_t i = 0; rc == 0 && i < ngrants; i++) {
		const char *gp[3] = {id, optreg_role_name(grants[i].role),
				     grants[i].pattern};
		res = PQexecParams(conn, SQL_TOKEN_GRANT_INSERT, 3, NULL, gp,
				   NULL, NULL, 0);
		rc = optreg_sql_check(conn, res, PGRES_COMMAND_OK, errs);
		PQclear(res);
	}
	if (rc == 0) {
		json_t *g = json_array();
		for (size_t i = 0; i < ngrants; i++)
			json_array_append_new(
				g, json_pack("{s:s, s:s}", "role",
					     optreg_role_name(grants[i].role),
					     "namespace", grants[i].pattern));
		rc = optreg_audit_append(conn, who, "token.created", id,
					 json_pack("{s:s, s:o, s:I}",
						   "principal", principal,
						   "grants", g, "expires_in",
						   (json_int_t)expires_in),
					 NULL, errs);
	}
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	else
		optreg_sql_rollback(conn);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc)
		OPENSSL_cleanse(token, OPTREG_TOKEN_LEN + 1);
	return rc;
}

int optreg_token_revoke(PGconn *conn, const char *id,
			const struct optreg_audit_actor *who,
			struct optreg_errors *errs)
{
	const char *p[1] = {id};
	PGresult *res = NULL;
	int rc = optreg_sql_begin(conn, errs);

	if (rc)
		return rc;
	rc = optreg_sql_exec(conn, SQL_TOKEN_REVOKE, 1, p, PGRES_TUPLES_OK,
			     &res, errs);
	if (rc == 0 && PQntuples(res) == 0) {
		optreg_errors_add(errs, OPTREG_ENOTFOUND, "not_found", NULL,
				  "no active token with id \"%s\"", id);
		rc = OPTREG_ENOTFOUND;
	}
	PQclear(res);
	if (rc == 0)
		rc = optreg_audit_append(conn, who, "token.revoked", id, NULL,
					 NULL, errs);
	if (rc == 0)
		rc = optreg_sql_commit(conn, errs);
	else
		optreg_sql_rollback(conn);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Authentication with the principal cache */

#define PRINCIPAL_CACHE_SECONDS 60

/*
 * Principals are cached in a flat binary form (header, grants, name) rather
 * than JSON: a cache hit is on every authenticated read, so decoding must
 * cost a few copies, not a parse.
 */
struct principal_header {
	char id[OPTREG_TOKEN_ID_LEN + 1];
	time_t expires_at;
	size_t ngrants;
};

static void principal_encode(const struct optreg_principal *p,
			     struct optreg_buf *out)
{
	struct principal_header h;

	memset(&h, 0, sizeof(h));
	memcpy(h.id, p->id, sizeof(h.id));
	h.expires_at = p->expires_at;
	h.ngrants = p->ngrants;
	optreg_buf_add(out, &h, sizeof(h));
	optreg_buf_add(out, p->grants, p->ngrants * sizeof(*p->grants));
	optreg_buf_add(out, p->name, strlen(p->name) + 1);
}

static bool principal_decode(const struct optreg_buf *in,
			     struct optreg_principal *p)
{
	struct principal_header h;

	memset(p, 0, sizeof(*p));
	if (in->len < sizeof(h))
		return false;
	memcpy(&h, in->data, sizeof(h));
	size_t glen = h.ngrants * sizeof(*p->grants);
	if (h.ngrants > 64 || in->len < sizeof(h) + glen + 1 ||
	    in->data[in->len - 1] != '\0')
		return false;
	memcpy(p->id, h.id, sizeof(p->id));
	p->id[OPTREG_TOKEN_ID_LEN] = '\0';
	p->expires_at = h.expires_at;
	p->ngrants = h.ngrants;
	p->grants = optreg_xcalloc(h.ngrants, sizeof(*p->grants));
	memcpy(p->grants, in->data + sizeof(h), glen);
	p->name = optreg_xstrdup(in->data + sizeof(h) + glen);
	return true;
}

/*
 * The failure budgets of one authentication: by client address (an
 * address may fail OPTREG_AUTH_ADDRESS_FACTOR times as often as a token)
 * and by the hash of what was presented as the token.
 */
struct auth_budget {
	struct optreg_ratelimit *rl; /* NULL: no limit */
	const char *header, *addr;   /* borrowed */
	char addr_key[80], token_key[80];
	double *retry_after;
};

static void auth_budget_init(struct auth_budget *b, struct registry *reg,
			     const char *h, const char *addr,
			     double *retry_after)
{
	b->rl = reg->auth_fails;
	b->header = h;
	b->addr = addr ? addr : "";
	b->addr_key[0] = b->token_key[0] = '\0';
	b->retry_after = retry_after;
}

/* The keys, made only when a token is about to be looked up or has
 * failed: a cached token costs no hash. */
static void auth_budget_keys(struct auth_budget *b)
{
	unsigned char sum[32];
	char hex[65];

	if (b->token_key[0])
		return;
	snprintf(b->addr_key, sizeof(b->addr_key), "a:%.64s", b->addr);
	optreg_sha256(b->header, strlen(b->header), sum);
	optreg_hex_encode(sum, 16, hex);
	snprintf(b->token_key, sizeof(b->token_key), "t:%s", hex);
}

/* OPTREG_ERATELIMITED (with the wait) when the address or the token has
 * no failures left; 0 otherwise. */
static int auth_budget_check(struct auth_budget *b, struct optreg_errors *errs)
{
	if (!b->rl)
		return 0;
	auth_budget_keys(b);
	double now = optreg_ratelimit_now();
	double wa = optreg_ratelimit_wait(b->rl, b->addr_key, now);
	double wt = optreg_ratelimit_wait(b->rl, b->token_key, now);
	double w = wa > wt ? wa : wt;

	if (w <= 0)
		return 0;
	if (b->retry_after)
		*b->retry_after = w;
	optreg_errors_add(errs, OPTREG_ERATELIMITED, "rate_limited", NULL,
			  "too many failed authentications from this %s; "
			  "retry after the time in Retry-After",
			  wa > wt ? "client address" : "token");
	return OPTREG_ERATELIMITED;
}

static void auth_budget_spend(struct auth_budget *b)
{
	if (!b->rl)
		return;
	auth_budget_keys(b);
	double now = optreg_ratelimit_now();
	optreg_ratelimit_spend(b->rl, b->addr_key,
			       1.0 / OPTREG_AUTH_ADDRESS_FACTOR, now);
	optreg_ratelimit_spend(b->rl, b->token_key, 1, now);
}

static int authenticate(struct registry *reg, const char *authorization,
			const char *addr, struct optreg_principal *p,
			double *retry_after, struct optreg_errors *errs,
			bool cache_only)
{
	struct optreg_cache *cache = optreg_registry_cache(reg);
	const char *h = authorization;
	struct auth_budget budget;
	unsigned char hash[32];
	char key[OPTREG_CACHE_KEY_TOKEN_LEN];

	memset(p, 0, sizeof(*p));
	if (!h) {
		p->name = optreg_xstrdup("anonymous");
		return 0;
	}
	auth_budget_init(&budget, reg, h, addr, retry_after);
	if (strncasecmp(h, "Bearer ", 7) || !optreg_token_well_formed(h + 7)) {
		int lrc = auth_budget_check(&budget, errs);
		if (lrc)
			return lrc;
		auth_budget_spend(&budget);
		optreg_errors_add(errs, OPTREG_EUNAUTH, "unauthorized", NULL,
				  "the Authorization header does not hold a "
				  "well-formed optreg bearer token");
		return OPTREG_EUNAUTH;
	}
	optreg_token_hash(h + 7, hash);
	optreg_cache_key_token(hash, key);

	struct optreg_buf cached = OPTREG_BUF_INIT;
	if (optreg_cache_get(cache, key, &cached, NULL)) {
		bool ok = principal_decode(&cached, p);
		optreg_buf_release(&cached);
		if (ok && (!p->expires_at || p->expires_at > time(NULL)))
			return 0;
		optreg_principal_release(p);
	}
	optreg_buf_release(&cached);
	if (cache_only)
		return OPTREG_ENOTFOUND;

	/* Only a lookup in the database can fail; a cached token never
	 * waits for its address's failures. */
	int lrc = auth_budget_check(&budget, errs);
	if (lrc)
		return lrc;
	uint64_t gen = optreg_cache_generation(cache);
	PGconn *c = optreg_pool_get(reg->db, reg->db_wait_ms);
	if (!c)
		return OPTREG_EUNAVAILABLE;
	const char *why;
	int rc = optreg_token_lookup(c, hash, p, &why);
	optreg_pool_put(reg->db, c, rc == OPTREG_EUNAVAILABLE);
	if (rc == OPTREG_EUNAUTH) {
		auth_budget_spend(&budget);
		optreg_errors_add(errs, OPTREG_EUNAUTH, "unauthorized", NULL,
				  "the token is unknown, expired or revoked");
	}
	if (rc)
		return rc;
	struct optreg_buf enc = OPTREG_BUF_INIT;
	time_t until = time(NULL) + PRINCIPAL_CACHE_SECONDS;
	if (p->expires_at && p->expires_at < until)
		until = p->expires_at;
	principal_encode(p, &enc);
	optreg_cache_put(cache, key, enc.data, enc.len, NULL, until, gen);
	optreg_buf_release(&enc);
	return 0;
}

int optreg_auth_authenticate(struct registry *reg, const char *authorization,
			     struct optreg_principal *p,
			     struct optreg_errors *errs)
{
	return authenticate(reg, authorization, NULL, p, NULL, errs, false);
}

int optreg_auth_authenticate_from(struct registry *reg,
				  const char *authorization, const char *addr,
				  struct optreg_principal *p,
				  double *retry_after,
				  struct optreg_errors *errs)
{
	return authenticate(reg, authorization, addr, p, retry_after, errs,
			    false);
}

int optreg_auth_authenticate_cached(struct registry *reg,
				    const char *authorization, const char *addr,
				    struct optreg_principal *p,
				    double *retry_after,
				    struct optreg_errors *errs)
{
	return authenticate(reg, authorization, addr, p, retry_after, errs,
			    true);
}
