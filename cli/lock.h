/*
 * cli/lock.h: the lock file of `optreg pin` and `optreg fetch --lock`.
 *
 * A lock names one version of a config and the registry key that signed
 * its receipt, and is the trust anchor for fetching it later (like a
 * go.sum line): pretty JSON, the keys in this order, one per line, with a
 * trailing newline:
 *
 *   {"optreg_lock": 1, "ref", "namespace", "name", "version", "digest",
 *    "registry", "registry_keyid", "registry_key", "pinned_at"}
 */
#ifndef OPTREG_CLI_LOCK_H
#define OPTREG_CLI_LOCK_H

#include "../common/buf.h"
#include "../common/sign.h"
#include "../validator/jcs.h"

#define CLI_LOCK_FORMAT 1 /* the value of "optreg_lock" */

struct cli_lock {
	char *ref; /* as given to pin: "team-nlp/bert@prod" (owned) */
	char ns[64];
	char name[129];
	long version;
	char digest[OPTREG_DIGEST_LEN + 1];
	char *registry; /* the registry URL pin used (owned) */
	char keyid[OPTREG_KEYID_LEN + 1]; /* registry_keyid */
	char *registry_key;		  /* its public key, PEM (owned) */
	char pinned_at[32];		  /* RFC 3339 UTC */
};

/* Makes `lock` empty; _release frees what it owns and leaves it empty. */
void cli_lock_init(struct cli_lock *lock);
void cli_lock_release(struct cli_lock *lock);

/*
 * Parses lock file text. Every field must be there with its type (version
 * a whole number >= 1, digest "sha256:" and 64 hex digits, registry_keyid
 * 64 hex digits, registry_key a PEM public key whose key id is
 * registry_keyid, namespace and name valid names, pinned_at a string);
 * "optreg_lock" must be 1 and no other field may appear. Returns 0, or -1
 * with a message naming the field, the value and what is wrong in `why`.
 */
int cli_lock_parse(const char *text, size_t len, struct cli_lock *lock,
		   struct optreg_buf *why);

/* Appends the lock file text (see above). */
void cli_lock_format(const struct cli_lock *lock, struct optreg_buf *out);

/* Loads the registry key of a parsed lock into *key (the caller frees it);
 * 0 or -1 with why in `why`. */
int cli_lock_key(const struct cli_lock *lock, struct optreg_key **key,
		 struct optreg_buf *why);

#endif
