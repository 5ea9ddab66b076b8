/*
 * registry/registry.h: the state one optreg-server process shares between
 * its request threads, and the route table.
 */
#ifndef OPTREG_REGISTRY_H
#define OPTREG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "db.h"
#include "http.h"
#include "registry_key.h"

struct optreg_ratelimit;
struct optreg_denials;

struct registry {
	struct optreg_db *db;
	struct optreg_db_listener *listener; /* cache invalidation */
	struct optreg_cache *cache;
	char *migrations_dir;
	bool anonymous_read;
	int db_wait_ms; /* how long a request waits for a pooled connection */
	struct optreg_registry_key key; /* signs receipts and checkpoints */
	const char *audit_origin;	/* checkpoint origin line */
	/* Failure budgets (ratelimit.h), NULL for none: failed
	 * authentications and refused writes, each by token and by client
	 * address; and the bounded record of refused writes (denials.h). */
	struct optreg_ratelimit *auth_fails, *write_fails;
	struct optreg_denials *denials;
	int lease_min_seconds; /* shortest lease a runner may ask for */
	int dry_run_max;       /* most versions a policy dry run evaluates */
	bool no_ui;	       /* --no-ui: /ui/ and / answer 404 (api/ui.c) */
};

/* The routes optreg-server serves (api/routes.c: each resource's table of
 * registry/api/, in one order). Filled before main() runs, and not
 * changed after: treat it as constant. */
extern struct optreg_http_route optreg_registry_routes[];
extern size_t optreg_registry_nroutes;

/* Prometheus text for the pool and the cache, for /metrics (api/ops.c). */
void optreg_registry_metrics(struct optreg_buf *out, void *ctx);

/* The unrouted hook of optreg_http_config (api/ui.c): a 404 or 405 of
 * the HTTP layer under /ui gets the page's headers (registry/ui.h), as the
 * page's own answers do, unless the page is off (--no-ui). */
void optreg_registry_unrouted(struct optreg_http_req *req);

/* Listener callbacks: drop what a notification names / everything
 * (cache_keys.c). */
void optreg_registry_on_notify(const char *payload, void *ctx);
void optreg_registry_on_reset(void *ctx);

#endif
