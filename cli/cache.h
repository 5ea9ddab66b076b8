/*
 * cli/cache.h: the local cache of `optreg fetch`, so that a pipeline keeps
 * working while the registry is unavailable.
 *
 * The cache is content-addressed. Under its folder ($OPTREG_CACHE_DIR,
 * else $XDG_CACHE_HOME/optreg, else ~/.cache/optreg):
 *
 *   sha256/HEX.json       the version document as the registry answered
 *                         it (config, digest, envelope, receipt, namespace,
 *                         name, version...)
 *   sha256/HEX.keys.json  {"keys": [...]}: the registry's entries for the
 *                         keys that signed it, kept only by a fetch that
 *                         verified them (--verify, --lock), so that the
 *                         signature can be checked again offline
 *   refs/NS/NAME/N        "sha256:HEX\n": version N of NS/NAME (versions
 *                         only: a tag can move, so it is never cached)
 *
 * Files are written atomically (a new temporary file, then a rename) with
 * mode 0600, folders with mode 0700. Nothing read from the cache is
 * trusted: an entry is checked against its digest (cli_cache_check) before
 * use, and one that fails is removed. Below the cache folder nothing is
 * followed that is a symbolic link, nothing read that is not a regular
 * file or is larger than CLI_CACHE_DOC_MAX (a ref: CLI_CACHE_REF_MAX), so
 * that a link or a FIFO planted in the cache can neither redirect a write
 * nor hang or exhaust a read.
 */
#ifndef OPTREG_CLI_CACHE_H
#define OPTREG_CLI_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "../common/buf.h"

#define CLI_CACHE_DOC_MAX (64u << 20) /* bytes: as much as a response */
#define CLI_CACHE_REF_MAX 128u	      /* bytes of a refs/ file */

/*
 * The cache folder into `dir` (appended): $OPTREG_CACHE_DIR, else
 * $XDG_CACHE_HOME/optreg, else $HOME/.cache/optreg (empty variables count
 * as unset). Returns 0, or -1 when none of them is set or the cache is
 * off ($OPTREG_NO_CACHE set, not empty and not "0": as --no-cache).
 */
int cli_cache_dir(struct optreg_buf *dir);

/*
 * Stores a version document: `raw` (the bytes as the registry answered)
 * under its digest `digest` ("sha256:HEX"), `keys` (a {"keys": [...]}
 * object, or NULL to leave the keys file as it is) beside it, and the ref
 * NS/NAME/VERSION -> digest. Creates the folders it needs. Returns 0, or
 * -1 with errno set and a description of what failed in `why`.
 */
int cli_cache_put(const char *dir, const char *digest, const char *ns,
		  const char *name, long version, const struct optreg_buf *raw,
		  const json_t *keys, struct optreg_buf *why);

/*
 * The digest cached for version `version` of NS/NAME into `digest` (room
 * for "sha256:" and 64 hex digits and a NUL). Returns 0, or -1 when there
 * is none or it is not a digest (a broken ref file, or something else than
 * a file in its place, is removed).
 */
int cli_cache_ref(const char *dir, const char *ns, const char *name,
		  long version, char *digest);

/*
 * Reads the entry for `digest`: the document's bytes into `raw`
 * (appended), its keys file into *keys (a new reference; NULL when there
 * is none or it does not parse), and the time it was cached (the
 * document's modification time) into *cached_at. Returns 0, -1 when there
 * is no entry, or -2 when something else than an entry is in its place (a
 * symbolic link, not a regular file, too large: why in `why`).
 */
int cli_cache_get(const char *dir, const char *digest, struct optreg_buf *raw,
		  json_t **keys, time_t *cached_at, struct optreg_buf *why);

/* Removes the entry for `digest` (document and keys file); 0 or -1. */
int cli_cache_remove(const char *dir, const char *digest);

/*
 * Checks cached bytes `raw` before they are used: a JSON object (no
 * duplicate keys) with namespace, name, version, digest and an object
 * config, whose digest is `digest`, whose config canonicalizes (RFC 8785)
 * to bytes with that digest, and, when `ns` is not NULL, that is version
 * `version` of NS/NAME. On success *doc gets the document (a new
 * reference, numbers read as reals like the registry's answers), `canon`
 * the canonical config, and the result is 0; else -1 with why in `why`.
 */
int cli_cache_check(const struct optreg_buf *raw, const char *digest,
		    const char *ns, const char *name, long version,
		    json_t **doc, struct optreg_buf *canon,
		    struct optreg_buf *why);

#endif
