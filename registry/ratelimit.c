/*
 * registry/ratelimit.c: bounded failure budgets. See ratelimit.h.
 *
 * The table is set-associative: a key hashes to one set of WAYS slots,
 * and each set has its own lock, so threads rarely wait on each other and
 * every operation looks at WAYS slots at most.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "../common/alloc.h"

#define WAYS 8

struct slot {
	uint64_t key; /* 0: free */
	double tokens;
	double stamp; /* when `tokens` was last brought up to date */
	double seen;  /* when the key was last asked about */
};

struct set {
	pthread_mutex_t lock;
	struct slot slots[WAYS];
};

struct optreg_ratelimit {
	struct set *sets;
	size_t nsets;
	double burst, per_second;
	uint64_t seed;
};

struct optreg_ratelimit *optreg_ratelimit_new(size_t slots, double burst,
					      double per_second)
{
	struct optreg_ratelimit *rl = optreg_xcalloc(1, sizeof(*rl));

	rl->nsets = slots / WAYS + (slots % WAYS != 0);
	if (rl->nsets < 1)
		rl->nsets = 1;
	rl->sets = optreg_xcalloc(rl->nsets, sizeof(*rl->sets));
	for (size_t i = 0; i < rl->nsets; i++)
		pthread_mutex_init(&rl->sets[i].lock, NULL);
	rl->burst = burst < 1 ? 1 : burst;
	rl->per_second = per_second > 0 ? per_second : 1;
	if (RAND_bytes((unsigned char *)&rl->seed, sizeof(rl->seed)) != 1)
		abort();
	return rl;
}

void optreg_ratelimit_free(struct optreg_ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < rl->nsets; i++)
		pthread_mutex_destroy(&rl->sets[i].lock);
	free(rl->sets);
	free(rl);
}

/* Seeded FNV-1a, then the splitmix64 finalizer to spread the bits; never
 * 0 (the mark of a free slot). */
static uint64_t key_hash(const struct optreg_ratelimit *rl, const char *key)
{
	uint64_t h = 1469598103934665603ULL ^ rl->seed;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h ? h : 1;
}

/* Brings the slot's budget up to `now`. */
static void refill(const struct optreg_ratelimit *rl, struct slot *s,
		   double now)
{
	if (now > s->stamp) {
		s->tokens += (now - s->stamp) * rl->per_second;
		if (s->tokens > rl->burst)
			s->tokens = rl->burst;
		s->stamp = now;
	}
}

/* The slot of `h` in `set` (locked), or NULL when absent and !make; with
 * make, a free slot, one whose budget is full again, or the one seen
 * longest ago, given to `h` with a full budget. */
static struct slot *find(const struct optreg_ratelimit *rl, struct set *set,
			 uint64_t h, double now, int make)
{
	struct slot *victim = NULL;

	for (int i = 0; i < WAYS; i++) {
		struct slot *s = &set->slots[i];
		if (s->key == h) {
			s->seen = now;
			return s;
		}
		if (!make)
			continue;
		if (!s->key) {
			if (!victim || victim->key)
				victim = s;
			continue;
		}
		if (victim && !victim->key)
			continue;
		refill(rl, s, now);
		if (!victim || s->tokens >= rl->burst ||
		    (victim->tokens < rl->burst && s->seen < victim->seen))
			victim = s;
	}
	if (!make)
		return NULL;
	victim->key = h;
	victim->tokens = rl->burst;
	victim->stamp = now;
	victim->seen = now;
	return victim;
}

/* Seconds until `tokens` grows to one whole token. */
static double wait_of(const struct optreg_ratelimit *rl, double tokens)
{
	return tokens >= 1 ? 0 : (1 - tokens) / rl->per_second;
}

/* The tokens left to `key` at `now` (refilled), without spending any;
 * the full burst for a key the limiter does not hold. */
static double tokens_left(struct optreg_ratelimit *rl, const char *key,
			  double now)
{
	double left = rl->burst;
	uint64_t h = key_hash(rl, key);
	struct set *set = &rl->sets[h % rl->nsets];

	pthread_mutex_lock(&set->lock);
	struct slot *s = find(rl, set, h, now, 0);
	if (s) {
		refill(rl, s, now);
		left = s->tokens;
	}
	pthread_mutex_unlock(&set->lock);
	return left;
}

double optreg_ratelimit_wait(struct optreg_ratelimit *rl, const char *key,
			     double now)
{
	if (!rl)
		return 0;
	return wait_of(rl, tokens_left(rl, key, now));
}

double optreg_ratelimit_spent(struct optreg_ratelimit *rl, const char *key,
			      double now)
{
	if (!rl)
		return 0;
	double spent = rl->burst - tokens_left(rl, key, now);
	return spent > 0 ? spent : 0;
}

double optreg_ratelimit_spend(struct optreg_ratelimit *rl, const char *key,
			      double cost, double now)
{
	double w;

	if (!rl)
		return 0;
	uint64_t h = key_hash(rl, key);
	struct set *set = &rl->sets[h % rl->nsets];
	pthread_mutex_lock(&set->lock);
	struct slot *s = find(rl, set, h, now, 1);
	refill(rl, s, now);
	s->tokens = s->tokens > cost ? s->tokens - cost : 0;
	w = wait_of(rl, s->tokens);
	pthread_mutex_unlock(&set->lock);
	return w;
}

size_t optreg_ratelimit_slots(const struct optreg_ratelimit *rl)
{
	return rl ? rl->nsets * WAYS : 0;
}

size_t optreg_ratelimit_used(struct optreg_ratelimit *rl)
{
	size_t n = 0;

	for (size_t i = 0; rl && i < rl->nsets; i++) {
		pthread_mutex_lock(&rl->sets[i].lock);
		for (int j = 0; j < WAYS; j++)
			n += rl->sets[i].slots[j].key != 0;
		pthread_mutex_unlock(&rl->sets[i].lock);
	}
	return n;
}

double optreg_ratelimit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
