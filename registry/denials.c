/*
 * registry/denials.c: refused writes in the audit log, bounded. See
 * denials.h.
 */
#include "denials.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/alloc.h"
#include "auth.h"
#include "db.h"
#include "registry.h"

#define PROBE 16 /* slots tried for a principal before it overflows */

struct dslot {
	char id[OPTREG_TOKEN_ID_LEN + 1]; /* "": free */
	char principal[OPTREG_DENIALS_STRING_MAX + 1];
	char since[32]; /* wall-clock start of the window, as events say */
	double start;	/* monotonic start of the window */
	long recorded;	/* write.denied events written in the window */
	long denied;	/* refusals counted, not written */
	long limited;	/* writes answered 429 */
};

struct optreg_denials {
	struct registry *reg;
	long max_events, window;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	pthread_t thread;
	struct dslot *slots;
	size_t nslots;
	struct dslot overflow; /* principals that found no slot */
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Bounding details */

/* Cuts `s` to at most `max` bytes at a UTF-8 character boundary. */
static json_t *cut_string(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return NULL;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return json_stringn(s, max);
}

static void bound_value(json_t *v, int depth);

static void bound_object(json_t *o, int depth)
{
	const char *key;
	json_t *v;
	void *tmp;
	json_t *omitted = json_object();

	json_object_foreach_safe(o, tmp, key, v)
	{
		if (json_is_string(v)) {
			json_t *cut = cut_string(json_string_value(v),
						 json_string_length(v),
						 OPTREG_DENIALS_STRING_MAX);
			if (cut)
				json_object_set_new(o, key, cut);
		} else if (json_is_array(v) &&
			   json_array_size(v) > OPTREG_DENIALS_ARRAY_MAX) {
			size_t n = json_array_size(v);
			while (json_array_size(v) > OPTREG_DENIALS_ARRAY_MAX)
				json_array_remove(v, OPTREG_DENIALS_ARRAY_MAX);
			char name[300];
			snprintf(name, sizeof(name), "%.200s_omitted", key);
			json_object_set_new(
				omitted, name,
				json_integer((
					json_int_t)(n -
						    OPTREG_DENIALS_ARRAY_MAX)));
			bound_value(v, depth + 1);
		} else {
			bound_value(v, depth + 1);
		}
	}
	json_object_update(o, omitted);
	json_decref(omitted);
}

static void bound_value(json_t *v, int depth)
{
	if (depth > 4) {
		if (json_is_object(v))
			json_object_clear(v);
		else if (json_is_array(v))
			json_array_clear(v);
		return;
	}
	if (json_is_object(v)) {
		bound_object(v, depth);
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			if (json_is_string(e)) {
				json_t *cut =
					cut_string(json_string_value(e),
						   json_string_length(e),
						   OPTREG_DENIALS_STRING_MAX);
				if (cut)
					json_array_set_new(v, i, cut);
			} else {
				bound_value(e, depth + 1);
			}
		}
	}
}

json_t *optreg_denials_bound(json_t *details)
{
	if (!json_is_object(details))
		return details;
	bound_value(details, 0);
	char *s = json_dumps(details, JSON_COMPACT);
	size_t len = s ? strlen(s) : 0;
	free(s);
	if (len <= OPTREG_DENIALS_DETAILS_MAX)
		return details;
	/* Still too big (many keys): keep the few that say what happened. */
	static const char *const keep[] = {"code",   "method", "route",
					   "status", "digest", NULL};
	json_t *small = json_object();
	for (int i = 0; keep[i]; i++) {
		json_t *v = json_object_get(details, keep[i]);
		if (v && !json_is_object(v) && !json_is_array(v))
			json_object_set(small, keep[i], v);
	}
	json_object_set_new(small, "details_omitted",
			    json_integer((json_int_t)len));
	json_object_clear(details);
	json_object_update(details, small);
	json_decref(small);
	return details;
}

/* ------------------------------------------------------------------ */
/* Writing events */

static void log_failure(const char *what, const struct optreg_errors *errs)
{
	const char *msg = errs && errs->len ? errs->items[0].message
					    : "the database is unavailable";
	json_t *line = json_pack("{s:s, s:s, s:s}", "level", "error", "msg",
				 what, "error", msg);
	char *s = json_dumps(line, JSON_COMPACT);

	if (s)
		fprintf(stderr, "%s\n", s);
	free(s);
	json_decref(line);
}

/* Appends one event in a transaction of its own; `details` is stolen. */
static int append(struct registry *reg, const struct optreg_audit_actor *who,
		  const char *action, const char *target, json_t *details,
		  struct optreg_errors *errs)
{
	PGconn *c = optreg_pool_get(reg->db, reg->db_wait_ms);

	if (!c) {
		json_decref(details);
		optreg_errors_add(errs, OPTREG_EUNAVAILABLE, "unavailable",
				  NULL, "no database connection in time");
		return OPTREG_EUNAVAILABLE;
	}
	int rc = optreg_audit_append_alone(c, who, action, target, details,
					   errs);
	optreg_pool_put(reg->db, c, rc == OPTREG_EUNAVAILABLE);
	return rc;
}

static void write_summary(struct optreg_denials *d, const struct dslot *s)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_audit_actor who = {s->principal, s->id, ""};

	int rc = append(d->reg, &who, "write.denied.summary",
			s->id[0] ? s->principal : "*",
			json_pack("{s:I, s:I, s:I, s:s, s:I}", "denied",
				  (json_int_t)s->denied, "rate_limited",
				  (json_int_t)s->limited, "recorded",
				  (json_int_t)s->recorded, "since", s->since,
				  "window_seconds", (json_int_t)d->window),
			&errs);
	if (rc)
		log_failure("cannot record a write.denied.summary event",
			    &errs);
	optreg_errors_release(&errs);
}

