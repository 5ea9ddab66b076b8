/*
 * cli/fetch.c: `optreg fetch REF|--lock FILE [--verify [--registry-key
 * PUB]] [--format json|yaml|torch|env|configmap] [--output FILE]
 * [--no-cache]`.
 *
 * Nothing is printed that was not checked against its digest here: for a
 * sha256: reference, the SHA-256 of the bytes the registry sent; for a
 * version or tag, the canonical form of the version's `config` against the
 * version's `digest`. The JSON output is the canonical bytes themselves, so
 * `optreg fetch REF | sha256sum` shows the digest. The YAML output is
 * rendered here and checked to load back to the same canonical bytes; the
 * torch, env and configmap formats are cli/format.c's.
 * With --verify, the version's signed envelope and the registry's receipt
 * are checked too (cli/trust.c), so that content changed behind the
 * registry's back (in its database) is caught. --lock FILE (cli/lock.h)
 * fetches the version a lock file names and verifies it against the
 * lock's registry key.
 *
 * Every checked version is kept in the local cache (cli/cache.h). When the
 * registry is unavailable (no answer, a timeout, a 5xx; never a 4xx), a
 * digest, a version or a lock is served from the cache once the entry
 * passes the same checks, with a note on stderr; a tag never is.
 *
 * --require-verdict pass|warn prints nothing (exit 11) unless the
 * version's latest verdict meets it. A tag that points at a yanked
 * version is refused (exit 5) unless --allow-yanked: whoever moved the
 * tag has not moved it off the bad version yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/jsonutil.h"
#include "../validator/yaml_emit.h"
#include "cache.h"
#include "fetch_int.h"
#include "format.h"

static const char help[] =
	"usage: optreg fetch REF|--lock FILE [--verify [--registry-key PUB]]\n"
	"                    [--format json|yaml|torch|env|configmap] "
	"[--output FILE]\n"
	"                    [--require-verdict pass|warn] [--allow-yanked] "
	"[--no-cache]\n"
	"                    [--json] [--url URL] [--token TOKEN]\n\n"
	"Prints a config document from the registry. REF is one of\n"
	"  team-nlp/bert          the latest version\n"
	"  team-nlp/bert@7        version 7\n"
	"  team-nlp/bert@prod     the version the tag prod points at\n"
	"  sha256:<64 hex>        the content with that digest\n"
	"The document is checked against its digest before anything is "
	"printed; a\n"
	"mismatch prints nothing and exits 1. A yanked version is printed with "
	"a\n"
	"warning on stderr when asked for by version or digest; through a tag "
	"it is\n"
	"refused (exit 5) unless --allow-yanked.\n\n"
	"With --verify, nothing is printed either unless the version also "
	"checks out\n"
	"against its signatures and the registry's receipt: the signed "
	"envelope's\n"
	"payload is the config, a registered signer key allowed for the "
	"namespace\n"
	"(and not revoked before the version was accepted) signed it, and the "
	"receipt\n"
	"is signed by the registry key and names this version, digest and "
	"envelope,\n"
	"with its audit inclusion proof. Prints on stderr\n"
	"  verified: signed by KEYID (PRINCIPAL); receipt by registry key "
	"KEYID\n"
	"or each check that failed, with what was expected and what was "
	"found (exit 1).\n\n"
	"With --lock FILE (written by `optreg pin`), fetches the version the "
	"lock names\n"
	"and verifies it as --verify does, against the lock's registry key and "
	"digest.\n\n"
	"Cache: each version fetched is kept in $OPTREG_CACHE_DIR, else\n"
	"$XDG_CACHE_HOME/optreg, else ~/.cache/optreg. When the registry is\n"
	"unavailable (no answer, a timeout, a 5xx; never a 4xx), a digest, a "
	"version\n"
	"(ns/name@N) or a lock is served from there after the same checks, "
	"with on stderr\n"
	"  optreg fetch: registry unavailable (WHY); using the cached copy of "
	"REF\n"
	"  (DIGEST), cached TIME\n"
	"A tag is never served from the cache. A cached copy that fails its "
	"checks is\n"
	"removed and nothing is printed (exit 1).\n\n"
	"Options:\n"
	"  --verify         check signatures and the receipt as well (see "
	"above)\n"
	"  --registry-key PUB\n"
	"                   the registry's public key to check receipts "
	"with (PEM; repeat\n"
	"                   for several, e.g. during a key rotation); default\n"
	"                   $OPTREG_REGISTRY_PUBKEY (a file). Unpinned, the "
	"keys the\n"
	"                   registry lists are trusted, with a warning. With "
	"--lock, the\n"
	"                   lock's key must be one of them\n"
	"  --lock FILE      fetch and verify the version of a lock file; the "
	"registry is\n"
	"                   --url, else $OPTREG_URL, else the lock's\n"
	"  --no-cache       neither read nor fill the cache\n"
	"  --format json    the RFC 8785 canonical JSON, the exact bytes "
	"digested, with\n"
	"                   no trailing newline (default)\n"
	"  --format yaml    the same document as block YAML\n"
	"  --format torch   JSON for torch.optim: optimizer (Adam or AdamW), "
	"kwargs,\n"
	"                   param_groups, grad_clip_norm, schedule (with its "
	"formula),\n"
	"                   digest, ref\n"
	"  --format env     OPTREG_* shell variables, single-quoted: safe to "
	"source\n"
	"  --format configmap\n"
	"                   a Kubernetes ConfigMap: data optimizer.json (the "
	"canonical\n"
	"                   config), annotations optreg.dev/ref, digest, "
	"version, receipt\n"
	"  --output FILE    write to FILE (replaced atomically) instead of "
	"standard\n"
	"                   output\n"
	"  --require-verdict pass|warn\n"
	"                   print nothing and exit 11 unless the version's "
	"latest verdict\n"
	"                   is pass (or, with warn, pass or warn); needs the "
	"registry\n"
	"  --allow-yanked   fetch through a tag that points at a yanked "
	"version (with a\n"
	"                   warning)\n"
	"  --json           print the registry's JSON instead of the document: "
	"the\n"
	"                   version (namespace, name, version, digest, "
	"created_at,\n"
	"                   created_by, yanked, tags, config, envelope) for a "
	"version\n"
	"                   or tag, the content itself for a digest (checked "
	"all the\n"
	"                   same)\n"
	"  --url URL        the registry (default $OPTREG_URL, else\n"
	"                   http://127.0.0.1:8080)\n"
	"  --token TOKEN    bearer token (default $OPTREG_TOKEN)\n"
	"\nExit status: 0 ok, 1 the content does not match its digest (or "
	"fails --verify,\nor a cached copy fails its checks), 2 usage (a bad "
	"lock file too), 3 I/O, 4 denied,\n5 the tag points at a yanked "
	"version, 6 unauthorized, 7 unavailable (and\nnothing usable "
	"cached), 8 not found, 11 the verdict does not meet "
	"--require-verdict.\nSee docs/cli.md.\n";

/* ---- Fetching ---------------------------------------------------------- */

