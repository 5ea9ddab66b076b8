/*
 * common/verify.h: every trust check of optreg in one place, used by the
 * registry (signed submits, verdicts), the CLI (`optreg verify`, `fetch
 * --verify`, `verdicts --verify`) and the runner.
 *
 *   optreg_envelope_check_config  a config envelope's payload: its type, a
 *                                 valid config, in RFC 8785 canonical form
 *   optreg_envelope_verify        signatures against a key set, for a
 *                                 namespace, as of a time, with a threshold
 *   optreg_receipt_verify         a receipt: signed by a registry key, and
 *                                 its audit event's leaf in its audit root
 *   optreg_version_verify         a version document end to end (digest,
 *                                 envelope, receipt)
 *   optreg_verdict_check          a verdict payload against its job
 *   optreg_checkpoint_verify      a signed audit checkpoint
 *
 * Each check reports every problem it finds as one optreg_errors item with
 * a stable rule name. Where the registry and the clients word the same
 * refusal differently (the registry's answer is part of its API; the
 * clients' lines are part of theirs), the caller names its voice, and the
 * words for both live here, next to the one rule.
 */
#ifndef OPTREG_VERIFY_H
#define OPTREG_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dsse.h"
#include "error.h"
#include "keyset.h"
#include "media.h" /* the payload types checked here */
#include "merkle.h"

struct optreg_config;

/* Who words the refusals. */
enum optreg_verify_voice {
	/* The registry's answer to a submit or a verdict: per-signature
	 * errors are OPTREG_EDENIED with hints; paths without a prefix. */
	OPTREG_VOICE_REGISTRY = 0,
	/* A client checking a key list (verify --registry, verdicts
	 * --verify, the runner): OPTREG_EINVAL, "was revoked at T". */
	OPTREG_VOICE_CLIENT,
	/* `optreg fetch --verify`: as the client, naming signer keys and
	 * the time the version was accepted. */
	OPTREG_VOICE_VERSION,
};

/*
 * Checks that `env` carries a config: payloadType is the config type
 * (rule "payload_type", path "payloadType"), the payload is a valid config
 * (the validator's errors, as they are) and it is already RFC 8785
 * canonical (rule "canonical", path "payload", the registry's message and
 * hint). Stops at the first of the three that fails; returns 0 or
 * OPTREG_EINVAL. On success fills `cfg` (may be NULL; the caller releases
 * it with optreg_config_release) and appends the canonical bytes to
 * `canon` (may be NULL); on failure `cfg` is left zeroed. Does not look
 * at the signatures: DSSE advises reading a payload only once they
 * verified, which the caller orders.
 */
int optreg_envelope_check_config(const struct optreg_dsse *env,
				 struct optreg_config *cfg,
				 struct optreg_buf *canon,
				 struct optreg_errors *errs);

/* What signatures must satisfy. */
struct optreg_sig_policy {
	const char *ns;	     /* the namespace keys must be allowed for */
	const char *at;	     /* accepted at: a key revoked at or after it
				still counts; NULL: every revoked key is
				refused */
	const char *prefix;  /* path prefix ("envelope"), or NULL */
	size_t threshold;    /* distinct valid keys needed; 0: not checked */
	const char *purpose; /* keys with another purpose do not count
				(OPTREG_KEY_PURPOSE_*); NULL: any */
	enum optreg_verify_voice voice;
};

/*
 * Checks every signature of `env` against `ks`: a signature counts when
 * its key id is in the set, the key is not revoked (see `at`), one of its
 * namespace patterns matches `ns`, its purpose (when the key has one) is
 * the policy's `purpose` (when it names one), and it verifies under that
 * key. Two
 * signatures by one key count once.
 *
 * Writes the distinct keys that count, in signature order, to `valid`
 * (room for env->nsigs entries; may be NULL; borrowed from `ks`) and
 * their number to `*nvalid`. Every signature that does not count appends
 * one error, path PREFIX.signatures[i], rule unknown_key, revoked_key,
 * key_not_allowed, key_purpose or bad_signature. Returns 0, or OPTREG_EDENIED
 * when fewer than `threshold` keys count, with one more error (rule
 * "threshold", path "signatures", the registry's words).
 */
int optreg_envelope_verify(const struct optreg_keyset *ks,
			   const struct optreg_dsse *env,
			   const struct optreg_sig_policy *pol,
			   const struct optreg_keyset_key **valid,
			   size_t *nvalid, struct optreg_errors *why);

/* Whether a receipt's audit inclusion proof was checked. */
enum optreg_inclusion {
	OPTREG_INCLUSION_VERIFIED = 0,
	OPTREG_INCLUSION_NOT_CARRIED, /* a receipt from before audit_leaf */
};

/* A receipt whose signature verified. */
struct optreg_receipt {
	json_t *payload; /* the signed payload (one reference), or NULL */
	char keyid[OPTREG_KEYID_LEN + 1]; /* the registry key that signed */
	enum optreg_inclusion inclusion;
};

