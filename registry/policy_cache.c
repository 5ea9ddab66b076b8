/*
 * registry/policy_cache.c: the current policies, parsed once per set. See
 * policy_cache.h.
 */
#include "policy_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/alloc.h"
#include "../common/buf.h"
#include "store/policies.h"

/* A set and what it owns; `pub` first, so a set is its impl. */
struct set_impl {
	struct optreg_policy_set pub;
	struct optreg_policy **owned;
	int refs;  /* the cache's own reference plus one per user */
	char *key; /* "name@version:digest\n" per policy, in name order */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct set_impl *current; /* the last set parsed, or NULL */

static void set_free(struct set_impl *s)
{
	for (size_t i = 0; i < s->pub.n; i++)
		optreg_policy_free(s->owned[i]);
	free(s->owned);
	free(s->key);
	free(s);
}

static void set_unref_locked(struct set_impl *s)
{
	if (s && --s->refs == 0)
		set_free(s);
}

void optreg_policy_set_put(struct optreg_policy_set *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&lock);
	set_unref_locked((struct set_impl *)s);
	pthread_mutex_unlock(&lock);
}

static void key_of(const json_t *rows, struct optreg_buf *key)
{
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
	{
		optreg_buf_addf(
			key, "%s@%lld:%s\n",
			json_string_value(json_object_get(r, "name")),
			(long long)json_integer_value(
				json_object_get(r, "version")),
			json_string_value(json_object_get(r, "digest")));
	}
}

/* Parses the documents of `rows` into a new set (refs 1). */
static int set_parse(const json_t *rows, struct set_impl **out,
		     struct optreg_errors *errs)
{
	struct set_impl *s = optreg_xcalloc(1, sizeof(*s));
	struct optreg_buf key = OPTREG_BUF_INIT;
	size_t i, n = json_array_size(rows);
	json_t *r;

	s->owned = optreg_xcalloc(n + 1, sizeof(*s->owned));
	s->refs = 1;
	json_array_foreach(rows, i, r)
	{
		const char *name =
			json_string_value(json_object_get(r, "name"));
		const char *doc =
			json_string_value(json_object_get(r, "canonical"));
		long version =
			(long)json_integer_value(json_object_get(r, "version"));
		struct optreg_errors perrs = OPTREG_ERRORS_INIT;
		struct optreg_policy *p = NULL;

		if (!doc || optreg_policy_load(&p, "policy.json", doc,
					       strlen(doc), &perrs) < 0) {
			optreg_errors_add(errs, OPTREG_EINTERNAL, "policy",
					  NULL,
					  "stored policy %s version %ld does "
					  "not load: %s",
					  name ? name : "?", version,
					  perrs.len ? perrs.items[0].message
						    : "no document");
			optreg_errors_release(&perrs);
			optreg_buf_release(&key);
			set_free(s);
			return OPTREG_EINTERNAL;
		}
		optreg_errors_release(&perrs);
		optreg_policy_set_version(p, version);
		s->owned[s->pub.n++] = p;
	}
	s->pub.items = (const struct optreg_policy *const *)s->owned;
	key_of(rows, &key);
	s->key = optreg_buf_detach(&key, NULL);
	*out = s;
	return 0;
}

int optreg_policy_set_get(PGconn *conn, struct optreg_policy_set **out,
			  struct optreg_errors *errs)
{
	struct optreg_buf key = OPTREG_BUF_INIT;
	struct set_impl *s = NULL;
	json_t *rows;

	*out = NULL;
	int rc = optreg_store_policies_current(conn, false, &rows, errs);
	if (rc)
		return rc;
	key_of(rows, &key);
	json_decref(rows);
	pthread_mutex_lock(&lock);
	if (current && !strcmp(current->key, key.data ? key.data : "")) {
		current->refs++;
		s = current;
	}
	pthread_mutex_unlock(&lock);
	optreg_buf_release(&key);
	if (s) {
		*out = &s->pub;
		return 0;
	}
	rc = optreg_store_policies_current(conn, true, &rows, errs);
	if (rc == 0)
		rc = set_parse(rows, &s, errs);
	json_decref(rows);
	if (rc)
		return rc;
	pthread_mutex_lock(&lock);
	set_unref_locked(current);
	current = s;
	s->refs++; /* the cache's and the caller's */
	pthread_mutex_unlock(&lock);
	*out = &s->pub;
	return 0;
}

json_t *optreg_policy_config_json(const char *data, size_t len)
{
	return json_loadb(data, len, 0, NULL);
}

struct optreg_waiver *optreg_policy_waivers_of(const json_t *rows, size_t *n)
{
	struct optreg_waiver *ws =
		optreg_xcalloc(json_array_size(rows) + 1, sizeof(*ws));
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
	{
#define W_STR(k) json_string_value(json_object_get(r, k))
		ws[i].id = W_STR("id");
		ws[i].policy = W_STR("policy");
		ws[i].rule = W_STR("rule");
		ws[i].namespace_ = W_STR("namespace");
		ws[i].config = W_STR("config");
		ws[i].reason = W_STR("reason");
		ws[i].owner = W_STR("owner");
#undef W_STR
		ws[i].expires_at = (time_t)json_integer_value(
			json_object_get(r, "expires_epoch"));
	}
	*n = json_array_size(rows);
	return ws;
}

int optreg_policy_set_check(PGconn *conn, const struct optreg_policy_set *s,
			    const struct optreg_policy_subject *subject,
			    struct optreg_policy_result *out,
			    struct optreg_errors *errs)
{
	json_t *rows = NULL;
	time_t now;

	if (s->n == 0)
		return 0;
	int rc = optreg_store_waivers_active(conn, subject->ns, &rows, &now,
					     errs);
	if (rc)
		return rc;
	size_t nw;
	struct optreg_waiver *ws = optreg_policy_waivers_of(rows, &nw);
	struct optreg_policy_input in = {
		.namespace_ = subject->ns,
		.name = subject->name,
		.config = subject->config,
		.tag = subject->tag,
		.previous = subject->previous,
		.waivers = ws,
		.nwaivers = nw,
		.now = now,
	};
	rc = optreg_policy_evaluate(s->items, s->n, &in, out);
	free(ws);
	json_decref(rows);
	return rc;
}
