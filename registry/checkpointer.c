/*
 * registry/checkpointer.c: the checkpointer thread (see checkpointer.h).
 */
#include "checkpointer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "audit.h"
#include "registry.h"

struct optreg_checkpointer {
	struct registry *r;
	long every, interval;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
};

/* One look: signs a checkpoint when one is due. `pending_since` is when
 * the oldest unsigned event was first seen (0: none). */
static void checkpointer_tick(struct optreg_checkpointer *cp,
			      time_t *pending_since)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	PGconn *c = optreg_pool_get(cp->r->db, 1000);
	uint64_t size = 0, latest = 0;
	char *note = NULL;
	int rc = c ? optreg_audit_size(c, &size, &errs) : OPTREG_EUNAVAILABLE;

	if (rc == 0)
		rc = optreg_audit_checkpoint_latest(c, &note, &latest, &errs);
	free(note);
	if (rc == 0) {
		time_t now = time(NULL);

		if (size <= latest)
			*pending_since = 0;
		else if (!*pending_since)
			*pending_since = now;
		if (size > latest && (size - latest >= (uint64_t)cp->every ||
				      now - *pending_since >= cp->interval)) {
			bool made;

			rc = optreg_audit_checkpoint_make(c, &cp->r->key,
							  cp->r->audit_origin,
							  &made, &errs);
			if (rc == 0)
				*pending_since = 0;
		}
	}
	if (c)
		optreg_pool_put(cp->r->db, c, rc == OPTREG_EUNAVAILABLE);
	for (size_t i = 0; rc && rc != OPTREG_EUNAVAILABLE && i < errs.len; i++)
		fprintf(stderr,
			"{\"level\":\"error\",\"msg\":\"checkpoint\","
			"\"rule\":\"%s\"}\n",
			errs.items[i].rule);
	optreg_errors_release(&errs);
}

static void *checkpointer_main(void *arg)
{
	struct optreg_checkpointer *cp = arg;
	time_t pending_since = 0;

	pthread_mutex_lock(&cp->lock);
	while (!cp->stop) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 500 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cp->wake, &cp->lock, &until);
		if (cp->stop)
			break;
		pthread_mutex_unlock(&cp->lock);
		checkpointer_tick(cp, &pending_since);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

int optreg_checkpointer_start(struct optreg_checkpointer **out,
			      struct registry *r, long every, long interval)
{
	struct optreg_checkpointer *cp = optreg_xcalloc(1, sizeof(*cp));

	cp->r = r;
	cp->every = every;
	cp->interval = interval;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	if (pthread_create(&cp->thread, NULL, checkpointer_main, cp)) {
		pthread_mutex_destroy(&cp->lock);
		pthread_cond_destroy(&cp->wake);
		free(cp);
		*out = NULL;
		return OPTREG_ENOMEM;
	}
	*out = cp;
	return 0;
}

void optreg_checkpointer_stop(struct optreg_checkpointer *cp)
{
	if (!cp)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->stop = true;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	free(cp);
}
