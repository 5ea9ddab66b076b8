/*
 * common/sign.h: Ed25519 keys and signed DSSE envelopes (OpenSSL 3 EVP).
 *
 * Keys are Ed25519, stored as PEM: private keys PKCS#8 ("PRIVATE KEY"),
 * public keys SubjectPublicKeyInfo ("PUBLIC KEY"). A key id is the lowercase
 * hex SHA-256 of the public key's SPKI DER encoding. Signatures are
 * EVP_DigestSign/Verify with a NULL digest over the DSSE PAE of
 * (payloadType, payload). Envelopes always carry the key id; verifiers look
 * the key up by id but never trust the id alone: the signature must verify
 * under the key found.
 */
#ifndef OPTREG_SIGN_H
#define OPTREG_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dsse.h"
#include "error.h"

#define OPTREG_KEYID_LEN 64 /* hex SHA-256 */

struct optreg_key; /* an Ed25519 key, private or public only */

/* Generates a new Ed25519 key pair (*key is the caller's to free). */
int optreg_key_generate(struct optreg_key **key, struct optreg_errors *errs);

/*
 * Loads a PEM key: a private key (PKCS#8) or a public key (SPKI). Anything
 * that is not Ed25519 is OPTREG_EINVAL ("key must be Ed25519 (got RSA)"),
 * and so are encrypted private keys and text that holds no PEM key (rules
 * "key_type", "key_format", "key_passphrase"; each error has a hint).
 * An unreadable file is
 * OPTREG_EIO. The _file variant starts messages with the path. Messages
 * never quote key material. On failure *key is NULL.
 */
int optreg_key_load_file(struct optreg_key **key, const char *path,
			 struct optreg_errors *errs);
int optreg_key_load_pem(struct optreg_key **key, const char *pem, size_t len,
			struct optreg_errors *errs);
/*
 * The same, decrypting an encrypted PKCS#8 key ("ENCRYPTED PRIVATE KEY")
 * with `passphrase` (NULL: none; an unencrypted key ignores it). Never
 * prompts. An encrypted key without a passphrase, or one the passphrase
 * does not decrypt, is OPTREG_EINVAL with rule "key_passphrase"; messages
 * never quote the passphrase. The _file variant reads standard input when
 * `path` is "-" (and says "standard input" in messages).
 */
int optreg_key_load_file_pass(struct optreg_key **key, const char *path,
			      const char *passphrase,
			      struct optreg_errors *errs);
int optreg_key_load_pem_pass(struct optreg_key **key, const char *pem,
			     size_t len, const char *passphrase,
			     struct optreg_errors *errs);

/* Frees a key from optreg_key_generate or optreg_key_load_*; NULL is a
 * no-op. */
void optreg_key_free(struct optreg_key *key);

/* True when `key` holds the private half (it can sign). */
bool optreg_key_is_private(const struct optreg_key *key);

/* Key id: lowercase hex SHA-256 of the SPKI DER, NUL-terminated. */
void optreg_key_id(const struct optreg_key *key,
		   char out[OPTREG_KEYID_LEN + 1]);

/* Appends the public key as SPKI PEM. */
int optreg_key_public_pem(const struct optreg_key *key, struct optreg_buf *out);

/*
 * Writes NAME.pem (private, PKCS#8, created with mode 0600 and never
 * world-readable even briefly) and NAME.pub.pem (public, 0644), whatever the
 * umask. Refuses to overwrite existing files (OPTREG_ECONFLICT) unless
 * `force`, which replaces both by way of temporary files and renames. Other
 * failures are OPTREG_EIO; `key` without its private half is OPTREG_EINVAL.
 * On failure no file of the new pair is left behind.
 */
int optreg_key_write_pair(const struct optreg_key *key, const char *name,
			  bool force, struct optreg_errors *errs);
/* The same, with NAME.pem encrypted (PKCS#8, PBES2 with AES-256-CBC)
 * under `passphrase` when it is not NULL. */
int optreg_key_write_pair_pass(const struct optreg_key *key, const char *name,
			       bool force, const char *passphrase,
			       struct optreg_errors *errs);

/* Signs `len` bytes (the PAE); appends the 64-byte raw signature. A public
 * key is OPTREG_EINVAL. */
int optreg_key_sign(const struct optreg_key *key, const void *msg, size_t len,
		    struct optreg_buf *sig, struct optreg_errors *errs);

/* True when `sig` is a valid signature of `msg` under `key`. */
bool optreg_key_verify(const struct optreg_key *key, const void *msg,
		       size_t len, const void *sig, size_t siglen);

/*
 * Appends a signature by `key` to the envelope: over PAE(payload_type,
 * payload), keyid = the key's id, sig in standard base64. Does not look at
 * the signatures already there.
 */
int optreg_dsse_sign(struct optreg_dsse *env, const struct optreg_key *key,
		     struct optreg_errors *errs);

/* Why one signature of an envelope does or does not count. */
enum optreg_sig_status {
	OPTREG_SIG_VALID = 0,
	OPTREG_SIG_UNKNOWN_KEY,	  /* no key with that id */
	OPTREG_SIG_REVOKED_KEY,	  /* the key is revoked */
	OPTREG_SIG_NOT_ALLOWED,	  /* the key may not sign for this namespace */
	OPTREG_SIG_BAD_SIGNATURE, /* not base64, wrong length, or does not
				     verify */
	OPTREG_SIG_WRONG_PURPOSE, /* the key is registered for signing
				     something else (config vs verdict) */
};

/* The docs/api.md rule name: "valid", "unknown_key", "revoked_key",
 * "key_not_allowed", "bad_signature", "key_purpose". */
const char *optreg_sig_status_name(enum optreg_sig_status s);

/*
 * Verifies signature `i` of `env` against `key` (which the caller looked up
 * by the signature's keyid): base64 decoding (standard or URL-safe), length,
 * and EVP verification over PAE. Returns OPTREG_SIG_VALID or
 * OPTREG_SIG_BAD_SIGNATURE (also for an index out of range), or
 * OPTREG_SIG_UNKNOWN_KEY when `key` is NULL.
 */
enum optreg_sig_status optreg_dsse_verify_one(const struct optreg_dsse *env,
					      size_t i,
					      const struct optreg_key *key);

#endif
