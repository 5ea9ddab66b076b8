/*
 * common/verify.c: the trust checks. See verify.h.
 */
#include "verify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../validator/config.h"
#include "../validator/jcs.h"
#include "base64.h"
#include "jsonutil.h"
#include "note.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A whole number from 0 to 1e15 (as the CLI reads counts); 0 or -1. */
static int count_of(const json_t *o, const char *key, long *out)
{
	const json_t *v = json_object_get(o, key);
	double d;

	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	if (!(d >= 0 && d <= 1e15) || d != (double)(long)d)
		return -1;
	*out = (long)d;
	return 0;
}

/* Parses a DSSE envelope held as a JSON value. */
static int envelope_of(const json_t *v, struct optreg_dsse *env,
		       struct optreg_errors *errs)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	if (!text)
		return OPTREG_EINVAL;
	rc = optreg_dsse_parse(env, text, strlen(text), errs);
	free(text);
	return rc;
}

/* ---- Config envelopes ------------------------------------------------- */

int optreg_envelope_check_config(const struct optreg_dsse *env,
				 struct optreg_config *cfg,
				 struct optreg_buf *canon,
				 struct optreg_errors *errs)
{
	struct optreg_buf c = OPTREG_BUF_INIT;
	struct optreg_config local = {0};
	struct optreg_doc doc;
	int rc = OPTREG_EINVAL;

	if (strcmp(env->payload_type, OPTREG_CONFIG_PAYLOAD_TYPE)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "payload_type",
				  "payloadType", "must be \"%s\" (got \"%s\")",
				  OPTREG_CONFIG_PAYLOAD_TYPE,
				  env->payload_type);
		return OPTREG_EINVAL;
	}
	optreg_doc_init(&doc);
	if (optreg_doc_load_json(&doc, env->payload.data, env->payload.len,
				 errs) < 0 ||
	    optreg_config_validate(&doc, cfg ? cfg : &local, errs) < 0 ||
	    optreg_jcs_serialize(doc.root, &c, errs) < 0)
		goto out;
	if (c.len != env->payload.len ||
	    memcmp(c.data, env->payload.data, c.len)) {
		struct optreg_error *e = optreg_errors_add(
			errs, OPTREG_EINVAL, "canonical", "payload",
			"payload is not RFC 8785 canonical JSON");
		optreg_error_set_hint(e, "sign and send the output of "
					 "`optreg canonicalize`");
		goto out;
	}
	if (canon)
		optreg_buf_add(canon, c.data, c.len);
	rc = 0;
out:
	/* A payload that validated but is not canonical has filled `cfg`:
	 * a refusal leaves it zeroed, as the caller then releases nothing. */
	if (rc && cfg)
		optreg_config_release(cfg);
	optreg_config_release(&local);
	optreg_doc_release(&doc);
	optreg_buf_release(&c);
	return rc;
}

/* ---- Signatures ------------------------------------------------------- */

/* Appends why signature `i` (by `id`, key entry `k`) does not count. */
static void refuse_sig(const struct optreg_sig_policy *pol, const char *path,
		       enum optreg_sig_status st, const char *id,
		       const struct optreg_keyset_key *k,
		       struct optreg_errors *why)
{
	const char *shown = id[0] ? id : "(no key id)";
	struct optreg_error *e;