/*
 * GET /v1/digests/{d}: the body is the canonical bytes; they must hash to
 * the digest asked for. Appends them to `canon`; exit status.
 */
static int fetch_digest(struct cli_remote *r, const struct cli_ref *ref,
			struct optreg_http_resp *resp, struct optreg_buf *canon,
			struct fetch_down *down)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	char got[OPTREG_DIGEST_LEN + 1];
	int rc;

	optreg_buf_adds(&path, "/v1/digests");
	optreg_http_path_add(&path, ref->digest);
	rc = fetch_primary_get(r, path.data, resp, down);
	optreg_buf_release(&path);
	if (rc)
		return rc;
	if (resp->status != 200)
		return cli_report_http_error(r, resp, NULL, NULL);
	optreg_jcs_digest(resp->body.data, resp->body.len, got);
	if (strcmp(got, ref->digest))
		return cli_report(r, OPTREG_EXIT_INVALID, "digest_mismatch",
				  "the registry sent content whose digest is "
				  "%s, not %s",
				  got, ref->digest);
	if (resp->yanked && !strcasecmp(resp->yanked, "true")) {
		char *v = cli_printable(resp->version ? resp->version
						      : ref->digest);
		fprintf(stderr, "optreg fetch: warning: %s is yanked\n", v);
		free(v);
	}
	optreg_buf_add(canon, resp->body.data, resp->body.len);
	return OPTREG_EXIT_OK;
}

