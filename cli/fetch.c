/*
 * cli/fetch.c: `optreg fetch REF [--verify [--registry-key PUB]]
 * [--format json|yaml] [--output FILE]`.
 *
 * Nothing is printed that was not checked against its digest here: for a
 * sha256: reference, the SHA-256 of the bytes the registry sent; for a
 * version or tag, the canonical form of the version's `config` against the
 * version's `digest`. The JSON output is the canonical bytes themselves, so
 * `optreg fetch REF | sha256sum` shows the digest. The YAML output is
 * rendered here and checked to load back to the same canonical bytes.
 * With --verify, the version's signed envelope and the registry's receipt
 * are checked too (cli/trust.c), so that content changed behind the
 * registry's back (in its database) is caught.
 *
 * --require-verdict pass|warn prints nothing (exit 11) unless the
 * version's latest verdict meets it. A tag that points at a yanked
 * version is refused (exit 5) unless --allow-yanked: whoever moved the
 * tag has not moved it off the bad version yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonutil.h"
#include "../validator/yaml_emit.h"
#include "cli.h"

static const char help[] =
	"usage: optreg fetch REF [--verify [--registry-key PUB]] [--format "
	"json|yaml]\n"
	"                    [--output FILE] [--require-verdict pass|warn] "
	"[--allow-yanked]\n"
	"                    [--json] [--url URL] [--token TOKEN]\n\n"
	"Prints a config document from the registry. REF is one of\n"
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
	"envelope.\n"
	"Prints on stderr\n"
	"  verified: signed by KEYID (PRINCIPAL); receipt by registry key "
	"KEYID\n"
	"or each check that failed, with what was expected and what was "
	"found (exit 1).\n\n"
	"Options:\n"
	"  --verify         check signatures and the receipt as well (see "
	"above)\n"
	"  --registry-key PUB\n"
	"                   the registry's public key to check receipts "
	"with (PEM; repeat\n"
	"                   for several, e.g. during a key rotation); default\n"
	"                   $OPTREG_REGISTRY_PUBKEY (a file). Unpinned, the "
	"keys the\n"
	"                   registry lists are trusted, with a warning\n"
	"  --format json    the RFC 8785 canonical JSON, the exact bytes "
	"digested, with\n"
	"                   no trailing newline (default)\n"
	"  --format yaml    the same document as block YAML\n"
	"  --output FILE    write to FILE (replaced atomically) instead of "
	"standard\n"
	"                   output\n"
	"  --require-verdict pass|warn\n"
	"                   print nothing and exit 11 unless the version's "
	"latest verdict\n"
	"                   is pass (or, with warn, pass or warn)\n"
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
	"fails --verify),\n2 usage, 3 I/O, "
	"4 denied, 5 the tag points at a yanked version, 6 unauthorized,\n"
	"7 unavailable, 8 not found, 11 the verdict does not meet "
	"--require-verdict.\nSee docs/cli.md.\n";

enum format {
	FORMAT_JSON,
	FORMAT_YAML,
};

/* ---- Fetching ---------------------------------------------------------- */

/*
 * GET /v1/digests/{d}: the body is the canonical bytes; they must hash to
 * the digest asked for. Appends them to `canon`; exit status.
 */
static int fetch_digest(struct cli_remote *r, const struct cli_ref *ref,
			struct optreg_http_resp *resp, struct optreg_buf *canon)
{
	struct optreg_buf path = OPTREG_BUF_INIT;
	char got[OPTREG_DIGEST_LEN + 1];
	int rc;