	if (pol->voice == OPTREG_VOICE_REGISTRY) {
		switch (st) {
		case OPTREG_SIG_UNKNOWN_KEY:
			e = optreg_errors_add(
				why, OPTREG_EDENIED, "unknown_key", path,
				"key \"%.80s\" is not registered", id);
			optreg_error_set_hint(e, "an admin registers keys with "
						 "`optreg key register`");
			return;
		case OPTREG_SIG_REVOKED_KEY:
			e = optreg_errors_add(why, OPTREG_EDENIED,
					      "revoked_key", path,
					      "key %s is revoked", id);
			optreg_error_set_hint(e, "sign with an active key");
			return;
		case OPTREG_SIG_NOT_ALLOWED:
			optreg_errors_add(why, OPTREG_EDENIED,
					  "key_not_allowed", path,
					  "key %s may not sign for namespace "
					  "%s",
					  id, pol->ns);
			return;
		case OPTREG_SIG_WRONG_PURPOSE:
			e = optreg_errors_add(why, OPTREG_EDENIED,
					      "key_purpose", path,
					      "key %s is registered to sign "
					      "%ss, not %ss",
					      id, k->purpose, pol->purpose);
			optreg_error_set_hint(e,
					      "sign with a key registered "
					      "with `optreg key register "
					      "--purpose %s`",
					      pol->purpose);
			return;
		default:
			e = optreg_errors_add(why, OPTREG_EDENIED,
					      "bad_signature", path,
					      "the signature by key %s does "
					      "not verify",
					      id);
			optreg_error_set_hint(e, "sign the canonical payload's "
						 "DSSE PAE (`optreg sign`)");
			return;
		}
	}
	switch (st) {
	case OPTREG_SIG_UNKNOWN_KEY:
		optreg_errors_add(why, OPTREG_EINVAL, "unknown_key", path,
				  pol->voice == OPTREG_VOICE_VERSION
					  ? "key %s is not a registered signer "
					    "key"
					  : "key %s is not a registered key",
				  shown);
		return;
	case OPTREG_SIG_REVOKED_KEY:
		if (pol->voice == OPTREG_VOICE_VERSION && pol->at)
			optreg_errors_add(why, OPTREG_EINVAL, "revoked_key",
					  path,
					  "key %s was revoked at %s, before "
					  "the version was accepted at %s",
					  id, k->revoked_at, pol->at);
		else
			optreg_errors_add(why, OPTREG_EINVAL, "revoked_key",
					  path, "key %s was revoked at %s%s%s",
					  id, k->revoked_at,
					  pol->at ? ", before " : "",
					  pol->at ? pol->at : "");
		return;
	case OPTREG_SIG_NOT_ALLOWED:
		optreg_errors_add(why, OPTREG_EINVAL, "key_not_allowed", path,
				  "key %s may not sign for namespace %s", id,
				  pol->ns);
		return;
	case OPTREG_SIG_WRONG_PURPOSE:
		optreg_errors_add(why, OPTREG_EINVAL, "key_purpose", path,
				  "key %s is registered to sign %ss, not %ss",
				  id, k->purpose, pol->purpose);
		return;
	default:
		optreg_errors_add(why, OPTREG_EINVAL, "bad_signature", path,
				  "the signature by key %s does not verify",
				  id);
		return;
	}
}

/* Why signature `i` does or does not count under entry `k`. */
static enum optreg_sig_status sig_status(const struct optreg_sig_policy *pol,
					 const struct optreg_dsse *env,
					 size_t i,
					 const struct optreg_keyset_key *k)
{
	if (!k)
		return OPTREG_SIG_UNKNOWN_KEY;
	if (k->revoked_at && (!pol->at || strcmp(k->revoked_at, pol->at) < 0))
		return OPTREG_SIG_REVOKED_KEY;
	if (!optreg_keyset_allows(k, pol->ns))
		return OPTREG_SIG_NOT_ALLOWED;
	if (pol->purpose && k->purpose && strcmp(k->purpose, pol->purpose))
		return OPTREG_SIG_WRONG_PURPOSE;
	if (!k->key)
		return OPTREG_SIG_BAD_SIGNATURE;
	return optreg_dsse_verify_one(env, i, k->key);
}

int optreg_envelope_verify(const struct optreg_keyset *ks,
			   const struct optreg_dsse *env,
			   const struct optreg_sig_policy *pol,
			   const struct optreg_keyset_key **valid,
			   size_t *nvalid, struct optreg_errors *why)
{
	const struct optreg_keyset_key **seen;
	const char *prefix = pol->prefix ? pol->prefix : "";
	size_t n = 0;

	seen = optreg_xcalloc(env->nsigs + 1, sizeof(*seen));
	for (size_t i = 0; i < env->nsigs; i++) {
		const char *id = env->sigs[i].keyid;
		const struct optreg_keyset_key *k = optreg_keyset_find(ks, id);
		enum optreg_sig_status st = sig_status(pol, env, i, k);
		char path[96];
		size_t j;

		snprintf(path, sizeof(path), "%s%ssignatures[%zu]", prefix,
			 *prefix ? "." : "", i);
		if (st != OPTREG_SIG_VALID) {
			refuse_sig(pol, path, st, id, k, why);
			continue;
		}
		for (j = 0; j < n && seen[j] != k; j++)
			;
		if (j == n)
			seen[n++] = k;
	}
	if (valid)
		memcpy(valid, seen, n * sizeof(*seen));
	free(seen);
	*nvalid = n;
	if (n >= pol->threshold)
		return 0;
	struct optreg_error *e = optreg_errors_add(
		why, OPTREG_EDENIED, "threshold", "signatures",
		"%zu valid signature%s from distinct keys %s required for "
		"namespace %s (got %zu)",
		pol->threshold, pol->threshold == 1 ? "" : "s",
		pol->threshold == 1 ? "is" : "are", pol->ns, n);
	if (env->nsigs == 0)
		optreg_error_set_hint(e, "sign the config: `optreg submit FILE "
					 "--key KEY`");
	return OPTREG_EDENIED;
}

