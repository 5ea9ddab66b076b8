/*
 * common/keyring.c: listed signing keys and envelope checks. See keyring.h.
 */
#include "keyring.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void optreg_keyring_init(struct optreg_keyring *kr)
{
	memset(kr, 0, sizeof(*kr));
}

void optreg_keyring_release(struct optreg_keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		optreg_key_free(kr->items[i].key);
	free(kr->items);
	json_decref(kr->list);
	optreg_keyring_init(kr);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void optreg_keyring_load(struct optreg_keyring *kr, json_t *list)
{
	const json_t *keys, *k;
	size_t i;

	optreg_keyring_release(kr);
	kr->list = json_incref(list);
	keys = json_object_get(list, "keys");
	kr->items =
		optreg_xcalloc(json_array_size(keys) + 1, sizeof(*kr->items));
	json_array_foreach(keys, i, k)
	{
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		const char *id = str(k, "keyid"), *pem = str(k, "public_key");
		struct optreg_keyring_key *e = &kr->items[kr->n];

		if (!id || !pem ||
		    optreg_key_load_pem(&e->key, pem, strlen(pem), &errs) < 0) {
			optreg_errors_release(&errs);
			continue;
		}
		optreg_errors_release(&errs);
		optreg_key_id(e->key, e->id);
		if (strcmp(e->id, id) || optreg_key_is_private(e->key)) {
			optreg_key_free(e->key);
			memset(e, 0, sizeof(*e));
			continue;
		}
		e->principal = str(k, "principal");
		e->revoked_at = str(k, "revoked_at");
		e->namespaces = json_object_get(k, "namespaces");
		kr->n++;
	}
}

const struct optreg_keyring_key *
optreg_keyring_find(const struct optreg_keyring *kr, const char *keyid)
{
	for (size_t i = 0; keyid && i < kr->n; i++)
		if (!strcmp(kr->items[i].id, keyid))
			return &kr->items[i];
	return NULL;
}

bool optreg_keyring_allows(const struct optreg_keyring_key *k, const char *ns)
{
	const json_t *pat;
	size_t i;

	json_array_foreach(k->namespaces, i, pat)
	{
		const char *s = json_string_value(pat);
		if (s && fnmatch(s, ns, 0) == 0)
			return true;
	}
	return false;
}

size_t optreg_keyring_verify(const struct optreg_keyring *kr,
			     const struct optreg_dsse *env, const char *ns,
			     const char *at, const char *prefix,
			     const struct optreg_keyring_key **valid,
			     struct optreg_errors *why)
{
	struct optreg_errors sink = OPTREG_ERRORS_INIT;
	const struct optreg_keyring_key **seen;
	size_t nvalid = 0;

	if (!why)
		why = &sink;
	seen = optreg_xcalloc(env->nsigs + 1, sizeof(*seen));
	for (size_t i = 0; i < env->nsigs; i++) {
		const char *id = env->sigs[i].keyid;
		const struct optreg_keyring_key *k =
			optreg_keyring_find(kr, id);
		char path[96];

		snprintf(path, sizeof(path), "%s%ssignatures[%zu]",
			 prefix ? prefix : "", prefix && *prefix ? "." : "", i);
		if (!k) {
			optreg_errors_add(why, OPTREG_EINVAL, "unknown_key",
					  path,
					  "key %s is not a registered key",
					  id[0] ? id : "(no key id)");
		} else if (k->revoked_at &&
			   (!at || strcmp(k->revoked_at, at) < 0)) {
			optreg_errors_add(why, OPTREG_EINVAL, "revoked_key",
					  path, "key %s was revoked at %s%s%s",
					  id, k->revoked_at,
					  at ? ", before " : "", at ? at : "");
		} else if (!optreg_keyring_allows(k, ns)) {
			optreg_errors_add(why, OPTREG_EINVAL, "key_not_allowed",
					  path,
					  "key %s may not sign for namespace "
					  "%s",
					  id, ns);
		} else if (optreg_dsse_verify_one(env, i, k->key) !=
			   OPTREG_SIG_VALID) {
			optreg_errors_add(why, OPTREG_EINVAL, "bad_signature",
					  path,
					  "the signature by key %s does not "
					  "verify",
					  id);
		} else {
			/* Two signatures by one key count once. */
			size_t j;
			for (j = 0; j < nvalid && seen[j] != k; j++)
				;
			if (j == nvalid)
				seen[nvalid++] = k;
		}
	}
	if (valid)
		memcpy(valid, seen, nvalid * sizeof(*seen));
	free(seen);
	optreg_errors_release(&sink);
	return nvalid;
}