static bool pending(const struct dslot *s)
{
	return s->denied || s->limited;
}

/* ------------------------------------------------------------------ */
/* The table */

static size_t slot_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

static void window_open(struct dslot *s, double now)
{
	s->start = now;
	s->recorded = s->denied = s->limited = 0;
	optreg_audit_now(s->since);
}

/*
 * The slot of `who` (lock held), its window brought up to `now`: an ended
 * window with counts is copied to `*ended` (and *has_ended set) before a
 * new one opens. The overflow slot when there is no room.
 */
static struct dslot *slot_of(struct optreg_denials *d,
			     const struct optreg_audit_actor *who, double now,
			     struct dslot *ended, bool *has_ended)
{
	size_t h = slot_hash(who->token_id);
	struct dslot *free_slot = NULL, *s = NULL;

	*has_ended = false;
	for (size_t i = 0; i < PROBE && i < d->nslots; i++) {
		struct dslot *c = &d->slots[(h + i) % d->nslots];
		if (!strcmp(c->id, who->token_id)) {
			s = c;
			break;
		}
		if (!free_slot &&
		    (!c->id[0] || (now - c->start >= d->window && !pending(c))))
			free_slot = c;
	}
	if (!s && free_slot) {
		s = free_slot;
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", who->token_id);
		snprintf(s->principal, sizeof(s->principal), "%s",
			 who->principal ? who->principal : "");
		window_open(s, now);
	}
	if (!s) {
		s = &d->overflow;
		if (!s->since[0])
			window_open(s, now);
	}
	if (now - s->start >= d->window) {
		if (pending(s)) {
			*ended = *s;
			*has_ended = true;
		}
		window_open(s, now);
	}
	return s;
}

int optreg_denials_record(struct optreg_denials *d, struct registry *reg,
			  const struct optreg_audit_actor *who,
			  const char *target, json_t *details,
			  struct optreg_errors *errs)
{
	return optreg_denials_record_as(d, reg, who, "write.denied", target,
					details, errs);
}

int optreg_denials_record_as(struct optreg_denials *d, struct registry *reg,
			     const struct optreg_audit_actor *who,
			     const char *action, const char *target,
			     json_t *details, struct optreg_errors *errs)
{
	struct dslot ended;
	bool has_ended = false, write = true;
	char cut[OPTREG_DENIALS_STRING_MAX + 1];

	const char *t = target ? target : "";
	size_t n = strlen(t);
	if (n > OPTREG_DENIALS_STRING_MAX) {
		n = OPTREG_DENIALS_STRING_MAX;
		while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(cut, t, n);
	cut[n] = '\0';
	if (d) {
		pthread_mutex_lock(&d->lock);
		struct dslot *s =
			slot_of(d, who, now_mono(), &ended, &has_ended);
		write = s != &d->overflow && s->recorded < d->max_events;
		if (write)
			s->recorded++;
		else
			s->denied++;
		pthread_mutex_unlock(&d->lock);
		if (has_ended)
			write_summary(d, &ended);
	}
	if (!write) {
		json_decref(details);
		return 0;
	}
	return append(reg, who, action, cut, optreg_denials_bound(details),
		      errs);
}

void optreg_denials_limited(struct optreg_denials *d,
			    const struct optreg_audit_actor *who)
{
	struct dslot ended;
	bool has_ended;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	slot_of(d, who, now_mono(), &ended, &has_ended)->limited++;
	pthread_mutex_unlock(&d->lock);
	if (has_ended)
		write_summary(d, &ended);
}

/* Takes the ended windows with counts (all of them when `all`) out of the
 * table into a new array; frees slots of ended windows. */
static struct dslot *take_ended(struct optreg_denials *d, bool all, size_t *n)
{
	struct dslot *out = NULL;
	size_t alloc = 0;
	double now = now_mono();

	*n = 0;
	for (size_t i = 0; i <= d->nslots; i++) {
		struct dslot *s = i < d->nslots ? &d->slots[i] : &d->overflow;
		if (i < d->nslots && !s->id[0])
			continue;
		if (!all && now - s->start < d->window)
			continue;
		if (pending(s)) {
			OPTREG_ALLOC_GROW(out, *n + 1, alloc);
			out[(*n)++] = *s;
		}
		memset(s, 0, sizeof(*s));
	}
	return out;
}

static void *denials_main(void *arg)
{
	struct optreg_denials *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		size_t n;
		struct dslot *ended = take_ended(d, false, &n);
		pthread_mutex_unlock(&d->lock);
		for (size_t i = 0; i < n; i++)
			write_summary(d, &ended[i]);
		free(ended);
		pthread_mutex_lock(&d->lock);
		if (d->stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&d->wake, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct optreg_denials *optreg_denials_new(struct registry *reg, size_t slots,
					  long max_events, long window)
{
	struct optreg_denials *d = optreg_xcalloc(1, sizeof(*d));

	d->reg = reg;
	d->max_events = max_events > 0 ? max_events : 1;
	d->window = window > 0 ? window : 1;
	d->nslots = slots ? slots : 1;
	d->slots = optreg_xcalloc(d->nslots, sizeof(*d->slots));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	if (pthread_create(&d->thread, NULL, denials_main, d)) {
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->wake);
		free(d->slots);
		free(d);
		return NULL;
	}
	return d;
}

void optreg_denials_free(struct optreg_denials *d)
{
	size_t n;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	struct dslot *ended = take_ended(d, true, &n);
	for (size_t i = 0; i < n; i++)
		write_summary(d, &ended[i]);
	free(ended);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->wake);
	free(d->slots);
	free(d);
}
