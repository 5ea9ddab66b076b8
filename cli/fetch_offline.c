/*
 * cli/fetch_offline.c: what lets `optreg fetch` work without the
 * registry: recording why a request failed, the local cache (filled after
 * each checked fetch, read while the registry is unavailable) and lock
 * files (--lock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/jsonutil.h"
#include "cache.h"
#include "fetch_int.h"

void fetch_fetched_init(struct fetch_result *f)
{
	memset(f, 0, sizeof(*f));
	optreg_buf_init(&f->canon);
	optreg_buf_init(&f->cached);
	optreg_http_resp_init(&f->resp);
	optreg_http_resp_init(&f->vresp);
	cli_trust_result_init(&f->trust);
}

void fetch_fetched_release(struct fetch_result *f)
{
	optreg_buf_release(&f->canon);
	optreg_buf_release(&f->cached);
	optreg_http_resp_release(&f->resp);
	optreg_http_resp_release(&f->vresp);
	json_decref(f->doc);
	json_decref(f->cached_keys);
	cli_trust_result_release(&f->trust);
}

int fetch_primary_get(struct cli_remote *r, const char *path,
		      struct optreg_http_resp *resp, struct fetch_down *down)
{
	int rc;

	if (!down)
		return cli_remote_request(r, "GET", path, NULL, resp);
	if (!r->open) {
		rc = optreg_http_client_init(&r->client, r->url, r->token,
					     &down->errs);
		if (rc < 0) {
			fprintf(stderr, "optreg %s: %s\n", r->cmd,
				down->errs.items[0].message);
			return rc == OPTREG_EUSAGE ? OPTREG_EXIT_USAGE
						   : OPTREG_EXIT_UNAVAILABLE;
		}
		r->open = 1;
	}
	rc = optreg_http_request(&r->client, "GET", path, NULL, NULL, resp,
				 &down->errs);
	if (rc < 0) {
		down->set = true;
		optreg_buf_adds(&down->why,
				down->errs.len ? down->errs.items[0].message
					       : "no answer");
		return FETCH_DOWN;
	}
	if (resp->status >= 500) {
		down->set = true;
		down->status = resp->status;
		optreg_buf_addf(&down->why, "HTTP %ld %s", resp->status,
				optreg_http_reason(resp->status));
		return FETCH_DOWN;
	}
	return 0;
}

int fetch_report_down(struct cli_remote *r, const struct fetch_down *down,
		      const struct optreg_http_resp *resp)
{
	const struct optreg_error *e;

	if (down->status)
		return cli_report_http_error(r, resp, NULL, NULL);
	e = &down->errs.items[0];
	fprintf(stderr, "optreg %s: %s\n", r->cmd, e->message);
	if (e->detail)
		fprintf(stderr, "  detail: %s\n", e->detail);
	if (e->hint)
		fprintf(stderr, "  hint: %s (OPTREG_URL or --url)\n", e->hint);
	if (r->json)
		cli_print_problem("unavailable", e->message, NULL);
	return OPTREG_EXIT_UNAVAILABLE;
}

struct cli_trust_keys fetch_trust_keys(const struct fetch_opts *o,
				       const json_t *signers)
{
	struct cli_trust_keys k = {
		.pins = o->pins,
		.npins = o->npins,
		.registry = o->lock ? o->lock_keys : NULL,
		.signers = signers,
	};
	return k;
}

/* "2026-12-03T12:00:00Z" */
static void utc_time(time_t t, char *out, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void fetch_cache_fill(const struct fetch_opts *o, struct fetch_result *f)
{
	struct optreg_buf why = OPTREG_BUF_INIT;
	long version;

	if (!o->cache || !f->doc || !f->raw ||
	    cli_json_count(f->doc, "version", &version) < 0)
		return;
	if (cli_cache_put(o->cache, optreg_json_str(f->doc, "digest"),
			  optreg_json_str(f->doc, "namespace"),
			  optreg_json_str(f->doc, "name"), version, f->raw,
			  f->verified ? f->trust.signers : NULL, &why) < 0)
		fprintf(stderr,
			"optreg fetch: warning: could not keep a copy in the "
			"cache: %s\n  hint: set OPTREG_CACHE_DIR to a "
			"writable folder, or pass --no-cache\n",
			why.data);
	optreg_buf_release(&why);
}

int fetch_from_cache(struct cli_remote *r, const struct cli_ref *ref,
		     const struct fetch_opts *o, const struct fetch_down *down,
		     struct fetch_result *f)
{
	struct optreg_buf why = OPTREG_BUF_INIT, name = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1], when[32];
	bool check_verify = o->verify || o->lock, said = false, removed;
	/* The digest after the name, unless the name is the digest. */
	const char *also = ref->kind == CLI_REF_DIGEST ? NULL : digest;
	time_t cached_at;
	int rc;

	if (ref->kind == CLI_REF_DIGEST) {
		memcpy(digest, ref->digest, sizeof(digest));
		optreg_buf_adds(&name, ref->digest);
	} else {
		optreg_buf_addf(&name, "%s/%s@%ld", ref->ns, ref->name,
				ref->version);
		if (o->lock)
			memcpy(digest, o->lock->digest, sizeof(digest));
		else if (cli_cache_ref(o->cache, ref->ns, ref->name,
				       ref->version, digest) < 0)
			goto miss;
	}
	rc = cli_cache_get(o->cache, digest, &f->cached, &f->cached_keys,
			   &cached_at, &why);
	if (rc == -1)
		goto miss;
	if (rc < 0)
		goto bad;
	if (cli_cache_check(&f->cached, digest,
			    ref->kind == CLI_REF_DIGEST ? NULL : ref->ns,
			    ref->name, ref->version, &f->doc, &f->canon,
			    &why) < 0)
		goto bad;
	if (check_verify && !f->cached_keys) {
		rc = fetch_report_down(r, down, &f->resp);
		fprintf(stderr,
			"optreg fetch: the cached copy of %s%s%s%s cannot be "
			"verified offline: it was cached by a fetch that did "
			"not verify it\n  hint: run `optreg fetch %s` once "
			"while the registry is up\n",
			name.data, also ? " (" : "", also ? also : "",
			also ? ")" : "",
			o->lock ? "--lock FILE" : "--verify REF");
		goto out;
	}
	if (check_verify && !o->lock && !o->npins) {
		rc = fetch_report_down(r, down, &f->resp);
		fprintf(stderr,
			"optreg fetch: the cached copy of %s cannot be "
			"verified offline without a pinned registry key\n"
			"  hint: pass --registry-key PUB or set "
			"OPTREG_REGISTRY_PUBKEY, or fetch with --lock FILE\n",
			name.data);
		goto out;
	}
	fprintf(stderr, "optreg fetch: registry unavailable (%s); ",
		down->why.data);
	said = true;
	utc_time(cached_at, when, sizeof(when));
	if (ref->kind == CLI_REF_DIGEST) {
		long v;
		cli_json_count(f->doc, "version", &v);
		fprintf(stderr,
			"using the cached copy of %s/%s@%ld (%s), cached %s\n",
			optreg_json_str(f->doc, "namespace"),
			optreg_json_str(f->doc, "name"), v, digest, when);
	} else {
		fprintf(stderr, "using the cached copy of %s (%s), cached %s\n",
			name.data, digest, when);
	}
	if (check_verify) {
		struct cli_trust_keys k = fetch_trust_keys(o, f->cached_keys);
		/* Offline nothing is fetched: the lock's (or the pinned)
		 * registry key and the signer keys cached when the entry
		 * was verified. */
		rc = cli_trust_verify(r, f->doc, &f->canon, digest, &k,
				      &f->trust);
		if (rc) {
			optreg_buf_adds(&why, "it failed verification");
			goto bad;
		}
		f->verified = true;
	}
	if (json_is_true(json_object_get(f->doc, "yanked")))
		fprintf(stderr,
			"optreg fetch: warning: %s was yanked when it was "
			"cached\n",
			name.data);
	f->raw = &f->cached;
	f->from_cache = true;
	rc = 0;
	goto out;
bad:
	removed = cli_cache_remove(o->cache, digest) == 0;
	json_decref(f->doc);
	f->doc = NULL;
	optreg_buf_reset(&f->canon);
	if (!said)
		fprintf(stderr, "optreg fetch: registry unavailable (%s)\n",
			down->why.data);
	rc = cli_report(r, OPTREG_EXIT_INVALID, "cache_entry_invalid",
			"the cached copy of %s%s%s%s fails its checks (%s); "
			"%s, printed nothing",
			name.data, also ? " (" : "", also ? also : "",
			also ? ")" : "", why.data,
			removed ? "removed it from the cache"
				: "could not remove it from the cache (remove "
				  "it by hand)");
	goto out;
miss:
	rc = fetch_report_down(r, down, &f->resp);
	fprintf(stderr, "  note: no cached copy of %s in %s\n", name.data,
		o->cache);
out:
	optreg_buf_release(&name);
	optreg_buf_release(&why);
	return rc;
}

