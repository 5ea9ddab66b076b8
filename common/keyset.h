/*
 * common/keyset.h: a set of trusted public keys, the one key-set type that
 * the registry, the CLI and the runner check signatures against.
 *
 * Each entry is a public key with its key id and what is known about it:
 * the principal it belongs to, the namespace patterns it may sign for
 * (fnmatch(3) patterns, as GET /v1/keys lists them), what it may sign
 * (its purpose: "config" or "verdict") and whether, and when, it was
 * revoked. The set is filled from the registry's key list (GET
 * /v1/keys, GET /v1/registry/keys), from pinned key files, or entry by
 * entry (the registry builds one from the key rows it locked).
 *
 * A list from a registry is not trusted: an entry whose public key does not
 * load, or whose key id is not its key's own id, is left out, so a
 * signature naming that id finds no key. The id alone is never trusted
 * either: common/verify.h checks each signature under the key found.
 *
 * Times are the registry's UTC timestamps in one fixed format
 * (2026-11-23T10:00:00.000Z), so they compare as strings.
 */
#ifndef OPTREG_KEYSET_H
#define OPTREG_KEYSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "sign.h"

/* One trusted key. The set owns every member. */
struct optreg_keyset_key {
	struct optreg_key *key; /* public; NULL: a key that did not load,
				   whose signatures never verify */
	char id[OPTREG_KEYID_LEN + 1];
	char *principal;    /* NULL when unknown */
	char *revoked_at;   /* NULL while active; "" revoked, time unknown */
	json_t *namespaces; /* array of patterns (one reference), or NULL:
			       allowed for no namespace */
	char *purpose;	    /* OPTREG_KEY_PURPOSE_*, or NULL: any (pinned
			       keys, lists from before purposes) */
};

/* What a registered key may sign (docs/api.md, "Keys"). */
#define OPTREG_KEY_PURPOSE_CONFIG  "config"
#define OPTREG_KEY_PURPOSE_VERDICT "verdict"

/* The purpose whose keys may sign a DSSE payload of `payload_type`: config
 * for the config type, verdict for the verdict type, NULL for others. */
const char *optreg_key_purpose_for(const char *payload_type);

struct optreg_keyset {
	struct optreg_keyset_key *items;
	size_t n;
	size_t alloc; /* capacity of `items` */
};

/* Makes `ks` an empty set (embedded; nothing allocated). */
void optreg_keyset_init(struct optreg_keyset *ks);
/* Frees every entry (keys, strings, namespace references); `ks` is left
 * empty and reusable. */
void optreg_keyset_release(struct optreg_keyset *ks);

/*
 * Adds one key and returns its entry (borrowed; valid until the next add).
 * `key` is taken (the set frees it); it may be NULL only with an `id`.
 * `id` NULL means the key's own id. `principal` and `revoked_at` are
 * copied (NULL for none); `namespaces` is borrowed and a new reference
 * taken (NULL for none).
 */
struct optreg_keyset_key *
optreg_keyset_add_take(struct optreg_keyset *ks, const char *id,
		       struct optreg_key *key, const char *principal,
		       json_t *namespaces, const char *revoked_at);

/*
 * Loads each public key file of `paths` (pinned keys, allowed for every
 * namespace) and adds it. Stops at the first that does not load: its
 * errors are optreg_key_load_file's (OPTREG_EIO for a file that cannot be
 * read, OPTREG_EINVAL otherwise), and the keys before it stay added.
 */
int optreg_keyset_load_files(struct optreg_keyset *ks, const char *const *paths,
			     size_t n, struct optreg_errors *errs);

/* Sets the entry's purpose (copied; NULL: any). */
void optreg_keyset_set_purpose(struct optreg_keyset_key *k,
			       const char *purpose);

/*
 * Adds the usable entries of a registry key list, {"keys": [{"keyid",
 * "public_key", "principal"?, "namespaces"?, "revoked_at"?, "purpose"?}]} (see
 * above for what is left out). A list without "keys" adds nothing.
 * Nothing of `list` is kept.
 */
void optreg_keyset_load_list(struct optreg_keyset *ks, const json_t *list);

/* The entry with id `keyid`, or NULL (borrowed; NULL `keyid` finds none). */
const struct optreg_keyset_key *
optreg_keyset_find(const struct optreg_keyset *ks, const char *keyid);

/* True when one of the entry's namespace patterns matches `ns`. */
bool optreg_keyset_allows(const struct optreg_keyset_key *k, const char *ns);

#endif