/* ---- Receipts --------------------------------------------------------- */

#define FAIL(errs, rule, path, ...)                                            \
	optreg_errors_add(errs, OPTREG_EINVAL, rule, path, __VA_ARGS__)

void optreg_receipt_init(struct optreg_receipt *r)
{
	memset(r, 0, sizeof(*r));
}

void optreg_receipt_release(struct optreg_receipt *r)
{
	json_decref(r->payload);
	optreg_receipt_init(r);
}

/* Decodes a base64 hash member; 0 or -1. */
static int hash_of(const json_t *v, optreg_hash out)
{
	struct optreg_buf b = OPTREG_BUF_INIT;
	const char *s = json_string_value(v);
	int rc = -1;

	if (s && optreg_base64_decode(s, strlen(s), &b) == 0 &&
	    b.len == OPTREG_HASH_LEN) {
		memcpy(out, b.data, OPTREG_HASH_LEN);
		rc = 0;
	}
	optreg_buf_release(&b);
	return rc;
}

/* Checks the payload's inclusion proof (audit_leaf present); 0 or -1. */
static int check_inclusion(const json_t *p, struct optreg_errors *errs)
{
	const json_t *hashes = json_object_get(p, "audit_inclusion");
	optreg_hash leaf, root, proof[OPTREG_MERKLE_MAX_PROOF];
	long index, size;
	size_t n = json_array_size(hashes);

	if (hash_of(json_object_get(p, "audit_leaf"), leaf) < 0) {
		FAIL(errs, "receipt", "receipt.audit_leaf",
		     "expected the base64 SHA-256 leaf hash of the audit "
		     "event, got %s",
		     str(p, "audit_leaf") ? str(p, "audit_leaf")
					  : "something else");
		return -1;
	}
	if (count_of(p, "audit_index", &index) < 0 ||
	    count_of(p, "audit_tree_size", &size) < 0 ||
	    hash_of(json_object_get(p, "audit_root"), root) < 0 ||
	    !json_is_array(hashes) || n > OPTREG_MERKLE_MAX_PROOF) {
		FAIL(errs, "receipt", "receipt.audit_inclusion",
		     "expected audit_index, audit_tree_size, audit_root and "
		     "audit_inclusion (at most %d base64 hashes), got a "
		     "receipt without them",
		     OPTREG_MERKLE_MAX_PROOF);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (hash_of(json_array_get(hashes, i), proof[i]) < 0) {
			FAIL(errs, "receipt", "receipt.audit_inclusion",
			     "expected base64 SHA-256 hashes, got %s at "
			     "index %zu",
			     json_is_string(json_array_get(hashes, i))
				     ? "a malformed one"
				     : "something else",
			     i);
			return -1;
		}
	if (!optreg_merkle_verify_inclusion((uint64_t)index, (uint64_t)size,
					    leaf, (const optreg_hash *)proof, n,
					    root)) {
		FAIL(errs, "receipt", "receipt.audit_inclusion",
		     "expected a proof that audit_leaf %s is leaf %ld of the "
		     "%ld audit events whose root is %s, got one that does "
		     "not verify",
		     str(p, "audit_leaf"), index, size, str(p, "audit_root"));
		return -1;
	}
	return 0;
}

/* Appends why no signature of the receipt verified. */
static void refuse_receipt_sigs(const struct optreg_dsse *env,
				const struct optreg_keyset *ks, bool pinned,
				struct optreg_errors *errs)
{
	struct optreg_buf want = OPTREG_BUF_INIT, got = OPTREG_BUF_INIT;

	for (size_t i = 0; i < ks->n; i++)
		optreg_buf_addf(&want, "%s%s", i ? ", " : "", ks->items[i].id);
	for (size_t i = 0; i < env->nsigs; i++) {
		const char *id = env->sigs[i].keyid;
		optreg_buf_addf(&got, "%s%s (%s)", i ? ", " : "",
				id[0] ? id : "no key id",
				optreg_keyset_find(ks, id)
					? "does not verify"
					: "not a trusted registry key");
	}
	FAIL(errs, "receipt", "receipt.signatures",
	     "expected a valid signature by %s registry key %s, got %s",
	     pinned ? "the pinned" : "a listed",
	     want.len ? want.data : "(none listed)",
	     got.len ? got.data : "no signatures");
	optreg_buf_release(&want);
	optreg_buf_release(&got);
}

int optreg_receipt_verify(const json_t *receipt,
			  const struct optreg_keyset *registry_keys,
			  bool pinned, struct optreg_receipt *out,
			  struct optreg_errors *errs)
{
	struct optreg_errors perrs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;
	size_t before = errs->len;
	json_t *p;

	optreg_dsse_init(&env);
	if (!json_is_object(receipt)) {
		FAIL(errs, "receipt", "receipt",
		     "expected a receipt signed by the registry, got %s",
		     json_is_null(receipt) ? "null" : "no receipt");
		goto out;
	}
	if (envelope_of(receipt, &env, &perrs) < 0) {
		FAIL(errs, "receipt", "receipt",
		     "expected a DSSE envelope, got one that does not parse "
		     "(%s%s%s)",
		     perrs.items[0].path, perrs.items[0].path[0] ? ": " : "",
		     perrs.items[0].message);
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_RECEIPT_PAYLOAD_TYPE)) {
		FAIL(errs, "receipt", "receipt.payloadType",
		     "expected \"%s\", got \"%s\"", OPTREG_RECEIPT_PAYLOAD_TYPE,
		     env.payload_type);
		goto out;
	}
	for (size_t i = 0; i < env.nsigs && !out->keyid[0]; i++) {
		const struct optreg_keyset_key *k =
			optreg_keyset_find(registry_keys, env.sigs[i].keyid);
		if (k && k->key &&
		    optreg_dsse_verify_one(&env, i, k->key) == OPTREG_SIG_VALID)
			memcpy(out->keyid, k->id, sizeof(k->id));
	}
	if (!out->keyid[0]) {
		refuse_receipt_sigs(&env, registry_keys, pinned, errs);
		goto out;
	}
	/* Only a verified payload is parsed (DSSE's advice). */
	p = json_loadb(env.payload.data, env.payload.len,
		       JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(p)) {
		json_decref(p);
		FAIL(errs, "receipt", "receipt.payload",
		     "expected a JSON object, got %zu bytes of something else",
		     env.payload.len);
		goto out;
	}
	out->payload = p;
	if (!json_object_get(p, "audit_leaf"))
		out->inclusion = OPTREG_INCLUSION_NOT_CARRIED;
	else
		check_inclusion(p, errs);
out:
	optreg_dsse_release(&env);
	optreg_errors_release(&perrs);
	return errs->len > before ? OPTREG_EINVAL : 0;
}

