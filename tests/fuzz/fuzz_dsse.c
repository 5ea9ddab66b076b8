/*
 * tests/fuzz/fuzz_dsse.c: fuzzes optreg_dsse_parse and, on what it
 * accepts, optreg_dsse_to_json, optreg_envelope_verify and
 * optreg_envelope_check_config: the path of a signed submit's body.
 *
 * Beyond memory safety it checks the contract: a refusal carries an error
 * and leaves the envelope empty; an accepted envelope has at most
 * OPTREG_DSSE_MAX_SIGS signatures, and its JSON form parses back to the
 * same type, payload and signatures, and is itself a fixed point. Checked
 * against the keys of tests/cases/verify (alice and bob, for team-a),
 * verification returns 0 or OPTREG_EDENIED as the threshold says, never
 * counts more keys than signatures, and every key it counts has a
 * signature that optreg_dsse_verify_one accepts; every signature that
 * does not count has its own error. A payload accepted as a config is
 * already canonical: its canonical bytes are the payload's.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/dsse.h"
#include "../../common/error.h"
#include "../../common/keyset.h"
#include "../../common/sign.h"
#include "../../common/verify.h"
#include "../../validator/config.h"
#include "fuzz.h"

/* Two keys of tests/cases/verify/envelope-good/keys.json. */
static const char keys_json[] =
	"{\"keys\":[{\"keyid\":\"a94a3a67dae0cfc94e5f5f36e0edf6f46f396343bba1"
	"91d63f75a8c3dba762f7\",\"namespaces\":[\"team-*\"],\"principal\":"
	"\"alice@team-a\",\"public_key\":\"-----BEGIN PUBLIC KEY-----\\nMCowB"
	"QYDK2VwAyEAYihLFUhZwbctBrTUH4a38s/lTygJBt9jH4EIYmmTcC4=\\n-----END "
	"PUBLIC KEY-----\\n\"},{\"keyid\":\"1e0b179f8add2a88da57369e6df9c9abfa"
	"60632d39c80d9fd428c1808fd799fa\",\"namespaces\":[\"team-a\"],"
	"\"principal\":\"bob@team-a\",\"public_key\":\"-----BEGIN PUBLIC KEY--"
	"---\\nMCowBQYDK2VwAyEAruPjY5yzpm3F/2gfpP3+M/KrDlaZ3ly3Bi1YFYJYxZo=\\n"
	"-----END PUBLIC KEY-----\\n\"}]}";

static struct optreg_keyset keys;

/* The key set, loaded once (libFuzzer calls the target many times). */
static const struct optreg_keyset *fuzz_keys(void)
{
	static int loaded;

	if (!loaded) {
		json_t *list = json_loads(keys_json, 0, NULL);

		optreg_keyset_init(&keys);
		optreg_keyset_load_list(&keys, list);
		json_decref(list);
		FUZZ_CHECK(keys.n == 2, "the fixed keys do not load");
		loaded = 1;
	}
	return &keys;
}

static void check_empty(const struct optreg_dsse *env)
{
	FUZZ_CHECK(!env->payload_type && env->payload.len == 0 &&
			   env->nsigs == 0,
		   "a refused envelope is not left empty");
}

/* The JSON form parses back to the same envelope and is a fixed point. */
static void check_round_trip(const struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse again;
	json_t *j = optreg_dsse_to_json(env), *j2;
	char *text = json_dumps(j, JSON_COMPACT);
	int rc;

	FUZZ_CHECK(text != NULL, "the JSON form does not serialize");
	optreg_dsse_init(&again);
	rc = optreg_dsse_parse(&again, text, strlen(text), &errs);
	FUZZ_CHECK(rc == 0, "the JSON form is refused (%s: %s): %.300s",
		   optreg_code_name(rc),
		   errs.len ? errs.items[0].message : "no error", text);
	FUZZ_CHECK(!strcmp(again.payload_type, env->payload_type),
		   "payloadType changed");
	FUZZ_CHECK(again.payload.len == env->payload.len &&
			   !memcmp(again.payload.data, env->payload.data,
				   env->payload.len),
		   "payload changed");
	FUZZ_CHECK(again.nsigs == env->nsigs, "%zu signatures became %zu",
		   env->nsigs, again.nsigs);
	for (size_t i = 0; i < env->nsigs; i++)
		FUZZ_CHECK(!strcmp(again.sigs[i].keyid, env->sigs[i].keyid),
			   "signatures[%zu].keyid changed", i);
	j2 = optreg_dsse_to_json(&again);
	FUZZ_CHECK(json_equal(j, j2), "the JSON form is not a fixed point");
	json_decref(j2);
	json_decref(j);
	free(text);
	optreg_dsse_release(&again);
	optreg_errors_release(&errs);
}

