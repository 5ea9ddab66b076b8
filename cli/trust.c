/*
 * cli/trust.c: `optreg fetch --verify`: checks a version document end to
 * end, so that a registry (or a database) that changed a version after
 * accepting it is caught.
 *
 * Three checks, every one run and every failure reported:
 *
 *   digest    the SHA-256 of the canonical config is the version's digest
 *             (and the digest asked for, for a sha256: reference);
 *   envelope  the stored envelope's payload is exactly those canonical
 *             bytes, and at least one of its signatures verifies under a
 *             signer key the registry lists (GET /v1/keys), matched by key
 *             id, checked by its public key, allowed for the namespace and
 *             not revoked before the version was accepted;
 *   receipt   the receipt is a DSSE envelope signed by a registry key (the
 *             pinned ones, else those GET /v1/registry/keys lists: trust on
 *             first use), whose payload names this namespace, name,
 *             version, digest and envelope (the hex SHA-256 of its RFC 8785
 *             form).
 *
 * "Accepted" is the receipt's signed `time` when the receipt verifies, else
 * the version's created_at. Both are UTC in one fixed format
 * (2026-11-23T10:00:00.000Z), so they compare as strings.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define RECEIPT_PAYLOAD_TYPE "application/vnd.optreg.receipt.v1+json"

/* A public key with its id and what the registry says about it. */
struct trusted_key {
	struct optreg_key *key;
	char id[OPTREG_KEYID_LEN + 1];
	const json_t *entry; /* the registry's entry (borrowed), or NULL */
};

struct keyset {
	struct trusted_key *items;
	size_t n;
};

static void keyset_release(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		optreg_key_free(ks->items[i].key);
	free(ks->items);
	memset(ks, 0, sizeof(*ks));
}

static void keyset_add(struct keyset *ks, struct optreg_key *key,
		       const json_t *entry)
{
	ks->items =
		optreg_xrealloc(ks->items, (ks->n + 1) * sizeof(*ks->items));
	ks->items[ks->n].key = key;
	ks->items[ks->n].entry = entry;
	optreg_key_id(key, ks->items[ks->n].id);
	ks->n++;
}

static const struct trusted_key *keyset_find(const struct keyset *ks,
					     const char *id)
{
	for (size_t i = 0; i < ks->n; i++)
		if (!strcmp(ks->items[i].id, id))
			return &ks->items[i];
	return NULL;
}

/*
 * Fills `ks` from a registry key list ({"keys": [{"keyid", "public_key",
 * ...}]}), entries borrowed from `list`. An entry whose public key does not
 * load, or whose key id is not its key's own id, is left out: a signature
 * naming that id then finds no key.
 */
static void keyset_from_list(struct keyset *ks, const json_t *list)
{
	const json_t *keys = json_object_get(list, "keys"), *k;
	size_t i;

	json_array_foreach(keys, i, k)
	{
		const char *id = json_string_value(json_object_get(k, "keyid"));
		const char *pem =
			json_string_value(json_object_get(k, "public_key"));
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_key *key = NULL;
		char got[OPTREG_KEYID_LEN + 1];

		if (id && pem &&
		    optreg_key_load_pem(&key, pem, strlen(pem), &errs) == 0) {
			optreg_key_id(key, got);
			if (!strcmp(got, id))
				keyset_add(ks, key, k);
			else
				optreg_key_free(key);
		}
		optreg_errors_release(&errs);
	}
}

/* Parses a DSSE envelope held as a JSON value in a version document. */
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

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---- The checks ------------------------------------------------------- */

struct verification {
	struct cli_remote *r;
	const json_t *doc;
	const struct optreg_buf *canon;
	char digest[OPTREG_DIGEST_LEN + 1]; /* of `canon` */
	const char *ns, *name;
	long version;
	const char *accepted_at; /* receipt_time, else created_at */
	char receipt_time[64];	 /* the verified receipt's time */
	char receipt_keyid[OPTREG_KEYID_LEN + 1];
	struct optreg_buf signers; /* "KEYID (PRINCIPAL), ..." */
	struct optreg_errors fails;
};

#define FAIL(v, check, path, ...)                                              \
	optreg_errors_add(&(v)->fails, OPTREG_EINVAL, check, path, __VA_ARGS__)