/* ---- Version documents ------------------------------------------------ */

void optreg_version_check_init(struct optreg_version_check *vc)
{
	optreg_buf_init(&vc->signers);
	optreg_receipt_init(&vc->receipt);
}

void optreg_version_check_release(struct optreg_version_check *vc)
{
	optreg_buf_release(&vc->signers);
	optreg_receipt_release(&vc->receipt);
}

/* What a version document says, with the digest of its config. */
struct version {
	const json_t *doc;
	const struct optreg_buf *canon;
	char digest[OPTREG_DIGEST_LEN + 1]; /* of `canon` */
	const char *ns, *name, *accepted_at;
	long version;
};

/* The receipt payload's member `key` must be `want`. */
static void receipt_field(const json_t *p, const char *key, const char *want,
			  struct optreg_errors *errs)
{
	const char *got = str(p, key);
	char path[64];

	snprintf(path, sizeof(path), "receipt.%s", key);
	if (!got || strcmp(got, want))
		FAIL(errs, "receipt", path, "expected %s, got %s", want,
		     got ? got : "nothing");
}

/* The receipt's payload must name this version. */
static void check_receipt_names(const struct version *v, const json_t *p,
				struct optreg_errors *errs)
{
	const json_t *envj = json_object_get(v->doc, "envelope");
	struct optreg_buf envcanon = OPTREG_BUF_INIT;
	char envdigest[OPTREG_DIGEST_LEN + 1];
	long version;