static void check_verify(const struct optreg_dsse *env)
{
	const struct optreg_keyset *ks = fuzz_keys();
	const struct optreg_keyset_key *valid[OPTREG_DSSE_MAX_SIGS];
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_sig_policy pol = {
		.ns = "team-a", .threshold = 1, .voice = OPTREG_VOICE_REGISTRY};
	size_t nvalid = 99, per_sig = 0;
	int rc;

	rc = optreg_envelope_verify(ks, env, &pol, valid, &nvalid, &errs);
	fuzz_check_result("optreg_envelope_verify", rc, &errs, 0);
	FUZZ_CHECK(rc == 0 || rc == OPTREG_EDENIED, "verify returned %s",
		   optreg_code_name(rc));
	FUZZ_CHECK(nvalid <= env->nsigs, "%zu keys count of %zu signatures",
		   nvalid, env->nsigs);
	FUZZ_CHECK((rc == 0) == (nvalid >= pol.threshold),
		   "verify returned %s with %zu keys counting",
		   optreg_code_name(rc), nvalid);
	for (size_t i = 0; i < errs.len; i++)
		per_sig += !strncmp(errs.items[i].path, "signatures[", 11);
	FUZZ_CHECK(per_sig + nvalid <= env->nsigs,
		   "%zu signature errors and %zu valid keys of %zu signatures",
		   per_sig, nvalid, env->nsigs);
	for (size_t k = 0; k < nvalid; k++) {
		int seen = 0;

		for (size_t i = 0; i < env->nsigs && !seen; i++)
			seen = !strcmp(env->sigs[i].keyid, valid[k]->id) &&
			       optreg_dsse_verify_one(env, i, valid[k]->key) ==
				       OPTREG_SIG_VALID;
		FUZZ_CHECK(seen, "key %s counts without a valid signature",
			   valid[k]->id);
	}
	optreg_errors_release(&errs);
}

static void check_config(const struct optreg_dsse *env)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_config cfg;
	struct optreg_buf canon = OPTREG_BUF_INIT;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = optreg_envelope_check_config(env, &cfg, &canon, &errs);
	fuzz_check_result("optreg_envelope_check_config", rc, &errs, 0);
	if (rc == 0) {
		FUZZ_CHECK(canon.len == env->payload.len &&
				   !memcmp(canon.data, env->payload.data,
					   canon.len),
			   "an accepted config payload is not its canonical "
			   "form");
		fuzz_check_fixed_point("an accepted config payload", &canon);
		optreg_config_release(&cfg);
	} else {
		FUZZ_CHECK(canon.len == 0, "a refused payload left bytes");
	}
	optreg_buf_release(&canon);
	optreg_errors_release(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_dsse env;
	int rc;

	optreg_dsse_init(&env);
	rc = optreg_dsse_parse(&env, (const char *)data, size, &errs);
	fuzz_check_result("optreg_dsse_parse", rc, &errs, 0);
	FUZZ_CHECK(rc == 0 || rc == OPTREG_ESYNTAX || rc == OPTREG_EINVAL,
		   "parse returned %s", optreg_code_name(rc));
	if (rc != 0) {
		check_empty(&env);
		goto out;
	}
	FUZZ_CHECK(env.payload_type != NULL, "accepted without a type");
	FUZZ_CHECK(env.nsigs <= OPTREG_DSSE_MAX_SIGS, "%zu signatures",
		   env.nsigs);
	for (size_t i = 0; i < env.nsigs; i++)
		FUZZ_CHECK(env.sigs[i].keyid && env.sigs[i].sig,
			   "signatures[%zu] lacks a member", i);
	check_round_trip(&env);
	check_verify(&env);
	check_config(&env);
out:
	optreg_dsse_release(&env);
	optreg_errors_release(&errs);
	return 0;
}