	optreg_buf_adds(&path, "/v1/digests");
	optreg_http_path_add(&path, ref->digest);
	rc = cli_remote_request(r, "GET", path.data, NULL, resp);
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

/*
 * GET a version by number or tag; checks that it is the one asked for and
 * that its `config` canonicalizes to its `digest`, and appends the
 * canonical bytes to `canon`. *docp receives the version document (a new
 * reference). With `verify`, the digest is left for the caller to check
 * (--verify reports it with the other checks). `warn`: print the yanked
 * warning; a tag at a yanked version is refused unless `allow_yanked`.
 * Exit status.
 */
static int fetch_version(struct cli_remote *r, const struct cli_ref *ref,
			 struct optreg_http_resp *resp,
			 struct optreg_buf *canon, json_t **docp, bool verify,
			 bool warn, bool allow_yanked)
{
	struct optreg_buf path = OPTREG_BUF_INIT, name = OPTREG_BUF_INIT;
	char got[OPTREG_DIGEST_LEN + 1];
	const char *digest, *ns, *cname;
	json_t *doc = NULL;
	long version;
	int rc;

	ref_name(ref, &name);
	cli_config_path(&path, ref);
	if (ref->kind == CLI_REF_VERSION) {
		optreg_buf_addf(&path, "/versions/%ld", ref->version);
	} else {
		optreg_buf_adds(&path, "/tags");
		optreg_http_path_add(&path, ref->tag);
	}
	rc = cli_remote_request(r, "GET", path.data, NULL, resp);
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
	cname = optreg_json_str(doc, "name");
	if (!digest || !ns || !cname ||
	    cli_json_count(doc, "version", &version) < 0 ||
	    !json_is_object(json_object_get(doc, "config"))) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"the registry's answer for %s lacks namespace, "
				"name, version, digest or config",
				name.data);
		goto out;
	}
	if (strcmp(ns, ref->ns) || strcmp(cname, ref->name) ||
	    (ref->kind == CLI_REF_VERSION && version != ref->version)) {
		rc = cli_report(r, OPTREG_EXIT_UNAVAILABLE, "bad_response",
				"asked for %s, the registry answered with "
				"%s/%s@%ld",
				name.data, ns, cname, version);
		goto out;
	}
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
	optreg_buf_release(&path);
	return rc;
}

/* What to print and how far to check it. */
struct fetch_opts {
	enum format fmt;
	const char *output;
	bool verify;
	const char **pins; /* --registry-key files */
	size_t npins;
	const char *require; /* --require-verdict: "pass", "warn" or NULL */
	bool allow_yanked;
};

/*
 * --verify for a sha256: reference: the registry names the version holding
 * the content in X-Optreg-Version (ns/name@n); that version's document is
 * fetched and verified, its digest against the one asked for. Exit status.
 */