/* Names the reference for messages: "team-nlp/bert@prod". */
static void ref_name(const struct cli_ref *ref, struct optreg_buf *out)
{
	if (ref->kind == CLI_REF_VERSION)
		optreg_buf_addf(out, "%s/%s@%ld", ref->ns, ref->name,
				ref->version);
	else
		optreg_buf_addf(out, "%s/%s@%s", ref->ns, ref->name, ref->tag);
}

int cli_version_get(struct cli_remote *r, const struct cli_ref *ref,
		    const char *shown, struct optreg_http_resp *resp,
		    struct fetch_down *down, json_t **docp)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	const char *digest, *ns, *name;
	json_t *doc = NULL;
	long version;
	int rc;

	cli_config_path(&path, ref);
	if (ref->kind == CLI_REF_VERSION) {
		optreg_buf_addf(&path, "/versions/%ld", ref->version);
	} else {
		optreg_buf_adds(&path, "/tags");
		optreg_http_path_add(&path, ref->tag);
	}
	rc = fetch_primary_get(r, path.data, resp, down);
	if (rc)
		goto out;
	if (resp->status != 200) {
		rc = cli_report_http_error(r, resp, NULL, NULL);
		goto out;
	}
	doc = cli_response_json(r, resp, JSON_DECODE_INT_AS_REAL);
	if (!doc) {
		rc = OPTREG_EXIT_UNAVAILABLE;
		goto out;
	}
	digest = optreg_json_str(doc, "digest");
	ns = optreg_json_str(doc, "namespace");
	name = optreg_json_str(doc, "name");
	if (!digest || !ns || !name ||
	    cli_json_count(doc, "version", &version) < 0 ||
	    !json_is_object(json_object_get(doc, "config"))) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer for %s lacks namespace, "
				"name, version, digest or config",
				shown);
		goto out;
	}
	if (strcmp(ns, ref->ns) || strcmp(name, ref->name) ||
	    (ref->kind == CLI_REF_VERSION && version != ref->version)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"asked for %s, the registry answered with "
				"%s/%s@%ld",
				shown, ns, name, version);
		goto out;
	}
	*docp = doc;
	doc = NULL;
out:
	json_decref(doc);
	optreg_buf_release(&path);
	return rc;
}

/*
 * GET a version by number or tag; checks that it is the one asked for and
 * that its `config` canonicalizes to its `digest`, and appends the
 * canonical bytes to `canon`. *docp receives the version document (a new
 * reference). With `verify`, the digest is left for the caller to check
 * (--verify reports it with the other checks). `warn`: print the yanked
 * warning; a tag at a yanked version is refused unless `allow_yanked`.
 * `down`: see primary_get. Exit status.
 */
static int fetch_version(struct cli_remote *r, const struct cli_ref *ref,
			 struct optreg_http_resp *resp,
			 struct optreg_buf *canon, json_t **docp, bool verify,
			 bool warn, bool allow_yanked, struct fetch_down *down)
{
	struct optreg_buf name = OPTREG_BUF_INIT;
	char got[OPTREG_DIGEST_LEN + 1];
	const char *digest, *ns, *cname;
	json_t *doc = NULL;
	long version;
	int rc;

	ref_name(ref, &name);
	rc = cli_version_get(r, ref, name.data, resp, down, &doc);
	if (rc)
		goto out;
	digest = optreg_json_str(doc, "digest");
	ns = optreg_json_str(doc, "namespace");
	cname = optreg_json_str(doc, "name");
	cli_json_count(doc, "version", &version);
	if (optreg_jcs_serialize(json_object_get(doc, "config"), canon, NULL) <
	    0) {
		rc = cli_report(r, OPTREG_EXIT_INVALID, "digest_mismatch",
				"the config of %s/%s@%ld cannot be "
				"canonicalized",
				ns, cname, version);
		goto out;
	}
	optreg_jcs_digest(canon->data, canon->len, got);
	if ((!verify && strcmp(got, digest)) ||
	    (resp->digest && strcmp(resp->digest, digest))) {
		rc = cli_report(r, OPTREG_EXIT_INVALID, "digest_mismatch",
				"the config of %s/%s@%ld does not match its "
				"digest: it canonicalizes to %s, the registry "
				"says %s",
				ns, cname, version, got,
				strcmp(got, digest) ? digest : resp->digest);
		goto out;
	}
	if (warn && json_is_true(json_object_get(doc, "yanked")) &&
	    ref->kind == CLI_REF_TAG && !allow_yanked) {
		const char *why = optreg_json_str(doc, "yank_reason");
		char *shown = cli_printable(why ? why : "");

		rc = cli_report(r, OPTREG_EXIT_CONFLICT, "yanked",
				"%s points at %s/%s@%ld, which is yanked%s%s",
				name.data, ns, cname, version, why ? ": " : "",
				shown);
		free(shown);
		fprintf(stderr,
			"  hint: move the tag off it (`optreg rollback %s` or "
			"`optreg tag %s/%s@N %s`), or pass --allow-yanked to "
			"fetch it anyway\n",
			name.data, ns, cname, ref->tag);
		goto out;
	}
	if (warn && json_is_true(json_object_get(doc, "yanked"))) {
		const char *why = optreg_json_str(doc, "yank_reason");
		char *shown = cli_printable(why ? why : "");

		fprintf(stderr,
			"optreg fetch: warning: %s/%s@%ld is yanked%s%s\n", ns,
			cname, version, why ? ": " : "", shown);
		free(shown);
	}
	rc = OPTREG_EXIT_OK;
	*docp = doc;
	doc = NULL;
out:
	json_decref(doc);
	optreg_buf_release(&name);
	return rc;
}