/* Makes `r` empty (embedded); _release frees what it owns and leaves it
 * empty again. */
void optreg_receipt_init(struct optreg_receipt *r);
void optreg_receipt_release(struct optreg_receipt *r);

/*
 * Checks the receipt envelope `receipt` (a JSON value; NULL or null when
 * the registry served none): a DSSE envelope of the receipt type, with a
 * signature that verifies under a key of `registry_keys` (`pinned` says
 * whether they were pinned, for the message), whose payload is a JSON
 * object. Then the inclusion proof: audit_leaf (the SHA-256 leaf hash of
 * the version's audit event, base64) with audit_inclusion must give
 * audit_root for leaf audit_index in the tree of audit_tree_size leaves.
 * A receipt without audit_leaf is accepted with `inclusion` set to
 * OPTREG_INCLUSION_NOT_CARRIED.
 *
 * Every failure is rule "receipt", path "receipt..." and makes the result
 * OPTREG_EINVAL. `out` (initialized) gets the payload and key id once the
 * signature verified, even when the proof then fails.
 */
int optreg_receipt_verify(const json_t *receipt,
			  const struct optreg_keyset *registry_keys,
			  bool pinned, struct optreg_receipt *out,
			  struct optreg_errors *errs);

/* What optreg_version_verify found besides the failures. */
struct optreg_version_check {
	struct optreg_buf signers; /* "KEYID (PRINCIPAL), ..." that count */
	struct optreg_receipt receipt;
};

/* Makes `vc` empty (embedded); _release frees what it owns and leaves it
 * empty again. */
void optreg_version_check_init(struct optreg_version_check *vc);
void optreg_version_check_release(struct optreg_version_check *vc);

/*
 * Checks a version document as GET .../versions/{n} serves it, as `optreg
 * fetch --verify` reports it. `canon` is the RFC 8785 form of its config;
 * `want_digest` the digest asked for (NULL for none). The checks, every
 * one run, in the order reported:
 *
 *   digest    (rule "digest") the SHA-256 of `canon` is the document's
 *             digest, and the one asked for;
 *   envelope  (rules "envelope", "signature") the envelope is of the
 *             config type, its payload is exactly `canon`, and at least
 *             one signature counts under `signer_keys` for the namespace
 *             as of the accepted time;
 *   receipt   (rule "receipt") optreg_receipt_verify, and its payload
 *             names this namespace, name, version, digest and envelope.
 *
 * The accepted time is the receipt's signed time when its signature
 * verifies, else the document's created_at. The document must have
 * namespace, name, version, digest and created_at (else OPTREG_EINVAL with
 * one error, rule "bad_response"). Returns 0 or OPTREG_EINVAL.
 */
int optreg_version_verify(const json_t *doc, const struct optreg_buf *canon,
			  const char *want_digest,
			  const struct optreg_keyset *signer_keys,
			  const struct optreg_keyset *registry_keys,
			  bool pinned, struct optreg_version_check *out,
			  struct optreg_errors *errs);

/* What a verdict must say; NULL members are not compared. */
struct optreg_verdict_expect {
	long long job_id;
	const char *config_digest;
	const char *suite;
	const char *suite_digest;
	const char *result;
};

/*
 * Checks a verdict payload (a JSON object) against its job: job_id,
 * config_digest, suite, suite_digest and result are the expected ones,
 * suite_digest is a sha256: digest and result is pass, warn, fail or
 * error. In the registry's voice the errors are rule "mismatch", "type" or
 * "enum" with the field as path; in a client's voice rule "verdict", path
 * `prefix` and a message "payload.FIELD: expected ..., got ...". Returns 0
 * or OPTREG_EINVAL.
 */
int optreg_verdict_check(const json_t *payload,
			 const struct optreg_verdict_expect *want,
			 enum optreg_verify_voice voice, const char *prefix,
			 struct optreg_errors *errs);

/* A checkpoint whose signature verified. */
struct optreg_checkpoint {
	char *origin; /* owned */
	uint64_t size;
	optreg_hash root;
	char keyid[OPTREG_KEYID_LEN + 1]; /* the key that signed */
};

/* Frees what optreg_checkpoint_verify filled in; `cp` is left empty. */
void optreg_checkpoint_release(struct optreg_checkpoint *cp);

/*
 * Opens the signed note `note` (a C2SP tlog checkpoint signed under its
 * origin, its first line) with the keys of `ks`, and parses it into `cp`.
 * Errors: rule "note_format" (not a signed note; line set), "unknown_key"
 * or "bad_signature" (no key of `ks` signed it, or its signature does not
 * verify: optreg_note_open's message), "checkpoint" (the origin cannot
 * name a key, or the text is not a checkpoint). Returns 0 or the first
 * failure's code; on failure `cp` is empty.
 */
int optreg_checkpoint_verify(const char *note, const struct optreg_keyset *ks,
			     struct optreg_checkpoint *cp,
			     struct optreg_errors *errs);

#endif
