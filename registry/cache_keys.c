/*
 * registry/cache_keys.c: cache keys and their invalidation. See
 * cache_keys.h.
 */
#include "cache_keys.h"

#include <stdio.h>
#include <string.h>

#include "../common/hash.h"
#include "registry.h"

void optreg_cache_key_token(const unsigned char hash[32],
			    char out[OPTREG_CACHE_KEY_TOKEN_LEN])
{
	memcpy(out, "tok:", 4);
	optreg_hex_encode(hash, 32, out + 4);
}

void optreg_cache_key_version(struct optreg_buf *out, const char *ns,
			      const char *name, int version)
{
	optreg_buf_addf(out, "ver:%s/%s@%d", ns, name, version);
}

void optreg_cache_key_tag(struct optreg_buf *out, const char *ns,
			  const char *name, const char *tag)
{
	optreg_buf_addf(out, "tag:%s/%s/%s", ns, name, tag);
}

void optreg_cache_key_digest(struct optreg_buf *out, const char *digest)
{
	optreg_buf_addf(out, "dig:%s", digest);
}

struct optreg_cache *optreg_registry_cache(struct registry *r)
{
	return r->listener && optreg_db_listen_healthy(r->listener) ? r->cache
								    : NULL;
}

void optreg_registry_on_notify(const char *payload, void *ctx)
{
	struct registry *r = ctx;
	struct optreg_buf k = OPTREG_BUF_INIT;

	if (!strncmp(payload, "tag:", 4)) {
		/* The tag, and the version documents that list tags. */
		optreg_cache_invalidate(r->cache, payload);
		optreg_cache_invalidate_prefix(r->cache, "ver:");
	} else if (!strncmp(payload, "token:", 6)) {
		optreg_cache_invalidate_prefix(r->cache, "tok:");
	} else {
		/* "version:<digest>" (a yank), or a bare digest from this
		 * process: the digest entry and the version documents. */
		const char *d =
			strncmp(payload, "version:", 8) ? payload : payload + 8;
		optreg_cache_key_digest(&k, d);
		optreg_cache_invalidate(r->cache, k.data);
		optreg_cache_invalidate_prefix(r->cache, "ver:");
	}
	optreg_buf_release(&k);
}

void optreg_registry_on_reset(void *ctx)
{
	struct registry *r = ctx;

	/* Notifications may have been missed while the listener was down. */
	optreg_cache_clear(r->cache);
}