/*
 * The version document of a sha256: reference: the registry names the
 * version holding the content in X-Optreg-Version (ns/name@n). With
 * `verify` that version is fetched and verified, its digest against the
 * one asked for, failures reported. Without, it is fetched only to be
 * cached or shown (--format configmap: `need`), and quietly left out when
 * it cannot be had unless `need`. Exit status.
 */
static int digest_doc(struct cli_remote *r, const struct cli_ref *ref,
		      struct fetch_result *f, const struct fetch_opts *o,
		      bool need)
{
	struct optreg_buf why = OPTREG_BUF_INIT, canon = OPTREG_BUF_INIT,
			  path = OPTREG_BUF_INIT;
	const char *named = f->resp.version;
	struct cli_ref vref;
	int rc = 0;

	if (!named || cli_ref_parse(named, CLI_REF_VERSION, &vref, &why) < 0) {
		if (o->verify)
			rc = cli_report(r, OPTREG_EXIT_INVALID,
					"verification_failed",
					"%s failed verification: the registry "
					"did not say which version holds it "
					"(expected an X-Optreg-Version header "
					"NAMESPACE/NAME@N, got %s%s%s)",
					ref->digest, named ? "\"" : "none",
					named ? named : "", named ? "\"" : "");
		else if (need)
			rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry did not say which "
					"version holds %s (no X-Optreg-Version "
					"header)",
					ref->digest);
		goto out;
	}
	if (o->verify) {
		rc = fetch_version(r, &vref, &f->vresp, &canon, &f->doc, true,
				   false, true, NULL);
		if (rc == 0) {
			struct cli_trust_keys k = fetch_trust_keys(o, NULL);
			rc = cli_trust_verify(r, f->doc, &canon, ref->digest,
					      &k, &f->trust);
			f->verified = rc == 0;
		}
		f->raw = &f->vresp.body;
		goto out;
	}
	cli_config_path(&path, &vref);
	optreg_buf_addf(&path, "/versions/%ld", vref.version);
	r->quiet = !need;
	rc = cli_remote_request(r, "GET", path.data, NULL, &f->vresp);
	r->quiet = 0;
	if (rc == 0 && f->vresp.status == 200 &&
	    cli_cache_check(&f->vresp.body, ref->digest, vref.ns, vref.name,
			    vref.version, &f->doc, &canon, &why) == 0) {
		f->raw = &f->vresp.body;
	} else if (need && rc == 0) {
		rc = f->vresp.status != 200
			     ? cli_report_http_error(r, &f->vresp, NULL, NULL)
			     : cli_report(r, OPTREG_EXIT_UNAVAILABLE,
					  "bad_response",
					  "the registry's version %s for %s: "
					  "%s",
					  named, ref->digest, why.data);
	} else if (!need) {
		rc = 0;
	}
out:
	optreg_buf_release(&path);
	optreg_buf_release(&canon);
	optreg_buf_release(&why);
	return rc;
}
/*
 * --require-verdict: the latest verdict of version `version` of `ref`'s
 * config must meet o->require. Exit status (OPTREG_EXIT_VERDICT_FAIL when
 * it does not, with why on stderr).
 */
