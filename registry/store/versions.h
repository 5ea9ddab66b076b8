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
#include "../../common/dsse.h"
#include "../../common/error.h"
#include "../../validator/jcs.h"
#include "../audit.h"

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

/* What submit_prepare read (migrations/0013). */
struct optreg_submit_prepared {
	int threshold; /* the namespace's signature threshold */
	bool stored;   /* ns/name already holds the digest */
	char *message; /* its stored message and link (owned; NULL) */
	char *link;
};

/*
 * Begins the submit's transaction and reads, in the same round trip: the
 * namespace's signature threshold, whether ns/name already holds a version with
 * `digest` (and its stored message and link), and the envelope's key rows
 * locked FOR SHARE, against which every signature is checked as
 * optreg_store_signers_verify_envelope checks them (the distinct valid key
 * ids to `valid`, their count to `*nvalid`, an error for every other).
 * On failure the caller rolls back.
 */
int optreg_store_submit_prepare(PGconn *conn, const struct optreg_dsse *env,
				const char *ns, const char *name,
				const char *digest,
				struct optreg_submit_prepared *out,
				const char **valid, size_t *nvalid,
				struct optreg_errors *errs);

/* The write of a new version (all borrowed; message and link may be NULL). */
struct optreg_submit_record {
	const char *ns, *name, *digest;
	const struct optreg_buf *payload; /* canonical bytes, sent as binary */
	const char *envelope_canon, *actor, *message, *link;
	const char *suite; /* its job's suite */
	/* its audit event, split around the version number
	 * (optreg_audit_event_split), and the event's time */
	const char *event_head, *event_tail, *time;
};

struct optreg_submit_recorded {
	int version;
	bool created;	  /* false: the digest was stored meanwhile */
	char *created_at; /* owned, RFC 3339 */
	struct optreg_audit_appended audit; /* when created */
};

/*
 * Inside the caller's transaction, in one statement: creates the version,
 * its job and its audit event, and reads what the receipt's proof needs
 * (the append lock is then held until the transaction ends); or finds the
 * identical version stored meanwhile (created false, nothing written).
 */
int optreg_store_submit_record(PGconn *conn,
			       const struct optreg_submit_record *in,
			       struct optreg_submit_recorded *out,
			       struct optreg_errors *errs);

#endif
