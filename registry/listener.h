/*
 * registry/listener.h: a thread that holds its own PostgreSQL connection
 * with LISTEN on one channel and hands each notification to a callback;
 * the cache's invalidation across replicas rides on it.
 */
#ifndef OPTREG_LISTENER_H
#define OPTREG_LISTENER_H

#include <stdbool.h>

/*
 * Starts a thread holding its own connection with LISTEN `channel`, calling
 * `on_notify(payload, ctx)` for each notification and `on_reset(ctx)`
 * whenever the connection was (re)established, because notifications may
 * have been missed while it was down (callers drop their caches then).
 * Both callbacks run on the listener thread (either may be NULL); on_reset
 * runs after LISTEN and before the listener reports healthy.
 * Reconnects with backoff (100 ms doubling to 2 s) forever; stopped by
 * optreg_db_listen_stop. Returns at once (the thread connects); OPTREG_EINVAL
 * for a bad conninfo or an empty channel.
 */
struct optreg_db_listener;
int optreg_db_listen_start(struct optreg_db_listener **l, const char *conninfo,
			   const char *channel,
			   void (*on_notify)(const char *payload, void *ctx),
			   void (*on_reset)(void *ctx), void *ctx);
/* Stops the thread (promptly, even while it connects) and frees `l`; no
 * callback runs after it returns. NULL is a no-op. */
void optreg_db_listen_stop(struct optreg_db_listener *l);
/* True while the listener is connected and listening (caches may be
 * trusted only then). */
bool optreg_db_listen_healthy(struct optreg_db_listener *l);

#endif
