/*
 * registry/store/configs.h: configs (ns/name) and the search over them.
 */
#ifndef OPTREG_STORE_CONFIGS_H
#define OPTREG_STORE_CONFIGS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "../../common/buf.h"
#include "../../common/error.h"

/* A config in a search result; strings owned. */
struct optreg_config_summary {
	char *ns, *name;
	int latest_version;
	char *latest_digest; /* NULL when the latest version is gone */
	char *updated_at;
};

struct optreg_config_list {
	struct optreg_config_summary *items;
	size_t len;
};

void optreg_config_list_release(struct optreg_config_list *l);

/* 0 when config ns/name exists, else OPTREG_ENOTFOUND with an error. */
int optreg_store_config_exists(PGconn *conn, const char *ns, const char *name,
			       struct optreg_errors *errs);

/*
 * Configs in namespaces matching one of `patterns` (globs of [a-z0-9*?-];
 * NULL = all), optionally only namespace `ns` and names containing `q`,
 * ordered by (namespace, name), after (after_ns, after_name) when given,
 * at most `limit`. Fills `out` (release it) on success.
 */
int optreg_store_search(PGconn *conn, const char *const *patterns,
			size_t npatterns, const char *ns, const char *q,
			const char *after_ns, const char *after_name, int limit,
			struct optreg_config_list *out,
			struct optreg_errors *errs);

#endif