static int require_verdict(struct cli_remote *r, const struct cli_ref *ref,
			   long version, const struct fetch_opts *o)
{
	struct optreg_buf what = OPTREG_BUF_INIT;
	json_t *answer = NULL;
	const json_t *latest;
	const char *result;
	int rc = cli_verdict_get(r, ref, version, &answer);

	if (rc)
		return rc;
	latest = cli_verdict_latest(answer);
	result = optreg_json_str(latest, "result");
	if (!cli_verdict_meets(result, o->require)) {
		if (latest)
			cli_verdict_describe(latest, &what);
		rc = cli_report(r, OPTREG_EXIT_VERDICT_FAIL, "verdict_required",
				"%s/%s@%ld does not meet --require-verdict %s: "
				"%s%s",
				ref->ns, ref->name, version, o->require,
				latest ? "its latest verdict is "
				       : "it has no "
					 "verdict yet",
				what.data);
		fprintf(stderr,
			"  hint: `optreg verdicts %s/%s@%ld` lists its "
			"verdicts and jobs\n",
			ref->ns, ref->name, version);
	}
	optreg_buf_release(&what);
	json_decref(answer);
	return rc;
}

/* Writes what was fetched in the format asked for. Exit status. */
static int render(struct cli_remote *r, const struct cli_ref *ref,
		  const struct fetch_opts *o, const struct fetch_result *f,
		  const char *digest)
{
	struct optreg_buf out = OPTREG_BUF_INIT, why = OPTREG_BUF_INIT;
	struct cli_format_meta m = {.ref = o->shown_ref, .digest = digest};
	int rc = 0, bad = 0;

	if (f->doc) {
		m.ns = optreg_json_str(f->doc, "namespace");
		m.name = optreg_json_str(f->doc, "name");
		cli_json_count(f->doc, "version", &m.version);
		m.receipt = json_object_get(f->doc, "receipt");
	} else if (f->resp.version) {
		const char *at = strrchr(f->resp.version, '@');
		if (at)
			cli_parse_count(at + 1, &m.version);
	}
	if (r->json) {
		/* Offline, what the registry would have answered: the
		 * content for a digest, else the version document. */
		const struct optreg_buf *src = &f->resp.body;

		if (f->from_cache)
			src = ref->kind == CLI_REF_DIGEST ? &f->canon : f->raw;
		optreg_buf_add(&out, src->data, src->len);
		if (!out.len || out.data[out.len - 1] != '\n')
			optreg_buf_addch(&out, '\n');
	} else if (o->fmt == FORMAT_YAML) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		bad = optreg_doc_yaml_of_canonical(f->canon.data, f->canon.len,
						   &out, &errs);
		optreg_errors_release(&errs);
		if (bad < 0)
			optreg_buf_adds(&why, "cannot render the config as "
					      "YAML that loads back to the "
					      "same document");
	} else if (o->fmt == FORMAT_TORCH) {
		bad = cli_format_torch(&f->canon, &m, &out, &why);
	} else if (o->fmt == FORMAT_ENV) {
		bad = cli_format_env(&f->canon, &m, &out, &why);
	} else if (o->fmt == FORMAT_CONFIGMAP) {
		bad = cli_format_configmap(&f->canon, &m, &out, &why);
	} else {
		optreg_buf_add(&out, f->canon.data, f->canon.len);
	}
	if (bad < 0)
		rc = cli_report(r, OPTREG_EXIT_INVALID, "format", "%s",
				why.data);
	else
		rc = cli_write_output("fetch", o->output, &out);
	optreg_buf_release(&why);
	optreg_buf_release(&out);
	return rc;
}

