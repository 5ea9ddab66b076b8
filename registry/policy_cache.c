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
#include "../common/glob.h"
#include "../common/log.h"
#include "store/policies.h"

/* A set and what it owns; `pub` first, so a set is its impl. */
struct set_impl {
	struct optreg_policy_set pub;
	struct optreg_policy **owned;
	/* The stored policies that do not load: [{"name", "version",
	 * "namespaces", "error"}]; they fail closed for what they cover. */
	json_t *unloadable;
	int refs;  /* the cache's own reference plus one per user */
	char *key; /* "name@version:digest\n" per policy, in name order */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct set_impl *current; /* the last set parsed, or NULL */
static size_t unloadable_now;	 /* in the last set parsed */

size_t optreg_policy_set_unloadable(void)
{
	pthread_mutex_lock(&lock);
	size_t n = unloadable_now;
	pthread_mutex_unlock(&lock);
	return n;
}

static void set_free(struct set_impl *s)
{
	for (size_t i = 0; i < s->pub.n; i++)
		optreg_policy_free(s->owned[i]);
	free(s->owned);
	free(s->key);
	json_decref(s->unloadable);
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

/* The namespaces a stored document names (its canonical JSON), or ["*"]
 * when even that cannot be read: an unreadable policy covers all. */
static json_t *stored_namespaces(const char *doc)
{
	json_t *j = doc ? json_loads(doc, 0, NULL) : NULL;
	json_t *ns = json_object_get(j, "namespaces");
	bool ok = json_is_array(ns) && json_array_size(ns) > 0;

	for (size_t i = 0; ok && i < json_array_size(ns); i++)
		ok = json_is_string(json_array_get(ns, i));
	json_t *out = ok ? json_incref(ns) : json_pack("[s]", "*");
	json_decref(j);
	return out;
}

/* Parses the documents of `rows` into a new set (refs 1). A document that
 * does not load is logged (once: each set is parsed once) and kept in
 * `unloadable`, so that it fails closed only where it applies. */
static int set_parse(const json_t *rows, struct set_impl **out,
		     struct optreg_errors *errs)
{
	struct set_impl *s = optreg_xcalloc(1, sizeof(*s));
	struct optreg_buf key = OPTREG_BUF_INIT;
	size_t i, n = json_array_size(rows);
	json_t *r;

	(void)errs;
	s->owned = optreg_xcalloc(n + 1, sizeof(*s->owned));
	s->unloadable = json_array();
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
			const char *why = perrs.len ? perrs.items[0].message
						    : "no document";
			json_t *u =
				json_pack("{s:s, s:i, s:o, s:s}", "name",
					  name ? name : "?", "version",
					  (int)version, "namespaces",
					  stored_namespaces(doc), "error", why);
			optreg_log_write(
				"error",
				"a stored policy does not load; moves and "
				"submits in the namespaces it covers are "
				"refused until it is pushed again or deleted",
				json_deep_copy(u));
			json_array_append_new(s->unloadable, u);
			optreg_errors_release(&perrs);
			continue;
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
	unloadable_now = json_array_size(s->unloadable);
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

	const json_t *bad = ((const struct set_impl *)s)->unloadable;
	size_t i;
	json_t *u;
	json_array_foreach(bad, i, u)
	{
		json_t *nsj = json_object_get(u, "namespaces");
		size_t k;
		json_t *pat;
		json_array_foreach(nsj, k, pat)
		{
			if (!optreg_glob_match(json_string_value(pat),
					       subject->ns))
				continue;
			optreg_errors_add(
				errs, OPTREG_EINTERNAL, "policy", NULL,
				"stored policy %s version %lld covers "
				"namespace %s but does not load",
				json_string_value(json_object_get(u, "name")),
				(long long)json_integer_value(
					json_object_get(u, "version")),
				subject->ns);
			return OPTREG_EINTERNAL;
		}
	}
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
