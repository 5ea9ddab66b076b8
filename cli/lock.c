/*
 * cli/lock.c: reading and writing lock files (cli/lock.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "lock.h"
#include "output.h"
#include "ref.h"

/* The fields, in the order a lock file has them. */
static const char *const fields[] = {
	"optreg_lock",	"ref",	     "namespace", "name",
	"version",	"digest",    "registry",  "registry_keyid",
	"registry_key", "pinned_at",
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

void cli_lock_init(struct cli_lock *lock)
{
	memset(lock, 0, sizeof(*lock));
}

void cli_lock_release(struct cli_lock *lock)
{
	free(lock->ref);
	free(lock->registry);
	free(lock->registry_key);
	cli_lock_init(lock);
}

static bool hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* The string field `key`, or NULL after a message in `why`. */
static const char *field_str(const json_t *o, const char *key,
			     struct optreg_buf *why)
{
	const char *s = optreg_json_str(o, key);
	const json_t *v = json_object_get(o, key);

	if (!s)
		optreg_buf_addf(why,
				"lock file: \"%s\": expected a string, got %s",
				key, v ? optreg_json_type_name(v) : "nothing");
	return s;
}

int cli_lock_key(const struct cli_lock *lock, struct optreg_key **key,
		 struct optreg_buf *why)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	char id[OPTREG_KEYID_LEN + 1];

	*key = NULL;
	if (optreg_key_load_pem(key, lock->registry_key,
				strlen(lock->registry_key), &errs) < 0) {
		optreg_buf_addf(why, "lock file: \"registry_key\": %s",
				errs.len ? errs.items[0].message
					 : "not a PEM public key");
		optreg_errors_release(&errs);
		return -1;
	}
	optreg_errors_release(&errs);
	if (optreg_key_is_private(*key)) {
		optreg_buf_adds(why, "lock file: \"registry_key\": expected "
				     "the registry's public key, got a private "
				     "key (remove it from the lock file and "
				     "re-pin)");
		goto bad;
	}
	optreg_key_id(*key, id);
	if (strcmp(id, lock->keyid)) {
		optreg_buf_addf(
			why,
			"lock file: \"registry_key\": its key id is %s, "
			"not registry_keyid %s",
			id, lock->keyid);
		goto bad;
	}
	return 0;
bad:
	optreg_key_free(*key);
	*key = NULL;
	return -1;
}

/* What a lock field that must be an integer holds, for an error: the
 * number, else its JSON type ("nothing" when absent). */
static void got_int(const json_t *v, char *got, size_t n)
{
	if (json_is_integer(v))
		snprintf(got, n, "%lld", (long long)json_integer_value(v));
	else
		snprintf(got, n, "%s",
			 v ? optreg_json_type_name(v) : "nothing");
}

int cli_lock_parse(const char *text, size_t len, struct cli_lock *lock,
		   struct optreg_buf *why)
{
	struct optreg_buf refwhy = OPTREG_BUF_INIT;
	const char *key, *s, *ns, *name, *ref, *digest, *reg, *kid, *pem, *at;
	struct optreg_key *k = NULL;
	struct cli_ref parsed, given;
	json_error_t jerr;
	json_t *o, *v;
	long version;
	int rc = -1;

	cli_lock_release(lock);
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		optreg_buf_addf(why,
				"lock file: expected a JSON object as `optreg "
				"pin` writes it, got %s",
				o ? optreg_json_type_name(o) : jerr.text);
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		size_t i;

