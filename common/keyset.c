/*
 * common/keyset.c: trusted public keys. See keyset.h.
 */
#include "keyset.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "media.h"

void optreg_keyset_init(struct optreg_keyset *ks)
{
	memset(ks, 0, sizeof(*ks));
}

void optreg_keyset_release(struct optreg_keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++) {
		optreg_key_free(ks->items[i].key);
		free(ks->items[i].principal);
		free(ks->items[i].revoked_at);
		free(ks->items[i].purpose);
		json_decref(ks->items[i].namespaces);
	}
	free(ks->items);
	optreg_keyset_init(ks);
}

struct optreg_keyset_key *
optreg_keyset_add_take(struct optreg_keyset *ks, const char *id,
		       struct optreg_key *key, const char *principal,
		       json_t *namespaces, const char *revoked_at)
{
	struct optreg_keyset_key *e;

	OPTREG_ALLOC_GROW(ks->items, ks->n + 1, ks->alloc);
	e = &ks->items[ks->n++];
	memset(e, 0, sizeof(*e));
	e->key = key;
	if (id)
		snprintf(e->id, sizeof(e->id), "%s", id);
	else
		optreg_key_id(key, e->id);
	e->principal = principal ? optreg_xstrdup(principal) : NULL;
	e->revoked_at = revoked_at ? optreg_xstrdup(revoked_at) : NULL;
	e->namespaces = json_incref(namespaces);
	return e;
}

void optreg_keyset_set_purpose(struct optreg_keyset_key *k, const char *purpose)
{
	free(k->purpose);
	k->purpose = purpose ? optreg_xstrdup(purpose) : NULL;
}

const char *optreg_key_purpose_for(const char *payload_type)
{
	if (payload_type && !strcmp(payload_type, OPTREG_CONFIG_PAYLOAD_TYPE))
		return OPTREG_KEY_PURPOSE_CONFIG;
	if (payload_type && !strcmp(payload_type, OPTREG_VERDICT_PAYLOAD_TYPE))
		return OPTREG_KEY_PURPOSE_VERDICT;
	return NULL;
}

int optreg_keyset_load_files(struct optreg_keyset *ks, const char *const *paths,
			     size_t n, struct optreg_errors *errs)
{
	json_t *all = json_pack("[s]", "*");

	for (size_t i = 0; i < n; i++) {
		struct optreg_key *key = NULL;
		int rc = optreg_key_load_file(&key, paths[i], errs);

		if (rc < 0) {
			json_decref(all);
			return rc;
		}
		optreg_keyset_add_take(ks, NULL, key, NULL, all, NULL);
	}
	json_decref(all);
	return 0;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void optreg_keyset_load_list(struct optreg_keyset *ks, const json_t *list)
{
	const json_t *keys = json_object_get(list, "keys"), *k;
	size_t i;

	json_array_foreach(keys, i, k)
	{
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		const char *id = str(k, "keyid"), *pem = str(k, "public_key");
		struct optreg_key *key = NULL;
		char got[OPTREG_KEYID_LEN + 1];

		if (!id || !pem ||
		    optreg_key_load_pem(&key, pem, strlen(pem), &errs) < 0) {
			optreg_errors_release(&errs);
			continue;
		}
		optreg_errors_release(&errs);
		optreg_key_id(key, got);
		if (strcmp(got, id) || optreg_key_is_private(key)) {
			optreg_key_free(key);
			continue;
		}
		struct optreg_keyset_key *e = optreg_keyset_add_take(
			ks, NULL, key, str(k, "principal"),
			json_object_get(k, "namespaces"), str(k, "revoked_at"));
		optreg_keyset_set_purpose(e, str(k, "purpose"));
	}
}

const struct optreg_keyset_key *
optreg_keyset_find(const struct optreg_keyset *ks, const char *keyid)
{
	for (size_t i = 0; keyid && i < ks->n; i++)
		if (!strcmp(ks->items[i].id, keyid))
			return &ks->items[i];
	return NULL;
}

bool optreg_keyset_allows(const struct optreg_keyset_key *k, const char *ns)
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
