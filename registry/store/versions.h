/*
 * registry/store/versions.h: config versions. Writes are the SQL
 * functions of migrations/0001_registry.sql. Errors: OPTREG_ENOTFOUND,
 * OPTREG_ECONFLICT, OPTREG_EUNAVAILABLE (connection lost),
 * OPTREG_EINTERNAL, each with an error in `errs`.
 */
#ifndef OPTREG_STORE_VERSIONS_H
#define OPTREG_STORE_VERSIONS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "../../common/buf.h"
#include "../../common/error.h"
#include "../../validator/jcs.h"

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
	char *message, *link;	       /* owned or NULL: why it was submitted */
};

void optreg_version_release(struct optreg_version *v);

/* A version in a list; strings owned. */
struct optreg_version_summary {
	int version;
	char digest[OPTREG_DIGEST_LEN + 1];
	char *created_at, *created_by;
	bool yanked;
	char *tags;	      /* JSON array text of its tag names */
	char *message, *link; /* or NULL */
	char *yank_reason;    /* or NULL */
	/* The latest verdict on the reference suite (OPTREG_DEFAULT_SUITE):
	 * result NULL when there is none. */
	char *verdict_result, *verdict_suite, *verdict_created_at;
	long long verdict_job_id;
	char *job_state;     /* that suite's job: queued, leased, done,
				abandoned; or NULL */
	char *signer_keyids; /* JSON array text of the keys that signed it */
};

struct optreg_version_list {
	struct optreg_version_summary *items;
	size_t len;
};

void optreg_version_list_release(struct optreg_version_list *l);

/* Version ns/name@version; `out` is always initialized (release it). */
int optreg_store_get_version(PGconn *conn, const char *ns, const char *name,
			     int version, struct optreg_version *out,
			     struct optreg_errors *errs);

/* The version with config digest `digest`, as optreg_store_get_version. */
int optreg_store_get_digest(PGconn *conn, const char *digest,
			    struct optreg_version *out,
			    struct optreg_errors *errs);

/* Versions newest first, those below `before` (0: from the newest), at
 * most `limit` (OPTREG_ENOTFOUND without the config). Fills `out`
 * (release it) on success. */
int optreg_store_list_versions(PGconn *conn, const char *ns, const char *name,
			       int before, int limit,
			       struct optreg_version_list *out,
			       struct optreg_errors *errs);

/* Yanks a version (audited "version.yanked" the first time, with
 * `reason` and `link` (may be NULL): *already false); writes its digest.
 * OPTREG_ENOTFOUND. */
int optreg_store_yank(PGconn *conn, const char *ns, const char *name,
		      int version, const char *reason, const char *link,
		      const struct optreg_audit_actor *who, bool *already,
		      char digest[OPTREG_DIGEST_LEN + 1],
		      struct optreg_errors *errs);

/*
 * Creates version ns/name with config `digest` (payload: its canonical
 * bytes, sent as binary), the stored envelope, and why it was submitted
 * (`message`, `link`, may be NULL), inside the caller's
 * transaction, or finds the identical one (*created false). Writes the
 * version number and its creation time (owned, RFC 3339).
 */
int optreg_store_submit_version(PGconn *conn, const char *ns, const char *name,
				const char *digest,
				const struct optreg_buf *payload,
				const char *envelope_canon, const char *actor,
				const char *message, const char *link,
				int *version, bool *created, char **created_at,
				struct optreg_errors *errs);

/* Whether ns/name already holds a version with `digest`, and its stored
 * message and link (owned, NULL when absent). */
int optreg_store_version_stored(PGconn *conn, const char *ns, const char *name,
				const char *digest, bool *found, char **message,
				char **link, struct optreg_errors *errs);

#endif
