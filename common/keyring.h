/*
 * common/keyring.h: the earlier names of the key set (common/keyset.h) and
 * of the envelope check (common/verify.h), kept only until runner/serve.c
 * calls verify.h directly; new code uses those. There is one key-set type:
 * `struct optreg_keyring` is `struct optreg_keyset`.
 */
#ifndef OPTREG_KEYRING_H
#define OPTREG_KEYRING_H

#include "keyset.h"
#include "verify.h"

#define optreg_keyring	   optreg_keyset
#define optreg_keyring_key optreg_keyset_key

static inline void optreg_keyring_init(struct optreg_keyset *ks)
{
	optreg_keyset_init(ks);
}

/* Empties `ks`, then adds the usable entries of `list` (borrowed). */
static inline void optreg_keyring_load(struct optreg_keyset *ks, json_t *list)
{
	optreg_keyset_release(ks);
	optreg_keyset_load_list(ks, list);
}

static inline void optreg_keyring_release(struct optreg_keyset *ks)
{
	optreg_keyset_release(ks);
}

static inline const struct optreg_keyset_key *
optreg_keyring_find(const struct optreg_keyset *ks, const char *keyid)
{
	return optreg_keyset_find(ks, keyid);
}

static inline bool optreg_keyring_allows(const struct optreg_keyset_key *k,
					 const char *ns)
{
	return optreg_keyset_allows(k, ns);
}

/* optreg_envelope_verify in a client's voice, without a threshold:
 * returns the number of distinct keys that count. */
static inline size_t optreg_keyring_verify(
	const struct optreg_keyset *ks, const struct optreg_dsse *env,
	const char *ns, const char *at, const char *prefix,
	const struct optreg_keyset_key **valid, struct optreg_errors *why)
{
	struct optreg_errors sink = OPTREG_ERRORS_INIT;
	struct optreg_sig_policy pol = {.ns = ns,
					.at = at,
					.prefix = prefix,
					.voice = OPTREG_VOICE_CLIENT};
	size_t n = 0;

	optreg_envelope_verify(ks, env, &pol, valid, &n, why ? why : &sink);
	optreg_errors_release(&sink);
	return n;
}

#endif
