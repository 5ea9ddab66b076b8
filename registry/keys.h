/*
 * registry/keys.h: signing keys, namespace signature thresholds, the
 * registry's own key and receipts, and the signed submit that ties them
 * together in one transaction.
 */
#ifndef OPTREG_KEYS_H
#define OPTREG_KEYS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "../common/dsse.h"
#include "../common/error.h"
#include "../common/sign.h"

#define OPTREG_RECEIPT_PAYLOAD_TYPE "application/vnd.optreg.receipt.v1+json"

/* The registry's signing identity (private key; owned by the caller). */
struct optreg_registry_key {
	struct optreg_key *key;
	char keyid[OPTREG_KEYID_LEN + 1];
};

/*
 * Loads the registry key from `path` (PEM, private), or when `create` and
 * the file does not exist, generates one there (mode 0600, plus
 * PATH-without-.pem.pub.pem). Then records its public half in
 * registry_keys if it is not there yet.
 */
int optreg_registry_key_load(PGconn *conn, const char *path, bool create,
			     struct optreg_registry_key *out,
			     struct optreg_errors *errs);
void optreg_registry_key_release(struct optreg_registry_key *rk);

/* Keys: add (OPTREG_ECONFLICT when the key is already registered), list
 * (optionally by principal), get, revoke (keeps the first revocation). */
struct optreg_audit_actor;

int optreg_keys_add(PGconn *conn, const char *public_pem, const char *principal,
		    json_t *namespaces, const struct optreg_audit_actor *who,
		    json_t **out, struct optreg_errors *errs);
int optreg_keys_list(PGconn *conn, const char *principal, json_t **out,
		     struct optreg_errors *errs);
int optreg_keys_get(PGconn *conn, const char *keyid, json_t **out,
		    struct optreg_errors *errs);
int optreg_keys_revoke(PGconn *conn, const char *keyid,
		       const struct optreg_audit_actor *who, json_t **out,
		       struct optreg_errors *errs);

int optreg_ns_settings_get(PGconn *conn, const char *ns, json_t **out,
			   struct optreg_errors *errs);
int optreg_ns_settings_put(PGconn *conn, const char *ns, int threshold,
			   const struct optreg_audit_actor *who, json_t **out,
			   struct optreg_errors *errs);

int optreg_registry_keys_list(PGconn *conn, json_t **out,
			      struct optreg_errors *errs);

/*
 * Checks every signature of `env` against the registered keys, inside the
 * caller's transaction (key rows locked FOR SHARE): a signature counts when
 * its key exists, is not revoked, is allowed for namespace `ns`, and the
 * signature verifies. Writes the distinct valid key ids (borrowed from
 * `env`, sorted) to `valid` (room for env->nsigs) and their count to
 * `*nvalid`; every other signature adds an error (path "signatures[i]",
 * rule unknown_key, revoked_key, key_not_allowed or bad_signature).
 */
int optreg_keys_verify_envelope(PGconn *conn, const struct optreg_dsse *env,
				const char *ns, const char **valid,
				size_t *nvalid, struct optreg_errors *errs);

struct optreg_submit_result {
	int version;
	bool created;
	char *created_at; /* owned */
	char *receipt;	  /* owned: the receipt envelope, JSON text */
};

void optreg_submit_result_release(struct optreg_submit_result *r);

/*
 * The signed submit, one transaction: locks the envelope's keys (FOR SHARE,
 * so a concurrent revocation waits for this submit or wins before it),
 * checks every signature against them and the namespace's threshold,
 * creates the version (or finds the identical one), and writes the
 * receipt signed by `rk`, with the audit event "version.created" and its
 * inclusion proof in the receipt. Signature refusals are OPTREG_EDENIED with
 * one error per signature (path "signatures[i]", rule unknown_key, revoked_key,
 * key_not_allowed, bad_signature) and rule "threshold".
 * `envelope_canon` is the RFC 8785 form of the envelope, as stored.
 */
int optreg_submit_signed(PGconn *conn, const struct optreg_registry_key *rk,
			 const char *ns, const char *name, const char *digest,
			 const struct optreg_dsse *env,
			 const char *envelope_canon,
			 const struct optreg_audit_actor *who,
			 struct optreg_submit_result *out,
			 struct optreg_errors *errs);

/* The stored receipt of a version, or NULL (owned JSON text). */
int optreg_receipt_get(PGconn *conn, const char *ns, const char *name,
		       int version, char **receipt, struct optreg_errors *errs);

#endif
