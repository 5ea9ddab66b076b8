/*
 * cli/pin.c: `optreg pin REF [-o FILE] [--registry-key PUB]`: verifies a
 * version fully (digest, signature, receipt with its inclusion proof, as
 * `fetch --verify` does) and writes the lock file that names it
 * (cli/lock.h), for `optreg fetch --lock FILE`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/jsonutil.h"
#include "../common/keyset.h"
#include "cache.h"
#include "cli.h"
#include "lock.h"

static const char help[] =
	"usage: optreg pin REF [-o FILE] [--registry-key PUB] [--no-cache]\n"
	"                  [--allow-yanked] [--url URL] [--token TOKEN]\n\n"
	"Verifies a version as `optreg fetch --verify` does (digest, the "
	"signed\n"
	"envelope, the registry's receipt and its audit inclusion proof) and "
	"writes a\n"
	"lock file naming it: the reference, namespace, name, version, "
	"digest, the\n"
	"registry's URL, and the id and public key of the registry key that "
	"signed the\n"
	"receipt. `optreg fetch --lock FILE` then fetches exactly that "
	"version and\n"
	"verifies it against that key, also from the cache when the registry "
	"is down.\n"
	"REF is team-nlp/bert (the latest version), team-nlp/bert@7, "
	"team-nlp/bert@prod\n"
	"or sha256:<64 hex>. Prints `pinned REF -> NS/NAME@N (DIGEST)` on "
	"stderr.\n"
	"A tag that points at a yanked version is refused (exit 5), as fetch "
	"refuses it,\n"
	"unless --allow-yanked; a yanked version named otherwise is pinned "
	"with a warning.\n\n"
	"Options:\n"
	"  -o, --output FILE\n"
	"                   write the lock file to FILE (replaced atomically); "
	"default\n"
	"                   standard output\n"
	"  --registry-key PUB\n"
	"                   the registry's public key (PEM; repeat for "
	"several);\n"
	"                   default $OPTREG_REGISTRY_PUBKEY. Unpinned, the "
	"keys the\n"
	"                   registry lists are trusted, with a warning, and "
	"the one that\n"
	"                   signed goes into the lock\n"
	"  --no-cache       do not keep the verified version in the cache\n"
	"  --allow-yanked   pin through a tag that points at a yanked version "
	"(with a\n"
	"                   warning)\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 written, 1 the version fails verification, 2 usage, "
	"3 I/O,\n4 denied, 5 the tag points at a yanked version, 6 "
	"unauthorized, 7 unavailable,\n8 not found. See docs/cli.md.\n";

/*
 * The version document `ref` names, checked (its config against its
 * digest, the version asked for) into *doc, its bytes into `raw` and the
 * canonical config into `canon`. Exit status.
 */
static int get_version(struct cli_remote *r, const struct cli_ref *ref,
		       struct optreg_buf *raw, json_t **doc,
		       struct optreg_buf *canon)
{
	struct optreg_buf path = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	struct cli_ref vref = *ref;
	const char *digest;
	json_t *o = NULL;
	int rc;