static int fetch(struct cli_remote *r, const struct cli_ref *ref,
		 const struct fetch_opts *o)
{
	struct fetch_result f;
	struct fetch_down down = {.errs = OPTREG_ERRORS_INIT};
	/* The cache stands in for digests and versions, never for tags
	 * (they move), nor when a verdict must be asked for. */
	bool can_fall_back =
		o->cache && !o->require &&
		(ref->kind == CLI_REF_DIGEST || ref->kind == CLI_REF_VERSION);
	struct fetch_down *dp = can_fall_back ? &down : NULL;
	const char *digest = NULL;
	int rc;

	fetch_fetched_init(&f);
	optreg_buf_init(&down.why);
	if (ref->kind == CLI_REF_DIGEST) {
		rc = fetch_digest(r, ref, &f.resp, &f.canon, dp);
		if (rc == 0 &&
		    (o->verify || o->cache || o->fmt == FORMAT_CONFIGMAP))
			rc = digest_doc(r, ref, &f, o,
					o->fmt == FORMAT_CONFIGMAP);
		if (rc == 0 && o->require) {
			struct optreg_buf why = OPTREG_BUF_INIT;
			struct cli_ref vref;
			if (!f.resp.version ||
			    cli_ref_parse(f.resp.version, CLI_REF_VERSION,
					  &vref, &why) < 0)
				rc = cli_report(
					r, OPTREG_EXIT_UNAVAILABLE,
					"bad_response",
					"the registry did not say which "
					"version holds %s (no X-Optreg-Version "
					"header), so its verdict is unknown",
					ref->digest);
			else
				rc = require_verdict(r, &vref, vref.version, o);
			optreg_buf_release(&why);
		}
		digest = ref->digest;
	} else {
		long version = 0;
		bool verify = o->verify || o->lock;

		rc = fetch_version(r, ref, &f.resp, &f.canon, &f.doc, verify,
				   true, o->allow_yanked, dp);
		f.raw = &f.resp.body;
		if (rc == 0 && verify) {
			struct cli_trust_keys k = fetch_trust_keys(o, NULL);
			rc = cli_trust_verify(r, f.doc, &f.canon,
					      o->lock ? o->lock->digest : NULL,
					      &k, &f.trust);
			f.verified = rc == 0;
		}
		if (rc == 0 && o->require) {
			cli_json_count(f.doc, "version", &version);
			rc = require_verdict(r, ref, version, o);
		}
		if (f.doc)
			digest = optreg_json_str(f.doc, "digest");
	}
	if (rc == FETCH_DOWN)
		rc = fetch_from_cache(r, ref, o, &down, &f);
	else if (rc == 0)
		fetch_cache_fill(o, &f);
	if (rc)
		goto out;
	if (!digest || f.from_cache)
		digest = f.doc ? optreg_json_str(f.doc, "digest") : ref->digest;
	rc = render(r, ref, o, &f, digest);
out:
	optreg_errors_release(&down.errs);
	optreg_buf_release(&down.why);
	fetch_fetched_release(&f);
	return rc;
}