static int verify_digest(struct cli_remote *r, const struct cli_ref *ref,
			 const struct optreg_http_resp *dresp,
			 const struct fetch_opts *o)
{
	struct optreg_buf why = OPTREG_BUF_INIT, canon = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	struct cli_ref vref;
	json_t *doc = NULL;
	int rc;

	optreg_http_resp_init(&resp);
	if (!dresp->version ||
	    cli_ref_parse(dresp->version, CLI_REF_VERSION, &vref, &why) < 0) {
		rc = cli_report(r, OPTREG_EXIT_INVALID, "verification_failed",
				"%s failed verification: the registry did not "
				"say which version holds it (expected an "
				"X-Optreg-Version header NAMESPACE/NAME@N, got "
				"%s%s%s)",
				ref->digest, dresp->version ? "\"" : "none",
				dresp->version ? dresp->version : "",
				dresp->version ? "\"" : "");
		goto out;
	}
	rc = fetch_version(r, &vref, &resp, &canon, &doc, true, false, true);
	if (rc == 0)
		rc = cli_trust_verify_version(r, doc, &canon, ref->digest,
					      o->pins, o->npins);
out:
	json_decref(doc);
	optreg_http_resp_release(&resp);
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

static int fetch(struct cli_remote *r, const struct cli_ref *ref,
		 const struct fetch_opts *o)
{
	struct optreg_buf canon = OPTREG_BUF_INIT, out = OPTREG_BUF_INIT;
	struct optreg_http_resp resp;
	json_t *doc = NULL;
	int rc;

	optreg_http_resp_init(&resp);
	if (ref->kind == CLI_REF_DIGEST) {
		rc = fetch_digest(r, ref, &resp, &canon);
		if (rc == 0 && o->verify)
			rc = verify_digest(r, ref, &resp, o);
		if (rc == 0 && o->require) {
			struct optreg_buf why = OPTREG_BUF_INIT;
			struct cli_ref vref;
			if (!resp.version ||
			    cli_ref_parse(resp.version, CLI_REF_VERSION, &vref,
					  &why) < 0)
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
	} else {
		long version = 0;

		rc = fetch_version(r, ref, &resp, &canon, &doc, o->verify, true,
				   o->allow_yanked);
		if (rc == 0 && o->verify)
			rc = cli_trust_verify_version(r, doc, &canon, NULL,
						      o->pins, o->npins);
		if (rc == 0 && o->require) {
			cli_json_count(doc, "version", &version);
			rc = require_verdict(r, ref, version, o);
		}
	}
	if (rc)
		goto out;
	if (r->json) {
		optreg_buf_add(&out, resp.body.data, resp.body.len);
		if (!out.len || out.data[out.len - 1] != '\n')
			optreg_buf_addch(&out, '\n');
	} else if (o->fmt == FORMAT_YAML) {
		struct optreg_errors errs = OPTREG_ERRORS_INIT;
		int bad = optreg_doc_yaml_of_canonical(canon.data, canon.len,
						       &out, &errs);
		optreg_errors_release(&errs);
		if (bad < 0) {
			rc = cli_report(r, OPTREG_EXIT_INVALID, "yaml",
					"cannot render the config as YAML that "
					"loads back to the same document");
			goto out;
		}
	} else {
		optreg_buf_add(&out, canon.data, canon.len);
	}
	rc = cli_write_output("fetch", o->output, &out);
out:
	json_decref(doc);
	optreg_http_resp_release(&resp);
	optreg_buf_release(&out);
	optreg_buf_release(&canon);
	return rc;
}

int cmd_fetch(int argc, char **argv)
{
	struct cli_remote r = {.cmd = "fetch"};
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct fetch_opts o = {.fmt = FORMAT_JSON};
	const char *refarg = NULL, *fmtarg = NULL, *val;
	struct cli_ref ref;
	int rc, status = OPTREG_EXIT_USAGE;
	struct cli_string_list pins = {
		optreg_xcalloc((size_t)argc + 1, sizeof(char *)), 0};
	const struct cli_option options[] = {
		CLI_OPT_BOOL("--verify", "check signatures and receipt",
			     &o.verify),
		CLI_OPT_REMOTE(&r),
		CLI_OPT_STRING("--format", "FORMAT", "json or yaml", &fmtarg),
		CLI_OPT_STRING("--output", "FILE", "write to FILE", &o.output),
		CLI_OPT_LIST("--registry-key", "FILE",
			     "pinned registry public key", &pins),
		CLI_OPT_STRING("--require-verdict", "RESULT", "pass or warn",
			       &o.require),
		CLI_OPT_BOOL("--allow-yanked", "fetch through a yanked tag",
			     &o.allow_yanked),
		CLI_OPT_END(),
	};
	const struct cli_parser p = {.cmd = "fetch",
				     .help = help,
				     .flags = CLI_PARSE_DASHDASH |
					      CLI_PARSE_HELP_ON_ERROR,
				     .arg_name = "REF",
				     .arg_slot = &refarg};

	o.pins = pins.items;
	rc = cli_parse_options(&p, options, argc, argv);
	o.npins = pins.len;
	if (rc) {
		status = rc == CLI_PARSE_HELP ? OPTREG_EXIT_OK : rc;
		goto out;
	}
	if (fmtarg && !strcmp(fmtarg, "yaml")) {
		o.fmt = FORMAT_YAML;
	} else if (fmtarg && strcmp(fmtarg, "json")) {
		fprintf(stderr,
			"optreg fetch: --format must be json or yaml (got "
			"\"%s\")\n",
			fmtarg);
		goto out;
	}
	if (r.json && o.fmt == FORMAT_YAML) {
		fprintf(stderr, "optreg fetch: --json and --format yaml "
				"exclude each other\n");
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
	if (o.npins && !o.verify) {
		fprintf(stderr,
			"optreg fetch: --registry-key needs --verify\n");
		goto out;
	}
	for (size_t i = 0; i < o.npins; i++) {
		if (!o.pins[i][0]) {
			fprintf(stderr, "optreg fetch: --registry-key needs a "
					"file name\n");
			goto out;
		}
	}
	if (o.verify && !o.npins && (val = getenv("OPTREG_REGISTRY_PUBKEY")) &&
	    val[0])
		o.pins[o.npins++] = val;
	if (!refarg) {
		fprintf(stderr, "optreg fetch: expected a REF\n%s", help);
		goto out;
	}
	if (cli_ref_parse(refarg,
			  CLI_REF_VERSION | CLI_REF_TAG | CLI_REF_DIGEST, &ref,
			  &why) < 0) {
		fprintf(stderr, "optreg fetch: %s\n", why.data);
		goto out;
	}
	status = fetch(&r, &ref, &o);
	cli_remote_close(&r);
out:
	optreg_buf_release(&why);
	free(o.pins);
	return status;
}
