/*
 * registry/cache_keys.h: what the server keeps in its cache (cache.h), the
 * keys it is kept under, and how notifications drop it.
 *
 *   tok:<sha256 hex of the token>    a principal (auth.c)
 *   ver:<ns>/<name>@<version>        a version document (api/versions.c)
 *   tag:<ns>/<name>/<tag>            the version a tag points at
 *   dig:<digest>                     the config bytes of a digest
 */
#ifndef OPTREG_CACHE_KEYS_H
#define OPTREG_CACHE_KEYS_H

#include "../common/buf.h"
#include "cache.h"

struct registry;

#define OPTREG_CACHE_KEY_TOKEN_LEN (4 + 64 + 1)

void optreg_cache_key_token(const unsigned char hash[32],
			    char out[OPTREG_CACHE_KEY_TOKEN_LEN]);
/* Append the key to `out`. */
void optreg_cache_key_version(struct optreg_buf *out, const char *ns,
			      const char *name, int version);
void optreg_cache_key_tag(struct optreg_buf *out, const char *ns,
			  const char *name, const char *tag);
void optreg_cache_key_digest(struct optreg_buf *out, const char *digest);

/* The server's cache, or NULL while the invalidation listener is down:
 * another replica's change could then go unnoticed, so nothing is
 * cached. */
struct optreg_cache *optreg_registry_cache(struct registry *r);

#endif