	receipt_field(p, "namespace", v->ns, errs);
	receipt_field(p, "name", v->name, errs);
	if (count_of(p, "version", &version) < 0)
		FAIL(errs, "receipt", "receipt.version", "expected %ld, got %s",
		     v->version, "no version");
	else if (version != v->version)
		FAIL(errs, "receipt", "receipt.version",
		     "expected %ld, got %ld", v->version, version);
	receipt_field(p, "digest", v->digest, errs);
	if (json_is_object(envj) &&
	    optreg_jcs_serialize(envj, &envcanon, NULL) == 0) {
		optreg_jcs_digest(envcanon.data, envcanon.len, envdigest);
		receipt_field(p, "envelope_sha256", envdigest + 7, errs);
	}
	optreg_buf_release(&envcanon);
}

static void check_digest(const struct version *v, const char *want,
			 struct optreg_errors *errs)
{
	const char *claimed = str(v->doc, "digest");

	if (strcmp(v->digest, claimed))
		FAIL(errs, "digest", "digest",
		     "expected %s (the version's digest), got %s (the SHA-256 "
		     "of its canonical config)",
		     claimed, v->digest);
	if (want && strcmp(want, claimed))
		FAIL(errs, "digest", "digest",
		     "expected %s (the digest asked for), got %s (the "
		     "version's digest)",
		     want, claimed);
}

static void check_envelope(const struct version *v,
			   const struct optreg_keyset *ks,
			   struct optreg_buf *signers,
			   struct optreg_errors *errs)
{
	const json_t *envj = json_object_get(v->doc, "envelope");
	struct optreg_errors perrs = OPTREG_ERRORS_INIT,
			     why = OPTREG_ERRORS_INIT;
	struct optreg_sig_policy pol = {.ns = v->ns,
					.at = v->accepted_at,
					.prefix = "envelope",
					.voice = OPTREG_VOICE_VERSION,
					.purpose = OPTREG_KEY_PURPOSE_CONFIG};
	const struct optreg_keyset_key **valid = NULL;
	char got[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;
	size_t nvalid = 0;

	optreg_dsse_init(&env);
	if (!json_is_object(envj) || envelope_of(envj, &env, &perrs) < 0) {
		FAIL(errs, "envelope", "envelope",
		     "expected the signed DSSE envelope, got %s",
		     json_is_object(envj) ? "one that does not parse" : "none");
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_CONFIG_PAYLOAD_TYPE))
		FAIL(errs, "envelope", "envelope.payloadType",
		     "expected \"%s\", got \"%s\"", OPTREG_CONFIG_PAYLOAD_TYPE,
		     env.payload_type);
	if (env.payload.len != v->canon->len ||
	    memcmp(env.payload.data, v->canon->data, v->canon->len)) {
		optreg_jcs_digest(env.payload.data, env.payload.len, got);
		FAIL(errs, "envelope", "envelope.payload",
		     "expected the canonical config (%zu bytes, %s), got %zu "
		     "bytes (%s): the signed payload is not the config served",
		     v->canon->len, v->digest, env.payload.len, got);
	}
	valid = optreg_xcalloc(env.nsigs + 1, sizeof(*valid));
	optreg_envelope_verify(ks, &env, &pol, valid, &nvalid, &why);
	for (size_t i = 0; i < nvalid; i++)
		optreg_buf_addf(signers, "%s%s (%s)", signers->len ? ", " : "",
				valid[i]->id,
				valid[i]->principal ? valid[i]->principal
						    : "?");
	if (!nvalid) {
		for (size_t i = 0; i < why.len; i++)
			FAIL(errs, "signature", why.items[i].path, "%s",
			     why.items[i].message);
		FAIL(errs, "signature", "envelope.signatures",
		     "expected a valid signature by a signer key registered "
		     "for %s, got none of %zu",
		     v->ns, env.nsigs);
	}
out:
	free(valid);
	optreg_dsse_release(&env);
	optreg_errors_release(&why);
	optreg_errors_release(&perrs);
}