		for (i = 0; i < NFIELDS && strcmp(fields[i], key); i++)
			;
		if (i == NFIELDS) {
			char *shown = cli_printable(key);
			optreg_buf_addf(why,
					"lock file: unknown field \"%s\" "
					"(a lock has optreg_lock, ref, "
					"namespace, name, version, digest, "
					"registry, registry_keyid, "
					"registry_key and pinned_at; re-pin "
					"with `optreg pin REF`)",
					shown);
			free(shown);
			goto out;
		}
	}
	v = json_object_get(o, "optreg_lock");
	if (!json_is_integer(v) || json_integer_value(v) != CLI_LOCK_FORMAT) {
		char got[32];

		got_int(v, got, sizeof(got));
		optreg_buf_addf(why,
				"lock file: \"optreg_lock\": expected %d, got "
				"%s (a lock file from another optreg version, "
				"or not a lock file)",
				CLI_LOCK_FORMAT, got);
		goto out;
	}
	if (!(ref = field_str(o, "ref", why)) ||
	    !(ns = field_str(o, "namespace", why)) ||
	    !(name = field_str(o, "name", why)) ||
	    !(digest = field_str(o, "digest", why)) ||
	    !(reg = field_str(o, "registry", why)) ||
	    !(kid = field_str(o, "registry_keyid", why)) ||
	    !(pem = field_str(o, "registry_key", why)) ||
	    !(at = field_str(o, "pinned_at", why)))
		goto out;
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 2147483647) {
		char got[32];

		got_int(v, got, sizeof(got));
		optreg_buf_addf(why,
				"lock file: \"version\": expected a whole "
				"number from 1, got %s",
				got);
		goto out;
	}
	version = (long)json_integer_value(v);
	if (strncmp(digest, "sha256:", 7) || !hex64(digest + 7)) {
		char *shown = cli_printable(digest);
		optreg_buf_addf(why,
				"lock file: \"digest\": expected sha256: and "
				"64 lowercase hex digits, got \"%s\"",
				shown);
		free(shown);
		goto out;
	}
	if (cli_ref_parse(ref,
			  CLI_REF_CONFIG | CLI_REF_VERSION | CLI_REF_TAG |
				  CLI_REF_DIGEST,
			  &given, &refwhy) < 0) {
		optreg_buf_addf(why, "lock file: \"ref\": %s", refwhy.data);
		goto out;
	}
	s = optreg_xasprintf("%s/%s@%ld", ns, name, version);
	if (cli_ref_parse(s, CLI_REF_VERSION, &parsed, &refwhy) < 0) {
		optreg_buf_addf(why, "lock file: \"namespace\"/\"name\": %s",
				refwhy.data);
		free((char *)s);
		goto out;
	}
	free((char *)s);
	/* The ref is what the lock shows (the configmap's optreg.dev/ref
	 * annotation, the torch format's "ref"): it must name the version
	 * the lock pins. */
	if (given.kind == CLI_REF_DIGEST
		    ? strcmp(given.digest, digest) != 0
		    : strcmp(given.ns, parsed.ns) ||
			      strcmp(given.name, parsed.name) ||
			      (given.kind == CLI_REF_VERSION &&
			       given.version != version)) {
		char *shown = cli_printable(digest);
		optreg_buf_addf(why,
				"lock file: \"ref\": \"%s\" does not name "
				"the version the lock pins (%s/%s@%ld, %s); "
				"re-pin with `optreg pin REF`",
				ref, parsed.ns, parsed.name, version, shown);
		free(shown);
		goto out;
	}
	if (!hex64(kid)) {
		char *shown = cli_printable(kid);
		optreg_buf_addf(why,
				"lock file: \"registry_keyid\": expected 64 "
				"lowercase hex digits, got \"%s\"",
				shown);
		free(shown);
		goto out;
	}
	if (strlen(at) >= sizeof(lock->pinned_at)) {
		optreg_buf_adds(why, "lock file: \"pinned_at\": expected an "
				     "RFC 3339 time");
		goto out;
	}
	lock->ref = optreg_xstrdup(ref);
	memcpy(lock->ns, parsed.ns, sizeof(lock->ns));
	memcpy(lock->name, parsed.name, sizeof(lock->name));
	lock->version = version;
	memcpy(lock->digest, digest, OPTREG_DIGEST_LEN + 1);
	lock->registry = optreg_xstrdup(reg);
	memcpy(lock->keyid, kid, OPTREG_KEYID_LEN + 1);
	lock->registry_key = optreg_xstrdup(pem);
	strcpy(lock->pinned_at, at);
	if (cli_lock_key(lock, &k, why) < 0) {
		cli_lock_release(lock);
		goto out;
	}
	optreg_key_free(k);
	rc = 0;
out:
	json_decref(o);
	optreg_buf_release(&refwhy);
	return rc;
}

void cli_lock_format(const struct cli_lock *lock, struct optreg_buf *out)
{
	json_t *o = json_object();
	char *text;

	json_object_set_new(o, "optreg_lock", json_integer(CLI_LOCK_FORMAT));
	json_object_set_new(o, "ref", json_string(lock->ref));
	json_object_set_new(o, "namespace", json_string(lock->ns));
	json_object_set_new(o, "name", json_string(lock->name));
	json_object_set_new(o, "version", json_integer(lock->version));
	json_object_set_new(o, "digest", json_string(lock->digest));
	json_object_set_new(o, "registry", json_string(lock->registry));
	json_object_set_new(o, "registry_keyid", json_string(lock->keyid));
	json_object_set_new(o, "registry_key", json_string(lock->registry_key));
	json_object_set_new(o, "pinned_at", json_string(lock->pinned_at));
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	optreg_buf_adds(out, text);
	optreg_buf_addch(out, '\n');
	free(text);
	json_decref(o);
}
