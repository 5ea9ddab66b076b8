/*
 * registry/ratelimit.h: a bounded, thread-safe table of failure budgets
 * (token buckets), keyed by text such as a token's hash or a client
 * address.
 *
 * Each key has a budget of `burst` failures that refills at `per_second`;
 * a key whose budget is spent must wait. The table has a fixed number of
 * slots, allocated once: a key that is not there takes the slot of a key
 * whose budget is full again (which forgets nothing), else of the one
 * seen longest ago. So memory stays bounded whatever number of keys an
 * attacker uses; the price is that a flood of new keys can make the table
 * forget an old one early. Keys are hashed with a random per-table seed,
 * so which keys share slots cannot be chosen from outside.
 */
#ifndef OPTREG_RATELIMIT_H
#define OPTREG_RATELIMIT_H

#include <stddef.h>

struct optreg_ratelimit;

/*
 * A table of about `slots` keys (rounded up to a multiple of 8, at least
 * 8), each with a budget of `burst` failures (>= 1) refilled at
 * `per_second` (> 0). Free it with optreg_ratelimit_free().
 */
struct optreg_ratelimit *optreg_ratelimit_new(size_t slots, double burst,
					      double per_second);

/* Frees the table; NULL does nothing. */
void optreg_ratelimit_free(struct optreg_ratelimit *rl);

/*
 * Seconds `key` must wait before it may fail again at time `now`
 * (seconds, any monotonic origin): 0 while it has budget left. Spends
 * nothing. A NULL table never waits.
 */
double optreg_ratelimit_wait(struct optreg_ratelimit *rl, const char *key,
			     double now);

/* Spends `cost` failures (1 for one; 0.2 lets a key fail five times as
 * often) of `key`'s budget at `now`, never below empty, and returns the
 * wait that follows, as optreg_ratelimit_wait would. */
double optreg_ratelimit_spend(struct optreg_ratelimit *rl, const char *key,
			      double cost, double now);

/* Failures of `key` not yet refilled at `now` (0 when its budget is full
 * or it is not remembered): > 0 means it failed within the window. */
double optreg_ratelimit_spent(struct optreg_ratelimit *rl, const char *key,
			      double now);

/* The number of slots (the most keys remembered at once). */
size_t optreg_ratelimit_slots(const struct optreg_ratelimit *rl);

/* The number of keys remembered now. */
size_t optreg_ratelimit_used(struct optreg_ratelimit *rl);

/* Seconds on the monotonic clock, for `now`. */
double optreg_ratelimit_now(void);

#endif
