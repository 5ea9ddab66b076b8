/*
 * common/keyring.h: the signing keys a registry publishes (GET /v1/keys)
 * and the check of a DSSE envelope's signatures against them, made on the
 * client's side so that a registry (or a database) that changed what it
 * serves is caught.
 *
 * A signature counts when a listed key has its key id, that key is allowed
 * for the namespace (one of its patterns matches, as fnmatch(3)), it was
 * not revoked before the time the envelope was accepted, and the signature
 * verifies under the key's own public key: the id alone is never trusted.
 * The registry's list is not trusted either: an entry whose public key does
 * not load, or whose key id is not its key's own id, is left out.
 *
 * Times are the registry's UTC timestamps in one fixed format
 * (2026-11-23T10:00:00.000Z), so they compare as strings.
 */
#ifndef OPTREG_KEYRING_H
#define OPTREG_KEYRING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dsse.h"
#include "error.h"
#include "sign.h"

/* One listed key. Strings and `namespaces` are borrowed from the list the
 * keyring holds. */
struct optreg_keyring_key {
	struct optreg_key *key; /* public; owned by the keyring */
	char id[OPTREG_KEYID_LEN + 1];
	const char *principal;	  /* NULL when the entry has none */
	const char *revoked_at;	  /* NULL while the key is active */
	const json_t *namespaces; /* array of patterns, or NULL */
};

struct optreg_keyring {
	struct optreg_keyring_key *items;
	size_t n;
	json_t *list; /* the registry's answer; one reference held */
};

void optreg_keyring_init(struct optreg_keyring *kr);

/*
 * Fills `kr` (initialized; what it held is released first) from a key list
 * as GET /v1/keys answers it: {"keys": [{"keyid", "public_key",
 * "principal", "namespaces", "revoked_at", ...}]}. Takes a new reference to
 * `list`. Entries that are not usable are left out (see above); a list
 * without "keys" gives an empty keyring.
 */
void optreg_keyring_load(struct optreg_keyring *kr, json_t *list);

void optreg_keyring_release(struct optreg_keyring *kr);

/* The key with id `keyid`, or NULL (borrowed). */
const struct optreg_keyring_key *
optreg_keyring_find(const struct optreg_keyring *kr, const char *keyid);

/* True when one of the key's namespace patterns matches `ns`. */
bool optreg_keyring_allows(const struct optreg_keyring_key *k, const char *ns);

/*
 * Checks every signature of `env` for namespace `ns`, as accepted at time
 * `at` (a key revoked at or after `at` still counts; NULL: any revoked key
 * is refused). Returns the number of distinct keys with a valid signature
 * and writes them to `valid` (room for env->nsigs entries; may be NULL).
 * Every signature that does not count appends one error to `why` (may be
 * NULL): path PREFIX.signatures[i] (`prefix` may be NULL or ""), rule
 * unknown_key, revoked_key, key_not_allowed or bad_signature (as the
 * registry names them), and a message naming the key id.
 */
size_t optreg_keyring_verify(const struct optreg_keyring *kr,
			     const struct optreg_dsse *env, const char *ns,
			     const char *at, const char *prefix,
			     const struct optreg_keyring_key **valid,
			     struct optreg_errors *why);

#endif
