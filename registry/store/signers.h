/*
 * registry/store/signers.h: signing keys, the namespaces each may sign for, and
 * the check of an envelope's signatures against them.
 */
#ifndef OPTREG_SIGNERS_H
#define OPTREG_SIGNERS_H

#include <jansson.h>
#include <libpq-fe.h>

#include "../../common/buf.h"
#include "../../common/dsse.h"
#include "../../common/error.h"
#include "../../common/sign.h"

struct optreg_audit_actor;

/*
 * Registers a public key for `principal` (a valid principal name), allowed
 * to sign for the namespace globs in `namespaces` (borrowed; checked here:
 * OPTREG_EINVAL) what `purpose` says ("config" or "verdict"; NULL:
 * "config"), with the audit event "key.added", in one transaction.
 * OPTREG_ECONFLICT when the key is already registered. *out is a new key
 * object.
 */
int optreg_store_signers_add(PGconn *conn, const char *public_pem,
			     const char *principal, json_t *namespaces,
			     const char *purpose,
			     const struct optreg_audit_actor *who, json_t **out,
			     struct optreg_errors *errs);
/* Keys, optionally of one principal; *out is a new array. */
int optreg_store_signers_list(PGconn *conn, const char *principal, json_t **out,
			      struct optreg_errors *errs);
/* One key; OPTREG_ENOTFOUND. *out is a new object. */
int optreg_store_signers_get(PGconn *conn, const char *keyid, json_t **out,
			     struct optreg_errors *errs);
/* Revokes a key (the first revocation is kept and audited). */
int optreg_store_signers_revoke(PGconn *conn, const char *keyid,
				const struct optreg_audit_actor *who,
				json_t **out, struct optreg_errors *errs);

/* The envelope's well-formed key ids as a PostgreSQL text[] literal. */
void optreg_store_signers_keyids(const struct optreg_dsse *env,
				 struct optreg_buf *out);

/* As optreg_store_signers_verify_envelope, over key rows already read and
 * locked: keyid (NULL: no key), public_key, namespaces as JSON text,
 * revoked, purpose, in the columns from `col` on. */
void optreg_store_signers_verify_rows(const struct optreg_dsse *env,
				      const char *ns, const PGresult *keys,
				      int col, const char **valid,
				      size_t *nvalid,
				      struct optreg_errors *errs);

/*
 * Checks every signature of `env` against the registered keys, inside the
 * caller's transaction (key rows locked FOR SHARE): a signature counts when
 * its key exists, is not revoked, is allowed for namespace `ns`, is
 * registered for the purpose of the envelope's payload type (config keys
 * for configs, verdict keys for verdicts; optreg_key_purpose_for), and
 * the signature verifies. Writes the distinct valid key ids (borrowed from
 * `env`, sorted) to `valid` (room for env->nsigs) and their count to
 * `*nvalid`; every other signature adds an error (path "signatures[i]",
 * rule unknown_key, revoked_key, key_not_allowed, key_purpose or
 * bad_signature).
 */
int optreg_store_signers_verify_envelope(PGconn *conn,
					 const struct optreg_dsse *env,
					 const char *ns, const char **valid,
					 size_t *nvalid,
					 struct optreg_errors *errs);

#endif