	optreg_http_resp_init(&resp);
	if (ref->kind == CLI_REF_DIGEST) {
		optreg_buf_adds(&path, "/v1/digests");
		optreg_http_path_add(&path, ref->digest);
		rc = cli_remote_request(r, "GET", path.data, NULL, &resp);
		if (rc == 0 && resp.status != 200)
			rc = cli_report_http_error(r, &resp, NULL, NULL);
		if (rc)
			goto out;
		if (!resp.version ||
		    cli_ref_parse(resp.version, CLI_REF_VERSION, &vref, &why) <
			    0) {
			rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry did not say which "
					"version holds %s (no X-Optreg-Version "
					"header)",
					ref->digest);
			goto out;
		}
		optreg_buf_reset(&path);
	}
	cli_config_path(&path, &vref);
	if (vref.kind == CLI_REF_TAG) {
		optreg_buf_adds(&path, "/tags");
		optreg_http_path_add(&path, vref.tag);
	} else {
		optreg_buf_addf(&path, "/versions/%ld", vref.version);
	}
	rc = cli_remote_request(r, "GET", path.data, NULL, &resp);
	if (rc == 0 && resp.status != 200)
		rc = cli_report_http_error(r, &resp, NULL, NULL);
	if (rc)
		goto out;
	o = json_loadb(resp.body.data, resp.body.len, 0, NULL);
	digest = optreg_json_str(o, "digest");
	if (!digest) {
		json_decref(o);
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer for %s has no digest",
				path.data);
		goto out;
	}
	/* The digest asked for, else the one the document names; either
	 * way its config must canonicalize to it. */
	optreg_buf_adds(&why,
			ref->kind == CLI_REF_DIGEST ? ref->digest : digest);
	json_decref(o);
	digest = why.data;
	{
		struct optreg_buf bad = OPTREG_BUF_INIT;
		bool tag = vref.kind == CLI_REF_TAG;

		if (cli_cache_check(&resp.body, digest, tag ? NULL : vref.ns,
				    vref.name, vref.version, doc, canon,
				    &bad) < 0 ||
		    (tag &&
		     (strcmp(optreg_json_str(*doc, "namespace"), vref.ns) ||
		      strcmp(optreg_json_str(*doc, "name"), vref.name)))) {
			rc = cli_report(r, OPTREG_EXIT_INVALID,
					"verification_failed",
					"the registry's version for %s fails "
					"its checks: %s",
					path.data,
					bad.len ? bad.data : "another config");
			optreg_buf_release(&bad);
			goto out;
		}
		optreg_buf_release(&bad);
	}
	optreg_buf_add(raw, resp.body.data, resp.body.len);
out:
	optreg_http_resp_release(&resp);
	optreg_buf_release(&why);
	optreg_buf_release(&path);
	return rc;
}

/* The PEM of registry key `keyid` (pinned files, else the registry's
 * list) into `pem`. Exit status. */
static int registry_key_pem(struct cli_remote *r, const char *const *pins,
			    size_t npins, const char *keyid,
			    struct optreg_buf *pem)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	const struct optreg_keyset_key *k;
	struct optreg_keyset ks;
	json_t *list = NULL;
	int rc = 0;

	optreg_keyset_init(&ks);
	if (npins)
		optreg_keyset_load_files(&ks, pins, npins, &errs);
	else if ((rc = cli_remote_call(r, "GET", "/v1/registry/keys", NULL,
				       &list)) == 0)
		optreg_keyset_load_list(&ks, list);
	k = optreg_keyset_find(&ks, keyid);
	if (rc == 0 &&
	    (!k || !k->key || optreg_key_public_pem(k->key, pem) < 0))
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"registry key %s signed the receipt, but its "
				"public key cannot be had",
				keyid);
	json_decref(list);
	optreg_errors_release(&errs);
	optreg_keyset_release(&ks);
	return rc;
}