int fetch_lock_load(const char *file, struct cli_lock *lock,
		    struct fetch_opts *o)
{
	struct optreg_buf in = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	struct optreg_key *key = NULL;
	json_t *all;
	int rc = cli_read_input("fetch", file, &in);

	if (rc)
		goto out;
	if (cli_lock_parse(in.data, in.len, lock, &why) < 0) {
		fprintf(stderr, "optreg fetch: %s: %s\n", file, why.data);
		rc = OPTREG_EXIT_USAGE;
		goto out;
	}
	cli_lock_key(lock, &key, &why);
	all = json_pack("[s]", "*");
	optreg_keyset_add_take(o->lock_keys, NULL, key, NULL, all, NULL);
	json_decref(all);
	if (o->npins) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		struct optreg_keyset pinned;
		bool found;

		optreg_keyset_init(&pinned);
		rc = optreg_keyset_load_files(&pinned, o->pins, o->npins,
					      &errs);
		if (rc < 0) {
			fprintf(stderr, "optreg fetch: --registry-key: %s\n",
				errs.items[0].message);
			rc = rc == OPTREG_EIO ? OPTREG_EXIT_IO
					      : OPTREG_EXIT_USAGE;
		}
		found = optreg_keyset_find(&pinned, lock->keyid) != NULL;
		optreg_keyset_release(&pinned);
		optreg_errors_release(&errs);
		if (rc)
			goto out;
		if (!found) {
			fprintf(stderr,
				"optreg fetch: %s: its registry key %s is not "
				"one of the pinned registry keys "
				"(--registry-key, OPTREG_REGISTRY_PUBKEY)\n"
				"  hint: re-pin with the current key (`optreg "
				"pin %s --registry-key PUB`), or check which "
				"key the operator published\n",
				file, lock->keyid, lock->ref);
			rc = OPTREG_EXIT_INVALID;
		}
	}
out:
	optreg_buf_release(&why);
	optreg_buf_release(&in);
	return rc;
}