int cmd_fetch(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "fetch"};
	struct optreg_buf why = OPTREG_BUF_INIT, cache = OPTREG_BUF_INIT;
	struct fetch_opts o = {.fmt = FORMAT_JSON};
	const char *refarg = NULL, *fmtarg = NULL, *lockarg = NULL, *val;
	struct optreg_keyset lock_keys;
	struct cli_lock lock;
	bool no_cache = false;
	struct cli_ref ref;
	int rc, status = OPTREG_EXIT_USAGE;
	struct cli_string_list pins = {
		optreg_xcalloc((size_t)argc + 1, sizeof(char *)), 0};
	const struct cli_option options[] = {
		CLI_OPT_BOOL("--verify", "check signatures and receipt",
			     &o.verify),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--format", "FORMAT",
			       "json, yaml, torch, env or configmap", &fmtarg),
		CLI_OPT_STRING("--output", "FILE", "write to FILE", &o.output),
		CLI_OPT_LIST("--registry-key", "FILE",
			     "pinned registry public key", &pins),
		CLI_OPT_STRING("--require-verdict", "RESULT", "pass or warn",
			       &o.require),
		CLI_OPT_BOOL("--allow-yanked", "fetch through a yanked tag",
			     &o.allow_yanked),
		CLI_OPT_STRING("--lock", "FILE", "a lock file of optreg pin",
			       &lockarg),
		CLI_OPT_BOOL("--no-cache", "neither use nor fill the cache",
			     &no_cache),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "fetch",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "REF",
				     .arg_slot = &refarg};
	static const char *const formats[] = {
		[FORMAT_JSON] = "json",		  [FORMAT_YAML] = "yaml",
		[FORMAT_TORCH] = "torch",	  [FORMAT_ENV] = "env",
		[FORMAT_CONFIGMAP] = "configmap",
	};

	optreg_keyset_init(&lock_keys);
	cli_lock_init(&lock);
	o.lock_keys = &lock_keys;
	o.pins = pins.items;
	rc = cli_parse_options(&p, options, argc, argv);
	o.npins = pins.len;
	if (rc) {
		status = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (fmtarg) {
		size_t i;
		for (i = 0; i < sizeof(formats) / sizeof(formats[0]) &&
			    strcmp(fmtarg, formats[i]);
		     i++)
			;
		if (i == sizeof(formats) / sizeof(formats[0])) {
			fprintf(stderr,
				"optreg fetch: --format must be json, yaml, "
				"torch, env or configmap (got \"%s\")\n",
				fmtarg);
			goto out;
		}
		o.fmt = (enum fetch_format)i;
	}
	if (r.json && o.fmt != FORMAT_JSON) {
		fprintf(stderr,
			"optreg fetch: --json and --format %s exclude each "
			"other\n",
			formats[o.fmt]);
		goto out;
	}
	if (o.require && strcmp(o.require, "pass") &&
	    strcmp(o.require, "warn")) {
		fprintf(stderr,
			"optreg fetch: --require-verdict must be pass or warn "
			"(got \"%s\")\n",
			o.require);
		goto out;
	}
	if (o.output && !o.output[0]) {
		fprintf(stderr, "optreg fetch: --output needs a file name\n");
		goto out;
	}
	if (lockarg && !lockarg[0]) {
		fprintf(stderr, "optreg fetch: --lock needs a file name\n");
		goto out;
	}
	if (o.npins && !o.verify && !lockarg) {
		fprintf(stderr, "optreg fetch: --registry-key needs --verify "
				"or --lock\n");
		goto out;
	}
	for (size_t i = 0; i < o.npins; i++) {
		if (!o.pins[i][0]) {
			fprintf(stderr, "optreg fetch: --registry-key needs a "
					"file name\n");
			goto out;
		}
	}
	if ((o.verify || lockarg) && !o.npins &&
	    (val = getenv("OPTREG_REGISTRY_PUBKEY")) && val[0])
		o.pins[o.npins++] = val;
	if (lockarg && refarg) {
		fprintf(stderr,
			"optreg fetch: give either REF or --lock FILE, not "
			"both (got \"%s\" and --lock %s)\n",
			refarg, lockarg);
		goto out;
	}
	if (!refarg && !lockarg) {
		fprintf(stderr,
			"optreg fetch: expected a REF or --lock FILE\n%s",
			help);
		goto out;
	}
	if (!no_cache && cli_cache_dir(&cache) == 0)
		o.cache = cache.data;
	if (lockarg) {
		status = fetch_lock_load(lockarg, &lock, &o);
		if (status)
			goto out;
		o.lock = &lock;
		o.shown_ref = lock.ref;
		memset(&ref, 0, sizeof(ref));
		ref.kind = CLI_REF_VERSION;
		memcpy(ref.ns, lock.ns, sizeof(ref.ns));
		memcpy(ref.name, lock.name, sizeof(ref.name));
		ref.version = lock.version;
		/* The lock names its registry; --url or OPTREG_URL win. */
		if (!r.url && !((val = getenv("OPTREG_URL")) && val[0]))
			r.url = lock.registry;
	} else {
		status = cli_ref_arg("fetch", refarg,
				     CLI_REF_CONFIG | CLI_REF_VERSION |
					     CLI_REF_TAG | CLI_REF_DIGEST,
				     &ref);
		if (status)
			goto out;
		o.shown_ref = refarg;
		status = cli_ref_latest(&r, &ref);
		if (status)
			goto close;
		if (strchr(refarg, '/') && !strchr(refarg, '@')) {
			/* `ns/name`: what it meant now, ns/name@N */
			optreg_buf_reset(&why);
			optreg_buf_addf(&why, "%s@%ld", refarg, ref.version);
			o.shown_ref = why.data;
		}
	}
	status = fetch(&r, &ref, &o);
close:
	cli_remote_close(&r);
out:
	cli_lock_release(&lock);
	optreg_keyset_release(&lock_keys);
	optreg_buf_release(&cache);
	optreg_buf_release(&why);
	free(o.pins);
	return status;
}