int cmd_pin(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "pin"};
	struct optreg_buf why = OPTREG_BUF_INIT, raw = OPTREG_BUF_INIT,
			  canon = OPTREG_BUF_INIT, pem = OPTREG_BUF_INIT,
			  out = OPTREG_BUF_INIT, cache = OPTREG_BUF_INIT;
	const char *refarg = NULL, *output = NULL, *val;
	struct cli_trust_result tr;
	struct cli_lock lock;
	bool no_cache = false, allow_yanked = false;
	struct cli_ref ref;
	json_t *doc = NULL;
	time_t now = time(NULL);
	struct tm tm;
	long version;
	int rc, status = OPTREG_EXIT_USAGE;
	struct cli_string_list pins = {
		optreg_xcalloc((size_t)argc + 1, sizeof(char *)), 0};
	const struct cli_option options[] = {
		{CLI_OPTION_STRING, "--output", 'o', "FILE", "write to FILE",
		 &output, NULL, 0},
		CLI_OPT_LIST("--registry-key", "FILE",
			     "pinned registry public key", &pins),
		CLI_OPT_BOOL("--no-cache", "do not fill the cache", &no_cache),
		CLI_OPT_BOOL("--allow-yanked", "pin through a yanked tag",
			     &allow_yanked),
		CLI_OPT_STRING("--url", "URL", "the registry", &r.url),
		CLI_OPT_STRING("--token", "TOKEN", "bearer token", &r.token),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "pin",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "REF",
				     .arg_slot = &refarg};

	cli_trust_result_init(&tr);
	cli_lock_init(&lock);
	rc = cli_parse_options(&p, options, argc, argv);
	if (rc) {
		status = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (output && !output[0]) {
		fprintf(stderr, "optreg pin: -o needs a file name\n");
		goto out;
	}
	for (size_t i = 0; i < pins.len; i++) {
		if (!pins.items[i][0]) {
			fprintf(stderr, "optreg pin: --registry-key needs a "
					"file name\n");
			goto out;
		}
	}
	if (!pins.len && (val = getenv("OPTREG_REGISTRY_PUBKEY")) && val[0])
		pins.items[pins.len++] = val;
	if (!refarg) {
		fprintf(stderr, "optreg pin: expected a REF\n%s", help);
		goto out;
	}
	status = cli_ref_arg("pin", refarg,
			     CLI_REF_CONFIG | CLI_REF_VERSION | CLI_REF_TAG |
				     CLI_REF_DIGEST,
			     &ref);
	if (status)
		goto out;
	status = cli_ref_latest(&r, &ref);
	if (status == 0)
		status = get_version(&r, &ref, &raw, &doc, &canon);
	if (status == 0) {
		struct cli_trust_keys keys = {.pins = pins.items,
					      .npins = pins.len};
		status = cli_trust_verify(
			&r, doc, &canon,
			ref.kind == CLI_REF_DIGEST ? ref.digest : NULL, &keys,
			&tr);
	}
	if (status == 0 && ref.kind == CLI_REF_TAG && !allow_yanked &&
	    json_is_true(json_object_get(doc, "yanked"))) {
		/* As fetch: whoever moved the tag has not moved it off the
		 * bad version yet; a lock would keep it in use. */
		const char *reason = optreg_json_str(doc, "yank_reason");
		char *shown = cli_printable(reason ? reason : "");
		long v = 0;

		cli_json_count(doc, "version", &v);
		status = cli_report(&r, OPTREG_EXIT_CONFLICT, "yanked",
				    "%s points at %s/%s@%ld, which is "
				    "yanked%s%s; no lock written",
				    refarg, ref.ns, ref.name, v,
				    reason ? ": " : "", shown);
		free(shown);
		fprintf(stderr,
			"  hint: move the tag off it (`optreg rollback %s`), "
			"or pass --allow-yanked to pin it anyway\n",
			refarg);
	}
	if (status == 0)
		status = registry_key_pem(&r, pins.items, pins.len,
					  tr.receipt_keyid, &pem);
	if (status)
		goto close;
	cli_json_count(doc, "version", &version);
	lock.ref = optreg_xstrdup(refarg);
	snprintf(lock.ns, sizeof(lock.ns), "%s",
		 optreg_json_str(doc, "namespace"));
	snprintf(lock.name, sizeof(lock.name), "%s",
		 optreg_json_str(doc, "name"));
	lock.version = version;
	snprintf(lock.digest, sizeof(lock.digest), "%s",
		 optreg_json_str(doc, "digest"));
	lock.registry = optreg_xstrdup(r.client.base_url);
	memcpy(lock.keyid, tr.receipt_keyid, sizeof(lock.keyid));
	lock.registry_key = optreg_buf_detach(&pem, NULL);
	gmtime_r(&now, &tm);
	strftime(lock.pinned_at, sizeof(lock.pinned_at), "%Y-%m-%dT%H:%M:%SZ",
		 &tm);
	if (json_is_true(json_object_get(doc, "yanked")))
		fprintf(stderr, "optreg pin: warning: %s/%s@%ld is yanked\n",
			lock.ns, lock.name, version);
	if (!no_cache && cli_cache_dir(&cache) == 0) {
		optreg_buf_reset(&why);
		if (cli_cache_put(cache.data, lock.digest, lock.ns, lock.name,
				  version, &raw, tr.signers, &why) < 0)
			fprintf(stderr,
				"optreg pin: warning: could not keep a copy "
				"in the cache: %s\n",
				why.data);
	}
	cli_lock_format(&lock, &out);
	status = cli_write_output("pin", output, &out);
	if (status == 0)
		fprintf(stderr, "pinned %s -> %s/%s@%ld (%s)\n", refarg,
			lock.ns, lock.name, version, lock.digest);
close:
	cli_remote_close(&r);
out:
	json_decref(doc);
	cli_trust_result_release(&tr);
	cli_lock_release(&lock);
	optreg_buf_release(&cache);
	optreg_buf_release(&out);
	optreg_buf_release(&pem);
	optreg_buf_release(&canon);
	optreg_buf_release(&raw);
	optreg_buf_release(&why);
	free(pins.items);
	return status;
}