static void check_digest(struct verification *v, const char *want)
{
	const char *claimed = str(v->doc, "digest");

	if (strcmp(v->digest, claimed))
		FAIL(v, "digest", "digest",
		     "expected %s (the version's digest), got %s (the SHA-256 "
		     "of its canonical config)",
		     claimed, v->digest);
	if (want && strcmp(want, claimed))
		FAIL(v, "digest", "digest",
		     "expected %s (the digest asked for), got %s (the "
		     "version's digest)",
		     want, claimed);
}

/* Loads the pinned registry keys, else the listed ones; exit status. */
static int registry_keys(struct verification *v, const char *const *pins,
			 size_t npins, struct keyset *ks, json_t **list)
{
	*list = NULL;
	for (size_t i = 0; i < npins; i++) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_key *key = NULL;
		int rc = optreg_key_load_file(&key, pins[i], &errs);

		if (rc < 0) {
			fprintf(stderr, "optreg %s: --registry-key: %s\n",
				v->r->cmd, errs.items[0].message);
			if (errs.items[0].hint)
				fprintf(stderr, "  hint: %s\n",
					errs.items[0].hint);
			optreg_errors_release(&errs);
			return rc == OPTREG_EIO ? OPTREG_EXIT_IO
						: OPTREG_EXIT_USAGE;
		}
		keyset_add(ks, key, NULL);
	}
	if (npins)
		return OPTREG_EXIT_OK;
	fprintf(stderr,
		"optreg %s: warning: the registry key was not pinned: trusting "
		"the keys the registry lists (trust on first use)\n"
		"  hint: pin it with --registry-key PUB or "
		"OPTREG_REGISTRY_PUBKEY, from the operator\n",
		v->r->cmd);
	int rc = cli_remote_call(v->r, "GET", "/v1/registry/keys", NULL, list);
	if (rc == 0)
		keyset_from_list(ks, *list);
	return rc;
}

/* The receipt payload's member `key` must be `want`. */
static void receipt_field(struct verification *v, const json_t *p,
			  const char *key, const char *want)
{
	const char *got = str(p, key);
	char path[64];

	snprintf(path, sizeof(path), "receipt.%s", key);
	if (!got || strcmp(got, want))
		FAIL(v, "receipt", path, "expected %s, got %s", want,
		     got ? got : "nothing");
}

