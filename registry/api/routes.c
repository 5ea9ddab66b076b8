/*
 * registry/api/routes.c: the one place the resources' route tables are
 * assembled into the table optreg-server serves, in this order.
 */
#include <string.h>

#include "api.h"

#define API_MAX_ROUTES 64

static const struct {
	const struct optreg_http_route *routes;
	const size_t *n;
} tables[] = {
	{api_ops_routes, &api_ops_nroutes},
	{api_search_routes, &api_search_nroutes},
	{api_versions_routes, &api_versions_nroutes},
	{api_tags_routes, &api_tags_nroutes},
	{api_digests_routes, &api_digests_nroutes},
	{api_validate_routes, &api_validate_nroutes},
	{api_keys_routes, &api_keys_nroutes},
	{api_namespaces_routes, &api_namespaces_nroutes},
	{api_registry_keys_routes, &api_registry_keys_nroutes},
	{api_audit_routes, &api_audit_nroutes},
	{api_jobs_routes, &api_jobs_nroutes},
	{api_verdicts_routes, &api_verdicts_nroutes},
	{api_tokens_routes, &api_tokens_nroutes},
	{api_policies_routes, &api_policies_nroutes},
	{api_waivers_routes, &api_waivers_nroutes},
	{api_ui_routes, &api_ui_nroutes},
};

struct optreg_http_route optreg_registry_routes[API_MAX_ROUTES];
size_t optreg_registry_nroutes;

/* Runs before main(): the table is constant from then on. */
__attribute__((constructor)) static void assemble(void)
{
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (size_t i = 0; i < *tables[t].n &&
				   optreg_registry_nroutes < API_MAX_ROUTES;
		     i++)
			optreg_registry_routes[optreg_registry_nroutes++] =
				tables[t].routes[i];
}
