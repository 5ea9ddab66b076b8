/*
 * registry/cache.h: an in-memory cache of response material, shared by the
 * request threads of one server process.
 *
 * Keys are strings ("digest:sha256:…", "tag:ns/name/tag", "tok:<hash>"),
 * values are bytes plus a small metadata string. Entries may carry an
 * expiry. Invalidation comes from PostgreSQL notifications (db.h's
 * listener), so replicas see each other's changes; the generation counter
 * closes the race where a reader loads a value from the database, an
 * invalidation passes, and the reader then stores the stale value: a put
 * made with a generation older than the last invalidation is dropped.
 *
 * Lookups, stores and invalidations accept a NULL cache and then do
 * nothing: callers pass NULL while invalidations cannot be trusted.
 *
 * When the cache holds more than `max_entries`, it is emptied: simple,
 * bounded, and correct (a miss only costs a query).
 */
#ifndef OPTREG_CACHE_H
#define OPTREG_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../common/buf.h"

struct optreg_cache;

struct optreg_cache *optreg_cache_new(size_t max_entries);
void optreg_cache_free(struct optreg_cache *c);

/* Enables or disables lookups and stores (disabled while the invalidation
 * listener is down). Disabling also empties the cache. */
void optreg_cache_set_enabled(struct optreg_cache *c, bool enabled);

/* The generation to pass to a later optreg_cache_put. */
uint64_t optreg_cache_generation(struct optreg_cache *c);

/* Copies a live entry's value and metadata (either may be NULL) and returns
 * true; false on a miss, an expired entry, or a disabled cache. */
bool optreg_cache_get(struct optreg_cache *c, const char *key,
		      struct optreg_buf *value, struct optreg_buf *meta);

/* Stores a copy, unless an invalidation happened since `generation` was
 * read. `expires` 0 means no expiry. */
void optreg_cache_put(struct optreg_cache *c, const char *key,
		      const void *value, size_t len, const char *meta,
		      time_t expires, uint64_t generation);

/* Drops one key, or every key starting with `prefix`, or everything. */
void optreg_cache_invalidate(struct optreg_cache *c, const char *key);
void optreg_cache_invalidate_prefix(struct optreg_cache *c, const char *prefix);
void optreg_cache_clear(struct optreg_cache *c);

void optreg_cache_stats(struct optreg_cache *c, uint64_t *hits,
			uint64_t *misses, size_t *entries);

#endif