static void check_receipt(struct verification *v, const struct keyset *ks,
			  bool pinned)
{
	const json_t *rj = json_object_get(v->doc, "receipt");
	const json_t *envj = json_object_get(v->doc, "envelope");
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf envcanon = OPTREG_BUF_INIT;
	char envdigest[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;
	json_t *p = NULL;
	long version;

	optreg_dsse_init(&env);
	if (!json_is_object(rj)) {
		FAIL(v, "receipt", "receipt",
		     "expected a receipt signed by the registry, got %s",
		     json_is_null(rj) ? "null" : "no receipt");
		goto out;
	}
	if (envelope_of(rj, &env, &errs) < 0) {
		FAIL(v, "receipt", "receipt",
		     "expected a DSSE envelope, got one that does not parse "
		     "(%s%s%s)",
		     errs.items[0].path, errs.items[0].path[0] ? ": " : "",
		     errs.items[0].message);
		goto out;
	}
	if (strcmp(env.payload_type, RECEIPT_PAYLOAD_TYPE)) {
		FAIL(v, "receipt", "receipt.payloadType",
		     "expected \"%s\", got \"%s\"", RECEIPT_PAYLOAD_TYPE,
		     env.payload_type);
		goto out;
	}
	for (size_t i = 0; i < env.nsigs && !v->receipt_keyid[0]; i++) {
		const struct trusted_key *k =
			keyset_find(ks, env.sigs[i].keyid);
		if (k &&
		    optreg_dsse_verify_one(&env, i, k->key) == OPTREG_SIG_VALID)
			memcpy(v->receipt_keyid, k->id, sizeof(k->id));
	}
	if (!v->receipt_keyid[0]) {
		struct optreg_buf want = OPTREG_BUF_INIT, got = OPTREG_BUF_INIT;
		for (size_t i = 0; i < ks->n; i++)
			optreg_buf_addf(&want, "%s%s", i ? ", " : "",
					ks->items[i].id);
		for (size_t i = 0; i < env.nsigs; i++) {
			const char *id = env.sigs[i].keyid;
			optreg_buf_addf(&got, "%s%s (%s)", i ? ", " : "",
					id[0] ? id : "no key id",
					keyset_find(ks, id)
						? "does not verify"
						: "not a trusted registry key");
		}
		FAIL(v, "receipt", "receipt.signatures",
		     "expected a valid signature by %s registry key %s, got %s",
		     pinned ? "the pinned" : "a listed",
		     want.len ? want.data : "(none listed)",
		     got.len ? got.data : "no signatures");
		optreg_buf_release(&want);
		optreg_buf_release(&got);
		goto out;
	}
	/* Only a verified payload is parsed (DSSE's advice). */
	p = json_loadb(env.payload.data, env.payload.len,
		       JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(p)) {
		FAIL(v, "receipt", "receipt.payload",
		     "expected a JSON object, got %zu bytes of something else",
		     env.payload.len);
		goto out;
	}
	receipt_field(v, p, "namespace", v->ns);
	receipt_field(v, p, "name", v->name);
	if (cli_json_count(p, "version", &version) < 0)
		FAIL(v, "receipt", "receipt.version", "expected %ld, got %s",
		     v->version, "no version");
	else if (version != v->version)
		FAIL(v, "receipt", "receipt.version", "expected %ld, got %ld",
		     v->version, version);
	receipt_field(v, p, "digest", v->digest);
	if (json_is_object(envj) &&
	    optreg_jcs_serialize(envj, &envcanon, NULL) == 0) {
		optreg_digest(envcanon.data, envcanon.len, envdigest);
		receipt_field(v, p, "envelope_sha256", envdigest + 7);
	}
	if (str(p, "time") &&
	    strlen(str(p, "time")) < sizeof(v->receipt_time)) {
		strcpy(v->receipt_time, str(p, "time"));
		v->accepted_at = v->receipt_time;
	}
out:
	json_decref(p);
	optreg_buf_release(&envcanon);
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
}

/* True when one of the key entry's namespace patterns matches `ns`. */
static bool key_allows(const json_t *entry, const char *ns)
{
	const json_t *pats = json_object_get(entry, "namespaces"), *pat;
	size_t i;

	json_array_foreach(pats, i, pat)
	{
		const char *s = json_string_value(pat);
		if (s && fnmatch(s, ns, 0) == 0)
			return true;
	}
	return false;
}

static void check_envelope(struct verification *v, const struct keyset *ks)
{
	const json_t *envj = json_object_get(v->doc, "envelope");
	struct optreg_errors errs = OPTREG_ERRORS_INIT,
			     why = OPTREG_ERRORS_INIT;
	char got[OPTREG_DIGEST_LEN + 1];
	struct optreg_dsse env;
	size_t nvalid = 0;
	const char **valid = NULL;

	optreg_dsse_init(&env);
	if (!json_is_object(envj) || envelope_of(envj, &env, &errs) < 0) {
		FAIL(v, "envelope", "envelope",
		     "expected the signed DSSE envelope, got %s",
		     json_is_object(envj) ? "one that does not parse" : "none");
		goto out;
	}
	if (strcmp(env.payload_type, OPTREG_CONFIG_PAYLOAD_TYPE))
		FAIL(v, "envelope", "envelope.payloadType",
		     "expected \"%s\", got \"%s\"", OPTREG_CONFIG_PAYLOAD_TYPE,
		     env.payload_type);
	if (env.payload.len != v->canon->len ||
	    memcmp(env.payload.data, v->canon->data, v->canon->len)) {
		optreg_digest(env.payload.data, env.payload.len, got);
		FAIL(v, "envelope", "envelope.payload",
		     "expected the canonical config (%zu bytes, %s), got %zu "
		     "bytes (%s): the signed payload is not the config served",
		     v->canon->len, v->digest, env.payload.len, got);
	}
	for (size_t i = 0; i < env.nsigs; i++) {
		const char *id = env.sigs[i].keyid;
		const struct trusted_key *k = keyset_find(ks, id);
		const char *revoked = k ? str(k->entry, "revoked_at") : NULL;
		char path[48];

		snprintf(path, sizeof(path), "envelope.signatures[%zu]", i);
		if (!k) {
			optreg_errors_add(&why, OPTREG_EINVAL, "unknown_key",
					  path,
					  "key %s is not a registered signer "
					  "key",
					  id[0] ? id : "(no key id)");
		} else if (revoked && strcmp(revoked, v->accepted_at) < 0) {
			optreg_errors_add(&why, OPTREG_EINVAL, "revoked_key",
					  path,
					  "key %s was revoked at %s, before "
					  "the version was accepted at %s",
					  id, revoked, v->accepted_at);
		} else if (!key_allows(k->entry, v->ns)) {
			optreg_errors_add(&why, OPTREG_EINVAL,
					  "key_not_allowed", path,
					  "key %s may not sign for namespace "
					  "%s",
					  id, v->ns);
		} else if (optreg_dsse_verify_one(&env, i, k->key) !=
			   OPTREG_SIG_VALID) {
			optreg_errors_add(&why, OPTREG_EINVAL, "bad_signature",
					  path,
					  "the signature by key %s does not "
					  "verify",
					  id);
		} else {
			/* Two signatures by one key name it once. */
			const char *who = str(k->entry, "principal");
			size_t j;
			for (j = 0; j < nvalid && strcmp(valid[j], id); j++)
				;
			if (j < nvalid)
				continue;
			valid = optreg_xrealloc(valid,
						(nvalid + 1) * sizeof(*valid));
			valid[nvalid++] = id;
			optreg_buf_addf(&v->signers, "%s%s (%s)",
					v->signers.len ? ", " : "", id,
					who ? who : "?");
		}
	}
	if (!nvalid) {
		for (size_t i = 0; i < why.len; i++)
			FAIL(v, "signature", why.items[i].path, "%s",
			     why.items[i].message);
		FAIL(v, "signature", "envelope.signatures",
		     "expected a valid signature by a signer key registered "
		     "for %s, got none of %zu",
		     v->ns, env.nsigs);
	}
out:
	free(valid);
	optreg_dsse_release(&env);
	optreg_errors_release(&why);
	optreg_errors_release(&errs);
}

int cli_trust_verify_version(struct cli_remote *r, const json_t *doc,
			     const struct optreg_buf *canon,
			     const char *want_digest, const char *const *pins,
			     size_t npins)
{
	struct verification v = {.r = r, .doc = doc, .canon = canon};
	struct keyset rks = {0}, sks = {0};
	json_t *rlist = NULL, *slist = NULL;
	int rc;

	optreg_buf_init(&v.signers);
	optreg_errors_init(&v.fails);
	v.ns = str(doc, "namespace");
	v.name = str(doc, "name");
	v.accepted_at = str(doc, "created_at");
	if (!v.ns || !v.name || !v.accepted_at || !str(doc, "digest") ||
	    cli_json_count(doc, "version", &v.version) < 0)
		return cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				  "the registry's version document lacks "
				  "namespace, name, version, digest or "
				  "created_at");
	optreg_digest(canon->data, canon->len, v.digest);

	rc = registry_keys(&v, pins, npins, &rks, &rlist);
	if (rc == 0)
		rc = cli_remote_call(r, "GET", "/v1/keys", NULL, &slist);
	if (rc)
		goto out;
	keyset_from_list(&sks, slist);

	/* The receipt is checked before the envelope, whose signatures are
	 * judged at the receipt's signed time, but reported after it. */
	check_receipt(&v, &rks, npins > 0);
	struct optreg_errors receipt_fails = v.fails;
	optreg_errors_init(&v.fails);
	check_digest(&v, want_digest);
	check_envelope(&v, &sks);
	for (size_t i = 0; i < receipt_fails.len; i++)
		FAIL(&v, receipt_fails.items[i].rule,
		     receipt_fails.items[i].path, "%s",
		     receipt_fails.items[i].message);
	optreg_errors_release(&receipt_fails);

	if (v.fails.len) {
		struct optreg_buf out = OPTREG_BUF_INIT;
		optreg_buf_addf(&out,
				"optreg %s: %s/%s@%ld failed verification\n",
				r->cmd, v.ns, v.name, v.version);
		for (size_t i = 0; i < v.fails.len; i++)
			optreg_buf_addf(&out, "  %s: %s\n",
					v.fails.items[i].path,
					v.fails.items[i].message);
		fputs(out.data, stderr);
		if (r->json) {
			char *detail = optreg_xasprintf(
				"%s/%s@%ld failed verification", v.ns, v.name,
				v.version);
			cli_print_problem("verification_failed", detail,
					  &v.fails);
			free(detail);
		}
		optreg_buf_release(&out);
		rc = OPTREG_EXIT_INVALID;
		goto out;
	}
	fprintf(stderr, "verified: signed by %s; receipt by registry key %s\n",
		v.signers.data, v.receipt_keyid);
out:
	json_decref(rlist);
	json_decref(slist);
	keyset_release(&rks);
	keyset_release(&sks);
	optreg_buf_release(&v.signers);
	optreg_errors_release(&v.fails);
	return rc;
}