int optreg_version_verify(const json_t *doc, const struct optreg_buf *canon,
			  const char *want_digest,
			  const struct optreg_keyset *signer_keys,
			  const struct optreg_keyset *registry_keys,
			  bool pinned, struct optreg_version_check *out,
			  struct optreg_errors *errs)
{
	struct optreg_errors receipt_fails = OPTREG_ERRORS_INIT;
	struct version v = {.doc = doc, .canon = canon};
	const json_t *p;
	size_t before = errs->len;

	v.ns = str(doc, "namespace");
	v.name = str(doc, "name");
	v.accepted_at = str(doc, "created_at");
	if (!v.ns || !v.name || !v.accepted_at || !str(doc, "digest") ||
	    count_of(doc, "version", &v.version) < 0) {
		FAIL(errs, "bad_response", "",
		     "the registry's version document lacks namespace, name, "
		     "version, digest or created_at");
		return OPTREG_EINVAL;
	}
	optreg_jcs_digest(canon->data, canon->len, v.digest);

	/* The receipt is checked before the envelope, whose signatures are
	 * judged at the receipt's signed time, but reported after it. */
	optreg_receipt_verify(json_object_get(doc, "receipt"), registry_keys,
			      pinned, &out->receipt, &receipt_fails);
	p = out->receipt.payload;
	if (p) {
		check_receipt_names(&v, p, &receipt_fails);
		if (str(p, "time") && strlen(str(p, "time")) < 64)
			v.accepted_at = str(p, "time");
	}
	check_digest(&v, want_digest, errs);
	check_envelope(&v, signer_keys, &out->signers, errs);
	for (size_t i = 0; i < receipt_fails.len; i++)
		FAIL(errs, receipt_fails.items[i].rule,
		     receipt_fails.items[i].path, "%s",
		     receipt_fails.items[i].message);
	optreg_errors_release(&receipt_fails);
	return errs->len > before ? OPTREG_EINVAL : 0;
}

/* ---- Verdicts --------------------------------------------------------- */

static bool is_sha256_digest(const char *s)
{
	return s && strlen(s) == OPTREG_DIGEST_LEN && !strncmp(s, "sha256:", 7);
}

static bool is_result(const char *r)
{
	static const char *const results[] = {"pass", "warn", "fail", "error"};

	for (size_t i = 0; r && i < 4; i++)
		if (!strcmp(r, results[i]))
			return true;
	return false;
}

/* The registry's words: rule and path name the field. */
static void verdict_registry(const json_t *p,
			     const struct optreg_verdict_expect *w,
			     struct optreg_errors *errs)
{
	const char *d = str(p, "config_digest"), *s = str(p, "suite");
	long long got;

	if (optreg_json_whole(p, "job_id", &got) < 0 || got != w->job_id)
		FAIL(errs, "mismatch", "job_id",
		     "must be %lld, the job posted to", w->job_id);
	if (w->config_digest && (!d || strcmp(d, w->config_digest)))
		FAIL(errs, "mismatch", "config_digest", "must be %s",
		     w->config_digest);
	if (w->suite && (!s || strcmp(s, w->suite)))
		FAIL(errs, "mismatch", "suite", "must be \"%s\"", w->suite);
	if (w->suite_digest &&
	    (!str(p, "suite_digest") ||
	     strcmp(str(p, "suite_digest"), w->suite_digest)))
		FAIL(errs, "mismatch", "suite_digest", "must be %s",
		     w->suite_digest);
	else if (!is_sha256_digest(str(p, "suite_digest")))
		FAIL(errs, "type", "suite_digest", "must be a sha256: digest");
	if (w->result &&
	    (!str(p, "result") || strcmp(str(p, "result"), w->result)))
		FAIL(errs, "mismatch", "result", "must be \"%s\"", w->result);
	else if (!is_result(str(p, "result")))
		FAIL(errs, "enum", "result",
		     "must be one of pass, warn, fail, error");
}

/* A client's words: "payload.FIELD: expected X (as listed), got Y". */
static void verdict_field(const json_t *p, const char *key, const char *want,
			  const char *prefix, struct optreg_errors *errs)
{
	const char *got = str(p, key);

	if (want && (!got || strcmp(got, want)))
		FAIL(errs, "verdict", prefix,
		     "payload.%s: expected %s (as listed), got %s", key, want,
		     got ? got : "nothing");
}

