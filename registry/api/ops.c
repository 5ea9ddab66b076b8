/*
 * registry/api/ops.c: operations: /readyz and the registry's /metrics
 * text (/healthz and the HTTP metrics are the http layer's).
 */
#include "../cache.h"
#include "../db.h"
#include "../store/jobs.h"
#include "../policy_cache.h"
#include "api.h"

API_HANDLER(handle_readyz)
static void handle_readyz(struct api_call *call)
{
	int pending = 0;

	call->conn = optreg_pool_get(call->reg->db, call->reg->db_wait_ms);
	if (!call->conn) {
		optreg_http_set_header(call->req, "Retry-After", "1");
		api_problem(call, OPTREG_EUNAVAILABLE, NULL,
			    "the database is unreachable");
		return;
	}
	int rc = optreg_migrate_pending(call->conn, call->reg->migrations_dir,
					&pending, &call->errs);
	api_conn_result(call, rc);
	if (rc == OPTREG_EUNAVAILABLE)
		optreg_http_set_header(call->req, "Retry-After", "1");
	if (rc)
		api_problem(call, OPTREG_EUNAVAILABLE, NULL,
			    "cannot read the migration state");
	else if (pending)
		api_problem(call, OPTREG_EUNAVAILABLE, NULL,
			    "%d migration%s pending; run `optreg-server "
			    "migrate`",
			    pending, pending == 1 ? " is" : "s are");
	else
		optreg_http_json(call->req, 200,
				 json_pack("{s:s}", "status", "ok"));
}

const struct optreg_http_route api_ops_routes[] = {
	API_ROUTE("GET", "/readyz", handle_readyz),
};
const size_t api_ops_nroutes =
	sizeof(api_ops_routes) / sizeof(api_ops_routes[0]);

void optreg_registry_metrics(struct optreg_buf *out, void *ctx)
{
	struct registry *r = ctx;
	int in_use, idle, size;
	uint64_t hits, misses;
	size_t entries;

	optreg_db_stats(r->db, &in_use, &idle, &size);
	optreg_cache_stats(r->cache, &hits, &misses, &entries);
	optreg_buf_addf(
		out,
		"# HELP optreg_db_pool_connections Pooled PostgreSQL "
		"connections by state.\n"
		"# TYPE optreg_db_pool_connections gauge\n"
		"optreg_db_pool_connections{state=\"in_use\"} %d\n"
		"optreg_db_pool_connections{state=\"idle\"} %d\n"
		"# HELP optreg_db_pool_size Maximum pooled connections.\n"
		"# TYPE optreg_db_pool_size gauge\n"
		"optreg_db_pool_size %d\n"
		"# HELP optreg_cache_hits_total Cache lookups that hit.\n"
		"# TYPE optreg_cache_hits_total counter\n"
		"optreg_cache_hits_total %llu\n"
		"# HELP optreg_cache_misses_total Cache lookups that missed.\n"
		"# TYPE optreg_cache_misses_total counter\n"
		"optreg_cache_misses_total %llu\n"
		"# HELP optreg_cache_entries Entries in the cache.\n"
		"# TYPE optreg_cache_entries gauge\n"
		"optreg_cache_entries %zu\n",
		in_use, idle, size, (unsigned long long)hits,
		(unsigned long long)misses, entries);
	optreg_buf_addf(out,
			"# HELP optreg_policies_unloadable Stored policies "
			"that do not load (they refuse the namespaces they "
			"cover).\n"
			"# TYPE optreg_policies_unloadable gauge\n"
			"optreg_policies_unloadable %zu\n",
			optreg_policy_set_unloadable());

	struct optreg_db_counters n;
	optreg_db_counters_get(r->db, &n);
	optreg_buf_addf(
		out,
		"# HELP optreg_db_stalled 1 while PostgreSQL counts as hung "
		"(a use of a connection ran past --db-timeout-ms).\n"
		"# TYPE optreg_db_stalled gauge\n"
		"optreg_db_stalled %d\n"
		"# HELP optreg_db_pool_waits_timed_out_total Requests that "
		"found no free connection within --db-wait-ms.\n"
		"# TYPE optreg_db_pool_waits_timed_out_total counter\n"
		"optreg_db_pool_waits_timed_out_total %llu\n"
		"# HELP optreg_db_unavailable_total Requests given no "
		"connection because PostgreSQL was down or hung.\n"
		"# TYPE optreg_db_unavailable_total counter\n"
		"optreg_db_unavailable_total %llu\n"
		"# HELP optreg_db_cut_total Uses of a connection cut after "
		"--db-timeout-ms.\n"
		"# TYPE optreg_db_cut_total counter\n"
		"optreg_db_cut_total %llu\n",
		optreg_db_stalled(r->db) ? 1 : 0, n.timeouts, n.unavailable,
		n.cut);
	/* Counted in memory where the job is abandoned: /metrics never
	 * waits on PostgreSQL. */
	optreg_buf_addf(out,
			"# HELP optreg_jobs_abandoned_total Validation jobs "
			"this server abandoned after their last attempt.\n"
			"# TYPE optreg_jobs_abandoned_total counter\n"
			"optreg_jobs_abandoned_total %llu\n",
			optreg_store_jobs_abandoned_total());
}
