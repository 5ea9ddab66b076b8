/*
 * registry/store.h: the registry's service functions over PostgreSQL.
 *
 * They know nothing of HTTP: handlers parse and authorize, then call these;
 * tests and the admin commands can call them too. Each write is one
 * transaction (most are one call of a SQL function from the migrations).
 * Errors: OPTREG_ENOTFOUND, OPTREG_ECONFLICT (rule "conflict" or "yanked"),
 * OPTREG_EUNAVAILABLE (connection lost), OPTREG_EINTERNAL, each with an
 * error in `errs`.
 */
#ifndef OPTREG_STORE_H
#define OPTREG_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "../common/buf.h"
#include "../common/error.h"
#include "../validator/jcs.h"

struct optreg_audit_actor;

struct optreg_version {
	char *ns, *name; /* owned */
	int version;
	char digest[OPTREG_DIGEST_LEN + 1];
	char *created_at, *created_by; /* owned, RFC 3339 */
	bool yanked;
	char *yanked_at, *yank_reason; /* owned or NULL */
	struct optreg_buf payload;     /* canonical config bytes */
	char *envelope;		       /* owned, as received */
	char *tags;		       /* owned JSON array text, "[]" */
	char *receipt;		       /* owned JSON text, or NULL */
};

void optreg_version_release(struct optreg_version *v);

/* Appends the version document of docs/api.md as compact JSON, with
 * `config` exactly the stored canonical bytes. */
void optreg_version_render(const struct optreg_version *v,
			   struct optreg_buf *out);

int optreg_store_get_version(PGconn *conn, const char *ns, const char *name,
			     int version, struct optreg_version *out,
			     struct optreg_errors *errs);

int optreg_store_get_digest(PGconn *conn, const char *digest,
			    struct optreg_version *out,
			    struct optreg_errors *errs);

int optreg_store_resolve_tag(PGconn *conn, const char *ns, const char *name,
			     const char *tag, int *version,
			     struct optreg_errors *errs);

/* Versions newest first, those below `before` (0: from the newest), at
 * most `limit`. *out is a new array of version summaries. */
int optreg_store_list_versions(PGconn *conn, const char *ns, const char *name,
			       int before, int limit, json_t **out,
			       struct optreg_errors *errs);

int optreg_store_list_tags(PGconn *conn, const char *ns, const char *name,
			   json_t **out, struct optreg_errors *errs);

/* Compare-and-set; `expected` < 0 means the tag must not exist. */
int optreg_store_move_tag(PGconn *conn, const char *ns, const char *name,
			  const char *tag, int version, int expected,
			  const struct optreg_audit_actor *who, int *previous,
			  struct optreg_errors *errs);

int optreg_store_yank(PGconn *conn, const char *ns, const char *name,
		      int version, const char *reason,
		      const struct optreg_audit_actor *who, bool *already,
		      char digest[OPTREG_DIGEST_LEN + 1],
		      struct optreg_errors *errs);

/*
 * Configs in namespaces matching one of `patterns` (fnmatch globs of
 * [a-z0-9*?-]; NULL = all), optionally only namespace `ns` and names
 * containing `q`, ordered by (namespace, name), after (after_ns,
 * after_name) when given, at most `limit`. *out is a new array.
 */
int optreg_store_search(PGconn *conn, const char *const *patterns,
			size_t npatterns, const char *ns, const char *q,
			const char *after_ns, const char *after_name, int limit,
			json_t **out, struct optreg_errors *errs);

/*
 * Creates version ns/name with config `digest` (payload: its canonical
 * bytes, sent as binary) and the stored envelope, inside the caller's
 * transaction, or finds the identical one (*created false). Writes the
 * version number and its creation time (owned, RFC 3339).
 */
int optreg_store_submit_version(PGconn *conn, const char *ns, const char *name,
				const char *digest,
				const struct optreg_buf *payload,
				const char *envelope_canon, const char *actor,
				int *version, bool *created, char **created_at,
				struct optreg_errors *errs);

#endif