static void verdict_client(const json_t *p,
			   const struct optreg_verdict_expect *w,
			   const char *prefix, struct optreg_errors *errs)
{
	const char *d = str(p, "config_digest");
	long job;

	if (w->config_digest && (!d || strcmp(d, w->config_digest)))
		FAIL(errs, "verdict", prefix,
		     "payload.config_digest: expected %s (the version's "
		     "digest), got %s",
		     w->config_digest, d ? d : "nothing");
	if (count_of(p, "job_id", &job) < 0 || job != w->job_id)
		FAIL(errs, "verdict", prefix,
		     "payload.job_id: expected %lld, got %s", w->job_id,
		     json_is_number(json_object_get(p, "job_id"))
			     ? "another job"
			     : "nothing");
	verdict_field(p, "suite", w->suite, prefix, errs);
	verdict_field(p, "suite_digest", w->suite_digest, prefix, errs);
	verdict_field(p, "result", w->result, prefix, errs);
	if (!w->suite_digest && !is_sha256_digest(str(p, "suite_digest")))
		FAIL(errs, "verdict", prefix,
		     "payload.suite_digest: expected a sha256: digest, got %s",
		     str(p, "suite_digest") ? str(p, "suite_digest")
					    : "nothing");
	if (!w->result && !is_result(str(p, "result")))
		FAIL(errs, "verdict", prefix,
		     "payload.result: expected one of pass, warn, fail, error, "
		     "got %s",
		     str(p, "result") ? str(p, "result") : "nothing");
}

int optreg_verdict_check(const json_t *payload,
			 const struct optreg_verdict_expect *want,
			 enum optreg_verify_voice voice, const char *prefix,
			 struct optreg_errors *errs)
{
	size_t before = errs->len;

	if (voice == OPTREG_VOICE_REGISTRY)
		verdict_registry(payload, want, errs);
	else
		verdict_client(payload, want, prefix ? prefix : "", errs);
	return errs->len > before ? OPTREG_EINVAL : 0;
}

/* ---- Checkpoints ------------------------------------------------------ */

void optreg_checkpoint_release(struct optreg_checkpoint *cp)
{
	free(cp->origin);
	memset(cp, 0, sizeof(*cp));
}

int optreg_checkpoint_verify(const char *note, const struct optreg_keyset *ks,
			     struct optreg_checkpoint *cp,
			     struct optreg_errors *errs)
{
	struct optreg_errors why = OPTREG_ERRORS_INIT;
	struct optreg_buf text = OPTREG_BUF_INIT;
	const char *nl = strchr(note, '\n');
	char *name = nl ? optreg_xstrndup(note, (size_t)(nl - note)) : NULL;
	const struct optreg_keyset_key *found = NULL;
	int rc = OPTREG_EINVAL;

	memset(cp, 0, sizeof(*cp));
	if (!name || !optreg_note_name_is_valid(name)) {
		FAIL(errs, "checkpoint", "",
		     "it is not a checkpoint: its first line is not an origin "
		     "that can name a key");
		goto out;
	}
	for (size_t i = 0; i < ks->n && !found; i++) {
		optreg_errors_release(&why);
		optreg_buf_reset(&text);
		if (!ks->items[i].key)
			continue;
		if (optreg_note_open(note, strlen(note), name, ks->items[i].key,
				     &text, &why) == 0)
			found = &ks->items[i];
		else if (!strcmp(why.items[0].rule, "note_format"))
			break;
	}
	if (!found) {
		if (why.len) {
			struct optreg_error *e = optreg_errors_add(
				errs, why.items[0].code, why.items[0].rule, "",
				"%s", why.items[0].message);
			e->line = why.items[0].line;
			rc = why.items[0].code;
		} else {
			FAIL(errs, "unknown_key", "",
			     "no trusted key to check the checkpoint with");
		}
		goto out;
	}
	optreg_errors_release(&why);
	if (optreg_note_checkpoint_parse(text.data, &cp->origin, &cp->size,
					 cp->root, &why) < 0) {
		struct optreg_error *e =
			FAIL(errs, "checkpoint", "",
			     "its text is not a checkpoint (line %d: %s)",
			     why.items[0].line, why.items[0].message);
		e->line = why.items[0].line;
		goto out;
	}
	memcpy(cp->keyid, found->id, sizeof(cp->keyid));
	rc = 0;
out:
	if (rc)
		optreg_checkpoint_release(cp);
	free(name);
	optreg_buf_release(&text);
	optreg_errors_release(&why);
	return rc;
}
