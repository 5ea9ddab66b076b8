/*
 * registry/cache.c: a chained hash map under one rwlock. See cache.h.
 */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	char *key;
	void *value;
	size_t len;
	char *meta;
	time_t expires;
};

struct optreg_cache {
	pthread_rwlock_t lock;
	struct entry **buckets;
	size_t nbuckets, count, max_entries;
	uint64_t generation; /* bumped by every invalidation */
	bool enabled;
	/* Statistics, under `stats_lock` so readers can count while holding
	 * only the read lock. */
	pthread_mutex_t stats_lock;
	uint64_t hits, misses;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void entry_free(struct entry *e)
{
	free(e->key);
	free(e->value);
	free(e->meta);
	free(e);
}

/* Caller holds the write lock. */
static void clear_locked(struct optreg_cache *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i];
		while (e) {
			struct entry *next = e->next;
			entry_free(e);
			e = next;
		}
		c->buckets[i] = NULL;
	}
	c->count = 0;
}

struct optreg_cache *optreg_cache_new(size_t max_entries)
{
	struct optreg_cache *c = optreg_xcalloc(1, sizeof(*c));

	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	c->max_entries = max_entries ? max_entries : 10000;
	c->nbuckets = 1;
	while (c->nbuckets < c->max_entries)
		c->nbuckets *= 2;
	c->buckets = optreg_xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->enabled = true;
	return c;
}

void optreg_cache_free(struct optreg_cache *c)
{
	if (!c)
		return;
	clear_locked(c);
	free(c->buckets);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->stats_lock);
	free(c);
}

void optreg_cache_set_enabled(struct optreg_cache *c, bool enabled)
{
	pthread_rwlock_wrlock(&c->lock);
	if (!enabled)
		clear_locked(c);
	c->enabled = enabled;
	c->generation++;
	pthread_rwlock_unlock(&c->lock);
}

uint64_t optreg_cache_generation(struct optreg_cache *c)
{
	if (!c)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	uint64_t g = c->generation;
	pthread_rwlock_unlock(&c->lock);
	return g;
}

bool optreg_cache_get(struct optreg_cache *c, const char *key,
		      struct optreg_buf *value, struct optreg_buf *meta)
{
	bool hit = false;

	if (!c)
		return false;
	pthread_rwlock_rdlock(&c->lock);
	if (c->enabled) {
		struct entry *e = c->buckets[hash(key) & (c->nbuckets - 1)];
		for (; e; e = e->next) {
			if (strcmp(e->key, key))
				continue;
			if (e->expires && e->expires <= time(NULL))
				break;
			if (value)
				optreg_buf_add(value, e->value, e->len);
			if (meta && e->meta)
				optreg_buf_adds(meta, e->meta);
			hit = true;
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
	pthread_mutex_lock(&c->stats_lock);
	if (hit)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->stats_lock);
	return hit;
}

void optreg_cache_put(struct optreg_cache *c, const char *key,
		      const void *value, size_t len, const char *meta,
		      time_t expires, uint64_t generation)
{
	if (!c)
		return;
	struct entry *n = optreg_xcalloc(1, sizeof(*n));

	n->key = optreg_xstrdup(key);
	n->value = optreg_xmalloc(len);
	memcpy(n->value, value, len);
	n->len = len;
	n->meta = meta ? optreg_xstrdup(meta) : NULL;
	n->expires = expires;

	pthread_rwlock_wrlock(&c->lock);
	if (!c->enabled || generation != c->generation) {
		pthread_rwlock_unlock(&c->lock);
		entry_free(n);
		return;
	}
	struct entry **slot = &c->buckets[hash(key) & (c->nbuckets - 1)];
	for (struct entry **p = slot; *p; p = &(*p)->next) {
		if (!strcmp((*p)->key, key)) {
			struct entry *old = *p;
			n->next = old->next;
			*p = n;
			entry_free(old);
			pthread_rwlock_unlock(&c->lock);
			return;
		}
	}
	if (c->count >= c->max_entries)
		clear_locked(c);
	n->next = *slot;
	*slot = n;
	c->count++;
	pthread_rwlock_unlock(&c->lock);
}

void optreg_cache_invalidate(struct optreg_cache *c, const char *key)
{
	if (!c)
		return;
	pthread_rwlock_wrlock(&c->lock);
	c->generation++;
	for (struct entry **p = &c->buckets[hash(key) & (c->nbuckets - 1)]; *p;
	     p = &(*p)->next) {
		if (!strcmp((*p)->key, key)) {
			struct entry *old = *p;
			*p = old->next;
			entry_free(old);
			c->count--;
			break;
		}
	}
	pthread_rwlock_unlock(&c->lock);
}

void optreg_cache_invalidate_prefix(struct optreg_cache *c, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!c)
		return;
	pthread_rwlock_wrlock(&c->lock);
	c->generation++;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry **p = &c->buckets[i];
		while (*p) {
			if (!strncmp((*p)->key, prefix, n)) {
				struct entry *old = *p;
				*p = old->next;
				entry_free(old);
				c->count--;
			} else {
				p = &(*p)->next;
			}
		}
	}
	pthread_rwlock_unlock(&c->lock);
}

void optreg_cache_clear(struct optreg_cache *c)
{
	pthread_rwlock_wrlock(&c->lock);
	c->generation++;
	clear_locked(c);
	pthread_rwlock_unlock(&c->lock);
}

void optreg_cache_stats(struct optreg_cache *c, uint64_t *hits,
			uint64_t *misses, size_t *entries)
{
	pthread_rwlock_rdlock(&c->lock);
	*entries = c->count;
	pthread_rwlock_unlock(&c->lock);
	pthread_mutex_lock(&c->stats_lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->stats_lock);
}
