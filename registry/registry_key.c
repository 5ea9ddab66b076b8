/*
 * registry/registry_key.c: the registry's own signing key. See
 * registry_key.h.
 */
#include "registry_key.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/registry_keys.h"

int optreg_registry_key_load(PGconn *conn, const char *path, bool create,
			     struct optreg_registry_key *out,
			     struct optreg_errors *errs)
{
	struct optreg_buf pem = OPTREG_BUF_INIT;
	struct stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) != 0 && create) {
		size_t n = strlen(path);
		if (n < 5 || strcmp(path + n - 4, ".pem")) {
			optreg_errors_add(errs, OPTREG_EUSAGE, "registry_key",
					  path,
					  "the registry key path must end in "
					  ".pem (got \"%s\")",
					  path);
			return OPTREG_EUSAGE;
		}
		char *name = optreg_xstrndup(path, n - 4);
		rc = optreg_key_generate(&out->key, errs);
		if (rc == 0)
			rc = optreg_key_write_pair(out->key, name, false, errs);
		free(name);
		if (rc) {
			optreg_registry_key_release(out);
			return rc;
		}
	} else {
		rc = optreg_key_load_file(&out->key, path, errs);
		if (rc)
			return rc;
	}
	if (!optreg_key_is_private(out->key)) {
		optreg_errors_add(errs, OPTREG_EINVAL, "registry_key", path,
				  "%s holds a public key; the registry needs "
				  "its private key",
				  path);
		optreg_registry_key_release(out);
		return OPTREG_EINVAL;
	}
	optreg_key_id(out->key, out->keyid);
	rc = optreg_key_public_pem(out->key, &pem);
	if (rc == 0) {
		rc = optreg_store_registry_key_add(conn, out->keyid, pem.data,
						   errs);
	}
	optreg_buf_release(&pem);
	if (rc)
		optreg_registry_key_release(out);
	return rc;
}

void optreg_registry_key_release(struct optreg_registry_key *rk)
{
	optreg_key_free(rk->key);
	memset(rk, 0, sizeof(*rk));
}

int optreg_registry_keys_list(PGconn *conn, json_t **out,
			      struct optreg_errors *errs)
{
	return optreg_store_registry_keys_list(conn, out, errs);
}
